//! The in-memory multi-version index of the embedded store.
//!
//! Per key it keeps every version written after the compacted revision plus
//! the version that was current at the compacted revision (if the key existed
//! then), so reads at any revision in `[compacted, current]` are exact. A
//! revision log maps every revision in `(compacted, current]` to its key, which
//! is what watches replay.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::ops::Bound;
use std::sync::Arc;

use bytes::Bytes;

use super::{Event, EventKind, KeyValue, Revision, StorageError};

/// One version of a key: a value (with its create revision) or a tombstone.
#[derive(Clone, Debug)]
pub(crate) struct Version {
    pub rev: Revision,
    /// `None` for a deletion.
    pub value: Option<(Revision, Bytes)>,
}

/// A write as applied to the index (and as logged).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Mutation {
    Put {
        key: String,
        rev: Revision,
        create_rev: Revision,
        value: Bytes,
    },
    Delete {
        key: String,
        rev: Revision,
    },
}

#[derive(Debug, Default)]
pub(crate) struct Mvcc {
    keys: BTreeMap<Arc<str>, Vec<Version>>,
    /// Key written at each revision in `(compacted, current]`.
    revs: VecDeque<Arc<str>>,
    current: Revision,
    compacted: Revision,
}

fn kv_of(key: &str, rev: Revision, create_rev: Revision, value: &Bytes) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value: value.clone(),
        create_revision: create_rev,
        mod_revision: rev,
    }
}

/// The version of a key visible at `at`.
fn version_at(versions: &[Version], at: Revision) -> Option<&Version> {
    let idx = versions.partition_point(|v| v.rev <= at);
    if idx == 0 {
        None
    } else {
        versions.get(idx - 1)
    }
}

impl Mvcc {
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts from a snapshot taken at `rev` (history before it is gone).
    pub fn reset_to_snapshot(&mut self, rev: Revision) {
        self.keys.clear();
        self.revs.clear();
        self.current = rev;
        self.compacted = rev;
    }

    pub fn current(&self) -> Revision {
        self.current
    }

    pub fn compacted(&self) -> Revision {
        self.compacted
    }

    /// Number of keys that exist at the current revision.
    #[cfg(test)]
    pub fn live_keys(&self) -> usize {
        self.keys
            .values()
            .filter(|v| v.last().is_some_and(|v| v.value.is_some()))
            .count()
    }

    /// The current version of `key`.
    pub fn latest(&self, key: &str) -> Option<KeyValue> {
        let versions = self.keys.get(key)?;
        let v = versions.last()?;
        let (create, value) = v.value.as_ref()?;
        Some(kv_of(key, v.rev, *create, value))
    }

    fn intern(&self, key: &str) -> Arc<str> {
        match self.keys.get_key_value(key) {
            Some((k, _)) => k.clone(),
            None => Arc::from(key),
        }
    }

    /// Adds a version of a key that was live in a snapshot (at or before the
    /// snapshot revision, before any later writes are applied).
    pub fn load_snapshot_entry(
        &mut self,
        key: &str,
        create_rev: Revision,
        mod_rev: Revision,
        value: Bytes,
    ) -> Result<(), StorageError> {
        if mod_rev > self.compacted
            || create_rev > mod_rev
            || create_rev <= 0
            || !self.revs.is_empty()
        {
            return Err(StorageError::Corrupt(format!(
                "snapshot entry for {key:?} has revisions create={create_rev} mod={mod_rev} \
                 inconsistent with snapshot revision {}",
                self.compacted
            )));
        }
        let k = self.intern(key);
        let versions = self.keys.entry(k).or_default();
        if !versions.is_empty() {
            return Err(StorageError::Corrupt(format!(
                "snapshot lists key {key:?} twice"
            )));
        }
        versions.push(Version {
            rev: mod_rev,
            value: Some((create_rev, value)),
        });
        Ok(())
    }

