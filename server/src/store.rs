//! The generic registry store: one implementation of get, list, create, update, delete and
//! deletecollection for every resource, on top of the storage trait. Per-kind behaviour
//! comes from [`crate::strategy`].

use std::sync::Arc;

use base64::Engine;
use bytes::Bytes;
use kiln_runtime::registry::ResourceInfo;
use serde_json::{Map, Value, json};

use crate::errors::{ApiError, Qualified};
use crate::fields::FieldSelector;
use crate::labels::LabelSelector;
use crate::objects;
use crate::storage::{KeyValue, Revision, Storage, StorageError};
use crate::strategy;
use crate::validation::FieldError;

mod raw;

/// Storage key prefix of a resource, laid out as kube-apiserver lays out its etcd keys so
/// that data is portable between the two: `/registry/<resource>/` for nearly every built-in
/// resource of every group (`/registry/configmaps/`, `/registry/deployments/`), with
/// kube-apiserver's historical exceptions (`services/specs`, `services/endpoints`, `minions`,
/// `controllers`, `ingress`), the group-qualified prefixes of the apiextensions and
/// aggregator servers (`/registry/apiextensions.k8s.io/customresourcedefinitions/`,
/// `/registry/apiregistration.k8s.io/apiservices/`), and `/registry/<group>/<resource>/`
/// for everything else (custom resources).
///
/// A resource stored as another group's (`events.k8s.io` Events are core Events, see
/// [`crate::convert`]) uses that resource's keys, as kube-apiserver does (`/registry/events/`).
///
/// The key does not depend on the version, so every served version sees the same object.
pub fn resource_prefix(r: &ResourceInfo) -> String {
    let r = crate::convert::storage_resource(r).unwrap_or(r);
    // Built with `push_str` (keys are made on every request; `format!` cost several times
    // more), with room for a namespace and a name.
    let mut key = String::with_capacity(96);
    key.push_str("/registry/");
    match builtin_resource_path(r.group, r.plural) {
        Some(path) => key.push_str(path),
        None => {
            key.push_str(r.group);
            key.push('/');
            key.push_str(r.plural);
        }
    }
    key.push('/');
    key
}

/// The part after `/registry/` of a built-in resource's keys; `None` for resources that
/// kube-apiserver keys as `<group>/<resource>` (custom resources and the exceptions).
fn builtin_resource_path(group: &'static str, plural: &'static str) -> Option<&'static str> {
    match (group, plural) {
        ("", "services") => Some("services/specs"),
        ("", "endpoints") => Some("services/endpoints"),
        ("", "nodes") => Some("minions"),
        ("", "replicationcontrollers") => Some("controllers"),
        ("networking.k8s.io", "ingresses") => Some("ingress"),
        ("apiextensions.k8s.io", _) | ("apiregistration.k8s.io", _) | ("events.k8s.io", _) => None,
        (g, _) if g.is_empty() || is_builtin_group(g) => Some(plural),
        _ => None,
    }
}

/// Whether `group` is one of the groups compiled into Kiln (custom resources never are).
fn is_builtin_group(group: &str) -> bool {
    kiln_generated::REGISTRY.iter().any(|g| g.name == group)
}

/// Prefix of a collection: every namespace (`None`) or one namespace.
pub fn collection_prefix(r: &ResourceInfo, namespace: Option<&str>) -> String {
    let mut key = resource_prefix(r);
    if let Some(ns) = namespace
        && r.namespaced
    {
        key.push_str(ns);
        key.push('/');
    }
    key
}

pub fn object_key(r: &ResourceInfo, namespace: Option<&str>, name: &str) -> String {
    let mut key = collection_prefix(r, namespace);
    key.push_str(name);
    key
}

pub fn qualified(r: &ResourceInfo) -> Qualified<'static> {
    Qualified {
        group: r.group,
        resource: r.plural,
    }
}

/// Options shared by writes.
#[derive(Debug, Clone, Default)]
pub struct WriteOptions {
    pub dry_run: bool,
    /// The manager recorded in `managedFields` as an `Update` (None: not tracked).
    pub field_manager: Option<String>,
}

/// Options of a delete.
#[derive(Debug, Clone, Default)]
pub struct DeleteOptions {
    pub dry_run: bool,
    pub precondition_uid: Option<String>,
    pub precondition_resource_version: Option<String>,
}

/// What a delete did.
#[derive(Debug)]
pub enum DeleteOutcome {
    /// The object is gone; the value is its last state.
    Deleted(Value),
    /// Deletion is pending on finalizers; the value is the current state.
    Pending(Value),
}

/// Which revision a list reads at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadAt {
    Latest,
    /// Any revision (`resourceVersion=0`): may be served from the watch cache.
    Any,
    /// Not older than this revision.
    NotOlderThan(Revision),
    Exact(Revision),
}

#[derive(Debug, Default)]
pub struct ListOptions {
    pub labels: Option<LabelSelector>,
    pub fields: Option<FieldSelector>,
    pub limit: usize,
    pub continue_token: Option<String>,
    pub read_at: Option<ReadAt>,
}

/// A page of a list. `T` is the decoded object, or `()` for [`Store::list_json`], whose
/// items are already text.
#[derive(Debug)]
pub struct ListResult<T = Value> {
    pub items: Vec<T>,
    pub revision: Revision,
    pub continue_token: Option<String>,
    pub remaining: Option<i64>,
}

pub struct Store {
    pub storage: Arc<dyn Storage>,
    /// The watch cache in front of `storage`: watches and `resourceVersion=0` lists.
    pub cache: Arc<crate::storage::cache::WatchCache>,
    /// Per-server state of built-in kinds (service IP and node port allocation).
    pub kinds: crate::kinds::KindState,
}

/// Turns a storage failure into the API error clients expect.
pub fn storage_error(r: &ResourceInfo, name: &str, err: StorageError) -> ApiError {
    match err {
        StorageError::NotFound { .. } => ApiError::not_found(qualified(r), name),
        StorageError::AlreadyExists { .. } => ApiError::already_exists(qualified(r), name),
        StorageError::Conflict { .. } => ApiError::modified(qualified(r), name),
        StorageError::Compacted {
            requested,
            compacted,
        } => ApiError::expired(format!(
            "too old resource version: {requested} ({compacted})"
        )),
        StorageError::FutureRevision { .. } => ApiError::timeout("Too large resource version", 1),
        other => ApiError::internal(other.to_string()),
    }
}

