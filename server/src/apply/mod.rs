//! Server-side apply and `metadata.managedFields`.
//!
//! Every write records who set which fields: an `Apply` entry per applying manager (the
//! fields of its applied configuration) and an `Update` entry per manager, API version and
//! subresource of other writes (the fields it added or changed). Applying merges the
//! configuration into the live object by the schema ([`typed`]), refuses to change fields
//! another manager owns unless forced (409 with one cause per field), takes them over when
//! forced, and removes fields the manager applied before and no longer applies when nobody
//! else owns them.
//!
//! The store calls [`track_update`] for non-apply writes (after the kind's defaults, so
//! defaulted fields belong to the writer, as in Kubernetes); the PATCH handler calls
//! [`serve`] for `application/apply-patch+yaml`.

pub mod fieldpath;
pub mod typed;

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use kiln_runtime::registry::ResourceInfo;
use serde_json::{Map, Value, json};

use crate::app::AppState;
use crate::errors::{ApiError, Cause, Details};
use crate::field_validation::{Directive, StrictErrors, yaml_duplicate_keys};
use crate::handlers::Query;
use crate::objects;
use crate::schema::{self, Schema, Shape};
use crate::store::{self, WriteOptions};
use crate::validation::FieldError;
use fieldpath::{PathElement, Set, path_string};
use typed::{Comparison, Typer};

/// Longest `fieldManager` kube-apiserver accepts.
pub const FIELD_MANAGER_MAX_LENGTH: usize = 128;
/// At most this many `Update` entries are kept; older ones merge into one per version.
const MAX_UPDATE_MANAGERS: usize = 10;
/// The manager the oldest `Update` entries are merged into beyond the cap.
const ANCIENT_CHANGES: &str = "ancient-changes";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Operation {
    Apply,
    Update,
}

impl Operation {
    fn as_str(self) -> &'static str {
        match self {
            Operation::Apply => "Apply",
            Operation::Update => "Update",
        }
    }
}

/// One `managedFields` entry.
#[derive(Debug, Clone)]
pub struct Entry {
    pub manager: String,
    pub operation: Operation,
    pub api_version: String,
    pub time: Option<String>,
    pub subresource: String,
    pub set: Set,
}

impl Entry {
    /// Whether `self` is the entry of (manager, operation, version, subresource); appliers
    /// have one entry whatever version they apply with.
    fn is(&self, manager: &str, op: Operation, api_version: &str, subresource: &str) -> bool {
        self.manager == manager
            && self.operation == op
            && self.subresource == subresource
            && (op == Operation::Apply || self.api_version == api_version)
    }

    /// How conflicts name the manager: `"kubectl"`, `"x" with subresource "status"`,
    /// `"kubectl-create" using v1`.
    fn display(&self) -> String {
        let mut s = crate::validation::go_quote(&self.manager);
        if !self.subresource.is_empty() {
            s.push_str(&format!(
                " with subresource {}",
                crate::validation::go_quote(&self.subresource)
            ));
        }
        if self.operation == Operation::Update {
            s.push_str(&format!(" using {}", self.api_version));
        }
        s
    }

    fn to_value(&self) -> Value {
        let mut m = Map::new();
        if !self.manager.is_empty() {
            m.insert("manager".into(), json!(self.manager));
        }
        m.insert("operation".into(), json!(self.operation.as_str()));
        m.insert("apiVersion".into(), json!(self.api_version));
        if let Some(t) = &self.time {
            m.insert("time".into(), json!(t));
        }
        m.insert("fieldsType".into(), json!("FieldsV1"));
        m.insert("fieldsV1".into(), self.set.to_fields_v1());
        if !self.subresource.is_empty() {
            m.insert("subresource".into(), json!(self.subresource));
        }
        Value::Object(m)
    }
}

/// The decoded `managedFields` of an object.
#[derive(Debug, Clone, Default)]
pub struct Managed {
    pub entries: Vec<Entry>,
}

