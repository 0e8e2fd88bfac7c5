//! Call Interactive (seed 001): the simulated IVR calls a tiny XML server in the test and
//! executes what it answers.

mod telphin_common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{RawQuery, State};
use axum::http::{Method, Uri};
use axum::routing::any;
use axum::Router;
use cti_sim::journal::{Channel, Dir};
use cti_sim::telphin::{
    press_ci_digits, start_call_interactive, CiAction, CiEnd, CiOption, CiReply,
};
use cti_sim::world::{Call, CallState, Direction};
use cti_sim::Sim;
use telphin_common::*;

/// A request the XML server got: method, path and every field (query and form).
#[derive(Debug, Clone)]
struct Hit {
    method: Method,
    path: String,
    fields: HashMap<String, String>,
}

type Hits = Arc<Mutex<Vec<Hit>>>;

/// An XML server answering `replies[path]`; `/slow` sleeps 1 s first.
async fn xml_server(replies: Vec<(&'static str, String)>) -> (String, Hits) {
    #[derive(Clone)]
    struct S {
        replies: Arc<HashMap<String, String>>,
        hits: Hits,
    }
    async fn handle(
        State(s): State<S>,
        method: Method,
        uri: Uri,
        RawQuery(q): RawQuery,
        body: String,
    ) -> String {
        let mut fields: HashMap<String, String> =
            serde_urlencoded::from_str(&q.unwrap_or_default()).unwrap_or_default();
        if method == Method::POST {
            fields.extend(
                serde_urlencoded::from_str::<HashMap<String, String>>(&body).unwrap_or_default(),
            );
        }
        s.hits.lock().unwrap().push(Hit {
            method,
            path: uri.path().to_string(),
            fields,
        });
        if uri.path() == "/slow" {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        s.replies.get(uri.path()).cloned().unwrap_or_default()
    }
    let hits: Hits = Arc::default();
    let state = S {
        replies: Arc::new(
            replies
                .into_iter()
                .map(|(p, r)| (p.to_string(), r))
                .collect(),
        ),
        hits: hits.clone(),
    };
    let app = Router::new()
        .route("/{*rest}", any(handle))
        .with_state(state);
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    (format!("http://{addr}"), hits)
}

fn response(actions: &str) -> String {
    format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response>\n{actions}\n</Response>")
}

/// An inbound call answered by the IVR 500.
fn ivr_call(sim: &Sim) -> Call {
    let w = sim.world();
    let c = w.create_call(
        Direction::Inbound,
        "+79001234567",
        Some("Ivan"),
        "500",
        Some("74951234567"),
    );
    let leg = w.ring(&c.id, "500").unwrap();
    w.answer(&c.id, &leg).unwrap();
    w.call(&c.id).unwrap()
}

#[tokio::test]
async fn setvar_jump_playsound_digits_and_simple_transfer() {
    let replies = vec![
        (
            "/start",
            response(r#"<SetVar name="dest">102</SetVar><Jump context="3" option="menu"/>"#),
        ),
        (
            "/menu",
            response(
                r#"<PlaySound where="background" digitvar="choice">menu.wav</PlaySound>
                   <Jump context="4" option="route"/>"#,
            ),
        ),
        (
            "/route",
            response(r#"<SimpleTransfer final="yes" timeout="20">102,103</SimpleTransfer>"#),
        ),
    ];
    let (base, hits) = xml_server(replies).await;
    let sim = sim_with(60.0, |t| {
        t.auto_answer_secs = Some(2.0);
        t.call_interactive.options = vec![
            CiOption {
                context: "3".into(),
                option: "menu".into(),
                url: format!("{base}/menu?d=$dest"),
                method: "POST".into(),
            },
            CiOption {
                context: "4".into(),
                option: "route".into(),
                url: format!("{base}/route?choice=$choice&d=$dest"),
                method: "GET".into(),
            },
        ];
    })
    .await;
    let call = ivr_call(&sim);
    let session = start_call_interactive(
        &sim.ctx,
        &call.api_id,
        IVR,
        &format!("{base}/start?static=1"),
        "GET",
    );
    press_ci_digits(&sim.ctx, &call.id, "7#").unwrap();
    let out = tokio::time::timeout(Duration::from_secs(20), session)
        .await
        .unwrap()
        .unwrap();

    assert_eq!(out.end, CiEnd::Transferred { to: "102".into() }, "{out:?}");
    assert_eq!(out.variables.get("dest").map(String::as_str), Some("102"));
    assert_eq!(out.variables.get("choice").map(String::as_str), Some("7"));
    assert_eq!(out.requests.len(), 3);
    assert!(out
        .requests
        .iter()
        .all(|r| matches!(r.reply, CiReply::Actions { .. })));
    assert!(
        matches!(out.actions[2], CiAction::PlaySound { ref collected, .. } if collected.as_deref() == Some("7"))
    );
    assert!(matches!(
        out.actions.last(),
        Some(CiAction::SimpleTransfer { answered_by: Some(n), is_final: true, timeout: Some(20), .. }) if n == "102"
    ));

    let hits = hits.lock().unwrap().clone();
    assert_eq!(
        hits.iter().map(|h| h.path.as_str()).collect::<Vec<_>>(),
        ["/start", "/menu", "/route"]
    );
    let first = &hits[0].fields;
    assert_eq!(hits[0].method, Method::GET);
    assert_eq!(first["static"], "1", "URL parameters are kept");
    assert_eq!(first["EventType"], "call_interactive");
    assert_eq!(first["CallID"], call.id);
    assert_eq!(first["CallAPIID"], call.api_id);
    assert_eq!(first["CallerIDNum"], "+79001234567");
    assert_eq!(first["CallerIDName"], "Ivan");
    assert_eq!(first["CalledDID"], "74951234567");
    assert_eq!(first["CalledExtension"], "022*500");
    assert_eq!(first["CalledExtensionID"], IVR);
    assert_eq!(first["CallStatus"], "ANSWER");
    assert_eq!(first["CallFlow"], "IN");
    assert_eq!(first["CalledNumber"], "500");
    assert!(
        !first.contains_key("CallerExtension"),
        "only for internal callers"
    );
    // POST: call parameters in the form body, `$dest` substituted in the URL.
    assert_eq!(hits[1].method, Method::POST);
    assert_eq!(
        (
            hits[1].fields["d"].as_str(),
            hits[1].fields["EventType"].as_str()
        ),
        ("102", "call_interactive")
    );
    assert_eq!(
        (
            hits[2].fields["choice"].as_str(),
            hits[2].fields["d"].as_str()
        ),
        ("7", "102")
    );

    let c = sim.world().call(&call.id).unwrap();
    assert_eq!(
        (c.state, c.connected_to.as_deref()),
        (CallState::Active, Some("102"))
    );
    let ivr_leg = c.legs.iter().find(|l| l.target == "500").unwrap();
    assert!(ivr_leg.ended_ms.is_some(), "the IVR leaves the call");
    assert_eq!(
        sim.journal()
            .find(Channel::CallInteractive, Dir::Out, "GET ")
            .len(),
        2
    );
    assert_eq!(
        sim.journal()
            .find(Channel::CallInteractive, Dir::Out, "POST ")
            .len(),
        1
    );
}

#[tokio::test]
async fn a_slow_reply_is_no_reply_and_the_ivr_goes_on() {
    let (base, hits) = xml_server(vec![("/slow", response("<Hangup/>"))]).await;
    let sim = sim_with(60.0, |t| t.call_interactive.timeout_ms = 200).await;
    let call = ivr_call(&sim);
    let out = start_call_interactive(&sim.ctx, &call.id, IVR, &format!("{base}/slow"), "POST")
        .await
        .unwrap();
    assert_eq!(out.end, CiEnd::Continued);
    assert_eq!(out.requests.len(), 1);
    assert_eq!(out.requests[0].reply, CiReply::TimedOut);
    assert!(out.actions.is_empty());
    assert_eq!(hits.lock().unwrap().len(), 1);
    assert_eq!(
        sim.world().call(&call.id).unwrap().state,
        CallState::Active,
        "the Hangup came too late"
    );
}

#[tokio::test]
async fn empty_foreign_and_error_replies_let_the_ivr_continue() {
    let (base, _) = xml_server(vec![
        ("/empty", String::new()),
        ("/html", "<html><body>hi</body></html>".to_string()),
        ("/text", "OK".to_string()),
    ])
    .await;
    let sim = sim_with(60.0, |_| {}).await;
    let call = ivr_call(&sim);
    for (path, expected) in [
        ("/empty", CiReply::Empty),
        ("/html", CiReply::NotXml),
        ("/text", CiReply::NotXml),
    ] {
        let out = start_call_interactive(&sim.ctx, &call.id, IVR, &format!("{base}{path}"), "GET")
            .await
            .unwrap();
        assert_eq!(
            (out.end, out.requests[0].reply.clone()),
            (CiEnd::Continued, expected),
            "{path}"
        );
    }
    let out = start_call_interactive(&sim.ctx, &call.id, IVR, "http://127.0.0.1:9/closed", "GET")
        .await
        .unwrap();
    assert!(matches!(out.requests[0].reply, CiReply::Failed { .. }));
    assert_eq!(out.end, CiEnd::Continued);
    let out = start_call_interactive(
        &sim.ctx,
        "no-such-call",
        IVR,
        &format!("{base}/empty"),
        "GET",
    )
    .await
    .unwrap();
    assert!(
        matches!(out.end, CiEnd::CallEnded | CiEnd::Failed { .. }),
        "{:?}",
        out.end
    );
    assert_eq!(sim.world().call(&call.id).unwrap().state, CallState::Active);
}

#[tokio::test]
async fn only_ten_actions_run_then_hangup_set_caller_and_pause() {
    let many: String = (0..12)
        .map(|i| format!("<SetVar name=\"v{i}\">{i}</SetVar>"))
        .collect();
    let (base, _) = xml_server(vec![
        ("/many", response(&many)),
        ("/bye", response(r#"<SetCaller name="VIP" number="92992"/><Pause length="30"/><Hangup/><SetVar name="late">x</SetVar>"#)),
        ("/loop", response(r#"<Jump context="9" option="nowhere"/>"#)),
    ])
    .await;
    let sim = sim_with(600.0, |t| t.call_interactive.max_requests = 4).await;
    let call = ivr_call(&sim);

    let out = start_call_interactive(&sim.ctx, &call.id, IVR, &format!("{base}/many"), "GET")
        .await
        .unwrap();
    assert_eq!(out.actions.len(), 10);
    assert_eq!(out.ignored_actions, 2);
    assert_eq!(out.variables.len(), 10);
    assert!(!out.variables.contains_key("v10"));

    // An unlisted Jump repeats the entry request, until max_requests stops the loop.
    let out = start_call_interactive(&sim.ctx, &call.id, IVR, &format!("{base}/loop"), "GET")
        .await
        .unwrap();
    assert_eq!((out.end, out.requests.len()), (CiEnd::RequestLimit, 4));

    let before = sim.world().now_ms();
    let out = start_call_interactive(&sim.ctx, &call.id, IVR, &format!("{base}/bye"), "GET")
        .await
        .unwrap();
    assert_eq!(out.end, CiEnd::HungUp);
    assert!(
        sim.world().now_ms() - before >= 30_000,
        "the pause lasted 30 simulated seconds"
    );
    assert_eq!(
        out.actions.len(),
        3,
        "nothing runs after Hangup: {:?}",
        out.actions
    );
    let c = sim.world().call(&call.id).unwrap();
    assert_eq!(
        (c.state, c.from.as_str(), c.from_name.as_deref()),
        (CallState::Ended, "92992", Some("VIP"))
    );
}

#[tokio::test]
async fn an_unanswered_simple_transfer_is_final_unless_final_no() {
    let (base, _) = xml_server(vec![
        ("/soft", response(r#"<SimpleTransfer final="no" timeout="5">102</SimpleTransfer><SetVar name="after">yes</SetVar>"#)),
        ("/hard", response(r#"<SimpleTransfer timeout="5">102</SimpleTransfer>"#)),
    ])
    .await;
    let sim = sim_with(60.0, |_| {}).await;
    let call = ivr_call(&sim);
    let out = start_call_interactive(&sim.ctx, &call.id, IVR, &format!("{base}/soft"), "GET")
        .await
        .unwrap();
    assert_eq!(out.end, CiEnd::Continued);
    assert_eq!(out.variables.get("after").map(String::as_str), Some("yes"));
    assert_eq!(sim.world().call(&call.id).unwrap().state, CallState::Active);

    let out = start_call_interactive(&sim.ctx, &call.id, IVR, &format!("{base}/hard"), "GET")
        .await
        .unwrap();
    assert_eq!(out.end, CiEnd::TransferUnanswered);
    let c = sim.world().call(&call.id).unwrap();
    assert_eq!(
        (c.state, c.result_code.as_deref()),
        (CallState::Ended, Some("480"))
    );
}
