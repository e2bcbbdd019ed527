//! Scheduling constraints shared by pods, pod templates, PersistentVolumes and
//! StorageClasses: kube's node selectors (`ValidateNodeSelector` and the term and
//! requirement checks under it), `validateAffinity`, `validateTopologySpreadConstraints`
//! and topology selector terms (`ValidateTopologySelectorTerm`, the StorageClass's
//! `validateAllowedTopologies`), all in `pkg/apis/core/validation` and
//! `pkg/apis/storage/validation`.
//!
//! The rules are those of a new object in kube 1.35/1.36 (feature gates at their
//! defaults): label values in required node affinity and pod affinity selectors must be
//! valid, topology spread `matchLabelKeys` are checked as pod affinity's are (the
//! `MatchLabelKeysInPodTopologySpreadSelectorMerge` rule), and topology spread label
//! selectors are validated.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::{
    Errs, Path, arr, duplicate, forbidden, get, int, invalid, invalid_msgs, label_name,
    label_selector, not_supported, obj, required, s, strings,
};
use crate::validation;

const WEIGHT_RANGE: &str = "must be in the range 1-100";
const BOTH_SELECTOR: &str = "exists in both matchLabelKeys and labelSelector";
const NO_SELECTOR: &str = "must not be specified when labelSelector is not set";

// ---------------------------------------------------------------------------------------
// Node selectors
// ---------------------------------------------------------------------------------------

/// `ValidateNodeSelector`: at least one term, each term checked. `allow_invalid_values`
/// is kube's `AllowInvalidLabelValueInRequiredNodeAffinity` (false for new objects).
pub(crate) fn node_selector(
    errs: &mut Errs,
    sel: &Value,
    allow_invalid_values: bool,
    p: &Path<'_>,
) {
    let tp = p.child("nodeSelectorTerms");
    let terms = arr(sel, "nodeSelectorTerms");
    if terms.is_empty() {
        required(errs, &tp, "must have at least one node selector term");
        return;
    }
    for (i, term) in terms.iter().enumerate() {
        node_selector_term(errs, term, allow_invalid_values, &tp.index(i));
    }
}

/// `ValidateNodeSelectorTerm`: label requirements, then field requirements.
pub(crate) fn node_selector_term(
    errs: &mut Errs,
    term: &Value,
    allow_invalid_values: bool,
    p: &Path<'_>,
) {
    let ep = p.child("matchExpressions");
    for (j, req) in arr(term, "matchExpressions").iter().enumerate() {
        node_selector_requirement(errs, req, allow_invalid_values, &ep.index(j));
    }
    let fp = p.child("matchFields");
    for (j, req) in arr(term, "matchFields").iter().enumerate() {
        node_field_selector_requirement(errs, req, &fp.index(j));
    }
}

