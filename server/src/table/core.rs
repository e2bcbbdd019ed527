//! Printers of the core group ("") and of `events.k8s.io` Events.

use serde_json::{Value, json};

use super::format::{
    Ctx, arr_at, at, containers, format_labels, int_at, join_host_port, len_at, obj_at, or_none,
    parse_time, str_at,
};
use super::{AGE, Col, Desc, Entry, NAME, Printer, col, wide};

const CONTAINERS: Desc = Desc::Text("Names of each container in the template.");
const IMAGES: Desc = Desc::Text("Images referenced by each container in the template.");

pub static PRINTERS: &[Entry] = &[
    Entry {
        group: "",
        kind: "Pod",
        printer: Printer {
            columns: POD,
            cells: pod,
            conditions: Some(pod_conditions),
            sort: None,
        },
    },
    Entry {
        group: "",
        kind: "PodTemplate",
        printer: Printer::new(POD_TEMPLATE, pod_template),
    },
    Entry {
        group: "",
        kind: "ReplicationController",
        printer: Printer::new(RC, replication_controller),
    },
    Entry {
        group: "",
        kind: "Service",
        printer: Printer::new(SERVICE, service),
    },
    Entry {
        group: "",
        kind: "Endpoints",
        printer: Printer::new(ENDPOINTS, endpoints),
    },
    Entry {
        group: "",
        kind: "Node",
        printer: Printer::new(NODE, node),
    },
    Entry {
        group: "",
        kind: "Event",
        printer: Printer::new(EVENT, core_event),
    },
    Entry {
        group: "events.k8s.io",
        kind: "Event",
        printer: Printer::new(EVENT, events_event),
    },
    Entry {
        group: "",
        kind: "Namespace",
        printer: Printer::new(NAMESPACE, namespace),
    },
    Entry {
        group: "",
        kind: "Secret",
        printer: Printer::new(SECRET, secret),
    },
    Entry {
        group: "",
        kind: "ServiceAccount",
        printer: Printer::new(SERVICE_ACCOUNT, service_account),
    },
    Entry {
        group: "",
        kind: "PersistentVolume",
        printer: Printer::new(PV, persistent_volume),
    },
    Entry {
        group: "",
        kind: "PersistentVolumeClaim",
        printer: Printer::new(PVC, persistent_volume_claim),
    },
    Entry {
        group: "",
        kind: "ComponentStatus",
        printer: Printer::new(COMPONENT_STATUS, component_status),
    },
    Entry {
        group: "",
        kind: "ConfigMap",
        printer: Printer::new(CONFIGMAP, configmap),
    },
    Entry {
        group: "",
        kind: "ResourceQuota",
        printer: Printer::new(RESOURCE_QUOTA, resource_quota),
    },
];

const POD: &[Col] = &[
    NAME,
    col(
        "Ready",
        "string",
        Desc::Text("The aggregate readiness state of this pod for accepting traffic."),
    ),
    col(
        "Status",
        "string",
        Desc::Text("The aggregate status of the containers in this pod."),
    ),
    col(
        "Restarts",
        "string",
        Desc::Text(
            "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
        ),
    ),
    AGE,
    wide(
        "IP",
        "string",
        Desc::Field("io.k8s.api.core.v1.PodStatus", "podIP"),
    ),
    wide(
        "Node",
        "string",
        Desc::Field("io.k8s.api.core.v1.PodSpec", "nodeName"),
    ),
    wide(
        "Nominated Node",
        "string",
        Desc::Field("io.k8s.api.core.v1.PodStatus", "nominatedNodeName"),
    ),
    wide(
        "Readiness Gates",
        "string",
        Desc::Field("io.k8s.api.core.v1.PodSpec", "readinessGates"),
    ),
];

fn condition_true(conditions: &[Value], ty: &str) -> bool {
    conditions
        .iter()
        .any(|c| str_at(c, "type") == ty && str_at(c, "status") == "True")
}

fn is_restartable_init(spec_inits: &[Value], name: &str) -> bool {
    spec_inits
        .iter()
        .find(|c| str_at(c, "name") == name)
        .is_some_and(|c| str_at(c, "restartPolicy") == "Always")
}

/// The later of `current` and a container's last termination time.
fn later(current: Option<i128>, status: &Value) -> Option<i128> {
    match parse_time(at(status, "lastState/terminated/finishedAt")) {
        Some(t) if current.is_none_or(|c| c < t) => Some(t),
        _ => current,
    }
}

