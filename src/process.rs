//! [`Child`]: the handle of a running process, addressed through its pidfd so no PID-reuse race
//! exists. (The steps that run *inside* the new process are `sys::child_sequence`.)

use std::io::{self, Read};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::process::{ChildStderr, ChildStdin, ChildStdout, ExitStatus, Output};
use std::time::{Duration, Instant};

use rustix::process::{pidfd_send_signal, waitid, Signal, WaitId, WaitIdOptions, WaitIdStatus};

/// A spawned process. Dropping it does not kill or reap the child unless `kill_on_drop` was
/// set on the Command (the std behaviour); then a child that leads its own process group
/// (`setsid`, `process_group(0)`, `foreground`) is killed with its whole group.
#[derive(Debug)]
pub struct Child {
    pid: i32,
    pidfd: OwnedFd,
    /// The parent's end of the child's stdin, if piped.
    pub stdin: Option<ChildStdin>,
    /// The parent's end of the child's stdout, if piped.
    pub stdout: Option<ChildStdout>,
    /// The parent's end of the child's stderr, if piped.
    pub stderr: Option<ChildStderr>,
    status: Option<ExitStatus>,
    kill_on_drop: bool,
    group_leader: bool,
}

fn to_exit_status(st: &WaitIdStatus) -> ExitStatus {
    // Rebuild the classic wait status word that ExitStatus wraps.
    if let Some(code) = st.exit_status() {
        ExitStatus::from_raw((code & 0xff) << 8)
    } else if let Some(sig) = st.terminating_signal() {
        ExitStatus::from_raw(sig | if st.dumped() { 0x80 } else { 0 })
    } else {
        ExitStatus::from_raw(0)
    }
}

impl Child {
    pub(crate) fn new(
        pid: i32,
        pidfd: OwnedFd,
        [stdin, stdout, stderr]: [Option<OwnedFd>; 3],
        kill_on_drop: bool,
        group_leader: bool,
    ) -> Child {
        Child {
            pid,
            pidfd,
            stdin: stdin.map(ChildStdin::from),
            stdout: stdout.map(ChildStdout::from),
            stderr: stderr.map(ChildStderr::from),
            status: None,
            kill_on_drop,
            group_leader,
        }
    }

    /// The process id.
    pub fn id(&self) -> u32 {
        self.pid as u32
    }

    /// The pidfd: refers to this process only, even after its pid is reused.
    pub fn pidfd(&self) -> BorrowedFd<'_> {
        self.pidfd.as_fd()
    }

    fn wait_options(&mut self, options: WaitIdOptions) -> io::Result<Option<ExitStatus>> {
        if let Some(s) = self.status {
            return Ok(Some(s));
        }
        loop {
            match waitid(
                WaitId::PidFd(self.pidfd.as_fd()),
                WaitIdOptions::EXITED | options,
            ) {
                Ok(Some(st)) => {
                    let s = to_exit_status(&st);
                    self.status = Some(s);
                    return Ok(Some(s));
                }
                Ok(None) => return Ok(None),
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Waits for the child to exit (waitid on the pidfd).
    pub fn wait(&mut self) -> io::Result<ExitStatus> {
        drop(self.stdin.take());
        self.wait_options(WaitIdOptions::empty())
            .map(|s| s.expect("blocking waitid returns a status"))
    }

    /// The exit status if the child has exited, without blocking.
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        self.wait_options(WaitIdOptions::NOHANG)
    }

    /// Waits at most `timeout`; `Ok(None)` if the child is still running then.
    pub fn wait_timeout(&mut self, timeout: Duration) -> io::Result<Option<ExitStatus>> {
        use rustix::event::{poll, PollFd, PollFlags};
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(s) = self.try_wait()? {
                return Ok(Some(s));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            // A pidfd polls readable once the process has exited.
            let ts = rustix::event::Timespec {
                tv_sec: left.as_secs() as i64,
                tv_nsec: left.subsec_nanos() as i64,
            };
            let mut fds = [PollFd::new(&self.pidfd, PollFlags::IN)];
            match poll(&mut fds, Some(&ts)) {
                Ok(_) | Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Sends `sig` through the pidfd (never to a recycled pid). Ok if it already exited and
    /// was reaped, like std's `kill`.
    pub fn send_signal(&mut self, sig: i32) -> io::Result<()> {
        if self.status.is_some() {
            return Ok(());
        }
        let signal = Signal::from_named_raw(sig)
            .ok_or_else(|| io::Error::from_raw_os_error(libc::EINVAL))?;
        pidfd_send_signal(&self.pidfd, signal).map_err(Into::into)
    }

    /// SIGKILL through the pidfd.
    pub fn kill(&mut self) -> io::Result<()> {
        self.send_signal(libc::SIGKILL)
    }

    /// Sends `sig` to the child's whole process group (the child must lead one: `setsid` or
    /// `process_group(0)`). Reaches grandchildren that stayed in the group.
    pub fn kill_group(&mut self, sig: i32) -> io::Result<()> {
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
        let pgid = rustix::process::Pid::from_raw(self.pid)
            .ok_or_else(|| io::Error::from_raw_os_error(libc::ESRCH))?;
        let signal = Signal::from_named_raw(sig)
            .ok_or_else(|| io::Error::from_raw_os_error(libc::EINVAL))?;
        rustix::process::kill_process_group(pgid, signal).map_err(Into::into)
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
    let mut bufs = (Vec::new(), Vec::new());
    let mut out = out;
    let mut err = err;
    let mut chunk = vec![0u8; 64 * 1024];
    while out.is_some() || err.is_some() {
        let (ready_out, ready_err) = {
            let mut fds = Vec::with_capacity(2);
            if let Some(o) = &out {
                fds.push(PollFd::new(o, PollFlags::IN));
            }
            if let Some(e) = &err {
                fds.push(PollFd::new(e, PollFlags::IN));
            }
            match poll(&mut fds, None) {
                Ok(_) => {}
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(e.into()),
            }
            let mut it = fds.iter();
            let ro = out
                .as_ref()
                .map(|_| {
                    !it.next()
                        .map(|f| f.revents())
                        .unwrap_or(PollFlags::empty())
                        .is_empty()
                })
                .unwrap_or(false);
            let re = err
                .as_ref()
                .map(|_| {
                    !it.next()
                        .map(|f| f.revents())
                        .unwrap_or(PollFlags::empty())
                        .is_empty()
                })
                .unwrap_or(false);
            (ro, re)
        };
        if ready_out {
            if let Some(o) = out.as_mut() {
                match o.read(&mut chunk) {
                    Ok(0) => out = None,
                    Ok(n) => bufs.0.extend_from_slice(&chunk[..n]),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
        }
        if ready_err {
            if let Some(e) = err.as_mut() {
                match e.read(&mut chunk) {
                    Ok(0) => err = None,
                    Ok(n) => bufs.1.extend_from_slice(&chunk[..n]),
                    Err(x) if x.kind() == io::ErrorKind::Interrupted => {}
                    Err(x) => return Err(x),
                }
            }
        }
    }
    Ok(bufs)
}

impl Drop for Child {
    fn drop(&mut self) {
        if self.kill_on_drop && self.status.is_none() {
            // A group leader takes its group along: that is what a session or group was
            // asked for (grandchildren that stayed in it die too). Before the reap, so the
            // pgid cannot have been reused.
            if self.group_leader {
                let _ = self.kill_group(libc::SIGKILL);
            }
            let _ = self.kill();
            let _ = self.wait();
        }
    }
}
