//! apps/v1 and batch/v1 workloads: kube's `SetDefaults_Deployment`, `_ReplicaSet`,
//! `_StatefulSet`, `_DaemonSet`, `_Job`, `_CronJob`, `_ReplicationController`, plus the pod
//! template defaults.

use kiln_generated::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use kiln_generated::api::batch::v1::{CronJob, Job};
use kiln_generated::api::core::v1::{PodTemplateSpec, ReplicationController};
use kiln_runtime::registry::ResourceInfo;
use serde_json::{Map, Value, json};

use super::pod::default_template;
use super::{child, default, renormalize, renormalize_typed};
use crate::errors::ApiError;
use crate::strategy::{DefaultStrategy, Strategy, WriteContext};

/// Defaults `spec` of a workload kind.
pub fn default_spec(kind: &str, spec: &mut Map<String, Value>) {
    match kind {
        "Deployment" => {
            default(spec, "replicas", json!(1));
            let strategy = child(spec, "strategy");
            default(strategy, "type", json!("RollingUpdate"));
            if strategy.get("type").and_then(Value::as_str) == Some("RollingUpdate") {
                let ru = child(strategy, "rollingUpdate");
                default(ru, "maxUnavailable", json!("25%"));
                default(ru, "maxSurge", json!("25%"));
            }
            default(spec, "revisionHistoryLimit", json!(10));
            default(spec, "progressDeadlineSeconds", json!(600));
        }
        "ReplicaSet" | "ReplicationController" => {
            default(spec, "replicas", json!(1));
            if kind == "ReplicationController" {
                // RC selector and labels default from the template's labels.
                let labels = spec
                    .get("template")
                    .and_then(|t| t.get("metadata"))
                    .and_then(|m| m.get("labels"))
                    .cloned();
                if let Some(labels) =
                    labels.filter(|l| l.as_object().is_some_and(|m| !m.is_empty()))
                {
                    let empty = spec
                        .get("selector")
                        .and_then(Value::as_object)
                        .is_none_or(Map::is_empty);
                    if empty {
                        spec.insert("selector".into(), labels);
                    }
                }
            }
        }
        "StatefulSet" => {
            default(spec, "replicas", json!(1));
            default(spec, "podManagementPolicy", json!("OrderedReady"));
            let us = child(spec, "updateStrategy");
            default(us, "type", json!("RollingUpdate"));
            if us.get("type").and_then(Value::as_str) == Some("RollingUpdate") {
                default(child(us, "rollingUpdate"), "partition", json!(0));
            }
            default(spec, "revisionHistoryLimit", json!(10));
            let p = child(spec, "persistentVolumeClaimRetentionPolicy");
            default(p, "whenDeleted", json!("Retain"));
            default(p, "whenScaled", json!("Retain"));
            if let Some(Value::Array(pvcs)) = spec.get_mut("volumeClaimTemplates") {
                for pvc in pvcs.iter_mut().filter_map(Value::as_object_mut) {
                    default(child(pvc, "spec"), "volumeMode", json!("Filesystem"));
                    default(child(pvc, "status"), "phase", json!("Pending"));
                }
            }
        }
        "DaemonSet" => {
            let us = child(spec, "updateStrategy");
            default(us, "type", json!("RollingUpdate"));
            if us.get("type").and_then(Value::as_str) == Some("RollingUpdate") {
                let ru = child(us, "rollingUpdate");
                default(ru, "maxUnavailable", json!(1));
                default(ru, "maxSurge", json!(0));
            }
            default(spec, "revisionHistoryLimit", json!(10));
        }
        "Job" => {
            let c = spec.get("completions").filter(|v| !v.is_null()).is_some();
            let p = spec.get("parallelism").filter(|v| !v.is_null()).is_some();
            if !c && !p {
                spec.insert("completions".into(), json!(1));
                spec.insert("parallelism".into(), json!(1));
            }
            default(spec, "parallelism", json!(1));
            default(spec, "backoffLimit", json!(6));
            default(spec, "completionMode", json!("NonIndexed"));
            default(spec, "suspend", json!(false));
            let has_failure_policy = spec.get("podFailurePolicy").is_some_and(|v| !v.is_null());
            default(
                spec,
                "podReplacementPolicy",
                json!(if has_failure_policy {
                    "Failed"
                } else {
                    "TerminatingOrFailed"
                }),
            );
        }
        "CronJob" => {
            default(spec, "concurrencyPolicy", json!("Allow"));
            default(spec, "suspend", json!(false));
            default(spec, "successfulJobsHistoryLimit", json!(3));
            default(spec, "failedJobsHistoryLimit", json!(1));
        }
        _ => {}
    }
}

/// Kinds defaulted by [`WorkloadStrategy`].
pub fn is_workload(group: &str, kind: &str) -> bool {
    matches!(
        (group, kind),
        (
            "apps",
            "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet"
        ) | ("batch", "Job" | "CronJob")
            | ("", "ReplicationController")
    )
}

