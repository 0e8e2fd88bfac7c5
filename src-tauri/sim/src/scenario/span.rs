//! Durations in scenario files: `"250ms"`, `"5s"`, `"1m30s"`, `"2h"`, a number of seconds, or a
//! range `["5s", "20s"]` picked uniformly from the scenario's seeded random generator.

use std::fmt;

use rand::Rng;
use serde::de::{self, Deserializer};
use serde::Deserialize;

/// A simulated duration, or a range of them, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub min_ms: i64,
    pub max_ms: i64,
}

impl Span {
    /// Exactly `ms` milliseconds.
    pub const fn ms(ms: i64) -> Span {
        Span {
            min_ms: ms,
            max_ms: ms,
        }
    }

    pub const fn secs(s: i64) -> Span {
        Span::ms(s * 1000)
    }

    /// Anything from `min_ms` to `max_ms` (inclusive).
    pub const fn range(min_ms: i64, max_ms: i64) -> Span {
        Span { min_ms, max_ms }
    }

    /// One value: the fixed one, or a uniform pick from the range.
    pub fn pick(&self, rng: &mut impl Rng) -> i64 {
        if self.max_ms <= self.min_ms {
            self.min_ms
        } else {
            rng.random_range(self.min_ms..=self.max_ms)
        }
    }

    pub fn is_fixed(&self) -> bool {
        self.min_ms == self.max_ms
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_fixed() {
            write!(f, "{}ms", self.min_ms)
        } else {
            write!(f, "{}ms..{}ms", self.min_ms, self.max_ms)
        }
    }
}

/// Parse `"1m30s"`, `"250ms"`, `"1.5s"`, `"2h"` or a bare number of seconds into milliseconds.
pub fn parse_duration(text: &str) -> Result<i64, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("empty duration".into());
    }
    if let Ok(secs) = t.parse::<f64>() {
        return secs_to_ms(secs).ok_or_else(|| format!("bad duration {text:?}"));
    }
    let mut total = 0f64;
    let mut rest = t;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_len == 0 {
            return Err(format!(
                "bad duration {text:?}: expected a number at {rest:?}"
            ));
        }
        let value: f64 = rest[..num_len]
            .parse()
            .map_err(|_| format!("bad number in duration {text:?}"))?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let factor = match rest[..unit_len].trim() {
            "ms" => 1.0,
            "s" | "sec" => 1000.0,
            "m" | "min" => 60_000.0,
            "h" => 3_600_000.0,
            u => {
                return Err(format!(
                    "bad unit {u:?} in duration {text:?} (use ms, s, m, h)"
                ))
            }
        };
        total += value * factor;
        rest = &rest[unit_len..];
    }
    if !total.is_finite() || total > 1e15 {
        return Err(format!("duration {text:?} is too long"));
    }
    Ok(total.round() as i64)
}

fn secs_to_ms(secs: f64) -> Option<i64> {
    (secs.is_finite() && (0.0..1e12).contains(&secs)).then(|| (secs * 1000.0).round() as i64)
}

#[derive(Deserialize)]
#[serde(untagged)]
enum One {
    Text(String),
    Int(i64),
    Float(f64),
}

impl One {
    fn ms(self) -> Result<i64, String> {
        match self {
            One::Text(t) => parse_duration(&t),
            One::Int(i) => {
                if i < 0 {
                    Err(format!("negative duration {i}"))
                } else {
                    i.checked_mul(1000)
                        .ok_or_else(|| format!("duration {i} is too long"))
                }
            }
            One::Float(f) => secs_to_ms(f).ok_or_else(|| format!("bad duration {f}")),
        }
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Raw {
    One(One),
    Range(Vec<One>),
}

impl<'de> Deserialize<'de> for Span {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Span, D::Error> {
        let raw = Raw::deserialize(d).map_err(|_| {
            de::Error::custom(
                "expected a duration (\"5s\", \"1m30s\", seconds) or a range [min, max]",
            )
        })?;
        match raw {
            Raw::One(o) => o.ms().map(Span::ms).map_err(de::Error::custom),
            Raw::Range(v) => {
                let [a, b]: [One; 2] = v.try_into().map_err(|_| {
                    de::Error::custom("a duration range has exactly two items [min, max]")
                })?;
                let (min, max) = (
                    a.ms().map_err(de::Error::custom)?,
                    b.ms().map_err(de::Error::custom)?,
                );
                if min > max {
                    return Err(de::Error::custom(format!(
                        "duration range [{min}ms, {max}ms] has min > max"
                    )));
                }
                Ok(Span::range(min, max))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("250ms"), Ok(250));
        assert_eq!(parse_duration("5s"), Ok(5000));
        assert_eq!(parse_duration("1m30s"), Ok(90_000));
        assert_eq!(parse_duration("1.5s"), Ok(1500));
        assert_eq!(parse_duration("2h"), Ok(7_200_000));
        assert_eq!(parse_duration("7"), Ok(7000));
        assert!(parse_duration("5 parsecs").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("-5s").is_err());
    }

    #[derive(Deserialize)]
    struct T {
        a: Span,
    }

    #[test]
    fn spans_deserialize_from_toml() {
        let t: T = toml::from_str("a = \"3s\"").unwrap();
        assert_eq!(t.a, Span::ms(3000));
        let t: T = toml::from_str("a = 2").unwrap();
        assert_eq!(t.a, Span::ms(2000));
        let t: T = toml::from_str("a = 0.5").unwrap();
        assert_eq!(t.a, Span::ms(500));
        let t: T = toml::from_str("a = [\"1s\", \"2m\"]").unwrap();
        assert_eq!(t.a, Span::range(1000, 120_000));
        assert!(toml::from_str::<T>("a = [\"2m\", \"1s\"]").is_err());
        assert!(toml::from_str::<T>("a = [1, 2, 3]").is_err());
        assert!(toml::from_str::<T>("a = -1").is_err());
    }
}
