//! The resource half of the model: resources and subresources from the spec's paths,
//! discovery facts, version and group order, spec fixes, borrowed facts for 1.35.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::OnceLock;

use kiln_codegen::error::CodegenError;
use kiln_codegen::facts::{self, Facts, Overlay};
use kiln_codegen::load::{self, LoadedSpec};
use kiln_codegen::model::{Group, Resource, Stability};
use kiln_codegen::resources::{self, Action, DefinitionIndex, Gvk, fixes};
use serde_json::Value;

fn schemas() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("schemas")
}

struct Loaded {
    spec: LoadedSpec,
    facts: Option<Facts>,
    groups: Vec<Group>,
    notes: Vec<String>,
}

fn load_release(release: &str) -> Loaded {
    let spec = load::load_spec(&load::release_dir(&schemas(), release).join("swagger.json"))
        .expect("spec loads");
    let facts = facts::discovery_release_for(&schemas(), release)
        .expect("schemas dir readable")
        .map(|from| {
            facts::load_facts(
                &load::release_dir(&schemas(), &from).join("discovery"),
                &from,
            )
            .expect("facts load")
        });
    let overlay = facts::load_overlay(&schemas().join("overlay").join("resources.json"))
        .expect("overlay loads");
    let mut notes = Vec::new();
    let groups = resources::build_groups(&spec.spec, release, facts.as_ref(), &overlay, &mut notes)
        .expect("resources build");
    Loaded {
        spec,
        facts,
        groups,
        notes,
    }
}

fn r136() -> &'static Loaded {
    static L: OnceLock<Loaded> = OnceLock::new();
    L.get_or_init(|| load_release("1.36"))
}

fn r135() -> &'static Loaded {
    static L: OnceLock<Loaded> = OnceLock::new();
    L.get_or_init(|| load_release("1.35"))
}

fn resource<'a>(groups: &'a [Group], group: &str, version: &str, plural: &str) -> &'a Resource {
    groups
        .iter()
        .find(|g| g.name == group)
        .and_then(|g| g.versions.iter().find(|v| v.name == version))
        .and_then(|v| v.resources.iter().find(|r| r.plural == plural))
        .unwrap_or_else(|| panic!("no {group}/{version} {plural}"))
}

/// Every (group, version, resource[/subresource]) of the spec's paths, counted directly
/// from the raw v2 document with independent logic.
fn spec_resource_names(v2: &Value) -> BTreeSet<(String, String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in v2["paths"].as_object().expect("paths") {
        let acts = item
            .as_object()
            .expect("item")
            .iter()
            .any(|(m, op)| m != "parameters" && op.get("x-kubernetes-action").is_some());
        if !acts {
            continue;
        }
        let mut segs: Vec<&str> = path.trim_matches('/').split('/').collect();
        let (group, version) = if segs[0] == "api" {
            let v = segs[1];
            segs.drain(..2);
            (String::new(), v.to_string())
        } else {
            let (g, v) = (segs[1], segs[2]);
            segs.drain(..3);
            (g.to_string(), v.to_string())
        };
        if segs[0] == "watch" {
            segs.remove(0);
        }
        if segs.len() > 2 && segs[0] == "namespaces" && segs[1] == "{namespace}" {
            segs.drain(..2);
        }
        let name = match segs.len() {
            1 | 2 => segs[0].to_string(),
            _ => format!("{}/{}", segs[0], segs[2]),
        };
        out.insert((group, version, name));
    }
    out
}

fn model_resource_names(groups: &[Group]) -> BTreeSet<(String, String, String)> {
    let mut out = BTreeSet::new();
    for g in groups {
        for v in &g.versions {
            for r in &v.resources {
                out.insert((g.name.clone(), v.name.clone(), r.plural.clone()));
                for s in &r.subresources {
                    out.insert((
                        g.name.clone(),
                        v.name.clone(),
                        format!("{}/{}", r.plural, s.name),
                    ));
                }
            }
        }
    }
    out
}

#[test]
fn every_resource_and_subresource_of_the_spec_is_listed() {
    for l in [r136(), r135()] {
        let expected = spec_resource_names(&l.spec.v2);
        let got = model_resource_names(&l.groups);
        assert_eq!(got, expected);
        let (_, resources, subs) = resources::counts(&l.groups);
        assert_eq!(resources + subs, expected.len());
    }
    let (gvs, resources, subs) = resources::counts(&r136().groups);
    assert_eq!((gvs, resources, subs), (36, 95, 55));
}

