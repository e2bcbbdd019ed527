//! resource.k8s.io (dynamic resource allocation): v1 and v1beta2 ↔ v1beta1 (the hub:
//! kube-apiserver stores these resources as v1beta1).
//!
//! Two shapes differ. A v1beta1 `DeviceRequest` carries the exact-request fields itself;
//! v1 and v1beta2 nest them under `exactly` (which is set, going up, when any of them is
//! set). A v1beta1 `Device` nests its description under `basic` (always written going
//! down); v1 and v1beta2 keep it on the device. Empty maps and lists are not carried over,
//! as in kube-apiserver.

use serde_json::{Map, Value};

use super::super::{ConversionError, Hook};

/// The exact-request fields (v1beta1 `DeviceRequest` ↔ `ExactDeviceRequest`).
const EXACT: [&str; 7] = [
    "deviceClassName",
    "selectors",
    "allocationMode",
    "count",
    "adminAccess",
    "tolerations",
    "capacity",
];
/// Hook fields for the request pairs: `exactly` and the flat fields.
const REQUEST_FIELDS: &[&str] = &[
    "exactly",
    "deviceClassName",
    "selectors",
    "allocationMode",
    "count",
    "adminAccess",
    "tolerations",
    "capacity",
];
/// The device description (v1beta1 `BasicDevice` ↔ the device itself).
const BASIC: [&str; 12] = [
    "attributes",
    "capacity",
    "consumesCounters",
    "nodeName",
    "nodeSelector",
    "allNodes",
    "taints",
    "bindsToNode",
    "bindingConditions",
    "bindingFailureConditions",
    "allowMultipleAllocations",
    "nodeAllocatableResourceMappings",
];
/// Hook fields for the device pairs (`@1.36`: only from that release on).
const DEVICE_FIELDS: &[&str] = &[
    "basic",
    "attributes",
    "capacity",
    "consumesCounters",
    "nodeName",
    "nodeSelector",
    "allNodes",
    "taints",
    "bindsToNode",
    "bindingConditions",
    "bindingFailureConditions",
    "allowMultipleAllocations",
    "nodeAllocatableResourceMappings@1.36",
];

pub static REQUEST_V1_TO_V1BETA1: Hook = Hook {
    name: "resource::REQUEST_V1_TO_V1BETA1",
    from: "io.k8s.api.resource.v1.DeviceRequest",
    to: "io.k8s.api.resource.v1beta1.DeviceRequest",
    fields: REQUEST_FIELDS,
    func: request_nested_to_flat,
};
pub static REQUEST_V1BETA1_TO_V1: Hook = Hook {
    name: "resource::REQUEST_V1BETA1_TO_V1",
    from: "io.k8s.api.resource.v1beta1.DeviceRequest",
    to: "io.k8s.api.resource.v1.DeviceRequest",
    fields: REQUEST_FIELDS,
    func: request_flat_to_nested,
};
pub static REQUEST_V1BETA2_TO_V1BETA1: Hook = Hook {
    name: "resource::REQUEST_V1BETA2_TO_V1BETA1",
    from: "io.k8s.api.resource.v1beta2.DeviceRequest",
    to: "io.k8s.api.resource.v1beta1.DeviceRequest",
    fields: REQUEST_FIELDS,
    func: request_nested_to_flat,
};
pub static REQUEST_V1BETA1_TO_V1BETA2: Hook = Hook {
    name: "resource::REQUEST_V1BETA1_TO_V1BETA2",
    from: "io.k8s.api.resource.v1beta1.DeviceRequest",
    to: "io.k8s.api.resource.v1beta2.DeviceRequest",
    fields: REQUEST_FIELDS,
    func: request_flat_to_nested,
};
pub static DEVICE_V1_TO_V1BETA1: Hook = Hook {
    name: "resource::DEVICE_V1_TO_V1BETA1",
    from: "io.k8s.api.resource.v1.Device",
    to: "io.k8s.api.resource.v1beta1.Device",
    fields: DEVICE_FIELDS,
    func: device_flat_to_basic,
};
pub static DEVICE_V1BETA1_TO_V1: Hook = Hook {
    name: "resource::DEVICE_V1BETA1_TO_V1",
    from: "io.k8s.api.resource.v1beta1.Device",
    to: "io.k8s.api.resource.v1.Device",
    fields: DEVICE_FIELDS,
    func: device_basic_to_flat,
};
pub static DEVICE_V1BETA2_TO_V1BETA1: Hook = Hook {
    name: "resource::DEVICE_V1BETA2_TO_V1BETA1",
    from: "io.k8s.api.resource.v1beta2.Device",
    to: "io.k8s.api.resource.v1beta1.Device",
    fields: DEVICE_FIELDS,
    func: device_flat_to_basic,
};
pub static DEVICE_V1BETA1_TO_V1BETA2: Hook = Hook {
    name: "resource::DEVICE_V1BETA1_TO_V1BETA2",
    from: "io.k8s.api.resource.v1beta1.Device",
    to: "io.k8s.api.resource.v1beta2.Device",
    fields: DEVICE_FIELDS,
    func: device_basic_to_flat,
};