/// kube's pod printer: Ready `n/m`, the aggregate Status (phase, reason, init and container
/// states, Terminating), Restarts with the time of the last restart.
fn pod(p: &Value, ctx: &Ctx) -> Vec<Value> {
    let spec_containers = arr_at(p, "spec/containers");
    let spec_inits = arr_at(p, "spec/initContainers");
    let conditions = arr_at(p, "status/conditions");
    let mut restarts: i64 = 0;
    let mut restartable_restarts: i64 = 0;
    let mut total = spec_containers.len();
    let mut ready = 0usize;
    let mut last_restart: Option<i128> = None;
    let mut last_restartable_restart: Option<i128> = None;

    let phase = str_at(p, "status/phase");
    let mut reason = phase.to_string();
    let status_reason = str_at(p, "status/reason");
    if !status_reason.is_empty() {
        reason = status_reason.to_string();
    }
    for c in conditions {
        if str_at(c, "type") == "PodScheduled" && str_at(c, "reason") == "SchedulingGated" {
            reason = "SchedulingGated".to_string();
        }
    }
    total += spec_inits
        .iter()
        .filter(|c| str_at(c, "restartPolicy") == "Always")
        .count();

    let mut initializing = false;
    let init_statuses = arr_at(p, "status/initContainerStatuses");
    for (i, c) in init_statuses.iter().enumerate() {
        restarts += int_at(c, "restartCount");
        last_restart = later(last_restart, c);
        let restartable = is_restartable_init(spec_inits, str_at(c, "name"));
        if restartable {
            restartable_restarts += int_at(c, "restartCount");
            last_restartable_restart = later(last_restartable_restart, c);
        }
        let terminated = at(c, "state/terminated");
        let waiting_reason = str_at(c, "state/waiting/reason");
        if terminated.is_some() && int_at(c, "state/terminated/exitCode") == 0 {
            continue;
        }
        if restartable && at(c, "started").and_then(Value::as_bool) == Some(true) {
            if at(c, "ready").and_then(Value::as_bool) == Some(true) {
                ready += 1;
            }
            continue;
        }
        if let Some(t) = terminated {
            let r = str_at(t, "reason");
            reason = if r.is_empty() {
                let signal = int_at(t, "signal");
                if signal != 0 {
                    format!("Init:Signal:{signal}")
                } else {
                    format!("Init:ExitCode:{}", int_at(t, "exitCode"))
                }
            } else {
                format!("Init:{r}")
            };
        } else if at(c, "state/waiting").is_some()
            && !waiting_reason.is_empty()
            && waiting_reason != "PodInitializing"
        {
            reason = format!("Init:{waiting_reason}");
        } else {
            reason = format!("Init:{}/{}", i, spec_inits.len());
        }
        initializing = true;
        break;
    }

    if !initializing || condition_true_first(conditions, "Initialized") {
        restarts = restartable_restarts;
        last_restart = last_restartable_restart;
        let mut has_running = false;
        for c in arr_at(p, "status/containerStatuses").iter().rev() {
            restarts += int_at(c, "restartCount");
            last_restart = later(last_restart, c);
            let waiting_reason = str_at(c, "state/waiting/reason");
            let terminated = at(c, "state/terminated");
            let terminated_reason = str_at(c, "state/terminated/reason");
            if at(c, "state/waiting").is_some() && !waiting_reason.is_empty() {
                reason = waiting_reason.to_string();
            } else if terminated.is_some() && !terminated_reason.is_empty() {
                reason = terminated_reason.to_string();
            } else if let Some(t) = terminated {
                let signal = int_at(t, "signal");
                reason = if signal != 0 {
                    format!("Signal:{signal}")
                } else {
                    format!("ExitCode:{}", int_at(t, "exitCode"))
                };
            } else if at(c, "ready").and_then(Value::as_bool) == Some(true)
                && at(c, "state/running").is_some()
            {
                has_running = true;
                ready += 1;
            }
        }
        if reason == "Completed" && has_running {
            reason = if condition_true(conditions, "Ready") {
                "Running".to_string()
            } else {
                "NotReady".to_string()
            };
        }
    }

    let deleting = at(p, "metadata/deletionTimestamp").is_some_and(|v| !v.is_null());
    if deleting && status_reason == "NodeLost" {
        reason = "Unknown".to_string();
    } else if deleting && phase != "Failed" && phase != "Succeeded" {
        reason = "Terminating".to_string();
    }

    let restarts_cell = match last_restart {
        Some(t) if restarts != 0 => format!(
            "{restarts} ({} ago)",
            super::format::human_duration(ctx.now_nanos - t)
        ),
        _ => restarts.to_string(),
    };

    let ip = arr_at(p, "status/podIPs")
        .first()
        .map(|i| str_at(i, "ip"))
        .unwrap_or("");
    let gates = arr_at(p, "spec/readinessGates");
    let readiness_gates = if gates.is_empty() {
        "<none>".to_string()
    } else {
        let true_count = gates
            .iter()
            .filter(|g| {
                let ty = str_at(g, "conditionType");
                conditions
                    .iter()
                    .find(|c| str_at(c, "type") == ty)
                    .is_some_and(|c| str_at(c, "status") == "True")
            })
            .count();
        format!("{true_count}/{}", gates.len())
    };
    vec![
        json!(str_at(p, "metadata/name")),
        json!(format!("{ready}/{total}")),
        json!(reason),
        json!(restarts_cell),
        json!(ctx.since(at(p, "metadata/creationTimestamp"))),
        json!(or_none(ip)),
        json!(or_none(str_at(p, "spec/nodeName"))),
        json!(or_none(str_at(p, "status/nominatedNodeName"))),
        json!(readiness_gates),
    ]
}

