//! Black-box tests of the generic CRUD path against a real server.

mod common;

use common::TestServer;
use serde_json::json;

fn cm(name: &str) -> serde_json::Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"a": "1"}})
}

#[actix_web::test]
async fn create_get_update_delete_round_trip() {
    let s = TestServer::start().await;
    s.namespace("t1").await;
    let r = s
        .post_json("/api/v1/namespaces/t1/configmaps", &cm("c1"))
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let created = r.json();
    assert_eq!(created["metadata"]["namespace"], "t1");
    let uid = created["metadata"]["uid"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_eq!(uid.len(), 36);
    let ts = created["metadata"]["creationTimestamp"]
        .as_str()
        .unwrap_or_default();
    assert!(ts.ends_with('Z') && ts.len() == 20, "{ts}");
    // Field order as kube-apiserver writes it.
    let keys: Vec<&String> = created
        .as_object()
        .map(|m| m.keys().collect())
        .unwrap_or_default();
    assert_eq!(keys, ["kind", "apiVersion", "metadata", "data"]);
    let meta_keys: Vec<&String> = created["metadata"]
        .as_object()
        .map(|m| m.keys().collect())
        .unwrap_or_default();
    assert_eq!(
        meta_keys,
        [
            "name",
            "namespace",
            "uid",
            "resourceVersion",
            "creationTimestamp",
            "managedFields"
        ]
    );

    let got = s.get("/api/v1/namespaces/t1/configmaps/c1").await;
    assert_eq!(got.status, 200);
    assert_eq!(got.json(), created);

    // Stale update → 409; unconditional update → 200 with a new resourceVersion.
    let mut stale = created.clone();
    stale["metadata"]["resourceVersion"] = json!("1");
    stale["data"]["a"] = json!("2");
    let r = s
        .put_json("/api/v1/namespaces/t1/configmaps/c1", &stale)
        .await;
    assert_eq!(r.status, 409, "{}", r.text());
    assert_eq!(r.json()["reason"], "Conflict");
    let mut fresh = created.clone();
    fresh["metadata"]
        .as_object_mut()
        .map(|m| m.remove("resourceVersion"));
    fresh["data"]["a"] = json!("2");
    let r = s
        .put_json("/api/v1/namespaces/t1/configmaps/c1", &fresh)
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let updated = r.json();
    assert_eq!(updated["data"]["a"], "2");
    assert_ne!(
        updated["metadata"]["resourceVersion"],
        created["metadata"]["resourceVersion"]
    );

    // A no-op update writes nothing.
    let r = s
        .put_json("/api/v1/namespaces/t1/configmaps/c1", &updated)
        .await;
    assert_eq!(
        r.json()["metadata"]["resourceVersion"],
        updated["metadata"]["resourceVersion"]
    );

    let r = s.delete("/api/v1/namespaces/t1/configmaps/c1").await;
    assert_eq!(r.status, 200);
    let st = r.json();
    assert_eq!(st["kind"], "Status");
    assert_eq!(st["status"], "Success");
    assert_eq!(st["details"]["uid"], uid.as_str());
    let r = s.get("/api/v1/namespaces/t1/configmaps/c1").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["message"], "configmaps \"c1\" not found");
    s.stop().await;
}

