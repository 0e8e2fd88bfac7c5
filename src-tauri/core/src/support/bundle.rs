//! The support bundle: one `.tar.gz` an agent or admin sends to support.
//!
//! ```text
//! cti-panel-support-20250101-120000/
//!   manifest.json            what is inside, sizes, what was redacted, notes
//!   system.json              app version, OS, architecture, desktop session, paths
//!   config.toml              the effective configuration, secrets removed
//!   config-sources.json      provisioning file, user file, locked keys, warnings (if known)
//!   era-frames.json          the last Era WebSocket frames (as the engine kept them)
//!   listener-requests.json   the last webhook listener requests and replies
//!   extra/<name>.json        anything else the caller adds (the self-test report…)
//!   logs/<file>              the newest log files (tails of the big ones)
//! ```
//!
//! Every file passes through the [`Redactor`] before it is written.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::redact::Redactor;
use super::selftest::SelfTestReport;
use super::SupportError;
use crate::config::{Config, Loaded};
use crate::secrets::SecretStore;

/// File name ending of a support bundle.
pub const BUNDLE_SUFFIX: &str = ".tar.gz";

/// How much goes into a bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleLimits {
    /// Most log files taken (newest first).
    pub log_files: usize,
    /// Most bytes taken from one log file (its end).
    pub log_file_bytes: u64,
    /// Most log bytes in all.
    pub log_total_bytes: u64,
    /// Most WebSocket frames kept (the last ones).
    pub ws_frames: usize,
    /// Most listener requests kept (the last ones).
    pub listener_requests: usize,
}

impl Default for BundleLimits {
    fn default() -> Self {
        BundleLimits {
            log_files: 20,
            log_file_bytes: 4 * 1024 * 1024,
            log_total_bytes: 16 * 1024 * 1024,
            ws_frames: 1_000,
            listener_requests: 500,
        }
    }
}

/// Everything a bundle is made of. The engine fills the frames and requests from its
/// inspectors (any JSON shape: `EraEvent::Frame`s, [`crate::hooks::InspectorEntry`]s).
#[derive(Clone)]
pub struct BundleInputs {
    /// The app's version (`env!("CARGO_PKG_VERSION")` of the app package).
    pub app_version: String,
    /// The effective configuration. Secret fields are never serialized; their values (when
    /// filled) are also cut out of every file.
    pub config: Config,
    /// Where the configuration came from (see [`BundleInputs::from_loaded`]).
    pub config_sources: Option<Value>,
    /// The log directory; its newest files go in.
    pub log_dir: Option<PathBuf>,
    /// The last Era WebSocket frames, oldest first.
    pub ws_frames: Vec<Value>,
    /// The last webhook listener requests (with replies), oldest first.
    pub listener_requests: Vec<Value>,
    /// More named JSON documents, written as `extra/<name>.json`.
    pub extra: Vec<(String, Value)>,
    /// More secret values to cut out (e.g. the ones kept in the keyring).
    pub secrets: Vec<String>,
    pub limits: BundleLimits,
}

