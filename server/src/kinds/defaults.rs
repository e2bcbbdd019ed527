//! Defaults of built-in kinds that need nothing but the object: kube's `SetDefaults_*` for
//! Namespace, Node, PersistentVolume(Claim), StorageClass, PriorityClass, NetworkPolicy,
//! IngressClass, HorizontalPodAutoscaler and the RBAC bindings, plus their create-time
//! status. (The published specs declare no scalar defaults, so every default is a small
//! function here.) Kinds with no defaults at all (ConfigMap, Lease, Event, Ingress, Role,
//! ClusterRole) keep the generic strategy.

use kiln_runtime::registry::ResourceInfo;
use serde_json::{Map, Value, json};

use super::{child, child_opt, default, renormalize};
use crate::errors::ApiError;
use crate::strategy::{DefaultStrategy, NameRule, Strategy, WriteContext};

/// A strategy that applies `defaults` on every write and, on create, starts status over.
pub struct Defaulting {
    pub name_rule: NameRule,
    /// Defaults for the whole object (kind, spec and status maps).
    pub defaults: fn(&mut Map<String, Value>),
    /// The status a new object starts with (`None`: the client's status is kept).
    pub initial_status: Option<fn() -> Value>,
}

impl Strategy for Defaulting {
    fn name_rule(&self) -> NameRule {
        self.name_rule
    }
    fn tracks_generation(&self, r: &ResourceInfo) -> bool {
        DefaultStrategy.tracks_generation(r)
    }
    fn prepare_for_create(
        &self,
        _cx: &WriteContext<'_>,
        r: &ResourceInfo,
        obj: &mut Value,
    ) -> Result<(), ApiError> {
        if let Value::Object(map) = obj {
            if let Some(status) = self.initial_status {
                map.insert("status".into(), status());
            }
            (self.defaults)(map);
            renormalize(r, obj);
        }
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
            (self.defaults)(map);
            renormalize(r, new);
        }
        Ok(())
    }
}

fn empty_status() -> Value {
    json!({})
}

/// A PersistentVolume starts `Pending`, with the time it got there.
fn pv_status() -> Value {
    json!({"phase": "Pending", "lastPhaseTransitionTime": crate::objects::now_rfc3339()})
}

const fn strategy(defaults: fn(&mut Map<String, Value>)) -> Defaulting {
    Defaulting {
        name_rule: NameRule::Subdomain,
        defaults,
        initial_status: None,
    }
}

static NODES: Defaulting = strategy(node);
static PERSISTENT_VOLUMES: Defaulting = Defaulting {
    initial_status: Some(pv_status),
    ..strategy(persistent_volume)
};
static PERSISTENT_VOLUME_CLAIMS: Defaulting = Defaulting {
    initial_status: Some(empty_status),
    ..strategy(persistent_volume_claim)
};
static STORAGE_CLASSES: Defaulting = strategy(storage_class);
static PRIORITY_CLASSES: Defaulting = strategy(priority_class);
static NETWORK_POLICIES: Defaulting = strategy(network_policy);
static INGRESS_CLASSES: Defaulting = strategy(ingress_class);
static HPA_V1: Defaulting = Defaulting {
    initial_status: Some(empty_status),
    ..strategy(hpa_v1)
};
static HPA_V2: Defaulting = Defaulting {
    initial_status: Some(empty_status),
    ..strategy(hpa_v2)
};
static RBAC_BINDINGS: Defaulting = Defaulting {
    name_rule: NameRule::PathSegment,
    ..strategy(rbac_binding)
};

/// The defaulting strategy of a resource, when it has defaults here.
pub fn for_resource(r: &ResourceInfo) -> Option<&'static dyn Strategy> {
    let s: &'static Defaulting = match (r.group, r.plural) {
        ("", "nodes") => &NODES,
        ("", "persistentvolumes") => &PERSISTENT_VOLUMES,
        ("", "persistentvolumeclaims") => &PERSISTENT_VOLUME_CLAIMS,
        ("storage.k8s.io", "storageclasses") => &STORAGE_CLASSES,
        ("scheduling.k8s.io", "priorityclasses") => &PRIORITY_CLASSES,
        ("networking.k8s.io", "networkpolicies") => &NETWORK_POLICIES,
        ("networking.k8s.io", "ingressclasses") => &INGRESS_CLASSES,
        ("autoscaling", "horizontalpodautoscalers") if r.version == "v1" => &HPA_V1,
        ("autoscaling", "horizontalpodautoscalers") => &HPA_V2,
        ("rbac.authorization.k8s.io", "rolebindings" | "clusterrolebindings") => &RBAC_BINDINGS,
        _ => return None,
    };
    Some(s)
}

