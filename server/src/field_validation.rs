//! `fieldValidation=Strict|Warn|Ignore`: unknown and duplicate fields in request bodies.
//!
//! kube-apiserver decodes bodies with a strict decoder that reports, without failing the
//! decode, every field the kind does not declare (`unknown field "spec.foo"`) and every
//! key that appears twice in one object (`duplicate field "spec.paused"`). `Strict` turns
//! them into an error, `Warn` (the server default) into `Warning: 299` headers, `Ignore`
//! drops them silently. Paths join object keys with `.` and list indexes as `[i]`; each
//! message is reported once and at most 100 are kept.
//!
//! JSON bodies are checked while they are parsed (a `DeserializeSeed` that builds the
//! `serde_json::Value` and walks the schema alongside), so problems come out in document
//! order, as kube's decoder reports them. Already-parsed values (YAML bodies, patched
//! objects) are checked by [`unknown_fields`], which visits object keys in sorted order:
//! kube reaches those through a Go map, whose JSON encoding sorts keys.

use std::cell::RefCell;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::errors::ApiError;
use crate::schema::{Schema, SchemaIndex, Shape};
use crate::validation::{FieldError, go_quote};

/// kube's strict decoder stops collecting after this many problems.
const MAX_STRICT_ERRORS: usize = 100;

/// The `fieldValidation` directive of a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Directive {
    Ignore,
    Warn,
    Strict,
}

impl Directive {
    /// Reads the `fieldValidation` query parameter. Empty or absent is `Warn`, the server's
    /// default; anything else but the three values is a 422 on the request's options kind
    /// (`CreateOptions`, `UpdateOptions`, `PatchOptions`).
    pub fn from_query(value: Option<&str>, options_kind: &str) -> Result<Directive, ApiError> {
        match value.unwrap_or("") {
            "" | "Warn" => Ok(Directive::Warn),
            "Strict" => Ok(Directive::Strict),
            "Ignore" => Ok(Directive::Ignore),
            other => Err(ApiError::invalid(
                "meta.k8s.io",
                options_kind,
                "",
                &[FieldError::not_supported(
                    "fieldValidation",
                    other,
                    &["", "Ignore", "Strict", "Warn"],
                )],
            )),
        }
    }

    /// Whether problems are looked for at all.
    pub fn checks(self) -> bool {
        self != Directive::Ignore
    }
}

/// Strict decoding problems, deduplicated, in the order found.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct StrictErrors {
    messages: Vec<String>,
}

impl StrictErrors {
    pub fn push(&mut self, msg: String) {
        if self.messages.len() >= MAX_STRICT_ERRORS || self.messages.contains(&msg) {
            return;
        }
        self.messages.push(msg);
    }

