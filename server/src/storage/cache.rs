//! The watch cache: one upstream watch per resource type in front of either storage
//! backend, fanned out to any number of client watchers.
//!
//! For every resource prefix (`/registry/configmaps/`) that is watched or listed with
//! `resourceVersion=0`, the cache starts — lazily, on first use — one backend watch and
//! keeps:
//!
//! - the current state of every key under the prefix (for `resourceVersion=0` lists,
//!   which may be served from a cache as kube-apiserver's watch cache serves them);
//! - a bounded window of the most recent events (shared `Arc`s, never copied per
//!   watcher), so a watch from a recent `resourceVersion` replays from memory;
//! - a broadcast ring through which every live event reaches every watcher. Each watcher
//!   only holds a position in that ring: a watcher that falls more than the ring's
//!   capacity behind is cut off (its stream ends, the client re-lists or re-watches, as
//!   with kube-apiserver's "forcing watcher close due to unresponsiveness"), so a slow
//!   client never makes the server's memory grow.
//!
//! A watch from a revision older than the window is served by the backend directly,
//! which either still has that history or answers [`StorageError::Compacted`] (the
//! client's 410 "too old resource version"), so the cache never changes what a client
//! sees, only where it comes from.
//!
//! On a timer the cache also sends each watcher a *progress* marker carrying the cache's
//! current revision (an event-less notification, like etcd's progress notify): a
//! watcher whose selectors or namespace filter out recent events still learns how far the
//! resource has advanced, and bookmarks carry that revision. Markers are recognised with
//! [`is_progress`] and never reach clients as events.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::ops::Bound;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use parking_lot::Mutex;
use tokio::sync::{OnceCell, broadcast};

use super::{
    Event, EventKind, KeyValue, RangeResult, Revision, Storage, StorageError, WatchStream,
};

/// How a [`WatchCache`] is sized.
#[derive(Debug, Clone)]
pub struct CacheOptions {
    /// Events retained per resource for watches from a recent revision.
    pub window: usize,
    /// Events a watcher may fall behind before it is cut off (the shared broadcast ring).
    pub fanout: usize,
    /// How often watchers get a progress marker with the cache's revision.
    pub progress_interval: Duration,
}

impl Default for CacheOptions {
    fn default() -> Self {
        CacheOptions {
            window: 1024,
            fanout: 1024,
            progress_interval: Duration::from_secs(1),
        }
    }
}

/// Whether `ev` is the cache's progress marker (no key; its revision is the cache's
/// revision) rather than a change.
pub fn is_progress(ev: &Event) -> bool {
    ev.kv.key.is_empty()
}

fn progress(revision: Revision) -> Event {
    Event {
        kind: EventKind::Put,
        kv: KeyValue {
            key: String::new(),
            value: Bytes::new(),
            create_revision: 0,
            mod_revision: revision,
        },
        prev: None,
    }
}

/// The watch cache in front of a storage backend (see the module documentation).
pub struct WatchCache {
    storage: Arc<dyn Storage>,
    opts: CacheOptions,
    resources: Mutex<HashMap<String, Arc<OnceCell<Arc<Resource>>>>>,
}

impl std::fmt::Debug for WatchCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WatchCache")
            .field("opts", &self.opts)
            .field("resources", &self.resources.lock().len())
            .finish()
    }
}

/// The cache of one resource prefix.
struct Resource {
    state: Mutex<State>,
}

struct State {
    /// Current value of every key under the prefix.
    objects: BTreeMap<String, KeyValue>,
    /// Recent events, in revision order.
    window: VecDeque<Arc<Event>>,
    /// Every event after this revision is in `window` or still to come.
    window_start: Revision,
    /// The revision the cache reflects.
    revision: Revision,
    /// The revision of the last progress marker.
    progressed: Revision,
    /// Live fan-out; `None` once the upstream watch has ended.
    tx: Option<broadcast::Sender<Arc<Event>>>,
}

impl WatchCache {
    pub fn new(storage: Arc<dyn Storage>, opts: CacheOptions) -> Arc<WatchCache> {
        Arc::new(WatchCache {
            storage,
            opts: CacheOptions {
                window: opts.window.max(1),
                fanout: opts.fanout.max(1),
                progress_interval: opts.progress_interval,
            },
            resources: Mutex::new(HashMap::new()),
        })
    }

