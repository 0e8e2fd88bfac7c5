//! History: runs the history store benchmark (`cti-bench history-store`, in a child process) at a
//! configurable size and turns its output into table rows.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use crate::table::{fmt_ms, group_thousands, Row, Verdict};
use crate::Section;

#[derive(Debug, Clone)]
pub struct HistoryOptions {
    pub calls: u64,
    pub single: u64,
    pub lookups: u64,
    pub searches: u64,
}

impl Default for HistoryOptions {
    fn default() -> Self {
        HistoryOptions {
            calls: 1_000_000,
            single: 2_000,
            lookups: 2_000,
            searches: 500,
        }
    }
}

/// The numbers read from the benchmark's output.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HistoryNumbers {
    pub calls: Option<f64>,
    pub rows_per_sec: Option<f64>,
    pub events_per_sec: Option<f64>,
    pub commit_p99_ms: Option<f64>,
    pub by_number_p99_ms: Option<f64>,
    pub by_range_p99_ms: Option<f64>,
    pub details_p99_ms: Option<f64>,
    pub search_p95_ms: Option<f64>,
    pub quick_check_ms: Option<f64>,
    pub file_mib: Option<f64>,
}

/// The number after `key` in `line` (`key 12.5`, `key=12.5` or `key 12,345`), with a unit
/// suffix `ms`/`s` converted to milliseconds when `as_ms`.
pub fn value_after(line: &str, key: &str, as_ms: bool) -> Option<f64> {
    let at = line.find(key)? + key.len();
    let rest = line[at..].trim_start_matches(['=', ' ', ':']);
    let mut parts = rest.split_whitespace();
    let num: f64 = parts.next()?.replace(',', "").parse().ok()?;
    if !as_ms {
        return Some(num);
    }
    match parts.next() {
        Some(u) if u.starts_with("ms") => Some(num),
        Some(u) if u.starts_with('s') => Some(num * 1000.0),
        Some(u) if u.starts_with("µs") || u.starts_with("us") => Some(num / 1000.0),
        _ => Some(num),
    }
}

pub fn parse(output: &str) -> HistoryNumbers {
    let mut n = HistoryNumbers::default();
    for line in output.lines() {
        if line.starts_with("history bench:") {
            n.calls = value_after(line, "history bench:", false);
        }
        if line.contains("events/s") && line.contains("rows/s") {
            n.events_per_sec = value_after(line, "events/s", false);
            n.rows_per_sec = value_after(line, "rows/s", false);
        }
        if line.contains("durable commit") {
            n.commit_p99_ms = value_after(line, "p99", true);
        }
        if line.contains("by remote number") {
            n.by_number_p99_ms = value_after(line, "p99", true);
        }
        if line.contains("by time range") {
            n.by_range_p99_ms = value_after(line, "p99", true);
        }
        if line.contains("call details by id") {
            n.details_p99_ms = value_after(line, "p99", true);
        }
        if line.contains("all searches") {
            n.search_p95_ms = value_after(line, "p95", true);
        }
        if line.contains("[quick_check]") {
            n.quick_check_ms = line
                .find(" in ")
                .and_then(|i| value_after(&line[i..], " in", true));
            n.file_mib = value_after(line, "file", false);
        }
    }
    n
}

pub fn rows(n: &HistoryNumbers) -> Vec<Row> {
    let calls = n
        .calls
        .map(|c| group_thousands(c as u64))
        .unwrap_or_else(|| "?".into());
    let missing = |metric: &str, target: &str| {
        Row::not_measured(
            metric,
            target,
            "the history benchmark printed no such number",
        )
    };
    let mut out = Vec::new();
    out.push(match n.rows_per_sec {
        Some(r) => Row::new(format!("History bulk import, {calls} calls"))
            .ours(format!(
                "{} rows/s ({} events/s)",
                group_thousands(r.round() as u64),
                n.events_per_sec
                    .map(|e| group_thousands(e.round() as u64))
                    .unwrap_or_else(|| "?".into())
            ))
            .target("≥ 200,000 rows/s")
            .verdict(Verdict::of(r >= 200_000.0)),
        None => missing("History bulk import", "≥ 200,000 rows/s"),
    });
    let ms_row = |metric: String, v: Option<f64>, target: &str, limit: f64| match v {
        Some(v) => Row::new(metric)
            .ours(fmt_ms(v))
            .target(target)
            .verdict(Verdict::of(v <= limit)),
        None => missing(&metric, target),
    };
    out.push(ms_row(
        format!("History single-event durable commit p99 (at {calls} calls)"),
        n.commit_p99_ms,
        "≤ 10 ms",
        10.0,
    ));
    let lookup = match (n.by_number_p99_ms, n.by_range_p99_ms) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    out.push(ms_row(
        format!("History indexed lookup p99, worst of number/time range (at {calls} calls)"),
        lookup,
        "≤ 5 ms",
        5.0,
    ));
    out.push(ms_row(
        format!("History FTS search p95, LIMIT 50 (at {calls} calls)"),
        n.search_p95_ms,
        "≤ 50 ms",
        50.0,
    ));
    let metric = format!(
        "History quick_check at open ({calls} calls{})",
        n.file_mib
            .map(|m| format!(", {m:.0} MiB"))
            .unwrap_or_default()
    );
    let target = "≤ 200 ms, or in the background";
    out.push(match n.quick_check_ms {
        // The store checks files above 64 MiB in the background after opening
        // (`history.background_check_above_bytes`), so a slow check delays nothing.
        Some(v) if v > 200.0 && n.file_mib.is_some_and(|m| m > 64.0) => Row::new(metric)
            .ours(format!("{} (in the background: file > 64 MiB)", fmt_ms(v)))
            .target(target)
            .verdict(Verdict::Pass),
        v => ms_row(metric, v, target, 200.0),
    });
    out
}

