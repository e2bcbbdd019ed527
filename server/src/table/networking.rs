//! Printers of `networking.k8s.io` and `discovery.k8s.io`.

use serde_json::{Value, json};

use super::core::load_balancer_addresses;
use super::format::{Ctx, arr_at, at, format_label_selector, int_at, list_with_more, str_at};
use super::{AGE, Col, Desc, Entry, NAME, Printer, col};

pub static PRINTERS: &[Entry] = &[
    Entry {
        group: "networking.k8s.io",
        kind: "Ingress",
        printer: Printer::new(INGRESS, ingress),
    },
    Entry {
        group: "networking.k8s.io",
        kind: "IngressClass",
        printer: Printer::new(INGRESS_CLASS, ingress_class),
    },
    Entry {
        group: "networking.k8s.io",
        kind: "NetworkPolicy",
        printer: Printer::new(NETWORK_POLICY, network_policy),
    },
    Entry {
        group: "networking.k8s.io",
        kind: "ServiceCIDR",
        printer: Printer::new(SERVICE_CIDR, service_cidr),
    },
    Entry {
        group: "networking.k8s.io",
        kind: "IPAddress",
        printer: Printer::new(IP_ADDRESS, ip_address),
    },
    Entry {
        group: "discovery.k8s.io",
        kind: "EndpointSlice",
        printer: Printer::new(ENDPOINT_SLICE, endpoint_slice),
    },
];

fn name(o: &Value) -> Value {
    json!(str_at(o, "metadata/name"))
}

fn age(o: &Value, ctx: &Ctx) -> Value {
    json!(ctx.since(at(o, "metadata/creationTimestamp")))
}

const INGRESS: &[Col] = &[
    NAME,
    col(
        "Class",
        "string",
        Desc::Text(
            "The name of the IngressClass resource that should be used for additional configuration",
        ),
    ),
    col(
        "Hosts",
        "string",
        Desc::Text("Hosts that incoming requests are matched against before the ingress rule"),
    ),
    col(
        "Address",
        "string",
        Desc::Text("Address is a list containing ingress points for the load-balancer"),
    ),
    col(
        "Ports",
        "string",
        Desc::Text("Ports of TLS configurations that open"),
    ),
    AGE,
];

/// `formatHosts`: the first three rule hosts, `*` when none names a host.
fn hosts(rules: &[Value]) -> String {
    const MAX: usize = 3;
    let mut list: Vec<&str> = Vec::new();
    let mut more = false;
    for rule in rules {
        if list.len() == MAX {
            more = true;
        }
        let host = str_at(rule, "host");
        if !more && !host.is_empty() {
            list.push(host);
        }
    }
    if list.is_empty() {
        return "*".to_string();
    }
    let ret = list.join(",");
    if more {
        return format!("{ret} + {} more...", rules.len() - MAX);
    }
    ret
}

fn ingress(o: &Value, ctx: &Ctx) -> Vec<Value> {
    let class = at(o, "spec/ingressClassName")
        .and_then(Value::as_str)
        .unwrap_or("<none>");
    let ports = if arr_at(o, "spec/tls").is_empty() {
        "80"
    } else {
        "80, 443"
    };
    vec![
        name(o),
        json!(class),
        json!(hosts(arr_at(o, "spec/rules"))),
        json!(load_balancer_addresses(arr_at(
            o,
            "status/loadBalancer/ingress"
        ))),
        json!(ports),
        age(o, ctx),
    ]
}

const INGRESS_CLASS: &[Col] = &[
    NAME,
    col(
        "Controller",
        "string",
        Desc::Text("Controller that is responsible for handling this class"),
    ),
    col(
        "Parameters",
        "string",
        Desc::Text("A reference to a resource with additional parameters"),
    ),
    AGE,
];

fn ingress_class(o: &Value, ctx: &Ctx) -> Vec<Value> {
    let parameters = match at(o, "spec/parameters").filter(|v| v.is_object()) {
        Some(p) => {
            let mut s = str_at(p, "kind").to_string();
            if let Some(g) = p.get("apiGroup").and_then(Value::as_str) {
                s.push('.');
                s.push_str(g);
            }
            s.push('/');
            s.push_str(str_at(p, "name"));
            s
        }
        None => "<none>".to_string(),
    };
    vec![
        name(o),
        json!(str_at(o, "spec/controller")),
        json!(parameters),
        age(o, ctx),
    ]
}

