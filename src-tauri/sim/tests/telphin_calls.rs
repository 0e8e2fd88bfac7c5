//! Telphin current calls: listing, control actions, hang-up and click-to-call over loopback.

mod telphin_common;

use cti_sim::telphin::answer_leg;
use cti_sim::world::{CallState, Direction, LegState};
use serde_json::{json, Value};
use telphin_common::*;

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|c| c["call_api_id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn current_calls_are_listed_per_client_and_per_extension() {
    let sim = sim_with(1.0, |_| {}).await;
    let api = Api::new(&sim).await;
    let a = answered_call(&sim, "+79001110001", AGENT_NUMBER);
    let b = answered_call(&sim, "+79001110002", AGENT2_NUMBER);
    let out = sim.world().create_call(
        Direction::Outbound,
        AGENT_NUMBER,
        Some("Agent"),
        "+74950000000",
        None,
    );
    sim.world().ring(&out.id, "+74950000000").unwrap();

    let (status, all) = api.get("/client/@me/current_calls/").await;
    assert_eq!(status, 200);
    let all_ids = ids(&all);
    assert!(
        all_ids.contains(&a.api_id) && all_ids.contains(&b.api_id) && all_ids.contains(&out.api_id)
    );
    assert_eq!(api.get("/client/3232/current_calls").await.0, 200);
    assert_eq!(api.get("/client/999/current_calls/").await.0, 403);

    let (status, mine) = api.get(&format!("/extension/{AGENT}/current_calls/")).await;
    assert_eq!(status, 200);
    let mut mine_ids = ids(&mine);
    mine_ids.sort();
    let mut expected = vec![a.api_id.clone(), out.api_id.clone()];
    expected.sort();
    assert_eq!(mine_ids, expected);
    let item = mine
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["call_api_id"] == a.api_id.as_str())
        .unwrap();
    assert_eq!(item["call_flow"], "in");
    assert_eq!(item["extension_id"], 34414);
    assert_eq!(item["caller_id_number"], "+79001110001");
    assert_eq!(item["called_did"], "74951234567");
    assert_eq!(item["real_call"], true);
    assert!(item["init_time_gmt"].as_str().unwrap().len() == 19);
    assert!(item["answer_time_gmt"].is_string());
    let item = mine
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["call_api_id"] == out.api_id.as_str())
        .unwrap();
    assert_eq!(item["call_flow"], "out");
    assert_eq!(item["caller_extension"]["id"], 34414);
    assert!(item["answer_time_gmt"].is_null());
}

