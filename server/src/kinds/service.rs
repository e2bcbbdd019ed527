//! Services: kube's `SetDefaults_Service`, IP family defaults, and ClusterIP / NodePort
//! allocation as the service REST storage does it.

use std::net::Ipv4Addr;

use kiln_runtime::registry::ResourceInfo;
use serde_json::{Map, Value, json};

use super::allocator::{AllocError, Allocator};
use super::{child, default, renormalize};
use crate::errors::ApiError;
use crate::storage::StorageError;
use crate::store::{DeleteOptions, Store, WriteOptions, storage_error};
use crate::strategy::{NameRule, Strategy, WriteContext};
use crate::validation::{FieldError, FieldErrorKind};

fn svc_type(spec: &Map<String, Value>) -> &str {
    spec.get("type")
        .and_then(Value::as_str)
        .unwrap_or("ClusterIP")
}

/// `SetDefaults_Service` plus the REST storage's IP family defaults.
pub fn default_service(spec: &mut Map<String, Value>) {
    default(spec, "sessionAffinity", json!("None"));
    default(spec, "type", json!("ClusterIP"));
    let ty = svc_type(spec).to_string();
    if let Some(Value::Array(ports)) = spec.get_mut("ports") {
        for p in ports.iter_mut().filter_map(Value::as_object_mut) {
            default(p, "protocol", json!("TCP"));
            let unset = match p.get("targetPort") {
                None | Some(Value::Null) => true,
                Some(Value::Number(n)) => n.as_i64() == Some(0),
                Some(Value::String(s)) => s.is_empty(),
                _ => false,
            };
            if unset && let Some(port) = p.get("port").cloned() {
                p.insert("targetPort".into(), port);
            }
        }
    }
    if spec.get("sessionAffinity").and_then(Value::as_str) == Some("ClientIP") {
        let cfg = child(spec, "sessionAffinityConfig");
        default(child(cfg, "clientIP"), "timeoutSeconds", json!(10800));
    }
    if matches!(ty.as_str(), "NodePort" | "LoadBalancer") {
        default(spec, "externalTrafficPolicy", json!("Cluster"));
    }
    if ty == "LoadBalancer" {
        default(spec, "allocateLoadBalancerNodePorts", json!(true));
    }
    if ty != "ExternalName" {
        default(spec, "internalTrafficPolicy", json!("Cluster"));
        // clusterIP and clusterIPs mirror each other.
        let ip = spec
            .get("clusterIP")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string);
        let ips_empty = spec
            .get("clusterIPs")
            .and_then(Value::as_array)
            .is_none_or(Vec::is_empty);
        match ip {
            Some(ip) if ips_empty => {
                spec.insert("clusterIPs".into(), json!([ip]));
            }
            None if !ips_empty => {
                if let Some(first) = spec.get("clusterIPs").and_then(|a| a.get(0)).cloned() {
                    spec.insert("clusterIP".into(), first);
                }
            }
            _ => {}
        }
        default(spec, "ipFamilies", json!(["IPv4"]));
        if spec
            .get("ipFamilies")
            .and_then(Value::as_array)
            .is_some_and(Vec::is_empty)
        {
            spec.insert("ipFamilies".into(), json!(["IPv4"]));
        }
        default(spec, "ipFamilyPolicy", json!("SingleStack"));
    }
}

fn needs_node_ports(spec: &Map<String, Value>) -> bool {
    match svc_type(spec) {
        "NodePort" => true,
        "LoadBalancer" => spec
            .get("allocateLoadBalancerNodePorts")
            .and_then(Value::as_bool)
            .unwrap_or(true),
        _ => false,
    }
}

/// What a service already holds (on update): kept as is, never allocated again.
pub type Held = (Vec<Ipv4Addr>, Vec<u16>);

/// A cluster IP allocation failure; kube reports the whole `clusterIPs` list as the bad
/// value (`%#v`).
fn ip_error(spec: &Map<String, Value>, requested: &str, detail: String) -> FieldError {
    let list: Vec<String> = spec
        .get("clusterIPs")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|v| v.as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default();
    FieldError {
        field: "spec.clusterIPs".into(),
        kind: FieldErrorKind::Invalid,
        value: None,
        detail: format!(
            "{}: failed to allocate IP {requested}: {detail}",
            crate::validation::go_string_slice(&list)
        ),
    }
}

