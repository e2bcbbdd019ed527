//! Validation of built-in kinds as kube-apiserver's `pkg/apis/*/validation` does it, on the
//! defaulted object, with kube's field paths and messages (`field.Error` rendering lives in
//! [`crate::validation`]).
//!
//! Metadata (name, namespace, labels, annotations, owner references, finalizers) is checked
//! by the generic store before these run; this module checks everything kind-specific.
//! Paths are built lazily ([`Path`]) and only rendered when an error is reported, so valid
//! objects cost no allocations beyond a few small name lists.

pub mod affinity;
pub mod autoscaling;
pub mod config;
pub mod coordination;
pub mod events;
pub mod misc;
pub mod networking;
pub mod pod;
pub mod rbac;
pub mod scheduling;
pub mod service;
pub mod storage;
pub mod volumes;
pub mod workloads;

use kiln_runtime::registry::ResourceInfo;
use serde_json::{Map, Value};

use crate::validation::{self, FieldError};

/// The error list every validator appends to.
pub type Errs = Vec<FieldError>;

/// Validates a new object of kind `r` (create, and the first half of update).
pub fn validate(r: &ResourceInfo, obj: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    match (r.group, r.kind) {
        ("", "Pod") => pod::validate_pod(obj, &mut errs),
        ("", "PodTemplate") => pod::validate_pod_template(obj, &mut errs),
        ("", "ReplicationController") => workloads::validate_rc(obj, &mut errs),
        ("apps", "Deployment") => workloads::validate_deployment(obj, &mut errs),
        ("apps", "ReplicaSet") => workloads::validate_replicaset(obj, &mut errs),
        ("apps", "StatefulSet") => workloads::validate_statefulset(obj, &mut errs),
        ("apps", "DaemonSet") => workloads::validate_daemonset(obj, &mut errs),
        ("batch", "Job") => workloads::validate_job(obj, &mut errs),
        ("batch", "CronJob") => workloads::validate_cronjob(obj, &mut errs),
        ("", "Service") => service::validate_service(obj, &mut errs),
        ("", "Secret") => config::validate_secret(obj, &mut errs),
        ("", "ConfigMap") => config::validate_configmap(obj, &mut errs),
        ("", "Namespace") => misc::validate_namespace(obj, &mut errs),
        ("", "Node") => misc::validate_node(obj, &mut errs),
        ("rbac.authorization.k8s.io", "Role") => rbac::validate_role(obj, true, &mut errs),
        ("rbac.authorization.k8s.io", "ClusterRole") => rbac::validate_role(obj, false, &mut errs),
        ("rbac.authorization.k8s.io", "RoleBinding") => {
            rbac::validate_binding(obj, true, &mut errs)
        }
        ("rbac.authorization.k8s.io", "ClusterRoleBinding") => {
            rbac::validate_binding(obj, false, &mut errs)
        }
        ("", "PersistentVolume") => volumes::validate_pv(obj, &mut errs),
        ("", "PersistentVolumeClaim") => volumes::validate_pvc(obj, &mut errs),
        ("", "Event") => events::validate_event(obj, events::View::Core, &mut errs),
        ("events.k8s.io", "Event") => events::validate_event(obj, events::View::Events, &mut errs),
        ("networking.k8s.io", "Ingress") => networking::validate_ingress(obj, &mut errs),
        ("networking.k8s.io", "IngressClass") => networking::validate_ingress_class(obj, &mut errs),
        ("networking.k8s.io", "NetworkPolicy") => {
            networking::validate_network_policy(obj, &mut errs)
        }
        ("autoscaling", "HorizontalPodAutoscaler") => {
            with_hpa_v2(r, obj, |hpa| {
                autoscaling::validate_hpa(hpa, false, &mut errs)
            });
        }
        ("coordination.k8s.io", "Lease") => coordination::validate_lease(obj, &mut errs),
        ("scheduling.k8s.io", "PriorityClass") => {
            scheduling::validate_priority_class(obj, &mut errs)
        }
        ("storage.k8s.io", "StorageClass") => storage::validate_storage_class(obj, &mut errs),
        _ => {}
    }
    errs
}

