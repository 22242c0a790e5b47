//! The parent's side of a spawn: clone on the cached stack, learn the outcome.
//!
//! Two paths with CLONE_VM (no page tables copied, cost flat in the parent's size):
//! - vfork (the default): CLONE_VFORK suspends this thread until the child execs or exits;
//!   the child's report is read straight from shared memory. No pipe, no extra syscall.
//! - release (used when the parent must act while the child waits, e.g. writing uid/gid maps
//!   for a new user namespace): no CLONE_VFORK; the child blocks on a pipe until `before_release`
//!   has run, and a close-on-exec status pipe tells the parent when the exec has happened.
//!
//! And two without a clone of our own:
//! - fork (`pre_exec` closures only): a plain fork(2), as std takes for them; see
//!   [`spawn_fork`];
//! - in place (`Command::exec`): the sequence runs in this process; see [`exec_in_place`].

use super::child_sequence::{
    decode_report, entry_handlers_cleared, entry_reset_handlers, run_forked, run_in_place,
    ChildPlan, REPORT_LEN,
};
use super::clone::{self, clone_child, ChildEntries, CloneRequest, Cloned};
use super::{raw, stack};
use crate::step::{SpawnStep, StepFailure};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

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

fn clone_failure(errno: i32) -> StepFailure {
    StepFailure::new(SpawnStep::Clone, errno)
}

/// Clones a child running the sequence of `plan` on this thread's cached stack. On success the
/// stack is returned with the child's pid and pidfd: the caller gives the stack back once no
/// child can be running on it any more.
///
/// `block_signals`: block every signal around the clone (see the callers for why). The child
/// then starts with every signal blocked; unless the Command set a mask, it must end with the
/// mask this thread had (std's rule: the child inherits it), so that mask goes into the plan.
fn clone_on_cached_stack(
    plan: &mut ChildPlan,
    req: &CloneRequest,
    block_signals: bool,
) -> Result<(Cloned, stack::ChildStack, OwnedFd), StepFailure> {
    let mut stack =
        stack::take().map_err(|e| clone_failure(e.raw_os_error().unwrap_or(libc::ENOMEM)))?;
    let cloned = {
        let blocked = block_signals.then(AllSignalsBlocked::new);
        if let (Some(saved), None) = (&blocked, plan.sig_mask) {
            plan.sig_mask = Some(saved.0);
        }
        let plan: &ChildPlan = plan;
        // SAFETY: the stack is ours alone (taken from this thread's cache) and stays untouched
        // until the caller knows the child exec'd or exited; the plan outlives the child's use
        // of it for the same reason; the entry functions follow the child rules; a parent
        // handler cannot run in the child (the kernel clears them, or signals are blocked and
        // the child resets them first: see `block_signals` at the callers).
        unsafe {
            clone_child(
                req,
                stack.as_mut_slice(),
                ENTRIES,
                plan as *const ChildPlan as *mut libc::c_void,
            )
        }
    };
    match cloned {
        Ok(c) => {
            // SAFETY: CLONE_PIDFD stored a new fd that nobody else owns.
            let pidfd = unsafe { OwnedFd::from_raw_fd(c.pidfd) };
            Ok((c, stack, pidfd))
        }
        Err(errno) => {
            stack::give_back(stack);
            Err(clone_failure(errno))
        }
    }
}

/// Spawns with CLONE_VFORK: returns once the child has exec'd, or its failure.
pub fn spawn_vfork(plan: &mut ChildPlan, req: &CloneRequest) -> Result<Spawned, StepFailure> {
    debug_assert!(req.vfork);
    // Why signals may need blocking around a vfork-class clone: the child shares our memory,
    // so a handler of ours must never run in it. With CLONE_CLEAR_SIGHAND the kernel resets
    // the child's handlers at birth, so that cannot happen and the two sigprocmask calls are
    // skipped; the child then runs with this thread's mask, which is also the program's unless
    // the Command set one (no sigprocmask in the child either). They
    // stay when the kernel cannot clear handlers (the child resets them by hand, and must not
    // be interrupted meanwhile) and when a step must not be stopped by SIGTTOU (foreground).
    let block = !clone::kernel_clears_handlers() || plan.foreground_fd >= 0;
    let (cloned, stack, pidfd) = clone_on_cached_stack(plan, req, block)?;
    // CLONE_VFORK: the child has exec'd or exited, so the stack is free again.
    stack::give_back(stack);
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
) -> Result<Spawned, StepFailure> {
    debug_assert!(!req.vfork);
    let pipe = || {
        rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
            .map_err(|e| clone_failure(e.raw_os_error()))
    };
    let (go_read, go_write) = pipe()?;
    let (status_read, status_write) = pipe()?;
    plan.wait_fd = go_read.as_raw_fd();
    plan.status_fd = status_write.as_raw_fd();
    // Without CLONE_VFORK this thread runs on while the child does: every signal stays blocked
    // around the clone so that no handler of ours can run before the child has reset them.
    let (cloned, stack, pidfd) = clone_on_cached_stack(plan, req, true)?;
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
                return Err(clone_failure(libc::EPIPE));
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
        return Err(StepFailure::new(
            SpawnStep::UserNamespaceMaps,
            verdict as i32,
        ));
    }
    Ok(Spawned {
        pid: cloned.pid,
        pidfd,
    })
}