    /// Applies one write. Its revision must be the next one, a put must be
    /// consistent with the key's existence and a delete must hit a live key;
    /// anything else means the log is inconsistent.
    pub fn apply(&mut self, m: Mutation) -> Result<(), StorageError> {
        let (key, rev) = match &m {
            Mutation::Put { key, rev, .. } | Mutation::Delete { key, rev } => (key.clone(), *rev),
        };
        if rev != self.current + 1 {
            return Err(StorageError::Corrupt(format!(
                "write to {key:?} at revision {rev} does not follow revision {}",
                self.current
            )));
        }
        let live = self
            .keys
            .get(key.as_str())
            .and_then(|v| v.last())
            .and_then(|v| v.value.as_ref().map(|(c, _)| *c));
        let k = self.intern(&key);
        let version = match m {
            Mutation::Put {
                create_rev, value, ..
            } => {
                let ok = match live {
                    None => create_rev == rev,
                    Some(c) => create_rev == c,
                };
                if !ok {
                    return Err(StorageError::Corrupt(format!(
                        "put of {key:?} at revision {rev} has create revision {create_rev} \
                         inconsistent with the key's state"
                    )));
                }
                Version {
                    rev,
                    value: Some((create_rev, value)),
                }
            }
            Mutation::Delete { .. } => {
                if live.is_none() {
                    return Err(StorageError::Corrupt(format!(
                        "delete of missing key {key:?} at revision {rev}"
                    )));
                }
                Version { rev, value: None }
            }
        };
        self.keys.entry(k.clone()).or_default().push(version);
        self.revs.push_back(k);
        self.current = rev;
        Ok(())
    }

    /// Drops history before `rev`: afterwards reads at `rev` or later are
    /// still exact. Only keys written since the previous compaction can hold
    /// droppable versions, so this costs O(revisions compacted).
    pub fn compact(&mut self, rev: Revision) -> Result<(), StorageError> {
        if rev < self.compacted || rev > self.current {
            return Err(StorageError::Corrupt(format!(
                "compaction to {rev} outside [{}, {}]",
                self.compacted, self.current
            )));
        }
        let n = usize::try_from(rev - self.compacted).unwrap_or(0);
        let mut touched: HashSet<Arc<str>> = HashSet::new();
        for k in self.revs.drain(..n.min(self.revs.len())) {
            touched.insert(k);
        }
        for k in touched {
            let remove = match self.keys.get_mut(&k) {
                Some(versions) => {
                    let idx = versions.partition_point(|v| v.rev <= rev);
                    if idx > 0 {
                        let keep_from = if versions[idx - 1].value.is_some() {
                            idx - 1
                        } else {
                            idx
                        };
                        versions.drain(..keep_from);
                    }
                    versions.is_empty()
                }
                None => false,
            };
            if remove {
                self.keys.remove(&k);
            }
        }
        self.compacted = rev;
        Ok(())
    }

    /// Keys under `prefix` from `start`, at revision `at` (which the caller
    /// has checked to lie in `[compacted, current]`). Returns the first
    /// `limit` (0 = all) and the number of further matches.
    pub fn range(
        &self,
        prefix: &str,
        start: Option<&str>,
        limit: usize,
        at: Revision,
    ) -> (Vec<KeyValue>, i64) {
        let from = match start {
            Some(s) if s > prefix => s,
            _ => prefix,
        };
        let mut kvs = Vec::new();
        let mut remaining = 0i64;
        for (k, versions) in self
            .keys
            .range::<str, _>((Bound::Included(from), Bound::Unbounded))
        {
            if !k.starts_with(prefix) {
                break;
            }
            let Some(Version {
                rev,
                value: Some((create, value)),
            }) = version_at(versions, at)
            else {
                continue;
            };
            if limit == 0 || kvs.len() < limit {
                kvs.push(kv_of(k, *rev, *create, value));
            } else {
                remaining += 1;
            }
        }
        (kvs, remaining)
    }

