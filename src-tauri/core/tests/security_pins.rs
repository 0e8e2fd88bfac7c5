//! Security pins: the listener binds loopback by default; a wrong token is a 404 that looks and
//! times like an unknown path; secrets never reach the config file we write, the history
//! database or the logs; the app's CSP is present and strict and its capability file grants
//! nothing beyond the app's own commands and event listening; XML values cannot inject actions.

mod common;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use common::listener::{raw_request, Rig};
use cti_core::hooks::ivr::{parse_response_xml, sanitize};
use cti_core::hooks::{response_xml, validate_xml, Action, IvrSettings, ListenerConfig, PlayMode};
use serde_json::Value;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read_json(rel: &str) -> Value {
    let p = repo_root().join(rel);
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

// ---------------------------------------------------------------------------------------------
// Log capture: a minimal global tracing subscriber that keeps every event and span field.

#[derive(Default)]
struct Capture {
    text: Mutex<String>,
    next_span: AtomicU64,
}

struct Fields<'a>(&'a mut String);

impl tracing::field::Visit for Fields<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {}={:?}", field.name(), value);
    }

    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        let _ = write!(self.0, " {}={}", field.name(), value);
    }
}

impl tracing::Subscriber for Capture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        let mut t = self.text.lock().unwrap();
        let _ = write!(t, "SPAN {}", span.metadata().name());
        span.record(&mut Fields(&mut t));
        t.push('\n');
        tracing::span::Id::from_u64(self.next_span.fetch_add(1, Ordering::SeqCst) + 1)
    }

    fn record(&self, _: &tracing::span::Id, values: &tracing::span::Record<'_>) {
        let mut t = self.text.lock().unwrap();
        values.record(&mut Fields(&mut t));
        t.push('\n');
    }

    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}

    fn event(&self, event: &tracing::Event<'_>) {
        let mut t = self.text.lock().unwrap();
        let _ = write!(
            t,
            "{} {}",
            event.metadata().level(),
            event.metadata().target()
        );
        event.record(&mut Fields(&mut t));
        t.push('\n');
    }

    fn enter(&self, _: &tracing::span::Id) {}

    fn exit(&self, _: &tracing::span::Id) {}
}

/// Everything logged in this test binary so far (installs the capture on first use).
fn logs() -> &'static Capture {
    static CAPTURE: OnceLock<&'static Capture> = OnceLock::new();
    CAPTURE.get_or_init(|| {
        let c: &'static Capture = Box::leak(Box::default());
        let _ = tracing::subscriber::set_global_default(CaptureRef(c));
        c
    })
}

