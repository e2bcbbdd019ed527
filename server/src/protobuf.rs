//! The Kubernetes protobuf envelope: `k8s\0` followed by a `runtime.Unknown` message
//! `{typeMeta=1{apiVersion=1, kind=2}, raw=2, contentEncoding=3, contentType=4}` whose
//! `raw` is the object's own message.
//!
//! Responses: [`encode_value`] writes any body the server produces (an object of a built-in
//! kind, its list, `Status`, `PartialObjectMetadata(List)`) by its `apiVersion` and `kind`;
//! lists are composed here from `ListMeta` and the item kind's message. Watch streams are
//! frames of a 4-byte big-endian length and a `WatchEvent` ([`watch_frame`]).

use std::collections::HashMap;
use std::sync::OnceLock;

use bytes::{Buf, BufMut};
use kiln_generated::apimachinery::pkg::apis::meta::v1::ListMeta;
use kiln_runtime::codec::KindCodec;
use prost::Message;
use prost::encoding::{self, DecodeContext, WireType};
use serde::Deserialize;
use serde_json::Value;

/// The four bytes every Kubernetes protobuf object starts with.
pub const MAGIC: &[u8; 4] = b"k8s\0";

/// A decoded envelope.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Unknown {
    pub api_version: String,
    pub kind: String,
    pub raw: Vec<u8>,
    pub content_encoding: String,
    pub content_type: String,
}

fn decode_type_meta(mut buf: &[u8], out: &mut Unknown) -> Result<(), prost::DecodeError> {
    while buf.has_remaining() {
        let (tag, wire) = encoding::decode_key(&mut buf)?;
        match tag {
            1 => encoding::string::merge(
                wire,
                &mut out.api_version,
                &mut buf,
                DecodeContext::default(),
            )?,
            2 => encoding::string::merge(wire, &mut out.kind, &mut buf, DecodeContext::default())?,
            _ => encoding::skip_field(wire, tag, &mut buf, DecodeContext::default())?,
        }
    }
    Ok(())
}

/// Decodes `k8s\0` + `runtime.Unknown`.
pub fn decode_envelope(bytes: &[u8]) -> Result<Unknown, String> {
    let Some(mut buf) = bytes.strip_prefix(MAGIC.as_slice()) else {
        return Err("provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]".into());
    };
    let mut out = Unknown::default();
    let ctx = DecodeContext::default;
    let err = |e: prost::DecodeError| e.to_string();
    while buf.has_remaining() {
        let (tag, wire) = encoding::decode_key(&mut buf).map_err(err)?;
        match tag {
            1 => {
                let mut tm = Vec::new();
                encoding::bytes::merge(wire, &mut tm, &mut buf, ctx()).map_err(err)?;
                decode_type_meta(&tm, &mut out).map_err(err)?;
            }
            2 => encoding::bytes::merge(wire, &mut out.raw, &mut buf, ctx()).map_err(err)?,
            3 => encoding::string::merge(wire, &mut out.content_encoding, &mut buf, ctx())
                .map_err(err)?,
            4 => encoding::string::merge(wire, &mut out.content_type, &mut buf, ctx())
                .map_err(err)?,
            _ => encoding::skip_field(wire, tag, &mut buf, ctx()).map_err(err)?,
        }
    }
    if wire_ok(&out) {
        Ok(out)
    } else {
        Err("unsupported protobuf content encoding".into())
    }
}

fn wire_ok(u: &Unknown) -> bool {
    u.content_encoding.is_empty()
}

/// Encodes `k8s\0` + `runtime.Unknown` around a message.
pub fn encode_envelope(api_version: &str, kind: &str, raw: &[u8]) -> Vec<u8> {
    let mut type_meta = Vec::new();
    encoding::string::encode(1, &api_version.to_string(), &mut type_meta);
    encoding::string::encode(2, &kind.to_string(), &mut type_meta);
    let mut out = Vec::with_capacity(raw.len() + type_meta.len() + 16);
    out.put_slice(MAGIC);
    encoding::encode_key(1, WireType::LengthDelimited, &mut out);
    encoding::encode_varint(type_meta.len() as u64, &mut out);
    out.put_slice(&type_meta);
    encoding::encode_key(2, WireType::LengthDelimited, &mut out);
    encoding::encode_varint(raw.len() as u64, &mut out);
    out.put_slice(raw);
    // contentEncoding and contentType are written empty, as kube-apiserver does.
    encoding::string::encode(3, &String::new(), &mut out);
    encoding::string::encode(4, &String::new(), &mut out);
    out
}

