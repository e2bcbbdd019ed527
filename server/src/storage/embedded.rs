//! The embedded storage backend: an in-memory MVCC index made durable by a
//! write-ahead log with group commit (see `wal.rs` for the file format).
//!
//! Writes go through a bounded queue to one writer thread. The writer drains
//! whatever is queued (up to a batch limit), validates each write against the
//! committed state plus the earlier writes of the batch, assigns revisions,
//! appends the whole batch as one checksummed frame with one `write` and one
//! `fdatasync`, and only then applies it to the index, answers the callers
//! and wakes watchers. Readers never see a write before it is durable.
//!
//! Watchers pull: a watch stream is a cursor over the shared revision log,
//! fetching at most `watch_buffer` events at a time, so a slow watcher costs
//! no memory; if it falls behind the retained history (compaction, manual or
//! automatic) it is ended with [`StorageError::Compacted`].

use std::collections::{HashMap, VecDeque};
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;

use async_trait::async_trait;
use bytes::Bytes;
use parking_lot::{Mutex, RwLock};
use tokio::sync::{mpsc, oneshot, watch};

use super::mvcc::{Mutation, Mvcc};
use super::wal::{self, LogWriter, Record};
use super::{Event, KeyValue, RangeResult, Revision, Storage, StorageError, WatchStream};

pub use super::wal::FaultInjector;

const LOCK_FILE: &str = "LOCK";
/// Longest key accepted.
pub const MAX_KEY_BYTES: usize = 64 * 1024;
/// Revisions a watch stream scans per lock acquisition.
const WATCH_SCAN_CHUNK: usize = 4096;

/// Settings of the embedded store.
#[derive(Clone, Debug)]
pub struct EmbeddedOptions {
    /// `fdatasync` the log before acknowledging a write. Turning this off
    /// loses crash safety; it exists for tests that do not need it.
    pub fsync: bool,
    /// Automatic compaction: keep at least this many revisions of history
    /// (for watch resumption and paginated reads at an old revision); history
    /// is trimmed when it exceeds this by a quarter. `None` keeps history
    /// until [`Storage::compact`] is called.
    pub retain_revisions: Option<u64>,
    /// Rewrite the log as a snapshot when it is larger than this...
    pub log_rewrite_min_bytes: u64,
    /// ...and larger than this many times its size after the last rewrite.
    pub log_rewrite_factor: u64,
    /// Most writes in one group commit.
    pub max_batch_writes: usize,
    /// Most bytes in one group commit (one write larger than this still goes,
    /// alone).
    pub max_batch_bytes: usize,
    /// Writes waiting for the writer before callers wait to enqueue.
    pub queue_depth: usize,
    /// Events a watch stream fetches and buffers at a time.
    pub watch_buffer: usize,
    /// Largest value accepted.
    pub max_value_bytes: usize,
    /// Test hook: injected I/O failures.
    #[doc(hidden)]
    pub faults: Option<Arc<FaultInjector>>,
}

impl Default for EmbeddedOptions {
    fn default() -> Self {
        EmbeddedOptions {
            fsync: true,
            retain_revisions: Some(10_000),
            log_rewrite_min_bytes: 64 << 20,
            log_rewrite_factor: 2,
            max_batch_writes: 1024,
            max_batch_bytes: 16 << 20,
            queue_depth: 4096,
            watch_buffer: 256,
            max_value_bytes: 32 << 20,
            faults: None,
        }
    }
}

/// Counters of the embedded store.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EmbeddedStats {
    pub current_revision: Revision,
    pub compacted_revision: Revision,
    /// Group commits done (frames appended).
    pub batches: u64,
    /// Writes committed.
    pub writes: u64,
    /// Current size of the log file.
    pub log_bytes: u64,
    /// Log rewrites (snapshots) done.
    pub rewrites: u64,
}

