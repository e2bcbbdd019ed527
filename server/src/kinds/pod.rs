//! Pods and pod templates: kube's `SetDefaults_PodSpec`, `SetDefaults_Container`,
//! `SetDefaults_Pod`, the admission defaults a cluster applies to pods (service account,
//! priority, default toleration seconds) and the pod strategy's create-time status and
//! `matchLabelKeys` merge.

use std::collections::BTreeMap;

use kiln_runtime::Quantity;
use kiln_runtime::registry::ResourceInfo;
use serde_json::{Map, Value, json};

use super::{child, child_opt, default, field, field_mut, renormalize};
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

fn default_probe(p: &mut Map<String, Value>) {
    default(p, "timeoutSeconds", json!(1));
    default(p, "periodSeconds", json!(10));
    default(p, "successThreshold", json!(1));
    default(p, "failureThreshold", json!(3));
    if let Some(h) = child_opt(p, "httpGet") {
        default(h, "path", json!("/"));
        default(h, "scheme", json!("HTTP"));
    }
}

fn default_container(c: &mut Map<String, Value>, host_network: bool) {
    if !matches!(field(c, "imagePullPolicy").and_then(Value::as_str), Some(s) if !s.is_empty()) {
        let image = field(c, "image").and_then(Value::as_str).unwrap_or("");
        let policy = json!(default_pull_policy(image));
        match field_mut(c, "imagePullPolicy") {
            Some(slot) => *slot = policy,
            None => {
                c.insert("imagePullPolicy".into(), policy);
            }
        }
    }
    default(c, "terminationMessagePath", json!("/dev/termination-log"));
    default(c, "terminationMessagePolicy", json!("File"));
    // One pass over the container's fields for the nested defaults.
    for (k, v) in c.iter_mut() {
        match (k.as_str(), v) {
            ("ports", Value::Array(ports)) => {
                for p in ports.iter_mut().filter_map(Value::as_object_mut) {
                    default(p, "protocol", json!("TCP"));
                    if host_network
                        && field(p, "hostPort").and_then(Value::as_i64).unwrap_or(0) == 0
                        && let Some(cp) = field(p, "containerPort").cloned()
                    {
                        p.insert("hostPort".into(), cp);
                    }
                }
            }
            ("livenessProbe" | "readinessProbe" | "startupProbe", Value::Object(p)) => {
                default_probe(p)
            }
            ("env", Value::Array(env)) => {
                for e in env.iter_mut().filter_map(Value::as_object_mut) {
                    if let Some(f) =
                        child_opt(e, "valueFrom").and_then(|v| child_opt(v, "fieldRef"))
                    {
                        default(f, "apiVersion", json!("v1"));
                    }
                }
            }
            _ => {}
        }
    }
}

/// Whether `key` names one of a Volume's sources.
fn is_volume_source(key: &str) -> bool {
    matches!(
        key,
        "hostPath"
            | "emptyDir"
            | "gcePersistentDisk"
            | "awsElasticBlockStore"
            | "gitRepo"
            | "secret"
            | "nfs"
            | "iscsi"
            | "glusterfs"
            | "persistentVolumeClaim"
            | "rbd"
            | "flexVolume"
            | "cinder"
            | "cephfs"
            | "flocker"
            | "downwardAPI"
            | "fc"
            | "azureFile"
            | "configMap"
            | "vsphereVolume"
            | "quobyte"
            | "azureDisk"
            | "photonPersistentDisk"
            | "projected"
            | "portworxVolume"
            | "scaleIO"
            | "storageos"
            | "csi"
            | "ephemeral"
            | "image"
    )
}

fn default_volume(v: &mut Map<String, Value>) {
    let mut has_source = false;
    for (k, s) in v.iter_mut() {
        let k = k.as_str();
        has_source |= is_volume_source(k);
        match (k, s) {
            ("secret" | "configMap" | "downwardAPI" | "projected", Value::Object(s)) => {
                default(s, "defaultMode", json!(420))
            }
            ("hostPath", Value::Object(h)) => default(h, "type", json!("")),
            _ => {}
        }
    }
    if !has_source {
        v.insert("emptyDir".into(), json!({}));
    }
}

/// Defaults a pod spec (`SetDefaults_PodSpec` and the nested container/volume defaults);
/// used for pods and for every pod template.
pub fn default_pod_spec(spec: &mut Map<String, Value>) {
    default(spec, "dnsPolicy", json!("ClusterFirst"));
    default(spec, "restartPolicy", json!("Always"));
    default(spec, "securityContext", json!({}));
    default(spec, "terminationGracePeriodSeconds", json!(30));
    default(spec, "schedulerName", json!("default-scheduler"));
    let host_network = field(spec, "hostNetwork")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    for (k, v) in spec.iter_mut() {
        match (k.as_str(), v) {
            ("initContainers" | "containers" | "ephemeralContainers", Value::Array(cs)) => {
                for c in cs.iter_mut().filter_map(Value::as_object_mut) {
                    default_container(c, host_network);
                }
            }
            ("volumes", Value::Array(vols)) => {
                for v in vols.iter_mut().filter_map(Value::as_object_mut) {
                    default_volume(v);
                }
            }
            _ => {}
        }
    }
}

/// Defaults a pod template (`spec.template` of workloads) in place.
pub fn default_template(template: &mut Map<String, Value>) {
    default_pod_spec(child(template, "spec"));
}

