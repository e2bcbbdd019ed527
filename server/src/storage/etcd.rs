//! The etcd v3 backend: the storage trait over an etcd cluster, laid out as
//! kube-apiserver lays out its data so that the two can share one etcd.
//!
//! - Keys: the server's keys (`/registry/<resource>/<namespace>/<name>`, see
//!   `store::resource_prefix`) with `/registry` replaced by the configured prefix
//!   (`--etcd-prefix`, default `/registry`). Keys outside `/registry/` are used verbatim.
//! - Values: kube-apiserver's etcd encoding (protobuf in the `k8s\0` envelope for
//!   built-in kinds, JSON for the rest), converted per key by [`value::ValueCodec`].
//! - Revisions are etcd's: `resourceVersion` is the key's mod revision; create, update and
//!   delete are transactions comparing the key's create or mod revision; ranges are
//!   linearizable reads, at a revision when asked; watches carry previous values.
//! - Compaction follows kube-apiserver's compactor: every interval, the replica that wins a
//!   transaction on `compact_rev_key` compacts at the revision observed one interval
//!   earlier, so several servers on one etcd compact once per interval between them.
//! - Faults: reads are retried on transport errors; writes are retried only when the
//!   request cannot have reached etcd, and an ambiguous write (connection lost while in
//!   flight) is resolved by reading the key back.
//! - Connections: reads and writes from an HTTP worker thread go through a client of that
//!   thread's own ([`use_thread_clients`]), so a request's round trip to etcd never
//!   crosses threads; watches, and calls from any other thread, use the store's shared
//!   client.

pub mod value;
mod written;

use std::cell::{Cell, RefCell};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use etcd_client::{
    Certificate, Client, Compare, CompareOp, ConnectOptions, DeleteOptions, EventType, GetOptions,
    Identity, KvClient, PutOptions, TlsOptions, Txn, TxnOp, TxnOpResponse, TxnResponse,
    WatchOptions,
};
use tokio::sync::mpsc;

use super::{
    Event, EventKind, KeyValue, RangeResult, Revision, Storage, StorageError, WatchStream,
};
use value::ValueCodec;
use written::Written;

/// The server's own key root; `--etcd-prefix` replaces it in etcd.
const LOGICAL_ROOT: &str = "/registry";
/// The key kube-apiserver's compactors coordinate on (not under the prefix).
pub const COMPACT_REV_KEY: &str = "compact_rev_key";
/// etcd's default request size limit (`--max-request-bytes`).
const ETCD_MAX_REQUEST_BYTES: usize = 1536 * 1024;
/// Events a watch buffers for a slow consumer before etcd's stream is paused.
const WATCH_BUFFER: usize = 256;
/// Consecutive cancellations (without events in between) a watch resumes from.
const MAX_WATCH_CANCELS: u32 = 5;

/// Settings of the etcd backend (kube-apiserver's `--etcd-*` flags).
#[derive(Clone, Debug)]
pub struct EtcdOptions {
    /// Client URLs of the cluster's members (`--etcd-servers`).
    pub endpoints: Vec<String>,
    /// Key prefix (`--etcd-prefix`), default `/registry`.
    pub prefix: String,
    /// TLS: the CA that signed the servers' certificates (`--etcd-cafile`).
    pub ca_file: Option<PathBuf>,
    /// TLS client certificate and key (`--etcd-certfile`, `--etcd-keyfile`).
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    /// Compaction interval (`--etcd-compaction-interval`, default 5m); zero turns the
    /// server's compaction off.
    pub compaction_interval: Duration,
    /// Longest a single etcd request may take, retries included.
    pub request_timeout: Duration,
    /// How long [`EtcdStore::connect`] waits for the cluster to answer.
    pub startup_timeout: Duration,
}

impl Default for EtcdOptions {
    fn default() -> Self {
        EtcdOptions {
            endpoints: vec!["http://127.0.0.1:2379".into()],
            prefix: LOGICAL_ROOT.into(),
            ca_file: None,
            cert_file: None,
            key_file: None,
            compaction_interval: Duration::from_secs(300),
            request_timeout: Duration::from_secs(30),
            startup_timeout: Duration::from_secs(30),
        }
    }
}

/// Parses a Go duration as kube-apiserver's flags take it: `5m`, `1h30m`, `90s`, `500ms`,
/// `0`.
pub fn parse_go_duration(text: &str) -> Result<Duration, String> {
    // Go's `time.ParseDuration`, shared with the `timeout` query parameter; a compaction
    // interval cannot be negative.
    let nanos = crate::negotiate::parse_go_duration(text.trim())?;
    u64::try_from(nanos)
        .map(Duration::from_nanos)
        .map_err(|_| format!("invalid duration {text:?}: must not be negative"))
}

/// The etcd-backed store. Cheap to share as `Arc<EtcdStore>` / `Arc<dyn Storage>`.
pub struct EtcdStore {
    inner: Arc<Inner>,
    compactor: Option<tokio::task::JoinHandle<()>>,
}

struct Inner {
    /// The shared client (watches) and its key-value part.
    client: Client,
    kv: KvClient,
    /// What [`Inner::kv`] needs to open a thread's own client.
    endpoints: Vec<String>,
    connect: ConnectOptions,
    /// Tells this store's thread clients from another store's (tests run several).
    id: u64,
    /// The etcd prefix replacing [`LOGICAL_ROOT`] (no trailing slash).
    prefix: String,
    codec: ValueCodec,
    /// This process's recent writes, whose watch events need no decoding.
    written: Written,
    /// The highest compacted revision this server has seen.
    compacted: AtomicI64,
    request_timeout: Duration,
}

impl std::fmt::Debug for EtcdStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtcdStore")
            .field("prefix", &self.inner.prefix)
            .finish_non_exhaustive()
    }
}

impl Drop for EtcdStore {
    fn drop(&mut self) {
        if let Some(c) = self.compactor.take() {
            c.abort();
        }
    }
}

