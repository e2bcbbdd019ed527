//! The OpenAPI v3 documents kube-apiserver publishes under `/openapi/v3`, derived from a
//! release's OpenAPI v2 document (the generated crate's `OPENAPI_V2`).
//!
//! kube-apiserver serves one v3 document per path group: `api/v1`, `apis/apps/v1`,
//! `apis/apps`, `apis`, `api`, `version`, ... Each holds the paths of that group and the
//! schemas they reach (transitively), in this shape:
//!
//! ```json
//! {"openapi":"3.0.0","info":{…},"paths":{…},"components":{"schemas":{…}}}
//! ```
//!
//! Conversion rules (the same ones the code generator uses to read the v2 spec, so there
//! is one v2 → v3 path in the project):
//! - `#/definitions/X` becomes `#/components/schemas/X`.
//! - A `$ref` with siblings (`description`, `default`) becomes
//!   `{"allOf":[{"$ref":…}], "description":…}`, as kube-openapi writes it; clients such as
//!   `kubectl explain` follow the `allOf`.
//! - Non-body parameters are inlined (v2 documents share them under `#/parameters/`) and
//!   their `type`/`uniqueItems`/`items` move into `schema`.
//! - A `body` parameter becomes `requestBody` with one entry per `consumes` media type.
//! - Responses carry `content` with one entry per `produces` media type.
//! - `consumes`, `produces` and `schemes` are dropped; every `x-kubernetes-*` extension
//!   (`x-kubernetes-action`, `x-kubernetes-group-version-kind` as an object, ...) stays.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

/// Prefix of schema references in a v2 document.
pub const V2_REF_PREFIX: &str = "#/definitions/";
/// Prefix of schema references in a v3 document.
pub const V3_REF_PREFIX: &str = "#/components/schemas/";
const V2_PARAMETER_PREFIX: &str = "#/parameters/";

/// Keys of a v2 parameter that describe its value and move into the v3 `schema`.
const PARAMETER_SCHEMA_KEYS: &[&str] = &[
    "type",
    "format",
    "items",
    "collectionFormat",
    "default",
    "enum",
    "maximum",
    "minimum",
    "maxLength",
    "minLength",
    "pattern",
    "maxItems",
    "minItems",
    "uniqueItems",
];

/// The `/openapi/v3` index key of a v2 path: `api/v1` for `/api/v1/pods`, `apis/apps/v1`
/// for `/apis/apps/v1/deployments`, `apis/apps` for `/apis/apps/`, `apis` for `/apis/`,
/// `logs` for `/logs/{logpath}`, `version` for `/version/`.
pub fn document_key(path: &str) -> String {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match segments.as_slice() {
        ["apis", group, version, ..] => format!("apis/{group}/{version}"),
        ["api", version, ..] => format!("api/{version}"),
        _ => segments
            .iter()
            .filter(|s| !s.starts_with('{'))
            .copied()
            .collect::<Vec<_>>()
            .join("/"),
    }
}

/// The index keys of every v3 document derived from `v2`, sorted.
pub fn document_keys(v2: &Value) -> Vec<String> {
    let mut keys = BTreeSet::new();
    if let Some(paths) = v2.get("paths").and_then(Value::as_object) {
        for path in paths.keys() {
            keys.insert(document_key(path));
        }
    }
    keys.into_iter().collect()
}

/// The v3 document for one index key (`apis/apps/v1`), or `None` when no path of `v2`
/// belongs to it.
pub fn document(v2: &Value, key: &str) -> Option<Value> {
    let paths = v2.get("paths").and_then(Value::as_object)?;
    let mut out_paths = Map::new();
    for (path, item) in paths {
        if document_key(path) == key {
            out_paths.insert(path.clone(), convert_path_item(v2, item));
        }
    }
    if out_paths.is_empty() {
        return None;
    }
    let paths_value = Value::Object(out_paths);
    let mut wanted = BTreeSet::new();
    collect_refs(&paths_value, &mut wanted);
    let definitions = v2.get("definitions").and_then(Value::as_object);
    let mut schemas = Map::new();
    if let Some(definitions) = definitions {
        // Transitive closure over references, then emit in the v2 document's order.
        let mut todo: Vec<String> = wanted.iter().cloned().collect();
        while let Some(name) = todo.pop() {
            if let Some(def) = definitions.get(&name) {
                let mut found = BTreeSet::new();
                collect_v2_refs(def, &mut found);
                for n in found {
                    if wanted.insert(n.clone()) {
                        todo.push(n);
                    }
                }
            }
        }
        for (name, def) in definitions {
            if wanted.contains(name) {
                schemas.insert(name.clone(), convert_schema(def));
            }
        }
    }
    Some(assemble(v2, paths_value, schemas, false))
}