/// The object as clients see it: the stored JSON with `resourceVersion` and the type meta
/// of the version being served.
pub fn decode_stored(r: &ResourceInfo, kv: &KeyValue) -> Result<Value, ApiError> {
    let obj: Value = serde_json::from_slice(&kv.value).map_err(|e| {
        ApiError::internal(format!("stored object {} is not valid JSON: {e}", kv.key))
    })?;
    // Stored in the storage version; served in `r`'s.
    let mut obj = crate::convert::from_storage(r, obj)?;
    objects::set_type_meta(&mut obj, &r.group_version(), r.kind);
    set_resource_version(&mut obj, kv.mod_revision);
    Ok(obj)
}

/// Appends `decode_stored(r, kv)` as compact JSON to `out` (`gv` is `r.group_version()`),
/// splicing the stored text instead of building the object whenever it can. A list item
/// (`item`) goes without its type meta, as [`list_item`] leaves it.
fn encode_stored_json(
    r: &ResourceInfo,
    gv: &str,
    kv: &KeyValue,
    item: bool,
    out: &mut Vec<u8>,
) -> Result<(), ApiError> {
    // The stored text is only spliced when it is already in the requested version.
    let type_meta = (!item).then_some((r.kind, gv));
    if crate::convert::is_storage_version(r)
        && raw::encode(type_meta, &kv.value, kv.mod_revision, out)
    {
        return Ok(());
    }
    let mut obj = decode_stored(r, kv)?;
    if item {
        list_item(&mut obj);
    }
    crate::gojson::write_compact(out, &obj).map_err(|e| ApiError::internal(e.to_string()))
}

/// An object as an item of a list response. kube-apiserver writes a built-in kind's list
/// items without `kind` and `apiVersion` (the list's own type meta names them; clients
/// such as client-go and kubectl fill them in from it), in JSON and YAML as in protobuf,
/// whose item messages have no type meta at all.
pub fn list_item(obj: &mut Value) {
    if let Value::Object(m) = obj {
        m.shift_remove("kind");
        m.shift_remove("apiVersion");
    }
}

/// A list response body: `{"kind": "…List", "apiVersion", "metadata", "items"}`, each item
/// as [`list_item`] leaves it.
pub fn list_body(r: &ResourceInfo, mut res: ListResult) -> Value {
    let meta = list_meta(&res);
    let mut items = std::mem::take(&mut res.items);
    items.iter_mut().for_each(list_item);
    json!({"kind": list_kind(r), "apiVersion": r.group_version(), "metadata": Value::Object(meta), "items": items})
}

/// The `metadata` of a list response (`ListMeta`).
pub fn list_meta<T>(res: &ListResult<T>) -> Map<String, Value> {
    let mut meta = Map::new();
    meta.insert(
        "resourceVersion".into(),
        Value::String(res.revision.to_string()),
    );
    if let Some(c) = &res.continue_token {
        meta.insert("continue".into(), Value::String(c.clone()));
    }
    if let Some(n) = res.remaining.filter(|n| *n > 0) {
        meta.insert("remainingItemCount".into(), json!(n));
    }
    meta
}

/// The kind of a resource's list (`ConfigMapList`).
pub fn list_kind(r: &ResourceInfo) -> String {
    if r.list_kind.is_empty() {
        format!("{}List", r.kind)
    } else {
        r.list_kind.to_string()
    }
}

/// Sets `metadata.resourceVersion` where kube-apiserver writes it (after `uid`).
pub fn set_resource_version(obj: &mut Value, rv: Revision) {
    let meta = objects::metadata_mut(obj);
    let value = Value::String(rv.to_string());
    if meta.contains_key("resourceVersion") {
        meta.insert("resourceVersion".into(), value);
        return;
    }
    let anchor = ["uid", "selfLink", "namespace", "generateName", "name"]
        .into_iter()
        .find_map(|a| meta.keys().position(|k| k == a));
    match anchor {
        // In place rather than rebuilding the map (`objects::insert_after`).
        Some(i) => {
            meta.shift_insert(i + 1, "resourceVersion".into(), value);
        }
        None => {
            meta.insert("resourceVersion".into(), value);
        }
    }
}

/// `objects::is_deleting` of a stored namespace, reading only `metadata.deletionTimestamp`
/// (unreadable → false).
/// Where namespaces are stored.
const NAMESPACES_PREFIX: &str = "/registry/namespaces/";

fn namespace_deleting(stored: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct Object {
        metadata: Option<Meta>,
    }
    #[derive(serde::Deserialize)]
    struct Meta {
        #[serde(rename = "deletionTimestamp")]
        deletion_timestamp: Option<serde::de::IgnoredAny>,
    }
    serde_json::from_slice::<Object>(stored)
        .ok()
        .and_then(|o| o.metadata)
        .is_some_and(|m| m.deletion_timestamp.is_some())
}

/// The stored form: the object (in `r`'s version) converted to its storage version,
/// without `metadata.resourceVersion` and `selfLink`. When the versions differ, `obj`
/// becomes what reading the stored object back in `r`'s version gives, which is what
/// kube-apiserver answers a write with.
fn encode_for_storage(r: &ResourceInfo, obj: &mut Value) -> Result<Bytes, ApiError> {
    encode_stored(r, obj).map(|t| t.bytes)
}

/// The object as kube-apiserver's storage gives it back (it answers writes with that): its
/// empty lists and maps left out, or `null` where the field has no `omitempty`, since the
/// stored protobuf cannot carry them (D37). Until here they are kept, as Go keeps them in
/// memory for defaulting, validation and the field manager. Objects without an empty `[]`
/// or `{}` anywhere (managed fields' free-form field sets aside) are left alone, without
/// the typed pass.
fn stored_form(r: &ResourceInfo, obj: &mut Value) -> Result<(), ApiError> {
    fn has_empty(v: &Value) -> bool {
        match v {
            Value::Array(a) => a.is_empty() || a.iter().any(has_empty),
            Value::Object(m) => m.is_empty() || m.values().any(has_empty),
            _ => false,
        }
    }
    let Some(codec) = r.codec else {
        return Ok(());
    };
    let Value::Object(top) = &*obj else {
        return Ok(());
    };
    let any_empty = top.iter().any(|(k, v)| match (k.as_str(), v) {
        ("metadata", Value::Object(meta)) => meta
            .iter()
            .any(|(k, v)| k != "managedFields" && has_empty(v)),
        _ => has_empty(v),
    });
    if !any_empty {
        return Ok(());
    }
    let value = std::mem::take(obj);
    *obj = kiln_runtime::go::as_stored(|| (codec.normalize_value)(value))
        .map_err(|e| ApiError::internal(format!("normalising for storage: {e}")))?;
    Ok(())
}

/// Where `resourceVersion` goes in a stored text: the byte offset, and whether a comma
/// precedes the member there.
type RvSlot = (usize, bool);

/// The stored text of a write, and where `resourceVersion` goes in it.
struct StoredText {
    bytes: Bytes,
    /// For an object in its storage version: the offset at which
    /// [`set_resource_version`]'s member is inserted, and whether a comma precedes it.
    rv_slot: Option<RvSlot>,
}

