//! Fault matrix of the Era client against the simulator, through a fault-injecting proxy on
//! loopback. Every scenario ends with the same end state (see `common::era`):
//! connected + subscribed + IVR control re-acquired, the right calls (one popup per call, no
//! event twice), and the history (a real SQLite file) holding every call exactly once.
//! Recovery times are printed as `MEASURE <scenario> <what>=<ms>` lines and only checked
//! against a generous bound.
//!
//! Long versions: `CTI_LONG=1` (or `CTI_REFUSE_SECS`, `CTI_PAUSE_SECS`, `CTI_STALL_SECS`), see
//! `scripts/long-tests.sh` and RELIABILITY.md.

mod common;

use std::time::Duration;

use common::era::*;
use common::measure;
use common::proxy::FaultProxy;
use cti_core::era::{Component, EraError, IvrEvent};
use cti_core::model::{CallEventKind, ConnectionState};
use serde_json::json;
use tokio::time::Instant;

/// Generous bound on any recovery (the goal is ≤ 30 s after the fault clears).
const RECOVERY_BOUND: Duration = Duration::from_secs(30);

fn ms(d: Duration) -> u128 {
    d.as_millis()
}

/// A panel behind a proxy in front of a fresh simulator, connected, holding IVR control of a
/// call answered by 101. Returns (sim, proxy, panel, IVR call world id, IVR key).
async fn setup_with(
    tweak_sim: impl FnOnce(&mut cti_sim::SimConfig),
    tweak_client: impl FnOnce(&mut cti_core::era::EraConfig),
) -> (cti_sim::Sim, FaultProxy, Panel, String, String) {
    let sim = sim_on(0, tweak_sim).await;
    let proxy = FaultProxy::start(sim.addr).await;
    let mut cfg = client_cfg(&proxy.base_url());
    tweak_client(&mut cfg);
    let panel = Panel::start(cfg).await;
    panel.wait_connected(WAIT).await;
    let ivr_call = answered(&sim, "+79000000001");
    let m = panel.mark();
    cti_sim::era::offer_ivr_control(&sim.ctx, &ivr_call, "800", json!({"lang": "ru"}));
    let (key, _) = panel.take_ivr(m).await;
    check_platform(&sim, Some(&key), true).await;
    (sim, proxy, panel, ivr_call, key)
}

async fn setup() -> (cti_sim::Sim, FaultProxy, Panel, String, String) {
    setup_with(|_| {}, |_| {}).await
}

