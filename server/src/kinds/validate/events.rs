//! Events: kube's `ValidateEventCreate` / `ValidateEventUpdate`
//! (`pkg/apis/core/validation/events.go`). Core v1 and events.k8s.io/v1 Events are two
//! views of one stored core Event; kube validates the core form and reports core field
//! names (`involvedObject`, `message`, `reportingController`, …) for both. Requests through
//! core v1 only get the legacy checks; events.k8s.io/v1 requests get the strict ones too.
//! The object here is in the request's version, so field names are looked up per view.

use serde_json::{Map, Value};

use super::{Errs, Path, get, invalid, invalid_msgs, lookup, required, s};
use crate::validation::{self, FieldError};

const REPORTING_INSTANCE_LIMIT: usize = 128;
const ACTION_LIMIT: usize = 128;
const REASON_LIMIT: usize = 128;
const NOTE_LIMIT: usize = 1024;

/// Which API the Event came through.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// core v1 (legacy validation only).
    Core,
    /// events.k8s.io/v1 (strict validation).
    Events,
}

/// The request field holding the core field `core`.
fn field(view: View, core: &'static str) -> &'static str {
    if view == View::Core {
        return core;
    }
    match core {
        "involvedObject" => "regarding",
        "message" => "note",
        "reportingComponent" => "reportingController",
        "source" => "deprecatedSource",
        "firstTimestamp" => "deprecatedFirstTimestamp",
        "lastTimestamp" => "deprecatedLastTimestamp",
        "count" => "deprecatedCount",
        other => other,
    }
}

fn f<'a>(ev: &'a Value, view: View, core: &'static str) -> Option<&'a Value> {
    get(ev, field(view, core))
}

fn fs<'a>(ev: &'a Value, view: View, core: &'static str) -> &'a str {
    f(ev, view, core).and_then(Value::as_str).unwrap_or("")
}

fn namespace(ev: &Value) -> &str {
    lookup(ev, "metadata").map_or("", |m| s(m, "namespace"))
}

/// `legacyValidateEvent`.
fn legacy(ev: &Value, view: View, errs: &mut Errs) {
    let ns = namespace(ev);
    let involved_ns = f(ev, view, "involvedObject").map_or("", |o| s(o, "namespace"));
    let io = Path::new("involvedObject");
    let iop = io.child("namespace");
    let mismatch = "does not match event.namespace";
    if get(ev, "eventTime").is_none() {
        let bad = if involved_ns.is_empty() {
            !ns.is_empty() && ns != "default"
        } else {
            ns != involved_ns
        };
        if bad {
            invalid(errs, &iop, involved_ns, mismatch);
        }
        return;
    }
    if involved_ns.is_empty() && ns != "default" && ns != "kube-system" {
        invalid(errs, &iop, involved_ns, mismatch);
    }
    let rc = fs(ev, view, "reportingComponent");
    let rcp = Path::new("reportingController");
    if rc.is_empty() {
        required(errs, &rcp, "");
    }
    let msgs = validation::is_label_key(rc);
    if !msgs.is_empty() {
        invalid_msgs(errs, &rcp, rc, msgs);
    }
    for (name, limit) in [
        ("reportingInstance", REPORTING_INSTANCE_LIMIT),
        ("action", ACTION_LIMIT),
        ("reason", REASON_LIMIT),
    ] {
        let v = s(ev, name);
        let p = Path::new(name);
        if v.is_empty() {
            required(errs, &p, "");
        }
        if v.len() > limit {
            invalid(
                errs,
                &p,
                "",
                &format!("can have at most {limit} characters"),
            );
        }
    }
    if fs(ev, view, "message").len() > NOTE_LIMIT {
        invalid(
            errs,
            &Path::new("message"),
            "",
            &format!("can have at most {NOTE_LIMIT} characters"),
        );
    }
}

/// `validateV1EventSeries`.
fn series(ev: &Value, errs: &mut Errs) {
    let Some(series) = get(ev, "series") else {
        return;
    };
    if super::int(series, "count").unwrap_or(0) < 2 {
        invalid(errs, &Path::new("series.count"), "", "should be at least 2");
    }
    if get(series, "lastObservedTime").is_none() {
        required(errs, &Path::new("series.lastObservedTime"), "");
    }
}

/// `ValidateEventCreate` minus metadata.
pub fn validate_event(ev: &Value, view: View, errs: &mut Errs) {
    legacy(ev, view, errs);
    if view == View::Core {
        return;
    }
    series(ev, errs);
    if get(ev, "eventTime").is_none() {
        required(errs, &Path::new("eventTime"), "");
    }
    let ty = s(ev, "type");
    if ty != "Normal" && ty != "Warning" {
        invalid(
            errs,
            &Path::new("type"),
            "",
            &format!("has invalid value: {ty}"),
        );
    }
    for core in ["firstTimestamp", "lastTimestamp"] {
        if f(ev, view, core).is_some() {
            invalid(errs, &Path::new(core), "", "needs to be unset");
        }
    }
    if f(ev, view, "count").and_then(Value::as_i64).unwrap_or(0) != 0 {
        invalid(errs, &Path::new("count"), "", "needs to be unset");
    }
    if let Some(src) = f(ev, view, "source")
        && (!s(src, "component").is_empty() || !s(src, "host").is_empty())
    {
        invalid(errs, &Path::new("source"), "", "needs to be unset");
    }
}

/// Go's `time.Time.String()` for an RFC 3339 UTC timestamp (`2026-01-02 03:04:05 +0000
/// UTC`), the zero time when unset.
fn go_time(v: Option<&Value>) -> String {
    let Some(t) = v.and_then(Value::as_str) else {
        return "0001-01-01 00:00:00 +0000 UTC".to_string();
    };
    let t = t.strip_suffix('Z').unwrap_or(t);
    let (date, time) = t.split_once('T').unwrap_or((t, ""));
    let time = match time.split_once('.') {
        Some((hms, frac)) => {
            let frac = frac.trim_end_matches('0');
            if frac.is_empty() {
                hms.to_string()
            } else {
                format!("{hms}.{frac}")
            }
        }
        None => time.to_string(),
    };
    format!("{date} {time} +0000 UTC")
}

/// An object reference as kube's internal `core.ObjectReference` marshals (Go field names).
fn object_ref(v: Option<&Value>) -> Value {
    let Some(v) = v else { return Value::Null };
    let mut m = Map::new();
    for (go, json) in [
        ("Kind", "kind"),
        ("Namespace", "namespace"),
        ("Name", "name"),
        ("UID", "uid"),
        ("APIVersion", "apiVersion"),
        ("ResourceVersion", "resourceVersion"),
        ("FieldPath", "fieldPath"),
    ] {
        m.insert(go.into(), Value::String(s(v, json).to_string()));
    }
    Value::Object(m)
}

/// The update-only part of `ValidateEventUpdate` for events.k8s.io requests (core v1
/// updates only get the legacy checks on the new object).
pub fn validate_event_update(new: &Value, old: &Value, view: View, errs: &mut Errs) {
    legacy(new, view, errs);
    if view == View::Core {
        return;
    }
    if get(new, "series") != get(old, "series") {
        series(new, errs);
    }
    let changed = |core: &'static str| f(new, view, core) != f(old, view, core);
    let push = |errs: &mut Errs, path: &str, value: Value| {
        errs.push(FieldError::invalid(path, value, super::IMMUTABLE));
    };
    let str_value = |core: &'static str| Value::String(fs(new, view, core).to_string());
    for (core, path) in [
        ("involvedObject", "involvedObject"),
        ("reason", "reason"),
        ("message", "message"),
        ("source", "source"),
        ("firstTimestamp", "firstTimestamp"),
        ("lastTimestamp", "lastTimestamp"),
        ("count", "count"),
        ("reason", "reason"),
        ("type", "type"),
        ("eventTime", "eventTime"),
        ("action", "action"),
        ("related", "related"),
        ("reportingComponent", "reportingController"),
        ("reportingInstance", "reportingInstance"),
    ] {
        if !changed(core) {
            continue;
        }
        let nv = f(new, view, core);
        match core {
            "involvedObject" => push(errs, path, object_ref(nv)),
            "related" => push(errs, path, object_ref(nv)),
            "source" => {
                let mut m = Map::new();
                let src = nv.unwrap_or(&Value::Null);
                m.insert(
                    "Component".into(),
                    Value::String(s(src, "component").into()),
                );
                m.insert("Host".into(), Value::String(s(src, "host").into()));
                push(errs, path, Value::Object(m));
            }
            "firstTimestamp" | "lastTimestamp" | "eventTime" => {
                errs.push(FieldError::invalid_shown(
                    path,
                    &go_time(nv),
                    super::IMMUTABLE,
                ));
            }
            "count" => push(
                errs,
                path,
                Value::from(nv.and_then(Value::as_i64).unwrap_or(0)),
            ),
            _ => push(errs, path, str_value(core)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn create(v: Value, view: View) -> Vec<String> {
        let mut errs = Vec::new();
        validate_event(&v, view, &mut errs);
        errs.iter().map(|e| e.to_string()).collect()
    }

    #[test]
    fn core_events() {
        let ok = json!({"metadata": {"name": "e", "namespace": "ns"},
            "involvedObject": {"kind": "Pod", "name": "p", "namespace": "ns"}, "reason": "Started"});
        assert!(create(ok, View::Core).is_empty());
        let bad = json!({"metadata": {"name": "e", "namespace": "ns"},
            "involvedObject": {"kind": "Pod", "name": "p", "namespace": "other"}});
        assert_eq!(
            create(bad, View::Core),
            vec![
                "involvedObject.namespace: Invalid value: \"other\": does not match event.namespace"
            ]
        );
        // With an event time the reporting fields are required, even through core v1.
        let new_style = json!({"metadata": {"name": "e", "namespace": "ns"},
            "eventTime": "2026-01-01T00:00:00.000000Z", "message": "x".repeat(1025),
            "involvedObject": {"kind": "Pod", "name": "p", "namespace": "ns"},
            "reportingComponent": "kubelet", "action": "a".repeat(129)});
        assert_eq!(
            create(new_style, View::Core),
            vec![
                "reportingInstance: Required value",
                "action: Invalid value: \"\": can have at most 128 characters",
                "reason: Required value",
                "message: Invalid value: \"\": can have at most 1024 characters",
            ]
        );
    }

    #[test]
    fn events_api_is_strict() {
        let ok = json!({"metadata": {"name": "e", "namespace": "ns"}, "eventTime": "2026-01-01T00:00:00.000000Z",
            "regarding": {"kind": "Pod", "name": "p", "namespace": "ns"}, "reason": "Started", "action": "Start",
            "reportingController": "example.com/ctl", "reportingInstance": "i-1", "type": "Normal", "note": "ok"});
        assert!(create(ok.clone(), View::Events).is_empty());
        let bad = json!({"metadata": {"name": "e", "namespace": "ns"},
            "regarding": {"kind": "Pod", "name": "p", "namespace": "ns"}, "type": "Info",
            "deprecatedCount": 3, "deprecatedSource": {"component": "c"},
            "deprecatedFirstTimestamp": "2026-01-01T00:00:00Z",
            "series": {"count": 1}});
        assert_eq!(
            create(bad, View::Events),
            vec![
                "series.count: Invalid value: \"\": should be at least 2",
                "series.lastObservedTime: Required value",
                "eventTime: Required value",
                "type: Invalid value: \"\": has invalid value: Info",
                "firstTimestamp: Invalid value: \"\": needs to be unset",
                "count: Invalid value: \"\": needs to be unset",
                "source: Invalid value: \"\": needs to be unset",
            ]
        );
        let mut new = ok.clone();
        new["note"] = json!("changed");
        new["eventTime"] = json!("2026-01-02T03:04:05.500000Z");
        let mut errs = Vec::new();
        validate_event_update(&new, &ok, View::Events, &mut errs);
        assert_eq!(
            errs.iter().map(|e| e.to_string()).collect::<Vec<_>>(),
            vec![
                "message: Invalid value: \"changed\": field is immutable",
                "eventTime: Invalid value: 2026-01-02 03:04:05.5 +0000 UTC: field is immutable",
            ]
        );
    }
}
