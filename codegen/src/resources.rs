//! Groups ▸ versions ▸ resources from the spec's paths, completed with discovery facts.
//!
//! Every operation with `x-kubernetes-action` and `x-kubernetes-group-version-kind`
//! contributes to one resource: its path gives group, version, scope (`namespaces/{namespace}/`),
//! plural and subresource; its action gives the verb as discovery reports it
//! (`post` → `create`, `put` → `update`, `watchlist` → `watch`, `connect` → the HTTP
//! method's verb). Known mistakes of the spec are corrected by the named functions in
//! [`fixes`], each of which fails when the spec no longer has the mistake.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use base64::Engine as _;
use openapiv3::{OpenAPI, ReferenceOr};
use sha2::{Digest, Sha256};

use crate::error::CodegenError;
use crate::facts::{Facts, Overlay};
use crate::model::{Group, Resource, Stability, Subresource, Version};

/// A group, version and kind.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Gvk {
    pub group: String,
    pub version: String,
    pub kind: String,
}

impl std::fmt::Display for Gvk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.group.is_empty() {
            write!(f, "{}/{}", self.version, self.kind)
        } else {
            write!(f, "{}/{}/{}", self.group, self.version, self.kind)
        }
    }
}

/// `x-kubernetes-action` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Action {
    Get,
    List,
    Watch,
    WatchList,
    Post,
    Put,
    Patch,
    Delete,
    DeleteCollection,
    Connect,
}

impl Action {
    pub fn parse(s: &str) -> Option<Action> {
        Some(match s {
            "get" => Action::Get,
            "list" => Action::List,
            "watch" => Action::Watch,
            "watchlist" => Action::WatchList,
            "post" => Action::Post,
            "put" => Action::Put,
            "patch" => Action::Patch,
            "delete" => Action::Delete,
            "deletecollection" => Action::DeleteCollection,
            "connect" => Action::Connect,
            _ => return None,
        })
    }

    /// The discovery verb of this action on `method`; `None` for connect methods
    /// discovery does not list (HEAD, OPTIONS).
    pub fn verb(self, method: &str) -> Option<&'static str> {
        Some(match self {
            Action::Get => "get",
            Action::List => "list",
            Action::Watch | Action::WatchList => "watch",
            Action::Post => "create",
            Action::Put => "update",
            Action::Patch => "patch",
            Action::Delete => "delete",
            Action::DeleteCollection => "deletecollection",
            Action::Connect => match method {
                "get" => "get",
                "post" => "create",
                "put" => "update",
                "patch" => "patch",
                "delete" => "delete",
                _ => return None,
            },
        })
    }
}

/// One operation of the spec that acts on a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecOperation {
    pub path: String,
    /// Lowercase HTTP method.
    pub method: &'static str,
    pub operation_id: String,
    pub action: Action,
    pub gvk: Gvk,
    /// The definition the 200 response refers to (`io.k8s.api.core.v1.PodList`).
    pub response: Option<String>,
    /// Whether the 200 response is a plain string (logs, connect streams).
    pub response_is_string: bool,
    /// Set by a spec fix: the operation's kind names what discovery reports, but no
    /// definition describes the request or response body.
    pub kind_has_no_body: bool,
}

/// A resource path split into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourcePath {
    pub group: String,
    pub version: String,
    pub namespaced: bool,
    pub plural: String,
    /// `{name}` follows the plural.
    pub named: bool,
    pub subresource: Option<String>,
}

/// Split `/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale` (also the
/// deprecated `/watch/` forms and `/proxy/{path}`) into its parts.
pub fn parse_resource_path(path: &str) -> Option<ResourcePath> {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let (group, version, mut rest) = match segments.as_slice() {
        ["api", version, rest @ ..] => (String::new(), version.to_string(), rest),
        ["apis", group, version, rest @ ..] => (group.to_string(), version.to_string(), rest),
        _ => return None,
    };
    if rest.first() == Some(&"watch") {
        rest = &rest[1..];
    }
    let mut namespaced = false;
    if rest.len() >= 3 && rest[0] == "namespaces" && rest[1] == "{namespace}" {
        namespaced = true;
        rest = &rest[2..];
    }
    let plural = rest.first()?.to_string();
    if plural.starts_with('{') {
        return None;
    }
    let named = match rest.get(1) {
        None => false,
        Some(s) if s.starts_with('{') => true,
        Some(_) => return None,
    };
    let subresource = rest.get(2).map(|s| s.to_string());
    Some(ResourcePath {
        group,
        version,
        namespaced,
        plural,
        named,
        subresource,
    })
}