    pub fn extend(&mut self, other: StrictErrors) {
        for m in other.messages {
            self.push(m);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    pub fn messages(&self) -> &[String] {
        &self.messages
    }

    /// The problems as warnings: one per problem, a YAML conversion error split into one
    /// warning per line (kube's `parseYAMLWarnings`).
    pub fn into_messages(self) -> Vec<String> {
        let mut out = Vec::with_capacity(self.messages.len());
        for m in self.messages {
            match m
                .strip_prefix(YAML_ERRORS_SHORT)
                .or_else(|| m.strip_prefix(YAML_ERRORS_LONG))
            {
                Some(lines) => out.extend(lines.split('\n').map(|l| l.trim().to_string())),
                None => out.push(m),
            }
        }
        out
    }

    /// `strict decoding error: <e1>, <e2>` (runtime.NewStrictDecodingError).
    pub fn summary(&self) -> String {
        format!("strict decoding error: {}", self.messages.join(", "))
    }

    fn unknown(&mut self, prefix: &str, path: &str) {
        self.push(format!("{prefix}unknown field {}", go_quote(path)));
    }

    fn duplicate(&mut self, prefix: &str, path: &str) {
        self.push(format!("{prefix}duplicate field {}", go_quote(path)));
    }
}

/// How a JSON node is checked while it is parsed.
#[derive(Clone, Copy)]
enum Check<'a> {
    /// Against a schema: unknown fields of structs, duplicate keys of structs and maps.
    Typed(&'a Schema),
    /// Untyped JSON (`map[string]interface{}`): duplicate keys only.
    Untyped,
    /// Nothing inside is checked (raw extensions, values of unknown fields).
    Skip,
    /// A JSON patch document: a list of operations.
    JsonPatchOps,
    /// One JSON patch operation (`op`, `path`, `from`, `value`).
    JsonPatchOp,
}

struct Ctx<'a> {
    idx: &'a SchemaIndex,
    path: String,
    errors: StrictErrors,
    /// Prepended to messages (`json patch ` for JSON patch operations).
    prefix: &'static str,
}

struct Seed<'a, 'c> {
    check: Check<'a>,
    ctx: &'c RefCell<Ctx<'a>>,
}

impl<'a, 'c> Seed<'a, 'c> {
    fn child(&self, check: Check<'a>) -> Seed<'a, 'c> {
        Seed {
            check,
            ctx: self.ctx,
        }
    }
}

fn push_key(path: &mut String, key: &str) {
    if !path.is_empty() {
        path.push('.');
    }
    path.push_str(key);
}

impl<'de> DeserializeSeed<'de> for Seed<'_, '_> {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Seed<'_, '_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let item_check = {
            let ctx = self.ctx.borrow();
            match self.check {
                Check::Typed(s) => match ctx.idx.shape(s) {
                    Shape::List(l) => Check::Typed(&l.items),
                    _ => Check::Skip,
                },
                Check::Untyped => Check::Untyped,
                Check::JsonPatchOps => Check::JsonPatchOp,
                Check::Skip | Check::JsonPatchOp => Check::Skip,
            }
        };
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        loop {
            let len = {
                let mut ctx = self.ctx.borrow_mut();
                let len = ctx.path.len();
                if !matches!(item_check, Check::Skip) {
                    let i = out.len();
                    ctx.path.push_str(&format!("[{i}]"));
                }
                len
            };
            let next = seq.next_element_seed(self.child(item_check));
            self.ctx.borrow_mut().path.truncate(len);
            match next? {
                Some(v) => out.push(v),
                None => break,
            }
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        let idx = self.ctx.borrow().idx;
        while let Some(key) = map.next_key::<String>()? {
            let child = {
                let mut ctx = self.ctx.borrow_mut();
                let len = ctx.path.len();
                let child = match self.check {
                    Check::Skip => Check::Skip,
                    Check::Untyped => {
                        push_key(&mut ctx.path, &key);
                        if out.contains_key(&key) {
                            let (prefix, path) = (ctx.prefix, ctx.path.clone());
                            ctx.errors.duplicate(prefix, &path);
                        }
                        Check::Untyped
                    }
                    Check::JsonPatchOps => Check::Skip,
                    Check::JsonPatchOp => {
                        push_key(&mut ctx.path, &key);
                        let (prefix, path) = (ctx.prefix, ctx.path.clone());
                        match key.as_str() {
                            "op" | "path" | "from" | "value" => {
                                if out.contains_key(&key) {
                                    ctx.errors.duplicate(prefix, &path);
                                }
                                if key == "value" {
                                    Check::Untyped
                                } else {
                                    Check::Skip
                                }
                            }
                            _ => {
                                ctx.errors.unknown(prefix, &path);
                                Check::Skip
                            }
                        }
                    }
                    Check::Typed(s) => {
                        push_key(&mut ctx.path, &key);
                        let (prefix, path) = (ctx.prefix, ctx.path.clone());
                        match idx.shape(s) {
                            Shape::Struct(st) => match st.field(&key) {
                                Some(f) => {
                                    if out.contains_key(&key) {
                                        ctx.errors.duplicate(prefix, &path);
                                    }
                                    Check::Typed(&f.schema)
                                }
                                None if st.preserve_unknown => Check::Skip,
                                None => {
                                    ctx.errors.unknown(prefix, &path);
                                    Check::Skip
                                }
                            },
                            Shape::Map(m) => {
                                if out.contains_key(&key) {
                                    ctx.errors.duplicate(prefix, &path);
                                }
                                Check::Typed(&m.values)
                            }
                            _ => Check::Skip,
                        }
                    }
                };
                if matches!(child, Check::Skip) {
                    ctx.path.truncate(len);
                }
                (child, len)
            };
            let value = map.next_value_seed(self.child(child.0));
            self.ctx.borrow_mut().path.truncate(child.1);
            out.insert(key, value?);
        }
        Ok(Value::Object(out))
    }
}

fn decode_checked(
    body: &[u8],
    idx: &SchemaIndex,
    check: Check<'_>,
    prefix: &'static str,
) -> Result<(Value, StrictErrors), serde_json::Error> {
    let ctx = RefCell::new(Ctx {
        idx,
        path: String::new(),
        errors: StrictErrors::default(),
        prefix,
    });
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = Seed { check, ctx: &ctx }.deserialize(&mut de)?;
    de.end()?;
    Ok((value, ctx.into_inner().errors))
}

/// Parses a JSON body of the kind `schema` describes, reporting unknown and duplicate
/// fields in document order.
pub fn decode_json_typed(
    body: &[u8],
    idx: &SchemaIndex,
    schema: &Schema,
) -> Result<(Value, StrictErrors), serde_json::Error> {
    decode_checked(body, idx, Check::Typed(schema), "")
}

/// Parses untyped JSON (merge and strategic merge patches), reporting duplicate keys.
pub fn decode_json_untyped(
    body: &[u8],
    idx: &SchemaIndex,
) -> Result<(Value, StrictErrors), serde_json::Error> {
    decode_checked(body, idx, Check::Untyped, "")
}

/// Parses a JSON patch, reporting unknown and duplicate fields of its operations
/// (`json patch unknown field "[0].foo"`).
pub fn decode_json_patch(
    body: &[u8],
    idx: &SchemaIndex,
) -> Result<(Value, StrictErrors), serde_json::Error> {
    decode_checked(body, idx, Check::JsonPatchOps, "json patch ")
}

/// Unknown fields of an already-parsed value, object keys visited in sorted order.
pub fn unknown_fields(idx: &SchemaIndex, schema: &Schema, value: &Value, out: &mut StrictErrors) {
    let mut path = String::new();
    walk(idx, schema, value, &mut path, out);
}

fn walk(
    idx: &SchemaIndex,
    schema: &Schema,
    value: &Value,
    path: &mut String,
    out: &mut StrictErrors,
) {
    match (idx.shape(schema), value) {
        (Shape::Struct(st), Value::Object(m)) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            for k in keys {
                let len = path.len();
                push_key(path, k);
                match st.field(k) {
                    Some(f) => {
                        if let Some(v) = m.get(k.as_str()) {
                            walk(idx, &f.schema, v, path, out);
                        }
                    }
                    None if st.preserve_unknown => {}
                    None => out.unknown("", path),
                }
                path.truncate(len);
            }
        }
        (Shape::Map(ms), Value::Object(m)) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            for k in keys {
                let len = path.len();
                push_key(path, k);
                if let Some(v) = m.get(k.as_str()) {
                    walk(idx, &ms.values, v, path, out);
                }
                path.truncate(len);
            }
        }
        (Shape::List(l), Value::Array(items)) => {
            for (i, v) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                walk(idx, &l.items, v, path, out);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

/// How go-yaml starts its list of unmarshal errors, alone and as sigs.k8s.io/yaml wraps it.
const YAML_ERRORS_SHORT: &str = "yaml: unmarshal errors:\n";
const YAML_ERRORS_LONG: &str = "error converting YAML to JSON: yaml: unmarshal errors:\n";

/// Keys that appear more than once in one mapping of a YAML body, as kube's strict YAML to
/// JSON conversion reports them: `error converting YAML to JSON: yaml: unmarshal errors:`
/// then one `  line N: key "x" already set in map` per repeated key (N is the 1-based line
/// of the repeat), each on its own line. `None` when every mapping's keys are distinct or
/// the body is not YAML (the decoder proper reports that). Keys compare as go-yaml resolves
/// plain scalars: `true`/`yes`/`on`… are booleans, `~`/`null`/empty are null, decimal
/// integers are numbers, anything else (and every quoted scalar) is a string.
pub fn yaml_duplicate_keys(body: &[u8]) -> Option<String> {
    use yaml_rust2::parser::{Event, Parser};
    use yaml_rust2::scanner::TScalarStyle;

    /// A mapping being read: its keys so far, and whether the next node is a key.
    struct Mapping {
        keys: Vec<YamlKey>,
        next_is_key: bool,
    }
    let text = std::str::from_utf8(body).ok()?;
    let mut parser = Parser::new_from_str(text);
    // One entry per open collection: `Some` for mappings, `None` for sequences.
    let mut open: Vec<Option<Mapping>> = Vec::new();
    let mut lines: Vec<String> = Vec::new();
    // A node ended: a mapping's key or value, which flips what its parent reads next.
    fn node_done(open: &mut [Option<Mapping>]) {
        if let Some(Some(m)) = open.last_mut() {
            m.next_is_key = !m.next_is_key;
        }
    }
    loop {
        let (event, mark) = parser.next_token().ok()?;
        match event {
            Event::StreamEnd => break,
            Event::MappingStart(..) => open.push(Some(Mapping {
                keys: Vec::new(),
                next_is_key: true,
            })),
            Event::SequenceStart(..) => open.push(None),
            Event::MappingEnd | Event::SequenceEnd => {
                open.pop();
                node_done(&mut open);
            }
            Event::Scalar(value, style, _, _) => {
                if let Some(Some(m)) = open.last_mut()
                    && m.next_is_key
                {
                    let key = YamlKey::resolve(value, style == TScalarStyle::Plain);
                    if m.keys.contains(&key) {
                        lines.push(format!(
                            "  line {}: key {} already set in map",
                            mark.line(),
                            key.go_repr()
                        ));
                    } else {
                        m.keys.push(key);
                    }
                }
                node_done(&mut open);
            }
            Event::Alias(_) => node_done(&mut open),
            _ => {}
        }
    }
    if lines.is_empty() {
        None
    } else {
        Some(format!("{YAML_ERRORS_LONG}{}", lines.join("\n")))
    }
}

/// A YAML mapping key as go-yaml decodes it into `interface{}`.
#[derive(PartialEq)]
enum YamlKey {
    Null,
    Bool(bool),
    Int(i64),
    Str(String),
}

impl YamlKey {
    fn resolve(value: String, plain: bool) -> YamlKey {
        if !plain {
            return YamlKey::Str(value);
        }
        match value.as_str() {
            "" | "~" | "null" | "Null" | "NULL" => YamlKey::Null,
            "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "true" | "True" | "TRUE" => {
                YamlKey::Bool(true)
            }
            "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "false" | "False"
            | "FALSE" => YamlKey::Bool(false),
            v => match v.parse::<i64>() {
                Ok(i) => YamlKey::Int(i),
                Err(_) => YamlKey::Str(value),
            },
        }
    }

    /// Go's `%#v` of the decoded key.
    fn go_repr(&self) -> String {
        match self {
            YamlKey::Null => "<nil>".into(),
            YamlKey::Bool(b) => b.to_string(),
            YamlKey::Int(i) => i.to_string(),
            YamlKey::Str(s) => go_quote(s),
        }
    }
}

/// The value of one `Warning` response header: `299 - "<text>"` with `"` and `\` escaped.
pub fn warning_header(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    out.push_str("299 - \"");
    for c in text.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Adds one `Warning` header per distinct, non-empty warning text.
pub fn add_warnings(resp: &mut actix_web::HttpResponse, warnings: &[String]) {
    let mut seen: Vec<&str> = Vec::new();
    for w in warnings {
        if w.is_empty() || seen.contains(&w.as_str()) {
            continue;
        }
        seen.push(w);
        if let Ok(v) = actix_web::http::header::HeaderValue::from_str(&warning_header(w)) {
            resp.headers_mut()
                .append(actix_web::http::header::WARNING, v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema;

    fn deployment() -> Schema {
        schema::release()
            .named("io.k8s.api.apps.v1.Deployment")
            .expect("Deployment")
    }

    #[test]
    fn directive_values() {
        assert_eq!(
            Directive::from_query(None, "CreateOptions").unwrap(),
            Directive::Warn
        );
        assert_eq!(
            Directive::from_query(Some("Strict"), "CreateOptions").unwrap(),
            Directive::Strict
        );
        assert_eq!(
            Directive::from_query(Some("Ignore"), "CreateOptions").unwrap(),
            Directive::Ignore
        );
        let e = Directive::from_query(Some("strict"), "PatchOptions").unwrap_err();
        assert_eq!(e.code, 422);
        assert_eq!(
            e.message,
            r#"PatchOptions.meta.k8s.io "" is invalid: fieldValidation: Unsupported value: "strict": supported values: "", "Ignore", "Strict", "Warn""#
        );
    }

    // The body and the expected messages of kube-apiserver's field validation integration
    // test (typed create, JSON).
    #[test]
    fn typed_json_reports_in_document_order() {
        let body = br#"{
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "a", "name": "b", "unknownMeta": "x", "labels": {"app": "nginx"}},
            "spec": {
                "unknown1": "val1", "unknownDupe": "valDupe", "unknownDupe": "valDupe2",
                "paused": true, "paused": false,
                "selector": {"matchLabels": {"app": "nginx"}},
                "template": {"metadata": {"labels": {"app": "nginx"}}, "spec": {"containers": [{
                    "name": "nginx", "image": "nginx:latest", "unknownNested": "val1",
                    "imagePullPolicy": "Always", "imagePullPolicy": "Never"}]}}
            }}"#;
        let (v, errs) =
            decode_json_typed(body, schema::release(), &deployment()).expect("valid JSON");
        assert_eq!(
            errs.summary(),
            r#"strict decoding error: duplicate field "metadata.name", unknown field "metadata.unknownMeta", unknown field "spec.unknown1", unknown field "spec.unknownDupe", duplicate field "spec.paused", unknown field "spec.template.spec.containers[0].unknownNested", duplicate field "spec.template.spec.containers[0].imagePullPolicy""#
        );
        // The value is what serde_json builds: the last duplicate wins.
        assert_eq!(v["spec"]["paused"], false);
        assert_eq!(v["metadata"]["name"], "b");
        assert_eq!(v, serde_json::from_slice::<Value>(body).unwrap());
    }

    #[test]
    fn untyped_reports_duplicates_only() {
        let body = br#"{"spec": {"unknown1": "v", "unknownDupe": 1, "unknownDupe": 2, "paused": true, "paused": false,
            "template": {"spec": {"containers": [{"name": "n", "imagePullPolicy": "Always", "imagePullPolicy": "Never"}]}}}}"#;
        let (_, errs) = decode_json_untyped(body, schema::release()).expect("valid");
        assert_eq!(
            errs.messages(),
            [
                r#"duplicate field "spec.unknownDupe""#,
                r#"duplicate field "spec.paused""#,
                r#"duplicate field "spec.template.spec.containers[0].imagePullPolicy""#,
            ]
        );
    }

    #[test]
    fn json_patch_operations() {
        let body = br#"[{"op": "add", "path": "/spec/unknown1", "value": "val1", "foo": "bar"},
            {"op": "add", "path": "/spec/unknown2", "path": "/spec/unknown3", "value": "val1"}]"#;
        let (v, errs) = decode_json_patch(body, schema::release()).expect("valid");
        assert_eq!(
            errs.messages(),
            [
                r#"json patch unknown field "[0].foo""#,
                r#"json patch duplicate field "[1].path""#
            ]
        );
        assert_eq!(v[1]["path"], "/spec/unknown3");
    }

