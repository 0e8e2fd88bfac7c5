//! Benchmark 4, memory of the app binary (headless and with its window), and what the app
//! benchmarks share: finding the binaries, launching them in a throw-away home, Xvfb, reading
//! their output.
//!
//! The app is started with a throw-away `HOME` (and XDG dirs), so it uses default settings and
//! an empty data directory, and never touches the user's. Window variants run under a private
//! Xvfb display (and `dbus-run-session` when present), as the end-to-end tests do.

use std::fmt::Write as _;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::procmem;
use crate::table::{Row, Verdict};
use crate::Section;

pub use crate::external_sim::ExternalSim;
pub use crate::size::{build_apps, missing_apps, newest_deb, size, Build};
pub use crate::soak::soak;
pub use crate::startup::startup;

pub(crate) const RELEASE_HINT: &str = "`cti-bench build-apps` (run by `all`) builds it";
pub(crate) const DEB_HINT: &str = RELEASE_HINT;
pub(crate) const EMPTY_HINT: &str = RELEASE_HINT;

#[derive(Debug, Clone)]
pub struct AppOptions {
    /// Idle time before the memory reading.
    pub idle_secs: u64,
    /// Launches per startup measurement.
    pub startup_runs: usize,
    /// A line on the app's stderr/stdout containing this means "call-ready" (connected and
    /// subscribed with the simulator).
    pub ready_marker: String,
    /// Soak length in minutes (0: no soak).
    pub soak_minutes: u64,
}

impl Default for AppOptions {
    fn default() -> Self {
        AppOptions {
            idle_secs: 60,
            startup_runs: 10,
            // The engine's UI event for the Era session once connected and subscribed
            // (headless mode logs every UI event as JSON).
            ready_marker: r#""platform":"era","state":{"state":"connected""#.into(),
            soak_minutes: 0,
        }
    }
}

/// The Cargo profile the shipped app is built with (`tauri build`, scripts/package.sh and
/// [`build_apps`]; the benchmarks' own binaries use it too, so the dependencies are built once).
pub const APP_PROFILE: &str = "release";

/// `target/<profile>/<name>` of the shipped profile.
pub fn release_artifact(root: &Path, name: &str) -> PathBuf {
    root.join("target").join(APP_PROFILE).join(name)
}

/// The app binary to measure: the release build, else the debug one (labelled).
pub fn app_binary(root: &Path) -> Option<(PathBuf, &'static str)> {
    let release = release_artifact(root, "cti-panel");
    if release.is_file() {
        return Some((release, "release"));
    }
    let debug = root.join("target/debug/cti-panel");
    debug.is_file().then_some((debug, "debug"))
}

/// A throw-away home for one app run.
pub(crate) fn home() -> Result<tempfile::TempDir, String> {
    tempfile::Builder::new()
        .prefix("cti-bench-home")
        .tempdir()
        .map_err(|e| format!("temp home: {e}"))
}

pub(crate) fn app_command(
    bin: &Path,
    home: &Path,
    args: &[&str],
    display: Option<&str>,
) -> Command {
    let wrap = display.is_some() && which("dbus-run-session");
    let mut cmd = if wrap {
        let mut c = Command::new("dbus-run-session");
        c.arg("--").arg(bin);
        c
    } else {
        Command::new(bin)
    };
    cmd.args(args)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_DATA_HOME", home.join(".local/share"))
        .env("XDG_CACHE_HOME", home.join(".cache"))
        .env("CTI_PANEL_SECRETS__BACKEND", "file")
        .env("CTI_PANEL_PROVISIONING", home.join("provisioning.toml"))
        .env("RUST_LOG", "info")
        .stdin(Stdio::null());
    match display {
        Some(d) => {
            cmd.env("DISPLAY", d)
                .env("WEBKIT_DISABLE_COMPOSITING_MODE", "1")
                .env_remove("WAYLAND_DISPLAY");
        }
        None => {
            cmd.env_remove("DISPLAY").env_remove("WAYLAND_DISPLAY");
        }
    }
    cmd
}

