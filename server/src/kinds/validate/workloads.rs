//! apps/v1 and batch/v1 workloads and ReplicationControllers: kube's
//! `ValidateDeploymentSpec`, `ValidateReplicaSetSpec`, `ValidateDaemonSetSpec`,
//! `ValidateStatefulSetSpec`, `ValidateReplicationControllerSpec`, and the Job/CronJob
//! template rules (`pkg/apis/{apps,core,batch}/validation`).

use serde_json::Value;

use super::pod::validate_pod_template_spec;
use super::{
    Errs, Path, annotations, forbidden, get, int, invalid, label_selector, labels,
    map_selector_matches, nonnegative, not_supported, obj, required, s, selector_converts,
    selector_is_empty, selector_matches, selector_value, string_map_value,
};

fn spec_of(o: &Value) -> &Value {
    get(o, "spec").unwrap_or(&Value::Null)
}

fn template_labels(t: &Value) -> Option<&serde_json::Map<String, Value>> {
    get(t, "metadata").and_then(|m| obj(m, "labels"))
}

fn template_labels_value(t: &Value) -> Value {
    string_map_value(get(t, "metadata").and_then(|m| get(m, "labels")))
}

/// The selector checks shared by Deployment, ReplicaSet and StatefulSet; returns whether
/// the selector converts (`LabelSelectorAsSelector` succeeds).
fn required_selector(spec: &Value, sp: &Path<'_>, kind: &str, errs: &mut Errs) -> bool {
    let selp = sp.child("selector");
    match get(spec, "selector") {
        None => required(errs, &selp, ""),
        Some(sel) => {
            label_selector(errs, sel, &selp);
            if selector_is_empty(sel) {
                invalid(
                    errs,
                    &selp,
                    selector_value(sel),
                    &format!("empty selector is invalid for {kind}"),
                );
            }
        }
    }
    get(spec, "selector").is_none_or(selector_converts)
}

/// Whether the template labels satisfy the selector, with a nil selector matching nothing
/// (`labels.Nothing()`) and an empty one everything.
fn selector_fits(spec: &Value, t: &Value) -> bool {
    match get(spec, "selector") {
        None => false,
        Some(sel) => selector_is_empty(sel) || selector_matches(sel, template_labels(t)),
    }
}

/// `ValidatePodTemplateSpecForReplicaSet` (Deployments and ReplicaSets).
fn template_for_replicaset(spec: &Value, sp: &Path<'_>, kind: &str, errs: &mut Errs) {
    let tp = sp.child("template");
    let t = get(spec, "template").unwrap_or(&Value::Null);
    if !selector_fits(spec, t) {
        let mp = tp.child("metadata");
        invalid(
            errs,
            &mp.child("labels"),
            template_labels_value(t),
            "`selector` does not match template `labels`",
        );
    }
    validate_pod_template_spec(t, &tp, errs);
    restart_always(t, &tp, kind, errs);
}

fn restart_always(t: &Value, tp: &Path<'_>, kind: &str, errs: &mut Errs) {
    let tspec = get(t, "spec").unwrap_or(&Value::Null);
    let tsp = tp.child("spec");
    let rp = s(tspec, "restartPolicy");
    if rp != "Always" {
        not_supported(errs, &tsp.child("restartPolicy"), rp, &["Always"]);
    }
    if get(tspec, "activeDeadlineSeconds").is_some() {
        forbidden(
            errs,
            &tsp.child("activeDeadlineSeconds"),
            &format!("activeDeadlineSeconds in {kind} is not Supported"),
        );
    }
}

/// `ValidateDeployment` minus metadata.
pub fn validate_deployment(o: &Value, errs: &mut Errs) {
    let spec = spec_of(o);
    let sp = Path::new("spec");
    nonnegative(errs, &sp.child("replicas"), int(spec, "replicas"));
    if required_selector(spec, &sp, "deployment", errs) {
        template_for_replicaset(spec, &sp, "ReplicaSet", errs);
    } else if let Some(sel) = get(spec, "selector") {
        invalid(
            errs,
            &sp.child("selector"),
            selector_value(sel),
            "invalid label selector",
        );
    }
    deployment_strategy(spec, &sp.child("strategy"), errs);
    let min_ready = int(spec, "minReadySeconds").unwrap_or(0);
    nonnegative(errs, &sp.child("minReadySeconds"), Some(min_ready));
    nonnegative(
        errs,
        &sp.child("revisionHistoryLimit"),
        int(spec, "revisionHistoryLimit"),
    );
    if let Some(pds) = int(spec, "progressDeadlineSeconds") {
        let pp = sp.child("progressDeadlineSeconds");
        nonnegative(errs, &pp, Some(pds));
        if pds <= min_ready {
            invalid(errs, &pp, pds, "must be greater than minReadySeconds");
        }
    }
}