impl Managed {
    /// Decodes `metadata.managedFields`; entries must name an operation (`Apply` or
    /// `Update`), an API version and `fieldsType: FieldsV1`.
    pub fn decode(list: Option<&Value>) -> Result<Managed, String> {
        let mut out = Managed::default();
        let items = match list {
            None | Some(Value::Null) => return Ok(out),
            Some(Value::Array(items)) => items,
            Some(_) => return Err("managedFields must be a list".into()),
        };
        for (i, item) in items.iter().enumerate() {
            let s = |k: &str| item.get(k).and_then(Value::as_str).unwrap_or("");
            let operation = match s("operation") {
                "Apply" => Operation::Apply,
                "Update" => Operation::Update,
                _ => return Err("operation must be `Apply` or `Update`".into()),
            };
            if s("apiVersion").is_empty() {
                return Err("apiVersion must not be empty".into());
            }
            match s("fieldsType") {
                "FieldsV1" => {}
                "" => return Err(format!("missing fieldsType in managed fields entry {i}")),
                other => {
                    return Err(format!(
                        "invalid fieldsType {other:?} in managed fields entry {i}"
                    ));
                }
            }
            let set = match item.get("fieldsV1") {
                Some(v) => Set::from_fields_v1(v)?,
                None => Set::new(),
            };
            let entry = Entry {
                manager: s("manager").to_string(),
                operation,
                api_version: s("apiVersion").to_string(),
                time: item.get("time").and_then(Value::as_str).map(str::to_string),
                subresource: s("subresource").to_string(),
                set,
            };
            match out.find(
                &entry.manager,
                entry.operation,
                &entry.api_version,
                &entry.subresource,
            ) {
                Some(at) => out.entries[at] = entry,
                None => out.entries.push(entry),
            }
        }
        Ok(out)
    }

    fn find(&self, manager: &str, op: Operation, api_version: &str, sub: &str) -> Option<usize> {
        self.entries
            .iter()
            .position(|e| e.is(manager, op, api_version, sub))
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries in kube-apiserver's order: operation, time, manager, version,
    /// subresource.
    pub fn encode(&self) -> Value {
        let mut entries: Vec<&Entry> = self.entries.iter().collect();
        entries.sort_by(|a, b| {
            a.operation
                .cmp(&b.operation)
                .then_with(|| a.time.cmp(&b.time))
                .then_with(|| a.manager.cmp(&b.manager))
                .then_with(|| a.api_version.cmp(&b.api_version))
                .then_with(|| a.subresource.cmp(&b.subresource))
        });
        Value::Array(entries.into_iter().map(Entry::to_value).collect())
    }

    /// Keeps at most [`MAX_UPDATE_MANAGERS`] `Update` entries: the oldest ones merge into
    /// one `ancient-changes` entry per API version.
    fn cap_updaters(&mut self) {
        let mut updaters: Vec<usize> = (0..self.entries.len())
            .filter(|&i| self.entries[i].operation == Operation::Update)
            .collect();
        if updaters.len() <= MAX_UPDATE_MANAGERS {
            return;
        }
        updaters.sort_by(|&a, &b| {
            let (x, y) = (&self.entries[a], &self.entries[b]);
            x.time.cmp(&y.time).then_with(|| x.manager.cmp(&y.manager))
        });
        let mut remaining = updaters.len();
        let mut first_of_version: Vec<(String, usize)> = Vec::new();
        let mut drop = vec![false; self.entries.len()];
        for &i in &updaters {
            if remaining <= MAX_UPDATE_MANAGERS {
                break;
            }
            let version = self.entries[i].api_version.clone();
            match first_of_version.iter().find(|(v, _)| *v == version) {
                Some(&(_, first)) => {
                    let set = self.entries[i].set.clone();
                    let time = self.entries[i].time.clone();
                    let bucket = &mut self.entries[first];
                    bucket.manager = ANCIENT_CHANGES.to_string();
                    bucket.subresource.clear();
                    bucket.set.union_in(&set);
                    bucket.time = time;
                    drop[i] = true;
                    remaining -= 1;
                }
                None => first_of_version.push((version, i)),
            }
        }
        let mut i = 0;
        self.entries.retain(|_| {
            let keep = !drop[i];
            i += 1;
            keep
        });
    }
}

/// The schema context of one resource and subresource.
struct Ctx<'a> {
    r: &'a ResourceInfo,
    typer: Typer<'static>,
    root: Option<Schema>,
    gv: String,
    subresource: &'a str,
}