/// Runs `f` on an HPA in its autoscaling/v2 (internal) shape: kube converts autoscaling/v1
/// requests before validating, so v1 objects are converted to the storage version first
/// (an object that does not convert is left to the write, which reports it).
fn with_hpa_v2(r: &ResourceInfo, obj: &Value, f: impl FnOnce(&Value)) {
    if crate::convert::is_storage_version(r) {
        f(obj);
    } else if let Ok(v2) = crate::convert::to_storage(r, obj.clone()) {
        f(&v2);
    }
}

/// Validates an update of kind `r` from `old` to `new`: the kind's update rules (immutable
/// fields) in the order kube-apiserver reports them relative to the object's own checks.
pub fn validate_update(r: &ResourceInfo, new: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    match (r.group, r.kind) {
        ("", "Pod") => {
            pod::validate_pod_fields(new, &mut errs);
            pod::validate_pod_update(new, old, &mut errs);
        }
        ("", "Service") => {
            service::validate_service_update(new, old, &mut errs);
            service::validate_service(new, &mut errs);
        }
        ("", "Secret") => {
            config::validate_secret_update(new, old, &mut errs);
            config::validate_secret(new, &mut errs);
        }
        ("", "ConfigMap") => {
            config::validate_configmap_update(new, old, &mut errs);
            config::validate_configmap(new, &mut errs);
        }
        ("apps", "Deployment") => {
            workloads::validate_deployment(new, &mut errs);
            immutable(new, old, &["spec", "selector"], &mut errs);
        }
        ("apps", "ReplicaSet") => {
            workloads::validate_replicaset(new, &mut errs);
            immutable(new, old, &["spec", "selector"], &mut errs);
        }
        ("apps", "DaemonSet") => {
            workloads::validate_daemonset(new, &mut errs);
            immutable(new, old, &["spec", "selector"], &mut errs);
        }
        ("apps", "StatefulSet") => {
            workloads::validate_statefulset(new, &mut errs);
            workloads::validate_statefulset_update(new, old, &mut errs);
        }
        ("batch", "Job") => {
            workloads::validate_job(new, &mut errs);
            workloads::validate_job_update(new, old, &mut errs);
        }
        ("", "Node") => {
            misc::validate_node(new, &mut errs);
            misc::validate_node_update(new, old, &mut errs);
        }
        ("rbac.authorization.k8s.io", "RoleBinding" | "ClusterRoleBinding") => {
            errs = validate(r, new);
            rbac::validate_binding_update(new, old, &mut errs);
        }
        ("", "PersistentVolume") => {
            volumes::validate_pv(new, &mut errs);
            volumes::validate_pv_update(new, old, &mut errs);
        }
        ("", "PersistentVolumeClaim") => volumes::validate_pvc_update(new, old, &mut errs),
        ("", "Event") => events::validate_event_update(new, old, events::View::Core, &mut errs),
        ("events.k8s.io", "Event") => {
            events::validate_event_update(new, old, events::View::Events, &mut errs)
        }
        ("networking.k8s.io", "Ingress") => {
            networking::validate_ingress_update(new, old, &mut errs)
        }
        ("networking.k8s.io", "IngressClass") => {
            immutable(new, old, &["spec", "controller"], &mut errs);
            networking::validate_ingress_class(new, &mut errs);
        }
        ("autoscaling", "HorizontalPodAutoscaler") => {
            with_hpa_v2(r, old, |old| {
                let old_min_zero =
                    at(old, &["spec", "minReplicas"]).and_then(Value::as_i64) == Some(0);
                with_hpa_v2(r, new, |hpa| {
                    autoscaling::validate_hpa(hpa, old_min_zero, &mut errs)
                });
            });
        }
        ("scheduling.k8s.io", "PriorityClass") => {
            scheduling::validate_priority_class_update(new, old, &mut errs)
        }
        ("storage.k8s.io", "StorageClass") => {
            storage::validate_storage_class(new, &mut errs);
            storage::validate_storage_class_update(new, old, &mut errs);
        }
        _ => errs = validate(r, new),
    }
    errs
}

