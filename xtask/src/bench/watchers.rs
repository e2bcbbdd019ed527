//! The `watchers` measurement: 1,000 concurrent HTTP watches on one resource while
//! ConfigMaps are written at a steady 100 per second.
//!
//! Each written object carries its sequence number; the writer records when each write
//! was acknowledged (and sent), each watcher when each event arrived. Reported: whether
//! every watcher saw every event exactly once, the p50/p99 of acknowledged → received
//! (an event that beat the acknowledgement counts as 0), and the server's RSS growth per
//! idle watcher.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::client;
use super::run::{Row, err, expect_status, say};

/// Concurrent watchers.
pub const WATCHERS: usize = 1000;
/// Writes per second.
const RATE: u64 = 100;
/// Writing lasts this long.
const WRITE_FOR: Duration = Duration::from_secs(10);
/// Delivery latency target (p99).
const P99_TARGET_MS: f64 = 100.0;
/// Memory per idle watcher target.
const IDLE_TARGET_KIB: f64 = 64.0;

const NS: &str = "bench-watch";

/// What one watcher saw: `(sequence number, arrival)` per event, in arrival order.
type Seen = Vec<(u32, Instant)>;

pub fn measure(
    rt: &tokio::runtime::Runtime,
    addr: SocketAddr,
    rss_kib: &dyn Fn() -> io::Result<u64>,
) -> io::Result<Vec<Row>> {
    say(&format!(
        "watchers: {WATCHERS} watches on one namespace's ConfigMaps, {RATE} writes/s for {} s",
        WRITE_FOR.as_secs()
    ));
    let body = format!(r#"{{"apiVersion":"v1","kind":"Namespace","metadata":{{"name":"{NS}"}}}}"#);
    let ns = client::request("POST", addr, "/api/v1/namespaces", Some(body.as_bytes()));
    expect_status(&rt.block_on(client::once(addr, &ns))?, 201, "namespace")?;
    let path = format!("/api/v1/namespaces/{NS}/configmaps");
    let list = rt.block_on(client::once(
        addr,
        &client::request("GET", addr, &path, None),
    ))?;
    expect_status(&list, 200, "listing the watched namespace")?;
    let rv = serde_json::from_slice::<serde_json::Value>(&list.body)
        .ok()
        .and_then(|v| {
            v["metadata"]["resourceVersion"]
                .as_str()
                .map(str::to_string)
        })
        .ok_or_else(|| err("the list has no resourceVersion"))?;

    std::thread::sleep(Duration::from_secs(1));
    let before = rss_kib()?;
    let watch_path = format!("{path}?watch=true&resourceVersion={rv}&timeoutSeconds=600");
    let total = RATE * WRITE_FOR.as_secs();
    let (watchers, opened) = rt.block_on(async {
        let mut tasks = Vec::with_capacity(WATCHERS);
        let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<io::Result<()>>(WATCHERS);
        for _ in 0..WATCHERS {
            let (req, ready) = (
                client::request("GET", addr, &watch_path, None),
                ready_tx.clone(),
            );
            tasks.push(tokio::spawn(watcher(addr, req, total, ready)));
        }
        let t = Instant::now();
        for _ in 0..WATCHERS {
            match ready_rx.recv().await {
                Some(Ok(())) => {}
                Some(Err(e)) => return Err(e),
                None => return Err(err("a watcher ended before its response started")),
            }
        }
        Ok::<_, io::Error>((tasks, t.elapsed()))
    })?;
    std::thread::sleep(Duration::from_secs(2));
    let idle = rss_kib()?;
    let per_watcher = idle.saturating_sub(before) as f64 / WATCHERS as f64;
    say(&format!(
        "  {WATCHERS} watches open in {opened:?}; VmRSS {:.1} → {:.1} MiB ({per_watcher:.1} KiB per watcher)",
        before as f64 / 1024.0,
        idle as f64 / 1024.0
    ));

    // The writer: one create every 1/RATE s on a fixed schedule.
    let (acked, sent) = rt.block_on(async {
        let mut conn = client::Conn::connect(addr).await?;
        let mut acked = Vec::with_capacity(total as usize);
        let mut sent = Vec::with_capacity(total as usize);
        let start = tokio::time::Instant::now();
        for i in 0..total {
            tokio::time::sleep_until(start + Duration::from_millis(i * 1000 / RATE)).await;
            let body = format!(
                r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"w-{i:05}"}},"data":{{"seq":"{i}","note":"watch fan-out benchmark"}}}}"#
            );
            let req = client::request("POST", addr, &path, Some(body.as_bytes()));
            sent.push(Instant::now());
            let r = conn.roundtrip(&req).await?;
            acked.push(Instant::now());
            expect_status(&r, 201, "create")?;
        }
        Ok::<_, io::Error>((acked, sent))
    })?;
    let rss_loaded = rss_kib()?;
    let seen: Vec<Seen> = rt.block_on(async {
        let mut out = Vec::with_capacity(WATCHERS);
        for t in watchers {
            match tokio::time::timeout(Duration::from_secs(20), t).await {
                Ok(Ok(Ok(s))) => out.push(s),
                Ok(Ok(Err(e))) => return Err(e),
                Ok(Err(e)) => return Err(io::Error::other(e)),
                Err(_) => {
                    return Err(err(
                        "a watcher did not finish within 20 s of the last write",
                    ));
                }
            }
        }
        Ok::<_, io::Error>(out)
    })?;

    let mut complete = 0usize;
    let mut events = 0usize;
    let mut from_ack = Vec::with_capacity(WATCHERS * total as usize);
    let mut from_send = Vec::with_capacity(WATCHERS * total as usize);
    for s in &seen {
        events += s.len();
        let mut seqs: Vec<u32> = s.iter().map(|(q, _)| *q).collect();
        let in_order = seqs.windows(2).all(|w| w[0] < w[1]);
        seqs.dedup();
        if in_order && seqs.len() == total as usize {
            complete += 1;
        }
        for (q, at) in s {
            let q = *q as usize;
            if let (Some(a), Some(b)) = (acked.get(q), sent.get(q)) {
                from_ack.push(at.saturating_duration_since(*a));
                from_send.push(at.saturating_duration_since(*b));
            }
        }
    }
    from_ack.sort();
    from_send.sort();
    let pct = |v: &[Duration], p: f64| -> f64 {
        if v.is_empty() {
            return f64::NAN;
        }
        v[((v.len() - 1) as f64 * p).round() as usize].as_secs_f64() * 1000.0
    };
    let (p50, p99) = (pct(&from_ack, 0.5), pct(&from_ack, 0.99));
    say(&format!(
        "  {events} events delivered of {} expected; {complete}/{WATCHERS} watchers complete and in order",
        WATCHERS * total as usize
    ));
    say(&format!(
        "  ack → event p50 {p50:.2} ms p99 {p99:.2} ms max {:.2} ms; send → event p50 {:.2} ms p99 {:.2} ms; VmRSS after writing {:.1} MiB",
        pct(&from_ack, 1.0),
        pct(&from_send, 0.5),
        pct(&from_send, 0.99),
        rss_loaded as f64 / 1024.0
    ));
    Ok(vec![
        Row {
            metric: format!("watchers: all {WATCHERS} saw all {total} events"),
            measured: format!("{complete}"),
            baseline: format!("{WATCHERS}"),
            ratio: format!("{:.3}", complete as f64 / WATCHERS as f64),
            target: "= 1.000".into(),
            pass: Some(complete == WATCHERS),
            skipped: false,
        },
        Row {
            metric: "watch delivery p50 (ms)".into(),
            measured: format!("{p50:.2}"),
            baseline: "-".into(),
            ratio: "-".into(),
            target: "-".into(),
            pass: None,
            skipped: false,
        },
        Row {
            metric: "watch delivery p99 (ms)".into(),
            measured: format!("{p99:.2}"),
            baseline: "-".into(),
            ratio: "-".into(),
            target: format!("<= {P99_TARGET_MS:.0}"),
            pass: Some(p99 <= P99_TARGET_MS),
            skipped: false,
        },
        Row {
            metric: "RSS per idle watcher (KiB)".into(),
            measured: format!("{per_watcher:.1}"),
            baseline: "-".into(),
            ratio: "-".into(),
            target: format!("<= {IDLE_TARGET_KIB:.0}"),
            pass: Some(per_watcher <= IDLE_TARGET_KIB),
            skipped: false,
        },
    ])
}

