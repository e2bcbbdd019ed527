//! Server-side tables (`as=Table`) and `PartialObjectMetadata(List)` responses.
//!
//! Each built-in kind that kube-apiserver prints has a [`Printer`]: its column definitions
//! as data and one small function from the object to its cells. Printers are grouped by
//! API group in the submodules; kinds without one (and custom resources) get the default
//! columns, Name and Created At. kube-apiserver always prints the wide form server-side,
//! so every column (priority 0 and 1) has a cell; clients hide priority-1 columns unless
//! asked for `-o wide`.

mod apps;
mod cluster;
mod core;
pub mod format;
mod networking;
mod storage;

use std::collections::HashMap;
use std::sync::OnceLock;

use kiln_runtime::registry::ResourceInfo;
use serde_json::{Map, Value, json};

use crate::errors::ApiError;
pub use format::Ctx;

/// `ObjectMeta.name`'s documentation, the Name column's description everywhere.
pub const NAME_DESCRIPTION: &str = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
/// `ObjectMeta.creationTimestamp`'s documentation, the Age / Created At description.
pub const CREATED_DESCRIPTION: &str = "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";

/// Where a column's description comes from.
#[derive(Debug, Clone, Copy)]
pub enum Desc {
    /// Literal text.
    Text(&'static str),
    /// The documentation of a field of an OpenAPI definition (kube's `SwaggerDoc()[field]`),
    /// read from the release's OpenAPI document.
    Field(&'static str, &'static str),
    /// `ObjectMeta.name`.
    Name,
    /// `ObjectMeta.creationTimestamp`.
    Created,
}

/// One column definition (`metav1.TableColumnDefinition`).
#[derive(Debug, Clone, Copy)]
pub struct Col {
    pub name: &'static str,
    pub ty: &'static str,
    pub format: &'static str,
    pub desc: Desc,
    pub priority: u8,
}

/// A priority-0 column.
pub const fn col(name: &'static str, ty: &'static str, desc: Desc) -> Col {
    Col {
        name,
        ty,
        format: "",
        desc,
        priority: 0,
    }
}

/// A priority-1 (wide) column.
pub const fn wide(name: &'static str, ty: &'static str, desc: Desc) -> Col {
    Col {
        name,
        ty,
        format: "",
        desc,
        priority: 1,
    }
}

/// The Name column.
pub const NAME: Col = Col {
    name: "Name",
    ty: "string",
    format: "name",
    desc: Desc::Name,
    priority: 0,
};
/// The Age column.
pub const AGE: Col = col("Age", "string", Desc::Created);

/// Cells of one row (always the wide form).
pub type CellsFn = fn(&Value, &Ctx) -> Vec<Value>;

/// A kind's table printer.
#[derive(Debug, Clone, Copy)]
pub struct Printer {
    pub columns: &'static [Col],
    pub cells: CellsFn,
    /// Row conditions (`Completed` for finished pods).
    pub conditions: Option<fn(&Value) -> Option<Value>>,
    /// Order in which list rows are printed, when the printer sorts (FlowSchemas).
    pub sort: Option<fn(&Value, &Value) -> std::cmp::Ordering>,
}

impl Printer {
    /// A printer with cells only.
    pub const fn new(columns: &'static [Col], cells: CellsFn) -> Self {
        Printer {
            columns,
            cells,
            conditions: None,
            sort: None,
        }
    }
}

/// A printer registered for a group and kind (all versions of the kind share it, as
/// kube's printers work on the internal type).
#[derive(Debug)]
pub struct Entry {
    pub group: &'static str,
    pub kind: &'static str,
    pub printer: Printer,
}

fn entries() -> impl Iterator<Item = &'static Entry> {
    core::PRINTERS
        .iter()
        .chain(apps::PRINTERS)
        .chain(networking::PRINTERS)
        .chain(storage::PRINTERS)
        .chain(cluster::PRINTERS)
}

/// The printer for a group and kind, if kube-apiserver has one.
pub fn printer_for(group: &str, kind: &str) -> Option<&'static Entry> {
    entries().find(|e| e.group == group && e.kind == kind)
}

