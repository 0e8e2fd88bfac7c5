//! Call Interactive over a real listener: rules, the agent's live decision, the hard deadline
//! and the safe fallback, replay, live rule changes.

mod hooks_support;

use std::sync::atomic::Ordering;
use std::time::Duration;

use cti_core::hooks::{
    validate_xml, Action, Condition, DecisionError, IvrRule, IvrSettings, IvrStore, ReplayError,
    TextTest,
};
use cti_core::model::CallEventKind;
use hooks_support::{config, http, start};

const CALL: &str = "EventType=call_interactive&CallID=c1&CallAPIID=3232240861-aa&CallerIDNum=74951234567&CallerIDName=Ivan&CalledDID=74950000000&CalledExtension=022*800&CalledExtensionID=34450&CallStatus=ANSWER&CallFlow=IN&CalledNumber=800";

fn transfer(to: &str) -> Vec<Action> {
    vec![Action::SimpleTransfer {
        numbers: vec![to.into()],
        is_final: None,
        timeout: Some(20),
        early_media: None,
    }]
}

fn settings() -> IvrSettings {
    IvrSettings {
        rules: vec![
            IvrRule {
                id: "vip".into(),
                name: "VIP to the manager".into(),
                when: vec![Condition::CallerNumber {
                    test: TextTest::Prefix("+7495".into()),
                }],
                actions: transfer("101"),
                ..Default::default()
            },
            IvrRule {
                id: "english".into(),
                when: vec![Condition::Variable {
                    name: "lang".into(),
                    test: TextTest::Equals("en".into()),
                }],
                actions: vec![Action::Jump {
                    context: "5".into(),
                    option: "en".into(),
                }],
                ..Default::default()
            },
        ],
        default_actions: vec![Action::Pause { length: Some(2) }],
        fallback_actions: vec![Action::SimpleTransfer {
            numbers: vec!["200".into()],
            is_final: Some(true),
            timeout: None,
            early_media: None,
        }],
    }
}

