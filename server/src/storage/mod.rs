//! Storage layer: a revision-ordered key/value store with compare-and-swap on
//! the modification revision, range reads at a revision, and watch from a
//! revision.
//!
//! The semantics follow etcd v3 so that an etcd backend can implement the same
//! trait:
//!
//! - one global revision counter; every successful write (create, update,
//!   delete) gets the next revision, starting at 1;
//! - each key carries the revision it was created at (`create_revision`) and
//!   the revision of its last modification (`mod_revision`);
//! - writes can be made conditional on the key's current `mod_revision`;
//! - reads can be served at an older revision as long as that revision has
//!   not been compacted away;
//! - watches deliver every change with a revision greater than a starting
//!   revision, history first and then live, in revision order without gaps
//!   or duplicates, each event with the previous value of the key.
//!
//! The default backend is [`embedded::EmbeddedStore`]; [`etcd::EtcdStore`] keeps the
//! data in an etcd v3 cluster, laid out and encoded as kube-apiserver keeps it.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use serde_json::Value;

pub mod cache;
pub mod embedded;
pub mod etcd;
mod mvcc;
mod wal;

pub use embedded::{EmbeddedOptions, EmbeddedStats, EmbeddedStore};
pub use etcd::{EtcdOptions, EtcdStore};

/// A storage revision (etcd style). The first write gets revision 1; 0 means
/// "nothing written yet".
pub type Revision = i64;

/// One version of a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyValue {
    pub key: String,
    pub value: Bytes,
    /// Revision of the write that created this key (since its last deletion).
    pub create_revision: Revision,
    /// Revision of the last write to this key.
    pub mod_revision: Revision,
}

/// What a watch event reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    Put,
    Delete,
}

/// One change to one key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub kind: EventKind,
    /// For `Put`: the new version. For `Delete`: the key with its last value
    /// and `create_revision`, and `mod_revision` set to the deletion's
    /// revision.
    pub kv: KeyValue,
    /// The version of the key before this event, if it existed.
    pub prev: Option<KeyValue>,
}

impl Event {
    /// The revision at which this event happened.
    pub fn revision(&self) -> Revision {
        self.kv.mod_revision
    }
}

/// The answer of [`Storage::range`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RangeResult {
    pub kvs: Vec<KeyValue>,
    /// True when keys matched beyond the returned ones.
    pub more: bool,
    /// Number of matching keys after the returned ones.
    pub remaining: i64,
    /// The revision the read was served at.
    pub revision: Revision,
}

/// Errors of the storage layer.
#[derive(thiserror::Error, Debug)]
pub enum StorageError {
    #[error("key {key:?} not found")]
    NotFound { key: String },
    #[error("key {key:?} already exists")]
    AlreadyExists { key: String },
    /// A conditional write found a different `mod_revision`; `current` is the
    /// key's current version (None if it no longer exists), so callers can
    /// retry without another read.
    #[error("conflict on key {key:?}: the expected revision does not match")]
    Conflict {
        key: String,
        current: Option<KeyValue>,
    },
    #[error("revision {requested} has been compacted (compacted revision is {compacted})")]
    Compacted {
        requested: Revision,
        compacted: Revision,
    },
    #[error("revision {requested} is in the future (current revision is {current})")]
    FutureRevision {
        requested: Revision,
        current: Revision,
    },
    #[error("invalid storage request: {0}")]
    InvalidArgument(String),
    #[error("value of {size} bytes exceeds the limit of {limit} bytes")]
    ValueTooLarge { size: usize, limit: usize },
    #[error("storage I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("storage is corrupt: {0}")]
    Corrupt(String),
    #[error("storage is closed")]
    Closed,
}

