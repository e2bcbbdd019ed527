//! Shared helpers of the `generated_*` tests, which check the emitted crate
//! (`kiln-generated`) against the published spec, real kubectl and an independent
//! protobuf decoder: the release's spec and type model, the kinds of the registry with
//! their codecs, and the check that a JSON value's keys are in Go struct order.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;

use kiln_codegen::types::{self, Shape};
use kiln_runtime::codec::KindCodec;
use serde_json::{Map, Value};

/// The repository root (`codegen/..`).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub struct Spec {
    /// `definitions` of `schemas/v1.NN/swagger.json`, the release kiln-generated was built for.
    pub defs: Map<String, Value>,
    /// Field JSON names per struct definition, in the order the generator emits them
    /// (the type model's order: Go struct order).
    pub field_order: BTreeMap<String, Vec<String>>,
    /// Fields the model gives no protobuf form (TypeMeta's `apiVersion` and `kind`: the
    /// protobuf envelope carries them), per struct definition that has a message.
    pub no_proto: BTreeMap<String, Vec<String>>,
    /// Scalar fields that Go declares `T` without `omitempty` although the spec does not
    /// list them as `required` (`schemas/overlay/go-pointers.json` entries `"value"`, if
    /// that file exists): Go writes them even when zero, like required ones.
    pub go_value_fields: BTreeMap<String, Vec<String>>,
    /// Scalar fields the model says Go holds by value (`T`, with or without `omitempty`,
    /// not `*T`): gogo-protobuf writes them even at their zero value, so a protobuf
    /// decoder sees `""`, `0` or `false` where the JSON has nothing.
    pub go_non_pointer: BTreeMap<String, Vec<String>>,
    /// Definition id → struct-typed fields Go holds by value (written at zero, D37).
    pub go_value_structs: BTreeMap<String, Vec<String>>,
}

/// The spec and type model of the release `kiln_generated` was generated from, loaded once.
pub fn spec() -> &'static Spec {
    static SPEC: OnceLock<Spec> = OnceLock::new();
    SPEC.get_or_init(|| {
        let dir = repo_root()
            .join("schemas")
            .join(format!("v{}", kiln_generated::RELEASE));
        let loaded = kiln_codegen::load::load_spec(&dir.join("swagger.json"))
            .unwrap_or_else(|e| panic!("loading {}: {e}", dir.display()));
        let protos = kiln_codegen::proto::load_protos(&dir.join("proto"))
            .unwrap_or_else(|e| panic!("loading protos: {e}"));
        let model = types::build_types(&loaded.spec, &protos)
            .unwrap_or_else(|e| panic!("building the type model: {e}"));
        let mut field_order = BTreeMap::new();
        let mut no_proto = BTreeMap::new();
        let mut go_non_pointer = BTreeMap::new();
        let mut go_value_structs = BTreeMap::new();
        for (id, t) in model {
            if let Shape::Struct(s) = t.shape {
                let value_structs: Vec<String> = s
                    .fields
                    .iter()
                    .filter(|f| f.go_struct.is_some_and(|g| g.written_at_zero()))
                    .map(|f| f.json_name.clone())
                    .collect();
                if !value_structs.is_empty() {
                    go_value_structs.insert(id.clone(), value_structs);
                }
                let by_value: Vec<String> = s
                    .fields
                    .iter()
                    .filter(|f| f.go.is_some_and(|g| !g.is_pointer()))
                    .map(|f| f.json_name.clone())
                    .collect();
                if !by_value.is_empty() {
                    go_non_pointer.insert(id.clone(), by_value);
                }
                if s.proto.is_some() {
                    let missing: Vec<String> = s
                        .fields
                        .iter()
                        .filter(|f| f.proto.is_none())
                        .map(|f| f.json_name.clone())
                        .collect();
                    if !missing.is_empty() {
                        no_proto.insert(id.clone(), missing);
                    }
                }
                field_order.insert(id, s.fields.into_iter().map(|f| f.json_name).collect());
            }
        }
        let defs = match loaded.v2.get("definitions") {
            Some(Value::Object(m)) => m.clone(),
            _ => panic!("swagger.json has no definitions"),
        };
        let go_value_fields = go_value_fields();
        Spec {
            go_value_fields,
            go_non_pointer,
            go_value_structs,
            defs,
            field_order,
            no_proto,
        }
    })
}