async fn ask(client: &reqwest::Client, url: &str, query: &str) -> Vec<Action> {
    let resp = client.get(format!("{url}?{query}")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/xml");
    validate_xml(&resp.text().await.unwrap()).unwrap()
}

#[tokio::test]
async fn rules_choose_the_reply_and_the_step_is_stored() {
    let mut cfg = config();
    cfg.ivr = settings();
    let (listener, sink) = start(cfg).await;
    let url = listener.urls().ivr;
    let client = http();
    assert_eq!(ask(&client, &url, CALL).await, transfer("101"));
    let other = CALL.replace("74951234567", "78121234567");
    assert_eq!(
        ask(&client, &url, &other).await,
        vec![Action::Pause { length: Some(2) }]
    );
    assert_eq!(
        ask(&client, &url, &format!("{other}&lang=en")).await,
        vec![Action::Jump {
            context: "5".into(),
            option: "en".into()
        }]
    );

    sink.wait_accepts(3).await;
    let events = sink.events();
    let steps: Vec<_> = events
        .iter()
        .filter_map(|e| match &e.kind {
            CallEventKind::Ivr { detail, .. } => Some(detail.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(steps.len(), 3);
    assert_eq!(steps[0]["rule"], "vip");
    assert_eq!(steps[0]["decided_by"], "rule");
    assert_eq!(steps[0]["reply"][0]["numbers"][0], "101");
    assert_eq!(steps[1]["decided_by"], "default");
    assert_eq!(steps[2]["request"]["variables"]["lang"], "en");
    let notes: Vec<String> = listener
        .inspector()
        .entries()
        .into_iter()
        .map(|e| e.note)
        .collect();
    assert!(notes[0].starts_with("decided by rule \"vip\""), "{notes:?}");
    listener.shutdown().await;
}

#[tokio::test]
async fn the_agent_decides_a_held_request() {
    let mut cfg = config();
    let mut s = settings();
    s.rules[0].ask_agent_ms = Some(10_000);
    cfg.ivr = s;
    cfg.ivr_deadline_ms = 10_000;
    let (listener, _sink) = start(cfg).await;
    let mut pending = listener.pending_decisions();
    assert!(pending.borrow().is_empty());
    let url = listener.urls().ivr;
    let request = tokio::spawn(async move { ask(&http(), &url, CALL).await });
    pending.wait_for(|p| !p.is_empty()).await.unwrap();
    let held = pending.borrow().clone();
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].rule_id, "vip");
    assert_eq!(held[0].request.caller_id_name.as_deref(), Some("Ivan"));
    assert_eq!(held[0].fallback, transfer("101"));
    assert!(held[0].deadline_ms > held[0].received_ms);
    let too_many = vec![Action::Hangup; 11];
    assert!(matches!(
        listener.decide(held[0].id, too_many),
        Err(DecisionError::Invalid(_))
    ));
    listener.decide(held[0].id, vec![Action::Hangup]).unwrap();
    assert_eq!(request.await.unwrap(), vec![Action::Hangup]);
    pending.wait_for(|p| p.is_empty()).await.unwrap();
    assert_eq!(
        listener.decide(held[0].id, vec![]),
        Err(DecisionError::NotFound(held[0].id))
    );
    let entry = listener.inspector().entries().pop().unwrap();
    assert!(entry.note.starts_with("decided by agent"), "{}", entry.note);
    listener.shutdown().await;
}

#[tokio::test]
async fn an_undecided_request_gets_the_rules_actions_within_the_deadline() {
    let mut cfg = config();
    let mut s = settings();
    // The agent is given far longer than the deadline allows.
    s.rules[0].ask_agent_ms = Some(60_000);
    cfg.ivr = s;
    cfg.ivr_deadline_ms = 1_000;
    let (listener, _sink) = start(cfg).await;
    let url = listener.urls().ivr;
    assert_eq!(ask(&http(), &url, CALL).await, transfer("101"));
    assert!(
        listener.pending_decisions().borrow().is_empty(),
        "the held request was released"
    );
    let entry = listener.inspector().entries().pop().unwrap();
    assert!(entry.note.contains("did not decide"), "{}", entry.note);
    listener.shutdown().await;
}

#[tokio::test]
async fn store_failures_and_stalls_give_the_fallback_never_a_500() {
    let mut cfg = config();
    cfg.ivr = settings();
    cfg.ivr_store = IvrStore::BeforeReply;
    cfg.ivr_deadline_ms = 1_000;
    let fallback = cfg.ivr.fallback_actions.clone();
    let (listener, sink) = start(cfg).await;
    let url = listener.urls().ivr;
    let client = http();
    sink.fail.store(true, Ordering::SeqCst);
    assert_eq!(ask(&client, &url, CALL).await, fallback);
    sink.fail.store(false, Ordering::SeqCst);
    sink.delay_ms.store(60_000, Ordering::SeqCst);
    assert_eq!(ask(&client, &url, CALL).await, fallback);
    sink.delay_ms.store(0, Ordering::SeqCst);
    assert_eq!(ask(&client, &url, CALL).await, transfer("101"));
    let notes: Vec<String> = listener
        .inspector()
        .entries()
        .into_iter()
        .map(|e| e.note)
        .collect();
    assert!(
        notes[0].contains("fallback: event store failed"),
        "{notes:?}"
    );
    assert!(notes[1].contains("fallback"), "{notes:?}");
    // A request without a call id is bad input, not an internal error.
    let resp = client
        .get(format!("{url}?CallerIDNum=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert!(resp.text().await.unwrap().contains("CallID"));
    listener.shutdown().await;
}

/// The default: the reply does not wait for the store. A stalled or failing store does not
/// change the answer, the step is stored once the store is back, and shutdown waits for it.
#[tokio::test]
async fn by_default_the_reply_does_not_wait_for_the_store() {
    let mut cfg = config();
    cfg.ivr = settings();
    cfg.ivr_deadline_ms = 1_000;
    assert_eq!(cfg.ivr_store, IvrStore::AfterReply);
    let (listener, sink) = start(cfg).await;
    let url = listener.urls().ivr;
    let client = http();
    // The store takes 3 s, three times the deadline: the rule still answers, not the fallback.
    sink.delay_ms.store(3_000, Ordering::SeqCst);
    let asked = std::time::Instant::now();
    assert_eq!(ask(&client, &url, CALL).await, transfer("101"));
    assert!(asked.elapsed() < Duration::from_millis(2_500));
    assert_eq!(sink.accepts(), 0, "answered before the store finished");
    let note = listener.inspector().entries()[0].note.clone();
    assert!(note.contains("stored after the reply"), "{note}");
    sink.delay_ms.store(0, Ordering::SeqCst);
    let events = sink
        .wait_events("the IVR step", |e| {
            e.iter()
                .any(|e| matches!(e.kind, CallEventKind::Ivr { .. }))
        })
        .await;
    assert!(events.iter().all(|e| e.call_id == "c1"));

    // A failing store is retried after the reply: the step lands once the store recovers.
    sink.fail.store(true, Ordering::SeqCst);
    let other = CALL.replace("CallID=c1", "CallID=c2");
    assert_eq!(ask(&client, &url, &other).await, transfer("101"));
    sink.wait_entered(3).await;
    sink.fail.store(false, Ordering::SeqCst);
    sink.wait_events("the retried step", |e| e.iter().any(|e| e.call_id == "c2"))
        .await;

    // Shutdown stores what is still queued before it returns.
    sink.delay_ms.store(300, Ordering::SeqCst);
    let third = CALL.replace("CallID=c1", "CallID=c3");
    assert_eq!(ask(&client, &url, &third).await, transfer("101"));
    listener.shutdown().await;
    assert!(sink.events().iter().any(|e| e.call_id == "c3"));
}

#[tokio::test]
async fn replay_reruns_a_stored_request_through_the_same_handler() {
    let mut cfg = config();
    cfg.ivr = settings();
    let (listener, sink) = start(cfg).await;
    let client = http();
    assert_eq!(
        ask(&client, &listener.urls().ivr, CALL).await,
        transfer("101")
    );
    let hook = r#"{"SessionID":"s9","HookType":"CreateIncCall","StartTime":"2021-01-28 14:15:22","CityNumber":"1","Caller":"2"}"#;
    assert_eq!(
        client
            .post(listener.urls().calls)
            .body(hook)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let entries = listener.inspector().entries();
    let (ivr, calls) = (entries[0].clone(), entries[1].clone());
    sink.wait_accepts(2).await;
    let stored = sink.events().len();

    let again = listener.replay(calls.id).await.unwrap();
    assert_eq!(again.replay_of, Some(calls.id));
    assert_eq!(again.status, 200);
    assert_eq!(sink.events().len(), stored, "no second effect");
    assert_eq!(sink.duplicates(), 1);

    // The rules changed meanwhile: the replayed IVR request follows the new ones.
    let mut s = settings();
    s.rules.remove(0);
    listener.set_ivr_settings(s).unwrap();
    let again = listener.replay(ivr.id).await.unwrap();
    assert_eq!(
        validate_xml(&again.reply_body).unwrap(),
        vec![Action::Pause { length: Some(2) }]
    );
    assert_eq!(again.body, ivr.body);
    assert_eq!(again.query, ivr.query);

    assert_eq!(
        listener.replay(999_999).await.unwrap_err(),
        ReplayError::NotFound(999_999)
    );
    let mut bad = settings();
    bad.fallback_actions = vec![Action::Hangup; 11];
    assert!(listener.set_ivr_settings(bad).is_err());
    assert_eq!(listener.ivr_settings().rules.len(), 1);
    listener.shutdown().await;
}

#[tokio::test]
async fn a_held_request_is_answered_by_its_rule_on_replay() {
    let mut cfg = config();
    let mut s = settings();
    s.rules[0].ask_agent_ms = Some(100);
    cfg.ivr = s;
    let (listener, _sink) = start(cfg).await;
    assert_eq!(
        ask(&http(), &listener.urls().ivr, CALL).await,
        transfer("101")
    );
    let id = listener.inspector().entries()[0].id;
    let pending = listener.pending_decisions();
    let replay = listener.replay(id);
    let again = tokio::time::timeout(Duration::from_secs(10), replay)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(validate_xml(&again.reply_body).unwrap(), transfer("101"));
    assert!(again.note.starts_with("decided by rule"), "{}", again.note);
    assert!(
        !pending.has_changed().unwrap(),
        "a replay is never held for the agent"
    );
    listener.shutdown().await;
}
