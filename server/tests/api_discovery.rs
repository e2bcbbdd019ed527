//! Discovery, version, health and OpenAPI endpoints.

mod common;

use common::TestServer;

const AGGREGATED: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json";

#[actix_web::test]
async fn discovery_documents() {
    let s = TestServer::start().await;
    let api = s.get("/api").await.json();
    assert_eq!(api["kind"], "APIVersions");
    assert_eq!(api["versions"][0], "v1");
    let apis = s.get("/apis/").await.json();
    assert_eq!(apis["kind"], "APIGroupList");
    let groups = apis["groups"].as_array().cloned().unwrap_or_default();
    let autoscaling = groups
        .iter()
        .find(|g| g["name"] == "autoscaling")
        .cloned()
        .unwrap_or_default();
    assert_eq!(autoscaling["preferredVersion"]["version"], "v2");
    // Only GA versions by default.
    assert!(
        groups
            .iter()
            .all(|g| g["versions"].as_array().is_some_and(|v| v
                .iter()
                .all(|v| !v["version"].as_str().unwrap_or("").contains("alpha"))))
    );

    let core = s.get("/api/v1").await.json();
    let pods = core["resources"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["name"] == "pods"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(pods["shortNames"][0], "po");
    assert_eq!(pods["categories"][0], "all");
    assert_eq!(pods["singularName"], "pod");
    assert!(pods["storageVersionHash"].is_string());
    let eviction = core["resources"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["name"] == "pods/eviction"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(eviction["group"], "policy");
    assert_eq!(eviction["kind"], "Eviction");

    let r = s
        .request_with("GET", "/apis", None, None, &[("Accept", AGGREGATED)])
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.content_type,
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
    );
    let agg = r.json();
    assert_eq!(agg["kind"], "APIGroupDiscoveryList");
    let apps = agg["items"]
        .as_array()
        .and_then(|i| i.iter().find(|g| g["metadata"]["name"] == "apps"))
        .cloned()
        .unwrap_or_default();
    let deploy = apps["versions"][0]["resources"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["resource"] == "deployments"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(deploy["scope"], "Namespaced");
    assert_eq!(
        deploy["subresources"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["subresource"] == "scale"))
            .map(|s| s["responseKind"]["kind"].clone()),
        Some("Scale".into())
    );
    // Beta versions appear when enabled.
    s.stop().await;
    let s = TestServer::start_with("api/beta=true").await;
    let apis = s.get("/apis").await.json();
    assert!(apis.to_string().contains("v1beta"));
    s.stop().await;
}

#[actix_web::test]
async fn version_health_and_openapi() {
    let s = TestServer::start().await;
    let v = s.get("/version").await.json();
    assert_eq!(v["major"], "1");
    assert!(v["gitVersion"].as_str().unwrap_or("").starts_with("v1."));
    for p in ["/healthz", "/livez", "/readyz"] {
        let r = s.get(p).await;
        assert_eq!((r.status, r.text()), (200, "ok".to_string()), "{p}");
    }
    let r = s.get("/readyz?verbose").await;
    assert!(
        r.text().contains("[+]ping ok") && r.text().ends_with("readyz check passed\n"),
        "{}",
        r.text()
    );
    let v2 = s.get("/openapi/v2").await;
    assert_eq!(v2.status, 200);
    let v2 = v2.json();
    assert_eq!(v2["swagger"], "2.0");
    assert!(v2["definitions"]["io.k8s.api.core.v1.Pod"].is_object());
    let index = s.get("/openapi/v3").await.json();
    let url = index["paths"]["apis/apps/v1"]["serverRelativeURL"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(url.starts_with("/openapi/v3/apis/apps/v1?hash="), "{url}");
    let r = s.get(&url).await;
    assert_eq!(r.status, 200);
    let doc = r.json();
    assert!(doc["openapi"].as_str().unwrap_or("").starts_with("3."));
    assert_eq!(
        doc["components"]["schemas"]["io.k8s.api.apps.v1.Deployment"]["type"],
        "object"
    );
    let stale = s
        .client
        .get(s.url("/openapi/v3/apis/apps/v1?hash=0"))
        .send()
        .await
        .map(|r| r.status().as_u16());
    assert!(matches!(stale, Ok(301) | Ok(200)), "{stale:?}");
    s.stop().await;
}
