//! Watch streams: the storage's revision-ordered events turned into Kubernetes watch
//! events, filtered by namespace and selectors, with bookmarks and timeouts.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use kiln_runtime::registry::ResourceInfo;
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;

use crate::errors::ApiError;
use crate::fields::FieldSelector;
use crate::labels::LabelSelector;
use crate::storage::{EventKind, Revision, StorageError};
use crate::store::{self, Store};

/// What a watch request asked for.
#[derive(Debug, Clone)]
pub struct WatchOptions {
    pub labels: Option<LabelSelector>,
    pub fields: Option<FieldSelector>,
    /// `resourceVersion` query value ("" when unset).
    pub resource_version: String,
    /// `sendInitialEvents` (watch-list).
    pub send_initial_events: Option<bool>,
    pub allow_bookmarks: bool,
    pub timeout: Duration,
}

/// How often an idle watch with bookmarks enabled gets one.
const BOOKMARK_INTERVAL: Duration = Duration::from_secs(60);
/// Per-watcher buffer of encoded events; a client that does not keep up is cut off.
const WATCH_BUFFER: usize = 1024;

/// One encoded watch event line.
fn frame(kind: &str, object: Value) -> Bytes {
    let mut m = Map::new();
    m.insert("type".into(), Value::String(kind.into()));
    m.insert("object".into(), object);
    let mut out = serde_json::to_vec(&Value::Object(m)).unwrap_or_default();
    out.push(b'\n');
    Bytes::from(out)
}

fn bookmark(r: &ResourceInfo, rv: Revision, initial_end: bool) -> Value {
    let mut meta = Map::new();
    meta.insert("resourceVersion".into(), Value::String(rv.to_string()));
    meta.insert("creationTimestamp".into(), Value::Null);
    if initial_end {
        meta.insert(
            "annotations".into(),
            json!({"k8s.io/initial-events-end": "true"}),
        );
    }
    json!({"kind": r.kind, "apiVersion": r.group_version(), "metadata": Value::Object(meta)})
}

/// Starts a watch; returns a receiver of encoded frames that ends when the watch does.
/// Errors before the stream starts (bad options) come back as `Err`.
pub async fn start(
    store: Arc<Store>,
    r: &'static ResourceInfo,
    namespace: Option<String>,
    opts: WatchOptions,
) -> Result<mpsc::Receiver<Bytes>, ApiError> {
    let prefix = store::collection_prefix(r, namespace.as_deref());
    let rv = opts.resource_version.as_str();
    let initial = match opts.send_initial_events {
        Some(v) => v,
        None => rv.is_empty() || rv == "0",
    };
    let (tx, rx) = mpsc::channel::<Bytes>(WATCH_BUFFER);

    // The starting point: a consistent snapshot (for initial events) or the given revision.
    let mut initial_frames = Vec::new();
    let start_rev: Revision;
    if initial {
        let res = store
            .storage
            .range(&prefix, None, 0, None)
            .await
            .map_err(|e| store::storage_error(r, "", e))?;
        if let Ok(min) = rv.parse::<Revision>()
            && min > res.revision
        {
            return Err(ApiError::timeout("Too large resource version", 1));
        }
        start_rev = res.revision;
        for kv in &res.kvs {
            let obj = store::decode_stored(r, kv)?;
            if store::matches_selectors(r, &obj, opts.labels.as_ref(), opts.fields.as_ref()) {
                initial_frames.push(frame("ADDED", obj));
            }
        }
        if opts.send_initial_events == Some(true) && opts.allow_bookmarks {
            initial_frames.push(frame("BOOKMARK", bookmark(r, start_rev, true)));
        }
    } else {
        start_rev = rv
            .parse::<Revision>()
            .map_err(|_| ApiError::bad_request(format!("invalid resource version: {rv:?}")))?;
    }

    let mut events = match store.storage.watch(&prefix, start_rev).await {
        Ok(ev) => Some(ev),
        Err(StorageError::Compacted {
            requested,
            compacted,
        }) => {
            // kube-apiserver answers 200 and then one ERROR event.
            let status = ApiError::expired(format!(
                "too old resource version: {requested} ({compacted})"
            ))
            .to_status();
            let _ = tx.try_send(frame("ERROR", status));
            return Ok(rx);
        }
        Err(e) => return Err(store::storage_error(r, "", e)),
    };

    tokio::spawn(async move {
        for f in initial_frames {
            if tx.send(f).await.is_err() {
                return;
            }
        }
        let deadline = tokio::time::Instant::now() + opts.timeout;
        let mut last_rev = start_rev;
        let mut ticker = tokio::time::interval_at(
            tokio::time::Instant::now() + BOOKMARK_INTERVAL,
            BOOKMARK_INTERVAL,
        );
        loop {
            let Some(stream) = events.as_mut() else {
                return;
            };
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => return,
                _ = ticker.tick(), if opts.allow_bookmarks => {
                    if tx.send(frame("BOOKMARK", bookmark(r, last_rev, false))).await.is_err() {
                        return;
                    }
                }
                ev = stream.recv() => {
                    let ev = match ev {
                        Some(Ok(ev)) => ev,
                        Some(Err(e)) => {
                            let status = match e {
                                StorageError::Compacted { requested, compacted } => ApiError::expired(format!("too old resource version: {requested} ({compacted})")),
                                other => ApiError::internal(other.to_string()),
                            };
                            let _ = tx.send(frame("ERROR", status.to_status())).await;
                            return;
                        }
                        None => return,
                    };
                    last_rev = ev.kv.mod_revision;
                    let Some(out) = translate(r, &ev, &opts) else { continue };
                    if tx.send(out).await.is_err() {
                        return;
                    }
                }
            }
        }
    });
    Ok(rx)
}

/// One storage event as a watch event for this watcher, or `None` when it does not see it.
fn translate(r: &ResourceInfo, ev: &crate::storage::Event, opts: &WatchOptions) -> Option<Bytes> {
    let sel =
        |v: &Value| store::matches_selectors(r, v, opts.labels.as_ref(), opts.fields.as_ref());
    let obj = store::decode_stored(r, &ev.kv).ok()?;
    match ev.kind {
        EventKind::Delete => sel(&obj).then(|| frame("DELETED", obj)),
        EventKind::Put => {
            let now = sel(&obj);
            let before = ev
                .prev
                .as_ref()
                .and_then(|p| store::decode_stored(r, p).ok())
                .map(|p| sel(&p));
            match (before, now) {
                (None, true) | (Some(false), true) => Some(frame("ADDED", obj)),
                (Some(true), true) => Some(frame("MODIFIED", obj)),
                // The object left the watcher's set.
                (Some(true), false) => Some(frame("DELETED", obj)),
                _ => None,
            }
        }
    }
}
