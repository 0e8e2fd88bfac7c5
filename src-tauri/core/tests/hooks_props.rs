//! Properties: arbitrary bodies and query strings never panic the decoders or the listener, and
//! arbitrary strings in rule values always give well-formed XML that parses back to the same
//! actions.

mod hooks_support;

use cti_core::hooks::ivr::{parse_response_xml, sanitize};
use cti_core::hooks::{
    decode_call_hooks, decode_telphin_event, parse_timestamp, response_xml, validate_xml, Action,
    CallInteractiveRequest, DecodeOptions, Params, PlayMode,
};
use proptest::prelude::*;
use serde_json::Value;

/// Cases per property: `default`, or `PROPTEST_CASES` for a deeper run (e.g. 10000 nightly).
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn opts() -> DecodeOptions {
    DecodeOptions {
        tz: chrono_tz::Europe::Moscow,
        received_ms: 1,
    }
}

/// Any string, biased towards the characters that matter to XML, JSON and query strings.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[<>&\"'=;%+ \t\r\n\\\\a-z0-9\u{0}-\u{1f}\u{fffe}\u{ffff}]{0,24}",
        "(&[a-z#0-9x]{0,6};?){0,4}",
    ]
}

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or(Value::Null)),
        text().prop_map(Value::from),
        "20[0-9]{2}-[01][0-9]-[0-3][0-9] [0-2][0-9]:[0-5][0-9]:[0-5][0-9]".prop_map(Value::from),
    ]
}

const KEYS: [&str; 13] = [
    "SessionID",
    "HookType",
    "StartTime",
    "StartDuration",
    "EndTime",
    "Duration",
    "ResultCode",
    "CityNumber",
    "Caller",
    "Called",
    "Redirecting",
    "sessionid",
    "Extra",
];
const HOOKS: [&str; 9] = [
    "CreateIncCall",
    "AttemptIncCallBegin",
    "ChangeIncCall",
    "AttemptIncCallEnd",
    "EndIncCall",
    "MissedIncCall",
    "CreateOutCall",
    "EndOutCall",
    "Bogus",
];

/// A hook-shaped JSON object: known keys with arbitrary values.
fn hook_object() -> impl Strategy<Value = Value> {
    let value = prop_oneof![
        4 => json_leaf(),
        2 => proptest::sample::select(HOOKS.to_vec()).prop_map(Value::from),
        1 => prop::collection::vec(json_leaf(), 0..3).prop_map(Value::from),
    ];
    prop::collection::btree_map(proptest::sample::select(KEYS.to_vec()), value, 0..12)
        .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect()))
}

const FIELDS: [&str; 16] = [
    "EventType",
    "CallID",
    "SubCallID",
    "CallAPIID",
    "CallerIDNum",
    "CallerIDName",
    "CalledDID",
    "CalledExtension",
    "CalledExtensionID",
    "CallStatus",
    "CallFlow",
    "EventTime",
    "Duration",
    "RecID",
    "Bridged",
    "var",
];
const EVENT_TYPES: [&str; 8] = [
    "dial-in",
    "dial-out",
    "answer",
    "hangup",
    "message-in",
    "call_interactive",
    "x",
    "",
];

/// A query string with Telphin field names and arbitrary values (percent-encoded or raw).
fn query() -> impl Strategy<Value = String> {
    let value = prop_oneof![
        text(),
        proptest::sample::select(EVENT_TYPES.to_vec()).prop_map(String::from),
        "[0-9]{0,20}"
    ];
    let pair = (
        proptest::sample::select(FIELDS.to_vec()),
        value,
        any::<bool>(),
    )
        .prop_map(|(k, v, encode)| {
            if encode {
                url::form_urlencoded::Serializer::new(String::new())
                    .append_pair(k, &v)
                    .finish()
            } else {
                format!("{k}={v}")
            }
        });
    prop_oneof![
        3 => prop::collection::vec(pair, 0..14).prop_map(|v| v.join("&")),
        1 => text(),
    ]
}

fn opt_text() -> impl Strategy<Value = Option<String>> {
    prop::option::of(text())
}

