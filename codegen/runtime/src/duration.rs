//! `meta/v1` `Duration`: a Go `time.Duration` (signed nanoseconds).
//!
//! JSON: the string Go's `Duration.String()` writes (`"1h0m0s"`, `"300ms"`, `"1.5s"`),
//! read with the rules of Go's `time.ParseDuration`. Protobuf:
//! `message Duration { int64 duration = 1; }`, always written.

use std::fmt;
use std::str::FromStr;

use prost::bytes::{Buf, BufMut};
use prost::encoding::{DecodeContext, WireType};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

const NANOSECOND: u64 = 1;
const MICROSECOND: u64 = 1000 * NANOSECOND;
const MILLISECOND: u64 = 1000 * MICROSECOND;
const SECOND: u64 = 1000 * MILLISECOND;
const MINUTE: u64 = 60 * SECOND;
const HOUR: u64 = 60 * MINUTE;

/// 1 << 63, the magnitude bound Go's parser works with.
const TWO_63: u64 = 1 << 63;

/// A string Go's `time.ParseDuration` rejects; the message is Go's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("time: invalid duration {0:?}")]
    Invalid(String),
    #[error("time: missing unit in duration {0:?}")]
    MissingUnit(String),
    #[error("time: unknown unit {unit:?} in duration {input:?}")]
    UnknownUnit { unit: String, input: String },
}

/// `io.k8s.apimachinery.pkg.apis.meta.v1.Duration`: signed nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Duration {
    nanos: i64,
}

impl Duration {
    pub const ZERO: Duration = Duration { nanos: 0 };

    pub const fn from_nanos(nanos: i64) -> Duration {
        Duration { nanos }
    }

    /// Whole seconds, saturating at the range of a Go duration (about ±292 years).
    pub const fn from_secs(secs: i64) -> Duration {
        Duration {
            nanos: secs.saturating_mul(1_000_000_000),
        }
    }

    pub const fn as_nanos(&self) -> i64 {
        self.nanos
    }

    /// The duration as a `std::time::Duration`, or `None` when negative.
    pub fn to_std(&self) -> Option<std::time::Duration> {
        u64::try_from(self.nanos)
            .ok()
            .map(std::time::Duration::from_nanos)
    }

    /// Converts a `std::time::Duration`, saturating at `i64::MAX` nanoseconds.
    pub fn from_std(d: std::time::Duration) -> Duration {
        Duration {
            nanos: i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
        }
    }

    /// Parses with the rules of Go's `time.ParseDuration`: a sign, then one or more
    /// decimal numbers each with a unit (`ns`, `us`, `µs`, `μs`, `ms`, `s`, `m`, `h`);
    /// `"0"` alone needs no unit.
    pub fn parse(s: &str) -> Result<Duration, DurationError> {
        parse_go_duration(s).map(Duration::from_nanos)
    }
}

impl fmt::Display for Duration {
    /// Go's `time.Duration.String()`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_go_duration(self.nanos))
    }
}

impl FromStr for Duration {
    type Err = DurationError;

    fn from_str(s: &str) -> Result<Duration, DurationError> {
        Duration::parse(s)
    }
}

impl From<std::time::Duration> for Duration {
    fn from(d: std::time::Duration) -> Duration {
        Duration::from_std(d)
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;

        impl Visitor<'_> for V {
            type Value = Duration;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration string such as \"1h30m\"")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
                Duration::parse(v).map_err(E::custom)
            }
        }

        deserializer.deserialize_str(V)
    }
}

impl crate::proto::rev::RevEncode for Duration {
    #[inline]
    fn encode_rev(&self, w: &mut crate::proto::rev::RevBuf) {
        crate::proto::rev::int64(1, &self.nanos, w);
    }
}

impl prost::Message for Duration {
    fn encode_raw(&self, buf: &mut impl BufMut) {
        prost::encoding::int64::encode(1, &self.nanos, buf);
    }

    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), prost::DecodeError> {
        match tag {
            1 => prost::encoding::int64::merge(wire_type, &mut self.nanos, buf, ctx),
            _ => prost::encoding::skip_field(wire_type, tag, buf, ctx),
        }
    }

    fn encoded_len(&self) -> usize {
        prost::encoding::int64::encoded_len(1, &self.nanos)
    }

    fn clear(&mut self) {
        self.nanos = 0;
    }
}

