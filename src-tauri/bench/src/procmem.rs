//! Memory of a process tree: PSS (proportional set size, shared pages divided among the
//! processes that map them) summed over a process and all its descendants, read from
//! `/proc/<pid>/smaps_rollup`. PSS is the honest total for an app with helper processes
//! (WebKit's web and network processes share libraries with the app).

use std::collections::{BTreeMap, VecDeque};
use std::path::Path;

/// `pid`, command name and parent pid from the text of `/proc/<pid>/stat`. The command name
/// sits in parentheses and may itself contain spaces and parentheses, so the fields after it
/// are found from the last `)`.
pub fn parse_stat(text: &str) -> Option<(u32, String, u32)> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    if close < open {
        return None;
    }
    let pid = text[..open].trim().parse().ok()?;
    let comm = text[open + 1..close].to_string();
    let mut rest = text[close + 1..].split_whitespace();
    let _state = rest.next()?;
    let ppid = rest.next()?.parse().ok()?;
    Some((pid, comm, ppid))
}

/// CPU time (user + system, clock ticks) from the text of `/proc/<pid>/stat`.
pub fn parse_cpu_ticks(text: &str) -> Option<u64> {
    let close = text.rfind(')')?;
    let rest: Vec<&str> = text[close + 1..].split_whitespace().collect();
    // Fields after the command: state(3) … utime(14) stime(15), 1-based as in proc(5).
    let utime: u64 = rest.get(11)?.parse().ok()?;
    let stime: u64 = rest.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// CPU time of `root` and its descendants, clock ticks.
pub fn tree_cpu_ticks(root: u32) -> u64 {
    let proc_root = Path::new("/proc");
    let Ok(table) = process_table(proc_root) else {
        return 0;
    };
    let pairs: Vec<(u32, u32)> = table.iter().map(|(p, _, pp)| (*p, *pp)).collect();
    let mut pids = vec![root];
    pids.extend(descendants(root, &pairs));
    pids.iter()
        .filter_map(|p| std::fs::read_to_string(proc_root.join(p.to_string()).join("stat")).ok())
        .filter_map(|s| parse_cpu_ticks(&s))
        .sum()
}

/// Busy and total CPU ticks of the whole machine from the `cpu` line of `/proc/stat` (busy =
/// everything but idle and iowait).
pub fn parse_proc_stat(text: &str) -> Option<(u64, u64)> {
    let line = text.lines().find(|l| l.starts_with("cpu "))?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    if v.len() < 5 {
        return None;
    }
    // user nice system idle iowait irq softirq steal (guest time is already in user).
    let total: u64 = v.iter().take(8).sum();
    let idle = v[3] + v[4];
    Some((total - idle, total))
}

/// CPU used by processes other than this one and its descendants, measured between
/// [`OthersCpu::start`] and [`OthersCpu::percent_of_a_core`].
pub struct OthersCpu {
    machine_busy: u64,
    ours: u64,
    at: std::time::Instant,
}

impl OthersCpu {
    pub fn start() -> OthersCpu {
        OthersCpu {
            machine_busy: machine_busy_ticks(),
            ours: tree_cpu_ticks(std::process::id()),
            at: std::time::Instant::now(),
        }
    }

    /// Percent of one core the rest of the machine used since `start` (100 = one full core).
    pub fn percent_of_a_core(&self) -> f64 {
        let busy = machine_busy_ticks().saturating_sub(self.machine_busy);
        let ours = tree_cpu_ticks(std::process::id()).saturating_sub(self.ours);
        let secs = self.at.elapsed().as_secs_f64();
        if secs <= 0.0 {
            return 0.0;
        }
        // 100 ticks per second per core.
        busy.saturating_sub(ours) as f64 / secs
    }
}

fn machine_busy_ticks() -> u64 {
    std::fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|s| parse_proc_stat(&s))
        .map(|(busy, _)| busy)
        .unwrap_or(0)
}

/// A `Key:   1234 kB` field of `smaps_rollup` or `status`, in kB.
pub fn parse_kb_field(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let (k, v) = line.split_once(':')?;
        if k.trim() != key {
            return None;
        }
        let mut parts = v.split_whitespace();
        let n: u64 = parts.next()?.parse().ok()?;
        match parts.next() {
            Some("kB") | None => Some(n),
            Some(_) => None,
        }
    })
}

