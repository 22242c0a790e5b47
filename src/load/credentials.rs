//! The credentials the new program runs with, and AT_SECURE.
//!
//! A userland loader cannot change credentials the way execve does for a set-user-ID or
//! set-group-ID file, or one with file capabilities: it runs the program with the credentials
//! the process already has, as the kernel does on a `nosuid` mount (or under
//! `no_new_privs`): the bits are ignored, no privilege is gained.
//!
//! AT_SECURE tells the C library to distrust its environment (ld.so then ignores
//! LD_PRELOAD, LD_LIBRARY_PATH and friends). The kernel sets it (`cap_bprm_creds_from_file`)
//! when the credentials the program runs with differ from the real ones: effective uid other
//! than the real uid, effective gid other than the real gid, or, for a process whose real uid
//! is not root, permitted capabilities beyond the ambient set (what the exec would otherwise
//! have left it). The loader applies the same rule to the credentials the program keeps, so a
//! setuid-root program that loads another one, or a loader holding file capabilities, hands
//! the new program a secure-mode start, as execve would.

use crate::model::stack::Ids;

/// The ids the new program starts with (the process's own) and the kernel's AT_SECURE for
/// them.
pub fn after_exec() -> Ids {
    use rustix::process::{getegid, geteuid, getgid, getuid};
    let (uid, euid, gid, egid) = (
        getuid().as_raw(),
        geteuid().as_raw(),
        getgid().as_raw(),
        getegid().as_raw(),
    );
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    Ids {
        uid,
        euid,
        gid,
        egid,
        secure: secure(uid, euid, gid, egid, &status),
    }
}

/// The kernel's AT_SECURE for a program running with these ids and the capability sets in
/// `status` (/proc/PID/status text). Without the capability lines (no /proc) only the ids
/// decide.
pub fn secure(uid: u32, euid: u32, gid: u32, egid: u32, status: &str) -> bool {
    let set = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
    };
    let capabilities_gained = match (set("CapPrm:"), set("CapAmb:")) {
        (Some(permitted), Some(ambient)) => uid != 0 && permitted & !ambient != 0,
        _ => false,
    };
    euid != uid || egid != gid || capabilities_gained
}

#[cfg(test)]
mod tests {
    use super::secure;

    const NO_CAPS: &str = "CapInh:\t0000000000000000\nCapPrm:\t0000000000000000\nCapEff:\t0000000000000000\nCapAmb:\t0000000000000000\n";
    const ROOT_CAPS: &str =
        "CapPrm:\t000001ffffffffff\nCapEff:\t000001ffffffffff\nCapAmb:\t0000000000000000\n";
    const AMBIENT_NET_RAW: &str = "CapPrm:\t0000000000002000\nCapAmb:\t0000000000002000\n";

    #[test]
    fn ids_that_differ_are_secure() {
        assert!(!secure(1000, 1000, 1000, 1000, NO_CAPS));
        assert!(secure(1000, 0, 1000, 1000, NO_CAPS), "setuid root");
        assert!(
            secure(0, 1000, 0, 0, NO_CAPS),
            "euid dropped but not the real uid"
        );
        assert!(secure(1000, 1000, 1000, 50, NO_CAPS), "setgid");
    }

    #[test]
    fn capabilities_beyond_the_ambient_set_are_secure_unless_real_root() {
        assert!(
            !secure(0, 0, 0, 0, ROOT_CAPS),
            "root keeps its capabilities"
        );
        assert!(
            secure(1000, 1000, 1000, 1000, ROOT_CAPS),
            "file capabilities"
        );
        assert!(
            !secure(1000, 1000, 1000, 1000, AMBIENT_NET_RAW),
            "ambient ones survive exec"
        );
        assert!(
            !secure(1000, 1000, 1000, 1000, ""),
            "no /proc: the ids decide"
        );
    }
}