#[actix_web::test]
async fn errors_are_kubernetes_statuses() {
    let s = TestServer::start().await;
    s.namespace("t2").await;
    assert_eq!(
        s.post_json("/api/v1/namespaces/t2/configmaps", &cm("dup"))
            .await
            .status,
        201
    );
    let r = s
        .post_json("/api/v1/namespaces/t2/configmaps", &cm("dup"))
        .await;
    assert_eq!(r.status, 409);
    let st = r.json();
    assert_eq!(st["reason"], "AlreadyExists");
    assert_eq!(st["message"], "configmaps \"dup\" already exists");
    assert_eq!(st["details"]["kind"], "configmaps");

    let r = s
        .post_json("/api/v1/namespaces/t2/configmaps", &cm("Bad_Name"))
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(r.json()["details"]["causes"][0]["field"], "metadata.name");

    let r = s
        .post_json(
            "/api/v1/namespaces/t2/configmaps",
            &json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{}}),
        )
        .await;
    assert_eq!(r.status, 422);
    assert!(
        r.text().contains("name or generateName is required"),
        "{}",
        r.text()
    );

    let r = s
        .request(
            "POST",
            "/api/v1/namespaces/t2/configmaps",
            Some("application/json"),
            Some("{\"kind\":"),
        )
        .await;
    assert_eq!(r.status, 400);
    let r = s
        .post_json(
            "/api/v1/namespaces/t2/configmaps",
            &json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"},"data":{"a":5}}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    let r = s
        .post_json(
            "/api/v1/namespaces/t2/configmaps",
            &json!({"apiVersion":"v1","kind":"Secret","metadata":{"name":"x"}}),
        )
        .await;
    assert_eq!(r.status, 400);
    let r = s
        .post_json(
            "/api/v1/namespaces/t2/configmaps",
            &json!({"apiVersion":"apps/v1","kind":"ConfigMap","metadata":{"name":"x"}}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(r.text().contains("does not match the expected API version"));
    let r = s
        .request(
            "POST",
            "/api/v1/namespaces/t2/configmaps",
            Some("text/plain"),
            Some("hello"),
        )
        .await;
    assert_eq!(r.status, 415);
    let r = s.get("/api/v1/namespaces/t2/nosuchresources").await;
    assert_eq!(r.status, 404);
    let r = s
        .post_json("/api/v1/namespaces/missing/configmaps", &cm("x"))
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["message"], "namespaces \"missing\" not found");
    s.stop().await;
}

#[actix_web::test]
async fn generate_name_dry_run_and_preconditions() {
    let s = TestServer::start().await;
    s.namespace("t3").await;
    let body = json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"generateName":"gen-"}});
    let a = s
        .post_json("/api/v1/namespaces/t3/configmaps", &body)
        .await
        .json();
    let b = s
        .post_json("/api/v1/namespaces/t3/configmaps", &body)
        .await
        .json();
    let (an, bn) = (
        a["metadata"]["name"].as_str().unwrap_or(""),
        b["metadata"]["name"].as_str().unwrap_or(""),
    );
    assert!(an.starts_with("gen-") && an.len() == 9, "{an}");
    assert_ne!(an, bn);

    let r = s
        .post_json("/api/v1/namespaces/t3/configmaps?dryRun=All", &cm("dry"))
        .await;
    assert_eq!(r.status, 201);
    assert!(r.json()["metadata"]["uid"].is_string());
    assert_eq!(
        s.get("/api/v1/namespaces/t3/configmaps/dry").await.status,
        404
    );
    let r = s
        .post_json("/api/v1/namespaces/t3/configmaps?dryRun=Some", &cm("dry"))
        .await;
    assert_eq!(r.status, 422);

    assert_eq!(
        s.post_json("/api/v1/namespaces/t3/configmaps", &cm("pre"))
            .await
            .status,
        201
    );
    let r = s
        .request(
            "DELETE",
            "/api/v1/namespaces/t3/configmaps/pre",
            Some("application/json"),
            Some(r#"{"kind":"DeleteOptions","apiVersion":"v1","preconditions":{"uid":"00000000-0000-0000-0000-000000000000"}}"#),
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.text());
    let r = s
        .request(
            "DELETE",
            "/api/v1/namespaces/t3/configmaps/pre?dryRun=All",
            None,
            None,
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        s.get("/api/v1/namespaces/t3/configmaps/pre").await.status,
        200
    );
    s.stop().await;
}