/// Every operation of the spec that carries `x-kubernetes-action`, in path order.
pub fn spec_operations(spec: &OpenAPI) -> Result<Vec<SpecOperation>, CodegenError> {
    let mut out = Vec::new();
    for (path, item) in &spec.paths.paths {
        let ReferenceOr::Item(item) = item else {
            continue;
        };
        let methods = [
            ("get", &item.get),
            ("put", &item.put),
            ("post", &item.post),
            ("delete", &item.delete),
            ("options", &item.options),
            ("head", &item.head),
            ("patch", &item.patch),
        ];
        for (method, op) in methods {
            let Some(op) = op else { continue };
            let Some(action) = op.extensions.get("x-kubernetes-action") else {
                continue;
            };
            let action_name = action.as_str().unwrap_or_default();
            let action = Action::parse(action_name).ok_or_else(|| {
                CodegenError::Spec(format!(
                    "{method} {path}: unknown x-kubernetes-action {action}"
                ))
            })?;
            let gvk = crate::load::gvks_of(op.extensions.get("x-kubernetes-group-version-kind"))
                .into_iter()
                .next()
                .ok_or_else(|| CodegenError::Spec(format!("{method} {path}: x-kubernetes-action without x-kubernetes-group-version-kind")))?;
            let (response, response_is_string) = response_of(op);
            out.push(SpecOperation {
                path: path.clone(),
                method,
                operation_id: op.operation_id.clone().unwrap_or_default(),
                action,
                gvk,
                response,
                response_is_string,
                kind_has_no_body: false,
            });
        }
    }
    Ok(out)
}

fn response_of(op: &openapiv3::Operation) -> (Option<String>, bool) {
    let ok = op
        .responses
        .responses
        .get(&openapiv3::StatusCode::Code(200));
    let Some(ReferenceOr::Item(response)) = ok else {
        return (None, false);
    };
    let Some(media) = response.content.values().next() else {
        return (None, false);
    };
    match &media.schema {
        Some(ReferenceOr::Reference { reference }) => {
            (Some(definition_name(reference).to_string()), false)
        }
        Some(ReferenceOr::Item(schema)) => {
            let is_string = matches!(
                &schema.schema_kind,
                openapiv3::SchemaKind::Type(openapiv3::Type::String(_))
            );
            (None, is_string)
        }
        None => (None, false),
    }
}

fn definition_name(reference: &str) -> &str {
    reference.rsplit('/').next().unwrap_or(reference)
}

/// Definitions by the group-version-kinds they declare, and each definition's kinds.
#[derive(Debug, Clone, Default)]
pub struct DefinitionIndex {
    pub by_gvk: BTreeMap<Gvk, String>,
    pub gvks: BTreeMap<String, Vec<Gvk>>,
}

impl DefinitionIndex {
    pub fn new(spec: &OpenAPI) -> DefinitionIndex {
        let mut index = DefinitionIndex::default();
        if let Some(components) = &spec.components {
            for (name, schema) in &components.schemas {
                let ReferenceOr::Item(schema) = schema else {
                    continue;
                };
                let gvks = crate::load::gvks_of(
                    schema
                        .schema_data
                        .extensions
                        .get("x-kubernetes-group-version-kind"),
                );
                for gvk in &gvks {
                    index
                        .by_gvk
                        .entry(gvk.clone())
                        .or_insert_with(|| name.clone());
                }
                index.gvks.insert(name.clone(), gvks);
            }
        }
        index
    }

    pub fn definition(&self, gvk: &Gvk) -> Option<&str> {
        self.by_gvk.get(gvk).map(String::as_str)
    }

    /// Whether any definition exists for this kind in any group-version.
    pub fn has_kind(&self, kind: &str) -> bool {
        self.by_gvk.keys().any(|g| g.kind == kind)
    }
}

/// Corrections of known mistakes in the published spec. Each is one function that
/// returns an error when the spec no longer has the mistake, so a fix upstream breaks
/// the build instead of being corrected twice.
pub mod fixes {
    use super::*;

    /// A spec fix: name and function.
    pub type SpecFix = (
        &'static str,
        fn(&mut [SpecOperation], &DefinitionIndex) -> Result<usize, CodegenError>,
    );

