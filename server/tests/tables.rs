//! Black-box tests of server-side tables (`as=Table`) and PartialObjectMetadata responses.

mod common;

use common::{Resp, TestServer};
use serde_json::{Value, json};

const TABLE_V1: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";
const KUBECTL: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";

async fn get_as(s: &TestServer, path: &str, accept: &str) -> Resp {
    s.request_with("GET", path, None, None, &[("Accept", accept)])
        .await
}

fn column_names(t: &Value) -> Vec<String> {
    t["columnDefinitions"]
        .as_array()
        .map(|c| {
            c.iter()
                .map(|d| d["name"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

async fn create(s: &TestServer, path: &str, body: Value) {
    let r = s.post_json(path, &body).await;
    assert_eq!(r.status, 201, "{path}: {}", r.text());
}

#[actix_web::test]
async fn pod_table_columns_and_cells() {
    let s = TestServer::start().await;
    s.namespace("t").await;
    create(
        &s,
        "/api/v1/namespaces/t/pods",
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p1"},
               "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}}),
    )
    .await;
    let r = get_as(&s, "/api/v1/namespaces/t/pods", KUBECTL).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.content_type.starts_with("application/json"));
    let t = r.json();
    assert_eq!(t["kind"], "Table");
    assert_eq!(t["apiVersion"], "meta.k8s.io/v1");
    assert_eq!(
        column_names(&t),
        [
            "Name",
            "Ready",
            "Status",
            "Restarts",
            "Age",
            "IP",
            "Node",
            "Nominated Node",
            "Readiness Gates"
        ]
    );
    let priorities: Vec<i64> = t["columnDefinitions"]
        .as_array()
        .map(|c| {
            c.iter()
                .map(|d| d["priority"].as_i64().unwrap_or(-1))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(priorities, [0, 0, 0, 0, 0, 1, 1, 1, 1]);
    assert_eq!(t["columnDefinitions"][0]["format"], "name");
    assert_eq!(
        t["columnDefinitions"][5]["description"],
        "podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated."
    );
    assert!(t["metadata"]["resourceVersion"].is_string());
    let row = &t["rows"][0];
    assert_eq!(row["cells"][0], "p1");
    assert_eq!(row["cells"][1], "0/1");
    assert_eq!(row["cells"][2], "Pending");
    assert_eq!(row["cells"][3], "0");
    let age = row["cells"][4].as_str().unwrap_or("");
    assert!(age.ends_with('s'), "age {age}");
    assert_eq!(row["cells"][5], "<none>");
    assert_eq!(row["cells"][8], "<none>");
    assert_eq!(row["object"]["kind"], "PartialObjectMetadata");
    assert_eq!(row["object"]["apiVersion"], "meta.k8s.io/v1");
    assert_eq!(row["object"]["metadata"]["name"], "p1");
    assert!(row["object"].get("spec").is_none());
    s.stop().await;
}

#[actix_web::test]
async fn include_object_and_versions() {
    let s = TestServer::start().await;
    s.namespace("t").await;
    create(
        &s,
        "/api/v1/namespaces/t/configmaps",
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1", "b": "2"}}),
    )
    .await;
    let r = get_as(
        &s,
        "/api/v1/namespaces/t/configmaps/c?includeObject=Object",
        TABLE_V1,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let t = r.json();
    assert_eq!(column_names(&t), ["Name", "Data", "Age"]);
    assert_eq!(t["rows"][0]["cells"][1], 2);
    assert_eq!(t["rows"][0]["object"]["kind"], "ConfigMap");
    assert_eq!(t["rows"][0]["object"]["data"]["b"], "2");
    assert_eq!(
        t["metadata"]["resourceVersion"],
        t["rows"][0]["object"]["metadata"]["resourceVersion"]
    );

    let r = get_as(
        &s,
        "/api/v1/namespaces/t/configmaps?includeObject=None",
        TABLE_V1,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["rows"][0]["object"], Value::Null);

    let r = get_as(
        &s,
        "/api/v1/namespaces/t/configmaps?includeObject=Everything",
        TABLE_V1,
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text());
    let st = r.json();
    assert_eq!(st["kind"], "Status");
    assert_eq!(st["reason"], "BadRequest");
    assert_eq!(
        st["message"],
        "unrecognized includeObject value: \"Everything\""
    );

    let r = get_as(
        &s,
        "/api/v1/namespaces/t/configmaps",
        "application/json;as=Table;v=v1beta1;g=meta.k8s.io",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let t = r.json();
    assert_eq!(t["apiVersion"], "meta.k8s.io/v1beta1");
    assert_eq!(t["rows"][0]["object"]["apiVersion"], "meta.k8s.io/v1beta1");
    s.stop().await;
}

#[actix_web::test]
async fn workload_service_and_namespace_tables() {
    let s = TestServer::start().await;
    s.namespace("t").await;
    create(
        &s,
        "/apis/apps/v1/namespaces/t/deployments",
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
               "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "d"}},
                        "template": {"metadata": {"labels": {"app": "d"}},
                                     "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27"}]}}}}),
    )
    .await;
    let t = get_as(&s, "/apis/apps/v1/namespaces/t/deployments/d", KUBECTL)
        .await
        .json();
    assert_eq!(
        column_names(&t),
        [
            "Name",
            "Ready",
            "Up-to-date",
            "Available",
            "Age",
            "Containers",
            "Images",
            "Selector"
        ]
    );
    let cells = &t["rows"][0]["cells"];
    assert_eq!(cells[1], "0/2");
    assert_eq!(cells[2], 0);
    assert_eq!(cells[5], "nginx");
    assert_eq!(cells[6], "nginx:1.27");
    assert_eq!(cells[7], "app=d");

    create(
        &s,
        "/api/v1/namespaces/t/services",
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc"},
               "spec": {"ports": [{"port": 80, "targetPort": 8080}], "selector": {"app": "d"}}}),
    )
    .await;
    let t = get_as(&s, "/api/v1/namespaces/t/services/svc", KUBECTL)
        .await
        .json();
    assert_eq!(
        column_names(&t),
        [
            "Name",
            "Type",
            "Cluster-IP",
            "External-IP",
            "Port(s)",
            "Age",
            "Selector"
        ]
    );
    let cells = &t["rows"][0]["cells"];
    assert_eq!(cells[1], "ClusterIP");
    assert!(
        cells[2].as_str().is_some_and(|ip| ip.contains('.')),
        "{cells}"
    );
    assert_eq!(cells[3], "<none>");
    assert_eq!(cells[4], "80/TCP");
    assert_eq!(cells[6], "app=d");

    let t = get_as(&s, "/api/v1/namespaces/t", KUBECTL).await.json();
    assert_eq!(column_names(&t), ["Name", "Status", "Age"]);
    assert_eq!(t["rows"][0]["cells"][1], "Active");
    s.stop().await;
}

