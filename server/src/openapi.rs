//! `/openapi/v2` (the release's published document) and `/openapi/v3` (one document per
//! group-version, derived from v2 on first use and cached with its hash).

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use actix_web::{HttpRequest, HttpResponse, web};
use bytes::Bytes;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha512};

use crate::api::ApiIndex;
use crate::app::AppState;
use crate::errors::ApiError;
use crate::handlers::error_response;

struct Doc {
    /// The document; `Bytes` so that the embedded v2 document is served from the binary
    /// without a heap copy and every response shares one buffer.
    body: Bytes,
    hash: String,
}

impl Doc {
    fn new(body: impl Into<Bytes>) -> Doc {
        let body = body.into();
        let hash = Sha512::digest(&body)
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect();
        Doc { body, hash }
    }
}

struct V3 {
    index: Doc,
    docs: BTreeMap<String, Doc>,
}

/// The OpenAPI documents of the served API.
pub struct OpenApi {
    v2: Doc,
    served_keys: Vec<String>,
    v3: OnceLock<Arc<V3>>,
}

impl OpenApi {
    pub fn new(api: &ApiIndex) -> OpenApi {
        let mut served_keys = Vec::new();
        for g in api.core.iter().chain(api.groups.iter()) {
            for gv in &g.versions {
                served_keys.push(if gv.group.is_empty() {
                    format!("api/{}", gv.version)
                } else {
                    format!("apis/{}/{}", gv.group, gv.version)
                });
            }
        }
        OpenApi {
            v2: Doc::new(Bytes::from_static(kiln_generated::OPENAPI_V2.as_bytes())),
            served_keys,
            v3: OnceLock::new(),
        }
    }

    fn build_v3(&self) -> Result<V3, ApiError> {
        let v2: Value = serde_json::from_slice(&self.v2.body).map_err(|e| {
            ApiError::internal(format!("the embedded OpenAPI v2 document is invalid: {e}"))
        })?;
        let mut docs = BTreeMap::new();
        for key in kiln_runtime::openapi::document_keys(&v2) {
            // Group-version documents follow `--runtime-config`; the rest (`version`,
            // `openid/v1/jwks`, group documents) are always served.
            let is_gv = key.starts_with("api/")
                || (key.starts_with("apis/") && key.matches('/').count() == 2);
            if is_gv && !self.served_keys.contains(&key) {
                continue;
            }
            if let Some(doc) = kiln_runtime::openapi::document(&v2, &key) {
                docs.insert(key, Doc::new(serde_json::to_vec(&doc).unwrap_or_default()));
            }
        }
        let mut paths = Map::new();
        for (key, doc) in &docs {
            paths.insert(
                key.clone(),
                json!({"serverRelativeURL": format!("/openapi/v3/{key}?hash={}", doc.hash)}),
            );
        }
        let index = Doc::new(
            serde_json::to_vec(&json!({"paths": Value::Object(paths)})).unwrap_or_default(),
        );
        Ok(V3 { index, docs })
    }

    async fn v3(state: &web::Data<AppState>) -> Result<Arc<V3>, ApiError> {
        if let Some(v3) = state.openapi.v3.get() {
            return Ok(v3.clone());
        }
        let s = state.clone();
        let built = web::block(move || s.openapi.build_v3())
            .await
            .map_err(|e| ApiError::internal(e.to_string()))??;
        Ok(state.openapi.v3.get_or_init(|| Arc::new(built)).clone())
    }
}

fn accepts_json(req: &HttpRequest) -> bool {
    let Some(accept) = req.headers().get("accept").and_then(|h| h.to_str().ok()) else {
        return true;
    };
    accept.split(',').any(|part| {
        let media = part.split(';').next().unwrap_or("").trim();
        matches!(media, "application/json" | "*/*" | "application/*" | "")
    })
}

fn etag_response(req: &HttpRequest, doc: &Doc, immutable: bool) -> HttpResponse {
    let etag = format!("\"{}\"", doc.hash);
    let not_modified = req
        .headers()
        .get("if-none-match")
        .and_then(|h| h.to_str().ok())
        == Some(etag.as_str());
    let mut b = if not_modified {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    b.insert_header(("Etag", etag))
        .insert_header(("Vary", "Accept"))
        .content_type("application/json");
    if immutable {
        let expires = time::OffsetDateTime::now_utc() + time::Duration::days(365);
        b.insert_header(("Cache-Control", "public, immutable"));
        b.insert_header(("Expires", httpdate(expires)));
    } else {
        b.insert_header(("Cache-Control", "no-cache, private"));
    }
    if not_modified {
        b.finish()
    } else {
        b.body(doc.body.clone())
    }
}

fn httpdate(t: time::OffsetDateTime) -> String {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
        DAYS[t.weekday().number_days_from_monday() as usize],
        t.day(),
        MONTHS[u8::from(t.month()) as usize - 1],
        t.year(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

fn not_acceptable() -> ApiError {
    ApiError::not_acceptable("only the following media types are accepted: application/json")
}

pub async fn serve_v2(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if !accepts_json(&req) {
        return error_response(&req, &not_acceptable());
    }
    etag_response(&req, &state.openapi.v2, false)
}

pub async fn serve_v3_index(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if !accepts_json(&req) {
        return error_response(&req, &not_acceptable());
    }
    match OpenApi::v3(&state).await {
        Ok(v3) => etag_response(&req, &v3.index, false),
        Err(e) => error_response(&req, &e),
    }
}

pub async fn serve_v3(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> HttpResponse {
    if !accepts_json(&req) {
        return error_response(&req, &not_acceptable());
    }
    let v3 = match OpenApi::v3(&state).await {
        Ok(v3) => v3,
        Err(e) => return error_response(&req, &e),
    };
    let key = path.into_inner();
    let key = key.trim_end_matches('/');
    let Some(doc) = v3.docs.get(key) else {
        return crate::handlers::not_found_page();
    };
    let query = crate::handlers::Query::parse(req.query_string()).unwrap_or_default();
    match query.get("hash") {
        Some(h) if h == doc.hash => etag_response(&req, doc, true),
        Some(_) => HttpResponse::MovedPermanently()
            .insert_header(("Location", format!("/openapi/v3/{key}?hash={}", doc.hash)))
            .finish(),
        None => etag_response(&req, doc, false),
    }
}