// ---------------------------------------------------------------------------------------
// Encoding whole response bodies
// ---------------------------------------------------------------------------------------

/// The media type of protobuf responses.
pub const CONTENT_TYPE: &str = "application/vnd.kubernetes.protobuf";
/// The media type of protobuf watch streams.
pub const STREAM_CONTENT_TYPE: &str = "application/vnd.kubernetes.protobuf;stream=watch";

/// How one `apiVersion`/`kind` is written in protobuf.
#[derive(Debug, Clone, Copy)]
enum Shape {
    /// The kind's own message.
    Object(&'static KindCodec),
    /// `message XList { ListMeta metadata = meta_tag; repeated X items = items_tag; }`.
    List {
        items: &'static KindCodec,
        meta_tag: u32,
        items_tag: u32,
    },
}

/// apiVersion → kind → shape, for every kind that has a protobuf message: the registry's
/// kinds, their lists and their subresources' kinds, plus `Status` and
/// `PartialObjectMetadata(List)`. `Table` and custom resources have none (kube-apiserver
/// serves them only as JSON and YAML).
type Shapes = HashMap<String, HashMap<&'static str, Shape>>;

fn shapes() -> &'static Shapes {
    static SHAPES: OnceLock<Shapes> = OnceLock::new();
    SHAPES.get_or_init(|| {
        use kiln_generated::apimachinery::pkg::apis::meta::v1 as meta;
        let mut m: Shapes = HashMap::new();
        let mut add = |api_version: String, kind: &'static str, shape: Shape| {
            m.entry(api_version)
                .or_default()
                .entry(kind)
                .or_insert(shape);
        };
        for g in kiln_generated::REGISTRY {
            for v in g.versions {
                for r in v.resources {
                    let Some(codec) = r.codec else { continue };
                    let gv = r.group_version();
                    add(gv.clone(), r.kind, Shape::Object(codec));
                    let list_kind: &'static str = if r.list_kind.is_empty() {
                        // Only kinds whose spec defines no list type; named once per kind.
                        Box::leak(format!("{}List", r.kind).into_boxed_str())
                    } else {
                        r.list_kind
                    };
                    add(
                        gv,
                        list_kind,
                        Shape::List {
                            items: codec,
                            meta_tag: 1,
                            items_tag: 2,
                        },
                    );
                    for s in r.subresources {
                        if let Some(codec) = s.codec {
                            let gv = if s.group.is_empty() {
                                s.version.to_string()
                            } else {
                                format!("{}/{}", s.group, s.version)
                            };
                            add(gv, s.kind, Shape::Object(codec));
                        }
                    }
                }
            }
        }
        add("v1".into(), "Status", Shape::Object(&meta::STATUS_CODEC));
        for version in ["meta.k8s.io/v1", "meta.k8s.io/v1beta1"] {
            add(
                version.into(),
                "PartialObjectMetadata",
                Shape::Object(&meta::PARTIAL_OBJECT_METADATA_CODEC),
            );
        }
        add(
            "meta.k8s.io/v1".into(),
            "PartialObjectMetadataList",
            Shape::List {
                items: &meta::PARTIAL_OBJECT_METADATA_CODEC,
                meta_tag: 1,
                items_tag: 2,
            },
        );
        // meta.k8s.io/v1beta1 numbers the fields the other way round.
        add(
            "meta.k8s.io/v1beta1".into(),
            "PartialObjectMetadataList",
            Shape::List {
                items: &meta::PARTIAL_OBJECT_METADATA_CODEC,
                meta_tag: 2,
                items_tag: 1,
            },
        );
        m
    })
}

/// Why a body could not be written in protobuf.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// The kind has no protobuf message (Table, custom resources, unknown kinds).
    #[error("{api_version}, Kind={kind} has no protobuf encoding")]
    NoMessage { api_version: String, kind: String },
    /// The value does not fit the kind's typed form.
    #[error("{0}")]
    Invalid(String),
}

/// Whether `apiVersion`/`kind` has a protobuf message.
pub fn has_message(api_version: &str, kind: &str) -> bool {
    shape(api_version, kind).is_some()
}

fn shape(api_version: &str, kind: &str) -> Option<Shape> {
    shapes().get(api_version)?.get(kind).copied()
}