/// Shows sizes only: the inputs carry secrets.
impl std::fmt::Debug for BundleInputs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BundleInputs")
            .field("app_version", &self.app_version)
            .field("log_dir", &self.log_dir)
            .field("ws_frames", &self.ws_frames.len())
            .field("listener_requests", &self.listener_requests.len())
            .field(
                "extra",
                &self.extra.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .field("secrets", &self.secrets.len())
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl BundleInputs {
    pub fn new(app_version: impl Into<String>, config: Config) -> BundleInputs {
        BundleInputs {
            app_version: app_version.into(),
            config,
            config_sources: None,
            log_dir: None,
            ws_frames: Vec::new(),
            listener_requests: Vec::new(),
            extra: Vec::new(),
            secrets: Vec::new(),
            limits: BundleLimits::default(),
        }
    }

    /// The loaded configuration with its sources: provisioning file, user file, locked keys
    /// and the warnings of loading.
    pub fn from_loaded(app_version: impl Into<String>, loaded: &Loaded) -> BundleInputs {
        let mut inputs = BundleInputs::new(app_version, loaded.config.clone());
        inputs.config_sources = Some(json!({
            "provisioning_file": loaded.provisioning_file.as_ref().map(|p| p.display().to_string()),
            "provisioning_path": crate::config::provisioning_path().display().to_string(),
            "user_file": loaded.user_file.display().to_string(),
            "locked": loaded.locked,
            "warnings": loaded.warnings,
        }));
        inputs
    }

    pub fn with_log_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.log_dir = Some(dir.into());
        self
    }

    pub fn with_ws_frames(mut self, frames: Vec<Value>) -> Self {
        self.ws_frames = frames;
        self
    }

    pub fn with_listener_requests(mut self, requests: Vec<Value>) -> Self {
        self.listener_requests = requests;
        self
    }

    /// One more document, written as `extra/<name>.json`.
    pub fn with_extra(mut self, name: impl Into<String>, value: Value) -> Self {
        self.extra.push((name.into(), value));
        self
    }

    /// The self-test report, written as `extra/self-test.json`.
    pub fn with_self_test(self, report: &SelfTestReport) -> Self {
        let value = serde_json::to_value(report).unwrap_or(Value::Null);
        self.with_extra("self-test", value)
    }

    /// One more secret value to cut out.
    pub fn with_secret(mut self, secret: impl Into<String>) -> Self {
        self.secrets.push(secret.into());
        self
    }

    /// The secrets kept in `store` (Era token, Telphin client secret, listener token), so they
    /// are cut out even where the configuration does not carry them. Unreadable ones are
    /// skipped (and noted in the log).
    pub fn with_stored_secrets(mut self, store: &SecretStore) -> Self {
        use crate::secrets::{ERA_TOKEN, LISTENER_TOKEN, TELPHIN_CLIENT_SECRET};
        for name in [ERA_TOKEN, TELPHIN_CLIENT_SECRET, LISTENER_TOKEN] {
            match store.get(name) {
                Ok(Some(v)) => self.secrets.push(v),
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(secret = name, error = %e, "support bundle: cannot read a secret to redact")
                }
            }
        }
        self
    }
}

/// One file of the bundle, as the manifest lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestEntry {
    /// Path inside the bundle's top directory.
    pub path: String,
    pub bytes: u64,
    pub description: String,
}

