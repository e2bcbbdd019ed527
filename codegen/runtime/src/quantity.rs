//! `api/resource` `Quantity`: a fixed-point number with a unit suffix.
//!
//! Parsing and formatting follow `k8s.io/apimachinery/pkg/api/resource`:
//!
//! - Grammar: `[+-]?digits[.digits][suffix]`, suffix one of the binary SI suffixes
//!   (`Ki Mi Gi Ti Pi Ei`), the decimal SI suffixes (`n u m "" k M G T P E`) or a decimal
//!   exponent (`e3`, `E-6`). The quantity remembers which kind it was written with.
//! - Values are exact (arbitrary precision); anything below a nanounit is rounded up,
//!   away from zero (`0.1n` → `1n`), and binary-suffixed values are capped at 2^63-1.
//! - The string written back is canonical: no fractional digits, the largest exponent
//!   that keeps the value exact, and the original kind of suffix (`1.5` → `1500m`,
//!   `1.5Gi` → `1536Mi`, `1024Mi` → `1Gi`, `1000m` → `1`, `0.1` → `100m`). A binary
//!   value below 1024 or with a fraction is written with decimal suffixes (`0.5Ki` → `512`).
//! - Like kube-apiserver, a string that is already canonical apart from its spelling is
//!   written back as it was given when its digits fit Kubernetes' int64 fast path:
//!   `1.441` stays `1.441`, `+1` stays `+1`, `1E3` stays `1E3` (Kubernetes issue #138165).
//! - A decimal value with no SI suffix for its exponent (above `E` or below `n`) is written
//!   in exponent form (`1000E` → `1e21`), as current Kubernetes does; older releases
//!   wrote a truncated number there.
//!
//! JSON: a string (numbers are accepted on input); `null` is zero. Protobuf:
//! `message Quantity { optional string string = 1; }`, always written.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;
use std::sync::OnceLock;

use prost::bytes::{Buf, BufMut};
use prost::encoding::{DecodeContext, WireType};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// Why a string is not a quantity; the messages are kube-apiserver's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    #[error(
        "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
    )]
    FormatWrong,
    #[error("unable to parse numeric part of quantity")]
    Numeric,
    #[error("unable to parse quantity's suffix")]
    Suffix,
}

/// Which family of suffixes a quantity is written with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum QuantityFormat {
    /// `12e6`
    DecimalExponent,
    /// `12Mi` (12 * 2^20)
    BinarySI,
    /// `12M` (12 * 10^6)
    #[default]
    DecimalSI,
}

/// `io.k8s.apimachinery.pkg.api.resource.Quantity`.
///
/// Equality (and hashing) is on the serialised string: `1Ki` and `1024` are different
/// values of this type even though they are the same amount. Compare amounts with
/// [`Quantity::cmp_value`].
///
/// A quantity read from JSON or protobuf whose text is kept as written (nearly all of them:
/// `500m`, `256Mi`) is checked against the grammar when it is read, but its exact amount is
/// worked out on first use (comparisons, arithmetic), from that same text: decoding an
/// object does not pay for arithmetic it may never need.
#[derive(Clone)]
pub struct Quantity {
    /// The amount; empty until first use when `text` is kept as written.
    value: OnceLock<Dec>,
    format: QuantityFormat,
    /// What JSON and protobuf carry.
    text: Cow<'static, str>,
}

impl fmt::Debug for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Quantity").field(&self.text).finish()
    }
}

impl Default for Quantity {
    fn default() -> Quantity {
        Quantity::zero()
    }
}

impl PartialEq for Quantity {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for Quantity {}

impl Hash for Quantity {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.text.hash(state);
    }
}

impl Quantity {
    /// Zero, written `"0"`.
    pub fn zero() -> Quantity {
        // The amount is worked out from "0" if asked for: a map value being decoded starts
        // as zero and is replaced, so making zero costs nothing.
        Quantity {
            value: OnceLock::new(),
            format: QuantityFormat::DecimalSI,
            text: Cow::Borrowed("0"),
        }
    }

    /// `value` units (Go's `NewQuantity`).
    pub fn new(value: i64, format: QuantityFormat) -> Quantity {
        Quantity::from_dec(Dec::from_i128(i128::from(value), 0), format)
    }

    /// `value / 1000` units (Go's `NewMilliQuantity`).
    pub fn from_milli(value: i64, format: QuantityFormat) -> Quantity {
        Quantity::from_dec(Dec::from_i128(i128::from(value), -3), format)
    }

    /// `value * 10^scale` units with decimal SI suffixes (Go's `NewScaledQuantity`).
    pub fn from_scaled(value: i64, scale: i32) -> Quantity {
        Quantity::from_dec(
            Dec::from_i128(i128::from(value), i64::from(scale)),
            QuantityFormat::DecimalSI,
        )
    }

    fn from_dec(value: Dec, format: QuantityFormat) -> Quantity {
        let text = Cow::Owned(canonical_text(&value, format));
        Quantity {
            value: OnceLock::from(value),
            format,
            text,
        }
    }

    /// The amount (worked out from the text on first use when the text was kept as
    /// written; see the type's docs).
    fn dec(&self) -> &Dec {
        self.value.get_or_init(|| {
            // The text passed `head` when this quantity was made, and `amount` fails
            // only where `head` did.
            head(&self.text)
                .and_then(|h| amount(&h))
                .map(|(value, _)| value)
                .unwrap_or_default()
        })
    }

    /// Parses a quantity as kube-apiserver does (no surrounding whitespace allowed).
    pub fn parse(s: &str) -> Result<Quantity, QuantityError> {
        Quantity::parse_as(s, str::to_string).map_err(|(e, _)| e)
    }

    /// [`Quantity::parse`] of an owned string, kept without copying when it is canonical
    /// (the protobuf decoder's case: the string was just read off the wire).
    pub fn parse_owned(s: String) -> Result<Quantity, QuantityError> {
        Quantity::parse_as(s, |s| s).map_err(|(e, _)| e)
    }

    /// [`Quantity::parse`], with `own` turning the input into the kept text; on error the
    /// input comes back with it (the protobuf decoder quotes it). A kept text keeps the
    /// format `head` gave it: it is never one of the forms whose format `amount` revises.
    fn parse_as<S: AsRef<str>>(
        s: S,
        own: impl FnOnce(S) -> String,
    ) -> Result<Quantity, (QuantityError, S)> {
        let format = match head(s.as_ref()) {
            Ok(h) if h.keep_text => h.format,
            Ok(h) => match amount(&h) {
                Ok((value, format)) => return Ok(Quantity::from_dec(value, format)),
                Err(e) => return Err((e, s)),
            },
            Err(e) => return Err((e, s)),
        };
        Ok(Quantity {
            value: OnceLock::new(),
            format,
            text: Cow::Owned(own(s)),
        })
    }

