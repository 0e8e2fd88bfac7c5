//! Timestamps as the platforms send them, and a stable digest for dedup keys.

use chrono::{DateTime, NaiveDateTime, Offset as _, TimeZone as _};
use chrono_tz::Tz;

/// What the decoders need besides the request itself.
#[derive(Debug, Clone, Copy)]
pub struct DecodeOptions {
    /// Zone of timestamps that carry none (`2021-01-28 14:15:22`). Default Europe/Moscow.
    pub tz: Tz,
    /// When the request was received, ms since the epoch: the event time when a request
    /// carries none.
    pub received_ms: i64,
}

impl DecodeOptions {
    /// Moscow time, received now.
    pub fn now() -> Self {
        DecodeOptions {
            tz: chrono_tz::Europe::Moscow,
            received_ms: chrono::Utc::now().timestamp_millis(),
        }
    }
}

/// Parse a platform timestamp to ms since the epoch.
///
/// Accepts `YYYY-MM-DD HH:MM:SS` (or with `T`, optional fraction) read in `tz`; the same with
/// an explicit offset or `Z` (RFC 3339); and a bare number of seconds, milliseconds or
/// microseconds since the epoch (told apart by magnitude). `None` if it is none of these.
pub fn parse_timestamp(raw: &str, tz: Tz) -> Option<i64> {
    let s = raw.trim();
    if s.is_empty() {
        return None;
    }
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return epoch_to_ms(s.parse::<i64>().ok()?);
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Some(dt.timestamp_millis());
    }
    for fmt in [
        "%Y-%m-%d %H:%M:%S%.f%:z",
        "%Y-%m-%d %H:%M:%S%.f%z",
        "%Y-%m-%dT%H:%M:%S%.f%z",
    ] {
        if let Ok(dt) = DateTime::parse_from_str(s, fmt) {
            return Some(dt.timestamp_millis());
        }
    }
    for fmt in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(local_to_ms(naive, tz));
        }
    }
    None
}

/// A bare epoch number in seconds, ms, µs or ns (told apart by magnitude) to ms.
pub fn epoch_to_ms(n: i64) -> Option<i64> {
    if n < 0 {
        return None;
    }
    Some(match n {
        0..100_000_000_000 => n.checked_mul(1000)?,
        100_000_000_000..100_000_000_000_000 => n,
        100_000_000_000_000..100_000_000_000_000_000 => n / 1000,
        _ => n / 1_000_000,
    })
}

/// A wall-clock time in `tz` to ms since the epoch. Ambiguous times (DST fold) take the
/// earlier instant; times in a DST gap use the offset in force just after it.
fn local_to_ms(naive: NaiveDateTime, tz: Tz) -> i64 {
    match tz.from_local_datetime(&naive) {
        chrono::LocalResult::Single(t) => t.timestamp_millis(),
        chrono::LocalResult::Ambiguous(a, b) => a.timestamp_millis().min(b.timestamp_millis()),
        chrono::LocalResult::None => {
            let offset = tz.offset_from_utc_datetime(&naive).fix();
            (naive - offset).and_utc().timestamp_millis()
        }
    }
}

/// Format ms since the epoch as `YYYY-MM-DD HH:MM:SS` in `tz`.
pub fn format_local(ms: i64, tz: Tz) -> String {
    match chrono::DateTime::from_timestamp_millis(ms) {
        Some(t) => t.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S").to_string(),
        None => String::new(),
    }
}

/// 64-bit FNV-1a: a digest that never changes between builds (unlike `DefaultHasher`), so
/// dedup keys stay stable across upgrades.
pub(crate) fn fnv1a64(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.bytes().chain(std::iter::once(0xff)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSK: Tz = chrono_tz::Europe::Moscow;

    #[test]
    fn seed_format_is_moscow_time() {
        // 2021-01-28 14:15:22 MSK = 11:15:22 UTC.
        let ms = parse_timestamp("2021-01-28 14:15:22", MSK).unwrap();
        assert_eq!(ms, 1_611_832_522_000);
        assert_eq!(format_local(ms, MSK), "2021-01-28 14:15:22");
        assert_eq!(parse_timestamp("2021-01-28T14:15:22", MSK), Some(ms));
        assert_eq!(parse_timestamp("2021-01-28T11:15:22Z", MSK), Some(ms));
        assert_eq!(parse_timestamp("2021-01-28 14:15:22+03:00", MSK), Some(ms));
        assert_eq!(
            parse_timestamp("2021-01-28 11:15:22", chrono_tz::UTC),
            Some(ms)
        );
    }

    #[test]
    fn epoch_numbers_by_magnitude() {
        // Seed 000: EventTime in microseconds.
        assert_eq!(
            parse_timestamp("1591266790576760", MSK),
            Some(1_591_266_790_576)
        );
        assert_eq!(
            parse_timestamp("1591266790576", MSK),
            Some(1_591_266_790_576)
        );
        assert_eq!(parse_timestamp("1591266790", MSK), Some(1_591_266_790_000));
        assert_eq!(parse_timestamp("99999999999999999999999", MSK), None);
    }

    #[test]
    fn garbage_is_none() {
        for s in ["", "yesterday", "2021-13-40 25:61:61", "2021-01-28", "-5"] {
            assert_eq!(parse_timestamp(s, MSK), None, "{s}");
        }
    }

    #[test]
    fn dst_gap_and_fold_do_not_panic() {
        let berlin = chrono_tz::Europe::Berlin;
        assert!(parse_timestamp("2021-03-28 02:30:00", berlin).is_some());
        assert!(parse_timestamp("2021-10-31 02:30:00", berlin).is_some());
    }

    #[test]
    fn digest_is_stable() {
        assert_eq!(fnv1a64(&[]), 0xcbf2_9ce4_8422_2325);
        assert_ne!(fnv1a64(&["ab", "c"]), fnv1a64(&["a", "bc"]));
        assert_eq!(fnv1a64(&["x"]), fnv1a64(&["x"]));
    }
}
