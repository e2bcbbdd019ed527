//! Protobuf helpers for generated `prost::Message` impls, for fields whose Rust type has
//! no `prost::encoding` module of its own or whose Go encoding differs from prost's
//! defaults.
//!
//! Each submodule mirrors the shape of `prost::encoding::string` (`encode`, `merge`,
//! `encoded_len`, and the `_repeated` forms where they apply), so generated code can call
//! them the same way.
//!
//! Maps follow gogo-protobuf as Kubernetes uses it: entries in key order (a `BTreeMap`),
//! and every entry writes both its key and its value, even when empty or zero (prost's
//! own map helpers leave out default keys and values; both decode the same).

use std::borrow::Cow;
use std::collections::BTreeMap;

use prost::DecodeError;
use prost::bytes::{Buf, BufMut};
use prost::encoding::{DecodeContext, WireType, check_wire_type, encoded_len_varint, key_len};

use crate::Str;
use crate::byte_string::ByteString;

pub mod rev;

/// A decode error with a description, for hand-written `merge_field` impls.
pub fn decode_error(description: impl Into<Cow<'static, str>>) -> DecodeError {
    // prost keeps this constructor public but deprecated; it is the only way for code
    // outside prost to describe a semantic decode failure.
    #[allow(deprecated)]
    DecodeError::new(description)
}

/// `bytes` fields holding a [`ByteString`].
pub mod byte_string {
    use super::*;

    /// Writes the field (always; wrap in `if let Some(..)` for optional fields).
    pub fn encode(tag: u32, value: &ByteString, buf: &mut impl BufMut) {
        prost::encoding::bytes::encode(tag, &value.0, buf);
    }

    pub fn merge(
        wire_type: WireType,
        value: &mut ByteString,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), DecodeError> {
        prost::encoding::bytes::merge(wire_type, &mut value.0, buf, ctx)
    }

    pub fn encoded_len(tag: u32, value: &ByteString) -> usize {
        prost::encoding::bytes::encoded_len(tag, &value.0)
    }

    /// Merges into an optional field, creating it on first sight.
    pub fn merge_optional(
        wire_type: WireType,
        value: &mut Option<ByteString>,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), DecodeError> {
        merge(
            wire_type,
            value.get_or_insert_with(ByteString::default),
            buf,
            ctx,
        )
    }

    pub fn encode_repeated(tag: u32, values: &[ByteString], buf: &mut impl BufMut) {
        for v in values {
            encode(tag, v, buf);
        }
    }

    pub fn merge_repeated(
        wire_type: WireType,
        values: &mut Vec<ByteString>,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), DecodeError> {
        check_wire_type(WireType::LengthDelimited, wire_type)?;
        let mut v = ByteString::default();
        merge(wire_type, &mut v, buf, ctx)?;
        values.push(v);
        Ok(())
    }

    pub fn encoded_len_repeated(tag: u32, values: &[ByteString]) -> usize {
        values.iter().map(|v| encoded_len(tag, v)).sum()
    }
}

pub(crate) fn string_field_len(tag: u32, s: &str) -> usize {
    key_len(tag) + encoded_len_varint(s.len() as u64) + s.len()
}

fn encode_string_field(tag: u32, s: &str, buf: &mut impl BufMut) {
    fast::string::encode(tag, s, buf);
}

/// Writes one map entry: `tag`, length, key (field 1), then the value via `value`.
fn encode_entry<B: BufMut>(
    tag: u32,
    key: &str,
    value_len: usize,
    buf: &mut B,
    value: impl FnOnce(&mut B),
) {
    put_key(tag, WireType::LengthDelimited, buf);
    put_varint((string_field_len(1, key) + value_len) as u64, buf);
    encode_string_field(1, key, buf);
    value(buf);
}

fn map_len<V>(tag: u32, map: &BTreeMap<Str, V>, value_len: impl Fn(&V) -> usize) -> usize {
    map.iter()
        .map(|(k, v)| {
            let len = string_field_len(1, k) + value_len(v);
            key_len(tag) + encoded_len_varint(len as u64) + len
        })
        .sum()
}

