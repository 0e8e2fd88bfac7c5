//! The self-test against the simulator over loopback: platforms reached and signed in to,
//! the listener bound, secret storage checked, and every failure said in plain words.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use cti_core::config::Config;
use cti_core::era::EraConfig;
use cti_core::hooks::{generate_token, Listener, ListenerConfig};
use cti_core::model::CallEvent;
use cti_core::secrets::{SecretStore, ERA_TOKEN, TELPHIN_CLIENT_SECRET};
use cti_core::sink::{Accepted, EventSink, RawRecord, RejectedRequest, SinkError};
use cti_core::support::{self_test, ListenerCheck, SelfTestItem, SelfTestOptions, SelfTestReport};
use cti_core::telphin::TelphinConfig;
use cti_sim::{Sim, SimConfig};

async fn sim() -> Sim {
    Sim::start(SimConfig::default())
        .await
        .expect("simulator starts")
}

/// Both platforms of the simulator with the right credentials, the listener on a free port,
/// secrets in a file.
fn config(sim: &Sim) -> Config {
    let mut c = Config {
        era: EraConfig::for_server(sim.base_url(), "101", "era-user-101"),
        telphin: TelphinConfig::for_server(sim.base_url(), "demo-client", "demo-secret", "34414"),
        ..Config::default()
    };
    c.listener.port = 0;
    c.secrets.backend = "file".into();
    c
}

fn options(dir: &Path) -> SelfTestOptions {
    SelfTestOptions {
        secrets_file: Some(dir.join("secrets.toml")),
        timeout: Duration::from_secs(8),
        ..SelfTestOptions::default()
    }
}

fn item<'a>(report: &'a SelfTestReport, name: &str) -> &'a SelfTestItem {
    report
        .items
        .iter()
        .find(|i| i.name == name)
        .unwrap_or_else(|| panic!("no {name} item in {report:?}"))
}

#[tokio::test]
async fn everything_passes_against_the_simulator() {
    let sim = sim().await;
    let d = tempfile::tempdir().unwrap();
    let mut opts = options(d.path());
    opts.extra.push(SelfTestItem::pass(
        "Desktop notifications",
        "a notification server answers",
    ));

    let report = self_test(&config(&sim), opts).await;
    assert!(report.all_ok(), "{}", report.to_text());
    let names: Vec<&str> = report.items.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Secret storage",
            "Era platform",
            "Telphin platform",
            "Webhook listener",
            "Desktop notifications"
        ]
    );
    let era = item(&report, "Era platform");
    assert!(
        era.detail.contains("connected to ws://127.0.0.1:"),
        "{era:?}"
    );
    assert!(era.detail.contains("subscribed"), "{era:?}");
    let telphin = item(&report, "Telphin platform");
    assert!(
        telphin.detail.contains("signed in to http://127.0.0.1:"),
        "{telphin:?}"
    );
    assert!(
        telphin.detail.contains("extension 34414 is 022*101"),
        "{telphin:?}"
    );
    let listener = item(&report, "Webhook listener");
    assert!(
        listener.detail.contains("listening on 127.0.0.1:"),
        "{listener:?}"
    );
    assert!(listener.detail.contains("HTTP 200"), "{listener:?}");
    let secrets = item(&report, "Secret storage");
    assert!(secrets.detail.contains("secrets.toml"), "{secrets:?}");

    let text = report.to_text();
    assert_eq!(text.lines().count(), 6, "{text}");
    assert!(text.ends_with("self-test: all 5 checks passed\n"), "{text}");
    // The OAuth token was really asked for, and the WebSocket opened.
    assert!(!sim
        .journal()
        .find(
            cti_sim::Channel::TelphinRest,
            cti_sim::Dir::In,
            "/oauth/token"
        )
        .is_empty());
    sim.shutdown();
}

#[tokio::test]
async fn wrong_credentials_are_reported_per_platform() {
    let sim = sim().await;
    let d = tempfile::tempdir().unwrap();
    let mut c = config(&sim);
    c.era.token = "era-user-999-wrong".into();
    c.telphin.client_secret = "wrong-secret".into();

    let report = self_test(&c, options(d.path())).await;
    assert!(!report.all_ok());
    let era = item(&report, "Era platform");
    assert!(!era.ok);
    assert!(
        era.detail.contains("signing in to ws://127.0.0.1:"),
        "{era:?}"
    );
    assert!(era.detail.contains("refused the token"), "{era:?}");
    let telphin = item(&report, "Telphin platform");
    assert!(!telphin.ok);
    assert!(
        telphin.detail.contains("signing in to http://127.0.0.1:"),
        "{telphin:?}"
    );
    assert!(
        telphin.detail.contains("authentication failed"),
        "{telphin:?}"
    );
    assert!(
        item(&report, "Webhook listener").ok,
        "the listener does not depend on them"
    );
    let text = report.to_text();
    assert!(text.contains("[FAIL] Era platform: "), "{text}");
    assert!(
        text.ends_with("self-test: 2 of 4 checks failed\n"),
        "{text}"
    );
    // Wrong secrets are never echoed.
    assert!(
        !text.contains("wrong-secret") && !text.contains("999-wrong"),
        "{text}"
    );
    sim.shutdown();
}

#[tokio::test]
async fn a_wrong_extension_is_named() {
    let sim = sim().await;
    let d = tempfile::tempdir().unwrap();
    let mut c = config(&sim);
    c.telphin.extension_ids = vec!["99999".into()];
    let report = self_test(&c, options(d.path())).await;
    let telphin = item(&report, "Telphin platform");
    assert!(!telphin.ok);
    assert!(telphin.detail.contains("extension is wrong"), "{telphin:?}");
    assert!(telphin.detail.contains("99999"), "{telphin:?}");
    sim.shutdown();
}

