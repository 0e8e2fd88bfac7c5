//! Shared helpers of the reliability, hostile-input and security suites.
//!
//! - [`proxy`]: a fault-injecting TCP proxy on loopback (latency, stall, drop, refuse, reject);
//! - [`era`]: an Era "panel" under test (session + history store on a temp file) against the
//!   simulator, with the end-state checks every fault scenario ends with;
//! - [`listener`]: a webhook listener in front of the real history store, raw HTTP helpers;
//! - [`knobs`]: short/long versions chosen by environment variables;
//! - [`rss`]: resident memory of this process.
#![allow(dead_code)]

pub mod era;
pub mod listener;
pub mod proxy;

/// Short versions by default; `CTI_LONG=1` (or a specific variable) selects the long ones.
pub mod knobs {
    /// `CTI_LONG=1` selects every long version.
    pub fn long() -> bool {
        std::env::var("CTI_LONG").is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
    }

    /// `name` from the environment, else `long` under `CTI_LONG=1`, else `short`.
    pub fn env_u64(name: &str, short: u64, long_value: u64) -> u64 {
        std::env::var(name)
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(if long() { long_value } else { short })
    }
}

/// Resident set size of this process, KiB (`VmRSS` of `/proc/self/status`; 0 elsewhere).
pub mod rss {
    pub fn kib() -> u64 {
        std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmRSS:"))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|n| n.parse().ok())
            })
            .unwrap_or(0)
    }
}

/// One line per measurement, easy to grep from the test output (`grep '^MEASURE'`).
pub fn measure(scenario: &str, what: &str, value: impl std::fmt::Display) {
    eprintln!("MEASURE {scenario} {what}={value}");
}
