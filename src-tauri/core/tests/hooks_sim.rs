//! The simulator drives the listener: its seed-004 webhook sender posts whole answered, missed
//! and outgoing calls (also duplicated and reordered), and its Telphin IVR executes the XML our
//! rules produce.

mod hooks_support;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use cti_core::hooks::{Action, CallHook, Condition, IvrRule, IvrSettings, PlayMode, TextTest};
use cti_core::model::{CallEvent, CallEventKind, Direction as CoreDirection, Outcome};
use cti_sim::telphin::{
    start_call_interactive, CiAction, CiEnd, CiOption, CiSimConfig, TelphinSimConfig,
};
use cti_sim::webhooks::{session_id, WebhookSimConfig};
use cti_sim::world::{Direction, HuntMode, HuntOutcome, HuntPlan, MemberResponse};
use cti_sim::{Sim, SimConfig};
use hooks_support::{config, start, TestSink};

async fn sim_for(calls_url: String) -> Sim {
    sim_with(WebhookSimConfig {
        url: Some(calls_url),
        retry_backoff_ms: 100,
        ..Default::default()
    })
    .await
}

async fn sim_with(webhooks: WebhookSimConfig) -> Sim {
    Sim::start(SimConfig {
        speed: 60.0,
        webhooks,
        ..Default::default()
    })
    .await
    .unwrap()
}

fn of_call<'a>(events: &'a [CallEvent], call: &str) -> Vec<&'a CallEvent> {
    events.iter().filter(|e| e.call_id == call).collect()
}

fn ended(events: &[&CallEvent]) -> bool {
    events
        .iter()
        .any(|e| matches!(e.kind, CallEventKind::Ended { .. }))
}

/// Kinds of one call's events, as comparable text: `created inbound`, `ringing 101`, …
fn summary(events: &[&CallEvent]) -> BTreeSet<String> {
    events
        .iter()
        .map(|e| match &e.kind {
            CallEventKind::Created {
                direction, from, ..
            } => format!("created {} {}", direction.as_str(), from.number),
            CallEventKind::LegRinging { party, .. } => format!("ringing {}", party.number),
            CallEventKind::LegEnded { leg_id, result } => {
                format!("leg ended {leg_id} {}", result.code)
            }
            CallEventKind::Answered { by, .. } => format!("answered {}", by.number),
            CallEventKind::Ended { result, .. } => {
                format!("ended {} {}", result.code, result.outcome.as_str())
            }
            other => format!("{other:?}"),
        })
        .collect()
}

/// One inbound call hunted in parallel over 101–103: 103 busy, 102 lets it ring, 101 answers;
/// 30 simulated seconds of talk. Returns the SessionID.
async fn answered_call(sim: &Sim) -> String {
    let w = sim.world();
    let call = w.create_call(
        Direction::Inbound,
        "79001234567",
        Some("Ivan"),
        "200",
        Some("74950000000"),
    );
    let plan = HuntPlan::new(
        HuntMode::Parallel,
        [
            ("101", MemberResponse::Answer { after_ms: 3_000 }),
            ("102", MemberResponse::NoAnswer),
            ("103", MemberResponse::Busy),
        ],
        20_000,
    );
    let outcome = w.hunt(&call.id, plan).await.unwrap();
    assert!(
        matches!(outcome, HuntOutcome::Answered { ref target, .. } if target == "101"),
        "{outcome:?}"
    );
    w.clock().sleep(Duration::from_secs(30)).await;
    w.hangup(&call.id, "200").unwrap();
    session_id(&call.id)
}

fn answered_summary() -> BTreeSet<String> {
    [
        "created inbound 79001234567",
        "ringing 101",
        "ringing 102",
        "ringing 103",
        // AttemptIncCallEnd carries no ResultCode in the seed: "no answer" for every attempt.
        "leg ended 103 304",
        "leg ended 102 304",
        "answered 101",
        "ended 200 answered",
    ]
    .into_iter()
    .map(String::from)
    .collect()
}

