//! The self-test: can this installation reach its platforms, sign in, listen for webhooks
//! and keep secrets? Each check says what it found in plain words.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::config::Config;
use crate::era::{self, EraConfig};
use crate::hooks::{generate_token, Listener, ListenerConfig, ListenerError};
use crate::model::{CallEvent, ConnectionState};
use crate::secrets::{Backend, SecretStore, ERA_TOKEN, LISTENER_TOKEN, TELPHIN_CLIENT_SECRET};
use crate::sink::{Accepted, EventSink, RawRecord, RejectedRequest, SinkError};
use crate::telphin::{TelphinClient, TelphinConfig, TelphinError};

/// Check names, as reports show them.
pub const ERA: &str = "Era platform";
pub const TELPHIN: &str = "Telphin platform";
pub const LISTENER: &str = "Webhook listener";
pub const SECRETS: &str = "Secret storage";

/// One check and what it found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct SelfTestItem {
    /// What was checked: `Era platform`, `Telphin platform`, `Webhook listener`,
    /// `Secret storage`, `Desktop notifications`…
    pub name: String,
    /// Whether it works (a check that does not apply, like a platform switched off, is ok).
    pub ok: bool,
    /// What was found, in a sentence for the admin.
    pub detail: String,
}

impl SelfTestItem {
    pub fn pass(name: impl Into<String>, detail: impl Into<String>) -> SelfTestItem {
        SelfTestItem {
            name: name.into(),
            ok: true,
            detail: detail.into(),
        }
    }

    pub fn fail(name: impl Into<String>, detail: impl Into<String>) -> SelfTestItem {
        SelfTestItem {
            name: name.into(),
            ok: false,
            detail: detail.into(),
        }
    }
}

/// Every check's result, in the order they ran.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct SelfTestReport {
    pub items: Vec<SelfTestItem>,
}

impl SelfTestReport {
    /// True when every check passed (the CLI exits 0 then, 1 otherwise).
    pub fn all_ok(&self) -> bool {
        self.items.iter().all(|i| i.ok)
    }

    /// The checks that failed.
    pub fn failures(&self) -> impl Iterator<Item = &SelfTestItem> {
        self.items.iter().filter(|i| !i.ok)
    }

    /// One line per check (`[ OK ] Era platform: connected to …`) and a closing summary line.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for i in &self.items {
            let mark = if i.ok { "[ OK ]" } else { "[FAIL]" };
            out.push_str(&format!("{mark} {}: {}\n", i.name, i.detail));
        }
        let failed = self.failures().count();
        if failed == 0 {
            out.push_str(&format!(
                "self-test: all {} checks passed\n",
                self.items.len()
            ));
        } else {
            out.push_str(&format!(
                "self-test: {failed} of {} checks failed\n",
                self.items.len()
            ));
        }
        out
    }
}

/// How the webhook listener is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ListenerCheck {
    /// Not at all.
    Skip,
    /// Bind its configured address, ask `/health`, stop again (the CLI; the panel must not be
    /// running with the same port).
    #[default]
    Bind,
    /// The running app's listener at this address: ask its `/health` (the UI self-test).
    Running(SocketAddr),
}

/// Which checks run and how long each may take.
#[derive(Debug, Clone)]
pub struct SelfTestOptions {
    /// Check Era when it is enabled in the configuration.
    pub era: bool,
    /// Check Telphin when it is enabled in the configuration.
    pub telphin: bool,
    pub listener: ListenerCheck,
    /// Check the secret storage (OS keyring, or the 0600 file).
    pub secrets: bool,
    /// Time limit of each check.
    pub timeout: Duration,
    /// The secret file of the file backend; `None` means [`SecretStore::default_file`].
    pub secrets_file: Option<PathBuf>,
    /// Results of checks done elsewhere (the shell checks desktop notifications), appended.
    pub extra: Vec<SelfTestItem>,
}

impl Default for SelfTestOptions {
    fn default() -> Self {
        SelfTestOptions {
            era: true,
            telphin: true,
            listener: ListenerCheck::Bind,
            secrets: true,
            timeout: Duration::from_secs(15),
            secrets_file: None,
            extra: Vec::new(),
        }
    }
}

