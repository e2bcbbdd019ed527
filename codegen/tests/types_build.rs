//! The type model of the real releases: every definition, field order, naming and the
//! mapping of JSON fields to the protobuf messages.

mod types_support;

use std::collections::BTreeMap;

use kiln_codegen::proto::{self, Label, ProtoSet, Scalar};
use kiln_codegen::types::{
    FieldType, ProtoEncoding, ProtoEntry, ProtoLayout, Shape, Special, StructDef, TypeDef,
};
use types_support::build;

fn struct_of<'a>(types: &'a BTreeMap<String, TypeDef>, id: &str) -> &'a StructDef {
    match &types[id].shape {
        Shape::Struct(s) => s,
        other => panic!("{id} is {other:?}"),
    }
}

fn json_order(s: &StructDef) -> Vec<&str> {
    s.fields.iter().map(|f| f.json_name.as_str()).collect()
}

#[test]
fn builds_every_definition_of_both_releases() {
    for release in ["1.35", "1.36"] {
        let spec = types_support::load_spec(release);
        let n = spec.components.as_ref().unwrap().schemas.len();
        let types = build(release);
        let schemas = &spec.components.as_ref().unwrap().schemas;
        let overlay = kiln_codegen::types::builtin_overlay()
            .unwrap()
            .types
            .keys()
            .filter(|id| !schemas.contains_key(*id))
            .count();
        assert_eq!(overlay, 13);
        assert_eq!(types.len(), n + overlay, "{release}");
        for id in spec.components.as_ref().unwrap().schemas.keys() {
            assert!(types.contains_key(id), "{id}");
        }
    }
    assert_eq!(
        types_support::load_spec("1.36")
            .components
            .unwrap()
            .schemas
            .len(),
        771
    );
}

#[test]
fn pod_and_object_meta_follow_go_struct_order() {
    let types = build("1.36");
    let pod = struct_of(&types, "io.k8s.api.core.v1.Pod");
    assert_eq!(
        json_order(pod),
        ["kind", "apiVersion", "metadata", "spec", "status"]
    );
    let list = struct_of(&types, "io.k8s.api.core.v1.PodList");
    assert_eq!(
        json_order(list),
        ["kind", "apiVersion", "metadata", "items"]
    );
    let meta = struct_of(&types, "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta");
    assert_eq!(
        json_order(meta),
        [
            "name",
            "generateName",
            "namespace",
            "selfLink",
            "uid",
            "resourceVersion",
            "generation",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "labels",
            "annotations",
            "ownerReferences",
            "finalizers",
            "managedFields",
        ]
    );
    // OwnerReference: apiVersion and kind are real proto fields (5 and 1), in Go order.
    let owner = struct_of(
        &types,
        "io.k8s.apimachinery.pkg.apis.meta.v1.OwnerReference",
    );
    assert_eq!(
        json_order(owner),
        [
            "apiVersion",
            "kind",
            "name",
            "uid",
            "controller",
            "blockOwnerDeletion"
        ]
    );
    assert_eq!(
        owner
            .field("apiVersion")
            .unwrap()
            .proto
            .as_ref()
            .unwrap()
            .tag,
        5
    );
}

#[test]
fn container_follows_proto_declaration_order() {
    let types = build("1.36");
    let protos = types_support::load_protos("1.36");
    let container = struct_of(&types, "io.k8s.api.core.v1.Container");
    let msg = protos.message("k8s.io.api.core.v1.Container").unwrap();
    let proto_order: Vec<&str> = msg.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(json_order(container), proto_order);
    assert_eq!(
        &json_order(container)[..4],
        ["name", "image", "command", "args"]
    );
    assert_eq!(json_order(container).last(), Some(&"tty"));
}

#[test]
fn volume_source_is_an_inline_embedding() {
    let types = build("1.36");
    let volume = struct_of(&types, "io.k8s.api.core.v1.Volume");
    // Flat in JSON ...
    let order = json_order(volume);
    assert_eq!(&order[..3], ["name", "hostPath", "emptyDir"]);
    assert!(order.contains(&"configMap") && order.contains(&"csi"));
    // ... nested in protobuf: Volume { name = 1; VolumeSource volumeSource = 2 }.
    let layout = volume.proto.as_ref().unwrap();
    assert_eq!(layout.message, "k8s.io.api.core.v1.Volume");
    assert!(
        matches!(&layout.entries[0], ProtoEntry::Field { tag: 1, json_name, .. } if json_name == "name")
    );
    let ProtoEntry::Embedded {
        tag: 2,
        name,
        layout: inner,
    } = &layout.entries[1]
    else {
        panic!("{:?}", layout.entries[1]);
    };
    assert_eq!(name, "volumeSource");
    assert_eq!(inner.message, "k8s.io.api.core.v1.VolumeSource");
    let host_path = volume.field("hostPath").unwrap().proto.as_ref().unwrap();
    assert_eq!(host_path.path, [2]);
    assert_eq!(host_path.tag, 1);
    let config_map = volume.field("configMap").unwrap().proto.as_ref().unwrap();
    assert_eq!((config_map.path.as_slice(), config_map.tag), (&[2][..], 19));
    assert_eq!(layout.entries.len(), 2);
}

