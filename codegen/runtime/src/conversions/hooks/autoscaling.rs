//! autoscaling/v1 HorizontalPodAutoscaler ↔ autoscaling/v2 (the hub: kube-apiserver
//! stores HPAs as v2).
//!
//! v1 can express only a CPU utilization target. As kube-apiserver does, everything else
//! travels through v1 in annotations: the other metrics (`autoscaling.alpha.kubernetes.io/metrics`,
//! in autoscaling/v1's `MetricSpec` form), the current metrics
//! (`…/current-metrics`, v1 `MetricStatus` form), the conditions (`…/conditions`) and the
//! behavior (`…/behavior`, serialised as kube-apiserver's internal type, i.e. with Go
//! field names). Reading them back, malformed annotations are ignored, and all four are
//! dropped from the stored object.

use serde_json::{Map, Value, json};

use super::super::{ConversionError, Hook, go_json};

pub const METRICS_ANNOTATION: &str = "autoscaling.alpha.kubernetes.io/metrics";
pub const CURRENT_METRICS_ANNOTATION: &str = "autoscaling.alpha.kubernetes.io/current-metrics";
pub const CONDITIONS_ANNOTATION: &str = "autoscaling.alpha.kubernetes.io/conditions";
pub const BEHAVIOR_ANNOTATION: &str = "autoscaling.alpha.kubernetes.io/behavior";
const ROUND_TRIP: [&str; 4] = [
    METRICS_ANNOTATION,
    CURRENT_METRICS_ANNOTATION,
    CONDITIONS_ANNOTATION,
    BEHAVIOR_ANNOTATION,
];
/// The CPU utilization autoscaling/v1 implies when no metric is given.
pub const DEFAULT_CPU_UTILIZATION: i64 = 80;

pub static HPA_V1_TO_V2: Hook = Hook {
    name: "autoscaling::HPA_V1_TO_V2",
    from: "io.k8s.api.autoscaling.v1.HorizontalPodAutoscaler",
    to: "io.k8s.api.autoscaling.v2.HorizontalPodAutoscaler",
    fields: &[
        "spec.targetCPUUtilizationPercentage",
        "status.currentCPUUtilizationPercentage",
        "spec.metrics",
        "spec.behavior",
        "status.currentMetrics",
        "status.conditions",
    ],
    func: hpa_v1_to_v2,
};

pub static HPA_V2_TO_V1: Hook = Hook {
    name: "autoscaling::HPA_V2_TO_V1",
    from: "io.k8s.api.autoscaling.v2.HorizontalPodAutoscaler",
    to: "io.k8s.api.autoscaling.v1.HorizontalPodAutoscaler",
    fields: &[
        "spec.metrics",
        "spec.behavior",
        "status.currentMetrics",
        "status.conditions",
        "spec.targetCPUUtilizationPercentage",
        "status.currentCPUUtilizationPercentage",
    ],
    func: hpa_v2_to_v1,
};

fn obj(v: Option<&Value>) -> Option<&Map<String, Value>> {
    v.and_then(Value::as_object)
}

fn annotation<'a>(object: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    obj(object.get("metadata"))
        .and_then(|m| obj(m.get("annotations")))
        .and_then(|a| a.get(key))
        .and_then(Value::as_str)
}

/// Removes the round-trip annotations from `to.metadata`, dropping an emptied map.
fn drop_round_trip_annotations(to: &mut Map<String, Value>) {
    let Some(Value::Object(meta)) = to.get_mut("metadata") else {
        return;
    };
    let Some(Value::Object(ann)) = meta.get_mut("annotations") else {
        return;
    };
    for k in ROUND_TRIP {
        ann.shift_remove(k);
    }
    if ann.is_empty() {
        meta.shift_remove("annotations");
    }
}

fn set_annotation(to: &mut Map<String, Value>, key: &str, value: String) {
    let meta = to
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if !meta.is_object() {
        *meta = Value::Object(Map::new());
    }
    if let Value::Object(meta) = meta {
        let ann = meta
            .entry("annotations")
            .or_insert_with(|| Value::Object(Map::new()));
        if !ann.is_object() {
            *ann = Value::Object(Map::new());
        }
        if let Value::Object(ann) = ann {
            ann.insert(key.to_string(), Value::String(value));
        }
    }
}