#[derive(Debug)]
enum WriteOp {
    Create {
        key: String,
        value: Bytes,
    },
    Update {
        key: String,
        value: Bytes,
        expected: Option<Revision>,
    },
    Delete {
        key: String,
        expected: Option<Revision>,
    },
}

impl WriteOp {
    fn key(&self) -> &str {
        match self {
            WriteOp::Create { key, .. }
            | WriteOp::Update { key, .. }
            | WriteOp::Delete { key, .. } => key,
        }
    }

    fn size(&self) -> usize {
        match self {
            WriteOp::Create { key, value } | WriteOp::Update { key, value, .. } => {
                wal::encoded_len(key, value)
            }
            WriteOp::Delete { key, .. } => wal::encoded_len(key, &[]),
        }
    }
}

type Reply<T> = oneshot::Sender<Result<T, StorageError>>;

enum Request {
    Write(WriteOp, Reply<KeyValue>),
    Compact(Revision, Reply<()>),
}

struct Shared {
    state: RwLock<Mvcc>,
    /// Bumped after every commit or compaction; watch streams wait on it.
    notify: watch::Sender<Revision>,
    closed: AtomicBool,
    batches: AtomicU64,
    writes: AtomicU64,
    log_bytes: AtomicU64,
    rewrites: AtomicU64,
}

/// The embedded, durable, single-node store. Cheap to share as
/// `Arc<EmbeddedStore>` / `Arc<dyn Storage>`.
pub struct EmbeddedStore {
    shared: Arc<Shared>,
    tx: Mutex<Option<mpsc::Sender<Request>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    opts: EmbeddedOptions,
    dir: PathBuf,
    /// Holds the directory's lock for the store's lifetime.
    _lock: File,
}

