//! Field selectors, as `k8s.io/apimachinery/pkg/fields` parses them and as kube-apiserver
//! checks and evaluates them per kind.
//!
//! Syntax: comma-separated `field=value`, `field==value`, `field!=value`; in values `\,`,
//! `\=` and `\\` escape the special characters (an unescaped `,` or `=` in a value, or any
//! other escape, is an error). Terms are kept in kube's order (sorted as written).
//!
//! kube-apiserver then runs each term through the kind's field-label conversion
//! ([`convert`]); an unsupported field is a 400 with the kind's message, e.g.
//! `"data.a" is not a known field selector: only "metadata.name", "metadata.namespace"` or
//! `field label not supported: spec.foo` (for kinds with their own list). Matching uses the
//! kind's selectable field set ([`field_value`]); a field that is not in the set reads as "".

use std::fmt;

use serde_json::Value;

use crate::validation::go_quote;

pub use crate::labels::SelectorError;

/// A field selector operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldOperator {
    /// `=`
    Equals,
    /// `==` (same meaning as `=`; printed as `=`)
    DoubleEquals,
    /// `!=`
    NotEquals,
}

/// One term: `field op value`, the value unescaped.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FieldRequirement {
    /// The field label, e.g. `metadata.name` (never unescaped: kube does not).
    pub field: String,
    /// The operator.
    pub operator: FieldOperator,
    /// The value, with `\,`, `\=`, `\\` unescaped.
    pub value: String,
}

impl FieldRequirement {
    /// Whether the term holds when the field reads `actual` (missing fields read as "").
    pub fn matches(&self, actual: &str) -> bool {
        match self.operator {
            FieldOperator::Equals | FieldOperator::DoubleEquals => actual == self.value,
            FieldOperator::NotEquals => actual != self.value,
        }
    }
}

impl fmt::Display for FieldRequirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = match self.operator {
            FieldOperator::Equals | FieldOperator::DoubleEquals => "=",
            FieldOperator::NotEquals => "!=",
        };
        write!(f, "{}{}{}", self.field, op, escape_value(&self.value))
    }
}

/// A parsed field selector: the AND of its terms.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FieldSelector {
    terms: Vec<FieldRequirement>,
}

impl FieldSelector {
    /// The selector that matches everything.
    pub fn everything() -> Self {
        FieldSelector::default()
    }

    /// A selector with the single term `field=value` (`fields.OneTermEqualSelector`).
    pub fn one_term_equal(field: impl Into<String>, value: impl Into<String>) -> Self {
        FieldSelector {
            terms: vec![FieldRequirement {
                field: field.into(),
                operator: FieldOperator::Equals,
                value: value.into(),
            }],
        }
    }

    /// Parses a `fieldSelector` query value as `fields.ParseSelector` does.
    pub fn parse(selector: &str) -> Result<FieldSelector, SelectorError> {
        let mut parts = split_terms(selector);
        parts.sort();
        let mut terms = Vec::new();
        for part in parts {
            if part.is_empty() {
                continue;
            }
            let Some((lhs, op, rhs)) = split_term(part) else {
                return Err(SelectorError::new(format!(
                    "invalid selector: '{selector}'; can't understand '{part}'"
                )));
            };
            let value = unescape_value(rhs)?;
            terms.push(FieldRequirement {
                field: lhs.to_string(),
                operator: op,
                value,
            });
        }
        Ok(FieldSelector { terms })
    }

    /// The AND of two selectors (`fields.AndSelectors`): this one's terms, then `other`'s.
    pub fn and(mut self, other: FieldSelector) -> FieldSelector {
        self.terms.extend(other.terms);
        self
    }

    /// The terms, in kube's order.
    pub fn requirements(&self) -> &[FieldRequirement] {
        &self.terms
    }

    /// True when the selector does not restrict anything.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// kube's `RequiresExactMatch`: the value of the first `field=value` term for `field`.
    pub fn requires_exact_match(&self, field: &str) -> Option<&str> {
        self.terms
            .iter()
            .find(|t| {
                t.field == field
                    && matches!(
                        t.operator,
                        FieldOperator::Equals | FieldOperator::DoubleEquals
                    )
            })
            .map(|t| t.value.as_str())
    }

    /// Whether every term holds; `get` returns a field's value, `None` reading as "".
    pub fn matches(&self, get: impl Fn(&str) -> Option<String>) -> bool {
        self.terms
            .iter()
            .all(|t| t.matches(get(&t.field).as_deref().unwrap_or("")))
    }