/// `isPodInitializedConditionTrue`: the first Initialized condition decides.
fn condition_true_first(conditions: &[Value], ty: &str) -> bool {
    conditions
        .iter()
        .find(|c| str_at(c, "type") == ty)
        .is_some_and(|c| str_at(c, "status") == "True")
}

fn pod_conditions(p: &Value) -> Option<Value> {
    match str_at(p, "status/phase") {
        "Succeeded" => Some(
            json!([{"type": "Completed", "status": "True", "reason": "Succeeded", "message": "The pod has completed successfully."}]),
        ),
        "Failed" => Some(
            json!([{"type": "Completed", "status": "True", "reason": "Failed", "message": "The pod failed."}]),
        ),
        _ => None,
    }
}

const POD_TEMPLATE: &[Col] = &[
    NAME,
    col("Containers", "string", CONTAINERS),
    col("Images", "string", IMAGES),
    col(
        "Pod Labels",
        "string",
        Desc::Text("The labels for the pod template."),
    ),
];

fn pod_template(o: &Value, _ctx: &Ctx) -> Vec<Value> {
    let (names, images) = containers(at(o, "template/spec/containers"));
    vec![
        json!(str_at(o, "metadata/name")),
        json!(names),
        json!(images),
        json!(format_labels(at(o, "template/metadata/labels"))),
    ]
}

const RC: &[Col] = &[
    NAME,
    col(
        "Desired",
        "integer",
        Desc::Field("io.k8s.api.core.v1.ReplicationControllerSpec", "replicas"),
    ),
    col(
        "Current",
        "integer",
        Desc::Field("io.k8s.api.core.v1.ReplicationControllerStatus", "replicas"),
    ),
    col(
        "Ready",
        "integer",
        Desc::Field(
            "io.k8s.api.core.v1.ReplicationControllerStatus",
            "readyReplicas",
        ),
    ),
    AGE,
    wide("Containers", "string", CONTAINERS),
    wide("Images", "string", IMAGES),
    wide(
        "Selector",
        "string",
        Desc::Field("io.k8s.api.core.v1.ReplicationControllerSpec", "selector"),
    ),
];

fn replication_controller(o: &Value, ctx: &Ctx) -> Vec<Value> {
    let (names, images) = containers(at(o, "spec/template/spec/containers"));
    vec![
        json!(str_at(o, "metadata/name")),
        json!(int_at(o, "spec/replicas")),
        json!(int_at(o, "status/replicas")),
        json!(int_at(o, "status/readyReplicas")),
        json!(ctx.since(at(o, "metadata/creationTimestamp"))),
        json!(names),
        json!(images),
        json!(format_labels(at(o, "spec/selector"))),
    ]
}

const SERVICE: &[Col] = &[
    NAME,
    col(
        "Type",
        "string",
        Desc::Field("io.k8s.api.core.v1.ServiceSpec", "type"),
    ),
    col(
        "Cluster-IP",
        "string",
        Desc::Field("io.k8s.api.core.v1.ServiceSpec", "clusterIP"),
    ),
    col(
        "External-IP",
        "string",
        Desc::Field("io.k8s.api.core.v1.ServiceSpec", "externalIPs"),
    ),
    col(
        "Port(s)",
        "string",
        Desc::Field("io.k8s.api.core.v1.ServiceSpec", "ports"),
    ),
    AGE,
    wide(
        "Selector",
        "string",
        Desc::Field("io.k8s.api.core.v1.ServiceSpec", "selector"),
    ),
];

