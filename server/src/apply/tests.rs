//! Ownership tests: two and three managers applying and updating the same objects.

use super::*;
use proptest::prelude::*;

fn resource(group: &str, kind: &str) -> &'static ResourceInfo {
    kiln_generated::REGISTRY
        .iter()
        .filter(|g| g.name == group)
        .flat_map(|g| g.versions.iter())
        .flat_map(|v| v.resources.iter())
        .find(|r| r.kind == kind)
        .expect("resource in the registry")
}

fn configmaps() -> Ctx<'static> {
    Ctx::new(resource("", "ConfigMap"), None)
}

fn cm(data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "n"}, "data": data})
}

fn managers(obj: &Value) -> Vec<(String, String, Value)> {
    obj["metadata"]["managedFields"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| {
                    (
                        e["manager"].as_str().unwrap_or("").to_string(),
                        e["operation"].as_str().unwrap_or("").to_string(),
                        e["fieldsV1"].clone(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn apply_to(
    ctx: &Ctx<'_>,
    live: Option<&Value>,
    cfg: &Value,
    m: &str,
    force: bool,
) -> Result<Value, ApiError> {
    let zero = ctx.zero_object();
    ctx.apply(live.unwrap_or(&zero), cfg, m, force)
}

#[test]
fn two_appliers_conflict_force_and_prune() {
    let ctx = configmaps();
    let a = apply_to(
        &ctx,
        None,
        &cm(json!({"owned": "1", "shared": "a"})),
        "kubectl",
        false,
    )
    .expect("first apply");
    assert_eq!(a["data"], json!({"owned": "1", "shared": "a"}));
    assert_eq!(
        managers(&a),
        vec![(
            "kubectl".into(),
            "Apply".into(),
            json!({"f:data": {"f:owned": {}, "f:shared": {}}})
        )]
    );
    // Another manager changing a field kubectl owns conflicts.
    let err = apply_to(&ctx, Some(&a), &cm(json!({"shared": "b"})), "other", false)
        .expect_err("conflict");
    assert_eq!(err.code, 409);
    assert_eq!(err.reason, "Conflict");
    assert_eq!(
        err.message,
        "Apply failed with 1 conflict: conflict with \"kubectl\": .data.shared"
    );
    let details = err.details.expect("details");
    assert_eq!(
        details.causes,
        vec![Cause {
            reason: "FieldManagerConflict".into(),
            message: "conflict with \"kubectl\"".into(),
            field: ".data.shared".into(),
        }]
    );
    // Applying the same value shares ownership without a conflict.
    let shared =
        apply_to(&ctx, Some(&a), &cm(json!({"shared": "a"})), "other", false).expect("same value");
    assert_eq!(managers(&shared).len(), 2);
    // Forcing takes the field over.
    let b = apply_to(&ctx, Some(&a), &cm(json!({"shared": "b"})), "other", true).expect("forced");
    assert_eq!(b["data"]["shared"], "b");
    let m = managers(&b);
    assert_eq!(m[0].0, "kubectl");
    assert_eq!(m[0].2, json!({"f:data": {"f:owned": {}}}));
    assert_eq!(m[1].0, "other");
    assert_eq!(m[1].2, json!({"f:data": {"f:shared": {}}}));
    // kubectl stops applying its field: it goes; the other manager's field stays.
    let c = apply_to(&ctx, Some(&b), &cm(json!({})), "kubectl", false).expect("prune");
    assert_eq!(c["data"], json!({"shared": "b"}));
    // A field two appliers own stays when one of them stops applying it.
    let d = apply_to(&ctx, Some(&shared), &cm(json!({})), "kubectl", false).expect("prune");
    assert_eq!(d["data"], json!({"shared": "a"}));
}

#[test]
fn three_managers_conflict_message_lists_each() {
    let ctx = configmaps();
    let a = apply_to(&ctx, None, &cm(json!({"x": "1"})), "alpha", false).expect("alpha");
    // beta is a non-apply writer (an Update entry).
    let mut b = a.clone();
    b["data"]["y"] = json!("2");
    ctx.track_update("beta", Some(&a), &mut b);
    assert_eq!(
        managers(&b)
            .iter()
            .map(|(m, o, _)| format!("{m}/{o}"))
            .collect::<Vec<_>>(),
        vec!["alpha/Apply", "beta/Update"]
    );
    let cfg = cm(json!({"x": "9", "y": "9", "z": "9"}));
    let err = apply_to(&ctx, Some(&b), &cfg, "gamma", false).expect_err("conflicts");
    assert_eq!(
        err.message,
        "Apply failed with 2 conflicts: conflicts with \"alpha\":\n- .data.x\nconflicts with \"beta\" using v1:\n- .data.y"
    );
    let causes = err.details.expect("details").causes;
    assert_eq!(causes.len(), 2);
    assert_eq!(causes[1].message, "conflict with \"beta\" using v1");
    let g = apply_to(&ctx, Some(&b), &cfg, "gamma", true).expect("forced");
    // alpha and beta lost everything, so their entries are gone.
    assert_eq!(
        managers(&g),
        vec![(
            "gamma".into(),
            "Apply".into(),
            json!({"f:data": {"f:x": {}, "f:y": {}, "f:z": {}}})
        )]
    );
}

#[test]
fn updates_move_ownership_and_removals_drop_it() {
    let ctx = configmaps();
    let mut created = cm(json!({"a": "1", "b": "2"}));
    ctx.track_update("kubectl-create", None, &mut created);
    assert_eq!(
        managers(&created)[0].2,
        json!({"f:data": {".": {}, "f:a": {}, "f:b": {}}})
    );
    let mut edited = created.clone();
    edited["data"]["a"] = json!("changed");
    edited["data"]
        .as_object_mut()
        .expect("data")
        .shift_remove("b");
    ctx.track_update("kubectl-edit", Some(&created), &mut edited);
    let m = managers(&edited);
    assert_eq!(m[0].0, "kubectl-create");
    assert_eq!(m[0].2, json!({"f:data": {}}));
    assert_eq!(m[1].0, "kubectl-edit");
    assert_eq!(m[1].2, json!({"f:data": {"f:a": {}}}));
    // A no-op update adds nothing.
    let mut same = edited.clone();
    ctx.track_update("someone", Some(&edited), &mut same);
    assert_eq!(managers(&same), m);
}

#[test]
fn managed_fields_reset_and_untracked_objects() {
    let ctx = configmaps();
    let mut created = cm(json!({"a": "1"}));
    ctx.track_update("creator", None, &mut created);
    let mut reset = created.clone();
    reset["metadata"]["managedFields"] = json!([]);
    reset["data"]["a"] = json!("2");
    ctx.track_update("x", Some(&created), &mut reset);
    assert!(reset["metadata"].get("managedFields").is_none());
    // `[{}]` clears too; an untracked object stays untracked on update.
    let mut again = reset.clone();
    again["data"]["b"] = json!("3");
    ctx.track_update("x", Some(&reset), &mut again);
    assert!(again["metadata"].get("managedFields").is_none());
    let mut one_empty = created.clone();
    one_empty["metadata"]["managedFields"] = json!([{}]);
    ctx.track_update("x", Some(&created), &mut one_empty);
    assert!(one_empty["metadata"].get("managedFields").is_none());
    // Omitted managedFields keep the stored ones.
    let mut omitted = created.clone();
    objects::remove_meta(&mut omitted, "managedFields");
    omitted["data"]["c"] = json!("4");
    ctx.track_update("y", Some(&created), &mut omitted);
    assert_eq!(managers(&omitted).len(), 2);
}

#[test]
fn deployment_containers_merge_by_name_with_three_managers() {
    let ctx = Ctx::new(resource("apps", "Deployment"), None);
    let dep = |containers: Value| {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
            "spec": {"template": {"spec": {"containers": containers}}}})
    };
    let a = apply_to(
        &ctx,
        None,
        &dep(json!([{"name": "main", "image": "nginx:1"}])),
        "kubectl",
        false,
    )
    .expect("kubectl");
    let b = apply_to(
        &ctx,
        Some(&a),
        &dep(json!([{"name": "side", "image": "busybox"}])),
        "injector",
        false,
    )
    .expect("injector");
    let c = apply_to(
        &ctx,
        Some(&b),
        &dep(json!([{"name": "log", "image": "fluent"}])),
        "logger",
        false,
    )
    .expect("logger");
    let names: Vec<&str> = c["spec"]["template"]["spec"]["containers"]
        .as_array()
        .expect("containers")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(names, vec!["main", "side", "log"]);
    let err = apply_to(
        &ctx,
        Some(&c),
        &dep(json!([{"name": "main", "image": "nginx:2"}])),
        "logger",
        false,
    )
    .expect_err("image conflict");
    assert_eq!(
        err.message,
        "Apply failed with 1 conflict: conflict with \"kubectl\": .spec.template.spec.containers[name=\"main\"].image"
    );
    // The injector stops applying its container: only it goes.
    let d = apply_to(&ctx, Some(&c), &dep(json!([])), "injector", false).expect("prune");
    let names: Vec<&str> = d["spec"]["template"]["spec"]["containers"]
        .as_array()
        .expect("containers")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(names, vec!["main", "log"]);
}

#[test]
fn status_is_not_owned_through_the_main_resource() {
    let ctx = Ctx::new(resource("apps", "Deployment"), None);
    let cfg = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
        "spec": {"replicas": 3}, "status": {"replicas": 9}});
    let a = apply_to(&ctx, None, &cfg, "kubectl", false).expect("apply");
    assert_eq!(managers(&a)[0].2, json!({"f:spec": {"f:replicas": {}}}));
}

#[test]
fn bad_configurations_are_400s() {
    let ctx = configmaps();
    let err = apply_to(
        &ctx,
        None,
        &json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "c", "namespace": "n"}, "bogus": 1}),
        "m",
        false,
    )
    .expect_err("unknown field");
    assert_eq!(err.code, 400);
    assert_eq!(
        err.message,
        "failed to create typed patch object (n/c; /v1, Kind=ConfigMap): .bogus: field not declared in schema"
    );
    let r = resource("", "ConfigMap");
    let e = parse_config(
        r,
        "v1",
        Some("n"),
        "c",
        b"apiVersion: apps/v1\nkind: ConfigMap\n",
    )
    .expect_err("wrong version");
    assert_eq!(e.message, "invalid object type: apps/v1, Kind=ConfigMap");
    let e = parse_config(
        r,
        "v1",
        Some("n"),
        "c",
        b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, managedFields: [{}]}\n",
    )
    .expect_err("managed fields");
    assert_eq!(e.message, "metadata.managedFields must be nil");
    let e = parse_config(
        r,
        "v1",
        Some("n"),
        "c",
        b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: d}\n",
    )
    .expect_err("name");
    assert_eq!(e.code, 400);
    assert!(
        parse_config(
            r,
            "v1",
            Some("n"),
            "c",
            b"{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\"}"
        )
        .is_ok()
    );
}

