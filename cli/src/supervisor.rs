//! `forkexec run` as a supervisor, the way timeout(1), tini and `unshare --fork` stand between a
//! caller and its program: the signals a caller sends to stop or steer a job are passed on to
//! the child, which decides how to exit, and forkexec exits with the child's status.
//!
//! No signal may be lost between the spawn and the wait, and no handler of ours may reach the
//! child, so there is no handler at all: the forwarded signals are blocked *before* the spawn
//! and read synchronously from a signalfd, polled together with the child's pidfd. A signal
//! that arrives while forkexec starts the child waits, pending, until the loop reads it. The
//! child is handed the mask forkexec itself was started with (`Command::signal_mask`), not the
//! one it blocked.
//!
//! Signals the caller had ignored or blocked when it started forkexec are not forwarded (they
//! were not meant to act on this job: `nohup`, a shell's background job), and a signal the
//! terminal sent to the whole foreground process group is not sent a second time to a child in
//! forkexec's own group: it already had it.
//!
//! The child's exit wakes the loop through its pidfd; where the kernel gives none (before Linux
//! 5.3, see the README's "Where it runs"), through SIGCHLD, which is blocked and read from the
//! same signalfd (never forwarded; the child gets the original mask, so it has SIGCHLD as
//! forkexec was given it).

use crate::run_sandbox::{Relay, Timeout};
use forkexec::attr::{Signal, SignalSet};
use forkexec::Child;
use nix::sys::signalfd::{SfdFlags, SignalFd};
use rustix::event::{poll, PollFd, PollFlags};
use std::io;
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::time::{Duration, Instant};

/// What a caller sends to stop, reload or resize a job: these reach the child.
pub const FORWARDED: [i32; 7] = [
    libc::SIGTERM,
    libc::SIGINT,
    libc::SIGHUP,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
    libc::SIGWINCH,
];

/// si_code of a signal the kernel itself sent: a terminal's INT, QUIT, HUP or WINCH, delivered
/// to a whole process group (not in the libc crate).
const SI_KERNEL: i32 = 0x80;

/// The forwarded signals, blocked in this (single) thread and readable from a signalfd.
pub struct Forwarder {
    signals: SignalFd,
    /// The mask forkexec was started with: the child's, unless `--sigmask` says otherwise.
    original_mask: SignalSet,
}

impl Forwarder {
    /// Blocks the signals to forward (those the caller did not ignore or block) and opens the
    /// signalfd that receives them. Must run before the spawn.
    pub fn start() -> io::Result<Forwarder> {
        let wanted: SignalSet = FORWARDED.into_iter().filter_map(Signal::new).collect();
        let ignored = wanted.ignored_in_this_process();
        let to_block: SignalSet = wanted.iter().filter(|s| !ignored.contains(*s)).collect();
        let chld = Signal::new(libc::SIGCHLD).expect("SIGCHLD is a signal");
        let original_mask = to_block.with(chld).block_in_this_thread()?;
        let forwarded = to_block.iter().filter(|s| !original_mask.contains(*s));
        let set = forwarded
            .chain([chld])
            .filter_map(|s| nix::sys::signal::Signal::try_from(s.number()).ok())
            .collect();
        let signals = SignalFd::with_flags(&set, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)?;
        Ok(Forwarder {
            signals,
            original_mask,
        })
    }

    pub fn original_mask(&self) -> SignalSet {
        self.original_mask
    }

