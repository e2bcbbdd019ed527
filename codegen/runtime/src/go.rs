//! Go's zero-value rules, for the serde attributes of generated types.
//!
//! A non-pointer Go field with `omitempty` is left out of JSON at its zero value, so
//! kube-apiserver never shows `"generateName": ""` or `"generation": 0`. Generated types
//! skip such fields with [`is_none_or_zero`].

/// True when the field is absent or holds its type's zero value.
pub fn is_none_or_zero<T: Default + PartialEq>(value: &Option<T>) -> bool {
    value.as_ref().is_none_or(|v| *v == T::default())
}

#[cfg(test)]
mod tests {
    use super::*;

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