#[test]
fn user_agent_prefix_and_field_manager_validation() {
    assert_eq!(
        manager_from_user_agent("kubectl/v1.32.0 (linux/amd64)"),
        "kubectl"
    );
    assert_eq!(manager_from_user_agent("curl/8.5.0"), "curl");
    assert_eq!(manager_from_user_agent("a\u{7}b"), "ab");
    assert_eq!(manager_from_user_agent(&"x".repeat(200)).len(), 128);
    let q = Query::parse("fieldManager=").expect("query");
    assert_eq!(
        update_manager(&q, Some("kube-controller-manager/v1"), "CreateOptions").expect("ok"),
        "kube-controller-manager"
    );
    let q = Query::parse(&format!("fieldManager={}", "y".repeat(129))).expect("query");
    let e = update_manager(&q, None, "UpdateOptions").expect_err("too long");
    assert_eq!(e.code, 422);
    assert_eq!(
        e.message,
        "UpdateOptions.meta.k8s.io \"\" is invalid: fieldManager: Too long: may not be more than 128 bytes"
    );
    let q = Query::parse("force=true").expect("query");
    let e = update_manager(&q, None, "PatchOptions").expect_err("force");
    assert_eq!(
        e.message,
        "PatchOptions.meta.k8s.io \"\" is invalid: force: Forbidden: may not be specified for non-apply patch"
    );
}