/// Paths that never belong to anyone (kube-apiserver strips them from every entry).
fn stripped() -> &'static Set {
    static SET: OnceLock<Set> = OnceLock::new();
    SET.get_or_init(|| {
        let mut s = Set::new();
        let f = |n: &str| PathElement::Field(n.to_string());
        s.insert(&[f("apiVersion")]);
        s.insert(&[f("kind")]);
        s.insert(&[f("metadata")]);
        for m in [
            "name",
            "namespace",
            "creationTimestamp",
            "selfLink",
            "uid",
            "clusterName",
            "generation",
            "managedFields",
            "resourceVersion",
        ] {
            s.insert(&[f("metadata"), f(m)]);
        }
        s
    })
}

impl<'a> Ctx<'a> {
    fn new(r: &'a ResourceInfo, subresource: Option<&'a str>) -> Ctx<'a> {
        Ctx {
            r,
            typer: Typer {
                idx: schema::release(),
            },
            root: schema::for_resource(r),
            gv: r.group_version(),
            subresource: subresource.unwrap_or(""),
        }
    }

    fn shape(&self) -> Shape<'_> {
        match &self.root {
            Some(s) => self.typer.idx.shape(s),
            None => Shape::Any,
        }
    }

    /// `set` without what no manager owns: stripped metadata, and what the strategy resets
    /// (status on the main resource when there is a status subresource; everything but
    /// status on the status subresource).
    fn owned(&self, mut s: Set) -> Set {
        s.subtract(stripped());
        if self.r.subresource("status").is_some() {
            let status = PathElement::Field("status".into());
            match self.subresource {
                "" => s.remove_subtree(std::slice::from_ref(&status)),
                "status" => s.retain_subtree(&status),
                _ => {}
            }
        }
        s
    }

    fn compare(&self, live: &Value, new: &Value) -> Comparison {
        let mut c = Comparison::default();
        self.typer
            .compare(self.shape(), Some(live), Some(new), &mut Vec::new(), &mut c);
        c
    }

    /// The object a create starts from: the kind's empty value, so the parts every object
    /// of the kind has (`metadata`, and `spec` and `status` where they are structs, which
    /// Kubernetes' types hold by value) do not count as added by the creator.
    fn zero_object(&self) -> Value {
        let mut m = Map::new();
        m.insert("apiVersion".into(), json!(self.gv));
        m.insert("kind".into(), json!(self.r.kind));
        m.insert("metadata".into(), json!({}));
        if let Shape::Struct(st) = self.shape() {
            for part in ["spec", "status"] {
                if let Some(f) = st.field(part)
                    && matches!(self.typer.idx.shape(&f.schema), Shape::Struct(_))
                {
                    m.insert(part.into(), json!({}));
                }
            }
        }
        Value::Object(m)
    }

    /// Takes what `new` changes from the other managers (`force`) or reports conflicts, and
    /// drops removed fields from every other manager. `workflow` is the writer's entry.
    fn update_managers(
        &self,
        live: &Value,
        new: &Value,
        managed: &mut Managed,
        workflow: Option<usize>,
        force: bool,
    ) -> Result<Set, ApiError> {
        let Comparison {
            added,
            modified,
            removed,
        } = self.compare(live, new);
        // The larger side (everything, for a create) is moved, the other merged into it.
        let (mut changed, other) = if added.nodes.len() >= modified.nodes.len() {
            (added, modified)
        } else {
            (modified, added)
        };
        changed.union_in(&other);
        let changed = self.owned(changed);
        let mut conflicts: Vec<(usize, Set)> = Vec::new();
        for (i, e) in managed.entries.iter().enumerate() {
            if Some(i) == workflow {
                continue;
            }
            let cs = e.set.intersection(&changed);
            if !cs.is_empty() {
                conflicts.push((i, cs));
            }
        }
        if !force && !conflicts.is_empty() {
            return Err(conflict_error(managed, &conflicts));
        }
        for (i, cs) in &conflicts {
            managed.entries[*i].set.subtract(cs);
        }
        if !removed.is_empty() {
            for (i, e) in managed.entries.iter_mut().enumerate() {
                if Some(i) != workflow {
                    e.set.subtract(&removed);
                }
            }
        }
        managed.entries.retain(|e| !e.set.is_empty());
        Ok(changed)
    }

    /// Applies `config` for `manager` to `live` (the stored object, or the kind's empty
    /// object for a create). Returns the new object with its managedFields.
    fn apply(
        &self,
        live: &Value,
        config: &Value,
        manager: &str,
        force: bool,
    ) -> Result<Value, ApiError> {
        let mut errors = Vec::new();
        let mut config_set = Set::new();
        self.typer.field_set(
            self.shape(),
            config,
            &mut Vec::new(),
            &mut config_set,
            Some(&mut errors),
        );
        if !errors.is_empty() {
            return Err(ApiError::bad_request(format!(
                "failed to create typed patch object ({}/{}; {}): {}",
                objects::namespace(config),
                objects::name(config),
                gvk_string(&self.gv, self.r.kind),
                errors.join("\n")
            )));
        }
        let mut managed =
            Managed::decode(objects::metadata(live).and_then(|m| m.get("managedFields")))
                .unwrap_or_default();
        let mut live = live.clone();
        objects::remove_meta(&mut live, "managedFields");
        let mut merged = self
            .typer
            .merge(self.shape(), Some(&live), Some(config))
            .unwrap_or_else(|| live.clone());
        let applied = self.owned(config_set);
        let at = match managed.find(manager, Operation::Apply, &self.gv, self.subresource) {
            Some(at) => at,
            None => {
                managed.entries.push(Entry {
                    manager: manager.to_string(),
                    operation: Operation::Apply,
                    api_version: self.gv.clone(),
                    time: None,
                    subresource: self.subresource.to_string(),
                    set: Set::new(),
                });
                managed.entries.len() - 1
            }
        };
        let last = std::mem::replace(&mut managed.entries[at].set, applied);
        managed.entries[at].api_version = self.gv.clone();
        let mut owned = Set::new();
        for e in &managed.entries {
            owned.union_in(&e.set);
        }
        if !last.difference(&owned).is_empty() {
            // Fields this manager applied last time and no longer applies go, unless
            // another manager (or this configuration) still owns them.
            let shape = self.shape();
            let to_remove = self
                .typer
                .ensure_named_fields_are_members(shape, &last)
                .difference(&self.typer.ensure_named_fields_are_members(shape, &owned));
            if !to_remove.is_empty() {
                merged = self.typer.remove(shape, &merged, &to_remove);
            }
        }
        let time_at = {
            self.update_managers(&live, &merged, &mut managed, Some(at), force)?;
            managed.find(manager, Operation::Apply, &self.gv, self.subresource)
        };
        if merged != live
            && let Some(i) = time_at
        {
            managed.entries[i].time = Some(objects::now_rfc3339());
        }
        set_managed(&mut merged, &managed);
        Ok(merged)
    }

    /// Records a non-apply write by `manager` from `old` (`None`: a create) to `new`.
    fn track_update(&self, manager: &str, old: Option<&Value>, new: &mut Value) {
        let requested = objects::remove_meta(new, "managedFields");
        let from_old = || {
            Managed::decode(
                old.and_then(objects::metadata)
                    .and_then(|m| m.get("managedFields")),
            )
            .unwrap_or_default()
        };
        let mut managed = if !self.subresource.is_empty() {
            from_old()
        } else if is_reset(requested.as_ref()) {
            Managed::default()
        } else {
            match Managed::decode(requested.as_ref()) {
                Ok(m) if !m.is_empty() => m,
                _ => from_old(),
            }
        };
        // An existing object nobody tracks stays untracked until someone applies.
        if managed.is_empty() && old.is_some() {
            return;
        }
        let live = match old {
            Some(o) => {
                let mut o = o.clone();
                objects::remove_meta(&mut o, "managedFields");
                o
            }
            None => self.zero_object(),
        };
        let Ok(changed) = self.update_managers(&live, new, &mut managed, None, true) else {
            return;
        };
        if !changed.is_empty() {
            match managed.find(manager, Operation::Update, &self.gv, self.subresource) {
                Some(i) => {
                    let e = &mut managed.entries[i];
                    e.set.union_in(&changed);
                    e.time = Some(objects::now_rfc3339());
                }
                None => managed.entries.push(Entry {
                    manager: manager.to_string(),
                    operation: Operation::Update,
                    api_version: self.gv.clone(),
                    time: Some(objects::now_rfc3339()),
                    subresource: self.subresource.to_string(),
                    set: changed,
                }),
            }
        }
        managed.cap_updaters();
        set_managed(new, &managed);
    }
}