fn io_error(msg: impl Into<String>) -> StorageError {
    StorageError::Io(std::io::Error::other(msg.into()))
}

fn read_file(path: &PathBuf, what: &str) -> Result<Vec<u8>, StorageError> {
    std::fs::read(path).map_err(|e| {
        StorageError::Io(std::io::Error::new(
            e.kind(),
            format!("cannot read the etcd {what} {}: {e}", path.display()),
        ))
    })
}

thread_local! {
    /// Whether this thread asked for clients of its own ([`use_thread_clients`]).
    static THREAD_CLIENTS: Cell<bool> = const { Cell::new(false) };
    /// This thread's key-value clients, one per store (by [`Inner::id`]).
    static CLIENTS: RefCell<Vec<(u64, KvClient)>> = const { RefCell::new(Vec::new()) };
}

/// Makes the calling thread use etcd clients of its own: each store opens one for the
/// thread on the thread's first request (its connection task then runs on this thread's
/// runtime, so a request and etcd's answer never wait for another thread to be scheduled).
/// Call it only on a thread that runs one async runtime for its whole life: the HTTP
/// server's worker threads do.
pub fn use_thread_clients() {
    THREAD_CLIENTS.with(|t| t.set(true));
}

impl Inner {
    /// The key-value client for a request from this thread: its own when the thread asked
    /// for one and it could be opened, else the store's shared one. (Only the key-value
    /// part: cloning a whole `Client` clones every service's channel.)
    async fn kv(&self) -> KvClient {
        if !THREAD_CLIENTS.with(Cell::get) {
            return self.kv.clone();
        }
        let mine = |clients: &RefCell<Vec<(u64, KvClient)>>| {
            let clients = clients.borrow();
            clients
                .iter()
                .find(|(id, _)| *id == self.id)
                .map(|(_, c)| c.clone())
        };
        if let Some(c) = CLIENTS.with(mine) {
            return c;
        }
        // Opening a client does not wait for a connection (the channel connects on first
        // use), so this costs the first request on each thread next to nothing.
        match Client::connect(&self.endpoints, Some(self.connect.clone())).await {
            Ok(c) => CLIENTS.with(|clients| {
                // Another task of this thread may have opened one meanwhile: keep the first.
                if let Some(first) = mine(clients) {
                    return first;
                }
                let kv = c.kv_client();
                clients.borrow_mut().push((self.id, kv.clone()));
                kv
            }),
            Err(e) => {
                tracing::debug!(error = %e, "cannot open a thread's own etcd client; sharing");
                self.kv.clone()
            }
        }
    }
}

impl EtcdStore {
    /// Connects to the cluster, waits until it answers (up to `startup_timeout`), and
    /// starts the periodic compaction. Must run inside a Tokio runtime.
    pub async fn connect(opts: EtcdOptions) -> Result<Arc<EtcdStore>, StorageError> {
        let endpoints: Vec<String> = opts
            .endpoints
            .iter()
            .map(|e| e.trim().to_string())
            .filter(|e| !e.is_empty())
            .collect();
        if endpoints.is_empty() {
            return Err(StorageError::InvalidArgument(
                "no etcd servers given (--etcd-servers)".into(),
            ));
        }
        let mut connect = ConnectOptions::new()
            .with_connect_timeout(Duration::from_secs(5))
            .with_keep_alive(Duration::from_secs(10), Duration::from_secs(5))
            .with_require_leader(true);
        if opts.ca_file.is_some() || opts.cert_file.is_some() || opts.key_file.is_some() {
            let mut tls = TlsOptions::new();
            if let Some(ca) = &opts.ca_file {
                tls = tls.ca_certificate(Certificate::from_pem(read_file(ca, "CA file")?));
            }
            match (&opts.cert_file, &opts.key_file) {
                (Some(c), Some(k)) => {
                    tls = tls.identity(Identity::from_pem(
                        read_file(c, "certificate file")?,
                        read_file(k, "key file")?,
                    ));
                }
                (None, None) => {}
                _ => {
                    return Err(StorageError::InvalidArgument(
                        "--etcd-certfile and --etcd-keyfile go together".into(),
                    ));
                }
            }
            connect = connect.with_tls(tls);
        }
        let client = Client::connect(&endpoints, Some(connect.clone()))
            .await
            .map_err(|e| io_error(format!("cannot connect to etcd {endpoints:?}: {e}")))?;
        let prefix = opts.prefix.trim_end_matches('/').to_string();
        if !prefix.starts_with('/') {
            return Err(StorageError::InvalidArgument(format!(
                "the etcd prefix must start with '/': {:?}",
                opts.prefix
            )));
        }
        static IDS: AtomicU64 = AtomicU64::new(0);
        let inner = Arc::new(Inner {
            kv: client.kv_client(),
            client,
            endpoints: endpoints.clone(),
            connect,
            id: IDS.fetch_add(1, Ordering::Relaxed),
            prefix,
            codec: ValueCodec::new(),
            written: Written::default(),
            compacted: AtomicI64::new(0),
            request_timeout: opts.request_timeout,
        });
        // Wait for the cluster (it may be starting alongside us).
        let deadline = tokio::time::Instant::now() + opts.startup_timeout;
        loop {
            let attempt = tokio::time::timeout_at(deadline, inner.header_revision())
                .await
                .unwrap_or_else(|_| Err(io_error("timed out")));
            match attempt {
                Ok(_) => break,
                Err(e) if tokio::time::Instant::now() >= deadline => {
                    return Err(io_error(format!(
                        "etcd {endpoints:?} is not answering: {e}"
                    )));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "waiting for etcd");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }
        let compactor = (!opts.compaction_interval.is_zero()).then(|| {
            let inner = inner.clone();
            tokio::spawn(compactor(inner, opts.compaction_interval))
        });
        tracing::info!(endpoints = ?endpoints, prefix = %inner.prefix, "connected to etcd");
        Ok(Arc::new(EtcdStore { inner, compactor }))
    }

    /// The value codec (exposed for tests and tools).
    pub fn codec(&self) -> &ValueCodec {
        &self.inner.codec
    }

    /// The etcd key of a server key (`/registry/pods/ns/p` → `<prefix>/pods/ns/p`).
    pub fn etcd_key(&self, key: &str) -> Vec<u8> {
        self.inner.etcd_key(key)
    }
}

/// What went wrong with one etcd call, for retry decisions.
enum Failure {
    /// The request never reached etcd (connection refused, no connection): safe to retry.
    NotSent(String),
    /// The connection failed while the request was in flight: a write may or may not have
    /// been applied.
    Ambiguous(String),
    /// etcd answered with an error: the message, and whether the code was `Unavailable`.
    Answered(String, bool),
}

/// gRPC status codes the backend tells apart.
const GRPC_UNKNOWN: i32 = 2;
const GRPC_UNAVAILABLE: i32 = 14;

fn classify(e: etcd_client::Error) -> Failure {
    match e {
        etcd_client::Error::GRpcStatus(s) => {
            let msg = s.message().to_string();
            let lower = msg.to_ascii_lowercase();
            let code = s.code() as i32;
            let unavailable = code == GRPC_UNAVAILABLE;
            let from_etcd = lower.starts_with("etcdserver:") || lower.starts_with("mvcc:");
            let transport = !from_etcd
                && (unavailable || code == GRPC_UNKNOWN)
                && (lower.contains("transport")
                    || lower.contains("connect")
                    || lower.contains("connection")
                    || lower.contains("broken pipe")
                    || lower.contains("reset")
                    || lower.contains("closed")
                    || lower.contains("dns error"));
            // etcd's own timeouts (`request timed out[, possibly due to previous leader
            // failure]`) leave the proposal's fate open, like a dropped connection.
            let timed_out = from_etcd && lower.contains("request timed out");
            if transport
                && (lower.contains("error trying to connect") || lower.contains("tcp connect"))
            {
                Failure::NotSent(msg)
            } else if transport || timed_out {
                Failure::Ambiguous(msg)
            } else {
                Failure::Answered(msg, unavailable)
            }
        }
        etcd_client::Error::TransportError(t) => Failure::NotSent(t.to_string()),
        etcd_client::Error::IoError(e) => Failure::Ambiguous(e.to_string()),
        other => Failure::Answered(other.to_string(), false),
    }
}

/// `etcdserver: leader changed`, `no leader` and similar answers that come before a
/// write is applied, so retrying is safe.
fn retryable_answer(msg: &str, unavailable: bool) -> bool {
    unavailable
        && (msg.contains("leader changed")
            || msg.contains("no leader")
            || msg.contains("not capable")
            || msg.contains("too many requests"))
}

fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    // All 0xff (or empty): to the end of the key space.
    vec![0]
}

