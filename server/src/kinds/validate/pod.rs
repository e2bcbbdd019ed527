//! Pods, pod templates and every pod spec inside workloads: kube's `ValidatePodCreate`,
//! `ValidatePodSpec`, `ValidatePodTemplateSpec` and the container, volume, port, env, probe,
//! resource and toleration checks they call (`pkg/apis/core/validation`).

use kiln_runtime::Quantity;
use serde_json::Value;

use super::{
    ByName, Errs, Path, annotations, arr, duplicate, flag, forbidden, get, int, invalid,
    invalid_msgs, label_name, labels, nonnegative, not_found, not_supported, obj, required, s,
    same_key,
};
use crate::validation::{self, FieldError};

/// How a pod spec is being validated.
#[derive(Clone, Copy)]
pub struct PodOpts {
    /// The top-level object is a Pod (not a template inside another kind).
    pub is_pod: bool,
}

const FILE_MODE_MSG: &str = "must be a number between 0 and 0777 (octal), both inclusive";
const PORT_RANGE_MSG: &str = "must be between 1 and 65535, inclusive";
const PROTOCOLS: &[&str] = &["SCTP", "TCP", "UDP"];

/// `ValidatePodCreate` minus metadata (checked by the store).
pub fn validate_pod(pod: &Value, errs: &mut Errs) {
    validate_pod_fields(pod, errs);
    let spec = get(pod, "spec").unwrap_or(&Value::Null);
    let sp = Path::new("spec");
    if !arr(spec, "ephemeralContainers").is_empty() {
        forbidden(
            errs,
            &sp.child("ephemeralContainers"),
            "cannot be set on create",
        );
    }
    if !s(spec, "nodeName").is_empty() && !arr(spec, "schedulingGates").is_empty() {
        forbidden(
            errs,
            &sp.child("nodeName"),
            "cannot be set until all schedulingGates have been cleared",
        );
    }
}

/// `validatePodMetadataAndSpec` minus `ValidateObjectMeta`.
pub fn validate_pod_fields(pod: &Value, errs: &mut Errs) {
    let spec = get(pod, "spec").unwrap_or(&Value::Null);
    let sp = Path::new("spec");
    validate_pod_spec(spec, &sp, PodOpts { is_pod: true }, errs);
    if s(spec, "serviceAccountName").is_empty() {
        let vols = sp.child("volumes");
        for (vi, v) in arr(spec, "volumes").iter().enumerate() {
            let Some(projected) = get(v, "projected") else {
                continue;
            };
            let vp = vols.index(vi);
            let pp = vp.child("projected");
            let sources = pp.child("sources");
            for (si, src) in arr(projected, "sources").iter().enumerate() {
                if get(src, "serviceAccountToken").is_some() {
                    forbidden(
                        errs,
                        &sources.index(si).child("serviceAccountToken"),
                        "must not be specified when serviceAccountName is not set",
                    );
                }
            }
        }
    }
    for list in ["containers", "initContainers"] {
        let lp = sp.child(list);
        for (i, c) in arr(spec, list).iter().enumerate() {
            let image = s(c, "image");
            if image.len() != image.trim().len() {
                invalid(
                    errs,
                    &lp.index(i).child("image"),
                    image,
                    "must not have leading or trailing whitespace",
                );
            }
        }
    }
}

/// `ValidatePodTemplate` (the PodTemplate kind) minus metadata.
pub fn validate_pod_template(obj: &Value, errs: &mut Errs) {
    let t = get(obj, "template").unwrap_or(&Value::Null);
    validate_pod_template_spec(t, &Path::new("template"), errs);
}

/// `ValidatePodTemplateSpec`: template labels and annotations, the pod spec, no ephemeral
/// containers.
pub fn validate_pod_template_spec(t: &Value, p: &Path<'_>, errs: &mut Errs) {
    let meta = get(t, "metadata").unwrap_or(&Value::Null);
    labels(errs, get(meta, "labels"), &p.child("labels"));
    annotations(errs, get(meta, "annotations"), &p.child("annotations"));
    let spec = get(t, "spec").unwrap_or(&Value::Null);
    let spec_path = p.child("spec");
    validate_pod_spec(spec, &spec_path, PodOpts { is_pod: false }, errs);
    if !arr(spec, "ephemeralContainers").is_empty() {
        forbidden(
            errs,
            &spec_path.child("ephemeralContainers"),
            "ephemeral containers not allowed in pod template",
        );
    }
}

/// `ValidatePodUpdate` beyond the new object's own checks: container count, and a spec that
/// changes only the mutable fields.
pub fn validate_pod_update(new: &Value, old: &Value, errs: &mut Errs) {
    let ns = get(new, "spec").unwrap_or(&Value::Null);
    let os = get(old, "spec").unwrap_or(&Value::Null);
    let sp = Path::new("spec");
    for list in ["containers", "initContainers"] {
        if arr(ns, list).len() != arr(os, list).len() {
            forbidden(
                errs,
                &sp.child(list),
                "pod updates may not add or remove containers",
            );
            return;
        }
    }
    let mut munged = ns.clone();
    if let (Value::Object(m), Value::Object(o)) = (&mut munged, os) {
        for list in ["containers", "initContainers"] {
            if let (Some(Value::Array(nc)), Some(Value::Array(oc))) = (m.get_mut(list), o.get(list))
            {
                for (n, o) in nc.iter_mut().zip(oc) {
                    if let (Value::Object(n), Some(img)) = (n, o.get("image")) {
                        n.insert("image".into(), img.clone());
                    }
                }
            }
        }
        for f in [
            "activeDeadlineSeconds",
            "tolerations",
            "terminationGracePeriodSeconds",
            "schedulingGates",
        ] {
            match o.get(f) {
                Some(v) => {
                    m.insert(f.into(), v.clone());
                }
                None => {
                    m.shift_remove(f);
                }
            }
        }
    }
    if &munged != os {
        forbidden(
            errs,
            &sp,
            "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)\n",
        );
    }
}

/// `ValidatePodSpec`.
pub fn validate_pod_spec(spec: &Value, p: &Path<'_>, opts: PodOpts, errs: &mut Errs) {
    let grace = int(spec, "terminationGracePeriodSeconds");
    if get(spec, "terminationGracePeriodSeconds").is_none() {
        required(errs, &p.child("terminationGracePeriodSeconds"), "");
    }
    let volumes = validate_volumes(spec, &p.child("volumes"), errs);
    let claim_names: Vec<&str> = arr(spec, "resourceClaims")
        .iter()
        .map(|c| s(c, "name"))
        .filter(|n| !n.is_empty())
        .collect();
    validate_resource_claims(spec, &p.child("resourceClaims"), errs);
    let restart = s(spec, "restartPolicy");
    let ctx = Ctx {
        volumes: &volumes,
        claims: &claim_names,
        grace,
        restart,
    };
    validate_containers(spec, &ctx, &p.child("containers"), errs);
    validate_init_containers(spec, &ctx, &p.child("initContainers"), errs);
    validate_ephemeral_containers(spec, &ctx, &p.child("ephemeralContainers"), errs);
    host_network_deps(spec, p, opts, errs);
    match restart {
        "Always" | "OnFailure" | "Never" => {}
        "" => required(errs, &p.child("restartPolicy"), ""),
        other => not_supported(
            errs,
            &p.child("restartPolicy"),
            other,
            &["Always", "OnFailure", "Never"],
        ),
    }
    let dns_policy = s(spec, "dnsPolicy");
    match dns_policy {
        "ClusterFirstWithHostNet" | "ClusterFirst" | "Default" | "None" => {}
        "" => required(errs, &p.child("dnsPolicy"), ""),
        other => not_supported(
            errs,
            &p.child("dnsPolicy"),
            other,
            &["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"],
        ),
    }
    labels(errs, get(spec, "nodeSelector"), &p.child("nodeSelector"));
    validate_pod_security_context(spec, p, errs);
    for (i, sec) in arr(spec, "imagePullSecrets").iter().enumerate() {
        if sec
            .as_object()
            .is_some_and(|m| m.keys().any(|k| k != "name"))
        {
            invalid(
                errs,
                &p.child("imagePullSecrets").index(i),
                sec.clone(),
                "only name may be set",
            );
        }
    }
    if let Some(aff) = get(spec, "affinity") {
        super::affinity::affinity(errs, aff, &p.child("affinity"));
    }
    validate_dns_config(spec, dns_policy, &p.child("dnsConfig"), errs);
    let rg = p.child("readinessGates");
    for (i, g) in arr(spec, "readinessGates").iter().enumerate() {
        let ip = rg.index(i);
        label_name(errs, s(g, "conditionType"), &ip.child("conditionType"));
    }
    let sg = p.child("schedulingGates");
    let gates = arr(spec, "schedulingGates");
    for (i, g) in gates.iter().enumerate() {
        let name = s(g, "name");
        label_name(errs, name, &sg.index(i));
        if gates[..i].iter().any(|o| s(o, "name") == name) {
            duplicate(errs, &sg.index(i), name);
        }
    }
    super::affinity::topology_spread_constraints(
        errs,
        arr(spec, "topologySpreadConstraints"),
        &p.child("topologySpreadConstraints"),
    );
    if let Some(sa) = get(spec, "serviceAccountName").and_then(Value::as_str)
        && !sa.is_empty()
    {
        invalid_msgs(
            errs,
            &p.child("serviceAccountName"),
            sa,
            validation::is_dns1123_subdomain(sa),
        );
    }
    let node = s(spec, "nodeName");
    if !node.is_empty() {
        invalid_msgs(
            errs,
            &p.child("nodeName"),
            node,
            validation::is_dns1123_subdomain(node),
        );
    }
    if let Some(ads) = int(spec, "activeDeadlineSeconds")
        && !(1..=i64::from(i32::MAX)).contains(&ads)
    {
        invalid(
            errs,
            &p.child("activeDeadlineSeconds"),
            ads,
            "must be between 1 and 2147483647, inclusive",
        );
    }
    for f in ["hostname", "subdomain"] {
        let v = s(spec, f);
        if !v.is_empty() {
            invalid_msgs(errs, &p.child(f), v, validation::is_dns1123_label(v));
        }
    }
    validate_tolerations(arr(spec, "tolerations"), &p.child("tolerations"), errs);
    let pcn = s(spec, "priorityClassName");
    if !pcn.is_empty() {
        invalid_msgs(
            errs,
            &p.child("priorityClassName"),
            pcn,
            validation::is_dns1123_subdomain(pcn),
        );
    }
    if let Some(rc) = get(spec, "runtimeClassName").and_then(Value::as_str) {
        invalid_msgs(
            errs,
            &p.child("runtimeClassName"),
            rc,
            validation::is_dns1123_subdomain(rc),
        );
    }
    if let Some(pp) = get(spec, "preemptionPolicy").and_then(Value::as_str) {
        match pp {
            "PreemptLowerPriority" | "Never" => {}
            "" => required(errs, &p.child("preemptionPolicy"), ""),
            other => not_supported(
                errs,
                &p.child("preemptionPolicy"),
                other,
                &["PreemptLowerPriority", "Never"],
            ),
        }
    }
    if let Some(os) = get(spec, "os") {
        let name = s(os, "name");
        let op = p.child("os");
        if name.is_empty() {
            required(errs, &op.child("name"), "");
        } else if name != "linux" && name != "windows" {
            not_supported(errs, &op.child("name"), name, &["linux", "windows"]);
        }
    }
}

