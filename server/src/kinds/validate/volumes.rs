//! PersistentVolumes and PersistentVolumeClaims: kube's `ValidatePersistentVolume(Update)`
//! and `ValidatePersistentVolumeClaim(Update)` (`pkg/apis/core/validation`), with the
//! feature gates of 1.36 (VolumeAttributesClass and RecoverVolumeExpansionFailure on).

use std::cmp::Ordering;

use serde_json::{Map, Value};

use super::pod::{fast_nano, no_backsteps, quantity, validate_one_source};
use super::{
    Errs, Path, arr, forbidden, get, invalid, invalid_msgs, label_selector, lookup, not_supported,
    obj, required, s, sorted,
};
use crate::validation::{self, FieldError};

const ACCESS_MODES: &[&str] = &[
    "ReadOnlyMany",
    "ReadWriteMany",
    "ReadWriteOnce",
    "ReadWriteOncePod",
];
const VOLUME_MODES: &[&str] = &["Block", "Filesystem"];
const STORAGE_CLASS_ANNOTATION: &str = "volume.beta.kubernetes.io/storage-class";

/// The persistent volume sources in the order kube checks them, with the path a second
/// source is reported under and the path a first source is validated under.
const PV_SOURCES: &[(&str, &str, &str)] = &[
    ("hostPath", "hostPath", "hostPath"),
    ("gcePersistentDisk", "gcePersistentDisk", "persistentDisk"),
    (
        "awsElasticBlockStore",
        "awsElasticBlockStore",
        "awsElasticBlockStore",
    ),
    ("glusterfs", "glusterfs", "glusterfs"),
    ("flocker", "flocker", "flocker"),
    ("nfs", "nfs", "nfs"),
    ("rbd", "rbd", "rbd"),
    ("quobyte", "quobyte", "quobyte"),
    ("cephfs", "cephFS", "cephfs"),
    ("iscsi", "iscsi", "iscsi"),
    ("cinder", "cinder", "cinder"),
    ("fc", "fc", "fc"),
    ("flexVolume", "flexVolume", "flexVolume"),
    ("azureFile", "azureFile", "azureFile"),
    ("vsphereVolume", "vsphereVolume", "vsphereVolume"),
    (
        "photonPersistentDisk",
        "photonPersistentDisk",
        "photonPersistentDisk",
    ),
    ("portworxVolume", "portworxVolume", "portworxVolume"),
    ("azureDisk", "azureDisk", "azureDisk"),
    ("scaleIO", "scaleIO", "scaleIO"),
    ("local", "local", "local"),
    ("storageos", "storageos", "storageos"),
    ("csi", "csi", "csi"),
];

fn meta_name(v: &Value) -> &str {
    lookup(v, "metadata").map_or("", |m| s(m, "name"))
}

fn subdomain(errs: &mut Errs, p: &Path<'_>, v: &str) {
    let msgs = validation::is_dns1123_subdomain(v);
    if !msgs.is_empty() {
        invalid_msgs(errs, p, v, msgs);
    }
}

fn dns_label(errs: &mut Errs, p: &Path<'_>, v: &str) {
    let msgs = validation::is_dns1123_label(v);
    if !msgs.is_empty() {
        invalid_msgs(errs, p, v, msgs);
    }
}

/// An `Invalid value` whose value kube prints through `String()` (unquoted).
fn invalid_stringer(errs: &mut Errs, p: &Path<'_>, shown: &str, detail: &str) {
    errs.push(FieldError::invalid_shown(p.render(), shown, detail));
}

/// The sign of a quantity (`None` when it does not parse), without a full parse for the
/// usual forms.
fn quantity_sign(v: &Value) -> Option<Ordering> {
    if let Some(n) = v.as_str().and_then(fast_nano) {
        return Some(n.cmp(&0));
    }
    quantity(v).map(|q| q.sign().cmp(&0))
}

/// Compares two quantities by value (unparsable ones count as zero, as an unset Go
/// `resource.Quantity` does).
fn quantity_cmp(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    let fast = |v: Option<&Value>| match v {
        None => Some(0),
        Some(v) => v.as_str().and_then(fast_nano),
    };
    if let (Some(x), Some(y)) = (fast(a), fast(b)) {
        return x.cmp(&y);
    }
    let zero = kiln_runtime::Quantity::zero();
    let full = |v: Option<&Value>| v.and_then(quantity).unwrap_or_else(|| zero.clone());
    full(a).cmp_value(&full(b))
}

fn canonical(v: &Value) -> String {
    quantity(v).map(|q| q.canonical()).unwrap_or_default()
}

