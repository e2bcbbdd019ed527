//! The `scale` subresource: an `autoscaling/v1` `Scale` view of a parent object
//! (Deployment, ReplicaSet, StatefulSet, ReplicationController). One implementation for
//! every resource; what differs per kind is only where the replica counts and the selector
//! live ([`ScaleFields`]).
//!
//! As kube-apiserver's scale REST storage: GET converts the parent; PUT and PATCH work on
//! the Scale view of the current parent, are validated as a Scale, and write only the
//! parent's replica count through the parent's normal update path (so its strategy,
//! generation and validation apply). A `resourceVersion` in the Scale is a precondition on
//! the parent (409 when stale); a `uid` that differs from the parent's is a 409.

use actix_web::HttpRequest;
use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use kiln_runtime::registry::{ResourceInfo, SubresourceInfo};
use serde_json::{Map, Value, json};

use crate::app::AppState;
use crate::errors::{ApiError, Qualified};
use crate::handlers::{Query, respond};
use crate::labels::{LabelSelector, Operator, Requirement};
use crate::negotiate::{self, Media, PatchType, Target};
use crate::objects;
use crate::patch::Patch;
use crate::store::{self, WriteOptions};
use crate::validation::FieldError;

/// Where the selector of the parent lives and what shape it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SelectorAt {
    /// A `metav1.LabelSelector` object (`matchLabels` / `matchExpressions`).
    LabelSelector(&'static str),
    /// A `map[string]string` of labels that must all match (ReplicationController).
    Set(&'static str),
}

/// Where a kind keeps what its Scale shows (JSON pointers into the parent object).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScaleFields {
    pub spec_replicas: &'static str,
    pub status_replicas: &'static str,
    pub selector: SelectorAt,
}

/// The scale fields of a resource that serves a `scale` subresource.
pub fn fields_for(r: &ResourceInfo) -> Option<ScaleFields> {
    let selector = match (r.group, r.plural) {
        ("apps" | "extensions", "deployments" | "replicasets" | "statefulsets") => {
            SelectorAt::LabelSelector("/spec/selector")
        }
        ("", "replicationcontrollers") => SelectorAt::Set("/spec/selector"),
        _ => return None,
    };
    Some(ScaleFields {
        spec_replicas: "/spec/replicas",
        status_replicas: "/status/replicas",
        selector,
    })
}

/// The selector as a string (`Selector.String()`), as `status.selector` carries it.
fn selector_string(fields: &ScaleFields, parent: &Value) -> Result<String, ApiError> {
    match fields.selector {
        SelectorAt::LabelSelector(ptr) => {
            LabelSelector::from_label_selector_json(parent.pointer(ptr))
                .map(|s| s.to_string())
                .map_err(|e| ApiError::bad_request(e.to_string()))
        }
        SelectorAt::Set(ptr) => {
            let mut reqs = Vec::new();
            if let Some(Value::Object(set)) = parent.pointer(ptr) {
                for (k, v) in set {
                    let v = v.as_str().unwrap_or("").to_string();
                    reqs.push(
                        Requirement::new(k.clone(), Operator::Equals, vec![v])
                            .map_err(|e| ApiError::bad_request(e.to_string()))?,
                    );
                }
            }
            Ok(LabelSelector::from_requirements(reqs).to_string())
        }
    }
}

fn int_at(obj: &Value, ptr: &str) -> i64 {
    obj.pointer(ptr).and_then(Value::as_i64).unwrap_or(0)
}

