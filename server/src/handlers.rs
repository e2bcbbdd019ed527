//! The one generic request path for every resource: route → negotiate → decode →
//! store → encode. Per-kind behaviour lives in strategies, never here.

use std::sync::Arc;
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use kiln_runtime::registry::ResourceInfo;
use serde_json::{Value, json};

use crate::app::AppState;
use crate::errors::{self, ApiError};
use crate::field_validation;
use crate::fields::FieldSelector;
use crate::labels::LabelSelector;
use crate::negotiate::{self, Media, Negotiated, Target};
use crate::objects;
use crate::patch;
use crate::request::{self, ApiPath, ResourcePath};
use crate::store::{self, DeleteOptions, DeleteOutcome, ListOptions, ReadAt, WriteOptions};
use crate::table;
use crate::watch::{self, WatchOptions};

/// Decoded query parameters (repeated keys keep their first value, as Go's `Get` does).
#[derive(Debug, Default)]
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    pub fn parse(qs: &str) -> Result<Query, ApiError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(qs)
            .map_err(|e| ApiError::bad_request(format!("invalid query string: {e}")))?;
        Ok(Query { pairs })
    }
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
    pub fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }
    /// A boolean parameter: absent → None; "0"/"false" → false; anything else → true.
    pub fn bool(&self, key: &str) -> Option<bool> {
        self.get(key).map(negotiate::parse_bool)
    }
    pub fn all(&self, key: &str) -> impl Iterator<Item = &str> {
        self.pairs
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Entry point for every `/api…` and `/apis…` request.
pub async fn dispatch(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    let result = handle(&req, body, &state).await;
    match result {
        Ok(resp) => resp,
        Err(err) => error_response(&req, &err),
    }
}

/// Renders an error as a `Status` in the negotiated encoding (JSON when nothing matches):
/// clients that accept protobuf get the `Status` message in the protobuf envelope.
pub fn error_response(req: &HttpRequest, err: &ApiError) -> HttpResponse {
    let media = accept_header(req)
        .and_then(|a| negotiate::negotiate_status(Some(a)).ok())
        .unwrap_or(Media::Json);
    let mut builder = HttpResponse::build(
        StatusCode::from_u16(err.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
    );
    if let Some(secs) = err.retry_after() {
        builder.insert_header(("Retry-After", secs.to_string()));
    }
    builder.insert_header(("Cache-Control", "no-cache, private"));
    let status = err.to_status();
    match media {
        Media::Yaml => builder
            .content_type("application/yaml")
            .body(to_yaml(&status)),
        Media::Protobuf => match crate::protobuf::encode_value(&status) {
            Ok(bytes) => builder
                .content_type(crate::protobuf::CONTENT_TYPE)
                .body(bytes),
            Err(_) => builder
                .content_type("application/json")
                .body(to_json(&status, false)),
        },
        Media::Json => builder
            .content_type("application/json")
            .body(to_json(&status, false)),
    }
}

fn accept_header(req: &HttpRequest) -> Option<&str> {
    req.headers().get("accept").and_then(|v| v.to_str().ok())
}

fn content_type(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
}

pub fn to_json(v: &Value, pretty: bool) -> Vec<u8> {
    let mut out = if pretty {
        crate::gojson::to_vec_pretty(v)
    } else {
        crate::gojson::to_vec(v)
    }
    .unwrap_or_default();
    out.push(b'\n');
    out
}

pub fn to_yaml(v: &Value) -> Vec<u8> {
    serde_yaml_ng::to_string(v)
        .map(String::into_bytes)
        .unwrap_or_default()
}

/// Compact JSON of the resource itself, which the store writes without building objects
/// (`Store::get_json`, `Store::list_json`).
fn plain_json(neg: &Negotiated) -> bool {
    neg.media == Media::Json && matches!(neg.target, Target::Object) && !neg.pretty
}

/// A JSON body made elsewhere, with the headers of [`respond`].
fn json_body(code: StatusCode, body: Vec<u8>) -> HttpResponse {
    HttpResponse::build(code)
        .insert_header(("Cache-Control", "no-cache, private"))
        .content_type("application/json")
        .body(body)
}

/// Encodes a response body in the negotiated media type. In protobuf the body's
/// `apiVersion` and `kind` pick the message; a body without one (which negotiation keeps
/// from happening: Table, custom resources) is refused with 406 rather than mis-encoded.
pub fn respond(code: StatusCode, neg: &Negotiated, body: &Value) -> HttpResponse {
    let mut b = HttpResponse::build(code);
    b.insert_header(("Cache-Control", "no-cache, private"));
    match neg.media {
        Media::Yaml => b.content_type("application/yaml").body(to_yaml(body)),
        Media::Protobuf => match crate::protobuf::encode_value(body) {
            Ok(bytes) => b.content_type(crate::protobuf::CONTENT_TYPE).body(bytes),
            Err(crate::protobuf::EncodeError::NoMessage { .. }) => {
                let err = ApiError::not_acceptable(
                    "only the following media types are accepted: application/json, application/yaml",
                );
                plain_status(&err)
            }
            Err(crate::protobuf::EncodeError::Invalid(e)) => plain_status(&ApiError::internal(
                format!("unable to encode the response as protobuf: {e}"),
            )),
        },
        Media::Json => b
            .content_type("application/json")
            .body(to_json(body, neg.pretty)),
    }
}

/// An error `Status` as JSON, for failures found while encoding a response.
fn plain_status(err: &ApiError) -> HttpResponse {
    HttpResponse::build(StatusCode::from_u16(err.code).unwrap_or(StatusCode::NOT_ACCEPTABLE))
        .insert_header(("Cache-Control", "no-cache, private"))
        .content_type("application/json")
        .body(to_json(&err.to_status(), false))
}

async fn handle(
    req: &HttpRequest,
    body: web::Bytes,
    state: &AppState,
) -> Result<HttpResponse, ApiError> {
    let Some(path) = request::parse(req.path()) else {
        return Ok(not_found_page());
    };
    let query = Query::parse(req.query_string())?;
    if let Some(t) = query.get("timeout") {
        negotiate::parse_go_duration(t)
            .map_err(|_| ApiError::bad_request(format!("invalid timeout: {t:?}")))?;
    }
    match path {
        ApiPath::CoreRoot
        | ApiPath::GroupsRoot
        | ApiPath::Group { .. }
        | ApiPath::GroupVersion { .. } => {
            if req.method() != actix_web::http::Method::GET {
                return Err(ApiError::method_not_allowed(
                    "the server does not allow this method on the requested resource",
                ));
            }
            crate::discovery::serve(req, &path, state)
        }
        ApiPath::Resource(rp) => resource_request(req, body, state, rp, query).await,
    }
}

/// kube-apiserver's answer for paths outside the API.
pub fn not_found_page() -> HttpResponse {
    HttpResponse::NotFound()
        .content_type("text/plain; charset=utf-8")
        .body("404 page not found\n")
}

fn resource_not_found() -> ApiError {
    ApiError::new(
        404,
        "NotFound",
        "the server could not find the requested resource",
    )
}

async fn resource_request(
    req: &HttpRequest,
    body: web::Bytes,
    state: &AppState,
    rp: ResourcePath,
    query: Query,
) -> Result<HttpResponse, ApiError> {
    let r = state
        .api
        .resource(&rp.group, &rp.version, &rp.resource)
        .ok_or_else(resource_not_found)?;
    if rp.namespace.is_some() && !r.namespaced {
        return Err(resource_not_found());
    }
    let sub = match rp.subresource.as_deref() {
        Some(s) => Some(r.subresource(s).ok_or_else(resource_not_found)?),
        None => None,
    };
    let ns = rp.namespace.as_deref();
    let name = rp.name.as_deref();
    let method = req.method().as_str();
    let watch_requested = rp.watch_prefix || query.bool("watch").unwrap_or(false);
    let verbs: &[&str] = sub.map(|s| s.verbs).unwrap_or(r.verbs);
    let verb = match (method, name.is_some(), watch_requested) {
        ("GET", _, true) => "watch",
        ("GET", true, false) => "get",
        ("GET", false, false) => "list",
        ("POST", _, _) => "create",
        ("PUT", true, _) => "update",
        ("PATCH", true, _) => "patch",
        ("DELETE", true, _) => "delete",
        ("DELETE", false, _) => "deletecollection",
        _ => {
            return Err(ApiError::method_not_allowed(
                "the server does not allow this method on the requested resource",
            ));
        }
    };
    // POST to a named object without a subresource is not a route in kube-apiserver.
    if verb == "create" && name.is_some() && sub.is_none() {
        return Err(resource_not_found());
    }
    if !verbs.contains(&verb) {
        return Err(ApiError::method_not_allowed(
            "the server does not allow this method on the requested resource",
        ));
    }
    let dry_run = parse_dry_run(&query)?;
    let write = WriteOptions {
        dry_run,
        ..Default::default()
    };
    let sub_name = rp.subresource.as_deref();
    match sub_name {
        None | Some("status") | Some("finalize") => {}
        Some("scale") => {
            let name = name.unwrap_or_default();
            return crate::scale::serve(req, &body, state, r, ns, name, verb, &query, &write).await;
        }
        // Other subresources need their own handlers (binding, eviction, log, …).
        Some(_) => return Err(resource_not_found()),
    }
    match verb {
        "get" => {
            let neg = negotiate_object(req, false, false)?;
            let name = name.unwrap_or_default();
            if plain_json(&neg) {
                let body = state.store.get_json(r, ns, name).await?;
                return Ok(json_body(StatusCode::OK, body));
            }
            let obj = state.store.get(r, ns, name).await?;
            Ok(respond_object(StatusCode::OK, &neg, r, obj, &query))
        }
        "list" => {
            let neg = negotiate_object(req, true, false)?;
            let opts = list_options(r, &query)?;
            if plain_json(&neg) {
                let body = state.store.list_json(r, ns, &opts).await?;
                return Ok(json_body(StatusCode::OK, body));
            }
            let res = state.store.list(r, ns, &opts).await?;
            Ok(respond_list(&neg, r, res, &query))
        }
        "watch" => watch_request(req, state, r, ns, name, &query).await,
        "create" => {
            let neg = negotiate_object(req, false, false)?;
            let (obj, warnings) = decode_body(req, &body, r, ns, &query, "CreateOptions")?;
            let write = tracked(req, &query, "CreateOptions", &write)?;
            let mut resp = if plain_json(&neg) {
                let body = state.store.create_json(r, ns, obj, &write).await?;
                json_body(StatusCode::CREATED, body)
            } else {
                let created = state.store.create(r, ns, obj, &write).await?;
                respond_object(StatusCode::CREATED, &neg, r, created, &query)
            };
            field_validation::add_warnings(&mut resp, &warnings);
            Ok(resp)
        }
        "update" => {
            let neg = negotiate_object(req, false, false)?;
            let name = name.unwrap_or_default();
            let (obj, warnings) = decode_body(req, &body, r, ns, &query, "UpdateOptions")?;
            let write = tracked(req, &query, "UpdateOptions", &write)?;
            let body_name = objects::name(&obj);
            if body_name != name {
                return Err(ApiError::bad_request(format!(
                    "the name of the object ({body_name}) does not match the name on the URL ({name})"
                )));
            }
            let (updated, created) = if sub_name == Some("finalize") {
                finalize_namespace(state, r, name, obj, &write).await?
            } else {
                let obj = Arc::new(obj);
                let mutate =
                    move |_old: Option<&Value>| -> Result<Value, ApiError> { Ok((*obj).clone()) };
                state
                    .store
                    .update(r, ns, name, sub_name, &mutate, &write)
                    .await?
            };
            let code = if created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            let mut resp = respond_object(code, &neg, r, updated, &query);
            field_validation::add_warnings(&mut resp, &warnings);
            Ok(resp)
        }
        "patch" => {
            let neg = negotiate_object(req, false, false)?;
            let name = name.unwrap_or_default();
            let kind = negotiate::patch_type(content_type(req))
                .map_err(ApiError::unsupported_media_type)?;
            if kind == negotiate::PatchType::Apply {
                let (obj, created, warnings) =
                    crate::apply::serve(state, r, ns, name, sub_name, &query, &body, &write)
                        .await?;
                let code = if created {
                    StatusCode::CREATED
                } else {
                    StatusCode::OK
                };
                let mut resp = respond_object(code, &neg, r, obj, &query);
                field_validation::add_warnings(&mut resp, &warnings);
                return Ok(resp);
            }
            let write = tracked(req, &query, "PatchOptions", &write)?;
            let directive = field_validation::Directive::from_query(
                query.get("fieldValidation"),
                "PatchOptions",
            )?;
            let patch = patch::Patch::for_resource(kind, &body, r, directive)?;
            let warnings = std::sync::Mutex::new(Vec::new());
            let gv = r.group_version();
            let mutate = |old: Option<&Value>| -> Result<Value, ApiError> {
                let Some(old) = old else {
                    return Err(ApiError::not_found(store::qualified(r), name));
                };
                let (mut new, found) = patch.apply_with_warnings(old)?;
                if let Ok(mut w) = warnings.lock() {
                    *w = found;
                }
                objects::set_type_meta(&mut new, &gv, r.kind);
                normalize_detail(r, new).map_err(|e| {
                    let patched = patch.apply(old).unwrap_or_default();
                    patch.invalid(&patched, &e)
                })
            };
            let (updated, _) = state
                .store
                .update(r, ns, name, sub_name, &mutate, &write)
                .await?;
            let mut resp = respond_object(StatusCode::OK, &neg, r, updated, &query);
            if let Ok(w) = warnings.lock() {
                field_validation::add_warnings(&mut resp, &w);
            }
            Ok(resp)
        }
        "delete" => {
            let neg = negotiate_object(req, false, false)?;
            let name = name.unwrap_or_default();
            let opts = delete_options(&body, &query, dry_run)?;
            match state.store.delete(r, ns, name, &opts).await? {
                DeleteOutcome::Pending(obj) => {
                    Ok(respond_object(StatusCode::OK, &neg, r, obj, &query))
                }
                DeleteOutcome::Deleted(obj) => {
                    let status =
                        errors::success_status(store::qualified(r), name, objects::uid(&obj));
                    Ok(respond(StatusCode::OK, &neg, &status))
                }
            }
        }
        "deletecollection" => {
            let neg = negotiate_object(req, true, false)?;
            let lopts = list_options(r, &query)?;
            let opts = delete_options(&body, &query, dry_run)?;
            let res = state.store.delete_collection(r, ns, &lopts, &opts).await?;
            Ok(respond_list(&neg, r, res, &query))
        }
        _ => Err(ApiError::method_not_allowed(
            "the server does not allow this method on the requested resource",
        )),
    }
}

/// `PUT /api/v1/namespaces/NAME/finalize`: only `spec.finalizers` changes.
async fn finalize_namespace(
    state: &AppState,
    r: &'static ResourceInfo,
    name: &str,
    obj: Value,
    write: &WriteOptions,
) -> Result<(Value, bool), ApiError> {
    let fins = obj
        .pointer("/spec/finalizers")
        .cloned()
        .unwrap_or(Value::Array(Vec::new()));
    let mutate = move |old: Option<&Value>| -> Result<Value, ApiError> {
        let mut new = old.cloned().unwrap_or(Value::Null);
        if let Value::Object(m) = &mut new {
            let spec = m.entry("spec").or_insert_with(|| json!({}));
            if let Value::Object(s) = spec {
                s.insert("finalizers".into(), fins.clone());
            }
        }
        Ok(new)
    };
    state
        .store
        .update(r, None, name, Some("finalize"), &mutate, write)
        .await
}

fn parse_dry_run(query: &Query) -> Result<bool, ApiError> {
    let mut dry = false;
    for v in query.all("dryRun") {
        if v == "All" {
            dry = true;
        } else if !v.is_empty() {
            return Err(ApiError::new(
                422,
                "Invalid",
                format!("Invalid dry run value: {v:?}. Supported values: \"All\""),
            ));
        }
    }
    Ok(dry)
}

/// `write` recording the request's field manager (`fieldManager` or the User-Agent).
fn tracked(
    req: &HttpRequest,
    query: &Query,
    options_kind: &str,
    write: &WriteOptions,
) -> Result<WriteOptions, ApiError> {
    let agent = req
        .headers()
        .get("user-agent")
        .and_then(|v| v.to_str().ok());
    Ok(WriteOptions {
        field_manager: Some(crate::apply::update_manager(query, agent, options_kind)?),
        ..write.clone()
    })
}

fn negotiate_object(req: &HttpRequest, list: bool, watch: bool) -> Result<Negotiated, ApiError> {
    negotiate::negotiate(accept_header(req), list, watch, false).map_err(ApiError::not_acceptable)
}

/// Decodes a create/update body: JSON or YAML, type meta checked against the endpoint,
/// then normalised through the kind's typed form. Unknown and duplicate fields are
/// handled per the request's `fieldValidation` (`options_kind` names the options in its
/// errors): a 400 for `Strict`, warning texts (returned) for `Warn`.
fn decode_body(
    req: &HttpRequest,
    body: &[u8],
    r: &'static ResourceInfo,
    ns: Option<&str>,
    query: &Query,
    options_kind: &str,
) -> Result<(Value, Vec<String>), ApiError> {
    let directive =
        field_validation::Directive::from_query(query.get("fieldValidation"), options_kind)?;
    let media =
        negotiate::body_media(content_type(req)).map_err(ApiError::unsupported_media_type)?;
    let schema = if directive.checks() {
        crate::schema::for_resource(r)
    } else {
        None
    };
    let idx = crate::schema::release();
    let mut strict = field_validation::StrictErrors::default();
    let json_error = |e: serde_json::Error| {
        ApiError::bad_request(format!("couldn't get version/kind; json parse error: {e}"))
    };
    let mut value: Value = match media {
        Media::Yaml => {
            let v: Value = serde_yaml_ng::from_slice(body).map_err(|e| {
                ApiError::bad_request(format!("error converting YAML to JSON: {e}"))
            })?;
            if directive.checks()
                && let Some(dups) = field_validation::yaml_duplicate_keys(body)
            {
                strict.push(dups);
            }
            if let Some(s) = &schema {
                field_validation::unknown_fields(idx, s, &v, &mut strict);
            }
            v
        }
        Media::Json => match &schema {
            Some(s) => {
                let (v, errs) =
                    field_validation::decode_json_typed(body, idx, s).map_err(json_error)?;
                strict = errs;
                v
            }
            None => serde_json::from_slice(body).map_err(json_error)?,
        },
        Media::Protobuf => {
            let unknown = crate::protobuf::decode_envelope(body).map_err(ApiError::bad_request)?;
            let Some(codec) = r.codec else {
                return Err(ApiError::unsupported_media_type(format!(
                    "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (protobuf is not served for {})",
                    r.kind
                )));
            };
            let mut v = (codec.from_protobuf)(&unknown.raw).map_err(|e| {
                ApiError::bad_request(format!(
                    "{} in version {:?} cannot be handled as a {}: {e}",
                    r.kind, r.version, r.kind
                ))
            })?;
            if let Value::Object(m) = &mut v {
                if !unknown.api_version.is_empty() {
                    m.insert("apiVersion".into(), Value::String(unknown.api_version));
                }
                if !unknown.kind.is_empty() {
                    m.insert("kind".into(), Value::String(unknown.kind));
                }
            }
            v
        }
    };
    let Value::Object(map) = &mut value else {
        return Err(ApiError::bad_request(
            "the request body must be a JSON object",
        ));
    };
    let gv = r.group_version();
    match map.get("apiVersion").and_then(Value::as_str) {
        Some(v) if !v.is_empty() && v != gv => {
            return Err(ApiError::bad_request(format!(
                "the API version in the data ({v}) does not match the expected API version ({gv})"
            )));
        }
        _ => {}
    }
    match map.get("kind").and_then(Value::as_str) {
        Some(k) if !k.is_empty() && k != r.kind => {
            return Err(ApiError::bad_request(format!(
                "the kind in the data ({k}) does not match the expected kind ({})",
                r.kind
            )));
        }
        _ => {}
    }
    objects::set_type_meta(&mut value, &gv, r.kind);
    let mut value = normalize(r, value)?;
    let mut warnings = Vec::new();
    if !strict.is_empty() {
        if directive == field_validation::Directive::Strict {
            return Err(ApiError::bad_request(format!(
                "{} in version {:?} cannot be handled as a {}: {}",
                r.kind,
                r.version,
                r.kind,
                strict.summary()
            )));
        }
        warnings = strict.into_messages();
    }
    if let (Some(url_ns), true) = (ns, r.namespaced) {
        let body_ns = objects::namespace(&value);
        if !body_ns.is_empty() && body_ns != url_ns {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        objects::set_meta(&mut value, "namespace", Value::String(url_ns.to_string()));
    }
    Ok((value, warnings))
}

/// Runs a value through the kind's typed form: wrong field types are 400s, unknown fields
/// are dropped and fields come out in kube-apiserver's order.
pub fn normalize(r: &ResourceInfo, value: Value) -> Result<Value, ApiError> {
    normalize_detail(r, value).map_err(|e| cannot_handle(r, e))
}

/// The 400 for a value that does not decode into its kind's type.
pub(crate) fn cannot_handle(r: &ResourceInfo, e: impl std::fmt::Display) -> ApiError {
    ApiError::bad_request(format!(
        "{} in version {:?} cannot be handled as a {}: {e}",
        r.kind, r.version, r.kind
    ))
}

/// [`normalize`] with the decoder's own message as the error.
fn normalize_detail(r: &ResourceInfo, value: Value) -> Result<Value, String> {
    let Some(codec) = r.codec else {
        return Ok(value);
    };
    (codec.normalize_value)(value).map_err(|e| e.to_string())
}

/// The `labelSelector` and `fieldSelector` of a list or watch; bad ones are 400s.
type Selectors = (Option<LabelSelector>, Option<FieldSelector>);
fn selectors(r: &ResourceInfo, query: &Query) -> Result<Selectors, ApiError> {
    let labels = match query.get("labelSelector").filter(|s| !s.is_empty()) {
        Some(s) => Some(LabelSelector::parse(s).map_err(|e| ApiError::bad_request(e.to_string()))?),
        None => None,
    };
    let fields = match query.get("fieldSelector").filter(|s| !s.is_empty()) {
        Some(s) => {
            let sel = FieldSelector::parse(s).map_err(|e| ApiError::bad_request(e.to_string()))?;
            crate::fields::validate_fields(r.group, r.kind, &sel)
                .map_err(|e| ApiError::bad_request(e.to_string()))?;
            Some(sel)
        }
        None => None,
    };
    Ok((labels, fields))
}

fn list_options(r: &ResourceInfo, query: &Query) -> Result<ListOptions, ApiError> {
    let (labels, fields) = selectors(r, query)?;
    let limit = match query.get("limit").filter(|s| !s.is_empty()) {
        Some(l) => l
            .parse::<i64>()
            .map_err(|_| ApiError::bad_request(format!("invalid limit: {l:?}")))?
            .max(0) as usize,
        None => 0,
    };
    let continue_token = query
        .get("continue")
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    let rv = query.get("resourceVersion").unwrap_or("");
    let rv_match = query.get("resourceVersionMatch").unwrap_or("");
    if query.bool("sendInitialEvents").is_some() {
        return Err(invalid_list_option(
            "sendInitialEvents",
            "sendInitialEvents is forbidden for list",
        ));
    }
    if continue_token.is_some() && !(rv.is_empty() || rv == "0") {
        return Err(ApiError::bad_request(
            "specifying resource version is not allowed when using continue",
        ));
    }
    let parsed_rv = if rv.is_empty() || rv == "0" {
        None
    } else {
        Some(
            rv.parse::<i64>()
                .map_err(|_| ApiError::bad_request(format!("invalid resource version: {rv:?}")))?,
        )
    };
    let read_at = match rv_match {
        "" => match parsed_rv {
            None if rv == "0" => Some(ReadAt::Any),
            None => Some(ReadAt::Latest),
            Some(v) if limit > 0 => Some(ReadAt::Exact(v)),
            Some(v) => Some(ReadAt::NotOlderThan(v)),
        },
        "NotOlderThan" | "Exact" => {
            if rv.is_empty() {
                return Err(invalid_list_option(
                    "resourceVersionMatch",
                    "resourceVersionMatch is forbidden unless resourceVersion is provided",
                ));
            }
            if continue_token.is_some() {
                return Err(invalid_list_option(
                    "resourceVersionMatch",
                    "resourceVersionMatch is forbidden when continue is provided",
                ));
            }
            match (rv_match, parsed_rv) {
                ("Exact", None) => {
                    return Err(invalid_list_option(
                        "resourceVersionMatch",
                        "resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\"",
                    ));
                }
                ("Exact", Some(v)) => Some(ReadAt::Exact(v)),
                (_, Some(v)) => Some(ReadAt::NotOlderThan(v)),
                (_, None) => Some(ReadAt::Any),
            }
        }
        other => {
            return Err(invalid_list_option(
                "resourceVersionMatch",
                &format!(
                    "Unsupported value: {other:?}: supported values: \"Exact\", \"NotOlderThan\""
                ),
            ));
        }
    };
    Ok(ListOptions {
        labels,
        fields,
        limit,
        continue_token,
        read_at,
    })
}

fn invalid_list_option(field: &str, detail: &str) -> ApiError {
    let mut e = ApiError::new(
        422,
        "Invalid",
        format!("ListOptions.meta.k8s.io \"\" is invalid: {field}: Forbidden: {detail}"),
    );
    e.details = Some(Box::new(errors::Details {
        group: "meta.k8s.io".into(),
        kind: "ListOptions".into(),
        causes: vec![errors::Cause {
            reason: "FieldValueForbidden".into(),
            message: format!("Forbidden: {detail}"),
            field: field.into(),
        }],
        ..Default::default()
    }));
    e
}

fn delete_options(
    body: &[u8],
    query: &Query,
    dry_run_query: bool,
) -> Result<DeleteOptions, ApiError> {
    let mut opts = DeleteOptions {
        dry_run: dry_run_query,
        ..Default::default()
    };
    let trimmed = body.iter().any(|b| !b.is_ascii_whitespace());
    if trimmed {
        let v: Value = serde_json::from_slice(body).map_err(|e| {
            ApiError::bad_request(format!("couldn't get version/kind; json parse error: {e}"))
        })?;
        if let Some(p) = v.get("preconditions") {
            opts.precondition_uid = p.get("uid").and_then(Value::as_str).map(str::to_string);
            opts.precondition_resource_version = p
                .get("resourceVersion")
                .and_then(Value::as_str)
                .map(str::to_string);
        }
        if let Some(d) = v.get("dryRun").and_then(Value::as_array) {
            for item in d {
                match item.as_str() {
                    Some("All") => opts.dry_run = true,
                    other => {
                        return Err(ApiError::new(
                            422,
                            "Invalid",
                            format!(
                                "Invalid dry run value: {:?}. Supported values: \"All\"",
                                other.unwrap_or("")
                            ),
                        ));
                    }
                }
            }
        }
    }
    let _ = query;
    Ok(opts)
}

/// An object in the negotiated target form (object, Table, PartialObjectMetadata).
fn respond_object(
    code: StatusCode,
    neg: &Negotiated,
    r: &ResourceInfo,
    obj: Value,
    query: &Query,
) -> HttpResponse {
    let body = match &neg.target {
        Target::Table { version } => {
            match table::object(r, obj, query.get("includeObject"), version) {
                Ok(t) => t,
                Err(e) => return plain_status(&e),
            }
        }
        Target::PartialObjectMetadata { version } => table::partial_object_metadata(&obj, version),
        _ => obj,
    };
    respond(code, neg, &body)
}

fn respond_list(
    neg: &Negotiated,
    r: &ResourceInfo,
    res: store::ListResult,
    query: &Query,
) -> HttpResponse {
    // `store::list_body` is shared with `Store::list_json`, which writes the same bytes.
    let meta = store::list_meta(&res);
    let body = match &neg.target {
        Target::Table { version } => {
            match table::list(
                r,
                res.items,
                Value::Object(meta),
                query.get("includeObject"),
                version,
            ) {
                Ok(t) => t,
                Err(e) => return plain_status(&e),
            }
        }
        Target::PartialObjectMetadataList { version } => {
            table::partial_object_metadata_list(res.items, Value::Object(meta), version)
        }
        _ => store::list_body(r, res),
    };
    respond(StatusCode::OK, neg, &body)
}

async fn watch_request(
    req: &HttpRequest,
    state: &AppState,
    r: &'static ResourceInfo,
    ns: Option<&str>,
    name: Option<&str>,
    query: &Query,
) -> Result<HttpResponse, ApiError> {
    let neg = negotiate::negotiate(accept_header(req), false, true, false)
        .map_err(ApiError::not_acceptable)?;
    let mut opts = list_options_for_watch(r, query)?;
    if let Some(name) = name {
        let by_name = FieldSelector::parse(&format!("metadata.name={name}"))
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
        opts.fields = Some(match opts.fields.take() {
            Some(existing) => existing.and(by_name),
            None => by_name,
        });
    }
    let enc = watch::Encoding::negotiated(&neg, query.get("includeObject"))?;
    let rx = watch::start(state.store.clone(), r, ns.map(str::to_string), opts, enc).await?;
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<_, actix_web::Error>(b), rx))
    });
    let ctype = match neg.media {
        Media::Protobuf => crate::protobuf::STREAM_CONTENT_TYPE,
        _ => "application/json",
    };
    Ok(HttpResponse::Ok()
        .content_type(ctype)
        .insert_header(("Cache-Control", "no-cache, private"))
        .insert_header(("Transfer-Encoding", "chunked"))
        .streaming(stream))
}

