//! The apiextensions `JSONSchemaPropsOr*` unions, generic over the generated
//! `JSONSchemaProps` type `T`.
//!
//! | type | JSON | protobuf |
//! |---|---|---|
//! | [`SchemaOrBool`] | `true`/`false` or a schema | `{ bool allows = 1; JSONSchemaProps schema = 2; }` |
//! | [`SchemaOrArray`] | a schema or an array of schemas | `{ JSONSchemaProps schema = 1; repeated JSONSchemaProps jSONSchemas = 2; }` |
//! | [`SchemaOrStringArray`] | a schema or an array of strings | `{ JSONSchemaProps schema = 1; repeated string property = 2; }` |
//!
//! JSON follows the Go `MarshalJSON`/`UnmarshalJSON` of each type (for example an empty
//! array writes `null`, and a schema in `SchemaOrBool` implies `allows: true`).

use std::fmt;
use std::marker::PhantomData;

use prost::bytes::{Buf, BufMut};
use prost::encoding::{DecodeContext, WireType};
use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// `JSONSchemaPropsOrBool` (`additionalProperties`, `additionalItems`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SchemaOrBool<T> {
    Bool(bool),
    /// A schema; `allows` is true.
    Schema(Box<T>),
}

/// `JSONSchemaPropsOrArray` (`items`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SchemaOrArray<T> {
    Schema(Box<T>),
    /// An array of schemas; an empty one writes `null`, as Go does.
    Array(Vec<T>),
}

/// `JSONSchemaPropsOrStringArray` (`dependencies` values).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SchemaOrStringArray<T> {
    Schema(Box<T>),
    /// An array of property names; an empty one writes `null`, as Go does.
    Strings(Vec<crate::Str>),
}

impl<T> Default for SchemaOrBool<T> {
    /// Go's zero value: `allows: false`, no schema.
    fn default() -> Self {
        SchemaOrBool::Bool(false)
    }
}

impl<T> Default for SchemaOrArray<T> {
    fn default() -> Self {
        SchemaOrArray::Array(Vec::new())
    }
}

impl<T> Default for SchemaOrStringArray<T> {
    fn default() -> Self {
        SchemaOrStringArray::Strings(Vec::new())
    }
}

impl<T> SchemaOrBool<T> {
    /// The Go `Allows` field: true for `true` and for any schema.
    pub fn allows(&self) -> bool {
        match self {
            SchemaOrBool::Bool(b) => *b,
            SchemaOrBool::Schema(_) => true,
        }
    }

    pub fn schema(&self) -> Option<&T> {
        match self {
            SchemaOrBool::Schema(s) => Some(s),
            SchemaOrBool::Bool(_) => None,
        }
    }
}

impl<T> SchemaOrArray<T> {
    /// The single schema, if the value is one.
    pub fn schema(&self) -> Option<&T> {
        match self {
            SchemaOrArray::Schema(s) => Some(s),
            SchemaOrArray::Array(_) => None,
        }
    }

    /// The schemas of an array value (empty for a single schema).
    pub fn schemas(&self) -> &[T] {
        match self {
            SchemaOrArray::Array(v) => v,
            SchemaOrArray::Schema(_) => &[],
        }
    }
}

impl<T> SchemaOrStringArray<T> {
    pub fn schema(&self) -> Option<&T> {
        match self {
            SchemaOrStringArray::Schema(s) => Some(s),
            SchemaOrStringArray::Strings(_) => None,
        }
    }

    /// The property names of an array value (empty for a schema).
    pub fn strings(&self) -> &[crate::Str] {
        match self {
            SchemaOrStringArray::Strings(v) => v,
            SchemaOrStringArray::Schema(_) => &[],
        }
    }
}

// ---------------------------------------------------------------------------------------
// JSON

impl<T: Serialize> Serialize for SchemaOrBool<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            SchemaOrBool::Bool(b) => serializer.serialize_bool(*b),
            SchemaOrBool::Schema(s) => s.serialize(serializer),
        }
    }
}

impl<T: Serialize> Serialize for SchemaOrArray<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            SchemaOrArray::Schema(s) => s.serialize(serializer),
            SchemaOrArray::Array(v) if v.is_empty() => serializer.serialize_none(),
            SchemaOrArray::Array(v) => v.serialize(serializer),
        }
    }
}