/// Every path and every definition of `v2` in one v3 document (what the code generator
/// reads). Unlike the per-group documents it keeps `securitySchemes` and `security`.
pub fn full_document(v2: &Value) -> Value {
    let mut out_paths = Map::new();
    if let Some(paths) = v2.get("paths").and_then(Value::as_object) {
        for (path, item) in paths {
            out_paths.insert(path.clone(), convert_path_item(v2, item));
        }
    }
    let mut schemas = Map::new();
    if let Some(definitions) = v2.get("definitions").and_then(Value::as_object) {
        for (name, def) in definitions {
            schemas.insert(name.clone(), convert_schema(def));
        }
    }
    assemble(v2, Value::Object(out_paths), schemas, true)
}

fn assemble(v2: &Value, paths: Value, schemas: Map<String, Value>, with_security: bool) -> Value {
    let mut doc = Map::new();
    doc.insert("openapi".into(), Value::String("3.0.0".into()));
    doc.insert(
        "info".into(),
        v2.get("info")
            .cloned()
            .unwrap_or_else(|| Value::Object(Map::new())),
    );
    doc.insert("paths".into(), paths);
    let mut components = Map::new();
    components.insert("schemas".into(), Value::Object(schemas));
    if with_security && let Some(sec) = v2.get("securityDefinitions") {
        components.insert("securitySchemes".into(), sec.clone());
    }
    doc.insert("components".into(), Value::Object(components));
    if with_security && let Some(sec) = v2.get("security") {
        doc.insert("security".into(), sec.clone());
    }
    Value::Object(doc)
}

/// Convert one v2 schema to its v3 form: references renamed, a reference with siblings
/// wrapped in `allOf`. Only schema positions are rewritten (`properties`, `items`,
/// `additionalProperties`, `allOf`/`anyOf`/`oneOf`, `not`); `default`, `example` and
/// `enum` values are copied as they are.
pub fn convert_schema(schema: &Value) -> Value {
    let Value::Object(map) = schema else {
        return schema.clone();
    };
    if let Some(Value::String(reference)) = map.get("$ref") {
        let reference = convert_ref(reference);
        if map.len() == 1 {
            let mut only = Map::new();
            only.insert("$ref".into(), Value::String(reference));
            return Value::Object(only);
        }
        let mut out = Map::new();
        let mut inner = Map::new();
        inner.insert("$ref".into(), Value::String(reference));
        out.insert("allOf".into(), Value::Array(vec![Value::Object(inner)]));
        for (k, v) in map {
            if k != "$ref" {
                out.insert(k.clone(), convert_schema_member(k, v));
            }
        }
        return Value::Object(out);
    }
    let mut out = Map::new();
    for (k, v) in map {
        out.insert(k.clone(), convert_schema_member(k, v));
    }
    Value::Object(out)
}

fn convert_schema_member(key: &str, value: &Value) -> Value {
    match key {
        "properties" | "patternProperties" | "definitions" => match value {
            Value::Object(props) => Value::Object(
                props
                    .iter()
                    .map(|(k, v)| (k.clone(), convert_schema(v)))
                    .collect(),
            ),
            other => other.clone(),
        },
        "items" | "additionalProperties" | "not" => match value {
            Value::Array(items) => Value::Array(items.iter().map(convert_schema).collect()),
            Value::Object(_) => convert_schema(value),
            other => other.clone(),
        },
        "allOf" | "anyOf" | "oneOf" => match value {
            Value::Array(items) => Value::Array(items.iter().map(convert_schema).collect()),
            other => other.clone(),
        },
        _ => value.clone(),
    }
}

fn convert_ref(reference: &str) -> String {
    match reference.strip_prefix(V2_REF_PREFIX) {
        Some(name) => format!("{V3_REF_PREFIX}{name}"),
        None => reference.to_string(),
    }
}

fn convert_path_item(v2: &Value, item: &Value) -> Value {
    let Value::Object(item) = item else {
        return item.clone();
    };
    let mut out = Map::new();
    for (key, value) in item {
        if key == "parameters" {
            let params = value
                .as_array()
                .map(|ps| {
                    ps.iter()
                        .map(|p| resolve_parameter(v2, p))
                        .filter(|p| !is_body(p))
                        .map(convert_parameter)
                        .collect()
                })
                .unwrap_or_default();
            out.insert(key.clone(), Value::Array(params));
        } else if key.starts_with("x-") {
            out.insert(key.clone(), value.clone());
        } else {
            out.insert(key.clone(), convert_operation(v2, value));
        }
    }
    Value::Object(out)
}