impl StorageError {
    /// A copy of this error for fanning one failure out to several callers
    /// (`std::io::Error` is not `Clone`; its kind and message are kept).
    pub fn duplicate(&self) -> StorageError {
        match self {
            StorageError::NotFound { key } => StorageError::NotFound { key: key.clone() },
            StorageError::AlreadyExists { key } => StorageError::AlreadyExists { key: key.clone() },
            StorageError::Conflict { key, current } => StorageError::Conflict {
                key: key.clone(),
                current: current.clone(),
            },
            StorageError::Compacted {
                requested,
                compacted,
            } => StorageError::Compacted {
                requested: *requested,
                compacted: *compacted,
            },
            StorageError::FutureRevision { requested, current } => StorageError::FutureRevision {
                requested: *requested,
                current: *current,
            },
            StorageError::InvalidArgument(m) => StorageError::InvalidArgument(m.clone()),
            StorageError::ValueTooLarge { size, limit } => StorageError::ValueTooLarge {
                size: *size,
                limit: *limit,
            },
            StorageError::Io(e) => StorageError::Io(std::io::Error::new(e.kind(), e.to_string())),
            StorageError::Corrupt(m) => StorageError::Corrupt(m.clone()),
            StorageError::Closed => StorageError::Closed,
        }
    }
}

/// A stream of watch events. Ends after yielding an error (for example
/// [`StorageError::Compacted`] when the watcher fell behind the retained
/// history, or [`StorageError::Closed`]). Dropping it unregisters the watcher.
pub struct WatchStream {
    inner: Pin<Box<dyn Stream<Item = Result<Event, StorageError>> + Send>>,
}

impl WatchStream {
    /// Wraps any stream of events (used by backends).
    pub fn new(stream: impl Stream<Item = Result<Event, StorageError>> + Send + 'static) -> Self {
        WatchStream {
            inner: Box::pin(stream),
        }
    }

    /// Wraps the receiving end of a bounded channel (used by backends that
    /// push events).
    pub fn from_receiver(rx: tokio::sync::mpsc::Receiver<Result<Event, StorageError>>) -> Self {
        WatchStream::new(futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        }))
    }

    /// The next event; `None` once the stream has ended.
    pub async fn recv(&mut self) -> Option<Result<Event, StorageError>> {
        self.inner.next().await
    }
}

impl Stream for WatchStream {
    type Item = Result<Event, StorageError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

impl fmt::Debug for WatchStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WatchStream")
    }
}

