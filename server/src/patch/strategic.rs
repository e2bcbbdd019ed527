//! Strategic merge patch (`application/strategic-merge-patch+json`), driven by the
//! release's patch metadata (`x-kubernetes-patch-strategy`, `x-kubernetes-patch-merge-key`).
//!
//! Semantics, as kube-apiserver applies them:
//! - objects merge key by key; `null` deletes; a key the original lacks takes the patch
//!   value with its nulls and `$patch`-marked objects dropped;
//! - lists whose field has strategy `merge` merge: lists of objects by the merge key
//!   (matching items merge recursively, new ones are added), lists of scalars as a union;
//!   the patch's items come in the patch's order, the original's others keep their
//!   relative order, interleaved by the original's order; every other list is replaced;
//! - fields with strategy `replace` (maps) are replaced as a whole;
//! - directives: `$patch: replace|delete` on an object, `$patch: delete|replace` items in
//!   a merging list, `$retainKeys: [..]` (keys of the original not listed are cleared),
//!   `$deleteFromPrimitiveList/<field>: [..]` (scalars removed from a merging list) and
//!   `$setElementOrder/<field>: [..]` (the final order of a merging list).
//!
//! Errors: malformed directives are 400s; patches that cannot be applied (a list item
//! without its merge key, lists of lists, mixed item types) are 422s.

use serde_json::{Map, Value};

use crate::schema::{Schema, SchemaIndex, Shape};

const DIRECTIVE: &str = "$patch";
const RETAIN_KEYS: &str = "$retainKeys";
const DELETE_FROM_PRIMITIVE_LIST: &str = "$deleteFromPrimitiveList";
const SET_ELEMENT_ORDER: &str = "$setElementOrder";

/// Why a strategic merge patch failed.
#[derive(Debug, Clone, PartialEq)]
pub enum SmpError {
    /// A malformed patch (400).
    BadRequest(String),
    /// A patch that cannot be applied to this object (422).
    Invalid(String),
}

type Result<T> = std::result::Result<T, SmpError>;

fn bad_retain_keys() -> SmpError {
    SmpError::BadRequest("invalid patch format of retainKeys".into())
}
fn bad_set_element_order() -> SmpError {
    SmpError::BadRequest("invalid patch format of setElementOrder list".into())
}
fn bad_primitive_list() -> SmpError {
    SmpError::BadRequest("invalid patch format of primitive list".into())
}
fn no_merge_key(m: &Map<String, Value>, key: &str) -> SmpError {
    SmpError::Invalid(format!(
        "map: {} does not contain declared merge key: {key}",
        go_map(m)
    ))
}
fn bad_arg_type(expected: &str, actual: &Value) -> SmpError {
    SmpError::Invalid(format!(
        "expected a {expected}, but received a {}",
        go_type(actual)
    ))
}

const LIST: &str = "[]interface {}";
const MAP: &str = "map[string]interface {}";

/// Applies `patch` to `original`, an object of the kind `schema` describes.
pub fn apply(idx: &SchemaIndex, schema: &Schema, original: &Value, patch: &Value) -> Result<Value> {
    let Value::Object(p) = patch else {
        return Err(SmpError::BadRequest(format!(
            "json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
            json_kind(patch)
        )));
    };
    apply_owned(idx, schema, original.clone(), p.clone())
}

/// [`apply`] consuming its inputs (no copy of the original is made).
pub fn apply_owned(
    idx: &SchemaIndex,
    schema: &Schema,
    original: Value,
    patch: Map<String, Value>,
) -> Result<Value> {
    let o = match original {
        Value::Object(o) => o,
        _ => Map::new(),
    };
    let meta = Meta {
        idx,
        schema: Some(schema),
    };
    merge_map(o, patch, meta).map(Value::Object)
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Where the merge is in the schema; `None` is untyped (no patch metadata below).
#[derive(Clone, Copy)]
struct Meta<'a> {
    idx: &'a SchemaIndex,
    schema: Option<&'a Schema>,
}

/// The patch metadata of one field.
#[derive(Clone, Copy)]
struct FieldMeta<'a> {
    schema: Option<&'a Schema>,
    merge: bool,
    replace: bool,
    merge_key: Option<&'a str>,
}

impl<'a> Meta<'a> {
    fn field(&self, key: &str) -> FieldMeta<'a> {
        let none = FieldMeta {
            schema: None,
            merge: false,
            replace: false,
            merge_key: None,
        };
        let Some(s) = self.schema else { return none };
        match self.idx.shape(s) {
            Shape::Struct(st) => match st.field(key) {
                Some(f) => FieldMeta {
                    schema: Some(&f.schema),
                    merge: f.patch_strategy.merge,
                    replace: f.patch_strategy.replace,
                    merge_key: f.merge_key.as_deref().filter(|k| !k.is_empty()),
                },
                None => none,
            },
            Shape::Map(m) => FieldMeta {
                schema: Some(&m.values),
                ..none
            },
            _ => none,
        }
    }

    fn at(&self, schema: Option<&'a Schema>) -> Meta<'a> {
        Meta {
            idx: self.idx,
            schema,
        }
    }

    /// The item schema of a list-shaped schema.
    fn items(&self, schema: Option<&'a Schema>) -> Option<&'a Schema> {
        match self.idx.shape(schema?) {
            Shape::List(l) => Some(&l.items),
            _ => None,
        }
    }
}

fn same_kind(a: &Value, b: &Value) -> bool {
    std::mem::discriminant(a) == std::mem::discriminant(b)
}

fn extract_key<'k>(key: &'k str, prefix: &str) -> Result<&'k str> {
    match key.split_once('/') {
        Some((p, rest)) if p == prefix => Ok(rest),
        _ if prefix == SET_ELEMENT_ORDER => Err(bad_set_element_order()),
        _ => Err(bad_primitive_list()),
    }
}

