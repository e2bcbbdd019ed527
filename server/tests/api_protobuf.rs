//! Black-box protobuf tests: objects, lists, Status errors and watch streams in
//! `application/vnd.kubernetes.protobuf`, read back with the generated messages and, when
//! its venv is installed, with the independent reference codec
//! (`shared/acceptance/pbcodec.py`, built from the published `.proto` files).

mod common;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{Resp, TestServer};
use futures_util::StreamExt;
use kiln_generated::api::core::v1::{ConfigMap, ConfigMapList, Pod, PodList};
use kiln_generated::apimachinery::pkg::apis::meta::v1 as meta;
use prost::Message;
use prost::bytes::Buf;
use prost::encoding::{self, DecodeContext};
use serde_json::{Value, json};

const PB: &str = "application/vnd.kubernetes.protobuf";

/// Splits `k8s\0` + `runtime.Unknown` into (apiVersion, kind, raw).
fn envelope(body: &[u8]) -> (String, String, Vec<u8>) {
    let u = kiln::protobuf::decode_envelope(body)
        .unwrap_or_else(|e| panic!("{e}: {:?}", String::from_utf8_lossy(body)));
    (u.api_version, u.kind, u.raw)
}

/// The reference codec, if its venv exists (`~/.cache/acceptance-venv`, or
/// `$ACCEPTANCE_VENV`).
fn pbcodec() -> Option<(PathBuf, PathBuf)> {
    let venv = std::env::var_os("ACCEPTANCE_VENV")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/acceptance-venv"))
        })?;
    let python = venv.join("bin/python");
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/acceptance/pbcodec.py");
    if python.exists() && script.exists() {
        Some((python, script))
    } else {
        eprintln!("note: reference codec not installed; checked with the generated messages only");
        None
    }
}

