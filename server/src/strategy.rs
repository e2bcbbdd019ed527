//! Per-kind behaviour plugged into the one generic request path.
//!
//! The generic store calls a kind's [`Strategy`] for the few things that differ between
//! kinds: the name rule, generation bumps, status/spec split, create-on-update, and
//! defaulting/validation hooks. Kinds without special behaviour use [`DefaultStrategy`].

use std::collections::HashMap;

use kiln_runtime::registry::ResourceInfo;
use parking_lot::Mutex;
use serde_json::Value;

use crate::errors::ApiError;
use crate::kinds::KindState;
use crate::validation::{self, FieldError};

/// Which syntax `metadata.name` must follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameRule {
    /// RFC 1123 subdomain (most kinds).
    Subdomain,
    /// RFC 1123 label (namespaces).
    Label,
    /// RFC 1035 label (services).
    Rfc1035Label,
    /// Only the path-segment rules (RBAC kinds and a few others).
    PathSegment,
}

/// What strategy hooks can use besides the object: the server's per-kind state (service
/// IP and node port allocators) and the options of the write.
pub struct WriteContext<'a> {
    pub kinds: &'a KindState,
    /// `dryRun=All`: nothing may be reserved or released.
    pub dry_run: bool,
    /// What this write reserved (service IPs, node ports) and must free if it is not stored
    /// (the store records them in storage before it stores the object and releases them
    /// when the write fails: [`crate::kinds::persist_reserved`], [`crate::kinds::release_reserved`]).
    pub allocations: Mutex<crate::kinds::service::Held>,
}

