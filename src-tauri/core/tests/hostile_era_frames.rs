//! Bad input on the Era side (proptest; cargo-fuzz needs a nightly toolchain, which this build
//! machine does not have — see RELIABILITY.md for the long-run command):
//!
//! - the frame decoder never panics, and what the client encodes decodes back to the same
//!   request; result, error and notify frames decode to what they carry;
//! - the event normalizer never panics on arbitrary `data`, never pops a call up twice, and a
//!   second reconciliation with the same call list adds nothing;
//! - a live session fed hostile frames by the platform (garbage, wrong types, deep nesting,
//!   oversized frames, results nobody asked for) stays connected and keeps working.
//!
//! `PROPTEST_CASES` sets the cases per property (e.g. 100000 for a long run).

mod common;

use std::collections::BTreeMap;

use cti_core::era::frame::{decode, encode, FrameError, Inbound};
use cti_core::era::normalize::{ivr_call_event, ivr_offer, CallTracker};
use cti_core::model::CallEventKind;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use serde_json::{json, Map, Value};

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Strings biased towards what matters to JSON and to the frame shape.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[\\[\\]{}\",:0-9a-z_\\\\ .eE+-]{0,40}",
        Just("notify".to_string()),
        Just("x_result".to_string()),
        Just("_result".to_string()),
    ]
}

/// Leaves that survive a text round trip exactly (serde_json's default float parsing may
/// differ from the printed value in the last bit, which is not what these tests are about).
fn exact_leaf() -> BoxedStrategy<Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        text().prop_map(Value::from),
    ]
    .boxed()
}

fn leaf() -> BoxedStrategy<Value> {
    prop_oneof![
        5 => exact_leaf(),
        1 => any::<f64>().prop_map(|f| serde_json::Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or(Value::Null)),
    ]
    .boxed()
}

/// Any JSON value, a few levels deep, with the field names the client looks at.
fn value() -> BoxedStrategy<Value> {
    tree(leaf())
}

/// Like [`value`], without floats.
fn exact_value() -> BoxedStrategy<Value> {
    tree(exact_leaf())
}

fn tree(leaf: BoxedStrategy<Value>) -> BoxedStrategy<Value> {
    const KEYS: [&str; 16] = [
        "qid",
        "result",
        "error_code",
        "error_message",
        "message",
        "error_details",
        "class",
        "type",
        "eventts",
        "data",
        "cid",
        "key",
        "ivrid",
        "expires",
        "id",
        "x",
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(proptest::sample::select(KEYS.to_vec()), inner, 0..8)
                .prop_map(|m| Value::Object(
                    m.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
                )),
        ]
    })
    .boxed()
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z_]{1,24}",
        text(),
        Just("notify".into()),
        "[a-z_]{1,12}_result",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(1_000)))]

    #[test]
    fn decoding_never_panics_on_text(s in text()) {
        let _ = decode(&s);
    }

    #[test]
    fn decoding_never_panics_on_json(v in value(), n in name()) {
        let _ = decode(&v.to_string());
        let framed = Value::Array(vec![Value::String(n), v]);
        let _ = decode(&framed.to_string());
    }

    /// What the client sends, a platform (or the simulator) reads back as the same request.
    #[test]
    fn requests_round_trip(n in "[a-z][a-z_]{0,23}", qid in exact_leaf(), params in prop::collection::btree_map("[a-z_]{1,10}", exact_value(), 0..6)) {
        prop_assume!(n != "notify" && !n.ends_with("_result"));
        let params: Map<String, Value> = params.into_iter().collect();
        let text = encode(&n, &qid, &params);
        let mut expected = params.clone();
        expected.remove("qid");
        expected.insert("qid".into(), qid.clone());
        match decode(&text) {
            Ok(Inbound::Push { name, body }) => {
                prop_assert_eq!(name, n);
                prop_assert_eq!(body, Value::Object(expected));
            }
            other => prop_assert!(false, "{:?}", other),
        }
    }

    /// A `<name>_result` decodes to its request name and the echoed qid; it is an error exactly
    /// when it carries `result: "error"` or an `error_code`.
    #[test]
    fn results_decode_to_their_outcome(base in "[a-z][a-z_]{0,15}", qid in exact_leaf(), body in prop::collection::btree_map(proptest::sample::select(vec!["result", "error_code", "error_message", "error_details", "x"]), exact_value(), 0..5)) {
        let mut m: Map<String, Value> = body.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        m.insert("qid".into(), qid.clone());
        let is_error = m.get("result").and_then(Value::as_str) == Some("error") || m.contains_key("error_code");
        let text = json!([format!("{base}_result"), Value::Object(m.clone())]).to_string();
        match decode(&text) {
            Ok(Inbound::Result { name, qid: q, outcome }) => {
                prop_assert_eq!(name, base);
                prop_assert_eq!(q, qid);
                prop_assert_eq!(outcome.is_err(), is_error);
                if let Ok(v) = outcome {
                    prop_assert_eq!(v, Value::Object(m));
                }
            }
            other => prop_assert!(false, "{:?}", other),
        }
    }

    /// `notify` carries class, type, eventts and data through; without class or type it is a
    /// typed error, never a panic.
    #[test]
    fn notifies_decode_to_what_they_carry(class in prop::option::of(text()), kind in prop::option::of(text()), ts in prop::option::of(any::<i64>()), data in prop::option::of(exact_value())) {
        let mut m = Map::new();
        if let Some(c) = &class { m.insert("class".into(), json!(c)); }
        if let Some(k) = &kind { m.insert("type".into(), json!(k)); }
        if let Some(t) = ts { m.insert("eventts".into(), json!(t)); }
        if let Some(d) = &data { m.insert("data".into(), d.clone()); }
        let text = json!(["notify", Value::Object(m)]).to_string();
        match (decode(&text), &class, &kind) {
            (Ok(Inbound::Notify { class: c, kind: k, eventts, data: d }), Some(class), Some(kind)) => {
                prop_assert_eq!(&c, class);
                prop_assert_eq!(&k, kind);
                prop_assert_eq!(eventts, ts);
                prop_assert_eq!(d, data.unwrap_or(Value::Null));
            }
            (Err(FrameError::BadNotify), _, _) => prop_assert!(class.is_none() || kind.is_none()),
            (other, _, _) => prop_assert!(false, "{:?}", other),
        }
    }
}

