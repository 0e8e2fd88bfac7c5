//! `cti-bench soak`: memory of the headless panel over a long run at 1 call/s.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use crate::app::{app_binary, app_command, home, Running, RELEASE_HINT};
use crate::external_sim::ExternalSim;
use crate::procmem;
use crate::table::{Row, Verdict};
use crate::Section;

/// The soak's simulator: one call a second to the panel's extension 101 (the load generator
/// with the demo directory), for `minutes` plus the warm-up.
fn soak_scenario(minutes: u64) -> cti_sim::scenario::Scenario {
    let profile = cti_sim::scenario::LoadProfile {
        agents: 1,
        calls_per_sec: 1.0,
        duration: Duration::from_secs((minutes + 3) * 60),
        answer_ratio: 0.8,
    };
    let mut scenario = profile.scenario();
    scenario.name = "soak".into();
    scenario.demo_directory = true;
    scenario.extensions.clear();
    if let Some(generator) = scenario.generator.as_mut() {
        for t in &mut generator.templates {
            t.to = "101".into();
        }
    }
    scenario
}

/// What the soak runs: the shipped build by default; another binary (`--app`, e.g. the debug
/// build, which keeps its symbols) and a wrapper command in front of it (`--wrap`, e.g.
/// `heaptrack -o FILE` for a heap profile of the run; the readings then include the wrapper).
#[derive(Debug, Clone, Default)]
pub struct SoakOptions {
    pub minutes: u64,
    pub app: Option<std::path::PathBuf>,
    pub wrap: Vec<String>,
}

/// Memory of the headless panel in its normal configuration over `minutes` while the
/// simulator (in this process) sends it a call a second: RSS and PSS once a minute after a
/// minute of warm-up, growth first → last, and how many calls the history holds at the end.
pub fn soak(root: &Path, opts: &SoakOptions) -> Section {
    let minutes = opts.minutes;
    let metric = format!("RSS growth over a {minutes}-minute soak at 1 call/s (headless)");
    let target = "≤ 10 MB";
    let fail =
        |why: String| Section::failed("Soak", Row::not_measured(metric.clone(), target, why));
    let (bin, kind) = match &opts.app {
        Some(app) if app.is_file() => (app.clone(), "given"),
        Some(app) => return fail(format!("--app {}: no such file", app.display())),
        None => match app_binary(root) {
            Some(found) => found,
            None => return fail(format!("no app binary; {RELEASE_HINT}")),
        },
    };
    let home = match home() {
        Ok(h) => h,
        Err(e) => return fail(e),
    };
    let sim = match ExternalSim::start_scenario(soak_scenario(minutes)) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    if let Err(e) = sim.configure(home.path()) {
        return fail(e);
    }
    let mut cmd = match opts.wrap.split_first() {
        None => app_command(&bin, home.path(), &["--headless"], None),
        Some((wrapper, wrap_args)) => {
            let bin = bin.to_string_lossy();
            let mut args: Vec<&str> = wrap_args.iter().map(String::as_str).collect();
            args.extend([bin.as_ref(), "--headless"]);
            app_command(Path::new(wrapper), home.path(), &args, None)
        }
    };
    cmd.stdout(Stdio::null()).stderr(Stdio::null());
    let mut child = match cmd.spawn() {
        Ok(c) => Running(c),
        Err(e) => return fail(e.to_string()),
    };
    std::thread::sleep(Duration::from_secs(60));
    let mut samples = Vec::new();
    for i in 0..=minutes {
        if let Ok(Some(status)) = child.0.try_wait() {
            return fail(format!("the app exited ({status})"));
        }
        if let Ok(t) = procmem::tree_memory(child.0.id()) {
            samples.push((t.rss_kb(), t.pss_kb()));
        }
        if i < minutes {
            std::thread::sleep(Duration::from_secs(60));
        }
    }
    drop(child);
    drop(sim);
    let calls = count_calls(&home.path().join(".local/share/cti-panel/history.db"));
    let (Some(first), Some(last)) = (samples.first(), samples.last()) else {
        return fail("no sample".into());
    };
    let mb = |kb: u64| kb as f64 / 1024.0;
    let growth_mb = mb(last.0) - mb(first.0);
    let pss_growth_mb = mb(last.1) - mb(first.1);
    let calls = match calls {
        Ok(n) => format!("{n} calls in the history at the end"),
        Err(e) => format!("calls in the history not read: {e}"),
    };
    Section {
        title: "Soak".into(),
        rows: vec![Row::new(format!("{metric} ({kind} build)"))
            .ours(format!(
                "{growth_mb:+.1} MB (PSS {pss_growth_mb:+.1} MB; {calls})"
            ))
            .target(target)
            .verdict(Verdict::of(growth_mb <= 10.0))],
        details: format!(
            "Soak: the headless panel in its normal configuration (Era, Telphin, listener) against the \
             simulator in the benchmark's process generating one call a second to extension 101 \
             (ringing 0.5–3 s, 80 % answered, talking 3–20 s); first sample after 60 s of warm-up.\n\
             RSS / PSS samples (MB, one a minute): {}\n",
            samples
                .iter()
                .map(|(r, p)| format!("{:.1}/{:.1}", mb(*r), mb(*p)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Calls in a history file (opened after the panel stopped).
fn count_calls(path: &Path) -> Result<u64, String> {
    let conn =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|e| format!("{}: {e}", path.display()))?;
    conn.query_row("SELECT count(*) FROM call", [], |r| r.get::<_, i64>(0))
        .map(|n| u64::try_from(n).unwrap_or(0))
        .map_err(|e| e.to_string())
}
