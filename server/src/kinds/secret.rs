//! Secrets: `stringData` folds into `data` (kube does it when converting a v1 Secret, so
//! on every create, update and patch), and `type` defaults to `Opaque`.

use base64::Engine;
use kiln_runtime::registry::ResourceInfo;
use serde_json::{Map, Value, json};

use super::{default, renormalize};
use crate::errors::ApiError;
use crate::strategy::{Strategy, WriteContext};

/// Moves every `stringData` entry into `data` (base64 of its UTF-8 bytes, replacing a
/// `data` entry of the same key) and drops `stringData`; defaults `type`.
pub fn fold_and_default(obj: &mut Map<String, Value>) {
    if let Some(Value::Object(string_data)) = obj.shift_remove("stringData")
        && !string_data.is_empty()
    {
        let data = super::child(obj, "data");
        for (k, v) in string_data {
            let text = v.as_str().unwrap_or_default();
            let encoded = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
            data.insert(k, Value::String(encoded));
        }
    }
    default(obj, "type", json!("Opaque"));
}

pub struct SecretStrategy;
impl Strategy for SecretStrategy {
    fn prepare_for_create(
        &self,
        _cx: &WriteContext<'_>,
        r: &ResourceInfo,
        obj: &mut Value,
    ) -> Result<(), ApiError> {
        if let Value::Object(map) = obj {
            fold_and_default(map);
            renormalize(r, obj);
        }
        Ok(())
    }
    fn prepare_for_update(
        &self,
        _cx: &WriteContext<'_>,
        r: &ResourceInfo,
        new: &mut Value,
        _old: &Value,
    ) -> Result<(), ApiError> {
        if let Value::Object(map) = new {
            fold_and_default(map);
            renormalize(r, new);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn string_data_wins_over_data_and_is_dropped() {
        let mut s = map(
            json!({"data": {"a": "eA==", "b": "eQ=="}, "stringData": {"a": "hunter2", "c": ""}}),
        );
        fold_and_default(&mut s);
        assert_eq!(
            Value::Object(s),
            json!({"data": {"a": "aHVudGVyMg==", "b": "eQ==", "c": ""}, "type": "Opaque"})
        );
    }

    #[test]
    fn type_defaults_only_when_unset() {
        let mut s = map(json!({"type": "kubernetes.io/tls"}));
        fold_and_default(&mut s);
        assert_eq!(s["type"], "kubernetes.io/tls");
        let mut s = map(json!({"type": ""}));
        fold_and_default(&mut s);
        assert_eq!(s["type"], "Opaque");
        assert!(s.get("data").is_none(), "no data invented");
    }
}
