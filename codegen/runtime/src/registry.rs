//! Shapes of the static resource registry that `cargo xtask regen` emits.
//!
//! The generated crate exposes `REGISTRY: &[GroupInfo]`; everything the server
//! routes, lists in discovery or decodes comes from there.

use crate::codec::KindCodec;

/// Stability level of an API version, derived from its name (`v1`, `v2beta1`, `v1alpha3`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stability {
    Ga,
    Beta,
    Alpha,
}

/// One API group ("" for the core group) with its versions in kube-apiserver's
/// priority order: GA before beta before alpha, higher numbers first. The first
/// version is the group's preferred version.
#[derive(Debug)]
pub struct GroupInfo {
    pub name: &'static str,
    pub versions: &'static [GroupVersionInfo],
}

/// One group-version and the resources it serves.
#[derive(Debug)]
pub struct GroupVersionInfo {
    pub group: &'static str,
    pub version: &'static str,
    pub stability: Stability,
    /// Sorted by plural name.
    pub resources: &'static [ResourceInfo],
}

/// One top-level resource (`pods`, `deployments`, ...) of a group-version.
#[derive(Debug)]
pub struct ResourceInfo {
    pub group: &'static str,
    pub version: &'static str,
    pub plural: &'static str,
    pub singular: &'static str,
    pub kind: &'static str,
    /// Kind of the list type (`PodList`); empty if the spec defines none.
    pub list_kind: &'static str,
    pub namespaced: bool,
    /// Verbs as discovery reports them, sorted.
    pub verbs: &'static [&'static str],
    pub short_names: &'static [&'static str],
    pub categories: &'static [&'static str],
    pub subresources: &'static [SubresourceInfo],
    /// base64 of the first 8 bytes of SHA-256 of "group/version/Kind" of the storage version;
    /// empty for resources that are not stored (reviews, ...).
    pub storage_version_hash: &'static str,
    /// The OpenAPI definition name of the kind (`io.k8s.api.core.v1.Pod`).
    pub definition: &'static str,
    /// Typed codecs for the kind; `None` when the spec has no definition for it.
    pub codec: Option<&'static KindCodec>,
}

/// A subresource (`pods/status`, `deployments/scale`, `pods/log`).
#[derive(Debug)]
pub struct SubresourceInfo {
    /// The part after the slash: `status`, `scale`, `log`.
    pub name: &'static str,
    /// Group, version and kind of what the subresource takes and returns; group and
    /// version equal the parent's unless it returns another group's kind.
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub verbs: &'static [&'static str],
    /// The OpenAPI definition of what it takes and returns (`io.k8s.api.autoscaling.v1.Scale`);
    /// empty for streams and connect subresources (`log`, `exec`, `attach`, `portforward`, `proxy`).
    pub definition: &'static str,
    /// Typed codecs for that definition; `None` when it has none.
    pub codec: Option<&'static KindCodec>,
}

impl ResourceInfo {
    /// `group/version`, or `version` for the core group.
    pub fn group_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    pub fn subresource(&self, name: &str) -> Option<&'static SubresourceInfo> {
        self.subresources.iter().find(|s| s.name == name)
    }

    pub fn has_verb(&self, verb: &str) -> bool {
        self.verbs.contains(&verb)
    }
}
