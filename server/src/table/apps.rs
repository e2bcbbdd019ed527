//! Printers of workloads: `apps`, `batch`, `autoscaling` and `policy`.

use serde_json::{Value, json};

use super::format::{
    Ctx, arr_at, at, containers, format_label_selector, format_labels, human_duration, int_at,
    int_or_string, parse_time, selector_string, str_at,
};
use super::{AGE, Col, Desc, Entry, NAME, Printer, col, wide};

const CONTAINERS: Desc = Desc::Text("Names of each container in the template.");
const IMAGES: Desc = Desc::Text("Images referenced by each container in the template.");

pub static PRINTERS: &[Entry] = &[
    Entry {
        group: "apps",
        kind: "Deployment",
        printer: Printer::new(DEPLOYMENT, deployment),
    },
    Entry {
        group: "apps",
        kind: "ReplicaSet",
        printer: Printer::new(REPLICA_SET, replica_set),
    },
    Entry {
        group: "apps",
        kind: "StatefulSet",
        printer: Printer::new(STATEFUL_SET, stateful_set),
    },
    Entry {
        group: "apps",
        kind: "DaemonSet",
        printer: Printer::new(DAEMON_SET, daemon_set),
    },
    Entry {
        group: "apps",
        kind: "ControllerRevision",
        printer: Printer::new(CONTROLLER_REVISION, controller_revision),
    },
    Entry {
        group: "batch",
        kind: "Job",
        printer: Printer::new(JOB, job),
    },
    Entry {
        group: "batch",
        kind: "CronJob",
        printer: Printer::new(CRON_JOB, cron_job),
    },
    Entry {
        group: "autoscaling",
        kind: "HorizontalPodAutoscaler",
        printer: Printer::new(HPA, hpa),
    },
    Entry {
        group: "autoscaling",
        kind: "Scale",
        printer: Printer::new(SCALE, scale),
    },
    Entry {
        group: "policy",
        kind: "PodDisruptionBudget",
        printer: Printer::new(PDB, pdb),
    },
];

fn name(o: &Value) -> Value {
    json!(str_at(o, "metadata/name"))
}

fn age(o: &Value, ctx: &Ctx) -> Value {
    json!(ctx.since(at(o, "metadata/creationTimestamp")))
}

const DEPLOYMENT: &[Col] = &[
    NAME,
    col(
        "Ready",
        "string",
        Desc::Text("Number of the pod with ready state"),
    ),
    col(
        "Up-to-date",
        "string",
        Desc::Field("io.k8s.api.apps.v1.DeploymentStatus", "updatedReplicas"),
    ),
    col(
        "Available",
        "string",
        Desc::Field("io.k8s.api.apps.v1.DeploymentStatus", "availableReplicas"),
    ),
    AGE,
    wide("Containers", "string", CONTAINERS),
    wide("Images", "string", IMAGES),
    wide(
        "Selector",
        "string",
        Desc::Field("io.k8s.api.apps.v1.DeploymentSpec", "selector"),
    ),
];

fn deployment(o: &Value, ctx: &Ctx) -> Vec<Value> {
    let (names, images) = containers(at(o, "spec/template/spec/containers"));
    vec![
        name(o),
        json!(format!(
            "{}/{}",
            int_at(o, "status/readyReplicas"),
            int_at(o, "spec/replicas")
        )),
        json!(int_at(o, "status/updatedReplicas")),
        json!(int_at(o, "status/availableReplicas")),
        age(o, ctx),
        json!(names),
        json!(images),
        json!(selector_string(at(o, "spec/selector"))),
    ]
}

const REPLICA_SET: &[Col] = &[
    NAME,
    col(
        "Desired",
        "integer",
        Desc::Field("io.k8s.api.apps.v1.ReplicaSetSpec", "replicas"),
    ),
    col(
        "Current",
        "integer",
        Desc::Field("io.k8s.api.apps.v1.ReplicaSetStatus", "replicas"),
    ),
    col(
        "Ready",
        "integer",
        Desc::Field("io.k8s.api.apps.v1.ReplicaSetStatus", "readyReplicas"),
    ),
    AGE,
    wide("Containers", "string", CONTAINERS),
    wide("Images", "string", IMAGES),
    wide(
        "Selector",
        "string",
        Desc::Field("io.k8s.api.apps.v1.ReplicaSetSpec", "selector"),
    ),
];

