//! IVR takeover points: the Era IVR external control (seed 002) and Telphin Call Interactive
//! (seed 001), driven by a running scenario on loopback.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::routing::any;
use cti_sim::era::{EraSimConfig, IvrFallback};
use cti_sim::scenario::{run, Scenario};
use cti_sim::world::{CallState, LegState, WorldEventKind};
use cti_sim::{Channel, Dir, Sim, SimConfig};

#[tokio::test]
async fn an_era_ivr_offers_control_and_the_call_follows_the_platform_fallback() {
    // 100×: the 10 s accept timeout takes 0.1 s. Nobody accepts, so the Era IVR transfers the
    // call to 103 by itself; the scenario lets 103 pick up after 2 s.
    let era = EraSimConfig {
        ivr_accept_timeout_secs: 10,
        ivr_fallback: IvrFallback::Transfer("103".into()),
        ..EraSimConfig::default()
    };
    let sim = Sim::start(SimConfig {
        speed: 100.0,
        era,
        ..SimConfig::default()
    })
    .await
    .expect("simulator starts");
    let mut rx = sim.world().subscribe();
    let scenario = Scenario::from_toml_str(
        r#"
        [[calls]]
        from = "+79161234567"
        did = "74957397100"
        to = "200"
        ring = "2s"
        talk = "5s"
        ivr = { number = "800", wait = "3s", dtmf = "1", era = { menu = "main" } }
        "#,
    )
    .expect("valid");
    let report = tokio::time::timeout(Duration::from_secs(20), run(sim.ctx.clone(), scenario))
        .await
        .expect("scenario ends")
        .expect("task");
    assert_eq!((report.answered, report.completed), (1, 1), "{report:?}");
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    let call = sim.world().all_calls().pop().expect("the call");
    let legs: Vec<(&str, Option<&str>)> = call
        .legs
        .iter()
        .map(|l| (l.target.as_str(), l.result_code.as_deref()))
        .collect();
    assert_eq!(
        legs,
        [("800", Some("200")), ("103", Some("200"))],
        "the fallback's leg was answered"
    );
    assert_eq!(
        (call.state, call.result_code.as_deref()),
        (CallState::Ended, Some("200"))
    );
    let kinds: Vec<WorldEventKind> = std::iter::from_fn(|| rx.try_recv().ok())
        .map(|e| e.kind)
        .collect();
    assert!(
        kinds
            .iter()
            .any(|k| matches!(k, WorldEventKind::Dtmf { digits } if digits == "1")),
        "the caller's keys reached the IVR"
    );
    assert!(kinds
        .iter()
        .any(|k| matches!(k, WorldEventKind::Transferred { to, .. } if to == "103")));
}

/// A Call Interactive endpoint on loopback: records the form bodies; replies `<Hangup/>` to
/// caller +79000000002 and nothing to anyone else.
async fn ci_server() -> (String, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let app = axum::Router::new().route(
        "/hooks/t/ivr",
        any(move |body: String| {
            let log = log.clone();
            async move {
                let hang_up = body.contains("79000000002");
                log.lock().expect("log").push(body);
                if hang_up {
                    "<Response><Hangup/></Response>".to_string()
                } else {
                    String::new()
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}/hooks/t/ivr"), seen)
}

#[tokio::test]
async fn call_interactive_asks_the_url_and_the_call_goes_on_or_is_hung_up() {
    let (url, seen) = ci_server().await;
    let sim = Sim::start(SimConfig {
        speed: 50.0,
        ..SimConfig::default()
    })
    .await
    .expect("simulator starts");
    let scenario = Scenario::from_toml_str(&format!(
        r#"
        [[calls]]
        from = "+79000000001"
        did = "74957397100"
        to = "201"
        answered_by = "104"
        ring = "2s"
        talk = "5s"
        ivr = {{ number = "800", wait = "3s", call_interactive = {{ url = "{url}", method = "POST" }} }}

        [[calls]]
        at = "1s"
        from = "+79000000002"
        to = "201"
        ivr = {{ number = "800", wait = "3s", call_interactive = {{ url = "{url}", method = "POST" }} }}
        "#
    ))
    .expect("valid");
    let report = tokio::time::timeout(Duration::from_secs(20), run(sim.ctx.clone(), scenario))
        .await
        .expect("scenario ends")
        .expect("task");
    let bodies = seen.lock().expect("log").clone();
    assert_eq!(bodies.len(), 2, "one request per call: {bodies:?}");
    assert!(
        bodies
            .iter()
            .all(|b| b.contains("EventType=call_interactive")
                && b.contains("CalledExtensionID=34450"))
    );
    let calls = sim.world().all_calls();
    let first = calls
        .iter()
        .find(|c| c.from == "+79000000001")
        .expect("first call");
    assert!(bodies[0].contains(&format!("CallID={}", first.id)));
    // No reply: the IVR goes on, the call is routed to 201 and 104 answers.
    let answered: Vec<&str> = first
        .legs
        .iter()
        .filter(|l| l.answered_ms.is_some())
        .map(|l| l.target.as_str())
        .collect();
    assert_eq!(answered, ["800", "104"]);
    assert_eq!(first.legs.last().map(|l| l.state), Some(LegState::Ended));
    // <Hangup/>: the IVR ends the call, the scenario leaves it alone.
    let second = calls
        .iter()
        .find(|c| c.from == "+79000000002")
        .expect("second call");
    assert_eq!(second.state, CallState::Ended);
    assert!(
        second.legs.iter().all(|l| l.target == "800"),
        "never routed: {:?}",
        second.legs
    );
    assert_eq!(
        (report.answered, report.ended_elsewhere),
        (1, 1),
        "{report:?}"
    );
    assert!(!sim
        .journal()
        .find(Channel::CallInteractive, Dir::Out, "POST")
        .is_empty());
}