    #[test]
    fn walked_values_report_sorted() {
        let v = serde_json::json!({"spec": {"unknownDupe": 1, "unknown1": 2,
            "template": {"spec": {"containers": [{"name": "n", "unknownNested": 1}]}}}});
        let mut errs = StrictErrors::default();
        unknown_fields(schema::release(), &deployment(), &v, &mut errs);
        assert_eq!(
            errs.messages(),
            [
                r#"unknown field "spec.template.spec.containers[0].unknownNested""#,
                r#"unknown field "spec.unknown1""#,
                r#"unknown field "spec.unknownDupe""#,
            ]
        );
    }

    #[test]
    fn raw_extensions_are_not_checked() {
        let cr = schema::release()
            .named("io.k8s.api.apps.v1.ControllerRevision")
            .expect("ControllerRevision");
        let body = br#"{"metadata": {"name": "r"}, "revision": 1, "data": {"anything": 1, "anything": 2}}"#;
        let (_, errs) = decode_json_typed(body, schema::release(), &cr).expect("valid");
        assert!(errs.is_empty(), "{errs:?}");
    }

    #[test]
    fn errors_are_deduplicated_and_capped() {
        let mut e = StrictErrors::default();
        for i in 0..150 {
            e.push(format!("e{}", i % 120));
            e.push("same".into());
        }
        assert_eq!(e.messages().len(), MAX_STRICT_ERRORS);
        assert_eq!(e.messages().iter().filter(|m| *m == "same").count(), 1);
    }