    /// Matches a stored object of a built-in kind, after [`convert`] (the terms must carry
    /// kube's internal field labels, which [`convert`] produces).
    pub fn matches_object(&self, group: &str, kind: &str, object: &Value) -> bool {
        self.matches(|f| field_value(group, kind, object, f))
    }

    /// Applies `f` to every term (kube's `Transform`), stopping at the first error.
    pub fn transform(
        &self,
        mut f: impl FnMut(&str, &str) -> Result<(String, String), SelectorError>,
    ) -> Result<FieldSelector, SelectorError> {
        let mut terms = Vec::with_capacity(self.terms.len());
        for t in &self.terms {
            let (field, value) = f(&t.field, &t.value)?;
            terms.push(FieldRequirement {
                field,
                operator: t.operator,
                value,
            });
        }
        Ok(FieldSelector { terms })
    }
}

impl fmt::Display for FieldSelector {
    /// kube's `String()`: terms joined by `,`, values escaped, `==` printed as `=`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, t) in self.terms.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{t}")?;
        }
        Ok(())
    }
}

/// `fields.EscapeValue`: `\` → `\\`, `,` → `\,`, `=` → `\=`.
pub fn escape_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | ',' | '=') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `fields.UnescapeValue`.
pub fn unescape_value(s: &str) -> Result<String, SelectorError> {
    if !s.contains(['\\', ',', '=']) {
        return Ok(s.to_string());
    }
    let mut out = String::with_capacity(s.len());
    let mut in_slash = false;
    for c in s.chars() {
        if in_slash {
            match c {
                '\\' | ',' | '=' => out.push(c),
                _ => {
                    return Err(SelectorError::new(format!(
                        "invalid field selector: invalid escape sequence: \\{c}"
                    )));
                }
            }
            in_slash = false;
            continue;
        }
        match c {
            '\\' => in_slash = true,
            // Go prints the rune with %v: its code point in decimal.
            ',' | '=' => {
                return Err(SelectorError::new(format!(
                    "invalid field selector: unescaped character in value: {}",
                    c as u32
                )));
            }
            _ => out.push(c),
        }
    }
    if in_slash {
        return Err(SelectorError::new(
            "invalid field selector: invalid escape sequence: \\",
        ));
    }
    Ok(out)
}

/// Splits on commas not preceded by a backslash (the backslash is kept).
fn split_terms(selector: &str) -> Vec<&str> {
    if selector.is_empty() {
        return Vec::new();
    }
    let mut terms = Vec::new();
    let mut start = 0;
    let mut in_slash = false;
    for (i, c) in selector.char_indices() {
        if in_slash {
            in_slash = false;
        } else if c == '\\' {
            in_slash = true;
        } else if c == ',' {
            terms.push(&selector[start..i]);
            start = i + 1;
        }
    }
    terms.push(&selector[start..]);
    terms
}

/// The first operator occurrence, trying `!=`, `==`, `=` at each position.
fn split_term(term: &str) -> Option<(&str, FieldOperator, &str)> {
    for (i, _) in term.char_indices() {
        let rest = &term[i..];
        for (op, kind) in [
            ("!=", FieldOperator::NotEquals),
            ("==", FieldOperator::DoubleEquals),
            ("=", FieldOperator::Equals),
        ] {
            if let Some(rhs) = rest.strip_prefix(op) {
                return Some((&term[..i], kind, rhs));
            }
        }
    }
    None
}

// ---------------------------------------------------------------------------------------
// Per-kind field labels
// ---------------------------------------------------------------------------------------

/// How a kind with its own field list rejects an unknown label (kinds without one use
/// `DefaultMetaV1FieldSelectorConversion`'s message).
#[derive(Clone, Copy)]
enum Reject {
    /// `field label not supported: %s`
    NotSupported,
    /// `field label %q not supported for batchv1.Job`
    BatchJob,
    /// `field label not supported for <gvk>: %s`
    WithGvk,
}

