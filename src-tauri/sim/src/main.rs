//! `cti-sim`: the PBX simulator standalone. Starts every front-end on one loopback server, runs
//! a scenario (the built-in demo by default) or a benchmark load, prints how to connect, and
//! serves until Ctrl-C.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use serde_json::Value;

use cti_sim::scenario::{self, LoadProfile, Scenario, ScenarioReport};
use cti_sim::{Sim, SimConfig};

#[derive(Debug, Parser)]
#[command(
    name = "cti-sim",
    version,
    about = "PBX simulator: Era, Telphin and JSON call webhooks on loopback"
)]
struct Args {
    /// Scenario file (TOML, see assets/scenarios/README.md); default: the built-in demo.
    #[arg(long, value_name = "FILE")]
    scenario: Option<PathBuf>,
    /// Address to listen on (default: the scenario's [sim] bind, else 127.0.0.1 on a free port).
    #[arg(long, value_name = "ADDR")]
    bind: Option<SocketAddr>,
    /// Simulated-time speed factor (1 = real time).
    #[arg(long, value_name = "X")]
    speed: Option<f64>,
    /// Seed of every random choice (overrides the scenario's).
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Load mode: this many agents (1001, 1002, …) instead of the scenario.
    #[arg(long, value_name = "N", requires = "load_rate")]
    load_agents: Option<u32>,
    /// Load mode: calls per simulated second.
    #[arg(long, value_name = "M", requires = "load_agents")]
    load_rate: Option<f64>,
    /// Load mode: how long calls keep coming, simulated seconds.
    #[arg(long, value_name = "SECS", default_value_t = 60.0)]
    load_duration: f64,
    /// Load mode: share of calls answered (0–1).
    #[arg(long, value_name = "R", default_value_t = 0.8)]
    load_answer_ratio: f64,
    /// Where JSON call webhooks go (the panel's `/hooks/{token}/calls` URL).
    #[arg(long, value_name = "URL")]
    webhook_url: Option<String>,
    /// Print the effective simulator configuration as TOML and exit.
    #[arg(long)]
    print_config: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    // Every call is logged at `info`; in load mode that is too much by default.
    let default_filter = if args.load_agents.is_some() {
        "warn"
    } else {
        "warn,cti_sim=info"
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr)
        .init();

    let mut scenario = match &args.scenario {
        Some(path) => Scenario::load(path),
        None => Scenario::builtin_demo(),
    }
    .unwrap_or_else(|e| fail(&e.to_string()));
    let mut config = scenario
        .sim_config(&SimConfig::default())
        .unwrap_or_else(|e| fail(&e.to_string()));
    if let Some(bind) = args.bind {
        config.bind = bind;
    }
    if let Some(speed) = args.speed {
        if !(speed.is_finite() && speed > 0.0) {
            fail("--speed must be a number above 0");
        }
        config.speed = speed;
    }
    if let Some(seed) = args.seed {
        config.seed = seed;
        scenario.seed = Some(seed);
    }
    if let Some(url) = &args.webhook_url {
        config.webhooks.url = Some(url.clone());
        config.webhooks.enabled = true;
    }
    let load = match (args.load_agents, args.load_rate) {
        (Some(agents), Some(rate)) => {
            if agents == 0 || !(rate.is_finite() && rate > 0.0) {
                fail("--load-agents must be at least 1 and --load-rate above 0");
            }
            if !(args.load_duration.is_finite() && args.load_duration > 0.0) {
                fail("--load-duration must be above 0");
            }
            Some(LoadProfile {
                agents,
                calls_per_sec: rate,
                duration: Duration::from_secs_f64(args.load_duration),
                answer_ratio: args.load_answer_ratio,
            })
        }
        _ => None,
    };

    if args.print_config {
        match toml::to_string_pretty(&config) {
            Ok(text) => {
                print!("{text}");
                return ExitCode::SUCCESS;
            }
            Err(e) => fail(&format!("cannot print the configuration: {e}")),
        }
    }

    let sim = match Sim::start(config).await {
        Ok(sim) => sim,
        Err(e) => fail(&format!("cannot start the simulator: {e}")),
    };
    let title = match &load {
        Some(p) => format!("load: {}", p.scenario().description),
        None => format!(
            "scenario {:?}",
            if scenario.name.is_empty() {
                "unnamed"
            } else {
                &scenario.name
            }
        ),
    };
    // Load mode runs its own scenario, seeded by the simulator's seed.
    let seed = if load.is_some() { None } else { scenario.seed };
    let mut handle = match load {
        Some(profile) => scenario::run_load(sim.ctx.clone(), profile),
        None => scenario::run(sim.ctx.clone(), scenario.clone()),
    };
    // The scenario installs its directory first; give it a moment so the listing is complete.
    tokio::time::sleep(Duration::from_millis(50)).await;
    print_connect_info(&sim, &title, seed);