impl std::fmt::Debug for EmbeddedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedStore")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl EmbeddedStore {
    /// Opens (or creates) the store in `dir`: takes the directory lock,
    /// replays the log (cutting off a torn tail, refusing corruption) and
    /// starts the writer thread. Blocking; call it at startup or from
    /// `spawn_blocking`.
    pub fn open(dir: &Path, opts: EmbeddedOptions) -> Result<Arc<Self>, StorageError> {
        fs::create_dir_all(dir)?;
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join(LOCK_FILE))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(StorageError::Io(io::Error::new(
                    io::ErrorKind::WouldBlock,
                    format!(
                        "storage directory {} is in use by another store",
                        dir.display()
                    ),
                )));
            }
            Err(TryLockError::Error(e)) => return Err(StorageError::Io(e)),
        }
        let tmp = dir.join(wal::TMP_FILE);
        if tmp.exists() {
            tracing::warn!(path = %tmp.display(), "removing unfinished log rewrite");
            fs::remove_file(&tmp)?;
        }
        let log_path = dir.join(wal::LOG_FILE);
        if !log_path.exists() {
            wal::write_snapshot_file(&tmp, &Mvcc::new(), 0, true)?;
            fs::rename(&tmp, &log_path)?;
            wal::sync_dir(dir)?;
            tracing::info!(path = %log_path.display(), "created a new storage log");
        }
        let buf = fs::read(&log_path)?;
        let replayed = wal::replay(&buf, &log_path)?;
        drop(buf);
        if replayed.torn_bytes > 0 {
            tracing::warn!(
                path = %log_path.display(),
                offset = replayed.valid_len,
                bytes = replayed.torn_bytes,
                "cutting off a torn write at the end of the log (a crash during an unacknowledged write)"
            );
            let f = OpenOptions::new().write(true).open(&log_path)?;
            f.set_len(replayed.valid_len)?;
            f.sync_all()?;
        }
        let state = replayed.state;
        tracing::info!(
            path = %log_path.display(),
            revision = state.current(),
            compacted = state.compacted(),
            bytes = replayed.valid_len,
            "storage log replayed"
        );
        let log = LogWriter::open(dir, replayed.valid_len, opts.fsync, opts.faults.clone())?;
        let (notify, _) = watch::channel(state.current());
        let shared = Arc::new(Shared {
            state: RwLock::new(state),
            notify,
            closed: AtomicBool::new(false),
            batches: AtomicU64::new(0),
            writes: AtomicU64::new(0),
            log_bytes: AtomicU64::new(replayed.valid_len),
            rewrites: AtomicU64::new(0),
        });
        let (tx, rx) = mpsc::channel(opts.queue_depth.max(1));
        let writer = Writer {
            shared: shared.clone(),
            rx,
            log,
            opts: opts.clone(),
            failed: None,
            frame: Vec::new(),
        };
        let handle = std::thread::Builder::new()
            .name("kiln-storage-writer".into())
            .spawn(move || writer.run())?;
        Ok(Arc::new(EmbeddedStore {
            shared,
            tx: Mutex::new(Some(tx)),
            writer: Mutex::new(Some(handle)),
            opts,
            dir: dir.to_path_buf(),
            _lock: lock,
        }))
    }

    /// The directory the store lives in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Counters (revisions, group commits, log size).
    pub fn stats(&self) -> EmbeddedStats {
        let st = self.shared.state.read();
        EmbeddedStats {
            current_revision: st.current(),
            compacted_revision: st.compacted(),
            batches: self.shared.batches.load(Ordering::Relaxed),
            writes: self.shared.writes.load(Ordering::Relaxed),
            log_bytes: self.shared.log_bytes.load(Ordering::Relaxed),
            rewrites: self.shared.rewrites.load(Ordering::Relaxed),
        }
    }

    /// Stops accepting requests, lets queued writes finish, and waits for
    /// the writer thread. Later calls (and watch streams) get
    /// [`StorageError::Closed`]. Dropping the store does the same.
    pub async fn close(&self) {
        let handle = self.begin_close();
        if let Some(h) = handle {
            let _ = tokio::task::spawn_blocking(move || h.join()).await;
        }
    }

    fn begin_close(&self) -> Option<JoinHandle<()>> {
        self.shared.closed.store(true, Ordering::SeqCst);
        drop(self.tx.lock().take());
        self.shared.notify.send_modify(|_| {});
        self.writer.lock().take()
    }

    fn check_open(&self) -> Result<(), StorageError> {
        if self.shared.closed.load(Ordering::SeqCst) {
            Err(StorageError::Closed)
        } else {
            Ok(())
        }
    }

    fn validate(&self, key: &str, value: Option<&Bytes>) -> Result<(), StorageError> {
        if key.is_empty() {
            return Err(StorageError::InvalidArgument("empty key".into()));
        }
        if key.len() > MAX_KEY_BYTES {
            return Err(StorageError::InvalidArgument(format!(
                "key of {} bytes exceeds the limit of {MAX_KEY_BYTES} bytes",
                key.len()
            )));
        }
        if let Some(v) = value {
            let limit = self.opts.max_value_bytes.min(wal::MAX_FRAME_LEN / 2);
            if v.len() > limit {
                return Err(StorageError::ValueTooLarge {
                    size: v.len(),
                    limit,
                });
            }
        }
        Ok(())
    }

    async fn submit<T>(&self, make: impl FnOnce(Reply<T>) -> Request) -> Result<T, StorageError> {
        self.check_open()?;
        let tx = self.tx.lock().clone().ok_or(StorageError::Closed)?;
        let (reply, rx) = oneshot::channel();
        tx.send(make(reply))
            .await
            .map_err(|_| StorageError::Closed)?;
        rx.await.map_err(|_| StorageError::Closed)?
    }

    async fn write(&self, op: WriteOp) -> Result<KeyValue, StorageError> {
        self.submit(|reply| Request::Write(op, reply)).await
    }
}

impl Drop for EmbeddedStore {
    fn drop(&mut self) {
        if let Some(h) = self.begin_close() {
            // Only queued writes remain (no caller can hold the store), so
            // this waits for at most one group commit.
            let _ = h.join();
        }
    }
}