/// Go's `time.Duration.String()`: `72h3m0.5s`, `1.5µs`, `0s`.
fn format_go_duration(d: i64) -> String {
    if d == 0 {
        return "0s".to_string();
    }
    let mut u = d.unsigned_abs();
    let mut out = String::new();
    if u < SECOND {
        // Below a second: one unit with a fraction (1.2ms, 3µs, 7ns).
        let (prec, unit) = if u < MICROSECOND {
            (0, "ns")
        } else if u < MILLISECOND {
            (3, "µs")
        } else {
            (6, "ms")
        };
        let (int, frac) = split_fraction(u, prec);
        out.push_str(&int.to_string());
        out.push_str(&frac);
        out.push_str(unit);
    } else {
        let (secs, frac) = split_fraction(u, 9);
        u = secs;
        let s = u % 60;
        u /= 60;
        if u > 0 {
            let m = u % 60;
            u /= 60;
            if u > 0 {
                out.push_str(&format!("{u}h"));
            }
            out.push_str(&format!("{m}m"));
        }
        out.push_str(&format!("{s}{frac}s"));
    }
    if d < 0 {
        out.insert(0, '-');
    }
    out
}

/// Splits `v` into `v / 10^prec` and the fraction `.ddd` with trailing zeros removed
/// (empty when the fraction is zero).
fn split_fraction(v: u64, prec: u32) -> (u64, String) {
    let scale = 10u64.pow(prec);
    let frac = v % scale;
    if frac == 0 {
        return (v / scale, String::new());
    }
    let digits = format!("{frac:0width$}", width = prec as usize);
    (v / scale, format!(".{}", digits.trim_end_matches('0')))
}

/// Go's `time.ParseDuration`, returning nanoseconds.
fn parse_go_duration(orig: &str) -> Result<i64, DurationError> {
    let invalid = || DurationError::Invalid(orig.to_string());
    let mut s = orig.as_bytes();
    let mut neg = false;
    if let Some(&c) = s.first()
        && (c == b'-' || c == b'+')
    {
        neg = c == b'-';
        s = &s[1..];
    }
    if s == b"0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let mut d: u64 = 0;
    while !s.is_empty() {
        if !(s[0] == b'.' || s[0].is_ascii_digit()) {
            return Err(invalid());
        }
        // [0-9]*
        let before = s.len();
        let (mut v, rest) = leading_int(s).ok_or_else(invalid)?;
        s = rest;
        let pre = before != s.len();

        // (\.[0-9]*)?
        let mut post = false;
        let mut f: u64 = 0;
        let mut scale: f64 = 1.0;
        if let Some(b'.') = s.first() {
            s = &s[1..];
            let before = s.len();
            let (ff, sc, rest) = leading_fraction(s);
            f = ff;
            scale = sc;
            s = rest;
            post = before != s.len();
        }
        if !pre && !post {
            return Err(invalid());
        }

        // Unit: everything up to the next '.' or digit.
        let i = s
            .iter()
            .position(|&c| c == b'.' || c.is_ascii_digit())
            .unwrap_or(s.len());
        if i == 0 {
            return Err(DurationError::MissingUnit(orig.to_string()));
        }
        let (unit_bytes, rest) = s.split_at(i);
        s = rest;
        let unit_str = String::from_utf8_lossy(unit_bytes);
        let unit = match unit_bytes {
            b"ns" => NANOSECOND,
            b"us" => MICROSECOND,
            // U+00B5 MICRO SIGN and U+03BC GREEK SMALL LETTER MU.
            b"\xc2\xb5s" | b"\xce\xbcs" => MICROSECOND,
            b"ms" => MILLISECOND,
            b"s" => SECOND,
            b"m" => MINUTE,
            b"h" => HOUR,
            _ => {
                return Err(DurationError::UnknownUnit {
                    unit: unit_str.into_owned(),
                    input: orig.to_string(),
                });
            }
        };
        if v > TWO_63 / unit {
            return Err(invalid());
        }
        v *= unit;
        if f > 0 {
            // As Go: float64 is nanosecond-accurate for fractions of the largest unit.
            v = v.wrapping_add((f as f64 * (unit as f64 / scale)) as u64);
            if v > TWO_63 {
                return Err(invalid());
            }
        }
        d = d.wrapping_add(v);
        if d > TWO_63 {
            return Err(invalid());
        }
    }
    if neg {
        // d <= 2^63, so the negation fits (i64::MIN for exactly 2^63).
        return Ok(0i64.wrapping_sub_unsigned(d));
    }
    i64::try_from(d).map_err(|_| invalid())
}

