//! [`Child`]: the handle of a running process, addressed through its pidfd so no PID-reuse race
//! exists. (The steps that run *inside* the new process are `sys::child_sequence`.)
//!
//! Where the kernel gives no pidfd (before 5.2/5.3, or a seccomp filter refusing CLONE_PIDFD and
//! pidfd_open) or cannot use one (waitid(P_PIDFD) before 5.4, pidfd_send_signal before 5.1),
//! the process is waited for and signalled by pid. That is race-free too while it is unreaped
//! (a zombie keeps its pid): the `Child` reaps it and never signals it after. What a pid cannot
//! guard against is other code of the same process reaping children it does not own
//! (`waitpid(-1)`, SIGCHLD set to SIG_IGN), which breaks std's `Child` as well.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::process::{ChildStderr, ChildStdin, ChildStdout, ExitStatus, Output};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::sys::features::{self, NoPidfd};
use rustix::process::{waitid, Pid, WaitId, WaitIdOptions, WaitIdStatus};

mod pty;
mod stopping;

pub use pty::Pty;

/// A spawned process: `std::process::Child`'s shape (public `stdin`, `stdout`, `stderr` that
/// can be moved out), addressed through a pidfd.
///
/// Dropping it does not kill or reap the child unless `kill_on_drop` was set on the Command
/// (the std behaviour); then a child that leads its own process group (`setsid`,
/// `process_group(0)`, `foreground`) is killed with its whole group.
///
/// Its `Debug` is std's: `Child { stdin: None, stdout: Some(ChildStdout { .. }), stderr: None,
/// .. }` (the pid is [`Child::id`]).
pub struct Child {
    /// The parent's end of the child's stdin, if piped.
    pub stdin: Option<ChildStdin>,
    /// The parent's end of the child's stdout, if piped.
    pub stdout: Option<ChildStdout>,
    /// The parent's end of the child's stderr, if piped.
    pub stderr: Option<ChildStderr>,
    process: Process,
    /// The primary side of the child's pty (`Command::pty`).
    pty: Option<Pty>,
}

impl std::fmt::Debug for Child {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Child")
            .field("stdin", &self.stdin)
            .field("stdout", &self.stdout)
            .field("stderr", &self.stderr)
            .finish_non_exhaustive()
    }
}

/// What a wait saw: the child's end, or a stop of a child this process traces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChildEvent {
    /// The child exited or was killed; it has been reaped.
    Exited(ExitStatus),
    /// A ptrace-stop (`ptrace(true)`): the child is stopped with this signal (SIGTRAP at the
    /// exec) until the tracer resumes it. It is still running.
    Traced(i32),
}

/// The process itself: its pid, its pidfd, its status once reaped. Owning it apart from the
/// pipes is what lets the pipes be moved out of a [`Child`], which has no Drop of its own.
#[derive(Debug)]
struct Process {
    pid: i32,
    /// The pidfd, or why there is none (then everything goes by pid).
    pidfd: Result<OwnedFd, NoPidfd>,
    status: Option<ExitStatus>,
    kill_on_drop: bool,
    group_leader: bool,
    /// The parent's terminal fd whose foreground group the child's group took (`foreground`),
    /// and that group: given back to the parent's group once the child has exited.
    foreground: Option<(i32, i32)>,
    /// What wakes `wait_timeout` where no pidfd can be polled, started on its first need.
    exit_watch: Option<Arc<ExitWatch>>,
}

/// Wakes a `wait_timeout` when a child without a pollable pidfd exits (kernels before 5.3): a
/// thread blocked in waitid(P_PID, pid, WEXITED|WNOWAIT). WNOWAIT sees the exit without
/// reaping, so the `Child` still collects the status and the pid stays reserved until it does.
///
/// Chosen over the alternatives: a SIGCHLD handler (or signalfd, which needs SIGCHLD blocked in
/// every thread) would change process-wide state behind the user's back and compete with
/// their own handler; polling waitid(WNOHANG) with a growing sleep (CPython's way) wakes late
/// by up to its sleep, or often. The thread wakes within microseconds of the exit and touches
/// nothing else. Its price: one small thread per child waited on with a timeout, living until
/// that child exits (a child that never exits keeps it parked). Where no thread can be started
/// (RLIMIT_NPROC counts threads), `wait_timeout` looks again every [`POLL_SLICE`].
#[derive(Debug, Default)]
struct ExitWatch {
    exited: Mutex<bool>,
    changed: Condvar,
}

