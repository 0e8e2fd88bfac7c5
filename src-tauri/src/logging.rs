//! `tracing` to stderr and to a daily rolling file in the platform log dir; filter from
//! `RUST_LOG` (default `info`).

use std::path::Path;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, EnvFilter, Layer};

/// Lines the log file writer may hold while the disk catches up.
const LOG_BUFFER_LINES: usize = 8_192;

/// Install the subscriber. Keep the guard alive for the life of the process.
pub fn init(log_dir: &Path) -> Option<WorkerGuard> {
    let filter = || EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let stderr = fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_filter(filter());
    let (file_layer, guard) = match std::fs::create_dir_all(log_dir) {
        Ok(()) => {
            let appender = tracing_appender::rolling::Builder::new()
                .rotation(tracing_appender::rolling::Rotation::DAILY)
                .filename_prefix("cti-panel")
                .filename_suffix("log")
                .max_log_files(14)
                .build(log_dir);
            match appender {
                Ok(a) => {
                    // The default buffer holds 128,000 lines in a channel allocated (and
                    // touched) up front, 4 MB resident from the first second; a few thousand
                    // lines cover any burst a panel logs (lines past it are dropped, counted
                    // by the appender, never blocking the caller).
                    let (w, g) = tracing_appender::non_blocking::NonBlockingBuilder::default()
                        .buffered_lines_limit(LOG_BUFFER_LINES)
                        .finish(a);
                    (
                        Some(
                            fmt::layer()
                                .with_ansi(false)
                                .with_writer(w)
                                .with_filter(filter()),
                        ),
                        Some(g),
                    )
                }
                Err(e) => {
                    eprintln!("cti-panel: cannot write logs to {}: {e}", log_dir.display());
                    (None, None)
                }
            }
        }
        Err(e) => {
            eprintln!(
                "cti-panel: cannot create log dir {}: {e}",
                log_dir.display()
            );
            (None, None)
        }
    };
    let _ = tracing_subscriber::registry()
        .with(stderr)
        .with(file_layer)
        .try_init();
    guard
}