struct Ctx<'a> {
    /// The valid volumes by name.
    volumes: &'a ByName<'a, &'a Value>,
    claims: &'a [&'a str],
    grace: Option<i64>,
    restart: &'a str,
}

impl<'a> Ctx<'a> {
    fn volume(&self, name: &str) -> Option<&'a Value> {
        self.volumes.get(name).copied()
    }
}

// ---------------------------------------------------------------------------------------
// Volumes
// ---------------------------------------------------------------------------------------

/// `ValidateVolumes`: returns the valid volumes by name.
fn validate_volumes<'v>(spec: &'v Value, p: &Path<'_>, errs: &mut Errs) -> ByName<'v, &'v Value> {
    let vols = arr(spec, "volumes");
    let mut ok = ByName::with_capacity(vols.len());
    for (i, v) in vols.iter().enumerate() {
        let ip = p.index(i);
        let name = s(v, "name");
        let before = errs.len();
        validate_volume_source(v, &ip, name, errs);
        let np = ip.child("name");
        if name.is_empty() {
            required(errs, &np, "");
        } else {
            let msgs = validation::is_dns1123_label(name);
            if !msgs.is_empty() {
                invalid_msgs(errs, &np, name, msgs);
            }
        }
        // kube's `allNames` holds only the names of volumes without errors.
        if ok.contains(name) {
            duplicate(errs, &np, name);
        } else if errs.len() == before {
            ok.insert(name, v);
        }
    }
    ok
}

const VOLUME_SOURCES: &[&str] = &[
    "emptyDir",
    "hostPath",
    "gitRepo",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "secret",
    "nfs",
    "iscsi",
    "glusterfs",
    "flocker",
    "persistentVolumeClaim",
    "rbd",
    "cinder",
    "cephfs",
    "quobyte",
    "downwardAPI",
    "fc",
    "flexVolume",
    "configMap",
    "azureFile",
    "vsphereVolume",
    "photonPersistentDisk",
    "portworxVolume",
    "azureDisk",
    "storageos",
    "projected",
    "scaleIO",
    "csi",
    "ephemeral",
    "image",
];

/// `validateVolumeSource`: exactly one source, each checked in kube's order.
fn validate_volume_source(v: &Value, p: &Path<'_>, vol_name: &str, errs: &mut Errs) {
    // The sources present, in kube's checking order (one pass over the volume's keys).
    // Indexed by the source's place in `VOLUME_SOURCES` (no allocation per volume).
    let mut present: [Option<&Value>; VOLUME_SOURCES.len()] = [None; VOLUME_SOURCES.len()];
    if let Some(m) = v.as_object() {
        for (k, sv) in m {
            if sv.is_null() {
                continue;
            }
            if let Some(i) = VOLUME_SOURCES.iter().position(|s| same_key(s, k)) {
                present[i] = Some(sv);
            }
        }
    }
    let mut n = 0;
    for (src, sv) in VOLUME_SOURCES.iter().zip(present) {
        let Some(sv) = sv else { continue };
        // kube's Forbidden paths for the second source (two spellings differ from the key).
        let forbid_name = match *src {
            "cephfs" => "cephFS",
            "downwardAPI" => "downwarAPI",
            other => other,
        };
        if n > 0 {
            forbidden(
                errs,
                &p.child(forbid_name),
                "may not specify more than 1 volume type",
            );
            continue;
        }
        n += 1;
        let sp_name = match *src {
            "gcePersistentDisk" => "persistentDisk",
            other => other,
        };
        let sp = p.child(sp_name);
        validate_one_source(src, sv, &sp, p, vol_name, errs);
    }
    if n == 0 {
        required(errs, p, "must specify a volume type");
    }
}

fn require_str(errs: &mut Errs, v: &Value, p: &Path<'_>, fields: &[&str]) {
    for f in fields {
        if s(v, f).is_empty() {
            required(errs, &p.child(f), "");
        }
    }
}

fn file_mode(errs: &mut Errs, v: &Value, key: &str, p: &Path<'_>) {
    if let Some(m) = int(v, key)
        && !(0..=0o777).contains(&m)
    {
        invalid(errs, &p.child(key), m, FILE_MODE_MSG);
    }
}

pub(crate) fn validate_one_source(
    src: &str,
    v: &Value,
    sp: &Path<'_>,
    vol_path: &Path<'_>,
    vol_name: &str,
    errs: &mut Errs,
) {
    match src {
        "emptyDir" => {
            if let Some(q) = get(v, "sizeLimit").and_then(quantity)
                && q.sign() < 0
            {
                forbidden(
                    errs,
                    &sp.child("sizeLimit"),
                    "SizeLimit field must be a valid resource quantity",
                );
            }
        }
        "hostPath" => {
            let path = s(v, "path");
            if path.is_empty() {
                required(errs, &sp.child("path"), "");
                return;
            }
            no_backsteps(errs, path, &sp.child("path"));
            if let Some(t) = get(v, "type").and_then(Value::as_str) {
                const TYPES: &[&str] = &[
                    "",
                    "BlockDevice",
                    "CharDevice",
                    "Directory",
                    "DirectoryOrCreate",
                    "File",
                    "FileOrCreate",
                    "Socket",
                ];
                if !TYPES.contains(&t) {
                    not_supported(errs, &sp.child("type"), t, TYPES);
                }
            }
        }
        "gitRepo" => {
            require_str(errs, v, sp, &["repository"]);
            local_descending_path(errs, s(v, "directory"), &sp.child("directory"));
        }
        "gcePersistentDisk" => {
            require_str(errs, v, sp, &["pdName"]);
            partition(errs, v, sp);
        }
        "awsElasticBlockStore" => {
            require_str(errs, v, sp, &["volumeID"]);
            partition(errs, v, sp);
        }
        "secret" => {
            require_str(errs, v, sp, &["secretName"]);
            file_mode(errs, v, "defaultMode", sp);
            key_to_paths(errs, v, sp);
        }
        "configMap" => {
            require_str(errs, v, sp, &["name"]);
            file_mode(errs, v, "defaultMode", sp);
            key_to_paths(errs, v, sp);
        }
        "nfs" => {
            require_str(errs, v, sp, &["server", "path"]);
            let path = s(v, "path");
            if !path.starts_with('/') {
                invalid(errs, &sp.child("path"), path, "must be an absolute path");
            }
        }
        "iscsi" => {
            require_str(errs, v, sp, &["targetPortal", "iqn"]);
            if let Some(lun) = int(v, "lun")
                && !(0..=255).contains(&lun)
            {
                invalid(
                    errs,
                    &sp.child("lun"),
                    lun,
                    "must be between 0 and 255, inclusive",
                );
            }
            if (flag(v, "chapAuthDiscovery") || flag(v, "chapAuthSession"))
                && get(v, "secretRef").is_none()
            {
                required(errs, &sp.child("secretRef"), "");
            }
            if get(v, "initiatorName").is_some()
                && vol_name.len() + 1 + s(v, "targetPortal").len() > 64
            {
                invalid(
                    errs,
                    &vol_path.child("name"),
                    vol_name,
                    "Total length of <volume name>:<iscsi.targetPortal> must be under 64 characters if iscsi.initiatorName is specified.",
                );
            }
        }
        "glusterfs" => require_str(errs, v, sp, &["endpoints", "path"]),
        "flocker" => {
            let name = s(v, "datasetName");
            let uuid = s(v, "datasetUUID");
            if name.is_empty() && uuid.is_empty() {
                required(errs, sp, "one of datasetName and datasetUUID is required");
            }
            if !name.is_empty() && !uuid.is_empty() {
                invalid(
                    errs,
                    sp,
                    "resource",
                    "datasetName and datasetUUID can not be specified simultaneously",
                );
            }
            if name.contains('/') {
                invalid(errs, &sp.child("datasetName"), name, "must not contain '/'");
            }
        }
        "persistentVolumeClaim" => require_str(errs, v, sp, &["claimName"]),
        "rbd" => {
            if arr(v, "monitors").is_empty() {
                required(errs, &sp.child("monitors"), "");
            }
            require_str(errs, v, sp, &["image"]);
        }
        "cinder" => {
            require_str(errs, v, sp, &["volumeID"]);
            if let Some(r) = get(v, "secretRef")
                && s(r, "name").is_empty()
            {
                required(errs, &sp.child("secretRef").child("name"), "");
            }
        }
        "cephfs" if arr(v, "monitors").is_empty() => {
            required(errs, &sp.child("monitors"), "");
        }
        "quobyte" => {
            if s(v, "registry").is_empty() {
                required(
                    errs,
                    &sp.child("registry"),
                    "must be a host:port pair or multiple pairs separated by commas",
                );
            }
            require_str(errs, v, sp, &["volume"]);
        }
        "downwardAPI" => {
            file_mode(errs, v, "defaultMode", sp);
            for item in arr(v, "items") {
                downward_api_file(errs, item, sp);
            }
        }
        "fc" => {
            let wwns = arr(v, "targetWWNs");
            let wwids = arr(v, "wwids");
            if wwns.is_empty() && wwids.is_empty() {
                required(
                    errs,
                    &sp.child("targetWWNs"),
                    "must specify either targetWWNs or wwids, but not both",
                );
            }
            if !wwns.is_empty() && !wwids.is_empty() {
                invalid(
                    errs,
                    &sp.child("targetWWNs"),
                    Value::Array(wwns.to_vec()),
                    "targetWWNs and wwids can not be specified simultaneously",
                );
            }
            if !wwns.is_empty() {
                match int(v, "lun") {
                    None => required(
                        errs,
                        &sp.child("lun"),
                        "lun is required if targetWWNs is specified",
                    ),
                    Some(l) if !(0..=255).contains(&l) => invalid(
                        errs,
                        &sp.child("lun"),
                        l,
                        "must be between 0 and 255, inclusive",
                    ),
                    _ => {}
                }
            }
        }
        "flexVolume" => {
            require_str(errs, v, sp, &["driver"]);
            if let Some(opts) = obj(v, "options") {
                let op = sp.child("options");
                for k in opts.keys() {
                    let ns = k.split_once('/').map_or(k.as_str(), |(a, _)| a);
                    let norm = format!(".{}", ns.to_lowercase());
                    if norm.ends_with(".kubernetes.io") || norm.ends_with(".k8s.io") {
                        invalid(
                            errs,
                            &op.key(k),
                            k.as_str(),
                            "kubernetes.io and k8s.io namespaces are reserved",
                        );
                    }
                }
            }
        }
        "azureFile" => require_str(errs, v, sp, &["secretName", "shareName"]),
        "vsphereVolume" => require_str(errs, v, sp, &["volumePath"]),
        "photonPersistentDisk" => require_str(errs, v, sp, &["pdID"]),
        "portworxVolume" => require_str(errs, v, sp, &["volumeID"]),
        "azureDisk" => require_str(errs, v, sp, &["diskName", "diskURI"]),
        "storageos" => {
            let name = s(v, "volumeName");
            if name.is_empty() {
                required(errs, &sp.child("volumeName"), "");
            } else {
                invalid_msgs(
                    errs,
                    &sp.child("volumeName"),
                    name,
                    validation::is_dns1123_label(name),
                );
            }
            let ns = s(v, "volumeNamespace");
            if !ns.is_empty() {
                invalid_msgs(
                    errs,
                    &sp.child("volumeNamespace"),
                    ns,
                    validation::is_dns1123_label(ns),
                );
            }
        }
        "projected" => {
            file_mode(errs, v, "defaultMode", sp);
            projected_sources(errs, v, sp);
        }
        "scaleIO" => require_str(errs, v, sp, &["gateway", "system", "volumeName"]),
        "csi" => {
            let driver = s(v, "driver");
            let dp = sp.child("driver");
            if driver.is_empty() {
                required(errs, &dp, "");
            }
            if driver.len() > 63 {
                errs.push(FieldError::too_long(dp.render(), Some(63)));
            }
            invalid_msgs(
                errs,
                &dp,
                driver,
                validation::is_dns1123_subdomain(&driver.to_lowercase()),
            );
            if let Some(r) = get(v, "nodePublishSecretRef") {
                let name = s(r, "name");
                if name.is_empty() {
                    required(errs, &sp.child("nodePublishSecretRef").child("name"), "");
                } else {
                    invalid_msgs(
                        errs,
                        &sp.child("name"),
                        name,
                        validation::is_dns1123_subdomain(name),
                    );
                }
            }
        }
        "ephemeral" if get(v, "volumeClaimTemplate").is_none() => {
            required(errs, &sp.child("volumeClaimTemplate"), "");
        }
        _ => {}
    }
}

