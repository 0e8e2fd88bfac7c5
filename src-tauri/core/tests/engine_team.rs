//! The shared callback list between two panels over real loopback listeners: a missed call
//! appears on both, a claim on one shows on the other, the outcome closes it, and an item closes
//! by itself when the number later gets through.

use std::sync::Arc;
use std::time::Duration;

use std::sync::Mutex;

use cti_core::engine::{
    CallbackItem, Engine, EngineOptions, LogNotifier, LogSink, UiEvent, UiSink,
};
use serde_json::json;

struct Panel {
    engine: Engine,
    urls: cti_core::hooks::ListenerUrls,
    _dir: tempfile::TempDir,
}

async fn panel() -> Panel {
    panel_with(Arc::new(LogSink)).await
}

async fn panel_with(ui: Arc<dyn UiSink>) -> Panel {
    let dir = tempfile::tempdir().unwrap();
    // SAFETY: set before the engines read it; every test here sets the same kind of value.
    unsafe { std::env::set_var("CTI_PANEL_PROVISIONING", dir.path().join("none.toml")) };
    let cfg = dir.path().join("config.toml");
    std::fs::write(
        &cfg,
        format!(
            "[storage]\ndata_dir = {:?}\n[secrets]\nbackend = \"file\"\n[listener]\nport = 0\n",
            dir.path().join("data").display().to_string()
        ),
    )
    .unwrap();
    let options = EngineOptions {
        config_file: Some(cfg),
        demo: false,
        overrides: Vec::new(),
    };
    let engine = Engine::start(options, ui, Arc::new(LogNotifier))
        .await
        .unwrap();
    let urls = engine.snapshot().listener_urls.unwrap();
    Panel {
        engine,
        urls,
        _dir: dir,
    }
}

async fn post(url: &str, body: serde_json::Value) {
    let r = reqwest::Client::new()
        .post(url)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{url}: {}", r.status());
}

async fn missed_call(p: &Panel, session: &str, caller: &str, time: &str) {
    post(
        &p.urls.calls,
        json!({"SessionID": session, "HookType": "CreateIncCall", "StartTime": time,
               "CityNumber": "4950665310", "Caller": caller, "Called": "4950665310"}),
    )
    .await;
    post(
        &p.urls.calls,
        json!({"SessionID": session, "HookType": "MissedIncCall", "EndTime": time,
               "CityNumber": "4950665310", "Caller": caller, "Called": "84950665310",
               "Duration": 0, "ResultCode": "304"}),
    )
    .await;
}

async fn item(p: &Panel, key: &str, mut ok: impl FnMut(&CallbackItem) -> bool) -> CallbackItem {
    for _ in 0..100 {
        if let Some(i) = p
            .engine
            .callbacks()
            .await
            .unwrap()
            .into_iter()
            .find(|i| i.key == key)
        {
            if ok(&i) {
                return i;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "callback {key} never matched: {:#?}",
        p.engine.callbacks().await.unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claims_are_shared_and_items_close() {
    let a = panel().await;
    let b = panel().await;
    a.engine
        .set_setting("team.peers", json!([b.urls.team]))
        .unwrap();
    b.engine
        .set_setting("team.peers", json!([a.urls.team]))
        .unwrap();

    for p in [&a, &b] {
        missed_call(p, "s-1", "9582412128", "2026-11-20 10:00:00").await;
        missed_call(p, "s-2", "9582412128", "2026-11-20 10:05:00").await;
        missed_call(p, "s-3", "9161230000", "2026-11-20 10:06:00").await;
    }
    let first = item(&a, "9582412128", |i| i.missed_count == 2).await;
    assert_eq!(first.closed, None);
    assert_eq!(first.claimed_by, None);

    a.engine.claim_callback("9582412128").await.unwrap();
    let seen = item(&b, "9582412128", |i| i.claimed_by.is_some()).await;
    assert_eq!(seen.claimed_by.as_deref(), Some("panel"));
    // The other panel cannot take it (its own identity is also "panel" here, so release it first
    // on A and let B claim).
    a.engine.release_callback("9582412128").await.unwrap();
    item(&b, "9582412128", |i| i.claimed_by.is_none()).await;

    b.engine
        .callback_outcome("9582412128", "called back, order placed")
        .await
        .unwrap();
    let done = item(&a, "9582412128", |i| i.closed.is_some()).await;
    assert_eq!(done.closed.as_deref(), Some("done"));
    assert_eq!(done.outcome.as_deref(), Some("called back, order placed"));

    // The other number gets through later: its item closes by itself on both panels.
    for p in [&a, &b] {
        post(
            &p.urls.calls,
            json!({"SessionID": "s-4", "HookType": "CreateIncCall", "StartTime": "2026-11-20 11:00:00",
                   "CityNumber": "4950665310", "Caller": "9161230000", "Called": "4950665310"}),
        )
        .await;
        post(
            &p.urls.calls,
            json!({"SessionID": "s-4", "HookType": "EndIncCall", "EndTime": "2026-11-20 11:02:00",
                   "CityNumber": "4950665310", "Caller": "9161230000", "Called": "101",
                   "Duration": 100, "ResultCode": "200"}),
        )
        .await;
    }
    let through = item(&b, "9161230000", |i| i.closed.is_some()).await;
    assert_eq!(through.closed.as_deref(), Some("got_through"));
    // Open items come first.
    let list = a.engine.callbacks().await.unwrap();
    assert!(list.iter().all(|i| i.closed.is_some()), "{list:#?}");

    // Bad team messages are refused with 400, never applied.
    let r = reqwest::Client::new()
        .post(&a.urls.team)
        .json(&json!({"type": "claim", "key": "<script>", "by": "x", "at_ms": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let r = reqwest::Client::new()
        .post(&a.urls.team)
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
}

/// The callback lists the UI was sent.
#[derive(Default)]
struct Lists(Mutex<Vec<Vec<CallbackItem>>>);

impl UiSink for Lists {
    fn emit(&self, event: &UiEvent) {
        if let UiEvent::Callbacks(list) = event {
            self.0.lock().unwrap().push(list.clone());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_missed_calls_refreshes_the_list_a_few_times_and_misses_none() {
    let lists = Arc::new(Lists::default());
    let p = panel_with(lists.clone()).await;
    // 30 missed calls from different numbers at once: 60 stored webhooks, each of which used
    // to rebuild and send the whole list.
    let p = Arc::new(p);
    let mut calls = Vec::new();
    for i in 0..30 {
        let p = Arc::clone(&p);
        calls.push(tokio::spawn(async move {
            missed_call(
                &p,
                &format!("burst-{i}"),
                &format!("7916555{i:04}"),
                "2026-11-22 10:00:00",
            )
            .await;
        }));
    }
    for c in calls {
        c.await.unwrap();
    }
    let mut last = Vec::new();
    for _ in 0..100 {
        last = lists.0.lock().unwrap().last().cloned().unwrap_or_default();
        if last.len() == 30 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        last.len(),
        30,
        "the last list sent to the UI has every missed number"
    );
    // Give a pending refresh time to land, then count: fewer lists than calls (60 before).
    tokio::time::sleep(Duration::from_millis(800)).await;
    let sent = lists.0.lock().unwrap().len();
    assert!(
        (1..30).contains(&sent),
        "{sent} callback lists sent for 60 stored events: refreshes are not coalesced"
    );
}
