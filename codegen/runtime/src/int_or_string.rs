//! `util/intstr` `IntOrString`: an int32 or a string (`"25%"`, a port name).
//!
//! JSON: a number or a string. Protobuf:
//! `message IntOrString { int64 type = 1; int32 intVal = 2; string strVal = 3; }` with all
//! three fields always written (`type` 0 for an int, 1 for a string), as gogo does.

use std::fmt;

use prost::bytes::{Buf, BufMut};
use prost::encoding::{DecodeContext, WireType};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// `io.k8s.apimachinery.pkg.util.intstr.IntOrString`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum IntOrString {
    Int(i32),
    String(String),
}

impl Default for IntOrString {
    /// Go's zero value: the integer 0.
    fn default() -> IntOrString {
        IntOrString::Int(0)
    }
}

/// A value that is neither an integer nor a percentage, for
/// [`IntOrString::scaled_value`]; messages as in Kubernetes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntOrStringError {
    #[error("invalid value for IntOrString: invalid type: string is not a percentage")]
    NotPercentage,
    #[error(
        "invalid value for IntOrString: invalid value {0:?}: strconv.Atoi: parsing {1:?}: invalid syntax"
    )]
    InvalidPercentage(String, String),
}

impl IntOrString {
    /// Resolves an absolute value or a percentage of `total` (Go's
    /// `GetScaledValueFromIntOrPercent`): `"25%"` of 10 is 3 rounding up, 2 rounding down.
    pub fn scaled_value(&self, total: i64, round_up: bool) -> Result<i64, IntOrStringError> {
        match self {
            IntOrString::Int(v) => Ok(i64::from(*v)),
            IntOrString::String(s) => {
                let digits = s.strip_suffix('%').ok_or(IntOrStringError::NotPercentage)?;
                let percent = parse_go_atoi(digits).ok_or_else(|| {
                    IntOrStringError::InvalidPercentage(s.clone(), digits.to_string())
                })?;
                let exact = percent as f64 * total as f64 / 100.0;
                Ok(if round_up {
                    exact.ceil()
                } else {
                    exact.floor()
                } as i64)
            }
        }
    }
}

/// Go's `strconv.Atoi`: an optional sign and decimal digits within int64.
fn parse_go_atoi(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.strip_prefix('+').unwrap_or(s).parse().ok()
}

impl From<i32> for IntOrString {
    fn from(v: i32) -> IntOrString {
        IntOrString::Int(v)
    }
}

impl From<String> for IntOrString {
    fn from(v: String) -> IntOrString {
        IntOrString::String(v)
    }
}

impl From<&str> for IntOrString {
    fn from(v: &str) -> IntOrString {
        IntOrString::String(v.to_string())
    }
}

impl fmt::Display for IntOrString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IntOrString::Int(v) => write!(f, "{v}"),
            IntOrString::String(s) => f.write_str(s),
        }
    }
}

impl Serialize for IntOrString {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            IntOrString::Int(v) => serializer.serialize_i32(*v),
            IntOrString::String(s) => serializer.serialize_str(s),
        }
    }
}

impl<'de> Deserialize<'de> for IntOrString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;

        impl<'de> Visitor<'de> for V {
            type Value = IntOrString;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an int32 or a string")
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<IntOrString, E> {
                i32::try_from(v).map(IntOrString::Int).map_err(|_| {
                    E::custom(format!(
                        "cannot unmarshal number {v} into Go value of type int32"
                    ))
                })
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<IntOrString, E> {
                i32::try_from(v).map(IntOrString::Int).map_err(|_| {
                    E::custom(format!(
                        "cannot unmarshal number {v} into Go value of type int32"
                    ))
                })
            }

            fn visit_f64<E: de::Error>(self, v: f64) -> Result<IntOrString, E> {
                Err(E::custom(format!(
                    "cannot unmarshal number {v} into Go value of type int32"
                )))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<IntOrString, E> {
                Ok(IntOrString::String(v.to_string()))
            }

            fn visit_string<E: de::Error>(self, v: String) -> Result<IntOrString, E> {
                Ok(IntOrString::String(v))
            }

            /// Go leaves a `null` as the zero value, the integer 0.
            fn visit_unit<E: de::Error>(self) -> Result<IntOrString, E> {
                Ok(IntOrString::Int(0))
            }

            fn visit_none<E: de::Error>(self) -> Result<IntOrString, E> {
                Ok(IntOrString::Int(0))
            }

            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<IntOrString, D::Error> {
                IntOrString::deserialize(d)
            }
        }

        deserializer.deserialize_any(V)
    }
}

