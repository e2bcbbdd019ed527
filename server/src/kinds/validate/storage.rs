//! StorageClasses: kube's `ValidateStorageClass` and `ValidateStorageClassUpdate`
//! (`pkg/apis/storage/validation`).

use serde_json::Value;

use super::{
    Errs, Path, arr, forbidden, get, immutable, invalid, invalid_msgs, not_supported, obj,
    required, s,
};
use crate::validation::{self, FieldError};

/// At most this many parameters…
const MAX_PARAMETERS: usize = 512;
/// …with keys and values adding up to at most 256 KiB.
const MAX_PARAMETERS_SIZE: usize = 256 * 1024;

/// `ValidateStorageClass` minus metadata.
pub fn validate_storage_class(sc: &Value, errs: &mut Errs) {
    let provisioner = s(sc, "provisioner");
    let pp = Path::new("provisioner");
    if provisioner.is_empty() {
        required(errs, &pp, "");
    } else {
        let lower = provisioner.to_lowercase();
        let msgs = validation::is_label_key(&lower);
        if !msgs.is_empty() {
            invalid_msgs(errs, &pp, &lower, msgs);
        }
    }
    if let Some(params) = obj(sc, "parameters") {
        if params.len() > MAX_PARAMETERS {
            errs.push(FieldError::too_long("parameters", Some(MAX_PARAMETERS)));
        } else {
            let mut total = 0usize;
            for (k, v) in params {
                if k.is_empty() {
                    invalid(
                        errs,
                        &Path::new("parameters"),
                        "",
                        "field can not be empty.",
                    );
                }
                total = total
                    .saturating_add(k.len())
                    .saturating_add(v.as_str().map_or(0, str::len));
            }
            if total > MAX_PARAMETERS_SIZE {
                errs.push(FieldError::too_long(
                    "parameters",
                    Some(MAX_PARAMETERS_SIZE),
                ));
            }
        }
    }
    let rp = s(sc, "reclaimPolicy");
    if !rp.is_empty() && rp != "Delete" && rp != "Retain" {
        not_supported(errs, &Path::new("reclaimPolicy"), rp, &["Delete", "Retain"]);
    }
    let bp = Path::new("volumeBindingMode");
    match get(sc, "volumeBindingMode").and_then(Value::as_str) {
        None => required(errs, &bp, ""),
        Some("Immediate" | "WaitForFirstConsumer") => {}
        Some(other) => not_supported(errs, &bp, other, &["Immediate", "WaitForFirstConsumer"]),
    }
    super::affinity::allowed_topologies(
        errs,
        arr(sc, "allowedTopologies"),
        &Path::new("allowedTopologies"),
    );
}

/// The update-only part of `ValidateStorageClassUpdate`.
pub fn validate_storage_class_update(new: &Value, old: &Value, errs: &mut Errs) {
    let params = |v| obj(v, "parameters").filter(|m| !m.is_empty());
    if params(new) != params(old) {
        forbidden(
            errs,
            &Path::new("parameters"),
            "updates to parameters are forbidden.",
        );
    }
    if s(new, "provisioner") != s(old, "provisioner") {
        forbidden(
            errs,
            &Path::new("provisioner"),
            "updates to provisioner are forbidden.",
        );
    }
    if s(new, "reclaimPolicy") != s(old, "reclaimPolicy") {
        forbidden(
            errs,
            &Path::new("reclaimPolicy"),
            "updates to reclaimPolicy are forbidden.",
        );
    }
    immutable(new, old, &["volumeBindingMode"], errs);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn create(v: Value) -> Vec<String> {
        let mut errs = Vec::new();
        validate_storage_class(&v, &mut errs);
        errs.iter().map(|e| e.to_string()).collect()
    }

    fn sc(extra: Value) -> Value {
        let mut v = json!({"provisioner": "kubernetes.io/no-provisioner",
            "reclaimPolicy": "Delete", "volumeBindingMode": "Immediate"});
        if let (Value::Object(m), Value::Object(x)) = (&mut v, extra) {
            m.extend(x);
        }
        v
    }

    #[test]
    fn valid_class_passes() {
        assert!(create(sc(json!({"parameters": {"type": "ssd"}}))).is_empty());
    }

    #[test]
    fn class_rules() {
        assert_eq!(
            create(sc(json!({"provisioner": ""}))),
            vec!["provisioner: Required value"]
        );
        assert_eq!(
            create(sc(json!({"provisioner": "a/b/c"}))),
            vec![
                "provisioner: Invalid value: \"a/b/c\": a valid label key must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
            ]
        );
        assert_eq!(
            create(sc(
                json!({"reclaimPolicy": "Recycle", "volumeBindingMode": "Later"})
            )),
            vec![
                "reclaimPolicy: Unsupported value: \"Recycle\": supported values: \"Delete\", \"Retain\"",
                "volumeBindingMode: Unsupported value: \"Later\": supported values: \"Immediate\", \"WaitForFirstConsumer\"",
            ]
        );
        assert_eq!(
            create(sc(json!({"parameters": {"": "x"}}))),
            vec!["parameters: Invalid value: \"\": field can not be empty."]
        );
        let many: serde_json::Map<String, Value> =
            (0..513).map(|i| (format!("k{i}"), json!("v"))).collect();
        assert_eq!(
            create(sc(json!({"parameters": many}))),
            vec!["parameters: Too long: may not be more than 512 bytes"]
        );
        assert_eq!(
            create(sc(
                json!({"parameters": {"k": "x".repeat(MAX_PARAMETERS_SIZE)}})
            )),
            vec!["parameters: Too long: may not be more than 262144 bytes"]
        );
    }

    #[test]
    fn allowed_topologies() {
        let zones = json!([{"matchLabelExpressions": [
            {"key": "topology.kubernetes.io/zone", "values": ["a", "b"]}]}]);
        assert!(create(sc(json!({"allowedTopologies": zones}))).is_empty());
        assert_eq!(
            create(sc(
                json!({"volumeBindingMode": "Soon", "allowedTopologies": [
                {"matchLabelExpressions": [{"key": "zone", "values": []}]},
                {"matchLabelExpressions": [{"key": "zone", "values": []}]}]})
            )),
            vec![
                "volumeBindingMode: Unsupported value: \"Soon\": supported values: \"Immediate\", \"WaitForFirstConsumer\"",
                "allowedTopologies[0].matchLabelExpressions[0].values: Required value",
                "allowedTopologies[1].matchLabelExpressions[0].values: Required value",
                "allowedTopologies[1].matchLabelExpressions: Duplicate value: \"\"",
            ]
        );
    }

    #[test]
    fn updates_are_forbidden() {
        let old = sc(json!({"parameters": {"type": "ssd"}}));
        let new = sc(
            json!({"parameters": {"type": "hdd"}, "provisioner": "x.io/y",
            "reclaimPolicy": "Retain", "volumeBindingMode": "WaitForFirstConsumer"}),
        );
        let mut errs = Vec::new();
        validate_storage_class_update(&new, &old, &mut errs);
        assert_eq!(
            errs.iter().map(|e| e.to_string()).collect::<Vec<_>>(),
            vec![
                "parameters: Forbidden: updates to parameters are forbidden.",
                "provisioner: Forbidden: updates to provisioner are forbidden.",
                "reclaimPolicy: Forbidden: updates to reclaimPolicy are forbidden.",
                "volumeBindingMode: Invalid value: \"WaitForFirstConsumer\": field is immutable",
            ]
        );
        let mut errs = Vec::new();
        validate_storage_class_update(&old, &old.clone(), &mut errs);
        assert!(errs.is_empty());
    }
}
