//! HorizontalPodAutoscalers: kube's `ValidateHorizontalPodAutoscaler(Update)`
//! (`pkg/apis/autoscaling/validation`). kube validates the internal form, which has the
//! autoscaling/v2 shape (the storage version), so these functions take a v2 object; the
//! caller converts autoscaling/v1 requests first. HPAScaleToZero is off, as in 1.36.

use serde_json::Value;

use super::pod::{fast_nano, quantity};
use super::{
    Errs, Path, arr, forbidden, get, int, invalid, invalid_msgs, not_supported, required, s,
};
use crate::validation::{self, FieldError};

const METRIC_TYPES: &[&str] = &[
    "ContainerResource",
    "External",
    "Object",
    "Pods",
    "Resource",
];
/// The metric sources in the order kube checks them: (spec field, metric type).
const SOURCES: [(&str, &str); 5] = [
    ("object", "Object"),
    ("external", "External"),
    ("pods", "Pods"),
    ("resource", "Resource"),
    ("containerResource", "ContainerResource"),
];

/// `ValidateHorizontalPodAutoscaler` (`old_min_zero`: the old object already had
/// `minReplicas: 0`, which an update may keep).
pub fn validate_hpa(hpa: &Value, old_min_zero: bool, errs: &mut Errs) {
    let spec = get(hpa, "spec").unwrap_or(&Value::Null);
    let sp = Path::new("spec");
    let lower = if old_min_zero { 0 } else { 1 };
    let min = int(spec, "minReplicas");
    let max = int(spec, "maxReplicas").unwrap_or(0);
    if let Some(m) = min
        && m < lower
    {
        invalid(
            errs,
            &sp.child("minReplicas"),
            m,
            &format!("must be greater than or equal to {lower}"),
        );
    }
    if max < 1 {
        invalid(
            errs,
            &sp.child("maxReplicas"),
            max,
            "must be greater than 0",
        );
    }
    if let Some(m) = min
        && max < m
    {
        invalid(
            errs,
            &sp.child("maxReplicas"),
            max,
            "must be greater than or equal to `minReplicas`",
        );
    }
    cross_version_ref(
        errs,
        get(spec, "scaleTargetRef").unwrap_or(&Value::Null),
        &sp.child("scaleTargetRef"),
    );
    let mp = sp.child("metrics");
    let metrics = arr(spec, "metrics");
    let mut scales_to_zero = false;
    for (i, m) in metrics.iter().enumerate() {
        metric_spec(errs, m, &mp.index(i));
        scales_to_zero |= matches!(s(m, "type"), "Object" | "External");
    }
    if min == Some(0) && !scales_to_zero {
        forbidden(
            errs,
            &mp,
            "must specify at least one Object or External metric to support scaling to zero replicas",
        );
    }
    if let Some(b) = get(spec, "behavior") {
        let bp = sp.child("behavior");
        for dir in ["scaleUp", "scaleDown"] {
            if let Some(rules) = get(b, dir) {
                scaling_rules(errs, rules, &bp.child(dir));
            }
        }
    }
}

/// `ValidateCrossVersionObjectReference`.
fn cross_version_ref(errs: &mut Errs, r: &Value, p: &Path<'_>) {
    for f in ["kind", "name"] {
        let v = s(r, f);
        if v.is_empty() {
            required(errs, &p.child(f), "");
        } else {
            let msgs = validation::is_path_segment_name(v);
            if !msgs.is_empty() {
                invalid_msgs(errs, &p.child(f), v, msgs);
            }
        }
    }
}

