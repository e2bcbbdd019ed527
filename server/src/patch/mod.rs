//! Patches: JSON patch (RFC 6902), JSON merge patch (RFC 7386) and strategic merge patch
//! ([`strategic`]), with `fieldValidation` of the patch body and of the patched object.
//!
//! As in kube-apiserver: duplicate keys are looked for in the body (for JSON patches, in
//! the operations themselves), unknown fields in the patched object; with `Strict` they
//! make the patch a 422 (`patch: Invalid value: …: strict decoding error: …`), with `Warn`
//! they come back as warnings.

pub mod strategic;

use serde_json::{Map, Value};

use crate::errors::ApiError;
use crate::field_validation::{self, Directive, StrictErrors};
use crate::negotiate::PatchType;
use crate::schema::{self, Schema};
use crate::validation::FieldError;
use kiln_runtime::registry::ResourceInfo;

/// More operations than this in one JSON patch is refused (413), as kube-apiserver does.
const MAX_JSON_PATCH_OPS: usize = 10_000;

/// A parsed patch, ready to apply to the current object (possibly several times, when a
/// write conflicts and is retried).
#[derive(Debug, Clone)]
pub struct Patch {
    body: Body,
    directive: Directive,
    /// The schema of the patched kind, for unknown fields.
    schema: Option<Schema>,
    /// Duplicate fields found while parsing the body.
    body_errors: StrictErrors,
}

#[derive(Debug, Clone)]
enum Body {
    Json(Vec<Value>),
    Merge(Value),
    Strategic { patch: Value, schema: Schema },
}

fn decode_error(e: serde_json::Error) -> ApiError {
    ApiError::bad_request(format!("error decoding patch: {e}"))
}

/// The 415 for a patch type the endpoint does not serve.
fn unsupported(accepted: &str) -> ApiError {
    ApiError::unsupported_media_type(format!(
        "the body of the request was in an unknown format - accepted media types include: {accepted}"
    ))
}

impl Patch {
    /// Parses a patch body of the given type without field validation (used where the
    /// target has no schema of its own, such as `/scale`); malformed bodies are 400s.
    pub fn parse(kind: PatchType, body: &[u8]) -> Result<Patch, ApiError> {
        Patch::parse_with(kind, body, None, Directive::Ignore)
    }

    /// Parses a patch of an object of resource `r` with the request's `fieldValidation`.
    /// Strategic merge patches need the kind's schema: kinds without one (custom
    /// resources) answer 415, as kube-apiserver does.
    pub fn for_resource(
        kind: PatchType,
        body: &[u8],
        r: &ResourceInfo,
        directive: Directive,
    ) -> Result<Patch, ApiError> {
        Patch::parse_with(kind, body, schema::for_resource(r), directive)
    }

    fn parse_with(
        kind: PatchType,
        body: &[u8],
        schema: Option<Schema>,
        directive: Directive,
    ) -> Result<Patch, ApiError> {
        let idx = schema::release();
        let checks = directive.checks();
        let mut body_errors = StrictErrors::default();
        let parsed = match kind {
            PatchType::Json => {
                let v: Value = if checks {
                    let (v, errs) =
                        field_validation::decode_json_patch(body, idx).map_err(decode_error)?;
                    body_errors = errs;
                    v
                } else {
                    serde_json::from_slice(body).map_err(decode_error)?
                };
                let Value::Array(ops) = v else {
                    return Err(ApiError::bad_request(
                        "json: cannot unmarshal object into Go value of type jsonpatch.Patch",
                    ));
                };
                if ops.len() > MAX_JSON_PATCH_OPS {
                    return Err(ApiError::too_large(format!(
                        "The allowed maximum operations in a JSON patch is {MAX_JSON_PATCH_OPS}, got {}",
                        ops.len()
                    )));
                }
                Body::Json(ops)
            }
            PatchType::Merge => {
                let v: Value = if checks {
                    let (v, errs) =
                        field_validation::decode_json_untyped(body, idx).map_err(decode_error)?;
                    body_errors = errs;
                    v
                } else {
                    serde_json::from_slice(body).map_err(decode_error)?
                };
                if !v.is_object() {
                    return Err(ApiError::bad_request("patch body must be a JSON object"));
                }
                Body::Merge(v)
            }
            PatchType::StrategicMerge => {
                let Some(s) = schema.clone() else {
                    return Err(unsupported(
                        "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
                    ));
                };
                let v: Value = if checks {
                    let (v, errs) = field_validation::decode_json_untyped(body, idx)
                        .map_err(|e| ApiError::bad_request(e.to_string()))?;
                    body_errors = errs;
                    v
                } else {
                    serde_json::from_slice(body)
                        .map_err(|e| ApiError::bad_request(e.to_string()))?
                };
                if !v.is_object() {
                    return Err(ApiError::bad_request(format!(
                        "json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                        json_kind(&v)
                    )));
                }
                Body::Strategic {
                    patch: v,
                    schema: s,
                }
            }
            PatchType::Apply => {
                return Err(unsupported(
                    "application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json (server-side apply is not served yet)",
                ));
            }
        };
        Ok(Patch {
            body: parsed,
            directive,
            schema,
            body_errors,
        })
    }

