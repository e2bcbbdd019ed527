//! Per-kind behaviour plugged into the one generic request path.
//!
//! The generic store calls a kind's [`Strategy`] for the few things that differ between
//! kinds: the name rule, generation bumps, status/spec split, create-on-update, and
//! defaulting/validation hooks. Kinds without special behaviour use [`DefaultStrategy`].

use kiln_runtime::registry::ResourceInfo;
use serde_json::Value;

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

pub trait Strategy: Sync {
    fn name_rule(&self) -> NameRule {
        NameRule::Subdomain
    }
    /// Whether spec changes bump `metadata.generation` (and create sets it to 1).
    fn tracks_generation(&self, _r: &ResourceInfo) -> bool {
        false
    }
    /// PUT of a missing object creates it.
    fn allow_create_on_update(&self) -> bool {
        false
    }
    /// Defaulting and create-time status reset.
    fn prepare_for_create(&self, _r: &ResourceInfo, _obj: &mut Value) {}
    /// Kind-specific update preparation after the generic status/spec split.
    fn prepare_for_update(&self, _r: &ResourceInfo, _new: &mut Value, _old: &Value) {}
    fn validate(&self, _r: &ResourceInfo, _obj: &Value) -> Vec<FieldError> {
        Vec::new()
    }
    fn validate_update(&self, r: &ResourceInfo, new: &Value, _old: &Value) -> Vec<FieldError> {
        self.validate(r, new)
    }
}

pub struct DefaultStrategy;
impl Strategy for DefaultStrategy {
    fn tracks_generation(&self, r: &ResourceInfo) -> bool {
        // Kinds with a spec and a status subresource track generation, as the built-in
        // workload strategies do.
        r.subresource("status").is_some()
            && !matches!(r.plural, "namespaces" | "services" | "nodes")
    }
}

pub struct NamespaceStrategy;
impl Strategy for NamespaceStrategy {
    fn name_rule(&self) -> NameRule {
        NameRule::Label
    }
    fn prepare_for_create(&self, _r: &ResourceInfo, obj: &mut Value) {
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
        ("rbac.authorization.k8s.io", _) => &PathSegmentStrategy,
        _ => &DefaultStrategy,
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
