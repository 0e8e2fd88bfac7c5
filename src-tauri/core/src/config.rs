//! Layered TOML configuration.
//!
//! Layers, lowest first:
//! 1. built-in defaults;
//! 2. the admin **provisioning file** (system-wide, see [`provisioning_path`]); its `locked` list
//!    names keys (`"listener.port"`, or a whole section `"era"`) that later layers cannot change;
//! 3. the **user file** (`config.toml` in the platform config dir, or `--config FILE`);
//! 4. **environment overrides** `CTI_PANEL_<SECTION>__<KEY>=value` (e.g. `CTI_PANEL_LISTENER__PORT=9000`).
//!
//! Secrets (Era token, Telphin client secret, listener token) never live in a file we write: they
//! go to the OS keyring, see [`crate::secrets`]. Errors name the file, the key and what is wrong.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::error::{Code, Coded};

/// The application's whole configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub era: crate::era::EraConfig,
    pub telphin: crate::telphin::TelphinConfig,
    pub listener: crate::hooks::ListenerConfig,
    pub history: crate::history::HistoryConfig,
    pub ui: UiConfig,
    pub storage: StorageConfig,
    pub team: TeamConfig,
    pub secrets: SecretsConfig,
    /// Keys locked by the provisioning file (only meaningful there; ignored in the user file).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub locked: Vec<String>,
}

/// Who uses the panel: decides which views show.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum Role {
    #[default]
    Agent,
    Supervisor,
}

/// Presentation and desktop-integration settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(default, deny_unknown_fields)]
#[ts(export)]
pub struct UiConfig {
    /// `auto` (from the OS locale), `ru` or `en`.
    pub language: String,
    /// `system`, `light` or `dark`.
    pub theme: String,
    pub role: Role,
    /// Desktop notifications for incoming calls, park-return warnings and IVR offers.
    pub notifications: bool,
    /// Start with the window hidden in the tray.
    pub start_minimised: bool,
    /// Start with the desktop session.
    pub autostart: bool,
    /// Global shortcut to answer the ringing call.
    pub shortcut_answer: String,
    /// Global shortcut to hang up the active call.
    pub shortcut_hangup: String,
    /// Global shortcut to focus the dial field.
    pub shortcut_dial: String,
    /// Seconds before a parked call returns at which a warning is shown.
    pub park_warning_secs: u32,
}

impl Default for UiConfig {
    fn default() -> Self {
        UiConfig {
            language: "auto".into(),
            theme: "system".into(),
            role: Role::Agent,
            notifications: true,
            start_minimised: false,
            autostart: false,
            shortcut_answer: "CommandOrControl+Alt+A".into(),
            shortcut_hangup: "CommandOrControl+Alt+H".into(),
            shortcut_dial: "CommandOrControl+Alt+D".into(),
            park_warning_secs: 30,
        }
    }
}

/// The supervisor's team (see the team view).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TeamConfig {
    /// Telphin extension ids of the team; empty = the agent's own `telphin.extension_ids`.
    pub extensions: Vec<String>,
    /// The number that rings when the supervisor eavesdrops, whispers, conferences in or picks
    /// up (`send_dst`); default: the agent's own extension.
    pub own_number: Option<String>,
    /// Seconds between team-view refreshes.
    pub refresh_secs: u32,
    /// Other panels of the team that share the callback list: their listener `team` URLs
    /// (`http://host:port/hooks/<token>/team`).
    pub peers: Vec<String>,
}

impl Default for TeamConfig {
    fn default() -> Self {
        TeamConfig {
            extensions: Vec::new(),
            own_number: None,
            refresh_secs: 10,
            peers: Vec::new(),
        }
    }
}

/// Where the app keeps its data.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageConfig {
    /// Directory of the history database; default: the platform data dir
    /// (`~/.local/share/cti-panel` on Linux).
    pub data_dir: Option<String>,
}

/// Where secrets are kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SecretsConfig {
    /// `auto` (OS keyring, falling back to a 0600 file), `keyring` or `file`.
    pub backend: String,
}

impl Default for SecretsConfig {
    fn default() -> Self {
        SecretsConfig {
            backend: "auto".into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config error in {file}: {message}")]
    Parse { file: String, message: String },
    #[error("config error in {file}: key `{key}`: {message}")]
    Key {
        file: String,
        key: String,
        message: String,
    },
    #[error("cannot read {file}: {message}")]
    Io { file: String, message: String },
    #[error("key `{key}` is locked by the administrator ({file})")]
    Locked { key: String, file: String },
}

impl Coded for ConfigError {
    fn code(&self) -> Code {
        Code::Config
    }
}

/// The result of loading: the effective config plus where it came from.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    pub user_file: PathBuf,
    pub provisioning_file: Option<PathBuf>,
    /// Locked keys (from the provisioning file).
    pub locked: BTreeSet<String>,
    /// Non-fatal findings, e.g. a user setting ignored because its key is locked.
    pub warnings: Vec<String>,
}

impl Loaded {
    pub fn is_locked(&self, key: &str) -> bool {
        is_locked(&self.locked, key)
    }
}

fn is_locked(locked: &BTreeSet<String>, key: &str) -> bool {
    locked
        .iter()
        .any(|l| key == l || key.starts_with(&format!("{l}.")))
}

/// Platform directories of the app.
pub fn project_dirs() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("ru", "cti-panel", "cti-panel")
}