#[tokio::test]
async fn secrets_missing_from_the_config_come_from_the_store() {
    let sim = sim().await;
    let d = tempfile::tempdir().unwrap();
    let store = SecretStore::open("file", d.path().join("secrets.toml"));
    store.set(ERA_TOKEN, "era-user-101").unwrap();
    store.set(TELPHIN_CLIENT_SECRET, "demo-secret").unwrap();
    let mut c = config(&sim);
    c.era.token.clear();
    c.telphin.client_secret.clear();

    let report = self_test(&c, options(d.path())).await;
    assert!(report.all_ok(), "{}", report.to_text());

    // Without them in the store either, the check says what is missing.
    let empty = tempfile::tempdir().unwrap();
    let report = self_test(&c, options(empty.path())).await;
    let era = item(&report, "Era platform");
    assert!(
        !era.ok && era.detail.contains("token is not set"),
        "{era:?}"
    );
    let telphin = item(&report, "Telphin platform");
    assert!(
        !telphin.ok && telphin.detail.contains("secret is not set"),
        "{telphin:?}"
    );
    sim.shutdown();
}

#[tokio::test]
async fn unreachable_platforms_and_a_busy_port_fail_quickly_with_reasons() {
    let d = tempfile::tempdir().unwrap();
    // A port nobody listens on: bound but never listening, so no other test can take it.
    let closed = tokio::net::TcpSocket::new_v4().unwrap();
    closed.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    // A port somebody else holds.
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy_port = busy.local_addr().unwrap().port();

    let nowhere = format!("http://127.0.0.1:{closed_port}");
    let mut c = Config {
        era: EraConfig::for_server(&nowhere, "101", "t"),
        telphin: TelphinConfig::for_server(&nowhere, "demo-client", "demo-secret", "34414"),
        ..Config::default()
    };
    c.listener.port = busy_port;
    c.secrets.backend = "file".into();

    let started = Instant::now();
    let report = self_test(&c, options(d.path())).await;
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    let era = item(&report, "Era platform");
    assert!(
        !era.ok && era.detail.starts_with("cannot connect to ws://127.0.0.1:"),
        "{era:?}"
    );
    let telphin = item(&report, "Telphin platform");
    assert!(
        !telphin.ok && telphin.detail.starts_with("cannot reach http://127.0.0.1:"),
        "{telphin:?}"
    );
    let listener = item(&report, "Webhook listener");
    assert!(!listener.ok, "{listener:?}");
    assert!(
        listener
            .detail
            .contains(&format!("cannot listen on 127.0.0.1:{busy_port}")),
        "{listener:?}"
    );
    assert!(
        listener.detail.contains("another program uses the port"),
        "{listener:?}"
    );
    assert!(item(&report, "Secret storage").ok);
    drop(busy);
}

#[tokio::test]
async fn switched_off_parts_are_skipped_and_named_so() {
    let d = tempfile::tempdir().unwrap();
    let mut c = Config::default();
    c.listener.enabled = false;
    c.secrets.backend = "file".into();
    let report = self_test(&c, options(d.path())).await;
    assert!(report.all_ok(), "{}", report.to_text());
    for name in ["Era platform", "Telphin platform", "Webhook listener"] {
        assert!(item(&report, name).detail.contains("not enabled"), "{name}");
    }

    let only_extra = SelfTestOptions {
        era: false,
        telphin: false,
        listener: ListenerCheck::Skip,
        secrets: false,
        extra: vec![SelfTestItem::fail(
            "Desktop notifications",
            "no notification server on the session bus",
        )],
        ..options(d.path())
    };
    let report = self_test(&c, only_extra).await;
    assert_eq!(report.items.len(), 1);
    assert!(!report.all_ok(), "a failed extra item fails the self-test");
}

struct Discard;

#[async_trait]
impl EventSink for Discard {
    async fn accept(
        &self,
        _raw: RawRecord,
        _events: Vec<CallEvent>,
    ) -> Result<Accepted, SinkError> {
        Ok(Accepted::default())
    }
    async fn reject(&self, _rejected: RejectedRequest) {}
}

#[tokio::test]
async fn the_running_listener_is_asked_not_rebound() {
    let d = tempfile::tempdir().unwrap();
    let listener = Listener::start(
        ListenerConfig {
            port: 0,
            token: generate_token(),
            ..ListenerConfig::default()
        },
        Arc::new(Discard),
    )
    .await
    .unwrap();
    let addr = listener.local_addr();
    let mut c = Config::default();
    c.secrets.backend = "file".into();
    // Same port as the running listener: binding would fail, asking must not.
    c.listener.port = addr.port();
    let opts = SelfTestOptions {
        listener: ListenerCheck::Running(addr),
        ..options(d.path())
    };
    let report = self_test(&c, opts.clone()).await;
    let item_ok = item(&report, "Webhook listener").clone();
    assert!(item_ok.ok, "{item_ok:?}");
    assert!(item_ok.detail.contains(&addr.to_string()), "{item_ok:?}");

    listener.shutdown().await;
    let report = self_test(&c, opts).await;
    let gone = item(&report, "Webhook listener");
    assert!(
        !gone.ok && gone.detail.contains("does not answer"),
        "{gone:?}"
    );
}