#[actix_web::test]
async fn kinds_without_printer_use_default_columns() {
    let s = TestServer::start().await;
    s.namespace("t").await;
    let r = get_as(
        &s,
        "/apis/rbac.authorization.k8s.io/v1/namespaces/t/roles",
        KUBECTL,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let t = r.json();
    assert_eq!(column_names(&t), ["Name", "Created At"]);
    assert_eq!(t["columnDefinitions"][1]["type"], "date");
    assert_eq!(t["rows"], Value::Null);
    create(
        &s,
        "/apis/rbac.authorization.k8s.io/v1/namespaces/t/roles",
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "r"}, "rules": []}),
    )
    .await;
    let t = get_as(
        &s,
        "/apis/rbac.authorization.k8s.io/v1/namespaces/t/roles",
        KUBECTL,
    )
    .await
    .json();
    let created = t["rows"][0]["cells"][1].as_str().unwrap_or("");
    assert!(created.ends_with('Z') && created.len() == 20, "{created}");
    s.stop().await;
}

#[actix_web::test]
async fn list_paging_metadata_and_partial_object_metadata() {
    let s = TestServer::start().await;
    s.namespace("t").await;
    for i in 0..3 {
        create(
            &s,
            "/api/v1/namespaces/t/configmaps",
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": format!("c{i}")}, "data": {"k": "v"}}),
        )
        .await;
    }
    let t = get_as(&s, "/api/v1/namespaces/t/configmaps?limit=2", KUBECTL)
        .await
        .json();
    assert_eq!(t["rows"].as_array().map(Vec::len), Some(2));
    assert!(
        t["metadata"]["continue"]
            .as_str()
            .is_some_and(|c| !c.is_empty())
    );
    assert_eq!(t["metadata"]["remainingItemCount"], 1);

    let r = get_as(
        &s,
        "/api/v1/namespaces/t/configmaps",
        "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let l = r.json();
    assert_eq!(l["kind"], "PartialObjectMetadataList");
    assert_eq!(l["items"].as_array().map(Vec::len), Some(3));
    assert_eq!(l["items"][0]["kind"], "PartialObjectMetadata");
    assert!(l["items"][0].get("data").is_none());
    s.stop().await;
}