pub(crate) fn which(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

/// A child process killed (by its pid) when dropped.
pub(crate) struct Running(pub(crate) Child);

impl Drop for Running {
    fn drop(&mut self) {
        crate::servers::stop(&mut self.0);
    }
}

/// A private X server for window measurements.
pub(crate) struct Xvfb {
    _child: Running,
    pub(crate) display: String,
}

impl Xvfb {
    pub(crate) fn start() -> Result<Xvfb, String> {
        if !which("Xvfb") {
            return Err("Xvfb is not installed (scripts/setup.sh installs it)".into());
        }
        // A display number nobody else here uses (the end-to-end tests take :99).
        let n = (0..50)
            .map(|i| 150 + (std::process::id() + i) % 50)
            .find(|n| !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists())
            .ok_or("no free X display number in :150–:199")?;
        let display = format!(":{n}");
        let child = Command::new("Xvfb")
            .arg(&display)
            .args(["-screen", "0", "1280x800x24", "-nolisten", "tcp"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("Xvfb: {e}"))?;
        let child = Running(child);
        let socket = PathBuf::from(format!("/tmp/.X11-unix/X{n}"));
        let deadline = Instant::now() + Duration::from_secs(10);
        while !socket.exists() {
            if Instant::now() > deadline {
                return Err(format!("Xvfb {display} did not come up"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(Xvfb {
            _child: child,
            display,
        })
    }
}

/// Whether a top-level window titled `title` is mapped on `display`.
pub(crate) fn window_visible(display: &str, title: &str) -> bool {
    Command::new("xwininfo")
        .args(["-display", display, "-root", "-tree"])
        .stderr(Stdio::null())
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(&format!("\"{title}\"")))
}

/// Lines the app prints (stdout and stderr), with the time each arrived.
pub(crate) fn capture_lines(child: &mut Child) -> mpsc::Receiver<(Instant, String)> {
    let (tx, rx) = mpsc::channel();
    if let Some(out) = child.stdout.take() {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send((Instant::now(), line)).is_err() {
                    break;
                }
            }
        });
    }
    if let Some(err) = child.stderr.take() {
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                if tx.send((Instant::now(), line)).is_err() {
                    break;
                }
            }
        });
    }
    rx
}

/// Wait until a line containing each of `markers` arrived (or `limit`); the first arrival
/// time of each.
pub(crate) fn wait_lines(
    rx: &mpsc::Receiver<(Instant, String)>,
    markers: &[&str],
    limit: Duration,
) -> Vec<Option<Instant>> {
    let mut seen = vec![None; markers.len()];
    let deadline = Instant::now() + limit;
    while seen.iter().any(Option::is_none) {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        match rx.recv_timeout(left) {
            Ok((at, line)) => {
                for (slot, m) in seen.iter_mut().zip(markers) {
                    if slot.is_none() && line.contains(m) {
                        *slot = Some(at);
                    }
                }
            }
            Err(_) => break,
        }
    }
    seen
}

/// Calls put into the history before a memory reading.
pub const PRELOADED_CALLS: u64 = 1_000;

/// Fill the demo history of the app run in `home` with [`PRELOADED_CALLS`] answered incoming
/// calls (seed-004 sequences, five events each). Demo mode keeps its history in
/// `$XDG_DATA_HOME/cti-panel/demo/history.db`.
pub fn preload_history(home: &Path) -> Result<PathBuf, String> {
    preload_history_at(home.join(".local/share/cti-panel/demo/history.db"))
}

/// Fill the history file at `path` as [`preload_history`] does.
pub fn preload_history_at(path: PathBuf) -> Result<PathBuf, String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async {
        let h = cti_core::history::History::open(&path, &Default::default())
            .map_err(|e| format!("history {}: {e}", path.display()))?;
        let opts = cti_core::hooks::DecodeOptions::now();
        let mut events = Vec::new();
        for call in 0..PRELOADED_CALLS {
            for body in crate::rules::seed004_sequence(call) {
                events.extend(
                    cti_core::hooks::decode_call_hooks(body.as_bytes(), &opts)
                        .map_err(|e| e.to_string())?,
                );
            }
        }
        h.import(events).await.map_err(|e| e.to_string())?;
        h.close().await.map_err(|e| e.to_string())?;
        Ok(path)
    })
}

/// How the panel runs for a memory reading.
enum PanelMode<'a> {
    /// `--demo`: the simulator inside the panel's process.
    Demo,
    /// The normal configuration against a simulator in the benchmark's process.
    External(&'a ExternalSim),
}

