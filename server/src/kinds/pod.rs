//! Pods and pod templates: kube's `SetDefaults_PodSpec`, `SetDefaults_Container`,
//! `SetDefaults_Pod`, the admission defaults a cluster applies to pods (service account,
//! priority, default toleration seconds) and the pod strategy's create-time status and
//! `matchLabelKeys` merge.

use std::collections::BTreeMap;

use kiln_generated::api::core::v1::{
    Pod, PodCondition, PodSpec, PodStatus, PodTemplate, PodTemplateSpec, Probe, Toleration, Volume,
};
use kiln_runtime::registry::ResourceInfo;
use kiln_runtime::{Quantity, Str, Time};
use serde_json::{Map, Value, json};

use super::renormalize_typed;
use crate::errors::ApiError;
use crate::strategy::{Strategy, WriteContext};

/// `imagePullPolicy` for an image: `Always` for `:latest` or an untagged image without a
/// digest, else `IfNotPresent` (kube's `SetDefaults_Container`).
pub fn default_pull_policy(image: &str) -> &'static str {
    let (name, digest) = match image.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (image, None),
    };
    let last_slash = name.rfind('/').map(|i| i + 1).unwrap_or(0);
    let tag = name[last_slash..].rsplit_once(':').map(|(_, t)| t);
    let tag = match (tag, digest) {
        (None, None) => Some("latest"),
        (t, _) => t,
    };
    if tag == Some("latest") {
        "Always"
    } else {
        "IfNotPresent"
    }
}

/// Sets a string field kube defaults when it is nil or empty.
fn set_str(slot: &mut Option<Str>, value: &str) {
    if slot.as_deref().is_none_or(str::is_empty) {
        *slot = Some(Str::new(value));
    }
}

fn default_probe(p: &mut Probe) {
    p.timeout_seconds.get_or_insert(1);
    p.period_seconds.get_or_insert(10);
    p.success_threshold.get_or_insert(1);
    p.failure_threshold.get_or_insert(3);
    if let Some(h) = &mut p.http_get {
        set_str(&mut h.path, "/");
        set_str(&mut h.scheme, "HTTP");
    }
}

/// `SetDefaults_Container` (and the defaults of its ports, probes and env), for
/// [`Container`] and [`EphemeralContainer`], which carry the same fields.
macro_rules! default_container {
    ($c:expr, $host_network:expr) => {{
        let c = $c;
        if c.image_pull_policy.as_deref().is_none_or(str::is_empty) {
            let image = c.image.as_deref().unwrap_or("");
            c.image_pull_policy = Some(Str::new(default_pull_policy(image)));
        }
        set_str(&mut c.termination_message_path, "/dev/termination-log");
        set_str(&mut c.termination_message_policy, "File");
        for p in c.ports.iter_mut().flatten() {
            set_str(&mut p.protocol, "TCP");
            if $host_network && p.host_port.unwrap_or(0) == 0 && p.container_port.is_some() {
                p.host_port = p.container_port;
            }
        }
        for p in [
            &mut c.liveness_probe,
            &mut c.readiness_probe,
            &mut c.startup_probe,
        ] {
            if let Some(p) = p {
                default_probe(p);
            }
        }
        for e in c.env.iter_mut().flatten() {
            if let Some(f) = e.value_from.as_mut().and_then(|v| v.field_ref.as_mut()) {
                set_str(&mut f.api_version, "v1");
            }
        }
    }};
}

/// Whether a volume names any of its sources.
fn has_source(v: &Volume) -> bool {
    v.host_path.is_some()
        || v.empty_dir.is_some()
        || v.gce_persistent_disk.is_some()
        || v.aws_elastic_block_store.is_some()
        || v.git_repo.is_some()
        || v.secret.is_some()
        || v.nfs.is_some()
        || v.iscsi.is_some()
        || v.glusterfs.is_some()
        || v.persistent_volume_claim.is_some()
        || v.rbd.is_some()
        || v.flex_volume.is_some()
        || v.cinder.is_some()
        || v.cephfs.is_some()
        || v.flocker.is_some()
        || v.downward_api.is_some()
        || v.fc.is_some()
        || v.azure_file.is_some()
        || v.config_map.is_some()
        || v.vsphere_volume.is_some()
        || v.quobyte.is_some()
        || v.azure_disk.is_some()
        || v.photon_persistent_disk.is_some()
        || v.projected.is_some()
        || v.portworx_volume.is_some()
        || v.scale_io.is_some()
        || v.storageos.is_some()
        || v.csi.is_some()
        || v.ephemeral.is_some()
        || v.image.is_some()
}