    let mut finished = false;
    loop {
        tokio::select! {
            r = tokio::signal::ctrl_c() => {
                if let Err(e) = r {
                    eprintln!("cti-sim: cannot listen for Ctrl-C: {e}");
                }
                break;
            }
            r = &mut handle, if !finished => {
                finished = true;
                match r {
                    Ok(report) => print_report(&report),
                    Err(e) => eprintln!("cti-sim: the scenario task failed: {e}"),
                }
                println!("Scenario over; still serving. Ctrl-C to stop.");
            }
        }
    }
    handle.abort();
    println!("\nStopping.");
    sim.shutdown();
    ExitCode::SUCCESS
}

fn fail(msg: &str) -> ! {
    eprintln!("cti-sim: {msg}");
    std::process::exit(2)
}

/// A string field of a front-end config, looked up by name (their fields may evolve).
fn field(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn print_connect_info(sim: &Sim, title: &str, seed: Option<u64>) {
    let cfg = &sim.ctx.config;
    let base = sim.base_url();
    let ws = base.replacen("http://", "ws://", 1);
    println!("cti-sim {} — {title}", env!("CARGO_PKG_VERSION"));
    println!("seed {}, speed {}×", seed.unwrap_or(cfg.seed), cfg.speed);
    println!("Listening on {base}");

    let era = serde_json::to_value(&cfg.era).unwrap_or(Value::Null);
    println!("\nEra (WebSocket + REST, seeds 002/003)");
    if let Some(token) = field(&era, "token") {
        println!("  Token-API WebSocket   {ws}/ws/token/v1/{token}");
        println!(
            "                        (or {ws}/ws/token/v1 with `Authorization: Bearer {token}`)"
        );
    }
    let user_path = field(&era, "user_path").unwrap_or_else(|| "/ws/user/v1".into());
    let user_path = format!("/{}", user_path.trim_matches('/'));
    if let Some(Value::Array(users)) = era.get("users") {
        for u in users {
            if let (Some(ext), Some(token)) = (field(u, "extension"), field(u, "token")) {
                println!("  User-API WebSocket    {ws}{user_path}/{token}   (extension {ext})");
            }
        }
    }
    println!(
        "  REST                  {base}/rest/v1/uc/calls, {base}/rest/v1/uc/calls_by_participation"
    );
    if let Some(domain) = field(&era, "domain") {
        println!("  domain                {domain}");
    }

    let tel = serde_json::to_value(&cfg.telphin).unwrap_or(Value::Null);
    println!("\nTelphin (OAuth REST, seeds 000/001)");
    println!("  OAuth token URL       {base}/oauth/token   (grant_type=client_credentials)");
    if let (Some(id), Some(secret)) = (field(&tel, "client_id"), field(&tel, "client_secret")) {
        println!("  client_id / secret    {id} / {secret}");
    }
    println!("  API base              {base}/api/ver1.0");
    if let Some(client) = field(&tel, "pbx_client_id") {
        println!("  PBX client id         {client}   (/client/{client}/… or /client/@me/…)");
    }
    match tel.get("call_interactive").and_then(|c| field(c, "url")) {
        Some(url) => println!("  Call Interactive URL  {url}"),
        None => println!("  Call Interactive URL  not set ([sim.telphin.call_interactive] url)"),
    }

    println!("\nJSON call webhooks (seed 004)");
    match (&cfg.webhooks.url, cfg.webhooks.enabled) {
        (Some(url), true) => println!("  sending to            {url}"),
        (Some(url), false) => println!("  disabled              (url {url})"),
        (None, _) => println!("  not sending           (set --webhook-url or [sim.webhooks] url)"),
    }

    println!("\nExtensions");
    for e in sim.world().extensions() {
        let kind = serde_json::to_value(e.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        println!(
            "  {:<6} id {:<7} {:<32} {} ({kind})",
            e.number, e.id, e.sip_name, e.name
        );
    }
    let groups = sim.world().groups();
    if !groups.is_empty() {
        println!("\nQueues and hunt groups");
        for g in groups {
            let mode = serde_json::to_value(g.mode)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            println!(
                "  {:<6} {:<20} {mode}, ring {} s: {}",
                g.number,
                g.name,
                g.ring_timeout_ms / 1000,
                g.members.join(", ")
            );
        }
    }
    println!("\nCtrl-C to stop.");
}

fn print_report(r: &ScenarioReport) {
    println!(
        "Scenario finished at {:.1} s: {} calls ({} answered, {} missed, {} busy, {} rejected, {} cancelled, {} ended elsewhere), {} faults",
        r.last_ms as f64 / 1000.0,
        r.calls_started,
        r.answered,
        r.missed,
        r.busy,
        r.rejected,
        r.cancelled,
        r.ended_elsewhere,
        r.faults.len()
    );
    for p in r.problems.iter().take(10) {
        println!("  problem: {p}");
    }
}