/// Memory of one headless run.
struct HeadlessReading {
    tree: procmem::TreeMem,
    parts: procmem::Breakdown,
}

/// Start the headless panel in `mode` with a preloaded history, wait until the Era session is
/// connected (`ready_marker`), idle `idle`, and read its memory.
fn headless_reading(
    bin: &Path,
    mode: &PanelMode,
    opts: &AppOptions,
) -> Result<HeadlessReading, String> {
    let home = home()?;
    let (args, history): (&[&str], &str) = match mode {
        PanelMode::Demo => (&["--demo", "--headless"], "demo/history.db"),
        PanelMode::External(sim) => {
            sim.configure(home.path())?;
            (&["--headless"], "history.db")
        }
    };
    preload_history_at(home.path().join(".local/share/cti-panel").join(history))
        .map_err(|e| format!("preloading the history: {e}"))?;
    let mut cmd = app_command(bin, home.path(), args, None);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| format!("{}: {e}", bin.display()))?;
    let lines = capture_lines(&mut child);
    let mut child = Running(child);
    let seen = wait_lines(&lines, &[&opts.ready_marker], Duration::from_secs(20));
    if seen[0].is_none() {
        return Err(format!(
            "the Era session did not connect within 20 s (no line containing `{}`)",
            opts.ready_marker
        ));
    }
    // Keep draining the output so the app never blocks on a full pipe.
    let drain = std::thread::spawn(move || while lines.recv().is_ok() {});
    std::thread::sleep(Duration::from_secs(opts.idle_secs));
    if let Ok(Some(status)) = child.0.try_wait() {
        return Err(format!("the app exited early ({status})"));
    }
    let pid = child.0.id();
    let reading = procmem::tree_memory(pid)
        .and_then(|tree| Ok((tree, procmem::breakdown(pid)?)))
        .map(|(tree, parts)| HeadlessReading { tree, parts })
        .map_err(|e| e.to_string());
    drop(child);
    let _ = drain.join();
    reading
}

/// The headless core, idle for `idle_secs`: in its normal configuration against a simulator in
/// another process (the target row), and in demo mode (the simulator inside; information).
fn headless_memory(bin: &Path, kind: &str, opts: &AppOptions, details: &mut String) -> Vec<Row> {
    let target = "≤ 40 MB (core process)";
    let mut rows = Vec::new();
    let metric = format!(
        "Headless core PSS, simulator in another process, {} s idle",
        opts.idle_secs
    );
    let external = ExternalSim::start()
        .and_then(|sim| headless_reading(bin, &PanelMode::External(&sim), opts));
    match external {
        Ok(r) => {
            let mb = r.tree.pss_kb() as f64 / 1024.0;
            rows.push(
                Row::new(format!("{metric} ({kind} build)"))
                    .ours(format!(
                        "{mb:.1} MB (RSS {:.1} MB)",
                        r.tree.rss_kb() as f64 / 1024.0
                    ))
                    .target(target)
                    .verdict(if kind == "release" {
                        Verdict::of(mb <= 40.0)
                    } else {
                        Verdict::Info
                    }),
            );
            let _ = writeln!(
                details,
                "Headless core, simulator in another process: {}.",
                r.parts.describe()
            );
        }
        Err(e) => rows.push(Row::not_measured(metric, target, e)),
    }
    let metric = format!("Headless core PSS, demo running, {} s idle", opts.idle_secs);
    match headless_reading(bin, &PanelMode::Demo, opts) {
        Ok(r) => {
            rows.push(
                Row::new(format!("{metric} ({kind} build)"))
                    .ours(format!(
                        "{:.1} MB (RSS {:.1} MB)",
                        r.tree.pss_kb() as f64 / 1024.0,
                        r.tree.rss_kb() as f64 / 1024.0
                    ))
                    .target("— (simulator inside)")
                    .verdict(Verdict::Info),
            );
            let _ = writeln!(
                details,
                "Headless core, demo (simulator inside): {}.",
                r.parts.describe()
            );
        }
        Err(e) => rows.push(Row::not_measured(metric, "—", e)),
    }
    rows
}

/// A windowed app to measure: the panel or the empty Tauri app.
pub struct WindowApp {
    pub bin: PathBuf,
    pub args: &'static [&'static str],
    /// Its process name (`comm`, at most 15 characters).
    pub comm: &'static str,
    pub title: &'static str,
}