/// IPs or hostnames of load-balancer ingress points, deduplicated and sorted (the wide,
/// unclipped form the server prints).
pub fn load_balancer_addresses(ingress: &[Value]) -> String {
    let mut set: Vec<&str> = ingress
        .iter()
        .filter_map(|i| {
            let ip = str_at(i, "ip");
            let host = str_at(i, "hostname");
            if !ip.is_empty() {
                Some(ip)
            } else if !host.is_empty() {
                Some(host)
            } else {
                None
            }
        })
        .collect();
    set.sort_unstable();
    set.dedup();
    set.join(",")
}

fn strings(list: &[Value]) -> Vec<&str> {
    list.iter().filter_map(Value::as_str).collect()
}

fn service_external_ip(o: &Value) -> String {
    let external: Vec<&str> = strings(arr_at(o, "spec/externalIPs"));
    match str_at(o, "spec/type") {
        "ClusterIP" | "NodePort" => {
            if external.is_empty() {
                "<none>".to_string()
            } else {
                external.join(",")
            }
        }
        "LoadBalancer" => {
            let lb = load_balancer_addresses(arr_at(o, "status/loadBalancer/ingress"));
            if !external.is_empty() {
                let mut all: Vec<&str> = Vec::new();
                if !lb.is_empty() {
                    all.extend(lb.split(','));
                }
                all.extend(external);
                return all.join(",");
            }
            if lb.is_empty() {
                "<pending>".to_string()
            } else {
                lb
            }
        }
        "ExternalName" => str_at(o, "spec/externalName").to_string(),
        _ => "<unknown>".to_string(),
    }
}

fn service_ports(o: &Value) -> String {
    let pieces: Vec<String> = arr_at(o, "spec/ports")
        .iter()
        .map(|p| {
            let port = int_at(p, "port");
            let proto = str_at(p, "protocol");
            let node_port = int_at(p, "nodePort");
            if node_port > 0 {
                format!("{port}:{node_port}/{proto}")
            } else {
                format!("{port}/{proto}")
            }
        })
        .collect();
    or_none(&pieces.join(","))
}

fn service(o: &Value, ctx: &Ctx) -> Vec<Value> {
    let cluster_ip = arr_at(o, "spec/clusterIPs")
        .first()
        .and_then(Value::as_str)
        .unwrap_or("<none>");
    vec![
        json!(str_at(o, "metadata/name")),
        json!(str_at(o, "spec/type")),
        json!(cluster_ip),
        json!(service_external_ip(o)),
        json!(service_ports(o)),
        json!(ctx.since(at(o, "metadata/creationTimestamp"))),
        json!(format_labels(at(o, "spec/selector"))),
    ]
}

const ENDPOINTS: &[Col] = &[
    NAME,
    col(
        "Endpoints",
        "string",
        Desc::Field("io.k8s.api.core.v1.Endpoints", "subsets"),
    ),
    AGE,
];

/// `formatEndpoints` for all ports: up to three `ip:port` entries, then `+ N more...`.
fn format_endpoints(o: &Value) -> String {
    let subsets = arr_at(o, "subsets");
    if subsets.is_empty() {
        return "<none>".to_string();
    }
    const MAX: usize = 3;
    let mut list: Vec<String> = Vec::new();
    let mut more = false;
    let mut count = 0usize;
    for ss in subsets {
        let addresses = arr_at(ss, "addresses");
        let ports = arr_at(ss, "ports");
        if ports.is_empty() {
            count += addresses.len();
            for a in addresses {
                if list.len() == MAX {
                    more = true;
                    break;
                }
                list.push(str_at(a, "ip").to_string());
            }
            continue;
        }
        for port in ports {
            count += addresses.len();
            for a in addresses {
                if list.len() == MAX {
                    more = true;
                    break;
                }
                list.push(join_host_port(str_at(a, "ip"), int_at(port, "port")));
            }
        }
    }
    let ret = list.join(",");
    if more {
        return format!("{ret} + {} more...", count - MAX);
    }
    ret
}

fn endpoints(o: &Value, ctx: &Ctx) -> Vec<Value> {
    vec![
        json!(str_at(o, "metadata/name")),
        json!(format_endpoints(o)),
        json!(ctx.since(at(o, "metadata/creationTimestamp"))),
    ]
}