/// The storage backend interface used by the whole server.
#[async_trait]
pub trait Storage: Send + Sync + 'static {
    /// The current version of `key`, if it exists.
    async fn get(&self, key: &str) -> Result<Option<KeyValue>, StorageError>;

    /// Keys starting with `prefix`, in lexicographic byte order, from `start`
    /// (inclusive; None = from the first key of the prefix), at most `limit`
    /// of them (0 = no limit), read at `revision` (None or Some(r <= 0) =
    /// current; a compacted revision -> [`StorageError::Compacted`]; a
    /// revision after the current one -> [`StorageError::FutureRevision`]).
    async fn range(
        &self,
        prefix: &str,
        start: Option<&str>,
        limit: usize,
        revision: Option<Revision>,
    ) -> Result<RangeResult, StorageError>;

    /// Creates `key`; fails with [`StorageError::AlreadyExists`] if it exists.
    async fn create(&self, key: &str, value: Bytes) -> Result<KeyValue, StorageError>;

    /// Creates `key` as [`Storage::create`] does, but only while `guard` (another key,
    /// e.g. the object's namespace) is still at `guard_revision`; otherwise fails with
    /// [`StorageError::Conflict`] naming `guard`, carrying its current version (None if
    /// it no longer exists). The etcd backend checks both in the create's transaction;
    /// this default checks the guard just before creating.
    async fn create_guarded(
        &self,
        key: &str,
        value: Bytes,
        guard: &str,
        guard_revision: Revision,
    ) -> Result<KeyValue, StorageError> {
        match self.get(guard).await? {
            Some(kv) if kv.mod_revision == guard_revision => self.create(key, value).await,
            current => Err(StorageError::Conflict {
                key: guard.to_string(),
                current,
            }),
        }
    }

    /// [`Storage::create`], or [`Storage::create_guarded`] with `guard`, for a value the
    /// caller also holds parsed: `object` is `value` as a JSON value (the same object,
    /// without `metadata.resourceVersion`). A backend that stores another encoding (etcd's
    /// protobuf) encodes from `object` instead of parsing `value` again; the default
    /// ignores it.
    async fn create_object(
        &self,
        key: &str,
        value: Bytes,
        object: &Value,
        guard: Option<(&str, Revision)>,
    ) -> Result<KeyValue, StorageError> {
        let _ = object;
        match guard {
            Some((g, rev)) => self.create_guarded(key, value, g, rev).await,
            None => self.create(key, value).await,
        }
    }

    /// [`Storage::update`] for a value the caller also holds parsed, as
    /// [`Storage::create_object`].
    async fn update_object(
        &self,
        key: &str,
        value: Bytes,
        object: &Value,
        expected_mod_revision: Option<Revision>,
    ) -> Result<KeyValue, StorageError> {
        let _ = object;
        self.update(key, value, expected_mod_revision).await
    }

    /// Replaces the value of an existing key, optionally only if its
    /// `mod_revision` equals `expected_mod_revision`. Fails with
    /// [`StorageError::NotFound`] or [`StorageError::Conflict`].
    async fn update(
        &self,
        key: &str,
        value: Bytes,
        expected_mod_revision: Option<Revision>,
    ) -> Result<KeyValue, StorageError>;

    /// Deletes an existing key, optionally only if its `mod_revision` equals
    /// `expected_mod_revision`. Returns the deleted value with `mod_revision`
    /// set to the deletion's revision.
    async fn delete(
        &self,
        key: &str,
        expected_mod_revision: Option<Revision>,
    ) -> Result<KeyValue, StorageError>;

    /// The revision of the last write (0 if nothing was written).
    async fn current_revision(&self) -> Result<Revision, StorageError>;

    /// The revision history was compacted at (0 if never). Reads and watches
    /// at revisions below it fail with [`StorageError::Compacted`].
    async fn compacted_revision(&self) -> Result<Revision, StorageError>;

    /// Drops history older than `revision` (the state at `revision` stays
    /// readable).
    async fn compact(&self, revision: Revision) -> Result<(), StorageError>;

    /// Every event on keys under `prefix` with a revision greater than
    /// `after`: history first, then live, strictly in revision order, without
    /// gaps or duplicates. `after` below the compacted revision ->
    /// [`StorageError::Compacted`].
    async fn watch(&self, prefix: &str, after: Revision) -> Result<WatchStream, StorageError>;
}

/// Read-modify-write with optimistic concurrency: reads `key`, calls `f` with
/// the current version, and writes the returned value conditionally on the
/// version it was computed from. On a conflict `f` is called again with the
/// version carried by the conflict error (no extra read). `f` returning
/// `Ok(None)` means "no change" and returns the current version unwritten.
pub async fn update_with<S, F, E>(store: &S, key: &str, mut f: F) -> Result<KeyValue, E>
where
    S: Storage + ?Sized,
    F: FnMut(&KeyValue) -> Result<Option<Bytes>, E> + Send,
    E: From<StorageError> + Send,
{
    let mut current = match store.get(key).await? {
        Some(kv) => kv,
        None => {
            return Err(StorageError::NotFound {
                key: key.to_string(),
            }
            .into());
        }
    };
    loop {
        let Some(value) = f(&current)? else {
            return Ok(current);
        };
        match store.update(key, value, Some(current.mod_revision)).await {
            Ok(kv) => return Ok(kv),
            Err(StorageError::Conflict {
                current: Some(kv), ..
            }) => current = kv,
            Err(StorageError::Conflict { current: None, .. }) => {
                return Err(StorageError::NotFound {
                    key: key.to_string(),
                }
                .into());
            }
            Err(e) => return Err(e.into()),
        }
    }
}
