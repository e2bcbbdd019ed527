//! Micro-benchmarks of the paths every read takes: `decode_stored` (stored JSON → the
//! object clients see) plus the JSON encode of the response, for one object and for a
//! 10,000-item list, both through the `Value` path and through the store's JSON fast path
//! (`Store::get_json`, `Store::list_json`). `cargo bench -p kiln-server --bench codec`;
//! the end-to-end numbers come from `cargo xtask bench`.

// The allocator the `kiln` binary runs with.
#[global_allocator]
static ALLOCATOR: kiln::Allocator = kiln::ALLOCATOR;

use std::hint::black_box;

use bytes::Bytes;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use kiln::handlers::to_json;
use kiln::storage::{EmbeddedOptions, EmbeddedStore, KeyValue};
use kiln::store::{ListOptions, Store, WriteOptions, decode_stored};
use kiln_runtime::registry::ResourceInfo;
use serde_json::{Value, json};

const N: usize = 10_000;

fn resource(plural: &str) -> &'static ResourceInfo {
    kiln_generated::REGISTRY
        .iter()
        .filter(|g| g.name.is_empty())
        .flat_map(|g| g.versions.iter())
        .flat_map(|v| v.resources.iter())
        .find(|r| r.plural == plural)
        .unwrap_or_else(|| panic!("the registry has no {plural}"))
}

/// A ConfigMap as clients send it, about 500 bytes stored.
fn configmap(i: usize) -> Value {
    json!({
        "kind": "ConfigMap",
        "apiVersion": "v1",
        "metadata": {
            "name": format!("item-{i:05}"),
            "namespace": "bench",
            "labels": {"app.kubernetes.io/name": "bench", "app.kubernetes.io/part-of": "kiln"},
            "annotations": {"bench.kiln.dev/purpose": "load"}
        },
        "data": {
            "LOG_LEVEL": "info",
            "greeting": "hello, world",
            "config.yaml": "server:\n  port: 8080\n  replicas: 3\nfeatures:\n  - alpha\n  - beta\n"
        }
    })
}

/// The same object as the store holds it (uid, timestamp, no resourceVersion).
fn stored(i: usize, revision: i64) -> KeyValue {
    let mut v = configmap(i);
    if let Some(Value::Object(m)) = v.get_mut("metadata") {
        m.insert("uid".into(), json!("6f1d2c1e-3b9a-4c55-9a43-1f0e8d7c2b10"));
        m.insert("creationTimestamp".into(), json!("2025-01-01T00:00:00Z"));
    }
    KeyValue {
        key: format!("/registry/configmaps/bench/item-{i:05}"),
        value: Bytes::from(serde_json::to_vec(&v).unwrap_or_default()),
        create_revision: revision,
        mod_revision: revision,
    }
}

/// What the list handler builds around the items (which lose their type meta).
fn list_body(mut items: Vec<Value>) -> Value {
    items.iter_mut().for_each(kiln::store::list_item);
    json!({"kind": "ConfigMapList", "apiVersion": "v1", "metadata": {"resourceVersion": "10001"}, "items": items})
}

/// A store (no fsync) holding `N` ConfigMaps in namespace `bench`.
fn filled_store(rt: &tokio::runtime::Runtime, dir: &std::path::Path) -> Store {
    let storage = EmbeddedStore::open(
        dir,
        EmbeddedOptions {
            fsync: false,
            ..Default::default()
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let store = Store::new(storage);
    let ns = json!({"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": "bench"}});
    rt.block_on(async {
        let opts = WriteOptions::default();
        store
            .create(resource("namespaces"), None, ns, &opts)
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        for i in 0..N {
            store
                .create(resource("configmaps"), Some("bench"), configmap(i), &opts)
                .await
                .unwrap_or_else(|e| panic!("{e:?}"));
        }
    });
    store
}

fn benches(c: &mut Criterion) {
    let r = resource("configmaps");
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let store = filled_store(&rt, dir.path());

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
    g.bench_function("store.get+to_json", |b| {
        b.iter(|| {
            let obj = rt
                .block_on(store.get(r, Some("bench"), "item-00001"))
                .unwrap_or(Value::Null);
            to_json(&obj, false)
        })
    });
    g.bench_function("store.get_json", |b| {
        b.iter(|| rt.block_on(store.get_json(r, Some("bench"), "item-00001")))
    });
    g.finish();

    let kvs: Vec<KeyValue> = (0..N).map(|i| stored(i, i as i64 + 1)).collect();
    let items: Vec<Value> = kvs
        .iter()
        .map(|kv| decode_stored(r, kv).unwrap_or(Value::Null))
        .collect();
    let opts = ListOptions::default();
    let mut g = c.benchmark_group("list_10k");
    g.sample_size(10);
    g.throughput(Throughput::Elements(N as u64));
    // Outputs are returned so that dropping them is not timed.
    g.bench_function("decode_stored+to_json", |b| {
        b.iter(|| {
            let items: Vec<Value> = black_box(&kvs)
                .iter()
                .map(|kv| decode_stored(r, kv).unwrap_or(Value::Null))
                .collect();
            let body = list_body(items);
            let out = to_json(&body, false);
            (body, out)
        })
    });
    g.bench_function("store.list+to_json", |b| {
        b.iter(|| {
            let res = rt
                .block_on(store.list(r, Some("bench"), &opts))
                .unwrap_or_else(|e| panic!("{e:?}"));
            let body = kiln::store::list_body(r, res);
            let out = to_json(&body, false);
            (body, out)
        })
    });
    g.bench_function("store.list_json", |b| {
        b.iter(|| rt.block_on(store.list_json(r, Some("bench"), &opts)))
    });
    // The in-process baseline of `cargo xtask bench`: serialising the decoded list.
    g.bench_function("to_json_only", |b| {
        b.iter_batched(
            || list_body(items.clone()),
            |body| {
                let out = to_json(&body, false);
                (body, out)
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(codec, benches);
criterion_main!(codec);
