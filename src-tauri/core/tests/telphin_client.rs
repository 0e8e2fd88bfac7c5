//! Telphin client against the simulator: OAuth token refresh, retries, current-call actions,
//! hang-up, click-to-call and the provider.

mod telphin_support;

use std::time::Duration;

use cti_core::error::{Code, Coded};
use cti_core::model::{CallRef, Source};
use cti_core::provider::{Provider, ProviderError};
use cti_core::telphin::{
    CallAction, CallbackRequest, TelphinClient, TelphinConfig, TelphinError, TelphinProvider,
};
use cti_sim::world::{CallState, Direction, LegState};
use telphin_support::*;

#[tokio::test]
async fn the_token_is_refreshed_before_it_expires_and_after_a_401() {
    // 120 simulated seconds at 60x: the simulator reports expires_in = 2 (real seconds).
    let sim = sim_with(60.0, 1, |t| t.token_lifetime_secs = 120).await;
    let c = client(&sim);
    let owner = c.whoami().await.unwrap();
    assert_eq!(owner.client_id.as_deref(), Some("3232"));
    c.extension_calls(AGENT).await.unwrap();
    assert_eq!(
        received(&sim, "POST /oauth/token"),
        1,
        "the token is cached"
    );

    // Past the refresh point (3/4 of the lifetime), before the expiry.
    tokio::time::sleep(Duration::from_millis(1600)).await;
    c.extension_calls(AGENT).await.unwrap();
    assert_eq!(
        received(&sim, "POST /oauth/token"),
        2,
        "refreshed ahead of expiry"
    );
    assert_eq!(replied(&sim, "401 "), 0, "no request was refused");

    // The platform forgets the token: one 401, one new token, the request succeeds.
    cti_sim::telphin::revoke_tokens(&sim.ctx);
    c.extension_calls(AGENT).await.unwrap();
    assert_eq!(
        replied(&sim, "401 GET /api/ver1.0/extension/34414/current_calls/"),
        1
    );
    assert_eq!(received(&sim, "POST /oauth/token"), 3);
    assert_eq!(
        received(&sim, "GET /api/ver1.0/extension/34414/current_calls/"),
        4
    );
}

#[tokio::test]
async fn wrong_credentials_are_an_auth_error() {
    let sim = sim_with(1.0, 1, |_| {}).await;
    let cfg = TelphinConfig {
        client_secret: "wrong".into(),
        ..config(&sim)
    };
    let e = TelphinClient::new(cfg).unwrap().whoami().await.unwrap_err();
    assert!(matches!(e, TelphinError::Auth(_)), "{e}");
    assert_eq!(e.code(), Code::Auth);
    assert!(e.to_string().contains("client id and secret"), "{e}");
    assert!(TelphinClient::new(TelphinConfig {
        client_secret: String::new(),
        ..config(&sim)
    })
    .is_err());
}

#[tokio::test]
async fn reads_are_retried_on_5xx_but_call_changes_are_not() {
    let sim = sim_with(1.0, 1, |_| {}).await;
    let c = TelphinClient::new(TelphinConfig {
        retries: 6,
        retry_backoff_ms: 50,
        ..config(&sim)
    })
    .unwrap();
    c.access_token().await.unwrap();
    let call = answered_call(&sim, "+79001110001", AGENT_NUMBER);

    sim.faults().set_rest_status(503);
    let e = c
        .call_action(AGENT, &call.api_id, CallAction::Hold, None)
        .await
        .unwrap_err();
    assert!(matches!(e, TelphinError::Http { status: 503, .. }), "{e}");
    assert_eq!(
        received(&sim, "PUT /api/ver1.0/extension/34414/current_calls/"),
        1,
        "not repeated"
    );

    let faults = sim.faults().clone();
    let heal = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(120)).await;
        faults.set_rest_status(0);
    });
    let calls = c.extension_calls(AGENT).await.unwrap();
    heal.await.unwrap();
    assert_eq!(calls.len(), 1);
    assert!(replied(&sim, "503 GET /api/ver1.0/extension/34414/current_calls/") >= 1);
    assert_eq!(
        replied(&sim, "200 GET /api/ver1.0/extension/34414/current_calls/"),
        1
    );
}

