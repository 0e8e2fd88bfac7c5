//! Faults fire at their scenario times and switch the simulator's behaviour on the real socket.

use std::time::Duration;

use cti_sim::scenario::{run, FiredFault, Scenario, ScenarioRunner};
use cti_sim::{Sim, SimConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const FAULTS: &str = r#"
demo_directory = false

[[faults]]
at = "2s"
fault = "refuse_connections"
for = "3s"

[[faults]]
at = "4s"
fault = "rest_status"
status = 502
for = "1s"

[[faults]]
at = "6s"
fault = "drop_websockets"

[[faults]]
at = "7s"
fault = "stall_websockets"
for = "2s"

[[faults]]
at = "8s"
fault = "webhook_duplicates"
count = 2
for = "500ms"

[[faults]]
at = "8s"
fault = "webhook_reorder"
for = "500ms"

[[faults]]
at = "10s"
fault = "rest_delay"
delay = "250ms"
for = "1s"
"#;

/// Send a plain HTTP request; the status line, or `None` when the server closed the connection.
async fn http_status(addr: std::net::SocketAddr) -> Option<String> {
    let mut s = TcpStream::connect(addr).await.ok()?;
    s.write_all(b"GET /no-such-route HTTP/1.1\r\nHost: sim\r\nConnection: close\r\n\r\n")
        .await
        .ok()?;
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut buf)).await;
    match read {
        Ok(Ok(_)) if !buf.is_empty() => String::from_utf8_lossy(&buf)
            .lines()
            .next()
            .map(str::to_string),
        _ => None,
    }
}

#[tokio::test]
async fn faults_fire_at_their_times_and_refusal_closes_real_connections() {
    let sim = Sim::start(SimConfig::default())
        .await
        .expect("simulator starts");
    let faults = sim.faults().clone();
    let mut r = ScenarioRunner::new(
        sim.ctx.clone(),
        Scenario::from_toml_str(FAULTS).expect("valid"),
    );
    assert!(
        http_status(sim.addr)
            .await
            .is_some_and(|l| l.starts_with("HTTP/1.1 ")),
        "served before"
    );

    let f = r.step().expect("refusal on");
    assert_eq!(
        (f.at_ms, f.what.as_str()),
        (2000, "fault refuse_connections on")
    );
    assert!(faults.refusing());
    assert_eq!(
        http_status(sim.addr).await,
        None,
        "connections are closed while refusing"
    );

    let f = r.step().expect("rest status on");
    assert_eq!((f.at_ms, faults.rest_status()), (4000, Some(502)));
    let f = r.step().expect("refusal off");
    assert_eq!(f.at_ms, 5000);
    assert!(!faults.refusing());
    assert!(
        http_status(sim.addr)
            .await
            .is_some_and(|l| l.starts_with("HTTP/1.1 ")),
        "served again"
    );
    assert_eq!(faults.rest_status(), Some(502));
    let f = r.step().expect("rest status off");
    assert_eq!((f.at_ms, faults.rest_status()), (5000, None));

    let generation = faults.ws_generation();
    let f = r.step().expect("drop");
    assert_eq!(f.at_ms, 6000);
    assert_eq!(faults.ws_generation(), generation + 1, "one drop");
    r.run_until(7000);
    assert!(faults.stalled());
    r.run_until(8000);
    assert_eq!(
        (faults.webhook_duplicates(), faults.webhook_reorder()),
        (2, true)
    );
    r.run_until(8500);
    assert_eq!(
        (faults.webhook_duplicates(), faults.webhook_reorder()),
        (0, false)
    );
    r.run_until(9000);
    assert!(!faults.stalled());
    r.run_until(10_000);
    assert_eq!(faults.rest_delay_ms(), 250);
    while r.step().is_some() {}
    assert_eq!(faults.rest_delay_ms(), 0);
    let on: Vec<(i64, &str)> = r
        .report()
        .faults
        .iter()
        .filter(|f| f.on)
        .map(|f| (f.at_ms, f.fault.as_str()))
        .collect();
    assert_eq!(
        on,
        [
            (2000, "refuse_connections"),
            (4000, "rest_status 502"),
            (6000, "drop_websockets"),
            (7000, "stall_websockets"),
            (8000, "webhook_duplicates 2"),
            (8000, "webhook_reorder"),
            (10_000, "rest_delay 250ms"),
        ]
    );
}

#[tokio::test]
async fn a_running_scenario_flips_faults_on_the_clock() {
    // 50×: the 11 simulated seconds take about 0.2 s.
    let sim = Sim::start(SimConfig {
        speed: 50.0,
        ..SimConfig::default()
    })
    .await
    .expect("simulator starts");
    let scenario = Scenario::from_toml_str(FAULTS).expect("valid");
    let report = tokio::time::timeout(Duration::from_secs(20), run(sim.ctx.clone(), scenario))
        .await
        .expect("scenario ends")
        .expect("task");
    assert_eq!(report.faults.len(), 13, "7 on, 6 off");
    assert_eq!(
        report.faults[0],
        FiredFault {
            at_ms: 2000,
            fault: "refuse_connections".into(),
            on: true
        }
    );
    assert_eq!(report.last_ms, 11_000);
    let f = sim.faults();
    assert!(!f.refusing() && !f.stalled() && f.rest_status().is_none() && f.rest_delay_ms() == 0);
    assert!(
        http_status(sim.addr).await.is_some(),
        "serving after the faults"
    );
}
