//! Call-model rules: transfers, conferences, IVR redirect, parking and its return, the directory.

use std::time::Duration;

use cti_sim::clock::Clock;
use cti_sim::world::{
    demo_directory, demo_groups, CallState, Direction, ExtensionKind, HuntMode, LegState, World,
    WorldError, WorldEventKind,
};

fn world() -> World {
    let w = World::new(Clock::new(1.0));
    w.install_demo_directory();
    w
}

/// An inbound call answered by `agent`.
fn talking(w: &World, agent: &str) -> String {
    let c = w.create_call(Direction::Inbound, "+79035550101", None, agent, None);
    let leg = w.ring(&c.id, agent).unwrap();
    w.answer(&c.id, &leg).unwrap();
    c.id
}

fn leg_state(w: &World, call: &str, target: &str) -> Vec<(LegState, Option<String>)> {
    let c = w.call(call).unwrap();
    c.legs
        .iter()
        .filter(|l| l.target == target)
        .map(|l| (l.state, l.result_code.clone()))
        .collect()
}

#[test]
fn the_demo_directory_has_agents_an_ivr_and_two_queues() {
    let dir = demo_directory();
    let agents: Vec<_> = dir
        .iter()
        .filter(|e| e.kind == ExtensionKind::Agent)
        .collect();
    assert_eq!(
        agents.iter().map(|e| e.number.as_str()).collect::<Vec<_>>(),
        ["101", "102", "103", "104", "105"]
    );
    assert_eq!(agents[0].id, "34414");
    assert_eq!(agents[0].sip_name, "022*101@siptest.ringme.ru");
    assert!(dir
        .iter()
        .any(|e| e.kind == ExtensionKind::Ivr && e.number == "800"));
    let groups = demo_groups();
    assert_eq!(groups.len(), 2);
    assert_eq!(
        (groups[0].number.as_str(), groups[0].mode),
        ("200", HuntMode::Parallel)
    );
    assert_eq!(
        (groups[1].number.as_str(), groups[1].mode),
        ("201", HuntMode::Sequential)
    );
    let w = world();
    assert_eq!(w.agents().len(), 5);
    assert_eq!(w.extension("101").map(|e| e.id), Some("34414".to_string()));
    assert_eq!(w.group("200").map(|g| g.members.len()), Some(3));
}

#[test]
fn a_blind_transfer_ends_the_agents_leg_at_once() {
    let w = world();
    let call = talking(&w, "101");
    let leg = w.transfer(&call, "104", false).unwrap();
    assert_eq!(
        leg_state(&w, &call, "101"),
        vec![(LegState::Ended, Some("200".into()))]
    );
    assert_eq!(w.call(&call).unwrap().state, CallState::Ringing);
    w.answer(&call, &leg).unwrap();
    let c = w.call(&call).unwrap();
    assert_eq!(
        (c.state, c.connected_to.as_deref()),
        (CallState::Active, Some("104"))
    );
}

#[test]
fn an_attended_transfer_holds_the_caller_until_the_target_answers() {
    let w = world();
    let call = talking(&w, "101");
    let mut rx = w.subscribe();
    let leg = w.transfer(&call, "105", true).unwrap();
    let c = w.call(&call).unwrap();
    assert_eq!(
        c.state,
        CallState::Held,
        "the caller waits on hold during the consultation"
    );
    assert_eq!(
        leg_state(&w, &call, "101"),
        vec![(LegState::Answered, None)]
    );
    w.answer(&call, &leg).unwrap();
    assert_eq!(
        leg_state(&w, &call, "101"),
        vec![(LegState::Ended, Some("200".into()))]
    );
    let c = w.call(&call).unwrap();
    assert_eq!(
        (c.state, c.connected_to.as_deref()),
        (CallState::Active, Some("105"))
    );
    let kinds: Vec<String> = std::iter::from_fn(|| rx.try_recv().ok())
        .map(|e| match e.kind {
            WorldEventKind::Transferred { to, attended } => format!("transferred {to} {attended}"),
            WorldEventKind::Held => "held".into(),
            WorldEventKind::LegRinging { target, .. } => format!("ring {target}"),
            WorldEventKind::LegAnswered { target, .. } => format!("answer {target}"),
            WorldEventKind::LegEnded { target, code, .. } => format!("end {target} {code}"),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "transferred 105 true",
            "held",
            "ring 105",
            "answer 105",
            "end 101 200"
        ]
    );
}

#[test]
fn an_unanswered_attended_transfer_goes_back_to_the_agent() {
    let w = world();
    let call = talking(&w, "101");
    let leg = w.transfer(&call, "105", true).unwrap();
    w.end_leg(&call, &leg, "408").unwrap();
    w.resume(&call).unwrap();
    let c = w.call(&call).unwrap();
    assert_eq!(
        (c.state, c.connected_to.as_deref()),
        (CallState::Active, Some("101"))
    );
}

