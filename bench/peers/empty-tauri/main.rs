//! An empty Tauri 2 app: one window showing a static page.

fn main() {
    if let Err(e) = tauri::Builder::default().run(tauri::generate_context!()) {
        eprintln!("empty-tauri-app: {e}");
        std::process::exit(1);
    }
}
