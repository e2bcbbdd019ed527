//! Services: kube's `ValidateService` and `ValidateServiceUpdate`
//! (`pkg/apis/core/validation`).

use std::net::IpAddr;

use serde_json::{Map, Value, json};

use super::pod::{port_num_or_name, protocol};
use super::{
    Errs, Path, arr, duplicate, forbidden, get, int, invalid, invalid_msgs, label_name, labels,
    not_supported, required, s, strings,
};
use crate::validation;

const IP_MSG: &str = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)";

fn is_headless(spec: &Value) -> bool {
    let ips = arr(spec, "clusterIPs");
    ips.len() == 1 && ips[0].as_str() == Some("None")
}

/// `ValidateService` minus metadata.
pub fn validate_service(svc: &Value, errs: &mut Errs) {
    let spec = get(svc, "spec").unwrap_or(&Value::Null);
    let sp = Path::new("spec");
    let ty = s(spec, "type");
    let headless = is_headless(spec);
    let ports = arr(spec, "ports");
    if ports.is_empty() && !headless && ty != "ExternalName" {
        required(errs, &sp.child("ports"), "");
    }
    let ips_path = sp.child("clusterIPs");
    match ty {
        "LoadBalancer" | "NodePort" if headless => invalid(
            errs,
            &ips_path.index(0),
            "None",
            &format!("may not be set to 'None' for {ty} services"),
        ),
        "ExternalName" => {
            if !arr(spec, "clusterIPs").is_empty() {
                forbidden(errs, &ips_path, "may not be set for ExternalName services");
            }
            if !arr(spec, "ipFamilies").is_empty() {
                forbidden(
                    errs,
                    &sp.child("ipFamilies"),
                    "may not be set for ExternalName services",
                );
            }
            if get(spec, "ipFamilyPolicy").is_some() {
                forbidden(
                    errs,
                    &sp.child("ipFamilyPolicy"),
                    "may not be set for ExternalName services",
                );
            }
            let cname = s(spec, "externalName");
            let cname = cname.strip_suffix('.').unwrap_or(cname);
            if cname.is_empty() {
                required(errs, &sp.child("externalName"), "");
            } else {
                invalid_msgs(
                    errs,
                    &sp.child("externalName"),
                    cname,
                    validation::is_dns1123_subdomain(cname),
                );
            }
        }
        _ => {}
    }
    let pp = sp.child("ports");
    let mut names: Vec<&str> = Vec::new();
    for (i, port) in ports.iter().enumerate() {
        let ip = pp.index(i);
        let name = s(port, "name");
        if ports.len() > 1 && name.is_empty() {
            required(errs, &ip.child("name"), "");
        } else if !name.is_empty() {
            invalid_msgs(
                errs,
                &ip.child("name"),
                name,
                validation::is_dns1123_label(name),
            );
            if names.contains(&name) {
                duplicate(errs, &ip.child("name"), name);
            } else {
                names.push(name);
            }
        }
        let pn = int(port, "port").unwrap_or(0);
        if !(1..=65535).contains(&pn) {
            invalid(
                errs,
                &ip.child("port"),
                pn,
                "must be between 1 and 65535, inclusive",
            );
        }
        protocol(errs, port, &ip);
        port_num_or_name(errs, get(port, "targetPort"), &ip.child("targetPort"));
        if let Some(ap) = get(port, "appProtocol").and_then(Value::as_str) {
            label_name(errs, ap, &ip.child("appProtocol"));
        }
    }
    if get(spec, "selector").is_some() {
        labels(errs, get(spec, "selector"), &sp.child("selector"));
    }
    let affinity = s(spec, "sessionAffinity");
    match affinity {
        "" => required(errs, &sp.child("sessionAffinity"), ""),
        "ClientIP" | "None" => {}
        other => not_supported(
            errs,
            &sp.child("sessionAffinity"),
            other,
            &["ClientIP", "None"],
        ),
    }
    let cfg_path = sp.child("sessionAffinityConfig");
    if affinity == "ClientIP" {
        let detail = "when session affinity type is ClientIP";
        match get(spec, "sessionAffinityConfig") {
            None => required(errs, &cfg_path, detail),
            Some(cfg) => match get(cfg, "clientIP") {
                None => required(errs, &cfg_path.child("clientIP"), detail),
                Some(c) => {
                    let cp = cfg_path.child("clientIP");
                    let tp = cp.child("timeoutSeconds");
                    match int(c, "timeoutSeconds") {
                        None => required(errs, &tp, detail),
                        Some(t) if t <= 0 || t > 86400 => {
                            invalid(errs, &tp, t, "must be greater than 0 and less than 86400")
                        }
                        _ => {}
                    }
                }
            },
        }
    } else if affinity == "None" && get(spec, "sessionAffinityConfig").is_some() {
        forbidden(
            errs,
            &cfg_path,
            "must not be set when session affinity is None",
        );
    }
    cluster_ips_related(spec, ty, &sp, errs);
    let ep = sp.child("externalIPs");
    for (i, ip) in arr(spec, "externalIPs").iter().enumerate() {
        let ip = ip.as_str().unwrap_or("");
        match ip.parse::<IpAddr>() {
            Err(_) => invalid(errs, &ep.index(i), ip, IP_MSG),
            Ok(addr) => non_special_ip(errs, ip, addr, &ep.index(i)),
        }
    }
    const TYPES: &[&str] = &["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];
    if ty.is_empty() {
        required(errs, &sp.child("type"), "");
    } else if !TYPES.contains(&ty) {
        not_supported(errs, &sp.child("type"), ty, TYPES);
    }
    if ty == "ClusterIP" {
        for (i, port) in ports.iter().enumerate() {
            if int(port, "nodePort").unwrap_or(0) != 0 {
                let ip = pp.index(i);
                forbidden(
                    errs,
                    &ip.child("nodePort"),
                    "may not be used when `type` is 'ClusterIP'",
                );
            }
        }
    }
    for (i, port) in ports.iter().enumerate() {
        let np = int(port, "nodePort").unwrap_or(0);
        if np == 0 {
            continue;
        }
        let proto = s(port, "protocol");
        if ports[..i]
            .iter()
            .any(|o| int(o, "nodePort") == Some(np) && s(o, "protocol") == proto)
        {
            let ip = pp.index(i);
            duplicate(errs, &ip.child("nodePort"), np);
        }
    }
    for (i, port) in ports.iter().enumerate() {
        let pn = int(port, "port").unwrap_or(0);
        let proto = s(port, "protocol");
        if ports[..i]
            .iter()
            .any(|o| int(o, "port").unwrap_or(0) == pn && s(o, "protocol") == proto)
        {
            // kube renders the internal core.ServicePort key (Go field names).
            duplicate(
                errs,
                &pp.index(i),
                json!({"Name": "", "Protocol": proto, "AppProtocol": null, "Port": pn, "TargetPort": 0, "NodePort": 0}),
            );
        }
    }
    let ranges = arr(spec, "loadBalancerSourceRanges");
    if !ranges.is_empty() {
        let rp = sp.child("LoadBalancerSourceRanges");
        if ty != "LoadBalancer" {
            forbidden(errs, &rp, "may only be used when `type` is 'LoadBalancer'");
        }
    }
    if get(spec, "allocateLoadBalancerNodePorts").is_some() && ty != "LoadBalancer" {
        forbidden(
            errs,
            &sp.child("allocateLoadBalancerNodePorts"),
            "may only be used when `type` is 'LoadBalancer'",
        );
    }
    if ty == "LoadBalancer" && get(spec, "allocateLoadBalancerNodePorts").is_none() {
        required(errs, &Path::new("allocateLoadBalancerNodePorts"), "");
    }
    external_traffic(spec, ty, &sp, errs);
    match get(spec, "internalTrafficPolicy").and_then(Value::as_str) {
        None => {
            if matches!(ty, "NodePort" | "LoadBalancer" | "ClusterIP") {
                required(errs, &sp.child("internalTrafficPolicy"), "");
            }
        }
        Some("Cluster" | "Local") => {}
        Some(other) => not_supported(
            errs,
            &sp.child("internalTrafficPolicy"),
            other,
            &["Cluster", "Local"],
        ),
    }
}

/// `ValidateNonSpecialIP`.
fn non_special_ip(errs: &mut Errs, raw: &str, ip: IpAddr, p: &Path<'_>) {
    if ip.is_unspecified() {
        invalid(errs, p, raw, &format!("may not be unspecified ({raw})"));
    }
    if ip.is_loopback() {
        invalid(
            errs,
            p,
            raw,
            "may not be in the loopback range (127.0.0.0/8, ::1/128)",
        );
    }
    let link_local = match ip {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) == 0xfe80,
    };
    if link_local {
        invalid(
            errs,
            p,
            raw,
            "may not be in the link-local range (169.254.0.0/16, fe80::/10)",
        );
    }
    let ll_multicast = match ip {
        IpAddr::V4(v4) => v4.octets()[0] == 224 && v4.octets()[1] == 0 && v4.octets()[2] == 0,
        IpAddr::V6(v6) => (v6.segments()[0] & 0xff0f) == 0xff02,
    };
    if ll_multicast {
        invalid(
            errs,
            p,
            raw,
            "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)",
        );
    }
}

