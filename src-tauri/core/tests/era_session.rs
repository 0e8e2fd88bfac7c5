//! Era client against the simulator over loopback: connect, subscribe, renew, events →
//! normalized call events, request timeout, malformed and oversized frames, auth failure.

mod era_support;

use std::time::Duration;

use cti_core::era::{self, EraAuth, EraConfig, EraError};
use cti_core::model::{CallEventKind, ConnectionState, Direction, Outcome};
use era_support::*;
use serde_json::json;

#[tokio::test]
async fn connects_subscribes_and_normalizes_call_events() {
    let sim = sim_at(60.0).await;
    let mut c = Client::start(client_cfg(&sim)).await;
    assert_eq!(received(&sim, "connection_info"), 1);
    let subs = sim
        .journal()
        .find(cti_sim::Channel::EraWs, cti_sim::Dir::In, "subscribe");
    assert_eq!(subs.len(), 3);
    for class in ["callevents.*", "ccsevents.*", "ivrevents.*"] {
        assert!(
            subs.iter().any(|e| e.body.contains(class)),
            "no subscription for {class}"
        );
    }
    // A call to somebody else is not seen; one to 101 is.
    answered_call(&sim, "+79009998877", "102");
    let (id, leg) = ringing_call(&sim, "+79001234567", "101");
    let created = c
        .call_event("Created", |e| {
            matches!(e.kind, CallEventKind::Created { .. })
        })
        .await;
    match &created.kind {
        CallEventKind::Created {
            direction,
            from,
            to,
            ..
        } => {
            assert_eq!(*direction, Direction::Inbound);
            assert_eq!(from.number, "+79001234567");
            assert_eq!(to.number, "101");
        }
        _ => unreachable!(),
    }
    let ringing = c
        .call_event("LegRinging", |e| {
            matches!(e.kind, CallEventKind::LegRinging { .. })
        })
        .await;
    assert_eq!(ringing.call_id, created.call_id);
    sim.world().answer(&id, &leg).expect("answer");
    c.call_event(
        "Answered",
        |e| matches!(&e.kind, CallEventKind::Answered { by, .. } if by.number == "101"),
    )
    .await;
    sim.world().hold(&id).expect("hold");
    c.call_event("Held", |e| e.kind == CallEventKind::Held)
        .await;
    sim.world().resume(&id).expect("resume");
    c.call_event("Resumed", |e| e.kind == CallEventKind::Resumed)
        .await;
    sim.world().set_recording(&id, "fs:rec/1.mp3").expect("rec");
    c.call_event("Recording", |e| {
        matches!(e.kind, CallEventKind::RecordingAvailable { .. })
    })
    .await;
    sim.world().hangup(&id, "200").expect("hangup");
    let ended = c
        .call_event("Ended", |e| matches!(e.kind, CallEventKind::Ended { .. }))
        .await;
    match &ended.kind {
        CallEventKind::Ended { result, .. } => assert_eq!(result.outcome, Outcome::Answered),
        _ => unreachable!(),
    }
    let calls = c.calls();
    assert!(
        calls.iter().all(|e| e.call_id == created.call_id),
        "only 101's call was delivered: {calls:#?}"
    );
    assert!(calls.iter().all(|e| e
        .control_id
        .as_deref()
        .is_some_and(|k| k.starts_with(&created.call_id))));
    let keys: std::collections::HashSet<&str> =
        calls.iter().map(|e| e.dedup_key.as_str()).collect();
    assert_eq!(keys.len(), calls.len(), "dedup keys are unique per message");
    assert_eq!(
        c.handle.control_id(&created.call_id).await.expect("query"),
        None,
        "ended calls are forgotten"
    );
    c.handle.shutdown().await.expect("shutdown");
    let unsub = sim
        .journal()
        .find(cti_sim::Channel::EraWs, cti_sim::Dir::In, "subscribe");
    assert_eq!(
        unsub
            .iter()
            .filter(|e| e.body.contains("\"expires\":0"))
            .count(),
        3
    );
    assert_eq!(*c.handle.state().borrow(), ConnectionState::Disabled);
}

