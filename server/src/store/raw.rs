//! The JSON clients see, spliced from the stored JSON without building a `Value`.
//!
//! Stored values are `gojson`'s compact output (serde_json's, with Go's escaping) of an
//! object without `metadata.resourceVersion` (see `encode_for_storage`). Reading one as JSON only needs
//! the type meta of the served version first and `resourceVersion` put into `metadata`
//! where [`super::set_resource_version`] puts it; every other byte is copied. That is
//! several times cheaper than parsing into a `Value` and serialising it again, which
//! dominates GET and LIST of JSON.
//!
//! [`encode`] only answers when the stored text is in the canonical form `gojson`
//! writes (no whitespace, its escapes, integers only, valid UTF-8, no repeated keys in the
//! object or its metadata), so the output is byte for byte
//! `gojson::to_vec(&decode_stored(..))`; anything else falls back to that path.

use std::io::Write as _;

use crate::storage::Revision;

/// Appends the client form of `stored` (type meta `(kind, api_version)` first, or none for
/// a list item, and `resourceVersion` `rv`) to `out`. Returns false, with `out` unchanged,
/// when the fast path does not apply.
pub fn encode(
    type_meta: Option<(&str, &str)>,
    stored: &[u8],
    rv: Revision,
    out: &mut Vec<u8>,
) -> bool {
    let mark = out.len();
    if encode_inner(type_meta, stored, rv, out).is_none() {
        out.truncate(mark);
        return false;
    }
    true
}

/// One member of an object: key (without quotes) and value, as byte ranges.
#[derive(Clone, Copy)]
struct Member {
    key: (usize, usize),
    value: (usize, usize),
}

/// Metadata fields after which `resourceVersion` goes, most preferred first.
const ANCHORS: [&[u8]; 5] = [b"uid", b"selfLink", b"namespace", b"generateName", b"name"];

fn encode_inner(
    type_meta: Option<(&str, &str)>,
    s: &[u8],
    rv: Revision,
    out: &mut Vec<u8>,
) -> Option<()> {
    std::str::from_utf8(s).ok()?;
    let (top, end) = members(s, 0)?;
    if end != s.len() {
        return None;
    }
    let key = |m: &Member| &s[m.key.0..m.key.1];
    let meta = top.iter().find(|m| key(m) == b"metadata")?;
    if s[meta.value.0] != b'{' {
        return None;
    }
    let (fields, _) = members(s, meta.value.0)?;
    let fkey = |m: &Member| &s[m.key.0..m.key.1];
    let existing = fields.iter().find(|m| fkey(m) == b"resourceVersion");
    let anchor = ANCHORS
        .iter()
        .find_map(|a| fields.iter().find(|m| fkey(m) == *a));

    out.reserve(s.len() + 64);
    out.push(b'{');
    let mut first = true;
    if let Some((kind, api_version)) = type_meta {
        out.extend_from_slice(b"\"kind\":");
        write_str(out, kind)?;
        out.extend_from_slice(b",\"apiVersion\":");
        write_str(out, api_version)?;
        first = false;
    }
    for m in top
        .iter()
        .filter(|m| key(m) != b"kind" && key(m) != b"apiVersion")
    {
        if !first {
            out.push(b',');
        }
        first = false;
        if m.value.0 != meta.value.0 {
            out.extend_from_slice(&s[m.key.0 - 1..m.value.1]);
            continue;
        }
        // "metadata":{…} with resourceVersion set.
        out.extend_from_slice(&s[m.key.0 - 1..m.value.0]);
        out.push(b'{');
        let mut first = true;
        let put_rv = |out: &mut Vec<u8>, first: &mut bool| {
            if !*first {
                out.push(b',');
            }
            *first = false;
            out.extend_from_slice(b"\"resourceVersion\":\"");
            let _ = write!(out, "{rv}");
            out.push(b'"');
        };
        for f in &fields {
            if existing.is_some_and(|e| e.key == f.key) {
                put_rv(out, &mut first);
                continue;
            }
            if !first {
                out.push(b',');
            }
            first = false;
            out.extend_from_slice(&s[f.key.0 - 1..f.value.1]);
            if existing.is_none() && anchor.is_some_and(|a| a.key == f.key) {
                put_rv(out, &mut first);
            }
        }
        if existing.is_none() && anchor.is_none() {
            put_rv(out, &mut first);
        }
        out.push(b'}');
    }
    out.push(b'}');
    Some(())
}