fn externally_accessible(spec: &Value, ty: &str) -> bool {
    ty == "LoadBalancer"
        || ty == "NodePort"
        || (ty == "ClusterIP" && !arr(spec, "externalIPs").is_empty())
}

fn external_traffic(spec: &Value, ty: &str, sp: &Path<'_>, errs: &mut Errs) {
    let etp = s(spec, "externalTrafficPolicy");
    let p = sp.child("externalTrafficPolicy");
    if !externally_accessible(spec, ty) {
        if !etp.is_empty() {
            invalid(
                errs,
                &p,
                etp,
                "may only be set for externally-accessible services",
            );
        }
    } else if etp.is_empty() {
        // Kiln's defaulting fills the policy for NodePort and LoadBalancer services only.
        if ty != "ClusterIP" {
            required(errs, &p, "");
        }
    } else if etp != "Cluster" && etp != "Local" {
        not_supported(errs, &p, etp, &["Cluster", "Local"]);
    }
    let needs_hc = ty == "LoadBalancer" && etp == "Local";
    let hc = int(spec, "healthCheckNodePort").unwrap_or(0);
    let hp = sp.child("healthCheckNodePort");
    if !needs_hc {
        if hc != 0 {
            invalid(
                errs,
                &hp,
                hc,
                "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'",
            );
        }
    } else if hc != 0 && !(1..=65535).contains(&hc) {
        invalid(errs, &hp, hc, "must be between 1 and 65535, inclusive");
    }
}

