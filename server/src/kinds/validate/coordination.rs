//! Leases: kube's `ValidateLease` / `ValidateLeaseUpdate` (`pkg/apis/coordination/validation`).

use serde_json::Value;

use super::{Errs, Path, forbidden, get, int, invalid, invalid_msgs, not_supported, s};
use crate::validation;

/// `ValidateLeaseSpec` (create and update alike).
pub fn validate_lease(lease: &Value, errs: &mut Errs) {
    let Some(spec) = get(lease, "spec") else {
        return;
    };
    let sp = Path::new("spec");
    if let Some(d) = int(spec, "leaseDurationSeconds")
        && d <= 0
    {
        invalid(
            errs,
            &sp.child("leaseDurationSeconds"),
            d,
            "must be greater than 0",
        );
    }
    if let Some(t) = int(spec, "leaseTransitions")
        && t < 0
    {
        invalid(
            errs,
            &sp.child("leaseTransitions"),
            t,
            "must be greater than or equal to 0",
        );
    }
    let strategy = get(spec, "strategy").and_then(Value::as_str);
    if let Some(st) = strategy {
        // kube appends `strategy` to the already-`strategy` path.
        let outer = sp.child("strategy");
        let p = outer.child("strategy");
        if st.contains('/') {
            invalid_msgs(errs, &p, st, validation::is_label_key(st));
        } else if st != "OldestEmulationVersion" {
            not_supported(errs, &p, st, &["OldestEmulationVersion"]);
        }
    }
    if !s(spec, "preferredHolder").is_empty() && strategy.is_none_or(str::is_empty) {
        forbidden(
            errs,
            &sp.child("preferredHolder"),
            "may only be specified if `strategy` is defined",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn msgs(v: Value) -> Vec<String> {
        let mut errs = Vec::new();
        validate_lease(&v, &mut errs);
        errs.iter().map(|e| e.to_string()).collect()
    }

    #[test]
    fn lease_rules() {
        assert!(
            msgs(json!({"spec": {"holderIdentity": "a", "leaseDurationSeconds": 15, "leaseTransitions": 0}}))
                .is_empty()
        );
        assert_eq!(
            msgs(json!({"spec": {"leaseDurationSeconds": 0, "leaseTransitions": -1}})),
            vec![
                "spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0",
                "spec.leaseTransitions: Invalid value: -1: must be greater than or equal to 0",
            ]
        );
        assert_eq!(
            msgs(json!({"spec": {"strategy": "Newest", "preferredHolder": "x"}})),
            vec![
                "spec.strategy.strategy: Unsupported value: \"Newest\": supported values: \"OldestEmulationVersion\""
            ]
        );
        assert_eq!(
            msgs(json!({"spec": {"preferredHolder": "x"}})),
            vec!["spec.preferredHolder: Forbidden: may only be specified if `strategy` is defined"]
        );
    }
}
