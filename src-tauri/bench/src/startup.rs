//! Benchmark 5, startup: launch → headless core up and → call-ready (connected and subscribed to
//! the demo simulator), and launch → window visible beside the empty Tauri app.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::app::{
    app_binary, app_command, capture_lines, empty_app, home, panel, wait_lines, which,
    window_visible, AppOptions, Running, WindowApp, Xvfb, EMPTY_HINT, RELEASE_HINT,
};
use crate::stats;
use crate::table::{fmt_ms, Row, Verdict};
use crate::Section;

/// Launch → window mapped, for each app in turn (A, B, A, B, …), `runs` times each.
fn window_launch_times(apps: &[&WindowApp], display: &str, runs: usize) -> Vec<Vec<f64>> {
    let mut times = vec![Vec::new(); apps.len()];
    for _ in 0..runs {
        for (i, app) in apps.iter().enumerate() {
            let Ok(home) = home() else { continue };
            let mut cmd = app_command(&app.bin, home.path(), app.args, Some(display));
            cmd.stdout(Stdio::null()).stderr(Stdio::null());
            let t0 = Instant::now();
            let Ok(child) = cmd.spawn() else { continue };
            let child = Running(child);
            let deadline = t0 + Duration::from_secs(15);
            while Instant::now() < deadline {
                if window_visible(display, app.title) {
                    times[i].push(t0.elapsed().as_secs_f64() * 1000.0);
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            drop(child);
            std::thread::sleep(Duration::from_millis(300));
        }
    }
    times
}

pub fn startup(root: &Path, opts: &AppOptions) -> Section {
    let mut rows = Vec::new();
    let mut d = String::new();
    let runs = opts.startup_runs.max(1);
    // Headless: launch → core up, launch → call-ready.
    match app_binary(root) {
        Some((bin, kind)) => {
            let mut up = Vec::new();
            let mut ready = Vec::new();
            let mut failure = None;
            for _ in 0..runs {
                let Ok(home) = home() else { break };
                let mut cmd = app_command(&bin, home.path(), &["--demo", "--headless"], None);
                cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
                let t0 = Instant::now();
                let mut child = match cmd.spawn() {
                    Ok(c) => c,
                    Err(e) => {
                        failure = Some(e.to_string());
                        break;
                    }
                };
                let lines = capture_lines(&mut child);
                let child = Running(child);
                // The markers may come in either order: watch for both at once.
                let seen = wait_lines(
                    &lines,
                    &["running headless", &opts.ready_marker],
                    Duration::from_secs(15),
                );
                if let Some(at) = seen[0] {
                    up.push((at - t0).as_secs_f64() * 1000.0);
                }
                if let Some(at) = seen[1] {
                    ready.push((at - t0).as_secs_f64() * 1000.0);
                }
                drop(child);
            }
            let label = format!("({kind} build, median of {runs})");
            match stats::median(&up) {
                Some(m) => rows.push(
                    Row::new(format!("Launch → headless core up {label}"))
                        .ours(fmt_ms(m))
                        .target("—")
                        .verdict(Verdict::Info),
                ),
                None => rows.push(Row::not_measured(
                    "Launch → headless core up",
                    "—",
                    failure
                        .clone()
                        .unwrap_or_else(|| "no `running headless` line within 15 s".into()),
                )),
            }
            match stats::median(&ready) {
                Some(m) if ready.len() == up.len() => rows.push(
                    Row::new(format!("Launch → call-ready with the simulator {label}"))
                        .ours(fmt_ms(m))
                        .target("≤ 1.5 s")
                        .verdict(if kind == "release" {
                            Verdict::of(m <= 1500.0)
                        } else {
                            Verdict::Info
                        }),
                ),
                _ => rows.push(Row::not_measured(
                    "Launch → call-ready (connected, subscribed) with the simulator",
                    "≤ 1.5 s",
                    format!(
                        "the app printed no line containing `{}` within 10 s",
                        opts.ready_marker
                    ),
                )),
            }
        }
        None => rows.push(Row::not_measured(
            "Launch → call-ready with the simulator",
            "≤ 1.5 s",
            format!("no app binary; {RELEASE_HINT}"),
        )),
    }
    // Window visible (release app under Xvfb), beside the empty Tauri app.
    let metric = "Launch → window visible (release, Xvfb)";
    let target = "≤ 400 ms warm, ≈ empty Tauri app";
    let (ours, empty) = (panel(root), empty_app(root));
    if !ours.bin.is_file() {
        rows.push(Row::not_measured(
            metric,
            target,
            format!("no target/release/cti-panel; {RELEASE_HINT}"),
        ));
    } else if !which("xwininfo") {
        rows.push(Row::not_measured(
            metric,
            target,
            "xwininfo (x11-utils) is not installed",
        ));
    } else {
        match Xvfb::start() {
            Ok(x) => {
                let mut apps = vec![&ours];
                if empty.bin.is_file() {
                    apps.push(&empty);
                }
                let times = window_launch_times(&apps, &x.display, runs);
                match stats::median(&times[0]) {
                    Some(m) => {
                        let mut r = Row::new(format!("{metric}, median of {}", times[0].len()))
                            .ours(fmt_ms(m))
                            .target(target)
                            .verdict(Verdict::of(m <= 400.0));
                        match times.get(1).and_then(|t| stats::median(t)) {
                            Some(e) => {
                                r = r.peer(format!("empty Tauri app {}", fmt_ms(e))).ratio(m, e)
                            }
                            None => r = r.peer(format!("empty app not built ({EMPTY_HINT})")),
                        }
                        rows.push(r);
                    }
                    None => rows.push(Row::not_measured(
                        metric,
                        target,
                        "no window titled \"CTI Panel\" appeared within 15 s",
                    )),
                }
                let _ = writeln!(
                    d,
                    "Window visible = a top-level X window with the app's title is mapped (`xwininfo -root -tree`, polled every 10 ms), not yet the first paint; the panel and the empty app launch alternately."
                );
            }
            Err(e) => rows.push(Row::not_measured(metric, target, e)),
        }
    }
    let _ = writeln!(
        d,
        "Call-ready is the first app output line containing `{}`: the engine's UI event for the Era session connected and subscribed to the demo simulator (headless mode logs every UI event).",
        opts.ready_marker
    );
    Section {
        title: "Startup".into(),
        rows,
        details: d,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;

    #[test]
    fn waits_for_marker_lines_in_any_order() {
        let (tx, rx) = mpsc::channel();
        let t = Instant::now();
        let later = t + Duration::from_millis(5);
        tx.send((t, "cti: call-ready (era connected)".to_string()))
            .unwrap();
        tx.send((later, "running headless".to_string())).unwrap();
        tx.send((later, "call-ready again".to_string())).unwrap();
        let seen = wait_lines(
            &rx,
            &["running headless", "call-ready"],
            Duration::from_millis(100),
        );
        assert_eq!(seen, vec![Some(later), Some(t)]);
        let seen = wait_lines(&rx, &["never"], Duration::from_millis(20));
        assert_eq!(seen, vec![None]);
    }
}