/// `SetDefaults_Volume` and the default modes of secret, configMap, downwardAPI and
/// projected sources (0644) and the hostPath type ("").
fn default_volume(v: &mut Volume) {
    if !has_source(v) {
        v.empty_dir = Some(Default::default());
    }
    if let Some(s) = &mut v.secret {
        s.default_mode.get_or_insert(0o644);
    }
    if let Some(s) = &mut v.config_map {
        s.default_mode.get_or_insert(0o644);
    }
    if let Some(s) = &mut v.downward_api {
        s.default_mode.get_or_insert(0o644);
    }
    if let Some(s) = &mut v.projected {
        s.default_mode.get_or_insert(0o644);
    }
    if let Some(h) = &mut v.host_path {
        h.type_.get_or_insert_with(Str::default);
    }
}

/// Defaults a pod spec (`SetDefaults_PodSpec` and the nested container/volume defaults);
/// used for pods and for every pod template. Defaulting works on the typed form, as kube's
/// does: the strategies run it between decoding the object into its kind's type and
/// encoding it back (see [`renormalize_typed`]).
pub fn default_pod_spec(spec: &mut PodSpec) {
    set_str(&mut spec.dns_policy, "ClusterFirst");
    set_str(&mut spec.restart_policy, "Always");
    spec.security_context.get_or_insert_default();
    spec.termination_grace_period_seconds.get_or_insert(30);
    set_str(&mut spec.scheduler_name, "default-scheduler");
    let host_network = spec.host_network.unwrap_or(false);
    let containers = spec
        .init_containers
        .iter_mut()
        .chain(spec.containers.iter_mut());
    for c in containers.flatten() {
        default_container!(c, host_network);
    }
    for c in spec.ephemeral_containers.iter_mut().flatten() {
        default_container!(c, host_network);
    }
    for v in spec.volumes.iter_mut().flatten() {
        default_volume(v);
    }
}

/// Defaults a pod template (`spec.template` of workloads) in place.
pub fn default_template(template: &mut PodTemplateSpec) {
    default_pod_spec(template.spec.get_or_insert_default());
}

