//! Black-box tests of server-side apply and managedFields.

mod common;

use common::TestServer;
use serde_json::{Value, json};

const APPLY: &str = "application/apply-patch+yaml";

fn managers(obj: &Value) -> Vec<String> {
    obj["metadata"]["managedFields"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| {
                    format!(
                        "{}/{}",
                        e["manager"].as_str().unwrap_or(""),
                        e["operation"].as_str().unwrap_or("")
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

async fn apply(s: &TestServer, path: &str, query: &str, body: &str) -> common::Resp {
    s.request("PATCH", &format!("{path}?{query}"), Some(APPLY), Some(body))
        .await
}

#[actix_web::test]
async fn apply_creates_then_conflicts_then_forces() {
    let s = TestServer::start().await;
    s.namespace("a1").await;
    let path = "/api/v1/namespaces/a1/configmaps/ssa";
    let body =
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ssa}\ndata: {owned: \"1\", shared: a}\n";
    let r = apply(&s, path, "fieldManager=kubectl", body).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let obj = r.json();
    assert_eq!(managers(&obj), vec!["kubectl/Apply"]);
    let entry = &obj["metadata"]["managedFields"][0];
    assert_eq!(entry["apiVersion"], "v1");
    assert_eq!(entry["fieldsType"], "FieldsV1");
    assert_eq!(
        entry["fieldsV1"],
        json!({"f:data": {"f:owned": {}, "f:shared": {}}})
    );
    assert!(entry["time"].as_str().is_some_and(|t| t.ends_with('Z')));
    // Same configuration again: 200 and nothing changes.
    let again = apply(&s, path, "fieldManager=kubectl", body).await;
    assert_eq!(again.status, 200);
    assert_eq!(
        again.json()["metadata"]["resourceVersion"],
        obj["metadata"]["resourceVersion"]
    );

    let other = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ssa}\ndata: {shared: b}\n";
    let r = apply(&s, path, "fieldManager=other&force=false", other).await;
    assert_eq!(r.status, 409, "{}", r.text());
    let st = r.json();
    assert_eq!(st["reason"], "Conflict");
    assert_eq!(
        st["message"],
        "Apply failed with 1 conflict: conflict with \"kubectl\": .data.shared"
    );
    assert_eq!(
        st["details"],
        json!({"causes": [{"reason": "FieldManagerConflict", "message": "conflict with \"kubectl\"", "field": ".data.shared"}]})
    );
    // Dry-run force: the answer shows the takeover, nothing is stored.
    let r = apply(&s, path, "fieldManager=other&force=true&dryRun=All", other).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["data"]["shared"], "b");
    assert_eq!(s.get(path).await.json()["data"]["shared"], "a");

    let r = apply(&s, path, "fieldManager=other&force=true", other).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let obj = r.json();
    assert_eq!(obj["data"]["shared"], "b");
    assert_eq!(managers(&obj), vec!["kubectl/Apply", "other/Apply"]);
    assert_eq!(
        obj["metadata"]["managedFields"][0]["fieldsV1"],
        json!({"f:data": {"f:owned": {}}})
    );
    // kubectl drops its field: removed, the other manager's field stays.
    let r = apply(
        &s,
        path,
        "fieldManager=kubectl",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ssa}\ndata: {}\n",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["data"], json!({"shared": "b"}));
    s.stop().await;
}

#[actix_web::test]
async fn three_managers_and_update_entries() {
    let s = TestServer::start().await;
    s.namespace("a2").await;
    let coll = "/apis/apps/v1/namespaces/a2/deployments";
    let dep = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"app": "web"}},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
          "template": {"metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "main", "image": "nginx:1.27", "ports": [{"containerPort": 80}]}]}}}});
    let r = s
        .request(
            "POST",
            &format!("{coll}?fieldManager=kubectl-create"),
            Some("application/json"),
            Some(&dep.to_string()),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let created = r.json();
    assert_eq!(managers(&created), vec!["kubectl-create/Update"]);
    let fields = &created["metadata"]["managedFields"][0]["fieldsV1"];
    // Defaulted fields belong to the creator, as in kube-apiserver.
    assert!(
        fields["f:spec"].get("f:progressDeadlineSeconds").is_some(),
        "{fields}"
    );
    assert!(fields["f:spec"].get(".").is_none(), "{fields}");
    assert!(fields.get("f:status").is_none(), "{fields}");

    let path = format!("{coll}/web");
    let side = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n      containers:\n      - name: side\n        image: busybox:1.36\n";
    let r = apply(&s, &path, "fieldManager=sidecar-injector", side).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let names: Vec<String> = r.json()["spec"]["template"]["spec"]["containers"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|c| c["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(names, vec!["main", "side"]);

    // A merge patch by a third manager (User-Agent names it) records an Update entry.
    let r = s
        .request_with(
            "PATCH",
            &path,
            Some("application/merge-patch+json"),
            Some(r#"{"spec":{"replicas":5}}"#),
            &[("User-Agent", "scaler/v1.0 (linux)")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let obj = r.json();
    assert_eq!(
        managers(&obj),
        vec![
            "sidecar-injector/Apply",
            "kubectl-create/Update",
            "scaler/Update"
        ]
    );
    // Applying replicas now conflicts with the updater, named with its version.
    let replicas =
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {replicas: 1}\n";
    let r = apply(&s, &path, "fieldManager=sidecar-injector", replicas).await;
    assert_eq!(r.status, 409, "{}", r.text());
    assert_eq!(
        r.json()["message"],
        "Apply failed with 1 conflict: conflict with \"scaler\" using apps/v1: .spec.replicas"
    );
    // Watch and list output carry managedFields like get does.
    let list = s.get(coll).await.json();
    assert_eq!(managers(&list["items"][0]).len(), 3);
    s.stop().await;
}

#[actix_web::test]
async fn apply_request_errors() {
    let s = TestServer::start().await;
    s.namespace("a3").await;
    let path = "/api/v1/namespaces/a3/configmaps/c";
    let body = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n";
    let r = s.request("PATCH", path, Some(APPLY), Some(body)).await;
    assert_eq!(r.status, 422);
    assert_eq!(
        r.json()["message"],
        "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch"
    );
    let r = apply(
        &s,
        path,
        "fieldManager=m",
        "apiVersion: v1\nkind: Secret\nmetadata: {name: c}\n",
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["message"], "invalid object type: /v1, Kind=Secret");
    let r = apply(
        &s,
        path,
        "fieldManager=m",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, managedFields: [{manager: x}]}\n",
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["message"], "metadata.managedFields must be nil");
    let r = apply(
        &s,
        path,
        "fieldManager=m",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\nbogus: 1\n",
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains(".bogus: field not declared in schema"));
    let r = apply(&s, path, "fieldManager=m", "{not yaml").await;
    assert_eq!(r.status, 400);
    // JSON bodies are YAML too.
    let r = apply(
        &s,
        path,
        "fieldManager=m",
        r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":{"a":"1"}}"#,
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    // force on a non-apply patch is refused.
    let r = s
        .request(
            "PATCH",
            &format!("{path}?force=true"),
            Some("application/merge-patch+json"),
            Some("{}"),
        )
        .await;
    assert_eq!(r.status, 422);
    // managedFields: [] on update clears them.
    let mut obj = s.get(path).await.json();
    obj["metadata"]["managedFields"] = json!([]);
    let r = s.put_json(path, &obj).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.json()["metadata"].get("managedFields").is_none());
    s.stop().await;
}
