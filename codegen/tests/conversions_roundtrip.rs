//! Property tests of the generated version conversions (`kiln_generated::CONVERSIONS`):
//! for every kind served in several versions (or groups), random objects of every
//! non-hub version, built from the published spec and normalised through the version's
//! codec,
//!
//! 1. round-trip `v → hub → v` without losing or changing anything, and
//! 2. `a → hub → b → hub → a` (for each other non-hub version `b`) preserves `a`'s content,
//!
//! up to what kube-apiserver itself changes on the way, applied to the input before the
//! comparison: an autoscaling/v1 HPA without a CPU target gets the implied 80 %, and
//! reading an HPA back as v1 writes the round-trip annotations (compared without them;
//! a second round trip must then be exact).
//!
//! `KILN_PROPTEST_CASES` sets the cases per version pair (default 64).

mod generated_support;

use generated_support::{always_written, ref_name, spec, special};
use kiln_runtime::conversions::{self, KindConversions, VersionConversion};
use kiln_runtime::registry::ResourceInfo;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Map, Value, json};

/// A small deterministic generator (xorshift), seeded by proptest.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, p: f64) -> bool {
        (self.next() % 10_000) as f64 / 10_000.0 < p
    }
    fn word(&mut self) -> String {
        const A: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
        let n = 1 + self.below(8) as usize;
        let mut s = String::from("k");
        for _ in 0..n {
            s.push(A[self.below(A.len() as u64) as usize] as char);
        }
        s
    }
}

const MAX_DEPTH: usize = 8;

/// A random instance of definition `def`: no zero scalars, no empty lists or maps (Go
/// would drop them), the fields Go always writes always present.
fn value_of(rng: &mut Rng, def: &str, depth: usize) -> Value {
    match special(def) {
        Some("Quantity") => {
            let q = ["1", "500Mi", "100m", "2Gi", "3"];
            return json!(q[rng.below(q.len() as u64) as usize]);
        }
        Some("Time") => return json!(format!("2026-01-{:02}T00:00:00Z", 1 + rng.below(28))),
        Some("MicroTime") => {
            return json!(format!("2026-01-{:02}T00:00:00.000001Z", 1 + rng.below(28)));
        }
        Some("IntOrString") => {
            return if rng.chance(0.5) {
                json!(1 + rng.below(100))
            } else {
                json!(format!("{}%", 1 + rng.below(100)))
            };
        }
        Some(_) => return json!({"a": rng.word()}),
        None => {}
    }
    let defs = &spec().defs;
    let Some(Value::Object(props)) = defs.get(def).and_then(|d| d.get("properties")) else {
        return json!({});
    };
    let p = if depth >= MAX_DEPTH {
        0.0
    } else {
        (5.0 / props.len() as f64).min(0.8)
    };
    let mut out = Map::new();
    for (key, schema) in props {
        if key == "apiVersion" || key == "kind" {
            continue;
        }
        if always_written(def, key) || rng.chance(p) {
            out.insert(key.clone(), value_of_schema(rng, schema, depth + 1));
        }
    }
    Value::Object(out)
}

fn value_of_schema(rng: &mut Rng, schema: &Value, depth: usize) -> Value {
    if let Some(name) = ref_name(schema) {
        return value_of(rng, name, depth);
    }
    let ty = schema.get("type").and_then(Value::as_str);
    let format = schema.get("format").and_then(Value::as_str);
    match (ty, format) {
        (Some("string"), Some("byte")) => json!("aGVsbG8="),
        (Some("string"), _) => json!(rng.word()),
        (Some("integer"), _) => json!(1 + rng.below(1000)),
        (Some("number"), _) => json!(0.5 + rng.below(10) as f64),
        (Some("boolean"), _) => json!(true),
        (Some("array"), _) => Value::Array(
            (0..1 + rng.below(2))
                .map(|_| value_of_schema(rng, &schema["items"], depth))
                .collect(),
        ),
        (Some("object"), _) if schema.get("additionalProperties").is_some() => Value::Object(
            (0..1 + rng.below(2))
                .map(|_| {
                    (
                        rng.word(),
                        value_of_schema(rng, &schema["additionalProperties"], depth),
                    )
                })
                .collect(),
        ),
        _ => json!({"a": 1}),
    }
}

fn resource(group: &str, version: &str, plural: &str) -> &'static ResourceInfo {
    kiln_generated::REGISTRY
        .iter()
        .find(|g| g.name == group)
        .and_then(|g| g.versions.iter().find(|v| v.version == version))
        .and_then(|v| v.resources.iter().find(|r| r.plural == plural))
        .unwrap_or_else(|| panic!("no {group}/{version} {plural}"))
}

fn normalize(r: &ResourceInfo, mut v: Value) -> Result<Value, String> {
    if let Value::Object(m) = &mut v {
        m.insert("apiVersion".into(), json!(r.group_version()));
        m.insert("kind".into(), json!(r.kind));
    }
    let codec = r.codec.ok_or("no codec")?;
    (codec.normalize_value)(v).map_err(|e| e.to_string())
}

fn to_hub(f: &KindConversions, v: &VersionConversion, obj: &Value) -> Result<Value, String> {
    let hub = resource(f.hub_group, f.hub_version, f.hub_resource);
    let map = v.to_hub.ok_or("hub")?;
    normalize(
        hub,
        conversions::convert(map, obj).map_err(|e| e.to_string())?,
    )
}