fn partition(errs: &mut Errs, v: &Value, sp: &Path<'_>) {
    if let Some(pt) = int(v, "partition")
        && !(0..=255).contains(&pt)
    {
        invalid(
            errs,
            &sp.child("partition"),
            pt,
            "must be between 1 and 255, inclusive",
        );
    }
}

fn key_to_paths(errs: &mut Errs, v: &Value, sp: &Path<'_>) {
    let items = sp.child("items");
    for (i, kp) in arr(v, "items").iter().enumerate() {
        key_to_path(errs, kp, &items.index(i));
    }
}

/// `validateKeyToPath`.
fn key_to_path(errs: &mut Errs, kp: &Value, p: &Path<'_>) {
    if s(kp, "key").is_empty() {
        required(errs, &p.child("key"), "");
    }
    let path = s(kp, "path");
    if path.is_empty() {
        required(errs, &p.child("path"), "");
    }
    local_non_reserved_path(errs, path, &p.child("path"));
    file_mode(errs, kp, "mode", p);
}

const VOLUME_FIELD_PATHS: &[&str] = &[
    "metadata.annotations",
    "metadata.labels",
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
];
const ENV_FIELD_PATHS: &[&str] = &[
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "spec.nodeName",
    "spec.serviceAccountName",
    "status.hostIP",
    "status.hostIPs",
    "status.podIP",
    "status.podIPs",
];
const RESOURCE_FIELD_PATHS: &[&str] = &[
    "limits.cpu",
    "limits.ephemeral-storage",
    "limits.memory",
    "requests.cpu",
    "requests.ephemeral-storage",
    "requests.memory",
];

/// `validateDownwardAPIVolumeFile` (errors are reported on the volume source path, as kube
/// does).
fn downward_api_file(errs: &mut Errs, f: &Value, p: &Path<'_>) {
    let path = s(f, "path");
    if path.is_empty() {
        required(errs, &p.child("path"), "");
    }
    local_non_reserved_path(errs, path, &p.child("path"));
    if let Some(fr) = get(f, "fieldRef") {
        object_field_selector(errs, fr, VOLUME_FIELD_PATHS, &p.child("fieldRef"));
        if get(f, "resourceFieldRef").is_some() {
            invalid(
                errs,
                p,
                "resource",
                "fieldRef and resourceFieldRef can not be specified simultaneously",
            );
        }
    } else if let Some(rf) = get(f, "resourceFieldRef") {
        resource_field_selector(errs, rf, &p.child("resourceFieldRef"), true);
    } else {
        required(errs, p, "one of fieldRef and resourceFieldRef is required");
    }
    file_mode(errs, f, "mode", p);
}

fn projected_sources(errs: &mut Errs, v: &Value, p: &Path<'_>) {
    let mut all_paths: Vec<&str> = Vec::new();
    let sources = p.child("sources");
    for (i, src) in arr(v, "sources").iter().enumerate() {
        let mut n = 0;
        let sp = sources.index(i);
        for kind in ["secret", "configMap"] {
            let Some(sv) = get(src, kind) else { continue };
            n += 1;
            let pp = sp.child(kind);
            let name = s(sv, "name");
            if name.is_empty() {
                required(errs, &pp.child("name"), "");
            }
            let items = pp.child("items");
            for (j, kp) in arr(sv, "items").iter().enumerate() {
                key_to_path(errs, kp, &items.index(j));
                let path = s(kp, "path");
                if !path.is_empty() {
                    if all_paths.contains(&path) {
                        invalid(errs, p, name, "conflicting duplicate paths");
                    } else {
                        all_paths.push(path);
                    }
                }
            }
        }
        if let Some(dv) = get(src, "downwardAPI") {
            n += 1;
            let pp = sp.child("downwardAPI");
            for f in arr(dv, "items") {
                downward_api_file(errs, f, &pp);
                let path = s(f, "path");
                if !path.is_empty() {
                    if all_paths.contains(&path) {
                        invalid(errs, p, path, "conflicting duplicate paths");
                    } else {
                        all_paths.push(path);
                    }
                }
            }
        }
        if let Some(t) = get(src, "serviceAccountToken") {
            n += 1;
            let pp = sp.child("serviceAccountToken");
            let exp = int(t, "expirationSeconds").unwrap_or(0);
            if exp < 600 {
                invalid(
                    errs,
                    &pp.child("expirationSeconds"),
                    exp,
                    "may not specify a duration less than 10 minutes",
                );
            }
            if exp > 1 << 32 {
                invalid(
                    errs,
                    &pp.child("expirationSeconds"),
                    exp,
                    "may not specify a duration larger than 2^32 seconds",
                );
            }
            let path = s(t, "path");
            if path.is_empty() {
                required(errs, &p.child("path"), "");
            } else {
                local_non_reserved_path(errs, path, &p.child("path"));
            }
        }
        if get(src, "clusterTrustBundle").is_some() {
            n += 1;
        }
        if n > 1 {
            forbidden(
                errs,
                &sp,
                "may not specify more than 1 volume type per source",
            );
        }
    }
}

/// `validatePathNoBacksteps`.
pub(crate) fn no_backsteps(errs: &mut Errs, path: &str, p: &Path<'_>) {
    if path.split('/').any(|seg| seg == "..") {
        invalid(errs, p, path, "must not contain '..'");
    }
}

/// `validateLocalDescendingPath`.
fn local_descending_path(errs: &mut Errs, path: &str, p: &Path<'_>) {
    if path.starts_with('/') {
        invalid(errs, p, path, "must be a relative path");
    }
    no_backsteps(errs, path, p);
}

/// `ValidateLocalNonReservedPath`.
fn local_non_reserved_path(errs: &mut Errs, path: &str, p: &Path<'_>) {
    local_descending_path(errs, path, p);
    if path.starts_with("..") && !path.starts_with("../") {
        invalid(errs, p, path, "must not start with '..'");
    }
}

