//! Built-in kind behaviour end to end: pod defaults and status, deployment defaults,
//! service IP / node port allocation.
mod common;

use common::TestServer;
use serde_json::{Value, json};

#[tokio::test]
async fn pod_deployment_and_service_behaviour() {
    let s = TestServer::start().await;
    s.namespace("k1").await;

    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c", "image": "nginx:1.27",
            "resources": {"limits": {"cpu": "100m", "memory": "64Mi"}}}]}});
    let r = s.post_json("/api/v1/namespaces/k1/pods", &pod).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let p = r.json();
    assert_eq!(
        p["status"],
        json!({"phase": "Pending", "qosClass": "Guaranteed"})
    );
    assert_eq!(
        p["spec"]["containers"][0]["imagePullPolicy"],
        "IfNotPresent"
    );
    assert_eq!(
        p["spec"]["containers"][0]["resources"]["requests"]["cpu"],
        "100m"
    );
    assert_eq!(p["spec"]["serviceAccountName"], "default");
    assert_eq!(p["spec"]["terminationGracePeriodSeconds"], 30);
    let keys: Vec<&String> = p["spec"]
        .as_object()
        .map(|m| m.keys().collect())
        .unwrap_or_default();
    let pos = |k: &str| keys.iter().position(|x| *x == k);
    assert!(
        pos("restartPolicy") < pos("dnsPolicy"),
        "Go field order: {keys:?}"
    );
    let r = s
        .get("/api/v1/namespaces/k1/pods?fieldSelector=status.phase%3DPending,spec.nodeName%3D")
        .await;
    assert_eq!(r.json()["items"].as_array().map(Vec::len), Some(1));

    // A pod with scheduling gates starts with PodScheduled=False, reason SchedulingGated;
    // a status sent with the create is replaced.
    let gated = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "gated"},
        "spec": {"schedulingGates": [{"name": "example.com/wait"}],
            "containers": [{"name": "c", "image": "nginx:1.27"}]},
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}});
    let r = s.post_json("/api/v1/namespaces/k1/pods", &gated).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let g = r.json();
    assert_eq!(g["status"]["phase"], "Pending");
    assert_eq!(g["status"]["qosClass"], "BestEffort");
    let conds = g["status"]["conditions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(conds.len(), 1, "{conds:?}");
    assert_eq!(conds[0]["type"], "PodScheduled");
    assert_eq!(conds[0]["status"], "False");
    assert_eq!(conds[0]["reason"], "SchedulingGated");
    assert_eq!(
        conds[0]["message"],
        "Scheduling is blocked due to non-empty scheduling gates"
    );
    assert!(
        conds[0]["lastTransitionTime"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );
    assert!(p["status"].get("conditions").is_none(), "ungated: none");

    let dep = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
        "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {"metadata": {"labels": {"a": "b"}},
            "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}});
    let r = s
        .post_json("/apis/apps/v1/namespaces/k1/deployments", &dep)
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let d = r.json();
    assert_eq!(d["spec"]["replicas"], 1);
    assert_eq!(d["spec"]["strategy"]["rollingUpdate"]["maxSurge"], "25%");
    assert_eq!(d["spec"]["revisionHistoryLimit"], 10);
    assert_eq!(d["spec"]["progressDeadlineSeconds"], 600);
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"],
        "Always"
    );
    assert_eq!(d["metadata"]["generation"], 1);

    let svc = |name: &str, spec: Value| json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec});
    let ports = json!([{"port": 80}]);
    let a = s
        .post_json(
            "/api/v1/namespaces/k1/services",
            &svc("a", json!({"ports": ports})),
        )
        .await
        .json();
    let b = s
        .post_json(
            "/api/v1/namespaces/k1/services",
            &svc("b", json!({"ports": ports})),
        )
        .await
        .json();
    let ip = a["spec"]["clusterIP"].as_str().unwrap_or("").to_string();
    assert!(ip.starts_with("10."), "{a}");
    assert_ne!(ip, b["spec"]["clusterIP"].as_str().unwrap_or(""));
    assert_eq!(a["spec"]["clusterIPs"], json!([ip]));
    assert_eq!(a["spec"]["ports"][0]["targetPort"], 80);
    let r = s
        .post_json(
            "/api/v1/namespaces/k1/services",
            &svc("c", json!({"clusterIP": ip, "ports": ports})),
        )
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(
        r.json()["message"],
        format!(
            "Service \"c\" is invalid: spec.clusterIPs: Invalid value: []string{{\"{ip}\"}}: failed to allocate IP {ip}: provided IP is already allocated"
        )
    );
    let r = s
        .post_json(
            "/api/v1/namespaces/k1/services",
            &svc("np", json!({"type": "NodePort", "ports": ports})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let port = r.json()["spec"]["ports"][0]["nodePort"]
        .as_i64()
        .unwrap_or(0);
    assert!((30000..=32767).contains(&port), "{port}");

    // Release on delete: the address is available again at once.
    assert_eq!(
        s.delete("/api/v1/namespaces/k1/services/a").await.status,
        200
    );
    let r = s
        .post_json(
            "/api/v1/namespaces/k1/services",
            &svc("c", json!({"clusterIP": ip, "ports": ports})),
        )
        .await;
    assert_eq!(r.status, 201, "released address is reusable: {}", r.text());

    let k = s
        .get("/api/v1/namespaces/default/services/kubernetes")
        .await;
    assert_eq!(k.json()["spec"]["clusterIP"], "10.96.0.1");
    s.stop().await;
}

#[actix_web::test]
async fn service_ranges_are_configurable_and_published_as_the_default_service_cidr() {
    let s = TestServer::start_configured(
        "",
        kiln::kinds::ServiceRanges {
            cluster_ip: "172.20.0.0/24".into(),
            node_ports: "31000-31001".into(),
        },
    )
    .await;
    let k = s
        .get("/api/v1/namespaces/default/services/kubernetes")
        .await;
    assert_eq!(k.json()["spec"]["clusterIP"], "172.20.0.1");
    let cidr = s
        .get("/apis/networking.k8s.io/v1/servicecidrs/kubernetes")
        .await;
    assert_eq!(cidr.status, 200, "{}", cidr.text());
    let cidr = cidr.json();
    assert_eq!(cidr["spec"]["cidrs"], json!(["172.20.0.0/24"]));
    let ready = &cidr["status"]["conditions"][0];
    assert_eq!(ready["type"], "Ready");
    assert_eq!(ready["status"], "True");
    assert_eq!(ready["message"], "Kubernetes default Service CIDR is ready");

    s.namespace("r").await;
    let svc = |name: &str| {
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"type": "NodePort", "ports": [{"port": 80}]}})
    };
    let a = s
        .post_json("/api/v1/namespaces/r/services", &svc("a"))
        .await
        .json();
    let ip = a["spec"]["clusterIP"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(ip.starts_with("172.20.0."), "{ip}");
    let port = a["spec"]["ports"][0]["nodePort"].as_i64().unwrap_or(0);
    assert!((31000..=31001).contains(&port), "{port}");
    assert_eq!(
        s.post_json("/api/v1/namespaces/r/services", &svc("b"))
            .await
            .status,
        201
    );
    // Both node ports of the range are taken now: kube-apiserver answers this one with
    // an InternalError (the field is valid; the range is exhausted).
    let c = s
        .post_json("/api/v1/namespaces/r/services", &svc("c"))
        .await;
    assert_eq!(c.status, 500, "{}", c.text());
    assert_eq!(
        c.json()["message"],
        "Internal error occurred: failed to allocate a nodePort: range is full"
    );
    // Outside the range.
    let mut outside = svc("d");
    outside["spec"]["clusterIP"] = json!("10.96.0.10");
    let d = s.post_json("/api/v1/namespaces/r/services", &outside).await;
    assert_eq!(d.status, 422, "{}", d.text());
    s.stop().await;
}
