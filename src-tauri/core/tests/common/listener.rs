//! A webhook listener in front of the real history store (temp file), and raw HTTP helpers
//! for the hostile-input and security suites.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use cti_core::history::{History, HistoryConfig};
use cti_core::hooks::{generate_token, Listener, ListenerConfig, ListenerHandle};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

/// Header deadline of these tests' listener (the default is 5 s; shorter keeps the suite quick).
pub const HEADER_TIMEOUT_MS: u64 = 2_000;

pub struct Rig {
    pub listener: ListenerHandle,
    pub history: History,
    pub token: String,
    good: AtomicUsize,
    _dir: tempfile::TempDir,
}

impl Rig {
    pub async fn start() -> Arc<Rig> {
        let dir = tempfile::tempdir().expect("temp dir");
        let history = History::open(dir.path().join("history.db"), &HistoryConfig::default())
            .expect("history opens");
        let token = generate_token();
        let cfg = ListenerConfig {
            port: 0,
            token: token.clone(),
            header_timeout_ms: HEADER_TIMEOUT_MS,
            body_timeout_ms: HEADER_TIMEOUT_MS,
            ..ListenerConfig::default()
        };
        let listener = Listener::start(cfg, Arc::new(history.clone()))
            .await
            .expect("listener starts");
        Arc::new(Rig {
            listener,
            history,
            token,
            good: AtomicUsize::new(0),
            _dir: dir,
        })
    }

    pub fn addr(&self) -> std::net::SocketAddr {
        self.listener.local_addr()
    }

    pub fn calls_path(&self) -> String {
        format!("/hooks/{}/calls", self.token)
    }

    /// One good webhook on a fresh connection; must be acknowledged. Returns its latency.
    pub async fn good(&self) -> Duration {
        let n = self.good.fetch_add(1, Ordering::SeqCst);
        let body = serde_json::json!({
            "SessionID": format!("good-{n}"),
            "HookType": "CreateIncCall",
            "StartTime": "2021-01-28 14:15:22",
            "CityNumber": "4950665310",
            "Caller": format!("9582{:06}", n),
            "Called": "4950665310"
        })
        .to_string();
        let t = Instant::now();
        let (status, reply) = raw_request(self.addr(), "POST", &self.calls_path(), body.as_bytes())
            .await
            .unwrap_or_else(|e| panic!("good request {n} failed: {e}"));
        assert_eq!(status, 200, "good request {n}: {reply}");
        t.elapsed()
    }

    /// Good requests stored in the history.
    pub async fn stored_good(&self) -> i64 {
        self.history
            .read(|r| {
                Ok(r.connection()?.query_row(
                    "SELECT count(*) FROM call_source WHERE source = 'webhook' AND source_call_id LIKE 'good-%'",
                    [],
                    |row| row.get(0),
                )?)
            })
            .await
            .expect("history query")
    }
}

/// Send one HTTP/1.1 request with `Connection: close` and read the whole reply.
pub async fn raw_request(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    body: &[u8],
) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(addr).await?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await?;
    s.write_all(body).await?;
    read_reply(&mut s).await
}

pub async fn read_reply(s: &mut TcpStream) -> std::io::Result<(u16, String)> {
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut out))
        .await
        .map_err(|_| std::io::Error::other("no reply within 20 s"))??;
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not an HTTP reply: {text:?}")))?;
    Ok((status, text))
}