fn put_bytes_field(tag: u32, bytes: &[u8], out: &mut Vec<u8>) {
    encoding::encode_key(tag, WireType::LengthDelimited, out);
    encoding::encode_varint(bytes.len() as u64, out);
    out.put_slice(bytes);
}

/// The raw message (no envelope) of a list: `ListMeta` from `metadata`, each of `items`
/// as the item kind's message, fields in ascending number order as Go writes them.
fn encode_list(
    body: &Value,
    items: &KindCodec,
    meta_tag: u32,
    items_tag: u32,
) -> Result<Vec<u8>, EncodeError> {
    let meta: ListMeta = match body.get("metadata") {
        None | Some(Value::Null) => ListMeta::default(),
        Some(v) => ListMeta::deserialize(v)
            .map_err(|e| EncodeError::Invalid(format!("list metadata: {e}")))?,
    };
    let meta = meta.encode_to_vec();
    let empty = Vec::new();
    let list = match body.get("items") {
        None | Some(Value::Null) => &empty,
        Some(Value::Array(a)) => a,
        Some(_) => return Err(EncodeError::Invalid("list items must be an array".into())),
    };
    let mut encoded_items = Vec::with_capacity(list.len());
    let mut size = meta.len() + 8;
    for item in list {
        let raw = (items.to_protobuf)(item).map_err(|e| EncodeError::Invalid(e.to_string()))?;
        size += raw.len() + 8;
        encoded_items.push(raw);
    }
    let mut out = Vec::with_capacity(size);
    let write_items = |out: &mut Vec<u8>| {
        for raw in &encoded_items {
            put_bytes_field(items_tag, raw, out);
        }
    };
    if meta_tag < items_tag {
        put_bytes_field(meta_tag, &meta, &mut out);
        write_items(&mut out);
    } else {
        write_items(&mut out);
        put_bytes_field(meta_tag, &meta, &mut out);
    }
    Ok(out)
}

/// The raw message (no envelope) of a body, by its `apiVersion` and `kind`.
pub fn encode_message(body: &Value) -> Result<Vec<u8>, EncodeError> {
    let api_version = body.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let kind = body.get("kind").and_then(Value::as_str).unwrap_or("");
    match shape(api_version, kind) {
        Some(Shape::Object(codec)) => {
            (codec.to_protobuf)(body).map_err(|e| EncodeError::Invalid(e.to_string()))
        }
        Some(Shape::List {
            items,
            meta_tag,
            items_tag,
        }) => encode_list(body, items, meta_tag, items_tag),
        None => Err(EncodeError::NoMessage {
            api_version: api_version.to_string(),
            kind: kind.to_string(),
        }),
    }
}

/// A body as kube-apiserver writes it in protobuf: `k8s\0` + `runtime.Unknown` naming
/// the body's `apiVersion` and `kind`, around the kind's own message.
pub fn encode_value(body: &Value) -> Result<Vec<u8>, EncodeError> {
    let raw = encode_message(body)?;
    let api_version = body.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let kind = body.get("kind").and_then(Value::as_str).unwrap_or("");
    Ok(encode_envelope(api_version, kind, &raw))
}