const TYPE_INT: i64 = 0;
const TYPE_STRING: i64 = 1;

impl crate::proto::rev::RevEncode for IntOrString {
    fn encode_rev(&self, w: &mut crate::proto::rev::RevBuf) {
        use crate::proto::rev;
        let (ty, int_val, str_val) = match self {
            IntOrString::Int(v) => (TYPE_INT, *v, ""),
            IntOrString::String(s) => (TYPE_STRING, 0, s.as_str()),
        };
        rev::string(3, str_val, w);
        rev::int32(2, &int_val, w);
        rev::int64(1, &ty, w);
    }
}

impl prost::Message for IntOrString {
    fn encode_raw(&self, buf: &mut impl BufMut) {
        let (ty, int_val, str_val) = match self {
            IntOrString::Int(v) => (TYPE_INT, *v, ""),
            IntOrString::String(s) => (TYPE_STRING, 0, s.as_str()),
        };
        prost::encoding::int64::encode(1, &ty, buf);
        prost::encoding::int32::encode(2, &int_val, buf);
        prost::encoding::encode_key(3, WireType::LengthDelimited, buf);
        prost::encoding::encode_varint(str_val.len() as u64, buf);
        buf.put_slice(str_val.as_bytes());
    }

    /// Fields are applied in wire order (gogo writes `type` first): `type` picks the
    /// variant, then `intVal` or `strVal` fills it; the other one is ignored.
    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), prost::DecodeError> {
        match tag {
            1 => {
                let mut ty = 0i64;
                prost::encoding::int64::merge(wire_type, &mut ty, buf, ctx)?;
                match (ty, &*self) {
                    (TYPE_INT, IntOrString::String(_)) => *self = IntOrString::Int(0),
                    (TYPE_STRING, IntOrString::Int(_)) => {
                        *self = IntOrString::String(String::new())
                    }
                    (TYPE_INT | TYPE_STRING, _) => {}
                    _ => {
                        return Err(crate::proto::decode_error(format!(
                            "invalid IntOrString type {ty}"
                        )));
                    }
                }
                Ok(())
            }
            2 => {
                let mut v = 0i32;
                prost::encoding::int32::merge(wire_type, &mut v, buf, ctx)?;
                if let IntOrString::Int(i) = self {
                    *i = v;
                }
                Ok(())
            }
            3 => {
                let mut s = String::new();
                prost::encoding::string::merge(wire_type, &mut s, buf, ctx)?;
                if let IntOrString::String(v) = self {
                    *v = s;
                }
                Ok(())
            }
            _ => prost::encoding::skip_field(wire_type, tag, buf, ctx),
        }
    }

    fn encoded_len(&self) -> usize {
        let (ty, int_val, str_len) = match self {
            IntOrString::Int(v) => (TYPE_INT, *v, 0),
            IntOrString::String(s) => (TYPE_STRING, 0, s.len()),
        };
        prost::encoding::int64::encoded_len(1, &ty)
            + prost::encoding::int32::encoded_len(2, &int_val)
            + prost::encoding::key_len(3)
            + prost::encoding::encoded_len_varint(str_len as u64)
            + str_len
    }

    fn clear(&mut self) {
        *self = IntOrString::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use prost::Message;

    #[test]
    fn json() {
        assert_eq!(
            serde_json::to_string(&IntOrString::Int(8080)).unwrap(),
            "8080"
        );
        assert_eq!(
            serde_json::to_string(&IntOrString::from("25%")).unwrap(),
            r#""25%""#
        );
        assert_eq!(
            serde_json::from_str::<IntOrString>("80").unwrap(),
            IntOrString::Int(80)
        );
        assert_eq!(
            serde_json::from_str::<IntOrString>("-1").unwrap(),
            IntOrString::Int(-1)
        );
        assert_eq!(
            serde_json::from_str::<IntOrString>(r#""http""#).unwrap(),
            IntOrString::from("http")
        );
        assert_eq!(
            serde_json::from_str::<IntOrString>(r#""80""#).unwrap(),
            IntOrString::from("80")
        );
        assert_eq!(
            serde_json::from_str::<IntOrString>("null").unwrap(),
            IntOrString::Int(0)
        );
        for bad in [
            "1.5",
            "1e3",
            "2147483648",
            "-2147483649",
            "true",
            "[]",
            "{}",
        ] {
            assert!(serde_json::from_str::<IntOrString>(bad).is_err(), "{bad}");
        }
        assert_eq!(
            serde_json::from_value::<IntOrString>(serde_json::json!(3)).unwrap(),
            IntOrString::Int(3)
        );
    }

    #[test]
    fn protobuf_bytes() {
        assert_eq!(
            IntOrString::Int(5).encode_to_vec(),
            vec![0x08, 0x00, 0x10, 0x05, 0x1a, 0x00]
        );
        assert_eq!(
            IntOrString::from("x").encode_to_vec(),
            vec![0x08, 0x01, 0x10, 0x00, 0x1a, 0x01, b'x']
        );
        assert_eq!(IntOrString::decode(&[][..]).unwrap(), IntOrString::Int(0));
        assert_eq!(
            IntOrString::decode(&[0x10, 0x07][..]).unwrap(),
            IntOrString::Int(7)
        );
        assert_eq!(
            IntOrString::decode(&[0x08, 0x01, 0x1a, 0x02, b'a', b'b'][..]).unwrap(),
            IntOrString::from("ab")
        );
        assert!(IntOrString::decode(&[0x08, 0x02][..]).is_err());
    }

    #[test]
    fn scaled_values() {
        assert_eq!(IntOrString::from("25%").scaled_value(10, true), Ok(3));
        assert_eq!(IntOrString::from("25%").scaled_value(10, false), Ok(2));
        assert_eq!(IntOrString::Int(4).scaled_value(10, true), Ok(4));
        assert_eq!(IntOrString::from("100%").scaled_value(7, false), Ok(7));
        assert_eq!(
            IntOrString::from("25").scaled_value(10, true),
            Err(IntOrStringError::NotPercentage)
        );
        assert!(IntOrString::from("x%").scaled_value(10, true).is_err());
        assert!(IntOrString::from("%").scaled_value(10, true).is_err());
    }

    fn any_int_or_string() -> impl Strategy<Value = IntOrString> {
        prop_oneof![
            any::<i32>().prop_map(IntOrString::Int),
            ".{0,20}".prop_map(IntOrString::String)
        ]
    }

    proptest! {
        #[test]
        fn prop_json_round_trip(v in any_int_or_string()) {
            let json = serde_json::to_string(&v).unwrap();
            prop_assert_eq!(serde_json::from_str::<IntOrString>(&json).unwrap(), v.clone());
            let value = serde_json::to_value(&v).unwrap();
            prop_assert_eq!(serde_json::from_value::<IntOrString>(value).unwrap(), v);
        }

        #[test]
        fn prop_proto_round_trip(v in any_int_or_string()) {
            let bytes = v.encode_to_vec();
            prop_assert_eq!(bytes.len(), v.encoded_len());
            prop_assert_eq!(IntOrString::decode(bytes.as_slice()).unwrap(), v);
        }
    }
}
