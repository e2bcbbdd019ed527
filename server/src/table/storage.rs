//! Printers of `storage.k8s.io`. CSIStorageCapacity keeps the default columns: its
//! registry uses the default table convertor although a printer exists.

use serde_json::{Value, json};

use super::format::{Ctx, arr_at, at, str_at};
use super::{AGE, Col, Desc, Entry, NAME, Printer, col};

pub static PRINTERS: &[Entry] = &[
    Entry {
        group: "storage.k8s.io",
        kind: "StorageClass",
        printer: Printer::new(STORAGE_CLASS, storage_class),
    },
    Entry {
        group: "storage.k8s.io",
        kind: "VolumeAttributesClass",
        printer: Printer::new(VOLUME_ATTRIBUTES_CLASS, volume_attributes_class),
    },
    Entry {
        group: "storage.k8s.io",
        kind: "VolumeAttachment",
        printer: Printer::new(VOLUME_ATTACHMENT, volume_attachment),
    },
    Entry {
        group: "storage.k8s.io",
        kind: "CSINode",
        printer: Printer::new(CSI_NODE, csi_node),
    },
    Entry {
        group: "storage.k8s.io",
        kind: "CSIDriver",
        printer: Printer::new(CSI_DRIVER, csi_driver),
    },
];

fn name(o: &Value) -> Value {
    json!(str_at(o, "metadata/name"))
}

fn age(o: &Value, ctx: &Ctx) -> Value {
    json!(ctx.since(at(o, "metadata/creationTimestamp")))
}

fn annotation<'a>(o: &'a Value, key: &str) -> Option<&'a str> {
    at(o, "metadata/annotations")
        .and_then(|a| a.get(key))
        .and_then(Value::as_str)
}

const STORAGE_CLASS: &[Col] = &[
    NAME,
    col(
        "Provisioner",
        "string",
        Desc::Field("io.k8s.api.storage.v1.StorageClass", "provisioner"),
    ),
    col(
        "ReclaimPolicy",
        "string",
        Desc::Field("io.k8s.api.storage.v1.StorageClass", "reclaimPolicy"),
    ),
    col(
        "VolumeBindingMode",
        "string",
        Desc::Field("io.k8s.api.storage.v1.StorageClass", "volumeBindingMode"),
    ),
    col(
        "AllowVolumeExpansion",
        "string",
        Desc::Field("io.k8s.api.storage.v1.StorageClass", "allowVolumeExpansion"),
    ),
    AGE,
];

fn storage_class(o: &Value, ctx: &Ctx) -> Vec<Value> {
    let mut n = str_at(o, "metadata/name").to_string();
    let is_default = annotation(o, "storageclass.kubernetes.io/is-default-class") == Some("true")
        || annotation(o, "storageclass.beta.kubernetes.io/is-default-class") == Some("true");
    if is_default {
        n.push_str(" (default)");
    }
    vec![
        json!(n),
        json!(str_at(o, "provisioner")),
        json!(
            o.get("reclaimPolicy")
                .and_then(Value::as_str)
                .unwrap_or("Delete")
        ),
        json!(
            o.get("volumeBindingMode")
                .and_then(Value::as_str)
                .unwrap_or("Immediate")
        ),
        json!(
            o.get("allowVolumeExpansion")
                .and_then(Value::as_bool)
                .unwrap_or(false)
        ),
        age(o, ctx),
    ]
}

const VOLUME_ATTRIBUTES_CLASS: &[Col] = &[
    NAME,
    col(
        "DriverName",
        "string",
        Desc::Field("io.k8s.api.storage.v1.VolumeAttributesClass", "driverName"),
    ),
    AGE,
];

fn volume_attributes_class(o: &Value, ctx: &Ctx) -> Vec<Value> {
    vec![name(o), json!(str_at(o, "driverName")), age(o, ctx)]
}

const VOLUME_ATTACHMENT: &[Col] = &[
    NAME,
    Col {
        name: "Attacher",
        ty: "string",
        format: "name",
        desc: Desc::Field("io.k8s.api.storage.v1.VolumeAttachmentSpec", "attacher"),
        priority: 0,
    },
    col(
        "PV",
        "string",
        Desc::Field(
            "io.k8s.api.storage.v1.VolumeAttachmentSource",
            "persistentVolumeName",
        ),
    ),
    col(
        "Node",
        "string",
        Desc::Field("io.k8s.api.storage.v1.VolumeAttachmentSpec", "nodeName"),
    ),
    col(
        "Attached",
        "boolean",
        Desc::Field("io.k8s.api.storage.v1.VolumeAttachmentStatus", "attached"),
    ),
    AGE,
];

fn volume_attachment(o: &Value, ctx: &Ctx) -> Vec<Value> {
    vec![
        name(o),
        json!(str_at(o, "spec/attacher")),
        json!(str_at(o, "spec/source/persistentVolumeName")),
        json!(str_at(o, "spec/nodeName")),
        json!(
            at(o, "status/attached")
                .and_then(Value::as_bool)
                .unwrap_or(false)
        ),
        age(o, ctx),
    ]
}

const CSI_NODE: &[Col] = &[
    NAME,
    col(
        "Drivers",
        "integer",
        Desc::Text("Drivers indicates the number of CSI drivers registered on the node"),
    ),
    AGE,
];

fn csi_node(o: &Value, ctx: &Ctx) -> Vec<Value> {
    vec![name(o), json!(arr_at(o, "spec/drivers").len()), age(o, ctx)]
}

const CSI_DRIVER: &[Col] = &[
    NAME,
    col(
        "AttachRequired",
        "boolean",
        Desc::Field("io.k8s.api.storage.v1.CSIDriverSpec", "attachRequired"),
    ),
    col(
        "PodInfoOnMount",
        "boolean",
        Desc::Field("io.k8s.api.storage.v1.CSIDriverSpec", "podInfoOnMount"),
    ),
    col(
        "StorageCapacity",
        "boolean",
        Desc::Field("io.k8s.api.storage.v1.CSIDriverSpec", "storageCapacity"),
    ),
    col(
        "TokenRequests",
        "string",
        Desc::Field("io.k8s.api.storage.v1.CSIDriverSpec", "tokenRequests"),
    ),
    col(
        "RequiresRepublish",
        "boolean",
        Desc::Field("io.k8s.api.storage.v1.CSIDriverSpec", "requiresRepublish"),
    ),
    col(
        "Modes",
        "string",
        Desc::Field(
            "io.k8s.api.storage.v1.CSIDriverSpec",
            "volumeLifecycleModes",
        ),
    ),
    AGE,
];

fn csi_driver(o: &Value, ctx: &Ctx) -> Vec<Value> {
    let flag = |p: &str, default: bool| at(o, p).and_then(Value::as_bool).unwrap_or(default);
    let modes: Vec<&str> = arr_at(o, "spec/volumeLifecycleModes")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let modes = if modes.is_empty() {
        "<none>".to_string()
    } else {
        modes.join(",")
    };
    let tokens = match at(o, "spec/tokenRequests").and_then(Value::as_array) {
        Some(list) => list
            .iter()
            .map(|t| str_at(t, "audience"))
            .collect::<Vec<_>>()
            .join(","),
        None => "<unset>".to_string(),
    };
    vec![
        name(o),
        json!(flag("spec/attachRequired", true)),
        json!(flag("spec/podInfoOnMount", false)),
        json!(flag("spec/storageCapacity", false)),
        json!(tokens),
        json!(flag("spec/requiresRepublish", false)),
        json!(modes),
        age(o, ctx),
    ]
}