/// Whether a field carries something (Go: non-empty string, non-zero count, non-nil
/// pointer or slice).
fn is_set(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Number(n) => n.as_f64() != Some(0.0),
        _ => true,
    }
}

fn non_empty(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Array(a) => !a.is_empty(),
        Value::Object(m) => !m.is_empty(),
        _ => true,
    }
}

fn request_nested_to_flat(
    from: &Map<String, Value>,
    to: &mut Map<String, Value>,
) -> Result<(), ConversionError> {
    if let Some(Value::Object(exactly)) = from.get("exactly") {
        for k in EXACT {
            if let Some(v) = exactly.get(k).filter(|v| !v.is_null()) {
                to.insert(k.to_string(), v.clone());
            }
        }
    }
    Ok(())
}

fn request_flat_to_nested(
    from: &Map<String, Value>,
    to: &mut Map<String, Value>,
) -> Result<(), ConversionError> {
    // Any exact-request field set makes an `exactly` (validation reports what is missing).
    if EXACT.iter().any(|k| from.get(*k).is_some_and(is_set)) {
        let mut exactly = Map::new();
        for k in EXACT {
            if let Some(v) = from.get(k).filter(|v| !v.is_null()) {
                exactly.insert(k.to_string(), v.clone());
            }
        }
        to.insert("exactly".into(), Value::Object(exactly));
    }
    Ok(())
}

fn device_flat_to_basic(
    from: &Map<String, Value>,
    to: &mut Map<String, Value>,
) -> Result<(), ConversionError> {
    let mut basic = Map::new();
    for k in BASIC {
        if let Some(v) = from.get(k).filter(|v| non_empty(v)) {
            basic.insert(k.to_string(), v.clone());
        }
    }
    to.insert("basic".into(), Value::Object(basic));
    Ok(())
}

fn device_basic_to_flat(
    from: &Map<String, Value>,
    to: &mut Map<String, Value>,
) -> Result<(), ConversionError> {
    if let Some(Value::Object(basic)) = from.get("basic") {
        for k in BASIC {
            if let Some(v) = basic.get(k).filter(|v| non_empty(v)) {
                to.insert(k.to_string(), v.clone());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(f: crate::conversions::HookFn, v: Value) -> Value {
        let mut to = Map::new();
        f(v.as_object().unwrap(), &mut to).unwrap();
        Value::Object(to)
    }

    #[test]
    fn request_exact_fields_nest_and_flatten() {
        let flat = json!({"deviceClassName": "gpu", "allocationMode": "ExactCount", "count": 2,
            "selectors": [{"cel": {"expression": "true"}}], "adminAccess": false});
        let nested = run(request_flat_to_nested, flat.clone());
        assert_eq!(nested, json!({"exactly": flat}));
        assert_eq!(run(request_nested_to_flat, nested), flat);
    }

    #[test]
    fn request_without_exact_fields_has_no_exactly() {
        let flat = json!({"deviceClassName": "", "count": 0});
        assert_eq!(run(request_flat_to_nested, flat), json!({}));
        assert_eq!(
            run(request_nested_to_flat, json!({"firstAvailable": []})),
            json!({})
        );
    }

    #[test]
    fn device_basic_nests_and_flattens() {
        let flat = json!({"attributes": {"model": {"string": "a"}}, "capacity": {},
            "nodeName": "n1", "taints": [], "allowMultipleAllocations": true});
        let basic = run(device_flat_to_basic, flat);
        assert_eq!(
            basic,
            json!({"basic": {"attributes": {"model": {"string": "a"}}, "nodeName": "n1", "allowMultipleAllocations": true}})
        );
        assert_eq!(
            run(device_basic_to_flat, basic),
            json!({"attributes": {"model": {"string": "a"}}, "nodeName": "n1", "allowMultipleAllocations": true})
        );
        // Going down, `basic` is always written.
        assert_eq!(run(device_flat_to_basic, json!({})), json!({"basic": {}}));
    }
}
