//! An open-loop HTTP/1.1 load generator (the wrk2 method).
//!
//! Request `i` is *scheduled* at `start + i / rate`, whether or not earlier requests have
//! finished; its latency is measured from that scheduled time to the end of the response body.
//! A server that stalls therefore pays for every request that should have been sent during the
//! stall (no coordinated omission). A scheduler thread releases requests on time into a queue;
//! a fixed pool of keep-alive connections takes them in order. Requests that cannot even be
//! queued (backlog full) or that time out count as errors. Every loop is bounded by the
//! schedule's length and a hard deadline.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, Mutex};

use crate::stats::Latencies;

/// Builds request number `i` (origin-form URI, `Host` set).
pub type MakeRequest = Arc<dyn Fn(u64) -> Request<Full<Bytes>> + Send + Sync>;

/// What a run sends.
#[derive(Debug, Clone)]
pub struct LoadSpec {
    /// Requests per second.
    pub rate: f64,
    /// Measured part of the run.
    pub duration: Duration,
    /// Sent at the same rate before the measured part, not recorded.
    pub warmup: Duration,
    /// Keep-alive connections in the pool.
    pub connections: usize,
    /// A request not answered within this time is an error.
    pub timeout: Duration,
    /// Requests waiting for a free connection beyond this are dropped (errors).
    pub max_backlog: usize,
}

impl LoadSpec {
    pub fn new(rate: f64, duration: Duration) -> LoadSpec {
        LoadSpec {
            rate,
            duration,
            warmup: Duration::from_secs(1),
            connections: 32,
            timeout: Duration::from_secs(2),
            max_backlog: 20_000,
        }
    }

    /// Number of requests scheduled in `d` at this rate.
    pub fn count_in(&self, d: Duration) -> u64 {
        if self.rate.is_finite() && self.rate > 0.0 {
            (d.as_secs_f64() * self.rate).round() as u64
        } else {
            0
        }
    }
}

/// Scheduled send time of request `i` (0-based) at `rate` per second, as an offset from start.
pub fn scheduled_offset(i: u64, rate: f64) -> Duration {
    if rate.is_finite() && rate > 0.0 {
        Duration::from_secs_f64(i as f64 / rate)
    } else {
        Duration::ZERO
    }
}

/// What a run measured (warm-up excluded).
#[derive(Debug, Clone, Default)]
pub struct LoadResult {
    pub latencies: Latencies,
    /// Requests scheduled in the measured part.
    pub scheduled: u64,
    /// Answered with the expected status and body.
    pub ok: u64,
    /// Everything else, by kind.
    pub errors: BTreeMap<String, u64>,
    pub duration: Duration,
}

impl LoadResult {
    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    /// Answered requests per second over the measured part.
    pub fn achieved_rate(&self) -> f64 {
        let s = self.duration.as_secs_f64();
        if s > 0.0 {
            self.ok as f64 / s
        } else {
            0.0
        }
    }

