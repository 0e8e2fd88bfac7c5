//! The engine wires configuration, platform sessions, the listener, the history store, the call
//! board and the notifier. The Tauri shell and the headless runner both drive it; neither knows
//! the platforms.

mod view;

use std::path::PathBuf;
use std::sync::{Arc, RwLock};

pub use view::{AppInfo, SettingsView, UiEvent};

use crate::config::{self, ConfigError, Loaded};
use crate::error::{Code, Coded};

/// Where the engine sends what the UI shows. The Tauri shell emits Tauri events; headless mode logs.
pub trait UiSink: Send + Sync + 'static {
    fn emit(&self, event: &UiEvent);
}

/// A sink that logs every UI event (headless mode).
pub struct LogSink;

impl UiSink for LogSink {
    fn emit(&self, event: &UiEvent) {
        match serde_json::to_string(event) {
            Ok(json) => tracing::info!(target: "cti::ui", "{json}"),
            Err(e) => tracing::warn!(error = %e, "unserializable UI event"),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct EngineOptions {
    /// `--config FILE`: user config file instead of the default one.
    pub config_file: Option<PathBuf>,
    /// Demo mode: the built-in simulator is the platform.
    pub demo: bool,
    /// Overrides of the loaded config applied in memory (demo mode points the clients at the
    /// simulator this way), as `(key, value)` pairs.
    pub overrides: Vec<(String, toml::Value)>,
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{0}")]
    Startup(String),
}

impl Coded for EngineError {
    fn code(&self) -> Code {
        match self {
            EngineError::Config(_) => Code::Config,
            EngineError::Startup(_) => Code::Internal,
        }
    }
}

pub struct Engine {
    loaded: RwLock<Loaded>,
    options: EngineOptions,
    ui: Arc<dyn UiSink>,
}

impl Engine {
    pub fn start(options: EngineOptions, ui: Arc<dyn UiSink>) -> Result<Arc<Engine>, EngineError> {
        let loaded = config::load(options.config_file.as_deref())?;
        for w in &loaded.warnings {
            tracing::warn!("{w}");
        }
        let engine = Arc::new(Engine { loaded: RwLock::new(loaded), options, ui });
        Ok(engine)
    }

    fn loaded(&self) -> Loaded {
        match self.loaded.read() {
            Ok(l) => l.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    pub fn app_info(&self) -> AppInfo {
        let l = self.loaded();
        AppInfo {
            version: env!("CARGO_PKG_VERSION").to_string(),
            demo: self.options.demo,
            user_config: l.user_file.display().to_string(),
            provisioning_config: l.provisioning_file.map(|p| p.display().to_string()),
        }
    }

    pub fn settings(&self) -> SettingsView {
        SettingsView::from_loaded(&self.loaded())
    }

    /// Change one user setting; refuses locked keys.
    pub fn set_setting(&self, key: &str, value: serde_json::Value) -> Result<SettingsView, EngineError> {
        let value = view::json_to_toml(value)
            .ok_or_else(|| ConfigError::Key { file: "settings".into(), key: key.into(), message: "null is not a value".into() })?;
        let current = self.loaded();
        config::set_user_value(&current, key, value)?;
        let reloaded = config::load(self.options.config_file.as_deref())?;
        let view = SettingsView::from_loaded(&reloaded);
        match self.loaded.write() {
            Ok(mut l) => *l = reloaded,
            Err(p) => *p.into_inner() = reloaded,
        }
        self.ui.emit(&UiEvent::Settings(view.clone()));
        Ok(view)
    }
}
