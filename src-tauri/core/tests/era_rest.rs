//! Era REST custom verbs and the `EraProvider` against the simulator.

mod era_support;

use std::time::Duration;

use cti_core::era::{EraConfig, EraError, EraProvider, EraRest};
use cti_core::model::{CallEventKind, CallRef, Source};
use cti_core::provider::{Provider, ProviderError};
use cti_sim::world::CallState;
use era_support::*;

fn rest(sim: &cti_sim::Sim, token: &str, participation: bool) -> EraRest {
    rest_with_timeout(sim, token, participation, 5_000)
}

/// A client whose requests time out after `ms` (generous by default: CI machines are slow).
fn rest_with_timeout(sim: &cti_sim::Sim, token: &str, participation: bool, ms: u64) -> EraRest {
    let cfg = EraConfig {
        rest_participation: participation,
        rest_timeout_ms: ms,
        ..EraConfig::for_server(sim.base_url(), "101", token)
    };
    EraRest::new(&cfg).expect("rest client")
}

#[tokio::test]
async fn custom_verbs_drive_calls() {
    let sim = sim_at(60.0).await;
    let r = rest(&sim, "era-user-101", true);
    let id = answered_call(&sim, "+79001234567", "101");
    answered_call(&sim, "+79001234568", "102");
    let list = r.list_calls().await.expect("list");
    assert_eq!(
        list.len(),
        1,
        "calls_by_participation shows 101's calls only"
    );
    let conn = list[0]["connectionid"].as_str().expect("id").to_string();
    r.notify(&conn, "hold").await.expect("hold");
    assert_eq!(sim.world().call(&id).expect("call").state, CallState::Held);
    r.notify(&conn, "talk").await.expect("talk");
    r.send_dtmf(&conn, "12#").await.expect("dtmf");
    r.switch_conf(&conn, Some("103")).await.expect("conference");
    assert!(sim
        .world()
        .call(&id)
        .expect("call")
        .legs
        .iter()
        .any(|l| l.target == "103"));
    let found = r.lookup("+79001234567").await.expect("lookup");
    assert_eq!(found["connectionid"], conn.as_str());
    assert_eq!(r.call_info(&conn).await.expect("info")["state"], "talk");
    r.transfer(&conn, "102", false).await.expect("refer");
    assert_eq!(
        sim.world()
            .call(&id)
            .expect("call")
            .legs
            .last()
            .expect("leg")
            .target,
        "102"
    );
    r.hangup(&conn).await.expect("delete");
    assert_eq!(sim.world().call(&id).expect("call").state, CallState::Ended);
    let made = r.invite("101", "+74950001122").await.expect("invite");
    assert!(made["cid"].as_str().is_some());
    let all = rest(&sim, cti_sim::era::DEMO_TOKEN, false)
        .list_calls()
        .await
        .expect("all calls");
    assert_eq!(all.len(), 2);
    let j = sim.journal().entries();
    for verb in [
        "NOTIFY",
        "SEND_DTMF",
        "SWITCHCONF",
        "LOOKUP",
        "REFER",
        "DELETE",
        "INVITE",
    ] {
        assert!(
            j.iter()
                .any(|e| e.what.starts_with(&format!("{verb} /rest/v1/uc/calls"))),
            "{verb} not sent"
        );
    }
}

