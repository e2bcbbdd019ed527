//! networking.k8s.io: kube's `ValidateIngressCreate` / `ValidateIngressUpdate`,
//! `ValidateIngressClass(Update)` and `ValidateNetworkPolicy(Update)`
//! (`pkg/apis/networking/validation`).

use std::net::IpAddr;

use serde_json::Value;

use super::pod::port_name_errors;
use super::{
    Errs, Path, arr, forbidden, get, int, invalid, invalid_msgs, label_selector, lookup,
    not_supported, obj, required, s,
};
use crate::validation::{self, FieldError};

const PORT_RANGE_MSG: &str = "must be between 1 and 65535, inclusive";
const CIDR_MSG: &str = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)";
const DNS1123_SUBDOMAIN_FMT: &str =
    "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";

fn msgs_at(errs: &mut Errs, p: &Path<'_>, v: &str, msgs: Vec<String>) {
    if !msgs.is_empty() {
        invalid_msgs(errs, p, v, msgs);
    }
}

/// `IsWildcardDNS1123Subdomain`.
fn wildcard_subdomain_errors(v: &str) -> Vec<String> {
    let mut out = Vec::new();
    if v.len() > 253 {
        out.push("must be no more than 253 characters".to_string());
    }
    let ok = v
        .strip_prefix("*.")
        .is_some_and(|rest| validation::is_dns1123_subdomain(rest).is_empty());
    if !ok {
        out.push(format!(
            "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which must consist of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric character (e.g. '*.example.com', regex used for validation is '\\*\\.{DNS1123_SUBDOMAIN_FMT}')"
        ));
    }
    out
}

fn host_errors(host: &str) -> Vec<String> {
    if host.contains('*') {
        wildcard_subdomain_errors(host)
    } else {
        validation::is_dns1123_subdomain(host)
    }
}

/// A CIDR as `net.ParseCIDR` reads it: the masked network address and the prefix length.
fn parse_cidr(v: &str) -> Option<(IpAddr, u8)> {
    let (ip, bits) = v.split_once('/')?;
    let ip: IpAddr = ip.parse().ok()?;
    if bits.is_empty() || !bits.bytes().all(|b| b.is_ascii_digit()) || bits.len() > 3 {
        return None;
    }
    let bits: u8 = bits.parse().ok()?;
    let masked = match ip {
        IpAddr::V4(a) => {
            if bits > 32 {
                return None;
            }
            let m = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            IpAddr::V4((u32::from(a) & m).into())
        }
        IpAddr::V6(a) => {
            if bits > 128 {
                return None;
            }
            let m = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            IpAddr::V6((u128::from(a) & m).into())
        }
    };
    Some((masked, bits))
}

fn cidr_contains(net: (IpAddr, u8), ip: IpAddr) -> bool {
    match (net.0, ip) {
        (IpAddr::V4(n), IpAddr::V4(a)) => {
            let m = u32::MAX.checked_shl(32 - u32::from(net.1)).unwrap_or(0);
            u32::from(n) == u32::from(a) & m
        }
        (IpAddr::V6(n), IpAddr::V6(a)) => {
            let m = u128::MAX.checked_shl(128 - u32::from(net.1)).unwrap_or(0);
            u128::from(n) == u128::from(a) & m
        }
        _ => false,
    }
}

// ---------------------------------------------------------------------------------------
// NetworkPolicy
// ---------------------------------------------------------------------------------------

/// `ValidateNetworkPolicySpec`.
pub fn validate_network_policy(np: &Value, errs: &mut Errs) {
    let spec = get(np, "spec").unwrap_or(&Value::Null);
    let sp = Path::new("spec");
    if let Some(sel) = get(spec, "podSelector") {
        label_selector(errs, sel, &sp.child("podSelector"));
    }
    for (dir, peers_key) in [("ingress", "from"), ("egress", "to")] {
        let rp = sp.child(dir);
        for (i, rule) in arr(spec, dir).iter().enumerate() {
            let ip = rp.index(i);
            let pp = ip.child("ports");
            for (j, port) in arr(rule, "ports").iter().enumerate() {
                policy_port(errs, port, &pp.index(j));
            }
            let peers = ip.child(peers_key);
            for (j, peer) in arr(rule, peers_key).iter().enumerate() {
                policy_peer(errs, peer, &peers.index(j));
            }
        }
    }
    let types = arr(spec, "policyTypes");
    let tp = sp.child("policyTypes");
    if types.len() > 2 {
        invalid(
            errs,
            &tp,
            Value::Array(types.to_vec()),
            "may not specify more than two policyTypes",
        );
        return;
    }
    for (i, t) in types.iter().enumerate() {
        let t = t.as_str().unwrap_or("");
        if t != "Ingress" && t != "Egress" {
            not_supported(errs, &tp.index(i), t, &["Ingress", "Egress"]);
        }
    }
}

