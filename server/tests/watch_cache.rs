//! Black-box tests of the watch cache: many watchers of one resource share one upstream
//! watch and each sees every event in order; `resourceVersion=0` lists and watches are
//! served from the cache and stay consistent with storage.

mod common;

use std::time::Duration;

use common::TestServer;
use futures_util::StreamExt;
use serde_json::{Value, json};

fn cm(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": name}})
}

/// Reads a watch stream until it ends; returns (type, name, resourceVersion) per event.
async fn collect(s: &TestServer, path: &str) -> Vec<(String, String, String)> {
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
            let meta = &v["object"]["metadata"];
            (
                v["type"].as_str().unwrap_or("").to_string(),
                meta["name"].as_str().unwrap_or("").to_string(),
                meta["resourceVersion"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

async fn list(s: &TestServer, path: &str) -> Value {
    let r = s.get(path).await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

fn names(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|i| i["metadata"]["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[actix_web::test]
async fn many_watchers_each_see_every_event_in_order() {
    let s = TestServer::start().await;
    s.namespace("wc1").await;
    s.namespace("wc2").await;
    let rv = list(&s, "/api/v1/namespaces/wc1/configmaps").await["metadata"]["resourceVersion"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let path =
        format!("/api/v1/namespaces/wc1/configmaps?watch=1&resourceVersion={rv}&timeoutSeconds=3");
    let all_path = format!("/api/v1/configmaps?watch=1&resourceVersion={rv}&timeoutSeconds=3");
    let watchers = futures_util::future::join_all((0..40).map(|_| collect(&s, &path)));
    let everywhere = collect(&s, &all_path);
    let writer = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut written = Vec::new();
        for i in 0..10 {
            for ns in ["wc1", "wc2"] {
                let r = s
                    .post_json(
                        &format!("/api/v1/namespaces/{ns}/configmaps"),
                        &cm(&format!("c{i}")),
                    )
                    .await;
                assert_eq!(r.status, 201, "{}", r.text());
                written.push((
                    ns,
                    r.json()["metadata"]["resourceVersion"]
                        .as_str()
                        .unwrap_or("")
                        .to_string(),
                ));
            }
        }
        let r = s.delete("/api/v1/namespaces/wc1/configmaps/c0").await;
        assert_eq!(r.status, 200, "{}", r.text());
        written
    };
    let (seen, everywhere, written) = tokio::join!(watchers, everywhere, writer);
    let mut want: Vec<(String, String, String)> = written
        .iter()
        .enumerate()
        .filter(|(_, (ns, _))| *ns == "wc1")
        .map(|(i, (_, rv))| ("ADDED".to_string(), format!("c{}", i / 2), rv.clone()))
        .collect();
    let deleted = seen[0].last().cloned().expect("events");
    assert_eq!((deleted.0.as_str(), deleted.1.as_str()), ("DELETED", "c0"));
    want.push(deleted);
    for events in &seen {
        assert_eq!(events, &want);
    }
    // A cluster-wide watcher of the same resource sees both namespaces, in write order.
    let revs: Vec<&str> = everywhere
        .iter()
        .filter(|e| e.0 == "ADDED")
        .map(|e| e.2.as_str())
        .collect();
    let written: Vec<&str> = written.iter().map(|w| w.1.as_str()).collect();
    assert_eq!(revs, written);
}

#[actix_web::test]
async fn resource_version_zero_lists_and_watches_come_from_the_cache() {
    let s = TestServer::start().await;
    s.namespace("wc3").await;
    // First use starts the cache; later writes reach it through its watch.
    let empty = list(&s, "/api/v1/namespaces/wc3/configmaps?resourceVersion=0").await;
    assert_eq!(names(&empty), Vec::<String>::new());
    for i in 0..5 {
        let r = s
            .post_json("/api/v1/namespaces/wc3/configmaps", &cm(&format!("c{i}")))
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
    }
    let want: Vec<String> = (0..5).map(|i| format!("c{i}")).collect();
    let mut cached = Value::Null;
    for _ in 0..50 {
        cached = list(&s, "/api/v1/namespaces/wc3/configmaps?resourceVersion=0").await;
        if names(&cached) == want {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(names(&cached), want);
    let latest = list(&s, "/api/v1/namespaces/wc3/configmaps").await;
    assert_eq!(cached["items"], latest["items"]);
    // Paged: the first page from the cache, the rest from storage at the same revision.
    let first = list(
        &s,
        "/api/v1/namespaces/wc3/configmaps?resourceVersion=0&limit=2",
    )
    .await;
    assert_eq!(names(&first), ["c0", "c1"]);
    assert_eq!(first["metadata"]["remainingItemCount"], 3);
    let token = first["metadata"]["continue"]
        .as_str()
        .expect("continue")
        .to_string();
    let rest = list(
        &s,
        &format!("/api/v1/namespaces/wc3/configmaps?limit=10&continue={token}"),
    )
    .await;
    assert_eq!(names(&rest), ["c2", "c3", "c4"]);
    assert_eq!(
        rest["metadata"]["resourceVersion"],
        first["metadata"]["resourceVersion"]
    );
    // A watch from "0" starts with the cached state, then follows changes.
    let watch = collect(
        &s,
        "/api/v1/namespaces/wc3/configmaps?watch=1&resourceVersion=0&timeoutSeconds=2",
    );
    let writer = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let r = s.delete("/api/v1/namespaces/wc3/configmaps/c4").await;
        assert_eq!(r.status, 200, "{}", r.text());
    };
    let (events, ()) = tokio::join!(watch, writer);
    let kinds: Vec<(&str, &str)> = events
        .iter()
        .map(|e| (e.0.as_str(), e.1.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("ADDED", "c0"),
            ("ADDED", "c1"),
            ("ADDED", "c2"),
            ("ADDED", "c3"),
            ("ADDED", "c4"),
            ("DELETED", "c4")
        ]
    );
}

#[actix_web::test]
async fn a_watch_from_a_compacted_revision_is_410() {
    let s = TestServer::start().await;
    s.namespace("wc4").await;
    let r = s
        .post_json("/api/v1/namespaces/wc4/configmaps", &cm("a"))
        .await;
    let old = r.json()["metadata"]["resourceVersion"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let r = s
        .post_json("/api/v1/namespaces/wc4/configmaps", &cm("b"))
        .await;
    let newer: i64 = r.json()["metadata"]["resourceVersion"]
        .as_str()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let store = &s.running.as_ref().expect("running").state.store;
    store.storage.compact(newer).await.expect("compact");
    let resp = s
        .client
        .get(s.url(&format!(
            "/api/v1/namespaces/wc4/configmaps?watch=1&resourceVersion={old}"
        )))
        .send()
        .await
        .expect("watch");
    assert_eq!(resp.status().as_u16(), 200);
    let body = resp.text().await.expect("body");
    let ev: Value = serde_json::from_str(body.trim()).expect("one ERROR event");
    assert_eq!(ev["type"], "ERROR");
    assert_eq!(ev["object"]["code"], 410);
    assert_eq!(ev["object"]["reason"], "Expired");
    assert_eq!(
        ev["object"]["message"],
        format!("too old resource version: {old} ({newer})")
    );
}