#[actix_web::test]
async fn finalizers_hold_deletion_until_removed() {
    let s = TestServer::start().await;
    s.namespace("t4").await;
    let body = json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"held","finalizers":["example.com/hold"]}});
    assert_eq!(
        s.post_json("/api/v1/namespaces/t4/configmaps", &body)
            .await
            .status,
        201
    );
    let r = s.delete("/api/v1/namespaces/t4/configmaps/held").await;
    assert_eq!(r.status, 200);
    let obj = r.json();
    assert!(obj["metadata"]["deletionTimestamp"].is_string(), "{obj}");
    assert_eq!(obj["metadata"]["deletionGracePeriodSeconds"], 0);
    // New finalizers cannot be added while deleting.
    let r = s
        .patch(
            "/api/v1/namespaces/t4/configmaps/held",
            "application/merge-patch+json",
            &json!({"metadata":{"finalizers":["example.com/hold","example.com/other"]}}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text());
    let r = s
        .patch(
            "/api/v1/namespaces/t4/configmaps/held",
            "application/json-patch+json",
            &json!([{"op":"remove","path":"/metadata/finalizers"}]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        s.get("/api/v1/namespaces/t4/configmaps/held").await.status,
        404
    );
    s.stop().await;
}

#[actix_web::test]
async fn selectors_pagination_and_delete_collection() {
    let s = TestServer::start().await;
    s.namespace("t5").await;
    for (name, labels) in [
        ("a1", json!({"app":"a","tier":"web"})),
        ("a2", json!({"app":"a"})),
        ("b1", json!({"app":"b","tier":"db"})),
        ("c1", json!({})),
    ] {
        let body =
            json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":name,"labels":labels}});
        assert_eq!(
            s.post_json("/api/v1/namespaces/t5/configmaps", &body)
                .await
                .status,
            201
        );
    }
    let names = |v: serde_json::Value| -> Vec<String> {
        v["items"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|i| i["metadata"]["name"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let r = s
        .get("/api/v1/namespaces/t5/configmaps?labelSelector=app%20in%20(a,b),tier")
        .await;
    assert_eq!(names(r.json()), ["a1", "b1"]);
    let r = s
        .get("/api/v1/namespaces/t5/configmaps?labelSelector=!app")
        .await;
    assert_eq!(names(r.json()), ["c1"]);
    let r = s
        .get("/api/v1/namespaces/t5/configmaps?labelSelector=app%20in%20(a")
        .await;
    assert_eq!(r.status, 400);
    let r = s
        .get("/api/v1/namespaces/t5/configmaps?fieldSelector=metadata.name%3Da2")
        .await;
    assert_eq!(names(r.json()), ["a2"]);
    let r = s
        .get("/api/v1/namespaces/t5/configmaps?fieldSelector=data.a%3D1")
        .await;
    assert_eq!(r.status, 400);

    // Pages of two keep the first page's resourceVersion and see every item once.
    let first = s
        .get("/api/v1/namespaces/t5/configmaps?limit=2")
        .await
        .json();
    let rv = first["metadata"]["resourceVersion"].clone();
    assert_eq!(first["metadata"]["remainingItemCount"], 2);
    let mut seen = names(first.clone());
    let mut cont = first["metadata"]["continue"].as_str().map(String::from);
    // A write between pages does not show up in later pages.
    assert_eq!(
        s.post_json("/api/v1/namespaces/t5/configmaps", &cm("zz"))
            .await
            .status,
        201
    );
    while let Some(c) = cont {
        let page = s
            .get(&format!(
                "/api/v1/namespaces/t5/configmaps?limit=2&continue={}",
                urlencode(&c)
            ))
            .await
            .json();
        assert_eq!(page["metadata"]["resourceVersion"], rv);
        seen.extend(names(page.clone()));
        cont = page["metadata"]["continue"].as_str().map(String::from);
    }
    assert_eq!(seen, ["a1", "a2", "b1", "c1"]);
    let r = s
        .get("/api/v1/namespaces/t5/configmaps?limit=2&continue=garbage")
        .await;
    assert_eq!(r.status, 400);

    let r = s
        .delete("/api/v1/namespaces/t5/configmaps?labelSelector=app%3Da")
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(names(r.json()), ["a1", "a2"]);
    let left = s.get("/api/v1/namespaces/t5/configmaps").await.json();
    assert_eq!(names(left), ["b1", "c1", "zz"]);
    s.stop().await;
}

/// kube-apiserver writes a built-in kind's list items without `kind` and `apiVersion`, on
/// every list path (stored text spliced, filtered, YAML, the watch cache, deletecollection),
/// while a single object and a watch event's object carry them.
#[actix_web::test]
async fn list_items_carry_no_type_meta() {
    let s = TestServer::start().await;
    s.namespace("tm").await;
    for name in ["a", "b"] {
        assert_eq!(
            s.post_json("/api/v1/namespaces/tm/configmaps", &cm(name))
                .await
                .status,
            201
        );
    }
    let bare = |v: &serde_json::Value, what: &str| {
        let items = v["items"].as_array().cloned().unwrap_or_default();
        assert_eq!(items.len(), 2, "{what}: {v}");
        for i in items {
            assert!(
                i.get("kind").is_none() && i.get("apiVersion").is_none(),
                "{what}: {i}"
            );
            assert!(i["metadata"]["resourceVersion"].is_string(), "{what}: {i}");
        }
        assert_eq!(v["kind"], "ConfigMapList", "{what}");
        assert_eq!(v["apiVersion"], "v1", "{what}");
    };
    let list = "/api/v1/namespaces/tm/configmaps";
    bare(&s.get(list).await.json(), "plain");
    bare(
        &s.get(&format!("{list}?resourceVersion=0")).await.json(),
        "cache",
    );
    bare(
        &s.get(&format!("{list}?labelSelector=!none")).await.json(),
        "filtered",
    );
    bare(
        &s.get("/api/v1/configmaps?fieldSelector=metadata.namespace%3Dtm")
            .await
            .json(),
        "all namespaces",
    );
    let yaml = s
        .request_with("GET", list, None, None, &[("Accept", "application/yaml")])
        .await;
    assert_eq!(yaml.status, 200);
    let text = yaml.text();
    assert!(text.contains("kind: ConfigMapList"), "{text}");
    assert!(
        !text.contains("kind: ConfigMap\n") && !text.contains("- apiVersion"),
        "{text}"
    );

    let one = s.get(&format!("{list}/a")).await.json();
    assert_eq!(
        (one["kind"].as_str(), one["apiVersion"].as_str()),
        (Some("ConfigMap"), Some("v1"))
    );
    let watch = s
        .get(&format!(
            "{list}?watch=1&resourceVersion=0&timeoutSeconds=1"
        ))
        .await;
    let events: Vec<serde_json::Value> = watch
        .text()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert!(events.len() >= 2, "{}", watch.text());
    for e in &events {
        assert_eq!(e["object"]["kind"], "ConfigMap", "{e}");
    }

    let deleted = s.delete(list).await;
    assert_eq!(deleted.status, 200);
    bare(&deleted.json(), "deletecollection");
    s.stop().await;
}

/// Go writes every non-pointer struct field and every non-pointer scalar without
/// `omitempty`, set or not; kube-apiserver's objects show them, and so do Kiln's (D37).
#[actix_web::test]
async fn fields_go_always_writes_are_written() {
    let s = TestServer::start().await;
    s.namespace("zv").await;
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                     "spec": {"containers": [{"name": "c", "image": "nginx"}]}});
    let r = s.post_json("/api/v1/namespaces/zv/pods", &pod).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let got = s.get("/api/v1/namespaces/zv/pods/p").await.json();
    assert_eq!(
        got["spec"]["containers"][0]["resources"],
        json!({}),
        "{got}"
    );
    assert_eq!(got["spec"]["securityContext"], json!({}), "{got}");
    assert!(
        got["metadata"]
            .get("creationTimestamp")
            .is_some_and(|t| t.is_string())
    );

    // A condition without times: both are non-pointer metav1.Time, written as null.
    let mut status = got.clone();
    status["status"]["conditions"] = json!([{"type": "Ready", "status": "True"}]);
    let r = s
        .put_json("/api/v1/namespaces/zv/pods/p/status", &status)
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let cond = &r.json()["status"]["conditions"][0];
    assert_eq!(
        cond,
        &json!({"type": "Ready", "status": "True", "lastProbeTime": null, "lastTransitionTime": null})
    );
    let text = s.get("/api/v1/namespaces/zv/pods/p").await.text();
    assert!(
        text.contains(r#""lastProbeTime":null,"lastTransitionTime":null"#),
        "{text}"
    );

    let svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
                     "spec": {"ports": [{"port": 80}]}});
    let r = s.post_json("/api/v1/namespaces/zv/services", &svc).await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["status"], json!({"loadBalancer": {}}));

    // Empty lists and maps do not survive storage, as in kube-apiserver (its protobuf
    // cannot carry them): left out with omitempty, `null` without it.
    let pod2 = json!({"apiVersion": "v1", "kind": "Pod",
                      "metadata": {"name": "p2", "annotations": {}},
                      "spec": {"imagePullSecrets": [], "containers": [{"name": "c", "image": "x", "env": []}]}});
    let r = s.post_json("/api/v1/namespaces/zv/pods", &pod2).await;
    assert_eq!(r.status, 201, "{}", r.text());
    for got in [
        r.json(),
        s.get("/api/v1/namespaces/zv/pods/p2").await.json(),
    ] {
        assert!(got["metadata"].get("annotations").is_none(), "{got}");
        assert!(got["spec"].get("imagePullSecrets").is_none(), "{got}");
        assert!(got["spec"]["containers"][0].get("env").is_none(), "{got}");
    }
    let role = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                      "metadata": {"name": "zv-empty"}, "rules": []});
    let r = s
        .post_json("/apis/rbac.authorization.k8s.io/v1/clusterroles", &role)
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert!(r.text().contains(r#""rules":null"#), "{}", r.text());

    // A new PDB's status: four non-pointer int32s without omitempty.
    let pdb = json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                     "metadata": {"name": "b"}, "spec": {"minAvailable": 1}});
    let r = s
        .post_json("/apis/policy/v1/namespaces/zv/poddisruptionbudgets", &pdb)
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(
        r.json()["status"],
        json!({"disruptionsAllowed": 0, "currentHealthy": 0, "desiredHealthy": 0, "expectedPods": 0})
    );
    s.stop().await;
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[actix_web::test]
async fn cluster_scoped_and_all_namespaces() {
    let s = TestServer::start().await;
    s.namespace("t6a").await;
    s.namespace("t6b").await;
    assert_eq!(
        s.post_json("/api/v1/namespaces/t6a/configmaps", &cm("here"))
            .await
            .status,
        201
    );
    assert_eq!(
        s.post_json("/api/v1/namespaces/t6b/configmaps", &cm("there"))
            .await
            .status,
        201
    );
    let all = s.get("/api/v1/configmaps").await.json();
    let names: Vec<&str> = all["items"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|i| i["metadata"]["name"].as_str())
                .collect()
        })
        .unwrap_or_default();
    assert!(names.contains(&"here") && names.contains(&"there"));
    let role = json!({"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole","metadata":{"name":"reader"},"rules":[{"verbs":["get"],"apiGroups":[""],"resources":["pods"]}]});
    assert_eq!(
        s.post_json("/apis/rbac.authorization.k8s.io/v1/clusterroles", &role)
            .await
            .status,
        201
    );
    assert_eq!(
        s.get("/apis/rbac.authorization.k8s.io/v1/clusterroles/reader")
            .await
            .status,
        200
    );
    assert_eq!(
        s.get("/apis/rbac.authorization.k8s.io/v1/namespaces/t6a/clusterroles/reader")
            .await
            .status,
        404
    );
    s.stop().await;
}

