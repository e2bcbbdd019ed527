//! The write-ahead log of the embedded store.
//!
//! File layout (all integers little endian):
//!
//! ```text
//! file   := "KILNWAL\0" version:u32(=1) frame*
//! frame  := magic:u32(=0x464e_4c4b, "KLNF") len:u32 crc:u32 payload[len]
//!           crc = CRC-32 (IEEE) of len's 4 bytes followed by the payload
//! payload:= record+
//! record := 1 Snapshot  compacted:i64
//!         | 2 SnapPut   create:i64 mod:i64 key:str value:bytes
//!         | 3 Put       rev:i64 create:i64 key:str value:bytes
//!         | 4 Delete    rev:i64 key:str
//!         | 5 Compact   rev:i64
//! str, bytes := len:u32 data[len]
//! ```
//!
//! A log always starts with a `Snapshot` record (revision 0 for a new store)
//! followed by the `SnapPut`s of the keys live at that revision, then the
//! writes after it. One group commit is one frame, written with one `write`
//! and made durable with one `fdatasync` before any write in it is
//! acknowledged. A frame is valid only as a whole, so a crash in the middle of
//! a group commit loses only that (unacknowledged) group.
//!
//! On open, a bad frame (short header, wrong magic, length past the end, CRC
//! mismatch) followed by nothing but garbage is a torn tail and is cut off; a
//! bad frame followed by any valid frame is corruption and the store refuses
//! to open.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;

use super::mvcc::{Mutation, Mvcc};
use super::{Revision, StorageError};

pub(crate) const FILE_MAGIC: &[u8; 8] = b"KILNWAL\0";
pub(crate) const FORMAT_VERSION: u32 = 1;
pub(crate) const FILE_HEADER_LEN: usize = 12;
pub(crate) const FRAME_MAGIC: u32 = 0x464e_4c4b;
pub(crate) const FRAME_HEADER_LEN: usize = 12;
/// Frames larger than this are never written (a batch is cut before), so a
/// larger length field is damage.
pub(crate) const MAX_FRAME_LEN: usize = 1 << 30;
/// Snapshot frames are cut at about this size.
const SNAPSHOT_FRAME_TARGET: usize = 1 << 20;

pub(crate) const LOG_FILE: &str = "kiln.wal";
pub(crate) const TMP_FILE: &str = "kiln.wal.tmp";

const TAG_SNAPSHOT: u8 = 1;
const TAG_SNAP_PUT: u8 = 2;
const TAG_PUT: u8 = 3;
const TAG_DELETE: u8 = 4;
const TAG_COMPACT: u8 = 5;

/// One logged record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Record {
    Snapshot {
        compacted: Revision,
    },
    SnapPut {
        key: String,
        create_rev: Revision,
        mod_rev: Revision,
        value: Bytes,
    },
    Write(Mutation),
    Compact {
        rev: Revision,
    },
}

fn put_str(buf: &mut Vec<u8>, s: &[u8]) {
    // Lengths are checked against MAX_FRAME_LEN before encoding.
    buf.extend_from_slice(&(s.len() as u32).to_le_bytes());
    buf.extend_from_slice(s);
}

/// Appends the encoding of `r` to `buf`.
pub(crate) fn encode_record(buf: &mut Vec<u8>, r: &Record) {
    match r {
        Record::Snapshot { compacted } => {
            buf.push(TAG_SNAPSHOT);
            buf.extend_from_slice(&compacted.to_le_bytes());
        }
        Record::SnapPut {
            key,
            create_rev,
            mod_rev,
            value,
        } => {
            buf.push(TAG_SNAP_PUT);
            buf.extend_from_slice(&create_rev.to_le_bytes());
            buf.extend_from_slice(&mod_rev.to_le_bytes());
            put_str(buf, key.as_bytes());
            put_str(buf, value);
        }
        Record::Write(Mutation::Put {
            key,
            rev,
            create_rev,
            value,
        }) => {
            buf.push(TAG_PUT);
            buf.extend_from_slice(&rev.to_le_bytes());
            buf.extend_from_slice(&create_rev.to_le_bytes());
            put_str(buf, key.as_bytes());
            put_str(buf, value);
        }
        Record::Write(Mutation::Delete { key, rev }) => {
            buf.push(TAG_DELETE);
            buf.extend_from_slice(&rev.to_le_bytes());
            put_str(buf, key.as_bytes());
        }
        Record::Compact { rev } => {
            buf.push(TAG_COMPACT);
            buf.extend_from_slice(&rev.to_le_bytes());
        }
    }
}

