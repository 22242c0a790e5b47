//! The parent's side of a spawn: clone on the cached stack, learn the outcome, get a pidfd.
//!
//! Two paths:
//! - vfork (the default, wherever the kernel shares memory with CLONE_VM): CLONE_VFORK suspends
//!   this thread until the child execs or exits; the child's report is read straight from
//!   shared memory. No pipe, no extra syscall. No page tables are copied: the cost is flat in
//!   the parent's size.
//! - piped: the child reports through a close-on-exec status pipe (its EOF means the exec
//!   happened; a failure arrives as a record before it). Used when the parent must act while
//!   the child waits on a second pipe (`before_release`: uid/gid maps for a new user namespace,
//!   joining a cgroup where clone3 cannot), without CLONE_VFORK but still with CLONE_VM; and
//!   for the fork-like form (qemu-user), where the child's memory is a copy and shared memory
//!   reaches nobody.
//!
//! And two without a clone of our own:
//! - fork (`pre_exec` closures only): a plain fork(2), as std takes for them; see
//!   [`spawn_fork`];
//! - in place (`Command::exec`): the sequence runs in this process; see [`exec_in_place`].

use super::child_sequence::{
    decode_failure, encode_verdict, entry_handlers_cleared, entry_reset_handlers, run_forked,
    run_in_place, ChildPlan, PIPED_FAILURE_LEN,
};
use super::clone::{clone_child, ChildEntries, CloneForm, CloneRequest, Cloned};
use super::features::{reap_by_pid, NoPidfd, Support};
use super::signals::AllSignalsBlocked;
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
    /// Its pidfd, or why there is none (a kernel before 5.2/5.3, a seccomp filter, EMFILE).
    pub pidfd: Result<OwnedFd, NoPidfd>,
}

/// What the parent does while a released child waits: returns the failing step, if any, which
/// aborts the child.
pub type BeforeRelease<'a> = &'a mut dyn FnMut(i32) -> Result<(), StepFailure>;

fn clone_failure(errno: i32) -> StepFailure {
    StepFailure::new(SpawnStep::Clone, errno)
}

/// Spawns the child of `plan` as `req` says; with `before_release`, the child waits until it
/// has run. Returns once the child has exec'd, or its failure (the child then reaped).
pub fn spawn(
    plan: &mut ChildPlan,
    req: &CloneRequest,
    support: &Support,
    before_release: Option<BeforeRelease<'_>>,
) -> Result<Spawned, StepFailure> {
    let pid = if req.vfork && req.form != CloneForm::ForkLike && before_release.is_none() {
        spawn_vfork(plan, req)?
    } else {
        spawn_piped(plan, req, before_release)?
    };
    Ok(Spawned {
        pid: pid.pid,
        pidfd: pidfd_of(pid, support),
    })
}

/// The child's pidfd: from the clone (CLONE_PIDFD), else from pidfd_open. Opening one after
/// the clone is race-free: the child is ours and unreaped, so its pid cannot have been reused
/// (unless other code of this process reaps children it does not own: waitpid(-1), or SIGCHLD
/// set to SIG_IGN, which break std's Child the same way).
fn pidfd_of(cloned: Cloned, support: &Support) -> Result<OwnedFd, NoPidfd> {
    if cloned.pidfd >= 0 {
        // SAFETY: CLONE_PIDFD stored a new fd that nobody else owns.
        return Ok(unsafe { OwnedFd::from_raw_fd(cloned.pidfd) });
    }
    if !support.pidfd_open.works() {
        return Err(NoPidfd::Unsupported {
            clone_pidfd: support.clone_pidfd,
            pidfd_open: support.pidfd_open,
        });
    }
    match raw::pidfd_open(cloned.pid) {
        // SAFETY: pidfd_open returned a new fd that nobody else owns.
        Ok(fd) => Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) }),
        Err(e) => Err(NoPidfd::OpenFailed(e)),
    }
}

