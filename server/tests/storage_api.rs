//! Black-box tests of the storage API semantics on the embedded backend.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use bytes::Bytes;
use kiln::storage::embedded::FaultInjector;
use kiln::storage::{EmbeddedOptions, EmbeddedStore, KeyValue, Storage, StorageError, update_with};

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

fn open(dir: &std::path::Path) -> Arc<EmbeddedStore> {
    EmbeddedStore::open(dir, EmbeddedOptions::default()).unwrap()
}

fn keys(kvs: &[KeyValue]) -> Vec<&str> {
    kvs.iter().map(|kv| kv.key.as_str()).collect()
}

#[tokio::test]
async fn create_update_delete_cas() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    assert_eq!(s.current_revision().await.unwrap(), 0);

    let a = s.create("/a", b("1")).await.unwrap();
    assert_eq!((a.create_revision, a.mod_revision), (1, 1));
    assert!(matches!(
        s.create("/a", b("x")).await,
        Err(StorageError::AlreadyExists { key }) if key == "/a"
    ));
    assert!(matches!(
        s.update("/missing", b("x"), None).await,
        Err(StorageError::NotFound { .. })
    ));
    assert!(matches!(
        s.delete("/missing", None).await,
        Err(StorageError::NotFound { .. })
    ));
    // failed writes consume no revision
    assert_eq!(s.current_revision().await.unwrap(), 1);

    let a2 = s.update("/a", b("2"), Some(1)).await.unwrap();
    assert_eq!((a2.create_revision, a2.mod_revision), (1, 2));
    match s.update("/a", b("3"), Some(1)).await {
        Err(StorageError::Conflict { key, current }) => {
            assert_eq!(key, "/a");
            assert_eq!(current, Some(a2.clone()));
        }
        other => panic!("expected conflict, got {other:?}"),
    }
    // unconditional update
    let a3 = s.update("/a", b("3"), None).await.unwrap();
    assert_eq!(a3.mod_revision, 3);
    assert_eq!(s.get("/a").await.unwrap(), Some(a3.clone()));

    assert!(matches!(
        s.delete("/a", Some(2)).await,
        Err(StorageError::Conflict { current: Some(c), .. }) if c == a3
    ));
    let d = s.delete("/a", Some(3)).await.unwrap();
    assert_eq!(d.value, b("3"));
    assert_eq!(d.create_revision, 1);
    assert_eq!(d.mod_revision, 4);
    assert_eq!(s.get("/a").await.unwrap(), None);
    assert!(matches!(
        s.update("/a", b("x"), Some(3)).await,
        Err(StorageError::NotFound { .. })
    ));

    // re-creating starts a new life
    let again = s.create("/a", b("new")).await.unwrap();
    assert_eq!((again.create_revision, again.mod_revision), (5, 5));
    assert_eq!(s.current_revision().await.unwrap(), 5);
}

