//! Telphin valet parking through the client, and the park board, against the simulator.

mod telphin_support;

use std::time::Duration;

use cti_core::error::{Code, Coded};
use cti_core::model::{CallRef, Source};
use cti_core::provider::{Provider, ProviderError};
use cti_core::telphin::{call_uuid, TelphinClient, TelphinConfig, TelphinError, TelphinProvider};
use cti_sim::world::{CallState, LegState};
use telphin_support::*;

#[tokio::test]
async fn park_to_slot_six_then_it_is_full_then_park_without_a_slot() {
    let sim = sim_with(1.0, 1, |_| {}).await;
    let c = client(&sim);
    let a = answered_call(&sim, "+79001110001", AGENT_NUMBER);
    let b = answered_call(&sim, "+79001110002", AGENT_NUMBER);

    let parked = c.park(AGENT, &a.api_id, Some(6)).await.unwrap();
    assert_eq!(
        (parked.slot, parked.call_uuid.as_str()),
        (6, call_uuid(&a.api_id).as_str())
    );
    let in_world = sim.world().call(&a.id).unwrap();
    assert_eq!(
        (in_world.state, in_world.parked_slot),
        (CallState::Parked, Some(6))
    );
    let journal = sim.journal().find(
        cti_sim::journal::Channel::TelphinRest,
        cti_sim::journal::Dir::In,
        "valet_park",
    );
    assert_eq!(
        journal[0].body, r#"{"action":"park","slot":"6"}"#,
        "the slot goes as a string, like the seed"
    );

    let board = c.park_board();
    let p = board.slot(AGENT, 6).unwrap();
    assert_eq!(p.call_api_id.as_deref(), Some(a.api_id.as_str()));
    assert_eq!(p.parked_by.as_deref(), Some(AGENT));
    assert_eq!(p.returns_in_secs, Some(180));

    let e = c.park(AGENT, &b.api_id, Some(6)).await.unwrap_err();
    assert!(matches!(e, TelphinError::SlotOccupied(6)), "{e}");
    assert_eq!(e.code(), Code::SlotOccupied);
    assert_eq!(
        e.to_string(),
        "parking slot 6 is already taken by another call; choose another slot"
    );
    assert_eq!(
        sim.world().call(&b.id).unwrap().state,
        CallState::Active,
        "the call stays with the agent"
    );

    let parked = c.park(AGENT, &b.api_id, None).await.unwrap();
    assert_eq!(parked.slot, 1, "the first free slot");
    assert_eq!(c.park_board().slots.len(), 2);

    let e = c.park(AGENT, &b.api_id, Some(10)).await.unwrap_err();
    assert!(matches!(e, TelphinError::Invalid(_)));
    let e = c
        .park(AGENT, "3232000000-no-such-call", Some(2))
        .await
        .unwrap_err();
    assert!(matches!(e, TelphinError::NotFound(_)), "{e}");
}

#[tokio::test]
async fn slots_with_and_without_a_slot_update_the_board() {
    let sim = sim_with(1.0, 1, |_| {}).await;
    let c = client(&sim);
    let parked = answered_call(&sim, "+79001110001", AGENT_NUMBER);
    // Parked by someone else (straight in the World): the board learns it from queries.
    sim.world().park(&parked.id, AGENT, Some(6)).unwrap();
    let current = answered_call(&sim, "+79001110002", AGENT_NUMBER);

    let uuid = c.slot_occupant(AGENT, &current.api_id, 6).await.unwrap();
    assert_eq!(uuid, Some(call_uuid(&parked.api_id)));
    assert_eq!(
        c.slot_occupant(AGENT, &current.api_id, 3).await.unwrap(),
        None
    );
    let board = c.park_board();
    let p = board.slot(AGENT, 6).unwrap();
    assert_eq!(
        (p.call_uuid.clone(), p.returns_at_ms),
        (uuid, None),
        "found by a query: no countdown"
    );

    let free = c.free_slots(AGENT, &current.api_id).await.unwrap();
    assert_eq!(free, vec![1, 2, 3, 4, 5, 7, 8, 9]);
    assert_eq!(
        c.park_board()
            .slots
            .iter()
            .map(|p| p.slot)
            .collect::<Vec<_>>(),
        vec![6]
    );

    let provider = TelphinProvider::new(c.clone());
    let slots = provider.park_slots(AGENT).await.unwrap();
    assert_eq!(slots.len(), 9);
    assert_eq!(slots[5].call_uuid, Some(call_uuid(&parked.api_id)));
    assert!(slots
        .iter()
        .filter(|s| s.slot != 6)
        .all(|s| s.call_uuid.is_none()));
}