/// Run the checks of `checks` against `config`.
///
/// Secrets missing from `config` (empty token fields) are read from the secret storage, as the
/// app does at start. Never fails: every problem becomes a failed [`SelfTestItem`].
pub async fn self_test(config: &Config, checks: SelfTestOptions) -> SelfTestReport {
    let mut config = config.clone();
    let mut items = Vec::new();

    let file = checks
        .secrets_file
        .clone()
        .unwrap_or_else(SecretStore::default_file);
    let needs_store = checks.secrets
        || (checks.era && config.era.enabled && config.era.token.is_empty())
        || (checks.telphin && config.telphin.enabled && config.telphin.client_secret.is_empty());
    let store = if needs_store {
        open_store(&config.secrets.backend, &file, checks.timeout).await
    } else {
        Err("not needed".to_string())
    };
    if checks.secrets {
        items.push(match &store {
            Ok(store) => check_store(store, &config.secrets.backend, &file).await,
            Err(why) => SelfTestItem::fail(SECRETS, why.clone()),
        });
    }
    if let Ok(store) = &store {
        fill(&mut config.era.token, store, ERA_TOKEN).await;
        fill(
            &mut config.telphin.client_secret,
            store,
            TELPHIN_CLIENT_SECRET,
        )
        .await;
        fill(&mut config.listener.token, store, LISTENER_TOKEN).await;
    }

    if checks.era {
        items.push(check_era(&config.era, checks.timeout).await);
    }
    if checks.telphin {
        items.push(check_telphin(&config.telphin, checks.timeout).await);
    }
    match checks.listener {
        ListenerCheck::Skip => {}
        ListenerCheck::Bind => {
            items.push(check_listener_bind(&config.listener, checks.timeout).await)
        }
        ListenerCheck::Running(addr) => items.push(match health(addr, checks.timeout).await {
            Ok(status) => SelfTestItem::pass(
                LISTENER,
                format!("the running listener on {addr} answers (/health: HTTP {status})"),
            ),
            Err(e) => SelfTestItem::fail(
                LISTENER,
                format!("the running listener on {addr} does not answer: {e}"),
            ),
        }),
    }
    items.extend(checks.extra);
    SelfTestReport { items }
}

/// Open the store off the async threads (the keyring probe talks D-Bus and may hang).
async fn open_store(backend: &str, file: &Path, limit: Duration) -> Result<SecretStore, String> {
    let backend = backend.to_string();
    let file = file.to_path_buf();
    let task = tokio::task::spawn_blocking(move || SecretStore::open(&backend, file));
    match tokio::time::timeout(limit, task).await {
        Ok(Ok(store)) => Ok(store),
        Ok(Err(e)) => Err(format!("the secret storage check crashed: {e}")),
        Err(_) => Err(format!(
            "the OS keyring did not answer within {} s",
            limit.as_secs()
        )),
    }
}

/// Fill an empty secret field from the store.
async fn fill(field: &mut String, store: &SecretStore, name: &'static str) {
    if !field.is_empty() {
        return;
    }
    let store = store.clone();
    if let Ok(Ok(Some(v))) = tokio::task::spawn_blocking(move || store.get(name)).await {
        *field = v;
    }
}

async fn check_store(store: &SecretStore, configured: &str, file: &Path) -> SelfTestItem {
    let probe = store.clone();
    let read = tokio::task::spawn_blocking(move || probe.get(ERA_TOKEN)).await;
    let read = match read {
        Ok(r) => r.map(|_| ()).map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    match store.backend() {
        Backend::Keyring => match read {
            Ok(()) => SelfTestItem::pass(SECRETS, "the OS keyring works; secrets are kept there"),
            Err(e) => SelfTestItem::fail(SECRETS, format!("the OS keyring does not work: {e}")),
        },
        Backend::File => {
            let why = if configured == "file" {
                "secrets are kept in a file (secrets.backend = \"file\")".to_string()
            } else {
                "no OS keyring service answered (normal without a desktop session); secrets are kept in a file instead".to_string()
            };
            if let Err(e) = read {
                return SelfTestItem::fail(SECRETS, format!("{why}, but it cannot be read: {e}"));
            }
            match file_usable(file) {
                Ok(()) => SelfTestItem::pass(
                    SECRETS,
                    format!("{why}: {} (readable by you only)", file.display()),
                ),
                Err(e) => SelfTestItem::fail(SECRETS, format!("{why}, but {e}")),
            }
        }
    }
}

/// The secret file's folder is writable and the file (if any) is not readable by others.
fn file_usable(file: &Path) -> Result<(), String> {
    let dir = file
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)
        .map_err(|e| format!("its folder {} cannot be created: {e}", dir.display()))?;
    let probe = dir.join(format!(".cti-panel-probe-{}", std::process::id()));
    std::fs::write(&probe, b"probe")
        .map_err(|e| format!("its folder {} is not writable: {e}", dir.display()))?;
    let _ = std::fs::remove_file(&probe);
    #[cfg(unix)]
    if let Ok(meta) = std::fs::metadata(file) {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(format!(
                "{} can be read by other users (mode {mode:o}); run chmod 600 on it",
                file.display()
            ));
        }
    }
    Ok(())
}

