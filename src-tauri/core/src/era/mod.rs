//! Era platform client (placeholder until the Era issue lands).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EraConfig {
    pub enabled: bool,
}
