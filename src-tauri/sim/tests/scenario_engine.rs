//! Scenario steps drive the World as scripted: hunting, hold, transfer, conference, parking, IVR,
//! outcomes, generator and repetition. Runs step by step against a simulator on loopback.

use cti_sim::scenario::{Scenario, ScenarioRunner};
use cti_sim::world::{CallState, Direction, WorldEvent, WorldEventKind};
use cti_sim::{Sim, SimConfig};
use tokio::sync::broadcast::Receiver;

async fn sim() -> Sim {
    Sim::start(SimConfig::default())
        .await
        .expect("simulator starts")
}

fn runner(sim: &Sim, toml: &str) -> ScenarioRunner {
    ScenarioRunner::new(
        sim.ctx.clone(),
        Scenario::from_toml_str(toml).expect("valid scenario"),
    )
}

/// Run to the end; the scenario times of the steps.
fn finish(r: &mut ScenarioRunner) -> Vec<(i64, String)> {
    let mut fired = Vec::new();
    while let Some(f) = r.step() {
        fired.push((f.at_ms, f.what));
        assert!(fired.len() < 100_000, "scenario does not end");
    }
    fired
}

fn describe(kind: &WorldEventKind) -> String {
    match kind {
        WorldEventKind::CallCreated => "created".into(),
        WorldEventKind::LegRinging { target, .. } => format!("ring {target}"),
        WorldEventKind::LegAnswered { target, .. } => format!("answer {target}"),
        WorldEventKind::LegEnded { target, code, .. } => format!("end {target} {code}"),
        WorldEventKind::Held => "held".into(),
        WorldEventKind::Resumed => "resumed".into(),
        WorldEventKind::Transferred { to, attended } => format!("transfer {to} {attended}"),
        WorldEventKind::Conference { with } => format!("conference {with}"),
        WorldEventKind::Parked {
            slot,
            by_extension_id,
        } => format!("parked {slot} by {by_extension_id}"),
        WorldEventKind::Unparked { slot, how } => format!("unparked {slot} {how}"),
        WorldEventKind::Dtmf { digits } => format!("dtmf {digits}"),
        WorldEventKind::RecordingReady { .. } => "recording".into(),
        WorldEventKind::CallEnded { code } => format!("ended {code}"),
    }
}

fn events(rx: &mut Receiver<WorldEvent>) -> Vec<WorldEvent> {
    std::iter::from_fn(|| rx.try_recv().ok()).collect()
}

fn described(evs: &[WorldEvent]) -> Vec<String> {
    evs.iter().map(|e| describe(&e.kind)).collect()
}

#[tokio::test]
async fn a_queue_call_is_hunted_answered_held_transferred_and_ended() {
    let sim = sim().await;
    let mut rx = sim.world().subscribe();
    let mut r = runner(
        &sim,
        r#"
        [[calls]]
        at = "2s"
        from = "+79161234567"
        from_name = "Иван Петров"
        did = "74957397100"
        to = "200"
        answered_by = "102"
        ring = "5s"
        talk = "30s"
        steps = [{ talk = "10s" }, { hold = "5s" }, { transfer = "104", ring = "3s" }]
        "#,
    );
    let fired = finish(&mut r);
    let evs = events(&mut rx);
    assert_eq!(
        described(&evs),
        [
            "created",
            "ring 101",
            "ring 102",
            "ring 103",
            "answer 102",
            "end 101 603-S",
            "end 103 603-S",
            "held",
            "resumed",
            "transfer 104 false",
            "end 102 200",
            "ring 104",
            "answer 104",
            "end 104 200",
            "ended 200",
        ]
    );
    let call = &evs[0].call;
    assert_eq!(
        (call.direction, call.from.as_str(), call.to.as_str()),
        (Direction::Inbound, "+79161234567", "200")
    );
    assert_eq!(
        (call.from_name.as_deref(), call.did.as_deref()),
        (Some("Иван Петров"), Some("74957397100"))
    );
    // Scenario times: created at 2 s, answered after 5 s of ringing, held 10 s later for 5 s,
    // transferred, answered after 3 s, then 30 s of talk.
    let times: Vec<i64> = fired.iter().map(|(t, _)| *t).collect();
    for t in [2000, 7000, 17_000, 22_000, 25_000, 55_000] {
        assert!(times.contains(&t), "a step at {t} ms: {fired:?}");
    }
    assert_eq!(r.now_ms(), 55_000);
    let rep = r.report();
    assert_eq!((rep.calls_started, rep.answered, rep.completed), (1, 1, 1));
    assert!(rep.problems.is_empty(), "{:?}", rep.problems);
}