/// One frame of a protobuf watch stream: a 4-byte big-endian length, then a
/// `meta.v1.WatchEvent{type = 1, object = 2 (runtime.RawExtension{raw = 1})}` without the
/// `k8s\0` prefix, whose `raw` is the object fully encoded ([`encode_value`]).
pub fn watch_frame(event_type: &str, object: &[u8]) -> Vec<u8> {
    let raw_ext_len = 1 + encoding::encoded_len_varint(object.len() as u64) + object.len();
    let event_len = 1
        + encoding::encoded_len_varint(event_type.len() as u64)
        + event_type.len()
        + 1
        + encoding::encoded_len_varint(raw_ext_len as u64)
        + raw_ext_len;
    let mut out = Vec::with_capacity(4 + event_len);
    out.put_u32(u32::try_from(event_len).unwrap_or(u32::MAX));
    put_bytes_field(1, event_type.as_bytes(), &mut out);
    encoding::encode_key(2, WireType::LengthDelimited, &mut out);
    encoding::encode_varint(raw_ext_len as u64, &mut out);
    put_bytes_field(1, object, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_round_trip() {
        let enc = encode_envelope("v1", "ConfigMap", b"\x0a\x02hi");
        assert!(enc.starts_with(MAGIC));
        let dec = decode_envelope(&enc).unwrap_or_default();
        assert_eq!(dec.api_version, "v1");
        assert_eq!(dec.kind, "ConfigMap");
        assert_eq!(dec.raw, b"\x0a\x02hi");
        assert!(decode_envelope(b"nope").is_err());
    }

    use kiln_generated::api::core::v1::{ConfigMap, ConfigMapList};
    use kiln_generated::apimachinery::pkg::apis::meta::v1 as meta;
    use serde_json::json;

    fn configmap(name: &str) -> Value {
        json!({"kind": "ConfigMap", "apiVersion": "v1",
               "metadata": {"name": name, "namespace": "ns", "resourceVersion": "7",
                            "uid": "u-1", "creationTimestamp": "2025-01-01T00:00:00Z"},
               "data": {"k": "v"}})
    }

    /// Strips and checks the envelope, returning (apiVersion, kind, raw).
    fn open(bytes: &[u8]) -> (String, String, Vec<u8>) {
        let u = decode_envelope(bytes).unwrap_or_else(|e| panic!("{e}"));
        (u.api_version, u.kind, u.raw)
    }

    #[test]
    fn objects_round_trip_through_their_message() {
        let bytes = encode_value(&configmap("a")).unwrap_or_else(|e| panic!("{e}"));
        let (av, kind, raw) = open(&bytes);
        assert_eq!((av.as_str(), kind.as_str()), ("v1", "ConfigMap"));
        let cm = ConfigMap::decode(raw.as_slice()).unwrap_or_else(|e| panic!("{e}"));
        let m = cm.metadata.unwrap_or_default();
        assert_eq!(m.name.as_deref(), Some("a"));
        assert_eq!(m.resource_version.as_deref(), Some("7"));
        assert_eq!(
            cm.data
                .unwrap_or_default()
                .get("k")
                .map(kiln_runtime::Str::as_str),
            Some("v")
        );
    }

    #[test]
    fn lists_compose_list_meta_and_items() {
        let body = json!({"kind": "ConfigMapList", "apiVersion": "v1",
                          "metadata": {"resourceVersion": "42", "continue": "tok", "remainingItemCount": 3},
                          "items": [configmap("a"), configmap("b")]});
        let (av, kind, raw) = open(&encode_value(&body).unwrap_or_else(|e| panic!("{e}")));
        assert_eq!((av.as_str(), kind.as_str()), ("v1", "ConfigMapList"));
        // The generated list message is an independent reading of the same bytes.
        let list = ConfigMapList::decode(raw.as_slice()).unwrap_or_else(|e| panic!("{e}"));
        let lm = list.metadata.unwrap_or_default();
        assert_eq!(lm.resource_version.as_deref(), Some("42"));
        assert_eq!(lm.continue_.as_deref(), Some("tok"));
        assert_eq!(lm.remaining_item_count, Some(3));
        let names: Vec<kiln_runtime::Str> = list
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|i| i.metadata.unwrap_or_default().name.unwrap_or_default())
            .collect();
        assert_eq!(names, ["a", "b"]);
        // Same bytes as encoding the typed list.
        let typed: ConfigMapList =
            ConfigMapList::deserialize(&body).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(raw, typed.encode_to_vec());
        // An empty list still carries its ListMeta.
        let empty = json!({"kind": "ConfigMapList", "apiVersion": "v1", "metadata": {"resourceVersion": "1"}, "items": []});
        let (_, _, raw) = open(&encode_value(&empty).unwrap_or_else(|e| panic!("{e}")));
        assert_eq!(raw[0], 0x0a, "field 1 (metadata) first");
        assert!(ConfigMapList::decode(raw.as_slice()).is_ok());
    }

    #[test]
    fn meta_kinds() {
        let status = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                            "message": "nope", "reason": "NotFound", "code": 404,
                            "details": {"name": "x", "kind": "pods"}});
        let (av, kind, raw) = open(&encode_value(&status).unwrap_or_else(|e| panic!("{e}")));
        assert_eq!((av.as_str(), kind.as_str()), ("v1", "Status"));
        let s = meta::Status::decode(raw.as_slice()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.code, Some(404));
        assert_eq!(s.reason.as_deref(), Some("NotFound"));
        assert_eq!(s.details.unwrap_or_default().name.as_deref(), Some("x"));

        let pom = json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1beta1",
                         "metadata": {"name": "a"}});
        let (av, _, raw) = open(&encode_value(&pom).unwrap_or_else(|e| panic!("{e}")));
        assert_eq!(av, "meta.k8s.io/v1beta1");
        let p =
            meta::PartialObjectMetadata::decode(raw.as_slice()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.metadata.unwrap_or_default().name.as_deref(), Some("a"));

        let items = json!([{"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": {"name": "a"}}]);
        let v1 = json!({"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1",
                        "metadata": {"resourceVersion": "9"}, "items": items});
        let (_, _, raw) = open(&encode_value(&v1).unwrap_or_else(|e| panic!("{e}")));
        let l = meta::PartialObjectMetadataList::decode(raw.as_slice())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            l.metadata.unwrap_or_default().resource_version.as_deref(),
            Some("9")
        );
        assert_eq!(l.items.unwrap_or_default().len(), 1);
        // meta.k8s.io/v1beta1: items = 1, metadata = 2, written in field order.
        let mut beta = v1.clone();
        beta["apiVersion"] = json!("meta.k8s.io/v1beta1");
        let (_, _, raw) = open(&encode_value(&beta).unwrap_or_else(|e| panic!("{e}")));
        let mut buf = raw.as_slice();
        let mut tags = Vec::new();
        while buf.has_remaining() {
            let (tag, wire) = encoding::decode_key(&mut buf).unwrap_or_else(|e| panic!("{e}"));
            tags.push(tag);
            encoding::skip_field(wire, tag, &mut buf, DecodeContext::default())
                .unwrap_or_else(|e| panic!("{e}"));
        }
        assert_eq!(tags, [1, 2]);
        let mut items_only = raw.clone();
        items_only.truncate(2 + usize::from(raw[1]));
        let item = {
            let mut b = &items_only[..];
            let _ = encoding::decode_key(&mut b);
            let _ = encoding::decode_varint(&mut b);
            meta::PartialObjectMetadata::decode(b).unwrap_or_else(|e| panic!("{e}"))
        };
        assert_eq!(item.metadata.unwrap_or_default().name.as_deref(), Some("a"));
    }

    #[test]
    fn kinds_without_a_message_are_refused() {
        for (av, kind) in [
            ("meta.k8s.io/v1", "Table"),
            ("example.com/v1", "Widget"),
            ("v1", "Nope"),
            ("", ""),
        ] {
            let body = json!({"apiVersion": av, "kind": kind});
            assert!(!has_message(av, kind));
            assert_eq!(
                encode_value(&body),
                Err(EncodeError::NoMessage {
                    api_version: av.into(),
                    kind: kind.into()
                })
            );
        }
        assert!(has_message("apps/v1", "DeploymentList"));
        assert!(has_message("autoscaling/v1", "Scale"));
        // A value that does not fit the kind's typed form.
        let bad = json!({"kind": "ConfigMap", "apiVersion": "v1", "data": 5});
        assert!(matches!(encode_value(&bad), Err(EncodeError::Invalid(_))));
        let bad_items = json!({"kind": "ConfigMapList", "apiVersion": "v1", "items": {}});
        assert!(matches!(
            encode_value(&bad_items),
            Err(EncodeError::Invalid(_))
        ));
    }

    /// The length-delimited fields of a message, in order (a reading independent of the
    /// encoder, for checking frames).
    fn fields(mut buf: &[u8]) -> Vec<(u32, Vec<u8>)> {
        let mut out = Vec::new();
        while buf.has_remaining() {
            let (tag, wire) = encoding::decode_key(&mut buf).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(wire, WireType::LengthDelimited);
            let mut v = Vec::new();
            encoding::bytes::merge(wire, &mut v, &mut buf, DecodeContext::default())
                .unwrap_or_else(|e| panic!("{e}"));
            out.push((tag, v));
        }
        out
    }

    #[test]
    fn watch_frames_are_length_prefixed_watch_events() {
        let object = encode_value(&configmap("w")).unwrap_or_else(|e| panic!("{e}"));
        for (ty, obj) in [("MODIFIED", object.clone()), ("ADDED", vec![7u8; 70_000])] {
            let frame = watch_frame(ty, &obj);
            let len = u32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]) as usize;
            assert_eq!(len, frame.len() - 4);
            assert!(
                !frame[4..].starts_with(MAGIC),
                "the event itself has no prefix"
            );
            let ev = fields(&frame[4..]);
            assert_eq!(ev.len(), 2);
            assert_eq!(ev[0], (1, ty.as_bytes().to_vec()));
            assert_eq!(ev[1].0, 2);
            // object = runtime.RawExtension{raw = 1}, raw the fully encoded object.
            assert_eq!(fields(&ev[1].1), [(1, obj)]);
        }
    }
}
