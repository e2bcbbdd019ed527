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
    /// State for the service ranges kube-apiserver takes from `--service-cluster-ip-range`
    /// and `--service-node-port-range`.
    pub fn for_ranges(ranges: &ServiceRanges) -> Result<KindState, String> {
        let (min, max) = parse_port_range(&ranges.node_ports)?;
        KindState::new(&ranges.cluster_ip, min, max)
    }

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

/// The service address and node port ranges, as kube-apiserver's flags spell them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceRanges {
    /// `--service-cluster-ip-range` (IPv4 CIDR).
    pub cluster_ip: String,
    /// `--service-node-port-range` (`30000-32767` or `30000+2767`).
    pub node_ports: String,
}

impl Default for ServiceRanges {
    /// kube-apiserver's defaults: `10.96.0.0/12` and `30000-32767`.
    fn default() -> ServiceRanges {
        ServiceRanges {
            cluster_ip: "10.96.0.0/12".into(),
            node_ports: "30000-32767".into(),
        }
    }
}

/// A port range as kube's flag takes it: `min-max`, `base+offset` or one port.
pub fn parse_port_range(text: &str) -> Result<(u16, u16), String> {
    let bad = || format!("invalid port range {text:?}: want \"min-max\" or \"base+offset\"");
    let num = |s: &str| s.trim().parse::<u16>().map_err(|_| bad());
    let (min, max) = if let Some((a, b)) = text.split_once('-') {
        (num(a)?, num(b)?)
    } else if let Some((a, b)) = text.split_once('+') {
        let base = num(a)?;
        (base, base.checked_add(num(b)?).ok_or_else(bad)?)
    } else {
        let p = num(text)?;
        (p, p)
    };
    if min == 0 || min > max {
        return Err(bad());
    }
    Ok((min, max))
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

/// Maps up to this size are searched by comparing keys: API objects are small maps, where
/// that beats hashing the key with the map's SipHash (defaulting looks up dozens of keys
/// per container).
const SMALL_MAP: usize = 24;

/// `map[key]`.
#[inline]
pub(crate) fn field<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    if map.len() <= SMALL_MAP {
        map.iter()
            .find(|(k, _)| validate::same_key(k, key))
            .map(|(_, v)| v)
    } else {
        map.get(key)
    }
}

/// `map[key]`, mutably.
#[inline]
pub(crate) fn field_mut<'a>(map: &'a mut Map<String, Value>, key: &str) -> Option<&'a mut Value> {
    if map.len() <= SMALL_MAP {
        map.iter_mut()
            .find(|(k, _)| validate::same_key(k, key))
            .map(|(_, v)| v)
    } else {
        map.get_mut(key)
    }
}

/// The object map at `key` when present and an object.
pub(crate) fn child_opt<'a>(
    map: &'a mut Map<String, Value>,
    key: &str,
) -> Option<&'a mut Map<String, Value>> {
    field_mut(map, key).and_then(Value::as_object_mut)
}

/// Sets `key` to `value` when it is absent or null (kube defaults nil / zero values).
pub(crate) fn default(map: &mut Map<String, Value>, key: &str, value: Value) {
    match field_mut(map, key) {
        None => {
            map.insert(key.to_string(), value);
        }
        Some(slot @ Value::Null) => *slot = value,
        Some(slot @ Value::String(_)) if slot.as_str() == Some("") && value.is_string() => {
            *slot = value
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

/// [`renormalize`] through a known type `T` (the kind's type in the request's version),
/// with `default` applied to the typed value in between: kube defaults typed objects, and
/// doing it here costs no more than the round trip the object takes anyway. The value is
/// read without being consumed, so a value `T` cannot decode is left as it is with the 400
/// the generic decoder gives it.
pub(crate) fn renormalize_typed<T: serde::de::DeserializeOwned + serde::Serialize>(
    r: &ResourceInfo,
    obj: &mut Value,
    default: impl FnOnce(&mut T),
) -> Result<(), ApiError> {
    let mut typed = T::deserialize(&*obj).map_err(|e| crate::handlers::cannot_handle(r, e))?;
    default(&mut typed);
    *obj = serde_json::to_value(&typed)
        .map_err(|e| ApiError::internal(format!("encoding {}: {e}", r.kind)))?;
    Ok(())
}

/// The v1 resource of `kind` (tests).
#[cfg(test)]
pub(crate) fn v1_resource(kind: &str) -> &'static ResourceInfo {
    kiln_generated::REGISTRY
        .iter()
        .flat_map(|g| g.versions.iter())
        .flat_map(|v| v.resources.iter())
        .find(|r| r.kind == kind && r.version == "v1")
        .unwrap_or_else(|| panic!("no v1 resource of kind {kind}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_ranges_as_kube_spells_them() {
        assert_eq!(parse_port_range("30000-32767"), Ok((30000, 32767)));
        assert_eq!(parse_port_range("30000+2767"), Ok((30000, 32767)));
        assert_eq!(parse_port_range("8080"), Ok((8080, 8080)));
        for bad in ["", "a-b", "32767-30000", "0-10", "65000+1000", "1-2-3"] {
            assert!(parse_port_range(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn ranges_build_the_allocator() {
        let k = KindState::for_ranges(&ServiceRanges {
            cluster_ip: "172.20.5.0/24".into(),
            node_ports: "31000-31010".into(),
        })
        .expect("valid ranges");
        let a = k.services.lock();
        assert_eq!(a.cidr(), "172.20.5.0/24");
        assert_eq!(a.first_ip().to_string(), "172.20.5.1");
        assert_eq!(a.port_range(), "31000-31010");
        assert!(
            KindState::for_ranges(&ServiceRanges {
                cluster_ip: "10.0.0.0/33".into(),
                ..ServiceRanges::default()
            })
            .is_err()
        );
        let d = KindState::for_ranges(&ServiceRanges::default()).expect("defaults");
        assert_eq!(d.services.lock().cidr(), "10.96.0.0/12");
    }
}
