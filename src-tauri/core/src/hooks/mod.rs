//! Embedded webhook listener (placeholder until the listener issue lands).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ListenerConfig {
    pub enabled: bool,
    pub bind: String,
    pub port: u16,
}

impl Default for ListenerConfig {
    fn default() -> Self {
        ListenerConfig { enabled: true, bind: "127.0.0.1".into(), port: 8787 }
    }
}
