//! A minimal HTTP/1.1 keep-alive load generator: a fixed number of connections, each
//! sending one request at a time (no pipelining), like `wrk -c N`. Responses must carry
//! `Content-Length` (actix-web sets it on every sized body).

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One keep-alive connection.
pub struct Conn {
    stream: TcpStream,
    buf: BytesMut,
}

/// A response: status and body.
pub struct Response {
    pub status: u16,
    pub body: Bytes,
}

impl Conn {
    pub async fn connect(addr: SocketAddr) -> io::Result<Conn> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            stream,
            buf: BytesMut::with_capacity(16 * 1024),
        })
    }

    /// Sends one request (complete bytes) and reads its response.
    pub async fn roundtrip(&mut self, request: &[u8]) -> io::Result<Response> {
        self.stream.write_all(request).await?;
        loop {
            if let Some((head, status, len)) = parse_head(&self.buf)? {
                while self.buf.len() < head + len {
                    self.buf
                        .reserve((head + len - self.buf.len()).max(16 * 1024));
                    self.fill().await?;
                }
                let mut msg = self.buf.split_to(head + len);
                let body = msg.split_off(head).freeze();
                return Ok(Response { status, body });
            }
            self.buf.reserve(16 * 1024);
            self.fill().await?;
        }
    }

    async fn fill(&mut self) -> io::Result<()> {
        if self.stream.read_buf(&mut self.buf).await? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed by the server",
            ));
        }
        Ok(())
    }
}

/// `(header length, status, content length)` once the head is complete.
fn parse_head(buf: &[u8]) -> io::Result<Option<(usize, u16, usize)>> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut resp = httparse::Response::new(&mut headers);
    let head = match resp.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidData, e.to_string())),
    };
    let status = resp.code.unwrap_or(0);
    let mut len = None;
    for h in resp.headers.iter() {
        if h.name.eq_ignore_ascii_case("content-length") {
            len = std::str::from_utf8(h.value)
                .ok()
                .and_then(|v| v.trim().parse::<usize>().ok());
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "chunked responses are not supported by the load generator",
            ));
        }
    }
    let len = match (len, status) {
        (Some(l), _) => l,
        (None, 204 | 304) => 0,
        (None, _) => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "response without Content-Length",
            ));
        }
    };
    Ok(Some((head, status, len)))
}

/// The bytes of a request.
pub fn request(method: &str, addr: SocketAddr, path: &str, body: Option<&[u8]>) -> Vec<u8> {
    let mut out = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: kiln-bench\r\nAccept: application/json\r\n"
    )
    .into_bytes();
    if let Some(b) = body {
        out.extend_from_slice(
            format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                b.len()
            )
            .as_bytes(),
        );
        out.extend_from_slice(b);
    } else {
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// One request over a fresh connection.
pub async fn once(addr: SocketAddr, request: &[u8]) -> io::Result<Response> {
    Conn::connect(addr).await?.roundtrip(request).await
}

/// What a load run did.
pub struct LoadResult {
    /// Responses with the expected status.
    pub ok: u64,
    /// Unexpected statuses and I/O errors.
    pub errors: u64,
    pub first_error: Option<String>,
    pub elapsed: Duration,
    /// Per-request latency in microseconds, sorted.
    pub latencies_us: Vec<u32>,
}

impl LoadResult {
    pub fn per_second(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }

    pub fn percentile_ms(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return 0.0;
        }
        let i = ((self.latencies_us.len() - 1) as f64 * p).round() as usize;
        f64::from(self.latencies_us[i]) / 1000.0
    }
}

/// The request number `i` of a run (numbers are unique across connections).
pub type MakeRequest = Arc<dyn Fn(u64) -> Bytes + Send + Sync>;

/// Runs `connections` keep-alive connections, each sending its next request as soon as the
/// previous answer arrived, until `duration` passed or `count` requests were started.
pub async fn load(
    addr: SocketAddr,
    connections: usize,
    duration: Duration,
    count: Option<u64>,
    expect: u16,
    make: MakeRequest,
) -> io::Result<LoadResult> {
    let mut conns = Vec::with_capacity(connections);
    for _ in 0..connections {
        conns.push(Conn::connect(addr).await?);
    }
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + duration;
    let mut tasks = Vec::with_capacity(connections);
    for mut conn in conns {
        let next = next.clone();
        let make = make.clone();
        tasks.push(tokio::spawn(async move {
            let (mut ok, mut errors, mut first_error) = (0u64, 0u64, None::<String>);
            let mut lat = Vec::with_capacity(64 * 1024);
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if count.is_some_and(|c| i >= c) || Instant::now() >= deadline {
                    break;
                }
                let req = make(i);
                let t = Instant::now();
                match conn.roundtrip(&req).await {
                    Ok(r) if r.status == expect => {
                        ok += 1;
                        lat.push(u32::try_from(t.elapsed().as_micros()).unwrap_or(u32::MAX));
                    }
                    Ok(r) => {
                        errors += 1;
                        first_error.get_or_insert_with(|| {
                            format!(
                                "status {}: {}",
                                r.status,
                                String::from_utf8_lossy(&r.body[..r.body.len().min(300)])
                            )
                        });
                    }
                    Err(e) => {
                        errors += 1;
                        first_error.get_or_insert_with(|| e.to_string());
                        match Conn::connect(addr).await {
                            Ok(c) => conn = c,
                            Err(_) => break,
                        }
                    }
                }
            }
            (ok, errors, first_error, lat)
        }));
    }
    let mut out = LoadResult {
        ok: 0,
        errors: 0,
        first_error: None,
        elapsed: Duration::ZERO,
        latencies_us: Vec::new(),
    };
    for t in tasks {
        let (ok, errors, first_error, lat) = t.await.map_err(io::Error::other)?;
        out.ok += ok;
        out.errors += errors;
        if out.first_error.is_none() {
            out.first_error = first_error;
        }
        out.latencies_us.extend(lat);
    }
    out.elapsed = start.elapsed();
    out.latencies_us.sort_unstable();
    Ok(out)
}