/// What a create/update/delete transaction did.
enum TxnOutcome {
    Applied(TxnResponse),
    /// A comparison failed: the key's current version (if any), and the guard key's (if
    /// the transaction had a guard and it exists).
    Failed(Option<etcd_client::KeyValue>, Option<etcd_client::KeyValue>),
}

/// What [`Inner::put_if`] did when its comparisons failed.
struct NotApplied {
    /// The key's current version.
    current: Option<etcd_client::KeyValue>,
    /// The guard key's current version.
    guard: Option<etcd_client::KeyValue>,
}

impl Inner {
    fn etcd_key(&self, key: &str) -> Vec<u8> {
        if self.prefix != LOGICAL_ROOT
            && let Some(rest) = key.strip_prefix(LOGICAL_ROOT)
            && (rest.is_empty() || rest.starts_with('/'))
        {
            return format!("{}{rest}", self.prefix).into_bytes();
        }
        key.as_bytes().to_vec()
    }

    fn server_key(&self, key: &[u8]) -> Result<String, StorageError> {
        let key = std::str::from_utf8(key)
            .map_err(|_| StorageError::Corrupt("etcd key is not UTF-8".into()))?;
        if self.prefix != LOGICAL_ROOT
            && let Some(rest) = key.strip_prefix(self.prefix.as_str())
            && (rest.is_empty() || rest.starts_with('/'))
        {
            return Ok(format!("{LOGICAL_ROOT}{rest}"));
        }
        Ok(key.to_string())
    }

    fn key_value(&self, kv: &etcd_client::KeyValue) -> Result<KeyValue, StorageError> {
        let key = self.server_key(kv.key())?;
        // A version this process wrote (its own watch events, mostly): the JSON it wrote.
        let value = match self.written.get(&key, kv.mod_revision(), kv.value()) {
            Some(json) => json,
            None => self.codec.decode(&key, kv.value())?,
        };
        Ok(KeyValue {
            key,
            value,
            create_revision: kv.create_revision(),
            mod_revision: kv.mod_revision(),
        })
    }

    fn note_compacted(&self, rev: Revision) {
        self.compacted.fetch_max(rev, Ordering::SeqCst);
    }

    /// Runs an etcd call with the request timeout, retrying while it fails in a way that
    /// allows a retry: any transport failure for reads (`idempotent`), only failures
    /// before sending for writes. Ambiguous write failures come back as `Err(None)` with
    /// the message, for the caller to resolve.
    async fn call<T, F, Fut>(&self, idempotent: bool, f: F) -> Result<T, CallError>
    where
        F: FnMut(KvClient) -> Fut,
        Fut: std::future::Future<Output = Result<T, etcd_client::Error>>,
    {
        let kv = self.kv().await;
        self.call_with(kv, idempotent, f).await
    }

