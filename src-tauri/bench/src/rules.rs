//! The workload: the seed-001 Call Interactive request, a realistic rule set, and the seed-004
//! JSON webhook sequences.
//!
//! The Node and Python peers (`bench/peers/`) implement the same five rules by hand, the way
//! an integrator would, and answer with the same XML bytes; the floor answers every request
//! with the XML of the rule the seed request matches ([`expected_reply`]).

use cti_core::hooks::{Action, Condition, IvrRule, IvrSettings, PlayMode, TextTest, Weekday};

/// The seed-001 request as the platform sends it
/// (`src-tauri/core/tests/fixtures/seed001_request.query`).
pub const SEED_001_QUERY: &str = "CalledExtensionID=145&CalledNumber=332&CallID=5205dc5cc5a411e5ab9eb3691b90ea15&CallerIDNum=000%2A306&CallerExtensionID=134&CallerExtension=000%2A306&CallFlow=IN&CalledExtension=000%2A332&CallAPIID=3584705175%3A5205dc5cc5a411e5ab9eb3691b90ea15&CallerIDName=000%2A306&CallStatus=ANSWER";

const SEED_CALL_ID: &str = "5205dc5cc5a411e5ab9eb3691b90ea15";

const SEED_CALLER: &str = "000%2A306";

/// The seed-001 request of call number `i`: the same parameters with a call id of its own (a
/// real PBX never repeats one, and the listener deduplicates repeats) and one of 10,000
/// internal callers `000*NNNN` (a real IVR is not called a thousand times a second by one
/// extension). Every variant takes the same path through the rules as the seed request.
pub fn ci_query(i: u64) -> String {
    SEED_001_QUERY
        .replace(SEED_CALL_ID, &format!("{i:016x}c5a411e5ab9eb369"))
        .replace(SEED_CALLER, &format!("000%2A{:04}", i % 10_000))
}

/// VIP callers (rule 2).
pub fn vip_numbers() -> Vec<String> {
    (0..20).map(|i| format!("749512345{i:02}")).collect()
}

/// The five rules, tried in order. The seed request (internal caller `000*306` dialling `332`)
/// fails the first four after evaluating them and matches the fifth.
pub fn ivr_settings() -> IvrSettings {
    let rules = vec![
        IvrRule {
            id: "blocked".into(),
            name: "Blocked prefix".into(),
            when: vec![Condition::CallerNumber {
                test: TextTest::Prefix("8800".into()),
            }],
            actions: vec![Action::Hangup],
            ..IvrRule::default()
        },
        IvrRule {
            id: "vip".into(),
            name: "VIP callers to the senior team".into(),
            when: vec![Condition::CallerNumber {
                test: TextTest::OneOf(vip_numbers()),
            }],
            actions: vec![Action::SimpleTransfer {
                numbers: vec!["101".into(), "102".into()],
                is_final: Some(false),
                timeout: Some(20),
                early_media: None,
            }],
            ..IvrRule::default()
        },
        IvrRule {
            id: "english".into(),
            name: "English menu".into(),
            when: vec![Condition::Variable {
                name: "lang".into(),
                test: TextTest::Equals("en".into()),
            }],
            actions: vec![Action::Jump {
                context: "3".into(),
                option: "en".into(),
            }],
            ..IvrRule::default()
        },
        IvrRule {
            id: "moscow-closed".into(),
            name: "Moscow callers hear the closed message".into(),
            when: vec![
                Condition::Weekday {
                    days: vec![
                        Weekday::Mon,
                        Weekday::Tue,
                        Weekday::Wed,
                        Weekday::Thu,
                        Weekday::Fri,
                        Weekday::Sat,
                        Weekday::Sun,
                    ],
                },
                Condition::CallerNumber {
                    test: TextTest::Prefix("7495".into()),
                },
            ],
            actions: vec![
                Action::PlaySound {
                    file: "closed.wav".into(),
                    mode: None,
                    digitvar: None,
                },
                Action::Hangup,
            ],
            ..IvrRule::default()
        },
        IvrRule {
            id: "sales".into(),
            name: "Sales line".into(),
            when: vec![
                Condition::CalledNumber {
                    test: TextTest::Equals("332".into()),
                },
                Condition::CallerName {
                    test: TextTest::Present,
                },
            ],
            actions: sales_actions(),
            ..IvrRule::default()
        },
    ];
    IvrSettings {
        rules,
        default_actions: Vec::new(),
        fallback_actions: vec![Action::Jump {
            context: "1".into(),
            option: "start".into(),
        }],
    }
}

fn sales_actions() -> Vec<Action> {
    vec![
        Action::SetVar {
            name: "route".into(),
            value: "sales".into(),
        },
        Action::PlaySound {
            file: "sales-greeting.wav".into(),
            mode: Some(PlayMode::Background),
            digitvar: None,
        },
        Action::SimpleTransfer {
            numbers: vec!["201".into(), "202".into(), "203".into()],
            is_final: Some(false),
            timeout: Some(25),
            early_media: None,
        },
    ]
}

/// The reply every server gives to the seed request (the sales rule's XML).
pub fn expected_reply() -> String {
    cti_core::hooks::response_xml(&sales_actions())
}

