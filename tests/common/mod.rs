//! Helpers shared by the attribute tests: run a probe child, read what it printed, and decide
//! whether a privilege-needing test can run here.
#![allow(dead_code)]

use forkexec::Command;

/// Runs `cmd`, asserts it succeeded, returns its stdout as text.
pub fn probe(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("spawn failed: {e}"));
    assert!(
        out.status.success(),
        "probe failed: {:?}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// A `sh -c SCRIPT` command.
pub fn sh(script: &str) -> Command {
    let mut c = Command::new("sh");
    c.args(["-c", script]);
    c
}

/// The value of `Field:` in a /proc status text.
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

pub fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// Prints why a test is skipped; the caller returns.
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

/// A new pseudo-terminal: (master, slave), neither our controlling terminal.
pub fn open_pty() -> (std::os::fd::OwnedFd, std::fs::File) {
    use rustix::pty::{grantpt, openpt, ptsname, unlockpt, OpenptFlags};
    let master =
        openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC).expect("openpt");
    grantpt(&master).expect("grantpt");
    unlockpt(&master).expect("unlockpt");
    let name = ptsname(&master, Vec::new()).expect("ptsname");
    let slave = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOCTTY)
        .open(std::ffi::OsStr::from_bytes(name.as_bytes()))
        .expect("open the pty slave");
    (master, slave)
}

use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;

/// What the kernel profile this run is under takes away (scripts/test.sh runs the suites under
/// `forkexec-emulate 3.10|4.18|5.4|docker`), or None on the real kernel.
pub fn emulated_lacks() -> Option<forkexec_emulate::Lacks> {
    forkexec_emulate::Profile::from_env().map(|p| p.lacks())
}

/// Asserts that spawning `cmd` fails with EINVAL and a message naming the feature and the
/// kernel that added it (`needs`, e.g. "time namespaces need Linux 5.6").
pub fn assert_refused_as_too_old(cmd: &mut Command, needs: &str) {
    let err = cmd
        .spawn()
        .expect_err("a feature this kernel lacks must be refused");
    assert_eq!(err.raw_os_error(), Some(libc::EINVAL), "{err}");
    assert!(err.to_string().contains(needs), "{err}");
    println!("refused as expected: {err}");
}
