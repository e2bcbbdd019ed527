//! Schema-aware operations on objects for server-side apply: the set of fields a value
//! sets, the comparison of two values (added, modified, removed paths), the merge of an
//! applied configuration into a live object, and removal of paths.
//!
//! Structure comes from [`crate::schema`]: structs and maps are granular unless marked
//! atomic; lists follow `x-kubernetes-list-type` (`map` items are keyed by the list map
//! keys, `set` items by value, `atomic` lists are one leaf). Values without a schema are
//! granular maps with atomic lists, as Kubernetes treats schemaless objects.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::fieldpath::{Node, Path, PathElement, Set, path_string};
use crate::schema::{ListSchema, ListType, SchemaIndex, Shape};

/// Defaults of list map keys that clients may leave out: the item then has the default in
/// its key, as Kubernetes' own schemas declare them (`+default="TCP"`).
const KEY_DEFAULTS: &[(&str, &str, &str)] = &[
    ("io.k8s.api.core.v1.ContainerPort", "protocol", "TCP"),
    ("io.k8s.api.core.v1.ServicePort", "protocol", "TCP"),
];

/// Paths added, changed and removed between two values.
#[derive(Debug, Default, Clone)]
pub struct Comparison {
    pub added: Set,
    pub modified: Set,
    pub removed: Set,
}

/// How a value is walked.
enum Kind<'a> {
    /// One unit: scalars, atomic lists, maps and structs.
    Leaf,
    /// Fields or keys, each with its own shape.
    Map(Shape<'a>),
    /// Items identified by key, value or position.
    List(&'a ListSchema),
}

/// The schema context: the release's index and an object's root shape.
pub struct Typer<'a> {
    pub idx: &'a SchemaIndex,
}