/// The Scale view of `parent` (metadata name/namespace/uid/resourceVersion/creationTimestamp
/// of the parent, spec.replicas, status.replicas and status.selector).
pub fn to_scale(
    sub: &SubresourceInfo,
    fields: &ScaleFields,
    parent: &Value,
) -> Result<Value, ApiError> {
    let mut meta = Map::new();
    for f in [
        "name",
        "namespace",
        "uid",
        "resourceVersion",
        "creationTimestamp",
    ] {
        if let Some(v) = objects::metadata(parent).and_then(|m| m.get(f)) {
            meta.insert(f.into(), v.clone());
        }
    }
    let mut status = Map::new();
    status.insert(
        "replicas".into(),
        json!(int_at(parent, fields.status_replicas)),
    );
    let selector = selector_string(fields, parent)?;
    if !selector.is_empty() {
        status.insert("selector".into(), Value::String(selector));
    }
    let mut spec = Map::new();
    if let Some(n) = parent.pointer(fields.spec_replicas).and_then(Value::as_i64) {
        spec.insert("replicas".into(), json!(n));
    }
    let scale = json!({
        "kind": sub.kind,
        "apiVersion": sub_group_version(sub),
        "metadata": meta,
        "spec": spec,
        "status": status,
    });
    normalize_scale(sub, scale)
}

fn sub_group_version(sub: &SubresourceInfo) -> String {
    if sub.group.is_empty() {
        sub.version.to_string()
    } else {
        format!("{}/{}", sub.group, sub.version)
    }
}

/// Runs a Scale through its typed form (wrong field types are 400s).
fn normalize_scale(sub: &SubresourceInfo, value: Value) -> Result<Value, ApiError> {
    let Some(codec) = sub.codec else {
        return Ok(value);
    };
    (codec.normalize_value)(value).map_err(|e| {
        ApiError::bad_request(format!(
            "{} in version {:?} cannot be handled as a {}: {e}",
            sub.kind, sub.version, sub.kind
        ))
    })
}

/// `ValidateScale`: object metadata and a non-negative replica count.
fn validate_scale(scale: &Value) -> Vec<FieldError> {
    let mut errors = crate::validation::validate_object_meta(objects::metadata(scale));
    let replicas = scale
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    if replicas < 0 {
        errors.push(FieldError::invalid(
            "spec.replicas",
            replicas,
            "must be greater than or equal to 0",
        ));
    }
    errors
}

/// How a write changes the Scale.
enum Change {
    Replace(Value),
    Patch(Patch),
}

/// Applies a changed Scale to the parent: only the replica count moves over, and the
/// Scale's resourceVersion becomes the parent's precondition (none when the client sent
/// none). Errors are what kube-apiserver answers for a bad Scale.
fn apply_to_parent(
    r: &ResourceInfo,
    sub: &SubresourceInfo,
    fields: &ScaleFields,
    old: &Value,
    change: &Change,
) -> Result<Value, ApiError> {
    let old_scale = to_scale(sub, fields, old)?;
    let name = objects::name(old).to_string();
    let (new_scale, explicit_rv) = match change {
        Change::Replace(s) => {
            let rv = objects::meta_str(s, "resourceVersion")
                .filter(|v| !v.is_empty())
                .map(str::to_string);
            (s.clone(), rv)
        }
        Change::Patch(p) => {
            let mut patched = p.apply(&old_scale)?;
            objects::set_type_meta(&mut patched, &sub_group_version(sub), sub.kind);
            let patched = normalize_scale(sub, patched)?;
            // A patch that leaves the resourceVersion alone is unconditional.
            let rv = objects::meta_str(&patched, "resourceVersion")
                .filter(|v| !v.is_empty())
                .filter(|v| Some(*v) != objects::meta_str(&old_scale, "resourceVersion"))
                .map(str::to_string);
            (patched, rv)
        }
    };
    let errors = validate_scale(&new_scale);
    if !errors.is_empty() {
        return Err(ApiError::invalid(sub.group, sub.kind, &name, &errors));
    }
    if let Some(uid) = objects::meta_str(&new_scale, "uid").filter(|u| !u.is_empty())
        && uid != objects::uid(old)
    {
        // kube names the subresource here: `deployments/scale.apps`.
        let resource = format!("{}/scale", r.plural);
        return Err(ApiError::conflict(
            Qualified {
                group: r.group,
                resource: &resource,
            },
            &name,
            &format!(
                "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                objects::uid(old)
            ),
        ));
    }
    let replicas = new_scale
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let mut parent = old.clone();
    set_pointer(&mut parent, fields.spec_replicas, json!(replicas));
    match explicit_rv {
        Some(rv) => objects::set_meta(&mut parent, "resourceVersion", Value::String(rv)),
        None => {
            objects::remove_meta(&mut parent, "resourceVersion");
        }
    }
    Ok(parent)
}

