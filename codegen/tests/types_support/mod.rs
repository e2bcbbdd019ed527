//! Shared helpers of the `types_*` tests: load a release's spec (a minimal v2 → OpenAPI 3
//! conversion of the definitions, independent of the resource loader) and protos.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use kiln_codegen::proto::{self, ProtoSet};
use kiln_codegen::types::{self, TypeDef};
use serde_json::{Map, Value, json};

pub fn schemas_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../schemas")
}

/// Rewrites `#/definitions/X` to `#/components/schemas/X`; a `$ref` with siblings becomes
/// `allOf: [{$ref}]` plus the siblings, as the v3 documents write it.
fn rewrite(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref") {
                let r = r.replace("#/definitions/", "#/components/schemas/");
                if m.len() == 1 {
                    return json!({ "$ref": r });
                }
                let mut out = Map::new();
                out.insert("allOf".into(), json!([{ "$ref": r }]));
                for (k, v) in m {
                    if k != "$ref" {
                        out.insert(k.clone(), rewrite(v));
                    }
                }
                return Value::Object(out);
            }
            Value::Object(m.iter().map(|(k, v)| (k.clone(), rewrite(v))).collect())
        }
        Value::Array(a) => Value::Array(a.iter().map(rewrite).collect()),
        other => other.clone(),
    }
}

pub fn load_spec(release: &str) -> openapiv3::OpenAPI {
    let path = schemas_dir().join(format!("v{release}/swagger.json"));
    let v2: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let defs = rewrite(&v2["definitions"]);
    let doc = json!({
        "openapi": "3.0.0",
        "info": { "title": "Kubernetes", "version": release },
        "paths": {},
        "components": { "schemas": defs },
    });
    serde_json::from_value(doc).unwrap()
}

pub fn load_protos(release: &str) -> ProtoSet {
    proto::load_protos(&schemas_dir().join(format!("v{release}/proto"))).unwrap()
}

pub fn build(release: &str) -> BTreeMap<String, TypeDef> {
    let spec = load_spec(release);
    let protos = load_protos(release);
    match types::build_types(&spec, &protos) {
        Ok(t) => t,
        Err(e) => panic!("{e}"),
    }
}
