//! Era platform client (seeds 002, 003; protocols.md §1).
//!
//! - [`session`]: one task owns the WebSocket (User-API or Token-API), subscribes to
//!   `callevents`/`ccsevents`/`ivrevents`, keeps the link alive (pings, renewals), reconnects
//!   with full-jitter backoff, re-takes IVR control and reconciles calls after a reconnect.
//!   [`EraHandle`] is the cloneable front; [`EraEvent`]s come out on a channel.
//! - [`link`]: the per-connection protocol logic, generic over `Sink + Stream`.
//! - [`frame`]: `[name, {qid, ...}]` framing, both error-result shapes.
//! - [`normalize`]: Era events → [`crate::model::CallEvent`].
//! - [`rest`]: `/rest/v1/uc/calls[_by_participation]` with custom verbs.
//! - [`provider`]: [`EraProvider`], the [`crate::provider::Provider`] of Era.
//!
//! ```no_run
//! # async fn demo() -> Result<(), cti_core::era::EraError> {
//! use cti_core::era::{self, Component, EraConfig, EraEvent, IvrEvent};
//! let cfg = EraConfig::for_server("http://127.0.0.1:8080", "101", "era-user-101");
//! let (handle, mut events) = era::start(cfg)?;
//! while let Some(ev) = events.recv().await {
//!     if let EraEvent::Ivr { event: IvrEvent::Offered { offer } } = ev {
//!         handle.ivr_accept(&offer.key, &offer.ivrid).await?;
//!         handle.ivr_apply(&offer.key, &offer.ivrid, &Component::Play { file: ":GS_PUB/hello.mp3".into() }).await?;
//!     }
//! }
//! # Ok(()) }
//! ```

pub mod config;
pub mod error;
pub mod frame;
pub mod link;
pub mod normalize;
pub mod provider;
pub mod rest;
pub mod session;
pub mod types;

#[cfg(test)]
mod tests;

pub use config::{EraAuth, EraConfig};
pub use error::EraError;
pub use provider::EraProvider;
pub use rest::EraRest;
pub use session::{backoff_delay, start, EraEvents, EraHandle};
pub use types::{
    AcceptOutcome, Component, DtmfMode, EraEvent, FileLink, FrameDir, IvrEvent, IvrOffer,
    IvrSessionInfo,
};
