//! Go's zero-value rules, for the serde attributes of generated types.
//!
//! A non-pointer Go field with `omitempty` is left out of JSON at its zero value, so
//! kube-apiserver never shows `"generateName": ""` or `"generation": 0`. Generated types
//! skip such fields with [`is_none_or_zero`].
//!
//! `omitempty` does not apply to structs, so a non-pointer struct field is always written:
//! kube-apiserver shows `"resources": {}`, `"status": {"loadBalancer": {}}` and
//! `"lastProbeTime": null` for fields nobody set. Nor does Go leave out a non-pointer scalar
//! without `omitempty` (`"replicas": 0` in a new Scale's status). Generated types write
//! such fields with [`value_or_zero`].

use serde::{Serialize, Serializer};

/// True when the field is absent or holds its type's zero value.
pub fn is_none_or_zero<T: Default + PartialEq>(value: &Option<T>) -> bool {
    value.as_ref().is_none_or(|v| *v == T::default())
}

/// Serialises a field Go always writes (a non-pointer struct, or a non-pointer scalar
/// without `omitempty`): its value, or the type's zero value when absent (`{}` with the
/// zero struct's own always-written fields; `null` for a zero time; `0`, `""`, `false`).
pub fn value_or_zero<T: Serialize + Default, S: Serializer>(
    value: &Option<T>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(v) => v.serialize(serializer),
        None => T::default().serialize(serializer),
    }
}

/// A list or map field, for [`is_none_or_stored_empty`] and [`nil_if_stored_empty`].
pub trait Collection {
    fn is_empty_collection(&self) -> bool;
}

impl<T> Collection for Vec<T> {
    fn is_empty_collection(&self) -> bool {
        self.is_empty()
    }
}

impl<K, V> Collection for std::collections::BTreeMap<K, V> {
    fn is_empty_collection(&self) -> bool {
        self.is_empty()
    }
}

std::thread_local! {
    static STORING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` (a serialisation) with empty lists and maps written as they come back from
/// kube-apiserver's storage, whose protobuf cannot carry them: left out where the field
/// has `omitempty` or `omitzero`, `null` where it has neither. Outside, an empty list or
/// map is written as given (Go keeps it in memory, where it differs from nil).
pub fn as_stored<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            STORING.set(self.0);
        }
    }
    let _restore = Restore(STORING.replace(true));
    f()
}

/// `skip_serializing_if` of a list or map field with `omitempty` or `omitzero`: absent, or
/// empty inside [`as_stored`].
pub fn is_none_or_stored_empty<T: Collection>(value: &Option<T>) -> bool {
    match value {
        None => true,
        Some(v) => v.is_empty_collection() && STORING.get(),
    }
}

/// `serialize_with` of a list or map field without `omitempty`: `null` when absent, or
/// empty inside [`as_stored`].
pub fn nil_if_stored_empty<T: Collection + Serialize, S: Serializer>(
    value: &Option<T>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(v) if !(v.is_empty_collection() && STORING.get()) => v.serialize(serializer),
        _ => serializer.serialize_none(),
    }
}

/// Serialises a float64 field as Go does: an integral value without a fraction (`100`,
/// where serde_json would write `100.0`). Other values keep the shortest form both write.
pub fn float<S: Serializer>(value: &Option<f64>, serializer: S) -> Result<S::Ok, S::Error> {
    match *value {
        // Go writes every digit below 1e21 (`'f'` format); an integral float that fits an
        // i64 is written as that integer (beyond, serde_json's `Value` has no integer for it).
        Some(v) if v.fract() == 0.0 && v.abs() < 9e18 && !(v == 0.0 && v.is_sign_negative()) => {
            serializer.serialize_i64(v as i64)
        }
        Some(v) => serializer.serialize_f64(v),
        None => serializer.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default, Serialize)]
    struct Inner {
        #[serde(skip_serializing_if = "Option::is_none")]
        a: Option<i32>,
    }

    #[derive(Default, Serialize)]
    struct Outer {
        #[serde(serialize_with = "value_or_zero")]
        inner: Option<Inner>,
        #[serde(serialize_with = "value_or_zero")]
        time: Option<crate::Time>,
        #[serde(serialize_with = "value_or_zero")]
        count: Option<i32>,
    }

    #[test]
    fn empty_collections_as_stored() {
        #[derive(Serialize)]
        struct C {
            #[serde(skip_serializing_if = "is_none_or_stored_empty")]
            omit: Option<Vec<i32>>,
            #[serde(serialize_with = "nil_if_stored_empty")]
            always: Option<std::collections::BTreeMap<String, i32>>,
        }
        let empty = C {
            omit: Some(Vec::new()),
            always: Some(Default::default()),
        };
        let json = |c: &C| serde_json::to_string(c).unwrap_or_default();
        assert_eq!(json(&empty), r#"{"omit":[],"always":{}}"#);
        assert_eq!(as_stored(|| json(&empty)), r#"{"always":null}"#);
        assert_eq!(json(&empty), r#"{"omit":[],"always":{}}"#, "the mode ends");
        let full = C {
            omit: Some(vec![1]),
            always: Some([("a".to_string(), 1)].into()),
        };
        assert_eq!(
            as_stored(|| json(&full)),
            r#"{"omit":[1],"always":{"a":1}}"#
        );
        let none = C {
            omit: None,
            always: None,
        };
        assert_eq!(json(&none), r#"{"always":null}"#);
    }

    #[test]
    fn floats_as_go_writes_them() {
        #[derive(Serialize)]
        struct F {
            #[serde(serialize_with = "float")]
            f: Option<f64>,
        }
        let json = |f: Option<f64>| serde_json::to_string(&F { f }).unwrap_or_default();
        assert_eq!(json(Some(100.0)), r#"{"f":100}"#);
        assert_eq!(json(Some(-3.0)), r#"{"f":-3}"#);
        assert_eq!(json(Some(0.5)), r#"{"f":0.5}"#);
        assert_eq!(json(Some(1e18)), r#"{"f":1000000000000000000}"#);
        assert_eq!(json(None), r#"{"f":null}"#);
    }

    #[test]
    fn absent_value_structs_are_written_at_zero() {
        let json = |o: &Outer| serde_json::to_string(o).unwrap_or_default();
        assert_eq!(
            json(&Outer::default()),
            r#"{"inner":{},"time":null,"count":0}"#
        );
        let set = Outer {
            inner: Some(Inner { a: Some(1) }),
            time: Some(crate::Time::default()),
            count: Some(3),
        };
        assert_eq!(json(&set), r#"{"inner":{"a":1},"time":null,"count":3}"#);
    }

    #[test]
    fn zero_values_are_empty() {
        assert!(is_none_or_zero::<String>(&None));
        assert!(is_none_or_zero(&Some(String::new())));
        assert!(!is_none_or_zero(&Some("x".to_string())));
        assert!(is_none_or_zero(&Some(0i64)));
        assert!(!is_none_or_zero(&Some(-1i32)));
        assert!(is_none_or_zero(&Some(false)));
        assert!(!is_none_or_zero(&Some(true)));
        assert!(is_none_or_zero(&Some(-0.0f64)));
        assert!(is_none_or_zero(&Some(crate::ByteString::default())));
    }
}
