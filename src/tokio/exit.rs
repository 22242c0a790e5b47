//! Waiting for a child's exit without blocking the runtime: readiness of its pidfd through the
//! reactor (epoll), then a non-blocking reap (waitid with WNOHANG). Where the kernel gives no
//! pidfd that polls (before Linux 5.3, or a seccomp filter refusing pidfds), SIGCHLD through
//! tokio's signal driver wakes the wait instead (see the module docs for why).

use crate::Child as SyncChild;
use std::io;
use std::os::fd::OwnedFd;
use std::process::ExitStatus;
use std::sync::{Arc, Mutex, PoisonError};
use tokio::io::unix::AsyncFd;
use tokio::signal::unix::{signal, Signal, SignalKind};

/// A running (or exited, not yet reaped) child and what wakes a wait for its exit.
pub(crate) struct ChildExit {
    /// Made at the first wait that has to sleep.
    wakeup: Option<Wakeup>,
    reap: Reap,
}

/// What wakes a sleeping wait.
enum Wakeup {
    /// A copy of the pidfd, registered with the runtime's reactor (epoll): readable once the
    /// child has exited. A copy, so that the registration owns what it registers.
    Pidfd(AsyncFd<OwnedFd>),
    /// Every SIGCHLD of this process (tokio's signal driver), where there is no pidfd that polls.
    Sigchld(Signal),
}

/// The reap itself, and the status once collected.
struct Reap {
    child: SyncChild,
    status: Option<ExitStatus>,
    /// Shared with the by-pid kill handles (no pidfd to signal through): `true` once reaped.
    /// Reaping under this lock is what keeps a handle from signalling a recycled pid.
    reaped_flag: Option<Arc<Mutex<bool>>>,
}

impl Reap {
    /// One waitid with WNOHANG (through the sync Child, which caches the status).
    fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        if self.status.is_some() {
            return Ok(self.status);
        }
        let status = match &self.reaped_flag {
            Some(flag) => {
                let mut reaped = flag.lock().unwrap_or_else(PoisonError::into_inner);
                let status = self.child.try_wait()?;
                *reaped = status.is_some();
                status
            }
            None => self.child.try_wait()?,
        };
        self.status = status;
        Ok(status)
    }
}

impl ChildExit {
    pub(crate) fn new(child: SyncChild) -> ChildExit {
        ChildExit {
            wakeup: None,
            reap: Reap {
                child,
                status: None,
                reaped_flag: None,
            },
        }
    }

    /// The sync Child underneath (its pid, pidfd and signals).
    pub(crate) fn child(&self) -> &SyncChild {
        &self.reap.child
    }

    pub(crate) fn child_mut(&mut self) -> &mut SyncChild {
        &mut self.reap.child
    }

    /// The exit status, once reaped.
    pub(crate) fn status(&self) -> Option<ExitStatus> {
        self.reap.status
    }

    /// The status if the child has exited (then it is reaped now), without blocking.
    pub(crate) fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        self.reap.try_wait()
    }

    /// Waits for the exit and reaps. Cancel-safe: dropped at an await, it has changed nothing
    /// but the registration, and a later call carries on.
    pub(crate) async fn wait(&mut self) -> io::Result<ExitStatus> {
        if let Some(status) = self.reap.try_wait()? {
            return Ok(status);
        }
        if self.wakeup.is_none() {
            self.wakeup = Some(Wakeup::new(&self.reap.child)?);
            // A SIGCHLD before the stream existed is not in it: look once more now that any
            // later exit will be. (A pidfd that is already readable reports so when it is
            // registered: epoll_ctl checks the fd's state.)
            if let Some(Wakeup::Sigchld(_)) = &self.wakeup {
                if let Some(status) = self.reap.try_wait()? {
                    return Ok(status);
                }
            }
        }
        loop {
            match self.wakeup.as_mut().expect("made above") {
                Wakeup::Pidfd(fd) => {
                    let mut ready = fd.readable().await?;
                    if let Some(status) = self.reap.try_wait()? {
                        return Ok(status);
                    }
                    // Readable means exited, so this is not reached in practice; if it were,
                    // the next edge wakes us.
                    ready.clear_ready();
                }
                Wakeup::Sigchld(sigchld) => {
                    if sigchld.recv().await.is_none() {
                        return Err(io::Error::other(
                            "the Tokio runtime's signal driver stopped (the runtime is shutting \
                             down) before the child exited",
                        ));
                    }
                    if let Some(status) = self.reap.try_wait()? {
                        return Ok(status);
                    }
                }
            }
        }
    }

    /// Forgets the wakeup (its registration belongs to a runtime that may be going away).
    pub(crate) fn drop_wakeup(&mut self) {
        self.wakeup = None;
    }

    /// The flag a by-pid kill handle reads: made on first need, `true` if already reaped.
    pub(crate) fn reaped_flag(&mut self) -> Arc<Mutex<bool>> {
        let reaped = self.reap.status.is_some();
        Arc::clone(
            self.reap
                .reaped_flag
                .get_or_insert_with(|| Arc::new(Mutex::new(reaped))),
        )
    }
}

impl std::fmt::Debug for ChildExit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChildExit")
            .field("pid", &self.child().id())
            .field("status", &self.status())
            .finish_non_exhaustive()
    }
}

impl Wakeup {
    fn new(child: &SyncChild) -> io::Result<Wakeup> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(io::Error::other(
                "forkexec::tokio: waiting for a child needs a Tokio runtime (with IO enabled)",
            ));
        }
        match child.pollable_pidfd() {
            Some(fd) => {
                crate::sys::reactor::register_readable(fd.try_clone_to_owned()?).map(Wakeup::Pidfd)
            }
            None => signal(SignalKind::child()).map(Wakeup::Sigchld),
        }
    }
}
