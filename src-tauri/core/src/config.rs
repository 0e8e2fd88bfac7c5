//! Configuration (placeholder; the full layered loader comes with the foundation).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    pub era: crate::era::EraConfig,
    pub telphin: crate::telphin::TelphinConfig,
    pub listener: crate::hooks::ListenerConfig,
    pub history: crate::history::HistoryConfig,
}
