//! Event to screen in the real window (benchmark 3, the on-screen half): from the simulator
//! writing an Era WebSocket `notify` (or the benchmark POSTing a seed-004 `CreateIncCall`
//! webhook) to the incoming-call card painted in the release app's window.
//!
//! The app runs under a private Xvfb display in its normal (non-demo) configuration, pointed by
//! an administrator provisioning file at a simulator this process runs, with
//! `CTI_PANEL_BENCH_PAINT=1`: the web view then acknowledges the first painted card of each
//! incoming call (`requestAnimationFrame`, then a task, so the frame with the card has been
//! painted) and the shell prints `PAINTED <key> <unix µs> <number> <refs> <mounted> <sent>` when
//! that acknowledgement arrives (the last two are the web view's clock when the card entered the
//! DOM and when the acknowledgement left). Send times come from the simulator's journal (the
//! wall clock just before the frame is written to the socket) or are taken just before the
//! webhook request is written; all clocks are this machine's wall clock.

use std::fmt::Write as _;
use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::Path;
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use cti_sim::world::Direction;
use cti_sim::{Channel, Dir, Sim, SimConfig};

use crate::app::{self, Xvfb};
use crate::stats::Latencies;
use crate::table::{fmt_ms, Row, Verdict};
use crate::Section;

#[derive(Debug, Clone)]
pub struct ScreenOptions {
    /// Calls through the Era WebSocket path.
    pub calls: usize,
    /// Calls through the JSON webhook path.
    pub webhook_calls: usize,
    /// Time between one call's end and the next call.
    pub spacing_ms: u64,
    /// How long to wait for one card.
    pub card_timeout_ms: u64,
}

impl Default for ScreenOptions {
    fn default() -> Self {
        ScreenOptions {
            calls: 200,
            webhook_calls: 200,
            spacing_ms: 300,
            card_timeout_ms: 3_000,
        }
    }
}

const TITLE: &str = "Event to screen (window)";
const TARGET: &str = "≤ 150 ms p95";
const WS_METRIC: &str = "Sim WS `notify` → incoming-call card painted (window), p95";
const HOOK_METRIC: &str = "Webhook `CreateIncCall` → card painted (window), p95";
/// The listener token in the provisioning file (22+ URL-safe characters).
const LISTENER_TOKEN: &str = "ctiBenchScreenToken00001";
/// The simulator's agent and its Era token (the simulator's default directory).
const AGENT: &str = "101";
const AGENT_TOKEN: &str = "era-user-101";

/// One `PAINTED` line of the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Painted {
    pub key: String,
    pub unix_us: i64,
    pub number: String,
    pub refs: Vec<String>,
    /// The web view's clock when the card entered the DOM (unix µs, ms resolution).
    pub mounted_us: Option<i64>,
    /// The web view's clock when the acknowledgement left, after the paint.
    pub sent_us: Option<i64>,
}

/// Parse `PAINTED <key> <unix µs> <number> <refs,…> [<mounted unix µs> [<sent unix µs>]]`;
/// anything else is `None`.
pub fn parse_painted(line: &str) -> Option<Painted> {
    let rest = &line[line.find("PAINTED ")? + "PAINTED ".len()..];
    let mut f = rest.split_whitespace();
    let key = f.next()?.to_string();
    let unix_us = f.next()?.parse().ok()?;
    let number = f.next()?.to_string();
    let refs = f
        .next()
        .filter(|r| *r != "-")
        .map(|r| r.split(',').map(String::from).collect())
        .unwrap_or_default();
    let mounted_us = f.next().and_then(|m| m.parse().ok());
    let sent_us = f.next().and_then(|m| m.parse().ok());
    Some(Painted {
        key,
        unix_us,
        number,
        refs,
        mounted_us,
        sent_us,
    })
}

/// Whether a card's number is the caller's: the same digits, allowing a national prefix
/// (`+7`/`8`) the panel may add or drop.
pub fn same_number(shown: &str, sent: &str) -> bool {
    let digits = |s: &str| s.chars().filter(char::is_ascii_digit).collect::<String>();
    let (a, b) = (digits(shown), digits(sent));
    if a.is_empty() || b.is_empty() {
        return false;
    }
    let (long, short) = if a.len() >= b.len() { (a, b) } else { (b, a) };
    short.len() >= 7 && long.ends_with(&short) && long.len() - short.len() <= 1
}

fn unix_us() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