/// Access modes: each supported, `ReadWriteOncePod` alone.
fn access_modes(errs: &mut Errs, spec: &Value, sp: &Path<'_>) {
    let ap = sp.child("accessModes");
    let (mut rwop, mut other) = (false, false);
    for m in arr(spec, "accessModes") {
        let m = m.as_str().unwrap_or("");
        if !ACCESS_MODES.contains(&m) {
            not_supported(errs, &ap, m, ACCESS_MODES);
        } else if m == "ReadWriteOncePod" {
            rwop = true;
        } else {
            other = true;
        }
    }
    if rwop && other {
        forbidden(
            errs,
            &ap,
            "may not use ReadWriteOncePod with other access modes",
        );
    }
}

// ---------------------------------------------------------------------------------------
// PersistentVolume
// ---------------------------------------------------------------------------------------

/// `ValidatePersistentVolume` minus metadata.
pub fn validate_pv(pv: &Value, errs: &mut Errs) {
    let spec = get(pv, "spec").unwrap_or(&Value::Null);
    let sp = Path::new("spec");
    if arr(spec, "accessModes").is_empty() {
        required(errs, &sp.child("accessModes"), "");
    }
    access_modes(errs, spec, &sp);

    let cp = sp.child("capacity");
    let capacity = obj(spec, "capacity");
    if capacity.is_none_or(Map::is_empty) {
        required(errs, &cp, "");
    }
    if capacity.is_none_or(|c| !c.contains_key("storage") || c.len() > 1) {
        let shown = capacity.map_or(Value::Null, |c| {
            sorted(&Value::Object(
                c.iter()
                    .map(|(k, v)| (k.clone(), Value::String(canonical(v))))
                    .collect(),
            ))
        });
        not_supported(errs, &cp, shown, &["storage"]);
    }
    for (name, q) in capacity.into_iter().flatten() {
        let kp = cp.key(name);
        if let Some(Ordering::Less | Ordering::Equal) = quantity_sign(q) {
            if quantity_sign(q) == Some(Ordering::Less) {
                let whole = quantity(q).map_or(0, |q| q.value());
                invalid(
                    errs,
                    &kp,
                    i64::try_from(whole).unwrap_or(i64::MIN),
                    "must be a valid resource quantity",
                );
            }
            invalid(errs, &kp, canonical(q), "must be greater than zero");
        }
    }

    let policy = s(spec, "persistentVolumeReclaimPolicy");
    if !policy.is_empty() && !matches!(policy, "Delete" | "Recycle" | "Retain") {
        not_supported(
            errs,
            &sp.child("persistentVolumeReclaimPolicy"),
            policy,
            &["Delete", "Recycle", "Retain"],
        );
    }

    let mut has_affinity = false;
    if let Some(na) = get(spec, "nodeAffinity") {
        has_affinity = true;
        let np = sp.child("nodeAffinity");
        match get(na, "required") {
            Some(req) => super::affinity::node_selector(errs, req, false, &np.child("required")),
            None => required(
                errs,
                &np.child("required"),
                "must specify required node constraints",
            ),
        }
    }

    let mut n = 0;
    for (key, forbid_as, check_as) in PV_SOURCES {
        let Some(src) = get(spec, key) else { continue };
        // kube counts a flexVolume source without checking for an earlier one.
        if n > 0 && *key != "flexVolume" {
            forbidden(
                errs,
                &sp.child(forbid_as),
                "may not specify more than 1 volume type",
            );
            continue;
        }
        n += 1;
        let p = sp.child(check_as);
        pv_source(key, src, &p, &sp, meta_name(pv), errs);
        if *key == "local" && !has_affinity {
            required(
                errs,
                &sp.child("nodeAffinity"),
                "Local volume requires node affinity",
            );
        }
    }
    if n == 0 {
        required(errs, &sp, "must specify a volume type");
    }

    if policy == "Recycle"
        && let Some(h) = get(spec, "hostPath")
        && cleans_to_root(s(h, "path"))
    {
        forbidden(
            errs,
            &sp.child("persistentVolumeReclaimPolicy"),
            "may not be 'recycle' for a hostPath mount of '/'",
        );
    }
    let class = s(spec, "storageClassName");
    if !class.is_empty() {
        subdomain(errs, &sp.child("storageClassName"), class);
    }
    if let Some(mode) = get(spec, "volumeMode").and_then(Value::as_str)
        && !VOLUME_MODES.contains(&mode)
    {
        not_supported(errs, &sp.child("volumeMode"), mode, VOLUME_MODES);
    }
    if let Some(vac) = get(spec, "volumeAttributesClassName").and_then(Value::as_str) {
        let vp = sp.child("volumeAttributesClassName");
        if vac.is_empty() {
            required(errs, &vp, "an empty string is disallowed");
        } else {
            subdomain(errs, &vp, vac);
        }
        if get(spec, "csi").is_none() {
            required(
                errs,
                &sp.child("csi"),
                "has to be specified when using volumeAttributesClassName",
            );
        }
    }
}