/// The panel's release build (demo mode).
pub fn panel(root: &Path) -> WindowApp {
    WindowApp {
        bin: release_artifact(root, "cti-panel"),
        args: &["--demo"],
        comm: "cti-panel",
        title: "CTI Panel",
    }
}

/// The empty Tauri 2 app (`bench/peers/empty-tauri`), release build.
pub fn empty_app(root: &Path) -> WindowApp {
    WindowApp {
        bin: release_artifact(root, "empty-tauri-app"),
        args: &[],
        comm: "empty-tauri-app",
        title: "Empty Tauri App",
    }
}

/// Start `app` on `display`, idle `idle`, and read the PSS of its process tree.
///
/// With `sim`, the panel runs in its normal configuration against that simulator.
fn window_pss(
    app: &WindowApp,
    display: &str,
    idle: Duration,
    sim: Option<&ExternalSim>,
) -> Result<WindowReading, String> {
    let home = home()?;
    let mut args = app.args;
    if app.comm == "cti-panel" {
        match sim {
            Some(sim) => {
                sim.configure(home.path())?;
                preload_history_at(home.path().join(".local/share/cti-panel/history.db"))?;
                args = &[];
            }
            None => {
                preload_history(home.path())?;
            }
        }
    }
    let mut cmd = app_command(&app.bin, home.path(), args, Some(display));
    cmd.stdout(Stdio::null()).stderr(Stdio::null());
    let mut child = Running(
        cmd.spawn()
            .map_err(|e| format!("{}: {e}", app.bin.display()))?,
    );
    std::thread::sleep(idle);
    if let Ok(Some(status)) = child.0.try_wait() {
        return Err(format!("{} exited early ({status})", app.comm));
    }
    let pid = procmem::find_in_tree(child.0.id(), app.comm).unwrap_or(child.0.id());
    let tree = procmem::tree_memory(pid).map_err(|e| e.to_string())?;
    Ok(WindowReading {
        tree,
        unique_kb: procmem::tree_unique_kb(pid),
    })
}

/// Memory of a windowed app's process tree.
struct WindowReading {
    tree: procmem::TreeMem,
    /// Resident, every physical page once ([`procmem::tree_unique_kb`]).
    unique_kb: Option<u64>,
}

impl WindowReading {
    fn pss_mb(&self) -> f64 {
        self.tree.pss_kb() as f64 / 1024.0
    }

    fn unique_mb(&self) -> Option<f64> {
        self.unique_kb.map(|kb| kb as f64 / 1024.0)
    }

    fn label(&self) -> String {
        match self.unique_mb() {
            Some(u) => format!("{u:.1} MB resident (PSS {:.1} MB)", self.pss_mb()),
            None => format!("{:.1} MB PSS", self.pss_mb()),
        }
    }
}

/// The windowed panel and the empty Tauri app under Xvfb, one after the other: PSS of each
/// app with its WebKit processes.
fn window_memory(root: &Path, opts: &AppOptions) -> (Row, String) {
    let metric = format!(
        "App + WebKit PSS, window, simulator in another process, {} s idle",
        opts.idle_secs
    );
    let target = "≤ 1.15× empty Tauri app";
    let (ours, empty) = (panel(root), empty_app(root));
    if !ours.bin.is_file() {
        return (
            Row::not_measured(
                metric,
                target,
                format!("no target/release/cti-panel; {RELEASE_HINT}"),
            ),
            String::new(),
        );
    }
    let x = match Xvfb::start() {
        Ok(x) => x,
        Err(e) => return (Row::not_measured(metric, target, e), String::new()),
    };
    let idle = Duration::from_secs(opts.idle_secs);
    let sim = match ExternalSim::start() {
        Ok(s) => s,
        Err(e) => return (Row::not_measured(metric, target, e), String::new()),
    };
    let ours_mem = match window_pss(&ours, &x.display, idle, Some(&sim)) {
        Ok(t) => t,
        Err(e) => return (Row::not_measured(metric, target, e), String::new()),
    };
    let mut detail = format!(
        "Panel window process tree (PSS): {}.\n",
        ours_mem.tree.describe()
    );
    let mut row = Row::new(metric)
        .ours(ours_mem.label())
        .target(target)
        .verdict(Verdict::Info);
    if empty.bin.is_file() {
        match window_pss(&empty, &x.display, idle, None) {
            Ok(e) => {
                let _ = writeln!(
                    detail,
                    "Empty app process tree (PSS): {}.",
                    e.tree.describe()
                );
                // Compare like with like: resident pages counted once when both have them
                // (independent of other WebKit processes on the machine), else PSS.
                let (a, b) = match (ours_mem.unique_mb(), e.unique_mb()) {
                    (Some(a), Some(b)) => (a, b),
                    _ => (ours_mem.pss_mb(), e.pss_mb()),
                };
                row = row
                    .peer(format!("empty Tauri app {}", e.label()))
                    .ratio(a, b)
                    .verdict(Verdict::of(a <= 1.15 * b));
            }
            Err(e) => row = row.peer(format!("empty app failed: {e}")),
        }
    } else {
        row = row.peer(format!("empty app not built ({EMPTY_HINT})"));
    }
    (row, detail)
}