#[tokio::test]
async fn error_bodies_become_typed_errors() {
    let sim = sim_at(60.0).await;
    let r = rest(&sim, "era-user-101", true);
    match r.hangup("none.1").await {
        Err(EraError::Http {
            status: 404,
            code: Some(1404),
            message,
        }) => assert!(message.contains("none.1")),
        other => panic!("{other:?}"),
    }
    let id = answered_call(&sim, "+7900", "101");
    let conn = r.list_calls().await.expect("list")[0]["connectionid"]
        .as_str()
        .expect("id")
        .to_string();
    r.notify(&conn, "hold").await.expect("hold");
    match r.notify(&conn, "hold").await {
        Err(EraError::Http {
            status: 409,
            code: Some(1406),
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        rest(&sim, "wrong", true).list_calls().await,
        Err(EraError::Auth(_))
    ));
    sim.faults().set_rest_status(503);
    match r.list_calls().await {
        Err(EraError::Http {
            status: 503,
            code: Some(1501),
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
    sim.faults().set_rest_status(0);
    sim.faults().set_rest_delay_ms(1_500);
    let quick = rest_with_timeout(&sim, "era-user-101", true, 400);
    match quick.list_calls().await {
        Err(EraError::Timeout { ms: 400, .. }) => {}
        other => panic!("{other:?}"),
    }
    sim.faults().set_rest_delay_ms(0);
    assert!(r.call_info(&conn).await.is_ok());
    let _ = id;
    let down = EraRest::new(&EraConfig {
        rest_timeout_ms: 400,
        ..EraConfig::for_server("http://127.0.0.1:1", "101", "t")
    })
    .expect("client");
    assert!(matches!(down.list_calls().await, Err(EraError::Network(_))));
}

#[tokio::test]
async fn the_provider_controls_calls_by_their_event_ids() {
    let sim = sim_at(60.0).await;
    let mut c = Client::start(client_cfg(&sim)).await;
    let p = EraProvider::new(&c.handle).expect("provider");
    let caps = p.capabilities();
    assert!(
        caps.dial
            && caps.hangup
            && caps.hold
            && caps.transfer_blind
            && caps.dtmf
            && caps.ivr_control
    );
    assert!(!caps.park && !caps.eavesdrop);
    let (id, _) = ringing_call(&sim, "+79001112233", "101");
    let ev = c
        .call_event("Created", |e| {
            matches!(e.kind, CallEventKind::Created { .. })
        })
        .await;
    let call = CallRef {
        source: Source::Era,
        call_id: ev.call_id.clone(),
        extension_id: None,
    };
    p.answer(&call).await.expect("answer");
    c.call_event("Answered", |e| {
        matches!(e.kind, CallEventKind::Answered { .. })
    })
    .await;
    p.hold(&call).await.expect("hold");
    c.call_event("Held", |e| e.kind == CallEventKind::Held)
        .await;
    p.resume(&call).await.expect("resume");
    c.call_event("Resumed", |e| e.kind == CallEventKind::Resumed)
        .await;
    p.send_dtmf(&call, "1*").await.expect("dtmf");
    assert!(matches!(
        p.send_dtmf(&call, "x").await,
        Err(ProviderError::Invalid(_))
    ));
    p.transfer_attended(&call, "102").await.expect("transfer");
    c.call_event("Transferred", |e| {
        matches!(&e.kind, CallEventKind::Transferred { attended: true, .. })
    })
    .await;
    p.hangup(&call).await.expect("hangup");
    c.call_event("Ended", |e| matches!(e.kind, CallEventKind::Ended { .. }))
        .await;
    assert_eq!(sim.world().call(&id).expect("call").state, CallState::Ended);
    match p.hangup(&call).await {
        Err(ProviderError::Refused {
            status: Some(409), ..
        }) => {}
        other => panic!("{other:?}"),
    }
    let missing = CallRef {
        source: Source::Era,
        call_id: "nope".into(),
        extension_id: None,
    };
    assert!(matches!(
        p.hold(&missing).await,
        Err(ProviderError::NoSuchCall(_))
    ));
    let telphin = CallRef {
        source: Source::Telphin,
        call_id: "x".into(),
        extension_id: None,
    };
    assert!(matches!(
        p.hold(&telphin).await,
        Err(ProviderError::Invalid(_))
    ));
    assert!(matches!(
        p.park(&call, None).await,
        Err(ProviderError::Unsupported { .. })
    ));

    let dialled = p.dial("+74951234567").await.expect("dial");
    let fork = c
        .call_event("dialled", |e| matches!(&e.kind, CallEventKind::LegRinging { party, .. } if party.number == "+74951234567"))
        .await;
    assert_eq!(fork.call_id, dialled.call_id);
    assert!(matches!(
        p.dial("abc").await,
        Err(ProviderError::Invalid(_))
    ));
    tokio::time::sleep(Duration::from_millis(10)).await;
}