/// `managedFields: []` or `[{}]` in a request clears the object's managed fields.
fn is_reset(list: Option<&Value>) -> bool {
    match list {
        Some(Value::Array(items)) => {
            items.is_empty()
                || (items.len() == 1 && items[0].as_object().is_some_and(Map::is_empty))
        }
        _ => false,
    }
}

fn set_managed(obj: &mut Value, managed: &Managed) {
    if managed.is_empty() {
        objects::remove_meta(obj, "managedFields");
    } else {
        objects::set_meta(obj, "managedFields", managed.encode());
    }
}

/// `group/version, Kind=kind`, as Go prints a GroupVersionKind.
fn gvk_string(api_version: &str, kind: &str) -> String {
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    format!("{group}/{version}, Kind={kind}")
}

/// The 409 of an apply that would change other managers' fields.
fn conflict_error(managed: &Managed, conflicts: &[(usize, Set)]) -> ApiError {
    let mut listed: Vec<(&Entry, Vec<String>)> = conflicts
        .iter()
        .map(|(i, s)| {
            (
                &managed.entries[*i],
                s.paths().iter().map(|p| path_string(p)).collect(),
            )
        })
        .collect();
    listed.sort_by(|(a, _), (b, _)| {
        (&a.manager, a.operation, &a.api_version, &a.subresource).cmp(&(
            &b.manager,
            b.operation,
            &b.api_version,
            &b.subresource,
        ))
    });
    let total: usize = listed.iter().map(|(_, p)| p.len()).sum();
    let mut causes = Vec::with_capacity(total);
    for (e, paths) in &listed {
        for p in paths {
            causes.push(Cause {
                reason: "FieldManagerConflict".into(),
                message: format!("conflict with {}", e.display()),
                field: p.clone(),
            });
        }
    }
    let message = if total == 1 {
        format!(
            "Apply failed with 1 conflict: conflict with {}: {}",
            listed[0].0.display(),
            listed[0].1[0]
        )
    } else {
        let mut lines = Vec::new();
        for (e, paths) in &listed {
            lines.push(format!("conflicts with {}:", e.display()));
            for p in paths {
                lines.push(format!("- {p}"));
            }
        }
        format!("Apply failed with {total} conflicts: {}", lines.join("\n"))
    };
    let mut err = ApiError::new(409, "Conflict", message);
    err.details = Some(Box::new(Details {
        causes,
        ..Default::default()
    }));
    err
}