    /// The backend behind the cache.
    pub fn storage(&self) -> &Arc<dyn Storage> {
        &self.storage
    }

    /// Every event on keys under `prefix` (inside the resource prefix `resource`) after
    /// `after`, in revision order without gaps or duplicates, with progress markers
    /// ([`is_progress`]) in between. From the cache when its window reaches back to
    /// `after`, else from the backend (which may answer [`StorageError::Compacted`]).
    pub async fn watch(
        &self,
        resource: &str,
        prefix: &str,
        after: Revision,
    ) -> Result<WatchStream, StorageError> {
        if !prefix.starts_with(resource) {
            return Err(StorageError::InvalidArgument(format!(
                "watch prefix {prefix:?} is not inside {resource:?}"
            )));
        }
        let res = self.resource(resource).await?;
        let sub = {
            let st = res.state.lock();
            match &st.tx {
                Some(tx) if after >= st.window_start => {
                    let from = st.window.partition_point(|e| e.revision() <= after);
                    let replay: Vec<Arc<Event>> = st
                        .window
                        .range(from..)
                        .filter(|e| e.kv.key.starts_with(prefix))
                        .cloned()
                        .collect();
                    Some(Subscriber {
                        replay: replay.into_iter(),
                        rx: tx.subscribe(),
                        prefix: prefix.to_string(),
                        after,
                    })
                }
                _ => None,
            }
        };
        match sub {
            Some(sub) => Ok(WatchStream::new(futures_util::stream::unfold(
                sub,
                |mut s| async move { s.next().await.map(|ev| (Ok(ev), s)) },
            ))),
            None => self.storage.watch(prefix, after).await,
        }
    }

    /// Keys under `prefix` (inside the resource prefix `resource`) as the cache holds them:
    /// from `start` (inclusive), at most `limit` (0 = all), at the cache's revision, with
    /// the same `more`/`remaining` as [`Storage::range`].
    pub async fn range(
        &self,
        resource: &str,
        prefix: &str,
        start: Option<&str>,
        limit: usize,
    ) -> Result<RangeResult, StorageError> {
        if !prefix.starts_with(resource) {
            return Err(StorageError::InvalidArgument(format!(
                "range prefix {prefix:?} is not inside {resource:?}"
            )));
        }
        let res = self.resource(resource).await?;
        let st = res.state.lock();
        let from = match start {
            Some(s) if s > prefix => s,
            _ => prefix,
        };
        let mut kvs = Vec::new();
        let mut remaining = 0i64;
        for (key, kv) in st
            .objects
            .range::<str, _>((Bound::Included(from), Bound::Unbounded))
        {
            if !key.starts_with(prefix) {
                break;
            }
            if limit == 0 || kvs.len() < limit {
                kvs.push(kv.clone());
            } else {
                remaining += 1;
            }
        }
        Ok(RangeResult {
            kvs,
            more: remaining > 0,
            remaining,
            revision: st.revision,
        })
    }

    /// The revision the cache of `resource` reflects (starting its cache if needed).
    pub async fn revision(&self, resource: &str) -> Result<Revision, StorageError> {
        Ok(self.resource(resource).await?.state.lock().revision)
    }

    /// The running cache of `resource`, started on first use (or again after its
    /// upstream watch ended).
    async fn resource(&self, resource: &str) -> Result<Arc<Resource>, StorageError> {
        for _ in 0..3 {
            let cell = self
                .resources
                .lock()
                .entry(resource.to_string())
                .or_default()
                .clone();
            let res = cell
                .get_or_try_init(|| self.start_resource(resource))
                .await?
                .clone();
            if res.state.lock().tx.is_some() {
                return Ok(res);
            }
            // Its upstream ended: forget it (unless someone already did) and start anew.
            let mut map = self.resources.lock();
            if map.get(resource).is_some_and(|c| Arc::ptr_eq(c, &cell)) {
                map.remove(resource);
            }
        }
        Err(StorageError::Closed)
    }

