//! `cti-bench`: the CTI panel's benchmarks side by side with peers and the floor, as one
//! command that prints one table (`cargo run -p cti-bench --release -- all`).
//!
//! Benchmarks print numbers; nothing here is a timed test. The unit tests cover the bench's own
//! logic (histogram and percentile math, PSS parsing, table rendering, output parsing).

pub mod app;
pub mod ci;
pub mod external_sim;
pub mod history;
pub mod history_store;
pub mod ingest;
pub mod inproc;
pub mod loadgen;
pub mod machine;
pub mod procmem;
pub mod ramp;
pub mod rules;
pub mod screen;
pub mod serve;
pub mod servers;
pub mod size;
pub mod soak;
pub mod startup;
pub mod stats;
pub mod table;

use table::Row;

/// The result of one benchmark: table rows plus a paragraph of details for BENCHMARKS.md.
#[derive(Debug, Clone)]
pub struct Section {
    pub title: String,
    pub rows: Vec<Row>,
    pub details: String,
}

impl Section {
    /// A benchmark that could not run at all.
    pub fn failed(title: &str, row: Row) -> Section {
        Section {
            title: title.to_string(),
            rows: vec![row],
            details: String::new(),
        }
    }
}
