//! Command line: `cti-panel [--config FILE] [--demo] [--headless]` and `cti-panel history export`.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(name = "cti-panel", version, about = "Desktop CTI panel for Era and Telphin", long_about = None)]
pub struct Cli {
    /// User configuration file (TOML) instead of the default one in the platform config dir.
    #[arg(long, value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,
    /// Demo mode: run against the built-in PBX simulator with a lively stream of calls.
    #[arg(long)]
    pub demo: bool,
    /// Run the core without a window and log what happens (servers, tests).
    #[arg(long)]
    pub headless: bool,
    /// A `tel:` or `callto:` link to dial (passed by the desktop when a link is opened).
    #[arg(value_name = "URL")]
    pub url: Option<String>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Call history commands.
    History {
        #[command(subcommand)]
        command: HistoryCommand,
    },
    /// Check this installation: platforms reached and signed in to, listener, secret storage,
    /// notifications. Exit code 0 when every check passed.
    SelfTest,
    /// Write a support bundle (.tar.gz): logs, configuration without secrets, versions, self-test.
    SupportBundle {
        /// Output file or folder (default: the Downloads folder).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum HistoryCommand {
    /// Export the call history.
    Export {
        /// Output format.
        #[arg(long, value_enum, default_value_t = ExportFormat::Csv)]
        format: ExportFormat,
        /// Output file (default: standard output).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    Csv,
    Json,
}