    /// [`Inner::call`] with the given client (part).
    async fn call_with<C, T, F, Fut>(
        &self,
        client: C,
        idempotent: bool,
        mut f: F,
    ) -> Result<T, CallError>
    where
        C: Clone,
        F: FnMut(C) -> Fut,
        Fut: std::future::Future<Output = Result<T, etcd_client::Error>>,
    {
        let deadline = tokio::time::Instant::now() + self.request_timeout;
        let mut backoff = Duration::from_millis(50);
        loop {
            let result = tokio::time::timeout_at(deadline, f(client.clone())).await;
            let failure = match result {
                Ok(Ok(v)) => return Ok(v),
                Ok(Err(e)) => classify(e),
                Err(_) => {
                    return Err(if idempotent {
                        CallError::Final(io_error("etcd request timed out"))
                    } else {
                        CallError::Ambiguous("etcd request timed out".into())
                    });
                }
            };
            let retry = match &failure {
                Failure::NotSent(_) => true,
                Failure::Ambiguous(_) => idempotent,
                Failure::Answered(m, unavailable) => retryable_answer(m, *unavailable),
            };
            if !retry || tokio::time::Instant::now() + backoff >= deadline {
                return Err(match failure {
                    Failure::NotSent(m) => CallError::Final(io_error(format!("etcd: {m}"))),
                    Failure::Ambiguous(m) if idempotent => {
                        CallError::Final(io_error(format!("etcd: {m}")))
                    }
                    Failure::Ambiguous(m) => CallError::Ambiguous(m),
                    Failure::Answered(m, _) => CallError::Answered(m),
                });
            }
            let (Failure::NotSent(m) | Failure::Ambiguous(m) | Failure::Answered(m, _)) = &failure;
            tracing::debug!(error = %m, "retrying an etcd request");
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(1));
        }
    }

    /// A read (always retried on transport failures), with etcd's answers mapped.
    async fn read(
        &self,
        key: Vec<u8>,
        opts: GetOptions,
        revision: Option<Revision>,
    ) -> Result<etcd_client::GetResponse, StorageError> {
        let result = self
            .call(true, |mut c| {
                let key = key.clone();
                let opts = opts.clone();
                async move { c.get(key, Some(opts)).await }
            })
            .await;
        match result {
            Ok(r) => Ok(r),
            Err(CallError::Answered(m)) => Err(self.answered_error(&m, revision).await),
            Err(CallError::Final(e)) => Err(e),
            Err(CallError::Ambiguous(m)) => Err(io_error(format!("etcd: {m}"))),
        }
    }

    /// The storage error for an error answer of etcd to a request at `revision`.
    async fn answered_error(&self, msg: &str, revision: Option<Revision>) -> StorageError {
        let requested = revision.unwrap_or(0);
        if msg.contains("required revision has been compacted") {
            let compacted = self.probe_compacted().await.unwrap_or(0).max(requested + 1);
            return StorageError::Compacted {
                requested,
                compacted,
            };
        }
        if msg.contains("required revision is a future revision") {
            let current = self.header_revision().await.unwrap_or(0);
            return StorageError::FutureRevision { requested, current };
        }
        if msg.contains("request is too large") {
            return StorageError::ValueTooLarge {
                size: 0,
                limit: ETCD_MAX_REQUEST_BYTES,
            };
        }
        io_error(format!("etcd: {msg}"))
    }

    async fn header_revision(&self) -> Result<Revision, StorageError> {
        // A count-only read of one key: its header carries the store's revision.
        let r = self
            .call(true, |mut c| async move {
                c.get(COMPACT_REV_KEY, Some(GetOptions::new().with_count_only()))
                    .await
            })
            .await;
        match r {
            Ok(r) => Ok(r.header().map(|h| h.revision()).unwrap_or(0)),
            Err(CallError::Final(e)) => Err(e),
            Err(CallError::Answered(m)) | Err(CallError::Ambiguous(m)) => {
                Err(io_error(format!("etcd: {m}")))
            }
        }
    }

    /// The compacted revision as etcd knows it: revision 1 readable means nothing was
    /// compacted; otherwise a watch from revision 1 is refused with the compacted revision.
    async fn probe_compacted(&self) -> Result<Revision, StorageError> {
        let probe = self
            .call(true, |mut c| async move {
                c.get(
                    COMPACT_REV_KEY,
                    Some(GetOptions::new().with_count_only().with_revision(1)),
                )
                .await
            })
            .await;
        match probe {
            Ok(_) => return Ok(self.compacted.load(Ordering::SeqCst)),
            Err(CallError::Answered(m)) if m.contains("compacted") => {}
            Err(CallError::Answered(m)) if m.contains("future revision") => return Ok(0),
            Err(CallError::Answered(m)) | Err(CallError::Ambiguous(m)) => {
                return Err(io_error(format!("etcd: {m}")));
            }
            Err(CallError::Final(e)) => return Err(e),
        }
        let mut client = self.client.clone();
        let mut stream = client
            .watch(
                COMPACT_REV_KEY,
                Some(WatchOptions::new().with_start_revision(1)),
            )
            .await
            .map_err(|e| io_error(format!("etcd: {e}")))?;
        let found = tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                match stream.message().await {
                    Ok(Some(resp)) if resp.compact_revision() > 0 => {
                        return Ok(resp.compact_revision());
                    }
                    Ok(Some(resp)) if resp.canceled() => {
                        return Err(io_error(format!(
                            "etcd canceled a watch: {}",
                            resp.cancel_reason()
                        )));
                    }
                    Ok(Some(_)) => continue,
                    Ok(None) => return Err(io_error("etcd ended a watch")),
                    Err(e) => return Err(io_error(format!("etcd: {e}"))),
                }
            }
        })
        .await
        .map_err(|_| io_error("etcd did not report its compacted revision"))??;
        self.note_compacted(found);
        Ok(self.compacted.load(Ordering::SeqCst))
    }

    /// One conditional write: `compares` → `ops`, else read the key (and the guard key,
    /// if any) back.
    async fn txn(
        &self,
        key: &[u8],
        guard: Option<&[u8]>,
        compares: &[Compare],
        ops: &[TxnOp],
    ) -> Result<TxnOutcome, CallError> {
        let mut reads = vec![TxnOp::get(key.to_vec(), None)];
        if let Some(g) = guard {
            reads.push(TxnOp::get(g.to_vec(), None));
        }
        let resp = self
            .call(false, |mut c| {
                let txn = Txn::new()
                    .when(compares.to_vec())
                    .and_then(ops.to_vec())
                    .or_else(reads.clone());
                async move { c.txn(txn).await }
            })
            .await?;
        if resp.succeeded() {
            return Ok(TxnOutcome::Applied(resp));
        }
        let mut gets = resp.op_responses().into_iter().filter_map(|r| match r {
            TxnOpResponse::Get(mut g) => Some(g.take_kvs().into_iter().next()),
            _ => None,
        });
        let current = gets.next().flatten();
        let guard = gets.next().flatten();
        Ok(TxnOutcome::Failed(current, guard))
    }

    fn write_error(&self, e: CallError) -> StorageError {
        match e {
            CallError::Final(e) => e,
            CallError::Answered(m) if m.contains("request is too large") => {
                StorageError::ValueTooLarge {
                    size: 0,
                    limit: ETCD_MAX_REQUEST_BYTES,
                }
            }
            CallError::Answered(m) | CallError::Ambiguous(m) => io_error(format!("etcd: {m}")),
        }
    }

    /// The current raw version of a key (for resolving ambiguous writes).
    async fn raw_get(&self, key: &[u8]) -> Result<Option<etcd_client::KeyValue>, StorageError> {
        let mut r = self.read(key.to_vec(), GetOptions::new(), None).await?;
        Ok(r.take_kvs().into_iter().next())
    }

    /// The etcd value of the server's JSON `json` at `key`, from `object` (`json` parsed)
    /// when the caller has it.
    fn encode(
        &self,
        key: &str,
        json: &[u8],
        object: Option<&serde_json::Value>,
    ) -> Result<Vec<u8>, StorageError> {
        match object {
            Some(o) => self.codec.encode_object(key, json, o),
            None => self.codec.encode(key, json),
        }
    }

    fn check_value(&self, value: &[u8]) -> Result<(), StorageError> {
        // Leave room for the key and the request's framing.
        let limit = ETCD_MAX_REQUEST_BYTES - 4096;
        if value.len() > limit {
            return Err(StorageError::ValueTooLarge {
                size: value.len(),
                limit,
            });
        }
        Ok(())
    }

    /// A create: one transaction "if the key's create revision is 0 (and the guard key is
    /// at its revision) put the value". The answer carries the caller's value, as the
    /// embedded store's does, not the etcd value decoded again.
    async fn create(
        &self,
        key: &str,
        value: Bytes,
        object: Option<&serde_json::Value>,
        guard: Option<(&str, Revision)>,
    ) -> Result<KeyValue, StorageError> {
        if key.is_empty() {
            return Err(StorageError::InvalidArgument("empty key".into()));
        }
        let ekey = self.etcd_key(key);
        let stored = self.encode(key, &value, object)?;
        self.check_value(&stored)?;
        let mut compares = vec![Compare::create_revision(ekey.clone(), CompareOp::Equal, 0)];
        let eguard = guard.map(|(g, rev)| {
            let eg = self.etcd_key(g);
            compares.push(Compare::mod_revision(eg.clone(), CompareOp::Equal, rev));
            eg
        });
        let pending = self.written.begin(key, &stored, &value);
        let outcome = self
            .put_if(key, &ekey, &stored, &compares, eguard.as_deref(), true, 0)
            .await?;
        match (outcome, guard) {
            (Ok((created, rev)), _) => {
                pending.commit(rev);
                Ok(KeyValue {
                    key: key.to_string(),
                    value,
                    create_revision: created,
                    mod_revision: rev,
                })
            }
            (
                Err(NotApplied {
                    current: None,
                    guard: current,
                }),
                Some((g, _)),
            ) => Err(StorageError::Conflict {
                key: g.to_string(),
                current: current.map(|kv| self.key_value(&kv)).transpose()?,
            }),
            (Err(_), _) => Err(StorageError::AlreadyExists {
                key: key.to_string(),
            }),
        }
    }

    /// An update: one transaction "if the key's mod revision is the expected one (or it
    /// exists) put the value, then read its create revision". The answer carries the
    /// caller's value, as [`Inner::create`]'s does.
    async fn update(
        &self,
        key: &str,
        value: Bytes,
        object: Option<&serde_json::Value>,
        expected_mod_revision: Option<Revision>,
    ) -> Result<KeyValue, StorageError> {
        if key.is_empty() {
            return Err(StorageError::InvalidArgument("empty key".into()));
        }
        let ekey = self.etcd_key(key);
        let stored = self.encode(key, &value, object)?;
        self.check_value(&stored)?;
        let compare = match expected_mod_revision {
            Some(rev) => Compare::mod_revision(ekey.clone(), CompareOp::Equal, rev),
            None => Compare::create_revision(ekey.clone(), CompareOp::Greater, 0),
        };
        let after = expected_mod_revision.unwrap_or(0);
        let pending = self.written.begin(key, &stored, &value);
        match self
            .put_if(key, &ekey, &stored, &[compare], None, false, after)
            .await?
        {
            Ok((created, rev)) => {
                pending.commit(rev);
                Ok(KeyValue {
                    key: key.to_string(),
                    value,
                    create_revision: created,
                    mod_revision: rev,
                })
            }
            Err(NotApplied { current: None, .. }) => Err(StorageError::NotFound {
                key: key.to_string(),
            }),
            Err(NotApplied {
                current: Some(current),
                ..
            }) => Err(StorageError::Conflict {
                key: key.to_string(),
                current: Some(self.key_value(&current)?),
            }),
        }
    }

    /// Writes `stored` at `key` if `compares` hold; answers the key's new (create, mod)
    /// revisions, or the current versions of the key and the guard key when a comparison
    /// failed. `creating`: the comparisons include "the key does not exist", so the key's
    /// create revision is the write's revision and need not be read back.
    ///
    /// An ambiguous failure (the connection dropped with the request in flight) is
    /// resolved by a linearizable read of the key: the write happened if the key holds
    /// exactly this value at a revision after `after`. Otherwise it is sent again: the
    /// comparison keeps a late duplicate from applying twice, and a comparison failing on
    /// our own value means the first attempt landed after all.
    #[allow(clippy::too_many_arguments)]
    async fn put_if(
        &self,
        key: &str,
        ekey: &[u8],
        stored: &[u8],
        compares: &[Compare],
        guard: Option<&[u8]>,
        creating: bool,
        after: Revision,
    ) -> Result<Result<(Revision, Revision), NotApplied>, StorageError> {
        let mut ops = vec![TxnOp::put(
            ekey.to_vec(),
            stored.to_vec(),
            Some(PutOptions::new()),
        )];
        if !creating {
            // The read after the put, in the same transaction, sees the put: it carries
            // the key's create revision, which a put's answer does not.
            ops.push(TxnOp::get(
                ekey.to_vec(),
                Some(GetOptions::new().with_keys_only()),
            ));
        }
        let ours = |kv: &etcd_client::KeyValue| kv.value() == stored && kv.mod_revision() > after;
        let mut resent = false;
        for attempt in 0..3 {
            match self.txn(ekey, guard, compares, &ops).await {
                Ok(TxnOutcome::Applied(resp)) => {
                    let rev = resp.header().map(|h| h.revision()).unwrap_or(0);
                    if creating {
                        return Ok(Ok((rev, rev)));
                    }
                    let created = resp
                        .op_responses()
                        .into_iter()
                        .find_map(|r| match r {
                            TxnOpResponse::Get(g) => g.kvs().first().map(|kv| kv.create_revision()),
                            _ => None,
                        })
                        .unwrap_or(rev);
                    return Ok(Ok((created, rev)));
                }
                Ok(TxnOutcome::Failed(Some(kv), _)) if resent && ours(&kv) => {
                    return Ok(Ok((kv.create_revision(), kv.mod_revision())));
                }
                Ok(TxnOutcome::Failed(current, guard)) => {
                    return Ok(Err(NotApplied { current, guard }));
                }
                Err(CallError::Ambiguous(m)) => {
                    tracing::warn!(key, attempt, error = %m, "etcd write outcome unknown; reading it back");
                    if let Some(kv) = self.raw_get(ekey).await?
                        && ours(&kv)
                    {
                        return Ok(Ok((kv.create_revision(), kv.mod_revision())));
                    }
                    resent = true;
                }
                Err(e) => return Err(self.write_error(e)),
            }
        }
        Err(io_error(format!(
            "etcd: the write of {key} failed in flight three times"
        )))
    }
}