pub fn memory(root: &Path, opts: &AppOptions) -> Section {
    let mut rows = Vec::new();
    let mut d = String::new();
    match app_binary(root) {
        Some((bin, kind)) => {
            eprintln!(
                "cti-bench: memory of the headless core ({kind}), {} s idle",
                opts.idle_secs
            );
            rows.extend(headless_memory(&bin, kind, opts, &mut d));
            if kind == "debug" {
                let _ = writeln!(
                    d,
                    "The headless reading is of the debug build (no release app binary; {RELEASE_HINT}); it is larger than a release build and not comparable with the target."
                );
            }
        }
        None => rows.push(Row::not_measured(
            "Headless core PSS, demo running",
            "≤ 40 MB (core process)",
            format!("no app binary; `bash scripts/build-app.sh` (debug) or {RELEASE_HINT}"),
        )),
    }
    let (row, detail) = window_memory(root, opts);
    rows.push(row);
    d.push_str(&detail);
    rows.push(Row::not_measured(
        "RSS growth over a 30-minute soak at 1 call/s (headless)",
        "≤ 10 MB",
        "outside the 30-minute budget of `all`; run `cti-bench soak --minutes 30` (last run: see Soak below the table)",
    ));
    let _ = writeln!(
        d,
        "Memory is PSS summed over the process and all its descendants (`/proc/<pid>/smaps_rollup`), so shared libraries count once across the app and its WebKit processes. PSS also divides a library's pages with every *other* process mapping it, so it drops when other WebKit apps run on the machine (between runs here the empty app read 129–195 MB); the window row therefore compares \"resident\": the physical pages of the process tree, each counted once (frame numbers from `/proc/<pid>/pagemap`, needs root; PSS otherwise). The parts of the headless process are from `/proc/<pid>/smaps`. Each run has a throw-away home directory whose history holds {PRELOADED_CALLS} calls (seed-004 sequences, 5,000 events) before it starts. \"Simulator in another process\": the panel in its normal configuration (Era, Telphin and the webhook listener from its config file and secret file) connected to the simulator running the demo scenario inside cti-bench, so the panel's process holds the panel alone; \"demo\": `--demo`, the simulator inside the panel's process. Headless readings start once the Era session is connected."
    );
    Section {
        title: "Memory".into(),
        rows,
        details: d,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_newest_deb() {
        let dir = tempfile::tempdir().unwrap();
        let any = |_: &str| true;
        assert!(newest_deb(dir.path(), any).is_none());
        std::fs::write(dir.path().join("a.deb"), vec![0u8; 10]).unwrap();
        std::fs::write(
            dir.path().join("empty-tauri-app_0.1.0_amd64.deb"),
            vec![0u8; 5],
        )
        .unwrap();
        std::fs::write(dir.path().join("notes.txt"), "x").unwrap();
        let (p, n) = newest_deb(dir.path(), |n| !n.starts_with("empty")).unwrap();
        assert!(p.ends_with("a.deb"));
        assert_eq!(n, 10);
        let (p, _) = newest_deb(dir.path(), |n| n.starts_with("empty")).unwrap();
        assert!(p.ends_with("empty-tauri-app_0.1.0_amd64.deb"));
        assert!(newest_deb(&dir.path().join("missing"), any).is_none());
    }
}
