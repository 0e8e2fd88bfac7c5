//! The engine end to end against the simulator over loopback: Era session, Telphin client and
//! webhook listener all connected, as in demo mode. Calls made in the simulator's world appear
//! on the board once (merged across sources), actions reach the platform, parking shows on the
//! park board, IVR control works, missed calls reach the history and the badge.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use cti_core::engine::{
    CallAction, DesktopNotice, Engine, EngineOptions, IvrCommand, Notifier, UiEvent, UiSink,
};
use cti_core::era::{Component, EraConfig};
use cti_core::history::{CallFilter, PageRequest};
use cti_core::model::{ConnectionState, Outcome};
use cti_sim::world::{Direction, HuntMode, HuntPlan, MemberResponse};
use cti_sim::{Sim, SimConfig};

#[derive(Default)]
struct Collect {
    events: Mutex<Vec<UiEvent>>,
    notices: Mutex<Vec<DesktopNotice>>,
}

impl UiSink for Collect {
    fn emit(&self, e: &UiEvent) {
        self.events.lock().unwrap().push(e.clone());
    }
}

impl Notifier for Collect {
    fn notify(&self, n: &DesktopNotice) {
        self.notices.lock().unwrap().push(n.clone());
    }
}

struct Setup {
    engine: Engine,
    sim: Sim,
    seen: Arc<Collect>,
    _dir: tempfile::TempDir,
}

async fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    // SAFETY: set before any thread reads it; every test in this binary sets the same value kind.
    unsafe { std::env::set_var("CTI_PANEL_PROVISIONING", dir.path().join("none.toml")) };
    let cfg = dir.path().join("config.toml");
    std::fs::write(
        &cfg,
        format!(
            "[storage]\ndata_dir = {:?}\n[secrets]\nbackend = \"file\"\n[listener]\nport = 0\n",
            dir.path().join("data").display().to_string()
        ),
    )
    .unwrap();
    let seen = Arc::new(Collect::default());
    let options = EngineOptions {
        config_file: Some(cfg),
        demo: true,
        overrides: Vec::new(),
    };
    let engine = Engine::start(options, seen.clone(), seen.clone())
        .await
        .unwrap();
    let urls = engine.snapshot().listener_urls.expect("listener runs");

    let mut sc = SimConfig {
        speed: 1.0,
        ..SimConfig::default()
    };
    sc.webhooks.url = Some(urls.calls.clone());
    let sim = Sim::start(sc.clone()).await.unwrap();
    let base = sim.base_url().to_string();
    let mut era = EraConfig::for_server(&base, "101", "era-user-101");
    era.rest_url = base.clone();
    era.objects = vec!["101".into(), "800".into()];
    let mut telphin = engine.config().telphin;
    telphin.enabled = true;
    telphin.host = base;
    telphin.client_id = sc.telphin.client_id.clone();
    telphin.client_secret = sc.telphin.client_secret.clone();
    telphin.extension_ids = vec!["34414".into()];
    telphin.events_url = urls.telphin.clone();
    engine.connect_platforms(era, telphin).await;
    wait(&engine, "all connected", |e| {
        let c = e.connections();
        c.len() == 3
            && c.iter()
                .all(|v| matches!(v.state, ConnectionState::Connected { .. }))
    })
    .await;
    Setup {
        engine,
        sim,
        seen,
        _dir: dir,
    }
}

async fn wait(engine: &Engine, what: &str, mut f: impl FnMut(&Engine) -> bool) {
    for _ in 0..300 {
        if f(engine) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "timed out waiting for {what}; connections: {:?}; calls: {:#?}",
        engine.connections(),
        engine.snapshot().calls
    );
}