const CLASSES: [(&str, &str); 12] = [
    ("callevents", "fork_start"),
    ("callevents", "fork_stop"),
    ("callevents", "dlg_start"),
    ("callevents", "dlg_stop"),
    ("callevents", "dtmf"),
    ("ccsevents", "connection_create"),
    ("ccsevents", "call_set_state"),
    ("ccsevents", "connection_update"),
    ("ccsevents", "connection_set_record_info"),
    ("ccsevents", "connection_delete"),
    ("ivrevents", "api_start"),
    ("x", "y"),
];

/// Event `data`: a few call ids, the fields the normalizer reads with arbitrary values.
fn event_data() -> impl Strategy<Value = Value> {
    let cid = prop_oneof![
        4 => proptest::sample::select(vec!["c1", "c2", "c3"]).prop_map(Value::from),
        1 => leaf(),
    ];
    let field = prop_oneof![4 => leaf(), 1 => value()];
    (
        cid,
        prop::collection::btree_map(
            proptest::sample::select(vec![
                "connectionid",
                "idconn",
                "eventid",
                "eventts",
                "forkcallid",
                "forkcallednum",
                "resultcode",
                "sipcode",
                "dtmf",
                "state",
                "prevstate",
                "event",
                "referto",
                "attended",
                "key",
                "talksecs",
                "direction",
                "callernum",
                "params",
            ]),
            field,
            0..8,
        ),
    )
        .prop_map(|(cid, m)| {
            let mut o: Map<String, Value> =
                m.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
            o.insert("cid".into(), cid);
            Value::Object(o)
        })
}

fn listed_call() -> impl Strategy<Value = Value> {
    (
        proptest::sample::select(vec!["c1", "c2", "c3", "c4", "c5"]),
        proptest::sample::select(vec!["talk", "hold", "ringing", "", "x"]),
        prop::option::of(text()),
    )
        .prop_map(|(cid, state, conn)| json!({"cid": cid, "state": state, "connectionid": conn, "callernum": "+7900", "b": {"callid": "l"}}))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(300)))]

    /// Arbitrary event streams: no panic, every event names its call, no call pops up twice,
    /// and ended calls are not resurrected by late events.
    #[test]
    fn the_normalizer_never_pops_a_call_up_twice(events in prop::collection::vec((proptest::sample::select(CLASSES.to_vec()), prop::option::of(any::<i64>()), event_data()), 0..24)) {
        let mut t = CallTracker::default();
        t.new_generation();
        let mut created: BTreeMap<String, usize> = BTreeMap::new();
        for ((class, kind), ts, data) in &events {
            let _ = ivr_call_event(kind, *ts, data, 1);
            let _ = ivr_offer(*ts, data, 1);
            for e in t.on_notify(class, kind, *ts, data, 1) {
                prop_assert!(!e.call_id.is_empty());
                prop_assert!(!e.dedup_key.is_empty());
                if matches!(e.kind, CallEventKind::Created { .. }) {
                    *created.entry(e.call_id.clone()).or_default() += 1;
                }
            }
        }
        prop_assert!(created.values().all(|n| *n == 1), "{:?}", created);
    }

    /// Reconciling against an arbitrary call list (unique ids, as the platform lists them)
    /// never panics, pops each call up at most once, and a second pass adds nothing.
    #[test]
    fn reconciliation_is_idempotent(before in prop::collection::vec((proptest::sample::select(CLASSES[..10].to_vec()), event_data()), 0..20), listed in prop::collection::btree_map(proptest::sample::select(vec!["c1", "c2", "c3", "c4", "c5"]), listed_call(), 0..5)) {
        let mut t = CallTracker::default();
        t.new_generation();
        let mut created: BTreeMap<String, usize> = BTreeMap::new();
        for ((class, kind), data) in &before {
            for e in t.on_notify(class, kind, None, data, 1) {
                if matches!(e.kind, CallEventKind::Created { .. }) {
                    *created.entry(e.call_id.clone()).or_default() += 1;
                }
            }
        }
        t.new_generation();
        let list: Vec<Value> = listed.into_iter().map(|(cid, mut c)| { c["cid"] = json!(cid); c }).collect();
        for e in t.reconcile(&list, 100) {
            if matches!(e.kind, CallEventKind::Created { .. }) {
                *created.entry(e.call_id.clone()).or_default() += 1;
            }
        }
        prop_assert!(created.values().all(|n| *n == 1), "{:?}", created);
        let again = t.reconcile(&list, 200);
        prop_assert!(again.is_empty(), "{:?}", again);
    }
}

