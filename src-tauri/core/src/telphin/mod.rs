//! Telphin client (placeholder until the Telphin issue lands).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TelphinConfig {
    pub enabled: bool,
}