fn ring_agent(sim: &Sim, from: &str, response: MemberResponse, give_up_ms: i64) -> String {
    let w = sim.world();
    let c = w.create_call(
        Direction::Inbound,
        from,
        Some("Иван Петров"),
        "101",
        Some("74951234567"),
    );
    let plan = HuntPlan::new(HuntMode::Parallel, [("101", response)], give_up_ms)
        .caller_gives_up_after(give_up_ms);
    drop(w.hunt(&c.id, plan)); // the hunt runs on its own task
    c.id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incoming_call_is_one_card_answer_park_and_hang_up() {
    let s = setup().await;
    let world_id = ring_agent(&s.sim, "+79161112233", MemberResponse::NoAnswer, 60_000);

    wait(&s.engine, "the ringing card", |e| {
        e.snapshot()
            .calls
            .iter()
            .any(|c| c.from.number.ends_with("9161112233"))
    })
    .await;
    // Give every source time to report, then check it is still one card with both control refs.
    wait(&s.engine, "era and telphin on the card", |e| {
        let calls = e.snapshot().calls;
        calls
            .iter()
            .filter(|c| c.from.number.ends_with("9161112233"))
            .count()
            == 1
            && calls.iter().any(|c| c.refs.len() >= 2)
    })
    .await;
    let card = s
        .engine
        .snapshot()
        .calls
        .into_iter()
        .find(|c| c.from.number.ends_with("9161112233"))
        .unwrap();
    assert_eq!(
        s.seen
            .notices
            .lock()
            .unwrap()
            .iter()
            .filter(|n| n.body.contains("9161112233"))
            .count(),
        1,
        "exactly one desktop notification"
    );

    s.engine
        .call_action(&card.key, CallAction::Answer)
        .await
        .unwrap();
    wait(&s.engine, "answered", |e| {
        e.snapshot()
            .calls
            .iter()
            .any(|c| c.key == card.key && c.answered_ms.is_some())
    })
    .await;

    s.engine
        .call_action(&card.key, CallAction::Park { slot: Some(6) })
        .await
        .unwrap();
    wait(&s.engine, "slot 6 on the park board", |e| {
        e.snapshot().park.slots.iter().any(|p| p.slot == 6)
    })
    .await;
    // The card shows the call parked, and stays so when the parking leg's end is reported.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let parked = s
        .engine
        .snapshot()
        .calls
        .into_iter()
        .find(|c| c.key == card.key)
        .expect("card");
    assert_eq!(
        (parked.phase, parked.parked_slot),
        (cti_core::engine::board::CallPhase::Parked, Some(6)),
        "{parked:#?}"
    );
    let slot = s
        .engine
        .snapshot()
        .park
        .slots
        .into_iter()
        .find(|p| p.slot == 6)
        .unwrap();
    assert!(
        slot.returns_in_secs.is_some_and(|n| n > 150 && n <= 180),
        "{slot:?}"
    );

    // Parking the same slot again is refused with an agent-readable error.
    let other = ring_agent(
        &s.sim,
        "+79165554433",
        MemberResponse::Answer { after_ms: 100 },
        60_000,
    );
    wait(&s.engine, "second call answered", |e| {
        e.snapshot()
            .calls
            .iter()
            .any(|c| c.from.number.ends_with("9165554433") && c.answered_ms.is_some())
    })
    .await;
    let key2 = s
        .engine
        .snapshot()
        .calls
        .into_iter()
        .find(|c| c.from.number.ends_with("9165554433"))
        .unwrap()
        .key;
    wait(&s.engine, "telphin ref on the second call", |e| {
        e.snapshot()
            .calls
            .iter()
            .any(|c| c.key == key2 && c.refs.iter().any(|r| r.source == cti_core::Source::Telphin))
    })
    .await;
    let err = s
        .engine
        .call_action(&key2, CallAction::Park { slot: Some(6) })
        .await
        .unwrap_err();
    assert!(err.to_string().contains('6'), "{err}");

    s.engine
        .call_action(&key2, CallAction::Hangup)
        .await
        .unwrap();
    wait(&s.engine, "second call ended", |e| {
        e.snapshot()
            .calls
            .iter()
            .all(|c| c.key != key2 || c.ended_ms.is_some())
    })
    .await;
    let w = s.sim.world().call(&other).unwrap();
    assert!(w.ended_ms.is_some(), "the platform hung up");
    let _ = world_id;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missed_call_reaches_history_and_badge_once() {
    let s = setup().await;
    ring_agent(&s.sim, "+79167778899", MemberResponse::NoAnswer, 1_500);
    wait(&s.engine, "missed badge", |e| e.snapshot().missed >= 1).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        s.engine.snapshot().missed,
        1,
        "one missed call counted once across sources"
    );
    let mut found = None;
    for _ in 0..100 {
        let page = s
            .engine
            .history_list(
                CallFilter {
                    text: Some("9167778899".into()),
                    ..CallFilter::default()
                },
                PageRequest::default(),
            )
            .await
            .unwrap();
        if let Some(c) = page.calls.first() {
            if c.outcome == Some(Outcome::Missed) {
                found = Some(page);
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let page = found.expect("missed call in history");
    assert_eq!(
        page.calls.len(),
        1,
        "one history record for the call from all sources: {:#?}",
        page.calls
    );
    s.engine.missed_seen();
    assert_eq!(s.engine.snapshot().missed, 0);
    assert!(s
        .seen
        .events
        .lock()
        .unwrap()
        .iter()
        .any(|e| matches!(e, UiEvent::Missed(0))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ivr_session_take_play_dtmf_release() {
    let s = setup().await;
    let w = s.sim.world();
    let call = w.create_call(
        Direction::Inbound,
        "+79160001122",
        None,
        "800",
        Some("74951234567"),
    );
    let key = cti_sim::era::offer_ivr_control(
        &s.sim.ctx,
        &call.id,
        "800",
        serde_json::json!({"lang": "ru"}),
    );
    assert!(!key.is_empty());
    wait(&s.engine, "IVR offer", |e| {
        e.snapshot()
            .ivr
            .iter()
            .any(|i| i.key == key && i.state == "offered")
    })
    .await;

    // Nothing can be played before control is taken.
    let err = s
        .engine
        .ivr_command(
            &key,
            IvrCommand::Apply {
                component: Component::Play {
                    file: ":GS_PUB/demo/hello.wav".into(),
                },
            },
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("take control"), "{err}");

    s.engine.ivr_command(&key, IvrCommand::Take).await.unwrap();
    wait(&s.engine, "controlled", |e| {
        e.snapshot()
            .ivr
            .iter()
            .any(|i| i.key == key && i.state == "controlled")
    })
    .await;
    s.engine
        .ivr_command(
            &key,
            IvrCommand::Apply {
                component: Component::Play {
                    file: ":GS_PUB/demo/hello.wav".into(),
                },
            },
        )
        .await
        .unwrap();
    cti_sim::era::press_dtmf(&s.sim.ctx, &call.id, "42");
    wait(&s.engine, "DTMF shown", |e| {
        e.snapshot()
            .ivr
            .iter()
            .any(|i| i.key == key && i.dtmf.contains("42"))
    })
    .await;
    s.engine
        .ivr_command(&key, IvrCommand::Release)
        .await
        .unwrap();
    wait(&s.engine, "released", |e| {
        e.snapshot()
            .ivr
            .iter()
            .any(|i| i.key == key && matches!(i.state.as_str(), "released" | "stopped"))
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn supervisor_team_view_shows_two_extensions_and_picks_up() {
    let s = setup().await;
    let w = s.sim.world();
    // Two agents (101 = 34414, 102 = 34415) each park a call.
    let mut parked = Vec::new();
    for (ext_no, ext_id, slot, from) in [
        ("101", "34414", 3u8, "+79160000301"),
        ("102", "34415", 5u8, "+79160000502"),
    ] {
        let c = w.create_call(Direction::Inbound, from, None, ext_no, None);
        let leg = w.ring(&c.id, ext_no).unwrap();
        w.answer(&c.id, &leg).unwrap();
        assert_eq!(w.park(&c.id, ext_id, Some(slot)).unwrap(), slot);
        parked.push((ext_id, slot, c.api_id.clone()));
    }
    // A live call of the team to pick up.
    let live = w.create_call(Direction::Inbound, "+79160000777", None, "102", None);
    let leg = w.ring(&live.id, "102").unwrap();
    w.answer(&live.id, &leg).unwrap();

    // Switch the running config to a supervisor with a team (as a provisioning file would).
    s.engine
        .set_setting("ui.role", serde_json::json!("supervisor"))
        .unwrap();
    s.engine
        .set_setting("team.extensions", serde_json::json!(["34414", "34415"]))
        .unwrap();
    let view = s.engine.team_refresh().await.unwrap();
    assert_eq!(view.error, None);
    for (ext, slot, api_id) in &parked {
        let p = view
            .park
            .slot(ext, *slot)
            .unwrap_or_else(|| panic!("slot {slot} of {ext} in {:?}", view.park));
        assert_eq!(
            p.call_uuid.as_deref(),
            Some(cti_core::telphin::call_uuid(api_id).as_str())
        );
    }
    let team_call = view
        .calls
        .iter()
        .find(|c| {
            c.caller_id_number
                .as_deref()
                .is_some_and(|n| n.ends_with("0000777"))
        })
        .expect("the live team call");
    s.engine
        .team_action(
            team_call.extension_id.as_deref().unwrap_or("34415"),
            &team_call.call_api_id,
            cti_core::engine::TeamAction::Pickup,
        )
        .await
        .unwrap();
    // The platform rings the supervisor's own extension (101) on the picked-up call.
    for _ in 0..100 {
        let c = w.call(&live.id).unwrap();
        if c.legs.iter().any(|l| l.target == "101") {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "pickup did not ring 101: {:#?}",
        w.call(&live.id).unwrap().legs
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn global_shortcuts_answer_and_hang_up_the_right_call() {
    let s = setup().await;
    assert_eq!(
        s.engine
            .shortcut(cti_core::engine::Shortcut::Answer)
            .await
            .unwrap(),
        None,
        "nothing rings"
    );
    let id = ring_agent(&s.sim, "+79163332211", MemberResponse::NoAnswer, 60_000);
    wait(&s.engine, "ringing card with a control ref", |e| {
        e.snapshot().calls.iter().any(|c| {
            c.from.number.ends_with("9163332211")
                && c.refs.iter().any(|r| r.source == cti_core::Source::Era)
        })
    })
    .await;
    let key = s
        .engine
        .shortcut(cti_core::engine::Shortcut::Answer)
        .await
        .unwrap()
        .expect("answered a call");
    wait(&s.engine, "answered", |e| {
        e.snapshot()
            .calls
            .iter()
            .any(|c| c.key == key && c.answered_ms.is_some())
    })
    .await;
    assert_eq!(
        s.engine
            .shortcut(cti_core::engine::Shortcut::Hangup)
            .await
            .unwrap(),
        Some(key)
    );
    for _ in 0..100 {
        if s.sim.world().call(&id).unwrap().ended_ms.is_some() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the call did not end");
}

/// The platform goes away (new connections refused, the Era WebSocket dropped) while a call
/// rings; meanwhile that caller gives up and someone else calls. Once the platform is back the
/// engine is connected again and shows the right calls — the first ended (missed), the second
/// ringing — with one card and one desktop notification per call, and each once in the history.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_while_a_call_rings_leaves_one_card_and_one_notice_per_call() {
    let s = setup().await;
    let first = ring_agent(&s.sim, "+79165550001", MemberResponse::NoAnswer, 60_000);
    let card_of = |e: &Engine, n: &str| {
        let calls = e.snapshot().calls;
        let mine: Vec<_> = calls
            .into_iter()
            .filter(|c| c.from.number.ends_with(n))
            .collect();
        mine
    };
    wait(&s.engine, "the first call's card", |e| {
        !card_of(e, "9165550001").is_empty()
    })
    .await;
    let era_connected = |e: &Engine| {
        e.connections().iter().any(|c| {
            c.platform == cti_core::engine::Platform::Era
                && matches!(c.state, ConnectionState::Connected { .. })
        })
    };

    s.sim.faults().set_refuse(true);
    s.sim.faults().drop_websockets();
    wait(&s.engine, "the Era link lost", |e| !era_connected(e)).await;
    s.sim
        .world()
        .hangup(&first, "487")
        .expect("caller gives up");
    ring_agent(&s.sim, "+79165550002", MemberResponse::NoAnswer, 60_000);
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    s.sim.faults().set_refuse(false);

    wait(&s.engine, "all connected again", |e| {
        let c = e.connections();
        c.len() == 3
            && c.iter()
                .all(|v| matches!(v.state, ConnectionState::Connected { .. }))
    })
    .await;
    wait(&s.engine, "the first call over, the second ringing", |e| {
        let (a, b) = (card_of(e, "9165550001"), card_of(e, "9165550002"));
        a.len() == 1 && a[0].ended_ms.is_some() && b.len() == 1 && b[0].ended_ms.is_none()
    })
    .await;
    // Every source (Era reconciled, Telphin, webhooks) has had time to report again.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    for n in ["9165550001", "9165550002"] {
        assert_eq!(card_of(&s.engine, n).len(), 1, "one card for {n}");
        let notices = s
            .seen
            .notices
            .lock()
            .unwrap()
            .iter()
            .filter(|x| x.body.contains(n))
            .count();
        assert_eq!(notices, 1, "one desktop notification for {n}");
        let page = s
            .engine
            .history_list(
                CallFilter {
                    text: Some(n.into()),
                    ..CallFilter::default()
                },
                PageRequest::default(),
            )
            .await
            .unwrap();
        assert_eq!(
            page.calls.len(),
            1,
            "{n} once in the history: {:#?}",
            page.calls
        );
    }
    let first_card = &card_of(&s.engine, "9165550001")[0];
    assert_eq!(
        first_card.result.as_ref().map(|r| r.outcome),
        Some(Outcome::Missed),
        "the caller gave up unanswered"
    );
}