const POD_FIELDS: &[(&str, &str)] = &[
    ("metadata.name", "metadata.name"),
    ("metadata.namespace", "metadata.namespace"),
    ("spec.nodeName", "spec.nodeName"),
    ("spec.restartPolicy", "spec.restartPolicy"),
    ("spec.schedulerName", "spec.schedulerName"),
    ("spec.serviceAccountName", "spec.serviceAccountName"),
    ("spec.hostNetwork", "spec.hostNetwork"),
    ("status.phase", "status.phase"),
    ("status.podIP", "status.podIP"),
    ("status.podIPs", "status.podIPs"),
    ("status.nominatedNodeName", "status.nominatedNodeName"),
    // backwards compatibility with old v1 clients
    ("spec.host", "spec.nodeName"),
];

const CORE_EVENT_FIELDS: &[(&str, &str)] = &[
    ("involvedObject.kind", "involvedObject.kind"),
    ("involvedObject.namespace", "involvedObject.namespace"),
    ("involvedObject.name", "involvedObject.name"),
    ("involvedObject.uid", "involvedObject.uid"),
    ("involvedObject.apiVersion", "involvedObject.apiVersion"),
    (
        "involvedObject.resourceVersion",
        "involvedObject.resourceVersion",
    ),
    ("involvedObject.fieldPath", "involvedObject.fieldPath"),
    ("reason", "reason"),
    ("reportingComponent", "reportingComponent"),
    ("source", "source"),
    ("type", "type"),
    ("metadata.namespace", "metadata.namespace"),
    ("metadata.name", "metadata.name"),
];

const EVENTS_V1_FIELDS: &[(&str, &str)] = &[
    ("reason", "reason"),
    ("regarding.kind", "involvedObject.kind"),
    ("regarding.namespace", "involvedObject.namespace"),
    ("regarding.name", "involvedObject.name"),
    ("regarding.uid", "involvedObject.uid"),
    ("regarding.apiVersion", "involvedObject.apiVersion"),
    (
        "regarding.resourceVersion",
        "involvedObject.resourceVersion",
    ),
    ("regarding.fieldPath", "involvedObject.fieldPath"),
    ("reportingController", "reportingComponent"),
    ("source", "source"),
    ("type", "type"),
    ("metadata.namespace", "metadata.namespace"),
    ("metadata.name", "metadata.name"),
];

fn same(labels: &'static [&'static str]) -> Vec<(&'static str, &'static str)> {
    labels.iter().map(|l| (*l, *l)).collect()
}

fn kind_fields(group: &str, kind: &str) -> Option<(Vec<(&'static str, &'static str)>, Reject)> {
    let ns = Reject::NotSupported;
    Some(match (group, kind) {
        ("", "Pod") => (POD_FIELDS.to_vec(), ns),
        ("", "Node") => (same(&["metadata.name", "spec.unschedulable"]), ns),
        ("", "ReplicationController") => (
            same(&["metadata.name", "metadata.namespace", "status.replicas"]),
            ns,
        ),
        ("", "Event") => (CORE_EVENT_FIELDS.to_vec(), ns),
        ("", "Namespace") => (same(&["status.phase", "metadata.name"]), ns),
        ("", "Secret") => (same(&["type", "metadata.namespace", "metadata.name"]), ns),
        ("", "Service") => (
            same(&[
                "metadata.namespace",
                "metadata.name",
                "spec.clusterIP",
                "spec.type",
            ]),
            ns,
        ),
        ("batch", "Job") => (
            same(&["metadata.name", "metadata.namespace", "status.successful"]),
            Reject::BatchJob,
        ),
        ("certificates.k8s.io", "CertificateSigningRequest" | "ClusterTrustBundle") => {
            (same(&["metadata.name", "spec.signerName"]), ns)
        }
        ("certificates.k8s.io", "PodCertificateRequest") => (
            same(&[
                "metadata.name",
                "spec.signerName",
                "spec.podName",
                "spec.nodeName",
            ]),
            ns,
        ),
        ("events.k8s.io", "Event") => (EVENTS_V1_FIELDS.to_vec(), ns),
        ("resource.k8s.io", "ResourceSlice") => (
            same(&["metadata.name", "spec.nodeName", "spec.driver"]),
            Reject::WithGvk,
        ),
        _ => return None,
    })
}

/// The field labels kube-apiserver accepts for a built-in kind, as written by clients
/// (`metadata.name` and `metadata.namespace` for kinds without their own list).
pub fn supported_fields(group: &str, kind: &str) -> Vec<&'static str> {
    match kind_fields(group, kind) {
        Some((accepted, _)) => accepted.iter().map(|(l, _)| *l).collect(),
        None => vec!["metadata.name", "metadata.namespace"],
    }
}

