//! What this process may do, and the `SKIP: <reason>` line a test prints when it cannot run.

use forkexec::Command;

/// Whether this process runs as root (effective uid 0).
pub fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// Prints the conventional skip line; the caller returns.
pub fn skip(reason: &str) {
    println!("SKIP: {reason}");
}

/// Whether this process may make a user namespace (and map itself to root inside).
pub fn userns_available() -> bool {
    let uid = rustix::process::getuid().as_raw();
    let gid = rustix::process::getgid().as_raw();
    Command::new("true")
        .clone_namespaces("user")
        .uid_map((0, uid, 1))
        .gid_map((0, gid, 1))
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}