fn merge_map(
    mut original: Map<String, Value>,
    mut patch: Map<String, Value>,
    meta: Meta<'_>,
) -> Result<Map<String, Value>> {
    if let Some(d) = patch.get(DIRECTIVE) {
        return match d.as_str() {
            Some("replace") => {
                patch.shift_remove(DIRECTIVE);
                Ok(patch)
            }
            Some("delete") => Ok(Map::new()),
            _ => Err(SmpError::Invalid(format!(
                "unknown patch type: {} in map: {}",
                go_s(d),
                go_map(&patch)
            ))),
        };
    }
    apply_retain_keys(&mut original, &mut patch)?;
    merge_ordered_lists(&mut original, &mut patch, meta)?;
    for (k, pv) in patch {
        let (key, delete_list) = if k.starts_with(DELETE_FROM_PRIMITIVE_LIST) {
            (
                extract_key(&k, DELETE_FROM_PRIMITIVE_LIST)?.to_string(),
                true,
            )
        } else {
            (k, false)
        };
        if pv.is_null() {
            original.shift_remove(&key);
            continue;
        }
        let replace_whole = match original.get(&key) {
            None => true,
            Some(ov) => !same_kind(ov, &pv),
        };
        if replace_whole {
            if !delete_list {
                match new_value(pv) {
                    Some(v) => {
                        original.insert(key, v);
                    }
                    None => {
                        original.shift_remove(&key);
                    }
                }
            }
            continue;
        }
        let Some(slot) = original.get_mut(&key) else {
            continue;
        };
        let ov = std::mem::take(slot);
        *slot = match (ov, pv) {
            (Value::Object(om), Value::Object(pm)) => {
                let f = meta.field(&key);
                if f.replace {
                    Value::Object(pm)
                } else {
                    Value::Object(merge_map(om, pm, meta.at(f.schema))?)
                }
            }
            (Value::Array(ol), Value::Array(pl)) => {
                let f = meta.field(&key);
                if f.merge || delete_list {
                    Value::Array(merge_list(
                        ol,
                        pl,
                        meta.at(meta.items(f.schema)),
                        f.merge_key,
                        delete_list,
                    )?)
                } else {
                    Value::Array(pl)
                }
            }
            (_, pv) => pv,
        };
    }
    Ok(original)
}

/// A value taken from the patch as is: nulls inside dropped, `$patch` objects removed.
fn new_value(mut v: Value) -> Option<Value> {
    discard_nulls(&mut v);
    remove_directives(v)
}

fn discard_nulls(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|_, v| !v.is_null());
            m.values_mut().for_each(discard_nulls);
        }
        Value::Array(a) => a.iter_mut().for_each(discard_nulls),
        _ => {}
    }
}

fn remove_directives(v: Value) -> Option<Value> {
    match v {
        Value::Object(m) => {
            if m.contains_key(DIRECTIVE) {
                return None;
            }
            let kept = m
                .into_iter()
                .filter_map(|(k, v)| remove_directives(v).map(|v| (k, v)))
                .collect();
            Some(Value::Object(kept))
        }
        Value::Array(a) => Some(Value::Array(
            a.into_iter().filter_map(remove_directives).collect(),
        )),
        other => Some(other),
    }
}

fn apply_retain_keys(
    original: &mut Map<String, Value>,
    patch: &mut Map<String, Value>,
) -> Result<()> {
    let Some(keys) = patch.shift_remove(RETAIN_KEYS) else {
        return Ok(());
    };
    let Value::Array(keys) = keys else {
        return Err(bad_retain_keys());
    };
    let listed = |k: &str| keys.iter().any(|v| v.as_str() == Some(k));
    for (k, v) in patch.iter() {
        if v.is_null()
            || k.starts_with(DELETE_FROM_PRIMITIVE_LIST)
            || k.starts_with(SET_ELEMENT_ORDER)
        {
            continue;
        }
        if !listed(k) {
            return Err(bad_retain_keys());
        }
    }
    original.retain(|k, _| listed(k));
    Ok(())
}