// ---------------------------------------------------------------------------------------
// Field paths
// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy)]
enum Seg<'a> {
    Field(&'a str),
    Index(usize),
    Key(&'a str),
}

/// A field path as kube's `field.Path`, kept as a chain of borrowed segments and rendered
/// (`spec.containers[0].name`, `data[key]`) only when an error needs it.
#[derive(Clone, Copy)]
pub struct Path<'a> {
    parent: Option<&'a Path<'a>>,
    seg: Seg<'a>,
}

impl<'a> Path<'a> {
    /// A top-level field (`spec`, `metadata`, `data`, …).
    pub fn new(name: &'a str) -> Path<'a> {
        Path {
            parent: None,
            seg: Seg::Field(name),
        }
    }
    /// `self.name`.
    pub fn child<'b>(&'b self, name: &'b str) -> Path<'b> {
        Path {
            parent: Some(self),
            seg: Seg::Field(name),
        }
    }
    /// `self[i]`.
    pub fn index<'b>(&'b self, i: usize) -> Path<'b> {
        Path {
            parent: Some(self),
            seg: Seg::Index(i),
        }
    }
    /// `self[key]` (map keys are printed without quotes, as kube does).
    pub fn key<'b>(&'b self, k: &'b str) -> Path<'b> {
        Path {
            parent: Some(self),
            seg: Seg::Key(k),
        }
    }
    /// The rendered path.
    pub fn render(&self) -> String {
        let mut segs: Vec<Seg<'_>> = Vec::with_capacity(8);
        let mut cur = Some(self);
        while let Some(p) = cur {
            segs.push(p.seg);
            cur = p.parent;
        }
        let mut out = String::new();
        for seg in segs.iter().rev() {
            match seg {
                Seg::Field(f) => {
                    if !out.is_empty() && !f.is_empty() {
                        out.push('.');
                    }
                    out.push_str(f);
                }
                Seg::Index(i) => {
                    out.push('[');
                    out.push_str(&i.to_string());
                    out.push(']');
                }
                Seg::Key(k) => {
                    out.push('[');
                    out.push_str(k);
                    out.push(']');
                }
            }
        }
        out
    }
}

// ---------------------------------------------------------------------------------------
// Error constructors on lazy paths
// ---------------------------------------------------------------------------------------

pub(crate) fn required(errs: &mut Errs, p: &Path<'_>, detail: &str) {
    errs.push(FieldError::required(p.render(), detail));
}
pub(crate) fn invalid(errs: &mut Errs, p: &Path<'_>, value: impl Into<Value>, detail: &str) {
    errs.push(FieldError::invalid(p.render(), value, detail));
}
pub(crate) fn forbidden(errs: &mut Errs, p: &Path<'_>, detail: &str) {
    errs.push(FieldError::forbidden(p.render(), detail));
}
pub(crate) fn not_supported(errs: &mut Errs, p: &Path<'_>, value: impl Into<Value>, ok: &[&str]) {
    errs.push(FieldError::not_supported(p.render(), value, ok));
}
pub(crate) fn duplicate(errs: &mut Errs, p: &Path<'_>, value: impl Into<Value>) {
    errs.push(FieldError::duplicate(p.render(), value));
}
pub(crate) fn not_found(errs: &mut Errs, p: &Path<'_>, value: impl Into<Value>) {
    errs.push(FieldError::not_found(p.render(), value));
}
/// One `Invalid` per message (the `for _, msg := range IsX(v)` idiom).
pub(crate) fn invalid_msgs(errs: &mut Errs, p: &Path<'_>, value: &str, msgs: Vec<String>) {
    for m in msgs {
        errs.push(FieldError::invalid(p.render(), value, m));
    }
}

