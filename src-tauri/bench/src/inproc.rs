//! 3. Event to screen, the in-process part:
//!
//! - **frame → event → emit**: Era WebSocket text frames (captured from the simulator) through
//!   the era frame decoder, the call tracker's normalizer, and the JSON serialization a UI emit
//!   performs, timed per frame;
//! - **simulator → session**: a call created in the simulator's world until the Era session
//!   (over a loopback WebSocket) hands out the normalized `Created` event.
//!
//! The on-screen part (event → incoming-call card visible in the real window) is `screen`.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use cti_core::era::frame::{self, Inbound};
use cti_core::era::normalize::CallTracker;
use cti_core::era::{self, EraConfig, EraEvent};
use cti_core::model::{CallEventKind, ConnectionState};
use cti_sim::{Sim, SimConfig};

use crate::stats::Latencies;
use crate::table::{fmt_ms, Row, Verdict};
use crate::Section;

#[derive(Debug, Clone)]
pub struct InprocOptions {
    /// Calls through the simulator → session path.
    pub calls: usize,
    /// Times the captured frames are replayed through the normalizer.
    pub replays: usize,
}

impl Default for InprocOptions {
    fn default() -> Self {
        InprocOptions {
            calls: 300,
            replays: 200,
        }
    }
}

/// Decode, normalize and serialize one frame as the session and the UI emit do; returns the
/// number of UI payload bytes (so nothing is optimized away).
pub fn frame_to_emit(tracker: &mut CallTracker, text: &str, now_ms: i64) -> usize {
    let Ok(Inbound::Notify {
        class,
        kind,
        eventts,
        data,
    }) = frame::decode(text)
    else {
        return 0;
    };
    let mut bytes = 0;
    for event in tracker.on_notify(&class, &kind, eventts, &data, now_ms) {
        let payload = EraEvent::Call { event };
        bytes += serde_json::to_string(&payload)
            .map(|s| s.len())
            .unwrap_or(0);
    }
    bytes
}

/// Synthetic `notify` frames for one call, in the simulator's shape (used when no frame was
/// captured).
pub fn synthetic_frames(call: u64) -> Vec<String> {
    let cid = format!("bench-{call}");
    let conn = format!("{cid}.1700000000");
    let base = 1_700_000_000_000i64 + call as i64 * 1000;
    let notify = |class: &str, kind: &str, ts: i64, extra: &str| {
        format!(
            r#"["notify",{{"class":"{class}","type":"{kind}","eventts":{ts},"data":{{"cid":"{cid}","connectionid":"{conn}","eventid":"{call}-{kind}","callernum":"+7900{call:07}","callednum":"101","direction":"in"{extra}}}}}]"#
        )
    };
    vec![
        notify("ccsevents", "connection_create", base, ""),
        notify(
            "callevents",
            "fork_start",
            base + 10,
            r#","forkcallid":"f1","forkcallednum":"101""#,
        ),
        notify(
            "callevents",
            "dlg_start",
            base + 3000,
            r#","forkcallid":"f1","forkcallednum":"101""#,
        ),
        notify(
            "ccsevents",
            "call_set_state",
            base + 5000,
            r#","state":"hold","prevstate":"talk""#,
        ),
        notify(
            "ccsevents",
            "call_set_state",
            base + 9000,
            r#","state":"talk","prevstate":"hold""#,
        ),
        notify(
            "callevents",
            "dlg_stop",
            base + 20000,
            r#","forkcallid":"f1""#,
        ),
        notify(
            "ccsevents",
            "connection_delete",
            base + 20010,
            r#","resultcode":"200","talksecs":17"#,
        ),
    ]
}

/// Client settings for user 101 of the simulator.
fn client_config(sim: &Sim, frames: bool) -> EraConfig {
    EraConfig {
        objects: vec!["101".into()],
        inspector_frames: frames,
        ..EraConfig::for_server(sim.base_url(), "101", "era-user-101")
    }
}

async fn connected(handle: &era::EraHandle) -> bool {
    let mut st = handle.state();
    tokio::time::timeout(
        Duration::from_secs(10),
        st.wait_for(|s| matches!(s, ConnectionState::Connected { .. })),
    )
    .await
    .is_ok_and(|r| r.is_ok())
}

struct SessionRun {
    latencies: Latencies,
    errors: usize,
    frames: Vec<String>,
}