fn go_value_fields() -> BTreeMap<String, Vec<String>> {
    let path = repo_root().join("schemas/overlay/go-pointers.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return BTreeMap::new();
    };
    let doc: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = BTreeMap::new();
    if let Some(Value::Object(defs)) = doc.get("fields") {
        for (def, fields) in defs {
            let names: Vec<String> = fields
                .as_object()
                .into_iter()
                .flatten()
                .filter(|(_, repr)| repr.as_str() == Some("value"))
                .map(|(name, _)| name.clone())
                .collect();
            if !names.is_empty() {
                out.insert(def.clone(), names);
            }
        }
    }
    out
}

/// Whether Go always writes the field (JSON and protobuf), zero or not: listed in the
/// definition's `required`, or a `"value"` entry of the Go representation overlay.
pub fn always_written(def: &str, field: &str) -> bool {
    let spec = spec();
    let required = spec.defs[def]
        .get("required")
        .and_then(Value::as_array)
        .is_some_and(|r| r.iter().any(|f| f.as_str() == Some(field)));
    required
        || spec
            .go_value_fields
            .get(def)
            .is_some_and(|f| f.iter().any(|n| n == field))
}

/// `#/definitions/X` → `X`.
pub fn ref_name(schema: &Value) -> Option<&str> {
    schema.get("$ref")?.as_str()?.strip_prefix("#/definitions/")
}

/// The last dotted component of a definition name (`io.k8s…meta.v1.Time` → `Time`),
/// for the special apimachinery types, which are matched by full name.
pub fn special(def: &str) -> Option<&'static str> {
    Some(match def {
        "io.k8s.apimachinery.pkg.api.resource.Quantity" => "Quantity",
        "io.k8s.apimachinery.pkg.apis.meta.v1.Time" => "Time",
        "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime" => "MicroTime",
        "io.k8s.apimachinery.pkg.util.intstr.IntOrString" => "IntOrString",
        "io.k8s.apimachinery.pkg.runtime.RawExtension" => "RawExtension",
        "io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1" => "FieldsV1",
        "io.k8s.apimachinery.pkg.apis.meta.v1.Patch" => "Patch",
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSON" => "JSON",
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrBool" => {
            "JSONSchemaPropsOrBool"
        }
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrArray" => {
            "JSONSchemaPropsOrArray"
        }
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrStringArray" => {
            "JSONSchemaPropsOrStringArray"
        }
        _ => return None,
    })
}

pub const JSON_SCHEMA_PROPS: &str =
    "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps";

/// One kind the registry can decode: a resource's kind or a subresource's.
#[derive(Debug, Clone)]
pub struct Kind {
    pub definition: &'static str,
    pub api_version: String,
    pub kind: &'static str,
    pub codec: &'static KindCodec,
}

/// Every kind of `kiln_generated::REGISTRY` that has a codec (resources and
/// subresources), once per definition, in registry order.
pub fn kinds() -> Vec<Kind> {
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    let gv = |group: &str, version: &str| {
        if group.is_empty() {
            version.to_string()
        } else {
            format!("{group}/{version}")
        }
    };
    for group in kiln_generated::REGISTRY {
        for version in group.versions {
            for r in version.resources {
                if let Some(codec) = r.codec
                    && seen.insert(r.definition)
                {
                    out.push(Kind {
                        definition: r.definition,
                        api_version: gv(r.group, r.version),
                        kind: r.kind,
                        codec,
                    });
                }
                for s in r.subresources {
                    if let Some(codec) = s.codec
                        && seen.insert(s.definition)
                    {
                        out.push(Kind {
                            definition: s.definition,
                            api_version: gv(s.group, s.version),
                            kind: s.kind,
                            codec,
                        });
                    }
                }
            }
        }
    }
    out
}

/// The codec of a resource kind.
pub fn codec_for(api_version: &str, kind: &str) -> Option<Kind> {
    kinds()
        .into_iter()
        .find(|k| k.api_version == api_version && k.kind == kind)
}