/// `ValidateNonnegativeField`.
pub(crate) fn nonnegative(errs: &mut Errs, p: &Path<'_>, v: Option<i64>) {
    if let Some(v) = v
        && v < 0
    {
        invalid(errs, p, v, IS_NEGATIVE);
    }
}
pub(crate) const IS_NEGATIVE: &str = "must be greater than or equal to 0";
pub(crate) const IMMUTABLE: &str = "field is immutable";

/// `ValidateImmutableField` on the value at `path` (absent and null are the same).
pub(crate) fn immutable(new: &Value, old: &Value, path: &[&str], errs: &mut Errs) {
    let nv = at(new, path);
    let ov = at(old, path);
    if nv != ov {
        let mut rendered = String::new();
        for (i, p) in path.iter().enumerate() {
            if i > 0 {
                rendered.push('.');
            }
            rendered.push_str(p);
        }
        errs.push(FieldError::invalid(
            rendered,
            nv.map(selector_value).unwrap_or(Value::Null),
            IMMUTABLE,
        ));
    }
}

// ---------------------------------------------------------------------------------------
// Value access
// ---------------------------------------------------------------------------------------

/// The value at `k`, treating JSON null as absent.
pub(crate) fn get<'a>(v: &'a Value, k: &str) -> Option<&'a Value> {
    lookup(v, k).filter(|x| !x.is_null())
}

/// `v[k]` for an object. API objects are small maps, where comparing keys (length first)
/// beats hashing them with the map's SipHash; large maps use the index.
#[inline]
pub(crate) fn lookup<'a>(v: &'a Value, k: &str) -> Option<&'a Value> {
    super::field(v.as_object()?, k)
}

/// `a == b` for field names: the lengths first, which rejects most candidates without
/// reading a key's bytes (each key is behind its own pointer), then the bytes eight at a
/// time (a call to `memcmp` per candidate was the largest cost of validating a big pod).
#[inline(always)]
pub(crate) fn same_key(a: &str, b: &str) -> bool {
    a.len() == b.len() && same_bytes(a.as_bytes(), b.as_bytes())
}

/// `x == y` for two slices of the same length, eight bytes at a time (field names are
/// short: a call into libc's `memcmp` cost more than the comparison).
#[inline(always)]
fn same_bytes(x: &[u8], y: &[u8]) -> bool {
    let (mut xs, mut ys) = (x.chunks_exact(8), y.chunks_exact(8));
    for (a, b) in (&mut xs).zip(&mut ys) {
        if <[u8; 8]>::try_from(a).ok() != <[u8; 8]>::try_from(b).ok() {
            return false;
        }
    }
    let (xr, yr) = (xs.remainder(), ys.remainder());
    xr.len() == yr.len() && xr.iter().zip(yr).all(|(a, b)| a == b)
}
/// Several fields of an object in one pass over its keys (null treated as absent); the
/// hot container and probe checks use it instead of one lookup per field.
///
/// The search for each key starts after the name the previous key matched, so when `names`
/// lists the fields in the type's declaration order (the order every normalised object's
/// keys are in) each key is found at the first or second comparison. Any key order gives
/// the same result; only the number of comparisons differs.
pub(crate) fn pick<'a, const N: usize>(v: &'a Value, names: &[&str; N]) -> [Option<&'a Value>; N] {
    let mut out = [None; N];
    if let Some(m) = v.as_object() {
        let mut next = 0;
        for (k, val) in m {
            if val.is_null() {
                continue;
            }
            let (earlier, rest) = names.split_at(next);
            let found = rest
                .iter()
                .position(|n| same_key(n, k))
                .map(|i| i + next)
                .or_else(|| earlier.iter().position(|n| same_key(n, k)));
            if let Some(i) = found {
                out[i] = Some(val);
                next = i + 1;
            }
        }
    }
    out
}

/// A set of names (volumes of a pod, …) with a value each, looked up without comparing
/// strings in the common case: entries are kept sorted by a 64-bit FNV-1a hash of the name,
/// so a lookup is a binary search over integers and one string comparison.
pub(crate) struct ByName<'a, T> {
    entries: Vec<(u64, &'a str, T)>,
}

