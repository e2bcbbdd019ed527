//! `events.k8s.io/v1` Event ↔ core `v1` Event (the hub: kube-apiserver keeps both views
//! in one stored core Event under `/registry/events/`). The renamed fields map one to one:
//! `regarding` ↔ `involvedObject`, `note` ↔ `message`, `reportingController` ↔
//! `reportingComponent`, `deprecatedSource` ↔ `source`, `deprecatedFirstTimestamp` ↔
//! `firstTimestamp`, `deprecatedLastTimestamp` ↔ `lastTimestamp`, `deprecatedCount` ↔ `count`.

use serde_json::{Map, Value};

use super::super::{ConversionError, Hook};

/// (events.k8s.io/v1 name, core/v1 name)
const RENAMED: [(&str, &str); 7] = [
    ("regarding", "involvedObject"),
    ("note", "message"),
    ("reportingController", "reportingComponent"),
    ("deprecatedSource", "source"),
    ("deprecatedFirstTimestamp", "firstTimestamp"),
    ("deprecatedLastTimestamp", "lastTimestamp"),
    ("deprecatedCount", "count"),
];

pub static EVENT_V1_TO_CORE: Hook = Hook {
    name: "events::EVENT_V1_TO_CORE",
    from: "io.k8s.api.events.v1.Event",
    to: "io.k8s.api.core.v1.Event",
    fields: &[
        "regarding",
        "note",
        "reportingController",
        "deprecatedSource",
        "deprecatedFirstTimestamp",
        "deprecatedLastTimestamp",
        "deprecatedCount",
        "involvedObject",
        "message",
        "reportingComponent",
        "source",
        "firstTimestamp",
        "lastTimestamp",
        "count",
    ],
    func: event_v1_to_core,
};

pub static EVENT_CORE_TO_V1: Hook = Hook {
    name: "events::EVENT_CORE_TO_V1",
    from: "io.k8s.api.core.v1.Event",
    to: "io.k8s.api.events.v1.Event",
    fields: &[
        "involvedObject",
        "message",
        "reportingComponent",
        "source",
        "firstTimestamp",
        "lastTimestamp",
        "count",
        "regarding",
        "note",
        "reportingController",
        "deprecatedSource",
        "deprecatedFirstTimestamp",
        "deprecatedLastTimestamp",
        "deprecatedCount",
    ],
    func: event_core_to_v1,
};

fn event_v1_to_core(
    from: &Map<String, Value>,
    to: &mut Map<String, Value>,
) -> Result<(), ConversionError> {
    for (v1, core) in RENAMED {
        if let Some(v) = from.get(v1) {
            to.insert(core.to_string(), v.clone());
        }
    }
    Ok(())
}

fn event_core_to_v1(
    from: &Map<String, Value>,
    to: &mut Map<String, Value>,
) -> Result<(), ConversionError> {
    for (v1, core) in RENAMED {
        if let Some(v) = from.get(core) {
            to.insert(v1.to_string(), v.clone());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renamed_fields_round_trip() {
        let core = json!({"involvedObject": {"kind": "Pod", "name": "p"}, "message": "m",
            "reportingComponent": "kubelet", "source": {"component": "c"}, "count": 3,
            "firstTimestamp": "2026-01-01T00:00:00Z", "lastTimestamp": "2026-01-02T00:00:00Z"});
        let mut v1 = Map::new();
        event_core_to_v1(core.as_object().unwrap(), &mut v1).unwrap();
        assert_eq!(v1["regarding"]["name"], "p");
        assert_eq!(v1["note"], "m");
        assert_eq!(v1["reportingController"], "kubelet");
        assert_eq!(v1["deprecatedCount"], 3);
        let mut back = Map::new();
        event_v1_to_core(&v1, &mut back).unwrap();
        assert_eq!(Value::Object(back), core);
    }
}
