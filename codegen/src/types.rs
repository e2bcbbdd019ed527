//! The type half of the API model: one [`TypeDef`] per definition of the spec (plus the
//! wire-only types of the overlay), with fields in kube-apiserver's JSON order and the
//! mapping of every field to the Kubernetes protobuf encoding.
//!
//! Inputs: the spec normalised to OpenAPI 3 (`components.schemas`, refs
//! `#/components/schemas/X`; a `$ref` with siblings may be a plain reference or wrapped in
//! a one-element `allOf`), the release's `.proto` files ([`ProtoSet`]) and the overlays
//! `schemas/overlay/wire-types.json` (types the server needs that the spec lacks) and
//! `schemas/overlay/go-pointers.json` (how Go holds the scalar fields where [`go_rule`] is
//! wrong) and `schemas/overlay/go-structs.json` (how Go holds every struct-typed field).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use openapiv3::{AdditionalProperties, OpenAPI, ReferenceOr, Schema, SchemaKind, Type};
use serde::Deserialize;

use crate::error::CodegenError;
use crate::proto::{self, Label, ProtoSet, Scalar};

/// One Rust type of the generated crate.
#[derive(Debug, Clone, PartialEq)]
pub struct TypeDef {
    /// Definition name: `io.k8s.api.core.v1.Pod`.
    pub id: String,
    /// Rust module path below the release module: `["api", "core", "v1"]`.
    pub module: Vec<String>,
    /// Rust type name, Kubernetes' casing kept: `Pod`, `APIService`.
    pub name: String,
    pub description: Option<String>,
    /// `x-kubernetes-group-version-kind` of the definition.
    pub gvks: Vec<GroupVersionKind>,
    pub shape: Shape,
    /// Where the definition came from.
    pub origin: Origin,
    /// Definition-level `x-kubernetes-*` extensions (`x-kubernetes-map-type`,
    /// `x-kubernetes-unions`, ...), except the group-version-kind list.
    pub extensions: BTreeMap<String, serde_json::Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A definition of the OpenAPI spec.
    Spec,
    /// A wire type from `schemas/overlay/wire-types.json`.
    Overlay,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct GroupVersionKind {
    pub group: String,
    pub version: String,
    pub kind: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// A struct with named fields.
    Struct(StructDef),
    /// A hand-written runtime type (`kiln_runtime::*`).
    Special(Special),
    /// A property-less object that Go does not decode into a struct (`Patch`): any JSON
    /// value, emitted as `serde_json::Value`; no protobuf form.
    FreeForm,
}

/// The hand-written apimachinery types of `kiln_runtime`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Special {
    Time,
    MicroTime,
    Quantity,
    IntOrString,
    RawExtension,
    /// apiextensions `JSON`.
    Json,
    FieldsV1,
    /// `JSONSchemaPropsOrBool`; the string is the id of the schema type.
    SchemaOrBool(String),
    SchemaOrArray(String),
    SchemaOrStringArray(String),
}

impl Special {
    /// Path of the runtime type, without generic arguments.
    pub fn runtime_name(&self) -> &'static str {
        match self {
            Special::Time => "Time",
            Special::MicroTime => "MicroTime",
            Special::Quantity => "Quantity",
            Special::IntOrString => "IntOrString",
            Special::RawExtension => "RawExtension",
            Special::Json => "Json",
            Special::FieldsV1 => "FieldsV1",
            Special::SchemaOrBool(_) => "SchemaOrBool",
            Special::SchemaOrArray(_) => "SchemaOrArray",
            Special::SchemaOrStringArray(_) => "SchemaOrStringArray",
        }
    }

    /// The generic argument (definition id), if any.
    pub fn schema_arg(&self) -> Option<&str> {
        match self {
            Special::SchemaOrBool(s)
            | Special::SchemaOrArray(s)
            | Special::SchemaOrStringArray(s) => Some(s),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct StructDef {
    /// Fields in kube-apiserver's JSON order (Go struct order).
    pub fields: Vec<Field>,
    /// How the fields are laid out in the protobuf message; `None` when the type has no
    /// protobuf form.
    pub proto: Option<ProtoLayout>,
}

impl StructDef {
    pub fn field(&self, json_name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.json_name == json_name)
    }
}

/// A protobuf message and where each of its fields lives in the flat JSON struct.
#[derive(Debug, Clone, PartialEq)]
pub struct ProtoLayout {
    /// Fully qualified message name: `k8s.io.api.core.v1.Volume`.
    pub message: String,
    /// In declaration order.
    pub entries: Vec<ProtoEntry>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ProtoEntry {
    /// A proto field holding one JSON field of the struct.
    Field {
        tag: u32,
        /// Proto field name.
        name: String,
        /// JSON name of the struct field.
        json_name: String,
        encoding: ProtoEncoding,
    },
    /// A Go inline embedding: a nested message in protobuf whose fields are flat JSON
    /// properties of the struct (`Volume.volumeSource = 2`).
    Embedded {
        tag: u32,
        name: String,
        layout: ProtoLayout,
    },
}

/// How one JSON field is written in protobuf.
#[derive(Debug, Clone, PartialEq)]
pub enum ProtoEncoding {
    /// An optional scalar (string, int32, int64, bool, double, bytes).
    Scalar(Scalar),
    /// A repeated scalar (unpacked, as proto2 writes it).
    RepeatedScalar(Scalar),
    /// A nested message: a generated struct or a runtime type with its own
    /// `prost::Message` impl (Time, Quantity, IntOrString, Duration, ...).
    Message(String),
    RepeatedMessage(String),
    /// `map<K, V>`.
    Map {
        key: Scalar,
        value: Box<ProtoEncoding>,
    },
    /// A proto-only wrapper message around a Go named slice type
    /// (`Verbs { repeated string items = 1 }`, `ExtraValue`): the JSON value is the
    /// list itself, the proto value a message holding it at `tag`.
    Wrapper {
        message: String,
        tag: u32,
        inner: Box<ProtoEncoding>,
    },
}

/// Where a field sits in protobuf, for quick lookups; the tree is in [`ProtoLayout`].
#[derive(Debug, Clone, PartialEq)]
pub struct FieldProto {
    /// Tags of the embedded messages from the struct's message down (empty when the
    /// field is a direct field of the message).
    pub path: Vec<u32>,
    pub tag: u32,
    pub encoding: ProtoEncoding,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub json_name: String,
    /// snake_case, keyword-safe (`type_`, `ref_`).
    pub rust_name: String,
    pub ty: FieldType,
    /// Listed in the schema's `required`.
    pub required: bool,
    /// Emitted as `Box<T>` (direct recursion, e.g. `JSONSchemaProps.not`).
    pub boxed: bool,
    pub description: Option<String>,
    /// `None` when the field has no protobuf form (TypeMeta's `kind`/`apiVersion`,
    /// types without a message).
    pub proto: Option<FieldProto>,
    pub ext: FieldExtensions,
    /// How Go holds a scalar field (string, bool, integer, float, bytes), which decides what
    /// a zero value means; `None` for every other type.
    pub go: Option<GoRepr>,
    /// How Go holds a field whose type is another struct (or `metav1.Time`/`MicroTime`),
    /// from `schemas/overlay/go-structs.json`; `None` for every other type.
    pub go_struct: Option<GoStruct>,
    /// How Go's JSON tag treats a list or map field (from
    /// `schemas/overlay/go-collections.json`); `None` for every other type.
    pub go_collection: Option<GoCollection>,
}

/// The JSON tag of a Go slice or map field. `encoding/json` writes a nil slice or map as
/// `null` and an empty one as `[]`/`{}`, unless the tag says otherwise. Protobuf cannot
/// tell nil from empty (neither is written).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum GoCollection {
    /// `omitempty`: nil and empty are both left out.
    #[serde(rename = "omitempty")]
    OmitEmpty,
    /// `omitzero`: nil is left out, empty is written.
    #[serde(rename = "omitzero")]
    OmitZero,
    /// Neither: nil is `null`, empty is `[]`/`{}`.
    #[serde(rename = "none")]
    Always,
}

/// How a struct-typed field is declared in Go. `encoding/json`'s `omitempty` never leaves
/// out a struct, so a non-pointer struct field is always written: its zero value is `{}`
/// (with the zero struct's own always-written fields) or, for `metav1.Time`, `null`; and
/// gogo-protobuf always writes it, as an empty message at zero. Only `omitzero` (Go 1.24)
/// leaves the zero value out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum GoStruct {
    /// `*T`: nil is absent.
    #[serde(rename = "pointer")]
    Pointer,
    /// `T` with `omitempty`: always written all the same.
    #[serde(rename = "value,omitempty")]
    ValueOmitEmpty,
    /// `T` without `omitempty`: always written.
    #[serde(rename = "value")]
    Value,
    /// `T` with `omitzero`: the zero value is absent.
    #[serde(rename = "value,omitzero")]
    ValueOmitZero,
}

