//! Process attributes: what the child sequence sets up before exec, one file per family.
//!
//! Each family adds its builder methods to [`crate::Command`] in its own file and keeps its
//! validated, prepared form here in [`Attributes`]; `command.rs` copies that into the child
//! plan. Validation happens in the parent, before any clone.

use crate::sys::child::RlimitAction;

/// Every attribute, in the prepared form the child sequence consumes.
#[derive(Clone, Debug, Default)]
pub struct Attributes {
    pub setsid: bool,
    /// setpgid(0, pgid): Some(0) = new group led by the child.
    pub pgid: Option<i32>,
    /// Parent fd of a terminal whose foreground group becomes the child's.
    pub foreground_fd: Option<i32>,
    /// Child fd to make the controlling terminal (after the fd map).
    pub setctty_fd: Option<i32>,
    pub noctty: bool,
    pub chroot: Option<std::ffi::CString>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub groups: Option<Vec<libc::gid_t>>,
    pub pdeathsig: Option<i32>,
    /// CLONE_NEW* flags given to clone.
    pub clone_ns: i32,
    /// CLONE_NEW* flags given to unshare in the child.
    pub unshare_ns: i32,
    pub uid_map: Vec<IdMap>,
    pub gid_map: Vec<IdMap>,
    /// "allow" / "deny" for /proc/PID/setgroups.
    pub setgroups_allow: Option<bool>,
    /// Capabilities to raise as ambient (bit n = capability n).
    pub ambient_caps: u64,
    /// A cgroup v2 directory to start in.
    pub cgroup: Option<std::path::PathBuf>,
    pub ptrace: bool,
    pub rlimits: Vec<RlimitAction>,
    pub umask: Option<u32>,
    /// Signals blocked at exec (bit n-1 = signal n); default empty.
    pub sig_mask: u64,
    /// Signals set to SIG_IGN.
    pub sig_ignore: u64,
    /// Signals set to SIG_DFL (SIGPIPE is always added unless ignored on request).
    pub sig_default: u64,
    pub no_new_privs: bool,
    pub nice: Option<i32>,
    /// (policy, priority)
    pub scheduler: Option<(i32, i32)>,
}

/// One line of a uid_map or gid_map: `inside outside count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IdMap {
    pub inside: u32,
    pub outside: u32,
    pub count: u32,
}

/// Bit for signal `sig` in a 64-bit signal set.
pub fn sig_bit(sig: i32) -> u64 {
    if (1..=64).contains(&sig) {
        1u64 << (sig - 1)
    } else {
        0
    }
}

/// Checks attribute combinations before any clone.
pub(crate) fn validate(cmd: &crate::Command) -> crate::Result<()> {
    let program = cmd.program_display();
    let a = &cmd.attrs;
    if a.setctty_fd.is_some() && a.foreground_fd.is_some() {
        return Err(crate::Error::invalid(
            &program,
            "terminal attributes",
            "setctty and foreground cannot be combined (as in Go)",
        ));
    }
    Ok(())
}

/// Writes setgroups, uid_map and gid_map of `pid` (called while the child waits).
pub(crate) fn write_id_maps(a: &Attributes, pid: i32) -> Result<(), i32> {
    use std::io::Write;
    let write = |file: &str, text: &str| -> Result<(), i32> {
        let path = format!("/proc/{pid}/{file}");
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(|e| e.raw_os_error().unwrap_or(libc::EIO))?;
        f.write_all(text.as_bytes())
            .map_err(|e| e.raw_os_error().unwrap_or(libc::EIO))
    };
    let lines = |maps: &[IdMap]| {
        maps.iter()
            .map(|m| format!("{} {} {}\n", m.inside, m.outside, m.count))
            .collect::<String>()
    };
    if !a.uid_map.is_empty() {
        write("uid_map", &lines(&a.uid_map))?;
    }
    if let Some(allow) = a.setgroups_allow {
        write("setgroups", if allow { "allow" } else { "deny" })?;
    }
    if !a.gid_map.is_empty() {
        write("gid_map", &lines(&a.gid_map))?;
    }
    Ok(())
}

/// The namespace names of a CLONE_NEW* set, for messages: `user,mount`.
pub fn namespace_names(flags: i32) -> String {
    const NAMES: [(i32, &str); 8] = [
        (libc::CLONE_NEWUSER, "user"),
        (libc::CLONE_NEWNS, "mount"),
        (libc::CLONE_NEWPID, "pid"),
        (libc::CLONE_NEWNET, "net"),
        (libc::CLONE_NEWUTS, "uts"),
        (libc::CLONE_NEWIPC, "ipc"),
        (libc::CLONE_NEWCGROUP, "cgroup"),
        (0x80, "time"),
    ];
    let names: Vec<&str> = NAMES
        .iter()
        .filter(|(f, _)| flags & f != 0)
        .map(|(_, n)| *n)
        .collect();
    names.join(",")
}

/// The name of an RLIMIT_* resource: `RLIMIT_NOFILE`.
// RLIMIT_* are u32 on glibc but c_int on musl: the casts are needed for portability.
#[allow(clippy::unnecessary_cast)]
pub fn rlimit_name(resource: i32) -> String {
    // The RLIMIT_* constants are u32 with glibc and c_int with musl: the casts are for musl.
    #[allow(clippy::unnecessary_cast)]
    const NAMES: [(u32, &str); 16] = [
        (libc::RLIMIT_CPU as u32, "RLIMIT_CPU"),
        (libc::RLIMIT_FSIZE as u32, "RLIMIT_FSIZE"),
        (libc::RLIMIT_DATA as u32, "RLIMIT_DATA"),
        (libc::RLIMIT_STACK as u32, "RLIMIT_STACK"),
        (libc::RLIMIT_CORE as u32, "RLIMIT_CORE"),
        (libc::RLIMIT_RSS as u32, "RLIMIT_RSS"),
        (libc::RLIMIT_NPROC as u32, "RLIMIT_NPROC"),
        (libc::RLIMIT_NOFILE as u32, "RLIMIT_NOFILE"),
        (libc::RLIMIT_MEMLOCK as u32, "RLIMIT_MEMLOCK"),
        (libc::RLIMIT_AS as u32, "RLIMIT_AS"),
        (libc::RLIMIT_LOCKS as u32, "RLIMIT_LOCKS"),
        (libc::RLIMIT_SIGPENDING as u32, "RLIMIT_SIGPENDING"),
        (libc::RLIMIT_MSGQUEUE as u32, "RLIMIT_MSGQUEUE"),
        (libc::RLIMIT_NICE as u32, "RLIMIT_NICE"),
        (libc::RLIMIT_RTPRIO as u32, "RLIMIT_RTPRIO"),
        (libc::RLIMIT_RTTIME as u32, "RLIMIT_RTTIME"),
    ];
    NAMES
        .iter()
        .find(|(r, _)| *r as i32 == resource)
        .map(|(_, n)| n.to_string())
        .unwrap_or_else(|| format!("rlimit {resource}"))
}