impl<'a, T> ByName<'a, T> {
    pub(crate) fn with_capacity(n: usize) -> Self {
        ByName {
            entries: Vec::with_capacity(n),
        }
    }
    fn first(&self, h: u64) -> usize {
        self.entries.partition_point(|e| e.0 < h)
    }
    /// The value stored for `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&T> {
        let h = name_hash(name);
        self.entries[self.first(h)..]
            .iter()
            .take_while(|e| e.0 == h)
            .find(|e| same_key(e.1, name))
            .map(|e| &e.2)
    }
    pub(crate) fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
    /// Adds `name` unless it is there already (then returns false and keeps the first value).
    pub(crate) fn insert(&mut self, name: &'a str, value: T) -> bool {
        let h = name_hash(name);
        let at = self.first(h);
        if self.entries[at..]
            .iter()
            .take_while(|e| e.0 == h)
            .any(|e| same_key(e.1, name))
        {
            return false;
        }
        self.entries.insert(at, (h, name, value));
        true
    }
}

/// FNV-1a, 64 bits: names are short, and this needs no state or setup.
#[inline]
fn name_hash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The value at a nested path, null treated as absent.
pub(crate) fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    let mut cur = v;
    for p in path {
        cur = get(cur, p)?;
    }
    Some(cur)
}
/// The string at `k`, "" when absent.
pub(crate) fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    lookup(v, k).and_then(Value::as_str).unwrap_or("")
}
/// The array at `k`, empty when absent.
pub(crate) fn arr<'a>(v: &'a Value, k: &str) -> &'a [Value] {
    lookup(v, k)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}
/// The items of a string list, a non-string item read as "".
pub(crate) fn strings(v: &[Value]) -> Vec<&str> {
    v.iter().map(|x| x.as_str().unwrap_or("")).collect()
}
/// The object at `k`.
pub(crate) fn obj<'a>(v: &'a Value, k: &str) -> Option<&'a Map<String, Value>> {
    lookup(v, k).and_then(Value::as_object)
}
/// The integer at `k`.
pub(crate) fn int(v: &Value, k: &str) -> Option<i64> {
    lookup(v, k).and_then(Value::as_i64)
}
/// The boolean at `k`, false when absent.
pub(crate) fn flag(v: &Value, k: &str) -> bool {
    lookup(v, k).and_then(Value::as_bool).unwrap_or(false)
}

