//! Object name and metadata syntax validation with kube-apiserver's exact messages.
//!
//! Field errors render as `k8s.io/apimachinery/pkg/util/validation/field.Error` does in
//! Kubernetes 1.36 (`ErrorBody`): `Required value: detail`, `Invalid value: "v": detail`,
//! `Unsupported value: "x": supported values: "a", "b"`, `Too long: may not be more than N bytes`,
//! and so on. String values are quoted like Go's `%q`; other values are rendered as JSON,
//! which is what the current `ErrorBody` does for non-scalar values.
//!
//! Name rules follow `k8s.io/apimachinery/pkg/api/validation` (`NameIsDNSSubdomain`,
//! `NameIsDNSLabel`, `NameIsDNS1035Label`, including its `maskTrailingDash` quirk for
//! `generateName`) and the per-resource `Validate*Name` functions of `pkg/apis/*/validation`.
//! Label key/value checks follow `k8s.io/apimachinery/pkg/api/validate/content` (messages say
//! "bytes"), DNS name checks follow `k8s.io/apimachinery/pkg/util/validation` (messages say
//! "characters"), exactly as kube mixes them.

use std::fmt;

use serde_json::{Map, Value};

/// The kind of a field error; `reason()` is the `StatusCause.reason` kube reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldErrorKind {
    /// `FieldValueRequired`, rendered `Required value`.
    Required,
    /// `FieldValueInvalid`, rendered `Invalid value: <value>`.
    Invalid,
    /// `FieldValueNotSupported`, rendered `Unsupported value: <value>`.
    NotSupported,
    /// `FieldValueForbidden`, rendered `Forbidden`.
    Forbidden,
    /// `FieldValueTooLong`, rendered `Too long` (the value is never shown).
    TooLong,
    /// `FieldValueDuplicate`, rendered `Duplicate value: <value>`.
    Duplicate,
    /// `FieldValueTooMany`, rendered `Too many: <count>`.
    TooMany,
    /// `FieldValueNotFound`, rendered `Not found: <value>`.
    NotFound,
    /// `FieldValueTypeInvalid`, rendered `Invalid value: <value>`.
    TypeInvalid,
    /// `InternalError`, rendered `Internal error`.
    Internal,
}

impl FieldErrorKind {
    /// The cause reason (`metav1.CauseType`) for this kind.
    pub fn reason(self) -> &'static str {
        match self {
            FieldErrorKind::Required => "FieldValueRequired",
            FieldErrorKind::Invalid => "FieldValueInvalid",
            FieldErrorKind::NotSupported => "FieldValueNotSupported",
            FieldErrorKind::Forbidden => "FieldValueForbidden",
            FieldErrorKind::TooLong => "FieldValueTooLong",
            FieldErrorKind::Duplicate => "FieldValueDuplicate",
            FieldErrorKind::TooMany => "FieldValueTooMany",
            FieldErrorKind::NotFound => "FieldValueNotFound",
            FieldErrorKind::TypeInvalid => "FieldValueTypeInvalid",
            FieldErrorKind::Internal => "InternalError",
        }
    }

    /// The human title kube prints first (`ErrorType.String()`).
    pub fn title(self) -> &'static str {
        match self {
            FieldErrorKind::Required => "Required value",
            FieldErrorKind::Invalid | FieldErrorKind::TypeInvalid => "Invalid value",
            FieldErrorKind::NotSupported => "Unsupported value",
            FieldErrorKind::Forbidden => "Forbidden",
            FieldErrorKind::TooLong => "Too long",
            FieldErrorKind::Duplicate => "Duplicate value",
            FieldErrorKind::TooMany => "Too many",
            FieldErrorKind::NotFound => "Not found",
            FieldErrorKind::Internal => "Internal error",
        }
    }

    fn shows_value(self) -> bool {
        !matches!(
            self,
            FieldErrorKind::Required
                | FieldErrorKind::Forbidden
                | FieldErrorKind::TooLong
                | FieldErrorKind::Internal
        )
    }
}

/// One field-level validation error, as kube's `field.Error`.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    /// The field path, e.g. `metadata.name` or `spec.containers[0].image`.
    pub field: String,
    /// What went wrong.
    pub kind: FieldErrorKind,
    /// The offending value. Strings are printed Go-quoted, everything else as JSON;
    /// `None` omits the value (kube's `omitValue`). Ignored for kinds that never show it.
    pub value: Option<Value>,
    /// The detail appended after `: `; empty means none.
    pub detail: String,
}

impl FieldError {
    /// `field.Required`: `Required value[: detail]`.
    pub fn required(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(field, FieldErrorKind::Required, None, detail)
    }

    /// `field.Invalid`: `Invalid value: <value>[: detail]`.
    pub fn invalid(
        field: impl Into<String>,
        value: impl Into<Value>,
        detail: impl Into<String>,
    ) -> Self {
        Self::new(field, FieldErrorKind::Invalid, Some(value.into()), detail)
    }

    /// `field.Invalid` for a value Go prints through `String()` or `%#v` rather than as JSON
    /// (a `Quantity`, a `uint64` as `0x0`): `shown` is that text, unquoted.
    pub fn invalid_shown(field: impl Into<String>, shown: &str, detail: &str) -> Self {
        Self::new(
            field,
            FieldErrorKind::Invalid,
            None,
            format!("{shown}: {detail}"),
        )
    }

    /// `field.NotSupported`: `Unsupported value: <value>: supported values: "a", "b"`.
    pub fn not_supported<S: AsRef<str>>(
        field: impl Into<String>,
        value: impl Into<Value>,
        supported: &[S],
    ) -> Self {
        let detail = if supported.is_empty() {
            String::new()
        } else {
            let quoted: Vec<String> = supported.iter().map(|s| go_quote(s.as_ref())).collect();
            format!("supported values: {}", quoted.join(", "))
        };
        Self::new(
            field,
            FieldErrorKind::NotSupported,
            Some(value.into()),
            detail,
        )
    }

    /// `field.Forbidden`: `Forbidden[: detail]`.
    pub fn forbidden(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(field, FieldErrorKind::Forbidden, None, detail)
    }

    /// `field.TooLong`: `Too long: may not be more than N bytes` (`1 byte`), or
    /// `Too long: value is too long` when no maximum is given.
    pub fn too_long(field: impl Into<String>, max_bytes: Option<usize>) -> Self {
        let detail = match max_bytes {
            Some(1) => "may not be more than 1 byte".to_string(),
            Some(n) => format!("may not be more than {n} bytes"),
            None => "value is too long".to_string(),
        };
        Self::new(field, FieldErrorKind::TooLong, None, detail)
    }

    /// `field.TooMany`: `Too many: <actual>: must have at most N items` (`1 item`); an unknown
    /// actual count omits it, an unknown maximum says `too many items`.
    pub fn too_many(field: impl Into<String>, actual: Option<usize>, max: Option<usize>) -> Self {
        let detail = match max {
            Some(1) => "must have at most 1 item".to_string(),
            Some(n) => format!("must have at most {n} items"),
            None => "too many items".to_string(),
        };
        Self::new(
            field,
            FieldErrorKind::TooMany,
            actual.map(|a| Value::from(a as u64)),
            detail,
        )
    }

