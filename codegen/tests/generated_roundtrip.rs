//! Property test of the generated codecs: for every kind of `kiln_generated::REGISTRY`
//! that has a codec (resources and subresources, once per definition), random values
//! built from the published spec (`schemas/v1.NN/swagger.json`) must
//!
//! 1. normalise (`normalize_value`) without error and without losing or changing
//!    anything (the generator writes only canonical forms, so the result equals the input
//!    as content), except that the fields Go always writes are there, at zero (`{}`,
//!    `null`, `0`, `""`) where the input had none (D37);
//! 2. be stable: normalising the result again gives the same value, byte for byte once
//!    serialised;
//! 3. come out with every object's keys in the generated struct's order (the type model's
//!    Go struct order) and every map's keys sorted;
//! 4. survive protobuf: `from_protobuf(to_protobuf(n)) == n`, key order included.
//!
//! Zero values (chosen approach: the generator avoids them, comparisons stay exact). Go's
//! protobuf writes a non-pointer scalar field even at its zero value and its JSON leaves
//! one with `omitempty` out, so around `""`, `0` and `false` a round trip may drop or add
//! a field depending on how the generated code models Go's pointers. So that this test
//! holds whichever way the generated code treats those, the value generator never writes
//! a zero scalar into a struct field, nor an empty list or map (strings are non-empty,
//! integers and doubles non-zero, booleans `true`, quantities non-zero, times after
//! 1970), and always writes the fields Go always writes (the spec's `required` plus the
//! `"value"` entries of `schemas/overlay/go-pointers.json`). Zero and empty values still
//! occur where they are content, not field defaults: `false` as a `JSONSchemaPropsOrBool`,
//! empty objects (`emptyDir: {}`, a struct whose fields were all left out) and inside
//! free-form JSON. `generated_realistic.rs` checks zero values against Go itself.
//!
//! Canonical forms: times are RFC 3339 UTC (seconds; six digits for MicroTime), bytes
//! standard base64, integral doubles without a fraction (as Go writes a float64), quantities the form kiln-runtime's parser writes back (whether that
//! is Go's canonical form is checked against kubectl in `generated_realistic.rs`).
//!
//! Strategies are built at run time by walking the spec: `$ref`s, arrays, maps
//! (`additionalProperties`), the special apimachinery types (Quantity, Time, MicroTime,
//! IntOrString, RawExtension, FieldsV1, apiextensions JSON and the JSONSchemaProps
//! unions), `format: byte`, int32/int64. Size is bounded by a nesting limit and by
//! including fewer optional fields the deeper a struct sits.
//!
//! `KILN_PROPTEST_CASES` sets the cases per kind (default 64); `KILN_PROPTEST_KINDS`
//! restricts the run to definitions containing that string.

mod generated_support;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use base64::Engine as _;
use generated_support::{
    JSON_SCHEMA_PROPS, Kind, always_written, check_order, kinds, missing_value_structs, ref_name,
    rfc3339, spec, special, without_non_proto_fields,
};
use proptest::prelude::*;
use proptest::strategy::BoxedStrategy;
use proptest::test_runner::{Config, TestError, TestRunner};
use serde_json::{Map, Value};

/// Structs nested this deep get no optional fields (only the ones Go always writes).
const MAX_DEPTH: usize = 9;
/// Structs nested this deep are `{}` (a backstop: chains of required structs end sooner).
const HARD_DEPTH: usize = MAX_DEPTH + 6;

/// Expected number of optional fields included per struct at each depth (the
/// inclusion probability is this over the number of fields, at most [`MAX_P`]).
const FIELDS_PER_DEPTH: [f64; MAX_DEPTH] = [6.0, 6.0, 4.0, 3.0, 2.5, 2.0, 1.5, 1.2, 1.0];
const MAX_P: f64 = 0.7;

/// Definitions whose depth restarts at the given value: a CRD's `openAPIV3Schema` sits
/// five structs down, where few fields are left, but nested JSONSchemaProps (with their
/// bool-or-schema, schema-or-array and free-form JSON members) are what most needs
/// exercising in a CRD.
const DEPTH_RESET: &[(&str, usize)] = &[(
    "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceValidation",
    1,
)];

struct Gen<'a> {
    defs: &'a Map<String, Value>,
    cache: HashMap<(String, usize), BoxedStrategy<Value>>,
}

