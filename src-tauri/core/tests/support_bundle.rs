//! The support bundle: one archive with logs, redacted configuration, system information,
//! WebSocket frames, listener requests and a manifest — and no secret anywhere inside.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use cti_core::config::{self, Config};
use cti_core::support::{
    write_bundle, BundleInputs, BundleLimits, ManifestEntry, SelfTestItem, SelfTestReport,
    SupportError,
};
use cti_core::Coded;
use serde_json::{json, Value};

const ERA_TOKEN: &str = "era-SECRET-token-7f3a9";
/// With a space, a slash and a plus: its URL-encoded forms differ from the raw one.
const TELPHIN_SECRET: &str = "telphin client/SECRET+55e1";
const LISTENER_TOKEN: &str = "LsTnRSecretPathToken0123456789";
/// Known only to the caller (kept in the keyring), passed with `with_secret`.
const KEYRING_ONLY: &str = "kept-in-keyring-only-9911";
/// Never configured anywhere: caught by the `password:` pattern.
const PASSWORD: &str = "hunter2-pw-xyz";
/// A bearer token the platform handed out (not in any config).
const ACCESS_TOKEN: &str = "oauthACCESS.tok3n.value";

/// Every secret in every form it may take in a file.
fn forbidden() -> Vec<String> {
    let mut all = Vec::new();
    for s in [
        ERA_TOKEN,
        TELPHIN_SECRET,
        LISTENER_TOKEN,
        KEYRING_ONLY,
        PASSWORD,
        ACCESS_TOKEN,
    ] {
        all.push(s.to_string());
        let form: String = url::form_urlencoded::byte_serialize(s.as_bytes()).collect();
        all.push(form.clone());
        all.push(form.replace('+', "%20"));
    }
    // Distinctive fragments, so a partial leak is caught too.
    all.extend(
        [
            "SECRET+55e1",
            "SECRET%2B55e1",
            "SECRET-token",
            "in-keyring-only",
            "hunter2",
            "tok3n",
        ]
        .map(String::from),
    );
    all
}

fn secret_config() -> Config {
    let mut c = Config::default();
    c.era.enabled = true;
    c.era.url = "ws://127.0.0.1:9".into();
    c.era.extension = "101".into();
    c.era.token = ERA_TOKEN.into();
    c.telphin.enabled = true;
    c.telphin.client_id = "demo-client".into();
    c.telphin.client_secret = TELPHIN_SECRET.into();
    c.telphin.extension_ids = vec!["34414".into()];
    c.listener.token = LISTENER_TOKEN.into();
    c.listener.port = 9123;
    c
}