/// `$setElementOrder/<field>`: merges the field's list (if both sides have it) and puts
/// the result in the directive's order; the field is then done.
fn merge_ordered_lists(
    original: &mut Map<String, Value>,
    patch: &mut Map<String, Value>,
    meta: Meta<'_>,
) -> Result<()> {
    let keys: Vec<String> = patch
        .keys()
        .filter(|k| k.starts_with(SET_ELEMENT_ORDER))
        .cloned()
        .collect();
    for key in keys {
        let Some(order) = patch.shift_remove(&key) else {
            continue;
        };
        let Value::Array(order) = order else {
            return Err(bad_arg_type(LIST, &order));
        };
        let field = extract_key(&key, SET_ELEMENT_ORDER)?.to_string();
        let orig_list = match original.get_mut(&field) {
            None => None,
            Some(Value::Array(a)) => Some(std::mem::take(a)),
            Some(other) => return Err(bad_arg_type(LIST, other)),
        };
        let patch_list = match patch.shift_remove(&field) {
            None => None,
            Some(Value::Array(a)) => Some(a),
            Some(other) => return Err(bad_arg_type(LIST, &other)),
        };
        if orig_list.is_none() && patch_list.is_none() {
            continue;
        }
        let f = meta.field(&field);
        validate_order(patch_list.as_deref(), &order, f.merge_key)?;
        let empty = Vec::new();
        let kind = element_kind(&[
            orig_list.as_ref().unwrap_or(&empty),
            patch_list.as_ref().unwrap_or(&empty),
        ])?;
        let server_keys = keys_of(orig_list.as_ref().unwrap_or(&empty), f.merge_key, kind)?;
        let order_keys = keys_of(&order, f.merge_key, kind)?;
        let merged = match (orig_list, patch_list) {
            (Some(o), None) => o,
            (None, Some(p)) => match remove_directives(Value::Array(p)) {
                Some(Value::Array(v)) => v,
                _ => Vec::new(),
            },
            (Some(o), Some(p)) => {
                if f.merge {
                    merge_list(o, p, meta.at(meta.items(f.schema)), f.merge_key, false)?
                } else {
                    p
                }
            }
            (None, None) => continue,
        };
        let (in_order, server_only) = match f.merge_key {
            None => partition_scalars(merged, &order_keys),
            Some(mk) => partition_maps(merged, &order_keys, mk)?,
        };
        let both = normalize_element_order(
            in_order,
            server_only,
            &order_keys,
            &server_keys,
            f.merge_key,
            kind,
        )?;
        original.insert(field, Value::Array(both));
    }
    Ok(())
}

fn is_delete_item(v: &Value) -> bool {
    v.get(DIRECTIVE).and_then(Value::as_str) == Some("delete")
}

/// The patch list must not contain items out of the `$setElementOrder` list's order.
fn validate_order(patch_list: Option<&[Value]>, order: &[Value], mk: Option<&str>) -> Result<()> {
    let Some(list) = patch_list else {
        return Ok(());
    };
    if order.is_empty() || list.is_empty() {
        return Ok(());
    }
    let mut kept: Vec<&Value> = Vec::with_capacity(list.len());
    for v in list {
        if mk.is_some() {
            if !v.is_object() {
                return Err(bad_arg_type(MAP, v));
            }
            if is_delete_item(v) {
                continue;
            }
        }
        kept.push(v);
    }
    let (mut pi, mut oi) = (0, 0);
    while pi < kept.len() && oi < order.len() {
        if kept[pi].get(DIRECTIVE).is_some() {
            pi += 1;
            continue;
        }
        if merge_key_equal(kept[pi], &order[oi], mk)? {
            pi += 1;
        }
        oi += 1;
    }
    if pi < kept.len() && oi >= order.len() {
        return Err(SmpError::Invalid(format!(
            "the order in patch list:\n{}\n doesn't match {SET_ELEMENT_ORDER} list:\n{}",
            go_list(list),
            go_list(order)
        )));
    }
    Ok(())
}

fn merge_key_equal(left: &Value, right: &Value, mk: Option<&str>) -> Result<bool> {
    let Some(mk) = mk else {
        return Ok(left == right);
    };
    let l = left.as_object().ok_or_else(|| bad_arg_type(MAP, left))?;
    let r = right.as_object().ok_or_else(|| bad_arg_type(MAP, right))?;
    let lv = l.get(mk).ok_or_else(|| no_merge_key(l, mk))?;
    let rv = r.get(mk).ok_or_else(|| no_merge_key(r, mk))?;
    Ok(lv == rv)
}

/// Go's element kinds: a list's items must all be of one kind (ints and floats differ).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bool,
    Int,
    Float,
    String,
    Map,
}

fn element_kind(lists: &[&Vec<Value>]) -> Result<Kind> {
    let mut kind = None;
    for v in lists.iter().flat_map(|l| l.iter()) {
        let k = match v {
            Value::Array(_) => {
                return Err(SmpError::Invalid("lists of lists are not supported".into()));
            }
            Value::Object(_) => Some(Kind::Map),
            Value::String(_) => Some(Kind::String),
            Value::Bool(_) => Some(Kind::Bool),
            Value::Number(n) if n.is_i64() => Some(Kind::Int),
            Value::Number(_) => Some(Kind::Float),
            Value::Null => None,
        };
        match (kind, k) {
            (None, Some(k)) => kind = Some(k),
            (Some(a), Some(b)) if a == b => {}
            _ => {
                let all: Vec<Value> = lists.iter().map(|l| Value::Array((*l).clone())).collect();
                return Err(SmpError::Invalid(format!(
                    "list element types are not identical: {}",
                    go_list(&all)
                )));
            }
        }
    }
    kind.ok_or_else(|| SmpError::Invalid("no elements in any of the given slices".into()))
}