/// `SetDefaults_Namespace` (the `kubernetes.io/metadata.name` label, once the name is known)
/// and `SetDefaults_NamespaceStatus` (phase `Active`).
pub fn namespace(r: &ResourceInfo, obj: &mut Value) {
    let Value::Object(map) = obj else { return };
    let name = map
        .get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if !name.is_empty() {
        let labels = child(child(map, "metadata"), "labels");
        labels.insert("kubernetes.io/metadata.name".into(), Value::String(name));
    }
    if let Some(status) = child_opt(map, "status") {
        default(status, "phase", json!("Active"));
    }
    renormalize(r, obj);
}

/// `SetDefaults_NodeStatus`: allocatable is the capacity unless given.
fn node(obj: &mut Map<String, Value>) {
    let Some(status) = child_opt(obj, "status") else {
        return;
    };
    if matches!(status.get("allocatable"), None | Some(Value::Null))
        && let Some(cap) = status.get("capacity").filter(|c| c.is_object()).cloned()
    {
        status.insert("allocatable".into(), cap);
    }
}

/// `SetDefaults_PersistentVolume`: reclaim policy `Retain`, volume mode `Filesystem`,
/// phase `Pending`; a hostPath source gets its empty `type`.
fn persistent_volume(obj: &mut Map<String, Value>) {
    let spec = child(obj, "spec");
    default(spec, "persistentVolumeReclaimPolicy", json!("Retain"));
    default(spec, "volumeMode", json!("Filesystem"));
    if let Some(h) = child_opt(spec, "hostPath") {
        default(h, "type", json!(""));
    }
    default(child(obj, "status"), "phase", json!("Pending"));
}

/// `SetDefaults_PersistentVolumeClaim(Spec)`: volume mode `Filesystem`, phase `Pending`.
fn persistent_volume_claim(obj: &mut Map<String, Value>) {
    default(child(obj, "spec"), "volumeMode", json!("Filesystem"));
    default(child(obj, "status"), "phase", json!("Pending"));
}

/// `SetDefaults_StorageClass`: reclaim policy `Delete`, binding mode `Immediate`.
fn storage_class(obj: &mut Map<String, Value>) {
    default(obj, "reclaimPolicy", json!("Delete"));
    default(obj, "volumeBindingMode", json!("Immediate"));
}

/// `SetDefaults_PriorityClass`: preemption policy `PreemptLowerPriority`.
fn priority_class(obj: &mut Map<String, Value>) {
    default(obj, "preemptionPolicy", json!("PreemptLowerPriority"));
}

fn non_empty_array(v: Option<&Value>) -> bool {
    v.and_then(Value::as_array).is_some_and(|a| !a.is_empty())
}

/// `SetDefaults_NetworkPolicy` (policy types from the rules) and
/// `SetDefaults_NetworkPolicyPort` (protocol `TCP`).
fn network_policy(obj: &mut Map<String, Value>) {
    let spec = child(obj, "spec");
    if !non_empty_array(spec.get("policyTypes")) {
        let mut types = vec![json!("Ingress")];
        if non_empty_array(spec.get("egress")) {
            types.push(json!("Egress"));
        }
        spec.insert("policyTypes".into(), Value::Array(types));
    }
    for rules in ["ingress", "egress"] {
        let Some(Value::Array(rules)) = spec.get_mut(rules) else {
            continue;
        };
        for rule in rules.iter_mut().filter_map(Value::as_object_mut) {
            let Some(Value::Array(ports)) = rule.get_mut("ports") else {
                continue;
            };
            for port in ports.iter_mut().filter_map(Value::as_object_mut) {
                default(port, "protocol", json!("TCP"));
            }
        }
    }
}

/// `SetDefaults_IngressClass`: a parameters reference is cluster-scoped unless it says so.
fn ingress_class(obj: &mut Map<String, Value>) {
    if let Some(params) = child_opt(obj, "spec").and_then(|s| child_opt(s, "parameters")) {
        default(params, "scope", json!("Cluster"));
    }
}

/// autoscaling/v1 `SetDefaults_HorizontalPodAutoscaler`: at least one replica.
fn hpa_v1(obj: &mut Map<String, Value>) {
    default(child(obj, "spec"), "minReplicas", json!(1));
}

