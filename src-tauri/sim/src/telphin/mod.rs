//! Placeholder front-end; replaced by the real implementation.

use serde::{Deserialize, Serialize};

use crate::SimContext;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct TelphinSimConfig {}

pub fn router(_ctx: &SimContext) -> axum::Router {
    axum::Router::new()
}

pub fn spawn(_ctx: &SimContext) -> Vec<tokio::task::JoinHandle<()>> {
    Vec::new()
}
