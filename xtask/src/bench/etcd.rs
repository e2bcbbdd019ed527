//! `etcd`: creates through Kiln on a real one-member etcd vs the same etcd transaction sent
//! by a bare etcd client, with the same number of concurrent writers, in alternating rounds.
//!
//! The baseline writes keys under `/registry/configmaps/` with exactly the bytes Kiln stored
//! for a ConfigMap of the create load (read back from etcd), each with the transaction a
//! create is: put if the key's create revision is 0, else read it. Kiln then serves
//! `--storage=etcd` against the same etcd and takes HTTP creates over keep-alive
//! connections from the harness's client, as the `create` scenario does on the embedded
//! store.

use std::io;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use etcd_client::{Client, Compare, CompareOp, Txn, TxnOp};

use super::client;
use super::run::{
    Proc, Row, Server, WRITERS, check_errors, configmap, cpu_time, err, expect_status, fmt_rate,
    free_addr, namespace_request, per_create, row_at_least, say,
};

/// The issue's target: Kiln's creates/s at least this share of the raw transaction rate.
const TARGET: f64 = 0.70;
const METRIC: &str = "create on etcd vs raw etcd txn (/s)";
const NAMESPACE: &str = "bench-etcd";
/// Alternating rounds (ABBA: baseline and Kiln, then Kiln and baseline), best of each reported.
const ROUNDS: usize = 2;

