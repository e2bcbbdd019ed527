//! Values as kube-apiserver keeps them in etcd, so that Kiln and a kube-apiserver can
//! share one etcd.
//!
//! The rest of the server stores an object as its JSON without `resourceVersion`
//! (DECISIONS D4). In etcd, kube-apiserver stores built-in kinds as protobuf: `k8s\0`
//! followed by a `runtime.Unknown` naming the object's `apiVersion` and `kind` around the
//! kind's own message; it stores the objects of the apiextensions and aggregator servers
//! (CustomResourceDefinitions, APIServices) and custom resources as JSON. This layer
//! converts between the two forms per key: the key's resource prefix decides the format,
//! the object's own `apiVersion`/`kind` decide the message.
//!
//! Reading accepts both forms for every key (kube-apiserver's storage decoder recognises
//! JSON as well as protobuf), so data written by either server in either form reads back.

use std::collections::HashMap;

use bytes::Bytes;
use kiln_runtime::codec::KindCodec;
use serde_json::Value;

use crate::protobuf;
use crate::storage::StorageError;

/// How values under one key prefix are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `k8s\0` + `runtime.Unknown` around the kind's protobuf message.
    Protobuf,
    /// The object's JSON.
    Json,
}

/// Converts values between the server's JSON form and kube-apiserver's etcd form.
pub struct ValueCodec {
    /// Logical resource prefixes (`/registry/pods/`) with their format, longest first.
    prefixes: Vec<(String, Format)>,
    /// `apiVersion` → `kind` → codec, for every built-in kind with a protobuf message.
    codecs: HashMap<String, HashMap<&'static str, &'static KindCodec>>,
}

impl std::fmt::Debug for ValueCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValueCodec")
            .field("prefixes", &self.prefixes.len())
            .finish_non_exhaustive()
    }
}

/// Groups whose objects kube-apiserver stores as JSON (their servers use a JSON storage
/// codec).
const JSON_GROUPS: &[&str] = &["apiextensions.k8s.io", "apiregistration.k8s.io"];

