//! The servers under test, each its own process: our listener (`cti-bench serve-listener`), the
//! floor (`cti-bench-floor`), the Node peer and the Python peer. Each is started on a free
//! loopback port, probed until it answers, and killed (by its own pid) when dropped.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::loadgen;

/// Where things are.
#[derive(Debug, Clone)]
pub struct Paths {
    /// The repository root.
    pub root: PathBuf,
    /// This benchmark binary (serves our listener with `serve-listener`).
    pub bench_exe: PathBuf,
    /// The floor binary, next to this one.
    pub floor_exe: PathBuf,
    /// Server logs go here.
    pub logs: PathBuf,
}

impl Paths {
    pub fn discover(root_override: Option<PathBuf>) -> Result<Paths, String> {
        let root = match root_override {
            Some(r) => r,
            None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."),
        };
        let root = root
            .canonicalize()
            .map_err(|e| format!("repository root {}: {e}", root.display()))?;
        let bench_exe = std::env::current_exe().map_err(|e| format!("current exe: {e}"))?;
        let floor_exe = bench_exe.with_file_name("cti-bench-floor");
        let logs = root.join("target/bench-logs");
        std::fs::create_dir_all(&logs).map_err(|e| format!("{}: {e}", logs.display()))?;
        Ok(Paths {
            root,
            bench_exe,
            floor_exe,
            logs,
        })
    }

    pub fn venv(&self) -> PathBuf {
        self.root.join("target/bench-venv")
    }
}

/// What our listener stores into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SinkKind {
    /// Acknowledge at once (the listener alone).
    Null,
    /// The real SQLite history on a temporary file (WAL, synchronous=FULL); Call Interactive
    /// steps stored after the reply (the app's default).
    History,
    /// The same, with `ivr_store = "before_reply"`: the reply waits for the durable commit.
    HistoryStoreFirst,
}

/// A running server process.
pub struct Server {
    pub name: String,
    pub addr: SocketAddr,
    /// Path of the Call Interactive route (token included).
    pub ivr_path: String,
    /// Path of the JSON call-webhook route, where the server has one.
    pub calls_path: Option<String>,
    child: Child,
    _tmp: Option<tempfile::TempDir>,
}

impl Server {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Wait (up to `limit`) until the server's process tree uses under 5 % of a core over a
    /// quarter second, so work it still has queued does not bleed into the next measurement.
    pub fn wait_idle(&self, limit: Duration) {
        let deadline = Instant::now() + limit;
        let mut last = crate::procmem::tree_cpu_ticks(self.pid());
        while Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(250));
            let now = crate::procmem::tree_cpu_ticks(self.pid());
            // 100 ticks per second: ≤ 1 tick in 250 ms is ≤ 4 % of a core.
            if now.saturating_sub(last) <= 1 {
                return;
            }
            last = now;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

/// Stop a server we started: SIGTERM to its pid (gunicorn then stops its workers), up to 3 s
/// to exit, then SIGKILL to it and to whatever it left behind.
pub fn stop(child: &mut Child) {
    let pid = child.id();
    let table: Vec<(u32, u32)> = crate::procmem::process_table(Path::new("/proc"))
        .map(|t| t.into_iter().map(|(p, _, pp)| (p, pp)).collect())
        .unwrap_or_default();
    let descendants = crate::procmem::descendants(pid, &table);
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .stderr(Stdio::null())
        .status();
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    let left: Vec<String> = descendants
        .iter()
        .filter(|p| Path::new(&format!("/proc/{p}")).exists())
        .map(|p| p.to_string())
        .collect();
    if !left.is_empty() {
        let _ = Command::new("kill")
            .arg("-KILL")
            .args(&left)
            .stderr(Stdio::null())
            .status();
    }
}

/// A free loopback port (bound and released; good enough on a quiet machine).
pub fn free_port() -> Result<u16, String> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| format!("bind: {e}"))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("local_addr: {e}"))
}