/// Every descendant of `root` (children, grandchildren, …) in the `(pid, ppid)` table,
/// breadth first; `root` itself is not included. Cycles (pid reuse races) are ignored.
pub fn descendants(root: u32, table: &[(u32, u32)]) -> Vec<u32> {
    let mut children: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for &(pid, ppid) in table {
        if pid != ppid {
            children.entry(ppid).or_default().push(pid);
        }
    }
    let mut out = Vec::new();
    let mut queue = VecDeque::from([root]);
    while let Some(p) = queue.pop_front() {
        for &c in children.get(&p).map(Vec::as_slice).unwrap_or(&[]) {
            if c != root && !out.contains(&c) {
                out.push(c);
                queue.push_back(c);
            }
        }
    }
    out
}

/// Memory of one process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcMem {
    pub pid: u32,
    pub comm: String,
    pub pss_kb: u64,
    pub rss_kb: u64,
}

/// Memory of a process tree.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TreeMem {
    pub processes: Vec<ProcMem>,
}

impl TreeMem {
    pub fn pss_kb(&self) -> u64 {
        self.processes.iter().map(|p| p.pss_kb).sum()
    }

    pub fn rss_kb(&self) -> u64 {
        self.processes.iter().map(|p| p.rss_kb).sum()
    }

    /// `name pid: N MB` per process, for the report.
    pub fn describe(&self) -> String {
        self.processes
            .iter()
            .map(|p| format!("{} {:.1} MB", p.comm, p.pss_kb as f64 / 1024.0))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The `(pid, ppid)` table and names of every process visible under `proc_root`.
pub fn process_table(proc_root: &Path) -> std::io::Result<Vec<(u32, String, u32)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(proc_root)? {
        let Ok(entry) = entry else { continue };
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        // Processes come and go while we read: skip the ones that vanished.
        let Ok(stat) = std::fs::read_to_string(proc_root.join(pid.to_string()).join("stat")) else {
            continue;
        };
        if let Some(row) = parse_stat(&stat) {
            out.push(row);
        }
    }
    Ok(out)
}

/// PSS and RSS of `root` and every descendant (read from `/proc`).
pub fn tree_memory(root: u32) -> std::io::Result<TreeMem> {
    tree_memory_in(Path::new("/proc"), root)
}

pub fn tree_memory_in(proc_root: &Path, root: u32) -> std::io::Result<TreeMem> {
    let table = process_table(proc_root)?;
    let names: BTreeMap<u32, String> = table.iter().map(|(p, c, _)| (*p, c.clone())).collect();
    let pairs: Vec<(u32, u32)> = table.iter().map(|(p, _, pp)| (*p, *pp)).collect();
    let mut pids = vec![root];
    pids.extend(descendants(root, &pairs));
    let mut processes = Vec::new();
    for pid in pids {
        let dir = proc_root.join(pid.to_string());
        let Ok(rollup) = std::fs::read_to_string(dir.join("smaps_rollup")) else {
            continue;
        };
        let status = std::fs::read_to_string(dir.join("status")).unwrap_or_default();
        processes.push(ProcMem {
            pid,
            comm: names.get(&pid).cloned().unwrap_or_default(),
            pss_kb: parse_kb_field(&rollup, "Pss").unwrap_or(0),
            rss_kb: parse_kb_field(&status, "VmRSS")
                .or_else(|| parse_kb_field(&rollup, "Rss"))
                .unwrap_or(0),
        });
    }
    if processes.is_empty() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("process {root} has no readable smaps_rollup"),
        ));
    }
    Ok(TreeMem { processes })
}

/// The first descendant of `root` (or `root` itself) whose command name is `comm`.
pub fn find_in_tree(root: u32, comm: &str) -> Option<u32> {
    let table = process_table(Path::new("/proc")).ok()?;
    let pairs: Vec<(u32, u32)> = table.iter().map(|(p, _, pp)| (*p, *pp)).collect();
    let mut pids = vec![root];
    pids.extend(descendants(root, &pairs));
    pids.into_iter().find(|p| {
        table
            .iter()
            .any(|(pid, c, _)| pid == p && c.as_str() == comm)
    })
}

/// Where one process's PSS sits, from `/proc/<pid>/smaps`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Breakdown {
    /// Heap, stacks and other anonymous mappings.
    pub anon_kb: u64,
    /// Mappings of the process's own executable (code, read-only data, relocated data).
    pub exe_kb: u64,
    /// Every other file mapping (shared libraries, locale data, …), per file.
    pub files: BTreeMap<String, u64>,
}

impl Breakdown {
    pub fn files_kb(&self) -> u64 {
        self.files.values().sum()
    }