/// After recovery: live events flow again on the new link and the controlled IVR session
/// answers commands.
async fn live_again(sim: &cti_sim::Sim, panel: &Panel, ivr_call: &str) -> String {
    let m = panel.mark();
    let probe = answered(sim, "+79000009999");
    let probe_cid = cid(sim, &probe);
    let pc = probe_cid.clone();
    panel
        .wait_call(m, "a live Answered after recovery", |e| {
            e.call_id == pc && matches!(e.kind, CallEventKind::Answered { .. })
        })
        .await;
    cti_sim::era::press_dtmf(&sim.ctx, ivr_call, "5");
    panel
        .wait_ivr(
            m,
            "DTMF of the controlled session after recovery",
            |e| matches!(e, IvrEvent::Dtmf { digit, .. } if digit == "5"),
        )
        .await;
    probe
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_dropped_mid_call() {
    let (sim, proxy, panel, ivr_call, key) = setup().await;
    let talking = answered(&sim, "+79000000002");
    let ringing_call = ringing(&sim, "+79000000003").0;
    panel.wait_call_state(&cid(&sim, &talking), false).await;
    panel
        .wait_call_state(&cid(&sim, &ringing_call), false)
        .await;
    let before = panel.connected_since();

    // The link drops mid-call; while it is down the call ends and another one starts.
    proxy.set_refuse(true);
    proxy.drop_connections();
    let t0 = Instant::now();
    panel.wait_offline(WAIT).await;
    sim.world().hangup(&talking, "200").expect("hangup");
    let fresh = answered(&sim, "+79000000004");
    tokio::time::sleep(Duration::from_millis(300)).await;
    proxy.set_refuse(false);
    let took = panel.wait_reconnected(before, RECOVERY_BOUND).await;
    measure("ws_drop_mid_call", "reconnect_ms", ms(took));
    check_platform(&sim, Some(&key), true).await;
    measure("ws_drop_mid_call", "ivr_reacquired_ms", ms(t0.elapsed()));

    panel.wait_call_state(&cid(&sim, &talking), true).await;
    panel.wait_call_state(&cid(&sim, &fresh), false).await;
    let probe = live_again(&sim, &panel, &ivr_call).await;
    let ids: Vec<String> = [&ivr_call, &ringing_call, &fresh, &probe]
        .iter()
        .map(|id| cid(&sim, id))
        .collect();
    panel.check_end_state(&ids, &[cid(&sim, &talking)]).await;
}

/// The link drops again and again (`CTI_DROP_ROUNDS`: 15, long 200); each time a call ends and
/// another starts while it is down. Recovery after the link is back — connected, the platform
/// holding the three subscriptions and the IVR session on the new connection, the calls right —
/// is measured every round and printed as p50 / p95 / max (the goal: p95 ≤ 2 s; only the 30 s
/// bound is asserted).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_after_repeated_drops() {
    let rounds = common::knobs::env_u64("CTI_DROP_ROUNDS", 15, 200) as usize;
    let (sim, proxy, panel, ivr_call, key) = setup().await;
    let mut current = answered(&sim, "+79000100000");
    panel.wait_call_state(&cid(&sim, &current), false).await;
    let mut ended = Vec::new();
    let (mut reconnect, mut recovered) = (Vec::new(), Vec::new());
    for round in 1..=rounds {
        let before = panel.connected_since();
        proxy.set_refuse(true);
        proxy.drop_connections();
        panel.wait_offline(WAIT).await;
        sim.world().hangup(&current, "200").expect("hangup");
        ended.push(current);
        current = answered(&sim, &format!("+7900010{round:04}"));
        proxy.set_refuse(false);
        let back = Instant::now();
        panel.wait_reconnected(before, RECOVERY_BOUND).await;
        reconnect.push(back.elapsed());
        check_platform(&sim, Some(&key), false).await;
        panel
            .wait_call_state(&cid(&sim, ended.last().expect("one")), true)
            .await;
        panel.wait_call_state(&cid(&sim, &current), false).await;
        let took = back.elapsed();
        assert!(
            took < RECOVERY_BOUND,
            "round {round}: recovered in {took:?}"
        );
        recovered.push(took);
    }
    let pct = |v: &mut Vec<Duration>, p: usize| {
        v.sort();
        ms(v[((v.len() * p).div_ceil(100)).clamp(1, v.len()) - 1])
    };
    measure("repeated_drops", "rounds", rounds);
    for (what, v) in [("reconnect", &mut reconnect), ("recovered", &mut recovered)] {
        measure("repeated_drops", &format!("{what}_p50_ms"), pct(v, 50));
        measure("repeated_drops", &format!("{what}_p95_ms"), pct(v, 95));
        measure("repeated_drops", &format!("{what}_max_ms"), pct(v, 100));
    }
    let probe = live_again(&sim, &panel, &ivr_call).await;
    let live: Vec<String> = [&ivr_call, &current, &probe]
        .iter()
        .map(|id| cid(&sim, id))
        .collect();
    let over: Vec<String> = ended.iter().map(|id| cid(&sim, id)).collect();
    panel.check_end_state(&live, &over).await;
}