    /// `field.Duplicate`: `Duplicate value: <value>`.
    pub fn duplicate(field: impl Into<String>, value: impl Into<Value>) -> Self {
        Self::new(field, FieldErrorKind::Duplicate, Some(value.into()), "")
    }

    /// `field.NotFound`: `Not found: <value>`.
    pub fn not_found(field: impl Into<String>, value: impl Into<Value>) -> Self {
        Self::new(field, FieldErrorKind::NotFound, Some(value.into()), "")
    }

    /// `field.TypeInvalid`: `Invalid value: <value>: detail` with reason `FieldValueTypeInvalid`.
    pub fn type_invalid(
        field: impl Into<String>,
        value: impl Into<Value>,
        detail: impl Into<String>,
    ) -> Self {
        Self::new(
            field,
            FieldErrorKind::TypeInvalid,
            Some(value.into()),
            detail,
        )
    }

    /// `field.InternalError`: `Internal error: detail`.
    pub fn internal(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(field, FieldErrorKind::Internal, None, detail)
    }

    fn new(
        field: impl Into<String>,
        kind: FieldErrorKind,
        value: Option<Value>,
        detail: impl Into<String>,
    ) -> Self {
        FieldError {
            field: field.into(),
            kind,
            value,
            detail: detail.into(),
        }
    }

    /// The message without the field (`ErrorBody()`); this is the `StatusCause.message`.
    pub fn message(&self) -> String {
        let mut s = self.kind.title().to_string();
        if self.kind.shows_value()
            && let Some(v) = &self.value
        {
            s.push_str(": ");
            s.push_str(&render_value(v));
        }
        if !self.detail.is_empty() {
            s.push_str(": ");
            s.push_str(&self.detail);
        }
        s
    }

    /// The cause reason, e.g. `FieldValueInvalid`.
    pub fn reason(&self) -> &'static str {
        self.kind.reason()
    }
}

impl fmt::Display for FieldError {
    /// `field: message`, as `field.Error.Error()`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message())
    }
}

impl std::error::Error for FieldError {}

/// Renders a bad value the way `ErrorBody` does: strings `%q`-quoted, scalars plain, the
/// rest as compact JSON.
fn render_value(v: &Value) -> String {
    match v {
        Value::String(s) => go_quote(s),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => go_json(other),
    }
}

/// Joins errors as `utilerrors.Aggregate.Error()` after `ErrorList.ToAggregate()`:
/// duplicates dropped, one error as itself, several as `[e1, e2]`, none as "".
pub fn aggregate(errors: &[FieldError]) -> String {
    aggregate_strings(errors.iter().map(|e| e.to_string()))
}

pub(crate) fn aggregate_strings(msgs: impl IntoIterator<Item = String>) -> String {
    let mut seen: Vec<String> = Vec::new();
    for m in msgs {
        if !seen.contains(&m) {
            seen.push(m);
        }
    }
    match seen.len() {
        0 => String::new(),
        1 => seen.remove(0),
        _ => format!("[{}]", seen.join(", ")),
    }
}

/// The `Status.message` of a 422 Invalid error (`errors.NewInvalid`):
/// `Kind.group "name" is invalid: <aggregate>` (`Kind "name" is invalid` with no errors).
pub fn invalid_status_message(
    group: &str,
    kind: &str,
    name: &str,
    errors: &[FieldError],
) -> String {
    let qualified = if group.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}.{group}")
    };
    let agg = aggregate(errors);
    if agg.is_empty() {
        format!("{qualified} {} is invalid", go_quote(name))
    } else {
        format!("{qualified} {} is invalid: {agg}", go_quote(name))
    }
}

// ---------------------------------------------------------------------------------------
// Go formatting helpers
// ---------------------------------------------------------------------------------------

/// Go's `strconv.Quote` (`%q`): double-quoted with Go escapes; printable Unicode is kept.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if go_is_print(c) => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push('"');
    out
}

/// An approximation of Go's `strconv.IsPrint` without Unicode tables: ASCII graphic and
/// space, and non-ASCII characters other than controls, separators, format characters,
/// private-use characters and non-characters.
fn go_is_print(c: char) -> bool {
    let u = c as u32;
    if u < 0x80 {
        return (0x20..0x7f).contains(&u);
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    let format_or_private = matches!(u,
        0xAD | 0x600..=0x605 | 0x61C | 0x6DD | 0x70F | 0x180E | 0x200B..=0x200F
        | 0x2028..=0x202E | 0x2060..=0x206F | 0xD800..=0xF8FF | 0xFDD0..=0xFDEF
        | 0xFEFF | 0xFFF9..=0xFFFB | 0x110BD | 0x1D173..=0x1D17A | 0xE0001..=0xE007F
        | 0xF0000..=0x10FFFF);
    !format_or_private && (u & 0xFFFE) != 0xFFFE
}

/// Compact JSON as Go's `encoding/json` writes it (`<`, `>`, `&`, U+2028 and U+2029 escaped).
pub fn go_json(v: &Value) -> String {
    let mut out = String::new();
    write_go_json(v, &mut out);
    out
}

fn write_go_json(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => write_go_json_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_go_json(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_go_json_string(k, out);
                out.push(':');
                write_go_json(item, out);
            }
            out.push('}');
        }
    }
}

fn write_go_json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Go's `%#v` of a `[]string`: `[]string{"a", "b"}`.
pub(crate) fn go_string_slice(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| go_quote(s)).collect();
    format!("[]string{{{}}}", quoted.join(", "))
}

// ---------------------------------------------------------------------------------------
// Format checks (each returns the list of problem descriptions, empty when valid)
// ---------------------------------------------------------------------------------------

const DNS1123_LABEL_FMT: &str = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const DNS1123_LABEL_ERR: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character";
const DNS1123_SUBDOMAIN_FMT: &str =
    "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const DNS1123_SUBDOMAIN_ERR: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
const DNS1035_LABEL_FMT: &str = "[a-z]([-a-z0-9]*[a-z0-9])?";
const DNS1035_LABEL_ERR: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character";
const LABEL_KEY_FMT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const LABEL_KEY_ERR: &str = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_FMT: &str = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
const LABEL_VALUE_ERR: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";

/// Maximum length of a DNS-1123 subdomain.
pub const DNS1123_SUBDOMAIN_MAX_LENGTH: usize = 253;
/// Maximum length of a DNS-1123 or DNS-1035 label, label key name part and label value.
pub const DNS1123_LABEL_MAX_LENGTH: usize = 63;
/// Maximum total size of annotations (keys plus values), in bytes.
pub const TOTAL_ANNOTATION_SIZE_LIMIT: usize = 256 * 1024;

/// `RegexError(msg, fmt, examples...)`: note the doubled space kube prints between examples.
fn regex_error(msg: &str, fmt: &str, examples: &[&str]) -> String {
    if examples.is_empty() {
        return format!("{msg} (regex used for validation is '{fmt}')");
    }
    let mut s = format!("{msg} (e.g. ");
    for (i, e) in examples.iter().enumerate() {
        if i > 0 {
            s.push_str(" or ");
        }
        s.push('\'');
        s.push_str(e);
        s.push_str("', ");
    }
    s.push_str("regex used for validation is '");
    s.push_str(fmt);
    s.push_str("')");
    s
}