/// kube's `ConvertFieldLabel` for one label of a built-in kind: the internal label, or the
/// error kube-apiserver returns (as a 400) for an unsupported one. `version` only appears in
/// some messages (ResourceSlice); pass the request's version.
pub fn convert_field_label(
    group: &str,
    version: &str,
    kind: &str,
    label: &str,
) -> Result<&'static str, SelectorError> {
    let Some((accepted, reject)) = kind_fields(group, kind) else {
        return match label {
            "metadata.name" => Ok("metadata.name"),
            "metadata.namespace" => Ok("metadata.namespace"),
            _ => Err(SelectorError::new(format!(
                "{} is not a known field selector: only \"metadata.name\", \"metadata.namespace\"",
                go_quote(label)
            ))),
        };
    };
    if let Some((_, internal)) = accepted.iter().find(|(l, _)| *l == label) {
        return Ok(internal);
    }
    Err(SelectorError::new(match reject {
        Reject::NotSupported => format!("field label not supported: {label}"),
        Reject::BatchJob => format!(
            "field label {} not supported for batchv1.Job",
            go_quote(label)
        ),
        Reject::WithGvk => {
            let gv = if group.is_empty() {
                version.to_string()
            } else {
                format!("{group}/{version}")
            };
            format!("field label not supported for {gv}, Kind={kind}: {label}")
        }
    }))
}

/// Runs every term through the kind's field-label conversion (kube's `Transform` with
/// `ConvertFieldLabel`), returning the selector with internal labels, or the first error.
pub fn convert(
    group: &str,
    version: &str,
    kind: &str,
    selector: &FieldSelector,
) -> Result<FieldSelector, SelectorError> {
    selector.transform(|field, value| {
        convert_field_label(group, version, kind, field).map(|f| (f.to_string(), value.to_string()))
    })
}

/// Checks that every field of `selector` is supported for the kind (the 400 kube-apiserver
/// returns otherwise). Uses the kind's preferred version in version-bearing messages.
pub fn validate_fields(
    group: &str,
    kind: &str,
    selector: &FieldSelector,
) -> Result<(), SelectorError> {
    convert(group, "v1", kind, selector).map(|_| ())
}

/// The field-label conversion of a custom resource (`crConverter.ConvertFieldLabel`):
/// `metadata.name`, `metadata.namespace` unless cluster-scoped, and the CRD version's
/// `selectableFields` (their `jsonPath` without the leading `.`).
pub fn convert_custom(
    namespaced: bool,
    selectable: &[&str],
    selector: &FieldSelector,
) -> Result<FieldSelector, SelectorError> {
    selector.transform(|field, value| {
        let ok = field == "metadata.name"
            || (namespaced && field == "metadata.namespace")
            || selectable
                .iter()
                .any(|s| s.strip_prefix('.').unwrap_or(s) == field);
        if ok {
            Ok((field.to_string(), value.to_string()))
        } else {
            Err(SelectorError::new(format!(
                "field label not supported: {field}"
            )))
        }
    })
}

/// The value of a simple dotted path in a custom resource, as a selectable field reads:
/// strings as is, integers in decimal, booleans `true`/`false`; `None` when absent or of
/// another type.
pub fn custom_field_value(object: &Value, path: &str) -> Option<String> {
    let path = path.strip_prefix('.').unwrap_or(path);
    let v = lookup(object, path)?;
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        _ => None,
    }
}

fn lookup<'a>(object: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = object;
    for seg in path.split('.') {
        cur = cur.get(seg)?;
    }
    Some(cur)
}

