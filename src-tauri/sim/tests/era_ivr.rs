//! Era `ivrapi` (seed 002) over real loopback sockets: offer, first-wins accept, reaccept,
//! abort, timeout, components, DTMF, files.

mod era_common;

use cti_sim::era::{self, IvrFallback};
use cti_sim::world::CallState;
use era_common::*;
use serde_json::{json, Value};

/// An answered call sitting in IVR 800, offered to external control; returns (call id, key, ivrid)
/// after `ws` saw `api_start`.
async fn offered(sim: &cti_sim::Sim, ws: &mut Ws) -> (String, String, String) {
    let (id, _) = answered_call(sim, "+79001234567", "800");
    let key = era::offer_ivr_control(&sim.ctx, &id, "800", json!({"asdf": "zxcv"}));
    assert!(!key.is_empty());
    let ev = ws.notify("ivrevents", "api_start").await;
    assert_eq!(ev["data"]["key"], json!(key));
    let ivrid = ev["data"]["ivrid"].as_str().expect("ivrid").to_string();
    (id, key, ivrid)
}

async fn ivr_ws(sim: &cti_sim::Sim) -> Ws {
    let mut ws = Ws::token(sim).await;
    ws.subscribe("ivr", &["ivrevents.*"], &[], 3600).await;
    ws
}

#[tokio::test]
async fn api_start_carries_the_seed_fields() {
    let sim = sim().await;
    let mut ws = ivr_ws(&sim).await;
    let (_, key, ivrid) = offered(&sim, &mut ws).await;
    let mut u = Ws::connect(&sim, "/ws/user/v1/era-user-101")
        .await
        .expect("user");
    u.subscribe("ivr", &["ivrevents.*"], &[], 3600).await;
    let (id2, _) = answered_call(&sim, "+7901", "800");
    let key2 = era::offer_ivr_control(&sim.ctx, &id2, "800", json!("{\"raw\":1}"));
    let ev = u.notify("ivrevents", "api_start").await;
    assert_eq!(
        ev["data"]["key"],
        json!(key2),
        "user 101 may see IVR 800 (extra_objects)"
    );
    assert_eq!(ev["data"]["params"], "{\"raw\":1}");
    assert!(ev["data"]["ivrts"].as_i64().is_some());
    assert!(ev["data"]["componentid"].is_number());
    assert!(ev["data"]["callid"].as_str().is_some());
    assert!(!key.is_empty() && ivrid.starts_with("rDlg-"));
    assert_eq!(
        era::offer_ivr_control(&sim.ctx, "no-such-call", "800", Value::Null),
        ""
    );
}

#[tokio::test]
async fn first_accept_wins_and_reaccept_takes_over() {
    let sim = sim().await;
    let mut a = ivr_ws(&sim).await;
    let mut b = ivr_ws(&sim).await;
    let (_, key, ivrid) = offered(&sim, &mut a).await;
    b.notify("ivrevents", "api_start").await;
    let ra = a
        .request("ivrapi_accept", json!({ "key": key, "ivrid": ivrid }))
        .await;
    assert_eq!(ra["result"], "ok");
    let rb = b
        .request("ivrapi_accept", json!({ "key": key, "ivrid": ivrid }))
        .await;
    assert_eq!(rb["result"], "error");
    assert_eq!(rb["error_code"], 1406);
    // The loser cannot drive the session.
    let r = b
        .request(
            "ivrapi_component_apply",
            json!({ "key": key, "ivrid": ivrid, "data": {"oType": 201} }),
        )
        .await;
    assert_eq!(r["error_code"], 1401);
    // A's link breaks; a new connection re-acquires with reaccept.
    drop(a);
    let mut c = ivr_ws(&sim).await;
    let r = c
        .request("ivrapi_reaccept", json!({ "key": key, "ivrid": ivrid }))
        .await;
    assert_eq!(r["result"], "ok");
    let ctl = era::control(&sim.ctx)
        .ivr_controller(&key)
        .expect("session");
    assert!(ctl.1, "session still running");
    let r = c.request("ivrapi_component_apply", json!({ "key": key, "ivrid": ivrid, "data": {"oType": 204, "file": ":GS_PUB/x/y/14.mp3"} })).await;
    assert_eq!(r["result"], "ok", "{r}");
    // Wrong ivrid / unknown key.
    let r = c
        .request(
            "ivrapi_accept",
            json!({ "key": key, "ivrid": "rDlg-006-other" }),
        )
        .await;
    assert_eq!(r["error_code"], 1404);
    let r = c
        .request("ivrapi_accept", json!({ "key": "nope", "ivrid": ivrid }))
        .await;
    assert_eq!(r["error_code"], 1404);
}

