//! Field paths and sets of them, as server-side apply tracks ownership: path elements
//! (`.name`, `[key=value]`, `[=value]`, `[index]`), a set as a tree, the set algebra the
//! field manager needs and the `FieldsV1` JSON form stored in `metadata.managedFields`
//! (`f:name`, `k:{"key":value}`, `v:value`, `i:index`, `"."` for a node that is itself a
//! member as well as the parent of others).

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Map, Value};

/// One step of a path.
#[derive(Debug, Clone)]
pub enum PathElement {
    /// A field of a struct or a key of a map.
    Field(String),
    /// An item of a list of type `map`, by its key fields (sorted by name).
    Key(Vec<(String, Value)>),
    /// An item of a list of type `set`, by its value.
    Value(Value),
    /// An item of a list by position (lists without keys).
    Index(usize),
}

/// The rank of a JSON value's type in Kubernetes' value order: numbers, strings, booleans,
/// lists, maps, null.
fn type_rank(v: &Value) -> u8 {
    match v {
        Value::Number(_) => 0,
        Value::String(_) => 1,
        Value::Bool(_) => 2,
        Value::Array(_) => 3,
        Value::Object(_) => 4,
        Value::Null => 5,
    }
}

/// A total order of JSON values (numbers compare numerically across integer and float).
pub fn compare_values(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => i.cmp(&j),
            _ => {
                let (f, g) = (x.as_f64().unwrap_or(0.0), y.as_f64().unwrap_or(0.0));
                f.partial_cmp(&g).unwrap_or(Ordering::Equal)
            }
        },
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Array(x), Value::Array(y)) => {
            for (i, j) in x.iter().zip(y) {
                let c = compare_values(i, j);
                if c != Ordering::Equal {
                    return c;
                }
            }
            x.len().cmp(&y.len())
        }
        (Value::Object(x), Value::Object(y)) => {
            let mut xs: Vec<_> = x.iter().collect();
            let mut ys: Vec<_> = y.iter().collect();
            xs.sort_by(|p, q| p.0.cmp(q.0));
            ys.sort_by(|p, q| p.0.cmp(q.0));
            for ((kx, vx), (ky, vy)) in xs.iter().zip(&ys) {
                let c = kx.cmp(ky).then_with(|| compare_values(vx, vy));
                if c != Ordering::Equal {
                    return c;
                }
            }
            xs.len().cmp(&ys.len())
        }
        (Value::Null, Value::Null) => Ordering::Equal,
        _ => type_rank(a).cmp(&type_rank(b)),
    }
}

fn compare_keys(a: &[(String, Value)], b: &[(String, Value)]) -> Ordering {
    if a.len() != b.len() {
        return a.len().cmp(&b.len());
    }
    for ((ka, va), (kb, vb)) in a.iter().zip(b) {
        let c = ka.cmp(kb).then_with(|| compare_values(va, vb));
        if c != Ordering::Equal {
            return c;
        }
    }
    Ordering::Equal
}

impl PathElement {
    fn rank(&self) -> u8 {
        match self {
            PathElement::Field(_) => 0,
            PathElement::Key(_) => 1,
            PathElement::Value(_) => 2,
            PathElement::Index(_) => 3,
        }
    }

    /// The element as a `FieldsV1` key.
    pub fn fields_key(&self) -> String {
        match self {
            PathElement::Field(n) => {
                let mut key = String::with_capacity(n.len() + 2);
                key.push_str("f:");
                key.push_str(n);
                key
            }
            PathElement::Key(k) => {
                let mut m = Map::new();
                for (n, v) in k {
                    m.insert(n.clone(), v.clone());
                }
                format!("k:{}", go_json(&Value::Object(m)))
            }
            PathElement::Value(v) => format!("v:{}", go_json(v)),
            PathElement::Index(i) => format!("i:{i}"),
        }
    }

    /// Parses a `FieldsV1` key.
    pub fn parse_fields_key(s: &str) -> Result<PathElement, String> {
        let Some((prefix, rest)) = s.split_once(':') else {
            return Err(format!("invalid path element {s:?}"));
        };
        match prefix {
            "f" => Ok(PathElement::Field(rest.to_string())),
            "k" => {
                let v: Value =
                    serde_json::from_str(rest).map_err(|e| format!("invalid key {rest:?}: {e}"))?;
                let Value::Object(m) = v else {
                    return Err(format!("key {rest:?} is not an object"));
                };
                if m.is_empty() {
                    return Err("empty key".into());
                }
                let mut keys: Vec<(String, Value)> = m.into_iter().collect();
                keys.sort_by(|a, b| a.0.cmp(&b.0));
                Ok(PathElement::Key(keys))
            }
            "v" => serde_json::from_str(rest)
                .map(PathElement::Value)
                .map_err(|e| format!("invalid value {rest:?}: {e}")),
            "i" => rest
                .parse::<usize>()
                .map(PathElement::Index)
                .map_err(|e| format!("invalid index {rest:?}: {e}")),
            _ => Err(format!("unknown path element prefix {prefix:?}")),
        }
    }
}