/// Where bundles go when the user names no place: the Downloads folder, else the home
/// folder, else the current directory.
pub fn default_output_dir() -> PathBuf {
    directories::UserDirs::new()
        .map(|d| {
            d.download_dir()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| d.home_dir().to_path_buf())
        })
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Write one support bundle and return its path.
///
/// `out` is either a directory (the bundle gets a time-stamped name there) or the file to
/// write. The archive is written to a temporary file beside it and renamed into place; on
/// Unix it is readable by its owner only (it holds logs with phone numbers).
pub fn write_bundle(out: &Path, inputs: BundleInputs) -> Result<PathBuf, SupportError> {
    let now = chrono::Local::now();
    let path = if out.is_dir() {
        out.join(format!(
            "cti-panel-support-{}{BUNDLE_SUFFIX}",
            now.format("%Y%m%d-%H%M%S")
        ))
    } else {
        out.to_path_buf()
    };
    let top = top_dir_name(&path);

    let mut redactor = Redactor::from_config(&inputs.config);
    for s in &inputs.secrets {
        redactor.add(s);
    }
    let files = collect(&inputs, &redactor, now)?;

    let write_err = |source| SupportError::Write {
        path: path.display().to_string(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(write_err)?;
    }
    let mut tmp_name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    tmp_name.push(".part");
    let tmp = path.with_file_name(tmp_name);
    let written = write_archive(&tmp, &top, &files, now.timestamp())
        .and_then(|()| std::fs::rename(&tmp, &path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(write_err(e));
    }
    tracing::info!(path = %path.display(), files = files.len(), "support bundle written");
    Ok(path)
}

/// `cti-panel-support-…` from `…/cti-panel-support-….tar.gz`.
fn top_dir_name(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = name
        .strip_suffix(BUNDLE_SUFFIX)
        .or_else(|| name.strip_suffix(".tgz"))
        .unwrap_or(&name);
    let clean = safe_name(stem);
    if clean.is_empty() {
        "cti-panel-support".into()
    } else {
        clean
    }
}

/// A file-name-safe version of `name` (letters, digits, `-`, `_`, `.`).
fn safe_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect::<String>()
        .trim_start_matches('.')
        .to_string()
}

struct BundleFile {
    path: String,
    bytes: Vec<u8>,
    description: String,
}

fn serialize_err(what: &str, e: impl std::fmt::Display) -> SupportError {
    SupportError::Serialize {
        what: what.to_string(),
        message: e.to_string(),
    }
}

fn json_file(
    path: &str,
    description: &str,
    value: &Value,
    redactor: &Redactor,
) -> Result<BundleFile, SupportError> {
    let text = serde_json::to_string_pretty(value).map_err(|e| serialize_err(path, e))?;
    // The values were redacted already; this pass catches what serializing escaped anew.
    let text = redactor.text(&text);
    Ok(BundleFile {
        path: path.to_string(),
        bytes: (text + "\n").into_bytes(),
        description: description.to_string(),
    })
}

/// The last `limit` items, each redacted.
fn last_redacted(items: &[Value], limit: usize, redactor: &Redactor) -> (Value, usize) {
    let skip = items.len().saturating_sub(limit);
    let kept: Vec<Value> = items[skip..]
        .iter()
        .map(|v| {
            let mut v = v.clone();
            redactor.json(&mut v);
            v
        })
        .collect();
    (Value::Array(kept), skip)
}

fn collect(
    inputs: &BundleInputs,
    redactor: &Redactor,
    now: chrono::DateTime<chrono::Local>,
) -> Result<Vec<BundleFile>, SupportError> {
    let mut files = Vec::new();
    let mut notes: Vec<String> = Vec::new();

    files.push(json_file(
        "system.json",
        "app version, operating system, desktop session, standard paths",
        &system_info(&inputs.app_version, now),
        redactor,
    )?);

    let mut config =
        toml::Value::try_from(&inputs.config).map_err(|e| serialize_err("the configuration", e))?;
    redactor.toml(&mut config);
    let text =
        toml::to_string_pretty(&config).map_err(|e| serialize_err("the configuration", e))?;
    let header =
        "# Effective configuration of the CTI panel (defaults, provisioning file, user file,\n\
                  # environment), with every secret removed.\n";
    files.push(BundleFile {
        path: "config.toml".into(),
        bytes: format!("{header}{}", redactor.text(&text)).into_bytes(),
        description: "effective configuration, secrets removed".into(),
    });

    if let Some(sources) = &inputs.config_sources {
        let mut sources = sources.clone();
        redactor.json(&mut sources);
        files.push(json_file(
            "config-sources.json",
            "provisioning file, user file, locked keys, load warnings",
            &sources,
            redactor,
        )?);
    }

    let (frames, dropped) = last_redacted(&inputs.ws_frames, inputs.limits.ws_frames, redactor);
    if dropped > 0 {
        notes.push(format!("{dropped} older WebSocket frames left out"));
    }
    files.push(json_file(
        "era-frames.json",
        "last Era WebSocket frames, oldest first",
        &frames,
        redactor,
    )?);
    let (requests, dropped) = last_redacted(
        &inputs.listener_requests,
        inputs.limits.listener_requests,
        redactor,
    );
    if dropped > 0 {
        notes.push(format!("{dropped} older listener requests left out"));
    }
    files.push(json_file(
        "listener-requests.json",
        "last webhook listener requests and replies, oldest first",
        &requests,
        redactor,
    )?);

    for (i, (name, value)) in inputs.extra.iter().enumerate() {
        let mut value = value.clone();
        redactor.json(&mut value);
        let mut clean = safe_name(name);
        if clean.is_empty() {
            clean = format!("extra-{i}");
        }
        files.push(json_file(
            &format!("extra/{clean}.json"),
            &format!("{name} (added by the app)"),
            &value,
            redactor,
        )?);
    }

    match &inputs.log_dir {
        Some(dir) => files.extend(log_files(dir, &inputs.limits, redactor, &mut notes)?),
        None => notes.push("no log directory given".into()),
    }

    let entries: Vec<ManifestEntry> = files
        .iter()
        .map(|f| ManifestEntry {
            path: f.path.clone(),
            bytes: f.bytes.len() as u64,
            description: f.description.clone(),
        })
        .collect();
    let manifest = json!({
        "format": 1,
        "app": "cti-panel",
        "app_version": inputs.app_version,
        "created": now.to_rfc3339(),
        "files": entries,
        "redaction": {
            "known_secret_values": redactor.known_secrets(),
            "replacements": redactor.replaced(),
            "rules": [
                "secret fields (tokens, client secret) are never serialized",
                "values under keys containing token, secret, password or authorization are replaced by ***",
                "known secret values (raw, URL- and JSON-escaped) are replaced by *** in every file",
                "values after token=/secret=/password=, 'Bearer ' and the path segment after /hooks/, /ws/user/v1/, /ws/token/v1/ are replaced by ***"
            ],
        },
        "notes": notes,
    });
    let text =
        serde_json::to_string_pretty(&manifest).map_err(|e| serialize_err("the manifest", e))?;
    files.push(BundleFile {
        path: "manifest.json".into(),
        bytes: (text + "\n").into_bytes(),
        description: "this list".into(),
    });
    Ok(files)
}

/// The newest log files of `dir`, their ends when big, redacted.
fn log_files(
    dir: &Path,
    limits: &BundleLimits,
    redactor: &Redactor,
    notes: &mut Vec<String>,
) -> Result<Vec<BundleFile>, SupportError> {
    let read_err = |path: &Path, source| SupportError::Read {
        path: path.display().to_string(),
        source,
    };
    let listing = match std::fs::read_dir(dir) {
        Ok(l) => l,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            notes.push(format!("log directory {} does not exist", dir.display()));
            return Ok(Vec::new());
        }
        Err(e) => return Err(read_err(dir, e)),
    };
    let mut found = Vec::new();
    for entry in listing {
        let entry = entry.map_err(|e| read_err(dir, e))?;
        let path = entry.path();
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        let name = entry.file_name().to_string_lossy().into_owned();
        if !meta.is_file() || name.to_ascii_lowercase().contains("secret") {
            continue;
        }
        let modified = meta.modified().unwrap_or(std::time::UNIX_EPOCH);
        found.push((modified, name, path, meta.len()));
    }
    found.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    if found.len() > limits.log_files {
        notes.push(format!(
            "{} older log files left out",
            found.len() - limits.log_files
        ));
        found.truncate(limits.log_files);
    }

    let mut budget = limits.log_total_bytes;
    let mut out = Vec::new();
    for (_, name, path, len) in found {
        if budget == 0 {
            notes.push(format!("log {name} left out (size limit)"));
            continue;
        }
        let take = len.min(limits.log_file_bytes).min(budget);
        let mut f = File::open(&path).map_err(|e| read_err(&path, e))?;
        f.seek(SeekFrom::Start(len - take))
            .map_err(|e| read_err(&path, e))?;
        let mut raw = Vec::new();
        f.take(take)
            .read_to_end(&mut raw)
            .map_err(|e| read_err(&path, e))?;
        budget = budget.saturating_sub(raw.len() as u64);
        let mut text = String::from_utf8_lossy(&raw).into_owned();
        let mut description = "log file".to_string();
        if take < len {
            // Start at a whole line.
            if let Some(p) = text.find('\n') {
                text.drain(..=p);
            }
            description = format!("last {} bytes of a {len}-byte log file", text.len());
            notes.push(format!("log {name} cut to its last {take} bytes"));
        }
        out.push(BundleFile {
            path: format!("logs/{}", safe_name(&name)),
            bytes: redactor.text(&text).into_bytes(),
            description,
        });
    }
    Ok(out)
}