/// Allocates the cluster IP and node ports `spec` asks for that `before` does not hold.
/// With `reserved`, they are held as pending and added to it; without (dry run) nothing is
/// held. On failure nothing stays held. Addresses that do not parse are left to validation.
pub fn allocate(
    a: &mut Allocator,
    spec: &mut Map<String, Value>,
    reserved: Option<&mut Held>,
    before: &Held,
) -> Vec<FieldError> {
    let reserve = reserved.is_some();
    let mut held_ips: Vec<Ipv4Addr> = Vec::new();
    let mut held_ports: Vec<u16> = Vec::new();
    let mut errors = Vec::new();
    if svc_type(spec) != "ExternalName" {
        let requested = spec
            .get("clusterIP")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let want = if requested.is_empty() {
            Some(None)
        } else {
            requested.parse::<Ipv4Addr>().ok().map(Some)
        };
        let kept = matches!(want, Some(Some(ip)) if before.0.contains(&ip));
        if requested != "None"
            && !kept
            && let Some(want) = want
        {
            match a.allocate_ip(want, reserve) {
                Ok(ip) => {
                    if reserve {
                        held_ips.push(ip);
                    }
                    spec.insert("clusterIP".into(), json!(ip.to_string()));
                    spec.insert("clusterIPs".into(), json!([ip.to_string()]));
                }
                Err(AllocError::Allocated) => errors.push(ip_error(
                    spec,
                    &requested,
                    "provided IP is already allocated".into(),
                )),
                Err(AllocError::NotInRange) => errors.push(ip_error(spec, &requested, format!(
                    "the provided IP ({requested}) is not in the valid range. The range of valid IPs is {}",
                    a.cidr()
                ))),
                Err(AllocError::Full) => errors.push(FieldError::internal(
                    "spec.clusterIPs",
                    "failed to allocate a serviceIP: range is full",
                )),
            }
        }
    }
    if errors.is_empty() && needs_node_ports(spec) {
        let range = a.port_range();
        if let Some(Value::Array(ports)) = spec.get_mut("ports") {
            for (i, p) in ports.iter_mut().enumerate() {
                let Some(p) = p.as_object_mut() else { continue };
                let want = p
                    .get("nodePort")
                    .and_then(Value::as_i64)
                    .filter(|n| *n != 0);
                if want.is_some_and(|n| u16::try_from(n).is_ok_and(|n| before.1.contains(&n))) {
                    continue;
                }
                let field = format!("spec.ports[{i}].nodePort");
                let res = match want {
                    Some(n) => match u16::try_from(n) {
                        Ok(n) => a.allocate_port(Some(n), reserve),
                        Err(_) => Err(AllocError::NotInRange),
                    },
                    None => a.allocate_port(None, reserve),
                };
                match res {
                    Ok(port) => {
                        if reserve {
                            held_ports.push(port);
                        }
                        p.insert("nodePort".into(), json!(port));
                    }
                    Err(AllocError::Allocated) => errors.push(FieldError::invalid(
                        field,
                        want.unwrap_or(0),
                        "provided port is already allocated",
                    )),
                    Err(AllocError::NotInRange) => errors.push(FieldError::invalid(
                        field,
                        want.unwrap_or(0),
                        format!(
                            "provided port is not in the valid range. The range of valid ports is {range}"
                        ),
                    )),
                    Err(AllocError::Full) => errors.push(FieldError::internal(
                        field,
                        "failed to allocate a nodePort: range is full",
                    )),
                }
                if !errors.is_empty() {
                    break;
                }
            }
        }
    }
    if !errors.is_empty() {
        a.release_pending(&held_ips, &held_ports);
    } else if let Some(r) = reserved {
        r.0.extend(held_ips);
        r.1.extend(held_ports);
    }
    errors
}

/// Allocates for `spec` in this request's context.
fn allocate_in(
    cx: &WriteContext<'_>,
    spec: &mut Map<String, Value>,
    before: &Held,
) -> Vec<FieldError> {
    let mut a = cx.kinds.services.lock();
    if cx.dry_run {
        allocate(&mut a, spec, None, before)
    } else {
        allocate(&mut a, spec, Some(&mut cx.allocations.lock()), before)
    }
}

/// What a stored service holds: its cluster IPs and node ports.
pub fn held(obj: &Value) -> (Vec<Ipv4Addr>, Vec<u16>) {
    let spec = obj.get("spec");
    let ips = spec
        .and_then(|s| s.get("clusterIPs"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str()?.parse::<Ipv4Addr>().ok())
                .collect()
        })
        .unwrap_or_default();
    let ports = spec
        .and_then(|s| s.get("ports"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|p| u16::try_from(p.get("nodePort")?.as_i64()?).ok())
                .filter(|p| *p != 0)
                .collect()
        })
        .unwrap_or_default();
    (ips, ports)
}

