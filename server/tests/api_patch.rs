//! Black-box tests of PATCH (JSON, merge and strategic merge patches) and of
//! `fieldValidation` on create, update and patch.

mod common;

use common::TestServer;
use serde_json::{Value, json};

const SMP: &str = "application/strategic-merge-patch+json";
const MERGE: &str = "application/merge-patch+json";
const JSON_PATCH: &str = "application/json-patch+json";

fn deployment(name: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [
                {"name": "main", "image": "nginx", "ports": [{"containerPort": 80}],
                 "env": [{"name": "A", "value": "1"}]}]}}}})
}

fn container_names(d: &Value) -> Vec<String> {
    d["spec"]["template"]["spec"]["containers"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|c| c["name"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Status, warning header values and body of a raw request.
async fn raw(
    s: &TestServer,
    method: &str,
    path: &str,
    ct: &str,
    body: &str,
) -> (u16, Vec<String>, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let resp = s
        .client
        .request(method, s.url(path))
        .header("Content-Type", ct)
        .body(body.to_string())
        .send()
        .await
        .expect("request");
    let status = resp.status().as_u16();
    let warnings = resp
        .headers()
        .get_all("warning")
        .iter()
        .map(|v| v.to_str().unwrap_or_default().to_string())
        .collect();
    let body = resp.json::<Value>().await.unwrap_or(Value::Null);
    (status, warnings, body)
}

#[actix_web::test]
async fn strategic_merge_patch_merges_by_key() {
    let s = TestServer::start().await;
    s.namespace("p1").await;
    let base = "/apis/apps/v1/namespaces/p1/deployments";
    let r = s.post_json(base, &deployment("d")).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let path = format!("{base}/d");

    // New items (by merge key) come before the existing ones; matching items merge.
    let r = s
        .patch(
            &path,
            SMP,
            &json!({"spec": {"template": {"spec": {"containers": [
                {"name": "side", "image": "busybox"},
                {"name": "main", "env": [{"name": "B", "value": "2"}]}]}}}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let d = r.json();
    assert_eq!(container_names(&d), ["side", "main"]);
    let main = &d["spec"]["template"]["spec"]["containers"][1];
    assert_eq!(main["image"], "nginx");
    assert_eq!(
        main["env"],
        json!([{"name": "B", "value": "2"}, {"name": "A", "value": "1"}])
    );

    // $patch: delete removes by key; $setElementOrder orders.
    let r = s
        .patch(
            &path,
            SMP,
            &json!({"spec": {"template": {"spec": {
                "$setElementOrder/containers": [{"name": "main"}],
                "containers": [{"name": "side", "$patch": "delete"}]}}}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(container_names(&r.json()), ["main"]);

    // retainKeys: switching the strategy type clears rollingUpdate.
    let r = s
        .patch(
            &path,
            SMP,
            &json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["spec"]["strategy"], json!({"type": "Recreate"}));

    // A merge patch replaces the list.
    let r = s
        .patch(
            &path,
            MERGE,
            &json!({"spec": {"template": {"spec": {"containers": [{"name": "only", "image": "x"}]}}}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(container_names(&r.json()), ["only"]);
    s.stop().await;
}

#[actix_web::test]
async fn patch_errors_have_kube_codes() {
    let s = TestServer::start().await;
    s.namespace("p2").await;
    let base = "/apis/apps/v1/namespaces/p2/deployments";
    assert_eq!(s.post_json(base, &deployment("d")).await.status, 201);
    let path = format!("{base}/d");

    // An item without its merge key does not apply.
    let r = s
        .patch(
            &path,
            SMP,
            &json!({"spec": {"template": {"spec": {"containers": [{"image": "x"}]}}}}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text());
    assert_eq!(
        r.json()["message"],
        "map: map[image:x] does not contain declared merge key: name"
    );
    // Malformed directives and bodies are 400s.
    let r = s
        .patch(
            &path,
            SMP,
            &json!({"spec": {"strategy": {"$retainKeys": "type"}}}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.json()["message"], "invalid patch format of retainKeys");
    let r = s
        .request("PATCH", &path, Some(SMP), Some("{not json"))
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    let r = s.request("PATCH", &path, Some(SMP), Some("[1]")).await;
    assert_eq!(r.status, 400, "{}", r.text());
    // A JSON patch test that fails is a 422; a missing object is a 404.
    let r = s
        .patch(
            &path,
            JSON_PATCH,
            &json!([{"op": "test", "path": "/spec/replicas", "value": 7}]),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text());
    let r = s
        .patch(
            &format!("{base}/missing"),
            SMP,
            &json!({"spec": {"replicas": 2}}),
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.text());
    // A resourceVersion precondition in the patch that does not match is a conflict.
    let r = s
        .patch(&path, MERGE, &json!({"metadata": {"resourceVersion": "1"}}))
        .await;
    assert_eq!(r.status, 409, "{}", r.text());
    // A wrong field type after patching is a 422 on the patch.
    let r = s
        .patch(&path, MERGE, &json!({"spec": {"replicas": "many"}}))
        .await;
    assert_eq!(r.status, 422, "{}", r.text());
    assert_eq!(r.json()["details"]["causes"][0]["field"], "patch");
    s.stop().await;
}

#[actix_web::test]
async fn field_validation_on_create_and_update() {
    let s = TestServer::start().await;
    s.namespace("fv").await;
    let base = "/api/v1/namespaces/fv/configmaps";
    let body = r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","name":"c","bogus":1},"data":{"a":"1"},"data2":{}}"#;

    let (code, _, status) = raw(
        &s,
        "POST",
        &format!("{base}?fieldValidation=Strict"),
        "application/json",
        body,
    )
    .await;
    assert_eq!(code, 400, "{status}");
    assert_eq!(
        status["message"],
        r#"ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: duplicate field "metadata.name", unknown field "metadata.bogus", unknown field "data2""#
    );

    // Warn is the default: created, one warning header per problem.
    let (code, warnings, created) = raw(&s, "POST", base, "application/json", body).await;
    assert_eq!(code, 201, "{created}");
    assert_eq!(
        warnings,
        [
            r#"299 - "duplicate field \"metadata.name\"""#,
            r#"299 - "unknown field \"metadata.bogus\"""#,
            r#"299 - "unknown field \"data2\"""#,
        ]
    );
    assert!(created.get("data2").is_none());

    // Ignore: no warnings.
    let put = body.replace("\"a\":\"1\"", "\"a\":\"2\"");
    let (code, warnings, _) = raw(
        &s,
        "PUT",
        &format!("{base}/c?fieldValidation=Ignore"),
        "application/json",
        &put,
    )
    .await;
    assert_eq!(code, 200);
    assert!(warnings.is_empty(), "{warnings:?}");
    let (code, _, status) = raw(
        &s,
        "PUT",
        &format!("{base}/c?fieldValidation=Strict"),
        "application/json",
        &put,
    )
    .await;
    assert_eq!(code, 400, "{status}");

    // YAML bodies: unknown fields in sorted order.
    let yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: y\nzeta: 1\nalpha: 2\n";
    let (code, _, status) = raw(
        &s,
        "POST",
        &format!("{base}?fieldValidation=Strict"),
        "application/yaml",
        yaml,
    )
    .await;
    assert_eq!(code, 400, "{status}");
    assert_eq!(
        status["message"],
        r#"ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: unknown field "alpha", unknown field "zeta""#
    );

    // An unsupported value is a 422 on the options.
    let (code, _, status) = raw(
        &s,
        "POST",
        &format!("{base}?fieldValidation=strict"),
        "application/json",
        body,
    )
    .await;
    assert_eq!(code, 422, "{status}");
    assert_eq!(status["details"]["kind"], "CreateOptions");
    s.stop().await;
}

#[actix_web::test]
async fn field_validation_on_patches() {
    let s = TestServer::start().await;
    s.namespace("fp").await;
    let base = "/apis/apps/v1/namespaces/fp/deployments";
    assert_eq!(s.post_json(base, &deployment("d")).await.status, 201);
    let path = format!("{base}/d");
    let smp = r#"{"spec": {"unknown1": "v", "unknownDupe": "a", "unknownDupe": "b", "paused": true, "paused": false,
        "template": {"spec": {"containers": [{"name": "main", "image": "nginx", "unknownNested": "v", "imagePullPolicy": "Always", "imagePullPolicy": "Never"}]}}}}"#;
    let want = [
        r#"duplicate field "spec.unknownDupe""#,
        r#"duplicate field "spec.paused""#,
        r#"duplicate field "spec.template.spec.containers[0].imagePullPolicy""#,
        r#"unknown field "spec.template.spec.containers[0].unknownNested""#,
        r#"unknown field "spec.unknown1""#,
        r#"unknown field "spec.unknownDupe""#,
    ];
    for ct in [SMP, MERGE] {
        let (code, _, status) = raw(
            &s,
            "PATCH",
            &format!("{path}?fieldValidation=Strict"),
            ct,
            smp,
        )
        .await;
        assert_eq!(code, 422, "{ct}: {status}");
        let msg = status["message"].as_str().unwrap_or_default();
        assert!(
            msg.starts_with(r#" "" is invalid: patch: Invalid value: ""#),
            "{msg}"
        );
        assert!(
            msg.ends_with(&format!("strict decoding error: {}", want.join(", "))),
            "{ct}: {msg}"
        );
        let (code, warnings, _) = raw(&s, "PATCH", &path, ct, smp).await;
        assert_eq!(code, 200, "{ct}");
        let texts: Vec<String> = want
            .iter()
            .map(|w| format!("299 - \"{}\"", w.replace('"', "\\\"")))
            .collect();
        assert_eq!(warnings, texts, "{ct}");
    }
    let jp = r#"[{"op": "add", "path": "/spec/unknown1", "value": "v", "foo": "bar"},
        {"op": "add", "path": "/spec/x", "path": "/spec/unknown3", "value": 1}]"#;
    let (code, _, status) = raw(
        &s,
        "PATCH",
        &format!("{path}?fieldValidation=Strict"),
        JSON_PATCH,
        jp,
    )
    .await;
    assert_eq!(code, 422, "{status}");
    let msg = status["message"].as_str().unwrap_or_default();
    assert!(
        msg.ends_with(r#"strict decoding error: json patch unknown field "[0].foo", json patch duplicate field "[1].path", unknown field "spec.unknown1", unknown field "spec.unknown3""#),
        "{msg}"
    );
    let (code, warnings, _) = raw(
        &s,
        "PATCH",
        &format!("{path}?fieldValidation=Ignore"),
        JSON_PATCH,
        jp,
    )
    .await;
    assert_eq!(code, 200);
    assert!(warnings.is_empty());
    s.stop().await;
}

// kube-apiserver's field validation integration test: a YAML body with repeated keys.
const REPEATED_YAML: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: ry
  labels:
    app: nginx
spec:
  unknown1: val1
  unknownDupe: valDupe
  unknownDupe: valDupe2
  paused: true
  paused: false
  selector:
    matchLabels:
      app: nginx
  template:
    metadata:
      labels:
        app: nginx
    spec:
      containers:
      - name: nginx
        image: nginx:latest
        unknownNested: val1
        imagePullPolicy: Always
        imagePullPolicy: Never";

#[actix_web::test]
async fn yaml_repeated_keys_are_reported_with_their_lines() {
    let s = TestServer::start().await;
    s.namespace("fy").await;
    let base = "/apis/apps/v1/namespaces/fy/deployments";
    let (code, _, status) = raw(
        &s,
        "POST",
        &format!("{base}?fieldValidation=Strict"),
        "application/yaml",
        REPEATED_YAML,
    )
    .await;
    assert_eq!(code, 400, "{status}");
    assert_eq!(
        status["message"],
        "Deployment in version \"v1\" cannot be handled as a Deployment: strict decoding error: \
         error converting YAML to JSON: yaml: unmarshal errors:\n  \
         line 10: key \"unknownDupe\" already set in map\n  \
         line 12: key \"paused\" already set in map\n  \
         line 26: key \"imagePullPolicy\" already set in map, \
         unknown field \"spec.template.spec.containers[0].unknownNested\", \
         unknown field \"spec.unknown1\", unknown field \"spec.unknownDupe\""
    );
    // Warn (the default): created with the last value of each key, one warning per line.
    let (code, warnings, created) = raw(&s, "POST", base, "application/yaml", REPEATED_YAML).await;
    assert_eq!(code, 201, "{created}");
    assert_eq!(
        warnings,
        [
            r#"299 - "line 10: key \"unknownDupe\" already set in map""#,
            r#"299 - "line 12: key \"paused\" already set in map""#,
            r#"299 - "line 26: key \"imagePullPolicy\" already set in map""#,
            r#"299 - "unknown field \"spec.template.spec.containers[0].unknownNested\"""#,
            r#"299 - "unknown field \"spec.unknown1\"""#,
            r#"299 - "unknown field \"spec.unknownDupe\"""#,
        ]
    );
    // `paused: false` won (and Go leaves a false `paused` out).
    assert!(created["spec"].get("paused").is_none(), "{created}");
    assert_eq!(
        created["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"],
        "Never"
    );
    let (code, warnings, _) = raw(
        &s,
        "PUT",
        &format!("{base}/ry?fieldValidation=Ignore"),
        "application/yaml",
        REPEATED_YAML,
    )
    .await;
    assert_eq!(code, 200);
    assert!(warnings.is_empty(), "{warnings:?}");

    // Server-side apply: the apply itself decides first; Strict then refuses the repeats
    // (400, nothing stored), Warn reports them.
    let apply = REPEATED_YAML
        .replace("name: ry", "name: ay")
        .replace("  unknown1: val1\n", "")
        .replace(
            "  unknownDupe: valDupe\n  unknownDupe: valDupe2\n",
            "  replicas: 1\n  replicas: 2\n",
        )
        .replace("        unknownNested: val1\n", "");
    let apply_path = format!("{base}/ay?fieldManager=mgr");
    let (code, _, status) = raw(
        &s,
        "PATCH",
        &format!("{apply_path}&fieldValidation=Strict"),
        "application/apply-patch+yaml",
        &apply,
    )
    .await;
    assert_eq!(code, 400, "{status}");
    assert_eq!(
        status["message"],
        "error strict decoding YAML: error converting YAML to JSON: yaml: unmarshal errors:\n  \
         line 9: key \"replicas\" already set in map\n  \
         line 11: key \"paused\" already set in map\n  \
         line 24: key \"imagePullPolicy\" already set in map"
    );
    assert_eq!(s.get(&format!("{base}/ay")).await.status, 404);
    let (code, warnings, created) = raw(
        &s,
        "PATCH",
        &apply_path,
        "application/apply-patch+yaml",
        &apply,
    )
    .await;
    assert_eq!(code, 201, "{created}");
    assert_eq!(created["spec"]["replicas"], 2);
    assert_eq!(
        warnings,
        [
            r#"299 - "line 9: key \"replicas\" already set in map""#,
            r#"299 - "line 11: key \"paused\" already set in map""#,
            r#"299 - "line 24: key \"imagePullPolicy\" already set in map""#,
        ]
    );
    let (code, warnings, _) = raw(
        &s,
        "PATCH",
        &format!("{apply_path}&fieldValidation=Ignore"),
        "application/apply-patch+yaml",
        &apply,
    )
    .await;
    assert_eq!(code, 200);
    assert!(warnings.is_empty(), "{warnings:?}");
    s.stop().await;
}