#[tokio::test]
async fn abort_gives_control_back_and_the_script_goes_on() {
    let sim = sim().await;
    let mut ws = ivr_ws(&sim).await;
    let (id, key, ivrid) = offered(&sim, &mut ws).await;
    ws.request("ivrapi_accept", json!({ "key": key, "ivrid": ivrid }))
        .await;
    let r = ws
        .request("ivrapi_abort", json!({ "key": key, "ivrid": ivrid }))
        .await;
    assert_eq!(r["result"], "ok");
    let stop = ws.notify("ivrevents", "api_stop").await;
    assert_eq!(stop["data"]["key"], json!(key));
    assert_eq!(stop["data"]["reason"], "abort");
    // Default fallback: transfer to 101, which now rings.
    let call = sim.world().call(&id).expect("call");
    assert_eq!(call.state, CallState::Ringing);
    assert_eq!(call.legs.last().expect("leg").target, "101");
    let r = ws
        .request(
            "ivrapi_component_apply",
            json!({ "key": key, "ivrid": ivrid, "data": {"oType": 201} }),
        )
        .await;
    assert_eq!(r["error_code"], 1406, "no control after abort: {r}");
}

#[tokio::test]
async fn unaccepted_offer_times_out_and_the_script_goes_on() {
    let sim = sim_with(|c| c.era.ivr_fallback = IvrFallback::Hangup).await;
    let mut ws = ivr_ws(&sim).await;
    let (id, key, _) = offered(&sim, &mut ws).await;
    // 30 simulated seconds = 0.5 s real.
    let stop = ws.notify("ivrevents", "api_stop").await;
    assert_eq!(stop["data"]["key"], json!(key));
    assert_eq!(stop["data"]["reason"], "timeout");
    for _ in 0..100 {
        if sim.world().call(&id).expect("call").state == CallState::Ended {
            break;
        }
        pause(20).await;
    }
    assert_eq!(sim.world().call(&id).expect("call").state, CallState::Ended);
}

#[tokio::test]
async fn one_component_at_a_time_and_component_stopped() {
    // Play runs 60 simulated seconds (1 s real): ample time to be refused a second apply.
    let sim = sim_with(|c| c.era.play_secs = 60).await;
    let mut ws = ivr_ws(&sim).await;
    let (_, key, ivrid) = offered(&sim, &mut ws).await;
    ws.request("ivrapi_accept", json!({ "key": key, "ivrid": ivrid }))
        .await;
    let play = json!({ "key": key, "ivrid": ivrid, "data": {"oType": 204, "mode": 0, "file": ":GS_PUB/x/y/14.mp3"} });
    let r = ws.request("ivrapi_component_apply", play.clone()).await;
    assert_eq!(r["result"], "ok");
    let oid = r["oId"].clone();
    let r2 = ws.request("ivrapi_component_apply", play.clone()).await;
    assert_eq!(r2["result"], "error");
    assert_eq!(r2["error_code"], 1406);
    // Play stops by itself.
    let (_, stopped) = ws.wait_for(|n, _| n == "ivrapi_component_stopped").await;
    assert_eq!(stopped["oId"], oid);
    assert_eq!(stopped["transferKey"], "transfer");
    assert_eq!(stopped["key"], json!(key));
    // Now a new component is allowed; terminate it.
    let r = ws
        .request(
            "ivrapi_component_apply",
            json!({ "key": key, "ivrid": ivrid, "data": {"oType": 208, "recTimeSec": "600"} }),
        )
        .await;
    assert_eq!(r["result"], "ok");
    ws.send(
        "ivrapi_component_terminate",
        json!({ "qid": "t1", "key": key, "ivrid": ivrid }),
    )
    .await;
    let (n1, stopped) = ws
        .wait_for(|n, _| {
            n == "ivrapi_component_stopped" || n == "ivrapi_component_terminate_result"
        })
        .await;
    assert_eq!(
        n1, "ivrapi_component_stopped",
        "stopped comes before the terminate reply"
    );
    assert_eq!(stopped["transferKey"], "terminate");
    assert!(stopped["results"]["recordFile"]
        .as_str()
        .expect("file")
        .starts_with(":TEMP/ivr_records/"));
    let (_, tr) = ws
        .wait_for(|n, _| n == "ivrapi_component_terminate_result")
        .await;
    assert_eq!(tr["qid"], "t1");
    let r = ws
        .request(
            "ivrapi_component_terminate",
            json!({ "key": key, "ivrid": ivrid }),
        )
        .await;
    assert_eq!(r["error_code"], 1406, "nothing to terminate");
    // Missing oType / unknown type / missing file.
    for data in [
        json!({}),
        json!({"oType": 999}),
        json!({"oType": 204}),
        json!({"oType": 204, "file": ":TEMP/none.mp3"}),
    ] {
        let r = ws
            .request(
                "ivrapi_component_apply",
                json!({ "key": key, "ivrid": ivrid, "data": data }),
            )
            .await;
        assert_eq!(r["result"], "error", "{data} accepted");
    }
}

