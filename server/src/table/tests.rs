use serde_json::{Value, json};

use super::format::{Ctx, parse_time};
use super::*;

fn ctx() -> Ctx {
    Ctx {
        now_nanos: parse_time(Some(&json!("2025-01-01T01:00:00Z"))).unwrap_or(0),
    }
}

fn cells(group: &str, kind: &str, obj: &Value) -> Vec<Value> {
    let e = printer_for(group, kind).unwrap_or_else(|| panic!("no printer for {group}/{kind}"));
    let cells = (e.printer.cells)(obj, &ctx());
    assert_eq!(
        cells.len(),
        e.printer.columns.len(),
        "{kind}: one cell per column"
    );
    cells
}

fn meta(name: &str) -> Value {
    json!({"name": name, "namespace": "ns", "creationTimestamp": "2025-01-01T00:55:00Z", "resourceVersion": "7"})
}

#[test]
fn every_field_description_resolves() {
    let defs = column_definitions();
    for e in entries() {
        let cols = defs.get(&(e.group, e.kind)).and_then(Value::as_array);
        let cols = cols.unwrap_or_else(|| panic!("{} has no definitions", e.kind));
        for (c, j) in e.printer.columns.iter().zip(cols) {
            if let Desc::Field(d, f) = c.desc {
                let text = j.get("description").and_then(Value::as_str).unwrap_or("");
                assert!(!text.is_empty(), "{}: {d}.{f} has no description", e.kind);
            }
        }
    }
}

#[test]
fn pod_pending_and_scheduled_waiting() {
    let mut p = json!({"metadata": meta("p"), "spec": {"containers": [{"name": "c", "image": "nginx"}]}, "status": {"phase": "Pending"}});
    let c = cells("", "Pod", &p);
    assert_eq!(
        c,
        vec![
            json!("p"),
            json!("0/1"),
            json!("Pending"),
            json!("0"),
            json!("5m"),
            json!("<none>"),
            json!("<none>"),
            json!("<none>"),
            json!("<none>")
        ]
    );
    p["status"]["containerStatuses"] = json!([{"name": "c", "ready": false, "restartCount": 0, "state": {"waiting": {"reason": "ContainerCreating"}}}]);
    p["spec"]["nodeName"] = json!("n1");
    let c = cells("", "Pod", &p);
    assert_eq!(c[2], json!("ContainerCreating"));
    assert_eq!(c[6], json!("n1"));
}

#[test]
fn pod_running_with_restarts_and_gates() {
    let p = json!({
        "metadata": meta("p"),
        "spec": {"containers": [{"name": "a"}, {"name": "b"}], "readinessGates": [{"conditionType": "x"}, {"conditionType": "y"}]},
        "status": {
            "phase": "Running",
            "podIPs": [{"ip": "10.0.0.5"}],
            "conditions": [{"type": "Ready", "status": "True"}, {"type": "x", "status": "True"}],
            "containerStatuses": [
                {"name": "a", "ready": true, "restartCount": 2, "state": {"running": {}},
                 "lastState": {"terminated": {"exitCode": 1, "finishedAt": "2025-01-01T00:55:00Z"}}},
                {"name": "b", "ready": true, "restartCount": 3, "state": {"running": {}},
                 "lastState": {"terminated": {"exitCode": 1, "finishedAt": "2025-01-01T00:57:00Z"}}}
            ]
        }
    });
    let c = cells("", "Pod", &p);
    assert_eq!(c[1], json!("2/2"));
    assert_eq!(c[2], json!("Running"));
    assert_eq!(c[3], json!("5 (3m ago)"));
    assert_eq!(c[5], json!("10.0.0.5"));
    assert_eq!(c[8], json!("1/2"));
}