/// Whether an `etcd` binary is on PATH.
pub fn available() -> bool {
    Command::new("etcd")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The row printed when there is no etcd to measure against.
pub fn skipped() -> Row {
    say("etcd: SKIPPED, no `etcd` binary on PATH (Debian: apt-get install etcd-server)");
    Row {
        metric: METRIC.into(),
        measured: "-".into(),
        baseline: "no etcd".into(),
        ratio: "-".into(),
        target: format!(">= {TARGET:.2}"),
        pass: None,
        skipped: true,
    }
}

/// A one-member etcd on free loopback ports with its data in `dir`, killed when dropped.
struct Etcd {
    _proc: Proc,
    url: String,
}

impl Etcd {
    fn pid(&self) -> u32 {
        self._proc.0.id()
    }

    fn start(dir: &Path) -> io::Result<Etcd> {
        std::fs::create_dir_all(dir)?;
        let (client, peer) = (free_addr()?, free_addr()?);
        let client_url = format!("http://{client}");
        let peer_url = format!("http://{peer}");
        let log = std::fs::File::create(dir.join("etcd.log"))?;
        let child = Command::new("etcd")
            .args(["--name", "bench"])
            .arg("--data-dir")
            .arg(dir.join("data"))
            .args(["--listen-client-urls", &client_url])
            .args(["--advertise-client-urls", &client_url])
            .args(["--listen-peer-urls", &peer_url])
            .args(["--initial-advertise-peer-urls", &peer_url])
            .args(["--initial-cluster", &format!("bench={peer_url}")])
            .args(["--initial-cluster-state", "new"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()?;
        Ok(Etcd {
            _proc: Proc(child),
            url: client_url,
        })
    }

    /// A client once etcd answers (it elects itself within a second or two).
    async fn client(&self) -> io::Result<Client> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let attempt = async {
                let mut c = Client::connect([self.url.as_str()], None).await?;
                c.get("health", None).await?;
                Ok::<_, etcd_client::Error>(c)
            };
            match tokio::time::timeout(Duration::from_secs(2), attempt).await {
                Ok(Ok(c)) => return Ok(c),
                Ok(Err(e)) if Instant::now() > deadline => {
                    return Err(err(format!("etcd at {} is not answering: {e}", self.url)));
                }
                Err(_) if Instant::now() > deadline => {
                    return Err(err(format!("etcd at {} is not answering", self.url)));
                }
                _ => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }
}

/// Runs the scenario: one etcd, Kiln on it, `ROUNDS` alternating rounds.
pub fn measure(
    rt: &tokio::runtime::Runtime,
    kiln: &Path,
    scratch: &Path,
    warmup: Duration,
    window: Duration,
) -> io::Result<(Row, u64)> {
    say(&format!(
        "etcd: {WRITERS} concurrent writers, one-member etcd on loopback; kiln --storage=etcd vs the create transaction sent directly"
    ));
    let etcd = Etcd::start(&scratch.join("etcd"))?;
    let etcd_client = rt.block_on(etcd.client())?;
    let (server, took) = Server::start_with(
        kiln,
        &scratch.join("kiln-etcd"),
        &[
            "--storage=etcd".to_string(),
            format!("--etcd-servers={}", etcd.url),
        ],
    )?;
    say(&format!("  etcd at {}, kiln ready in {took:?}", etcd.url));
    let addr = server.addr;
    let ns = namespace_request(addr, NAMESPACE);
    expect_status(&rt.block_on(client::once(addr, &ns))?, 201, "namespace")?;
    // The bytes Kiln stores for a ConfigMap of the load, with a name of the same length.
    let path = format!("/api/v1/namespaces/{NAMESPACE}/configmaps");
    let probe = name("p", 0, 0);
    let created = rt.block_on(client::once(
        addr,
        &client::request("POST", addr, &path, Some(&configmap(&probe))),
    ))?;
    expect_status(&created, 201, "creating the probe ConfigMap")?;
    let probe_key = format!("/registry/configmaps/{NAMESPACE}/{probe}");
    let value = rt.block_on(async {
        let mut c = etcd_client.clone();
        let r = c
            .get(probe_key.as_str(), None)
            .await
            .map_err(|e| err(format!("reading {probe_key} from etcd: {e}")))?;
        r.kvs()
            .first()
            .map(|kv| Bytes::copy_from_slice(kv.value()))
            .ok_or_else(|| err(format!("{probe_key} is not in etcd after its create")))
    })?;
    if !value.starts_with(b"k8s\0") {
        return Err(err(format!(
            "{probe_key} is not stored as protobuf in the k8s envelope"
        )));
    }
    say(&format!(
        "  a created ConfigMap is {} bytes in etcd",
        value.len()
    ));

    let make_create = |round: usize, phase: &'static str| -> client::MakeRequest {
        let path = path.clone();
        Arc::new(move |i| {
            Bytes::from(client::request(
                "POST",
                addr,
                &path,
                Some(&configmap(&name(phase, round, i))),
            ))
        })
    };
    let (mut best_raw, mut best_kiln) = (0.0f64, 0.0f64);
    let mut created = 2;
    // CPU per create of the process doing the creates (the harness for the baseline, Kiln
    // for Kiln) and of etcd: unlike the rates, barely moved by other load on the machine.
    let harness_pid = std::process::id();
    // Rounds in ABBA order (baseline first in even rounds, Kiln first in odd ones): etcd
    // slows down as its keyspace grows, which would otherwise always favour whichever
    // side runs first in a round.
    for round in 0..ROUNDS {
        for kiln_turn in [round % 2 == 1, round % 2 == 0] {
            if kiln_turn {
                let warm = rt.block_on(client::load(
                    addr,
                    WRITERS,
                    warmup,
                    None,
                    201,
                    make_create(round, "w"),
                ))?;
                let pids = [server.pid(), etcd.pid()];
                let before = pids.map(cpu_time);
                let creates = rt.block_on(client::load(
                    addr,
                    WRITERS,
                    window,
                    None,
                    201,
                    make_create(round, "c"),
                ))?;
                let cpu = used(&before, &pids.map(cpu_time));
                check_errors(&creates, "kiln creates on etcd")?;
                created += warm.ok + creates.ok;
                say(&round_line(
                    round,
                    "kiln on etcd",
                    &creates,
                    ["kiln", "etcd"],
                    cpu,
                ));
                best_kiln = best_kiln.max(creates.per_second());
            } else {
                let (raw, cpu) = rt.block_on(raw_creates(
                    &etcd_client,
                    value.clone(),
                    round,
                    warmup,
                    window,
                    &[harness_pid, etcd.pid()],
                ))?;
                say(&round_line(
                    round,
                    "raw etcd txn",
                    &raw,
                    ["client", "etcd"],
                    cpu,
                ));
                best_raw = best_raw.max(raw.per_second());
            }
        }
    }
    drop(server);
    drop(etcd);
    Ok((
        row_at_least(METRIC, best_kiln, best_raw, TARGET, fmt_rate),
        created,
    ))
}

/// An object name of fixed length: `phase`, round, request number.
fn name(phase: &str, round: usize, i: u64) -> String {
    format!("{phase}{round}-{i:07}")
}

/// CPU each process used between two samples of [`cpu_time`].
fn used<const N: usize>(
    before: &[Option<Duration>; N],
    after: &[Option<Duration>; N],
) -> [Option<Duration>; N] {
    std::array::from_fn(|i| Some(after[i]?.saturating_sub(before[i]?)))
}

/// `WRITERS` tasks sending Kiln's create transaction straight to etcd over one client
/// (one HTTP/2 connection, as Kiln has): a warm-up, then the timed window, with the CPU
/// the processes `pids` used during the window.
/// One round's line: rate, latency percentiles and the CPU each timed process used per
/// create.
fn round_line(
    round: usize,
    what: &str,
    r: &client::LoadResult,
    names: [&str; 2],
    cpu: [Option<Duration>; 2],
) -> String {
    format!(
        "  round {}: {what:<14} {:>9.0} creates/s  p50 {:.2} ms  p99 {:.2} ms  CPU µs/create: {} {} {} {}",
        round + 1,
        r.per_second(),
        r.percentile_ms(0.5),
        r.percentile_ms(0.99),
        names[0],
        per_create(cpu[0], r.ok),
        names[1],
        per_create(cpu[1], r.ok),
    )
}

async fn raw_creates(
    client: &Client,
    value: Bytes,
    round: usize,
    warmup: Duration,
    window: Duration,
    pids: &[u32; 2],
) -> io::Result<(client::LoadResult, [Option<Duration>; 2])> {
    let mut result = None;
    let mut cpu = [None, None];
    for (phase, d) in [("rw", warmup), ("r", window)] {
        let before = pids.map(cpu_time);
        let next = Arc::new(AtomicU64::new(0));
        let start = Instant::now();
        let deadline = start + d;
        let mut tasks = Vec::with_capacity(WRITERS);
        for _ in 0..WRITERS {
            let (mut client, next, value) = (client.clone(), next.clone(), value.clone());
            tasks.push(tokio::spawn(async move {
                let mut lat = Vec::with_capacity(64 * 1024);
                while Instant::now() < deadline {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let key = format!("/registry/configmaps/{NAMESPACE}/{}", name(phase, round, i));
                    let txn = create_txn(key.into_bytes(), value.to_vec());
                    let t = Instant::now();
                    let resp = client
                        .txn(txn)
                        .await
                        .map_err(|e| err(format!("etcd txn: {e}")))?;
                    if !resp.succeeded() {
                        return Err(err("etcd txn: the key already existed"));
                    }
                    lat.push(u32::try_from(t.elapsed().as_micros()).unwrap_or(u32::MAX));
                }
                Ok::<_, io::Error>(lat)
            }));
        }
        let mut lat = Vec::new();
        for t in tasks {
            lat.extend(t.await.map_err(io::Error::other)??);
        }
        let elapsed = start.elapsed();
        cpu = used(&before, &pids.map(cpu_time));
        lat.sort_unstable();
        result = Some(client::LoadResult {
            ok: lat.len() as u64,
            errors: 0,
            first_error: None,
            elapsed,
            latencies_us: lat,
        });
    }
    result
        .map(|r| (r, cpu))
        .ok_or_else(|| err("no raw etcd measurement"))
}

/// A create as an etcd transaction: put if absent (create revision 0), else read the key.
fn create_txn(key: Vec<u8>, value: Vec<u8>) -> Txn {
    Txn::new()
        .when([Compare::create_revision(key.clone(), CompareOp::Equal, 0)])
        .and_then([TxnOp::put(key.clone(), value, None)])
        .or_else([TxnOp::get(key, None)])
}
