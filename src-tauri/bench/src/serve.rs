//! `cti-bench serve-listener`: our webhook listener in a process of its own, with the benchmark
//! rule set, acknowledging into nothing or into the real history store.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use cti_core::history::{History, HistoryConfig};
use cti_core::hooks::{IvrStore, Listener, ListenerConfig};
use cti_core::model::CallEvent;
use cti_core::sink::{Accepted, EventSink, RawRecord, RejectedRequest, SinkError};

/// Acknowledges every batch at once: the listener's own cost, without storage.
pub struct NullSink;

#[async_trait]
impl EventSink for NullSink {
    async fn accept(&self, _raw: RawRecord, events: Vec<CallEvent>) -> Result<Accepted, SinkError> {
        Ok(Accepted {
            stored: u32::try_from(events.len()).unwrap_or(u32::MAX),
            duplicates: 0,
        })
    }

    async fn reject(&self, _rejected: RejectedRequest) {}
}

/// The listener configuration used by every benchmark: loopback, the given port and token, the
/// benchmark rule set, everything else as the app's defaults.
pub fn listener_config(port: u16, token: &str) -> ListenerConfig {
    ListenerConfig {
        port,
        token: token.to_string(),
        ivr: crate::rules::ivr_settings(),
        ..ListenerConfig::default()
    }
}

/// Serve until killed. `history`: the SQLite file to store into (else [`NullSink`]).
/// `store`: when Call Interactive steps are stored (the app's default is after the reply).
pub fn serve_listener(
    port: u16,
    token: &str,
    history: Option<PathBuf>,
    store: IvrStore,
) -> Result<(), String> {
    // The app's runtime: multi-threaded, one worker per core.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    rt.block_on(async move {
        let sink: Arc<dyn EventSink> = match &history {
            Some(path) => Arc::new(
                History::open(path, &HistoryConfig::default())
                    .map_err(|e| format!("history {}: {e}", path.display()))?,
            ),
            None => Arc::new(NullSink),
        };
        let config = ListenerConfig {
            ivr_store: store,
            ..listener_config(port, token)
        };
        let handle = Listener::start(config, sink)
            .await
            .map_err(|e| format!("listener: {e}"))?;
        println!("READY http://{}", handle.local_addr());
        // Killed by the benchmark when done; Ctrl-C when run by hand.
        let _ = tokio::signal::ctrl_c().await;
        handle.shutdown().await;
        Ok(())
    })
}