fn scaling_rules(errs: &mut Errs, rules: &Value, p: &Path<'_>) {
    if let Some(w) = int(rules, "stabilizationWindowSeconds") {
        let wp = p.child("stabilizationWindowSeconds");
        if w < 0 {
            invalid(errs, &wp, w, "must be greater than or equal to zero");
        }
        if w > 3600 {
            invalid(errs, &wp, w, "must be less than or equal to 3600");
        }
    }
    if let Some(sel) = get(rules, "selectPolicy").and_then(Value::as_str)
        && !matches!(sel, "Max" | "Min" | "Disabled")
    {
        not_supported(
            errs,
            &p.child("selectPolicy"),
            sel,
            &["Disabled", "Max", "Min"],
        );
    }
    let pp = p.child("policies");
    let policies = arr(rules, "policies");
    if policies.is_empty() {
        required(errs, &pp, "must specify at least one Policy");
    }
    for (i, pol) in policies.iter().enumerate() {
        let ip = pp.index(i);
        let ty = s(pol, "type");
        if ty != "Pods" && ty != "Percent" {
            not_supported(errs, &ip.child("type"), ty, &["Percent", "Pods"]);
        }
        let value = int(pol, "value").unwrap_or(0);
        if value <= 0 {
            invalid(errs, &ip.child("value"), value, "must be greater than zero");
        }
        let period = int(pol, "periodSeconds").unwrap_or(0);
        let per = ip.child("periodSeconds");
        if period <= 0 {
            invalid(errs, &per, period, "must be greater than zero");
        }
        if period > 1800 {
            invalid(errs, &per, period, "must be less than or equal to 1800");
        }
    }
    // `ValidateNonnegativeQuantity` (HPAConfigurableTolerance, beta and on by default since
    // 1.35): the value is shown as the quantity's canonical string, quoted.
    if let Some(q) = get(rules, "tolerance").and_then(quantity)
        && q.sign() < 0
    {
        invalid(
            errs,
            &p.child("tolerance"),
            q.canonical(),
            super::IS_NEGATIVE,
        );
    }
}

/// `validateMetricSpec`.
fn metric_spec(errs: &mut Errs, m: &Value, p: &Path<'_>) {
    let ty = s(m, "type");
    let tp = p.child("type");
    if ty.is_empty() {
        required(errs, &tp, "must specify a metric source type");
    }
    if !METRIC_TYPES.contains(&ty) {
        not_supported(errs, &tp, ty, METRIC_TYPES);
    }
    let mut present = 0;
    for (field, _) in SOURCES {
        let Some(src) = get(m, field) else { continue };
        present += 1;
        if present == 1 {
            let fp = p.child(field);
            match field {
                "object" => object_source(errs, src, &fp),
                "external" => external_source(errs, src, &fp),
                "pods" => pods_source(errs, src, &fp),
                "resource" => resource_source(errs, src, &fp),
                _ => container_resource_source(errs, src, &fp),
            }
        }
    }
    let expected = SOURCES.iter().find(|(_, t)| *t == ty).map(|(f, _)| *f);
    match expected {
        Some(f) if get(m, f).is_none() => required(
            errs,
            &p.child(f),
            "must populate information for the given metric source",
        ),
        Some(_) => {}
        None => not_supported(errs, &tp, ty, METRIC_TYPES),
    }
    if present != 1 {
        for (field, _) in SOURCES {
            if Some(field) != expected && get(m, field).is_some() {
                forbidden(
                    errs,
                    &p.child(field),
                    "must populate the given metric source only",
                );
            }
        }
    }
}

fn has(v: &Value, path: &[&str]) -> bool {
    super::at(v, path).is_some()
}

fn object_source(errs: &mut Errs, src: &Value, p: &Path<'_>) {
    cross_version_ref(
        errs,
        get(src, "describedObject").unwrap_or(&Value::Null),
        &p.child("describedObject"),
    );
    metric_identifier(errs, src, p);
    let target = metric_target(errs, src, p);
    if !has(target, &["value"]) && !has(target, &["averageValue"]) {
        let tp = p.child("target");
        required(
            errs,
            &tp.child("averageValue"),
            "must set either a target value or averageValue",
        );
    }
}

fn external_source(errs: &mut Errs, src: &Value, p: &Path<'_>) {
    metric_identifier(errs, src, p);
    let target = metric_target(errs, src, p);
    let tp = p.child("target");
    let (value, average) = (has(target, &["value"]), has(target, &["averageValue"]));
    if !value && !average {
        required(
            errs,
            &tp.child("averageValue"),
            "must set either a target value for metric or a per-pod target",
        );
    }
    if value && average {
        forbidden(
            errs,
            &tp.child("value"),
            "may not set both a target value for metric and a per-pod target",
        );
    }
}

fn pods_source(errs: &mut Errs, src: &Value, p: &Path<'_>) {
    metric_identifier(errs, src, p);
    let target = metric_target(errs, src, p);
    if !has(target, &["averageValue"]) {
        let tp = p.child("target");
        required(
            errs,
            &tp.child("averageValue"),
            "must specify a positive target averageValue",
        );
    }
}