fn deployment_strategy(spec: &Value, p: &Path<'_>, errs: &mut Errs) {
    let st = get(spec, "strategy").unwrap_or(&Value::Null);
    match s(st, "type") {
        "Recreate" => {
            if get(st, "rollingUpdate").is_some() {
                forbidden(
                    errs,
                    &p.child("rollingUpdate"),
                    "may not be specified when strategy `type` is 'Recreate'",
                );
            }
        }
        "RollingUpdate" => match get(st, "rollingUpdate") {
            None => required(
                errs,
                &p.child("rollingUpdate"),
                "this should be defaulted and never be nil",
            ),
            Some(ru) => {
                let rp = p.child("rollingUpdate");
                let mu = get(ru, "maxUnavailable");
                let ms = get(ru, "maxSurge");
                positive_int_or_percent(errs, mu, &rp.child("maxUnavailable"));
                positive_int_or_percent(errs, ms, &rp.child("maxSurge"));
                if int_or_percent(mu) == 0 && int_or_percent(ms) == 0 {
                    invalid(
                        errs,
                        &rp.child("maxUnavailable"),
                        mu.cloned().unwrap_or(Value::from(0)),
                        "may not be 0 when `maxSurge` is 0",
                    );
                }
                not_more_than_100(errs, mu, &rp.child("maxUnavailable"));
            }
        },
        _ => not_supported(errs, p, st.clone(), &["Recreate", "RollingUpdate"]),
    }
}