/// How often `wait_timeout` looks when neither a pidfd nor an exit-watch thread can wake it.
const POLL_SLICE: Duration = Duration::from_millis(5);

impl ExitWatch {
    fn start(pid: Pid) -> io::Result<Arc<ExitWatch>> {
        let watch = Arc::new(ExitWatch::default());
        let theirs = Arc::clone(&watch);
        std::thread::Builder::new()
            .name("forkexec-exit-watch".into())
            .stack_size(64 * 1024)
            .spawn(move || {
                // Returns at the exit, or with ECHILD once the Child reaped it first. A traced
                // child's ptrace-stops show here too (any thread of the tracer's process sees
                // them) and, not consumed, again: look again a little later.
                loop {
                    let options = WaitIdOptions::EXITED | WaitIdOptions::NOWAIT;
                    match waitid(WaitId::Pid(pid), options) {
                        Err(rustix::io::Errno::INTR) => continue,
                        Ok(Some(st)) if !(st.exited() || st.killed() || st.dumped()) => {
                            std::thread::sleep(POLL_SLICE)
                        }
                        _ => break,
                    }
                }
                *theirs.exited.lock().unwrap_or_else(PoisonError::into_inner) = true;
                theirs.changed.notify_all();
            })?;
        Ok(watch)
    }

    /// Sleeps until the exit or for `left` (None: without limit).
    fn sleep(&self, left: Option<Duration>) {
        let exited = self.exited.lock().unwrap_or_else(PoisonError::into_inner);
        match left {
            Some(left) => drop(self.changed.wait_timeout_while(exited, left, |e| !*e)),
            None => drop(self.changed.wait_while(exited, |e| !*e)),
        }
    }
}

fn to_exit_status(st: &WaitIdStatus) -> ExitStatus {
    // Rebuild the classic wait status word that ExitStatus wraps.
    if let Some(code) = st.exit_status() {
        ExitStatus::from_raw((code & 0xff) << 8)
    } else {
        let sig = st.terminating_signal().unwrap_or(0);
        ExitStatus::from_raw(sig | if st.dumped() { 0x80 } else { 0 })
    }
}

impl Process {
    fn pid(&self) -> Pid {
        Pid::from_raw(self.pid).expect("a child's pid is positive")
    }

