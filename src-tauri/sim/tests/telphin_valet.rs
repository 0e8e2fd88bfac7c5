//! Telphin OAuth and valet parking (seed 000) over loopback.

mod telphin_common;

use std::time::Duration;

use cti_sim::journal::{Channel, Dir};
use cti_sim::world::{CallState, LegState, WorldEventKind};
use serde_json::{json, Value};
use telphin_common::*;

#[tokio::test]
async fn oauth_issues_tokens_that_expire_in_simulated_time() {
    let sim = sim_with(60.0, |t| t.token_lifetime_secs = 60).await;
    let http = reqwest::Client::new();
    let url = format!("{}/oauth/token", sim.base_url());

    let bad = http
        .post(&url)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "demo-client"),
            ("client_secret", "x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 401);
    assert_eq!(
        bad.json::<Value>().await.unwrap()["error"],
        "invalid_client"
    );

    let wrong_grant = http
        .post(&url)
        .form(&[
            ("grant_type", "password"),
            ("client_id", "demo-client"),
            ("client_secret", "demo-secret"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_grant.status(), 400);

    // Query-string style (some SDKs) works too.
    let q = http
        .post(format!(
            "{url}?grant_type=client_credentials&client_id=demo-client&client_secret=demo-secret"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(q.status(), 200);
    let v: Value = q.json().await.unwrap();
    assert_eq!(v["token_type"], "Bearer");
    // 60 simulated seconds at 60x = 1 real second.
    assert_eq!(v["expires_in"], 1);
    let token = v["access_token"].as_str().unwrap().to_string();

    let user = format!("{}/api/ver1.0/user", sim.base_url());
    assert_eq!(http.get(&user).send().await.unwrap().status(), 401);
    let ok = http.get(&user).bearer_auth(&token).send().await.unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.json::<Value>().await.unwrap()["client_id"], 3232);

    tokio::time::sleep(Duration::from_millis(1100)).await;
    let expired = http.get(&user).bearer_auth(&token).send().await.unwrap();
    assert_eq!(expired.status(), 401);
    assert!(expired.json::<Value>().await.unwrap()["message"]
        .as_str()
        .unwrap()
        .contains("expired"));

    let fresh = Api::new(&sim).await;
    assert_eq!(fresh.get("/user").await.0, 200);
    cti_sim::telphin::revoke_tokens(&sim.ctx);
    assert_eq!(fresh.get("/user").await.0, 401);
}

#[tokio::test]
async fn park_to_a_slot_then_the_same_slot_is_full() {
    let sim = sim_with(1.0, |_| {}).await;
    let api = Api::new(&sim).await;
    let a = answered_call(&sim, "+79001110001", AGENT_NUMBER);
    let b = answered_call(&sim, "+79001110002", AGENT_NUMBER);

    let (status, v) = api
        .put(
            &format!("/extension/{AGENT}/valet_park/{}", a.api_id),
            json!({"action": "park", "slot": "6"}),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v, json!({"slot": "6", "UUID": uuid_of(&a.api_id)}));
    let parked = sim.world().call(&a.id).unwrap();
    assert_eq!(parked.state, CallState::Parked);
    assert_eq!(parked.parked_slot, Some(6));
    assert!(
        parked.legs.iter().all(|l| l.state == LegState::Ended),
        "the parking leg ends"
    );
    assert_eq!(
        sim.journal()
            .find(Channel::TelphinRest, Dir::Out, "announce slot 6")
            .len(),
        1
    );

    // Slot as an integer this time: occupied → the seed's error text.
    let (status, v) = api
        .put(
            &format!("/extension/{AGENT}/valet_park/{}", b.api_id),
            json!({"action": "park", "slot": 6}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        v["message"],
        "slot already have parked member, slot is full"
    );
    assert_eq!(sim.world().call(&b.id).unwrap().state, CallState::Active);

    // No slot: the first free one.
    let (status, v) = api
        .put(
            &format!("/extension/{AGENT}/valet_park/{}", b.api_id),
            json!({"action": "park"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(v["slot"], "1");

    let (status, _) = api
        .put(
            &format!("/extension/{AGENT}/valet_park/{}", b.api_id),
            json!({"action": "park", "slot": "x"}),
        )
        .await;
    assert_eq!(status, 400);
    let (status, _) = api
        .put(
            &format!("/extension/{AGENT}/valet_park/nope"),
            json!({"action": "park"}),
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = api
        .put(
            &format!("/extension/{AGENT}/valet_park/{}", b.api_id),
            json!({"action": "dance"}),
        )
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn slots_with_and_without_a_slot() {
    let sim = sim_with(1.0, |_| {}).await;
    let api = Api::new(&sim).await;
    let a = answered_call(&sim, "+79001110001", AGENT_NUMBER);
    let current = answered_call(&sim, "+79001110003", AGENT_NUMBER);
    api.put(
        &format!("/extension/{AGENT}/valet_park/{}", a.api_id),
        json!({"action": "park", "slot": "6"}),
    )
    .await;

    let path = format!("/extension/{AGENT}/valet_park/{}", current.api_id);
    let (status, v) = api
        .put(&path, json!({"action": "slots", "slot": "6"}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(v, json!({"slot": "6", "UUID": uuid_of(&a.api_id)}));
    let (_, v) = api.put(&path, json!({"action": "slots", "slot": 3})).await;
    assert_eq!(v, json!({"slot": "3", "UUID": null}));
    let (_, v) = api.put(&path, json!({"action": "slots"})).await;
    assert_eq!(
        v,
        json!({"slots": ["1", "2", "3", "4", "5", "7", "8", "9"]})
    );
    let (status, _) = api.put(&path, json!({"action": "slots", "slot": 10})).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn bridge_to_a_slot_connects_the_other_party_with_the_parked_call() {
    let sim = sim_with(1.0, |_| {}).await;
    let api = Api::new(&sim).await;
    let parked = answered_call(&sim, "+79001110001", AGENT_NUMBER);
    api.put(
        &format!("/extension/{AGENT}/valet_park/{}", parked.api_id),
        json!({"action": "park", "slot": "6"}),
    )
    .await;
    let current = answered_call(&sim, "+79002220000", AGENT_NUMBER);

    let path = format!("/extension/{AGENT}/valet_park/{}", current.api_id);
    let (status, v) = api
        .put(&path, json!({"action": "bridge", "slot": "6"}))
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v, json!({"slot": "6", "UUID": uuid_of(&parked.api_id)}));
    let bridged = sim.world().call(&parked.id).unwrap();
    assert_eq!(bridged.state, CallState::Active);
    assert_eq!(bridged.connected_to.as_deref(), Some("+79002220000"));
    assert_eq!(
        sim.world().call(&current.id).unwrap().state,
        CallState::Ended
    );
    assert!(sim.world().free_slots(AGENT).contains(&6));

    let another = answered_call(&sim, "+79002220001", AGENT_NUMBER);
    let path = format!("/extension/{AGENT}/valet_park/{}", another.api_id);
    let (status, v) = api
        .put(&path, json!({"action": "bridge", "slot": "6"}))
        .await;
    assert_eq!(
        (status, v["message"].as_str()),
        (404, Some("slot 6 is empty"))
    );
    let (status, v) = api.put(&path, json!({"action": "bridge"})).await;
    assert_eq!(
        (status, v["message"].as_str()),
        (404, Some("no parked calls"))
    );
}

/// Park calls in slots 2, 5 and 8, then bridge without a slot; returns the slot chosen.
async fn random_bridge(seed: u64) -> (String, Vec<u8>) {
    let mut cfg = cti_sim::SimConfig {
        seed,
        ..Default::default()
    };
    cfg.telphin.auto_answer_secs = None;
    cfg.telphin.extensions = extensions();
    let sim = cti_sim::Sim::start(cfg).await.unwrap();
    let api = Api::new(&sim).await;
    for (i, slot) in [2, 5, 8].into_iter().enumerate() {
        let c = answered_call(&sim, &format!("+7900111000{i}"), AGENT_NUMBER);
        let (s, _) = api
            .put(
                &format!("/extension/{AGENT}/valet_park/{}", c.api_id),
                json!({"action": "park", "slot": slot}),
            )
            .await;
        assert_eq!(s, 200);
    }
    let current = answered_call(&sim, "+79002220000", AGENT_NUMBER);
    let (status, v) = api
        .put(
            &format!("/extension/{AGENT}/valet_park/{}", current.api_id),
            json!({"action": "bridge"}),
        )
        .await;
    assert_eq!(status, 200);
    let slot = v["slot"].as_str().unwrap().to_string();
    let n: u8 = slot.parse().unwrap();
    assert!([2, 5, 8].contains(&n));
    assert!(sim.world().free_slots(AGENT).contains(&n));
    let free = sim.world().free_slots(AGENT);
    sim.shutdown();
    (slot, free)
}

#[tokio::test]
async fn bridge_without_a_slot_picks_an_occupied_slot_reproducibly() {
    let first = random_bridge(7).await;
    let again = random_bridge(7).await;
    assert_eq!(first, again, "the same seed picks the same slot");
    let mut picks = std::collections::BTreeSet::new();
    for seed in 0..12 {
        picks.insert(random_bridge(seed).await.0);
    }
    assert!(
        picks.len() > 1,
        "different seeds pick different slots: {picks:?}"
    );
}

#[tokio::test]
async fn a_parked_call_rings_the_parker_again_after_three_simulated_minutes() {
    // 180 simulated seconds at 120x = 1.5 s.
    let sim = sim_with(120.0, |_| {}).await;
    let api = Api::new(&sim).await;
    let mut events = sim.world().subscribe();
    let call = answered_call(&sim, "+79001110001", AGENT_NUMBER);
    let (status, _) = api
        .put(
            &format!("/extension/{AGENT}/valet_park/{}", call.api_id),
            json!({"action": "park", "slot": 4}),
        )
        .await;
    assert_eq!(status, 200);
    let parked_at = sim.world().now_ms();

    let ringing = eventually(10, || {
        let c = sim.world().call(&call.id)?;
        (c.state == CallState::Ringing).then_some(c)
    })
    .await;
    let waited = sim.world().now_ms() - parked_at;
    assert!(waited >= 180_000, "returned after {waited} simulated ms");
    let leg = ringing
        .legs
        .iter()
        .find(|l| l.state == LegState::Ringing)
        .unwrap();
    assert_eq!(leg.target, AGENT_NUMBER);
    assert_eq!(ringing.parked_slot, None);
    assert!(sim.world().free_slots(AGENT).contains(&4));
    let mut returned = false;
    while let Ok(ev) = events.try_recv() {
        if ev.call.id == call.id {
            if let WorldEventKind::Unparked { slot, how } = &ev.kind {
                returned = *slot == 4 && how == "returned";
            }
        }
    }
    assert!(
        returned,
        "an Unparked {{ how: returned }} event was published"
    );

    cti_sim::telphin::answer_leg(&sim.ctx, &call.id, &leg.id).unwrap();
    let c = sim.world().call(&call.id).unwrap();
    assert_eq!(
        (c.state, c.connected_to.as_deref()),
        (CallState::Active, Some(AGENT_NUMBER))
    );
}

#[tokio::test]
async fn rest_faults_apply() {
    let sim = sim_with(1.0, |_| {}).await;
    let api = Api::new(&sim).await;
    sim.faults().set_rest_status(503);
    let (status, v) = api.get("/user").await;
    assert_eq!(
        (status, v["message"].as_str()),
        (503, Some("Simulated failure"))
    );
    sim.faults().set_rest_status(0);
    assert_eq!(api.get("/user").await.0, 200);
    assert!(!sim
        .journal()
        .find(Channel::TelphinRest, Dir::In, "GET /api/ver1.0/user")
        .is_empty());
    assert!(!sim
        .journal()
        .find(Channel::TelphinRest, Dir::Out, "503 GET /api/ver1.0/user")
        .is_empty());
}
