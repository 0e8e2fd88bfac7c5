//! The one result table: rows, verdicts, Markdown rendering, and the BENCHMARKS.md section.

use std::fmt::Write as _;

/// How a row compares with its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Fail,
    /// A number without a target (context, or the target needs something not measured here).
    Info,
    /// The benchmark could not run here; the note says why and how to make it run.
    NotMeasured,
}

impl Verdict {
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "FAIL",
            Verdict::Info => "info",
            Verdict::NotMeasured => "not measured",
        }
    }

    /// `Pass` when `ok`, else `Fail`.
    pub fn of(ok: bool) -> Verdict {
        if ok {
            Verdict::Pass
        } else {
            Verdict::Fail
        }
    }
}

/// One line of the table.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub metric: String,
    pub ours: String,
    /// The peer or floor value, labelled (e.g. `floor 0.21 ms`); `—` when there is none.
    pub peer: String,
    /// ours ÷ peer, e.g. `1.20×`; `—` when there is none.
    pub ratio: String,
    pub target: String,
    pub verdict: Verdict,
}

impl Row {
    pub fn new(metric: impl Into<String>) -> Row {
        Row {
            metric: metric.into(),
            ours: "—".into(),
            peer: "—".into(),
            ratio: "—".into(),
            target: "—".into(),
            verdict: Verdict::Info,
        }
    }

    pub fn ours(mut self, v: impl Into<String>) -> Row {
        self.ours = v.into();
        self
    }

    pub fn peer(mut self, v: impl Into<String>) -> Row {
        self.peer = v.into();
        self
    }

    pub fn ratio(mut self, ours: f64, peer: f64) -> Row {
        self.ratio = fmt_ratio(ours, peer);
        self
    }

    pub fn target(mut self, v: impl Into<String>) -> Row {
        self.target = v.into();
        self
    }

    pub fn verdict(mut self, v: Verdict) -> Row {
        self.verdict = v;
        self
    }

    /// A row for a benchmark that could not run: `reason` goes in the `ours` column.
    pub fn not_measured(metric: impl Into<String>, target: &str, reason: impl Into<String>) -> Row {
        Row::new(metric)
            .ours(format!("not measured: {}", reason.into()))
            .target(target)
            .verdict(Verdict::NotMeasured)
    }
}

/// `ours / peer` as `1.23×`; `—` when it is not a finite ratio.
pub fn fmt_ratio(ours: f64, peer: f64) -> String {
    if peer > 0.0 && ours.is_finite() && peer.is_finite() {
        format!("{:.2}×", ours / peer)
    } else {
        "—".into()
    }
}

/// Milliseconds with a precision that suits the size.
pub fn fmt_ms(ms: f64) -> String {
    if !ms.is_finite() {
        "—".into()
    } else if ms < 10.0 {
        format!("{ms:.3} ms")
    } else if ms < 1000.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{:.2} s", ms / 1000.0)
    }
}

/// Bytes as MB (10⁶, as package sizes are quoted) with one decimal.
pub fn fmt_mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1_000_000.0)
}

/// A rate with thousands separators: `12,000/s`.
pub fn fmt_rate(per_sec: f64) -> String {
    format!("{}/s", group_thousands(per_sec.round().max(0.0) as u64))
}

pub fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn escape_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The rows as an aligned Markdown table (readable on a terminal too).
pub fn render(rows: &[Row]) -> String {
    let header = [
        "metric",
        "ours",
        "peer / floor",
        "ratio",
        "target",
        "result",
    ];
    let cells: Vec<[String; 6]> = rows
        .iter()
        .map(|r| {
            [
                escape_cell(&r.metric),
                escape_cell(&r.ours),
                escape_cell(&r.peer),
                escape_cell(&r.ratio),
                escape_cell(&r.target),
                r.verdict.label().to_string(),
            ]
        })
        .collect();
    let mut widths = header.map(|h| h.chars().count());
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row.iter()) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cols: &[String]| {
        let mut s = String::from("|");
        for (c, w) in cols.iter().zip(widths.iter()) {
            let pad = w.saturating_sub(c.chars().count());
            let _ = write!(s, " {c}{} |", " ".repeat(pad));
        }
        s.push('\n');
        s
    };
    let mut out = line(&header.map(String::from));
    out.push('|');
    for w in widths {
        let _ = write!(out, "{}|", "-".repeat(w + 2));
    }
    out.push('\n');
    for row in &cells {
        out.push_str(&line(row));
    }
    out
}

