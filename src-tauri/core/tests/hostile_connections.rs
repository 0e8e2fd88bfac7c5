//! A burst of rapid connections to the webhook listener (in front of the real history store):
//! connect-and-hang-up, garbage instead of HTTP, wrong tokens and bodies that are not webhooks,
//! with good requests interleaved; every good one is acknowledged and stored, the listener still
//! serves afterwards, and the resident memory of the process stays bounded (this test runs
//! alone in its binary so that `VmRSS` measures it alone).
//!
//! `CTI_RAPID_CONNECTIONS` sets the burst size (default 2,000; `CTI_LONG=1`: 10,000).

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::listener::{raw_request, read_reply, Rig};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::time::Instant;

/// Run connections `from..to` of the burst, 48 at a time.
async fn burst(
    rig: &Arc<Rig>,
    from: usize,
    to: usize,
    worst_good: &Arc<std::sync::Mutex<Duration>>,
    connect_errors: &Arc<AtomicUsize>,
) {
    let slots = Arc::new(tokio::sync::Semaphore::new(48));
    let mut set = tokio::task::JoinSet::new();
    for i in from..to {
        let permit = slots.clone().acquire_owned().await.expect("semaphore");
        let (rig, worst_good, connect_errors) =
            (rig.clone(), worst_good.clone(), connect_errors.clone());
        set.spawn(async move {
            let _permit = permit;
            let addr = rig.addr();
            match i % GOOD_EVERY {
                0 => {
                    let d = rig.good().await;
                    let mut w = worst_good.lock().unwrap();
                    *w = (*w).max(d);
                }
                // Connect and hang up at once.
                1..=8 => {
                    if TcpStream::connect(addr).await.is_err() {
                        connect_errors.fetch_add(1, Ordering::SeqCst);
                    }
                }
                // Garbage instead of HTTP.
                9..=14 => {
                    if let Ok(mut s) = TcpStream::connect(addr).await {
                        let _ = s.write_all(b"\x16\x03\x01\x02\x00GARBAGE\r\n\r\n").await;
                        let _ = read_reply(&mut s).await;
                    } else {
                        connect_errors.fetch_add(1, Ordering::SeqCst);
                    }
                }
                // Wrong token.
                15..=20 => {
                    let (status, _) = raw_request(
                        addr,
                        "POST",
                        "/hooks/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/calls",
                        b"{}",
                    )
                    .await
                    .expect("reply");
                    assert_eq!(status, 404);
                }
                // A body that is not a webhook.
                _ => {
                    let path = rig.calls_path();
                    let (status, _) = raw_request(addr, "POST", &path, b"[1,2,{\"x\":null}]")
                        .await
                        .expect("reply");
                    assert_eq!(status, 400);
                }
            }
        });
        while set.try_join_next().is_some() {}
    }
    while let Some(r) = set.join_next().await {
        r.expect("connection task");
    }
}

const GOOD_EVERY: usize = 25;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_rapid_connections_leaves_good_requests_served_and_memory_bounded() {
    let total = common::knobs::env_u64("CTI_RAPID_CONNECTIONS", 2_000, 10_000) as usize;
    let rig = Rig::start().await;
    // Warm up so that lazily allocated buffers are in the baseline.
    for _ in 0..20 {
        rig.good().await;
    }
    let worst_good = Arc::new(std::sync::Mutex::new(Duration::ZERO));
    let connect_errors = Arc::new(AtomicUsize::new(0));
    let rss0 = common::rss::kib();
    let started = Instant::now();
    // Two halves: memory kept per connection would grow again in the second half.
    burst(&rig, 0, total / 2, &worst_good, &connect_errors).await;
    let rss_half = common::rss::kib();
    burst(&rig, total / 2, total, &worst_good, &connect_errors).await;
    let elapsed = started.elapsed();
    let rss1 = common::rss::kib();
    // Still serving.
    let after = rig.good().await;
    let health = raw_request(rig.addr(), "GET", "/health", b"")
        .await
        .expect("health");
    assert_eq!(health.0, 200);
    let good = (0..total).filter(|i| i % GOOD_EVERY == 0).count() + 21;
    assert_eq!(rig.stored_good().await, good as i64);
    let worst = *worst_good.lock().unwrap();
    let errors = connect_errors.load(Ordering::SeqCst);
    common::measure("rapid_connections", "connections", total);
    common::measure("rapid_connections", "elapsed_ms", elapsed.as_millis());
    common::measure("rapid_connections", "worst_good_ms", worst.as_millis());
    common::measure("rapid_connections", "good_after_ms", after.as_millis());
    common::measure("rapid_connections", "connect_errors", errors);
    common::measure("rapid_connections", "rss_before_kib", rss0);
    common::measure("rapid_connections", "rss_half_kib", rss_half);
    common::measure("rapid_connections", "rss_after_kib", rss1);
    assert!(worst < Duration::from_secs(10), "{worst:?}");
    assert_eq!(errors, 0);
    // Generous bounds: the in-memory logs are capped, so the first half may grow the heap to
    // its working size but the second half must not keep growing with the connection count.
    let first = rss_half.saturating_sub(rss0);
    let second = rss1.saturating_sub(rss_half);
    assert!(
        rss1.saturating_sub(rss0) < 32 * 1024,
        "resident memory grew from {rss0} KiB to {rss1} KiB"
    );
    assert!(
        second < first / 2 + 8 * 1024,
        "memory keeps growing with connections: +{first} KiB, then +{second} KiB"
    );
}
