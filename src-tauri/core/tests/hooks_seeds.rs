//! Every example of seeds 000, 001 and 004, posted exactly as written to a real listener.

mod hooks_support;

use cti_core::hooks::{validate_xml, Action, IvrRule, IvrSettings, PlayMode, Route};
use cti_core::model::{CallEventKind, Direction, Outcome, Source};
use hooks_support::{config, fixture, http, start, SEED_004};

#[tokio::test]
async fn seed_004_examples_become_events_and_the_truncated_one_is_rejected() {
    let (listener, sink) = start(config()).await;
    let url = listener.urls().calls;
    let client = http();
    let mut statuses = Vec::new();
    for name in SEED_004 {
        let resp = client
            .post(&url)
            .header("content-type", "application/json")
            .body(fixture(name))
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let body = resp.text().await.unwrap();
        statuses.push((name, status, body));
    }
    for (name, status, body) in &statuses {
        if *name == "seed004_attempt_inc_call_end.json" {
            assert_eq!(*status, 400, "{name}");
            assert!(body.contains("not valid JSON"), "{body}");
            assert!(!body.contains('\n'), "one-line reason: {body:?}");
        } else {
            assert_eq!(*status, 200, "{name}: {body}");
        }
    }

    let events = sink.events();
    assert_eq!(events.len(), 5);
    assert!(events.iter().all(|e| e.source == Source::Webhook));

    let create = &events[0];
    assert_eq!(create.call_id, "ec22aab1-02f8-487d-9b40-1173f33ba242");
    // 2021-01-28 14:15:22 Moscow time.
    assert_eq!(create.at_ms, 1_611_832_522_000);
    match &create.kind {
        CallEventKind::Created {
            direction,
            from,
            to,
            did,
            via,
        } => {
            assert_eq!(*direction, Direction::Inbound);
            assert_eq!(from.number, "9582412128");
            assert_eq!(to.number, "4950665310");
            assert_eq!(did.as_deref(), Some("4950665310"));
            assert_eq!(via.as_deref(), Some("84950665310"));
        }
        k => panic!("{k:?}"),
    }
    assert!(
        matches!(&events[1].kind, CallEventKind::LegRinging { party, .. } if party.number == "80052002651")
    );
    assert_eq!(events[1].at_ms, 1_611_832_530_000);
    assert_eq!(events[2].call_id, "13f225e3-e449-4576-94de-50bb59064f46");
    assert!(
        matches!(&events[2].kind, CallEventKind::Answered { by, .. } if by.number == "800774994086005")
    );
    match &events[3].kind {
        CallEventKind::Ended { result, talk_secs } => {
            assert_eq!(result.code, "200");
            assert_eq!(result.outcome, Outcome::Answered);
            assert_eq!(*talk_secs, Some(26));
        }
        k => panic!("{k:?}"),
    }
    match &events[4].kind {
        CallEventKind::Ended { result, talk_secs } => {
            assert_eq!(result.code, "603-S");
            assert_eq!(result.outcome, Outcome::Missed);
            assert_eq!(*talk_secs, Some(0));
        }
        k => panic!("{k:?}"),
    }

    // The truncated example: in the listener's rejected log, the sink's, and the inspector.
    let rejected = listener.rejected();
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].status, 400);
    assert_eq!(rejected[0].path, "/hooks/***/calls");
    assert!(rejected[0].body.contains("AttemptIncCallEnd"));
    let from_sink = sink.wait_rejected(1).await;
    assert_eq!(from_sink[0].reason, rejected[0].reason);
    let entries = listener.inspector().entries();
    assert_eq!(entries.len(), 6);
    assert_eq!(entries.iter().filter(|e| e.status == 400).count(), 1);
    assert!(entries.iter().all(|e| e.route == Route::Calls));

    // Raw records carry the bodies, with the token redacted from the route.
    let raws = sink.raws();
    assert_eq!(raws.len(), 5);
    assert!(raws.iter().all(|r| r.what == "POST /hooks/***/calls"));
    assert!(raws[0].body.contains("CreateIncCall"));
    listener.shutdown().await;
}