    /// The string JSON and protobuf carry (see the module docs for when it keeps the
    /// spelling it was parsed from).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The canonical form of the value, computed afresh (what kube-apiserver writes for
    /// a quantity it did not parse, e.g. after arithmetic): `1.441` → `1441m`.
    pub fn canonical(&self) -> String {
        canonical_text(self.dec(), self.format)
    }

    pub fn format(&self) -> QuantityFormat {
        self.format
    }

    pub fn is_zero(&self) -> bool {
        self.dec().is_zero()
    }

    /// -1, 0 or 1.
    pub fn sign(&self) -> i32 {
        if self.dec().is_zero() {
            0
        } else if self.dec().neg {
            -1
        } else {
            1
        }
    }

    /// Compares the amounts exactly (`1Ki` equals `1024`).
    pub fn cmp_value(&self, other: &Quantity) -> Ordering {
        self.dec().cmp(other.dec())
    }

    /// `ceil(q / 10^scale)`, rounding away from zero, or `None` if it does not fit i128.
    /// `scaled_value(-3)` is the value in milli-units, `scaled_value(0)` in units.
    pub fn checked_scaled_value(&self, scale: i32) -> Option<i128> {
        self.dec().to_scaled_i128(i64::from(scale))
    }

    /// Like [`Quantity::checked_scaled_value`], saturating at the bounds of i128.
    pub fn scaled_value(&self, scale: i32) -> i128 {
        self.checked_scaled_value(scale)
            .unwrap_or(if self.dec().neg { i128::MIN } else { i128::MAX })
    }

    /// The value in units, rounded up (away from zero); saturating (Go's `Value`).
    pub fn value(&self) -> i128 {
        self.scaled_value(0)
    }

    /// The value in thousandths, rounded up (away from zero); saturating (Go's `MilliValue`).
    pub fn milli_value(&self) -> i128 {
        self.scaled_value(-3)
    }

    /// The nearest `f64` (infinite when out of range).
    pub fn as_f64(&self) -> f64 {
        if self.dec().is_zero() {
            return 0.0;
        }
        let digits: String = self
            .dec()
            .digits
            .iter()
            .map(|d| char::from(b'0' + d))
            .collect();
        let sign = if self.dec().neg { "-" } else { "" };
        format!("{sign}{digits}e{}", self.dec().exp)
            .parse()
            .unwrap_or(0.0)
    }

    /// The same amount negated (Go's `Neg`), in canonical form.
    pub fn neg(&self) -> Quantity {
        let value = self.dec().clone().with_sign(!self.dec().neg);
        Quantity::from_dec(value, self.format)
    }

    /// `self + other` in canonical form, keeping `self`'s format unless `self` is zero
    /// (Go's `Add`). `None` only when the exponents are too far apart to add exactly
    /// within a bounded number of digits.
    pub fn checked_add(&self, other: &Quantity) -> Option<Quantity> {
        let value = self.dec().checked_add(other.dec())?;
        let format = if self.dec().is_zero() {
            other.format
        } else {
            self.format
        };
        Some(Quantity::from_dec(value, format))
    }

    /// `self - other` (Go's `Sub`); see [`Quantity::checked_add`].
    pub fn checked_sub(&self, other: &Quantity) -> Option<Quantity> {
        let negated = other.dec().clone().with_sign(!other.dec().neg);
        let value = self.dec().checked_add(&negated)?;
        let format = if self.dec().is_zero() {
            other.format
        } else {
            self.format
        };
        Some(Quantity::from_dec(value, format))
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for Quantity {
    type Err = QuantityError;

    fn from_str(s: &str) -> Result<Quantity, QuantityError> {
        Quantity::parse(s)
    }
}

impl Serialize for Quantity {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;

        impl<'de> Visitor<'de> for V {
            type Value = Quantity;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a quantity string such as \"100m\" or \"1Gi\"")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Quantity, E> {
                // kube-apiserver trims surrounding whitespace inside the JSON string.
                Quantity::parse(v.trim()).map_err(E::custom)
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Quantity, E> {
                Quantity::parse(&v.to_string()).map_err(E::custom)
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Quantity, E> {
                Quantity::parse(&v.to_string()).map_err(E::custom)
            }

            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Quantity, E> {
                // The number's source text is gone; Rust's shortest round-trip decimal
                // form is the closest stand-in (`1.5` → "1.5", `1e3` → "1000").
                if !v.is_finite() {
                    return Err(E::custom(QuantityError::FormatWrong));
                }
                Quantity::parse(&v.to_string()).map_err(E::custom)
            }

            fn visit_unit<E: de::Error>(self) -> Result<Quantity, E> {
                Ok(Quantity::zero())
            }

            fn visit_none<E: de::Error>(self) -> Result<Quantity, E> {
                Ok(Quantity::zero())
            }

            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Quantity, D::Error> {
                Quantity::deserialize(d)
            }
        }

        deserializer.deserialize_any(V)
    }
}

impl crate::proto::rev::RevEncode for Quantity {
    #[inline]
    fn encode_rev(&self, w: &mut crate::proto::rev::RevBuf) {
        crate::proto::rev::string(1, &self.text, w);
    }
}

impl prost::Message for Quantity {
    fn encode_raw(&self, buf: &mut impl BufMut) {
        let text = self.text.as_bytes();
        prost::encoding::encode_key(1, WireType::LengthDelimited, buf);
        prost::encoding::encode_varint(text.len() as u64, buf);
        buf.put_slice(text);
    }

    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), prost::DecodeError> {
        match tag {
            1 => {
                let mut s = crate::Str::default();
                crate::proto::de::string(wire_type, &mut s, buf, ctx)?;
                *self = Quantity::parse_as(s, |s| s.into_string()).map_err(|(e, s)| {
                    crate::proto::decode_error(format!("invalid Quantity {s:?}: {e}"))
                })?;
                Ok(())
            }
            _ => prost::encoding::skip_field(wire_type, tag, buf, ctx),
        }
    }

    fn encoded_len(&self) -> usize {
        prost::encoding::key_len(1)
            + prost::encoding::encoded_len_varint(self.text.len() as u64)
            + self.text.len()
    }

    fn clear(&mut self) {
        *self = Quantity::zero();
    }
}

/// What a quantity string says, found without allocating: the grammar is checked here, so
/// every error a quantity can have comes from this step.
#[derive(Clone, Copy)]
struct Head<'a> {
    scanned: Scanned<'a>,
    base: u32,
    exponent: i64,
    format: QuantityFormat,
    /// Whether kube-apiserver writes the string back as it was given.
    keep_text: bool,
}