#[test]
fn registry_matches_discovery_of_the_same_release() {
    // Spec-derived kinds, scopes, verbs and subresources agree with kube-apiserver's
    // golden discovery documents; the only notes are the documents' own disagreements.
    let l = r136();
    assert_eq!(l.facts.as_ref().map(|f| f.release.as_str()), Some("1.36"));
    let unexpected: Vec<&String> = l
        .notes
        .iter()
        .filter(|n| !n.contains("disagree on storageVersionHash"))
        .collect();
    assert!(unexpected.is_empty(), "{unexpected:#?}");
    let facts = l.facts.as_ref().expect("facts");
    for g in &l.groups {
        for v in &g.versions {
            for r in &v.resources {
                let f = facts
                    .get(&g.name, &v.name, &r.plural)
                    .expect("resource in discovery");
                assert_eq!(f.verbs, r.verbs, "{} {}", v.name, r.plural);
                assert_eq!(f.short_names, r.short_names);
                assert_eq!(f.categories, r.categories);
                assert_eq!(f.singular.as_deref(), Some(r.singular.as_str()));
                // Hashes as discovery has them, except where the documents themselves
                // disagree between versions (one hash per resource, the preferred
                // version's document wins).
                let disputed = [
                    "mutatingadmissionpolicies",
                    "mutatingadmissionpolicybindings",
                    "clustertrustbundles",
                ];
                if let Some(h) = &f.storage_version_hash
                    && !(disputed.contains(&r.plural.as_str()) && v.name != g.versions[0].name)
                {
                    assert_eq!(h, &r.storage_version_hash, "{} {}", v.name, r.plural);
                }
            }
        }
    }
    // One hash per resource across its versions, as kube-apiserver reports it.
    for g in &l.groups {
        let mut by_plural: std::collections::BTreeMap<&str, BTreeSet<&str>> = Default::default();
        for v in &g.versions {
            for r in &v.resources {
                by_plural
                    .entry(&r.plural)
                    .or_default()
                    .insert(&r.storage_version_hash);
            }
        }
        for (plural, hashes) in by_plural {
            assert_eq!(hashes.len(), 1, "{} {plural}: {hashes:?}", g.name);
        }
    }
}

#[test]
fn pods_facts() {
    let pods = resource(&r136().groups, "", "v1", "pods");
    assert_eq!(pods.short_names, ["po"]);
    assert_eq!(pods.categories, ["all"]);
    assert_eq!(pods.singular, "pod");
    assert_eq!(pods.kind, "Pod");
    assert_eq!(pods.list_kind, "PodList");
    assert!(pods.namespaced);
    assert_eq!(
        pods.verbs,
        [
            "create",
            "delete",
            "deletecollection",
            "get",
            "list",
            "patch",
            "update",
            "watch"
        ]
    );
    assert_eq!(pods.storage_version_hash, "xPOwRZ+Yhw8=");
    assert_eq!(
        pods.storage_version_hash,
        resources::storage_version_hash("", "v1", "Pod")
    );
    assert_eq!(pods.definition.as_deref(), Some("io.k8s.api.core.v1.Pod"));
    let names: Vec<&str> = pods.subresources.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "attach",
            "binding",
            "ephemeralcontainers",
            "eviction",
            "exec",
            "log",
            "portforward",
            "proxy",
            "resize",
            "status"
        ]
    );
    let exec = pods
        .subresources
        .iter()
        .find(|s| s.name == "exec")
        .expect("exec");
    assert_eq!(
        (exec.kind.as_str(), exec.verbs.clone()),
        (
            "PodExecOptions",
            vec!["create".to_string(), "get".to_string()]
        )
    );
    assert_eq!(exec.definition, None);
    let proxy = pods
        .subresources
        .iter()
        .find(|s| s.name == "proxy")
        .expect("proxy");
    assert_eq!(proxy.verbs, ["create", "delete", "get", "patch", "update"]);
    let log = pods
        .subresources
        .iter()
        .find(|s| s.name == "log")
        .expect("log");
    assert_eq!(
        (log.kind.as_str(), log.verbs.as_slice(), &log.definition),
        ("Pod", &["get".to_string()][..], &None)
    );
    let status = pods
        .subresources
        .iter()
        .find(|s| s.name == "status")
        .expect("status");
    assert_eq!(status.definition.as_deref(), Some("io.k8s.api.core.v1.Pod"));
}