/// The PAINTED lines of the app, read as they arrive.
struct Acks {
    lines: mpsc::Receiver<(Instant, String)>,
    /// Lines read but not yet matched (a card painted after its call's time limit).
    pending: Vec<Painted>,
    /// The last lines the app printed, for a failure's message.
    tail: Vec<String>,
    /// `CTI_BENCH_SCREEN_LOG=<file>`: every other app line, with its arrival time (unix µs).
    log: Option<std::fs::File>,
}

impl Acks {
    /// Wait for the card of `number` until `limit`.
    fn wait(&mut self, number: &str, limit: Duration) -> Option<Painted> {
        if let Some(i) = self
            .pending
            .iter()
            .position(|p| same_number(&p.number, number))
        {
            return Some(self.pending.remove(i));
        }
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            let (_, line) = self.lines.recv_timeout(left).ok()?;
            match parse_painted(&line) {
                Some(p) if same_number(&p.number, number) => return Some(p),
                Some(p) => {
                    self.pending.push(p);
                    if self.pending.len() > 64 {
                        self.pending.remove(0);
                    }
                }
                None => {
                    if let Some(f) = self.log.as_mut() {
                        let _ = writeln!(f, "{} {line}", unix_us());
                    }
                    self.tail.push(line);
                    if self.tail.len() > 20 {
                        self.tail.remove(0);
                    }
                }
            }
        }
    }
}

/// One path's results: send → painted, and the calls whose card never came.
#[derive(Default)]
struct PathRun {
    latencies: Latencies,
    /// Send → the card entered the DOM (engine, event to the web view, Svelte update).
    to_dom: Latencies,
    /// The card entered the DOM → acknowledged (layout, paint, the IPC back).
    to_ack: Latencies,
    /// The card entered the DOM → the acknowledgement left the web view (layout and paint).
    to_paint: Latencies,
    /// The acknowledgement left the web view → arrived in the shell (the IPC back).
    ipc_back: Latencies,
    missing: usize,
    /// Painted before the send time (clock trouble): counted as missing.
    negative: usize,
    calls: usize,
}

impl PathRun {
    fn add(&mut self, sent_us: Option<i64>, painted: Option<&Painted>) {
        self.calls += 1;
        match (sent_us, painted) {
            (Some(s), Some(p)) if p.unix_us >= s => {
                self.latencies.record_us((p.unix_us - s) as u64);
                if let Some(m) = p.mounted_us {
                    self.to_dom.record_us(m.saturating_sub(s).max(0) as u64);
                    self.to_ack
                        .record_us(p.unix_us.saturating_sub(m).max(0) as u64);
                    if let Some(t) = p.sent_us {
                        self.to_paint.record_us(t.saturating_sub(m).max(0) as u64);
                        self.ipc_back
                            .record_us(p.unix_us.saturating_sub(t).max(0) as u64);
                    }
                }
            }
            (Some(_), Some(_)) => self.negative += 1,
            _ => self.missing += 1,
        }
    }

    fn row(&self, metric: &str, kind: &str) -> Row {
        if self.latencies.is_empty() {
            return Row::not_measured(
                metric,
                TARGET,
                format!("no card of {} calls was acknowledged", self.calls),
            );
        }
        let s = self.latencies.summary();
        let lost = self.missing + self.negative;
        let ok = s.p95 <= 150.0 && lost == 0;
        Row::new(format!("{metric} ({} calls)", self.calls))
            .ours(format!(
                "{} (p50 {}, p99 {}, max {}; {lost} missing)",
                fmt_ms(s.p95),
                fmt_ms(s.p50),
                fmt_ms(s.p99),
                fmt_ms(s.max)
            ))
            .target(TARGET)
            .verdict(if kind == "release" {
                Verdict::of(ok)
            } else {
                Verdict::Info
            })
    }

