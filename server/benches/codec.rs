//! Micro-benchmarks of the object paths every read takes: `decode_stored` (stored JSON →
//! the object clients see) plus the JSON encode of the response, for one object and for a
//! 10,000-item list. `cargo bench -p kiln-server --bench codec`; the end-to-end numbers
//! come from `cargo xtask bench`.

use std::hint::black_box;

use bytes::Bytes;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use kiln::handlers::to_json;
use kiln::storage::KeyValue;
use kiln::store::decode_stored;
use kiln_runtime::registry::ResourceInfo;
use serde_json::{Value, json};

fn configmaps() -> &'static ResourceInfo {
    kiln_generated::REGISTRY
        .iter()
        .filter(|g| g.name.is_empty())
        .flat_map(|g| g.versions.iter())
        .flat_map(|v| v.resources.iter())
        .find(|r| r.plural == "configmaps")
        .unwrap_or_else(|| panic!("the registry has no configmaps"))
}

/// A ConfigMap as the store holds it (no resourceVersion), about 500 bytes.
fn stored(i: usize, revision: i64) -> KeyValue {
    let name = format!("item-{i:05}");
    let value = json!({
        "kind": "ConfigMap",
        "apiVersion": "v1",
        "metadata": {
            "name": name,
            "namespace": "bench",
            "uid": "6f1d2c1e-3b9a-4c55-9a43-1f0e8d7c2b10",
            "creationTimestamp": "2025-01-01T00:00:00Z",
            "labels": {"app.kubernetes.io/name": "bench", "app.kubernetes.io/part-of": "kiln"},
            "annotations": {"bench.kiln.dev/purpose": "load"}
        },
        "data": {
            "LOG_LEVEL": "info",
            "greeting": "hello, world",
            "config.yaml": "server:\n  port: 8080\n  replicas: 3\nfeatures:\n  - alpha\n  - beta\n"
        }
    });
    KeyValue {
        key: format!("/registry/configmaps/bench/{name}"),
        value: Bytes::from(serde_json::to_vec(&value).unwrap_or_default()),
        create_revision: revision,
        mod_revision: revision,
    }
}

/// What the list handler builds around the items.
fn list_body(items: Vec<Value>) -> Value {
    json!({"kind": "ConfigMapList", "apiVersion": "v1", "metadata": {"resourceVersion": "10001"}, "items": items})
}

fn one_object(c: &mut Criterion) {
    let r = configmaps();
    let kv = stored(1, 42);
    let mut g = c.benchmark_group("get");
    g.throughput(Throughput::Elements(1));
    g.bench_function("decode_stored", |b| {
        b.iter(|| decode_stored(r, black_box(&kv)))
    });
    g.bench_function("decode_stored+to_json", |b| {
        b.iter(|| {
            let obj = decode_stored(r, black_box(&kv)).unwrap_or(Value::Null);
            to_json(&obj, false)
        })
    });
    g.finish();
}

fn list_10k(c: &mut Criterion) {
    const N: usize = 10_000;
    let r = configmaps();
    let kvs: Vec<KeyValue> = (0..N).map(|i| stored(i, i as i64 + 1)).collect();
    let items: Vec<Value> = kvs
        .iter()
        .map(|kv| decode_stored(r, kv).unwrap_or(Value::Null))
        .collect();
    let mut g = c.benchmark_group("list_10k");
    g.sample_size(10);
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("decode_stored+to_json", |b| {
        b.iter(|| {
            let items: Vec<Value> = black_box(&kvs)
                .iter()
                .map(|kv| decode_stored(r, kv).unwrap_or(Value::Null))
                .collect();
            to_json(&list_body(items), false)
        })
    });
    // The lower bound: serialising the already decoded list.
    g.bench_function("to_json_only", |b| {
        b.iter_batched(
            || list_body(items.clone()),
            |body| to_json(&body, false),
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, one_object, list_10k);
criterion_main!(benches);
