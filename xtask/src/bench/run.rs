//! The measurements of `cargo xtask bench` and the table they print.

use std::fmt::Write as _;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use kiln::storage::Storage;
use kiln::storage::embedded::{EmbeddedOptions, EmbeddedStore};

use super::Options;
use super::client::{self, LoadResult};

/// Connections of the HTTP load (wrk's `-c 16` of the reference measurement).
const CONNECTIONS: usize = 16;
/// Concurrent writers of the create measurements.
pub(super) const WRITERS: usize = 16;
/// Objects in the LIST measurement.
const LIST_ITEMS: u64 = 10_000;
/// Timed LIST requests (and serialisations); the median is reported.
const LIST_SAMPLES: usize = 7;
/// Fresh starts timed for startup; the median is reported.
const STARTS: usize = 5;
/// The reference peer: 11.2k GET/s with wrk (2 threads, 16 connections) on this machine.
const PEER_GET_PER_SECOND: f64 = 11_200.0;

/// One line of the result table.
pub struct Row {
    pub metric: String,
    pub measured: String,
    pub baseline: String,
    pub ratio: String,
    pub target: String,
    pub pass: Option<bool>,
    /// Not measured (a missing prerequisite); printed as SKIP.
    pub skipped: bool,
}

pub(super) fn err(msg: impl Into<String>) -> io::Error {
    io::Error::other(msg.into())
}

/// What every section shares.
struct Ctx {
    rt: tokio::runtime::Runtime,
    exe: PathBuf,
    scratch: tempfile::TempDir,
    server: Server,
    window: Duration,
    warmup: Duration,
    /// `default/bench-get` as kiln answers it.
    sample: client::Response,
    created: u64,
}

/// Runs the selected measurements, prints the table, and returns its rows.
pub fn run(opts: &Options) -> io::Result<Vec<Row>> {
    let exe = std::env::current_exe()?;
    let bin_dir = exe
        .parent()
        .ok_or_else(|| err("cannot locate the build directory"))?;
    let kiln = bin_dir.join("kiln");
    if !kiln.is_file() {
        return Err(err(format!(
            "{} is missing: run `cargo build --release -p kiln-server` (or `cargo xtask bench`)",
            kiln.display()
        )));
    }
    let want = |s: &str| opts.only.iter().any(|o| o == s);
    let kiln_path = kiln.clone();
    let window = Duration::from_secs(opts.duration);
    let scratch = tempfile::Builder::new().prefix("kiln-bench-").tempdir()?;
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    say(&format!(
        "kiln {} | {cores} cores | load average {} | {} s windows | scratch {}",
        kiln.display(),
        load_average(),
        opts.duration,
        scratch.path().display()
    ));
    let started = Instant::now();
    let mut rows = Vec::new();

    // Startup and idle memory, each on an empty data directory.
    let mut startup = None;
    if want("startup") {
        say("startup: spawn → /readyz 200 on an empty data dir");
        let mut starts = Vec::new();
        for i in 0..STARTS {
            let (server, took) = Server::start(&kiln, &scratch.path().join(format!("start-{i}")))?;
            starts.push(took);
            drop(server);
        }
        starts.sort();
        say(&format!("  {starts:?}"));
        startup = Some(starts[starts.len() / 2]);
    }
    let (server, took) = Server::start(&kiln, &scratch.path().join("main"))?;
    let mut idle_rss = None;
    if want("startup") {
        std::thread::sleep(Duration::from_secs(2));
        let rss = server.rss_kib()?;
        say(&format!(
            "  main server ready in {took:?}, VmRSS after 2 s idle {:.1} MiB",
            kib_to_mib(rss)
        ));
        idle_rss = Some(rss);
    }

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores.min(2))
        .enable_all()
        .build()?;
    let addr = server.addr;
    let created = rt.block_on(client::once(
        addr,
        &client::request(
            "POST",
            addr,
            "/api/v1/namespaces/default/configmaps",
            Some(&configmap("bench-get")),
        ),
    ))?;
    expect_status(&created, 201, "creating default/bench-get")?;
    let sample = rt.block_on(client::once(
        addr,
        &client::request("GET", addr, GET_PATH, None),
    ))?;
    expect_status(&sample, 200, "reading default/bench-get")?;
    let mut ctx = Ctx {
        rt,
        exe,
        scratch,
        server,
        window,
        warmup: window.min(Duration::from_secs(1)),
        sample,
        created: 1,
    };
    if want("get") {
        rows.extend(measure_get(&ctx)?);
    }
    if want("create") {
        rows.push(measure_create(&mut ctx)?);
    }
    if want("list") {
        rows.push(measure_list(&mut ctx)?);
    }
    if want("watchers") {
        let server = &ctx.server;
        rows.extend(super::watchers::measure(&ctx.rt, server.addr, &|| {
            server.rss_kib()
        })?);
    }
    if want("etcd") {
        if super::etcd::available() {
            let (row, created) = super::etcd::measure(
                &ctx.rt,
                &kiln_path,
                ctx.scratch.path(),
                ctx.warmup,
                ctx.window,
            )?;
            ctx.created += created;
            rows.push(row);
        } else {
            rows.push(super::etcd::skipped());
        }
    }
    let loaded_rss = ctx.server.rss_kib()?;
    if let Some(rss) = idle_rss {
        rows.push(Row {
            metric: "idle RSS (MiB)".into(),
            measured: format!("{:.1}", kib_to_mib(rss)),
            baseline: "-".into(),
            ratio: "-".into(),
            target: "<= 25".into(),
            pass: Some(kib_to_mib(rss) <= 25.0),
            skipped: false,
        });
    }
    if let Some(startup) = startup {
        rows.push(Row {
            metric: "startup to /readyz (ms)".into(),
            measured: format!("{:.1}", ms(startup)),
            baseline: "-".into(),
            ratio: "-".into(),
            target: "<= 100".into(),
            pass: Some(ms(startup) <= 100.0),
            skipped: false,
        });
    }
    print_table(&rows);
    say(&format!(
        "server VmRSS at the end {:.1} MiB; {} objects created; took {:.0} s; load average now {}",
        kib_to_mib(loaded_rss),
        ctx.created,
        started.elapsed().as_secs_f64(),
        load_average()
    ));
    Ok(rows)
}