/// A fresh path token (URL-safe, 256 bits), shared by our listener and the peers.
pub fn token() -> String {
    cti_core::hooks::generate_token()
}

fn log_file(paths: &Paths, name: &str) -> Stdio {
    match std::fs::File::create(paths.logs.join(format!("{name}.log"))) {
        Ok(f) => Stdio::from(f),
        Err(_) => Stdio::null(),
    }
}

fn start(
    paths: &Paths,
    name: &str,
    mut cmd: Command,
    port: u16,
    ivr_path: String,
    calls_path: Option<String>,
    tmp: Option<tempfile::TempDir>,
) -> Result<Server, String> {
    cmd.stdin(Stdio::null())
        .stdout(log_file(paths, name))
        .stderr(log_file(paths, name));
    let child = cmd
        .spawn()
        .map_err(|e| format!("{name}: cannot start {:?}: {e}", cmd.get_program()))?;
    let server = Server {
        name: name.to_string(),
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
        ivr_path,
        calls_path,
        child,
        _tmp: tmp,
    };
    wait_ready(&server, Duration::from_secs(30)).map_err(|e| {
        format!(
            "{name}: {e} (log: {})",
            paths.logs.join(format!("{name}.log")).display()
        )
    })?;
    Ok(server)
}

/// Probe with the seed request until the server answers 200.
fn wait_ready(server: &Server, limit: Duration) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    let deadline = Instant::now() + limit;
    let uri = format!("{}?{}", server.ivr_path, crate::rules::ci_query(u64::MAX));
    let mut last = String::new();
    while Instant::now() < deadline {
        let req = loadgen::get(server.addr, &uri);
        match rt.block_on(loadgen::fetch_once(
            server.addr,
            req,
            Duration::from_secs(2),
        )) {
            Ok((200, _)) => return Ok(()),
            Ok((status, body)) => {
                last = format!("HTTP {status}: {}", String::from_utf8_lossy(&body));
            }
            Err(e) => last = e,
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!("not ready within {limit:?} ({last})"))
}

/// Our listener in its own process, with the benchmark rule set.
pub fn spawn_ours(paths: &Paths, token: &str, sink: SinkKind) -> Result<Server, String> {
    let port = free_port()?;
    let mut cmd = Command::new(&paths.bench_exe);
    cmd.arg("serve-listener")
        .arg("--port")
        .arg(port.to_string())
        .arg("--token")
        .arg(token);
    let (name, tmp) = match sink {
        SinkKind::Null => ("ours", None),
        SinkKind::History | SinkKind::HistoryStoreFirst => {
            let dir = tempfile::Builder::new()
                .prefix("cti-bench-history")
                .tempdir_in(paths.root.join("target"))
                .map_err(|e| format!("temp dir: {e}"))?;
            cmd.arg("--history").arg(dir.path().join("history.db"));
            if sink == SinkKind::HistoryStoreFirst {
                cmd.arg("--ivr-store").arg("before_reply");
                ("ours+history-first", Some(dir))
            } else {
                ("ours+history", Some(dir))
            }
        }
    };
    start(
        paths,
        name,
        cmd,
        port,
        format!("/hooks/{token}/ivr"),
        Some(format!("/hooks/{token}/calls")),
        tmp,
    )
}

