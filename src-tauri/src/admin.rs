//! `cti-panel self-test` and `cti-panel support-bundle`, and the notification check they share
//! with the UI's self-test.

use std::path::{Path, PathBuf};

use cti_core::support::{self, BundleInputs, SelfTestItem, SelfTestOptions};

/// Notifications need a desktop session bus; headless machines pass with "not checked".
pub fn notifications_item(config: &cti_core::config::Config) -> SelfTestItem {
    const NAME: &str = "Desktop notifications";
    if !config.ui.notifications {
        return SelfTestItem::pass(NAME, "switched off in the settings; not checked");
    }
    if cfg!(any(target_os = "windows", target_os = "macos")) {
        return SelfTestItem::pass(NAME, "provided by the operating system");
    }
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
        return SelfTestItem::pass(NAME, "no desktop session (headless); not checked");
    }
    SelfTestItem::pass(NAME, "a session bus is there")
}

pub async fn self_test(config: Option<&Path>) -> i32 {
    let loaded = match cti_core::config::load(config) {
        Ok(l) => l,
        Err(e) => {
            println!("[FAIL] Configuration: {e}");
            return 1;
        }
    };
    let options = SelfTestOptions {
        secrets_file: Some(loaded.user_file.with_file_name("secrets.toml")),
        extra: vec![notifications_item(&loaded.config)],
        ..SelfTestOptions::default()
    };
    let report = support::self_test(&loaded.config, options).await;
    print!("{}", report.to_text());
    if report.all_ok() {
        0
    } else {
        1
    }
}

pub async fn support_bundle(config: Option<&Path>, out: Option<&Path>) -> i32 {
    let loaded = match cti_core::config::load(config) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("cti-panel: {e}");
            return 1;
        }
    };
    let store = cti_core::secrets::SecretStore::open(
        &loaded.config.secrets.backend,
        loaded.user_file.with_file_name("secrets.toml"),
    );
    let inputs = BundleInputs::from_loaded(env!("CARGO_PKG_VERSION"), &loaded)
        .with_log_dir(cti_core::config::default_log_dir())
        .with_stored_secrets(&store);
    let out = out
        .map(PathBuf::from)
        .unwrap_or_else(support::default_output_dir);
    match support::write_bundle(&out, inputs) {
        Ok(p) => {
            println!("{}", p.display());
            0
        }
        Err(e) => {
            eprintln!("cti-panel: {e}");
            1
        }
    }
}
