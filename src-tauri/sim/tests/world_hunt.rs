//! Hunting rules: parallel and sequential hunts produce the right legs and result codes.

use std::time::Duration;

use cti_sim::clock::Clock;
use cti_sim::world::{
    CallState, Direction, Hunt, HuntMode, HuntOutcome, HuntPlan, HuntPoll, LegState,
    MemberResponse, World, WorldEvent, WorldEventKind,
};
use tokio::sync::broadcast::Receiver;

fn world() -> World {
    let w = World::new(Clock::new(1.0));
    w.install_demo_directory();
    w
}

fn inbound(w: &World, to: &str) -> String {
    w.create_call(
        Direction::Inbound,
        "+79161234567",
        Some("Иван Петров"),
        to,
        Some("74957397100"),
    )
    .id
}

/// `(target, code)` of every leg of the call, in creation order; code `None` while live.
fn legs(w: &World, call: &str) -> Vec<(String, LegState, Option<String>)> {
    let c = w.call(call).expect("call exists");
    c.legs
        .iter()
        .map(|l| (l.target.clone(), l.state, l.result_code.clone()))
        .collect()
}

fn drain(rx: &mut Receiver<WorldEvent>) -> Vec<WorldEventKind> {
    let mut out = Vec::new();
    while let Ok(e) = rx.try_recv() {
        out.push(e.kind);
    }
    out
}

fn ended(target: &str, code: &str) -> (String, LegState, Option<String>) {
    (target.to_string(), LegState::Ended, Some(code.to_string()))
}