/// `util/validation.MaxLenError` ("characters").
fn max_len_chars(n: usize) -> String {
    format!("must be no more than {n} characters")
}

/// `api/validate/content.MaxLenError` ("bytes").
fn max_len_bytes(n: usize) -> String {
    format!("must be no more than {n} bytes")
}

fn is_alnum_lower(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

fn matches_dns1123_label(s: &str) -> bool {
    let b = s.as_bytes();
    match (b.first(), b.last()) {
        (Some(&f), Some(&l)) => {
            is_alnum_lower(f)
                && is_alnum_lower(l)
                && b.iter().all(|&c| is_alnum_lower(c) || c == b'-')
        }
        _ => false,
    }
}

fn matches_dns1123_subdomain(s: &str) -> bool {
    s.split('.').all(matches_dns1123_label)
}

fn matches_dns1035_label(s: &str) -> bool {
    let b = s.as_bytes();
    match (b.first(), b.last()) {
        (Some(&f), Some(&l)) => {
            f.is_ascii_lowercase()
                && is_alnum_lower(l)
                && b.iter().all(|&c| is_alnum_lower(c) || c == b'-')
        }
        _ => false,
    }
}

fn matches_label_key_name(s: &str) -> bool {
    let b = s.as_bytes();
    match (b.first(), b.last()) {
        (Some(&f), Some(&l)) => {
            f.is_ascii_alphanumeric()
                && l.is_ascii_alphanumeric()
                && b.iter()
                    .all(|&c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_' || c == b'.')
        }
        _ => false,
    }
}

/// `util/validation.IsDNS1123Label`.
pub fn is_dns1123_label(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > DNS1123_LABEL_MAX_LENGTH {
        errs.push(max_len_chars(DNS1123_LABEL_MAX_LENGTH));
    }
    if !matches_dns1123_label(value) {
        if matches_dns1123_subdomain(value) {
            errs.push("must not contain dots".to_string());
        } else {
            errs.push(regex_error(
                DNS1123_LABEL_ERR,
                DNS1123_LABEL_FMT,
                &["my-name", "123-abc"],
            ));
        }
    }
    errs
}

/// `util/validation.IsDNS1123Subdomain`.
pub fn is_dns1123_subdomain(value: &str) -> Vec<String> {
    dns1123_subdomain(value, max_len_chars)
}

/// `api/validate/content.IsDNS1123Subdomain` (used for label key prefixes): same check,
/// length message in bytes.
fn content_dns1123_subdomain(value: &str) -> Vec<String> {
    dns1123_subdomain(value, max_len_bytes)
}

fn dns1123_subdomain(value: &str, max_len: fn(usize) -> String) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > DNS1123_SUBDOMAIN_MAX_LENGTH {
        errs.push(max_len(DNS1123_SUBDOMAIN_MAX_LENGTH));
    }
    if !matches_dns1123_subdomain(value) {
        errs.push(regex_error(
            DNS1123_SUBDOMAIN_ERR,
            DNS1123_SUBDOMAIN_FMT,
            &["example.com"],
        ));
    }
    errs
}

/// `util/validation.IsDNS1035Label`.
pub fn is_dns1035_label(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > DNS1123_LABEL_MAX_LENGTH {
        errs.push(max_len_chars(DNS1123_LABEL_MAX_LENGTH));
    }
    if !matches_dns1035_label(value) {
        errs.push(regex_error(
            DNS1035_LABEL_ERR,
            DNS1035_LABEL_FMT,
            &["my-name", "abc-123"],
        ));
    }
    errs
}

/// `content.IsLabelKey` (a.k.a. `IsQualifiedName`): `[prefix/]name`.
pub fn is_label_key(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    let parts: Vec<&str> = value.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                errs.push("prefix part must be non-empty".to_string());
            } else {
                for m in content_dns1123_subdomain(prefix) {
                    errs.push(format!("prefix part {m}"));
                }
            }
            *name
        }
        _ => {
            errs.push(format!(
                "a valid label key {} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
                regex_error(LABEL_KEY_ERR, LABEL_KEY_FMT, &["MyName", "my.name", "123-abc"])
            ));
            return errs;
        }
    };
    if name.is_empty() {
        errs.push("name part must be non-empty".to_string());
    } else if name.len() > DNS1123_LABEL_MAX_LENGTH {
        errs.push(format!(
            "name part {}",
            max_len_bytes(DNS1123_LABEL_MAX_LENGTH)
        ));
    }
    if !matches_label_key_name(name) {
        errs.push(format!(
            "name part {}",
            regex_error(
                LABEL_KEY_ERR,
                LABEL_KEY_FMT,
                &["MyName", "my.name", "123-abc"]
            )
        ));
    }
    errs
}

/// `content.IsLabelValue`.
pub fn is_label_value(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > DNS1123_LABEL_MAX_LENGTH {
        errs.push(max_len_bytes(DNS1123_LABEL_MAX_LENGTH));
    }
    if !(value.is_empty() || matches_label_key_name(value)) {
        errs.push(regex_error(
            LABEL_VALUE_ERR,
            LABEL_VALUE_FMT,
            &["MyValue", "my_value", "12345"],
        ));
    }
    errs
}

/// `IsValidPathSegmentName`: not `.` or `..`, no `/` or `%`.
pub fn is_path_segment_name(name: &str) -> Vec<String> {
    if name == "." || name == ".." {
        return vec![format!("may not be '{name}'")];
    }
    is_path_segment_prefix(name)
}

/// `IsValidPathSegmentPrefix`: no `/` or `%`.
pub fn is_path_segment_prefix(name: &str) -> Vec<String> {
    let mut errs = Vec::new();
    for bad in ["/", "%"] {
        if name.contains(bad) {
            errs.push(format!("may not contain '{bad}'"));
        }
    }
    errs
}

// ---------------------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------------------

/// Which rule a resource applies to `metadata.name` (and `generateName`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameRule {
    /// DNS-1123 subdomain, at most 253 characters: almost every kind, and custom resources.
    DnsSubdomain,
    /// DNS-1123 label, at most 63 characters: namespaces, statefulsets.
    DnsLabel,
    /// DNS-1035 label (starts with a letter), at most 63 characters: services.
    Dns1035Label,
    /// Only the path-segment rules, applied by the kind's own validation (RBAC roles and
    /// bindings: `ValidateRBACName = path.IsValidPathSegmentName`).
    PathSegment,
    /// No rule of the kind's own (certificatesigningrequests, core/v1 events); the generic
    /// path-segment check still applies.
    Unconstrained,
    /// DNS-1123 subdomain plus, on create only, at most 52 characters: cronjobs.
    CronJob,
}

