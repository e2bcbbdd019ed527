//! Conversions between the versions of one kind, at the JSON (`serde_json::Value`) level.
//!
//! `cargo xtask regen` compares the versions of every kind served in several versions
//! (and the cross-group views such as `events.k8s.io` Event ↔ core Event) field by field
//! against the kind's hub, the form it is stored in (its storage version). Fields with the
//! same JSON name and a compatible type are copied by generated tables ([`TypeMap`]);
//! every field that does not correspond must be handled by a named, hand-written [`Hook`]
//! from [`hooks`] — regen fails otherwise, and also for a hook whose field no longer
//! exists. The server converts request version → hub on write and hub → request version
//! on read, list and watch.

use serde_json::{Map, Value};

pub mod hooks;

/// A conversion that cannot be done (a malformed value where the tables expect an object).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConversionError(pub String);

/// A hand-written piece of a conversion between two definitions: it runs after the
/// generated copy of the corresponding fields of `from` into `to`, reading the whole
/// source object and writing the target's non-corresponding fields.
pub type HookFn = fn(&Map<String, Value>, &mut Map<String, Value>) -> Result<(), ConversionError>;

/// A named hook and the fields it is responsible for.
#[derive(Debug)]
pub struct Hook {
    /// Path of the hook's static below [`hooks`] (`autoscaling::HPA_V1_TO_V2`); generated
    /// code refers to it by this path.
    pub name: &'static str,
    /// Definition converted from (`io.k8s.api.autoscaling.v1.HorizontalPodAutoscaler`).
    pub from: &'static str,
    /// Definition converted to.
    pub to: &'static str,
    /// The non-corresponding fields it handles, as dotted JSON paths relative to `from`
    /// (source-only fields) or `to` (target-only fields); list items add no segment. A
    /// field that exists only from some release on ends in `@1.NN`.
    pub fields: &'static [&'static str],
    pub func: HookFn,
}