impl<'a> Gen<'a> {
    fn new(defs: &'a Map<String, Value>) -> Self {
        Gen {
            defs,
            cache: HashMap::new(),
        }
    }

    fn def(&mut self, name: &str, depth: usize) -> BoxedStrategy<Value> {
        let depth = DEPTH_RESET
            .iter()
            .find(|(d, _)| *d == name)
            .map_or(depth, |(_, reset)| depth.min(*reset));
        if let Some(s) = self.cache.get(&(name.to_string(), depth)) {
            return s.clone();
        }
        let s = match special(name) {
            Some("Quantity") => quantity(),
            Some("Time") => time(false),
            Some("MicroTime") => time(true),
            Some("IntOrString") => int_or_string(),
            Some("RawExtension" | "FieldsV1" | "Patch") => free_object(),
            Some("JSON") => free_json(),
            Some("JSONSchemaPropsOrBool") => {
                let schema = self.def(JSON_SCHEMA_PROPS, depth);
                prop_oneof![any::<bool>().prop_map(Value::Bool), schema].boxed()
            }
            Some("JSONSchemaPropsOrArray") => {
                let schema = self.def(JSON_SCHEMA_PROPS, depth);
                prop_oneof![
                    schema.clone(),
                    prop::collection::vec(schema, 1..=2).prop_map(Value::Array)
                ]
                .boxed()
            }
            Some("JSONSchemaPropsOrStringArray") => {
                let schema = self.def(JSON_SCHEMA_PROPS, depth);
                prop_oneof![
                    schema,
                    prop::collection::vec(string(), 1..=2).prop_map(Value::Array)
                ]
                .boxed()
            }
            Some(other) => panic!("no generator for special type {other}"),
            None => self.object(name, depth),
        };
        self.cache.insert((name.to_string(), depth), s.clone());
        s
    }

    fn object(&mut self, name: &str, depth: usize) -> BoxedStrategy<Value> {
        let defs = self.defs;
        let def = defs
            .get(name)
            .unwrap_or_else(|| panic!("{name} is not a definition of the spec"));
        let Some(Value::Object(props)) = def.get("properties") else {
            // Property-less structs (`CustomResourceSubresourceStatus`): `{}`.
            return Just(Value::Object(Map::new())).boxed();
        };
        if depth >= HARD_DEPTH {
            return Just(Value::Object(Map::new())).boxed();
        }
        // Optional fields get rarer with depth and stop at MAX_DEPTH; fields Go always
        // writes are always there, so that a round trip cannot add them as zero values.
        let p = FIELDS_PER_DEPTH
            .get(depth)
            .map_or(0.0, |n| (n / props.len() as f64).min(MAX_P));
        let mut fields: Vec<BoxedStrategy<Option<(String, Value)>>> = Vec::new();
        // Spec order (alphabetical), so normalisation has to reorder.
        for (key, schema) in props {
            let always = always_written(name, key);
            if !always && p == 0.0 {
                continue;
            }
            let key = key.clone();
            let inner = self
                .schema(schema, depth + 1)
                .prop_map(move |v| (key.clone(), v));
            let field = if always {
                inner.prop_map(Some).boxed()
            } else {
                prop::option::weighted(p, inner).boxed()
            };
            fields.push(field);
        }
        fields
            .prop_map(|fs| Value::Object(fs.into_iter().flatten().collect()))
            .boxed()
    }

    fn schema(&mut self, schema: &Value, depth: usize) -> BoxedStrategy<Value> {
        if let Some(name) = ref_name(schema) {
            return self.def(name, depth);
        }
        let ty = schema.get("type").and_then(Value::as_str);
        let format = schema.get("format").and_then(Value::as_str);
        match (ty, format) {
            (Some("string"), Some("byte")) => bytes(),
            (Some("string"), _) => string(),
            (Some("integer"), Some("int32")) => int32(),
            (Some("integer"), _) => int64(),
            (Some("number"), _) => double(),
            (Some("boolean"), _) => Just(Value::Bool(true)).boxed(),
            (Some("array"), _) => {
                let items = self.schema(&schema["items"], depth);
                prop::collection::vec(items, 1..=2)
                    .prop_map(Value::Array)
                    .boxed()
            }
            (Some("object"), _) if schema.get("additionalProperties").is_some() => {
                let values = self.schema(&schema["additionalProperties"], depth);
                prop::collection::vec((map_key(), values), 1..=2)
                    .prop_map(|entries| Value::Object(entries.into_iter().collect()))
                    .boxed()
            }
            _ => panic!("no generator for schema {schema}"),
        }
    }
}