fn percent(v: Option<&Value>) -> Option<i64> {
    let s = v?.as_str()?;
    let digits = s.strip_suffix('%')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// `getIntOrPercentValue`.
fn int_or_percent(v: Option<&Value>) -> i64 {
    match v {
        Some(Value::Number(n)) => n.as_i64().unwrap_or(0),
        Some(Value::String(st)) => percent(v).unwrap_or_else(|| st.parse().unwrap_or(0)),
        _ => 0,
    }
}

/// `ValidatePositiveIntOrPercent`.
fn positive_int_or_percent(errs: &mut Errs, v: Option<&Value>, p: &Path<'_>) {
    match v {
        Some(Value::String(st)) if percent(v).is_none() => {
            invalid(
                errs,
                p,
                st.as_str(),
                "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
            );
        }
        Some(Value::Number(n)) => nonnegative(errs, p, n.as_i64()),
        _ => {}
    }
}

/// `IsNotMoreThan100Percent`.
fn not_more_than_100(errs: &mut Errs, v: Option<&Value>, p: &Path<'_>) {
    if let Some(pc) = percent(v)
        && pc > 100
        && let Some(v) = v
    {
        invalid(errs, p, v.clone(), "must not be greater than 100%");
    }
}

/// `ValidateReplicaSet` minus metadata.
pub fn validate_replicaset(o: &Value, errs: &mut Errs) {
    let spec = spec_of(o);
    let sp = Path::new("spec");
    nonnegative(errs, &sp.child("replicas"), int(spec, "replicas"));
    nonnegative(
        errs,
        &sp.child("minReadySeconds"),
        Some(int(spec, "minReadySeconds").unwrap_or(0)),
    );
    // kube reports an empty ReplicaSet selector with the deployment wording.
    if required_selector(spec, &sp, "deployment", errs) {
        template_for_replicaset(spec, &sp, "ReplicaSet", errs);
    } else if let Some(sel) = get(spec, "selector") {
        invalid(
            errs,
            &sp.child("selector"),
            selector_value(sel),
            "invalid label selector",
        );
    }
}

/// `ValidateReplicationController` minus metadata.
pub fn validate_rc(o: &Value, errs: &mut Errs) {
    let spec = spec_of(o);
    let sp = Path::new("spec");
    nonnegative(
        errs,
        &sp.child("minReadySeconds"),
        Some(int(spec, "minReadySeconds").unwrap_or(0)),
    );
    let selector = obj(spec, "selector");
    if selector.is_none_or(|m| m.is_empty()) {
        required(errs, &sp.child("selector"), "");
    }
    nonnegative(errs, &sp.child("replicas"), int(spec, "replicas"));
    let tp = sp.child("template");
    match get(spec, "template") {
        None => required(errs, &tp, ""),
        Some(t) => {
            if let Some(sel) = selector
                && !sel.is_empty()
                && !map_selector_matches(sel, template_labels(t))
            {
                let mp = tp.child("metadata");
                invalid(
                    errs,
                    &mp.child("labels"),
                    template_labels_value(t),
                    "`selector` does not match template `labels`",
                );
            }
            validate_pod_template_spec(t, &tp, errs);
            restart_always(t, &tp, "ReplicationController", errs);
        }
    }
}

/// `ValidateDaemonSet` minus metadata.
pub fn validate_daemonset(o: &Value, errs: &mut Errs) {
    let spec = spec_of(o);
    let sp = Path::new("spec");
    let selp = sp.child("selector");
    let t = get(spec, "template").unwrap_or(&Value::Null);
    if let Some(sel) = get(spec, "selector") {
        label_selector(errs, sel, &selp);
    }
    let converts = get(spec, "selector").is_none_or(selector_converts);
    if converts && !selector_fits(spec, t) {
        let tp = sp.child("template");
        let mp = tp.child("metadata");
        invalid(
            errs,
            &mp.child("labels"),
            template_labels_value(t),
            "`selector` does not match template `labels`",
        );
    }
    if let Some(sel) = get(spec, "selector")
        && selector_is_empty(sel)
    {
        invalid(
            errs,
            &selp,
            selector_value(sel),
            "empty selector is invalid for daemonset",
        );
    }
    let tp = sp.child("template");
    validate_pod_template_spec(t, &tp, errs);
    restart_always(t, &tp, "DaemonSet", errs);
    nonnegative(
        errs,
        &sp.child("minReadySeconds"),
        Some(int(spec, "minReadySeconds").unwrap_or(0)),
    );
    nonnegative(
        errs,
        &sp.child("templateGeneration"),
        Some(int(spec, "templateGeneration").unwrap_or(0)),
    );
    let up = sp.child("updateStrategy");
    let us = get(spec, "updateStrategy").unwrap_or(&Value::Null);
    match s(us, "type") {
        "OnDelete" => {}
        "RollingUpdate" => match get(us, "rollingUpdate") {
            None => required(errs, &up.child("rollingUpdate"), ""),
            Some(ru) => {
                let rp = up.child("rollingUpdate");
                let mu = get(ru, "maxUnavailable");
                let ms = get(ru, "maxSurge");
                positive_int_or_percent(errs, mu, &rp.child("maxUnavailable"));
                positive_int_or_percent(errs, ms, &rp.child("maxSurge"));
                not_more_than_100(errs, mu, &rp.child("maxUnavailable"));
                not_more_than_100(errs, ms, &rp.child("maxSurge"));
                let has_u = int_or_percent(mu) != 0;
                let has_s = int_or_percent(ms) != 0;
                if has_u && has_s {
                    invalid(
                        errs,
                        &rp.child("maxSurge"),
                        ms.cloned().unwrap_or(Value::from(0)),
                        "may not be set when maxUnavailable is non-zero",
                    );
                } else if !has_u && !has_s {
                    required(
                        errs,
                        &rp.child("maxUnavailable"),
                        "cannot be 0 when maxSurge is 0",
                    );
                }
            }
        },
        _ => not_supported(errs, &up, us.clone(), &["RollingUpdate", "OnDelete"]),
    }
    nonnegative(
        errs,
        &sp.child("revisionHistoryLimit"),
        int(spec, "revisionHistoryLimit"),
    );
}

/// `ValidateStatefulSet` minus metadata.
pub fn validate_statefulset(o: &Value, errs: &mut Errs) {
    let spec = spec_of(o);
    let sp = Path::new("spec");
    match s(spec, "podManagementPolicy") {
        "" => required(errs, &sp.child("podManagementPolicy"), ""),
        "OrderedReady" | "Parallel" => {}
        other => invalid(
            errs,
            &sp.child("podManagementPolicy"),
            other,
            "must be 'OrderedReady' or 'Parallel'",
        ),
    }
    let up = sp.child("updateStrategy");
    let us = get(spec, "updateStrategy").unwrap_or(&Value::Null);
    match s(us, "type") {
        "" => required(errs, &up, ""),
        "OnDelete" => {
            if let Some(ru) = get(us, "rollingUpdate") {
                invalid(
                    errs,
                    &up.child("rollingUpdate"),
                    ru.clone(),
                    "only allowed for updateStrategy 'RollingUpdate'",
                );
            }
        }
        "RollingUpdate" => {
            if let Some(ru) = get(us, "rollingUpdate") {
                let rp = up.child("rollingUpdate");
                nonnegative(
                    errs,
                    &rp.child("partition"),
                    Some(int(ru, "partition").unwrap_or(0)),
                );
                if let Some(mu) = get(ru, "maxUnavailable") {
                    let mp = rp.child("maxUnavailable");
                    positive_int_or_percent(errs, Some(mu), &mp);
                    if int_or_percent(Some(mu)) == 0 {
                        invalid(errs, &mp, mu.clone(), "cannot be 0");
                    }
                    not_more_than_100(errs, Some(mu), &mp);
                }
            }
        }
        _ => invalid(
            errs,
            &up,
            us.clone(),
            "must be 'RollingUpdate' or 'OnDelete'",
        ),
    }
    if let Some(pol) = get(spec, "persistentVolumeClaimRetentionPolicy") {
        let pp = sp.child("persistentVolumeClaimRetentionPolicy");
        for f in ["whenDeleted", "whenScaled"] {
            let v = s(pol, f);
            if v != "Retain" && v != "Delete" {
                not_supported(errs, &pp.child(f), v, &["Retain", "Delete"]);
            }
        }
    }
    nonnegative(
        errs,
        &sp.child("replicas"),
        Some(int(spec, "replicas").unwrap_or(0)),
    );
    nonnegative(
        errs,
        &sp.child("minReadySeconds"),
        Some(int(spec, "minReadySeconds").unwrap_or(0)),
    );
    if let Some(ord) = get(spec, "ordinals") {
        nonnegative(
            errs,
            &sp.child("ordinals.start"),
            Some(int(ord, "start").unwrap_or(0)),
        );
    }
    let converts = required_selector(spec, &sp, "statefulset", errs);
    let tp = sp.child("template");
    let t = get(spec, "template").unwrap_or(&Value::Null);
    if !converts {
        if let Some(sel) = get(spec, "selector") {
            invalid(errs, &sp.child("selector"), selector_value(sel), "");
        }
    } else {
        if !selector_fits(spec, t) {
            let mp = tp.child("metadata");
            invalid(
                errs,
                &mp.child("labels"),
                template_labels_value(t),
                "`selector` does not match template `labels`",
            );
        }
        let meta = get(t, "metadata").unwrap_or(&Value::Null);
        labels(errs, get(meta, "labels"), &tp.child("labels"));
        annotations(errs, get(meta, "annotations"), &tp.child("annotations"));
    }
    restart_always(t, &tp, "StatefulSet", errs);
}

/// `ValidateStatefulSetUpdate`: only replicas, ordinals, template, updateStrategy,
/// persistentVolumeClaimRetentionPolicy and minReadySeconds may change.
pub fn validate_statefulset_update(new: &Value, old: &Value, errs: &mut Errs) {
    const MUTABLE: &[&str] = &[
        "replicas",
        "ordinals",
        "template",
        "updateStrategy",
        "persistentVolumeClaimRetentionPolicy",
        "minReadySeconds",
    ];
    let ns = spec_of(new);
    let os = spec_of(old);
    let differs = |a: &Value, b: &Value| {
        let keys = a
            .as_object()
            .into_iter()
            .flat_map(|m| m.keys())
            .chain(b.as_object().into_iter().flat_map(|m| m.keys()));
        for k in keys {
            if MUTABLE.contains(&k.as_str()) {
                continue;
            }
            if get(a, k) != get(b, k) {
                return true;
            }
        }
        false
    };
    if differs(ns, os) {
        forbidden(
            errs,
            &Path::new("spec"),
            "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
        );
    }
}

/// Job spec checks on `spec` at `sp`: counts, and a template whose restartPolicy is
/// OnFailure or Never.
fn job_spec(spec: &Value, sp: &Path<'_>, errs: &mut Errs) {
    for f in [
        "parallelism",
        "completions",
        "backoffLimit",
        "ttlSecondsAfterFinished",
    ] {
        nonnegative(errs, &sp.child(f), int(spec, f));
    }
    if let Some(sel) = get(spec, "selector") {
        label_selector(errs, sel, &sp.child("selector"));
    }
    let tp = sp.child("template");
    let t = get(spec, "template").unwrap_or(&Value::Null);
    validate_pod_template_spec(t, &tp, errs);
    let tspec = get(t, "spec").unwrap_or(&Value::Null);
    let rp = s(tspec, "restartPolicy");
    if rp != "OnFailure" && rp != "Never" {
        let tsp = tp.child("spec");
        not_supported(
            errs,
            &tsp.child("restartPolicy"),
            rp,
            &["OnFailure", "Never"],
        );
    }
}

/// `ValidateJob` minus metadata. (The generated selector is not produced by Kiln's
/// defaulting, so an absent selector is accepted.)
pub fn validate_job(o: &Value, errs: &mut Errs) {
    job_spec(spec_of(o), &Path::new("spec"), errs);
}

/// Job update: the selector never changes.
pub fn validate_job_update(new: &Value, old: &Value, errs: &mut Errs) {
    super::immutable(new, old, &["spec", "selector"], errs);
}

/// `ValidateCronJob` minus metadata (schedule syntax is not parsed).
pub fn validate_cronjob(o: &Value, errs: &mut Errs) {
    let spec = spec_of(o);
    let sp = Path::new("spec");
    if s(spec, "schedule").is_empty() {
        required(errs, &sp.child("schedule"), "");
    }
    nonnegative(
        errs,
        &sp.child("startingDeadlineSeconds"),
        int(spec, "startingDeadlineSeconds"),
    );
    match s(spec, "concurrencyPolicy") {
        "Allow" | "Forbid" | "Replace" => {}
        "" => required(errs, &sp.child("concurrencyPolicy"), ""),
        other => not_supported(
            errs,
            &sp.child("concurrencyPolicy"),
            other,
            &["Allow", "Forbid", "Replace"],
        ),
    }
    for f in ["successfulJobsHistoryLimit", "failedJobsHistoryLimit"] {
        nonnegative(errs, &sp.child(f), int(spec, f));
    }
    let jp = sp.child("jobTemplate");
    let jt = get(spec, "jobTemplate").unwrap_or(&Value::Null);
    let meta = get(jt, "metadata").unwrap_or(&Value::Null);
    let mp = jp.child("metadata");
    labels(errs, get(meta, "labels"), &mp.child("labels"));
    annotations(errs, get(meta, "annotations"), &mp.child("annotations"));
    job_spec(
        get(jt, "spec").unwrap_or(&Value::Null),
        &jp.child("spec"),
        errs,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The strategy's defaults (the template's only when the object decodes: some cases
    /// test wrong types).
    fn defaulted(kind: &str, spec: Value) -> Value {
        let mut obj = json!({ "spec": spec });
        let r = crate::kinds::v1_resource(kind);
        let _ = crate::kinds::workloads::WorkloadStrategy::apply(r, &mut obj);
        obj
    }

    fn msgs(errs: &Errs) -> Vec<String> {
        errs.iter().map(|e| e.to_string()).collect()
    }

    fn template(labels: Value) -> Value {
        json!({"metadata": {"labels": labels}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}})
    }

    #[test]
    fn kubectl_create_deployment_is_valid() {
        let d = defaulted(
            "Deployment",
            json!({"selector": {"matchLabels": {"app": "x"}}, "template": template(json!({"app": "x"}))}),
        );
        let mut errs = Vec::new();
        validate_deployment(&d, &mut errs);
        assert!(errs.is_empty(), "{errs:?}");
    }

    #[test]
    fn template_affinity_and_spread_are_checked() {
        let mut t = template(json!({"app": "x"}));
        t["spec"]["affinity"] = json!({"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
            {"labelSelector": {"matchLabels": {"app": "x"}}, "topologyKey": ""}]}});
        t["spec"]["topologySpreadConstraints"] =
            json!([{"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "Never"}]);
        let d = defaulted(
            "Deployment",
            json!({"selector": {"matchLabels": {"app": "x"}}, "template": t}),
        );
        let mut errs = Vec::new();
        validate_deployment(&d, &mut errs);
        let got = msgs(&errs);
        assert_eq!(
            got.first().map(String::as_str),
            Some(
                "spec.template.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey: Required value: can not be empty"
            )
        );
        assert_eq!(
            got.last().map(String::as_str),
            Some(
                "spec.template.spec.topologySpreadConstraints[0].whenUnsatisfiable: Unsupported value: \"Never\": supported values: \"DoNotSchedule\", \"ScheduleAnyway\""
            )
        );
        assert_eq!(got.len(), 4, "{got:?}");
    }

    #[test]
    fn deployment_selector_mismatch() {
        let d = defaulted(
            "Deployment",
            json!({"selector": {"matchLabels": {"app": "y"}}, "template": template(json!({"app": "x"}))}),
        );
        let mut errs = Vec::new();
        validate_deployment(&d, &mut errs);
        assert_eq!(
            msgs(&errs),
            vec![
                "spec.template.metadata.labels: Invalid value: {\"app\":\"x\"}: `selector` does not match template `labels`"
            ]
        );
        let d = defaulted(
            "Deployment",
            json!({"template": template(json!({"app": "x"}))}),
        );
        let mut errs = Vec::new();
        validate_deployment(&d, &mut errs);
        assert_eq!(
            msgs(&errs),
            vec![
                "spec.selector: Required value",
                "spec.template.metadata.labels: Invalid value: {\"app\":\"x\"}: `selector` does not match template `labels`"
            ]
        );
    }

    #[test]
    fn deployment_strategy_errors() {
        let d = defaulted(
            "Deployment",
            json!({"selector": {"matchLabels": {"app": "x"}}, "replicas": -1,
                "strategy": {"rollingUpdate": {"maxUnavailable": 0, "maxSurge": "0%"}},
                "template": template(json!({"app": "x"}))}),
        );
        let mut errs = Vec::new();
        validate_deployment(&d, &mut errs);
        assert_eq!(
            msgs(&errs),
            vec![
                "spec.replicas: Invalid value: -1: must be greater than or equal to 0",
                "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when `maxSurge` is 0",
            ]
        );
    }

    #[test]
    fn deployment_selector_is_immutable() {
        let r = crate::kinds::validate::resource("apps", "deployments");
        let old = defaulted(
            "Deployment",
            json!({"selector": {"matchLabels": {"app": "x"}}, "template": template(json!({"app": "x", "b": "c"}))}),
        );
        let new = defaulted(
            "Deployment",
            json!({"selector": {"matchLabels": {"app": "x", "b": "c"}}, "template": template(json!({"app": "x", "b": "c"}))}),
        );
        if let Some(r) = r {
            assert_eq!(
                msgs(&crate::kinds::validate::validate_update(r, &new, &old)),
                vec![
                    "spec.selector: Invalid value: {\"matchLabels\":{\"app\":\"x\",\"b\":\"c\"}}: field is immutable"
                ]
            );
        }
    }

    #[test]
    fn job_restart_policy() {
        let j = defaulted("Job", json!({"template": template(json!({}))}));
        let mut errs = Vec::new();
        validate_job(&j, &mut errs);
        assert_eq!(
            msgs(&errs),
            vec![
                "spec.template.spec.restartPolicy: Unsupported value: \"Always\": supported values: \"OnFailure\", \"Never\""
            ]
        );
    }

    #[test]
    fn rc_and_statefulset() {
        let rc = defaulted(
            "ReplicationController",
            json!({"template": template(json!({"a": "b"}))}),
        );
        let mut errs = Vec::new();
        validate_rc(&rc, &mut errs);
        assert!(errs.is_empty(), "{errs:?}");
        let sts = defaulted(
            "StatefulSet",
            json!({"selector": {}, "template": template(json!({"a": "b"}))}),
        );
        let mut errs = Vec::new();
        validate_statefulset(&sts, &mut errs);
        assert_eq!(
            msgs(&errs),
            vec!["spec.selector: Invalid value: {}: empty selector is invalid for statefulset"]
        );
    }
}
