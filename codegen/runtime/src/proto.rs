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
use prost::encoding::{
    DecodeContext, WireType, check_wire_type, encode_key, encode_varint, encoded_len_varint,
    key_len,
};

use crate::byte_string::ByteString;

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

fn string_field_len(tag: u32, s: &str) -> usize {
    key_len(tag) + encoded_len_varint(s.len() as u64) + s.len()
}

fn encode_string_field(tag: u32, s: &str, buf: &mut impl BufMut) {
    encode_key(tag, WireType::LengthDelimited, buf);
    encode_varint(s.len() as u64, buf);
    buf.put_slice(s.as_bytes());
}

/// Writes one map entry: `tag`, length, key (field 1), then the value via `value`.
fn encode_entry<B: BufMut>(
    tag: u32,
    key: &str,
    value_len: usize,
    buf: &mut B,
    value: impl FnOnce(&mut B),
) {
    encode_key(tag, WireType::LengthDelimited, buf);
    encode_varint((string_field_len(1, key) + value_len) as u64, buf);
    encode_string_field(1, key, buf);
    value(buf);
}

fn map_len<V>(tag: u32, map: &BTreeMap<String, V>, value_len: impl Fn(&V) -> usize) -> usize {
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

    pub fn encode(tag: u32, map: &BTreeMap<String, ByteString>, buf: &mut impl BufMut) {
        for (k, v) in map {
            let value_len = byte_string::encoded_len(2, v);
            encode_entry(tag, k, value_len, buf, |buf| byte_string::encode(2, v, buf));
        }
    }

    pub fn merge(
        wire_type: WireType,
        map: &mut BTreeMap<String, ByteString>,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), DecodeError> {
        check_wire_type(WireType::LengthDelimited, wire_type)?;
        prost::encoding::btree_map::merge(
            prost::encoding::string::merge,
            byte_string::merge,
            map,
            buf,
            ctx,
        )
    }

    pub fn encoded_len(tag: u32, map: &BTreeMap<String, ByteString>) -> usize {
        map_len(tag, map, |v| byte_string::encoded_len(2, v))
    }
}

/// `map<string, string>` (labels, annotations, selectors).
pub mod string_map {
    use super::*;

    pub fn encode(tag: u32, map: &BTreeMap<String, String>, buf: &mut impl BufMut) {
        for (k, v) in map {
            encode_entry(tag, k, string_field_len(2, v), buf, |buf| {
                encode_string_field(2, v, buf)
            });
        }
    }

    pub fn merge(
        wire_type: WireType,
        map: &mut BTreeMap<String, String>,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), DecodeError> {
        check_wire_type(WireType::LengthDelimited, wire_type)?;
        prost::encoding::btree_map::merge(
            prost::encoding::string::merge,
            prost::encoding::string::merge,
            map,
            buf,
            ctx,
        )
    }

    pub fn encoded_len(tag: u32, map: &BTreeMap<String, String>) -> usize {
        map_len(tag, map, |v| string_field_len(2, v))
    }
}

/// `map<string, Message>` (`ResourceList` of `Quantity`, `map<string, Time>`, schema
/// properties). The value is always written, even when it encodes to nothing.
pub mod message_map {
    use super::*;

    pub fn encode<M: prost::Message>(tag: u32, map: &BTreeMap<String, M>, buf: &mut impl BufMut) {
        for (k, v) in map {
            let value_len = prost::encoding::message::encoded_len(2, v);
            encode_entry(tag, k, value_len, buf, |buf| {
                prost::encoding::message::encode(2, v, buf)
            });
        }
    }

    pub fn merge<M: prost::Message + Default>(
        wire_type: WireType,
        map: &mut BTreeMap<String, M>,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), DecodeError> {
        check_wire_type(WireType::LengthDelimited, wire_type)?;
        prost::encoding::btree_map::merge(
            prost::encoding::string::merge,
            prost::encoding::message::merge,
            map,
            buf,
            ctx,
        )
    }

    pub fn encoded_len<M: prost::Message>(tag: u32, map: &BTreeMap<String, M>) -> usize {
        map_len(tag, map, |v| prost::encoding::message::encoded_len(2, v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quantity::Quantity;
    use crate::time::Time;
    use proptest::prelude::*;

    /// A message with the helper-encoded fields, as generated code would write it.
    #[derive(Clone, Debug, Default, PartialEq)]
    struct Holder {
        data: BTreeMap<String, ByteString>,
        labels: BTreeMap<String, String>,
        limits: BTreeMap<String, Quantity>,
        times: BTreeMap<String, Time>,
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
        h.data.insert(String::new(), ByteString::default());
        h.labels.insert("a".into(), String::new());
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
            let h = Holder { data, labels, limits, times, blob, blobs };
            let encoded = h.encode_to_vec();
            prop_assert_eq!(encoded.len(), h.encoded_len());
            prop_assert_eq!(Holder::decode(encoded.as_slice()).unwrap(), h);
        }
    }
}
