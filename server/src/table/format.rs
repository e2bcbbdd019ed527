//! Cell formatting shared by the printers: kube's human durations, timestamps, label maps
//! and selectors, and small JSON accessors.

use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::labels::LabelSelector;

/// What a printer needs besides the object: the moment the request is served, so every
/// Age in one response is computed against the same clock reading.
#[derive(Debug, Clone, Copy)]
pub struct Ctx {
    /// Unix time in nanoseconds.
    pub now_nanos: i128,
}

impl Ctx {
    /// A context at the current wall-clock time.
    pub fn now() -> Self {
        Ctx {
            now_nanos: OffsetDateTime::now_utc().unix_timestamp_nanos(),
        }
    }

    /// `translateTimestampSince`: the human duration since `ts`, or `<unknown>` when the
    /// timestamp is absent (Go's zero time).
    pub fn since(&self, ts: Option<&Value>) -> String {
        match parse_time(ts) {
            Some(t) => human_duration(self.now_nanos - t),
            None => "<unknown>".to_string(),
        }
    }
}

const NANOS_PER_SEC: i128 = 1_000_000_000;

/// Parses an RFC 3339 timestamp (`metav1.Time` / `metav1.MicroTime`) into Unix nanoseconds.
/// Absent, null, empty or unparsable values count as the zero time (`None`).
pub fn parse_time(ts: Option<&Value>) -> Option<i128> {
    let s = ts?.as_str()?;
    if s.is_empty() {
        return None;
    }
    let t = OffsetDateTime::parse(s, &Rfc3339).ok()?;
    // Go's zero time (0001-01-01T00:00:00Z) is "unset" for IsZero().
    if t.year() == 1 && t.ordinal() == 1 && t.time() == time::Time::MIDNIGHT {
        return None;
    }
    Some(t.unix_timestamp_nanos())
}

/// `k8s.io/apimachinery/pkg/util/duration.HumanDuration`: a succinct duration with two to
/// three significant figures ("5s", "3m2s", "10d", "2y100d"). Within two seconds in the
/// future counts as now; further ahead prints `<invalid>`.
pub fn human_duration(nanos: i128) -> String {
    // Go truncates toward zero in every division below.
    let seconds = nanos / NANOS_PER_SEC;
    if seconds < -1 {
        return "<invalid>".to_string();
    } else if seconds < 0 {
        return "0s".to_string();
    } else if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        let s = seconds % 60;
        if s == 0 {
            return format!("{minutes}m");
        }
        return format!("{minutes}m{s}s");
    } else if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = minutes / 60;
    if hours < 8 {
        let m = minutes % 60;
        if m == 0 {
            return format!("{hours}h");
        }
        return format!("{hours}h{m}m");
    } else if hours < 48 {
        return format!("{hours}h");
    } else if hours < 24 * 8 {
        let h = hours % 24;
        if h == 0 {
            return format!("{}d", hours / 24);
        }
        return format!("{}d{}h", hours / 24, h);
    } else if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    } else if hours < 24 * 365 * 8 {
        let dy = (hours / 24) % 365;
        if dy == 0 {
            return format!("{}y", hours / 24 / 365);
        }
        return format!("{}y{}d", hours / 24 / 365, dy);
    }
    format!("{}y", hours / 24 / 365)
}

/// `HumanDuration` of a whole number of seconds.
pub fn human_seconds(seconds: i64) -> String {
    human_duration(i128::from(seconds) * NANOS_PER_SEC)
}

/// The creation timestamp as the default table prints it: RFC 3339 in UTC, Go's zero time
/// when absent.
pub fn rfc3339_utc(ts: Option<&Value>) -> String {
    match parse_time(ts) {
        Some(n) => OffsetDateTime::from_unix_timestamp_nanos(n - n.rem_euclid(NANOS_PER_SEC))
            .ok()
            .and_then(|t| t.format(&Rfc3339).ok())
            .unwrap_or_else(|| "0001-01-01T00:00:00Z".to_string()),
        None => "0001-01-01T00:00:00Z".to_string(),
    }
}