const GET_PATH: &str = "/api/v1/namespaces/default/configmaps/bench-get";

/// GET of one ConfigMap: kiln vs a bare actix-web server returning the same bytes, two
/// alternating rounds each, best round reported.
fn measure_get(ctx: &Ctx) -> io::Result<Vec<Row>> {
    say("get: one ConfigMap, 16 keep-alive connections");
    let (rt, addr) = (&ctx.rt, ctx.server.addr);
    let bytes_file = ctx.scratch.path().join("get-body.json");
    std::fs::write(&bytes_file, &ctx.sample.body)?;
    let bare = BareServer::start(&ctx.exe, GET_PATH, &bytes_file)?;
    let same = rt.block_on(client::once(
        bare.addr,
        &client::request("GET", bare.addr, GET_PATH, None),
    ))?;
    if same.body != ctx.sample.body {
        return Err(err("the bare server does not return kiln's bytes"));
    }
    let mut best_bare: Option<LoadResult> = None;
    let mut best_kiln: Option<LoadResult> = None;
    for round in 0..2 {
        for (name, target, best) in [
            ("bare actix-web", bare.addr, &mut best_bare),
            ("kiln", addr, &mut best_kiln),
        ] {
            let req = Bytes::from(client::request("GET", target, GET_PATH, None));
            let make: client::MakeRequest = Arc::new(move |_| req.clone());
            rt.block_on(client::load(
                target,
                CONNECTIONS,
                ctx.warmup,
                None,
                200,
                make.clone(),
            ))?;
            let r = rt.block_on(client::load(
                target,
                CONNECTIONS,
                ctx.window,
                None,
                200,
                make,
            ))?;
            check_errors(&r, name)?;
            say(&format!(
                "  round {}: {name:<15} {:>9.0} req/s  p50 {:.2} ms  p99 {:.2} ms",
                round + 1,
                r.per_second(),
                r.percentile_ms(0.5),
                r.percentile_ms(0.99)
            ));
            if best
                .as_ref()
                .is_none_or(|b| r.per_second() > b.per_second())
            {
                *best = Some(r);
            }
        }
    }
    drop(bare);
    let (Some(best_bare), Some(best_kiln)) = (best_bare, best_kiln) else {
        return Err(err("no GET measurement"));
    };
    let (kiln_get, bare_get) = (best_kiln.per_second(), best_bare.per_second());
    Ok(vec![
        row_at_least(
            "GET 1 ConfigMap (req/s) vs bare actix",
            kiln_get,
            bare_get,
            0.40,
            fmt_rate,
        ),
        row_at_least(
            "GET 1 ConfigMap (req/s) vs peer (wrk)",
            kiln_get,
            PEER_GET_PER_SECOND,
            1.50,
            fmt_rate,
        ),
    ])
}