/// Whether Go's `path.Clean(p)` is `/`.
fn cleans_to_root(p: &str) -> bool {
    if !p.starts_with('/') {
        return false;
    }
    let mut depth = 0usize;
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => depth = depth.saturating_sub(1),
            _ => depth += 1,
        }
    }
    depth == 0
}

/// `validatePVSecretReference`.
fn pv_secret_ref(errs: &mut Errs, r: &Value, p: &Path<'_>) {
    let name = s(r, "name");
    if name.is_empty() {
        required(errs, &p.child("name"), "");
    } else {
        subdomain(errs, &p.child("name"), name);
    }
    let ns = s(r, "namespace");
    if ns.is_empty() {
        required(errs, &p.child("namespace"), "");
    } else {
        dns_label(errs, &p.child("namespace"), ns);
    }
}

/// One persistent volume source; the sources whose rules match the pod volume source of
/// the same name use the pod checks.
fn pv_source(key: &str, v: &Value, p: &Path<'_>, sp: &Path<'_>, pv_name: &str, errs: &mut Errs) {
    match key {
        "glusterfs" => {
            for f in ["endpoints", "path"] {
                if s(v, f).is_empty() {
                    required(errs, &p.child(f), "");
                }
            }
            if let Some(ns) = get(v, "endpointsNamespace").and_then(Value::as_str) {
                let np = p.child("endpointsNamespace");
                if ns.is_empty() {
                    invalid(
                        errs,
                        &np,
                        ns,
                        "if the endpointnamespace is set, it must be a valid namespace name",
                    );
                } else {
                    dns_label(errs, &np, ns);
                }
            }
        }
        "cinder" | "storageos" => {
            validate_one_source(key, v, p, sp, pv_name, errs);
            if let Some(r) = get(v, "secretRef")
                && s(r, "namespace").is_empty()
            {
                let rp = p.child("secretRef");
                required(errs, &rp.child("namespace"), "");
            }
        }
        "azureFile" => {
            validate_one_source(key, v, p, sp, pv_name, errs);
            if get(v, "secretNamespace").and_then(Value::as_str) == Some("") {
                required(errs, &p.child("secretNamespace"), "");
            }
        }
        "local" => {
            let path = s(v, "path");
            if path.is_empty() {
                required(errs, &p.child("path"), "");
            } else {
                no_backsteps(errs, path, &p.child("path"));
            }
        }
        "csi" => {
            let driver = s(v, "driver");
            let dp = p.child("driver");
            if driver.is_empty() {
                required(errs, &dp, "");
            }
            if driver.len() > 63 {
                errs.push(FieldError::too_long(dp.render(), Some(63)));
            }
            let msgs = validation::is_dns1123_subdomain(&driver.to_lowercase());
            if !msgs.is_empty() {
                invalid_msgs(errs, &dp, driver, msgs);
            }
            if s(v, "volumeHandle").is_empty() {
                required(errs, &p.child("volumeHandle"), "");
            }
            for r in [
                "controllerPublishSecretRef",
                "controllerExpandSecretRef",
                "nodePublishSecretRef",
                "nodeExpandSecretRef",
            ] {
                if let Some(sr) = get(v, r) {
                    pv_secret_ref(errs, sr, &p.child(r));
                }
            }
        }
        _ => validate_one_source(key, v, p, sp, pv_name, errs),
    }
}

/// A Go-ish field name for the simplified diff (`accessModes` → `AccessModes`).
fn go_field(k: &str, out: &mut String) {
    let mut chars = k.chars();
    if let Some(c) = chars.next() {
        out.extend(c.to_uppercase());
        out.push_str(chars.as_str());
    }
}

/// A simplified rendering of the `cmp.Diff` kube appends to its immutability messages:
/// one `-`/`+` pair per changed field (go-cmp's own output is deliberately unstable).
fn field_diff(ty: &str, keys: &[&str], old: &Value, new: &Value) -> String {
    let mut out = format!("  {ty}{{\n");
    for k in keys {
        let (o, n) = (get(old, k), get(new, k));
        if o != n {
            for (sign, v) in [('-', o), ('+', n)] {
                out.push(sign);
                out.push_str(" \t");
                go_field(k, &mut out);
                out.push_str(": ");
                out.push_str(&validation::go_json(&v.map(sorted).unwrap_or(Value::Null)));
                out.push_str(",\n");
            }
        }
    }
    out.push_str("  }\n");
    out
}