/// Merges two lists of a field with strategy `merge` (or a `$deleteFromPrimitiveList`).
fn merge_list(
    original: Vec<Value>,
    patch: Vec<Value>,
    items: Meta<'_>,
    merge_key: Option<&str>,
    delete_list: bool,
) -> Result<Vec<Value>> {
    if original.is_empty() && patch.is_empty() {
        return Ok(original);
    }
    let kind = element_kind(&[&original, &patch])?;
    if kind != Kind::Map {
        if delete_list {
            return Ok(original
                .into_iter()
                .filter(|v| !patch.contains(v))
                .collect());
        }
        let server_keys = original.clone();
        let mut merged: Vec<Value> = Vec::with_capacity(original.len() + patch.len());
        for v in original.into_iter().chain(patch.iter().cloned()) {
            if !merged.contains(&v) {
                merged.push(v);
            }
        }
        let (in_patch, server_only) = partition_scalars(merged, &patch);
        return normalize_element_order(in_patch, server_only, &patch, &server_keys, None, kind);
    }
    let Some(mk) = merge_key else {
        return Err(SmpError::Invalid(format!(
            "cannot merge lists without merge key for {}",
            items
                .schema
                .and_then(|s| items.idx.struct_of(s))
                .map_or("struct", |s| s.name.as_str())
        )));
    };
    let (original, patch) = merge_special_items(original, patch, mk)?;
    let patch_keys = keys_of(&patch, Some(mk), kind)?;
    let server_keys = keys_of(&original, Some(mk), kind)?;
    let mut merged = original;
    for (v, key) in patch.into_iter().zip(patch_keys.iter()) {
        let Value::Object(pm) = v else {
            return Err(bad_arg_type(MAP, &v));
        };
        let found = merged
            .iter()
            .position(|o| o.as_object().and_then(|o| o.get(mk)) == Some(key));
        match found {
            Some(i) => {
                let om = match std::mem::take(&mut merged[i]) {
                    Value::Object(m) => m,
                    _ => Map::new(),
                };
                merged[i] = Value::Object(merge_map(om, pm, items)?);
            }
            None => merged.push(Value::Object(pm)),
        }
    }
    let (in_patch, server_only) = partition_maps(merged, &patch_keys, mk)?;
    normalize_element_order(
        in_patch,
        server_only,
        &patch_keys,
        &server_keys,
        Some(mk),
        kind,
    )
}

/// Applies `$patch: delete` and `$patch: replace` items of a list of objects; returns the
/// remaining original and the patch without directive items.
fn merge_special_items(
    mut original: Vec<Value>,
    patch: Vec<Value>,
    mk: &str,
) -> Result<(Vec<Value>, Vec<Value>)> {
    let mut plain = Vec::with_capacity(patch.len());
    let mut replace = false;
    for v in patch {
        let Value::Object(m) = &v else {
            return Err(bad_arg_type(MAP, &v));
        };
        let Some(d) = m.get(DIRECTIVE) else {
            plain.push(v);
            continue;
        };
        match d.as_str() {
            Some("delete") => {
                let key = m.get(mk).ok_or_else(|| no_merge_key(m, mk))?;
                original.retain(|o| o.as_object().and_then(|o| o.get(mk)) != Some(key));
            }
            Some("replace") => replace = true,
            Some("merge") => {
                return Err(SmpError::Invalid(
                    "merging lists cannot yet be specified in the patch".into(),
                ));
            }
            _ => {
                return Err(SmpError::Invalid(format!(
                    "unknown patch type: {} in map: {}",
                    go_s(d),
                    go_map(m)
                )));
            }
        }
    }
    if replace {
        Ok((plain, Vec::new()))
    } else {
        Ok((original, plain))
    }
}

/// The identities of a list's items: merge key values for objects, values for scalars.
fn keys_of(list: &[Value], mk: Option<&str>, kind: Kind) -> Result<Vec<Value>> {
    if kind != Kind::Map {
        return Ok(list.to_vec());
    }
    let mk = mk.unwrap_or_default();
    list.iter()
        .map(|v| {
            let m = v.as_object().ok_or_else(|| bad_arg_type(MAP, v))?;
            m.get(mk).cloned().ok_or_else(|| no_merge_key(m, mk))
        })
        .collect()
}

fn item_key<'v>(v: &'v Value, mk: Option<&str>) -> Option<&'v Value> {
    match mk {
        Some(mk) => v.as_object().and_then(|m| m.get(mk)),
        None => Some(v),
    }
}