fn key(obj: &Value) -> String {
    format!(
        "{}/{}",
        crate::objects::meta_str(obj, "namespace").unwrap_or(""),
        crate::objects::name(obj)
    )
}

/// Records a stored service in the allocator: it owns what it holds, and nothing else.
pub fn observe(a: &mut Allocator, obj: &Value) {
    let (ips, ports) = held(obj);
    a.observe(&key(obj), &ips, &ports);
}

/// Turns an allocation failure into the 422 (or 500 for a full range) kube answers.
fn allocation_error(obj: &Value, errors: &[FieldError]) -> ApiError {
    let name = crate::objects::name(obj);
    match errors.iter().find(|e| e.kind == FieldErrorKind::Internal) {
        Some(e) => ApiError::internal(e.detail.clone()),
        None => ApiError::invalid("", "Service", name, errors),
    }
}

// ---- Reservations in storage ------------------------------------------------------------
//
// As kube-apiserver (1.33+) does: a cluster IP is reserved by creating the `IPAddress`
// named after it (create-if-absent makes it one server's), released by deleting it; node
// ports are a bitmap in the RangeAllocation record at `/registry/ranges/servicenodeports`,
// changed only by compare-and-swap on its revision.

/// kube-apiserver's key of the node port allocation record.
pub const NODE_PORTS_KEY: &str = "/registry/ranges/servicenodeports";
/// `ipaddress.kubernetes.io/managed-by` of the IPAddresses the service allocator owns.
pub const IP_ALLOCATOR: &str = "ipallocator.k8s.io";

/// `networking.k8s.io/v1` IPAddresses.
fn ip_addresses() -> Result<&'static ResourceInfo, ApiError> {
    kiln_generated::REGISTRY
        .iter()
        .filter(|g| g.name == "networking.k8s.io")
        .flat_map(|g| g.versions.iter())
        .filter(|v| v.version == "v1")
        .flat_map(|v| v.resources.iter())
        .find(|r| r.plural == "ipaddresses")
        .ok_or_else(|| ApiError::internal("networking.k8s.io/v1 ipaddresses is not served"))
}

/// The IPAddress recording that service `ns/name` holds `ip`.
pub fn ip_address_object(ip: Ipv4Addr, ns: &str, name: &str) -> Value {
    json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "IPAddress",
        "metadata": {
            "name": ip.to_string(),
            "labels": {
                "ipaddress.kubernetes.io/ip-family": "IPv4",
                "ipaddress.kubernetes.io/managed-by": IP_ALLOCATOR,
            },
        },
        "spec": {"parentRef": {"resource": "services", "namespace": ns, "name": name}},
    })
}

/// The service's spec (a service is always an object by now; anything else has none).
fn spec_mut(obj: &mut Value) -> Option<&mut Map<String, Value>> {
    obj.as_object_mut().map(|m| child(m, "spec"))
}

fn range_full(what: &str, field: &str) -> ApiError {
    ApiError::internal(
        FieldError::internal(field, format!("failed to allocate a {what}: range is full")).detail,
    )
}

/// Records this write's pending reservations in storage, before the service is stored.
/// A value another server took meanwhile is replaced by a free one when it was picked
/// here, and is a 422 when the client asked for it.
pub async fn persist(
    store: &Store,
    cx: &WriteContext<'_>,
    obj: &mut Value,
) -> Result<(), ApiError> {
    let (ips, ports) = cx.allocations.lock().clone();
    if ips.is_empty() && ports.is_empty() {
        return Ok(());
    }
    let ns = crate::objects::meta_str(obj, "namespace")
        .unwrap_or("")
        .to_string();
    let name = crate::objects::name(obj).to_string();
    for ip in ips {
        persist_ip(store, cx, obj, ip, &ns, &name).await?;
    }
    if !ports.is_empty() {
        persist_ports(store, cx, obj).await?;
    }
    Ok(())
}