fn encoded(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn write_logs(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let recent = [
        "2025-01-01T10:00:00Z INFO era: connecting url=ws://127.0.0.1:9/ws/user/v1/era-SECRET-token-7f3a9".to_string(),
        format!(
            "2025-01-01T10:00:01Z DEBUG telphin: POST /oauth/token body=grant_type=client_credentials&client_id=demo-client&client_secret={}",
            encoded(TELPHIN_SECRET)
        ),
        format!("2025-01-01T10:00:02Z DEBUG telphin: raw secret in a message: {TELPHIN_SECRET}"),
        format!("2025-01-01T10:00:03Z INFO hooks: listener urls calls=http://127.0.0.1:9123/hooks/{LISTENER_TOKEN}/calls"),
        format!("2025-01-01T10:00:04Z DEBUG secrets: read {KEYRING_ONLY} from the keyring"),
        format!("2025-01-01T10:00:05Z WARN ui: login password: {PASSWORD} rejected"),
        format!("2025-01-01T10:00:06Z DEBUG telphin: Authorization: Bearer {ACCESS_TOKEN}"),
        format!("2025-01-01T10:00:07Z DEBUG telphin: reply {{\"access_token\":\"{ACCESS_TOKEN}\",\"expires_in\":3600}}"),
        "2025-01-01T10:00:08Z INFO engine: call 101 -> 102 answered".to_string(),
    ];
    std::fs::write(
        dir.join("cti-panel.log.2025-01-01"),
        recent.join("\n") + "\n",
    )
    .unwrap();
    // An older, big log: only its end goes in, starting at a whole line.
    let mut big = String::new();
    for i in 0..400 {
        big.push_str(&format!(
            "2024-12-31T09:00:{:02}Z INFO filler line {i:04} era token={ERA_TOKEN}\n",
            i % 60
        ));
    }
    big.push_str("2024-12-31T23:59:59Z INFO last line of the big log\n");
    std::fs::write(dir.join("cti-panel.log.2024-12-31"), &big).unwrap();
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(86_400);
    std::fs::File::options()
        .write(true)
        .open(dir.join("cti-panel.log.2024-12-31"))
        .unwrap()
        .set_modified(old)
        .unwrap();
    // Never taken, whatever it holds.
    std::fs::write(
        dir.join("secrets.toml"),
        format!("era.token = \"{ERA_TOKEN}\"\n"),
    )
    .unwrap();
}

fn frames() -> Vec<Value> {
    vec![
        json!({"dir": "out", "text": format!("[\"auth\",{{\"qid\":1,\"token\":\"{ERA_TOKEN}\"}}]")}),
        json!({"dir": "in", "text": "[\"callevents\",{\"event\":\"dlg_start\",\"from\":\"79001234567\",\"to\":\"101\"}]"}),
        json!({"dir": "in", "text": "[\"connection_info\",{\"domain\":\"demo.era\"}]", "token": ERA_TOKEN}),
    ]
}

fn requests() -> Vec<Value> {
    vec![
        json!({
            "method": "POST", "path": "/hooks/***/telphin",
            "body": format!("EventType=dial-in&CallerIDNum=79001234567&client_secret={}", encoded(TELPHIN_SECRET)),
            "status": 200, "reply_body": "ok",
        }),
        json!({
            "method": "GET", "path": format!("/hooks/{LISTENER_TOKEN}/ivr"), "query": "CallID=abc",
            "headers": {"Authorization": format!("Bearer {ACCESS_TOKEN}")},
            "status": 200, "reply_body": "<Response><Hangup/></Response>",
        }),
    ]
}

/// The archive's files: path below the top directory → content.
fn unpack(path: &Path) -> (String, BTreeMap<String, Vec<u8>>) {
    let f = std::fs::File::open(path).unwrap();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(f));
    let mut top = None;
    let mut files = BTreeMap::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().to_string_lossy().into_owned();
        let (dir, rest) = name
            .split_once('/')
            .expect("every file is in the top directory");
        match &top {
            None => top = Some(dir.to_string()),
            Some(t) => assert_eq!(t, dir, "one top directory"),
        }
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        assert!(
            files.insert(rest.to_string(), bytes).is_none(),
            "{rest} twice"
        );
    }
    (top.unwrap_or_default(), files)
}

fn text(files: &BTreeMap<String, Vec<u8>>, name: &str) -> String {
    String::from_utf8(
        files
            .get(name)
            .unwrap_or_else(|| panic!("{name} missing: {:?}", files.keys()))
            .clone(),
    )
    .unwrap()
}

fn json_of(files: &BTreeMap<String, Vec<u8>>, name: &str) -> Value {
    serde_json::from_str(&text(files, name)).unwrap()
}

fn assert_no_secrets(files: &BTreeMap<String, Vec<u8>>) {
    for (name, bytes) in files {
        let content = String::from_utf8_lossy(bytes);
        for s in forbidden() {
            assert!(
                !content.contains(&s),
                "secret {s:?} found in {name}:\n{content}"
            );
        }
    }
}

fn full_inputs(logs: &Path) -> BundleInputs {
    let report = SelfTestReport {
        items: vec![
            SelfTestItem::pass("Era platform", "connected to ws://127.0.0.1:9, signed in"),
            SelfTestItem::fail(
                "Webhook listener",
                "cannot listen on 127.0.0.1:9123: in use",
            ),
        ],
    };
    BundleInputs::new("1.2.3", secret_config())
        .with_log_dir(logs)
        .with_ws_frames(frames())
        .with_listener_requests(requests())
        .with_self_test(&report)
        .with_extra(
            "engine state",
            json!({"calls": 1, "note": format!("secret={KEYRING_ONLY}")}),
        )
        .with_secret(KEYRING_ONLY)
}