    /// What to wait on: the pidfd where waitid(P_PIDFD) works (5.4), else the pid.
    fn wait_id(&self) -> WaitId<'_> {
        match &self.pidfd {
            Ok(fd) if features::cached().waitid_pidfd.works() => WaitId::PidFd(fd.as_fd()),
            _ => WaitId::Pid(self.pid()),
        }
    }

    /// One waitid on the pidfd for an exit (and, for a traced child, its ptrace-stops, which
    /// the kernel reports to the tracer whatever the flags). `Ok(None)`: nothing yet (NOHANG).
    fn wait_event(&mut self, options: WaitIdOptions) -> io::Result<Option<ChildEvent>> {
        if let Some(s) = self.status {
            return Ok(Some(ChildEvent::Exited(s)));
        }
        loop {
            match waitid(self.wait_id(), WaitIdOptions::EXITED | options) {
                Ok(Some(st)) if st.exited() || st.killed() || st.dumped() => {
                    let s = to_exit_status(&st);
                    self.status = Some(s);
                    // As a shell after a foreground job: the terminal is ours again, or the
                    // caller would be stopped (SIGTTIN) at its next read of it.
                    if let Some((tty, pgrp)) = self.foreground.take() {
                        crate::sys::terminal::reclaim_foreground(tty, pgrp);
                    }
                    return Ok(Some(ChildEvent::Exited(s)));
                }
                Ok(Some(st)) => {
                    let sig = st.trapping_signal().or(st.stopping_signal()).unwrap_or(0);
                    return Ok(Some(ChildEvent::Traced(sig)));
                }
                Ok(None) => return Ok(None),
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Waits for the exit, passing over ptrace-stops: a stopped child has not exited.
    fn wait_exit(&mut self, options: WaitIdOptions) -> io::Result<Option<ExitStatus>> {
        loop {
            match self.wait_event(options)? {
                Some(ChildEvent::Exited(s)) => return Ok(Some(s)),
                Some(ChildEvent::Traced(_)) => continue,
                None => return Ok(None),
            }
        }
    }

    fn send_signal(&mut self, sig: i32) -> io::Result<()> {
        if self.status.is_some() {
            return Ok(());
        }
        match &self.pidfd {
            Ok(fd) if features::cached().pidfd_send_signal.works() => {
                crate::sys::signals::send_signal(fd.as_fd(), sig)
            }
            // Unreaped (status is None): the pid is still this child's.
            _ => crate::sys::signals::kill_pid(self.pid, sig),
        }
    }

    /// Sleeps until the process exits or `left` has passed (None: without limit): poll on the
    /// pidfd, or the exit watch where there is no pidfd that polls.
    fn sleep_until_exit(&mut self, left: Option<Duration>) -> io::Result<()> {
        use rustix::event::{poll, PollFd, PollFlags};
        match &self.pidfd {
            Ok(fd) if features::cached().pidfd_pollable() => {
                // poll's timespec takes seconds as i64: a longer wait is cut into pieces.
                let ts = left.map(|left| {
                    let left = left.min(Duration::from_secs(i64::MAX as u64 / 2));
                    rustix::event::Timespec {
                        tv_sec: left.as_secs() as i64,
                        tv_nsec: left.subsec_nanos() as i64,
                    }
                });
                // A pidfd polls readable once the process has exited.
                let mut fds = [PollFd::new(fd, PollFlags::IN)];
                match poll(&mut fds, ts.as_ref()) {
                    Ok(_) | Err(rustix::io::Errno::INTR) => Ok(()),
                    Err(e) => Err(e.into()),
                }
            }
            _ => {
                if self.exit_watch.is_none() {
                    self.exit_watch = ExitWatch::start(self.pid()).ok();
                }
                match &self.exit_watch {
                    Some(watch) => watch.sleep(left),
                    // No thread to be had (RLIMIT_NPROC counts threads too): look again in
                    // a few milliseconds.
                    None => std::thread::sleep(left.map_or(POLL_SLICE, |l| l.min(POLL_SLICE))),
                }
                Ok(())
            }
        }
    }

    fn kill_group(&mut self, sig: i32) -> io::Result<()> {
        if !self.group_leader {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the child does not lead a process group (use setsid or process_group(0))",
            ));
        }
        // The group id is the child's pid. Until we reap the child that id cannot be reused,
        // so the group cannot be someone else's; after the reap it could, so refuse.
        if self.status.is_some() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the group leader was already reaped; its pgid may be reused",
            ));
        }
        // kill(-pgid, sig): any signal number, 0 included, as for the child itself.
        crate::sys::signals::kill_group(self.pid, sig)
    }
}

impl Process {
    /// What `kill_on_drop` does before the reap: SIGKILL to the child, and first to its whole
    /// group when it leads one (that is what a session or group was asked for: grandchildren
    /// that stayed in it die too). Before the reap, so the pgid cannot have been reused.
    fn kill_as_dropped(&mut self) {
        if self.status.is_some() {
            return;
        }
        if self.group_leader {
            let _ = self.kill_group(libc::SIGKILL);
        }
        let _ = self.send_signal(libc::SIGKILL);
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if self.kill_on_drop && self.status.is_none() {
            self.kill_as_dropped();
            let _ = self.wait_exit(WaitIdOptions::empty());
        }
    }
}