/// `SetDefaults_Pod`: limits imply requests, service links on.
fn default_pod(spec: &mut Map<String, Value>) {
    for list in ["initContainers", "containers"] {
        if let Some(Value::Array(cs)) = spec.get_mut(list) {
            for c in cs.iter_mut().filter_map(Value::as_object_mut) {
                let Some(res) = child_opt(c, "resources") else {
                    continue;
                };
                let Some(Value::Object(limits)) = res.get("limits").cloned() else {
                    continue;
                };
                if limits.is_empty() {
                    continue;
                }
                let requests = child(res, "requests");
                for (k, v) in limits {
                    requests.entry(k).or_insert(v);
                }
            }
        }
    }
    default(spec, "enableServiceLinks", json!(true));
    default_pod_spec(spec);
}

/// Admission defaults every cluster applies to new pods: the `default` service account
/// (ServiceAccount), priority 0 (Priority) and the not-ready/unreachable tolerations
/// (DefaultTolerationSeconds).
fn admit_pod(spec: &mut Map<String, Value>) {
    default(spec, "serviceAccountName", json!("default"));
    if let Some(sa) = spec.get("serviceAccountName").cloned() {
        spec.insert("serviceAccount".into(), sa);
    }
    default(spec, "priority", json!(0));
    default(spec, "preemptionPolicy", json!("PreemptLowerPriority"));
    let tolerations = spec
        .entry("tolerations")
        .or_insert_with(|| Value::Array(Vec::new()));
    if !tolerations.is_array() {
        *tolerations = Value::Array(Vec::new());
    }
    if let Value::Array(ts) = tolerations {
        for key in [
            "node.kubernetes.io/not-ready",
            "node.kubernetes.io/unreachable",
        ] {
            let tolerated = ts.iter().any(|t| {
                let effect = t.get("effect").and_then(Value::as_str).unwrap_or("");
                let k = t.get("key").and_then(Value::as_str).unwrap_or("");
                let op = t.get("operator").and_then(Value::as_str).unwrap_or("Equal");
                (effect.is_empty() || effect == "NoExecute")
                    && (k == key || (k.is_empty() && op == "Exists"))
            });
            if !tolerated {
                ts.push(json!({
                    "key": key,
                    "operator": "Exists",
                    "effect": "NoExecute",
                    "tolerationSeconds": 300
                }));
            }
        }
    }
}

/// kube's `GetPodQOS` over cpu and memory.
pub fn qos_class(spec: &Value) -> &'static str {
    let mut requests: BTreeMap<String, Quantity> = BTreeMap::new();
    let mut limits: BTreeMap<String, Quantity> = BTreeMap::new();
    let mut guaranteed = true;
    let add = |sum: &mut BTreeMap<String, Quantity>, name: &str, q: Quantity| {
        let total = match sum.get(name) {
            Some(prev) => prev.checked_add(&q).unwrap_or(q),
            None => q,
        };
        sum.insert(name.to_string(), total);
    };
    for list in ["initContainers", "containers"] {
        let Some(cs) = spec.get(list).and_then(Value::as_array) else {
            continue;
        };
        for c in cs {
            let res = c.get("resources");
            let positive = |which: &str| -> Vec<(String, Quantity)> {
                res.and_then(|r| r.get(which))
                    .and_then(Value::as_object)
                    .map(|m| {
                        m.iter()
                            .filter(|(k, _)| matches!(k.as_str(), "cpu" | "memory"))
                            .filter_map(|(k, v)| {
                                let q = match v {
                                    Value::String(s) => Quantity::parse(s).ok()?,
                                    Value::Number(n) => Quantity::parse(&n.to_string()).ok()?,
                                    _ => return None,
                                };
                                (q.sign() > 0).then(|| (k.clone(), q))
                            })
                            .collect()
                    })
                    .unwrap_or_default()
            };
            for (k, q) in positive("requests") {
                add(&mut requests, &k, q);
            }
            let found = positive("limits");
            let has = |n: &str| found.iter().any(|(k, _)| k == n);
            if !(has("cpu") && has("memory")) {
                guaranteed = false;
            }
            for (k, q) in found {
                add(&mut limits, &k, q);
            }
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
        let spec = child(map, "spec");
        default_pod(spec);
        admit_pod(spec);
        merge_label_keys(map);
        let qos = qos_class(map.get("spec").unwrap_or(&Value::Null));
        map.insert(
            "status".into(),
            json!({"phase": "Pending", "qosClass": qos}),
        );
        renormalize(r, obj);
        Ok(())
    }
    fn prepare_for_update(
        &self,
        _cx: &WriteContext<'_>,
        r: &ResourceInfo,
        new: &mut Value,
        _old: &Value,
    ) -> Result<(), ApiError> {
        if let Value::Object(map) = new {
            default_pod(child(map, "spec"));
            renormalize(r, new);
        }
        Ok(())
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
        if let Value::Object(map) = obj {
            default_template(child(map, "template"));
            renormalize(r, obj);
        }
        Ok(())
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
        let mut spec = json!({"containers": [{"name": "c", "image": "nginx", "ports": [{"containerPort": 80}]}]});
        let Value::Object(m) = &mut spec else {
            panic!()
        };
        default_pod(m);
        admit_pod(m);
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
        let mut t = json!({"spec": {"containers": [{"name": "c", "image": "nginx:1"}]}});
        let Value::Object(m) = &mut t else { panic!() };
        default_template(m);
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
        let mut spec = json!({ "containers": cs });
        let Value::Object(m) = &mut spec else {
            panic!()
        };
        default_pod(m);
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