#[tokio::test]
async fn every_request_has_a_time_limit() {
    let sim = sim_with(1.0, 1, |_| {}).await;
    let c = TelphinClient::new(TelphinConfig {
        request_timeout_ms: 1000,
        retries: 0,
        ..config(&sim)
    })
    .unwrap();
    c.access_token().await.unwrap();
    sim.faults().set_rest_delay_ms(3000);
    let e = c.extension_calls(AGENT).await.unwrap_err();
    assert!(matches!(e, TelphinError::Timeout(1000)), "{e}");
    let p: ProviderError = e.into();
    assert_eq!(p.code(), Code::Timeout);
}

#[tokio::test]
async fn current_calls_list_per_client_and_per_extension() {
    let sim = sim_with(1.0, 1, |_| {}).await;
    let c = client(&sim);
    let a = answered_call(&sim, "+79001110001", AGENT_NUMBER);
    let b = answered_call(&sim, "+79001110002", AGENT2_NUMBER);
    let all = c.client_calls().await.unwrap();
    assert_eq!(all.len(), 2);
    let mine = c.extension_calls(AGENT).await.unwrap();
    assert_eq!(mine.len(), 1);
    let m = &mine[0];
    assert_eq!(m.call_api_id, a.api_id);
    assert_eq!(m.call_id.as_deref(), Some(a.id.as_str()));
    assert_eq!(
        (m.extension_id.as_deref(), m.call_flow.as_deref()),
        (Some(AGENT), Some("in"))
    );
    assert_eq!(m.caller_id_number.as_deref(), Some("+79001110001"));
    assert!(m.answer_time_gmt.is_some());
    assert!(all.iter().any(|x| x.call_api_id == b.api_id));
    let e = c.extension_calls("1").await.unwrap_err();
    assert!(matches!(e, TelphinError::NotFound(_)), "{e}");
}

#[tokio::test]
async fn each_call_action_reaches_the_world() {
    let sim = sim_with(1.0, 1, |_| {}).await;
    let c = client(&sim);
    let w = sim.world();

    let call = answered_call(&sim, "+79001110001", AGENT_NUMBER);
    c.call_action(AGENT, &call.api_id, CallAction::Hold, None)
        .await
        .unwrap();
    assert_eq!(w.call(&call.id).unwrap().state, CallState::Held);
    c.call_action(AGENT, &call.api_id, CallAction::OffHold, None)
        .await
        .unwrap();
    assert_eq!(w.call(&call.id).unwrap().state, CallState::Active);
    let e = c
        .call_action(AGENT, &call.api_id, CallAction::OffHold, None)
        .await
        .unwrap_err();
    assert!(
        matches!(e, TelphinError::Http { status: 400, .. }),
        "resume of an active call: {e}"
    );

    for action in [
        CallAction::Eavesdrop,
        CallAction::Whisper,
        CallAction::Conference,
    ] {
        c.call_action(AGENT, &call.api_id, action, Some(SUPERVISOR_NUMBER))
            .await
            .unwrap();
        let now = w.call(&call.id).unwrap();
        let leg = now.legs.last().unwrap();
        assert_eq!(
            (leg.target.as_str(), leg.state),
            (SUPERVISOR_NUMBER, LegState::Ringing),
            "{action:?}"
        );
        cti_sim::telphin::answer_leg(&sim.ctx, &call.id, &leg.id).unwrap();
        assert_eq!(
            w.call(&call.id).unwrap().connected_to.as_deref(),
            Some(AGENT_NUMBER),
            "{action:?}"
        );
    }

    let e = c
        .call_action(AGENT, &call.api_id, CallAction::Transfer, None)
        .await
        .unwrap_err();
    assert!(matches!(e, TelphinError::Invalid(_)));
    c.call_action(
        AGENT,
        &call.api_id,
        CallAction::Transfer,
        Some(AGENT2_NUMBER),
    )
    .await
    .unwrap();
    let t = w.call(&call.id).unwrap();
    assert_eq!(
        (t.state, t.legs.last().unwrap().target.as_str()),
        (CallState::Ringing, AGENT2_NUMBER)
    );

    let call = answered_call(&sim, "+79001110002", AGENT_NUMBER);
    c.call_action(
        AGENT,
        &call.api_id,
        CallAction::AttendedTransfer,
        Some(AGENT2_NUMBER),
    )
    .await
    .unwrap();
    let t = w.call(&call.id).unwrap();
    assert_eq!(
        (t.state, t.legs.last().unwrap().target.as_str()),
        (CallState::Held, AGENT2_NUMBER)
    );

    let call = answered_call(&sim, "+79001110003", AGENT_NUMBER);
    let slot = c
        .call_action(AGENT, &call.api_id, CallAction::Park, None)
        .await
        .unwrap();
    assert_eq!(slot, Some(1));
    assert_eq!(w.call(&call.id).unwrap().state, CallState::Parked);
    assert!(
        c.park_board().slot(AGENT, 1).is_some(),
        "the park board follows the park action"
    );

    let ringing = w.create_call(Direction::Inbound, "+79001110004", None, AGENT_NUMBER, None);
    w.ring(&ringing.id, AGENT_NUMBER).unwrap();
    c.call_action(
        AGENT,
        &ringing.api_id,
        CallAction::Pickup,
        Some(AGENT2_NUMBER),
    )
    .await
    .unwrap();
    let p = w.call(&ringing.id).unwrap();
    assert_eq!(p.legs.last().unwrap().target, AGENT2_NUMBER);

    let call = answered_call(&sim, "+79001110005", AGENT_NUMBER);
    c.hangup(AGENT, &call.api_id).await.unwrap();
    assert_eq!(w.call(&call.id).unwrap().state, CallState::Ended);
    let e = c.hangup(AGENT, &call.api_id).await.unwrap_err();
    assert!(matches!(e, TelphinError::NotFound(_)), "{e}");
    assert_eq!(e.code(), Code::NotFound);
}