/// `ValidateNodeSelectorRequirement`.
fn node_selector_requirement(
    errs: &mut Errs,
    req: &Value,
    allow_invalid_values: bool,
    p: &Path<'_>,
) {
    let values = arr(req, "values");
    let op = s(req, "operator");
    match op {
        "In" | "NotIn" => {
            if values.is_empty() {
                required(
                    errs,
                    &p.child("values"),
                    "must be specified when `operator` is 'In' or 'NotIn'",
                );
            }
        }
        "Exists" | "DoesNotExist" => {
            if !values.is_empty() {
                forbidden(
                    errs,
                    &p.child("values"),
                    "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                );
            }
        }
        "Gt" | "Lt" => {
            if values.len() != 1 {
                required(
                    errs,
                    &p.child("values"),
                    "must be specified single value when `operator` is 'Lt' or 'Gt'",
                );
            }
        }
        other => invalid(
            errs,
            &p.child("operator"),
            other,
            "not a valid selector operator",
        ),
    }
    label_name(errs, s(req, "key"), &p.child("key"));
    if !allow_invalid_values {
        let vp = p.child("values");
        for (i, v) in values.iter().enumerate() {
            let v = v.as_str().unwrap_or("");
            let msgs = validation::is_label_value(v);
            if !msgs.is_empty() {
                invalid_msgs(errs, &vp.index(i), v, msgs);
            }
        }
    }
}

/// `ValidateNodeFieldSelectorRequirement`: only `metadata.name`, with `In`/`NotIn` and
/// exactly one node name.
fn node_field_selector_requirement(errs: &mut Errs, req: &Value, p: &Path<'_>) {
    let values = arr(req, "values");
    let op = s(req, "operator");
    match op {
        "In" | "NotIn" => {
            if values.len() != 1 {
                required(
                    errs,
                    &p.child("values"),
                    "must be only one value when `operator` is 'In' or 'NotIn' for node field selector",
                );
            }
        }
        other => invalid(
            errs,
            &p.child("operator"),
            other,
            "not a valid selector operator",
        ),
    }
    let key = s(req, "key");
    if key != "metadata.name" {
        invalid(errs, &p.child("key"), key, "not a valid field selector key");
        return;
    }
    let vp = p.child("values");
    for (i, v) in values.iter().enumerate() {
        let v = v.as_str().unwrap_or("");
        let msgs = validation::is_dns1123_subdomain(v);
        if !msgs.is_empty() {
            invalid_msgs(errs, &vp.index(i), v, msgs);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Affinity
// ---------------------------------------------------------------------------------------

/// `validateAffinity` on a pod spec's `affinity` (node, pod and pod anti-affinity).
pub(crate) fn affinity(errs: &mut Errs, aff: &Value, p: &Path<'_>) {
    if let Some(na) = get(aff, "nodeAffinity") {
        let np = p.child("nodeAffinity");
        if let Some(req) = get(na, "requiredDuringSchedulingIgnoredDuringExecution") {
            node_selector(
                errs,
                req,
                false,
                &np.child("requiredDuringSchedulingIgnoredDuringExecution"),
            );
        }
        let pp = np.child("preferredDuringSchedulingIgnoredDuringExecution");
        for (i, term) in arr(na, "preferredDuringSchedulingIgnoredDuringExecution")
            .iter()
            .enumerate()
        {
            let ip = pp.index(i);
            weight(errs, term, &ip);
            // Preferred terms always allow invalid label values.
            node_selector_term(
                errs,
                get(term, "preference").unwrap_or(&Value::Null),
                true,
                &ip.child("preference"),
            );
        }
    }
    for kind in ["podAffinity", "podAntiAffinity"] {
        let Some(pa) = get(aff, kind) else { continue };
        let kp = p.child(kind);
        let rp = kp.child("requiredDuringSchedulingIgnoredDuringExecution");
        for (i, term) in arr(pa, "requiredDuringSchedulingIgnoredDuringExecution")
            .iter()
            .enumerate()
        {
            pod_affinity_term(errs, term, &rp.index(i));
        }
        let pp = kp.child("preferredDuringSchedulingIgnoredDuringExecution");
        for (i, term) in arr(pa, "preferredDuringSchedulingIgnoredDuringExecution")
            .iter()
            .enumerate()
        {
            let ip = pp.index(i);
            weight(errs, term, &ip);
            pod_affinity_term(
                errs,
                get(term, "podAffinityTerm").unwrap_or(&Value::Null),
                &ip.child("podAffinityTerm"),
            );
        }
    }
}

/// A weighted term's `weight` in 1..=100 (an absent weight is Go's zero).
fn weight(errs: &mut Errs, term: &Value, p: &Path<'_>) {
    let w = int(term, "weight").unwrap_or(0);
    if !(1..=100).contains(&w) {
        invalid(errs, &p.child("weight"), w, WEIGHT_RANGE);
    }
}

/// `validatePodAffinityTerm`: selectors, namespaces (reported under kube's `namespace`),
/// label keys, topology key.
fn pod_affinity_term(errs: &mut Errs, term: &Value, p: &Path<'_>) {
    let sel = get(term, "labelSelector");
    if let Some(sel) = sel {
        label_selector(errs, sel, &p.child("labelSelector"));
    }
    if let Some(ns_sel) = get(term, "namespaceSelector") {
        label_selector(errs, ns_sel, &p.child("namespaceSelector"));
    }
    let np = p.child("namespace");
    for ns in arr(term, "namespaces") {
        let ns = ns.as_str().unwrap_or("");
        invalid_msgs(errs, &np, ns, validation::is_dns1123_label(ns));
    }
    match_label_keys(
        errs,
        p,
        &strings(arr(term, "matchLabelKeys")),
        &strings(arr(term, "mismatchLabelKeys")),
        sel,
    );
    let key = s(term, "topologyKey");
    let kp = p.child("topologyKey");
    if key.is_empty() {
        required(errs, &kp, "can not be empty");
    }
    label_name(errs, key, &kp);
}

/// `ValidateMatchLabelKeysAndMismatchLabelKeys`. A key named in `matchLabelKeys` that the
/// selector already constrains is reported at `p[i]` (kube's path, `i` being the key's
/// last index in `matchLabelKeys`) when a second requirement on it follows — on pods the
/// create strategy has appended one requirement per key by then.
fn match_label_keys(
    errs: &mut Errs,
    p: &Path<'_>,
    match_keys: &[&str],
    mismatch_keys: &[&str],
    sel: Option<&Value>,
) {
    label_keys(errs, &p.child("matchLabelKeys"), match_keys, sel);
    label_keys(errs, &p.child("mismatchLabelKeys"), mismatch_keys, sel);
    if let Some(sel) = sel {
        let last_index = |k: &str| match_keys.iter().rposition(|m| *m == k);
        let mut seen: BTreeSet<&str> = obj(sel, "matchLabels")
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default();
        for e in arr(sel, "matchExpressions") {
            let key = s(e, "key");
            if let Some(i) = last_index(key)
                && seen.contains(key)
            {
                invalid(errs, &p.index(i), key, BOTH_SELECTOR);
            }
            seen.insert(key);
        }
    }
    let mp = p.child("matchLabelKeys");
    for (i, k) in match_keys.iter().enumerate() {
        if mismatch_keys.contains(k) {
            invalid(
                errs,
                &mp.index(i),
                *k,
                "exists in both matchLabelKeys and mismatchLabelKeys",
            );
        }
    }
}

/// `validateLabelKeys`: none without a selector, each a qualified name.
fn label_keys(errs: &mut Errs, p: &Path<'_>, keys: &[&str], sel: Option<&Value>) {
    if keys.is_empty() {
        return;
    }
    if sel.is_none() {
        forbidden(errs, p, NO_SELECTOR);
        return;
    }
    for (i, k) in keys.iter().enumerate() {
        label_name(errs, k, &p.index(i));
    }
}

// ---------------------------------------------------------------------------------------
// Topology spread constraints
// ---------------------------------------------------------------------------------------

/// `validateTopologySpreadConstraints`.
pub(crate) fn topology_spread_constraints(errs: &mut Errs, list: &[Value], p: &Path<'_>) {
    for (i, c) in list.iter().enumerate() {
        let cp = p.index(i);
        let max_skew = int(c, "maxSkew").unwrap_or(0);
        if max_skew <= 0 {
            invalid(
                errs,
                &cp.child("maxSkew"),
                max_skew,
                "must be greater than zero",
            );
        }
        let key = s(c, "topologyKey");
        if key.is_empty() {
            required(errs, &cp.child("topologyKey"), "can not be empty");
        }
        let when = s(c, "whenUnsatisfiable");
        if !matches!(when, "DoNotSchedule" | "ScheduleAnyway") {
            not_supported(
                errs,
                &cp.child("whenUnsatisfiable"),
                when,
                &["DoNotSchedule", "ScheduleAnyway"],
            );
        }
        if list[i + 1..]
            .iter()
            .any(|o| s(o, "topologyKey") == key && s(o, "whenUnsatisfiable") == when)
        {
            duplicate(
                errs,
                &cp.child("{topologyKey, whenUnsatisfiable}"),
                format!("{{{key}, {when}}}"),
            );
        }
        if let Some(min) = int(c, "minDomains") {
            let mp = cp.child("minDomains");
            if min <= 0 {
                invalid(errs, &mp, min, "must be greater than zero");
            }
            if when != "DoNotSchedule" {
                invalid(
                    errs,
                    &mp,
                    min,
                    &format!(
                        "can only use minDomains if whenUnsatisfiable=DoNotSchedule, not {when}"
                    ),
                );
            }
        }
        for policy in ["nodeAffinityPolicy", "nodeTaintsPolicy"] {
            if let Some(v) = get(c, policy).and_then(Value::as_str)
                && !matches!(v, "Honor" | "Ignore")
            {
                not_supported(errs, &cp.child(policy), v, &["Honor", "Ignore"]);
            }
        }
        let sel = get(c, "labelSelector");
        match_label_keys(errs, &cp, &strings(arr(c, "matchLabelKeys")), &[], sel);
        if let Some(sel) = sel {
            label_selector(errs, sel, &cp.child("labelSelector"));
        }
    }
}

// ---------------------------------------------------------------------------------------
// Topology selector terms (StorageClass allowedTopologies)
// ---------------------------------------------------------------------------------------

type TermMap<'a> = BTreeMap<&'a str, BTreeSet<&'a str>>;

/// `ValidateTopologySelectorTerm`: each requirement's values present and unique, its key a
/// qualified name, keys unique; returns the term as key → value set.
fn topology_selector_term<'a>(errs: &mut Errs, term: &'a Value, p: &Path<'_>) -> TermMap<'a> {
    let mut map = TermMap::new();
    let ep = p.child("matchLabelExpressions");
    for (i, req) in arr(term, "matchLabelExpressions").iter().enumerate() {
        let ip = ep.index(i);
        let vp = ip.child("values");
        let values = arr(req, "values");
        if values.is_empty() {
            required(errs, &vp, "");
        }
        let mut set = BTreeSet::new();
        for (j, v) in values.iter().enumerate() {
            let v = v.as_str().unwrap_or("");
            if !set.insert(v) {
                duplicate(errs, &vp.index(j), v);
            }
        }
        let key = s(req, "key");
        label_name(errs, key, &ip.child("key"));
        if map.insert(key, set).is_some() {
            duplicate(errs, &ip.child("key"), key);
        }
    }
    map
}

/// `validateAllowedTopologies` (StorageClass). kube compares each term with the earlier
/// ones and with the `len(terms)` nil maps its list starts with, which compare equal to
/// an empty term, so an empty term is reported once per term plus once per earlier empty
/// term.
pub(crate) fn allowed_topologies(errs: &mut Errs, terms: &[Value], p: &Path<'_>) {
    if terms.is_empty() {
        return;
    }
    let mut raw: Vec<TermMap<'_>> = vec![TermMap::new(); terms.len()];
    for (i, term) in terms.iter().enumerate() {
        let ip = p.index(i);
        let map = topology_selector_term(errs, term, &ip);
        for _ in raw.iter().filter(|t| **t == map) {
            duplicate(errs, &ip.child("matchLabelExpressions"), "");
        }
        raw.push(map);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(f: impl FnOnce(&mut Errs)) -> Vec<String> {
        let mut errs = Vec::new();
        f(&mut errs);
        errs.iter().map(|e| e.to_string()).collect()
    }

    const LABEL_VALUE_MSG: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

    #[test]
    fn node_selectors() {
        let p = Path::new("spec");
        let got = run(|e| node_selector(e, &json!({}), false, &p.child("required")));
        assert_eq!(
            got,
            vec![
                "spec.required.nodeSelectorTerms: Required value: must have at least one node selector term"
            ]
        );
        let sel = json!({"nodeSelectorTerms": [
            {"matchExpressions": [
                {"key": "a", "operator": "In"},
                {"key": "b", "operator": "Exists", "values": ["x"]},
                {"key": "c", "operator": "Gt", "values": ["1", "2"]},
                {"key": "", "operator": "Near", "values": ["bad value"]}]},
            {"matchFields": [
                {"key": "metadata.name", "operator": "In", "values": ["a", "b"]},
                {"key": "metadata.uid", "operator": "Exists"},
                {"key": "metadata.name", "operator": "NotIn", "values": ["Bad_Node"]}]}]});
        let got = run(|e| node_selector(e, &sel, false, &p.child("required")));
        assert_eq!(
            got,
            vec![
                "spec.required.nodeSelectorTerms[0].matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'".to_string(),
                "spec.required.nodeSelectorTerms[0].matchExpressions[1].values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'".to_string(),
                "spec.required.nodeSelectorTerms[0].matchExpressions[2].values: Required value: must be specified single value when `operator` is 'Lt' or 'Gt'".to_string(),
                "spec.required.nodeSelectorTerms[0].matchExpressions[3].operator: Invalid value: \"Near\": not a valid selector operator".to_string(),
                "spec.required.nodeSelectorTerms[0].matchExpressions[3].key: Invalid value: \"\": name part must be non-empty".to_string(),
                "spec.required.nodeSelectorTerms[0].matchExpressions[3].key: Invalid value: \"\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')".to_string(),
                format!("spec.required.nodeSelectorTerms[0].matchExpressions[3].values[0]: Invalid value: \"bad value\": {LABEL_VALUE_MSG}"),
                "spec.required.nodeSelectorTerms[1].matchFields[0].values: Required value: must be only one value when `operator` is 'In' or 'NotIn' for node field selector".to_string(),
                "spec.required.nodeSelectorTerms[1].matchFields[1].operator: Invalid value: \"Exists\": not a valid selector operator".to_string(),
                "spec.required.nodeSelectorTerms[1].matchFields[1].key: Invalid value: \"metadata.uid\": not a valid field selector key".to_string(),
                "spec.required.nodeSelectorTerms[1].matchFields[2].values[0]: Invalid value: \"Bad_Node\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')".to_string(),
            ]
        );
        // Invalid label values are allowed when asked (preferred terms).
        let term =
            json!({"matchExpressions": [{"key": "a", "operator": "In", "values": ["bad value"]}]});
        assert!(run(|e| node_selector_term(e, &term, true, &p)).is_empty());
    }

    #[test]
    fn node_affinity() {
        let aff = json!({"nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": []},
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 0, "preference": {"matchExpressions": [{"key": "a", "operator": "In", "values": ["bad value"]}]}},
                {"weight": 101, "preference": {"matchExpressions": [{"key": "a", "operator": "Lt"}]}}]}});
        let got = run(|e| affinity(e, &aff, &Path::new("spec").child("affinity")));
        assert_eq!(
            got,
            vec![
                "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms: Required value: must have at least one node selector term",
                "spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight: Invalid value: 0: must be in the range 1-100",
                "spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[1].weight: Invalid value: 101: must be in the range 1-100",
                "spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[1].preference.matchExpressions[0].values: Required value: must be specified single value when `operator` is 'Lt' or 'Gt'",
            ]
        );
    }

    #[test]
    fn pod_affinity_terms() {
        let aff = json!({
            "podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                {"labelSelector": {"matchExpressions": [{"key": "app", "operator": "In"}]},
                 "namespaceSelector": {"matchLabels": {"team": "bad value"}},
                 "namespaces": ["ok", "Bad_NS"],
                 "topologyKey": ""}]},
            "podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 200, "podAffinityTerm": {"topologyKey": "bad key!",
                 "matchLabelKeys": ["app"], "mismatchLabelKeys": ["x"]}}]}});
        let got = run(|e| affinity(e, &aff, &Path::new("spec").child("affinity")));
        assert_eq!(
            got,
            vec![
                "spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].labelSelector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'".to_string(),
                format!("spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].namespaceSelector.matchLabels: Invalid value: \"bad value\": {LABEL_VALUE_MSG}"),
                "spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].namespace: Invalid value: \"Bad_NS\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')".to_string(),
                "spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey: Required value: can not be empty".to_string(),
                "spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey: Invalid value: \"\": name part must be non-empty".to_string(),
                "spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey: Invalid value: \"\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')".to_string(),
                "spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight: Invalid value: 200: must be in the range 1-100".to_string(),
                "spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.matchLabelKeys: Forbidden: must not be specified when labelSelector is not set".to_string(),
                "spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.mismatchLabelKeys: Forbidden: must not be specified when labelSelector is not set".to_string(),
                "spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.topologyKey: Invalid value: \"bad key!\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')".to_string(),
            ]
        );
    }

    #[test]
    fn label_keys_rules() {
        // Keys in both lists; a key constrained twice (as after the create merge); a bad key.
        let term = json!({"topologyKey": "zone",
            "labelSelector": {"matchLabels": {"app": "a"},
                "matchExpressions": [{"key": "app", "operator": "In", "values": ["a"]}]},
            "matchLabelKeys": ["app", "x", "app"], "mismatchLabelKeys": ["x", "Bad Key"]});
        let aff =
            json!({"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term]}});
        let got = run(|e| affinity(e, &aff, &Path::new("spec").child("affinity")));
        let base = "spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0]";
        assert_eq!(
            got,
            vec![
                format!(
                    "{base}.mismatchLabelKeys[1]: Invalid value: \"Bad Key\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
                ),
                format!(
                    "{base}[2]: Invalid value: \"app\": exists in both matchLabelKeys and labelSelector"
                ),
                format!(
                    "{base}.matchLabelKeys[1]: Invalid value: \"x\": exists in both matchLabelKeys and mismatchLabelKeys"
                ),
            ]
        );
        // A key only in matchLabels (no merged requirement yet) is accepted.
        let term = json!({"topologyKey": "zone", "labelSelector": {"matchLabels": {"app": "a"}},
            "matchLabelKeys": ["app"]});
        let aff =
            json!({"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term]}});
        assert!(run(|e| affinity(e, &aff, &Path::new("spec").child("affinity"))).is_empty());
    }

    #[test]
    fn spread_constraints() {
        let list = json!([
            {"maxSkew": 0, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule"},
            {"maxSkew": 1, "topologyKey": "", "whenUnsatisfiable": "Sometimes", "minDomains": 0,
             "nodeAffinityPolicy": "Maybe", "nodeTaintsPolicy": "Honor"},
            {"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule",
             "matchLabelKeys": ["pod-template-hash"]},
            {"maxSkew": 2, "topologyKey": "host", "whenUnsatisfiable": "ScheduleAnyway", "minDomains": 3,
             "labelSelector": {"matchLabels": {"app": "bad value"},
                "matchExpressions": [{"key": "app", "operator": "Exists"}, {"key": "app", "operator": "Exists"}]},
             "matchLabelKeys": ["app"]}]);
        let got = run(|e| {
            topology_spread_constraints(
                e,
                list.as_array().map_or(&[], Vec::as_slice),
                &Path::new("spec").child("topologySpreadConstraints"),
            )
        });
        assert_eq!(
            got,
            vec![
                "spec.topologySpreadConstraints[0].maxSkew: Invalid value: 0: must be greater than zero".to_string(),
                "spec.topologySpreadConstraints[0].{topologyKey, whenUnsatisfiable}: Duplicate value: \"{zone, DoNotSchedule}\"".to_string(),
                "spec.topologySpreadConstraints[1].topologyKey: Required value: can not be empty".to_string(),
                "spec.topologySpreadConstraints[1].whenUnsatisfiable: Unsupported value: \"Sometimes\": supported values: \"DoNotSchedule\", \"ScheduleAnyway\"".to_string(),
                "spec.topologySpreadConstraints[1].minDomains: Invalid value: 0: must be greater than zero".to_string(),
                "spec.topologySpreadConstraints[1].minDomains: Invalid value: 0: can only use minDomains if whenUnsatisfiable=DoNotSchedule, not Sometimes".to_string(),
                "spec.topologySpreadConstraints[1].nodeAffinityPolicy: Unsupported value: \"Maybe\": supported values: \"Honor\", \"Ignore\"".to_string(),
                "spec.topologySpreadConstraints[2].matchLabelKeys: Forbidden: must not be specified when labelSelector is not set".to_string(),
                "spec.topologySpreadConstraints[3].minDomains: Invalid value: 3: can only use minDomains if whenUnsatisfiable=DoNotSchedule, not ScheduleAnyway".to_string(),
                "spec.topologySpreadConstraints[3][0]: Invalid value: \"app\": exists in both matchLabelKeys and labelSelector".to_string(),
                "spec.topologySpreadConstraints[3][0]: Invalid value: \"app\": exists in both matchLabelKeys and labelSelector".to_string(),
                format!("spec.topologySpreadConstraints[3].labelSelector.matchLabels: Invalid value: \"bad value\": {LABEL_VALUE_MSG}"),
            ]
        );
    }

    #[test]
    fn allowed_topology_terms() {
        let terms = json!([
            {"matchLabelExpressions": [
                {"key": "zone", "values": ["a", "a"]},
                {"key": "zone", "values": []},
                {"key": "bad key", "values": ["x"]}]},
            {"matchLabelExpressions": [{"key": "zone", "values": ["b"]}]},
            {"matchLabelExpressions": [{"key": "zone", "values": ["b"]}]},
            {}]);
        let got = run(|e| {
            allowed_topologies(
                e,
                terms.as_array().map_or(&[], Vec::as_slice),
                &Path::new("allowedTopologies"),
            )
        });
        assert_eq!(
            got,
            vec![
                "allowedTopologies[0].matchLabelExpressions[0].values[1]: Duplicate value: \"a\"",
                "allowedTopologies[0].matchLabelExpressions[1].values: Required value",
                "allowedTopologies[0].matchLabelExpressions[1].key: Duplicate value: \"zone\"",
                "allowedTopologies[0].matchLabelExpressions[2].key: Invalid value: \"bad key\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
                "allowedTopologies[2].matchLabelExpressions: Duplicate value: \"\"",
                "allowedTopologies[3].matchLabelExpressions: Duplicate value: \"\"",
                "allowedTopologies[3].matchLabelExpressions: Duplicate value: \"\"",
                "allowedTopologies[3].matchLabelExpressions: Duplicate value: \"\"",
                "allowedTopologies[3].matchLabelExpressions: Duplicate value: \"\"",
            ]
        );
    }
}