    /// One line for the report: the three parts and the largest libraries.
    pub fn describe(&self) -> String {
        let mb = |kb: u64| kb as f64 / 1024.0;
        let mut largest: Vec<(&String, &u64)> = self.files.iter().collect();
        largest.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let top = largest
            .iter()
            .take(4)
            .map(|(path, kb)| {
                let name = path.rsplit('/').next().unwrap_or(path);
                format!("{name} {:.1}", mb(**kb))
            })
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "heap and other anonymous memory {:.1} MB, the executable {:.1} MB, {} shared libraries and other files {:.1} MB (largest: {top})",
            mb(self.anon_kb),
            mb(self.exe_kb),
            self.files.len(),
            mb(self.files_kb()),
        )
    }
}

/// Split the text of `/proc/<pid>/smaps` by mapping kind; `exe` is the executable's path.
pub fn parse_smaps(text: &str, exe: &str) -> Breakdown {
    let mut b = Breakdown::default();
    let mut current: Option<String> = None;
    for line in text.lines() {
        let mut fields = line.split_whitespace();
        let first = fields.next().unwrap_or("");
        // A mapping header: `start-end perms offset dev inode [path]`.
        if first.contains('-') && !first.ends_with(':') {
            let path: Vec<&str> = fields.skip(4).collect();
            current = Some(path.join(" "));
            continue;
        }
        if first != "Pss:" {
            continue;
        }
        let Some(kb) = parse_kb_field(line, "Pss") else {
            continue;
        };
        match current.as_deref() {
            Some(p) if p == exe || p == format!("{exe} (deleted)") => b.exe_kb += kb,
            Some(p) if p.starts_with('/') => *b.files.entry(p.to_string()).or_default() += kb,
            _ => b.anon_kb += kb,
        }
    }
    b
}

/// [`Breakdown`] of process `pid`.
pub fn breakdown(pid: u32) -> std::io::Result<Breakdown> {
    let dir = Path::new("/proc").join(pid.to_string());
    let exe = std::fs::read_link(dir.join("exe"))?;
    let text = std::fs::read_to_string(dir.join("smaps"))?;
    Ok(parse_smaps(&text, &exe.to_string_lossy()))
}

/// Address ranges (`start`, `end`) of the mappings in the text of `/proc/<pid>/smaps` that have
/// resident pages (`Rss` above 0).
pub fn resident_ranges(smaps: &str) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    let mut current: Option<(u64, u64)> = None;
    for line in smaps.lines() {
        let first = line.split_whitespace().next().unwrap_or("");
        if let Some((a, b)) = first.split_once('-') {
            if !first.ends_with(':') {
                current = u64::from_str_radix(a, 16)
                    .ok()
                    .zip(u64::from_str_radix(b, 16).ok())
                    .filter(|(a, b)| a < b);
                continue;
            }
        }
        if first == "Rss:" && parse_kb_field(line, "Rss").is_some_and(|kb| kb > 0) {
            if let Some(r) = current.take() {
                out.push(r);
            }
        }
    }
    out
}

/// Page frame numbers of the present pages among `/proc/<pid>/pagemap` entries (8 bytes each,
/// native endian): bit 63 = present, bits 0–54 = frame number. `None` when a present page
/// has frame number 0: the kernel hides frame numbers from processes without CAP_SYS_ADMIN.
pub fn present_frames(entries: &[u8], out: &mut std::collections::HashSet<u64>) -> Option<()> {
    for chunk in entries.chunks_exact(8) {
        let mut b = [0u8; 8];
        b.copy_from_slice(chunk);
        let e = u64::from_ne_bytes(b);
        if e >> 63 == 1 {
            let pfn = e & ((1 << 55) - 1);
            if pfn == 0 {
                return None;
            }
            out.insert(pfn);
        }
    }
    Some(())
}