#[test]
fn a_bundle_holds_everything_but_the_secrets() {
    let d = tempfile::tempdir().unwrap();
    let logs = d.path().join("logs");
    write_logs(&logs);
    let out = d.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let mut inputs = full_inputs(&logs);
    inputs.limits = BundleLimits {
        log_file_bytes: 4_000,
        ..BundleLimits::default()
    };

    let path = write_bundle(&out, inputs).unwrap();
    assert_eq!(path.parent(), Some(out.as_path()));
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with("cti-panel-support-") && name.ends_with(".tar.gz"),
        "{name}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the bundle is readable by its owner only");
    }
    let leftovers: Vec<_> = std::fs::read_dir(&out).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "no temporary file is left");

    let (top, files) = unpack(&path);
    assert_eq!(format!("{top}.tar.gz"), name);
    let names: Vec<&str> = files.keys().map(String::as_str).collect();
    for want in [
        "manifest.json",
        "system.json",
        "config.toml",
        "era-frames.json",
        "listener-requests.json",
        "extra/self-test.json",
        "extra/engine_state.json",
        "logs/cti-panel.log.2025-01-01",
        "logs/cti-panel.log.2024-12-31",
    ] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    assert!(!names.iter().any(|n| n.contains("secrets")), "{names:?}");

    // The heart of it: no secret in any file, in any encoding.
    assert_no_secrets(&files);

    // The manifest lists every other file with its size.
    let manifest = json_of(&files, "manifest.json");
    assert_eq!(manifest["app_version"], "1.2.3");
    let listed: Vec<ManifestEntry> = serde_json::from_value(manifest["files"].clone()).unwrap();
    assert_eq!(listed.len(), files.len() - 1);
    for e in &listed {
        assert_eq!(files[&e.path].len() as u64, e.bytes, "{}", e.path);
        assert!(!e.description.is_empty());
    }
    assert!(
        manifest["redaction"]["replacements"].as_u64().unwrap() >= 10,
        "{manifest}"
    );
    assert_eq!(manifest["redaction"]["known_secret_values"], 4);
    let notes = manifest["notes"].to_string();
    assert!(notes.contains("cti-panel.log.2024-12-31 cut"), "{notes}");

    // The configuration is the effective one, readable, secrets gone but settings kept.
    let config: toml::Table = toml::from_str(&text(&files, "config.toml")).unwrap();
    assert_eq!(config["era"]["url"].as_str(), Some("ws://127.0.0.1:9"));
    assert_eq!(config["era"]["extension"].as_str(), Some("101"));
    assert!(config["era"].get("token").is_none());
    assert_eq!(config["telphin"]["client_id"].as_str(), Some("demo-client"));
    assert!(config["telphin"].get("client_secret").is_none());
    assert_eq!(config["listener"]["port"].as_integer(), Some(9123));
    assert_eq!(config["ui"]["language"].as_str(), Some("auto"));

    // Platform data stays useful.
    let frames = json_of(&files, "era-frames.json");
    assert_eq!(frames.as_array().unwrap().len(), 3);
    assert!(frames[1]["text"].as_str().unwrap().contains("79001234567"));
    assert_eq!(frames[2]["token"], "***");
    let requests = json_of(&files, "listener-requests.json");
    assert_eq!(requests.as_array().unwrap().len(), 2);
    assert!(requests[0]["body"]
        .as_str()
        .unwrap()
        .contains("CallerIDNum=79001234567"));
    assert_eq!(requests[1]["path"], "/hooks/***/ivr");
    assert_eq!(requests[1]["query"], "CallID=abc");
    let report = json_of(&files, "extra/self-test.json");
    assert_eq!(report["items"][1]["ok"], false);

    let system = json_of(&files, "system.json");
    assert_eq!(system["app_version"], "1.2.3");
    assert_eq!(system["os"], std::env::consts::OS);
    assert_eq!(system["arch"], std::env::consts::ARCH);

    let recent = text(&files, "logs/cti-panel.log.2025-01-01");
    assert!(recent.contains("call 101 -> 102 answered"), "{recent}");
    assert!(recent.contains("/ws/user/v1/***"), "{recent}");
    assert!(recent.contains("/hooks/***/calls"), "{recent}");
    let big = text(&files, "logs/cti-panel.log.2024-12-31");
    assert!(big.len() <= 4_000);
    assert!(
        big.starts_with("2024-12-31T"),
        "starts at a whole line: {:?}",
        &big[..40]
    );
    assert!(big.ends_with("last line of the big log\n"));
    assert!(big.contains("filler line 0399 era token=***"));
}