/// Creates: 16 clients POSTing vs 16 tasks creating in the embedded store directly, two
/// alternating rounds each (fsync latency swings with other disk traffic), best reported.
fn measure_create(ctx: &mut Ctx) -> io::Result<Row> {
    say("create: 16 concurrent writers, durable (fsync) store");
    let (rt, addr) = (&ctx.rt, ctx.server.addr);
    let ns = namespace_request(addr, "bench-create");
    expect_status(&rt.block_on(client::once(addr, &ns))?, 201, "namespace")?;
    let create_path = "/api/v1/namespaces/bench-create/configmaps";
    let make_create = |round: usize, phase: &'static str| -> client::MakeRequest {
        Arc::new(move |i| {
            let name = format!("{phase}{round}-{i:07}");
            Bytes::from(client::request(
                "POST",
                addr,
                create_path,
                Some(&configmap(&name)),
            ))
        })
    };
    let (mut best_store, mut best_kiln) = (0.0f64, 0.0f64);
    for round in 0..2 {
        let store_dir = ctx
            .scratch
            .path()
            .join(format!("embedded-baseline-{round}"));
        let store_rate = rt.block_on(store_creates(
            &store_dir,
            ctx.sample.body.clone(),
            ctx.warmup,
            ctx.window,
        ))?;
        say(&format!(
            "  round {}: embedded store {store_rate:>9.0} creates/s",
            round + 1
        ));
        best_store = best_store.max(store_rate);
        let warm = rt.block_on(client::load(
            addr,
            WRITERS,
            ctx.warmup,
            None,
            201,
            make_create(round, "warm"),
        ))?;
        // Kiln's CPU per create: unlike the rate, barely moved by other load on the machine.
        let pid = ctx.server.pid();
        let before = cpu_time(pid);
        let creates = rt.block_on(client::load(
            addr,
            WRITERS,
            ctx.window,
            None,
            201,
            make_create(round, "c"),
        ))?;
        let cpu = before.zip(cpu_time(pid)).map(|(b, a)| a.saturating_sub(b));
        check_errors(&creates, "kiln creates")?;
        ctx.created += warm.ok + creates.ok;
        say(&format!(
            "  round {}: kiln           {:>9.0} creates/s  p50 {:.2} ms  p99 {:.2} ms  CPU µs/create: kiln {}",
            round + 1,
            creates.per_second(),
            creates.percentile_ms(0.5),
            creates.percentile_ms(0.99),
            match cpu {
                Some(d) if creates.ok > 0 =>
                    format!("{:.0}", d.as_secs_f64() * 1e6 / creates.ok as f64),
                _ => "?".into(),
            }
        ));
        best_kiln = best_kiln.max(creates.per_second());
    }
    Ok(row_at_least(
        "create ConfigMap (/s) vs embedded store",
        best_kiln,
        best_store,
        0.50,
        fmt_rate,
    ))
}