/// `map<string, bytes>` (Secret `data`, ConfigMap `binaryData`).
pub mod bytes_map {
    use super::*;

    pub fn encode(tag: u32, map: &BTreeMap<Str, ByteString>, buf: &mut impl BufMut) {
        for (k, v) in map {
            let value_len = byte_string::encoded_len(2, v);
            encode_entry(tag, k, value_len, buf, |buf| byte_string::encode(2, v, buf));
        }
    }

    pub fn merge(
        wire_type: WireType,
        map: &mut BTreeMap<Str, ByteString>,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), DecodeError> {
        de::string_key_map(wire_type, map, buf, ctx, |wt, v, buf, ctx| {
            byte_string::merge(wt, v, buf, ctx)
        })
    }

    pub fn encoded_len(tag: u32, map: &BTreeMap<Str, ByteString>) -> usize {
        map_len(tag, map, |v| byte_string::encoded_len(2, v))
    }
}

/// `map<string, string>` (labels, annotations, selectors).
pub mod string_map {
    use super::*;

    pub fn encode(tag: u32, map: &BTreeMap<Str, Str>, buf: &mut impl BufMut) {
        for (k, v) in map {
            encode_entry(tag, k, string_field_len(2, v), buf, |buf| {
                encode_string_field(2, v, buf)
            });
        }
    }

    pub fn merge(
        wire_type: WireType,
        map: &mut BTreeMap<Str, Str>,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), DecodeError> {
        de::string_key_map(wire_type, map, buf, ctx, |wt, v, buf, ctx| {
            de::string(wt, v, buf, ctx)
        })
    }

    pub fn encoded_len(tag: u32, map: &BTreeMap<Str, Str>) -> usize {
        map_len(tag, map, |v| string_field_len(2, v))
    }
}

/// `map<string, Message>` (`ResourceList` of `Quantity`, `map<string, Time>`, schema
/// properties). The value is always written, even when it encodes to nothing.
pub mod message_map {
    use super::*;

    pub fn encode<M: prost::Message>(tag: u32, map: &BTreeMap<Str, M>, buf: &mut impl BufMut) {
        for (k, v) in map {
            let value_len = prost::encoding::message::encoded_len(2, v);
            encode_entry(tag, k, value_len, buf, |buf| {
                prost::encoding::message::encode(2, v, buf)
            });
        }
    }

    pub fn merge<M: prost::Message + Default>(
        wire_type: WireType,
        map: &mut BTreeMap<Str, M>,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), DecodeError> {
        de::string_key_map(wire_type, map, buf, ctx, |wt, v, buf, ctx| {
            prost::encoding::message::merge(wt, v, buf, ctx)
        })
    }

    pub fn encoded_len<M: prost::Message>(tag: u32, map: &BTreeMap<Str, M>) -> usize {
        map_len(tag, map, |v| prost::encoding::message::encoded_len(2, v))
    }
}

/// Decoding helpers for generated `merge_field` impls: the same results and errors as
/// their `prost::encoding` namesakes, with fewer steps on the common path.
pub mod de {
    use super::*;
    use prost::encoding::decode_varint;

    fn underflow() -> DecodeError {
        decode_error("buffer underflow")
    }

    /// A length prefix: one byte inline (nearly every string and message here is shorter
    /// than 128 bytes), prost's decoder otherwise.
    #[inline(always)]
    fn decode_len(buf: &mut impl Buf) -> Result<u64, DecodeError> {
        if let Some(&b) = buf.chunk().first()
            && b < 0x80
        {
            buf.advance(1);
            return Ok(u64::from(b));
        }
        decode_varint(buf)
    }

    /// `bytes` as text, or the error prost gives for a string that is not UTF-8.
    ///
    /// Most strings of an API object are ASCII; checking that word by word
    /// (`<[u8]>::is_ascii`) costs a fraction of the general UTF-8 validation, which is
    /// kept for everything else.
    #[inline(always)]
    pub fn utf8(bytes: &[u8]) -> Result<&str, DecodeError> {
        if bytes.is_ascii() {
            // SAFETY: every ASCII byte sequence is valid UTF-8 (ASCII is the one-byte
            // subset of UTF-8), so the check `from_utf8` would make has been made.
            return Ok(unsafe { std::str::from_utf8_unchecked(bytes) });
        }
        std::str::from_utf8(bytes)
            .map_err(|_| decode_error("invalid string value: data is not UTF-8 encoded"))
    }