/// The call ends while the link is down, but one of its late events (`dlg_stop`, which the
/// platform sends seconds after the end) arrives on the new link before the reconciliation's
/// call list: the panel must still end the call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_event_after_the_reconnect_does_not_keep_an_ended_call_alive() {
    let (sim, proxy, panel, _ivr_call, key) =
        setup_with(|s| s.era.dlg_stop_delay_ms = 1_000, |_| {}).await;
    let talking = answered(&sim, "+79000000005");
    panel.wait_call_state(&cid(&sim, &talking), false).await;
    let before = panel.connected_since();
    proxy.set_refuse(true);
    proxy.drop_connections();
    panel.wait_offline(WAIT).await;
    // The end goes to nobody; its dlg_stop follows 1 s later, on the new link; the call list
    // comes 2 s after the reconnect.
    sim.world().hangup(&talking, "200").expect("hangup");
    sim.faults().set_rest_delay_ms(2_000);
    proxy.set_refuse(false);
    panel.wait_reconnected(before, RECOVERY_BOUND).await;
    check_platform(&sim, Some(&key), true).await;
    panel.wait_call_state(&cid(&sim, &talking), true).await;
    panel.check_no_duplicates();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_dropped_while_an_ivr_component_runs() {
    let (sim, proxy, panel, ivr_call, key) = setup().await;
    let ivrid = panel
        .handle
        .ivr_sessions()
        .await
        .expect("sessions")
        .into_iter()
        .find(|s| s.offer.key == key)
        .expect("tracked")
        .offer
        .ivrid;
    // A 3-second recording; the link drops while it runs and comes back before it ends.
    let record = |seconds| Component::Record {
        seconds,
        max_symbols: None,
        interrupt_symbols: None,
        abort_on_silence: false,
    };
    let m = panel.mark();
    panel
        .handle
        .ivr_apply(&key, &ivrid, &record(3))
        .await
        .expect("component starts");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = panel.connected_since();
    proxy.drop_connections();
    let took = panel.wait_reconnected(before, RECOVERY_BOUND).await;
    measure("ws_drop_during_component", "reconnect_ms", ms(took));
    check_platform(&sim, Some(&key), true).await;
    // The component's end reaches the new connection.
    let k = key.clone();
    panel
        .wait_ivr(
            m,
            "ComponentStopped after the reconnect",
            |e| matches!(e, IvrEvent::ComponentStopped { key, .. } if *key == k),
        )
        .await;
    // And the session takes the next component.
    panel
        .handle
        .ivr_apply(
            &key,
            &ivrid,
            &Component::Play {
                file: ":GS_PUB/hello.mp3".into(),
            },
        )
        .await
        .expect("next component accepted after the reconnect");
    live_again(&sim, &panel, &ivr_call).await;
    panel.check_no_duplicates();
}