/// Runs `pbcodec.py CMD` on `input`; `None` when the codec is not installed.
fn reference(cmd: &str, input: &[u8]) -> Option<String> {
    let (python, script) = pbcodec()?;
    let mut child = Command::new(python)
        .arg(script)
        .arg(cmd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run pbcodec");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input)
        .expect("write");
    let out = child.wait_with_output().expect("pbcodec output");
    assert!(
        out.status.success(),
        "pbcodec {cmd} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

async fn send(
    s: &TestServer,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Vec<u8>>,
) -> Resp {
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let mut req = s.client.request(method, s.url(path));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if let Some(b) = body {
        req = req.body(b);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = resp.bytes().await.expect("body").to_vec();
    Resp {
        status,
        content_type,
        body,
    }
}

async fn get_pb(s: &TestServer, path: &str) -> Resp {
    send(s, "GET", path, &[("Accept", PB)], None).await
}

fn configmap(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": {"a": "b"}}, "data": {"greeting": "hello"}})
}

fn pod(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": name, "labels": {"app": "web", "tier": "frontend"},
                        "annotations": {"example.com/owner": "team-a"}},
           "spec": {"containers": [{"name": "app", "image": "nginx:1.27",
                                    "command": ["nginx", "-g", "daemon off;"],
                                    "ports": [{"containerPort": 80, "protocol": "TCP"}],
                                    "env": [{"name": "MODE", "value": "production"}],
                                    "resources": {"requests": {"cpu": "100m", "memory": "64Mi"},
                                                  "limits": {"cpu": "500m", "memory": "128Mi"}}}],
                    "restartPolicy": "Always"}})
}

#[actix_web::test]
async fn get_and_list_in_protobuf() {
    let s = TestServer::start().await;
    s.namespace("pb").await;
    let created = s
        .post_json("/api/v1/namespaces/pb/configmaps", &configmap("c1"))
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    let uid = created.json()["metadata"]["uid"]
        .as_str()
        .unwrap_or_default()
        .to_string();

    let r = get_pb(&s, "/api/v1/namespaces/pb/configmaps/c1").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.content_type, PB);
    let (av, kind, raw) = envelope(&r.body);
    assert_eq!((av.as_str(), kind.as_str()), ("v1", "ConfigMap"));
    let cm = ConfigMap::decode(raw.as_slice()).expect("ConfigMap message");
    let m = cm.metadata.unwrap_or_default();
    assert_eq!(m.uid.as_deref(), Some(uid.as_str()));
    assert!(m.resource_version.is_some_and(|rv| !rv.is_empty()));
    assert_eq!(
        cm.data
            .unwrap_or_default()
            .get("greeting")
            .map(kiln_runtime::Str::as_str),
        Some("hello")
    );
    if let Some(out) = reference("decode", &r.body) {
        let v: Value = serde_json::from_str(&out).expect("json");
        assert_eq!(v["kind"], "ConfigMap");
        assert_eq!(v["object"]["metadata"]["uid"], uid.as_str());
        assert_eq!(v["object"]["data"]["greeting"], "hello");
    }

    // The JSON answer is unchanged and agrees with the protobuf one.
    let j = s.get("/api/v1/namespaces/pb/configmaps/c1").await;
    assert_eq!(j.content_type, "application/json");
    assert_eq!(j.json()["metadata"]["uid"], uid.as_str());

    let r = get_pb(&s, "/api/v1/namespaces/pb/configmaps").await;
    assert_eq!(r.status, 200);
    let (av, kind, raw) = envelope(&r.body);
    assert_eq!((av.as_str(), kind.as_str()), ("v1", "ConfigMapList"));
    let list = ConfigMapList::decode(raw.as_slice()).expect("ConfigMapList message");
    let rv = list
        .metadata
        .unwrap_or_default()
        .resource_version
        .unwrap_or_default();
    assert!(rv.parse::<i64>().is_ok(), "list resourceVersion {rv:?}");
    let names: Vec<String> = list
        .items
        .unwrap_or_default()
        .into_iter()
        .map(|i| {
            i.metadata
                .unwrap_or_default()
                .name
                .unwrap_or_default()
                .into()
        })
        .collect();
    assert_eq!(names, ["c1"]);
    if let Some(out) = reference("decode", &r.body) {
        let v: Value = serde_json::from_str(&out).expect("json");
        assert_eq!(v["kind"], "ConfigMapList");
        assert_eq!(v["object"]["items"][0]["metadata"]["name"], "c1");
    }

    // Paging metadata survives: continue token on the first of two pages.
    s.post_json("/api/v1/namespaces/pb/configmaps", &configmap("c2"))
        .await;
    let r = get_pb(&s, "/api/v1/namespaces/pb/configmaps?limit=1").await;
    let (_, _, raw) = envelope(&r.body);
    let list = ConfigMapList::decode(raw.as_slice()).expect("page");
    let lm = list.metadata.unwrap_or_default();
    assert!(lm.continue_.is_some_and(|c| !c.is_empty()));
    assert_eq!(lm.remaining_item_count, Some(1));
    assert_eq!(list.items.map(|i| i.len()), Some(1));

    // An empty list still names its kind and carries its ListMeta.
    let r = get_pb(&s, "/api/v1/namespaces/pb/secrets").await;
    let (_, kind, raw) = envelope(&r.body);
    assert_eq!(kind, "SecretList");
    assert!(!raw.is_empty());
    s.stop().await;
}