    /// Applies the patch; a patch that does not apply is a 422.
    pub fn apply(&self, original: &Value) -> Result<Value, ApiError> {
        self.apply_with_warnings(original).map(|(v, _)| v)
    }

    /// Applies the patch and checks the fields of the body and the result: `Strict`
    /// problems are a 422, `Warn` ones come back as warning texts.
    pub fn apply_with_warnings(&self, original: &Value) -> Result<(Value, Vec<String>), ApiError> {
        let patched = match &self.body {
            Body::Merge(p) => merge_patch(original, p),
            Body::Json(ops) => {
                let mut doc = original.clone();
                for op in ops {
                    apply_op(&mut doc, op).map_err(|e| ApiError::new(422, "Invalid", e))?;
                }
                doc
            }
            Body::Strategic { patch, schema } => {
                strategic::apply(schema::release(), schema, original, patch).map_err(
                    |e| match e {
                        strategic::SmpError::BadRequest(m) => ApiError::bad_request(m),
                        strategic::SmpError::Invalid(m) => {
                            let mut e = ApiError::new(422, "Invalid", m);
                            e.details = Some(Box::default());
                            e
                        }
                    },
                )?
            }
        };
        if !self.directive.checks() {
            return Ok((patched, Vec::new()));
        }
        let mut errors = self.body_errors.clone();
        if let Some(s) = &self.schema {
            field_validation::unknown_fields(schema::release(), s, &patched, &mut errors);
        }
        if errors.is_empty() {
            return Ok((patched, Vec::new()));
        }
        match self.directive {
            Directive::Strict => Err(self.invalid(&patched, &errors.summary())),
            _ => Ok((patched, errors.into_messages())),
        }
    }

    /// kube's 422 for a patched object that does not decode:
    /// ` "" is invalid: patch: Invalid value: "<patch or patched object>": <detail>`.
    pub fn invalid(&self, patched: &Value, detail: &str) -> ApiError {
        let shown = match &self.body {
            Body::Strategic { patch, .. } => strategic::go_v(patch),
            _ => crate::gojson::to_vec(&sorted(patched))
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default(),
        };
        ApiError::invalid("", "", "", &[FieldError::invalid("patch", shown, detail)])
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A copy with object keys sorted, as Go encodes its maps.
fn sorted(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .filter_map(|k| m.get(k.as_str()).map(|v| (k.clone(), sorted(v))))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// RFC 7386: objects merge recursively, `null` deletes, everything else replaces.
pub fn merge_patch(target: &Value, patch: &Value) -> Value {
    let Value::Object(p) = patch else {
        return patch.clone();
    };
    let mut out = match target {
        Value::Object(t) => t.clone(),
        _ => Map::new(),
    };
    for (k, v) in p {
        if v.is_null() {
            out.shift_remove(k);
        } else {
            let merged = merge_patch(out.get(k).unwrap_or(&Value::Null), v);
            out.insert(k.clone(), merged);
        }
    }
    Value::Object(out)
}

fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

fn split_pointer(path: &str) -> Result<Vec<String>, String> {
    if path.is_empty() {
        return Ok(Vec::new());
    }
    if !path.starts_with('/') {
        return Err(format!("invalid JSON pointer {path:?}"));
    }
    Ok(path[1..].split('/').map(unescape).collect())
}

fn get_str<'a>(op: &'a Value, key: &str) -> Result<&'a str, String> {
    op.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("missing {key:?} in JSON patch operation"))
}