    /// A `string` field. Text of up to 24 bytes (most names, keys and values of an API
    /// object) is copied into the [`Str`] itself; longer text into one allocation of its
    /// exact size.
    #[inline]
    pub fn string(
        wire_type: WireType,
        value: &mut Str,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), DecodeError> {
        check_wire_type(WireType::LengthDelimited, wire_type)?;
        let len = decode_len(buf)?;
        if len > buf.remaining() as u64 {
            return Err(underflow());
        }
        let len = len as usize;
        let chunk = buf.chunk();
        if chunk.len() < len {
            // Not contiguous (a chained `Buf`): prost's way.
            let mut v = Vec::with_capacity(len);
            v.put(buf.take(len));
            return match String::from_utf8(v) {
                Ok(s) => {
                    *value = Str::from(s);
                    Ok(())
                }
                Err(_) => {
                    // Same error as prost's.
                    let _ = ctx;
                    Err(decode_error(
                        "invalid string value: data is not UTF-8 encoded",
                    ))
                }
            };
        }
        *value = Str::new(utf8(&chunk[..len])?);
        buf.advance(len);
        Ok(())
    }

    /// How many occurrences of the length-delimited field `tag` start at `bytes`, which
    /// holds the first occurrence's length and body (its key was just read): canonical
    /// encoders write a repeated field's occurrences back to back, so a vector can be
    /// sized once instead of growing. Stops at the first other key or malformed length
    /// (the decoder proper reports errors); at least 1.
    fn run_length(tag: u32, mut bytes: &[u8]) -> usize {
        let key = u64::from(tag << 3 | WireType::LengthDelimited as u32);
        let mut count = 0;
        while let Ok(len) = decode_varint(&mut bytes) {
            if len > bytes.len() as u64 {
                break;
            }
            bytes = &bytes[len as usize..];
            count += 1;
            if bytes.is_empty() {
                break;
            }
            // The next key: one byte for tags below 16, else a varint.
            if key < 0x80 {
                if u64::from(bytes[0]) != key {
                    break;
                }
                bytes = &bytes[1..];
            } else {
                match decode_varint(&mut bytes) {
                    Ok(k) if k == key => {}
                    _ => break,
                }
            }
        }
        count.max(1)
    }

    /// Sizes an empty vector for the run of occurrences starting at `buf` (see
    /// [`run_length`]); a vector already holding items grows as usual.
    #[inline]
    fn reserve_run<T>(tag: u32, values: &mut Vec<T>, buf: &impl Buf) {
        if values.capacity() == 0 {
            values.reserve_exact(run_length(tag, buf.chunk()));
        }
    }

    /// A `repeated string` field (one occurrence of field `tag`).
    #[inline]
    pub fn string_repeated(
        tag: u32,
        wire_type: WireType,
        values: &mut Vec<Str>,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), DecodeError> {
        check_wire_type(WireType::LengthDelimited, wire_type)?;
        reserve_run(tag, values, buf);
        let mut v = Str::default();
        string(wire_type, &mut v, buf, ctx)?;
        values.push(v);
        Ok(())
    }

    /// A `repeated Message` field (one occurrence of field `tag`), decoded in place at
    /// the end of the vector rather than built aside and moved in (generated messages
    /// are large); the vector is sized for the whole run on its first occurrence.
    #[inline]
    pub fn message_repeated<M: prost::Message + Default>(
        tag: u32,
        wire_type: WireType,
        values: &mut Vec<M>,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), DecodeError> {
        check_wire_type(WireType::LengthDelimited, wire_type)?;
        reserve_run(tag, values, buf);
        values.push(M::default());
        let Some(last) = values.last_mut() else {
            return Err(decode_error("unreachable: empty after push"));
        };
        let result = prost::encoding::message::merge(wire_type, last, buf, ctx);
        if result.is_err() {
            values.pop();
        }
        result
    }