/// The component ends while the panel is offline, so its `ivrapi_component_stopped` goes to a
/// connection that no longer exists. After re-taking control the panel must accept the next
/// component instead of believing the old one still runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_component_that_ended_while_offline_does_not_block_the_session() {
    let (sim, proxy, panel, ivr_call, key) = setup().await;
    let ivrid = panel.handle.ivr_sessions().await.expect("sessions")[0]
        .offer
        .ivrid
        .clone();
    let record = Component::Record {
        seconds: 1,
        max_symbols: None,
        interrupt_symbols: None,
        abort_on_silence: false,
    };
    panel
        .handle
        .ivr_apply(&key, &ivrid, &record)
        .await
        .expect("component starts");
    let before = panel.connected_since();
    proxy.set_refuse(true);
    proxy.drop_connections();
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    proxy.set_refuse(false);
    panel.wait_reconnected(before, RECOVERY_BOUND).await;
    check_platform(&sim, Some(&key), true).await;
    let play = Component::Play {
        file: ":GS_PUB/hello.mp3".into(),
    };
    let r = panel.handle.ivr_apply(&key, &ivrid, &play).await;
    assert!(
        r.is_ok(),
        "the platform has no component running, but the panel refused the next one: {r:?}"
    );
    live_again(&sim, &panel, &ivr_call).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn platform_refusing_connections() {
    let outage = fault_secs("CTI_REFUSE_SECS", 5, 60);
    let (sim, proxy, panel, ivr_call, key) = setup().await;
    let ends_offline = answered(&sim, "+79000000010");
    panel
        .wait_call_state(&cid(&sim, &ends_offline), false)
        .await;
    let before = panel.connected_since();
    proxy.set_refuse(true);
    proxy.drop_connections();
    panel.wait_offline(WAIT).await;
    // While unreachable: a call ends, one starts and stays, one starts and ends (the platform
    // keeps no events for absent clients, so nothing can show that last one).
    sim.world().hangup(&ends_offline, "200").expect("hangup");
    let starts_offline = answered(&sim, "+79000000011");
    let (gone, _) = ringing(&sim, "+79000000012");
    sim.world().hangup(&gone, "603").expect("hangup");
    let attempts_before = proxy.accepted();
    tokio::time::sleep(outage).await;
    let attempts = proxy.accepted() - attempts_before;
    proxy.set_refuse(false);
    let took = panel.wait_reconnected(before, RECOVERY_BOUND).await;
    measure("refused", "outage_s", outage.as_secs());
    measure("refused", "attempts_during_outage", attempts);
    measure("refused", "reconnect_after_clear_ms", ms(took));
    assert!(attempts >= 1, "the panel never tried to reconnect");
    check_platform(&sim, Some(&key), true).await;
    panel.wait_call_state(&cid(&sim, &ends_offline), true).await;
    panel
        .wait_call_state(&cid(&sim, &starts_offline), false)
        .await;
    let probe = live_again(&sim, &panel, &ivr_call).await;
    let live: Vec<String> = [&ivr_call, &starts_offline, &probe]
        .iter()
        .map(|id| cid(&sim, id))
        .collect();
    panel
        .check_end_state(&live, &[cid(&sim, &ends_offline)])
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_500_ms_plus_minus_50() {
    let sim = sim_on(0, |_| {}).await;
    let proxy = FaultProxy::start(sim.addr).await;
    proxy.set_latency(Some((
        Duration::from_millis(500),
        Duration::from_millis(50),
    )));
    let mut cfg = client_cfg(&proxy.base_url());
    // Round trips take 1-1.1 s here; the shipped deadline is 10 s.
    cfg.pong_timeout_ms = 5_000;
    let panel = Panel::start(cfg).await;
    let took = panel.wait_connected(WAIT).await;
    measure("latency_500ms", "connect_and_subscribe_ms", ms(took));
    let ivr_call = answered(&sim, "+79000000020");
    let m = panel.mark();
    cti_sim::era::offer_ivr_control(&sim.ctx, &ivr_call, "800", json!({}));
    let t = Instant::now();
    let (key, _) = panel.take_ivr(m).await;
    measure("latency_500ms", "offer_to_control_ms", ms(t.elapsed()));
    let mut ended = Vec::new();
    for i in 0..4 {
        let id = answered(&sim, &format!("+7900000003{i}"));
        sim.world().hangup(&id, "200").expect("hangup");
        ended.push(id);
    }
    for id in &ended {
        panel.wait_call_state(&cid(&sim, id), true).await;
    }
    // Several ping periods under latency: no spurious reconnect.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        received(&sim, "connection_info"),
        1,
        "latency alone must not break the link"
    );
    check_platform(&sim, Some(&key), true).await;
    let probe = live_again(&sim, &panel, &ivr_call).await;
    let ended: Vec<String> = ended.iter().map(|id| cid(&sim, id)).collect();
    panel
        .check_end_state(&[cid(&sim, &ivr_call), cid(&sim, &probe)], &ended)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_socket_is_detected_and_replaced() {
    let (sim, proxy, panel, ivr_call, key) = setup().await;
    let before = panel.connected_since();
    // The WebSocket goes silent (no data, no close); the network is otherwise fine.
    proxy.stall_oldest();
    let t0 = Instant::now();
    let during = answered(&sim, "+79000000040");
    let detected = panel.wait_offline(WAIT).await;
    measure("stalled_socket", "detected_ms", ms(detected));
    assert!(
        detected < Duration::from_secs(10),
        "a silent link must be found by the ping deadline (took {detected:?})"
    );
    let took = panel.wait_reconnected(before, RECOVERY_BOUND).await;
    measure("stalled_socket", "recovered_ms", ms(t0.elapsed()));
    let _ = took;
    // The platform still has the silent connection (it cannot know); the new one is complete.
    check_platform(&sim, Some(&key), false).await;
    panel.wait_call_state(&cid(&sim, &during), false).await;
    let probe = live_again(&sim, &panel, &ivr_call).await;
    let live: Vec<String> = [&ivr_call, &during, &probe]
        .iter()
        .map(|id| cid(&sim, id))
        .collect();
    panel.check_end_state(&live, &[]).await;
}

/// Every connection open at the moment goes silent (the WebSocket and the pooled keep-alive
/// REST connection): the first reconciliation after the reconnect is sent on the dead pooled
/// connection and times out; the calls that began meanwhile must still show up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconciliation_survives_a_dead_pooled_rest_connection() {
    let (sim, proxy, panel, ivr_call, key) = setup().await;
    let before = panel.connected_since();
    proxy.stall_existing();
    let during = answered(&sim, "+79000000045");
    panel.wait_reconnected(before, RECOVERY_BOUND).await;
    check_platform(&sim, Some(&key), false).await;
    panel.wait_call_state(&cid(&sim, &during), false).await;
    live_again(&sim, &panel, &ivr_call).await;
    panel.check_no_duplicates();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_slow_replies_delay_but_do_not_break_reconciliation() {
    // REST limit 6 s (the shipped one is 10 s): generous against a 2 s reply on a busy machine.
    let (sim, proxy, panel, ivr_call, key) =
        setup_with(|_| {}, |c| c.rest_timeout_ms = 6_000).await;
    let ends_offline = answered(&sim, "+79000000050");
    panel
        .wait_call_state(&cid(&sim, &ends_offline), false)
        .await;
    let before = panel.connected_since();
    proxy.set_refuse(true);
    proxy.drop_connections();
    panel.wait_offline(WAIT).await;
    sim.world().hangup(&ends_offline, "200").expect("hangup");
    let starts_offline = answered(&sim, "+79000000051");
    // REST answers slowly (within the client's limit).
    sim.faults().set_rest_delay_ms(2_000);
    proxy.set_refuse(false);
    let t0 = Instant::now();
    panel.wait_reconnected(before, RECOVERY_BOUND).await;
    check_platform(&sim, Some(&key), true).await;
    panel.wait_call_state(&cid(&sim, &ends_offline), true).await;
    panel
        .wait_call_state(&cid(&sim, &starts_offline), false)
        .await;
    measure("rest_slow", "reconciled_ms", ms(t0.elapsed()));
    // Call control over slow and failing REST: a bounded, typed error, never a hang.
    let rest = panel.handle.rest().expect("rest client").clone();
    sim.faults().set_rest_delay_ms(8_000);
    let t = Instant::now();
    let e = rest
        .hangup(&cid(&sim, &starts_offline))
        .await
        .expect_err("slower than the limit");
    assert!(matches!(e, EraError::Timeout { .. }), "{e:?}");
    assert!(t.elapsed() < Duration::from_secs(12), "{:?}", t.elapsed());
    sim.faults().set_rest_delay_ms(0);
    sim.faults().set_rest_status(503);
    let e = rest
        .hangup(&cid(&sim, &starts_offline))
        .await
        .expect_err("5xx");
    assert!(matches!(e, EraError::Http { status: 503, .. }), "{e:?}");
    sim.faults().set_rest_status(0);
    live_again(&sim, &panel, &ivr_call).await;
    panel.check_no_duplicates();
}

/// REST answers 5xx while the panel reconciles after a reconnect, then recovers: the calls
/// that changed while offline must still be put right (the reconciliation is retried).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_5xx_during_reconciliation_is_retried() {
    let (sim, proxy, panel, _ivr_call, key) = setup().await;
    let ends_offline = answered(&sim, "+79000000060");
    panel
        .wait_call_state(&cid(&sim, &ends_offline), false)
        .await;
    let before = panel.connected_since();
    proxy.set_refuse(true);
    proxy.drop_connections();
    panel.wait_offline(WAIT).await;
    sim.world().hangup(&ends_offline, "200").expect("hangup");
    let starts_offline = answered(&sim, "+79000000061");
    sim.faults().set_rest_status(503);
    proxy.set_refuse(false);
    panel.wait_reconnected(before, RECOVERY_BOUND).await;
    check_platform(&sim, Some(&key), true).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    sim.faults().set_rest_status(0);
    let t0 = Instant::now();
    panel.wait_call_state(&cid(&sim, &ends_offline), true).await;
    panel
        .wait_call_state(&cid(&sim, &starts_offline), false)
        .await;
    measure("rest_5xx", "reconciled_after_recovery_ms", ms(t0.elapsed()));
    panel.check_no_duplicates();
}

