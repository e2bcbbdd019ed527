//! `meta/v1` `Time` and `MicroTime`: instants with Go's `metav1` encodings.
//!
//! JSON: an RFC 3339 string in UTC (`Time`: whole seconds, `"2024-05-01T12:00:00Z"`;
//! `MicroTime`: six fractional digits, `"2024-05-01T12:00:00.123456Z"`), and `null` for
//! Go's zero time (0001-01-01T00:00:00Z). Parsing follows Go's `time.Parse` with the
//! `RFC3339` layout (any offset, optional fractional seconds) for `Time` and the
//! `RFC3339Micro` layout (exactly six fractional digits) for `MicroTime`.
//!
//! Protobuf: `message Time { int64 seconds = 1; int32 nanos = 2; }` (same for `MicroTime`).
//! The zero time encodes as an empty message; any other value writes both fields, as
//! gogo-protobuf does for non-pointer Go fields. `Time` writes `nanos = 0` and ignores
//! `nanos` when decoding (kube-apiserver drops sub-second precision so that JSON and
//! protobuf clients see the same value); `MicroTime` keeps nanoseconds.
//!
//! Dates are computed with proleptic Gregorian civil-date arithmetic; no date crate is
//! needed for the fixed UTC formats Kubernetes uses.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

use prost::bytes::{Buf, BufMut};
use prost::encoding::{DecodeContext, WireType};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// Unix seconds of Go's zero `time.Time`, 0001-01-01T00:00:00Z.
pub const GO_ZERO_UNIX_SECONDS: i64 = -62_135_596_800;

const NANOS_PER_SEC: i64 = 1_000_000_000;
const SECS_PER_DAY: i64 = 86_400;

/// Go's `time.RFC3339` layout, used in error messages.
const RFC3339_LAYOUT: &str = "2006-01-02T15:04:05Z07:00";
/// Kubernetes' `metav1.RFC3339Micro` layout, used in error messages.
const RFC3339_MICRO_LAYOUT: &str = "2006-01-02T15:04:05.000000Z07:00";

/// A string that is not a valid RFC 3339 time for the layout Kubernetes uses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("parsing time {input:?} as {layout:?}: {reason}")]
pub struct TimeError {
    input: String,
    layout: &'static str,
    reason: &'static str,
}

impl TimeError {
    fn new(input: &str, layout: &'static str, reason: &'static str) -> TimeError {
        TimeError {
            input: input.to_string(),
            layout,
            reason,
        }
    }
}

/// Seconds and nanoseconds since the Unix epoch as read from the wire; normalised on use
/// (nanoseconds outside `0..1e9` carry into seconds, as Go's `time.Unix` does).
#[derive(Clone, Copy, Debug, Default)]
struct Timestamp {
    seconds: i64,
    nanos: i64,
}

impl Timestamp {
    fn normalized(self) -> (i64, u32) {
        let carry = self.nanos.div_euclid(NANOS_PER_SEC);
        // rem_euclid of a positive modulus is in 0..1e9, which fits u32.
        let nanos = u32::try_from(self.nanos.rem_euclid(NANOS_PER_SEC)).unwrap_or(0);
        (self.seconds.saturating_add(carry), nanos)
    }
}

/// An instant with `Option` standing for Go's zero time; shared by `Time` and `MicroTime`.
#[derive(Clone, Copy, Debug, Default)]
struct Instant {
    ts: Option<Timestamp>,
}

impl Instant {
    fn from_unix(seconds: i64, nanos: u32) -> Instant {
        Instant {
            ts: Some(Timestamp {
                seconds,
                nanos: i64::from(nanos),
            }),
        }
    }