impl Child {
    pub(crate) fn new(
        pid: i32,
        pidfd: Result<OwnedFd, NoPidfd>,
        [stdin, stdout, stderr]: [Option<OwnedFd>; 3],
        kill_on_drop: bool,
        group_leader: bool,
        foreground: Option<(i32, i32)>,
    ) -> Child {
        Child {
            stdin: stdin.map(ChildStdin::from),
            stdout: stdout.map(ChildStdout::from),
            stderr: stderr.map(ChildStderr::from),
            process: Process {
                pid,
                pidfd,
                status: None,
                kill_on_drop,
                group_leader,
                foreground,
                exit_watch: None,
            },
            pty: None,
        }
    }

    /// The process id.
    pub fn id(&self) -> u32 {
        self.process.pid as u32
    }

    /// The pidfd: refers to this process only, even after its pid is reused. An error
    /// (`ErrorKind::Unsupported`) where the kernel gave none, saying why: CLONE_PIDFD needs
    /// Linux 5.2, pidfd_open 5.3, and a seccomp filter may refuse both. The child is then
    /// waited for and signalled by pid, which is safe while it is unreaped.
    pub fn pidfd(&self) -> io::Result<BorrowedFd<'_>> {
        match &self.process.pidfd {
            Ok(fd) => Ok(fd.as_fd()),
            Err(why) => Err(io::Error::new(io::ErrorKind::Unsupported, why.to_string())),
        }
    }

    /// The pidfd if it becomes readable when the child exits (pidfds poll since Linux 5.3), for
    /// an event loop to wait on; None where the exit must be noticed another way (no pidfd, or
    /// 5.2's, which polls as always readable).
    #[cfg(feature = "tokio")]
    pub(crate) fn pollable_pidfd(&self) -> Option<BorrowedFd<'_>> {
        match &self.process.pidfd {
            Ok(fd) if features::cached().pidfd_pollable() => Some(fd.as_fd()),
            _ => None,
        }
    }

    /// The pidfd if signals go through it (pidfd_send_signal, Linux 5.1), as `send_signal`
    /// sends them; None where they go by pid.
    #[cfg(feature = "tokio")]
    pub(crate) fn signalling_pidfd(&self) -> Option<BorrowedFd<'_>> {
        match &self.process.pidfd {
            Ok(fd) if features::cached().pidfd_send_signal.works() => Some(fd.as_fd()),
            _ => None,
        }
    }

    /// Takes over `kill_on_drop`: returns whether it was set and clears it, so that dropping
    /// this Child neither kills nor waits (the async Child kills without blocking, then reaps
    /// in the background).
    #[cfg(feature = "tokio")]
    pub(crate) fn take_kill_on_drop(&mut self) -> bool {
        std::mem::take(&mut self.process.kill_on_drop)
    }

    /// What `kill_on_drop` sends when the Child is dropped unreaped (SIGKILL to the group of a
    /// group leader, then to the child), without the wait that follows it there.
    #[cfg(feature = "tokio")]
    pub(crate) fn kill_as_dropped(&mut self) {
        self.process.kill_as_dropped()
    }

    /// Waits for the child to exit (waitid on the pidfd). Closes stdin first, as std does, so
    /// a child reading it to EOF can finish. A traced child's ptrace-stops are passed over:
    /// this returns only once it has exited ([`wait_event`](Self::wait_event) sees the stops).
    pub fn wait(&mut self) -> io::Result<ExitStatus> {
        drop(self.stdin.take());
        self.process
            .wait_exit(WaitIdOptions::empty())
            .map(|s| s.expect("blocking waitid returns a status"))
    }

    /// The exit status if the child has exited, without blocking.
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        self.process.wait_exit(WaitIdOptions::NOHANG)
    }

    /// Waits for the next event of a child this process traces (`ptrace(true)`): a ptrace-stop
    /// (the child still runs, stopped) or its exit. For an untraced child this is `wait`.
    pub fn wait_event(&mut self) -> io::Result<ChildEvent> {
        self.process
            .wait_event(WaitIdOptions::empty())
            .map(|e| e.expect("blocking waitid returns an event"))
    }

    /// Stops tracing a child spawned with `ptrace(true)` that is in a ptrace-stop (as
    /// [`wait_event`](Self::wait_event) reports at its exec), resuming it with `signal`: 0 lets
    /// it run, SIGSTOP leaves it stopped for a debugger to attach (`gdb -p PID`), then SIGCONT
    /// or the debugger resumes it. ptrace(PTRACE_DETACH); must be called from the thread that
    /// spawned the child (the tracer is that thread).
    pub fn ptrace_detach(&mut self, signal: i32) -> io::Result<()> {
        crate::sys::ptrace::detach(self.process.pid, signal)
    }

    /// Waits at most `timeout`; `Ok(None)` if the child is still running then. A timeout too
    /// large to add to the clock (`Duration::MAX`) waits without limit, as std's timeouts do.
    /// Sleeps in poll on the pidfd; without a pollable pidfd (before Linux 5.3) on a helper
    /// thread's waitid, started on the first call (no SIGCHLD handler is installed).
    pub fn wait_timeout(&mut self, timeout: Duration) -> io::Result<Option<ExitStatus>> {
        let deadline = Instant::now().checked_add(timeout);
        loop {
            if let Some(s) = self.try_wait()? {
                return Ok(Some(s));
            }
            let left = match deadline {
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Ok(None);
                    }
                    Some(left)
                }
                None => None,
            };
            self.process.sleep_until_exit(left)?;
        }
    }

    /// Sends signal `sig` through the pidfd, or to the pid where there is none (never to a
    /// recycled pid: only while the child is unreaped): any number the kernel
    /// accepts, 0 (does it still exist?) and the real-time signals included. Ok if it already
    /// exited and was reaped, like std's `kill`.
    pub fn send_signal(&mut self, sig: i32) -> io::Result<()> {
        self.process.send_signal(sig)
    }

    /// SIGKILL through the pidfd.
    pub fn kill(&mut self) -> io::Result<()> {
        self.send_signal(libc::SIGKILL)
    }

    /// Sends `sig` to the child's whole process group (the child must lead one: `setsid` or
    /// `process_group(0)`). Reaches grandchildren that stayed in the group.
    pub fn kill_group(&mut self, sig: i32) -> io::Result<()> {
        self.process.kill_group(sig)
    }

    /// Collects stdout and stderr (both at once, so neither pipe can fill and block the
    /// child), then waits.
    pub fn wait_with_output(mut self) -> io::Result<Output> {
        drop(self.stdin.take());
        let (stdout, stderr) = read_both(self.stdout.take(), self.stderr.take())?;
        let status = self.wait()?;
        Ok(Output {
            status,
            stdout,
            stderr,
        })
    }
}