fn list_options_for_watch(r: &ResourceInfo, query: &Query) -> Result<WatchOptions, ApiError> {
    let (labels, fields) = selectors(r, query)?;
    let rv = query.get("resourceVersion").unwrap_or("").to_string();
    if !rv.is_empty() && rv != "0" && rv.parse::<i64>().is_err() {
        return Err(ApiError::bad_request(format!(
            "invalid resource version: {rv:?}"
        )));
    }
    let send_initial_events = query.bool("sendInitialEvents");
    let rv_match = query.get("resourceVersionMatch").unwrap_or("");
    let allow_bookmarks = query.bool("allowWatchBookmarks").unwrap_or(false);
    match send_initial_events {
        Some(_) => {
            if rv_match != "NotOlderThan" {
                return Err(invalid_list_option(
                    "resourceVersionMatch",
                    "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
                ));
            }
            if send_initial_events == Some(true) && !allow_bookmarks {
                return Err(invalid_list_option(
                    "allowWatchBookmarks",
                    "sendInitialEvents requires setting allowWatchBookmarks to true",
                ));
            }
        }
        None if !rv_match.is_empty() => {
            return Err(invalid_list_option(
                "resourceVersionMatch",
                "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
            ));
        }
        None => {}
    }
    let timeout = match query.get("timeoutSeconds").filter(|s| !s.is_empty()) {
        Some(t) => {
            let secs = t
                .parse::<u64>()
                .map_err(|_| ApiError::bad_request(format!("invalid timeoutSeconds: {t:?}")))?;
            Duration::from_secs(secs)
        }
        // kube-apiserver picks a random timeout between 30 and 60 minutes.
        None => Duration::from_secs(1800 + rand::random::<u64>() % 1800),
    };
    Ok(WatchOptions {
        labels,
        fields,
        resource_version: rv,
        send_initial_events,
        allow_bookmarks,
        timeout,
    })
}