fn section<'a>(to: &'a mut Map<String, Value>, name: &str) -> &'a mut Map<String, Value> {
    let v = to.entry(name).or_insert_with(|| Value::Object(Map::new()));
    if !v.is_object() {
        *v = Value::Object(Map::new());
    }
    match v {
        Value::Object(m) => m,
        _ => unreachable!("just made an object"),
    }
}

/// Inserts `key` when `value` is present (and not null).
fn put(m: &mut Map<String, Value>, key: &str, value: Option<&Value>) {
    if let Some(v) = value.filter(|v| !v.is_null()) {
        m.insert(key.to_string(), v.clone());
    }
}

/// A Go `resource.Quantity` value field: the value, or "0" when unset.
fn quantity_or_zero(value: Option<&Value>) -> Value {
    match value {
        Some(v) if !v.is_null() => v.clone(),
        _ => Value::String("0".into()),
    }
}

fn is_cpu_resource(metric: &Value) -> bool {
    metric.get("type").and_then(Value::as_str) == Some("Resource")
        && metric.pointer("/resource/name").and_then(Value::as_str) == Some("cpu")
}

/// The CPU utilization target of a v2 metric, if it is a `Resource` cpu metric with one.
fn cpu_target(m: &Value) -> Option<&Value> {
    if is_cpu_resource(m) {
        some(m.pointer("/resource/target/averageUtilization"))
    } else {
        None
    }
}

fn some(v: Option<&Value>) -> Option<&Value> {
    v.filter(|v| !v.is_null())
}

// ---- autoscaling/v2 → autoscaling/v1 -------------------------------------------------

fn hpa_v2_to_v1(
    from: &Map<String, Value>,
    to: &mut Map<String, Value>,
) -> Result<(), ConversionError> {
    // Only annotations this conversion produces survive.
    drop_round_trip_annotations(to);
    let spec = obj(from.get("spec"));
    let status = obj(from.get("status"));
    let metrics: &[Value] = spec
        .and_then(|s| s.get("metrics"))
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice);
    let current: &[Value] = status
        .and_then(|s| s.get("currentMetrics"))
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice);
    let conditions: &[Value] = status
        .and_then(|s| s.get("conditions"))
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice);

    let other: Vec<Value> = metrics
        .iter()
        .filter(|m| cpu_target(m).is_none())
        .map(metric_spec_v2_to_v1)
        .collect();
    if !other.is_empty() {
        set_annotation(to, METRICS_ANNOTATION, go_json(&Value::Array(other)));
    }
    if !current.is_empty() {
        let v1: Vec<Value> = current.iter().map(metric_status_v2_to_v1).collect();
        set_annotation(to, CURRENT_METRICS_ANNOTATION, go_json(&Value::Array(v1)));
    }
    if let Some(behavior) = spec.and_then(|s| some(s.get("behavior"))) {
        set_annotation(
            to,
            BEHAVIOR_ANNOTATION,
            go_json(&behavior_to_internal(behavior)),
        );
    }
    if !conditions.is_empty() {
        let v1: Vec<Value> = conditions.iter().map(condition).collect();
        set_annotation(to, CONDITIONS_ANNOTATION, go_json(&Value::Array(v1)));
    }

    if let Some(target) = metrics.iter().find_map(cpu_target) {
        section(to, "spec").insert("targetCPUUtilizationPercentage".into(), target.clone());
    }
    // The last CPU resource metric with a utilization wins, as in kube-apiserver.
    let mut current_cpu = None;
    for m in current {
        if is_cpu_resource(m)
            && let Some(u) = some(m.pointer("/resource/current/averageUtilization"))
        {
            current_cpu = Some(u.clone());
        }
    }
    if let Some(u) = current_cpu {
        section(to, "status").insert("currentCPUUtilizationPercentage".into(), u);
    }
    Ok(())
}

fn reference_v2_to_v1(r: Option<&Value>) -> Value {
    let mut out = Map::new();
    let r = obj(r);
    out.insert(
        "kind".into(),
        r.and_then(|r| r.get("kind")).cloned().unwrap_or(json!("")),
    );
    out.insert(
        "name".into(),
        r.and_then(|r| r.get("name")).cloned().unwrap_or(json!("")),
    );
    if let Some(v) = r
        .and_then(|r| r.get("apiVersion"))
        .filter(|v| v.as_str().is_some_and(|s| !s.is_empty()))
    {
        out.insert("apiVersion".into(), v.clone());
    }
    Value::Object(out)
}