fn head(s: &str) -> Result<Head<'_>, QuantityError> {
    if s.is_empty() {
        return Err(QuantityError::FormatWrong);
    }
    let scanned = scan(s)?;
    let (base, exponent, format) = interpret(scanned.suffix)?;
    let keep_text = s == "0"
        || written_canonically(&scanned, exponent, format)
        || binary_already_canonical(s, &scanned, base, exponent);
    Ok(Head {
        scanned,
        base,
        exponent,
        format,
        keep_text,
    })
}

/// The value, format and whether the text is kept as written (see [`Quantity::parse`]).
#[cfg(test)]
fn parse_parts(s: &str) -> Result<(Dec, QuantityFormat, bool), QuantityError> {
    let h = head(s)?;
    let (value, format) = amount(&h)?;
    Ok((value, format, h.keep_text))
}

/// The exact amount of a quantity, and its format: a binary-suffixed amount below one unit
/// is decimal, one past 2^63-1 is capped. Neither happens to a text `head` keeps: a kept
/// binary text is a whole number of at least 1 whose amount fits an int64.
fn amount(h: &Head<'_>) -> Result<(Dec, QuantityFormat), QuantityError> {
    let Head {
        scanned,
        base,
        exponent,
        mut format,
        ..
    } = *h;
    let digits: Vec<u8> = scanned
        .num
        .bytes()
        .chain(scanned.denom.bytes())
        .map(|b| b - b'0')
        .collect();
    let denom_len = i64::try_from(scanned.denom.len()).map_err(|_| QuantityError::Numeric)?;
    let neg = !scanned.positive;
    let mut value = if base == 10 {
        Dec::new(neg, digits, exponent - denom_len)
    } else {
        let mut v = Dec::new(neg, digits, -denom_len);
        v.mul_small(1u64 << exponent);
        v
    };
    // Anything below a nanounit rounds up, away from zero.
    value.round_up_at(NANO_EXP);
    if format == QuantityFormat::BinarySI && !value.is_zero() {
        // Digits before the point; comparing with `i64::MAX` (19 digits) and 1 needs the
        // full comparison only when the counts are close.
        let lead = value.digits.iter().take_while(|&&d| d == 0).count();
        let int_digits = i64::try_from(value.digits.len() - lead)
            .unwrap_or(i64::MAX)
            .saturating_add(value.exp);
        if int_digits >= 19
            && value.cmp_abs(&Dec::from_i128(i128::from(i64::MAX), 0)) == Ordering::Greater
        {
            value = Dec::from_i128(i128::from(i64::MAX), 0).with_sign(value.neg);
        }
        if int_digits <= 0 {
            format = QuantityFormat::DecimalSI;
        }
    }
    Ok((value, format))
}

// ---------------------------------------------------------------------------------------
// Scanning and suffixes.

/// Exponent of the smallest representable amount (nano).
const NANO_EXP: i64 = -9;

/// The pieces of a quantity string, as Kubernetes' scanner splits it.
#[derive(Clone, Copy)]
struct Scanned<'a> {
    positive: bool,
    /// Numerator digits without leading zeros ("0" when none are left).
    num: &'a str,
    /// Digits after the point (may be empty).
    denom: &'a str,
    suffix: &'a str,
}

/// Splits `[+-]?[0-9]*(\.[0-9]*)?[eEinumkKMGTP]*[-+]?[0-9]*`; anything else is
/// `FormatWrong`.
fn scan(s: &str) -> Result<Scanned<'_>, QuantityError> {
    let b = s.as_bytes();
    let end = b.len();
    let mut pos = 0;
    let mut positive = true;
    match b.first() {
        Some(b'-') => {
            positive = false;
            pos += 1;
        }
        Some(b'+') => pos += 1,
        _ => {}
    }
    let zero = |positive| Scanned {
        positive,
        num: "0",
        denom: "",
        suffix: "",
    };
    while pos < end && b[pos] == b'0' {
        pos += 1;
    }
    if pos >= end {
        return Ok(zero(positive));
    }
    let num_start = pos;
    while pos < end && b[pos].is_ascii_digit() {
        pos += 1;
    }
    let mut num = &s[num_start..pos];
    if pos >= end {
        return Ok(Scanned {
            positive,
            num,
            denom: "",
            suffix: "",
        });
    }
    if num.is_empty() {
        num = "0";
    }
    let mut denom = "";
    if b[pos] == b'.' {
        pos += 1;
        let denom_start = pos;
        while pos < end && b[pos].is_ascii_digit() {
            pos += 1;
        }
        denom = &s[denom_start..pos];
        if pos >= end {
            return Ok(Scanned {
                positive,
                num,
                denom,
                suffix: "",
            });
        }
    }
    let suffix_start = pos;
    while pos < end && b"eEinumkKMGTP".contains(&b[pos]) {
        pos += 1;
    }
    if pos < end && (b[pos] == b'-' || b[pos] == b'+') {
        pos += 1;
    }
    if b[pos..].iter().any(|c| !c.is_ascii_digit()) {
        return Err(QuantityError::FormatWrong);
    }
    Ok(Scanned {
        positive,
        num,
        denom,
        suffix: &s[suffix_start..],
    })
}

/// `(base, exponent, format)` of a suffix.
fn interpret(suffix: &str) -> Result<(u32, i64, QuantityFormat), QuantityError> {
    use QuantityFormat::*;
    let (base, exp, format) = match suffix {
        "n" => (10, -9, DecimalSI),
        "u" => (10, -6, DecimalSI),
        "m" => (10, -3, DecimalSI),
        "" => (10, 0, DecimalSI),
        "k" => (10, 3, DecimalSI),
        "M" => (10, 6, DecimalSI),
        "G" => (10, 9, DecimalSI),
        "T" => (10, 12, DecimalSI),
        "P" => (10, 15, DecimalSI),
        "E" => (10, 18, DecimalSI),
        "Ki" => (2, 10, BinarySI),
        "Mi" => (2, 20, BinarySI),
        "Gi" => (2, 30, BinarySI),
        "Ti" => (2, 40, BinarySI),
        "Pi" => (2, 50, BinarySI),
        "Ei" => (2, 60, BinarySI),
        _ => {
            let rest = suffix
                .strip_prefix(['e', 'E'])
                .filter(|r| !r.is_empty())
                .ok_or(QuantityError::Suffix)?;
            let exp = parse_go_int64(rest).ok_or(QuantityError::Suffix)?;
            // Exponents outside int32 are rejected rather than wrapped (current Kubernetes).
            if exp.unsigned_abs() > u64::from(i32::MAX.unsigned_abs()) {
                return Err(QuantityError::Suffix);
            }
            (10, exp, DecimalExponent)
        }
    };
    Ok((base, exp, format))
}