/// Version, OS, session and paths. Values of `CTI_PANEL_*` variables are left out (they may
/// carry secrets); their names are listed.
fn system_info(app_version: &str, now: chrono::DateTime<chrono::Local>) -> Value {
    let env = |k: &str| std::env::var(k).ok();
    let mut overrides: Vec<String> = std::env::vars_os()
        .filter_map(|(k, _)| k.into_string().ok())
        .filter(|k| k.starts_with("CTI_PANEL_"))
        .collect();
    overrides.sort();
    json!({
        "app_version": app_version,
        "core_version": env!("CARGO_PKG_VERSION"),
        "os": std::env::consts::OS,
        "os_family": std::env::consts::FAMILY,
        "arch": std::env::consts::ARCH,
        "os_release": os_release(),
        "kernel": std::fs::read_to_string("/proc/sys/kernel/osrelease").ok().map(|s| s.trim().to_string()),
        "desktop": env("XDG_CURRENT_DESKTOP"),
        "session_type": env("XDG_SESSION_TYPE"),
        "display": env("DISPLAY").is_some() || env("WAYLAND_DISPLAY").is_some(),
        "dbus_session": env("DBUS_SESSION_BUS_ADDRESS").is_some(),
        "lang": env("LANG").or_else(|| env("LC_ALL")),
        "local_time": now.to_rfc3339(),
        "utc_offset_secs": now.offset().local_minus_utc(),
        "env_overrides": overrides,
        "paths": {
            "provisioning_file": crate::config::provisioning_path().display().to_string(),
            "user_config": crate::config::default_user_file().display().to_string(),
            "data_dir": crate::config::default_data_dir().display().to_string(),
            "log_dir": crate::config::default_log_dir().display().to_string(),
        },
    })
}

