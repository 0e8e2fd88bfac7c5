//! Shared helpers of the Era simulator tests: a tiny WebSocket client over loopback.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::time::Duration;

use cti_sim::world::Direction;
use cti_sim::{Sim, SimConfig};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub const TOKEN: &str = cti_sim::era::DEMO_TOKEN;
const WAIT: Duration = Duration::from_secs(5);

pub async fn sim() -> Sim {
    sim_with(|_| {}).await
}

pub async fn sim_with(f: impl FnOnce(&mut SimConfig)) -> Sim {
    let mut cfg = SimConfig {
        speed: 60.0,
        ..Default::default()
    };
    f(&mut cfg);
    Sim::start(cfg).await.expect("sim starts")
}

pub fn ws_url(sim: &Sim, path: &str) -> String {
    format!("ws://{}{}", sim.addr, path)
}

pub struct Ws {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_qid: u64,
    pending: VecDeque<(String, Value)>,
}

impl Ws {
    pub async fn connect(
        sim: &Sim,
        path: &str,
    ) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
        let (ws, _) = tokio_tungstenite::connect_async(ws_url(sim, path)).await?;
        Ok(Ws {
            ws,
            next_qid: 1,
            pending: VecDeque::new(),
        })
    }

    pub async fn connect_bearer(
        sim: &Sim,
        path: &str,
        token: &str,
    ) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
        let mut req = ws_url(sim, path).into_client_request()?;
        req.headers_mut().insert(
            "Authorization",
            format!("Bearer {token}").parse().expect("header"),
        );
        let (ws, _) = tokio_tungstenite::connect_async(req).await?;
        Ok(Ws {
            ws,
            next_qid: 1,
            pending: VecDeque::new(),
        })
    }

    pub async fn token(sim: &Sim) -> Ws {
        Ws::connect(sim, &format!("/ws/token/v1/{TOKEN}"))
            .await
            .expect("token ws")
    }

    pub async fn send_text(&mut self, text: &str) {
        self.ws
            .send(Message::Text(text.to_string().into()))
            .await
            .expect("send");
    }

    pub async fn send(&mut self, name: &str, body: Value) {
        self.send_text(&json!([name, body]).to_string()).await;
    }

    /// Next frame off the socket (not from the pending buffer); None when the socket ends.
    async fn read_raw(&mut self) -> Option<(String, Value)> {
        loop {
            let m = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("frame within 5 s")?;
            match m {
                Ok(Message::Text(t)) => {
                    let v: Value = serde_json::from_str(t.as_str()).expect("json frame");
                    let name = v[0].as_str().unwrap_or("?").to_string();
                    return Some((name, v[1].clone()));
                }
                Ok(Message::Close(_)) | Err(_) => return None,
                Ok(_) => continue,
            }
        }
    }

    /// Send a request with a fresh integer qid and wait for its result (other frames are kept).
    pub async fn request(&mut self, name: &str, mut body: Value) -> Value {
        let qid = json!(self.next_qid);
        self.next_qid += 1;
        body["qid"] = qid.clone();
        self.request_raw(name, body, &qid).await
    }

    pub async fn request_raw(&mut self, name: &str, body: Value, qid: &Value) -> Value {
        self.send(name, body).await;
        let want = format!("{name}_result");
        loop {
            let (n, b) = self.read_raw().await.expect("socket open");
            if n == want && &b["qid"] == qid {
                return b;
            }
            self.pending.push_back((n, b));
        }
    }

    /// Next frame matching `pred` (buffered ones first).
    pub async fn wait_for(&mut self, pred: impl Fn(&str, &Value) -> bool) -> (String, Value) {
        if let Some(i) = self.pending.iter().position(|(n, b)| pred(n, b)) {
            return self.pending.remove(i).expect("index");
        }
        loop {
            let (n, b) = self.read_raw().await.expect("socket open");
            if pred(&n, &b) {
                return (n, b);
            }
            self.pending.push_back((n, b));
        }
    }

    /// Next `notify` of `class.kind`.
    pub async fn notify(&mut self, class: &str, kind: &str) -> Value {
        let (_, b) = self
            .wait_for(|n, b| n == "notify" && b["class"] == class && b["type"] == kind)
            .await;
        b
    }

    /// Everything received so far (after a round trip flushes the queue), then cleared.
    pub async fn drain(&mut self) -> Vec<(String, Value)> {
        self.request("connection_info", json!({})).await;
        self.pending.drain(..).collect()
    }

    pub async fn subscribe(
        &mut self,
        id: &str,
        events: &[&str],
        objects: &[&str],
        expires: u64,
    ) -> Value {
        self.request(
            "subscribe",
            json!({ "id": id, "events": events, "objects": objects, "expires": expires }),
        )
        .await
    }

    /// True when the server closed the socket (abruptly or not).
    pub async fn closed(&mut self) -> bool {
        loop {
            match tokio::time::timeout(WAIT, self.ws.next()).await {
                Ok(None) | Ok(Some(Err(_))) | Ok(Some(Ok(Message::Close(_)))) => return true,
                Ok(Some(Ok(_))) => continue,
                Err(_) => return false,
            }
        }
    }
}

/// An inbound call from an external number to `to`, ringing `to`; returns (call id, leg id).
pub fn ringing_call(sim: &Sim, from: &str, to: &str) -> (String, String) {
    let c = sim
        .world()
        .create_call(Direction::Inbound, from, None, to, None);
    let leg = sim.world().ring(&c.id, to).expect("ring");
    (c.id, leg)
}

/// An answered inbound call from `from` to `to`.
pub fn answered_call(sim: &Sim, from: &str, to: &str) -> (String, String) {
    let (id, leg) = ringing_call(sim, from, to);
    sim.world().answer(&id, &leg).expect("answer");
    (id, leg)
}

/// An observer connection subscribed to everything: once it saw an event, the fan-out has
/// handled that event for every connection (used as a barrier before asserting absence).
pub async fn observer(sim: &Sim) -> Ws {
    let mut o = Ws::token(sim).await;
    o.subscribe("observer", &["*"], &[], 3600).await;
    o
}

pub async fn pause(ms: u64) {
    tokio::time::sleep(Duration::from_millis(ms)).await;
}
