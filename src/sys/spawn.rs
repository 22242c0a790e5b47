//! The parent's side of a spawn: block signals, clone on the cached stack, learn the outcome.
//!
//! Two paths, both with CLONE_VM (no page tables copied, cost flat in the parent's size):
//! - vfork (the default): CLONE_VFORK suspends this thread until the child execs or exits;
//!   the child's report is read straight from shared memory. No pipe, no extra syscall.
//! - release (used when the parent must act while the child waits, e.g. writing uid/gid maps
//!   for a new user namespace): no CLONE_VFORK; the child blocks on a pipe until `before_release`
//!   has run, and a close-on-exec status pipe tells the parent when the exec has happened.

use super::child::{entry_handlers_cleared, entry_reset_handlers, ChildPlan, Failure, Step};
use super::clone::{self, clone_child, ChildEntries, CloneRequest};
use super::{raw, stack};
use std::os::fd::{FromRawFd, OwnedFd};

const ENTRIES: ChildEntries = ChildEntries {
    handlers_cleared: entry_handlers_cleared,
    reset_handlers: entry_reset_handlers,
};

/// A child that was created and has exec'd.
pub struct Spawned {
    pub pid: i32,
    pub pidfd: OwnedFd,
}

/// Blocks every signal in this thread and restores the old mask on drop.
struct AllSignalsBlocked(u64);

impl AllSignalsBlocked {
    fn new() -> Self {
        let all: u64 = !0;
        let mut old: u64 = 0;
        // SAFETY: valid sigset pointers. Blocking everything (glibc's internal signals too) keeps
        // any handler from running on the child, which shares our memory, before it resets them.
        unsafe {
            let _ = raw::sigprocmask(libc::SIG_SETMASK, &all, &mut old);
        }
        AllSignalsBlocked(old)
    }
}

impl Drop for AllSignalsBlocked {
    fn drop(&mut self) {
        // SAFETY: restoring the mask saved in new().
        unsafe {
            let _ = raw::sigprocmask(libc::SIG_SETMASK, &self.0, core::ptr::null_mut());
        }
    }
}

/// Reaps a child whose exec failed, so no zombie is left behind.
fn reap(pidfd: &OwnedFd) {
    use rustix::process::{waitid, WaitId, WaitIdOptions};
    loop {
        match waitid(
            WaitId::PidFd(std::os::fd::AsFd::as_fd(pidfd)),
            WaitIdOptions::EXITED,
        ) {
            Err(rustix::io::Errno::INTR) => continue,
            _ => return,
        }
    }
}

/// Spawns with CLONE_VFORK: returns once the child has exec'd, or its failure.
pub fn spawn_vfork(plan: &ChildPlan, req: &CloneRequest) -> Result<Spawned, Failure> {
    debug_assert!(req.vfork);
    let mut stack = stack::take().map_err(|e| Failure {
        step: Step::Clone,
        errno: e.raw_os_error().unwrap_or(libc::ENOMEM),
        detail: 0,
    })?;
    let cloned = {
        // Why signals are blocked around a vfork-class clone: the child shares our memory, so
        // a handler of ours must never run in it. With CLONE_CLEAR_SIGHAND the kernel resets
        // the child's handlers at birth, so that can no longer happen and the two sigprocmask
        // calls are skipped (the child still sets its own mask before exec). They stay when
        // the kernel cannot clear handlers (the child resets them by hand, and must not be
        // interrupted meanwhile) and when a step must not be stopped by SIGTTOU (foreground).
        let _blocked = (!clone::kernel_clears_handlers() || plan.foreground_fd >= 0)
            .then(AllSignalsBlocked::new);
        // SAFETY: the stack is ours alone (taken from this thread's cache); the plan outlives
        // the child's use of it because CLONE_VFORK returns only after exec or exit; the entry
        // functions follow the child rules; a handler cannot run in the child (see above).
        unsafe {
            clone_child(
                req,
                stack.as_mut_slice(),
                ENTRIES,
                plan as *const ChildPlan as *mut libc::c_void,
            )
        }
    };
    let cloned = match cloned {
        Ok(c) => c,
        Err(errno) => {
            stack::give_back(stack);
            return Err(Failure {
                step: Step::Clone,
                errno,
                detail: 0,
            });
        }
    };
    stack::give_back(stack);
    // SAFETY: CLONE_PIDFD stored a new fd that nobody else owns.
    let pidfd = unsafe { OwnedFd::from_raw_fd(cloned.pidfd) };
    if let Some(f) = plan.report.failure() {
        reap(&pidfd);
        return Err(f);
    }
    Ok(Spawned {
        pid: cloned.pid,
        pidfd,
    })
}