/// Size of a record's encoding (for batch limits).
pub(crate) fn encoded_len(key: &str, value: &[u8]) -> usize {
    1 + 16 + 8 + key.len() + value.len()
}

/// Starts a frame in `buf` (reserves the header).
pub(crate) fn begin_frame(buf: &mut Vec<u8>) {
    buf.clear();
    buf.extend_from_slice(&[0u8; FRAME_HEADER_LEN]);
}

/// Fills in the header of the frame started with [`begin_frame`].
pub(crate) fn finish_frame(buf: &mut [u8]) -> Result<(), StorageError> {
    let len = buf.len() - FRAME_HEADER_LEN;
    if len > MAX_FRAME_LEN {
        return Err(StorageError::InvalidArgument(format!(
            "log frame of {len} bytes exceeds {MAX_FRAME_LEN}"
        )));
    }
    let len_bytes = (len as u32).to_le_bytes();
    let mut h = crc32fast::Hasher::new();
    h.update(&len_bytes);
    h.update(&buf[FRAME_HEADER_LEN..]);
    let crc = h.finalize();
    buf[0..4].copy_from_slice(&FRAME_MAGIC.to_le_bytes());
    buf[4..8].copy_from_slice(&len_bytes);
    buf[8..12].copy_from_slice(&crc.to_le_bytes());
    Ok(())
}

fn u32_at(buf: &[u8], pos: usize) -> Option<u32> {
    let b = buf.get(pos..pos.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// Checks the frame at `pos`; returns its payload range or why it is bad.
fn check_frame(buf: &[u8], pos: usize) -> Result<(usize, usize), &'static str> {
    if buf.len() - pos < FRAME_HEADER_LEN {
        return Err("incomplete frame header");
    }
    if u32_at(buf, pos) != Some(FRAME_MAGIC) {
        return Err("bad frame magic");
    }
    let len = u32_at(buf, pos + 4).ok_or("incomplete frame header")? as usize;
    if len == 0 || len > MAX_FRAME_LEN {
        return Err("bad frame length");
    }
    let start = pos + FRAME_HEADER_LEN;
    let end = start.checked_add(len).ok_or("bad frame length")?;
    if end > buf.len() {
        return Err("frame extends past the end of the file");
    }
    let crc = u32_at(buf, pos + 8).ok_or("incomplete frame header")?;
    let mut h = crc32fast::Hasher::new();
    h.update(&buf[pos + 4..pos + 8]);
    h.update(&buf[start..end]);
    if h.finalize() != crc {
        return Err("frame checksum mismatch");
    }
    Ok((start, end))
}

/// The offset of the first valid frame at or after `from`, if any.
fn find_valid_frame(buf: &[u8], from: usize) -> Option<usize> {
    let magic = FRAME_MAGIC.to_le_bytes();
    let mut pos = from;
    while pos + FRAME_HEADER_LEN <= buf.len() {
        let rel = buf[pos..].windows(4).position(|w| w == magic)?;
        pos += rel;
        if check_frame(buf, pos).is_ok() {
            return Some(pos);
        }
        pos += 1;
    }
    None
}

struct Decoder<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Decoder<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.pos.checked_add(n).ok_or("length overflow")?;
        let s = self
            .buf
            .get(self.pos..end)
            .ok_or_else(|| "record truncated".to_string())?;
        self.pos = end;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    fn i64(&mut self) -> Result<i64, String> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(i64::from_le_bytes(a))
    }

    fn bytes(&mut self) -> Result<&'a [u8], String> {
        let b = self.take(4)?;
        let n = u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize;
        self.take(n)
    }

    fn string(&mut self) -> Result<String, String> {
        let b = self.bytes()?;
        std::str::from_utf8(b)
            .map(str::to_string)
            .map_err(|_| "key is not UTF-8".to_string())
    }

    fn record(&mut self) -> Result<Record, String> {
        Ok(match self.u8()? {
            TAG_SNAPSHOT => Record::Snapshot {
                compacted: self.i64()?,
            },
            TAG_SNAP_PUT => {
                let create_rev = self.i64()?;
                let mod_rev = self.i64()?;
                let key = self.string()?;
                let value = Bytes::copy_from_slice(self.bytes()?);
                Record::SnapPut {
                    key,
                    create_rev,
                    mod_rev,
                    value,
                }
            }
            TAG_PUT => {
                let rev = self.i64()?;
                let create_rev = self.i64()?;
                let key = self.string()?;
                let value = Bytes::copy_from_slice(self.bytes()?);
                Record::Write(Mutation::Put {
                    key,
                    rev,
                    create_rev,
                    value,
                })
            }
            TAG_DELETE => {
                let rev = self.i64()?;
                let key = self.string()?;
                Record::Write(Mutation::Delete { key, rev })
            }
            TAG_COMPACT => Record::Compact { rev: self.i64()? },
            t => return Err(format!("unknown record tag {t}")),
        })
    }
}