    /// The event written at `rev` to `key`.
    fn event_at(&self, key: &str, rev: Revision) -> Option<Event> {
        let versions = self.keys.get(key)?;
        let idx = versions.binary_search_by_key(&rev, |v| v.rev).ok()?;
        let v = &versions[idx];
        let prev = idx
            .checked_sub(1)
            .and_then(|i| versions.get(i))
            .and_then(|p| p.value.as_ref().map(|(c, val)| kv_of(key, p.rev, *c, val)));
        Some(match &v.value {
            Some((create, value)) => Event {
                kind: EventKind::Put,
                kv: kv_of(key, rev, *create, value),
                prev,
            },
            None => {
                let kv = match &prev {
                    Some(p) => KeyValue {
                        mod_revision: rev,
                        ..p.clone()
                    },
                    None => kv_of(key, rev, 0, &Bytes::new()),
                };
                Event {
                    kind: EventKind::Delete,
                    kv,
                    prev,
                }
            }
        })
    }

    /// Appends to `out` the events under `prefix` with revisions after
    /// `after` (which must be `>= compacted`), scanning at most `max_scan`
    /// revisions and stopping once `out` holds `max_events`. Returns the last
    /// revision scanned (the new cursor).
    pub fn events_after(
        &self,
        prefix: &str,
        after: Revision,
        max_scan: usize,
        max_events: usize,
        out: &mut VecDeque<Event>,
    ) -> Revision {
        let mut cursor = after.max(self.compacted);
        let mut scanned = 0usize;
        while cursor < self.current && scanned < max_scan && out.len() < max_events {
            let rev = cursor + 1;
            let idx = usize::try_from(rev - self.compacted - 1).unwrap_or(usize::MAX);
            if let Some(key) = self.revs.get(idx)
                && key.starts_with(prefix)
                && let Some(ev) = self.event_at(key, rev)
            {
                out.push_back(ev);
            }
            cursor = rev;
            scanned += 1;
        }
        cursor
    }