/// Hook types of one answered incoming call, in order.
pub const SEED_004_STEPS: [&str; 5] = [
    "CreateIncCall",
    "AttemptIncCallBegin",
    "ChangeIncCall",
    "AttemptIncCallEnd",
    "EndIncCall",
];

/// Step `step` (0–4, see [`SEED_004_STEPS`]) of call `call`'s seed-004 webhook sequence, with a
/// session id and caller of its own.
pub fn seed004_event(call: u64, step: usize) -> String {
    let session = format!(
        "{:08x}-02ff-487d-9b40-{:012x}",
        call as u32,
        call & 0xffff_ffff_ffff
    );
    let caller = format!("958{:07}", call % 10_000_000);
    let t = |s: u64| {
        let s = s + call % 3_000;
        format!(
            "2021-01-28 {:02}:{:02}:{:02}",
            9 + s / 3600,
            (s / 60) % 60,
            s % 60
        )
    };
    let hook = SEED_004_STEPS[step.min(4)];
    let common = format!(
        r#""SessionID":"{session}","HookType":"{hook}","CityNumber":"4950665310","Caller":"{caller}""#
    );
    match step {
        0 => format!(
            r#"{{{common},"StartTime":"{}","Called":"4950665310","Redirecting":"84950665310"}}"#,
            t(0)
        ),
        1 => format!(
            r#"{{{common},"StartTime":"{}","Called":"80052002651"}}"#,
            t(2)
        ),
        2 => format!(
            r#"{{{common},"StartDuration":"{}","Called":"80052002651"}}"#,
            t(8)
        ),
        3 => format!(
            r#"{{{common},"EndTime":"{}","Called":"80052002651"}}"#,
            t(34)
        ),
        _ => format!(
            r#"{{{common},"EndTime":"{}","Called":"80052002651","Duration":26,"ResultCode":"200"}}"#,
            t(35)
        ),
    }
}

/// One call's whole seed-004 sequence.
pub fn seed004_sequence(call: u64) -> Vec<String> {
    (0..SEED_004_STEPS.len())
        .map(|s| seed004_event(call, s))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use cti_core::hooks::{evaluate, CallInteractiveRequest, DecodeOptions, Params};

    fn root() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
    }

    #[test]
    fn seed_query_is_the_fixture() {
        let fixture = std::fs::read_to_string(
            root().join("src-tauri/core/tests/fixtures/seed001_request.query"),
        )
        .unwrap();
        assert_eq!(fixture.trim(), SEED_001_QUERY);
        let q = ci_query(7);
        assert!(!q.contains(SEED_CALL_ID));
        assert!(!q.contains(SEED_CALLER));
        assert_eq!(q.matches("000%2A0007").count(), 3, "{q}");
        assert_ne!(q, ci_query(8));
    }

    #[test]
    fn the_seed_request_matches_the_sales_rule_after_the_other_four() {
        let settings = ivr_settings();
        settings.validate().unwrap();
        let now = chrono::Utc::now().with_timezone(&chrono_tz::Europe::Moscow);
        for i in [0u64, 1, 99] {
            let p = Params::parse(ci_query(i).as_bytes());
            let req = CallInteractiveRequest::from_params(&p).unwrap();
            let rule = evaluate(&settings.rules, &req, &now).unwrap();
            assert_eq!(rule.id, "sales");
        }
        let xml = expected_reply();
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response>\n"));
        assert!(xml
            .contains("<SimpleTransfer final=\"no\" timeout=\"25\">201,202,203</SimpleTransfer>"));
    }

    #[test]
    fn the_peers_answer_the_same_xml_and_rules() {
        // The peers hard-code the XML as an integrator would; keep them byte-identical.
        let xml = expected_reply();
        let js = std::fs::read_to_string(root().join("bench/peers/node/server.js")).unwrap();
        let py = std::fs::read_to_string(root().join("bench/peers/python/app.py")).unwrap();
        let escaped = xml.replace('"', "\\\"").replace('\n', "\\n");
        assert!(
            js.contains(&escaped),
            "server.js SALES differs from\n{escaped}"
        );
        assert!(
            py.contains(&escaped),
            "app.py SALES differs from\n{escaped}"
        );
        for vip in vip_numbers() {
            assert!(js.contains(&vip) || js.contains("749512345"));
        }
        for peer in [&js, &py] {
            for needle in ["8800", "7495", "332", "lang"] {
                assert!(peer.contains(needle), "a peer lacks {needle}");
            }
        }
    }

    #[test]
    fn seed004_sequences_decode() {
        let opts = DecodeOptions::now();
        for call in [0u64, 1, 12_345] {
            let seq = seed004_sequence(call);
            assert_eq!(seq.len(), 5);
            for body in &seq {
                let events = cti_core::hooks::decode_call_hooks(body.as_bytes(), &opts)
                    .unwrap_or_else(|e| panic!("{body}: {e}"));
                assert!(!events.is_empty());
            }
        }
        assert_ne!(seed004_sequence(1)[0], seed004_sequence(2)[0]);
    }
}