    /// Forwards signals until the child exits, then returns its status (the child is reaped;
    /// with `--foreground` the library has given the terminal back to our group by then).
    /// With `--timeout`, stops it as timeout(1) does; with `--pty`, SIGWINCH resizes the
    /// program's terminal instead of being passed on.
    pub fn supervise(&self, child: &mut Child, s: &Supervision) -> io::Result<ExitStatus> {
        let mut clock = s.timeout.map(TimeoutClock::start);
        loop {
            {
                let pidfd = child.pidfd().ok();
                let mut fds = vec![PollFd::new(&self.signals, PollFlags::IN)];
                if let Some(pidfd) = &pidfd {
                    fds.push(PollFd::new(pidfd, PollFlags::IN));
                }
                let wake = clock.as_ref().and_then(TimeoutClock::left).map(|left| {
                    rustix::event::Timespec {
                        tv_sec: left.as_secs() as i64,
                        tv_nsec: left.subsec_nanos() as i64,
                    }
                });
                match poll(&mut fds, wake.as_ref()) {
                    Ok(_) | Err(rustix::io::Errno::INTR) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            while let Some(info) = self.signals.read_signal()? {
                match (info.ssi_signo as i32, s.relay) {
                    (libc::SIGCHLD, _) => {}
                    (libc::SIGWINCH, Some(relay)) => relay.resize_to_this_terminal(),
                    (sig, _) => forward(child, sig, info.ssi_code),
                }
            }
            if let Some(status) = child.try_wait()? {
                return Ok(match &clock {
                    Some(c) => c.status(status),
                    None => status,
                });
            }
            if let Some(c) = clock.as_mut() {
                c.act(child);
            }
        }
    }
}

/// Sends `sig` to the child's process group when it leads one (`--setsid`, `--setpgid`,
/// `--foreground`), else to the child alone, through its pidfd.
pub fn signal_child(child: &mut Child, sig: i32) {
    if child.kill_group(sig).is_err() {
        let _ = child.send_signal(sig);
    }
}

fn forward(child: &mut Child, sig: i32, code: i32) {
    if code == SI_KERNEL && to_our_whole_group(sig) && in_our_process_group(child) {
        // The terminal sent it to the foreground group, which is ours and the child's: the
        // child has it already, and a second Ctrl-C would interrupt its clean-up.
        return;
    }
    signal_child(child, sig);
}

/// Whether a signal the kernel sent us went to our whole process group. A terminal sends INT,
/// QUIT and WINCH to its foreground group, and HUP to an orphaned group; but when it hangs up
/// it sends HUP to the session leader alone, so a leader must pass that one on.
fn to_our_whole_group(sig: i32) -> bool {
    let leads_session = rustix::process::getsid(None).ok() == Some(rustix::process::getpid());
    !(sig == libc::SIGHUP && leads_session)
}

/// Whether the child is in forkexec's process group. Its pid cannot be reused before we reap
/// it, so asking by pid is safe here.
fn in_our_process_group(child: &Child) -> bool {
    let pid = rustix::process::Pid::from_raw(child.id() as i32);
    pid.and_then(|p| rustix::process::getpgid(Some(p)).ok()) == Some(rustix::process::getpgrp())
}

/// The exit code a shell would report for `status`: the code, or 128+N when killed by N.
pub fn exit_code(status: ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0))
}

/// What `run` asks of the supervision besides forwarding signals.
pub struct Supervision<'a> {
    /// `--timeout`: TERM after a while, KILL a grace later (timeout(1)).
    pub timeout: Option<Timeout>,
    /// `--pty`: the relay whose terminal SIGWINCH resizes.
    pub relay: Option<&'a Relay>,
}

/// timeout(1) on the supervisor's clock: TERM at `after` (to the child's group when it leads
/// one), KILL `grace` after that.
struct TimeoutClock {
    timeout: Timeout,
    term_at: Instant,
    /// When TERM was sent.
    termed: Option<Instant>,
    killed: bool,
}

impl TimeoutClock {
    fn start(timeout: Timeout) -> TimeoutClock {
        TimeoutClock {
            timeout,
            term_at: Instant::now() + timeout.after,
            termed: None,
            killed: false,
        }
    }

    /// Time until the next action, or None when nothing is left to do.
    fn left(&self) -> Option<Duration> {
        let next = match self.termed {
            None => self.term_at,
            Some(t) if !self.killed => t + self.timeout.grace?,
            Some(_) => return None,
        };
        Some(next.saturating_duration_since(Instant::now()))
    }

    /// Sends TERM or KILL if their time has come.
    fn act(&mut self, child: &mut Child) {
        if self.left() != Some(Duration::ZERO) {
            return;
        }
        if self.termed.is_none() {
            signal_child(child, libc::SIGTERM);
            self.termed = Some(Instant::now());
        } else {
            signal_child(child, libc::SIGKILL);
            self.killed = true;
        }
    }

    /// The status forkexec reports: timeout(1)'s 124 when the timeout ended the program with
    /// TERM (or the program then exited by itself), KILL's status when KILL did.
    fn status(&self, status: ExitStatus) -> ExitStatus {
        match self.termed {
            Some(_) if status.signal() != Some(libc::SIGKILL) => ExitStatus::from_raw(124 << 8),
            _ => status,
        }
    }
}