/// A value as Go's `encoding/json` writes it.
fn go_json(v: &Value) -> String {
    String::from_utf8(crate::gojson::to_vec(v).unwrap_or_default()).unwrap_or_default()
}

/// A value as Kubernetes prints it inside a path: strings quoted, the rest as JSON.
fn path_value(v: &Value) -> String {
    match v {
        Value::String(s) => crate::validation::go_quote(s),
        other => other.to_string(),
    }
}

impl fmt::Display for PathElement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathElement::Field(n) => write!(f, ".{n}"),
            PathElement::Key(k) => {
                let parts: Vec<String> = k
                    .iter()
                    .map(|(n, v)| format!("{n}={}", path_value(v)))
                    .collect();
                write!(f, "[{}]", parts.join(","))
            }
            PathElement::Value(v) => write!(f, "[={}]", path_value(v)),
            PathElement::Index(i) => write!(f, "[{i}]"),
        }
    }
}

impl PartialEq for PathElement {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for PathElement {}
impl PartialOrd for PathElement {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for PathElement {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (PathElement::Field(a), PathElement::Field(b)) => a.cmp(b),
            (PathElement::Key(a), PathElement::Key(b)) => compare_keys(a, b),
            (PathElement::Value(a), PathElement::Value(b)) => compare_values(a, b),
            (PathElement::Index(a), PathElement::Index(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

/// A path from the object's root.
pub type Path = Vec<PathElement>;

/// A path as Kubernetes prints it: `.spec.containers[name="app"].image`.
pub fn path_string(p: &[PathElement]) -> String {
    p.iter().map(ToString::to_string).collect()
}

/// A node of a [`Set`]: whether the path ending here is a member, and the paths below it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Node {
    pub member: bool,
    pub children: Set,
}

impl Node {
    fn is_empty(&self) -> bool {
        !self.member && self.children.is_empty()
    }
}

/// A set of paths, as a tree.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Set {
    pub nodes: BTreeMap<PathElement, Node>,
}

impl Set {
    pub fn new() -> Set {
        Set::default()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Adds a path (the empty path is not representable and ignored).
    pub fn insert(&mut self, path: &[PathElement]) {
        let Some((first, rest)) = path.split_first() else {
            return;
        };
        // The element is copied only for a new node: most inserts walk through nodes that
        // exist.
        let add = |node: &mut Node| {
            if rest.is_empty() {
                node.member = true;
            } else {
                node.children.insert(rest);
            }
        };
        match self.nodes.get_mut(first) {
            Some(node) => add(node),
            None => {
                let mut node = Node::default();
                add(&mut node);
                self.nodes.insert(first.clone(), node);
            }
        }
    }

    /// Merges `node` in at `path` (at the root, only its children: the empty path is not
    /// representable).
    pub fn graft(&mut self, path: &[PathElement], node: Node) {
        let Some((first, rest)) = path.split_first() else {
            self.union_in(&node.children);
            return;
        };
        match self.nodes.get_mut(first) {
            Some(existing) if rest.is_empty() => {
                existing.member |= node.member;
                existing.children.union_in(&node.children);
            }
            Some(existing) => existing.children.graft(rest, node),
            None if rest.is_empty() => {
                self.nodes.insert(first.clone(), node);
            }
            None => {
                let mut child = Node::default();
                child.children.graft(rest, node);
                self.nodes.insert(first.clone(), child);
            }
        }
    }

    pub fn has(&self, path: &[PathElement]) -> bool {
        let Some((first, rest)) = path.split_first() else {
            return false;
        };
        match self.nodes.get(first) {
            Some(n) if rest.is_empty() => n.member,
            Some(n) => n.children.has(rest),
            None => false,
        }
    }

    /// The paths below `pe`, without the prefix.
    pub fn with_prefix(&self, pe: &PathElement) -> Option<&Set> {
        self.nodes
            .get(pe)
            .map(|n| &n.children)
            .filter(|s| !s.is_empty())
    }

    pub fn union(&self, other: &Set) -> Set {
        let mut out = self.clone();
        out.union_in(other);
        out
    }

    pub fn union_in(&mut self, other: &Set) {
        for (pe, n) in &other.nodes {
            match self.nodes.get_mut(pe) {
                Some(mine) => {
                    mine.member |= n.member;
                    mine.children.union_in(&n.children);
                }
                None => {
                    self.nodes.insert(pe.clone(), n.clone());
                }
            }
        }
    }

    pub fn difference(&self, other: &Set) -> Set {
        let mut out = Set::new();
        for (pe, n) in &self.nodes {
            let node = match other.nodes.get(pe) {
                Some(o) => Node {
                    member: n.member && !o.member,
                    children: n.children.difference(&o.children),
                },
                None => n.clone(),
            };
            if !node.is_empty() {
                out.nodes.insert(pe.clone(), node);
            }
        }
        out
    }

    /// `self = self.difference(other)`, in place: only the paths `other` names are visited
    /// and nothing of `self` is copied.
    pub fn subtract(&mut self, other: &Set) {
        for (pe, o) in &other.nodes {
            if let Some(n) = self.nodes.get_mut(pe) {
                n.member &= !o.member;
                n.children.subtract(&o.children);
                if n.is_empty() {
                    self.nodes.remove(pe);
                }
            }
        }
    }

    pub fn intersection(&self, other: &Set) -> Set {
        let mut out = Set::new();
        for (pe, n) in &self.nodes {
            if let Some(o) = other.nodes.get(pe) {
                let node = Node {
                    member: n.member && o.member,
                    children: n.children.intersection(&o.children),
                };
                if !node.is_empty() {
                    out.nodes.insert(pe.clone(), node);
                }
            }
        }
        out
    }

    /// Drops every path at or below `prefix`.
    pub fn remove_subtree(&mut self, prefix: &[PathElement]) {
        let Some((first, rest)) = prefix.split_first() else {
            self.nodes.clear();
            return;
        };
        if rest.is_empty() {
            self.nodes.remove(first);
            return;
        }
        if let Some(n) = self.nodes.get_mut(first) {
            n.children.remove_subtree(rest);
            if n.is_empty() {
                self.nodes.remove(first);
            }
        }
    }

    /// Keeps only the paths at or below `prefix`.
    pub fn retain_subtree(&mut self, prefix: &PathElement) {
        self.nodes.retain(|pe, _| pe == prefix);
    }

    /// Every member path, the members of each level before the levels below, in order.
    pub fn paths(&self) -> Vec<Path> {
        let mut out = Vec::new();
        self.collect(&mut Vec::new(), &mut out);
        out
    }

    fn collect(&self, prefix: &mut Path, out: &mut Vec<Path>) {
        for (pe, n) in &self.nodes {
            if n.member {
                let mut p = prefix.clone();
                p.push(pe.clone());
                out.push(p);
            }
        }
        for (pe, n) in &self.nodes {
            if !n.children.is_empty() {
                prefix.push(pe.clone());
                n.children.collect(prefix, out);
                prefix.pop();
            }
        }
    }

    /// The `FieldsV1` JSON form.
    pub fn to_fields_v1(&self) -> Value {
        let mut m = Map::new();
        self.write_fields(&mut m);
        Value::Object(m)
    }

    fn write_fields(&self, out: &mut Map<String, Value>) {
        for (pe, n) in &self.nodes {
            let mut child = Map::new();
            if !n.children.is_empty() {
                if n.member {
                    child.insert(".".into(), Value::Object(Map::new()));
                }
                n.children.write_fields(&mut child);
            }
            out.insert(pe.fields_key(), Value::Object(child));
        }
    }

    /// Parses the `FieldsV1` JSON form.
    pub fn from_fields_v1(v: &Value) -> Result<Set, String> {
        let Value::Object(m) = v else {
            return Err("FieldsV1 must be an object".into());
        };
        let mut set = Set::new();
        for (k, child) in m {
            if k == "." {
                continue;
            }
            let pe = PathElement::parse_fields_key(k)?;
            let Value::Object(cm) = child else {
                return Err(format!("the value of {k:?} must be an object"));
            };
            let node = if cm.is_empty() {
                Node {
                    member: true,
                    children: Set::new(),
                }
            } else {
                Node {
                    member: cm.contains_key("."),
                    children: Set::from_fields_v1(child)?,
                }
            };
            if !node.is_empty() {
                set.nodes.insert(pe, node);
            }
        }
        Ok(set)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn f(n: &str) -> PathElement {
        PathElement::Field(n.into())
    }

    #[test]
    fn fields_v1_round_trip_with_self_marker() {
        let v = json!({"f:data": {".": {}, "f:a": {}}, "f:spec": {"f:containers": {
            "k:{\"name\":\"nginx\"}": {".": {}, "f:image": {}}}}});
        let s = Set::from_fields_v1(&v).expect("parses");
        assert!(s.has(&[f("data")]));
        assert!(s.has(&[f("data"), f("a")]));
        assert!(!s.has(&[f("spec")]));
        let key = PathElement::Key(vec![("name".into(), json!("nginx"))]);
        assert!(s.has(&[f("spec"), f("containers"), key.clone()]));
        assert_eq!(s.to_fields_v1(), v);
        assert_eq!(
            serde_json::to_string(&s.to_fields_v1()).expect("json"),
            r#"{"f:data":{".":{},"f:a":{}},"f:spec":{"f:containers":{"k:{\"name\":\"nginx\"}":{".":{},"f:image":{}}}}}"#
        );
        assert_eq!(
            path_string(&[f("spec"), f("containers"), key, f("image")]),
            ".spec.containers[name=\"nginx\"].image"
        );
    }

    #[test]
    fn keys_sort_and_print() {
        let k = PathElement::parse_fields_key(r#"k:{"protocol":"TCP","containerPort":80}"#)
            .expect("key");
        assert_eq!(k.fields_key(), r#"k:{"containerPort":80,"protocol":"TCP"}"#);
        assert_eq!(k.to_string(), r#"[containerPort=80,protocol="TCP"]"#);
        assert_eq!(
            PathElement::Value(json!("a")).fields_key(),
            r#"v:"a""#.to_string()
        );
        assert_eq!(PathElement::Value(json!("a")).to_string(), r#"[="a"]"#);
        assert_eq!(PathElement::Index(3).fields_key(), "i:3");
        assert!(PathElement::parse_fields_key("x:1").is_err());
        assert!(PathElement::parse_fields_key("k:[]").is_err());
        assert!(Set::from_fields_v1(&json!({"f:a": 1})).is_err());
    }

    #[test]
    fn element_order_fields_keys_values_indexes() {
        let mut v = [
            PathElement::Index(0),
            PathElement::Value(json!("x")),
            PathElement::Value(json!(1)),
            PathElement::Key(vec![("name".into(), json!("a"))]),
            f("b"),
            f("a"),
        ];
        v.sort();
        let keys: Vec<String> = v.iter().map(PathElement::fields_key).collect();
        assert_eq!(
            keys,
            vec!["f:a", "f:b", r#"k:{"name":"a"}"#, "v:1", r#"v:"x""#, "i:0"]
        );
    }

    #[test]
    fn set_algebra() {
        let mut a = Set::new();
        a.insert(&[f("data"), f("x")]);
        a.insert(&[f("data"), f("y")]);
        a.insert(&[f("data")]);
        let mut b = Set::new();
        b.insert(&[f("data"), f("y")]);
        let d = a.difference(&b);
        assert!(d.has(&[f("data")]) && d.has(&[f("data"), f("x")]));
        assert!(!d.has(&[f("data"), f("y")]));
        let i = a.intersection(&b);
        assert_eq!(i.paths(), vec![vec![f("data"), f("y")]]);
        assert_eq!(a.union(&b), a);
        assert_eq!(
            a.paths(),
            vec![
                vec![f("data")],
                vec![f("data"), f("x")],
                vec![f("data"), f("y")]
            ]
        );
        let mut r = a.clone();
        r.remove_subtree(&[f("data"), f("x")]);
        assert!(!r.has(&[f("data"), f("x")]) && r.has(&[f("data")]));
        r.remove_subtree(&[f("data")]);
        assert!(r.is_empty());
    }

    fn arb_path() -> impl Strategy<Value = Path> {
        let pe = prop_oneof![
            "[a-c]{1,2}".prop_map(PathElement::Field),
            (0usize..3).prop_map(PathElement::Index),
            "[a-b]".prop_map(|s| PathElement::Value(Value::String(s))),
            (0i64..3).prop_map(|n| PathElement::Key(vec![("name".into(), json!(n))])),
        ];
        prop::collection::vec(pe, 1..4)
    }

    fn arb_set() -> impl Strategy<Value = Set> {
        prop::collection::vec(arb_path(), 0..8).prop_map(|paths| {
            let mut s = Set::new();
            for p in paths {
                s.insert(&p);
            }
            s
        })
    }

    proptest! {
        #[test]
        fn fields_v1_round_trips(s in arb_set()) {
            let v = s.to_fields_v1();
            prop_assert_eq!(Set::from_fields_v1(&v).expect("parses"), s);
        }

        #[test]
        fn algebra_matches_membership(a in arb_set(), b in arb_set(), p in arb_path()) {
            prop_assert_eq!(a.union(&b).has(&p), a.has(&p) || b.has(&p));
            prop_assert_eq!(a.intersection(&b).has(&p), a.has(&p) && b.has(&p));
            prop_assert_eq!(a.difference(&b).has(&p), a.has(&p) && !b.has(&p));
            let mut in_place = a.clone();
            in_place.subtract(&b);
            prop_assert_eq!(&in_place, &a.difference(&b));
            for q in a.paths() {
                prop_assert!(a.has(&q));
            }
        }
    }
}
