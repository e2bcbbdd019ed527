//! Request paths: `/api/v1/…` and `/apis/G/V/…` split into what they address.

/// What an API path points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiPath {
    /// `/api`
    CoreRoot,
    /// `/apis`
    GroupsRoot,
    /// `/api/v1` or `/apis/G/V`
    GroupVersion { group: String, version: String },
    /// `/apis/G`
    Group { group: String },
    /// A resource, collection or subresource.
    Resource(ResourcePath),
}

/// `[/namespaces/NS]/RESOURCE[/NAME[/SUBRESOURCE]]` under a group-version.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResourcePath {
    pub group: String,
    pub version: String,
    pub namespace: Option<String>,
    pub resource: String,
    pub name: Option<String>,
    pub subresource: Option<String>,
    /// The deprecated `/watch/` path prefix was used.
    pub watch_prefix: bool,
}

/// Splits a request path. `None` when it is not an API path at all.
pub fn parse(path: &str) -> Option<ApiPath> {
    let trimmed = path.trim_end_matches('/');
    let mut parts: Vec<&str> = trimmed.split('/').skip(1).collect();
    if parts.iter().any(|p| p.is_empty()) {
        return None;
    }
    let (group, version, rest) = match parts.first().copied() {
        Some("api") => {
            if parts.len() == 1 {
                return Some(ApiPath::CoreRoot);
            }
            let version = parts[1].to_string();
            parts.drain(..2);
            (String::new(), version, parts)
        }
        Some("apis") => match parts.len() {
            1 => return Some(ApiPath::GroupsRoot),
            2 => {
                return Some(ApiPath::Group {
                    group: parts[1].to_string(),
                });
            }
            _ => {
                let group = parts[1].to_string();
                let version = parts[2].to_string();
                parts.drain(..3);
                (group, version, parts)
            }
        },
        _ => return None,
    };
    if rest.is_empty() {
        return Some(ApiPath::GroupVersion { group, version });
    }
    let mut rest = rest.as_slice();
    let mut watch_prefix = false;
    if rest[0] == "watch" {
        watch_prefix = true;
        rest = &rest[1..];
        if rest.is_empty() {
            return None;
        }
    }
    let mut rp = ResourcePath {
        group,
        version,
        watch_prefix,
        ..Default::default()
    };
    // `namespaces/NS/RESOURCE…` addresses a namespaced resource, except the namespace's own
    // subresources (`namespaces/NS/status`, `namespaces/NS/finalize`).
    if rest[0] == "namespaces" && rest.len() > 2 && !matches!(rest[2], "status" | "finalize") {
        rp.namespace = Some(rest[1].to_string());
        rest = &rest[2..];
    }
    rp.resource = rest[0].to_string();
    match rest.len() {
        1 => {}
        2 => rp.name = Some(rest[1].to_string()),
        3 => {
            rp.name = Some(rest[1].to_string());
            rp.subresource = Some(rest[2].to_string());
        }
        _ => {
            // Only proxy subresources take a trailing path; keep the first segment.
            rp.name = Some(rest[1].to_string());
            rp.subresource = Some(rest[2].to_string());
        }
    }
    Some(ApiPath::Resource(rp))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(path: &str) -> ResourcePath {
        match parse(path) {
            Some(ApiPath::Resource(r)) => r,
            other => panic!("{path}: {other:?}"),
        }
    }

    #[test]
    fn roots() {
        assert_eq!(parse("/api"), Some(ApiPath::CoreRoot));
        assert_eq!(parse("/api/"), Some(ApiPath::CoreRoot));
        assert_eq!(parse("/apis"), Some(ApiPath::GroupsRoot));
        assert_eq!(
            parse("/apis/apps"),
            Some(ApiPath::Group {
                group: "apps".into()
            })
        );
        assert_eq!(
            parse("/api/v1"),
            Some(ApiPath::GroupVersion {
                group: String::new(),
                version: "v1".into()
            })
        );
        assert_eq!(parse("/version"), None);
    }

    #[test]
    fn namespaced_and_cluster() {
        let r = res("/api/v1/namespaces/ns1/configmaps/x");
        assert_eq!(
            (
                r.namespace.as_deref(),
                r.resource.as_str(),
                r.name.as_deref()
            ),
            (Some("ns1"), "configmaps", Some("x"))
        );
        let r = res("/api/v1/namespaces/ns1");
        assert_eq!(
            (r.namespace, r.resource.as_str(), r.name.as_deref()),
            (None, "namespaces", Some("ns1"))
        );
        let r = res("/api/v1/namespaces/ns1/status");
        assert_eq!(
            (r.resource.as_str(), r.subresource.as_deref()),
            ("namespaces", Some("status"))
        );
        let r = res("/apis/apps/v1/namespaces/a/deployments/d/scale");
        assert_eq!(
            (r.group.as_str(), r.subresource.as_deref()),
            ("apps", Some("scale"))
        );
        let r = res("/api/v1/watch/namespaces/a/pods");
        assert!(r.watch_prefix);
        assert_eq!(r.namespace.as_deref(), Some("a"));
        let r = res("/apis/rbac.authorization.k8s.io/v1/clusterroles/");
        assert_eq!((r.resource.as_str(), r.name), ("clusterroles", None));
    }
}
