//! [`KillHandle`]: signals a child from another task or thread while its [`Child`] waits.
//!
//! [`Child::wait`](super::Child::wait) borrows the Child mutably, as tokio's does, so no other
//! code can call `kill` on it meanwhile; tokio's answer is a `select!` in the waiting task. A
//! handle is the direct way: it can be cloned and moved anywhere, and it never reaches another
//! process, whatever happens to this one.

use super::exit::ChildExit;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::{Arc, Mutex, PoisonError};

/// Sends signals to one child from anywhere, while its [`Child`](super::Child) waits
/// ([`Child::kill_handle`](super::Child::kill_handle)). After the child has been reaped, a
/// signal is not sent and the call is `Ok`, as [`Child::start_kill`](super::Child::start_kill)
/// does.
///
/// It never signals a recycled pid: with a pidfd (Linux 5.1+ for its signals) it holds its own
/// copy of the pidfd, which names that process only; without one it signals by pid under the
/// lock the Child reaps under, so the pid is still the child's when the signal goes.
#[derive(Clone, Debug)]
pub struct KillHandle {
    target: Target,
}

#[derive(Clone, Debug)]
enum Target {
    /// A copy of the child's pidfd (pidfd_send_signal).
    Pidfd(Arc<OwnedFd>),
    /// The pid, and whether the Child has reaped it (kill(2) only while it has not).
    Pid { pid: i32, reaped: Arc<Mutex<bool>> },
}

impl KillHandle {
    pub(crate) fn new(exit: &mut ChildExit) -> io::Result<KillHandle> {
        let target = match exit.child().signalling_pidfd() {
            Some(fd) => Target::Pidfd(Arc::new(fd.try_clone_to_owned()?)),
            None => Target::Pid {
                pid: exit.child().id() as i32,
                reaped: exit.reaped_flag(),
            },
        };
        Ok(KillHandle { target })
    }

    /// SIGKILL, without waiting (the Child's wait then reports it).
    pub fn start_kill(&self) -> io::Result<()> {
        self.send_signal(libc::SIGKILL)
    }

    /// Sends signal `sig` (any number the kernel accepts; 0 checks that the child is there).
    pub fn send_signal(&self, sig: i32) -> io::Result<()> {
        match &self.target {
            Target::Pidfd(pidfd) => match crate::sys::signals::send_signal(pidfd.as_fd(), sig) {
                // Reaped: the pidfd still names it, and the kernel says it is gone.
                Err(e) if e.raw_os_error() == Some(libc::ESRCH) => Ok(()),
                sent => sent,
            },
            Target::Pid { pid, reaped } => {
                let reaped = reaped.lock().unwrap_or_else(PoisonError::into_inner);
                if *reaped {
                    return Ok(());
                }
                crate::sys::signals::kill_pid(*pid, sig)
            }
        }
    }
}