enum CallError {
    /// A failure that retrying did not or could not fix.
    Final(StorageError),
    /// etcd answered with an error (message).
    Answered(String),
    /// A write whose outcome is unknown (message).
    Ambiguous(String),
}

/// kube-apiserver's compaction loop: every `interval`, try to advance `compact_rev_key`
/// from the version last seen; the winner compacts at the revision observed one interval
/// earlier. A loser adopts the winner's version and tries again next interval.
async fn compactor(inner: Arc<Inner>, interval: Duration) {
    let mut version: i64 = 0;
    let mut last_rev: Revision = 0;
    loop {
        tokio::time::sleep(interval).await;
        match compact_once(&inner, version, last_rev).await {
            Ok((v, r)) => {
                version = v;
                last_rev = r;
            }
            Err(e) => tracing::warn!(error = %e, "etcd compaction failed"),
        }
    }
}

async fn compact_once(
    inner: &Inner,
    version: i64,
    rev: Revision,
) -> Result<(i64, Revision), StorageError> {
    let txn = || {
        Txn::new()
            .when([Compare::version(COMPACT_REV_KEY, CompareOp::Equal, version)])
            .and_then([TxnOp::put(COMPACT_REV_KEY, rev.to_string(), None)])
            .or_else([TxnOp::get(COMPACT_REV_KEY, None)])
    };
    let resp = inner
        .call(false, |mut c| {
            let t = txn();
            async move { c.txn(t).await }
        })
        .await
        .map_err(|e| inner.write_error(e))?;
    let current = resp.header().map(|h| h.revision()).unwrap_or(0);
    if !resp.succeeded() {
        let seen = resp
            .op_responses()
            .into_iter()
            .find_map(|r| match r {
                TxnOpResponse::Get(g) => g.kvs().first().map(|kv| kv.version()),
                _ => None,
            })
            .unwrap_or(0);
        return Ok((seen, current));
    }
    if rev > 0 {
        let result = inner
            .call(true, |mut c| async move { c.compact(rev, None).await })
            .await;
        match result {
            Ok(_) => {
                inner.note_compacted(rev);
                tracing::info!(revision = rev, "etcd: compacted");
            }
            Err(CallError::Answered(m)) if m.contains("compacted") => inner.note_compacted(rev),
            Err(e) => return Err(inner.write_error(e)),
        }
    }
    Ok((version + 1, current))
}

