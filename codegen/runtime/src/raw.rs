//! Embedded raw JSON: `runtime.RawExtension`, apiextensions `JSON`, meta/v1 `FieldsV1`.
//!
//! Each holds any JSON value and writes it back as is (Go keeps the raw bytes; this keeps
//! the parsed value with its key order, so only number spellings can change: `1.0` is
//! written `1.0`, `1e3` as `1000.0`). Decoded from protobuf, it holds the checked bytes
//! until the value is first used. In protobuf each is `message { bytes raw = 1; }`
//! holding the compact JSON; `null` (Go's nil `Raw`) is an empty message, and an empty
//! or absent `raw` decodes as `null`.

use prost::bytes::{Buf, BufMut};
use prost::encoding::{DecodeContext, WireType};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

macro_rules! raw_json_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        ///
        /// Decoded from protobuf, the JSON is checked (as strictly as parsing it into a
        /// [`Value`]) and kept as its bytes, as Go keeps `Raw`; the [`Value`] is built on
        /// first use. Every other way of making one holds the [`Value`] from the start.
        #[derive(Default)]
        pub struct $name {
            value: std::sync::OnceLock<Value>,
            /// Checked JSON from protobuf, which `value` is built from on first use (the
            /// bytes stay alongside it; a clone keeps only one of the two).
            raw: Option<Box<[u8]>>,
        }

        impl Clone for $name {
            fn clone(&self) -> Self {
                match self.value.get() {
                    Some(value) => $name::new(value.clone()),
                    None => $name {
                        value: std::sync::OnceLock::new(),
                        raw: self.raw.clone(),
                    },
                }
            }
        }

        impl $name {
            pub fn new(value: Value) -> Self {
                $name {
                    value: std::sync::OnceLock::from(value),
                    raw: None,
                }
            }

            /// True for JSON `null` (Go's nil `Raw`).
            pub fn is_null(&self) -> bool {
                self.as_value().is_null()
            }

            pub fn as_value(&self) -> &Value {
                self.value.get_or_init(|| {
                    // `raw` passed `check_json`, which accepts what `from_slice` accepts.
                    self.raw
                        .as_deref()
                        .and_then(|raw| serde_json::from_slice(raw).ok())
                        .unwrap_or(Value::Null)
                })
            }

            pub fn into_value(self) -> Value {
                self.as_value();
                self.value.into_inner().unwrap_or(Value::Null)
            }

            /// The compact JSON bytes protobuf carries; empty for `null`.
            pub fn to_raw(&self) -> Vec<u8> {
                let value = self.as_value();
                if value.is_null() {
                    return Vec::new();
                }
                serde_json::to_vec(value).unwrap_or_default()
            }

            /// Parses raw JSON bytes; empty bytes are `null`.
            pub fn from_raw(raw: &[u8]) -> Result<Self, serde_json::Error> {
                if raw.is_empty() {
                    return Ok($name::new(Value::Null));
                }
                serde_json::from_slice(raw).map($name::new)
            }

            /// [`Self::from_raw`], keeping the checked bytes instead of parsing them.
            fn from_checked_raw(raw: &[u8]) -> Result<Self, serde_json::Error> {
                if raw.is_empty() {
                    return Ok($name::new(Value::Null));
                }
                check_json(raw)?;
                Ok($name {
                    value: std::sync::OnceLock::new(),
                    raw: Some(raw.into()),
                })
            }
        }

        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                self.as_value() == other.as_value()
            }
        }

        impl Eq for $name {}

        impl std::hash::Hash for $name {
            fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
                self.as_value().hash(state);
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_tuple(stringify!($name)).field(self.as_value()).finish()
            }
        }

        impl From<Value> for $name {
            fn from(v: Value) -> Self {
                $name::new(v)
            }
        }

        impl From<$name> for Value {
            fn from(v: $name) -> Value {
                v.into_value()
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                self.as_value().serialize(serializer)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                Value::deserialize(deserializer).map($name::new)
            }
        }

        impl prost::Message for $name {
            fn encode_raw(&self, buf: &mut impl BufMut) {
                if self.is_null() {
                    return;
                }
                let raw = self.to_raw();
                prost::encoding::bytes::encode(1, &raw, buf);
            }

            fn merge_field(
                &mut self,
                tag: u32,
                wire_type: WireType,
                buf: &mut impl Buf,
                ctx: DecodeContext,
            ) -> Result<(), prost::DecodeError> {
                match tag {
                    1 => {
                        let not_json = |e: serde_json::Error| {
                            crate::proto::decode_error(format!(
                                concat!(stringify!($name), ".raw is not JSON: {}"),
                                e
                            ))
                        };
                        prost::encoding::check_wire_type(WireType::LengthDelimited, wire_type)?;
                        let len = prost::encoding::decode_varint(buf)?;
                        if len > buf.remaining() as u64 {
                            return Err(crate::proto::decode_error("buffer underflow"));
                        }
                        let len = len as usize;
                        if buf.chunk().len() >= len {
                            // Checked where it lies; the bytes are copied once.
                            *self = $name::from_checked_raw(&buf.chunk()[..len]).map_err(not_json)?;
                            buf.advance(len);
                        } else {
                            let raw = buf.copy_to_bytes(len);
                            *self = $name::from_checked_raw(&raw).map_err(not_json)?;
                        }
                        let _ = ctx;
                        Ok(())
                    }
                    _ => prost::encoding::skip_field(wire_type, tag, buf, ctx),
                }
            }

            fn encoded_len(&self) -> usize {
                if self.is_null() {
                    return 0;
                }
                let len = json_len(self.as_value());
                prost::encoding::key_len(1) + prost::encoding::encoded_len_varint(len as u64) + len
            }

            fn clear(&mut self) {
                *self = $name::new(Value::Null);
            }
        }

        impl crate::proto::rev::RevEncode for $name {
            fn encode_rev(&self, w: &mut crate::proto::rev::RevBuf) {
                if self.is_null() {
                    return;
                }
                crate::proto::rev::bytes(1, &self.to_raw(), w);
            }
        }

    };
}