    fn now() -> Instant {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => Instant::from_unix(
                i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
                d.subsec_nanos(),
            ),
            Err(e) => {
                // Before 1970: count back from the epoch.
                let d = e.duration();
                let secs = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
                Instant {
                    ts: Some(Timestamp {
                        seconds: -secs,
                        nanos: -i64::from(d.subsec_nanos()),
                    }),
                }
            }
        }
    }

    /// Normalised `(unix seconds, nanoseconds)`; the zero time is 0001-01-01T00:00:00Z.
    fn parts(self) -> (i64, u32) {
        match self.ts {
            None => (GO_ZERO_UNIX_SECONDS, 0),
            Some(ts) => ts.normalized(),
        }
    }

    fn is_zero(self) -> bool {
        self.parts() == (GO_ZERO_UNIX_SECONDS, 0)
    }

    fn encode_raw(self, keep_nanos: bool, buf: &mut impl BufMut) {
        if self.is_zero() {
            return;
        }
        let (seconds, nanos) = self.parts();
        let nanos = if keep_nanos { nanos_i32(nanos) } else { 0 };
        prost::encoding::int64::encode(1, &seconds, buf);
        prost::encoding::int32::encode(2, &nanos, buf);
    }

    fn encoded_len(self, keep_nanos: bool) -> usize {
        if self.is_zero() {
            return 0;
        }
        let (seconds, nanos) = self.parts();
        let nanos = if keep_nanos { nanos_i32(nanos) } else { 0 };
        prost::encoding::int64::encoded_len(1, &seconds)
            + prost::encoding::int32::encoded_len(2, &nanos)
    }

    fn encode_rev(self, keep_nanos: bool, w: &mut crate::proto::rev::RevBuf) {
        if self.is_zero() {
            return;
        }
        let (seconds, nanos) = self.parts();
        let nanos = if keep_nanos { nanos_i32(nanos) } else { 0 };
        crate::proto::rev::int32(2, &nanos, w);
        crate::proto::rev::int64(1, &seconds, w);
    }

    /// Merges one field of a `Timestamp` message. Any field makes the value non-zero
    /// (Go decodes a non-empty message as `time.Unix(seconds, nanos)`).
    fn merge_field(
        &mut self,
        keep_nanos: bool,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), prost::DecodeError> {
        match tag {
            1 => {
                let ts = self.ts.get_or_insert_with(Timestamp::default);
                prost::encoding::int64::merge(wire_type, &mut ts.seconds, buf, ctx)
            }
            2 => {
                let ts = self.ts.get_or_insert_with(Timestamp::default);
                let mut nanos = 0i32;
                prost::encoding::int32::merge(wire_type, &mut nanos, buf, ctx)?;
                ts.nanos = if keep_nanos { i64::from(nanos) } else { 0 };
                Ok(())
            }
            _ => prost::encoding::skip_field(wire_type, tag, buf, ctx),
        }
    }
}

fn nanos_i32(nanos: u32) -> i32 {
    // Normalised nanoseconds are below 1e9 and fit i32.
    i32::try_from(nanos).unwrap_or(0)
}

impl PartialEq for Instant {
    fn eq(&self, other: &Self) -> bool {
        self.parts() == other.parts()
    }
}

impl Eq for Instant {}

impl Hash for Instant {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.parts().hash(state);
    }
}