#[tokio::test]
async fn dtmf_reaches_the_controller_in_idle_and_component_modes() {
    let sim = sim().await;
    let mut ws = ivr_ws(&sim).await;
    ws.subscribe("calls", &["callevents.dtmf"], &[], 3600).await;
    let (id, key, ivrid) = offered(&sim, &mut ws).await;
    ws.request("ivrapi_accept", json!({ "key": key, "ivrid": ivrid }))
        .await;
    era::press_dtmf(&sim.ctx, &id, "5");
    let (n, d) = ws
        .wait_for(|n, b| n == "ivrapi_dtmf" || b["type"] == "dtmf")
        .await;
    assert_eq!(
        n, "ivrapi_dtmf",
        "ivrapi_dtmf arrives before callevents.dtmf"
    );
    assert_eq!(d["mode"], "idle");
    assert_eq!(d["dtmf"], "5");
    assert_eq!(d["key"], json!(key));
    assert!(d.get("oId").is_none());
    ws.notify("callevents", "dtmf").await;

    let rec = json!({ "key": key, "ivrid": ivrid, "data": {"oType": 208, "recTimeSec": "600", "maxSymbolCount": "3", "interruptSymbols": "#"} });
    let r = ws.request("ivrapi_component_apply", rec).await;
    let oid = r["oId"].clone();
    era::press_dtmf(&sim.ctx, &id, "78");
    for digit in ["7", "8"] {
        let (_, d) = ws.wait_for(|n, _| n == "ivrapi_dtmf").await;
        assert_eq!(d["mode"], "component");
        assert_eq!(d["oId"], oid);
        assert_eq!(d["dtmf"], digit);
    }
    era::press_dtmf(&sim.ctx, &id, "#");
    let (_, stopped) = ws.wait_for(|n, _| n == "ivrapi_component_stopped").await;
    assert_eq!(stopped["results"]["dtmfBuffer"], "78#");
    assert_eq!(stopped["transferKey"], "transfer");
}

/// A one-route HTTP server on loopback serving `bytes` at `/media/<name>`.
async fn media_server(bytes: &'static [u8]) -> String {
    let app = axum::Router::new().route(
        "/media/{name}",
        axum::routing::get(move || async move { bytes }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = l.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(l, app).await;
    });
    format!("http://{addr}/media")
}

