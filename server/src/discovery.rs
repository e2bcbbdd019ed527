//! Discovery documents: `/api`, `/apis`, `/apis/G`, `/api/v1`, `/apis/G/V` and the
//! aggregated `apidiscovery.k8s.io/v2` form, built once at startup from the served API.

use actix_web::{HttpRequest, HttpResponse};
use kiln_runtime::registry::{GroupVersionInfo, ResourceInfo};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha512};

use crate::api::{ApiIndex, ServedGroup};
use crate::app::AppState;
use crate::errors::ApiError;
use crate::handlers::{to_json, to_yaml};
use crate::negotiate::{self, Media, Target};
use crate::request::ApiPath;

const AGGREGATED_CONTENT_TYPE: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

/// Prebuilt discovery documents.
pub struct Discovery {
    core_versions: Value,
    group_list: Value,
    aggregated_core: Cached,
    aggregated_groups: Cached,
}

struct Cached {
    body: Vec<u8>,
    etag: String,
}

impl Cached {
    fn new(v: &Value) -> Cached {
        let body = serde_json::to_vec(v).unwrap_or_default();
        let digest = Sha512::digest(&body);
        let etag = format!(
            "\"{}\"",
            digest
                .iter()
                .map(|b| format!("{b:02X}"))
                .collect::<String>()
        );
        Cached { body, etag }
    }
}

fn gv_string(group: &str, version: &str) -> String {
    if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    }
}

fn group_doc(g: &ServedGroup) -> Value {
    let versions: Vec<Value> = g
        .versions
        .iter()
        .map(|gv| json!({"groupVersion": gv_string(g.name, gv.version), "version": gv.version}))
        .collect();
    let preferred = versions.first().cloned().unwrap_or(Value::Null);
    json!({"name": g.name, "versions": versions, "preferredVersion": preferred})
}

fn sorted_verbs(verbs: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = verbs.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

/// `APIResourceList` entries for one resource and its subresources.
fn resource_entries(r: &ResourceInfo, out: &mut Vec<Value>) {
    let mut m = Map::new();
    m.insert("name".into(), json!(r.plural));
    m.insert("singularName".into(), json!(r.singular));
    m.insert("namespaced".into(), json!(r.namespaced));
    m.insert("kind".into(), json!(r.kind));
    m.insert("verbs".into(), json!(sorted_verbs(r.verbs)));
    if !r.short_names.is_empty() {
        m.insert("shortNames".into(), json!(r.short_names));
    }
    if !r.categories.is_empty() {
        m.insert("categories".into(), json!(r.categories));
    }
    if !r.storage_version_hash.is_empty() {
        m.insert("storageVersionHash".into(), json!(r.storage_version_hash));
    }
    out.push(Value::Object(m));
    for s in r.subresources {
        let mut m = Map::new();
        m.insert("name".into(), json!(format!("{}/{}", r.plural, s.name)));
        m.insert("singularName".into(), json!(""));
        m.insert("namespaced".into(), json!(r.namespaced));
        if s.group != r.group || s.version != r.version {
            m.insert("group".into(), json!(s.group));
            m.insert("version".into(), json!(s.version));
        }
        m.insert("kind".into(), json!(s.kind));
        m.insert("verbs".into(), json!(sorted_verbs(s.verbs)));
        out.push(Value::Object(m));
    }
}

fn resource_list(gv: &GroupVersionInfo) -> Value {
    let mut resources = Vec::new();
    for r in gv.resources {
        resource_entries(r, &mut resources);
    }
    json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv_string(gv.group, gv.version), "resources": resources})
}

fn response_kind(
    parent_group: &str,
    parent_version: &str,
    group: &str,
    version: &str,
    kind: &str,
) -> Value {
    // Same group-version as the parent is written as empty strings.
    let (g, v) = if group == parent_group && version == parent_version {
        ("", "")
    } else {
        (group, version)
    };
    json!({"group": g, "version": v, "kind": kind})
}