fn utilization_or_value(errs: &mut Errs, target: &Value, p: &Path<'_>) {
    let tp = p.child("target");
    let (util, average) = (
        has(target, &["averageUtilization"]),
        has(target, &["averageValue"]),
    );
    if !util && !average {
        required(
            errs,
            &tp.child("averageUtilization"),
            "must set either a target raw value or a target utilization",
        );
    }
    if util && average {
        forbidden(
            errs,
            &tp.child("averageValue"),
            "may not set both a target raw value and a target utilization",
        );
    }
}

fn resource_source(errs: &mut Errs, src: &Value, p: &Path<'_>) {
    if s(src, "name").is_empty() {
        required(errs, &p.child("name"), "must specify a resource name");
    }
    let target = metric_target(errs, src, p);
    utilization_or_value(errs, target, p);
}

fn container_resource_source(errs: &mut Errs, src: &Value, p: &Path<'_>) {
    if s(src, "name").is_empty() {
        required(errs, &p.child("name"), "must specify a resource name");
    }
    let container = s(src, "container");
    if container.is_empty() {
        required(errs, &p.child("container"), "must specify a container");
    } else {
        let msgs = validation::is_dns1123_label(container);
        if !msgs.is_empty() {
            invalid_msgs(errs, &p.child("container"), container, msgs);
        }
    }
    let target = metric_target(errs, src, p);
    utilization_or_value(errs, target, p);
}

/// `validateMetricIdentifier` on `src.metric`.
fn metric_identifier(errs: &mut Errs, src: &Value, p: &Path<'_>) {
    let id = get(src, "metric").unwrap_or(&Value::Null);
    let mp = p.child("metric");
    let name = s(id, "name");
    if name.is_empty() {
        required(errs, &mp.child("name"), "must specify a metric name");
    } else {
        let msgs = validation::is_path_segment_name(name);
        if !msgs.is_empty() {
            invalid_msgs(errs, &mp.child("name"), name, msgs);
        }
    }
}

/// Whether a quantity is positive (`Sign() == 1`).
fn positive(v: &Value) -> bool {
    match v.as_str().and_then(fast_nano) {
        Some(n) => n > 0,
        None => quantity(v).is_some_and(|q| q.sign() > 0),
    }
}