fn convert_operation(v2: &Value, op: &Value) -> Value {
    let Value::Object(op) = op else {
        return op.clone();
    };
    let consumes = media_types(op.get("consumes"));
    let produces = media_types(op.get("produces"));
    let mut out = Map::new();
    for (key, value) in op {
        match key.as_str() {
            "consumes" | "produces" | "schemes" => {}
            "parameters" => {
                let params: Vec<&Value> = value
                    .as_array()
                    .map(|ps| ps.iter().map(|p| resolve_parameter(v2, p)).collect())
                    .unwrap_or_default();
                let converted: Vec<Value> = params
                    .iter()
                    .filter(|p| !is_body(p))
                    .map(|p| convert_parameter(p))
                    .collect();
                if !converted.is_empty() {
                    out.insert("parameters".into(), Value::Array(converted));
                }
                if let Some(body) = params.iter().find(|p| is_body(p)) {
                    out.insert("requestBody".into(), request_body(body, &consumes));
                }
            }
            "responses" => {
                let mut responses = Map::new();
                if let Value::Object(rs) = value {
                    for (code, response) in rs {
                        responses.insert(code.clone(), convert_response(response, &produces));
                    }
                }
                out.insert("responses".into(), Value::Object(responses));
            }
            _ => {
                out.insert(key.clone(), value.clone());
            }
        }
    }
    Value::Object(out)
}

fn media_types(value: Option<&Value>) -> Vec<String> {
    let types: Vec<String> = value
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    if types.is_empty() {
        vec!["application/json".to_string()]
    } else {
        types
    }
}

fn resolve_parameter<'a>(v2: &'a Value, param: &'a Value) -> &'a Value {
    if let Some(name) = param
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix(V2_PARAMETER_PREFIX))
        && let Some(shared) = v2.get("parameters").and_then(|ps| ps.get(name))
    {
        return shared;
    }
    param
}

fn is_body(param: &Value) -> bool {
    param.get("in").and_then(Value::as_str) == Some("body")
}

fn convert_parameter(param: &Value) -> Value {
    let Value::Object(param) = param else {
        return param.clone();
    };
    let mut out = Map::new();
    let mut schema = Map::new();
    let mut schema_at = None;
    for (key, value) in param {
        if PARAMETER_SCHEMA_KEYS.contains(&key.as_str()) {
            schema_at.get_or_insert(out.len());
            let value = if key == "items" {
                convert_schema(value)
            } else {
                value.clone()
            };
            schema.insert(key.clone(), value);
        } else if key == "schema" {
            schema_at.get_or_insert(out.len());
            if let Value::Object(s) = convert_schema(value) {
                schema.extend(s);
            }
        } else {
            out.insert(key.clone(), value.clone());
        }
    }
    if !schema.is_empty() {
        let at = schema_at.unwrap_or(out.len());
        out.shift_insert(at, "schema".into(), Value::Object(schema));
    }
    Value::Object(out)
}

fn request_body(body: &Value, consumes: &[String]) -> Value {
    let schema = body
        .get("schema")
        .map(convert_schema)
        .unwrap_or_else(|| Value::Object(Map::new()));
    let mut content = Map::new();
    for media_type in consumes {
        let mut entry = Map::new();
        entry.insert("schema".into(), schema.clone());
        content.insert(media_type.clone(), Value::Object(entry));
    }
    let mut out = Map::new();
    out.insert("content".into(), Value::Object(content));
    if body.get("required").and_then(Value::as_bool) == Some(true) {
        out.insert("required".into(), Value::Bool(true));
    }
    Value::Object(out)
}

fn convert_response(response: &Value, produces: &[String]) -> Value {
    let Value::Object(response) = response else {
        return response.clone();
    };
    let mut out = Map::new();
    if let Some(schema) = response.get("schema") {
        let schema = convert_schema(schema);
        let mut content = Map::new();
        for media_type in produces {
            let mut entry = Map::new();
            entry.insert("schema".into(), schema.clone());
            content.insert(media_type.clone(), Value::Object(entry));
        }
        out.insert("content".into(), Value::Object(content));
    }
    for (key, value) in response {
        if key != "schema" {
            out.insert(key.clone(), value.clone());
        }
    }
    Value::Object(out)
}

/// Names of the schemas a v3 value refers to (`#/components/schemas/NAME`).
fn collect_refs(value: &Value, out: &mut BTreeSet<String>) {
    collect_prefixed_refs(value, V3_REF_PREFIX, out);
}

fn collect_v2_refs(value: &Value, out: &mut BTreeSet<String>) {
    collect_prefixed_refs(value, V2_REF_PREFIX, out);
}