fn string() -> BoxedStrategy<Value> {
    prop_oneof![
        6 => "[a-z][a-z0-9.-]{0,10}",
        2 => "[ -~]{1,12}",
        1 => "\\PC{1,6}",
    ]
    .prop_map(Value::String)
    .boxed()
}

fn map_key() -> BoxedStrategy<String> {
    prop_oneof!["[a-z][a-z0-9-]{0,8}", "[a-z]{1,4}\\.[a-z]{2,4}/[a-z]{1,6}"].boxed()
}

fn int32() -> BoxedStrategy<Value> {
    prop_oneof![
        3 => 1..=1000i32,
        1 => -1000..=-1i32,
        1 => any::<i32>().prop_filter("non-zero", |i| *i != 0),
    ]
    .prop_map(Value::from)
    .boxed()
}

fn int64() -> BoxedStrategy<Value> {
    prop_oneof![
        3 => 1..=100_000i64,
        1 => -1000..=-1i64,
        1 => any::<i64>().prop_filter("non-zero", |i| *i != 0),
    ]
    .prop_map(Value::from)
    .boxed()
}

/// A float64 in Go's JSON form: an integral value is written without a fraction (D37).
fn double() -> BoxedStrategy<Value> {
    prop_oneof![
        (1..=400i32).prop_map(|i| f64::from(i) / 4.0),
        prop::num::f64::NORMAL,
    ]
    .prop_map(|f| {
        if f.fract() == 0.0 && f.abs() < 9e18 {
            Value::from(f as i64)
        } else {
            Value::from(f)
        }
    })
    .boxed()
}

fn bytes() -> BoxedStrategy<Value> {
    prop::collection::vec(any::<u8>(), 1..16)
        .prop_map(|b| Value::String(base64::engine::general_purpose::STANDARD.encode(b)))
        .boxed()
}

/// A non-zero quantity in its canonical form (the form normalisation keeps). A fraction of
/// a binary unit that is a whole number (`687.5Ki` = 704000) is written as plain digits,
/// as kube-apiserver writes it, and those read back as a decimal quantity (`704k`): the
/// generator takes the form a second read gives, which a third keeps.
fn quantity() -> BoxedStrategy<Value> {
    const SUFFIXES: &[&str] = &[
        "", "n", "u", "m", "k", "M", "G", "T", "Ki", "Mi", "Gi", "Ti", "e3", "e-2", "E6",
    ];
    (
        any::<bool>(),
        1..=999_999u32,
        prop::option::of(1..=99u32),
        prop::sample::select(SUFFIXES),
    )
        .prop_map(|(neg, int, frac, suffix)| {
            let sign = if neg { "-" } else { "" };
            let frac = frac.map(|f| format!(".{f}")).unwrap_or_default();
            let text = format!("{sign}{int}{frac}{suffix}");
            let read = |t: &str| {
                kiln_runtime::Quantity::parse(t)
                    .unwrap_or_else(|e| panic!("generated quantity {t:?}: {e}"))
                    .to_string()
            };
            Value::String(read(&read(&text)))
        })
        .boxed()
}

/// RFC 3339 in UTC, second precision (`Time`) or microseconds (`MicroTime`), between
/// 1971 and 2100. Formatted here rather than by kiln-runtime, so the test does not
/// trust the code under test to build its inputs.
fn time(micro: bool) -> BoxedStrategy<Value> {
    (31_536_000i64..4_102_444_800, 0..1_000_000u32)
        .prop_map(move |(secs, micros)| Value::String(rfc3339(secs, micro.then_some(micros))))
        .boxed()
}

fn int_or_string() -> BoxedStrategy<Value> {
    prop_oneof![
        int32(),
        "[a-z][a-z0-9-]{0,8}".prop_map(Value::String),
        (1..=100u32).prop_map(|p| Value::String(format!("{p}%"))),
    ]
    .boxed()
}

/// Free-form JSON (apiextensions `JSON`): any value but `null` at the top, which Go
/// reads as "absent".
fn free_json() -> BoxedStrategy<Value> {
    json_value(true)
        .prop_filter("not null", |v| !v.is_null())
        .boxed()
}

/// Free-form JSON objects (`RawExtension`, `FieldsV1`).
fn free_object() -> BoxedStrategy<Value> {
    prop::collection::vec((map_key(), json_value(true)), 0..=3)
        .prop_map(|e| Value::Object(e.into_iter().collect()))
        .boxed()
}