    /// Every fix, applied in this order.
    pub const ALL: &[SpecFix] = &[
        ("connect_options_kinds", connect_options_kinds),
        ("pod_log_kind_is_parent", pod_log_kind_is_parent),
    ];

    /// Apply every fix; returns how many operations each changed.
    pub fn apply_all(
        ops: &mut [SpecOperation],
        defs: &DefinitionIndex,
    ) -> Result<Vec<(&'static str, usize)>, CodegenError> {
        ALL.iter()
            .map(|(name, fix)| fix(ops, defs).map(|n| (*name, n)))
            .collect()
    }

    /// Connect operations (`pods/exec`, `pods/attach`, `pods/portforward`, `pods/proxy`,
    /// `nodes/proxy`, `services/proxy`) carry an `x-kubernetes-group-version-kind` naming
    /// an options kind (`PodExecOptions`) that the spec does not define
    /// (kubernetes/kubernetes#66807). Discovery reports that same kind for the
    /// subresource, so the kind stays; the fix records that no definition describes the
    /// body (the options arrive as query parameters, the response is a stream).
    ///
    /// Fails when no connect operation names an undefined `*Options` kind any more, or
    /// when one of those kinds gained a definition.
    pub fn connect_options_kinds(
        ops: &mut [SpecOperation],
        defs: &DefinitionIndex,
    ) -> Result<usize, CodegenError> {
        const NAME: &str = "connect_options_kinds";
        let mut changed = 0;
        for op in ops.iter_mut().filter(|op| op.action == Action::Connect) {
            if !op.gvk.kind.ends_with("Options") {
                continue;
            }
            if let Some(def) = defs.definition(&op.gvk) {
                return Err(CodegenError::SpecFixStale {
                    fix: NAME,
                    message: format!(
                        "{} {} names {}, which is now defined as {def}",
                        op.method, op.path, op.gvk
                    ),
                });
            }
            op.kind_has_no_body = true;
            changed += 1;
        }
        if changed == 0 {
            return Err(CodegenError::SpecFixStale {
                fix: NAME,
                message: "no connect operation names an undefined *Options kind".into(),
            });
        }
        Ok(changed)
    }

    /// `GET …/pods/{name}/log` says its kind is `Pod` (as discovery does), but it returns
    /// `text/plain`: the `Pod` definition describes the parent, not the body.
    ///
    /// Fails when there is no such operation, it no longer names `Pod`, or its 200
    /// response is no longer a plain string.
    pub fn pod_log_kind_is_parent(
        ops: &mut [SpecOperation],
        _defs: &DefinitionIndex,
    ) -> Result<usize, CodegenError> {
        const NAME: &str = "pod_log_kind_is_parent";
        let mut changed = 0;
        for op in ops.iter_mut() {
            let Some(p) = parse_resource_path(&op.path) else {
                continue;
            };
            if p.group.is_empty() && p.plural == "pods" && p.subresource.as_deref() == Some("log") {
                if op.gvk.kind != "Pod" || !op.response_is_string {
                    return Err(CodegenError::SpecFixStale {
                        fix: NAME,
                        message: format!(
                            "{} {} now names {} (string response: {})",
                            op.method, op.path, op.gvk, op.response_is_string
                        ),
                    });
                }
                op.kind_has_no_body = true;
                changed += 1;
            }
        }
        if changed == 0 {
            return Err(CodegenError::SpecFixStale {
                fix: NAME,
                message: "no pods/log operation in the spec".into(),
            });
        }
        Ok(changed)
    }
}

/// Stability of a version name: `v1` GA, `v2beta1` beta, `v1alpha3` alpha.
pub fn stability(version: &str) -> Stability {
    match parse_version(version) {
        Some((_, Stability::Beta, _)) => Stability::Beta,
        Some((_, Stability::Alpha, _)) => Stability::Alpha,
        Some(_) => Stability::Ga,
        None if version.contains("alpha") => Stability::Alpha,
        None if version.contains("beta") => Stability::Beta,
        None => Stability::Ga,
    }
}

