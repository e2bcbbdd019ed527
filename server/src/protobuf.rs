//! The Kubernetes protobuf envelope: `k8s\0` followed by a `runtime.Unknown` message
//! `{typeMeta=1{apiVersion=1, kind=2}, raw=2, contentEncoding=3, contentType=4}` whose
//! `raw` is the object's own message.

use bytes::{Buf, BufMut};
use prost::encoding::{self, DecodeContext, WireType};

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
}