const NODE: &[Col] = &[
    NAME,
    col("Status", "string", Desc::Text("The status of the node")),
    col("Roles", "string", Desc::Text("The roles of the node")),
    AGE,
    col(
        "Version",
        "string",
        Desc::Field("io.k8s.api.core.v1.NodeSystemInfo", "kubeletVersion"),
    ),
    wide(
        "Internal-IP",
        "string",
        Desc::Field("io.k8s.api.core.v1.NodeStatus", "addresses"),
    ),
    wide(
        "External-IP",
        "string",
        Desc::Field("io.k8s.api.core.v1.NodeStatus", "addresses"),
    ),
    wide(
        "OS-Image",
        "string",
        Desc::Field("io.k8s.api.core.v1.NodeSystemInfo", "osImage"),
    ),
    wide(
        "Kernel-Version",
        "string",
        Desc::Field("io.k8s.api.core.v1.NodeSystemInfo", "kernelVersion"),
    ),
    wide(
        "Container-Runtime",
        "string",
        Desc::Field(
            "io.k8s.api.core.v1.NodeSystemInfo",
            "containerRuntimeVersion",
        ),
    ),
];

fn node_address(o: &Value, ty: &str) -> String {
    arr_at(o, "status/addresses")
        .iter()
        .find(|a| str_at(a, "type") == ty)
        .map(|a| str_at(a, "address").to_string())
        .unwrap_or_else(|| "<none>".to_string())
}

fn node(o: &Value, ctx: &Ctx) -> Vec<Value> {
    // The last Ready condition wins, as a map keyed by type does.
    let ready = arr_at(o, "status/conditions")
        .iter()
        .rfind(|c| str_at(c, "type") == "Ready");
    let mut status = vec![match ready {
        Some(c) if str_at(c, "status") == "True" => "Ready".to_string(),
        Some(_) => "NotReady".to_string(),
        None => "Unknown".to_string(),
    }];
    if at(o, "spec/unschedulable").and_then(Value::as_bool) == Some(true) {
        status.push("SchedulingDisabled".to_string());
    }
    let mut roles: Vec<&str> = Vec::new();
    if let Some(labels) = obj_at(o, "metadata/labels") {
        for (k, v) in labels {
            if let Some(role) = k.strip_prefix("node-role.kubernetes.io/") {
                if !role.is_empty() {
                    roles.push(role);
                }
            } else if k == "kubernetes.io/role" {
                let v = v.as_str().unwrap_or("");
                if !v.is_empty() {
                    roles.push(v);
                }
            }
        }
    }
    roles.sort_unstable();
    roles.dedup();
    let unknown = |s: &str| {
        if s.is_empty() {
            "<unknown>".to_string()
        } else {
            s.to_string()
        }
    };
    vec![
        json!(str_at(o, "metadata/name")),
        json!(status.join(",")),
        json!(or_none(&roles.join(","))),
        json!(ctx.since(at(o, "metadata/creationTimestamp"))),
        json!(str_at(o, "status/nodeInfo/kubeletVersion")),
        json!(node_address(o, "InternalIP")),
        json!(node_address(o, "ExternalIP")),
        json!(unknown(str_at(o, "status/nodeInfo/osImage"))),
        json!(unknown(str_at(o, "status/nodeInfo/kernelVersion"))),
        json!(unknown(str_at(
            o,
            "status/nodeInfo/containerRuntimeVersion"
        ))),
    ]
}

const EVENT: &[Col] = &[
    col(
        "Last Seen",
        "string",
        Desc::Field("io.k8s.api.core.v1.Event", "lastTimestamp"),
    ),
    col(
        "Type",
        "string",
        Desc::Field("io.k8s.api.core.v1.Event", "type"),
    ),
    col(
        "Reason",
        "string",
        Desc::Field("io.k8s.api.core.v1.Event", "reason"),
    ),
    col(
        "Object",
        "string",
        Desc::Field("io.k8s.api.core.v1.Event", "involvedObject"),
    ),
    wide(
        "Subobject",
        "string",
        Desc::Field("io.k8s.api.core.v1.ObjectReference", "fieldPath"),
    ),
    wide(
        "Source",
        "string",
        Desc::Field("io.k8s.api.core.v1.Event", "source"),
    ),
    col(
        "Message",
        "string",
        Desc::Field("io.k8s.api.core.v1.Event", "message"),
    ),
    wide(
        "First Seen",
        "string",
        Desc::Field("io.k8s.api.core.v1.Event", "firstTimestamp"),
    ),
    wide(
        "Count",
        "string",
        Desc::Field("io.k8s.api.core.v1.Event", "count"),
    ),
    Col {
        name: "Name",
        ty: "string",
        format: "name",
        desc: Desc::Name,
        priority: 1,
    },
];

