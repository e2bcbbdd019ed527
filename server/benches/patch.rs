//! Strategic merge patch of a pod template with 20 containers: the patch kubectl apply
//! sends when one container's image changes (`$setElementOrder` plus one keyed item),
//! applied to the whole Deployment, with and without the copy of the original the
//! `&Value` API makes (and a bare copy as a baseline). Target: ≤ 50 µs. `cargo bench -p kiln-server --bench patch`.

// The allocator the `kiln` binary runs with.
#[global_allocator]
static ALLOCATOR: kiln::Allocator = kiln::ALLOCATOR;

use std::hint::black_box;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use kiln::patch::strategic;
use kiln::schema;
use serde_json::{Value, json};

const CONTAINERS: usize = 20;

fn container(i: usize, image: &str) -> Value {
    json!({
        "name": format!("c{i:02}"),
        "image": image,
        "ports": [{"containerPort": 8000 + i, "protocol": "TCP"}],
        "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
        "resources": {"limits": {"cpu": "100m", "memory": "64Mi"}},
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
        "imagePullPolicy": "IfNotPresent"
    })
}

fn deployment() -> Value {
    let containers: Vec<Value> = (0..CONTAINERS)
        .map(|i| container(i, "nginx:1.27"))
        .collect();
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "bench", "labels": {"app": "web"},
            "annotations": {"deployment.kubernetes.io/revision": "1"}},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": containers, "restartPolicy": "Always", "dnsPolicy": "ClusterFirst"}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}}
    })
}

fn patch() -> Value {
    let order: Vec<Value> = (0..CONTAINERS)
        .map(|i| json!({"name": format!("c{i:02}")}))
        .collect();
    json!({"spec": {"template": {"spec": {
        "$setElementOrder/containers": order,
        "containers": [{"name": "c07", "image": "nginx:1.28"}]}}}})
}

fn bench(c: &mut Criterion) {
    let idx = schema::release();
    let s = idx
        .named("io.k8s.api.apps.v1.Deployment")
        .expect("Deployment schema");
    let (original, patch) = (deployment(), patch());
    let out = strategic::apply(idx, &s, &original, &patch).expect("applies");
    assert_eq!(
        out["spec"]["template"]["spec"]["containers"][7]["image"],
        "nginx:1.28"
    );
    c.bench_function("baseline: clone the deployment", |b| {
        b.iter(|| black_box(&original).clone())
    });
    c.bench_function("strategic merge, 20-container pod template", |b| {
        b.iter(|| strategic::apply(idx, &s, black_box(&original), black_box(&patch)))
    });
    // The merge alone: the copies of the inputs are made outside the measurement.
    let patch_map = patch.as_object().cloned().unwrap_or_default();
    c.bench_function(
        "strategic merge (owned inputs), 20-container pod template",
        |b| {
            b.iter_batched(
                || (original.clone(), patch_map.clone()),
                |(o, p)| strategic::apply_owned(idx, &s, o, p),
                BatchSize::SmallInput,
            )
        },
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
