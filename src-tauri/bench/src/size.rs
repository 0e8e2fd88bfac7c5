//! `cti-bench size` and `build-apps`: the shipped builds of the panel and the empty Tauri app,
//! their binaries and .deb packages.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::app::{release_artifact, APP_PROFILE, DEB_HINT, EMPTY_HINT, RELEASE_HINT};
use crate::table::{fmt_mb, Row, Verdict};
use crate::Section;

/// The newest `.deb` under `dir` whose file name passes `keep`.
pub fn newest_deb(dir: &Path, keep: impl Fn(&str) -> bool) -> Option<(PathBuf, u64)> {
    let mut best: Option<(PathBuf, u64, std::time::SystemTime)> = None;
    for e in std::fs::read_dir(dir).ok()?.flatten() {
        let p = e.path();
        if p.extension().and_then(|x| x.to_str()) != Some("deb") {
            continue;
        }
        if !p.file_name().and_then(|n| n.to_str()).is_some_and(&keep) {
            continue;
        }
        let Ok(m) = e.metadata() else { continue };
        let t = m.modified().unwrap_or(std::time::UNIX_EPOCH);
        if best.as_ref().is_none_or(|(_, _, bt)| t > *bt) {
            best = Some((p, m.len(), t));
        }
    }
    best.map(|(p, n, _)| (p, n))
}

/// One app build done by [`build_apps`].
#[derive(Debug, Clone)]
pub struct Build {
    pub what: String,
    pub secs: f64,
}

