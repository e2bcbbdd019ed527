//! Protobuf encoding back to front, in one pass.
//!
//! A length-delimited field's length comes before its body, so a front-to-back encoder
//! must know every nested message's size before writing it: either asking each nested
//! message for its `encoded_len` on the way down (prost's way; the work grows with the
//! square of the nesting depth) or walking the whole value once to record sizes and
//! again to write. Written back to front, a body is already in the buffer when its
//! length is needed: the length is how far the buffer grew while writing it. So each
//! generated message implements [`RevEncode`]: fields in descending field-number order,
//! repeated and map entries last to first, each value before its key; [`RevBuf`] grows
//! downwards. The bytes are exactly those of the forward encoding (canonical varints,
//! field-number order), which the property tests check against prost.

use std::cell::Cell;
use std::collections::BTreeMap;

use crate::Str;
use crate::byte_string::ByteString;

/// A byte buffer filled from the end towards the start; the encoded bytes are
/// `buf[pos..]`.
#[derive(Debug)]
pub struct RevBuf {
    buf: Vec<u8>,
    pos: usize,
}

thread_local! {
    /// A starting capacity for the next buffer on this thread: a little more than the
    /// last message encoded here, so that encoding the items of a list (or the same kind
    /// again) allocates once instead of growing (each growth zero-fills and copies).
    static NEXT_CAPACITY: Cell<usize> = const { Cell::new(MIN_CAPACITY) };
}

const MIN_CAPACITY: usize = 256;
/// Hints are capped so that one huge message does not make every later buffer huge.
const MAX_HINT: usize = 1 << 20;

impl Default for RevBuf {
    /// A buffer of the capacity the last encode on this thread suggests.
    fn default() -> Self {
        RevBuf::with_capacity(NEXT_CAPACITY.with(Cell::get))
    }
}

impl RevBuf {
    pub fn with_capacity(capacity: usize) -> RevBuf {
        let capacity = capacity.max(16);
        RevBuf {
            buf: vec![0; capacity],
            pos: capacity,
        }
    }

    /// Bytes written so far.
    #[inline(always)]
    pub fn len(&self) -> usize {
        self.buf.len() - self.pos
    }

    #[inline(always)]
    pub fn is_empty(&self) -> bool {
        self.pos == self.buf.len()
    }

    /// The bytes written, in wire order.
    pub fn as_slice(&self) -> &[u8] {
        &self.buf[self.pos..]
    }

    /// The bytes written, in wire order, as a vector: moved to the front of the
    /// allocation, or copied to one of their own size when most of it is unused (so a
    /// list of small messages does not keep a large buffer per item). Records the size
    /// as the next buffer's starting capacity on this thread.
    pub fn into_vec(self) -> Vec<u8> {
        let RevBuf { mut buf, pos } = self;
        let len = buf.len() - pos;
        let hint = (len + len / 4 + 64).clamp(MIN_CAPACITY, MAX_HINT);
        NEXT_CAPACITY.with(|c| c.set(hint));
        if pos > len {
            return buf[pos..].to_vec();
        }
        if pos > 0 {
            buf.copy_within(pos.., 0);
            buf.truncate(len);
        }
        buf
    }

    #[cold]
    #[inline(never)]
    fn grow(&mut self, additional: usize) {
        let len = self.len();
        let capacity = (self.buf.len() * 2).max(len + additional + 64);
        let mut buf = vec![0u8; capacity];
        buf[capacity - len..].copy_from_slice(&self.buf[self.pos..]);
        self.buf = buf;
        self.pos = capacity - len;
    }

    /// Puts `bytes` in front of what is written.
    #[inline(always)]
    pub fn put_slice(&mut self, bytes: &[u8]) {
        if self.pos < bytes.len() {
            self.grow(bytes.len());
        }
        let start = self.pos - bytes.len();
        self.buf[start..self.pos].copy_from_slice(bytes);
        self.pos = start;
    }

    #[inline(always)]
    pub fn put_u8(&mut self, byte: u8) {
        if self.pos == 0 {
            self.grow(1);
        }
        self.pos -= 1;
        self.buf[self.pos] = byte;
    }

    /// A varint (canonical: the fewest bytes).
    #[inline(always)]
    pub fn put_varint(&mut self, mut value: u64) {
        if value < 0x80 {
            self.put_u8(value as u8);
            return;
        }
        let mut tmp = [0u8; 10];
        let mut n = 0;
        while value >= 0x80 && n < 9 {
            tmp[n] = (value as u8) | 0x80;
            value >>= 7;
            n += 1;
        }
        tmp[n] = value as u8;
        self.put_slice(&tmp[..=n]);
    }

    /// A field key; `wire_type` as in protobuf (0 varint, 1 64-bit, 2 length-delimited).
    #[inline(always)]
    pub fn put_key(&mut self, tag: u32, wire_type: u32) {
        self.put_varint(u64::from(tag << 3 | wire_type));
    }