/// Sets the value at a JSON pointer, creating objects on the way.
fn set_pointer(obj: &mut Value, ptr: &str, value: Value) {
    let mut cur = obj;
    let parts: Vec<&str> = ptr.split('/').skip(1).collect();
    let Some((last, path)) = parts.split_last() else {
        return;
    };
    for p in path {
        if !cur.is_object() {
            *cur = Value::Object(Map::new());
        }
        let Value::Object(m) = cur else { return };
        cur = m
            .entry(p.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
    }
    if !cur.is_object() {
        *cur = Value::Object(Map::new());
    }
    if let Value::Object(m) = cur {
        m.insert(last.to_string(), value);
    }
}

fn header<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// Decodes a PUT body as the subresource's kind (JSON, YAML or protobuf).
fn decode_scale(
    req: &HttpRequest,
    body: &[u8],
    sub: &SubresourceInfo,
    ns: Option<&str>,
) -> Result<Value, ApiError> {
    let media = negotiate::body_media(header(req, "content-type"))
        .map_err(ApiError::unsupported_media_type)?;
    let mut value: Value = match media {
        Media::Yaml => serde_yaml_ng::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("error converting YAML to JSON: {e}")))?,
        Media::Json => serde_json::from_slice(body).map_err(|e| {
            ApiError::bad_request(format!("couldn't get version/kind; json parse error: {e}"))
        })?,
        Media::Protobuf => {
            let unknown = crate::protobuf::decode_envelope(body).map_err(ApiError::bad_request)?;
            let Some(codec) = sub.codec else {
                return Err(ApiError::unsupported_media_type(format!(
                    "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (protobuf is not served for {})",
                    sub.kind
                )));
            };
            (codec.from_protobuf)(&unknown.raw).map_err(|e| {
                ApiError::bad_request(format!(
                    "{} in version {:?} cannot be handled as a {}: {e}",
                    sub.kind, sub.version, sub.kind
                ))
            })?
        }
    };
    let Value::Object(map) = &value else {
        return Err(ApiError::bad_request(
            "the request body must be a JSON object",
        ));
    };
    let gv = sub_group_version(sub);
    if let Some(v) = map.get("apiVersion").and_then(Value::as_str)
        && !v.is_empty()
        && v != gv
    {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({v}) does not match the expected API version ({gv})"
        )));
    }
    if let Some(k) = map.get("kind").and_then(Value::as_str)
        && !k.is_empty()
        && k != sub.kind
    {
        return Err(ApiError::bad_request(format!(
            "the kind in the data ({k}) does not match the expected kind ({})",
            sub.kind
        )));
    }
    objects::set_type_meta(&mut value, &gv, sub.kind);
    let value = normalize_scale(sub, value)?;
    if let Some(url_ns) = ns {
        let body_ns = objects::namespace(&value);
        if !body_ns.is_empty() && body_ns != url_ns {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
    }
    Ok(value)
}

/// A Scale in the negotiated form (object, Table, PartialObjectMetadata).
fn respond_scale(
    req: &HttpRequest,
    r: &ResourceInfo,
    query: &Query,
    scale: Value,
) -> Result<HttpResponse, ApiError> {
    let neg = negotiate::negotiate(header(req, "accept"), false, false, false)
        .map_err(ApiError::not_acceptable)?;
    let body = match &neg.target {
        Target::Table { version } => {
            crate::table::object(r, scale, query.get("includeObject"), version)?
        }
        Target::PartialObjectMetadata { version } => {
            crate::table::partial_object_metadata(&scale, version)
        }
        _ => scale,
    };
    Ok(respond(StatusCode::OK, &neg, &body))
}