/// The platform stops accepting the token (revoked or expired) mid-session: the panel says so
/// and waits for the user instead of hammering the platform; a manual retry with the platform
/// accepting again restores everything. (Era User-API tokens carry no expiry the client could
/// refresh; Telphin's OAuth expiry mid-session is covered by `telphin_client.rs`.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_refused_mid_session() {
    let (sim, proxy, panel, ivr_call, key) = setup().await;
    let before = panel.connected_since();
    proxy.set_reject(true);
    proxy.drop_connections();
    panel
        .wait_state("Failed", WAIT, |s| {
            matches!(s, ConnectionState::Failed { .. })
        })
        .await;
    let attempts = proxy.accepted();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        proxy.accepted(),
        attempts,
        "no retry storm against a refused token"
    );
    proxy.set_reject(false);
    let t0 = Instant::now();
    panel.handle.reconnect().await.expect("manual retry");
    panel.wait_reconnected(before, RECOVERY_BOUND).await;
    check_platform(&sim, Some(&key), true).await;
    measure(
        "token_refused",
        "manual_retry_to_control_ms",
        ms(t0.elapsed()),
    );
    live_again(&sim, &panel, &ivr_call).await;
    panel.check_no_duplicates();
}

/// Calls every 300 ms for longer than three subscription lifetimes; the platform lets
/// subscriptions lapse silently, so only the panel's renewals keep events coming.
async fn subscriptions_outlive(sim_max_expires: u64, client_expires: u64, scenario: &str) {
    let (sim, _proxy, panel, ivr_call, key) = setup_with(
        |s| s.era.max_expires_secs = sim_max_expires,
        |c| c.expires_secs = client_expires,
    )
    .await;
    let lifetime = sim_max_expires.min(client_expires);
    let until = Instant::now() + Duration::from_secs(lifetime * 3 + 1);
    let mut made = Vec::new();
    while Instant::now() < until {
        let id = answered(&sim, &format!("+7900100{:04}", made.len()));
        sim.world().hangup(&id, "200").expect("hangup");
        made.push(id);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    for id in &made {
        panel.wait_call_state(&cid(&sim, id), true).await;
    }
    assert_eq!(received(&sim, "connection_info"), 1, "no reconnect needed");
    let renewals = received(&sim, "subscribe") - 3;
    measure(scenario, "calls", made.len());
    measure(scenario, "renewals", renewals);
    check_platform(&sim, Some(&key), true).await;
    panel.check_no_duplicates();
    let mut all: Vec<String> = made.iter().map(|id| cid(&sim, id)).collect();
    all.push(cid(&sim, &ivr_call));
    panel.check_history(&all).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_are_renewed_before_the_platform_drops_them() {
    subscriptions_outlive(3600, 3, "subscription_expiry").await;
}

/// The platform grants a shorter lifetime than asked (`max_expires_secs`, echoed in the
/// `subscribe_result`); the panel must renew on the granted lifetime.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shorter_granted_lifetime_is_honoured() {
    subscriptions_outlive(3, 300, "subscription_clamped").await;
}

/// The link stays open but nothing passes for longer than the subscriptions live (a stopped
/// process, a long network stall without a dead-link verdict: pings are rare here), so the
/// platform lets them lapse and sends nothing about a call that ends and one that starts. When
/// traffic resumes, the late renewal is refused; the panel subscribes afresh **and reconciles**,
/// on the same connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_lapsed_while_the_link_stayed_open() {
    let (sim, proxy, panel, ivr_call, key) = setup_with(
        |_| {},
        |c| {
            c.expires_secs = 2;
            c.ping_interval_ms = 60_000;
            c.pong_timeout_ms = 60_000;
            c.request_timeout_ms = 15_000;
        },
    )
    .await;
    let ends = answered(&sim, "+79000000060");
    panel.wait_call_state(&cid(&sim, &ends), false).await;
    let connection = panel.connected_since();
    proxy.set_stall(true);
    // The last renewal the platform saw came before the stall: 2 s later nothing is in force.
    tokio::time::sleep(Duration::from_millis(2_300)).await;
    sim.world().hangup(&ends, "200").expect("hangup");
    let starts = answered(&sim, "+79000000061");
    tokio::time::sleep(Duration::from_millis(700)).await;
    proxy.set_stall(false);
    let t0 = Instant::now();
    panel.wait_call_state(&cid(&sim, &ends), true).await;
    panel.wait_call_state(&cid(&sim, &starts), false).await;
    measure("subscriptions_lapsed", "resynced_ms", ms(t0.elapsed()));
    assert_eq!(
        panel.connected_since(),
        connection,
        "recovered on the same connection"
    );
    assert_eq!(received(&sim, "connection_info"), 1, "no reconnect");
    check_platform(&sim, Some(&key), true).await;
    let probe = live_again(&sim, &panel, &ivr_call).await;
    let live: Vec<String> = [&ivr_call, &starts, &probe]
        .iter()
        .map(|id| cid(&sim, id))
        .collect();
    panel.check_end_state(&live, &[cid(&sim, &ends)]).await;
}

