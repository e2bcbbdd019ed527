//! PriorityClasses: kube's `ValidatePriorityClass` and `ValidatePriorityClassUpdate`
//! (`pkg/apis/scheduling/validation`).

use serde_json::Value;

use super::{Errs, Path, flag, forbidden, immutable, int, lookup, not_supported, required, s};

/// `scheduling.HighestUserDefinablePriority`.
pub const HIGHEST_USER_DEFINABLE_PRIORITY: i64 = 1_000_000_000;
/// `scheduling.SystemCriticalPriority`.
const SYSTEM_CRITICAL_PRIORITY: i64 = 2 * HIGHEST_USER_DEFINABLE_PRIORITY;
/// The built-in system classes: name and value (neither is a global default).
const SYSTEM_CLASSES: [(&str, i64); 2] = [
    ("system-node-critical", SYSTEM_CRITICAL_PRIORITY + 1000),
    ("system-cluster-critical", SYSTEM_CRITICAL_PRIORITY),
];

fn name(pc: &Value) -> &str {
    lookup(pc, "metadata").map_or("", |m| s(m, "name"))
}

/// Why a `system-` class is not one of the built-in ones (`IsKnownSystemPriorityClass`).
fn unknown_system_class(name: &str, value: i64, global_default: bool) -> Option<String> {
    match SYSTEM_CLASSES.iter().find(|(n, _)| *n == name) {
        None => Some(format!("{name} is not a known system priority class")),
        Some((n, v)) if *v != value => Some(format!("value of {n} PriorityClass must be {v}")),
        Some((n, _)) if global_default => {
            Some(format!("globalDefault of {n} PriorityClass must be false"))
        }
        Some(_) => None,
    }
}

/// `ValidatePriorityClass` minus metadata.
pub fn validate_priority_class(pc: &Value, errs: &mut Errs) {
    let name = name(pc);
    let value = int(pc, "value").unwrap_or(0);
    if name.starts_with("system-") {
        if let Some(why) = unknown_system_class(name, value, flag(pc, "globalDefault")) {
            let mp = Path::new("metadata");
            forbidden(
                errs,
                &mp.child("name"),
                &format!(
                    "priority class names with 'system-' prefix are reserved for system use only. error: {why}"
                ),
            );
        }
    } else if value > HIGHEST_USER_DEFINABLE_PRIORITY {
        forbidden(
            errs,
            &Path::new("value"),
            "maximum allowed value of a user defined priority is 1000000000",
        );
    }
    if let Some(pp) = lookup(pc, "preemptionPolicy").and_then(Value::as_str) {
        let p = Path::new("preemptionPolicy");
        match pp {
            "PreemptLowerPriority" | "Never" => {}
            "" => required(errs, &p, ""),
            other => not_supported(errs, &p, other, &["PreemptLowerPriority", "Never"]),
        }
    }
}

/// The update-only part of `ValidatePriorityClassUpdate`: value and preemption policy are
/// fixed once created.
pub fn validate_priority_class_update(new: &Value, old: &Value, errs: &mut Errs) {
    if int(new, "value").unwrap_or(0) != int(old, "value").unwrap_or(0) {
        forbidden(
            errs,
            &Path::new("value"),
            "may not be changed in an update.",
        );
    }
    immutable(new, old, &["preemptionPolicy"], errs);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn create(v: Value) -> Vec<String> {
        let mut errs = Vec::new();
        validate_priority_class(&v, &mut errs);
        errs.iter().map(|e| e.to_string()).collect()
    }

    #[test]
    fn valid_classes_pass() {
        assert!(
            create(json!({"metadata": {"name": "high"}, "value": 1000000000, "preemptionPolicy": "PreemptLowerPriority"}))
                .is_empty()
        );
        assert!(
            create(json!({"metadata": {"name": "system-node-critical"}, "value": 2000001000}))
                .is_empty()
        );
    }

    #[test]
    fn value_limits_and_reserved_names() {
        assert_eq!(
            create(json!({"metadata": {"name": "high"}, "value": 1000000001})),
            vec![
                "value: Forbidden: maximum allowed value of a user defined priority is 1000000000"
            ]
        );
        assert_eq!(
            create(json!({"metadata": {"name": "system-x"}, "value": 1})),
            vec![
                "metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for system use only. error: system-x is not a known system priority class"
            ]
        );
        assert_eq!(
            create(json!({"metadata": {"name": "system-cluster-critical"}, "value": 1})),
            vec![
                "metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for system use only. error: value of system-cluster-critical PriorityClass must be 2000000000"
            ]
        );
        assert_eq!(
            create(
                json!({"metadata": {"name": "system-cluster-critical"}, "value": 2000000000, "globalDefault": true})
            ),
            vec![
                "metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for system use only. error: globalDefault of system-cluster-critical PriorityClass must be false"
            ]
        );
        assert_eq!(
            create(json!({"metadata": {"name": "p"}, "value": 1, "preemptionPolicy": "Sometimes"})),
            vec![
                "preemptionPolicy: Unsupported value: \"Sometimes\": supported values: \"PreemptLowerPriority\", \"Never\""
            ]
        );
    }

    #[test]
    fn value_and_policy_are_fixed() {
        let old = json!({"value": 1, "preemptionPolicy": "PreemptLowerPriority"});
        let new = json!({"value": 2, "preemptionPolicy": "Never"});
        let mut errs = Vec::new();
        validate_priority_class_update(&new, &old, &mut errs);
        assert_eq!(
            errs.iter().map(|e| e.to_string()).collect::<Vec<_>>(),
            vec![
                "value: Forbidden: may not be changed in an update.",
                "preemptionPolicy: Invalid value: \"Never\": field is immutable",
            ]
        );
    }
}