/// Checks that every object in `value` (an instance of definition `def`) has its keys in
/// the generated struct's order (Go struct order), and every map (`additionalProperties`)
/// its keys sorted, as Go's encoding/json writes them. Returns the first violation with
/// its path.
pub fn check_order(value: &Value, def: &str) -> Result<(), String> {
    order_def(value, def, "")
}

fn order_def(value: &Value, def: &str, path: &str) -> Result<(), String> {
    let spec = spec();
    match special(def) {
        Some(
            "JSONSchemaPropsOrBool" | "JSONSchemaPropsOrArray" | "JSONSchemaPropsOrStringArray",
        ) => {
            return match value {
                Value::Object(_) => order_def(value, JSON_SCHEMA_PROPS, path),
                Value::Array(items) => items.iter().enumerate().try_for_each(|(i, v)| {
                    if v.is_object() {
                        order_def(v, JSON_SCHEMA_PROPS, &format!("{path}[{i}]"))
                    } else {
                        Ok(())
                    }
                }),
                _ => Ok(()),
            };
        }
        Some(_) => return Ok(()),
        None => {}
    }
    let Value::Object(obj) = value else {
        return Ok(());
    };
    let order = spec
        .field_order
        .get(def)
        .ok_or_else(|| format!("{path}: {def} is not a struct of the model"))?;
    let mut last: Option<(usize, &str)> = None;
    for key in obj.keys() {
        let Some(i) = order.iter().position(|f| f == key) else {
            return Err(format!("{path}: {key:?} is not a field of {def}"));
        };
        if let Some((j, prev)) = last
            && i <= j
        {
            return Err(format!(
                "{path}: {key:?} comes after {prev:?}, but the struct order of {def} is {order:?}"
            ));
        }
        last = Some((i, key));
    }
    let props = spec.defs[def].get("properties");
    for (key, v) in obj {
        let schema = props
            .and_then(|p| p.get(key))
            .ok_or_else(|| format!("{path}: {key:?} is not a property of {def} in the spec"))?;
        order_schema(v, schema, &format!("{path}.{key}"))?;
    }
    Ok(())
}