fn str_at(object: &Value, path: &str) -> String {
    lookup(object, path)
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

fn int_at(object: &Value, path: &str) -> String {
    lookup(object, path)
        .and_then(Value::as_i64)
        .unwrap_or(0)
        .to_string()
}

fn bool_at(object: &Value, path: &str) -> String {
    lookup(object, path)
        .and_then(Value::as_bool)
        .unwrap_or(false)
        .to_string()
}

/// The value kube-apiserver matches a field selector against, for a stored object of a
/// built-in kind (its registry's `ToSelectableFields`), or `None` when the field is not in
/// the kind's field set (which matches as ""). `field` may be the label as clients write it
/// or the internal label [`convert`] produces. Examples: a pod without `spec.nodeName` gives
/// `Some("")`; `spec.hostNetwork` gives `"true"`/`"false"`; `status.podIPs` is accepted but
/// never set, so `None`; `metadata.namespace` of a cluster-scoped object is `None`.
pub fn field_value(group: &str, kind: &str, object: &Value, field: &str) -> Option<String> {
    // Client labels that differ from the internal ones.
    let field = match (group, kind) {
        ("", "Pod") if field == "spec.host" => "spec.nodeName",
        ("events.k8s.io", "Event") => EVENTS_V1_FIELDS
            .iter()
            .find(|(l, _)| *l == field)
            .map(|(_, internal)| *internal)
            .unwrap_or(field),
        _ => field,
    };
    match field {
        "metadata.name" => return Some(str_at(object, "metadata.name")),
        "metadata.namespace" => {
            return object
                .get("metadata")
                .and_then(|m| m.get("namespace"))
                .and_then(Value::as_str)
                .map(str::to_string)
                .or_else(|| cluster_scoped_namespace(group, kind));
        }
        _ => {}
    }
    let v = match (group, kind, field) {
        (
            "",
            "Pod",
            "spec.nodeName"
            | "spec.restartPolicy"
            | "spec.schedulerName"
            | "spec.serviceAccountName",
        ) => str_at(object, field),
        ("", "Pod", "spec.hostNetwork") => bool_at(object, "spec.hostNetwork"),
        ("", "Pod", "status.phase" | "status.nominatedNodeName") => str_at(object, field),
        ("", "Pod", "status.podIP") => {
            // Internally only podIPs exist; v1 podIP converts to podIPs[0] when podIPs is empty.
            match lookup(object, "status.podIPs").and_then(Value::as_array) {
                Some(ips) if !ips.is_empty() => ips[0]
                    .get("ip")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                _ => str_at(object, "status.podIP"),
            }
        }
        ("", "Node", "spec.unschedulable") => bool_at(object, field),
        ("", "ReplicationController", "status.replicas") => int_at(object, field),
        ("", "Namespace", "status.phase") => str_at(object, field),
        ("", "Secret", "type") => str_at(object, "type"),
        ("", "Service", "spec.clusterIP" | "spec.type") => str_at(object, field),
        ("", "Event", f) => core_event_field(object, f)?,
        ("events.k8s.io", "Event", f) => events_v1_field(object, f)?,
        ("batch", "Job", "status.successful") => int_at(object, "status.succeeded"),
        (
            "certificates.k8s.io",
            "CertificateSigningRequest" | "ClusterTrustBundle",
            "spec.signerName",
        ) => str_at(object, field),
        (
            "certificates.k8s.io",
            "PodCertificateRequest",
            "spec.signerName" | "spec.podName" | "spec.nodeName",
        ) => str_at(object, field),
        ("resource.k8s.io", "ResourceSlice", "spec.nodeName" | "spec.driver") => {
            str_at(object, field)
        }
        _ => return None,
    };
    Some(v)
}

/// Cluster-scoped kinds have no `metadata.namespace` in their field set.
fn cluster_scoped_namespace(group: &str, kind: &str) -> Option<String> {
    match (group, kind) {
        ("", "Node" | "Namespace" | "PersistentVolume") => None,
        _ => Some(String::new()),
    }
}

fn core_event_field(object: &Value, field: &str) -> Option<String> {
    Some(match field {
        "involvedObject.kind"
        | "involvedObject.namespace"
        | "involvedObject.name"
        | "involvedObject.uid"
        | "involvedObject.apiVersion"
        | "involvedObject.resourceVersion"
        | "involvedObject.fieldPath"
        | "reason"
        | "type"
        | "reportingComponent" => str_at(object, field),
        "source" => {
            let component = str_at(object, "source.component");
            if component.is_empty() {
                str_at(object, "reportingComponent")
            } else {
                component
            }
        }
        _ => return None,
    })
}

fn events_v1_field(object: &Value, field: &str) -> Option<String> {
    Some(match field {
        "involvedObject.kind"
        | "involvedObject.namespace"
        | "involvedObject.name"
        | "involvedObject.uid"
        | "involvedObject.apiVersion"
        | "involvedObject.resourceVersion"
        | "involvedObject.fieldPath" => {
            let sub = field.trim_start_matches("involvedObject.");
            str_at(object, &format!("regarding.{sub}"))
        }
        "reason" | "type" => str_at(object, field),
        "reportingComponent" => str_at(object, "reportingController"),
        "source" => {
            let component = str_at(object, "deprecatedSource.component");
            if component.is_empty() {
                str_at(object, "reportingController")
            } else {
                component
            }
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn parse_and_print() {
        let cases = [
            ("", ""),
            ("a=b", "a=b"),
            ("a==b", "a=b"),
            ("a!=b", "a!=b"),
            ("b=1,a=2", "a=2,b=1"),
            ("a=b,,c=d,", "a=b,c=d"),
            ("a=", "a="),
            ("=x", "=x"),
            ("a=x\\,y", "a=x\\,y"),
            ("a=x\\=y\\\\z", "a=x\\=y\\\\z"),
            ("metadata.name=foo", "metadata.name=foo"),
            ("a= b ", "a= b "),
        ];
        for (input, want) in cases {
            let s = FieldSelector::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
            assert_eq!(s.to_string(), want, "{input:?}");
        }
        let s = FieldSelector::parse("a=x\\,y\\=z\\\\").expect("ok");
        assert_eq!(s.requirements()[0].value, "x,y=z\\");
        assert_eq!(s.requirements()[0].field, "a");
    }

    #[test]
    fn parse_errors() {
        let cases = [
            ("abc", "invalid selector: 'abc'; can't understand 'abc'"),
            ("a=b,c", "invalid selector: 'a=b,c'; can't understand 'c'"),
            (
                "a=b=c",
                "invalid field selector: unescaped character in value: 61",
            ),
            (
                "a===b",
                "invalid field selector: unescaped character in value: 61",
            ),
            (
                "a=b!=c",
                "invalid field selector: unescaped character in value: 61",
            ),
            (
                "a=b\\n",
                "invalid field selector: invalid escape sequence: \\n",
            ),
            (
                "a=b\\",
                "invalid field selector: invalid escape sequence: \\",
            ),
            (
                "a=\\,x\\",
                "invalid field selector: invalid escape sequence: \\",
            ),
        ];
        for (input, want) in cases {
            let e = FieldSelector::parse(input).expect_err(input);
            assert_eq!(e.to_string(), want, "{input:?}");
        }
    }

    #[test]
    fn matching() {
        let pod = json!({"metadata": {"name": "p", "namespace": "ns"}, "spec": {"restartPolicy": "Always"},
                         "status": {"phase": "Running", "podIPs": [{"ip": "10.0.0.1"}]}});
        let cases = [
            ("", true),
            ("metadata.name=p", true),
            ("metadata.name==p", true),
            ("metadata.name!=p", false),
            ("metadata.namespace=ns,status.phase=Running", true),
            ("spec.nodeName=", true),
            ("spec.host=", true),
            ("spec.nodeName!=", false),
            ("spec.hostNetwork=false", true),
            ("status.podIP=10.0.0.1", true),
            ("status.podIPs=", true),
            ("status.podIPs=10.0.0.1", false),
            ("status.phase=Pending", false),
        ];
        for (sel, want) in cases {
            let s = FieldSelector::parse(sel).expect(sel);
            let s = convert("", "v1", "Pod", &s).expect(sel);
            assert_eq!(s.matches_object("", "Pod", &pod), want, "{sel}");
        }
        let s = FieldSelector::parse("x=").expect("ok");
        assert!(s.matches(|_| None));
        let both = FieldSelector::parse("a=1")
            .expect("ok")
            .and(FieldSelector::one_term_equal("metadata.name", "n"));
        assert_eq!(both.to_string(), "a=1,metadata.name=n");
        assert_eq!(
            FieldSelector::parse("a!=b,metadata.name=x")
                .expect("ok")
                .requires_exact_match("metadata.name"),
            Some("x")
        );
    }

    #[test]
    fn unknown_fields() {
        let cases = [
            (
                "",
                "ConfigMap",
                "data.a=b",
                "\"data.a\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\"",
            ),
            (
                "apps",
                "ReplicaSet",
                "status.replicas=0",
                "\"status.replicas\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\"",
            ),
            (
                "networking.k8s.io",
                "Ingress",
                "foo.bar=baz",
                "\"foo.bar\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\"",
            ),
            (
                "",
                "Pod",
                "spec.foo=x",
                "field label not supported: spec.foo",
            ),
            (
                "",
                "Node",
                "metadata.namespace=x",
                "field label not supported: metadata.namespace",
            ),
            (
                "",
                "Namespace",
                "metadata.namespace=x",
                "field label not supported: metadata.namespace",
            ),
            ("", "Secret", "data=x", "field label not supported: data"),
            (
                "",
                "Event",
                "involvedObject.foo=x",
                "field label not supported: involvedObject.foo",
            ),
            (
                "events.k8s.io",
                "Event",
                "involvedObject.name=x",
                "field label not supported: involvedObject.name",
            ),
            (
                "batch",
                "Job",
                "status.succeeded=1",
                "field label \"status.succeeded\" not supported for batchv1.Job",
            ),
            (
                "certificates.k8s.io",
                "CertificateSigningRequest",
                "metadata.namespace=x",
                "field label not supported: metadata.namespace",
            ),
            (
                "resource.k8s.io",
                "ResourceSlice",
                "spec.pool.name=x",
                "field label not supported for resource.k8s.io/v1, Kind=ResourceSlice: spec.pool.name",
            ),
            // the first failing term in sorted order is reported
            (
                "",
                "ConfigMap",
                "z=1,b=2",
                "\"b\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\"",
            ),
        ];
        for (group, kind, sel, want) in cases {
            let s = FieldSelector::parse(sel).expect(sel);
            let e = validate_fields(group, kind, &s).expect_err(sel);
            assert_eq!(e.to_string(), want, "{kind} {sel}");
        }
        let ok = [
            ("", "ConfigMap", "metadata.name=a,metadata.namespace=b"),
            (
                "",
                "Pod",
                "spec.nodeName=n,spec.restartPolicy=Always,spec.schedulerName=s,spec.serviceAccountName=sa,spec.hostNetwork=true,status.phase=Running,status.podIP=1,status.podIPs=1,status.nominatedNodeName=n,spec.host=h",
            ),
            (
                "",
                "Event",
                "involvedObject.kind=Pod,involvedObject.namespace=a,involvedObject.name=b,involvedObject.uid=c,involvedObject.apiVersion=v1,involvedObject.resourceVersion=1,involvedObject.fieldPath=x,reason=r,reportingComponent=c,source=s,type=Normal",
            ),
            (
                "events.k8s.io",
                "Event",
                "regarding.kind=Pod,regarding.name=x,reportingController=c,type=Normal,reason=r,source=s",
            ),
            ("", "Service", "spec.clusterIP=None,spec.type=ClusterIP"),
            ("", "Secret", "type=Opaque"),
            ("", "Namespace", "status.phase=Active,metadata.name=x"),
            ("", "Node", "spec.unschedulable=true"),
            ("", "ReplicationController", "status.replicas=1"),
            ("batch", "Job", "status.successful=1"),
            (
                "certificates.k8s.io",
                "CertificateSigningRequest",
                "spec.signerName=x",
            ),
        ];
        for (group, kind, sel) in ok {
            let s = FieldSelector::parse(sel).expect(sel);
            assert!(validate_fields(group, kind, &s).is_ok(), "{kind} {sel}");
        }
    }

    #[test]
    fn values_per_kind() {
        let ev = json!({"involvedObject": {"kind": "Pod", "name": "p", "uid": "u"}, "reason": "Started",
                        "type": "Normal", "reportingComponent": "kubelet", "source": {}});
        assert_eq!(
            field_value("", "Event", &ev, "involvedObject.kind").as_deref(),
            Some("Pod")
        );
        assert_eq!(
            field_value("", "Event", &ev, "involvedObject.namespace").as_deref(),
            Some("")
        );
        assert_eq!(
            field_value("", "Event", &ev, "source").as_deref(),
            Some("kubelet")
        );
        assert_eq!(
            field_value("", "Event", &ev, "reportingComponent").as_deref(),
            Some("kubelet")
        );

        let ev1 = json!({"regarding": {"kind": "Pod", "name": "p"}, "reportingController": "ctl",
                         "deprecatedSource": {"component": "old"}, "type": "Warning"});
        let s = convert(
            "events.k8s.io",
            "v1",
            "Event",
            &FieldSelector::parse(
                "regarding.kind=Pod,reportingController=ctl,source=old,type=Warning",
            )
            .expect("ok"),
        )
        .expect("ok");
        assert_eq!(
            s.to_string(),
            "involvedObject.kind=Pod,reportingComponent=ctl,source=old,type=Warning"
        );
        assert!(s.matches_object("events.k8s.io", "Event", &ev1));

        let job = json!({"status": {}});
        assert_eq!(
            field_value("batch", "Job", &job, "status.successful").as_deref(),
            Some("0")
        );
        let node = json!({"metadata": {"name": "n"}, "spec": {"unschedulable": true}});
        assert_eq!(
            field_value("", "Node", &node, "spec.unschedulable").as_deref(),
            Some("true")
        );
        assert_eq!(field_value("", "Node", &node, "metadata.namespace"), None);
        let rc = json!({"status": {"replicas": 3}});
        assert_eq!(
            field_value("", "ReplicationController", &rc, "status.replicas").as_deref(),
            Some("3")
        );
        let secret = json!({"type": "kubernetes.io/tls"});
        assert_eq!(
            field_value("", "Secret", &secret, "type").as_deref(),
            Some("kubernetes.io/tls")
        );
        let pod = json!({"spec": {"hostNetwork": true}, "status": {"podIP": "1.2.3.4"}});
        assert_eq!(
            field_value("", "Pod", &pod, "spec.hostNetwork").as_deref(),
            Some("true")
        );
        assert_eq!(
            field_value("", "Pod", &pod, "spec.nodeName").as_deref(),
            Some("")
        );
        assert_eq!(
            field_value("", "Pod", &pod, "status.podIP").as_deref(),
            Some("1.2.3.4")
        );
        assert_eq!(field_value("", "Pod", &pod, "status.podIPs"), None);
        assert_eq!(
            field_value("", "ConfigMap", &json!({}), "metadata.namespace").as_deref(),
            Some("")
        );
        assert_eq!(field_value("", "ConfigMap", &json!({}), "data.x"), None);
    }

    #[test]
    fn custom_resources() {
        let s = FieldSelector::parse("spec.color=red,metadata.namespace=a").expect("ok");
        assert!(convert_custom(true, &[".spec.color"], &s).is_ok());
        assert_eq!(
            convert_custom(false, &[".spec.color"], &s)
                .expect_err("cluster")
                .to_string(),
            "field label not supported: metadata.namespace"
        );
        assert_eq!(
            convert_custom(true, &[], &s).expect_err("none").to_string(),
            "field label not supported: spec.color"
        );
        let obj = json!({"spec": {"color": "red", "size": 3, "on": false, "x": 1.5}});
        assert_eq!(
            custom_field_value(&obj, ".spec.color").as_deref(),
            Some("red")
        );
        assert_eq!(custom_field_value(&obj, "spec.size").as_deref(), Some("3"));
        assert_eq!(
            custom_field_value(&obj, "spec.on").as_deref(),
            Some("false")
        );
        assert_eq!(custom_field_value(&obj, "spec.x"), None);
        assert_eq!(custom_field_value(&obj, "spec.missing"), None);
    }

    proptest! {
        #[test]
        fn round_trip(terms in proptest::collection::vec(("[a-z.]{1,8}", 0..3usize, ".{0,8}"), 0..5)) {
            let mut sel = FieldSelector::everything();
            for (field, op, value) in &terms {
                sel.terms.push(FieldRequirement {
                    field: field.clone(),
                    operator: [FieldOperator::Equals, FieldOperator::DoubleEquals, FieldOperator::NotEquals][*op],
                    value: value.clone(),
                });
            }
            let printed = sel.to_string();
            let parsed = FieldSelector::parse(&printed).map_err(|e| TestCaseError::fail(format!("{printed:?}: {e}")))?;
            // Parsing sorts terms; compare as multisets of (field, negated, value).
            let key = |s: &FieldSelector| {
                let mut v: Vec<(String, bool, String)> = s.terms.iter()
                    .map(|t| (t.field.clone(), t.operator == FieldOperator::NotEquals, t.value.clone()))
                    .collect();
                v.sort();
                v
            };
            prop_assert_eq!(key(&sel), key(&parsed));
            let reprinted = parsed.to_string();
            let again = FieldSelector::parse(&reprinted).map_err(|e| TestCaseError::fail(format!("{reprinted:?}: {e}")))?;
            prop_assert_eq!(&parsed, &again);
        }

        #[test]
        fn never_panics(s in ".{0,40}") {
            if let Ok(sel) = FieldSelector::parse(&s) {
                let _ = validate_fields("", "Pod", &sel);
            }
        }

        #[test]
        fn escape_round_trip(s in ".{0,20}") {
            prop_assert_eq!(unescape_value(&escape_value(&s)).map_err(|e| TestCaseError::fail(e.to_string()))?, s);
        }
    }
}