#[test]
fn config_map_volume_source_embeds_local_object_reference() {
    let types = build("1.36");
    let s = struct_of(&types, "io.k8s.api.core.v1.ConfigMapVolumeSource");
    assert_eq!(json_order(s), ["name", "items", "defaultMode", "optional"]);
    let name = s.field("name").unwrap().proto.as_ref().unwrap();
    assert_eq!((name.path.as_slice(), name.tag), (&[1][..], 1));
    let layout = s.proto.as_ref().unwrap();
    let ProtoEntry::Embedded {
        tag: 1,
        name,
        layout: inner,
    } = &layout.entries[0]
    else {
        panic!("{:?}", layout.entries[0]);
    };
    assert_eq!(name, "localObjectReference");
    assert_eq!(inner.message, "k8s.io.api.core.v1.LocalObjectReference");
    let items = s.field("items").unwrap().proto.as_ref().unwrap();
    assert_eq!((items.path.len(), items.tag), (0, 2));
}

/// Counts the proto fields a layout covers, recursively through embeddings.
fn check_layout(layout: &ProtoLayout, protos: &ProtoSet, s: &StructDef, id: &str) {
    let msg = protos.message(&layout.message).unwrap();
    let tags: Vec<u32> = layout
        .entries
        .iter()
        .map(|e| match e {
            ProtoEntry::Field { tag, .. } | ProtoEntry::Embedded { tag, .. } => *tag,
        })
        .collect();
    let want: Vec<u32> = msg.fields.iter().map(|f| f.tag).collect();
    assert_eq!(tags, want, "{id}: {}", layout.message);
    for e in &layout.entries {
        match e {
            ProtoEntry::Field { json_name, .. } => {
                assert!(
                    s.field(json_name).unwrap().proto.is_some(),
                    "{id}.{json_name}"
                );
            }
            ProtoEntry::Embedded { layout, .. } => check_layout(layout, protos, s, id),
        }
    }
}

#[test]
fn every_proto_field_of_every_definition_is_mapped() {
    for release in ["1.35", "1.36"] {
        let types = build(release);
        let protos = types_support::load_protos(release);
        let mut with_message = 0;
        for t in types.values() {
            let Shape::Struct(s) = &t.shape else { continue };
            let message = kiln_codegen::types::proto_message_of(&t.id);
            if protos.message(&message).is_some() {
                let layout = s
                    .proto
                    .as_ref()
                    .unwrap_or_else(|| panic!("{} has a message but no layout", t.id));
                check_layout(layout, &protos, s, &t.id);
                with_message += 1;
            }
            // Every JSON field not in protobuf is TypeMeta's.
            for f in &s.fields {
                if f.proto.is_none() && s.proto.is_some() {
                    assert!(
                        f.json_name == "kind" || f.json_name == "apiVersion",
                        "{}.{} has no protobuf mapping",
                        t.id,
                        f.json_name
                    );
                }
            }
        }
        assert!(with_message > 700, "{release}: {with_message}");
    }
}

#[test]
fn types_without_protobuf_form() {
    let types = build("1.36");
    let none: Vec<&str> = types
        .values()
        .filter(|t| !kiln_codegen::types::has_proto(t))
        .map(|t| t.id.as_str())
        .collect();
    assert_eq!(
        none,
        [
            "io.k8s.apimachinery.pkg.apis.meta.v1.Patch",
            "io.k8s.apimachinery.pkg.apis.meta.v1.Table",
            "io.k8s.apimachinery.pkg.apis.meta.v1.TableColumnDefinition",
            "io.k8s.apimachinery.pkg.apis.meta.v1.TableRow",
            "io.k8s.apimachinery.pkg.apis.meta.v1.TableRowCondition",
            "io.k8s.apimachinery.pkg.version.Info",
        ]
    );
}