/// One watch: reports on `ready` once the response has started, then records every
/// event's sequence number until `total` arrived (or the stream ended).
async fn watcher(
    addr: SocketAddr,
    request: Vec<u8>,
    total: u64,
    ready: tokio::sync::mpsc::Sender<io::Result<()>>,
) -> io::Result<Seen> {
    let started = async {
        let mut stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        stream.write_all(&request).await?;
        let mut buf = BytesMut::with_capacity(4096);
        loop {
            if stream.read_buf(&mut buf).await? == 0 {
                return Err(err("watch connection closed before the response head"));
            }
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut resp = httparse::Response::new(&mut headers);
            match resp.parse(&buf) {
                Ok(httparse::Status::Complete(n)) => {
                    if resp.code != Some(200) {
                        return Err(err(format!("watch answered {:?}", resp.code)));
                    }
                    buf.advance(n);
                    return Ok((stream, buf));
                }
                Ok(httparse::Status::Partial) => {}
                Err(e) => return Err(err(e.to_string())),
            }
        }
    }
    .await;
    let (mut stream, mut raw) = match started {
        Ok(s) => {
            let _ = ready.send(Ok(())).await;
            s
        }
        Err(e) => {
            let _ = ready.send(Err(err(e.to_string()))).await;
            return Err(e);
        }
    };
    drop(ready);
    let mut seen = Seen::with_capacity(total as usize);
    let mut body = BytesMut::new();
    loop {
        // Chunked transfer encoding: "<hex size>\r\n<data>\r\n".
        while let Some(eol) = find(&raw, b"\r\n") {
            let size = std::str::from_utf8(&raw[..eol])
                .ok()
                .and_then(|s| {
                    usize::from_str_radix(s.split(';').next().unwrap_or("").trim(), 16).ok()
                })
                .ok_or_else(|| err("bad chunk header in the watch stream"))?;
            if size == 0 {
                return Ok(seen);
            }
            if raw.len() < eol + 2 + size + 2 {
                break;
            }
            raw.advance(eol + 2);
            body.extend_from_slice(&raw[..size]);
            raw.advance(size + 2);
        }
        let now = Instant::now();
        while let Some(eol) = body.iter().position(|b| *b == b'\n') {
            let line = body.split_to(eol + 1);
            if let Some(seq) = seq_of(&line) {
                seen.push((seq, now));
            }
        }
        if seen.len() as u64 >= total {
            return Ok(seen);
        }
        if stream.read_buf(&mut raw).await? == 0 {
            return Ok(seen);
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The `data.seq` of an event line.
fn seq_of(line: &[u8]) -> Option<u32> {
    const KEY: &[u8] = b"\"seq\":\"";
    let at = find(line, KEY)? + KEY.len();
    let end = line[at..].iter().position(|b| *b == b'"')? + at;
    std::str::from_utf8(&line[at..end]).ok()?.parse().ok()
}
