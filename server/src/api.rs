//! The served API: which group-versions and resources this server answers, built once
//! at startup from the generated registry and the `--runtime-config` flag.

use std::collections::HashMap;

use kiln_runtime::registry::{GroupInfo, GroupVersionInfo, ResourceInfo, Stability};

/// `--runtime-config` as kube-apiserver reads it: `api/all=true`, `api/beta=true`,
/// `api/alpha=true`, `api/ga=false`, `G/V=true|false`, `v1=true` for the core group.
#[derive(Debug, Clone, Default)]
pub struct RuntimeConfig {
    entries: Vec<(String, bool)>,
}

impl RuntimeConfig {
    pub fn parse(s: &str) -> Result<RuntimeConfig, String> {
        let mut entries = Vec::new();
        for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let (key, value) = match item.split_once('=') {
                Some((k, v)) => (k.trim(), v.trim()),
                None => (item, "true"),
            };
            let enabled = match value {
                "true" | "" => true,
                "false" => false,
                other => {
                    return Err(format!(
                        "invalid value {other:?} for runtime-config key {key:?}"
                    ));
                }
            };
            entries.push((key.to_string(), enabled));
        }
        Ok(RuntimeConfig { entries })
    }

    /// Whether a group-version is served; the last matching entry wins, more specific
    /// entries win over the `api/*` ones.
    pub fn enabled(&self, gv: &GroupVersionInfo) -> bool {
        let name = if gv.group.is_empty() {
            gv.version.to_string()
        } else {
            format!("{}/{}", gv.group, gv.version)
        };
        let level = match gv.stability {
            Stability::Ga => "api/ga",
            Stability::Beta => "api/beta",
            Stability::Alpha => "api/alpha",
        };
        let mut result = gv.stability == Stability::Ga;
        for (key, on) in &self.entries {
            if key == "api/all" || key == level {
                result = *on;
            }
        }
        for (key, on) in &self.entries {
            if *key == name || (gv.group.is_empty() && key == &format!("api/{}", gv.version)) {
                result = *on;
            }
        }
        result
    }
}

/// A group with the versions this server serves, preferred first.
#[derive(Debug)]
pub struct ServedGroup {
    pub name: &'static str,
    pub versions: Vec<&'static GroupVersionInfo>,
}

/// Lookup tables over the served part of the registry.
#[derive(Debug)]
pub struct ApiIndex {
    pub core: Option<ServedGroup>,
    /// Non-core groups, in registry order.
    pub groups: Vec<ServedGroup>,
    by_path: HashMap<(&'static str, &'static str, &'static str), &'static ResourceInfo>,
    by_kind: HashMap<(&'static str, &'static str), &'static ResourceInfo>,
}

impl ApiIndex {
    pub fn new(registry: &'static [GroupInfo], config: &RuntimeConfig) -> ApiIndex {
        let mut core = None;
        let mut groups = Vec::new();
        let mut by_path = HashMap::new();
        let mut by_kind = HashMap::new();
        for group in registry {
            let versions: Vec<&'static GroupVersionInfo> = group
                .versions
                .iter()
                .filter(|gv| config.enabled(gv))
                .collect();
            if versions.is_empty() {
                continue;
            }
            for gv in &versions {
                for r in gv.resources {
                    by_path.insert((r.group, r.version, r.plural), r);
                }
            }
            // Kinds resolve to the preferred version that serves them.
            for gv in versions.iter().rev() {
                for r in gv.resources {
                    by_kind.insert((r.group, r.kind), r);
                }
            }
            let served = ServedGroup {
                name: group.name,
                versions,
            };
            if group.name.is_empty() {
                core = Some(served);
            } else {
                groups.push(served);
            }
        }
        ApiIndex {
            core,
            groups,
            by_path,
            by_kind,
        }
    }

    pub fn resource(
        &self,
        group: &str,
        version: &str,
        plural: &str,
    ) -> Option<&'static ResourceInfo> {
        self.by_path.get(&(group, version, plural)).copied()
    }

    /// The served resource for a kind in its preferred version.
    pub fn resource_for_kind(&self, group: &str, kind: &str) -> Option<&'static ResourceInfo> {
        self.by_kind.get(&(group, kind)).copied()
    }

    pub fn group(&self, name: &str) -> Option<&ServedGroup> {
        if name.is_empty() {
            self.core.as_ref()
        } else {
            self.groups.iter().find(|g| g.name == name)
        }
    }

    pub fn group_version(&self, group: &str, version: &str) -> Option<&'static GroupVersionInfo> {
        self.group(group)?
            .versions
            .iter()
            .find(|gv| gv.version == version)
            .copied()
    }

    /// Every served resource, core first.
    pub fn all_resources(&self) -> impl Iterator<Item = &'static ResourceInfo> + '_ {
        self.core
            .iter()
            .chain(self.groups.iter())
            .flat_map(|g| g.versions.iter().flat_map(|gv| gv.resources.iter()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gv(group: &'static str, version: &'static str, stability: Stability) -> GroupVersionInfo {
        GroupVersionInfo {
            group,
            version,
            stability,
            resources: &[],
        }
    }

    #[test]
    fn runtime_config_defaults_and_overrides() {
        let none = RuntimeConfig::default();
        assert!(none.enabled(&gv("apps", "v1", Stability::Ga)));
        assert!(!none.enabled(&gv("resource.k8s.io", "v1beta2", Stability::Beta)));
        let c =
            RuntimeConfig::parse("api/beta=true,resource.k8s.io/v1beta1=false").unwrap_or_default();
        assert!(c.enabled(&gv("resource.k8s.io", "v1beta2", Stability::Beta)));
        assert!(!c.enabled(&gv("resource.k8s.io", "v1beta1", Stability::Beta)));
        let all = RuntimeConfig::parse("api/all=true").unwrap_or_default();
        assert!(all.enabled(&gv("x", "v1alpha1", Stability::Alpha)));
        assert!(RuntimeConfig::parse("apps/v1=maybe").is_err());
    }
}