fn collect_prefixed_refs(value: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => {
                        if let Some(name) = r.strip_prefix(prefix) {
                            out.insert(name.to_string());
                        }
                    }
                    _ => collect_prefixed_refs(v, prefix, out),
                }
            }
        }
        Value::Array(items) => {
            for v in items {
                collect_prefixed_refs(v, prefix, out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Value {
        json!({
            "swagger": "2.0",
            "info": {"title": "Kubernetes", "version": "unversioned"},
            "paths": {
                "/apis/apps/v1/namespaces/{namespace}/deployments/{name}": {
                    "parameters": [{"$ref": "#/parameters/pretty"}, {"in": "path", "name": "name", "required": true, "type": "string", "uniqueItems": true}],
                    "patch": {
                        "consumes": ["application/merge-patch+json"],
                        "produces": ["application/json"],
                        "operationId": "patchAppsV1NamespacedDeployment",
                        "parameters": [{"$ref": "#/parameters/body"}, {"in": "query", "name": "fieldValidation", "type": "string", "uniqueItems": true}],
                        "responses": {"200": {"description": "OK", "schema": {"$ref": "#/definitions/D"}}, "401": {"description": "Unauthorized"}},
                        "x-kubernetes-action": "patch",
                        "x-kubernetes-group-version-kind": {"group": "apps", "kind": "Deployment", "version": "v1"}
                    }
                },
                "/apis/apps/": {"get": {"responses": {"200": {"description": "OK"}}}},
                "/logs/{logpath}": {"get": {"responses": {"401": {"description": "Unauthorized"}}}}
            },
            "parameters": {
                "pretty": {"in": "query", "name": "pretty", "type": "string", "uniqueItems": true, "description": "p"},
                "body": {"in": "body", "name": "body", "required": true, "schema": {"$ref": "#/definitions/Patch"}}
            },
            "definitions": {
                "D": {"type": "object", "properties": {"metadata": {"$ref": "#/definitions/M", "description": "meta"}, "items": {"type": "array", "items": {"$ref": "#/definitions/M"}}}},
                "M": {"type": "object"},
                "Patch": {"type": "object"},
                "Unused": {"type": "object"}
            }
        })
    }

    #[test]
    fn keys() {
        assert_eq!(
            document_key("/api/v1/namespaces/{namespace}/pods"),
            "api/v1"
        );
        assert_eq!(document_key("/api/"), "api");
        assert_eq!(document_key("/apis/"), "apis");
        assert_eq!(document_key("/apis/apps/"), "apis/apps");
        assert_eq!(document_key("/apis/apps/v1/"), "apis/apps/v1");
        assert_eq!(document_key("/logs/{logpath}"), "logs");
        assert_eq!(
            document_key("/.well-known/openid-configuration/"),
            ".well-known/openid-configuration"
        );
        assert_eq!(
            document_keys(&sample()),
            vec!["apis/apps", "apis/apps/v1", "logs"]
        );
    }

    #[test]
    fn group_version_document() {
        let doc = document(&sample(), "apis/apps/v1").unwrap();
        let keys: Vec<&String> = doc.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["openapi", "info", "paths", "components"]);
        let item = &doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"];
        assert_eq!(
            item["parameters"][0],
            json!({"in": "query", "name": "pretty", "schema": {"type": "string", "uniqueItems": true}, "description": "p"})
        );
        let patch = &item["patch"];
        assert_eq!(
            patch["x-kubernetes-group-version-kind"]["kind"],
            "Deployment"
        );
        assert_eq!(patch["parameters"][0]["name"], "fieldValidation");
        assert_eq!(
            patch["requestBody"],
            json!({"content": {"application/merge-patch+json": {"schema": {"$ref": "#/components/schemas/Patch"}}}, "required": true})
        );
        assert_eq!(
            patch["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/D"
        );
        assert_eq!(
            patch["responses"]["401"],
            json!({"description": "Unauthorized"})
        );
        assert!(patch.get("consumes").is_none());
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        assert_eq!(schemas.keys().collect::<Vec<_>>(), ["D", "M", "Patch"]);
        assert_eq!(
            schemas["D"]["properties"]["metadata"],
            json!({"allOf": [{"$ref": "#/components/schemas/M"}], "description": "meta"})
        );
        assert_eq!(
            schemas["D"]["properties"]["items"]["items"],
            json!({"$ref": "#/components/schemas/M"})
        );
        assert!(document(&sample(), "apis/batch/v1").is_none());
    }

    #[test]
    fn full_document_keeps_everything() {
        let doc = full_document(&sample());
        assert_eq!(doc["components"]["schemas"].as_object().unwrap().len(), 4);
        assert_eq!(doc["paths"].as_object().unwrap().len(), 3);
    }
}