async fn persist_ip(
    store: &Store,
    cx: &WriteContext<'_>,
    obj: &mut Value,
    mut ip: Ipv4Addr,
    ns: &str,
    name: &str,
) -> Result<(), ApiError> {
    let r = ip_addresses()?;
    loop {
        let res = store.kinds.services.lock().ip_reservation(ip);
        let Some(res) = res.filter(|res| !res.stored) else {
            return Ok(());
        };
        let record = crate::handlers::normalize(r, ip_address_object(ip, ns, name))?;
        // Created through the same store, as kube's allocator does through its loopback
        // client (whose user agent makes the manager `kube-apiserver`).
        let opts = WriteOptions {
            dry_run: false,
            field_manager: Some("kube-apiserver".into()),
        };
        match store.create(r, None, record, &opts).await {
            Ok(_) => {
                store.kinds.services.lock().ip_stored(ip);
                return Ok(());
            }
            Err(e) if e.code == 409 => {}
            Err(e) => return Err(e),
        }
        // Another server holds it.
        store.kinds.services.lock().ip_taken_elsewhere(ip);
        cx.allocations.lock().0.retain(|x| *x != ip);
        if !res.dynamic {
            let empty = Map::new();
            let e = ip_error(
                obj.get("spec").and_then(Value::as_object).unwrap_or(&empty),
                &ip.to_string(),
                "provided IP is already allocated".into(),
            );
            return Err(allocation_error(obj, &[e]));
        }
        refresh_ips(store, r).await?;
        let next = store.kinds.services.lock().allocate_ip(None, true);
        let next = next.map_err(|_| range_full("serviceIP", "spec.clusterIPs"))?;
        cx.allocations.lock().0.push(next);
        if let Some(spec) = spec_mut(obj) {
            spec.insert("clusterIP".into(), json!(next.to_string()));
            spec.insert("clusterIPs".into(), json!([next.to_string()]));
        }
        ip = next;
    }
}

/// Refreshes this server's view of the cluster IPs from the stored IPAddresses.
async fn refresh_ips(store: &Store, r: &'static ResourceInfo) -> Result<(), ApiError> {
    let prefix = crate::store::collection_prefix(r, None);
    let listed = store
        .storage
        .range(&prefix, None, 0, None)
        .await
        .map_err(|e| storage_error(r, "", e))?;
    let stored: Vec<Ipv4Addr> = listed
        .kvs
        .iter()
        .filter_map(|kv| kv.key.strip_prefix(&prefix)?.parse().ok())
        .collect();
    store.kinds.services.lock().refresh_ips(&stored);
    Ok(())
}

/// The node ports a stored allocation record holds (of any range it was written for).
fn read_node_ports(value: &[u8]) -> Result<Vec<u16>, ApiError> {
    use base64::Engine;
    let bad = |what: &str| ApiError::internal(format!("the node port allocation record {what}"));
    let rec: Value = serde_json::from_slice(value).map_err(|_| bad("is not JSON"))?;
    let range = rec.get("range").and_then(Value::as_str).unwrap_or("");
    let base: u32 = range
        .split_once('-')
        .and_then(|(min, _)| min.trim().parse().ok())
        .ok_or_else(|| bad("has no valid range"))?;
    let data = rec.get("data").and_then(Value::as_str).unwrap_or("");
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data)
        .map_err(|_| bad("has invalid data"))?;
    Ok(super::allocator::decode_bitmap(&bytes)
        .into_iter()
        .filter_map(|o| u16::try_from(base + o).ok())
        .collect())
}

/// The allocation record of `ports` in `min..=max`, as kube writes it.
fn node_ports_record(min: u16, max: u16, ports: &[u16]) -> bytes::Bytes {
    use base64::Engine;
    let offsets = ports
        .iter()
        .filter(|p| (min..=max).contains(*p))
        .map(|p| u32::from(p - min));
    let data =
        base64::engine::general_purpose::STANDARD.encode(super::allocator::encode_bitmap(offsets));
    let rec = json!({
        "kind": "RangeAllocation",
        "apiVersion": "v1",
        "metadata": {"creationTimestamp": null},
        "range": format!("{min}-{max}"),
        "data": data,
    });
    bytes::Bytes::from(rec.to_string())
}

fn node_ports_error(e: StorageError) -> ApiError {
    ApiError::internal(format!("node port allocation: {e}"))
}