fn json_value(nested: bool) -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (-400..=400i32).prop_map(|i| Value::from(f64::from(i) / 8.0)),
        "\\PC{0,8}".prop_map(Value::String),
    ];
    if !nested {
        return leaf.boxed();
    }
    prop_oneof![
        3 => leaf,
        1 => prop::collection::vec(json_value(false), 0..=3).prop_map(Value::Array),
        1 => prop::collection::vec((map_key(), json_value(false)), 0..=3)
            .prop_map(|e| Value::Object(e.into_iter().collect())),
    ]
    .boxed()
}

/// The property, for one value of one kind.
fn check(kind: &Kind, v: &Value) -> Result<(), String> {
    let codec = kind.codec;
    let n = (codec.normalize_value)(v.clone()).map_err(|e| format!("normalize_value: {e}"))?;
    // Normalising adds the struct fields Go holds by value, at zero where absent (D37);
    // nothing else may change.
    let missing = missing_value_structs(&n, kind.definition);
    if !missing.is_empty() {
        return Err(format!(
            "normalisation left out struct fields Go always writes: {missing:?}\n  out: {n}"
        ));
    }
    let kept = without_added_zeros(&n, v);
    if &kept != v {
        return Err(format!(
            "normalisation changed the content:\n  in:  {v}\n  out: {n}\n  diff: {}",
            diff(v, &kept, "")
        ));
    }
    let again = (codec.normalize_value)(n.clone())
        .map_err(|e| format!("normalize_value of its own output: {e}"))?;
    let (n_text, again_text) = (n.to_string(), again.to_string());
    if n_text != again_text {
        return Err(format!(
            "normalisation is not stable:\n  first:  {n_text}\n  second: {again_text}"
        ));
    }
    check_order(&n, kind.definition).map_err(|e| format!("field order: {e}\n  value: {n_text}"))?;
    let pb = (codec.to_protobuf)(&n).map_err(|e| format!("to_protobuf: {e}\n  value: {n_text}"))?;
    let back = (codec.from_protobuf)(&pb)
        .map_err(|e| format!("from_protobuf of our own encoding: {e}\n  value: {n_text}"))?;
    // TypeMeta (`apiVersion`, `kind`) travels in the envelope, not in the message.
    let expected = without_non_proto_fields(&n, kind.definition);
    // Compared serialised, so key order counts too (`Value`'s `==` ignores it).
    let (got, want) = (back.to_string(), expected.to_string());
    if got != want {
        return Err(format!(
            "protobuf round trip changed the value:\n  before: {expected}\n  after:  {back}\n  diff: {}",
            diff(&expected, &back, "")
        ));
    }
    Ok(())
}

/// `n` without the members it has and `v` lacks whose value is Go's zero (`null`, `false`,
/// `0`, `""`, or an object of such): what normalising may add (D37), and nothing else.
fn without_added_zeros(n: &Value, v: &Value) -> Value {
    fn is_go_zero(x: &Value) -> bool {
        match x {
            Value::Null => true,
            Value::Bool(b) => !*b,
            Value::Number(n) => n.as_f64() == Some(0.0),
            Value::String(s) => s.is_empty(),
            Value::Object(m) => m.values().all(is_go_zero),
            Value::Array(_) => false,
        }
    }
    match (n, v) {
        (Value::Object(nm), Value::Object(vm)) => Value::Object(
            nm.iter()
                .filter_map(|(k, nv)| match vm.get(k) {
                    Some(vv) => Some((k.clone(), without_added_zeros(nv, vv))),
                    None if is_go_zero(nv) => None,
                    None => Some((k.clone(), nv.clone())),
                })
                .collect(),
        ),
        (Value::Array(na), Value::Array(va)) if na.len() == va.len() => Value::Array(
            na.iter()
                .zip(va)
                .map(|(a, b)| without_added_zeros(a, b))
                .collect(),
        ),
        _ => n.clone(),
    }
}

