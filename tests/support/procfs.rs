//! /proc: what the kernel says about our children and ourselves.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// A process's open fds and what each points at (`readlink /proc/PID/fd/N`).
pub fn fd_table(pid: u32) -> std::io::Result<BTreeMap<i32, PathBuf>> {
    let mut fds = BTreeMap::new();
    for entry in std::fs::read_dir(format!("/proc/{pid}/fd"))? {
        let entry = entry?;
        let Ok(n) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        // An fd closed between readdir and readlink is simply not there any more.
        if let Ok(target) = std::fs::read_link(entry.path()) {
            fds.insert(n, target);
        }
    }
    Ok(fds)
}

/// What an fd of this process points at.
pub fn own_fd_target(fd: i32) -> PathBuf {
    std::fs::read_link(format!("/proc/self/fd/{fd}")).expect("readlink own fd")
}

/// One process from /proc/PID/stat.
#[derive(Debug, Clone)]
pub struct ProcStat {
    pub pid: u32,
    pub comm: String,
    pub state: char,
    pub ppid: u32,
}

/// Parses /proc/PID/stat (comm may contain spaces and parentheses: split at the last ')').
pub fn proc_stat(pid: u32) -> Option<ProcStat> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let open = s.find('(')?;
    let close = s.rfind(')')?;
    let comm = s[open + 1..close].to_string();
    let mut rest = s[close + 1..].split_whitespace();
    let state = rest.next()?.chars().next()?;
    let ppid = rest.next()?.parse().ok()?;
    Some(ProcStat {
        pid,
        comm,
        state,
        ppid,
    })
}

/// Every process whose parent is this process, living or zombie, from a scan of /proc.
pub fn children_of_self() -> Vec<ProcStat> {
    let me = std::process::id();
    let mut out = Vec::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for e in dir.flatten() {
            if let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() {
                if let Some(st) = proc_stat(pid) {
                    if st.ppid == me {
                        out.push(st);
                    }
                }
            }
        }
    }
    out
}

/// The children a thread of this process has created (/proc/self/task/TID/children).
pub fn children_of_thread(tid: i32) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/self/task/{tid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// The calling thread's id.
pub fn gettid() -> i32 {
    // SAFETY: gettid has no arguments and cannot fail.
    unsafe { libc::syscall(libc::SYS_gettid) as i32 }
}

/// The value of `Field:` in a /proc status text (e.g. `CapEff`), trimmed; panics when absent.
pub fn status_field<'a>(status: &'a str, field: &str) -> &'a str {
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .unwrap_or_else(|| panic!("no {field} in {status}"))
        .trim()
}

/// Fields of /proc/PID/stat after the command name: index 0 is field 3 (state).
pub fn stat_fields(stat: &str) -> Vec<String> {
    let after = &stat[stat.rfind(')').expect("comm ends with )") + 2..];
    after.split_whitespace().map(str::to_string).collect()
}

/// Field `n` (1-based, as in proc(5)) of a /proc/PID/stat line.
pub fn stat_field(stat: &str, n: usize) -> i64 {
    assert!(n != 2, "field 2 (comm) is not numeric");
    if n == 1 {
        return stat.split_whitespace().next().unwrap().parse().unwrap();
    }
    let fields = stat_fields(stat);
    fields[n - 3].parse().expect("numeric stat field")
}
