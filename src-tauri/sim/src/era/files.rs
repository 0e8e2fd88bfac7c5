//! Files of the Era simulator: per-IVR-session temporary files (`:TEMP/...`), static storage
//! (`:GS_PUB/...` and the other documented roots), temporary public download links served at
//! `GET /files/era/<token>/<name>` (valid `file_link_secs` simulated seconds), and the
//! download of files given by URL to the `*upload*` requests.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::state::EraState;
use super::wire::{EraCode, EraFailure};
use crate::journal::{Channel, Dir};

/// Storage roots the platform documents (long and short forms).
pub const STORAGE_ROOTS: &[&str] = &[
    ":SYNC_COMMON",
    ":SYN_MEDIA",
    ":SYNC_DOMAIN_DATA",
    ":SYN_DOM",
    ":SYNC_DOMAIN_COMMON",
    ":SYN_DOM_MEDIA",
    ":SITESHARE_PUBLIC",
    ":SS_PUB",
    ":SITESHARE_DOMAIN_DATA",
    ":SS_DOM",
    ":GLOBALSHARE_PUBLIC",
    ":GS_PUB",
    ":GLOBALSHARE_DOMAIN_DATA",
    ":GS_DOM",
];

struct Link {
    bytes: Arc<Vec<u8>>,
    expires_at_ms: i64,
}

#[derive(Default)]
pub(crate) struct FileStore {
    /// IVR session key → path → content.
    temp: BTreeMap<String, BTreeMap<String, Arc<Vec<u8>>>>,
    statics: BTreeMap<String, Arc<Vec<u8>>>,
    links: BTreeMap<String, Link>,
}

impl FileStore {
    pub fn put_temp(&mut self, session: &str, path: &str, bytes: Vec<u8>) {
        self.temp
            .entry(session.to_string())
            .or_default()
            .insert(path.to_string(), Arc::new(bytes));
    }

    pub fn put_static(&mut self, path: &str, bytes: Vec<u8>) {
        self.statics.insert(path.to_string(), Arc::new(bytes));
    }

    /// A file visible to an IVR session: its temp files, then static storage.
    pub fn get(&self, session: Option<&str>, path: &str) -> Option<Arc<Vec<u8>>> {
        session
            .and_then(|s| self.temp.get(s))
            .and_then(|t| t.get(path))
            .or_else(|| self.statics.get(path))
            .cloned()
    }

    /// Remove an ended session's temp files (links already handed out stay valid).
    pub fn drop_session(&mut self, session: &str) {
        self.temp.remove(session);
    }

    /// Create a link valid until `expires_at_ms`; returns the relative URL path.
    pub fn link(
        &mut self,
        bytes: Arc<Vec<u8>>,
        name: &str,
        now_ms: i64,
        expires_at_ms: i64,
    ) -> String {
        self.links.retain(|_, l| l.expires_at_ms > now_ms);
        let token = uuid::Uuid::new_v4().simple().to_string();
        self.links.insert(
            token.clone(),
            Link {
                bytes,
                expires_at_ms,
            },
        );
        format!("/files/era/{token}/{}", sanitize(name))
    }
}

/// Last path segment made safe for a URL and a file name.
pub fn sanitize(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or("");
    let clean: String = last
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let clean = clean.trim_start_matches('.').to_string();
    if clean.is_empty() {
        format!("{}.bin", uuid::Uuid::new_v4().simple())
    } else {
        clean
    }
}

/// A static destination path: one of the documented roots, `/`-separated, no `..`.
pub fn static_path(destpath: &str, file_name: &str) -> Result<String, EraFailure> {
    let d = destpath.trim().trim_end_matches('/');
    let root = d.split('/').next().unwrap_or("");
    if !STORAGE_ROOTS.contains(&root) {
        return Err(EraFailure::new(
            EraCode::InvalidParams,
            format!("destpath must start with a storage root such as :GS_PUB, got '{destpath}'"),
        )
        .with_field("destpath"));
    }
    if d.split('/').any(|seg| seg == ".." || seg == ".") {
        return Err(EraFailure::new(
            EraCode::InvalidParams,
            "destpath must not contain '.' or '..'",
        )
        .with_field("destpath"));
    }
    Ok(format!("{d}/{}", sanitize(file_name)))
}