fn name_of(m: Option<&Value>) -> Value {
    m.and_then(|m| m.get("name")).cloned().unwrap_or(json!(""))
}

/// autoscaling/v2 `MetricSpec` → autoscaling/v1 `MetricSpec` (the annotation's form).
fn metric_spec_v2_to_v1(m: &Value) -> Value {
    let mut out = Map::new();
    out.insert("type".into(), m.get("type").cloned().unwrap_or(json!("")));
    if let Some(o) = some(m.get("object")) {
        let (metric, target) = (o.get("metric"), o.get("target"));
        let mut v = Map::new();
        v.insert(
            "target".into(),
            reference_v2_to_v1(o.get("describedObject")),
        );
        v.insert("metricName".into(), name_of(metric));
        v.insert(
            "targetValue".into(),
            quantity_or_zero(target.and_then(|t| t.get("value"))),
        );
        put(&mut v, "selector", metric.and_then(|m| m.get("selector")));
        put(
            &mut v,
            "averageValue",
            target.and_then(|t| t.get("averageValue")),
        );
        out.insert("object".into(), Value::Object(v));
    }
    if let Some(p) = some(m.get("pods")) {
        let (metric, target) = (p.get("metric"), p.get("target"));
        let mut v = Map::new();
        v.insert("metricName".into(), name_of(metric));
        v.insert(
            "targetAverageValue".into(),
            quantity_or_zero(target.and_then(|t| t.get("averageValue"))),
        );
        put(&mut v, "selector", metric.and_then(|m| m.get("selector")));
        out.insert("pods".into(), Value::Object(v));
    }
    for key in ["resource", "containerResource"] {
        if let Some(r) = some(m.get(key)) {
            let target = r.get("target");
            let mut v = Map::new();
            v.insert("name".into(), r.get("name").cloned().unwrap_or(json!("")));
            put(
                &mut v,
                "targetAverageUtilization",
                target.and_then(|t| t.get("averageUtilization")),
            );
            put(
                &mut v,
                "targetAverageValue",
                target.and_then(|t| t.get("averageValue")),
            );
            if key == "containerResource" {
                v.insert(
                    "container".into(),
                    r.get("container").cloned().unwrap_or(json!("")),
                );
            }
            out.insert(key.into(), Value::Object(v));
        }
    }
    if let Some(e) = some(m.get("external")) {
        let (metric, target) = (e.get("metric"), e.get("target"));
        let mut v = Map::new();
        v.insert("metricName".into(), name_of(metric));
        put(
            &mut v,
            "metricSelector",
            metric.and_then(|m| m.get("selector")),
        );
        put(&mut v, "targetValue", target.and_then(|t| t.get("value")));
        put(
            &mut v,
            "targetAverageValue",
            target.and_then(|t| t.get("averageValue")),
        );
        out.insert("external".into(), Value::Object(v));
    }
    reorder(
        out,
        &[
            "type",
            "object",
            "pods",
            "resource",
            "containerResource",
            "external",
        ],
    )
}

