//! Telphin extension event subscriptions and their delivery by GET and POST over loopback.

mod telphin_common;

use std::collections::HashMap;

use axum::extract::{RawQuery, State};
use axum::http::Method;
use axum::routing::any;
use axum::Router;
use cti_sim::journal::{Channel, Dir};
use cti_sim::world::Direction;
use serde_json::json;
use telphin_common::*;
use tokio::sync::mpsc;

/// One request the test listener received: method, path and the decoded fields.
#[derive(Debug, Clone)]
struct Received {
    method: Method,
    path: String,
    fields: HashMap<String, String>,
}

/// A listener on 127.0.0.1:0 that records every request and answers 200.
async fn listener() -> (String, mpsc::UnboundedReceiver<Received>) {
    let (tx, rx) = mpsc::unbounded_channel();
    async fn record(
        State(tx): State<mpsc::UnboundedSender<Received>>,
        method: Method,
        uri: axum::http::Uri,
        RawQuery(q): RawQuery,
        body: String,
    ) -> &'static str {
        let raw = if method == Method::GET {
            q.unwrap_or_default()
        } else {
            body
        };
        let fields: HashMap<String, String> = serde_urlencoded::from_str(&raw).unwrap();
        let _ = tx.send(Received {
            method,
            path: uri.path().to_string(),
            fields,
        });
        "OK"
    }
    let app = Router::new().route("/{*rest}", any(record)).with_state(tx);
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    (format!("http://{addr}"), rx)
}

async fn next(rx: &mut mpsc::UnboundedReceiver<Received>) -> Received {
    tokio::time::timeout(std::time::Duration::from_secs(10), rx.recv())
        .await
        .expect("an event")
        .expect("open")
}

async fn subscribe(api: &Api, ext: &str, url: &str, method: &str, types: &[&str]) {
    for t in types {
        let (s, v) = api
            .post(
                &format!("/extension/{ext}/event/"),
                json!({"url": url, "method": method, "event_type": t}),
            )
            .await;
        assert_eq!(s, 201, "{v}");
    }
}

#[tokio::test]
async fn subscriptions_can_be_listed_changed_and_removed() {
    let sim = sim_with(1.0, |t| t.event_limit = 5).await;
    let api = Api::new(&sim).await;
    let p = format!("/extension/{AGENT}/event/");
    let (s, v) = api
        .post(
            &p,
            json!({"url": "http://127.0.0.1:9/h", "method": "get", "event_type": "dial-in"}),
        )
        .await;
    assert_eq!(s, 201);
    assert_eq!(
        (v["method"].as_str(), v["event_type"].as_str()),
        (Some("GET"), Some("dial-in"))
    );
    let id = v["id"].as_u64().unwrap();
    assert_eq!(
        api.post(&p, json!({"url": "ftp://x", "event_type": "answer"}))
            .await
            .0,
        400
    );
    assert_eq!(
        api.post(&p, json!({"url": "http://x/", "event_type": "ringing"}))
            .await
            .0,
        400
    );
    assert_eq!(
        api.post(
            &p,
            json!({"url": "http://x/", "event_type": "answer", "method": "PUT"})
        )
        .await
        .0,
        400
    );

    let (s, v) = api
        .put(&format!("{p}{id}"), json!({"method": "POST"}))
        .await;
    assert_eq!(
        (s, v["method"].as_str(), v["url"].as_str()),
        (200, Some("POST"), Some("http://127.0.0.1:9/h"))
    );
    let (_, list) = api.get(&p).await;
    assert_eq!(
        list,
        json!([{"id": id, "url": "http://127.0.0.1:9/h", "method": "POST", "event_type": "dial-in"}])
    );
    // Other extensions do not see it.
    assert_eq!(api.get("/extension/34415/event/").await.1, json!([]));
    assert_eq!(
        api.get(&format!("/extension/34415/event/{id}")).await.0,
        404
    );

    for t in ["dial-out", "answer", "hangup", "voicemail"] {
        assert_eq!(
            api.post(&p, json!({"url": "http://x/", "event_type": t}))
                .await
                .0,
            201
        );
    }
    let (s, v) = api
        .post(&p, json!({"url": "http://x/", "event_type": "hangup"}))
        .await;
    assert_eq!(s, 400, "the limit holds: {v}");

    assert_eq!(api.delete(&format!("{p}{id}")).await.0, 204);
    assert_eq!(api.get(&format!("{p}{id}")).await.0, 404);
    assert_eq!(api.get(&p).await.1.as_array().unwrap().len(), 4);
    assert_eq!(api.delete(&p).await.0, 204);
    assert_eq!(api.get(&p).await.1, json!([]));
}

