//! Go `[]byte` fields (`format: byte`): standard base64 in JSON, `bytes` in protobuf.
//!
//! JSON decoding follows Go's `encoding/json`: the standard alphabet with `=` padding,
//! `\r` and `\n` ignored, non-zero trailing bits tolerated. `null` decodes as empty.
//! Protobuf helpers for `bytes` fields, repeated fields and `map<string, bytes>` are in
//! [`crate::proto::byte_string`] and [`crate::proto::bytes_map`].

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::{DecodePaddingMode, general_purpose};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// Decoder matching Go's `base64.StdEncoding` (padding required, lax trailing bits).
const GO_STD_DECODER: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
);

/// A Go `[]byte`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct ByteString(pub Vec<u8>);

impl ByteString {
    pub fn new(bytes: impl Into<Vec<u8>>) -> ByteString {
        ByteString(bytes.into())
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The standard, padded base64 JSON carries.
    pub fn to_base64(&self) -> String {
        general_purpose::STANDARD.encode(&self.0)
    }

    /// Decodes base64 as Go's `encoding/json` does for `[]byte`.
    pub fn from_base64(s: &str) -> Result<ByteString, base64::DecodeError> {
        if s.contains(['\r', '\n']) {
            let cleaned: String = s.chars().filter(|c| *c != '\r' && *c != '\n').collect();
            return GO_STD_DECODER.decode(cleaned).map(ByteString);
        }
        GO_STD_DECODER.decode(s).map(ByteString)
    }
}

impl fmt::Debug for ByteString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match std::str::from_utf8(&self.0) {
            Ok(s) => write!(f, "ByteString({s:?})"),
            Err(_) => write!(f, "ByteString({:?})", self.0),
        }
    }
}

impl From<Vec<u8>> for ByteString {
    fn from(v: Vec<u8>) -> ByteString {
        ByteString(v)
    }
}

impl From<&[u8]> for ByteString {
    fn from(v: &[u8]) -> ByteString {
        ByteString(v.to_vec())
    }
}

impl From<&str> for ByteString {
    fn from(v: &str) -> ByteString {
        ByteString(v.as_bytes().to_vec())
    }
}

impl AsRef<[u8]> for ByteString {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Serialize for ByteString {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_base64())
    }
}

impl<'de> Deserialize<'de> for ByteString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;

        impl<'de> Visitor<'de> for V {
            type Value = ByteString;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a base64 string")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<ByteString, E> {
                ByteString::from_base64(v)
                    .map_err(|e| E::custom(format!("illegal base64 data: {e}")))
            }

            fn visit_unit<E: de::Error>(self) -> Result<ByteString, E> {
                Ok(ByteString::default())
            }

            fn visit_none<E: de::Error>(self) -> Result<ByteString, E> {
                Ok(ByteString::default())
            }

            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<ByteString, D::Error> {
                ByteString::deserialize(d)
            }
        }

        deserializer.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn json() {
        let v = ByteString::from("hello");
        assert_eq!(serde_json::to_string(&v).unwrap(), r#""aGVsbG8=""#);
        assert_eq!(
            serde_json::from_str::<ByteString>(r#""aGVsbG8=""#).unwrap(),
            v
        );
        assert_eq!(
            serde_json::from_str::<ByteString>(r#""aGVs\nbG8=""#).unwrap(),
            v
        );
        assert_eq!(
            serde_json::from_str::<ByteString>(r#""""#).unwrap(),
            ByteString::default()
        );
        assert_eq!(
            serde_json::from_str::<ByteString>("null").unwrap(),
            ByteString::default()
        );
        // Go's decoder tolerates non-zero trailing bits ("aGVsbG9=" still means "hello").
        assert_eq!(
            serde_json::from_str::<ByteString>(r#""aGVsbG9=""#).unwrap(),
            v
        );
        for bad in [
            r#""aGVsbG8""#,
            r#""aGVsbG8==""#,
            r#""aGV sbG8=""#,
            r#""aGVsbG8_""#,
            "5",
            "[]",
        ] {
            assert!(serde_json::from_str::<ByteString>(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn prop_json_round_trip(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let v = ByteString(bytes);
            let json = serde_json::to_string(&v).unwrap();
            prop_assert_eq!(serde_json::from_str::<ByteString>(&json).unwrap(), v);
        }
    }
}