/// Any action, with arbitrary strings wherever the rule editor lets the user type.
fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        Just(Action::Hangup),
        prop::option::of(any::<u32>()).prop_map(|length| Action::Pause { length }),
        (text(), text()).prop_map(|(name, value)| Action::SetVar { name, value }),
        (text(), text()).prop_map(|(context, option)| Action::Jump { context, option }),
        (opt_text(), opt_text()).prop_map(|(name, number)| Action::SetCaller { name, number }),
        (
            text(),
            prop::option::of(prop_oneof![
                Just(PlayMode::Foreground),
                Just(PlayMode::Background)
            ]),
            opt_text()
        )
            .prop_map(|(file, mode, digitvar)| Action::PlaySound {
                file,
                mode,
                digitvar
            }),
        (
            prop::collection::vec(prop_oneof![text(), "[^,]{1,12}"], 0..4),
            prop::option::of(any::<bool>()),
            prop::option::of(any::<u32>()),
            prop::option::of(any::<bool>())
        )
            .prop_map(
                |(numbers, is_final, timeout, early_media)| Action::SimpleTransfer {
                    numbers,
                    is_final,
                    timeout,
                    early_media
                }
            ),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(2_000)))]

    #[test]
    fn json_decoder_never_panics_on_bytes(body in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = decode_call_hooks(&body, &opts());
    }

    #[test]
    fn json_decoder_never_panics_on_hook_shapes(obj in hook_object(), as_array in any::<bool>()) {
        let body = if as_array { Value::Array(vec![obj.clone(), obj]) } else { obj };
        let bytes = serde_json::to_vec(&body).unwrap();
        if let Ok(events) = decode_call_hooks(&bytes, &opts()) {
            prop_assert!(!events.is_empty());
            prop_assert!(events.iter().all(|e| e.dedup_key.starts_with("webhook:") && !e.call_id.is_empty()));
        }
        // Rejections explain themselves on one line.
        if let Err(e) = decode_call_hooks(&bytes, &opts()) {
            prop_assert!(!e.to_string().contains('\n'));
        }
    }

    #[test]
    fn query_decoders_never_panic(q in query()) {
        let params = Params::parse(q.as_bytes());
        if let Ok(events) = decode_telphin_event(&params, &opts()) {
            prop_assert!(events.iter().all(|e| !e.call_id.is_empty()));
        }
        if let Ok(req) = CallInteractiveRequest::from_params(&params) {
            let ev = req.to_events(1, &[], "default", None);
            prop_assert_eq!(ev.len(), 2);
        }
    }

    #[test]
    fn timestamps_never_panic(s in text(), n in any::<i64>()) {
        let _ = parse_timestamp(&s, chrono_tz::Europe::Moscow);
        let _ = parse_timestamp(&n.to_string(), chrono_tz::Asia::Kolkata);
    }

    #[test]
    fn hand_written_replies_never_panic(xml in text(), wrap in any::<bool>()) {
        let doc = if wrap { format!("<Response><SetVar name=\"v\">{xml}</SetVar></Response>") } else { xml };
        let _ = validate_xml(&doc);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(4_000)))]

    #[test]
    fn rule_values_always_give_xml_that_parses_back(actions in prop::collection::vec(action(), 0..12)) {
        let xml = response_xml(&actions);
        let parsed = parse_response_xml(&xml);
        prop_assert!(parsed.is_ok(), "{:?}\n{}", parsed, xml);
        let parsed = parsed.unwrap();
        // Same actions (the writer drops characters XML cannot carry and stops at ten).
        prop_assert_eq!(&parsed, &sanitize(&actions));
        prop_assert!(parsed.len() <= 10);
        // No value can inject markup: the document has exactly one element per action.
        let elements = xml.matches('<').count();
        let expected = 1 + if parsed.is_empty() { 1 } else { 2 }
            + parsed.iter().map(|a| match a {
                Action::SetVar { .. } | Action::PlaySound { .. } | Action::SimpleTransfer { .. } => 2,
                _ => 1,
            }).sum::<usize>();
        prop_assert_eq!(elements, expected, "{}", xml);
    }
}

/// The listener itself, fed arbitrary bodies and query strings over loopback, answers every
/// one with 200 or 400 (XML for Call Interactive) and keeps serving.
#[test]
fn the_listener_never_falls_over() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (listener, _sink) = rt.block_on(hooks_support::start(hooks_support::config()));
    let urls = listener.urls();
    let client = hooks_support::http();
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 300,
        ..ProptestConfig::default()
    });
    let strategy = (
        prop::collection::vec(any::<u8>(), 0..512),
        hook_object(),
        query(),
        any::<bool>(),
    );
    runner
        .run(&strategy, |(bytes, obj, q, post)| {
            rt.block_on(async {
                let raw = client
                    .post(&urls.calls)
                    .body(bytes.clone())
                    .send()
                    .await
                    .unwrap();
                prop_assert!(
                    matches!(raw.status().as_u16(), 200 | 400),
                    "{}",
                    raw.status()
                );
                let shaped = client.post(&urls.calls).json(&obj).send().await.unwrap();
                prop_assert!(
                    matches!(shaped.status().as_u16(), 200 | 400),
                    "{}",
                    shaped.status()
                );
                for base in [&urls.telphin, &urls.ivr] {
                    let mut url = url::Url::parse(base).unwrap();
                    url.set_query(Some(&q));
                    let resp = if post {
                        client
                            .post(url.as_str())
                            .body(bytes.clone())
                            .send()
                            .await
                            .unwrap()
                    } else {
                        client.get(url).send().await.unwrap()
                    };
                    let status = resp.status().as_u16();
                    prop_assert!(matches!(status, 200 | 400), "{}", status);
                    let xml = resp
                        .headers()
                        .get("content-type")
                        .is_some_and(|c| c == "application/xml");
                    let body = resp.text().await.unwrap();
                    if base == &urls.ivr && status == 200 {
                        prop_assert!(xml);
                        prop_assert!(validate_xml(&body).is_ok(), "{}", body);
                    }
                }
                Ok(())
            })
        })
        .unwrap();
    let health = rt.block_on(async { client.get(&urls.health).send().await.unwrap().status() });
    assert_eq!(health, 200);
    rt.block_on(listener.shutdown());
}