/// `validateMetricTarget` on `src.target`; returns the target.
fn metric_target<'a>(errs: &mut Errs, src: &'a Value, p: &Path<'_>) -> &'a Value {
    let target = get(src, "target").unwrap_or(&Value::Null);
    let tp = p.child("target");
    let ty = s(target, "type");
    if ty.is_empty() {
        required(errs, &tp.child("type"), "must specify a metric target type");
    }
    if !matches!(ty, "Utilization" | "Value" | "AverageValue") {
        invalid(
            errs,
            &tp.child("type"),
            ty,
            "must be either Utilization, Value, or AverageValue",
        );
    }
    for f in ["value", "averageValue"] {
        if let Some(q) = get(target, f)
            && !positive(q)
        {
            // A `*resource.Quantity` is printed through its `String()`, unquoted.
            let shown = quantity(q).map(|q| q.canonical()).unwrap_or_default();
            errs.push(FieldError::invalid_shown(
                tp.child(f).render(),
                &shown,
                "must be positive",
            ));
        }
    }
    if let Some(u) = int(target, "averageUtilization")
        && u < 1
    {
        invalid(
            errs,
            &tp.child("averageUtilization"),
            u,
            "must be greater than 0",
        );
    }
    target
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(v: Value) -> Vec<String> {
        let mut errs = Vec::new();
        validate_hpa(&v, false, &mut errs);
        errs.iter().map(|e| e.to_string()).collect()
    }

    fn hpa(extra: Value) -> Value {
        let mut spec = json!({"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            "minReplicas": 1, "maxReplicas": 5,
            "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]});
        if let (Value::Object(m), Value::Object(x)) = (&mut spec, extra) {
            m.extend(x);
        }
        json!({"spec": spec})
    }

    #[test]
    fn valid_hpa_passes() {
        assert!(run(hpa(json!({}))).is_empty());
        assert!(
            run(hpa(json!({"behavior": {"scaleUp": {"stabilizationWindowSeconds": 0, "selectPolicy": "Max",
                "policies": [{"type": "Pods", "value": 4, "periodSeconds": 15}]}}})))
            .is_empty()
        );
    }

    #[test]
    fn replica_and_reference_rules() {
        assert_eq!(
            run(hpa(
                json!({"minReplicas": 0, "maxReplicas": 0, "scaleTargetRef": {"name": "a/b"}})
            )),
            vec![
                "spec.minReplicas: Invalid value: 0: must be greater than or equal to 1",
                "spec.maxReplicas: Invalid value: 0: must be greater than 0",
                "spec.scaleTargetRef.kind: Required value",
                "spec.scaleTargetRef.name: Invalid value: \"a/b\": may not contain '/'",
                "spec.metrics: Forbidden: must specify at least one Object or External metric to support scaling to zero replicas",
            ]
        );
        assert_eq!(
            run(hpa(json!({"minReplicas": 3, "maxReplicas": 2}))),
            vec![
                "spec.maxReplicas: Invalid value: 2: must be greater than or equal to `minReplicas`"
            ]
        );
        let mut errs = Vec::new();
        validate_hpa(
            &hpa(json!({"minReplicas": 0, "metrics": [{"type": "External",
            "external": {"metric": {"name": "q"}, "target": {"type": "Value", "value": "10"}}}]})),
            true,
            &mut errs,
        );
        assert!(errs.is_empty(), "{errs:?}");
    }

    #[test]
    fn metric_rules() {
        assert_eq!(
            run(hpa(json!({"metrics": [
                {"type": "Pods", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 0}}},
                {"type": "Object", "object": {"describedObject": {"kind": "Service", "name": "s"}, "metric": {"name": ""},
                    "target": {"type": "Quantity", "value": "0"}}},
                {"type": "Resource", "resource": {"name": "", "target": {"type": "AverageValue", "averageUtilization": 50, "averageValue": "1"}}},
                {"type": "Gauge"}]}))),
            vec![
                "spec.metrics[0].resource.target.averageUtilization: Invalid value: 0: must be greater than 0",
                "spec.metrics[0].pods: Required value: must populate information for the given metric source",
                "spec.metrics[1].object.metric.name: Required value: must specify a metric name",
                "spec.metrics[1].object.target.type: Invalid value: \"Quantity\": must be either Utilization, Value, or AverageValue",
                "spec.metrics[1].object.target.value: Invalid value: 0: must be positive",
                "spec.metrics[2].resource.name: Required value: must specify a resource name",
                "spec.metrics[2].resource.target.averageValue: Forbidden: may not set both a target raw value and a target utilization",
                "spec.metrics[3].type: Unsupported value: \"Gauge\": supported values: \"ContainerResource\", \"External\", \"Object\", \"Pods\", \"Resource\"",
                "spec.metrics[3].type: Unsupported value: \"Gauge\": supported values: \"ContainerResource\", \"External\", \"Object\", \"Pods\", \"Resource\"",
            ]
        );
    }

    #[test]
    fn behavior_rules() {
        assert_eq!(
            run(hpa(json!({"behavior": {
                "scaleUp": {"stabilizationWindowSeconds": 3601, "selectPolicy": "Avg", "policies": [], "tolerance": "-0.1"},
                "scaleDown": {"stabilizationWindowSeconds": -1, "policies": [{"type": "Nodes", "value": 0, "periodSeconds": 1801}],
                    "tolerance": "0.05"}}}))),
            vec![
                "spec.behavior.scaleUp.stabilizationWindowSeconds: Invalid value: 3601: must be less than or equal to 3600",
                "spec.behavior.scaleUp.selectPolicy: Unsupported value: \"Avg\": supported values: \"Disabled\", \"Max\", \"Min\"",
                "spec.behavior.scaleUp.policies: Required value: must specify at least one Policy",
                "spec.behavior.scaleUp.tolerance: Invalid value: \"-100m\": must be greater than or equal to 0",
                "spec.behavior.scaleDown.stabilizationWindowSeconds: Invalid value: -1: must be greater than or equal to zero",
                "spec.behavior.scaleDown.policies[0].type: Unsupported value: \"Nodes\": supported values: \"Percent\", \"Pods\"",
                "spec.behavior.scaleDown.policies[0].value: Invalid value: 0: must be greater than zero",
                "spec.behavior.scaleDown.policies[0].periodSeconds: Invalid value: 1801: must be less than or equal to 1800",
            ]
        );
    }
}