fn replica_set(o: &Value, ctx: &Ctx) -> Vec<Value> {
    let (names, images) = containers(at(o, "spec/template/spec/containers"));
    vec![
        name(o),
        json!(int_at(o, "spec/replicas")),
        json!(int_at(o, "status/replicas")),
        json!(int_at(o, "status/readyReplicas")),
        age(o, ctx),
        json!(names),
        json!(images),
        json!(format_label_selector(at(o, "spec/selector"))),
    ]
}

const STATEFUL_SET: &[Col] = &[
    NAME,
    col(
        "Ready",
        "string",
        Desc::Text("Number of the pod with ready state"),
    ),
    AGE,
    wide("Containers", "string", CONTAINERS),
    wide("Images", "string", IMAGES),
];

fn stateful_set(o: &Value, ctx: &Ctx) -> Vec<Value> {
    let (names, images) = containers(at(o, "spec/template/spec/containers"));
    vec![
        name(o),
        json!(format!(
            "{}/{}",
            int_at(o, "status/readyReplicas"),
            int_at(o, "spec/replicas")
        )),
        age(o, ctx),
        json!(names),
        json!(images),
    ]
}

const DAEMON_SET: &[Col] = &[
    NAME,
    col(
        "Desired",
        "integer",
        Desc::Field(
            "io.k8s.api.apps.v1.DaemonSetStatus",
            "desiredNumberScheduled",
        ),
    ),
    col(
        "Current",
        "integer",
        Desc::Field(
            "io.k8s.api.apps.v1.DaemonSetStatus",
            "currentNumberScheduled",
        ),
    ),
    col(
        "Ready",
        "integer",
        Desc::Field("io.k8s.api.apps.v1.DaemonSetStatus", "numberReady"),
    ),
    col(
        "Up-to-date",
        "integer",
        Desc::Field(
            "io.k8s.api.apps.v1.DaemonSetStatus",
            "updatedNumberScheduled",
        ),
    ),
    col(
        "Available",
        "integer",
        Desc::Field("io.k8s.api.apps.v1.DaemonSetStatus", "numberAvailable"),
    ),
    col(
        "Node Selector",
        "string",
        Desc::Field("io.k8s.api.core.v1.PodSpec", "nodeSelector"),
    ),
    AGE,
    wide("Containers", "string", CONTAINERS),
    wide("Images", "string", IMAGES),
    wide(
        "Selector",
        "string",
        Desc::Field("io.k8s.api.apps.v1.DaemonSetSpec", "selector"),
    ),
];

fn daemon_set(o: &Value, ctx: &Ctx) -> Vec<Value> {
    let (names, images) = containers(at(o, "spec/template/spec/containers"));
    vec![
        name(o),
        json!(int_at(o, "status/desiredNumberScheduled")),
        json!(int_at(o, "status/currentNumberScheduled")),
        json!(int_at(o, "status/numberReady")),
        json!(int_at(o, "status/updatedNumberScheduled")),
        json!(int_at(o, "status/numberAvailable")),
        json!(format_labels(at(o, "spec/template/spec/nodeSelector"))),
        age(o, ctx),
        json!(names),
        json!(images),
        json!(format_label_selector(at(o, "spec/selector"))),
    ]
}

const CONTROLLER_REVISION: &[Col] = &[
    NAME,
    col(
        "Controller",
        "string",
        Desc::Text("Controller of the object"),
    ),
    col(
        "Revision",
        "string",
        Desc::Field("io.k8s.api.apps.v1.ControllerRevision", "revision"),
    ),
    AGE,
];

