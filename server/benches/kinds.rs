//! Defaulting and validation of a large Pod (20 containers, 50 volumes).
//!
//! Issue target: each at most 20 µs.

// The allocator the `kiln` binary runs with.
#[global_allocator]
static ALLOCATOR: kiln::Allocator = kiln::ALLOCATOR;

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use kiln::kinds::KindState;
use kiln::kinds::pod::{PodStrategy, default_pod_spec};
use kiln::strategy::{Strategy, WriteContext};
use kiln_generated::api::core::v1::PodSpec;
use kiln_runtime::registry::ResourceInfo;
use serde_json::{Value, json};

fn pods() -> &'static ResourceInfo {
    kiln_generated::REGISTRY
        .iter()
        .filter(|g| g.name.is_empty())
        .flat_map(|g| g.versions.iter())
        .flat_map(|v| v.resources.iter())
        .find(|r| r.plural == "pods")
        .expect("pods are in the registry")
}

fn large_pod() -> Value {
    let volumes: Vec<Value> = (0..50)
        .map(|i| match i % 3 {
            0 => json!({"name": format!("v{i}"), "emptyDir": {}}),
            1 => json!({"name": format!("v{i}"), "configMap": {"name": format!("cm{i}"), "items": [{"key": "a", "path": "a"}]}}),
            _ => json!({"name": format!("v{i}"), "secret": {"secretName": format!("s{i}")}}),
        })
        .collect();
    let containers: Vec<Value> = (0..20)
        .map(|i| {
            json!({
                "name": format!("c{i}"),
                "image": format!("registry.example.com/app:{i}"),
                "command": ["/bin/app"],
                "args": ["--flag", "x"],
                "ports": [{"name": format!("http{i}"), "containerPort": 8000 + i}],
                "env": [
                    {"name": "A", "value": "1"},
                    {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                    {"name": "KEY", "valueFrom": {"secretKeyRef": {"name": "s1", "key": "k"}}}
                ],
                "resources": {"limits": {"cpu": "500m", "memory": "128Mi"}, "requests": {"cpu": "250m", "memory": "64Mi"}},
                "volumeMounts": [
                    {"name": format!("v{}", i), "mountPath": "/a"},
                    {"name": format!("v{}", i + 20), "mountPath": "/b"},
                    {"name": format!("v{}", i + 30), "mountPath": "/c", "readOnly": true}
                ],
                "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8000 + i}},
                "readinessProbe": {"tcpSocket": {"port": format!("http{i}")}},
                "securityContext": {"runAsUser": 1000, "allowPrivilegeEscalation": false}
            })
        })
        .collect();
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "big", "namespace": "default", "labels": {"app": "big"}},
        "spec": {"containers": containers, "volumes": volumes,
            "tolerations": [{"key": "k", "operator": "Exists", "effect": "NoSchedule"}]}})
}

fn bench(c: &mut Criterion) {
    let r = pods();
    let state = KindState::default();
    let cx = WriteContext::new(&state, true);
    let raw = large_pod();
    // Defaulting works on the typed form (the strategy runs it inside the typed round trip
    // the object takes anyway; `pod_prepare_for_create` times that whole step).
    let raw_spec: PodSpec = match serde_json::from_value(raw["spec"].clone()) {
        Ok(s) => s,
        Err(e) => panic!("benchmark pod spec must decode: {e}"),
    };

    c.bench_function("pod_spec_defaulting_20c_50v", |b| {
        b.iter_batched_ref(
            || raw_spec.clone(),
            |spec| default_pod_spec(black_box(spec)),
            criterion::BatchSize::SmallInput,
        )
    });
    c.bench_function("pod_prepare_for_create_20c_50v", |b| {
        b.iter_batched_ref(
            || raw.clone(),
            |pod| PodStrategy.prepare_for_create(&cx, r, black_box(pod)),
            criterion::BatchSize::SmallInput,
        )
    });

    let mut defaulted = raw.clone();
    if let Err(e) = PodStrategy.prepare_for_create(&cx, r, &mut defaulted) {
        panic!("defaulting failed: {e:?}");
    }
    let errs = kiln::kinds::validate::validate(r, &defaulted);
    assert!(errs.is_empty(), "benchmark pod must be valid: {errs:?}");
    c.bench_function("pod_validation_20c_50v", |b| {
        b.iter(|| kiln::kinds::validate::validate(r, black_box(&defaulted)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