/// Go's `strconv.ParseInt(s, 10, 64)`: an optional sign and decimal digits.
fn parse_go_int64(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.strip_prefix('+').unwrap_or(s).parse().ok()
}

/// Whether kube-apiserver keeps the string as written: its int64 fast path accepted the
/// number and judged the form canonical.
fn written_canonically(p: &Scanned<'_>, exponent: i64, format: QuantityFormat) -> bool {
    match format {
        QuantityFormat::BinarySI => {
            if !p.denom.is_empty() {
                return false;
            }
            // 15 - len(num) - exponent*3/10 - 1 digits of precision must remain.
            let Ok(len) = i64::try_from(p.num.len()) else {
                return false;
            };
            if 14 - len - exponent / 10 * 3 < 0 {
                return false;
            }
            let Ok(value) = p.num.parse::<i64>() else {
                return false;
            };
            if value.checked_mul(1i64 << exponent).is_none() {
                return false;
            }
            value & 7 != 0
        }
        QuantityFormat::DecimalSI | QuantityFormat::DecimalExponent => {
            let (Ok(num_len), Ok(denom_len)) =
                (i64::try_from(p.num.len()), i64::try_from(p.denom.len()))
            else {
                return false;
            };
            if 18 - (num_len + denom_len) < 0 {
                return false;
            }
            let scale = exponent - denom_len;
            if scale < NANO_EXP {
                return false;
            }
            // The digits `num` then `denom`, looked at without joining them.
            let digits = || p.num.bytes().chain(p.denom.bytes());
            let mut tail = digits().rev();
            let ends_000 = (0..3).all(|_| tail.next() == Some(b'0'));
            scale % 3 == 0 && !ends_000 && digits().next() != Some(b'0')
        }
    }
}

/// Whether `s`, a positive integer with a binary suffix (`256Mi`), is already the text
/// [`canonical_text`] would write for it, decided with integer arithmetic instead of
/// building that text: the value is `num * 1024^k` (at least 1024), and the canonical form
/// divides out every factor of 1024, so it is `s` itself exactly when `num` is not a
/// multiple of 1024 and `s` has no sign, leading zero or fraction.
fn binary_already_canonical(s: &str, p: &Scanned<'_>, base: u32, exponent: i64) -> bool {
    if base != 2 || !p.positive || !p.denom.is_empty() {
        return false;
    }
    if !matches!(s.as_bytes().first(), Some(b'1'..=b'9'))
        || p.num.len() + p.suffix.len() != s.len()
        || p.num.len() > 18
    {
        return false;
    }
    let Ok(num) = p.num.parse::<i64>() else {
        return false;
    };
    let Ok(shift) = u32::try_from(exponent) else {
        return false;
    };
    // Values past 2^63-1 are capped, which rewrites the text.
    let fits = 1i64
        .checked_shl(shift)
        .filter(|f| *f > 0)
        .and_then(|f| num.checked_mul(f))
        .is_some();
    fits && num % 1024 != 0
}

// ---------------------------------------------------------------------------------------
// Canonical form.

fn canonical_text(v: &Dec, format: QuantityFormat) -> String {
    if v.is_zero() {
        return "0".to_string();
    }
    match format {
        QuantityFormat::DecimalSI => decimal_text(v, true),
        QuantityFormat::DecimalExponent => decimal_text(v, false),
        QuantityFormat::BinarySI => {
            if v.cmp_abs(&Dec::from_i128(1024, 0)) == Ordering::Less || !v.is_integer() {
                return decimal_text(v, true);
            }
            binary_text(v).unwrap_or_else(|| decimal_text(v, false))
        }
    }
}

/// Mantissa and exponent (a multiple of 3) with a decimal SI suffix, or in exponent form
/// when `si` is false or no SI suffix exists for the exponent.
fn decimal_text(v: &Dec, si: bool) -> String {
    let r = v.exp.rem_euclid(3);
    let exp = v.exp - r;
    let mut out = String::with_capacity(v.digits.len() + 8);
    if v.neg {
        out.push('-');
    }
    out.extend(v.digits.iter().map(|d| char::from(b'0' + d)));
    for _ in 0..r {
        out.push('0');
    }
    let suffix = if si {
        match exp {
            -9 => Some("n"),
            -6 => Some("u"),
            -3 => Some("m"),
            0 => Some(""),
            3 => Some("k"),
            6 => Some("M"),
            9 => Some("G"),
            12 => Some("T"),
            15 => Some("P"),
            18 => Some("E"),
            _ => None,
        }
    } else {
        None
    };
    match suffix {
        Some(s) => out.push_str(s),
        None if exp == 0 => {}
        None => {
            out.push('e');
            out.push_str(&exp.to_string());
        }
    }
    out
}

/// An integer of magnitude >= 1024 in base 1024 (`1536Mi`); `None` when it has more
/// factors of 1024 than the largest suffix (`Ei`) can express.
fn binary_text(v: &Dec) -> Option<String> {
    // A value with 70 or more trailing decimal zeros is divisible by 2^70 = 1024^7.
    if v.exp >= 70 {
        return None;
    }
    let mut mag = v.digits.clone();
    mag.extend(std::iter::repeat_n(0, usize::try_from(v.exp).ok()?));
    let mut power = 0;
    loop {
        let (quotient, rem) = div_small(&mag, 1024);
        if rem != 0 {
            break;
        }
        mag = quotient;
        power += 1;
        if power > 6 {
            return None;
        }
    }
    let suffix = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"][power];
    let mut out = String::with_capacity(mag.len() + 3);
    if v.neg {
        out.push('-');
    }
    out.extend(mag.iter().map(|d| char::from(b'0' + d)));
    out.push_str(suffix);
    Some(out)
}

/// Long division of a most-significant-first digit string by a small divisor.
fn div_small(digits: &[u8], divisor: u32) -> (Vec<u8>, u32) {
    let mut quotient = Vec::with_capacity(digits.len());
    let mut rem: u32 = 0;
    for &d in digits {
        let cur = rem * 10 + u32::from(d);
        // cur / divisor < 10.
        quotient.push(u8::try_from(cur / divisor).unwrap_or(0));
        rem = cur % divisor;
    }
    let lead = quotient.iter().take_while(|&&d| d == 0).count();
    quotient.drain(..lead);
    (quotient, rem)
}

// ---------------------------------------------------------------------------------------
// Exact decimal arithmetic.

/// Most digits `checked_add` will materialise to align two exponents.
const MAX_ALIGN_DIGITS: i64 = 4096;

/// `±digits × 10^exp`, digits most significant first with no leading or trailing zeros
/// (zero is no digits, positive, exponent 0).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Dec {
    neg: bool,
    digits: Vec<u8>,
    exp: i64,
}