/// autoscaling/v2 `SetDefaults_HorizontalPodAutoscaler`: at least one replica, an 80% CPU
/// utilization target when no metrics are given, and complete scaling rules once a
/// `behavior` is given.
fn hpa_v2(obj: &mut Map<String, Value>) {
    let spec = child(obj, "spec");
    default(spec, "minReplicas", json!(1));
    if !non_empty_array(spec.get("metrics")) {
        spec.insert(
            "metrics".into(),
            json!([{"type": "Resource", "resource": {"name": "cpu",
                "target": {"type": "Utilization", "averageUtilization": 80}}}]),
        );
    }
    let Some(behavior) = child_opt(spec, "behavior") else {
        return;
    };
    let up = json!({"stabilizationWindowSeconds": 0, "selectPolicy": "Max", "policies": [
        {"type": "Pods", "value": 4, "periodSeconds": 15},
        {"type": "Percent", "value": 100, "periodSeconds": 15}]});
    // Scale-down has no stabilization window default: the controller's flag decides.
    let down = json!({"selectPolicy": "Max", "policies": [
        {"type": "Percent", "value": 100, "periodSeconds": 15}]});
    for (key, defaults) in [("scaleUp", up), ("scaleDown", down)] {
        let rules = child(behavior, key);
        if let Value::Object(d) = defaults {
            for (k, v) in d {
                // A given field (even an empty policy list) wins; null is unset.
                default(rules, &k, v);
            }
        }
    }
}