fn aggregated_group(g: &ServedGroup) -> Value {
    let versions: Vec<Value> = g
        .versions
        .iter()
        .map(|gv| {
            let resources: Vec<Value> = gv
                .resources
                .iter()
                .filter(|r| !r.kind.is_empty())
                .map(|r| {
                    let mut m = Map::new();
                    m.insert("resource".into(), json!(r.plural));
                    m.insert("responseKind".into(), response_kind(r.group, r.version, r.group, r.version, r.kind));
                    m.insert("scope".into(), json!(if r.namespaced { "Namespaced" } else { "Cluster" }));
                    m.insert("singularResource".into(), json!(r.singular));
                    m.insert("verbs".into(), json!(sorted_verbs(r.verbs)));
                    if !r.short_names.is_empty() {
                        m.insert("shortNames".into(), json!(r.short_names));
                    }
                    if !r.categories.is_empty() {
                        m.insert("categories".into(), json!(r.categories));
                    }
                    if !r.subresources.is_empty() {
                        let subs: Vec<Value> = r
                            .subresources
                            .iter()
                            .map(|s| {
                                json!({
                                    "subresource": s.name,
                                    "responseKind": response_kind(r.group, r.version, s.group, s.version, s.kind),
                                    "verbs": sorted_verbs(s.verbs),
                                })
                            })
                            .collect();
                        m.insert("subresources".into(), Value::Array(subs));
                    }
                    Value::Object(m)
                })
                .collect();
            json!({"version": gv.version, "resources": resources, "freshness": "Current"})
        })
        .collect();
    json!({"metadata": {"name": g.name, "creationTimestamp": null}, "versions": versions})
}

fn aggregated_list(groups: Vec<Value>) -> Value {
    json!({"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": groups})
}

impl Discovery {
    pub fn new(api: &ApiIndex, server_address: &str) -> Discovery {
        let core_versions = json!({
            "kind": "APIVersions",
            "versions": api.core.iter().flat_map(|c| c.versions.iter().map(|v| v.version)).collect::<Vec<_>>(),
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
        });
        let group_list = json!({
            "kind": "APIGroupList",
            "apiVersion": "v1",
            "groups": api.groups.iter().map(group_doc).collect::<Vec<_>>(),
        });
        let aggregated_core = Cached::new(&aggregated_list(
            api.core.iter().map(aggregated_group).collect(),
        ));
        let aggregated_groups = Cached::new(&aggregated_list(
            api.groups.iter().map(aggregated_group).collect(),
        ));
        Discovery {
            core_versions,
            group_list,
            aggregated_core,
            aggregated_groups,
        }
    }
}

fn plain(req: &HttpRequest, v: &Value) -> Result<HttpResponse, ApiError> {
    let accept = req.headers().get("accept").and_then(|h| h.to_str().ok());
    let neg =
        negotiate::negotiate(accept, false, false, false).map_err(ApiError::not_acceptable)?;
    let mut b = HttpResponse::Ok();
    b.insert_header(("Cache-Control", "no-cache, private"));
    Ok(match neg.media {
        Media::Yaml => b.content_type("application/yaml").body(to_yaml(v)),
        _ => b
            .content_type("application/json")
            .body(to_json(v, neg.pretty)),
    })
}

fn aggregated(req: &HttpRequest, cached: &Cached) -> HttpResponse {
    let matches = req
        .headers()
        .get("if-none-match")
        .and_then(|h| h.to_str().ok())
        == Some(cached.etag.as_str());
    let mut b = if matches {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    b.insert_header(("ETag", cached.etag.clone()))
        .insert_header(("Vary", "Accept"))
        .insert_header(("Cache-Control", "public"))
        .content_type(AGGREGATED_CONTENT_TYPE);
    if matches {
        b.finish()
    } else {
        b.body(cached.body.clone())
    }
}

/// Serves a discovery path.
pub fn serve(
    req: &HttpRequest,
    path: &ApiPath,
    state: &AppState,
) -> Result<HttpResponse, ApiError> {
    let d = &state.discovery;
    let not_found = || {
        ApiError::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        )
    };
    match path {
        ApiPath::CoreRoot | ApiPath::GroupsRoot => {
            let accept = req.headers().get("accept").and_then(|h| h.to_str().ok());
            let wants_aggregated = matches!(
                negotiate::negotiate(accept, false, false, true),
                Ok(n) if matches!(n.target, Target::GroupDiscovery { .. })
            );
            match (path, wants_aggregated) {
                (ApiPath::CoreRoot, true) => Ok(aggregated(req, &d.aggregated_core)),
                (_, true) => Ok(aggregated(req, &d.aggregated_groups)),
                (ApiPath::CoreRoot, false) => plain(req, &d.core_versions),
                _ => plain(req, &d.group_list),
            }
        }
        ApiPath::Group { group } => {
            let g = state
                .api
                .groups
                .iter()
                .find(|g| g.name == group)
                .ok_or_else(not_found)?;
            let mut doc = group_doc(g);
            if let Value::Object(m) = &mut doc {
                let mut out = Map::new();
                out.insert("kind".into(), json!("APIGroup"));
                out.insert("apiVersion".into(), json!("v1"));
                out.extend(std::mem::take(m));
                doc = Value::Object(out);
            }
            plain(req, &doc)
        }
        ApiPath::GroupVersion { group, version } => {
            let gv = state
                .api
                .group_version(group, version)
                .ok_or_else(not_found)?;
            plain(req, &resource_list(gv))
        }
        ApiPath::Resource(_) => Err(not_found()),
    }
}