    /// The state at `at` (`compacted <= at <= current`) as
    /// `(key, create, mod, value)` entries in key order, for snapshots.
    pub fn snapshot_entries(
        &self,
        at: Revision,
    ) -> impl Iterator<Item = (&str, Revision, Revision, &Bytes)> + '_ {
        self.keys
            .iter()
            .filter_map(move |(k, versions)| match version_at(versions, at) {
                Some(Version {
                    rev,
                    value: Some((create, value)),
                }) => Some((&**k, *create, *rev, value)),
                _ => None,
            })
    }

    /// The writes after `after` (`>= compacted`) in revision order.
    pub fn mutations_after(&self, after: Revision) -> impl Iterator<Item = Mutation> + '_ {
        let skip = usize::try_from(after - self.compacted).unwrap_or(usize::MAX);
        self.revs
            .iter()
            .enumerate()
            .skip(skip)
            .filter_map(move |(i, key)| {
                let rev = self.compacted + 1 + i as Revision;
                let versions = self.keys.get(key)?;
                let idx = versions.binary_search_by_key(&rev, |v| v.rev).ok()?;
                Some(match &versions[idx].value {
                    Some((create, value)) => Mutation::Put {
                        key: key.to_string(),
                        rev,
                        create_rev: *create,
                        value: value.clone(),
                    },
                    None => Mutation::Delete {
                        key: key.to_string(),
                        rev,
                    },
                })
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(m: &mut Mvcc, key: &str, value: &str) -> Revision {
        let rev = m.current() + 1;
        let create_rev = m.latest(key).map_or(rev, |kv| kv.create_revision);
        m.apply(Mutation::Put {
            key: key.into(),
            rev,
            create_rev,
            value: Bytes::copy_from_slice(value.as_bytes()),
        })
        .unwrap();
        rev
    }

    fn del(m: &mut Mvcc, key: &str) -> Revision {
        let rev = m.current() + 1;
        m.apply(Mutation::Delete {
            key: key.into(),
            rev,
        })
        .unwrap();
        rev
    }

    fn keys_at(m: &Mvcc, at: Revision) -> Vec<(String, String)> {
        m.range("", None, 0, at)
            .0
            .into_iter()
            .map(|kv| (kv.key, String::from_utf8(kv.value.to_vec()).unwrap()))
            .collect()
    }

    #[test]
    fn reads_at_old_revisions_and_compaction() {
        let mut m = Mvcc::new();
        put(&mut m, "a", "1"); // 1
        put(&mut m, "b", "1"); // 2
        put(&mut m, "a", "2"); // 3
        del(&mut m, "b"); // 4
        put(&mut m, "c", "1"); // 5
        assert_eq!(
            keys_at(&m, 2),
            vec![("a".into(), "1".into()), ("b".into(), "1".into())]
        );
        assert_eq!(keys_at(&m, 4), vec![("a".into(), "2".into())]);
        m.compact(4).unwrap();
        assert_eq!(keys_at(&m, 4), vec![("a".into(), "2".into())]);
        assert_eq!(
            keys_at(&m, 5),
            vec![("a".into(), "2".into()), ("c".into(), "1".into())]
        );
        // the tombstoned key is gone entirely
        assert!(!m.keys.contains_key("b"));
        assert_eq!(m.keys["a"].len(), 1);
        assert_eq!(m.live_keys(), 2);
    }

    #[test]
    fn events_carry_prev_and_delete_values() {
        let mut m = Mvcc::new();
        put(&mut m, "a", "1");
        put(&mut m, "a", "2");
        del(&mut m, "a");
        put(&mut m, "a", "3");
        m.compact(1).unwrap();
        let mut out = VecDeque::new();
        let cursor = m.events_after("", 1, 100, 100, &mut out);
        assert_eq!(cursor, 4);
        let evs: Vec<_> = out.into_iter().collect();
        assert_eq!(evs.len(), 3);
        assert_eq!(evs[0].kind, EventKind::Put);
        assert_eq!(evs[0].prev.as_ref().unwrap().mod_revision, 1);
        assert_eq!(evs[1].kind, EventKind::Delete);
        assert_eq!(evs[1].kv.value, Bytes::from_static(b"2"));
        assert_eq!(evs[1].kv.mod_revision, 3);
        assert_eq!(evs[1].kv.create_revision, 1);
        assert_eq!(evs[2].kind, EventKind::Put);
        assert!(evs[2].prev.is_none());
        assert_eq!(evs[2].kv.create_revision, 4);
    }

    #[test]
    fn inconsistent_mutations_are_rejected() {
        let mut m = Mvcc::new();
        assert!(
            m.apply(Mutation::Delete {
                key: "x".into(),
                rev: 1
            })
            .is_err()
        );
        assert!(
            m.apply(Mutation::Put {
                key: "x".into(),
                rev: 2,
                create_rev: 2,
                value: Bytes::new()
            })
            .is_err()
        );
        put(&mut m, "x", "1");
        assert!(
            m.apply(Mutation::Put {
                key: "x".into(),
                rev: 2,
                create_rev: 2,
                value: Bytes::new()
            })
            .is_err()
        );
    }

    #[test]
    fn snapshot_round_trip() {
        let mut m = Mvcc::new();
        put(&mut m, "a", "1");
        put(&mut m, "b", "1");
        del(&mut m, "a");
        put(&mut m, "b", "2");
        put(&mut m, "c", "1");
        let at = 3;
        let mut n = Mvcc::new();
        n.reset_to_snapshot(at);
        for (k, c, r, v) in m.snapshot_entries(at) {
            n.load_snapshot_entry(k, c, r, v.clone()).unwrap();
        }
        for mu in m.mutations_after(at) {
            n.apply(mu).unwrap();
        }
        assert_eq!(n.current(), m.current());
        for r in at..=m.current() {
            assert_eq!(keys_at(&n, r), keys_at(&m, r));
        }
    }
}