#[tokio::test]
async fn files_upload_play_and_links_expire() {
    let sim = sim_with(|c| c.era.file_link_secs = 60).await;
    let media = media_server(b"ID3-fake-mp3-bytes").await;
    let mut ws = ivr_ws(&sim).await;
    let (_, key, ivrid) = offered(&sim, &mut ws).await;
    ws.request("ivrapi_accept", json!({ "key": key, "ivrid": ivrid }))
        .await;

    let r = ws
        .request(
            "ivrapi_file_upload_temp",
            json!({ "key": key, "ivrid": ivrid, "url": format!("{media}/14.mp3") }),
        )
        .await;
    assert_eq!(r["result"], ":TEMP/14.mp3");
    let r = ws.request("ivrapi_component_apply", json!({ "key": key, "ivrid": ivrid, "data": {"oType": 204, "mode": 0, "file": ":TEMP/14.mp3"} })).await;
    assert_eq!(r["result"], "ok", "{r}");
    ws.wait_for(|n, _| n == "ivrapi_component_stopped").await;

    let r = ws.request("ivrapi_file_upload_static", json!({ "key": key, "ivrid": ivrid, "url": format!("{media}/abc.wav"), "destpath": ":GS_PUB/a/b/c" })).await;
    assert_eq!(r["result"], ":GS_PUB/a/b/c/abc.wav");
    let r = ws
        .request(
            "file_upload_static",
            json!({ "url": format!("{media}/x.wav"), "destpath": ":GS_PUB/q/" }),
        )
        .await;
    assert_eq!(r["result"], ":GS_PUB/q/x.wav");
    let r = ws
        .request(
            "file_upload_static",
            json!({ "url": format!("{media}/x.wav"), "destpath": "/etc" }),
        )
        .await;
    assert_eq!(r["error_code"], 1413);
    let r = ws
        .request(
            "file_upload_static",
            json!({ "url": "http://127.0.0.1:1/none.wav", "destpath": ":GS_PUB/q" }),
        )
        .await;
    assert_eq!(r["error_code"], 1409);

    let r = ws
        .request(
            "ivrapi_file_get_path",
            json!({ "key": key, "ivrid": ivrid, "path": ":TEMP/14.mp3" }),
        )
        .await;
    let link = format!("{}{}", sim.base_url(), r["result"].as_str().expect("link"));
    let resp = reqwest::get(&link).await.expect("get");
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(
        resp.bytes().await.expect("body").as_ref(),
        b"ID3-fake-mp3-bytes"
    );
    pause(1200).await; // 60 simulated seconds
    assert_eq!(
        reqwest::get(&link).await.expect("get").status().as_u16(),
        404
    );
    let r = ws
        .request(
            "ivrapi_file_get_path",
            json!({ "key": key, "ivrid": ivrid, "path": ":TEMP/none.wav" }),
        )
        .await;
    assert_eq!(r["error_code"], 1404);
}

#[tokio::test]
async fn transfer_and_hangup_components_end_the_session() {
    let sim = sim().await;
    let mut ws = ivr_ws(&sim).await;
    let (id, key, ivrid) = offered(&sim, &mut ws).await;
    ws.request("ivrapi_accept", json!({ "key": key, "ivrid": ivrid }))
        .await;
    let r = ws.request("ivrapi_component_apply", json!({ "key": key, "ivrid": ivrid, "data": {"oType": 203, "number": "102", "reinviteMode": 2} })).await;
    assert_eq!(r["result"], "ok");
    ws.wait_for(|n, _| n == "ivrapi_component_stopped").await;
    let stop = ws.notify("ivrevents", "api_stop").await;
    assert_eq!(stop["data"]["reason"], "transfer");
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

    let (id2, key2, ivrid2) = offered(&sim, &mut ws).await;
    ws.request("ivrapi_accept", json!({ "key": key2, "ivrid": ivrid2 }))
        .await;
    let r = ws
        .request(
            "ivrapi_component_apply",
            json!({ "key": key2, "ivrid": ivrid2, "data": {"oType": 201} }),
        )
        .await;
    assert_eq!(r["result"], "ok");
    let stop = ws.notify("ivrevents", "api_stop").await;
    assert_eq!(stop["data"]["key"], json!(key2));
    assert_eq!(
        sim.world().call(&id2).expect("call").state,
        CallState::Ended
    );
}

#[tokio::test]
async fn caller_hanging_up_stops_the_session() {
    let sim = sim().await;
    let mut ws = ivr_ws(&sim).await;
    let (id, key, ivrid) = offered(&sim, &mut ws).await;
    ws.request("ivrapi_accept", json!({ "key": key, "ivrid": ivrid }))
        .await;
    sim.world().hangup(&id, "603-S").expect("hangup");
    let stop = ws.notify("ivrevents", "api_stop").await;
    assert_eq!(stop["data"]["reason"], "hangup");
    assert_eq!(
        era::control(&sim.ctx).ivr_controller(&key),
        Some((None, false))
    );
}