impl ValueCodec {
    /// The codec for the resources compiled into this server.
    pub fn new() -> ValueCodec {
        let mut prefixes: HashMap<String, Format> = HashMap::new();
        let mut codecs: HashMap<String, HashMap<&'static str, &'static KindCodec>> = HashMap::new();
        for g in kiln_generated::REGISTRY {
            for gv in g.versions {
                for r in gv.resources {
                    let Some(codec) = r.codec else { continue };
                    if r.storage_version_hash.is_empty() {
                        // Not stored (reviews and other virtual resources).
                        continue;
                    }
                    codecs
                        .entry(r.group_version())
                        .or_default()
                        .insert(r.kind, codec);
                    let format = if JSON_GROUPS.contains(&r.group) {
                        Format::Json
                    } else {
                        Format::Protobuf
                    };
                    prefixes.insert(crate::store::resource_prefix(r), format);
                }
            }
        }
        let mut prefixes: Vec<(String, Format)> = prefixes.into_iter().collect();
        prefixes.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));
        ValueCodec { prefixes, codecs }
    }

    /// The format values under `key` are written in: the format of the built-in resource
    /// whose prefix the key has, JSON for anything else (custom resources).
    pub fn format(&self, key: &str) -> Format {
        self.prefixes
            .iter()
            .find(|(p, _)| key.starts_with(p.as_str()))
            .map(|(_, f)| *f)
            .unwrap_or(Format::Json)
    }

    fn codec(&self, api_version: &str, kind: &str) -> Option<&'static KindCodec> {
        self.codecs.get(api_version)?.get(kind).copied()
    }

    /// The etcd value for the server's stored JSON `json` at `key`.
    pub fn encode(&self, key: &str, json: &[u8]) -> Result<Vec<u8>, StorageError> {
        if self.format(key) == Format::Json {
            return Ok(json.to_vec());
        }
        let value: Value = serde_json::from_slice(json).map_err(|e| {
            StorageError::InvalidArgument(format!("value of {key} is not a JSON object: {e}"))
        })?;
        self.encode_value(key, json, &value)
    }

    /// [`ValueCodec::encode`] for a caller that also holds `json` parsed (`object`): the
    /// same bytes, without parsing the JSON again. An object still carrying
    /// `metadata.resourceVersion` or `selfLink`, which the stored JSON leaves out, is
    /// encoded from its JSON.
    pub fn encode_object(
        &self,
        key: &str,
        json: &[u8],
        object: &Value,
    ) -> Result<Vec<u8>, StorageError> {
        if self.format(key) == Format::Json {
            return Ok(json.to_vec());
        }
        if let Some(Value::Object(meta)) = object.get("metadata")
            && (meta.contains_key("resourceVersion") || meta.contains_key("selfLink"))
        {
            return self.encode(key, json);
        }
        self.encode_value(key, json, object)
    }

    /// The protobuf envelope of `value` (`json` parsed) for a protobuf-format `key`.
    fn encode_value(&self, key: &str, json: &[u8], value: &Value) -> Result<Vec<u8>, StorageError> {
        let api_version = value.get("apiVersion").and_then(Value::as_str);
        let kind = value.get("kind").and_then(Value::as_str);
        let (Some(api_version), Some(kind)) = (api_version, kind) else {
            return Err(StorageError::InvalidArgument(format!(
                "value of {key} has no apiVersion and kind"
            )));
        };
        let Some(codec) = self.codec(api_version, kind) else {
            // A kind without a protobuf message: JSON, which kube-apiserver also reads.
            return Ok(json.to_vec());
        };
        let raw = (codec.to_protobuf)(value).map_err(|e| {
            StorageError::InvalidArgument(format!(
                "value of {key} does not encode as {api_version}, Kind={kind}: {e}"
            ))
        })?;
        Ok(protobuf::encode_envelope(api_version, kind, &raw))
    }

    /// The server's JSON form of the etcd value `stored` at `key`.
    pub fn decode(&self, key: &str, stored: &[u8]) -> Result<Bytes, StorageError> {
        if !stored.starts_with(protobuf::MAGIC) {
            if stored.starts_with(b"k8s:enc:") {
                return Err(StorageError::Corrupt(format!(
                    "value of {key} is encrypted at rest by kube-apiserver; Kiln cannot read it"
                )));
            }
            // JSON, as written for JSON-format keys or by kube-apiserver with
            // `--storage-media-type=application/json`.
            return Ok(Bytes::copy_from_slice(stored));
        }
        let unknown = protobuf::decode_envelope(stored)
            .map_err(|e| StorageError::Corrupt(format!("value of {key}: {e}")))?;
        let codec = self
            .codec(&unknown.api_version, &unknown.kind)
            .ok_or_else(|| {
                StorageError::Corrupt(format!(
                    "value of {key} is a {}, Kind={}, which this server does not know",
                    unknown.api_version, unknown.kind
                ))
            })?;
        let mut value = (codec.from_protobuf)(&unknown.raw)
            .map_err(|e| StorageError::Corrupt(format!("value of {key}: {e}")))?;
        crate::objects::set_type_meta(&mut value, &unknown.api_version, &unknown.kind);
        if let Some(Value::Object(meta)) = value.get_mut("metadata") {
            // kube-apiserver never stores these, but a value written by another tool may.
            meta.shift_remove("resourceVersion");
            meta.shift_remove("selfLink");
        }
        serde_json::to_vec(&value)
            .map(Bytes::from)
            .map_err(|e| StorageError::Corrupt(format!("value of {key}: {e}")))
    }
}

impl Default for ValueCodec {
    fn default() -> Self {
        ValueCodec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn resource(group: &str, plural: &str) -> &'static kiln_runtime::registry::ResourceInfo {
        kiln_generated::REGISTRY
            .iter()
            .filter(|g| g.name == group)
            .flat_map(|g| g.versions.iter())
            .flat_map(|gv| gv.resources.iter())
            .find(|r| r.plural == plural)
            .unwrap_or_else(|| panic!("{group}/{plural} is compiled in"))
    }