impl PartialOrd for Instant {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Instant {
    fn cmp(&self, other: &Self) -> Ordering {
        self.parts().cmp(&other.parts())
    }
}

macro_rules! instant_type {
    ($(#[$doc:meta])* $name:ident, keep_nanos = $keep:expr, layout = $layout:expr, frac = $frac:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
        pub struct $name {
            inner: Instant,
        }

        impl $name {
            /// Go's zero time (0001-01-01T00:00:00Z), which JSON writes as `null`.
            pub const fn zero() -> Self {
                $name { inner: Instant { ts: None } }
            }

            /// The instant `seconds` + `nanos` after the Unix epoch (nanoseconds of one
            /// second or more carry into the seconds).
            pub fn from_unix(seconds: i64, nanos: u32) -> Self {
                $name { inner: Instant::from_unix(seconds, nanos) }
            }

            /// True for Go's zero time (what JSON writes as `null`).
            pub fn is_zero(&self) -> bool {
                self.inner.is_zero()
            }

            /// Seconds since the Unix epoch (negative before 1970).
            pub fn unix_seconds(&self) -> i64 {
                self.inner.parts().0
            }

            /// Nanoseconds within the second, `0..1_000_000_000`.
            pub fn subsec_nanos(&self) -> u32 {
                self.inner.parts().1
            }

            /// The RFC 3339 form JSON uses (without the quotes). The zero time formats
            /// as `0001-01-01T00:00:00Z` here; JSON writes it as `null`.
            pub fn to_rfc3339(&self) -> String {
                let (seconds, nanos) = self.inner.parts();
                format_rfc3339(seconds, nanos, $frac)
            }

            /// Parses the string form the way kube-apiserver's JSON decoder does.
            pub fn parse_rfc3339(s: &str) -> Result<Self, TimeError> {
                let (seconds, nanos) = parse_rfc3339(s, $frac, $layout)?;
                Ok($name::from_unix(seconds, nanos))
            }

            /// Parses a URL query parameter (`sinceTime=...`): empty or `null` is the
            /// zero time, anything else must be RFC 3339.
            pub fn from_query_parameter(s: &str) -> Result<Self, TimeError> {
                if s.is_empty() || s == "null" {
                    return Ok($name::zero());
                }
                $name::parse_rfc3339(s)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.to_rfc3339())
            }
        }

        impl FromStr for $name {
            type Err = TimeError;

            fn from_str(s: &str) -> Result<Self, TimeError> {
                $name::parse_rfc3339(s)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                if self.is_zero() {
                    serializer.serialize_none()
                } else {
                    serializer.serialize_str(&self.to_rfc3339())
                }
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct V;

                impl<'de> Visitor<'de> for V {
                    type Value = $name;

                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str("an RFC 3339 time string or null")
                    }

                    fn visit_str<E: de::Error>(self, v: &str) -> Result<$name, E> {
                        $name::parse_rfc3339(v).map_err(E::custom)
                    }

                    fn visit_unit<E: de::Error>(self) -> Result<$name, E> {
                        Ok($name::zero())
                    }

                    fn visit_none<E: de::Error>(self) -> Result<$name, E> {
                        Ok($name::zero())
                    }

                    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<$name, D::Error> {
                        $name::deserialize(d)
                    }
                }

                deserializer.deserialize_any(V)
            }
        }

        impl crate::proto::rev::RevEncode for $name {
            #[inline]
            fn encode_rev(&self, w: &mut crate::proto::rev::RevBuf) {
                self.inner.encode_rev($keep, w);
            }
        }

        impl prost::Message for $name {
            fn encode_raw(&self, buf: &mut impl BufMut) {
                self.inner.encode_raw($keep, buf);
            }

            fn merge_field(
                &mut self,
                tag: u32,
                wire_type: WireType,
                buf: &mut impl Buf,
                ctx: DecodeContext,
            ) -> Result<(), prost::DecodeError> {
                self.inner.merge_field($keep, tag, wire_type, buf, ctx)
            }

            fn encoded_len(&self) -> usize {
                self.inner.encoded_len($keep)
            }

            fn clear(&mut self) {
                *self = $name::zero();
            }
        }
    };
}

instant_type!(
    /// `io.k8s.apimachinery.pkg.apis.meta.v1.Time`: an instant serialised with
    /// second precision (`"2024-05-01T12:00:00Z"`).
    ///
    /// Sub-second precision is kept in memory when parsed (as Go does) but never
    /// written: JSON truncates to seconds and protobuf writes `nanos = 0`.
    Time,
    keep_nanos = false,
    layout = RFC3339_LAYOUT,
    frac = Frac::Seconds
);

instant_type!(
    /// `io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime`: an instant serialised with
    /// microsecond precision (`"2024-05-01T12:00:00.000000Z"`).
    ///
    /// JSON truncates to microseconds; protobuf keeps nanoseconds.
    MicroTime,
    keep_nanos = true,
    layout = RFC3339_MICRO_LAYOUT,
    frac = Frac::Micros
);