/// Package and binary sizes of the shipped build (`release` profile) beside the empty Tauri app
/// built the same way. `builds`: what this run built, for the details.
pub fn size(root: &Path, builds: &[Build]) -> Section {
    let mut rows = Vec::new();
    let dir = release_artifact(root, "bundle/deb");
    let dir_label = dir.strip_prefix(root).unwrap_or(&dir).display().to_string();
    let is_empty = |n: &str| n.starts_with("empty-tauri-app") || n.starts_with("Empty");
    let empty = newest_deb(&dir, is_empty);
    match newest_deb(&dir, |n| !is_empty(n)) {
        Some((path, bytes)) => {
            let mut r = Row::new(format!(
                "Package size ({})",
                path.file_name().and_then(|n| n.to_str()).unwrap_or(".deb")
            ))
            .ours(fmt_mb(bytes))
            .target("≤ 10 MB")
            .verdict(Verdict::of(bytes <= 10_000_000));
            r = match empty {
                Some((_, e)) => r
                    .peer(format!("empty Tauri app {}", fmt_mb(e)))
                    .ratio(bytes as f64, e as f64),
                None => r.peer(format!("empty app .deb not built ({EMPTY_HINT})")),
            };
            rows.push(r);
        }
        None => rows.push(Row::not_measured(
            "Package size (.deb)",
            "≤ 10 MB",
            format!("no {dir_label}/*.deb; {DEB_HINT}"),
        )),
    }
    let bin = release_artifact(root, "cti-panel");
    match std::fs::metadata(&bin) {
        Ok(m) => {
            let mut r = Row::new("Release binary size (stripped)")
                .ours(fmt_mb(m.len()))
                .target("≤ 15 MB")
                .verdict(Verdict::of(m.len() <= 15_000_000));
            if let Ok(e) = std::fs::metadata(release_artifact(root, "empty-tauri-app")) {
                r = r
                    .peer(format!("empty Tauri app {}", fmt_mb(e.len())))
                    .ratio(m.len() as f64, e.len() as f64);
            }
            rows.push(r);
        }
        Err(_) => rows.push(Row::not_measured(
            "Release binary size",
            "≤ 15 MB",
            format!("no target/{APP_PROFILE}/cti-panel; {RELEASE_HINT}"),
        )),
    }
    let mut details = format!(
        "Measured: `{}` and `{dir_label}/`. The panel and the empty Tauri app are built alike by `cti-bench build-apps` (which `all` runs first): one `cargo build --release --bins -p cti-panel -p empty-tauri-app --features tauri/custom-protocol` (what `tauri build` runs for each), then `tauri bundle --bundles deb` for each. Cargo profile `{APP_PROFILE}`: `opt-level = \"s\"` (3 for cti-core, hyper, axum and libsqlite3-sys), thin LTO, stripped, `panic = \"unwind\"`.\n",
        bin.strip_prefix(root).unwrap_or(&bin).display()
    );
    if !builds.is_empty() {
        let _ = writeln!(
            details,
            "This run built them first: {}.",
            builds
                .iter()
                .map(|b| format!("{} in {:.1} min", b.what, b.secs / 60.0))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Section {
        title: "Package size".into(),
        rows,
        details,
    }
}

/// What [`build_apps`] makes that is not there: the panel's binary and `.deb`, the empty app's
/// binary and `.deb` (`release` profile).
pub fn missing_apps(root: &Path) -> Vec<String> {
    let dir = release_artifact(root, "");
    let deb = dir.join("bundle/deb");
    let is_empty = |n: &str| n.starts_with("empty-tauri-app") || n.starts_with("Empty");
    let mut missing = Vec::new();
    for (present, what) in [
        (dir.join("cti-panel").is_file(), "the panel's binary"),
        (
            newest_deb(&deb, |n| !is_empty(n)).is_some(),
            "the panel's .deb",
        ),
        (
            dir.join("empty-tauri-app").is_file(),
            "the empty Tauri app's binary",
        ),
        (newest_deb(&deb, is_empty).is_some(), "the empty app's .deb"),
    ] {
        if !present {
            missing.push(what.to_string());
        }
    }
    missing
}

/// Build the panel and the empty Tauri app (binaries and .deb packages) into the repository's
/// target/release: the panel's web UI (`npm run build`, its `beforeBuildCommand`), then both
/// apps in one `cargo build --release` as `tauri build` would build each (`--bins --features
/// tauri/custom-protocol`), so the dependency tree is built once, then `tauri bundle --bundles
/// deb` for each. Cargo rebuilds only what changed, so this is quick when nothing did. Returns
/// how long each step took.
pub fn build_apps(root: &Path) -> Result<Vec<Build>, String> {
    let tauri = root.join("ui/node_modules/.bin/tauri");
    if !tauri.is_file() {
        return Err("ui/node_modules/.bin/tauri is missing (run `bash scripts/setup.sh`)".into());
    }
    let step = |what: &str, cmd: &mut Command| -> Result<Build, String> {
        eprintln!("cti-bench: {what}");
        let t0 = Instant::now();
        let status = cmd
            .status()
            .map_err(|e| format!("{what}: {:?}: {e}", cmd.get_program()))?;
        let secs = t0.elapsed().as_secs_f64();
        if !status.success() {
            return Err(format!("{what} failed ({status})"));
        }
        eprintln!("cti-bench: {what}: {:.1} min", secs / 60.0);
        Ok(Build {
            what: what.to_string(),
            secs,
        })
    };
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut builds = vec![
        step(
            "the panel's web UI (npm run build)",
            Command::new("npm")
                .args(["run", "build", "--silent"])
                .current_dir(root.join("ui")),
        )?,
        step(
            "the panel and the empty Tauri app (one cargo build --release)",
            Command::new(&cargo)
                .args(["build", "--release", "--bins", "--locked"])
                .args(["-p", "cti-panel", "-p", "empty-tauri-app"])
                .args(["--features", "tauri/custom-protocol"])
                .current_dir(root),
        )?,
    ];
    for (dir, what) in [
        (root.to_path_buf(), "the panel's .deb (tauri bundle)"),
        (
            root.join("bench/peers/empty-tauri"),
            "the empty app's .deb (tauri bundle)",
        ),
    ] {
        builds.push(step(
            what,
            Command::new(&tauri)
                .args(["bundle", "--bundles", "deb"])
                .current_dir(dir),
        )?);
    }
    Ok(builds)
}