impl<'a> Typer<'a> {
    fn kind(&self, shape: Shape<'a>, sample: Option<&Value>) -> Kind<'a> {
        match shape {
            Shape::Scalar => Kind::Leaf,
            Shape::Struct(st) if st.atomic => Kind::Leaf,
            Shape::Map(m) if m.atomic => Kind::Leaf,
            Shape::Struct(_) | Shape::Map(_) => Kind::Map(shape),
            Shape::List(l) if l.list_type == ListType::Atomic => Kind::Leaf,
            Shape::List(l) => Kind::List(l),
            Shape::Any => match sample {
                Some(Value::Object(_)) => Kind::Map(shape),
                _ => Kind::Leaf,
            },
        }
    }

    /// The shape of field `key` of a map-like shape: `(shape, declared, allowed)`.
    fn child(&self, shape: Shape<'a>, key: &str) -> (Shape<'a>, bool, bool) {
        match shape {
            Shape::Struct(st) => match st.field(key) {
                Some(f) => (self.idx.shape(&f.schema), true, true),
                None => (Shape::Any, false, st.preserve_unknown),
            },
            Shape::Map(m) => (self.idx.shape(&m.values), false, true),
            _ => (Shape::Any, false, true),
        }
    }

    fn item_shape(&self, l: &'a ListSchema) -> Shape<'a> {
        self.idx.shape(&l.items)
    }

    /// The path element of item `i` of a granular list.
    fn item_pe(&self, l: &'a ListSchema, i: usize, item: &Value) -> Result<PathElement, String> {
        match l.list_type {
            ListType::Map if !l.map_keys.is_empty() => {
                let Value::Object(m) = item else {
                    return Err(format!(
                        "element {i}: associative list with keys may only have map elements"
                    ));
                };
                let struct_name = match self.item_shape(l) {
                    Shape::Struct(st) => st.name.as_str(),
                    _ => "",
                };
                let mut keys = Vec::with_capacity(l.map_keys.len());
                for k in &l.map_keys {
                    match m.get(k) {
                        Some(v) => keys.push((k.clone(), v.clone())),
                        None => match KEY_DEFAULTS
                            .iter()
                            .find(|(d, f, _)| *d == struct_name && f == k)
                        {
                            Some((_, _, dv)) => {
                                keys.push((k.clone(), Value::String(dv.to_string())))
                            }
                            None => {
                                return Err(format!(
                                    "element {i}: associative list with keys has an element that omits key field {} (and doesn't have default value)",
                                    crate::validation::go_quote(k)
                                ));
                            }
                        },
                    }
                }
                keys.sort_by(|a, b| a.0.cmp(&b.0));
                Ok(PathElement::Key(keys))
            }
            ListType::Set => match item {
                Value::Object(_) => Err(format!(
                    "element {i}: associative list without keys has an element that's a map type"
                )),
                Value::Array(_) => Err(format!(
                    "element {i}: associative list without keys has an element that's a list type"
                )),
                v => Ok(PathElement::Value(v.clone())),
            },
            _ => Ok(PathElement::Index(i)),
        }
    }

    /// Path elements of a list's items; items whose element cannot be made fall back to
    /// their index (live objects are taken as they are).
    fn item_pes(&self, l: &'a ListSchema, items: &[Value]) -> Vec<PathElement> {
        items
            .iter()
            .enumerate()
            .map(|(i, v)| self.item_pe(l, i, v).unwrap_or(PathElement::Index(i)))
            .collect()
    }

    /// The fields `v` sets. With `errors`, the value is also checked as an applied
    /// configuration: undeclared fields, items without keys and duplicate items are errors.
    pub fn field_set(
        &self,
        shape: Shape<'a>,
        v: &Value,
        path: &mut Path,
        out: &mut Set,
        mut errors: Option<&mut Vec<String>>,
    ) {
        match self.kind(shape, Some(v)) {
            Kind::Leaf => {
                if !v.is_null() || !path.is_empty() {
                    out.insert(path);
                }
            }
            Kind::Map(shape) => {
                let Value::Object(m) = v else {
                    if !v.is_null() {
                        out.insert(path);
                    }
                    return;
                };
                for (k, val) in m {
                    let (cs, declared, allowed) = self.child(shape, k);
                    path.push(PathElement::Field(k.clone()));
                    if !allowed && let Some(errs) = errors.as_deref_mut() {
                        errs.push(format!(
                            "{}: field not declared in schema",
                            path_string(path)
                        ));
                        path.pop();
                        continue;
                    }
                    self.field_set(cs, val, path, out, errors.as_deref_mut());
                    let empty_map = matches!(val, Value::Object(o) if o.is_empty());
                    if val.is_null() || empty_map || !declared {
                        out.insert(path);
                    }
                    path.pop();
                }
            }
            Kind::List(l) => {
                let Value::Array(items) = v else {
                    if !v.is_null() {
                        out.insert(path);
                    }
                    return;
                };
                let item_shape = self.item_shape(l);
                let mut seen = BTreeSet::new();
                for (i, item) in items.iter().enumerate() {
                    let pe = match self.item_pe(l, i, item) {
                        Ok(pe) => pe,
                        Err(e) => {
                            if let Some(errs) = errors.as_deref_mut() {
                                errs.push(format!("{}: {e}", path_string(path)));
                                continue;
                            }
                            PathElement::Index(i)
                        }
                    };
                    if !seen.insert(pe.clone())
                        && let Some(errs) = errors.as_deref_mut()
                    {
                        errs.push(format!(
                            "{}: duplicate entries for key {pe}",
                            path_string(path)
                        ));
                        continue;
                    }
                    path.push(pe);
                    self.field_set(item_shape, item, path, out, errors.as_deref_mut());
                    out.insert(path);
                    path.pop();
                }
            }
        }
    }

    /// Compares `lhs` (before) with `rhs` (after).
    pub fn compare(
        &self,
        shape: Shape<'a>,
        lhs: Option<&Value>,
        rhs: Option<&Value>,
        path: &mut Path,
        c: &mut Comparison,
    ) {
        // Equal values hold no change below them.
        if let (Some(l), Some(r)) = (lhs, rhs)
            && l == r
        {
            return;
        }
        // Everything below a value that is only on the right is added: built as one subtree
        // (what the walk below would insert path by path, re-walking the set from its root
        // each time).
        if let (None, Some(r)) = (lhs, rhs) {
            c.added.graft(path, self.added(shape, r));
            return;
        }
        let sample = match (lhs, rhs) {
            (Some(l @ Value::Object(_)), _) => Some(l),
            (_, Some(r)) => Some(r),
            (l, None) => l,
        };
        let leaf = |c: &mut Comparison, path: &Path| match (lhs, rhs) {
            (None, Some(_)) => c.added.insert(path),
            (Some(_), None) => c.removed.insert(path),
            (Some(a), Some(b)) if a != b => c.modified.insert(path),
            _ => {}
        };
        match self.kind(shape, sample) {
            Kind::Leaf => leaf(c, path),
            Kind::Map(shape) => {
                let lm = lhs.and_then(Value::as_object);
                let rm = rhs.and_then(Value::as_object);
                if lm.is_none_or(Map::is_empty) && rm.is_none_or(Map::is_empty) {
                    return leaf(c, path);
                }
                if let Some(lm) = lm {
                    for (k, lv) in lm {
                        let rv = rm.and_then(|m| m.get(k));
                        let (cs, _, _) = self.child(shape, k);
                        path.push(PathElement::Field(k.clone()));
                        self.compare(cs, Some(lv), rv, path, c);
                        path.pop();
                    }
                }
                if let Some(rm) = rm {
                    for (k, rv) in rm {
                        if lm.is_some_and(|m| m.contains_key(k)) {
                            continue;
                        }
                        let (cs, _, _) = self.child(shape, k);
                        path.push(PathElement::Field(k.clone()));
                        self.compare(cs, None, Some(rv), path, c);
                        path.pop();
                    }
                }
                self.node_added_removed(lhs, rhs, path, c);
            }
            Kind::List(l) => {
                let la = lhs.and_then(Value::as_array);
                let ra = rhs.and_then(Value::as_array);
                if la.is_none_or(Vec::is_empty) && ra.is_none_or(Vec::is_empty) {
                    return leaf(c, path);
                }
                let item_shape = self.item_shape(l);
                let li = self.index_items(l, la);
                let ri = self.index_items(l, ra);
                for (pe, lv) in &li {
                    path.push(pe.clone());
                    self.compare(item_shape, Some(lv), ri.get(pe).copied(), path, c);
                    path.pop();
                }
                for (pe, rv) in &ri {
                    if !li.contains_key(pe) {
                        path.push(pe.clone());
                        self.compare(item_shape, None, Some(rv), path, c);
                        path.pop();
                    }
                }
                self.node_added_removed(lhs, rhs, path, c);
            }
        }
    }

    /// A list's items by path element (the first of duplicates).
    fn index_items<'v>(
        &self,
        l: &'a ListSchema,
        items: Option<&'v Vec<Value>>,
    ) -> BTreeMap<PathElement, &'v Value> {
        let mut m = BTreeMap::new();
        if let Some(items) = items {
            for (pe, v) in self.item_pes(l, items).into_iter().zip(items) {
                m.entry(pe).or_insert(v);
            }
        }
        m
    }