#[tokio::test]
async fn invalid_requests() {
    let dir = tempfile::tempdir().unwrap();
    let s = EmbeddedStore::open(
        dir.path(),
        EmbeddedOptions {
            max_value_bytes: 10,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(matches!(
        s.create("", b("x")).await,
        Err(StorageError::InvalidArgument(_))
    ));
    assert!(matches!(
        s.create("/k", Bytes::from(vec![0u8; 11])).await,
        Err(StorageError::ValueTooLarge {
            size: 11,
            limit: 10
        })
    ));
    assert!(matches!(
        s.create(&"k".repeat(100_000), b("x")).await,
        Err(StorageError::InvalidArgument(_))
    ));
    s.create("/k", Bytes::from(vec![0u8; 10])).await.unwrap();
    assert!(matches!(
        s.compact(5).await,
        Err(StorageError::FutureRevision {
            requested: 5,
            current: 1
        })
    ));
}

#[tokio::test]
async fn range_limit_start_and_revision() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    for k in ["/r/a", "/r/b", "/r/c", "/r/d", "/rx", "/q"] {
        s.create(k, b(k)).await.unwrap();
    }
    let rev6 = s.current_revision().await.unwrap();
    assert_eq!(rev6, 6);

    let all = s.range("/r/", None, 0, None).await.unwrap();
    assert_eq!(keys(&all.kvs), ["/r/a", "/r/b", "/r/c", "/r/d"]);
    assert!(!all.more);
    assert_eq!(all.remaining, 0);
    assert_eq!(all.revision, 6);

    let p1 = s.range("/r/", None, 3, None).await.unwrap();
    assert_eq!(keys(&p1.kvs), ["/r/a", "/r/b", "/r/c"]);
    assert!(p1.more);
    assert_eq!(p1.remaining, 1);

    // later writes do not change a read at the first page's revision
    s.delete("/r/a", None).await.unwrap(); // 7
    s.update("/r/c", b("changed"), None).await.unwrap(); // 8
    s.create("/r/bb", b("new")).await.unwrap(); // 9
    s.create("/r/e", b("new")).await.unwrap(); // 10

    let p2 = s
        .range("/r/", Some("/r/c\0"), 3, Some(p1.revision))
        .await
        .unwrap();
    assert_eq!(keys(&p2.kvs), ["/r/d"]);
    assert!(!p2.more);
    assert_eq!(p2.revision, 6);
    let old_c = s.range("/r/c", None, 0, Some(6)).await.unwrap();
    assert_eq!(old_c.kvs[0].value, b("/r/c"));
    assert_eq!(old_c.kvs[0].mod_revision, 3);

    let now = s.range("/r/", None, 0, None).await.unwrap();
    assert_eq!(keys(&now.kvs), ["/r/b", "/r/bb", "/r/c", "/r/d", "/r/e"]);
    assert_eq!(now.revision, 10);

    // start outside the prefix
    let none = s.range("/r/", Some("/s"), 0, None).await.unwrap();
    assert!(none.kvs.is_empty());
    let from_before = s.range("/r/", Some("/a"), 1, None).await.unwrap();
    assert_eq!(keys(&from_before.kvs), ["/r/b"]);
    assert_eq!(from_before.remaining, 4);

    // revision 0 / negative = current
    assert_eq!(s.range("", None, 0, Some(0)).await.unwrap().revision, 10);
    assert!(matches!(
        s.range("", None, 0, Some(11)).await,
        Err(StorageError::FutureRevision {
            requested: 11,
            current: 10
        })
    ));

    // compaction
    s.compact(8).await.unwrap();
    assert_eq!(s.compacted_revision().await.unwrap(), 8);
    assert!(matches!(
        s.range("/r/", None, 0, Some(6)).await,
        Err(StorageError::Compacted {
            requested: 6,
            compacted: 8
        })
    ));
    let at8 = s.range("/r/", None, 0, Some(8)).await.unwrap();
    assert_eq!(keys(&at8.kvs), ["/r/b", "/r/c", "/r/d"]);
    assert_eq!(at8.kvs[1].value, b("changed"));
    let at9 = s.range("/r/", None, 0, Some(9)).await.unwrap();
    assert_eq!(keys(&at9.kvs), ["/r/b", "/r/bb", "/r/c", "/r/d"]);
    assert!(matches!(
        s.compact(7).await,
        Err(StorageError::Compacted {
            requested: 7,
            compacted: 8
        })
    ));
    // compacting at the compacted revision again is allowed
    s.compact(8).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paginated_list_at_fixed_revision_under_writes() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    for i in 0..100 {
        s.create(&format!("/p/{i:03}"), b("v")).await.unwrap();
    }
    let writer = {
        let s = s.clone();
        tokio::spawn(async move {
            for i in 0..100 {
                s.update(&format!("/p/{i:03}"), b("w"), None).await.unwrap();
                if i % 3 == 0 {
                    s.delete(&format!("/p/{i:03}"), None).await.unwrap();
                }
            }
        })
    };
    let first = s.range("/p/", None, 7, None).await.unwrap();
    let rev = first.revision;
    let mut seen = keys(&first.kvs)
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>();
    let mut more = first.more;
    while more {
        let start = format!("{}\0", seen.last().unwrap());
        let page = s.range("/p/", Some(&start), 7, Some(rev)).await.unwrap();
        assert_eq!(page.revision, rev);
        seen.extend(page.kvs.iter().map(|kv| kv.key.clone()));
        more = page.more;
    }
    writer.await.unwrap();
    let expected = s.range("/p/", None, 0, Some(rev)).await.unwrap();
    assert_eq!(seen, keys(&expected.kvs));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_with_retries_on_conflict() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    s.create("/counter", b("0")).await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..25 {
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
    assert_eq!(s.get("/counter").await.unwrap().unwrap().value, b("200"));
    // no change -> no write
    let rev = s.current_revision().await.unwrap();
    let kv = update_with::<_, _, StorageError>(&*s, "/counter", |_| Ok(None))
        .await
        .unwrap();
    assert_eq!(kv.mod_revision, rev);
    assert!(matches!(
        update_with::<_, _, StorageError>(&*s, "/nope", |_| Ok(None)).await,
        Err(StorageError::NotFound { .. })
    ));
    // through a trait object
    let dynamic: Arc<dyn Storage> = s.clone();
    update_with::<_, _, StorageError>(&*dynamic, "/counter", |_| Ok(Some(b("x"))))
        .await
        .unwrap();
}

#[tokio::test]
async fn closed_store_and_directory_lock() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    s.create("/a", b("1")).await.unwrap();
    match EmbeddedStore::open(dir.path(), EmbeddedOptions::default()) {
        Err(StorageError::Io(e)) => assert!(e.to_string().contains("in use"), "{e}"),
        other => panic!("expected the directory lock to refuse, got {other:?}"),
    }
    s.close().await;
    assert!(matches!(s.get("/a").await, Err(StorageError::Closed)));
    assert!(matches!(
        s.create("/b", b("1")).await,
        Err(StorageError::Closed)
    ));
    drop(s);
    let s = open(dir.path());
    assert_eq!(s.get("/a").await.unwrap().unwrap().value, b("1"));
}

#[tokio::test]
async fn io_errors_fail_writes_without_corrupting_state() {
    let dir = tempfile::tempdir().unwrap();
    let faults = Arc::new(FaultInjector::default());
    let opts = EmbeddedOptions {
        faults: Some(faults.clone()),
        ..Default::default()
    };
    let s = EmbeddedStore::open(dir.path(), opts.clone()).unwrap();
    s.create("/a", b("1")).await.unwrap();

    // a write that fails half way (disk full)
    faults.fail_writes.store(1, Ordering::SeqCst);
    assert!(matches!(
        s.create("/b", b("2")).await,
        Err(StorageError::Io(_))
    ));
    assert_eq!(s.get("/b").await.unwrap(), None);
    assert_eq!(s.current_revision().await.unwrap(), 1);
    // a failed sync
    faults.fail_syncs.store(1, Ordering::SeqCst);
    assert!(matches!(
        s.update("/a", b("x"), None).await,
        Err(StorageError::Io(_))
    ));
    assert_eq!(s.get("/a").await.unwrap().unwrap().value, b("1"));
    // the store recovers once the disk does
    let b2 = s.create("/b", b("2")).await.unwrap();
    assert_eq!(b2.mod_revision, 2);
    drop(s);

    let s = EmbeddedStore::open(dir.path(), opts.clone()).unwrap();
    assert_eq!(s.current_revision().await.unwrap(), 2);
    assert_eq!(s.get("/a").await.unwrap().unwrap().value, b("1"));
    assert_eq!(s.get("/b").await.unwrap().unwrap().value, b("2"));

    // a failure that cannot be cleaned up stops all writes until reopen
    faults.fail_writes.store(1, Ordering::SeqCst);
    faults.fail_truncates.store(1, Ordering::SeqCst);
    assert!(matches!(
        s.create("/c", b("3")).await,
        Err(StorageError::Io(_))
    ));
    assert!(matches!(
        s.create("/d", b("4")).await,
        Err(StorageError::Io(_))
    ));
    assert!(matches!(s.compact(1).await, Err(StorageError::Io(_))));
    assert_eq!(s.get("/a").await.unwrap().unwrap().value, b("1"));
    drop(s);
    // the half-written frame is a torn tail
    let s = EmbeddedStore::open(dir.path(), opts).unwrap();
    assert_eq!(s.current_revision().await.unwrap(), 2);
    assert_eq!(s.get("/c").await.unwrap(), None);
    s.create("/c", b("3")).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_commit_throughput() {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let s = open(dir.path());
    const TASKS: usize = 16;
    const PER_TASK: usize = 500;
    let start = Instant::now();
    let mut tasks = Vec::new();
    for t in 0..TASKS {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let value = Bytes::from(vec![b'x'; 1024]);
            for i in 0..PER_TASK {
                s.create(&format!("/bench/{t}/{i}"), value.clone())
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let secs = start.elapsed().as_secs_f64();
    let stats = s.stats();
    let n = (TASKS * PER_TASK) as f64;
    println!(
        "{} creates (1 KiB) by {TASKS} tasks in {secs:.3}s = {:.0}/s; {} group commits ({:.1} writes each)",
        n,
        n / secs,
        stats.batches,
        stats.writes as f64 / stats.batches as f64
    );
    assert_eq!(stats.writes, (TASKS * PER_TASK) as u64);
    assert!(stats.batches < stats.writes, "no write was grouped");
}