impl<T: Serialize> Serialize for SchemaOrStringArray<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            SchemaOrStringArray::Schema(s) => s.serialize(serializer),
            SchemaOrStringArray::Strings(v) if v.is_empty() => serializer.serialize_none(),
            SchemaOrStringArray::Strings(v) => v.serialize(serializer),
        }
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for SchemaOrBool<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);

        impl<'de, T: DeserializeOwned> Visitor<'de> for V<T> {
            type Value = SchemaOrBool<T>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("boolean or JSON schema expected")
            }

            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(SchemaOrBool::Bool(v))
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map))
                    .map(|s| SchemaOrBool::Schema(Box::new(s)))
            }
        }

        deserializer.deserialize_any(V(PhantomData))
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for SchemaOrArray<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);

        impl<'de, T: DeserializeOwned> Visitor<'de> for V<T> {
            type Value = SchemaOrArray<T>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("JSON schema or array of JSON schemas expected")
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map))
                    .map(|s| SchemaOrArray::Schema(Box::new(s)))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                Vec::<T>::deserialize(SeqAccessDeserializer::new(seq)).map(SchemaOrArray::Array)
            }
        }

        deserializer.deserialize_any(V(PhantomData))
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for SchemaOrStringArray<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);

        impl<'de, T: DeserializeOwned> Visitor<'de> for V<T> {
            type Value = SchemaOrStringArray<T>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("JSON schema or array of strings")
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map))
                    .map(|s| SchemaOrStringArray::Schema(Box::new(s)))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                Vec::<crate::Str>::deserialize(SeqAccessDeserializer::new(seq))
                    .map(SchemaOrStringArray::Strings)
            }

            // Go ignores any other JSON value here and keeps the zero value.
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(SchemaOrStringArray::default())
            }

            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(SchemaOrStringArray::default())
            }

            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(SchemaOrStringArray::default())
            }

            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(SchemaOrStringArray::default())
            }

            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(SchemaOrStringArray::default())
            }

            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(SchemaOrStringArray::default())
            }

            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(SchemaOrStringArray::default())
            }
        }

        deserializer.deserialize_any(V(PhantomData))
    }
}

// ---------------------------------------------------------------------------------------
// Protobuf

/// Merges a length-delimited `T` into `slot`, creating it if needed.
fn merge_schema<T: prost::Message + Default>(
    slot: Option<&mut T>,
    wire_type: WireType,
    buf: &mut impl Buf,
    ctx: DecodeContext,
) -> Result<Option<T>, prost::DecodeError> {
    match slot {
        Some(existing) => {
            prost::encoding::message::merge(wire_type, existing, buf, ctx)?;
            Ok(None)
        }
        None => {
            let mut fresh = T::default();
            prost::encoding::message::merge(wire_type, &mut fresh, buf, ctx)?;
            Ok(Some(fresh))
        }
    }
}

impl<T: crate::proto::rev::RevEncode> crate::proto::rev::RevEncode for SchemaOrBool<T> {
    fn encode_rev(&self, w: &mut crate::proto::rev::RevBuf) {
        use crate::proto::rev;
        if let SchemaOrBool::Schema(s) = self {
            rev::message(2, s.as_ref(), w);
        }
        rev::bool(1, &self.allows(), w);
    }
}

impl<T: crate::proto::rev::RevEncode> crate::proto::rev::RevEncode for SchemaOrArray<T> {
    fn encode_rev(&self, w: &mut crate::proto::rev::RevBuf) {
        use crate::proto::rev;
        match self {
            SchemaOrArray::Schema(s) => rev::message(1, s.as_ref(), w),
            SchemaOrArray::Array(v) => rev::repeated::message(2, v, w),
        }
    }
}

impl<T: crate::proto::rev::RevEncode> crate::proto::rev::RevEncode for SchemaOrStringArray<T> {
    fn encode_rev(&self, w: &mut crate::proto::rev::RevBuf) {
        use crate::proto::rev;
        match self {
            SchemaOrStringArray::Schema(s) => rev::message(1, s.as_ref(), w),
            SchemaOrStringArray::Strings(v) => rev::repeated::string(2, v, w),
        }
    }
}

impl<T: prost::Message + Default> prost::Message for SchemaOrBool<T> {
    fn encode_raw(&self, buf: &mut impl BufMut) {
        prost::encoding::bool::encode(1, &self.allows(), buf);
        if let SchemaOrBool::Schema(s) = self {
            prost::encoding::message::encode(2, s.as_ref(), buf);
        }
    }