/// `labels.FormatLabels`: `k=v` pairs sorted by key and joined by `,`; `<none>` when empty.
pub fn format_labels(map: Option<&Value>) -> String {
    let Some(m) = map.and_then(Value::as_object).filter(|m| !m.is_empty()) else {
        return "<none>".to_string();
    };
    let mut pairs: Vec<(&String, &str)> = m
        .iter()
        .map(|(k, v)| (k, v.as_str().unwrap_or("")))
        .collect();
    pairs.sort_by(|a, b| a.0.cmp(b.0));
    let mut out = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
}

/// `metav1.FormatLabelSelector`: the selector's string form, `<none>` when that is empty
/// (null or `{}` selectors), `<error>` when it does not convert.
pub fn format_label_selector(sel: Option<&Value>) -> String {
    match LabelSelector::from_label_selector_json(sel) {
        Ok(s) => {
            let l = s.to_string();
            if l.is_empty() {
                "<none>".to_string()
            } else {
                l
            }
        }
        Err(_) => "<error>".to_string(),
    }
}

/// `LabelSelectorAsSelector(...).String()` with `<invalid>` on a conversion error (the
/// Deployment printer's form, which keeps an empty selector empty).
pub fn selector_string(sel: Option<&Value>) -> String {
    match LabelSelector::from_label_selector_json(sel) {
        Ok(s) => s.to_string(),
        Err(_) => "<invalid>".to_string(),
    }
}

/// `layoutContainerCells`: container names and images, each joined by `,`.
pub fn containers(list: Option<&Value>) -> (String, String) {
    let mut names = String::new();
    let mut images = String::new();
    if let Some(items) = list.and_then(Value::as_array) {
        for (i, c) in items.iter().enumerate() {
            if i > 0 {
                names.push(',');
                images.push(',');
            }
            names.push_str(str_at(c, "name"));
            images.push_str(str_at(c, "image"));
        }
    }
    (names, images)
}

/// `a + N more...` for lists cut at `max` entries, `<unset>` when empty (`listWithMoreString`).
pub fn list_with_more(list: &[String], more: bool, count: usize, max: usize) -> String {
    let ret = list.join(",");
    if more {
        return format!("{ret} + {} more...", count.saturating_sub(max));
    }
    if ret.is_empty() {
        return "<unset>".to_string();
    }
    ret
}

/// `printBoolPtr`: `True`, `False` or `<unset>`.
pub fn bool_ptr(v: Option<&Value>) -> String {
    match v.and_then(Value::as_bool) {
        Some(true) => "True".to_string(),
        Some(false) => "False".to_string(),
        None => "<unset>".to_string(),
    }
}

/// `intstr.IntOrString.String()`.
pub fn int_or_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

/// The value at a `/`-separated pointer (`"status/phase"`).
pub fn at<'a>(v: &'a Value, pointer: &str) -> Option<&'a Value> {
    let mut cur = v;
    for part in pointer.split('/') {
        cur = cur.get(part)?;
    }
    Some(cur)
}

/// The string at `pointer`, "" when absent or not a string.
pub fn str_at<'a>(v: &'a Value, pointer: &str) -> &'a str {
    at(v, pointer).and_then(Value::as_str).unwrap_or("")
}

/// The integer at `pointer`, 0 when absent.
pub fn int_at(v: &Value, pointer: &str) -> i64 {
    at(v, pointer).and_then(Value::as_i64).unwrap_or(0)
}

/// The array at `pointer`, empty when absent.
pub fn arr_at<'a>(v: &'a Value, pointer: &str) -> &'a [Value] {
    at(v, pointer)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// The object at `pointer`, if any.
pub fn obj_at<'a>(v: &'a Value, pointer: &str) -> Option<&'a Map<String, Value>> {
    at(v, pointer).and_then(Value::as_object)
}