/// Decodes every record of a frame payload.
pub(crate) fn decode_payload(payload: &[u8]) -> Result<Vec<Record>, String> {
    let mut d = Decoder {
        buf: payload,
        pos: 0,
    };
    let mut out = Vec::new();
    while d.pos < payload.len() {
        out.push(d.record()?);
    }
    Ok(out)
}

/// What replaying a log found.
#[derive(Debug)]
pub(crate) struct Replayed {
    pub state: Mvcc,
    /// Length of the valid prefix of the file.
    pub valid_len: u64,
    /// Bytes of torn tail that were ignored (and must be cut off).
    pub torn_bytes: u64,
}

/// Rebuilds the index from the bytes of a log file.
pub(crate) fn replay(buf: &[u8], path: &Path) -> Result<Replayed, StorageError> {
    let corrupt = |msg: String| StorageError::Corrupt(format!("{}: {msg}", path.display()));
    if buf.len() < FILE_HEADER_LEN || &buf[..8] != FILE_MAGIC {
        return Err(corrupt("not a kiln log (bad file header)".into()));
    }
    let version = u32_at(buf, 8).unwrap_or(0);
    if version != FORMAT_VERSION {
        return Err(corrupt(format!("unsupported log format version {version}")));
    }
    let mut state = Mvcc::new();
    let mut pos = FILE_HEADER_LEN;
    let mut seen_snapshot = false;
    let mut in_snapshot = false;
    while pos < buf.len() {
        let (start, end) = match check_frame(buf, pos) {
            Ok(r) => r,
            Err(why) => {
                if let Some(next) = find_valid_frame(buf, pos + 1) {
                    return Err(corrupt(format!(
                        "invalid frame at offset {pos} ({why}) followed by a valid frame at \
                         offset {next}; refusing to open (acknowledged writes would be lost)"
                    )));
                }
                if !seen_snapshot {
                    return Err(corrupt(format!(
                        "invalid first frame at offset {pos} ({why})"
                    )));
                }
                return Ok(Replayed {
                    state,
                    valid_len: pos as u64,
                    torn_bytes: (buf.len() - pos) as u64,
                });
            }
        };
        let records = decode_payload(&buf[start..end])
            .map_err(|e| corrupt(format!("undecodable frame at offset {pos}: {e}")))?;
        for r in records {
            let at = |e: StorageError| match e {
                StorageError::Corrupt(m) => corrupt(format!("frame at offset {pos}: {m}")),
                e => e,
            };
            match r {
                Record::Snapshot { compacted } => {
                    if seen_snapshot || compacted < 0 {
                        return Err(corrupt(format!(
                            "unexpected snapshot record in frame at offset {pos}"
                        )));
                    }
                    seen_snapshot = true;
                    in_snapshot = true;
                    state.reset_to_snapshot(compacted);
                }
                _ if !seen_snapshot => {
                    return Err(corrupt("log does not start with a snapshot record".into()));
                }
                Record::SnapPut {
                    key,
                    create_rev,
                    mod_rev,
                    value,
                } => {
                    if !in_snapshot {
                        return Err(corrupt(format!(
                            "snapshot entry after writes in frame at offset {pos}"
                        )));
                    }
                    state
                        .load_snapshot_entry(&key, create_rev, mod_rev, value)
                        .map_err(at)?;
                }
                Record::Write(m) => {
                    in_snapshot = false;
                    state.apply(m).map_err(at)?;
                }
                Record::Compact { rev } => {
                    in_snapshot = false;
                    state.compact(rev).map_err(at)?;
                }
            }
        }
        pos = end;
    }
    if !seen_snapshot {
        return Err(corrupt("log has no snapshot record".into()));
    }
    Ok(Replayed {
        state,
        valid_len: buf.len() as u64,
        torn_bytes: 0,
    })
}