#[test]
fn cross_group_subresources() {
    let scale = resource(&r136().groups, "apps", "v1", "deployments")
        .subresources
        .iter()
        .find(|s| s.name == "scale")
        .cloned();
    let scale = scale.expect("deployments/scale");
    assert_eq!(
        (
            scale.group.as_str(),
            scale.version.as_str(),
            scale.kind.as_str()
        ),
        ("autoscaling", "v1", "Scale")
    );
    assert_eq!(scale.verbs, ["get", "patch", "update"]);
    assert_eq!(
        scale.definition.as_deref(),
        Some("io.k8s.api.autoscaling.v1.Scale")
    );

    let eviction = resource(&r136().groups, "", "v1", "pods")
        .subresources
        .iter()
        .find(|s| s.name == "eviction")
        .cloned();
    let eviction = eviction.expect("pods/eviction");
    assert_eq!(
        (
            eviction.group.as_str(),
            eviction.version.as_str(),
            eviction.kind.as_str()
        ),
        ("policy", "v1", "Eviction")
    );
    assert_eq!(eviction.verbs, ["create"]);
    assert_eq!(
        eviction.definition.as_deref(),
        Some("io.k8s.api.policy.v1.Eviction")
    );

    let token = resource(&r136().groups, "", "v1", "serviceaccounts")
        .subresources
        .iter()
        .find(|s| s.name == "token")
        .cloned();
    let token = token.expect("serviceaccounts/token");
    assert_eq!(
        (token.group.as_str(), token.kind.as_str()),
        ("authentication.k8s.io", "TokenRequest")
    );
}

#[test]
fn unstored_resources_have_no_hash() {
    let l = r136();
    assert_eq!(
        resource(&l.groups, "", "v1", "bindings").storage_version_hash,
        ""
    );
    assert_eq!(
        resource(&l.groups, "", "v1", "componentstatuses").storage_version_hash,
        ""
    );
    assert_eq!(
        resource(
            &l.groups,
            "authorization.k8s.io",
            "v1",
            "subjectaccessreviews"
        )
        .storage_version_hash,
        ""
    );
    // events.k8s.io events are stored as core v1 Events.
    assert_eq!(
        resource(&l.groups, "events.k8s.io", "v1", "events").storage_version_hash,
        resources::storage_version_hash("", "v1", "Event")
    );
}

#[test]
fn version_priority() {
    let mut versions = vec![
        "v1alpha1", "v1", "v1beta1", "v2", "v1beta2", "v2alpha1", "v1alpha3", "foo", "v10",
    ];
    versions.sort_by(|a, b| resources::version_priority(a, b));
    assert_eq!(
        versions,
        [
            "v10", "v2", "v1", "v1beta2", "v1beta1", "v2alpha1", "v1alpha3", "v1alpha1", "foo"
        ]
    );
    assert_eq!(resources::stability("v1"), Stability::Ga);
    assert_eq!(resources::stability("v2beta2"), Stability::Beta);
    assert_eq!(resources::stability("v1alpha3"), Stability::Alpha);

    let autoscaling = r136()
        .groups
        .iter()
        .find(|g| g.name == "autoscaling")
        .expect("autoscaling");
    let names: Vec<&str> = autoscaling
        .versions
        .iter()
        .map(|v| v.name.as_str())
        .collect();
    assert_eq!(names, ["v2", "v1"]);
    let resource_group = r136()
        .groups
        .iter()
        .find(|g| g.name == "resource.k8s.io")
        .expect("resource.k8s.io");
    let names: Vec<&str> = resource_group
        .versions
        .iter()
        .map(|v| v.name.as_str())
        .collect();
    assert_eq!(names, ["v1", "v1beta2", "v1beta1", "v1alpha3"]);
    assert_eq!(resource_group.versions[3].stability, Stability::Alpha);
}