    /// The node [`Typer::compare`] inserts for a value `v` that only the right side has: the
    /// value itself, and below it every field, key or item, recursively.
    fn added(&self, shape: Shape<'a>, v: &Value) -> Node {
        let mut node = Node {
            member: true,
            children: Set::new(),
        };
        match self.kind(shape, Some(v)) {
            Kind::Leaf => {}
            Kind::Map(shape) => {
                if let Some(m) = v.as_object() {
                    for (k, cv) in m {
                        let (cs, _, _) = self.child(shape, k);
                        node.children
                            .nodes
                            .insert(PathElement::Field(k.clone()), self.added(cs, cv));
                    }
                }
            }
            Kind::List(l) => {
                let item_shape = self.item_shape(l);
                for (pe, iv) in self.index_items(l, v.as_array()) {
                    node.children.nodes.insert(pe, self.added(item_shape, iv));
                }
            }
        }
        node
    }

    fn node_added_removed(
        &self,
        lhs: Option<&Value>,
        rhs: Option<&Value>,
        path: &Path,
        c: &mut Comparison,
    ) {
        if lhs.is_none() {
            c.added.insert(path);
        } else if rhs.is_none() {
            c.removed.insert(path);
        }
    }

    /// Merges `rhs` (the applied configuration) into `lhs` (the live object): granular
    /// maps merge key by key, granular lists item by item (live order kept, new items
    /// placed by the configuration's order), everything else is replaced by `rhs`.
    pub fn merge(
        &self,
        shape: Shape<'a>,
        lhs: Option<&Value>,
        rhs: Option<&Value>,
    ) -> Option<Value> {
        let (l, r) = match (lhs, rhs) {
            (None, None) => return None,
            (Some(l), None) => return Some(l.clone()),
            (None, Some(r)) => return Some(r.clone()),
            (Some(l), Some(r)) if l == r => return Some(r.clone()),
            (Some(l), Some(r)) => (l, r),
        };
        match (self.kind(shape, Some(l)), l, r) {
            (Kind::Map(shape), Value::Object(lm), Value::Object(rm))
                if !(lm.is_empty() && rm.is_empty()) =>
            {
                let mut out = Map::with_capacity(lm.len().max(rm.len()));
                for (k, lv) in lm {
                    let merged = match rm.get(k) {
                        Some(rv) => {
                            let (cs, _, _) = self.child(shape, k);
                            self.merge(cs, Some(lv), Some(rv))
                        }
                        None => Some(lv.clone()),
                    };
                    if let Some(v) = merged {
                        out.insert(k.clone(), v);
                    }
                }
                for (k, rv) in rm {
                    if !lm.contains_key(k) {
                        out.insert(k.clone(), rv.clone());
                    }
                }
                Some(Value::Object(out))
            }
            (Kind::List(ls), Value::Array(la), Value::Array(ra))
                if !(la.is_empty() && ra.is_empty()) =>
            {
                Some(Value::Array(self.merge_list(ls, la, ra)))
            }
            _ => Some(r.clone()),
        }
    }