fn partition_scalars(merged: Vec<Value>, by: &[Value]) -> (Vec<Value>, Vec<Value>) {
    merged.into_iter().partition(|v| by.contains(v))
}

fn partition_maps(merged: Vec<Value>, by: &[Value], mk: &str) -> Result<(Vec<Value>, Vec<Value>)> {
    let mut inside = Vec::with_capacity(merged.len());
    let mut outside = Vec::new();
    for v in merged {
        let Value::Object(m) = &v else {
            return Err(bad_arg_type(MAP, &v));
        };
        let key = m.get(mk).ok_or_else(|| no_merge_key(m, mk))?;
        if by.contains(key) {
            inside.push(v);
        } else {
            outside.push(v);
        }
    }
    Ok((inside, outside))
}

fn position(keys: &[Value], v: &Value, mk: Option<&str>) -> Option<usize> {
    let key = item_key(v, mk);
    keys.iter().position(|k| Some(k) == key)
}

/// Sorts the patch's items by the patch order and the original's other items by the
/// original order, then interleaves them: an original item goes before the first patch
/// item that comes after it in the original.
fn normalize_element_order(
    in_patch: Vec<Value>,
    server_only: Vec<Value>,
    patch_keys: &[Value],
    server_keys: &[Value],
    mk: Option<&str>,
    kind: Kind,
) -> Result<Vec<Value>> {
    let right = sort_by_order(in_patch, patch_keys, mk, kind)?;
    let left = sort_by_order(server_only, server_keys, mk, kind)?;
    let lp: Vec<Option<usize>> = left.iter().map(|v| position(server_keys, v, mk)).collect();
    let rp: Vec<Option<usize>> = right.iter().map(|v| position(server_keys, v, mk)).collect();
    let mut out = Vec::with_capacity(left.len() + right.len());
    let (mut i, mut j) = (0, 0);
    let mut left_it = left.into_iter();
    let mut right_it = right.into_iter();
    let (mut lnext, mut rnext) = (left_it.next(), right_it.next());
    while let (Some(_), Some(_)) = (&lnext, &rnext) {
        let take_left = matches!((lp[i], rp[j]), (Some(a), Some(b)) if a < b);
        if take_left {
            out.extend(lnext.take());
            lnext = left_it.next();
            i += 1;
        } else {
            out.extend(rnext.take());
            rnext = right_it.next();
            j += 1;
        }
    }
    out.extend(lnext);
    out.extend(left_it);
    out.extend(rnext);
    out.extend(right_it);
    Ok(out)
}

fn sort_by_order(
    items: Vec<Value>,
    order_keys: &[Value],
    mk: Option<&str>,
    kind: Kind,
) -> Result<Vec<Value>> {
    let (items, deletes): (Vec<Value>, Vec<Value>) = if kind == Kind::Map {
        let key = mk.unwrap_or_default();
        for v in &items {
            let m = v.as_object().ok_or_else(|| bad_arg_type(MAP, v))?;
            if !m.contains_key(key) {
                return Err(no_merge_key(m, key));
            }
        }
        items.into_iter().partition(|v| !is_delete_item(v))
    } else {
        (items, Vec::new())
    };
    let mut keyed: Vec<(Option<usize>, Value)> = items
        .into_iter()
        .map(|v| (position(order_keys, &v, mk), v))
        .collect();
    if keyed.iter().all(|(p, _)| p.is_some()) {
        keyed.sort_by_key(|(p, _)| *p);
    } else {
        // Go's stable sort with its comparator ("less" unless both are found and in
        // order), which an insertion sort reproduces.
        for i in 1..keyed.len() {
            let mut j = i;
            while j > 0 {
                let less = match (keyed[j].0, keyed[j - 1].0) {
                    (Some(a), Some(b)) => a < b,
                    _ => true,
                };
                if !less {
                    break;
                }
                keyed.swap(j, j - 1);
                j -= 1;
            }
        }
    }
    let mut out: Vec<Value> = keyed.into_iter().map(|(_, v)| v).collect();
    out.extend(deletes);
    Ok(out)
}

// Go's `%v` formatting of decoded JSON, which kube-apiserver's patch errors print.

fn go_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "%!s(<nil>)",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_i64() => "int64",
        Value::Number(_) => "float64",
        Value::String(_) => "string",
        Value::Array(_) => LIST,
        Value::Object(_) => MAP,
    }
}

/// `%s` of a decoded JSON value.
fn go_s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "%!s(<nil>)".into(),
        Value::Array(_) | Value::Object(_) => go_v(v),
        other => format!("%!s({}={})", go_type(other), go_v(other)),
    }
}

/// `%v` of a decoded JSON value: `map[k:v ...]` with sorted keys, `[a b]`, `<nil>`.
pub fn go_v(v: &Value) -> String {
    let mut out = String::new();
    write_go_v(v, &mut out);
    out
}

fn go_map(m: &Map<String, Value>) -> String {
    let mut out = String::new();
    write_go_map(m, &mut out);
    out
}

