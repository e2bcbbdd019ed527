//! Kubernetes `Status` errors, built in one place.
//!
//! Every failure the API answers is an [`ApiError`]: an HTTP code, a `reason`, a message
//! and optional `details`, rendered as a `meta/v1 Status` object exactly as
//! kube-apiserver writes it.

use serde_json::{Map, Value, json};

use crate::validation::FieldError;

/// A cause inside `Status.details.causes`.
#[derive(Debug, Clone, PartialEq)]
pub struct Cause {
    pub reason: String,
    pub message: String,
    pub field: String,
}

/// `Status.details`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Details {
    pub name: String,
    pub group: String,
    /// The resource (plural) for most errors.
    pub kind: String,
    pub uid: String,
    pub causes: Vec<Cause>,
    pub retry_after_seconds: u32,
}

/// A failed API request.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{code} {reason}: {message}")]
pub struct ApiError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    pub details: Option<Box<Details>>,
}

/// What a resource is called in messages: `configmaps`, `deployments.apps`.
#[derive(Debug, Clone, Copy)]
pub struct Qualified<'a> {
    pub group: &'a str,
    pub resource: &'a str,
}

impl std::fmt::Display for Qualified<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.group.is_empty() {
            f.write_str(self.resource)
        } else {
            write!(f, "{}.{}", self.resource, self.group)
        }
    }
}

impl ApiError {
    pub fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            code,
            reason,
            message: message.into(),
            details: None,
        }
    }

    fn with_details(mut self, q: Qualified<'_>, name: &str) -> Self {
        self.details = Some(Box::new(Details {
            name: name.to_string(),
            group: q.group.to_string(),
            kind: q.resource.to_string(),
            ..Default::default()
        }));
        self
    }

    pub fn not_found(q: Qualified<'_>, name: &str) -> Self {
        ApiError::new(404, "NotFound", format!("{q} \"{name}\" not found")).with_details(q, name)
    }

    pub fn already_exists(q: Qualified<'_>, name: &str) -> Self {
        ApiError::new(
            409,
            "AlreadyExists",
            format!("{q} \"{name}\" already exists"),
        )
        .with_details(q, name)
    }

    pub fn conflict(q: Qualified<'_>, name: &str, detail: &str) -> Self {
        ApiError::new(
            409,
            "Conflict",
            format!("Operation cannot be fulfilled on {q} \"{name}\": {detail}"),
        )
        .with_details(q, name)
    }

    /// The optimistic-concurrency conflict clients retry on.
    pub fn modified(q: Qualified<'_>, name: &str) -> Self {
        Self::conflict(
            q,
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
        )
    }

    /// 422 Invalid with one cause per field error: `Kind "name" is invalid: [e1, e2]`.
    pub fn invalid(group: &str, kind: &str, name: &str, errors: &[FieldError]) -> Self {
        let rendered: Vec<String> = errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message()))
            .collect();
        let list = if rendered.len() == 1 {
            rendered[0].clone()
        } else {
            format!("[{}]", rendered.join(", "))
        };
        let qualified_kind = if group.is_empty() {
            kind.to_string()
        } else {
            format!("{kind}.{group}")
        };
        let mut err = ApiError::new(
            422,
            "Invalid",
            format!("{qualified_kind} \"{name}\" is invalid: {list}"),
        );
        err.details = Some(Box::new(Details {
            name: name.to_string(),
            group: group.to_string(),
            kind: kind.to_string(),
            causes: errors
                .iter()
                .map(|e| Cause {
                    reason: e.reason().to_string(),
                    message: e.message(),
                    field: e.field.clone(),
                })
                .collect(),
            ..Default::default()
        }));
        err
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(400, "BadRequest", message)
    }

    pub fn forbidden(q: Qualified<'_>, name: &str, detail: &str) -> Self {
        let what = if name.is_empty() {
            format!("{q}")
        } else {
            format!("{q} \"{name}\"")
        };
        ApiError::new(403, "Forbidden", format!("{what} is forbidden: {detail}"))
            .with_details(q, name)
    }

    pub fn method_not_allowed(message: impl Into<String>) -> Self {
        ApiError::new(405, "MethodNotAllowed", message)
    }

    pub fn not_acceptable(message: impl Into<String>) -> Self {
        ApiError::new(406, "NotAcceptable", message)
    }

    pub fn unsupported_media_type(message: impl Into<String>) -> Self {
        ApiError::new(415, "UnsupportedMediaType", message)
    }

    pub fn expired(message: impl Into<String>) -> Self {
        ApiError::new(410, "Expired", message)
    }

    pub fn gone(message: impl Into<String>) -> Self {
        ApiError::new(410, "Gone", message)
    }

    pub fn too_large(message: impl Into<String>) -> Self {
        ApiError::new(413, "RequestEntityTooLarge", message)
    }

    pub fn timeout(message: impl Into<String>, retry_after_seconds: u32) -> Self {
        let mut e = ApiError::new(504, "Timeout", message);
        e.details = Some(Box::new(Details {
            retry_after_seconds,
            ..Default::default()
        }));
        e
    }

    pub fn internal(message: impl Into<String>) -> Self {
        ApiError::new(
            500,
            "InternalError",
            format!("Internal error occurred: {}", message.into()),
        )
    }

    /// Seconds for the `Retry-After` header, when the error carries them.
    pub fn retry_after(&self) -> Option<u32> {
        self.details
            .as_ref()
            .map(|d| d.retry_after_seconds)
            .filter(|s| *s > 0)
    }

    /// The `Status` object, in kube-apiserver's field order.
    pub fn to_status(&self) -> Value {
        let mut m = Map::new();
        m.insert("kind".into(), json!("Status"));
        m.insert("apiVersion".into(), json!("v1"));
        m.insert("metadata".into(), json!({}));
        m.insert("status".into(), json!("Failure"));
        m.insert("message".into(), json!(self.message));
        m.insert("reason".into(), json!(self.reason));
        if let Some(d) = &self.details {
            let mut dm = Map::new();
            if !d.name.is_empty() {
                dm.insert("name".into(), json!(d.name));
            }
            if !d.group.is_empty() {
                dm.insert("group".into(), json!(d.group));
            }
            if !d.kind.is_empty() {
                dm.insert("kind".into(), json!(d.kind));
            }
            if !d.uid.is_empty() {
                dm.insert("uid".into(), json!(d.uid));
            }
            if !d.causes.is_empty() {
                let causes: Vec<Value> = d
                    .causes
                    .iter()
                    .map(|c| {
                        let mut cm = Map::new();
                        cm.insert("reason".into(), json!(c.reason));
                        cm.insert("message".into(), json!(c.message));
                        cm.insert("field".into(), json!(c.field));
                        Value::Object(cm)
                    })
                    .collect();
                dm.insert("causes".into(), Value::Array(causes));
            }
            if d.retry_after_seconds > 0 {
                dm.insert("retryAfterSeconds".into(), json!(d.retry_after_seconds));
            }
            m.insert("details".into(), Value::Object(dm));
        }
        m.insert("code".into(), json!(self.code));
        Value::Object(m)
    }
}

