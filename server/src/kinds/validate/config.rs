//! Secrets and ConfigMaps: kube's `ValidateSecret`, `ValidateSecretUpdate`,
//! `ValidateConfigMap` and `ValidateConfigMapUpdate` (key syntax, 1 MiB size limit, typed
//! secret keys, immutability).

use serde_json::Value;

use super::pod::config_key_errors;
use super::{Errs, Path, forbidden, get, invalid, invalid_msgs, obj, required, s};
use crate::validation::FieldError;

/// `core.MaxSecretSize`.
pub const MAX_SECRET_SIZE: usize = 1024 * 1024;

/// The decoded length of a base64 value without decoding it.
fn base64_len(v: &Value) -> usize {
    let s = v.as_str().unwrap_or("");
    let pad = s.bytes().rev().take_while(|b| *b == b'=').count();
    (s.len() / 4) * 3
        + match s.len() % 4 {
            2 => 1,
            3 => 2,
            _ => 0,
        }
        - pad.min(2).min((s.len() / 4) * 3)
}

/// `ValidateSecret` minus metadata. `stringData` keys count as `data` keys (kube merges them
/// before validating).
pub fn validate_secret(secret: &Value, errs: &mut Errs) {
    let data_path = Path::new("data");
    let data = obj(secret, "data");
    let string_data = obj(secret, "stringData");
    let mut total = 0usize;
    let keys = data
        .into_iter()
        .flat_map(|m| m.iter())
        .map(|(k, v)| (k, base64_len(v)))
        .chain(
            string_data
                .into_iter()
                .flat_map(|m| m.iter())
                .filter(|(k, _)| !data.is_some_and(|d| d.contains_key(k.as_str())))
                .map(|(k, v)| (k, v.as_str().map_or(0, str::len))),
        );
    for (key, len) in keys {
        let msgs = config_key_errors(key);
        if !msgs.is_empty() {
            invalid_msgs(errs, &data_path.key(key), key, msgs);
        }
        total = total.saturating_add(len);
    }
    if total > MAX_SECRET_SIZE {
        errs.push(FieldError::too_long("data", Some(MAX_SECRET_SIZE)));
    }
    let has = |k: &str| {
        data.is_some_and(|d| d.contains_key(k)) || string_data.is_some_and(|d| d.contains_key(k))
    };
    let nonempty = |k: &str| {
        data.and_then(|d| d.get(k))
            .and_then(Value::as_str)
            .is_some_and(|v| !v.is_empty())
            || string_data
                .and_then(|d| d.get(k))
                .and_then(Value::as_str)
                .is_some_and(|v| !v.is_empty())
    };
    match s(secret, "type") {
        "kubernetes.io/service-account-token" => {
            let name = get(secret, "metadata")
                .and_then(|m| obj(m, "annotations"))
                .and_then(|a| a.get("kubernetes.io/service-account.name"))
                .and_then(Value::as_str)
                .unwrap_or("");
            if name.is_empty() {
                let mp = Path::new("metadata");
                let ap = mp.child("annotations");
                required(errs, &ap.key("kubernetes.io/service-account.name"), "");
            }
        }
        "kubernetes.io/dockercfg" if !has(".dockercfg") => {
            required(errs, &data_path.key(".dockercfg"), "");
        }
        "kubernetes.io/dockerconfigjson" if !has(".dockerconfigjson") => {
            required(errs, &data_path.key(".dockerconfigjson"), "");
        }
        "kubernetes.io/basic-auth" if !has("username") && !has("password") => {
            required(errs, &data_path.key("username"), "");
            required(errs, &data_path.key("password"), "");
        }
        "kubernetes.io/ssh-auth" if !nonempty("ssh-privatekey") => {
            required(errs, &data_path.key("ssh-privatekey"), "");
        }
        "kubernetes.io/tls" => {
            if !has("tls.crt") {
                required(errs, &data_path.key("tls.crt"), "");
            }
            if !has("tls.key") {
                required(errs, &data_path.key("tls.key"), "");
            }
        }
        _ => {}
    }
}

fn secret_type(v: &Value) -> &str {
    match s(v, "type") {
        "" => "Opaque",
        t => t,
    }
}

/// The update-only part of `ValidateSecretUpdate`.
pub fn validate_secret_update(new: &Value, old: &Value, errs: &mut Errs) {
    let nt = secret_type(new);
    if nt != secret_type(old) {
        invalid(errs, &Path::new("type"), nt, super::IMMUTABLE);
    }
    immutable_flag(new, old, &["data"], errs);
}

