//! Watch semantics of the embedded backend: history replay then live events,
//! ordering, prefix filtering, compaction and slow watchers.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use kiln::storage::{
    EmbeddedOptions, EmbeddedStore, Event, EventKind, Storage, StorageError, WatchStream,
};

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

fn open_with(dir: &std::path::Path, opts: EmbeddedOptions) -> Arc<EmbeddedStore> {
    EmbeddedStore::open(dir, opts).unwrap()
}

async fn next_event(w: &mut WatchStream) -> Event {
    match tokio::time::timeout(Duration::from_secs(10), w.recv()).await {
        Ok(Some(Ok(ev))) => ev,
        other => panic!("expected an event, got {other:?}"),
    }
}

async fn assert_idle(w: &mut WatchStream) {
    if let Ok(item) = tokio::time::timeout(Duration::from_millis(50), w.recv()).await {
        panic!("expected no event, got {item:?}");
    }
}

#[tokio::test]
async fn history_then_live_with_prev_values() {
    let dir = tempfile::tempdir().unwrap();
    let s = open_with(dir.path(), EmbeddedOptions::default());
    s.create("/w/a", b("1")).await.unwrap(); // 1
    s.create("/other", b("x")).await.unwrap(); // 2
    s.update("/w/a", b("2"), None).await.unwrap(); // 3

    let mut w = s.watch("/w/", 0).await.unwrap();
    let e1 = next_event(&mut w).await;
    assert_eq!(e1.kind, EventKind::Put);
    assert_eq!((e1.kv.key.as_str(), e1.revision()), ("/w/a", 1));
    assert!(e1.prev.is_none());
    let e3 = next_event(&mut w).await;
    assert_eq!(e3.revision(), 3);
    assert_eq!(e3.kv.value, b("2"));
    assert_eq!(e3.prev.as_ref().unwrap().value, b("1"));
    assert_idle(&mut w).await;

    // live
    s.delete("/w/a", None).await.unwrap(); // 4
    s.create("/other2", b("x")).await.unwrap(); // 5
    s.create("/w/b", b("b")).await.unwrap(); // 6
    let e4 = next_event(&mut w).await;
    assert_eq!(e4.kind, EventKind::Delete);
    assert_eq!(e4.revision(), 4);
    assert_eq!(e4.kv.value, b("2"));
    assert_eq!(e4.kv.create_revision, 1);
    assert_eq!(e4.prev.as_ref().unwrap().mod_revision, 3);
    let e6 = next_event(&mut w).await;
    assert_eq!((e6.kv.key.as_str(), e6.revision()), ("/w/b", 6));
    assert_idle(&mut w).await;

    // from the middle of history
    let mut w2 = s.watch("/w/", 3).await.unwrap();
    assert_eq!(next_event(&mut w2).await.revision(), 4);
    assert_eq!(next_event(&mut w2).await.revision(), 6);

    // from the future: waits
    let mut w3 = s.watch("", 7).await.unwrap();
    s.create("/x7", b("")).await.unwrap(); // 7, not delivered
    assert_idle(&mut w3).await;
    s.create("/x8", b("")).await.unwrap(); // 8
    assert_eq!(next_event(&mut w3).await.revision(), 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ordering_under_concurrent_writers() {
    let dir = tempfile::tempdir().unwrap();
    let s = open_with(dir.path(), EmbeddedOptions::default());
    s.create("/seed", b("")).await.unwrap();
    // one watcher started before, one in the middle of the writes
    let mut early = s.watch("", 0).await.unwrap();
    const WRITERS: usize = 8;
    const EACH: usize = 100;
    let mut tasks = Vec::new();
    for t in 0..WRITERS {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..EACH {
                let key = format!("/c/{t}/{}", i % 10);
                if s.create(&key, b("v")).await.is_err() {
                    s.update(&key, Bytes::from(i.to_string()), None)
                        .await
                        .unwrap();
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(5)).await;
    let mid_rev = s.current_revision().await.unwrap();
    let mut mid = s.watch("/c/", mid_rev).await.unwrap();
    for t in tasks {
        t.await.unwrap();
    }
    let total = (WRITERS * EACH + 1) as i64;
    assert_eq!(s.current_revision().await.unwrap(), total);

    for rev in 1..=total {
        let ev = next_event(&mut early).await;
        assert_eq!(ev.revision(), rev, "gap or duplicate");
    }
    let mut last = mid_rev;
    while last < total {
        let ev = next_event(&mut mid).await;
        assert_eq!(ev.revision(), last + 1);
        last = ev.revision();
    }
    assert_idle(&mut early).await;
    assert_idle(&mut mid).await;
}

#[tokio::test]
async fn prefix_filtering() {
    let dir = tempfile::tempdir().unwrap();
    let s = open_with(dir.path(), EmbeddedOptions::default());
    let mut pods = s.watch("/registry/pods/", 0).await.unwrap();
    let mut ns1 = s.watch("/registry/pods/ns1/", 0).await.unwrap();
    for k in [
        "/registry/pods/ns1/a",
        "/registry/pods/ns2/a",
        "/registry/podsx/ns1/a",
        "/registry/pods/ns1/b",
        "/registry/services/ns1/a",
    ] {
        s.create(k, b(k)).await.unwrap();
    }
    let got: Vec<String> = [
        next_event(&mut pods).await,
        next_event(&mut pods).await,
        next_event(&mut pods).await,
    ]
    .into_iter()
    .map(|e| e.kv.key)
    .collect();
    assert_eq!(
        got,
        [
            "/registry/pods/ns1/a",
            "/registry/pods/ns2/a",
            "/registry/pods/ns1/b"
        ]
    );
    assert_idle(&mut pods).await;
    assert_eq!(next_event(&mut ns1).await.revision(), 1);
    assert_eq!(next_event(&mut ns1).await.revision(), 4);
    assert_idle(&mut ns1).await;
}

#[tokio::test]
async fn too_old_is_compacted() {
    let dir = tempfile::tempdir().unwrap();
    let s = open_with(dir.path(), EmbeddedOptions::default());
    for i in 0..10 {
        s.create(&format!("/k{i}"), b("v")).await.unwrap();
    }
    s.compact(5).await.unwrap();
    assert!(matches!(
        s.watch("", 4).await,
        Err(StorageError::Compacted {
            requested: 4,
            compacted: 5
        })
    ));
    let mut w = s.watch("", 5).await.unwrap();
    assert_eq!(next_event(&mut w).await.revision(), 6);

    // a watcher whose position gets compacted away ends with an error
    let mut lagging = s.watch("", 5).await.unwrap();
    s.compact(8).await.unwrap();
    match lagging.recv().await {
        Some(Err(StorageError::Compacted {
            requested: 5,
            compacted: 8,
        })) => {}
        other => panic!("expected compacted, got {other:?}"),
    }
    assert!(lagging.recv().await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_watcher_is_terminated_and_memory_stays_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let s = open_with(
        dir.path(),
        EmbeddedOptions {
            retain_revisions: Some(200),
            watch_buffer: 8,
            ..Default::default()
        },
    );
    let mut slow = s.watch("", 0).await.unwrap();
    let mut fast = s.watch("", 0).await.unwrap();
    let reader = tokio::spawn(async move {
        let mut last = 0;
        while last < 1000 {
            match fast.recv().await {
                Some(Ok(ev)) => {
                    assert_eq!(ev.revision(), last + 1);
                    last = ev.revision();
                }
                other => return Err(format!("fast watcher ended at {last}: {other:?}")),
            }
        }
        Ok(last)
    });
    // the slow one reads a few events, then stalls
    for i in 0..3 {
        s.create(&format!("/s/first{i}"), b("v")).await.unwrap();
    }
    for rev in 1..=3 {
        assert_eq!(next_event(&mut slow).await.revision(), rev);
    }
    for i in 0..997 {
        s.create(&format!("/s/{i}"), b("v")).await.unwrap();
    }
    assert_eq!(reader.await.unwrap(), Ok(1000));
    let compacted = s.compacted_revision().await.unwrap();
    assert!(
        compacted >= 750,
        "automatic compaction did not run: {compacted}"
    );
    // the slow watcher gets at most its buffer, then the error, then the end
    let mut delivered = 0;
    loop {
        match slow.recv().await {
            Some(Ok(_)) => delivered += 1,
            Some(Err(StorageError::Compacted { .. })) => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(delivered <= 8, "{delivered} events were buffered");
    assert!(slow.recv().await.is_none());
}

#[tokio::test]
async fn closing_the_store_ends_watches() {
    let dir = tempfile::tempdir().unwrap();
    let s = open_with(dir.path(), EmbeddedOptions::default());
    let mut w = s.watch("", 0).await.unwrap();
    let waiter = tokio::spawn(async move { w.recv().await });
    tokio::time::sleep(Duration::from_millis(20)).await;
    s.close().await;
    match tokio::time::timeout(Duration::from_secs(5), waiter).await {
        Ok(Ok(Some(Err(StorageError::Closed)))) => {}
        other => panic!("expected Closed, got {other:?}"),
    }
    assert!(matches!(s.watch("", 0).await, Err(StorageError::Closed)));
}

#[tokio::test]
async fn history_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = open_with(dir.path(), EmbeddedOptions::default());
        s.create("/a", b("1")).await.unwrap();
        s.update("/a", b("2"), None).await.unwrap();
        s.delete("/a", None).await.unwrap();
    }
    let s = open_with(dir.path(), EmbeddedOptions::default());
    let mut w = s.watch("", 1).await.unwrap();
    let e2 = next_event(&mut w).await;
    assert_eq!((e2.revision(), e2.prev.unwrap().value), (2, b("1")));
    let e3 = next_event(&mut w).await;
    assert_eq!((e3.kind, e3.kv.value), (EventKind::Delete, b("2")));
    s.create("/a", b("3")).await.unwrap();
    let e4 = next_event(&mut w).await;
    assert_eq!((e4.revision(), e4.kv.create_revision), (4, 4));
    assert!(e4.prev.is_none());
}

#[tokio::test]
async fn dropped_watchers_cost_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let s = open_with(dir.path(), EmbeddedOptions::default());
    for _ in 0..1000 {
        let w = s.watch("", 0).await.unwrap();
        drop(w);
    }
    // the notifier holds no receivers once streams are dropped
    s.create("/a", b("1")).await.unwrap();
    let mut w = s.watch("", 0).await.unwrap();
    assert_eq!(next_event(&mut w).await.revision(), 1);
}