/// Records a non-apply write in `new`'s managedFields: called by the store after the kind's
/// defaults, with the stored object (`None` for a create).
pub fn track_update(
    r: &ResourceInfo,
    manager: &str,
    subresource: Option<&str>,
    old: Option<&Value>,
    new: &mut Value,
) {
    Ctx::new(r, subresource).track_update(manager, old, new);
}

/// Applies `config` for `manager` to `live` (`None`: the object does not exist yet) and
/// returns the new object with its managedFields; a conflict is the 409 kube-apiserver
/// answers, a configuration that does not fit the schema a 400.
pub fn apply(
    r: &ResourceInfo,
    subresource: Option<&str>,
    live: Option<&Value>,
    config: &Value,
    manager: &str,
    force: bool,
) -> Result<Value, ApiError> {
    let ctx = Ctx::new(r, subresource);
    match live {
        Some(live) => ctx.apply(live, config, manager, force),
        None => ctx.apply(&ctx.zero_object(), config, manager, force),
    }
}

/// The manager of a non-apply write: `fieldManager`, else the User-Agent up to its first
/// `/` (printable characters only, at most 128 bytes), as kube-apiserver derives it.
pub fn manager_from_user_agent(user_agent: &str) -> String {
    let head = user_agent.split('/').next().unwrap_or("");
    let mut out = String::new();
    for c in head.chars().filter(|c| is_print(*c)) {
        if out.len() + c.len_utf8() > FIELD_MANAGER_MAX_LENGTH {
            break;
        }
        out.push(c);
    }
    out
}