#[test]
fn json_and_proto_shapes_that_differ() {
    let types = build("1.36");
    // Secret data: map<string, bytes>, base64 in JSON.
    let secret = struct_of(&types, "io.k8s.api.core.v1.Secret");
    let data = secret.field("data").unwrap();
    assert_eq!(data.ty, FieldType::Map(Box::new(FieldType::Bytes)));
    assert_eq!(
        data.proto.as_ref().unwrap().encoding,
        ProtoEncoding::Map {
            key: Scalar::String,
            value: Box::new(ProtoEncoding::Scalar(Scalar::Bytes))
        }
    );
    // APIResource.verbs: a JSON list, a `Verbs { repeated string items = 1 }` message.
    let res = struct_of(&types, "io.k8s.apimachinery.pkg.apis.meta.v1.APIResource");
    assert_eq!(
        res.field("verbs").unwrap().proto.as_ref().unwrap().encoding,
        ProtoEncoding::Wrapper {
            message: "k8s.io.apimachinery.pkg.apis.meta.v1.Verbs".into(),
            tag: 1,
            inner: Box::new(ProtoEncoding::RepeatedScalar(Scalar::String)),
        }
    );
    // UserInfo.extra: map<string, ExtraValue>, ExtraValue wrapping a string list.
    let user = struct_of(&types, "io.k8s.api.authentication.v1.UserInfo");
    let extra = user.field("extra").unwrap();
    assert_eq!(
        extra.ty,
        FieldType::Map(Box::new(FieldType::Array(Box::new(FieldType::String))))
    );
    assert_eq!(
        extra.proto.as_ref().unwrap().encoding,
        ProtoEncoding::Map {
            key: Scalar::String,
            value: Box::new(ProtoEncoding::Wrapper {
                message: "k8s.io.api.authentication.v1.ExtraValue".into(),
                tag: 1,
                inner: Box::new(ProtoEncoding::RepeatedScalar(Scalar::String)),
            })
        }
    );
    // Special types are messages of their own.
    let meta = struct_of(&types, "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta");
    assert_eq!(
        meta.field("creationTimestamp")
            .unwrap()
            .proto
            .as_ref()
            .unwrap()
            .encoding,
        ProtoEncoding::Message("k8s.io.apimachinery.pkg.apis.meta.v1.Time".into())
    );
    assert_eq!(
        types["io.k8s.apimachinery.pkg.util.intstr.IntOrString"].shape,
        Shape::Special(Special::IntOrString)
    );
    // JSONSchemaProps: `$ref` ↔ proto `ref`, x-kubernetes-* ↔ xKubernetes*; recursion boxed.
    let props = struct_of(
        &types,
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps",
    );
    let r = props.field("$ref").unwrap();
    assert_eq!(r.rust_name, "ref_");
    assert_eq!(r.proto.as_ref().unwrap().tag, 3);
    let p = props.field("x-kubernetes-preserve-unknown-fields").unwrap();
    assert_eq!(p.rust_name, "x_kubernetes_preserve_unknown_fields");
    assert_eq!(p.proto.as_ref().unwrap().tag, 38);
    assert!(props.field("not").unwrap().boxed);
    // kiln_runtime::SchemaOrArray boxes its schema itself.
    assert!(!props.field("items").unwrap().boxed);
    assert!(!props.field("properties").unwrap().boxed);
    assert_eq!(json_order(props)[..3], ["id", "$schema", "$ref"]);
}

#[test]
fn schema_extensions_are_recorded() {
    let types = build("1.36");
    let spec = struct_of(&types, "io.k8s.api.core.v1.PodSpec");
    let containers = spec.field("containers").unwrap();
    assert_eq!(containers.ext.patch_strategy.as_deref(), Some("merge"));
    assert_eq!(containers.ext.patch_merge_key.as_deref(), Some("name"));
    assert_eq!(containers.ext.list_type.as_deref(), Some("map"));
    assert_eq!(containers.ext.list_map_keys, ["name"]);
    assert!(containers.required);
    assert!(!spec.field("volumes").unwrap().required);
    let selector = &types["io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector"];
    assert_eq!(
        selector.extensions.get("x-kubernetes-map-type"),
        Some(&serde_json::json!("atomic"))
    );
    let pod = &types["io.k8s.api.core.v1.Pod"];
    assert_eq!(pod.gvks.len(), 1);
    assert_eq!(
        (pod.gvks[0].group.as_str(), pod.gvks[0].kind.as_str()),
        ("", "Pod")
    );
    assert_eq!(pod.module, ["api", "core", "v1"]);
}

#[test]
fn keyword_and_acronym_field_names() {
    let types = build("1.36");
    let spec = struct_of(&types, "io.k8s.api.core.v1.ServiceSpec");
    assert_eq!(spec.field("clusterIPs").unwrap().rust_name, "cluster_ips");
    assert_eq!(spec.field("externalIPs").unwrap().rust_name, "external_ips");
    assert_eq!(spec.field("type").unwrap().rust_name, "type_");
    let node = struct_of(&types, "io.k8s.api.core.v1.NodeSpec");
    assert_eq!(node.field("podCIDRs").unwrap().rust_name, "pod_cidrs");
    let pod = struct_of(&types, "io.k8s.api.core.v1.PodSpec");
    assert_eq!(pod.field("hostIPC").unwrap().rust_name, "host_ipc");
    let list = struct_of(&types, "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta");
    assert_eq!(list.field("continue").unwrap().rust_name, "continue_");
    assert_eq!(
        types["io.k8s.kube-aggregator.pkg.apis.apiregistration.v1.APIService"].name,
        "APIService"
    );
    assert_eq!(types["io.k8s.api.storage.v1.CSIDriver"].name, "CSIDriver");
}