/// A pidfd the clone made for a child that then failed: closed once the child is reaped.
fn close_pidfd(cloned: &Cloned) {
    if cloned.pidfd >= 0 {
        let _ = raw::close(cloned.pidfd);
    }
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
) -> Result<(Cloned, stack::ChildStack), StepFailure> {
    let mut stack =
        stack::take().map_err(|e| clone_failure(e.raw_os_error().unwrap_or(libc::ENOMEM)))?;
    let cloned = {
        let blocked = block_signals.then(AllSignalsBlocked::new);
        if let (Some(saved), None) = (&blocked, plan.sig_mask) {
            plan.sig_mask = Some(saved.mask());
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
        Ok(c) => Ok((c, stack)),
        Err(errno) => {
            stack::give_back(stack);
            Err(clone_failure(errno))
        }
    }
}

/// Spawns with CLONE_VFORK: returns once the child has exec'd, or its failure.
fn spawn_vfork(plan: &mut ChildPlan, req: &CloneRequest) -> Result<Cloned, StepFailure> {
    // Why signals may need blocking around a vfork-class clone: the child shares our memory,
    // so a handler of ours must never run in it. With CLONE_CLEAR_SIGHAND the kernel resets
    // the child's handlers at birth, so that cannot happen and the two sigprocmask calls are
    // skipped; the child then runs with this thread's mask, which is also the program's unless
    // the Command set one (no sigprocmask in the child either). They
    // stay when the kernel cannot clear handlers (the child resets them by hand, and must not
    // be interrupted meanwhile) and when a step must not be stopped by SIGTTOU (foreground).
    let block = req.form != CloneForm::Clone3 || plan.foreground_fd >= 0;
    let (cloned, stack) = clone_on_cached_stack(plan, req, block)?;
    // CLONE_VFORK: the child has exec'd or exited, so the stack is free again.
    stack::give_back(stack);
    if let Some(f) = plan.report.failure() {
        reap_by_pid(cloned.pid);
        close_pidfd(&cloned);
        return Err(f);
    }
    Ok(cloned)
}

/// Spawns with a status pipe: `before_release(pid)`, if any, runs while the child waits, then
/// the child goes on; returns after its exec, or its failure.
fn spawn_piped(
    plan: &mut ChildPlan,
    req: &CloneRequest,
    before_release: Option<BeforeRelease<'_>>,
) -> Result<Cloned, StepFailure> {
    let pipe = || {
        rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
            .map_err(|e| clone_failure(e.raw_os_error()))
    };
    let release = match before_release {
        Some(f) => {
            let (go_read, go_write) = pipe()?;
            plan.wait_fd = go_read.as_raw_fd();
            Some((f, go_read, go_write))
        }
        None => None,
    };
    let (status_read, status_write) = pipe()?;
    plan.status_fd = status_write.as_raw_fd();
    // Without CLONE_VFORK this thread runs on while the child does: every signal stays blocked
    // around the clone so that no handler of ours can run before the child has reset them.
    // The child reads the plan while it runs beside us: it is not written again until the
    // child is done with it.
    let (cloned, stack) = clone_on_cached_stack(plan, req, true)?;
    drop(status_write);
    let mut verdict = None;
    if let Some((before_release, go_read, go_write)) = release {
        drop(go_read);
        verdict = before_release(cloned.pid).err();
        let code = encode_verdict(verdict);
        let _ = rustix::io::write(&go_write, &code.to_ne_bytes());
    }
    // EOF on the status pipe: the child exec'd (close-on-exec) or exited; a failure record
    // comes before it.
    let piped = match read_status(&status_read) {
        Ok(piped) => piped,
        Err(_) => {
            // Cannot tell whether the child still runs on the stack: never reuse it.
            std::mem::forget(stack);
            reap_by_pid(cloned.pid);
            close_pidfd(&cloned);
            return Err(clone_failure(libc::EPIPE));
        }
    };
    stack::give_back(stack);
    if let Some(f) = piped.or_else(|| plan.report.failure()).or(verdict) {
        reap_by_pid(cloned.pid);
        close_pidfd(&cloned);
        return Err(f);
    }
    Ok(cloned)
}

/// Reads the status pipe of a child until EOF (it exec'd: close-on-exec) and returns the
/// failure record that comes before EOF, if any; `Err` if the pipe failed.
fn read_status(status_read: &OwnedFd) -> Result<Option<StepFailure>, i32> {
    let mut record = [0u8; PIPED_FAILURE_LEN];
    let mut got = 0usize;
    let mut beyond = [0u8; 1];
    loop {
        let buf = match record.get_mut(got..) {
            Some(rest) if !rest.is_empty() => rest,
            _ => &mut beyond[..],
        };
        match rustix::io::read(status_read, buf) {
            Err(rustix::io::Errno::INTR) => continue,
            Ok(0) => break,
            Ok(n) => got = got.saturating_add(n),
            Err(e) => return Err(e.raw_os_error()),
        }
    }
    Ok((got >= PIPED_FAILURE_LEN)
        .then(|| decode_failure(&record))
        .flatten())
}

/// Spawns with a plain fork(2), for `pre_exec` closures (std's contract: "run in the child after
/// a fork"). A vfork-class child shares our memory and runs on a small stack while another thread
/// may hold the malloc lock; arbitrary user code cannot run there safely. A forked child has its
/// own copy of memory (and glibc's fork makes malloc usable in it), so the closures run there,
/// after every step of the sequence and right before the exec, as in std. The cost is the page
/// table copy the other paths avoid: it grows with the parent's size.
///
/// The child reports a failure through the close-on-exec status pipe (EOF: it exec'd); the
/// pidfd comes from pidfd_open on the unreaped child (or there is none, as `spawn` says).
pub fn spawn_fork(
    plan: &mut ChildPlan,
    support: &Support,
    hooks: &mut dyn FnMut() -> Result<(), i32>,
) -> Result<Spawned, StepFailure> {
    let (status_read, status_write) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
        .map_err(|e| clone_failure(e.raw_os_error()))?;
    plan.status_fd = status_write.as_raw_fd();
    // SAFETY: fork has no memory preconditions. In the child we only run the sequence (raw
    // syscalls on the plan, which the child's copy of memory holds), the user's closures (their
    // contract is std's pre_exec contract), and exit; we never return into the caller.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        let errno = std::io::Error::last_os_error().raw_os_error();
        return Err(clone_failure(errno.unwrap_or(libc::EAGAIN)));
    }
    if pid == 0 {
        drop(status_read);
        run_forked(plan, status_write.as_raw_fd(), hooks);
    }
    drop(status_write);
    let cloned = Cloned { pid, pidfd: -1 };
    match read_status(&status_read) {
        Ok(None) => Ok(Spawned {
            pid,
            pidfd: pidfd_of(cloned, support),
        }),
        Ok(Some(f)) => {
            reap_by_pid(pid);
            Err(f)
        }
        Err(errno) => {
            reap_by_pid(pid);
            Err(clone_failure(errno))
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
        plan.sig_mask = Some(blocked.mask());
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