#[test]
fn an_explicit_file_name_is_used_and_folders_are_made() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("a/b/ticket-4711.tar.gz");
    let path = write_bundle(&out, BundleInputs::new("0.1.0", secret_config())).unwrap();
    assert_eq!(path, out);
    let (top, files) = unpack(&path);
    assert_eq!(top, "ticket-4711");
    assert_no_secrets(&files);
    let manifest = json_of(&files, "manifest.json");
    assert!(
        manifest["notes"].to_string().contains("no log directory"),
        "{manifest}"
    );
    // Nothing given: empty lists, still valid JSON.
    assert_eq!(json_of(&files, "era-frames.json"), json!([]));
    assert_eq!(json_of(&files, "listener-requests.json"), json!([]));
}

#[test]
fn only_the_last_frames_and_requests_go_in() {
    let d = tempfile::tempdir().unwrap();
    let mut inputs = BundleInputs::new("0.1.0", Config::default())
        .with_log_dir(d.path().join("no-such-dir"))
        .with_ws_frames((0..10).map(|i| json!({ "n": i })).collect())
        .with_listener_requests((0..4).map(|i| json!({ "n": i })).collect());
    inputs.limits.ws_frames = 3;
    inputs.limits.listener_requests = 2;
    let path = write_bundle(&d.path().join("b.tar.gz"), inputs).unwrap();
    let (_, files) = unpack(&path);
    assert_eq!(
        json_of(&files, "era-frames.json"),
        json!([{"n": 7}, {"n": 8}, {"n": 9}])
    );
    assert_eq!(
        json_of(&files, "listener-requests.json"),
        json!([{"n": 2}, {"n": 3}])
    );
    let notes = json_of(&files, "manifest.json")["notes"].to_string();
    assert!(
        notes.contains("7 older WebSocket frames left out"),
        "{notes}"
    );
    assert!(
        notes.contains("2 older listener requests left out"),
        "{notes}"
    );
    assert!(notes.contains("does not exist"), "{notes}");
}

#[test]
fn secrets_from_a_user_file_and_the_config_sources_are_handled() {
    let d = tempfile::tempdir().unwrap();
    let prov = d.path().join("provisioning.toml");
    std::fs::write(
        &prov,
        "locked = [\"ui.language\", \"era.url\"]\n[ui]\nlanguage = \"ru\"\n[era]\nurl = \"wss://era.example\"\n",
    )
    .unwrap();
    // A user file may carry a secret by hand; it must not leak through the bundle.
    let user = d.path().join("user.toml");
    std::fs::write(
        &user,
        format!("[era]\nenabled = true\ntoken = \"{ERA_TOKEN}\"\n[ui]\nlanguage = \"en\"\n"),
    )
    .unwrap();
    let loaded = config::load_from(&prov, user.clone(), &[]).unwrap();
    assert_eq!(loaded.config.era.token, ERA_TOKEN);

    let path = write_bundle(
        &d.path().join("b.tar.gz"),
        BundleInputs::from_loaded("0.1.0", &loaded).with_log_dir(d.path()),
    )
    .unwrap();
    let (_, files) = unpack(&path);
    assert_no_secrets(&files);
    // The user file sat in the "log dir" here: it went in redacted.
    assert!(text(&files, "logs/user.toml").contains("token = \"***\""));
    let sources = json_of(&files, "config-sources.json");
    assert_eq!(sources["locked"], json!(["era.url", "ui.language"]));
    assert_eq!(sources["provisioning_file"], prov.display().to_string());
    assert_eq!(sources["user_file"], user.display().to_string());
    assert!(
        sources["warnings"].to_string().contains("ui.language"),
        "{sources}"
    );
    let config: toml::Table = toml::from_str(&text(&files, "config.toml")).unwrap();
    assert_eq!(
        config["ui"]["language"].as_str(),
        Some("ru"),
        "locked value wins"
    );
    assert_eq!(config["era"]["url"].as_str(), Some("wss://era.example"));
}

#[test]
fn an_unwritable_place_is_a_storage_error() {
    let d = tempfile::tempdir().unwrap();
    let blocker = d.path().join("file");
    std::fs::write(&blocker, "x").unwrap();
    let out: PathBuf = blocker.join("sub/b.tar.gz");
    let e = write_bundle(&out, BundleInputs::new("0.1.0", Config::default())).unwrap_err();
    assert!(matches!(e, SupportError::Write { .. }), "{e:?}");
    assert_eq!(e.code(), cti_core::Code::Storage);
    assert!(e.to_string().contains("b.tar.gz"), "{e}");
}