fn parse_version(version: &str) -> Option<(u64, Stability, u64)> {
    let rest = version.strip_prefix('v')?;
    let digits = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let major: u64 = rest[..digits].parse().ok()?;
    if major == 0 {
        return None;
    }
    let rest = &rest[digits..];
    if rest.is_empty() {
        return Some((major, Stability::Ga, 0));
    }
    let (level, minor) = if let Some(m) = rest.strip_prefix("alpha") {
        (Stability::Alpha, m)
    } else if let Some(m) = rest.strip_prefix("beta") {
        (Stability::Beta, m)
    } else {
        return None;
    };
    if minor.is_empty() || !minor.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((major, level, minor.parse().ok()?))
}

/// kube-apiserver's version priority: GA before beta before alpha, higher major first,
/// then higher minor (`v2` < `v1` < `v1beta2` < `v1beta1` < `v1alpha1` in this order);
/// names that do not look like Kubernetes versions come last, alphabetically.
pub fn version_priority(a: &str, b: &str) -> Ordering {
    match (parse_version(a), parse_version(b)) {
        (Some((amaj, alvl, amin)), Some((bmaj, blvl, bmin))) => {
            alvl.cmp(&blvl).then(bmaj.cmp(&amaj)).then(bmin.cmp(&amin))
        }
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a.cmp(b),
    }
}

/// base64 of the first 8 bytes of SHA-256 of "group/version/Kind" ("/v1/Pod" for core).
pub fn storage_version_hash(group: &str, version: &str, kind: &str) -> String {
    let digest = Sha256::digest(format!("{group}/{version}/{kind}").as_bytes());
    base64::engine::general_purpose::STANDARD.encode(&digest[..8])
}

#[derive(Debug, Default)]
struct ResourceAcc {
    kind: Option<Gvk>,
    namespaced: bool,
    verbs: BTreeSet<String>,
    list_definition: Option<String>,
    subresources: BTreeMap<String, SubAcc>,
}

#[derive(Debug, Default)]
struct SubAcc {
    gvk: Option<Gvk>,
    verbs: BTreeSet<String>,
    no_body: bool,
}

/// Build groups ▸ versions ▸ resources from the (fixed) operations, without facts:
/// singular = lowercase kind, no short names or categories, no storage version hash.
pub fn resources_from_operations(
    ops: &[SpecOperation],
    defs: &DefinitionIndex,
    notes: &mut Vec<String>,
) -> Result<Vec<Group>, CodegenError> {
    let mut acc: BTreeMap<(String, String), BTreeMap<String, ResourceAcc>> = BTreeMap::new();
    for op in ops {
        let p = parse_resource_path(&op.path).ok_or_else(|| {
            CodegenError::Spec(format!(
                "{} {}: action {:?} on a path that is not a resource path",
                op.method, op.path, op.action
            ))
        })?;
        let resource = acc
            .entry((p.group.clone(), p.version.clone()))
            .or_default()
            .entry(p.plural.clone())
            .or_default();
        resource.namespaced |= p.namespaced;
        let verb = op.action.verb(op.method);
        match &p.subresource {
            None => {
                if let Some(existing) = &resource.kind
                    && *existing != op.gvk
                {
                    return Err(CodegenError::Spec(format!(
                        "{} {}: kind {} differs from {} of other operations on {}",
                        op.method, op.path, op.gvk, existing, p.plural
                    )));
                }
                if op.gvk.group != p.group || op.gvk.version != p.version {
                    return Err(CodegenError::Spec(format!(
                        "{} {}: kind {} is not of the path's group-version",
                        op.method, op.path, op.gvk
                    )));
                }
                resource.kind = Some(op.gvk.clone());
                if let Some(v) = verb {
                    resource.verbs.insert(v.to_string());
                }
                if op.action == Action::List {
                    resource.list_definition = op.response.clone();
                }
            }
            Some(sub) => {
                let s = resource.subresources.entry(sub.clone()).or_default();
                if let Some(existing) = &s.gvk
                    && *existing != op.gvk
                {
                    return Err(CodegenError::Spec(format!(
                        "{} {}: kind {} differs from {} of other operations on {}/{}",
                        op.method, op.path, op.gvk, existing, p.plural, sub
                    )));
                }
                s.gvk = Some(op.gvk.clone());
                s.no_body |= op.kind_has_no_body;
                if let Some(v) = verb {
                    s.verbs.insert(v.to_string());
                }
            }
        }
    }

    let mut groups: BTreeMap<String, Vec<Version>> = BTreeMap::new();
    for ((group, version), resources) in acc {
        let mut out = Vec::new();
        for (plural, r) in resources {
            let Some(kind) = r.kind else {
                return Err(CodegenError::Spec(format!(
                    "{group}/{version} {plural}: only subresource operations, no kind"
                )));
            };
            let definition = defs.definition(&kind).map(str::to_string);
            if definition.is_none() {
                notes.push(format!("{kind} ({plural}) has no definition in the spec"));
            }
            let list_kind = match &r.list_definition {
                Some(def) => defs
                    .gvks
                    .get(def)
                    .and_then(|g| {
                        g.iter()
                            .find(|g| g.group == group && g.version == version)
                            .or(g.first())
                    })
                    .map(|g| g.kind.clone())
                    .unwrap_or_else(|| {
                        definition_name(def)
                            .rsplit('.')
                            .next()
                            .unwrap_or_default()
                            .to_string()
                    }),
                None => String::new(),
            };
            let mut subresources = Vec::new();
            for (name, s) in r.subresources {
                let Some(gvk) = s.gvk else { continue };
                let sub_definition = if s.no_body {
                    None
                } else {
                    defs.definition(&gvk).map(str::to_string)
                };
                if sub_definition.is_none() && !s.no_body {
                    notes.push(format!("{plural}/{name}: kind {gvk} has no definition in the spec and no spec fix covers it"));
                }
                subresources.push(Subresource {
                    name,
                    group: gvk.group,
                    version: gvk.version,
                    kind: gvk.kind,
                    verbs: s.verbs.into_iter().collect(),
                    definition: sub_definition,
                });
            }
            out.push(Resource {
                singular: kind.kind.to_lowercase(),
                kind: kind.kind,
                list_kind,
                namespaced: r.namespaced,
                verbs: r.verbs.into_iter().collect(),
                short_names: Vec::new(),
                categories: Vec::new(),
                subresources,
                storage_version_hash: String::new(),
                definition,
                plural,
            });
        }
        out.sort_by(|a, b| a.plural.cmp(&b.plural));
        groups.entry(group).or_default().push(Version {
            stability: stability(&version),
            name: version,
            resources: out,
        });
    }
    Ok(groups
        .into_iter()
        .map(|(name, mut versions)| {
            versions.sort_by(|a, b| version_priority(&a.name, &b.name));
            Group { name, versions }
        })
        .collect())
}