#[async_trait]
impl Storage for EtcdStore {
    async fn get(&self, key: &str) -> Result<Option<KeyValue>, StorageError> {
        let inner = &self.inner;
        let mut r = inner
            .read(inner.etcd_key(key), GetOptions::new(), None)
            .await?;
        match r.take_kvs().into_iter().next() {
            Some(kv) => Ok(Some(inner.key_value(&kv)?)),
            None => Ok(None),
        }
    }

    async fn range(
        &self,
        prefix: &str,
        start: Option<&str>,
        limit: usize,
        revision: Option<Revision>,
    ) -> Result<RangeResult, StorageError> {
        let inner = &self.inner;
        let eprefix = inner.etcd_key(prefix);
        let end = prefix_end(&eprefix);
        let from = match start {
            Some(s) => {
                let s = inner.etcd_key(s);
                if s > eprefix { s } else { eprefix.clone() }
            }
            None if eprefix.is_empty() => vec![0],
            None => eprefix.clone(),
        };
        let at = revision.filter(|r| *r > 0);
        if from >= end && end != [0] {
            // Nothing can match; still answer with the revision read at.
            let revision = match at {
                Some(r) => {
                    let current = inner.header_revision().await?;
                    if r > current {
                        return Err(StorageError::FutureRevision {
                            requested: r,
                            current,
                        });
                    }
                    r
                }
                None => inner.header_revision().await?,
            };
            return Ok(RangeResult {
                kvs: Vec::new(),
                more: false,
                remaining: 0,
                revision,
            });
        }
        let mut opts = GetOptions::new().with_range(end);
        if limit > 0 {
            opts = opts.with_limit(i64::try_from(limit).unwrap_or(i64::MAX));
        }
        if let Some(r) = at {
            opts = opts.with_revision(r);
        }
        let mut resp = inner.read(from, opts, at).await?;
        let header_rev = resp.header().map(|h| h.revision()).unwrap_or(0);
        let count = resp.count();
        let more = resp.more();
        let raw = resp.take_kvs();
        let mut kvs = Vec::with_capacity(raw.len());
        for kv in &raw {
            kvs.push(inner.key_value(kv)?);
        }
        let remaining = (count - kvs.len() as i64).max(0);
        Ok(RangeResult {
            more: more || remaining > 0,
            remaining,
            kvs,
            revision: at.unwrap_or(header_rev),
        })
    }