/// Default user config file: `<config dir>/config.toml`.
pub fn default_user_file() -> PathBuf {
    project_dirs()
        .map(|d| d.config_dir().join("config.toml"))
        .unwrap_or_else(|| PathBuf::from("cti-panel.toml"))
}

/// Default data directory (history database).
pub fn default_data_dir() -> PathBuf {
    project_dirs()
        .map(|d| d.data_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Default log directory.
pub fn default_log_dir() -> PathBuf {
    #[cfg(target_os = "macos")]
    if let Some(home) = directories::BaseDirs::new() {
        return home.home_dir().join("Library/Logs/cti-panel");
    }
    default_data_dir().join("logs")
}

/// The system-wide provisioning file: Linux `/etc/cti-panel/provisioning.toml`, macOS
/// `/Library/Application Support/cti-panel/provisioning.toml`, Windows
/// `%ProgramData%\cti-panel\provisioning.toml`. `CTI_PANEL_PROVISIONING` overrides the path.
pub fn provisioning_path() -> PathBuf {
    if let Ok(p) = std::env::var("CTI_PANEL_PROVISIONING") {
        return PathBuf::from(p);
    }
    #[cfg(target_os = "windows")]
    {
        let base = std::env::var("ProgramData").unwrap_or_else(|_| r"C:\ProgramData".into());
        PathBuf::from(base)
            .join("cti-panel")
            .join("provisioning.toml")
    }
    #[cfg(target_os = "macos")]
    {
        PathBuf::from("/Library/Application Support/cti-panel/provisioning.toml")
    }
    #[cfg(not(any(target_os = "windows", target_os = "macos")))]
    {
        PathBuf::from("/etc/cti-panel/provisioning.toml")
    }
}

fn read_table(path: &Path) -> Result<Option<toml::Table>, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(ConfigError::Io {
                file: path.display().to_string(),
                message: e.to_string(),
            })
        }
    };
    let table: toml::Table = toml::from_str(&text).map_err(|e| ConfigError::Parse {
        file: path.display().to_string(),
        message: e.to_string().trim().replace('\n', " "),
    })?;
    // Check the layer on its own so a type error names this file and the key.
    check_layer(&table, &path.display().to_string())?;
    Ok(Some(table))
}

/// Deserialize one layer alone into [`Config`] to report errors with the file and key path.
fn check_layer(table: &toml::Table, file: &str) -> Result<(), ConfigError> {
    let value = toml::Value::Table(table.clone());
    let r: Result<Config, _> = serde_path_to_error::deserialize(value);
    r.map(|_| ()).map_err(|e| ConfigError::Key {
        file: file.to_string(),
        key: e.path().to_string(),
        message: e.inner().to_string(),
    })
}

