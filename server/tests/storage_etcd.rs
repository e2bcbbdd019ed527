//! The etcd backend against a real etcd on loopback: storage trait conformance,
//! kube-apiserver's key layout and value encoding, compaction and 410s, two Kiln replicas
//! on one etcd, and a 3-member cluster losing a member during writes.
//!
//! Each test starts its own etcd (`etcd` from PATH) on free loopback ports in a temporary
//! directory; without an `etcd` binary the tests say so and pass without running.

mod common;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::TestServer;
use futures_util::StreamExt;
use kiln::api::RuntimeConfig;
use kiln::app::{self, Config, StorageConfig};
use kiln::storage::{
    EtcdOptions, EtcdStore, EventKind, KeyValue, Storage, StorageError, update_with,
};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------
// etcd processes
// ---------------------------------------------------------------------------------------

fn etcd_available() -> bool {
    let found = Command::new("etcd")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        eprintln!(
            "SKIPPED: no `etcd` binary on PATH (Debian: apt-get install etcd-server); \
             the etcd backend tests did not run"
        );
    }
    found
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// One etcd member, killed when dropped.
struct Member {
    name: String,
    client_url: String,
    child: Option<Child>,
}

impl Member {
    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        self.kill();
    }
}

/// An etcd cluster of `n` members in `dir`.
struct Cluster {
    members: Vec<Member>,
    _dir: tempfile::TempDir,
}

impl Cluster {
    fn start(n: usize) -> Cluster {
        let dir = tempfile::tempdir().expect("tempdir");
        let ports: Vec<(u16, u16)> = (0..n).map(|_| (free_port(), free_port())).collect();
        let initial = ports
            .iter()
            .enumerate()
            .map(|(i, (_, peer))| format!("m{i}=http://127.0.0.1:{peer}"))
            .collect::<Vec<_>>()
            .join(",");
        let mut members = Vec::new();
        for (i, (client, peer)) in ports.iter().enumerate() {
            let name = format!("m{i}");
            let data = dir.path().join(&name);
            let log = std::fs::File::create(dir.path().join(format!("{name}.log"))).expect("log");
            let client_url = format!("http://127.0.0.1:{client}");
            let peer_url = format!("http://127.0.0.1:{peer}");
            let child = Command::new("etcd")
                .args(["--name", &name])
                .arg("--data-dir")
                .arg(&data)
                .args(["--listen-client-urls", &client_url])
                .args(["--advertise-client-urls", &client_url])
                .args(["--listen-peer-urls", &peer_url])
                .args(["--initial-advertise-peer-urls", &peer_url])
                .args(["--initial-cluster", &initial])
                .args(["--initial-cluster-state", "new"])
                .args(["--initial-cluster-token", "kiln-test"])
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("etcd starts");
            members.push(Member {
                name,
                client_url,
                child: Some(child),
            });
        }
        Cluster { members, _dir: dir }
    }

    fn endpoints(&self) -> Vec<String> {
        self.members.iter().map(|m| m.client_url.clone()).collect()
    }

    fn log_tail(&self) -> String {
        let mut out = String::new();
        for m in &self.members {
            let path = self._dir.path().join(format!("{}.log", m.name));
            let text = std::fs::read_to_string(path).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(10).collect();
            out.push_str(&format!("--- {}\n", m.name));
            for l in tail.into_iter().rev() {
                out.push_str(l);
                out.push('\n');
            }
        }
        out
    }
}

fn options(cluster: &Cluster) -> EtcdOptions {
    EtcdOptions {
        endpoints: cluster.endpoints(),
        compaction_interval: Duration::ZERO,
        request_timeout: Duration::from_secs(20),
        startup_timeout: Duration::from_secs(30),
        ..Default::default()
    }
}

async fn store(cluster: &Cluster) -> Arc<EtcdStore> {
    store_with(options(cluster)).await
}

async fn store_with(opts: EtcdOptions) -> Arc<EtcdStore> {
    EtcdStore::connect(opts).await.expect("connects to etcd")
}

/// A Kiln server on the cluster.
async fn kiln(opts: EtcdOptions) -> TestServer {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = Config {
        data_dir: dir.path().to_path_buf(),
        bind: "127.0.0.1:0".parse().expect("addr"),
        runtime_config: RuntimeConfig::parse("").expect("runtime config"),
        workers: 2,
        storage: StorageConfig::Etcd(opts),
        services: Default::default(),
    };
    let running = app::start(config).await.expect("server starts on etcd");
    let addr = running.addr;
    TestServer {
        running: Some(running),
        addr,
        client: reqwest::Client::new(),
        dir,
    }
}

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

fn keys(kvs: &[KeyValue]) -> Vec<&str> {
    kvs.iter().map(|kv| kv.key.as_str()).collect()
}

/// A raw etcd client, to look at what is stored.
async fn raw_client(cluster: &Cluster) -> etcd_client::Client {
    etcd_client::Client::connect(cluster.endpoints(), None)
        .await
        .expect("raw client")
}