/// `ValidateNetworkPolicyPort`.
fn policy_port(errs: &mut Errs, port: &Value, p: &Path<'_>) {
    if let Some(proto) = get(port, "protocol").and_then(Value::as_str)
        && !matches!(proto, "TCP" | "UDP" | "SCTP")
    {
        not_supported(errs, &p.child("protocol"), proto, &["TCP", "UDP", "SCTP"]);
    }
    let end = int(port, "endPort");
    let ep = p.child("endPort");
    match get(port, "port") {
        Some(Value::String(name)) => {
            if let Some(e) = end {
                invalid(
                    errs,
                    &ep,
                    e,
                    "may not be specified when `port` is non-numeric",
                );
            }
            msgs_at(errs, &p.child("port"), name, port_name_errors(name));
        }
        Some(n) => {
            let n = n.as_i64().unwrap_or(0);
            if !(1..=65535).contains(&n) {
                invalid(errs, &p.child("port"), n, PORT_RANGE_MSG);
            }
            if let Some(e) = end {
                if e < n {
                    invalid(errs, &ep, e, "must be greater than or equal to `port`");
                }
                if !(1..=65535).contains(&e) {
                    invalid(errs, &ep, e, PORT_RANGE_MSG);
                }
            }
        }
        None => {
            if let Some(e) = end {
                invalid(
                    errs,
                    &ep,
                    e,
                    "may not be specified when `port` is not specified",
                );
            }
        }
    }
}

/// `ValidateNetworkPolicyPeer`.
fn policy_peer(errs: &mut Errs, peer: &Value, p: &Path<'_>) {
    let mut n = 0;
    for key in ["podSelector", "namespaceSelector"] {
        if let Some(sel) = get(peer, key) {
            n += 1;
            label_selector(errs, sel, &p.child(key));
        }
    }
    let block = get(peer, "ipBlock");
    if let Some(b) = block {
        n += 1;
        ip_block(errs, b, &p.child("ipBlock"));
    }
    if n == 0 {
        required(errs, p, "must specify a peer");
    } else if n > 1 && block.is_some() {
        forbidden(errs, p, "may not specify both ipBlock and another peer");
    }
}