/// Go's `leadingInt`: the leading decimal digits, `None` on overflow past 2^63.
fn leading_int(s: &[u8]) -> Option<(u64, &[u8])> {
    let mut x: u64 = 0;
    let mut i = 0;
    while i < s.len() && s[i].is_ascii_digit() {
        if x > TWO_63 / 10 {
            return None;
        }
        x = x * 10 + u64::from(s[i] - b'0');
        if x > TWO_63 {
            return None;
        }
        i += 1;
    }
    Some((x, &s[i..]))
}

/// Go's `leadingFraction`: digits after the point as an integer and its scale; digits that
/// would overflow are consumed and ignored.
fn leading_fraction(s: &[u8]) -> (u64, f64, &[u8]) {
    let mut x: u64 = 0;
    let mut scale = 1.0f64;
    let mut overflow = false;
    let mut i = 0;
    while i < s.len() && s[i].is_ascii_digit() {
        let c = s[i];
        i += 1;
        if overflow {
            continue;
        }
        if x > (TWO_63 - 1) / 10 {
            overflow = true;
            continue;
        }
        let y = x * 10 + u64::from(c - b'0');
        if y > TWO_63 {
            overflow = true;
            continue;
        }
        x = y;
        scale *= 10.0;
    }
    (x, scale, &s[i..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use prost::Message;

    #[test]
    fn formats_like_go() {
        let cases: &[(i64, &str)] = &[
            (0, "0s"),
            (1, "1ns"),
            (1_100, "1.1µs"),
            (2_200_000, "2.2ms"),
            (3_300_000_000, "3.3s"),
            (4 * 60 * 1_000_000_000 + 5_000_000_000, "4m5s"),
            (4 * 60 * 1_000_000_000 + 5_001_000_000, "4m5.001s"),
            (
                5 * 3600 * 1_000_000_000 + 6 * 60 * 1_000_000_000 + 7_001_000_000,
                "5h6m7.001s",
            ),
            (8 * 60 * 1_000_000_000 + 1, "8m0.000000001s"),
            (3600 * 1_000_000_000, "1h0m0s"),
            (60 * 1_000_000_000, "1m0s"),
            (300_000_000, "300ms"),
            (1_500_000_000, "1.5s"),
            (999, "999ns"),
            (1_000, "1µs"),
            (-1_500_000_000, "-1.5s"),
            (-3600 * 1_000_000_000, "-1h0m0s"),
            (i64::MAX, "2562047h47m16.854775807s"),
            (i64::MIN, "-2562047h47m16.854775808s"),
        ];
        for &(nanos, want) in cases {
            assert_eq!(Duration::from_nanos(nanos).to_string(), want, "{nanos}");
        }
    }

    #[test]
    fn parses_like_go() {
        let cases: &[(&str, i64)] = &[
            ("0", 0),
            ("5s", 5_000_000_000),
            ("30s", 30_000_000_000),
            ("1478s", 1_478_000_000_000),
            ("-5s", -5_000_000_000),
            ("+5s", 5_000_000_000),
            ("-0", 0),
            ("+0", 0),
            ("5.0s", 5_000_000_000),
            ("5.6s", 5_600_000_000),
            ("5.s", 5_000_000_000),
            (".5s", 500_000_000),
            ("1.0s", 1_000_000_000),
            ("1.00s", 1_000_000_000),
            ("1.004s", 1_004_000_000),
            ("1.0040s", 1_004_000_000),
            ("100.00100s", 100_001_000_000),
            ("10ns", 10),
            ("11us", 11_000),
            ("12µs", 12_000),
            ("12μs", 12_000),
            ("13ms", 13_000_000),
            ("14s", 14_000_000_000),
            ("15m", 900_000_000_000),
            ("16h", 57_600_000_000_000),
            ("3h30m", 12_600_000_000_000),
            ("10.5s4m", 250_500_000_000),
            ("-2m3.4s", -123_400_000_000),
            ("1h2m3s4ms5us6ns", 3_723_004_005_006),
            ("39h9m14.425s", 140_954_425_000_000),
            ("52763797000ns", 52_763_797_000),
            ("0.3333333333333333333h", 1_200_000_000_000),
            ("9007199254740993ns", 9_007_199_254_740_993),
            ("9223372036854775807ns", i64::MAX),
            ("9223372036854775.807us", i64::MAX),
            ("9223372036s854ms775us807ns", i64::MAX),
            ("-9223372036854775808ns", i64::MIN),
            ("-9223372036854775.808us", i64::MIN),
            ("0.100000000000000000000h", 360_000_000_000),
            ("0.830103483285477580700h", 2_988_372_539_827),
            ("1h0m0s", 3_600_000_000_000),
            ("300ms", 300_000_000),
        ];
        for &(input, want) in cases {
            assert_eq!(
                Duration::parse(input).map(|d| d.as_nanos()),
                Ok(want),
                "{input}"
            );
        }
    }

    #[test]
    fn rejects_like_go() {
        let cases: &[(&str, &str)] = &[
            ("", r#"time: invalid duration """#),
            ("3", r#"time: missing unit in duration "3""#),
            ("-", r#"time: invalid duration "-""#),
            ("s", r#"time: invalid duration "s""#),
            (".", r#"time: invalid duration ".""#),
            ("-.", r#"time: invalid duration "-.""#),
            (".s", r#"time: invalid duration ".s""#),
            ("+.s", r#"time: invalid duration "+.s""#),
            ("1d", r#"time: unknown unit "d" in duration "1d""#),
            ("1.1.1s", r#"time: missing unit in duration "1.1.1s""#),
            ("3000000h", r#"time: invalid duration "3000000h""#),
            (
                "9223372036854775808ns",
                r#"time: invalid duration "9223372036854775808ns""#,
            ),
            (
                "9223372036854775.808us",
                r#"time: invalid duration "9223372036854775.808us""#,
            ),
            (
                "9223372036854ms775us808ns",
                r#"time: invalid duration "9223372036854ms775us808ns""#,
            ),
            (
                "-9223372036854775809ns",
                r#"time: invalid duration "-9223372036854775809ns""#,
            ),
            (" 1s", r#"time: invalid duration " 1s""#),
            ("1s ", r#"time: unknown unit "s " in duration "1s ""#),
        ];
        for &(input, want) in cases {
            assert_eq!(
                Duration::parse(input).map_err(|e| e.to_string()),
                Err(want.to_string()),
                "{input}"
            );
        }
    }

    #[test]
    fn json_and_protobuf() {
        let d = Duration::from_secs(3600);
        assert_eq!(serde_json::to_string(&d).unwrap(), r#""1h0m0s""#);
        assert_eq!(serde_json::from_str::<Duration>(r#""1h""#).unwrap(), d);
        assert!(serde_json::from_str::<Duration>("3600").is_err());
        assert!(serde_json::from_str::<Duration>("null").is_err());
        assert!(serde_json::from_str::<Duration>(r#""1 hour""#).is_err());
        assert_eq!(
            d.encode_to_vec(),
            vec![0x08, 0x80, 0xc0, 0xe2, 0x85, 0xe3, 0x68]
        );
        assert_eq!(Duration::ZERO.encode_to_vec(), vec![0x08, 0x00]);
        assert_eq!(
            Duration::decode(&[0x08, 0x80, 0xc0, 0xe2, 0x85, 0xe3, 0x68][..]).unwrap(),
            d
        );
        assert_eq!(d.to_std(), Some(std::time::Duration::from_secs(3600)));
        assert_eq!(Duration::from_nanos(-1).to_std(), None);
    }

    proptest! {
        #[test]
        fn prop_string_round_trip(nanos in any::<i64>()) {
            let d = Duration::from_nanos(nanos);
            prop_assert_eq!(Duration::parse(&d.to_string()), Ok(d));
            let json = serde_json::to_string(&d).unwrap();
            prop_assert_eq!(serde_json::from_str::<Duration>(&json).unwrap(), d);
        }

        #[test]
        fn prop_proto_round_trip(nanos in any::<i64>()) {
            let d = Duration::from_nanos(nanos);
            let bytes = d.encode_to_vec();
            prop_assert_eq!(bytes.len(), d.encoded_len());
            prop_assert_eq!(Duration::decode(bytes.as_slice()).unwrap(), d);
        }

        #[test]
        fn prop_parse_never_panics(s in "[-+]?[0-9.]{0,25}(ns|us|µs|ms|s|m|h|d)?[0-9.]{0,5}[a-z]{0,2}") {
            let _ = Duration::parse(&s);
        }
    }
}
