//! Table conversion cost: a 10,000-pod list rendered as `as=Table` (cells for every
//! column, PartialObjectMetadata row objects, JSON encode) against the plain JSON encode of
//! the same list. The target is table ≤ 1.5× JSON; the ratio of one run's medians is
//! printed first. `cargo bench -p kiln-server --bench table`.

// The allocator the `kiln` binary runs with.
#[global_allocator]
static ALLOCATOR: kiln::Allocator = kiln::ALLOCATOR;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use kiln::handlers::to_json;
use kiln::table;
use kiln_runtime::registry::ResourceInfo;
use serde_json::{Value, json};

const N: usize = 10_000;

fn pods_resource() -> &'static ResourceInfo {
    kiln_generated::REGISTRY
        .iter()
        .filter(|g| g.name.is_empty())
        .flat_map(|g| g.versions.iter())
        .flat_map(|v| v.resources.iter())
        .find(|r| r.plural == "pods")
        .unwrap_or_else(|| panic!("the registry has no pods"))
}

/// A running pod as the store returns it (defaults applied, status from a kubelet).
fn pod(i: usize) -> Value {
    json!({
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": {
            "name": format!("web-7d4b9c8f6-{i:05}"),
            "generateName": "web-7d4b9c8f6-",
            "namespace": "bench",
            "uid": "6f1d2c1e-3b9a-4c55-9a43-1f0e8d7c2b10",
            "resourceVersion": format!("{}", 1000 + i),
            "creationTimestamp": "2025-01-01T00:00:00Z",
            "labels": {"app": "web", "pod-template-hash": "7d4b9c8f6"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-7d4b9c8f6",
                                 "uid": "0b6c3f8e-2d1a-4e4f-8b7a-9c1d2e3f4a5b", "controller": true, "blockOwnerDeletion": true}]
        },
        "spec": {
            "volumes": [{"name": "kube-api-access", "projected": {"sources": [{"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}}], "defaultMode": 420}}],
            "containers": [{
                "name": "nginx", "image": "nginx:1.27",
                "ports": [{"containerPort": 80, "protocol": "TCP"}],
                "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
                "volumeMounts": [{"name": "kube-api-access", "readOnly": true, "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}],
                "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File", "imagePullPolicy": "IfNotPresent"
            }],
            "restartPolicy": "Always", "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst",
            "serviceAccountName": "default", "serviceAccount": "default", "nodeName": format!("node-{}", i % 50),
            "securityContext": {}, "schedulerName": "default-scheduler",
            "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}],
            "priority": 0, "enableServiceLinks": true, "preemptionPolicy": "PreemptLowerPriority"
        },
        "status": {
            "phase": "Running",
            "conditions": [
                {"type": "Initialized", "status": "True", "lastProbeTime": null, "lastTransitionTime": "2025-01-01T00:00:01Z"},
                {"type": "Ready", "status": "True", "lastProbeTime": null, "lastTransitionTime": "2025-01-01T00:00:05Z"},
                {"type": "ContainersReady", "status": "True", "lastProbeTime": null, "lastTransitionTime": "2025-01-01T00:00:05Z"},
                {"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": "2025-01-01T00:00:00Z"}
            ],
            "hostIP": "192.168.0.10", "hostIPs": [{"ip": "192.168.0.10"}],
            "podIP": format!("10.244.{}.{}", i / 250, i % 250), "podIPs": [{"ip": format!("10.244.{}.{}", i / 250, i % 250)}],
            "startTime": "2025-01-01T00:00:00Z",
            "containerStatuses": [{
                "name": "nginx", "state": {"running": {"startedAt": "2025-01-01T00:00:04Z"}},
                "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled", "startedAt": "2025-01-01T00:00:02Z", "finishedAt": "2025-01-01T00:00:03Z"}},
                "ready": true, "restartCount": i % 3, "image": "docker.io/library/nginx:1.27",
                "imageID": "docker.io/library/nginx@sha256:0000000000000000000000000000000000000000000000000000000000000000",
                "containerID": "containerd://0000000000000000000000000000000000000000000000000000000000000000", "started": true
            }],
            "qosClass": "Burstable"
        }
    })
}

fn list_meta() -> Value {
    json!({"resourceVersion": "20000"})
}

fn encode_json(items: Vec<Value>) -> Vec<u8> {
    let list =
        json!({"kind": "PodList", "apiVersion": "v1", "metadata": list_meta(), "items": items});
    to_json(&list, false)
}

fn encode_table(r: &ResourceInfo, items: Vec<Value>) -> Vec<u8> {
    let t = table::list(r, items, list_meta(), None, "v1").unwrap_or(Value::Null);
    to_json(&t, false)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Both paths in alternation within one run; prints the ratio of the medians.
fn ratio(r: &ResourceInfo, pods: &[Value]) {
    let rounds = 15;
    let (mut j, mut t) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let items = pods.to_vec();
        let start = Instant::now();
        black_box(encode_json(items));
        j.push(start.elapsed());
        let items = pods.to_vec();
        let start = Instant::now();
        black_box(encode_table(r, items));
        t.push(start.elapsed());
    }
    let (j, t) = (median(j), median(t));
    println!(
        "table conversion of {N} pods: table {t:?}, JSON {j:?}, ratio {:.2} (target ≤ 1.50)",
        t.as_secs_f64() / j.as_secs_f64()
    );
}

fn bench(c: &mut Criterion) {
    let r = pods_resource();
    let pods: Vec<Value> = (0..N).map(pod).collect();
    ratio(r, &pods);
    let mut g = c.benchmark_group("pods_10k");
    g.sample_size(10);
    g.bench_function("json_encode", |b| {
        b.iter_batched(
            || pods.clone(),
            |items| black_box(encode_json(items)),
            BatchSize::LargeInput,
        )
    });
    g.bench_function("table", |b| {
        b.iter_batched(
            || pods.clone(),
            |items| black_box(encode_table(r, items)),
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
