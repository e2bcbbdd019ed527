//! JSON written the way Go's `encoding/json` writes it, which kube-apiserver's bodies use:
//! `<`, `>` and `&` inside strings are escaped as `\u003c`, `\u003e` and `\u0026`, and the
//! line and paragraph separators U+2028 and U+2029 as `\u2028` and `\u2029`. Everything
//! else is serde_json's output, which already matches Go's for the rest of the syntax.

use std::io;

use serde::Serialize;
use serde_json::ser::{CompactFormatter, Formatter, PrettyFormatter};

/// A formatter that adds Go's HTML-safe string escaping to another formatter.
pub struct GoEscape<F>(pub F);

fn write_escaped<W: ?Sized + io::Write>(writer: &mut W, fragment: &str) -> io::Result<()> {
    let bytes = fragment.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let (escape, len): (&[u8], usize) = match b {
            b'<' => (b"\\u003c", 1),
            b'>' => (b"\\u003e", 1),
            b'&' => (b"\\u0026", 1),
            // U+2028 and U+2029 are E2 80 A8 and E2 80 A9 in UTF-8.
            0xE2 if bytes.get(i + 1) == Some(&0x80) && bytes.get(i + 2) == Some(&0xA8) => {
                (b"\\u2028", 3)
            }
            0xE2 if bytes.get(i + 1) == Some(&0x80) && bytes.get(i + 2) == Some(&0xA9) => {
                (b"\\u2029", 3)
            }
            _ => {
                i += 1;
                continue;
            }
        };
        writer.write_all(&bytes[start..i])?;
        writer.write_all(escape)?;
        i += len;
        start = i;
    }
    writer.write_all(&bytes[start..])
}

impl<F: Formatter> Formatter for GoEscape<F> {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        write_escaped(writer, fragment)
    }
    fn begin_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.0.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.0.begin_object_key(w, first)
    }
    fn end_object_key<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object_key(w)
    }
    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object_value(w)
    }
}

/// Compact JSON with Go's escaping, appended to `out`.
pub fn write_compact<T: Serialize + ?Sized>(
    out: &mut Vec<u8>,
    value: &T,
) -> serde_json::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(out, GoEscape(CompactFormatter));
    value.serialize(&mut ser)
}

/// Compact JSON with Go's escaping.
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(256);
    write_compact(&mut out, value)?;
    Ok(out)
}

/// Indented JSON (two spaces, as `json.MarshalIndent` with kube's `pretty=true`) with Go's
/// escaping.
pub fn to_vec_pretty<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(256);
    let mut ser = serde_json::Serializer::with_formatter(
        &mut out,
        GoEscape(PrettyFormatter::with_indent(b"  ")),
    );
    value.serialize(&mut ser)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{Value, json};

    #[test]
    fn escapes_like_go() {
        let v = json!({"a<b": "x <y> & \u{2028}z\u{2029} \"q\" \\ \n é"});
        let s = String::from_utf8(to_vec(&v).expect("encode")).expect("utf-8");
        assert_eq!(
            s,
            r#"{"a\u003cb":"x \u003cy\u003e \u0026 \u2028z\u2029 \"q\" \\ \n é"}"#
        );
    }

    #[test]
    fn pretty_matches_marshal_indent() {
        let v = json!({"a": [1, {"b": "<"}], "c": {}});
        let s = String::from_utf8(to_vec_pretty(&v).expect("encode")).expect("utf-8");
        assert_eq!(
            s,
            "{\n  \"a\": [\n    1,\n    {\n      \"b\": \"\\u003c\"\n    }\n  ],\n  \"c\": {}\n}"
        );
    }

    proptest! {
        #[test]
        fn same_value_as_serde_json(s in "\\PC*", t in "[<>&\u{2028}\u{2029}a-z]*") {
            let v = json!({"k": s, t.clone(): [t]});
            let ours = to_vec(&v).expect("encode");
            let back: Value = serde_json::from_slice(&ours).expect("parse");
            prop_assert_eq!(back, v);
            prop_assert!(!ours.contains(&b'<') && !ours.contains(&b'>') && !ours.contains(&b'&'));
        }
    }
}
