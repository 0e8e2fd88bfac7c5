//! Call Interactive over a real listener: rules, the agent's live decision, the hard deadline
//! and the safe fallback, replay, live rule changes.

mod hooks_support;

use std::sync::atomic::Ordering;
use std::time::Duration;

use cti_core::hooks::{
    validate_xml, Action, Condition, DecisionError, IvrRule, IvrSettings, ReplayError, TextTest,
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
