//! Emits `<release>/conversions.rs`: for every kind served in several versions (or viewed
//! through another group, like `events.k8s.io` Event over core Event), the conversions of
//! each version to and from its hub, the form kube-apiserver stores it in.
//!
//! The storage version of each such resource is a fact from
//! `schemas/overlay/storage-versions.json`. Versions are compared field by field with the
//! hub, recursively: a field with the same JSON name and a compatible type on both sides
//! is copied (whole when the shapes are identical, field by field below otherwise). Every
//! other field must be named by a hand-written hook of `kiln_runtime::conversions::hooks`
//! attached to the definition pair or one above it; regen fails listing fields without a
//! hook and hooks naming fields that no longer differ. The conversions work on JSON values
//! (the server keeps objects as `serde_json::Value`), see DECISIONS.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::error::CodegenError;
use crate::model::{Model, Resource};
use crate::types::{FieldType, Shape, TypeDef};
use kiln_runtime::conversions::Hook;

/// `schemas/overlay/storage-versions.json`.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct StorageVersions {
    pub resources: Vec<StorageEntry>,
}

/// The stored form of one resource (`group`, `resource`).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct StorageEntry {
    pub group: String,
    pub resource: String,
    /// Releases the entry applies to; empty = all.
    #[serde(default)]
    pub releases: Vec<String>,
    pub storage: StorageTarget,
    #[serde(default, rename = "$comment")]
    pub comment: Option<String>,
}

#[derive(Debug, Clone, serde::Deserialize)]
pub struct StorageTarget {
    /// Defaults to the entry's group.
    #[serde(default)]
    pub group: Option<String>,
    pub version: String,
    /// Defaults to the entry's resource.
    #[serde(default)]
    pub resource: Option<String>,
}

impl StorageVersions {
    fn get(&self, release: &str, group: &str, resource: &str) -> Option<&StorageEntry> {
        self.resources.iter().find(|e| {
            e.group == group
                && e.resource == resource
                && (e.releases.is_empty() || e.releases.iter().any(|r| r == release))
        })
    }
}

