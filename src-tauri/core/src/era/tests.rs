//! Unit tests of the protocol logic ([`super::link::drive`]) over in-memory channels.

use std::time::Duration;

use futures_util::{Sink, Stream};
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

use super::link::{drive, Exit};
use super::session::{shared_for_tests, Command, Op};
use super::*;
use crate::model::{CallEventKind, ConnectionState};

struct Harness {
    to_link: mpsc::UnboundedSender<Message>,
    from_link: mpsc::UnboundedReceiver<Message>,
    cmds: mpsc::Sender<Command>,
    events: EraEvents,
    state: watch::Receiver<ConnectionState>,
    task: JoinHandle<Exit>,
}

fn cfg() -> EraConfig {
    EraConfig {
        reconcile_on_connect: false,
        inspector_frames: false,
        objects: vec!["101".into()],
        ..EraConfig::for_server("http://127.0.0.1:1", "101", "t")
    }
}

fn pipes(
    out_tx: mpsc::UnboundedSender<Message>,
    in_rx: mpsc::UnboundedReceiver<Message>,
) -> (
    impl Sink<Message, Error = String> + Unpin,
    impl Stream<Item = Result<Message, String>> + Unpin,
) {
    let sink = Box::pin(futures_util::sink::unfold(
        out_tx,
        |tx, m: Message| async move {
            tx.send(m).map_err(|_| "closed".to_string())?;
            Ok::<_, String>(tx)
        },
    ));
    let stream = Box::pin(futures_util::stream::unfold(in_rx, |mut rx| async move {
        rx.recv().await.map(|m| (Ok(m), rx))
    }));
    (sink, stream)
}

fn harness(cfg: EraConfig) -> Harness {
    let (sh, events, state) = shared_for_tests(cfg);
    harness_with(sh, events, state)
}

fn harness_with(
    sh: super::session::Shared,
    events: EraEvents,
    state: watch::Receiver<ConnectionState>,
) -> Harness {
    let (in_tx, in_rx) = mpsc::unbounded_channel();
    let (out_tx, out_rx) = mpsc::unbounded_channel();
    let (cmd_tx, mut cmd_rx) = mpsc::channel(16);
    let task = tokio::spawn(async move {
        let mut sh = sh;
        let (sink, stream) = pipes(out_tx, in_rx);
        drive(&mut sh, &mut cmd_rx, sink, stream).await
    });
    Harness {
        to_link: in_tx,
        from_link: out_rx,
        cmds: cmd_tx,
        events,
        state,
        task,
    }
}

impl Harness {
    /// Next text frame the link sent (pings skipped).
    async fn sent(&mut self) -> Value {
        loop {
            let m = tokio::time::timeout(Duration::from_secs(5), self.from_link.recv())
                .await
                .expect("a frame within 5 s")
                .expect("link alive");
            if let Message::Text(t) = m {
                return serde_json::from_str(t.as_str()).expect("json");
            }
        }
    }

    fn push(&self, text: &str) {
        self.to_link
            .send(Message::Text(text.to_string().into()))
            .expect("link alive");
    }

    fn reply(&self, req: &Value, body: Value) {
        let mut b = body;
        b["qid"] = req[1]["qid"].clone();
        let name = format!("{}_result", req[0].as_str().expect("name"));
        self.push(&json!([name, b]).to_string());
    }

    async fn handshake(&mut self) -> Vec<Value> {
        let info = self.sent().await;
        assert_eq!(info[0], "connection_info");
        self.reply(&info, json!({"result": "ok"}));
        let mut subs = Vec::new();
        for _ in 0..3 {
            let s = self.sent().await;
            assert_eq!(s[0], "subscribe");
            self.reply(&s, json!({"result": "ok"}));
            subs.push(s);
        }
        self.state
            .wait_for(|s| matches!(s, ConnectionState::Connected { .. }))
            .await
            .expect("connected");
        subs
    }

    async fn request(
        &self,
        name: &str,
        params: Value,
        op: Op,
    ) -> oneshot::Receiver<Result<Value, EraError>> {
        let (tx, rx) = oneshot::channel();
        let params = params.as_object().cloned().unwrap_or_default();
        self.cmds
            .send(Command::Request {
                name: name.into(),
                params,
                op,
                reply: Some(tx),
            })
            .await
            .expect("cmd");
        rx
    }

    async fn event(&mut self) -> EraEvent {
        tokio::time::timeout(Duration::from_secs(5), self.events.recv())
            .await
            .expect("event within 5 s")
            .expect("open")
    }
}

