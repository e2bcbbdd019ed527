//! Per-kind strategies for built-in kinds: defaulting (kube's `SetDefaults_*` plus the
//! admission defaults every cluster applies), create-time status and allocation.

pub mod allocator;
pub mod pod;
pub mod service;
pub mod workloads;

use kiln_runtime::registry::ResourceInfo;
use serde_json::{Map, Value};

/// The object map at `key` inside `map`, created (or replaced when not an object) as needed.
pub(crate) fn child<'a>(map: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    let v = map
        .entry(key.to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    if !v.is_object() {
        *v = Value::Object(Map::new());
    }
    match v {
        Value::Object(m) => m,
        _ => unreachable!("just made an object"),
    }
}

/// The object map at `key` when present and an object.
pub(crate) fn child_opt<'a>(
    map: &'a mut Map<String, Value>,
    key: &str,
) -> Option<&'a mut Map<String, Value>> {
    map.get_mut(key).and_then(Value::as_object_mut)
}

/// Sets `key` to `value` when it is absent or null (kube defaults nil / zero values).
pub(crate) fn default(map: &mut Map<String, Value>, key: &str, value: Value) {
    match map.get(key) {
        None | Some(Value::Null) => {
            map.insert(key.to_string(), value);
        }
        Some(Value::String(s)) if s.is_empty() && value.is_string() => {
            map.insert(key.to_string(), value);
        }
        _ => {}
    }
}

/// Re-runs the kind's typed normalisation so defaulted fields land in Go field order.
pub(crate) fn renormalize(r: &ResourceInfo, obj: &mut Value) {
    let v = std::mem::take(obj);
    *obj = match crate::handlers::normalize(r, v.clone()) {
        Ok(n) => n,
        Err(_) => v,
    };
}
