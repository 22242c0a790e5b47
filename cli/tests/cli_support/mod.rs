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

/// A process we did not spawn, watched until it exits without following a reused pid: through
/// a pidfd (pidfd_open: it polls readable once the process has exited, whoever reaps it), or,
/// where the kernel has none (the suites also run under emulated kernels before 5.3), by its
/// pid together with its start time from /proc, which a reused pid would not have.
pub enum Watched {
    Pidfd(OwnedFd),
    Proc { pid: i32, start: String },
}

/// Field 22 of /proc/PID/stat, the start time in clock ticks; None once the pid is gone.
fn start_time(pid: i32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    // A zombie has exited: for these tests that is gone.
    if after.starts_with('Z') {
        return None;
    }
    after.split_whitespace().nth(19).map(str::to_string)
}

impl Watched {
    pub fn pid(pid: u32) -> Watched {
        let p = rustix::process::Pid::from_raw(pid as i32).expect("a pid");
        match rustix::process::pidfd_open(p, rustix::process::PidfdFlags::empty()) {
            Ok(fd) => Watched::Pidfd(fd),
            Err(e) => {
                let start = start_time(pid as i32)
                    .unwrap_or_else(|| panic!("pidfd_open({pid}): {e}, and it is gone"));
                Watched::Proc {
                    pid: pid as i32,
                    start,
                }
            }
        }
    }

    /// Whether it exits within `limit`.
    pub fn exits_within(&self, limit: Duration) -> bool {
        use rustix::event::{poll, PollFd, PollFlags, Timespec};
        match self {
            Watched::Pidfd(fd) => {
                let ts = Timespec {
                    tv_sec: limit.as_secs() as i64,
                    tv_nsec: limit.subsec_nanos() as i64,
                };
                let mut fds = [PollFd::new(fd, PollFlags::IN)];
                matches!(poll(&mut fds, Some(&ts)), Ok(n) if n > 0)
            }
            Watched::Proc { pid, start } => {
                let deadline = std::time::Instant::now() + limit;
                loop {
                    if start_time(*pid).as_ref() != Some(start) {
                        return true;
                    }
                    if std::time::Instant::now() >= deadline {
                        return false;
                    }
                    std::thread::sleep(Duration::from_millis(2));
                }
            }
        }
    }

    /// SIGKILL, for clean-up.
    pub fn kill(&self) {
        match self {
            Watched::Pidfd(fd) => {
                let _ = rustix::process::pidfd_send_signal(fd, rustix::process::Signal::KILL);
            }
            Watched::Proc { pid, start } => {
                if start_time(*pid).as_ref() == Some(start) {
                    let _ = rustix::process::kill_process(
                        rustix::process::Pid::from_raw(*pid).expect("a pid"),
                        rustix::process::Signal::KILL,
                    );
                }
            }
        }
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