#[actix_web::test]
async fn bootstrap_namespaces_and_default_service_accounts() {
    let s = TestServer::start().await;
    for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        let r = s.get(&format!("/api/v1/namespaces/{ns}")).await;
        assert_eq!(r.status, 200, "{ns}");
        assert_eq!(r.json()["status"]["phase"], "Active");
    }
    s.namespace("t7").await;
    let mut found = false;
    for _ in 0..50 {
        if s.get("/api/v1/namespaces/t7/serviceaccounts/default")
            .await
            .status
            == 200
        {
            found = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(found, "default service account not created");
    s.stop().await;
}

#[actix_web::test]
async fn namespace_deletion_empties_and_removes_it() {
    let s = TestServer::start().await;
    s.namespace("t8").await;
    assert_eq!(
        s.post_json("/api/v1/namespaces/t8/configmaps", &cm("x"))
            .await
            .status,
        201
    );
    let r = s.delete("/api/v1/namespaces/t8").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["status"]["phase"], "Terminating");
    let r = s
        .post_json("/api/v1/namespaces/t8/configmaps", &cm("y"))
        .await;
    assert_eq!(r.status, 403, "{}", r.text());
    let mut gone = false;
    for _ in 0..100 {
        if s.get("/api/v1/namespaces/t8").await.status == 404 {
            gone = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(gone, "namespace not finalized");
    assert_eq!(
        s.get("/api/v1/namespaces/t8/configmaps/x").await.status,
        404
    );
    s.stop().await;
}

#[actix_web::test]
async fn put_creates_only_where_kube_allows_it() {
    // kube-apiserver's Lease, RBAC, Endpoints, Event, LimitRange and Service strategies
    // allow create on update (PUT of a missing object answers 201); ConfigMap's and
    // ServiceAccount's do not (404).
    let s = TestServer::start().await;
    s.namespace("t11").await;
    let lease = json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": "l"}, "spec": {"holderIdentity": "a"}});
    let path = "/apis/coordination.k8s.io/v1/namespaces/t11/leases/l";
    let r = s.put_json(path, &lease).await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["spec"]["holderIdentity"], "a");
    assert_eq!(s.get(path).await.status, 200);
    let role = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": {"name": "r"}, "rules": []});
    let r = s
        .put_json(
            "/apis/rbac.authorization.k8s.io/v1/namespaces/t11/roles/r",
            &role,
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let r = s
        .put_json(
            "/apis/rbac.authorization.k8s.io/v1/namespaces/t11/roles/r",
            &role,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}});
    let r = s.put_json("/api/v1/namespaces/t11/configmaps/c", &cm).await;
    assert_eq!(r.status, 404, "{}", r.text());
    let sa = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "sa"}});
    let r = s
        .put_json("/api/v1/namespaces/t11/serviceaccounts/sa", &sa)
        .await;
    assert_eq!(r.status, 404, "{}", r.text());
    s.stop().await;
}