impl<'a> WriteContext<'a> {
    pub fn new(kinds: &'a KindState, dry_run: bool) -> WriteContext<'a> {
        WriteContext {
            kinds,
            dry_run,
            allocations: Mutex::default(),
        }
    }
}

pub trait Strategy: Sync {
    fn name_rule(&self) -> NameRule {
        NameRule::Subdomain
    }
    /// Whether spec changes bump `metadata.generation` (and create sets it to 1).
    fn tracks_generation(&self, _r: &ResourceInfo) -> bool {
        false
    }
    /// PUT of a missing object creates it (201), as kube-apiserver's strategy for the kind
    /// allows; otherwise it is a 404.
    fn allow_create_on_update(&self, r: &ResourceInfo) -> bool {
        create_on_update(r.group, r.plural)
    }
    /// An update without `metadata.resourceVersion` applies to the current object; where
    /// kube-apiserver's strategy answers `AllowUnconditionalUpdate() = false` it is a 422.
    fn allow_unconditional_update(&self, r: &ResourceInfo) -> bool {
        !conditional_updates_only(r.group, r.plural)
    }
    /// Defaulting, create-time status reset and allocations (recorded in the context's
    /// `allocations`: owned once [`Strategy::created`] runs, freed by the store when the
    /// create is not stored; none on dry run). An error fails the create.
    fn prepare_for_create(
        &self,
        _cx: &WriteContext<'_>,
        _r: &ResourceInfo,
        _obj: &mut Value,
    ) -> Result<(), ApiError> {
        Ok(())
    }
    /// Kind-specific update preparation after the generic status/spec split. An error fails
    /// the update.
    fn prepare_for_update(
        &self,
        _cx: &WriteContext<'_>,
        _r: &ResourceInfo,
        _new: &mut Value,
        _old: &Value,
    ) -> Result<(), ApiError> {
        Ok(())
    }
    /// The object `prepare_for_create` prepared was stored (never called on dry run).
    fn created(&self, _cx: &WriteContext<'_>, _r: &ResourceInfo, _obj: &Value) {}
    /// An update was stored (never called on dry run).
    fn updated(&self, _cx: &WriteContext<'_>, _r: &ResourceInfo, _new: &Value, _old: &Value) {}

    /// The object is gone from storage (never called on dry run).
    fn deleted(&self, _cx: &WriteContext<'_>, _r: &ResourceInfo, _obj: &Value) {}
    fn validate(&self, r: &ResourceInfo, obj: &Value) -> Vec<FieldError> {
        crate::kinds::validate::validate(r, obj)
    }
    fn validate_update(&self, r: &ResourceInfo, new: &Value, old: &Value) -> Vec<FieldError> {
        crate::kinds::validate::validate_update(r, new, old)
    }
}

/// Built-in kinds whose kube-apiserver strategy answers `AllowCreateOnUpdate() = true`.
fn create_on_update(group: &str, plural: &str) -> bool {
    matches!(
        (group, plural),
        ("", "services" | "endpoints" | "events" | "limitranges")
            | ("events.k8s.io", "events")
            | ("coordination.k8s.io", "leases")
            | ("node.k8s.io", "runtimeclasses")
            | (
                "rbac.authorization.k8s.io",
                "roles" | "rolebindings" | "clusterroles" | "clusterrolebindings"
            )
    )
}

/// Built-in kinds whose kube-apiserver strategy answers `AllowUnconditionalUpdate() = false`
/// (their status subresources inherit it).
fn conditional_updates_only(group: &str, plural: &str) -> bool {
    matches!(
        (group, plural),
        ("policy", "poddisruptionbudgets")
            | ("coordination.k8s.io", "leases" | "leasecandidates")
            | ("node.k8s.io", "runtimeclasses")
            | (
                "storage.k8s.io",
                "volumeattachments" | "csidrivers" | "csinodes" | "csistoragecapacities"
            )
            | (
                "admissionregistration.k8s.io",
                "mutatingwebhookconfigurations"
                    | "validatingwebhookconfigurations"
                    | "validatingadmissionpolicies"
                    | "validatingadmissionpolicybindings"
                    | "mutatingadmissionpolicies"
                    | "mutatingadmissionpolicybindings"
            )
            | (
                "certificates.k8s.io",
                "clustertrustbundles" | "podcertificaterequests"
            )
            | ("internal.apiserver.k8s.io", "storageversions")
            | ("storagemigration.k8s.io", "storageversionmigrations")
            | ("apiregistration.k8s.io", "apiservices")
            | ("apiextensions.k8s.io", "customresourcedefinitions")
    )
}

/// Built-in kinds with a status subresource whose kube-apiserver strategy leaves
/// `metadata.generation` unset on create and update.
fn untracked_generation(group: &str, plural: &str) -> bool {
    matches!(
        (group, plural),
        (
            "",
            "namespaces"
                | "services"
                | "nodes"
                | "persistentvolumes"
                | "persistentvolumeclaims"
                | "resourcequotas"
        ) | ("storage.k8s.io", "volumeattachments")
            | (
                "certificates.k8s.io",
                "certificatesigningrequests" | "podcertificaterequests"
            )
            | ("networking.k8s.io", "servicecidrs")
            | ("resource.k8s.io", "resourceclaims")
            | ("apiregistration.k8s.io", "apiservices")
            | ("internal.apiserver.k8s.io", "storageversions")
            | ("storagemigration.k8s.io", "storageversionmigrations")
    )
}

/// Built-in kinds without a status subresource whose kube-apiserver strategy sets
/// `metadata.generation` to 1 on create and bumps it when anything but metadata changes.
fn tracked_without_status(group: &str, plural: &str) -> bool {
    matches!(
        (group, plural),
        ("", "podtemplates")
            | ("networking.k8s.io", "networkpolicies")
            | ("resource.k8s.io", "deviceclasses")
            | (
                "admissionregistration.k8s.io",
                "mutatingwebhookconfigurations"
                    | "validatingwebhookconfigurations"
                    | "validatingadmissionpolicybindings"
                    | "mutatingadmissionpolicies"
                    | "mutatingadmissionpolicybindings"
            )
    )
}

pub struct DefaultStrategy;
impl Strategy for DefaultStrategy {
    fn tracks_generation(&self, r: &ResourceInfo) -> bool {
        // Kinds with a spec and a status subresource track generation (workloads, pods,
        // HPA, Ingress, PDB, flow control, admission policies, DeviceTaintRule), except
        // those whose kube-apiserver strategy never sets `metadata.generation`; a few
        // kinds without status track it too.
        if r.subresource("status").is_some() {
            !untracked_generation(r.group, r.plural)
        } else {
            tracked_without_status(r.group, r.plural)
        }
    }
    fn prepare_for_create(
        &self,
        _cx: &WriteContext<'_>,
        r: &ResourceInfo,
        obj: &mut Value,
    ) -> Result<(), ApiError> {
        reset_status(r, obj);
        Ok(())
    }
}

/// Create cannot set the status of a kind with a status subresource: it starts as the
/// zero status, as the built-in strategies' `PrepareForCreate` do (`{}`, or the zero
/// status's own always-written fields, such as a Service's `{"loadBalancer": {}}`).
pub fn reset_status(r: &ResourceInfo, obj: &mut Value) {
    if r.subresource("status").is_some()
        && let Value::Object(map) = obj
    {
        map.insert("status".into(), zero_status(r));
    }
}

/// The JSON of `r`'s zero status, as Go writes an empty status struct.
/// Computed once per kind and version.
pub fn zero_status(r: &ResourceInfo) -> Value {
    static ZERO: std::sync::OnceLock<Mutex<HashMap<String, Value>>> = std::sync::OnceLock::new();
    let gv = r.group_version();
    let key = format!("{gv}/{}", r.kind);
    let cache = ZERO.get_or_init(Default::default);
    if let Some(v) = cache.lock().get(&key) {
        return v.clone();
    }
    let empty = serde_json::json!({"kind": r.kind, "apiVersion": gv});
    let zero = crate::handlers::normalize(r, empty)
        .ok()
        .and_then(|mut v| v.get_mut("status").map(Value::take))
        .unwrap_or_else(|| serde_json::json!({}));
    cache.lock().insert(key, zero.clone());
    zero
}

pub struct NamespaceStrategy;
impl Strategy for NamespaceStrategy {
    fn name_rule(&self) -> NameRule {
        NameRule::Label
    }
    fn prepare_for_create(
        &self,
        _cx: &WriteContext<'_>,
        r: &ResourceInfo,
        obj: &mut Value,
    ) -> Result<(), ApiError> {
        // Namespaces carry the `kubernetes` finalizer and start Active.
        if let Value::Object(map) = obj {
            let spec = map
                .entry("spec")
                .or_insert_with(|| Value::Object(Default::default()));
            if let Value::Object(spec) = spec {
                let fins = spec
                    .entry("finalizers")
                    .or_insert_with(|| Value::Array(Vec::new()));
                if let Value::Array(f) = fins
                    && !f.iter().any(|v| v == "kubernetes")
                {
                    f.push(Value::String("kubernetes".into()));
                }
            }
            map.insert("status".into(), serde_json::json!({"phase": "Active"}));
        }
        crate::kinds::defaults::namespace(r, obj);
        Ok(())
    }
    fn prepare_for_update(
        &self,
        _cx: &WriteContext<'_>,
        r: &ResourceInfo,
        new: &mut Value,
        _old: &Value,
    ) -> Result<(), ApiError> {
        crate::kinds::defaults::namespace(r, new);
        Ok(())
    }
}

pub use crate::kinds::service::ServiceStrategy;

pub struct PathSegmentStrategy;
impl Strategy for PathSegmentStrategy {
    fn name_rule(&self) -> NameRule {
        NameRule::PathSegment
    }
}

/// The strategy for a resource.
pub fn for_resource(r: &ResourceInfo) -> &'static dyn Strategy {
    match (r.group, r.plural) {
        ("", "namespaces") => &NamespaceStrategy,
        ("", "services") => &ServiceStrategy,
        ("", "pods") => &crate::kinds::pod::PodStrategy,
        ("", "podtemplates") => &crate::kinds::pod::PodTemplateStrategy,
        (g, _) if crate::kinds::workloads::is_workload(g, r.kind) => {
            &crate::kinds::workloads::WorkloadStrategy
        }
        ("", "secrets") => &crate::kinds::secret::SecretStrategy,
        ("rbac.authorization.k8s.io", _) => {
            crate::kinds::defaults::for_resource(r).unwrap_or(&PathSegmentStrategy)
        }
        _ => crate::kinds::defaults::for_resource(r).unwrap_or(&DefaultStrategy),
    }
}

/// Validates `metadata.name` by the strategy's rule.
pub fn validate_name(rule: NameRule, name: &str) -> Vec<FieldError> {
    let field = "metadata.name";
    match rule {
        NameRule::Subdomain => validation::validate_dns1123_subdomain_name(field, name),
        NameRule::Label => validation::validate_dns1123_label_name(field, name),
        NameRule::Rfc1035Label => validation::validate_dns1035_label_name(field, name),
        NameRule::PathSegment => validation::validate_path_segment_name(field, name),
    }
}