impl GoStruct {
    /// Whether an absent field is written as the type's zero value, in JSON and protobuf.
    pub fn written_at_zero(self) -> bool {
        matches!(self, GoStruct::Value | GoStruct::ValueOmitEmpty)
    }
}

/// How a scalar field is declared in Go, which neither the OpenAPI spec nor the `.proto`
/// files say directly. It decides zero values: gogo-protobuf writes a non-pointer field
/// even at its zero value and a pointer field only when set, and `encoding/json` leaves a
/// zero non-pointer field out only with `omitempty`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum GoRepr {
    /// `*T` (with `omitempty`): nil is absent; a zero value is a value, kept and written.
    #[serde(rename = "pointer")]
    Pointer,
    /// `T` with `omitempty`: the zero value is absent in JSON (so a decoded zero becomes
    /// `None`); protobuf always writes the field.
    #[serde(rename = "value,omitempty")]
    ValueOmitEmpty,
    /// `T` without `omitempty`: always written, a zero value included.
    #[serde(rename = "value")]
    Value,
}

impl GoRepr {
    pub fn is_pointer(self) -> bool {
        self == GoRepr::Pointer
    }

    /// Whether the JSON tag has `omitempty` (pointers in Kubernetes' types always do).
    pub fn omit_empty(self) -> bool {
        self != GoRepr::Value
    }
}

/// The rule for a scalar field's Go representation, from the JSON type and the schema's
/// `required` list (kube-openapi puts a field there when it has neither `+optional` nor
/// `omitempty`, or has `+required`):
/// - required: a non-pointer field without `omitempty`;
/// - optional string or bytes: a non-pointer field with `omitempty` (Kubernetes'
///   convention: the empty string is "unset"; `[]byte` is nil-able);
/// - any other optional scalar: a pointer (the convention, so that unset differs from 0
///   or false).
///
/// `None` for non-scalar types. The fields where this is wrong are listed in
/// `schemas/overlay/go-pointers.json`.
pub fn go_rule(ty: &FieldType, required: bool) -> Option<GoRepr> {
    let string_like = match ty {
        FieldType::String | FieldType::Bytes => true,
        FieldType::Bool | FieldType::I32 | FieldType::I64 | FieldType::F64 => false,
        _ => return None,
    };
    Some(if required {
        GoRepr::Value
    } else if string_like {
        GoRepr::ValueOmitEmpty
    } else {
        GoRepr::Pointer
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldType {
    String,
    Bool,
    I32,
    I64,
    F64,
    /// `format: byte`: base64 in JSON, bytes in protobuf.
    Bytes,
    /// A Go `metav1.Duration`: a string in JSON, a message in protobuf.
    Duration,
    /// Another definition.
    Ref(String),
    Array(Box<FieldType>),
    /// `additionalProperties`: a JSON object with string keys.
    Map(Box<FieldType>),
    /// Free-form JSON.
    Json,
}

/// The schema extensions of a property.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldExtensions {
    pub patch_strategy: Option<String>,
    pub patch_merge_key: Option<String>,
    pub list_type: Option<String>,
    pub list_map_keys: Vec<String>,
    pub map_type: Option<String>,
    pub int_or_string: bool,
    pub preserve_unknown_fields: bool,
    pub embedded_resource: bool,
}

// ---------------------------------------------------------------------------------------
// Naming

/// Rust keywords (strict and reserved, edition 2024).
const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "self", "Self", "static", "struct", "super", "trait", "true", "try", "type",
    "typeof", "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

pub fn is_keyword(s: &str) -> bool {
    KEYWORDS.contains(&s)
}

/// Splits a JSON name into lower-case words, acronym-aware: `clusterIPs` → `cluster ips`,
/// `podCIDRs` → `pod cidrs`, `hostIPC` → `host ipc`, `APIVersion` → `api version`,
/// `x-kubernetes-list-type` → `x kubernetes list type`, `$ref` → `ref`.
pub fn words(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in name.split(|c: char| !c.is_ascii_alphanumeric()) {
        let chars: Vec<char> = part.chars().collect();
        let mut cur = String::new();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c.is_ascii_uppercase() {
                // An upper-case run.
                let start = i;
                let mut end = i;
                while end < chars.len() && chars[end].is_ascii_uppercase() {
                    end += 1;
                }
                let run_len = end - start;
                let next_lower = chars.get(end).is_some_and(|c| c.is_ascii_lowercase());
                // `IPs`, `CIDRs`: an acronym's plural `s` ends the word.
                let plural = run_len >= 2
                    && chars.get(end) == Some(&'s')
                    && !chars.get(end + 1).is_some_and(|c| c.is_ascii_lowercase());
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                if plural {
                    cur.extend(chars[start..=end].iter().map(|c| c.to_ascii_lowercase()));
                    out.push(std::mem::take(&mut cur));
                    i = end + 1;
                } else if next_lower && run_len >= 2 {
                    // `APIVersion`: the last capital starts the next word.
                    cur.extend(chars[start..end - 1].iter().map(|c| c.to_ascii_lowercase()));
                    out.push(std::mem::take(&mut cur));
                    i = end - 1;
                } else if next_lower {
                    // A capitalised word: take the capital; the lower-case tail follows.
                    cur.push(c.to_ascii_lowercase());
                    i += 1;
                } else {
                    // An acronym at the end or before a digit: `hostIPC`, `IPV4`.
                    cur.extend(chars[start..end].iter().map(|c| c.to_ascii_lowercase()));
                    i = end;
                }
            } else {
                cur.push(c);
                i += 1;
            }
        }
        if !cur.is_empty() {
            out.push(cur);
        }
    }
    out
}

/// snake_case Rust field name for a JSON name, with a `_` suffix for keywords.
pub fn rust_field_name(json_name: &str) -> String {
    let mut s = words(json_name).join("_");
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert(0, '_');
    }
    if is_keyword(&s) {
        s.push('_');
    }
    s
}

/// SCREAMING_SNAKE_CASE name for a type name (`APIService` → `API_SERVICE`).
pub fn screaming_snake(name: &str) -> String {
    words(name).join("_").to_ascii_uppercase()
}

/// Module path of a definition id: `io.k8s.api.core.v1.Pod` → `["api", "core", "v1"]`.
pub fn module_of(id: &str) -> Vec<String> {
    let trimmed = id.strip_prefix("io.k8s.").unwrap_or(id);
    let mut parts: Vec<String> = trimmed
        .split('.')
        .map(|p| {
            let s = p.replace('-', "_");
            if is_keyword(&s) { format!("{s}_") } else { s }
        })
        .collect();
    parts.pop();
    parts
}

/// Type name of a definition id: the last segment.
pub fn type_name_of(id: &str) -> String {
    id.rsplit('.').next().unwrap_or(id).to_string()
}

/// The protobuf message that go-to-protobuf generates for a definition id:
/// `io.k8s.api.core.v1.Pod` → `k8s.io.api.core.v1.Pod`,
/// `io.k8s.kube-aggregator.pkg...` → `k8s.io.kube_aggregator.pkg...`.
pub fn proto_message_of(id: &str) -> String {
    match id.strip_prefix("io.k8s.") {
        Some(rest) => format!("k8s.io.{}", rest.replace('-', "_")),
        None => id.replace('-', "_"),
    }
}

// ---------------------------------------------------------------------------------------
// Overlay

/// The built-in overlay (`schemas/overlay/wire-types.json`).
pub const WIRE_OVERLAY_JSON: &str = include_str!("../../schemas/overlay/wire-types.json");

