//! The API model (IR) that every emitter reads.
//!
//! Resources (groups ▸ versions ▸ resources) are filled by the resource loader from the
//! spec's paths and the discovery facts; types (definitions ▸ fields) by the type loader
//! from the spec's definitions and the `.proto` files.

use std::collections::BTreeMap;

pub use crate::types::TypeDef;

/// Everything known about one release.
#[derive(Debug, Clone)]
pub struct Model {
    /// "1.36"
    pub release: String,
    /// Core group ("") first, then by name.
    pub groups: Vec<Group>,
    /// Every definition of the spec (plus overlay types), keyed by definition name
    /// (`io.k8s.api.core.v1.Pod`).
    pub types: BTreeMap<String, TypeDef>,
    /// Things regen's summary reports (resources without discovery facts, ...).
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// "" for the core group.
    pub name: String,
    /// Priority order: GA before beta before alpha, higher numbers first.
    pub versions: Vec<Version>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stability {
    Ga,
    Beta,
    Alpha,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    pub name: String,
    pub stability: Stability,
    /// Sorted by plural.
    pub resources: Vec<Resource>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    pub plural: String,
    pub singular: String,
    pub kind: String,
    pub list_kind: String,
    pub namespaced: bool,
    /// Sorted.
    pub verbs: Vec<String>,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
    pub subresources: Vec<Subresource>,
    pub storage_version_hash: String,
    /// OpenAPI definition name of the kind, if the spec has one.
    pub definition: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subresource {
    pub name: String,
    pub group: String,
    pub version: String,
    pub kind: String,
    pub verbs: Vec<String>,
    /// OpenAPI definition of what the subresource takes and returns
    /// (`io.k8s.api.autoscaling.v1.Scale`); `None` for streams and connect subresources
    /// (`log`, `exec`, `proxy`, ...).
    pub definition: Option<String>,
}