    /// `allows` only sets a boolean value; a schema wins over it, as it does in Go's JSON.
    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), prost::DecodeError> {
        match tag {
            1 => {
                let mut allows = false;
                prost::encoding::bool::merge(wire_type, &mut allows, buf, ctx)?;
                if let SchemaOrBool::Bool(b) = self {
                    *b = allows;
                }
                Ok(())
            }
            2 => {
                let slot = match self {
                    SchemaOrBool::Schema(s) => Some(s.as_mut()),
                    SchemaOrBool::Bool(_) => None,
                };
                if let Some(fresh) = merge_schema(slot, wire_type, buf, ctx)? {
                    *self = SchemaOrBool::Schema(Box::new(fresh));
                }
                Ok(())
            }
            _ => prost::encoding::skip_field(wire_type, tag, buf, ctx),
        }
    }

    fn encoded_len(&self) -> usize {
        let schema = match self {
            SchemaOrBool::Schema(s) => prost::encoding::message::encoded_len(2, s.as_ref()),
            SchemaOrBool::Bool(_) => 0,
        };
        prost::encoding::bool::encoded_len(1, &self.allows()) + schema
    }

    fn clear(&mut self) {
        *self = SchemaOrBool::default();
    }
}

impl<T: prost::Message + Default> prost::Message for SchemaOrArray<T> {
    fn encode_raw(&self, buf: &mut impl BufMut) {
        match self {
            SchemaOrArray::Schema(s) => prost::encoding::message::encode(1, s.as_ref(), buf),
            SchemaOrArray::Array(v) => prost::encoding::message::encode_repeated(2, v, buf),
        }
    }

    /// A non-empty array wins over a single schema, as it does in Go's JSON.
    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), prost::DecodeError> {
        match tag {
            1 => {
                let slot = match self {
                    SchemaOrArray::Schema(s) => Some(s.as_mut()),
                    SchemaOrArray::Array(v) if v.is_empty() => None,
                    SchemaOrArray::Array(_) => {
                        // Read and drop: the array is what Go's JSON would show.
                        let mut ignored = T::default();
                        return prost::encoding::message::merge(wire_type, &mut ignored, buf, ctx);
                    }
                };
                if let Some(fresh) = merge_schema(slot, wire_type, buf, ctx)? {
                    *self = SchemaOrArray::Schema(Box::new(fresh));
                }
                Ok(())
            }
            2 => {
                let mut item = T::default();
                prost::encoding::message::merge(wire_type, &mut item, buf, ctx)?;
                match self {
                    SchemaOrArray::Array(v) => v.push(item),
                    SchemaOrArray::Schema(_) => *self = SchemaOrArray::Array(vec![item]),
                }
                Ok(())
            }
            _ => prost::encoding::skip_field(wire_type, tag, buf, ctx),
        }
    }

    fn encoded_len(&self) -> usize {
        match self {
            SchemaOrArray::Schema(s) => prost::encoding::message::encoded_len(1, s.as_ref()),
            SchemaOrArray::Array(v) => prost::encoding::message::encoded_len_repeated(2, v),
        }
    }

    fn clear(&mut self) {
        *self = SchemaOrArray::default();
    }
}

impl<T: prost::Message + Default> prost::Message for SchemaOrStringArray<T> {
    fn encode_raw(&self, buf: &mut impl BufMut) {
        match self {
            SchemaOrStringArray::Schema(s) => prost::encoding::message::encode(1, s.as_ref(), buf),
            SchemaOrStringArray::Strings(v) => {
                crate::proto::fast::string::encode_repeated(2, v, buf)
            }
        }
    }