/// autoscaling/v2 `MetricStatus` → autoscaling/v1 `MetricStatus`.
fn metric_status_v2_to_v1(m: &Value) -> Value {
    let mut out = Map::new();
    out.insert("type".into(), m.get("type").cloned().unwrap_or(json!("")));
    if let Some(o) = some(m.get("object")) {
        let (metric, current) = (o.get("metric"), o.get("current"));
        let mut v = Map::new();
        v.insert(
            "target".into(),
            reference_v2_to_v1(o.get("describedObject")),
        );
        v.insert("metricName".into(), name_of(metric));
        v.insert(
            "currentValue".into(),
            quantity_or_zero(current.and_then(|c| c.get("value"))),
        );
        put(&mut v, "selector", metric.and_then(|m| m.get("selector")));
        put(
            &mut v,
            "averageValue",
            current.and_then(|c| c.get("averageValue")),
        );
        out.insert("object".into(), Value::Object(v));
    }
    if let Some(p) = some(m.get("pods")) {
        let (metric, current) = (p.get("metric"), p.get("current"));
        let mut v = Map::new();
        v.insert("metricName".into(), name_of(metric));
        v.insert(
            "currentAverageValue".into(),
            quantity_or_zero(current.and_then(|c| c.get("averageValue"))),
        );
        put(&mut v, "selector", metric.and_then(|m| m.get("selector")));
        out.insert("pods".into(), Value::Object(v));
    }
    for key in ["resource", "containerResource"] {
        if let Some(r) = some(m.get(key)) {
            let current = r.get("current");
            let mut v = Map::new();
            v.insert("name".into(), r.get("name").cloned().unwrap_or(json!("")));
            put(
                &mut v,
                "currentAverageUtilization",
                current.and_then(|c| c.get("averageUtilization")),
            );
            v.insert(
                "currentAverageValue".into(),
                quantity_or_zero(current.and_then(|c| c.get("averageValue"))),
            );
            if key == "containerResource" {
                v.insert(
                    "container".into(),
                    r.get("container").cloned().unwrap_or(json!("")),
                );
            }
            out.insert(key.into(), Value::Object(v));
        }
    }
    if let Some(e) = some(m.get("external")) {
        let (metric, current) = (e.get("metric"), e.get("current"));
        let mut v = Map::new();
        v.insert("metricName".into(), name_of(metric));
        put(
            &mut v,
            "metricSelector",
            metric.and_then(|m| m.get("selector")),
        );
        v.insert(
            "currentValue".into(),
            quantity_or_zero(current.and_then(|c| c.get("value"))),
        );
        put(
            &mut v,
            "currentAverageValue",
            current.and_then(|c| c.get("averageValue")),
        );
        out.insert("external".into(), Value::Object(v));
    }
    reorder(
        out,
        &[
            "type",
            "object",
            "pods",
            "resource",
            "containerResource",
            "external",
        ],
    )
}

/// A condition in autoscaling/v1's `HorizontalPodAutoscalerCondition` JSON form (the two
/// versions' conditions have the same fields; a missing time is Go's zero `null`).
fn condition(c: &Value) -> Value {
    let mut out = Map::new();
    out.insert("type".into(), c.get("type").cloned().unwrap_or(json!("")));
    out.insert(
        "status".into(),
        c.get("status").cloned().unwrap_or(json!("")),
    );
    out.insert(
        "lastTransitionTime".into(),
        c.get("lastTransitionTime").cloned().unwrap_or(Value::Null),
    );
    for k in ["reason", "message"] {
        if let Some(v) = c
            .get(k)
            .filter(|v| v.as_str().is_some_and(|s| !s.is_empty()))
        {
            out.insert(k.into(), v.clone());
        }
    }
    Value::Object(out)
}

/// The v2 behavior as kube-apiserver's internal type marshals it (no JSON tags: Go field
/// names, nil pointers as `null`).
fn behavior_to_internal(b: &Value) -> Value {
    let rules = |r: Option<&Value>| -> Value {
        let Some(r) = some(r) else {
            return Value::Null;
        };
        let policies = match some(r.get("policies")).and_then(Value::as_array) {
            Some(ps) => Value::Array(
                ps.iter()
                    .map(|p| {
                        json!({
                            "Type": p.get("type").cloned().unwrap_or(json!("")),
                            "Value": p.get("value").cloned().unwrap_or(json!(0)),
                            "PeriodSeconds": p.get("periodSeconds").cloned().unwrap_or(json!(0)),
                        })
                    })
                    .collect(),
            ),
            None => Value::Null,
        };
        json!({
            "StabilizationWindowSeconds": r.get("stabilizationWindowSeconds").cloned().unwrap_or(Value::Null),
            "SelectPolicy": r.get("selectPolicy").cloned().unwrap_or(Value::Null),
            "Policies": policies,
            "Tolerance": r.get("tolerance").cloned().unwrap_or(Value::Null),
        })
    };
    json!({"ScaleUp": rules(b.get("scaleUp")), "ScaleDown": rules(b.get("scaleDown"))})
}