#[async_trait]
impl Storage for EmbeddedStore {
    async fn get(&self, key: &str) -> Result<Option<KeyValue>, StorageError> {
        self.check_open()?;
        Ok(self.shared.state.read().latest(key))
    }

    async fn range(
        &self,
        prefix: &str,
        start: Option<&str>,
        limit: usize,
        revision: Option<Revision>,
    ) -> Result<RangeResult, StorageError> {
        self.check_open()?;
        let st = self.shared.state.read();
        let at = match revision {
            Some(r) if r > 0 => {
                if r < st.compacted() {
                    return Err(StorageError::Compacted {
                        requested: r,
                        compacted: st.compacted(),
                    });
                }
                if r > st.current() {
                    return Err(StorageError::FutureRevision {
                        requested: r,
                        current: st.current(),
                    });
                }
                r
            }
            _ => st.current(),
        };
        let (kvs, remaining) = st.range(prefix, start, limit, at);
        Ok(RangeResult {
            kvs,
            more: remaining > 0,
            remaining,
            revision: at,
        })
    }

    async fn create(&self, key: &str, value: Bytes) -> Result<KeyValue, StorageError> {
        self.validate(key, Some(&value))?;
        self.write(WriteOp::Create {
            key: key.to_string(),
            value,
        })
        .await
    }

    async fn update(
        &self,
        key: &str,
        value: Bytes,
        expected_mod_revision: Option<Revision>,
    ) -> Result<KeyValue, StorageError> {
        self.validate(key, Some(&value))?;
        self.write(WriteOp::Update {
            key: key.to_string(),
            value,
            expected: expected_mod_revision,
        })
        .await
    }

    async fn delete(
        &self,
        key: &str,
        expected_mod_revision: Option<Revision>,
    ) -> Result<KeyValue, StorageError> {
        self.validate(key, None)?;
        self.write(WriteOp::Delete {
            key: key.to_string(),
            expected: expected_mod_revision,
        })
        .await
    }

    async fn current_revision(&self) -> Result<Revision, StorageError> {
        self.check_open()?;
        Ok(self.shared.state.read().current())
    }

    async fn compacted_revision(&self) -> Result<Revision, StorageError> {
        self.check_open()?;
        Ok(self.shared.state.read().compacted())
    }

    async fn compact(&self, revision: Revision) -> Result<(), StorageError> {
        self.submit(|reply| Request::Compact(revision, reply)).await
    }

    async fn watch(&self, prefix: &str, after: Revision) -> Result<WatchStream, StorageError> {
        self.check_open()?;
        {
            let st = self.shared.state.read();
            if after < st.compacted() {
                return Err(StorageError::Compacted {
                    requested: after,
                    compacted: st.compacted(),
                });
            }
        }
        let cursor = WatchCursor {
            shared: self.shared.clone(),
            notify: self.shared.notify.subscribe(),
            prefix: prefix.to_string(),
            after,
            buf: VecDeque::new(),
            max_buf: self.opts.watch_buffer.max(1),
            done: false,
        };
        Ok(WatchStream::new(futures_util::stream::unfold(
            cursor,
            |mut c| async move { c.next().await.map(|item| (item, c)) },
        )))
    }
}

/// A watch stream's position in the revision log.
struct WatchCursor {
    shared: Arc<Shared>,
    notify: watch::Receiver<Revision>,
    prefix: String,
    /// Every event up to this revision has been fetched.
    after: Revision,
    buf: VecDeque<Event>,
    max_buf: usize,
    done: bool,
}

