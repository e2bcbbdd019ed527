//! Durability of the embedded backend: reopen, torn tails, corruption,
//! compaction and log rewrites.

use std::fs::OpenOptions;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use kiln::storage::{EmbeddedOptions, EmbeddedStore, KeyValue, Storage, StorageError};

const LOG: &str = "kiln.wal";

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

fn open(dir: &Path) -> Arc<EmbeddedStore> {
    EmbeddedStore::open(dir, EmbeddedOptions::default()).unwrap()
}

fn log_len(dir: &Path) -> u64 {
    std::fs::metadata(dir.join(LOG)).unwrap().len()
}

async fn dump(s: &EmbeddedStore) -> Vec<KeyValue> {
    s.range("", None, 0, None).await.unwrap().kvs
}

#[tokio::test]
async fn reopen_after_clean_close_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let before;
    {
        let s = open(dir.path());
        for i in 0..50 {
            s.create(&format!("/k/{i:02}"), Bytes::from(vec![i as u8; i * 10]))
                .await
                .unwrap();
        }
        for i in (0..50).step_by(3) {
            s.update(&format!("/k/{i:02}"), b("updated"), None)
                .await
                .unwrap();
        }
        for i in (0..50).step_by(7) {
            s.delete(&format!("/k/{i:02}"), None).await.unwrap();
        }
        before = dump(&s).await;
        s.close().await;
    }
    let s = open(dir.path());
    assert_eq!(dump(&s).await, before);
    assert_eq!(s.current_revision().await.unwrap(), 50 + 17 + 8);
    // old revisions are still readable after a restart
    let at50 = s.range("", None, 0, Some(50)).await.unwrap();
    assert_eq!(at50.kvs.len(), 50);
    // and the counter continues
    let kv = s.create("/new", b("x")).await.unwrap();
    assert_eq!(kv.mod_revision, 76);
}

#[tokio::test]
async fn torn_tail_is_dropped_and_acknowledged_writes_kept() {
    let dir = tempfile::tempdir().unwrap();
    let acked_len;
    let full_len;
    {
        let s = open(dir.path());
        for i in 0..20 {
            s.create(&format!("/k/{i}"), b("v")).await.unwrap();
        }
        acked_len = log_len(dir.path());
        s.create("/k/last", Bytes::from(vec![7u8; 300]))
            .await
            .unwrap();
        full_len = log_len(dir.path());
    }
    let pristine = std::fs::read(dir.path().join(LOG)).unwrap();
    // cut the last write anywhere: the 20 before it survive, the store opens
    for cut in [
        acked_len + 1,
        acked_len + 11,
        acked_len + 12,
        acked_len + 100,
        full_len - 1,
    ] {
        std::fs::write(dir.path().join(LOG), &pristine).unwrap();
        OpenOptions::new()
            .write(true)
            .open(dir.path().join(LOG))
            .unwrap()
            .set_len(cut)
            .unwrap();
        let s = open(dir.path());
        assert_eq!(s.current_revision().await.unwrap(), 20, "cut at {cut}");
        assert_eq!(dump(&s).await.len(), 20);
        assert_eq!(s.get("/k/last").await.unwrap(), None);
        // the tail was cut off so new writes land on a clean boundary
        s.create("/k/after", b("x")).await.unwrap();
        drop(s);
        let s = open(dir.path());
        assert_eq!(s.current_revision().await.unwrap(), 21);
        assert_eq!(s.get("/k/after").await.unwrap().unwrap().mod_revision, 21);
    }
    // zeros appended past the end (a crash after the file grew) are a torn tail too
    let mut z = pristine.clone();
    z.extend_from_slice(&[0u8; 4096]);
    std::fs::write(dir.path().join(LOG), &z).unwrap();
    let s = open(dir.path());
    assert_eq!(s.current_revision().await.unwrap(), 21);
    drop(s);
    assert_eq!(log_len(dir.path()), pristine.len() as u64);
}