/// The name rule kube-apiserver applies to a built-in resource (plural, as in the URL).
/// Unknown resources (including custom resources) use [`NameRule::DnsSubdomain`].
///
/// Kinds with extra name constraints not modelled here: customresourcedefinitions (name must
/// be `<plural>.<group>`), apiservices (`<version>.<group>`), ipaddresses (an IP address in
/// canonical form), priorityclasses (the `system-` prefix is reserved).
pub fn name_rule_for(group: &str, resource: &str) -> NameRule {
    match (group, resource) {
        ("", "namespaces") => NameRule::DnsLabel,
        ("", "services") => NameRule::Dns1035Label,
        ("", "events") => NameRule::Unconstrained,
        ("apps", "statefulsets") => NameRule::DnsLabel,
        ("batch", "cronjobs") => NameRule::CronJob,
        (
            "rbac.authorization.k8s.io",
            "roles" | "clusterroles" | "rolebindings" | "clusterrolebindings",
        ) => NameRule::PathSegment,
        ("certificates.k8s.io", "certificatesigningrequests") => NameRule::Unconstrained,
        _ => NameRule::DnsSubdomain,
    }
}

/// kube's `maskTrailingDash`: for a `generateName` ending in `-` it replaces the last *two*
/// bytes with `a` (a long-standing upstream quirk, kept for identical messages).
fn mask_trailing_dash(name: &str) -> String {
    if let Some(stripped) = name.strip_suffix('-') {
        // Upstream slices name[:len(name)-2]; a lone "-" would panic there. Cut at a char
        // boundary so that no input can panic here.
        let mut cut = stripped.len().saturating_sub(1);
        while cut > 0 && !stripped.is_char_boundary(cut) {
            cut -= 1;
        }
        format!("{}a", &stripped[..cut])
    } else {
        name.to_string()
    }
}

/// The kind's own name function (`ValidateNameFunc`): the messages for `name`, where
/// `prefix` is true for a `generateName`.
pub fn validate_name(name: &str, rule: NameRule, prefix: bool) -> Vec<String> {
    let masked;
    let name = if prefix
        && matches!(
            rule,
            NameRule::DnsSubdomain
                | NameRule::DnsLabel
                | NameRule::Dns1035Label
                | NameRule::CronJob
        ) {
        masked = mask_trailing_dash(name);
        masked.as_str()
    } else {
        name
    };
    match rule {
        NameRule::DnsSubdomain | NameRule::CronJob => is_dns1123_subdomain(name),
        NameRule::DnsLabel => is_dns1123_label(name),
        NameRule::Dns1035Label => is_dns1035_label(name),
        NameRule::PathSegment => is_path_segment_name(name),
        NameRule::Unconstrained => Vec::new(),
    }
}

const GENERATE_NAME_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
/// kube's `MaxGeneratedNameLength`: the prefix is cut to this many bytes.
pub const MAX_GENERATED_NAME_PREFIX: usize = 58;
const GENERATED_SUFFIX_LENGTH: usize = 5;

/// `SimpleNameGenerator.GenerateName`: the prefix cut to 58 bytes, then 5 random characters
/// from `bcdfghjklmnpqrstvwxz2456789`. (Upstream cuts at byte 58 even inside a UTF-8
/// sequence; here the cut moves back to a character boundary.)
pub fn generate_name(base: &str) -> String {
    use rand::Rng;
    let mut cut = base.len().min(MAX_GENERATED_NAME_PREFIX);
    while cut > 0 && !base.is_char_boundary(cut) {
        cut -= 1;
    }
    let mut out = String::with_capacity(cut + GENERATED_SUFFIX_LENGTH);
    out.push_str(&base[..cut]);
    let mut rng = rand::rng();
    for _ in 0..GENERATED_SUFFIX_LENGTH {
        let i = rng.random_range(0..GENERATE_NAME_ALPHABET.len());
        out.push(char::from(GENERATE_NAME_ALPHABET[i]));
    }
    out
}

// ---------------------------------------------------------------------------------------
// ObjectMeta
// ---------------------------------------------------------------------------------------

fn str_field<'a>(meta: &'a Map<String, Value>, key: &str) -> &'a str {
    meta.get(key).and_then(Value::as_str).unwrap_or("")
}

fn string_map(meta: &Map<String, Value>, key: &str) -> Vec<(String, String)> {
    match meta.get(key) {
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
            .collect(),
        _ => Vec::new(),
    }
}

fn string_list(meta: &Map<String, Value>, key: &str) -> Vec<String> {
    match meta.get(key) {
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().unwrap_or("").to_string())
            .collect(),
        _ => Vec::new(),
    }
}

/// `ValidateLabels(labels, path)`: one `Invalid` per problem, on the map's path, with the
/// key or the value as the bad value.
pub fn validate_labels<'a>(
    labels: impl IntoIterator<Item = (&'a str, &'a str)>,
    path: &str,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (k, v) in labels {
        for m in is_label_key(k) {
            errs.push(FieldError::invalid(path, k, m));
        }
        for m in is_label_value(v) {
            errs.push(FieldError::invalid(path, v, m));
        }
    }
    errs
}

/// `ValidateAnnotations(annotations, path)`: keys are label keys compared lower-cased; the
/// total size of keys and values is at most 256 KiB.
pub fn validate_annotations<'a>(
    annotations: impl IntoIterator<Item = (&'a str, &'a str)>,
    path: &str,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut total: usize = 0;
    for (k, v) in annotations {
        for m in is_label_key(&k.to_ascii_lowercase()) {
            errs.push(FieldError::invalid(path, k, m));
        }
        total = total.saturating_add(k.len()).saturating_add(v.len());
    }
    if total > TOTAL_ANNOTATION_SIZE_LIMIT {
        errs.push(FieldError::too_long(
            path,
            Some(TOTAL_ANNOTATION_SIZE_LIMIT),
        ));
    }
    errs
}

/// `ValidateFinalizers`: each a label key; `orphan` and `foregroundDeletion` exclusive.
pub fn validate_finalizers(finalizers: &[String], path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for f in finalizers {
        for m in is_label_key(f) {
            errs.push(FieldError::invalid(path, f.as_str(), m));
        }
    }
    if finalizers.iter().any(|f| f == "orphan")
        && finalizers.iter().any(|f| f == "foregroundDeletion")
    {
        errs.push(FieldError::invalid(
            path,
            Value::from(finalizers.to_vec()),
            "finalizer orphan and foregroundDeletion cannot be both set",
        ));
    }
    errs
}

fn parse_api_version(api_version: &str) -> Option<(&str, &str)> {
    // schema.ParseGroupVersion
    if api_version.is_empty() {
        return Some(("", ""));
    }
    match api_version.split_once('/') {
        None => Some(("", api_version)),
        Some((g, v)) if !v.contains('/') => Some((g, v)),
        Some(_) => None,
    }
}