    /// `kind: n` pairs, for the report.
    pub fn describe_errors(&self) -> String {
        if self.errors.is_empty() {
            return "0".into();
        }
        self.errors
            .iter()
            .map(|(k, n)| format!("{n} {k}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Whether a response (status, body) is the expected one.
pub type Check = Arc<dyn Fn(u16, &[u8]) -> bool + Send + Sync>;

struct Job {
    seq: u64,
    at: Instant,
    measured: bool,
}

#[derive(Default)]
struct Tally {
    latencies: Latencies,
    ok: u64,
    errors: BTreeMap<String, u64>,
}

impl Tally {
    fn error(&mut self, measured: bool, kind: &str) {
        if measured {
            *self.errors.entry(kind.to_string()).or_default() += 1;
        }
    }
}

async fn connect(addr: SocketAddr) -> Result<SendRequest<Full<Bytes>>, String> {
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect {addr}: {e}"))?;
    let _ = stream.set_nodelay(true);
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("handshake {addr}: {e}"))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

/// Send one request on `sender` and read the whole response.
pub async fn exchange(
    sender: &mut SendRequest<Full<Bytes>>,
    req: Request<Full<Bytes>>,
) -> Result<(u16, Bytes), String> {
    sender
        .ready()
        .await
        .map_err(|e| format!("connection: {e}"))?;
    let resp = sender
        .send_request(req)
        .await
        .map_err(|e| format!("request: {e}"))?;
    let status = resp.status().as_u16();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("body: {e}"))?
        .to_bytes();
    Ok((status, body))
}

/// One request on a fresh connection (readiness probes, sanity checks).
pub async fn fetch_once(
    addr: SocketAddr,
    req: Request<Full<Bytes>>,
    timeout: Duration,
) -> Result<(u16, Bytes), String> {
    tokio::time::timeout(timeout, async {
        let mut sender = connect(addr).await?;
        exchange(&mut sender, req).await
    })
    .await
    .map_err(|_| format!("no answer from {addr} within {timeout:?}"))?
}

/// A `GET` request for `path_and_query` at `addr`.
pub fn get(addr: SocketAddr, path_and_query: &str) -> Request<Full<Bytes>> {
    build(addr, "GET", path_and_query, None, Bytes::new())
}

/// A `POST` of `body` with `content_type`.
pub fn post(addr: SocketAddr, path: &str, content_type: &str, body: Bytes) -> Request<Full<Bytes>> {
    build(addr, "POST", path, Some(content_type), body)
}

fn build(
    addr: SocketAddr,
    method: &str,
    uri: &str,
    content_type: Option<&str>,
    body: Bytes,
) -> Request<Full<Bytes>> {
    let mut b = Request::builder()
        .method(method)
        .uri(uri)
        .header(hyper::header::HOST, addr.to_string());
    if let Some(ct) = content_type {
        b = b.header(hyper::header::CONTENT_TYPE, ct);
    }
    match b.body(Full::new(body)) {
        Ok(r) => r,
        // Only a malformed URI gets here; send `/` so the server answers 404 and the run
        // reports errors instead of panicking.
        Err(_) => {
            let mut r = Request::new(Full::new(Bytes::new()));
            r.headers_mut().insert(
                hyper::header::HOST,
                hyper::header::HeaderValue::from_static("127.0.0.1"),
            );
            r
        }
    }
}

/// Run `spec` against `addr` on a runtime of its own (one worker thread, so the generator
/// takes at most one core plus its scheduler thread). Blocks until done.
pub fn run(
    addr: SocketAddr,
    make: MakeRequest,
    check: Check,
    spec: &LoadSpec,
) -> Result<LoadResult, String> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    rt.block_on(run_async(addr, make, check, spec.clone()))
}

async fn run_async(
    addr: SocketAddr,
    make: MakeRequest,
    check: Check,
    spec: LoadSpec,
) -> Result<LoadResult, String> {
    if !(spec.rate.is_finite() && spec.rate > 0.0) {
        return Err(format!("rate must be positive, got {}", spec.rate));
    }
    let conns = spec.connections.clamp(1, 1024);
    let mut senders = Vec::with_capacity(conns);
    for _ in 0..conns {
        senders.push(connect(addr).await?);
    }
    let (tx, rx) = mpsc::unbounded_channel::<Job>();
    let rx = Arc::new(Mutex::new(rx));
    let queued = Arc::new(AtomicUsize::new(0));
    let warm = spec.count_in(spec.warmup);
    let measured = spec.count_in(spec.duration);
    let total = warm + measured;
    let start = Instant::now() + Duration::from_millis(20);
    let schedule_end = start + scheduled_offset(total, spec.rate);
    let hard_deadline = schedule_end + spec.timeout + Duration::from_secs(1);

    let mut tasks = tokio::task::JoinSet::new();
    for sender in senders {
        let (rx, queued, make, check) = (rx.clone(), queued.clone(), make.clone(), check.clone());
        let timeout = spec.timeout;
        tasks.spawn(async move {
            let mut sender = Some(sender);
            let mut tally = Tally::default();
            loop {
                let job = {
                    let mut rx = rx.lock().await;
                    rx.recv().await
                };
                let Some(job) = job else { break };
                queued.fetch_sub(1, Ordering::Relaxed);
                if Instant::now() > hard_deadline {
                    tally.error(job.measured, "not sent before the end");
                    continue;
                }
                let mut s = match sender.take() {
                    Some(s) if !s.is_closed() => s,
                    _ => match connect(addr).await {
                        Ok(s) => s,
                        Err(_) => {
                            tally.error(job.measured, "connect failed");
                            continue;
                        }
                    },
                };
                let outcome = tokio::time::timeout(timeout, exchange(&mut s, make(job.seq))).await;
                let done = Instant::now();
                match outcome {
                    Ok(Ok((status, body))) => {
                        if check(status, &body) {
                            if job.measured {
                                tally.ok += 1;
                                tally
                                    .latencies
                                    .record(done.saturating_duration_since(job.at));
                            }
                        } else {
                            tally.error(job.measured, &format!("unexpected reply (HTTP {status})"));
                        }
                        sender = Some(s);
                    }
                    Ok(Err(_)) => tally.error(job.measured, "connection error"),
                    Err(_) => tally.error(job.measured, "timeout"),
                }
            }
            tally
        });
    }

    // The scheduler: an OS thread, so a busy runtime cannot delay the release of requests.
    let sched_queued = queued.clone();
    let max_backlog = spec.max_backlog.max(1);
    let rate = spec.rate;
    let scheduler = std::thread::spawn(move || -> u64 {
        let mut dropped = 0u64;
        for i in 0..total {
            let at = start + scheduled_offset(i, rate);
            let now = Instant::now();
            if at > now {
                std::thread::sleep(at - now);
            }
            let is_measured = i >= warm;
            if sched_queued.load(Ordering::Relaxed) >= max_backlog {
                if is_measured {
                    dropped += 1;
                }
                continue;
            }
            sched_queued.fetch_add(1, Ordering::Relaxed);
            if tx
                .send(Job {
                    seq: i,
                    at,
                    measured: is_measured,
                })
                .is_err()
            {
                break;
            }
        }
        dropped
    });
    let dropped = tokio::task::spawn_blocking(move || scheduler.join().unwrap_or(0))
        .await
        .unwrap_or(0);

    let mut result = LoadResult {
        scheduled: measured,
        duration: spec.duration,
        ..LoadResult::default()
    };
    if dropped > 0 {
        result
            .errors
            .insert("dropped (backlog full)".into(), dropped);
    }
    let wait = hard_deadline.saturating_duration_since(Instant::now()) + Duration::from_secs(1);
    let joined = tokio::time::timeout(wait, async {
        let mut tallies = Vec::new();
        while let Some(t) = tasks.join_next().await {
            if let Ok(t) = t {
                tallies.push(t);
            }
        }
        tallies
    })
    .await;
    match joined {
        Ok(tallies) => {
            for t in tallies {
                result.latencies.merge(&t.latencies);
                result.ok += t.ok;
                for (k, n) in t.errors {
                    *result.errors.entry(k).or_default() += n;
                }
            }
        }
        Err(_) => {
            tasks.abort_all();
            return Err("the load generator's connections did not finish".into());
        }
    }
    // Whatever was scheduled but neither answered nor counted as an error was lost with its
    // connection task; count it so totals always add up.
    let accounted = result.ok + result.error_count();
    if accounted < measured {
        result.errors.insert("lost".into(), measured - accounted);
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_is_evenly_spaced() {
        assert_eq!(scheduled_offset(0, 1000.0), Duration::ZERO);
        assert_eq!(scheduled_offset(1000, 1000.0), Duration::from_secs(1));
        assert_eq!(scheduled_offset(5, 2.0), Duration::from_millis(2500));
        assert_eq!(scheduled_offset(5, 0.0), Duration::ZERO);
        let s = LoadSpec::new(1000.0, Duration::from_secs(30));
        assert_eq!(s.count_in(s.duration), 30_000);
        assert_eq!(s.count_in(s.warmup), 1_000);
    }

    #[test]
    fn errors_are_described_and_rates_computed() {
        let mut r = LoadResult {
            scheduled: 100,
            ok: 98,
            duration: Duration::from_secs(2),
            ..LoadResult::default()
        };
        assert_eq!(r.describe_errors(), "0");
        r.errors.insert("timeout".into(), 2);
        assert_eq!(r.error_count(), 2);
        assert_eq!(r.describe_errors(), "2 timeout");
        assert!((r.achieved_rate() - 49.0).abs() < 1e-9);
    }

    /// A tiny in-process server: the generator sends what was scheduled and measures it.
    #[test]
    fn runs_against_a_loopback_server() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            rt.block_on(async move {
                let accept = async {
                    loop {
                        let Ok((s, _)) = listener.accept().await else {
                            break;
                        };
                        tokio::spawn(async move {
                            let svc = hyper::service::service_fn(
                                |req: Request<hyper::body::Incoming>| async move {
                                    let status = if req.uri().path() == "/ok" { 200 } else { 404 };
                                    hyper::Response::builder()
                                        .status(status)
                                        .body(Full::new(Bytes::from_static(b"hi")))
                                },
                            );
                            let _ = hyper::server::conn::http1::Builder::new()
                                .serve_connection(TokioIo::new(s), svc)
                                .await;
                        });
                    }
                };
                let _ = tokio::time::timeout(Duration::from_secs(10), accept).await;
            })
        });
        let spec = LoadSpec {
            warmup: Duration::from_millis(100),
            connections: 4,
            ..LoadSpec::new(500.0, Duration::from_millis(400))
        };
        let make: MakeRequest =
            Arc::new(move |i| get(addr, if i % 10 == 9 { "/no" } else { "/ok" }));
        let check: Check = Arc::new(|status, body| status == 200 && body == b"hi");
        let r = run(addr, make, check, &spec).unwrap();
        assert_eq!(r.scheduled, 200);
        assert_eq!(r.ok + r.error_count(), 200);
        assert_eq!(r.error_count(), 20, "{:?}", r.errors);
        assert_eq!(r.latencies.len(), 180);
        assert!(r.errors.keys().all(|k| k.contains("HTTP 404")));
        drop(server);
    }
}
