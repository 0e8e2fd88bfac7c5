//! What admins and support need from a running (or broken) installation.
//!
//! - [`write_bundle`]: one `.tar.gz` **support bundle** with the logs, the effective
//!   configuration with every secret removed, version and OS information, the last Era
//!   WebSocket frames and listener requests, and a manifest. Secrets are removed three ways:
//!   secret fields are never serialized, values under keys that mention a token, secret or
//!   password are replaced, and every known secret value (raw and URL-encoded) is cut out of
//!   every file, logs included ([`Redactor`]).
//! - [`self_test`]: the **self-test**: reaches each enabled platform and signs in (Era: opens
//!   the WebSocket session and waits until it is connected and subscribed; Telphin: gets an
//!   OAuth token), binds the webhook listener and asks its `/health`, checks the secret
//!   storage (OS keyring or the 0600 file), and reports each result in plain words
//!   ([`SelfTestReport`]). Checks the core cannot do (desktop notifications live in the
//!   shell) come in as [`SelfTestOptions::extra`] items.
//!
//! ```no_run
//! # async fn demo() -> Result<(), cti_core::support::SupportError> {
//! use cti_core::support::{self, BundleInputs, SelfTestOptions};
//! let loaded = cti_core::config::load(None).map_err(|e| support::SupportError::Input(e.to_string()))?;
//! let report = support::self_test(&loaded.config, SelfTestOptions::default()).await;
//! print!("{}", report.to_text());
//! let inputs = BundleInputs::new(env!("CARGO_PKG_VERSION"), loaded.config.clone())
//!     .with_log_dir(cti_core::config::default_log_dir())
//!     .with_self_test(&report);
//! let path = support::write_bundle(&support::default_output_dir(), inputs)?;
//! println!("support bundle written to {}", path.display());
//! # Ok(()) }
//! ```

mod bundle;
mod redact;
mod selftest;

pub use bundle::{
    default_output_dir, write_bundle, BundleInputs, BundleLimits, ManifestEntry, BUNDLE_SUFFIX,
};
pub use redact::{is_secret_key, Redactor, REDACTED};
pub use selftest::{self_test, ListenerCheck, SelfTestItem, SelfTestOptions, SelfTestReport};

use crate::error::{Code, Coded};

/// Why a support bundle could not be written.
#[derive(Debug, thiserror::Error)]
pub enum SupportError {
    #[error("cannot write the support bundle {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot read {path} for the support bundle: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot serialize {what} for the support bundle: {message}")]
    Serialize { what: String, message: String },
    #[error("support bundle input: {0}")]
    Input(String),
}

impl Coded for SupportError {
    fn code(&self) -> Code {
        match self {
            SupportError::Write { .. } | SupportError::Read { .. } => Code::Storage,
            SupportError::Serialize { .. } => Code::Internal,
            SupportError::Input(_) => Code::InvalidInput,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_carry_ui_codes_and_name_the_file() {
        let e = SupportError::Write {
            path: "/x/b.tar.gz".into(),
            source: std::io::Error::from(std::io::ErrorKind::PermissionDenied),
        };
        assert_eq!(e.code(), Code::Storage);
        assert!(e.to_string().contains("/x/b.tar.gz"));
        assert_eq!(SupportError::Input("x".into()).code(), Code::InvalidInput);
    }
}
