//! The engine wires configuration, platform sessions, the listener, the history store, the call
//! board and the notifier. The Tauri shell and the headless runner both drive it; neither knows
//! the platforms.
//!
//! ```text
//! Listener ──EventSink──▶ EngineSink ──▶ History (durable) ──▶ Board ──▶ UiSink / Notifier
//! Era session ──EraEvent──▶ pump ──────▶ History ──▶ Board / IVR sessions ──▶ UiSink / Notifier
//! Telphin client ──park board watch──▶ UiSink
//! UI command ──▶ Engine ──▶ Provider (Era | Telphin)
//! ```

mod actions;
mod admin;
pub mod board;
mod callbacks;
mod ivr;
mod platforms;
mod queries;
mod sink;
mod team;
mod view;

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use tokio::task::JoinHandle;

pub use actions::{CallAction, IvrCommand, Shortcut};
pub use callbacks::{CallbackItem, TeamMessage};
pub use sink::EngineSink;
pub use team::{TeamAction, TeamView};
pub use view::{
    AppInfo, ComponentResultView, ConnectionView, IvrSessionView, Notice, Platform, SettingsView,
    Snapshot, UiEvent,
};

use crate::config::{self, Config, ConfigError, Loaded};
use crate::error::{Code, Coded};
use crate::history::{History, HistoryError};
use crate::hooks::{ListenerError, ListenerHandle};
use crate::model::ConnectionState;
use board::Board;

/// Where the engine sends what the UI shows. The Tauri shell emits Tauri events; headless mode logs.
pub trait UiSink: Send + Sync + 'static {
    fn emit(&self, event: &UiEvent);
}

/// A desktop notification. The shell shows it without taking keyboard focus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesktopNotice {
    pub title: String,
    pub body: String,
    /// Board key or IVR key the notice is about (for the "Open" action).
    pub about: Option<String>,
}

/// Shows desktop notifications.
pub trait Notifier: Send + Sync + 'static {
    fn notify(&self, notice: &DesktopNotice);
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

/// A notifier that only logs (headless mode, tests).
pub struct LogNotifier;

