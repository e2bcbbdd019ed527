//! Server-side apply of a Deployment that three managers share (two appliers and one
//! updater): the applier changes its container's image and replicas are left to the
//! updater.
//!
//! Issue target: at most 300 µs.

// The allocator the `kiln` binary runs with.
#[global_allocator]
static ALLOCATOR: kiln::Allocator = kiln::ALLOCATOR;

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use kiln_runtime::registry::ResourceInfo;
use serde_json::{Value, json};

fn deployments() -> &'static ResourceInfo {
    kiln_generated::REGISTRY
        .iter()
        .filter(|g| g.name == "apps")
        .flat_map(|g| g.versions.iter())
        .flat_map(|v| v.resources.iter())
        .find(|r| r.plural == "deployments")
        .expect("deployments are in the registry")
}

fn config(image: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web", "tier": "front"}},
        "spec": {"selector": {"matchLabels": {"app": "web"}},
          "template": {"metadata": {"labels": {"app": "web"}, "annotations": {"a": "b"}},
            "spec": {"containers": [{"name": "main", "image": image,
              "ports": [{"containerPort": 80}, {"containerPort": 443}],
              "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
              "resources": {"limits": {"cpu": "500m", "memory": "128Mi"}}}]}}}})
}

/// The shared object: kubectl applied it, a sidecar injector applied its container and a
/// scaler updated replicas.
fn shared() -> Value {
    let r = deployments();
    let a = kiln::apply::apply(r, None, None, &config("nginx:1.27"), "kubectl", false)
        .expect("kubectl applies");
    let side = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"template": {"spec": {"containers": [{"name": "side", "image": "busybox:1.36",
            "args": ["sleep", "infinity"]}]}}}});
    let b = kiln::apply::apply(r, None, Some(&a), &side, "sidecar-injector", false)
        .expect("injector applies");
    let mut c = b.clone();
    c["spec"]["replicas"] = json!(5);
    kiln::apply::track_update(r, "scaler", None, Some(&b), &mut c);
    assert_eq!(
        c["metadata"]["managedFields"].as_array().map(Vec::len),
        Some(3)
    );
    c
}

fn bench(c: &mut Criterion) {
    let r = deployments();
    let live = shared();
    let cfg = config("nginx:1.28");
    c.bench_function("apply_deployment_3_managers", |b| {
        b.iter(|| {
            kiln::apply::apply(
                r,
                None,
                Some(black_box(&live)),
                black_box(&cfg),
                "kubectl",
                false,
            )
            .expect("applies")
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