    /// `map<string, V>`: one entry, its value decoded by `value` (key and value default
    /// to empty when left out, as in prost and Go).
    pub fn string_key_map<V: Default>(
        wire_type: WireType,
        map: &mut BTreeMap<Str, V>,
        buf: &mut impl Buf,
        ctx: DecodeContext,
        value: impl Fn(WireType, &mut V, &mut &[u8], DecodeContext) -> Result<(), DecodeError>,
    ) -> Result<(), DecodeError> {
        check_wire_type(WireType::LengthDelimited, wire_type)?;
        let len = decode_len(buf)?;
        if len > buf.remaining() as u64 {
            return Err(underflow());
        }
        let len = len as usize;
        let mut key = Str::default();
        let mut val = V::default();
        // Entries are small; decode them from a contiguous slice.
        if buf.chunk().len() >= len {
            entry(&buf.chunk()[..len], &mut key, &mut val, ctx, value)?;
            buf.advance(len);
        } else {
            let owned = buf.copy_to_bytes(len);
            entry(&owned, &mut key, &mut val, ctx, value)?;
        }
        map.insert(key, val);
        Ok(())
    }

    fn entry<V>(
        mut buf: &[u8],
        key: &mut Str,
        val: &mut V,
        ctx: DecodeContext,
        value: impl Fn(WireType, &mut V, &mut &[u8], DecodeContext) -> Result<(), DecodeError>,
    ) -> Result<(), DecodeError> {
        while !buf.is_empty() {
            let (tag, wt) = prost::encoding::decode_key(&mut buf)?;
            match tag {
                1 => string(wt, key, &mut buf, ctx.clone())?,
                2 => value(wt, val, &mut buf, ctx.clone())?,
                _ => prost::encoding::skip_field(wt, tag, &mut buf, ctx.clone())?,
            }
        }
        Ok(())
    }
}