    fn merge_list(&self, ls: &'a ListSchema, la: &[Value], ra: &[Value]) -> Vec<Value> {
        let item_shape = self.item_shape(ls);
        let lpes = self.item_pes(ls, la);
        let rpes = self.item_pes(ls, ra);
        let mut lmap: BTreeMap<&PathElement, usize> = BTreeMap::new();
        for (i, pe) in lpes.iter().enumerate() {
            lmap.entry(pe).or_insert(i);
        }
        let mut rmap: BTreeMap<&PathElement, usize> = BTreeMap::new();
        for (i, pe) in rpes.iter().enumerate() {
            rmap.entry(pe).or_insert(i);
        }
        // Items in both lists, in the configuration's order.
        let mut shared = rpes.iter().filter(|pe| lmap.contains_key(pe));
        let mut next_shared = shared.next();
        let mut merged_rhs: BTreeSet<&PathElement> = BTreeSet::new();
        let mut out = Vec::with_capacity(la.len().max(ra.len()));
        let (mut li, mut ri) = (0, 0);
        while li < la.len() || ri < ra.len() {
            if li < la.len() && ri < ra.len() {
                let pe = &lpes[li];
                if *pe == rpes[ri] {
                    merged_rhs.insert(pe);
                    out.extend(self.merge(item_shape, Some(&la[li]), Some(&ra[ri])));
                    li += 1;
                    ri += 1;
                    next_shared = shared.next();
                    continue;
                }
                if rmap.contains_key(pe) && next_shared.is_some_and(|n| n != pe) {
                    // Shared, but its turn comes later in the configuration's order.
                    li += 1;
                    continue;
                }
            }
            if li < la.len() {
                let pe = &lpes[li];
                if !rmap.contains_key(pe) {
                    out.push(la[li].clone());
                    li += 1;
                    continue;
                }
                if merged_rhs.contains(pe) {
                    li += 1;
                    continue;
                }
            }
            if ri < ra.len() {
                let pe = &rpes[ri];
                merged_rhs.insert(pe);
                let lv = lmap.get(pe).map(|&i| &la[i]);
                out.extend(self.merge(item_shape, lv, Some(&ra[ri])));
                ri += 1;
                if next_shared.is_some_and(|n| n == pe) {
                    next_shared = shared.next();
                }
            } else {
                // Only shared live items already merged remain.
                li += 1;
            }
        }
        out
    }