/// Checks that `raw` is one JSON value, accepting exactly what parsing it into a [`Value`]
/// accepts (numbers in range, valid escapes and surrogate pairs, the same depth limit),
/// without building anything: every token goes through `deserialize_any`, which parses
/// numbers and strings in full, unlike `IgnoredAny`'s skipping.
fn check_json(raw: &[u8]) -> Result<(), serde_json::Error> {
    use serde::de::{self, MapAccess, SeqAccess, Visitor};

    struct Checked;

    impl<'de> Deserialize<'de> for Checked {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            deserializer.deserialize_any(CheckVisitor)
        }
    }

    struct CheckVisitor;

    impl<'de> Visitor<'de> for CheckVisitor {
        type Value = Checked;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("any JSON value")
        }
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Checked, E> {
            Ok(Checked)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Checked, E> {
            Ok(Checked)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Checked, E> {
            Ok(Checked)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Checked, E> {
            Ok(Checked)
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Checked, E> {
            Ok(Checked)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Checked, E> {
            Ok(Checked)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Checked, A::Error> {
            while seq.next_element::<Checked>()?.is_some() {}
            Ok(Checked)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Checked, A::Error> {
            while map.next_key::<Checked>()?.is_some() {
                map.next_value::<Checked>()?;
            }
            Ok(Checked)
        }
    }

    serde_json::from_slice::<Checked>(raw).map(|_| ())
}

/// Length of a value's compact JSON, counted without building it.
fn json_len(value: &Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0 += b.len();
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    match serde_json::to_writer(&mut count, value) {
        Ok(()) => count.0,
        Err(_) => 0,
    }
}

raw_json_type!(
    /// `io.k8s.apimachinery.pkg.runtime.RawExtension`: an embedded object as JSON.
    RawExtension
);

raw_json_type!(
    /// `io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSON`: any JSON value
    /// (schema `default`, `example`, `enum` items).
    Json
);

raw_json_type!(
    /// `io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1`: a managed-fields set as JSON
    /// (`{"f:metadata":{"f:labels":{}}}`).
    FieldsV1
);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use prost::Message;
    use serde_json::json;

    #[test]
    fn json_is_kept_in_order() {
        let text = r#"{"z":1,"a":{"k:{\"name\":\"x\"}":{".":{}}},"list":[true,null,"s",-2.5]}"#;
        let v: FieldsV1 = serde_json::from_str(text).unwrap();
        assert_eq!(serde_json::to_string(&v).unwrap(), text);
        let r: RawExtension = serde_json::from_str("null").unwrap();
        assert!(r.is_null());
        assert_eq!(serde_json::to_string(&r).unwrap(), "null");
    }

    #[test]
    fn checked_raw_has_the_parsers_depth_limit() {
        for depth in [100, 127, 128, 129, 300] {
            let text = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
            let eager = FieldsV1::from_raw(text.as_bytes()).is_ok();
            assert_eq!(
                FieldsV1::from_checked_raw(text.as_bytes()).is_ok(),
                eager,
                "{depth}"
            );
        }
        assert!(FieldsV1::from_checked_raw(b"[1e400]").is_err());
        // Keys serde_json's `Value` treats specially only with its `raw_value` or
        // `arbitrary_precision` features: with either on, the check would let through
        // what parsing rejects, and this fails.
        for text in [
            r#"{"$serde_json::private::RawValue":1}"#,
            r#"{"$serde_json::private::Number":"1"}"#,
        ] {
            assert_eq!(
                FieldsV1::from_checked_raw(text.as_bytes()).is_ok(),
                FieldsV1::from_raw(text.as_bytes()).is_ok()
            );
            let kept = FieldsV1::from_checked_raw(text.as_bytes()).unwrap();
            assert!(!kept.is_null(), "{text}");
        }
        assert!(FieldsV1::from_checked_raw(br#"{"\ud800":1}"#).is_err());
        let kept = FieldsV1::from_checked_raw(br#"{"f:a": {".": {}}}"#).unwrap();
        assert_eq!(kept.to_raw(), br#"{"f:a":{".":{}}}"#);
    }

    #[test]
    fn protobuf_bytes() {
        let v = Json::new(json!({"a": [1, "b"]}));
        let mut want = vec![0x0a, 13];
        want.extend_from_slice(br#"{"a":[1,"b"]}"#);
        assert_eq!(v.encode_to_vec(), want);
        assert_eq!(Json::decode(want.as_slice()).unwrap(), v);
        assert!(Json::new(Value::Null).encode_to_vec().is_empty());
        assert_eq!(Json::decode(&[][..]).unwrap(), Json::new(Value::Null));
        assert_eq!(
            Json::decode(&[0x0a, 0x00][..]).unwrap(),
            Json::new(Value::Null)
        );
        assert_eq!(
            RawExtension::decode(&b"\x0a\x04true"[..]).unwrap(),
            RawExtension::new(json!(true))
        );
        assert!(RawExtension::decode(&b"\x0a\x03k8s"[..]).is_err());
    }

    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|i| json!(i)),
            any::<u64>().prop_map(|u| json!(u)),
            (-1e12f64..1e12).prop_map(|f| json!(f)),
            ".{0,12}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                proptest::collection::vec(("[a-z:.]{0,8}", inner), 0..6)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    /// Texts around the edges of what JSON parsing accepts.
    fn json_ish() -> impl Strategy<Value = String> {
        let token = prop_oneof![
            Just("{".to_string()),
            Just("}".to_string()),
            Just("[".to_string()),
            Just("]".to_string()),
            Just(",".to_string()),
            Just(":".to_string()),
            Just("\"a\"".to_string()),
            Just("\"\\ud800\"".to_string()),
            Just("\"\\ud83d\\ude00\"".to_string()),
            Just("\"\\x\"".to_string()),
            Just("1e400".to_string()),
            Just("-0".to_string()),
            Just("01".to_string()),
            Just("1.5".to_string()),
            Just("18446744073709551616".to_string()),
            Just("true".to_string()),
            Just("nul".to_string()),
            Just(" ".to_string()),
            "[ -~]{0,3}",
        ];
        proptest::collection::vec(token, 0..12).prop_map(|t| t.concat())
    }

    proptest! {
        #[test]
        fn prop_checked_raw_accepts_what_parsing_accepts(
            text in prop_oneof![json_ish(), any_json().prop_map(|v| v.to_string())],
            bytes in proptest::collection::vec(any::<u8>(), 0..16),
        ) {
            for raw in [text.as_bytes(), bytes.as_slice()] {
                let eager = FieldsV1::from_raw(raw);
                let lazy = FieldsV1::from_checked_raw(raw);
                prop_assert_eq!(eager.is_ok(), lazy.is_ok(), "{:?}", String::from_utf8_lossy(raw));
                if let (Ok(eager), Ok(lazy)) = (eager, lazy) {
                    prop_assert_eq!(lazy.as_value(), eager.as_value());
                    prop_assert_eq!(lazy.to_raw(), eager.to_raw());
                }
            }
        }

        #[test]
        fn prop_json_round_trip(v in any_json()) {
            let text = serde_json::to_string(&RawExtension::new(v.clone())).unwrap();
            prop_assert_eq!(serde_json::from_str::<RawExtension>(&text).unwrap(), RawExtension::new(v.clone()));
            prop_assert_eq!(serde_json::from_str::<Json>(&text).unwrap(), Json::new(v.clone()));
            prop_assert_eq!(serde_json::from_str::<FieldsV1>(&text).unwrap(), FieldsV1::new(v.clone()));
            // Through a parsed value too (the codec's normalize_value path).
            let value = serde_json::to_value(FieldsV1::new(v.clone())).unwrap();
            prop_assert_eq!(serde_json::from_value::<FieldsV1>(value).unwrap(), FieldsV1::new(v));
        }

        #[test]
        fn prop_proto_round_trip(v in any_json()) {
            let r = RawExtension::new(v.clone());
            let bytes = r.encode_to_vec();
            prop_assert_eq!(bytes.len(), r.encoded_len());
            prop_assert_eq!(RawExtension::decode(bytes.as_slice()).unwrap(), r);
            let f = FieldsV1::new(v.clone());
            prop_assert_eq!(FieldsV1::decode(f.encode_to_vec().as_slice()).unwrap(), f);
            let j = Json::new(v);
            prop_assert_eq!(Json::decode(j.encode_to_vec().as_slice()).unwrap(), j);
        }
    }
}