#[test]
fn parallel_hunt_rings_everyone_and_the_first_answer_wins() {
    let w = world();
    let call = inbound(&w, "200");
    let mut rx = w.subscribe();
    let plan = HuntPlan::new(
        HuntMode::Parallel,
        [
            ("101", MemberResponse::NoAnswer),
            ("102", MemberResponse::Answer { after_ms: 5000 }),
            ("103", MemberResponse::Reject { after_ms: 2000 }),
        ],
        20_000,
    );
    let mut hunt = Hunt::new(&call, plan);
    assert_eq!(hunt.advance(&w, 0), HuntPoll::WakeAt(2000));
    let ringing: Vec<_> = legs(&w, &call)
        .into_iter()
        .map(|(t, s, _)| (t, s))
        .collect();
    assert_eq!(
        ringing,
        vec![
            ("101".to_string(), LegState::Ringing),
            ("102".to_string(), LegState::Ringing),
            ("103".to_string(), LegState::Ringing)
        ]
    );
    // Nothing is due before 2 s.
    assert_eq!(hunt.advance(&w, 1999), HuntPoll::WakeAt(2000));
    assert_eq!(hunt.advance(&w, 2000), HuntPoll::WakeAt(5000));
    assert_eq!(legs(&w, &call)[2], ended("103", "603"));
    let HuntPoll::Done(HuntOutcome::Answered { target, .. }) = hunt.advance(&w, 5000) else {
        panic!("102 answers at 5 s")
    };
    assert_eq!(target, "102");
    let l = legs(&w, &call);
    assert_eq!(l[0], ended("101", "603-S"));
    assert_eq!(l[1].1, LegState::Answered);
    let c = w.call(&call).unwrap();
    assert_eq!(
        (c.state, c.connected_to.as_deref()),
        (CallState::Active, Some("102"))
    );

    let kinds = drain(&mut rx);
    let summary: Vec<String> = kinds
        .iter()
        .map(|k| match k {
            WorldEventKind::LegRinging { target, .. } => format!("ring {target}"),
            WorldEventKind::LegAnswered { target, .. } => format!("answer {target}"),
            WorldEventKind::LegEnded { target, code, .. } => format!("end {target} {code}"),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        summary,
        [
            "ring 101",
            "ring 102",
            "ring 103",
            "end 103 603",
            "answer 102",
            "end 101 603-S"
        ]
    );
}

#[test]
fn sequential_hunt_moves_on_after_each_timeout_busy_or_decline() {
    let w = world();
    let call = inbound(&w, "201");
    let plan = HuntPlan::new(
        HuntMode::Sequential,
        [
            ("104", MemberResponse::NoAnswer),
            ("105", MemberResponse::Busy),
            ("103", MemberResponse::Reject { after_ms: 1000 }),
            ("101", MemberResponse::Answer { after_ms: 3000 }),
        ],
        10_000,
    );
    let mut hunt = Hunt::new(&call, plan);
    assert_eq!(hunt.advance(&w, 0), HuntPoll::WakeAt(10_000));
    assert_eq!(legs(&w, &call).len(), 1, "only the first member rings");
    // At 10 s: 104 times out, 105 is busy at once, 103 starts ringing.
    assert_eq!(hunt.advance(&w, 10_000), HuntPoll::WakeAt(11_000));
    assert_eq!(hunt.advance(&w, 11_000), HuntPoll::WakeAt(14_000));
    // A late driver still gets the same result: everything due is done in time order.
    let HuntPoll::Done(HuntOutcome::Answered { target, .. }) = hunt.advance(&w, 60_000) else {
        panic!("101 answers")
    };
    assert_eq!(target, "101");
    let l = legs(&w, &call);
    assert_eq!(l[0], ended("104", "408"));
    assert_eq!(l[1], ended("105", "486"));
    assert_eq!(l[2], ended("103", "603"));
    assert_eq!((l[3].0.as_str(), l[3].1), ("101", LegState::Answered));
    // Leg start times follow the hunt: each member rings when the previous one ended.
    let c = w.call(&call).unwrap();
    assert!(c
        .legs
        .windows(2)
        .all(|p| p[0].ended_ms.unwrap() <= p[1].started_ms));
}

#[test]
fn an_unanswered_hunt_ends_every_leg_with_408_and_the_call_with_304() {
    let w = world();
    let call = inbound(&w, "200");
    let plan = HuntPlan::new(
        HuntMode::Parallel,
        [
            ("101", MemberResponse::NoAnswer),
            ("102", MemberResponse::NoAnswer),
        ],
        15_000,
    );
    let mut hunt = Hunt::new(&call, plan);
    assert_eq!(hunt.advance(&w, 0), HuntPoll::WakeAt(15_000));
    assert_eq!(
        hunt.advance(&w, 15_000),
        HuntPoll::Done(HuntOutcome::Unanswered { code: "304".into() })
    );
    assert_eq!(
        legs(&w, &call),
        vec![ended("101", "408"), ended("102", "408")]
    );
    let c = w.call(&call).unwrap();
    assert_eq!(
        (c.state, c.result_code.as_deref()),
        (CallState::Ended, Some("304"))
    );
}

#[test]
fn everyone_busy_gives_486_and_everyone_declining_gives_603() {
    let w = world();
    let busy = inbound(&w, "200");
    let plan = HuntPlan::new(
        HuntMode::Parallel,
        [("101", MemberResponse::Busy), ("102", MemberResponse::Busy)],
        20_000,
    );
    assert_eq!(
        Hunt::new(&busy, plan).advance(&w, 0),
        HuntPoll::Done(HuntOutcome::Unanswered { code: "486".into() })
    );
    assert_eq!(w.call(&busy).unwrap().result_code.as_deref(), Some("486"));

    let declined = inbound(&w, "201");
    let reject = MemberResponse::Reject { after_ms: 2000 };
    let plan = HuntPlan::new(
        HuntMode::Sequential,
        [("104", reject), ("105", reject)],
        20_000,
    );
    let mut hunt = Hunt::new(&declined, plan);
    assert_eq!(hunt.advance(&w, 0), HuntPoll::WakeAt(2000));
    assert_eq!(hunt.advance(&w, 2000), HuntPoll::WakeAt(4000));
    assert_eq!(
        hunt.advance(&w, 4000),
        HuntPoll::Done(HuntOutcome::Unanswered { code: "603".into() })
    );
    assert_eq!(
        legs(&w, &declined),
        vec![ended("104", "603"), ended("105", "603")]
    );
}

#[test]
fn a_caller_giving_up_cancels_ringing_legs_with_487_and_ends_the_call_603s() {
    let w = world();
    let call = inbound(&w, "200");
    let plan = HuntPlan::new(
        HuntMode::Parallel,
        [
            ("101", MemberResponse::NoAnswer),
            ("102", MemberResponse::NoAnswer),
        ],
        20_000,
    )
    .caller_gives_up_after(7000);
    let mut hunt = Hunt::new(&call, plan);
    assert_eq!(hunt.advance(&w, 0), HuntPoll::WakeAt(7000));
    assert_eq!(
        hunt.advance(&w, 7000),
        HuntPoll::Done(HuntOutcome::CallerGaveUp)
    );
    assert_eq!(
        legs(&w, &call),
        vec![ended("101", "487"), ended("102", "487")]
    );
    assert_eq!(w.call(&call).unwrap().result_code.as_deref(), Some("603-S"));
}

#[test]
fn an_agent_already_talking_is_busy_whatever_the_plan_says() {
    let w = world();
    let first = inbound(&w, "102");
    let leg = w.ring(&first, "102").unwrap();
    w.answer(&first, &leg).unwrap();
    assert!(w.is_busy("102"));
    assert!(!w.is_busy("101"), "ringing or idle agents are not busy");

    let call = inbound(&w, "200");
    let plan = HuntPlan::new(
        HuntMode::Parallel,
        [
            ("102", MemberResponse::Answer { after_ms: 1000 }),
            ("101", MemberResponse::Answer { after_ms: 4000 }),
        ],
        20_000,
    );
    let mut hunt = Hunt::new(&call, plan);
    assert_eq!(hunt.advance(&w, 0), HuntPoll::WakeAt(4000));
    assert_eq!(legs(&w, &call)[0], ended("102", "486"));
    assert!(
        matches!(hunt.advance(&w, 4000), HuntPoll::Done(HuntOutcome::Answered { ref target, .. }) if target == "101")
    );
}

#[test]
fn a_hunt_notices_answers_and_hangups_made_by_others() {
    let w = world();
    let call = inbound(&w, "200");
    let plan = HuntPlan::new(
        HuntMode::Parallel,
        [
            ("101", MemberResponse::NoAnswer),
            ("103", MemberResponse::NoAnswer),
        ],
        20_000,
    );
    let mut hunt = Hunt::new(&call, plan.clone());
    hunt.advance(&w, 0);
    let leg103 = legs(&w, &call).len() - 1;
    let leg_id = w.call(&call).unwrap().legs[leg103].id.clone();
    w.answer(&call, &leg_id).unwrap();
    assert_eq!(
        hunt.advance(&w, 1000),
        HuntPoll::Done(HuntOutcome::AnsweredElsewhere {
            target: Some("103".into())
        })
    );

    let other = inbound(&w, "200");
    let mut hunt = Hunt::new(&other, plan);
    hunt.advance(&w, 0);
    w.hangup(&other, "603-S").unwrap();
    assert_eq!(
        hunt.advance(&w, 500),
        HuntPoll::Done(HuntOutcome::CallEnded)
    );
}

#[test]
fn a_hunt_with_nobody_to_ring_gives_480() {
    let w = world();
    let call = inbound(&w, "200");
    let plan = HuntPlan::new(
        HuntMode::Parallel,
        Vec::<(String, MemberResponse)>::new(),
        20_000,
    );
    assert_eq!(
        Hunt::new(&call, plan).advance(&w, 0),
        HuntPoll::Done(HuntOutcome::Unanswered { code: "480".into() })
    );
}

#[test]
fn a_group_plan_uses_the_groups_mode_members_and_timeout() {
    let w = world();
    let g = w.group("201").expect("demo group 201");
    let plan = HuntPlan::for_group(&g, |m| {
        if m == "105" {
            MemberResponse::Answer { after_ms: 100 }
        } else {
            MemberResponse::NoAnswer
        }
    });
    assert_eq!(plan.mode, HuntMode::Sequential);
    assert_eq!(plan.ring_timeout_ms, g.ring_timeout_ms);
    assert_eq!(
        plan.members
            .iter()
            .map(|(m, _)| m.as_str())
            .collect::<Vec<_>>(),
        ["104", "105", "101"]
    );
}

#[tokio::test]
async fn the_async_hunt_runs_on_the_clock() {
    // 200× faster: 2 × 10 simulated seconds take 0.1 s.
    let w = World::new(Clock::new(200.0));
    w.install_demo_directory();
    let call = inbound(&w, "201");
    let plan = HuntPlan::new(
        HuntMode::Sequential,
        [
            ("104", MemberResponse::NoAnswer),
            ("105", MemberResponse::Answer { after_ms: 3000 }),
        ],
        10_000,
    );
    let outcome = w.hunt(&call, plan).await.expect("hunt task");
    assert!(matches!(outcome, HuntOutcome::Answered { ref target, .. } if target == "105"));
    let c = w.call(&call).unwrap();
    assert_eq!(c.legs[0].result_code.as_deref(), Some("408"));
    // The first leg rang for its timeout in simulated time (less the task's start-up).
    let rang = c.legs[0].ended_ms.unwrap() - c.legs[0].started_ms;
    assert!(rang >= 9_000, "rang {rang} ms");
}

#[tokio::test]
async fn the_async_hunt_stops_when_somebody_hangs_up() {
    // Real time: the hunt would ring for a minute unless it reacts to the hang-up.
    let w = world();
    let call = inbound(&w, "200");
    let plan = HuntPlan::new(
        HuntMode::Parallel,
        [("101", MemberResponse::NoAnswer)],
        60_000,
    );
    let handle = w.hunt(&call, plan);
    tokio::time::sleep(Duration::from_millis(20)).await;
    w.hangup(&call, "603-S").unwrap();
    let outcome = tokio::time::timeout(Duration::from_secs(10), handle)
        .await
        .expect("reacts")
        .expect("task");
    assert_eq!(outcome, HuntOutcome::CallEnded);
}