fn column_json(c: &Col, docs: Option<&Map<String, Value>>) -> Value {
    let description = match c.desc {
        Desc::Text(t) => t.to_string(),
        Desc::Name => NAME_DESCRIPTION.to_string(),
        Desc::Created => CREATED_DESCRIPTION.to_string(),
        Desc::Field(def, field) => docs
            .and_then(|d| d.get(def))
            .and_then(|d| d.pointer(&format!("/properties/{field}/description")))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
    };
    json!({"name": c.name, "type": c.ty, "format": c.format, "description": description, "priority": c.priority})
}

/// Resolved column definitions of every printer, keyed by (group, kind); built once from
/// the release's OpenAPI document.
fn column_definitions() -> &'static HashMap<(&'static str, &'static str), Value> {
    static DEFS: OnceLock<HashMap<(&'static str, &'static str), Value>> = OnceLock::new();
    DEFS.get_or_init(|| {
        let doc: Value = serde_json::from_str(kiln_generated::OPENAPI_V2).unwrap_or(Value::Null);
        let docs = doc.get("definitions").and_then(Value::as_object);
        entries()
            .map(|e| {
                let cols = e
                    .printer
                    .columns
                    .iter()
                    .map(|c| column_json(c, docs))
                    .collect();
                ((e.group, e.kind), Value::Array(cols))
            })
            .collect()
    })
}

fn default_columns() -> Value {
    json!([
        column_json(&NAME, None),
        column_json(
            &Col {
                name: "Created At",
                ty: "date",
                format: "",
                desc: Desc::Created,
                priority: 0
            },
            None
        ),
    ])
}

/// `includeObject`: what each row carries besides its cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Include {
    None,
    Metadata,
    Object,
}

impl Include {
    /// Parses the query value (absent or empty means Metadata); anything else is the 400
    /// kube-apiserver returns.
    pub fn parse(value: Option<&str>) -> Result<Include, ApiError> {
        match value.unwrap_or("") {
            "" | "Metadata" => Ok(Include::Metadata),
            "None" => Ok(Include::None),
            "Object" => Ok(Include::Object),
            other => Err(ApiError::bad_request(format!(
                "unrecognized includeObject value: {}",
                crate::validation::go_quote(other)
            ))),
        }
    }
}