impl Dec {
    fn zero() -> Dec {
        Dec::default()
    }

    fn new(neg: bool, digits: Vec<u8>, exp: i64) -> Dec {
        let mut d = Dec { neg, digits, exp };
        d.normalize();
        d
    }

    fn from_i128(v: i128, exp: i64) -> Dec {
        let digits = v
            .unsigned_abs()
            .to_string()
            .bytes()
            .map(|b| b - b'0')
            .collect();
        Dec::new(v < 0, digits, exp)
    }

    fn with_sign(mut self, neg: bool) -> Dec {
        self.neg = neg && !self.is_zero();
        self
    }

    fn normalize(&mut self) {
        let lead = self.digits.iter().take_while(|&&d| d == 0).count();
        self.digits.drain(..lead);
        while self.digits.last() == Some(&0) {
            self.digits.pop();
            self.exp += 1;
        }
        if self.digits.is_empty() {
            self.neg = false;
            self.exp = 0;
        }
    }

    fn is_zero(&self) -> bool {
        self.digits.is_empty()
    }

    fn is_integer(&self) -> bool {
        self.exp >= 0
    }

    /// Count of digits before the decimal point (position of the leading digit).
    fn order(&self) -> i64 {
        i64::try_from(self.digits.len())
            .unwrap_or(i64::MAX)
            .saturating_add(self.exp)
    }

    fn cmp_abs(&self, other: &Dec) -> Ordering {
        match (self.is_zero(), other.is_zero()) {
            (true, true) => return Ordering::Equal,
            (true, false) => return Ordering::Less,
            (false, true) => return Ordering::Greater,
            (false, false) => {}
        }
        // With no trailing zeros, a longer digit string with an equal prefix is larger.
        self.order()
            .cmp(&other.order())
            .then_with(|| self.digits.cmp(&other.digits))
    }

    fn cmp(&self, other: &Dec) -> Ordering {
        let sign = |d: &Dec| {
            if d.is_zero() {
                0
            } else if d.neg {
                -1
            } else {
                1
            }
        };
        match sign(self).cmp(&sign(other)) {
            Ordering::Equal if self.neg => other.cmp_abs(self),
            Ordering::Equal => self.cmp_abs(other),
            ord => ord,
        }
    }

    /// Multiplies the magnitude by `f`.
    fn mul_small(&mut self, f: u64) {
        let mut carry: u128 = 0;
        for d in self.digits.iter_mut().rev() {
            let cur = u128::from(*d) * u128::from(f) + carry;
            *d = u8::try_from(cur % 10).unwrap_or(0);
            carry = cur / 10;
        }
        let mut head = Vec::new();
        while carry > 0 {
            head.push(u8::try_from(carry % 10).unwrap_or(0));
            carry /= 10;
        }
        head.reverse();
        head.append(&mut self.digits);
        self.digits = head;
        self.normalize();
    }

    /// Rounds to a multiple of `10^min_exp`, away from zero.
    fn round_up_at(&mut self, min_exp: i64) {
        if self.is_zero() || self.exp >= min_exp {
            return;
        }
        let drop = min_exp - self.exp;
        let len = i64::try_from(self.digits.len()).unwrap_or(i64::MAX);
        if drop >= len {
            self.digits = vec![1];
        } else {
            // The dropped digits end in a non-zero digit, so round the rest up by one.
            self.digits
                .truncate(usize::try_from(len - drop).unwrap_or(0));
            increment(&mut self.digits);
        }
        self.exp = min_exp;
        self.normalize();
    }

    /// `ceil(self / 10^scale)` away from zero, if it fits i128.
    fn to_scaled_i128(&self, scale: i64) -> Option<i128> {
        if self.is_zero() {
            return Some(0);
        }
        let e = self.exp.checked_sub(scale)?;
        let len = i64::try_from(self.digits.len()).ok()?;
        let int_len = len.checked_add(e)?;
        if int_len > 39 {
            return None;
        }
        let (int_digits, fraction) = if e >= 0 {
            (self.digits.as_slice(), false)
        } else if int_len <= 0 {
            (&[][..], true)
        } else {
            (&self.digits[..usize::try_from(int_len).ok()?], true)
        };
        let mut v: i128 = 0;
        for &d in int_digits {
            v = v.checked_mul(10)?.checked_add(i128::from(d))?;
        }
        for _ in 0..e.max(0) {
            v = v.checked_mul(10)?;
        }
        if fraction {
            v = v.checked_add(1)?;
        }
        Some(if self.neg { -v } else { v })
    }

    fn checked_add(&self, other: &Dec) -> Option<Dec> {
        if self.is_zero() {
            return Some(other.clone());
        }
        if other.is_zero() {
            return Some(self.clone());
        }
        let exp = self.exp.min(other.exp);
        let (pad_a, pad_b) = (self.exp - exp, other.exp - exp);
        if pad_a > MAX_ALIGN_DIGITS || pad_b > MAX_ALIGN_DIGITS {
            return None;
        }
        let mut a = self.digits.clone();
        a.extend(std::iter::repeat_n(0, usize::try_from(pad_a).ok()?));
        let mut b = other.digits.clone();
        b.extend(std::iter::repeat_n(0, usize::try_from(pad_b).ok()?));
        if self.neg == other.neg {
            return Some(Dec::new(self.neg, add_mag(&a, &b), exp));
        }
        let a_dec = Dec::new(false, a.clone(), 0);
        let b_dec = Dec::new(false, b.clone(), 0);
        Some(match a_dec.cmp_abs(&b_dec) {
            Ordering::Equal => Dec::zero(),
            Ordering::Greater => Dec::new(self.neg, sub_mag(&a, &b), exp),
            Ordering::Less => Dec::new(other.neg, sub_mag(&b, &a), exp),
        })
    }
}

/// Adds one to a most-significant-first digit string.
fn increment(digits: &mut Vec<u8>) {
    for d in digits.iter_mut().rev() {
        if *d == 9 {
            *d = 0;
        } else {
            *d += 1;
            return;
        }
    }
    digits.insert(0, 1);
}

fn add_mag(a: &[u8], b: &[u8]) -> Vec<u8> {
    let n = a.len().max(b.len());
    let mut out = Vec::with_capacity(n + 1);
    let mut carry = 0u8;
    for i in 0..n {
        let da = if i < a.len() { a[a.len() - 1 - i] } else { 0 };
        let db = if i < b.len() { b[b.len() - 1 - i] } else { 0 };
        let s = da + db + carry;
        out.push(s % 10);
        carry = s / 10;
    }
    if carry > 0 {
        out.push(carry);
    }
    out.reverse();
    out
}