    /// `v` without the paths in `set` (a path removes everything below it).
    pub fn remove(&self, shape: Shape<'a>, v: &Value, set: &Set) -> Value {
        match (self.kind(shape, Some(v)), v) {
            (Kind::Map(shape), Value::Object(m)) => {
                let mut out = Map::with_capacity(m.len());
                for (k, val) in m {
                    let pe = PathElement::Field(k.clone());
                    if set.has(std::slice::from_ref(&pe)) {
                        continue;
                    }
                    match set.with_prefix(&pe) {
                        Some(sub) => {
                            let (cs, _, _) = self.child(shape, k);
                            out.insert(k.clone(), self.remove(cs, val, sub));
                        }
                        None => {
                            out.insert(k.clone(), val.clone());
                        }
                    }
                }
                Value::Object(out)
            }
            (Kind::List(l), Value::Array(items)) => {
                let item_shape = self.item_shape(l);
                let pes = self.item_pes(l, items);
                let mut out = Vec::with_capacity(items.len());
                for (pe, item) in pes.iter().zip(items) {
                    if set.has(std::slice::from_ref(pe)) {
                        continue;
                    }
                    match set.with_prefix(pe) {
                        Some(sub) => out.push(self.remove(item_shape, item, sub)),
                        None => out.push(item.clone()),
                    }
                }
                Value::Array(out)
            }
            _ => v.clone(),
        }
    }