#[actix_web::test]
async fn create_in_protobuf_answers_in_protobuf() {
    let s = TestServer::start().await;
    s.namespace("pbc").await;
    let typed: Pod = serde_json::from_value(pod("p1")).expect("pod");
    let body = kiln::protobuf::encode_envelope("v1", "Pod", &typed.encode_to_vec());
    let r = send(
        &s,
        "POST",
        "/api/v1/namespaces/pbc/pods",
        &[("Content-Type", PB), ("Accept", PB)],
        Some(body),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.content_type, PB);
    let (_, kind, raw) = envelope(&r.body);
    assert_eq!(kind, "Pod");
    let p = Pod::decode(raw.as_slice()).expect("Pod message");
    let containers = p.spec.unwrap_or_default().containers.unwrap_or_default();
    assert_eq!(containers[0].image.as_deref(), Some("nginx:1.27"));
    assert!(p.metadata.unwrap_or_default().uid.is_some());
    let j = s.get("/api/v1/namespaces/pbc/pods/p1").await.json();
    assert_eq!(j["spec"]["containers"][0]["command"][2], "daemon off;");
    assert_eq!(
        j["spec"]["containers"][0]["resources"]["limits"]["memory"],
        "128Mi"
    );

    let r = get_pb(&s, "/api/v1/namespaces/pbc/pods").await;
    let (_, kind, raw) = envelope(&r.body);
    assert_eq!(kind, "PodList");
    let list = PodList::decode(raw.as_slice()).expect("PodList");
    assert_eq!(list.items.map(|i| i.len()), Some(1));

    // Deleting answers in protobuf too (the object or a Success Status, per kind).
    let r = send(
        &s,
        "DELETE",
        "/api/v1/namespaces/pbc/pods/p1",
        &[("Accept", PB)],
        None,
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.content_type, PB);
    let (_, kind, raw) = envelope(&r.body);
    match kind.as_str() {
        "Pod" => assert!(Pod::decode(raw.as_slice()).is_ok()),
        "Status" => {
            let st = meta::Status::decode(raw.as_slice()).expect("Status");
            assert_eq!(st.status.as_deref(), Some("Success"));
        }
        other => panic!("delete answered with {other}"),
    }
    s.stop().await;
}

#[actix_web::test]
async fn status_errors_follow_the_accept_header() {
    let s = TestServer::start().await;
    let r = get_pb(&s, "/api/v1/namespaces/default/configmaps/missing").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.content_type, PB);
    let (av, kind, raw) = envelope(&r.body);
    assert_eq!((av.as_str(), kind.as_str()), ("v1", "Status"));
    let st = meta::Status::decode(raw.as_slice()).expect("Status message");
    assert_eq!(st.status.as_deref(), Some("Failure"));
    assert_eq!(st.reason.as_deref(), Some("NotFound"));
    assert_eq!(st.code, Some(404));
    assert_eq!(
        st.message.as_deref(),
        Some("configmaps \"missing\" not found")
    );
    if let Some(out) = reference("decode", &r.body) {
        let v: Value = serde_json::from_str(&out).expect("json");
        assert_eq!(v["object"]["reason"], "NotFound");
    }

    // A bad request body in protobuf: 400 Status in protobuf.
    let r = send(
        &s,
        "POST",
        "/api/v1/namespaces/default/configmaps",
        &[("Content-Type", PB), ("Accept", PB)],
        Some(b"not protobuf".to_vec()),
    )
    .await;
    assert_eq!(r.status, 400);
    let (_, kind, raw) = envelope(&r.body);
    assert_eq!(kind, "Status");
    assert_eq!(
        meta::Status::decode(raw.as_slice())
            .expect("Status")
            .reason
            .as_deref(),
        Some("BadRequest")
    );

    // JSON clients keep JSON errors.
    let r = s.get("/api/v1/namespaces/default/configmaps/missing").await;
    assert_eq!(r.content_type, "application/json");
    assert_eq!(r.json()["reason"], "NotFound");
    s.stop().await;
}

