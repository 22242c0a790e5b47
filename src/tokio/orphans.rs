//! Children whose [`Child`](super::Child) was dropped before they exited: reaped in the
//! background, so that none is left a zombie.
//!
//! Each orphan gets a task on the current runtime that waits on its pidfd (as a wait does)
//! and reaps it: no thread, no signal handler, nothing blocks. Where there is no runtime at the
//! drop, or the runtime shuts down before the child exits, the orphan goes to a list that
//! the next `forkexec::tokio` spawn looks through (a non-blocking waitid each), as tokio's own
//! orphan queue does; what is still running when the process exits is the kernel's to collect.

use super::exit::ChildExit;
use std::sync::{Mutex, PoisonError};

/// Orphans no task is waiting for.
static UNCLAIMED: Mutex<Vec<ChildExit>> = Mutex::new(Vec::new());

/// Reaps `exit` in the background (at once if it has already exited).
pub(crate) fn adopt(mut exit: ChildExit) {
    if !matches!(exit.try_wait(), Ok(None)) {
        return; // reaped now, or not ours to reap any more (ECHILD)
    }
    let orphan = Orphan(Some(exit));
    match tokio::runtime::Handle::try_current() {
        // A runtime that is shutting down drops the task at once: the orphan is then listed.
        Ok(runtime) => drop(runtime.spawn(orphan.reap())),
        Err(_) => drop(orphan),
    }
}

/// Reaps the listed orphans that have exited: called at every spawn.
pub(crate) fn reap_unclaimed() {
    let mut list = UNCLAIMED.lock().unwrap_or_else(PoisonError::into_inner);
    list.retain_mut(|exit| matches!(exit.try_wait(), Ok(None)));
}

/// An orphan on its way to a reap; listed if dropped before it.
struct Orphan(Option<ChildExit>);

impl Orphan {
    async fn reap(mut self) {
        if let Some(exit) = &mut self.0 {
            if exit.wait().await.is_ok() {
                self.0 = None;
            }
        }
    }
}

impl Drop for Orphan {
    fn drop(&mut self) {
        let Some(mut exit) = self.0.take() else {
            return;
        };
        if matches!(exit.try_wait(), Ok(None)) {
            exit.drop_wakeup();
            UNCLAIMED
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(exit);
        }
    }
}