/// Start and end markers of the generated section in BENCHMARKS.md.
pub const BEGIN: &str = "<!-- cti-bench:begin (generated by `cargo run -p cti-bench --release -- all`; edits inside are overwritten) -->";
pub const END: &str = "<!-- cti-bench:end -->";

/// `existing` (the file's text, possibly empty) with the generated section replaced, or
/// appended when there is none yet. Everything outside the markers is kept as it was.
pub fn splice_section(existing: &str, section: &str) -> String {
    let block = format!("{BEGIN}\n{}\n{END}", section.trim_end());
    if let (Some(b), Some(e)) = (existing.find(BEGIN), existing.find(END)) {
        if b < e {
            let mut out = String::with_capacity(existing.len() + block.len());
            out.push_str(&existing[..b]);
            out.push_str(&block);
            out.push_str(&existing[e + END.len()..]);
            return out;
        }
    }
    if existing.trim().is_empty() {
        return format!("# Benchmarks\n\n{block}\n");
    }
    let mut out = existing.trim_end().to_string();
    out.push_str("\n\n");
    out.push_str(&block);
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(fmt_ratio(3.0, 2.0), "1.50×");
        assert_eq!(fmt_ratio(3.0, 0.0), "—");
        assert_eq!(fmt_ratio(f64::NAN, 1.0), "—");
        assert_eq!(fmt_ms(0.4123), "0.412 ms");
        assert_eq!(fmt_ms(12.34), "12.3 ms");
        assert_eq!(fmt_ms(1234.0), "1.23 s");
        assert_eq!(fmt_mb(8_400_000), "8.4 MB");
        assert_eq!(fmt_rate(12_000.4), "12,000/s");
        assert_eq!(group_thousands(0), "0");
        assert_eq!(group_thousands(999), "999");
        assert_eq!(group_thousands(1_000), "1,000");
        assert_eq!(group_thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn renders_an_aligned_markdown_table() {
        let rows = vec![
            Row::new("CI p99 @ 1,000/s")
                .ours(fmt_ms(0.5))
                .peer("floor 0.400 ms")
                .ratio(0.5, 0.4)
                .target("≤ 5 ms, ≤ 1.5× floor")
                .verdict(Verdict::Pass),
            Row::not_measured("package size", "≤ 10 MB", "no .deb | run tauri build"),
        ];
        let t = render(&rows);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 4);
        assert!(lines[0].starts_with("| metric"));
        assert!(lines[1].starts_with("|---"));
        assert!(lines[2].contains("1.25×"));
        assert!(lines[2].ends_with("| pass         |"), "{}", lines[2]);
        // The pipe inside a cell is escaped, so every line has 7 unescaped separators.
        assert!(lines[3].contains("no .deb \\| run"));
        let widths: Vec<usize> = lines.iter().map(|l| l.chars().count()).collect();
        assert!(widths.windows(2).all(|w| w[0] == w[1]), "{widths:?}");
        assert!(lines[3].contains("not measured"));
    }

    #[test]
    fn section_is_spliced_without_touching_the_rest() {
        let fresh = splice_section("", "## Side by side\n\nnumbers");
        assert!(fresh.starts_with("# Benchmarks\n\n"));
        assert!(fresh.contains(BEGIN) && fresh.contains(END));

        let with_history = "# Benchmarks\n\n## History\n\nstore numbers\n";
        let once = splice_section(with_history, "## Side by side\n\nv1");
        assert!(once.contains("## History\n\nstore numbers"));
        assert!(once.contains("v1"));
        let twice = splice_section(&once, "## Side by side\n\nv2\n");
        assert!(twice.contains("v2") && !twice.contains("v1"));
        assert!(twice.contains("## History\n\nstore numbers"));
        assert_eq!(twice.matches(BEGIN).count(), 1);
        // Text after the section survives a replacement.
        let after = format!("{twice}\n## Later\n\nmore\n");
        let thrice = splice_section(&after, "v3");
        assert!(thrice.contains("## Later\n\nmore") && thrice.contains("v3"));
    }
}