/// An 8 kHz, 8-bit mono WAV of `secs` seconds of silence (recordings of the simulator).
pub fn wav_silence(secs: u32) -> Vec<u8> {
    let n = 8000u32.saturating_mul(secs.clamp(1, 30));
    let mut v = Vec::with_capacity(44 + n as usize);
    v.extend_from_slice(b"RIFF");
    v.extend_from_slice(&(36 + n).to_le_bytes());
    v.extend_from_slice(b"WAVEfmt ");
    v.extend_from_slice(&16u32.to_le_bytes());
    v.extend_from_slice(&1u16.to_le_bytes());
    v.extend_from_slice(&1u16.to_le_bytes());
    v.extend_from_slice(&8000u32.to_le_bytes());
    v.extend_from_slice(&8000u32.to_le_bytes());
    v.extend_from_slice(&1u16.to_le_bytes());
    v.extend_from_slice(&8u16.to_le_bytes());
    v.extend_from_slice(b"data");
    v.extend_from_slice(&n.to_le_bytes());
    v.resize(44 + n as usize, 0x80);
    v
}

/// Download `url` (http or https) with the configured time and size limits.
pub async fn download(st: &EraState, url: &str) -> Result<(Vec<u8>, String), EraFailure> {
    let parsed = url::Url::parse(url).map_err(|e| {
        EraFailure::new(EraCode::InvalidParams, format!("bad url '{url}': {e}")).with_field("url")
    })?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(
            EraFailure::new(EraCode::InvalidParams, "url must be http or https").with_field("url"),
        );
    }
    let cfg = st.config();
    let name = parsed
        .path_segments()
        .and_then(|mut s| s.next_back().map(str::to_string))
        .unwrap_or_default();
    let failed = |m: String| EraFailure::new(EraCode::OperationFailed, m);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(cfg.upload_timeout_ms.max(1)))
        .build()
        .map_err(|e| failed(format!("http client: {e}")))?;
    let mut resp = client
        .get(parsed)
        .send()
        .await
        .map_err(|e| failed(format!("download failed: {e}")))?;
    if !resp.status().is_success() {
        return Err(failed(format!(
            "download failed: HTTP {}",
            resp.status().as_u16()
        )));
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| failed(format!("download failed: {e}")))?
    {
        if bytes.len() + chunk.len() > cfg.upload_max_bytes {
            return Err(failed(format!(
                "file is larger than {} bytes",
                cfg.upload_max_bytes
            )));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok((bytes, sanitize(&name)))
}

/// `GET /files/era/{token}/{name}`.
pub async fn serve(
    State(st): State<Arc<EraState>>,
    Path((token, name)): Path<(String, String)>,
) -> Response {
    let now = st.now_ms();
    let found = {
        let g = st.lock();
        g.files
            .links
            .get(&token)
            .map(|l| (l.bytes.clone(), l.expires_at_ms))
    };
    let what = format!("GET /files/era/{}/{name}", redact(&token));
    match found {
        Some((bytes, exp)) if now < exp => {
            st.ctx.journal.record(
                Channel::Files,
                Dir::Out,
                format!("200 {what}"),
                format!("{} bytes", bytes.len()),
            );
            let ct = if name.ends_with(".wav") {
                "audio/wav"
            } else if name.ends_with(".mp3") {
                "audio/mpeg"
            } else {
                "application/octet-stream"
            };
            ([(header::CONTENT_TYPE, ct)], bytes.as_ref().clone()).into_response()
        }
        other => {
            let msg = if other.is_some() {
                "link expired"
            } else {
                "no such link"
            };
            st.ctx
                .journal
                .record(Channel::Files, Dir::Out, format!("404 {what}"), msg);
            let body = json!({ "error_code": 1404, "error_message": msg });
            (StatusCode::NOT_FOUND, axum::Json(body)).into_response()
        }
    }
}

fn redact(token: &str) -> String {
    format!("{}…", token.chars().take(4).collect::<String>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_checked() {
        assert_eq!(
            static_path(":GS_PUB/a/b/", "x y.wav").unwrap(),
            ":GS_PUB/a/b/x_y.wav"
        );
        assert!(static_path("/etc", "x").is_err());
        assert!(static_path(":GS_PUB/../x", "x").is_err());
        assert_eq!(sanitize("../../etc/passwd"), "passwd");
    }

    #[test]
    fn wav_header_is_valid() {
        let w = wav_silence(1);
        assert_eq!(&w[0..4], b"RIFF");
        assert_eq!(w.len(), 44 + 8000);
    }
}