impl StoredText {
    /// The compact JSON of the object with `resourceVersion` `rv` (and its newline), as
    /// `handlers::to_json` writes it after [`set_resource_version`]: the stored text with
    /// one member inserted, instead of serialising the object again. `None` when the
    /// stored text is not in the object's own version.
    fn with_resource_version(&self, rv: Revision) -> Option<Vec<u8>> {
        let (at, comma) = self.rv_slot?;
        let (head, tail) = self.bytes.split_at_checked(at)?;
        let mut out = Vec::with_capacity(self.bytes.len() + 48);
        out.extend_from_slice(head);
        if comma {
            out.push(b',');
        }
        out.extend_from_slice(b"\"resourceVersion\":\"");
        out.extend_from_slice(rv.to_string().as_bytes());
        out.push(b'"');
        out.extend_from_slice(tail);
        out.push(b'\n');
        Some(out)
    }
}

/// [`encode_for_storage`] with the slot for `resourceVersion` (none when the stored text is
/// in another version than `obj`).
fn encode_stored(r: &ResourceInfo, obj: &mut Value) -> Result<StoredText, ApiError> {
    let internal = |e: serde_json::Error| ApiError::internal(e.to_string());
    if !crate::convert::is_storage_version(r) {
        let stored = crate::convert::to_storage(r, obj.clone())?;
        let (bytes, _) = stored_text(&stored).map_err(internal)?;
        *obj = crate::convert::from_storage(r, stored)?;
        return Ok(StoredText {
            bytes: Bytes::from(bytes),
            rv_slot: None,
        });
    }
    let (bytes, rv_slot) = stored_text(obj).map_err(internal)?;
    Ok(StoredText {
        bytes: Bytes::from(bytes),
        rv_slot,
    })
}

/// `gojson`'s compact text of `obj` without `metadata.resourceVersion` and `selfLink`, and
/// where [`set_resource_version`] would put `resourceVersion` in it (none when the object
/// has a `selfLink`: its own JSON has one, the text does not).
fn stored_text(obj: &Value) -> serde_json::Result<(Vec<u8>, Option<RvSlot>)> {
    use crate::gojson::write_compact;
    let Value::Object(top) = obj else {
        return crate::gojson::to_vec(obj).map(|b| (b, None));
    };
    let mut out = Vec::with_capacity(512);
    let mut slot = None;
    out.push(b'{');
    for (i, (k, v)) in top.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_compact(&mut out, k.as_str())?;
        out.push(b':');
        let Value::Object(meta) = v else {
            write_compact(&mut out, v)?;
            continue;
        };
        if k != "metadata" {
            write_compact(&mut out, v)?;
            continue;
        }
        let anchor = ["uid", "namespace", "generateName", "name"]
            .into_iter()
            .find(|a| meta.contains_key(*a));
        out.push(b'{');
        let mut first = true;
        let existing = meta.contains_key("resourceVersion");
        for (mk, mv) in meta {
            if mk == "resourceVersion" {
                // `set_resource_version` replaces it where it is (first in metadata it
                // would need a comma after it instead: no slot then).
                slot = (!first).then_some((out.len(), true));
                continue;
            }
            if mk == "selfLink" {
                continue;
            }
            if !first {
                out.push(b',');
            }
            first = false;
            write_compact(&mut out, mk.as_str())?;
            out.push(b':');
            write_compact(&mut out, mv)?;
            if !existing && anchor == Some(mk.as_str()) {
                slot = Some((out.len(), true));
            }
        }
        if !existing && anchor.is_none() {
            slot = Some((out.len(), !first));
        }
        if meta.contains_key("selfLink") {
            // The object's own JSON has it; the text does not.
            slot = None;
        }
        out.push(b'}');
    }
    out.push(b'}');
    Ok((out, slot))
}

fn parse_rv(rv: &str) -> Result<Revision, ApiError> {
    rv.parse::<Revision>()
        .map_err(|_| ApiError::bad_request(format!("invalid resource version: {rv:?}")))
}

/// `spec` and everything else outside metadata and status, for generation tracking.
fn spec_part(obj: &Value) -> Value {
    let mut v = obj.clone();
    if let Value::Object(m) = &mut v {
        m.shift_remove("metadata");
        m.shift_remove("status");
        m.shift_remove("kind");
        m.shift_remove("apiVersion");
    }
    v
}

/// Whether deletion of this object still waits on finalizers.
fn finalizers_pending(r: &ResourceInfo, obj: &Value) -> bool {
    if !objects::finalizers(obj).is_empty() {
        return true;
    }
    // A namespace also waits for its spec finalizers (emptied by the namespace controller).
    r.group.is_empty()
        && r.plural == "namespaces"
        && obj
            .pointer("/spec/finalizers")
            .and_then(Value::as_array)
            .is_some_and(|f| !f.is_empty())
}

#[derive(serde::Serialize, serde::Deserialize)]
struct ContinueToken {
    v: String,
    rv: Revision,
    start: String,
}

pub fn encode_continue(rv: Revision, start: &str) -> String {
    let token = ContinueToken {
        v: "meta.k8s.io/v1".into(),
        rv,
        start: start.to_string(),
    };
    let raw = serde_json::to_vec(&token).unwrap_or_default();
    base64::engine::general_purpose::STANDARD.encode(raw)
}

fn decode_continue(token: &str) -> Result<ContinueToken, ApiError> {
    let bad = |why: &str| ApiError::bad_request(format!("continue key is not valid: {why}"));
    let raw = base64::engine::general_purpose::STANDARD
        .decode(token)
        .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(token))
        .map_err(|_| bad("incorrect encoded start resourceVersion (version meta.k8s.io/v1)"))?;
    let t: ContinueToken = serde_json::from_slice(&raw).map_err(|_| bad("incorrect encoding"))?;
    if t.v != "meta.k8s.io/v1" {
        return Err(bad("server does not recognize this encoded key"));
    }
    if t.start.contains("..") || t.start.starts_with('/') {
        return Err(bad("continue key may not contain a relative path"));
    }
    Ok(t)
}

const EXPIRED_CONTINUE: &str = "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.";

impl Store {
    pub fn new(storage: Arc<dyn Storage>) -> Store {
        Store::with_kinds(storage, Default::default())
    }

    /// A store whose built-in kinds use `kinds` (e.g. another service CIDR).
    pub fn with_kinds(storage: Arc<dyn Storage>, kinds: crate::kinds::KindState) -> Store {
        let cache = crate::storage::cache::WatchCache::new(storage.clone(), Default::default());
        Store {
            storage,
            cache,
            kinds,
        }
    }