/// A laptop sleep or SIGSTOP of the app as the network sees it: nothing passes in either
/// direction for N seconds (new connections stall too), then everything resumes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paused_for_a_while_then_resumed() {
    let pause = fault_secs("CTI_PAUSE_SECS", 4, 120);
    let (sim, proxy, panel, ivr_call, key) = setup().await;
    let ends = answered(&sim, "+79000000070");
    panel.wait_call_state(&cid(&sim, &ends), false).await;
    proxy.set_stall(true);
    sim.world().hangup(&ends, "200").expect("hangup");
    let starts = answered(&sim, "+79000000071");
    tokio::time::sleep(pause).await;
    proxy.set_stall(false);
    let t0 = Instant::now();
    // Either the old link survived the pause (short pauses) or a new one replaced it.
    panel.wait_connected(RECOVERY_BOUND).await;
    check_platform(&sim, Some(&key), false).await;
    panel.wait_call_state(&cid(&sim, &ends), true).await;
    panel.wait_call_state(&cid(&sim, &starts), false).await;
    measure("paused", "pause_s", pause.as_secs());
    measure("paused", "recovered_after_resume_ms", ms(t0.elapsed()));
    let probe = live_again(&sim, &panel, &ivr_call).await;
    let live: Vec<String> = [&ivr_call, &starts, &probe]
        .iter()
        .map(|id| cid(&sim, id))
        .collect();
    panel.check_end_state(&live, &[cid(&sim, &ends)]).await;
}