#[test]
fn update_managers_are_capped() {
    let ctx = configmaps();
    let mut obj = cm(json!({}));
    ctx.track_update("m0", None, &mut obj);
    for i in 0..12 {
        let mut next = obj.clone();
        next["data"][format!("k{i}")] = json!("v");
        // Distinct, increasing times make the order deterministic.
        ctx.track_update(&format!("m{i:02}"), Some(&obj), &mut next);
        if let Some(entries) = next["metadata"]["managedFields"].as_array_mut() {
            for e in entries.iter_mut() {
                if e["manager"] == format!("m{i:02}") {
                    e["time"] = json!(format!("2024-01-01T00:00:{i:02}Z"));
                }
            }
        }
        obj = next;
    }
    let m = managers(&obj);
    assert_eq!(m.len(), 10, "{m:?}");
    let ancient = m
        .iter()
        .find(|(n, _, _)| n == ANCIENT_CHANGES)
        .expect("bucket");
    // 13 updaters: the oldest four (the first seeds the bucket) become one entry.
    assert_eq!(
        ancient.2,
        json!({"f:data": {"f:k0": {}, "f:k1": {}, "f:k2": {}, "f:k3": {}}})
    );
}

proptest! {
    /// Whatever a single manager applies is exactly what it owns, and re-applying the same
    /// configuration changes nothing.
    #[test]
    fn apply_owns_exactly_its_configuration(
        data in prop::collection::btree_map("[a-d]", "[a-c]{1,2}", 0..5),
        again in prop::collection::btree_map("[a-d]", "[a-c]{1,2}", 0..5),
    ) {
        let ctx = configmaps();
        let cfg = cm(serde_json::to_value(&data).expect("json"));
        let a = apply_to(&ctx, None, &cfg, "m", false).expect("apply");
        let a2 = ctx.apply(&a, &cfg, "m", false).expect("reapply");
        prop_assert_eq!(&a2, &a);
        let cfg2 = cm(serde_json::to_value(&again).expect("json"));
        let b = ctx.apply(&a, &cfg2, "m", false).expect("second");
        // With one manager, the result's data is exactly the new configuration.
        let want = if again.is_empty() { json!({}) } else { serde_json::to_value(&again).expect("json") };
        prop_assert_eq!(b["data"].clone(), want);
    }
}