/// Which columns a table is built with.
#[derive(Debug, Clone, Copy)]
enum Source {
    Printer(&'static Entry),
    Default,
}

/// The printer for an object served by `r`: subresources such as `scale` return another
/// kind than the resource's, so the object's own kind is tried first.
fn source(r: &ResourceInfo, obj: &Value) -> Source {
    let own = obj.get("kind").and_then(Value::as_str).and_then(|kind| {
        let api_version = obj.get("apiVersion").and_then(Value::as_str)?;
        let group = api_version.rsplit_once('/').map(|(g, _)| g).unwrap_or("");
        (kind != r.kind || group != r.group).then_some((group, kind))
    });
    if let Some(e) = own.and_then(|(g, k)| printer_for(g, k)) {
        return Source::Printer(e);
    }
    match printer_for(r.group, r.kind) {
        Some(e) => Source::Printer(e),
        None => Source::Default,
    }
}

fn row(src: Source, mut obj: Value, include: Include, version: &str, ctx: &Ctx) -> Value {
    let mut m = Map::new();
    match src {
        Source::Printer(e) => {
            m.insert("cells".into(), Value::Array((e.printer.cells)(&obj, ctx)));
            if let Some(cond) = e.printer.conditions.and_then(|f| f(&obj)) {
                m.insert("conditions".into(), cond);
            }
        }
        Source::Default => {
            let name = obj
                .pointer("/metadata/name")
                .cloned()
                .unwrap_or(Value::String(String::new()));
            let created = format::rfc3339_utc(obj.pointer("/metadata/creationTimestamp"));
            m.insert("cells".into(), json!([name, created]));
        }
    }
    let object = match include {
        Include::None => Value::Null,
        Include::Object => obj,
        Include::Metadata => {
            let meta = obj
                .as_object_mut()
                .and_then(|o| o.remove("metadata"))
                .unwrap_or_else(|| json!({}));
            partial(meta, version)
        }
    };
    m.insert("object".into(), object);
    Value::Object(m)
}

fn table(src: Source, metadata: Value, rows: Value, version: &str, headers: bool) -> Value {
    let columns = if !headers {
        Value::Null
    } else {
        match src {
            Source::Printer(e) => column_definitions()
                .get(&(e.group, e.kind))
                .cloned()
                .unwrap_or(Value::Null),
            Source::Default => default_columns(),
        }
    };
    let mut t = Map::new();
    t.insert("kind".into(), json!("Table"));
    t.insert("apiVersion".into(), json!(format!("meta.k8s.io/{version}")));
    t.insert("metadata".into(), metadata);
    t.insert("columnDefinitions".into(), columns);
    t.insert("rows".into(), rows);
    Value::Object(t)
}

/// A table for one object (`version` is the meta.k8s.io version asked for); an
/// unknown `includeObject` is a 400.
pub fn object(
    r: &ResourceInfo,
    obj: Value,
    include: Option<&str>,
    version: &str,
) -> Result<Value, ApiError> {
    single_with(r, obj, Include::parse(include)?, version, true, &Ctx::now())
}

/// A table for one object with explicit options: `headers` false is `TableOptions.noHeaders`
/// (watch events after the first).
pub fn single_with(
    r: &ResourceInfo,
    obj: Value,
    include: Include,
    version: &str,
    headers: bool,
    ctx: &Ctx,
) -> Result<Value, ApiError> {
    let src = source(r, &obj);
    let mut meta = Map::new();
    if let Some(rv) = obj
        .pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    {
        meta.insert("resourceVersion".into(), json!(rv));
    }
    let rows = vec![row(src, obj, include, version, ctx)];
    Ok(table(
        src,
        Value::Object(meta),
        Value::Array(rows),
        version,
        headers,
    ))
}

/// A table for a list; `metadata` is the list's ListMeta (resourceVersion, continue,
/// remainingItemCount).
pub fn list(
    r: &ResourceInfo,
    items: Vec<Value>,
    metadata: Value,
    include: Option<&str>,
    version: &str,
) -> Result<Value, ApiError> {
    list_with(
        r,
        items,
        metadata,
        Include::parse(include)?,
        version,
        &Ctx::now(),
    )
}

/// [`list`] with a parsed `includeObject` and an explicit clock.
pub fn list_with(
    r: &ResourceInfo,
    mut items: Vec<Value>,
    metadata: Value,
    include: Include,
    version: &str,
    ctx: &Ctx,
) -> Result<Value, ApiError> {
    let src = match items.first() {
        Some(first) => source(r, first),
        None => source(r, &Value::Null),
    };
    let rows = match src {
        Source::Printer(e) => {
            if let Some(order) = e.printer.sort {
                items.sort_by(order);
            }
            let rows: Vec<Value> = items
                .into_iter()
                .map(|o| row(src, o, include, version, ctx))
                .collect();
            Value::Array(rows)
        }
        // The default convertor appends rows to a nil slice: no items print as null.
        Source::Default if items.is_empty() => Value::Null,
        Source::Default => Value::Array(
            items
                .into_iter()
                .map(|o| row(src, o, include, version, ctx))
                .collect(),
        ),
    };
    Ok(table(src, metadata, rows, version, true))
}

fn partial(meta: Value, version: &str) -> Value {
    json!({"kind": "PartialObjectMetadata", "apiVersion": format!("meta.k8s.io/{version}"), "metadata": meta})
}

/// `PartialObjectMetadata` of an object.
pub fn partial_object_metadata(obj: &Value, version: &str) -> Value {
    partial(
        obj.get("metadata").cloned().unwrap_or_else(|| json!({})),
        version,
    )
}

/// `PartialObjectMetadataList` of a list.
pub fn partial_object_metadata_list(items: Vec<Value>, metadata: Value, version: &str) -> Value {
    let items: Vec<Value> = items
        .into_iter()
        .map(|mut o| {
            let meta = o
                .as_object_mut()
                .and_then(|m| m.remove("metadata"))
                .unwrap_or_else(|| json!({}));
            partial(meta, version)
        })
        .collect();
    json!({"kind": "PartialObjectMetadataList", "apiVersion": format!("meta.k8s.io/{version}"), "metadata": metadata, "items": items})
}

#[cfg(test)]
mod tests;