/// The update-only part of `ValidatePersistentVolumeUpdate`.
pub fn validate_pv_update(new: &Value, old: &Value, errs: &mut Errs) {
    let ns = get(new, "spec").unwrap_or(&Value::Null);
    let os = get(old, "spec").unwrap_or(&Value::Null);
    // A CSI expansion secret may be added later.
    let expand_added = |src: &str| {
        src == "csi"
            && get(os, "csi").is_some_and(|c| get(c, "controllerExpandSecretRef").is_none())
            && get(ns, "csi").is_some_and(|c| get(c, "controllerExpandSecretRef").is_some())
    };
    let mut changed: Vec<&str> = Vec::new();
    for (key, _, _) in PV_SOURCES {
        let (o, n) = (get(os, key), get(ns, key));
        let same = if expand_added(key) {
            match (o.and_then(Value::as_object), n.and_then(Value::as_object)) {
                (Some(o), Some(n)) => {
                    let mut n = n.clone();
                    n.shift_remove("controllerExpandSecretRef");
                    *o == n
                }
                _ => o == n,
            }
        } else {
            o == n
        };
        if !same {
            changed.push(key);
        }
    }
    if !changed.is_empty() {
        let sp = Path::new("spec");
        forbidden(
            errs,
            &sp.child("persistentvolumesource"),
            &format!(
                "spec.persistentvolumesource is immutable after creation\n{}",
                field_diff("core.PersistentVolumeSource", &changed, os, ns)
            ),
        );
    }
    immutable_volume_mode(ns, os, errs);
    immutable_node_affinity(ns, os, errs);
    vac_update(ns, os, false, errs);
}

/// A PV's `nodeAffinity` may be added to a PV that has none, and is then fixed (kube's
/// `validatePvNodeAffinity`; the `MutablePVNodeAffinity` gate that lifts this is alpha and
/// off), reported under `nodeAffinity` as kube does.
fn immutable_node_affinity(ns: &Value, os: &Value, errs: &mut Errs) {
    let Some(old) = get(os, "nodeAffinity") else {
        return;
    };
    let new = get(ns, "nodeAffinity");
    if new != Some(old) {
        invalid(
            errs,
            &Path::new("nodeAffinity"),
            new.cloned().unwrap_or(Value::Null),
            super::IMMUTABLE,
        );
    }
}

/// `ValidateImmutableField(spec.volumeMode)`, reported under `volumeMode` as kube does.
fn immutable_volume_mode(ns: &Value, os: &Value, errs: &mut Errs) {
    let nm = get(ns, "volumeMode");
    if nm != get(os, "volumeMode") {
        invalid(
            errs,
            &Path::new("volumeMode"),
            nm.cloned().unwrap_or(Value::Null),
            super::IMMUTABLE,
        );
    }
}