    async fn create(&self, key: &str, value: Bytes) -> Result<KeyValue, StorageError> {
        self.inner.create(key, value, None, None).await
    }

    async fn create_guarded(
        &self,
        key: &str,
        value: Bytes,
        guard: &str,
        guard_revision: Revision,
    ) -> Result<KeyValue, StorageError> {
        self.inner
            .create(key, value, None, Some((guard, guard_revision)))
            .await
    }

    async fn create_object(
        &self,
        key: &str,
        value: Bytes,
        object: &serde_json::Value,
        guard: Option<(&str, Revision)>,
    ) -> Result<KeyValue, StorageError> {
        self.inner.create(key, value, Some(object), guard).await
    }

    async fn update(
        &self,
        key: &str,
        value: Bytes,
        expected_mod_revision: Option<Revision>,
    ) -> Result<KeyValue, StorageError> {
        self.inner
            .update(key, value, None, expected_mod_revision)
            .await
    }

    async fn update_object(
        &self,
        key: &str,
        value: Bytes,
        object: &serde_json::Value,
        expected_mod_revision: Option<Revision>,
    ) -> Result<KeyValue, StorageError> {
        self.inner
            .update(key, value, Some(object), expected_mod_revision)
            .await
    }

    async fn delete(
        &self,
        key: &str,
        expected_mod_revision: Option<Revision>,
    ) -> Result<KeyValue, StorageError> {
        if key.is_empty() {
            return Err(StorageError::InvalidArgument("empty key".into()));
        }
        let inner = &self.inner;
        let ekey = inner.etcd_key(key);
        let compare = match expected_mod_revision {
            Some(rev) => Compare::mod_revision(ekey.clone(), CompareOp::Equal, rev),
            None => Compare::create_revision(ekey.clone(), CompareOp::Greater, 0),
        };
        let op = TxnOp::delete(ekey.clone(), Some(DeleteOptions::new().with_prev_key()));
        match inner.txn(&ekey, None, &[compare], &[op]).await {
            Ok(TxnOutcome::Applied(resp)) => {
                let rev = resp.header().map(|h| h.revision()).unwrap_or(0);
                let prev = resp.op_responses().into_iter().find_map(|r| match r {
                    TxnOpResponse::Delete(mut d) => d.take_prev_kvs().into_iter().next(),
                    _ => None,
                });
                let Some(prev) = prev else {
                    return Err(StorageError::NotFound {
                        key: key.to_string(),
                    });
                };
                let mut kv = inner.key_value(&prev)?;
                kv.mod_revision = rev;
                Ok(kv)
            }
            Ok(TxnOutcome::Failed(None, _)) => Err(StorageError::NotFound {
                key: key.to_string(),
            }),
            Ok(TxnOutcome::Failed(Some(current), _)) => Err(StorageError::Conflict {
                key: key.to_string(),
                current: Some(inner.key_value(&current)?),
            }),
            Err(e) => Err(inner.write_error(e)),
        }
    }

    async fn current_revision(&self) -> Result<Revision, StorageError> {
        self.inner.header_revision().await
    }

    async fn compacted_revision(&self) -> Result<Revision, StorageError> {
        self.inner.probe_compacted().await
    }

    async fn compact(&self, revision: Revision) -> Result<(), StorageError> {
        let inner = &self.inner;
        let current = inner.header_revision().await?;
        if revision > current {
            return Err(StorageError::FutureRevision {
                requested: revision,
                current,
            });
        }
        let result = inner
            .call(true, |mut c| async move { c.compact(revision, None).await })
            .await;
        match result {
            Ok(_) => {
                inner.note_compacted(revision);
                Ok(())
            }
            Err(CallError::Answered(m)) if m.contains("compacted") => {
                let compacted = inner.probe_compacted().await?;
                if revision == compacted {
                    Ok(())
                } else {
                    Err(StorageError::Compacted {
                        requested: revision,
                        compacted,
                    })
                }
            }
            Err(e) => Err(inner.write_error(e)),
        }
    }