/// Reads the storage-version table (a missing file is an empty table).
pub fn load_storage_versions(path: &Path) -> Result<StorageVersions, CodegenError> {
    if !path.is_file() {
        return Ok(StorageVersions::default());
    }
    let text = crate::load::read_to_string(path)?;
    serde_json::from_str(&text).map_err(|e| CodegenError::Overlay {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// One served (group, version) of a resource.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Member {
    pub group: String,
    pub version: String,
    pub resource: String,
    pub kind: String,
    pub definition: String,
}

/// A stored kind and every version that serves it; `members[hub]` is the storage version.
#[derive(Debug, Clone)]
pub struct Family {
    pub hub: Member,
    pub members: Vec<Member>,
}

fn gv(group: &str, version: &str) -> String {
    if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    }
}

/// (group, version, resource) of a stored form.
type StoredAs = (String, String, String);

fn stored(r: &Resource) -> bool {
    r.verbs.iter().any(|v| v == "create" || v == "watch")
}

/// Groups the release's stored resources by stored form and checks the storage table and
/// the registry's storage version hashes against each other.
pub fn families(model: &Model, table: &StorageVersions) -> Result<Vec<Family>, Vec<String>> {
    let release = &model.release;
    let mut errors = Vec::new();
    // (group, resource) → members
    let mut by_resource: BTreeMap<(String, String), Vec<(Member, &Resource)>> = BTreeMap::new();
    for g in &model.groups {
        for v in &g.versions {
            for r in &v.resources {
                let Some(def) = &r.definition else { continue };
                if !stored(r) {
                    continue;
                }
                by_resource
                    .entry((g.name.clone(), r.plural.clone()))
                    .or_default()
                    .push((
                        Member {
                            group: g.name.clone(),
                            version: v.name.clone(),
                            resource: r.plural.clone(),
                            kind: r.kind.clone(),
                            definition: def.clone(),
                        },
                        r,
                    ));
            }
        }
    }
    // Stored form of each (group, resource): (group, version, resource).
    let mut storage_of: BTreeMap<(String, String), (String, String, String)> = BTreeMap::new();
    for ((group, resource), members) in &by_resource {
        match table.get(release, group, resource) {
            Some(e) => {
                let sg = e.storage.group.clone().unwrap_or_else(|| group.clone());
                let sr = e.storage.resource.clone().unwrap_or_else(|| resource.clone());
                storage_of.insert(
                    (group.clone(), resource.clone()),
                    (sg, e.storage.version.clone(), sr),
                );
            }
            None if members.len() == 1 => {
                storage_of.insert(
                    (group.clone(), resource.clone()),
                    (group.clone(), members[0].0.version.clone(), resource.clone()),
                );
            }
            None => errors.push(format!(
                "{release}: {resource}.{group} is served in {} versions ({}) but schemas/overlay/storage-versions.json does not say which one kube-apiserver stores",
                members.len(),
                members.iter().map(|(m, _)| m.version.as_str()).collect::<Vec<_>>().join(", ")
            )),
        }
    }
    for e in &table.resources {
        if (e.releases.is_empty() || e.releases.iter().any(|r| r == release))
            && !by_resource.contains_key(&(e.group.clone(), e.resource.clone()))
        {
            errors.push(format!(
                "{release}: storage-versions.json names {}.{}, which this release does not serve (restrict the entry's releases or remove it)",
                e.resource, e.group
            ));
        }
    }
    // (storage group, version, resource) → the resources stored there.
    let mut out: BTreeMap<StoredAs, Vec<(Member, &Resource)>> = BTreeMap::new();
    for ((group, resource), members) in &by_resource {
        let Some(target) = storage_of.get(&(group.clone(), resource.clone())) else {
            continue;
        };
        for (m, r) in members {
            out.entry(target.clone()).or_default().push((m.clone(), *r));
        }
    }
    // Served in several versions or groups: discovery's hash must name the storage version.
    for ((sg, sv, sr), members) in &out {
        if members.len() < 2 {
            continue;
        }
        let Some(kind) = members
            .iter()
            .find(|(m, _)| m.group == *sg && m.version == *sv && m.resource == *sr)
            .map(|(m, _)| m.kind.clone())
        else {
            continue;
        };
        let want = crate::resources::storage_version_hash(sg, sv, &kind);
        for (m, r) in members {
            if r.storage_version_hash != want {
                errors.push(format!(
                    "{release}: {} {}: storageVersionHash {:?} does not match the storage version {} {kind} of storage-versions.json ({want:?})",
                    gv(&m.group, &m.version),
                    m.resource,
                    r.storage_version_hash,
                    gv(sg, sv)
                ));
            }
        }
    }
    let mut families = Vec::new();
    for ((sg, sv, sr), members) in out {
        let mut members: Vec<Member> = members.into_iter().map(|(m, _)| m).collect();
        members.sort();
        members.dedup();
        let Some(hub) = members
            .iter()
            .find(|m| m.group == sg && m.version == sv && m.resource == sr)
            .cloned()
        else {
            errors.push(format!(
                "{release}: storage version {} {sr} is not served by this release",
                gv(&sg, &sv)
            ));
            continue;
        };
        if members.len() > 1 {
            families.push(Family { hub, members });
        }
    }
    if errors.is_empty() {
        Ok(families)
    } else {
        Err(errors)
    }
}

/// How a corresponding field converts (mirrors `kiln_runtime::conversions::Slot`).
#[derive(Debug, Clone, PartialEq, Eq)]
enum SlotPlan {
    Copy,
    Object(usize),
    Array(Box<SlotPlan>),
    Map(Box<SlotPlan>),
}

/// The conversion of one definition pair.
#[derive(Debug, Clone)]
struct PairPlan {
    from: String,
    to: String,
    fields: Vec<(String, SlotPlan)>,
    /// Fields that do not correspond: (name, why).
    mismatched: Vec<(String, String)>,
    hooks: Vec<&'static Hook>,
}

/// Builds the pair tables for a release.
struct Planner<'a> {
    types: &'a BTreeMap<String, TypeDef>,
    hooks: &'a [&'static Hook],
    pairs: Vec<PairPlan>,
    index: BTreeMap<(String, String), usize>,
}

