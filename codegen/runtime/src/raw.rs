//! Embedded raw JSON: `runtime.RawExtension`, apiextensions `JSON`, meta/v1 `FieldsV1`.
//!
//! Each holds any JSON value and writes it back as is (Go keeps the raw bytes; this keeps
//! the parsed value with its key order, so only number spellings can change: `1.0` is
//! written `1.0`, `1e3` as `1000.0`). In protobuf each is `message { bytes raw = 1; }`
//! holding the compact JSON; `null` (Go's nil `Raw`) is an empty message, and an empty
//! or absent `raw` decodes as `null`.

use prost::bytes::{Buf, BufMut};
use prost::encoding::{DecodeContext, WireType};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

macro_rules! raw_json_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
        pub struct $name(pub Value);

        impl $name {
            pub fn new(value: Value) -> Self {
                $name(value)
            }

            /// True for JSON `null` (Go's nil `Raw`).
            pub fn is_null(&self) -> bool {
                self.0.is_null()
            }

            pub fn as_value(&self) -> &Value {
                &self.0
            }

            pub fn into_value(self) -> Value {
                self.0
            }

            /// The compact JSON bytes protobuf carries; empty for `null`.
            pub fn to_raw(&self) -> Vec<u8> {
                if self.0.is_null() {
                    return Vec::new();
                }
                serde_json::to_vec(&self.0).unwrap_or_default()
            }

            /// Parses raw JSON bytes; empty bytes are `null`.
            pub fn from_raw(raw: &[u8]) -> Result<Self, serde_json::Error> {
                if raw.is_empty() {
                    return Ok($name(Value::Null));
                }
                serde_json::from_slice(raw).map($name)
            }
        }

        impl From<Value> for $name {
            fn from(v: Value) -> Self {
                $name(v)
            }
        }

        impl From<$name> for Value {
            fn from(v: $name) -> Value {
                v.0
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                self.0.serialize(serializer)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                Value::deserialize(deserializer).map($name)
            }
        }

        impl prost::Message for $name {
            fn encode_raw(&self, buf: &mut impl BufMut) {
                if self.0.is_null() {
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
                            // Parsed where it lies, without a copy.
                            *self = $name::from_raw(&buf.chunk()[..len]).map_err(not_json)?;
                            buf.advance(len);
                        } else {
                            let raw = buf.copy_to_bytes(len);
                            *self = $name::from_raw(&raw).map_err(not_json)?;
                        }
                        let _ = ctx;
                        Ok(())
                    }
                    _ => prost::encoding::skip_field(wire_type, tag, buf, ctx),
                }
            }

            fn encoded_len(&self) -> usize {
                if self.0.is_null() {
                    return 0;
                }
                let len = json_len(&self.0);
                prost::encoding::key_len(1) + prost::encoding::encoded_len_varint(len as u64) + len
            }

            fn clear(&mut self) {
                self.0 = Value::Null;
            }
        }

        impl crate::proto::rev::RevEncode for $name {
            fn encode_rev(&self, w: &mut crate::proto::rev::RevBuf) {
                if self.0.is_null() {
                    return;
                }
                crate::proto::rev::bytes(1, &self.to_raw(), w);
            }
        }

    };
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
    fn protobuf_bytes() {
        let v = Json(json!({"a": [1, "b"]}));
        let mut want = vec![0x0a, 13];
        want.extend_from_slice(br#"{"a":[1,"b"]}"#);
        assert_eq!(v.encode_to_vec(), want);
        assert_eq!(Json::decode(want.as_slice()).unwrap(), v);
        assert!(Json(Value::Null).encode_to_vec().is_empty());
        assert_eq!(Json::decode(&[][..]).unwrap(), Json(Value::Null));
        assert_eq!(Json::decode(&[0x0a, 0x00][..]).unwrap(), Json(Value::Null));
        assert_eq!(
            RawExtension::decode(&b"\x0a\x04true"[..]).unwrap(),
            RawExtension(json!(true))
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

    proptest! {
        #[test]
        fn prop_json_round_trip(v in any_json()) {
            let text = serde_json::to_string(&RawExtension(v.clone())).unwrap();
            prop_assert_eq!(serde_json::from_str::<RawExtension>(&text).unwrap(), RawExtension(v.clone()));
            prop_assert_eq!(serde_json::from_str::<Json>(&text).unwrap(), Json(v.clone()));
            prop_assert_eq!(serde_json::from_str::<FieldsV1>(&text).unwrap(), FieldsV1(v.clone()));
            // Through a parsed value too (the codec's normalize_value path).
            let value = serde_json::to_value(FieldsV1(v.clone())).unwrap();
            prop_assert_eq!(serde_json::from_value::<FieldsV1>(value).unwrap(), FieldsV1(v));
        }

        #[test]
        fn prop_proto_round_trip(v in any_json()) {
            let r = RawExtension(v.clone());
            let bytes = r.encode_to_vec();
            prop_assert_eq!(bytes.len(), r.encoded_len());
            prop_assert_eq!(RawExtension::decode(bytes.as_slice()).unwrap(), r);
            let f = FieldsV1(v.clone());
            prop_assert_eq!(FieldsV1::decode(f.encode_to_vec().as_slice()).unwrap(), f);
            let j = Json(v);
            prop_assert_eq!(Json::decode(j.encode_to_vec().as_slice()).unwrap(), j);
        }
    }
}