    /// The length and key of a length-delimited field whose body was written since the
    /// buffer had `end` bytes.
    #[inline(always)]
    pub fn put_header(&mut self, tag: u32, end: usize) {
        let len = self.len() - end;
        self.put_varint(len as u64);
        self.put_key(tag, LEN);
    }
}

/// Wire type of varints.
pub const VARINT: u32 = 0;
/// Wire type of 64-bit values.
pub const I64: u32 = 1;
/// Wire type of length-delimited values.
pub const LEN: u32 = 2;

/// A message that encodes its body back to front.
pub trait RevEncode {
    /// Writes the message body (no key or length), last field first.
    fn encode_rev(&self, w: &mut RevBuf);
}

impl<T: RevEncode + ?Sized> RevEncode for Box<T> {
    #[inline]
    fn encode_rev(&self, w: &mut RevBuf) {
        (**self).encode_rev(w)
    }
}

/// The message body as a vector, in one pass.
pub fn encode_to_vec<M: RevEncode + ?Sized>(msg: &M) -> Vec<u8> {
    let mut w = RevBuf::default();
    msg.encode_rev(&mut w);
    w.into_vec()
}

/// Writes the message body into a forward buffer (prost's `encode_raw`).
pub fn encode_raw<M: RevEncode + ?Sized>(msg: &M, buf: &mut impl prost::bytes::BufMut) {
    let mut w = RevBuf::default();
    msg.encode_rev(&mut w);
    buf.put_slice(w.as_slice());
}

/// The encoded length of the message body (encodes it; for the rare callers of
/// `prost::Message::encoded_len`).
pub fn encoded_len<M: RevEncode + ?Sized>(msg: &M) -> usize {
    let mut w = RevBuf::default();
    msg.encode_rev(&mut w);
    w.len()
}

// -- fields --------------------------------------------------------------------------

#[inline]
pub fn string(tag: u32, value: &str, w: &mut RevBuf) {
    bytes(tag, value.as_bytes(), w);
}

#[inline]
pub fn bytes(tag: u32, value: &[u8], w: &mut RevBuf) {
    w.put_slice(value);
    w.put_varint(value.len() as u64);
    w.put_key(tag, LEN);
}

#[inline]
pub fn byte_string(tag: u32, value: &ByteString, w: &mut RevBuf) {
    bytes(tag, &value.0, w);
}

#[inline]
pub fn int32(tag: u32, value: &i32, w: &mut RevBuf) {
    // Negative int32s are sign-extended to ten bytes, as protobuf requires.
    w.put_varint(i64::from(*value) as u64);
    w.put_key(tag, VARINT);
}

#[inline]
pub fn int64(tag: u32, value: &i64, w: &mut RevBuf) {
    w.put_varint(*value as u64);
    w.put_key(tag, VARINT);
}

#[inline]
pub fn bool(tag: u32, value: &bool, w: &mut RevBuf) {
    w.put_u8(u8::from(*value));
    w.put_key(tag, VARINT);
}

#[inline]
pub fn double(tag: u32, value: &f64, w: &mut RevBuf) {
    w.put_slice(&value.to_le_bytes());
    w.put_key(tag, I64);
}

#[inline]
pub fn message<M: RevEncode + ?Sized>(tag: u32, value: &M, w: &mut RevBuf) {
    let end = w.len();
    value.encode_rev(w);
    w.put_header(tag, end);
}

/// Repeated fields: the items last to first, each with its key (unpacked, as proto2 and
/// gogo-protobuf write them).
pub mod repeated {
    use super::*;

    pub fn string(tag: u32, values: &[Str], w: &mut RevBuf) {
        for v in values.iter().rev() {
            super::string(tag, v, w);
        }
    }

    pub fn byte_string(tag: u32, values: &[ByteString], w: &mut RevBuf) {
        for v in values.iter().rev() {
            super::byte_string(tag, v, w);
        }
    }

    pub fn int32(tag: u32, values: &[i32], w: &mut RevBuf) {
        for v in values.iter().rev() {
            super::int32(tag, v, w);
        }
    }

    pub fn int64(tag: u32, values: &[i64], w: &mut RevBuf) {
        for v in values.iter().rev() {
            super::int64(tag, v, w);
        }
    }

    pub fn bool(tag: u32, values: &[bool], w: &mut RevBuf) {
        for v in values.iter().rev() {
            super::bool(tag, v, w);
        }
    }

    pub fn double(tag: u32, values: &[f64], w: &mut RevBuf) {
        for v in values.iter().rev() {
            super::double(tag, v, w);
        }
    }

    pub fn message<M: RevEncode>(tag: u32, values: &[M], w: &mut RevBuf) {
        for v in values.iter().rev() {
            super::message(tag, v, w);
        }
    }
}