/// The number of entries of the map or list at `pointer`.
pub fn len_at(v: &Value, pointer: &str) -> i64 {
    let n = match at(v, pointer) {
        Some(Value::Object(m)) => m.len(),
        Some(Value::Array(a)) => a.len(),
        _ => 0,
    };
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// `"<none>"` in place of an empty string.
pub fn or_none(s: &str) -> String {
    if s.is_empty() {
        "<none>".to_string()
    } else {
        s.to_string()
    }
}

/// `net.JoinHostPort`: brackets around IPv6 hosts.
pub fn join_host_port(host: &str, port: i64) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn secs(s: i64) -> String {
        human_seconds(s)
    }

    #[test]
    fn human_duration_matches_kube_rules() {
        assert_eq!(human_duration(-3 * NANOS_PER_SEC), "<invalid>");
        assert_eq!(human_duration(-NANOS_PER_SEC), "0s");
        assert_eq!(human_duration(-NANOS_PER_SEC / 2), "0s");
        assert_eq!(secs(0), "0s");
        assert_eq!(secs(5), "5s");
        assert_eq!(secs(119), "119s");
        assert_eq!(secs(120), "2m");
        assert_eq!(secs(182), "3m2s");
        assert_eq!(secs(599), "9m59s");
        assert_eq!(secs(600), "10m");
        assert_eq!(secs(179 * 60 + 59), "179m");
        assert_eq!(secs(3 * 3600), "3h");
        assert_eq!(secs(3 * 3600 + 5 * 60), "3h5m");
        assert_eq!(secs(8 * 3600), "8h");
        assert_eq!(secs(47 * 3600 + 3599), "47h");
        assert_eq!(secs(48 * 3600), "2d");
        assert_eq!(secs(50 * 3600), "2d2h");
        assert_eq!(secs(10 * 86400), "10d");
        assert_eq!(secs(729 * 86400), "729d");
        assert_eq!(secs(730 * 86400), "2y");
        assert_eq!(secs(830 * 86400), "2y100d");
        assert_eq!(secs(9 * 365 * 86400), "9y");
    }

    #[test]
    fn times_parse_and_zero_is_unknown() {
        let ctx = Ctx {
            now_nanos: parse_time(Some(&json!("2025-01-01T00:05:00Z"))).unwrap_or(0),
        };
        assert_eq!(ctx.since(Some(&json!("2025-01-01T00:00:00Z"))), "5m");
        assert_eq!(ctx.since(Some(&json!("2025-01-01T00:04:59.500000Z"))), "0s");
        assert_eq!(ctx.since(None), "<unknown>");
        assert_eq!(ctx.since(Some(&json!("0001-01-01T00:00:00Z"))), "<unknown>");
        assert_eq!(ctx.since(Some(&Value::Null)), "<unknown>");
        assert_eq!(
            rfc3339_utc(Some(&json!("2025-01-01T02:00:00+02:00"))),
            "2025-01-01T00:00:00Z"
        );
        assert_eq!(rfc3339_utc(None), "0001-01-01T00:00:00Z");
    }

    #[test]
    fn labels_and_selectors() {
        assert_eq!(format_labels(None), "<none>");
        assert_eq!(format_labels(Some(&json!({"b": "2", "a": "1"}))), "a=1,b=2");
        assert_eq!(format_label_selector(None), "<none>");
        assert_eq!(format_label_selector(Some(&json!({}))), "<none>");
        assert_eq!(
            format_label_selector(Some(&json!({
                "matchLabels": {"z": "1"},
                "matchExpressions": [{"key": "a", "operator": "In", "values": ["y", "x"]},
                                     {"key": "b", "operator": "DoesNotExist"}]
            }))),
            "a in (x,y),!b,z=1"
        );
        assert_eq!(
            format_label_selector(Some(
                &json!({"matchExpressions": [{"key": "a", "operator": "Bad"}]})
            )),
            "<error>"
        );
        assert_eq!(selector_string(Some(&json!({}))), "");
        assert_eq!(
            selector_string(Some(
                &json!({"matchExpressions": [{"key": "a", "operator": "In"}]})
            )),
            "<invalid>"
        );
    }

    #[test]
    fn small_helpers() {
        let (n, i) = containers(Some(
            &json!([{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]),
        ));
        assert_eq!((n.as_str(), i.as_str()), ("a,b", "x,y"));
        assert_eq!(list_with_more(&[], false, 0, 3), "<unset>");
        let l: Vec<String> = ["1", "2", "3"].iter().map(|s| s.to_string()).collect();
        assert_eq!(list_with_more(&l, true, 5, 3), "1,2,3 + 2 more...");
        assert_eq!(join_host_port("::1", 80), "[::1]:80");
        assert_eq!(join_host_port("10.0.0.1", 80), "10.0.0.1:80");
        assert_eq!(bool_ptr(None), "<unset>");
        assert_eq!(int_or_string(&json!(3)), "3");
        assert_eq!(int_or_string(&json!("50%")), "50%");
    }
}