impl WatchCursor {
    async fn next(&mut self) -> Option<Result<Event, StorageError>> {
        loop {
            if self.done {
                return None;
            }
            if let Some(ev) = self.buf.pop_front() {
                return Some(Ok(ev));
            }
            // Mark the notification seen before reading the state so a
            // commit after the read wakes us.
            self.notify.borrow_and_update();
            if self.shared.closed.load(Ordering::SeqCst) {
                self.done = true;
                return Some(Err(StorageError::Closed));
            }
            let caught_up = {
                let st = self.shared.state.read();
                if self.after < st.compacted() {
                    self.done = true;
                    return Some(Err(StorageError::Compacted {
                        requested: self.after,
                        compacted: st.compacted(),
                    }));
                }
                self.after = st.events_after(
                    &self.prefix,
                    self.after,
                    WATCH_SCAN_CHUNK,
                    self.max_buf,
                    &mut self.buf,
                );
                self.after >= st.current()
            };
            if !self.buf.is_empty() {
                continue;
            }
            if !caught_up {
                // A long stretch of history without a match: let other tasks
                // run between chunks.
                tokio::task::yield_now().await;
            } else if self.notify.changed().await.is_err() {
                self.done = true;
                return Some(Err(StorageError::Closed));
            }
        }
    }
}

/// The writer thread: sole owner of the log and sole mutator of the index.
struct Writer {
    shared: Arc<Shared>,
    rx: mpsc::Receiver<Request>,
    log: LogWriter,
    opts: EmbeddedOptions,
    /// Set after an I/O failure that left the log in an unknown state.
    failed: Option<String>,
    frame: Vec<u8>,
}

/// A write validated in a batch: its caller and outcome.
struct Pending {
    reply: Reply<KeyValue>,
    result: Result<KeyValue, StorageError>,
    /// Whether the outcome depends on the batch being committed.
    needs_commit: bool,
}

impl Writer {
    fn run(mut self) {
        let mut held: Option<Request> = None;
        loop {
            let first = match held.take() {
                Some(r) => r,
                None => match self.rx.blocking_recv() {
                    Some(r) => r,
                    None => break,
                },
            };
            match first {
                Request::Compact(rev, reply) => {
                    let res = self.compact(rev);
                    let _ = reply.send(res);
                }
                Request::Write(op, reply) => {
                    let mut bytes = op.size();
                    let mut batch = vec![(op, reply)];
                    while batch.len() < self.opts.max_batch_writes
                        && bytes < self.opts.max_batch_bytes
                    {
                        match self.rx.try_recv() {
                            Ok(Request::Write(op, reply)) => {
                                bytes += op.size();
                                batch.push((op, reply));
                            }
                            Ok(other) => {
                                held = Some(other);
                                break;
                            }
                            Err(_) => break,
                        }
                    }
                    self.commit(batch);
                    self.maybe_auto_compact();
                }
            }
        }
        tracing::debug!("storage writer stopped");
    }

    fn failed_error(msg: &str) -> StorageError {
        StorageError::Io(io::Error::other(format!(
            "storage log failed earlier and accepts no writes until reopened: {msg}"
        )))
    }