#[tokio::test]
async fn corruption_in_the_middle_refuses_to_open() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = open(dir.path());
        for i in 0..30 {
            s.create(&format!("/k/{i}"), b("some value")).await.unwrap();
        }
    }
    let pristine = std::fs::read(dir.path().join(LOG)).unwrap();
    let mid = pristine.len() / 2;
    for (what, pos) in [
        ("payload", mid),
        ("early", 40),
        ("late", pristine.len() - 80),
    ] {
        let mut bad = pristine.clone();
        bad[pos] ^= 0x01;
        std::fs::write(dir.path().join(LOG), &bad).unwrap();
        match EmbeddedStore::open(dir.path(), EmbeddedOptions::default()) {
            Err(StorageError::Corrupt(msg)) => {
                assert!(msg.contains("refusing"), "{what}: {msg}");
            }
            other => panic!("{what}: expected corruption, got {other:?}"),
        }
        // the file is left untouched for inspection
        assert_eq!(std::fs::read(dir.path().join(LOG)).unwrap(), bad);
    }
    // garbage that is not a frame in the middle
    let mut bad = pristine.clone();
    bad.splice(mid..mid, [0xffu8; 16]);
    std::fs::write(dir.path().join(LOG), &bad).unwrap();
    assert!(matches!(
        EmbeddedStore::open(dir.path(), EmbeddedOptions::default()),
        Err(StorageError::Corrupt(_))
    ));
    // not a log at all
    std::fs::write(dir.path().join(LOG), b"hello world, not a log").unwrap();
    assert!(matches!(
        EmbeddedStore::open(dir.path(), EmbeddedOptions::default()),
        Err(StorageError::Corrupt(_))
    ));
    std::fs::write(dir.path().join(LOG), &pristine).unwrap();
    let s = open(dir.path());
    assert_eq!(s.current_revision().await.unwrap(), 30);
}

#[tokio::test]
async fn compaction_rewrites_the_log_and_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let value = Bytes::from(vec![b'v'; 1000]);
    let s = open(dir.path());
    for round in 0..20 {
        for i in 0..10 {
            let key = format!("/k/{i}");
            if round == 0 {
                s.create(&key, value.clone()).await.unwrap();
            } else {
                s.update(&key, value.clone(), None).await.unwrap();
            }
        }
    }
    s.delete("/k/0", None).await.unwrap(); // 201
    let before = log_len(dir.path());
    let at_195 = s.range("", None, 0, Some(195)).await.unwrap();
    s.compact(195).await.unwrap();
    let after = log_len(dir.path());
    assert!(after * 5 < before, "log not shrunk: {before} -> {after}");
    assert_eq!(s.stats().rewrites, 1);
    // writes after the rewrite go to the new file
    s.create("/k/new", b("n")).await.unwrap(); // 202
    let now = dump(&s).await;
    drop(s);
    assert!(!dir.path().join("kiln.wal.tmp").exists());

    let s = open(dir.path());
    assert_eq!(s.compacted_revision().await.unwrap(), 195);
    assert_eq!(s.current_revision().await.unwrap(), 202);
    assert_eq!(dump(&s).await, now);
    assert_eq!(s.range("", None, 0, Some(195)).await.unwrap(), at_195);
    assert!(matches!(
        s.range("", None, 0, Some(194)).await,
        Err(StorageError::Compacted { .. })
    ));
    let mut w = s.watch("", 195).await.unwrap();
    let first = w.recv().await.unwrap().unwrap();
    assert_eq!(first.revision(), 196);
    assert_eq!(first.prev.unwrap().mod_revision, 186);
}

#[tokio::test]
async fn automatic_compaction_and_log_rewrite() {
    let dir = tempfile::tempdir().unwrap();
    let opts = EmbeddedOptions {
        retain_revisions: Some(100),
        log_rewrite_min_bytes: 64 * 1024,
        ..Default::default()
    };
    let value = Bytes::from(vec![b'v'; 500]);
    let s = EmbeddedStore::open(dir.path(), opts.clone()).unwrap();
    for i in 0..2000 {
        let key = format!("/k/{}", i % 20);
        if s.update(&key, value.clone(), None).await.is_err() {
            s.create(&key, value.clone()).await.unwrap();
        }
    }
    let stats = s.stats();
    assert_eq!(stats.current_revision, 2000);
    assert!(stats.compacted_revision >= 1875, "{stats:?}");
    assert!(stats.rewrites >= 1, "{stats:?}");
    // bounded: about the retained history plus one rewrite's worth of growth
    assert!(stats.log_bytes < 200 * 1024, "{stats:?}");
    assert_eq!(stats.log_bytes, log_len(dir.path()));
    let snapshot = dump(&s).await;
    let compacted = stats.compacted_revision;
    drop(s);
    let s = EmbeddedStore::open(dir.path(), opts).unwrap();
    assert_eq!(dump(&s).await, snapshot);
    assert_eq!(s.compacted_revision().await.unwrap(), compacted);
    assert_eq!(s.current_revision().await.unwrap(), 2000);
}

#[tokio::test]
async fn leftover_rewrite_file_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = open(dir.path());
        s.create("/a", b("1")).await.unwrap();
    }
    // a crash during a rewrite leaves a partial temporary file
    std::fs::write(dir.path().join("kiln.wal.tmp"), b"KILNWAL\0partial").unwrap();
    let s = open(dir.path());
    assert_eq!(s.get("/a").await.unwrap().unwrap().value, b("1"));
    assert!(!dir.path().join("kiln.wal.tmp").exists());
}
