//! Crash safety: a child process (this test binary, switched by an
//! environment variable) writes with 16 concurrent tasks and prints a line
//! for every acknowledged write; the parent kills it with SIGKILL at an
//! arbitrary moment, reopens the store and checks that every acknowledged
//! write is there, and that nothing else is except the one write per task
//! that was in flight.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use kiln::storage::{EmbeddedOptions, EmbeddedStore, KeyValue, Storage};

const CHILD_DIR_ENV: &str = "KILN_STORAGE_CRASH_CHILD_DIR";
const CHILD_ROUND_ENV: &str = "KILN_STORAGE_CRASH_CHILD_ROUND";
const TASKS: u64 = 16;

fn options() -> EmbeddedOptions {
    // small limits so compactions and log rewrites happen while we kill
    EmbeddedOptions {
        retain_revisions: Some(500),
        log_rewrite_min_bytes: 512 * 1024,
        ..Default::default()
    }
}

/// What op `i` of a task does.
#[derive(Clone, Debug, PartialEq)]
enum Op {
    Create(String),
    Update(String),
    Delete(String),
}

fn key(round: u64, task: u64, i: u64) -> String {
    format!("/crash/r{round}/t{task:02}/k{i:06}")
}

fn op(round: u64, task: u64, i: u64) -> Op {
    let decade = i - i % 10;
    match i % 10 {
        7 | 8 => Op::Update(key(round, task, decade)),
        9 => Op::Delete(key(round, task, decade + 1)),
        _ => Op::Create(key(round, task, i)),
    }
}

fn value(key: &str, i: u64) -> Bytes {
    let unit = format!("{key}@{i};");
    let len = 40 + (i * 131 % 3000) as usize;
    Bytes::from(unit.repeat(len / unit.len() + 1).into_bytes())
}

/// Child mode: write until killed. A no-op in a normal test run.
#[test]
fn crash_child() {
    let Ok(dir) = std::env::var(CHILD_DIR_ENV) else {
        return;
    };
    let round: u64 = std::env::var(CHILD_ROUND_ENV)
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(0);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let store = EmbeddedStore::open(std::path::Path::new(&dir), options()).unwrap();
        let mut tasks = Vec::new();
        for t in 0..TASKS {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0.. {
                    let (kind, rev) = match op(round, t, i) {
                        Op::Create(k) => ("C", store.create(&k, value(&k, i)).await.unwrap()),
                        Op::Update(k) => ("U", store.update(&k, value(&k, i), None).await.unwrap()),
                        Op::Delete(k) => ("D", store.delete(&k, None).await.unwrap()),
                    };
                    let line = format!("ACK {t} {i} {kind} {} END\n", rev.mod_revision);
                    let mut out = std::io::stdout().lock();
                    out.write_all(line.as_bytes()).unwrap();
                    out.flush().unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    });
}

#[derive(Clone, Debug)]
struct Ack {
    i: u64,
    rev: i64,
}

