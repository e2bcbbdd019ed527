//! Kind validation end to end: invalid built-in objects are rejected with kube-apiserver's
//! 422 `Invalid` Status (message and one cause per field error), valid kubectl-style objects
//! are accepted, and immutable fields are enforced on update.
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

#[tokio::test]
async fn invalid_objects_are_rejected_with_kube_messages() {
    let s = TestServer::start().await;
    s.namespace("v1").await;

    // Pod: missing image, bad port.
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c", "ports": [{"containerPort": 0}]}]}});
    let r = s.post_json("/api/v1/namespaces/v1/pods", &pod).await;
    assert_eq!(r.status, 422, "{}", r.text());
    let b = r.json();
    assert_eq!(b["reason"], "Invalid");
    assert_eq!(
        b["message"],
        "Pod \"p\" is invalid: [spec.containers[0].image: Required value, spec.containers[0].ports[0].containerPort: Required value]"
    );
    assert_eq!(
        causes(&b),
        vec![
            (
                "FieldValueRequired".into(),
                "spec.containers[0].image".into(),
                "Required value".into()
            ),
            (
                "FieldValueRequired".into(),
                "spec.containers[0].ports[0].containerPort".into(),
                "Required value".into()
            ),
        ]
    );

    // Deployment whose selector does not match its template.
    let dep = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
        "spec": {"selector": {"matchLabels": {"app": "y"}},
            "template": {"metadata": {"labels": {"app": "x"}},
                "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}});
    let r = s
        .post_json("/apis/apps/v1/namespaces/v1/deployments", &dep)
        .await;
    assert_eq!(r.status, 422, "{}", r.text());
    assert_eq!(
        r.json()["message"],
        "Deployment.apps \"d\" is invalid: spec.template.metadata.labels: Invalid value: {\"app\":\"x\"}: `selector` does not match template `labels`"
    );

    // Service with port 0.
    let svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
        "spec": {"ports": [{"port": 0, "targetPort": 80}]}});
    let r = s.post_json("/api/v1/namespaces/v1/services", &svc).await;
    assert_eq!(r.status, 422, "{}", r.text());
    assert_eq!(
        causes(&r.json()),
        vec![(
            "FieldValueInvalid".into(),
            "spec.ports[0].port".into(),
            "Invalid value: 0: must be between 1 and 65535, inclusive".into()
        )]
    );

    // ConfigMap with a bad key.
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
        "data": {"a b": "x"}});
    let r = s.post_json("/api/v1/namespaces/v1/configmaps", &cm).await;
    assert_eq!(r.status, 422, "{}", r.text());
    assert_eq!(
        r.json()["message"],
        "ConfigMap \"c\" is invalid: data[a b]: Invalid value: \"a b\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"
    );

    // Role rule without verbs.
    let role = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": {"name": "r"}, "rules": [{"apiGroups": [""], "resources": ["pods"]}]});
    let r = s
        .post_json(
            "/apis/rbac.authorization.k8s.io/v1/namespaces/v1/roles",
            &role,
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text());
    assert_eq!(
        r.json()["message"],
        "Role.rbac.authorization.k8s.io \"r\" is invalid: rules[0].verbs: Required value: verbs must contain at least one value"
    );
    s.stop().await;
}

#[tokio::test]
async fn kubectl_style_objects_are_valid_and_immutables_hold() {
    let s = TestServer::start().await;
    s.namespace("v2").await;

    // `kubectl create deployment web --image=nginx`
    let dep = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"app": "web"}},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
            "strategy": {}, "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "nginx", "image": "nginx", "resources": {}}]}}},
        "status": {}});
    let r = s
        .post_json("/apis/apps/v1/namespaces/v2/deployments", &dep)
        .await;
    assert_eq!(r.status, 201, "{}", r.text());

    // Changing the selector is rejected.
    let patch = json!({"spec": {"selector": {"matchLabels": {"app": "web", "x": "y"}},
        "template": {"metadata": {"labels": {"app": "web", "x": "y"}}}}});
    let r = s
        .patch(
            "/apis/apps/v1/namespaces/v2/deployments/web",
            "application/merge-patch+json",
            &patch,
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text());
    assert_eq!(
        r.json()["message"],
        "Deployment.apps \"web\" is invalid: spec.selector: Invalid value: {\"matchLabels\":{\"app\":\"web\",\"x\":\"y\"}}: field is immutable"
    );

    // `kubectl run p --image=nginx`
    let pod = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "p", "labels": {"run": "p"}},
        "spec": {"containers": [{"name": "p", "image": "nginx", "resources": {}}],
            "dnsPolicy": "ClusterFirst", "restartPolicy": "Always"}, "status": {}});
    let r = s.post_json("/api/v1/namespaces/v2/pods", &pod).await;
    assert_eq!(r.status, 201, "{}", r.text());

    // `kubectl create service clusterip web --tcp=80:80`
    let svc = json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "web", "labels": {"app": "web"}},
        "spec": {"ports": [{"name": "80-80", "port": 80, "protocol": "TCP", "targetPort": 80}],
            "selector": {"app": "web"}, "type": "ClusterIP"}, "status": {"loadBalancer": {}}});
    let r = s.post_json("/api/v1/namespaces/v2/services", &svc).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let ip = r.json()["spec"]["clusterIP"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(!ip.is_empty());

    // The cluster IP may not change.
    let patch = json!({"spec": {"clusterIP": "10.96.99.99", "clusterIPs": ["10.96.99.99"]}});
    let r = s
        .patch(
            "/api/v1/namespaces/v2/services/web",
            "application/merge-patch+json",
            &patch,
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text());
    assert_eq!(
        r.json()["message"],
        "Service \"web\" is invalid: spec.clusterIPs[0]: Invalid value: [\"10.96.99.99\"]: may not change once set"
    );

    // Immutable ConfigMap data.
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
        "immutable": true, "data": {"a": "1"}});
    let r = s.post_json("/api/v1/namespaces/v2/configmaps", &cm).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let r = s
        .patch(
            "/api/v1/namespaces/v2/configmaps/c",
            "application/merge-patch+json",
            &json!({"data": {"a": "2"}}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text());
    assert_eq!(
        r.json()["message"],
        "ConfigMap \"c\" is invalid: data: Forbidden: field is immutable when `immutable` is set"
    );
    s.stop().await;
}