pub struct WorkloadStrategy;
impl WorkloadStrategy {
    /// The workload's own defaults on the value, then its pod template's through the typed
    /// form (`renormalize_typed`), which also puts fields in kube's order.
    pub(crate) fn apply(r: &ResourceInfo, obj: &mut Value) -> Result<(), ApiError> {
        let Value::Object(map) = obj else {
            return Ok(());
        };
        default_spec(r.kind, child(map, "spec"));
        fn template(t: Option<&mut PodTemplateSpec>) {
            if let Some(t) = t {
                default_template(t);
            }
        }
        match (r.group, r.version, r.kind) {
            ("apps", "v1", "Deployment") => renormalize_typed(r, obj, |d: &mut Deployment| {
                template(d.spec.as_mut().and_then(|s| s.template.as_mut()))
            }),
            ("apps", "v1", "ReplicaSet") => renormalize_typed(r, obj, |d: &mut ReplicaSet| {
                template(d.spec.as_mut().and_then(|s| s.template.as_mut()))
            }),
            ("apps", "v1", "StatefulSet") => renormalize_typed(r, obj, |d: &mut StatefulSet| {
                template(d.spec.as_mut().and_then(|s| s.template.as_mut()))
            }),
            ("apps", "v1", "DaemonSet") => renormalize_typed(r, obj, |d: &mut DaemonSet| {
                template(d.spec.as_mut().and_then(|s| s.template.as_mut()))
            }),
            ("batch", "v1", "Job") => renormalize_typed(r, obj, |j: &mut Job| {
                template(j.spec.as_mut().and_then(|s| s.template.as_mut()))
            }),
            ("batch", "v1", "CronJob") => renormalize_typed(r, obj, |c: &mut CronJob| {
                let job = c.spec.as_mut().and_then(|s| s.job_template.as_mut());
                let job = job.and_then(|j| j.spec.as_mut());
                template(job.and_then(|s| s.template.as_mut()))
            }),
            ("", "v1", "ReplicationController") => {
                renormalize_typed(r, obj, |rc: &mut ReplicationController| {
                    template(rc.spec.as_mut().and_then(|s| s.template.as_mut()))
                })
            }
            // Every workload kind is served in v1 only in the releases Kiln generates; a
            // future version gets its typed arm here.
            _ => {
                renormalize(r, obj);
                Ok(())
            }
        }
    }
}
impl Strategy for WorkloadStrategy {
    fn tracks_generation(&self, r: &ResourceInfo) -> bool {
        DefaultStrategy.tracks_generation(r)
    }
    fn prepare_for_create(
        &self,
        _cx: &WriteContext<'_>,
        r: &ResourceInfo,
        obj: &mut Value,
    ) -> Result<(), ApiError> {
        crate::strategy::reset_status(r, obj);
        Self::apply(r, obj)
    }
    fn prepare_for_update(
        &self,
        _cx: &WriteContext<'_>,
        r: &ResourceInfo,
        new: &mut Value,
        _old: &Value,
    ) -> Result<(), ApiError> {
        Self::apply(r, new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `spec` of a `kind` object after the strategy's defaulting.
    fn defaulted(kind: &str, spec: Value) -> Value {
        let r = crate::kinds::v1_resource(kind);
        let mut obj = json!({"metadata": {"name": "w"}, "spec": spec});
        WorkloadStrategy::apply(r, &mut obj).expect("decodes");
        obj["spec"].take()
    }

    fn template() -> Value {
        json!({"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}})
    }

    #[test]
    fn deployment() {
        let s = defaulted("Deployment", json!({"template": template()}));
        assert_eq!(s["replicas"], 1);
        assert_eq!(
            s["strategy"],
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}})
        );
        assert_eq!(s["revisionHistoryLimit"], 10);
        assert_eq!(s["progressDeadlineSeconds"], 600);
        assert_eq!(s["template"]["spec"]["dnsPolicy"], "ClusterFirst");
        assert_eq!(
            s["template"]["spec"]["containers"][0]["imagePullPolicy"],
            "Always"
        );
        let r = defaulted(
            "Deployment",
            json!({"strategy": {"type": "Recreate"}, "replicas": 0}),
        );
        assert_eq!(r["strategy"], json!({"type": "Recreate"}));
        assert_eq!(r["replicas"], 0);
    }

    #[test]
    fn statefulset_daemonset_replicaset() {
        let s = defaulted("StatefulSet", json!({"template": template()}));
        assert_eq!(s["podManagementPolicy"], "OrderedReady");
        assert_eq!(
            s["updateStrategy"],
            json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}})
        );
        assert_eq!(s["revisionHistoryLimit"], 10);
        assert_eq!(
            s["persistentVolumeClaimRetentionPolicy"],
            json!({"whenDeleted": "Retain", "whenScaled": "Retain"})
        );
        let d = defaulted("DaemonSet", json!({"template": template()}));
        assert_eq!(
            d["updateStrategy"],
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}})
        );
        assert_eq!(d["revisionHistoryLimit"], 10);
        let rs = defaulted("ReplicaSet", json!({"template": template()}));
        assert_eq!(rs["replicas"], 1);
        assert_eq!(rs["template"]["spec"]["schedulerName"], "default-scheduler");
        let rc = defaulted("ReplicationController", json!({"template": template()}));
        assert_eq!(rc["selector"], json!({"a": "b"}));
    }

    #[test]
    fn job_and_cronjob() {
        let j = defaulted("Job", json!({"template": template()}));
        assert_eq!(j["completions"], 1);
        assert_eq!(j["parallelism"], 1);
        assert_eq!(j["backoffLimit"], 6);
        assert_eq!(j["completionMode"], "NonIndexed");
        assert_eq!(j["suspend"], false);
        assert_eq!(j["podReplacementPolicy"], "TerminatingOrFailed");
        let j = defaulted("Job", json!({"parallelism": 3}));
        assert!(j.get("completions").is_none());
        assert_eq!(j["parallelism"], 3);
        let c = defaulted(
            "CronJob",
            json!({"jobTemplate": {"spec": {"template": template()}}}),
        );
        assert_eq!(c["concurrencyPolicy"], "Allow");
        assert_eq!(c["suspend"], false);
        assert_eq!(c["successfulJobsHistoryLimit"], 3);
        assert_eq!(c["failedJobsHistoryLimit"], 1);
        assert!(c["jobTemplate"]["spec"].get("backoffLimit").is_none());
        assert_eq!(
            c["jobTemplate"]["spec"]["template"]["spec"]["restartPolicy"],
            "Always"
        );
    }
}