/// Sets the bits of this write's pending node ports in the stored bitmap.
async fn persist_ports(
    store: &Store,
    cx: &WriteContext<'_>,
    obj: &mut Value,
) -> Result<(), ApiError> {
    let (min, max) = {
        let a = store.kinds.services.lock();
        (a.port_min(), a.port_max())
    };
    for _ in 0..32 {
        let current = store
            .storage
            .get(NODE_PORTS_KEY)
            .await
            .map_err(node_ports_error)?;
        let mut taken = match &current {
            Some(kv) => read_node_ports(&kv.value)?,
            None => Vec::new(),
        };
        let pending: Vec<(u16, super::allocator::Reservation)> = {
            let mut a = store.kinds.services.lock();
            a.refresh_ports(&taken);
            let held = cx.allocations.lock();
            held.1
                .iter()
                .filter_map(|p| Some((*p, a.port_reservation(*p).filter(|r| !r.stored)?)))
                .collect()
        };
        if pending.is_empty() {
            return Ok(());
        }
        let mut chosen = Vec::with_capacity(pending.len());
        for (p, res) in pending {
            if !taken.contains(&p) {
                taken.push(p);
                chosen.push(p);
                continue;
            }
            store.kinds.services.lock().port_taken_elsewhere(p);
            cx.allocations.lock().1.retain(|x| *x != p);
            let index = port_index(obj, p);
            let field = format!("spec.ports[{index}].nodePort");
            if !res.dynamic {
                let e =
                    FieldError::invalid(field, i64::from(p), "provided port is already allocated");
                return Err(allocation_error(obj, &[e]));
            }
            let next = store.kinds.services.lock().allocate_port(None, true);
            let next = next.map_err(|_| range_full("nodePort", &field))?;
            cx.allocations.lock().1.push(next);
            set_node_port(obj, index, next);
            taken.push(next);
            chosen.push(next);
        }
        let record = node_ports_record(min, max, &taken);
        let written = match &current {
            None => store.storage.create(NODE_PORTS_KEY, record).await,
            Some(kv) => {
                store
                    .storage
                    .update(NODE_PORTS_KEY, record, Some(kv.mod_revision))
                    .await
            }
        };
        match written {
            Ok(_) => {
                let mut a = store.kinds.services.lock();
                for p in chosen {
                    a.port_stored(p);
                }
                return Ok(());
            }
            // Another write got there first: read again.
            Err(StorageError::AlreadyExists { .. } | StorageError::Conflict { .. }) => continue,
            Err(e) => return Err(node_ports_error(e)),
        }
    }
    Err(ApiError::internal(
        "failed to allocate a nodePort: the allocation record kept changing",
    ))
}

/// The index of the service port holding node port `p`.
fn port_index(obj: &Value, p: u16) -> usize {
    obj.pointer("/spec/ports")
        .and_then(Value::as_array)
        .and_then(|ports| {
            ports
                .iter()
                .position(|x| x.get("nodePort").and_then(Value::as_i64) == Some(i64::from(p)))
        })
        .unwrap_or(0)
}

fn set_node_port(obj: &mut Value, index: usize, p: u16) {
    if let Some(port) = obj
        .pointer_mut(&format!("/spec/ports/{index}"))
        .and_then(Value::as_object_mut)
    {
        port.insert("nodePort".into(), json!(p));
    }
}

/// Clears node ports from the stored bitmap.
async fn release_ports(store: &Store, ports: &[u16]) -> Result<(), ApiError> {
    let (min, max) = {
        let a = store.kinds.services.lock();
        (a.port_min(), a.port_max())
    };
    for _ in 0..32 {
        let Some(kv) = store
            .storage
            .get(NODE_PORTS_KEY)
            .await
            .map_err(node_ports_error)?
        else {
            return Ok(());
        };
        let taken = read_node_ports(&kv.value)?;
        let kept: Vec<u16> = taken
            .iter()
            .copied()
            .filter(|p| !ports.contains(p))
            .collect();
        if kept.len() == taken.len() {
            return Ok(());
        }
        let record = node_ports_record(min, max, &kept);
        match store
            .storage
            .update(NODE_PORTS_KEY, record, Some(kv.mod_revision))
            .await
        {
            Ok(_) => return Ok(()),
            Err(StorageError::Conflict { .. }) => continue,
            Err(e) => return Err(node_ports_error(e)),
        }
    }
    Err(ApiError::internal(
        "failed to release node ports: the allocation record kept changing",
    ))
}