struct CaptureRef(&'static Capture);

impl tracing::Subscriber for CaptureRef {
    fn enabled(&self, m: &tracing::Metadata<'_>) -> bool {
        self.0.enabled(m)
    }
    fn new_span(&self, s: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        self.0.new_span(s)
    }
    fn record(&self, i: &tracing::span::Id, v: &tracing::span::Record<'_>) {
        self.0.record(i, v)
    }
    fn record_follows_from(&self, a: &tracing::span::Id, b: &tracing::span::Id) {
        self.0.record_follows_from(a, b)
    }
    fn event(&self, e: &tracing::Event<'_>) {
        self.0.event(e)
    }
    fn enter(&self, i: &tracing::span::Id) {
        self.0.enter(i)
    }
    fn exit(&self, i: &tracing::span::Id) {
        self.0.exit(i)
    }
}

/// `secret` and the forms it takes in URLs.
fn forms(secret: &str) -> Vec<String> {
    let encoded: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    let mut v = vec![secret.to_string(), encoded];
    v.dedup();
    v
}

fn assert_absent(haystack: &[u8], secret: &str, where_: &str) {
    for f in forms(secret) {
        let found = haystack.windows(f.len()).any(|w| w == f.as_bytes());
        assert!(!found, "the secret {f:?} appears in {where_}");
    }
}

/// The database file and its WAL, as bytes.
fn database_bytes(dir: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    for e in std::fs::read_dir(dir).expect("db dir").flatten() {
        if let Ok(b) = std::fs::read(e.path()) {
            all.extend(b);
        }
    }
    all
}

// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_listener_binds_loopback_by_default() {
    let d = ListenerConfig::default();
    assert_eq!(d.bind, "127.0.0.1");
    assert!(!d.allow_lan);
    assert_eq!(
        cti_core::config::Config::default().listener.bind,
        "127.0.0.1"
    );
    let rig = Rig::start().await;
    assert!(rig.addr().ip().is_loopback(), "{}", rig.addr());
    // Every interface, or a LAN address, is refused without the explicit opt-ins.
    for (bind, allow_lan) in [("0.0.0.0", false), ("0.0.0.0", true), ("::", true)] {
        let cfg = ListenerConfig {
            bind: bind.into(),
            allow_lan,
            port: 0,
            token: cti_core::hooks::generate_token(),
            ..ListenerConfig::default()
        };
        let sink = Arc::new(rig.history.clone());
        assert!(
            cti_core::hooks::Listener::start(cfg, sink).await.is_err(),
            "bind {bind} (allow_lan {allow_lan}) without allow_from must be refused"
        );
    }
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn percentile(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    v[((v.len() - 1) as f64 * p) as usize]
}

/// A wrong token answers exactly like an unknown path (same bytes but the date), and takes the
/// same time: the medians of many interleaved samples are printed and only checked against a
/// very generous bound (timing asserts must never be flaky).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_token_is_indistinguishable_from_an_unknown_path() {
    let rig = Rig::start().await;
    let t = rig.token.clone();
    let flip = |c: u8| if c == b'A' { b'B' } else { b'A' };
    let mut first = t.clone().into_bytes();
    first[0] = flip(first[0]);
    let mut last = t.clone().into_bytes();
    let n = last.len() - 1;
    last[n] = flip(last[n]);
    let kinds = [
        format!("/hooks/{}/calls", String::from_utf8(first).expect("ascii")),
        format!("/hooks/{}/calls", String::from_utf8(last).expect("ascii")),
        format!("/nowhere/{}", "x".repeat(t.len())),
    ];
    let strip_date = |r: &str| {
        r.lines()
            .filter(|l| !l.to_ascii_lowercase().starts_with("date:"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let mut replies = BTreeSet::new();
    for k in &kinds {
        let (status, reply) = raw_request(rig.addr(), "POST", k, b"{}")
            .await
            .expect("reply");
        assert_eq!(status, 404, "{k}");
        replies.insert(strip_date(&reply));
    }
    assert_eq!(replies.len(), 1, "the replies differ: {replies:#?}");

    let samples = common::knobs::env_u64("CTI_TIMING_SAMPLES", 300, 5_000) as usize;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    let base = format!("http://{}", rig.addr());
    let mut times: [Vec<Duration>; 3] = Default::default();
    for i in 0..samples * 3 {
        let k = (i * 7 + i / 3) % 3;
        let url = format!("{base}{}", kinds[k]);
        let t0 = Instant::now();
        let r = http.post(&url).body("{}").send().await.expect("reply");
        let _ = r.bytes().await;
        times[k].push(t0.elapsed());
    }
    let names = ["wrong_first_char", "wrong_last_char", "unknown_path"];
    let mut medians = Vec::new();
    for (k, v) in times.iter_mut().enumerate() {
        let m = median(v);
        let p90 = percentile(v, 0.9);
        common::measure(
            "token_timing",
            &format!("{}_median_us", names[k]),
            m.as_micros(),
        );
        common::measure(
            "token_timing",
            &format!("{}_p90_us", names[k]),
            p90.as_micros(),
        );
        medians.push(m);
    }
    let lo = *medians.iter().min().expect("3 medians");
    let hi = *medians.iter().max().expect("3 medians");
    assert!(
        hi <= lo * 3 + Duration::from_millis(5),
        "wrong-token and unknown-path replies take visibly different times: {medians:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_stay_out_of_the_database_the_logs_and_the_serialized_config() {
    let logs = logs();
    let era_token = format!("era-secret-{}", uuid::Uuid::new_v4().simple());
    let telphin_secret = format!("telphin-secret-{}", uuid::Uuid::new_v4().simple());

    // The webhook listener with its history: good, bad and near-miss requests.
    let rig = Rig::start().await;
    let listener_token = rig.token.clone();
    rig.good().await;
    let calls = rig.calls_path();
    let near = format!("/hooks/{}x/calls", listener_token);
    for (path, body) in [
        (calls.as_str(), b"not json".as_slice()),
        (near.as_str(), b"{}".as_slice()),
        (
            calls.as_str(),
            br#"{"SessionID":"s","HookType":"Bogus"}"#.as_slice(),
        ),
    ] {
        let (status, _) = raw_request(rig.addr(), "POST", path, body)
            .await
            .expect("reply");
        assert!(matches!(status, 400 | 404), "{status}");
    }
    let ivr = format!("/hooks/{listener_token}/ivr?CallID=1&CalledDID=2");
    let (status, _) = raw_request(rig.addr(), "GET", &ivr, b"")
        .await
        .expect("reply");
    assert_eq!(status, 200);

    // An Era session with the token in the URL path (Token-API, whose connection_info echoes
    // the token), through a proxy that drops and then refuses it.
    let sim = common::era::sim_on(0, |c| {
        c.era.token = era_token.clone();
        c.telphin.client_secret = telphin_secret.clone();
        c.telphin.extensions = vec![cti_sim::telphin::SimExtension {
            id: "34414".into(),
            number: "101".into(),
            name: "Agent".into(),
            kind: cti_sim::telphin::ExtType::Phone,
        }];
    })
    .await;
    let proxy = common::proxy::FaultProxy::start(sim.addr).await;
    let mut era_cfg = common::era::client_cfg(&proxy.base_url());
    era_cfg.auth = cti_core::era::EraAuth::TokenPath;
    era_cfg.token = era_token.clone();
    era_cfg.inspector_frames = true;
    let (era, mut era_events) = cti_core::era::start(era_cfg).expect("era starts");
    let mut st = era.state();
    let connected = |s: &cti_core::model::ConnectionState| {
        matches!(s, cti_core::model::ConnectionState::Connected { .. })
    };
    tokio::time::timeout(Duration::from_secs(20), st.wait_for(connected))
        .await
        .expect("era connects")
        .expect("state");
    proxy.set_reject(true);
    proxy.drop_connections();
    tokio::time::timeout(
        Duration::from_secs(20),
        st.wait_for(|s| matches!(s, cti_core::model::ConnectionState::Failed { .. })),
    )
    .await
    .expect("era gives up on the refused token")
    .expect("state");
    era.shutdown().await.expect("era stops");
    let mut frames = String::new();
    while let Ok(ev) = era_events.try_recv() {
        frames.push_str(&serde_json::to_string(&ev).expect("json"));
    }
    assert!(
        frames.contains("connection_info"),
        "inspector frames were emitted"
    );
    assert_absent(frames.as_bytes(), &era_token, "the Era inspector frames");

    // The Telphin client: a token fetch, and a client with a wrong secret.
    let ext = sim.ctx.config.telphin.extensions[0].id.clone();
    let tcfg = cti_core::telphin::TelphinConfig::for_server(
        sim.base_url(),
        &sim.ctx.config.telphin.client_id,
        &telphin_secret,
        &ext,
    );
    let telphin = cti_core::telphin::TelphinClient::new(tcfg.clone()).expect("telphin client");
    telphin.access_token().await.expect("token");
    let wrong = cti_core::telphin::TelphinClient::new(cti_core::telphin::TelphinConfig {
        client_secret: format!("{telphin_secret}-wrong"),
        ..tcfg
    })
    .expect("client");
    let err = wrong
        .access_token()
        .await
        .expect_err("wrong secret refused");
    assert_absent(
        err.to_string().as_bytes(),
        &telphin_secret,
        "a Telphin error",
    );

    // Nor in the whole configuration serialized (what a settings export would write).
    let mut full = cti_core::config::Config::default();
    full.era.token = era_token.clone();
    full.telphin.client_secret = telphin_secret.clone();
    full.listener.token = listener_token.clone();
    let text = toml::to_string(&full).expect("serializes");
    for s in [&era_token, &telphin_secret, &listener_token] {
        assert_absent(text.as_bytes(), s, "the serialized configuration");
    }

    // The history database (file and WAL).
    let db_dir = rig.history.path().parent().expect("db dir").to_path_buf();
    rig.history.close().await.expect("history closes");
    let db = database_bytes(&db_dir);
    assert!(db.len() > 4096, "the database was written");
    for s in [&era_token, &telphin_secret, &listener_token] {
        assert_absent(&db, s, "the history database");
    }

    // The logs of everything above.
    let text = logs.text.lock().unwrap().clone();
    assert!(
        text.contains("webhook request rejected") && text.contains("era"),
        "the capture saw the listener and the Era session log:\n{}",
        &text[..text.len().min(2000)]
    );
    for s in [&era_token, &telphin_secret, &listener_token] {
        assert_absent(text.as_bytes(), s, "the logs");
    }
    common::measure("secrets", "log_bytes_searched", text.len());
    common::measure("secrets", "db_bytes_searched", db.len());
}

/// A setting written while the running configuration holds secrets (filled from the keyring)
/// writes only that setting.
#[test]
fn writing_a_setting_never_writes_the_loaded_secrets() {
    let dir = tempfile::tempdir().expect("temp dir");
    let user = dir.path().join("config.toml");
    let none = dir.path().join("none.toml");
    let mut loaded = cti_core::config::load_from(&none, user.clone(), &[]).expect("loads");
    let secrets = [
        format!("era-{}", uuid::Uuid::new_v4().simple()),
        format!("telphin-{}", uuid::Uuid::new_v4().simple()),
        cti_core::hooks::generate_token(),
    ];
    loaded.config.era.token = secrets[0].clone();
    loaded.config.telphin.client_secret = secrets[1].clone();
    loaded.config.listener.token = secrets[2].clone();
    for (key, value) in [
        ("listener.port", toml::Value::Integer(9000)),
        ("ui.language", toml::Value::String("ru".into())),
        ("era.url", toml::Value::String("wss://era.example".into())),
    ] {
        cti_core::config::set_user_value(&loaded, key, value).expect("a plain setting is written");
    }
    let file = std::fs::read(&user).expect("config file");
    let text = String::from_utf8_lossy(&file);
    assert!(
        text.contains("9000") && text.contains("wss://era.example"),
        "{text}"
    );
    for s in &secrets {
        assert_absent(&file, s, "the config file");
    }
}

/// Asked to set a secret key (the settings command passes any key from the UI), the config
/// layer must refuse it or send it to the keyring, never write it to the user file.
#[test]
fn secret_keys_are_never_written_to_the_config_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let user = dir.path().join("config.toml");
    let none = dir.path().join("none.toml");
    let mut refused = Vec::new();
    let mut secrets = Vec::new();
    for key in ["era.token", "telphin.client_secret", "listener.token"] {
        let secret = format!("secret-{}", uuid::Uuid::new_v4().simple());
        let loaded = cti_core::config::load_from(&none, user.clone(), &[]).expect("loads");
        if cti_core::config::set_user_value(&loaded, key, toml::Value::String(secret.clone()))
            .is_err()
        {
            refused.push(key);
        }
        secrets.push(secret);
    }
    let file = std::fs::read(&user).unwrap_or_default();
    for s in &secrets {
        assert_absent(&file, s, &format!("the config file (refused: {refused:?})"));
    }
}

// ---------------------------------------------------------------------------------------------

/// `{directive: [sources]}` of a Tauri `csp` value (a string or a map).
fn csp_directives(csp: &Value) -> Vec<(String, Vec<String>)> {
    match csp {
        Value::String(s) => s
            .split(';')
            .filter_map(|d| {
                let mut parts = d.split_whitespace();
                let name = parts.next()?.to_string();
                Some((name, parts.map(str::to_string).collect()))
            })
            .collect(),
        Value::Object(m) => m
            .iter()
            .map(|(k, v)| {
                let sources = match v {
                    Value::String(s) => s.split_whitespace().map(str::to_string).collect(),
                    Value::Array(a) => a
                        .iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect(),
                    other => panic!("csp {k}: unexpected value {other}"),
                };
                (k.clone(), sources)
            })
            .collect(),
        other => panic!("csp must be a string or a map, got {other}"),
    }
}

fn check_csp(csp: &Value, which: &str) {
    let d = csp_directives(csp);
    let get = |name: &str| -> Vec<String> {
        d.iter()
            .find(|(n, _)| n == name)
            .map(|(_, s)| s.clone())
            .unwrap_or_else(|| panic!("{which}: `{name}` is missing"))
    };
    assert_eq!(get("default-src"), vec!["'self'"], "{which}: default-src");
    assert_eq!(get("script-src"), vec!["'self'"], "{which}: script-src");
    assert_eq!(get("object-src"), vec!["'none'"], "{which}: object-src");
    assert_eq!(get("base-uri"), vec!["'none'"], "{which}: base-uri");
    assert_eq!(
        get("frame-ancestors"),
        vec!["'none'"],
        "{which}: frame-ancestors"
    );
    let connect: BTreeSet<String> = get("connect-src").into_iter().collect();
    let allowed: BTreeSet<String> = ["ipc:", "http://ipc.localhost"]
        .into_iter()
        .map(String::from)
        .collect();
    assert!(
        connect.is_subset(&allowed),
        "{which}: connect-src allows more than the IPC: {connect:?}"
    );
    let local = ["http://ipc.localhost", "http://asset.localhost"];
    for (name, sources) in &d {
        for s in sources {
            let bad = s.contains('*')
                || s == "'unsafe-eval'"
                || s == "'wasm-unsafe-eval'"
                || (s == "'unsafe-inline'" && name != "style-src")
                || ((s.starts_with("http:") || s.starts_with("https:"))
                    && !local.contains(&s.as_str()))
                || s.starts_with("ws:")
                || s.starts_with("wss:")
                || ((s == "blob:" || s == "data:")
                    && !matches!(name.as_str(), "img-src" | "font-src"));
            assert!(!bad, "{which}: `{name}` allows {s}");
        }
    }
}

#[test]
fn the_csp_is_present_and_strict() {
    let conf = read_json("tauri.conf.json");
    let security = &conf["app"]["security"];
    check_csp(&security["csp"], "app.security.csp");
    if !security["devCsp"].is_null() {
        check_csp(&security["devCsp"], "app.security.devCsp");
    }
    assert_ne!(
        security["dangerousDisableAssetCspModification"],
        Value::Bool(true),
        "CSP modification must stay on"
    );
    assert_eq!(security["freezePrototype"], Value::Bool(true));
    assert_ne!(conf["app"]["withGlobalTauri"], Value::Bool(true));
    // No window loads a remote page; no shell plugin.
    for w in conf["app"]["windows"].as_array().expect("windows") {
        if let Some(u) = w["url"].as_str() {
            assert!(!u.starts_with("http"), "window {} loads {u}", w["label"]);
        }
    }
    assert!(conf["plugins"].get("shell").is_none(), "no shell plugin");
    let manifest = std::fs::read_to_string(repo_root().join("Cargo.toml")).expect("Cargo.toml");
    assert!(!manifest.contains("tauri-plugin-shell"), "no shell plugin");
}

/// The app's own command names, from the list `build.rs` turns into permissions.
fn app_commands() -> Vec<String> {
    let src = std::fs::read_to_string(repo_root().join("src-tauri/src/commands_list.rs"))
        .expect("commands_list.rs");
    let list = src
        .split_once("COMMANDS: &[&str] = &[")
        .and_then(|(_, rest)| rest.split_once(']'))
        .map(|(list, _)| list)
        .expect("a COMMANDS array");
    list.split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

#[test]
fn capabilities_grant_only_the_apps_commands_and_events() {
    let commands = app_commands();
    assert!(commands.len() >= 3, "{commands:?}");
    let mut allowed: BTreeSet<String> = commands
        .iter()
        .map(|c| format!("allow-{}", c.replace('_', "-")))
        .collect();
    allowed.insert("core:event:allow-listen".into());
    allowed.insert("core:event:allow-unlisten".into());
    let dir = repo_root().join("src-tauri/capabilities");
    let mut files = 0;
    for e in std::fs::read_dir(&dir).expect("capabilities dir").flatten() {
        let p = e.path();
        let name = p.display().to_string();
        assert_eq!(
            p.extension().and_then(|x| x.to_str()),
            Some("json"),
            "{name}: only JSON capability files are checked here"
        );
        files += 1;
        let cap: Value = serde_json::from_str(&std::fs::read_to_string(&p).expect("read"))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            cap.get("remote").is_none(),
            "{name}: remote URLs get no access"
        );
        assert_eq!(
            cap["windows"],
            serde_json::json!(["main"]),
            "{name}: windows"
        );
        assert!(cap.get("webviews").is_none(), "{name}: webviews");
        for perm in cap["permissions"].as_array().expect("permissions") {
            let id = perm.as_str().unwrap_or_else(|| {
                panic!("{name}: scoped permission objects are not expected: {perm}")
            });
            assert!(
                allowed.contains(id),
                "{name}: grants {id}, which is not the app's own"
            );
        }
    }
    assert_eq!(files, 1, "one capability file, for the main window");
}

// ---------------------------------------------------------------------------------------------

fn hostile_values() -> Vec<String> {
    vec![
        "</SetVar><Hangup/><SetVar name=\"x\">".into(),
        "\"/><Hangup/><PlaySound file=\"".into(),
        "' onload='x".into(),
        "a & b &amp; &lt;Hangup/&gt; &#60;Hangup/&#62;".into(),
        "<![CDATA[<Hangup/>]]>".into(),
        "]]><Hangup/>".into(),
        "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY x \"y\">]>&x;".into(),
        "ctl\u{0}\u{1}\u{8}\u{b}\u{c}\u{1b}\u{7f}\u{fffe}end".into(),
        "line\r\nbreak\ttab".into(),
        "<!-- --><Response><Hangup/></Response>".into(),
    ]
}

/// Every action with `v` wherever a value goes; variable names are `v` too unless `var` is
/// given (the rule editor only accepts plain variable names).
fn hostile_actions(var: Option<&str>) -> Vec<Vec<Action>> {
    hostile_values()
        .into_iter()
        .map(|v| {
            let name = var.map(str::to_string).unwrap_or_else(|| v.clone());
            vec![
                Action::SetVar {
                    name: name.clone(),
                    value: v.clone(),
                },
                Action::PlaySound {
                    file: v.clone(),
                    mode: Some(PlayMode::Background),
                    digitvar: Some(name),
                },
                Action::Jump {
                    context: v.clone(),
                    option: v.clone(),
                },
                Action::SetCaller {
                    name: Some(v.clone()),
                    number: Some(v.clone()),
                },
                Action::SimpleTransfer {
                    // The editor refuses spaces and commas in numbers; the rest stays hostile.
                    numbers: vec![
                        if var.is_some() {
                            v.replace([' ', ',', '\t', '\r', '\n'], "")
                        } else {
                            v.clone()
                        },
                        "101".into(),
                    ],
                    is_final: Some(true),
                    timeout: Some(20),
                    early_media: None,
                },
            ]
        })
        .collect()
}

#[test]
fn xml_values_cannot_inject_actions() {
    for actions in hostile_actions(None) {
        let xml = response_xml(&actions);
        let parsed = parse_response_xml(&xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
        assert_eq!(parsed, sanitize(&actions), "{xml}");
        assert!(
            !parsed.iter().any(|a| matches!(a, Action::Hangup)),
            "a value injected a Hangup:\n{xml}"
        );
        assert_eq!(
            parsed.len(),
            actions.len(),
            "a value added or removed an action:\n{xml}"
        );
        assert!(!xml.contains("<Hangup"), "{xml}");
        assert!(
            !xml.contains("<!ENTITY") && !xml.contains("<![CDATA["),
            "{xml}"
        );
    }
}

/// The same values set as the listener's IVR reply (where the settings accept them) come back
/// from `/ivr` as well-formed XML with exactly the configured actions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xml_values_cannot_inject_actions_through_the_listener() {
    let rig = Rig::start().await;
    let url = format!("/hooks/{}/ivr?CallID=1&CalledDID=2", rig.token);
    let mut served = 0;
    for actions in hostile_actions(Some("caller_choice")) {
        let settings = IvrSettings {
            default_actions: actions.clone(),
            ..IvrSettings::default()
        };
        if rig.listener.set_ivr_settings(settings).is_err() {
            // Refused by validation (characters XML cannot carry): nothing to inject.
            continue;
        }
        let (status, reply) = raw_request(rig.addr(), "GET", &url, b"")
            .await
            .expect("reply");
        assert_eq!(status, 200);
        let body = reply
            .split_once("\r\n\r\n")
            .map(|(_, b)| b)
            .unwrap_or_default();
        let parsed = parse_response_xml(body).unwrap_or_else(|e| panic!("{e}\n{body}"));
        assert_eq!(parsed, sanitize(&actions), "{body}");
        assert!(
            !parsed.iter().any(|a| matches!(a, Action::Hangup)),
            "{body}"
        );
        // Hand-written replies are checked by the same strict reader.
        assert!(validate_xml(body).is_ok(), "{body}");
        served += 1;
    }
    assert!(
        served >= 5,
        "most hostile values are accepted and escaped ({served})"
    );
}