/// Test-only fault injection: the next N appends fail after writing half of
/// their frame (like a full disk), or the next N syncs fail.
#[doc(hidden)]
#[derive(Debug, Default)]
pub struct FaultInjector {
    pub fail_writes: AtomicUsize,
    pub fail_syncs: AtomicUsize,
    pub fail_truncates: AtomicUsize,
}

fn take_fault(counter: &AtomicUsize) -> bool {
    counter
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

fn injected(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::StorageFull,
        format!("injected fault: {what}"),
    )
}

pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// The open log, appended to by the writer thread only.
pub(crate) struct LogWriter {
    file: File,
    dir: PathBuf,
    len: u64,
    /// Length right after the last rewrite (for the rewrite policy).
    base_len: u64,
    fsync: bool,
    faults: Option<std::sync::Arc<FaultInjector>>,
}

/// Why an append failed, and whether the log is still usable.
pub(crate) struct AppendError {
    pub error: io::Error,
    /// The file could not be restored to its previous length: nothing more
    /// may be written until the store is reopened.
    pub fatal: bool,
}

impl LogWriter {
    pub fn open(
        dir: &Path,
        len: u64,
        fsync: bool,
        faults: Option<std::sync::Arc<FaultInjector>>,
    ) -> io::Result<Self> {
        let file = OpenOptions::new().append(true).open(dir.join(LOG_FILE))?;
        Ok(LogWriter {
            file,
            dir: dir.to_path_buf(),
            len,
            base_len: len,
            fsync,
            faults,
        })
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn base_len(&self) -> u64 {
        self.base_len
    }

    /// Appends one finished frame and makes it durable. On failure the file
    /// is cut back to its previous length so a later append starts on a
    /// frame boundary.
    pub fn append(&mut self, frame: &[u8]) -> Result<(), AppendError> {
        let res = self.write_and_sync(frame);
        if let Err(error) = res {
            let fatal = match self.restore() {
                Ok(()) => false,
                Err(e) => {
                    tracing::error!(error = %e, "cannot cut the log back after a failed append");
                    true
                }
            };
            return Err(AppendError { error, fatal });
        }
        self.len += frame.len() as u64;
        Ok(())
    }

    fn write_and_sync(&mut self, frame: &[u8]) -> io::Result<()> {
        if self
            .faults
            .as_ref()
            .is_some_and(|f| take_fault(&f.fail_writes))
        {
            self.file.write_all(&frame[..frame.len() / 2])?;
            return Err(injected("write"));
        }
        self.file.write_all(frame)?;
        if self
            .faults
            .as_ref()
            .is_some_and(|f| take_fault(&f.fail_syncs))
        {
            return Err(injected("sync"));
        }
        if self.fsync {
            self.file.sync_data()?;
        }
        Ok(())
    }

    fn restore(&mut self) -> io::Result<()> {
        if self
            .faults
            .as_ref()
            .is_some_and(|f| take_fault(&f.fail_truncates))
        {
            return Err(injected("truncate"));
        }
        self.file.set_len(self.len)?;
        if self.fsync {
            self.file.sync_data()?;
        }
        Ok(())
    }

    /// Replaces the log with a snapshot of `state` at `at` followed by the
    /// writes after `at`: written to a temporary file, synced, renamed over
    /// the log, and the directory synced. On an error before the rename the
    /// old log stays in use; an error after it is fatal (returned as
    /// `Err(true)` alongside the error).
    pub fn rewrite(&mut self, state: &Mvcc, at: Revision) -> Result<(), (io::Error, bool)> {
        let tmp = self.dir.join(TMP_FILE);
        let written = write_snapshot_file(&tmp, state, at, self.fsync).map_err(|e| {
            let _ = fs::remove_file(&tmp);
            (e, false)
        })?;
        fs::rename(&tmp, self.dir.join(LOG_FILE)).map_err(|e| {
            let _ = fs::remove_file(&tmp);
            (e, false)
        })?;
        // From here on the old file is unlinked: any failure leaves us unable
        // to append durably.
        let file = OpenOptions::new()
            .append(true)
            .open(self.dir.join(LOG_FILE))
            .map_err(|e| (e, true))?;
        self.file = file;
        self.len = written;
        self.base_len = written;
        if self.fsync {
            sync_dir(&self.dir).map_err(|e| (e, true))?;
        }
        Ok(())
    }
}

/// Writes a complete log file holding a snapshot of `state` at `at` and the
/// writes after it; returns its length. The file is synced when `fsync`.
pub(crate) fn write_snapshot_file(
    path: &Path,
    state: &Mvcc,
    at: Revision,
    fsync: bool,
) -> io::Result<u64> {
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)?;
    let mut out = io::BufWriter::with_capacity(1 << 20, &mut file);
    let mut total = 0u64;
    let mut header = Vec::with_capacity(FILE_HEADER_LEN);
    header.extend_from_slice(FILE_MAGIC);
    header.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.write_all(&header)?;
    total += header.len() as u64;