    async fn watch(&self, prefix: &str, after: Revision) -> Result<WatchStream, StorageError> {
        let inner = self.inner.clone();
        let eprefix = inner.etcd_key(prefix);
        let end = prefix_end(&eprefix);
        let from = if eprefix.is_empty() { vec![0] } else { eprefix };
        let (tx, rx) = mpsc::channel(WATCH_BUFFER);
        let stream = open_watch(&inner, &from, &end, after + 1).await?;
        tokio::spawn(run_watch(inner, from, end, after, stream, tx));
        Ok(WatchStream::from_receiver(rx))
    }
}

type EtcdWatch = etcd_client::WatchStream;

async fn open_watch(
    inner: &Inner,
    from: &[u8],
    end: &[u8],
    start: Revision,
) -> Result<EtcdWatch, StorageError> {
    let opts = WatchOptions::new()
        .with_range(end.to_vec())
        .with_start_revision(start)
        .with_prev_key();
    let result = inner
        .call_with(inner.client.clone(), true, |mut c| {
            let opts = opts.clone();
            let from = from.to_vec();
            async move { c.watch(from, Some(opts)).await }
        })
        .await;
    match result {
        Ok(w) => Ok(w),
        Err(CallError::Final(e)) => Err(e),
        Err(CallError::Answered(m)) | Err(CallError::Ambiguous(m)) => {
            Err(io_error(format!("etcd: {m}")))
        }
    }
}

/// Forwards one etcd watch as storage events; re-opens it from the next revision when the
/// connection fails (so events stay in order, without gaps or duplicates), ends with
/// [`StorageError::Compacted`] when etcd no longer has the history.
async fn run_watch(
    inner: Arc<Inner>,
    from: Vec<u8>,
    end: Vec<u8>,
    after: Revision,
    stream: EtcdWatch,
    tx: mpsc::Sender<Result<Event, StorageError>>,
) {
    let mut last = after;
    let mut stream = stream;
    let mut cancels = 0u32;
    loop {
        let msg = tokio::select! {
            _ = tx.closed() => return,
            m = stream.message() => m,
        };
        let resp = match msg {
            Ok(Some(resp)) => resp,
            Ok(None) | Err(_) => {
                // The connection went away: resume from the next revision.
                if let Err(e) = &msg {
                    tracing::debug!(error = %e, "etcd watch interrupted; resuming");
                }
                match open_watch(&inner, &from, &end, last + 1).await {
                    Ok(s) => {
                        stream = s;
                        continue;
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e)).await;
                        return;
                    }
                }
            }
        };
        if resp.compact_revision() > 0 {
            inner.note_compacted(resp.compact_revision());
            let _ = tx
                .send(Err(StorageError::Compacted {
                    requested: last,
                    compacted: resp.compact_revision(),
                }))
                .await;
            return;
        }
        if resp.canceled() {
            // For example `etcdserver: no leader` while the cluster elects one: re-open,
            // a few times, then give up with the reason.
            cancels += 1;
            let reason = resp.cancel_reason().to_string();
            if cancels > MAX_WATCH_CANCELS {
                let _ = tx
                    .send(Err(io_error(format!("etcd canceled the watch: {reason}"))))
                    .await;
                return;
            }
            tracing::debug!(reason, "etcd canceled a watch; resuming");
            tokio::time::sleep(Duration::from_millis(200) * cancels).await;
            match open_watch(&inner, &from, &end, last + 1).await {
                Ok(s) => {
                    stream = s;
                    continue;
                }
                Err(e) => {
                    let _ = tx.send(Err(e)).await;
                    return;
                }
            }
        }
        if !resp.events().is_empty() {
            cancels = 0;
        }
        for ev in resp.events() {
            let event = match convert_event(&inner, ev) {
                Ok(e) => e,
                Err(e) => {
                    let _ = tx.send(Err(e)).await;
                    return;
                }
            };
            if event.kv.mod_revision <= last {
                // Already delivered before a resume.
                continue;
            }
            last = event.kv.mod_revision;
            if tx.send(Ok(event)).await.is_err() {
                return;
            }
        }
    }
}

fn convert_event(inner: &Inner, ev: &etcd_client::Event) -> Result<Event, StorageError> {
    let kv = ev
        .kv()
        .ok_or_else(|| StorageError::Corrupt("etcd watch event without a key".into()))?;
    let prev = ev.prev_kv().map(|p| inner.key_value(p)).transpose()?;
    match ev.event_type() {
        EventType::Put => Ok(Event {
            kind: EventKind::Put,
            kv: inner.key_value(kv)?,
            prev,
        }),
        EventType::Delete => {
            let key = inner.server_key(kv.key())?;
            let last = match &prev {
                Some(p) => KeyValue {
                    mod_revision: kv.mod_revision(),
                    ..p.clone()
                },
                None => KeyValue {
                    key,
                    value: Bytes::new(),
                    create_revision: 0,
                    mod_revision: kv.mod_revision(),
                },
            };
            Ok(Event {
                kind: EventKind::Delete,
                kv: last,
                prev,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_go_duration("5m0s").unwrap(), Duration::from_secs(300));
        assert_eq!(
            parse_go_duration("1h30m").unwrap(),
            Duration::from_secs(5400)
        );
        assert_eq!(
            parse_go_duration("1.5s").unwrap(),
            Duration::from_millis(1500)
        );
        assert_eq!(
            parse_go_duration("250ms").unwrap(),
            Duration::from_millis(250)
        );
        assert_eq!(parse_go_duration("0").unwrap(), Duration::ZERO);
        assert_eq!(parse_go_duration("0s").unwrap(), Duration::ZERO);
        for bad in ["", "5", "m", "5x", "-1s", "1h-5m", "s5"] {
            assert!(parse_go_duration(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn prefix_ends() {
        assert_eq!(prefix_end(b"/registry/pods/"), b"/registry/pods0".to_vec());
        assert_eq!(prefix_end(b"a\xff"), b"b".to_vec());
        assert_eq!(prefix_end(b"\xff\xff"), vec![0]);
        assert_eq!(prefix_end(b""), vec![0]);
    }
}