/// `kind.group/name` (lower-cased) of the controlling owner, `<none>` without one.
pub fn controller_of(o: &Value) -> String {
    let Some(owner) = arr_at(o, "metadata/ownerReferences")
        .iter()
        .find(|r| r.get("controller").and_then(Value::as_bool) == Some(true))
    else {
        return "<none>".to_string();
    };
    let api_version = str_at(owner, "apiVersion");
    let group = match api_version.split_once('/') {
        Some((g, _)) => g,
        None => "",
    };
    let kind = str_at(owner, "kind");
    let name = str_at(owner, "name");
    if kind.is_empty() && group.is_empty() {
        return name.to_string();
    }
    let gk = if group.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}.{group}")
    };
    format!("{}/{name}", gk.to_lowercase())
}

fn controller_revision(o: &Value, ctx: &Ctx) -> Vec<Value> {
    vec![
        name(o),
        json!(controller_of(o)),
        json!(int_at(o, "revision")),
        age(o, ctx),
    ]
}

const JOB: &[Col] = &[
    NAME,
    col("Status", "string", Desc::Text("Status of the job.")),
    col(
        "Completions",
        "string",
        Desc::Field("io.k8s.api.batch.v1.JobStatus", "succeeded"),
    ),
    col(
        "Duration",
        "string",
        Desc::Text("Time required to complete the job."),
    ),
    AGE,
    wide("Containers", "string", CONTAINERS),
    wide("Images", "string", IMAGES),
    wide(
        "Selector",
        "string",
        Desc::Field("io.k8s.api.batch.v1.JobSpec", "selector"),
    ),
];

/// The status of the first condition of a type decides (`hasJobCondition`).
fn job_condition(o: &Value, ty: &str) -> bool {
    arr_at(o, "status/conditions")
        .iter()
        .find(|c| str_at(c, "type") == ty)
        .is_some_and(|c| str_at(c, "status") == "True")
}

fn job(o: &Value, ctx: &Ctx) -> Vec<Value> {
    let succeeded = int_at(o, "status/succeeded");
    let completions = match at(o, "spec/completions").and_then(Value::as_i64) {
        Some(c) => format!("{succeeded}/{c}"),
        None => {
            let parallelism = int_at(o, "spec/parallelism");
            if parallelism > 1 {
                format!("{succeeded}/1 of {parallelism}")
            } else {
                format!("{succeeded}/1")
            }
        }
    };
    let duration = match (
        parse_time(at(o, "status/startTime")),
        parse_time(at(o, "status/completionTime")),
    ) {
        (None, _) => String::new(),
        (Some(start), None) => human_duration(ctx.now_nanos - start),
        (Some(start), Some(end)) => human_duration(end - start),
    };
    let status = if job_condition(o, "Complete") {
        "Complete"
    } else if job_condition(o, "Failed") {
        "Failed"
    } else if at(o, "metadata/deletionTimestamp").is_some_and(|v| !v.is_null()) {
        "Terminating"
    } else if job_condition(o, "Suspended") {
        "Suspended"
    } else if job_condition(o, "FailureTarget") {
        "FailureTarget"
    } else {
        "Running"
    };
    let (names, images) = containers(at(o, "spec/template/spec/containers"));
    vec![
        name(o),
        json!(status),
        json!(completions),
        json!(duration),
        age(o, ctx),
        json!(names),
        json!(images),
        json!(format_label_selector(at(o, "spec/selector"))),
    ]
}

const CRON_JOB: &[Col] = &[
    NAME,
    col(
        "Schedule",
        "string",
        Desc::Field("io.k8s.api.batch.v1.CronJobSpec", "schedule"),
    ),
    col(
        "Timezone",
        "string",
        Desc::Field("io.k8s.api.batch.v1.CronJobSpec", "timeZone"),
    ),
    col(
        "Suspend",
        "boolean",
        Desc::Field("io.k8s.api.batch.v1.CronJobSpec", "suspend"),
    ),
    col(
        "Active",
        "integer",
        Desc::Field("io.k8s.api.batch.v1.CronJobStatus", "active"),
    ),
    col(
        "Last Schedule",
        "string",
        Desc::Field("io.k8s.api.batch.v1.CronJobStatus", "lastScheduleTime"),
    ),
    AGE,
    wide("Containers", "string", CONTAINERS),
    wide("Images", "string", IMAGES),
    wide(
        "Selector",
        "string",
        Desc::Field("io.k8s.api.batch.v1.JobSpec", "selector"),
    ),
];