    fn commit(&mut self, batch: Vec<(WriteOp, Reply<KeyValue>)>) {
        if let Some(msg) = &self.failed {
            for (_, reply) in batch {
                let _ = reply.send(Err(Self::failed_error(msg)));
            }
            return;
        }
        let mut pending = Vec::with_capacity(batch.len());
        let mut mutations = Vec::with_capacity(batch.len());
        wal::begin_frame(&mut self.frame);
        {
            let st = self.shared.state.read();
            // Latest state of keys written earlier in this batch.
            let mut overlay: HashMap<String, Option<KeyValue>> = HashMap::new();
            let mut next = st.current() + 1;
            for (op, reply) in batch {
                let current = match overlay.get(op.key()) {
                    Some(v) => v.clone(),
                    None => st.latest(op.key()),
                };
                let (result, mutation) = decide(op, current, next);
                let needs_commit = mutation.is_some() || overlay.contains_key(result_key(&result));
                if let Some(m) = mutation {
                    let (key, after) = match &m {
                        Mutation::Put {
                            key,
                            rev,
                            create_rev,
                            value,
                        } => (
                            key.clone(),
                            Some(KeyValue {
                                key: key.clone(),
                                value: value.clone(),
                                create_revision: *create_rev,
                                mod_revision: *rev,
                            }),
                        ),
                        Mutation::Delete { key, .. } => (key.clone(), None),
                    };
                    overlay.insert(key, after);
                    wal::encode_record(&mut self.frame, &Record::Write(m.clone()));
                    mutations.push(m);
                    next += 1;
                }
                pending.push(Pending {
                    reply,
                    result,
                    needs_commit,
                });
            }
        }
        if mutations.is_empty() {
            for p in pending {
                let _ = p.reply.send(p.result);
            }
            return;
        }
        let appended = match wal::finish_frame(&mut self.frame) {
            Ok(()) => self.log.append(&self.frame).map_err(|e| {
                if e.fatal {
                    self.failed = Some(e.error.to_string());
                }
                StorageError::Io(e.error)
            }),
            Err(e) => Err(e),
        };
        match appended {
            Ok(()) => {
                let n = mutations.len() as u64;
                let mut applied = Ok(());
                {
                    let mut st = self.shared.state.write();
                    for m in mutations {
                        if let Err(e) = st.apply(m) {
                            applied = Err(e);
                            break;
                        }
                    }
                }
                if let Err(e) = applied {
                    // Cannot happen: the batch was validated against this
                    // very state. Stop writing rather than diverge further.
                    tracing::error!(error = %e, "storage index rejected a committed write");
                    self.failed = Some(e.to_string());
                }
                self.shared.batches.fetch_add(1, Ordering::Relaxed);
                self.shared.writes.fetch_add(n, Ordering::Relaxed);
                self.shared
                    .log_bytes
                    .store(self.log.len(), Ordering::Relaxed);
                for p in pending {
                    let _ = p.reply.send(p.result);
                }
                self.shared.notify.send_modify(|_| {});
            }
            Err(e) => {
                tracing::error!(error = %e, writes = mutations.len(), "storage group commit failed");
                for p in pending {
                    let res = if p.needs_commit {
                        Err(e.duplicate())
                    } else {
                        p.result
                    };
                    let _ = p.reply.send(res);
                }
            }
        }
    }

    fn maybe_auto_compact(&mut self) {
        if self.failed.is_some() {
            return;
        }
        if let Some(keep) = self.opts.retain_revisions {
            let keep = i64::try_from(keep).unwrap_or(i64::MAX);
            let (current, compacted) = {
                let st = self.shared.state.read();
                (st.current(), st.compacted())
            };
            let slack = (keep / 4).max(1);
            if current - compacted > keep.saturating_add(slack) {
                let target = current - keep;
                if let Err(e) = self.compact_history(target) {
                    tracing::warn!(error = %e, target, "automatic compaction failed");
                    return;
                }
            }
        }
        let len = self.log.len();
        let threshold = self
            .log
            .base_len()
            .saturating_mul(self.opts.log_rewrite_factor.max(1))
            .max(self.opts.log_rewrite_min_bytes);
        if len > threshold {
            let at = self.shared.state.read().compacted();
            if let Err(e) = self.rewrite(at) {
                tracing::warn!(error = %e, "automatic log rewrite failed");
            }
        }
    }

    /// Trims the in-memory history to `rev`, recording it in the log so a
    /// restart trims the same.
    fn compact_history(&mut self, rev: Revision) -> Result<(), StorageError> {
        wal::begin_frame(&mut self.frame);
        wal::encode_record(&mut self.frame, &Record::Compact { rev });
        wal::finish_frame(&mut self.frame)?;
        self.log.append(&self.frame).map_err(|e| {
            if e.fatal {
                self.failed = Some(e.error.to_string());
            }
            StorageError::Io(e.error)
        })?;
        self.shared
            .log_bytes
            .store(self.log.len(), Ordering::Relaxed);
        self.shared.state.write().compact(rev)?;
        self.shared.notify.send_modify(|_| {});
        tracing::debug!(revision = rev, "storage history compacted");
        Ok(())
    }