#[actix_web::test]
async fn tables_are_not_served_in_protobuf_but_metadata_is() {
    let s = TestServer::start().await;
    s.namespace("pm").await;
    s.post_json("/api/v1/namespaces/pm/configmaps", &configmap("m1"))
        .await;
    let table = format!("{PB};as=Table;v=v1;g=meta.k8s.io");
    let r = send(
        &s,
        "GET",
        "/api/v1/namespaces/pm/configmaps",
        &[("Accept", table.as_str())],
        None,
    )
    .await;
    assert_eq!(r.status, 406);
    // Nothing acceptable for the Status either: JSON, as kube-apiserver writes it.
    assert_eq!(r.content_type, "application/json");
    assert_eq!(r.json()["reason"], "NotAcceptable");
    // With a JSON table as fallback, the JSON table.
    let both = format!("{table},application/json;as=Table;v=v1;g=meta.k8s.io");
    let r = send(
        &s,
        "GET",
        "/api/v1/namespaces/pm/configmaps",
        &[("Accept", both.as_str())],
        None,
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["kind"], "Table");

    for (version, accept_kind, path, want) in [
        (
            "v1",
            "PartialObjectMetadataList",
            "/api/v1/namespaces/pm/configmaps",
            "PartialObjectMetadataList",
        ),
        (
            "v1beta1",
            "PartialObjectMetadataList",
            "/api/v1/namespaces/pm/configmaps",
            "PartialObjectMetadataList",
        ),
        (
            "v1",
            "PartialObjectMetadata",
            "/api/v1/namespaces/pm/configmaps/m1",
            "PartialObjectMetadata",
        ),
    ] {
        let accept = format!("{PB};as={accept_kind};g=meta.k8s.io;v={version}");
        let r = send(&s, "GET", path, &[("Accept", accept.as_str())], None).await;
        assert_eq!(r.status, 200, "{accept}");
        assert_eq!(r.content_type, PB);
        let (av, kind, raw) = envelope(&r.body);
        assert_eq!(av, format!("meta.k8s.io/{version}"));
        assert_eq!(kind, want);
        if want == "PartialObjectMetadata" {
            let p = meta::PartialObjectMetadata::decode(raw.as_slice()).expect("message");
            assert_eq!(p.metadata.unwrap_or_default().name.as_deref(), Some("m1"));
        } else if version == "v1" {
            let l = meta::PartialObjectMetadataList::decode(raw.as_slice()).expect("message");
            let items = l.items.unwrap_or_default();
            assert_eq!(items.len(), 1);
            assert_eq!(
                items[0]
                    .metadata
                    .clone()
                    .unwrap_or_default()
                    .labels
                    .unwrap_or_default()
                    .get("a")
                    .map(kiln_runtime::Str::as_str),
                Some("b")
            );
        }
        if let Some(out) = reference("decode", &r.body) {
            let v: Value = serde_json::from_str(&out).expect("json");
            let name = if want == "PartialObjectMetadata" {
                v["object"]["metadata"]["name"].clone()
            } else {
                v["object"]["items"][0]["metadata"]["name"].clone()
            };
            assert_eq!(name, "m1", "{accept}: {out}");
            assert!(!out.contains("hello"), "metadata only: {out}");
        }
    }
    s.stop().await;
}

/// Reads the whole stream and splits it into (type, apiVersion, kind, raw) frames.
async fn watch_frames(s: &TestServer, path: &str, accept: &str) -> (String, Vec<u8>) {
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
    (ctype, buf)
}

fn split_frames(mut data: &[u8]) -> Vec<(String, String, String, Vec<u8>)> {
    let mut out = Vec::new();
    while !data.is_empty() {
        assert!(data.len() >= 4, "truncated length");
        let n = u32::from_be_bytes([data[0], data[1], data[2], data[3]]) as usize;
        let mut ev = &data[4..4 + n];
        data = &data[4 + n..];
        let (mut ty, mut ext) = (String::new(), Vec::new());
        while ev.has_remaining() {
            let (tag, wire) = encoding::decode_key(&mut ev).expect("key");
            match tag {
                1 => encoding::string::merge(wire, &mut ty, &mut ev, DecodeContext::default()),
                2 => encoding::bytes::merge(wire, &mut ext, &mut ev, DecodeContext::default()),
                _ => encoding::skip_field(wire, tag, &mut ev, DecodeContext::default()),
            }
            .expect("field");
        }
        let mut ext = ext.as_slice();
        let mut raw = Vec::new();
        let (_, wire) = encoding::decode_key(&mut ext).expect("raw key");
        encoding::bytes::merge(wire, &mut raw, &mut ext, DecodeContext::default()).expect("raw");
        let (av, kind, inner) = envelope(&raw);
        out.push((ty, av, kind, inner));
    }
    out
}