/// `ValidateServiceClusterIPsRelatedFields`.
fn cluster_ips_related(spec: &Value, ty: &str, sp: &Path<'_>, errs: &mut Errs) {
    if ty == "ExternalName" {
        return;
    }
    let ips_path = sp.child("clusterIPs");
    let ips = strings(arr(spec, "clusterIPs"));
    let ips_value = Value::Array(arr(spec, "clusterIPs").to_vec());
    let cluster_ip = s(spec, "clusterIP");
    if !cluster_ip.is_empty() {
        if ips.is_empty() {
            required(errs, &ips_path, "");
        } else if ips[0] != cluster_ip {
            invalid(
                errs,
                &ips_path,
                ips_value.clone(),
                "first value must match `clusterIP`",
            );
        }
    } else if !ips.is_empty() {
        invalid(
            errs,
            &ips_path,
            ips_value.clone(),
            "must be empty when `clusterIP` is not specified",
        );
    }
    let fams = strings(arr(spec, "ipFamilies"));
    let fp = sp.child("ipFamilies");
    for (i, f) in fams.iter().enumerate() {
        if *f != "IPv4" && *f != "IPv6" {
            not_supported(errs, &fp.index(i), *f, &["IPv4", "IPv6"]);
        }
        if fams[..i].contains(f) {
            duplicate(errs, &fp.index(i), *f);
        }
    }
    if let Some(pol) = get(spec, "ipFamilyPolicy").and_then(Value::as_str)
        && !matches!(pol, "SingleStack" | "PreferDualStack" | "RequireDualStack")
    {
        not_supported(
            errs,
            &sp.child("ipFamilyPolicy"),
            pol,
            &["PreferDualStack", "RequireDualStack", "SingleStack"],
        );
    }
    let mut bad = false;
    for (i, ip) in ips.iter().enumerate() {
        if i == 0 && *ip == "None" {
            if ips.len() > 1 {
                bad = true;
                invalid(
                    errs,
                    &ips_path,
                    ips_value.clone(),
                    "'None' must be the first and only value",
                );
            }
            continue;
        }
        if ip.parse::<IpAddr>().is_err() {
            bad = true;
            invalid(errs, &ips_path.index(i), *ip, IP_MSG);
        }
    }
    if ips.len() > 2 {
        invalid(
            errs,
            &ips_path,
            ips_value.clone(),
            "may only hold up to 2 values",
        );
    }
    if bad {
        return;
    }
    if ips.len() > 1 {
        let v6: Vec<bool> = ips.iter().map(|ip| ip.contains(':')).collect();
        if v6.iter().all(|x| *x) || v6.iter().all(|x| !*x) || ips.len() > 2 {
            invalid(
                errs,
                &ips_path,
                ips_value,
                "may specify no more than one IP for each IP family",
            );
        }
    }
    if !is_headless(spec) {
        for (i, ip) in ips.iter().enumerate() {
            let Some(f) = fams.get(i) else { break };
            let is_v6 = ip.parse::<IpAddr>().is_ok_and(|a| a.is_ipv6());
            if *f == "IPv4" && is_v6 {
                invalid(
                    errs,
                    &ips_path.index(i),
                    *ip,
                    &format!("expected an IPv4 value as indicated by `ipFamilies[{i}]`"),
                );
            }
            if *f == "IPv6" && !is_v6 {
                invalid(
                    errs,
                    &ips_path.index(i),
                    *ip,
                    &format!("expected an IPv6 value as indicated by `ipFamilies[{i}]`"),
                );
            }
        }
    }
}