    fn describe(&self) -> String {
        let s = self.latencies.summary();
        let split = if self.to_dom.is_empty() {
            String::new()
        } else {
            let (d, a) = (self.to_dom.summary(), self.to_ack.summary());
            let mut split = format!(
                " (send → card in the DOM p50 {}, p95 {}; DOM → acknowledged p50 {}, p95 {}",
                fmt_ms(d.p50),
                fmt_ms(d.p95),
                fmt_ms(a.p50),
                fmt_ms(a.p95)
            );
            if !self.to_paint.is_empty() {
                let (p, i) = (self.to_paint.summary(), self.ipc_back.summary());
                let _ = write!(
                    split,
                    ", of which DOM → painted and sent p50 {}, p95 {}, IPC back p50 {}, p95 {}",
                    fmt_ms(p.p50),
                    fmt_ms(p.p95),
                    fmt_ms(i.p50),
                    fmt_ms(i.p95)
                );
            }
            split.push_str("; by the web view's millisecond clock)");
            split
        };
        format!(
            "{} calls: p50 {}, p95 {}, p99 {}, max {}{split}; {} missing{}",
            self.calls,
            fmt_ms(s.p50),
            fmt_ms(s.p95),
            fmt_ms(s.p99),
            fmt_ms(s.max),
            self.missing,
            if self.negative > 0 {
                format!(", {} painted before the send time", self.negative)
            } else {
                String::new()
            }
        )
    }
}

/// A free loopback TCP port (bound and released; the app binds it a moment later).
fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

/// The provisioning file: Era at the simulator as agent 101, the webhook listener on `port`.
pub fn provisioning(sim_base: &str, listener_port: u16) -> String {
    let ws = sim_base.replacen("http://", "ws://", 1);
    format!(
        "[era]\nenabled = true\nurl = {ws:?}\nrest_url = {sim_base:?}\nextension = {AGENT:?}\nobjects = [{AGENT:?}]\ntoken = {AGENT_TOKEN:?}\n\n\
         [listener]\nenabled = true\nbind = \"127.0.0.1\"\nport = {listener_port}\ntoken = {LISTENER_TOKEN:?}\n\n\
         [ui]\nnotifications = false\n"
    )
}

/// The earliest Era `notify` frame the simulator sent that names `number`, unix µs.
fn notify_sent_us(sim: &Sim, number: &str) -> Option<i64> {
    sim.journal()
        .find(Channel::EraWs, Dir::Out, "notify")
        .into_iter()
        .filter(|e| e.body.contains(number))
        .map(|e| e.at_us)
        .min()
}

/// POST one JSON body to the listener; returns the wall clock just before the request was
/// written, and the HTTP status.
fn post_hook(port: u16, body: &str) -> Result<(i64, u16), String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    s.set_nodelay(true).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    let req = format!(
        "POST /hooks/{LISTENER_TOKEN}/calls HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let sent = unix_us();
    s.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
    let mut reply = String::new();
    let _ = s.read_to_string(&mut reply);
    let status = reply
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    Ok((sent, status))
}

/// `screen`: both paths against the release app (the debug one, labelled, if that is all).
pub fn run(root: &Path, opts: &ScreenOptions) -> Section {
    let fail = |why: String| Section {
        title: TITLE.into(),
        rows: vec![
            Row::not_measured(WS_METRIC, TARGET, why.clone()),
            Row::not_measured(HOOK_METRIC, TARGET, why),
        ],
        details: String::new(),
    };
    let Some((bin, kind)) = app::app_binary(root) else {
        return fail("no app binary; `cti-bench build-apps` builds it".into());
    };
    let x = match Xvfb::start() {
        Ok(x) => x,
        Err(e) => return fail(e),
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(e.to_string()),
    };
    let sim = match rt.block_on(Sim::start(SimConfig::default())) {
        Ok(s) => s,
        Err(e) => return fail(format!("simulator: {e}")),
    };
    let result = run_app(&bin, kind, &x, &rt, &sim, opts);
    sim.shutdown();
    match result {
        Ok(section) => section,
        Err(e) => fail(e),
    }
}

