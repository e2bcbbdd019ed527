//! Services: kube's `SetDefaults_Service`, IP family defaults, and ClusterIP / NodePort
//! allocation as the service REST storage does it.

use std::net::Ipv4Addr;

use kiln_runtime::registry::ResourceInfo;
use serde_json::{Map, Value, json};

use super::allocator::{ALLOCATOR, AllocError, Allocator};
use super::{child, default, renormalize};
use crate::strategy::{NameRule, Strategy};
use crate::validation::FieldError;

/// Carries allocation errors from `prepare_for_create` to `validate`; never stored, since
/// its presence fails validation.
const ALLOC_ERRORS: &str = "__kilnAllocationErrors";

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

/// Allocates the cluster IP and node ports `spec` asks for; on failure nothing stays held.
pub fn allocate(a: &mut Allocator, spec: &mut Map<String, Value>) -> Vec<FieldError> {
    let mut held_ips: Vec<Ipv4Addr> = Vec::new();
    let mut held_ports: Vec<u16> = Vec::new();
    let mut errors = Vec::new();
    if svc_type(spec) != "ExternalName" {
        let requested = spec
            .get("clusterIP")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if requested != "None" {
            let parsed = if requested.is_empty() {
                Ok(None)
            } else {
                requested.parse::<Ipv4Addr>().map(Some)
            };
            match parsed {
                Err(_) => errors.push(FieldError::invalid(
                    "spec.clusterIPs[0]",
                    requested.clone(),
                    "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
                )),
                Ok(want) => match a.allocate_ip(want) {
                    Ok(ip) => {
                        held_ips.push(ip);
                        spec.insert("clusterIP".into(), json!(ip.to_string()));
                        spec.insert("clusterIPs".into(), json!([ip.to_string()]));
                    }
                    Err(AllocError::Allocated) => errors.push(FieldError::invalid(
                        "spec.clusterIPs[0]",
                        requested.clone(),
                        format!("failed to allocate IP {requested}: provided IP is already allocated"),
                    )),
                    Err(AllocError::NotInRange) => errors.push(FieldError::invalid(
                        "spec.clusterIPs[0]",
                        requested.clone(),
                        format!(
                            "failed to allocate IP {requested}: the provided IP ({requested}) is not in the valid range. The range of valid IPs is {}",
                            a.cidr()
                        ),
                    )),
                    Err(AllocError::Full) => errors.push(FieldError::internal(
                        "spec.clusterIPs[0]",
                        "failed to allocate a serviceIP: range is full",
                    )),
                },
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
                let field = format!("spec.ports[{i}].nodePort");
                let res = match want {
                    Some(n) => match u16::try_from(n) {
                        Ok(n) => a.allocate_port(Some(n)),
                        Err(_) => Err(AllocError::NotInRange),
                    },
                    None => a.allocate_port(None),
                };
                match res {
                    Ok(port) => {
                        held_ports.push(port);
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
    }
    errors
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

/// Records a stored service in the allocator.
pub fn observe(obj: &Value) {
    let key = format!(
        "{}/{}",
        crate::objects::meta_str(obj, "namespace").unwrap_or(""),
        crate::objects::name(obj)
    );
    let (ips, ports) = held(obj);
    ALLOCATOR.lock().observe(&key, &ips, &ports);
}

/// Forgets a deleted service.
pub fn forget(namespace: &str, name: &str) {
    ALLOCATOR.lock().release(&format!("{namespace}/{name}"));
}

pub struct ServiceStrategy;
impl Strategy for ServiceStrategy {
    fn name_rule(&self) -> NameRule {
        NameRule::Rfc1035Label
    }
    fn allow_create_on_update(&self) -> bool {
        true
    }
    fn prepare_for_create(&self, r: &ResourceInfo, obj: &mut Value) {
        let Value::Object(map) = obj else { return };
        map.insert("status".into(), json!({"loadBalancer": {}}));
        let spec = child(map, "spec");
        default_service(spec);
        let errors = allocate(&mut ALLOCATOR.lock(), spec);
        renormalize(r, obj);
        if !errors.is_empty()
            && let Value::Object(map) = obj
        {
            let list: Vec<Value> = errors
                .iter()
                .map(|e| {
                    json!({"field": e.field, "kind": format!("{:?}", e.kind), "value": e.value, "detail": e.detail})
                })
                .collect();
            map.insert(ALLOC_ERRORS.into(), Value::Array(list));
        }
    }
    fn prepare_for_update(&self, r: &ResourceInfo, new: &mut Value, old: &Value) {
        let Value::Object(map) = new else { return };
        let spec = child(map, "spec");
        // Allocated fields carry over when the client leaves them out.
        if let Some(old_spec) = old.get("spec") {
            for f in ["clusterIP", "clusterIPs"] {
                if let Some(v) = old_spec.get(f) {
                    default(spec, f, v.clone());
                }
            }
            if let (Some(Value::Array(new_ports)), Some(old_ports)) = (
                spec.get_mut("ports"),
                old_spec.get("ports").and_then(Value::as_array),
            ) {
                for p in new_ports.iter_mut().filter_map(Value::as_object_mut) {
                    let same = old_ports.iter().find(|o| {
                        o.get("port") == p.get("port")
                            && o.get("protocol").and_then(Value::as_str).unwrap_or("TCP")
                                == p.get("protocol").and_then(Value::as_str).unwrap_or("TCP")
                    });
                    if let Some(np) = same.and_then(|o| o.get("nodePort")) {
                        default(p, "nodePort", np.clone());
                    }
                }
            }
        }
        default_service(spec);
        renormalize(r, new);
    }
    fn validate(&self, _r: &ResourceInfo, obj: &Value) -> Vec<FieldError> {
        let Some(list) = obj.get(ALLOC_ERRORS).and_then(Value::as_array) else {
            return Vec::new();
        };
        list.iter()
            .map(|e| {
                let field = e["field"].as_str().unwrap_or("spec").to_string();
                let detail = e["detail"].as_str().unwrap_or("").to_string();
                match e["kind"].as_str() {
                    Some("Internal") => FieldError::internal(field, detail),
                    _ => FieldError::invalid(field, e["value"].clone(), detail),
                }
            })
            .collect()
    }
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
        let mut s = spec(json!({"clusterIP": "10.96.0.10", "ports": [{"port": 80}]}));
        default_service(&mut s);
        assert!(allocate(&mut a, &mut s).is_empty());
        assert_eq!(s["clusterIPs"], json!(["10.96.0.10"]));
        let mut dup = spec(json!({"clusterIP": "10.96.0.10", "ports": [{"port": 80}]}));
        default_service(&mut dup);
        let errs = allocate(&mut a, &mut dup);
        assert_eq!(
            format!("{}: {}", errs[0].field, errs[0].message()),
            "spec.clusterIPs[0]: Invalid value: \"10.96.0.10\": failed to allocate IP 10.96.0.10: provided IP is already allocated"
        );
        let mut np = spec(json!({"type": "NodePort", "ports": [{"port": 80, "nodePort": 30080}]}));
        default_service(&mut np);
        assert!(allocate(&mut a, &mut np).is_empty());
        let mut np2 = spec(json!({"type": "NodePort", "ports": [{"port": 80, "nodePort": 30080}]}));
        default_service(&mut np2);
        let errs = allocate(&mut a, &mut np2);
        assert_eq!(
            format!("{}: {}", errs[0].field, errs[0].message()),
            "spec.ports[0].nodePort: Invalid value: 30080: provided port is already allocated"
        );
        let mut headless = spec(json!({"clusterIP": "None"}));
        default_service(&mut headless);
        assert!(allocate(&mut a, &mut headless).is_empty());
        assert_eq!(headless["clusterIPs"], json!(["None"]));
    }
}