impl<'a> Planner<'a> {
    fn struct_fields(&self, id: &str) -> Option<&'a [crate::types::Field]> {
        match &self.types.get(id)?.shape {
            Shape::Struct(s) => Some(&s.fields),
            _ => None,
        }
    }

    /// The plan for `from` → `to`: `Copy` for identical shapes, else a pair table.
    fn pair(&mut self, from: &str, to: &str) -> Option<SlotPlan> {
        if from == to {
            return Some(SlotPlan::Copy);
        }
        if let Some(&i) = self.index.get(&(from.to_string(), to.to_string())) {
            return Some(SlotPlan::Object(i));
        }
        let (ta, tb) = (self.types.get(from)?, self.types.get(to)?);
        match (&ta.shape, &tb.shape) {
            (Shape::Special(a), Shape::Special(b)) if a == b => return Some(SlotPlan::Copy),
            (Shape::FreeForm, Shape::FreeForm) => return Some(SlotPlan::Copy),
            (Shape::Struct(_), Shape::Struct(_)) => {}
            _ => return None,
        }
        let i = self.pairs.len();
        self.pairs.push(PairPlan {
            from: from.to_string(),
            to: to.to_string(),
            fields: Vec::new(),
            mismatched: Vec::new(),
            hooks: self
                .hooks
                .iter()
                .copied()
                .filter(|h| h.from == from && h.to == to)
                .collect(),
        });
        self.index.insert((from.to_string(), to.to_string()), i);
        let fa = self.struct_fields(from).unwrap_or_default();
        let fb = self.struct_fields(to).unwrap_or_default();
        let mut fields = Vec::new();
        let mut mismatched = Vec::new();
        for b in fb {
            match fa.iter().find(|a| a.json_name == b.json_name) {
                Some(a) => match self.slot(&a.ty, &b.ty) {
                    Some(s) => fields.push((b.json_name.clone(), s)),
                    None => mismatched
                        .push((b.json_name.clone(), format!("types differ ({from} ↔ {to})"))),
                },
                None => mismatched.push((b.json_name.clone(), format!("only in {to}"))),
            }
        }
        for a in fa {
            if !fb.iter().any(|b| b.json_name == a.json_name) {
                mismatched.push((a.json_name.clone(), format!("only in {from}")));
            }
        }
        let identical = mismatched.is_empty()
            && self.pairs.len() == i + 1
            && fa.len() == fb.len()
            && fields.iter().all(|(_, s)| *s == SlotPlan::Copy)
            && self.pairs[i].hooks.is_empty();
        self.pairs[i].fields = fields;
        self.pairs[i].mismatched = mismatched;
        if identical {
            // Nothing references it yet except possibly a cycle through itself; a pair
            // whose fields all copy is itself a copy.
            self.index.remove(&(from.to_string(), to.to_string()));
            self.pairs.pop();
            return Some(SlotPlan::Copy);
        }
        Some(SlotPlan::Object(i))
    }

    fn slot(&mut self, a: &FieldType, b: &FieldType) -> Option<SlotPlan> {
        use FieldType as T;
        match (a, b) {
            (T::Ref(x), T::Ref(y)) => self.pair(x, y),
            (T::Array(x), T::Array(y)) => Some(match self.slot(x, y)? {
                SlotPlan::Copy => SlotPlan::Copy,
                s => SlotPlan::Array(Box::new(s)),
            }),
            (T::Map(x), T::Map(y)) => Some(match self.slot(x, y)? {
                SlotPlan::Copy => SlotPlan::Copy,
                s => SlotPlan::Map(Box::new(s)),
            }),
            (x, y) if x == y => Some(SlotPlan::Copy),
            _ => None,
        }
    }
}

/// One version's tables: (to hub, from hub) pair indexes.
struct VersionPlan {
    member: Member,
    tables: Option<(usize, usize)>,
}

/// What the conversion tables of a release are, before emission.
struct Plan {
    families: Vec<(Family, Vec<VersionPlan>)>,
    pairs: Vec<PairPlan>,
}

