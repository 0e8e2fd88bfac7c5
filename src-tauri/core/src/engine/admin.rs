//! Support bundle and self-test from the running panel (the CLI has its own entry points).

use std::path::{Path, PathBuf};

use super::{lock, Engine, EngineError};
use crate::support::{
    self, BundleInputs, ListenerCheck, SelfTestItem, SelfTestOptions, SelfTestReport,
};

impl Engine {
    /// Check the platforms, the running listener and secret storage; `extra` items come from the
    /// shell (notifications).
    pub async fn self_test(&self, extra: Vec<SelfTestItem>) -> SelfTestReport {
        let loaded = match self.inner.loaded.read() {
            Ok(l) => l.clone(),
            Err(p) => p.into_inner().clone(),
        };
        let listener = match lock(&self.inner.listener).as_ref() {
            Some(l) => ListenerCheck::Running(l.local_addr()),
            None => ListenerCheck::Skip,
        };
        let options = SelfTestOptions {
            listener,
            secrets_file: Some(loaded.user_file.with_file_name("secrets.toml")),
            extra,
            ..SelfTestOptions::default()
        };
        support::self_test(&self.config(), options).await
    }

    /// Write a support bundle (logs, config without secrets, versions, the last WebSocket frames
    /// and listener requests, a self-test) into `out` (a folder or a file); returns its path.
    pub async fn support_bundle(
        &self,
        out: Option<&Path>,
        extra: Vec<SelfTestItem>,
    ) -> Result<PathBuf, EngineError> {
        let report = self.self_test(extra).await;
        let loaded = match self.inner.loaded.read() {
            Ok(l) => l.clone(),
            Err(p) => p.into_inner().clone(),
        };
        let inspector = self.inspector();
        let frames = inspector["frames"].as_array().cloned().unwrap_or_default();
        let requests = inspector["requests"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let mut inputs = BundleInputs::from_loaded(env!("CARGO_PKG_VERSION"), &loaded)
            .with_log_dir(crate::config::default_log_dir())
            .with_ws_frames(frames)
            .with_listener_requests(requests)
            .with_self_test(&report);
        // The running config's secrets (including in-memory ones, e.g. demo tokens) are cut out.
        let cfg = self.config();
        for s in [
            &cfg.era.token,
            &cfg.telphin.client_secret,
            &cfg.listener.token,
        ] {
            if !s.is_empty() {
                inputs = inputs.with_secret(s.clone());
            }
        }
        let out = out
            .map(Path::to_path_buf)
            .unwrap_or_else(support::default_output_dir);
        support::write_bundle(&out, inputs).map_err(|e| EngineError::Invalid(e.to_string()))
    }
}

impl Engine {
    /// Make a new listener token: stored in the keyring, the listener restarted on it, and the
    /// Telphin event subscriptions re-pointed at the new URL. Returns the new URLs, which the
    /// admin pastes into the platforms (the old ones answer 404 from now on).
    pub async fn regenerate_listener_token(
        &self,
    ) -> Result<crate::hooks::ListenerUrls, EngineError> {
        if self.inner.options.demo {
            return Err(EngineError::Invalid(
                "not in demo mode: the built-in simulator keeps the URLs it was started with"
                    .into(),
            ));
        }
        let token = crate::hooks::generate_token();
        self.set_secret("listener.token", serde_json::Value::String(token))?;
        let old = lock(&self.inner.listener).take();
        if let Some(l) = old {
            l.shutdown().await;
        }
        self.start_listener().await;
        let urls = lock(&self.inner.listener)
            .as_ref()
            .map(|l| l.urls())
            .ok_or_else(|| EngineError::Unavailable("the listener did not restart".into()))?;
        let telphin = lock(&self.inner.platforms)
            .telphin
            .as_ref()
            .map(|t| t.client.clone());
        if let Some(client) = telphin {
            let method = client.config().events_method;
            if let Err(e) = client.ensure_subscriptions(&urls.telphin, method).await {
                tracing::warn!(error = %e, "Telphin subscriptions not re-pointed at the new listener URL");
            }
        }
        Ok(urls)
    }
}
