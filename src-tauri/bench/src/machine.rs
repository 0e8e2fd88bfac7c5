//! A one-paragraph description of the machine a run measured.

use std::process::Command;

/// `model name` from `/proc/cpuinfo` text.
pub fn cpu_model(cpuinfo: &str) -> Option<String> {
    cpuinfo.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k.trim() == "model name").then(|| v.trim().to_string())
    })
}

/// `PRETTY_NAME` from `/etc/os-release` text.
pub fn os_name(os_release: &str) -> Option<String> {
    os_release.lines().find_map(|l| {
        l.strip_prefix("PRETTY_NAME=")
            .map(|v| v.trim_matches('"').to_string())
    })
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

fn command_line(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    let s = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (!s.is_empty()).then_some(s)
}

pub fn describe() -> String {
    let cpu = cpu_model(&read("/proc/cpuinfo")).unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let mem_gib = crate::procmem::parse_kb_field(&read("/proc/meminfo"), "MemTotal")
        .map(|kb| kb as f64 / 1_048_576.0)
        .unwrap_or(0.0);
    let os = os_name(&read("/etc/os-release")).unwrap_or_else(|| "Linux".into());
    let kernel = read("/proc/sys/kernel/osrelease").trim().to_string();
    let rustc = command_line("rustc", &["--version"]).unwrap_or_else(|| "rustc ?".into());
    let node = command_line("node", &["--version"]).unwrap_or_else(|| "absent".into());
    let python = command_line("python3", &["--version"]).unwrap_or_else(|| "absent".into());
    format!(
        "{cpu}, {cores} cores, {mem_gib:.0} GiB RAM; {os}, kernel {kernel}; {rustc}; Node {node}; {python}. The load generator, the servers and everything else share these cores."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cpu_and_os() {
        let cpu = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\nflags\t: fpu\n";
        assert_eq!(cpu_model(cpu).as_deref(), Some("AMD EPYC 7B13"));
        assert_eq!(cpu_model("nothing"), None);
        let os = "NAME=\"Debian GNU/Linux\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n";
        assert_eq!(
            os_name(os).as_deref(),
            Some("Debian GNU/Linux 12 (bookworm)")
        );
        assert!(describe().contains("cores"));
    }
}