/// Build (or bring up to date) the floor binary next to this one: `cargo run -p cti-bench` builds
/// only `cti-bench`. Same profile and target directory as this binary. A floor binary that is
/// already there is used when cargo cannot run.
fn build_floor(paths: &Paths) -> Result<(), String> {
    let dir = paths
        .floor_exe
        .parent()
        .ok_or("no directory for the floor binary")?;
    let target_dir = dir.parent().ok_or("no target directory")?;
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(&paths.root)
        .args(["build", "-q", "-p", "cti-bench", "--bin", "cti-bench-floor"])
        .env("CARGO_TARGET_DIR", target_dir)
        .stdin(Stdio::null());
    match dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") => {}
        Some("release") => {
            cmd.arg("--release");
        }
        Some(profile) => {
            cmd.args(["--profile", profile]);
        }
        None => return Err("no profile directory for the floor binary".into()),
    }
    let built = cmd.status().map_err(|e| format!("cargo: {e}"));
    match built {
        Ok(status) if status.success() => Ok(()),
        _ if paths.floor_exe.exists() => Ok(()),
        Ok(status) => Err(format!("building cti-bench-floor failed ({status})")),
        Err(e) => Err(e),
    }
}

/// The floor: bare hyper, fixed XML.
pub fn spawn_floor(paths: &Paths, token: &str) -> Result<Server, String> {
    build_floor(paths)?;
    let port = free_port()?;
    let mut cmd = Command::new(&paths.floor_exe);
    cmd.arg(port.to_string());
    start(
        paths,
        "floor",
        cmd,
        port,
        format!("/hooks/{token}/ivr"),
        None,
        None,
    )
}

/// The Node peer (needs `node` on the PATH).
pub fn spawn_node(paths: &Paths, token: &str) -> Result<Server, String> {
    let script = paths.root.join("bench/peers/node/server.js");
    let port = free_port()?;
    let mut cmd = Command::new("node");
    cmd.arg(&script).arg(port.to_string()).arg(token);
    start(
        paths,
        "node",
        cmd,
        port,
        format!("/hooks/{token}/ivr"),
        None,
        None,
    )
}

/// Create `target/bench-venv` and install the Python peer's requirements (skipped when the
/// installed requirements are the current ones). Returns the venv's `gunicorn`.
pub fn ensure_python(paths: &Paths) -> Result<PathBuf, String> {
    let req = paths.root.join("bench/peers/python/requirements.txt");
    let wanted = std::fs::read_to_string(&req).map_err(|e| format!("{}: {e}", req.display()))?;
    let venv = paths.venv();
    let stamp = venv.join(".requirements");
    let gunicorn = venv.join("bin/gunicorn");
    if gunicorn.exists() && std::fs::read_to_string(&stamp).ok().as_deref() == Some(&wanted) {
        return Ok(gunicorn);
    }
    eprintln!(
        "cti-bench: installing the Python peer into {}",
        venv.display()
    );
    let status = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .map_err(|e| format!("python3 -m venv: {e}"))?;
    if !status.success() {
        return Err(format!("python3 -m venv failed ({status})"));
    }
    let status = Command::new(venv.join("bin/pip"))
        .args(["install", "-q", "--disable-pip-version-check", "-r"])
        .arg(&req)
        .status()
        .map_err(|e| format!("pip: {e}"))?;
    if !status.success() {
        return Err(format!(
            "pip install -r {} failed ({status})",
            req.display()
        ));
    }
    std::fs::write(&stamp, wanted).map_err(|e| format!("{}: {e}", stamp.display()))?;
    Ok(gunicorn)
}

/// The Python peer: Flask under gunicorn, 2 workers (one per core), gthread with keep-alive.
pub fn spawn_python(paths: &Paths, token: &str) -> Result<Server, String> {
    let gunicorn = ensure_python(paths)?;
    let port = free_port()?;
    let mut cmd = Command::new(gunicorn);
    cmd.arg("--chdir")
        .arg(paths.root.join("bench/peers/python"))
        .args([
            "-w",
            "2",
            "-k",
            "gthread",
            "--threads",
            "4",
            "--keep-alive",
            "75",
        ])
        .arg("-b")
        .arg(format!("127.0.0.1:{port}"))
        .arg("app:app")
        .env("CTI_BENCH_TOKEN", token);
    start(
        paths,
        "python",
        cmd,
        port,
        format!("/hooks/{token}/ivr"),
        None,
        None,
    )
}