fn plan(
    model: &Model,
    table: &StorageVersions,
    hooks: &[&'static Hook],
) -> Result<Plan, CodegenError> {
    let families = families(model, table).map_err(|errors| CodegenError::Emit {
        file: "conversions.rs".into(),
        message: format!("storage versions:\n  {}", errors.join("\n  ")),
    })?;
    let mut planner = Planner {
        types: &model.types,
        hooks,
        pairs: Vec::new(),
        index: BTreeMap::new(),
    };
    let mut out = Vec::new();
    let mut roots = Vec::new();
    for f in families {
        let mut versions = Vec::new();
        for m in &f.members {
            if *m == f.hub {
                versions.push(VersionPlan {
                    member: m.clone(),
                    tables: None,
                });
                continue;
            }
            let mut root = |from: &str, to: &str| -> Result<usize, CodegenError> {
                match planner.pair(from, to) {
                    Some(SlotPlan::Object(i)) => Ok(i),
                    // Identical shapes: still a table, so the server can tell versions apart.
                    Some(SlotPlan::Copy) => {
                        let i = planner.pairs.len();
                        let fields = planner
                            .struct_fields(to)
                            .unwrap_or_default()
                            .iter()
                            .map(|f| (f.json_name.clone(), SlotPlan::Copy))
                            .collect();
                        planner.pairs.push(PairPlan {
                            from: from.to_string(),
                            to: to.to_string(),
                            fields,
                            mismatched: Vec::new(),
                            hooks: Vec::new(),
                        });
                        planner.index.insert((from.to_string(), to.to_string()), i);
                        Ok(i)
                    }
                    _ => Err(CodegenError::Emit {
                        file: "conversions.rs".into(),
                        message: format!("{from} and {to} are not both structs"),
                    }),
                }
            };
            let to_hub = root(&m.definition, &f.hub.definition)?;
            let from_hub = root(&f.hub.definition, &m.definition)?;
            roots.push((to_hub, m.clone(), f.hub.clone()));
            roots.push((from_hub, f.hub.clone(), m.clone()));
            versions.push(VersionPlan {
                member: m.clone(),
                tables: Some((to_hub, from_hub)),
            });
        }
        out.push((f, versions));
    }
    let pairs = planner.pairs;
    check_hooks(&model.release, &pairs, &roots, hooks)?;
    Ok(Plan {
        families: out,
        pairs,
    })
}

/// Every non-corresponding field needs a hook on its pair or a pair above it; every
/// field a hook names (on a pair this release has) must be one that does not correspond.
fn check_hooks(
    release: &str,
    pairs: &[PairPlan],
    roots: &[(usize, Member, Member)],
    hooks: &[&'static Hook],
) -> Result<(), CodegenError> {
    let mut missing: BTreeSet<String> = BTreeSet::new();
    // (hook name, field) used
    let mut used: BTreeSet<(&str, String)> = BTreeSet::new();
    fn walk<'p>(
        pairs: &'p [PairPlan],
        i: usize,
        path: &str,
        active: &mut Vec<(&'static Hook, String)>,
        stack: &mut Vec<usize>,
        on_missing: &mut dyn FnMut(String, &str),
        used: &mut BTreeSet<(&'static str, String)>,
    ) {
        if stack.contains(&i) {
            return;
        }
        stack.push(i);
        let p = &pairs[i];
        for h in &p.hooks {
            active.push((h, path.to_string()));
        }
        for (field, why) in &p.mismatched {
            let full = if path.is_empty() {
                field.clone()
            } else {
                format!("{path}.{field}")
            };
            let mut covered = false;
            for (h, at) in active.iter() {
                let rel = if at.is_empty() {
                    Some(full.as_str())
                } else {
                    full.strip_prefix(at.as_str())
                        .and_then(|r| r.strip_prefix('.'))
                };
                if let Some(rel) = rel
                    && h.fields
                        .iter()
                        .any(|f| kiln_runtime::conversions::hook_field(f).0 == rel)
                {
                    covered = true;
                    used.insert((h.name, rel.to_string()));
                }
            }
            if !covered {
                on_missing(full, why);
            }
        }
        for (field, slot) in &p.fields {
            let mut s = slot;
            loop {
                match s {
                    SlotPlan::Copy => break,
                    SlotPlan::Array(inner) | SlotPlan::Map(inner) => s = inner,
                    SlotPlan::Object(j) => {
                        let sub = if path.is_empty() {
                            field.clone()
                        } else {
                            format!("{path}.{field}")
                        };
                        walk(pairs, *j, &sub, active, stack, on_missing, used);
                        break;
                    }
                }
            }
        }
        for _ in &p.hooks {
            active.pop();
        }
        stack.pop();
    }
    for (i, from, to) in roots {
        let mut on_missing = |field: String, why: &str| {
            missing.insert(format!(
                "{release}: {} {} → {}: field `{field}` ({why}) has no conversion hook",
                from.kind,
                gv(&from.group, &from.version),
                gv(&to.group, &to.version)
            ));
        };
        walk(
            pairs,
            *i,
            "",
            &mut Vec::new(),
            &mut Vec::new(),
            &mut on_missing,
            &mut used,
        );
    }
    let mut stale = Vec::new();
    let present: BTreeSet<(&str, &str)> = pairs
        .iter()
        .map(|p| (p.from.as_str(), p.to.as_str()))
        .collect();
    for h in hooks {
        if !present.contains(&(h.from, h.to)) {
            continue;
        }
        for f in h.fields {
            let (f, since) = kiln_runtime::conversions::hook_field(f);
            if since.is_some_and(|m| Some(m) > crate::load::release_minor(release)) {
                continue;
            }
            if !used.contains(&(h.name, f.to_string())) {
                stale.push(format!(
                    "{release}: hook {} ({} → {}) names field `{f}`, which no longer differs between them",
                    h.name, h.from, h.to
                ));
            }
        }
    }
    if missing.is_empty() && stale.is_empty() {
        return Ok(());
    }
    let mut message = String::from(
        "conversion hooks out of date (write or fix hooks in codegen/runtime/src/conversions/hooks/):",
    );
    for m in missing.iter().chain(stale.iter()) {
        message.push_str("\n  ");
        message.push_str(m);
    }
    Err(CodegenError::Emit {
        file: "conversions.rs".into(),
        message,
    })
}

fn slot_tokens(s: &SlotPlan) -> TokenStream {
    match s {
        SlotPlan::Copy => quote!(Slot::Copy),
        SlotPlan::Object(i) => {
            let t = format_ident!("T{}", i);
            quote!(Slot::Object(&#t))
        }
        SlotPlan::Array(inner) => {
            let inner = slot_tokens(inner);
            quote!(Slot::Array(&#inner))
        }
        SlotPlan::Map(inner) => {
            let inner = slot_tokens(inner);
            quote!(Slot::Map(&#inner))
        }
    }
}

fn hook_path(h: &Hook) -> Result<TokenStream, CodegenError> {
    let path: syn::Path =
        syn::parse_str(&format!("hooks::{}", h.name)).map_err(|e| CodegenError::Emit {
            file: "conversions.rs".into(),
            message: format!("hook name {:?}: {e}", h.name),
        })?;
    Ok(quote!(#path))
}

/// The contents of `conversions.rs` for `model`, with the hooks of `hooks`.
pub fn emit_conversions_with(
    model: &Model,
    table: &StorageVersions,
    hooks: &[&'static Hook],
) -> Result<String, CodegenError> {
    let plan = plan(model, table, hooks)?;
    let families = plan.families.iter().map(|(f, versions)| {
        let (hg, hv, hk, hr) = (&f.hub.group, &f.hub.version, &f.hub.kind, &f.hub.resource);
        let versions = versions.iter().map(|v| {
            let (g, ver, k, r) = (
                &v.member.group,
                &v.member.version,
                &v.member.kind,
                &v.member.resource,
            );
            let (to_hub, from_hub) = match v.tables {
                Some((a, b)) => {
                    let (a, b) = (format_ident!("T{}", a), format_ident!("T{}", b));
                    (quote!(Some(&#a)), quote!(Some(&#b)))
                }
                None => (quote!(None), quote!(None)),
            };
            quote! {
                VersionConversion { group: #g, version: #ver, kind: #k, resource: #r, to_hub: #to_hub, from_hub: #from_hub }
            }
        });
        quote! {
            KindConversions { hub_group: #hg, hub_version: #hv, hub_kind: #hk, hub_resource: #hr, versions: &[#(#versions),*] }
        }
    });
    let mut statics = Vec::new();
    for (i, p) in plan.pairs.iter().enumerate() {
        let ident = format_ident!("T{}", i);
        let doc = format!(" {} → {}", p.from, p.to);
        let (from, to) = (&p.from, &p.to);
        let fields = p.fields.iter().map(|(name, slot)| {
            let slot = slot_tokens(slot);
            quote!(FieldMap { name: #name, slot: #slot })
        });
        let hooks = p
            .hooks
            .iter()
            .map(|h| hook_path(h))
            .collect::<Result<Vec<_>, _>>()?;
        statics.push(quote! {
            #[doc = #doc]
            static #ident: TypeMap = TypeMap { from: #from, to: #to, fields: &[#(#fields),*], hooks: &[#(&#hooks),*] };
        });
    }
    let doc = [
        " Kinds stored in one form and served in several versions or groups: the hub (storage",
        " version) and each version's conversions to and from it (`cargo xtask regen` from",
        " schemas/overlay/storage-versions.json and the hooks of `kiln_runtime::conversions::hooks`).",
    ];
    let uses = if statics.is_empty() {
        quote!(
            use kiln_runtime::conversions::{KindConversions, VersionConversion};
        )
    } else {
        quote!(
            use kiln_runtime::conversions::{
                hooks, FieldMap, KindConversions, Slot, TypeMap, VersionConversion,
            };
        )
    };
    let tokens = quote! {
        #![allow(unused_imports)]
        #uses
        #(#[doc = #doc])*
        pub static CONVERSIONS: &[KindConversions] = &[#(#families),*];
        #(#statics)*
    };
    crate::emit_registry::format_file(&model.release, "conversions.rs", tokens)
}

/// `conversions.rs` with the hooks compiled into the generator.
pub fn emit_conversions(model: &Model, table: &StorageVersions) -> Result<String, CodegenError> {
    emit_conversions_with(model, table, kiln_runtime::conversions::hooks::ALL)
}