#[actix_web::test]
async fn watch_streams_protobuf_frames() {
    let s = TestServer::start().await;
    s.namespace("pw").await;
    s.post_json("/api/v1/namespaces/pw/configmaps", &configmap("before"))
        .await;
    let rv = s.get("/api/v1/namespaces/pw/configmaps").await.json()["metadata"]["resourceVersion"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let path =
        format!("/api/v1/namespaces/pw/configmaps?watch=1&resourceVersion={rv}&timeoutSeconds=2");
    let accept = format!("{PB};stream=watch");
    let watcher = watch_frames(&s, &path, &accept);
    let writer = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        s.post_json("/api/v1/namespaces/pw/configmaps", &configmap("w"))
            .await;
        s.patch(
            "/api/v1/namespaces/pw/configmaps/w",
            "application/merge-patch+json",
            &json!({"data": {"greeting": "again"}}),
        )
        .await;
        s.delete("/api/v1/namespaces/pw/configmaps/w").await;
    };
    let ((ctype, data), _) = tokio::join!(watcher, writer);
    assert_eq!(ctype, "application/vnd.kubernetes.protobuf;stream=watch");
    let frames = split_frames(&data);
    let seen: Vec<(String, String)> = frames
        .iter()
        .map(|(ty, _, kind, raw)| {
            assert_eq!(kind, "ConfigMap");
            let cm = ConfigMap::decode(raw.as_slice()).expect("ConfigMap");
            (
                ty.clone(),
                cm.metadata
                    .unwrap_or_default()
                    .name
                    .unwrap_or_default()
                    .into(),
            )
        })
        .collect();
    let want: Vec<(String, String)> = [("ADDED", "w"), ("MODIFIED", "w"), ("DELETED", "w")]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(seen, want);
    if let Some(out) = reference("frames", &data) {
        let types: Vec<String> = out
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).expect("json")["type"]
                    .as_str()
                    .unwrap_or("")
                    .to_string()
            })
            .collect();
        assert_eq!(types, ["ADDED", "MODIFIED", "DELETED"]);
    }

    // Initial state, metadata only, in protobuf.
    let accept = format!("{PB};as=PartialObjectMetadata;g=meta.k8s.io;v=v1");
    let (_, data) = watch_frames(
        &s,
        "/api/v1/namespaces/pw/configmaps?watch=1&timeoutSeconds=1",
        &accept,
    )
    .await;
    let frames = split_frames(&data);
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].0, "ADDED");
    assert_eq!(frames[0].2, "PartialObjectMetadata");

    // A watch from a compacted/too-old revision ends with an ERROR Status frame; a bad
    // request before streaming is a normal protobuf Status.
    let r = get_pb(
        &s,
        "/api/v1/namespaces/pw/configmaps?watch=1&resourceVersion=abc",
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(envelope(&r.body).1, "Status");
    // YAML cannot stream.
    let r = send(
        &s,
        "GET",
        "/api/v1/namespaces/pw/configmaps?watch=1",
        &[("Accept", "application/yaml")],
        None,
    )
    .await;
    assert_eq!(r.status, 406);
    s.stop().await;
}

#[actix_web::test]
async fn pod_lists_are_much_smaller_than_json() {
    let s = TestServer::start().await;
    s.namespace("size").await;
    for i in 0..100 {
        let r = s
            .post_json("/api/v1/namespaces/size/pods", &pod(&format!("pod-{i:03}")))
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
    }
    let j = s.get("/api/v1/namespaces/size/pods").await;
    let p = get_pb(&s, "/api/v1/namespaces/size/pods").await;
    let (_, _, raw) = envelope(&p.body);
    let list = PodList::decode(raw.as_slice()).expect("PodList");
    assert_eq!(list.items.map(|i| i.len()), Some(100));
    let ratio = p.body.len() as f64 / j.body.len() as f64;
    eprintln!(
        "100 pods: JSON {} bytes, protobuf {} bytes ({:.0}%)",
        j.body.len(),
        p.body.len(),
        ratio * 100.0
    );
    // Key names go, values stay; `managedFields[].fieldsV1` is JSON in both encodings (as
    // in kube-apiserver), so pods with long managed-field sets stay above half.
    assert!(ratio <= 0.75, "protobuf is {:.0}% of JSON", ratio * 100.0);
    s.stop().await;
}