    pub async fn get(
        &self,
        r: &ResourceInfo,
        ns: Option<&str>,
        name: &str,
    ) -> Result<Value, ApiError> {
        match self.storage.get(&object_key(r, ns, name)).await {
            Ok(Some(kv)) => decode_stored(r, &kv),
            Ok(None) => Err(ApiError::not_found(qualified(r), name)),
            Err(e) => Err(storage_error(r, name, e)),
        }
    }

    pub async fn current_revision(&self) -> Result<Revision, ApiError> {
        self.storage
            .current_revision()
            .await
            .map_err(|e| ApiError::internal(e.to_string()))
    }

    /// Waits up to ~3 s for the store to reach `rv` (a client read its own newer write
    /// elsewhere), then answers 504 as kube-apiserver does.
    async fn wait_for_revision(&self, rv: Revision) -> Result<Revision, ApiError> {
        for _ in 0..30 {
            let current = self.current_revision().await?;
            if current >= rv {
                return Ok(current);
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        Err(ApiError::timeout("Too large resource version", 1))
    }

    /// [`Store::get`] as the body of a JSON response (`to_json(&object, false)`).
    pub async fn get_json(
        &self,
        r: &ResourceInfo,
        ns: Option<&str>,
        name: &str,
    ) -> Result<Vec<u8>, ApiError> {
        match self.storage.get(&object_key(r, ns, name)).await {
            Ok(Some(kv)) => {
                let mut out = Vec::with_capacity(kv.value.len() + 96);
                encode_stored_json(r, &r.group_version(), &kv, false, &mut out)?;
                out.push(b'\n');
                Ok(out)
            }
            Ok(None) => Err(ApiError::not_found(qualified(r), name)),
            Err(e) => Err(storage_error(r, name, e)),
        }
    }

    pub async fn list(
        &self,
        r: &ResourceInfo,
        ns: Option<&str>,
        opts: &ListOptions,
    ) -> Result<ListResult, ApiError> {
        self.list_with(r, ns, opts, |kv| {
            let obj = decode_stored(r, kv)?;
            Ok(self.matches(r, &obj, opts).then_some(obj))
        })
        .await
    }

    /// [`Store::list`] as the body of a JSON response: what the list handler writes for
    /// `{"kind": "…List", "apiVersion", "metadata": list_meta, "items"}` with
    /// `to_json(&list, false)`, without building the objects.
    pub async fn list_json(
        &self,
        r: &ResourceInfo,
        ns: Option<&str>,
        opts: &ListOptions,
    ) -> Result<Vec<u8>, ApiError> {
        let gv = r.group_version();
        let filtered = opts.labels.is_some() || opts.fields.is_some();
        let mut items = Vec::new();
        let res = self
            .list_with(r, ns, opts, |kv| {
                if filtered && !self.matches(r, &decode_stored(r, kv)?, opts) {
                    return Ok(None);
                }
                if !items.is_empty() {
                    items.push(b',');
                }
                encode_stored_json(r, &gv, kv, true, &mut items)?;
                Ok(Some(()))
            })
            .await?;
        let head = json!({"kind": list_kind(r), "apiVersion": gv, "metadata": list_meta(&res)});
        let mut out =
            crate::gojson::to_vec(&head).map_err(|e| ApiError::internal(e.to_string()))?;
        out.reserve(items.len() + 16);
        out.pop(); // the closing brace
        out.extend_from_slice(b",\"items\":[");
        out.extend_from_slice(&items);
        out.extend_from_slice(b"]}\n");
        Ok(out)
    }

    /// Pages through the collection at one revision; `item` turns a stored object into a
    /// list item, or `None` when the selectors leave it out.
    async fn list_with<T>(
        &self,
        r: &ResourceInfo,
        ns: Option<&str>,
        opts: &ListOptions,
        mut item: impl FnMut(&KeyValue) -> Result<Option<T>, ApiError>,
    ) -> Result<ListResult<T>, ApiError> {
        let prefix = collection_prefix(r, ns);
        let (mut start_key, mut at) = (None::<String>, None::<Revision>);
        // `resourceVersion=0`: the first page comes from the watch cache (at its revision),
        // any further pages from storage at that revision.
        let mut from_cache = opts.continue_token.is_none() && opts.read_at == Some(ReadAt::Any);
        if let Some(token) = &opts.continue_token {
            let t = decode_continue(token)?;
            start_key = Some(format!("{prefix}{}", t.start));
            at = Some(t.rv);
        } else {
            match opts.read_at {
                Some(ReadAt::Exact(rv)) => at = Some(rv),
                Some(ReadAt::NotOlderThan(rv)) => {
                    self.wait_for_revision(rv).await?;
                }
                Some(ReadAt::Latest | ReadAt::Any) | None => {}
            }
        }
        let filtered = opts.labels.is_some() || opts.fields.is_some();
        let mut items = Vec::new();
        let mut revision = at;
        let mut last_key: Option<String> = None;
        let mut remaining = None;
        let mut more;
        loop {
            let want = if opts.limit == 0 {
                0
            } else {
                (opts.limit - items.len()).max(1)
            };
            let page_size = if filtered && want > 0 {
                want.max(100)
            } else {
                want
            };
            let read = if std::mem::take(&mut from_cache) {
                self.cache
                    .range(
                        &resource_prefix(r),
                        &prefix,
                        start_key.as_deref(),
                        page_size,
                    )
                    .await
            } else {
                self.storage
                    .range(&prefix, start_key.as_deref(), page_size, revision)
                    .await
            };
            let res = match read {
                Ok(res) => res,
                Err(StorageError::Compacted {
                    requested,
                    compacted,
                }) => {
                    return Err(if opts.continue_token.is_some() {
                        ApiError::expired(EXPIRED_CONTINUE)
                    } else {
                        ApiError::expired(format!(
                            "The resourceVersion for the provided list is too old. ({requested} < {compacted})"
                        ))
                    });
                }
                Err(e) => return Err(storage_error(r, "", e)),
            };
            revision = Some(res.revision);
            more = res.more;
            let mut stopped_early = false;
            for kv in &res.kvs {
                if opts.limit > 0 && items.len() >= opts.limit {
                    stopped_early = true;
                    break;
                }
                last_key = Some(kv.key.clone());
                if let Some(obj) = item(kv)? {
                    items.push(obj);
                }
            }
            if stopped_early {
                more = true;
                break;
            }
            if !more || opts.limit == 0 || items.len() >= opts.limit {
                if !filtered && more {
                    remaining = Some(res.remaining);
                }
                break;
            }
            match &last_key {
                Some(k) => start_key = Some(format!("{k}\u{0}")),
                None => break,
            }
        }
        let revision = revision.unwrap_or(0);
        let continue_token = if more {
            last_key.map(|k| {
                encode_continue(
                    revision,
                    &format!("{}\u{0}", k.strip_prefix(&prefix).unwrap_or(&k)),
                )
            })
        } else {
            None
        };
        Ok(ListResult {
            items,
            revision,
            continue_token,
            remaining: remaining.filter(|_| more),
        })
    }

    /// Whether an object passes the list's label and field selectors.
    pub fn matches(&self, r: &ResourceInfo, obj: &Value, opts: &ListOptions) -> bool {
        matches_selectors(r, obj, opts.labels.as_ref(), opts.fields.as_ref())
    }

    /// Checks that the namespace of a namespaced create exists and is not terminating, and
    /// answers its key and mod revision for the create to guard on
    /// ([`Storage::create_guarded`]: the create commits only while the namespace is still
    /// that version). The watch cache's copy serves when it has an active one, so a
    /// create costs no read of the backend; otherwise (not cached yet, or terminating
    /// there) the backend is read. `fresh` skips the cache.
    async fn check_namespace(
        &self,
        r: &ResourceInfo,
        ns: Option<&str>,
        fresh: bool,
    ) -> Result<Option<(String, Revision)>, ApiError> {
        let Some(ns) = ns.filter(|_| r.namespaced) else {
            return Ok(None);
        };
        let key = [NAMESPACES_PREFIX, ns].concat();
        if !fresh
            && let Ok(cached) = self
                .cache
                .range(NAMESPACES_PREFIX, &key, Some(&key), 1)
                .await
            && let Some(kv) = cached.kvs.into_iter().find(|kv| kv.key == key)
            && !namespace_deleting(&kv.value)
        {
            return Ok(Some((key, kv.mod_revision)));
        }
        let kv = self
            .storage
            .get(&key)
            .await
            .map_err(|e| ApiError::internal(e.to_string()))?;
        let Some(kv) = kv else {
            return Err(ApiError::not_found(
                Qualified {
                    group: "",
                    resource: "namespaces",
                },
                ns,
            ));
        };
        if namespace_deleting(&kv.value) {
            let mut err = ApiError::forbidden(
                qualified(r),
                "",
                &format!(
                    "unable to create new content in namespace {ns} because it is being terminated"
                ),
            );
            err.message = format!(
                "{} \"\" is forbidden: unable to create new content in namespace {ns} because it is being terminated",
                qualified(r)
            );
            return Err(err);
        }
        Ok(Some((key, kv.mod_revision)))
    }

    /// Creates an object. `obj` is already decoded, normalised and carries the right type meta.
    pub async fn create(
        &self,
        r: &ResourceInfo,
        ns: Option<&str>,
        obj: Value,
        opts: &WriteOptions,
    ) -> Result<Value, ApiError> {
        self.create_stored(r, ns, obj, opts).await.map(|(o, _)| o)
    }

    /// [`Store::create`] as the body of a compact JSON response (with its newline): the
    /// stored text with `resourceVersion` inserted where the object has it
    /// ([`StoredText::with_resource_version`]), not the object serialised a second time.
    pub async fn create_json(
        &self,
        r: &ResourceInfo,
        ns: Option<&str>,
        obj: Value,
        opts: &WriteOptions,
    ) -> Result<Vec<u8>, ApiError> {
        let (obj, stored) = self.create_stored(r, ns, obj, opts).await?;
        if let Some(body) = stored.and_then(|(t, rv)| t.with_resource_version(rv)) {
            return Ok(body);
        }
        Ok(crate::handlers::to_json(&obj, false))
    }

    /// The created object, and its stored text and revision (none on a dry run).
    async fn create_stored(
        &self,
        r: &ResourceInfo,
        ns: Option<&str>,
        obj: Value,
        opts: &WriteOptions,
    ) -> Result<(Value, Option<(StoredText, Revision)>), ApiError> {
        let cx = strategy::WriteContext::new(&self.kinds, opts.dry_run);
        let res = self.create_in(&cx, r, ns, obj, opts).await;
        // Whatever the strategy reserved for a create that was not stored is free again.
        crate::kinds::release_reserved(self, &cx).await;
        res
    }

    async fn create_in(
        &self,
        cx: &strategy::WriteContext<'_>,
        r: &ResourceInfo,
        ns: Option<&str>,
        mut obj: Value,
        opts: &WriteOptions,
    ) -> Result<(Value, Option<(StoredText, Revision)>), ApiError> {
        let strat = strategy::for_resource(r);
        {
            let meta = objects::metadata_mut(&mut obj);
            if r.namespaced {
                if let Some(ns) = ns {
                    meta.insert("namespace".into(), Value::String(ns.to_string()));
                }
            } else {
                meta.shift_remove("namespace");
            }
            for f in [
                "uid",
                "resourceVersion",
                "selfLink",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
                "generation",
            ] {
                meta.shift_remove(f);
            }
        }
        let mut guard = self.check_namespace(r, ns, false).await?;
        let generate = objects::name(&obj).is_empty();
        let prefix = objects::meta_str(&obj, "generateName")
            .unwrap_or("")
            .to_string();
        if generate && prefix.is_empty() {
            return Err(ApiError::invalid(
                r.group,
                r.kind,
                "",
                &[FieldError::required(
                    "metadata.name",
                    "name or generateName is required",
                )],
            ));
        }
        strat.prepare_for_create(cx, r, &mut obj)?;
        if let Some(m) = &opts.field_manager {
            crate::apply::track_update(r, m, None, None, &mut obj);
        }
        if r.subresource("status").is_some()
            && obj.get("status").is_none()
            && let Value::Object(m) = &mut obj
        {
            m.insert("status".into(), crate::strategy::zero_status(r));
        }
        for attempt in 0..8 {
            if generate {
                let name = crate::validation::generate_name(&prefix);
                objects::set_meta(&mut obj, "name", Value::String(name));
            }
            let name = objects::name(&obj).to_string();
            let mut errors = strategy::validate_name(strat.name_rule(), &name);
            if generate && !errors.is_empty() {
                // Report problems with the prefix, as kube-apiserver does.
                errors = strategy::validate_name(strat.name_rule(), &prefix)
                    .into_iter()
                    .map(|mut e| {
                        e.field = "metadata.generateName".into();
                        e
                    })
                    .collect();
            }
            errors.extend(crate::validation::validate_object_meta(objects::metadata(
                &obj,
            )));
            errors.extend(strat.validate(r, &obj));
            if !errors.is_empty() {
                return Err(ApiError::invalid(r.group, r.kind, &name, &errors));
            }
            {
                // A random (v4) UUID from the thread's CSPRNG, without a getrandom call each.
                let uid = uuid::Builder::from_random_bytes(rand::random())
                    .into_uuid()
                    .to_string();
                let meta = objects::metadata_mut(&mut obj);
                meta.insert("uid".into(), Value::String(uid));
                meta.insert(
                    "creationTimestamp".into(),
                    Value::String(objects::now_rfc3339()),
                );
                if strat.tracks_generation(r) {
                    meta.insert("generation".into(), json!(1));
                }
            }
            reorder_metadata(&mut obj);
            stored_form(r, &mut obj)?;
            if opts.dry_run {
                return Ok((obj, None));
            }
            crate::kinds::persist_reserved(self, cx, &mut obj).await?;
            let text = encode_stored(r, &mut obj)?;
            let bytes = text.bytes.clone();
            let key = object_key(r, ns, &name);
            let guarded = guard.as_ref().map(|(k, rev)| (k.as_str(), *rev));
            let created = if crate::convert::is_storage_version(r) {
                // `obj` is what `bytes` hold: the backend may encode from it.
                self.storage.create_object(&key, bytes, &obj, guarded).await
            } else {
                match guarded {
                    Some((ns_key, ns_rev)) => {
                        self.storage
                            .create_guarded(&key, bytes, ns_key, ns_rev)
                            .await
                    }
                    None => self.storage.create(&key, bytes).await,
                }
            };
            match created {
                Ok(kv) => {
                    strat.created(cx, r, &obj);
                    set_resource_version(&mut obj, kv.mod_revision);
                    return Ok((obj, Some((text, kv.mod_revision))));
                }
                Err(StorageError::AlreadyExists { .. }) if generate && attempt < 7 => continue,
                Err(StorageError::Conflict { key: k, .. })
                    if attempt < 7 && guard.as_ref().is_some_and(|(g, _)| *g == k) =>
                {
                    // The namespace changed since it was checked: check it again.
                    guard = self.check_namespace(r, ns, true).await?;
                    continue;
                }
                Err(e) => return Err(storage_error(r, &name, e)),
            }
        }
        Err(ApiError::already_exists(qualified(r), objects::name(&obj)))
    }

    /// Updates an object through `mutate(current) -> desired`, retrying on write races
    /// unless the caller pinned a resourceVersion. `subresource` is `None` or `Some("status")`
    /// (or another subresource that writes the parent object).
    /// Returns the new state and whether it was created.
    pub async fn update(
        &self,
        r: &ResourceInfo,
        ns: Option<&str>,
        name: &str,
        subresource: Option<&str>,
        mutate: &(dyn Fn(Option<&Value>) -> Result<Value, ApiError> + Sync),
        opts: &WriteOptions,
    ) -> Result<(Value, bool), ApiError> {
        let cx = strategy::WriteContext::new(&self.kinds, opts.dry_run);
        let res = self
            .update_in(&cx, r, ns, name, subresource, mutate, opts)
            .await;
        crate::kinds::release_reserved(self, &cx).await;
        res
    }

    #[allow(clippy::too_many_arguments)]
    async fn update_in(
        &self,
        cx: &strategy::WriteContext<'_>,
        r: &ResourceInfo,
        ns: Option<&str>,
        name: &str,
        subresource: Option<&str>,
        mutate: &(dyn Fn(Option<&Value>) -> Result<Value, ApiError> + Sync),
        opts: &WriteOptions,
    ) -> Result<(Value, bool), ApiError> {
        let strat = strategy::for_resource(r);
        let key = object_key(r, ns, name);
        for _ in 0..16 {
            // A retry starts over: what the last attempt reserved is free again.
            crate::kinds::release_reserved(self, cx).await;
            let current = self
                .storage
                .get(&key)
                .await
                .map_err(|e| storage_error(r, name, e))?;
            let Some(current) = current else {
                if subresource.is_none() && strat.allow_create_on_update(r) {
                    let obj = mutate(None)?;
                    return self.create(r, ns, obj, opts).await.map(|o| (o, true));
                }
                return Err(ApiError::not_found(qualified(r), name));
            };
            // Normalised, as the new object is: an object stored by an older Kiln gains the
            // fields Go always writes (D37) here rather than looking changed by them.
            let old = match crate::handlers::normalize(r, decode_stored(r, &current)?) {
                Ok(old) => old,
                Err(_) => decode_stored(r, &current)?,
            };
            let mut new = mutate(Some(&old))?;
            // A resourceVersion in the new object is a precondition.
            let pinned = objects::meta_str(&new, "resourceVersion")
                .filter(|s| !s.is_empty())
                .map(str::to_string);
            if let Some(rv) = &pinned
                && parse_rv(rv)? != current.mod_revision
            {
                return Err(ApiError::modified(qualified(r), name));
            }
            if let Some(uid) = objects::meta_str(&new, "uid").filter(|u| !u.is_empty())
                && uid != objects::uid(&old)
            {
                return Err(ApiError::conflict(
                    qualified(r),
                    name,
                    &format!(
                        "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                        objects::uid(&old)
                    ),
                ));
            }
            if pinned.is_none() && !strat.allow_unconditional_update(r) {
                // kube names the resource (not the kind) here, and prints the missing
                // version as Go's `%#v` of a uint64.
                let err = FieldError::invalid_shown(
                    "metadata.resourceVersion",
                    "0x0",
                    "must be specified for an update",
                );
                return Err(ApiError::invalid(r.group, r.plural, name, &[err]));
            }
            self.prepare_update(r, subresource, &mut new, &old)?;
            strat.prepare_for_update(cx, r, &mut new, &old)?;
            if let Some(m) = &opts.field_manager {
                crate::apply::track_update(r, m, subresource, Some(&old), &mut new);
            }
            let mut errors = crate::validation::validate_object_meta(objects::metadata(&new));
            errors.extend(strat.validate_update(r, &new, &old));
            if !errors.is_empty() {
                return Err(ApiError::invalid(r.group, r.kind, name, &errors));
            }
            reorder_metadata(&mut new);
            stored_form(r, &mut new)?;
            set_resource_version(&mut new, current.mod_revision);
            if objects::same_content(&new, &old)
                && objects::metadata(&new).and_then(|m| m.get("managedFields"))
                    == objects::metadata(&old).and_then(|m| m.get("managedFields"))
            {
                return Ok((old, false));
            }
            if opts.dry_run {
                return Ok((new, false));
            }
            if objects::is_deleting(&new) && !finalizers_pending(r, &new) {
                match self.storage.delete(&key, Some(current.mod_revision)).await {
                    Ok(kv) => {
                        strat.deleted(cx, r, &new);
                        set_resource_version(&mut new, kv.mod_revision);
                        return Ok((new, false));
                    }
                    Err(StorageError::Conflict { .. }) if pinned.is_none() => continue,
                    Err(e) => return Err(storage_error(r, name, e)),
                }
            }
            crate::kinds::persist_reserved(self, cx, &mut new).await?;
            // Not stored, and set again from the write's revision below.
            objects::metadata_mut(&mut new).shift_remove("resourceVersion");
            let bytes = encode_for_storage(r, &mut new)?;
            let updated = if crate::convert::is_storage_version(r) {
                // `new` is what `bytes` hold: the backend may encode from it.
                self.storage
                    .update_object(&key, bytes, &new, Some(current.mod_revision))
                    .await
            } else {
                self.storage
                    .update(&key, bytes, Some(current.mod_revision))
                    .await
            };
            match updated {
                Ok(kv) => {
                    strat.updated(cx, r, &new, &old);
                    set_resource_version(&mut new, kv.mod_revision);
                    return Ok((new, false));
                }
                Err(StorageError::Conflict { .. }) if pinned.is_none() => continue,
                Err(e) => return Err(storage_error(r, name, e)),
            }
        }
        Err(ApiError::modified(qualified(r), name))
    }

    /// The generic update rules: immutable metadata, status/spec split, generation.
    fn prepare_update(
        &self,
        r: &ResourceInfo,
        subresource: Option<&str>,
        new: &mut Value,
        old: &Value,
    ) -> Result<(), ApiError> {
        let strat = strategy::for_resource(r);
        let name = objects::name(old).to_string();
        if subresource == Some("status") {
            // Status writes change only status (and managedFields).
            let status = new.get("status").cloned();
            let mut merged = old.clone();
            if let Value::Object(m) = &mut merged {
                match status {
                    Some(s) => {
                        m.insert("status".into(), s);
                    }
                    None => {
                        m.shift_remove("status");
                    }
                }
            }
            *new = merged;
            return Ok(());
        }
        if r.subresource("status").is_some()
            && let Value::Object(m) = new
        {
            match old.get("status") {
                Some(s) => {
                    m.insert("status".into(), s.clone());
                }
                None => {
                    m.shift_remove("status");
                }
            }
        }
        let old_meta = objects::metadata(old).cloned().unwrap_or_default();
        let old_finalizers = objects::finalizers(old);
        {
            let meta = objects::metadata_mut(new);
            for f in [
                "name",
                "namespace",
                "uid",
                "creationTimestamp",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
                "generation",
            ] {
                match old_meta.get(f) {
                    Some(v) => {
                        meta.insert(f.into(), v.clone());
                    }
                    None => {
                        meta.shift_remove(f);
                    }
                }
            }
            meta.shift_remove("selfLink");
        }
        if objects::is_deleting(old) {
            let added: Vec<String> = objects::finalizers(new)
                .into_iter()
                .filter(|f| !old_finalizers.contains(f))
                .collect();
            if !added.is_empty() {
                let list = added
                    .iter()
                    .map(|f| format!("{f:?}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                return Err(ApiError::invalid(
                    r.group,
                    r.kind,
                    &name,
                    &[FieldError::forbidden(
                        "metadata.finalizers",
                        format!(
                            "no new finalizers can be added if the object is being deleted, found new finalizers []string{{{list}}}"
                        ),
                    )],
                ));
            }
        }
        if strat.tracks_generation(r) && spec_part(new) != spec_part(old) {
            let g = old_meta
                .get("generation")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            objects::set_meta(new, "generation", json!(g + 1));
        }
        Ok(())
    }

    pub async fn delete(
        &self,
        r: &ResourceInfo,
        ns: Option<&str>,
        name: &str,
        opts: &DeleteOptions,
    ) -> Result<DeleteOutcome, ApiError> {
        let key = object_key(r, ns, name);
        for _ in 0..16 {
            let current = self
                .storage
                .get(&key)
                .await
                .map_err(|e| storage_error(r, name, e))?;
            let Some(current) = current else {
                return Err(ApiError::not_found(qualified(r), name));
            };
            let mut obj = decode_stored(r, &current)?;
            if let Some(uid) = &opts.precondition_uid
                && uid != objects::uid(&obj)
            {
                return Err(ApiError::conflict(
                    qualified(r),
                    name,
                    &format!(
                        "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                        objects::uid(&obj)
                    ),
                ));
            }
            if let Some(rv) = &opts.precondition_resource_version
                && rv != &current.mod_revision.to_string()
            {
                return Err(ApiError::conflict(
                    qualified(r),
                    name,
                    &format!(
                        "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}",
                        current.mod_revision
                    ),
                ));
            }
            if finalizers_pending(r, &obj) {
                if objects::is_deleting(&obj) {
                    return Ok(DeleteOutcome::Pending(obj));
                }
                {
                    let meta = objects::metadata_mut(&mut obj);
                    meta.insert(
                        "deletionTimestamp".into(),
                        Value::String(objects::now_rfc3339()),
                    );
                    meta.insert("deletionGracePeriodSeconds".into(), json!(0));
                    if let Some(g) = meta
                        .get("generation")
                        .and_then(Value::as_i64)
                        .filter(|g| *g > 0)
                    {
                        meta.insert("generation".into(), json!(g + 1));
                    }
                }
                if r.group.is_empty()
                    && r.plural == "namespaces"
                    && let Value::Object(m) = &mut obj
                {
                    m.insert("status".into(), json!({"phase": "Terminating"}));
                }
                reorder_metadata(&mut obj);
                if opts.dry_run {
                    return Ok(DeleteOutcome::Pending(obj));
                }
                let bytes = encode_for_storage(r, &mut obj)?;
                match self
                    .storage
                    .update(&key, bytes, Some(current.mod_revision))
                    .await
                {
                    Ok(kv) => {
                        set_resource_version(&mut obj, kv.mod_revision);
                        return Ok(DeleteOutcome::Pending(obj));
                    }
                    Err(StorageError::Conflict { .. }) => continue,
                    Err(e) => return Err(storage_error(r, name, e)),
                }
            }
            if opts.dry_run {
                return Ok(DeleteOutcome::Deleted(obj));
            }
            match self.storage.delete(&key, Some(current.mod_revision)).await {
                Ok(kv) => {
                    // Allocations are released as the object goes, not later.
                    let cx = strategy::WriteContext::new(&self.kinds, false);
                    strategy::for_resource(r).deleted(&cx, r, &obj);
                    crate::kinds::release_reserved(self, &cx).await;
                    set_resource_version(&mut obj, kv.mod_revision);
                    return Ok(DeleteOutcome::Deleted(obj));
                }
                Err(StorageError::Conflict { .. }) => continue,
                Err(StorageError::NotFound { .. }) => {
                    return Err(ApiError::not_found(qualified(r), name));
                }
                Err(e) => return Err(storage_error(r, name, e)),
            }
        }
        Err(ApiError::modified(qualified(r), name))
    }

    /// Deletes every object of a collection that matches the selectors; returns what was
    /// deleted or marked for deletion.
    pub async fn delete_collection(
        &self,
        r: &ResourceInfo,
        ns: Option<&str>,
        list: &ListOptions,
        opts: &DeleteOptions,
    ) -> Result<ListResult, ApiError> {
        let found = self
            .list(
                r,
                ns,
                &ListOptions {
                    labels: list.labels.clone(),
                    fields: list.fields.clone(),
                    ..Default::default()
                },
            )
            .await?;
        let mut items = Vec::new();
        for obj in found.items {
            let item_ns = objects::namespace(&obj).to_string();
            let item_ns = if item_ns.is_empty() {
                None
            } else {
                Some(item_ns.as_str())
            };
            match self.delete(r, item_ns, objects::name(&obj), opts).await {
                Ok(DeleteOutcome::Deleted(o)) | Ok(DeleteOutcome::Pending(o)) => items.push(o),
                Err(e) if e.code == 404 => {}
                Err(e) => return Err(e),
            }
        }
        Ok(ListResult {
            items,
            revision: found.revision,
            continue_token: None,
            remaining: None,
        })
    }
}

/// Label and field selector match for one object.
pub fn matches_selectors(
    r: &ResourceInfo,
    obj: &Value,
    labels: Option<&LabelSelector>,
    fields: Option<&FieldSelector>,
) -> bool {
    if let Some(sel) = labels
        && !sel.matches(&objects::labels(obj))
    {
        return false;
    }
    if let Some(sel) = fields
        && !sel.matches(|f| crate::fields::field_value(r.group, r.kind, obj, f))
    {
        return false;
    }
    true
}

/// Orders metadata fields as `ObjectMeta` serialises them.
pub fn reorder_metadata(obj: &mut Value) {
    const ORDER: [&str; 15] = [
        "name",
        "generateName",
        "namespace",
        "selfLink",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "labels",
        "annotations",
        "ownerReferences",
        "finalizers",
        "managedFields",
    ];
    // Known fields in `ORDER`, then the rest as they were (a stable sort by rank).
    let rank = |k: &str| ORDER.iter().position(|o| *o == k).unwrap_or(ORDER.len());
    let meta = objects::metadata_mut(obj);
    if meta.keys().map(|k| rank(k)).is_sorted() {
        return;
    }
    let mut entries: Vec<(String, Value)> = std::mem::take(meta).into_iter().collect();
    entries.sort_by_key(|(k, _)| rank(k));
    meta.extend(entries);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta_strategy() -> impl proptest::strategy::Strategy<Value = Vec<(String, Value)>> {
        use proptest::prelude::*;
        let key = prop_oneof![
            Just("name".to_string()),
            Just("uid".to_string()),
            Just("namespace".to_string()),
            Just("generateName".to_string()),
            Just("selfLink".to_string()),
            Just("resourceVersion".to_string()),
            Just("labels".to_string()),
            "[a-z<>&\u{e9}\\\"]{1,6}",
        ];
        let value = prop_oneof![
            Just(json!("v")),
            Just(json!(7)),
            Just(json!({"a": "<b>", "c": [1, "\u{2028}"]})),
            "[ -~\u{e9}\u{2028}]{0,8}".prop_map(Value::String),
        ];
        proptest::collection::vec((key, value), 0..8)
    }

    proptest::proptest! {
        /// The stored text is the object without `resourceVersion` and `selfLink`, written
        /// by `gojson`; inserting the version at the slot gives the object's own JSON
        /// after `set_resource_version`.
        #[test]
        fn stored_text_and_its_resource_version_slot(
            members in meta_strategy(),
            rv in 1i64..1_000_000_000_000,
            with_status in proptest::bool::ANY,
        ) {
            let mut meta = Map::new();
            for (k, v) in members {
                meta.insert(k, v);
            }
            let mut obj = json!({"kind": "ConfigMap", "apiVersion": "v1"});
            if let Value::Object(m) = &mut obj {
                m.insert("metadata".into(), Value::Object(meta.clone()));
                m.insert("data".into(), json!({"k": "v\u{2029}</script>"}));
                if with_status {
                    m.insert("status".into(), json!({}));
                }
            }
            let (text, slot) = stored_text(&obj).unwrap_or_default();
            let mut trimmed = obj.clone();
            let m = objects::metadata_mut(&mut trimmed);
            m.shift_remove("resourceVersion");
            m.shift_remove("selfLink");
            let want = crate::gojson::to_vec(&trimmed).unwrap_or_default();
            proptest::prop_assert_eq!(
                String::from_utf8_lossy(&text),
                String::from_utf8_lossy(&want)
            );
            let stored = StoredText { bytes: Bytes::from(text), rv_slot: slot };
            let mut versioned = obj.clone();
            set_resource_version(&mut versioned, rv);
            let whole = crate::handlers::to_json(&versioned, false);
            match stored.with_resource_version(rv) {
                Some(body) => proptest::prop_assert_eq!(
                    String::from_utf8_lossy(&body),
                    String::from_utf8_lossy(&whole)
                ),
                // Only where the object's own placement cannot be had from the text.
                None => proptest::prop_assert!(
                    meta.contains_key("selfLink")
                        || meta.keys().next().is_some_and(|k| k == "resourceVersion")
                ),
            }
        }
    }

    proptest::proptest! {
        /// Known fields come in `ObjectMeta`'s order, the others after them as they were.
        #[test]
        fn metadata_is_reordered_like_object_meta(
            keys in proptest::sample::subsequence(
                vec!["managedFields", "x-b", "uid", "name", "labels", "x-a", "namespace",
                     "creationTimestamp", "finalizers", "generation"],
                0..=10,
            ),
            rotate in 0usize..10,
        ) {
            let mut keys = keys;
            if !keys.is_empty() {
                let n = rotate % keys.len();
                keys.rotate_left(n);
            }
            let mut meta = Map::new();
            for (i, k) in keys.iter().enumerate() {
                meta.insert((*k).to_string(), json!(i));
            }
            let mut obj = json!({"kind": "ConfigMap", "metadata": Value::Object(meta)});
            reorder_metadata(&mut obj);
            let got: Vec<&str> = objects::metadata(&obj)
                .map(|m| m.keys().map(String::as_str).collect())
                .unwrap_or_default();
            let order = ["name", "namespace", "uid", "generation", "creationTimestamp",
                "labels", "finalizers", "managedFields"];
            let mut want: Vec<&str> = order.iter().copied().filter(|k| keys.contains(k)).collect();
            want.extend(keys.iter().copied().filter(|k| k.starts_with("x-")));
            proptest::prop_assert_eq!(got, want);
            // Values travel with their keys.
            for (i, k) in keys.iter().enumerate() {
                proptest::prop_assert_eq!(&obj["metadata"][*k], &json!(i));
            }
        }
    }
}