    /// Rewrites the log as a snapshot at `at` plus the history after it.
    fn rewrite(&mut self, at: Revision) -> Result<(), StorageError> {
        let before = self.log.len();
        let res = {
            let st = self.shared.state.read();
            self.log.rewrite(&st, at)
        };
        match res {
            Ok(()) => {
                self.shared.rewrites.fetch_add(1, Ordering::Relaxed);
                self.shared
                    .log_bytes
                    .store(self.log.len(), Ordering::Relaxed);
                tracing::info!(
                    revision = at,
                    before,
                    after = self.log.len(),
                    "storage log rewritten"
                );
                Ok(())
            }
            Err((e, fatal)) => {
                if fatal {
                    self.failed = Some(e.to_string());
                }
                Err(StorageError::Io(e))
            }
        }
    }

    /// Manual compaction: snapshot at `rev` to a new log, then trim memory.
    fn compact(&mut self, rev: Revision) -> Result<(), StorageError> {
        if let Some(msg) = &self.failed {
            return Err(Self::failed_error(msg));
        }
        {
            let st = self.shared.state.read();
            if rev > st.current() {
                return Err(StorageError::FutureRevision {
                    requested: rev,
                    current: st.current(),
                });
            }
            if rev < st.compacted() {
                return Err(StorageError::Compacted {
                    requested: rev,
                    compacted: st.compacted(),
                });
            }
        }
        self.rewrite(rev)?;
        self.shared.state.write().compact(rev)?;
        self.shared.notify.send_modify(|_| {});
        Ok(())
    }
}

fn result_key(r: &Result<KeyValue, StorageError>) -> &str {
    match r {
        Ok(kv) => &kv.key,
        Err(
            StorageError::NotFound { key }
            | StorageError::AlreadyExists { key }
            | StorageError::Conflict { key, .. },
        ) => key,
        Err(_) => "",
    }
}

/// Decides one write against the key's current version; `rev` is the
/// revision it gets if it succeeds.
fn decide(
    op: WriteOp,
    current: Option<KeyValue>,
    rev: Revision,
) -> (Result<KeyValue, StorageError>, Option<Mutation>) {
    match op {
        WriteOp::Create { key, value } => {
            if current.is_some() {
                return (Err(StorageError::AlreadyExists { key }), None);
            }
            let kv = KeyValue {
                key: key.clone(),
                value: value.clone(),
                create_revision: rev,
                mod_revision: rev,
            };
            (
                Ok(kv),
                Some(Mutation::Put {
                    key,
                    rev,
                    create_rev: rev,
                    value,
                }),
            )
        }
        WriteOp::Update {
            key,
            value,
            expected,
        } => {
            let Some(cur) = current else {
                return (Err(StorageError::NotFound { key }), None);
            };
            if expected.is_some_and(|e| e != cur.mod_revision) {
                return (
                    Err(StorageError::Conflict {
                        key,
                        current: Some(cur),
                    }),
                    None,
                );
            }
            let kv = KeyValue {
                key: key.clone(),
                value: value.clone(),
                create_revision: cur.create_revision,
                mod_revision: rev,
            };
            (
                Ok(kv),
                Some(Mutation::Put {
                    key,
                    rev,
                    create_rev: cur.create_revision,
                    value,
                }),
            )
        }
        WriteOp::Delete { key, expected } => {
            let Some(cur) = current else {
                return (Err(StorageError::NotFound { key }), None);
            };
            if expected.is_some_and(|e| e != cur.mod_revision) {
                return (
                    Err(StorageError::Conflict {
                        key,
                        current: Some(cur),
                    }),
                    None,
                );
            }
            let kv = KeyValue {
                mod_revision: rev,
                ..cur
            };
            (Ok(kv), Some(Mutation::Delete { key, rev }))
        }
    }
}
