//! `cti-bench`: run the CTI panel's benchmarks and print one table.
//!
//! ```text
//! cargo run -p cti-bench --release -- all [options]     every benchmark; writes BENCHMARKS.md
//! cargo run -p cti-bench --release -- ci | ingest | inproc | screen | memory | startup | size | history | soak
//! ```
//!
//! See `--help` for the options (durations, rates, sizes).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use cti_bench::app::AppOptions;
use cti_bench::ci::{CiOptions, IngestOptions};
use cti_bench::history::HistoryOptions;
use cti_bench::inproc::InprocOptions;
use cti_bench::screen::ScreenOptions;
use cti_bench::servers::Paths;
use cti_bench::{app, ci, history, inproc, machine, screen, serve, table, Section};
use cti_core::hooks::IvrStore;

const HELP: &str = "cti-bench: the CTI panel's benchmarks, side by side with peers and the floor

USAGE: cti-bench <COMMAND> [OPTIONS]

COMMANDS
  all        every benchmark below (except soak); prints one table and writes BENCHMARKS.md
  ci         Call Interactive reply latency: ours vs the bare-hyper floor, Node and Python
  ingest     seed-004 JSON webhook ingest into the listener + the real history store
  inproc     Era frame → normalized event → UI emit; simulator → session
  screen     sim WS notify / webhook → incoming-call card painted in the release app's window (Xvfb)
  memory     PSS of the headless core (and of the window app when a release build exists)
  startup    launch → core up / call-ready / window visible
  size       .deb and release binary size
  history    the history store benchmark (`history-store` in a child process) as table rows
  history-store [--calls N] [--single N] [--lookups N] [--searches N] [--dir DIR] [--keep]
             the history store benchmark itself, printing its report
  soak       RSS growth of the headless demo over --minutes
  build-apps build the panel and the empty Tauri app (binaries + .deb, release profile): one
             cargo build for both, then `tauri bundle` (about 9 minutes from scratch on 2 cores)
  serve-listener --port P --token T [--history FILE] [--ivr-store after_reply|before_reply]
             (internal: our listener as a server)

OPTIONS (defaults fit the 30-minute budget on 2 cores)
  --quick                 small sizes everywhere (a smoke run of a few minutes)
  --build-apps            (all) build the apps first: the default (cargo rebuilds what changed)
  --no-build              (all) measure the apps as they are; rows without them say `not measured`
  --rate N                CI fixed rate, req/s [1000]
  --secs S                CI seconds per round [10: 3 rounds = 30 s per server]
  --rounds N              CI and ingest rounds, servers alternating [3]
  --warmup S              CI warm-up seconds per round [2]
  --conns N               load generator connections [32]
  --ramp-secs S           seconds per ceiling-search step [CI 3, ingest 5]
  --ramp-max N            highest rate tried in the CI ceiling search [32000]
  --ramp-p99 MS           a ceiling step holds while p99 ≤ MS [20]
  --no-history            CI without the durable-history variant
  --no-peers              CI without the Node and Python peers
  --compare-store         CI also with `ivr_store = before_reply` (an information row)
  --ingest-rate N         ingest fixed rate, req/s [200]
  --ingest-secs S         ingest seconds per round [10]
  --calls N               simulator → session calls [300]
  --replays N             frame → emit replays of the captured frames [200]
  --screen-calls N        screen: calls through the Era WebSocket path [200]
  --screen-hooks N        screen: calls through the JSON webhook path [200]
  --screen-spacing MS     screen: pause after each call's card [300]
  --idle-secs S           idle time before the memory reading [60]
  --startup-runs N        launches per startup measurement [10]
  --ready-marker TEXT     app output that means call-ready [the Era connected UI event]
  --minutes N             soak length [30]
  --app PATH              soak: run this app binary instead of the release build
  --wrap 'CMD ARGS'       soak: start the app under CMD, e.g. 'heaptrack -o /tmp/soak' (a heap
                          profile; the memory readings then include the wrapper)
  --history-calls N       history benchmark size [1000000]
  --history-single N      single-commit samples [2000]
  --root DIR              repository root [the one this binary was built from]
  --no-write              do not update BENCHMARKS.md