fn reorder(mut m: Map<String, Value>, order: &[&str]) -> Value {
    let mut out = Map::with_capacity(m.len());
    for k in order {
        if let Some(v) = m.shift_remove(*k) {
            out.insert((*k).to_string(), v);
        }
    }
    out.extend(m);
    Value::Object(out)
}

// ---- autoscaling/v1 → autoscaling/v2 -------------------------------------------------

fn hpa_v1_to_v2(
    from: &Map<String, Value>,
    to: &mut Map<String, Value>,
) -> Result<(), ConversionError> {
    let spec = obj(from.get("spec"));
    let status = obj(from.get("status"));

    // Spec: the CPU target becomes a Resource metric.
    let mut metrics: Vec<Value> = Vec::new();
    if let Some(t) = spec.and_then(|s| some(s.get("targetCPUUtilizationPercentage"))) {
        metrics.push(cpu_metric(t.clone()));
    }
    // Status: the current CPU utilization becomes a Resource metric status.
    let mut current: Option<Vec<Value>> = status
        .and_then(|s| some(s.get("currentCPUUtilizationPercentage")))
        .map(|u| {
            vec![json!({"type": "Resource",
                    "resource": {"name": "cpu", "current": {"averageUtilization": u}}})]
        });

    // Other metrics kept in the annotation come first, the CPU target last.
    if let Some(other) = annotation(from, METRICS_ANNOTATION)
        .and_then(|raw| serde_json::from_str::<Vec<Value>>(raw).ok())
        .filter(|v| v.iter().all(Value::is_object))
    {
        let mut all: Vec<Value> = other.iter().map(metric_spec_v1_to_v2).collect();
        all.append(&mut metrics);
        metrics = all;
    }
    let mut behavior = None;
    if let Some(b) = annotation(from, BEHAVIOR_ANNOTATION)
        .and_then(|raw| serde_json::from_str::<Value>(raw).ok())
        .and_then(|b| behavior_from_internal(&b))
    {
        behavior = Some(b);
    }
    if let Some(cm) = annotation(from, CURRENT_METRICS_ANNOTATION)
        .and_then(|raw| serde_json::from_str::<Vec<Value>>(raw).ok())
        .filter(|v| v.iter().all(Value::is_object))
    {
        current = Some(cm.iter().map(metric_status_v1_to_v2).collect());
    }
    // autoscaling/v1's implicit default, made explicit.
    if metrics.is_empty() {
        metrics.push(cpu_metric(json!(DEFAULT_CPU_UTILIZATION)));
    }
    let conditions = annotation(from, CONDITIONS_ANNOTATION)
        .and_then(|raw| serde_json::from_str::<Vec<Value>>(raw).ok())
        .filter(|v| v.iter().all(Value::is_object))
        .map(|cs| cs.iter().map(condition).collect::<Vec<_>>());

    let s = section(to, "spec");
    s.insert("metrics".into(), Value::Array(metrics));
    if let Some(b) = behavior {
        s.insert("behavior".into(), b);
    }
    if current.is_some() || conditions.is_some() {
        let st = section(to, "status");
        if let Some(c) = current {
            st.insert("currentMetrics".into(), Value::Array(c));
        }
        if let Some(c) = conditions {
            st.insert("conditions".into(), Value::Array(c));
        }
    }
    drop_round_trip_annotations(to);
    Ok(())
}

fn cpu_metric(utilization: Value) -> Value {
    json!({"type": "Resource", "resource": {"name": "cpu",
        "target": {"type": "Utilization", "averageUtilization": utilization}}})
}

fn identifier(name: Option<&Value>, selector: Option<&Value>) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), name.cloned().unwrap_or(json!("")));
    put(&mut m, "selector", selector);
    Value::Object(m)
}

