//! One object, many versions: the store keeps each object in its storage version (the hub
//! of `kiln_generated::CONVERSIONS`, from `schemas/overlay/storage-versions.json`) and
//! converts request version → storage version on write and back on read, list and watch.
//! Resources served in one version only are stored as they are.

use std::collections::HashMap;
use std::sync::OnceLock;

use kiln_runtime::conversions::{self, KindConversions, TypeMap, VersionConversion};
use kiln_runtime::registry::ResourceInfo;
use serde_json::Value;

use crate::errors::ApiError;
use crate::objects;

struct Entry {
    family: &'static KindConversions,
    version: &'static VersionConversion,
    /// The storage version's resource.
    hub: &'static ResourceInfo,
}

/// (group, version, plural) → its conversions, for every resource with any.
fn index() -> &'static HashMap<(&'static str, &'static str, &'static str), Entry> {
    static INDEX: OnceLock<HashMap<(&'static str, &'static str, &'static str), Entry>> =
        OnceLock::new();
    INDEX.get_or_init(|| {
        let mut out = HashMap::new();
        for family in kiln_generated::CONVERSIONS {
            let Some(hub) = find(family.hub_group, family.hub_version, family.hub_resource) else {
                continue;
            };
            for version in family.versions {
                out.insert(
                    (version.group, version.version, version.resource),
                    Entry {
                        family,
                        version,
                        hub,
                    },
                );
            }
        }
        out
    })
}

fn find(group: &str, version: &str, plural: &str) -> Option<&'static ResourceInfo> {
    kiln_generated::REGISTRY
        .iter()
        .find(|g| g.name == group)?
        .versions
        .iter()
        .find(|v| v.version == version)?
        .resources
        .iter()
        .find(|r| r.plural == plural)
}

fn entry(r: &ResourceInfo) -> Option<&'static Entry> {
    index().get(&(r.group, r.version, r.plural))
}

/// The resource `r`'s objects are stored as, when that is another version or group.
pub fn storage_resource(r: &ResourceInfo) -> Option<&'static ResourceInfo> {
    entry(r).filter(|e| !e.version.is_hub()).map(|e| e.hub)
}

/// Whether objects of `r` are stored in `r`'s own version (no conversion needed).
pub fn is_storage_version(r: &ResourceInfo) -> bool {
    storage_resource(r).is_none()
}

/// The group and version objects of `r` are stored in.
pub fn storage_group_version(r: &ResourceInfo) -> (&str, &str) {
    match entry(r) {
        Some(e) => (e.family.hub_group, e.family.hub_version),
        None => (r.group, r.version),
    }
}

fn run(
    map: &TypeMap,
    target: &ResourceInfo,
    obj: &Value,
) -> Result<Value, kiln_runtime::conversions::ConversionError> {
    let mut out = conversions::convert(map, obj)?;
    objects::set_type_meta(&mut out, &target.group_version(), target.kind);
    match target.codec {
        Some(codec) => (codec.normalize_value)(out)
            .map_err(|e| kiln_runtime::conversions::ConversionError(e.to_string())),
        None => Ok(out),
    }
}

/// `obj` (in `r`'s version) in its storage version.
pub fn to_storage(r: &ResourceInfo, obj: Value) -> Result<Value, ApiError> {
    let Some(e) = entry(r) else { return Ok(obj) };
    let Some(map) = e.version.to_hub else {
        return Ok(obj);
    };
    run(map, e.hub, &obj).map_err(|err| {
        ApiError::bad_request(format!(
            "converting {} to {}: {err}",
            r.group_version(),
            e.hub.group_version()
        ))
    })
}

/// A stored object (in its storage version) in `r`'s version.
pub fn from_storage(r: &ResourceInfo, obj: Value) -> Result<Value, ApiError> {
    let Some(e) = entry(r) else { return Ok(obj) };
    let Some(map) = e.version.from_hub else {
        return Ok(obj);
    };
    run(map, r, &obj).map_err(|err| {
        ApiError::internal(format!(
            "converting stored {} to {}: {err}",
            e.hub.group_version(),
            r.group_version()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn res(group: &str, version: &str, plural: &str) -> &'static ResourceInfo {
        find(group, version, plural).unwrap()
    }

    #[test]
    fn hpa_is_stored_as_v2() {
        let v1 = res("autoscaling", "v1", "horizontalpodautoscalers");
        let v2 = res("autoscaling", "v2", "horizontalpodautoscalers");
        assert_eq!(storage_resource(v1).map(|r| r.version), Some("v2"));
        assert!(is_storage_version(v2));
        assert_eq!(storage_group_version(v1), ("autoscaling", "v2"));
        let pods = res("", "v1", "pods");
        assert!(is_storage_version(pods));
    }

    #[test]
    fn hpa_v1_round_trips_through_storage() {
        let v1 = res("autoscaling", "v1", "horizontalpodautoscalers");
        let obj = json!({"kind": "HorizontalPodAutoscaler", "apiVersion": "autoscaling/v1",
            "metadata": {"name": "h", "namespace": "d"},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web", "apiVersion": "apps/v1"},
                "minReplicas": 1, "maxReplicas": 3, "targetCPUUtilizationPercentage": 70}});
        let stored = to_storage(v1, obj.clone()).unwrap();
        assert_eq!(stored["apiVersion"], "autoscaling/v2");
        assert_eq!(
            stored["spec"]["metrics"],
            json!([{"type": "Resource", "resource": {"name": "cpu",
                "target": {"type": "Utilization", "averageUtilization": 70}}}])
        );
        let back = from_storage(v1, stored).unwrap();
        assert_eq!(back["apiVersion"], "autoscaling/v1");
        assert_eq!(back["spec"], obj["spec"]);
    }

    #[test]
    fn events_k8s_io_is_stored_as_a_core_event() {
        let ev = res("events.k8s.io", "v1", "events");
        let core = res("", "v1", "events");
        assert_eq!(storage_resource(ev).map(|r| r.group), Some(""));
        assert!(is_storage_version(core));
        let obj = json!({"kind": "Event", "apiVersion": "events.k8s.io/v1",
            "metadata": {"name": "e", "namespace": "d"}, "eventTime": null,
            "regarding": {"kind": "Pod", "name": "p"}, "note": "hello", "reason": "R",
            "reportingController": "c", "deprecatedCount": 2});
        let stored = to_storage(ev, obj).unwrap();
        assert_eq!(stored["apiVersion"], "v1");
        assert_eq!(stored["message"], "hello");
        assert_eq!(stored["involvedObject"]["name"], "p");
        assert_eq!(stored["reportingComponent"], "c");
        assert_eq!(stored["count"], 2);
        let back = from_storage(ev, stored).unwrap();
        assert_eq!(back["note"], "hello");
        assert_eq!(back["regarding"]["name"], "p");
    }
}