/// Serves `GET`, `PUT` and `PATCH` of `…/NAME/scale`.
#[allow(clippy::too_many_arguments)]
pub async fn serve(
    req: &HttpRequest,
    body: &[u8],
    state: &AppState,
    r: &'static ResourceInfo,
    ns: Option<&str>,
    name: &str,
    verb: &str,
    query: &Query,
    write: &WriteOptions,
) -> Result<HttpResponse, ApiError> {
    let not_found = || {
        ApiError::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        )
    };
    let sub = r.subresource("scale").ok_or_else(not_found)?;
    let fields = fields_for(r).ok_or_else(not_found)?;
    // Content negotiation fails before any work is done.
    negotiate::negotiate(header(req, "accept"), false, false, false)
        .map_err(ApiError::not_acceptable)?;
    let change = match verb {
        "get" => {
            let parent = state.store.get(r, ns, name).await?;
            let scale = to_scale(sub, &fields, &parent)?;
            return respond_scale(req, r, query, scale);
        }
        "update" => {
            let scale = decode_scale(req, body, sub, ns)?;
            let body_name = objects::name(&scale);
            if body_name != name {
                return Err(ApiError::bad_request(format!(
                    "the name of the object ({body_name}) does not match the name on the URL ({name})"
                )));
            }
            Change::Replace(scale)
        }
        "patch" => {
            let kind = negotiate::patch_type(header(req, "content-type"))
                .map_err(ApiError::unsupported_media_type)?;
            // A Scale has no lists or maps with merge keys: a strategic merge patch of it
            // is a JSON merge patch.
            let kind = match kind {
                PatchType::StrategicMerge => PatchType::Merge,
                k => k,
            };
            Change::Patch(Patch::parse(kind, body)?)
        }
        _ => {
            return Err(ApiError::method_not_allowed(
                "the server does not allow this method on the requested resource",
            ));
        }
    };
    let mutate = |old: Option<&Value>| -> Result<Value, ApiError> {
        let Some(old) = old else {
            return Err(ApiError::not_found(store::qualified(r), name));
        };
        apply_to_parent(r, sub, &fields, old, &change)
    };
    let (updated, _) = state
        .store
        .update(r, ns, name, Some("scale"), &mutate, write)
        .await?;
    let scale = to_scale(sub, &fields, &updated)?;
    respond_scale(req, r, query, scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resource(group: &str, plural: &str) -> &'static ResourceInfo {
        kiln_generated::REGISTRY
            .iter()
            .flat_map(|g| g.versions.iter())
            .flat_map(|v| v.resources.iter())
            .find(|r| r.group == group && r.plural == plural)
            .unwrap_or_else(|| panic!("{group}/{plural} in the registry"))
    }

    fn deployment() -> Value {
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "sc", "namespace": "ns", "uid": "u1", "resourceVersion": "7",
                "generation": 2, "creationTimestamp": "2024-01-01T00:00:00Z", "labels": {"x": "y"}},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "sc"},
                "matchExpressions": [{"key": "tier", "operator": "In", "values": ["web", "api"]}]}},
            "status": {"replicas": 2}
        })
    }

    #[test]
    fn every_scale_subresource_has_fields() {
        for g in kiln_generated::REGISTRY {
            for v in g.versions {
                for r in v.resources {
                    if r.subresource("scale").is_some() {
                        assert!(fields_for(r).is_some(), "{}/{}", r.group, r.plural);
                    }
                }
            }
        }
    }

    #[test]
    fn scale_of_a_deployment() {
        let r = resource("apps", "deployments");
        let sub = r.subresource("scale").expect("deployments/scale");
        let fields = fields_for(r).expect("fields");
        let s = to_scale(sub, &fields, &deployment()).expect("scale");
        assert_eq!(
            s,
            json!({
                "kind": "Scale", "apiVersion": "autoscaling/v1",
                "metadata": {"name": "sc", "namespace": "ns", "uid": "u1", "resourceVersion": "7",
                    "creationTimestamp": "2024-01-01T00:00:00Z"},
                "spec": {"replicas": 3},
                "status": {"replicas": 2, "selector": "app=sc,tier in (api,web)"}
            })
        );
        let keys: Vec<&String> = s
            .as_object()
            .map(|m| m.keys().collect())
            .unwrap_or_default();
        assert_eq!(keys, ["kind", "apiVersion", "metadata", "spec", "status"]);
    }

    #[test]
    fn scale_of_a_replication_controller() {
        let r = resource("", "replicationcontrollers");
        let sub = r.subresource("scale").expect("rc/scale");
        let fields = fields_for(r).expect("fields");
        let rc = json!({"metadata": {"name": "rc"}, "spec": {"replicas": 0, "selector": {"b": "2", "a": "1"}}});
        let s = to_scale(sub, &fields, &rc).expect("scale");
        assert_eq!(s["status"], json!({"replicas": 0, "selector": "a=1,b=2"}));
        assert_eq!(s["spec"], json!({}));
        let empty = json!({"metadata": {"name": "rc"}, "spec": {"replicas": 1}});
        let s = to_scale(sub, &fields, &empty).expect("scale");
        assert_eq!(s["status"], json!({"replicas": 0}));
    }

    #[test]
    fn writes_move_only_replicas() {
        let r = resource("apps", "deployments");
        let sub = r.subresource("scale").expect("deployments/scale");
        let fields = fields_for(r).expect("fields");
        let old = deployment();
        let patch = Change::Patch(
            Patch::parse(
                PatchType::Merge,
                br#"{"spec":{"replicas":5},"status":{"replicas":9}}"#,
            )
            .expect("patch"),
        );
        let new = apply_to_parent(r, sub, &fields, &old, &patch).expect("applies");
        assert_eq!(new["spec"]["replicas"], 5);
        assert_eq!(new["status"], old["status"]);
        assert_eq!(new["metadata"]["labels"], old["metadata"]["labels"]);
        assert!(
            new["metadata"].get("resourceVersion").is_none(),
            "unconditional"
        );

        let put = |rv: &str, uid: &str, replicas: i64| {
            Change::Replace(json!({"kind": "Scale", "apiVersion": "autoscaling/v1",
                "metadata": {"name": "sc", "resourceVersion": rv, "uid": uid},
                "spec": {"replicas": replicas}}))
        };
        let new = apply_to_parent(r, sub, &fields, &old, &put("5", "", 4)).expect("applies");
        assert_eq!(new["metadata"]["resourceVersion"], "5", "precondition kept");
        assert_eq!(new["spec"]["replicas"], 4);

        let err = apply_to_parent(r, sub, &fields, &old, &put("", "", -1)).expect_err("negative");
        assert_eq!(err.code, 422);
        assert_eq!(
            err.message,
            "Scale.autoscaling \"sc\" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0"
        );
        let err = apply_to_parent(r, sub, &fields, &old, &put("", "other", 1)).expect_err("uid");
        assert_eq!(err.code, 409);
        assert_eq!(
            err.message,
            "Operation cannot be fulfilled on deployments/scale.apps \"sc\": Precondition failed: UID in precondition: other, UID in object meta: u1"
        );
    }

    #[test]
    fn set_pointer_creates_parents() {
        let mut v = json!({"spec": 1});
        set_pointer(&mut v, "/spec/replicas", json!(2));
        assert_eq!(v, json!({"spec": {"replicas": 2}}));
    }
}
