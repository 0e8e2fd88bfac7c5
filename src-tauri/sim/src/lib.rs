//! `cti-sim`: a faithful simulator of the Era platform (WebSocket + REST), Telphin (OAuth REST,
//! valet parking, call control, extension events, Call Interactive) and the seed-004 JSON call
//! webhooks, all on one loopback HTTP server.
//!
//! ```text
//! World (calls, legs, slots) ──WorldEvent──▶ era (notify frames)
//!        ▲                              ├──▶ telphin (extension events, Call Interactive)
//!        └── control requests ──────────┴──▶ webhooks (CreateIncCall … EndOutCall)
//! ```
//!
//! Start it in-process with [`Sim::start`] on port 0 and read its addresses, or run the
//! `cti-sim` binary with a scenario file.

pub mod clock;
pub mod era;
pub mod faults;
pub mod journal;
pub mod scenario;
pub mod telphin;
pub mod webhooks;
pub mod world;

use std::net::SocketAddr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use clock::Clock;
pub use faults::Faults;
pub use journal::{Channel, Dir, Journal};
pub use world::World;

/// Everything the simulator is configured with.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct SimConfig {
    /// Address to bind; port 0 picks a free port.
    pub bind: SocketAddr,
    /// Simulated-time speed factor (1.0 = real time).
    pub speed: f64,
    /// Seed for every random choice, so runs are reproducible.
    pub seed: u64,
    pub era: era::EraSimConfig,
    pub telphin: telphin::TelphinSimConfig,
    pub webhooks: webhooks::WebhookSimConfig,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            speed: 1.0,
            seed: 42,
            era: Default::default(),
            telphin: Default::default(),
            webhooks: Default::default(),
        }
    }
}

/// What each front-end gets: the world, the journal, the faults and the configuration.
#[derive(Clone)]
pub struct SimContext {
    pub world: World,
    pub journal: Journal,
    pub faults: Faults,
    pub config: Arc<SimConfig>,
    /// `http://127.0.0.1:PORT` of this simulator (for links it hands out).
    pub base_url: String,
}

/// A running simulator.
pub struct Sim {
    pub ctx: SimContext,
    pub addr: SocketAddr,
    server: JoinHandle<()>,
    tasks: Vec<JoinHandle<()>>,
}

impl Sim {
    /// Bind, start every front-end and return at once.
    pub async fn start(config: SimConfig) -> std::io::Result<Sim> {
        let listener = TcpListener::bind(config.bind).await?;
        let addr = listener.local_addr()?;
        let world = World::new(Clock::new(config.speed));
        let ctx = SimContext {
            world,
            journal: Journal::default(),
            faults: Faults::default(),
            config: Arc::new(config),
            base_url: format!("http://{addr}"),
        };
        let app = axum::Router::new()
            .merge(era::router(&ctx))
            .merge(telphin::router(&ctx))
            .merge(webhooks::router(&ctx));
        let mut tasks = Vec::new();
        tasks.extend(era::spawn(&ctx));
        tasks.extend(telphin::spawn(&ctx));
        tasks.extend(webhooks::spawn(&ctx));
        let faults = ctx.faults.clone();
        let server = tokio::spawn(async move {
            let listener = RefusingListener {
                inner: listener,
                faults,
            };
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "simulator server stopped");
            }
        });
        Ok(Sim {
            ctx,
            addr,
            server,
            tasks,
        })
    }

    pub fn base_url(&self) -> &str {
        &self.ctx.base_url
    }

    pub fn world(&self) -> &World {
        &self.ctx.world
    }

    pub fn journal(&self) -> &Journal {
        &self.ctx.journal
    }

    pub fn faults(&self) -> &Faults {
        &self.ctx.faults
    }

    /// Stop serving and stop every background task.
    pub fn shutdown(self) {
        self.server.abort();
        for t in self.tasks {
            t.abort();
        }
    }
}

/// A TCP listener that closes new connections while the `refuse_connections` fault is on.
struct RefusingListener {
    inner: TcpListener,
    faults: Faults,
}

impl axum::serve::Listener for RefusingListener {
    type Io = tokio::net::TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.inner.accept().await {
                Ok((io, addr)) => {
                    if self.faults.refusing() {
                        drop(io);
                        continue;
                    }
                    let _ = io.set_nodelay(true);
                    return (io, addr);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}