#[tokio::test]
async fn click_to_call_and_the_provider() {
    let sim = sim_with(60.0, 1, |t| t.auto_answer_secs = Some(2.0)).await;
    let c = client(&sim);
    let reply = c
        .callback(
            AGENT,
            &CallbackRequest {
                src_num: vec!["101".into()],
                dst_num: "+74950001122".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let made = sim.world().call(&reply.call_api_id).unwrap();
    assert_eq!(Some(made.id.clone()), reply.call_id);
    assert_eq!(made.legs[0].target, AGENT_NUMBER);

    let provider = TelphinProvider::new(c.clone());
    let caps = provider.capabilities();
    assert!(
        !caps.answer && !caps.dtmf,
        "Telphin has no remote answer and no DTMF"
    );
    assert!(caps.park && caps.dial && caps.hold && caps.eavesdrop && caps.whisper && caps.pickup);

    // dial: the agent's phone (its Telphin name, looked up) rings, answers, then the number.
    let call = provider.dial("+74950003344").await.unwrap();
    assert_eq!(
        (call.source, call.extension_id.as_deref()),
        (Source::Telphin, Some(AGENT))
    );
    let connected = eventually(10, || {
        let c = sim.world().call(&call.call_id)?;
        (c.legs.len() == 2 && c.legs.iter().all(|l| l.state == LegState::Answered)).then_some(c)
    })
    .await;
    assert_eq!(connected.to, "+74950003344");
    assert!(received(&sim, "GET /api/ver1.0/extension/34414/") >= 1);

    provider.hold(&call).await.unwrap();
    assert_eq!(
        sim.world().call(&call.call_id).unwrap().state,
        CallState::Held
    );
    provider.resume(&call).await.unwrap();
    let slot = provider.park(&call, Some(6)).await.unwrap();
    assert_eq!(slot, 6);
    let e = provider.answer(&call).await.unwrap_err();
    assert!(matches!(e, ProviderError::Unsupported { .. }));
    let e = provider.send_dtmf(&call, "1").await.unwrap_err();
    assert_eq!(e.code(), Code::Unsupported);
    let wrong = CallRef {
        source: Source::Era,
        call_id: "x".into(),
        extension_id: None,
    };
    assert!(matches!(
        provider.hangup(&wrong).await,
        Err(ProviderError::Invalid(_))
    ));
    assert!(matches!(
        provider.transfer_blind(&call, "abc").await,
        Err(ProviderError::Invalid(_))
    ));
}