fn parent<'a>(doc: &'a mut Value, tokens: &[String]) -> Result<&'a mut Value, String> {
    let mut cur = doc;
    for t in tokens {
        cur = match cur {
            Value::Object(m) => m
                .get_mut(t)
                .ok_or_else(|| format!("doc is missing path: {t}"))?,
            Value::Array(a) => {
                let i: usize = t
                    .parse()
                    .map_err(|_| format!("invalid array index {t:?}"))?;
                a.get_mut(i)
                    .ok_or_else(|| format!("array index {i} out of range"))?
            }
            _ => return Err(format!("doc is missing path: {t}")),
        };
    }
    Ok(cur)
}

fn get_at(doc: &Value, tokens: &[String]) -> Result<Value, String> {
    let mut cur = doc;
    for t in tokens {
        cur = match cur {
            Value::Object(m) => m
                .get(t)
                .ok_or_else(|| format!("doc is missing path: /{}", tokens.join("/")))?,
            Value::Array(a) => {
                let i: usize = t
                    .parse()
                    .map_err(|_| format!("invalid array index {t:?}"))?;
                a.get(i)
                    .ok_or_else(|| format!("array index {i} out of range"))?
            }
            _ => return Err(format!("doc is missing path: /{}", tokens.join("/"))),
        };
    }
    Ok(cur.clone())
}

fn add(doc: &mut Value, tokens: &[String], value: Value) -> Result<(), String> {
    let Some((last, head)) = tokens.split_last() else {
        *doc = value;
        return Ok(());
    };
    match parent(doc, head)? {
        Value::Object(m) => {
            m.insert(last.clone(), value);
            Ok(())
        }
        Value::Array(a) => {
            if last == "-" {
                a.push(value);
                return Ok(());
            }
            let i: usize = last
                .parse()
                .map_err(|_| format!("invalid array index {last:?}"))?;
            if i > a.len() {
                return Err(format!("array index {i} out of range"));
            }
            a.insert(i, value);
            Ok(())
        }
        _ => Err(format!("doc is missing path: /{}", tokens.join("/"))),
    }
}

fn remove(doc: &mut Value, tokens: &[String]) -> Result<Value, String> {
    let Some((last, head)) = tokens.split_last() else {
        return Err("cannot remove the whole document".into());
    };
    match parent(doc, head)? {
        Value::Object(m) => m
            .shift_remove(last)
            .ok_or_else(|| format!("unable to remove nonexistent key: {last}: missing value")),
        Value::Array(a) => {
            let i: usize = last
                .parse()
                .map_err(|_| format!("invalid array index {last:?}"))?;
            if i >= a.len() {
                return Err(format!("Unable to remove nonexistent index {i}"));
            }
            Ok(a.remove(i))
        }
        _ => Err(format!("doc is missing path: /{}", tokens.join("/"))),
    }
}