    // kube-apiserver's field validation integration test body (YAML create): the repeats
    // are reported with their lines, then the unknown fields in sorted-key order.
    const INVALID_DEPLOYMENT_YAML: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: d
  labels:
    app: nginx
spec:
  unknown1: val1
  unknownDupe: valDupe
  unknownDupe: valDupe2
  paused: true
  paused: false
  selector:
    matchLabels:
      app: nginx
  template:
    metadata:
      labels:
        app: nginx
    spec:
      containers:
      - name: nginx
        image: nginx:latest
        unknownNested: val1
        imagePullPolicy: Always
        imagePullPolicy: Never";

    #[test]
    fn yaml_repeated_keys_with_lines() {
        let dups = yaml_duplicate_keys(INVALID_DEPLOYMENT_YAML.as_bytes()).expect("repeats");
        assert_eq!(
            dups,
            "error converting YAML to JSON: yaml: unmarshal errors:\n  \
             line 10: key \"unknownDupe\" already set in map\n  \
             line 12: key \"paused\" already set in map\n  \
             line 26: key \"imagePullPolicy\" already set in map"
        );
        let mut errs = StrictErrors::default();
        errs.push(dups);
        let v: Value = serde_yaml_ng::from_str(INVALID_DEPLOYMENT_YAML).expect("yaml");
        unknown_fields(schema::release(), &deployment(), &v, &mut errs);
        assert_eq!(
            errs.clone().into_messages(),
            [
                r#"line 10: key "unknownDupe" already set in map"#,
                r#"line 12: key "paused" already set in map"#,
                r#"line 26: key "imagePullPolicy" already set in map"#,
                r#"unknown field "spec.template.spec.containers[0].unknownNested""#,
                r#"unknown field "spec.unknown1""#,
                r#"unknown field "spec.unknownDupe""#,
            ]
        );
        assert!(errs.summary().starts_with(
            "strict decoding error: error converting YAML to JSON: yaml: unmarshal errors:\n  line 10:"
        ));
        assert!(
            errs.summary()
                .ends_with(r#"already set in map, unknown field "spec.template.spec.containers[0].unknownNested", unknown field "spec.unknown1", unknown field "spec.unknownDupe""#)
        );
    }

    #[test]
    fn yaml_keys_resolve_like_go_yaml() {
        let one = |y: &str| yaml_duplicate_keys(y.as_bytes());
        assert_eq!(
            one("a: 1\nb: 2\nc: {a: 1, b: 2}\nd: [{a: 1}, {a: 2}]\n"),
            None
        );
        // Same keys in different mappings, sequences of mappings, flow style.
        assert_eq!(
            one("a:\n  x: 1\nb:\n  x: 1\nl:\n- x: 1\n  y: 2\n- x: 3\n"),
            None
        );
        assert_eq!(
            one("m: {x: 1, x: 2}"),
            Some("error converting YAML to JSON: yaml: unmarshal errors:\n  line 1: key \"x\" already set in map".into())
        );
        // `true` and `yes` are one boolean key; `"1"` and `1` differ; `~` and `null` are null.
        let lines = |y: &str| one(y).map(|e| StrictErrors { messages: vec![e] }.into_messages());
        assert_eq!(
            lines("true: 1\nyes: 2\n\"1\": 3\n1: 4\n~: 5\nnull: 6\n'a': 7\na: 8\n"),
            Some(vec![
                "line 2: key true already set in map".to_string(),
                "line 6: key <nil> already set in map".to_string(),
                r#"line 8: key "a" already set in map"#.to_string(),
            ])
        );
        // Values that are mappings or sequences do not confuse the key/value alternation.
        assert_eq!(
            lines("a: {b: 1}\nc: [1, 2]\na: x\n"),
            Some(vec![r#"line 3: key "a" already set in map"#.to_string()])
        );
        // Not YAML at all: left to the decoder.
        assert_eq!(one("a: [1, 2\n"), None);
        assert_eq!(one("{\"a\": 1, \"b\": 2}"), None);
        assert!(one("{\"a\": 1, \"a\": 2}").is_some(), "JSON is YAML");
    }

    #[test]
    fn warning_header_format() {
        assert_eq!(
            warning_header(r#"unknown field "a\b""#),
            r#"299 - "unknown field \"a\\b\"""#
        );
    }
}