/// Reads two pipes to EOF, whichever has data, with poll.
fn read_both(out: Option<ChildStdout>, err: Option<ChildStderr>) -> io::Result<(Vec<u8>, Vec<u8>)> {
    use rustix::event::{poll, PollFd, PollFlags};
    // Each stream: its pipe until EOF, and what was read from it.
    let mut streams: [(Option<OwnedFd>, Vec<u8>); 2] = [
        (out.map(OwnedFd::from), Vec::new()),
        (err.map(OwnedFd::from), Vec::new()),
    ];
    let mut chunk = vec![0u8; 64 * 1024];
    while streams.iter().any(|(fd, _)| fd.is_some()) {
        let mut ready = [false; 2];
        {
            let mut fds: Vec<PollFd<'_>> = Vec::with_capacity(2);
            let mut which = Vec::with_capacity(2);
            for (i, (fd, _)) in streams.iter().enumerate() {
                if let Some(fd) = fd {
                    fds.push(PollFd::new(fd, PollFlags::IN));
                    which.push(i);
                }
            }
            match poll(&mut fds, None) {
                Ok(_) => {}
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(e.into()),
            }
            for (f, i) in fds.iter().zip(which) {
                ready[i] = !f.revents().is_empty();
            }
        }
        for ((fd, buf), ready) in streams.iter_mut().zip(ready) {
            let Some(pipe) = fd.as_ref().filter(|_| ready) else {
                continue;
            };
            match rustix::io::read(pipe, &mut chunk) {
                Ok(0) => *fd = None,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    let [(_, stdout), (_, stderr)] = streams;
    Ok((stdout, stderr))
}