#[tokio::test]
async fn seed_000_answer_event_by_get_as_written_and_by_post() {
    let (listener, sink) = start(config()).await;
    let query = fixture("seed000_answer_event.query");
    let url = listener.urls().telphin;
    let client = http();
    // As written, stray spaces included (the client percent-encodes them).
    let resp = client.get(format!("{url}?{query}")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let events = sink.events();
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(e.source, Source::Telphin);
    assert_eq!(e.call_id, "c69226e0a64e11eaa0086fd86d94a0e0");
    assert_eq!(
        e.control_id.as_deref(),
        Some("3232240860-37b98fb2-a66c-11ea-ae69-6fd86d94a0e0")
    );
    assert_eq!(e.at_ms, 1_591_266_790_576);
    match &e.kind {
        CallEventKind::Answered { leg_id, by } => {
            assert_eq!(
                leg_id.as_deref(),
                Some("34414-c8874b88a64e11eaa0406fd86d94a0e0")
            );
            assert_eq!(by.number, "022*341");
            assert_eq!(by.extension_id.as_deref(), Some("34414"));
        }
        k => panic!("{k:?}"),
    }

    // The same event delivered by POST (form body): acknowledged, counted as a duplicate.
    let resp = client
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(query.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(sink.events().len(), 1);
    assert_eq!(sink.duplicates(), 1);
    assert!(listener.rejected().is_empty());
    listener.shutdown().await;
}

/// Rules replying with each of the seed's XML examples, chosen by an IVR variable in the URL.
fn seed_001_rules() -> Vec<(&'static str, Vec<Action>)> {
    vec![
        ("seed001_hangup.xml", vec![Action::Hangup]),
        (
            "seed001_pause.xml",
            vec![Action::Pause { length: Some(15) }],
        ),
        (
            "seed001_setvar.xml",
            vec![Action::SetVar {
                name: "transferDestination".into(),
                value: "09897987".into(),
            }],
        ),
        (
            "seed001_jump.xml",
            vec![Action::Jump {
                context: "3".into(),
                option: "start".into(),
            }],
        ),
        (
            "seed001_setcaller.xml",
            vec![Action::SetCaller {
                name: Some("callerName".into()),
                number: Some("92992".into()),
            }],
        ),
        (
            "seed001_playsound.xml",
            vec![Action::PlaySound {
                file: "ae3d969ccc49e1a7746e0b1ce36ee4176190040c.wav".into(),
                mode: Some(PlayMode::Background),
                digitvar: Some("transferDestination".into()),
            }],
        ),
        (
            "seed001_simpletransfer.xml",
            vec![Action::SimpleTransfer {
                numbers: vec!["NUM1".into(), "NUM2".into()],
                is_final: Some(false),
                timeout: Some(20),
                early_media: None,
            }],
        ),
    ]
}

#[test]
fn seed_001_reply_examples_validate_to_their_actions() {
    for (file, actions) in seed_001_rules() {
        assert_eq!(validate_xml(&fixture(file)).unwrap(), actions, "{file}");
    }
}

#[tokio::test]
async fn seed_001_request_by_get_and_post_gets_each_seed_reply() {
    use cti_core::hooks::{Condition, TextTest};
    let rules = seed_001_rules()
        .into_iter()
        .map(|(file, actions)| IvrRule {
            id: file.into(),
            when: vec![Condition::Variable {
                name: "example".into(),
                test: TextTest::Equals(file.into()),
            }],
            actions,
            ..Default::default()
        })
        .collect();
    let mut cfg = config();
    cfg.ivr = IvrSettings {
        rules,
        ..Default::default()
    };
    let (listener, sink) = start(cfg).await;
    let query = fixture("seed001_request.query");
    let url = listener.urls().ivr;
    let client = http();
    for (file, actions) in seed_001_rules() {
        for post in [false, true] {
            let req = if post {
                // POST: the call parameters in the body, the URL's own parameter in the query.
                client
                    .post(format!("{url}?example={file}"))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(query.clone())
            } else {
                client.get(format!("{url}?example={file}&{query}"))
            };
            let resp = req.send().await.unwrap();
            assert_eq!(resp.status(), 200, "{file}");
            let ct = resp
                .headers()
                .get("content-type")
                .unwrap()
                .to_str()
                .unwrap()
                .to_string();
            assert!(ct.starts_with("application/xml"), "{ct}");
            let xml = resp.text().await.unwrap();
            assert_eq!(
                validate_xml(&xml).unwrap(),
                actions,
                "{file} post={post}: {xml}"
            );
        }
    }
    // Without the variable no rule matches: the default, empty reply.
    let resp = client.get(format!("{url}?{query}")).send().await.unwrap();
    let xml = resp.text().await.unwrap();
    assert!(xml.contains("<Response/>"), "{xml}");

    // Each request became a call-in-IVR event (once per call) and an IVR step (stored after
    // the reply: wait for all of them).
    sink.wait_accepts(u32::try_from(2 * seed_001_rules().len() + 1).unwrap())
        .await;
    let events = sink.events();
    let created: Vec<_> = events
        .iter()
        .filter(|e| matches!(e.kind, CallEventKind::Created { .. }))
        .collect();
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].call_id, "5205dc5cc5a411e5ab9eb3691b90ea15");
    assert_eq!(
        created[0].control_id.as_deref(),
        Some("3584705175:5205dc5cc5a411e5ab9eb3691b90ea15")
    );
    let steps = events
        .iter()
        .filter(|e| matches!(e.kind, CallEventKind::Ivr { .. }))
        .count();
    // GET and POST of one example carry the same parameters: the second is a duplicate.
    assert_eq!(steps, seed_001_rules().len() + 1);
    assert!(events.iter().all(|e| e.source == Source::CallInteractive));
    // The inspector keeps the XML replies.
    let entries = listener.inspector().entries();
    assert!(entries.iter().any(|e| e
        .reply_body
        .contains("<SimpleTransfer final=\"no\" timeout=\"20\">NUM1,NUM2</SimpleTransfer>")));
    listener.shutdown().await;
}