/// Where the Event printer's inputs live: core/v1 and events.k8s.io/v1 name them
/// differently (the latter converts to the former's internal form).
struct EventFields {
    first: &'static str,
    last: &'static str,
    count: &'static str,
    involved: &'static str,
    source: &'static str,
    message: &'static str,
    reporting_controller: &'static str,
}

const CORE_EVENT: EventFields = EventFields {
    first: "firstTimestamp",
    last: "lastTimestamp",
    count: "count",
    involved: "involvedObject",
    source: "source",
    message: "message",
    reporting_controller: "reportingComponent",
};

const EVENTS_EVENT: EventFields = EventFields {
    first: "deprecatedFirstTimestamp",
    last: "deprecatedLastTimestamp",
    count: "deprecatedCount",
    involved: "regarding",
    source: "deprecatedSource",
    message: "note",
    reporting_controller: "reportingController",
};

fn event_cells(o: &Value, f: &EventFields, ctx: &Ctx) -> Vec<Value> {
    let first = if parse_time(o.get(f.first)).is_none() {
        ctx.since(o.get("eventTime"))
    } else {
        ctx.since(o.get(f.first))
    };
    let mut last = if parse_time(o.get(f.last)).is_none() {
        first.clone()
    } else {
        ctx.since(o.get(f.last))
    };
    let mut count = o.get(f.count).and_then(Value::as_i64).unwrap_or(0);
    match o.get("series").filter(|s| !s.is_null()) {
        Some(series) => {
            last = ctx.since(series.get("lastObservedTime"));
            count = int_at(series, "count");
        }
        None if count == 0 => count = 1,
        None => {}
    }
    let involved = o.get(f.involved).unwrap_or(&Value::Null);
    let kind = str_at(involved, "kind").to_lowercase();
    let name = str_at(involved, "name");
    let target = if name.is_empty() {
        kind
    } else {
        format!("{kind}/{name}")
    };
    let first_non_empty = |a: &str, b: &str| {
        if a.is_empty() {
            b.to_string()
        } else {
            a.to_string()
        }
    };
    let source = o.get(f.source).unwrap_or(&Value::Null);
    let component = first_non_empty(
        str_at(source, "component"),
        str_at(o, f.reporting_controller),
    );
    let instance = first_non_empty(str_at(source, "host"), str_at(o, "reportingInstance"));
    let source = if instance.is_empty() {
        component
    } else {
        format!("{component}, {instance}")
    };
    vec![
        json!(last),
        json!(str_at(o, "type")),
        json!(str_at(o, "reason")),
        json!(target),
        json!(str_at(involved, "fieldPath")),
        json!(source),
        json!(str_at(o, f.message).trim()),
        json!(first),
        json!(count),
        json!(str_at(o, "metadata/name")),
    ]
}

fn core_event(o: &Value, ctx: &Ctx) -> Vec<Value> {
    event_cells(o, &CORE_EVENT, ctx)
}

fn events_event(o: &Value, ctx: &Ctx) -> Vec<Value> {
    event_cells(o, &EVENTS_EVENT, ctx)
}

const NAMESPACE: &[Col] = &[
    NAME,
    col(
        "Status",
        "string",
        Desc::Text("The status of the namespace"),
    ),
    AGE,
];

fn namespace(o: &Value, ctx: &Ctx) -> Vec<Value> {
    vec![
        json!(str_at(o, "metadata/name")),
        json!(str_at(o, "status/phase")),
        json!(ctx.since(at(o, "metadata/creationTimestamp"))),
    ]
}

const SECRET: &[Col] = &[
    NAME,
    col(
        "Type",
        "string",
        Desc::Field("io.k8s.api.core.v1.Secret", "type"),
    ),
    col(
        "Data",
        "string",
        Desc::Field("io.k8s.api.core.v1.Secret", "data"),
    ),
    AGE,
];

fn secret(o: &Value, ctx: &Ctx) -> Vec<Value> {
    vec![
        json!(str_at(o, "metadata/name")),
        json!(str_at(o, "type")),
        json!(len_at(o, "data")),
        json!(ctx.since(at(o, "metadata/creationTimestamp"))),
    ]
}

const SERVICE_ACCOUNT: &[Col] = &[
    NAME,
    col(
        "Secrets",
        "string",
        Desc::Field("io.k8s.api.core.v1.ServiceAccount", "secrets"),
    ),
    AGE,
];

fn service_account(o: &Value, ctx: &Ctx) -> Vec<Value> {
    vec![
        json!(str_at(o, "metadata/name")),
        json!(len_at(o, "secrets")),
        json!(ctx.since(at(o, "metadata/creationTimestamp"))),
    ]
}