/// A copy of `v` with every object's keys sorted, as Go's `json.Marshal` prints maps
/// (used only when rendering a bad value).
pub(crate) fn sorted(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let mut out = Map::new();
            for k in keys {
                if let Some(x) = m.get(k) {
                    out.insert(k.clone(), sorted(x));
                }
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// A `metav1.LabelSelector` as the bad value: struct fields in Go order, `matchLabels`
/// keys sorted.
pub(crate) fn selector_value(sel: &Value) -> Value {
    match sel {
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                let v = if k == "matchLabels" {
                    sorted(v)
                } else {
                    v.clone()
                };
                out.insert(k.clone(), v);
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

/// A `map[string]string` field as the bad value: sorted keys, `null` when absent.
pub(crate) fn string_map_value(v: Option<&Value>) -> Value {
    v.map(sorted).unwrap_or(Value::Null)
}

/// `ValidateLabels` on a `map[string]string` field.
pub(crate) fn labels(errs: &mut Errs, v: Option<&Value>, p: &Path<'_>) {
    let Some(m) = v.and_then(Value::as_object) else {
        return;
    };
    if m.is_empty() {
        return;
    }
    let rendered = p.render();
    errs.extend(validation::validate_labels(
        m.iter()
            .map(|(k, v)| (k.as_str(), v.as_str().unwrap_or(""))),
        &rendered,
    ));
}

/// `ValidateAnnotations` on a `map[string]string` field.
pub(crate) fn annotations(errs: &mut Errs, v: Option<&Value>, p: &Path<'_>) {
    let Some(m) = v.and_then(Value::as_object) else {
        return;
    };
    if m.is_empty() {
        return;
    }
    let rendered = p.render();
    errs.extend(validation::validate_annotations(
        m.iter()
            .map(|(k, v)| (k.as_str(), v.as_str().unwrap_or(""))),
        &rendered,
    ));
}

/// `ValidateLabelName` (a qualified name).
pub(crate) fn label_name(errs: &mut Errs, name: &str, p: &Path<'_>) {
    let msgs = validation::is_label_key(name);
    if !msgs.is_empty() {
        invalid_msgs(errs, p, name, msgs);
    }
}

// ---------------------------------------------------------------------------------------
// Label selectors (`metav1.LabelSelector`)
// ---------------------------------------------------------------------------------------

/// `ValidateLabelSelector` with invalid label values rejected.
pub(crate) fn label_selector(errs: &mut Errs, sel: &Value, p: &Path<'_>) {
    labels(errs, get(sel, "matchLabels"), &p.child("matchLabels"));
    let exprs_path = p.child("matchExpressions");
    for (i, e) in arr(sel, "matchExpressions").iter().enumerate() {
        let ep = exprs_path.index(i);
        let op = s(e, "operator");
        let values = arr(e, "values");
        match op {
            "In" | "NotIn" => {
                if values.is_empty() {
                    required(
                        errs,
                        &ep.child("values"),
                        "must be specified when `operator` is 'In' or 'NotIn'",
                    );
                }
            }
            "Exists" | "DoesNotExist" => {
                if !values.is_empty() {
                    forbidden(
                        errs,
                        &ep.child("values"),
                        "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                    );
                }
            }
            _ => invalid(
                errs,
                &ep.child("operator"),
                op,
                "not a valid selector operator",
            ),
        }
        label_name(errs, s(e, "key"), &ep.child("key"));
        let vp = ep.child("values");
        for (j, v) in values.iter().enumerate() {
            let v = v.as_str().unwrap_or("");
            let msgs = validation::is_label_value(v);
            if !msgs.is_empty() {
                invalid_msgs(errs, &vp.index(j), v, msgs);
            }
        }
    }
}

/// Whether a label selector object has no requirements (`Empty()` after conversion).
pub(crate) fn selector_is_empty(sel: &Value) -> bool {
    obj(sel, "matchLabels").is_none_or(Map::is_empty) && arr(sel, "matchExpressions").is_empty()
}

/// Whether `LabelSelectorAsSelector(sel)` converts (operators known, values as required).
pub(crate) fn selector_converts(sel: &Value) -> bool {
    arr(sel, "matchExpressions").iter().all(|e| {
        let n = arr(e, "values").len();
        match s(e, "operator") {
            "In" | "NotIn" => n > 0,
            "Exists" | "DoesNotExist" => n == 0,
            _ => false,
        }
    })
}

/// Whether a label selector matches `labels`.
pub(crate) fn selector_matches(sel: &Value, labels: Option<&Map<String, Value>>) -> bool {
    let label = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
    if let Some(ml) = obj(sel, "matchLabels") {
        for (k, v) in ml {
            if label(k) != v.as_str() {
                return false;
            }
        }
    }
    arr(sel, "matchExpressions").iter().all(|e| {
        let key = s(e, "key");
        let have = label(key);
        let in_values = |x: &str| arr(e, "values").iter().any(|v| v.as_str() == Some(x));
        match s(e, "operator") {
            "In" => have.is_some_and(in_values),
            "NotIn" => !have.is_some_and(in_values),
            "Exists" => have.is_some(),
            "DoesNotExist" => have.is_none(),
            _ => false,
        }
    })
}

/// Whether a `map[string]string` selector matches `labels` (an empty map matches all).
pub(crate) fn map_selector_matches(
    sel: &Map<String, Value>,
    labels: Option<&Map<String, Value>>,
) -> bool {
    sel.iter().all(|(k, v)| {
        labels
            .and_then(|l| l.get(k))
            .and_then(Value::as_str)
            .is_some_and(|x| Some(x) == v.as_str())
    })
}

/// The registry entry for a built-in resource (tests only).
#[cfg(test)]
pub(crate) fn resource(group: &str, plural: &str) -> Option<&'static ResourceInfo> {
    kiln_generated::REGISTRY
        .iter()
        .filter(|g| g.name == group)
        .flat_map(|g| g.versions.iter())
        .flat_map(|v| v.resources.iter())
        .find(|r| r.plural == plural)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    proptest::proptest! {
        #[test]
        fn same_key_is_string_equality(a in "[a-c]{0,20}", b in "[a-c]{0,20}") {
            proptest::prop_assert_eq!(same_key(&a, &b), a == b);
            proptest::prop_assert!(same_key(&a, &a));
        }
    }

    proptest::proptest! {
        #[test]
        fn pick_finds_each_field_in_any_key_order(
            keys in proptest::sample::subsequence(vec!["a", "bb", "c", "dd", "e", "ff"], 0..=6),
            shuffle in proptest::collection::vec(0usize..6, 6),
        ) {
            let mut keys = keys;
            for (i, j) in shuffle.iter().enumerate() {
                if i < keys.len() && *j < keys.len() {
                    keys.swap(i, *j);
                }
            }
            let mut m = Map::new();
            for (i, k) in keys.iter().enumerate() {
                m.insert((*k).to_string(), Value::from(i));
            }
            m.insert("zz".into(), Value::Null);
            let v = Value::Object(m);
            let names = ["a", "c", "dd", "x", "zz", "bb"];
            let got = pick(&v, &names);
            for (n, g) in names.iter().zip(got) {
                proptest::prop_assert_eq!(g, get(&v, n));
            }
        }

        #[test]
        fn by_name_is_a_set(names in proptest::collection::vec("[a-c]{0,3}", 0..40)) {
            let mut t = ByName::with_capacity(0);
            let mut seen: Vec<&str> = Vec::new();
            for (i, n) in names.iter().enumerate() {
                proptest::prop_assert_eq!(t.insert(n, i), !seen.contains(&n.as_str()));
                if !seen.contains(&n.as_str()) {
                    seen.push(n);
                }
            }
            for n in &seen {
                let first = names.iter().position(|x| x == n);
                proptest::prop_assert_eq!(t.get(n).copied(), first);
            }
            proptest::prop_assert!(!t.contains("zzzz"));
        }
    }

    #[test]
    fn paths_render_like_kube() {
        let spec = Path::new("spec");
        let c = spec.child("containers");
        let c0 = c.index(0);
        assert_eq!(c0.child("name").render(), "spec.containers[0].name");
        let data = Path::new("data");
        assert_eq!(data.key("a b").render(), "data[a b]");
        assert_eq!(Path::new("").render(), "");
    }

    #[test]
    fn selectors_match() {
        let sel = json!({"matchLabels": {"app": "x"}, "matchExpressions": [
            {"key": "tier", "operator": "In", "values": ["a", "b"]},
            {"key": "gone", "operator": "DoesNotExist"}]});
        let ok = json!({"app": "x", "tier": "a"});
        let bad = json!({"app": "x", "tier": "c"});
        assert!(selector_matches(&sel, ok.as_object()));
        assert!(!selector_matches(&sel, bad.as_object()));
        assert!(!selector_matches(&sel, None));
        assert!(selector_converts(&sel));
        assert!(!selector_converts(
            &json!({"matchExpressions": [{"key": "a", "operator": "In"}]})
        ));
    }

    #[test]
    fn selector_validation_messages() {
        let mut errs = Vec::new();
        let sel = json!({"matchExpressions": [{"key": "a", "operator": "Foo"}, {"key": "b", "operator": "In"}]});
        label_selector(&mut errs, &sel, &Path::new("spec").child("selector"));
        let got: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        assert_eq!(
            got,
            vec![
                "spec.selector.matchExpressions[0].operator: Invalid value: \"Foo\": not a valid selector operator",
                "spec.selector.matchExpressions[1].values: Required value: must be specified when `operator` is 'In' or 'NotIn'",
            ]
        );
    }
}
