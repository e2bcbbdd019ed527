//! Facts the OpenAPI spec does not carry, read from kube-apiserver's golden discovery
//! documents (`schemas/v1.NN/discovery/*.json`) and from the hand-kept overlay
//! (`schemas/overlay/*.json`): singular names, short names, categories, subresource
//! kinds, storage version hashes and the order in which `/apis` lists the groups.
//!
//! A release without its own discovery directory borrows the one of the nearest release
//! that has one (by minor number; the newer wins a tie), so a new release regenerates
//! without hand edits. [`crate::resources`] decides how far borrowed facts are trusted.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use crate::error::CodegenError;
use crate::load::{read_json, release_minor};

/// One resource as discovery describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResourceFacts {
    pub kind: String,
    /// `singularName` / `singularResource`; `None` when no document gave one.
    pub singular: Option<String>,
    pub namespaced: bool,
    pub verbs: Vec<String>,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
    /// Only the per-group-version `APIResourceList` documents carry it.
    pub storage_version_hash: Option<String>,
    pub subresources: BTreeMap<String, SubresourceFacts>,
}

/// One subresource as discovery describes it; group and version are `None` when they are
/// the parent's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubresourceFacts {
    pub group: Option<String>,
    pub version: Option<String>,
    pub kind: String,
    pub verbs: Vec<String>,
}

/// The discovery facts of one release.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// The release whose documents these are ("1.36").
    pub release: String,
    pub dir: PathBuf,
    /// Non-core groups in the order `/apis` lists them.
    pub group_order: Vec<String>,
    /// Keyed by (group, version, plural).
    pub resources: BTreeMap<(String, String, String), ResourceFacts>,
}

impl Facts {
    pub fn get(&self, group: &str, version: &str, plural: &str) -> Option<&ResourceFacts> {
        self.resources
            .get(&(group.to_string(), version.to_string(), plural.to_string()))
    }

    /// Every version of `group` that has facts for `plural`.
    pub fn versions_of(&self, group: &str, plural: &str) -> Vec<(&str, &ResourceFacts)> {
        self.resources
            .iter()
            .filter(|((g, _, p), _)| g == group && p == plural)
            .map(|((_, v, _), f)| (v.as_str(), f))
            .collect()
    }
}

/// The release whose discovery documents `release` uses: itself if
/// `schemas/v1.NN/discovery` exists, else the nearest release that has them.
pub fn discovery_release_for(
    schemas_dir: &Path,
    release: &str,
) -> Result<Option<String>, CodegenError> {
    let Some(minor) = release_minor(release) else {
        return Err(CodegenError::Usage(format!(
            "release {release:?} is not of the form 1.NN"
        )));
    };
    let entries = match std::fs::read_dir(schemas_dir) {
        Ok(e) => e,
        Err(source) => {
            return Err(CodegenError::Io {
                path: schemas_dir.to_path_buf(),
                source,
            });
        }
    };
    let mut best: Option<(u32, u32, String)> = None; // (distance, u32::MAX - minor, release)
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(candidate) = name.strip_prefix('v') else {
            continue;
        };
        let Some(cminor) = release_minor(candidate) else {
            continue;
        };
        if !entry.path().join("discovery").is_dir() {
            continue;
        }
        let key = (
            cminor.abs_diff(minor),
            u32::MAX - cminor,
            candidate.to_string(),
        );
        if best.as_ref().is_none_or(|b| key < *b) {
            best = Some(key);
        }
    }
    Ok(best.map(|(_, _, r)| r))
}