fn cron_job(o: &Value, ctx: &Ctx) -> Vec<Value> {
    let last = match at(o, "status/lastScheduleTime").filter(|v| !v.is_null()) {
        Some(t) => ctx.since(Some(t)),
        None => "<none>".to_string(),
    };
    let tz = at(o, "spec/timeZone")
        .and_then(Value::as_str)
        .unwrap_or("<none>");
    let (names, images) = containers(at(o, "spec/jobTemplate/spec/template/spec/containers"));
    vec![
        name(o),
        json!(str_at(o, "spec/schedule")),
        json!(tz),
        json!(super::format::bool_ptr(at(o, "spec/suspend"))),
        json!(arr_at(o, "status/active").len()),
        json!(last),
        age(o, ctx),
        json!(names),
        json!(images),
        json!(format_label_selector(at(
            o,
            "spec/jobTemplate/spec/selector"
        ))),
    ]
}

const HPA: &[Col] = &[
    NAME,
    col(
        "Reference",
        "string",
        Desc::Field(
            "io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerSpec",
            "scaleTargetRef",
        ),
    ),
    col(
        "Targets",
        "string",
        Desc::Field(
            "io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerSpec",
            "metrics",
        ),
    ),
    col(
        "MinPods",
        "string",
        Desc::Field(
            "io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerSpec",
            "minReplicas",
        ),
    ),
    col(
        "MaxPods",
        "string",
        Desc::Field(
            "io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerSpec",
            "maxReplicas",
        ),
    ),
    col(
        "Replicas",
        "string",
        Desc::Field(
            "io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerStatus",
            "currentReplicas",
        ),
    ),
    AGE,
];

fn quantity(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => "0".to_string(),
    }
}

/// `formatHPAMetrics` over autoscaling/v2 metric specs and statuses.
fn hpa_metrics(specs: &[Value], statuses: &[Value]) -> String {
    if specs.is_empty() {
        return "<none>".to_string();
    }
    const MAX: usize = 2;
    let mut list: Vec<String> = Vec::new();
    for (i, spec) in specs.iter().enumerate() {
        let status = statuses.get(i);
        let source_status = |key: &str| status.and_then(|s| s.get(key)).filter(|s| !s.is_null());
        let entry = match str_at(spec, "type") {
            ty @ ("External" | "Object") => {
                let key = if ty == "External" {
                    "external"
                } else {
                    "object"
                };
                let target = at(spec, &format!("{key}/target")).unwrap_or(&Value::Null);
                if let Some(avg) = target.get("averageValue").filter(|v| !v.is_null()) {
                    let current = source_status(key)
                        .and_then(|s| at(s, "current/averageValue"))
                        .filter(|v| !v.is_null())
                        .map(|v| quantity(Some(v)))
                        .unwrap_or_else(|| "<unknown>".to_string());
                    format!("{current}/{} (avg)", quantity(Some(avg)))
                } else {
                    let current = source_status(key)
                        .map(|s| quantity(at(s, "current/value")))
                        .unwrap_or_else(|| "<unknown>".to_string());
                    format!("{current}/{}", quantity(target.get("value")))
                }
            }
            "Pods" => {
                let current = source_status("pods")
                    .map(|s| quantity(at(s, "current/averageValue")))
                    .unwrap_or_else(|| "<unknown>".to_string());
                format!(
                    "{current}/{}",
                    quantity(at(spec, "pods/target/averageValue"))
                )
            }
            ty @ ("Resource" | "ContainerResource") => {
                let key = if ty == "Resource" {
                    "resource"
                } else {
                    "containerResource"
                };
                let res = spec.get(key).unwrap_or(&Value::Null);
                let rname = str_at(res, "name");
                if let Some(avg) = at(res, "target/averageValue").filter(|v| !v.is_null()) {
                    let current = source_status(key)
                        .map(|s| quantity(at(s, "current/averageValue")))
                        .unwrap_or_else(|| "<unknown>".to_string());
                    format!("{rname}: {current}/{}", quantity(Some(avg)))
                } else {
                    let current = source_status(key)
                        .and_then(|s| at(s, "current/averageUtilization"))
                        .and_then(Value::as_i64)
                        .map(|u| format!("{u}%"))
                        .unwrap_or_else(|| "<unknown>".to_string());
                    let target = at(res, "target/averageUtilization")
                        .and_then(Value::as_i64)
                        .map(|u| format!("{u}%"))
                        .unwrap_or_else(|| "<auto>".to_string());
                    format!("{rname}: {current}/{target}")
                }
            }
            _ => "<unknown type>".to_string(),
        };
        list.push(entry);
    }
    let count = list.len();
    if count > MAX {
        list.truncate(MAX);
        return format!("{} + {} more...", list.join(", "), count - MAX);
    }
    list.join(", ")
}