fn validate_resource_claims(spec: &Value, p: &Path<'_>, errs: &mut Errs) {
    let claims = arr(spec, "resourceClaims");
    for (i, c) in claims.iter().enumerate() {
        let ip = p.index(i);
        let name = s(c, "name");
        if name.is_empty() {
            required(errs, &ip.child("name"), "");
        } else if claims[..i].iter().any(|o| s(o, "name") == name) {
            duplicate(errs, &ip.child("name"), name);
        } else {
            invalid_msgs(
                errs,
                &ip.child("name"),
                name,
                validation::is_dns1123_label(name),
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// Containers
// ---------------------------------------------------------------------------------------

fn validate_containers(spec: &Value, ctx: &Ctx<'_>, p: &Path<'_>, errs: &mut Errs) {
    let cs = arr(spec, "containers");
    if cs.is_empty() {
        required(errs, p, "");
        return;
    }
    let mut names = ByName::with_capacity(cs.len());
    for (i, c) in cs.iter().enumerate() {
        let cp = p.index(i);
        let f = ContainerFields::of(c);
        container_common(&f, ctx, &cp, errs);
        if !names.insert(f.name, ()) {
            duplicate(errs, &cp.child("name"), f.name);
        }
        if let Some(lc) = f.lifecycle {
            lifecycle(lc, ctx, &cp.child("lifecycle"), errs);
        }
        probes(&f, ctx, &cp, errs);
        if f.restart_policy.is_some() {
            forbidden(
                errs,
                &cp.child("restartPolicy"),
                "may not be set for non-init containers",
            );
        }
    }
    host_port_conflicts(cs, p, errs);
}

fn validate_init_containers(spec: &Value, ctx: &Ctx<'_>, p: &Path<'_>, errs: &mut Errs) {
    let regular = arr(spec, "containers");
    let cs = arr(spec, "initContainers");
    for (i, c) in cs.iter().enumerate() {
        let cp = p.index(i);
        let f = ContainerFields::of(c);
        container_common(&f, ctx, &cp, errs);
        let mut restart_always = false;
        if let Some(rp) = f.restart_policy.and_then(Value::as_str) {
            if rp != "Always" {
                not_supported(errs, &cp.child("restartPolicy"), rp, &["Always"]);
            }
            restart_always = rp == "Always";
        }
        let name = f.name;
        if regular.iter().any(|o| s(o, "name") == name)
            || cs[..i]
                .iter()
                .any(|o| !s(o, "name").is_empty() && s(o, "name") == name)
        {
            duplicate(errs, &cp.child("name"), name);
        }
        host_port_conflicts(std::slice::from_ref(c), p, errs);
        if restart_always {
            if let Some(lc) = f.lifecycle {
                lifecycle(lc, ctx, &cp.child("lifecycle"), errs);
            }
            probes(&f, ctx, &cp, errs);
        } else {
            let set = [f.lifecycle, f.probes[0], f.probes[1], f.probes[2]];
            for (field, v) in [
                "lifecycle",
                "livenessProbe",
                "readinessProbe",
                "startupProbe",
            ]
            .iter()
            .zip(set)
            {
                if v.is_some() {
                    forbidden(
                        errs,
                        &cp.child(field),
                        "may not be set for init containers without restartPolicy=Always",
                    );
                }
            }
        }
    }
}

fn validate_ephemeral_containers(spec: &Value, ctx: &Ctx<'_>, p: &Path<'_>, errs: &mut Errs) {
    let ecs = arr(spec, "ephemeralContainers");
    if ecs.is_empty() {
        return;
    }
    let others: Vec<&str> = arr(spec, "containers")
        .iter()
        .chain(arr(spec, "initContainers"))
        .map(|c| s(c, "name"))
        .collect();
    for (i, c) in ecs.iter().enumerate() {
        let cp = p.index(i);
        container_common(&ContainerFields::of(c), ctx, &cp, errs);
        let image = s(c, "image");
        if image.len() != image.trim().len() {
            invalid(
                errs,
                &cp.child("image"),
                image,
                "must not have leading or trailing whitespace",
            );
        }
        let name = s(c, "name");
        if others.contains(&name) || ecs[..i].iter().any(|o| s(o, "name") == name) {
            duplicate(errs, &cp.child("name"), name);
        }
        let target = s(c, "targetContainerName");
        if !target.is_empty() && !others.contains(&target) {
            not_found(errs, &cp.child("targetContainerName"), target);
        }
        for f in [
            "ports",
            "resources",
            "livenessProbe",
            "readinessProbe",
            "startupProbe",
            "lifecycle",
            "resizePolicy",
            "restartPolicy",
        ] {
            let set = match get(c, f) {
                None => false,
                Some(Value::Array(a)) => !a.is_empty(),
                Some(Value::Object(m)) => !m.is_empty(),
                Some(_) => true,
            };
            if set {
                forbidden(
                    errs,
                    &cp.child(f),
                    "cannot be set for an Ephemeral Container",
                );
            }
        }
        let mp = cp.child("volumeMounts");
        for (j, vm) in arr(c, "volumeMounts").iter().enumerate() {
            for f in ["subPath", "subPathExpr"] {
                if !s(vm, f).is_empty() {
                    forbidden(
                        errs,
                        &mp.index(j).child(f),
                        "cannot be set for an Ephemeral Container",
                    );
                }
            }
        }
    }
}

/// The fields of a `Container` the checks read, found in one pass over its keys.
struct ContainerFields<'a> {
    name: &'a str,
    image: &'a str,
    ports: &'a [Value],
    env_from: &'a [Value],
    env: &'a [Value],
    resources: Option<&'a Value>,
    resize_policy: &'a [Value],
    restart_policy: Option<&'a Value>,
    volume_mounts: &'a [Value],
    volume_devices: &'a [Value],
    /// liveness, readiness, startup.
    probes: [Option<&'a Value>; 3],
    lifecycle: Option<&'a Value>,
    termination_message_policy: &'a str,
    image_pull_policy: &'a str,
    security_context: Option<&'a Value>,
}

impl<'a> ContainerFields<'a> {
    fn of(c: &'a Value) -> ContainerFields<'a> {
        // Every field of `Container`, in declaration order (see `super::pick`).
        let [
            name,
            image,
            _command,
            _args,
            _working_dir,
            ports,
            env_from,
            env,
            resources,
            resize_policy,
            restart_policy,
            _restart_policy_rules,
            volume_mounts,
            volume_devices,
            liveness,
            readiness,
            startup,
            lifecycle,
            _termination_message_path,
            termination_message_policy,
            image_pull_policy,
            security_context,
            _stdin,
            _stdin_once,
            _tty,
        ] = super::pick(
            c,
            &[
                "name",
                "image",
                "command",
                "args",
                "workingDir",
                "ports",
                "envFrom",
                "env",
                "resources",
                "resizePolicy",
                "restartPolicy",
                "restartPolicyRules",
                "volumeMounts",
                "volumeDevices",
                "livenessProbe",
                "readinessProbe",
                "startupProbe",
                "lifecycle",
                "terminationMessagePath",
                "terminationMessagePolicy",
                "imagePullPolicy",
                "securityContext",
                "stdin",
                "stdinOnce",
                "tty",
            ],
        );
        ContainerFields {
            name: as_str(name),
            image: as_str(image),
            ports: as_arr(ports),
            env_from: as_arr(env_from),
            env: as_arr(env),
            resources,
            resize_policy: as_arr(resize_policy),
            restart_policy,
            volume_mounts: as_arr(volume_mounts),
            volume_devices: as_arr(volume_devices),
            probes: [liveness, readiness, startup],
            lifecycle,
            termination_message_policy: as_str(termination_message_policy),
            image_pull_policy: as_str(image_pull_policy),
            security_context,
        }
    }
}

/// `validateContainerCommon`.
fn container_common(c: &ContainerFields<'_>, ctx: &Ctx<'_>, p: &Path<'_>, errs: &mut Errs) {
    let name = c.name;
    let np = p.child("name");
    if name.is_empty() {
        required(errs, &np, "");
    } else {
        let msgs = validation::is_dns1123_label(name);
        if !msgs.is_empty() {
            invalid_msgs(errs, &np, name, msgs);
        }
    }
    if c.image.is_empty() {
        required(errs, &p.child("image"), "");
    }
    match c.termination_message_policy {
        "File" | "FallbackToLogsOnError" => {}
        "" => required(errs, &p.child("terminationMessagePolicy"), ""),
        other => not_supported(
            errs,
            &p.child("terminationMessagePolicy"),
            other,
            &["File", "FallbackToLogsOnError"],
        ),
    }
    let mounts = c.volume_mounts;
    let devices = c.volume_devices;
    let privileged = c.security_context.is_some_and(|sc| flag(sc, "privileged"));
    container_ports(c.ports, &p.child("ports"), errs);
    env(c.env, &p.child("env"), errs);
    env_from(c.env_from, &p.child("envFrom"), errs);
    volume_mounts(
        mounts,
        devices,
        privileged,
        ctx,
        &p.child("volumeMounts"),
        errs,
    );
    volume_devices(devices, mounts, ctx, &p.child("volumeDevices"), errs);
    match c.image_pull_policy {
        "Always" | "IfNotPresent" | "Never" => {}
        "" => required(errs, &p.child("imagePullPolicy"), ""),
        other => not_supported(
            errs,
            &p.child("imagePullPolicy"),
            other,
            &["Always", "IfNotPresent", "Never"],
        ),
    }
    if let Some(res) = c.resources {
        resources(res, ctx.claims, &p.child("resources"), errs);
    }
    resize_policy(c.resize_policy, ctx.restart, &p.child("resizePolicy"), errs);
    if let Some(sc) = c.security_context {
        security_context(sc, &p.child("securityContext"), errs);
    }
}

fn as_str(v: Option<&Value>) -> &str {
    v.and_then(Value::as_str).unwrap_or("")
}

fn as_arr(v: Option<&Value>) -> &[Value] {
    v.and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

/// `validateContainerPorts`.
fn container_ports(ports: &[Value], p: &Path<'_>, errs: &mut Errs) {
    let mut names: Vec<&str> = Vec::new();
    for (i, port) in ports.iter().enumerate() {
        let ip = p.index(i);
        let name = s(port, "name");
        if !name.is_empty() {
            let msgs = port_name_errors(name);
            if !msgs.is_empty() {
                invalid_msgs(errs, &ip.child("name"), name, msgs);
            } else if names.contains(&name) {
                duplicate(errs, &ip.child("name"), name);
            } else {
                names.push(name);
            }
        }
        let cport = int(port, "containerPort").unwrap_or(0);
        if cport == 0 {
            required(errs, &ip.child("containerPort"), "");
        } else if !(1..=65535).contains(&cport) {
            invalid(errs, &ip.child("containerPort"), cport, PORT_RANGE_MSG);
        }
        let hport = int(port, "hostPort").unwrap_or(0);
        if hport != 0 && !(1..=65535).contains(&hport) {
            invalid(errs, &ip.child("hostPort"), hport, PORT_RANGE_MSG);
        }
        protocol(errs, port, &ip);
    }
}

pub(crate) fn protocol(errs: &mut Errs, port: &Value, ip: &Path<'_>) {
    let proto = s(port, "protocol");
    if proto.is_empty() {
        required(errs, &ip.child("protocol"), "");
    } else if !PROTOCOLS.contains(&proto) {
        not_supported(errs, &ip.child("protocol"), proto, PROTOCOLS);
    }
}

/// `IsValidPortName`.
pub(crate) fn port_name_errors(port: &str) -> Vec<String> {
    // One pass over the bytes for every rule.
    let (mut charset, mut letter, mut double_hyphen) = (!port.is_empty(), false, false);
    let mut prev = 0u8;
    for b in port.bytes() {
        letter |= b.is_ascii_lowercase();
        charset &= b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-';
        double_hyphen |= b == b'-' && prev == b'-';
        prev = b;
    }
    let mut errs = Vec::new();
    if port.len() > 15 {
        errs.push("must be no more than 15 characters".to_string());
    }
    if !charset {
        errs.push("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)".into());
    }
    if !letter {
        errs.push("must contain at least one letter (a-z)".into());
    }
    if double_hyphen {
        errs.push("must not contain consecutive hyphens".into());
    }
    if port.starts_with('-') || port.ends_with('-') {
        errs.push("must not begin or end with a hyphen".into());
    }
    errs
}

/// `ValidatePortNumOrName` on an int-or-string port.
pub(crate) fn port_num_or_name(errs: &mut Errs, v: Option<&Value>, p: &Path<'_>) {
    match v {
        Some(Value::String(name)) => {
            let msgs = port_name_errors(name);
            if !msgs.is_empty() {
                invalid_msgs(errs, p, name, msgs);
            }
        }
        Some(Value::Number(n)) => {
            let n = n.as_i64().unwrap_or(0);
            if !(1..=65535).contains(&n) {
                invalid(errs, p, n, PORT_RANGE_MSG);
            }
        }
        _ => invalid(errs, p, 0, PORT_RANGE_MSG),
    }
}

/// `AccumulateUniqueHostPorts` within one list.
fn host_port_conflicts(cs: &[Value], p: &Path<'_>, errs: &mut Errs) {
    let mut seen: Vec<String> = Vec::new();
    for (ci, c) in cs.iter().enumerate() {
        for (pi, port) in arr(c, "ports").iter().enumerate() {
            let hp = int(port, "hostPort").unwrap_or(0);
            if hp == 0 {
                continue;
            }
            let key = format!("{}/{}/{}", s(port, "protocol"), s(port, "hostIP"), hp);
            if seen.contains(&key) {
                let cp = p.index(ci);
                let pp = cp.child("ports");
                duplicate(errs, &pp.index(pi).child("hostPort"), key);
            } else {
                seen.push(key);
            }
        }
    }
}

/// `validatePodHostNetworkDeps`.
fn host_network_deps(spec: &Value, p: &Path<'_>, opts: PodOpts, errs: &mut Errs) {
    if !flag(spec, "hostNetwork") {
        return;
    }
    let cp = p.child("containers");
    for (i, c) in arr(spec, "containers").iter().enumerate() {
        for (j, port) in arr(c, "ports").iter().enumerate() {
            let hp = int(port, "hostPort").unwrap_or(0);
            let cport = int(port, "containerPort").unwrap_or(0);
            if (opts.is_pod || hp != 0) && hp != cport {
                let ci = cp.index(i);
                let pp = ci.child("ports");
                invalid(
                    errs,
                    &pp.index(j).child("hostPort"),
                    hp,
                    "must match `containerPort` when `hostNetwork` is true",
                );
            }
        }
    }
}

/// `ValidateEnv` with relaxed names (RelaxedEnvironmentVariableValidation is GA).
fn env(vars: &[Value], p: &Path<'_>, errs: &mut Errs) {
    for (i, ev) in vars.iter().enumerate() {
        let ip = p.index(i);
        let name = s(ev, "name");
        if name.is_empty() {
            required(errs, &ip.child("name"), "");
        } else if name
            .bytes()
            .any(|b| !(0x20..0x7f).contains(&b) || b == b'=')
        {
            invalid(
                errs,
                &ip.child("name"),
                name,
                "a valid environment variable name must consist only of printable ASCII characters other than '='",
            );
        }
        if let Some(vf) = get(ev, "valueFrom") {
            env_value_from(errs, vf, !s(ev, "value").is_empty(), &ip.child("valueFrom"));
        }
    }
}

fn env_value_from(errs: &mut Errs, vf: &Value, has_value: bool, p: &Path<'_>) {
    let mut n = 0;
    if let Some(fr) = get(vf, "fieldRef") {
        n += 1;
        object_field_selector(errs, fr, ENV_FIELD_PATHS, &p.child("fieldRef"));
    }
    if let Some(rf) = get(vf, "resourceFieldRef") {
        n += 1;
        resource_field_selector(errs, rf, &p.child("resourceFieldRef"), false);
    }
    for kind in ["configMapKeyRef", "secretKeyRef"] {
        if let Some(r) = get(vf, kind) {
            n += 1;
            let kp = p.child(kind);
            let name = s(r, "name");
            invalid_msgs(
                errs,
                &kp.child("name"),
                name,
                validation::is_dns1123_subdomain(name),
            );
            let key = s(r, "key");
            if key.is_empty() {
                required(errs, &kp.child("key"), "");
            } else {
                let msgs = config_key_errors(key);
                if !msgs.is_empty() {
                    invalid_msgs(errs, &kp.child("key"), key, msgs);
                }
            }
        }
    }
    if n == 0 {
        invalid(
            errs,
            p,
            "",
            "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`",
        );
    } else if has_value {
        invalid(
            errs,
            p,
            "",
            "may not be specified when `value` is not empty",
        );
    } else if n > 1 {
        invalid(
            errs,
            p,
            "",
            "may not have more than one field specified at a time",
        );
    }
}

/// `validateObjectFieldSelector` (apiVersion is defaulted to v1).
fn object_field_selector(errs: &mut Errs, fr: &Value, allowed: &[&str], p: &Path<'_>) {
    if s(fr, "apiVersion").is_empty() {
        required(errs, &p.child("apiVersion"), "");
        return;
    }
    let fp = s(fr, "fieldPath");
    if fp.is_empty() {
        required(errs, &p.child("fieldPath"), "");
        return;
    }
    if let Some((path, rest)) = fp.split_once('[')
        && let Some(sub) = rest.strip_suffix(']')
        && sub.len() >= 2
        && sub.starts_with('\'')
        && sub.ends_with('\'')
    {
        let sub = &sub[1..sub.len() - 1];
        match path {
            "metadata.annotations" => label_name(errs, &sub.to_lowercase(), p),
            "metadata.labels" => label_name(errs, sub, p),
            _ => invalid(errs, p, path, "does not support subscript"),
        }
        return;
    }
    if !allowed.contains(&fp) {
        not_supported(errs, &p.child("fieldPath"), fp, allowed);
    }
}

fn resource_field_selector(errs: &mut Errs, rf: &Value, p: &Path<'_>, volume: bool) {
    let res = s(rf, "resource");
    if volume && s(rf, "containerName").is_empty() {
        required(errs, &p.child("containerName"), "");
    } else if res.is_empty() {
        required(errs, &p.child("resource"), "");
    } else if !RESOURCE_FIELD_PATHS.contains(&res)
        && !res.starts_with("requests.hugepages-")
        && !res.starts_with("limits.hugepages-")
    {
        not_supported(errs, &p.child("resource"), res, RESOURCE_FIELD_PATHS);
    }
}

fn env_from(vars: &[Value], p: &Path<'_>, errs: &mut Errs) {
    for (i, ev) in vars.iter().enumerate() {
        let ip = p.index(i);
        let prefix = s(ev, "prefix");
        if prefix
            .bytes()
            .any(|b| !(0x20..0x7f).contains(&b) || b == b'=')
        {
            invalid(
                errs,
                &ip.child("prefix"),
                prefix,
                "a valid environment variable name must consist only of printable ASCII characters other than '='",
            );
        }
        let mut n = 0;
        for kind in ["configMapRef", "secretRef"] {
            if let Some(r) = get(ev, kind) {
                n += 1;
                let np = ip.child(kind);
                let name = s(r, "name");
                if name.is_empty() {
                    required(errs, &np.child("name"), "");
                } else {
                    invalid_msgs(
                        errs,
                        &np.child("name"),
                        name,
                        validation::validate_name(name, validation::NameRule::DnsSubdomain, true),
                    );
                }
            }
        }
        if n == 0 {
            invalid(
                errs,
                p,
                "",
                "must specify one of: `configMapRef` or `secretRef`",
            );
        } else if n > 1 {
            invalid(
                errs,
                p,
                "",
                "may not have more than one field specified at a time",
            );
        }
    }
}

/// `ValidateVolumeMounts`.
fn volume_mounts(
    mounts: &[Value],
    devices: &[Value],
    privileged: bool,
    ctx: &Ctx<'_>,
    p: &Path<'_>,
    errs: &mut Errs,
) {
    for (i, m) in mounts.iter().enumerate() {
        let ip = p.index(i);
        // Every field of `VolumeMount`, in declaration order (see `super::pick`).
        let [name, read_only, rro, mount_path, sub, prop, sub_expr] = super::pick(
            m,
            &[
                "name",
                "readOnly",
                "recursiveReadOnly",
                "mountPath",
                "subPath",
                "mountPropagation",
                "subPathExpr",
            ],
        );
        let name = as_str(name);
        let mount_path = as_str(mount_path);
        if name.is_empty() {
            required(errs, &ip.child("name"), "");
        }
        let vol = ctx.volume(name);
        if vol.is_none() {
            not_found(errs, &ip.child("name"), name);
        }
        if mount_path.is_empty() {
            required(errs, &ip.child("mountPath"), "");
        }
        if mounts[..i].iter().any(|o| s(o, "mountPath") == mount_path) {
            invalid(errs, &ip.child("mountPath"), mount_path, "must be unique");
        }
        if devices.iter().any(|d| s(d, "name") == name) {
            invalid(
                errs,
                &ip.child("name"),
                name,
                "must not already exist in volumeDevices",
            );
        }
        if devices.iter().any(|d| s(d, "devicePath") == mount_path) {
            invalid(
                errs,
                &ip.child("mountPath"),
                mount_path,
                "must not already exist as a path in volumeDevices",
            );
        }
        let sub = as_str(sub);
        let sub_expr = as_str(sub_expr);
        if vol.is_some_and(|v| get(v, "image").is_some()) {
            if !sub.is_empty() {
                invalid(
                    errs,
                    &ip.child("subPath"),
                    sub,
                    "not allowed in image volume sources",
                );
            }
            if !sub_expr.is_empty() {
                invalid(
                    errs,
                    &ip.child("subPathExpr"),
                    sub_expr,
                    "not allowed in image volume sources",
                );
            }
        }
        if !sub.is_empty() {
            local_descending_path(errs, sub, &p.child("subPath"));
        }
        if !sub_expr.is_empty() {
            if !sub.is_empty() {
                invalid(
                    errs,
                    &ip.child("subPathExpr"),
                    sub_expr,
                    "subPathExpr and subPath are mutually exclusive",
                );
            }
            local_descending_path(errs, sub_expr, &p.child("subPathExpr"));
        }
        let prop = prop.and_then(Value::as_str);
        if let Some(prop) = prop {
            let pp = p.child("mountPropagation");
            const PROPS: &[&str] = &["Bidirectional", "HostToContainer", "None"];
            if !PROPS.contains(&prop) {
                not_supported(errs, &pp, prop, PROPS);
            }
            if prop == "Bidirectional" && !privileged {
                forbidden(
                    errs,
                    &pp,
                    "Bidirectional mount propagation is available only to privileged containers",
                );
            }
        }
        if let Some(rro) = rro.and_then(Value::as_str) {
            let rp = p.child("recursiveReadOnly");
            match rro {
                "Disabled" => {}
                "Enabled" | "IfPossible" => {
                    if read_only.and_then(Value::as_bool) != Some(true) {
                        forbidden(errs, &rp, "may only be specified when readOnly is true");
                    }
                    if prop.is_some_and(|x| x != "None") {
                        forbidden(
                            errs,
                            &rp,
                            "may only be specified when mountPropagation is None or not specified",
                        );
                    }
                }
                other => not_supported(errs, &rp, other, &["Disabled", "Enabled", "IfPossible"]),
            }
        }
    }
}

/// `ValidateVolumeDevices`.
fn volume_devices(
    devices: &[Value],
    mounts: &[Value],
    ctx: &Ctx<'_>,
    p: &Path<'_>,
    errs: &mut Errs,
) {
    let mut paths: Vec<&str> = Vec::new();
    for (i, d) in devices.iter().enumerate() {
        let ip = p.index(i);
        let name = s(d, "name");
        let path = s(d, "devicePath");
        let vol = ctx.volume(name);
        let is_pvc = vol.is_some_and(|v| {
            get(v, "persistentVolumeClaim").is_some() || get(v, "ephemeral").is_some()
        });
        if name.is_empty() {
            required(errs, &ip.child("name"), "");
        }
        if devices[..i]
            .iter()
            .any(|o| !s(o, "name").is_empty() && s(o, "name") == name)
        {
            invalid(errs, &ip.child("name"), name, "must be unique");
        }
        if vol.is_some() && !is_pvc {
            invalid(
                errs,
                &ip.child("name"),
                name,
                "can only use volume source type of PersistentVolumeClaim or Ephemeral for block mode",
            );
        }
        if vol.is_none() {
            not_found(errs, &ip.child("name"), name);
        }
        if path.is_empty() {
            required(errs, &ip.child("devicePath"), "");
        }
        if paths.contains(&path) {
            invalid(errs, &ip.child("devicePath"), path, "must be unique");
        }
        if !path.is_empty() && path.split('/').any(|x| x == "..") {
            invalid(
                errs,
                &ip.child("devicePath"),
                path,
                "can not contain backsteps ('..')",
            );
        } else {
            paths.push(path);
        }
        if mounts.iter().any(|m| s(m, "name") == name) {
            invalid(
                errs,
                &ip.child("name"),
                name,
                "must not already exist in volumeMounts",
            );
        }
        if mounts.iter().any(|m| s(m, "mountPath") == path) {
            invalid(
                errs,
                &ip.child("devicePath"),
                path,
                "must not already exist as a path in volumeMounts",
            );
        }
    }
}

fn probes(c: &ContainerFields<'_>, ctx: &Ctx<'_>, cp: &Path<'_>, errs: &mut Errs) {
    for (kind, (f, pr)) in ["livenessProbe", "readinessProbe", "startupProbe"]
        .into_iter()
        .zip(c.probes)
        .enumerate()
    {
        let Some(pr) = pr else { continue };
        let pp = cp.child(f);
        let [
            exec,
            http_get,
            tcp_socket,
            grpc,
            initial_delay,
            timeout,
            period,
            success,
            failure,
            grace,
        ] = super::pick(
            pr,
            &[
                "exec",
                "httpGet",
                "tcpSocket",
                "grpc",
                "initialDelaySeconds",
                "timeoutSeconds",
                "periodSeconds",
                "successThreshold",
                "failureThreshold",
                "terminationGracePeriodSeconds",
            ],
        );
        // `validateProbe`.
        handler([exec, http_get, tcp_socket, grpc], ctx, &pp, false, errs);
        for (f, v) in [
            "initialDelaySeconds",
            "timeoutSeconds",
            "periodSeconds",
            "successThreshold",
            "failureThreshold",
        ]
        .iter()
        .zip([initial_delay, timeout, period, success, failure])
        {
            let v = v.and_then(Value::as_i64).unwrap_or(0);
            if v < 0 {
                nonnegative(errs, &pp.child(f), Some(v));
            }
        }
        if let Some(t) = grace.and_then(Value::as_i64)
            && t <= 0
        {
            invalid(
                errs,
                &pp.child("terminationGracePeriodSeconds"),
                t,
                "must be greater than 0",
            );
        }
        if kind != 1 {
            let st = success.and_then(Value::as_i64).unwrap_or(0);
            if st != 1 {
                invalid(errs, &pp.child("successThreshold"), st, "must be 1");
            }
        } else if let Some(t) = grace {
            invalid(
                errs,
                &pp.child("terminationGracePeriodSeconds"),
                t.clone(),
                "must not be set for readinessProbes",
            );
        }
    }
}

fn lifecycle(lc: &Value, ctx: &Ctx<'_>, p: &Path<'_>, errs: &mut Errs) {
    for f in ["postStart", "preStop"] {
        if let Some(h) = get(lc, f) {
            let [exec, http_get, tcp_socket, sleep] =
                super::pick(h, &["exec", "httpGet", "tcpSocket", "sleep"]);
            handler(
                [exec, http_get, tcp_socket, sleep],
                ctx,
                &p.child(f),
                true,
                errs,
            );
        }
    }
}

/// `validateHandler`: exactly one handler type. `handlers` are the values of `exec`,
/// `httpGet`, `tcpSocket` and the fourth kind (`sleep` in a lifecycle hook, `grpc` in a
/// probe).
fn handler(
    handlers: [Option<&Value>; 4],
    ctx: &Ctx<'_>,
    p: &Path<'_>,
    lifecycle: bool,
    errs: &mut Errs,
) {
    let mut n = 0;
    let kinds = [
        "exec",
        "httpGet",
        "tcpSocket",
        if lifecycle { "sleep" } else { "grpc" },
    ];
    for (k, v) in kinds.into_iter().zip(handlers) {
        let Some(v) = v else { continue };
        let kp = p.child(k);
        if n > 0 {
            forbidden(errs, &kp, "may not specify more than 1 handler type");
            continue;
        }
        n += 1;
        match k {
            "exec" if arr(v, "command").is_empty() => {
                required(errs, &kp.child("command"), "");
            }
            "httpGet" => {
                if s(v, "path").is_empty() {
                    required(errs, &kp.child("path"), "");
                }
                port_num_or_name(errs, get(v, "port"), &kp.child("port"));
                let scheme = s(v, "scheme");
                if scheme != "HTTP" && scheme != "HTTPS" {
                    not_supported(errs, &kp.child("scheme"), scheme, &["HTTP", "HTTPS"]);
                }
                for hd in arr(v, "httpHeaders") {
                    let name = s(hd, "name");
                    if name.is_empty()
                        || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                    {
                        invalid(
                            errs,
                            &kp.child("httpHeaders"),
                            name,
                            "a valid HTTP header must consist of alphanumeric characters or '-' (e.g. 'X-Header-Name', regex used for validation is '[-A-Za-z0-9]+')",
                        );
                    }
                }
            }
            "tcpSocket" => port_num_or_name(errs, get(v, "port"), &kp.child("port")),
            "grpc" => {
                let port = int(v, "port").unwrap_or(0);
                if !(1..=65535).contains(&port) {
                    invalid(errs, &kp.child("port"), port, PORT_RANGE_MSG);
                }
            }
            "sleep" => {
                let secs = int(v, "seconds").unwrap_or(0);
                if let Some(g) = ctx.grace
                    && (secs < 0 || secs > g)
                {
                    invalid(
                        errs,
                        &kp,
                        secs,
                        &format!(
                            "must be non-negative and less than terminationGracePeriodSeconds ({g})"
                        ),
                    );
                }
            }
            _ => {}
        }
    }
    if n == 0 {
        required(errs, p, "must specify a handler type");
    }
}

fn resize_policy(list: &[Value], restart: &str, p: &Path<'_>, errs: &mut Errs) {
    for (i, rp) in list.iter().enumerate() {
        let name = s(rp, "resourceName");
        if list[..i].iter().any(|o| s(o, "resourceName") == name) {
            duplicate(errs, &p.index(i), name);
        }
        match name {
            "cpu" | "memory" => {}
            "" => required(errs, p, ""),
            other => not_supported(errs, p, other, &["cpu", "memory"]),
        }
        let policy = s(rp, "restartPolicy");
        match policy {
            "NotRequired" | "RestartContainer" => {}
            "" => required(errs, p, ""),
            other => not_supported(errs, p, other, &["NotRequired", "RestartContainer"]),
        }
        if restart == "Never" && policy != "NotRequired" {
            invalid(
                errs,
                p,
                policy,
                "must be 'NotRequired' when `restartPolicy` is 'Never'",
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// Resources
// ---------------------------------------------------------------------------------------

pub(crate) fn quantity(v: &Value) -> Option<Quantity> {
    match v {
        Value::String(s) => Quantity::parse(s).ok(),
        Value::Number(n) => Quantity::parse(&n.to_string()).ok(),
        _ => None,
    }
}

/// A quantity's exact value in units of 10^-9 for the plain forms clients write
/// (`[+-]digits[.digits][suffix]`), so that valid resources need no full parse; `None`
/// leaves the value to [`Quantity::parse`].
pub(crate) fn fast_nano(s: &str) -> Option<i128> {
    // One pass over the bytes: sign, integer digits, optional fraction, then the suffix.
    let b = s.as_bytes();
    let (neg, mut i) = match b.first()? {
        b'-' => (true, 1),
        b'+' => (false, 1),
        _ => (false, 0),
    };
    let (mut int, mut int_digits) = (0u64, 0usize);
    while let Some(d) = b.get(i).filter(|d| d.is_ascii_digit()) {
        if int_digits == 18 {
            return None;
        }
        int = int * 10 + u64::from(d - b'0');
        int_digits += 1;
        i += 1;
    }
    let (mut frac, mut frac_digits) = (0u64, 0usize);
    if b.get(i) == Some(&b'.') {
        i += 1;
        while let Some(d) = b.get(i).filter(|d| d.is_ascii_digit()) {
            if frac_digits == 9 {
                return None;
            }
            frac = frac * 10 + u64::from(d - b'0');
            frac_digits += 1;
            i += 1;
        }
    }
    if int_digits == 0 && frac_digits == 0 {
        return None;
    }
    for _ in frac_digits..9 {
        frac *= 10;
    }
    // A second '.' or an exponent lands in the suffix and is left to the full parser.
    let (mul, div): (i128, u64) = match b.get(i..)? {
        b"" => (1, 1),
        b"n" => (1, 1_000_000_000),
        b"u" => (1, 1_000_000),
        b"m" => (1, 1_000),
        b"k" => (1_000, 1),
        b"M" => (1_000_000, 1),
        b"G" => (1_000_000_000, 1),
        b"T" => (1_000_000_000_000, 1),
        b"P" => (1_000_000_000_000_000, 1),
        b"E" => (1_000_000_000_000_000_000, 1),
        b"Ki" => (1 << 10, 1),
        b"Mi" => (1 << 20, 1),
        b"Gi" => (1 << 30, 1),
        b"Ti" => (1 << 40, 1),
        b"Pi" => (1 << 50, 1),
        b"Ei" => (1 << 60, 1),
        _ => return None,
    };
    let val = if div == 1 {
        (i128::from(int) * 1_000_000_000 + i128::from(frac)).checked_mul(mul)?
    } else {
        // A divided suffix (n, u, m) never multiplies, and with at most 18 integer digits
        // the nano value fits in 64 bits only when int < 2^64 / 10^9; use 128 bits when not.
        match int
            .checked_mul(1_000_000_000)
            .and_then(|x| x.checked_add(frac))
        {
            Some(base) if base % div == 0 => i128::from(base / div),
            Some(_) => return None,
            None => {
                let base = i128::from(int) * 1_000_000_000 + i128::from(frac);
                let div = i128::from(div);
                if base % div != 0 {
                    return None;
                }
                base / div
            }
        }
    };
    Some(if neg { -val } else { val })
}

/// A resource quantity: the fast exact value when available, else the parsed quantity.
struct Q<'a> {
    raw: &'a Value,
    nano: Option<i128>,
    full: Option<Quantity>,
}

impl<'a> Q<'a> {
    fn of(raw: &'a Value) -> Option<Q<'a>> {
        if let Some(n) = raw.as_str().and_then(fast_nano) {
            return Some(Q {
                raw,
                nano: Some(n),
                full: None,
            });
        }
        quantity(raw).map(|q| Q {
            raw,
            nano: None,
            full: Some(q),
        })
    }
    fn full(&self) -> Option<Quantity> {
        self.full.clone().or_else(|| quantity(self.raw))
    }
    /// `Quantity.String()`, only needed for messages.
    fn canonical(&self) -> String {
        self.full().map(|q| q.canonical()).unwrap_or_default()
    }
    fn negative(&self) -> bool {
        match (self.nano, &self.full) {
            (Some(n), _) => n < 0,
            (None, Some(q)) => q.sign() < 0,
            _ => false,
        }
    }
    /// `MilliValue() % 1000 == 0`.
    fn is_integer(&self) -> bool {
        match (self.nano, &self.full) {
            (Some(n), _) => n % 1_000_000_000 == 0,
            (None, Some(q)) => q.milli_value() % 1000 == 0,
            _ => true,
        }
    }
    fn cmp(&self, other: &Q<'_>) -> std::cmp::Ordering {
        if let (Some(a), Some(b)) = (self.nano, other.nano) {
            return a.cmp(&b);
        }
        match (self.full(), other.full()) {
            (Some(a), Some(b)) => a.cmp_value(&b),
            _ => std::cmp::Ordering::Equal,
        }
    }
}

const STANDARD_CONTAINER_RESOURCES: &[&str] = &["cpu", "memory", "ephemeral-storage"];
const STANDARD_RESOURCES: &[&str] = &[
    "cpu",
    "memory",
    "ephemeral-storage",
    "requests.cpu",
    "requests.memory",
    "requests.ephemeral-storage",
    "limits.cpu",
    "limits.memory",
    "limits.ephemeral-storage",
    "pods",
    "services",
    "replicationcontrollers",
    "resourcequotas",
    "secrets",
    "configmaps",
    "persistentvolumeclaims",
    "storage",
    "requests.storage",
    "services.nodeports",
    "services.loadbalancers",
];

fn is_hugepages(name: &str) -> bool {
    name.starts_with("hugepages-")
}
fn is_native(name: &str) -> bool {
    !name.contains('/') || name.contains("kubernetes.io/")
}
/// `IsOvercommitAllowed`: native resources other than hugepages.
fn overcommit_allowed(name: &str) -> bool {
    is_native(name) && !is_hugepages(name)
}

/// `validateContainerResourceName`.
fn container_resource_name(errs: &mut Errs, name: &str, p: &Path<'_>) {
    if STANDARD_CONTAINER_RESOURCES.contains(&name) {
        return;
    }
    let msgs = validation::is_label_key(name);
    if !msgs.is_empty() {
        invalid_msgs(errs, p, name, msgs);
        return;
    }
    if !name.contains('/') {
        if !STANDARD_RESOURCES.contains(&name) && !is_hugepages(name) {
            invalid(
                errs,
                p,
                name,
                "must be a standard resource type or fully qualified",
            );
        }
        if !STANDARD_CONTAINER_RESOURCES.contains(&name) && !is_hugepages(name) {
            invalid(errs, p, name, "must be a standard resource for containers");
        }
    } else if !is_native(name) {
        let extended = !name.starts_with("requests.")
            && validation::is_label_key(&format!("requests.{name}")).is_empty();
        if !extended {
            invalid(
                errs,
                p,
                name,
                "doesn't follow extended resource name standard",
            );
        }
    }
}

/// `ValidateResourceQuantityValue`.
fn resource_quantity(errs: &mut Errs, name: &str, q: &Q<'_>, p: &Path<'_>) {
    if q.negative() {
        invalid(errs, p, q.canonical(), super::IS_NEGATIVE);
    }
    // Extended (non-native) resources must be whole numbers.
    if !is_native(name) && !q.is_integer() {
        invalid(errs, p, q.canonical(), "must be an integer");
    }
}

/// `validateResourceRequirements` for a container.
fn resources(res: &Value, claims: &[&str], p: &Path<'_>, errs: &mut Errs) {
    let lim_path = p.child("limits");
    let req_path = p.child("requests");
    let limits = super::obj(res, "limits");
    let mut lim_cpu_mem = false;
    let mut req_cpu_mem = false;
    let mut hugepages = false;
    // The first few limits stay parsed for the requests' comparisons below.
    let mut parsed: [Option<(&str, Option<Q<'_>>)>; 4] = [None, None, None, None];
    if let Some(limits) = limits {
        for (i, (name, v)) in limits.iter().enumerate() {
            let kp = lim_path.key(name);
            container_resource_name(errs, name, &kp);
            let q = Q::of(v);
            if let Some(q) = &q {
                resource_quantity(errs, name, q, &kp);
            }
            if let Some(slot) = parsed.get_mut(i) {
                *slot = Some((name.as_str(), q));
            }
            hugepages |= is_hugepages(name);
            lim_cpu_mem |= name == "cpu" || name == "memory";
        }
    }
    if let Some(requests) = super::obj(res, "requests") {
        for (name, v) in requests {
            let kp = req_path.key(name);
            container_resource_name(errs, name, &kp);
            let q = Q::of(v);
            if let Some(q) = &q {
                resource_quantity(errs, name, q, &kp);
            }
            let owned_limit;
            let limit = match parsed.iter().flatten().find(|(k, _)| same_key(k, name)) {
                Some((_, q)) => q.as_ref(),
                None if limits.is_some_and(|l| l.len() > parsed.len()) => {
                    owned_limit = limits
                        .and_then(|l| l.iter().find(|(k, _)| *k == name))
                        .and_then(|(_, v)| Q::of(v));
                    owned_limit.as_ref()
                }
                None => None,
            };
            match (limit, &q) {
                (Some(l), Some(q)) => {
                    let ord = q.cmp(l);
                    if ord != std::cmp::Ordering::Equal && !overcommit_allowed(name) {
                        invalid(
                            errs,
                            &req_path,
                            q.canonical(),
                            &format!("must be equal to {name} limit of {}", l.canonical()),
                        );
                    } else if ord == std::cmp::Ordering::Greater {
                        invalid(
                            errs,
                            &req_path,
                            q.canonical(),
                            &format!(
                                "must be less than or equal to {name} limit of {}",
                                l.canonical()
                            ),
                        );
                    }
                }
                (None, _) if !overcommit_allowed(name) => required(
                    errs,
                    &lim_path,
                    "Limit must be set for non overcommitable resources",
                ),
                _ => {}
            }
            hugepages |= is_hugepages(name);
            req_cpu_mem |= name == "cpu" || name == "memory";
        }
    }
    if !lim_cpu_mem && !req_cpu_mem && hugepages {
        forbidden(errs, p, "HugePages require cpu or memory");
    }
    let cp = p.child("claims");
    let list = arr(res, "claims");
    for (i, c) in list.iter().enumerate() {
        let name = s(c, "name");
        if name.is_empty() {
            required(errs, &cp.index(i), "");
            continue;
        }
        if list[..i]
            .iter()
            .any(|o| s(o, "name") == name && s(o, "request") == s(c, "request"))
        {
            duplicate(errs, &cp.index(i), name);
        }
        if !claims.contains(&name) {
            let mut detail = "must be one of the names in pod.spec.resourceClaims".to_string();
            if claims.is_empty() {
                detail.push_str(" which is empty");
            } else {
                let mut sorted: Vec<&str> = claims.to_vec();
                sorted.sort_unstable();
                detail.push_str(": ");
                detail.push_str(&sorted.join(", "));
            }
            let mut e = FieldError::not_found(cp.index(i).render(), name);
            e.detail = detail;
            errs.push(e);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Security contexts, DNS, tolerations
// ---------------------------------------------------------------------------------------

const ID_RANGE: &str = "must be between 0 and 4294967295, inclusive";

fn security_context(sc: &Value, p: &Path<'_>, errs: &mut Errs) {
    for f in ["runAsUser", "runAsGroup"] {
        if let Some(id) = int(sc, f)
            && !(0..=0xffff_ffff).contains(&id)
        {
            invalid(errs, &p.child(f), id, ID_RANGE);
        }
    }
    if let Some(pm) = get(sc, "procMount").and_then(Value::as_str)
        && pm != "Default"
        && pm != "Unmasked"
    {
        not_supported(errs, &p.child("procMount"), pm, &["Default", "Unmasked"]);
    }
    seccomp(sc, p, errs);
    if get(sc, "allowPrivilegeEscalation").and_then(Value::as_bool) == Some(false) {
        if flag(sc, "privileged") {
            invalid(
                errs,
                p,
                sc.clone(),
                "cannot set `allowPrivilegeEscalation` to false and `privileged` to true",
            );
        }
        let adds = get(sc, "capabilities")
            .map(|c| arr(c, "add"))
            .unwrap_or(&[]);
        if adds.iter().any(|a| a.as_str() == Some("CAP_SYS_ADMIN")) {
            invalid(
                errs,
                p,
                sc.clone(),
                "cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN",
            );
        }
    }
}

fn seccomp(sc: &Value, p: &Path<'_>, errs: &mut Errs) {
    let Some(sp) = get(sc, "seccompProfile") else {
        return;
    };
    let pp = p.child("seccompProfile");
    let ty = s(sp, "type");
    match ty {
        "Localhost" | "RuntimeDefault" | "Unconfined" => {}
        "" => required(errs, &pp.child("type"), ""),
        other => not_supported(
            errs,
            &pp.child("type"),
            other,
            &["Localhost", "RuntimeDefault", "Unconfined"],
        ),
    }
    let local = get(sp, "localhostProfile").and_then(Value::as_str);
    if ty == "Localhost" {
        match local {
            None => required(
                errs,
                &pp.child("localhostProfile"),
                "must be set when seccomp type is Localhost",
            ),
            Some(l) => local_descending_path(errs, l, &pp.child("localhostProfile")),
        }
    } else if local.is_some() {
        invalid(
            errs,
            &pp.child("localhostProfile"),
            sp.clone(),
            "can only be set when seccomp type is Localhost",
        );
    }
}

fn validate_pod_security_context(spec: &Value, p: &Path<'_>, errs: &mut Errs) {
    let Some(sc) = get(spec, "securityContext") else {
        return;
    };
    let sp = p.child("securityContext");
    if let Some(g) = int(sc, "fsGroup")
        && !(0..=0xffff_ffff).contains(&g)
    {
        invalid(errs, &sp.child("fsGroup"), g, ID_RANGE);
    }
    for f in ["runAsUser", "runAsGroup"] {
        if let Some(id) = int(sc, f)
            && !(0..=0xffff_ffff).contains(&id)
        {
            invalid(errs, &sp.child(f), id, ID_RANGE);
        }
    }
    let sg = sp.child("supplementalGroups");
    for (i, g) in arr(sc, "supplementalGroups").iter().enumerate() {
        let g = g.as_i64().unwrap_or(0);
        if !(0..=0xffff_ffff).contains(&g) {
            invalid(errs, &sg.index(i), g, ID_RANGE);
        }
    }
    if let Some(pol) = get(sc, "fsGroupChangePolicy").and_then(Value::as_str)
        && pol != "OnRootMismatch"
        && pol != "Always"
    {
        not_supported(
            errs,
            &sp.child("fsGroupChangePolicy"),
            pol,
            &["Always", "OnRootMismatch"],
        );
    }
    seccomp(sc, &sp, errs);
}

fn validate_dns_config(spec: &Value, policy: &str, p: &Path<'_>, errs: &mut Errs) {
    let cfg = get(spec, "dnsConfig");
    if policy == "None" {
        let Some(cfg) = cfg else {
            required(errs, p, "must provide `dnsConfig` when `dnsPolicy` is None");
            return;
        };
        if arr(cfg, "nameservers").is_empty() {
            required(
                errs,
                &p.child("nameservers"),
                "must provide at least one DNS nameserver when `dnsPolicy` is None",
            );
            return;
        }
    }
    let Some(cfg) = cfg else { return };
    let ns = arr(cfg, "nameservers");
    if ns.len() > 3 {
        invalid(
            errs,
            &p.child("nameservers"),
            Value::Array(ns.to_vec()),
            "must not have more than 3 nameservers",
        );
    }
    let searches = arr(cfg, "searches");
    if searches.len() > 32 {
        invalid(
            errs,
            &p.child("searches"),
            Value::Array(searches.to_vec()),
            "must not have more than 32 search paths",
        );
    }
    let op = p.child("options");
    for (i, o) in arr(cfg, "options").iter().enumerate() {
        if s(o, "name").is_empty() {
            required(errs, &op.index(i), "must not be empty");
        }
    }
}

/// `ValidateTolerations`.
pub(crate) fn validate_tolerations(ts: &[Value], p: &Path<'_>, errs: &mut Errs) {
    for (i, t) in ts.iter().enumerate() {
        let ip = p.index(i);
        let key = s(t, "key");
        let op = s(t, "operator");
        let effect = s(t, "effect");
        let value = s(t, "value");
        if !key.is_empty() {
            label_name(errs, key, &ip.child("key"));
        }
        if key.is_empty() && op != "Exists" {
            invalid(
                errs,
                &ip.child("operator"),
                op,
                "operator must be Exists when `key` is empty, which means \"match all values and all keys\"",
            );
        }
        if get(t, "tolerationSeconds").is_some() && effect != "NoExecute" {
            invalid(
                errs,
                &ip.child("effect"),
                effect,
                "effect must be 'NoExecute' when `tolerationSeconds` is set",
            );
        }
        match op {
            "Equal" | "" => {
                let msgs = validation::is_label_value(value);
                if !msgs.is_empty() {
                    invalid(errs, &ip.child("operator"), value, &msgs.join(";"));
                }
            }
            "Exists" => {
                if !value.is_empty() {
                    invalid(
                        errs,
                        &ip.child("operator"),
                        value,
                        "value must be empty when `operator` is 'Exists'",
                    );
                }
            }
            other => not_supported(errs, &ip.child("operator"), other, &["Equal", "Exists"]),
        }
        if !effect.is_empty() && !matches!(effect, "NoSchedule" | "PreferNoSchedule" | "NoExecute")
        {
            not_supported(
                errs,
                &ip.child("effect"),
                effect,
                &["NoSchedule", "PreferNoSchedule", "NoExecute"],
            );
        }
    }
}

/// `IsConfigMapKey`.
pub(crate) fn config_key_errors(key: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if key.len() > 253 {
        errs.push("must be no more than 253 characters".to_string());
    }
    if key.is_empty()
        || !key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
    {
        errs.push("a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')".to_string());
    }
    if key == "." {
        errs.push("must not be '.'".to_string());
    } else if key == ".." {
        errs.push("must not be '..'".to_string());
    } else if key.starts_with("..") {
        errs.push("must not start with '..'".to_string());
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_generated::api::core::v1::PodSpec;
    use serde_json::json;

    fn pod_errs(pod: Value) -> Vec<String> {
        let mut pod = pod;
        // Defaulted through the typed form when it decodes (some cases test wrong types).
        if let Some(spec) = pod.get_mut("spec")
            && let Ok(mut typed) = serde_json::from_value::<PodSpec>(spec.clone())
        {
            crate::kinds::pod::default_pod_spec(&mut typed);
            *spec = serde_json::to_value(&typed).unwrap();
        }
        let mut errs = Vec::new();
        validate_pod(&pod, &mut errs);
        errs.iter().map(|e| e.to_string()).collect()
    }

    #[test]
    fn valid_defaulted_pod() {
        assert!(
            pod_errs(
                json!({"spec": {"containers": [{"name": "c", "image": "nginx",
            "ports": [{"containerPort": 80}],
            "livenessProbe": {"httpGet": {"port": 80}},
            "resources": {"limits": {"cpu": "1"}, "requests": {"cpu": "500m"}},
            "volumeMounts": [{"name": "v", "mountPath": "/v"}]}],
            "volumes": [{"name": "v", "emptyDir": {}}]}})
            )
            .is_empty()
        );
    }

    #[test]
    fn container_errors() {
        let got = pod_errs(json!({"spec": {"containers": [
            {"name": "", "image": ""},
            {"name": "Bad_Name", "image": "x", "ports": [{"containerPort": 0}, {"containerPort": 70000, "protocol": "XX"}]}
        ]}}));
        assert_eq!(
            got,
            vec![
                "spec.containers[0].name: Required value".to_string(),
                "spec.containers[0].image: Required value".to_string(),
                "spec.containers[1].name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')".to_string(),
                "spec.containers[1].ports[0].containerPort: Required value".to_string(),
                "spec.containers[1].ports[1].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive".to_string(),
                "spec.containers[1].ports[1].protocol: Unsupported value: \"XX\": supported values: \"SCTP\", \"TCP\", \"UDP\"".to_string(),
            ]
        );
        assert_eq!(
            pod_errs(json!({"spec": {}})),
            vec!["spec.containers: Required value"]
        );
    }

    #[test]
    fn volume_and_mount_errors() {
        let got = pod_errs(json!({"spec": {"containers": [{"name": "c", "image": "i",
            "volumeMounts": [{"name": "missing", "mountPath": "/a"}, {"name": "v", "mountPath": "/a"}]}],
            "volumes": [{"name": "v", "emptyDir": {}}, {"name": "v", "secret": {}}, {"name": "w", "emptyDir": {}, "hostPath": {"path": "/x"}}]}}));
        assert_eq!(
            got,
            vec![
                "spec.volumes[1].secret.secretName: Required value",
                "spec.volumes[1].name: Duplicate value: \"v\"",
                "spec.volumes[2].hostPath: Forbidden: may not specify more than 1 volume type",
                "spec.containers[0].volumeMounts[0].name: Not found: \"missing\"",
                "spec.containers[0].volumeMounts[1].mountPath: Invalid value: \"/a\": must be unique",
            ]
        );
    }

    #[test]
    fn env_probe_and_resource_errors() {
        let got = pod_errs(json!({"spec": {"containers": [{"name": "c", "image": "i",
            "env": [{"name": ""}, {"name": "A=B"}, {"name": "X", "valueFrom": {}}],
            "readinessProbe": {"exec": {}},
            "resources": {"limits": {"cpu": "1"}, "requests": {"cpu": "2", "foo": "1"}}}]}}));
        assert_eq!(
            got,
            vec![
                "spec.containers[0].env[0].name: Required value",
                "spec.containers[0].env[1].name: Invalid value: \"A=B\": a valid environment variable name must consist only of printable ASCII characters other than '='",
                "spec.containers[0].env[2].valueFrom: Invalid value: \"\": must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`",
                "spec.containers[0].resources.requests: Invalid value: \"2\": must be less than or equal to cpu limit of 1",
                "spec.containers[0].resources.requests[foo]: Invalid value: \"foo\": must be a standard resource type or fully qualified",
                "spec.containers[0].resources.requests[foo]: Invalid value: \"foo\": must be a standard resource for containers",
                "spec.containers[0].readinessProbe.exec.command: Required value",
            ]
        );
    }

    #[test]
    fn enums_and_tolerations() {
        let got = pod_errs(
            json!({"spec": {"restartPolicy": "Sometimes", "dnsPolicy": "X",
            "containers": [{"name": "c", "image": "i", "imagePullPolicy": "Maybe"}],
            "tolerations": [{"operator": "Equal", "value": "v"}]}}),
        );
        assert_eq!(
            got,
            vec![
                "spec.containers[0].imagePullPolicy: Unsupported value: \"Maybe\": supported values: \"Always\", \"IfNotPresent\", \"Never\"",
                "spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\"",
                "spec.dnsPolicy: Unsupported value: \"X\": supported values: \"ClusterFirstWithHostNet\", \"ClusterFirst\", \"Default\", \"None\"",
                "spec.tolerations[0].operator: Invalid value: \"Equal\": operator must be Exists when `key` is empty, which means \"match all values and all keys\"",
            ]
        );
    }

    #[test]
    fn affinity_and_spread_in_kube_order() {
        let got = pod_errs(json!({"spec": {"containers": [{"name": "c", "image": "i"}],
            "dnsPolicy": "None",
            "affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 0, "preference": {}}]}},
            "schedulingGates": [{"name": "g"}, {"name": "g"}],
            "topologySpreadConstraints": [{"maxSkew": -1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule"}],
            "nodeName": "Bad_Node"}}));
        assert_eq!(
            got,
            vec![
                "spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight: Invalid value: 0: must be in the range 1-100",
                "spec.dnsConfig: Required value: must provide `dnsConfig` when `dnsPolicy` is None",
                "spec.schedulingGates[1]: Duplicate value: \"g\"",
                "spec.topologySpreadConstraints[0].maxSkew: Invalid value: -1: must be greater than zero",
                "spec.nodeName: Invalid value: \"Bad_Node\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
                "spec.nodeName: Forbidden: cannot be set until all schedulingGates have been cleared",
            ]
        );
    }

    #[test]
    fn pod_update_rules() {
        let old = json!({"spec": {"containers": [{"name": "c", "image": "a"}], "restartPolicy": "Always"}});
        let ok = json!({"spec": {"containers": [{"name": "c", "image": "b"}], "restartPolicy": "Always"}});
        let mut errs = Vec::new();
        validate_pod_update(&ok, &old, &mut errs);
        assert!(errs.is_empty());
        let bad = json!({"spec": {"containers": [{"name": "c", "image": "a"}], "restartPolicy": "Never"}});
        validate_pod_update(&bad, &old, &mut errs);
        assert_eq!(errs.len(), 1);
        assert!(
            errs[0]
                .to_string()
                .starts_with("spec: Forbidden: pod updates may not change fields other than")
        );
        let mut errs = Vec::new();
        let more = json!({"spec": {"containers": [{"name": "c", "image": "a"}, {"name": "d", "image": "a"}]}});
        validate_pod_update(&more, &old, &mut errs);
        assert_eq!(
            errs[0].to_string(),
            "spec.containers: Forbidden: pod updates may not add or remove containers"
        );
    }

    #[test]
    fn fast_quantities_match_the_parser() {
        for (s, n) in [
            ("1", 1_000_000_000i128),
            ("500m", 500_000_000),
            ("0.5", 500_000_000),
            ("64Mi", 64 * 1024 * 1024 * 1_000_000_000),
            ("1k", 1_000_000_000_000),
            ("-2", -2_000_000_000),
            ("5n", 5),
        ] {
            assert_eq!(fast_nano(s), Some(n), "{s}");
        }
        assert_eq!(fast_nano("1e3"), None);
        assert_eq!(fast_nano("0.5n"), None);
        let a = json!("0.1");
        let b = json!("100m");
        assert_eq!(
            Q::of(&a).map(|q| q.cmp(&Q::of(&b).unwrap_or_else(|| unreachable!()))),
            Some(std::cmp::Ordering::Equal)
        );
    }

    /// The previous, string-splitting definition of [`fast_nano`], as the reference.
    fn fast_nano_reference(s: &str) -> Option<i128> {
        let (neg, body) = match s.as_bytes().first()? {
            b'-' => (true, &s[1..]),
            b'+' => (false, &s[1..]),
            _ => (false, s),
        };
        let split = body
            .bytes()
            .position(|b| !(b.is_ascii_digit() || b == b'.'))
            .unwrap_or(body.len());
        let (num, suffix) = body.split_at(split);
        let (int_part, frac) = num.split_once('.').unwrap_or((num, ""));
        if (int_part.is_empty() && frac.is_empty())
            || frac.contains('.')
            || int_part.len() > 18
            || frac.len() > 9
        {
            return None;
        }
        let v: i128 = int_part
            .bytes()
            .fold(0, |v, b| v * 10 + i128::from(b - b'0'));
        let mut f: i128 = frac.bytes().fold(0, |f, b| f * 10 + i128::from(b - b'0'));
        for _ in frac.len()..9 {
            f *= 10;
        }
        let base = v * 1_000_000_000 + f;
        let (mul, div): (i128, i128) = match suffix {
            "" => (1, 1),
            "n" => (1, 1_000_000_000),
            "u" => (1, 1_000_000),
            "m" => (1, 1_000),
            "k" => (1_000, 1),
            "M" => (1_000_000, 1),
            "G" => (1_000_000_000, 1),
            "T" => (1_000_000_000_000, 1),
            "P" => (1_000_000_000_000_000, 1),
            "E" => (1_000_000_000_000_000_000, 1),
            "Ki" => (1 << 10, 1),
            "Mi" => (1 << 20, 1),
            "Gi" => (1 << 30, 1),
            "Ti" => (1 << 40, 1),
            "Pi" => (1 << 50, 1),
            "Ei" => (1 << 60, 1),
            _ => return None,
        };
        let scaled = base.checked_mul(mul)?;
        if scaled % div != 0 {
            return None;
        }
        let val = scaled / div;
        Some(if neg { -val } else { val })
    }

    proptest::proptest! {
        #[test]
        fn fast_nano_agrees_with_the_reference(s in "[-+]?[0-9]{0,20}(\\.[0-9]{0,11})?(\\.[0-9]?)?(|n|u|m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei|e3|x)") {
            proptest::prop_assert_eq!(fast_nano(&s), fast_nano_reference(&s), "{}", s);
        }
    }

    #[test]
    fn config_keys() {
        assert!(config_key_errors("a.b-C_1").is_empty());
        assert_eq!(config_key_errors("..x"), vec!["must not start with '..'"]);
        assert_eq!(config_key_errors("a b").len(), 1);
    }
}