/// autoscaling/v1 `MetricSpec` (from the annotation) → autoscaling/v2 `MetricSpec`.
fn metric_spec_v1_to_v2(m: &Value) -> Value {
    let mut out = Map::new();
    out.insert("type".into(), m.get("type").cloned().unwrap_or(json!("")));
    if let Some(o) = some(m.get("object")) {
        let avg = some(o.get("averageValue"));
        let mut target = Map::new();
        target.insert(
            "type".into(),
            json!(if avg.is_none() {
                "Value"
            } else {
                "AverageValue"
            }),
        );
        target.insert("value".into(), quantity_or_zero(o.get("targetValue")));
        put(&mut target, "averageValue", avg);
        out.insert(
            "object".into(),
            json!({"describedObject": o.get("target").cloned().unwrap_or(json!({"kind": "", "name": ""})),
                "target": target,
                "metric": identifier(o.get("metricName"), o.get("selector"))}),
        );
    }
    if let Some(p) = some(m.get("pods")) {
        out.insert(
            "pods".into(),
            json!({"metric": identifier(p.get("metricName"), p.get("selector")),
                "target": {"type": "AverageValue", "averageValue": quantity_or_zero(p.get("targetAverageValue"))}}),
        );
    }
    for key in ["resource", "containerResource"] {
        if let Some(r) = some(m.get(key)) {
            let util = some(r.get("targetAverageUtilization"));
            let mut target = Map::new();
            target.insert(
                "type".into(),
                json!(if util.is_none() {
                    "AverageValue"
                } else {
                    "Utilization"
                }),
            );
            put(&mut target, "averageValue", r.get("targetAverageValue"));
            put(&mut target, "averageUtilization", util);
            let mut v = Map::new();
            v.insert("name".into(), r.get("name").cloned().unwrap_or(json!("")));
            v.insert("target".into(), Value::Object(target));
            if key == "containerResource" {
                v.insert(
                    "container".into(),
                    r.get("container").cloned().unwrap_or(json!("")),
                );
            }
            out.insert(key.into(), Value::Object(v));
        }
    }
    if let Some(e) = some(m.get("external")) {
        let value = some(e.get("targetValue"));
        let mut target = Map::new();
        target.insert(
            "type".into(),
            json!(if value.is_none() {
                "AverageValue"
            } else {
                "Value"
            }),
        );
        put(&mut target, "value", value);
        put(&mut target, "averageValue", e.get("targetAverageValue"));
        out.insert(
            "external".into(),
            json!({"metric": identifier(e.get("metricName"), e.get("metricSelector")),
                "target": target}),
        );
    }
    reorder(
        out,
        &[
            "type",
            "object",
            "pods",
            "resource",
            "containerResource",
            "external",
        ],
    )
}

/// autoscaling/v1 `MetricStatus` (from the annotation) → autoscaling/v2 `MetricStatus`.
fn metric_status_v1_to_v2(m: &Value) -> Value {
    let mut out = Map::new();
    out.insert("type".into(), m.get("type").cloned().unwrap_or(json!("")));
    if let Some(o) = some(m.get("object")) {
        let mut current = Map::new();
        current.insert("value".into(), quantity_or_zero(o.get("currentValue")));
        put(&mut current, "averageValue", o.get("averageValue"));
        out.insert(
            "object".into(),
            json!({"metric": identifier(o.get("metricName"), o.get("selector")),
                "current": current,
                "describedObject": o.get("target").cloned().unwrap_or(json!({"kind": "", "name": ""}))}),
        );
    }
    if let Some(p) = some(m.get("pods")) {
        out.insert(
            "pods".into(),
            json!({"metric": identifier(p.get("metricName"), p.get("selector")),
                "current": {"averageValue": quantity_or_zero(p.get("currentAverageValue"))}}),
        );
    }
    for key in ["resource", "containerResource"] {
        if let Some(r) = some(m.get(key)) {
            let mut current = Map::new();
            current.insert(
                "averageValue".into(),
                quantity_or_zero(r.get("currentAverageValue")),
            );
            put(
                &mut current,
                "averageUtilization",
                r.get("currentAverageUtilization"),
            );
            let mut v = Map::new();
            v.insert("name".into(), r.get("name").cloned().unwrap_or(json!("")));
            v.insert("current".into(), Value::Object(current));
            if key == "containerResource" {
                v.insert(
                    "container".into(),
                    r.get("container").cloned().unwrap_or(json!("")),
                );
            }
            out.insert(key.into(), Value::Object(v));
        }
    }
    if let Some(e) = some(m.get("external")) {
        let mut current = Map::new();
        current.insert("value".into(), quantity_or_zero(e.get("currentValue")));
        put(&mut current, "averageValue", e.get("currentAverageValue"));
        out.insert(
            "external".into(),
            json!({"metric": identifier(e.get("metricName"), e.get("metricSelector")),
                "current": current}),
        );
    }
    reorder(
        out,
        &[
            "type",
            "object",
            "pods",
            "resource",
            "containerResource",
            "external",
        ],
    )
}

