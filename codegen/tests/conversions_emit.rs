//! The conversion generator: which fields need hooks, the errors regen stops with, and
//! deterministic output.

use std::path::PathBuf;
use std::sync::OnceLock;

use kiln_codegen::emit_conversions::{self, StorageVersions};
use kiln_codegen::model::Model;
use kiln_codegen::regen::{self, Inputs, Workspace};
use kiln_runtime::conversions::{ConversionError, Hook, hooks};
use serde_json::{Map, Value};

fn loaded() -> &'static (Model, Inputs) {
    static M: OnceLock<(Model, Inputs)> = OnceLock::new();
    M.get_or_init(|| {
        let ws = Workspace::new(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".."));
        regen::load_model(&ws, "1.36").unwrap_or_else(|e| panic!("{e}"))
    })
}

fn emit(table: &StorageVersions, hooks: &[&'static Hook]) -> Result<String, String> {
    emit_conversions::emit_conversions_with(&loaded().0, table, hooks).map_err(|e| e.to_string())
}

fn noop(_: &Map<String, Value>, _: &mut Map<String, Value>) -> Result<(), ConversionError> {
    Ok(())
}

#[test]
fn output_is_deterministic_and_names_every_family() {
    let (model, inputs) = loaded();
    let a = emit_conversions::emit_conversions(model, &inputs.storage_versions).unwrap();
    let b = emit_conversions::emit_conversions(model, &inputs.storage_versions).unwrap();
    assert_eq!(a, b);
    for hub in [
        "hub_group: \"autoscaling\",\n        hub_version: \"v2\"",
        "hub_group: \"\",\n        hub_version: \"v1\",\n        hub_kind: \"Event\"",
        "hub_group: \"resource.k8s.io\",\n        hub_version: \"v1beta1\"",
    ] {
        assert!(a.contains(hub), "missing {hub}");
    }
    assert!(a.contains("hooks::autoscaling::HPA_V1_TO_V2"));
    assert!(a.contains("hooks::events::EVENT_CORE_TO_V1"));
}

#[test]
fn a_field_without_a_hook_stops_regen() {
    let (_, inputs) = loaded();
    let without: Vec<&'static Hook> = hooks::ALL
        .iter()
        .copied()
        .filter(|h| h.name != "autoscaling::HPA_V1_TO_V2")
        .collect();
    let err = emit(&inputs.storage_versions, &without).unwrap_err();
    assert!(
        err.contains("HorizontalPodAutoscaler autoscaling/v1 → autoscaling/v2: field `spec.targetCPUUtilizationPercentage` (only in io.k8s.api.autoscaling.v1.HorizontalPodAutoscalerSpec) has no conversion hook"),
        "{err}"
    );
    assert!(err.contains("field `spec.metrics`"), "{err}");
    // Only that direction is affected.
    assert!(!err.contains("autoscaling/v2 → autoscaling/v1"), "{err}");
}

static STALE: Hook = Hook {
    name: "autoscaling::STALE",
    from: "io.k8s.api.autoscaling.v1.HorizontalPodAutoscaler",
    to: "io.k8s.api.autoscaling.v2.HorizontalPodAutoscaler",
    fields: &["spec.maxReplicas", "spec.gone"],
    func: noop,
};

#[test]
fn a_hook_for_a_field_that_does_not_differ_stops_regen() {
    let (_, inputs) = loaded();
    let mut with: Vec<&'static Hook> = hooks::ALL.to_vec();
    with.push(&STALE);
    let err = emit(&inputs.storage_versions, &with).unwrap_err();
    assert!(
        err.contains("hook autoscaling::STALE (io.k8s.api.autoscaling.v1.HorizontalPodAutoscaler → io.k8s.api.autoscaling.v2.HorizontalPodAutoscaler) names field `spec.gone`, which no longer differs between them"),
        "{err}"
    );
    assert!(err.contains("field `spec.maxReplicas`"), "{err}");
}

#[test]
fn a_multi_version_resource_needs_a_storage_version() {
    let (_, inputs) = loaded();
    let mut table = inputs.storage_versions.clone();
    table
        .resources
        .retain(|e| e.resource != "horizontalpodautoscalers");
    let err = emit(&table, hooks::ALL).unwrap_err();
    assert!(
        err.contains("1.36: horizontalpodautoscalers.autoscaling is served in 2 versions (v2, v1) but schemas/overlay/storage-versions.json does not say which one kube-apiserver stores"),
        "{err}"
    );
}

#[test]
fn a_storage_version_must_agree_with_discovery() {
    let (_, inputs) = loaded();
    let mut table = inputs.storage_versions.clone();
    for e in &mut table.resources {
        if e.resource == "horizontalpodautoscalers" {
            e.storage.version = "v1".into();
        }
    }
    let err = emit(&table, hooks::ALL).unwrap_err();
    assert!(
        err.contains("autoscaling/v2 horizontalpodautoscalers: storageVersionHash \"qwQve8ut294=\" does not match the storage version autoscaling/v1 HorizontalPodAutoscaler"),
        "{err}"
    );
}
