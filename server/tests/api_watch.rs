//! Black-box watch tests: event types, replay, selectors, watch-list, timeouts.

mod common;

use std::time::Duration;

use common::TestServer;
use futures_util::StreamExt;
use serde_json::{Value, json};

fn cm(name: &str, labels: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": labels}})
}

/// Reads a watch stream until it ends; returns (type, name) per event line.
async fn collect(s: &TestServer, path: &str) -> Vec<(String, String, Value)> {
    let resp = s.client.get(s.url(path)).send().await.expect("watch");
    assert_eq!(resp.status().as_u16(), 200);
    let mut stream = resp.bytes_stream();
    let mut buf = Vec::new();
    while let Some(chunk) = stream.next().await {
        buf.extend_from_slice(&chunk.expect("chunk"));
    }
    String::from_utf8_lossy(&buf)
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("one JSON event per line");
            let name = v["object"]["metadata"]["name"]
                .as_str()
                .unwrap_or("")
                .to_string();
            (v["type"].as_str().unwrap_or("").to_string(), name, v)
        })
        .collect()
}

async fn list_rv(s: &TestServer, ns: &str) -> String {
    s.get(&format!("/api/v1/namespaces/{ns}/configmaps"))
        .await
        .json()["metadata"]["resourceVersion"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

#[actix_web::test]
async fn watch_reports_add_modify_delete_in_order() {
    let s = TestServer::start().await;
    s.namespace("w1").await;
    let rv = list_rv(&s, "w1").await;
    let path =
        format!("/api/v1/namespaces/w1/configmaps?watch=1&resourceVersion={rv}&timeoutSeconds=2");
    let watcher = collect(&s, &path);
    let writer = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(
            s.post_json("/api/v1/namespaces/w1/configmaps", &cm("x", json!({})))
                .await
                .status,
            201
        );
        s.patch(
            "/api/v1/namespaces/w1/configmaps/x",
            "application/merge-patch+json",
            &json!({"metadata":{"labels":{"step":"2"}}}),
        )
        .await;
        s.delete("/api/v1/namespaces/w1/configmaps/x").await;
    };
    let (events, _) = tokio::join!(watcher, writer);
    let kinds: Vec<(&str, &str)> = events
        .iter()
        .map(|(t, n, _)| (t.as_str(), n.as_str()))
        .collect();
    assert_eq!(kinds, [("ADDED", "x"), ("MODIFIED", "x"), ("DELETED", "x")]);
    assert_eq!(events[1].2["object"]["metadata"]["labels"]["step"], "2");
    // Every event carries a larger resourceVersion than the one before.
    let rvs: Vec<i64> = events
        .iter()
        .filter_map(|(_, _, v)| {
            v["object"]["metadata"]["resourceVersion"]
                .as_str()
                .and_then(|s| s.parse().ok())
        })
        .collect();
    assert!(rvs.windows(2).all(|w| w[0] < w[1]), "{rvs:?}");
    s.stop().await;
}

#[actix_web::test]
async fn watch_replays_history_and_starts_with_current_state() {
    let s = TestServer::start().await;
    s.namespace("w2").await;
    let rv = list_rv(&s, "w2").await;
    for n in ["h1", "h2"] {
        assert_eq!(
            s.post_json("/api/v1/namespaces/w2/configmaps", &cm(n, json!({})))
                .await
                .status,
            201
        );
    }
    let events = collect(
        &s,
        &format!("/api/v1/namespaces/w2/configmaps?watch=1&resourceVersion={rv}&timeoutSeconds=1"),
    )
    .await;
    let names: Vec<&str> = events.iter().map(|(_, n, _)| n.as_str()).collect();
    assert_eq!(names, ["h1", "h2"]);
    let events = collect(
        &s,
        "/api/v1/namespaces/w2/configmaps?watch=1&timeoutSeconds=1",
    )
    .await;
    assert!(events.iter().all(|(t, _, _)| t == "ADDED"));
    assert_eq!(events.len(), 2);
    s.stop().await;
}

#[actix_web::test]
async fn label_selected_watch_reports_objects_leaving_the_set() {
    let s = TestServer::start().await;
    s.namespace("w3").await;
    let rv = list_rv(&s, "w3").await;
    let path = format!(
        "/api/v1/namespaces/w3/configmaps?watch=1&resourceVersion={rv}&labelSelector=sel%3Dyes&timeoutSeconds=2"
    );
    let watcher = collect(&s, &path);
    let writer = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        s.post_json("/api/v1/namespaces/w3/configmaps", &cm("l1", json!({})))
            .await;
        s.patch(
            "/api/v1/namespaces/w3/configmaps/l1",
            "application/merge-patch+json",
            &json!({"metadata":{"labels":{"sel":"yes"}}}),
        )
        .await;
        s.post_json("/api/v1/namespaces/w3/configmaps", &cm("other", json!({})))
            .await;
        s.patch(
            "/api/v1/namespaces/w3/configmaps/l1",
            "application/merge-patch+json",
            &json!({"metadata":{"labels":{"sel":"no"}}}),
        )
        .await;
    };
    let (events, _) = tokio::join!(watcher, writer);
    let kinds: Vec<(&str, &str)> = events
        .iter()
        .map(|(t, n, _)| (t.as_str(), n.as_str()))
        .collect();
    assert_eq!(kinds, [("ADDED", "l1"), ("DELETED", "l1")]);
    s.stop().await;
}

#[actix_web::test]
async fn watch_list_ends_initial_events_with_a_bookmark() {
    let s = TestServer::start().await;
    s.namespace("w4").await;
    s.post_json("/api/v1/namespaces/w4/configmaps", &cm("i1", json!({})))
        .await;
    let events = collect(
        &s,
        "/api/v1/namespaces/w4/configmaps?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=1",
    )
    .await;
    assert_eq!(events[0].0, "ADDED");
    let bookmark = &events[1].2;
    assert_eq!(bookmark["type"], "BOOKMARK");
    assert_eq!(
        bookmark["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"],
        "true"
    );
    assert!(bookmark["object"]["metadata"]["resourceVersion"].is_string());
    // resourceVersionMatch without sendInitialEvents is refused.
    let r = s
        .get("/api/v1/namespaces/w4/configmaps?watch=1&resourceVersionMatch=NotOlderThan")
        .await;
    assert_eq!(r.status, 422);
    s.stop().await;
}

#[actix_web::test]
async fn watch_timeout_closes_the_stream() {
    let s = TestServer::start().await;
    let start = std::time::Instant::now();
    let events = collect(
        &s,
        "/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=1&timeoutSeconds=1",
    )
    .await;
    assert!(start.elapsed() < Duration::from_secs(4));
    assert!(events.is_empty());
    s.stop().await;
}