#[actix_web::test]
async fn put_without_resource_version_only_where_kube_allows_it() {
    // kube-apiserver's Lease and PodDisruptionBudget strategies answer
    // AllowUnconditionalUpdate() = false: a PUT of an existing object must carry
    // metadata.resourceVersion (422 naming the resource, the value printed as Go's 0x0).
    // ConfigMap's allows it: the PUT applies to the current object.
    let s = TestServer::start().await;
    s.namespace("t12").await;
    let lease = json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": "l"}, "spec": {"holderIdentity": "a"}});
    let path = "/apis/coordination.k8s.io/v1/namespaces/t12/leases/l";
    // Create on update needs no resourceVersion.
    assert_eq!(s.put_json(path, &lease).await.status, 201);
    let r = s.put_json(path, &lease).await;
    assert_eq!(r.status, 422, "{}", r.text());
    let body = r.json();
    assert_eq!(
        body["message"],
        "leases.coordination.k8s.io \"l\" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be specified for an update"
    );
    assert_eq!(body["reason"], "Invalid");
    assert_eq!(body["details"]["kind"], "leases");
    assert_eq!(body["details"]["group"], "coordination.k8s.io");
    assert_eq!(
        body["details"]["causes"][0],
        json!({"reason": "FieldValueInvalid", "message": "Invalid value: 0x0: must be specified for an update", "field": "metadata.resourceVersion"})
    );
    // With the current resourceVersion the same PUT succeeds; a merge patch needs none.
    let rv = s.get(path).await.json()["metadata"]["resourceVersion"].clone();
    let mut pinned = lease.clone();
    pinned["metadata"]["resourceVersion"] = rv;
    pinned["spec"]["holderIdentity"] = json!("b");
    let r = s.put_json(path, &pinned).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = s
        .patch(
            path,
            "application/merge-patch+json",
            &json!({"spec": {"holderIdentity": "c"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // A patch that removes the resourceVersion makes the update unconditional: refused too.
    let r = s
        .patch(
            path,
            "application/merge-patch+json",
            &json!({"metadata": {"resourceVersion": null}, "spec": {"holderIdentity": "d"}}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text());
    assert_eq!(s.get(path).await.json()["spec"]["holderIdentity"], "c");

    let pdb = json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
        "metadata": {"name": "p"}, "spec": {"minAvailable": 1, "selector": {"matchLabels": {"a": "b"}}}});
    let pdbs = "/apis/policy/v1/namespaces/t12/poddisruptionbudgets";
    assert_eq!(s.post_json(pdbs, &pdb).await.status, 201);
    let r = s.put_json(&format!("{pdbs}/p"), &pdb).await;
    assert_eq!(r.status, 422, "{}", r.text());
    assert_eq!(
        r.json()["message"],
        "poddisruptionbudgets.policy \"p\" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be specified for an update"
    );

    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}});
    let cms = "/api/v1/namespaces/t12/configmaps";
    assert_eq!(s.post_json(cms, &cm).await.status, 201);
    let mut changed = cm.clone();
    changed["data"]["a"] = json!("2");
    let r = s.put_json(&format!("{cms}/c"), &changed).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["data"]["a"], "2");
    s.stop().await;
}

