//! CPU time and resident memory from /proc, for the benches' per-request and
//! per-stream figures. Shared by `benches/server.rs` and the media plane's
//! `benches/calls.rs` (included there by path).

use std::time::Duration;

/// User + system time of a `/proc/.../stat` line (ticks of 10 ms), read
/// after the command name, which may hold spaces and parentheses.
fn ticks(stat: &str) -> Duration {
    let ticks: u64 = stat
        .rsplit(')')
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|t| t.parse::<u64>().ok())
        .sum();
    Duration::from_millis(ticks * 10)
}

/// CPU time used so far by process `pid` ("self": this one).
pub fn process_cpu(pid: &str) -> Duration {
    ticks(&std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default())
}

/// CPU time used so far by this process's thread named `name` (as
/// `/proc/.../comm` has it: cut at 15 bytes).
pub fn thread_cpu(name: &str) -> Duration {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Duration::ZERO;
    };
    for task in tasks.flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if comm.trim() == name {
            return ticks(&std::fs::read_to_string(task.path().join("stat")).unwrap_or_default());
        }
    }
    Duration::ZERO
}

/// Resident memory of process `pid` ("self": this one), KiB.
pub fn rss_kib(pid: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}