/// Read every discovery document of `dir` (a `schemas/v1.NN/discovery` directory).
pub fn load_facts(dir: &Path, release: &str) -> Result<Facts, CodegenError> {
    let mut facts = Facts {
        release: release.to_string(),
        dir: dir.to_path_buf(),
        ..Facts::default()
    };
    let entries = std::fs::read_dir(dir).map_err(|source| CodegenError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();

    // Per-group-version APIResourceLists first: they are the only ones with hashes.
    for path in &files {
        let doc = read_json(path)?;
        if doc.get("kind").and_then(Value::as_str) == Some("APIResourceList")
            || doc.get("resources").is_some()
        {
            read_resource_list(&doc, path, &mut facts)?;
        }
    }
    for path in &files {
        let doc = read_json(path)?;
        match doc.get("kind").and_then(Value::as_str) {
            Some("APIGroupDiscoveryList") => read_aggregated(&doc, path, &mut facts)?,
            Some("APIGroupList") => {
                let groups = doc
                    .get("groups")
                    .and_then(Value::as_array)
                    .ok_or_else(|| facts_error(path, "no groups"))?;
                facts.group_order = groups
                    .iter()
                    .filter_map(|g| g.get("name").and_then(Value::as_str))
                    .map(str::to_string)
                    .collect();
            }
            _ => {}
        }
    }
    // Without apis.json, the aggregated document's item order is the same order.
    if facts.group_order.is_empty() {
        for path in &files {
            let doc = read_json(path)?;
            if doc.get("kind").and_then(Value::as_str) == Some("APIGroupDiscoveryList") {
                let items = doc
                    .get("items")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                for item in items {
                    if let Some(name) = item.pointer("/metadata/name").and_then(Value::as_str)
                        && !name.is_empty()
                        && !facts.group_order.iter().any(|g| g == name)
                    {
                        facts.group_order.push(name.to_string());
                    }
                }
            }
        }
    }
    Ok(facts)
}

fn facts_error(path: &Path, message: impl Into<String>) -> CodegenError {
    CodegenError::Facts {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ApiResource {
    name: String,
    #[serde(default)]
    singular_name: String,
    #[serde(default)]
    namespaced: bool,
    kind: String,
    #[serde(default)]
    group: Option<String>,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    verbs: Vec<String>,
    #[serde(default)]
    short_names: Vec<String>,
    #[serde(default)]
    categories: Vec<String>,
    #[serde(default)]
    storage_version_hash: Option<String>,
}

fn read_resource_list(doc: &Value, path: &Path, facts: &mut Facts) -> Result<(), CodegenError> {
    let gv = doc
        .get("groupVersion")
        .and_then(Value::as_str)
        .ok_or_else(|| facts_error(path, "no groupVersion"))?;
    let (group, version) = match gv.split_once('/') {
        Some((g, v)) => (g.to_string(), v.to_string()),
        None => (String::new(), gv.to_string()),
    };
    let resources = doc
        .get("resources")
        .cloned()
        .unwrap_or(Value::Array(Vec::new()));
    let resources: Vec<ApiResource> =
        serde_json::from_value(resources).map_err(|source| CodegenError::Json {
            path: path.to_path_buf(),
            source,
        })?;
    // Parents first, so subresources find them.
    let (subs, parents): (Vec<ApiResource>, Vec<ApiResource>) =
        resources.into_iter().partition(|r| r.name.contains('/'));
    for r in parents {
        let key = (group.clone(), version.clone(), r.name.clone());
        let entry = facts.resources.entry(key).or_default();
        entry.kind = r.kind;
        entry.singular = Some(r.singular_name).filter(|s| !s.is_empty());
        entry.namespaced = r.namespaced;
        entry.verbs = r.verbs;
        entry.short_names = r.short_names;
        entry.categories = r.categories;
        entry.storage_version_hash = r.storage_version_hash.filter(|h| !h.is_empty());
    }
    for r in subs {
        let Some((parent, sub)) = r.name.split_once('/') else {
            continue;
        };
        let key = (group.clone(), version.clone(), parent.to_string());
        let entry = facts.resources.get_mut(&key).ok_or_else(|| {
            facts_error(path, format!("subresource {} without its resource", r.name))
        })?;
        entry.subresources.insert(
            sub.to_string(),
            SubresourceFacts {
                group: r.group.filter(|g| !g.is_empty()),
                version: r.version.filter(|v| !v.is_empty()),
                kind: r.kind,
                verbs: r.verbs,
            },
        );
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AggregatedKind {
    #[serde(default)]
    group: String,
    #[serde(default)]
    version: String,
    #[serde(default)]
    kind: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AggregatedSubresource {
    subresource: String,
    #[serde(default)]
    response_kind: Option<AggregatedKind>,
    #[serde(default)]
    verbs: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AggregatedResource {
    resource: String,
    #[serde(default)]
    response_kind: Option<AggregatedKind>,
    #[serde(default)]
    scope: String,
    #[serde(default)]
    singular_resource: String,
    #[serde(default)]
    verbs: Vec<String>,
    #[serde(default)]
    short_names: Vec<String>,
    #[serde(default)]
    categories: Vec<String>,
    #[serde(default)]
    subresources: Vec<AggregatedSubresource>,
}

/// `aggregated_v2.json` (an `APIGroupDiscoveryList`): fills what the per-group-version
/// documents did not cover (group-versions without such a document); never overrides.
fn read_aggregated(doc: &Value, path: &Path, facts: &mut Facts) -> Result<(), CodegenError> {
    let items = doc
        .get("items")
        .and_then(Value::as_array)
        .ok_or_else(|| facts_error(path, "no items"))?;
    for item in items {
        let group = item
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let versions = item
            .get("versions")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for v in versions {
            let version = v
                .get("version")
                .and_then(Value::as_str)
                .ok_or_else(|| facts_error(path, "version without name"))?
                .to_string();
            let resources = v
                .get("resources")
                .cloned()
                .unwrap_or(Value::Array(Vec::new()));
            let resources: Vec<AggregatedResource> =
                serde_json::from_value(resources).map_err(|source| CodegenError::Json {
                    path: path.to_path_buf(),
                    source,
                })?;
            for r in resources {
                let key = (group.clone(), version.clone(), r.resource.clone());
                let entry = facts.resources.entry(key).or_insert_with(|| ResourceFacts {
                    kind: r
                        .response_kind
                        .as_ref()
                        .map(|k| k.kind.clone())
                        .unwrap_or_default(),
                    namespaced: r.scope == "Namespaced",
                    verbs: r.verbs.clone(),
                    ..ResourceFacts::default()
                });
                if entry.singular.is_none() && !r.singular_resource.is_empty() {
                    entry.singular = Some(r.singular_resource.clone());
                }
                if entry.short_names.is_empty() {
                    entry.short_names = r.short_names.clone();
                }
                if entry.categories.is_empty() {
                    entry.categories = r.categories.clone();
                }
                for s in r.subresources {
                    entry
                        .subresources
                        .entry(s.subresource.clone())
                        .or_insert_with(|| {
                            let rk = s.response_kind.unwrap_or(AggregatedKind {
                                group: String::new(),
                                version: String::new(),
                                kind: String::new(),
                            });
                            SubresourceFacts {
                                group: Some(rk.group).filter(|g| !g.is_empty()),
                                version: Some(rk.version).filter(|v| !v.is_empty()),
                                kind: rk.kind,
                                verbs: s.verbs,
                            }
                        });
                }
            }
        }
    }
    Ok(())
}

/// Hand-kept facts (`schemas/overlay/resources.json`), for what neither the spec nor any
/// discovery document says. Entries apply to every release unless `releases` names some.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Overlay {
    #[serde(default)]
    pub resources: Vec<OverlayResource>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OverlayResource {
    /// "" for the core group.
    pub group: String,
    pub plural: String,
    /// Restrict to these releases ("1.35"); empty means all.
    #[serde(default)]
    pub releases: Vec<String>,
    #[serde(default)]
    pub singular: Option<String>,
    #[serde(default)]
    pub short_names: Option<Vec<String>>,
    #[serde(default)]
    pub categories: Option<Vec<String>>,
    /// The version kube-apiserver stores the resource in, when no discovery document
    /// gives its hash for this release ("v1beta1"); the hash is computed from it.
    #[serde(default)]
    pub storage_version: Option<String>,
    /// Why the entry exists (kept in the file, unused).
    #[serde(default, rename = "$comment")]
    pub comment: Option<String>,
}

impl Overlay {
    pub fn get(&self, release: &str, group: &str, plural: &str) -> Option<&OverlayResource> {
        self.resources.iter().find(|r| {
            r.group == group
                && r.plural == plural
                && (r.releases.is_empty() || r.releases.iter().any(|x| x == release))
        })
    }
}

/// The overlay file of this module: `schemas/overlay/resources.json` (missing file = empty
/// overlay). Other files of that directory belong to other parts of the generator.
pub fn load_overlay(path: &Path) -> Result<Overlay, CodegenError> {
    if !path.is_file() {
        return Ok(Overlay::default());
    }
    let value = read_json(path)?;
    serde_json::from_value(value).map_err(|e| CodegenError::Overlay {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}