#[tokio::test]
async fn answered_missed_and_outgoing_calls_give_the_right_events() {
    let (listener, sink) = start(config()).await;
    let sim = sim_for(listener.urls().calls).await;
    let w = sim.world().clone();

    // Answered, parallel hunting.
    let answered = answered_call(&sim).await;
    let events = sink
        .wait_events("the answered call", |e| ended(&of_call(e, &answered)))
        .await;
    let mine = of_call(&events, &answered);
    assert_eq!(summary(&mine), answered_summary());
    let rings = mine
        .iter()
        .filter(|e| matches!(e.kind, CallEventKind::LegRinging { .. }))
        .count();
    assert_eq!(rings, 3, "one AttemptIncCallBegin per hunted number");
    let created = mine
        .iter()
        .find(|e| matches!(e.kind, CallEventKind::Created { .. }))
        .unwrap();
    assert!(
        matches!(&created.kind, CallEventKind::Created { did: Some(d), .. } if d == "74950000000")
    );
    let call = w
        .all_calls()
        .into_iter()
        .find(|c| session_id(&c.id) == answered)
        .unwrap();
    // Timestamps: Moscow wall clock to the second, read back as the same instants.
    assert!(
        (created.at_ms - call.created_ms).abs() < 1_000,
        "{} vs {}",
        created.at_ms,
        call.created_ms
    );
    match &mine
        .iter()
        .find(|e| matches!(e.kind, CallEventKind::Ended { .. }))
        .unwrap()
        .kind
    {
        CallEventKind::Ended {
            talk_secs: Some(t), ..
        } => assert!((29..=31).contains(t), "talk {t}"),
        k => panic!("{k:?}"),
    }

    // Missed, sequential hunting: nobody answers.
    let call = w.create_call(
        Direction::Inbound,
        "79007654321",
        None,
        "201",
        Some("74950000000"),
    );
    let plan = HuntPlan::new(
        HuntMode::Sequential,
        [
            ("104", MemberResponse::NoAnswer),
            ("105", MemberResponse::NoAnswer),
        ],
        10_000,
    );
    assert_eq!(
        w.hunt(&call.id, plan).await.unwrap(),
        HuntOutcome::Unanswered { code: "304".into() }
    );
    let missed = session_id(&call.id);
    let events = sink
        .wait_events("the missed call", |e| ended(&of_call(e, &missed)))
        .await;
    let expected: BTreeSet<String> = [
        "created inbound 79007654321",
        "ringing 104",
        "leg ended 104 304",
        "ringing 105",
        "leg ended 105 304",
        "ended 304 missed",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(summary(&of_call(&events, &missed)), expected);

    // Outgoing.
    let call = w.create_call(Direction::Outbound, "101", None, "74951234567", None);
    let leg = w.ring(&call.id, "74951234567").unwrap();
    w.answer(&call.id, &leg).unwrap();
    w.hangup(&call.id, "200").unwrap();
    let out = session_id(&call.id);
    let events = sink
        .wait_events("the outgoing call", |e| ended(&of_call(e, &out)))
        .await;
    let mine = of_call(&events, &out);
    assert_eq!(mine.len(), 2);
    assert!(
        matches!(&mine[0].kind, CallEventKind::Created { direction: CoreDirection::Outbound, to, .. } if to.number == "74951234567")
    );
    assert!(
        matches!(&mine[1].kind, CallEventKind::Ended { result, .. } if result.outcome == Outcome::Answered)
    );

    assert!(listener.rejected().is_empty(), "{:?}", listener.rejected());
    assert_eq!(sink.duplicates(), 0);
    sim.shutdown();
    listener.shutdown().await;
}

#[tokio::test]
async fn duplicated_and_reordered_deliveries_give_the_same_events_once() {
    let (listener, sink) = start(config()).await;
    let sim = sim_for(listener.urls().calls).await;
    sim.faults().set_webhook_duplicates(2);
    sim.faults().set_webhook_reorder(true);
    let session = answered_call(&sim).await;
    let events = sink
        .wait_events("the call", |e| {
            ended(&of_call(e, &session)) && of_call(e, &session).len() >= 8
        })
        .await;
    let mine = of_call(&events, &session);
    assert_eq!(summary(&mine), answered_summary());
    assert_eq!(mine.len(), 8, "each event stored once");
    // Two extra copies of each of the eight hooks, all acknowledged and counted.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while sink.duplicates() < 16 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(sink.duplicates(), 16);
    // The listener saw the end of the call first.
    let first = listener.inspector().entries().into_iter().next().unwrap();
    let hooks = cti_core::hooks::parse_call_hooks(first.body.as_bytes()).unwrap();
    assert_eq!(hooks[0].hook_type.as_str(), "EndIncCall");
    assert!(listener
        .inspector()
        .entries()
        .iter()
        .all(|e| e.status == 200));
    sim.shutdown();
    listener.shutdown().await;
}

#[tokio::test]
async fn the_sender_retries_while_the_store_fails() {
    let (listener, sink) = start(config()).await;
    // Retries every 6 simulated seconds (0.1 s real), for long enough.
    let sim = sim_with(WebhookSimConfig {
        url: Some(listener.urls().calls),
        retry_backoff_ms: 6_000,
        max_backoff_ms: 6_000,
        max_attempts: 100,
        ..Default::default()
    })
    .await;
    sink.fail.store(true, std::sync::atomic::Ordering::SeqCst);
    let call = sim
        .world()
        .create_call(Direction::Inbound, "1", None, "101", None);
    let session = session_id(&call.id);
    // The first attempt is refused with 503; then the store recovers.
    listener_wait_rejected(&listener).await;
    sink.fail.store(false, std::sync::atomic::Ordering::SeqCst);
    let events = sink
        .wait_events("the retried hook", |e| !of_call(e, &session).is_empty())
        .await;
    assert!(matches!(
        of_call(&events, &session)[0].kind,
        CallEventKind::Created { .. }
    ));
    let hook: CallHook = cti_core::hooks::parse_call_hooks(listener.rejected()[0].body.as_bytes())
        .unwrap()
        .remove(0);
    assert_eq!(hook.session_id, session);
    sim.shutdown();
    listener.shutdown().await;
}

async fn listener_wait_rejected(listener: &cti_core::hooks::ListenerHandle) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while listener.rejected().is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no rejected delivery"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(listener.rejected()[0].status, 503);
}

