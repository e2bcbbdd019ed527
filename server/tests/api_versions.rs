//! Black-box tests of one object served in several versions: HorizontalPodAutoscaler in
//! autoscaling/v1 and v2 (stored as v2), and Event in core v1 and events.k8s.io/v1 (stored
//! as a core Event).

mod common;

use common::TestServer;
use serde_json::{Value, json};

const HPA_V1: &str = "/apis/autoscaling/v1/namespaces/v/horizontalpodautoscalers";
const HPA_V2: &str = "/apis/autoscaling/v2/namespaces/v/horizontalpodautoscalers";

fn hpa_v2(name: &str, metrics: Value) -> Value {
    json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": name},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            "minReplicas": 1, "maxReplicas": 5, "metrics": metrics}})
}

fn cpu(u: i64) -> Value {
    json!([{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": u}}}])
}

#[actix_web::test]
async fn hpa_written_as_v2_reads_as_v1_and_lists_and_watches_in_v1() {
    let s = TestServer::start().await;
    s.namespace("v").await;
    let r = s.post_json(HPA_V2, &hpa_v2("a", cpu(60))).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let v1 = s.get(&format!("{HPA_V1}/a")).await.json();
    assert_eq!(v1["apiVersion"], "autoscaling/v1");
    assert_eq!(v1["spec"]["targetCPUUtilizationPercentage"], 60);
    assert!(v1["spec"].get("metrics").is_none());
    assert!(v1["metadata"].get("annotations").is_none(), "{v1}");
    let list = s.get(HPA_V1).await.json();
    assert_eq!(list["apiVersion"], "autoscaling/v1");
    // List items carry no type meta of their own, as kube-apiserver writes them.
    assert!(list["items"][0].get("apiVersion").is_none(), "{list}");
    assert_eq!(
        list["items"][0]["spec"]["targetCPUUtilizationPercentage"],
        60
    );
    // The same object, the same resourceVersion, in both versions.
    let v2 = s.get(&format!("{HPA_V2}/a")).await.json();
    assert_eq!(
        v2["metadata"]["resourceVersion"],
        v1["metadata"]["resourceVersion"]
    );
    assert_eq!(v2["spec"]["metrics"], cpu(60));
    // A watch in v1 sees v1 objects.
    let rv = list["metadata"]["resourceVersion"]
        .as_str()
        .unwrap_or("0")
        .to_string();
    let watch_path = format!("{HPA_V1}?watch=1&resourceVersion={rv}&timeoutSeconds=1");
    let watch = s.get(&watch_path);
    let write = async {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        s.post_json(HPA_V2, &hpa_v2("b", cpu(30))).await
    };
    let (events, created) = tokio::join!(watch, write);
    assert_eq!(created.status, 201);
    let line = events
        .text()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap_or(Value::Null))
        .find(|e| e["object"]["metadata"]["name"] == "b")
        .unwrap_or(Value::Null);
    assert_eq!(line["object"]["apiVersion"], "autoscaling/v1", "{line}");
    assert_eq!(line["object"]["spec"]["targetCPUUtilizationPercentage"], 30);
    s.stop().await;
}

#[actix_web::test]
async fn hpa_written_as_v1_reads_as_v2_with_defaults() {
    let s = TestServer::start().await;
    s.namespace("v").await;
    let body = json!({"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "h"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}, "maxReplicas": 3}});
    let r = s.post_json(HPA_V1, &body).await;
    assert_eq!(r.status, 201, "{}", r.text());
    // The answer is the stored object read back as v1: the implied 80% CPU target shows.
    let created = r.json();
    assert_eq!(created["apiVersion"], "autoscaling/v1");
    assert_eq!(
        created["spec"]["targetCPUUtilizationPercentage"], 80,
        "{created}"
    );
    let v2 = s.get(&format!("{HPA_V2}/h")).await.json();
    assert_eq!(v2["spec"]["minReplicas"], 1);
    assert_eq!(v2["spec"]["metrics"], cpu(80));
    s.stop().await;
}

#[actix_web::test]
async fn hpa_v2_only_fields_survive_a_v1_update() {
    let s = TestServer::start().await;
    s.namespace("v").await;
    let mut obj = hpa_v2(
        "m",
        json!([{"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "500Mi"}}}]),
    );
    obj["spec"]["behavior"] = json!({"scaleDown": {"stabilizationWindowSeconds": 60}});
    let r = s.post_json(HPA_V2, &obj).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let mut v1 = s.get(&format!("{HPA_V1}/m")).await.json();
    let ann = &v1["metadata"]["annotations"];
    assert_eq!(
        ann["autoscaling.alpha.kubernetes.io/metrics"],
        r#"[{"type":"Resource","resource":{"name":"memory","targetAverageValue":"500Mi"}}]"#
    );
    assert!(
        ann["autoscaling.alpha.kubernetes.io/behavior"].is_string(),
        "{ann}"
    );
    v1["spec"]["maxReplicas"] = json!(9);
    let r = s.put_json(&format!("{HPA_V1}/m"), &v1).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v2 = s.get(&format!("{HPA_V2}/m")).await.json();
    assert_eq!(v2["spec"]["maxReplicas"], 9);
    assert_eq!(v2["spec"]["metrics"], obj["spec"]["metrics"]);
    assert_eq!(
        v2["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"],
        60
    );
    assert!(v2["metadata"].get("annotations").is_none(), "{v2}");
    // A merge patch through v1 keeps them too.
    let r = s
        .patch(
            &format!("{HPA_V1}/m"),
            "application/merge-patch+json",
            &json!({"spec": {"maxReplicas": 7}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v2 = s.get(&format!("{HPA_V2}/m")).await.json();
    assert_eq!(v2["spec"]["maxReplicas"], 7);
    assert_eq!(v2["spec"]["metrics"], obj["spec"]["metrics"]);
    s.stop().await;
}

#[actix_web::test]
async fn events_are_one_object_in_two_groups() {
    let s = TestServer::start().await;
    s.namespace("v").await;
    let core = json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e1"},
        "involvedObject": {"kind": "Pod", "namespace": "v", "name": "p", "apiVersion": "v1"},
        "reason": "Testing", "message": "hello", "type": "Normal", "count": 2,
        "firstTimestamp": "2026-01-01T00:00:00Z", "lastTimestamp": "2026-01-01T00:00:00Z",
        "source": {"component": "tests"}});
    let r = s.post_json("/api/v1/namespaces/v/events", &core).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let e = s.get("/apis/events.k8s.io/v1/namespaces/v/events/e1").await;
    assert_eq!(e.status, 200, "{}", e.text());
    let e = e.json();
    assert_eq!(e["apiVersion"], "events.k8s.io/v1");
    assert_eq!(e["note"], "hello");
    assert_eq!(e["regarding"]["name"], "p");
    assert_eq!(e["deprecatedCount"], 2);
    assert_eq!(e["deprecatedSource"]["component"], "tests");
    let list = s
        .get("/apis/events.k8s.io/v1/namespaces/v/events")
        .await
        .json();
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1));
    // Written through events.k8s.io, read as a core Event.
    let ev = json!({"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "e2"},
        "eventTime": "2026-01-01T00:00:00.000000Z", "reportingController": "example.com/c",
        "reportingInstance": "i", "action": "Act", "reason": "R", "type": "Normal",
        "regarding": {"kind": "Pod", "namespace": "v", "name": "q"}, "note": "from events.k8s.io"});
    let r = s
        .post_json("/apis/events.k8s.io/v1/namespaces/v/events", &ev)
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let c = s.get("/api/v1/namespaces/v/events/e2").await.json();
    assert_eq!(c["apiVersion"], "v1");
    assert_eq!(c["message"], "from events.k8s.io");
    assert_eq!(c["involvedObject"]["name"], "q");
    assert_eq!(c["reportingComponent"], "example.com/c");
    // Deleting through one group removes it from the other.
    let r = s
        .delete("/apis/events.k8s.io/v1/namespaces/v/events/e1")
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(s.get("/api/v1/namespaces/v/events/e1").await.status, 404);
    s.stop().await;
}

#[actix_web::test]
async fn discovery_hash_names_the_storage_version() {
    let s = TestServer::start().await;
    let v1 = s.get("/apis/autoscaling/v1").await.json();
    let v2 = s.get("/apis/autoscaling/v2").await.json();
    let hash = |doc: &Value| {
        doc["resources"]
            .as_array()
            .and_then(|rs| rs.iter().find(|r| r["name"] == "horizontalpodautoscalers"))
            .map(|r| r["storageVersionHash"].clone())
            .unwrap_or(Value::Null)
    };
    // base64(sha256("autoscaling/v2/HorizontalPodAutoscaler")[..8])
    assert_eq!(hash(&v1), "qwQve8ut294=");
    assert_eq!(hash(&v2), "qwQve8ut294=");
    s.stop().await;
}
