//! The seed-004 webhook sender against a small receiver in the test: hook sequences of
//! answered (parallel and sequential hunting), missed and outgoing calls with the seed's field
//! names and formats, duplicates, reordering, retries, the control routes and the journal.

use std::collections::{BTreeSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use cti_sim::journal::{Channel, Dir};
use cti_sim::webhooks::{session_id, WebhookSimConfig};
use cti_sim::world::{Direction, HuntMode, HuntOutcome, HuntPlan, MemberResponse};
use cti_sim::{Sim, SimConfig};
use serde_json::Value;

/// Records every hook it gets; answers with the queued statuses first, then 200.
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<Value>>>,
    content_types: Arc<Mutex<Vec<String>>>,
    statuses: Arc<Mutex<VecDeque<u16>>>,
}

impl Receiver {
    async fn start() -> (Receiver, SocketAddr) {
        let r = Receiver::default();
        let app = Router::new()
            .route("/hook", post(receive))
            .with_state(r.clone());
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
        (r, addr)
    }

    fn hooks(&self) -> Vec<Value> {
        self.got.lock().unwrap().clone()
    }

    fn of(&self, session: &str) -> Vec<Value> {
        self.hooks()
            .into_iter()
            .filter(|h| h["SessionID"] == session)
            .collect()
    }

