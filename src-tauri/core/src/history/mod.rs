//! Call history in SQLite (placeholder until the history issue lands).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HistoryConfig {
    /// Purge calls older than this many days; `None` keeps everything.
    pub retention_days: Option<u32>,
}