/// `SetDefaults_RoleBinding` / `SetDefaults_ClusterRoleBinding` / `SetDefaults_Subject`:
/// roleRef's API group, and subjects' by kind.
fn rbac_binding(obj: &mut Map<String, Value>) {
    const GROUP: &str = "rbac.authorization.k8s.io";
    if let Some(role_ref) = child_opt(obj, "roleRef") {
        default(role_ref, "apiGroup", json!(GROUP));
    }
    if let Some(Value::Array(subjects)) = obj.get_mut("subjects") {
        for s in subjects.iter_mut().filter_map(Value::as_object_mut) {
            let kind = s.get("kind").and_then(Value::as_str).unwrap_or_default();
            if matches!(kind, "User" | "Group") {
                default(s, "apiGroup", json!(GROUP));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(f: fn(&mut Map<String, Value>), v: Value) -> Value {
        let Value::Object(mut m) = v else {
            panic!("object")
        };
        f(&mut m);
        Value::Object(m)
    }

    #[test]
    fn persistent_volumes_and_claims() {
        let pv = run(
            persistent_volume,
            json!({"spec": {"hostPath": {"path": "/x"}}}),
        );
        assert_eq!(
            pv,
            json!({"spec": {"hostPath": {"path": "/x", "type": ""},
                "persistentVolumeReclaimPolicy": "Retain", "volumeMode": "Filesystem"},
                "status": {"phase": "Pending"}})
        );
        let kept = run(
            persistent_volume,
            json!({"spec": {"persistentVolumeReclaimPolicy": "Delete", "volumeMode": "Block"},
                "status": {"phase": "Bound"}}),
        );
        assert_eq!(kept["spec"]["persistentVolumeReclaimPolicy"], "Delete");
        assert_eq!(kept["spec"]["volumeMode"], "Block");
        assert_eq!(kept["status"]["phase"], "Bound");
        let pvc = run(persistent_volume_claim, json!({"spec": {}}));
        assert_eq!(
            pvc,
            json!({"spec": {"volumeMode": "Filesystem"}, "status": {"phase": "Pending"}})
        );
    }

    #[test]
    fn storage_and_priority_classes() {
        assert_eq!(
            run(storage_class, json!({"provisioner": "p"})),
            json!({"provisioner": "p", "reclaimPolicy": "Delete", "volumeBindingMode": "Immediate"})
        );
        assert_eq!(
            run(
                storage_class,
                json!({"reclaimPolicy": "Retain", "volumeBindingMode": "WaitForFirstConsumer"})
            ),
            json!({"reclaimPolicy": "Retain", "volumeBindingMode": "WaitForFirstConsumer"})
        );
        assert_eq!(
            run(priority_class, json!({"value": 5})),
            json!({"value": 5, "preemptionPolicy": "PreemptLowerPriority"})
        );
        assert_eq!(
            run(priority_class, json!({"preemptionPolicy": "Never"}))["preemptionPolicy"],
            "Never"
        );
    }

    #[test]
    fn network_policies() {
        let np = |spec: Value| run(network_policy, json!({ "spec": spec }))["spec"].clone();
        assert_eq!(np(json!({}))["policyTypes"], json!(["Ingress"]));
        assert_eq!(
            np(json!({"ingress": []}))["policyTypes"],
            json!(["Ingress"])
        );
        assert_eq!(
            np(json!({"egress": [{}]}))["policyTypes"],
            json!(["Ingress", "Egress"])
        );
        assert_eq!(
            np(json!({"egress": [{}], "policyTypes": ["Egress"]}))["policyTypes"],
            json!(["Egress"])
        );
        let ports = np(
            json!({"ingress": [{"ports": [{"port": 80}, {"protocol": "UDP"}]}],
            "egress": [{"ports": [{}]}]}),
        );
        assert_eq!(ports["ingress"][0]["ports"][0]["protocol"], "TCP");
        assert_eq!(ports["ingress"][0]["ports"][1]["protocol"], "UDP");
        assert_eq!(ports["egress"][0]["ports"][0]["protocol"], "TCP");
    }

    #[test]
    fn ingress_classes() {
        assert_eq!(
            run(
                ingress_class,
                json!({"spec": {"controller": "c", "parameters": {"kind": "k", "name": "n"}}})
            )["spec"]["parameters"]["scope"],
            "Cluster"
        );
        assert_eq!(
            run(
                ingress_class,
                json!({"spec": {"parameters": {"scope": "Namespace", "namespace": "x"}}})
            )["spec"]["parameters"]["scope"],
            "Namespace"
        );
        assert_eq!(
            run(ingress_class, json!({"spec": {"controller": "c"}})),
            json!({"spec": {"controller": "c"}})
        );
    }

    #[test]
    fn horizontal_pod_autoscalers() {
        assert_eq!(
            run(hpa_v1, json!({"spec": {"maxReplicas": 3}})),
            json!({"spec": {"maxReplicas": 3, "minReplicas": 1}})
        );
        let v2 = run(hpa_v2, json!({"spec": {"maxReplicas": 3}}));
        assert_eq!(
            v2,
            json!({"spec": {"maxReplicas": 3, "minReplicas": 1, "metrics": [{"type": "Resource",
                "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]}})
        );
        let b = run(
            hpa_v2,
            json!({"spec": {"minReplicas": 2, "metrics": [{"type": "Pods"}],
                "behavior": {"scaleDown": {"stabilizationWindowSeconds": 60, "policies": []}}}}),
        )["spec"]
            .clone();
        assert_eq!(b["minReplicas"], 2);
        assert_eq!(b["metrics"], json!([{"type": "Pods"}]));
        assert_eq!(
            b["behavior"],
            json!({"scaleDown": {"stabilizationWindowSeconds": 60, "policies": [], "selectPolicy": "Max"},
                "scaleUp": {"stabilizationWindowSeconds": 0, "selectPolicy": "Max", "policies": [
                    {"type": "Pods", "value": 4, "periodSeconds": 15},
                    {"type": "Percent", "value": 100, "periodSeconds": 15}]}})
        );
    }

    #[test]
    fn rbac_bindings() {
        let b = run(
            rbac_binding,
            json!({"roleRef": {"kind": "Role", "name": "r"}, "subjects": [
                {"kind": "User", "name": "u"}, {"kind": "Group", "name": "g"},
                {"kind": "ServiceAccount", "name": "sa", "namespace": "n"},
                {"kind": "User", "name": "v", "apiGroup": "other"}]}),
        );
        assert_eq!(b["roleRef"]["apiGroup"], "rbac.authorization.k8s.io");
        assert_eq!(b["subjects"][0]["apiGroup"], "rbac.authorization.k8s.io");
        assert_eq!(b["subjects"][1]["apiGroup"], "rbac.authorization.k8s.io");
        assert!(b["subjects"][2].get("apiGroup").is_none());
        assert_eq!(b["subjects"][3]["apiGroup"], "other");
    }

    #[test]
    fn nodes() {
        let n = run(
            node,
            json!({"status": {"capacity": {"cpu": "2", "pods": "110"}}}),
        );
        assert_eq!(
            n["status"]["allocatable"],
            json!({"cpu": "2", "pods": "110"})
        );
        let n = run(
            node,
            json!({"status": {"capacity": {"cpu": "2"}, "allocatable": {"cpu": "1"}}}),
        );
        assert_eq!(n["status"]["allocatable"], json!({"cpu": "1"}));
        assert_eq!(run(node, json!({"spec": {}})), json!({"spec": {}}));
    }

    #[test]
    fn every_named_resource_exists() {
        let mut found = 0;
        for g in kiln_generated::REGISTRY {
            for v in g.versions {
                for r in v.resources {
                    if for_resource(r).is_some() {
                        found += 1;
                    }
                }
            }
        }
        // nodes, PVs, PVCs, storage classes, priority classes, network policies, ingress
        // classes, two HPA versions, two bindings: at least one version each.
        assert!(found >= 11, "{found}");
    }
}
