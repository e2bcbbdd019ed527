//! Protobuf against JSON, in one run: encode and decode of a large Pod (typed, and the
//! server's `Value` → response path), and a LIST of 10,000 pods (time and bytes).
//! `cargo bench -p kiln-server --bench protobuf`; the byte sizes are printed first.

use std::hint::black_box;
use std::sync::OnceLock;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kiln::handlers::to_json;
use kiln::protobuf::encode_value;
use kiln_generated::api::core::v1::Pod;
use prost::Message;
use serde_json::{Value, json};

#[global_allocator]
static ALLOCATOR: kiln::Allocator = kiln::ALLOCATOR;

const N: usize = 10_000;

fn container(i: usize) -> Value {
    json!({
        "name": format!("container-{i}"),
        "image": format!("registry.example.com/team/app-{i}:1.27.{i}"),
        "command": ["/bin/app", "--config", "/etc/app/config.yaml"],
        "args": ["--verbose", "--port", "8080", "--metrics-port", "9090"],
        "workingDir": "/srv",
        "ports": [
            {"name": "http", "containerPort": 8080, "protocol": "TCP"},
            {"name": "metrics", "containerPort": 9090, "protocol": "TCP"}
        ],
        "env": (0..12).map(|e| json!({"name": format!("ENV_VAR_{e}"), "value": format!("value-{e}-{i}")})).collect::<Vec<_>>(),
        "resources": {
            "limits": {"cpu": "500m", "memory": "256Mi"},
            "requests": {"cpu": "250m", "memory": "128Mi"}
        },
        "volumeMounts": [
            {"name": "config", "mountPath": "/etc/app", "readOnly": true},
            {"name": "data", "mountPath": "/var/lib/app"},
            {"name": "kube-api-access-abcde", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "readOnly": true}
        ],
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080, "scheme": "HTTP"},
                          "initialDelaySeconds": 10, "timeoutSeconds": 1, "periodSeconds": 10,
                          "successThreshold": 1, "failureThreshold": 3},
        "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080, "scheme": "HTTP"},
                           "timeoutSeconds": 1, "periodSeconds": 5, "successThreshold": 1, "failureThreshold": 3},
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
        "imagePullPolicy": "IfNotPresent",
        "securityContext": {"runAsNonRoot": true, "runAsUser": 1000, "allowPrivilegeEscalation": false,
                            "capabilities": {"drop": ["ALL"]}}
    })
}

fn conditions() -> Vec<Value> {
    [
        "PodReadyToStartContainers",
        "Initialized",
        "Ready",
        "ContainersReady",
        "PodScheduled",
    ]
    .iter()
    .map(|t| json!({"type": t, "status": "True", "lastProbeTime": null, "lastTransitionTime": "2025-01-01T00:00:05Z"}))
    .collect()
}