/// Order groups as `/apis` lists them: core first, then `order` (from discovery), then
/// the rest by name.
pub fn order_groups(groups: &mut [Group], order: &[String]) {
    let rank = |name: &str| -> (usize, usize) {
        if name.is_empty() {
            return (0, 0);
        }
        match order.iter().position(|g| g == name) {
            Some(i) => (1, i),
            None => (2, 0),
        }
    };
    groups.sort_by(|a, b| {
        rank(&a.name)
            .cmp(&rank(&b.name))
            .then_with(|| a.name.cmp(&b.name))
    });
}

/// Fill short names, categories, singular names and storage version hashes from the
/// discovery facts and the overlay; report what had to be guessed and where the spec and
/// same-release discovery disagree.
pub fn apply_facts(
    groups: &mut [Group],
    release: &str,
    facts: Option<&Facts>,
    overlay: &Overlay,
    notes: &mut Vec<String>,
) {
    // Which versions of each (group, plural) this release serves.
    let mut served: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for g in groups.iter() {
        for v in &g.versions {
            for r in &v.resources {
                served
                    .entry((g.name.clone(), r.plural.clone()))
                    .or_default()
                    .push(v.name.clone());
            }
        }
    }
    let ctx = FactsContext {
        release,
        facts,
        overlay,
        same_release: facts.is_some_and(|f| f.release == release),
    };
    for g in groups.iter_mut() {
        for v in g.versions.iter_mut() {
            for r in v.resources.iter_mut() {
                let here = served
                    .get(&(g.name.clone(), r.plural.clone()))
                    .cloned()
                    .unwrap_or_default();
                let at = Place {
                    group: &g.name,
                    version: &v.name,
                    served_versions: &here,
                };
                fill_resource(&ctx, &at, r, notes);
            }
        }
    }
    if let (Some(f), true) = (facts, ctx.same_release) {
        for ((group, version, plural), _) in f.resources.iter() {
            let found = groups
                .iter()
                .find(|g| g.name == *group)
                .and_then(|g| g.versions.iter().find(|v| v.name == *version))
                .is_some_and(|v| v.resources.iter().any(|r| r.plural == *plural));
            if !found {
                notes.push(format!(
                    "discovery lists {} {plural}, the spec has no such resource",
                    gv_name(group, version)
                ));
            }
        }
    }
}