#[actix_web::test]
async fn generation_only_where_kube_tracks_it() {
    // kube-apiserver's PVC, ResourceQuota and ServiceCIDR strategies never set
    // metadata.generation, although those kinds have a status subresource; Ingress and
    // HPA strategies set it to 1 and bump it on spec changes, and so does NetworkPolicy's.
    let s = TestServer::start().await;
    s.namespace("t10").await;
    let pvc = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "c"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}});
    let r = s
        .post_json("/api/v1/namespaces/t10/persistentvolumeclaims", &pvc)
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["metadata"].get("generation"), None);
    let r = s
        .patch(
            "/api/v1/namespaces/t10/persistentvolumeclaims/c",
            "application/merge-patch+json",
            &json!({"metadata": {"labels": {"tier": "db"}}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["metadata"].get("generation"), None);
    let quota = json!({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "q"},
        "spec": {"hard": {"pods": "3"}}});
    let r = s
        .post_json("/api/v1/namespaces/t10/resourcequotas", &quota)
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["metadata"].get("generation"), None);
    let r = s
        .get("/apis/networking.k8s.io/v1/servicecidrs/kubernetes")
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["metadata"].get("generation"), None);

    let ing = json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "i"},
        "spec": {"defaultBackend": {"service": {"name": "s", "port": {"number": 80}}}}});
    let r = s
        .post_json("/apis/networking.k8s.io/v1/namespaces/t10/ingresses", &ing)
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["metadata"]["generation"], 1);
    let r = s
        .patch(
            "/apis/networking.k8s.io/v1/namespaces/t10/ingresses/i",
            "application/merge-patch+json",
            &json!({"spec": {"defaultBackend": {"service": {"port": {"number": 81}}}}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["metadata"]["generation"], 2);
    // NetworkPolicy has no status subresource and tracks generation all the same.
    let np = json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": {"name": "n"}, "spec": {"podSelector": {}}});
    let r = s
        .post_json(
            "/apis/networking.k8s.io/v1/namespaces/t10/networkpolicies",
            &np,
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["metadata"]["generation"], 1);
    let r = s
        .patch(
            "/apis/networking.k8s.io/v1/namespaces/t10/networkpolicies/n",
            "application/merge-patch+json",
            &json!({"spec": {"policyTypes": ["Ingress", "Egress"]}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["metadata"]["generation"], 2);
    let hpa = json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "h"}, "spec": {"maxReplicas": 3,
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "d"}}});
    let r = s
        .post_json(
            "/apis/autoscaling/v2/namespaces/t10/horizontalpodautoscalers",
            &hpa,
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["metadata"]["generation"], 1);
    s.stop().await;
}