/// LIST of 10,000 ConfigMaps (median of several) vs serde_json serialising the same list.
fn measure_list(ctx: &mut Ctx) -> io::Result<Row> {
    say(&format!("list: {LIST_ITEMS} ConfigMaps as JSON"));
    let (rt, addr) = (&ctx.rt, ctx.server.addr);
    let ns = namespace_request(addr, "bench-list");
    expect_status(&rt.block_on(client::once(addr, &ns))?, 201, "namespace")?;
    let fill_path = "/api/v1/namespaces/bench-list/configmaps";
    let fill: client::MakeRequest = Arc::new(move |i| {
        Bytes::from(client::request(
            "POST",
            addr,
            fill_path,
            Some(&configmap(&format!("item-{i:05}"))),
        ))
    });
    let filled = rt.block_on(client::load(
        addr,
        WRITERS,
        Duration::from_secs(600),
        Some(LIST_ITEMS),
        201,
        fill,
    ))?;
    check_errors(&filled, "filling the list namespace")?;
    ctx.created += filled.ok;
    let list_req = client::request("GET", addr, fill_path, None);
    let (list_time, list_body) = rt.block_on(async {
        let mut conn = client::Conn::connect(addr).await?;
        let mut times = Vec::new();
        let mut last = None;
        for i in 0..=LIST_SAMPLES {
            let t = Instant::now();
            let r = conn.roundtrip(&list_req).await?;
            let took = t.elapsed();
            expect_status(&r, 200, "LIST")?;
            if i > 0 {
                times.push(took);
            }
            last = Some(r.body);
        }
        times.sort();
        Ok::<_, io::Error>((times[times.len() / 2], last.unwrap_or_default()))
    })?;
    let list: serde_json::Value = serde_json::from_slice(&list_body)
        .map_err(|e| err(format!("LIST answer is not JSON: {e}")))?;
    let items = list
        .get("items")
        .and_then(serde_json::Value::as_array)
        .map_or(0, Vec::len);
    if items as u64 != LIST_ITEMS {
        return Err(err(format!(
            "LIST returned {items} items, not {LIST_ITEMS}"
        )));
    }
    let mut times = Vec::new();
    let mut size = 0;
    for i in 0..=LIST_SAMPLES {
        let t = Instant::now();
        let out = serde_json::to_vec(&list).map_err(|e| err(e.to_string()))?;
        let took = t.elapsed();
        size = std::hint::black_box(out).len();
        if i > 0 {
            times.push(took);
        }
    }
    times.sort();
    let serde_time = times[times.len() / 2];
    say(&format!(
        "  kiln LIST {:.1} ms ({:.1} MB); serde_json::to_vec {:.1} ms ({:.1} MB)",
        ms(list_time),
        list_body.len() as f64 / 1e6,
        ms(serde_time),
        size as f64 / 1e6
    ));
    Ok(row_at_most(
        "LIST 10k ConfigMaps (ms) vs serde_json",
        ms(list_time),
        ms(serde_time),
        2.0,
        |v| format!("{v:.1}"),
    ))
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// CPU time (user + system, all threads) a process has used so far, from
/// `/proc/PID/stat` (clock ticks of 10 ms, Linux's `USER_HZ`); None where unreadable.
/// CPU time per create in µs, as printed next to a round's rate ("?" when unknown).
pub(super) fn per_create(cpu: Option<Duration>, n: u64) -> String {
    match cpu {
        Some(d) if n > 0 => format!("{:.0}", d.as_secs_f64() * 1e6 / n as f64),
        _ => "?".into(),
    }
}

pub(super) fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(Duration::from_millis((utime + stime) * 10))
}