/// `a - b` for magnitudes with `a >= b`.
fn sub_mag(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(a.len());
    let mut borrow = 0u8;
    for i in 0..a.len() {
        let da = a[a.len() - 1 - i];
        let db = if i < b.len() { b[b.len() - 1 - i] } else { 0 } + borrow;
        if da >= db {
            out.push(da - db);
            borrow = 0;
        } else {
            out.push(da + 10 - db);
            borrow = 1;
        }
    }
    out.reverse();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use prost::Message;

    fn q(s: &str) -> Quantity {
        Quantity::parse(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
    }

    /// Input → what kube-apiserver writes back. Cases from the `Quantity` API reference
    /// (`1.5` → `1500m`, `1.5Gi` → `1536Mi`) and the behaviour pinned by
    /// apimachinery's quantity tests (parse/emit, canonical strings, golden serialisation).
    const CANONICAL: &[(&str, &str)] = &[
        ("0", "0"),
        ("0n", "0"),
        ("0m", "0"),
        ("0Ki", "0"),
        ("0Gi", "0"),
        ("-0", "0"),
        ("00", "0"),
        ("1", "1"),
        ("-1", "-1"),
        ("1000m", "1"),
        ("0.1", "100m"),
        ("1.5", "1500m"),
        ("100m", "100m"),
        ("1000000n", "1m"),
        ("1Ki", "1Ki"),
        ("1Mi", "1Mi"),
        ("1Gi", "1Gi"),
        ("100Mi", "100Mi"),
        ("1024Mi", "1Gi"),
        ("8Ki", "8Ki"),
        ("1.5Gi", "1536Mi"),
        ("1.5Ki", "1536"),
        ("0.5Ki", "512"),
        ("0.5Mi", "512Ki"),
        ("-9.5Gi", "-9728Mi"),
        ("1000M", "1G"),
        ("1000k", "1M"),
        ("50k", "50k"),
        ("12e6", "12e6"),
        ("1e3", "1e3"),
        ("1.2e3", "1200"),
        ("0.5e-1", "50e-3"),
        ("1E6", "1E6"),
        ("1e-3", "1e-3"),
        ("100.035k", "100.035k"),
        ("10.035M", "10.035M"),
        ("8.1k", "8100"),
        ("7.123456M", "7.123456M"),
        ("2.5P", "2500T"),
        ("1.01E", "1010P"),
        ("12E", "12E"),
        ("100E", "100E"),
        ("1000E", "1e21"),
        ("1e100", "10e99"),
        (".001Ki", "1024m"),
        (".000001Ki", "1024u"),
        (".000000001Ki", "1024n"),
        (".000000000001Ki", "2n"),
        ("3.001n", "4n"),
        ("0.9n", "1n"),
        ("0.0000000001", "1n"),
        ("0.000000000000001", "1n"),
        ("0.00000012345", "124n"),
        ("1.1E-9", "2e-9"),
        ("-0.0000000001", "-1n"),
        ("9Ei", "9223372036854775807"),
        ("8Ei", "9223372036854775807"),
        ("-20Ei", "-9223372036854775807"),
        ("7Ei", "7Ei"),
        ("9223372036854775807", "9223372036854775807"),
        ("9223372036854775808", "9223372036854775808"),
        ("18446744073709551616", "18446744073709551616"),
        ("-9.5000000001Gi", "-10200547328107374183n"),
        ("100.035Ki", "102435840m"),
        // Kept as written (kube-apiserver's fast path judges them canonical).
        ("1.441", "1.441"),
        ("1.000001", "1.000001"),
        ("+1", "+1"),
        ("01", "01"),
        ("1.", "1."),
        ("1.G", "1.G"),
        ("+1Ki", "+1Ki"),
        (".", "0"),
        ("-", "0"),
    ];

    #[test]
    fn canonical_table() {
        assert!(CANONICAL.len() >= 25);
        for &(input, want) in CANONICAL {
            let got = q(input);
            assert_eq!(got.as_str(), want, "{input:?}");
            assert_eq!(
                serde_json::to_string(&got).unwrap(),
                format!("\"{want}\""),
                "{input:?}"
            );
            // What is written parses back to the same string and amount.
            let again = q(want);
            assert_eq!(again.as_str(), want, "{input:?} -> {want:?}");
            assert_eq!(again.cmp_value(&got), Ordering::Equal, "{input:?}");
        }
    }

    /// A whole number written as a fraction of a binary unit keeps the binary format, whose
    /// canonical text for a value that is no multiple of 1024 is plain digits (kube's
    /// `CanonicalizeBytes`); read again, those digits are a decimal quantity.
    #[test]
    fn fractional_binary_units_are_written_as_digits() {
        assert_eq!(q("687.5Ki").as_str(), "704000");
        assert_eq!(q("704000").as_str(), "704k");
        assert_eq!(q("-584656.25Ki").as_str(), "-598688000");
        assert_eq!(q("-598688000").as_str(), "-598688k");
    }

    #[test]
    fn canonical_ignores_the_kept_spelling() {
        assert_eq!(q("1.441").canonical(), "1441m");
        assert_eq!(q("+1").canonical(), "1");
        assert_eq!(q("1E3").canonical(), "1e3");
        assert_eq!(q("1.5Gi").canonical(), "1536Mi");
    }

    #[test]
    fn formats() {
        assert_eq!(q("1Ki").format(), QuantityFormat::BinarySI);
        assert_eq!(q("1k").format(), QuantityFormat::DecimalSI);
        assert_eq!(q("1e3").format(), QuantityFormat::DecimalExponent);
        // A binary value between 0 and 1 switches to decimal.
        assert_eq!(q("0.000000000001Ki").format(), QuantityFormat::DecimalSI);
    }

    #[test]
    fn rejects_invalid() {
        for (input, err) in [
            ("", QuantityError::FormatWrong),
            ("1.1.M", QuantityError::FormatWrong),
            ("1+1.0M", QuantityError::FormatWrong),
            ("0.1mi", QuantityError::Suffix),
            ("0.1am", QuantityError::FormatWrong),
            ("aoeu", QuantityError::FormatWrong),
            (".5i", QuantityError::Suffix),
            ("1i", QuantityError::Suffix),
            ("-3.01i", QuantityError::Suffix),
            ("-3.01e-", QuantityError::Suffix),
            ("1e4294967297", QuantityError::Suffix),
            ("1e2147483648", QuantityError::Suffix),
            (" 1", QuantityError::FormatWrong),
            ("1 ", QuantityError::FormatWrong),
            ("1K", QuantityError::Suffix),
            ("1KI", QuantityError::FormatWrong),
            ("1e", QuantityError::Suffix),
            ("1m3", QuantityError::Suffix),
            ("1Gi1", QuantityError::Suffix),
            ("١", QuantityError::FormatWrong),
        ] {
            assert_eq!(
                Quantity::parse(input).map(|q| q.as_str().to_string()),
                Err(err),
                "{input:?}"
            );
        }
        assert_eq!(
            QuantityError::FormatWrong.to_string(),
            "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
        );
        assert_eq!(q("1e2147483647").as_str(), "10e2147483646");
    }

    #[test]
    fn values() {
        assert_eq!(q("100m").milli_value(), 100);
        assert_eq!(q("1").milli_value(), 1000);
        assert_eq!(q("1.5").value(), 2);
        assert_eq!(q("-1.5").value(), -2);
        assert_eq!(q("1n").milli_value(), 1);
        assert_eq!(q("1Gi").value(), 1 << 30);
        assert_eq!(q("1Ki").scaled_value(3), 2);
        assert_eq!(q("1e100").checked_scaled_value(0), None);
        assert_eq!(q("1e100").value(), i128::MAX);
        assert_eq!(q("-1e100").value(), i128::MIN);
        assert_eq!(
            q("10E").checked_scaled_value(-3),
            Some(10_000_000_000_000_000_000_000)
        );
        assert_eq!(q("1.5Gi").as_f64(), 1_610_612_736.0);
        assert_eq!(q("-100m").as_f64(), -0.1);
        assert_eq!(q("0").sign(), 0);
        assert_eq!(q("-1m").sign(), -1);
        assert!(q("0Ki").is_zero());
    }

    #[test]
    fn comparisons() {
        assert_eq!(q("1Ki").cmp_value(&q("1024")), Ordering::Equal);
        assert_ne!(q("1Ki"), q("1024"));
        assert_eq!(q("100m").cmp_value(&q("50m")), Ordering::Greater);
        assert_eq!(q("10000T").cmp_value(&q("100Gi")), Ordering::Greater);
        assert_eq!(q("-1").cmp_value(&q("-2")), Ordering::Greater);
        assert_eq!(q("-1").cmp_value(&q("1n")), Ordering::Less);
        assert_eq!(q("0").cmp_value(&q("-0.5")), Ordering::Greater);
        assert_eq!(q("999m").cmp_value(&q("1")), Ordering::Less);
        assert_eq!(q("1.441").cmp_value(&q("1441m")), Ordering::Equal);
    }

    #[test]
    fn constructors_and_arithmetic() {
        assert_eq!(
            Quantity::new(1024 * 1024 * 1024, QuantityFormat::BinarySI).as_str(),
            "1Gi"
        );
        assert_eq!(
            Quantity::new(300 * 1024 * 1024, QuantityFormat::BinarySI).as_str(),
            "300Mi"
        );
        assert_eq!(Quantity::new(5, QuantityFormat::BinarySI).as_str(), "5");
        assert_eq!(
            Quantity::new(1025, QuantityFormat::BinarySI).as_str(),
            "1025"
        );
        assert_eq!(
            Quantity::new(2000, QuantityFormat::BinarySI).as_str(),
            "2000"
        );
        assert_eq!(
            Quantity::new(-2000, QuantityFormat::BinarySI).as_str(),
            "-2000"
        );
        assert_eq!(
            Quantity::from_milli(500, QuantityFormat::BinarySI).as_str(),
            "500m"
        );
        assert_eq!(
            Quantity::from_milli(1441, QuantityFormat::DecimalSI).as_str(),
            "1441m"
        );
        assert_eq!(Quantity::from_scaled(1000, 6).as_str(), "1G");
        assert_eq!(Quantity::from_scaled(1, -12).as_str(), "1e-12");
        assert_eq!(Quantity::from_scaled(1, -10).as_str(), "100e-12");
        assert_eq!(Quantity::from_scaled(1, 21).as_str(), "1e21");
        assert_eq!(
            Quantity::new(i64::MIN, QuantityFormat::DecimalSI).as_str(),
            "-9223372036854775808"
        );
        assert_eq!(
            Quantity::from_scaled(i64::MAX, 1).as_str(),
            "92233720368547758070"
        );
        assert_eq!(
            Quantity::new(80, QuantityFormat::DecimalExponent)
                .neg()
                .as_str(),
            "-80"
        );
        assert_eq!(q("9.01").neg().as_str(), "-9010m");

        let sum = q("100m").checked_add(&q("1Gi")).unwrap();
        assert_eq!(sum.as_str(), "1073741824100m");
        assert_eq!(q("0").checked_add(&q("1Gi")).unwrap().as_str(), "1Gi");
        assert_eq!(q("1Gi").checked_add(&q("0")).unwrap().as_str(), "1Gi");
        assert_eq!(q("1Gi").checked_sub(&q("512Mi")).unwrap().as_str(), "512Mi");
        assert_eq!(q("1").checked_sub(&q("1500m")).unwrap().as_str(), "-500m");
        assert_eq!(q("1.441").checked_add(&q("0")).unwrap().as_str(), "1441m");
        // 2^70 has no binary suffix: written as its exact decimal digits.
        let big = Quantity::new(1 << 60, QuantityFormat::BinarySI);
        let mut acc = Quantity::zero();
        for _ in 0..1024 {
            acc = acc.checked_add(&big).unwrap();
        }
        assert_eq!(acc.as_str(), "1180591620717411303424");
        assert_eq!(q("1e5000").checked_add(&q("1n")), None);
    }

    #[test]
    fn json() {
        assert_eq!(
            serde_json::from_str::<Quantity>(r#""1.5Gi""#)
                .unwrap()
                .as_str(),
            "1536Mi"
        );
        assert_eq!(
            serde_json::from_str::<Quantity>(r#"" 100m ""#)
                .unwrap()
                .as_str(),
            "100m"
        );
        assert_eq!(serde_json::from_str::<Quantity>("2").unwrap().as_str(), "2");
        assert_eq!(
            serde_json::from_str::<Quantity>("-3").unwrap().as_str(),
            "-3"
        );
        assert_eq!(
            serde_json::from_str::<Quantity>("0.5").unwrap().as_str(),
            "500m"
        );
        assert_eq!(
            serde_json::from_str::<Quantity>("1.25").unwrap().as_str(),
            "1250m"
        );
        assert_eq!(
            serde_json::from_str::<Quantity>("null").unwrap(),
            Quantity::zero()
        );
        assert_eq!(
            serde_json::from_value::<Quantity>(serde_json::json!(4))
                .unwrap()
                .as_str(),
            "4"
        );
        let err = serde_json::from_str::<Quantity>(r#""1.1.M""#).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("quantities must match the regular expression"),
            "{err}"
        );
        assert!(serde_json::from_str::<Quantity>("true").is_err());
        assert!(serde_json::from_str::<Quantity>("{}").is_err());
        assert!(serde_json::from_str::<Quantity>(r#""""#).is_err());
    }

    #[test]
    fn protobuf() {
        let v = q("1.5Gi");
        assert_eq!(v.encode_to_vec(), b"\x0a\x061536Mi".to_vec());
        assert_eq!(Quantity::zero().encode_to_vec(), b"\x0a\x010".to_vec());
        assert_eq!(Quantity::decode(&b"\x0a\x061536Mi"[..]).unwrap(), v);
        assert_eq!(
            Quantity::decode(&b"\x0a\x041.50"[..]).unwrap().as_str(),
            "1500m"
        );
        assert_eq!(Quantity::decode(&[][..]).unwrap(), Quantity::zero());
        assert!(Quantity::decode(&b"\x0a\x03abc"[..]).is_err());
        assert!(Quantity::decode(&b"\x0a\x02 1"[..]).is_err());
    }

    fn quantity_string() -> impl Strategy<Value = String> {
        let suffix = prop_oneof![
            Just(String::new()),
            Just("n".to_string()),
            Just("u".to_string()),
            Just("m".to_string()),
            Just("k".to_string()),
            Just("M".to_string()),
            Just("G".to_string()),
            Just("T".to_string()),
            Just("P".to_string()),
            Just("E".to_string()),
            Just("Ki".to_string()),
            Just("Mi".to_string()),
            Just("Gi".to_string()),
            Just("Ti".to_string()),
            Just("Pi".to_string()),
            Just("Ei".to_string()),
            (
                prop_oneof![Just("e"), Just("E")],
                prop_oneof![Just(""), Just("+"), Just("-")],
                0u32..40
            )
                .prop_map(|(e, s, n)| format!("{e}{s}{n}")),
        ];
        (
            prop_oneof![Just(""), Just("-"), Just("+")],
            "[0-9]{0,22}",
            proptest::option::of("[0-9]{0,14}"),
            suffix,
        )
            .prop_map(|(sign, int, frac, suffix)| match frac {
                Some(f) => format!("{sign}{int}.{f}{suffix}"),
                None => format!("{sign}{int}{suffix}"),
            })
    }

    proptest! {
        #[test]
        fn prop_written_form_is_stable(s in quantity_string()) {
            if let Ok(v) = Quantity::parse(&s) {
                // JSON -> value -> JSON keeps the string and the amount.
                let json = serde_json::to_string(&v).unwrap();
                let back: Quantity = serde_json::from_str(&json).unwrap();
                prop_assert_eq!(&back, &v);
                prop_assert_eq!(back.cmp_value(&v), Ordering::Equal);
                // The canonical form is itself stable and denotes the same amount.
                let c = q(&v.canonical());
                prop_assert_eq!(c.as_str(), v.canonical());
                prop_assert_eq!(c.cmp_value(&v), Ordering::Equal);
            }
        }

        #[test]
        fn prop_proto_round_trip(s in quantity_string()) {
            if let Ok(v) = Quantity::parse(&s) {
                let bytes = v.encode_to_vec();
                prop_assert_eq!(bytes.len(), v.encoded_len());
                prop_assert_eq!(Quantity::decode(bytes.as_slice()).unwrap(), v);
            }
        }

        #[test]
        fn prop_milli_matches_i128(m in any::<i64>()) {
            let v = Quantity::from_milli(m, QuantityFormat::DecimalSI);
            prop_assert_eq!(v.milli_value(), i128::from(m));
            prop_assert_eq!(q(v.as_str()).milli_value(), i128::from(m));
        }

        #[test]
        fn prop_add_sub(a in any::<i64>(), b in any::<i64>()) {
            let (qa, qb) = (Quantity::from_milli(a, QuantityFormat::DecimalSI), Quantity::from_milli(b, QuantityFormat::DecimalSI));
            let sum = qa.checked_add(&qb).unwrap();
            prop_assert_eq!(sum.milli_value(), i128::from(a) + i128::from(b));
            let diff = qa.checked_sub(&qb).unwrap();
            prop_assert_eq!(diff.milli_value(), i128::from(a) - i128::from(b));
            prop_assert_eq!(qa.cmp_value(&qb), a.cmp(&b));
        }

        #[test]
        fn prop_binary_fast_path_is_canonical(
            n in prop_oneof![1i64..5000, 1i64..(1 << 40), any::<i64>()],
            mult in prop_oneof![Just(1i64), Just(1024), Just(1 << 20)],
            suffix in prop_oneof![Just("Ki"), Just("Mi"), Just("Gi"), Just("Ti"), Just("Pi"), Just("Ei")],
            prefix in prop_oneof![Just(""), Just("+"), Just("0"), Just("-")],
        ) {
            // Whatever the fast path decides, the text is what computing it afresh gives
            // (or kept as written where the slow path keeps it).
            let text = format!("{prefix}{}{suffix}", n.saturating_mul(mult).unsigned_abs());
            if let Ok(q) = Quantity::parse(&text) {
                let (_, _, slow_keep) = {
                    let scanned = scan(&text).unwrap();
                    let (_, exponent, format) = interpret(scanned.suffix).unwrap();
                    (0, 0, written_canonically(&scanned, exponent, format))
                };
                if !slow_keep {
                    prop_assert_eq!(q.as_str(), q.canonical());
                }
            }
        }

        #[test]
        fn prop_bad_protobuf_quantity_is_a_decode_error_quoting_it(s in "\\PC{1,12}") {
            if Quantity::parse(&s).is_err() {
                let mut bytes = Vec::new();
                prost::encoding::string::encode(1, &s, &mut bytes);
                let err = Quantity::decode(bytes.as_slice()).unwrap_err().to_string();
                prop_assert!(err.contains(&format!("invalid Quantity {s:?}")), "{}", err);
            }
        }

        #[test]
        fn prop_kept_text_amount_is_the_eager_one(s in quantity_string()) {
            // A kept text's amount is worked out on first use; it and the format decided
            // up front are what computing everything at parse time gives.
            if let Ok(v) = Quantity::parse(&s) {
                let (value, format, keep) = parse_parts(&s).unwrap();
                prop_assert_eq!(v.value.get().is_none(), keep);
                prop_assert_eq!(v.format(), format);
                prop_assert_eq!(v.dec(), &value);
                // Decoding the written text (`s` itself when kept) is parsing that text.
                let decoded = Quantity::decode(v.encode_to_vec().as_slice()).unwrap();
                let (value, format, _) = parse_parts(v.as_str()).unwrap();
                prop_assert_eq!(decoded.format(), format);
                prop_assert_eq!(decoded.dec(), &value);
            }
        }

        #[test]
        fn prop_parse_never_panics(s in "\\PC{0,30}") {
            let _ = Quantity::parse(&s);
        }
    }
}