#[actix_web::test]
async fn status_subresource_and_generation() {
    let s = TestServer::start().await;
    s.namespace("t9").await;
    let d = json!({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d"},"spec":{"replicas":1,"selector":{"matchLabels":{"a":"b"}},"template":{"metadata":{"labels":{"a":"b"}},"spec":{"containers":[{"name":"c","image":"nginx"}]}}}});
    let r = s
        .post_json("/apis/apps/v1/namespaces/t9/deployments", &d)
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["metadata"]["generation"], 1);
    let base = "/apis/apps/v1/namespaces/t9/deployments/d";
    let r = s
        .patch(
            base,
            "application/merge-patch+json",
            &json!({"metadata":{"labels":{"x":"1"}}}),
        )
        .await;
    assert_eq!(r.json()["metadata"]["generation"], 1);
    let r = s
        .patch(
            base,
            "application/merge-patch+json",
            &json!({"spec":{"replicas":3}}),
        )
        .await;
    assert_eq!(r.json()["metadata"]["generation"], 2);
    let r = s
        .patch(
            &format!("{base}/status"),
            "application/merge-patch+json",
            &json!({"status":{"replicas":7}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["status"]["replicas"], 7);
    assert_eq!(r.json()["metadata"]["generation"], 2);
    let r = s
        .patch(
            base,
            "application/merge-patch+json",
            &json!({"status":{"replicas":99}}),
        )
        .await;
    assert_eq!(r.json()["status"]["replicas"], 7);
    let r = s
        .patch(
            &format!("{base}/status"),
            "application/merge-patch+json",
            &json!({"spec":{"replicas":9}}),
        )
        .await;
    assert_eq!(r.json()["spec"]["replicas"], 3);
    s.stop().await;
}

/// Bodies use Go's JSON escaping (`<`, `>`, `&` as `\u003c`, `\u003e`, `\u0026`) on every
/// JSON path: the stored-text splice, the value path (write responses) and watch events.
#[actix_web::test]
async fn json_bodies_escape_like_go() {
    let s = TestServer::start().await;
    s.namespace("esc").await;
    let body = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "h"}, "data": {"html": "<b>&</b>"}});
    let want = r#""html":"\u003cb\u003e\u0026\u003c/b\u003e""#;
    let r = s
        .post_json("/api/v1/namespaces/esc/configmaps", &body)
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert!(r.text().contains(want), "create response: {}", r.text());
    let r = s.get("/api/v1/namespaces/esc/configmaps/h").await;
    assert!(r.text().contains(want), "GET: {}", r.text());
    let r = s.get("/api/v1/namespaces/esc/configmaps").await;
    assert!(r.text().contains(want), "LIST: {}", r.text());
    let r = s
        .get("/api/v1/namespaces/esc/configmaps?watch=1&resourceVersion=0&timeoutSeconds=1")
        .await;
    assert!(r.text().contains(want), "watch: {}", r.text());
    assert!(!r.text().contains('<'), "watch: {}", r.text());
}