    #[test]
    fn keys_are_laid_out_as_kube_apiserver_lays_them_out() {
        let cases = [
            ("", "configmaps", "/registry/configmaps/"),
            ("", "pods", "/registry/pods/"),
            ("", "services", "/registry/services/specs/"),
            ("", "endpoints", "/registry/services/endpoints/"),
            ("", "nodes", "/registry/minions/"),
            ("", "replicationcontrollers", "/registry/controllers/"),
            ("", "namespaces", "/registry/namespaces/"),
            ("apps", "deployments", "/registry/deployments/"),
            ("batch", "cronjobs", "/registry/cronjobs/"),
            ("networking.k8s.io", "ingresses", "/registry/ingress/"),
            (
                "networking.k8s.io",
                "ingressclasses",
                "/registry/ingressclasses/",
            ),
            (
                "rbac.authorization.k8s.io",
                "clusterroles",
                "/registry/clusterroles/",
            ),
            ("coordination.k8s.io", "leases", "/registry/leases/"),
            ("storage.k8s.io", "csidrivers", "/registry/csidrivers/"),
            (
                "apiextensions.k8s.io",
                "customresourcedefinitions",
                "/registry/apiextensions.k8s.io/customresourcedefinitions/",
            ),
            (
                "apiregistration.k8s.io",
                "apiservices",
                "/registry/apiregistration.k8s.io/apiservices/",
            ),
            // Stored as core Events (crate::convert), as kube-apiserver does.
            ("events.k8s.io", "events", "/registry/events/"),
        ];
        for (group, plural, want) in cases {
            assert_eq!(
                crate::store::resource_prefix(resource(group, plural)),
                want,
                "{group}/{plural}"
            );
        }
        let pods = resource("", "pods");
        assert_eq!(
            crate::store::object_key(pods, Some("ns"), "p"),
            "/registry/pods/ns/p"
        );
    }

    #[test]
    fn no_two_resources_share_a_prefix() {
        let mut seen: HashMap<String, (String, String)> = HashMap::new();
        for g in kiln_generated::REGISTRY {
            for gv in g.versions {
                for r in gv.resources {
                    let p = crate::store::resource_prefix(r);
                    // Resources stored as another's (events.k8s.io Events) share its keys.
                    let r = crate::convert::storage_resource(r).unwrap_or(r);
                    let id = (r.group.to_string(), r.plural.to_string());
                    if let Some(other) = seen.insert(p.clone(), id.clone()) {
                        assert_eq!(other, id, "{p} is used by two resources");
                    }
                }
            }
        }
        // No prefix is a prefix of another's (a range over one must not see the other).
        let all: Vec<&String> = seen.keys().collect();
        for a in &all {
            for b in &all {
                assert!(a == b || !b.starts_with(a.as_str()), "{a} covers {b}");
            }
        }
    }

    #[test]
    fn formats_per_key() {
        let c = ValueCodec::new();
        assert_eq!(c.format("/registry/pods/ns/p"), Format::Protobuf);
        assert_eq!(c.format("/registry/services/specs/ns/s"), Format::Protobuf);
        assert_eq!(
            c.format("/registry/apiextensions.k8s.io/customresourcedefinitions/x.y.z"),
            Format::Json
        );
        assert_eq!(
            c.format("/registry/apiregistration.k8s.io/apiservices/v1.x"),
            Format::Json
        );
        assert_eq!(c.format("/registry/example.com/widgets/ns/w"), Format::Json);
    }

