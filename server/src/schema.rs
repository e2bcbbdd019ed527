//! A navigable model of the release's object schemas, for the code paths that must know
//! the shape of an object beyond its JSON: strategic merge patch (merge keys and patch
//! strategies), server-side apply (list types, map keys, atomic maps and structs) and
//! field validation (which fields exist).
//!
//! Built once, on first use, from the embedded OpenAPI v2 document (generated data), so it
//! always matches the served release. Nodes that carry JSON-schema structure inline (the
//! way CRD schemas do) are registered as anonymous definitions, so the same model can hold
//! custom resource schemas later.

use std::collections::HashMap;
use std::sync::OnceLock;

use kiln_runtime::registry::ResourceInfo;
use serde_json::Value;

/// Index of a definition in [`SchemaIndex`].
pub type DefId = u32;

/// The schema of one value.
#[derive(Debug, Clone, PartialEq)]
pub enum Schema {
    /// A named or anonymous definition.
    Def(DefId),
    /// A string, number, integer or boolean (also int-or-string, quantities, times).
    Scalar,
    /// Anything: embedded raw objects, preserved unknown fields, untyped JSON.
    Any,
    /// A map with string keys.
    Map(Box<MapSchema>),
    /// A list.
    List(Box<ListSchema>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct MapSchema {
    pub values: Schema,
    /// `x-kubernetes-map-type: atomic`: replaced as a whole by apply.
    pub atomic: bool,
}

/// `x-kubernetes-list-type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListType {
    Atomic,
    Set,
    Map,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ListSchema {
    pub items: Schema,
    /// Lists without an explicit type are atomic, as in Kubernetes' structural schemas.
    pub list_type: ListType,
    /// `x-kubernetes-list-map-keys` (for `ListType::Map`).
    pub map_keys: Vec<String>,
}

/// The strategic-merge-patch behaviour of a field (`x-kubernetes-patch-strategy`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PatchStrategy {
    pub merge: bool,
    pub replace: bool,
    pub retain_keys: bool,
}

impl PatchStrategy {
    fn parse(s: &str) -> PatchStrategy {
        let mut p = PatchStrategy::default();
        for part in s.split(',').map(str::trim) {
            match part {
                "merge" => p.merge = true,
                "replace" => p.replace = true,
                "retainKeys" => p.retain_keys = true,
                _ => {}
            }
        }
        p
    }
}

/// One property of a struct.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub schema: Schema,
    pub patch_strategy: PatchStrategy,
    /// `x-kubernetes-patch-merge-key`.
    pub merge_key: Option<String>,
}

/// A definition: a struct with named fields, or an alias of another shape.
#[derive(Debug, Clone, PartialEq)]
pub enum Definition {
    Struct(StructDef),
    Alias(Schema),
}

#[derive(Debug, Clone, PartialEq)]
pub struct StructDef {
    pub name: String,
    /// Fields in the document's order.
    pub fields: Vec<(String, Field)>,
    index: HashMap<String, usize>,
    /// `x-kubernetes-map-type: atomic` on the struct: apply replaces it as a whole.
    pub atomic: bool,
    /// `x-kubernetes-preserve-unknown-fields`: fields beyond `fields` are allowed.
    pub preserve_unknown: bool,
}

impl StructDef {
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.index.get(name).map(|&i| &self.fields[i].1)
    }
}