    /// Wait (up to 10 s) until `session` got `n` hooks.
    async fn wait(&self, session: &str, n: usize) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let got = self.of(session);
            if got.len() >= n {
                return got;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "only {} of {n} hooks: {got:#?}",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: String) -> StatusCode {
    let ct = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    r.content_types.lock().unwrap().push(ct);
    if let Some(s) = r.statuses.lock().unwrap().pop_front() {
        return StatusCode::from_u16(s).unwrap();
    }
    r.got
        .lock()
        .unwrap()
        .push(serde_json::from_str(&body).unwrap_or(Value::String(body)));
    StatusCode::OK
}

async fn setup(cfg: WebhookSimConfig) -> (Sim, Receiver) {
    let (r, addr) = Receiver::start().await;
    let webhooks = WebhookSimConfig {
        url: Some(format!("http://{addr}/hook")),
        retry_backoff_ms: 600,
        ..cfg
    };
    let sim = Sim::start(SimConfig {
        speed: 60.0,
        webhooks,
        ..Default::default()
    })
    .await
    .unwrap();
    (sim, r)
}

fn types(hooks: &[Value]) -> Vec<String> {
    hooks
        .iter()
        .map(|h| h["HookType"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn keys(h: &Value) -> BTreeSet<String> {
    h.as_object().unwrap().keys().cloned().collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

fn is_seed_time(v: &Value) -> bool {
    let s = v.as_str().unwrap_or_default();
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").is_ok() && s.len() == 19
}

#[tokio::test]
async fn parallel_hunting_answered_call() {
    let (sim, r) = setup(WebhookSimConfig::default()).await;
    let w = sim.world();
    let call = w.create_call(
        Direction::Inbound,
        "9582412128",
        None,
        "200",
        Some("4950665310"),
    );
    let plan = HuntPlan::new(
        HuntMode::Parallel,
        [
            ("101", MemberResponse::Answer { after_ms: 3_000 }),
            ("102", MemberResponse::NoAnswer),
            ("103", MemberResponse::Busy),
        ],
        20_000,
    );
    assert!(matches!(
        w.hunt(&call.id, plan).await.unwrap(),
        HuntOutcome::Answered { .. }
    ));
    w.clock().sleep(Duration::from_secs(26)).await;
    w.hangup(&call.id, "200").unwrap();
    let s = session_id(&call.id);
    let hooks = r.wait(&s, 8).await;
    assert_eq!(
        types(&hooks),
        [
            "CreateIncCall",
            "AttemptIncCallBegin",
            "AttemptIncCallBegin",
            "AttemptIncCallBegin",
            "AttemptIncCallEnd",
            "ChangeIncCall",
            "AttemptIncCallEnd",
            "EndIncCall"
        ]
    );
    // Field names exactly as the seed's schemas.
    let base = ["SessionID", "HookType", "CityNumber", "Caller", "Called"];
    let with = |extra: &[&str]| set(&[&base[..], extra].concat());
    assert_eq!(keys(&hooks[0]), with(&["StartTime"]));
    assert_eq!(keys(&hooks[1]), with(&["StartTime"]));
    assert_eq!(keys(&hooks[4]), with(&["StartTime", "EndTime"]));
    assert_eq!(keys(&hooks[5]), with(&["StartDuration"]));
    assert_eq!(
        keys(&hooks[7]),
        with(&["StartTime", "EndTime", "Duration", "ResultCode"])
    );
    // Values.
    assert_eq!(hooks[0]["SessionID"].as_str().unwrap().len(), 36);
    assert_eq!(hooks[0]["CityNumber"], "4950665310");
    assert_eq!(hooks[0]["Caller"], "9582412128");
    let rung: BTreeSet<&str> = hooks[1..4]
        .iter()
        .map(|h| h["Called"].as_str().unwrap())
        .collect();
    assert_eq!(rung, ["101", "102", "103"].into_iter().collect());
    assert_eq!(hooks[4]["Called"], "103", "busy at once");
    assert_eq!(hooks[5]["Called"], "101");
    assert_eq!(
        hooks[6]["Called"], "102",
        "stopped ringing when 101 answered"
    );
    let end = &hooks[7];
    assert_eq!(end["Called"], "101");
    assert_eq!(end["ResultCode"], "200");
    let talk = end["Duration"].as_i64().unwrap();
    assert!((25..=27).contains(&talk), "{talk}");
    for h in &hooks {
        for k in ["StartTime", "StartDuration", "EndTime"] {
            if let Some(v) = h.get(k) {
                assert!(is_seed_time(v), "{k} = {v}");
            }
        }
    }
    // Moscow wall clock: the same instant as the World's.
    let start = chrono::NaiveDateTime::parse_from_str(
        hooks[0]["StartTime"].as_str().unwrap(),
        "%Y-%m-%d %H:%M:%S",
    )
    .unwrap();
    let utc = start - chrono::Duration::hours(3);
    assert!((utc.and_utc().timestamp_millis() - call.created_ms).abs() < 1_000);
    assert!(r
        .content_types
        .lock()
        .unwrap()
        .iter()
        .all(|c| c == "application/json"));
    // Journal: every delivery out, every reply in.
    let out = sim.journal().find(Channel::Webhook, Dir::Out, "POST");
    let replies = sim.journal().find(Channel::Webhook, Dir::In, "200");
    assert_eq!((out.len(), replies.len()), (8, 8));
    assert!(out[0].what.starts_with("CreateIncCall POST"));
    assert!(out[0].body.contains("\"HookType\":\"CreateIncCall\""));
    sim.shutdown();
}

#[tokio::test]
async fn sequential_hunting_sends_one_attempt_after_another() {
    let (sim, r) = setup(WebhookSimConfig::default()).await;
    let w = sim.world();
    let call = w.create_call(Direction::Inbound, "1", None, "201", None);
    let plan = HuntPlan::new(
        HuntMode::Sequential,
        [
            ("104", MemberResponse::NoAnswer),
            ("105", MemberResponse::Answer { after_ms: 1_000 }),
        ],
        5_000,
    );
    assert!(matches!(
        w.hunt(&call.id, plan).await.unwrap(),
        HuntOutcome::Answered { .. }
    ));
    w.hangup(&call.id, "200").unwrap();
    let hooks = r.wait(&session_id(&call.id), 6).await;
    assert_eq!(
        types(&hooks),
        [
            "CreateIncCall",
            "AttemptIncCallBegin",
            "AttemptIncCallEnd",
            "AttemptIncCallBegin",
            "ChangeIncCall",
            "EndIncCall"
        ]
    );
    assert_eq!(
        (&hooks[1]["Called"], &hooks[3]["Called"]),
        (&Value::from("104"), &Value::from("105"))
    );
    // Without a DID, the configured multi-line number.
    assert_eq!(
        hooks[0]["CityNumber"],
        WebhookSimConfig::default().city_number
    );
    sim.shutdown();
}

#[tokio::test]
async fn missed_and_outgoing_calls() {
    let cfg = WebhookSimConfig {
        omit_start_time_in_end_hooks: true,
        time_zone: "UTC".into(),
        ..Default::default()
    };
    let (sim, r) = setup(cfg).await;
    let w = sim.world();
    let missed = w.create_call(
        Direction::Inbound,
        "9582412128",
        None,
        "200",
        Some("4950665310"),
    );
    let plan = HuntPlan::new(
        HuntMode::Parallel,
        [("101", MemberResponse::NoAnswer)],
        5_000,
    );
    assert_eq!(
        w.hunt(&missed.id, plan).await.unwrap(),
        HuntOutcome::Unanswered { code: "304".into() }
    );
    let hooks = r.wait(&session_id(&missed.id), 4).await;
    assert_eq!(
        types(&hooks),
        [
            "CreateIncCall",
            "AttemptIncCallBegin",
            "AttemptIncCallEnd",
            "MissedIncCall"
        ]
    );
    let m = &hooks[3];
    // Shaped like the seed's example: no StartTime.
    assert_eq!(
        keys(m),
        set(&[
            "SessionID",
            "HookType",
            "EndTime",
            "CityNumber",
            "Caller",
            "Called",
            "Duration",
            "ResultCode"
        ])
    );
    assert_eq!(
        (&m["Duration"], &m["ResultCode"], &m["Called"]),
        (&Value::from(0), &Value::from("304"), &Value::from("200"))
    );
    assert!(!keys(&hooks[2]).contains("StartTime"));
    // UTC timestamps.
    let end =
        chrono::NaiveDateTime::parse_from_str(m["EndTime"].as_str().unwrap(), "%Y-%m-%d %H:%M:%S")
            .unwrap();
    let ended_ms = w.call(&missed.id).unwrap().ended_ms.unwrap();
    assert!((end.and_utc().timestamp_millis() - ended_ms).abs() < 1_000);

    let out = w.create_call(Direction::Outbound, "101", None, "74951234567", None);
    let leg = w.ring(&out.id, "74951234567").unwrap();
    w.end_leg(&out.id, &leg, "486").unwrap();
    w.hangup(&out.id, "486").unwrap();
    let hooks = r.wait(&session_id(&out.id), 2).await;
    assert_eq!(types(&hooks), ["CreateOutCall", "EndOutCall"]);
    assert_eq!(
        keys(&hooks[0]),
        set(&[
            "SessionID",
            "HookType",
            "StartTime",
            "CityNumber",
            "Caller",
            "Called"
        ])
    );
    let e = &hooks[1];
    // The outgoing end keeps StartTime (the option is about the seed's inbound examples).
    assert_eq!(
        keys(e),
        set(&[
            "SessionID",
            "HookType",
            "StartTime",
            "EndTime",
            "Duration",
            "ResultCode",
            "CityNumber",
            "Caller",
            "Called"
        ])
    );
    assert_eq!(
        (&e["Caller"], &e["Called"], &e["ResultCode"], &e["Duration"]),
        (
            &Value::from("101"),
            &Value::from("74951234567"),
            &Value::from("486"),
            &Value::from(0)
        )
    );
    // Internal calls give no hooks.
    let internal = w.create_call(Direction::Internal, "101", None, "102", None);
    w.hangup(&internal.id, "200").unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(r.of(&session_id(&internal.id)).is_empty());
    sim.shutdown();
}

#[tokio::test]
async fn duplicates_from_the_config_and_the_fault() {
    let (sim, r) = setup(WebhookSimConfig {
        duplicates: 1,
        ..Default::default()
    })
    .await;
    let w = sim.world();
    let call = w.create_call(Direction::Inbound, "1", None, "101", None);
    let hooks = r.wait(&session_id(&call.id), 2).await;
    assert_eq!(types(&hooks), ["CreateIncCall", "CreateIncCall"]);
    assert_eq!(hooks[0], hooks[1], "identical copies");
    sim.faults().set_webhook_duplicates(2);
    w.ring(&call.id, "101").unwrap();
    let hooks = r.wait(&session_id(&call.id), 6).await;
    assert_eq!(types(&hooks[2..]), ["AttemptIncCallBegin"; 4]);
    sim.shutdown();
}

#[tokio::test]
async fn reordering_sends_each_calls_hooks_newest_first() {
    let (sim, r) = setup(WebhookSimConfig::default()).await;
    sim.faults().set_webhook_reorder(true);
    let w = sim.world();
    let call = w.create_call(Direction::Inbound, "1", None, "101", None);
    let leg = w.ring(&call.id, "101").unwrap();
    w.answer(&call.id, &leg).unwrap();
    // Nothing is sent before the call ends.
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(r.of(&session_id(&call.id)).is_empty());
    w.hangup(&call.id, "200").unwrap();
    let hooks = r.wait(&session_id(&call.id), 4).await;
    assert_eq!(
        types(&hooks),
        [
            "EndIncCall",
            "ChangeIncCall",
            "AttemptIncCallBegin",
            "CreateIncCall"
        ]
    );
    // Switched off mid-call: what was held goes first (newest first), then in order again.
    let call = w.create_call(Direction::Inbound, "2", None, "101", None);
    w.ring(&call.id, "101").unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    sim.faults().set_webhook_reorder(false);
    w.hangup(&call.id, "603-S").unwrap();
    let hooks = r.wait(&session_id(&call.id), 4).await;
    let t = types(&hooks);
    assert_eq!(&t[2..], ["AttemptIncCallEnd", "MissedIncCall"]);
    assert_eq!(
        t[..2].iter().collect::<BTreeSet<_>>(),
        [
            "AttemptIncCallBegin".to_string(),
            "CreateIncCall".to_string()
        ]
        .iter()
        .collect()
    );
    sim.shutdown();
}

#[tokio::test]
async fn non_2xx_replies_are_retried_with_backoff_in_order() {
    let (sim, r) = setup(WebhookSimConfig {
        max_attempts: 3,
        ..Default::default()
    })
    .await;
    r.statuses.lock().unwrap().extend([500, 503]);
    let w = sim.world();
    let call = w.create_call(Direction::Inbound, "1", None, "101", None);
    w.ring(&call.id, "101").unwrap();
    let hooks = r.wait(&session_id(&call.id), 2).await;
    assert_eq!(
        types(&hooks),
        ["CreateIncCall", "AttemptIncCallBegin"],
        "order kept across retries"
    );
    let attempts = sim
        .journal()
        .find(Channel::Webhook, Dir::Out, "CreateIncCall POST");
    let labels: Vec<&str> = attempts
        .iter()
        .map(|e| e.what.rsplit(' ').next().unwrap())
        .collect();
    assert_eq!(labels, ["1", "2", "3"]);
    assert_eq!(
        sim.journal().find(Channel::Webhook, Dir::In, "500").len(),
        1
    );
    assert_eq!(
        sim.journal().find(Channel::Webhook, Dir::In, "503").len(),
        1
    );

    // Exhausted: given up after max_attempts, the next hook still goes.
    r.statuses.lock().unwrap().extend([500, 500, 500]);
    w.hangup(&call.id, "603-S").unwrap();
    let hooks = r.wait(&session_id(&call.id), 3).await;
    assert_eq!(
        types(&hooks)[2],
        "MissedIncCall",
        "AttemptIncCallEnd was dropped after 3 attempts"
    );
    assert_eq!(
        sim.journal()
            .find(Channel::Webhook, Dir::Out, "AttemptIncCallEnd POST")
            .len(),
        3
    );
    sim.shutdown();
}

#[tokio::test]
async fn unreachable_receiver_is_retried_and_journalled() {
    // A socket bound but never listening: connections to its port are refused, and nothing
    // else (another test's server) can take the port meanwhile, as it could a dropped listener's.
    let closed = tokio::net::TcpSocket::new_v4().unwrap();
    closed.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let port = closed.local_addr().unwrap().port();
    let webhooks = WebhookSimConfig {
        url: Some(format!("http://127.0.0.1:{port}/hook")),
        max_attempts: 2,
        retry_backoff_ms: 60,
        ..Default::default()
    };
    let sim = Sim::start(SimConfig {
        speed: 60.0,
        webhooks,
        ..Default::default()
    })
    .await
    .unwrap();
    sim.world()
        .create_call(Direction::Inbound, "1", None, "101", None);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while sim
        .journal()
        .find(Channel::Webhook, Dir::In, "error CreateIncCall")
        .len()
        < 2
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "two failed deliveries expected; journal: {:?}",
            sim.journal().find(Channel::Webhook, Dir::In, "")
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        sim.journal()
            .find(Channel::Webhook, Dir::Out, "CreateIncCall")
            .len(),
        2
    );
    drop(closed);
    sim.shutdown();
}

#[tokio::test]
async fn control_routes_send_raw_bodies_and_show_the_config() {
    let (sim, r) = setup(WebhookSimConfig::default()).await;
    let client = reqwest::Client::new();
    let truncated = "{\n  \"SessionID\": \"4045859e\",\n  \"HookType\": \"AttemptIncCallEnd\"\n";
    let reply: Value = client
        .post(format!("{}/sim/webhooks/send", sim.base_url()))
        .body(truncated)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(reply["delivered"], true);
    assert_eq!(reply["attempts"], 1);
    assert_eq!(r.hooks(), vec![Value::String(truncated.into())]);
    let cfg: Value = client
        .get(format!("{}/sim/webhooks/config", sim.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(cfg["time_zone"], "Europe/Moscow");
    assert_eq!(cfg["max_attempts"], 3);

    // Without a URL the sender is off and the route says so.
    let idle = Sim::start(SimConfig::default()).await.unwrap();
    idle.world()
        .create_call(Direction::Inbound, "1", None, "101", None);
    let resp = client
        .post(format!("{}/sim/webhooks/send", idle.base_url()))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 409);
    assert!(idle
        .journal()
        .find(Channel::Webhook, Dir::Out, "")
        .is_empty());
    idle.shutdown();
    sim.shutdown();
}