#[tokio::test]
async fn bridge_to_a_slot_and_to_a_random_slot() {
    let sim = sim_with(1.0, 3, |_| {}).await;
    let c = client(&sim);
    let mut parked = Vec::new();
    for (i, slot) in [2u8, 5, 8].into_iter().enumerate() {
        let call = answered_call(&sim, &format!("+7900111000{i}"), AGENT_NUMBER);
        c.park(AGENT, &call.api_id, Some(slot)).await.unwrap();
        parked.push(call);
    }

    let current = answered_call(&sim, "+79002220000", AGENT_NUMBER);
    let b = c.bridge(AGENT, &current.api_id, Some(5)).await.unwrap();
    assert_eq!(
        (b.slot, b.call_uuid.clone()),
        (Some(5), Some(call_uuid(&parked[1].api_id)))
    );
    let bridged = sim.world().call(&parked[1].id).unwrap();
    assert_eq!(
        (bridged.state, bridged.connected_to.as_deref()),
        (CallState::Active, Some("+79002220000"))
    );
    assert!(c.park_board().slot(AGENT, 5).is_none());

    let e = c
        .bridge(
            AGENT,
            &answered_call(&sim, "+79002220001", AGENT_NUMBER).api_id,
            Some(5),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, TelphinError::SlotEmpty(5)), "{e}");
    assert_eq!(e.code(), Code::SlotEmpty);

    let current = answered_call(&sim, "+79002220002", AGENT_NUMBER);
    let b = c.bridge(AGENT, &current.api_id, None).await.unwrap();
    let slot = b.slot.unwrap();
    assert!(slot == 2 || slot == 8, "a random occupied slot: {slot}");
    assert!(c.park_board().slot(AGENT, slot).is_none());
    assert_eq!(c.park_board().slots.len(), 1);

    // Through the provider: bridge the last one, then nothing is left.
    let provider = TelphinProvider::new(c.clone());
    let current = CallRef {
        source: Source::Telphin,
        call_id: answered_call(&sim, "+79002220003", AGENT_NUMBER).api_id,
        extension_id: None,
    };
    provider.bridge(&current, None).await.unwrap();
    assert!(c.park_board().slots.is_empty());
    let current = CallRef {
        source: Source::Telphin,
        call_id: answered_call(&sim, "+79002220004", AGENT_NUMBER).api_id,
        extension_id: Some(AGENT.into()),
    };
    let e = provider.bridge(&current, None).await.unwrap_err();
    assert!(matches!(e, ProviderError::Refused { .. }), "{e}");
    assert!(e.to_string().contains("nobody is waiting"), "{e}");
    let e = provider.park(&current, Some(0)).await.unwrap_err();
    assert!(matches!(e, ProviderError::Invalid(_)));
}

#[tokio::test]
async fn the_three_minute_return_shows_on_the_park_board() {
    // The platform's 180 s at 60x are 3 real seconds; the client is told the same 3 s.
    let sim = sim_with(60.0, 1, |_| {}).await;
    let c = TelphinClient::new(TelphinConfig {
        park_timeout_secs: 3,
        ..config(&sim)
    })
    .unwrap();
    let mut watch = c.watch_park_board();
    let call = answered_call(&sim, "+79001110001", AGENT_NUMBER);
    c.park(AGENT, &call.api_id, Some(4)).await.unwrap();
    let parked = c.park_board();
    let entry = parked.slot(AGENT, 4).unwrap();
    let returns_at = entry.returns_at_ms.unwrap();
    assert_eq!(returns_at - entry.parked_at_ms.unwrap(), 3000);
    assert!(
        watch.borrow_and_update().slot(AGENT, 4).is_some(),
        "the watchers saw the park"
    );

    // The board empties by itself when the time is up and tells its watchers.
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            watch.changed().await.unwrap();
            if watch.borrow().slots.is_empty() {
                break;
            }
        }
    })
    .await
    .expect("the board published the return");
    assert!(chrono::Utc::now().timestamp_millis() >= returns_at);
    assert!(c.park_board().slots.is_empty());

    // Meanwhile the platform rang the agent again.
    let back = eventually(10, || {
        let c = sim.world().call(&call.id)?;
        (c.state == CallState::Ringing).then_some(c)
    })
    .await;
    assert!(back
        .legs
        .iter()
        .any(|l| l.state == LegState::Ringing && l.target == AGENT_NUMBER));
    let current = answered_call(&sim, "+79001110009", AGENT_NUMBER);
    assert!(c
        .free_slots(AGENT, &current.api_id)
        .await
        .unwrap()
        .contains(&4));
}