#[tokio::test]
async fn subscriptions_are_renewed_before_they_expire() {
    // Real time: the simulator expires subscriptions on its clock.
    let sim = sim_at(1.0).await;
    let mut c = Client::start(EraConfig {
        expires_secs: 2,
        ..client_cfg(&sim)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(4500)).await;
    let subs = sim
        .journal()
        .find(cti_sim::Channel::EraWs, cti_sim::Dir::In, "subscribe");
    assert!(
        subs.len() >= 9,
        "two renewals per subscription expected, got {}",
        subs.len()
    );
    let ids: std::collections::HashSet<String> = subs
        .iter()
        .filter_map(|e| serde_json::from_str::<serde_json::Value>(&e.body).ok())
        .filter_map(|v| v[1]["id"].as_str().map(str::to_string))
        .collect();
    assert_eq!(ids.len(), 3, "renewals reuse the subscription ids");
    assert!(sim
        .journal()
        .find(
            cti_sim::Channel::EraWs,
            cti_sim::Dir::Out,
            "subscribe_result"
        )
        .iter()
        .all(|e| e.body.contains("\"ok\"")));
    // Still subscribed after more than two lifetimes.
    ringing_call(&sim, "+7900", "101");
    c.call_event("LegRinging", |e| {
        matches!(e.kind, CallEventKind::LegRinging { .. })
    })
    .await;
}

#[tokio::test]
async fn token_api_with_bearer_header_works_too() {
    let sim = sim_at(60.0).await;
    let cfg = EraConfig {
        auth: EraAuth::TokenBearer,
        token: cti_sim::era::DEMO_TOKEN.into(),
        rest_participation: false,
        objects: vec![],
        extension: String::new(),
        ..client_cfg(&sim)
    };
    let mut c = Client::start(cfg).await;
    let info = c.handle.connection_info().await.expect("info");
    assert_eq!(info["ownertype"], "token");
    ringing_call(&sim, "+7900", "103");
    c.call_event(
        "fork",
        |e| matches!(&e.kind, CallEventKind::LegRinging { party, .. } if party.number == "103"),
    )
    .await;
}

#[tokio::test]
async fn a_wrong_token_fails_without_retrying() {
    let sim = sim_at(60.0).await;
    let (handle, _events) = era::start(EraConfig {
        token: "stolen".into(),
        ..client_cfg(&sim)
    })
    .expect("start");
    let mut st = handle.state();
    let failed = tokio::time::timeout(
        WAIT,
        st.wait_for(|s| matches!(s, ConnectionState::Failed { .. })),
    )
    .await
    .expect("fails in time")
    .expect("state")
    .clone();
    assert!(
        matches!(failed, ConnectionState::Failed { ref reason } if reason.contains("403")),
        "{failed:?}"
    );
    assert!(matches!(
        handle.connection_info().await,
        Err(EraError::NotConnected)
    ));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let upgrades = sim
        .journal()
        .find(cti_sim::Channel::EraWs, cti_sim::Dir::In, "GET /ws/user/v1");
    assert_eq!(upgrades.len(), 1, "no retry loop on bad credentials");
    assert!(era::start(EraConfig {
        token: String::new(),
        ..client_cfg(&sim)
    })
    .is_err());
}

#[tokio::test]
async fn an_unanswered_request_times_out_and_the_session_goes_on() {
    let sim = sim_at(60.0).await;
    let c = Client::start(EraConfig {
        request_timeout_ms: 300,
        ..client_cfg(&sim)
    })
    .await;
    cti_sim::era::control(&sim.ctx).swallow_requests("test", true);
    match c.handle.request("test", json!({"ping": 1})).await {
        Err(EraError::Timeout { request, ms }) => assert_eq!((request.as_str(), ms), ("test", 300)),
        other => panic!("{other:?}"),
    }
    cti_sim::era::control(&sim.ctx).swallow_requests("test", false);
    let v = c
        .handle
        .request("test", json!({"ping": 2}))
        .await
        .expect("answered");
    assert_eq!(v["echo"]["ping"], 2);
    assert!(matches!(
        c.handle.request("test", json!([1])).await,
        Err(EraError::Invalid(_))
    ));
    let e = c
        .handle
        .request("bye", json!({"idconn": "none.1"}))
        .await
        .expect_err("refused");
    assert!(
        matches!(
            e,
            EraError::Refused {
                code: Some(1404),
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(
        received(&sim, "connection_info"),
        1,
        "no reconnect happened"
    );
}

#[tokio::test]
async fn malformed_and_oversized_frames_are_dropped_and_the_session_survives() {
    let sim = sim_at(60.0).await;
    let mut c = Client::start(client_cfg(&sim)).await;
    let ctl = cti_sim::era::control(&sim.ctx);
    assert_eq!(ctl.inject_frame("{{ definitely not json"), 1);
    ctl.inject_frame(r#"["mystery",{"x":1}]"#);
    ctl.inject_frame(r#"["notify",{"class":"nobody","type":"x","data":{}}]"#);
    let big = format!(
        r#"["notify",{{"class":"callevents","type":"dtmf","data":{{"cid":"huge","pad":"{}"}}}}]"#,
        "x".repeat(1_200_000)
    );
    ctl.inject_frame(&big);
    ringing_call(&sim, "+7900", "101");
    let ev = c
        .call_event("LegRinging", |e| {
            matches!(e.kind, CallEventKind::LegRinging { .. })
        })
        .await;
    assert_ne!(ev.call_id, "huge");
    assert!(
        c.calls().iter().all(|e| e.call_id != "huge"),
        "the oversized frame was dropped"
    );
    assert_eq!(
        received(&sim, "connection_info"),
        1,
        "no reconnect happened"
    );
    assert!(matches!(
        *c.handle.state().borrow(),
        ConnectionState::Connected { .. }
    ));
}

#[tokio::test]
async fn pings_keep_a_healthy_link_and_the_inspector_sees_frames_without_the_token() {
    let sim = sim_at(60.0).await;
    let cfg = EraConfig {
        ping_interval_ms: 100,
        pong_timeout_ms: 1_000,
        auth: EraAuth::TokenPath,
        token: cti_sim::era::DEMO_TOKEN.into(),
        ..client_cfg(&sim)
    };
    let mut c = Client::start(cfg).await;
    c.handle.connection_info().await.expect("info");
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert!(matches!(
        *c.handle.state().borrow(),
        ConnectionState::Connected { .. }
    ));
    assert_eq!(
        received(&sim, "connection_info"),
        2,
        "one at connect, one asked; no reconnect"
    );
    let frame = c
        .wait("inspector frame", |e| {
            matches!(e, era::EraEvent::Frame { dir: era::FrameDir::In, text } if text.contains("connection_info_result"))
        })
        .await;
    let era::EraEvent::Frame { text, .. } = frame else {
        unreachable!()
    };
    assert!(
        !text.contains(cti_sim::era::DEMO_TOKEN),
        "the token is redacted: {text}"
    );
    assert!(text.contains("***"));
}