fn run_app(
    bin: &Path,
    kind: &str,
    x: &Xvfb,
    rt: &tokio::runtime::Runtime,
    sim: &Sim,
    opts: &ScreenOptions,
) -> Result<Section, String> {
    // The world's calls may start timers on the runtime.
    let _runtime = rt.enter();
    let home = app::home()?;
    let port = free_port()?;
    std::fs::write(
        home.path().join("provisioning.toml"),
        provisioning(sim.base_url(), port),
    )
    .map_err(|e| format!("provisioning file: {e}"))?;
    let mut cmd = app::app_command(bin, home.path(), &[], Some(&x.display));
    // A diagnosis aid: CTI_BENCH_SCREEN_LOG=<file> keeps the app's log (RUST_LOG as given, else
    // `debug`) with each line's arrival time.
    let log = std::env::var_os("CTI_BENCH_SCREEN_LOG").and_then(|p| std::fs::File::create(p).ok());
    let app_log = match (&log, std::env::var("RUST_LOG")) {
        (Some(_), Ok(filter)) => filter,
        (Some(_), Err(_)) => "debug".to_string(),
        (None, _) => "warn".to_string(),
    };
    cmd.env("CTI_PANEL_BENCH_PAINT", "1")
        .env("RUST_LOG", app_log)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| format!("{}: {e}", bin.display()))?;
    let lines = app::capture_lines(&mut child);
    let mut child = app::Running(child);
    let mut acks = Acks {
        lines,
        pending: Vec::new(),
        tail: Vec::new(),
        log,
    };
    let world = sim.world().clone();
    let card_limit = Duration::from_millis(opts.card_timeout_ms.max(100));
    let spacing = Duration::from_millis(opts.spacing_ms);
    let ring = |number: &str| {
        let call = world.create_call(
            Direction::Inbound,
            number,
            Some("Bench caller"),
            AGENT,
            Some("74951234567"),
        );
        let _ = world.ring(&call.id, AGENT);
        call.id
    };

    // Warm-up: until a card is acknowledged (the window loaded, Era connected and subscribed).
    let warm_start = Instant::now();
    let mut warm = 0;
    loop {
        if let Ok(Some(status)) = child.0.try_wait() {
            return Err(format!(
                "the app exited ({status}); last output: {}",
                acks.tail.join(" | ")
            ));
        }
        if warm_start.elapsed() > Duration::from_secs(60) {
            return Err(format!(
                "no card acknowledged within 60 s of launch; last output: {}",
                acks.tail.join(" | ")
            ));
        }
        warm += 1;
        let number = format!("+7998{:07}", warm);
        let id = ring(&number);
        let got = acks.wait(&number, Duration::from_secs(2)).is_some();
        let _ = world.hangup(&id, "200");
        if got {
            break;
        }
    }
    let warm_secs = warm_start.elapsed().as_secs_f64();
    // Two more warm-up calls once everything is up (first-use costs in the web view).
    for i in 0..2 {
        let number = format!("+7997{:07}", i);
        let id = ring(&number);
        let _ = acks.wait(&number, card_limit);
        let _ = world.hangup(&id, "200");
        std::thread::sleep(spacing);
    }

    eprintln!(
        "cti-bench: screen: {} Era calls, then {} webhook calls",
        opts.calls, opts.webhook_calls
    );
    let mut ws = PathRun::default();
    for i in 0..opts.calls {
        let number = format!("+7999{:07}", i);
        let id = ring(&number);
        let painted = acks.wait(&number, card_limit);
        ws.add(notify_sent_us(sim, &number), painted.as_ref());
        let _ = world.hangup(&id, "200");
        world.forget_ended_calls(64);
        sim.journal().clear();
        std::thread::sleep(spacing);
    }

    let mut hook = PathRun::default();
    let mut hook_errors = Vec::new();
    for i in 0..opts.webhook_calls {
        let call = 7_000_000 + i as u64;
        let number = format!("958{:07}", call % 10_000_000);
        let sent = match post_hook(port, &crate::rules::seed004_event(call, 0)) {
            Ok((at, 200)) => Some(at),
            Ok((_, status)) => {
                hook_errors.push(format!("HTTP {status}"));
                None
            }
            Err(e) => {
                hook_errors.push(e);
                None
            }
        };
        let painted = match sent {
            Some(_) => acks.wait(&number, card_limit),
            None => None,
        };
        hook.add(sent, painted.as_ref());
        let _ = post_hook(port, &crate::rules::seed004_event(call, 4));
        std::thread::sleep(spacing);
    }
    drop(child);

    let mut d = String::new();
    let _ = writeln!(
        d,
        "The {kind} app (`{}`) under Xvfb in its normal configuration, pointed by a provisioning file at a simulator in the benchmark's process (Era as agent {AGENT}, the webhook listener on loopback), with `CTI_PANEL_BENCH_PAINT=1`: the web view acknowledges the first painted card of each incoming call (`requestAnimationFrame`, then a task, so the frame with the card has been painted) and the shell stamps the wall clock when that acknowledgement arrives (so the time includes the IPC back from the web view) and prints it. The first card came {warm_secs:.1} s after launch ({warm} warm-up calls), then two more warm-up calls.",
        bin.display()
    );
    let _ = writeln!(
        d,
        "\nEra: a call created in the simulator's world and rung at {AGENT}; from the simulator's journal time of the first `notify` frame naming the caller (taken just before the frame is written to the WebSocket) to the acknowledgement. {}; hung up after its card, the next call {} ms later.",
        ws.describe(),
        opts.spacing_ms
    );
    let _ = writeln!(
        d,
        "\nWebhook: a seed-004 `CreateIncCall` POSTed to the listener (a caller of its own per call); from just before the request is written to the acknowledgement; the reply (200 after the durable commit) is read after that. {}{}; `EndIncCall` after its card.",
        hook.describe(),
        if hook_errors.is_empty() {
            String::new()
        } else {
            format!(
                "; {} requests refused or failed (first: {})",
                hook_errors.len(),
                hook_errors[0]
            )
        }
    );
    Ok(Section {
        title: TITLE.into(),
        rows: vec![ws.row(WS_METRIC, kind), hook.row(HOOK_METRIC, kind)],
        details: d,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_painted_lines() {
        let p = parse_painted(
            "PAINTED era:abc 1795303458635812 +79990000001 era:abc,webhook:x 1795303458600000 1795303458630000",
        )
        .unwrap();
        assert_eq!(p.mounted_us, Some(1_795_303_458_600_000));
        assert_eq!(p.sent_us, Some(1_795_303_458_630_000));
        assert_eq!(p.key, "era:abc");
        assert_eq!(p.unix_us, 1_795_303_458_635_812);
        assert_eq!(p.number, "+79990000001");
        assert_eq!(p.refs, vec!["era:abc", "webhook:x"]);
        let p = parse_painted("noise PAINTED k 5 - - -").unwrap();
        assert!(p.refs.is_empty());
        assert_eq!((p.mounted_us, p.sent_us), (None, None));
        assert!(parse_painted("PAINTED k notanumber 1 -").is_none());
        assert!(parse_painted("PAINTED k").is_none());
        assert!(parse_painted("INFO engine started").is_none());
    }

    #[test]
    fn matches_numbers_with_or_without_the_national_prefix() {
        assert!(same_number("+79990000001", "+79990000001"));
        assert!(same_number("+79580000001", "9580000001"));
        assert!(same_number("89580000001", "9580000001"));
        assert!(!same_number("+79990000001", "+79990000002"));
        assert!(!same_number("+79990000001", "0000001"));
        assert!(!same_number("", "1"));
        assert!(!same_number("101", "101"));
    }

    #[test]
    fn counts_missing_and_late_cards() {
        let p = |us| Painted {
            key: "k".into(),
            unix_us: us,
            number: "n".into(),
            refs: Vec::new(),
            mounted_us: Some(21_000),
            sent_us: Some(29_000),
        };
        let mut r = PathRun::default();
        r.add(Some(1_000), Some(&p(31_000)));
        r.add(Some(1_000), None);
        r.add(None, Some(&p(5)));
        r.add(Some(9_000), Some(&p(8_000)));
        assert_eq!((r.calls, r.missing, r.negative), (4, 2, 1));
        assert_eq!(r.latencies.len(), 1);
        assert!((r.latencies.summary().p50 - 30.0).abs() < 0.1);
        assert!((r.to_dom.summary().p50 - 20.0).abs() < 0.1);
        assert!((r.to_ack.summary().p50 - 10.0).abs() < 0.1);
        assert!((r.to_paint.summary().p50 - 8.0).abs() < 0.1);
        assert!((r.ipc_back.summary().p50 - 2.0).abs() < 0.1);
        let row = r.row("m", "release");
        assert_eq!(row.verdict, Verdict::Fail, "missing cards fail the row");
        assert!(PathRun::default()
            .row("m", "release")
            .ours
            .contains("no card"));
    }

    #[test]
    fn provisioning_points_era_and_the_listener_at_loopback() {
        let text = provisioning("http://127.0.0.1:4100", 4200);
        assert!(text.contains("url = \"ws://127.0.0.1:4100\""), "{text}");
        assert!(
            text.contains("rest_url = \"http://127.0.0.1:4100\""),
            "{text}"
        );
        assert!(
            text.contains(&format!("token = \"{AGENT_TOKEN}\"")),
            "{text}"
        );
        assert!(text.contains("port = 4200"), "{text}");
        assert!(LISTENER_TOKEN.len() >= 22);
    }
}