    async fn start_resource(&self, resource: &str) -> Result<Arc<Resource>, StorageError> {
        let snapshot = self.storage.range(resource, None, 0, None).await?;
        let at = snapshot.revision;
        // Watch from a little before the snapshot so the window starts with recent
        // history: watchers starting from a revision a client just listed at are then
        // served by the cache even when they arrive as it starts.
        let compacted = self.storage.compacted_revision().await?;
        let back = Revision::try_from(self.opts.window).unwrap_or(Revision::MAX);
        let mut from = at.saturating_sub(back).max(compacted).max(0);
        let upstream = match self.storage.watch(resource, from).await {
            Ok(w) => w,
            Err(StorageError::Compacted { .. }) => {
                from = at;
                self.storage.watch(resource, at).await?
            }
            Err(e) => return Err(e),
        };
        let (tx, _) = broadcast::channel(self.opts.fanout);
        let res = Arc::new(Resource {
            state: Mutex::new(State {
                objects: snapshot
                    .kvs
                    .into_iter()
                    .map(|kv| (kv.key.clone(), kv))
                    .collect(),
                window: VecDeque::new(),
                window_start: from,
                revision: at,
                progressed: at,
                tx: Some(tx),
            }),
        });
        tokio::spawn(dispatch(
            res.clone(),
            upstream,
            at,
            self.opts.window,
            self.opts.progress_interval,
        ));
        Ok(res)
    }
}

/// Feeds one resource's cache from its upstream watch until the watch ends.
async fn dispatch(
    res: Arc<Resource>,
    mut upstream: WatchStream,
    snapshot: Revision,
    window: usize,
    progress_interval: Duration,
) {
    let mut ticker = tokio::time::interval(progress_interval.max(Duration::from_millis(1)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            ev = upstream.recv() => {
                let ev = match ev {
                    Some(Ok(ev)) => ev,
                    Some(Err(e)) => {
                        tracing::warn!(error = %e, "watch cache: upstream watch failed; restarting on next use");
                        break;
                    }
                    None => break,
                };
                let rev = ev.revision();
                let ev = Arc::new(ev);
                let mut st = res.state.lock();
                // The snapshot already holds changes up to its revision.
                if rev > snapshot {
                    match ev.kind {
                        EventKind::Put => {
                            st.objects.insert(ev.kv.key.clone(), ev.kv.clone());
                        }
                        EventKind::Delete => {
                            st.objects.remove(&ev.kv.key);
                        }
                    }
                    st.revision = rev;
                }
                st.window.push_back(ev.clone());
                while st.window.len() > window {
                    if let Some(old) = st.window.pop_front() {
                        st.window_start = old.revision();
                    }
                }
                if let Some(tx) = &st.tx {
                    // No receivers is not an error: nobody watches right now.
                    let _ = tx.send(ev);
                }
            }
            _ = ticker.tick() => {
                let mut st = res.state.lock();
                if st.revision > st.progressed {
                    st.progressed = st.revision;
                    let marker = Arc::new(progress(st.revision));
                    if let Some(tx) = &st.tx {
                        let _ = tx.send(marker);
                    }
                }
            }
        }
    }
    // Ending the fan-out ends every watcher's stream after what it already has; clients
    // re-watch and the next use starts a fresh cache.
    res.state.lock().tx = None;
}

/// One watcher's position: history to replay, then its place in the broadcast ring.
struct Subscriber {
    replay: std::vec::IntoIter<Arc<Event>>,
    rx: broadcast::Receiver<Arc<Event>>,
    prefix: String,
    after: Revision,
}