/// The update-only part of `ValidateServiceUpdate` (cluster IPs and families may not
/// change once set).
pub fn validate_service_update(new: &Value, old: &Value, errs: &mut Errs) {
    let ns = get(new, "spec").unwrap_or(&Value::Null);
    let os = get(old, "spec").unwrap_or(&Value::Null);
    if s(ns, "type") == "ExternalName" || s(os, "type") == "ExternalName" {
        return;
    }
    let new_headless = is_headless(ns);
    let old_headless = is_headless(os);
    let sp = Path::new("spec");
    let ips_path = sp.child("clusterIPs");
    let nips = strings(arr(ns, "clusterIPs"));
    let oips = strings(arr(os, "clusterIPs"));
    let nval = Value::Array(arr(ns, "clusterIPs").to_vec());
    if !(old_headless && new_headless) {
        if nips.len() == oips.len() {
            for (i, ip) in oips.iter().enumerate() {
                if nips[i] != *ip {
                    invalid(
                        errs,
                        &ips_path.index(i),
                        nval.clone(),
                        "may not change once set",
                    );
                }
            }
        } else if oips.len() > nips.len() {
            if nips.is_empty() {
                invalid(
                    errs,
                    &ips_path.index(0),
                    nval.clone(),
                    "primary clusterIP can not be unset",
                );
            }
            if !oips.is_empty() && !nips.is_empty() && nips[0] != oips[0] {
                invalid(
                    errs,
                    &ips_path.index(0),
                    nval.clone(),
                    "may not change once set",
                );
            }
        } else if !oips.is_empty() && nips[0] != oips[0] {
            invalid(
                errs,
                &ips_path.index(0),
                nval.clone(),
                "may not change once set",
            );
        }
    }
    if new_headless != old_headless || new_headless {
        return;
    }
    let nf = strings(arr(ns, "ipFamilies"));
    let of = strings(arr(os, "ipFamilies"));
    let fp = sp.child("ipFamilies");
    let fval = Value::Array(arr(ns, "ipFamilies").to_vec());
    if nf.len() == of.len() {
        for (i, f) in of.iter().enumerate() {
            if nf[i] != *f {
                invalid(errs, &fp.index(0), fval.clone(), "may not change once set");
            }
        }
    }
}

