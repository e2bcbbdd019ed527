//! The values this process wrote recently, so that the etcd watch events of its own
//! writes reuse the JSON it already had instead of decoding the protobuf it sent.
//!
//! An entry is found by the write's mod revision and counts only when the event's key and
//! stored bytes are exactly those of the write: a revision names one write in an etcd
//! cluster, and the byte comparison makes reuse safe even so. Writes by other replicas
//! (or by kube-apiserver) are never in the table, and their events are decoded as before.
//! The table is bounded by entries and by bytes; an evicted entry only costs the decode.
//!
//! A write is noted before its transaction is sent ([`Written::begin`]), because etcd may
//! deliver the watch event of a write before the writer has read the transaction's answer.
//! Until the answer gives it a revision, the entry is found by key and stored bytes alone:
//! bytes equal to what this process is writing there are the same object, whoever wrote
//! them, so its JSON is a faithful reading of them.

use std::collections::{HashMap, VecDeque};

use bytes::Bytes;
use parking_lot::Mutex;

use crate::storage::Revision;

/// Entries kept (a little more than a watch cache's window of recent events).
const MAX_ENTRIES: usize = 2048;
/// Bytes of keys and values kept.
const MAX_BYTES: usize = 8 << 20;
/// Values larger than this are not kept (the decode is cheap next to such a write).
const MAX_VALUE: usize = 256 << 10;

struct Entry {
    /// The server's key.
    key: String,
    /// The bytes stored in etcd.
    stored: Bytes,
    /// The server's JSON form of the same object.
    json: Bytes,
}

impl Entry {
    fn size(&self) -> usize {
        self.key.len() + self.stored.len() + self.json.len()
    }
}

/// Writes in flight kept at most (more are simply not noted early).
const MAX_PENDING: usize = 256;

#[derive(Default)]
struct Table {
    entries: HashMap<Revision, Entry>,
    /// Revisions in insertion order, for eviction.
    order: VecDeque<Revision>,
    bytes: usize,
    /// Writes sent and not yet answered, by ticket.
    pending: Vec<(u64, Entry)>,
    next_ticket: u64,
}

/// A write noted by [`Written::begin`]: [`Pending::commit`] files it under its revision;
/// dropped uncommitted (the write failed), it is forgotten.
pub struct Pending<'a> {
    written: &'a Written,
    ticket: Option<u64>,
}

impl Pending<'_> {
    /// The write succeeded at `revision`.
    pub fn commit(mut self, revision: Revision) {
        if let Some(ticket) = self.ticket.take() {
            self.written.commit(ticket, revision);
        }
    }
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        if let Some(ticket) = self.ticket.take() {
            self.written
                .table
                .lock()
                .pending
                .retain(|(t, _)| *t != ticket);
        }
    }
}

/// See the module documentation.
#[derive(Default)]
pub struct Written {
    table: Mutex<Table>,
}

impl std::fmt::Debug for Written {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Written")
            .field("entries", &self.table.lock().entries.len())
            .finish()
    }
}

