//! A fault-injecting TCP proxy on loopback, written with tokio (a small toxiproxy).
//!
//! Faults, switchable at run time and combinable:
//! - **latency**: every chunk is held `base ± jitter` before it is forwarded, per direction,
//!   order kept (a chunk never overtakes the one before it);
//! - **stall**: no byte passes in either direction and nothing is closed (a blackhole, or a peer
//!   stopped with SIGSTOP); new connections are accepted and stall too;
//! - **stall existing / oldest**: the connections open now (or only the oldest, typically a
//!   WebSocket) go silent for good (no data, no close) while new ones work (a dead socket, the
//!   network otherwise fine);
//! - **drop**: every open connection is reset at once (RST on both sides);
//! - **refuse**: new connections are accepted and reset at once;
//! - **reject**: new connections get `HTTP/1.1 403` to their request (a platform that no longer
//!   accepts the token).
//!
//! The upstream address can be changed while running; counters tell how many connections
//! were accepted and are open.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::Rng;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

struct State {
    upstream: Mutex<SocketAddr>,
    /// (base, jitter)
    latency: Mutex<Option<(Duration, Duration)>>,
    stall: watch::Sender<Stall>,
    kill: watch::Sender<u64>,
    refuse: AtomicBool,
    reject: AtomicBool,
    accepted: AtomicUsize,
    /// Sequence numbers of the connections being forwarded.
    open: Mutex<BTreeSet<usize>>,
}

#[derive(Default)]
struct Stall {
    /// Everything, new connections included.
    all: bool,
    /// These connections, for good.
    conns: BTreeSet<usize>,
}

impl State {
    fn delay(&self) -> Duration {
        let l = *self.latency.lock().unwrap_or_else(|p| p.into_inner());
        match l {
            None => Duration::ZERO,
            Some((base, jitter)) => {
                let j = jitter.as_micros() as i64;
                let off = if j > 0 {
                    rand::rng().random_range(-j..=j)
                } else {
                    0
                };
                let micros = (base.as_micros() as i64 + off).max(0) as u64;
                Duration::from_micros(micros)
            }
        }
    }

    async fn unstalled(&self, seq: usize) {
        let mut rx = self.stall.subscribe();
        let _ = rx.wait_for(|s| !s.all && !s.conns.contains(&seq)).await;
    }
}

/// A running proxy; dropping it resets every connection and stops accepting.
pub struct FaultProxy {
    addr: SocketAddr,
    st: Arc<State>,
    task: JoinHandle<()>,
}