";

/// `--key value` options and flags.
#[derive(Debug, Default)]
struct Args {
    command: String,
    values: BTreeMap<String, String>,
    flags: Vec<String>,
}

const FLAGS: [&str; 8] = [
    "--quick",
    "--compare-store",
    "--build-apps",
    "--no-build",
    "--no-history",
    "--no-peers",
    "--no-write",
    "--help",
];

fn parse_args(argv: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut a = Args::default();
    let mut it = argv.peekable();
    while let Some(arg) = it.next() {
        if FLAGS.contains(&arg.as_str()) || arg == "-h" {
            a.flags
                .push(if arg == "-h" { "--help".into() } else { arg });
        } else if let Some(key) = arg.strip_prefix("--") {
            let v = it.next().ok_or_else(|| format!("--{key} needs a value"))?;
            a.values.insert(key.to_string(), v);
        } else if a.command.is_empty() {
            a.command = arg;
        } else {
            return Err(format!("unexpected argument {arg:?}"));
        }
    }
    Ok(a)
}

impl Args {
    fn flag(&self, f: &str) -> bool {
        self.flags.iter().any(|x| x == f)
    }

    fn num<T: std::str::FromStr>(&self, key: &str, default: T) -> Result<T, String> {
        match self.values.get(key) {
            Some(v) => v
                .parse()
                .map_err(|_| format!("--{key}: {v:?} is not a valid number")),
            None => Ok(default),
        }
    }
}

struct Options {
    ci: CiOptions,
    ingest: IngestOptions,
    inproc: InprocOptions,
    screen: ScreenOptions,
    app: AppOptions,
    history: HistoryOptions,
    quick: bool,
}

fn options(a: &Args) -> Result<Options, String> {
    let quick = a.flag("--quick");
    let mut ci = CiOptions::default();
    let mut ingest = IngestOptions::standard();
    let mut inproc = InprocOptions::default();
    let mut screen = ScreenOptions::default();
    let mut app = AppOptions::default();
    let mut history = HistoryOptions::default();
    if quick {
        ci.secs = 5.0;
        ci.rounds = 1;
        ci.warmup_secs = 1.0;
        ci.ramp_secs = 2.0;
        ci.ramp_rates.retain(|r| *r <= 8_000.0);
        ingest.secs = 3.0;
        ingest.rounds = 1;
        ingest.ramp_secs = 2.0;
        ingest.ramp_rates.retain(|r| *r <= 2_000.0);
        inproc.calls = 50;
        inproc.replays = 20;
        screen.calls = 30;
        screen.webhook_calls = 30;
        app.idle_secs = 5;
        app.startup_runs = 2;
        history.calls = 20_000;
        history.single = 500;
        history.lookups = 500;
        history.searches = 100;
    }
    ci.rate = a.num("rate", ci.rate)?;
    ci.secs = a.num("secs", ci.secs)?;
    ci.rounds = a.num("rounds", ci.rounds)?;
    ci.warmup_secs = a.num("warmup", ci.warmup_secs)?;
    ci.connections = a.num("conns", ci.connections)?;
    ci.ramp_secs = a.num("ramp-secs", ci.ramp_secs)?;
    let ramp_max: f64 = a.num("ramp-max", f64::INFINITY)?;
    ci.ramp_rates.retain(|r| *r <= ramp_max);
    ci.ramp_p99_ms = a.num("ramp-p99", ci.ramp_p99_ms)?;
    ci.with_history = !a.flag("--no-history");
    ci.peers = !a.flag("--no-peers");
    ci.compare_store = a.flag("--compare-store");
    ingest.rate = a.num("ingest-rate", ingest.rate)?;
    ingest.secs = a.num("ingest-secs", ingest.secs)?;
    ingest.rounds = a.num("rounds", ingest.rounds)?;
    ingest.ramp_secs = a.num("ramp-secs", ingest.ramp_secs)?;
    inproc.calls = a.num("calls", inproc.calls)?;
    inproc.replays = a.num("replays", inproc.replays)?;
    screen.calls = a.num("screen-calls", screen.calls)?;
    screen.webhook_calls = a.num("screen-hooks", screen.webhook_calls)?;
    screen.spacing_ms = a.num("screen-spacing", screen.spacing_ms)?;
    app.idle_secs = a.num("idle-secs", app.idle_secs)?;
    app.startup_runs = a.num("startup-runs", app.startup_runs)?;
    if let Some(m) = a.values.get("ready-marker") {
        app.ready_marker = m.clone();
    }
    app.soak_minutes = a.num("minutes", 30)?;
    history.calls = a.num("history-calls", history.calls)?;
    history.single = a.num("history-single", history.single)?;
    for (name, rate) in [("--rate", ci.rate), ("--ingest-rate", ingest.rate)] {
        if !(rate.is_finite() && rate > 0.0) {
            return Err(format!("{name} must be positive"));
        }
    }
    if ci.ramp_rates.is_empty() {
        return Err("--ramp-max leaves no ramp step (the first is 1000)".into());
    }
    Ok(Options {
        ci,
        ingest,
        inproc,
        screen,
        app,
        history,
        quick,
    })
}