#[tokio::test]
async fn incoming_call_events_are_delivered_by_get() {
    let sim = sim_with(1.0, |_| {}).await;
    let api = Api::new(&sim).await;
    let (base, mut rx) = listener().await;
    let url = format!("{base}/hooks/tok/telphin?source=sim");
    subscribe(
        &api,
        AGENT,
        &url,
        "GET",
        &["dial-in", "dial-out", "answer", "hangup"],
    )
    .await;

    let w = sim.world();
    let c = w.create_call(
        Direction::Inbound,
        "+79001234567",
        Some("Ivan"),
        AGENT_NUMBER,
        Some("78123093582"),
    );
    let leg = w.ring(&c.id, AGENT_NUMBER).unwrap();
    let dial_in = next(&mut rx).await;
    assert_eq!(dial_in.method, Method::GET);
    assert_eq!(dial_in.path, "/hooks/tok/telphin");
    let f = &dial_in.fields;
    assert_eq!(
        f["source"], "sim",
        "the subscriber's own query parameters are kept"
    );
    assert_eq!(f["EventType"], "dial-in");
    assert_eq!(f["CallID"], c.id);
    assert_eq!(f["CallAPIID"], c.api_id);
    assert_eq!(f["CallStatus"], "CALLING");
    assert_eq!(f["CallFlow"], "in");
    assert_eq!(f["CallerIDNum"], "+79001234567");
    assert_eq!(f["CallerIDName"], "Ivan");
    assert_eq!(f["CalledDID"], "78123093582");
    assert_eq!(f["CalledExtensionID"], AGENT);
    assert_eq!(f["CalledExtension"], "022*101@siptest.ringme.ru");
    assert_eq!(f["CalledNumber"], "022*101");
    assert_eq!(
        f["SubCallID"],
        format!("{AGENT}-{}", leg.rsplit('-').next().unwrap())
    );
    let micros: i64 = f["EventTime"].parse().unwrap();
    assert!(
        (micros / 1000 - w.now_ms()).abs() < 60_000,
        "EventTime is in microseconds"
    );

    w.answer(&c.id, &leg).unwrap();
    let answer = next(&mut rx).await;
    assert_eq!(
        (
            answer.fields["EventType"].as_str(),
            answer.fields["CallStatus"].as_str()
        ),
        ("answer", "ANSWER")
    );
    assert_eq!(answer.fields["SubCallID"], f["SubCallID"]);

    w.hangup(&c.id, "200").unwrap();
    let hangup = next(&mut rx).await;
    assert_eq!(hangup.fields["EventType"], "hangup");
    assert_eq!(hangup.fields["CallStatus"], "ANSWER");
    assert!(hangup.fields.contains_key("Duration"));

    // A missed call ends with the mapped status.
    let m = w.create_call(Direction::Inbound, "+79001234568", None, AGENT_NUMBER, None);
    let leg = w.ring(&m.id, AGENT_NUMBER).unwrap();
    assert_eq!(next(&mut rx).await.fields["EventType"], "dial-in");
    w.end_leg(&m.id, &leg, "486").unwrap();
    let busy = next(&mut rx).await;
    assert_eq!(
        (
            busy.fields["EventType"].as_str(),
            busy.fields["CallStatus"].as_str()
        ),
        ("hangup", "BUSY")
    );

    let out = sim.journal().find(Channel::TelphinEvent, Dir::Out, "GET");
    assert_eq!(out.len(), 5);
    assert_eq!(out[0].what, format!("dial-in GET {url}"));
    assert!(out[0].body.contains("EventType=dial-in"));
    // Replies are journalled once the listener has answered.
    eventually(10, || {
        (sim.journal()
            .find(Channel::TelphinEvent, Dir::In, "200 ")
            .len()
            == 5)
            .then_some(())
    })
    .await;
}

#[tokio::test]
async fn outgoing_call_events_are_delivered_by_post_as_a_form() {
    let sim = sim_with(1.0, |_| {}).await;
    let api = Api::new(&sim).await;
    let (base, mut rx) = listener().await;
    subscribe(
        &api,
        AGENT,
        &format!("{base}/out"),
        "POST",
        &["dial-out", "answer", "hangup"],
    )
    .await;
    // Another extension's events do not reach this subscriber.
    subscribe(
        &api,
        "34415",
        &format!("{base}/other"),
        "POST",
        &["dial-in"],
    )
    .await;

    let w = sim.world();
    let c = w.create_call(
        Direction::Outbound,
        AGENT_NUMBER,
        Some("Agent"),
        "+74950001122",
        None,
    );
    let leg = w.ring(&c.id, "+74950001122").unwrap();
    let dial_out = next(&mut rx).await;
    assert_eq!(
        (dial_out.method, dial_out.path.as_str()),
        (Method::POST, "/out")
    );
    let f = &dial_out.fields;
    assert_eq!(f["EventType"], "dial-out");
    assert_eq!(f["CallFlow"], "out");
    assert_eq!(f["CallerExtensionID"], AGENT);
    assert_eq!(f["CalledNumber"], "+74950001122");
    assert_eq!(f["SubCallID"], format!("{AGENT}-{}", c.id));
    w.answer(&c.id, &leg).unwrap();
    assert_eq!(next(&mut rx).await.fields["EventType"], "answer");
    w.hangup(&c.id, "200").unwrap();
    let h = next(&mut rx).await;
    assert_eq!(
        (
            h.fields["EventType"].as_str(),
            h.fields["CallStatus"].as_str()
        ),
        ("hangup", "ANSWER")
    );

    // The webhook duplicate fault repeats deliveries.
    sim.faults().set_webhook_duplicates(1);
    let c = w.create_call(
        Direction::Outbound,
        AGENT_NUMBER,
        None,
        "+74950001123",
        None,
    );
    w.ring(&c.id, "+74950001123").unwrap();
    let a = next(&mut rx).await;
    let b = next(&mut rx).await;
    assert_eq!(a.fields, b.fields);
    assert_eq!(a.path, "/out");
}