/// A schema resolved to its shape (definitions followed).
#[derive(Debug, Clone, Copy)]
pub enum Shape<'a> {
    Struct(&'a StructDef),
    Map(&'a MapSchema),
    List(&'a ListSchema),
    Scalar,
    Any,
}

#[derive(Debug, Default)]
pub struct SchemaIndex {
    defs: Vec<Definition>,
    by_name: HashMap<String, DefId>,
}

/// The release's schemas, parsed from the embedded OpenAPI v2 document on first use.
pub fn release() -> &'static SchemaIndex {
    static INDEX: OnceLock<SchemaIndex> = OnceLock::new();
    INDEX.get_or_init(|| {
        serde_json::from_str::<Definitions>(kiln_generated::OPENAPI_V2)
            .map(|doc| SchemaIndex::from_openapi_v2(&doc.into_document()))
            .unwrap_or_default()
    })
}

/// The part of the OpenAPI v2 document the index reads: `definitions`, without the
/// `description` texts. Paths and descriptions are four fifths of the document; parsing
/// the whole of it into a `Value` held ~20 MB at once, which the process kept as resident
/// memory after the first write.
#[derive(serde::Deserialize)]
struct Definitions {
    #[serde(default)]
    definitions: Lean,
}

impl Definitions {
    fn into_document(self) -> Value {
        let mut doc = serde_json::Map::new();
        doc.insert("definitions".into(), self.definitions.0);
        Value::Object(doc)
    }
}

/// A JSON value read without the `description` texts of its objects (a `description`
/// member whose value is a string; a property *named* `description`, whose value is a
/// schema object, is kept).
#[derive(Default)]
struct Lean(Value);

impl<'de> serde::Deserialize<'de> for Lean {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Lean, D::Error> {
        d.deserialize_any(LeanVisitor { text: Text::Keep })
            .map(Lean)
    }
}

/// What a [`LeanVisitor`] does with a string.
#[derive(Clone, Copy, PartialEq)]
enum Text {
    Keep,
    /// Read it without storing it (the value becomes null and is then left out).
    Skip,
}

/// A `description` member: its text skipped, anything else read as [`Lean`].
struct Description(Value);

impl<'de> serde::Deserialize<'de> for Description {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Description, D::Error> {
        d.deserialize_any(LeanVisitor { text: Text::Skip })
            .map(Description)
    }
}

struct LeanVisitor {
    text: Text,
}

impl<'de> serde::de::Visitor<'de> for LeanVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
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
        Ok(Value::from(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(match self.text {
            Text::Keep => Value::String(v.to_string()),
            Text::Skip => Value::Null,
        })
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(match self.text {
            Text::Keep => Value::String(v),
            Text::Skip => Value::Null,
        })
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(Lean(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if key == "description" {
                let Description(v) = map.next_value()?;
                if !v.is_null() {
                    out.insert(key, v);
                }
            } else {
                let Lean(v) = map.next_value()?;
                out.insert(key, v);
            }
        }
        Ok(Value::Object(out))
    }
}

/// The schema of a resource's objects, when the release describes it.
pub fn for_resource(r: &ResourceInfo) -> Option<Schema> {
    release().named(r.definition)
}

const REF_PREFIX: &str = "#/definitions/";

impl SchemaIndex {
    /// Builds the index from an OpenAPI v2 document's `definitions`.
    pub fn from_openapi_v2(doc: &Value) -> SchemaIndex {
        let mut idx = SchemaIndex::default();
        let Some(defs) = doc.get("definitions").and_then(Value::as_object) else {
            return idx;
        };
        // Names first, so references resolve regardless of order.
        for name in defs.keys() {
            let id = idx.defs.len() as DefId;
            idx.defs.push(Definition::Alias(Schema::Any));
            idx.by_name.insert(name.clone(), id);
        }
        for (name, node) in defs {
            let id = idx.by_name[name.as_str()];
            let def = idx.definition_of(name, node);
            idx.defs[id as usize] = def;
        }
        idx
    }

    /// A named definition as a schema.
    pub fn named(&self, name: &str) -> Option<Schema> {
        self.by_name.get(name).map(|&id| Schema::Def(id))
    }

    pub fn definition(&self, id: DefId) -> Option<&Definition> {
        self.defs.get(id as usize)
    }

    /// Follows definitions (and aliases) to the shape of a value.
    pub fn shape<'a>(&'a self, schema: &'a Schema) -> Shape<'a> {
        let mut s = schema;
        // Alias chains are short; the bound guards against a malformed cycle.
        for _ in 0..16 {
            match s {
                Schema::Def(id) => match self.defs.get(*id as usize) {
                    Some(Definition::Struct(st)) => return Shape::Struct(st),
                    Some(Definition::Alias(inner)) => s = inner,
                    None => return Shape::Any,
                },
                Schema::Scalar => return Shape::Scalar,
                Schema::Any => return Shape::Any,
                Schema::Map(m) => return Shape::Map(m),
                Schema::List(l) => return Shape::List(l),
            }
        }
        Shape::Any
    }

    /// The struct a schema resolves to, if any.
    pub fn struct_of<'a>(&'a self, schema: &'a Schema) -> Option<&'a StructDef> {
        match self.shape(schema) {
            Shape::Struct(s) => Some(s),
            _ => None,
        }
    }

    fn definition_of(&mut self, name: &str, node: &Value) -> Definition {
        if let Some(props) = node.get("properties").and_then(Value::as_object) {
            return Definition::Struct(self.struct_of_node(name, props, node));
        }
        Definition::Alias(self.schema_of_node(name, node, None))
    }

    fn struct_of_node(
        &mut self,
        name: &str,
        props: &serde_json::Map<String, Value>,
        node: &Value,
    ) -> StructDef {
        let mut fields = Vec::with_capacity(props.len());
        let mut index = HashMap::with_capacity(props.len());
        for (fname, p) in props {
            let field = Field {
                schema: self.schema_of_node(&format!("{name}.{fname}"), p, None),
                patch_strategy: p
                    .get("x-kubernetes-patch-strategy")
                    .and_then(Value::as_str)
                    .map(PatchStrategy::parse)
                    .unwrap_or_default(),
                merge_key: p
                    .get("x-kubernetes-patch-merge-key")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            };
            index.insert(fname.clone(), fields.len());
            fields.push((fname.clone(), field));
        }
        StructDef {
            name: name.to_string(),
            fields,
            index,
            atomic: node.get("x-kubernetes-map-type").and_then(Value::as_str) == Some("atomic"),
            preserve_unknown: node
                .get("x-kubernetes-preserve-unknown-fields")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        }
    }

    /// The schema of a node; `hint` carries the merge key of the property holding a list.
    fn schema_of_node(&mut self, path: &str, node: &Value, hint: Option<&str>) -> Schema {
        if let Some(r) = node.get("$ref").and_then(Value::as_str) {
            return self.reference(r);
        }
        // `allOf: [{$ref}]` is how some documents attach a description to a reference.
        if let Some([only]) = node
            .get("allOf")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            && let Some(r) = only.get("$ref").and_then(Value::as_str)
        {
            return self.reference(r);
        }
        if node
            .get("x-kubernetes-preserve-unknown-fields")
            .and_then(Value::as_bool)
            == Some(true)
            && node.get("properties").is_none()
        {
            return Schema::Any;
        }
        if node
            .get("x-kubernetes-int-or-string")
            .and_then(Value::as_bool)
            == Some(true)
        {
            return Schema::Scalar;
        }
        match node.get("type").and_then(Value::as_str) {
            Some("string" | "integer" | "number" | "boolean") => Schema::Scalar,
            Some("array") => {
                let items = match node.get("items") {
                    Some(i) => self.schema_of_node(&format!("{path}[]"), i, None),
                    None => Schema::Any,
                };
                let list_type = match node.get("x-kubernetes-list-type").and_then(Value::as_str) {
                    Some("set") => ListType::Set,
                    Some("map") => ListType::Map,
                    Some(_) => ListType::Atomic,
                    // Kubernetes' built-in types: a list with a patch merge key behaves as
                    // a map keyed by it; others are atomic.
                    None => match node
                        .get("x-kubernetes-patch-merge-key")
                        .and_then(Value::as_str)
                        .or(hint)
                    {
                        Some(_) => ListType::Map,
                        None => ListType::Atomic,
                    },
                };
                let mut map_keys: Vec<String> = node
                    .get("x-kubernetes-list-map-keys")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default();
                if map_keys.is_empty()
                    && list_type == ListType::Map
                    && let Some(k) = node
                        .get("x-kubernetes-patch-merge-key")
                        .and_then(Value::as_str)
                        .or(hint)
                {
                    map_keys.push(k.to_string());
                }
                Schema::List(Box::new(ListSchema {
                    items,
                    list_type,
                    map_keys,
                }))
            }
            Some("object") | None => {
                if let Some(props) = node.get("properties").and_then(Value::as_object) {
                    let id = self.defs.len() as DefId;
                    self.defs.push(Definition::Alias(Schema::Any));
                    let st = self.struct_of_node(path, props, node);
                    self.defs[id as usize] = Definition::Struct(st);
                    return Schema::Def(id);
                }
                match node.get("additionalProperties") {
                    // No declared fields and no value schema: untyped.
                    Some(Value::Bool(false)) | None => Schema::Any,
                    Some(Value::Bool(true)) => Schema::Map(Box::new(MapSchema {
                        values: Schema::Any,
                        atomic: is_atomic_map(node),
                    })),
                    Some(v) => Schema::Map(Box::new(MapSchema {
                        values: self.schema_of_node(&format!("{path}{{}}"), v, None),
                        atomic: is_atomic_map(node),
                    })),
                }
            }
            Some(_) => Schema::Any,
        }
    }

    fn reference(&self, r: &str) -> Schema {
        r.strip_prefix(REF_PREFIX)
            .and_then(|n| self.by_name.get(n))
            .map(|&id| Schema::Def(id))
            .unwrap_or(Schema::Any)
    }
}

fn is_atomic_map(node: &Value) -> bool {
    node.get("x-kubernetes-map-type").and_then(Value::as_str) == Some("atomic")
}

/// The schema of the field `name` of a struct-shaped schema.
pub fn field<'a>(idx: &'a SchemaIndex, schema: &'a Schema, name: &str) -> Option<&'a Field> {
    idx.struct_of(schema).and_then(|s| s.field(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod_spec() -> (&'static SchemaIndex, Schema) {
        let idx = release();
        let spec = idx
            .named("io.k8s.api.core.v1.PodSpec")
            .expect("PodSpec is in every release");
        (idx, spec)
    }

    #[test]
    fn lean_reading_drops_description_texts_only() {
        let doc = r#"{"paths": {"/x": {}}, "definitions": {"T": {"description": "text",
            "properties": {"description": {"type": "string", "description": "more"},
                           "n": {"type": "integer", "description": "esc\u00e9"}}}}}"#;
        let lean = serde_json::from_str::<Definitions>(doc).map(Definitions::into_document);
        assert_eq!(
            lean.ok(),
            Some(serde_json::json!({"definitions": {"T": {"properties": {
                "description": {"type": "string"}, "n": {"type": "integer"}}}}}))
        );
    }

    #[test]
    fn lean_reading_keeps_every_definition_of_the_release() {
        fn strip(v: &Value) -> Value {
            match v {
                Value::Object(m) => Value::Object(
                    m.iter()
                        .filter(|(k, v)| !(k.as_str() == "description" && v.is_string()))
                        .map(|(k, v)| (k.clone(), strip(v)))
                        .collect(),
                ),
                Value::Array(a) => Value::Array(a.iter().map(strip).collect()),
                other => other.clone(),
            }
        }
        let full: Value = serde_json::from_str(kiln_generated::OPENAPI_V2).unwrap_or_default();
        let lean = serde_json::from_str::<Definitions>(kiln_generated::OPENAPI_V2)
            .map(Definitions::into_document)
            .unwrap_or_default();
        assert!(
            full["definitions"]
                .as_object()
                .is_some_and(|d| d.len() > 100)
        );
        assert_eq!(lean["definitions"], strip(&full["definitions"]));
    }

    #[test]
    fn containers_merge_by_name() {
        let (idx, spec) = pod_spec();
        let f = field(idx, &spec, "containers").expect("containers");
        assert!(f.patch_strategy.merge);
        assert_eq!(f.merge_key.as_deref(), Some("name"));
        let Shape::List(l) = idx.shape(&f.schema) else {
            panic!("containers is a list")
        };
        assert_eq!(l.list_type, ListType::Map);
        assert_eq!(l.map_keys, vec!["name".to_string()]);
        let c = idx.struct_of(&l.items).expect("Container is a struct");
        assert_eq!(c.name, "io.k8s.api.core.v1.Container");
        assert!(c.field("image").is_some());
        assert!(c.field("bogus").is_none());
    }

    #[test]
    fn tolerations_are_atomic_and_ports_keyed_twice() {
        let (idx, spec) = pod_spec();
        let f = field(idx, &spec, "tolerations").expect("tolerations");
        let Shape::List(l) = idx.shape(&f.schema) else {
            panic!("tolerations is a list")
        };
        assert_eq!(l.list_type, ListType::Atomic);
        let c = idx
            .named("io.k8s.api.core.v1.Container")
            .expect("Container");
        let ports = field(idx, &c, "ports").expect("ports");
        let Shape::List(l) = idx.shape(&ports.schema) else {
            panic!("ports is a list")
        };
        assert_eq!(l.map_keys, vec!["containerPort", "protocol"]);
        assert_eq!(ports.merge_key.as_deref(), Some("containerPort"));
    }

    #[test]
    fn maps_scalars_and_atomic_structs() {
        let idx = release();
        let meta = idx
            .named("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta")
            .expect("ObjectMeta");
        let labels = field(idx, &meta, "labels").expect("labels");
        let Shape::Map(m) = idx.shape(&labels.schema) else {
            panic!("labels is a map")
        };
        assert_eq!(m.values, Schema::Scalar);
        assert!(!m.atomic);
        let sel = idx
            .named("io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector")
            .expect("LabelSelector");
        assert!(idx.struct_of(&sel).expect("struct").atomic);
        let q = idx
            .named("io.k8s.apimachinery.pkg.api.resource.Quantity")
            .expect("Quantity");
        assert!(matches!(idx.shape(&q), Shape::Scalar));
        let raw = idx
            .named("io.k8s.apimachinery.pkg.runtime.RawExtension")
            .expect("RawExtension");
        assert!(matches!(idx.shape(&raw), Shape::Any | Shape::Struct(_)));
    }

    #[test]
    fn retain_keys_strategy() {
        let idx = release();
        let d = idx
            .named("io.k8s.api.apps.v1.DeploymentSpec")
            .expect("DeploymentSpec");
        let s = field(idx, &d, "strategy").expect("strategy");
        assert!(s.patch_strategy.retain_keys);
    }

    #[test]
    fn every_resource_has_a_struct_schema() {
        let idx = release();
        for g in kiln_generated::REGISTRY {
            for v in g.versions {
                for r in v.resources {
                    let s =
                        for_resource(r).unwrap_or_else(|| panic!("{} has no schema", r.definition));
                    assert!(
                        idx.struct_of(&s).is_some(),
                        "{} is not a struct",
                        r.definition
                    );
                }
            }
        }
    }

    #[test]
    fn inline_properties_become_anonymous_structs() {
        let doc = serde_json::json!({"definitions": {"x.Widget": {
            "type": "object",
            "properties": {"spec": {"type": "object", "properties": {
                "items": {"type": "array", "x-kubernetes-list-type": "map",
                          "x-kubernetes-list-map-keys": ["id"],
                          "items": {"type": "object", "properties": {"id": {"type": "string"}}}},
                "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}
            }}}
        }}});
        let idx = SchemaIndex::from_openapi_v2(&doc);
        let w = idx.named("x.Widget").expect("Widget");
        let spec = field(&idx, &w, "spec").expect("spec");
        let items = field(&idx, &spec.schema, "items").expect("items");
        let Shape::List(l) = idx.shape(&items.schema) else {
            panic!("list")
        };
        assert_eq!(l.map_keys, vec!["id"]);
        assert!(idx.struct_of(&l.items).expect("item").field("id").is_some());
        let extra = field(&idx, &spec.schema, "extra").expect("extra");
        assert_eq!(extra.schema, Schema::Any);
    }
}