/// `ValidateOwnerReferences`: fields required, core Events banned, one controller at most.
/// Errors name `<path>.apiVersion` etc. without an index, as kube does.
pub fn validate_owner_references(refs: &[Value], path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut first_controller: Option<String> = None;
    for r in refs {
        let empty = Map::new();
        let obj = r.as_object().unwrap_or(&empty);
        let api_version = str_field(obj, "apiVersion");
        let kind = str_field(obj, "kind");
        let name = str_field(obj, "name");
        let uid = str_field(obj, "uid");
        let (group, version) = parse_api_version(api_version).unwrap_or(("", ""));
        if version.is_empty() {
            errs.push(FieldError::invalid(
                format!("{path}.apiVersion"),
                api_version,
                "version must not be empty",
            ));
        }
        if kind.is_empty() {
            errs.push(FieldError::invalid(
                format!("{path}.kind"),
                kind,
                "must not be empty",
            ));
        }
        if name.is_empty() {
            errs.push(FieldError::invalid(
                format!("{path}.name"),
                name,
                "must not be empty",
            ));
        }
        if uid.is_empty() {
            errs.push(FieldError::invalid(
                format!("{path}.uid"),
                uid,
                "must not be empty",
            ));
        }
        if group.is_empty() && version == "v1" && kind == "Event" {
            errs.push(FieldError::invalid(
                path,
                owner_reference_value(obj),
                "/v1, Kind=Event is disallowed from being an owner",
            ));
        }
        if obj.get("controller").and_then(Value::as_bool) == Some(true) {
            let current = format!("{kind}/{name}");
            match &first_controller {
                Some(first) => errs.push(FieldError::invalid(
                    path,
                    Value::Array(refs.iter().map(|r| owner_reference_value(r.as_object().unwrap_or(&Map::new()))).collect()),
                    format!(
                        "Only one reference can have Controller set to true. Found \"true\" in references for {first} and {current}"
                    ),
                )),
                None => first_controller = Some(current),
            }
        }
    }
    errs
}

/// An owner reference in Go's struct field order, as `json.Marshal` prints it.
fn owner_reference_value(obj: &Map<String, Value>) -> Value {
    let mut m = Map::new();
    for key in ["apiVersion", "kind", "name", "uid"] {
        m.insert(key.to_string(), Value::from(str_field(obj, key)));
    }
    for key in ["controller", "blockOwnerDeletion"] {
        if let Some(b) = obj.get(key).and_then(Value::as_bool) {
            m.insert(key.to_string(), Value::Bool(b));
        }
    }
    Value::Object(m)
}

/// Checks `metadata.name` (or any name field) against a rule: one `Invalid` per problem.
fn name_errors(field: &str, name: &str, msgs: Vec<String>) -> Vec<FieldError> {
    msgs.into_iter()
        .map(|m| FieldError::invalid(field, name, m))
        .collect()
}

/// `field` as a DNS-1123 subdomain (most kinds' `metadata.name`).
pub fn validate_dns1123_subdomain_name(field: &str, name: &str) -> Vec<FieldError> {
    name_errors(field, name, is_dns1123_subdomain(name))
}

/// `field` as a DNS-1123 label (namespaces, statefulsets).
pub fn validate_dns1123_label_name(field: &str, name: &str) -> Vec<FieldError> {
    name_errors(field, name, is_dns1123_label(name))
}

/// `field` as a DNS-1035 label (services).
pub fn validate_dns1035_label_name(field: &str, name: &str) -> Vec<FieldError> {
    name_errors(field, name, is_dns1035_label(name))
}

/// `field` under the path-segment rules only (RBAC kinds).
pub fn validate_path_segment_name(field: &str, name: &str) -> Vec<FieldError> {
    name_errors(field, name, is_path_segment_name(name))
}

/// The name-independent part of `ValidateObjectMeta` (generation, labels, annotations,
/// ownerReferences, finalizers) for a `metadata` map; `None` is an empty one. Use
/// [`validate_object_meta_create`] for the whole create-time check.
pub fn validate_object_meta(meta: Option<&Map<String, Value>>) -> Vec<FieldError> {
    let empty = Map::new();
    let meta = meta.unwrap_or(&empty);
    let mut errs = Vec::new();
    if let Some(g) = meta.get("generation").and_then(Value::as_i64)
        && g < 0
    {
        errs.push(FieldError::invalid(
            "metadata.generation",
            g,
            "must be greater than or equal to 0",
        ));
    }
    errs.extend(labels_and_annotations(meta));
    errs.extend(owner_refs(meta));
    errs.extend(validate_finalizers(
        &string_list(meta, "finalizers"),
        "metadata.finalizers",
    ));
    errs
}

/// Validates `metadata` of an object being created (name generation already done), as
/// the kind's strategy (`ValidateObjectMeta` with the kind's name function) and then the
/// generic create path (`ValidateObjectMetaAccessor` with path-segment names) do.
///
/// `meta` is the object's `metadata` (anything not an object is treated as empty).
/// Covers generateName, name, namespace, generation, labels, annotations, ownerReferences
/// and finalizers; managedFields are not checked here.
pub fn validate_object_meta_create(
    meta: &Value,
    namespaced: bool,
    rule: NameRule,
) -> Vec<FieldError> {
    let empty = Map::new();
    let meta = meta.as_object().unwrap_or(&empty);
    let name = str_field(meta, "name");
    let generate_name = str_field(meta, "generateName");

    let mut errs = Vec::new();
    if !generate_name.is_empty() {
        for m in validate_name(generate_name, rule, true) {
            errs.push(FieldError::invalid(
                "metadata.generateName",
                generate_name,
                m,
            ));
        }
    }
    if name.is_empty() {
        errs.push(FieldError::required(
            "metadata.name",
            "name or generateName is required",
        ));
    } else {
        for m in validate_name(name, rule, false) {
            errs.push(FieldError::invalid("metadata.name", name, m));
        }
    }
    errs.extend(validate_meta_common(meta, namespaced));
    if rule == NameRule::CronJob && name.len() > 52 {
        errs.push(FieldError::invalid(
            "metadata.name",
            name,
            "must be no more than 52 characters",
        ));
    }
    if !errs.is_empty() {
        return errs;
    }
    // The generic create path re-validates with path-segment rules.
    if !generate_name.is_empty() {
        for m in is_path_segment_prefix(generate_name) {
            errs.push(FieldError::invalid(
                "metadata.generateName",
                generate_name,
                m,
            ));
        }
    }
    for m in is_path_segment_name(name) {
        errs.push(FieldError::invalid("metadata.name", name, m));
    }
    errs
}

fn validate_meta_common(meta: &Map<String, Value>, namespaced: bool) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let namespace = str_field(meta, "namespace");
    if namespaced {
        if namespace.is_empty() {
            errs.push(FieldError::required("metadata.namespace", ""));
        } else {
            for m in validate_name(namespace, NameRule::DnsLabel, false) {
                errs.push(FieldError::invalid("metadata.namespace", namespace, m));
            }
        }
    } else if !namespace.is_empty() {
        errs.push(FieldError::forbidden(
            "metadata.namespace",
            "not allowed on this type",
        ));
    }
    errs.extend(validate_object_meta(Some(meta)));
    errs
}

fn labels_and_annotations(meta: &Map<String, Value>) -> Vec<FieldError> {
    let labels = string_map(meta, "labels");
    let annotations = string_map(meta, "annotations");
    let mut errs = validate_labels(
        labels.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        "metadata.labels",
    );
    errs.extend(validate_annotations(
        annotations.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        "metadata.annotations",
    ));
    errs
}