/// The first difference between two values, with its path.
fn diff(a: &Value, b: &Value, path: &str) -> String {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, va) in x {
                match y.get(k) {
                    None => return format!("{path}.{k}: {va} became absent"),
                    Some(vb) if va != vb => return diff(va, vb, &format!("{path}.{k}")),
                    _ => {}
                }
            }
            for (k, vb) in y {
                if !x.contains_key(k) {
                    return format!("{path}.{k}: absent became {vb}");
                }
            }
            format!(
                "{path}: same content, key order {:?} vs {:?}",
                x.keys().collect::<Vec<_>>(),
                y.keys().collect::<Vec<_>>()
            )
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (va, vb)) in x.iter().zip(y).enumerate() {
                if va != vb {
                    return diff(va, vb, &format!("{path}[{i}]"));
                }
            }
            format!("{path}: equal arrays")
        }
        _ => format!("{path}: {a} became {b}"),
    }
}

#[test]
fn every_kind_round_trips_through_json_and_protobuf() {
    let start = Instant::now();
    let cases: u32 = std::env::var("KILN_PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(64);
    let filter = std::env::var("KILN_PROPTEST_KINDS").unwrap_or_default();
    let spec = spec();
    let all: Vec<Kind> = kinds()
        .into_iter()
        .filter(|k| k.definition.contains(&filter))
        .collect();
    assert!(!all.is_empty(), "no kinds with codecs (filter {filter:?})");
    // `KILN_PROPTEST_SAMPLE=.Pod` prints the values generated for definitions ending so.
    let sample = std::env::var("KILN_PROPTEST_SAMPLE").ok();
    let bytes = AtomicUsize::new(0);
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(4);
    let failures: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let mine: Vec<&Kind> = all.iter().skip(t).step_by(threads).collect();
                let (sample, bytes) = (&sample, &bytes);
                s.spawn(move || {
                    let mut generator = Gen::new(&spec.defs);
                    let mut failures = Vec::new();
                    for kind in mine {
                        let strategy = generator.def(kind.definition, 0);
                        let config = Config {
                            cases,
                            max_shrink_iters: 200,
                            failure_persistence: None,
                            ..Config::default()
                        };
                        let mut runner = TestRunner::new(config);
                        let result = runner.run(&strategy, |v| {
                            if let Some(sample) = &sample
                                && kind.definition.ends_with(sample.as_str())
                            {
                                eprintln!("{}: {v}", kind.definition);
                            }
                            bytes.fetch_add(v.to_string().len(), Ordering::Relaxed);
                            check(kind, &v).map_err(proptest::test_runner::TestCaseError::fail)
                        });
                        match result {
                            Ok(()) => {}
                            Err(TestError::Fail(why, v)) => failures.push(format!(
                                "{} ({} {}): {why}\n  minimal input: {v}",
                                kind.definition, kind.api_version, kind.kind
                            )),
                            Err(TestError::Abort(why)) => {
                                failures.push(format!("{}: aborted: {why}", kind.definition))
                            }
                        }
                    }
                    failures
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("worker panicked"))
            .collect()
    });
    eprintln!(
        "{} kinds x {cases} cases, {} KB of JSON, in {:.1} s on {threads} threads",
        all.len(),
        bytes.load(Ordering::Relaxed) / 1000,
        start.elapsed().as_secs_f64()
    );
    assert!(
        failures.is_empty(),
        "{} of {} kinds failed:\n\n{}",
        failures.len(),
        all.len(),
        failures.join("\n\n")
    );
}

/// The property is not vacuous: it notices a value that normalisation changes, keys out
/// of struct order, and a field protobuf cannot carry.
#[test]
fn the_property_catches_differences() {
    let pod = kinds()
        .into_iter()
        .find(|k| k.definition == "io.k8s.api.core.v1.Pod")
        .expect("Pod in the registry");
    let ok = serde_json::json!({"spec": {"containers": [{"name": "a", "resources": {"limits": {"cpu": "1500m"}}}]}});
    assert_eq!(check(&pod, &ok), Ok(()));
    let not_canonical = serde_json::json!({"spec": {"containers": [{"name": "a", "resources": {"limits": {"cpu": "1.5"}}}]}});
    let err = check(&pod, &not_canonical).expect_err("1.5 is written 1500m");
    assert!(err.contains("normalisation changed"), "{err}");
    let misordered = serde_json::json!({"spec": {}, "metadata": {"name": "a"}});
    let err = check_order(&misordered, pod.definition).expect_err("metadata comes before spec");
    assert!(err.contains("\"metadata\" comes after \"spec\""), "{err}");
    let stripped = without_non_proto_fields(
        &serde_json::json!({"kind": "Pod", "metadata": {}}),
        pod.definition,
    );
    assert_eq!(stripped, serde_json::json!({"metadata": {}}));
}