fn immutable_flag(new: &Value, old: &Value, fields: &[&str], errs: &mut Errs) {
    if !super::flag(old, "immutable") {
        return;
    }
    const MSG: &str = "field is immutable when `immutable` is set";
    if !super::flag(new, "immutable") {
        forbidden(errs, &Path::new("immutable"), MSG);
    }
    for f in fields {
        let nv = obj(new, f).filter(|m| !m.is_empty());
        let ov = obj(old, f).filter(|m| !m.is_empty());
        if nv != ov {
            forbidden(errs, &Path::new(f), MSG);
        }
    }
}

/// `ValidateConfigMap` minus metadata.
pub fn validate_configmap(cm: &Value, errs: &mut Errs) {
    let data = obj(cm, "data");
    let binary = obj(cm, "binaryData");
    let dp = Path::new("data");
    let bp = Path::new("binaryData");
    let mut total = 0usize;
    if let Some(data) = data {
        for (k, v) in data {
            let msgs = config_key_errors(k);
            if !msgs.is_empty() {
                invalid_msgs(errs, &dp.key(k), k, msgs);
            }
            if binary.is_some_and(|b| b.contains_key(k.as_str())) {
                invalid(
                    errs,
                    &dp.key(k),
                    k.as_str(),
                    "duplicate of key present in binaryData",
                );
            }
            total = total.saturating_add(v.as_str().map_or(0, str::len));
        }
    }
    if let Some(binary) = binary {
        for (k, v) in binary {
            let msgs = config_key_errors(k);
            if !msgs.is_empty() {
                invalid_msgs(errs, &bp.key(k), k, msgs);
            }
            total = total.saturating_add(base64_len(v));
        }
    }
    if total > MAX_SECRET_SIZE {
        errs.push(FieldError::too_long("", Some(MAX_SECRET_SIZE)));
    }
}

/// The update-only part of `ValidateConfigMapUpdate`.
pub fn validate_configmap_update(new: &Value, old: &Value, errs: &mut Errs) {
    immutable_flag(new, old, &["data", "binaryData"], errs);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn msgs(f: fn(&Value, &mut Errs), v: Value) -> Vec<String> {
        let mut errs = Vec::new();
        f(&v, &mut errs);
        errs.iter().map(|e| e.to_string()).collect()
    }

    #[test]
    fn configmap_keys_and_size() {
        assert_eq!(
            msgs(validate_configmap, json!({"data": {"a b": "x", "ok": "y"}})),
            vec![
                "data[a b]: Invalid value: \"a b\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"
            ]
        );
        let big = "x".repeat(MAX_SECRET_SIZE + 1);
        assert_eq!(
            msgs(validate_configmap, json!({"data": {"a": big}})),
            vec![": Too long: may not be more than 1048576 bytes"]
        );
        assert_eq!(
            msgs(
                validate_configmap,
                json!({"data": {"a": "x"}, "binaryData": {"a": "eA=="}})
            ),
            vec!["data[a]: Invalid value: \"a\": duplicate of key present in binaryData"]
        );
    }

    #[test]
    fn secret_types_and_size() {
        assert_eq!(
            msgs(
                validate_secret,
                json!({"type": "kubernetes.io/tls", "data": {"tls.crt": ""}})
            ),
            vec!["data[tls.key]: Required value"]
        );
        assert_eq!(base64_len(&json!("eA==")), 1);
        assert_eq!(base64_len(&json!("eHk=")), 2);
        assert_eq!(base64_len(&json!("eHl6")), 3);
        let big = "A".repeat((MAX_SECRET_SIZE / 3 + 1) * 4);
        assert_eq!(
            msgs(validate_secret, json!({"data": {"a": big}})),
            vec!["data: Too long: may not be more than 1048576 bytes"]
        );
    }

    #[test]
    fn immutable_configmap() {
        let old = json!({"immutable": true, "data": {"a": "1"}});
        let new = json!({"immutable": true, "data": {"a": "2"}});
        let mut errs = Vec::new();
        validate_configmap_update(&new, &old, &mut errs);
        assert_eq!(
            errs[0].to_string(),
            "data: Forbidden: field is immutable when `immutable` is set"
        );
        let mut errs = Vec::new();
        validate_secret_update(&json!({"type": "kubernetes.io/tls"}), &json!({}), &mut errs);
        assert_eq!(
            errs[0].to_string(),
            "type: Invalid value: \"kubernetes.io/tls\": field is immutable"
        );
    }
}