    /// A non-empty string array wins over a schema, as it does in Go's JSON.
    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), prost::DecodeError> {
        match tag {
            1 => {
                let slot = match self {
                    SchemaOrStringArray::Schema(s) => Some(s.as_mut()),
                    SchemaOrStringArray::Strings(v) if v.is_empty() => None,
                    SchemaOrStringArray::Strings(_) => {
                        let mut ignored = T::default();
                        return prost::encoding::message::merge(wire_type, &mut ignored, buf, ctx);
                    }
                };
                if let Some(fresh) = merge_schema(slot, wire_type, buf, ctx)? {
                    *self = SchemaOrStringArray::Schema(Box::new(fresh));
                }
                Ok(())
            }
            2 => {
                let mut s = crate::Str::default();
                crate::proto::de::string(wire_type, &mut s, buf, ctx)?;
                match self {
                    SchemaOrStringArray::Strings(v) => v.push(s),
                    SchemaOrStringArray::Schema(_) => *self = SchemaOrStringArray::Strings(vec![s]),
                }
                Ok(())
            }
            _ => prost::encoding::skip_field(wire_type, tag, buf, ctx),
        }
    }

    fn encoded_len(&self) -> usize {
        match self {
            SchemaOrStringArray::Schema(s) => prost::encoding::message::encoded_len(1, s.as_ref()),
            SchemaOrStringArray::Strings(v) => {
                v.iter().map(|s| crate::proto::string_field_len(2, s)).sum()
            }
        }
    }

    fn clear(&mut self) {
        *self = SchemaOrStringArray::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use prost::Message;

    /// A stand-in for the generated `JSONSchemaProps`, recursive through the unions.
    #[derive(Clone, PartialEq, prost::Message, Serialize, Deserialize)]
    struct Props {
        #[prost(string, optional, tag = "4")]
        #[serde(skip_serializing_if = "Option::is_none")]
        description: Option<String>,
        #[prost(string, optional, tag = "5")]
        #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
        type_: Option<String>,
        #[prost(message, optional, boxed, tag = "20")]
        #[serde(
            rename = "additionalProperties",
            skip_serializing_if = "Option::is_none"
        )]
        additional_properties: Option<Box<SchemaOrBool<Props>>>,
        #[prost(message, optional, boxed, tag = "17")]
        #[serde(skip_serializing_if = "Option::is_none")]
        items: Option<Box<SchemaOrArray<Props>>>,
    }

    fn typed(t: &str) -> Props {
        Props {
            type_: Some(t.to_string()),
            ..Props::default()
        }
    }

    #[test]
    fn schema_or_bool_json() {
        let b: SchemaOrBool<Props> = serde_json::from_str("false").unwrap();
        assert_eq!(b, SchemaOrBool::Bool(false));
        let s: SchemaOrBool<Props> = serde_json::from_str(r#"{"type":"string"}"#).unwrap();
        assert_eq!(s, SchemaOrBool::Schema(Box::new(typed("string"))));
        assert!(s.allows());
        assert_eq!(serde_json::to_string(&s).unwrap(), r#"{"type":"string"}"#);
        assert_eq!(
            serde_json::to_string(&SchemaOrBool::<Props>::Bool(true)).unwrap(),
            "true"
        );
        assert!(serde_json::from_str::<SchemaOrBool<Props>>("[]").is_err());
        assert!(serde_json::from_str::<SchemaOrBool<Props>>("1").is_err());
        assert!(serde_json::from_str::<SchemaOrBool<Props>>(r#"{"type":1}"#).is_err());
    }

    #[test]
    fn schema_or_array_json() {
        let a: SchemaOrArray<Props> =
            serde_json::from_str(r#"[{"type":"string"},{"type":"integer"}]"#).unwrap();
        assert_eq!(
            a,
            SchemaOrArray::Array(vec![typed("string"), typed("integer")])
        );
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            r#"[{"type":"string"},{"type":"integer"}]"#
        );
        let s: SchemaOrArray<Props> = serde_json::from_str(r#"{"type":"string"}"#).unwrap();
        assert_eq!(s.schema(), Some(&typed("string")));
        let empty: SchemaOrArray<Props> = serde_json::from_str("[]").unwrap();
        assert_eq!(serde_json::to_string(&empty).unwrap(), "null");
        assert!(serde_json::from_str::<SchemaOrArray<Props>>("true").is_err());
        assert!(serde_json::from_str::<SchemaOrArray<Props>>(r#""x""#).is_err());
    }

    #[test]
    fn schema_or_string_array_json() {
        let a: SchemaOrStringArray<Props> = serde_json::from_str(r#"["a","b"]"#).unwrap();
        assert_eq!(a.strings(), ["a", "b"]);
        assert_eq!(serde_json::to_string(&a).unwrap(), r#"["a","b"]"#);
        let s: SchemaOrStringArray<Props> = serde_json::from_str(r#"{"type":"object"}"#).unwrap();
        assert_eq!(serde_json::to_string(&s).unwrap(), r#"{"type":"object"}"#);
        let odd: SchemaOrStringArray<Props> = serde_json::from_str("5").unwrap();
        assert_eq!(serde_json::to_string(&odd).unwrap(), "null");
        assert!(serde_json::from_str::<SchemaOrStringArray<Props>>("[1]").is_err());
    }

    #[test]
    fn nested_json() {
        let text = r#"{"type":"object","additionalProperties":{"type":"array","items":{"type":"string"}}}"#;
        let p: Props = serde_json::from_str(text).unwrap();
        assert_eq!(serde_json::to_string(&p).unwrap(), text);
        let back = Props::decode(p.encode_to_vec().as_slice()).unwrap();
        assert_eq!(back, p);
    }

    #[test]
    fn protobuf_bytes() {
        assert_eq!(
            SchemaOrBool::<Props>::Bool(false).encode_to_vec(),
            vec![0x08, 0x00]
        );
        assert_eq!(
            SchemaOrBool::<Props>::Bool(true).encode_to_vec(),
            vec![0x08, 0x01]
        );
        // allows = true, schema = { type = "s" } (field 5)
        let s = SchemaOrBool::Schema(Box::new(typed("s")));
        assert_eq!(
            s.encode_to_vec(),
            vec![0x08, 0x01, 0x12, 0x03, 0x2a, 0x01, b's']
        );
        assert_eq!(
            SchemaOrBool::<Props>::decode(&[0x08, 0x01, 0x12, 0x03, 0x2a, 0x01, b's'][..]).unwrap(),
            s
        );
        let a = SchemaOrArray::Array(vec![typed("a"), Props::default()]);
        assert_eq!(
            a.encode_to_vec(),
            vec![0x12, 0x03, 0x2a, 0x01, b'a', 0x12, 0x00]
        );
        assert_eq!(
            SchemaOrArray::<Props>::decode(a.encode_to_vec().as_slice()).unwrap(),
            a
        );
        let strs = SchemaOrStringArray::<Props>::Strings(vec!["x".into()]);
        assert_eq!(strs.encode_to_vec(), vec![0x12, 0x01, b'x']);
        // A schema followed by array items: the array wins.
        let mixed = [0x0a, 0x03, 0x2a, 0x01, b'a', 0x12, 0x03, 0x2a, 0x01, b'b'];
        assert_eq!(
            SchemaOrArray::<Props>::decode(&mixed[..]).unwrap(),
            SchemaOrArray::Array(vec![typed("b")])
        );
    }

    fn any_props() -> impl Strategy<Value = Props> {
        let leaf = (
            proptest::option::of("[a-z]{0,6}"),
            proptest::option::of("[a-z]{0,6}"),
        )
            .prop_map(|(d, t)| Props {
                description: d,
                type_: t,
                ..Props::default()
            });
        leaf.prop_recursive(3, 16, 3, |inner| {
            (
                inner.clone(),
                proptest::option::of(prop_oneof![
                    any::<bool>().prop_map(SchemaOrBool::Bool),
                    inner
                        .clone()
                        .prop_map(|p| SchemaOrBool::Schema(Box::new(p))),
                ]),
                proptest::option::of(prop_oneof![
                    inner
                        .clone()
                        .prop_map(|p| SchemaOrArray::Schema(Box::new(p))),
                    proptest::collection::vec(inner, 1..3).prop_map(SchemaOrArray::Array),
                ]),
            )
                .prop_map(|(mut p, ap, items)| {
                    p.additional_properties = ap.map(Box::new);
                    p.items = items.map(Box::new);
                    p
                })
        })
    }

    proptest! {
        #[test]
        fn prop_json_round_trip(p in any_props()) {
            let json = serde_json::to_string(&p).unwrap();
            prop_assert_eq!(serde_json::from_str::<Props>(&json).unwrap(), p.clone());
            let strs = SchemaOrStringArray::<Props>::Schema(Box::new(p));
            let json = serde_json::to_string(&strs).unwrap();
            prop_assert_eq!(serde_json::from_str::<SchemaOrStringArray<Props>>(&json).unwrap(), strs);
        }

        #[test]
        fn prop_proto_round_trip(p in any_props(), names in proptest::collection::vec("[a-z]{0,5}", 1..4)) {
            let bytes = p.encode_to_vec();
            prop_assert_eq!(bytes.len(), p.encoded_len());
            prop_assert_eq!(Props::decode(bytes.as_slice()).unwrap(), p.clone());
            let strs = SchemaOrStringArray::<Props>::Strings(names.into_iter().map(Into::into).collect());
            prop_assert_eq!(SchemaOrStringArray::<Props>::decode(strs.encode_to_vec().as_slice()).unwrap(), strs);
            let sch = SchemaOrStringArray::<Props>::Schema(Box::new(p));
            prop_assert_eq!(SchemaOrStringArray::<Props>::decode(sch.encode_to_vec().as_slice()).unwrap(), sch);
        }
    }
}
