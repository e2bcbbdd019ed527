//! Watch streams: the storage's revision-ordered events turned into Kubernetes watch
//! events, filtered by namespace and selectors, with bookmarks and timeouts, written as
//! JSON lines or protobuf frames ([`Encoding`]).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use kiln_runtime::registry::ResourceInfo;
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;

use crate::errors::ApiError;
use crate::fields::FieldSelector;
use crate::labels::LabelSelector;
use crate::negotiate::{Media, MetaVersion, Negotiated, Target};
use crate::protobuf;
use crate::storage::{EventKind, Revision, StorageError};
use crate::store::{self, Store};
use crate::table::{Ctx, Include};

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

/// How the events of one watch are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Encoding {
    /// JSON (one event per line) or protobuf (length-prefixed `WatchEvent` frames).
    pub media: Media,
    /// What each event object becomes (ERROR events keep their `Status`).
    pub shape: Shape,
}

/// The form of the objects in a watch's events (kube's `watchEmbeddedEncoder` transform).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// The objects themselves.
    Object,
    /// `as=PartialObjectMetadata`: each object reduced to its metadata.
    PartialObjectMetadata(MetaVersion),
    /// `as=Table`: each object as a one-row `Table`. Only the first event of the stream
    /// carries `columnDefinitions` (`headers` is true until a frame has been written);
    /// later tables have them null, as kube's `TableOptions.noHeaders` gives.
    Table {
        version: MetaVersion,
        include: Include,
        headers: bool,
    },
}

impl Encoding {
    /// Plain JSON events.
    pub const JSON: Encoding = Encoding {
        media: Media::Json,
        shape: Shape::Object,
    };

    /// The encoding a negotiated watch response asks for; `include_object` is the
    /// `includeObject` query value, read (and rejected with a 400 when unknown) only
    /// for Table output, before the stream starts.
    pub fn negotiated(
        neg: &Negotiated,
        include_object: Option<&str>,
    ) -> Result<Encoding, ApiError> {
        let shape = match neg.target {
            Target::PartialObjectMetadata { version } => Shape::PartialObjectMetadata(version),
            Target::Table { version } => Shape::Table {
                version,
                include: Include::parse(include_object)?,
                headers: true,
            },
            // kube fails to transform single objects into a PartialObjectMetadataList and
            // then writes the untransformed object.
            _ => Shape::Object,
        };
        Ok(Encoding {
            media: neg.media,
            shape,
        })
    }

    /// One encoded watch event for an object of `r`.
    pub fn frame(&mut self, r: &ResourceInfo, kind: &str, object: Value) -> Bytes {
        let object = self.transform(r, kind, object);
        match self.media {
            Media::Protobuf => match protobuf::encode_value(&object) {
                Ok(raw) => Bytes::from(protobuf::watch_frame(kind, &raw)),
                Err(e) => {
                    let status = ApiError::internal(format!(
                        "unable to encode watch event as protobuf: {e}"
                    ))
                    .to_status();
                    let raw = protobuf::encode_value(&status).unwrap_or_default();
                    Bytes::from(protobuf::watch_frame("ERROR", &raw))
                }
            },
            _ => json_line(kind, object),
        }
    }

    /// The event object in this watch's shape. A `Status` (ERROR events) is written as
    /// is; like kube, the table headers are spent by the first event whatever its type,
    /// and an object that cannot be made a table is written untransformed.
    fn transform(&mut self, r: &ResourceInfo, kind: &str, object: Value) -> Value {
        let is_status = kind == "ERROR";
        match &mut self.shape {
            Shape::Object => object,
            Shape::PartialObjectMetadata(_) if is_status => object,
            Shape::PartialObjectMetadata(version) => {
                crate::table::partial_object_metadata(&object, version.as_str())
            }
            Shape::Table {
                version,
                include,
                headers,
            } => {
                let first = std::mem::replace(headers, false);
                if is_status {
                    return object;
                }
                let fallback = object.clone();
                crate::table::single_with(r, object, *include, version.as_str(), first, &Ctx::now())
                    .unwrap_or(fallback)
            }
        }
    }
}

