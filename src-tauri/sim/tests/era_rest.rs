//! Era REST `/rest/v1/uc/calls[_by_participation]` with custom HTTP verbs over loopback.

mod era_common;

use cti_sim::world::CallState;
use era_common::*;
use reqwest::Method;
use serde_json::{json, Value};

async fn call(
    sim: &cti_sim::Sim,
    verb: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let m = Method::from_bytes(verb.as_bytes()).expect("verb");
    let mut req = reqwest::Client::new()
        .request(m, format!("{}{path}", sim.base_url()))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("send");
    let status = resp.status().as_u16();
    (status, resp.json().await.expect("json body"))
}

#[tokio::test]
async fn custom_verbs_act_on_the_world() {
    let sim = sim().await;
    let (id, _) = answered_call(&sim, "+79001234567", "101");
    let (s, list) = call(&sim, "GET", "/rest/v1/uc/calls", TOKEN, None).await;
    assert_eq!(s, 200);
    let list = list.as_array().expect("array").clone();
    assert_eq!(list.len(), 1);
    let conn = list[0]["id"].as_str().expect("id").to_string();
    assert_eq!(list[0]["state"], "talk");
    assert_eq!(list[0]["a"]["number"], "+79001234567");
    let item = format!("/rest/v1/uc/calls/{conn}");

    let (s, v) = call(&sim, "GET", &item, TOKEN, None).await;
    assert_eq!((s, v["connectionid"].as_str()), (200, Some(conn.as_str())));
    let (s, _) = call(&sim, "NOTIFY", &item, TOKEN, Some(json!({"event": "hold"}))).await;
    assert_eq!(s, 200);
    assert_eq!(sim.world().call(&id).expect("call").state, CallState::Held);
    let (s, v) = call(&sim, "NOTIFY", &item, TOKEN, Some(json!({"event": "hold"}))).await;
    assert_eq!((s, v["error_code"].as_u64()), (409, Some(1406)));
    call(&sim, "NOTIFY", &item, TOKEN, Some(json!({"event": "talk"}))).await;
    assert_eq!(
        sim.world().call(&id).expect("call").state,
        CallState::Active
    );
    let (s, v) = call(
        &sim,
        "SEND_DTMF",
        &item,
        TOKEN,
        Some(json!({"dtmf": "123"})),
    )
    .await;
    assert_eq!((s, v["result"].as_str()), (200, Some("ok")));
    let (s, v) = call(
        &sim,
        "SWITCHCONF",
        &item,
        TOKEN,
        Some(json!({"number": "103"})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert!(v["conference_id"].as_str().is_some());
    assert!(sim
        .world()
        .call(&id)
        .expect("call")
        .legs
        .iter()
        .any(|l| l.target == "103"));
    let (s, _) = call(&sim, "REFER", &item, TOKEN, Some(json!({"number": "102"}))).await;
    assert_eq!(s, 200);
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
    let (s, v) = call(
        &sim,
        "LOOKUP",
        "/rest/v1/uc/calls",
        TOKEN,
        Some(json!({"number": "+79001234567"})),
    )
    .await;
    assert_eq!((s, v["id"].as_str()), (200, Some(conn.as_str())));
    let (s, _) = call(&sim, "DELETE", &item, TOKEN, None).await;
    assert_eq!(s, 200);
    assert_eq!(sim.world().call(&id).expect("call").state, CallState::Ended);

    let (s, v) = call(
        &sim,
        "INVITE",
        "/rest/v1/uc/calls",
        TOKEN,
        Some(json!({"from": "101", "to": "102"})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let (_, v2) = call(
        &sim,
        "GET",
        &format!("/rest/v1/uc/calls/{}", v["id"].as_str().expect("id")),
        TOKEN,
        None,
    )
    .await;
    assert_eq!(v2["state"], "ringing");
    assert_eq!(v2["direction"], "local");
    let (s, _) = call(
        &sim,
        "POST",
        "/rest/v1/uc/calls",
        TOKEN,
        Some(json!({"owner": "101", "number": "+74950001122"})),
    )
    .await;
    assert_eq!(s, 200);
    let (s, v) = call(
        &sim,
        "REFERCONF",
        &format!("/rest/v1/uc/calls/{}", v["id"].as_str().expect("id")),
        TOKEN,
        Some(json!({"number": "103"})),
    )
    .await;
    assert_eq!(
        (s, v["error_code"].as_u64()),
        (409, Some(1406)),
        "a ringing call cannot become a conference"
    );
}

#[tokio::test]
async fn errors_use_the_platform_body() {
    let sim = sim().await;
    let (s, v) = call(&sim, "GET", "/rest/v1/uc/calls", "wrong", None).await;
    assert_eq!((s, v["error_code"].as_u64()), (401, Some(1407)));
    let resp = reqwest::get(format!("{}/rest/v1/uc/calls", sim.base_url()))
        .await
        .expect("get");
    assert_eq!(resp.status().as_u16(), 401);
    let (s, v) = call(&sim, "GET", "/rest/v1/uc/calls/none.1", TOKEN, None).await;
    assert_eq!((s, v["error_code"].as_u64()), (404, Some(1404)));
    assert!(v["error_message"]
        .as_str()
        .expect("message")
        .contains("none.1"));
    let (s, v) = call(&sim, "FROBNICATE", "/rest/v1/uc/calls", TOKEN, None).await;
    assert_eq!((s, v["error_code"].as_u64()), (405, Some(1403)));
    let (s, v) = call(
        &sim,
        "POST",
        "/rest/v1/uc/calls",
        TOKEN,
        Some(json!({"from": "101"})),
    )
    .await;
    assert_eq!((s, v["error_code"].as_u64()), (400, Some(1413)));
    assert_eq!(v["error_details"]["field"], "number");

    sim.faults().set_rest_status(503);
    let (s, v) = call(&sim, "GET", "/rest/v1/uc/calls", TOKEN, None).await;
    assert_eq!((s, v["error_code"].as_u64()), (503, Some(1501)));
    sim.faults().set_rest_status(0);
    let (s, _) = call(&sim, "GET", "/rest/v1/uc/calls", TOKEN, None).await;
    assert_eq!(s, 200);
    let logged = sim
        .journal()
        .find(cti_sim::Channel::EraRest, cti_sim::Dir::In, "FROBNICATE");
    assert_eq!(logged.len(), 1);
}

#[tokio::test]
async fn calls_by_participation_shows_the_users_calls_only() {
    let sim = sim().await;
    answered_call(&sim, "+7900", "101");
    answered_call(&sim, "+7901", "102");
    let (_, mine) = call(
        &sim,
        "GET",
        "/rest/v1/uc/calls_by_participation",
        "era-user-101",
        None,
    )
    .await;
    let mine = mine.as_array().expect("array").clone();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["connected"], "101");
    let (_, all) = call(
        &sim,
        "GET",
        "/rest/v1/uc/calls_by_participation",
        TOKEN,
        None,
    )
    .await;
    assert_eq!(all.as_array().expect("array").len(), 2);
    let (_, theirs) = call(&sim, "GET", "/rest/v1/uc/calls", "era-user-102", None).await;
    let other = format!(
        "/rest/v1/uc/calls_by_participation/{}",
        mine[0]["id"].as_str().expect("id")
    );
    let (s, _) = call(&sim, "DELETE", &other, "era-user-102", None).await;
    assert_eq!(s, 404, "user 102 cannot touch 101's call");
    assert_eq!(theirs.as_array().expect("array").len(), 1);
    let (s, v) = call(
        &sim,
        "POST",
        "/rest/v1/uc/calls_by_participation",
        "era-user-102",
        Some(json!({"from": "101", "to": "103"})),
    )
    .await;
    assert_eq!((s, v["error_code"].as_u64()), (403, Some(1401)));
}
