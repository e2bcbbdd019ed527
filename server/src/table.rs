//! Server-side tables (`as=Table`) and `PartialObjectMetadata(List)` responses.
//!
//! Kinds without their own printer get kube-apiserver's default columns: Name and
//! Created At. Per-kind columns plug in here as data.

use kiln_runtime::registry::ResourceInfo;
use serde_json::{Map, Value, json};

const NAME_DESCRIPTION: &str = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
const CREATED_DESCRIPTION: &str = "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";

fn column(name: &str, ty: &str, format: &str, description: &str) -> Value {
    json!({"name": name, "type": ty, "format": format, "description": description, "priority": 0})
}

fn default_columns() -> Value {
    json!([
        column("Name", "string", "name", NAME_DESCRIPTION),
        column("Created At", "date", "", CREATED_DESCRIPTION),
    ])
}

fn row(obj: Value, include: Option<&str>) -> Value {
    let name = obj
        .pointer("/metadata/name")
        .cloned()
        .unwrap_or(Value::String(String::new()));
    let created = obj
        .pointer("/metadata/creationTimestamp")
        .cloned()
        .unwrap_or(Value::Null);
    let mut m = Map::new();
    m.insert("cells".into(), json!([name, created]));
    match include.unwrap_or("Metadata") {
        "None" => {}
        "Object" => {
            m.insert("object".into(), obj);
        }
        _ => {
            m.insert("object".into(), partial_object_metadata(&obj, "v1"));
        }
    }
    Value::Object(m)
}

fn table(rows: Vec<Value>, metadata: Value) -> Value {
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": default_columns(),
        "rows": rows,
    })
}

/// A table for one object.
pub fn single(_r: &ResourceInfo, obj: &Value, include: Option<&str>) -> Value {
    let rv = obj
        .pointer("/metadata/resourceVersion")
        .cloned()
        .unwrap_or(Value::String(String::new()));
    table(
        vec![row(obj.clone(), include)],
        json!({"resourceVersion": rv}),
    )
}

/// A table for a list.
pub fn list(_r: &ResourceInfo, items: Vec<Value>, metadata: Value, include: Option<&str>) -> Value {
    let rows = items.into_iter().map(|o| row(o, include)).collect();
    table(rows, metadata)
}

/// `PartialObjectMetadata` of an object.
pub fn partial_object_metadata(obj: &Value, version: &str) -> Value {
    let meta = obj.get("metadata").cloned().unwrap_or_else(|| json!({}));
    json!({"kind": "PartialObjectMetadata", "apiVersion": format!("meta.k8s.io/{version}"), "metadata": meta})
}

/// `PartialObjectMetadataList` of a list.
pub fn partial_object_metadata_list(items: Vec<Value>, metadata: Value, version: &str) -> Value {
    let items: Vec<Value> = items
        .iter()
        .map(|o| partial_object_metadata(o, version))
        .collect();
    json!({"kind": "PartialObjectMetadataList", "apiVersion": format!("meta.k8s.io/{version}"), "metadata": metadata, "items": items})
}