fn print_sections(sections: &[Section]) {
    let rows: Vec<_> = sections.iter().flat_map(|s| s.rows.clone()).collect();
    println!("\n{}", table::render(&rows));
    for sec in sections {
        if !sec.details.trim().is_empty() {
            println!("\n{}:\n{}", sec.title, sec.details.trim_end());
        }
    }
}

/// Runs one section of `all`, announcing it and recording how long it took.
fn timed(times: &mut Vec<(String, f64)>, label: &str, f: impl FnOnce() -> Section) -> Section {
    eprintln!("cti-bench: {label}");
    let t0 = Instant::now();
    let section = f();
    let secs = t0.elapsed().as_secs_f64();
    eprintln!("cti-bench: {label}: {:.1} min", secs / 60.0);
    times.push((label.to_string(), secs));
    section
}

/// Where the time of a run went: this process's parts, and (when `scripts/bench.sh` started it
/// and passed its start time in `CTI_BENCH_T0`, Unix seconds) building cti-bench itself.
struct Timing {
    total_secs: f64,
    parts: Vec<(String, f64)>,
}

impl Timing {
    fn new(own_secs: f64, mut parts: Vec<(String, f64)>) -> Timing {
        let since_t0 = std::env::var("CTI_BENCH_T0")
            .ok()
            .and_then(|v| v.trim().parse::<f64>().ok())
            .and_then(|t0| {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .ok()?
                    .as_secs_f64();
                (now >= t0 + own_secs).then_some(now - t0)
            });
        let total_secs = match since_t0 {
            Some(total) => {
                parts.insert(0, ("building cti-bench".into(), total - own_secs));
                total
            }
            None => own_secs,
        };
        Timing { total_secs, parts }
    }

    fn describe(&self) -> String {
        let parts: Vec<String> = self
            .parts
            .iter()
            .map(|(what, secs)| format!("{what} {:.1}", secs / 60.0))
            .collect();
        if parts.is_empty() {
            format!("done in {:.1} min", self.total_secs / 60.0)
        } else {
            format!(
                "done in {:.1} min ({}; minutes)",
                self.total_secs / 60.0,
                parts.join(", ")
            )
        }
    }
}