fn write_str(out: &mut Vec<u8>, v: &str) -> Option<()> {
    crate::gojson::write_compact(out, v).ok()
}

/// The members of the object starting at `s[at] == b'{'`, and the index after its `}`.
/// Keys must be plain (no escapes) and distinct.
fn members(s: &[u8], at: usize) -> Option<(Vec<Member>, usize)> {
    let mut i = at;
    if *s.get(i)? != b'{' {
        return None;
    }
    i += 1;
    let mut out: Vec<Member> = Vec::with_capacity(8);
    if *s.get(i)? == b'}' {
        return Some((out, i + 1));
    }
    loop {
        if *s.get(i)? != b'"' {
            return None;
        }
        let key_start = i + 1;
        let key_end = key_start + s.get(key_start..)?.iter().position(|b| *b == b'"')?;
        let key = &s[key_start..key_end];
        if key.iter().any(|b| *b == b'\\' || *b < 0x20) {
            return None;
        }
        if out.iter().any(|m| &s[m.key.0..m.key.1] == key) {
            return None;
        }
        i = key_end + 1;
        if *s.get(i)? != b':' {
            return None;
        }
        i += 1;
        let value_start = i;
        i = skip_value(s, i)?;
        out.push(Member {
            key: (key_start, key_end),
            value: (value_start, i),
        });
        match *s.get(i)? {
            b',' => i += 1,
            b'}' => return Some((out, i + 1)),
            _ => return None,
        }
    }
}

/// The index after the value starting at `s[i]`, checking it is canonical compact JSON.
fn skip_value(s: &[u8], i: usize) -> Option<usize> {
    match *s.get(i)? {
        b'"' => skip_string(s, i),
        b'{' | b'[' => skip_container(s, i),
        b't' => literal(s, i, b"true"),
        b'f' => literal(s, i, b"false"),
        b'n' => literal(s, i, b"null"),
        b'-' | b'0'..=b'9' => skip_integer(s, i),
        _ => None,
    }
}

fn literal(s: &[u8], i: usize, word: &[u8]) -> Option<usize> {
    (s.get(i..i + word.len())? == word).then_some(i + word.len())
}

/// `-?(0|[1-9][0-9]*)`; fractions and exponents are left to serde_json.
fn skip_integer(s: &[u8], mut i: usize) -> Option<usize> {
    let negative = s[i] == b'-';
    if negative {
        i += 1;
    }
    let start = i;
    while s.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    let digits = &s[start..i];
    if digits.is_empty() || (digits.len() > 1 && digits[0] == b'0') {
        return None;
    }
    if matches!(s.get(i), Some(b'.' | b'e' | b'E')) {
        return None;
    }
    // serde_json reads `-0` and integers beyond i64/u64 as floats.
    let text = || std::str::from_utf8(&s[start - usize::from(negative)..i]).ok();
    if negative {
        if digits == b"0" || (digits.len() >= 19 && text()?.parse::<i64>().is_err()) {
            return None;
        }
    } else if digits.len() >= 20 && text()?.parse::<u64>().is_err() {
        return None;
    }
    Some(i)
}

