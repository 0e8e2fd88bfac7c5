//! Secrets (Era token, Telphin client secret, listener token) in the OS keyring, with a 0600 file
//! fallback where no keyring service runs (headless Linux, CI).
//!
//! Secrets are never written to the config file, the database, the logs or the support bundle.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::error::{Code, Coded};

const SERVICE: &str = "cti-panel";

/// The secret names the app uses.
pub const ERA_TOKEN: &str = "era.token";
pub const TELPHIN_CLIENT_SECRET: &str = "telphin.client_secret";
pub const LISTENER_TOKEN: &str = "listener.token";

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("keyring: {0}")]
    Keyring(String),
    #[error("secret file {file}: {message}")]
    File { file: String, message: String },
}

impl Coded for SecretError {
    fn code(&self) -> Code {
        Code::Storage
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Keyring,
    File,
}

/// Reads and writes secrets in the chosen backend.
#[derive(Debug, Clone)]
pub struct SecretStore {
    backend: Backend,
    file: PathBuf,
}

impl SecretStore {
    /// `backend`: `auto` probes the keyring and falls back to the file; `keyring`; `file`.
    pub fn open(backend: &str, file: PathBuf) -> SecretStore {
        let backend = match backend {
            "file" => Backend::File,
            "keyring" => Backend::Keyring,
            _ => {
                if keyring_works() {
                    Backend::Keyring
                } else {
                    tracing::info!(file = %file.display(), "no OS keyring available; secrets go to a 0600 file");
                    Backend::File
                }
            }
        };
        SecretStore { backend, file }
    }

    /// Default secret file next to the user config.
    pub fn default_file() -> PathBuf {
        crate::config::default_user_file().with_file_name("secrets.toml")
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn get(&self, name: &str) -> Result<Option<String>, SecretError> {
        match self.backend {
            Backend::Keyring => {
                let entry = keyring::Entry::new(SERVICE, name)
                    .map_err(|e| SecretError::Keyring(e.to_string()))?;
                match entry.get_password() {
                    Ok(s) => Ok(Some(s)),
                    Err(keyring::Error::NoEntry) => Ok(None),
                    Err(e) => Err(SecretError::Keyring(e.to_string())),
                }
            }
            Backend::File => Ok(self.read_file()?.remove(name)),
        }
    }

    pub fn set(&self, name: &str, value: &str) -> Result<(), SecretError> {
        match self.backend {
            Backend::Keyring => keyring::Entry::new(SERVICE, name)
                .and_then(|e| e.set_password(value))
                .map_err(|e| SecretError::Keyring(e.to_string())),
            Backend::File => {
                let mut all = self.read_file()?;
                all.insert(name.to_string(), value.to_string());
                self.write_file(&all)
            }
        }
    }

    pub fn delete(&self, name: &str) -> Result<(), SecretError> {
        match self.backend {
            Backend::Keyring => {
                match keyring::Entry::new(SERVICE, name).and_then(|e| e.delete_credential()) {
                    Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
                    Err(e) => Err(SecretError::Keyring(e.to_string())),
                }
            }
            Backend::File => {
                let mut all = self.read_file()?;
                if all.remove(name).is_some() {
                    self.write_file(&all)?;
                }
                Ok(())
            }
        }
    }

    fn file_err(&self, e: impl ToString) -> SecretError {
        SecretError::File {
            file: self.file.display().to_string(),
            message: e.to_string(),
        }
    }

    fn read_file(&self) -> Result<BTreeMap<String, String>, SecretError> {
        match std::fs::read_to_string(&self.file) {
            Ok(t) => toml::from_str(&t).map_err(|e| self.file_err(e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
            Err(e) => Err(self.file_err(e)),
        }
    }

    fn write_file(&self, all: &BTreeMap<String, String>) -> Result<(), SecretError> {
        use std::io::Write;
        let text = toml::to_string(all).map_err(|e| self.file_err(e))?;
        if let Some(dir) = self.file.parent() {
            std::fs::create_dir_all(dir).map_err(|e| self.file_err(e))?;
        }
        let tmp = self.file.with_extension("tmp");
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp).map_err(|e| self.file_err(e))?;
        f.write_all(text.as_bytes())
            .and_then(|_| f.sync_all())
            .map_err(|e| self.file_err(e))?;
        std::fs::rename(&tmp, &self.file).map_err(|e| self.file_err(e))
    }
}

/// True when the OS keyring accepts a write/read/delete round-trip.
fn keyring_works() -> bool {
    let probe = || -> keyring::Result<bool> {
        let e = keyring::Entry::new(SERVICE, "probe")?;
        e.set_password("probe")?;
        let ok = e.get_password()? == "probe";
        let _ = e.delete_credential();
        Ok(ok)
    };
    probe().unwrap_or(false)
}

/// Fill the secret fields of `config` from the store, keeping values the files already set
/// (a provisioning file may carry a token) and moving those into the store.
pub fn fill(config: &mut crate::config::Config, store: &SecretStore) -> Result<(), SecretError> {
    fill_one(&mut config.era.token, ERA_TOKEN, store)?;
    fill_one(
        &mut config.telphin.client_secret,
        TELPHIN_CLIENT_SECRET,
        store,
    )?;
    fill_one(&mut config.listener.token, LISTENER_TOKEN, store)?;
    Ok(())
}

fn fill_one(field: &mut String, name: &str, store: &SecretStore) -> Result<(), SecretError> {
    if field.is_empty() {
        if let Some(v) = store.get(name)? {
            *field = v;
        }
    } else if store.get(name)?.as_deref() != Some(field.as_str()) {
        store.set(name, field)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_backend_round_trips_with_0600() {
        let d = tempfile::tempdir().unwrap();
        let s = SecretStore::open("file", d.path().join("s/secrets.toml"));
        assert_eq!(s.get(ERA_TOKEN).unwrap(), None);
        s.set(ERA_TOKEN, "abc\"def").unwrap();
        s.set(LISTENER_TOKEN, "xyz").unwrap();
        assert_eq!(s.get(ERA_TOKEN).unwrap().as_deref(), Some("abc\"def"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(d.path().join("s/secrets.toml"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        s.delete(ERA_TOKEN).unwrap();
        assert_eq!(s.get(ERA_TOKEN).unwrap(), None);
        assert_eq!(s.get(LISTENER_TOKEN).unwrap().as_deref(), Some("xyz"));
    }

    #[test]
    fn damaged_secret_file_is_an_error_not_empty() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("secrets.toml");
        std::fs::write(&p, "not = [toml").unwrap();
        let s = SecretStore::open("file", p);
        assert!(s.get(ERA_TOKEN).is_err());
    }
}