#[test]
fn pod_terminating_init_and_completed() {
    let mut p = json!({"metadata": meta("p"), "spec": {"containers": [{"name": "c"}]}, "status": {"phase": "Running"}});
    p["metadata"]["deletionTimestamp"] = json!("2025-01-01T00:59:00Z");
    assert_eq!(cells("", "Pod", &p)[2], json!("Terminating"));

    let init = json!({
        "metadata": meta("p"),
        "spec": {"initContainers": [{"name": "i1"}, {"name": "i2"}], "containers": [{"name": "c"}]},
        "status": {"phase": "Pending", "initContainerStatuses": [
            {"name": "i1", "state": {"terminated": {"exitCode": 0}}},
            {"name": "i2", "state": {"running": {}}}
        ]}
    });
    assert_eq!(cells("", "Pod", &init)[2], json!("Init:1/2"));
    let crash = json!({
        "metadata": meta("p"),
        "spec": {"initContainers": [{"name": "i1"}], "containers": [{"name": "c"}]},
        "status": {"phase": "Pending", "initContainerStatuses": [
            {"name": "i1", "restartCount": 4, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}
        ]}
    });
    let c = cells("", "Pod", &crash);
    assert_eq!(c[2], json!("Init:CrashLoopBackOff"));
    assert_eq!(c[3], json!("4"));

    let done = json!({
        "metadata": meta("p"),
        "spec": {"containers": [{"name": "c"}]},
        "status": {"phase": "Succeeded", "containerStatuses": [
            {"name": "c", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}
        ]}
    });
    assert_eq!(cells("", "Pod", &done)[2], json!("Completed"));
    let conds = printer_for("", "Pod")
        .and_then(|e| e.printer.conditions)
        .map(|f| f(&done));
    assert_eq!(
        conds
            .flatten()
            .and_then(|c| c.pointer("/0/reason").cloned()),
        Some(json!("Succeeded"))
    );
    let gated = json!({"metadata": meta("p"), "spec": {"containers": [{"name": "c"}]},
        "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]}});
    assert_eq!(cells("", "Pod", &gated)[2], json!("SchedulingGated"));
}

#[test]
fn service_cells() {
    let s = json!({"metadata": meta("s"), "spec": {"type": "ClusterIP", "clusterIPs": ["10.96.0.10"],
        "ports": [{"port": 80, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}], "selector": {"app": "x"}}});
    assert_eq!(
        cells("", "Service", &s),
        vec![
            json!("s"),
            json!("ClusterIP"),
            json!("10.96.0.10"),
            json!("<none>"),
            json!("80/TCP,53/UDP"),
            json!("5m"),
            json!("app=x")
        ]
    );
    let lb = json!({"metadata": meta("s"), "spec": {"type": "LoadBalancer", "clusterIPs": ["10.0.0.1"],
        "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}]}});
    let c = cells("", "Service", &lb);
    assert_eq!(c[3], json!("<pending>"));
    assert_eq!(c[4], json!("80:30080/TCP"));
    assert_eq!(c[6], json!("<none>"));
    let en = json!({"metadata": meta("s"), "spec": {"type": "ExternalName", "externalName": "example.com"}});
    let c = cells("", "Service", &en);
    assert_eq!(
        (c[2].clone(), c[3].clone(), c[4].clone()),
        (json!("<none>"), json!("example.com"), json!("<none>"))
    );
}

#[test]
fn workload_cells() {
    let d = json!({"metadata": meta("d"), "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "d"}},
        "template": {"spec": {"containers": [{"name": "nginx", "image": "nginx:1.27"}]}}},
        "status": {"readyReplicas": 1, "updatedReplicas": 2, "availableReplicas": 1}});
    assert_eq!(
        cells("apps", "Deployment", &d),
        vec![
            json!("d"),
            json!("1/3"),
            json!(2),
            json!(1),
            json!("5m"),
            json!("nginx"),
            json!("nginx:1.27"),
            json!("app=d")
        ]
    );
    let j = json!({"metadata": meta("j"), "spec": {"completions": 1, "selector": {}, "template": {"spec": {"containers": []}}},
        "status": {"succeeded": 1, "startTime": "2025-01-01T00:56:00Z", "completionTime": "2025-01-01T00:56:07Z",
                   "conditions": [{"type": "Complete", "status": "True"}]}});
    let c = cells("batch", "Job", &j);
    assert_eq!(
        (c[1].clone(), c[2].clone(), c[3].clone()),
        (json!("Complete"), json!("1/1"), json!("7s"))
    );
    let cj = json!({"metadata": meta("cj"), "spec": {"schedule": "*/1 * * * *", "suspend": false,
        "jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "busybox"}]}}}}}, "status": {}});
    let c = cells("batch", "CronJob", &cj);
    assert_eq!(
        c[1..6].to_vec(),
        vec![
            json!("*/1 * * * *"),
            json!("<none>"),
            json!("False"),
            json!(0),
            json!("<none>")
        ]
    );
}

#[test]
fn hpa_metrics_format() {
    let specs = json!([
        {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}},
        {"type": "Pods", "pods": {"target": {"averageValue": "1k"}}},
        {"type": "Resource", "resource": {"name": "memory", "target": {"averageValue": "100Mi"}}}
    ]);
    let statuses = json!([{"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 12}}}]);
    let s = apps::hpa_metrics_for_test(
        specs.as_array().map(Vec::as_slice).unwrap_or(&[]),
        statuses.as_array().map(Vec::as_slice).unwrap_or(&[]),
    );
    assert_eq!(s, "cpu: 12%/80%, <unknown>/1k + 1 more...");
    assert_eq!(apps::hpa_metrics_for_test(&[], &[]), "<none>");
}

#[test]
fn core_small_kinds() {
    let ns = json!({"metadata": meta("n"), "status": {"phase": "Active"}});
    assert_eq!(
        cells("", "Namespace", &ns),
        vec![json!("n"), json!("Active"), json!("5m")]
    );
    let cm = json!({"metadata": meta("c"), "data": {"a": "1"}, "binaryData": {"b": "AA=="}});
    assert_eq!(cells("", "ConfigMap", &cm)[1], json!(2));
    let sec = json!({"metadata": meta("s"), "type": "Opaque"});
    assert_eq!(
        cells("", "Secret", &sec)[1..3].to_vec(),
        vec![json!("Opaque"), json!(0)]
    );
    let node = json!({"metadata": {"name": "n1", "creationTimestamp": "2024-12-20T01:00:00Z",
        "labels": {"node-role.kubernetes.io/control-plane": "", "kubernetes.io/role": "worker"}},
        "spec": {"unschedulable": true},
        "status": {"conditions": [{"type": "Ready", "status": "True"}], "addresses": [{"type": "InternalIP", "address": "192.168.1.2"}],
                   "nodeInfo": {"kubeletVersion": "v1.36.0"}}});
    assert_eq!(
        cells("", "Node", &node),
        vec![
            json!("n1"),
            json!("Ready,SchedulingDisabled"),
            json!("control-plane,worker"),
            json!("12d"),
            json!("v1.36.0"),
            json!("192.168.1.2"),
            json!("<none>"),
            json!("<unknown>"),
            json!("<unknown>"),
            json!("<unknown>")
        ]
    );
    let ev = json!({"metadata": meta("e"), "involvedObject": {"kind": "Pod", "name": "p", "fieldPath": "spec.containers{c}"},
        "reason": "Pulled", "message": " done \n", "type": "Normal", "source": {"host": "n1"}, "reportingComponent": "kubelet",
        "firstTimestamp": "2025-01-01T00:50:00Z", "lastTimestamp": "2025-01-01T00:59:00Z", "count": 3});
    assert_eq!(
        cells("", "Event", &ev),
        vec![
            json!("60s"),
            json!("Normal"),
            json!("Pulled"),
            json!("pod/p"),
            json!("spec.containers{c}"),
            json!("kubelet, n1"),
            json!("done"),
            json!("10m"),
            json!(3),
            json!("e")
        ]
    );
    let ev2 = json!({"metadata": meta("e"), "regarding": {"kind": "Node", "name": "n1"}, "reason": "R", "note": "x",
        "type": "Warning", "eventTime": "2025-01-01T00:58:00.000000Z", "reportingController": "ctl"});
    let c = cells("events.k8s.io", "Event", &ev2);
    assert_eq!(c[0], json!("2m"));
    assert_eq!(c[3], json!("node/n1"));
    assert_eq!(c[5], json!("ctl"));
    assert_eq!(c[8], json!(1));
    let ep = json!({"metadata": meta("e"), "subsets": [{"addresses": [{"ip": "1.1.1.1"}, {"ip": "2.2.2.2"}], "ports": [{"port": 80}, {"port": 443}]}]});
    assert_eq!(
        cells("", "Endpoints", &ep)[1],
        json!("1.1.1.1:80,2.2.2.2:80,1.1.1.1:443 + 1 more...")
    );
    let pvc = json!({"metadata": meta("c"), "spec": {"volumeName": "pv1", "storageClassName": "std", "volumeMode": "Filesystem"},
        "status": {"phase": "Bound", "capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteMany", "ReadWriteOnce"]}});
    assert_eq!(
        cells("", "PersistentVolumeClaim", &pvc),
        vec![
            json!("c"),
            json!("Bound"),
            json!("pv1"),
            json!("1Gi"),
            json!("RWO,RWX"),
            json!("std"),
            json!("<unset>"),
            json!("5m"),
            json!("Filesystem")
        ]
    );
    assert_eq!(
        core::access_modes_for_test(&[json!("ReadWriteOncePod")]),
        "RWOP"
    );
    let rq = json!({"metadata": meta("q"), "status": {"hard": {"pods": "10", "limits.cpu": "2", "requests.cpu": "1"},
        "used": {"pods": "1"}}});
    let c = cells("", "ResourceQuota", &rq);
    assert_eq!(c[1], json!("pods: 1/10, requests.cpu: 0/1"));
    assert_eq!(c[2], json!("limits.cpu: 0/2"));
}

#[test]
fn cluster_kinds() {
    let rb = json!({"metadata": meta("rb"), "roleRef": {"kind": "Role", "name": "r"}, "subjects": [
        {"kind": "User", "name": "u"}, {"kind": "ServiceAccount", "namespace": "ns", "name": "sa"}, {"kind": "Group", "name": "g"}]});
    assert_eq!(
        cells("rbac.authorization.k8s.io", "RoleBinding", &rb),
        vec![
            json!("rb"),
            json!("Role/r"),
            json!("5m"),
            json!("u"),
            json!("g"),
            json!("ns/sa")
        ]
    );
    let csr = json!({"metadata": meta("c"), "spec": {"signerName": "kubernetes.io/kube-apiserver-client", "username": "me", "expirationSeconds": 3600},
        "status": {"conditions": [{"type": "Approved"}], "certificate": "QUJD"}});
    let c = cells("certificates.k8s.io", "CertificateSigningRequest", &csr);
    assert_eq!(
        c[4..6].to_vec(),
        vec![json!("60m"), json!("Approved,Issued")]
    );
    let fs_a = json!({"metadata": {"name": "b"}, "spec": {"matchingPrecedence": 100}});
    let fs_b = json!({"metadata": {"name": "a"}, "spec": {"matchingPrecedence": 100}});
    let fs_c = json!({"metadata": {"name": "z"}, "spec": {"matchingPrecedence": 1}});
    let r = resource("flowcontrol.apiserver.k8s.io", "flowschemas");
    let t = list_with(
        r,
        vec![fs_a, fs_b, fs_c],
        json!({}),
        Include::None,
        "v1",
        &ctx(),
    )
    .unwrap_or(Value::Null);
    let names: Vec<Value> = t["rows"]
        .as_array()
        .map(|rows| rows.iter().map(|r| r["cells"][0].clone()).collect())
        .unwrap_or_default();
    assert_eq!(names, vec![json!("z"), json!("a"), json!("b")]);
    let api = json!({"metadata": meta("v1.apps"), "spec": {}, "status": {"conditions": [{"type": "Available", "status": "False", "reason": "MissingEndpoints"}]}});
    assert_eq!(
        cells("apiregistration.k8s.io", "APIService", &api)[1..3].to_vec(),
        vec![json!("Local"), json!("False (MissingEndpoints)")]
    );
}

fn resource(group: &str, plural: &str) -> &'static ResourceInfo {
    kiln_generated::REGISTRY
        .iter()
        .filter(|g| g.name == group)
        .flat_map(|g| g.versions.iter())
        .flat_map(|v| v.resources.iter())
        .find(|r| r.plural == plural)
        .unwrap_or_else(|| panic!("no {plural}"))
}

#[test]
fn table_shapes_and_include_object() {
    let pods = resource("", "pods");
    let p = json!({"kind": "Pod", "apiVersion": "v1", "metadata": meta("p"), "spec": {"containers": [{"name": "c"}]}, "status": {"phase": "Pending"}});
    let t =
        single_with(pods, p.clone(), Include::Metadata, "v1", true, &ctx()).unwrap_or(Value::Null);
    assert_eq!(t["kind"], json!("Table"));
    assert_eq!(t["apiVersion"], json!("meta.k8s.io/v1"));
    assert_eq!(t["metadata"], json!({"resourceVersion": "7"}));
    assert_eq!(t["columnDefinitions"].as_array().map(Vec::len), Some(9));
    assert_eq!(t["columnDefinitions"][5]["priority"], json!(1));
    assert_eq!(
        t["rows"][0]["object"]["kind"],
        json!("PartialObjectMetadata")
    );
    assert_eq!(t["rows"][0]["object"]["metadata"]["name"], json!("p"));
    assert!(t["rows"][0].get("conditions").is_none());

    let t = single_with(pods, p.clone(), Include::Object, "v1beta1", false, &ctx())
        .unwrap_or(Value::Null);
    assert_eq!(t["apiVersion"], json!("meta.k8s.io/v1beta1"));
    assert_eq!(t["columnDefinitions"], Value::Null);
    assert_eq!(t["rows"][0]["object"], p);
    let t = single_with(pods, p, Include::None, "v1", true, &ctx()).unwrap_or(Value::Null);
    assert_eq!(t["rows"][0]["object"], Value::Null);

    assert!(Include::parse(Some("Bogus")).is_err());
    assert_eq!(Include::parse(None).ok(), Some(Include::Metadata));
    assert_eq!(Include::parse(Some("")).ok(), Some(Include::Metadata));

    // Kinds without a printer: Name and Created At, rows null when empty.
    let roles = resource("rbac.authorization.k8s.io", "roles");
    let t = list_with(
        roles,
        vec![],
        json!({"resourceVersion": "9"}),
        Include::Metadata,
        "v1",
        &ctx(),
    )
    .unwrap_or(Value::Null);
    assert_eq!(t["rows"], Value::Null);
    assert_eq!(t["columnDefinitions"][1]["name"], json!("Created At"));
    assert_eq!(t["columnDefinitions"][1]["type"], json!("date"));
    let role = json!({"metadata": {"name": "r", "creationTimestamp": "2025-01-01T00:00:00Z"}});
    let t = list_with(
        roles,
        vec![role],
        json!({"resourceVersion": "9", "continue": "c"}),
        Include::Metadata,
        "v1",
        &ctx(),
    )
    .unwrap_or(Value::Null);
    assert_eq!(t["rows"][0]["cells"], json!(["r", "2025-01-01T00:00:00Z"]));
    assert_eq!(
        t["metadata"],
        json!({"resourceVersion": "9", "continue": "c"})
    );
    // Printed kinds list empty as [].
    let t =
        list_with(pods, vec![], json!({}), Include::Metadata, "v1", &ctx()).unwrap_or(Value::Null);
    assert_eq!(t["rows"], json!([]));
}