impl Written {
    /// Notes that this process is writing `stored` (the etcd form of `json`) at `key`.
    /// Values whose etcd form is their JSON are not kept (nothing to save).
    pub fn begin(&self, key: &str, stored: &[u8], json: &Bytes) -> Pending<'_> {
        let mut pending = Pending {
            written: self,
            ticket: None,
        };
        if stored == &json[..] || stored.len() + json.len() > MAX_VALUE {
            return pending;
        }
        let entry = Entry {
            key: key.to_string(),
            stored: Bytes::copy_from_slice(stored),
            json: json.clone(),
        };
        let mut t = self.table.lock();
        if t.pending.len() < MAX_PENDING {
            let ticket = t.next_ticket;
            t.next_ticket += 1;
            t.pending.push((ticket, entry));
            pending.ticket = Some(ticket);
        }
        pending
    }

    fn commit(&self, ticket: u64, revision: Revision) {
        let mut t = self.table.lock();
        let Some(i) = t.pending.iter().position(|(p, _)| *p == ticket) else {
            return;
        };
        let (_, entry) = t.pending.swap_remove(i);
        Self::file(&mut t, revision, entry);
    }

    /// Notes that this process wrote `stored` (the etcd form of `json`) at `key`, revision
    /// `revision` (tests; writes go through [`Written::begin`]).
    #[cfg(test)]
    pub fn insert(&self, key: &str, revision: Revision, stored: &[u8], json: &Bytes) {
        self.begin(key, stored, json).commit(revision);
    }

    fn file(t: &mut Table, revision: Revision, entry: Entry) {
        t.bytes += entry.size();
        if let Some(old) = t.entries.insert(revision, entry) {
            t.bytes -= old.size();
        } else {
            t.order.push_back(revision);
        }
        while t.order.len() > MAX_ENTRIES || t.bytes > MAX_BYTES {
            let Some(rev) = t.order.pop_front() else {
                break;
            };
            if let Some(old) = t.entries.remove(&rev) {
                t.bytes -= old.size();
            }
        }
    }

    /// The JSON this process wrote as `stored` at `key`, revision `revision`, if it still
    /// has it.
    pub fn get(&self, key: &str, revision: Revision, stored: &[u8]) -> Option<Bytes> {
        let t = self.table.lock();
        let same = |e: &Entry| e.key == key && e.stored == stored;
        match t.entries.get(&revision) {
            Some(e) => same(e).then(|| e.json.clone()),
            None => t
                .pending
                .iter()
                .find(|(_, e)| same(e))
                .map(|(_, e)| e.json.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn found_only_for_the_same_key_revision_and_bytes() {
        let w = Written::default();
        let json = Bytes::from_static(b"{\"a\":1}");
        w.insert("/registry/configmaps/ns/a", 7, b"k8s\0pb", &json);
        assert_eq!(
            w.get("/registry/configmaps/ns/a", 7, b"k8s\0pb"),
            Some(json.clone())
        );
        // Found again: several watches see the same event.
        assert!(w.get("/registry/configmaps/ns/a", 7, b"k8s\0pb").is_some());
        assert_eq!(w.get("/registry/configmaps/ns/a", 8, b"k8s\0pb"), None);
        assert_eq!(w.get("/registry/configmaps/ns/b", 7, b"k8s\0pb"), None);
        assert_eq!(w.get("/registry/configmaps/ns/a", 7, b"k8s\0other"), None);
        // Values stored as their JSON are not kept.
        w.insert("/registry/x/y", 9, b"{\"a\":1}", &json);
        assert_eq!(w.get("/registry/x/y", 9, b"{\"a\":1}"), None);
    }

    #[test]
    fn writes_in_flight_are_found_by_key_and_bytes_until_answered() {
        let w = Written::default();
        let json = Bytes::from_static(b"{\"a\":1}");
        let p = w.begin("/registry/configmaps/ns/a", b"k8s\0pb", &json);
        // The event may come before the answer: any revision, same key and bytes.
        assert_eq!(
            w.get("/registry/configmaps/ns/a", 12, b"k8s\0pb"),
            Some(json.clone())
        );
        assert_eq!(w.get("/registry/configmaps/ns/a", 12, b"k8s\0other"), None);
        assert_eq!(w.get("/registry/configmaps/ns/b", 12, b"k8s\0pb"), None);
        p.commit(12);
        assert!(w.table.lock().pending.is_empty());
        assert!(w.get("/registry/configmaps/ns/a", 12, b"k8s\0pb").is_some());
        // A failed write is forgotten.
        drop(w.begin("/registry/configmaps/ns/c", b"k8s\0pb", &json));
        assert_eq!(w.get("/registry/configmaps/ns/c", 13, b"k8s\0pb"), None);
        assert!(w.table.lock().pending.is_empty());
    }

    #[test]
    fn bounded_by_entries_and_bytes() {
        let w = Written::default();
        let json = Bytes::from(vec![b'x'; 100]);
        for rev in 0..(MAX_ENTRIES as Revision + 10) {
            w.insert("/k", rev, b"pb", &json);
        }
        assert_eq!(w.table.lock().entries.len(), MAX_ENTRIES);
        assert_eq!(w.get("/k", 0, b"pb"), None);
        assert!(w.get("/k", MAX_ENTRIES as Revision + 9, b"pb").is_some());
        let big = Bytes::from(vec![b'x'; MAX_VALUE / 2]);
        for rev in 0..100 {
            w.insert("/k", 10_000 + rev, &big[..MAX_VALUE / 2 - 10], &big);
        }
        let t = w.table.lock();
        assert!(t.bytes <= MAX_BYTES, "{} bytes kept", t.bytes);
        assert_eq!(t.order.len(), t.entries.len());
        drop(t);
        // Too large to keep at all.
        let huge = Bytes::from(vec![b'x'; MAX_VALUE]);
        w.insert("/k", 20_000, b"pb", &huge);
        assert_eq!(w.get("/k", 20_000, b"pb"), None);
    }
}
