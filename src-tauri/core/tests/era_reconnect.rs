//! Era client reconnects: the simulator drops or stalls the socket; the session comes back,
//! resubscribes, re-takes IVR control and reconciles what changed while it was away.

mod era_support;

use std::time::Duration;

use cti_core::era::{AcceptOutcome, EraConfig, IvrEvent};
use cti_core::model::{CallEventKind, ConnectionState, Outcome};
use era_support::*;
use serde_json::json;

#[tokio::test]
async fn after_a_drop_it_resubscribes_reacquires_and_reconciles() {
    let sim = sim_at(60.0).await;
    let mut c = Client::start(client_cfg(&sim)).await;
    // Control of an IVR session, and a call in progress that will end while offline.
    let ivr_call = answered_call(&sim, "+79001230000", "800");
    let key = cti_sim::era::offer_ivr_control(&sim.ctx, &ivr_call, "800", json!({}));
    let o = match c
        .ivr_event("Offered", |e| matches!(e, IvrEvent::Offered { .. }))
        .await
    {
        IvrEvent::Offered { offer } => offer,
        _ => unreachable!(),
    };
    assert_eq!(
        c.handle.ivr_accept(&key, &o.ivrid).await.expect("accept"),
        AcceptOutcome::Accepted
    );
    let before = cti_sim::era::control(&sim.ctx)
        .ivr_controller(&key)
        .and_then(|x| x.0)
        .expect("controller");
    let gone = answered_call(&sim, "+79005550001", "101");
    let gone_ev = c
        .call_event(
            "Answered",
            |e| matches!(&e.kind, CallEventKind::Answered { by, .. } if by.number == "101"),
        )
        .await;

    // The link drops and the platform refuses connections for a moment.
    sim.faults().set_refuse(true);
    sim.faults().drop_websockets();
    let mut st = c.handle.state();
    tokio::time::timeout(
        WAIT,
        st.wait_for(|s| matches!(s, ConnectionState::BackingOff { .. })),
    )
    .await
    .expect("noticed the drop")
    .expect("state");
    sim.world()
        .hangup(&gone, "200")
        .expect("hangup while offline");
    let fresh = answered_call(&sim, "+79005550002", "101");
    tokio::time::sleep(Duration::from_millis(150)).await;
    sim.faults().set_refuse(false);
    c.connected().await;

    // Resubscribed with the same ids.
    let subs = sim
        .journal()
        .find(cti_sim::Channel::EraWs, cti_sim::Dir::In, "subscribe");
    assert_eq!(subs.len(), 6);
    assert_eq!(received(&sim, "connection_info"), 2);
    // IVR control re-acquired by the new connection.
    c.ivr_event("re-acquired", |e| {
        matches!(
            e,
            IvrEvent::Accepted {
                reacquired: true,
                ..
            }
        )
    })
    .await;
    let after = cti_sim::era::control(&sim.ctx)
        .ivr_controller(&key)
        .and_then(|x| x.0)
        .expect("controller");
    assert_ne!(before, after);
    assert_eq!(received(&sim, "ivrapi_reaccept"), 1);
    // Reconciled: the call that ended offline ended; the one that began offline appeared.
    let ended = c
        .seen_or_wait("reconciled end", |e| {
            e.call_id == gone_ev.call_id && matches!(e.kind, CallEventKind::Ended { .. })
        })
        .await;
    let CallEventKind::Ended { result, .. } = &ended.kind else {
        unreachable!()
    };
    assert_eq!(result.outcome, Outcome::Answered);
    let created = c
        .seen_or_wait("reconciled start", |e| matches!(&e.kind, CallEventKind::Created { from, .. } if from.number == "+79005550002"))
        .await;
    c.seen_or_wait("reconciled answer", |e| {
        e.call_id == created.call_id && matches!(e.kind, CallEventKind::Answered { .. })
    })
    .await;
    assert!(
        sim.journal()
            .find(
                cti_sim::Channel::EraRest,
                cti_sim::Dir::In,
                "GET /rest/v1/uc/calls_by_participation"
            )
            .len()
            >= 2
    );
    // Live events flow again, and the controlled session still works.
    sim.world().hold(&fresh).expect("hold");
    c.call_event("Held", |e| {
        e.call_id == created.call_id && e.kind == CallEventKind::Held
    })
    .await;
    cti_sim::era::press_dtmf(&sim.ctx, &ivr_call, "7");
    c.ivr_event(
        "dtmf after reconnect",
        |e| matches!(e, IvrEvent::Dtmf { digit, .. } if digit == "7"),
    )
    .await;
}

#[tokio::test]
async fn a_stalled_link_is_detected_by_pings() {
    let sim = sim_at(60.0).await;
    let cfg = EraConfig {
        ping_interval_ms: 150,
        pong_timeout_ms: 250,
        request_timeout_ms: 500,
        ..client_cfg(&sim)
    };
    let c = Client::start(cfg).await;
    sim.faults().set_stall(true);
    let mut st = c.handle.state();
    let s = tokio::time::timeout(
        WAIT,
        st.wait_for(|s| matches!(s, ConnectionState::BackingOff { .. })),
    )
    .await
    .expect("dead link detected")
    .expect("state")
    .clone();
    assert!(
        matches!(s, ConnectionState::BackingOff { ref reason, .. } if reason.contains("ping") || reason.contains("answer")),
        "{s:?}"
    );
    sim.faults().set_stall(false);
    c.connected().await;
    let info = c.handle.connection_info().await.expect("works again");
    assert_eq!(info["ownertype"], "user");
}

#[tokio::test]
async fn manual_reconnect_and_requests_while_offline() {
    let sim = sim_at(60.0).await;
    let c = Client::start(EraConfig {
        backoff_base_ms: 5_000,
        backoff_cap_ms: 5_000,
        ..client_cfg(&sim)
    })
    .await;
    sim.faults().set_refuse(true);
    sim.faults().drop_websockets();
    let mut st = c.handle.state();
    tokio::time::timeout(
        WAIT,
        st.wait_for(|s| matches!(s, ConnectionState::BackingOff { .. })),
    )
    .await
    .expect("backing off")
    .expect("state");
    let e = c.handle.connection_info().await.expect_err("offline");
    assert!(matches!(e, cti_core::era::EraError::NotConnected), "{e:?}");
    sim.faults().set_refuse(false);
    // Without waiting up to 5 s for the backoff: reconnect now.
    c.handle.reconnect().await.expect("reconnect");
    tokio::time::timeout(
        Duration::from_secs(3),
        st.wait_for(|s| matches!(s, ConnectionState::Connected { .. })),
    )
    .await
    .expect("reconnected at once")
    .expect("state");
}