fn order_schema(value: &Value, schema: &Value, path: &str) -> Result<(), String> {
    if let Some(def) = ref_name(schema) {
        return order_def(value, def, path);
    }
    match (schema.get("type").and_then(Value::as_str), value) {
        (Some("array"), Value::Array(items)) => {
            for (i, v) in items.iter().enumerate() {
                order_schema(v, &schema["items"], &format!("{path}[{i}]"))?;
            }
            Ok(())
        }
        (Some("object"), Value::Object(map)) if schema.get("additionalProperties").is_some() => {
            let keys: Vec<&String> = map.keys().collect();
            if !keys.is_sorted() {
                return Err(format!("{path}: map keys not sorted: {keys:?}"));
            }
            for (k, v) in map {
                order_schema(
                    v,
                    &schema["additionalProperties"],
                    &format!("{path}[{k:?}]"),
                )?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Where `../shared` is (`KILN_SHARED` overrides), if present.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("KILN_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("../shared"));
    dir.join("acceptance/pbcodec.py").is_file().then_some(dir)
}

/// The acceptance venv's python (`ACCEPTANCE_VENV`, default
/// `$HOME/.cache/acceptance-venv`), if it exists.
pub fn venv_python() -> Option<PathBuf> {
    let venv = std::env::var_os("ACCEPTANCE_VENV")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/acceptance-venv"))
        })?;
    let python = venv.join("bin/python");
    python.is_file().then_some(python)
}

/// Calls `f` with every struct object inside `value` (an instance of definition `def`),
/// children first, with the struct's definition name.
pub fn visit_structs(
    value: &mut Value,
    def: &str,
    f: &mut dyn FnMut(&str, &mut Map<String, Value>),
) {
    match special(def) {
        Some(
            "JSONSchemaPropsOrBool" | "JSONSchemaPropsOrArray" | "JSONSchemaPropsOrStringArray",
        ) => {
            match value {
                Value::Object(_) => visit_structs(value, JSON_SCHEMA_PROPS, f),
                Value::Array(items) => {
                    for v in items.iter_mut().filter(|v| v.is_object()) {
                        visit_structs(v, JSON_SCHEMA_PROPS, f);
                    }
                }
                _ => {}
            }
            return;
        }
        Some(_) => return,
        None => {}
    }
    let Value::Object(obj) = value else {
        return;
    };
    let props = spec().defs[def].get("properties");
    for (key, v) in obj.iter_mut() {
        if let Some(schema) = props.and_then(|p| p.get(key)) {
            visit_schema(v, schema, f);
        }
    }
    f(def, obj);
}

fn visit_schema(
    value: &mut Value,
    schema: &Value,
    f: &mut dyn FnMut(&str, &mut Map<String, Value>),
) {
    if let Some(def) = ref_name(schema) {
        return visit_structs(value, def, f);
    }
    match (schema.get("type").and_then(Value::as_str), value) {
        (Some("array"), Value::Array(items)) => {
            for v in items {
                visit_schema(v, &schema["items"], f);
            }
        }
        (Some("object"), Value::Object(map)) if schema.get("additionalProperties").is_some() => {
            for v in map.values_mut() {
                visit_schema(v, &schema["additionalProperties"], f);
            }
        }
        _ => {}
    }
}

/// `value` without the fields that have no protobuf form (TypeMeta's `apiVersion` and
/// `kind`), i.e. what a protobuf round trip can keep. Panics if the model leaves any
/// other field out of protobuf, so this cannot excuse a real loss.
pub fn without_non_proto_fields(value: &Value, def: &str) -> Value {
    let mut out = value.clone();
    visit_structs(&mut out, def, &mut |d, obj| {
        if let Some(fields) = spec().no_proto.get(d) {
            for field in fields {
                assert!(
                    field == "apiVersion" || field == "kind",
                    "the model gives {d}.{field} no protobuf form"
                );
                obj.shift_remove(field);
            }
        }
    });
    out
}

/// Days since 1970-01-01 → (year, month, day) (H. Hinnant's algorithm).
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Unix seconds → RFC 3339 in UTC, with `micros` six fractional digits when given.
pub fn rfc3339(secs: i64, micros: Option<u32>) -> String {
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    let (hh, mm, ss) = (rem / 3600, rem % 3600 / 60, rem % 60);
    let frac = micros.map(|u| format!(".{u:06}")).unwrap_or_default();
    format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}{frac}Z")
}

/// The struct fields Go holds by value that `value` lacks (paths), anywhere in it.
pub fn missing_value_structs(value: &Value, def: &str) -> Vec<String> {
    let mut missing = Vec::new();
    let mut copy = value.clone();
    visit_structs(&mut copy, def, &mut |d, obj| {
        for f in spec().go_value_structs.get(d).into_iter().flatten() {
            if !obj.contains_key(f) {
                missing.push(format!("{d}.{f}"));
            }
        }
    });
    missing
}

/// `value` without what Go cannot tell from an absent field: scalar fields Go holds by
/// value at their zero value (`""`, `0`, `false`: its protobuf encoding writes them, its
/// JSON encoding with `omitempty` leaves them out), empty or nil (`null`) list or map
/// fields (which protobuf cannot carry), and zero times (`null`, an empty message either
/// way). Pointer fields keep their zero values, which mean something there.
pub fn without_go_empty_values(value: &Value, def: &str) -> Value {
    let mut out = value.clone();
    visit_structs(&mut out, def, &mut |d, obj| {
        let spec = spec();
        let by_value = spec.go_non_pointer.get(d);
        let props = spec.defs[d].get("properties");
        obj.retain(|field, v| {
            let collection = props
                .and_then(|p| p.get(field))
                .and_then(|s| s.get("type"))
                .and_then(Value::as_str)
                .is_some_and(|t| t == "array" || t == "object");
            let empty = match v {
                Value::Array(a) => collection && a.is_empty(),
                Value::Object(m) => collection && m.is_empty(),
                Value::String(s) => s.is_empty(),
                Value::Bool(b) => !*b,
                Value::Number(n) => n.as_f64() == Some(0.0),
                // A nil list or map (no `omitempty`: written as null) is not on the wire,
                // and a zero time is an empty message whether the field was set or not.
                Value::Null => true,
            };
            let scalar = !matches!(v, Value::Array(_) | Value::Object(_) | Value::Null);
            let droppable = if scalar {
                by_value.is_some_and(|f| f.iter().any(|n| n == field))
            } else {
                true
            };
            !(empty && droppable)
        });
    });
    out
}
