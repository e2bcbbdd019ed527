//! Black-box tests of `kubectl get -w` style watches: event objects as `meta.k8s.io`
//! Tables (column definitions on the first event only) and as PartialObjectMetadata.

mod common;

use std::time::Duration;

use common::TestServer;
use futures_util::StreamExt;
use serde_json::{Value, json};

/// The Accept header kubectl 1.32 sends for `get` and `get -w`.
const KUBECTL_TABLE: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";

fn cm(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"a": "1"}})
}

/// Reads a watch stream with `accept` until it ends: (content type, events).
async fn collect(s: &TestServer, path: &str, accept: &str) -> (String, Vec<Value>) {
    let resp = s
        .client
        .get(s.url(path))
        .header("Accept", accept)
        .send()
        .await
        .expect("watch");
    assert_eq!(resp.status().as_u16(), 200);
    let ctype = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let mut stream = resp.bytes_stream();
    let mut buf = Vec::new();
    while let Some(chunk) = stream.next().await {
        buf.extend_from_slice(&chunk.expect("chunk"));
    }
    let events = String::from_utf8_lossy(&buf)
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_str(l).expect("one JSON event per line"))
        .collect();
    (ctype, events)
}

async fn list_rv(s: &TestServer, ns: &str) -> String {
    s.get(&format!("/api/v1/namespaces/{ns}/configmaps"))
        .await
        .json()["metadata"]["resourceVersion"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

/// Creates, updates and deletes configmap `x` in `ns` once the watch is up.
async fn churn(s: &TestServer, ns: &str) {
    tokio::time::sleep(Duration::from_millis(300)).await;
    let r = s
        .post_json(&format!("/api/v1/namespaces/{ns}/configmaps"), &cm("x"))
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let r = s
        .patch(
            &format!("/api/v1/namespaces/{ns}/configmaps/x"),
            "application/merge-patch+json",
            &json!({"data": {"b": "2"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = s
        .delete(&format!("/api/v1/namespaces/{ns}/configmaps/x"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
}

fn column_names(table: &Value) -> Vec<String> {
    table["columnDefinitions"]
        .as_array()
        .map(|c| {
            c.iter()
                .map(|d| d["name"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[actix_web::test]
async fn kubectl_get_watch_streams_tables_with_headers_once() {
    let s = TestServer::start().await;
    s.namespace("wt1").await;
    let rv = list_rv(&s, "wt1").await;
    let path = format!(
        "/api/v1/namespaces/wt1/configmaps?watch=true&resourceVersion={rv}&timeoutSeconds=2"
    );
    let ((ctype, events), _) = tokio::join!(collect(&s, &path, KUBECTL_TABLE), churn(&s, "wt1"));
    assert_eq!(ctype, "application/json");
    let types: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(types, ["ADDED", "MODIFIED", "DELETED"]);
    for (i, ev) in events.iter().enumerate() {
        let t = ev["object"].as_object().cloned().unwrap_or_default();
        assert_eq!(t.get("kind"), Some(&json!("Table")), "{ev}");
        assert_eq!(t.get("apiVersion"), Some(&json!("meta.k8s.io/v1")));
        let rows = t
            .get("rows")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        assert_eq!(rows.len(), 1, "{ev}");
        assert_eq!(rows[0]["cells"][0], "x");
        // includeObject defaults to Metadata.
        assert_eq!(rows[0]["object"]["kind"], "PartialObjectMetadata");
        assert_eq!(rows[0]["object"]["apiVersion"], "meta.k8s.io/v1");
        assert_eq!(rows[0]["object"]["metadata"]["name"], "x");
        assert!(rows[0]["object"].get("data").is_none());
        // The table's resourceVersion is the object's.
        assert_eq!(
            t.get("metadata").map(|m| m["resourceVersion"].clone()),
            Some(rows[0]["object"]["metadata"]["resourceVersion"].clone())
        );
        if i == 0 {
            assert_eq!(column_names(&ev["object"]), ["Name", "Data", "Age"]);
        } else {
            // Present, and null, as kube's noHeaders tables serialize.
            assert_eq!(t.get("columnDefinitions"), Some(&Value::Null), "{ev}");
        }
    }
    // Data counts follow the object.
    assert_eq!(events[0]["object"]["rows"][0]["cells"][1], 1);
    assert_eq!(events[1]["object"]["rows"][0]["cells"][1], 2);
    s.stop().await;
}

#[actix_web::test]
async fn table_watch_initial_events_and_include_object() {
    let s = TestServer::start().await;
    s.namespace("wt2").await;
    for n in ["a", "b"] {
        let r = s
            .post_json("/api/v1/namespaces/wt2/configmaps", &cm(n))
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
    }
    // No resourceVersion: synthetic ADDED events, headers on the first only.
    let (_, events) = collect(
        &s,
        "/api/v1/namespaces/wt2/configmaps?watch=true&timeoutSeconds=1&includeObject=Object",
        KUBECTL_TABLE,
    )
    .await;
    assert_eq!(events.len(), 2);
    assert_eq!(column_names(&events[0]["object"]), ["Name", "Data", "Age"]);
    assert_eq!(events[1]["object"]["columnDefinitions"], Value::Null);
    let row = &events[1]["object"]["rows"][0];
    assert_eq!(row["object"]["kind"], "ConfigMap");
    assert_eq!(row["object"]["data"], json!({"a": "1"}));
    // includeObject=None, v1beta1 tables.
    let (_, events) = collect(
        &s,
        "/api/v1/namespaces/wt2/configmaps?watch=true&timeoutSeconds=1&includeObject=None",
        "application/json;as=Table;v=v1beta1;g=meta.k8s.io",
    )
    .await;
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["object"]["apiVersion"], "meta.k8s.io/v1beta1");
    assert_eq!(events[0]["object"]["rows"][0]["object"], Value::Null);
    // Named watch (kubectl get cm a -w): only that object.
    let (_, events) = collect(
        &s,
        "/api/v1/namespaces/wt2/configmaps?fieldSelector=metadata.name%3Da&resourceVersion=0&watch=true&timeoutSeconds=1",
        KUBECTL_TABLE,
    )
    .await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["object"]["rows"][0]["cells"][0], "a");
    assert_eq!(column_names(&events[0]["object"]), ["Name", "Data", "Age"]);
    // A bad includeObject is refused before the stream starts.
    let r = s
        .request_with(
            "GET",
            "/api/v1/namespaces/wt2/configmaps?watch=true&includeObject=Everything",
            None,
            None,
            &[("Accept", KUBECTL_TABLE)],
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.json()["kind"], "Status");
    // Without a Table Accept clause, includeObject is not read.
    let (_, events) = collect(
        &s,
        "/api/v1/namespaces/wt2/configmaps?watch=true&timeoutSeconds=1&includeObject=Everything",
        "application/json",
    )
    .await;
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["object"]["kind"], "ConfigMap");
    s.stop().await;
}

#[actix_web::test]
async fn table_watch_of_kinds_without_printers_and_workloads() {
    let s = TestServer::start().await;
    s.namespace("wt3").await;
    let rv = list_rv(&s, "wt3").await;
    // Deployments have a printer with wide (priority 1) columns.
    let deploy = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "d"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "d"}},
                 "template": {"metadata": {"labels": {"app": "d"}},
                              "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}});
    let path = "/apis/apps/v1/namespaces/wt3/deployments?watch=true&timeoutSeconds=1";
    let r = s
        .post_json("/apis/apps/v1/namespaces/wt3/deployments", &deploy)
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let (_, events) = collect(&s, path, KUBECTL_TABLE).await;
    assert_eq!(events.len(), 1);
    let cols = column_names(&events[0]["object"]);
    assert_eq!(cols[0], "Name");
    assert!(cols.contains(&"Selector".to_string()), "{cols:?}");
    assert_eq!(events[0]["object"]["rows"][0]["cells"][0], "d");
    // Kinds without a printer: Name and Created At.
    let lease =
        json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "l"}});
    let r = s
        .post_json("/apis/coordination.k8s.io/v1/namespaces/wt3/leases", &lease)
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let (_, events) = collect(
        &s,
        &format!("/apis/coordination.k8s.io/v1/namespaces/wt3/leases?watch=true&timeoutSeconds=1&resourceVersion={rv}"),
        KUBECTL_TABLE,
    )
    .await;
    assert_eq!(events.len(), 1);
    let t = &events[0]["object"];
    assert_eq!(t["kind"], "Table");
    assert_eq!(t["rows"][0]["cells"][0], "l");
    s.stop().await;
}

#[actix_web::test]
async fn partial_object_metadata_watch() {
    let s = TestServer::start().await;
    s.namespace("wt4").await;
    let rv = list_rv(&s, "wt4").await;
    let path = format!(
        "/api/v1/namespaces/wt4/configmaps?watch=true&resourceVersion={rv}&timeoutSeconds=2"
    );
    let ((ctype, events), _) = tokio::join!(
        collect(
            &s,
            &path,
            "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json"
        ),
        churn(&s, "wt4")
    );
    assert_eq!(ctype, "application/json");
    let types: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(types, ["ADDED", "MODIFIED", "DELETED"]);
    for ev in &events {
        assert_eq!(ev["object"]["kind"], "PartialObjectMetadata");
        assert_eq!(ev["object"]["apiVersion"], "meta.k8s.io/v1");
        assert_eq!(ev["object"]["metadata"]["name"], "x");
        assert!(ev["object"].get("data").is_none());
    }
    s.stop().await;
}