const NETWORK_POLICY: &[Col] = &[
    NAME,
    col(
        "Pod-Selector",
        "string",
        Desc::Field("io.k8s.api.networking.v1.NetworkPolicySpec", "podSelector"),
    ),
    AGE,
];

fn network_policy(o: &Value, ctx: &Ctx) -> Vec<Value> {
    // podSelector is a value in the internal type: absent means the empty selector.
    let empty = json!({});
    let selector = at(o, "spec/podSelector")
        .filter(|v| !v.is_null())
        .unwrap_or(&empty);
    vec![
        name(o),
        json!(format_label_selector(Some(selector))),
        age(o, ctx),
    ]
}

const SERVICE_CIDR: &[Col] = &[
    NAME,
    col(
        "CIDRs",
        "string",
        Desc::Field("io.k8s.api.networking.v1.ServiceCIDRSpec", "cidrs"),
    ),
    AGE,
];

fn service_cidr(o: &Value, ctx: &Ctx) -> Vec<Value> {
    let cidrs: Vec<&str> = arr_at(o, "spec/cidrs")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    vec![name(o), json!(cidrs.join(",")), age(o, ctx)]
}

const IP_ADDRESS: &[Col] = &[
    NAME,
    col(
        "ParentRef",
        "string",
        Desc::Field("io.k8s.api.networking.v1.IPAddressSpec", "parentRef"),
    ),
];

fn ip_address(o: &Value, ctx: &Ctx) -> Vec<Value> {
    let parent = match at(o, "spec/parentRef").filter(|v| v.is_object()) {
        Some(p) => {
            let group = str_at(p, "group");
            let resource = str_at(p, "resource");
            let mut s = if group.is_empty() {
                resource.to_lowercase()
            } else {
                format!("{resource}.{group}").to_lowercase()
            };
            let ns = str_at(p, "namespace");
            if !ns.is_empty() {
                s.push('/');
                s.push_str(ns);
            }
            s.push('/');
            s.push_str(str_at(p, "name"));
            s
        }
        None => "<none>".to_string(),
    };
    // kube prints an Age cell although the columns end at ParentRef.
    vec![name(o), json!(parent), age(o, ctx)]
}

const ENDPOINT_SLICE: &[Col] = &[
    NAME,
    col(
        "AddressType",
        "string",
        Desc::Field("io.k8s.api.discovery.v1.EndpointSlice", "addressType"),
    ),
    col(
        "Ports",
        "string",
        Desc::Field("io.k8s.api.discovery.v1.EndpointSlice", "ports"),
    ),
    col(
        "Endpoints",
        "string",
        Desc::Field("io.k8s.api.discovery.v1.EndpointSlice", "endpoints"),
    ),
    AGE,
];

fn endpoint_slice(o: &Value, ctx: &Ctx) -> Vec<Value> {
    const MAX: usize = 3;
    let mut ports: Vec<String> = Vec::new();
    let mut more = false;
    let mut count = 0;
    for p in arr_at(o, "ports") {
        if ports.len() < MAX {
            let num = if p.get("port").is_some_and(|v| !v.is_null()) {
                int_at(p, "port").to_string()
            } else if let Some(n) = p.get("name").and_then(Value::as_str) {
                n.to_string()
            } else {
                "*".to_string()
            };
            ports.push(num);
        } else if ports.len() == MAX {
            more = true;
        }
        count += 1;
    }
    let ports = list_with_more(&ports, more, count, MAX);
    let mut addrs: Vec<String> = Vec::new();
    let mut more = false;
    let mut count = 0;
    for e in arr_at(o, "endpoints") {
        for a in arr_at(e, "addresses") {
            if addrs.len() < MAX {
                addrs.push(a.as_str().unwrap_or("").to_string());
            } else if addrs.len() == MAX {
                more = true;
            }
            count += 1;
        }
    }
    vec![
        name(o),
        json!(str_at(o, "addressType")),
        json!(ports),
        json!(list_with_more(&addrs, more, count, MAX)),
        age(o, ctx),
    ]
}