fn owner_refs(meta: &Map<String, Value>) -> Vec<FieldError> {
    match meta.get("ownerReferences") {
        Some(Value::Array(refs)) => validate_owner_references(refs, "metadata.ownerReferences"),
        _ => Vec::new(),
    }
}

/// Validates `metadata` on update (`ValidateObjectMetaUpdate`): no new finalizers while
/// deleting, resourceVersion present, generation not decremented, immutable name, namespace,
/// uid, creationTimestamp, deletionTimestamp and deletionGracePeriodSeconds, then labels,
/// annotations and ownerReferences.
pub fn validate_object_meta_update(new: &Value, old: &Value) -> Vec<FieldError> {
    let empty = Map::new();
    let new = new.as_object().unwrap_or(&empty);
    let old = old.as_object().unwrap_or(&empty);
    let mut errs = Vec::new();

    if old.get("deletionTimestamp").is_some_and(|v| !v.is_null()) {
        let old_f = string_list(old, "finalizers");
        let mut extra: Vec<String> = string_list(new, "finalizers")
            .into_iter()
            .filter(|f| !old_f.contains(f))
            .collect();
        extra.sort();
        extra.dedup();
        if !extra.is_empty() {
            errs.push(FieldError::forbidden(
                "metadata.finalizers",
                format!(
                    "no new finalizers can be added if the object is being deleted, found new finalizers {}",
                    go_string_slice(&extra)
                ),
            ));
        }
    }
    if str_field(new, "resourceVersion").is_empty() {
        errs.push(FieldError::invalid(
            "metadata.resourceVersion",
            "",
            "must be specified for an update",
        ));
    }
    let new_gen = new.get("generation").and_then(Value::as_i64).unwrap_or(0);
    let old_gen = old.get("generation").and_then(Value::as_i64).unwrap_or(0);
    if new_gen < old_gen {
        errs.push(FieldError::invalid(
            "metadata.generation",
            new_gen,
            "must not be decremented",
        ));
    }
    for (key, default) in [
        ("name", Value::from("")),
        ("namespace", Value::from("")),
        ("uid", Value::from("")),
        ("creationTimestamp", Value::Null),
        ("deletionTimestamp", Value::Null),
        ("deletionGracePeriodSeconds", Value::Null),
    ] {
        let nv = new.get(key).cloned().unwrap_or_else(|| default.clone());
        let ov = old.get(key).cloned().unwrap_or(default);
        if nv != ov {
            errs.push(FieldError::invalid(
                format!("metadata.{key}"),
                nv,
                "field is immutable",
            ));
        }
    }
    errs.extend(labels_and_annotations(new));
    errs.extend(owner_refs(new));
    errs
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
    const LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
    const DNS1035_MSG: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
    const KEY_NAME_MSG: &str = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
    const VALUE_MSG: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

    #[test]
    fn brief_example_invalid_name() {
        let errs = validate_object_meta_create(
            &json!({"name": "Bad_Name", "namespace": "default"}),
            true,
            NameRule::DnsSubdomain,
        );
        assert_eq!(errs.len(), 1);
        assert_eq!(
            errs[0].to_string(),
            format!("metadata.name: Invalid value: \"Bad_Name\": {SUBDOMAIN_MSG}")
        );
        assert_eq!(errs[0].reason(), "FieldValueInvalid");
        assert_eq!(
            invalid_status_message("", "Pod", "Bad_Name", &errs),
            format!(
                "Pod \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\": {SUBDOMAIN_MSG}"
            )
        );
    }

    #[test]
    fn field_error_messages() {
        let cases: Vec<(FieldError, &str, &str)> = vec![
            (
                FieldError::required("metadata.name", "name or generateName is required"),
                "metadata.name: Required value: name or generateName is required",
                "FieldValueRequired",
            ),
            (
                FieldError::required("metadata.namespace", ""),
                "metadata.namespace: Required value",
                "FieldValueRequired",
            ),
            (
                FieldError::invalid("spec.replicas", -1, "must be greater than or equal to 0"),
                "spec.replicas: Invalid value: -1: must be greater than or equal to 0",
                "FieldValueInvalid",
            ),
            (
                FieldError::invalid("a", true, "x"),
                "a: Invalid value: true: x",
                "FieldValueInvalid",
            ),
            (
                FieldError::invalid("a", Value::Null, "x"),
                "a: Invalid value: null: x",
                "FieldValueInvalid",
            ),
            (
                FieldError::invalid("a", json!(["x", "y"]), "d"),
                "a: Invalid value: [\"x\",\"y\"]: d",
                "FieldValueInvalid",
            ),
            (
                FieldError::not_supported(
                    "spec.restartPolicy",
                    "Sometimes",
                    &["Always", "OnFailure", "Never"],
                ),
                "spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\"",
                "FieldValueNotSupported",
            ),
            (
                FieldError::forbidden("metadata.namespace", "not allowed on this type"),
                "metadata.namespace: Forbidden: not allowed on this type",
                "FieldValueForbidden",
            ),
            (
                FieldError::too_long("metadata.annotations", Some(262144)),
                "metadata.annotations: Too long: may not be more than 262144 bytes",
                "FieldValueTooLong",
            ),
            (
                FieldError::too_long("x", Some(1)),
                "x: Too long: may not be more than 1 byte",
                "FieldValueTooLong",
            ),
            (
                FieldError::too_long("x", None),
                "x: Too long: value is too long",
                "FieldValueTooLong",
            ),
            (
                FieldError::duplicate("spec.containers[1].name", "nginx"),
                "spec.containers[1].name: Duplicate value: \"nginx\"",
                "FieldValueDuplicate",
            ),
            (
                FieldError::too_many("spec.x", Some(5), Some(3)),
                "spec.x: Too many: 5: must have at most 3 items",
                "FieldValueTooMany",
            ),
            (
                FieldError::too_many("spec.x", None, Some(1)),
                "spec.x: Too many: must have at most 1 item",
                "FieldValueTooMany",
            ),
            (
                FieldError::not_found("spec.x", "y"),
                "spec.x: Not found: \"y\"",
                "FieldValueNotFound",
            ),
            (
                FieldError::type_invalid("spec.x", "y", "must be integer"),
                "spec.x: Invalid value: \"y\": must be integer",
                "FieldValueTypeInvalid",
            ),
            (
                FieldError::internal("spec.x", "boom"),
                "spec.x: Internal error: boom",
                "InternalError",
            ),
        ];
        for (e, text, reason) in cases {
            assert_eq!(e.to_string(), text);
            assert_eq!(e.reason(), reason);
        }
    }

    #[test]
    fn go_quoting() {
        assert_eq!(go_quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(go_quote("tab\there\n"), "\"tab\\there\\n\"");
        assert_eq!(go_quote("\u{1}"), "\"\\x01\"");
        assert_eq!(go_quote("\u{7f}"), "\"\\x7f\"");
        assert_eq!(go_quote("héllo☃"), "\"héllo☃\"");
        assert_eq!(go_quote("\u{200b}"), "\"\\u200b\"");
        assert_eq!(go_quote("\u{feff}"), "\"\\ufeff\"");
        assert_eq!(
            go_json(&json!({"a": "<&>"})),
            "{\"a\":\"\\u003c\\u0026\\u003e\"}"
        );
    }

    #[test]
    fn aggregate_format() {
        let a = FieldError::required("a", "");
        let b = FieldError::required("b", "");
        assert_eq!(aggregate(&[]), "");
        assert_eq!(aggregate(std::slice::from_ref(&a)), "a: Required value");
        assert_eq!(
            aggregate(&[a.clone(), b.clone(), a.clone()]),
            "[a: Required value, b: Required value]"
        );
        assert_eq!(
            invalid_status_message("apps", "Deployment", "x", &[a, b]),
            "Deployment.apps \"x\" is invalid: [a: Required value, b: Required value]"
        );
        assert_eq!(
            invalid_status_message("", "Pod", "x", &[]),
            "Pod \"x\" is invalid"
        );
    }

    #[test]
    fn name_checks() {
        let long = "a".repeat(254);
        let cases: Vec<(&str, NameRule, bool, Vec<String>)> = vec![
            ("abc", NameRule::DnsSubdomain, false, vec![]),
            ("a.b-c.d", NameRule::DnsSubdomain, false, vec![]),
            (
                "a..b",
                NameRule::DnsSubdomain,
                false,
                vec![SUBDOMAIN_MSG.into()],
            ),
            (
                "-a",
                NameRule::DnsSubdomain,
                false,
                vec![SUBDOMAIN_MSG.into()],
            ),
            (
                &long,
                NameRule::DnsSubdomain,
                false,
                vec!["must be no more than 253 characters".into()],
            ),
            (
                "a.b",
                NameRule::DnsLabel,
                false,
                vec!["must not contain dots".into()],
            ),
            ("A", NameRule::DnsLabel, false, vec![LABEL_MSG.into()]),
            (
                "1abc",
                NameRule::Dns1035Label,
                false,
                vec![DNS1035_MSG.into()],
            ),
            ("abc1", NameRule::Dns1035Label, false, vec![]),
            (
                "..",
                NameRule::PathSegment,
                false,
                vec!["may not be '..'".into()],
            ),
            (
                "a/b%c",
                NameRule::PathSegment,
                false,
                vec!["may not contain '/'".into(), "may not contain '%'".into()],
            ),
            ("Anything_Goes", NameRule::Unconstrained, false, vec![]),
            // generateName: trailing dash allowed (maskTrailingDash replaces the last two bytes)
            ("web-", NameRule::DnsSubdomain, true, vec![]),
            ("-", NameRule::DnsSubdomain, true, vec![]),
            (
                "Web-",
                NameRule::DnsSubdomain,
                true,
                vec![SUBDOMAIN_MSG.into()],
            ),
            (
                "web-",
                NameRule::DnsSubdomain,
                false,
                vec![SUBDOMAIN_MSG.into()],
            ),
        ];
        for (name, rule, prefix, want) in cases {
            assert_eq!(validate_name(name, rule, prefix), want, "{name:?} {rule:?}");
        }
        let long_label = "a".repeat(64);
        assert_eq!(
            validate_name(&long_label, NameRule::DnsLabel, false),
            vec!["must be no more than 63 characters".to_string()]
        );
    }

    #[test]
    fn label_keys_and_values() {
        assert!(is_label_key("app").is_empty());
        assert!(is_label_key("example.com/App_1.x").is_empty());
        assert_eq!(is_label_key("a+b"), vec![KEY_NAME_MSG.to_string()]);
        assert_eq!(
            is_label_key(""),
            vec![
                "name part must be non-empty".to_string(),
                KEY_NAME_MSG.to_string()
            ]
        );
        assert_eq!(
            is_label_key("/a"),
            vec!["prefix part must be non-empty".to_string()]
        );
        assert_eq!(
            is_label_key("Example.com/a"),
            vec![format!("prefix part {SUBDOMAIN_MSG}")]
        );
        assert_eq!(
            is_label_key(&format!("{}/a", "a".repeat(254))),
            vec!["prefix part must be no more than 253 bytes".to_string()]
        );
        assert_eq!(
            is_label_key(&"a".repeat(64)),
            vec!["name part must be no more than 63 bytes".to_string()]
        );
        assert_eq!(
            is_label_key("a/b/c"),
            vec!["a valid label key must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')".to_string()]
        );
        assert!(is_label_value("").is_empty());
        assert!(is_label_value("v1.2_3-x").is_empty());
        assert_eq!(is_label_value("-x"), vec![VALUE_MSG.to_string()]);
        assert_eq!(
            is_label_value(&"a".repeat(64)),
            vec!["must be no more than 63 bytes".to_string()]
        );
    }

    #[test]
    fn object_meta_create() {
        let errs = validate_object_meta_create(&json!({}), true, NameRule::DnsSubdomain);
        let text: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        assert_eq!(
            text,
            vec![
                "metadata.name: Required value: name or generateName is required",
                "metadata.namespace: Required value",
            ]
        );

        let errs = validate_object_meta_create(
            &json!({"name": "x", "namespace": "Bad", "labels": {"a+b": "-v"}, "annotations": {"Example.com/K": "v"}}),
            true,
            NameRule::DnsSubdomain,
        );
        let text: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        assert_eq!(
            text,
            vec![
                format!("metadata.namespace: Invalid value: \"Bad\": {LABEL_MSG}"),
                format!("metadata.labels: Invalid value: \"a+b\": {KEY_NAME_MSG}"),
                format!("metadata.labels: Invalid value: \"-v\": {VALUE_MSG}"),
            ]
        );

        let errs = validate_object_meta_create(
            &json!({"name": "x", "namespace": "ns"}),
            false,
            NameRule::DnsSubdomain,
        );
        assert_eq!(
            errs[0].to_string(),
            "metadata.namespace: Forbidden: not allowed on this type"
        );

        let big = "x".repeat(TOTAL_ANNOTATION_SIZE_LIMIT);
        let errs = validate_object_meta_create(
            &json!({"name": "x", "annotations": {"k": big}}),
            false,
            NameRule::DnsSubdomain,
        );
        assert_eq!(
            errs[0].to_string(),
            "metadata.annotations: Too long: may not be more than 262144 bytes"
        );

        let errs = validate_object_meta_create(
            &json!({"name": "x", "generation": -1, "finalizers": ["orphan", "foregroundDeletion", "a/b/c"]}),
            false,
            NameRule::DnsSubdomain,
        );
        let text: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        assert_eq!(
            text[0],
            "metadata.generation: Invalid value: -1: must be greater than or equal to 0"
        );
        assert!(
            text[1].starts_with("metadata.finalizers: Invalid value: \"a/b/c\": a valid label key")
        );
        assert_eq!(
            text[2],
            "metadata.finalizers: Invalid value: [\"orphan\",\"foregroundDeletion\",\"a/b/c\"]: finalizer orphan and foregroundDeletion cannot be both set"
        );
    }

    #[test]
    fn object_meta_generate_name_and_path_segment() {
        let errs = validate_object_meta_create(
            &json!({"name": "Bad_x7k2p", "generateName": "Bad_"}),
            false,
            NameRule::DnsSubdomain,
        );
        let text: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        assert_eq!(
            text,
            vec![
                format!("metadata.generateName: Invalid value: \"Bad_\": {SUBDOMAIN_MSG}"),
                format!("metadata.name: Invalid value: \"Bad_x7k2p\": {SUBDOMAIN_MSG}"),
            ]
        );
        // RBAC names only obey path-segment rules.
        assert!(
            validate_object_meta_create(
                &json!({"name": "system:Admin"}),
                false,
                NameRule::PathSegment
            )
            .is_empty()
        );
        let errs =
            validate_object_meta_create(&json!({"name": "a/b"}), false, NameRule::PathSegment);
        assert_eq!(
            errs[0].to_string(),
            "metadata.name: Invalid value: \"a/b\": may not contain '/'"
        );
        // Unconstrained kinds still get the generic path-segment check.
        let errs = validate_object_meta_create(
            &json!({"name": "..", "namespace": "d"}),
            true,
            NameRule::Unconstrained,
        );
        assert_eq!(
            errs[0].to_string(),
            "metadata.name: Invalid value: \"..\": may not be '..'"
        );
        let errs = validate_object_meta_create(
            &json!({"name": "a%b", "generateName": "a%"}),
            false,
            NameRule::Unconstrained,
        );
        let text: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        assert_eq!(
            text,
            vec![
                "metadata.generateName: Invalid value: \"a%\": may not contain '%'",
                "metadata.name: Invalid value: \"a%b\": may not contain '%'",
            ]
        );
        // CronJob: 52 characters on create.
        let name = "a".repeat(53);
        let errs = validate_object_meta_create(
            &json!({"name": name, "namespace": "d"}),
            true,
            NameRule::CronJob,
        );
        assert_eq!(
            errs[0].to_string(),
            format!("metadata.name: Invalid value: \"{name}\": must be no more than 52 characters")
        );
    }

    #[test]
    fn owner_references() {
        let errs = validate_owner_references(
            &[json!({"apiVersion": "apps/", "kind": "", "name": "", "uid": ""})],
            "metadata.ownerReferences",
        );
        let text: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        assert_eq!(
            text,
            vec![
                "metadata.ownerReferences.apiVersion: Invalid value: \"apps/\": version must not be empty",
                "metadata.ownerReferences.kind: Invalid value: \"\": must not be empty",
                "metadata.ownerReferences.name: Invalid value: \"\": must not be empty",
                "metadata.ownerReferences.uid: Invalid value: \"\": must not be empty",
            ]
        );
        let errs = validate_owner_references(
            &[json!({"apiVersion": "v1", "kind": "Event", "name": "e", "uid": "u"})],
            "metadata.ownerReferences",
        );
        assert_eq!(
            errs[0].to_string(),
            "metadata.ownerReferences: Invalid value: {\"apiVersion\":\"v1\",\"kind\":\"Event\",\"name\":\"e\",\"uid\":\"u\"}: /v1, Kind=Event is disallowed from being an owner"
        );
        let errs = validate_owner_references(
            &[
                json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "a", "uid": "1", "controller": true}),
                json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "b", "uid": "2", "controller": true}),
            ],
            "metadata.ownerReferences",
        );
        assert_eq!(errs.len(), 1);
        assert!(errs[0].to_string().ends_with(": Only one reference can have Controller set to true. Found \"true\" in references for ReplicaSet/a and ReplicaSet/b"));
    }

    #[test]
    fn object_meta_update() {
        let old = json!({"name": "a", "namespace": "n", "uid": "1", "resourceVersion": "5", "generation": 3,
                         "creationTimestamp": "2024-01-01T00:00:00Z", "deletionTimestamp": "2024-01-02T00:00:00Z",
                         "finalizers": ["x"]});
        let new = json!({"name": "b", "namespace": "n", "uid": "1", "generation": 2,
                         "creationTimestamp": "2024-01-01T00:00:00Z", "deletionTimestamp": "2024-01-02T00:00:00Z",
                         "finalizers": ["x", "z", "y"]});
        let text: Vec<String> = validate_object_meta_update(&new, &old)
            .iter()
            .map(|e| e.to_string())
            .collect();
        assert_eq!(
            text,
            vec![
                "metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{\"y\", \"z\"}",
                "metadata.resourceVersion: Invalid value: \"\": must be specified for an update",
                "metadata.generation: Invalid value: 2: must not be decremented",
                "metadata.name: Invalid value: \"b\": field is immutable",
            ]
        );
    }

    #[test]
    fn name_field_helpers() {
        assert!(validate_dns1123_subdomain_name("metadata.name", "a.b").is_empty());
        assert_eq!(
            validate_dns1123_subdomain_name("metadata.name", "Bad_Name")[0].to_string(),
            format!("metadata.name: Invalid value: \"Bad_Name\": {SUBDOMAIN_MSG}")
        );
        assert_eq!(
            validate_dns1123_label_name("metadata.name", "a.b")[0].detail,
            "must not contain dots"
        );
        assert_eq!(
            validate_dns1035_label_name("metadata.name", "1a")[0].detail,
            DNS1035_MSG
        );
        assert_eq!(
            validate_path_segment_name("metadata.name", ".")[0].detail,
            "may not be '.'"
        );
        let meta = json!({"labels": {"a": "b"}, "annotations": {"x/y": "z"}});
        assert!(validate_object_meta(meta.as_object()).is_empty());
        assert!(validate_object_meta(None).is_empty());
        let meta = json!({"labels": {"-a": "b"}});
        assert_eq!(validate_object_meta(meta.as_object()).len(), 1);
    }

    #[test]
    fn generated_names() {
        for _ in 0..50 {
            let n = generate_name("web-");
            assert_eq!(n.len(), 9);
            assert!(n.starts_with("web-"));
            assert!(n[4..].bytes().all(|b| GENERATE_NAME_ALPHABET.contains(&b)));
        }
        let long = "a".repeat(100);
        let n = generate_name(&long);
        assert_eq!(n.len(), 63);
        assert!(validate_name(&n, NameRule::DnsSubdomain, false).is_empty());
        // never splits a UTF-8 sequence
        let n = generate_name(&format!("{}é", "a".repeat(57)));
        assert_eq!(n.len(), 57 + 5);
    }

    #[test]
    fn resource_rules() {
        assert_eq!(name_rule_for("", "namespaces"), NameRule::DnsLabel);
        assert_eq!(name_rule_for("", "services"), NameRule::Dns1035Label);
        assert_eq!(name_rule_for("", "pods"), NameRule::DnsSubdomain);
        assert_eq!(name_rule_for("apps", "statefulsets"), NameRule::DnsLabel);
        assert_eq!(
            name_rule_for("rbac.authorization.k8s.io", "clusterroles"),
            NameRule::PathSegment
        );
        assert_eq!(
            name_rule_for("certificates.k8s.io", "certificatesigningrequests"),
            NameRule::Unconstrained
        );
        assert_eq!(name_rule_for("batch", "cronjobs"), NameRule::CronJob);
        assert_eq!(
            name_rule_for("example.com", "widgets"),
            NameRule::DnsSubdomain
        );
    }
}