/// Spawns without CLONE_VFORK: `before_release(pid)` runs while the child waits (it returns 0
/// or an errno to abort the child), then the child goes on and this returns after its exec.
pub fn spawn_release(
    plan: &mut ChildPlan,
    req: &CloneRequest,
    before_release: &mut dyn FnMut(i32) -> Result<(), i32>,
) -> Result<Spawned, Failure> {
    debug_assert!(!req.vfork);
    let pipe_err = |e: rustix::io::Errno| Failure {
        step: Step::Clone,
        errno: e.raw_os_error(),
        detail: 0,
    };
    let (go_read, go_write) =
        rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).map_err(pipe_err)?;
    let (status_read, status_write) =
        rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).map_err(pipe_err)?;
    use std::os::fd::AsRawFd;
    plan.wait_fd = go_read.as_raw_fd();
    plan.status_fd = status_write.as_raw_fd();
    let mut stack = stack::take().map_err(|e| Failure {
        step: Step::Clone,
        errno: e.raw_os_error().unwrap_or(libc::ENOMEM),
        detail: 0,
    })?;
    let cloned = {
        let _blocked = AllSignalsBlocked::new();
        // SAFETY: as in spawn_vfork; in addition the plan, the stack and the pipes stay alive
        // and untouched until the status pipe reports the child's exec or exit below.
        unsafe {
            clone_child(
                req,
                stack.as_mut_slice(),
                ENTRIES,
                plan as *const ChildPlan as *mut libc::c_void,
            )
        }
    };
    let cloned = match cloned {
        Ok(c) => c,
        Err(errno) => {
            stack::give_back(stack);
            return Err(Failure {
                step: Step::Clone,
                errno,
                detail: 0,
            });
        }
    };
    // SAFETY: CLONE_PIDFD stored a new fd that nobody else owns.
    let pidfd = unsafe { OwnedFd::from_raw_fd(cloned.pidfd) };
    drop(go_read);
    drop(status_write);
    let verdict: i64 = match before_release(cloned.pid) {
        Ok(()) => 0,
        Err(e) => e as i64,
    };
    let _ = rustix::io::write(&go_write, &verdict.to_ne_bytes());
    drop(go_write);
    // EOF on the status pipe: the child exec'd (close-on-exec) or exited.
    let mut buf = [0u8; 1];
    loop {
        match rustix::io::read(&status_read, &mut buf) {
            Err(rustix::io::Errno::INTR) => continue,
            Ok(0) => break,
            Ok(_) => continue,
            Err(_) => {
                // Cannot tell whether the child still runs on the stack: never reuse it.
                std::mem::forget(stack);
                reap(&pidfd);
                return Err(Failure {
                    step: Step::Clone,
                    errno: libc::EPIPE,
                    detail: 0,
                });
            }
        }
    }
    stack::give_back(stack);
    if let Some(f) = plan.report.failure() {
        reap(&pidfd);
        return Err(f);
    }
    if verdict != 0 {
        reap(&pidfd);
        return Err(Failure {
            step: Step::UserNamespaceMaps,
            errno: verdict as i32,
            detail: 0,
        });
    }
    Ok(Spawned {
        pid: cloned.pid,
        pidfd,
    })
}