/// Wire types the server needs that the spec does not define.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Overlay {
    #[serde(default)]
    pub types: BTreeMap<String, OverlayType>,
    /// The Go representation of scalar fields where [`go_rule`] is wrong (from
    /// `schemas/overlay/go-pointers.json`; empty unless loaded).
    #[serde(skip)]
    pub go: GoOverlay,
    /// The Go representation of every struct-typed field (from
    /// `schemas/overlay/go-structs.json`; empty unless loaded).
    #[serde(skip)]
    pub go_structs: GoStructOverlay,
    /// The JSON tag of every list and map field (from `schemas/overlay/go-collections.json`;
    /// empty unless loaded).
    #[serde(skip)]
    pub go_collections: GoCollectionOverlay,
}

/// The built-in list and map overlay (`schemas/overlay/go-collections.json`).
pub const GO_COLLECTIONS_JSON: &str = include_str!("../../schemas/overlay/go-collections.json");

/// Definition id → JSON field name → the JSON tag of the list or map field. Every list and
/// map field of the spec's definitions must be listed; an entry may name a definition or
/// field that only one release has.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct GoCollectionOverlay {
    #[serde(default)]
    pub fields: BTreeMap<String, BTreeMap<String, GoCollection>>,
}

pub fn builtin_go_collection_overlay() -> Result<GoCollectionOverlay, CodegenError> {
    let path = Path::new("schemas/overlay/go-collections.json");
    serde_json::from_str(GO_COLLECTIONS_JSON).map_err(|e| CodegenError::Overlay {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// The built-in struct-field overlay (`schemas/overlay/go-structs.json`).
pub const GO_STRUCTS_JSON: &str = include_str!("../../schemas/overlay/go-structs.json");

/// Definition id → JSON field name → Go representation of the struct-typed field. Every
/// struct-typed field of the spec's definitions must be listed (a field a new release adds
/// fails the build until its fact is recorded); an entry may name a definition or field
/// that only one release has.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct GoStructOverlay {
    #[serde(default)]
    pub fields: BTreeMap<String, BTreeMap<String, GoStruct>>,
}

pub fn builtin_go_struct_overlay() -> Result<GoStructOverlay, CodegenError> {
    let path = Path::new("schemas/overlay/go-structs.json");
    serde_json::from_str(GO_STRUCTS_JSON).map_err(|e| CodegenError::Overlay {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// The built-in Go representation overlay (`schemas/overlay/go-pointers.json`).
pub const GO_POINTERS_JSON: &str = include_str!("../../schemas/overlay/go-pointers.json");

/// Definition id → JSON field name → Go representation. An entry may name a definition or
/// field that only one release has.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct GoOverlay {
    #[serde(default)]
    pub fields: BTreeMap<String, BTreeMap<String, GoRepr>>,
}

impl GoOverlay {
    pub fn get(&self, definition: &str, json_name: &str) -> Option<GoRepr> {
        self.fields.get(definition)?.get(json_name).copied()
    }
}

pub fn parse_go_overlay(path: &Path, json: &str) -> Result<GoOverlay, CodegenError> {
    serde_json::from_str(json).map_err(|e| CodegenError::Overlay {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

pub fn builtin_go_overlay() -> Result<GoOverlay, CodegenError> {
    parse_go_overlay(
        Path::new("schemas/overlay/go-pointers.json"),
        GO_POINTERS_JSON,
    )
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OverlayType {
    /// The protobuf message; fields come from it unless `properties` is given.
    #[serde(default)]
    pub proto: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// Adds `kind` and `apiVersion` (Go's inline TypeMeta) first.
    #[serde(default)]
    pub type_meta: bool,
    /// JSON names written even when empty (no `omitempty`).
    #[serde(default)]
    pub required: Vec<String>,
    #[serde(default, rename = "x-kubernetes-group-version-kind")]
    pub gvks: Vec<GvkJson>,
    /// JSON properties in Go struct order (OpenAPI 3 schema objects), for types without
    /// a protobuf message or to override the JSON type of a proto field.
    #[serde(default)]
    pub properties: indexmap::IndexMap<String, ReferenceOr<Box<Schema>>>,
    /// For a definition of the spec without a protobuf message (whose properties the
    /// spec sorts): its JSON field order in Go. Must name every property exactly once.
    #[serde(default)]
    pub field_order: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct GvkJson {
    pub group: String,
    pub version: String,
    pub kind: String,
}

pub fn parse_overlay(path: &Path, json: &str) -> Result<Overlay, CodegenError> {
    serde_json::from_str(json).map_err(|e| CodegenError::Overlay {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// Both built-in overlays: the wire types and the Go representation of scalar fields.
pub fn builtin_overlay() -> Result<Overlay, CodegenError> {
    let mut overlay = parse_overlay(
        Path::new("schemas/overlay/wire-types.json"),
        WIRE_OVERLAY_JSON,
    )?;
    overlay.go = builtin_go_overlay()?;
    overlay.go_structs = builtin_go_struct_overlay()?;
    overlay.go_collections = builtin_go_collection_overlay()?;
    Ok(overlay)
}

// ---------------------------------------------------------------------------------------
// Building

/// A definition before protobuf mapping: its JSON properties in schema order.
struct RawDef {
    id: String,
    description: Option<String>,
    gvks: Vec<GroupVersionKind>,
    extensions: BTreeMap<String, serde_json::Value>,
    origin: Origin,
    kind: RawKind,
}

enum RawKind {
    Special(Special),
    FreeForm,
    Object {
        props: Vec<RawProp>,
        /// The protobuf message, if there is one.
        message: Option<String>,
        /// Keep `props` order for fields not in the proto (overlay types) instead of
        /// sorting them.
        keep_order: bool,
    },
}

struct RawProp {
    json_name: String,
    ty: FieldType,
    required: bool,
    description: Option<String>,
    ext: FieldExtensions,
}

/// Builds one [`TypeDef`] per definition of `spec` plus the built-in overlay's wire types.
pub fn build_types(
    spec: &OpenAPI,
    protos: &ProtoSet,
) -> Result<BTreeMap<String, TypeDef>, CodegenError> {
    build_types_with_overlay(spec, protos, &builtin_overlay()?)
}

pub fn build_types_with_overlay(
    spec: &OpenAPI,
    protos: &ProtoSet,
    overlay: &Overlay,
) -> Result<BTreeMap<String, TypeDef>, CodegenError> {
    let mut problems = Vec::new();
    let mut raws: BTreeMap<String, RawDef> = BTreeMap::new();
    let schemas = spec.components.as_ref().map(|c| &c.schemas);
    for (id, schema) in schemas.into_iter().flatten() {
        let schema = match schema {
            ReferenceOr::Item(s) => s,
            ReferenceOr::Reference { reference } => {
                problems.push(format!(
                    "{id}: definition is a bare reference to {reference}"
                ));
                continue;
            }
        };
        match raw_from_schema(id, schema, protos) {
            Ok(r) => {
                raws.insert(id.clone(), r);
            }
            Err(e) => problems.push(format!("{id}: {e}")),
        }
    }
    // Definition ids by message name, for the overlay's proto-derived fields.
    let mut by_message: BTreeMap<String, String> = raws
        .keys()
        .map(|id| (proto_message_of(id), id.clone()))
        .collect();
    for (id, o) in &overlay.types {
        if let Some(m) = &o.proto {
            by_message.insert(m.clone(), id.clone());
        }
    }
    for (id, o) in &overlay.types {
        if let Some(raw) = raws.get_mut(id) {
            if let Err(e) = apply_field_order(raw, o) {
                problems.push(format!("{id}: {e}"));
            }
            continue;
        }
        match raw_from_overlay(id, o, protos, &by_message) {
            Ok(r) => {
                raws.insert(id.clone(), r);
            }
            Err(e) => problems.push(format!("{id}: {e}")),
        }
    }

    let mut out = BTreeMap::new();
    for raw in raws.values() {
        match finish(raw, &raws, protos) {
            Ok(t) => {
                out.insert(t.id.clone(), t);
            }
            Err(e) => problems.push(format!("{}: {e}", raw.id)),
        }
    }
    apply_go_overlay(&mut out, &overlay.go, &mut problems);
    apply_go_struct_overlay(&mut out, &overlay.go_structs, &mut problems);
    apply_go_collection_overlay(&mut out, &overlay.go_collections, &mut problems);
    check_references(&out, &mut problems);
    mark_boxed(&mut out);
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(CodegenError::Definition {
            definition: format!("{} definitions", problems.len()),
            message: problems.join("\n"),
        })
    }
}

/// Replaces the rule's Go representation with the overlay's. Entries for a definition or
/// field this release lacks are skipped (the overlay serves every release); an entry for a
/// field that is not a scalar is a problem.
fn apply_go_overlay(
    types: &mut BTreeMap<String, TypeDef>,
    overlay: &GoOverlay,
    problems: &mut Vec<String>,
) {
    for (id, fields) in &overlay.fields {
        let Some(t) = types.get_mut(id) else { continue };
        let Shape::Struct(s) = &mut t.shape else {
            problems.push(format!("go-pointers.json: {id} is not a struct"));
            continue;
        };
        for (name, repr) in fields {
            let Some(f) = s.fields.iter_mut().find(|f| f.json_name == *name) else {
                continue;
            };
            if f.go.is_none() {
                problems.push(format!(
                    "go-pointers.json: {id}.{name} is not a scalar field"
                ));
                continue;
            }
            f.go = Some(*repr);
        }
    }
}

/// Whether fields of type `id` need a [`GoStruct`] fact: structs and the two times (the
/// other runtime types are scalars or free-form JSON in Go's encoders).
fn is_struct_like(types: &BTreeMap<String, TypeDef>, id: &str) -> bool {
    types.get(id).is_some_and(|t| {
        matches!(
            &t.shape,
            Shape::Struct(_) | Shape::Special(Special::Time | Special::MicroTime)
        )
    })
}

/// Sets each struct-typed field's [`GoStruct`] from the overlay. A struct-typed field of a
/// spec definition without an entry is a problem (the fact is not guessed); so is an
/// entry for a field that is not struct-typed.
fn apply_go_struct_overlay(
    types: &mut BTreeMap<String, TypeDef>,
    overlay: &GoStructOverlay,
    problems: &mut Vec<String>,
) {
    let ids: Vec<String> = types.keys().cloned().collect();
    for id in ids {
        let struct_like: Vec<bool> = match &types[&id].shape {
            Shape::Struct(s) => s
                .fields
                .iter()
                .map(|f| matches!(&f.ty, FieldType::Ref(r) if is_struct_like(types, r)))
                .collect(),
            _ => continue,
        };
        let Some(t) = types.get_mut(&id) else {
            continue;
        };
        let spec = t.origin == Origin::Spec;
        let Shape::Struct(s) = &mut t.shape else {
            continue;
        };
        let facts = overlay.fields.get(&id);
        for (f, struct_like) in s.fields.iter_mut().zip(struct_like) {
            match (facts.and_then(|m| m.get(&f.json_name)), struct_like) {
                (Some(repr), true) => f.go_struct = Some(*repr),
                (Some(_), false) => problems.push(format!(
                    "go-structs.json: {id}.{} is not a struct-typed field",
                    f.json_name
                )),
                (None, true) if spec => problems.push(format!(
                    "go-structs.json: no entry for {id}.{} (record how Go declares it)",
                    f.json_name
                )),
                (None, _) => {}
            }
        }
    }
}

/// Sets each list and map field's [`GoCollection`] from the overlay. A list or map field of
/// a spec definition without an entry is a problem; so is an entry for another field.
fn apply_go_collection_overlay(
    types: &mut BTreeMap<String, TypeDef>,
    overlay: &GoCollectionOverlay,
    problems: &mut Vec<String>,
) {
    for (id, t) in types.iter_mut() {
        let spec = t.origin == Origin::Spec;
        let Shape::Struct(s) = &mut t.shape else {
            continue;
        };
        let facts = overlay.fields.get(id);
        for f in &mut s.fields {
            let collection = matches!(f.ty, FieldType::Array(_) | FieldType::Map(_));
            match (facts.and_then(|m| m.get(&f.json_name)), collection) {
                (Some(tag), true) => f.go_collection = Some(*tag),
                (Some(_), false) => problems.push(format!(
                    "go-collections.json: {id}.{} is not a list or map field",
                    f.json_name
                )),
                (None, true) if spec => problems.push(format!(
                    "go-collections.json: no entry for {id}.{} (record its Go JSON tag)",
                    f.json_name
                )),
                (None, _) => {}
            }
        }
    }
}

/// An overlay entry for a spec definition: only `fieldOrder`, only for definitions
/// without a protobuf message (the proto gives the order otherwise).
fn apply_field_order(raw: &mut RawDef, o: &OverlayType) -> Result<(), String> {
    if o.proto.is_some() || !o.properties.is_empty() || o.type_meta || o.field_order.is_empty() {
        return Err("the spec defines this type; the overlay may only give its fieldOrder".into());
    }
    let RawKind::Object {
        props,
        message,
        keep_order,
    } = &mut raw.kind
    else {
        return Err("fieldOrder for a type that is not a struct".into());
    };
    if message.is_some() {
        return Err("fieldOrder for a type with a protobuf message, which orders it".into());
    }
    let have: BTreeSet<&str> = props.iter().map(|p| p.json_name.as_str()).collect();
    let want: BTreeSet<&str> = o.field_order.iter().map(String::as_str).collect();
    if have != want || want.len() != o.field_order.len() {
        return Err(format!(
            "fieldOrder {:?} no longer matches the properties {:?}",
            o.field_order, have
        ));
    }
    props.sort_by_key(|p| o.field_order.iter().position(|n| *n == p.json_name));
    *keep_order = true;
    Ok(())
}

fn gvks_of(
    ext: &indexmap::IndexMap<String, serde_json::Value>,
) -> Result<Vec<GroupVersionKind>, String> {
    let Some(v) = ext.get("x-kubernetes-group-version-kind") else {
        return Ok(Vec::new());
    };
    let list = v
        .as_array()
        .ok_or("x-kubernetes-group-version-kind is not a list")?;
    let mut out = Vec::new();
    for item in list {
        let get = |k: &str| {
            item.get(k)
                .and_then(|v| v.as_str())
                .map(str::to_string)
                .ok_or_else(|| format!("x-kubernetes-group-version-kind entry without {k}"))
        };
        out.push(GroupVersionKind {
            group: get("group")?,
            version: get("version")?,
            kind: get("kind")?,
        });
    }
    Ok(out)
}

fn def_extensions(
    ext: &indexmap::IndexMap<String, serde_json::Value>,
) -> BTreeMap<String, serde_json::Value> {
    ext.iter()
        .filter(|(k, _)| k.starts_with("x-kubernetes-") && *k != "x-kubernetes-group-version-kind")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The special (hand-written) types, by definition id suffix. Each entry also checks the
/// schema shape it expects, so a changed upstream definition fails loudly.
fn special_of(id: &str, schema: &Schema) -> Result<Option<Special>, String> {
    let name = type_name_of(id);
    let module = &id[..id.len() - name.len()];
    let sibling = |n: &str| format!("{module}{n}");
    let kind = &schema.schema_kind;
    let string_format = |want: &str| match kind {
        SchemaKind::Type(Type::String(s)) => match &s.format {
            openapiv3::VariantOrUnknownOrEmpty::Item(f) => {
                format!("{f:?}").eq_ignore_ascii_case(&want.replace('-', ""))
            }
            openapiv3::VariantOrUnknownOrEmpty::Unknown(f) => f == want,
            openapiv3::VariantOrUnknownOrEmpty::Empty => want.is_empty(),
        },
        _ => false,
    };
    let is_object = matches!(kind, SchemaKind::Type(Type::Object(_)));
    let is_any = matches!(kind, SchemaKind::Any(_));
    let (special, ok) = match (module, name.as_str()) {
        ("io.k8s.apimachinery.pkg.apis.meta.v1.", "Time") => {
            (Special::Time, string_format("date-time"))
        }
        ("io.k8s.apimachinery.pkg.apis.meta.v1.", "MicroTime") => {
            (Special::MicroTime, string_format("date-time"))
        }
        ("io.k8s.apimachinery.pkg.apis.meta.v1.", "FieldsV1") => (Special::FieldsV1, is_object),
        ("io.k8s.apimachinery.pkg.api.resource.", "Quantity") => {
            (Special::Quantity, string_format(""))
        }
        ("io.k8s.apimachinery.pkg.util.intstr.", "IntOrString") => {
            (Special::IntOrString, string_format("int-or-string"))
        }
        ("io.k8s.apimachinery.pkg.runtime.", "RawExtension") => (Special::RawExtension, is_object),
        (m, "JSON") if m.starts_with("io.k8s.apiextensions-apiserver.") => (Special::Json, is_any),
        (m, "JSONSchemaPropsOrBool") if m.starts_with("io.k8s.apiextensions-apiserver.") => {
            (Special::SchemaOrBool(sibling("JSONSchemaProps")), is_any)
        }
        (m, "JSONSchemaPropsOrArray") if m.starts_with("io.k8s.apiextensions-apiserver.") => {
            (Special::SchemaOrArray(sibling("JSONSchemaProps")), is_any)
        }
        (m, "JSONSchemaPropsOrStringArray") if m.starts_with("io.k8s.apiextensions-apiserver.") => {
            (
                Special::SchemaOrStringArray(sibling("JSONSchemaProps")),
                is_any,
            )
        }
        _ => return Ok(None),
    };
    if ok {
        Ok(Some(special))
    } else {
        Err(format!(
            "special type {special:?} no longer has the expected schema shape"
        ))
    }
}

fn raw_from_schema(id: &str, schema: &Schema, protos: &ProtoSet) -> Result<RawDef, String> {
    let data = &schema.schema_data;
    let mut raw = RawDef {
        id: id.to_string(),
        description: data.description.clone(),
        gvks: gvks_of(&data.extensions)?,
        extensions: def_extensions(&data.extensions),
        origin: Origin::Spec,
        kind: RawKind::FreeForm,
    };
    if let Some(special) = special_of(id, schema)? {
        raw.kind = RawKind::Special(special);
        return Ok(raw);
    }
    let (props, required) = match &schema.schema_kind {
        SchemaKind::Type(Type::Object(o)) => (&o.properties, &o.required),
        SchemaKind::Any(a) if a.typ.as_deref().is_none_or(|t| t == "object") => {
            (&a.properties, &a.required)
        }
        other => return Err(format!("unsupported definition shape {other:?}")),
    };
    let message = proto_message_of(id);
    let has_message = protos.message(&message).is_some();
    if props.is_empty() && !has_message {
        // `Patch`-like: no properties, no message.
        return Ok(raw);
    }
    if props.is_empty() && type_name_of(id) == "Patch" {
        // The body of a PATCH request is any JSON document, not `{}`.
        return Ok(raw);
    }
    let mut raw_props = Vec::new();
    for (name, p) in props {
        let (ty, description, ext) = prop_type(p).map_err(|e| format!("property {name}: {e}"))?;
        raw_props.push(RawProp {
            json_name: name.clone(),
            ty,
            required: required.contains(name),
            description,
            ext,
        });
    }
    raw.kind = RawKind::Object {
        props: raw_props,
        message: has_message.then_some(message),
        keep_order: false,
    };
    Ok(raw)
}

fn ext_str(ext: &indexmap::IndexMap<String, serde_json::Value>, k: &str) -> Option<String> {
    ext.get(k).and_then(|v| v.as_str()).map(str::to_string)
}

fn field_extensions(ext: &indexmap::IndexMap<String, serde_json::Value>) -> FieldExtensions {
    FieldExtensions {
        patch_strategy: ext_str(ext, "x-kubernetes-patch-strategy"),
        patch_merge_key: ext_str(ext, "x-kubernetes-patch-merge-key"),
        list_type: ext_str(ext, "x-kubernetes-list-type"),
        list_map_keys: ext
            .get("x-kubernetes-list-map-keys")
            .and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
        map_type: ext_str(ext, "x-kubernetes-map-type"),
        int_or_string: ext
            .get("x-kubernetes-int-or-string")
            .and_then(|v| v.as_bool())
            .unwrap_or(false),
        preserve_unknown_fields: ext
            .get("x-kubernetes-preserve-unknown-fields")
            .and_then(|v| v.as_bool())
            .unwrap_or(false),
        embedded_resource: ext
            .get("x-kubernetes-embedded-resource")
            .and_then(|v| v.as_bool())
            .unwrap_or(false),
    }
}

/// Schema extensions from Go markers in the proto comments (overlay types only; spec
/// types carry them in the schema).
fn extensions_from_markers(markers: &[String]) -> FieldExtensions {
    let mut ext = FieldExtensions::default();
    for m in markers {
        let Some((k, v)) = m.split_once('=') else {
            continue;
        };
        let v = v.trim().to_string();
        match k.trim() {
            "listType" => ext.list_type = Some(v),
            "listMapKey" => ext.list_map_keys.push(v),
            "mapType" => ext.map_type = Some(v),
            "patchStrategy" => ext.patch_strategy = Some(v),
            "patchMergeKey" => ext.patch_merge_key = Some(v),
            _ => {}
        }
    }
    ext
}

fn ref_id(reference: &str) -> Result<String, String> {
    reference
        .strip_prefix("#/components/schemas/")
        .or_else(|| reference.strip_prefix("#/definitions/"))
        .map(str::to_string)
        .ok_or_else(|| format!("unsupported reference {reference}"))
}

/// The JSON type, description and extensions of a property schema.
fn prop_type(
    p: &ReferenceOr<Box<Schema>>,
) -> Result<(FieldType, Option<String>, FieldExtensions), String> {
    match p {
        ReferenceOr::Reference { reference } => Ok((
            FieldType::Ref(ref_id(reference)?),
            None,
            FieldExtensions::default(),
        )),
        ReferenceOr::Item(s) => {
            let ty = schema_type(s)?;
            Ok((
                ty,
                s.schema_data.description.clone(),
                field_extensions(&s.schema_data.extensions),
            ))
        }
    }
}

fn item_type(p: &ReferenceOr<Box<Schema>>) -> Result<FieldType, String> {
    match p {
        ReferenceOr::Reference { reference } => Ok(FieldType::Ref(ref_id(reference)?)),
        ReferenceOr::Item(s) => schema_type(s),
    }
}

fn schema_type(s: &Schema) -> Result<FieldType, String> {
    Ok(match &s.schema_kind {
        SchemaKind::AllOf { all_of } if all_of.len() == 1 => match &all_of[0] {
            ReferenceOr::Reference { reference } => FieldType::Ref(ref_id(reference)?),
            ReferenceOr::Item(inner) => schema_type(inner)?,
        },
        SchemaKind::Type(Type::String(st)) => match &st.format {
            openapiv3::VariantOrUnknownOrEmpty::Item(openapiv3::StringFormat::Byte) => {
                FieldType::Bytes
            }
            openapiv3::VariantOrUnknownOrEmpty::Unknown(f) if f == "byte" => FieldType::Bytes,
            _ => FieldType::String,
        },
        SchemaKind::Type(Type::Integer(it)) => match &it.format {
            openapiv3::VariantOrUnknownOrEmpty::Item(openapiv3::IntegerFormat::Int64) => {
                FieldType::I64
            }
            openapiv3::VariantOrUnknownOrEmpty::Unknown(f) if f == "int64" => FieldType::I64,
            _ => FieldType::I32,
        },
        SchemaKind::Type(Type::Number(_)) => FieldType::F64,
        SchemaKind::Type(Type::Boolean(_)) => FieldType::Bool,
        SchemaKind::Type(Type::Array(a)) => match &a.items {
            Some(items) => FieldType::Array(Box::new(item_type(items)?)),
            None => FieldType::Array(Box::new(FieldType::Json)),
        },
        SchemaKind::Type(Type::Object(o)) => {
            object_type(&o.additional_properties, o.properties.is_empty())?
        }
        SchemaKind::Any(a) => match a.typ.as_deref() {
            None | Some("object") => {
                object_type(&a.additional_properties, a.properties.is_empty())?
            }
            Some("string") => FieldType::String,
            Some("boolean") => FieldType::Bool,
            Some("number") => FieldType::F64,
            Some("integer") => {
                if a.format.as_deref() == Some("int64") {
                    FieldType::I64
                } else {
                    FieldType::I32
                }
            }
            Some("array") => match &a.items {
                Some(items) => FieldType::Array(Box::new(item_type(items)?)),
                None => FieldType::Array(Box::new(FieldType::Json)),
            },
            Some(other) => return Err(format!("unsupported type {other}")),
        },
        other => return Err(format!("unsupported property schema {other:?}")),
    })
}

fn object_type(
    additional: &Option<AdditionalProperties>,
    no_properties: bool,
) -> Result<FieldType, String> {
    match additional {
        Some(AdditionalProperties::Schema(s)) => Ok(FieldType::Map(Box::new(match s.as_ref() {
            ReferenceOr::Reference { reference } => FieldType::Ref(ref_id(reference)?),
            ReferenceOr::Item(inner) => schema_type(inner)?,
        }))),
        Some(AdditionalProperties::Any(true)) | None if no_properties => Ok(FieldType::Json),
        _ => Err("inline object with properties is not supported".into()),
    }
}

fn raw_from_overlay(
    id: &str,
    o: &OverlayType,
    protos: &ProtoSet,
    by_message: &BTreeMap<String, String>,
) -> Result<RawDef, String> {
    let message = match &o.proto {
        Some(m) => Some(
            protos
                .message(m)
                .ok_or_else(|| format!("overlay names unknown proto message {m}"))?,
        ),
        None => None,
    };
    let mut props = Vec::new();
    if o.type_meta {
        for (name, what) in [
            (
                "kind",
                "Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds",
            ),
            (
                "apiVersion",
                "APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources",
            ),
        ] {
            props.push(RawProp {
                json_name: name.into(),
                ty: FieldType::String,
                required: false,
                description: Some(what.into()),
                ext: FieldExtensions::default(),
            });
        }
    }
    if let Some(m) = message {
        for f in &m.fields {
            if let Some(p) = o.properties.get(&f.name) {
                let (ty, description, ext) = prop_type(p)?;
                props.push(RawProp {
                    json_name: f.name.clone(),
                    ty,
                    required: o.required.contains(&f.name),
                    description: description.or_else(|| f.doc.clone()),
                    ext,
                });
                continue;
            }
            let ty = json_type_of_proto(&f.ty, f.label, by_message)?;
            props.push(RawProp {
                json_name: f.name.clone(),
                ty,
                required: o.required.contains(&f.name),
                description: f.doc.clone(),
                ext: extensions_from_markers(&f.markers),
            });
        }
        for name in o.properties.keys() {
            if m.field(name).is_none() {
                return Err(format!(
                    "overlay property {name} is not a field of {}",
                    m.name
                ));
            }
        }
    } else {
        for (name, p) in &o.properties {
            let (ty, description, ext) = prop_type(p)?;
            props.push(RawProp {
                json_name: name.clone(),
                ty,
                required: o.required.contains(name),
                description,
                ext,
            });
        }
    }
    Ok(RawDef {
        id: id.to_string(),
        description: o
            .description
            .clone()
            .or_else(|| message.and_then(|m| m.doc.clone())),
        gvks: o
            .gvks
            .iter()
            .map(|g| GroupVersionKind {
                group: g.group.clone(),
                version: g.version.clone(),
                kind: g.kind.clone(),
            })
            .collect(),
        extensions: BTreeMap::new(),
        origin: Origin::Overlay,
        kind: RawKind::Object {
            props,
            message: o.proto.clone(),
            keep_order: true,
        },
    })
}

/// The JSON type go-to-protobuf's message field corresponds to (JSON names = proto names).
fn json_type_of_proto(
    ty: &proto::FieldType,
    label: Label,
    by_message: &BTreeMap<String, String>,
) -> Result<FieldType, String> {
    let single = match ty {
        proto::FieldType::Scalar(s) => scalar_json_type(*s)?,
        proto::FieldType::Message(m) => FieldType::Ref(
            by_message
                .get(m)
                .cloned()
                .ok_or_else(|| format!("no definition for proto message {m}"))?,
        ),
        proto::FieldType::Map { key, value } => {
            if *key != Scalar::String {
                return Err("map keys other than string are not supported".into());
            }
            return Ok(FieldType::Map(Box::new(json_type_of_proto(
                value,
                Label::Optional,
                by_message,
            )?)));
        }
    };
    Ok(if label == Label::Repeated {
        FieldType::Array(Box::new(single))
    } else {
        single
    })
}

fn scalar_json_type(s: Scalar) -> Result<FieldType, String> {
    Ok(match s {
        Scalar::String => FieldType::String,
        Scalar::Bool => FieldType::Bool,
        Scalar::Int32 => FieldType::I32,
        Scalar::Int64 => FieldType::I64,
        Scalar::Double => FieldType::F64,
        Scalar::Bytes => FieldType::Bytes,
        other => return Err(format!("proto scalar {} is not supported", other.as_str())),
    })
}

/// Maps the JSON properties onto the proto message and orders them.
fn finish(
    raw: &RawDef,
    raws: &BTreeMap<String, RawDef>,
    protos: &ProtoSet,
) -> Result<TypeDef, String> {
    let shape = match &raw.kind {
        RawKind::Special(s) => Shape::Special(s.clone()),
        RawKind::FreeForm => Shape::FreeForm,
        RawKind::Object {
            props,
            message,
            keep_order,
        } => {
            let mut remaining: BTreeMap<&str, &RawProp> =
                props.iter().map(|p| (p.json_name.as_str(), p)).collect();
            let mut ordered: Vec<Field> = Vec::new();
            let layout = match message {
                Some(m) => {
                    let msg = protos
                        .message(m)
                        .ok_or_else(|| format!("proto message {m} not found"))?;
                    let mut mapped = Vec::new();
                    let layout = map_message(msg, &mut remaining, &[], &mut mapped, raws, protos)?;
                    // TypeMeta is not part of the proto: kind, apiVersion first.
                    let mut head = Vec::new();
                    for n in ["kind", "apiVersion"] {
                        if let Some(p) = remaining.remove(n) {
                            head.push(make_field(p, None));
                        }
                    }
                    ordered.extend(head);
                    ordered.extend(mapped);
                    Some(layout)
                }
                None => {
                    for n in ["kind", "apiVersion"] {
                        if let Some(p) = remaining.remove(n) {
                            ordered.push(make_field(p, None));
                        }
                    }
                    None
                }
            };
            // The rest: schema order for overlay types, alphabetical otherwise.
            if *keep_order {
                for p in props {
                    if remaining.remove(p.json_name.as_str()).is_some() {
                        ordered.push(make_field(p, None));
                    }
                }
            } else {
                for p in remaining.values() {
                    ordered.push(make_field(p, None));
                }
            }
            let mut seen = BTreeSet::new();
            for f in &ordered {
                if !seen.insert(f.rust_name.clone()) {
                    return Err(format!("two fields are named {} in Rust", f.rust_name));
                }
            }
            Shape::Struct(StructDef {
                fields: ordered,
                proto: layout,
            })
        }
    };
    Ok(TypeDef {
        id: raw.id.clone(),
        module: module_of(&raw.id),
        name: type_name_of(&raw.id),
        description: raw.description.clone(),
        gvks: raw.gvks.clone(),
        shape,
        origin: raw.origin,
        extensions: raw.extensions.clone(),
    })
}

fn make_field(p: &RawProp, proto: Option<FieldProto>) -> Field {
    let ty = match (&p.ty, &proto) {
        (
            FieldType::String,
            Some(FieldProto {
                encoding: ProtoEncoding::Message(m),
                ..
            }),
        ) if m == DURATION_MESSAGE => FieldType::Duration,
        (ty, _) => ty.clone(),
    };
    let go = go_rule(&ty, p.required);
    Field {
        json_name: p.json_name.clone(),
        rust_name: rust_field_name(&p.json_name),
        ty,
        required: p.required,
        boxed: false,
        description: p.description.clone(),
        proto,
        ext: p.ext.clone(),
        go,
        go_struct: None,
        go_collection: None,
    }
}

const DURATION_MESSAGE: &str = "k8s.io.apimachinery.pkg.apis.meta.v1.Duration";

/// Normalised name for matching proto field names to JSON names
/// (`$ref` ↔ `ref`, `x-kubernetes-list-type` ↔ `xKubernetesListType`).
fn match_key(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

fn map_message(
    msg: &proto::Message,
    remaining: &mut BTreeMap<&str, &RawProp>,
    path: &[u32],
    mapped: &mut Vec<Field>,
    raws: &BTreeMap<String, RawDef>,
    protos: &ProtoSet,
) -> Result<ProtoLayout, String> {
    let mut entries = Vec::new();
    for f in &msg.fields {
        let json_name = if remaining.contains_key(f.name.as_str()) {
            Some(f.name.clone())
        } else {
            let key = match_key(&f.name);
            remaining
                .keys()
                .find(|k| match_key(k) == key)
                .map(|k| k.to_string())
        };
        if let Some(json_name) = json_name {
            let Some(p) = remaining.remove(json_name.as_str()) else {
                continue;
            };
            let encoding = encoding_for(&p.ty, &f.ty, f.label, raws, protos)
                .map_err(|e| format!("{}.{} (JSON {}): {e}", msg.name, f.name, p.json_name))?;
            mapped.push(make_field(
                p,
                Some(FieldProto {
                    path: path.to_vec(),
                    tag: f.tag,
                    encoding: encoding.clone(),
                }),
            ));
            entries.push(ProtoEntry::Field {
                tag: f.tag,
                name: f.name.clone(),
                json_name,
                encoding,
            });
            continue;
        }
        // An inline embedding: a message-typed field without a JSON property.
        match (&f.ty, f.label) {
            (proto::FieldType::Message(m), Label::Optional | Label::Required) => {
                let inner = protos
                    .message(m)
                    .ok_or_else(|| format!("proto message {m} not found"))?;
                let mut sub_path = path.to_vec();
                sub_path.push(f.tag);
                let layout = map_message(inner, remaining, &sub_path, mapped, raws, protos)?;
                entries.push(ProtoEntry::Embedded {
                    tag: f.tag,
                    name: f.name.clone(),
                    layout,
                });
            }
            _ => {
                return Err(format!(
                    "proto field {}.{} = {} matches no JSON property",
                    msg.name, f.name, f.tag
                ));
            }
        }
    }
    Ok(ProtoLayout {
        message: msg.full_name(),
        entries,
    })
}

/// The proto message a JSON type is encoded as, if it is a message.
fn message_of_json(ty: &FieldType, raws: &BTreeMap<String, RawDef>) -> Option<String> {
    match ty {
        FieldType::Ref(id) => match raws.get(id).map(|r| &r.kind) {
            Some(RawKind::Object { message, .. }) => message.clone(),
            Some(RawKind::Special(_)) => Some(proto_message_of(id)),
            _ => None,
        },
        _ => None,
    }
}

fn scalar_matches(json: &FieldType, s: Scalar) -> bool {
    matches!(
        (json, s),
        (FieldType::String, Scalar::String)
            | (FieldType::Bool, Scalar::Bool)
            | (FieldType::I32, Scalar::Int32)
            | (FieldType::I64, Scalar::Int64)
            | (FieldType::F64, Scalar::Double)
            | (FieldType::Bytes, Scalar::Bytes)
    )
}

/// How a value of JSON type `json` is written as a proto field of type `pty`.
fn encoding_for(
    json: &FieldType,
    pty: &proto::FieldType,
    label: Label,
    raws: &BTreeMap<String, RawDef>,
    protos: &ProtoSet,
) -> Result<ProtoEncoding, String> {
    match (label, pty) {
        (Label::Map, proto::FieldType::Map { key, value }) => {
            let FieldType::Map(v) = json else {
                return Err(format!("proto map but JSON {json:?}"));
            };
            if *key != Scalar::String {
                return Err("map keys other than string are not supported".into());
            }
            let value = single_encoding(v, value, raws, protos)?;
            Ok(ProtoEncoding::Map {
                key: *key,
                value: Box::new(value),
            })
        }
        (Label::Repeated, proto::FieldType::Scalar(s)) => match json {
            FieldType::Array(item) if scalar_matches(item, *s) => {
                Ok(ProtoEncoding::RepeatedScalar(*s))
            }
            _ => Err(format!("repeated {} but JSON {json:?}", s.as_str())),
        },
        (Label::Repeated, proto::FieldType::Message(m)) => match json {
            FieldType::Array(item) if message_of_json(item, raws).as_deref() == Some(m) => {
                Ok(ProtoEncoding::RepeatedMessage(m.clone()))
            }
            _ => Err(format!("repeated {m} but JSON {json:?}")),
        },
        (Label::Optional | Label::Required, pty) => single_encoding(json, pty, raws, protos),
        _ => Err(format!("unsupported proto field {pty:?}")),
    }
}

/// A non-repeated proto value (also a map value).
fn single_encoding(
    json: &FieldType,
    pty: &proto::FieldType,
    raws: &BTreeMap<String, RawDef>,
    protos: &ProtoSet,
) -> Result<ProtoEncoding, String> {
    match pty {
        proto::FieldType::Scalar(s) if scalar_matches(json, *s) => Ok(ProtoEncoding::Scalar(*s)),
        proto::FieldType::Message(m) => {
            if message_of_json(json, raws).as_deref() == Some(m) {
                return Ok(ProtoEncoding::Message(m.clone()));
            }
            if m == DURATION_MESSAGE && *json == FieldType::String {
                return Ok(ProtoEncoding::Message(m.clone()));
            }
            // A wrapper message around a Go named slice type.
            if let FieldType::Array(_) = json {
                let wrapper = protos
                    .message(m)
                    .ok_or_else(|| format!("proto message {m} not found"))?;
                if let [inner] = wrapper.fields.as_slice()
                    && inner.label == Label::Repeated
                {
                    let enc = encoding_for(json, &inner.ty, inner.label, raws, protos)?;
                    return Ok(ProtoEncoding::Wrapper {
                        message: m.clone(),
                        tag: inner.tag,
                        inner: Box::new(enc),
                    });
                }
            }
            Err(format!("proto message {m} but JSON {json:?}"))
        }
        other => Err(format!("proto {other:?} but JSON {json:?}")),
    }
}

/// Every referenced definition exists; every struct with a protobuf form only refers to
/// types that have one.
fn check_references(types: &BTreeMap<String, TypeDef>, problems: &mut Vec<String>) {
    fn refs(t: &FieldType, out: &mut Vec<String>) {
        match t {
            FieldType::Ref(id) => out.push(id.clone()),
            FieldType::Array(i) | FieldType::Map(i) => refs(i, out),
            _ => {}
        }
    }
    for t in types.values() {
        let Shape::Struct(s) = &t.shape else { continue };
        for f in &s.fields {
            let mut ids = Vec::new();
            refs(&f.ty, &mut ids);
            for id in ids {
                match types.get(&id) {
                    None => problems.push(format!(
                        "{}.{}: reference to unknown definition {id}",
                        t.id, f.json_name
                    )),
                    Some(target) => {
                        if f.proto.is_some() && !has_proto(target) {
                            problems.push(format!(
                                "{}.{}: {id} has no protobuf form",
                                t.id, f.json_name
                            ));
                        }
                    }
                }
            }
        }
    }
}

/// Whether the type implements `prost::Message` in the generated code.
pub fn has_proto(t: &TypeDef) -> bool {
    match &t.shape {
        Shape::Struct(s) => s.proto.is_some(),
        Shape::Special(_) => true,
        Shape::FreeForm => false,
    }
}

/// Boxes fields whose type contains the struct itself without indirection.
fn mark_boxed(types: &mut BTreeMap<String, TypeDef>) {
    // Direct (unboxed, non-collection) containment edges.
    let mut edges: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for t in types.values() {
        let e = edges.entry(t.id.clone()).or_default();
        match &t.shape {
            Shape::Struct(s) => {
                for f in &s.fields {
                    if let FieldType::Ref(id) = &f.ty {
                        e.push(id.clone());
                    }
                }
            }
            // kiln_runtime's SchemaOr* types box their schema themselves.
            Shape::Special(_) | Shape::FreeForm => {}
        }
    }
    let reaches = |from: &str, to: &str| -> bool {
        let mut stack = vec![from.to_string()];
        let mut seen = BTreeSet::new();
        while let Some(n) = stack.pop() {
            if n == to {
                return true;
            }
            if !seen.insert(n.clone()) {
                continue;
            }
            if let Some(next) = edges.get(&n) {
                stack.extend(next.iter().cloned());
            }
        }
        false
    };
    let mut to_box = Vec::new();
    for t in types.values() {
        if let Shape::Struct(s) = &t.shape {
            for (i, f) in s.fields.iter().enumerate() {
                if let FieldType::Ref(id) = &f.ty
                    && reaches(id, &t.id)
                {
                    to_box.push((t.id.clone(), i));
                }
            }
        }
    }
    for (id, i) in to_box {
        if let Some(Shape::Struct(s)) = types.get_mut(&id).map(|t| &mut t.shape) {
            s.fields[i].boxed = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acronym_aware_snake_case() {
        let cases = [
            ("clusterIPs", "cluster_ips"),
            ("podCIDRs", "pod_cidrs"),
            ("podCIDR", "pod_cidr"),
            ("hostIPC", "host_ipc"),
            ("hostIPs", "host_ips"),
            ("apiVersion", "api_version"),
            ("APIVersion", "api_version"),
            (
                "serverAddressByClientCIDRs",
                "server_address_by_client_cidrs",
            ),
            ("nonResourceURLs", "non_resource_urls"),
            ("targetWWNs", "target_wwns"),
            ("setHostnameAsFQDN", "set_hostname_as_fqdn"),
            ("stubPKCS10Request", "stub_pkcs10_request"),
            ("scaleIO", "scale_io"),
            ("Port", "port"),
            ("x-kubernetes-list-map-keys", "x_kubernetes_list_map_keys"),
            ("$ref", "ref_"),
            ("$schema", "schema"),
            ("type", "type_"),
            ("continue", "continue_"),
            ("externalIPs", "external_ips"),
            ("ipFamilies", "ip_families"),
            ("IPFamilies", "ip_families"),
            ("readOnlyRootFilesystem", "read_only_root_filesystem"),
            ("v1", "v1"),
        ];
        for (json, rust) in cases {
            assert_eq!(rust_field_name(json), rust, "{json}");
        }
    }

    /// A spec and protos small enough to read: TypeMeta, an inline embedding, a
    /// wrapper, a Duration and a field the proto lacks.
    fn synthetic() -> (OpenAPI, ProtoSet) {
        let spec = serde_json::json!({
            "openapi": "3.0.0",
            "info": { "title": "t", "version": "1" },
            "paths": {},
            "components": { "schemas": {
                "io.k8s.api.example.v1.Widget": {
                    "type": "object",
                    "required": ["name"],
                    "x-kubernetes-group-version-kind": [
                        { "group": "example.io", "version": "v1", "kind": "Widget" }
                    ],
                    "properties": {
                        "apiVersion": { "type": "string" },
                        "kind": { "type": "string" },
                        "name": { "type": "string", "description": "the name" },
                        "size": { "type": "integer", "format": "int64" },
                        "timeout": { "type": "string" },
                        "verbs": { "type": "array", "items": { "type": "string" } },
                        "zeta": { "type": "boolean" },
                        "alpha": { "type": "string", "format": "byte" }
                    }
                }
            } }
        });
        let spec: OpenAPI = serde_json::from_value(spec).unwrap();
        let mut protos = ProtoSet::default();
        protos
            .add_file(
                Path::new("example.proto"),
                "syntax = \"proto2\";\npackage k8s.io.api.example.v1;\n\
                 message Widget { optional Inner inner = 1; optional bytes alpha = 4;\n\
                   optional .k8s.io.apimachinery.pkg.apis.meta.v1.Duration timeout = 2;\n\
                   optional Verbs verbs = 3; }\n\
                 message Inner { optional int64 size = 2; optional string name = 1; }\n\
                 message Verbs { repeated string items = 1; }\n",
            )
            .unwrap();
        protos
            .add_file(
                Path::new("meta.proto"),
                "syntax = \"proto2\";\npackage k8s.io.apimachinery.pkg.apis.meta.v1;\n\
                 message Duration { optional int64 duration = 1; }\n",
            )
            .unwrap();
        protos.resolve().unwrap();
        (spec, protos)
    }

    /// The Go facts of the synthetic `Widget`: `inner` a pointer, `verbs` with `omitempty`.
    fn synthetic_overlay() -> Overlay {
        let mut o = Overlay::default();
        let widget = "io.k8s.api.example.v1.Widget".to_string();
        o.go_structs.fields.insert(
            widget.clone(),
            [("inner".to_string(), GoStruct::Pointer)].into(),
        );
        o.go_collections.fields.insert(
            widget,
            [("verbs".to_string(), GoCollection::OmitEmpty)].into(),
        );
        o
    }

    #[test]
    fn maps_a_synthetic_definition() {
        let (spec, protos) = synthetic();
        let types = build_types_with_overlay(&spec, &protos, &synthetic_overlay()).unwrap();
        let w = &types["io.k8s.api.example.v1.Widget"];
        let Shape::Struct(s) = &w.shape else { panic!() };
        let order: Vec<&str> = s.fields.iter().map(|f| f.json_name.as_str()).collect();
        // TypeMeta first, then proto order (through the embedding), then the rest sorted.
        assert_eq!(
            order,
            [
                "kind",
                "apiVersion",
                "size",
                "name",
                "alpha",
                "timeout",
                "verbs",
                "zeta"
            ]
        );
        let name = s.field("name").unwrap();
        assert!(name.required);
        assert_eq!(name.description.as_deref(), Some("the name"));
        assert_eq!(name.proto.as_ref().unwrap().path, [1]);
        assert_eq!(s.field("timeout").unwrap().ty, FieldType::Duration);
        assert_eq!(s.field("alpha").unwrap().ty, FieldType::Bytes);
        assert!(matches!(
            s.field("verbs").unwrap().proto.as_ref().unwrap().encoding,
            ProtoEncoding::Wrapper { tag: 1, .. }
        ));
        assert!(s.field("zeta").unwrap().proto.is_none());
        assert_eq!(w.gvks[0].kind, "Widget");
    }

    #[test]
    fn an_unmatched_proto_scalar_is_an_error() {
        let (spec, mut protos) = synthetic();
        protos
            .add_file(
                Path::new("extra.proto"),
                "syntax = \"proto2\";\npackage k8s.io.api.example.v1;\n\
                 message Verbs { repeated string items = 1; optional string stray = 2; }\n",
            )
            .unwrap();
        protos.resolve().unwrap();
        // `Verbs` now has two fields: not a wrapper, so `verbs` no longer maps.
        let err = build_types_with_overlay(&spec, &protos, &synthetic_overlay()).unwrap_err();
        assert!(err.to_string().contains("Widget.verbs"), "{err}");
        assert!(!err.to_string().contains("go-collections"), "{err}");
    }

    #[test]
    fn a_collection_or_struct_field_without_a_go_fact_is_an_error() {
        let (spec, protos) = synthetic();
        let err = build_types_with_overlay(&spec, &protos, &Overlay::default()).unwrap_err();
        let err = err.to_string();
        assert!(
            err.contains("go-collections.json: no entry for io.k8s.api.example.v1.Widget.verbs"),
            "{err}"
        );
        let mut stale = synthetic_overlay();
        stale.go_collections.fields.insert(
            "io.k8s.api.example.v1.Widget".into(),
            [
                ("verbs".to_string(), GoCollection::OmitEmpty),
                ("alpha".to_string(), GoCollection::OmitEmpty),
            ]
            .into(),
        );
        let err = build_types_with_overlay(&spec, &protos, &stale).unwrap_err();
        assert!(
            err.to_string()
                .contains("Widget.alpha is not a list or map"),
            "{err}"
        );
    }

    #[test]
    fn module_and_names() {
        assert_eq!(module_of("io.k8s.api.core.v1.Pod"), ["api", "core", "v1"]);
        assert_eq!(
            module_of("io.k8s.kube-aggregator.pkg.apis.apiregistration.v1.APIService"),
            ["kube_aggregator", "pkg", "apis", "apiregistration", "v1"]
        );
        assert_eq!(type_name_of("io.k8s.api.storage.v1.CSIDriver"), "CSIDriver");
        assert_eq!(
            proto_message_of("io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSON"),
            "k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.JSON"
        );
        assert_eq!(screaming_snake("APIService"), "API_SERVICE");
        assert_eq!(screaming_snake("Pod"), "POD");
    }
}
