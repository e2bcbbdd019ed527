//! Helpers over objects in their JSON form (`serde_json::Value` with field order kept).

use serde_json::{Map, Value};

/// RFC 3339 with second precision in UTC, as `metav1.Time` serialises.
pub fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc();
    format_rfc3339(now.unix_timestamp())
}

/// Formats Unix seconds as `2006-01-02T15:04:05Z`.
pub fn format_rfc3339(unix: i64) -> String {
    let dt =
        time::OffsetDateTime::from_unix_timestamp(unix).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    // Digit by digit: `format!` with width specifiers cost ~2,700 instructions a call, and
    // every create and update formats two timestamps.
    let year = dt.year();
    if !(0..=9999).contains(&year) {
        return format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            year,
            u8::from(dt.month()),
            dt.day(),
            dt.hour(),
            dt.minute(),
            dt.second()
        );
    }
    fn two(out: &mut String, n: u8) {
        out.push(char::from(b'0' + n / 10 % 10));
        out.push(char::from(b'0' + n % 10));
    }
    let year = u16::try_from(year).unwrap_or(0);
    let mut out = String::with_capacity(20);
    two(&mut out, u8::try_from(year / 100).unwrap_or(0));
    two(&mut out, u8::try_from(year % 100).unwrap_or(0));
    for (sep, n) in [
        ('-', u8::from(dt.month())),
        ('-', dt.day()),
        ('T', dt.hour()),
        (':', dt.minute()),
        (':', dt.second()),
    ] {
        out.push(sep);
        two(&mut out, n);
    }
    out.push('Z');
    out
}

pub fn metadata(obj: &Value) -> Option<&Map<String, Value>> {
    obj.get("metadata")?.as_object()
}

/// The object's metadata map, created (in kube's position, after kind/apiVersion) if absent.
pub fn metadata_mut(obj: &mut Value) -> &mut Map<String, Value> {
    if !obj.is_object() {
        *obj = Value::Object(Map::new());
    }
    let Value::Object(map) = obj else {
        unreachable_object()
    };
    if !matches!(map.get("metadata"), Some(Value::Object(_))) {
        map.insert("metadata".into(), Value::Object(Map::new()));
    }
    match map.get_mut("metadata") {
        Some(Value::Object(m)) => m,
        _ => unreachable_object(),
    }
}

#[cold]
fn unreachable_object() -> ! {
    // Both branches above make the value an object first.
    unreachable!("value was just made an object")
}

pub fn meta_str<'a>(obj: &'a Value, field: &str) -> Option<&'a str> {
    metadata(obj)?.get(field)?.as_str()
}

pub fn name(obj: &Value) -> &str {
    meta_str(obj, "name").unwrap_or("")
}

pub fn namespace(obj: &Value) -> &str {
    meta_str(obj, "namespace").unwrap_or("")
}

pub fn uid(obj: &Value) -> &str {
    meta_str(obj, "uid").unwrap_or("")
}

pub fn set_meta(obj: &mut Value, field: &str, value: Value) {
    metadata_mut(obj).insert(field.to_string(), value);
}

pub fn remove_meta(obj: &mut Value, field: &str) -> Option<Value> {
    metadata_mut(obj).shift_remove(field)
}