impl Subscriber {
    async fn next(&mut self) -> Option<Event> {
        if let Some(ev) = self.replay.next() {
            self.after = ev.revision();
            return Some(Event::clone(&ev));
        }
        loop {
            match self.rx.recv().await {
                Ok(ev) => {
                    // Already delivered (or before the requested start).
                    if ev.revision() <= self.after {
                        continue;
                    }
                    if is_progress(&ev) {
                        self.after = ev.revision();
                        return Some(Event::clone(&ev));
                    }
                    if !ev.kv.key.starts_with(&self.prefix) {
                        continue;
                    }
                    self.after = ev.revision();
                    return Some(Event::clone(&ev));
                }
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::info!(
                        prefix = %self.prefix,
                        missed = n,
                        "watch cache: closing a watcher that fell behind"
                    );
                    return None;
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::embedded::{EmbeddedOptions, EmbeddedStore};

    fn backend(dir: &tempfile::TempDir) -> Arc<dyn Storage> {
        let opts = EmbeddedOptions {
            fsync: false,
            retain_revisions: None,
            ..Default::default()
        };
        match EmbeddedStore::open(dir.path(), opts) {
            Ok(s) => s,
            Err(e) => panic!("open: {e}"),
        }
    }

    fn cache(storage: &Arc<dyn Storage>, window: usize, fanout: usize) -> Arc<WatchCache> {
        WatchCache::new(
            storage.clone(),
            CacheOptions {
                window,
                fanout,
                progress_interval: Duration::from_secs(3600),
            },
        )
    }

    async fn put(s: &Arc<dyn Storage>, key: &str, v: &str) -> Revision {
        let value = Bytes::from(v.to_string());
        let kv = match s.get(key).await.unwrap_or(None) {
            Some(_) => s.update(key, value, None).await,
            None => s.create(key, value).await,
        };
        match kv {
            Ok(kv) => kv.mod_revision,
            Err(e) => panic!("write {key}: {e}"),
        }
    }

    /// The next non-progress event, or None when the stream ends or stalls for 2 s.
    async fn next(w: &mut WatchStream) -> Option<Event> {
        loop {
            match tokio::time::timeout(Duration::from_secs(2), w.recv()).await {
                Ok(Some(Ok(ev))) if is_progress(&ev) => continue,
                Ok(Some(Ok(ev))) => return Some(ev),
                Ok(Some(Err(e))) => panic!("watch error: {e}"),
                Ok(None) | Err(_) => return None,
            }
        }
    }

    async fn watch(c: &WatchCache, prefix: &str, after: Revision) -> WatchStream {
        match c.watch("/registry/cms/", prefix, after).await {
            Ok(w) => w,
            Err(e) => panic!("watch: {e}"),
        }
    }

    #[tokio::test]
    async fn every_watcher_sees_every_event_in_order() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let s = backend(&dir);
        let base = put(&s, "/registry/cms/a/x", "0").await;
        let c = cache(&s, 64, 64);
        // Three watchers from different points: the start, mid-way (from the window) and
        // all of the namespace "a" only.
        let mut all = watch(&c, "/registry/cms/", base).await;
        let writer = {
            let s = s.clone();
            tokio::spawn(async move {
                let mut revs = Vec::new();
                for i in 0..40 {
                    let ns = if i % 2 == 0 { "a" } else { "b" };
                    revs.push((
                        ns,
                        put(
                            &s,
                            &format!("/registry/cms/{ns}/o{}", i % 5),
                            &i.to_string(),
                        )
                        .await,
                    ));
                }
                revs
            })
        };
        let revs = writer.await.unwrap_or_default();
        let mid = revs[10].1;
        let mut late = watch(&c, "/registry/cms/", mid).await;
        let mut only_a = watch(&c, "/registry/cms/a/", base).await;
        let want_all: Vec<Revision> = revs.iter().map(|r| r.1).collect();
        let want_late: Vec<Revision> = want_all.iter().copied().filter(|r| *r > mid).collect();
        let want_a: Vec<Revision> = revs.iter().filter(|r| r.0 == "a").map(|r| r.1).collect();
        for (w, want) in [
            (&mut all, want_all),
            (&mut late, want_late),
            (&mut only_a, want_a),
        ] {
            let mut got = Vec::new();
            while got.len() < want.len() {
                match next(w).await {
                    Some(ev) => got.push(ev.revision()),
                    None => break,
                }
            }
            assert_eq!(got, want);
        }
        // Updates carry the previous value, as the backend's events do.
        let rev = put(&s, "/registry/cms/a/x", "again").await;
        let ev = next(&mut all).await.unwrap_or_else(|| panic!("no event"));
        assert_eq!(ev.revision(), rev);
        assert_eq!(ev.prev.map(|p| p.value), Some(Bytes::from("0")));
    }

    #[tokio::test]
    async fn a_slow_watcher_is_cut_off_and_others_are_not() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let s = backend(&dir);
        let c = cache(&s, 16, 8);
        let start = c.revision("/registry/cms/").await.unwrap_or(-1);
        let mut slow = watch(&c, "/registry/cms/", start).await;
        let mut fast = watch(&c, "/registry/cms/", start).await;
        let reader = tokio::spawn(async move {
            let mut n = 0;
            while n < 50 && next(&mut fast).await.is_some() {
                n += 1;
            }
            n
        });
        for i in 0..50 {
            put(&s, &format!("/registry/cms/a/o{i}"), "v").await;
            tokio::task::yield_now().await;
        }
        assert_eq!(reader.await.unwrap_or(0), 50);
        // The slow watcher gets at most what fits, then its stream ends.
        let mut got = 0;
        while next(&mut slow).await.is_some() {
            got += 1;
        }
        assert!(got < 50, "slow watcher got {got} events");
    }

    #[tokio::test]
    async fn older_than_the_window_falls_back_to_the_backend_or_410() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let s = backend(&dir);
        let first = put(&s, "/registry/cms/a/x", "0").await;
        let c = cache(&s, 4, 64);
        let start = c.revision("/registry/cms/").await.unwrap_or(-1);
        let mut revs = Vec::new();
        for i in 0..10 {
            revs.push(put(&s, &format!("/registry/cms/a/o{i}"), "v").await);
        }
        // Let the cache take them in; its window now holds only the last 4.
        let res = c
            .resource("/registry/cms/")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        for _ in 0..200 {
            if res.state.lock().revision == revs[9] {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(res.state.lock().window_start, revs[5]);
        let mut w = watch(&c, "/registry/cms/", revs[5]).await;
        for want in &revs[6..] {
            assert_eq!(next(&mut w).await.map(|e| e.revision()), Some(*want));
        }
        // Older than the window: the backend still has it.
        let mut old = watch(&c, "/registry/cms/", start).await;
        for want in &revs {
            assert_eq!(next(&mut old).await.map(|e| e.revision()), Some(*want));
        }
        // Once compacted, the answer is the backend's "too old".
        if let Err(e) = s.compact(revs[8]).await {
            panic!("compact: {e}");
        }
        match c.watch("/registry/cms/", "/registry/cms/", first).await {
            Err(StorageError::Compacted { requested, .. }) => assert_eq!(requested, first),
            Err(e) => panic!("unexpected error {e}"),
            Ok(_) => panic!("a compacted revision was served"),
        }
    }

    #[tokio::test]
    async fn progress_markers_carry_the_cache_revision_on_a_timer() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let s = backend(&dir);
        let c = WatchCache::new(
            s.clone(),
            CacheOptions {
                window: 16,
                fanout: 16,
                progress_interval: Duration::from_millis(50),
            },
        );
        let start = c.revision("/registry/cms/").await.unwrap_or(-1);
        let mut a = watch(&c, "/registry/cms/a/", start).await;
        // Only namespace b changes: watchers of a see no event, but do see the revision.
        let rev = put(&s, "/registry/cms/b/x", "v").await;
        let marker = tokio::time::timeout(Duration::from_secs(2), a.recv()).await;
        match marker {
            Ok(Some(Ok(ev))) => {
                assert!(is_progress(&ev));
                assert_eq!(ev.revision(), rev);
            }
            _ => panic!("no progress marker"),
        }
        // No change, no further marker.
        assert!(
            tokio::time::timeout(Duration::from_millis(300), a.recv())
                .await
                .is_err()
        );
    }

    #[tokio::test]
    async fn lists_from_the_cache_match_storage() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let s = backend(&dir);
        for (ns, n) in [("a", 3), ("b", 4)] {
            for i in 0..n {
                put(&s, &format!("/registry/cms/{ns}/o{i}"), "v").await;
            }
        }
        let c = cache(&s, 16, 16);
        let page = c
            .range("/registry/cms/", "/registry/cms/b/", None, 3)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let direct = s
            .range("/registry/cms/b/", None, 3, None)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(page, direct);
        assert!(page.more);
        assert_eq!(page.remaining, 1);
        // Later changes show up once the cache has taken them in.
        let deleted = s
            .delete("/registry/cms/a/o0", None)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let mut w = watch(&c, "/registry/cms/", deleted.mod_revision - 1).await;
        assert_eq!(next(&mut w).await.map(|e| e.kind), Some(EventKind::Delete));
        let all = c
            .range("/registry/cms/", "/registry/cms/", None, 0)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let direct = s
            .range("/registry/cms/", None, 0, None)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(all, direct);
        // From a start key, and a prefix outside the resource is refused.
        let rest = c
            .range(
                "/registry/cms/",
                "/registry/cms/",
                Some("/registry/cms/b/o2"),
                0,
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rest.kvs.len(), 2);
        assert!(matches!(
            c.range("/registry/cms/", "/registry/other/", None, 0).await,
            Err(StorageError::InvalidArgument(_))
        ));
    }
}