/// `SetDefaults_Pod`: limits imply requests, service links on.
fn default_pod(spec: &mut PodSpec) {
    let containers = spec
        .init_containers
        .iter_mut()
        .chain(spec.containers.iter_mut());
    for c in containers.flatten() {
        let Some(res) = &mut c.resources else {
            continue;
        };
        let Some(limits) = res.limits.as_ref().filter(|l| !l.is_empty()) else {
            continue;
        };
        let requests = res.requests.get_or_insert_default();
        for (k, v) in limits {
            requests.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    spec.enable_service_links.get_or_insert(true);
    default_pod_spec(spec);
}

/// Admission defaults every cluster applies to new pods: the `default` service account
/// (ServiceAccount), priority 0 (Priority) and the not-ready/unreachable tolerations
/// (DefaultTolerationSeconds).
fn admit_pod(spec: &mut PodSpec) {
    set_str(&mut spec.service_account_name, "default");
    spec.service_account.clone_from(&spec.service_account_name);
    spec.priority.get_or_insert(0);
    set_str(&mut spec.preemption_policy, "PreemptLowerPriority");
    let ts = spec.tolerations.get_or_insert_default();
    for key in [
        "node.kubernetes.io/not-ready",
        "node.kubernetes.io/unreachable",
    ] {
        let tolerated = ts.iter().any(|t| {
            let effect = t.effect.as_deref().unwrap_or("");
            let k = t.key.as_deref().unwrap_or("");
            let op = t.operator.as_deref().unwrap_or("Equal");
            (effect.is_empty() || effect == "NoExecute")
                && (k == key || (k.is_empty() && op == "Exists"))
        });
        if !tolerated {
            ts.push(Toleration {
                key: Some(Str::new(key)),
                operator: Some(Str::new("Exists")),
                effect: Some(Str::new("NoExecute")),
                toleration_seconds: Some(300),
                ..Default::default()
            });
        }
    }
}

/// kube's `GetPodQOS` over cpu and memory.
pub fn qos_class(spec: &PodSpec) -> &'static str {
    let mut requests: BTreeMap<&str, Quantity> = BTreeMap::new();
    let mut limits: BTreeMap<&str, Quantity> = BTreeMap::new();
    let mut guaranteed = true;
    let add = |sum: &mut BTreeMap<&'static str, Quantity>, name: &'static str, q: &Quantity| {
        let total = match sum.get(name) {
            Some(prev) => prev.checked_add(q).unwrap_or_else(|| q.clone()),
            None => q.clone(),
        };
        sum.insert(name, total);
    };
    /// The positive cpu and memory quantities of a requests or limits map.
    fn positive(
        m: Option<&BTreeMap<Str, Quantity>>,
    ) -> impl Iterator<Item = (&'static str, &Quantity)> {
        m.into_iter().flatten().filter_map(|(k, q)| {
            let name = match k.as_str() {
                "cpu" => "cpu",
                "memory" => "memory",
                _ => return None,
            };
            (q.sign() > 0).then_some((name, q))
        })
    }
    let containers = spec.init_containers.iter().chain(spec.containers.iter());
    for c in containers.flatten() {
        let res = c.resources.as_ref();
        for (k, q) in positive(res.and_then(|r| r.requests.as_ref())) {
            add(&mut requests, k, q);
        }
        let (mut cpu, mut memory) = (false, false);
        for (k, q) in positive(res.and_then(|r| r.limits.as_ref())) {
            cpu |= k == "cpu";
            memory |= k == "memory";
            add(&mut limits, k, q);
        }
        if !(cpu && memory) {
            guaranteed = false;
        }
    }
    if requests.is_empty() && limits.is_empty() {
        return "BestEffort";
    }
    if guaranteed {
        for (k, req) in &requests {
            match limits.get(k) {
                Some(l) if l.cmp_value(req) == std::cmp::Ordering::Equal => {}
                _ => {
                    guaranteed = false;
                    break;
                }
            }
        }
    }
    if guaranteed && requests.len() == limits.len() {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

/// kube's `mutatePodAffinity` and `mutateTopologySpreadConstraints` (pod create, with
/// `MatchLabelKeysInPodAffinity` and `MatchLabelKeysInPodTopologySpreadSelectorMerge` on):
/// for every key in a pod affinity term's or spread constraint's `matchLabelKeys` that the
/// pod carries, an `In` requirement on the pod's value is appended to the term's
/// `labelSelector` (`NotIn` for a pod affinity term's `mismatchLabelKeys`); terms without a
/// selector are left alone.
pub fn merge_label_keys(pod: &mut Map<String, Value>) {
    let labels = pod
        .get("metadata")
        .and_then(|m| m.get("labels"))
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let Some(Value::Object(spec)) = pod.get_mut("spec") else {
        return;
    };
    if let Some(Value::Object(aff)) = spec.get_mut("affinity") {
        for kind in ["podAffinity", "podAntiAffinity"] {
            let Some(Value::Object(pa)) = aff.get_mut(kind) else {
                continue;
            };
            if let Some(Value::Array(terms)) =
                pa.get_mut("preferredDuringSchedulingIgnoredDuringExecution")
            {
                for t in terms {
                    if let Some(term) = t.get_mut("podAffinityTerm") {
                        apply_label_keys(term, &labels, true);
                    }
                }
            }
            if let Some(Value::Array(terms)) =
                pa.get_mut("requiredDuringSchedulingIgnoredDuringExecution")
            {
                for term in terms {
                    apply_label_keys(term, &labels, true);
                }
            }
        }
    }
    if let Some(Value::Array(constraints)) = spec.get_mut("topologySpreadConstraints") {
        for c in constraints {
            apply_label_keys(c, &labels, false);
        }
    }
}

fn apply_label_keys(term: &mut Value, labels: &Map<String, Value>, with_mismatch: bool) {
    let Value::Object(t) = term else { return };
    let keys = |f: &str| -> Vec<String> {
        t.get(f)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    let matching = keys("matchLabelKeys");
    let mismatching = if with_mismatch {
        keys("mismatchLabelKeys")
    } else {
        Vec::new()
    };
    if matching.is_empty() && mismatching.is_empty() {
        return;
    }
    let Some(Value::Object(sel)) = t.get_mut("labelSelector") else {
        return;
    };
    let mut added = Vec::new();
    for (list, op) in [(&matching, "In"), (&mismatching, "NotIn")] {
        for k in list {
            if let Some(v) = labels.get(k) {
                added.push(json!({"key": k, "operator": op, "values": [v]}));
            }
        }
    }
    if added.is_empty() {
        return;
    }
    match sel.get_mut("matchExpressions") {
        Some(Value::Array(exprs)) => exprs.extend(added),
        _ => {
            sel.insert("matchExpressions".into(), Value::Array(added));
        }
    }
}

/// The condition the pod strategy gives a new pod with scheduling gates (kube's
/// `applySchedulingGatedCondition`; the status was just reset, so it is the only one).
fn scheduling_gated() -> PodCondition {
    PodCondition {
        type_: Some(Str::new("PodScheduled")),
        status: Some(Str::new("False")),
        reason: Some(Str::new("SchedulingGated")),
        message: Some(Str::new(
            "Scheduling is blocked due to non-empty scheduling gates",
        )),
        last_transition_time: Some(Time::now()),
        ..Default::default()
    }
}

pub struct PodStrategy;
impl Strategy for PodStrategy {
    fn prepare_for_create(
        &self,
        _cx: &WriteContext<'_>,
        r: &ResourceInfo,
        obj: &mut Value,
    ) -> Result<(), ApiError> {
        let Value::Object(map) = obj else {
            return Ok(());
        };
        merge_label_keys(map);
        renormalize_typed(r, obj, |pod: &mut Pod| {
            let spec = pod.spec.get_or_insert_default();
            default_pod(spec);
            admit_pod(spec);
            let qos = qos_class(spec);
            let gated = spec
                .scheduling_gates
                .as_ref()
                .is_some_and(|g| !g.is_empty());
            pod.status = Some(PodStatus {
                phase: Some(Str::new("Pending")),
                qos_class: Some(Str::new(qos)),
                conditions: gated.then(|| vec![scheduling_gated()]),
                ..Default::default()
            });
        })
    }
    fn prepare_for_update(
        &self,
        _cx: &WriteContext<'_>,
        r: &ResourceInfo,
        new: &mut Value,
        _old: &Value,
    ) -> Result<(), ApiError> {
        if !new.is_object() {
            return Ok(());
        }
        renormalize_typed(r, new, |pod: &mut Pod| {
            default_pod(pod.spec.get_or_insert_default())
        })
    }
}

/// PodTemplate objects: `template` carries the pod template.
pub struct PodTemplateStrategy;
impl Strategy for PodTemplateStrategy {
    fn prepare_for_create(
        &self,
        _cx: &WriteContext<'_>,
        r: &ResourceInfo,
        obj: &mut Value,
    ) -> Result<(), ApiError> {
        if !obj.is_object() {
            return Ok(());
        }
        renormalize_typed(r, obj, |t: &mut PodTemplate| {
            default_template(t.template.get_or_insert_default())
        })
    }
    fn prepare_for_update(
        &self,
        cx: &WriteContext<'_>,
        r: &ResourceInfo,
        new: &mut Value,
        _old: &Value,
    ) -> Result<(), ApiError> {
        self.prepare_for_create(cx, r, new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pull_policy() {
        assert_eq!(default_pull_policy("nginx"), "Always");
        assert_eq!(default_pull_policy("nginx:latest"), "Always");
        assert_eq!(default_pull_policy("nginx:1.27"), "IfNotPresent");
        assert_eq!(default_pull_policy("localhost:5000/nginx"), "Always");
        assert_eq!(
            default_pull_policy("localhost:5000/nginx:1"),
            "IfNotPresent"
        );
        assert_eq!(default_pull_policy("nginx@sha256:abcd"), "IfNotPresent");
        assert_eq!(default_pull_policy("nginx:latest@sha256:abcd"), "Always");
    }

    #[test]
    fn pod_spec_defaults() {
        let spec = json!({"containers": [{"name": "c", "image": "nginx", "ports": [{"containerPort": 80}]}]});
        let mut spec: PodSpec = serde_json::from_value(spec).unwrap();
        default_pod(&mut spec);
        admit_pod(&mut spec);
        let spec = serde_json::to_value(&spec).unwrap();
        assert_eq!(spec["dnsPolicy"], "ClusterFirst");
        assert_eq!(spec["restartPolicy"], "Always");
        assert_eq!(spec["securityContext"], json!({}));
        assert_eq!(spec["terminationGracePeriodSeconds"], 30);
        assert_eq!(spec["schedulerName"], "default-scheduler");
        assert_eq!(spec["enableServiceLinks"], true);
        assert_eq!(spec["serviceAccountName"], "default");
        assert_eq!(spec["serviceAccount"], "default");
        assert_eq!(spec["priority"], 0);
        assert_eq!(spec["tolerations"].as_array().map(Vec::len), Some(2));
        let c = &spec["containers"][0];
        assert_eq!(c["imagePullPolicy"], "Always");
        assert_eq!(c["terminationMessagePath"], "/dev/termination-log");
        assert_eq!(c["terminationMessagePolicy"], "File");
        assert_eq!(c["ports"][0]["protocol"], "TCP");
    }

    #[test]
    fn label_keys_merge_into_selectors() {
        let mut pod = json!({"metadata": {"labels": {"app": "web", "rev": "7"}}, "spec": {
            "affinity": {"podAntiAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": [
                    {"labelSelector": {"matchLabels": {"tier": "x"}}, "topologyKey": "zone",
                     "matchLabelKeys": ["app", "missing"], "mismatchLabelKeys": ["rev"]},
                    {"topologyKey": "zone", "matchLabelKeys": ["app"]}],
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {"weight": 1, "podAffinityTerm": {"labelSelector": {"matchExpressions": [
                        {"key": "tier", "operator": "Exists"}]}, "topologyKey": "zone", "matchLabelKeys": ["rev"]}}]}},
            "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "zone",
                "whenUnsatisfiable": "DoNotSchedule", "labelSelector": {}, "matchLabelKeys": ["app"]}]}});
        let Value::Object(m) = &mut pod else { panic!() };
        merge_label_keys(m);
        let anti = &pod["spec"]["affinity"]["podAntiAffinity"];
        assert_eq!(
            anti["requiredDuringSchedulingIgnoredDuringExecution"][0]["labelSelector"],
            json!({"matchLabels": {"tier": "x"}, "matchExpressions": [
                {"key": "app", "operator": "In", "values": ["web"]},
                {"key": "rev", "operator": "NotIn", "values": ["7"]}]})
        );
        assert!(
            anti["requiredDuringSchedulingIgnoredDuringExecution"][1]
                .get("labelSelector")
                .is_none()
        );
        assert_eq!(
            anti["preferredDuringSchedulingIgnoredDuringExecution"][0]["podAffinityTerm"]["labelSelector"]
                ["matchExpressions"],
            json!([{"key": "tier", "operator": "Exists"}, {"key": "rev", "operator": "In", "values": ["7"]}])
        );
        assert_eq!(
            pod["spec"]["topologySpreadConstraints"][0]["labelSelector"],
            json!({"matchExpressions": [{"key": "app", "operator": "In", "values": ["web"]}]})
        );
    }

    #[test]
    fn template_defaults_skip_pod_only_fields() {
        let t = json!({"spec": {"containers": [{"name": "c", "image": "nginx:1"}]}});
        let mut t: PodTemplateSpec = serde_json::from_value(t).unwrap();
        default_template(&mut t);
        let t = serde_json::to_value(&t).unwrap();
        assert_eq!(t["spec"]["restartPolicy"], "Always");
        assert!(t["spec"].get("enableServiceLinks").is_none());
        assert!(t["spec"].get("serviceAccountName").is_none());
        assert_eq!(
            t["spec"]["containers"][0]["imagePullPolicy"],
            "IfNotPresent"
        );
    }

    fn qos(resources: &[Value]) -> &'static str {
        let cs: Vec<Value> = resources
            .iter()
            .map(|r| json!({"name": "c", "resources": r}))
            .collect();
        let mut spec: PodSpec = serde_json::from_value(json!({ "containers": cs })).unwrap();
        default_pod(&mut spec);
        qos_class(&spec)
    }

    #[test]
    fn qos_classes() {
        assert_eq!(qos(&[json!({})]), "BestEffort");
        assert_eq!(qos(&[json!({"requests": {"cpu": "0"}})]), "BestEffort");
        assert_eq!(qos(&[json!({"requests": {"cpu": "100m"}})]), "Burstable");
        assert_eq!(
            qos(&[json!({"limits": {"cpu": "100m", "memory": "64Mi"}})]),
            "Guaranteed",
            "limits imply requests"
        );
        assert_eq!(
            qos(&[
                json!({"requests": {"cpu": "0.1", "memory": "64Mi"}, "limits": {"cpu": "100m", "memory": "64Mi"}})
            ]),
            "Guaranteed"
        );
        assert_eq!(
            qos(&[
                json!({"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "100m", "memory": "64Mi"}})
            ]),
            "Burstable"
        );
        assert_eq!(qos(&[json!({"limits": {"cpu": "1"}})]), "Burstable");
        assert_eq!(
            qos(&[json!({"limits": {"cpu": "1", "memory": "1Gi"}}), json!({})]),
            "Burstable"
        );
        assert_eq!(
            qos(&[json!({"requests": {"ephemeral-storage": "1Gi"}})]),
            "BestEffort"
        );
    }
}