/// One JSON watch event line.
fn json_line(kind: &str, object: Value) -> Bytes {
    let mut m = Map::new();
    m.insert("type".into(), Value::String(kind.into()));
    m.insert("object".into(), object);
    let mut out = crate::gojson::to_vec(&Value::Object(m)).unwrap_or_default();
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
    mut enc: Encoding,
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
        // "0" = any state: the watch cache's; unset = the latest, from storage.
        let res = if rv == "0" {
            store
                .cache
                .range(&store::resource_prefix(r), &prefix, None, 0)
                .await
        } else {
            store.storage.range(&prefix, None, 0, None).await
        }
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
                initial_frames.push(enc.frame(r, "ADDED", obj));
            }
        }
        if opts.send_initial_events == Some(true) && opts.allow_bookmarks {
            initial_frames.push(enc.frame(r, "BOOKMARK", bookmark(r, start_rev, true)));
        }
    } else {
        start_rev = rv
            .parse::<Revision>()
            .map_err(|_| ApiError::bad_request(format!("invalid resource version: {rv:?}")))?;
    }

    let mut events = match store
        .cache
        .watch(&store::resource_prefix(r), &prefix, start_rev)
        .await
    {
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
            let _ = tx.try_send(enc.frame(r, "ERROR", status));
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
                    if tx.send(enc.frame(r, "BOOKMARK", bookmark(r, last_rev, false))).await.is_err() {
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
                            let _ = tx.send(enc.frame(r, "ERROR", status.to_status())).await;
                            return;
                        }
                        None => return,
                    };
                    last_rev = ev.kv.mod_revision;
                    if crate::storage::cache::is_progress(&ev) {
                        continue;
                    }
                    let Some(out) = translate(r, &ev, &opts, &mut enc) else { continue };
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
fn translate(
    r: &ResourceInfo,
    ev: &crate::storage::Event,
    opts: &WatchOptions,
    enc: &mut Encoding,
) -> Option<Bytes> {
    let sel =
        |v: &Value| store::matches_selectors(r, v, opts.labels.as_ref(), opts.fields.as_ref());
    let obj = store::decode_stored(r, &ev.kv).ok()?;
    match ev.kind {
        EventKind::Delete => sel(&obj).then(|| enc.frame(r, "DELETED", obj)),
        EventKind::Put => {
            let now = sel(&obj);
            let before = ev
                .prev
                .as_ref()
                .and_then(|p| store::decode_stored(r, p).ok())
                .map(|p| sel(&p));
            match (before, now) {
                (None, true) | (Some(false), true) => Some(enc.frame(r, "ADDED", obj)),
                (Some(true), true) => Some(enc.frame(r, "MODIFIED", obj)),
                // The object left the watcher's set.
                (Some(true), false) => Some(enc.frame(r, "DELETED", obj)),
                _ => None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn configmaps() -> &'static ResourceInfo {
        kiln_generated::REGISTRY
            .iter()
            .filter(|g| g.name.is_empty())
            .flat_map(|g| g.versions.iter())
            .flat_map(|v| v.resources.iter())
            .find(|r| r.plural == "configmaps")
            .unwrap_or_else(|| panic!("no configmaps"))
    }

    fn cm() -> Value {
        json!({"kind": "ConfigMap", "apiVersion": "v1",
               "metadata": {"name": "a", "resourceVersion": "5"}, "data": {"k": "v"}})
    }

    /// (event type, apiVersion, kind, raw message) of one protobuf frame.
    fn open_frame(b: &[u8]) -> (String, String, String, Vec<u8>) {
        use bytes::Buf;
        use prost::encoding::{self, DecodeContext};
        let len = u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize;
        assert_eq!(len, b.len() - 4);
        let mut buf = &b[4..];
        let (mut ty, mut ext) = (String::new(), Vec::new());
        while buf.has_remaining() {
            let (tag, wire) = encoding::decode_key(&mut buf).unwrap_or_else(|e| panic!("{e}"));
            match tag {
                1 => encoding::string::merge(wire, &mut ty, &mut buf, DecodeContext::default()),
                _ => encoding::bytes::merge(wire, &mut ext, &mut buf, DecodeContext::default()),
            }
            .unwrap_or_else(|e| panic!("{e}"));
        }
        let mut ext = ext.as_slice();
        let mut raw = Vec::new();
        let (_, wire) = encoding::decode_key(&mut ext).unwrap_or_else(|e| panic!("{e}"));
        encoding::bytes::merge(wire, &mut raw, &mut ext, DecodeContext::default())
            .unwrap_or_else(|e| panic!("{e}"));
        let u = protobuf::decode_envelope(&raw).unwrap_or_else(|e| panic!("{e}"));
        (ty, u.api_version, u.kind, u.raw)
    }

    #[test]
    fn json_events_are_lines() {
        let r = configmaps();
        let mut plain = Encoding::JSON;
        let f = plain.frame(r, "ADDED", cm());
        assert!(f.ends_with(b"\n"));
        let v: Value = serde_json::from_slice(&f).unwrap_or_default();
        assert_eq!(v["type"], "ADDED");
        assert_eq!(v["object"], cm());
        let mut meta = Encoding {
            media: Media::Json,
            shape: Shape::PartialObjectMetadata(MetaVersion::V1),
        };
        let v: Value = serde_json::from_slice(&meta.frame(r, "MODIFIED", cm())).unwrap_or_default();
        assert_eq!(v["object"]["kind"], "PartialObjectMetadata");
        assert_eq!(v["object"]["apiVersion"], "meta.k8s.io/v1");
        assert_eq!(v["object"]["metadata"]["name"], "a");
        assert!(v["object"].get("data").is_none());
    }

    #[test]
    fn protobuf_events_are_frames() {
        let r = configmaps();
        let mut pb = Encoding {
            media: Media::Protobuf,
            shape: Shape::Object,
        };
        let (ty, av, kind, raw) = open_frame(&pb.frame(r, "DELETED", cm()));
        assert_eq!(
            (ty.as_str(), av.as_str(), kind.as_str()),
            ("DELETED", "v1", "ConfigMap")
        );
        assert!(!raw.is_empty());
        // ERROR events carry a Status, never reduced to metadata.
        let mut meta = Encoding {
            media: Media::Protobuf,
            shape: Shape::PartialObjectMetadata(MetaVersion::V1beta1),
        };
        let status = ApiError::expired("too old resource version: 1 (2)").to_status();
        let (ty, av, kind, _) = open_frame(&meta.frame(r, "ERROR", status));
        assert_eq!(
            (ty.as_str(), av.as_str(), kind.as_str()),
            ("ERROR", "v1", "Status")
        );
        let (_, av, kind, _) = open_frame(&meta.frame(r, "ADDED", cm()));
        assert_eq!(
            (av.as_str(), kind.as_str()),
            ("meta.k8s.io/v1beta1", "PartialObjectMetadata")
        );
        // An object that cannot be encoded becomes an ERROR event, not a broken stream.
        let bad = json!({"kind": "ConfigMap", "apiVersion": "v1", "data": 5});
        let (ty, _, kind, _) = open_frame(&pb.frame(r, "ADDED", bad));
        assert_eq!((ty.as_str(), kind.as_str()), ("ERROR", "Status"));
    }

    #[test]
    fn negotiated_encodings() {
        let neg = crate::negotiate::negotiate(
            Some("application/vnd.kubernetes.protobuf;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"),
            false,
            true,
            false,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            Encoding::negotiated(&neg, Some("bogus")).ok(),
            Some(Encoding {
                media: Media::Protobuf,
                shape: Shape::PartialObjectMetadata(MetaVersion::V1)
            })
        );
        let neg =
            crate::negotiate::negotiate(None, false, true, false).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(Encoding::negotiated(&neg, None).ok(), Some(Encoding::JSON));
        // kubectl get -w: Table, includeObject parsed up front (400 when unknown).
        let neg = crate::negotiate::negotiate(Some(KUBECTL_TABLE), false, true, false)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            Encoding::negotiated(&neg, Some("Object")).ok(),
            Some(Encoding {
                media: Media::Json,
                shape: Shape::Table {
                    version: MetaVersion::V1,
                    include: Include::Object,
                    headers: true
                }
            })
        );
        let err = Encoding::negotiated(&neg, Some("bogus"))
            .err()
            .map(|e| e.to_status());
        assert_eq!(err.as_ref().map(|s| s["code"].clone()), Some(json!(400)));
        // A watch cannot stream Table as YAML or protobuf: negotiation falls through.
        let neg = crate::negotiate::negotiate(
            Some(
                "application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io,application/json",
            ),
            false,
            true,
            false,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(Encoding::negotiated(&neg, None).ok(), Some(Encoding::JSON));
    }

    const KUBECTL_TABLE: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";

    fn table_encoding(include: Include) -> Encoding {
        Encoding {
            media: Media::Json,
            shape: Shape::Table {
                version: MetaVersion::V1,
                include,
                headers: true,
            },
        }
    }

    fn event(f: &Bytes) -> Value {
        serde_json::from_slice(f).unwrap_or_default()
    }

    #[test]
    fn table_events_carry_headers_once() {
        let r = configmaps();
        let mut enc = table_encoding(Include::Metadata);
        let first = event(&enc.frame(r, "ADDED", cm()));
        assert_eq!(first["type"], "ADDED");
        let t = &first["object"];
        assert_eq!(t["kind"], "Table");
        assert_eq!(t["apiVersion"], "meta.k8s.io/v1");
        assert_eq!(t["metadata"], json!({"resourceVersion": "5"}));
        let names: Vec<Value> = t["columnDefinitions"]
            .as_array()
            .map(|c| c.iter().map(|d| d["name"].clone()).collect())
            .unwrap_or_default();
        assert_eq!(names, vec![json!("Name"), json!("Data"), json!("Age")]);
        assert_eq!(t["rows"].as_array().map(Vec::len), Some(1));
        assert_eq!(t["rows"][0]["cells"][0], "a");
        assert_eq!(t["rows"][0]["cells"][1], 1);
        assert_eq!(t["rows"][0]["object"]["kind"], "PartialObjectMetadata");
        assert_eq!(t["rows"][0]["object"]["metadata"]["name"], "a");
        // Later events: columnDefinitions present but null, one row each.
        for kind in ["MODIFIED", "DELETED", "BOOKMARK"] {
            let ev = event(&enc.frame(r, kind, cm()));
            assert_eq!(ev["type"], kind);
            let obj = ev["object"].as_object().cloned().unwrap_or_default();
            assert_eq!(obj.get("columnDefinitions"), Some(&Value::Null));
            assert_eq!(obj.get("kind"), Some(&json!("Table")));
            assert_eq!(ev["object"]["rows"][0]["cells"][0], "a");
        }
    }

    #[test]
    fn table_error_events_keep_status_and_spend_headers() {
        let r = configmaps();
        let mut enc = table_encoding(Include::None);
        let status = ApiError::expired("too old resource version: 1 (2)").to_status();
        let ev = event(&enc.frame(r, "ERROR", status.clone()));
        assert_eq!(ev["object"], status);
        // As in kube, the first event used up the headers even though it was a Status.
        let ev = event(&enc.frame(r, "ADDED", cm()));
        assert_eq!(ev["object"]["columnDefinitions"], Value::Null);
        assert_eq!(ev["object"]["rows"][0]["object"], Value::Null);
        // includeObject=Object keeps the whole object in the row.
        let mut enc = table_encoding(Include::Object);
        let ev = event(&enc.frame(r, "ADDED", cm()));
        assert_eq!(ev["object"]["rows"][0]["object"], cm());
        assert!(ev["object"]["columnDefinitions"].is_array());
    }
}
