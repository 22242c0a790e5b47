//! [`Child`]: the handle of a running process, addressed through its pidfd so no PID-reuse race
//! exists. (The steps that run *inside* the new process are `sys::child_sequence`.)

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::process::{ChildStderr, ChildStdin, ChildStdout, ExitStatus, Output};
use std::time::{Duration, Instant};

use rustix::process::{waitid, WaitId, WaitIdOptions, WaitIdStatus};

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
    pidfd: OwnedFd,
    status: Option<ExitStatus>,
    kill_on_drop: bool,
    group_leader: bool,
    /// The parent's terminal fd whose foreground group the child's group took (`foreground`),
    /// and that group: given back to the parent's group once the child has exited.
    foreground: Option<(i32, i32)>,
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
    /// One waitid on the pidfd for an exit (and, for a traced child, its ptrace-stops, which
    /// the kernel reports to the tracer whatever the flags). `Ok(None)`: nothing yet (NOHANG).
    fn wait_event(&mut self, options: WaitIdOptions) -> io::Result<Option<ChildEvent>> {
        if let Some(s) = self.status {
            return Ok(Some(ChildEvent::Exited(s)));
        }
        loop {
            match waitid(
                WaitId::PidFd(self.pidfd.as_fd()),
                WaitIdOptions::EXITED | options,
            ) {
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
        crate::sys::signals::send_signal(self.pidfd.as_fd(), sig)
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

impl Drop for Process {
    fn drop(&mut self) {
        if self.kill_on_drop && self.status.is_none() {
            // A group leader takes its group along: that is what a session or group was
            // asked for (grandchildren that stayed in it die too). Before the reap, so the
            // pgid cannot have been reused.
            if self.group_leader {
                let _ = self.kill_group(libc::SIGKILL);
            }
            let _ = self.send_signal(libc::SIGKILL);
            let _ = self.wait_exit(WaitIdOptions::empty());
        }
    }
}

impl Child {
    pub(crate) fn new(
        pid: i32,
        pidfd: OwnedFd,
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
            },
            pty: None,
        }
    }

    /// The process id.
    pub fn id(&self) -> u32 {
        self.process.pid as u32
    }

    /// The pidfd: refers to this process only, even after its pid is reused.
    pub fn pidfd(&self) -> BorrowedFd<'_> {
        self.process.pidfd.as_fd()
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
    pub fn wait_timeout(&mut self, timeout: Duration) -> io::Result<Option<ExitStatus>> {
        use rustix::event::{poll, PollFd, PollFlags};
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
                    // poll's timespec takes seconds as i64: a longer wait is cut into pieces.
                    Some(left.min(Duration::from_secs(i64::MAX as u64 / 2)))
                }
                None => None,
            };
            let ts = left.map(|left| rustix::event::Timespec {
                tv_sec: left.as_secs() as i64,
                tv_nsec: left.subsec_nanos() as i64,
            });
            // A pidfd polls readable once the process has exited.
            let mut fds = [PollFd::new(&self.process.pidfd, PollFlags::IN)];
            match poll(&mut fds, ts.as_ref()) {
                Ok(_) | Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Sends signal `sig` through the pidfd (never to a recycled pid): any number the kernel
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