/// Deep-merge `over` into `base`, skipping locked keys (reported in `skipped`).
fn merge(
    base: &mut toml::Table,
    over: &toml::Table,
    prefix: &str,
    locked: &BTreeSet<String>,
    skipped: &mut Vec<String>,
) {
    for (k, v) in over {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        if key == "locked" {
            continue;
        }
        match (base.get_mut(k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => {
                merge(b, o, &key, locked, skipped)
            }
            _ => {
                if is_locked(locked, &key) {
                    skipped.push(key);
                } else {
                    base.insert(k.clone(), v.clone());
                }
            }
        }
    }
}

/// Set `a.b.c = value` in a table, creating intermediate tables.
pub fn set_path_in(table: &mut toml::Table, key: &str, value: toml::Value) {
    set_path(table, key, value)
}

fn set_path(table: &mut toml::Table, key: &str, value: toml::Value) {
    let mut parts: Vec<&str> = key.split('.').collect();
    let Some(last) = parts.pop() else { return };
    let mut cur = table;
    for p in parts {
        let entry = cur
            .entry(p.to_string())
            .or_insert_with(|| toml::Value::Table(Default::default()));
        if !entry.is_table() {
            *entry = toml::Value::Table(Default::default());
        }
        let Some(t) = entry.as_table_mut() else {
            return;
        };
        cur = t;
    }
    cur.insert(last.to_string(), value);
}

/// Parse an environment value as a TOML value (number, bool, array…) or else a string.
fn env_value(raw: &str) -> toml::Value {
    let doc = format!("v = {raw}");
    match toml::from_str::<toml::Table>(&doc) {
        Ok(mut t) => t
            .remove("v")
            .unwrap_or_else(|| toml::Value::String(raw.to_string())),
        Err(_) => toml::Value::String(raw.to_string()),
    }
}

/// Load the configuration from the standard places (or `user_file` when given).
pub fn load(user_file: Option<&Path>) -> Result<Loaded, ConfigError> {
    let env: Vec<(String, String)> = std::env::vars().collect();
    load_from(
        &provisioning_path(),
        user_file
            .map(Path::to_path_buf)
            .unwrap_or_else(default_user_file),
        &env,
    )
}

/// Load with explicit paths and environment (testable).
pub fn load_from(
    provisioning: &Path,
    user_file: PathBuf,
    env: &[(String, String)],
) -> Result<Loaded, ConfigError> {
    let defaults = toml::Table::try_from(Config::default()).map_err(|e| ConfigError::Parse {
        file: "<defaults>".into(),
        message: e.to_string(),
    })?;
    let mut merged = defaults;
    let mut locked = BTreeSet::new();
    let mut warnings = Vec::new();
    let no_locks = BTreeSet::new();
    let mut provisioning_file = None;

    if let Some(admin) = read_table(provisioning)? {
        if let Some(list) = admin.get("locked").and_then(|v| v.as_array()) {
            locked.extend(list.iter().filter_map(|v| v.as_str().map(str::to_string)));
        }
        let mut skipped = Vec::new();
        merge(&mut merged, &admin, "", &no_locks, &mut skipped);
        provisioning_file = Some(provisioning.to_path_buf());
    }
    let admin_name = provisioning.display().to_string();

    if let Some(user) = read_table(&user_file)? {
        let mut skipped = Vec::new();
        merge(&mut merged, &user, "", &locked, &mut skipped);
        for key in skipped {
            warnings.push(format!(
                "{}: `{key}` ignored, locked by the administrator ({admin_name})",
                user_file.display()
            ));
        }
    }

    let mut env_layer = toml::Table::new();
    for (name, raw) in env {
        let Some(rest) = name.strip_prefix("CTI_PANEL_") else {
            continue;
        };
        if !rest.contains("__") {
            continue; // CTI_PANEL_PROVISIONING and the like are not config keys
        }
        let key = rest.to_ascii_lowercase().replace("__", ".");
        set_path(&mut env_layer, &key, env_value(raw));
    }
    if !env_layer.is_empty() {
        check_layer(&env_layer, "environment (CTI_PANEL_*)")?;
        let mut skipped = Vec::new();
        merge(&mut merged, &env_layer, "", &locked, &mut skipped);
        for key in skipped {
            warnings.push(format!(
                "environment override of `{key}` ignored, locked ({admin_name})"
            ));
        }
    }

    let value = toml::Value::Table(merged);
    let config: Config = serde_path_to_error::deserialize(value).map_err(|e| ConfigError::Key {
        file: "merged configuration".into(),
        key: e.path().to_string(),
        message: e.inner().to_string(),
    })?;
    Ok(Loaded {
        config,
        user_file,
        provisioning_file,
        locked,
        warnings,
    })
}

/// Keys whose values are secrets: they live in the OS keyring (see [`crate::secrets`]), never in
/// a file this module writes.
pub const SECRET_KEYS: &[&str] = &["era.token", "telphin.client_secret", "listener.token"];

/// True for a secret key or a table that contains one (`era`, whose `token` would be written).
pub fn is_secret_key(key: &str) -> bool {
    SECRET_KEYS.contains(&key)
}

/// Change one key in the user file (atomically: write a temp file, then rename).
/// Refuses locked keys and secret keys (those go to the keyring). `value` is validated by
/// re-loading the resulting layer.
pub fn set_user_value(loaded: &Loaded, key: &str, value: toml::Value) -> Result<(), ConfigError> {
    let writes_secret = is_secret_key(key)
        || value
            .as_table()
            .is_some_and(|t| t.keys().any(|k| is_secret_key(&format!("{key}.{k}"))));
    if writes_secret {
        return Err(ConfigError::Key {
            file: loaded.user_file.display().to_string(),
            key: key.to_string(),
            message: "secrets are kept in the OS keyring, never in the config file".into(),
        });
    }
    if loaded.is_locked(key) {
        return Err(ConfigError::Locked {
            key: key.to_string(),
            file: loaded
                .provisioning_file
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
        });
    }
    let path = &loaded.user_file;
    let mut table = read_table(path)?.unwrap_or_default();
    set_path(&mut table, key, value);
    check_layer(&table, &path.display().to_string())?;
    let text = toml::to_string_pretty(&table).map_err(|e| ConfigError::Parse {
        file: path.display().to_string(),
        message: e.to_string(),
    })?;
    write_atomic(path, text.as_bytes()).map_err(|e| ConfigError::Io {
        file: path.display().to_string(),
        message: e.to_string(),
    })
}

/// Write a file atomically (temp file in the same directory, fsync, rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("tmp");
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn defaults_load_without_files() {
        let d = tempfile::tempdir().unwrap();
        let l = load_from(&d.path().join("none.toml"), d.path().join("user.toml"), &[]).unwrap();
        assert_eq!(l.config, Config::default());
        assert_eq!(l.config.listener.bind, "127.0.0.1");
    }

    #[test]
    fn locked_keys_beat_user_file_and_env() {
        let d = tempfile::tempdir().unwrap();
        let admin = write(
            d.path(),
            "prov.toml",
            "locked = [\"listener.port\", \"ui\"]\n[listener]\nport = 9100\n[ui]\nlanguage = \"ru\"\n",
        );
        let user = write(
            d.path(),
            "user.toml",
            "[listener]\nport = 9999\nbind = \"127.0.0.2\"\n[ui]\nlanguage = \"en\"\n",
        );
        let env = vec![("CTI_PANEL_LISTENER__PORT".to_string(), "7000".to_string())];
        let l = load_from(&admin, user, &env).unwrap();
        assert_eq!(l.config.listener.port, 9100);
        assert_eq!(
            l.config.listener.bind, "127.0.0.2",
            "unlocked user keys still apply"
        );
        assert_eq!(l.config.ui.language, "ru");
        assert_eq!(l.warnings.len(), 3, "{:?}", l.warnings);
        assert!(l.is_locked("ui.theme"));
        assert!(!l.is_locked("listener.bind"));
    }

    #[test]
    fn env_overrides_apply_with_types() {
        let d = tempfile::tempdir().unwrap();
        let env = vec![
            ("CTI_PANEL_LISTENER__PORT".to_string(), "9001".to_string()),
            ("CTI_PANEL_UI__LANGUAGE".to_string(), "en".to_string()),
            ("CTI_PANEL_PROVISIONING".to_string(), "/nowhere".to_string()),
        ];
        let l = load_from(&d.path().join("p"), d.path().join("u"), &env).unwrap();
        assert_eq!(l.config.listener.port, 9001);
        assert_eq!(l.config.ui.language, "en");
    }

    #[test]
    fn errors_name_file_and_key() {
        let d = tempfile::tempdir().unwrap();
        let user = write(
            d.path(),
            "user.toml",
            "[listener]\nport = \"not a number\"\n",
        );
        let e = load_from(&d.path().join("p"), user.clone(), &[]).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("user.toml"), "{msg}");
        assert!(msg.contains("listener.port"), "{msg}");
        let user = write(d.path(), "user2.toml", "[ui]\nlanguag = \"ru\"\n");
        let msg = load_from(&d.path().join("p"), user, &[])
            .unwrap_err()
            .to_string();
        assert!(msg.contains("languag"), "{msg}");
        let user = write(d.path(), "user3.toml", "[ui\n");
        let msg = load_from(&d.path().join("p"), user, &[])
            .unwrap_err()
            .to_string();
        assert!(msg.contains("user3.toml"), "{msg}");
    }

    #[test]
    fn set_user_value_refuses_locked_and_persists_others() {
        let d = tempfile::tempdir().unwrap();
        let admin = write(d.path(), "prov.toml", "locked = [\"ui.language\"]\n");
        let user = d.path().join("sub/user.toml");
        let l = load_from(&admin, user.clone(), &[]).unwrap();
        assert!(matches!(
            set_user_value(&l, "ui.language", toml::Value::String("en".into())),
            Err(ConfigError::Locked { .. })
        ));
        set_user_value(&l, "ui.theme", toml::Value::String("dark".into())).unwrap();
        let l2 = load_from(&admin, user, &[]).unwrap();
        assert_eq!(l2.config.ui.theme, "dark");
        assert!(set_user_value(&l2, "listener.port", toml::Value::String("x".into())).is_err());
        for key in SECRET_KEYS {
            assert!(set_user_value(&l2, key, toml::Value::String("s3cr3t".into())).is_err());
        }
        let mut era = toml::Table::new();
        era.insert("token".into(), toml::Value::String("s3cr3t".into()));
        assert!(set_user_value(&l2, "era", toml::Value::Table(era)).is_err());
        let text = std::fs::read_to_string(l2.user_file).unwrap();
        assert!(!text.contains("s3cr3t"), "{text}");
    }
}