/// Calls created in the simulator → `Created` out of the session. With `capture`, the session
/// also reports the frames it received (kept for the replay).
async fn session_run(calls: usize, capture: bool) -> Result<SessionRun, String> {
    let sim = Sim::start(SimConfig::default())
        .await
        .map_err(|e| format!("simulator: {e}"))?;
    let (handle, mut events) =
        era::start(client_config(&sim, capture)).map_err(|e| format!("era session: {e}"))?;
    if !connected(&handle).await {
        sim.shutdown();
        return Err("the Era session did not connect to the simulator within 10 s".into());
    }
    let mut run = SessionRun {
        latencies: Latencies::new(),
        errors: 0,
        frames: Vec::new(),
    };
    for i in 0..calls {
        let from = format!("+7900{:07}", 1_000_000 + i);
        let t0 = Instant::now();
        let call =
            sim.world()
                .create_call(cti_sim::world::Direction::Inbound, &from, None, "101", None);
        let leg = sim.world().ring(&call.id, "101").ok();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        let mut seen = false;
        while let Ok(Some(ev)) = tokio::time::timeout_at(deadline, events.recv()).await {
            match ev {
                EraEvent::Call { event } => {
                    if let CallEventKind::Created { from: party, .. } = &event.kind {
                        if party.number == from {
                            run.latencies.record(t0.elapsed());
                            seen = true;
                            break;
                        }
                    }
                }
                EraEvent::Frame { text, .. } if capture => run.frames.push(text),
                _ => {}
            }
        }
        if !seen {
            run.errors += 1;
        }
        if let Some(leg) = leg {
            let _ = sim.world().answer(&call.id, &leg);
        }
        let _ = sim.world().hangup(&call.id, "200");
        // Drain what the answer and hang-up produced (kept when capturing), then pace.
        let pause = tokio::time::Instant::now() + Duration::from_millis(20);
        while let Ok(Some(ev)) = tokio::time::timeout_at(pause, events.recv()).await {
            if let EraEvent::Frame { text, .. } = ev {
                if capture {
                    run.frames.push(text);
                }
            }
        }
        sim.world().forget_ended_calls(64);
    }
    let _ = handle.shutdown().await;
    sim.shutdown();
    Ok(run)
}

pub fn run(opts: &InprocOptions) -> Section {
    let title = "Event to screen (in process)";
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            return Section::failed(
                title,
                Row::not_measured("WS frame → event → UI emit p99", "≤ 1 ms", e.to_string()),
            )
        }
    };
    // Capture real frames from a few calls, then measure the session path without the frame
    // copies.
    let captured = rt.block_on(session_run(20, true));
    let measured = rt.block_on(session_run(opts.calls, false));

    let mut frames: Vec<String> = captured
        .as_ref()
        .map(|c| {
            c.frames
                .iter()
                .filter(|f| matches!(frame::decode(f), Ok(Inbound::Notify { .. })))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    let source = if frames.is_empty() {
        frames = (0..20).flat_map(synthetic_frames).collect();
        "synthetic frames (no frame captured from the simulator)"
    } else {
        "frames captured from the simulator"
    };
    let mut hist = Latencies::new();
    let mut bytes = 0usize;
    let now_ms = chrono::Utc::now().timestamp_millis();
    for _ in 0..opts.replays.max(1) {
        // A fresh tracker per replay, so `Created` is synthesized again as on first sight.
        let mut tracker = CallTracker::default();
        for f in &frames {
            let t = Instant::now();
            bytes += frame_to_emit(&mut tracker, f, now_ms);
            hist.record(t.elapsed());
        }
    }
    let s = hist.summary();
    let mut rows = vec![Row::new("WS frame → normalized event → UI emit JSON, p99")
        .ours(fmt_ms(s.p99))
        .target("≤ 1 ms")
        .verdict(Verdict::of(s.p99 <= 1.0 && s.count > 0))];
    let mut d = String::new();
    let _ = writeln!(
        d,
        "Frame → emit: {} frames ({source}) replayed {} times: p50 {}, p99 {}, p99.9 {}, max {} ({} payload bytes). Timer resolution 1 µs.",
        frames.len(),
        opts.replays.max(1),
        fmt_ms(s.p50),
        fmt_ms(s.p99),
        fmt_ms(s.p999),
        fmt_ms(s.max),
        bytes
    );
    match measured {
        Ok(m) => {
            let s = m.latencies.summary();
            rows.push(
                Row::new("Simulator call → session `Created` (loopback WS), p99")
                    .ours(fmt_ms(s.p99))
                    .target("≤ 150 ms p95 budget (screen)")
                    .verdict(Verdict::of(s.p95 <= 150.0 && m.errors == 0)),
            );
            let _ = writeln!(
                d,
                "\nSimulator → session: {} calls created in the simulator's world (inbound to 101, ringing), each until the Era session hands out its `Created` event over a loopback WebSocket: p50 {}, p95 {}, p99 {}, max {}, {} missing.",
                opts.calls,
                fmt_ms(s.p50),
                fmt_ms(s.p95),
                fmt_ms(s.p99),
                fmt_ms(s.max),
                m.errors
            );
        }
        Err(e) => rows.push(Row::not_measured(
            "Simulator call → session `Created` (loopback WS), p99",
            "≤ 150 ms p95 budget (screen)",
            e,
        )),
    }
    Section {
        title: title.into(),
        rows,
        details: d,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_frames_normalize_to_a_whole_call() {
        let mut tracker = CallTracker::default();
        let mut bytes = Vec::new();
        for f in synthetic_frames(1) {
            bytes.push(frame_to_emit(&mut tracker, &f, 0));
        }
        // connection_create → Created; the rest map one each.
        assert!(bytes.iter().all(|b| *b > 0), "{bytes:?}");
        assert_eq!(tracker.active().count(), 0, "the call ended");
        assert_eq!(frame_to_emit(&mut tracker, "not json", 0), 0);
        assert_eq!(
            frame_to_emit(&mut tracker, r#"["x_result",{"qid":1}]"#, 0),
            0
        );
    }
}