const PV: &[Col] = &[
    NAME,
    col(
        "Capacity",
        "string",
        Desc::Field("io.k8s.api.core.v1.PersistentVolumeSpec", "capacity"),
    ),
    col(
        "Access Modes",
        "string",
        Desc::Field("io.k8s.api.core.v1.PersistentVolumeSpec", "accessModes"),
    ),
    col(
        "Reclaim Policy",
        "string",
        Desc::Field(
            "io.k8s.api.core.v1.PersistentVolumeSpec",
            "persistentVolumeReclaimPolicy",
        ),
    ),
    col(
        "Status",
        "string",
        Desc::Field("io.k8s.api.core.v1.PersistentVolumeStatus", "phase"),
    ),
    col(
        "Claim",
        "string",
        Desc::Field("io.k8s.api.core.v1.PersistentVolumeSpec", "claimRef"),
    ),
    col(
        "StorageClass",
        "string",
        Desc::Text("StorageClass of the pv"),
    ),
    col(
        "VolumeAttributesClass",
        "string",
        Desc::Text("VolumeAttributesClass of the pv"),
    ),
    col(
        "Reason",
        "string",
        Desc::Field("io.k8s.api.core.v1.PersistentVolumeStatus", "reason"),
    ),
    AGE,
    wide(
        "VolumeMode",
        "string",
        Desc::Field("io.k8s.api.core.v1.PersistentVolumeSpec", "volumeMode"),
    ),
];

/// `GetAccessModesAsString`: RWO, ROX, RWX, RWOP in that order, each once.
fn access_modes(modes: &[Value]) -> String {
    let has = |m: &str| modes.iter().any(|v| v.as_str() == Some(m));
    let mut out: Vec<&str> = Vec::new();
    for (mode, short) in [
        ("ReadWriteOnce", "RWO"),
        ("ReadOnlyMany", "ROX"),
        ("ReadWriteMany", "RWX"),
        ("ReadWriteOncePod", "RWOP"),
    ] {
        if has(mode) {
            out.push(short);
        }
    }
    out.join(",")
}

/// The storage class of a PV or PVC: the beta annotation wins over the field.
fn storage_class(o: &Value) -> String {
    if let Some(c) = obj_at(o, "metadata/annotations")
        .and_then(|a| a.get("volume.beta.kubernetes.io/storage-class"))
        .and_then(Value::as_str)
    {
        return c.to_string();
    }
    str_at(o, "spec/storageClassName").to_string()
}

fn unset_or(v: Option<&Value>) -> String {
    v.and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| "<unset>".to_string())
}

fn deleting(o: &Value) -> bool {
    at(o, "metadata/deletionTimestamp").is_some_and(|v| !v.is_null())
}

fn persistent_volume(o: &Value, ctx: &Ctx) -> Vec<Value> {
    let claim = match obj_at(o, "spec/claimRef") {
        Some(c) => format!(
            "{}/{}",
            c.get("namespace").and_then(Value::as_str).unwrap_or(""),
            c.get("name").and_then(Value::as_str).unwrap_or("")
        ),
        None => String::new(),
    };
    let phase = if deleting(o) {
        "Terminating"
    } else {
        str_at(o, "status/phase")
    };
    let size = at(o, "spec/capacity/storage")
        .and_then(Value::as_str)
        .unwrap_or("0");
    vec![
        json!(str_at(o, "metadata/name")),
        json!(size),
        json!(access_modes(arr_at(o, "spec/accessModes"))),
        json!(str_at(o, "spec/persistentVolumeReclaimPolicy")),
        json!(phase),
        json!(claim),
        json!(storage_class(o)),
        json!(unset_or(at(o, "spec/volumeAttributesClassName"))),
        json!(str_at(o, "status/reason")),
        json!(ctx.since(at(o, "metadata/creationTimestamp"))),
        json!(unset_or(at(o, "spec/volumeMode"))),
    ]
}

const PVC: &[Col] = &[
    NAME,
    col(
        "Status",
        "string",
        Desc::Field("io.k8s.api.core.v1.PersistentVolumeClaimStatus", "phase"),
    ),
    col(
        "Volume",
        "string",
        Desc::Field("io.k8s.api.core.v1.PersistentVolumeClaimSpec", "volumeName"),
    ),
    col(
        "Capacity",
        "string",
        Desc::Field("io.k8s.api.core.v1.PersistentVolumeClaimStatus", "capacity"),
    ),
    col(
        "Access Modes",
        "string",
        Desc::Field(
            "io.k8s.api.core.v1.PersistentVolumeClaimStatus",
            "accessModes",
        ),
    ),
    col(
        "StorageClass",
        "string",
        Desc::Text("StorageClass of the pvc"),
    ),
    col(
        "VolumeAttributesClass",
        "string",
        Desc::Text("VolumeAttributesClass of the pvc"),
    ),
    AGE,
    wide(
        "VolumeMode",
        "string",
        Desc::Field("io.k8s.api.core.v1.PersistentVolumeClaimSpec", "volumeMode"),
    ),
];

