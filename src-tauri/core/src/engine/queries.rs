//! History and listener queries the UI makes, delegated to their modules.

use std::path::{Path, PathBuf};

use super::{lock, Engine, EngineError, UiEvent};
use crate::history::{CallDetails, CallFilter, CallPage, ExportFormat, Note, PageRequest};
use crate::hooks::{IvrRule, IvrSettings};

impl Engine {
    pub async fn history_list(
        &self,
        filter: CallFilter,
        page: PageRequest,
    ) -> Result<CallPage, EngineError> {
        Ok(self.inner.history.list_calls(filter, page).await?)
    }

    pub async fn history_details(&self, call_id: i64) -> Result<CallDetails, EngineError> {
        Ok(self.inner.history.call_details(call_id).await?)
    }

    pub async fn history_add_note(&self, call_id: i64, body: String) -> Result<Note, EngineError> {
        let body = body.trim().to_string();
        if body.is_empty() {
            return Err(EngineError::Invalid("the note is empty".into()));
        }
        let author = lock(&self.inner.platforms).extension();
        let note = self.inner.history.add_note(call_id, author, body).await?;
        self.emit(UiEvent::HistoryChanged);
        Ok(note)
    }

    pub async fn history_set_disposition(
        &self,
        call_id: i64,
        disposition: Option<String>,
    ) -> Result<(), EngineError> {
        let d = disposition
            .map(|d| d.trim().to_string())
            .filter(|d| !d.is_empty());
        self.inner.history.set_disposition(call_id, d).await?;
        self.emit(UiEvent::HistoryChanged);
        Ok(())
    }

    /// Export to `out` (a file); returns the number of calls written.
    pub fn history_export_to(
        &self,
        filter: &CallFilter,
        format: ExportFormat,
        out: &Path,
    ) -> Result<u64, EngineError> {
        if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| EngineError::Invalid(format!("{}: {e}", dir.display())))?;
        }
        let mut f = std::fs::File::create(out)
            .map_err(|e| EngineError::Invalid(format!("{}: {e}", out.display())))?;
        let n = self.inner.history.export(filter, format, &mut f)?;
        Ok(n)
    }

    /// Export for the UI's button: a file in the user's Downloads (or data) directory.
    pub fn history_export_default(
        &self,
        filter: &CallFilter,
        format: ExportFormat,
    ) -> Result<PathBuf, EngineError> {
        let dir = directories::UserDirs::new()
            .and_then(|u| u.download_dir().map(Path::to_path_buf))
            .unwrap_or_else(crate::config::default_data_dir);
        let ext = match format {
            ExportFormat::Csv => "csv",
            ExportFormat::Json => "json",
        };
        let name = format!(
            "cti-history-{}.{ext}",
            chrono::Local::now().format("%Y%m%d-%H%M%S")
        );
        let path = dir.join(name);
        self.history_export_to(filter, format, &path)?;
        Ok(path)
    }

    pub fn ivr_rules(&self) -> Result<IvrSettings, EngineError> {
        lock(&self.inner.listener)
            .as_ref()
            .map(|l| l.ivr_settings())
            .ok_or_else(|| EngineError::Unavailable("the listener is not running".into()))
    }

    /// Replace the IVR rules (validated; applies to the next request) and save them.
    pub fn set_ivr_rules(&self, settings: IvrSettings) -> Result<IvrSettings, EngineError> {
        {
            let l = lock(&self.inner.listener);
            let l = l
                .as_ref()
                .ok_or_else(|| EngineError::Unavailable("the listener is not running".into()))?;
            l.set_ivr_settings(settings.clone())
                .map_err(|e| EngineError::Invalid(e.to_string()))?;
        }
        let value =
            toml::Value::try_from(&settings).map_err(|e| EngineError::Invalid(e.to_string()))?;
        let loaded = match self.inner.loaded.read() {
            Ok(l) => l.clone(),
            Err(p) => p.into_inner().clone(),
        };
        crate::config::set_user_value(&loaded, "listener.ivr", value)?;
        Ok(settings)
    }

    pub fn preview_rule_xml(&self, rule: &IvrRule) -> String {
        crate::hooks::preview_xml(rule)
    }

    pub fn validate_reply_xml(&self, xml: &str) -> Result<Vec<crate::hooks::Action>, EngineError> {
        crate::hooks::validate_xml(xml).map_err(|e| EngineError::Invalid(e.to_string()))
    }

    /// Re-run a request the inspector recorded.
    pub async fn inspector_replay(&self, id: u64) -> Result<serde_json::Value, EngineError> {
        // The handle cannot be held across the await (std mutex), so replay on a clone of
        // what the listener shares.
        let fut = {
            let l = lock(&self.inner.listener);
            let l = l
                .as_ref()
                .ok_or_else(|| EngineError::Unavailable("the listener is not running".into()))?;
            l.replay_future(id)
        };
        let entry = fut.await.map_err(|e| EngineError::Invalid(e.to_string()))?;
        serde_json::to_value(entry).map_err(|e| EngineError::Invalid(e.to_string()))
    }
}
