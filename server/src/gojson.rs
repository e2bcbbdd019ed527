//! JSON written the way Go's `encoding/json` writes it, which kube-apiserver's bodies use:
//! `<`, `>` and `&` inside strings are escaped as `\u003c`, `\u003e` and `\u0026`, and the
//! line and paragraph separators U+2028 and U+2029 as `\u2028` and `\u2029`. Everything
//! else is serde_json's output, which already matches Go's for the rest of the syntax.

use std::io;

use serde::Serialize;
use serde_json::ser::{CompactFormatter, Formatter, PrettyFormatter};

/// A formatter that adds Go's HTML-safe string escaping to another formatter.
pub struct GoEscape<F>(pub F);

/// Whether any byte of the eight in `w` is `<`, `>`, `&` or not ASCII (U+2028 and U+2029
/// start with 0xE2): the only bytes [`write_escaped`] may rewrite. Word at a time, with the
/// classic has-zero-byte test (`(v - 0x01…) & !v & 0x80…` is non-zero exactly when a byte of
/// `v` is zero).
#[inline(always)]
fn word_needs_escape(w: u64) -> bool {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let has_zero = |v: u64| v.wrapping_sub(LO) & !v & HI;
    // `<` (0x3C) and `>` (0x3E) differ in one bit: with it set both are 0x3E, and no other
    // byte becomes 0x3E.
    let angle = has_zero((w | (0x02 * LO)) ^ (0x3E * LO));
    let amp = has_zero(w ^ (0x26 * LO));
    (w & HI) | angle | amp != 0
}

fn write_escaped<W: ?Sized + io::Write>(writer: &mut W, fragment: &str) -> io::Result<()> {
    let bytes = fragment.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        // Skip eight plain bytes at a time (most text has nothing to rewrite).
        if let Some(word) = bytes.get(i..i + 8)
            && let Ok(word) = <[u8; 8]>::try_from(word)
            && !word_needs_escape(u64::from_le_bytes(word))
        {
            i += 8;
            continue;
        }
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

    #[test]
    fn word_test_flags_exactly_the_bytes_go_rewrites() {
        for b in 0..=255u8 {
            let wanted = matches!(b, b'<' | b'>' | b'&') || b >= 0x80;
            for pos in 0..8 {
                let mut word = *b"plainabc";
                word[pos] = b;
                assert_eq!(
                    word_needs_escape(u64::from_le_bytes(word)),
                    wanted,
                    "byte {b:#x} at {pos}"
                );
            }
        }
    }

    /// The byte-at-a-time escaping the word test speeds up.
    fn escaped_byte_by_byte(s: &str) -> String {
        s.replace('<', "\\u003c")
            .replace('>', "\\u003e")
            .replace('&', "\\u0026")
            .replace('\u{2028}', "\\u2028")
            .replace('\u{2029}', "\\u2029")
    }

    proptest! {
        #[test]
        fn words_and_bytes_escape_alike(s in "([a-z=?%;]{0,19}[<>&\u{e9}\u{2028}\u{2029}\u{20ac}]?){0,6}") {
            let mut out = Vec::new();
            write_escaped(&mut out, &s).expect("write");
            prop_assert_eq!(String::from_utf8(out).expect("utf-8"), escaped_byte_by_byte(&s));
        }

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
