//! What the CLI tests share: the binary, a clean way to start it, a pty, waiting with a bound.
#![allow(dead_code)]

use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_forkexec");

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

pub fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// `forkexec ARGS...` as a shell would start it, whatever this test process inherited: no
/// signal blocked or ignored (a CI runner may start tests with some ignored). It leads a
/// process group of its own, so [`KillGroupOnDrop`] can clean up after a failed test.
pub fn forkexec(args: &[&str]) -> forkexec::Command {
    let mut cmd = forkexec::Command::new(BIN);
    cmd.args(args)
        .process_group(0)
        .reset_ignored_signals(true)
        .signal_mask(forkexec::attr::SignalSet::EMPTY);
    cmd
}

/// SIGKILL to the process group a [`forkexec`] leads (its id is forkexec's pid) when the test
/// ends, passed or failed: a child that a broken forkexec left running goes too, and cannot
/// hold a pipe of the test harness open.
pub struct KillGroupOnDrop(pub u32);

impl Drop for KillGroupOnDrop {
    fn drop(&mut self) {
        if let Some(pgid) = rustix::process::Pid::from_raw(self.0 as i32) {
            let _ = rustix::process::kill_process_group(pgid, rustix::process::Signal::KILL);
        }
    }
}

/// A pty pair: the master, and the slave opened without becoming our controlling terminal.
pub fn pty_slave() -> (OwnedFd, std::fs::File) {
    use rustix::pty::{grantpt, openpt, ptsname, unlockpt, OpenptFlags};
    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC).unwrap();
    grantpt(&master).unwrap();
    unlockpt(&master).unwrap();
    let name = ptsname(&master, Vec::new()).unwrap();
    let slave = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOCTTY)
        .open(std::ffi::OsStr::from_bytes(name.as_bytes()))
        .unwrap();
    (master, slave)
}

/// Waits for `child` at most `limit`; kills it and fails the test if it is still running.
pub fn wait_bounded(
    child: &mut forkexec::Child,
    limit: Duration,
    what: &str,
) -> std::process::ExitStatus {
    match child.wait_timeout(limit).unwrap() {
        Some(st) => st,
        None => {
            let _ = child.kill_group(libc::SIGKILL);
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: still running after {limit:?}");
        }
    }
}

/// Polls `cond` every 5 ms until it holds or `limit` passes; returns whether it held.
pub fn eventually(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A pidfd for a process we did not spawn (pidfd_open): it polls readable once it has exited,
/// whoever reaps it, and never follows a reused pid.
pub struct Watched(OwnedFd);

impl Watched {
    pub fn pid(pid: u32) -> Watched {
        let pid = rustix::process::Pid::from_raw(pid as i32).expect("a pid");
        Watched(rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty()).unwrap())
    }

    /// Whether it exits within `limit`.
    pub fn exits_within(&self, limit: Duration) -> bool {
        use rustix::event::{poll, PollFd, PollFlags, Timespec};
        let ts = Timespec {
            tv_sec: limit.as_secs() as i64,
            tv_nsec: limit.subsec_nanos() as i64,
        };
        let mut fds = [PollFd::new(&self.0, PollFlags::IN)];
        matches!(poll(&mut fds, Some(&ts)), Ok(n) if n > 0)
    }

    /// SIGKILL, for clean-up.
    pub fn kill(&self) {
        let _ = rustix::process::pidfd_send_signal(&self.0, rustix::process::Signal::KILL);
    }
}

/// `forkexec SUBCOMMAND ARGS... -- touch MARKER` must be a usage error: exit 2, a message
/// containing `needle`, and no program run (the marker file is not there).
pub fn assert_refused(subcommand: &str, args: &[&str], needle: &str) {
    let marker = std::env::temp_dir().join(format!(
        "forkexec-refused-{subcommand}-{}",
        std::process::id()
    ));
    let out = std::process::Command::new(BIN)
        .arg(subcommand)
        .args(args)
        .arg("--")
        .arg("touch")
        .arg(&marker)
        .output()
        .unwrap();
    let ran = marker.exists();
    let _ = std::fs::remove_file(&marker);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{subcommand} {args:?}: {err}");
    assert!(err.contains(needle), "{subcommand} {args:?}: {err}");
    assert!(!ran, "{subcommand} {args:?}: the program ran");
}