/// Labels as a string map (non-string values are ignored; typed decoding rejects them earlier).
pub fn labels(obj: &Value) -> std::collections::BTreeMap<String, String> {
    metadata(obj)
        .and_then(|m| m.get("labels"))
        .and_then(Value::as_object)
        .map(|l| {
            l.iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

pub fn finalizers(obj: &Value) -> Vec<String> {
    metadata(obj)
        .and_then(|m| m.get("finalizers"))
        .and_then(Value::as_array)
        .map(|f| {
            f.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

pub fn is_deleting(obj: &Value) -> bool {
    metadata(obj)
        .and_then(|m| m.get("deletionTimestamp"))
        .is_some_and(|v| !v.is_null())
}

/// Puts `kind` and `apiVersion` first, as kube-apiserver writes them.
pub fn set_type_meta(obj: &mut Value, api_version: &str, kind: &str) {
    if let Value::Object(map) = obj {
        let first_two =
            map.keys().take(2).map(String::as_str).collect::<Vec<_>>() == ["kind", "apiVersion"];
        if first_two {
            map.insert("kind".into(), Value::String(kind.to_string()));
            map.insert("apiVersion".into(), Value::String(api_version.to_string()));
            return;
        }
        // Moved to the front in place (the other members keep their order) rather than
        // rebuilding the map, which hashed every key again.
        map.shift_insert(0, "kind".into(), Value::String(kind.to_string()));
        map.shift_insert(
            1,
            "apiVersion".into(),
            Value::String(api_version.to_string()),
        );
    }
}

/// Inserts `key` right after `after` (or at the end when `after` is absent).
pub fn insert_after(map: &mut Map<String, Value>, after: &str, key: &str, value: Value) {
    if !map.contains_key(after) || map.contains_key(key) {
        map.insert(key.to_string(), value);
        return;
    }
    let mut out = Map::with_capacity(map.len() + 1);
    let mut value = Some(value);
    for (k, v) in std::mem::take(map) {
        let is_anchor = k == after;
        out.insert(k, v);
        if is_anchor && let Some(v) = value.take() {
            out.insert(key.to_string(), v);
        }
    }
    *map = out;
}

/// Whether `a` and `b` are equal ignoring `metadata.resourceVersion` and `metadata.managedFields`
/// (a no-op update writes nothing).
pub fn same_content(a: &Value, b: &Value) -> bool {
    let strip = |v: &Value| {
        let mut v = v.clone();
        if let Some(Value::Object(m)) = v.get_mut("metadata") {
            m.shift_remove("resourceVersion");
            m.shift_remove("managedFields");
        }
        v
    };
    strip(a) == strip(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    proptest::proptest! {
        #[test]
        fn rfc3339_digits_match_the_formatter(unix in -62_135_596_800i64..253_402_300_799) {
            let dt = time::OffsetDateTime::from_unix_timestamp(unix)
                .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
            let want = format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
                dt.year(),
                u8::from(dt.month()),
                dt.day(),
                dt.hour(),
                dt.minute(),
                dt.second()
            );
            proptest::prop_assert_eq!(format_rfc3339(unix), want);
        }
    }

    #[test]
    fn type_meta_goes_first_in_kubes_order() {
        for body in [
            json!({"apiVersion": "x", "data": {}, "kind": "K", "metadata": {}}),
            json!({"metadata": {}, "kind": "K"}),
            json!({"data": 1}),
            json!({"kind": "Old", "apiVersion": "old", "b": 2}),
        ] {
            let mut v = body.clone();
            set_type_meta(&mut v, "v1", "ConfigMap");
            let keys: Vec<&String> = v
                .as_object()
                .map(|m| m.keys().collect())
                .unwrap_or_default();
            let rest: Vec<&String> = body
                .as_object()
                .map(|m| {
                    m.keys()
                        .filter(|k| *k != "kind" && *k != "apiVersion")
                        .collect()
                })
                .unwrap_or_default();
            assert_eq!(keys[..2], ["kind", "apiVersion"]);
            assert_eq!(keys[2..], rest[..]);
            assert_eq!(v["kind"], "ConfigMap");
            assert_eq!(v["apiVersion"], "v1");
        }
    }

    #[test]
    fn rfc3339_seconds() {
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
    }

    #[test]
    fn type_meta_goes_first() {
        let mut v = json!({"metadata": {}, "data": {}});
        set_type_meta(&mut v, "v1", "ConfigMap");
        let keys: Vec<&String> = v
            .as_object()
            .map(|m| m.keys().collect())
            .unwrap_or_default();
        assert_eq!(keys, ["kind", "apiVersion", "metadata", "data"]);
    }

    #[test]
    fn insert_after_keeps_order() {
        let mut m = Map::new();
        m.insert("name".into(), json!("a"));
        m.insert("labels".into(), json!({}));
        insert_after(&mut m, "name", "uid", json!("u"));
        let keys: Vec<&String> = m.keys().collect();
        assert_eq!(keys, ["name", "uid", "labels"]);
    }
}