/// A large, realistic Pod (several containers, status, managedFields): about 10 KB of JSON.
fn large_pod(i: usize) -> Value {
    json!({
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": {
            "name": format!("web-7d9f8b6c5d-{i:05}"),
            "generateName": "web-7d9f8b6c5d-",
            "namespace": "bench",
            "uid": "0b7e3a52-6f43-4b0e-9e3c-2c8d3f6a1b9e",
            "resourceVersion": format!("{}", 1000 + i),
            "creationTimestamp": "2025-01-01T00:00:00Z",
            "labels": {"app": "web", "pod-template-hash": "7d9f8b6c5d", "tier": "frontend", "team": "payments"},
            "annotations": {"kubectl.kubernetes.io/restartedAt": "2025-01-01T00:00:00Z", "prometheus.io/scrape": "true"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-7d9f8b6c5d",
                                 "uid": "4f1c9a7e-2d3b-4c5a-8e6f-7a8b9c0d1e2f", "controller": true, "blockOwnerDeletion": true}],
            "managedFields": [{"manager": "kube-controller-manager", "operation": "Update", "apiVersion": "v1",
                               "time": "2025-01-01T00:00:00Z", "fieldsType": "FieldsV1",
                               "fieldsV1": {"f:metadata": {"f:generateName": {}, "f:labels": {".": {}, "f:app": {}}},
                                            "f:spec": {"f:containers": {"k:{\"name\":\"container-0\"}": {".": {}, "f:image": {}}}}}}]
        },
        "spec": {
            "volumes": [
                {"name": "config", "configMap": {"name": "web-config", "defaultMode": 420}},
                {"name": "data", "emptyDir": {}},
                {"name": "kube-api-access-abcde", "projected": {"defaultMode": 420, "sources": [
                    {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                    {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                    {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}
                ]}}
            ],
            "initContainers": [container(9)],
            "containers": (0..4).map(container).collect::<Vec<_>>(),
            "restartPolicy": "Always",
            "terminationGracePeriodSeconds": 30,
            "dnsPolicy": "ClusterFirst",
            "serviceAccountName": "web",
            "serviceAccount": "web",
            "nodeName": "node-17",
            "securityContext": {"fsGroup": 2000},
            "schedulerName": "default-scheduler",
            "tolerations": [
                {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
                {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}
            ],
            "priority": 0,
            "enableServiceLinks": true,
            "preemptionPolicy": "PreemptLowerPriority"
        },
        "status": {
            "phase": "Running",
            "conditions": conditions(),
            "hostIP": "10.0.0.17",
            "podIP": "10.244.3.21",
            "podIPs": [{"ip": "10.244.3.21"}],
            "startTime": "2025-01-01T00:00:00Z",
            "containerStatuses": (0..4).map(|c| json!({
                "name": format!("container-{c}"),
                "state": {"running": {"startedAt": "2025-01-01T00:00:04Z"}},
                "lastState": {},
                "ready": true,
                "restartCount": 0,
                "image": format!("registry.example.com/team/app-{c}:1.27.{c}"),
                "imageID": format!("registry.example.com/team/app-{c}@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"),
                "containerID": format!("containerd://{c:064}"),
                "started": true
            })).collect::<Vec<_>>(),
            "qosClass": "Burstable"
        }
    })
}

/// The list as the server sends it: each pod as stored (normalised through its type, so
/// with every field Go always writes), items without their own type meta
/// (`store::list_item`).
fn pod_list(n: usize) -> Value {
    let items: Vec<Value> = (0..n)
        .map(|i| {
            let typed: Pod = serde_json::from_value(large_pod(i)).unwrap_or_else(|e| panic!("{e}"));
            let mut pod = serde_json::to_value(typed).unwrap_or_else(|e| panic!("{e}"));
            kiln::store::list_item(&mut pod);
            pod
        })
        .collect();
    json!({"kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": "20001"}, "items": items})
}

fn benches(c: &mut Criterion) {
    let value = large_pod(1);
    let typed: Pod = serde_json::from_value(value.clone()).unwrap_or_else(|e| panic!("{e}"));
    let json_bytes = serde_json::to_vec(&typed).unwrap_or_default();
    let pb_bytes = typed.encode_to_vec();
    println!(
        "large pod: JSON {} bytes, protobuf {} bytes",
        json_bytes.len(),
        pb_bytes.len()
    );

    let mut g = c.benchmark_group("pod");
    g.throughput(Throughput::Elements(1));
    g.bench_function("encode/json", |b| {
        b.iter(|| serde_json::to_vec(black_box(&typed)))
    });
    g.bench_function("encode/protobuf", |b| {
        b.iter(|| black_box(&typed).encode_to_vec())
    });
    // Freeing the decoded Pod is timed too, for both (as a request pays it).
    g.bench_function("decode/json", |b| {
        b.iter(|| serde_json::from_slice::<Pod>(black_box(&json_bytes)))
    });
    g.bench_function("decode/protobuf", |b| {
        b.iter(|| Pod::decode(black_box(pb_bytes.as_slice())))
    });
    // What the handlers do with a decoded object: `respond` in either media type.
    g.bench_function("respond/json", |b| {
        b.iter(|| to_json(black_box(&value), false))
    });
    g.bench_function("respond/protobuf", |b| {
        b.iter(|| encode_value(black_box(&value)))
    });
    g.finish();

    // Built only when a list benchmark runs (criterion skips filtered-out closures).
    let list: OnceLock<Value> = OnceLock::new();
    let list = || {
        list.get_or_init(|| {
            let list = pod_list(N);
            let json_len = to_json(&list, false).len();
            let pb_len = encode_value(&list).map(|b| b.len()).unwrap_or(0);
            println!(
                "LIST of {N} pods: JSON {json_len} bytes, protobuf {pb_len} bytes ({:.1}%)",
                100.0 * pb_len as f64 / json_len as f64
            );
            list
        })
    };
    let mut g = c.benchmark_group("list_10k_pods");
    g.sample_size(10);
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("respond/json", |b| {
        let list = list();
        b.iter_with_large_drop(|| to_json(black_box(list), false))
    });
    g.bench_function("respond/protobuf", |b| {
        let list = list();
        b.iter_with_large_drop(|| encode_value(black_box(list)))
    });
    g.finish();
}

criterion_group!(protobuf, benches);
criterion_main!(protobuf);