#[test]
fn overlay_wire_types() {
    let types = build("1.36");
    let pom = struct_of(
        &types,
        "io.k8s.apimachinery.pkg.apis.meta.v1.PartialObjectMetadata",
    );
    assert_eq!(json_order(pom), ["kind", "apiVersion", "metadata"]);
    assert_eq!(
        pom.field("metadata").unwrap().proto.as_ref().unwrap().tag,
        1
    );
    let table = struct_of(&types, "io.k8s.apimachinery.pkg.apis.meta.v1.Table");
    assert_eq!(
        json_order(table),
        [
            "kind",
            "apiVersion",
            "metadata",
            "columnDefinitions",
            "rows"
        ]
    );
    assert!(table.proto.is_none());
    let row = struct_of(&types, "io.k8s.apimachinery.pkg.apis.meta.v1.TableRow");
    assert_eq!(
        row.field("cells").unwrap().ty,
        FieldType::Array(Box::new(FieldType::Json))
    );
    let list = struct_of(&types, "io.k8s.api.apidiscovery.v2.APIGroupDiscoveryList");
    assert_eq!(
        json_order(list),
        ["kind", "apiVersion", "metadata", "items"]
    );
    let res = struct_of(&types, "io.k8s.api.apidiscovery.v2.APIResourceDiscovery");
    assert_eq!(
        json_order(res),
        [
            "resource",
            "responseKind",
            "scope",
            "singularResource",
            "verbs",
            "shortNames",
            "categories",
            "subresources"
        ]
    );
    assert_eq!(
        res.field("responseKind").unwrap().ty,
        FieldType::Ref("io.k8s.apimachinery.pkg.apis.meta.v1.GroupVersionKind".into())
    );
    assert!(res.field("verbs").unwrap().required);
    assert_eq!(
        res.field("subresources").unwrap().ext.list_type.as_deref(),
        Some("map")
    );
    assert_eq!(
        res.field("subresources").unwrap().ext.list_map_keys,
        ["subresource"]
    );
    let gvks: Vec<_> = types["io.k8s.api.apidiscovery.v2.APIGroupDiscoveryList"]
        .gvks
        .iter()
        .map(|g| format!("{}/{}/{}", g.group, g.version, g.kind))
        .collect();
    assert_eq!(gvks, ["apidiscovery.k8s.io/v2/APIGroupDiscoveryList"]);
}

#[test]
fn overlay_orders_spec_types_without_protobuf() {
    let types = build("1.36");
    let info = struct_of(&types, "io.k8s.apimachinery.pkg.version.Info");
    assert_eq!(
        &json_order(info)[..4],
        ["major", "minor", "emulationMajor", "emulationMinor"]
    );
    assert_eq!(json_order(info).last(), Some(&"platform"));
}

#[test]
fn proto_parser_reads_real_files() {
    let protos = types_support::load_protos("1.36");
    assert!(protos.messages.len() > 1000);
    let secret = protos.message("k8s.io.api.core.v1.Secret").unwrap();
    let data = secret.field("data").unwrap();
    assert_eq!(data.label, Label::Map);
    assert_eq!(data.tag, 2);
    assert_eq!(
        data.ty,
        proto::FieldType::Map {
            key: Scalar::String,
            value: Box::new(proto::FieldType::Scalar(Scalar::Bytes))
        }
    );
    let pod = protos.message("k8s.io.api.core.v1.Pod").unwrap();
    assert_eq!(
        pod.fields[0].ty,
        proto::FieldType::Message("k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta".into())
    );
    let meta = protos
        .message("k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta")
        .unwrap();
    let managed = meta.field("managedFields").unwrap();
    assert_eq!((managed.label, managed.tag), (Label::Repeated, 17));
    assert!(
        meta.doc
            .as_deref()
            .unwrap()
            .starts_with("ObjectMeta is metadata")
    );
    let discovery = protos
        .message("k8s.io.api.apidiscovery.v2.APIVersionDiscovery")
        .unwrap();
    assert!(
        discovery
            .field("resources")
            .unwrap()
            .markers
            .contains(&"listMapKey=resource".to_string())
    );
    let quantity = protos
        .message("k8s.io.apimachinery.pkg.api.resource.Quantity")
        .unwrap();
    assert_eq!(quantity.fields[0].name, "string");
}