/// A string whose escapes are exactly those `gojson` writes (serde_json's plus Go's
/// `\u003c`, `\u003e`, `\u0026`, `\u2028`, `\u2029`).
fn skip_string(s: &[u8], i: usize) -> Option<usize> {
    let mut i = i + 1;
    loop {
        let rel = s
            .get(i..)?
            .iter()
            .position(|b| matches!(*b, b'"' | b'\\' | b'<' | b'>' | b'&' | 0xE2) || *b < 0x20)?;
        i += rel;
        match s[i] {
            b'"' => return Some(i + 1),
            0xE2 => {
                // U+2028 / U+2029 must be escaped; other characters starting E2 are fine.
                if s.get(i + 1) == Some(&0x80) && matches!(s.get(i + 2), Some(0xA8 | 0xA9)) {
                    return None;
                }
                i += 1;
            }
            b'\\' => {
                match *s.get(i + 1)? {
                    b'"' | b'\\' | b'b' | b'f' | b'n' | b'r' | b't' => i += 2,
                    b'u' => {
                        let hex = s.get(i + 2..i + 6)?;
                        if matches!(hex, b"003c" | b"003e" | b"0026" | b"2028" | b"2029") {
                            i += 6;
                            continue;
                        }
                        let lower_hex = |b: &u8| b.is_ascii_digit() || (b'a'..=b'f').contains(b);
                        if hex[0] != b'0' || hex[1] != b'0' || !hex.iter().all(lower_hex) {
                            return None;
                        }
                        // \u0000-\u001f except the ones with a short escape.
                        let v =
                            u8::from_str_radix(std::str::from_utf8(&hex[2..]).ok()?, 16).ok()?;
                        if v >= 0x20 || matches!(v, 0x08 | 0x09 | 0x0a | 0x0c | 0x0d) {
                            return None;
                        }
                        i += 6;
                    }
                    _ => return None,
                }
            }
            _ => return None,
        }
    }
}