impl Time {
    /// The current time truncated to whole seconds, the precision kube-apiserver stores
    /// (so an object compares equal to itself after a storage round trip).
    pub fn now() -> Time {
        let (seconds, _) = Instant::now().parts();
        Time::from_unix(seconds, 0)
    }

    /// The same instant without its sub-second part.
    pub fn truncated(&self) -> Time {
        Time::from_unix(self.unix_seconds(), 0)
    }
}

impl MicroTime {
    /// The current time truncated to whole microseconds, the precision of its JSON form.
    pub fn now() -> MicroTime {
        let (seconds, nanos) = Instant::now().parts();
        MicroTime::from_unix(seconds, nanos - nanos % 1000)
    }
}

impl From<MicroTime> for Time {
    fn from(t: MicroTime) -> Time {
        Time::from_unix(t.unix_seconds(), t.subsec_nanos())
    }
}

impl From<Time> for MicroTime {
    fn from(t: Time) -> MicroTime {
        if t.is_zero() {
            return MicroTime::zero();
        }
        MicroTime::from_unix(t.unix_seconds(), t.subsec_nanos())
    }
}

// ---------------------------------------------------------------------------------------
// Civil-date arithmetic (proleptic Gregorian calendar, days relative to 1970-01-01).

/// Days since 1970-01-01 of the given civil date.
pub(crate) fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let m = i64::from(month);
    let d = i64::from(day);
    let y = if m <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Civil date `(year, month, day)` of the given count of days since 1970-01-01.
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    // month is in 1..=12 and day in 1..=31 by construction.
    (
        year,
        u32::try_from(month).unwrap_or(1),
        u32::try_from(day).unwrap_or(1),
    )
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

// ---------------------------------------------------------------------------------------
// RFC 3339 formatting and parsing.

/// Which fractional seconds a layout writes and accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Frac {
    /// Go `time.RFC3339`: none written; any number of digits accepted when parsing.
    Seconds,
    /// Kubernetes `RFC3339Micro`: exactly six digits written and required.
    Micros,
}