/// The platform restarts with all state lost: a new simulator on the same port, every TCP
/// connection of the old one reset. The panel reconnects, learns that its IVR session is gone,
/// ends the calls the new platform does not know, and works with the new platform.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn platform_restarted_with_all_state_lost() {
    let (sim, proxy, panel, ivr_call, key) = setup().await;
    let port = sim.addr.port();
    let talking = answered(&sim, "+79000000080");
    let ringing_call = ringing(&sim, "+79000000081").0;
    panel.wait_call_state(&cid(&sim, &talking), false).await;
    panel
        .wait_call_state(&cid(&sim, &ringing_call), false)
        .await;
    let old: Vec<String> = [&ivr_call, &talking, &ringing_call]
        .iter()
        .map(|id| cid(&sim, id))
        .collect();
    let before = panel.connected_since();
    let m = panel.mark();

    // Down: connections refused and reset, the process gone.
    proxy.set_refuse(true);
    proxy.drop_connections();
    sim.faults().drop_websockets();
    sim.shutdown();
    tokio::time::sleep(Duration::from_millis(800)).await;
    let sim2 = sim_on(port, |_| {}).await;
    assert_eq!(sim2.addr.port(), port);
    proxy.set_refuse(false);
    let t0 = Instant::now();
    panel.wait_reconnected(before, RECOVERY_BOUND).await;
    measure("platform_restart", "reconnect_ms", ms(t0.elapsed()));
    let k = key.clone();
    panel
        .wait_ivr(
            m,
            "ReacquireFailed for the lost session",
            |e| matches!(e, IvrEvent::ReacquireFailed { key, .. } if *key == k),
        )
        .await;
    for c in &old {
        panel.wait_call_state(c, true).await;
    }
    // The new platform works: calls, and a new IVR session taken under control.
    let fresh = answered(&sim2, "+79000000082");
    let m2 = panel.mark();
    cti_sim::era::offer_ivr_control(&sim2.ctx, &fresh, "800", json!({}));
    let (key2, _) = panel.take_ivr(m2).await;
    check_platform(&sim2, Some(&key2), true).await;
    measure("platform_restart", "new_ivr_control_ms", ms(t0.elapsed()));
    let probe = live_again(&sim2, &panel, &fresh).await;
    let live = vec![cid(&sim2, &fresh), cid(&sim2, &probe)];
    panel.check_end_state(&live, &old).await;
}