/// An object or array: every value inside checked, object keys plain strings.
fn skip_container(s: &[u8], i: usize) -> Option<usize> {
    if s[i] == b'{' {
        // Nested keys may repeat in principle; serde_json never writes that, and nothing
        // else writes stored values.
        let mut j = i + 1;
        if *s.get(j)? == b'}' {
            return Some(j + 1);
        }
        loop {
            if *s.get(j)? != b'"' {
                return None;
            }
            j = skip_string(s, j)?;
            if *s.get(j)? != b':' {
                return None;
            }
            j = skip_value(s, j + 1)?;
            match *s.get(j)? {
                b',' => j += 1,
                b'}' => return Some(j + 1),
                _ => return None,
            }
        }
    }
    let mut j = i + 1;
    if *s.get(j)? == b']' {
        return Some(j + 1);
    }
    loop {
        j = skip_value(s, j)?;
        match *s.get(j)? {
            b',' => j += 1,
            b']' => return Some(j + 1),
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::KeyValue;
    use bytes::Bytes;
    use proptest::prelude::*;
    use serde_json::{Map, Value, json};

    fn configmaps() -> &'static kiln_runtime::registry::ResourceInfo {
        resource("", "v1", "configmaps")
    }

    fn resource(
        group: &str,
        version: &str,
        plural: &str,
    ) -> &'static kiln_runtime::registry::ResourceInfo {
        kiln_generated::REGISTRY
            .iter()
            .filter(|g| g.name == group)
            .flat_map(|g| g.versions.iter())
            .filter(|v| v.version == version)
            .flat_map(|v| v.resources.iter())
            .find(|r| r.plural == plural)
            .unwrap_or_else(|| panic!("no {plural}"))
    }

    /// A store on a fresh embedded store (no fsync) with namespace `t`; keep the directory.
    async fn store_with_namespace_t() -> (tempfile::TempDir, crate::store::Store) {
        use crate::store::{Store, WriteOptions};
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let storage = crate::storage::EmbeddedStore::open(
            dir.path(),
            crate::storage::EmbeddedOptions {
                fsync: false,
                ..Default::default()
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let store = Store::new(storage);
        let ns = json!({"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": "t"}});
        store
            .create(
                resource("", "v1", "namespaces"),
                None,
                ns,
                &WriteOptions::default(),
            )
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        (dir, store)
    }

    /// A pod stored before D37 (without the fields Go always writes) still takes an update
    /// that changes only its labels: the old object is normalised as the new one is, so
    /// pod validation does not see `resources: {}` as a spec change.
    #[tokio::test]
    async fn objects_stored_before_zero_fields_still_update() {
        use crate::store::WriteOptions;
        let (_dir, store) = store_with_namespace_t().await;
        let r = resource("", "v1", "pods");
        let old = br#"{"kind":"Pod","apiVersion":"v1","metadata":{"name":"p","namespace":"t","uid":"u","creationTimestamp":"2025-01-01T00:00:00Z"},"spec":{"containers":[{"name":"c","image":"nginx","terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File","imagePullPolicy":"Always"}],"restartPolicy":"Always","terminationGracePeriodSeconds":30,"dnsPolicy":"ClusterFirst","securityContext":{},"schedulerName":"default-scheduler","enableServiceLinks":true,"preemptionPolicy":"PreemptLowerPriority","priority":0},"status":{"phase":"Pending","qosClass":"BestEffort"}}"#;
        store
            .storage
            .create("/registry/pods/t/p", Bytes::from_static(old))
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        let (updated, _) = store
            .update(
                r,
                Some("t"),
                "p",
                None,
                &|old| {
                    let mut o = old.cloned().unwrap_or_default();
                    o["metadata"]["labels"] = json!({"app": "web"});
                    crate::handlers::normalize(r, o)
                },
                &WriteOptions::default(),
            )
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(updated["metadata"]["labels"], json!({"app": "web"}));
        assert_eq!(updated["spec"]["containers"][0]["resources"], json!({}));
    }

    /// A create's JSON answer (the stored text with its version inserted) is the body the
    /// object itself would give, and the body a GET gives right after; in another version
    /// than the storage version, and on a dry run, it is the object's own JSON.
    #[tokio::test]
    async fn create_json_is_the_created_object() {
        use crate::handlers::to_json;
        use crate::store::WriteOptions;
        let (_dir, store) = store_with_namespace_t().await;
        let objects = [
            (
                resource("", "v1", "configmaps"),
                json!({"kind": "ConfigMap", "apiVersion": "v1",
                    "metadata": {"name": "c", "labels": {"a": "b"}}, "data": {"k": "v\n\"<x>\""}}),
            ),
            (
                resource("", "v1", "pods"),
                json!({"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "p"},
                    "spec": {"containers": [{"name": "c", "image": "nginx"}]}}),
            ),
            (
                resource("", "v1", "services"),
                json!({"kind": "Service", "apiVersion": "v1", "metadata": {"name": "s"},
                    "spec": {"ports": [{"port": 80}]}}),
            ),
            (
                resource("autoscaling", "v1", "horizontalpodautoscalers"),
                json!({"kind": "HorizontalPodAutoscaler", "apiVersion": "autoscaling/v1",
                    "metadata": {"name": "h"},
                    "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "d"}, "maxReplicas": 3}}),
            ),
        ];
        for (r, obj) in objects {
            let name = obj["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let dry = WriteOptions {
                dry_run: true,
                ..Default::default()
            };
            let dry_body = store
                .create_json(r, Some("t"), obj.clone(), &dry)
                .await
                .unwrap_or_else(|e| panic!("{e:?}"));
            let dry_obj: Value = serde_json::from_slice(&dry_body).unwrap_or_default();
            assert_eq!(dry_obj["metadata"]["name"], name.as_str());
            assert!(dry_obj["metadata"].get("resourceVersion").is_none());
            let body = store
                .create_json(r, Some("t"), obj, &WriteOptions::default())
                .await
                .unwrap_or_else(|e| panic!("{e:?}"));
            let stored = store
                .get(r, Some("t"), &name)
                .await
                .unwrap_or_else(|e| panic!("{e:?}"));
            assert_eq!(
                String::from_utf8_lossy(&body),
                String::from_utf8_lossy(&to_json(&stored, false)),
                "{}",
                r.plural
            );
        }
    }

    /// The slow path's bytes (as a list item without type meta: `item`), or None when it
    /// fails.
    fn slow(stored: &[u8], rv: Revision, item: bool) -> Option<Vec<u8>> {
        let r = configmaps();
        let kv = KeyValue {
            key: "/registry/configmaps/ns/x".into(),
            value: Bytes::copy_from_slice(stored),
            create_revision: rv,
            mod_revision: rv,
        };
        let mut v = super::super::decode_stored(r, &kv).ok()?;
        if item {
            super::super::list_item(&mut v);
        }
        crate::gojson::to_vec(&v).ok()
    }

    fn fast_as(stored: &[u8], rv: Revision, item: bool) -> Option<Vec<u8>> {
        let mut out = b"prefix".to_vec();
        let type_meta = (!item).then_some(("ConfigMap", "v1"));
        let ok = encode(type_meta, stored, rv, &mut out);
        if !ok {
            assert_eq!(out, b"prefix", "a refused encode leaves the buffer alone");
            return None;
        }
        Some(out.split_off(6))
    }

    fn fast(stored: &[u8], rv: Revision) -> Option<Vec<u8>> {
        fast_as(stored, rv, false)
    }

    /// Whether the fast path takes `stored`; where it does, its bytes are the slow path's,
    /// as an object and as a list item.
    fn same(stored: &[u8], rv: Revision) -> bool {
        let mut taken = None;
        for item in [false, true] {
            let f = fast_as(stored, rv, item);
            assert!(taken.is_none_or(|t| t == f.is_some()));
            taken = Some(f.is_some());
            if let Some(f) = f {
                assert_eq!(
                    String::from_utf8_lossy(&f),
                    String::from_utf8_lossy(&slow(stored, rv, item).unwrap_or_default()),
                    "stored: {}",
                    String::from_utf8_lossy(stored)
                );
            }
        }
        taken == Some(true)
    }

    #[test]
    fn typical_objects_take_the_fast_path() {
        let cases = [
            json!({"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"a","namespace":"d","uid":"u","creationTimestamp":"2025-01-01T00:00:00Z","labels":{"x":"y"}},"data":{"k":"line\nnext \"q\" \\ \u{1} é"}}),
            json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"},"data":{}}),
            json!({"metadata":{"name":"a","generateName":"g"},"kind":"Old","binaryData":{"b":"AAAA"}}),
            json!({"kind":"ConfigMap","metadata":{"namespace":"n","selfLink":"/x"}}),
            json!({"kind":"ConfigMap","metadata":{}}),
            json!({"kind":"ConfigMap","metadata":{"labels":{"a":"b"}},"immutable":true,"x":[1,-2,null,[],{}]}),
            json!({"kind":"ConfigMap","metadata":{"name":"a","resourceVersion":"7","uid":"u"}}),
            json!({"kind":"ConfigMap","metadata":{"name":"a"},"data":{"html":"<a href=\"x\">&amp;</a> \u{2028}\u{2029} \u{2027}"}}),
        ];
        for c in cases {
            let stored = crate::gojson::to_vec(&c).unwrap_or_default();
            assert!(same(&stored, 42), "{c}");
        }
    }

    #[test]
    fn unusual_text_falls_back() {
        let cases: [&[u8]; 20] = [
            br#"{"kind": "ConfigMap","metadata":{}}"#,
            // Text Go would escape, left raw (written by something else).
            br#"{"kind":"ConfigMap","metadata":{"name":"a"},"s":"<"}"#,
            br#"{"kind":"ConfigMap","metadata":{"name":"a"},"s":"a&b"}"#,
            "{\"kind\":\"ConfigMap\",\"metadata\":{},\"s\":\"\u{2028}\"}".as_bytes(),
            br#"{"kind":"ConfigMap","metadata":{"name":"a"},"s":"\u003C"}"#,
            br#"{"kind":"ConfigMap","metadata":{"name":"a"},"f":1.5}"#,
            br#"{"kind":"ConfigMap","metadata":{"name":"a"},"f":1e3}"#,
            br#"{"kind":"ConfigMap","metadata":{"name":"a"},"s":"\/"}"#,
            br#"{"kind":"ConfigMap","metadata":{"name":"a"},"s":"\u0041"}"#,
            br#"{"kind":"ConfigMap","metadata":{"name":"a"},"s":"\u000A"}"#,
            br#"{"kind":"ConfigMap","metadata":{"name":"a","name":"b"}}"#,
            br#"{"kind":"ConfigMap","kind":"X","metadata":{}}"#,
            br#"{"kind":"ConfigMap","metadata":null}"#,
            br#"{"kind":"ConfigMap"}"#,
            br#"[1]"#,
            br#"{"kind":"ConfigMap","metadata":{}} "#,
            br#"{"kind":"ConfigMap","metadata":{},"i":-0}"#,
            br#"{"kind":"ConfigMap","metadata":{},"i":18446744073709551616}"#,
            br#"{"kind":"ConfigMap","metadata":{},"i":-9223372036854775809}"#,
            br#"{"kind":"ConfigMap","metadata":{},"i":01}"#,
        ];
        for c in cases {
            assert!(fast(c, 3).is_none(), "{}", String::from_utf8_lossy(c));
        }
        assert!(fast(b"{\"metadata\":{},\"s\":\"\xff\"}", 3).is_none());
    }

    fn leaf() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|i| json!(i)),
            any::<u64>().prop_map(|i| json!(i)),
            "\\PC{0,12}".prop_map(Value::String),
            "[\\x00-\\x7f]{0,6}".prop_map(Value::String),
        ]
    }

    fn tree() -> impl Strategy<Value = Value> {
        leaf().prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec(("[a-z\"\\\\\\n]{1,4}", inner), 0..4)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    /// Objects with any subset of the fields decode_stored cares about, in any order.
    fn object() -> impl Strategy<Value = Value> {
        let meta_keys = prop::sample::subsequence(
            vec![
                "name",
                "generateName",
                "namespace",
                "selfLink",
                "uid",
                "resourceVersion",
                "labels",
                "other",
            ],
            0..8,
        )
        .prop_shuffle();
        let top_keys =
            prop::sample::subsequence(vec!["kind", "apiVersion", "spec", "data", "zz"], 0..5)
                .prop_shuffle();
        (
            meta_keys,
            top_keys,
            any::<prop::sample::Index>(),
            tree(),
            tree(),
        )
            .prop_map(|(mk, tk, at, a, b)| {
                let mut meta = Map::new();
                for k in mk {
                    meta.insert(
                        k.to_string(),
                        if k == "labels" { a.clone() } else { json!(k) },
                    );
                }
                let mut top: Vec<(String, Value)> =
                    tk.into_iter().map(|k| (k.to_string(), b.clone())).collect();
                let pos = at.index(top.len() + 1);
                top.insert(pos, ("metadata".into(), Value::Object(meta)));
                Value::Object(top.into_iter().collect())
            })
    }

    /// `get_json` and `list_json` write what the Value path and the handlers' encoding do,
    /// with paging and selectors.
    #[tokio::test]
    async fn store_json_bodies_match_the_value_path() {
        use crate::handlers::to_json;
        use crate::store::{ListOptions, ReadAt, WriteOptions, list_body};
        let (_dir, store) = store_with_namespace_t().await;
        let r = configmaps();
        for i in 0..7 {
            let obj = json!({"kind": "ConfigMap", "apiVersion": "v1",
                "metadata": {"name": format!("cm-{i}"), "namespace": "t", "labels": {"odd": (i % 2).to_string()}},
                "data": {"k": "v\n\"x\"", "f": i}});
            store
                .create(r, Some("t"), obj, &WriteOptions::default())
                .await
                .unwrap_or_else(|e| panic!("{e:?}"));
        }
        let kv = store
            .storage
            .get("/registry/configmaps/t/cm-3")
            .await
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("cm-3 is not stored"));
        assert!(
            fast(&kv.value, kv.mod_revision).is_some(),
            "stored objects take the fast path"
        );
        let got = store
            .get_json(r, Some("t"), "cm-3")
            .await
            .unwrap_or_default();
        let want = to_json(
            &store.get(r, Some("t"), "cm-3").await.unwrap_or_default(),
            false,
        );
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&want)
        );
        assert_eq!(
            store
                .get_json(r, Some("t"), "nope")
                .await
                .map_err(|e| e.code)
                .err(),
            Some(404)
        );
        let selectors = [None, Some("odd=1"), Some("odd!=1")];
        for (limit, sel) in [0, 1, 2, 3, 10]
            .into_iter()
            .flat_map(|l| selectors.map(|s| (l, s)))
        {
            let mut token = None;
            loop {
                let opts = || ListOptions {
                    labels: sel.map(|s| {
                        crate::labels::LabelSelector::parse(s).unwrap_or_else(|e| panic!("{e}"))
                    }),
                    limit,
                    continue_token: token.clone(),
                    read_at: Some(ReadAt::Latest),
                    ..Default::default()
                };
                let got = store
                    .list_json(r, Some("t"), &opts())
                    .await
                    .unwrap_or_default();
                let res = store
                    .list(r, Some("t"), &opts())
                    .await
                    .unwrap_or_else(|e| panic!("{e:?}"));
                let next = res.continue_token.clone();
                let want = to_json(&list_body(r, res), false);
                assert_eq!(
                    String::from_utf8_lossy(&got),
                    String::from_utf8_lossy(&want)
                );
                token = next;
                if token.is_none() {
                    break;
                }
            }
        }
    }

    #[test]
    fn namespace_deleting_reads_only_the_deletion_timestamp() {
        let cases: [&[u8]; 9] = [
            br#"{"metadata":{"name":"a","deletionTimestamp":"2025-01-01T00:00:00Z"}}"#,
            br#"{"metadata":{"name":"a","deletionTimestamp":null}}"#,
            br#"{"metadata":{"name":"a"},"spec":{"finalizers":["kubernetes"]}}"#,
            br#"{"metadata":null}"#,
            br#"{"metadata":"x"}"#,
            br#"{"metadata":{"deletionTimestamp":{"odd":1}}}"#,
            br#"[]"#,
            br#"not json"#,
            br#"{}"#,
        ];
        for c in cases {
            let v: Value = serde_json::from_slice(c).unwrap_or(Value::Null);
            assert_eq!(
                super::super::namespace_deleting(c),
                crate::objects::is_deleting(&v),
                "{}",
                String::from_utf8_lossy(c)
            );
        }
    }

    proptest! {
        #[test]
        fn resource_version_goes_where_insert_after_puts_it(obj in object(), rv in 1i64..1_000_000) {
            let mut want = obj.clone();
            {
                let meta = crate::objects::metadata_mut(&mut want);
                let value = Value::String(rv.to_string());
                if meta.contains_key("resourceVersion") {
                    meta.insert("resourceVersion".into(), value);
                } else if let Some(a) = ["uid", "selfLink", "namespace", "generateName", "name"]
                    .into_iter()
                    .find(|k| meta.contains_key(*k))
                {
                    crate::objects::insert_after(meta, a, "resourceVersion", value);
                } else {
                    meta.insert("resourceVersion".into(), value);
                }
            }
            let mut got = obj;
            super::super::set_resource_version(&mut got, rv);
            prop_assert_eq!(
                serde_json::to_string(&got).unwrap_or_default(),
                serde_json::to_string(&want).unwrap_or_default()
            );
        }

        #[test]
        fn stored_form_drops_resource_version_and_self_link(obj in object()) {
            let mut trimmed = obj.clone();
            if let Some(Value::Object(m)) = trimmed.get_mut("metadata") {
                m.shift_remove("resourceVersion");
                m.shift_remove("selfLink");
            }
            let want = crate::gojson::to_vec(&trimmed).unwrap_or_default();
            let got = super::super::encode_for_storage(configmaps(), &mut obj.clone()).map(|b| b.to_vec()).unwrap_or_default();
            prop_assert_eq!(got, want);
        }

        #[test]
        fn fast_path_matches_the_value_path(obj in object(), rv in 1i64..1_000_000_000) {
            let stored = crate::gojson::to_vec(&obj).unwrap_or_default();
            prop_assert!(same(&stored, rv));
        }
    }
}