/// A `Status` with `status: Success`, as delete answers for kinds that do not return the object.
pub fn success_status(q: Qualified<'_>, name: &str, uid: &str) -> Value {
    let mut details = Map::new();
    details.insert("name".into(), json!(name));
    if !q.group.is_empty() {
        details.insert("group".into(), json!(q.group));
    }
    details.insert("kind".into(), json!(q.resource));
    if !uid.is_empty() {
        details.insert("uid".into(), json!(uid));
    }
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": Value::Object(details)})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_matches_kube() {
        let e = ApiError::not_found(
            Qualified {
                group: "apps",
                resource: "deployments",
            },
            "x",
        );
        assert_eq!(e.message, "deployments.apps \"x\" not found");
        let s = e.to_status();
        assert_eq!(s["details"]["kind"], "deployments");
        assert_eq!(s["details"]["group"], "apps");
        assert_eq!(s["code"], 404);
        let keys: Vec<&String> = s
            .as_object()
            .map(|m| m.keys().collect())
            .unwrap_or_default();
        assert_eq!(
            keys,
            [
                "kind",
                "apiVersion",
                "metadata",
                "status",
                "message",
                "reason",
                "details",
                "code"
            ]
        );
    }

    #[test]
    fn conflict_message() {
        let e = ApiError::modified(
            Qualified {
                group: "",
                resource: "pods",
            },
            "x",
        );
        assert_eq!(
            e.message,
            "Operation cannot be fulfilled on pods \"x\": the object has been modified; please apply your changes to the latest version and try again"
        );
        assert_eq!(e.code, 409);
    }
}