/// `map<string, V>` as gogo-protobuf writes it: entries in key order, each with both its
/// key (field 1) and its value (field 2), even when empty. `value` writes field 2.
pub fn map<V>(
    tag: u32,
    map: &BTreeMap<Str, V>,
    w: &mut RevBuf,
    mut value: impl FnMut(&V, &mut RevBuf),
) {
    for (k, v) in map.iter().rev() {
        let end = w.len();
        value(v, w);
        string(1, k, w);
        w.put_header(tag, end);
    }
}

/// `map<string, string>`.
pub fn string_map(tag: u32, m: &BTreeMap<Str, Str>, w: &mut RevBuf) {
    map(tag, m, w, |v, w| string(2, v, w));
}

/// `map<string, bytes>`.
pub fn bytes_map(tag: u32, m: &BTreeMap<Str, ByteString>, w: &mut RevBuf) {
    map(tag, m, w, |v, w| byte_string(2, v, w));
}

/// `map<string, Message>`.
pub fn message_map<M: RevEncode>(tag: u32, m: &BTreeMap<Str, M>, w: &mut RevBuf) {
    map(tag, m, w, |v, w| message(2, v, w));
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use prost::encoding as pe;

    #[test]
    fn small_messages_get_their_own_allocation() {
        let mut w = RevBuf::with_capacity(64 * 1024);
        w.put_slice(b"abc");
        let v = w.into_vec();
        assert_eq!(v, b"abc");
        assert!(v.capacity() < 1024);
        // The next default buffer starts near the last size, not at 64 KiB.
        assert!(RevBuf::default().buf.len() <= 1024);
        let mut w = RevBuf::with_capacity(8);
        w.put_slice(&[7; 100]);
        w.put_u8(1);
        let v = w.into_vec();
        assert_eq!(v.len(), 101);
        assert_eq!(v[0], 1);
    }

    #[test]
    fn grows_and_keeps_order() {
        let mut w = RevBuf::with_capacity(1);
        for i in 0..1000u32 {
            w.put_slice(&i.to_be_bytes());
        }
        let v = w.into_vec();
        assert_eq!(v.len(), 4000);
        assert_eq!(&v[..4], &999u32.to_be_bytes());
        assert_eq!(&v[3996..], &0u32.to_be_bytes());
    }

    proptest! {
        #[test]
        fn prop_scalars_match_prost(
            tag in 1u32..(1 << 20),
            u in any::<u64>(),
            i in any::<i32>(),
            l in any::<i64>(),
            b in any::<bool>(),
            d in any::<f64>(),
            text in ".{0,200}",
            long in proptest::collection::vec(any::<u8>(), 0..400),
        ) {
            // Forward with prost, in field order; backwards with ours, in reverse.
            let mut want = Vec::new();
            pe::encode_varint(u, &mut want);
            pe::int32::encode_repeated(tag, &[i, -1, 0], &mut want);
            pe::int64::encode(tag, &l, &mut want);
            pe::bool::encode(tag, &b, &mut want);
            pe::double::encode(tag, &d, &mut want);
            pe::string::encode_repeated(tag, &[text.clone(), String::new()], &mut want);
            pe::bytes::encode(tag, &long, &mut want);
            pe::int64::encode_repeated(tag, &[l, 0], &mut want);
            pe::bool::encode_repeated(tag, &[b, true], &mut want);
            pe::double::encode_repeated(tag, &[d], &mut want);

            let mut w = RevBuf::with_capacity(1);
            repeated::double(tag, &[d], &mut w);
            repeated::bool(tag, &[b, true], &mut w);
            repeated::int64(tag, &[l, 0], &mut w);
            byte_string(tag, &ByteString(long.clone()), &mut w);
            repeated::string(tag, &[Str::new(&text), Str::default()], &mut w);
            double(tag, &d, &mut w);
            bool(tag, &b, &mut w);
            int64(tag, &l, &mut w);
            repeated::int32(tag, &[i, -1, 0], &mut w);
            w.put_varint(u);
            prop_assert_eq!(w.len(), want.len());
            prop_assert_eq!(w.into_vec(), want);
        }

        #[test]
        fn prop_maps_match_go(
            labels in proptest::collection::btree_map(".{0,6}", ".{0,300}", 0..5),
            data in proptest::collection::btree_map(".{0,6}", proptest::collection::vec(any::<u8>(), 0..200), 0..5),
        ) {
            let data: BTreeMap<Str, ByteString> =
                data.into_iter().map(|(k, v)| (k.into(), ByteString(v))).collect();
            let labels: BTreeMap<Str, Str> =
                labels.into_iter().map(|(k, v)| (k.into(), v.into())).collect();
            let mut want = Vec::new();
            crate::proto::string_map::encode(3, &labels, &mut want);
            crate::proto::bytes_map::encode(4, &data, &mut want);
            let mut w = RevBuf::with_capacity(1);
            bytes_map(4, &data, &mut w);
            string_map(3, &labels, &mut w);
            prop_assert_eq!(w.into_vec(), want);
        }
    }
}