fn vac_update(ns: &Value, os: &Value, claim: bool, errs: &mut Errs) {
    let nv = get(ns, "volumeAttributesClassName");
    let ov = get(os, "volumeAttributesClassName");
    if nv == ov || ov.is_none() {
        return;
    }
    let sp = Path::new("spec");
    let p = sp.child("volumeAttributesClassName");
    match nv.and_then(Value::as_str) {
        None => forbidden(errs, &p, "update from non-nil value to nil is forbidden"),
        Some("") if claim => forbidden(
            errs,
            &p,
            "update from non-nil value to an empty string is forbidden",
        ),
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------
// PersistentVolumeClaim
// ---------------------------------------------------------------------------------------

/// `ValidatePersistentVolumeClaim` minus metadata (`allow_bad_group`: the old claim already
/// had a data source API group, whose syntax is then not checked).
fn validate_pvc_spec(pvc: &Value, allow_bad_group: bool, errs: &mut Errs) {
    let spec = get(pvc, "spec").unwrap_or(&Value::Null);
    let sp = Path::new("spec");
    if arr(spec, "accessModes").is_empty() {
        required(
            errs,
            &sp.child("accessModes"),
            "at least 1 access mode is required",
        );
    }
    if let Some(sel) = get(spec, "selector") {
        label_selector(errs, sel, &sp.child("selector"));
    }
    access_modes(errs, spec, &sp);

    let rp = sp.child("resources");
    let kp = rp.key("storage");
    let storage = get(spec, "resources")
        .and_then(|r| get(r, "requests"))
        .and_then(|r| get(r, "storage"));
    match storage {
        None => required(errs, &kp, ""),
        Some(q) => {
            if matches!(quantity_sign(q), Some(Ordering::Less | Ordering::Equal)) {
                invalid(errs, &kp, canonical(q), "must be greater than zero");
            }
        }
    }
    let class = s(spec, "storageClassName");
    if !class.is_empty() {
        subdomain(errs, &sp.child("storageClassName"), class);
    }
    if let Some(mode) = get(spec, "volumeMode").and_then(Value::as_str)
        && !VOLUME_MODES.contains(&mode)
    {
        not_supported(errs, &sp.child("volumeMode"), mode, VOLUME_MODES);
    }
    let ds = get(spec, "dataSource");
    let dsr = get(spec, "dataSourceRef");
    if let Some(ds) = ds {
        data_source(errs, ds, &sp.child("dataSource"), allow_bad_group);
    }
    if let Some(r) = dsr {
        let p = sp.child("dataSourceRef");
        data_source(errs, r, &p, allow_bad_group);
        let ns = s(r, "namespace");
        if !ns.is_empty() {
            dns_label(errs, &p.child("namespace"), ns);
        }
    }
    match (ds, dsr) {
        (Some(_), Some(r)) if !s(r, "namespace").is_empty() => invalid_stringer(
            errs,
            &sp,
            "spec.dataSource",
            "may not be specified when dataSourceRef.namespace is specified",
        ),
        (Some(d), Some(r))
            if get(d, "apiGroup") != get(r, "apiGroup")
                || s(d, "kind") != s(r, "kind")
                || s(d, "name") != s(r, "name") =>
        {
            invalid_stringer(errs, &sp, "spec.dataSource", "must match dataSourceRef");
        }
        _ => {}
    }
    if let Some(vac) = get(spec, "volumeAttributesClassName").and_then(Value::as_str)
        && !vac.is_empty()
    {
        subdomain(errs, &sp.child("volumeAttributesClassName"), vac);
    }
}

/// `validateDataSource` / `validateDataSourceRef` (the shared part).
fn data_source(errs: &mut Errs, ds: &Value, p: &Path<'_>, allow_bad_group: bool) {
    if s(ds, "name").is_empty() {
        required(errs, &p.child("name"), "");
    }
    let kind = s(ds, "kind");
    if kind.is_empty() {
        required(errs, &p.child("kind"), "");
    }
    let group = s(ds, "apiGroup");
    if group.is_empty() && kind != "PersistentVolumeClaim" {
        invalid(
            errs,
            p,
            kind,
            "must be 'PersistentVolumeClaim' when referencing the default apiGroup",
        );
    }
    if !group.is_empty() && !allow_bad_group {
        subdomain(errs, &p.child("apiGroup"), group);
    }
}

/// `ValidatePersistentVolumeClaim` minus metadata.
pub fn validate_pvc(pvc: &Value, errs: &mut Errs) {
    validate_pvc_spec(pvc, false, errs);
}

fn annotation<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    lookup(v, "metadata")
        .and_then(|m| obj(m, "annotations"))
        .and_then(|a| a.get(key))
        .and_then(Value::as_str)
}

/// `ValidatePersistentVolumeClaimUpdate` minus metadata: the new claim's own rules, then
/// the spec, which is fixed after creation except for the requested storage of a bound
/// claim, its volume attributes class, a first `volumeName`, and the storage class's move
/// from the beta annotation or from unset.
pub fn validate_pvc_update(new: &Value, old: &Value, errs: &mut Errs) {
    let ns = get(new, "spec").unwrap_or(&Value::Null);
    let os = get(old, "spec").unwrap_or(&Value::Null);
    let had_group = [os.get("dataSource"), os.get("dataSourceRef")]
        .into_iter()
        .flatten()
        .any(|d| get(d, "apiGroup").is_some());
    validate_pvc_spec(new, had_group, errs);

    let old_ann = annotation(old, STORAGE_CLASS_ANNOTATION);
    let new_ann = annotation(new, STORAGE_CLASS_ANNOTATION);
    let old_class = get(os, "storageClassName").and_then(Value::as_str);
    let new_class = get(ns, "storageClassName").and_then(Value::as_str);
    let from_annotation = old_ann.is_some()
        && old_class.is_none()
        && new_class.is_some()
        && new_class == old_ann
        && (new_ann.is_none() || new_ann == old_ann);
    let mut ignore_class = from_annotation;
    if !from_annotation {
        if new_ann != old_ann {
            let mp = Path::new("metadata");
            let ap = mp.child("annotations");
            invalid(
                errs,
                &ap.child(STORAGE_CLASS_ANNOTATION),
                new_ann.unwrap_or(""),
                super::IMMUTABLE,
            );
        }
        ignore_class = new_class.is_some()
            && old_class.is_none()
            && (old_ann.is_none() || new_class == old_ann);
    }
    let bound = get(new, "status").is_some_and(|st| s(st, "phase") == "Bound");
    let old_volume_empty = s(os, "volumeName").is_empty();

    let mut changed: Vec<&str> = Vec::new();
    let keys: Vec<&str> = ns
        .as_object()
        .into_iter()
        .flat_map(|m| m.keys())
        .chain(os.as_object().into_iter().flat_map(|m| m.keys()))
        .map(String::as_str)
        .collect();
    for key in keys {
        if changed.contains(&key) {
            continue;
        }
        let ignored = match key {
            "volumeName" => old_volume_empty,
            "storageClassName" => ignore_class,
            "volumeAttributesClassName" => true,
            _ => false,
        };
        if ignored {
            continue;
        }
        let (n, o) = (get(ns, key), get(os, key));
        let same = if key == "resources" && bound {
            // A bound claim may change its storage request.
            let strip = |r: Option<&Value>| {
                let mut r = r.cloned().unwrap_or(Value::Null);
                if let Some(Value::Object(req)) = r.get_mut("requests") {
                    req.shift_remove("storage");
                }
                r
            };
            n == o || strip(n) == strip(o)
        } else {
            n == o
        };
        if !same {
            changed.push(key);
        }
    }
    if !changed.is_empty() {
        forbidden(
            errs,
            &Path::new("spec"),
            &format!(
                "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims\n{}",
                field_diff("core.PersistentVolumeClaimSpec", &changed, os, ns)
            ),
        );
    }

    let new_size = super::at(ns, &["resources", "requests", "storage"]);
    let old_size = super::at(os, &["resources", "requests", "storage"]);
    if quantity_cmp(new_size, old_size) == Ordering::Less {
        let status_size = get(old, "status")
            .and_then(|st| get(st, "capacity"))
            .and_then(|c| get(c, "storage"));
        if quantity_cmp(new_size, status_size) != Ordering::Greater {
            let sp = Path::new("spec");
            let rp = sp.child("resources");
            let qp = rp.child("requests");
            forbidden(
                errs,
                &qp.child("storage"),
                "field can not be less than status.capacity",
            );
        }
    }
    immutable_volume_mode(ns, os, errs);
    vac_update(ns, os, true, errs);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(f: fn(&Value, &mut Errs), v: Value) -> Vec<String> {
        let mut errs = Vec::new();
        f(&v, &mut errs);
        errs.iter().map(|e| e.to_string()).collect()
    }

    fn pv(spec: Value) -> Value {
        let mut base = json!({"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
            "persistentVolumeReclaimPolicy": "Retain", "volumeMode": "Filesystem",
            "hostPath": {"path": "/data", "type": ""}});
        if let (Value::Object(m), Value::Object(x)) = (&mut base, spec) {
            for (k, v) in x {
                if v.is_null() {
                    m.shift_remove(&k);
                } else {
                    m.insert(k, v);
                }
            }
        }
        json!({"metadata": {"name": "pv"}, "spec": base})
    }

    fn pvc(spec: Value) -> Value {
        let mut base = json!({"accessModes": ["ReadWriteOnce"], "volumeMode": "Filesystem",
            "resources": {"requests": {"storage": "1Gi"}}});
        if let (Value::Object(m), Value::Object(x)) = (&mut base, spec) {
            for (k, v) in x {
                if v.is_null() {
                    m.shift_remove(&k);
                } else {
                    m.insert(k, v);
                }
            }
        }
        json!({"metadata": {"name": "c"}, "spec": base, "status": {"phase": "Pending"}})
    }

    #[test]
    fn valid_volumes_pass() {
        assert!(run(validate_pv, pv(json!({}))).is_empty());
        assert!(
            run(
                validate_pv,
                pv(
                    json!({"hostPath": null, "csi": {"driver": "ebs.csi.aws.com", "volumeHandle": "v-1"}, "storageClassName": "fast"})
                )
            )
            .is_empty()
        );
        assert!(run(validate_pvc, pvc(json!({"storageClassName": "standard"}))).is_empty());
    }

    #[test]
    fn pv_node_affinity() {
        assert_eq!(
            run(validate_pv, pv(json!({"nodeAffinity": {}}))),
            vec![
                "spec.nodeAffinity.required: Required value: must specify required node constraints"
            ]
        );
        assert_eq!(
            run(
                validate_pv,
                pv(json!({"nodeAffinity": {"required": {"nodeSelectorTerms": []}}}))
            ),
            vec![
                "spec.nodeAffinity.required.nodeSelectorTerms: Required value: must have at least one node selector term"
            ]
        );
        assert_eq!(
            run(
                validate_pv,
                pv(json!({"nodeAffinity": {"required": {"nodeSelectorTerms": [
                    {"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "In"}],
                     "matchFields": [{"key": "metadata.name", "operator": "Exists"}]}]}}}))
            ),
            vec![
                "spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'",
                "spec.nodeAffinity.required.nodeSelectorTerms[0].matchFields[0].operator: Invalid value: \"Exists\": not a valid selector operator",
            ]
        );
        let ok = json!({"nodeAffinity": {"required": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "In", "values": ["node-1"]}]}]}}});
        assert!(run(validate_pv, pv(ok)).is_empty());
    }

    #[test]
    fn pv_rules() {
        assert_eq!(
            run(
                validate_pv,
                pv(json!({"accessModes": null, "capacity": null, "hostPath": null}))
            ),
            vec![
                "spec.accessModes: Required value",
                "spec.capacity: Required value",
                "spec.capacity: Unsupported value: null: supported values: \"storage\"",
                "spec: Required value: must specify a volume type",
            ]
        );
        assert_eq!(
            run(
                validate_pv,
                pv(
                    json!({"accessModes": ["ReadWriteOncePod", "ReadWriteOnce", "Sometimes"],
                    "capacity": {"storage": "0", "cpu": "1"},
                    "persistentVolumeReclaimPolicy": "Keep", "volumeMode": "Raw",
                    "storageClassName": "Fast"})
                )
            ),
            vec![
                "spec.accessModes: Unsupported value: \"Sometimes\": supported values: \"ReadOnlyMany\", \"ReadWriteMany\", \"ReadWriteOnce\", \"ReadWriteOncePod\"",
                "spec.accessModes: Forbidden: may not use ReadWriteOncePod with other access modes",
                "spec.capacity: Unsupported value: {\"cpu\":\"1\",\"storage\":\"0\"}: supported values: \"storage\"",
                "spec.capacity[storage]: Invalid value: \"0\": must be greater than zero",
                "spec.persistentVolumeReclaimPolicy: Unsupported value: \"Keep\": supported values: \"Delete\", \"Recycle\", \"Retain\"",
                "spec.storageClassName: Invalid value: \"Fast\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
                "spec.volumeMode: Unsupported value: \"Raw\": supported values: \"Block\", \"Filesystem\"",
            ]
        );
        assert_eq!(
            run(
                validate_pv,
                pv(
                    json!({"nfs": {"server": "s", "path": "/x"}, "csi": {"driver": "", "volumeHandle": ""}})
                )
            ),
            vec![
                "spec.nfs: Forbidden: may not specify more than 1 volume type",
                "spec.csi: Forbidden: may not specify more than 1 volume type",
            ]
        );
        assert_eq!(
            run(
                validate_pv,
                pv(json!({"hostPath": null, "local": {"path": "/mnt/../x"}}))
            ),
            vec![
                "spec.local.path: Invalid value: \"/mnt/../x\": must not contain '..'",
                "spec.nodeAffinity: Required value: Local volume requires node affinity",
            ]
        );
        assert_eq!(
            run(
                validate_pv,
                pv(json!({"persistentVolumeReclaimPolicy": "Recycle", "hostPath": {"path": "//"}}))
            ),
            vec![
                "spec.persistentVolumeReclaimPolicy: Forbidden: may not be 'recycle' for a hostPath mount of '/'"
            ]
        );
        assert_eq!(
            run(
                validate_pv,
                pv(
                    json!({"hostPath": null, "csi": {"driver": "d.io", "volumeHandle": "h",
                    "nodePublishSecretRef": {"name": "s"}}, "volumeAttributesClassName": ""})
                )
            ),
            vec![
                "spec.csi.nodePublishSecretRef.namespace: Required value",
                "spec.volumeAttributesClassName: Required value: an empty string is disallowed",
            ]
        );
    }

    #[test]
    fn pv_source_is_fixed() {
        let old = pv(json!({}));
        let new = pv(json!({"hostPath": {"path": "/other", "type": ""}, "volumeMode": "Block"}));
        let mut errs = Vec::new();
        validate_pv_update(&new, &old, &mut errs);
        let got: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(
            got[0].starts_with(
                "spec.persistentvolumesource: Forbidden: spec.persistentvolumesource is immutable after creation\n"
            ),
            "{got:?}"
        );
        assert_eq!(
            got[1],
            "volumeMode: Invalid value: \"Block\": field is immutable"
        );
    }

    #[test]
    fn pv_node_affinity_is_set_once() {
        let affinity = |zone: &str| {
            json!({"required": {"nodeSelectorTerms": [{"matchExpressions": [
                {"key": "zone", "operator": "In", "values": [zone]}]}]}})
        };
        let with = |a: Value| pv(json!({ "nodeAffinity": a }));
        let errs_of = |new: &Value, old: &Value| {
            let mut errs = Vec::new();
            validate_pv_update(new, old, &mut errs);
            errs.iter().map(|e| e.to_string()).collect::<Vec<_>>()
        };
        // Added to a PV without one: allowed; unchanged: allowed.
        assert!(errs_of(&with(affinity("a")), &pv(json!({}))).is_empty());
        assert!(errs_of(&with(affinity("a")), &with(affinity("a"))).is_empty());
        // Changed or removed: immutable.
        let changed = errs_of(&with(affinity("b")), &with(affinity("a")));
        assert_eq!(changed.len(), 1, "{changed:?}");
        assert!(
            changed[0].starts_with("nodeAffinity: Invalid value: ")
                && changed[0].ends_with(": field is immutable"),
            "{changed:?}"
        );
        assert_eq!(
            errs_of(&pv(json!({})), &with(affinity("a"))),
            vec!["nodeAffinity: Invalid value: null: field is immutable"]
        );
    }

    #[test]
    fn pvc_rules() {
        assert_eq!(
            run(
                validate_pvc,
                pvc(json!({"accessModes": null, "resources": null}))
            ),
            vec![
                "spec.accessModes: Required value: at least 1 access mode is required",
                "spec.resources[storage]: Required value",
            ]
        );
        assert_eq!(
            run(
                validate_pvc,
                pvc(json!({"resources": {"requests": {"storage": "0"}},
                    "selector": {"matchExpressions": [{"key": "a", "operator": "In"}]},
                    "dataSource": {"kind": "Snap", "name": "s"}}))
            ),
            vec![
                "spec.selector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'",
                "spec.resources[storage]: Invalid value: \"0\": must be greater than zero",
                "spec.dataSource: Invalid value: \"Snap\": must be 'PersistentVolumeClaim' when referencing the default apiGroup",
            ]
        );
        assert_eq!(
            run(
                validate_pvc,
                pvc(
                    json!({"dataSource": {"kind": "PersistentVolumeClaim", "name": "a"},
                    "dataSourceRef": {"kind": "PersistentVolumeClaim", "name": "b"}})
                )
            ),
            vec!["spec: Invalid value: spec.dataSource: must match dataSourceRef"]
        );
    }

    #[test]
    fn pvc_updates() {
        let old = pvc(json!({}));
        // Unbound: the request may not change.
        let new = pvc(json!({"resources": {"requests": {"storage": "2Gi"}}}));
        let mut errs = Vec::new();
        validate_pvc_update(&new, &old, &mut errs);
        assert_eq!(errs.len(), 1);
        assert!(errs[0].to_string().starts_with(
            "spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims\n"
        ));
        // Bound: it may grow, not shrink below the capacity.
        let mut bound_old = old.clone();
        bound_old["status"] = json!({"phase": "Bound", "capacity": {"storage": "1Gi"}});
        let mut bound_new = new.clone();
        bound_new["status"] = json!({"phase": "Bound"});
        let mut errs = Vec::new();
        validate_pvc_update(&bound_new, &bound_old, &mut errs);
        assert!(errs.is_empty(), "{errs:?}");
        bound_new["spec"]["resources"]["requests"]["storage"] = json!("512Mi");
        let mut errs = Vec::new();
        validate_pvc_update(&bound_new, &bound_old, &mut errs);
        assert_eq!(
            errs.iter().map(|e| e.to_string()).collect::<Vec<_>>(),
            vec![
                "spec.resources.requests.storage: Forbidden: field can not be less than status.capacity"
            ]
        );
        // volumeName may be set once; storageClassName may move from unset.
        let new = pvc(json!({"volumeName": "pv-1", "storageClassName": "x"}));
        let mut errs = Vec::new();
        validate_pvc_update(&new, &old, &mut errs);
        assert!(errs.is_empty(), "{errs:?}");
        let new = pvc(json!({"volumeMode": "Block"}));
        let mut errs = Vec::new();
        validate_pvc_update(&new, &old, &mut errs);
        assert_eq!(
            errs.last().map(|e| e.to_string()).as_deref(),
            Some("volumeMode: Invalid value: \"Block\": field is immutable")
        );
    }
}