fn hpa(o: &Value, ctx: &Ctx) -> Vec<Value> {
    let reference = format!(
        "{}/{}",
        str_at(o, "spec/scaleTargetRef/kind"),
        str_at(o, "spec/scaleTargetRef/name")
    );
    // autoscaling/v1 carries one CPU utilization target; its internal form is a single
    // Resource metric.
    let metrics = match at(o, "spec/targetCPUUtilizationPercentage").and_then(Value::as_i64) {
        Some(target) if at(o, "spec/metrics").is_none() => {
            let spec = json!([{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": target}}}]);
            let status = match at(o, "status/currentCPUUtilizationPercentage")
                .and_then(Value::as_i64)
            {
                Some(cur) => {
                    json!([{"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": cur}}}])
                }
                None => json!([]),
            };
            hpa_metrics(
                spec.as_array().map(Vec::as_slice).unwrap_or(&[]),
                status.as_array().map(Vec::as_slice).unwrap_or(&[]),
            )
        }
        _ => hpa_metrics(
            arr_at(o, "spec/metrics"),
            arr_at(o, "status/currentMetrics"),
        ),
    };
    let min = at(o, "spec/minReplicas")
        .and_then(Value::as_i64)
        .map(|m| m.to_string())
        .unwrap_or_else(|| "<unset>".to_string());
    vec![
        name(o),
        json!(reference),
        json!(metrics),
        json!(min),
        json!(int_at(o, "spec/maxReplicas")),
        json!(int_at(o, "status/currentReplicas")),
        age(o, ctx),
    ]
}

const PDB: &[Col] = &[
    NAME,
    col(
        "Min Available",
        "string",
        Desc::Text("The minimum number of pods that must be available."),
    ),
    col(
        "Max Unavailable",
        "string",
        Desc::Text("The maximum number of pods that may be unavailable."),
    ),
    col(
        "Allowed Disruptions",
        "integer",
        Desc::Text("Calculated number of pods that may be disrupted at this time."),
    ),
    AGE,
];

fn pdb(o: &Value, ctx: &Ctx) -> Vec<Value> {
    let ios = |p: &str| {
        at(o, p)
            .filter(|v| !v.is_null())
            .map(int_or_string)
            .unwrap_or_else(|| "N/A".to_string())
    };
    vec![
        name(o),
        json!(ios("spec/minAvailable")),
        json!(ios("spec/maxUnavailable")),
        json!(int_at(o, "status/disruptionsAllowed")),
        age(o, ctx),
    ]
}

#[cfg(test)]
pub(super) fn hpa_metrics_for_test(specs: &[Value], statuses: &[Value]) -> String {
    hpa_metrics(specs, statuses)
}

const SCALE: &[Col] = &[
    // kube's Scale table leaves the Name column without the `name` format.
    col("Name", "string", Desc::Name),
    col(
        "Desired",
        "integer",
        Desc::Field("io.k8s.api.autoscaling.v1.ScaleSpec", "replicas"),
    ),
    col(
        "Available",
        "integer",
        Desc::Field("io.k8s.api.autoscaling.v1.ScaleStatus", "replicas"),
    ),
    AGE,
];

fn scale(o: &Value, ctx: &Ctx) -> Vec<Value> {
    vec![
        name(o),
        json!(int_at(o, "spec/replicas")),
        json!(int_at(o, "status/replicas")),
        age(o, ctx),
    ]
}
