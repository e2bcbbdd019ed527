//! Per-kind strategies for built-in kinds: defaulting (kube's `SetDefaults_*` plus the
//! admission defaults every cluster applies), create-time status and allocation.

pub mod allocator;
pub mod defaults;
pub mod pod;
pub mod secret;
pub mod service;
pub mod validate;
pub mod workloads;

use kiln_runtime::registry::ResourceInfo;
use parking_lot::Mutex;
use serde_json::{Map, Value};

use futures_util::future::BoxFuture;

use crate::errors::ApiError;
use crate::store::Store;
use crate::strategy::WriteContext;

/// Per-server state of built-in kinds, handed to strategy hooks through
/// [`crate::strategy::WriteContext`]: this server's view of the service cluster IPs and
/// node ports (storage holds the allocations; see [`allocator`]).
#[derive(Default)]
pub struct KindState {
    pub services: Mutex<allocator::Allocator>,
    /// Values stored writes freed whose storage records are still to be removed.
    pub(crate) releasing: Mutex<service::Held>,
}

impl KindState {
    /// State for a service CIDR (`10.96.0.0/12`) and node port range.
    pub fn new(service_cidr: &str, port_min: u16, port_max: u16) -> Result<KindState, String> {
        Ok(KindState {
            services: Mutex::new(allocator::Allocator::from_cidr(
                service_cidr,
                port_min,
                port_max,
            )?),
            releasing: Mutex::default(),
        })
    }
}

/// Records the write's reservations (strategy hooks put them in `cx.allocations`) in
/// storage; the store calls it just before it stores the object. Reservations another
/// server holds are replaced in `obj` or fail the write. (Boxed: it writes through the
/// store that calls it.)
pub fn persist_reserved<'a>(
    store: &'a Store,
    cx: &'a WriteContext<'_>,
    obj: &'a mut Value,
) -> BoxFuture<'a, Result<(), ApiError>> {
    Box::pin(service::persist(store, cx, obj))
}

/// Releases, in storage too, what the write reserved and did not store and what stored
/// writes freed; the store calls it when a write ends or is retried. (Boxed, likewise.)
pub fn release_reserved<'a>(store: &'a Store, cx: &'a WriteContext<'_>) -> BoxFuture<'a, ()> {
    Box::pin(service::settle(store, cx))
}

/// The object map at `key` inside `map`, created (or replaced when not an object) as needed.
pub(crate) fn child<'a>(map: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    let v = map
        .entry(key.to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    if !v.is_object() {
        *v = Value::Object(Map::new());
    }
    match v {
        Value::Object(m) => m,
        _ => unreachable!("just made an object"),
    }
}

/// The object map at `key` when present and an object.
pub(crate) fn child_opt<'a>(
    map: &'a mut Map<String, Value>,
    key: &str,
) -> Option<&'a mut Map<String, Value>> {
    map.get_mut(key).and_then(Value::as_object_mut)
}

/// Sets `key` to `value` when it is absent or null (kube defaults nil / zero values).
pub(crate) fn default(map: &mut Map<String, Value>, key: &str, value: Value) {
    match map.get(key) {
        None | Some(Value::Null) => {
            map.insert(key.to_string(), value);
        }
        Some(Value::String(s)) if s.is_empty() && value.is_string() => {
            map.insert(key.to_string(), value);
        }
        _ => {}
    }
}

/// Re-runs the kind's typed normalisation so defaulted fields land in Go field order.
pub(crate) fn renormalize(r: &ResourceInfo, obj: &mut Value) {
    let v = std::mem::take(obj);
    *obj = match crate::handlers::normalize(r, v.clone()) {
        Ok(n) => n,
        Err(_) => v,
    };
}