#[tokio::test]
async fn handshake_subscribes_each_class_with_objects() {
    let mut h = harness(cfg());
    let subs = h.handshake().await;
    let events: Vec<&Value> = subs.iter().map(|s| &s[1]["events"][0]).collect();
    assert_eq!(events, vec!["callevents.*", "ccsevents.*", "ivrevents.*"]);
    for s in &subs {
        assert_eq!(s[1]["objects"], json!(["101"]));
        assert_eq!(s[1]["expires"], 300);
        assert!(s[1]["id"].as_str().is_some_and(|id| id.len() == 36));
    }
    let qids: std::collections::HashSet<String> =
        subs.iter().map(|s| s[1]["qid"].to_string()).collect();
    assert_eq!(qids.len(), 3, "qids are unique");
}

#[tokio::test]
async fn results_are_matched_on_name_and_qid_in_both_error_shapes() {
    let mut h = harness(cfg());
    h.handshake().await;
    let rx = h.request("test", json!({"a": 1}), Op::Plain).await;
    let req = h.sent().await;
    // Right qid, wrong name: not a match.
    h.push(&json!(["other_result", {"qid": req[1]["qid"], "result": "ok"}]).to_string());
    // Same number as a string: not the same JSON value.
    h.push(&json!(["test_result", {"qid": req[1]["qid"].to_string(), "result": "ok"}]).to_string());
    h.reply(&req, json!({"result": "ok", "echo": 1}));
    let v = rx.await.expect("reply").expect("ok");
    assert_eq!(v["echo"], 1);

    let rx = h.request("bye", json!({"idconn": "x"}), Op::Plain).await;
    let req = h.sent().await;
    h.reply(
        &req,
        json!({"result": "error", "error_code": 1404, "error_message": "gone"}),
    );
    match rx.await.expect("reply") {
        Err(EraError::Refused {
            code: Some(1404),
            message,
            ..
        }) => assert_eq!(message, "gone"),
        other => panic!("{other:?}"),
    }
    let rx = h.request("bye", json!({"idconn": "x"}), Op::Plain).await;
    let req = h.sent().await;
    h.reply(
        &req,
        json!({"error_code": 1406, "error_message": "busy", "error_details": {"field": "idconn"}}),
    );
    assert!(matches!(
        rx.await.expect("reply"),
        Err(EraError::Refused {
            code: Some(1406),
            ..
        })
    ));
}

#[tokio::test]
async fn a_request_without_an_answer_times_out_and_the_link_survives() {
    let mut h = harness(EraConfig {
        request_timeout_ms: 150,
        ..cfg()
    });
    h.handshake().await;
    let rx = h.request("test", json!({}), Op::Plain).await;
    h.sent().await;
    match rx.await.expect("reply") {
        Err(EraError::Timeout { request, ms: 150 }) => assert_eq!(request, "test"),
        other => panic!("{other:?}"),
    }
    let rx = h.request("test", json!({}), Op::Plain).await;
    let req = h.sent().await;
    h.reply(&req, json!({"result": "ok"}));
    assert!(rx.await.expect("reply").is_ok());
}