pub(super) fn say(msg: &str) {
    eprintln!("bench: {msg}");
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn kib_to_mib(k: u64) -> f64 {
    k as f64 / 1024.0
}

pub(super) fn fmt_rate(v: f64) -> String {
    format!("{v:.0}")
}

pub(super) fn row_at_least(
    metric: &str,
    measured: f64,
    baseline: f64,
    min: f64,
    f: fn(f64) -> String,
) -> Row {
    let ratio = measured / baseline;
    Row {
        metric: metric.into(),
        measured: f(measured),
        baseline: f(baseline),
        ratio: format!("{ratio:.2}"),
        target: format!(">= {min:.2}"),
        pass: Some(ratio >= min),
        skipped: false,
    }
}

fn row_at_most(
    metric: &str,
    measured: f64,
    baseline: f64,
    max: f64,
    f: impl Fn(f64) -> String,
) -> Row {
    let ratio = measured / baseline;
    Row {
        metric: metric.into(),
        measured: f(measured),
        baseline: f(baseline),
        ratio: format!("{ratio:.2}"),
        target: format!("<= {max:.2}"),
        pass: Some(ratio <= max),
        skipped: false,
    }
}

fn print_table(rows: &[Row]) {
    let head = [
        "metric", "measured", "baseline", "ratio", "target", "result",
    ];
    let cells: Vec<[String; 6]> = rows
        .iter()
        .map(|r| {
            [
                r.metric.clone(),
                r.measured.clone(),
                r.baseline.clone(),
                r.ratio.clone(),
                r.target.clone(),
                match r.pass {
                    _ if r.skipped => "SKIP".into(),
                    Some(true) => "PASS".into(),
                    Some(false) => "FAIL".into(),
                    None => "-".into(),
                },
            ]
        })
        .collect();
    let mut width = head.map(str::len);
    for c in &cells {
        for (w, s) in width.iter_mut().zip(c) {
            *w = (*w).max(s.chars().count());
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, c: &[String]| {
        for (i, (s, w)) in c.iter().zip(width).enumerate() {
            let pad = w - s.chars().count();
            if i == 0 {
                let _ = write!(out, "{s}{}", " ".repeat(pad));
            } else {
                let _ = write!(out, "  {}{s}", " ".repeat(pad));
            }
        }
        out.push('\n');
    };
    line(&mut out, &head.map(String::from));
    line(&mut out, &width.map(|w| "-".repeat(w)));
    for c in &cells {
        line(&mut out, c);
    }
    print!("\n{out}\n");
    let _ = io::stdout().flush();
}

/// A ConfigMap of typical size (about 400 bytes stored).
pub(super) fn configmap(name: &str) -> Vec<u8> {
    format!(
        r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"{name}","labels":{{"app.kubernetes.io/name":"bench","app.kubernetes.io/part-of":"kiln"}},"annotations":{{"bench.kiln.dev/purpose":"load"}}}},"data":{{"LOG_LEVEL":"info","greeting":"hello, world","config.yaml":"server:\n  port: 8080\n  replicas: 3\nfeatures:\n  - alpha\n  - beta\n"}}}}"#
    )
    .into_bytes()
}

pub(super) fn namespace_request(addr: SocketAddr, name: &str) -> Vec<u8> {
    let body =
        format!(r#"{{"apiVersion":"v1","kind":"Namespace","metadata":{{"name":"{name}"}}}}"#);
    client::request("POST", addr, "/api/v1/namespaces", Some(body.as_bytes()))
}

pub(super) fn expect_status(r: &client::Response, status: u16, what: &str) -> io::Result<()> {
    if r.status == status {
        return Ok(());
    }
    Err(err(format!(
        "{what}: status {} (expected {status}): {}",
        r.status,
        String::from_utf8_lossy(&r.body[..r.body.len().min(500)])
    )))
}

pub(super) fn check_errors(r: &LoadResult, what: &str) -> io::Result<()> {
    if r.errors == 0 && r.ok > 0 {
        return Ok(());
    }
    Err(err(format!(
        "{what}: {} ok, {} failed; first failure: {}",
        r.ok,
        r.errors,
        r.first_error.as_deref().unwrap_or("-")
    )))
}

/// Durable creates per second of the embedded store itself, `WRITERS` tasks.
async fn store_creates(
    dir: &Path,
    value: Bytes,
    warmup: Duration,
    window: Duration,
) -> io::Result<f64> {
    let store = EmbeddedStore::open(dir, EmbeddedOptions::default())
        .map_err(|e| err(format!("embedded store: {e}")))?;
    let next = Arc::new(AtomicU64::new(0));
    let mut rate = 0.0;
    for (i, d) in [warmup, window].into_iter().enumerate() {
        let start = Instant::now();
        let deadline = start + d;
        let mut tasks = Vec::new();
        for _ in 0..WRITERS {
            let (store, next, value) = (store.clone(), next.clone(), value.clone());
            tasks.push(tokio::spawn(async move {
                let mut done = 0u64;
                while Instant::now() < deadline {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    let key = format!("/registry/configmaps/bench/item-{n:07}");
                    store
                        .create(&key, value.clone())
                        .await
                        .map_err(|e| err(e.to_string()))?;
                    done += 1;
                }
                Ok::<_, io::Error>(done)
            }));
        }
        let mut done = 0;
        for t in tasks {
            done += t.await.map_err(io::Error::other)??;
        }
        if i == 1 {
            rate = done as f64 / start.elapsed().as_secs_f64();
        }
    }
    store.close().await;
    Ok(rate)
}

pub(super) fn free_addr() -> io::Result<SocketAddr> {
    TcpListener::bind("127.0.0.1:0")?.local_addr()
}

/// A blocking request over a fresh connection, for probes.
fn probe(addr: SocketAddr, path: &str) -> Option<u16> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_millis(200)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).ok()?;
    let line = buf.split(|b| *b == b'\r').next()?;
    std::str::from_utf8(line)
        .ok()?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Polls `path` until it answers 200; fails if the child exits or 10 s pass.
