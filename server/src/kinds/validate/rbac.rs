//! RBAC roles and bindings: kube's `pkg/apis/rbac/validation` (policy rules, role refs,
//! subjects, immutable roleRef).

use serde_json::{Value, json};

use super::{Errs, Path, arr, invalid, invalid_msgs, not_supported, required, s};
use crate::validation;

const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

/// `ValidateRole` / `ValidateClusterRole` minus metadata.
pub fn validate_role(role: &Value, namespaced: bool, errs: &mut Errs) {
    let rp = Path::new("rules");
    for (i, rule) in arr(role, "rules").iter().enumerate() {
        let p = rp.index(i);
        if arr(rule, "verbs").is_empty() {
            required(
                errs,
                &p.child("verbs"),
                "verbs must contain at least one value",
            );
        }
        let urls = arr(rule, "nonResourceURLs");
        let groups = arr(rule, "apiGroups");
        let resources = arr(rule, "resources");
        let names = arr(rule, "resourceNames");
        if !urls.is_empty() {
            let up = p.child("nonResourceURLs");
            if namespaced {
                invalid(
                    errs,
                    &up,
                    Value::Array(urls.to_vec()),
                    "namespaced rules cannot apply to non-resource URLs",
                );
            }
            if !groups.is_empty() || !resources.is_empty() || !names.is_empty() {
                invalid(
                    errs,
                    &up,
                    Value::Array(urls.to_vec()),
                    "rules cannot apply to both regular resources and non-resource URLs",
                );
            }
            continue;
        }
        if groups.is_empty() {
            required(
                errs,
                &p.child("apiGroups"),
                "resource rules must supply at least one api group",
            );
        }
        if resources.is_empty() {
            required(
                errs,
                &p.child("resources"),
                "resource rules must supply at least one resource",
            );
        }
        if !names.is_empty() && resources.len() > 1 {
            required(
                errs,
                &p.child("resourceNames"),
                "resource names cannot apply to multiple resources",
            );
        }
    }
}

/// `ValidateRoleBinding` / `ValidateClusterRoleBinding` minus metadata.
pub fn validate_binding(b: &Value, namespaced: bool, errs: &mut Errs) {
    let role_ref = b.get("roleRef").unwrap_or(&Value::Null);
    let rp = Path::new("roleRef");
    let api_group = s(role_ref, "apiGroup");
    if api_group != RBAC_GROUP {
        not_supported(errs, &rp.child("apiGroup"), api_group, &[RBAC_GROUP]);
    }
    let kind = s(role_ref, "kind");
    if namespaced {
        if kind != "Role" && kind != "ClusterRole" {
            not_supported(errs, &rp.child("kind"), kind, &["Role", "ClusterRole"]);
        }
    } else if kind != "ClusterRole" {
        not_supported(errs, &rp.child("kind"), kind, &["ClusterRole"]);
    }
    let name = s(role_ref, "name");
    if name.is_empty() {
        required(errs, &rp.child("name"), "");
    } else {
        invalid_msgs(
            errs,
            &rp.child("name"),
            name,
            validation::is_path_segment_name(name),
        );
    }
    let sp = Path::new("subjects");
    for (i, subj) in arr(b, "subjects").iter().enumerate() {
        let p = sp.index(i);
        let name = s(subj, "name");
        if name.is_empty() {
            required(errs, &p.child("name"), "");
        }
        let group = s(subj, "apiGroup");
        match s(subj, "kind") {
            "ServiceAccount" => {
                if !name.is_empty() {
                    invalid_msgs(
                        errs,
                        &p.child("name"),
                        name,
                        validation::is_dns1123_subdomain(name),
                    );
                }
                if !group.is_empty() {
                    not_supported(errs, &p.child("apiGroup"), group, &[""]);
                }
                if !namespaced && s(subj, "namespace").is_empty() {
                    required(errs, &p.child("namespace"), "");
                }
            }
            k @ ("User" | "Group") => {
                if name.is_empty() {
                    let what = if k == "User" { "user" } else { "group" };
                    invalid(
                        errs,
                        &p.child("name"),
                        name,
                        &format!("{what} name cannot be empty"),
                    );
                }
                // An empty apiGroup is defaulted to the RBAC group (`SetDefaults_Subject`).
                if !group.is_empty() && group != RBAC_GROUP {
                    not_supported(errs, &p.child("apiGroup"), group, &[RBAC_GROUP]);
                }
            }
            other => not_supported(
                errs,
                &p.child("kind"),
                other,
                &["ServiceAccount", "User", "Group"],
            ),
        }
    }
}

/// The update-only part: `roleRef` never changes.
pub fn validate_binding_update(new: &Value, old: &Value, errs: &mut Errs) {
    let n = new.get("roleRef").unwrap_or(&Value::Null);
    let o = old.get("roleRef").unwrap_or(&Value::Null);
    let same = ["apiGroup", "kind", "name"]
        .iter()
        .all(|f| s(n, f) == s(o, f));
    if !same {
        // The internal rbac.RoleRef, rendered with its Go field names.
        invalid(
            errs,
            &Path::new("roleRef"),
            json!({"APIGroup": s(n, "apiGroup"), "Kind": s(n, "kind"), "Name": s(n, "name")}),
            "cannot change roleRef",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msgs(errs: &Errs) -> Vec<String> {
        errs.iter().map(|e| e.to_string()).collect()
    }

    #[test]
    fn rules() {
        let mut errs = Vec::new();
        validate_role(
            &json!({"rules": [{"resources": ["pods"]}, {"verbs": ["get"], "nonResourceURLs": ["/x"]}]}),
            true,
            &mut errs,
        );
        assert_eq!(
            msgs(&errs),
            vec![
                "rules[0].verbs: Required value: verbs must contain at least one value",
                "rules[0].apiGroups: Required value: resource rules must supply at least one api group",
                "rules[1].nonResourceURLs: Invalid value: [\"/x\"]: namespaced rules cannot apply to non-resource URLs",
            ]
        );
    }

    #[test]
    fn bindings() {
        let mut errs = Vec::new();
        validate_binding(
            &json!({"roleRef": {"apiGroup": "x", "kind": "Role", "name": "r"},
                "subjects": [{"kind": "ServiceAccount", "name": "sa"}, {"kind": "Robot", "name": "r"}]}),
            false,
            &mut errs,
        );
        assert_eq!(
            msgs(&errs),
            vec![
                "roleRef.apiGroup: Unsupported value: \"x\": supported values: \"rbac.authorization.k8s.io\"",
                "roleRef.kind: Unsupported value: \"Role\": supported values: \"ClusterRole\"",
                "subjects[0].namespace: Required value",
                "subjects[1].kind: Unsupported value: \"Robot\": supported values: \"ServiceAccount\", \"User\", \"Group\"",
            ]
        );
        let mut errs = Vec::new();
        validate_binding_update(
            &json!({"roleRef": {"apiGroup": RBAC_GROUP, "kind": "Role", "name": "b"}}),
            &json!({"roleRef": {"apiGroup": RBAC_GROUP, "kind": "Role", "name": "a"}}),
            &mut errs,
        );
        assert_eq!(
            msgs(&errs),
            vec![
                "roleRef: Invalid value: {\"APIGroup\":\"rbac.authorization.k8s.io\",\"Kind\":\"Role\",\"Name\":\"b\"}: cannot change roleRef"
            ]
        );
    }
}