/// Go's `unicode.IsPrint` for the characters that matter here: no control characters and
/// no spaces other than U+0020.
fn is_print(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    !(c.is_control()
        || c.is_whitespace()
        || matches!(c, '\u{ad}' | '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{206f}' | '\u{feff}'))
}

/// The field manager errors of `fieldManager` (too long, unprintable characters).
fn field_manager_errors(manager: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if manager.len() > FIELD_MANAGER_MAX_LENGTH {
        errs.push(FieldError::too_long(
            "fieldManager",
            Some(FIELD_MANAGER_MAX_LENGTH),
        ));
    }
    for (i, c) in manager.char_indices() {
        if !is_print(c) {
            errs.push(FieldError::invalid(
                "fieldManager",
                Value::String(manager.to_string()),
                format!("invalid character U+{:04X} (at position {i})", c as u32),
            ));
        }
    }
    errs
}

fn options_invalid(options_kind: &str, errs: &[FieldError]) -> ApiError {
    ApiError::invalid("meta.k8s.io", options_kind, "", errs)
}

/// The manager of a create, update or non-apply patch (`options_kind` is `CreateOptions`,
/// `UpdateOptions` or `PatchOptions`): a bad `fieldManager` is a 422, a patch may not say
/// `force`, and without `fieldManager` the User-Agent names the manager.
pub fn update_manager(
    query: &Query,
    user_agent: Option<&str>,
    options_kind: &str,
) -> Result<String, ApiError> {
    let given = query.get("fieldManager").unwrap_or("");
    let mut errs = Vec::new();
    if options_kind == "PatchOptions" && query.has("force") {
        errs.push(FieldError::forbidden(
            "force",
            "may not be specified for non-apply patch",
        ));
    }
    errs.extend(field_manager_errors(given));
    if !errs.is_empty() {
        return Err(options_invalid(options_kind, &errs));
    }
    Ok(if given.is_empty() {
        manager_from_user_agent(user_agent.unwrap_or(""))
    } else {
        given.to_string()
    })
}

/// Decodes an apply body (YAML or JSON) and checks it against the endpoint.
fn parse_config(
    r: &ResourceInfo,
    gv: &str,
    ns: Option<&str>,
    name: &str,
    body: &[u8],
) -> Result<Value, ApiError> {
    let config: Value = serde_yaml_ng::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))?;
    let config = match config {
        Value::Null => Value::Object(Map::new()),
        v @ Value::Object(_) => v,
        _ => {
            return Err(ApiError::bad_request(
                "error decoding YAML: the apply configuration must be an object",
            ));
        }
    };
    let api_version = config
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("");
    let kind = config.get("kind").and_then(Value::as_str).unwrap_or("");
    if api_version != gv || kind != r.kind {
        return Err(ApiError::bad_request(format!(
            "invalid object type: {}",
            gvk_string(api_version, kind)
        )));
    }
    if !matches!(config.get("metadata"), None | Some(Value::Object(_))) {
        return Err(ApiError::bad_request(
            "failed to create typed patch object: .metadata: expected map",
        ));
    }
    if objects::metadata(&config)
        .is_some_and(|m| m.get("managedFields").is_some_and(|v| !v.is_null()))
    {
        return Err(ApiError::bad_request("metadata.managedFields must be nil"));
    }
    let body_name = objects::name(&config);
    if !body_name.is_empty() && body_name != name {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({body_name}) does not match the name on the URL ({name})"
        )));
    }
    if let (Some(url_ns), true) = (ns, r.namespaced) {
        let body_ns = objects::namespace(&config);
        if !body_ns.is_empty() && body_ns != url_ns {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
    }
    Ok(config)
}