async fn raw_get(c: &mut etcd_client::Client, key: &str) -> Option<Vec<u8>> {
    let r = c.get(key, None).await.expect("raw get");
    r.kvs().first().map(|kv| kv.value().to_vec())
}

// ---------------------------------------------------------------------------------------
// Trait conformance (the embedded backend's semantics; etcd's revisions start above 1)
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_create_update_delete_cas() {
    if !etcd_available() {
        return;
    }
    let cluster = Cluster::start(1);
    let s = store(&cluster).await;
    let r0 = s.current_revision().await.unwrap();

    let a = s.create("/a", b("1")).await.unwrap();
    assert_eq!((a.create_revision, a.mod_revision), (r0 + 1, r0 + 1));
    assert_eq!(a.value, b("1"));
    assert!(matches!(
        s.create("/a", b("x")).await,
        Err(StorageError::AlreadyExists { key }) if key == "/a"
    ));
    assert!(matches!(
        s.update("/missing", b("x"), None).await,
        Err(StorageError::NotFound { .. })
    ));
    assert!(matches!(
        s.update("/missing", b("x"), Some(a.mod_revision)).await,
        Err(StorageError::NotFound { .. })
    ));
    assert!(matches!(
        s.delete("/missing", None).await,
        Err(StorageError::NotFound { .. })
    ));
    // failed writes consume no revision
    assert_eq!(s.current_revision().await.unwrap(), r0 + 1);

    let a2 = s.update("/a", b("2"), Some(a.mod_revision)).await.unwrap();
    assert_eq!((a2.create_revision, a2.mod_revision), (r0 + 1, r0 + 2));
    match s.update("/a", b("3"), Some(a.mod_revision)).await {
        Err(StorageError::Conflict { key, current }) => {
            assert_eq!(key, "/a");
            assert_eq!(current, Some(a2.clone()));
        }
        other => panic!("expected conflict, got {other:?}"),
    }
    let a3 = s.update("/a", b("3"), None).await.unwrap();
    assert_eq!(a3.mod_revision, r0 + 3);
    assert_eq!(a3.create_revision, r0 + 1);
    assert_eq!(s.get("/a").await.unwrap(), Some(a3.clone()));
    assert_eq!(s.get("/nothing").await.unwrap(), None);

    assert!(matches!(
        s.delete("/a", Some(a2.mod_revision)).await,
        Err(StorageError::Conflict { current: Some(c), .. }) if c == a3
    ));
    let d = s.delete("/a", Some(a3.mod_revision)).await.unwrap();
    assert_eq!(d.value, b("3"));
    assert_eq!(d.create_revision, r0 + 1);
    assert_eq!(d.mod_revision, r0 + 4);
    assert_eq!(s.get("/a").await.unwrap(), None);

    let again = s.create("/a", b("new")).await.unwrap();
    assert_eq!(
        (again.create_revision, again.mod_revision),
        (r0 + 5, r0 + 5)
    );
    assert!(matches!(
        s.create("", b("x")).await,
        Err(StorageError::InvalidArgument(_))
    ));
    assert!(matches!(
        s.create("/big", Bytes::from(vec![b'x'; 2 << 20])).await,
        Err(StorageError::ValueTooLarge { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guarded_create_commits_only_while_the_guard_is_unchanged() {
    if !etcd_available() {
        return;
    }
    let cluster = Cluster::start(1);
    let s = store(&cluster).await;
    let g = s.create("/g/ns", b("v1")).await.unwrap();
    let k = s
        .create_guarded("/g/k", b("k"), "/g/ns", g.mod_revision)
        .await
        .unwrap();
    assert_eq!(k.mod_revision, g.mod_revision + 1);
    assert_eq!(k.create_revision, k.mod_revision);
    assert_eq!(s.get("/g/k").await.unwrap(), Some(k.clone()));
    // The key exists: AlreadyExists, whatever the guard.
    assert!(matches!(
        s.create_guarded("/g/k", b("x"), "/g/ns", g.mod_revision).await,
        Err(StorageError::AlreadyExists { key }) if key == "/g/k"
    ));
    // The guard moved on: a conflict naming the guard, with its current version, and
    // nothing written.
    let g2 = s.update("/g/ns", b("v2"), None).await.unwrap();
    let before = s.current_revision().await.unwrap();
    match s
        .create_guarded("/g/k2", b("k2"), "/g/ns", g.mod_revision)
        .await
    {
        Err(StorageError::Conflict { key, current }) => {
            assert_eq!(key, "/g/ns");
            assert_eq!(current, Some(g2.clone()));
        }
        other => panic!("expected a conflict on the guard, got {other:?}"),
    }
    assert_eq!(s.get("/g/k2").await.unwrap(), None);
    assert_eq!(s.current_revision().await.unwrap(), before);
    // The guard is gone: a conflict without a current version.
    s.delete("/g/ns", None).await.unwrap();
    assert!(matches!(
        s.create_guarded("/g/k3", b("k3"), "/g/ns", g2.mod_revision).await,
        Err(StorageError::Conflict { key, current: None }) if key == "/g/ns"
    ));
    assert_eq!(s.get("/g/k3").await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_range_limit_start_revision_and_compaction() {
    if !etcd_available() {
        return;
    }
    let cluster = Cluster::start(1);
    let s = store(&cluster).await;
    for k in ["/r/a", "/r/b", "/r/c", "/r/d", "/rx", "/q"] {
        s.create(k, b(k)).await.unwrap();
    }
    let rev6 = s.current_revision().await.unwrap();

    let all = s.range("/r/", None, 0, None).await.unwrap();
    assert_eq!(keys(&all.kvs), ["/r/a", "/r/b", "/r/c", "/r/d"]);
    assert!(!all.more);
    assert_eq!(all.remaining, 0);
    assert_eq!(all.revision, rev6);

    let p1 = s.range("/r/", None, 3, None).await.unwrap();
    assert_eq!(keys(&p1.kvs), ["/r/a", "/r/b", "/r/c"]);
    assert!(p1.more);
    assert_eq!(p1.remaining, 1);

    s.delete("/r/a", None).await.unwrap();
    let changed = s.update("/r/c", b("changed"), None).await.unwrap();
    let bb = s.create("/r/bb", b("new")).await.unwrap();
    s.create("/r/e", b("new")).await.unwrap();

    let p2 = s
        .range("/r/", Some("/r/c\0"), 3, Some(p1.revision))
        .await
        .unwrap();
    assert_eq!(keys(&p2.kvs), ["/r/d"]);
    assert!(!p2.more);
    assert_eq!(p2.revision, rev6);
    let old_c = s.range("/r/c", None, 0, Some(rev6)).await.unwrap();
    assert_eq!(old_c.kvs[0].value, b("/r/c"));

    let now = s.range("/r/", None, 0, None).await.unwrap();
    assert_eq!(keys(&now.kvs), ["/r/b", "/r/bb", "/r/c", "/r/d", "/r/e"]);
    let current = now.revision;

    let none = s.range("/r/", Some("/s"), 0, None).await.unwrap();
    assert!(none.kvs.is_empty());
    let from_before = s.range("/r/", Some("/a"), 1, None).await.unwrap();
    assert_eq!(keys(&from_before.kvs), ["/r/b"]);
    assert_eq!(from_before.remaining, 4);
    assert!(matches!(
        s.range("/r/", None, 0, Some(current + 1)).await,
        Err(StorageError::FutureRevision { requested, current: c }) if requested == current + 1 && c == current
    ));

    // compaction
    assert_eq!(s.compacted_revision().await.unwrap(), 0);
    s.compact(changed.mod_revision).await.unwrap();
    assert_eq!(s.compacted_revision().await.unwrap(), changed.mod_revision);
    assert!(matches!(
        s.range("/r/", None, 0, Some(rev6)).await,
        Err(StorageError::Compacted { requested, compacted })
            if requested == rev6 && compacted == changed.mod_revision
    ));
    let at = s
        .range("/r/", None, 0, Some(changed.mod_revision))
        .await
        .unwrap();
    assert_eq!(keys(&at.kvs), ["/r/b", "/r/c", "/r/d"]);
    assert_eq!(at.kvs[1].value, b("changed"));
    let at_bb = s
        .range("/r/", None, 0, Some(bb.mod_revision))
        .await
        .unwrap();
    assert_eq!(keys(&at_bb.kvs), ["/r/b", "/r/bb", "/r/c", "/r/d"]);
    assert!(matches!(
        s.compact(changed.mod_revision - 1).await,
        Err(StorageError::Compacted { .. })
    ));
    s.compact(changed.mod_revision).await.unwrap();
    assert!(matches!(
        s.compact(current + 10).await,
        Err(StorageError::FutureRevision { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_watch_history_live_prev_and_compaction() {
    if !etcd_available() {
        return;
    }
    let cluster = Cluster::start(1);
    let s = store(&cluster).await;
    let start = s.current_revision().await.unwrap();
    let a = s.create("/w/a", b("1")).await.unwrap();
    s.create("/other/x", b("o")).await.unwrap();
    let a2 = s.update("/w/a", b("2"), None).await.unwrap();

    let mut w = s.watch("/w/", start).await.unwrap();
    let e1 = w.recv().await.unwrap().unwrap();
    assert_eq!(e1.kind, EventKind::Put);
    assert_eq!(e1.kv, a);
    assert_eq!(e1.prev, None);
    let e2 = w.recv().await.unwrap().unwrap();
    assert_eq!(e2.kv, a2);
    assert_eq!(e2.prev, Some(a.clone()));

    // live
    let b1 = s.create("/w/b", b("b")).await.unwrap();
    let gone = s.delete("/w/a", None).await.unwrap();
    let e3 = tokio::time::timeout(Duration::from_secs(10), w.recv())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(e3.kv, b1);
    let e4 = tokio::time::timeout(Duration::from_secs(10), w.recv())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(e4.kind, EventKind::Delete);
    assert_eq!(e4.kv, gone);
    assert_eq!(e4.kv.value, b("2"));
    assert_eq!(e4.prev, Some(a2.clone()));
    assert_eq!(e4.revision(), gone.mod_revision);

    // many writes stay in order, without gaps or duplicates
    let mut revs = Vec::new();
    for i in 0..50 {
        revs.push(
            s.create(&format!("/w/n{i:02}"), b("v"))
                .await
                .unwrap()
                .mod_revision,
        );
    }
    for want in revs {
        let ev = tokio::time::timeout(Duration::from_secs(10), w.recv())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(ev.revision(), want);
    }

    // a watch from before the compacted revision ends with Compacted
    let now = s.current_revision().await.unwrap();
    s.compact(now).await.unwrap();
    let mut old = s.watch("/w/", start).await.unwrap();
    match tokio::time::timeout(Duration::from_secs(10), old.recv())
        .await
        .unwrap()
    {
        Some(Err(StorageError::Compacted { compacted, .. })) => assert_eq!(compacted, now),
        other => panic!("expected Compacted, got {other:?}"),
    }
    assert!(
        old.recv().await.is_none(),
        "the stream ends after the error"
    );
    // from the compacted revision itself it works
    let mut fresh = s.watch("/w/", now).await.unwrap();
    let c = s.create("/w/after", b("x")).await.unwrap();
    let ev = tokio::time::timeout(Duration::from_secs(10), fresh.recv())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(ev.kv, c);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_update_with_across_two_stores() {
    if !etcd_available() {
        return;
    }
    let cluster = Cluster::start(1);
    let s1 = store(&cluster).await;
    let s2 = store(&cluster).await;
    s1.create("/counter", b("0")).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..6 {
        let s = if i % 2 == 0 { s1.clone() } else { s2.clone() };
        tasks.push(tokio::spawn(async move {
            for _ in 0..15 {
                update_with::<_, _, StorageError>(&*s, "/counter", |kv| {
                    let n: u64 = std::str::from_utf8(&kv.value).unwrap().parse().unwrap();
                    Ok(Some(Bytes::from((n + 1).to_string())))
                })
                .await
                .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(s2.get("/counter").await.unwrap().unwrap().value, b("90"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_use_the_configured_prefix_and_values_are_kube_encoded() {
    if !etcd_available() {
        return;
    }
    let cluster = Cluster::start(1);
    let s = store_with(EtcdOptions {
        prefix: "/kiln-test/".into(),
        ..options(&cluster)
    })
    .await;
    let cm = json!({"kind": "ConfigMap", "apiVersion": "v1",
        "metadata": {"name": "a", "namespace": "ns", "uid": "u", "creationTimestamp": "2025-01-01T00:00:00Z"},
        "data": {"k": "v"}});
    let created = s
        .create(
            "/registry/configmaps/ns/a",
            Bytes::from(serde_json::to_vec(&cm).unwrap()),
        )
        .await
        .unwrap();
    assert_eq!(created.key, "/registry/configmaps/ns/a");
    let mut raw = raw_client(&cluster).await;
    let stored = raw_get(&mut raw, "/kiln-test/configmaps/ns/a")
        .await
        .expect("stored under the prefix");
    assert!(stored.starts_with(b"k8s\0"), "protobuf envelope");
    assert_eq!(raw_get(&mut raw, "/registry/configmaps/ns/a").await, None);
    let back = s.get("/registry/configmaps/ns/a").await.unwrap().unwrap();
    assert_eq!(serde_json::from_slice::<Value>(&back.value).unwrap(), cm);
    let listed = s
        .range("/registry/configmaps/", None, 0, None)
        .await
        .unwrap();
    assert_eq!(keys(&listed.kvs), ["/registry/configmaps/ns/a"]);
    let mut w = s
        .watch("/registry/configmaps/", created.mod_revision - 1)
        .await
        .unwrap();
    let ev = w.recv().await.unwrap().unwrap();
    assert_eq!(ev.kv.key, "/registry/configmaps/ns/a");

    // A value written by another server in JSON (kube-apiserver with a JSON media type)
    // reads back; so does one in kube's protobuf written elsewhere.
    raw.put(
        "/kiln-test/configmaps/ns/json",
        r#"{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"json","namespace":"ns"}}"#,
        None,
    )
    .await
    .unwrap();
    let j = s
        .get("/registry/configmaps/ns/json")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        serde_json::from_slice::<Value>(&j.value).unwrap()["metadata"]["name"],
        "json"
    );
    // A value that is neither fails cleanly.
    raw.put("/kiln-test/configmaps/ns/bad", b"k8s\0\xff".to_vec(), None)
        .await
        .unwrap();
    assert!(matches!(
        s.get("/registry/configmaps/ns/bad").await,
        Err(StorageError::Corrupt(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn own_writes_come_back_as_written_and_other_writers_are_decoded() {
    if !etcd_available() {
        return;
    }
    let cluster = Cluster::start(1);
    let (a, b_store) = (store(&cluster).await, store(&cluster).await);
    let mut w = a.watch("/registry/configmaps/", 0).await.unwrap();
    // A's own JSON (deliberately not what decoding its protobuf gives: spacing, order),
    // written through the path that encodes from the parsed object.
    let text = br#"{"apiVersion":"v1", "kind":"ConfigMap","metadata":{"name":"a","namespace":"ns"},"data":{"k":"v"}}"#;
    let obj: Value = serde_json::from_slice(text).unwrap();
    let mine = a
        .create_object(
            "/registry/configmaps/ns/a",
            Bytes::from_static(text),
            &obj,
            None,
        )
        .await
        .unwrap();
    // The same object written by B (another replica): A decodes it from etcd.
    let theirs = b_store
        .create("/registry/configmaps/ns/b", Bytes::from_static(text))
        .await
        .unwrap();
    let updated = a
        .update_object(
            "/registry/configmaps/ns/a",
            Bytes::from_static(text),
            &obj,
            Some(mine.mod_revision),
        )
        .await
        .unwrap();
    let mut seen = Vec::new();
    while seen.len() < 3 {
        let ev = tokio::time::timeout(Duration::from_secs(10), w.recv())
            .await
            .expect("event in time")
            .unwrap()
            .unwrap();
        seen.push(ev);
    }
    // In order, once each.
    let revs: Vec<i64> = seen.iter().map(|e| e.revision()).collect();
    assert_eq!(
        revs,
        [mine.mod_revision, theirs.mod_revision, updated.mod_revision]
    );
    assert_eq!(
        &seen[0].kv.value[..],
        &text[..],
        "own create: the JSON written"
    );
    assert_ne!(&seen[1].kv.value[..], &text[..], "B's create: decoded");
    assert_eq!(
        serde_json::from_slice::<Value>(&seen[1].kv.value).unwrap(),
        obj
    );
    assert_eq!(
        &seen[2].kv.value[..],
        &text[..],
        "own update: the JSON written"
    );
    assert_eq!(
        seen[2].prev.as_ref().map(|p| &p.value[..]),
        Some(&text[..]),
        "own previous version"
    );
    // What is in etcd is kube's protobuf either way, and the same bytes.
    let mut raw = raw_client(&cluster).await;
    let pa = raw_get(&mut raw, "/registry/configmaps/ns/a")
        .await
        .unwrap();
    let pb = raw_get(&mut raw, "/registry/configmaps/ns/b")
        .await
        .unwrap();
    assert!(pa.starts_with(b"k8s\0"));
    assert_eq!(pa, pb);
}

// ---------------------------------------------------------------------------------------
// A Kiln server on etcd
// ---------------------------------------------------------------------------------------

fn configmap(name: &str, value: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"v": value}})
}

/// Reads a watch stream until it ends (`timeoutSeconds`); returns the events.
async fn collect_watch(client: reqwest::Client, url: String) -> Vec<Value> {
    let resp = client.get(url).send().await.expect("watch");
    assert_eq!(resp.status().as_u16(), 200);
    let mut stream = resp.bytes_stream();
    let mut buf = Vec::new();
    while let Some(chunk) = stream.next().await {
        buf.extend_from_slice(&chunk.expect("chunk"));
    }
    String::from_utf8_lossy(&buf)
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_str(l).expect("one JSON event per line"))
        .collect()
}

fn rv_of(v: &Value) -> i64 {
    v["metadata"]["resourceVersion"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("resourceVersion in {v}"))
}

#[actix_web::test]
async fn kiln_on_etcd_stores_as_kube_apiserver_does() {
    if !etcd_available() {
        return;
    }
    let cluster = Cluster::start(1);
    let s = kiln(options(&cluster)).await;
    let r = s
        .post_json(
            "/api/v1/namespaces/default/configmaps",
            &configmap("x", "1"),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let created = r.json();
    let mut raw = raw_client(&cluster).await;
    let resp = raw
        .get("/registry/configmaps/default/x", None)
        .await
        .unwrap();
    let kv = resp.kvs().first().expect("kube's key layout");
    assert!(kv.value().starts_with(b"k8s\0"));
    assert_eq!(
        rv_of(&created),
        kv.mod_revision(),
        "resourceVersion is the mod revision"
    );
    // kube-apiserver's layout for the bootstrap objects too
    assert!(
        raw_get(&mut raw, "/registry/services/specs/default/kubernetes")
            .await
            .is_some()
    );
    assert!(
        raw_get(&mut raw, "/registry/namespaces/kube-system")
            .await
            .is_some()
    );
    let got = s
        .get("/api/v1/namespaces/default/configmaps/x")
        .await
        .json();
    assert_eq!(got, created);
    s.stop().await;
}

/// Replica B has the namespace in its watch cache when replica A starts deleting it: B's
/// next create in it must not succeed (the create is guarded on the namespace's version).
#[actix_web::test]
async fn creates_in_a_namespace_another_replica_is_deleting_are_refused() {
    if !etcd_available() {
        return;
    }
    let cluster = Cluster::start(1);
    let a = kiln(options(&cluster)).await;
    let b = kiln(options(&cluster)).await;
    for round in 0..3 {
        let ns = format!("doomed{round}");
        a.namespace(&ns).await;
        let path = format!("/api/v1/namespaces/{ns}/configmaps");
        let r = b.post_json(&path, &configmap("first", "1")).await;
        assert_eq!(r.status, 201, "{}", r.text());
        let r = a.delete(&format!("/api/v1/namespaces/{ns}")).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let r = b.post_json(&path, &configmap("late", "1")).await;
        assert!(
            r.status == 403 || r.status == 404,
            "create in a terminating namespace: {} {}",
            r.status,
            r.text()
        );
    }
    a.stop().await;
    b.stop().await;
}

#[actix_web::test]
async fn compaction_makes_old_watches_and_continue_tokens_expire() {
    if !etcd_available() {
        return;
    }
    let cluster = Cluster::start(1);
    let s = kiln(EtcdOptions {
        compaction_interval: Duration::from_millis(700),
        ..options(&cluster)
    })
    .await;
    for i in 0..5 {
        let r = s
            .post_json(
                "/api/v1/namespaces/default/configmaps",
                &configmap(&format!("c{i}"), "v"),
            )
            .await;
        assert_eq!(r.status, 201);
    }
    let page = s
        .get("/api/v1/namespaces/default/configmaps?limit=2")
        .await
        .json();
    let token = page["metadata"]["continue"]
        .as_str()
        .expect("a continue token")
        .to_string();
    let old_rv = page["metadata"]["resourceVersion"]
        .as_str()
        .expect("rv")
        .to_string();
    // Writes, then at least two compaction intervals: the first records the revision,
    // the next compacts at it.
    for i in 0..3 {
        let r = s
            .put_json(
                &format!("/api/v1/namespaces/default/configmaps/c{i}"),
                &configmap(&format!("c{i}"), "changed"),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let store = s
        .running
        .as_ref()
        .expect("running")
        .state
        .store
        .storage
        .clone();
    let deadline = Instant::now() + Duration::from_secs(20);
    let old: i64 = old_rv.parse().expect("number");
    loop {
        if store.compacted_revision().await.unwrap() > old {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the periodic compaction did not run"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut raw = raw_client(&cluster).await;
    assert!(
        raw_get(&mut raw, "compact_rev_key").await.is_some(),
        "kube-apiserver's compaction key"
    );

    // The continue token is older than the compacted revision: 410 Expired.
    let r = s
        .get(&format!(
            "/api/v1/namespaces/default/configmaps?limit=2&continue={token}"
        ))
        .await;
    assert_eq!(r.status, 410, "{}", r.text());
    let status = r.json();
    assert_eq!(status["reason"], "Expired");
    assert_eq!(status["code"], 410);

    // A watch from the old resourceVersion: 200 and one ERROR event with 410 Expired.
    let events = collect_watch(
        s.client.clone(),
        s.url(&format!(
            "/api/v1/namespaces/default/configmaps?watch=1&resourceVersion={old_rv}&timeoutSeconds=5"
        )),
    )
    .await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["type"], "ERROR");
    assert_eq!(events[0]["object"]["code"], 410);
    assert_eq!(events[0]["object"]["reason"], "Expired");

    // A get at an exact old resourceVersion of a list is 410 as well.
    let r = s
        .get(&format!(
            "/api/v1/namespaces/default/configmaps?resourceVersion={old_rv}&resourceVersionMatch=Exact"
        ))
        .await;
    assert_eq!(r.status, 410, "{}", r.text());
    s.stop().await;
}

#[actix_web::test]
async fn two_replicas_see_each_others_writes_and_share_optimistic_concurrency() {
    if !etcd_available() {
        return;
    }
    let cluster = Cluster::start(1);
    let a = kiln(options(&cluster)).await;
    let b = kiln(options(&cluster)).await;
    a.namespace("shared").await;
    // B knows the namespace A created.
    let ns = b.get("/api/v1/namespaces/shared").await;
    assert_eq!(ns.status, 200);
    let start = rv_of(&ns.json());

    // A watch on B, running while A writes.
    let watch = tokio::spawn(collect_watch(
        b.client.clone(),
        b.url(&format!(
            "/api/v1/namespaces/shared/configmaps?watch=1&resourceVersion={start}&timeoutSeconds=6"
        )),
    ));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut written = Vec::new();
    for i in 0..20 {
        let r = a
            .post_json(
                "/api/v1/namespaces/shared/configmaps",
                &configmap(&format!("cm{i:02}"), "1"),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
        written.push(("ADDED".to_string(), format!("cm{i:02}"), rv_of(&r.json())));
        if i % 4 == 0 {
            let r = a
                .put_json(
                    &format!("/api/v1/namespaces/shared/configmaps/cm{i:02}"),
                    &configmap(&format!("cm{i:02}"), "2"),
                )
                .await;
            assert_eq!(r.status, 200, "{}", r.text());
            written.push((
                "MODIFIED".to_string(),
                format!("cm{i:02}"),
                rv_of(&r.json()),
            ));
        }
    }
    let r = a.delete("/api/v1/namespaces/shared/configmaps/cm03").await;
    assert_eq!(r.status, 200, "{}", r.text());
    let events = watch.await.expect("watch task");
    let seen: Vec<(String, String, i64)> = events
        .iter()
        .filter(|e| e["type"] != "BOOKMARK")
        .map(|e| {
            (
                e["type"].as_str().unwrap_or("").to_string(),
                e["object"]["metadata"]["name"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
                rv_of(&e["object"]),
            )
        })
        .collect();
    let deleted = seen.last().expect("events").clone();
    assert_eq!(
        &seen[..seen.len() - 1],
        &written[..],
        "in order, no gaps or duplicates"
    );
    assert_eq!(
        (deleted.0.as_str(), deleted.1.as_str()),
        ("DELETED", "cm03")
    );

    // A conflicting update through A and B: exactly one succeeds, the other is 409.
    let current = b
        .get("/api/v1/namespaces/shared/configmaps/cm01")
        .await
        .json();
    let mut via_a = current.clone();
    via_a["data"]["v"] = json!("from-a");
    let mut via_b = current.clone();
    via_b["data"]["v"] = json!("from-b");
    let path = "/api/v1/namespaces/shared/configmaps/cm01";
    let (ra, rb) = tokio::join!(a.put_json(path, &via_a), b.put_json(path, &via_b));
    let mut codes = [ra.status, rb.status];
    codes.sort();
    assert_eq!(codes, [200, 409], "a: {} b: {}", ra.text(), rb.text());
    let loser = if ra.status == 409 {
        ra.json()
    } else {
        rb.json()
    };
    assert_eq!(loser["reason"], "Conflict");
    let winner = if ra.status == 200 { "from-a" } else { "from-b" };
    for s in [&a, &b] {
        assert_eq!(s.get(path).await.json()["data"]["v"], winner);
    }
    a.stop().await;
    b.stop().await;
}

/// The index of the member that leads the cluster.
async fn leader_index(cluster: &Cluster) -> usize {
    let mut ids = Vec::new();
    let mut leader = 0;
    for m in &cluster.members {
        let mut c = etcd_client::Client::connect([m.client_url.as_str()], None)
            .await
            .expect("member client");
        let st = c.status().await.expect("member status");
        ids.push(st.header().map(|h| h.member_id()).unwrap_or(0));
        leader = st.leader();
    }
    ids.iter()
        .position(|id| *id == leader)
        .expect("the leader is a member")
}

#[actix_web::test]
async fn a_three_member_cluster_losing_a_member_keeps_serving_without_losing_writes() {
    if !etcd_available() {
        return;
    }
    let mut cluster = Cluster::start(3);
    let s = kiln(options(&cluster)).await;
    let start = rv_of(&s.get("/api/v1/namespaces/default").await.json());
    // A watch through the whole fault: it must see every acknowledged create, in order.
    let watch = tokio::spawn(collect_watch(
        s.client.clone(),
        s.url(&format!(
            "/api/v1/namespaces/default/configmaps?watch=1&resourceVersion={start}&timeoutSeconds=20"
        )),
    ));
    // Four writers, bounded: 60 creates each, or 40 seconds.
    let acked = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut writers = Vec::new();
    for w in 0..4 {
        let client = s.client.clone();
        let url = s.url("/api/v1/namespaces/default/configmaps");
        let acked = acked.clone();
        writers.push(tokio::spawn(async move {
            let started = Instant::now();
            let mut ok = Vec::new();
            let mut failed = 0usize;
            for i in 0..60 {
                if started.elapsed() > Duration::from_secs(40) {
                    break;
                }
                let name = format!("w{w}-{i:03}");
                let sent = client
                    .post(&url)
                    .header("Content-Type", "application/json")
                    .body(configmap(&name, "v").to_string())
                    .send()
                    .await;
                match sent {
                    Ok(r) if r.status().as_u16() == 201 => {
                        ok.push((
                            name,
                            acked.fetch_add(1, std::sync::atomic::Ordering::SeqCst),
                        ));
                    }
                    Ok(r) => {
                        failed += 1;
                        let code = r.status().as_u16();
                        eprintln!(
                            "fault test: {name}: {code} {}",
                            r.text().await.unwrap_or_default()
                        );
                    }
                    Err(e) => {
                        failed += 1;
                        eprintln!("fault test: {name}: {e}");
                    }
                }
            }
            (ok, failed)
        }));
    }
    // Kill the leader (so the cluster also elects a new one) while the writers run.
    let deadline = Instant::now() + Duration::from_secs(30);
    while acked.load(std::sync::atomic::Ordering::SeqCst) < 40 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let at_kill = acked.load(std::sync::atomic::Ordering::SeqCst);
    let leader = leader_index(&cluster).await;
    cluster.members[leader].kill();
    let mut acknowledged = Vec::new();
    let mut failed = 0;
    let mut after_kill = 0;
    for w in writers {
        let (ok, f) = w.await.expect("writer");
        failed += f;
        after_kill += ok.iter().filter(|(_, n)| *n >= at_kill).count();
        acknowledged.extend(ok.into_iter().map(|(name, _)| name));
    }
    eprintln!(
        "fault test: {} acknowledged, {failed} failed, {after_kill} after the kill",
        acknowledged.len()
    );
    // At most the writes in flight when the leader died may fail (one per writer); the
    // backend resolves most of those by reading back and resending.
    assert!(failed <= 4, "{failed} writes failed");
    assert!(
        after_kill >= 100,
        "Kiln kept serving after the leader died: {after_kill} writes after the kill, {failed} failed\n{}",
        cluster.log_tail()
    );
    // Every acknowledged write is there, read through the server and straight from etcd.
    let list = s.get("/api/v1/namespaces/default/configmaps").await.json();
    let names: Vec<&str> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|o| o["metadata"]["name"].as_str())
        .collect();
    for n in &acknowledged {
        assert!(names.contains(&n.as_str()), "acknowledged {n} is missing");
    }
    let alive: Vec<String> = cluster
        .members
        .iter()
        .filter(|m| m.child.is_some())
        .map(|m| m.client_url.clone())
        .collect();
    let mut raw = etcd_client::Client::connect(alive, None).await.unwrap();
    for n in &acknowledged {
        assert!(
            raw_get(&mut raw, &format!("/registry/configmaps/default/{n}"))
                .await
                .is_some(),
            "{n} is in etcd"
        );
    }
    // The watch went on through the fault: increasing revisions, no duplicates, every
    // acknowledged create.
    let events = watch.await.expect("watch task");
    let added: Vec<(String, i64)> = events
        .iter()
        .filter(|e| e["type"] == "ADDED")
        .map(|e| {
            (
                e["object"]["metadata"]["name"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
                rv_of(&e["object"]),
            )
        })
        .collect();
    assert!(
        events
            .iter()
            .all(|e| e["type"] == "ADDED" || e["type"] == "BOOKMARK"),
        "{:?}",
        events.iter().find(|e| e["type"] != "ADDED")
    );
    assert!(
        added.windows(2).all(|w| w[0].1 < w[1].1),
        "revisions increase"
    );
    for n in &acknowledged {
        assert!(added.iter().any(|(a, _)| a == n), "the watch missed {n}");
    }
    s.stop().await;
}

/// Runs `openssl` with `args` in `dir`; false when it is missing or fails.
fn openssl(dir: &std::path::Path, args: &[&str]) -> bool {
    Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_client_certificates() {
    if !etcd_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    std::fs::write(
        d.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n",
    )
    .expect("ext");
    let made = openssl(
        d,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "2",
            "-subj",
            "/CN=kiln-test-ca",
        ],
    ) && ["srv", "cli"].iter().all(|n| {
        openssl(
            d,
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                &format!("{n}.key"),
                "-out",
                &format!("{n}.csr"),
                "-subj",
                &format!("/CN={n}"),
            ],
        ) && openssl(
            d,
            &[
                "x509",
                "-req",
                "-in",
                &format!("{n}.csr"),
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                &format!("{n}.crt"),
                "-days",
                "2",
                "-extfile",
                "ext.cnf",
            ],
        )
    });
    if !made {
        eprintln!(
            "SKIPPED: no working `openssl` to make test certificates; the TLS test did not run"
        );
        return;
    }
    let (client, peer) = (free_port(), free_port());
    let client_url = format!("https://127.0.0.1:{client}");
    let peer_url = format!("http://127.0.0.1:{peer}");
    let log = std::fs::File::create(d.join("etcd.log")).expect("log");
    let child = Command::new("etcd")
        .args(["--name", "tls", "--data-dir"])
        .arg(d.join("data"))
        .args(["--listen-client-urls", &client_url])
        .args(["--advertise-client-urls", &client_url])
        .args(["--listen-peer-urls", &peer_url])
        .args(["--initial-advertise-peer-urls", &peer_url])
        .args(["--initial-cluster", &format!("tls={peer_url}")])
        .arg("--cert-file")
        .arg(d.join("srv.crt"))
        .arg("--key-file")
        .arg(d.join("srv.key"))
        .arg("--trusted-ca-file")
        .arg(d.join("ca.crt"))
        .arg("--client-cert-auth")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("etcd starts");
    let _member = Member {
        name: "tls".into(),
        client_url: client_url.clone(),
        child: Some(child),
    };
    let opts = EtcdOptions {
        endpoints: vec![client_url],
        ca_file: Some(d.join("ca.crt")),
        cert_file: Some(d.join("cli.crt")),
        key_file: Some(d.join("cli.key")),
        compaction_interval: Duration::ZERO,
        startup_timeout: Duration::from_secs(30),
        ..Default::default()
    };
    let s = store_with(opts.clone()).await;
    s.create("/tls/a", b("1")).await.unwrap();
    assert_eq!(s.get("/tls/a").await.unwrap().unwrap().value, b("1"));
    // Without the client certificate etcd refuses the connection.
    let refused = EtcdStore::connect(EtcdOptions {
        cert_file: None,
        key_file: None,
        startup_timeout: Duration::from_secs(2),
        ..opts.clone()
    })
    .await;
    assert!(refused.is_err(), "connected without a client certificate");
    // A certificate without its key is a usage error.
    assert!(matches!(
        EtcdStore::connect(EtcdOptions {
            key_file: None,
            ..opts
        })
        .await,
        Err(StorageError::InvalidArgument(_))
    ));
}