/// Spawns with a plain fork(2), for `pre_exec` closures (std's contract: "run in the child after
/// a fork"). A vfork-class child shares our memory and runs on a small stack while another thread
/// may hold the malloc lock; arbitrary user code cannot run there safely. A forked child has its
/// own copy of memory (and glibc's fork makes malloc usable in it), so the closures run there,
/// after every step of the sequence and right before the exec, as in std. The cost is the page
/// table copy the other paths avoid: it grows with the parent's size.
///
/// The child reports a failure through a close-on-exec pipe (EOF: it exec'd); the pidfd comes
/// from pidfd_open on the unreaped child, so it cannot name another process.
pub fn spawn_fork(
    plan: &ChildPlan,
    hooks: &mut dyn FnMut() -> Result<(), i32>,
) -> Result<Spawned, StepFailure> {
    let (report_read, report_write) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
        .map_err(|e| clone_failure(e.raw_os_error()))?;
    // SAFETY: fork has no memory preconditions. In the child we only run the sequence (raw
    // syscalls on the plan, which the child's copy of memory holds), the user's closures (their
    // contract is std's pre_exec contract), and exit; we never return into the caller.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(clone_failure(
            std::io::Error::last_os_error()
                .raw_os_error()
                .unwrap_or(libc::EAGAIN),
        ));
    }
    if pid == 0 {
        drop(report_read);
        run_forked(plan, report_write.as_raw_fd(), hooks);
    }
    drop(report_write);
    let pidfd = match rustix::process::Pid::from_raw(pid)
        .map(|p| rustix::process::pidfd_open(p, rustix::process::PidfdFlags::empty()))
    {
        Some(Ok(fd)) => fd,
        other => {
            let errno = match other {
                Some(Err(e)) => e.raw_os_error(),
                _ => libc::ESRCH,
            };
            // No pidfd: stop the child and reap it by pid (it is ours and unreaped).
            let _ = raw::kill(pid, libc::SIGKILL);
            let mut status = 0;
            // SAFETY: waiting for our own child; status is a live local.
            unsafe { libc::waitpid(pid, &mut status, 0) };
            return Err(clone_failure(errno));
        }
    };
    let mut report = [0u8; REPORT_LEN];
    let mut got = 0;
    while got < REPORT_LEN {
        match rustix::io::read(&report_read, &mut report[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => {
                reap(&pidfd);
                return Err(clone_failure(e.raw_os_error()));
            }
        }
    }
    match got {
        0 => Ok(Spawned { pid, pidfd }),
        REPORT_LEN => {
            reap(&pidfd);
            Err(decode_report(&report))
        }
        _ => {
            reap(&pidfd);
            Err(clone_failure(libc::EPIPE))
        }
    }
}

/// `Command::exec`: runs the child sequence in this process, then `hooks`, then the exec (std's
/// `CommandExt::exec`). Every signal is blocked in this thread while the steps run, so no handler
/// sees the process half changed; the program gets the mask this thread had unless the Command
/// set one. Returns only on failure: the mask and the signal dispositions the sequence changed
/// (SIGPIPE back to default, at least) are restored, since a process-wide SIGPIPE at default
/// would kill this process at its next write to a closed pipe; the other steps that ran stay in
/// effect, as with std.
pub fn exec_in_place(
    plan: &mut ChildPlan,
    hooks: &mut dyn FnMut() -> Result<(), i32>,
) -> StepFailure {
    let blocked = AllSignalsBlocked::new();
    if plan.sig_mask.is_none() {
        plan.sig_mask = Some(blocked.0);
    }
    let touched = plan.sig_default | plan.sig_ignore | if plan.reset_ignored { !0 } else { 0 };
    let mut saved = [None; 64];
    for (i, slot) in saved.iter_mut().enumerate() {
        if touched & (1 << i) != 0 {
            let mut old = raw::KernelSigaction::default();
            // SAFETY: querying into a live local struct.
            let got = unsafe { raw::sigaction(i as i32 + 1, core::ptr::null(), &mut old) };
            *slot = got.is_ok().then_some(old);
        }
    }
    let failure = run_in_place(plan, hooks);
    for (i, old) in saved.iter().enumerate() {
        if let Some(old) = old {
            // SAFETY: putting back the action the kernel gave us above.
            let _ = unsafe { raw::sigaction(i as i32 + 1, old, core::ptr::null_mut()) };
        }
    }
    failure
}