/// Frames a hostile or broken platform could send.
fn hostile_frames() -> Vec<String> {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let big = json!(["notify", {"class": "callevents", "type": "dtmf", "data": {"pad": "x".repeat(1_200_000)}}]).to_string();
    vec![
        String::new(),
        "null".into(),
        "[]".into(),
        "{".into(),
        "\u{0}\u{1}\u{fffd}".into(),
        deep,
        big,
        r#"["notify"]"#.into(),
        r#"["notify", 5]"#.into(),
        r#"["notify", {"class": 1, "type": []}]"#.into(),
        r#"["notify", {"class": "callevents", "type": "fork_start", "data": "oops"}]"#.into(),
        r#"["notify", {"class": "callevents", "type": "fork_start", "data": {"cid": {"a": 1}}}]"#
            .into(),
        r#"["notify", {"class": "ivrevents", "type": "api_start", "data": {"key": null}}]"#.into(),
        r#"["notify", {"class": "ivrevents", "type": "api_stop", "data": []}]"#.into(),
        r#"["subscribe_result", {"qid": 999999, "id": "x"}]"#.into(),
        r#"["connection_info_result", {"qid": "1", "result": "error"}]"#.into(),
        r#"["ivrapi_component_stopped", {}]"#.into(),
        r#"["ivrapi_dtmf", {"dtmf": 5, "key": []}]"#.into(),
        r#"["error", {"error_message": {"nested": true}}]"#.into(),
        r#"[1, 2]"#.into(),
        r#"["a", {}, "extra"]"#.into(),
        "1e999999".into(),
        r#"["notify", {"class": "callevents", "type": "dtmf", "eventts": 1e400, "data": {}}]"#
            .into(),
    ]
}

#[test]
fn a_live_session_survives_hostile_frames() {
    use common::era::*;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let sim = sim_on(0, |_| {}).await;
        let panel = Panel::start(client_cfg(sim.base_url())).await;
        panel.wait_connected(WAIT).await;
        let ctl = cti_sim::era::control(&sim.ctx);
        let mut sent = 0;
        for f in hostile_frames() {
            sent += ctl.inject_frame(&f);
        }
        // And generated ones.
        let generated = cases(300);
        let mut runner = proptest::test_runner::TestRunner::default();
        let strategy = (name(), value(), text());
        for _ in 0..generated {
            let (n, v, s) = strategy
                .new_tree(&mut runner)
                .expect("value tree")
                .current();
            sent += ctl.inject_frame(&json!([n, v]).to_string());
            sent += ctl.inject_frame(&s);
        }
        assert!(sent > 300, "frames injected: {sent}");
        // Still the same connection, still answering, still delivering calls.
        let info = panel
            .handle
            .connection_info()
            .await
            .expect("the session still answers");
        assert_eq!(info["ownertype"], "user");
        assert_eq!(received(&sim, "connection_info"), 2);
        assert_eq!(received(&sim, "subscribe"), 3, "no resubscription");
        let m = panel.mark();
        let id = answered(&sim, "+79000000090");
        let c = cid(&sim, &id);
        let c2 = c.clone();
        panel
            .wait_call(m, "a real call after the garbage", |e| {
                e.call_id == c2 && matches!(e.kind, CallEventKind::Answered { .. })
            })
            .await;
        check_platform(&sim, None, true).await;
        panel.check_no_duplicates();
    });
}