fn wait_ok(child: &mut Child, addr: SocketAddr, path: &str, log: &Path) -> io::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if probe(addr, path) == Some(200) {
            return Ok(());
        }
        if let Some(status) = child.try_wait()? {
            let log = std::fs::read_to_string(log).unwrap_or_default();
            return Err(err(format!(
                "server exited ({status}) before serving:\n{log}"
            )));
        }
        if Instant::now() > deadline {
            return Err(err(format!("no 200 from {addr}{path} within 10 s")));
        }
        std::thread::sleep(Duration::from_micros(500));
    }
}

/// A process stopped (killed) when dropped.
pub(super) struct Proc(pub(super) Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The release `kiln` on an empty data directory, with its log in that directory.
pub(super) struct Server {
    proc: Proc,
    pub(super) addr: SocketAddr,
}

impl Server {
    /// The server's process id.
    pub(super) fn pid(&self) -> u32 {
        self.proc.0.id()
    }

    /// Starts it and returns how long spawn → `/readyz` 200 took.
    fn start(kiln: &Path, dir: &Path) -> io::Result<(Server, Duration)> {
        Server::start_with(kiln, dir, &[])
    }

    /// The same with further flags (`--storage=etcd …`).
    pub(super) fn start_with(
        kiln: &Path,
        dir: &Path,
        args: &[String],
    ) -> io::Result<(Server, Duration)> {
        std::fs::create_dir_all(dir)?;
        let addr = free_addr()?;
        let log_path: PathBuf = dir.join("kiln.log");
        let log = std::fs::File::create(&log_path)?;
        let t = Instant::now();
        let child = Command::new(kiln)
            .arg("--data-dir")
            .arg(dir.join("data"))
            .arg("--bind")
            .arg(addr.to_string())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()?;
        let mut proc = Proc(child);
        wait_ok(&mut proc.0, addr, "/readyz", &log_path)?;
        Ok((Server { proc, addr }, t.elapsed()))
    }

    /// VmRSS from `/proc/PID/status`, in KiB.
    fn rss_kib(&self) -> io::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.proc.0.id()))?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .ok_or_else(|| err("no VmRSS in /proc/PID/status"))
    }
}

/// The baseline: this harness re-run as a bare actix-web server (`--serve-bytes`).
struct BareServer {
    _proc: Proc,
    addr: SocketAddr,
}

impl BareServer {
    fn start(exe: &Path, path: &str, body: &Path) -> io::Result<BareServer> {
        let addr = free_addr()?;
        let log_path = body.with_extension("log");
        let child = Command::new(exe)
            .arg("bench")
            .arg("--serve-bytes")
            .arg(addr.to_string())
            .arg(path)
            .arg(body)
            .arg("application/json")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log_path)?)
            .spawn()?;
        let mut proc = Proc(child);
        wait_ok(&mut proc.0, addr, path, &log_path)?;
        Ok(BareServer { _proc: proc, addr })
    }
}

/// The bare actix-web server: one route answering `body` with kiln's content type and
/// cache header, on as many workers as kiln (one per core).
pub fn serve_bytes(addr: &str, path: &str, body: &Path, content_type: &str) -> io::Result<()> {
    use actix_web::{App, HttpResponse, HttpServer, web};
    let body = Bytes::from(std::fs::read(body)?);
    let content_type = content_type.to_string();
    let path = path.to_string();
    actix_web::rt::System::new().block_on(async move {
        HttpServer::new(move || {
            let (body, content_type) = (body.clone(), content_type.clone());
            App::new().route(
                &path,
                web::get().to(move || {
                    let (body, content_type) = (body.clone(), content_type.clone());
                    async move {
                        HttpResponse::Ok()
                            .content_type(content_type)
                            .insert_header(("Cache-Control", "no-cache, private"))
                            .body(body)
                    }
                }),
            )
        })
        .bind(addr)?
        .run()
        .await
    })
}