fn from_hub(_f: &KindConversions, v: &VersionConversion, obj: &Value) -> Result<Value, String> {
    let r = resource(v.group, v.version, v.resource);
    let map = v.from_hub.ok_or("hub")?;
    normalize(
        r,
        conversions::convert(map, obj).map_err(|e| e.to_string())?,
    )
}

const HPA_ANNOTATIONS: [&str; 4] = [
    "autoscaling.alpha.kubernetes.io/metrics",
    "autoscaling.alpha.kubernetes.io/current-metrics",
    "autoscaling.alpha.kubernetes.io/conditions",
    "autoscaling.alpha.kubernetes.io/behavior",
];

fn is_hpa_v1(v: &VersionConversion) -> bool {
    v.group == "autoscaling" && v.version == "v1"
}

/// What kube-apiserver makes of `obj` on the way, applied up front.
fn expected(v: &VersionConversion, obj: &Value) -> Value {
    let mut obj = obj.clone();
    if is_hpa_v1(v)
        && let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut)
        && !spec.contains_key("targetCPUUtilizationPercentage")
    {
        spec.insert("targetCPUUtilizationPercentage".into(), json!(80));
    }
    obj
}

/// `obj` without what only appears on the way back (the HPA round-trip annotations).
fn comparable(v: &VersionConversion, obj: &Value) -> Value {
    let mut obj = obj.clone();
    if is_hpa_v1(v)
        && let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut)
    {
        if let Some(Value::Object(ann)) = meta.get_mut("annotations") {
            for k in HPA_ANNOTATIONS {
                ann.shift_remove(k);
            }
            if ann.is_empty() {
                meta.shift_remove("annotations");
            }
        }
        if meta.is_empty()
            && let Value::Object(m) = &mut obj
        {
            m.shift_remove("metadata");
        }
    }
    obj
}

fn cases() -> u32 {
    std::env::var("KILN_PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(64)
}

fn run_property(name: &str, check: impl Fn(&mut Rng) -> Result<(), String>) -> Result<(), String> {
    let mut runner = TestRunner::new(Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&any::<u64>(), |seed| {
            let mut rng = Rng(seed | 1);
            check(&mut rng).map_err(|e| TestCaseError::fail(format!("{name}: {e}")))
        })
        .map_err(|e| e.to_string())
}

fn non_hub(f: &KindConversions) -> impl Iterator<Item = &VersionConversion> {
    f.versions.iter().filter(|v| !v.is_hub())
}

fn random_object(rng: &mut Rng, v: &VersionConversion) -> Result<Value, String> {
    let r = resource(v.group, v.version, v.resource);
    let raw = value_of(rng, r.definition, 0);
    normalize(r, raw)
}

#[test]
fn every_version_round_trips_through_its_hub() {
    assert!(!kiln_generated::CONVERSIONS.is_empty());
    let mut failures = Vec::new();
    for f in kiln_generated::CONVERSIONS {
        for v in non_hub(f) {
            let name = format!("{}/{} {} via {}", v.group, v.version, v.kind, f.hub_version);
            let res = run_property(&name, |rng| {
                let obj = random_object(rng, v)?;
                let once = from_hub(f, v, &to_hub(f, v, &obj)?)?;
                let want = comparable(v, &expected(v, &obj));
                if comparable(v, &once) != want {
                    return Err(format!("\n  in:   {obj}\n  back: {once}"));
                }
                let twice = from_hub(f, v, &to_hub(f, v, &once)?)?;
                if twice != once {
                    return Err(format!("second round trip differs:\n  {once}\n  {twice}"));
                }
                Ok(())
            });
            if let Err(e) = res {
                failures.push(e);
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_version_survives_a_trip_through_another() {
    let mut failures = Vec::new();
    let mut pairs = 0;
    for f in kiln_generated::CONVERSIONS {
        for a in non_hub(f) {
            for b in non_hub(f).filter(|b| b.version != a.version || b.group != a.group) {
                pairs += 1;
                let name = format!(
                    "{} {} → {} → {}",
                    a.kind, a.version, f.hub_version, b.version
                );
                let res = run_property(&name, |rng| {
                    let obj = random_object(rng, a)?;
                    let as_b = from_hub(f, b, &to_hub(f, a, &obj)?)?;
                    let back = from_hub(f, a, &to_hub(f, b, &as_b)?)?;
                    if comparable(a, &back) != comparable(a, &expected(a, &obj)) {
                        return Err(format!("\n  in:   {obj}\n  back: {back}"));
                    }
                    Ok(())
                });
                if let Err(e) = res {
                    failures.push(e);
                }
            }
        }
    }
    assert!(pairs > 0, "no kind has two non-hub versions");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn hpa_v1_keeps_v2_only_content_in_annotations() {
    let f = kiln_generated::CONVERSIONS
        .iter()
        .find(|f| f.hub_group == "autoscaling")
        .expect("HPA conversions");
    let v1 = f.version("autoscaling", "v1").expect("v1");
    let hub = json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "h"},
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "maxReplicas": 4,
            "metrics": [{"type": "Pods", "pods": {"metric": {"name": "qps"}, "target": {"type": "AverageValue", "averageValue": "10"}}}],
            "behavior": {"scaleUp": {"stabilizationWindowSeconds": 10}}}});
    let hub = normalize(
        resource("autoscaling", "v2", "horizontalpodautoscalers"),
        hub,
    )
    .unwrap();
    let as_v1 = from_hub(f, v1, &hub).unwrap();
    assert!(
        as_v1["metadata"]["annotations"]["autoscaling.alpha.kubernetes.io/metrics"].is_string()
    );
    let back = to_hub(f, v1, &as_v1).unwrap();
    assert_eq!(back, hub);
}