async fn check_era(cfg: &EraConfig, limit: Duration) -> SelfTestItem {
    if !cfg.enabled {
        return SelfTestItem::pass(ERA, "not enabled in the settings; not checked");
    }
    let where_ = cfg.url.clone();
    let limit_ms = u64::try_from(limit.as_millis()).unwrap_or(u64::MAX).max(1);
    let cfg = EraConfig {
        connect_timeout_ms: cfg.connect_timeout_ms.min(limit_ms),
        // A probe: no IVR takeover, no reconcile, no inspector copies.
        ivr_auto_accept: false,
        reconcile_on_connect: false,
        inspector_frames: false,
        ..cfg.clone()
    };
    let (handle, _events) = match era::start(cfg) {
        Ok(started) => started,
        Err(e) => return SelfTestItem::fail(ERA, format!("cannot start: {e}")),
    };
    let mut state = handle.state();
    let settled = tokio::time::timeout(
        limit,
        state.wait_for(|s| !matches!(s, ConnectionState::Connecting { .. })),
    )
    .await
    // Take the state out of the watch guard now: the guard must not live across an await.
    .map(|r| r.map(|s| s.clone()));
    let item = match settled {
        Err(_) => SelfTestItem::fail(
            ERA,
            format!("no answer from {where_} within {} s", limit.as_secs()),
        ),
        Ok(Err(_)) => SelfTestItem::fail(ERA, "the session stopped unexpectedly"),
        Ok(Ok(s)) => match &s {
            ConnectionState::Connected { .. } => SelfTestItem::pass(
                ERA,
                format!("connected to {where_}, signed in and subscribed to call events"),
            ),
            ConnectionState::Failed { reason } => {
                SelfTestItem::fail(ERA, format!("signing in to {where_} failed: {reason}"))
            }
            ConnectionState::BackingOff { reason, .. } => {
                SelfTestItem::fail(ERA, format!("cannot connect to {where_}: {reason}"))
            }
            other => SelfTestItem::fail(ERA, format!("unexpected state {other:?}")),
        },
    };
    let _ = tokio::time::timeout(Duration::from_secs(3), handle.shutdown()).await;
    item
}

async fn check_telphin(cfg: &TelphinConfig, limit: Duration) -> SelfTestItem {
    if !cfg.enabled {
        return SelfTestItem::pass(TELPHIN, "not enabled in the settings; not checked");
    }
    let client = match TelphinClient::new(cfg.clone()) {
        Ok(c) => c,
        Err(e) => return SelfTestItem::fail(TELPHIN, e.to_string()),
    };
    let host = cfg.host.clone();
    let run = async {
        client.access_token().await?;
        let mut detail = format!("signed in to {host} (OAuth token received)");
        if let Ok(owner) = client.whoami().await {
            if let Some(login) = owner.login {
                detail.push_str(&format!(" as {login}"));
            }
        }
        if let Ok(ext) = client.agent_extension() {
            let info = client.extension_info(ext).await?;
            detail.push_str(&format!("; extension {ext} is {}", info.name));
        }
        Ok::<String, TelphinError>(detail)
    };
    match tokio::time::timeout(limit, run).await {
        Ok(Ok(detail)) => SelfTestItem::pass(TELPHIN, detail),
        Ok(Err(e @ TelphinError::Auth(_))) => {
            SelfTestItem::fail(TELPHIN, format!("signing in to {host} failed: {e}"))
        }
        Ok(Err(e @ TelphinError::NotFound(_))) => SelfTestItem::fail(
            TELPHIN,
            format!("signed in to {host}, but the agent's extension is wrong: {e}"),
        ),
        Ok(Err(e @ (TelphinError::Network(_) | TelphinError::Timeout(_)))) => {
            SelfTestItem::fail(TELPHIN, format!("cannot reach {host}: {e}"))
        }
        Ok(Err(e)) => SelfTestItem::fail(TELPHIN, format!("{host}: {e}")),
        Err(_) => SelfTestItem::fail(
            TELPHIN,
            format!("no answer from {host} within {} s", limit.as_secs()),
        ),
    }
}