fn go_list(l: &[Value]) -> String {
    let mut out = String::from("[");
    for (i, v) in l.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        write_go_v(v, &mut out);
    }
    out.push(']');
    out
}

fn write_go_map(m: &Map<String, Value>, out: &mut String) {
    let mut keys: Vec<&String> = m.keys().collect();
    keys.sort();
    out.push_str("map[");
    for (i, k) in keys.into_iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(k);
        out.push(':');
        if let Some(v) = m.get(k.as_str()) {
            write_go_v(v, out);
        }
    }
    out.push(']');
}

fn write_go_v(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("<nil>"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match n.as_i64() {
            Some(i) => out.push_str(&i.to_string()),
            None => out.push_str(&go_float(n.as_f64().unwrap_or(0.0))),
        },
        Value::String(s) => out.push_str(s),
        Value::Array(a) => out.push_str(&go_list(a)),
        Value::Object(m) => write_go_map(m, out),
    }
}

/// Go's `%v` of a float64: shortest digits, `%e` form when the exponent is < -4 or >= 6.
fn go_float(f: f64) -> String {
    if !f.is_finite() {
        return if f.is_nan() {
            "NaN".into()
        } else if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    } else {
        format!("{f}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema;
    use serde_json::json;

    fn apply_to(def: &str, original: Value, patch: Value) -> Result<Value> {
        let idx = schema::release();
        let s = idx.named(def).expect("definition");
        apply(idx, &s, &original, &patch)
    }

    fn pod(original: Value, patch: Value) -> Result<Value> {
        apply_to("io.k8s.api.core.v1.PodSpec", original, patch)
    }

    fn names(v: &Value, field: &str) -> Vec<String> {
        v[field]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|c| c["name"].as_str().unwrap_or("").to_string())
                    .collect()
            })
            .unwrap_or_default()
    }

    // Table of the examples in Kubernetes' "Update API Objects in Place Using kubectl
    // patch" task and the strategic merge patch design document.
    #[test]
    fn documented_examples() {
        struct Case {
            name: &'static str,
            original: Value,
            patch: Value,
            want: Value,
        }
        let cases = vec![
            Case {
                name: "containers merge by name; new ones come first",
                original: json!({"containers": [{"name": "patch-demo-ctr", "image": "nginx"}]}),
                patch: json!({"containers": [{"name": "patch-demo-ctr-2", "image": "redis"}]}),
                want: json!({"containers": [
                    {"name": "patch-demo-ctr-2", "image": "redis"},
                    {"name": "patch-demo-ctr", "image": "nginx"}]}),
            },
            Case {
                name: "matching container merges field by field",
                original: json!({"containers": [{"name": "c", "image": "nginx", "args": ["a"]}]}),
                patch: json!({"containers": [{"name": "c", "image": "nginx:2"}]}),
                want: json!({"containers": [{"name": "c", "image": "nginx:2", "args": ["a"]}]}),
            },
            Case {
                name: "tolerations are replaced (no patch strategy)",
                original: json!({"tolerations": [{"effect": "NoSchedule", "key": "dedicated", "value": "test-team"}]}),
                patch: json!({"tolerations": [{"effect": "NoSchedule", "key": "disktype", "value": "ssd"}]}),
                want: json!({"tolerations": [{"effect": "NoSchedule", "key": "disktype", "value": "ssd"}]}),
            },
            Case {
                name: "volumes merge by name",
                original: json!({"volumes": [{"name": "a", "emptyDir": {}}]}),
                patch: json!({"volumes": [{"name": "b", "emptyDir": {}}, {"name": "a", "$patch": "delete"}]}),
                want: json!({"volumes": [{"name": "b", "emptyDir": {}}]}),
            },
            Case {
                name: "env merges by name, null deletes a field",
                original: json!({"containers": [{"name": "c", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}], "workingDir": "/x"}]}),
                patch: json!({"containers": [{"name": "c", "env": [{"name": "B", "value": "3"}], "workingDir": null}]}),
                want: json!({"containers": [{"name": "c", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "3"}]}]}),
            },
            Case {
                name: "$patch: replace on a list",
                original: json!({"containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]}),
                patch: json!({"containers": [{"name": "c", "image": "z"}, {"$patch": "replace"}]}),
                want: json!({"containers": [{"name": "c", "image": "z"}]}),
            },
            Case {
                name: "$patch: replace on a map",
                original: json!({"nodeSelector": {"a": "1", "b": "2"}}),
                patch: json!({"nodeSelector": {"c": "3", "$patch": "replace"}}),
                want: json!({"nodeSelector": {"c": "3"}}),
            },
            Case {
                name: "$patch: delete on a map",
                original: json!({"securityContext": {"runAsUser": 1}, "hostname": "h"}),
                patch: json!({"securityContext": {"$patch": "delete"}}),
                want: json!({"securityContext": {}, "hostname": "h"}),
            },
            Case {
                name: "$setElementOrder orders the merged list",
                original: json!({"containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "2"}, {"name": "c", "image": "3"}]}),
                patch: json!({"$setElementOrder/containers": [{"name": "c"}, {"name": "a"}, {"name": "b"}], "containers": [{"name": "a", "image": "9"}]}),
                want: json!({"containers": [{"name": "c", "image": "3"}, {"name": "a", "image": "9"}, {"name": "b", "image": "2"}]}),
            },
            Case {
                // A server-only item goes before the first ordered item that comes after it
                // in the original.
                name: "server-only items keep their place relative to the original",
                original: json!({"containers": [{"name": "a"}, {"name": "x"}, {"name": "b"}]}),
                patch: json!({"$setElementOrder/containers": [{"name": "b"}, {"name": "a"}], "containers": [{"name": "b", "image": "9"}]}),
                want: json!({"containers": [{"name": "x"}, {"name": "b", "image": "9"}, {"name": "a"}]}),
            },
            Case {
                name: "ports merge by containerPort",
                original: json!({"containers": [{"name": "c", "ports": [{"containerPort": 80, "name": "http"}]}]}),
                patch: json!({"containers": [{"name": "c", "ports": [{"containerPort": 80, "name": "web"}, {"containerPort": 443}]}]}),
                want: json!({"containers": [{"name": "c", "ports": [{"containerPort": 80, "name": "web"}, {"containerPort": 443}]}]}),
            },
            Case {
                name: "key absent from the original takes the patch without nulls and directives",
                original: json!({}),
                patch: json!({"affinity": {"nodeAffinity": null, "podAffinity": {"x": 1}}, "volumes": [{"name": "a"}, {"name": "b", "$patch": "delete"}]}),
                want: json!({"affinity": {"podAffinity": {"x": 1}}, "volumes": [{"name": "a"}]}),
            },
            Case {
                name: "null for a missing key is ignored",
                original: json!({"hostname": "h"}),
                patch: json!({"subdomain": null}),
                want: json!({"hostname": "h"}),
            },
        ];
        for c in cases {
            let got = pod(c.original, c.patch).unwrap_or_else(|e| panic!("{}: {e:?}", c.name));
            assert_eq!(got, c.want, "{}", c.name);
        }
    }

    #[test]
    fn primitive_merge_lists() {
        let meta = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";
        let got = apply_to(
            meta,
            json!({"finalizers": ["a", "b"]}),
            json!({"finalizers": ["c", "a"]}),
        )
        .unwrap();
        assert_eq!(got, json!({"finalizers": ["c", "a", "b"]}));
        let got = apply_to(
            meta,
            json!({"finalizers": ["a", "b", "c"]}),
            json!({"$deleteFromPrimitiveList/finalizers": ["b"]}),
        )
        .unwrap();
        assert_eq!(got, json!({"finalizers": ["a", "c"]}));
        let got = apply_to(
            meta,
            json!({"finalizers": ["a", "b", "c"]}),
            json!({"$setElementOrder/finalizers": ["c", "b", "a"]}),
        )
        .unwrap();
        assert_eq!(got, json!({"finalizers": ["c", "b", "a"]}));
    }

    #[test]
    fn retain_keys() {
        let d = "io.k8s.api.apps.v1.DeploymentSpec";
        let got = apply_to(
            d,
            json!({"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}, "replicas": 1}),
            json!({"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}),
        )
        .unwrap();
        assert_eq!(
            got,
            json!({"strategy": {"type": "Recreate"}, "replicas": 1})
        );
        let err = apply_to(
            d,
            json!({"strategy": {"type": "RollingUpdate"}}),
            json!({"strategy": {"$retainKeys": ["type"], "rollingUpdate": {}}}),
        )
        .unwrap_err();
        assert_eq!(
            err,
            SmpError::BadRequest("invalid patch format of retainKeys".into())
        );
    }

    #[test]
    fn kubectl_three_way_patch_removes_a_container() {
        // What kubectl apply sends when a container is dropped from the configuration.
        let got = pod(
            json!({"containers": [{"name": "main", "image": "nginx:1.28"}, {"name": "side", "image": "busybox"}]}),
            json!({"$setElementOrder/containers": [{"name": "main"}], "containers": [{"$patch": "delete", "name": "side"}]}),
        )
        .unwrap();
        assert_eq!(names(&got, "containers"), ["main"]);
    }

    #[test]
    fn errors() {
        let e = pod(
            json!({"containers": [{"name": "a"}]}),
            json!({"containers": [{"image": "x"}]}),
        )
        .unwrap_err();
        assert_eq!(
            e,
            SmpError::Invalid("map: map[image:x] does not contain declared merge key: name".into())
        );
        let e = pod(
            json!({"containers": [{"name": "a"}]}),
            json!({"containers": [{"name": "a", "$patch": "bogus"}]}),
        )
        .unwrap_err();
        assert!(
            matches!(e, SmpError::Invalid(m) if m.starts_with("unknown patch type: bogus in map: map["))
        );
        let e = pod(json!({}), json!({"$setElementOrder": []})).unwrap_err();
        assert_eq!(e, bad_set_element_order());
        let e = pod(
            json!({"containers": [{"name": "a"}]}),
            json!({"$deleteFromPrimitiveListcontainers": ["a"]}),
        )
        .unwrap_err();
        assert_eq!(e, bad_primitive_list());
        let e = apply_to(
            "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
            json!({"finalizers": ["a"]}),
            json!({"finalizers": [1]}),
        )
        .unwrap_err();
        assert_eq!(
            e,
            SmpError::Invalid("list element types are not identical: [[a] [1]]".into())
        );
        let e = pod(
            json!({"containers": [{"name": "a"}, {"name": "b"}]}),
            json!({"$setElementOrder/containers": [{"name": "a"}], "containers": [{"name": "b"}]}),
        )
        .unwrap_err();
        assert!(matches!(e, SmpError::Invalid(m) if m.starts_with("the order in patch list:")));
        let e = pod(json!({}), json!([1])).unwrap_err();
        assert!(matches!(e, SmpError::BadRequest(_)));
    }

    #[test]
    fn go_formatting() {
        assert_eq!(
            go_v(&json!({"b": [1, "x", null], "a": {"c": true}, "f": 1.5})),
            "map[a:map[c:true] b:[1 x <nil>] f:1.5]"
        );
        assert_eq!(go_float(1e21), "1e+21");
        assert_eq!(go_float(1234567.5), "1.2345675e+06");
        assert_eq!(go_float(0.00001), "1e-05");
        assert_eq!(go_float(123456.5), "123456.5");
    }

    /// An independent model of a strategic merge patch without patch metadata: objects
    /// merge, `null` deletes, lists and scalars replace; a value that replaces something
    /// of another kind (or nothing) loses its nulls, also inside lists.
    fn model(t: &Value, p: &Value) -> Value {
        fn strip(v: &Value) -> Value {
            match v {
                Value::Object(m) => Value::Object(
                    m.iter()
                        .filter(|(_, v)| !v.is_null())
                        .map(|(k, v)| (k.clone(), strip(v)))
                        .collect(),
                ),
                Value::Array(a) => Value::Array(a.iter().map(strip).collect()),
                other => other.clone(),
            }
        }
        let mut out = t.as_object().cloned().unwrap_or_default();
        for (k, v) in p.as_object().into_iter().flatten() {
            let next = match (out.get(k), v) {
                (_, Value::Null) => None,
                (Some(Value::Object(_)), Value::Object(_)) => Some(model(&out[k.as_str()], v)),
                (Some(Value::Array(_)), Value::Array(_)) => Some(v.clone()),
                (Some(old), v) if same_kind(old, v) => Some(v.clone()),
                (_, v) => Some(strip(v)),
            };
            match next {
                Some(n) => {
                    out.insert(k.clone(), n);
                }
                None => {
                    out.shift_remove(k);
                }
            }
        }
        Value::Object(out)
    }

    proptest::proptest! {
        #[test]
        fn untyped_matches_model(t in arb_obj(), p in arb_obj()) {
            let idx = schema::release();
            let got = merge_map(t.as_object().cloned().unwrap_or_default(), p.as_object().cloned().unwrap_or_default(), Meta { idx, schema: None })
                .map(Value::Object);
            proptest::prop_assert_eq!(got, Ok(model(&t, &p)));
        }

        // Merging a list of objects by key: every patch item's key is in the result once,
        // in the patch's order, and the original's other items keep their order.
        #[test]
        fn keyed_lists_merge_by_key(
            orig in proptest::collection::btree_set("[a-f]", 0..5),
            patch in proptest::collection::btree_set("[a-f]", 0..5),
        ) {
            let o: Vec<Value> = orig.iter().map(|n| json!({"name": n, "image": "old"})).collect();
            let p: Vec<Value> = patch.iter().rev().map(|n| json!({"name": n, "image": "new"})).collect();
            let got = pod(json!({"containers": o}), json!({"containers": p})).expect("merges");
            let items = got["containers"].as_array().cloned().unwrap_or_default();
            let got_names: Vec<String> = items.iter().map(|c| c["name"].as_str().unwrap_or("").to_string()).collect();
            let in_patch: Vec<&String> = got_names.iter().filter(|n| patch.contains(*n)).collect();
            let want_patch: Vec<&String> = patch.iter().rev().collect();
            proptest::prop_assert_eq!(in_patch, want_patch);
            let rest: Vec<&String> = got_names.iter().filter(|n| !patch.contains(*n)).collect();
            let want_rest: Vec<&String> = orig.iter().filter(|n| !patch.contains(*n)).collect();
            proptest::prop_assert_eq!(rest, want_rest);
            for c in &items {
                let want = if patch.contains(c["name"].as_str().unwrap_or("")) { "new" } else { "old" };
                proptest::prop_assert_eq!(c["image"].as_str(), Some(want));
            }
        }
    }

    fn arb_obj() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            "[a-c]{0,2}".prop_map(Value::String)
        ];
        let tree = leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
                prop::collection::btree_map("[a-d]", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        });
        prop::collection::btree_map("[a-d]", tree, 0..4)
            .prop_map(|m| Value::Object(m.into_iter().collect()))
    }
}