/// `ValidateIPBlock`.
fn ip_block(errs: &mut Errs, b: &Value, p: &Path<'_>) {
    let cidr = s(b, "cidr");
    let cp = p.child("cidr");
    if cidr.is_empty() {
        required(errs, &cp, "");
        return;
    }
    let Some(net) = parse_cidr(cidr) else {
        invalid(errs, &cp, cidr, CIDR_MSG);
        return;
    };
    let xp = p.child("except");
    for (i, e) in arr(b, "except").iter().enumerate() {
        let e = e.as_str().unwrap_or("");
        let ep = xp.index(i);
        match parse_cidr(e) {
            None => invalid(errs, &ep, e, CIDR_MSG),
            Some(x) => {
                if !cidr_contains(net, x.0) || net.1 >= x.1 {
                    invalid(errs, &ep, e, "must be a strict subset of `cidr`");
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Ingress
// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy, Default)]
struct IngressOpts {
    allow_invalid_secret_name: bool,
    allow_invalid_wildcard_rule: bool,
}

/// `ValidateIngressCreate` minus metadata.
pub fn validate_ingress(ing: &Value, errs: &mut Errs) {
    ingress_spec(ing, IngressOpts::default(), errs);
    let class = get(ing, "spec").and_then(|sp| get(sp, "ingressClassName"));
    let ann = lookup(ing, "metadata")
        .and_then(|m| obj(m, "annotations"))
        .and_then(|a| a.get("kubernetes.io/ingress.class"))
        .and_then(Value::as_str);
    if let (Some(a), Some(c)) = (ann, class.and_then(Value::as_str))
        && a != c
    {
        let ap = Path::new("annotations");
        invalid(
            errs,
            &ap.child("kubernetes.io/ingress.class"),
            a,
            "must match `ingressClassName` when both are specified",
        );
    }
}

/// `ValidateIngressUpdate` minus metadata: invalid TLS secret names and wildcard rules the
/// old object already had stay allowed.
pub fn validate_ingress_update(new: &Value, old: &Value, errs: &mut Errs) {
    let ospec = get(old, "spec").unwrap_or(&Value::Null);
    let allow_invalid_secret_name = arr(ospec, "tls").iter().any(|t| {
        let n = s(t, "secretName");
        !n.is_empty() && !validation::is_dns1123_subdomain(n).is_empty()
    });
    let allow_invalid_wildcard_rule = arr(ospec, "rules").iter().any(|r| {
        s(r, "host").contains('*') && {
            let mut scratch = Vec::new();
            rule_value(&mut scratch, r, &Path::new(""), IngressOpts::default());
            !scratch.is_empty()
        }
    });
    ingress_spec(
        new,
        IngressOpts {
            allow_invalid_secret_name,
            allow_invalid_wildcard_rule,
        },
        errs,
    );
}

/// `ValidateIngressSpec`.
fn ingress_spec(ing: &Value, opts: IngressOpts, errs: &mut Errs) {
    let spec = get(ing, "spec").unwrap_or(&Value::Null);
    let sp = Path::new("spec");
    let rules = arr(spec, "rules");
    let default_backend = get(spec, "defaultBackend");
    if rules.is_empty() && default_backend.is_none() {
        invalid(
            errs,
            &sp,
            get(spec, "rules").cloned().unwrap_or(Value::Null),
            "either `defaultBackend` or `rules` must be specified",
        );
    }
    if let Some(b) = default_backend {
        backend(errs, b, &sp.child("defaultBackend"));
    }
    let rp = sp.child("rules");
    for (i, rule) in rules.iter().enumerate() {
        let ip = rp.index(i);
        let host = s(rule, "host");
        if !host.is_empty() {
            let hp = ip.child("host");
            if host.parse::<IpAddr>().is_ok() {
                invalid(errs, &hp, host, "must be a DNS name, not an IP address");
            }
            msgs_at(errs, &hp, host, host_errors(host));
        }
        if !host.contains('*') || !opts.allow_invalid_wildcard_rule {
            rule_value(errs, rule, &ip, opts);
        }
    }
    let tp = sp.child("tls");
    for (i, tls) in arr(spec, "tls").iter().enumerate() {
        let ip = tp.index(i);
        let hp = ip.child("hosts");
        for (j, h) in arr(tls, "hosts").iter().enumerate() {
            let h = h.as_str().unwrap_or("");
            msgs_at(errs, &hp.index(j), h, host_errors(h));
        }
        let secret = s(tls, "secretName");
        if !secret.is_empty() && !opts.allow_invalid_secret_name {
            msgs_at(
                errs,
                &ip.child("secretName"),
                secret,
                validation::is_dns1123_subdomain(secret),
            );
        }
    }
    if let Some(class) = get(spec, "ingressClassName").and_then(Value::as_str) {
        msgs_at(
            errs,
            &sp.child("ingressClassName"),
            class,
            validation::is_dns1123_subdomain(class),
        );
    }
}

/// `validateIngressRuleValue`.
fn rule_value(errs: &mut Errs, rule: &Value, p: &Path<'_>, opts: IngressOpts) {
    let _ = opts;
    let Some(http) = get(rule, "http") else {
        return;
    };
    let hp = p.child("http");
    let pp = hp.child("paths");
    let paths = arr(http, "paths");
    if paths.is_empty() {
        required(errs, &pp, "");
    }
    for (i, path) in paths.iter().enumerate() {
        http_path(errs, path, &pp.index(i));
    }
}

/// `validateHTTPIngressPath`.
fn http_path(errs: &mut Errs, path: &Value, p: &Path<'_>) {
    let Some(ty) = get(path, "pathType").and_then(Value::as_str) else {
        required(errs, &p.child("pathType"), "pathType must be specified");
        return;
    };
    let value = s(path, "path");
    let vp = p.child("path");
    match ty {
        "Exact" | "Prefix" => {
            if !value.starts_with('/') {
                invalid(errs, &vp, value, "must be an absolute path");
            }
            for seq in ["//", "/./", "/../", "%2f", "%2F"] {
                if value.contains(seq) {
                    invalid(errs, &vp, value, &format!("must not contain '{seq}'"));
                }
            }
            for suffix in ["/..", "/."] {
                if value.ends_with(suffix) {
                    invalid(errs, &vp, value, &format!("cannot end with '{suffix}'"));
                }
            }
        }
        "ImplementationSpecific" => {
            if !value.is_empty() && !value.starts_with('/') {
                invalid(errs, &vp, value, "must be an absolute path");
            }
        }
        other => not_supported(
            errs,
            &p.child("pathType"),
            other,
            &["Exact", "ImplementationSpecific", "Prefix"],
        ),
    }
    backend(
        errs,
        get(path, "backend").unwrap_or(&Value::Null),
        &p.child("backend"),
    );
}

/// `validateIngressBackend`.
fn backend(errs: &mut Errs, b: &Value, p: &Path<'_>) {
    let resource = get(b, "resource");
    let service = get(b, "service");
    match (resource, service) {
        (Some(_), Some(_)) => {
            invalid(errs, p, "", "cannot set both resource and service backends");
        }
        (Some(r), None) => typed_local_ref(errs, r, &p.child("resource")),
        (None, Some(svc)) => {
            let sp = p.child("service");
            let name = s(svc, "name");
            if name.is_empty() {
                required(errs, &sp.child("name"), "");
            } else {
                msgs_at(
                    errs,
                    &sp.child("name"),
                    name,
                    validation::is_dns1035_label(name),
                );
            }
            let port = get(svc, "port").unwrap_or(&Value::Null);
            let pname = s(port, "name");
            let pnum = int(port, "number").unwrap_or(0);
            let pp = sp.child("port");
            if !pname.is_empty() && pnum != 0 {
                invalid(errs, p, "", "cannot set both port name & port number");
            } else if !pname.is_empty() {
                msgs_at(errs, &pp.child("name"), pname, port_name_errors(pname));
            } else if pnum != 0 {
                if !(1..=65535).contains(&pnum) {
                    invalid(errs, &pp.child("number"), pnum, PORT_RANGE_MSG);
                }
            } else {
                required(errs, p, "port name or number is required");
            }
        }
        (None, None) => invalid(errs, p, "", "resource or service backend is required"),
    }
}

/// `validateIngressTypedLocalObjectReference`.
fn typed_local_ref(errs: &mut Errs, r: &Value, p: &Path<'_>) {
    if let Some(g) = get(r, "apiGroup").and_then(Value::as_str) {
        msgs_at(
            errs,
            &p.child("apiGroup"),
            g,
            validation::is_dns1123_subdomain(g),
        );
    }
    for f in ["kind", "name"] {
        let v = s(r, f);
        if v.is_empty() {
            required(errs, &p.child(f), "");
        } else {
            msgs_at(errs, &p.child(f), v, validation::is_path_segment_name(v));
        }
    }
}

// ---------------------------------------------------------------------------------------
// IngressClass
// ---------------------------------------------------------------------------------------

/// `validateIngressClassSpec`.
pub fn validate_ingress_class(ic: &Value, errs: &mut Errs) {
    let spec = get(ic, "spec").unwrap_or(&Value::Null);
    let sp = Path::new("spec");
    let controller = s(spec, "controller");
    let cp = sp.child("controller");
    if controller.is_empty() {
        required(errs, &cp, "");
    } else {
        if controller.len() > 250 {
            errs.push(FieldError::too_long(cp.render(), Some(250)));
        }
        domain_prefixed_path(errs, controller, &cp);
    }
    if let Some(params) = get(spec, "parameters") {
        let pp = sp.child("parameters");
        typed_local_ref(errs, params, &pp);
        let np = pp.child("namespace");
        match get(params, "scope").and_then(Value::as_str) {
            None => required(errs, &pp.child("scope"), ""),
            Some("Namespace") => match get(params, "namespace").and_then(Value::as_str) {
                None => required(errs, &np, "`parameters.scope` is set to 'Namespace'"),
                Some(ns) => msgs_at(errs, &np, ns, validation::is_dns1123_label(ns)),
            },
            Some("Cluster") => {
                if get(params, "namespace").is_some() {
                    forbidden(errs, &np, "`parameters.scope` is set to 'Cluster'");
                }
            }
            Some(other) => {
                not_supported(errs, &pp.child("scope"), other, &["Cluster", "Namespace"])
            }
        }
    }
}

/// `IsDomainPrefixedPath`.
fn domain_prefixed_path(errs: &mut Errs, v: &str, p: &Path<'_>) {
    let Some((host, path)) = v
        .split_once('/')
        .filter(|(h, r)| !h.is_empty() && !r.is_empty())
    else {
        invalid(
            errs,
            p,
            v,
            "must be a domain-prefixed path (such as \"acme.io/foo\")",
        );
        return;
    };
    msgs_at(errs, p, host, validation::is_dns1123_subdomain(host));
    let ok = path
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/-._~%!$&'()*+,;=:".contains(&b));
    if !ok {
        invalid(
            errs,
            p,
            path,
            "Invalid path (regex used for validation is '[A-Za-z0-9/\\-._~%!$&'()*+,;=:]+')",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(f: fn(&Value, &mut Errs), v: Value) -> Vec<String> {
        let mut errs = Vec::new();
        f(&v, &mut errs);
        errs.iter().map(|e| e.to_string()).collect()
    }

    fn backend_svc() -> Value {
        json!({"service": {"name": "web", "port": {"number": 80}}})
    }

    #[test]
    fn valid_objects_pass() {
        let ing = json!({"spec": {"ingressClassName": "nginx", "rules": [{"host": "*.example.com",
            "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": backend_svc()}]}}],
            "tls": [{"hosts": ["a.example.com"], "secretName": "tls"}]}});
        assert!(run(validate_ingress, ing).is_empty());
        let np = json!({"spec": {"podSelector": {"matchLabels": {"app": "x"}}, "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}}],
                "ports": [{"protocol": "TCP", "port": 80, "endPort": 90}]}],
            "egress": [{"to": [{"namespaceSelector": {}, "podSelector": {}}]}]}});
        assert!(run(validate_network_policy, np).is_empty());
        let ic = json!({"spec": {"controller": "example.com/ingress",
            "parameters": {"kind": "Params", "name": "p", "scope": "Cluster"}}});
        assert!(run(validate_ingress_class, ic).is_empty());
    }

    #[test]
    fn ingress_rules() {
        assert_eq!(
            run(validate_ingress, json!({"spec": {}})),
            vec!["spec: Invalid value: null: either `defaultBackend` or `rules` must be specified"]
        );
        let ing = json!({"spec": {"rules": [
            {"host": "1.2.3.4", "http": {"paths": [
                {"path": "a", "pathType": "Exact", "backend": backend_svc()},
                {"path": "/x", "backend": backend_svc()},
                {"path": "/x", "pathType": "Regex", "backend": {}},
                {"path": "/a//b/.", "pathType": "Prefix", "backend": {"service": {"name": "Web", "port": {"name": "http", "number": 8}}}}]}},
            {"host": "*.*.example.com", "http": {"paths": []}}]}});
        assert_eq!(
            run(validate_ingress, ing),
            vec![
                "spec.rules[0].host: Invalid value: \"1.2.3.4\": must be a DNS name, not an IP address",
                "spec.rules[0].http.paths[0].path: Invalid value: \"a\": must be an absolute path",
                "spec.rules[0].http.paths[1].pathType: Required value: pathType must be specified",
                "spec.rules[0].http.paths[2].pathType: Unsupported value: \"Regex\": supported values: \"Exact\", \"ImplementationSpecific\", \"Prefix\"",
                "spec.rules[0].http.paths[2].backend: Invalid value: \"\": resource or service backend is required",
                "spec.rules[0].http.paths[3].path: Invalid value: \"/a//b/.\": must not contain '//'",
                "spec.rules[0].http.paths[3].path: Invalid value: \"/a//b/.\": cannot end with '/.'",
                "spec.rules[0].http.paths[3].backend.service.name: Invalid value: \"Web\": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
                "spec.rules[0].http.paths[3].backend: Invalid value: \"\": cannot set both port name & port number",
                "spec.rules[1].host: Invalid value: \"*.*.example.com\": a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which must consist of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric character (e.g. '*.example.com', regex used for validation is '\\*\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
                "spec.rules[1].http.paths: Required value",
            ]
        );
        assert_eq!(
            run(
                validate_ingress,
                json!({"metadata": {"annotations": {"kubernetes.io/ingress.class": "a"}},
                    "spec": {"ingressClassName": "b", "defaultBackend": {"resource": {"kind": "", "name": "x"}, "service": {"name": "s"}}}})
            ),
            vec![
                "spec.defaultBackend: Invalid value: \"\": cannot set both resource and service backends",
                "annotations.kubernetes.io/ingress.class: Invalid value: \"a\": must match `ingressClassName` when both are specified",
            ]
        );
    }

    #[test]
    fn ingress_update_keeps_old_invalid_secret_names() {
        let old =
            json!({"spec": {"defaultBackend": backend_svc(), "tls": [{"secretName": "Bad_Name"}]}});
        let mut errs = Vec::new();
        validate_ingress_update(&old, &old, &mut errs);
        assert!(errs.is_empty());
        let mut errs = Vec::new();
        validate_ingress(&old, &mut errs);
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].field, "spec.tls[0].secretName");
    }

    #[test]
    fn network_policy_rules() {
        let np = json!({"spec": {"podSelector": {"matchLabels": {"-a": "b"}}, "policyTypes": ["Ingress", "Sideways"],
            "ingress": [{"ports": [{"protocol": "ICMP", "port": 90, "endPort": 80}, {"port": "http", "endPort": 81}, {"endPort": 5}],
                "from": [{}, {"ipBlock": {"cidr": "10.0.0.0/16", "except": ["10.1.0.0/24", "10.0.0.0/8", "x"]}, "podSelector": {}}]}],
            "egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/33"}}, {"ipBlock": {}}]}]}});
        let got = run(validate_network_policy, np);
        assert_eq!(
            got,
            vec![
                "spec.podSelector.matchLabels: Invalid value: \"-a\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
                "spec.ingress[0].ports[0].protocol: Unsupported value: \"ICMP\": supported values: \"TCP\", \"UDP\", \"SCTP\"",
                "spec.ingress[0].ports[0].endPort: Invalid value: 80: must be greater than or equal to `port`",
                "spec.ingress[0].ports[1].endPort: Invalid value: 81: may not be specified when `port` is non-numeric",
                "spec.ingress[0].ports[2].endPort: Invalid value: 5: may not be specified when `port` is not specified",
                "spec.ingress[0].from[0]: Required value: must specify a peer",
                "spec.ingress[0].from[1].ipBlock.except[0]: Invalid value: \"10.1.0.0/24\": must be a strict subset of `cidr`",
                "spec.ingress[0].from[1].ipBlock.except[1]: Invalid value: \"10.0.0.0/8\": must be a strict subset of `cidr`",
                "spec.ingress[0].from[1].ipBlock.except[2]: Invalid value: \"x\": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)",
                "spec.ingress[0].from[1]: Forbidden: may not specify both ipBlock and another peer",
                "spec.egress[0].to[0].ipBlock.cidr: Invalid value: \"10.0.0.0/33\": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)",
                "spec.egress[0].to[1].ipBlock.cidr: Required value",
                "spec.policyTypes[1]: Unsupported value: \"Sideways\": supported values: \"Ingress\", \"Egress\"",
            ]
        );
        assert_eq!(
            run(
                validate_network_policy,
                json!({"spec": {"policyTypes": ["Ingress", "Egress", "Ingress"]}})
            ),
            vec![
                "spec.policyTypes: Invalid value: [\"Ingress\",\"Egress\",\"Ingress\"]: may not specify more than two policyTypes"
            ]
        );
    }

    #[test]
    fn ingress_class_rules() {
        assert_eq!(
            run(
                validate_ingress_class,
                json!({"spec": {"controller": "nginx", "parameters": {"kind": "K", "name": "n", "scope": "Namespace"}}})
            ),
            vec![
                "spec.controller: Invalid value: \"nginx\": must be a domain-prefixed path (such as \"acme.io/foo\")",
                "spec.parameters.namespace: Required value: `parameters.scope` is set to 'Namespace'",
            ]
        );
    }
}