fn gv_name(group: &str, version: &str) -> String {
    if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    }
}

/// Where the facts come from and how far they are trusted.
struct FactsContext<'a> {
    release: &'a str,
    facts: Option<&'a Facts>,
    overlay: &'a Overlay,
    /// The facts are this release's own discovery documents.
    same_release: bool,
}

/// A resource's group-version and the versions of it this release serves.
struct Place<'a> {
    group: &'a str,
    version: &'a str,
    served_versions: &'a [String],
}

fn fill_resource(
    ctx: &FactsContext<'_>,
    at: &Place<'_>,
    r: &mut Resource,
    notes: &mut Vec<String>,
) {
    let (group, version, facts, same_release) = (at.group, at.version, ctx.facts, ctx.same_release);
    let gv = gv_name(group, version);
    let overlay_entry = ctx.overlay.get(ctx.release, group, &r.plural);
    // Facts for this resource: the exact group-version first, then other versions of the
    // same group and plural (highest priority first), only where the kind matches.
    let mut candidates: Vec<(String, &crate::facts::ResourceFacts)> = Vec::new();
    if let Some(f) = facts {
        let mut others = f.versions_of(group, &r.plural);
        others.sort_by(|a, b| version_priority(a.0, b.0));
        if let Some(exact) = f.get(group, version, &r.plural) {
            candidates.push((version.to_string(), exact));
        }
        for (v, rf) in others {
            if v != version {
                candidates.push((v.to_string(), rf));
            }
        }
        candidates.retain(|(v, rf)| {
            let ok = rf.kind.is_empty() || rf.kind == r.kind;
            if !ok && v == version {
                notes.push(format!(
                    "{gv} {}: discovery says kind {}, the spec {}",
                    r.plural, rf.kind, r.kind
                ));
            }
            ok
        });
    }

    // Names.
    let best = candidates.first().map(|(_, rf)| *rf);
    match best {
        Some(rf) => {
            if let Some(s) = &rf.singular {
                r.singular = s.clone();
            }
            r.short_names = rf.short_names.clone();
            r.categories = rf.categories.clone();
        }
        None if overlay_entry.is_none() => {
            notes.push(format!(
                "{gv} {}: no discovery facts (singular {:?}, no short names or categories)",
                r.plural, r.singular
            ));
        }
        None => {}
    }
    if let Some(o) = overlay_entry {
        if let Some(s) = &o.singular {
            r.singular = s.clone();
        }
        if let Some(s) = &o.short_names {
            r.short_names = s.clone();
        }
        if let Some(c) = &o.categories {
            r.categories = c.clone();
        }
    }

    // Storage version hash: only stored resources (those that can be watched) have one.
    if r.verbs.iter().any(|v| v == "watch") {
        r.storage_version_hash = storage_hash(ctx, at, r, &candidates, overlay_entry, notes);
    } else {
        r.storage_version_hash = String::new();
    }

    // Same-release discovery must agree with what the spec gave.
    if same_release && let Some(rf) = facts.and_then(|f| f.get(group, version, &r.plural)) {
        if rf.namespaced != r.namespaced {
            notes.push(format!(
                "{gv} {}: discovery says namespaced={}, the spec {}",
                r.plural, rf.namespaced, r.namespaced
            ));
        }
        if rf.verbs != r.verbs {
            notes.push(format!(
                "{gv} {}: discovery verbs {:?}, the spec's {:?}",
                r.plural, rf.verbs, r.verbs
            ));
        }
        for s in &r.subresources {
            match rf.subresources.get(&s.name) {
                None => notes.push(format!("{gv} {}/{}: not in discovery", r.plural, s.name)),
                Some(sf) => {
                    let (fg, fv) = (
                        sf.group.as_deref().unwrap_or(group),
                        sf.version.as_deref().unwrap_or(version),
                    );
                    if (fg, fv, sf.kind.as_str())
                        != (s.group.as_str(), s.version.as_str(), s.kind.as_str())
                        || sf.verbs != s.verbs
                    {
                        notes.push(format!(
                            "{gv} {}/{}: discovery says {fg}/{fv} {} {:?}, the spec {}/{} {} {:?}",
                            r.plural,
                            s.name,
                            sf.kind,
                            sf.verbs,
                            s.group,
                            s.version,
                            s.kind,
                            s.verbs
                        ));
                    }
                }
            }
        }
        for name in rf.subresources.keys() {
            if !r.subresources.iter().any(|s| s.name == *name) {
                notes.push(format!(
                    "{gv} {}/{name}: in discovery, not in the spec",
                    r.plural
                ));
            }
        }
    }
}