/// A varint, written with one `put_slice` (prost's `encode_varint` writes a byte at a
/// time through an out-of-line call; keys and lengths are most of a message's varints).
#[inline(always)]
pub fn put_varint(mut value: u64, buf: &mut impl BufMut) {
    if value < 0x80 {
        buf.put_u8(value as u8);
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
    buf.put_slice(&tmp[..=n]);
}

/// A field key (`tag << 3 | wire type`).
#[inline(always)]
pub fn put_key(tag: u32, wire_type: WireType, buf: &mut impl BufMut) {
    put_varint(u64::from(tag << 3 | wire_type as u32), buf);
}

/// Encoders of the common scalars with [`put_varint`]; the bytes are prost's.
pub mod fast {
    use super::*;

    macro_rules! varint_scalar {
        ($name:ident, $ty:ty, $conv:expr) => {
            pub mod $name {
                use super::*;

                #[inline]
                pub fn encode(tag: u32, value: &$ty, buf: &mut impl BufMut) {
                    put_key(tag, WireType::Varint, buf);
                    put_varint($conv(*value), buf);
                }

                pub fn encode_repeated(tag: u32, values: &[$ty], buf: &mut impl BufMut) {
                    for v in values {
                        encode(tag, v, buf);
                    }
                }
            }
        };
    }

    varint_scalar!(int32, i32, |v: i32| v as u64);
    varint_scalar!(int64, i64, |v: i64| v as u64);
    varint_scalar!(bool, bool, u64::from);

    pub mod double {
        use super::*;

        #[inline]
        pub fn encode(tag: u32, value: &f64, buf: &mut impl BufMut) {
            put_key(tag, WireType::SixtyFourBit, buf);
            buf.put_f64_le(*value);
        }

        pub fn encode_repeated(tag: u32, values: &[f64], buf: &mut impl BufMut) {
            for v in values {
                encode(tag, v, buf);
            }
        }
    }

    pub mod bytes {
        use super::*;

        #[inline]
        pub fn encode(tag: u32, value: &[u8], buf: &mut impl BufMut) {
            put_key(tag, WireType::LengthDelimited, buf);
            put_varint(value.len() as u64, buf);
            buf.put_slice(value);
        }
    }

    pub mod string {
        use super::*;

        #[inline]
        pub fn encode(tag: u32, value: &str, buf: &mut impl BufMut) {
            bytes::encode(tag, value.as_bytes(), buf);
        }

        pub fn encode_repeated(tag: u32, values: &[Str], buf: &mut impl BufMut) {
            for v in values {
                encode(tag, v, buf);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quantity::Quantity;
    use crate::time::Time;
    use proptest::prelude::*;
    use prost::encoding::{encode_key, encode_varint};

    /// A message with the helper-encoded fields, as generated code would write it.
    #[derive(Clone, Debug, Default, PartialEq)]
    struct Holder {
        data: BTreeMap<Str, ByteString>,
        labels: BTreeMap<Str, Str>,
        limits: BTreeMap<Str, Quantity>,
        times: BTreeMap<Str, Time>,
        blob: Option<ByteString>,
        blobs: Vec<ByteString>,
    }

    impl prost::Message for Holder {
        fn encode_raw(&self, buf: &mut impl BufMut) {
            bytes_map::encode(1, &self.data, buf);
            string_map::encode(2, &self.labels, buf);
            message_map::encode(3, &self.limits, buf);
            message_map::encode(4, &self.times, buf);
            if let Some(b) = &self.blob {
                byte_string::encode(5, b, buf);
            }
            byte_string::encode_repeated(6, &self.blobs, buf);
        }

        fn merge_field(
            &mut self,
            tag: u32,
            wire_type: WireType,
            buf: &mut impl Buf,
            ctx: DecodeContext,
        ) -> Result<(), DecodeError> {
            match tag {
                1 => bytes_map::merge(wire_type, &mut self.data, buf, ctx),
                2 => string_map::merge(wire_type, &mut self.labels, buf, ctx),
                3 => message_map::merge(wire_type, &mut self.limits, buf, ctx),
                4 => message_map::merge(wire_type, &mut self.times, buf, ctx),
                5 => byte_string::merge_optional(wire_type, &mut self.blob, buf, ctx),
                6 => byte_string::merge_repeated(wire_type, &mut self.blobs, buf, ctx),
                _ => prost::encoding::skip_field(wire_type, tag, buf, ctx),
            }
        }

        fn encoded_len(&self) -> usize {
            bytes_map::encoded_len(1, &self.data)
                + string_map::encoded_len(2, &self.labels)
                + message_map::encoded_len(3, &self.limits)
                + message_map::encoded_len(4, &self.times)
                + self
                    .blob
                    .as_ref()
                    .map_or(0, |b| byte_string::encoded_len(5, b))
                + byte_string::encoded_len_repeated(6, &self.blobs)
        }

        fn clear(&mut self) {
            *self = Holder::default();
        }
    }

    #[test]
    fn go_style_map_entries() {
        use prost::Message;
        let mut h = Holder::default();
        h.data.insert(Str::default(), ByteString::default());
        h.labels.insert("a".into(), Str::default());
        h.times.insert("t".into(), Time::zero());
        // Empty key and value are still written: entry { 1: "", 2: "" }.
        let bytes = h.encode_to_vec();
        assert_eq!(
            bytes,
            vec![
                0x0a, 0x04, 0x0a, 0x00, 0x12, 0x00, // data
                0x12, 0x05, 0x0a, 0x01, b'a', 0x12, 0x00, // labels
                0x22, 0x05, 0x0a, 0x01, b't', 0x12, 0x00, // times (zero Time: empty message)
            ]
        );
        assert_eq!(bytes.len(), h.encoded_len());
        assert_eq!(Holder::decode(bytes.as_slice()).unwrap(), h);
        // A wrong wire type is an error, not a misparse.
        assert!(Holder::decode(&[0x08, 0x01][..]).is_err());
    }

    /// A leaf message, encoded the plain way.
    #[derive(Clone, Debug, Default, PartialEq)]
    struct Leaf {
        name: Str,
        raw: Option<crate::raw::RawExtension>,
    }

    impl rev::RevEncode for Leaf {
        fn encode_rev(&self, w: &mut rev::RevBuf) {
            if let Some(r) = &self.raw {
                rev::message(2, r, w);
            }
            rev::string(1, &self.name, w);
        }
    }

    impl prost::Message for Leaf {
        fn encode_raw(&self, buf: &mut impl BufMut) {
            fast::string::encode(1, &self.name, buf);
            if let Some(r) = &self.raw {
                prost::encoding::message::encode(2, r, buf);
            }
        }

        fn merge_field(
            &mut self,
            tag: u32,
            wire_type: WireType,
            buf: &mut impl Buf,
            ctx: DecodeContext,
        ) -> Result<(), DecodeError> {
            match tag {
                1 => de::string(wire_type, &mut self.name, buf, ctx),
                2 => prost::encoding::message::merge(
                    wire_type,
                    self.raw.get_or_insert_with(Default::default),
                    buf,
                    ctx,
                ),
                _ => prost::encoding::skip_field(wire_type, tag, buf, ctx),
            }
        }

        fn encoded_len(&self) -> usize {
            string_field_len(1, &self.name)
                + self
                    .raw
                    .as_ref()
                    .map_or(0, |r| prost::encoding::message::encoded_len(2, r))
        }

        fn clear(&mut self) {
            *self = Leaf::default();
        }
    }

    /// Nesting of every kind, the way generated code writes it: a message, a repeated
    /// message, a message map, an embedded group (tag 4) around a message, a runtime
    /// leaf type.
    #[derive(Clone, Debug, Default, PartialEq)]
    struct Tree {
        one: Option<Leaf>,
        many: Vec<Leaf>,
        map: BTreeMap<Str, Leaf>,
        grouped: Option<Leaf>,
        quantity: Option<Quantity>,
    }

    impl Tree {
        /// The same bytes front to back, through prost's own nested-message helpers.
        fn reference(&self) -> Vec<u8> {
            use prost::encoding::message;
            let mut buf = Vec::new();
            if let Some(v) = &self.one {
                message::encode(1, v, &mut buf);
            }
            message::encode_repeated(2, &self.many, &mut buf);
            message_map::encode(3, &self.map, &mut buf);
            let group = self
                .grouped
                .as_ref()
                .map_or(0, |v| message::encoded_len(1, v));
            encode_key(4, WireType::LengthDelimited, &mut buf);
            encode_varint(group as u64, &mut buf);
            if let Some(v) = &self.grouped {
                message::encode(1, v, &mut buf);
            }
            if let Some(q) = &self.quantity {
                message::encode(5, q, &mut buf);
            }
            buf
        }
    }

    impl rev::RevEncode for Tree {
        fn encode_rev(&self, w: &mut rev::RevBuf) {
            if let Some(q) = &self.quantity {
                rev::message(5, q, w);
            }
            let end = w.len();
            if let Some(v) = &self.grouped {
                rev::message(1, v, w);
            }
            w.put_header(4, end);
            rev::message_map(3, &self.map, w);
            rev::repeated::message(2, &self.many, w);
            if let Some(v) = &self.one {
                rev::message(1, v, w);
            }
        }
    }

    impl prost::Message for Tree {
        fn encode_raw(&self, buf: &mut impl BufMut) {
            rev::encode_raw(self, buf)
        }

        fn merge_field(
            &mut self,
            tag: u32,
            wire_type: WireType,
            buf: &mut impl Buf,
            ctx: DecodeContext,
        ) -> Result<(), DecodeError> {
            match tag {
                1 => prost::encoding::message::merge(
                    wire_type,
                    self.one.get_or_insert_with(Default::default),
                    buf,
                    ctx,
                ),
                2 => de::message_repeated(2, wire_type, &mut self.many, buf, ctx),
                3 => message_map::merge(wire_type, &mut self.map, buf, ctx),
                4 => {
                    check_wire_type(WireType::LengthDelimited, wire_type)?;
                    let grouped = &mut self.grouped;
                    prost::encoding::merge_loop(grouped, buf, ctx, |g, buf, ctx| {
                        let (tag, wire_type) = prost::encoding::decode_key(buf)?;
                        match tag {
                            1 => prost::encoding::message::merge(
                                wire_type,
                                g.get_or_insert_with(Default::default),
                                buf,
                                ctx,
                            ),
                            _ => prost::encoding::skip_field(wire_type, tag, buf, ctx),
                        }
                    })
                }
                5 => prost::encoding::message::merge(
                    wire_type,
                    self.quantity.get_or_insert_with(Default::default),
                    buf,
                    ctx,
                ),
                _ => prost::encoding::skip_field(wire_type, tag, buf, ctx),
            }
        }

        fn encoded_len(&self) -> usize {
            rev::encoded_len(self)
        }

        fn clear(&mut self) {
            *self = Tree::default();
        }
    }

    fn leaf() -> impl Strategy<Value = Leaf> {
        // Long names push lengths past one varint byte.
        (
            "[a-z]{0,3}|[a-z]{120,300}|\\PC{0,20}",
            proptest::option::of(proptest::collection::vec("[a-z]{0,40}", 0..6)),
        )
            .prop_map(|(name, raw)| Leaf {
                name: name.into(),
                raw: raw.map(|r| crate::raw::RawExtension::new(serde_json::json!(r))),
            })
    }

    proptest! {
        #[test]
        fn prop_fast_scalars_match_prost(
            tag in 1u32..(1 << 20),
            u in any::<u64>(),
            i in any::<i32>(),
            l in any::<i64>(),
            b in any::<bool>(),
            d in any::<f64>(),
            text in ".{0,200}",
        ) {
            use prost::encoding as pe;
            let (mut ours, mut theirs) = (Vec::new(), Vec::new());
            put_varint(u, &mut ours);
            encode_varint(u, &mut theirs);
            put_key(tag, WireType::LengthDelimited, &mut ours);
            encode_key(tag, WireType::LengthDelimited, &mut theirs);
            fast::int32::encode_repeated(tag, &[i, -1, 0], &mut ours);
            pe::int32::encode_repeated(tag, &[i, -1, 0], &mut theirs);
            fast::int64::encode(tag, &l, &mut ours);
            pe::int64::encode(tag, &l, &mut theirs);
            fast::bool::encode(tag, &b, &mut ours);
            pe::bool::encode(tag, &b, &mut theirs);
            fast::double::encode(tag, &d, &mut ours);
            pe::double::encode(tag, &d, &mut theirs);
            fast::string::encode_repeated(tag, &[Str::new(&text), Str::default()], &mut ours);
            pe::string::encode_repeated(tag, &[text.clone(), String::new()], &mut theirs);
            fast::bytes::encode(tag, text.as_bytes(), &mut ours);
            pe::bytes::encode(tag, &text.as_bytes().to_vec(), &mut theirs);
            prop_assert_eq!(ours, theirs);
        }

        #[test]
        fn prop_rev_encode_matches_prost(
            one in proptest::option::of(leaf()),
            many in proptest::collection::vec(leaf(), 0..4),
            map in proptest::collection::btree_map("[a-z]{0,4}", leaf(), 0..4),
            grouped in proptest::option::of(leaf()),
            quantity in proptest::option::of((any::<i64>(), -9i32..12).prop_map(|(v, s)| Quantity::from_scaled(v, s))),
        ) {
            use prost::Message;
            let map = map.into_iter().map(|(k, v)| (k.into(), v)).collect();
            let tree = Tree { one, many, map, grouped, quantity };
            let want = tree.reference();
            prop_assert_eq!(rev::encode_to_vec(&tree), want.clone());
            let mut generic = prost::bytes::BytesMut::new();
            rev::encode_raw(&tree, &mut generic);
            prop_assert_eq!(generic.to_vec(), want.clone());
            prop_assert_eq!(tree.encoded_len(), want.len());
            // And back, through the decoding helpers.
            prop_assert_eq!(Tree::decode(want.as_slice()).unwrap(), tree);
        }

        #[test]
        fn prop_decode_helpers_reject_or_match_prost(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            // Arbitrary bytes: an error or the same value as prost's own string decoder.
            use prost::encoding::string;
            let (mut ours, mut theirs) = (Str::default(), String::new());
            let a = de::string(WireType::LengthDelimited, &mut ours, &mut bytes.as_slice(), DecodeContext::default());
            let b = string::merge(WireType::LengthDelimited, &mut theirs, &mut bytes.as_slice(), DecodeContext::default());
            prop_assert_eq!(a.is_ok(), b.is_ok());
            if a.is_ok() {
                prop_assert_eq!(ours, theirs);
            }
            // Never panics on garbage.
            let _ = <Tree as prost::Message>::decode(bytes.as_slice());
            let _ = <Holder as prost::Message>::decode(bytes.as_slice());
        }
    }

    proptest! {
        #[test]
        fn prop_utf8_matches_std(
            bytes in proptest::collection::vec(any::<u8>(), 0..80),
            text in "[ -~]{0,80}|\\PC{0,40}",
        ) {
            // Arbitrary bytes (mostly not UTF-8), printable ASCII, and any text.
            for b in [bytes.as_slice(), text.as_bytes()] {
                let ours = de::utf8(b).ok();
                prop_assert_eq!(ours, std::str::from_utf8(b).ok());
            }
        }

        #[test]
        fn prop_repeated_run_reserve(
            names in proptest::collection::vec("[a-z]{0,200}", 0..40),
            tag in prop_oneof![Just(2u32), Just(20u32), Just(3000u32)],
        ) {
            // A run of one repeated field (short and long keys, short and long lengths),
            // then another field: decoded whole, with capacity for exactly the run.
            let mut buf = Vec::new();
            for n in &names {
                prost::encoding::string::encode(tag, n, &mut buf);
            }
            prost::encoding::string::encode(tag + 1, &"x".to_string(), &mut buf);
            let mut slice = buf.as_slice();
            let mut got: Vec<Str> = Vec::new();
            let mut first_capacity = None;
            while !slice.is_empty() {
                let (t, wt) = prost::encoding::decode_key(&mut slice).unwrap();
                if t == tag {
                    de::string_repeated(t, wt, &mut got, &mut slice, DecodeContext::default()).unwrap();
                    first_capacity.get_or_insert(got.capacity());
                } else {
                    prost::encoding::skip_field(wt, t, &mut slice, DecodeContext::default()).unwrap();
                }
            }
            prop_assert_eq!(&got, &names);
            if !names.is_empty() {
                prop_assert_eq!(first_capacity, Some(names.len()));
            }
        }
    }

    #[test]
    fn decode_error_has_description() {
        assert!(decode_error("bad thing").to_string().contains("bad thing"));
    }

    fn bytes() -> impl Strategy<Value = ByteString> {
        proptest::collection::vec(any::<u8>(), 0..12).prop_map(ByteString)
    }

    fn quantity() -> impl Strategy<Value = Quantity> {
        (any::<i64>(), -9i32..12).prop_map(|(v, s)| Quantity::from_scaled(v, s))
    }

    proptest! {
        #[test]
        fn prop_round_trip(
            data in proptest::collection::btree_map(".{0,6}", bytes(), 0..4),
            labels in proptest::collection::btree_map(".{0,6}", ".{0,6}", 0..4),
            limits in proptest::collection::btree_map("[a-z./]{0,8}", quantity(), 0..4),
            times in proptest::collection::btree_map("[a-z]{0,4}", any::<i64>().prop_map(|s| Time::from_unix(s, 0)), 0..3),
            blob in proptest::option::of(bytes()),
            blobs in proptest::collection::vec(bytes(), 0..4),
        ) {
            use prost::Message;
            fn keyed<V>(m: BTreeMap<String, V>) -> BTreeMap<Str, V> {
                m.into_iter().map(|(k, v)| (k.into(), v)).collect()
            }
            let labels = labels.into_iter().map(|(k, v)| (k, Str::from(v))).collect();
            let h = Holder {
                data: keyed(data),
                labels: keyed(labels),
                limits: keyed(limits),
                times: keyed(times),
                blob,
                blobs,
            };
            let encoded = h.encode_to_vec();
            prop_assert_eq!(encoded.len(), h.encoded_len());
            prop_assert_eq!(Holder::decode(encoded.as_slice()).unwrap(), h);
        }
    }
}