fn format_rfc3339(seconds: i64, nanos: u32, frac: Frac) -> String {
    let days = seconds.div_euclid(SECS_PER_DAY);
    let secs_of_day = seconds.rem_euclid(SECS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    let (hour, minute, second) = (secs_of_day / 3600, secs_of_day / 60 % 60, secs_of_day % 60);
    // Go writes the year with at least four digits and a leading '-' when negative.
    let year = if year < 0 {
        format!("-{:04}", year.unsigned_abs())
    } else {
        format!("{year:04}")
    };
    match frac {
        Frac::Seconds => format!("{year}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z"),
        Frac::Micros => format!(
            "{year}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{:06}Z",
            nanos / 1000
        ),
    }
}

struct Cursor<'a> {
    b: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<u8> {
        self.b.get(self.pos + offset).copied()
    }

    fn expect(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Exactly `n` ASCII digits.
    fn digits(&mut self, n: usize) -> Option<u32> {
        let mut v = 0u32;
        for i in 0..n {
            let c = self.peek_at(i).filter(u8::is_ascii_digit)?;
            v = v * 10 + u32::from(c - b'0');
        }
        self.pos += n;
        Some(v)
    }

    /// One or two digits (Go's non-fixed `getnum`, used for the hour).
    fn one_or_two_digits(&mut self) -> Option<u32> {
        if self.peek_at(1).is_some_and(|c| c.is_ascii_digit()) {
            self.digits(2)
        } else {
            self.digits(1)
        }
    }
}

/// Parses `s` as Go's `time.Parse` does for the `RFC3339` (`Frac::Seconds`) or
/// `RFC3339Micro` (`Frac::Micros`) layout; returns normalised Unix seconds and nanoseconds.
fn parse_rfc3339(s: &str, frac: Frac, layout: &'static str) -> Result<(i64, u32), TimeError> {
    let bad = |reason: &'static str| TimeError::new(s, layout, reason);
    let mut c = Cursor {
        b: s.as_bytes(),
        pos: 0,
    };

    let year = c.digits(4).ok_or_else(|| bad("cannot parse year"))?;
    if !c.expect(b'-') {
        return Err(bad("cannot parse date separator"));
    }
    let month = c.digits(2).ok_or_else(|| bad("cannot parse month"))?;
    if !c.expect(b'-') {
        return Err(bad("cannot parse date separator"));
    }
    let day = c.digits(2).ok_or_else(|| bad("cannot parse day"))?;
    if !c.expect(b'T') {
        return Err(bad("cannot parse \"T\""));
    }
    let hour = c
        .one_or_two_digits()
        .ok_or_else(|| bad("cannot parse hour"))?;
    if !c.expect(b':') {
        return Err(bad("cannot parse time separator"));
    }
    let minute = c.digits(2).ok_or_else(|| bad("cannot parse minute"))?;
    if !c.expect(b':') {
        return Err(bad("cannot parse time separator"));
    }
    let second = c.digits(2).ok_or_else(|| bad("cannot parse second"))?;

    let mut nanos = 0u32;
    let has_fraction =
        matches!(c.peek(), Some(b'.' | b',')) && c.peek_at(1).is_some_and(|d| d.is_ascii_digit());
    match frac {
        Frac::Seconds => {
            if has_fraction {
                c.pos += 1;
                let mut n = 0;
                while let Some(d) = c.peek().filter(u8::is_ascii_digit) {
                    // Digits past the ninth are read and ignored.
                    if n < 9 {
                        nanos = nanos * 10 + u32::from(d - b'0');
                    }
                    n += 1;
                    c.pos += 1;
                }
                for _ in n..9 {
                    nanos *= 10;
                }
            }
        }
        Frac::Micros => {
            if !matches!(c.peek(), Some(b'.' | b',')) {
                return Err(bad("cannot parse fractional second"));
            }
            c.pos += 1;
            let micros = c
                .digits(6)
                .ok_or_else(|| bad("cannot parse fractional second"))?;
            nanos = micros * 1000;
        }
    }

    let offset_secs: i64 = match c.peek() {
        Some(b'Z') => {
            c.pos += 1;
            0
        }
        Some(sign @ (b'+' | b'-')) => {
            c.pos += 1;
            let oh = c
                .digits(2)
                .ok_or_else(|| bad("cannot parse time zone offset"))?;
            if !c.expect(b':') {
                return Err(bad("cannot parse time zone offset"));
            }
            let om = c
                .digits(2)
                .ok_or_else(|| bad("cannot parse time zone offset"))?;
            // Go accepts offsets of up to 24 hours and 60 minutes.
            if oh > 24 {
                return Err(bad("time zone offset hour out of range"));
            }
            if om > 60 {
                return Err(bad("time zone offset minute out of range"));
            }
            let off = i64::from(oh) * 3600 + i64::from(om) * 60;
            if sign == b'-' { -off } else { off }
        }
        _ => return Err(bad("cannot parse time zone")),
    };
    if c.pos != c.b.len() {
        return Err(bad("extra text after the time zone"));
    }

    if !(1..=12).contains(&month) {
        return Err(bad("month out of range"));
    }
    if hour >= 24 {
        return Err(bad("hour out of range"));
    }
    if minute >= 60 {
        return Err(bad("minute out of range"));
    }
    if second >= 60 {
        return Err(bad("second out of range"));
    }
    let year = i64::from(year);
    if day < 1 || day > days_in_month(year, month) {
        return Err(bad("day out of range"));
    }

    let days = days_from_civil(year, month, day);
    let seconds =
        days * SECS_PER_DAY + i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second)
            - offset_secs;
    Ok((seconds, nanos))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use prost::Message;

    fn t(s: &str) -> Time {
        Time::parse_rfc3339(s).unwrap()
    }

    #[test]
    fn civil_round_trip_known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(
            days_from_civil(1, 1, 1) * SECS_PER_DAY,
            GO_ZERO_UNIX_SECONDS
        );
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        for days in [-800_000i64, -1, 0, 1, 59, 60, 365, 10_957, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn time_formats_utc_seconds() {
        assert_eq!(
            Time::from_unix(1_714_564_800, 0).to_rfc3339(),
            "2024-05-01T12:00:00Z"
        );
        assert_eq!(Time::from_unix(0, 0).to_rfc3339(), "1970-01-01T00:00:00Z");
        assert_eq!(Time::from_unix(-1, 0).to_rfc3339(), "1969-12-31T23:59:59Z");
        assert_eq!(
            Time::from_unix(253_402_300_799, 0).to_rfc3339(),
            "9999-12-31T23:59:59Z"
        );
        assert_eq!(
            Time::from_unix(253_402_300_800, 0).to_rfc3339(),
            "10000-01-01T00:00:00Z"
        );
        // Sub-second precision is truncated, not rounded.
        assert_eq!(
            Time::from_unix(1_714_564_800, 999_999_999).to_rfc3339(),
            "2024-05-01T12:00:00Z"
        );
        assert_eq!(Time::zero().to_rfc3339(), "0001-01-01T00:00:00Z");
        assert_eq!(
            Time::from_unix(GO_ZERO_UNIX_SECONDS - 86_400 * 366, 0).to_rfc3339(),
            "0000-01-01T00:00:00Z"
        );
        assert_eq!(
            Time::from_unix(GO_ZERO_UNIX_SECONDS - 86_400 * 731, 0).to_rfc3339(),
            "-0001-01-01T00:00:00Z"
        );
    }

    #[test]
    fn time_parses_offsets_and_fractions() {
        assert_eq!(t("2024-05-01T12:00:00Z").unix_seconds(), 1_714_564_800);
        assert_eq!(
            t("2024-05-01T14:30:00+02:30").to_rfc3339(),
            "2024-05-01T12:00:00Z"
        );
        assert_eq!(
            t("2024-05-01T07:00:00-05:00").to_rfc3339(),
            "2024-05-01T12:00:00Z"
        );
        assert_eq!(
            t("2024-05-01T00:30:00+01:00").to_rfc3339(),
            "2024-04-30T23:30:00Z"
        );
        assert_eq!(
            t("2024-05-01T12:00:00-00:00").to_rfc3339(),
            "2024-05-01T12:00:00Z"
        );
        let f = t("2024-05-01T12:00:00.987654321Z");
        assert_eq!(
            (f.unix_seconds(), f.subsec_nanos()),
            (1_714_564_800, 987_654_321)
        );
        assert_eq!(f.to_rfc3339(), "2024-05-01T12:00:00Z");
        assert_eq!(t("2024-05-01T12:00:00.5Z").subsec_nanos(), 500_000_000);
        assert_eq!(t("2024-05-01T12:00:00,25Z").subsec_nanos(), 250_000_000);
        // Digits past nanoseconds are ignored.
        assert_eq!(
            t("2024-05-01T12:00:00.1234567891234Z").subsec_nanos(),
            123_456_789
        );
        // Go's hour is one or two digits.
        assert_eq!(
            t("2024-05-01T9:00:00Z").to_rfc3339(),
            "2024-05-01T09:00:00Z"
        );
        assert_eq!(
            t("2024-02-29T00:00:00Z").to_rfc3339(),
            "2024-02-29T00:00:00Z"
        );
        assert_eq!(t("0001-01-01T00:00:00Z"), Time::zero());
        assert!(t("0001-01-01T00:00:00Z").is_zero());
    }

    #[test]
    fn time_rejects_what_go_rejects() {
        for bad in [
            "",
            "2024-05-01",
            "2024-05-01 12:00:00Z",
            "2024-05-01t12:00:00Z",
            "2024-05-01T12:00:00z",
            "2024-05-01T12:00:00",
            "2024-05-01T12:00:00+0200",
            "2024-05-01T12:00:00+02",
            "2024-05-01T12:00:00Z ",
            " 2024-05-01T12:00:00Z",
            "2024-13-01T12:00:00Z",
            "2024-00-01T12:00:00Z",
            "2023-02-29T12:00:00Z",
            "2024-04-31T12:00:00Z",
            "2024-05-01T24:00:00Z",
            "2024-05-01T12:60:00Z",
            "2024-05-01T12:00:60Z",
            "2024-5-01T12:00:00Z",
            "24-05-01T12:00:00Z",
            "+2024-05-01T12:00:00Z",
            "2024-05-01T12:00:00.Z",
            "2024-05-01T12:00:00+25:00",
            "2024-05-01T12:00:00.5",
        ] {
            assert!(Time::parse_rfc3339(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn time_json() {
        let v = Time::from_unix(1_714_564_800, 0);
        assert_eq!(
            serde_json::to_string(&v).unwrap(),
            r#""2024-05-01T12:00:00Z""#
        );
        assert_eq!(serde_json::to_string(&Time::zero()).unwrap(), "null");
        assert_eq!(serde_json::from_str::<Time>("null").unwrap(), Time::zero());
        assert_eq!(
            serde_json::from_str::<Time>(r#""2024-05-01T14:00:00+02:00""#).unwrap(),
            v
        );
        assert_eq!(
            serde_json::from_value::<Time>(serde_json::json!("2024-05-01T12:00:00Z")).unwrap(),
            v
        );
        assert!(serde_json::from_str::<Time>("1714564800").is_err());
        assert!(serde_json::from_str::<Time>(r#""yesterday""#).is_err());
        assert!(serde_json::from_str::<Time>(r#""""#).is_err());
        assert_eq!(serde_json::from_str::<Option<Time>>("null").unwrap(), None);
    }

    #[test]
    fn micro_time_json() {
        let v = MicroTime::from_unix(1_714_564_800, 123_456_789);
        assert_eq!(
            serde_json::to_string(&v).unwrap(),
            r#""2024-05-01T12:00:00.123456Z""#
        );
        assert_eq!(
            serde_json::to_string(&MicroTime::from_unix(1_714_564_800, 0)).unwrap(),
            r#""2024-05-01T12:00:00.000000Z""#
        );
        assert_eq!(serde_json::to_string(&MicroTime::zero()).unwrap(), "null");
        let p = MicroTime::parse_rfc3339("2024-05-01T14:00:00.000001+02:00").unwrap();
        assert_eq!((p.unix_seconds(), p.subsec_nanos()), (1_714_564_800, 1000));
        // Go's RFC3339Micro layout needs exactly six fractional digits.
        for bad in [
            "2024-05-01T12:00:00Z",
            "2024-05-01T12:00:00.12345Z",
            "2024-05-01T12:00:00.1234567Z",
        ] {
            assert!(MicroTime::parse_rfc3339(bad).is_err(), "{bad:?} parsed");
        }
        assert_eq!(
            MicroTime::from_query_parameter("").unwrap(),
            MicroTime::zero()
        );
    }

    #[test]
    fn time_protobuf_bytes() {
        // seconds = 1714564800, nanos = 0; both fields always written.
        let v = Time::from_unix(1_714_564_800, 5);
        assert_eq!(
            v.encode_to_vec(),
            vec![0x08, 0xc0, 0xdd, 0xc8, 0xb1, 0x06, 0x10, 0x00]
        );
        assert_eq!(
            Time::from_unix(0, 0).encode_to_vec(),
            vec![0x08, 0x00, 0x10, 0x00]
        );
        assert!(Time::zero().encode_to_vec().is_empty());
        assert_eq!(Time::decode(&[][..]).unwrap(), Time::zero());
        // Time ignores nanos on decode, MicroTime keeps them.
        let with_nanos = [0x08, 0x01, 0x10, 0x07];
        assert_eq!(
            Time::decode(&with_nanos[..]).unwrap(),
            Time::from_unix(1, 0)
        );
        assert_eq!(
            MicroTime::decode(&with_nanos[..]).unwrap(),
            MicroTime::from_unix(1, 7)
        );
        assert_eq!(
            MicroTime::from_unix(1, 7).encode_to_vec(),
            vec![0x08, 0x01, 0x10, 0x07]
        );
        // A message with only nanos is the epoch, not the zero time.
        assert_eq!(
            Time::decode(&[0x10, 0x05][..]).unwrap(),
            Time::from_unix(0, 0)
        );
        // Negative nanos normalise as Go's time.Unix does.
        let neg = MicroTime::decode(&[0x08, 0x02, 0x10, 0xff, 0xff, 0xff, 0xff, 0x0f][..]).unwrap();
        assert_eq!((neg.unix_seconds(), neg.subsec_nanos()), (1, 999_999_999));
    }

    #[test]
    fn ordering_and_conversions() {
        assert!(Time::zero() < Time::from_unix(0, 0));
        assert!(Time::from_unix(1, 0) < Time::from_unix(1, 1));
        assert_eq!(
            Time::from(MicroTime::from_unix(5, 6)),
            Time::from_unix(5, 6)
        );
        assert_eq!(MicroTime::from(Time::zero()), MicroTime::zero());
        assert_eq!(Time::now().subsec_nanos(), 0);
        assert_eq!(MicroTime::now().subsec_nanos() % 1000, 0);
        assert!(Time::now().unix_seconds() > 1_700_000_000);
        assert_eq!(Time::from_unix(3, 2_000_000_001), Time::from_unix(5, 1));
    }

    /// Unix seconds of years 1..=9999, the range RFC 3339 strings can carry.
    fn seconds_in_range() -> impl Strategy<Value = i64> {
        (GO_ZERO_UNIX_SECONDS + 1)..=253_402_300_799i64
    }

    proptest! {
        #[test]
        fn prop_time_json_round_trip(secs in seconds_in_range()) {
            let v = Time::from_unix(secs, 0);
            let json = serde_json::to_string(&v).unwrap();
            let back: Time = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(back, v);
            prop_assert_eq!(serde_json::to_string(&back).unwrap(), json);
        }

        #[test]
        fn prop_time_offsets(
            secs in (GO_ZERO_UNIX_SECONDS + 86_400)..=(253_402_300_799i64 - 86_400),
            off_min in -1439i64..=1439,
            nanos in 0u32..1_000_000_000,
        ) {
            // The same instant written in another offset, with a fraction, parses back.
            let base = Time::from_unix(secs + off_min * 60, 0).to_rfc3339();
            let sign = if off_min < 0 { '-' } else { '+' };
            let a = off_min.unsigned_abs();
            let text = format!("{}.{nanos:09}{sign}{:02}:{:02}", &base[..base.len() - 1], a / 60, a % 60);
            let p = Time::parse_rfc3339(&text).unwrap();
            prop_assert_eq!((p.unix_seconds(), p.subsec_nanos()), (secs, nanos));
        }

        #[test]
        fn prop_time_proto_round_trip(secs in any::<i64>()) {
            let v = Time::from_unix(secs, 0);
            let back = Time::decode(v.encode_to_vec().as_slice()).unwrap();
            prop_assert_eq!(back, v);
            prop_assert_eq!(v.encoded_len(), v.encode_to_vec().len());
        }

        #[test]
        fn prop_micro_time_json_round_trip(secs in seconds_in_range(), micros in 0u32..1_000_000) {
            let v = MicroTime::from_unix(secs, micros * 1000);
            let json = serde_json::to_string(&v).unwrap();
            let back: MicroTime = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(back, v);
        }

        #[test]
        fn prop_micro_time_proto_round_trip(secs in any::<i64>(), nanos in 0u32..1_000_000_000) {
            let v = MicroTime::from_unix(secs, nanos);
            let back = MicroTime::decode(v.encode_to_vec().as_slice()).unwrap();
            prop_assert_eq!(back, v);
            prop_assert_eq!(v.encoded_len(), v.encode_to_vec().len());
        }

        #[test]
        fn prop_parse_never_panics(s in "\\PC{0,40}") {
            let _ = Time::parse_rfc3339(&s);
            let _ = MicroTime::parse_rfc3339(&s);
        }
    }
}