fn storage_hash(
    ctx: &FactsContext<'_>,
    at: &Place<'_>,
    r: &Resource,
    candidates: &[(String, &crate::facts::ResourceFacts)],
    overlay_entry: Option<&crate::facts::OverlayResource>,
    notes: &mut Vec<String>,
) -> String {
    let (group, version, served_versions) = (at.group, at.version, at.served_versions);
    let gv = gv_name(group, version);
    if let Some(sv) = overlay_entry.and_then(|o| o.storage_version.as_deref()) {
        return storage_version_hash(group, sv, &r.kind);
    }
    // kube-apiserver reports one hash for all versions of a resource; take the one of
    // the highest-priority version whose document has it.
    let mut with_hash: Vec<(&str, &str)> = candidates
        .iter()
        .filter_map(|(v, rf)| rf.storage_version_hash.as_deref().map(|h| (v.as_str(), h)))
        .collect();
    with_hash.sort_by(|a, b| version_priority(a.0, b.0));
    let distinct: BTreeSet<&str> = with_hash.iter().map(|(_, h)| *h).collect();
    if distinct.len() > 1 && version == with_hash.first().map(|(v, _)| *v).unwrap_or_default() {
        notes.push(format!(
            "{gv} {}: discovery documents disagree on storageVersionHash ({}); using {}'s",
            r.plural,
            with_hash
                .iter()
                .map(|(v, h)| format!("{v}: {h}"))
                .collect::<Vec<_>>()
                .join(", "),
            with_hash[0].0
        ));
    }
    for (_, hash) in &with_hash {
        if ctx.same_release {
            return hash.to_string();
        }
        // Borrowed from another release: a hash naming a version that release serves
        // but this one does not is from a newer storage version; skip it.
        let facts_versions: Vec<&str> = ctx
            .facts
            .map(|f| {
                f.versions_of(group, &r.plural)
                    .into_iter()
                    .map(|(v, _)| v)
                    .collect()
            })
            .unwrap_or_default();
        let names_unserved = facts_versions.iter().any(|fv| {
            !served_versions.iter().any(|s| s == fv)
                && storage_version_hash(group, fv, &r.kind) == *hash
        });
        if !names_unserved {
            return hash.to_string();
        }
    }
    // No usable fact: assume the highest-priority served version is the storage version.
    let mut versions: Vec<&String> = served_versions.iter().collect();
    versions.sort_by(|a, b| version_priority(a, b));
    let storage = versions.first().map(|s| s.as_str()).unwrap_or(version);
    if version == storage {
        notes.push(format!(
            "{gv} {}: storageVersionHash computed from {} (no discovery fact)",
            r.plural,
            gv_name(group, storage)
        ));
    }
    storage_version_hash(group, storage, &r.kind)
}

/// Resources, with facts applied and groups ordered: what [`crate::model::Model::groups`] holds.
pub fn build_groups(
    spec: &OpenAPI,
    release: &str,
    facts: Option<&Facts>,
    overlay: &Overlay,
    notes: &mut Vec<String>,
) -> Result<Vec<Group>, CodegenError> {
    let defs = DefinitionIndex::new(spec);
    let mut ops = spec_operations(spec)?;
    fixes::apply_all(&mut ops, &defs)?;
    let mut groups = resources_from_operations(&ops, &defs, notes)?;
    apply_facts(&mut groups, release, facts, overlay, notes);
    order_groups(
        &mut groups,
        facts.map(|f| f.group_order.as_slice()).unwrap_or_default(),
    );
    Ok(groups)
}

/// Count of (group-versions, resources, subresources).
pub fn counts(groups: &[Group]) -> (usize, usize, usize) {
    let gvs = groups.iter().map(|g| g.versions.len()).sum();
    let resources = groups
        .iter()
        .flat_map(|g| &g.versions)
        .map(|v| v.resources.len())
        .sum();
    let subs = groups
        .iter()
        .flat_map(|g| &g.versions)
        .flat_map(|v| &v.resources)
        .map(|r| r.subresources.len())
        .sum();
    (gvs, resources, subs)
}