/// Whether `e` is the store's answer for this object not existing.
fn is_not_found(e: &ApiError, r: &ResourceInfo, name: &str) -> bool {
    e.code == 404
        && e.details
            .as_ref()
            .is_some_and(|d| d.name == name && d.kind == r.plural && d.group == r.group)
}

/// `PATCH` with `application/apply-patch+yaml`: applies the body for `fieldManager`,
/// creating the object when it does not exist. Returns the object, whether it was created
/// and the `fieldValidation=Warn` warnings (keys repeated in the body's YAML; with
/// `Strict` they fail the apply with 400 once it has otherwise succeeded, as in kube).
#[allow(clippy::too_many_arguments)]
pub async fn serve(
    state: &AppState,
    r: &'static ResourceInfo,
    ns: Option<&str>,
    name: &str,
    subresource: Option<&str>,
    query: &Query,
    body: &[u8],
    write: &WriteOptions,
) -> Result<(Value, bool, Vec<String>), ApiError> {
    let manager = query.get("fieldManager").unwrap_or("");
    let mut errs = Vec::new();
    if manager.is_empty() {
        errs.push(FieldError::required(
            "fieldManager",
            "is required for apply patch",
        ));
    }
    errs.extend(field_manager_errors(manager));
    if !errs.is_empty() {
        return Err(options_invalid("PatchOptions", &errs));
    }
    let directive = Directive::from_query(query.get("fieldValidation"), "PatchOptions")?;
    let force = query.bool("force").unwrap_or(false);
    let gv = r.group_version();
    let config = parse_config(r, &gv, ns, name, body)?;
    let mut strict = StrictErrors::default();
    if directive.checks()
        && let Some(dups) = yaml_duplicate_keys(body)
    {
        strict.push(dups);
    }
    let ctx = Ctx::new(r, subresource);
    let finish = |mut obj: Value| -> Result<Value, ApiError> {
        if directive == Directive::Strict
            && let Some(e) = strict.messages().first()
        {
            return Err(ApiError::bad_request(format!(
                "error strict decoding YAML: {e}"
            )));
        }
        objects::set_type_meta(&mut obj, &gv, r.kind);
        let obj_name = objects::name(&obj);
        if obj_name != name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({obj_name}) does not match the name on the URL ({name})"
            )));
        }
        crate::handlers::normalize(r, obj)
    };
    let write = WriteOptions {
        field_manager: None,
        ..write.clone()
    };
    for _ in 0..4 {
        let missing = AtomicBool::new(false);
        let mutate = |old: Option<&Value>| -> Result<Value, ApiError> {
            let Some(old) = old else {
                missing.store(true, Ordering::Relaxed);
                return Err(ApiError::not_found(store::qualified(r), name));
            };
            finish(ctx.apply(old, &config, manager, force)?)
        };
        match state
            .store
            .update(r, ns, name, subresource, &mutate, &write)
            .await
        {
            Ok((obj, _)) => return Ok((obj, false, strict.into_messages())),
            Err(e)
                if subresource.is_none()
                    && (missing.load(Ordering::Relaxed) || is_not_found(&e, r, name)) => {}
            Err(e) => return Err(e),
        }
        // Apply to a missing object creates it, from the kind's empty object.
        let mut obj = finish(ctx.apply(&ctx.zero_object(), &config, manager, force)?)?;
        if let (Some(ns), true) = (ns, r.namespaced) {
            objects::set_meta(&mut obj, "namespace", Value::String(ns.to_string()));
        }
        match state.store.create(r, ns, obj, &write).await {
            Ok(created) => return Ok((created, true, strict.into_messages())),
            Err(e) if e.reason == "AlreadyExists" => continue,
            Err(e) => return Err(e),
        }
    }
    Err(ApiError::modified(store::qualified(r), name))
}

#[cfg(test)]
mod tests;