/// `PRETTY_NAME` of `/etc/os-release` (Linux), if any.
fn os_release() -> Option<String> {
    let text = std::fs::read_to_string("/etc/os-release")
        .or_else(|_| std::fs::read_to_string("/usr/lib/os-release"))
        .ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|v| v.trim().trim_matches('"').to_string())
}

fn write_archive(path: &Path, top: &str, files: &[BundleFile], mtime: i64) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let file = opts.open(path)?;
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    for f in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(f.bytes.len() as u64);
        header.set_mode(0o600);
        header.set_mtime(u64::try_from(mtime).unwrap_or(0));
        header.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut header, format!("{top}/{}", f.path), f.bytes.as_slice())?;
    }
    let gz = tar.into_inner()?;
    let mut file = gz.finish()?;
    file.flush()?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_made_safe() {
        assert_eq!(
            top_dir_name(Path::new("/x/cti-panel-support-1.tar.gz")),
            "cti-panel-support-1"
        );
        assert_eq!(top_dir_name(Path::new("/x/my bundle.tgz")), "my_bundle");
        assert_eq!(top_dir_name(Path::new("/x/..tar.gz")), "cti-panel-support");
        assert_eq!(safe_name("../../etc/passwd"), "_.._etc_passwd");
    }

    #[test]
    fn only_the_last_items_are_kept() {
        let items: Vec<Value> = (0..5).map(|i| json!({ "n": i })).collect();
        let (kept, dropped) = last_redacted(&items, 2, &Redactor::default());
        assert_eq!(dropped, 3);
        assert_eq!(kept, json!([{ "n": 3 }, { "n": 4 }]));
    }
}