/// How one corresponding field is converted.
#[derive(Debug)]
pub enum Slot {
    /// Same shape on both sides: the value is copied as is.
    Copy,
    /// An object whose fields differ somewhere below.
    Object(&'static TypeMap),
    /// A list whose items convert by the slot.
    Array(&'static Slot),
    /// A string-keyed map whose values convert by the slot.
    Map(&'static Slot),
}

/// One field present, with the same JSON name, on both sides.
#[derive(Debug)]
pub struct FieldMap {
    pub name: &'static str,
    pub slot: Slot,
}

/// The conversion of one definition into another.
#[derive(Debug)]
pub struct TypeMap {
    pub from: &'static str,
    pub to: &'static str,
    /// Corresponding fields, in the target's field order.
    pub fields: &'static [FieldMap],
    /// Hooks run, in order, after the fields are copied.
    pub hooks: &'static [&'static Hook],
}

/// One served version of a kind and how it converts to and from the hub.
#[derive(Debug)]
pub struct VersionConversion {
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    /// The resource (plural) this version serves the kind as.
    pub resource: &'static str,
    /// `None` for the hub itself.
    pub to_hub: Option<&'static TypeMap>,
    pub from_hub: Option<&'static TypeMap>,
}

/// A kind kept in one stored form and served in several versions (or groups).
#[derive(Debug)]
pub struct KindConversions {
    /// The hub: the group, version, kind and resource the object is stored as.
    pub hub_group: &'static str,
    pub hub_version: &'static str,
    pub hub_kind: &'static str,
    pub hub_resource: &'static str,
    pub versions: &'static [VersionConversion],
}

impl KindConversions {
    pub fn version(&self, group: &str, version: &str) -> Option<&'static VersionConversion> {
        self.versions
            .iter()
            .find(|v| v.group == group && v.version == version)
    }
}

impl VersionConversion {
    pub fn is_hub(&self) -> bool {
        self.to_hub.is_none()
    }
}

/// Converts `value` (an object of `map.from`) into an object of `map.to`. `apiVersion` and
/// `kind` are left to the caller.
pub fn convert(map: &TypeMap, value: &Value) -> Result<Value, ConversionError> {
    let Value::Object(from) = value else {
        return Err(ConversionError(format!(
            "converting {} to {}: expected an object",
            map.from, map.to
        )));
    };
    convert_map(map, from).map(Value::Object)
}

fn convert_map(
    map: &TypeMap,
    from: &Map<String, Value>,
) -> Result<Map<String, Value>, ConversionError> {
    let mut to = Map::with_capacity(from.len());
    for f in map.fields {
        if let Some(v) = from.get(f.name) {
            to.insert(f.name.to_string(), convert_slot(&f.slot, v)?);
        }
    }
    for hook in map.hooks {
        (hook.func)(from, &mut to)?;
    }
    Ok(to)
}

fn convert_slot(slot: &Slot, value: &Value) -> Result<Value, ConversionError> {
    match (slot, value) {
        (_, Value::Null) | (Slot::Copy, _) => Ok(value.clone()),
        (Slot::Object(map), Value::Object(m)) => convert_map(map, m).map(Value::Object),
        (Slot::Array(item), Value::Array(items)) => items
            .iter()
            .map(|v| convert_slot(item, v))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        (Slot::Map(item), Value::Object(m)) => {
            let mut out = Map::with_capacity(m.len());
            for (k, v) in m {
                out.insert(k.clone(), convert_slot(item, v)?);
            }
            Ok(Value::Object(out))
        }
        (Slot::Object(map), _) => Err(ConversionError(format!(
            "converting {} to {}: expected an object",
            map.from, map.to
        ))),
        (Slot::Array(_), _) => Err(ConversionError("expected a list".into())),
        (Slot::Map(_), _) => Err(ConversionError("expected an object".into())),
    }
}

/// Compact JSON as Go's `encoding/json` writes it (`<`, `>`, `&`, U+2028 and U+2029
/// escaped), for values hooks keep in annotations.
pub fn go_json(value: &Value) -> String {
    let plain = serde_json::to_string(value).unwrap_or_default();
    let mut out = String::with_capacity(plain.len());
    for c in plain.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// A hook field's path and the first release it exists in (`"x@1.36"` → `("x", Some(36))`).
pub fn hook_field(field: &str) -> (&str, Option<u32>) {
    match field.split_once('@') {
        Some((path, release)) => (
            path,
            release.strip_prefix("1.").and_then(|m| m.parse().ok()),
        ),
        None => (field, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn add_note(
        from: &Map<String, Value>,
        to: &mut Map<String, Value>,
    ) -> Result<(), ConversionError> {
        if let Some(m) = from.get("message") {
            to.insert("note".into(), m.clone());
        }
        Ok(())
    }
    static NOTE: Hook = Hook {
        name: "test::NOTE",
        from: "A",
        to: "B",
        fields: &["message", "note"],
        func: add_note,
    };
    static INNER: TypeMap = TypeMap {
        from: "AI",
        to: "BI",
        fields: &[FieldMap {
            name: "x",
            slot: Slot::Copy,
        }],
        hooks: &[],
    };
    static OUTER: TypeMap = TypeMap {
        from: "A",
        to: "B",
        fields: &[
            FieldMap {
                name: "keep",
                slot: Slot::Copy,
            },
            FieldMap {
                name: "items",
                slot: Slot::Array(&Slot::Object(&INNER)),
            },
            FieldMap {
                name: "byName",
                slot: Slot::Map(&Slot::Object(&INNER)),
            },
        ],
        hooks: &[&NOTE],
    };

    #[test]
    fn copies_corresponding_fields_and_runs_hooks() {
        let a = json!({"keep": {"a": 1}, "message": "hi", "items": [{"x": 1, "y": 2}],
            "byName": {"k": {"x": "v", "gone": true}}, "extra": 1});
        let b = convert(&OUTER, &a).unwrap();
        assert_eq!(
            b,
            json!({"keep": {"a": 1}, "items": [{"x": 1}], "byName": {"k": {"x": "v"}}, "note": "hi"})
        );
    }

    #[test]
    fn nulls_pass_and_wrong_shapes_fail() {
        assert_eq!(
            convert(&OUTER, &json!({"items": null})).unwrap(),
            json!({"items": null})
        );
        assert!(convert(&OUTER, &json!({"items": {"x": 1}})).is_err());
        assert!(convert(&OUTER, &json!([1])).is_err());
    }

    #[test]
    fn go_json_escapes_like_go() {
        assert_eq!(
            go_json(&json!({"a": "<&>"})),
            r#"{"a":"\u003c\u0026\u003e"}"#
        );
    }
}
