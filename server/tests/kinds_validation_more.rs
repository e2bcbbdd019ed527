//! Validation of more built-in kinds end to end: PersistentVolumeClaims, Ingresses,
//! PriorityClasses, StorageClasses, HorizontalPodAutoscalers and scheduling constraints
//! (pod affinity, topology spread, PV node affinity, allowed topologies) are rejected with
//! kube-apiserver's 422 `Invalid` Status (one cause per field error).
mod common;

use common::TestServer;
use serde_json::{Value, json};

fn causes(v: &Value) -> Vec<(String, String, String)> {
    v["details"]["causes"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|c| {
                    (
                        c["reason"].as_str().unwrap_or("").to_string(),
                        c["field"].as_str().unwrap_or("").to_string(),
                        c["message"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn cause(reason: &str, field: &str, message: &str) -> (String, String, String) {
    (reason.into(), field.into(), message.into())
}

#[tokio::test]
async fn bad_claims_and_ingresses_are_rejected() {
    let s = TestServer::start().await;
    s.namespace("vm").await;

    let pvc = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "c"},
        "spec": {"accessModes": ["ReadWriteSometimes"], "resources": {"requests": {"storage": "0"}}}});
    let r = s
        .post_json("/api/v1/namespaces/vm/persistentvolumeclaims", &pvc)
        .await;
    assert_eq!(r.status, 422, "{}", r.text());
    let b = r.json();
    assert_eq!(b["reason"], "Invalid");
    assert_eq!(b["details"]["kind"], "PersistentVolumeClaim");
    assert_eq!(
        causes(&b),
        vec![
            cause(
                "FieldValueNotSupported",
                "spec.accessModes",
                "Unsupported value: \"ReadWriteSometimes\": supported values: \"ReadOnlyMany\", \"ReadWriteMany\", \"ReadWriteOnce\", \"ReadWriteOncePod\""
            ),
            cause(
                "FieldValueInvalid",
                "spec.resources[storage]",
                "Invalid value: \"0\": must be greater than zero"
            ),
        ]
    );

    // A valid claim is accepted; its spec is then fixed while it is unbound.
    let good = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "ok"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}});
    let r = s
        .post_json("/api/v1/namespaces/vm/persistentvolumeclaims", &good)
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let r = s
        .patch(
            "/api/v1/namespaces/vm/persistentvolumeclaims/ok",
            "application/merge-patch+json",
            &json!({"spec": {"resources": {"requests": {"storage": "2Gi"}}}}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text());
    let c = causes(&r.json());
    assert_eq!(c.len(), 1, "{c:?}");
    assert_eq!(c[0].0, "FieldValueForbidden");
    assert_eq!(c[0].1, "spec");
    assert!(c[0].2.starts_with("Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims\n"), "{c:?}");

    let ing = json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "i"},
        "spec": {"rules": [{"host": "Example.com", "http": {"paths": [
            {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web"}}}]}}]}});
    let r = s
        .post_json("/apis/networking.k8s.io/v1/namespaces/vm/ingresses", &ing)
        .await;
    assert_eq!(r.status, 422, "{}", r.text());
    let b = r.json();
    assert_eq!(b["details"]["group"], "networking.k8s.io");
    assert_eq!(
        causes(&b),
        vec![
            cause(
                "FieldValueInvalid",
                "spec.rules[0].host",
                "Invalid value: \"Example.com\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
            ),
            cause(
                "FieldValueRequired",
                "spec.rules[0].http.paths[0].backend",
                "Required value: port name or number is required"
            ),
        ]
    );
    let r = s
        .post_json(
            "/apis/networking.k8s.io/v1/namespaces/vm/ingresses",
            &json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "e"}, "spec": {}}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text());
    assert_eq!(
        r.json()["message"],
        "Ingress.networking.k8s.io \"e\" is invalid: spec: Invalid value: null: either `defaultBackend` or `rules` must be specified"
    );
    s.stop().await;
}

#[tokio::test]
async fn priority_and_storage_classes() {
    let s = TestServer::start().await;
    let r = s
        .post_json(
            "/apis/scheduling.k8s.io/v1/priorityclasses",
            &json!({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
                "metadata": {"name": "too-high"}, "value": 1000000001}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text());
    assert_eq!(
        causes(&r.json()),
        vec![cause(
            "FieldValueForbidden",
            "value",
            "Forbidden: maximum allowed value of a user defined priority is 1000000000"
        )]
    );
    let r = s
        .post_json(
            "/apis/scheduling.k8s.io/v1/priorityclasses",
            &json!({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
                "metadata": {"name": "high"}, "value": 1000}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let r = s
        .patch(
            "/apis/scheduling.k8s.io/v1/priorityclasses/high",
            "application/merge-patch+json",
            &json!({"value": 2000}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text());
    assert_eq!(
        r.json()["message"],
        "PriorityClass.scheduling.k8s.io \"high\" is invalid: value: Forbidden: may not be changed in an update."
    );

    let sc = json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
        "metadata": {"name": "fast"}, "provisioner": "example.com/disk", "parameters": {"type": "ssd"}});
    let r = s
        .post_json("/apis/storage.k8s.io/v1/storageclasses", &sc)
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["reclaimPolicy"], "Delete");
    let r = s
        .patch(
            "/apis/storage.k8s.io/v1/storageclasses/fast",
            "application/merge-patch+json",
            &json!({"parameters": {"type": "hdd"}, "volumeBindingMode": "WaitForFirstConsumer"}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text());
    assert_eq!(
        causes(&r.json()),
        vec![
            cause(
                "FieldValueForbidden",
                "parameters",
                "Forbidden: updates to parameters are forbidden."
            ),
            cause(
                "FieldValueInvalid",
                "volumeBindingMode",
                "Invalid value: \"WaitForFirstConsumer\": field is immutable"
            ),
        ]
    );
    // Labels may still change.
    let r = s
        .patch(
            "/apis/storage.k8s.io/v1/storageclasses/fast",
            "application/merge-patch+json",
            &json!({"metadata": {"labels": {"tier": "a"}}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    s.stop().await;
}

#[tokio::test]
async fn autoscalers_validate_in_both_versions() {
    let s = TestServer::start().await;
    s.namespace("hpa").await;
    let r = s
        .post_json(
            "/apis/autoscaling/v2/namespaces/hpa/horizontalpodautoscalers",
            &json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "a"},
                "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                    "minReplicas": 3, "maxReplicas": 2}}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text());
    assert_eq!(
        causes(&r.json()),
        vec![cause(
            "FieldValueInvalid",
            "spec.maxReplicas",
            "Invalid value: 2: must be greater than or equal to `minReplicas`"
        )]
    );
    // autoscaling/v1 objects are checked in the internal (v2) shape.
    let r = s
        .post_json(
            "/apis/autoscaling/v1/namespaces/hpa/horizontalpodautoscalers",
            &json!({"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "b"},
                "spec": {"scaleTargetRef": {"kind": "Deployment", "name": ""},
                    "minReplicas": 0, "maxReplicas": 2, "targetCPUUtilizationPercentage": 0}}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text());
    assert_eq!(
        causes(&r.json()),
        vec![
            cause(
                "FieldValueInvalid",
                "spec.minReplicas",
                "Invalid value: 0: must be greater than or equal to 1"
            ),
            cause(
                "FieldValueRequired",
                "spec.scaleTargetRef.name",
                "Required value"
            ),
            cause(
                "FieldValueInvalid",
                "spec.metrics[0].resource.target.averageUtilization",
                "Invalid value: 0: must be greater than 0"
            ),
            cause(
                "FieldValueForbidden",
                "spec.metrics",
                "Forbidden: must specify at least one Object or External metric to support scaling to zero replicas"
            ),
        ]
    );
    let r = s
        .post_json(
            "/apis/autoscaling/v1/namespaces/hpa/horizontalpodautoscalers",
            &json!({"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "ok"},
                "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                    "maxReplicas": 2, "targetCPUUtilizationPercentage": 50}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    s.stop().await;
}

#[tokio::test]
async fn scheduling_constraints_are_validated() {
    let s = TestServer::start().await;
    s.namespace("sched").await;
    let pod = |name: &str, labels: Value, spec: Value| {
        let mut spec = spec;
        spec["containers"] = json!([{"name": "c", "image": "nginx"}]);
        json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": labels}, "spec": spec})
    };

    // Pod affinity terms: weight range, empty topology key, namespaces as DNS labels.
    let bad = pod(
        "bad-affinity",
        json!({}),
        json!({"affinity": {"podAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 0, "podAffinityTerm": {"labelSelector": {}, "topologyKey": "zone",
                "namespaces": ["Not_A_Label"]}}]},
            "podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": ""}]}}}),
    );
    let r = s.post_json("/api/v1/namespaces/sched/pods", &bad).await;
    assert_eq!(r.status, 422, "{}", r.text());
    let b = r.json();
    assert_eq!(b["reason"], "Invalid");
    assert_eq!(b["details"]["kind"], "Pod");
    let pref = "spec.affinity.podAffinity.preferredDuringSchedulingIgnoredDuringExecution[0]";
    let req = "spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0]";
    assert_eq!(
        causes(&b),
        vec![
            cause(
                "FieldValueInvalid",
                &format!("{pref}.weight"),
                "Invalid value: 0: must be in the range 1-100"
            ),
            cause(
                "FieldValueInvalid",
                &format!("{pref}.podAffinityTerm.namespace"),
                "Invalid value: \"Not_A_Label\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
            ),
            cause(
                "FieldValueRequired",
                &format!("{req}.topologyKey"),
                "Required value: can not be empty"
            ),
            cause(
                "FieldValueInvalid",
                &format!("{req}.topologyKey"),
                "Invalid value: \"\": name part must be non-empty"
            ),
            cause(
                "FieldValueInvalid",
                &format!("{req}.topologyKey"),
                "Invalid value: \"\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
            ),
        ]
    );

    // matchLabelKeys are merged into the selector on create; a key the selector already
    // names is then reported as kube reports it.
    let term = |sel: Value| {
        json!({"affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
            {"labelSelector": sel, "topologyKey": "kubernetes.io/hostname", "matchLabelKeys": ["app"]}]}},
            "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "zone",
                "whenUnsatisfiable": "DoNotSchedule", "labelSelector": {}, "matchLabelKeys": ["app"]}]})
    };
    let r = s
        .post_json(
            "/api/v1/namespaces/sched/pods",
            &pod(
                "twice",
                json!({"app": "web"}),
                term(json!({"matchLabels": {"app": "web"}})),
            ),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text());
    assert_eq!(
        causes(&r.json()),
        vec![cause(
            "FieldValueInvalid",
            "spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0][0]",
            "Invalid value: \"app\": exists in both matchLabelKeys and labelSelector"
        )]
    );
    let r = s
        .post_json(
            "/api/v1/namespaces/sched/pods",
            &pod("merged", json!({"app": "web"}), term(json!({}))),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let p = r.json();
    let merged = json!({"matchExpressions": [{"key": "app", "operator": "In", "values": ["web"]}]});
    assert_eq!(
        p["spec"]["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
            [0]["labelSelector"],
        merged
    );
    assert_eq!(
        p["spec"]["topologySpreadConstraints"][0]["labelSelector"],
        merged
    );

    // Topology spread constraints in a Deployment's pod template.
    let d = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
        "spec": {"selector": {"matchLabels": {"app": "d"}}, "template": {
            "metadata": {"labels": {"app": "d"}},
            "spec": {"containers": [{"name": "c", "image": "nginx"}],
                "topologySpreadConstraints": [
                    {"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "ScheduleAnyway", "minDomains": 2},
                    {"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "ScheduleAnyway"}]}}}});
    let r = s
        .post_json("/apis/apps/v1/namespaces/sched/deployments", &d)
        .await;
    assert_eq!(r.status, 422, "{}", r.text());
    let tsc = "spec.template.spec.topologySpreadConstraints[0]";
    assert_eq!(
        causes(&r.json()),
        vec![
            cause(
                "FieldValueDuplicate",
                &format!("{tsc}.{{topologyKey, whenUnsatisfiable}}"),
                "Duplicate value: \"{zone, ScheduleAnyway}\""
            ),
            cause(
                "FieldValueInvalid",
                &format!("{tsc}.minDomains"),
                "Invalid value: 2: can only use minDomains if whenUnsatisfiable=DoNotSchedule, not ScheduleAnyway"
            ),
        ]
    );

    // PersistentVolume node affinity: the required node selector's contents.
    let pv = json!({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "local-1"},
        "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
            "local": {"path": "/mnt/disk"},
            "nodeAffinity": {"required": {"nodeSelectorTerms": [
                {"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "In"}],
                 "matchFields": [{"key": "metadata.name", "operator": "In", "values": ["Node_1"]}]}]}}}});
    let r = s.post_json("/api/v1/persistentvolumes", &pv).await;
    assert_eq!(r.status, 422, "{}", r.text());
    let t0 = "spec.nodeAffinity.required.nodeSelectorTerms[0]";
    assert_eq!(
        causes(&r.json()),
        vec![
            cause(
                "FieldValueRequired",
                &format!("{t0}.matchExpressions[0].values"),
                "Required value: must be specified when `operator` is 'In' or 'NotIn'"
            ),
            cause(
                "FieldValueInvalid",
                &format!("{t0}.matchFields[0].values[0]"),
                "Invalid value: \"Node_1\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
            ),
        ]
    );
    let mut ok = pv.clone();
    ok["spec"]["nodeAffinity"] = json!({"required": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "In", "values": ["node-1"]}]}]}});
    let r = s.post_json("/api/v1/persistentvolumes", &ok).await;
    assert_eq!(r.status, 201, "{}", r.text());

    // StorageClass allowedTopologies.
    let sc = json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
        "metadata": {"name": "zonal"}, "provisioner": "example.com/disk",
        "allowedTopologies": [{"matchLabelExpressions": [
            {"key": "topology.kubernetes.io/zone", "values": ["a", "a"]}]}]});
    let r = s
        .post_json("/apis/storage.k8s.io/v1/storageclasses", &sc)
        .await;
    assert_eq!(r.status, 422, "{}", r.text());
    assert_eq!(
        causes(&r.json()),
        vec![cause(
            "FieldValueDuplicate",
            "allowedTopologies[0].matchLabelExpressions[0].values[1]",
            "Duplicate value: \"a\""
        )]
    );
    s.stop().await;
}