    let mut frame = Vec::with_capacity(SNAPSHOT_FRAME_TARGET + 4096);
    begin_frame(&mut frame);
    encode_record(&mut frame, &Record::Snapshot { compacted: at });
    let flush = |frame: &mut Vec<u8>, out: &mut io::BufWriter<&mut File>| -> io::Result<u64> {
        if frame.len() == FRAME_HEADER_LEN {
            return Ok(0);
        }
        finish_frame(frame).map_err(|e| io::Error::other(e.to_string()))?;
        out.write_all(frame)?;
        let n = frame.len() as u64;
        begin_frame(frame);
        Ok(n)
    };
    for (key, create_rev, mod_rev, value) in state.snapshot_entries(at) {
        encode_record(
            &mut frame,
            &Record::SnapPut {
                key: key.to_string(),
                create_rev,
                mod_rev,
                value: value.clone(),
            },
        );
        if frame.len() >= SNAPSHOT_FRAME_TARGET {
            total += flush(&mut frame, &mut out)?;
        }
    }
    for m in state.mutations_after(at) {
        encode_record(&mut frame, &Record::Write(m));
        if frame.len() >= SNAPSHOT_FRAME_TARGET {
            total += flush(&mut frame, &mut out)?;
        }
    }
    total += flush(&mut frame, &mut out)?;
    out.flush()?;
    drop(out);
    if fsync {
        file.sync_all()?;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame_of(records: &[Record]) -> Vec<u8> {
        let mut buf = Vec::new();
        begin_frame(&mut buf);
        for r in records {
            encode_record(&mut buf, r);
        }
        finish_frame(&mut buf).unwrap();
        buf
    }

    fn file_of(frames: &[Vec<u8>]) -> Vec<u8> {
        let mut out = FILE_MAGIC.to_vec();
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        for f in frames {
            out.extend_from_slice(f);
        }
        out
    }

    fn put(key: &str, rev: Revision, value: &str) -> Record {
        Record::Write(Mutation::Put {
            key: key.into(),
            rev,
            create_rev: rev,
            value: Bytes::copy_from_slice(value.as_bytes()),
        })
    }

    #[test]
    fn records_round_trip() {
        let records = vec![
            Record::Snapshot { compacted: 7 },
            Record::SnapPut {
                key: "k".into(),
                create_rev: 3,
                mod_rev: 5,
                value: Bytes::from_static(b"v"),
            },
            put("a", 8, "x"),
            Record::Write(Mutation::Delete {
                key: "a".into(),
                rev: 9,
            }),
            Record::Compact { rev: 8 },
        ];
        let f = frame_of(&records);
        let (s, e) = check_frame(&f, 0).unwrap();
        assert_eq!(decode_payload(&f[s..e]).unwrap(), records);
    }

    #[test]
    fn torn_tail_is_cut_and_middle_damage_is_corruption() {
        let f0 = frame_of(&[Record::Snapshot { compacted: 0 }]);
        let f1 = frame_of(&[put("a", 1, "1"), put("b", 2, "2")]);
        let f2 = frame_of(&[put("c", 3, "3")]);
        let good = file_of(&[f0.clone(), f1.clone(), f2.clone()]);
        let p = Path::new("test.wal");
        let r = replay(&good, p).unwrap();
        assert_eq!(r.state.current(), 3);
        assert_eq!(r.torn_bytes, 0);

        // every cut inside the last frame is a torn tail
        let last_start = good.len() - f2.len();
        for cut in last_start..good.len() {
            let r = replay(&good[..cut], p).unwrap();
            assert_eq!(r.state.current(), 2, "cut at {cut}");
            assert_eq!(r.valid_len as usize, last_start);
        }
        // garbage or zeros after the last frame are a torn tail too
        let mut z = good.clone();
        z.extend_from_slice(&[0u8; 100]);
        assert_eq!(replay(&z, p).unwrap().state.current(), 3);

        // any flipped byte in a middle frame is corruption
        let mid_start = FILE_HEADER_LEN + f0.len();
        for i in mid_start..mid_start + f1.len() {
            let mut bad = good.clone();
            bad[i] ^= 0x40;
            match replay(&bad, p) {
                Err(StorageError::Corrupt(m)) => assert!(m.contains("refusing"), "{m}"),
                other => panic!("byte {i}: expected corruption, got {other:?}"),
            }
        }
        // a bad file header is corruption
        let mut bad = good.clone();
        bad[0] = b'X';
        assert!(matches!(replay(&bad, p), Err(StorageError::Corrupt(_))));
    }

    #[test]
    fn revision_gaps_are_corruption() {
        let f0 = frame_of(&[Record::Snapshot { compacted: 0 }]);
        let f1 = frame_of(&[put("a", 1, "1")]);
        let f2 = frame_of(&[put("c", 3, "3")]);
        let file = file_of(&[f0, f1, f2]);
        assert!(matches!(
            replay(&file, Path::new("x")),
            Err(StorageError::Corrupt(_))
        ));
    }
}