fn var(name: &str, value: &str) -> Condition {
    Condition::Variable {
        name: name.into(),
        test: TextTest::Equals(value.into()),
    }
}

fn ivr_rules() -> IvrSettings {
    IvrSettings {
        rules: vec![
            IvrRule {
                id: "start".into(),
                when: vec![var("step", "start")],
                actions: vec![
                    Action::SetVar {
                        name: "lang".into(),
                        value: "ru".into(),
                    },
                    Action::Jump {
                        context: "3".into(),
                        option: "menu".into(),
                    },
                ],
                ..Default::default()
            },
            IvrRule {
                id: "menu".into(),
                when: vec![var("step", "menu"), var("lang", "ru")],
                actions: vec![
                    Action::PlaySound {
                        file: "menu-ru.wav".into(),
                        mode: Some(PlayMode::Background),
                        digitvar: Some("choice".into()),
                    },
                    Action::Jump {
                        context: "3".into(),
                        option: "route".into(),
                    },
                ],
                ..Default::default()
            },
            IvrRule {
                id: "sales".into(),
                when: vec![var("step", "route"), var("choice", "2")],
                actions: vec![Action::SimpleTransfer {
                    numbers: vec!["102".into()],
                    is_final: Some(true),
                    timeout: Some(20),
                    early_media: None,
                }],
                ..Default::default()
            },
            IvrRule {
                id: "other".into(),
                when: vec![var("step", "route")],
                actions: vec![Action::Hangup],
                ..Default::default()
            },
        ],
        ..Default::default()
    }
}

#[tokio::test]
async fn the_simulated_ivr_executes_the_xml_our_rules_produce() {
    let mut cfg = config();
    cfg.ivr = ivr_rules();
    let sink = Arc::new(TestSink::default());
    let listener = hooks_support::start_with(cfg, sink.clone()).await;
    let ivr = listener.urls().ivr;
    let sim = Sim::start(SimConfig {
        speed: 60.0,
        telphin: TelphinSimConfig {
            call_interactive: CiSimConfig {
                options: vec![
                    CiOption {
                        context: "3".into(),
                        option: "menu".into(),
                        url: format!("{ivr}?step=menu&lang=$lang"),
                        method: "GET".into(),
                    },
                    CiOption {
                        context: "3".into(),
                        option: "route".into(),
                        url: format!("{ivr}?step=route&choice=$choice"),
                        method: "POST".into(),
                    },
                ],
                default_digits: Some("2".into()),
                ..Default::default()
            },
            ..Default::default()
        },
        ..Default::default()
    })
    .await
    .unwrap();
    let w = sim.world();
    let call = w.create_call(
        Direction::Inbound,
        "79001234567",
        Some("Ivan"),
        "800",
        Some("74950000000"),
    );
    let leg = w.ring(&call.id, "800").unwrap();
    w.answer(&call.id, &leg).unwrap();

    let outcome = start_call_interactive(
        &sim.ctx,
        &call.id,
        "34450",
        &format!("{ivr}?step=start"),
        "GET",
    )
    .await
    .unwrap();
    assert_eq!(
        outcome.end,
        CiEnd::Transferred { to: "102".into() },
        "{outcome:#?}"
    );
    assert!(outcome.problems.is_empty(), "{:?}", outcome.problems);
    assert_eq!(outcome.requests.len(), 3);
    assert_eq!(
        outcome.variables.get("lang").map(String::as_str),
        Some("ru")
    );
    assert_eq!(
        outcome.variables.get("choice").map(String::as_str),
        Some("2")
    );
    let names: Vec<&str> = outcome
        .actions
        .iter()
        .map(|a| match a {
            CiAction::SetVar { .. } => "SetVar",
            CiAction::Jump { .. } => "Jump",
            CiAction::PlaySound { .. } => "PlaySound",
            CiAction::SimpleTransfer { .. } => "SimpleTransfer",
            _ => "other",
        })
        .collect();
    assert_eq!(
        names,
        ["SetVar", "Jump", "PlaySound", "Jump", "SimpleTransfer"]
    );
    assert!(
        matches!(&outcome.actions[2], CiAction::PlaySound { background: true, digitvar: Some(v), collected: Some(d), .. } if v == "choice" && d == "2")
    );

    // The listener kept each step: which rule answered, with what.
    let rules: Vec<String> = sink
        .events()
        .iter()
        .filter_map(|e| match &e.kind {
            CallEventKind::Ivr { detail, .. } => detail["rule"].as_str().map(String::from),
            _ => None,
        })
        .collect();
    assert_eq!(rules, ["start", "menu", "sales"]);
    let methods: Vec<String> = listener
        .inspector()
        .entries()
        .into_iter()
        .map(|e| e.method)
        .collect();
    assert_eq!(methods, ["GET", "GET", "POST"]);
    sim.shutdown();
    listener.shutdown().await;
}
