//! Built-in kind behaviour end to end, continued: the scale subresource, Secret and
//! ConfigMap rules, more defaults, service allocation per server.
mod common;

use common::TestServer;
use serde_json::{Value, json};

fn deployment(name: &str, replicas: i64) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}})
}

#[tokio::test]
async fn scale_subresource() {
    let s = TestServer::start().await;
    s.namespace("sc").await;
    let base = "/apis/apps/v1/namespaces/sc/deployments";
    let r = s.post_json(base, &deployment("d", 2)).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let d = r.json();

    let r = s.get(&format!("{base}/d/scale")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let scale = r.json();
    assert_eq!(
        scale,
        json!({"kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {"name": "d", "namespace": "sc", "uid": d["metadata"]["uid"],
                "resourceVersion": d["metadata"]["resourceVersion"],
                "creationTimestamp": d["metadata"]["creationTimestamp"]},
            "spec": {"replicas": 2}, "status": {"replicas": 0, "selector": "app=d"}})
    );

    // kubectl scale: a merge patch of the Scale.
    let r = s
        .patch(
            &format!("{base}/d/scale"),
            "application/merge-patch+json",
            &json!({"spec": {"replicas": 4}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["kind"], "Scale");
    assert_eq!(r.json()["spec"]["replicas"], 4);
    let now = s.get(&format!("{base}/d")).await.json();
    assert_eq!(now["spec"]["replicas"], 4);
    assert_eq!(
        now["metadata"]["generation"], 2,
        "spec change bumps generation"
    );
    assert_eq!(
        r.json()["metadata"]["resourceVersion"],
        now["metadata"]["resourceVersion"]
    );

    // A strategic merge patch of a Scale behaves as a merge patch.
    let r = s
        .patch(
            &format!("{base}/d/scale"),
            "application/strategic-merge-patch+json",
            &json!({"spec": {"replicas": 5}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["spec"]["replicas"], 5);

    // PUT with a stale resourceVersion is a conflict on the parent.
    let stale = json!({"kind": "Scale", "apiVersion": "autoscaling/v1",
        "metadata": {"name": "d", "namespace": "sc", "resourceVersion": scale["metadata"]["resourceVersion"]},
        "spec": {"replicas": 1}});
    let r = s.put_json(&format!("{base}/d/scale"), &stale).await;
    assert_eq!(r.status, 409, "{}", r.text());
    assert_eq!(
        r.json()["message"],
        "Operation cannot be fulfilled on deployments.apps \"d\": the object has been modified; please apply your changes to the latest version and try again"
    );
    // PUT with the current one, or none, writes.
    let current = s.get(&format!("{base}/d/scale")).await.json();
    let mut fresh = current.clone();
    fresh["spec"]["replicas"] = json!(3);
    let r = s.put_json(&format!("{base}/d/scale"), &fresh).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["spec"]["replicas"], 3);
    let r = s
        .put_json(
            &format!("{base}/d/scale"),
            &json!({"apiVersion": "autoscaling/v1", "kind": "Scale", "metadata": {"name": "d"}, "spec": {"replicas": 6}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["spec"]["replicas"], 6);

    // Bad Scales.
    let r = s
        .put_json(
            &format!("{base}/d/scale"),
            &json!({"apiVersion": "autoscaling/v1", "kind": "Scale", "metadata": {"name": "d"}, "spec": {"replicas": -1}}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text());
    assert_eq!(
        r.json()["message"],
        "Scale.autoscaling \"d\" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0"
    );
    let r = s
        .put_json(
            &format!("{base}/d/scale"),
            &json!({"apiVersion": "autoscaling/v1", "kind": "Scale", "metadata": {"name": "other"}, "spec": {"replicas": 1}}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    let r = s
        .put_json(
            &format!("{base}/d/scale"),
            &json!({"apiVersion": "autoscaling/v1", "kind": "Scale", "metadata": {"name": "d", "uid": "nope"}, "spec": {"replicas": 1}}),
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.text());
    let r = s.get(&format!("{base}/missing/scale")).await;
    assert_eq!(r.status, 404);
    assert_eq!(
        r.json()["message"],
        "deployments.apps \"missing\" not found"
    );
    let r = s
        .patch(
            &format!("{base}/missing/scale"),
            "application/merge-patch+json",
            &json!({"spec": {"replicas": 1}}),
        )
        .await;
    assert_eq!(r.status, 404);

    // Dry run changes nothing.
    let r = s
        .patch(
            &format!("{base}/d/scale?dryRun=All"),
            "application/merge-patch+json",
            &json!({"spec": {"replicas": 9}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["spec"]["replicas"], 9);
    assert_eq!(
        s.get(&format!("{base}/d")).await.json()["spec"]["replicas"],
        6
    );

    // Status and other fields are untouched; status.replicas shows through.
    let r = s
        .patch(
            &format!("{base}/d/status"),
            "application/merge-patch+json",
            &json!({"status": {"replicas": 2}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let sc = s.get(&format!("{base}/d/scale")).await.json();
    assert_eq!(sc["status"]["replicas"], 2);

    // ReplicationControllers: a map selector.
    let rc = json!({"apiVersion": "v1", "kind": "ReplicationController", "metadata": {"name": "rc"},
        "spec": {"replicas": 1, "selector": {"b": "2", "a": "1"},
            "template": {"metadata": {"labels": {"a": "1", "b": "2"}},
                "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}});
    let r = s
        .post_json("/api/v1/namespaces/sc/replicationcontrollers", &rc)
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let r = s
        .patch(
            "/api/v1/namespaces/sc/replicationcontrollers/rc/scale",
            "application/json-patch+json",
            &json!([{"op": "replace", "path": "/spec/replicas", "value": 0}]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["status"]["selector"], "a=1,b=2");
    let now = s
        .get("/api/v1/namespaces/sc/replicationcontrollers/rc")
        .await
        .json();
    assert_eq!(now["spec"]["replicas"], 0);

    // Resources without a scale subresource.
    let r = s.get("/api/v1/namespaces/sc/configmaps/x/scale").await;
    assert_eq!(r.status, 404);
    s.stop().await;
}

#[tokio::test]
async fn secrets_fold_string_data_and_default_type() {
    let s = TestServer::start().await;
    s.namespace("sec").await;
    let base = "/api/v1/namespaces/sec/secrets";
    let r = s
        .post_json(
            base,
            &json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
                "data": {"a": "eA=="}, "stringData": {"token": "abc", "a": "hunter2"}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let sec = r.json();
    assert_eq!(
        sec["data"],
        json!({"a": "aHVudGVyMg==", "token": "YWJj"}),
        "stringData wins and is base64"
    );
    assert!(sec.get("stringData").is_none());
    assert_eq!(sec["type"], "Opaque");
    assert_eq!(
        s.get(&format!("{base}/s")).await.json()["data"],
        sec["data"]
    );

    // Update and patch fold it too.
    let mut upd = sec.clone();
    upd["stringData"] = json!({"b": "bee"});
    let r = s.put_json(&format!("{base}/s"), &upd).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["data"]["b"], "YmVl");
    assert!(r.json().get("stringData").is_none());
    let r = s
        .patch(
            &format!("{base}/s"),
            "application/merge-patch+json",
            &json!({"stringData": {"c": "sea"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["data"]["c"], "c2Vh");
    assert!(
        s.get(&format!("{base}/s"))
            .await
            .json()
            .get("stringData")
            .is_none()
    );

    // A typed secret keeps its type.
    let r = s
        .post_json(
            base,
            &json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "basic"},
                "type": "kubernetes.io/basic-auth", "stringData": {"username": "u"}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["type"], "kubernetes.io/basic-auth");

    // Immutable secrets and config maps refuse data changes.
    let r = s
        .post_json(
            base,
            &json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "im"},
                "immutable": true, "stringData": {"k": "v"}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let r = s
        .patch(
            &format!("{base}/im"),
            "application/merge-patch+json",
            &json!({"stringData": {"k": "changed"}}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text());
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap_or_default()
            .contains("data: Forbidden: field is immutable when `immutable` is set"),
        "{}",
        r.text()
    );
    let r = s
        .post_json(
            "/api/v1/namespaces/sec/configmaps",
            &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"},
                "immutable": true, "data": {"k": "v"}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let r = s
        .patch(
            "/api/v1/namespaces/sec/configmaps/cm",
            "application/merge-patch+json",
            &json!({"data": {"k": "w"}}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text());
    s.stop().await;
}

#[tokio::test]
async fn more_kind_defaults() {
    let s = TestServer::start().await;
    s.namespace("dfl").await;
    let create = |path: &'static str, body: Value| {
        let s = &s;
        async move {
            let r = s.post_json(path, &body).await;
            assert_eq!(r.status, 201, "{path}: {}", r.text());
            r.json()
        }
    };

    let ns = s.get("/api/v1/namespaces/dfl").await.json();
    assert_eq!(
        ns["metadata"]["labels"]["kubernetes.io/metadata.name"],
        "dfl"
    );
    assert_eq!(ns["status"]["phase"], "Active");

    let pvc = create(
        "/api/v1/namespaces/dfl/persistentvolumeclaims",
        json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "c"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
            "status": {"phase": "Bound"}}),
    )
    .await;
    assert_eq!(pvc["spec"]["volumeMode"], "Filesystem");
    assert_eq!(
        pvc["status"],
        json!({"phase": "Pending"}),
        "create resets status"
    );

    let pv = create(
        "/api/v1/persistentvolumes",
        json!({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "v"},
            "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                "hostPath": {"path": "/tmp/v"}}}),
    )
    .await;
    assert_eq!(pv["spec"]["persistentVolumeReclaimPolicy"], "Retain");
    assert_eq!(pv["spec"]["volumeMode"], "Filesystem");
    assert_eq!(pv["spec"]["hostPath"]["type"], "");
    assert_eq!(pv["status"]["phase"], "Pending");
    assert!(pv["status"]["lastPhaseTransitionTime"].is_string(), "{pv}");

    let sc = create(
        "/apis/storage.k8s.io/v1/storageclasses",
        json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "fast"},
            "provisioner": "example.com/p"}),
    )
    .await;
    assert_eq!(sc["reclaimPolicy"], "Delete");
    assert_eq!(sc["volumeBindingMode"], "Immediate");

    let pc = create(
        "/apis/scheduling.k8s.io/v1/priorityclasses",
        json!({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": "high"},
            "value": 1000}),
    )
    .await;
    assert_eq!(pc["preemptionPolicy"], "PreemptLowerPriority");

    let np = create(
        "/apis/networking.k8s.io/v1/namespaces/dfl/networkpolicies",
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "np"},
            "spec": {"podSelector": {}, "egress": [{"ports": [{"port": 53}]}]}}),
    )
    .await;
    assert_eq!(np["spec"]["policyTypes"], json!(["Ingress", "Egress"]));
    assert_eq!(np["spec"]["egress"][0]["ports"][0]["protocol"], "TCP");

    let hpa = create(
        "/apis/autoscaling/v2/namespaces/dfl/horizontalpodautoscalers",
        json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "h"},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "d"},
                "maxReplicas": 5, "behavior": {"scaleUp": {"stabilizationWindowSeconds": 30}}}}),
    )
    .await;
    assert_eq!(hpa["spec"]["minReplicas"], 1);
    assert_eq!(
        hpa["spec"]["metrics"],
        json!([{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}])
    );
    assert_eq!(
        hpa["spec"]["behavior"]["scaleUp"]["stabilizationWindowSeconds"],
        30
    );
    assert_eq!(hpa["spec"]["behavior"]["scaleUp"]["selectPolicy"], "Max");
    assert_eq!(
        hpa["spec"]["behavior"]["scaleDown"],
        json!({"selectPolicy": "Max", "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]})
    );

    let rb = create(
        "/apis/rbac.authorization.k8s.io/v1/namespaces/dfl/rolebindings",
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "rb"},
            "roleRef": {"kind": "Role", "name": "r"},
            "subjects": [{"kind": "User", "name": "u"}, {"kind": "ServiceAccount", "name": "default", "namespace": "dfl"}]}),
    )
    .await;
    assert_eq!(rb["roleRef"]["apiGroup"], "rbac.authorization.k8s.io");
    assert_eq!(rb["subjects"][0]["apiGroup"], "rbac.authorization.k8s.io");
    assert!(rb["subjects"][1].get("apiGroup").is_none());

    let ic = create(
        "/apis/networking.k8s.io/v1/ingressclasses",
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass", "metadata": {"name": "ic"},
            "spec": {"controller": "example.com/c", "parameters": {"kind": "K", "name": "n"}}}),
    )
    .await;
    assert_eq!(ic["spec"]["parameters"]["scope"], "Cluster");

    let node = create(
        "/api/v1/nodes",
        json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"},
            "status": {"capacity": {"cpu": "4", "pods": "110"}}}),
    )
    .await;
    assert_eq!(
        node["status"]["allocatable"],
        json!({"cpu": "4", "pods": "110"})
    );

    // Workloads start with an empty status whatever the client sent.
    let mut dep = deployment("d", 1);
    dep["status"] = json!({"replicas": 5});
    let d = create("/apis/apps/v1/namespaces/dfl/deployments", dep).await;
    assert_eq!(d["status"], json!({}));
    s.stop().await;
}

fn service(name: &str, spec: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec})
}

#[tokio::test]
async fn service_allocation_per_server_dry_run_and_release() {
    // Two servers in one process allocate independently: each has its own
    // `kubernetes` service on the first address.
    let s = TestServer::start().await;
    let other = TestServer::start().await;
    for srv in [&s, &other] {
        let k = srv
            .get("/api/v1/namespaces/default/services/kubernetes")
            .await;
        assert_eq!(k.status, 200, "{}", k.text());
        assert_eq!(k.json()["spec"]["clusterIP"], "10.96.0.1");
    }
    other.stop().await;

    s.namespace("al").await;
    let base = "/api/v1/namespaces/al/services";
    let ports = json!([{"port": 80}]);

    // Dry run reserves nothing.
    let r = s
        .post_json(
            &format!("{base}?dryRun=All"),
            &service(
                "d",
                json!({"clusterIP": "10.96.5.5", "type": "NodePort",
                "ports": [{"port": 80, "nodePort": 30555}]}),
            ),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["spec"]["clusterIP"], "10.96.5.5");
    let r = s
        .post_json(
            base,
            &service(
                "real",
                json!({"clusterIP": "10.96.5.5", "type": "NodePort",
                "ports": [{"port": 80, "nodePort": 30555}]}),
            ),
        )
        .await;
    assert_eq!(r.status, 201, "dry run held nothing: {}", r.text());
    // A dry run still reports conflicts.
    let r = s
        .post_json(
            &format!("{base}?dryRun=All"),
            &service("d2", json!({"clusterIP": "10.96.5.5", "ports": ports})),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text());
    let r = s
        .post_json(
            base,
            &service(
                "port",
                json!({"type": "NodePort", "ports": [{"port": 80, "nodePort": 30555}]}),
            ),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text());
    assert_eq!(
        r.json()["message"],
        "Service \"port\" is invalid: spec.ports[0].nodePort: Invalid value: 30555: provided port is already allocated"
    );
    // The failed create held nothing: its cluster IP is not taken.
    let r = s
        .post_json(
            base,
            &service("out", json!({"clusterIP": "10.200.0.1", "ports": ports})),
        )
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(
        r.json()["message"],
        "Service \"out\" is invalid: spec.clusterIPs: Invalid value: []string{\"10.200.0.1\"}: failed to allocate IP 10.200.0.1: the provided IP (10.200.0.1) is not in the valid range. The range of valid IPs is 10.96.0.0/12"
    );

    // Type changes: to NodePort allocates node ports, back to ClusterIP frees them.
    let r = s
        .post_json(base, &service("t", json!({"ports": ports})))
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let r = s
        .patch(
            &format!("{base}/t"),
            "application/merge-patch+json",
            &json!({"spec": {"type": "NodePort"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let np = r.json()["spec"]["ports"][0]["nodePort"]
        .as_i64()
        .unwrap_or(0);
    assert!((30000..=32767).contains(&np), "{}", r.text());
    let r = s
        .patch(
            &format!("{base}/t"),
            "application/merge-patch+json",
            &json!({"spec": {"type": "ClusterIP"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        r.json()["spec"]["ports"][0].get("nodePort").is_none(),
        "{}",
        r.text()
    );
    let r = s
        .post_json(
            base,
            &service(
                "reuse",
                json!({"type": "NodePort", "ports": [{"port": 80, "nodePort": np}]}),
            ),
        )
        .await;
    assert_eq!(r.status, 201, "freed node port is reusable: {}", r.text());

    // Delete frees at once.
    assert_eq!(s.delete(&format!("{base}/real")).await.status, 200);
    let r = s
        .post_json(
            base,
            &service(
                "again",
                json!({"clusterIP": "10.96.5.5", "type": "NodePort",
                "ports": [{"port": 80, "nodePort": 30555}]}),
            ),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());

    s.stop().await;
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

/// The `kiln` binary on `dir`, once it reports serving.
fn spawn_kiln(dir: &std::path::Path, port: u16) -> std::process::Child {
    use std::io::{BufRead, BufReader};
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args([
            "--data-dir",
            &dir.display().to_string(),
            "--bind",
            &format!("127.0.0.1:{port}"),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start kiln");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.contains("serving") {
                let _ = tx.send(());
            }
        }
    });
    rx.recv_timeout(std::time::Duration::from_secs(30))
        .expect("kiln did not report serving");
    child
}

#[tokio::test]
async fn service_allocations_survive_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let client = reqwest::Client::new();
    let post = |port: u16, body: Value| {
        let client = client.clone();
        async move {
            client
                .post(format!(
                    "http://127.0.0.1:{port}/api/v1/namespaces/default/services"
                ))
                .json(&body)
                .send()
                .await
                .expect("request")
                .status()
                .as_u16()
        }
    };
    let held = service(
        "held",
        json!({"clusterIP": "10.96.7.7", "type": "NodePort",
        "ports": [{"port": 80, "nodePort": 30777}]}),
    );
    let port = free_port();
    let mut child = spawn_kiln(dir.path(), port);
    assert_eq!(post(port, held.clone()).await, 201);
    let _ = child.kill();
    let _ = child.wait();

    let port = free_port();
    let mut child = spawn_kiln(dir.path(), port);
    let same_ip = service(
        "ip",
        json!({"clusterIP": "10.96.7.7", "ports": [{"port": 80}]}),
    );
    let same_port = service(
        "np",
        json!({"type": "NodePort", "ports": [{"port": 80, "nodePort": 30777}]}),
    );
    let ip_status = post(port, same_ip).await;
    let port_status = post(port, same_port).await;
    let fresh = post(port, service("fresh", json!({"ports": [{"port": 80}]}))).await;
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(ip_status, 422, "address still held after restart");
    assert_eq!(port_status, 422, "node port still held after restart");
    assert_eq!(fresh, 201);
}