#[test]
fn group_order_follows_apis() {
    let names: Vec<&str> = r136().groups.iter().map(|g| g.name.as_str()).collect();
    let apis = load::read_json(&schemas().join("v1.36/discovery/apis.json")).expect("apis.json");
    let order: Vec<&str> = apis["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .filter_map(|g| g["name"].as_str())
        .collect();
    assert_eq!(names[0], "");
    assert_eq!(&names[1..], &order[..]);
    // Groups /apis does not know go last, by name.
    let mut groups = vec![
        Group {
            name: "zeta.example.com".into(),
            versions: vec![],
        },
        Group {
            name: "apps".into(),
            versions: vec![],
        },
        Group {
            name: "alpha.example.com".into(),
            versions: vec![],
        },
        Group {
            name: "".into(),
            versions: vec![],
        },
    ];
    resources::order_groups(&mut groups, &["apps".to_string()]);
    let names: Vec<&str> = groups.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(names, ["", "apps", "alpha.example.com", "zeta.example.com"]);
}

#[test]
fn parse_paths() {
    let p = resources::parse_resource_path(
        "/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale",
    )
    .expect("parses");
    assert_eq!(
        (
            p.group.as_str(),
            p.version.as_str(),
            p.namespaced,
            p.plural.as_str(),
            p.named
        ),
        ("apps", "v1", true, "deployments", true)
    );
    assert_eq!(p.subresource.as_deref(), Some("scale"));
    let p = resources::parse_resource_path("/api/v1/watch/namespaces/{namespace}/pods")
        .expect("parses");
    assert_eq!(
        (p.namespaced, p.plural.as_str(), p.named),
        (true, "pods", false)
    );
    let p = resources::parse_resource_path("/api/v1/namespaces/{name}/finalize").expect("parses");
    assert_eq!(
        (p.namespaced, p.plural.as_str(), p.subresource.as_deref()),
        (false, "namespaces", Some("finalize"))
    );
    let p = resources::parse_resource_path("/api/v1/nodes/{name}/proxy/{path}").expect("parses");
    assert_eq!(p.subresource.as_deref(), Some("proxy"));
    assert!(resources::parse_resource_path("/apis/apps/").is_none());
    assert_eq!(Action::Connect.verb("head"), None);
    assert_eq!(Action::WatchList.verb("get"), Some("watch"));
}

fn ops_136() -> (Vec<resources::SpecOperation>, DefinitionIndex) {
    let spec = &r136().spec.spec;
    (
        resources::spec_operations(spec).expect("operations"),
        DefinitionIndex::new(spec),
    )
}

#[test]
fn fix_connect_options_kinds() {
    let (mut ops, defs) = ops_136();
    let changed = fixes::connect_options_kinds(&mut ops, &defs).expect("applies to 1.36");
    // pods attach/exec/portforward (GET, POST), proxy and proxy/{path} for pods, nodes and
    // services (DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT).
    assert_eq!(changed, 48);
    let exec = ops
        .iter()
        .find(|o| o.path.ends_with("/pods/{name}/exec") && o.method == "post")
        .expect("exec");
    assert!(exec.kind_has_no_body);
    assert_eq!(exec.gvk.kind, "PodExecOptions");

    // Stale when the spec gains a definition for one of the options kinds.
    let (mut ops, mut defs) = ops_136();
    defs.by_gvk.insert(
        Gvk {
            group: String::new(),
            version: "v1".into(),
            kind: "PodExecOptions".into(),
        },
        "io.k8s.api.core.v1.PodExecOptions".into(),
    );
    assert!(matches!(
        fixes::connect_options_kinds(&mut ops, &defs),
        Err(CodegenError::SpecFixStale { .. })
    ));

    // Stale when connect operations no longer name options kinds.
    let (mut ops, defs) = ops_136();
    for op in ops.iter_mut().filter(|o| o.action == Action::Connect) {
        op.gvk.kind = "Pod".into();
    }
    assert!(matches!(
        fixes::connect_options_kinds(&mut ops, &defs),
        Err(CodegenError::SpecFixStale { .. })
    ));
}

#[test]
fn fix_pod_log_kind_is_parent() {
    let (mut ops, defs) = ops_136();
    assert_eq!(
        fixes::pod_log_kind_is_parent(&mut ops, &defs).expect("applies to 1.36"),
        1
    );
    assert!(
        ops.iter()
            .any(|o| o.path.ends_with("/pods/{name}/log") && o.kind_has_no_body)
    );

    let (mut ops, defs) = ops_136();
    for op in ops
        .iter_mut()
        .filter(|o| o.path.ends_with("/pods/{name}/log"))
    {
        op.response_is_string = false;
    }
    assert!(matches!(
        fixes::pod_log_kind_is_parent(&mut ops, &defs),
        Err(CodegenError::SpecFixStale { .. })
    ));

    let (mut ops, defs) = ops_136();
    ops.retain(|o| !o.path.ends_with("/log"));
    assert!(matches!(
        fixes::pod_log_kind_is_parent(&mut ops, &defs),
        Err(CodegenError::SpecFixStale { .. })
    ));
}

#[test]
fn every_fix_applies_to_every_release() {
    for l in [r136(), r135()] {
        let mut ops = resources::spec_operations(&l.spec.spec).expect("operations");
        let defs = DefinitionIndex::new(&l.spec.spec);
        let applied = fixes::apply_all(&mut ops, &defs).expect("fixes apply");
        assert_eq!(applied.len(), fixes::ALL.len());
        assert!(applied.iter().all(|(_, n)| *n > 0));
    }
}

#[test]
fn release_1_35_borrows_facts_from_1_36() {
    assert_eq!(
        facts::discovery_release_for(&schemas(), "1.35")
            .expect("ok")
            .as_deref(),
        Some("1.36")
    );
    assert_eq!(
        facts::discovery_release_for(&schemas(), "1.40")
            .expect("ok")
            .as_deref(),
        Some("1.36")
    );
    let l = r135();
    assert_eq!(l.facts.as_ref().map(|f| f.release.as_str()), Some("1.36"));
    let pods = resource(&l.groups, "", "v1", "pods");
    assert_eq!(
        (
            pods.short_names.as_slice(),
            pods.categories.as_slice(),
            pods.singular.as_str()
        ),
        (&["po".to_string()][..], &["all".to_string()][..], "pod")
    );
    let deploy = resource(&l.groups, "apps", "v1", "deployments");
    assert_eq!(deploy.short_names, ["deploy"]);
    // A version 1.36 no longer serves: names from the newer version, the hash computed
    // for 1.35's own version (1.36's names a version 1.35 does not serve).
    let workloads = resource(&l.groups, "scheduling.k8s.io", "v1alpha1", "workloads");
    assert_eq!(workloads.singular, "workload");
    assert_eq!(
        workloads.storage_version_hash,
        resources::storage_version_hash("scheduling.k8s.io", "v1alpha1", "Workload")
    );
    assert!(
        l.notes
            .iter()
            .any(|n| n.contains("v1alpha1 workloads: storageVersionHash computed")),
        "{:#?}",
        l.notes
    );
    // 1.35 does not serve admissionregistration v1 mutatingadmissionpolicies: the v1 hash
    // of 1.36 is skipped for one naming a version 1.35 serves.
    let map = resource(
        &l.groups,
        "admissionregistration.k8s.io",
        "v1beta1",
        "mutatingadmissionpolicies",
    );
    assert_ne!(
        map.storage_version_hash,
        resources::storage_version_hash(
            "admissionregistration.k8s.io",
            "v1",
            "MutatingAdmissionPolicy"
        )
    );
}

#[test]
fn resources_without_facts_still_work() {
    let spec = &r136().spec.spec;
    let mut notes = Vec::new();
    let groups = resources::build_groups(spec, "1.36", None, &Overlay::default(), &mut notes)
        .expect("builds");
    let pods = resource(&groups, "", "v1", "pods");
    assert_eq!(
        (
            pods.singular.as_str(),
            pods.short_names.len(),
            pods.categories.len()
        ),
        ("pod", 0, 0)
    );
    assert_eq!(pods.storage_version_hash, "xPOwRZ+Yhw8=");
    let ep = resource(&groups, "", "v1", "endpoints");
    assert_eq!(ep.singular, "endpoints");
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with("v1 pods: no discovery facts")),
        "{notes:#?}"
    );
    // Without /apis order: core first, then by name.
    let names: Vec<&str> = groups.iter().map(|g| g.name.as_str()).collect();
    let mut sorted = names[1..].to_vec();
    sorted.sort();
    assert_eq!(&names[1..], &sorted[..]);
}

#[test]
fn overlay_supplies_missing_facts() {
    let spec = &r136().spec.spec;
    let overlay: Overlay = serde_json::from_value(serde_json::json!({
        "resources": [{"group": "", "plural": "pods", "singular": "pod", "shortNames": ["p"], "categories": ["x"], "storageVersion": "v1", "releases": ["1.36"]}]
    }))
    .expect("overlay parses");
    let mut notes = Vec::new();
    let groups = resources::build_groups(spec, "1.36", None, &overlay, &mut notes).expect("builds");
    let pods = resource(&groups, "", "v1", "pods");
    assert_eq!(
        (pods.short_names.as_slice(), pods.categories.as_slice()),
        (&["p".to_string()][..], &["x".to_string()][..])
    );
    assert!(
        !notes.iter().any(|n| n.starts_with("v1 pods:")),
        "{notes:#?}"
    );
}

#[test]
fn storage_version_hash_formula() {
    assert_eq!(
        resources::storage_version_hash("", "v1", "ConfigMap"),
        "qFsyl6wFWjQ="
    );
    assert_eq!(
        resources::storage_version_hash("apps", "v1", "Deployment"),
        "8aSe+NMegvE="
    );
}