#[tokio::test]
async fn a_parked_call_is_bridged_or_returns_after_the_park_timeout() {
    let sim = sim().await;
    let mut rx = sim.world().subscribe();
    let mut r = runner(
        &sim,
        r#"
        park_timeout = "30s"
        [[calls]]
        from = "+79161234567"
        to = "102"
        ring = "2s"
        talk = "10s"
        steps = [{ talk = "5s" }, { park = 3 }]

        [[calls]]
        at = "1s"
        from = "+79035550101"
        to = "101"
        ring = "2s"
        talk = "10s"
        steps = [{ park = "any", after = "4s", then = "bridge", wait = "20s", to = "103" }]
        "#,
    );
    let fired = finish(&mut r);
    let evs = events(&mut rx);
    let of = |from: &str| -> Vec<String> {
        evs.iter()
            .filter(|e| e.call.from == from)
            .map(|e| describe(&e.kind))
            .collect()
    };
    assert_eq!(
        of("+79161234567"),
        [
            "created",
            "ring 102",
            "answer 102",
            "end 102 200",
            "parked 3 by 34415",
            "unparked 3 returned",
            "answer 102",
            "end 102 200",
            "ended 200"
        ]
    );
    assert_eq!(
        of("+79035550101"),
        [
            "created",
            "ring 101",
            "answer 101",
            "end 101 200",
            "parked 1 by 34414",
            "unparked 1 bridged",
            "answer 103",
            "end 103 200",
            "ended 200"
        ]
    );
    // Parked at 7 s, returned 30 s later; the second parked at 7 s, bridged 20 s later.
    assert!(
        fired
            .iter()
            .any(|(t, w)| *t == 37_000 && w.contains("park_return")),
        "{fired:?}"
    );
    assert!(
        fired
            .iter()
            .any(|(t, w)| *t == 27_000 && w.contains("bridge")),
        "{fired:?}"
    );
}

#[tokio::test]
async fn an_ivr_call_presses_keys_and_is_routed_to_the_queue() {
    let sim = sim().await;
    let mut rx = sim.world().subscribe();
    let mut r = runner(
        &sim,
        r#"
        [[calls]]
        from = "+79161234567"
        did = "74957397100"
        to = "201"
        answered_by = "105"
        ring = "4s"
        ivr = { answer = "1s", wait = "6s", dtmf = "2" }
        "#,
    );
    finish(&mut r);
    let evs = events(&mut rx);
    assert_eq!(evs[0].call.to, "800", "the DID leads to the IVR first");
    assert_eq!(
        described(&evs)[..12],
        [
            "created",
            "ring 800",
            "answer 800",
            "dtmf 2",
            "transfer 201 false",
            "end 800 200",
            "ring 104",
            "end 104 408",
            "ring 105",
            "answer 105",
            "end 105 200",
            "ended 200",
        ]
    );
}

#[tokio::test]
async fn unanswered_calls_end_with_their_codes() {
    let sim = sim().await;
    let mut r = runner(
        &sim,
        r#"
        [[calls]]
        from = "+79000000001"
        to = "200"
        outcome = "missed"
        ring_timeout = "10s"
        [[calls]]
        from = "+79000000002"
        to = "201"
        outcome = "busy"
        [[calls]]
        from = "+79000000003"
        to = "103"
        outcome = "rejected"
        ring = "3s"
        [[calls]]
        from = "+79000000004"
        to = "200"
        outcome = "cancelled"
        ring = "6s"
        "#,
    );
    finish(&mut r);
    let calls = sim.world().all_calls();
    let by = |from: &str| {
        calls
            .iter()
            .find(|c| c.from == from)
            .cloned()
            .expect("call")
    };
    let codes = |from: &str| -> (Option<String>, Vec<Option<String>>) {
        let c = by(from);
        (
            c.result_code.clone(),
            c.legs.iter().map(|l| l.result_code.clone()).collect(),
        )
    };
    let s = |x: &str| Some(x.to_string());
    assert_eq!(
        codes("+79000000001"),
        (s("304"), vec![s("408"), s("408"), s("408")])
    );
    assert_eq!(
        codes("+79000000002"),
        (s("486"), vec![s("486"), s("486"), s("486")])
    );
    assert_eq!(codes("+79000000003"), (s("603"), vec![s("603")]));
    assert_eq!(
        codes("+79000000004"),
        (s("603-S"), vec![s("487"), s("487"), s("487")])
    );
    assert!(calls
        .iter()
        .all(|c| c.state == CallState::Ended && c.answered_ms.is_none()));
    let rep = r.report();
    assert_eq!(
        (
            rep.missed,
            rep.busy,
            rep.rejected,
            rep.cancelled,
            rep.answered
        ),
        (1, 1, 1, 1, 0)
    );
}