    #[test]
    fn built_in_kinds_round_trip_through_the_protobuf_envelope() {
        let c = ValueCodec::new();
        let obj = json!({"kind": "ConfigMap", "apiVersion": "v1",
            "metadata": {"name": "a", "namespace": "ns", "uid": "u-1",
                "creationTimestamp": "2025-01-01T00:00:00Z", "labels": {"x": "y"}},
            "data": {"k": "v"}});
        let json = serde_json::to_vec(&obj).expect("json");
        let stored = c
            .encode("/registry/configmaps/ns/a", &json)
            .expect("encode");
        assert!(stored.starts_with(b"k8s\0"), "protobuf envelope");
        let u = protobuf::decode_envelope(&stored).expect("envelope");
        assert_eq!(
            (u.api_version.as_str(), u.kind.as_str()),
            ("v1", "ConfigMap")
        );
        let back = c
            .decode("/registry/configmaps/ns/a", &stored)
            .expect("decode");
        let back: Value = serde_json::from_slice(&back).expect("json");
        assert_eq!(back, obj);
    }

    #[test]
    fn encoding_from_the_object_gives_the_bytes_encoding_from_its_json_gives() {
        let c = ValueCodec::new();
        let key = "/registry/configmaps/ns/a";
        let mut obj = json!({"kind": "ConfigMap", "apiVersion": "v1",
            "metadata": {"name": "a", "namespace": "ns", "uid": "u-1",
                "creationTimestamp": "2025-01-01T00:00:00Z", "labels": {"x": "y"},
                "managedFields": [{"manager": "m", "operation": "Update", "apiVersion": "v1",
                    "time": "2025-01-01T00:00:00Z", "fieldsType": "FieldsV1",
                    "fieldsV1": {"f:data": {"f:k": {}}}}]},
            "data": {"k": "v", "e": ""}, "binaryData": {"b": "AAE="}});
        let json = serde_json::to_vec(&obj).expect("json");
        let from_json = c.encode(key, &json).expect("encode");
        assert_eq!(
            c.encode_object(key, &json, &obj).expect("encode"),
            from_json
        );
        // JSON-format keys store the JSON itself.
        let crd_key = "/registry/apiextensions.k8s.io/customresourcedefinitions/a.b.c";
        assert_eq!(c.encode_object(crd_key, &json, &obj).expect("encode"), json);
        // An object still carrying resourceVersion is encoded from its JSON, which has none.
        obj["metadata"]["resourceVersion"] = json!("5");
        assert_eq!(
            c.encode_object(key, &json, &obj).expect("encode"),
            from_json
        );
    }

    #[test]
    fn json_keys_and_json_values_pass_through() {
        let c = ValueCodec::new();
        let crd = br#"{"kind":"CustomResourceDefinition","apiVersion":"apiextensions.k8s.io/v1","metadata":{"name":"a.b.c"}}"#;
        let key = "/registry/apiextensions.k8s.io/customresourcedefinitions/a.b.c";
        assert_eq!(c.encode(key, crd).expect("encode"), crd.to_vec());
        assert_eq!(&c.decode(key, crd).expect("decode")[..], &crd[..]);
        // JSON under a protobuf key (kube-apiserver with a JSON storage media type).
        let cm = br#"{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"a"}}"#;
        assert_eq!(
            &c.decode("/registry/configmaps/ns/a", cm).expect("decode")[..],
            &cm[..]
        );
    }

    #[test]
    fn bad_values_are_errors_not_panics() {
        let c = ValueCodec::new();
        assert!(matches!(
            c.encode("/registry/configmaps/ns/a", b"not json"),
            Err(StorageError::InvalidArgument(_))
        ));
        assert!(matches!(
            c.encode("/registry/configmaps/ns/a", br#"{"metadata":{}}"#),
            Err(StorageError::InvalidArgument(_))
        ));
        assert!(matches!(
            c.decode("/registry/configmaps/ns/a", b"k8s\0\xff\xff"),
            Err(StorageError::Corrupt(_))
        ));
        assert!(matches!(
            c.decode("/registry/secrets/ns/a", b"k8s:enc:aescbc:v1:key:xxxx"),
            Err(StorageError::Corrupt(_))
        ));
        let unknown_kind = protobuf::encode_envelope("example.com/v1", "Widget", b"");
        assert!(matches!(
            c.decode("/registry/configmaps/ns/a", &unknown_kind),
            Err(StorageError::Corrupt(_))
        ));
    }
}