/// Takes nothing: the self-test's listener stores no calls.
struct DiscardSink;

#[async_trait]
impl EventSink for DiscardSink {
    async fn accept(
        &self,
        _raw: RawRecord,
        _events: Vec<CallEvent>,
    ) -> Result<Accepted, SinkError> {
        Ok(Accepted::default())
    }

    async fn reject(&self, _rejected: RejectedRequest) {}
}

async fn check_listener_bind(cfg: &ListenerConfig, limit: Duration) -> SelfTestItem {
    if !cfg.enabled {
        return SelfTestItem::pass(LISTENER, "not enabled in the settings; not checked");
    }
    let mut cfg = cfg.clone();
    if cfg.token.is_empty() {
        // Binding is what is checked; the app makes its token on first start.
        cfg.token = generate_token();
    }
    let wanted = format!("{}:{}", cfg.bind, cfg.port);
    let handle = match Listener::start(cfg, Arc::new(DiscardSink)).await {
        Ok(h) => h,
        Err(ListenerError::Bind { addr, source }) => {
            let hint = if source.kind() == std::io::ErrorKind::AddrInUse {
                " (another program uses the port; if the panel is running, stop it or check from its window)"
            } else {
                ""
            };
            return SelfTestItem::fail(
                LISTENER,
                format!("cannot listen on {addr}: {source}{hint}"),
            );
        }
        Err(e) => return SelfTestItem::fail(LISTENER, format!("cannot start on {wanted}: {e}")),
    };
    let addr = handle.local_addr();
    let item = match health(addr, limit).await {
        Ok(status) => SelfTestItem::pass(
            LISTENER,
            format!("listening on {addr} works (/health: HTTP {status}); stopped again"),
        ),
        Err(e) => SelfTestItem::fail(
            LISTENER,
            format!("bound {addr}, but it does not answer: {e}"),
        ),
    };
    let _ = tokio::time::timeout(Duration::from_secs(6), handle.shutdown()).await;
    item
}

/// `GET /health` of a listener at `addr` (an unspecified address is asked on loopback).
async fn health(addr: SocketAddr, limit: Duration) -> Result<u16, String> {
    let ip = match addr.ip() {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    let url = format!("http://{}/health", SocketAddr::new(ip, addr.port()));
    let client = reqwest::Client::builder()
        .timeout(limit)
        .no_proxy()
        .build()
        .map_err(|e| e.to_string())?;
    let reply = client.get(&url).send().await.map_err(|e| e.to_string())?;
    Ok(reply.status().as_u16())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_text_and_verdict() {
        let mut r = SelfTestReport {
            items: vec![
                SelfTestItem::pass(ERA, "connected"),
                SelfTestItem::pass("Desktop notifications", "a notification server answers"),
            ],
        };
        assert!(r.all_ok());
        assert!(r.to_text().ends_with("self-test: all 2 checks passed\n"));
        r.items.push(SelfTestItem::fail(
            LISTENER,
            "cannot listen on 127.0.0.1:1: denied",
        ));
        assert!(!r.all_ok());
        let text = r.to_text();
        assert!(text.contains("[ OK ] Era platform: connected\n"), "{text}");
        assert!(
            text.contains("[FAIL] Webhook listener: cannot listen"),
            "{text}"
        );
        assert!(
            text.ends_with("self-test: 1 of 3 checks failed\n"),
            "{text}"
        );
        assert_eq!(
            serde_json::to_value(&r.items[2]).unwrap(),
            serde_json::json!({"name": "Webhook listener", "ok": false, "detail": "cannot listen on 127.0.0.1:1: denied"})
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_secret_file_others_can_read_is_reported() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("secrets.toml");
        assert!(
            file_usable(&f).is_ok(),
            "a missing file is fine: it is made 0600"
        );
        std::fs::write(&f, "").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = file_usable(&f).unwrap_err();
        assert!(e.contains("chmod 600"), "{e}");
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(file_usable(&f).is_ok());
    }
}