#[test]
fn a_conference_keeps_everyone_and_ends_when_the_last_one_leaves() {
    let w = world();
    let call = talking(&w, "101");
    let leg = w.conference(&call, "102").unwrap();
    assert_eq!(
        w.join_conference(&call, "nope"),
        Err(WorldError::NoSuchLeg("nope".into()))
    );
    w.join_conference(&call, &leg).unwrap();
    let c = w.call(&call).unwrap();
    let answered: Vec<_> = c
        .legs
        .iter()
        .filter(|l| l.state == LegState::Answered)
        .map(|l| l.target.as_str())
        .collect();
    assert_eq!(answered, ["101", "102"]);
    assert!(w.is_busy("101") && w.is_busy("102"));
    let first = c.legs[0].id.clone();
    w.leave_conference(&call, &first).unwrap();
    let c = w.call(&call).unwrap();
    assert_eq!(
        (c.state, c.connected_to.as_deref()),
        (CallState::Active, Some("102"))
    );
    w.leave_conference(&call, &leg).unwrap();
    let c = w.call(&call).unwrap();
    assert_eq!(
        (c.state, c.result_code.as_deref()),
        (CallState::Ended, Some("200"))
    );
}

#[test]
fn a_ringing_call_cannot_be_held_transferred_conferenced_or_parked() {
    let w = world();
    let c = w.create_call(Direction::Inbound, "+79035550101", None, "101", None);
    w.ring(&c.id, "101").unwrap();
    let ringing = Err(WorldError::WrongState(CallState::Ringing));
    assert_eq!(w.hold(&c.id), ringing);
    assert_eq!(w.transfer(&c.id, "102", false).map(|_| ()), ringing);
    assert_eq!(w.conference(&c.id, "102").map(|_| ()), ringing);
    assert_eq!(w.park(&c.id, "34414", None).map(|_| ()), ringing);
    assert_eq!(w.redirect(&c.id, "200"), ringing);
}

#[test]
fn an_ivr_redirect_ends_the_ivr_leg_and_lets_the_queue_ring() {
    let w = world();
    let c = w.create_call(
        Direction::Inbound,
        "+79035550101",
        None,
        "800",
        Some("74957397100"),
    );
    let ivr = w.ring(&c.id, "800").unwrap();
    w.answer(&c.id, &ivr).unwrap();
    w.dtmf(&c.id, "1").unwrap();
    w.redirect(&c.id, "200").unwrap();
    let call = w.call(&c.id).unwrap();
    assert_eq!(call.state, CallState::Ringing);
    assert_eq!(call.connected_to, None);
    assert_eq!(
        leg_state(&w, &c.id, "800"),
        vec![(LegState::Ended, Some("200".into()))]
    );
    let leg = w.ring(&c.id, "102").unwrap();
    w.answer(&c.id, &leg).unwrap();
    assert_eq!(w.call(&c.id).unwrap().connected_to.as_deref(), Some("102"));
}

#[test]
fn a_parked_call_returns_to_its_parker() {
    let w = world();
    let call = talking(&w, "102");
    assert_eq!(w.park(&call, "34415", Some(4)).unwrap(), 4);
    assert!(!w.is_busy("102"), "parking ends the agent's leg");
    assert_eq!(w.return_parked(&call).unwrap(), Some(4));
    let c = w.call(&call).unwrap();
    assert_eq!(
        (c.state, c.connected_to.as_deref(), c.parked_slot),
        (CallState::Active, Some("102"), None)
    );
    assert!(w.free_slots("34415").contains(&4));
    assert_eq!(w.return_parked(&call).unwrap(), None, "no longer parked");
}

#[test]
fn hanging_up_a_parked_call_frees_its_slot() {
    let w = world();
    let call = talking(&w, "103");
    w.park(&call, "34416", None).unwrap();
    assert!(!w.free_slots("34416").contains(&1));
    w.hangup(&call, "200").unwrap();
    assert!(w.free_slots("34416").contains(&1));
}

#[tokio::test]
async fn the_park_timer_returns_the_call_in_simulated_time() {
    let w = World::new(Clock::new(600.0));
    w.install_demo_directory();
    let call = talking(&w, "101");
    w.park(&call, "34414", Some(2)).unwrap();
    // 180 simulated seconds at 600× is 0.3 s.
    let slot = w
        .spawn_park_return(&call, cti_sim::world::PARK_TIMEOUT)
        .await
        .unwrap();
    assert_eq!(slot, Some(2));
    let c = w.call(&call).unwrap();
    assert_eq!(c.connected_to.as_deref(), Some("101"));

    // A call bridged before the timeout stays where it is.
    let other = talking(&w, "104");
    w.park(&other, "34417", Some(3)).unwrap();
    let timer = w.spawn_park_return(&other, Duration::from_secs(60));
    w.unpark("34417", Some(3), "105", "bridged", |_| 0).unwrap();
    assert_eq!(timer.await.unwrap(), None);
    assert_eq!(w.call(&other).unwrap().connected_to.as_deref(), Some("105"));
}

#[test]
fn old_ended_calls_are_forgotten_beyond_the_limit() {
    let w = world();
    let ids: Vec<String> = (0..5)
        .map(|_| {
            let id = talking(&w, "101");
            w.hangup(&id, "200").unwrap();
            // Distinct end times, so "newest" is well defined.
            std::thread::sleep(Duration::from_millis(3));
            id
        })
        .collect();
    let live = talking(&w, "102");
    w.forget_ended_calls(2);
    let left: Vec<String> = w.all_calls().into_iter().map(|c| c.id).collect();
    assert_eq!(left.len(), 3);
    assert!(left.contains(&live), "live calls stay");
    assert!(
        left.contains(&ids[4]) && left.contains(&ids[3]),
        "the newest ended calls stay"
    );
}