/// Run `cti-bench history-store` (this binary, in a child process so the store's memory and
/// threads end with it), echoing its output.
pub fn run(root: &Path, opts: &HistoryOptions) -> Section {
    let title = "History store";
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => {
            return Section::failed(
                title,
                Row::not_measured("History benchmark", "—", format!("current_exe: {e}")),
            )
        }
    };
    let mut cmd = Command::new(exe);
    cmd.current_dir(root)
        .arg("history-store")
        .args(["--calls", &opts.calls.to_string()])
        .args(["--single", &opts.single.to_string()])
        .args(["--lookups", &opts.lookups.to_string()])
        .args(["--searches", &opts.searches.to_string()])
        .arg("--dir")
        .arg(root.join("target"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    eprintln!(
        "cti-bench: history benchmark at {} calls (cti-bench history-store)",
        opts.calls
    );
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            return Section::failed(
                title,
                Row::not_measured("History benchmark", "—", format!("history-store: {e}")),
            )
        }
    };
    let mut output = String::new();
    if let Some(out) = child.stdout.take() {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            eprintln!("    {line}");
            output.push_str(&line);
            output.push('\n');
        }
    }
    let status = child.wait();
    if !status.as_ref().is_ok_and(|s| s.success()) {
        return Section::failed(
            title,
            Row::not_measured(
                "History benchmark",
                "—",
                format!("history-store failed ({status:?})"),
            ),
        );
    }
    let numbers = parse(&output);
    Section {
        title: title.into(),
        rows: rows(&numbers),
        details: format!(
            "`cargo run -p cti-bench --release -- history-store --calls {} --single {} --lookups {} --searches {}` (`--history-calls N` in `all` sets the size).\n",
            opts.calls, opts.single, opts.lookups, opts.searches
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "history bench: 200000 calls, file /tmp/history-benchX/history.db
settings: WAL, synchronous=FULL, one writer thread (group commit), pooled readers
  … 100000 calls, 81234 events/s so far

[bulk import] 200000 calls, 1100000 events, 5400000 rows in 20.1 s (import 18.0 s, generation included in wall)
  events/s 61111   rows/s 300000   calls/s 11111

[single acknowledged commit] one event per store(), awaited; 1234 lookups ran concurrently
  store() → durable commit           n=2000   p50 1.234 ms  p99 4.567 ms  max 9.000 ms

[indexed lookups] LIMIT 50 (12345 rows returned by number)
  by remote number                   n=2000   p50 0.100 ms  p99 0.400 ms  max 1.000 ms
  by time range (1 day)              n=2000   p50 0.200 ms  p99 0.900 ms  max 2.000 ms
  call details by id                 n=2000   p50 0.050 ms  p99 0.100 ms  max 0.300 ms

[FTS5 search] trigram, newest first, LIMIT 50 (9999 rows returned)
  4-digit number fragment            n=500    p50 1.000 ms  p95 3.000 ms  p99 5.000 ms  max 9.000 ms
  all searches                       n=1000   p50 2.000 ms  p95 12.500 ms  p99 20.000 ms  max 30.000 ms

[quick_check] ok in 0.25 s; file 812.3 MiB
";

    #[test]
    fn reads_the_history_bench_output() {
        let n = parse(SAMPLE);
        assert_eq!(n.calls, Some(200_000.0));
        assert_eq!(n.rows_per_sec, Some(300_000.0));
        assert_eq!(n.events_per_sec, Some(61_111.0));
        assert_eq!(n.commit_p99_ms, Some(4.567));
        assert_eq!(n.by_number_p99_ms, Some(0.4));
        assert_eq!(n.by_range_p99_ms, Some(0.9));
        assert_eq!(n.details_p99_ms, Some(0.1));
        assert_eq!(n.search_p95_ms, Some(12.5));
        assert_eq!(n.quick_check_ms, Some(250.0));
        assert_eq!(n.file_mib, Some(812.3));
        let rows = rows(&n);
        assert_eq!(rows.len(), 5);
        assert_eq!(rows[0].verdict, Verdict::Pass);
        assert!(rows[0].ours.starts_with("300,000 rows/s (61,111 events/s)"));
        assert_eq!(rows[1].verdict, Verdict::Pass);
        assert_eq!(rows[2].ours, "0.900 ms");
        // 250 ms > 200 ms, but an 812 MiB file is checked in the background.
        assert_eq!(rows[4].verdict, Verdict::Pass);
        assert!(rows[4].ours.contains("background"));
        assert!(rows[4].metric.contains("812 MiB"));
        let small = HistoryNumbers {
            quick_check_ms: Some(250.0),
            file_mib: Some(20.0),
            ..n
        };
        assert_eq!(super::rows(&small)[4].verdict, Verdict::Fail);
    }

    #[test]
    fn missing_numbers_are_reported_not_invented() {
        let rows = rows(&parse("something else entirely\n"));
        assert!(rows.iter().all(|r| r.verdict == Verdict::NotMeasured));
    }

    #[test]
    fn values_with_units() {
        assert_eq!(value_after("p99 1.5 ms", "p99", true), Some(1.5));
        assert_eq!(value_after("ok in 0.25 s;", " in", true), Some(250.0));
        assert_eq!(value_after("n=2000 p50", "n", false), Some(2000.0));
        assert_eq!(value_after("rate 12,345 x", "rate", false), Some(12_345.0));
        assert_eq!(value_after("p99 lots", "p99", true), None);
        assert_eq!(value_after("nothing", "p99", true), None);
    }
}