    /// `set` with every declared struct field that has members below it made a member
    /// itself, so that removing a field's last child can remove the field.
    pub fn ensure_named_fields_are_members(&self, shape: Shape<'a>, set: &Set) -> Set {
        let mut out = Set::new();
        for (pe, node) in &set.nodes {
            let mut n = node.clone();
            let child_shape = match (pe, shape) {
                (PathElement::Field(k), Shape::Struct(st)) => match st.field(k) {
                    Some(f) => {
                        if !node.children.is_empty() {
                            n.member = true;
                        }
                        Some(self.idx.shape(&f.schema))
                    }
                    None => Some(Shape::Any),
                },
                (PathElement::Field(_), Shape::Map(m)) => Some(self.idx.shape(&m.values)),
                (PathElement::Field(_), _) => Some(Shape::Any),
                (_, Shape::List(l)) => Some(self.item_shape(l)),
                _ => None,
            };
            if let Some(cs) = child_shape
                && !node.children.is_empty()
            {
                n.children = self.ensure_named_fields_are_members(cs, &node.children);
            }
            out.nodes.insert(pe.clone(), n);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::release;
    use serde_json::json;

    fn deployment() -> (Typer<'static>, crate::schema::Schema) {
        let idx = release();
        let s = idx
            .named("io.k8s.api.apps.v1.Deployment")
            .expect("Deployment");
        (Typer { idx }, s)
    }

    fn f(n: &str) -> PathElement {
        PathElement::Field(n.into())
    }

    fn set_of(t: &Typer<'static>, s: &crate::schema::Schema, v: &Value) -> Set {
        let mut out = Set::new();
        t.field_set(t.idx.shape(s), v, &mut Vec::new(), &mut out, None);
        out
    }

    #[test]
    fn field_set_of_an_applied_deployment() {
        let (t, s) = deployment();
        let v = json!({"metadata": {"name": "d", "labels": {"app": "d"}},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "d"}},
              "template": {"spec": {"containers": [{"name": "main", "image": "nginx",
                 "ports": [{"containerPort": 80}]}]}}}});
        let set = set_of(&t, &s, &v);
        let fields = serde_json::to_string(&set.to_fields_v1()).expect("json");
        assert_eq!(
            fields,
            r#"{"f:metadata":{"f:labels":{"f:app":{}},"f:name":{}},"f:spec":{"f:replicas":{},"f:selector":{},"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"main\"}":{".":{},"f:image":{},"f:name":{},"f:ports":{"k:{\"containerPort\":80,\"protocol\":\"TCP\"}":{".":{},"f:containerPort":{}}}}}}}}}"#
        );
    }

    #[test]
    fn config_errors() {
        let (t, s) = deployment();
        let v = json!({"spec": {"bogus": 1, "template": {"spec": {"containers": [
            {"name": "a"}, {"name": "a"}, {"image": "x"}]}}}});
        let mut errs = Vec::new();
        let mut out = Set::new();
        t.field_set(
            t.idx.shape(&s),
            &v,
            &mut Vec::new(),
            &mut out,
            Some(&mut errs),
        );
        assert_eq!(
            errs,
            vec![
                ".spec.bogus: field not declared in schema".to_string(),
                ".spec.template.spec.containers: duplicate entries for key [name=\"a\"]".into(),
                ".spec.template.spec.containers: element 2: associative list with keys has an element that omits key field \"name\" (and doesn't have default value)".into(),
            ]
        );
    }

    #[test]
    fn merge_keeps_live_order_and_appends_new_keys() {
        let (t, s) = deployment();
        let live = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "main", "image": "a"}]}}}});
        let cfg = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "side", "image": "b"}]}}}});
        let m = t
            .merge(t.idx.shape(&s), Some(&live), Some(&cfg))
            .expect("merged");
        let names: Vec<&str> = m["spec"]["template"]["spec"]["containers"]
            .as_array()
            .expect("list")
            .iter()
            .filter_map(|c| c["name"].as_str())
            .collect();
        assert_eq!(names, vec!["main", "side"]);
        // Shared items follow the configuration's order relative to each other.
        let live = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "a"}, {"name": "x"}, {"name": "b"}]}}}});
        let cfg = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "b", "image": "i"}, {"name": "n"}, {"name": "a"}]}}}});
        let m = t
            .merge(t.idx.shape(&s), Some(&live), Some(&cfg))
            .expect("merged");
        let names: Vec<&str> = m["spec"]["template"]["spec"]["containers"]
            .as_array()
            .expect("list")
            .iter()
            .filter_map(|c| c["name"].as_str())
            .collect();
        assert_eq!(names, vec!["x", "b", "n", "a"]);
        assert_eq!(m["spec"]["template"]["spec"]["containers"][1]["image"], "i");
    }

    #[test]
    fn atomic_fields_are_replaced_and_compared_whole() {
        let (t, s) = deployment();
        let live = json!({"spec": {"selector": {"matchLabels": {"a": "1", "b": "2"}}}});
        let cfg = json!({"spec": {"selector": {"matchLabels": {"a": "1"}}}});
        let m = t
            .merge(t.idx.shape(&s), Some(&live), Some(&cfg))
            .expect("merged");
        assert_eq!(m["spec"]["selector"], json!({"matchLabels": {"a": "1"}}));
        let mut c = Comparison::default();
        t.compare(
            t.idx.shape(&s),
            Some(&live),
            Some(&m),
            &mut Vec::new(),
            &mut c,
        );
        assert!(c.modified.has(&[f("spec"), f("selector")]));
        assert!(c.added.is_empty() && c.removed.is_empty());
    }

    /// What the comparison inserted for a value only on the right before subtrees were
    /// grafted whole: every path inserted one by one, children before their node.
    fn added_by_paths(t: &Typer<'_>, shape: Shape<'_>, v: &Value, path: &mut Path, out: &mut Set) {
        match t.kind(shape, Some(v)) {
            Kind::Leaf => out.insert(path),
            Kind::Map(shape) => {
                for (k, cv) in v.as_object().into_iter().flatten() {
                    let (cs, _, _) = t.child(shape, k);
                    path.push(PathElement::Field(k.clone()));
                    added_by_paths(t, cs, cv, path, out);
                    path.pop();
                }
                out.insert(path);
            }
            Kind::List(l) => {
                let item_shape = t.item_shape(l);
                for (pe, iv) in t.index_items(l, v.as_array()) {
                    path.push(pe);
                    added_by_paths(t, item_shape, iv, path, out);
                    path.pop();
                }
                out.insert(path);
            }
        }
    }

    #[test]
    fn added_subtrees_are_what_path_by_path_inserts_give() {
        let (t, s) = deployment();
        let objects = [
            json!({"metadata": {"name": "d", "labels": {"a": "1"}, "finalizers": ["x", "y", "x"]},
                "spec": {"replicas": 2, "selector": {"matchLabels": {"a": "1"}},
                    "template": {"metadata": {"labels": {"a": "1"}}, "spec": {
                        "containers": [
                            {"name": "c", "image": "i", "args": ["a", "a"],
                             "ports": [{"containerPort": 80, "protocol": "TCP"}, {"containerPort": 80, "protocol": "UDP"}],
                             "env": [{"name": "E", "value": "1"}, {"name": "E", "value": "2"}],
                             "resources": {}},
                            {"name": "d", "image": "j", "volumeMounts": [{"name": "v", "mountPath": "/v"}]},
                            {"name": "c", "image": "dup"}],
                        "volumes": [{"name": "v", "emptyDir": {}}],
                        "tolerations": [{"key": "k", "operator": "Exists"}],
                        "nodeSelector": {}}}},
                "status": {"conditions": [{"type": "Available", "status": "True"}]}}),
            json!({"spec": {"template": {"spec": {"containers": []}}}, "unknown": {"x": [1, {"y": null}]}}),
            json!({"metadata": null, "spec": "not an object"}),
        ];
        let shape = t.idx.shape(&s);
        for obj in &objects {
            // Under the root, and grafted below a path into a set that already has nodes.
            let mut want = Set::new();
            added_by_paths(&t, shape, obj, &mut Vec::new(), &mut want);
            let mut c = Comparison::default();
            t.compare(shape, None, Some(obj), &mut Vec::new(), &mut c);
            assert_eq!(c.added, want, "{obj}");
            let prefix = vec![f("spec"), f("template")];
            let mut want = Set::new();
            want.insert(&[f("spec"), f("replicas")]);
            want.insert(&[f("spec"), f("template"), f("metadata")]);
            let mut got = Comparison {
                added: want.clone(),
                ..Default::default()
            };
            added_by_paths(&t, shape, obj, &mut prefix.clone(), &mut want);
            t.compare(shape, None, Some(obj), &mut prefix.clone(), &mut got);
            assert_eq!(got.added, want, "{obj}");
        }
    }

    #[test]
    fn compare_marks_added_nodes() {
        let idx = release();
        let s = idx
            .named("io.k8s.api.core.v1.ConfigMap")
            .expect("ConfigMap");
        let t = Typer { idx };
        let live = json!({"metadata": {"name": "x"}});
        let new = json!({"metadata": {"name": "x", "labels": {"a": "1"}}, "data": {"k": "v"}});
        let mut c = Comparison::default();
        t.compare(
            idx.shape(&s),
            Some(&live),
            Some(&new),
            &mut Vec::new(),
            &mut c,
        );
        assert_eq!(
            c.added.to_fields_v1(),
            json!({"f:data": {".": {}, "f:k": {}}, "f:metadata": {"f:labels": {".": {}, "f:a": {}}}})
        );
        let mut back = Comparison::default();
        t.compare(
            idx.shape(&s),
            Some(&new),
            Some(&live),
            &mut Vec::new(),
            &mut back,
        );
        assert_eq!(back.removed, c.added);
    }

    #[test]
    fn remove_and_named_fields() {
        let idx = release();
        let s = idx
            .named("io.k8s.api.core.v1.ConfigMap")
            .expect("ConfigMap");
        let t = Typer { idx };
        let mut set = Set::new();
        set.insert(&[f("data"), f("a")]);
        let ensured = t.ensure_named_fields_are_members(idx.shape(&s), &set);
        assert!(ensured.has(&[f("data")]));
        let v = json!({"data": {"a": "1", "b": "2"}});
        assert_eq!(
            t.remove(idx.shape(&s), &v, &set),
            json!({"data": {"b": "2"}})
        );
        assert_eq!(t.remove(idx.shape(&s), &v, &ensured), json!({}));
    }

    #[test]
    fn schemaless_values_are_granular_maps_and_atomic_lists() {
        let t = Typer { idx: release() };
        let v = json!({"spec": {"a": 1, "l": [1, 2]}});
        let mut out = Set::new();
        t.field_set(Shape::Any, &v, &mut Vec::new(), &mut out, None);
        assert!(out.has(&[f("spec")]) && out.has(&[f("spec"), f("a")]));
        assert!(out.has(&[f("spec"), f("l")]));
        let m = t
            .merge(Shape::Any, Some(&v), Some(&json!({"spec": {"l": [3]}})))
            .expect("merged");
        assert_eq!(m, json!({"spec": {"a": 1, "l": [3]}}));
    }
}