/// A service's selector as a map (for callers that match pods).
pub fn selector(svc: &Value) -> Option<&Map<String, Value>> {
    get(svc, "spec").and_then(|s| super::obj(s, "selector"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaulted(spec: Value) -> Value {
        let mut spec = spec;
        if let Value::Object(m) = &mut spec {
            crate::kinds::service::default_service(m);
        }
        json!({ "spec": spec })
    }

    fn msgs(v: &Value) -> Vec<String> {
        let mut errs = Vec::new();
        validate_service(v, &mut errs);
        errs.iter().map(|e| e.to_string()).collect()
    }

    #[test]
    fn kubectl_create_service_is_valid() {
        let svc = defaulted(
            json!({"clusterIP": "10.96.0.20", "ports": [{"name": "80-80", "port": 80, "targetPort": 80}], "selector": {"app": "x"}}),
        );
        assert!(msgs(&svc).is_empty(), "{:?}", msgs(&svc));
        let np = defaulted(
            json!({"type": "NodePort", "clusterIP": "10.96.0.21", "ports": [{"port": 80, "nodePort": 30001}]}),
        );
        assert!(msgs(&np).is_empty(), "{:?}", msgs(&np));
        let en = defaulted(json!({"type": "ExternalName", "externalName": "example.com"}));
        assert!(msgs(&en).is_empty(), "{:?}", msgs(&en));
    }

    #[test]
    fn port_errors() {
        let svc = defaulted(
            json!({"clusterIP": "10.96.0.20", "ports": [{"port": 0}, {"name": "a", "port": 80, "protocol": "XTP"}]}),
        );
        assert_eq!(
            msgs(&svc),
            vec![
                "spec.ports[0].name: Required value",
                "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive",
                "spec.ports[0].targetPort: Invalid value: 0: must be between 1 and 65535, inclusive",
                "spec.ports[1].protocol: Unsupported value: \"XTP\": supported values: \"SCTP\", \"TCP\", \"UDP\"",
            ]
        );
        let none = defaulted(json!({"clusterIP": "10.96.0.20"}));
        assert_eq!(msgs(&none), vec!["spec.ports: Required value"]);
    }

    #[test]
    fn cluster_ip_is_immutable() {
        let old = defaulted(json!({"clusterIP": "10.96.0.20", "ports": [{"port": 80}]}));
        let new = defaulted(json!({"clusterIP": "10.96.0.21", "ports": [{"port": 80}]}));
        let mut errs = Vec::new();
        validate_service_update(&new, &old, &mut errs);
        assert_eq!(
            errs.iter().map(|e| e.to_string()).collect::<Vec<_>>(),
            vec!["spec.clusterIPs[0]: Invalid value: [\"10.96.0.21\"]: may not change once set"]
        );
    }
}