/// Go's `encoding/json` matches field names case-insensitively.
fn get_ci<'a>(m: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    m.get(name).or_else(|| {
        m.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

/// The behavior annotation (internal type, Go field names) → v2 behavior; `None` when it
/// is not an object or has neither rule set.
fn behavior_from_internal(b: &Value) -> Option<Value> {
    let b = b.as_object()?;
    let rules = |r: Option<&Value>| -> Option<Value> {
        let r = some(r)?.as_object()?;
        let mut out = Map::new();
        put(
            &mut out,
            "stabilizationWindowSeconds",
            get_ci(r, "StabilizationWindowSeconds"),
        );
        put(&mut out, "selectPolicy", get_ci(r, "SelectPolicy"));
        if let Some(ps) = some(get_ci(r, "Policies")).and_then(Value::as_array) {
            let ps: Vec<Value> = ps
                .iter()
                .filter_map(Value::as_object)
                .map(|p| {
                    json!({"type": get_ci(p, "Type").cloned().unwrap_or(json!("")),
                        "value": get_ci(p, "Value").cloned().unwrap_or(json!(0)),
                        "periodSeconds": get_ci(p, "PeriodSeconds").cloned().unwrap_or(json!(0))})
                })
                .collect();
            out.insert("policies".into(), Value::Array(ps));
        }
        put(&mut out, "tolerance", get_ci(r, "Tolerance"));
        Some(Value::Object(out))
    };
    let up = rules(get_ci(b, "ScaleUp"));
    let down = rules(get_ci(b, "ScaleDown"));
    if up.is_none() && down.is_none() {
        return None;
    }
    let mut out = Map::new();
    if let Some(u) = up {
        out.insert("scaleUp".into(), u);
    }
    if let Some(d) = down {
        out.insert("scaleDown".into(), d);
    }
    Some(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v2(metrics: Value) -> Map<String, Value> {
        json!({"metadata": {"name": "h"},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "maxReplicas": 3, "metrics": metrics}})
        .as_object()
        .cloned()
        .unwrap()
    }

    fn to_v1(from: &Map<String, Value>) -> Map<String, Value> {
        let mut to = Map::new();
        to.insert("metadata".into(), from["metadata"].clone());
        hpa_v2_to_v1(from, &mut to).unwrap();
        to
    }

    fn to_v2(from: &Map<String, Value>) -> Map<String, Value> {
        let mut to = Map::new();
        to.insert("metadata".into(), from["metadata"].clone());
        hpa_v1_to_v2(from, &mut to).unwrap();
        to
    }

    #[test]
    fn hpa_v2_to_v1_cpu_target_becomes_the_percentage() {
        let from = v2(json!([{"type": "Resource", "resource": {"name": "cpu",
            "target": {"type": "Utilization", "averageUtilization": 60}}}]));
        let v1 = to_v1(&from);
        assert_eq!(v1["spec"]["targetCPUUtilizationPercentage"], 60);
        assert!(v1["metadata"].get("annotations").is_none());
    }

    #[test]
    fn hpa_v2_to_v1_other_metrics_go_to_the_annotation_in_v1_form() {
        let from = v2(json!([
            {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "500Mi"}}},
            {"type": "Pods", "pods": {"metric": {"name": "qps"}, "target": {"type": "AverageValue", "averageValue": "10"}}}
        ]));
        let v1 = to_v1(&from);
        assert_eq!(
            v1["metadata"]["annotations"][METRICS_ANNOTATION],
            r#"[{"type":"Resource","resource":{"name":"memory","targetAverageValue":"500Mi"}},{"type":"Pods","pods":{"metricName":"qps","targetAverageValue":"10"}}]"#
        );
        assert!(
            v1.get("spec")
                .is_none_or(|s| s.get("targetCPUUtilizationPercentage").is_none())
        );
    }

    #[test]
    fn hpa_v1_to_v2_default_cpu_metric_when_none() {
        let from = json!({"metadata": {"name": "h"}, "spec": {"maxReplicas": 3}});
        let v2 = to_v2(from.as_object().unwrap());
        assert_eq!(v2["spec"]["metrics"], json!([cpu_metric(json!(80))]));
    }

    #[test]
    fn hpa_v1_to_v2_reads_and_drops_annotations() {
        let from = json!({"metadata": {"name": "h", "annotations": {
                METRICS_ANNOTATION: r#"[{"type":"External","external":{"metricName":"q","targetValue":"3"}}]"#,
                BEHAVIOR_ANNOTATION: r#"{"ScaleUp":{"StabilizationWindowSeconds":5,"SelectPolicy":null,"Policies":[{"Type":"Pods","Value":4,"PeriodSeconds":15}],"Tolerance":null},"ScaleDown":null}"#,
                CONDITIONS_ANNOTATION: r#"[{"type":"AbleToScale","status":"True","lastTransitionTime":null}]"#,
                CURRENT_METRICS_ANNOTATION: "not json",
                "keep": "me"}},
            "spec": {"maxReplicas": 3, "targetCPUUtilizationPercentage": 70},
            "status": {"currentReplicas": 1, "desiredReplicas": 1, "currentCPUUtilizationPercentage": 40}});
        let v2 = to_v2(from.as_object().unwrap());
        assert_eq!(v2["metadata"]["annotations"], json!({"keep": "me"}));
        assert_eq!(
            v2["spec"]["metrics"],
            json!([{"type": "External", "external": {"metric": {"name": "q"}, "target": {"type": "Value", "value": "3"}}},
                cpu_metric(json!(70))])
        );
        assert_eq!(
            v2["spec"]["behavior"],
            json!({"scaleUp": {"stabilizationWindowSeconds": 5, "policies": [{"type": "Pods", "value": 4, "periodSeconds": 15}]}})
        );
        // Malformed current-metrics annotation: ignored, the v1 field is used.
        assert_eq!(
            v2["status"]["currentMetrics"],
            json!([{"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 40}}}])
        );
        assert_eq!(v2["status"]["conditions"][0]["type"], "AbleToScale");
    }

    #[test]
    fn hpa_round_trip_through_v1_keeps_v2_content() {
        let mut from = v2(json!([
            {"type": "Object", "object": {"describedObject": {"kind": "Ingress", "name": "i", "apiVersion": "networking.k8s.io/v1"},
                "target": {"type": "Value", "value": "2"}, "metric": {"name": "hits"}}},
            {"type": "ContainerResource", "containerResource": {"name": "cpu", "container": "c",
                "target": {"type": "Utilization", "averageUtilization": 50}}},
            {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 60}}}
        ]));
        from["spec"]["behavior"] = json!({"scaleDown": {"stabilizationWindowSeconds": 300, "selectPolicy": "Max",
            "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}], "tolerance": "50m"}});
        from.insert("status".into(), json!({"currentReplicas": 1, "desiredReplicas": 2,
            "currentMetrics": [{"type": "Resource", "resource": {"name": "cpu", "current": {"averageValue": "100m", "averageUtilization": 10}}}],
            "conditions": [{"type": "ScalingActive", "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z", "reason": "R", "message": "m"}]}));
        let v1 = to_v1(&from);
        assert_eq!(v1["status"]["currentCPUUtilizationPercentage"], 10);
        let mut back = to_v2(&v1);
        // The generated field copy would carry these; the hooks do not.
        back["spec"]
            .as_object_mut()
            .unwrap()
            .insert("maxReplicas".into(), json!(3));
        back["spec"]["scaleTargetRef"] = from["spec"]["scaleTargetRef"].clone();
        back["status"]["currentReplicas"] = json!(1);
        back["status"]["desiredReplicas"] = json!(2);
        let sorted = |v: &Value| serde_json::from_str::<serde_json::Value>(&v.to_string()).unwrap();
        assert_eq!(
            sorted(&back["spec"]["metrics"]),
            sorted(&from["spec"]["metrics"])
        );
        assert_eq!(back["spec"]["behavior"], from["spec"]["behavior"]);
        assert_eq!(
            back["status"]["currentMetrics"],
            from["status"]["currentMetrics"]
        );
        assert_eq!(back["status"]["conditions"], from["status"]["conditions"]);
        assert!(back["metadata"].get("annotations").is_none());
    }
}