fn document(sections: &[Section], opts: &Options, timing: &Timing) -> String {
    let rows: Vec<_> = sections.iter().flat_map(|s| s.rows.clone()).collect();
    let mut s = String::new();
    let _ = writeln!(s, "## Side by side (cti-bench)\n");
    let _ = writeln!(
        s,
        "Recorded {} by `bash scripts/bench.sh` (= `cargo run -p cti-bench --release -- all{}`): {}.\n",
        chrono::Local::now().format("%Y-%m-%d %H:%M %Z"),
        if opts.quick { " --quick" } else { "" },
        timing.describe()
    );
    let _ = writeln!(s, "**Machine:** {}\n", machine::describe());
    let _ = writeln!(
        s,
        "Ratios are ours ÷ the peer or floor measured in the same run. Latencies are measured open loop from each request's *scheduled* send time (no coordinated omission), HDR histograms at 1 µs resolution; servers alternate in rotating order each round and the table shows medians over rounds. `not measured` rows say why and what makes them run.\n"
    );
    s.push_str(&table::render(&rows));
    for sec in sections {
        if !sec.details.trim().is_empty() {
            let _ = writeln!(s, "\n### {}\n\n{}", sec.title, sec.details.trim_end());
        }
    }
    s
}

fn write_benchmarks(root: &std::path::Path, text: &str) -> Result<PathBuf, String> {
    let path = root.join("BENCHMARKS.md");
    let existing = std::fs::read_to_string(&path).unwrap_or_default();
    let updated = table::splice_section(&existing, text);
    std::fs::write(&path, updated).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

fn run() -> Result<(), String> {
    if std::env::args().nth(1).as_deref() == Some("history-store") {
        // Its own flags (see `history-store --help`), passed through untouched.
        let rest = std::env::args().skip(2);
        return cti_bench::history_store::main(rest).map_err(|e| e.to_string());
    }
    let args = parse_args(std::env::args().skip(1))?;
    if args.flag("--help") || args.command.is_empty() {
        print!("{HELP}");
        return Ok(());
    }
    if args.command == "serve-listener" {
        let port = args.num("port", 0u16)?;
        let token = args
            .values
            .get("token")
            .ok_or("serve-listener needs --token")?
            .clone();
        let history = args.values.get("history").map(PathBuf::from);
        let store = match args.values.get("ivr-store").map(String::as_str) {
            None | Some("after_reply") => IvrStore::AfterReply,
            Some("before_reply") => IvrStore::BeforeReply,
            Some(other) => {
                return Err(format!(
                    "--ivr-store {other:?}: expected after_reply or before_reply"
                ))
            }
        };
        return serve::serve_listener(port, &token, history, store);
    }
    let opts = options(&args)?;
    let paths = Paths::discover(args.values.get("root").map(PathBuf::from))?;
    let root = paths.root.clone();
    let started = Instant::now();
    let mut times: Vec<(String, f64)> = Vec::new();
    let sections: Vec<Section> = match args.command.as_str() {
        "ci" => vec![ci::run_ci(&paths, &opts.ci)],
        "ingest" => vec![ci::run_ingest(&paths, &opts.ingest)],
        "inproc" => vec![inproc::run(&opts.inproc)],
        "screen" => vec![screen::run(&root, &opts.screen)],
        "memory" => vec![app::memory(&root, &opts.app)],
        "startup" => vec![app::startup(&root, &opts.app)],
        "size" => vec![app::size(&root, &[])],
        "history" => vec![history::run(&root, &opts.history)],
        "soak" => vec![app::soak(
            &root,
            &cti_bench::soak::SoakOptions {
                minutes: opts.app.soak_minutes,
                app: args.values.get("app").map(PathBuf::from),
                wrap: args
                    .values
                    .get("wrap")
                    .map(|w| w.split_whitespace().map(String::from).collect())
                    .unwrap_or_default(),
            },
        )],
        "build-apps" => {
            app::build_apps(&root)?;
            return Ok(());
        }
        "all" => {
            // The app rows need the shipped build of the panel and the empty Tauri app: build
            // them (cargo rebuilds only what changed) unless told not to.
            let builds = if args.flag("--no-build") {
                let missing = app::missing_apps(&root);
                if !missing.is_empty() {
                    eprintln!("cti-bench: not built: {}", missing.join(", "));
                }
                Vec::new()
            } else {
                match app::build_apps(&root) {
                    Ok(b) => b,
                    Err(e) => {
                        eprintln!("cti-bench: {e}; the app rows will say what is missing");
                        Vec::new()
                    }
                }
            };
            for b in &builds {
                times.push((format!("building {}", b.what), b.secs));
            }
            vec![
                timed(&mut times, "1/7 Call Interactive latency", || {
                    ci::run_ci(&paths, &opts.ci)
                }),
                timed(&mut times, "2/7 webhook ingest", || {
                    ci::run_ingest(&paths, &opts.ingest)
                }),
                timed(&mut times, "3/7 event to screen (in process)", || {
                    inproc::run(&opts.inproc)
                }),
                timed(&mut times, "3/7 event to screen (window)", || {
                    screen::run(&root, &opts.screen)
                }),
                timed(&mut times, "4/7 memory", || app::memory(&root, &opts.app)),
                timed(&mut times, "5/7 startup", || app::startup(&root, &opts.app)),
                timed(&mut times, "6/7 history", || {
                    history::run(&root, &opts.history)
                }),
                timed(&mut times, "7/7 package size", || app::size(&root, &builds)),
            ]
        }
        other => return Err(format!("unknown command {other:?} (see --help)")),
    };
    print_sections(&sections);
    let timing = Timing::new(started.elapsed().as_secs_f64(), times);
    eprintln!("cti-bench: {}", timing.describe());
    if args.command == "all" && !args.flag("--no-write") {
        let path = write_benchmarks(&root, &document(&sections, &opts, &timing))?;
        eprintln!("cti-bench: table written to {}", path.display());
    }
    Ok(())
}

fn main() {
    if let Err(e) = run() {
        eprintln!("cti-bench: {e}");
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Result<Args, String> {
        parse_args(s.split_whitespace().map(String::from))
    }

    #[test]
    fn parses_commands_options_and_flags() {
        let a = args("ci --rate 500 --quick --secs 3").unwrap();
        assert_eq!(a.command, "ci");
        assert!(a.flag("--quick"));
        let o = options(&a).unwrap();
        assert_eq!(o.ci.rate, 500.0);
        assert_eq!(o.ci.secs, 3.0);
        assert_eq!(o.ci.rounds, 1, "--quick");
        assert!(args("ci --rate").is_err());
        assert!(args("ci extra").is_err());
        assert!(options(&args("ci --rate fast").unwrap()).is_err());
        assert!(options(&args("ci --rate 0").unwrap()).is_err());
        assert!(options(&args("ci --ramp-max 10").unwrap()).is_err());
        let a = args("all --build-apps --secs 3").unwrap();
        assert!(a.flag("--build-apps") && !a.flag("--no-build"));
        assert_eq!(options(&a).unwrap().ci.secs, 3.0);
        let o = options(&args("all --ramp-max 4000").unwrap()).unwrap();
        assert_eq!(o.ci.ramp_rates, vec![1000.0, 2000.0, 4000.0]);
    }

    #[test]
    fn document_has_machine_table_and_details() {
        let o = options(&args("all").unwrap()).unwrap();
        let sections = vec![Section {
            title: "X".into(),
            rows: vec![table::Row::new("m").ours("1")],
            details: "some detail".into(),
        }];
        let d = document(&sections, &o, &Timing::new(720.0, vec![("x".into(), 60.0)]));
        assert!(d.starts_with("## Side by side"));
        assert!(d.contains("**Machine:**"));
        assert!(d.contains("| m "));
        assert!(d.contains("### X\n\nsome detail"));
        assert!(d.contains("x 1.0"), "{d}");
    }
}
