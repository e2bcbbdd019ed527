//! Type-erased codecs per kind, so the server's one generic request path can decode,
//! normalise and encode any built-in kind without knowing its Rust type.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("{0}")]
    Json(#[from] serde_json::Error),
    #[error("protobuf: {0}")]
    Protobuf(#[from] prost::DecodeError),
    #[error("{0}")]
    Other(String),
}

/// Functions for one kind, instantiated by generated code with that kind's Rust type.
#[derive(Debug)]
pub struct KindCodec {
    /// Decode JSON into the typed form and back: checks every field's type, drops unknown
    /// fields, and orders fields as kube-apiserver writes them.
    pub normalize_json: fn(&[u8]) -> Result<Value, CodecError>,
    /// Same as `normalize_json` for an already parsed value.
    pub normalize_value: fn(Value) -> Result<Value, CodecError>,
    /// Encode to the kind's protobuf message (no `k8s\0` envelope).
    pub to_protobuf: fn(&Value) -> Result<Vec<u8>, CodecError>,
    /// Decode the kind's protobuf message (no envelope) to JSON form.
    pub from_protobuf: fn(&[u8]) -> Result<Value, CodecError>,
}

pub fn normalize_json<T: DeserializeOwned + Serialize>(bytes: &[u8]) -> Result<Value, CodecError> {
    let typed: T = serde_json::from_slice(bytes)?;
    Ok(serde_json::to_value(&typed)?)
}

pub fn normalize_value<T: DeserializeOwned + Serialize>(value: Value) -> Result<Value, CodecError> {
    let typed: T = serde_json::from_value(value)?;
    Ok(serde_json::to_value(&typed)?)
}

pub fn to_protobuf<T: DeserializeOwned + prost::Message>(
    value: &Value,
) -> Result<Vec<u8>, CodecError> {
    let typed: T = T::deserialize(value)?;
    Ok(typed.encode_to_vec())
}

pub fn from_protobuf<T: Serialize + prost::Message + Default>(
    bytes: &[u8],
) -> Result<Value, CodecError> {
    let typed = T::decode(bytes)?;
    Ok(serde_json::to_value(&typed)?)
}