/// Settles a write: releases what it reserved and did not store, and what stored writes
/// freed (a deleted service's values, the ones an update dropped), in storage as well.
/// Release failures are logged, as kube does; the values stay recorded until repaired.
pub async fn settle(store: &Store, cx: &WriteContext<'_>) {
    let (ips, ports) = std::mem::take(&mut *cx.allocations.lock());
    let (mut ips, mut ports) = store.kinds.services.lock().release_pending(&ips, &ports);
    {
        let mut queue = store.kinds.releasing.lock();
        ips.append(&mut queue.0);
        ports.append(&mut queue.1);
    }
    if ips.is_empty() && ports.is_empty() {
        return;
    }
    if !ips.is_empty() {
        match ip_addresses() {
            Ok(r) => {
                for ip in &ips {
                    let name = ip.to_string();
                    match store
                        .delete(r, None, &name, &DeleteOptions::default())
                        .await
                    {
                        Ok(_) => {}
                        Err(e) if e.code == 404 => {}
                        Err(e) => {
                            tracing::warn!(ip = %name, error = %e, "cannot release IPAddress")
                        }
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot release cluster IPs"),
        }
    }
    if !ports.is_empty()
        && let Err(e) = release_ports(store, &ports).await
    {
        tracing::warn!(error = %e, "cannot release node ports");
    }
    store.kinds.services.lock().released(&ips, &ports);
}

fn needs_cluster_ip(spec: &Map<String, Value>) -> bool {
    svc_type(spec) != "ExternalName"
}

fn needs_hc_node_port(spec: &Map<String, Value>) -> bool {
    svc_type(spec) == "LoadBalancer"
        && spec.get("externalTrafficPolicy").and_then(Value::as_str) == Some("Local")
}

fn node_ports(spec: &Map<String, Value>) -> Vec<i64> {
    spec.get("ports")
        .and_then(Value::as_array)
        .map(|ps| {
            ps.iter()
                .filter_map(|p| p.get("nodePort").and_then(Value::as_i64))
                .filter(|n| *n != 0)
                .collect()
        })
        .unwrap_or_default()
}

/// Allocated values an update keeps from the old service when the client leaves them out
/// (kube's `patchAllocatedValues`): cluster IPs while both types need one, node ports (by
/// port and protocol) while both need them, the health check node port likewise.
fn carry_over_allocations(spec: &mut Map<String, Value>, old_spec: &Map<String, Value>) {
    if needs_cluster_ip(old_spec) && needs_cluster_ip(spec) {
        for f in ["clusterIP", "clusterIPs"] {
            if let Some(v) = old_spec.get(f) {
                default(spec, f, v.clone());
            }
        }
    }
    if needs_node_ports(old_spec)
        && needs_node_ports(spec)
        && let (Some(Value::Array(new_ports)), Some(old_ports)) = (
            spec.get_mut("ports"),
            old_spec.get("ports").and_then(Value::as_array),
        )
    {
        for p in new_ports.iter_mut().filter_map(Value::as_object_mut) {
            let same = old_ports.iter().find(|o| {
                o.get("port") == p.get("port")
                    && o.get("protocol").and_then(Value::as_str).unwrap_or("TCP")
                        == p.get("protocol").and_then(Value::as_str).unwrap_or("TCP")
            });
            if let Some(np) = same.and_then(|o| o.get("nodePort")) {
                let unset = p.get("nodePort").and_then(Value::as_i64).unwrap_or(0) == 0;
                if unset {
                    p.insert("nodePort".into(), np.clone());
                }
            }
        }
    }
    if needs_hc_node_port(old_spec)
        && needs_hc_node_port(spec)
        && let Some(v) = old_spec.get("healthCheckNodePort")
    {
        default(spec, "healthCheckNodePort", v.clone());
    }
}

/// kube's `dropTypeDependentFields`: a type change wipes what the new type does not use,
/// when the client left it as it was (it is freed once the update is stored).
fn drop_type_dependent_fields(spec: &mut Map<String, Value>, old_spec: &Map<String, Value>) {
    if needs_cluster_ip(old_spec) && !needs_cluster_ip(spec) {
        let same = |spec: &Map<String, Value>, f: &str| spec.get(f) == old_spec.get(f);
        if same(spec, "clusterIP") && same(spec, "clusterIPs") {
            spec.remove("clusterIP");
            spec.remove("clusterIPs");
        }
        if same(spec, "ipFamilies") {
            spec.remove("ipFamilies");
        }
        if same(spec, "ipFamilyPolicy") {
            spec.remove("ipFamilyPolicy");
        }
    }
    if needs_node_ports(old_spec) && !needs_node_ports(spec) {
        let old_ports = node_ports(old_spec);
        if node_ports(spec).iter().all(|p| old_ports.contains(p))
            && let Some(Value::Array(ports)) = spec.get_mut("ports")
        {
            for p in ports.iter_mut().filter_map(Value::as_object_mut) {
                p.remove("nodePort");
            }
        }
    }
    if needs_hc_node_port(old_spec)
        && !needs_hc_node_port(spec)
        && spec.get("healthCheckNodePort") == old_spec.get("healthCheckNodePort")
    {
        spec.remove("healthCheckNodePort");
    }
    let was_lb = svc_type(old_spec) == "LoadBalancer";
    let is_lb = svc_type(spec) == "LoadBalancer";
    if was_lb && !is_lb {
        for f in ["allocateLoadBalancerNodePorts", "loadBalancerClass"] {
            if spec.get(f) == old_spec.get(f) {
                spec.remove(f);
            }
        }
    }
    if externally_accessible(old_spec)
        && !externally_accessible(spec)
        && spec.get("externalTrafficPolicy") == old_spec.get("externalTrafficPolicy")
    {
        spec.remove("externalTrafficPolicy");
    }
}

/// `ExternallyAccessible`: node ports, load balancers, or cluster IPs with external IPs.
fn externally_accessible(spec: &Map<String, Value>) -> bool {
    match svc_type(spec) {
        "LoadBalancer" | "NodePort" => true,
        "ClusterIP" => spec
            .get("externalIPs")
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty()),
        _ => false,
    }
}

pub struct ServiceStrategy;
impl Strategy for ServiceStrategy {
    fn name_rule(&self) -> NameRule {
        NameRule::Rfc1035Label
    }
    fn prepare_for_create(
        &self,
        cx: &WriteContext<'_>,
        r: &ResourceInfo,
        obj: &mut Value,
    ) -> Result<(), ApiError> {
        let Value::Object(map) = obj else {
            return Ok(());
        };
        // The zero ServiceStatus, `{"loadBalancer": {}}`, from the Go facts (D37).
        map.insert("status".into(), crate::strategy::zero_status(r));
        default_service(child(map, "spec"));
        let errors = allocate_in(cx, child(map, "spec"), &Held::default());
        renormalize(r, obj);
        // kube allocates after validation: an invalid service reports its validation
        // errors (the store's), not allocation ones.
        if !errors.is_empty() && self.validate(r, obj).is_empty() {
            return Err(allocation_error(obj, &errors));
        }
        Ok(())
    }
    fn prepare_for_update(
        &self,
        cx: &WriteContext<'_>,
        r: &ResourceInfo,
        new: &mut Value,
        old: &Value,
    ) -> Result<(), ApiError> {
        let Value::Object(map) = new else {
            return Ok(());
        };
        let spec = child(map, "spec");
        let empty = Map::new();
        let old_spec = old.get("spec").and_then(Value::as_object).unwrap_or(&empty);
        carry_over_allocations(spec, old_spec);
        drop_type_dependent_fields(spec, old_spec);
        default_service(spec);
        // The load-balancer status goes with the type.
        let is_lb = svc_type(spec) == "LoadBalancer";
        if !is_lb && let Some(Value::Object(status)) = map.get_mut("status") {
            status.insert("loadBalancer".into(), json!({}));
        }
        let Value::Object(map) = new else {
            return Ok(());
        };
        let spec = child(map, "spec");
        // What the update asks for beyond what the service holds (node ports after a type
        // change, a cluster IP for a former ExternalName, a different node port).
        let before = held(old);
        let errors = allocate_in(cx, spec, &before);
        renormalize(r, new);
        if !errors.is_empty() && self.validate_update(r, new, old).is_empty() {
            return Err(allocation_error(new, &errors));
        }
        Ok(())
    }
    fn created(&self, cx: &WriteContext<'_>, _r: &ResourceInfo, obj: &Value) {
        *cx.allocations.lock() = Held::default();
        observe(&mut cx.kinds.services.lock(), obj);
    }
    fn updated(&self, cx: &WriteContext<'_>, _r: &ResourceInfo, new: &Value, old: &Value) {
        *cx.allocations.lock() = Held::default();
        let (ips, ports) = held(old);
        let (keep_ips, keep_ports) = held(new);
        let freed: Held = (
            ips.into_iter()
                .filter(|ip| !keep_ips.contains(ip))
                .collect(),
            ports
                .into_iter()
                .filter(|p| !keep_ports.contains(p))
                .collect(),
        );
        free(cx, freed);
        observe(&mut cx.kinds.services.lock(), new);
    }
    fn deleted(&self, cx: &WriteContext<'_>, _r: &ResourceInfo, obj: &Value) {
        // What the object says it holds, whichever server stored it.
        free(cx, held(obj));
    }
}

/// Values a stored write freed: taken until [`settle`] removes their storage records.
fn free(cx: &WriteContext<'_>, (ips, ports): Held) {
    if ips.is_empty() && ports.is_empty() {
        return;
    }
    cx.kinds.services.lock().free(&ips, &ports);
    let mut queue = cx.kinds.releasing.lock();
    queue.0.extend(ips);
    queue.1.extend(ports);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn defaults() {
        let mut s = spec(json!({"ports": [{"port": 80}]}));
        default_service(&mut s);
        let s = Value::Object(s);
        assert_eq!(s["type"], "ClusterIP");
        assert_eq!(s["sessionAffinity"], "None");
        assert_eq!(s["ports"][0]["protocol"], "TCP");
        assert_eq!(s["ports"][0]["targetPort"], 80);
        assert_eq!(s["ipFamilies"], json!(["IPv4"]));
        assert_eq!(s["ipFamilyPolicy"], "SingleStack");
        assert_eq!(s["internalTrafficPolicy"], "Cluster");
        assert!(s.get("externalTrafficPolicy").is_none());
        let mut n =
            spec(json!({"type": "NodePort", "ports": [{"port": 80, "targetPort": "http"}]}));
        default_service(&mut n);
        let n = Value::Object(n);
        assert_eq!(n["externalTrafficPolicy"], "Cluster");
        assert_eq!(n["ports"][0]["targetPort"], "http");
    }

    #[test]
    fn allocation_messages() {
        let mut a = Allocator::new(super::super::allocator::SERVICE_CIDR_BASE, 12, 30000, 32767);
        let none = Held::default();
        let mut held = Held::default();
        let mut s = spec(json!({"clusterIP": "10.96.0.10", "ports": [{"port": 80}]}));
        default_service(&mut s);
        assert!(allocate(&mut a, &mut s, Some(&mut held), &none).is_empty());
        assert_eq!(s["clusterIPs"], json!(["10.96.0.10"]));
        assert_eq!(held.0, [Ipv4Addr::new(10, 96, 0, 10)]);
        let mut dup = spec(json!({"clusterIP": "10.96.0.10", "ports": [{"port": 80}]}));
        default_service(&mut dup);
        let errs = allocate(&mut a, &mut dup, Some(&mut held), &none);
        assert_eq!(
            format!("{}: {}", errs[0].field, errs[0].message()),
            "spec.clusterIPs: Invalid value: []string{\"10.96.0.10\"}: failed to allocate IP 10.96.0.10: provided IP is already allocated"
        );
        let mut out = spec(json!({"clusterIP": "10.0.0.1", "ports": [{"port": 80}]}));
        default_service(&mut out);
        let errs = allocate(&mut a, &mut out, None, &none);
        assert_eq!(
            errs[0].message(),
            "Invalid value: []string{\"10.0.0.1\"}: failed to allocate IP 10.0.0.1: the provided IP (10.0.0.1) is not in the valid range. The range of valid IPs is 10.96.0.0/12"
        );
        let mut np = spec(json!({"type": "NodePort", "ports": [{"port": 80, "nodePort": 30080}]}));
        default_service(&mut np);
        assert!(allocate(&mut a, &mut np, Some(&mut held), &none).is_empty());
        let mut np2 = spec(json!({"type": "NodePort", "ports": [{"port": 80, "nodePort": 30080}]}));
        default_service(&mut np2);
        let errs = allocate(&mut a, &mut np2, Some(&mut held), &none);
        assert_eq!(
            format!("{}: {}", errs[0].field, errs[0].message()),
            "spec.ports[0].nodePort: Invalid value: 30080: provided port is already allocated"
        );
        // What the service already holds is kept, not allocated again.
        let before: Held = (vec![Ipv4Addr::new(10, 96, 0, 10)], vec![30080]);
        let mut same = spec(
            json!({"type": "NodePort", "clusterIP": "10.96.0.10", "ports": [{"port": 80, "nodePort": 30080}, {"port": 81}]}),
        );
        default_service(&mut same);
        let mut extra = Held::default();
        assert!(allocate(&mut a, &mut same, Some(&mut extra), &before).is_empty());
        assert!(extra.0.is_empty());
        assert_eq!(extra.1.len(), 1, "only the new port: {extra:?}");
        let mut headless = spec(json!({"clusterIP": "None"}));
        default_service(&mut headless);
        assert!(allocate(&mut a, &mut headless, Some(&mut held), &none).is_empty());
        assert_eq!(headless["clusterIPs"], json!(["None"]));
        // Unparseable addresses are validation's business.
        let mut bad = spec(json!({"clusterIP": "x", "ports": [{"port": 80}]}));
        default_service(&mut bad);
        assert!(allocate(&mut a, &mut bad, Some(&mut held), &none).is_empty());
        assert_eq!(bad["clusterIP"], "x");
    }
}