fn persistent_volume_claim(o: &Value, ctx: &Ctx) -> Vec<Value> {
    let phase = if deleting(o) {
        "Terminating"
    } else {
        str_at(o, "status/phase")
    };
    let volume = str_at(o, "spec/volumeName");
    let (capacity, modes) = if volume.is_empty() {
        (String::new(), String::new())
    } else {
        (
            at(o, "status/capacity/storage")
                .and_then(Value::as_str)
                .unwrap_or("0")
                .to_string(),
            access_modes(arr_at(o, "status/accessModes")),
        )
    };
    vec![
        json!(str_at(o, "metadata/name")),
        json!(phase),
        json!(volume),
        json!(capacity),
        json!(modes),
        json!(storage_class(o)),
        json!(unset_or(at(o, "spec/volumeAttributesClassName"))),
        json!(ctx.since(at(o, "metadata/creationTimestamp"))),
        json!(unset_or(at(o, "spec/volumeMode"))),
    ]
}

const COMPONENT_STATUS: &[Col] = &[
    NAME,
    col(
        "Status",
        "string",
        Desc::Text("Status of the component conditions"),
    ),
    col(
        "Message",
        "string",
        Desc::Text("Message of the component conditions"),
    ),
    col(
        "Error",
        "string",
        Desc::Text("Error of the component conditions"),
    ),
];

fn component_status(o: &Value, _ctx: &Ctx) -> Vec<Value> {
    let mut status = "Unknown";
    let mut message = "";
    let mut error = "";
    if let Some(c) = arr_at(o, "conditions")
        .iter()
        .find(|c| str_at(c, "type") == "Healthy")
    {
        status = if str_at(c, "status") == "True" {
            "Healthy"
        } else {
            "Unhealthy"
        };
        message = str_at(c, "message");
        error = str_at(c, "error");
    }
    vec![
        json!(str_at(o, "metadata/name")),
        json!(status),
        json!(message),
        json!(error),
    ]
}

const CONFIGMAP: &[Col] = &[
    NAME,
    col(
        "Data",
        "string",
        Desc::Field("io.k8s.api.core.v1.ConfigMap", "data"),
    ),
    AGE,
];

fn configmap(o: &Value, ctx: &Ctx) -> Vec<Value> {
    vec![
        json!(str_at(o, "metadata/name")),
        json!(len_at(o, "data") + len_at(o, "binaryData")),
        json!(ctx.since(at(o, "metadata/creationTimestamp"))),
    ]
}

const RESOURCE_QUOTA: &[Col] = &[
    NAME,
    col(
        "Request",
        "string",
        Desc::Text(
            "Request represents a minimum amount of cpu/memory that a container may consume.",
        ),
    ),
    col(
        "Limit",
        "string",
        Desc::Text(
            "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node.",
        ),
    ),
    AGE,
];

fn resource_quota(o: &Value, ctx: &Ctx) -> Vec<Value> {
    let mut names: Vec<&String> = obj_at(o, "status/hard")
        .map(|h| h.keys().collect())
        .unwrap_or_default();
    names.sort();
    let mut requests: Vec<String> = Vec::new();
    let mut limits: Vec<String> = Vec::new();
    for name in names {
        let used = obj_at(o, "status/used")
            .and_then(|u| u.get(name.as_str()))
            .and_then(Value::as_str)
            .unwrap_or("0");
        let hard = obj_at(o, "status/hard")
            .and_then(|h| h.get(name.as_str()))
            .and_then(Value::as_str)
            .unwrap_or("0");
        let entry = format!("{name}: {used}/{hard}");
        let mut pieces = name.split('.');
        let is_limit = pieces.next() == Some("limits") && pieces.next().is_some();
        if is_limit {
            limits.push(entry);
        } else {
            requests.push(entry);
        }
    }
    vec![
        json!(str_at(o, "metadata/name")),
        json!(requests.join(", ")),
        json!(limits.join(", ")),
        json!(ctx.since(at(o, "metadata/creationTimestamp"))),
    ]
}

#[cfg(test)]
pub(super) fn access_modes_for_test(modes: &[Value]) -> String {
    access_modes(modes)
}