#[tokio::test]
async fn transfer_hold_park_and_hangup_act_on_the_world() {
    let sim = sim_with(1.0, |_| {}).await;
    let api = Api::new(&sim).await;
    let w = sim.world();
    let path = |c: &cti_sim::world::Call| format!("/extension/{AGENT}/current_calls/{}", c.api_id);

    let c = answered_call(&sim, "+79001110001", AGENT_NUMBER);
    let (s, _) = api
        .put(&path(&c), json!({"action": "hold", "send_dst": ""}))
        .await;
    assert_eq!(s, 200);
    assert_eq!(w.call(&c.id).unwrap().state, CallState::Held);
    let (s, v) = api.put(&path(&c), json!({"action": "hold"})).await;
    assert_eq!(s, 400, "holding a held call is refused: {v}");
    api.put(&path(&c), json!({"action": "offhold"})).await;
    assert_eq!(w.call(&c.id).unwrap().state, CallState::Active);

    let (s, v) = api.put(&path(&c), json!({"action": "transfer"})).await;
    assert_eq!(
        (s, v["message"].as_str()),
        (400, Some("send_dst is required for transfer"))
    );
    // The destination may be given as a Telphin extension name.
    let (s, v) = api
        .put(
            &path(&c),
            json!({"action": "transfer", "send_dst": "022*102"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let leg = v["sub_call_id"].as_str().unwrap().to_string();
    let t = w.call(&c.id).unwrap();
    assert_eq!(t.state, CallState::Ringing);
    assert_eq!(
        t.legs.iter().find(|l| l.id == leg).unwrap().target,
        AGENT2_NUMBER
    );
    answer_leg(&sim.ctx, &c.id, &leg).unwrap();
    assert_eq!(
        w.call(&c.id).unwrap().connected_to.as_deref(),
        Some(AGENT2_NUMBER)
    );
    // The call is no longer on the agent's extension.
    assert_eq!(api.put(&path(&c), json!({"action": "hold"})).await.0, 404);

    let c = answered_call(&sim, "+79001110002", AGENT_NUMBER);
    let (s, v) = api
        .put(
            &path(&c),
            json!({"action": "attended_transfer", "send_dst": "102"}),
        )
        .await;
    assert_eq!(s, 200);
    let t = w.call(&c.id).unwrap();
    assert_eq!(
        t.state,
        CallState::Held,
        "the caller waits while the agent consults"
    );
    answer_leg(&sim.ctx, &c.id, v["sub_call_id"].as_str().unwrap()).unwrap();
    let t = w.call(&c.id).unwrap();
    assert_eq!(
        (t.state, t.connected_to.as_deref()),
        (CallState::Active, Some(AGENT2_NUMBER))
    );

    let c = answered_call(&sim, "+79001110003", AGENT_NUMBER);
    let (s, v) = api
        .put(&path(&c), json!({"action": "park", "send_dst": ""}))
        .await;
    assert_eq!((s, v["slot"].as_str()), (200, Some("1")));
    assert_eq!(w.call(&c.id).unwrap().state, CallState::Parked);

    let c = answered_call(&sim, "+79001110004", AGENT_NUMBER);
    let (s, _) = api.delete(&path(&c)).await;
    assert_eq!(s, 204);
    let ended = w.call(&c.id).unwrap();
    assert_eq!(
        (ended.state, ended.result_code.as_deref()),
        (CallState::Ended, Some("200"))
    );
    assert_eq!(api.delete(&path(&c)).await.0, 404);
    assert_eq!(api.put(&path(&c), json!({"action": "juggle"})).await.0, 404);
    let c = answered_call(&sim, "+79001110005", AGENT_NUMBER);
    assert_eq!(api.put(&path(&c), json!({"action": "juggle"})).await.0, 400);
}

#[tokio::test]
async fn pickup_eavesdrop_whisper_and_conference_ring_send_dst() {
    let sim = sim_with(1.0, |_| {}).await;
    let api = Api::new(&sim).await;
    let w = sim.world();

    // Pickup of a call ringing on the agent: 102 takes it.
    let ringing = w.create_call(Direction::Inbound, "+79001110001", None, AGENT_NUMBER, None);
    w.ring(&ringing.id, AGENT_NUMBER).unwrap();
    let p = format!("/extension/{AGENT}/current_calls/{}", ringing.api_id);
    let (s, v) = api
        .put(&p, json!({"action": "pickup", "send_dst": AGENT2_NUMBER}))
        .await;
    assert_eq!(s, 200);
    answer_leg(&sim.ctx, &ringing.id, v["sub_call_id"].as_str().unwrap()).unwrap();
    let c = w.call(&ringing.id).unwrap();
    assert_eq!(c.connected_to.as_deref(), Some(AGENT2_NUMBER));
    assert!(c
        .legs
        .iter()
        .filter(|l| l.target == AGENT_NUMBER)
        .all(|l| l.state == LegState::Ended));

    // Eavesdrop and whisper: the supervisor joins, the agent stays connected.
    let c = answered_call(&sim, "+79001110002", AGENT_NUMBER);
    let p = format!("/extension/{AGENT}/current_calls/{}", c.api_id);
    for action in ["eavesdrop", "whisper", "conference"] {
        let (s, v) = api
            .put(&p, json!({"action": action, "send_dst": SUPERVISOR_NUMBER}))
            .await;
        assert_eq!(s, 200, "{action}: {v}");
        let leg = v["sub_call_id"].as_str().unwrap().to_string();
        answer_leg(&sim.ctx, &c.id, &leg).unwrap();
        let now = w.call(&c.id).unwrap();
        assert_eq!(now.connected_to.as_deref(), Some(AGENT_NUMBER), "{action}");
        assert_eq!(
            now.legs.iter().find(|l| l.id == leg).unwrap().state,
            LegState::Answered
        );
        let agent_leg = now.legs.iter().find(|l| l.target == AGENT_NUMBER).unwrap();
        assert_eq!(
            agent_leg.state,
            LegState::Answered,
            "{action} keeps the agent"
        );
    }

    // Eavesdrop needs a conversation.
    let r = w.create_call(Direction::Inbound, "+79001110003", None, AGENT_NUMBER, None);
    w.ring(&r.id, AGENT_NUMBER).unwrap();
    let p = format!("/extension/{AGENT}/current_calls/{}", r.api_id);
    assert_eq!(
        api.put(&p, json!({"action": "eavesdrop", "send_dst": "103"}))
            .await
            .0,
        400
    );
}

#[tokio::test]
async fn click_to_call_rings_the_agent_then_the_destination() {
    let sim = sim_with(60.0, |t| t.auto_answer_secs = Some(2.0)).await;
    let api = Api::new(&sim).await;
    let (s, v) = api
        .post(
            &format!("/extension/{AGENT}/callback/"),
            json!({"src_num": ["022*101"], "dst_num": "+74950001122", "caller_id_name": "Shop"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let api_id = v["call_api_id"].as_str().unwrap().to_string();
    let call_id = v["call_id"].as_str().unwrap().to_string();
    let c = sim.world().call(&api_id).unwrap();
    assert_eq!(c.id, call_id);
    assert_eq!(
        (c.from.as_str(), c.to.as_str()),
        (AGENT_NUMBER, "+74950001122")
    );

    // The agent's phone answers (auto-answer), then the destination rings and answers.
    let done = eventually(10, || {
        let c = sim.world().call(&call_id)?;
        (c.legs.len() == 2 && c.legs.iter().all(|l| l.state == LegState::Answered)).then_some(c)
    })
    .await;
    assert_eq!(done.legs[0].target, AGENT_NUMBER);
    assert_eq!(done.legs[1].target, "+74950001122");
    assert_eq!(done.state, CallState::Active);

    let (_, listed) = api.get(&format!("/extension/{AGENT}/current_calls/")).await;
    let item = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["call_api_id"] == api_id.as_str())
        .unwrap();
    assert!(item["callback_id"].is_string());
    assert_eq!(item["call_flow"], "out");

    let (s, _) = api
        .post(
            &format!("/extension/{AGENT}/callback/"),
            json!({"src_num": ["101"]}),
        )
        .await;
    assert_eq!(s, 400);
}

#[tokio::test]
async fn extensions_are_listed_and_described() {
    let sim = sim_with(1.0, |_| {}).await;
    let api = Api::new(&sim).await;
    let (s, v) = api.get(&format!("/extension/{AGENT}/")).await;
    assert_eq!(s, 200);
    assert_eq!(
        (v["id"].as_u64(), v["name"].as_str(), v["type"].as_str()),
        (Some(34414), Some("022*101"), Some("phone"))
    );
    let (_, ivrs) = api.get("/client/@me/extension/?type=ivr").await;
    assert_eq!(ivrs.as_array().unwrap().len(), 1);
    assert_eq!(ivrs[0]["id"], 34450);
    assert_eq!(api.get("/extension/1/").await.0, 404);
}
