//! Era WebSocket front-end over real loopback sockets: auth, framing, subscriptions, events,
//! `ccs` call control and faults.

mod era_common;

use era_common::*;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Error as WsError;

fn http_status(e: WsError) -> u16 {
    match e {
        WsError::Http(resp) => resp.status().as_u16(),
        other => panic!("expected an HTTP refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn wrong_or_missing_token_is_refused_before_upgrade() {
    let sim = sim().await;
    assert_eq!(
        http_status(
            Ws::connect(&sim, "/ws/token/v1/wrong")
                .await
                .err()
                .expect("refused")
        ),
        403
    );
    assert_eq!(
        http_status(
            Ws::connect(&sim, "/ws/token/v1")
                .await
                .err()
                .expect("refused")
        ),
        401
    );
    assert_eq!(
        http_status(
            Ws::connect_bearer(&sim, "/ws/token/v1", "nope")
                .await
                .err()
                .expect("refused")
        ),
        403
    );
    // A user token is not a Token-API token, and the other way round.
    assert_eq!(
        http_status(
            Ws::connect(&sim, "/ws/token/v1/era-user-101")
                .await
                .err()
                .expect("refused")
        ),
        403
    );
    assert_eq!(
        http_status(
            Ws::connect(&sim, &format!("/ws/user/v1/{TOKEN}"))
                .await
                .err()
                .expect("refused")
        ),
        403
    );

    let mut a = Ws::connect(&sim, &format!("/ws/token/v1/{TOKEN}"))
        .await
        .expect("path token");
    assert_eq!(
        a.request("connection_info", json!({})).await["ownertype"],
        "token"
    );
    let mut b = Ws::connect_bearer(&sim, "/ws/token/v1", TOKEN)
        .await
        .expect("bearer token");
    assert_eq!(
        b.request("connection_info", json!({})).await["result"],
        "ok"
    );
    let mut u = Ws::connect_bearer(&sim, "/ws/user/v1", "era-user-102")
        .await
        .expect("user bearer");
    let info = u.request("connection_info", json!({})).await;
    assert_eq!(info["ownertype"], "user");
    assert_eq!(info["user"], "102");
    Ws::connect(&sim, "/ws/user/v1/era-user-101")
        .await
        .expect("user token in path");
}

#[tokio::test]
async fn user_api_path_is_configurable() {
    let sim = sim_with(|c| c.era.user_path = "/ws/agent/v2/".into()).await;
    Ws::connect(&sim, "/ws/agent/v2/era-user-101")
        .await
        .expect("custom user path");
    assert!(Ws::connect(&sim, "/ws/user/v1/era-user-101").await.is_err());
}

#[tokio::test]
async fn qid_is_echoed_exactly_whatever_its_type() {
    let sim = sim().await;
    let mut ws = Ws::token(&sim).await;
    for qid in [
        json!(0.1234),
        json!(930293482233u64),
        json!("abc-1"),
        json!(-7),
        json!({"n": 1}),
    ] {
        let r = ws
            .request_raw("connection_info", json!({ "qid": qid.clone() }), &qid)
            .await;
        assert_eq!(r["qid"], qid);
        assert_eq!(r["result"], "ok");
        assert!(r["capabilities"]
            .as_array()
            .expect("caps")
            .contains(&json!("ivrapi")));
    }
}

#[tokio::test]
async fn bad_frames_get_errors_and_the_socket_survives() {
    let sim = sim().await;
    let mut ws = Ws::token(&sim).await;
    ws.send_text("this is not json").await;
    let (_, e) = ws.wait_for(|n, _| n == "error").await;
    assert_eq!(e["result"], "error");
    assert_eq!(e["error_code"], 1405);
    ws.send_text(r#"{"not":"an array"}"#).await;
    ws.wait_for(|n, _| n == "error").await;
    let r = ws.request("no_such_request", json!({})).await;
    assert_eq!(r["result"], "error");
    assert_eq!(r["error_code"], 1403);
    let r = ws.request("subscribe", json!({ "events": ["*"] })).await;
    assert_eq!(r["error_code"], 1413, "subscribe without id: {r}");
    assert_eq!(
        ws.request("connection_info", json!({})).await["result"],
        "ok"
    );
}

#[tokio::test]
async fn rest_like_error_shape_is_configurable() {
    let sim = sim_with(|c| c.era.error_shape = cti_sim::era::ErrorShape::Rest).await;
    let mut ws = Ws::token(&sim).await;
    let r = ws.request("bye", json!({ "idconn": "nope" })).await;
    assert!(r.get("result").is_none(), "{r}");
    assert_eq!(r["error_code"], 1404);
    assert!(r["error_message"]
        .as_str()
        .expect("message")
        .contains("nope"));
    assert!(r["error_details"].is_object());
}

#[tokio::test]
async fn call_events_carry_consistent_ids() {
    let sim = sim().await;
    let mut ws = Ws::token(&sim).await;
    ws.subscribe("s1", &["callevents.*", "ccsevents.*"], &[], 300)
        .await;
    let (id, leg_a) = ringing_call(&sim, "+79001112233", "101");
    let leg_b = sim.world().ring(&id, "102").expect("ring");
    sim.world().end_leg(&id, &leg_a, "486").expect("busy");
    sim.world().answer(&id, &leg_b).expect("answer");
    sim.world().hangup(&id, "200").expect("hangup");

    let created = ws.notify("ccsevents", "connection_create").await;
    let fork = ws.notify("callevents", "fork_start").await;
    let stop = ws.notify("callevents", "fork_stop").await;
    let dlg = ws.notify("callevents", "dlg_start").await;
    let deleted = ws.notify("ccsevents", "connection_delete").await;
    let dlg_stop = ws.notify("callevents", "dlg_stop").await;
    let cid = created["data"]["cid"].as_str().expect("cid").to_string();
    let invitets = created["data"]["invitets"].as_i64().expect("invitets");
    let conn = format!("{cid}.{invitets}");
    for ev in [&created, &fork, &stop, &dlg, &deleted, &dlg_stop] {
        assert_eq!(ev["data"]["cid"], json!(cid));
        assert_eq!(ev["data"]["connectionid"], json!(conn));
        assert_eq!(ev["data"]["dialogid"], created["data"]["dialogid"]);
        assert!(ev["eventts"].as_i64().is_some());
        assert!(ev["data"]["eventid"].as_str().is_some());
    }
    assert_eq!(fork["data"]["forkcallednum"], "101");
    assert_eq!(stop["data"]["sipcode"], 486);
    assert_eq!(stop["data"]["forkcallid"], fork["data"]["forkcallid"]);
    assert_eq!(dlg["data"]["forkcallednum"], "102");
    assert_eq!(dlg_stop["data"]["forkcallid"], dlg["data"]["forkcallid"]);
    assert_eq!(deleted["data"]["resultcode"], "200");
    assert_eq!(created["data"]["callernum"], "+79001112233");
}

#[tokio::test]
async fn subscriptions_expire_renew_and_are_removed() {
    let sim = sim().await;
    let mut obs = observer(&sim).await;
    let mut ws = Ws::token(&sim).await;
    // 60 simulated seconds = 1 real second at speed 60.
    let r = ws.subscribe("short", &["callevents.*"], &[], 60).await;
    assert_eq!(r["expires"], 60);
    ws.subscribe("renewed", &["ccsevents.connection_create"], &[], 60)
        .await;
    ringing_call(&sim, "1", "101");
    ws.notify("callevents", "fork_start").await;
    ws.notify("ccsevents", "connection_create").await;

    pause(500).await;
    // Renewal with the same id and only `expires`.
    let r = ws
        .request("subscribe", json!({ "id": "renewed", "expires": 120 }))
        .await;
    assert_eq!(r["result"], "ok");
    pause(700).await;
    // "short" has expired; "renewed" has not.
    ringing_call(&sim, "2", "101");
    obs.notify("callevents", "fork_start").await;
    ws.notify("ccsevents", "connection_create").await;
    let seen = ws.drain().await;
    assert!(
        !seen.iter().any(|(_, b)| b["class"] == "callevents"),
        "expired subscription delivered: {seen:?}"
    );
    // Renewing an expired subscription without `events` is refused: it is gone.
    let r = ws
        .request("subscribe", json!({ "id": "short", "expires": 60 }))
        .await;
    assert_eq!(r["result"], "error");

    let r = ws
        .request("subscribe", json!({ "id": "renewed", "expires": 0 }))
        .await;
    assert_eq!(r["result"], "ok");
    ringing_call(&sim, "3", "101");
    obs.notify("ccsevents", "connection_create").await;
    obs.notify("ccsevents", "connection_create").await;
    assert!(ws.drain().await.iter().all(|(n, _)| n != "notify"));
    assert!(sim_subs(&sim).is_empty() || sim_subs(&sim).iter().all(|(_, id)| id == "observer"));
}

fn sim_subs(sim: &cti_sim::Sim) -> Vec<(u64, String)> {
    cti_sim::era::control(&sim.ctx).subscriptions()
}

#[tokio::test]
async fn objects_and_event_masks_filter() {
    let sim = sim().await;
    let mut obs = observer(&sim).await;
    let mut ws = Ws::token(&sim).await;
    ws.subscribe("only101", &["callevents.fork_start"], &["101"], 300)
        .await;
    ringing_call(&sim, "+7900", "102");
    obs.notify("callevents", "fork_start").await;
    assert!(
        ws.drain().await.is_empty(),
        "event for 102 leaked to a 101 subscription"
    );
    let (id, _) = ringing_call(&sim, "+7900", "101");
    let ev = ws.notify("callevents", "fork_start").await;
    assert_eq!(ev["data"]["forkcallednum"], "101");
    sim.world().hangup(&id, "603-S").expect("hangup");
    obs.notify("ccsevents", "connection_delete").await;
    let seen = ws.drain().await;
    assert!(
        seen.iter().all(|(_, b)| b["type"] == "fork_start"),
        "mask leaked: {seen:?}"
    );
}

#[tokio::test]
async fn user_api_sees_only_its_extension() {
    let sim = sim().await;
    let mut obs = observer(&sim).await;
    let mut u = Ws::connect(&sim, "/ws/user/v1/era-user-101")
        .await
        .expect("user ws");
    u.subscribe("mine", &["callevents.*"], &[], 300).await;
    ringing_call(&sim, "+7900", "102");
    obs.notify("callevents", "fork_start").await;
    assert!(u.drain().await.is_empty(), "user 101 saw a call of 102");
    ringing_call(&sim, "+7900", "101");
    assert_eq!(
        u.notify("callevents", "fork_start").await["data"]["forkcallednum"],
        "101"
    );
    // Asking for someone else's objects does not widen what a user sees.
    u.subscribe("theirs", &["callevents.*"], &["102"], 300)
        .await;
    ringing_call(&sim, "+7901", "102");
    obs.notify("callevents", "fork_start").await;
    obs.notify("callevents", "fork_start").await;
    assert!(u.drain().await.is_empty());
    // Nor can a user control someone else's call.
    let list = u.request("list_connections", json!({})).await;
    assert_eq!(list["connections"].as_array().expect("list").len(), 1);
}

#[tokio::test]
async fn ccs_requests_act_on_the_world() {
    let sim = sim().await;
    let mut ws = Ws::token(&sim).await;
    ws.subscribe("all", &["*"], &[], 300).await;
    let (id, _) = answered_call(&sim, "+79005550000", "101");
    let created = ws.notify("ccsevents", "connection_create").await;
    let idconn = created["data"]["connectionid"].clone();

    assert_eq!(
        ws.request("hold", json!({ "idconn": idconn })).await["result"],
        "ok"
    );
    let held = ws.notify("ccsevents", "call_set_state").await;
    let held = if held["data"]["state"] == "hold" {
        held
    } else {
        ws.notify("ccsevents", "call_set_state").await
    };
    assert_eq!(held["data"]["state"], "hold");
    let r = ws.request("hold", json!({ "idconn": idconn })).await;
    assert_eq!(r["result"], "error", "holding a held call: {r}");
    assert_eq!(
        ws.request("talk", json!({ "idconn": idconn })).await["result"],
        "ok"
    );
    assert_eq!(
        ws.request("send_dtmf", json!({ "idconn": idconn, "dtmf": "12#" }))
            .await["result"],
        "ok"
    );
    assert_eq!(
        ws.request("send_dtmf", json!({ "idconn": idconn, "dtmf": "x" }))
            .await["error_code"],
        1413
    );
    let list = ws.request("list_connections", json!({})).await;
    assert_eq!(list["connections"][0]["state"], "talk");
    assert_eq!(
        ws.request("refer", json!({ "idconn": idconn, "number": "102" }))
            .await["result"],
        "ok"
    );
    let upd = ws.notify("ccsevents", "connection_update").await;
    assert_eq!(upd["data"]["referto"], "102");
    // Remote answer of the ringing transfer leg with `talk`.
    assert_eq!(
        ws.request("talk", json!({ "idconn": idconn })).await["result"],
        "ok"
    );
    assert_eq!(
        sim.world().call(&id).expect("call").connected_to.as_deref(),
        Some("102")
    );
    assert_eq!(
        ws.request("bye", json!({ "idconn": idconn })).await["result"],
        "ok"
    );
    let del = ws.notify("ccsevents", "connection_delete").await;
    assert_eq!(del["data"]["resultcode"], "200");
    assert_eq!(
        ws.request("bye", json!({ "idconn": idconn })).await["error_code"],
        1406
    );
    assert_eq!(
        ws.request("bye", json!({ "idconn": "missing.1" })).await["error_code"],
        1404
    );

    let r = ws
        .request(
            "new_invite",
            json!({ "owner": "101", "number": "+74951234567" }),
        )
        .await;
    assert_eq!(r["result"], "ok");
    let (_, fork) = ws
        .wait_for(|n, b| {
            n == "notify"
                && b["type"] == "fork_start"
                && b["data"]["forkcallednum"] == "+74951234567"
        })
        .await;
    assert_eq!(fork["data"]["connectionid"], r["idconn"]);
}

#[tokio::test]
async fn drop_fault_closes_sockets_and_clients_can_reconnect() {
    let sim = sim().await;
    let mut ws = Ws::token(&sim).await;
    ws.request("connection_info", json!({})).await;
    sim.faults().drop_websockets();
    assert!(ws.closed().await);
    let mut again = Ws::token(&sim).await;
    assert_eq!(
        again.request("connection_info", json!({})).await["result"],
        "ok"
    );
    let dropped = sim
        .journal()
        .find(cti_sim::Channel::EraWs, cti_sim::Dir::In, "connection_info");
    assert_eq!(dropped.len(), 2);
}

#[tokio::test]
async fn recordings_are_downloadable_for_a_while() {
    let sim = sim_with(|c| c.era.file_link_secs = 60).await;
    let mut ws = Ws::token(&sim).await;
    ws.subscribe("all", &["ccsevents.*"], &[], 300).await;
    let (id, _) = answered_call(&sim, "+7900", "101");
    sim.world()
        .set_recording(&id, "fs:main1:Srv-002/2020-09-24/rec-1.mp3")
        .expect("rec");
    let info = ws.notify("ccsevents", "connection_set_record_info").await;
    let key = info["data"]["key"].clone();
    let r = ws
        .request("callrecord_get_path", json!({ "key": key }))
        .await;
    let path = r["result"].as_str().expect("path").to_string();
    assert!(path.starts_with("/files/era/"));
    let url = format!("{}{}", sim.base_url(), path);
    let resp = reqwest::get(&url).await.expect("get");
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(&resp.bytes().await.expect("body")[0..4], b"RIFF");
    pause(1200).await; // 60 simulated seconds
    assert_eq!(
        reqwest::get(&url).await.expect("get").status().as_u16(),
        404
    );
    let r = ws
        .request("callrecord_get_path", json!({ "key": "nope" }))
        .await;
    assert_eq!(r["error_code"], 1404);
    let _: Value = r;
}