impl FaultProxy {
    /// Listen on `127.0.0.1:0` and forward to `upstream`.
    pub async fn start(upstream: SocketAddr) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("proxy binds on loopback");
        let addr = listener.local_addr().expect("proxy address");
        let st = Arc::new(State {
            upstream: Mutex::new(upstream),
            latency: Mutex::new(None),
            stall: watch::channel(Stall::default()).0,
            kill: watch::channel(0).0,
            refuse: AtomicBool::new(false),
            reject: AtomicBool::new(false),
            accepted: AtomicUsize::new(0),
            open: Mutex::new(BTreeSet::new()),
        });
        let st2 = st.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                let _ = sock.set_nodelay(true);
                tokio::spawn(serve(sock, st2.clone()));
            }
        });
        FaultProxy { addr, st, task }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set_upstream(&self, upstream: SocketAddr) {
        *self.st.upstream.lock().unwrap_or_else(|p| p.into_inner()) = upstream;
    }

    /// Hold every chunk `base ± jitter` (uniform) before forwarding it; `None` turns it off.
    pub fn set_latency(&self, latency: Option<(Duration, Duration)>) {
        *self.st.latency.lock().unwrap_or_else(|p| p.into_inner()) = latency;
    }

    /// Stop (or resume) every byte in both directions without closing anything.
    pub fn set_stall(&self, on: bool) {
        self.st.stall.send_modify(|s| s.all = on);
    }

    /// Silence every connection open now, for good (no data, no close); later ones work.
    pub fn stall_existing(&self) {
        let open = self.open_set();
        self.st.stall.send_modify(|s| s.conns.extend(open));
    }

    /// Silence the oldest open connection for good; every other one works.
    pub fn stall_oldest(&self) {
        if let Some(first) = self.open_set().into_iter().next() {
            self.st.stall.send_modify(|s| {
                s.conns.insert(first);
            });
        }
    }

    fn open_set(&self) -> BTreeSet<usize> {
        self.st
            .open
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Reset every open connection now.
    pub fn drop_connections(&self) {
        self.st.kill.send_modify(|g| *g += 1);
    }

    /// Reset new connections as soon as they are accepted.
    pub fn set_refuse(&self, on: bool) {
        self.st.refuse.store(on, Ordering::SeqCst);
    }

    /// Answer new connections' requests with `403 Forbidden`.
    pub fn set_reject(&self, on: bool) {
        self.st.reject.store(on, Ordering::SeqCst);
    }

    /// Connections accepted so far (refused and rejected ones included).
    pub fn accepted(&self) -> usize {
        self.st.accepted.load(Ordering::SeqCst)
    }

    /// Connections currently forwarded.
    pub fn open(&self) -> usize {
        self.open_set().len()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
        self.st.stall.send_replace(Stall::default());
        self.st.kill.send_modify(|g| *g += 1);
    }
}

async fn serve(mut client: TcpStream, st: Arc<State>) {
    let seq = st.accepted.fetch_add(1, Ordering::SeqCst);
    if st.refuse.load(Ordering::SeqCst) {
        let _ = client.set_zero_linger();
        return;
    }
    if st.reject.load(Ordering::SeqCst) {
        reject(&mut client).await;
        return;
    }
    let upstream = *st.upstream.lock().unwrap_or_else(|p| p.into_inner());
    let Ok(mut up) = TcpStream::connect(upstream).await else {
        let _ = client.set_zero_linger();
        return;
    };
    let _ = up.set_nodelay(true);
    let mut kill = st.kill.subscribe();
    let generation = *kill.borrow();
    st.open
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(seq);
    let killed = {
        let (cr, cw) = client.split();
        let (ur, uw) = up.split();
        tokio::select! {
            _ = pump(cr, uw, &st, seq) => false,
            _ = pump(ur, cw, &st, seq) => false,
            _ = kill.wait_for(|g| *g != generation) => true,
        }
    };
    st.open
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(&seq);
    if killed {
        let _ = client.set_zero_linger();
        let _ = up.set_zero_linger();
    }
}

/// Read the request head (bounded) and answer 403 like a platform refusing the token.
async fn reject(client: &mut TcpStream) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    let read = async {
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
            match client.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), read).await;
    let body = r#"{"error_code":1401,"error_message":"invalid token"}"#;
    let resp = format!(
        "HTTP/1.1 403 Forbidden\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = client.write_all(resp.as_bytes()).await;
    let _ = client.shutdown().await;
}

/// Forward one direction until EOF or an error, honouring latency and stall.
async fn pump<R, W>(mut r: R, mut w: W, st: &State, seq: usize)
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let (tx, mut rx) = mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let reader = async move {
        let mut buf = vec![0u8; 16 * 1024];
        let mut last = Instant::now();
        loop {
            st.unstalled(seq).await;
            let n = match r.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let at = (Instant::now() + st.delay()).max(last);
            last = at;
            if tx.send((at, buf[..n].to_vec())).is_err() {
                break;
            }
        }
    };
    let writer = async {
        while let Some((at, bytes)) = rx.recv().await {
            tokio::time::sleep_until(at).await;
            st.unstalled(seq).await;
            if w.write_all(&bytes).await.is_err() {
                return;
            }
        }
        let _ = w.shutdown().await;
    };
    tokio::join!(reader, writer);
}