fn apply_op(doc: &mut Value, op: &Value) -> Result<(), String> {
    let kind = get_str(op, "op")?;
    let path = split_pointer(get_str(op, "path")?)?;
    let value = || {
        op.get("value")
            .cloned()
            .ok_or_else(|| format!("missing value for {kind} operation"))
    };
    match kind {
        "add" => add(doc, &path, value()?),
        "remove" => remove(doc, &path).map(|_| ()),
        "replace" => {
            let v = value()?;
            get_at(doc, &path)?;
            if path.is_empty() {
                *doc = v;
                return Ok(());
            }
            let Some((last, head)) = path.split_last() else {
                return Ok(());
            };
            match parent(doc, head)? {
                Value::Object(m) => {
                    m.insert(last.clone(), v);
                }
                Value::Array(a) => {
                    let i: usize = last
                        .parse()
                        .map_err(|_| format!("invalid array index {last:?}"))?;
                    let slot = a
                        .get_mut(i)
                        .ok_or_else(|| format!("array index {i} out of range"))?;
                    *slot = v;
                }
                _ => return Err("replace target is not a container".into()),
            }
            Ok(())
        }
        "move" => {
            let from = split_pointer(get_str(op, "from")?)?;
            let v = remove(doc, &from)?;
            add(doc, &path, v)
        }
        "copy" => {
            let from = split_pointer(get_str(op, "from")?)?;
            let v = get_at(doc, &from)?;
            add(doc, &path, v)
        }
        "test" => {
            let actual = get_at(doc, &path)?;
            if actual != value()? {
                return Err(format!(
                    "testing value /{} failed: test failed",
                    path.join("/")
                ));
            }
            Ok(())
        }
        other => Err(format!("Unexpected kind: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn json_patch(ops: Vec<Value>) -> Patch {
        let body = serde_json::to_vec(&ops).expect("ops");
        Patch::parse(PatchType::Json, &body).expect("parses")
    }

    #[test]
    fn merge_patch_rfc_examples() {
        let cases = [
            (json!({"a":"b"}), json!({"a":"c"}), json!({"a":"c"})),
            (json!({"a":"b"}), json!({"b":"c"}), json!({"a":"b","b":"c"})),
            (json!({"a":"b"}), json!({"a":null}), json!({})),
            (
                json!({"a":"b","b":"c"}),
                json!({"a":null}),
                json!({"b":"c"}),
            ),
            (json!({"a":["b"]}), json!({"a":"c"}), json!({"a":"c"})),
            (json!({"a":"c"}), json!({"a":["b"]}), json!({"a":["b"]})),
            (
                json!({"a":{"b":"c"}}),
                json!({"a":{"b":"d","c":null}}),
                json!({"a":{"b":"d"}}),
            ),
            (json!({"a":[{"b":"c"}]}), json!({"a":[1]}), json!({"a":[1]})),
            (json!({"e":null}), json!({"a":1}), json!({"e":null,"a":1})),
            (json!([1, 2]), json!({"a":"b","c":null}), json!({"a":"b"})),
            (
                json!({}),
                json!({"a":{"bb":{"ccc":null}}}),
                json!({"a":{"bb":{}}}),
            ),
        ];
        for (t, p, want) in cases {
            assert_eq!(merge_patch(&t, &p), want, "{t} + {p}");
        }
    }

    #[test]
    fn json_patch_ops() {
        let doc = json!({"metadata":{"finalizers":["a"]},"data":{"x":"1"},"list":[1,2,3]});
        let p = json_patch(vec![
            json!({"op":"remove","path":"/metadata/finalizers"}),
            json!({"op":"add","path":"/data/y","value":"2"}),
            json!({"op":"replace","path":"/list/0","value":9}),
            json!({"op":"move","from":"/data/x","path":"/data/z"}),
            json!({"op":"copy","from":"/data/y","path":"/data/w"}),
            json!({"op":"add","path":"/list/-","value":4}),
            json!({"op":"test","path":"/data/y","value":"2"}),
            json!({"op":"add","path":"/a~1b","value":true}),
        ]);
        let out = p.apply(&doc).unwrap();
        assert_eq!(
            out,
            json!({"metadata":{},"data":{"y":"2","z":"1","w":"2"},"list":[9,2,3,4],"a/b":true})
        );
        let failing = json_patch(vec![json!({"op":"test","path":"/data/x","value":"nope"})]);
        assert_eq!(failing.apply(&doc).unwrap_err().code, 422);
        let missing = json_patch(vec![json!({"op":"remove","path":"/nope"})]);
        assert_eq!(missing.apply(&doc).unwrap_err().code, 422);
    }

    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            "[a-c]{0,2}".prop_map(Value::String)
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop::collection::btree_map("[a-d]", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect()))
        })
    }

    proptest! {
        // Reference behaviour of RFC 7386: applying a patch twice is the same as once, and
        // the result holds every non-null leaf of the patch.
        #[test]
        fn merge_patch_is_idempotent(t in arb_json(), p in arb_json()) {
            let once = merge_patch(&t, &p);
            let twice = merge_patch(&once, &p);
            prop_assert_eq!(&once, &twice);
            if let Value::Object(pm) = &p {
                for (k, v) in pm {
                    if v.is_null() {
                        prop_assert!(once.get(k).is_none());
                    } else if !v.is_object() {
                        prop_assert_eq!(once.get(k), Some(v));
                    }
                }
            }
        }

        // A JSON patch of `add` ops on fresh keys then `remove` of the same keys is identity.
        #[test]
        fn json_patch_add_remove_identity(keys in prop::collection::btree_set("[e-h]{1,3}", 0..5)) {
            let doc = json!({"a": 1});
            let mut ops: Vec<Value> = keys.iter().map(|k| json!({"op":"add","path":format!("/{k}"),"value":k})).collect();
            ops.extend(keys.iter().map(|k| json!({"op":"remove","path":format!("/{k}")})));
            let out = json_patch(ops).apply(&doc).map_err(|e| TestCaseError::fail(e.message))?;
            prop_assert_eq!(out, doc);
        }
    }
}
