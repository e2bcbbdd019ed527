//! Namespaces and Nodes (`ValidateNamespace`, `ValidateNode`, `ValidateNodeUpdate`).

use serde_json::{Value, json};

use super::{Errs, Path, arr, forbidden, get, invalid, label_name, not_supported, required, s};
use crate::validation;

/// `ValidateNamespace` minus metadata: every `spec.finalizers` entry is a qualified name and
/// either fully qualified or a standard finalizer (`kubernetes`).
pub fn validate_namespace(ns: &Value, errs: &mut Errs) {
    let spec = get(ns, "spec").unwrap_or(&Value::Null);
    let sp = Path::new("spec");
    let fp = sp.child("finalizers");
    for f in arr(spec, "finalizers") {
        let f = f.as_str().unwrap_or("");
        label_name(errs, f, &fp);
        if !f.contains('/') && f != "kubernetes" {
            invalid(
                errs,
                &fp,
                f,
                "name is neither a standard finalizer name nor is it fully qualified",
            );
        }
    }
}

/// `ValidateNode` minus metadata: taints (reported under `metadata.taints`, as kube does)
/// and pod CIDRs.
pub fn validate_node(node: &Value, errs: &mut Errs) {
    let spec = get(node, "spec").unwrap_or(&Value::Null);
    let taints = arr(spec, "taints");
    let mp = Path::new("metadata");
    let tp = mp.child("taints");
    for (i, t) in taints.iter().enumerate() {
        let ip = tp.index(i);
        let key = s(t, "key");
        label_name(errs, key, &ip.child("key"));
        let value = s(t, "value");
        let msgs = validation::is_label_value(value);
        if !msgs.is_empty() {
            invalid(errs, &ip.child("value"), value, &msgs.join(";"));
        }
        let effect = s(t, "effect");
        let ep = ip.child("effect");
        if effect.is_empty() {
            required(errs, &ep, "");
        } else if !matches!(effect, "NoSchedule" | "PreferNoSchedule" | "NoExecute") {
            not_supported(
                errs,
                &ep,
                effect,
                &["NoSchedule", "PreferNoSchedule", "NoExecute"],
            );
        }
        if taints[..i]
            .iter()
            .any(|o| s(o, "key") == key && s(o, "effect") == effect)
        {
            let mut e = validation::FieldError::duplicate(
                ip.render(),
                json!({"Key": key, "Value": value, "Effect": effect, "TimeAdded": null}),
            );
            e.detail = "taints must be unique by key and effect pair".into();
            errs.push(e);
        }
    }
}

/// The update-only part of `ValidateNodeUpdate`: pod CIDRs and provider ID are set once.
pub fn validate_node_update(new: &Value, old: &Value, errs: &mut Errs) {
    let ns = get(new, "spec").unwrap_or(&Value::Null);
    let os = get(old, "spec").unwrap_or(&Value::Null);
    let sp = Path::new("spec");
    let old_cidrs = arr(os, "podCIDRs");
    let new_cidrs = arr(ns, "podCIDRs");
    let msg = "node updates may not change podCIDR except from \"\" to valid";
    if !old_cidrs.is_empty() {
        if old_cidrs.len() != new_cidrs.len() {
            forbidden(errs, &sp.child("podCIDRs"), msg);
        } else {
            for (o, n) in old_cidrs.iter().zip(new_cidrs) {
                if o != n {
                    forbidden(errs, &sp.child("podCIDRs"), msg);
                }
            }
        }
    }
    let old_pid = s(os, "providerID");
    if !old_pid.is_empty() && old_pid != s(ns, "providerID") {
        forbidden(
            errs,
            &sp.child("providerID"),
            "node updates may not change providerID except from \"\" to valid",
        );
    }
    if s(ns, "externalID") != s(os, "externalID") {
        forbidden(errs, &sp.child("externalID"), "may not be updated");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_finalizers() {
        let mut errs = Vec::new();
        validate_namespace(
            &json!({"spec": {"finalizers": ["kubernetes", "foo", "example.com/x"]}}),
            &mut errs,
        );
        assert_eq!(
            errs.iter().map(|e| e.to_string()).collect::<Vec<_>>(),
            vec![
                "spec.finalizers: Invalid value: \"foo\": name is neither a standard finalizer name nor is it fully qualified"
            ]
        );
    }

    #[test]
    fn node_taints() {
        let mut errs = Vec::new();
        validate_node(
            &json!({"spec": {"taints": [{"key": "a", "effect": "NoSchedule"}, {"key": "a", "effect": "NoSchedule"}, {"key": "b"}]}}),
            &mut errs,
        );
        assert_eq!(
            errs.iter().map(|e| e.to_string()).collect::<Vec<_>>(),
            vec![
                "metadata.taints[1]: Duplicate value: {\"Key\":\"a\",\"Value\":\"\",\"Effect\":\"NoSchedule\",\"TimeAdded\":null}: taints must be unique by key and effect pair",
                "metadata.taints[2].effect: Required value",
            ]
        );
    }
}