/// Resident memory of `root` and all its descendants with every physical page counted once,
/// kB: unlike PSS it does not depend on other processes mapping the same libraries (another
/// WebKit app on the machine lowers the panel's PSS, not this). `None` without the privilege
/// to read frame numbers (root), or when nothing could be read.
pub fn tree_unique_kb(root: u32) -> Option<u64> {
    use std::io::{Read, Seek, SeekFrom};
    const PAGE: u64 = 4096;
    let table = process_table(Path::new("/proc")).ok()?;
    let pairs: Vec<(u32, u32)> = table.iter().map(|(p, _, pp)| (*p, *pp)).collect();
    let mut pids = vec![root];
    pids.extend(descendants(root, &pairs));
    let mut frames = std::collections::HashSet::new();
    let mut read_any = false;
    for pid in pids {
        let dir = Path::new("/proc").join(pid.to_string());
        let Ok(smaps) = std::fs::read_to_string(dir.join("smaps")) else {
            continue;
        };
        let Ok(mut pagemap) = std::fs::File::open(dir.join("pagemap")) else {
            continue;
        };
        for (start, end) in resident_ranges(&smaps) {
            let pages = (end - start) / PAGE;
            let mut buf = vec![0u8; (pages * 8) as usize];
            if pagemap.seek(SeekFrom::Start(start / PAGE * 8)).is_err()
                || pagemap.read_exact(&mut buf).is_err()
            {
                continue;
            }
            present_frames(&buf, &mut frames)?;
            read_any = true;
        }
    }
    read_any.then(|| frames.len() as u64 * PAGE / 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROLLUP: &str =
        "55d0c0a5e000-7ffd2d7f7000 ---p 00000000 00:00 0                          [rollup]
Rss:               28324 kB
Pss:               12345 kB
Pss_Dirty:          6032 kB
Pss_Anon:           5920 kB
Shared_Clean:      16296 kB
Private_Dirty:      6020 kB
Swap:                  0 kB
SwapPss:               0 kB
";

    #[test]
    fn reads_pss_and_rss_fields() {
        assert_eq!(parse_kb_field(ROLLUP, "Pss"), Some(12345));
        assert_eq!(parse_kb_field(ROLLUP, "Rss"), Some(28324));
        assert_eq!(parse_kb_field(ROLLUP, "Pss_Anon"), Some(5920));
        assert_eq!(parse_kb_field(ROLLUP, "Missing"), None);
        let status = "Name:\tcti-panel\nVmPeak:\t  100 kB\nVmRSS:\t   30000 kB\nThreads:\t12\n";
        assert_eq!(parse_kb_field(status, "VmRSS"), Some(30000));
        assert_eq!(parse_kb_field(status, "Threads"), Some(12));
        assert_eq!(parse_kb_field("Pss: lots kB", "Pss"), None);
        assert_eq!(parse_kb_field("Pss: 12 MB", "Pss"), None);
    }

    #[test]
    fn reads_stat_with_awkward_command_names() {
        assert_eq!(
            parse_stat("4242 (cti-panel) S 1 4242 4242 0 -1 4194560 1234"),
            Some((4242, "cti-panel".into(), 1))
        );
        assert_eq!(
            parse_stat("77 (Web Content (x)) R 4242 77 1 0"),
            Some((77, "Web Content (x)".into(), 4242))
        );
        assert_eq!(parse_stat("garbage"), None);
        assert_eq!(parse_stat("12 (x) S notapid"), None);
    }

    #[test]
    fn reads_machine_cpu() {
        let stat = "cpu  100 5 50 1000 20 1 2 3 0 0\ncpu0 50 2 25 500 10 0 1 1 0 0\n";
        assert_eq!(parse_proc_stat(stat), Some((161, 1181)));
        assert_eq!(parse_proc_stat("cpu0 1 2 3 4 5"), None);
        let own = std::fs::read_to_string("/proc/stat").unwrap();
        assert!(parse_proc_stat(&own).is_some());
        let o = OthersCpu::start();
        assert!(o.percent_of_a_core() >= 0.0);
    }

    #[test]
    fn reads_cpu_ticks() {
        let stat = "4242 (cti bench (x)) S 1 4242 4242 0 -1 4194560 100 0 2 0 1234 56 0 0 20 0 4";
        assert_eq!(parse_cpu_ticks(stat), Some(1290));
        assert_eq!(parse_cpu_ticks("4242 (x) S 1 2"), None);
        let own = std::fs::read_to_string("/proc/self/stat").unwrap();
        assert!(parse_cpu_ticks(&own).is_some());
    }

    #[test]
    fn walks_the_whole_tree_only() {
        // 1 ─ 10 ─ 11 ─ 12
        //   │     └ 13
        //   └ 20 (not under 10)
        let table = [(10, 1), (11, 10), (12, 11), (13, 10), (20, 1), (1, 0)];
        let mut d = descendants(10, &table);
        d.sort_unstable();
        assert_eq!(d, vec![11, 12, 13]);
        assert!(descendants(12, &table).is_empty());
        // A self-parented entry and a cycle do not loop forever.
        let weird = [(5, 5), (6, 5), (5, 6)];
        assert_eq!(descendants(5, &weird), vec![6]);
    }

    #[test]
    fn sums_a_fake_proc_tree() {
        let dir = tempfile::tempdir().unwrap();
        let write = |pid: u32, ppid: u32, comm: &str, pss: u64| {
            let d = dir.path().join(pid.to_string());
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("stat"), format!("{pid} ({comm}) S {ppid} 0 0")).unwrap();
            std::fs::write(
                d.join("smaps_rollup"),
                format!("x [rollup]\nRss: {} kB\nPss: {pss} kB\n", pss * 2),
            )
            .unwrap();
            std::fs::write(d.join("status"), format!("VmRSS:\t{} kB\n", pss * 2)).unwrap();
        };
        write(100, 1, "cti-panel", 30_000);
        write(101, 100, "WebKitWebProcess", 50_000);
        write(102, 100, "WebKitNetworkProcess", 10_000);
        write(200, 1, "other", 99_999);
        std::fs::create_dir_all(dir.path().join("self")).unwrap();
        let t = tree_memory_in(dir.path(), 100).unwrap();
        assert_eq!(t.processes.len(), 3);
        assert_eq!(t.pss_kb(), 90_000);
        assert_eq!(t.rss_kb(), 180_000);
        assert!(t.describe().contains("WebKitWebProcess 48.8 MB"));
        assert!(tree_memory_in(dir.path(), 999).is_err());
    }

    #[test]
    fn reads_this_process() {
        let t = tree_memory(std::process::id()).unwrap();
        assert!(t.pss_kb() > 0);
        assert!(t.rss_kb() >= t.pss_kb() / 2);
    }

    #[test]
    fn splits_smaps_by_mapping_kind() {
        let smaps = "\
55a951f07000-55a952581000 r--p 00000000 fe:00 5467699                    /opt/cti panel/cti-panel
Size:               6632 kB
Rss:                3044 kB
Pss:                3000 kB
55a952581000-55a953821000 r-xp 00679000 fe:00 5467699                    /opt/cti panel/cti-panel
Pss:                1000 kB
7f00a0000000-7f00a1000000 rw-p 00000000 00:00 0
Pss:                 500 kB
7f00b0000000-7f00b1000000 r-xp 00000000 fe:00 11 /usr/lib/libwebkit2gtk-4.1.so.0
Pss:                2048 kB
7f00b1000000-7f00b1100000 rw-p 00100000 fe:00 11 /usr/lib/libwebkit2gtk-4.1.so.0
Pss:                 100 kB
7f00c0000000-7f00c0100000 r--p 00000000 fe:00 12 /usr/lib/libc.so.6
Pss:                 300 kB
7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0                          [stack]
Pss:                  40 kB
7ffd00100000-7ffd00102000 r-xp 00000000 00:00 0                          [vdso]
Pss:                   0 kB
";
        let b = parse_smaps(smaps, "/opt/cti panel/cti-panel");
        assert_eq!(b.exe_kb, 4000);
        assert_eq!(b.anon_kb, 540);
        assert_eq!(b.files.len(), 2);
        assert_eq!(b.files["/usr/lib/libwebkit2gtk-4.1.so.0"], 2148);
        assert_eq!(b.files_kb(), 2448);
        let d = b.describe();
        assert!(d.contains("the executable 3.9 MB"), "{d}");
        assert!(
            d.contains("largest: libwebkit2gtk-4.1.so.0 2.1, libc.so.6 0.3"),
            "{d}"
        );
        assert_eq!(
            parse_smaps("garbage\nPss: x kB\n", "/x"),
            Breakdown::default()
        );
        let own = breakdown(std::process::id()).unwrap();
        assert!(own.exe_kb > 0 && own.anon_kb > 0);
    }

    #[test]
    fn finds_resident_ranges_and_present_frames() {
        let smaps = "\
00400000-00402000 r-xp 00000000 fe:00 1 /bin/x
Rss:                   8 kB
00500000-00600000 rw-p 00000000 00:00 0
Rss:                   0 kB
7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0                          [stack]
Size:                132 kB
Rss:                  12 kB
";
        assert_eq!(
            resident_ranges(smaps),
            vec![(0x400000, 0x402000), (0x7ffd00000000, 0x7ffd00021000)]
        );
        assert!(resident_ranges("zz-yy r 0\nRss: 4 kB\n").is_empty());
        let entry =
            |present: bool, pfn: u64| ((u64::from(present) << 63) | pfn).to_ne_bytes().to_vec();
        let mut frames = std::collections::HashSet::new();
        let bytes: Vec<u8> = [
            entry(true, 7),
            entry(false, 9),
            entry(true, 7),
            entry(true, 8),
        ]
        .concat();
        assert_eq!(present_frames(&bytes, &mut frames), Some(()));
        assert_eq!(
            frames.len(),
            2,
            "a page mapped twice counts once; absent pages not at all"
        );
        assert_eq!(present_frames(&entry(true, 0), &mut frames), None);
        // This process: either the privilege to read frames (more than nothing resident) or None.
        if let Some(kb) = tree_unique_kb(std::process::id()) {
            assert!(kb > 0);
        }
    }
}