#[tokio::test]
async fn outgoing_internal_and_conference_calls() {
    let sim = sim().await;
    let mut rx = sim.world().subscribe();
    let mut r = runner(
        &sim,
        r#"
        [[calls]]
        from = "104"
        to = "+74956407080"
        ring = "5s"
        talk = "20s"
        [[calls]]
        at = "1s"
        from = "101"
        to = "102"
        ring = "2s"
        talk = "20s"
        steps = [{ talk = "5s" }, { conference = "103", ring = "2s" }]
        "#,
    );
    finish(&mut r);
    let calls = sim.world().all_calls();
    let out = calls.iter().find(|c| c.from == "104").expect("outgoing");
    assert_eq!(out.direction, Direction::Outbound);
    assert_eq!(
        out.from_name.as_deref(),
        Some("Игорь Соколов"),
        "the agent's name"
    );
    assert_eq!(out.legs[0].target, "+74956407080");
    let internal = calls.iter().find(|c| c.from == "101").expect("internal");
    assert_eq!(internal.direction, Direction::Internal);
    let evs: Vec<String> = events(&mut rx)
        .iter()
        .filter(|e| e.call.from == "101")
        .map(|e| describe(&e.kind))
        .collect();
    assert_eq!(
        evs,
        [
            "created",
            "ring 102",
            "answer 102",
            "conference 103",
            "ring 103",
            "answer 103",
            "end 102 200",
            "end 103 200",
            "ended 200"
        ]
    );
}

#[tokio::test]
async fn a_client_hanging_up_stops_the_script_without_a_problem() {
    let sim = sim().await;
    let mut r = runner(
        &sim,
        r#"
        [[calls]]
        from = "+79161234567"
        to = "101"
        ring = "2s"
        steps = [{ talk = "30s" }, { hold = "10s" }]
        "#,
    );
    r.run_until(5000);
    let call = sim.world().active_calls().pop().expect("call in progress");
    assert_eq!(call.state, CallState::Active);
    sim.world()
        .hangup(&call.id, "200")
        .expect("client hangs up");
    finish(&mut r);
    let rep = r.report();
    assert_eq!((rep.ended_elsewhere, rep.completed), (1, 0));
    assert!(rep.problems.is_empty(), "{:?}", rep.problems);
}

#[tokio::test]
async fn the_generator_follows_weights_and_count_and_repeat_restarts_the_script() {
    let sim = sim().await;
    let mut r = runner(
        &sim,
        r#"
        seed = 5
        [generator]
        start = "0s"
        interval = ["1s", "3s"]
        count = 40
        [[generator.templates]]
        weight = 3
        from = "@caller"
        to = "200"
        outcome = "missed"
        ring_timeout = "5s"
        [[generator.templates]]
        weight = 1
        from = "@agent"
        to = "@external"
        outcome = "busy"
        "#,
    );
    finish(&mut r);
    let calls = sim.world().all_calls();
    assert_eq!(calls.len(), 40);
    let outgoing = calls
        .iter()
        .filter(|c| c.direction == Direction::Outbound)
        .count();
    assert!(
        (4..=20).contains(&outgoing),
        "about a quarter are outgoing: {outgoing}"
    );

    let sim = self::sim().await;
    let mut r = runner(
        &sim,
        r#"
        repeat = "1m"
        until = "3m30s"
        [[calls]]
        at = "5s"
        from = "+79161234567"
        to = "101"
        ring = "1s"
        talk = "5s"
        "#,
    );
    let fired = finish(&mut r);
    let starts: Vec<i64> = fired
        .iter()
        .filter(|(_, w)| w.contains("from calls[0]"))
        .map(|(t, _)| *t)
        .collect();
    assert_eq!(starts, [5000, 65_000, 125_000, 185_000]);
}