impl Notifier for LogNotifier {
    fn notify(&self, n: &DesktopNotice) {
        tracing::info!(target: "cti::notify", title = %n.title, body = %n.body, "notification");
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
    #[error("call history: {0}")]
    History(#[from] HistoryError),
    #[error("webhook listener: {0}")]
    Listener(#[from] ListenerError),
    #[error("{0}")]
    Startup(String),
    #[error("no such call: {0}")]
    NoSuchCall(String),
    #[error("no such IVR session: {0}")]
    NoSuchIvr(String),
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Provider(#[from] crate::provider::ProviderError),
    #[error("{0}")]
    Invalid(String),
}

impl Coded for EngineError {
    fn code(&self) -> Code {
        match self {
            EngineError::Config(_) => Code::Config,
            EngineError::History(e) => e.code(),
            EngineError::Listener(_) => Code::Config,
            EngineError::Startup(_) => Code::Internal,
            EngineError::NoSuchCall(_) | EngineError::NoSuchIvr(_) => Code::NotFound,
            EngineError::Unavailable(_) => Code::NotConnected,
            EngineError::Provider(e) => e.code(),
            EngineError::Invalid(_) => Code::InvalidInput,
        }
    }
}

/// Shared state behind the engine handle.
pub(crate) struct Inner {
    pub(crate) loaded: RwLock<Loaded>,
    pub(crate) options: EngineOptions,
    pub(crate) ui: Arc<dyn UiSink>,
    pub(crate) notifier: Arc<dyn Notifier>,
    pub(crate) board: Mutex<Board>,
    pub(crate) ivr: Mutex<ivr::IvrBoard>,
    pub(crate) history: History,
    pub(crate) listener: Mutex<Option<ListenerHandle>>,
    pub(crate) platforms: Mutex<platforms::Platforms>,
    pub(crate) connections: Mutex<Vec<ConnectionView>>,
    pub(crate) missed: Mutex<u32>,
    pub(crate) team: Mutex<Option<team::TeamView>>,
    pub(crate) claims: callbacks::ClaimStore,
    /// A history-driven refresh of the callback list is scheduled (coalesces bursts).
    pub(crate) callbacks_pending: std::sync::atomic::AtomicBool,
    /// The last number a `tel:` link asked to dial, kept until the UI takes it (a link given at
    /// start-up arrives before the window listens).
    pub(crate) pending_dial: Mutex<Option<String>>,
    pub(crate) tasks: Mutex<Vec<JoinHandle<()>>>,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

/// The running core. Cheap to clone.
#[derive(Clone)]
pub struct Engine {
    pub(crate) inner: Arc<Inner>,
}

/// Apply in-memory overrides (`key`, value) on top of a loaded config.
fn apply_overrides(
    loaded: &mut Loaded,
    overrides: &[(String, toml::Value)],
) -> Result<(), ConfigError> {
    if overrides.is_empty() {
        return Ok(());
    }
    let mut table = toml::Table::try_from(&loaded.config).map_err(|e| ConfigError::Parse {
        file: "overrides".into(),
        message: e.to_string(),
    })?;
    for (k, v) in overrides {
        config::set_path_in(&mut table, k, v.clone());
    }
    let secrets = (
        loaded.config.era.token.clone(),
        loaded.config.telphin.client_secret.clone(),
        loaded.config.listener.token.clone(),
    );
    let mut cfg: Config = toml::Value::Table(table)
        .try_into()
        .map_err(|e: toml::de::Error| ConfigError::Parse {
            file: "overrides".into(),
            message: e.to_string(),
        })?;
    // Secret fields are not serialized; restore them unless an override set them.
    for (field, old, key) in [
        (&mut cfg.era.token, secrets.0, "era.token"),
        (
            &mut cfg.telphin.client_secret,
            secrets.1,
            "telphin.client_secret",
        ),
        (&mut cfg.listener.token, secrets.2, "listener.token"),
    ] {
        match overrides.iter().find(|(k, _)| k == key) {
            Some((_, toml::Value::String(s))) => *field = s.clone(),
            _ => *field = old,
        }
    }
    loaded.config = cfg;
    Ok(())
}

impl Engine {
    /// Load the configuration, open the history, start the listener and the platform clients.
    pub async fn start(
        options: EngineOptions,
        ui: Arc<dyn UiSink>,
        notifier: Arc<dyn Notifier>,
    ) -> Result<Engine, EngineError> {
        let mut loaded = config::load(options.config_file.as_deref())?;
        for w in &loaded.warnings {
            tracing::warn!("{w}");
        }
        // Secrets live beside the user config file in use (the default one, or `--config`).
        let store = crate::secrets::SecretStore::open(
            &loaded.config.secrets.backend,
            loaded.user_file.with_file_name("secrets.toml"),
        );
        if let Err(e) = crate::secrets::fill(&mut loaded.config, &store) {
            tracing::warn!(error = %e, "secrets unavailable");
        }
        if loaded.config.listener.token.is_empty() {
            let token = crate::hooks::generate_token();
            if let Err(e) = store.set(crate::secrets::LISTENER_TOKEN, &token) {
                tracing::warn!(error = %e, "cannot store the generated listener token");
            }
            loaded.config.listener.token = token;
        }
        apply_overrides(&mut loaded, &options.overrides)?;

        let data_dir = loaded
            .config
            .storage
            .data_dir
            .clone()
            .map(PathBuf::from)
            .unwrap_or_else(config::default_data_dir);
        let history = History::open(
            data_dir.join(crate::history::DEFAULT_FILE_NAME),
            &loaded.config.history,
        )?;
        let claims = callbacks::ClaimStore::open(&data_dir.join("team.db"))?;

        let inner = Arc::new(Inner {
            loaded: RwLock::new(loaded),
            options,
            ui,
            notifier,
            board: Mutex::new(Board::default()),
            ivr: Mutex::new(ivr::IvrBoard::default()),
            history,
            listener: Mutex::new(None),
            platforms: Mutex::new(platforms::Platforms::default()),
            connections: Mutex::new(Vec::new()),
            missed: Mutex::new(0),
            team: Mutex::new(None),
            claims,
            callbacks_pending: std::sync::atomic::AtomicBool::new(false),
            pending_dial: Mutex::new(None),
            tasks: Mutex::new(Vec::new()),
        });
        let engine = Engine { inner };
        engine.start_listener().await;
        let cfg = engine.config();
        engine
            .connect_platforms(cfg.era.clone(), cfg.telphin.clone())
            .await;
        engine.spawn_housekeeping();
        engine.spawn_team_refresh();
        Ok(engine)
    }

    pub fn config(&self) -> Config {
        match self.inner.loaded.read() {
            Ok(l) => l.config.clone(),
            Err(p) => p.into_inner().config.clone(),
        }
    }

    fn loaded(&self) -> Loaded {
        match self.inner.loaded.read() {
            Ok(l) => l.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    pub fn history(&self) -> &History {
        &self.inner.history
    }

    pub(crate) fn emit(&self, e: UiEvent) {
        self.inner.ui.emit(&e);
    }

    pub fn app_info(&self) -> AppInfo {
        let l = self.loaded();
        AppInfo {
            version: env!("CARGO_PKG_VERSION").to_string(),
            demo: self.inner.options.demo,
            user_config: l.user_file.display().to_string(),
            provisioning_config: l.provisioning_file.map(|p| p.display().to_string()),
        }
    }

    pub fn settings(&self) -> SettingsView {
        SettingsView::from_loaded(&self.loaded())
    }

    /// Change one user setting; refuses locked keys.
    pub fn set_setting(
        &self,
        key: &str,
        value: serde_json::Value,
    ) -> Result<SettingsView, EngineError> {
        if config::is_secret_key(key) {
            return self.set_secret(key, value);
        }
        let value = view::json_to_toml(value).ok_or_else(|| ConfigError::Key {
            file: "settings".into(),
            key: key.into(),
            message: "null is not a value".into(),
        })?;
        let current = self.loaded();
        config::set_user_value(&current, key, value)?;
        let mut reloaded = config::load(self.inner.options.config_file.as_deref())?;
        // Keep secrets and in-memory overrides (demo wiring) of the running config.
        let running = self.config();
        reloaded.config.era = running.era;
        reloaded.config.telphin = running.telphin;
        reloaded.config.listener = running.listener;
        reloaded.config.storage = running.storage;
        let view = SettingsView::from_loaded(&reloaded);
        match self.inner.loaded.write() {
            Ok(mut l) => *l = reloaded,
            Err(p) => *p.into_inner() = reloaded,
        }
        self.emit(UiEvent::Settings(view.clone()));
        Ok(view)
    }

    /// Store a secret (`era.token`, …) in the keyring (or the 0600 file) and use it from now on.
    pub(crate) fn set_secret(
        &self,
        key: &str,
        value: serde_json::Value,
    ) -> Result<SettingsView, EngineError> {
        let Some(secret) = value.as_str().map(str::trim).filter(|s| !s.is_empty()) else {
            return Err(EngineError::Invalid(format!(
                "{key}: a non-empty text is required"
            )));
        };
        let loaded = self.loaded();
        let store = crate::secrets::SecretStore::open(
            &loaded.config.secrets.backend,
            loaded.user_file.with_file_name("secrets.toml"),
        );
        store
            .set(key, secret)
            .map_err(|e| EngineError::Invalid(e.to_string()))?;
        let mut guard = match self.inner.loaded.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        match key {
            "era.token" => guard.config.era.token = secret.to_string(),
            "telphin.client_secret" => guard.config.telphin.client_secret = secret.to_string(),
            _ => guard.config.listener.token = secret.to_string(),
        }
        let view = SettingsView::from_loaded(&guard);
        drop(guard);
        Ok(view)
    }

    pub(crate) fn set_connection(
        &self,
        platform: Platform,
        state: ConnectionState,
        detail: String,
    ) {
        let view = ConnectionView {
            platform,
            state,
            detail,
        };
        {
            let mut c = lock(&self.inner.connections);
            match c.iter_mut().find(|v| v.platform == platform) {
                Some(v) if *v == view => return,
                Some(v) => *v = view.clone(),
                None => c.push(view.clone()),
            }
        }
        self.emit(UiEvent::Connection(view));
    }

    /// Everything the UI needs to render from scratch.
    pub fn snapshot(&self) -> Snapshot {
        let listener_urls = lock(&self.inner.listener).as_ref().map(|l| l.urls());
        let decisions = lock(&self.inner.listener)
            .as_ref()
            .map(|l| l.pending_decisions().borrow().clone())
            .unwrap_or_default();
        let (park, capabilities, extension) = {
            let p = lock(&self.inner.platforms);
            (p.park_snapshot(), p.capabilities(), p.extension())
        };
        let mut connections = lock(&self.inner.connections).clone();
        connections.sort_by_key(|c| c.platform as u8);
        Snapshot {
            info: self.app_info(),
            settings: self.settings(),
            connections,
            calls: lock(&self.inner.board).calls(),
            park,
            ivr: lock(&self.inner.ivr).sessions(),
            decisions,
            capabilities,
            listener_urls,
            missed: *lock(&self.inner.missed),
            extension,
            team: lock(&self.inner.team).clone(),
        }
    }

    /// The user looked at the missed calls: clear the badge.
    pub fn missed_seen(&self) {
        *lock(&self.inner.missed) = 0;
        self.emit(UiEvent::Missed(0));
    }

    /// A `tel:`/`callto:` link was opened: ask the UI to dial (the agent confirms).
    pub fn dial_request(&self, link: &str) -> Result<String, EngineError> {
        let number = parse_tel_link(link)
            .ok_or_else(|| EngineError::Invalid(format!("not a phone link: {link}")))?;
        *lock(&self.inner.pending_dial) = Some(number.clone());
        self.emit(UiEvent::Dial(number.clone()));
        Ok(number)
    }

    /// The number a `tel:` link asked to dial, once (the UI calls this after loading).
    pub fn take_pending_dial(&self) -> Option<String> {
        lock(&self.inner.pending_dial).take()
    }

    /// Stop background work, close the platform sessions and the listener, flush the history.
    pub async fn shutdown(&self) {
        for t in lock(&self.inner.tasks).drain(..) {
            t.abort();
        }
        let era = lock(&self.inner.platforms).era.take();
        if let Some(era) = era {
            let _ = era.handle.shutdown().await;
        }
        let listener = lock(&self.inner.listener).take();
        if let Some(l) = listener {
            l.shutdown().await;
        }
        if let Err(e) = self.inner.history.close().await {
            tracing::warn!(error = %e, "history close");
        }
    }
}

/// Extract the number from a `tel:` / `callto:` link (or a bare number): digits, `+`, `*`, `#`.
pub fn parse_tel_link(link: &str) -> Option<String> {
    let s = link.trim();
    let rest = ["tel:", "callto:", "tel://", "callto://"]
        .iter()
        .rev()
        .find_map(|p| {
            s.get(..p.len())
                .filter(|h| h.eq_ignore_ascii_case(p))
                .map(|_| &s[p.len()..])
        })
        .unwrap_or(s);
    let rest = rest.trim_start_matches('/');
    let rest = rest.split([';', '?']).next().unwrap_or("");
    let decoded = percent_encoding::percent_decode_str(rest).decode_utf8_lossy();
    let number: String = decoded
        .chars()
        .filter(|c| c.is_ascii_digit() || matches!(c, '+' | '*' | '#'))
        .collect();
    let digits = number.chars().filter(char::is_ascii_digit).count();
    (digits > 0 && number.len() <= 32).then_some(number)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tel_links_are_parsed_tolerantly() {
        assert_eq!(
            parse_tel_link("tel:+7 (495) 123-45-67").as_deref(),
            Some("+74951234567")
        );
        assert_eq!(
            parse_tel_link("TEL:+7%20495%201234567").as_deref(),
            Some("+74951234567")
        );
        assert_eq!(parse_tel_link("callto://101").as_deref(), Some("101"));
        assert_eq!(
            parse_tel_link("tel:101;phone-context=example.com").as_deref(),
            Some("101")
        );
        assert_eq!(
            parse_tel_link("89161234567").as_deref(),
            Some("89161234567")
        );
        assert_eq!(parse_tel_link("tel:"), None);
        assert_eq!(parse_tel_link("mailto:a@b"), None);
        assert_eq!(parse_tel_link(&format!("tel:{}", "1".repeat(64))), None);
    }
}