#[tokio::test]
async fn malformed_unknown_and_oversized_frames_are_dropped() {
    let mut h = harness(EraConfig {
        max_frame_bytes: 1000,
        ..cfg()
    });
    h.handshake().await;
    h.push("not json at all");
    h.push(r#"{"an":"object"}"#);
    h.push(r#"["mystery_message",{"x":1}]"#);
    h.push(r#"["notify",{"no":"class"}]"#);
    let big = format!(
        r#"["notify",{{"class":"callevents","type":"fork_start","data":{{"cid":"big","pad":"{}"}}}}]"#,
        "x".repeat(2000)
    );
    h.push(&big);
    h.push(r#"["notify",{"class":"ccsevents","type":"connection_create","eventts":5,"data":{"cid":"c1","eventid":"e1","callernum":"+7900","callednum":"101","direction":"in"}}]"#);
    match h.event().await {
        EraEvent::Call { event } => {
            assert_eq!(event.call_id, "c1", "the oversized frame was dropped");
            assert!(matches!(event.kind, CallEventKind::Created { .. }));
        }
        other => panic!("{other:?}"),
    }
    assert!(!h.task.is_finished());
}

#[tokio::test]
async fn duplicate_notifications_are_emitted_once() {
    let mut h = harness(cfg());
    h.handshake().await;
    let ev = r#"["notify",{"class":"callevents","type":"dtmf","data":{"cid":"c1","eventid":"e9","dtmf":"5"}}]"#;
    h.push(ev);
    h.push(ev);
    h.push(r#"["notify",{"class":"callevents","type":"dtmf","data":{"cid":"c1","eventid":"e10","dtmf":"6"}}]"#);
    let mut digits = Vec::new();
    while digits.len() < 2 {
        if let EraEvent::Call { event } = h.event().await {
            if let CallEventKind::Dtmf { digits: d } = event.kind {
                digits.push(d);
            }
        }
    }
    assert_eq!(digits, vec!["5", "6"]);
}

#[tokio::test]
async fn one_component_at_a_time_is_enforced_locally() {
    let mut h = harness(cfg());
    h.handshake().await;
    h.push(r#"["notify",{"class":"ivrevents","type":"api_start","eventts":1,"data":{"key":"k1","ivrid":"rDlg-1","cid":"c1","params":"{\"a\":1}"}}]"#);
    // Frames and commands race inside the link: wait until the offer was handled.
    while !matches!(
        h.event().await,
        EraEvent::Ivr {
            event: IvrEvent::Offered { .. }
        }
    ) {}
    let rx = h
        .request(
            "ivrapi_component_apply",
            json!({"key": "k1"}),
            Op::Apply { key: "k1".into() },
        )
        .await;
    assert!(matches!(
        rx.await.expect("reply"),
        Err(EraError::NotControlled(_))
    ));
    let rx = h
        .request(
            "ivrapi_accept",
            json!({"key": "k1", "ivrid": "rDlg-1"}),
            accept_op(),
        )
        .await;
    let req = h.sent().await;
    h.reply(&req, json!({"result": "ok"}));
    assert_eq!(
        rx.await.expect("reply").expect("ok"),
        json!({"type": "accepted"})
    );
    let rx1 = h
        .request(
            "ivrapi_component_apply",
            json!({"key": "k1"}),
            Op::Apply { key: "k1".into() },
        )
        .await;
    let apply = h.sent().await;
    let rx2 = h
        .request(
            "ivrapi_component_apply",
            json!({"key": "k1"}),
            Op::Apply { key: "k1".into() },
        )
        .await;
    assert!(matches!(
        rx2.await.expect("reply"),
        Err(EraError::ComponentBusy { .. })
    ));
    h.reply(&apply, json!({"result": "ok", "oId": 3}));
    assert_eq!(rx1.await.expect("reply").expect("ok")["oId"], 3);
    h.push(r#"["ivrapi_component_stopped",{"oId":3,"transferKey":"transfer","results":{"dtmfBuffer":"78"}}]"#);
    loop {
        if let EraEvent::Ivr {
            event:
                IvrEvent::ComponentStopped {
                    key,
                    transfer_key,
                    results,
                    ..
                },
        } = h.event().await
        {
            assert_eq!((key.as_str(), transfer_key.as_str()), ("k1", "transfer"));
            assert_eq!(results["dtmfBuffer"], "78");
            break;
        }
    }
    let _rx3 = h
        .request(
            "ivrapi_component_apply",
            json!({"key": "k1"}),
            Op::Apply { key: "k1".into() },
        )
        .await;
    assert_eq!(
        h.sent().await[0],
        "ivrapi_component_apply",
        "allowed again after component_stopped"
    );
}

fn accept_op() -> Op {
    Op::Accept {
        key: "k1".into(),
        ivrid: "rDlg-1".into(),
        re: false,
        internal: false,
    }
}

#[tokio::test]
async fn a_refused_accept_is_a_lost_race() {
    let mut h = harness(cfg());
    h.handshake().await;
    let rx = h
        .request(
            "ivrapi_accept",
            json!({"key": "k1", "ivrid": "rDlg-1"}),
            accept_op(),
        )
        .await;
    let req = h.sent().await;
    h.reply(
        &req,
        json!({"result": "error", "error_code": 1406, "error_message": "taken"}),
    );
    assert_eq!(
        rx.await.expect("reply").expect("ok"),
        json!({"type": "lost", "message": "taken"})
    );
    loop {
        if let EraEvent::Ivr { event } = h.event().await {
            assert!(
                matches!(event, IvrEvent::LostRace { ref message, .. } if message == "taken"),
                "{event:?}"
            );
            break;
        }
    }
}

#[tokio::test]
async fn subscriptions_are_renewed_with_the_same_id() {
    let mut h = harness(EraConfig {
        expires_secs: 1,
        ..cfg()
    });
    let subs = h.handshake().await;
    let started = tokio::time::Instant::now();
    let renew = h.sent().await;
    assert_eq!(renew[0], "subscribe");
    assert_eq!(renew[1]["id"], subs[0][1]["id"]);
    assert_eq!(renew[1]["expires"], 1);
    assert!(
        renew[1].get("events").is_none(),
        "a renewal carries id and expires only"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "renewed at ~80 % of the lifetime"
    );
    // A refused renewal subscribes afresh with everything.
    h.reply(
        &renew,
        json!({"result": "error", "error_code": 1404, "error_message": "expired"}),
    );
    let mut fresh = None;
    for _ in 0..10 {
        let f = h.sent().await;
        if f[1]["id"] == subs[0][1]["id"] && f[1].get("events").is_some() {
            fresh = Some(f);
            break;
        }
    }
    let fresh = fresh.expect("a fresh subscribe with the same id");
    assert_eq!(fresh[1]["events"], json!(["callevents.*"]));
    assert_eq!(fresh[1]["objects"], json!(["101"]));
}

#[tokio::test]
async fn silence_after_a_ping_is_a_dead_link() {
    let mut h = harness(EraConfig {
        ping_interval_ms: 100,
        pong_timeout_ms: 150,
        ..cfg()
    });
    h.handshake().await;
    let exit = tokio::time::timeout(Duration::from_secs(5), &mut h.task)
        .await
        .expect("ends")
        .expect("task");
    match exit {
        Exit::Lost {
            reason,
            was_connected: true,
        } => assert!(reason.contains("ping"), "{reason}"),
        other => panic!("{other:?}"),
    }
}

/// Wall-clock offset of [`slept_wall_ms`], ms.
static SLEPT_MS: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);

fn slept_wall_ms() -> i64 {
    chrono::Utc::now().timestamp_millis() + SLEPT_MS.load(std::sync::atomic::Ordering::SeqCst)
}

#[tokio::test]
async fn a_system_sleep_replaces_the_link_at_once() {
    let (mut sh, events, state) = shared_for_tests(cfg());
    sh.wall_ms = slept_wall_ms;
    let mut h = harness_with(sh, events, state);
    h.handshake().await;
    // Pings every 15 s would notice a dead link much later; the clocks are compared every 2 s.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!h.task.is_finished(), "an awake link stays");
    SLEPT_MS.store(10 * 60 * 1000, std::sync::atomic::Ordering::SeqCst);
    let exit = tokio::time::timeout(Duration::from_secs(5), &mut h.task)
        .await
        .expect("the link is replaced within a clock check")
        .expect("task");
    match exit {
        Exit::Lost {
            reason,
            was_connected: true,
        } => assert!(reason.contains("asleep for about 600 s"), "{reason}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn shutdown_removes_subscriptions_then_closes() {
    let mut h = harness(cfg());
    let subs = h.handshake().await;
    let (tx, _rx) = oneshot::channel();
    h.cmds.send(Command::Shutdown(tx)).await.expect("cmd");
    for s in &subs {
        let u = h.sent().await;
        assert_eq!(u[1]["id"], s[1]["id"]);
        assert_eq!(u[1]["expires"], 0);
        h.reply(&u, json!({"result": "ok"}));
    }
    let exit = tokio::time::timeout(Duration::from_secs(5), &mut h.task)
        .await
        .expect("ends")
        .expect("task");
    assert!(matches!(exit, Exit::Shutdown(Some(_))));
    let mut closed = false;
    while let Ok(m) = h.from_link.try_recv() {
        closed |= matches!(m, Message::Close(_));
    }
    assert!(closed, "a close frame was sent");
}

#[test]
fn backoff_is_full_jitter_and_capped() {
    for _ in 0..200 {
        assert!(
            backoff_delay(0, 1000, 30_000) <= Duration::from_millis(1000),
            "first retry within 1 s"
        );
        assert!(backoff_delay(3, 1000, 30_000) <= Duration::from_millis(8000));
        assert!(backoff_delay(40, 1000, 30_000) <= Duration::from_millis(30_000));
    }
    let spread: std::collections::HashSet<u128> = (0..50)
        .map(|_| backoff_delay(5, 1000, 30_000).as_millis())
        .collect();
    assert!(spread.len() > 10, "delays are spread out");
}