/// Runs one child until it has acknowledged `target` writes, kills it, and
/// returns every acknowledgement it printed.
fn run_child_and_kill(dir: &std::path::Path, round: u64, target: usize) -> Vec<(u64, Ack)> {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "crash_child",
            "--exact",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(CHILD_DIR_ENV, dir)
        .env(CHILD_ROUND_ENV, round.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let parts: Vec<&str> = line.split(' ').collect();
            if parts.len() == 6 && parts[0] == "ACK" && parts[5] == "END" {
                let ack = (
                    parts[1].parse::<u64>().unwrap(),
                    Ack {
                        i: parts[2].parse().unwrap(),
                        rev: parts[4].parse().unwrap(),
                    },
                );
                if tx.send(ack).is_err() {
                    break;
                }
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut acks = Vec::new();
    while acks.len() < target {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(a) => acks.push(a),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if let Some(status) = child.try_wait().unwrap() {
                    panic!("child exited early with {status} after {} acks", acks.len());
                }
                assert!(
                    Instant::now() < deadline,
                    "child too slow: {} acks",
                    acks.len()
                );
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                panic!("child closed stdout after {} acks", acks.len())
            }
        }
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    reader.join().unwrap();
    acks.extend(rx.try_iter());
    acks
}

#[tokio::test]
async fn acknowledged_writes_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    // the verified state after the previous rounds (later rounds never touch
    // an earlier round's keys, so it must stay exactly as it is)
    let mut baseline: HashMap<String, KeyValue> = HashMap::new();
    for (round, target) in [(0u64, 300usize), (1, 2000), (2, 900), (3, 4000)] {
        let acks = run_child_and_kill(dir.path(), round, target);
        assert!(acks.len() >= target);
        // per key of this round: the last acknowledged op
        let mut expected: HashMap<String, (u64, i64, Op)> = HashMap::new();
        let mut next_per_task: HashMap<u64, u64> = HashMap::new();
        let mut revs = std::collections::HashSet::new();
        for (t, ack) in &acks {
            assert!(
                revs.insert(ack.rev),
                "revision {} acknowledged twice",
                ack.rev
            );
            let o = op(round, *t, ack.i);
            expected.insert(op_key(&o).to_string(), (ack.i, ack.rev, o));
            let next = next_per_task.entry(*t).or_insert(0);
            *next = (*next).max(ack.i + 1);
        }
        // the one op per task that may have been durable but unacknowledged
        let in_flight: HashMap<String, (u64, Op)> = (0..TASKS)
            .map(|t| {
                let i = next_per_task.get(&t).copied().unwrap_or(0);
                let o = op(round, t, i);
                (op_key(&o).to_string(), (i, o))
            })
            .collect();

        let store = EmbeddedStore::open(dir.path(), options()).unwrap();
        let current = store.current_revision().await.unwrap();
        let max_acked = acks.iter().map(|(_, a)| a.rev).max().unwrap();
        assert!(
            current >= max_acked,
            "current {current} < acknowledged {max_acked}"
        );
        let actual: HashMap<String, KeyValue> = store
            .range("/crash/", None, 0, None)
            .await
            .unwrap()
            .kvs
            .into_iter()
            .map(|kv| (kv.key.clone(), kv))
            .collect();
        store.close().await;
        drop(store);

        let this_round = format!("/crash/r{round}/");
        for (k, kv) in &baseline {
            assert_eq!(
                actual.get(k),
                Some(kv),
                "round {round}: earlier key changed"
            );
        }
        for (k, (i, rev, o)) in &expected {
            let got = actual.get(k);
            let as_acked = match o {
                Op::Delete(_) => got.is_none(),
                Op::Create(_) | Op::Update(_) => {
                    got.is_some_and(|kv| kv.mod_revision == *rev && kv.value == value(k, *i))
                }
            };
            if as_acked {
                continue;
            }
            let Some((fi, fo)) = in_flight.get(k) else {
                panic!("round {round}: acknowledged {o:?} (op {i}, rev {rev}) lost: {got:?}");
            };
            let as_in_flight = match fo {
                Op::Delete(_) => got.is_none(),
                Op::Create(_) | Op::Update(_) => {
                    got.is_some_and(|kv| kv.mod_revision > *rev && kv.value == value(k, *fi))
                }
            };
            assert!(
                as_in_flight,
                "round {round}: {k}: neither acknowledged {o:?} nor in-flight {fo:?}: {got:?}"
            );
        }
        for (k, kv) in &actual {
            if baseline.contains_key(k) || expected.contains_key(k) {
                continue;
            }
            assert!(k.starts_with(&this_round), "unexpected key {k}");
            match in_flight.get(k) {
                Some((fi, Op::Create(_))) => assert_eq!(kv.value, value(k, *fi)),
                _ => panic!("round {round}: unexpected key {k}"),
            }
        }
        let differing = expected
            .iter()
            .filter(|(k, (i, rev, _))| {
                actual
                    .get(*k)
                    .is_some_and(|kv| kv.mod_revision != *rev || kv.value != value(k, *i))
            })
            .count();
        eprintln!(
            "round {round}: {} acks, revision {current}, {} keys, {differing} keys ahead of their ack",
            acks.len(),
            actual.len()
        );
        assert!(actual.keys().filter(|k| k.starts_with(&this_round)).count() > target / 2);
        baseline = actual;
    }
}

fn op_key(o: &Op) -> &str {
    match o {
        Op::Create(k) | Op::Update(k) | Op::Delete(k) => k,
    }
}
