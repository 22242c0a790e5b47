//! The child sequence: what runs in the new process between clone and exec.
//!
//! # Rules for everything in this file
//! The child shares the parent's memory (CLONE_VM) and runs while the parent thread is
//! suspended (CLONE_VFORK) or waiting. Another thread of the parent may have held the malloc
//! lock, the env lock or a stdio lock at the moment of the clone, and will never release it in
//! the child. So the child:
//! - never allocates and never takes a lock: it reads only the [`ChildPlan`] prepared in the
//!   parent, and writes only the plan's scratch cells and the [`Report`];
//! - never panics (no indexing that can fail, no unwrap): a failure is a step and an errno;
//! - does no std I/O and calls no libc wrapper: only the raw syscalls of `sys::raw`, which
//!   neither touch the (shared) errno nor broadcast to the parent's threads as glibc's setuid does.
//!
//! The phases run in one fixed order, each where it is for a reason:
//!
//! | # | phase: steps | why there |
//! | --- | --- | --- |
//! | 1 | signals: handlers and SIGPIPE to SIG_DFL (all 64 on request; SIG_IGN where asked) | no parent handler may run in the child |
//! | 2 | wait for the parent (uid/gid maps, cgroup) | later steps act with the mapped ids |
//! | 2b | fds, before 5.11: mark every open fd from 3 up close-on-exec (found with poll) | before the map (13), which then clears the flag on the program's fds |
//! | 2c | join namespaces: setns(pidfd), then ns files; the user namespace first or last (nsenter's two passes) | before every step that acts inside them; before the session, so that the program (after 2d) leads it |
//! | 2d | pid namespace hop: a second clone (CLONE_PARENT) made in the joined pid namespace goes on, this process exits | setns(pid) moves only later children: the program must be one |
//! | 3-4 | session: setsid, setpgid | decide which terminal signals reach the child |
//! | 5 | session: TIOCSPGRP on a parent fd | the parent blocked SIGTTOU around the clone: no stop |
//! | 6 | namespaces: unshare, propagation of / (private unless asked) | chroot and credentials then act inside |
//! | 7 | limits: rlimits, nice, scheduler, umask | still privileged enough to raise them |
//! | 8 | root: chroot, chdir("/") | needs CAP_SYS_CHROOT; leaves no cwd outside the new root |
//! | 8a | mount a fresh /proc | after chroot, so it is the new root's (as unshare --mount-proc); needs CAP_SYS_ADMIN, so before credentials |
//! | 8b | capability limits: securebits, then the bounding set | both need CAP_SETPCAP (which the bounding set may drop), and no_setuid_fixup must govern the setuid below |
//! | 9 | credentials: keepcaps, setgroups, setgid, setuid | each needs the privilege the next drops |
//! | 10 | credentials: capset, ambient raise | after setuid, which clears capabilities |
//! | 11 | working directory: chdir | with the final root and ids, as the program will see it |
//! | 12 | parent death: pdeathsig, parent check | after setuid, which clears it |
//! | 13-14 | fds: the map (moves first), close-on-exec gaps (close_range, 5.11+) | late: earlier steps may fail and report |
//! | 15 | terminal: TIOCNOTTY, TIOCSCTTY on a child fd | after the map, so the fd is the program's |
//! | 16 | restrictions: no_new_privs, PTRACE_TRACEME, landlock_restrict_self | as late as possible: affect only the exec; Landlock after every step that opens a path |
//! | 17 | signal mask | the program's mask, if it differs from the one the clone inherited |
//! | 17a | seccomp filter | last (after `pre_exec` closures too): no step may be filtered |
//! | 18 | exec | |
//!
//! Each phase is a small function returning `Result<(), StepFailure>`; the child runs on its own
//! stack, so the calls cost nothing that matters. A failing step writes `{step, errno, detail}`
//! into the shared [`Report`] (and, where there is a status pipe, into the pipe: a fork-like
//! child has no shared memory) and exits with status 127; the parent reads the report once clone
//! returns (vfork) or once the status pipe closes.

use super::exec_loop::{self, ExecCandidates};
use super::raw::{self, SysResult};
use crate::step::{SpawnStep as Step, StepFailure};
use core::cell::Cell;
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicI64, AtomicU32, AtomicU8, Ordering};
use std::os::raw::c_char;

/// Where the child reports failure: in the parent's memory, shared through CLONE_VM.
#[repr(C)]
#[derive(Default)]
pub struct Report {
    step: AtomicU32,
    errno: AtomicI32,
    detail: AtomicI64,
}

impl Report {
    /// What the child reported, if anything.
    pub fn failure(&self) -> Option<StepFailure> {
        let step = Step::from_number(self.step.load(Ordering::Acquire));
        (step != Step::None).then(|| StepFailure {
            step,
            errno: self.errno.load(Ordering::Relaxed),
            detail: self.detail.load(Ordering::Relaxed),
        })
    }

    fn record(&self, f: StepFailure) {
        self.errno.store(f.errno, Ordering::Relaxed);
        self.detail.store(f.detail, Ordering::Relaxed);
        self.step.store(f.step as u32, Ordering::Release);
    }
}

/// A failure as the child writes it into the status pipe: step, errno, detail.
pub const PIPED_FAILURE_LEN: usize = 16;

fn encode_failure(f: StepFailure) -> [u8; PIPED_FAILURE_LEN] {
    let mut b = [0u8; PIPED_FAILURE_LEN];
    let (step, rest) = b.split_at_mut(4);
    let (errno, detail) = rest.split_at_mut(4);
    step.copy_from_slice(&(f.step as u32).to_ne_bytes());
    errno.copy_from_slice(&f.errno.to_ne_bytes());
    detail.copy_from_slice(&f.detail.to_ne_bytes());
    b
}

/// Reads back what [`encode_failure`] wrote (parent side).
pub fn decode_failure(b: &[u8; PIPED_FAILURE_LEN]) -> Option<StepFailure> {
    let [s0, s1, s2, s3, e0, e1, e2, e3, d @ ..] = *b;
    let step = Step::from_number(u32::from_ne_bytes([s0, s1, s2, s3]));
    (step != Step::None).then(|| StepFailure {
        step,
        errno: i32::from_ne_bytes([e0, e1, e2, e3]),
        detail: i64::from_ne_bytes(d),
    })
}

/// The parent's verdict on the release pipe: 0 to go on, or the step and errno that failed
/// in the parent while the child waited (writing the id maps, joining the cgroup).
pub fn encode_verdict(f: Option<StepFailure>) -> i64 {
    f.map_or(0, |f| ((f.step as i64) << 32) | (f.errno as u32 as i64))
}

/// How the fds the program must not see are hidden.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FdHiding {
    /// close_range(CLOSE_RANGE_CLOEXEC) on the gaps between kept fds, after the map (5.11+).
    CloseRange,
    /// The open fds among `fd_candidates` (or below `fd_scan_below`), found with poll (256
    /// per call), marked close-on-exec one by one before the map: kernels without
    /// CLOSE_RANGE_CLOEXEC.
    PollAndMark,
}

/// One entry of the fd map: child fd `target` gets parent fd `source` (or is closed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FdAction {
    /// The fd number the program sees.
    pub target: i32,
    /// The parent fd, or -1 to close `target` in the child.
    pub source: i32,
    /// `source` is also the target of another entry and must be moved out of the way first.
    pub needs_move: bool,
}

/// One resource limit to set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RlimitAction {
    /// RLIMIT_* number.
    pub resource: i32,
    /// Soft limit (RLIM_INFINITY for none).
    pub soft: u64,
    /// Hard limit.
    pub hard: u64,
}

/// Everything the child does, prepared in the parent: the raw view the spawn layer builds.
/// Pointers point into data the parent keeps alive until the child has exec'd or exited.
pub struct ChildPlan<'a> {
    pub report: &'a Report,
    pub exec: ExecCandidates<'a>,
    pub argv: *const *const c_char,
    pub envp: *const *const c_char,
    /// Read end of the pipe the parent releases the child with (user-namespace maps), or -1.
    pub wait_fd: i32,
    /// Write end of the close-on-exec status pipe (release path), or -1. Kept open through the
    /// fd map: its closing at exec is how the parent learns the child is done with the stack.
    pub status_fd: i32,
    pub setsid: bool,
    /// setpgid(0, pgid); Some(0) makes the child a group leader.
    pub pgid: Option<i32>,
    /// A parent fd on a terminal: make the child's group its foreground group.
    pub foreground_fd: i32,
    /// Signals to set to SIG_DFL (bit n-1 for signal n) whatever else holds.
    pub sig_default: u64,
    /// Signals to set to SIG_IGN.
    pub sig_ignore: u64,
    /// Reset ignored dispositions (inherited SIG_IGN) to SIG_DFL too, not only handlers.
    pub reset_ignored: bool,
    /// The child's signal mask at exec; `None`: keep the mask the child started with (the
    /// spawning thread's: no syscall). Where the parent blocks every signal around the clone,
    /// `sys::launch` puts the mask it saved here.
    pub sig_mask: Option<u64>,
    pub unshare_flags: i32,
    /// mount(2) propagation flags for / in a new mount namespace (MS_REC|MS_PRIVATE by
    /// default), or 0 to leave it as the copy inherited it.
    pub root_propagation: libc::c_ulong,
    pub rlimits: &'a [RlimitAction],
    pub nice: Option<i32>,
    /// (policy, priority)
    pub scheduler: Option<(i32, i32)>,
    pub umask: Option<u32>,
    /// NUL-terminated new root, or null.
    pub chroot: *const c_char,
    pub keep_caps: bool,
    pub groups: Option<&'a [libc::gid_t]>,
    pub gid: Option<u32>,
    pub uid: Option<u32>,
    /// Capabilities to keep permitted+inheritable and raise as ambient (bit n for cap n).
    pub ambient_caps: u64,
    /// NUL-terminated working directory, or null.
    pub chdir: *const c_char,
    pub pdeathsig: i32,
    pub parent_pid: i32,
    /// Compare getppid() with `parent_pid` after PR_SET_PDEATHSIG (false in a new pid
    /// namespace, where the parent is outside and getppid() returns 0).
    pub check_parent: bool,
    pub fds: &'a [FdAction],
    /// One slot per fd action, for the source's temporary number after a move.
    pub fd_scratch: &'a [AtomicI32],
    /// Ranges [lo, hi] to mark close-on-exec: every fd the child should not see (empty: keep
    /// every fd).
    pub close_ranges: &'a [(u32, u32)],
    /// How they are marked: one close_range per range, or poll and mark.
    pub fd_hiding: FdHiding,
    /// For `PollAndMark`: the fds to look at, listed by the parent just before the clone (its
    /// open fds and the lowest free numbers: `spawn::fds::close_on_exec_candidates`)...
    pub fd_candidates: &'a [i32],
    /// ...or, where /proc could not be listed (no candidates), every fd from 3 below this.
    pub fd_scan_below: i32,
    pub noctty: bool,
    /// A child fd (after the fd map) to make the controlling terminal, or -1.
    pub setctty_fd: i32,
    pub no_new_privs: bool,
    pub ptrace: bool,
    pub sandbox: SandboxPlan<'a>,
}

/// One namespace file to join (setns(fd, nstype)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JoinFile {
    pub fd: i32,
    /// The CLONE_NEW* kind the file is (setns checks it).
    pub nstype: i32,
    /// Opened in place of a pidfd join, for kernels whose setns takes no pidfd (before 5.8):
    /// used only if that join fails with EINVAL.
    pub fallback: bool,
}

/// The sandbox steps, prepared in the parent: namespaces to join, a fresh /proc, capability
/// limits, Landlock, seccomp.
#[derive(Default)]
pub struct SandboxPlan<'a> {
    /// A pidfd whose namespaces `join_pidfd_flags` are joined in one setns (Linux 5.8).
    pub join_pidfd: Option<i32>,
    pub join_pidfd_flags: i32,
    /// Namespace files, user first, then in nsenter's order (cgroup, ipc, uts, net, pid,
    /// mount, time).
    pub join_files: &'a [JoinFile],
    /// One cell per join file: joined in the first pass.
    pub join_done: &'a [AtomicBool],
    /// Set when a pid namespace is joined: the cell the hop writes the program's pid into.
    pub pid_hop: Option<&'a AtomicI32>,
    pub mount_proc: bool,
    /// Make the inherited /proc private before mounting over it, so the new mount does not
    /// propagate back (when / was not made private).
    pub proc_private_first: bool,
    /// (bits to set, bits to clear) in the securebits.
    pub securebits: Option<(u32, u32)>,
    /// Bounding-set capabilities to drop (bit n for capability n).
    pub bounding_drop: u64,
    /// A Landlock ruleset fd to restrict the program with.
    pub landlock_fd: Option<i32>,
    /// A classic-BPF program to install last (empty: none).
    pub seccomp: &'a [libc::sock_filter],
}

/// Whether setns takes a pidfd here (Linux 5.8): 0 not known yet, 1 yes, 2 no (EINVAL). A child
/// joining through a pidfd stores what it saw (the memory is the parent's: CLONE_VM), so the
/// parent opens the /proc/PID/ns fallback files only until it knows they are not needed.
static PIDFD_SETNS: AtomicU8 = AtomicU8::new(0);

/// Whether a child has seen setns take a pidfd (`Some(true)`), refuse one (`Some(false)`), or
/// none has tried yet (`None`).
pub fn pidfd_setns_works() -> Option<bool> {
    match PIDFD_SETNS.load(Ordering::Relaxed) {
        1 => Some(true),
        2 => Some(false),
        _ => None,
    }
}

/// Entry after clone3 with CLONE_CLEAR_SIGHAND: handlers are already SIG_DFL.
///
/// # Safety
/// `arg` is a `*const ChildPlan` valid until exec or exit; called only as a clone child.
pub unsafe extern "C" fn entry_handlers_cleared(arg: *mut libc::c_void) -> ! {
    // SAFETY: the parent passed a pointer to a live ChildPlan (see clone_child's contract).
    let plan = unsafe { &*(arg as *const ChildPlan) };
    let status_fd = Cell::new(plan.status_fd);
    fail(plan, &status_fd, run(plan, true, &status_fd))
}

/// Entry after clone(2): handlers must be reset by hand.
///
/// # Safety
/// As for [`entry_handlers_cleared`].
pub unsafe extern "C" fn entry_reset_handlers(arg: *mut libc::c_void) -> ! {
    // SAFETY: as above.
    let plan = unsafe { &*(arg as *const ChildPlan) };
    let status_fd = Cell::new(plan.status_fd);
    fail(plan, &status_fd, run(plan, false, &status_fd))
}

/// Reports `f` in the shared memory and, where there is a status pipe (`status_fd`, its number
/// now), in the pipe too: a fork-like child's memory is its own. Then exits.
fn fail(plan: &ChildPlan, status_fd: &Cell<i32>, f: StepFailure) -> ! {
    plan.report.record(f);
    if status_fd.get() >= 0 {
        let bytes = encode_failure(f);
        // SAFETY: a live local buffer of that length. A pipe write this small is atomic.
        let _ = unsafe { raw::write(status_fd.get(), bytes.as_ptr(), bytes.len()) };
    }
    raw::exit_group(127)
}

/// The sequence. Returns only on failure; success is an exec that does not return.
/// `status_fd` follows the status pipe if the fd map has to move it.
fn run(p: &ChildPlan, handlers_cleared: bool, status_fd: &Cell<i32>) -> StepFailure {
    let joined = reset_signal_dispositions(p, handlers_cleared)
        .and_then(|()| wait_for_parent(p))
        .and_then(|()| mark_open_fds_cloexec(p))
        .and_then(|()| join_namespaces(p));
    match (joined, p.sandbox.pid_hop) {
        (Err(f), _) => f,
        // 2d. The program must be created in the joined pid namespace: the rest runs there.
        (Ok(()), Some(cell)) => hop_into_joined_pid_namespace(p, cell),
        (Ok(()), None) => run_from_session(p, status_fd),
    }
}

/// Entry of the second process of a pid-namespace hop (step 2d): the sequence goes on there.
///
/// # Safety
/// As for [`entry_handlers_cleared`].
unsafe extern "C" fn entry_in_joined_pid_namespace(arg: *mut libc::c_void) -> ! {
    // SAFETY: the hop passed the pointer to the live ChildPlan it runs on.
    let plan = unsafe { &*(arg as *const ChildPlan) };
    let status_fd = Cell::new(plan.status_fd);
    fail(plan, &status_fd, run_from_session(plan, &status_fd))
}

/// Steps 3 to 18.
fn run_from_session(p: &ChildPlan, status_fd: &Cell<i32>) -> StepFailure {
    match from_session(p, status_fd).and_then(|()| install_seccomp_filter(p)) {
        Err(f) => f,
        Ok(()) => exec(p),
    }
}

/// The sequence in a forked child (`pre_exec`): memory is a copy, so a parent handler running
/// here harms nothing and execve resets handled signals anyway; the user's hooks run after
/// every step, right before the seccomp filter and the exec (std's order; a filter must not
/// stop the hooks). The failure goes back through the status pipe `report_fd` (close-on-exec:
/// EOF tells the parent the exec happened), followed through the fd map as on the piped path.
pub fn run_forked(p: &ChildPlan, report_fd: i32, hooks: &mut dyn FnMut() -> Result<(), i32>) -> ! {
    let status_fd = Cell::new(report_fd);
    let f = prepare(p, true, &status_fd)
        .and_then(|()| hooks().map_err(|errno| StepFailure::new(Step::PreExec, errno)))
        .and_then(|()| install_seccomp_filter(p))
        .map_or_else(|f| f, |()| exec(p));
    fail(p, &status_fd, f)
}

/// The sequence in the calling process (`Command::exec`), then `hooks`, then the seccomp
/// filter and the exec. Returns only on failure, with the steps that ran left in effect (as
/// with std's exec). Handled signals are left to execve, which resets them.
pub fn run_in_place(p: &ChildPlan, hooks: &mut dyn FnMut() -> Result<(), i32>) -> StepFailure {
    let no_status_pipe = Cell::new(-1);
    let prepared = prepare(p, true, &no_status_pipe)
        .and_then(|()| hooks().map_err(|errno| StepFailure::new(Step::PreExec, errno)))
        .and_then(|()| install_seccomp_filter(p));
    match prepared {
        Err(f) => f,
        Ok(()) => exec(p),
    }
}

/// Step 18: exec: the prepared candidates in order (PATH search done as glibc does it).
fn exec(p: &ChildPlan) -> StepFailure {
    StepFailure::new(Step::Exec, exec_loop::run(&p.exec, p.argv, p.envp))
}

/// Steps 1-17 in one process (the fork path, `Command::exec`): everything before the hooks,
/// the seccomp filter and the exec. No pid-namespace hop here: the parent refuses to join a
/// pid namespace on these paths, and this is the guard behind that refusal. `status_fd`
/// follows the status pipe if the fd map has to move it.
fn prepare(
    p: &ChildPlan,
    handlers_cleared: bool,
    status_fd: &Cell<i32>,
) -> Result<(), StepFailure> {
    reset_signal_dispositions(p, handlers_cleared)
        .and_then(|()| wait_for_parent(p))
        .and_then(|()| mark_open_fds_cloexec(p))
        .and_then(|()| join_namespaces(p))
        .and_then(|()| match p.sandbox.pid_hop {
            Some(_) => Err(StepFailure::new(Step::PidNamespaceHop, libc::EINVAL)),
            None => Ok(()),
        })
        .and_then(|()| from_session(p, status_fd))
}

/// Steps 3 to 17.
fn from_session(p: &ChildPlan, status_fd: &Cell<i32>) -> Result<(), StepFailure> {
    join_session(p)
        .and_then(|()| enter_namespaces(p))
        .and_then(|()| set_limits(p))
        .and_then(|()| change_root(p))
        .and_then(|()| mount_proc(p))
        .and_then(|()| limit_capabilities(p))
        .and_then(|()| set_credentials(p))
        .and_then(|()| change_directory(p))
        .and_then(|()| arm_parent_death_signal(p))
        .and_then(|()| map_fds(p, status_fd))
        .and_then(|()| hide_other_fds(p))
        .and_then(|()| set_terminal(p))
        .and_then(|()| restrict(p))
        .and_then(|()| set_signal_mask(p))
}

/// Turns a raw syscall result into "go on" or the failure of `step`.
fn check(step: Step, detail: impl Into<i64>, r: SysResult) -> Result<(), StepFailure> {
    match r {
        Ok(_) => Ok(()),
        Err(errno) => Err(StepFailure {
            step,
            errno,
            detail: detail.into(),
        }),
    }
}

fn bit(mask: u64, sig: i32) -> bool {
    (1..=64).contains(&sig) && mask & (1u64 << (sig - 1)) != 0
}

/// Step 1: Dispositions. No parent handler may ever run in the child (it would run on the parent's
/// memory with the parent's assumptions): clone3 reset every handler in the kernel
/// (CLONE_CLEAR_SIGHAND); without it the parent blocked all signals around the clone and we reset
/// handled ones here. SIGPIPE goes back to SIG_DFL (`sig_default`); SIG_IGN is set where asked.
/// Other inherited SIG_IGN survives (nohup) unless `reset_ignored` asks otherwise.
fn reset_signal_dispositions(p: &ChildPlan, handlers_cleared: bool) -> Result<(), StepFailure> {
    let query = !handlers_cleared || p.reset_ignored;
    for sig in 1..=64 {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP {
            continue;
        }
        if bit(p.sig_ignore, sig) {
            let r = raw::set_disposition(sig, libc::SIG_IGN);
            check(Step::SignalDispositions, sig, r)?;
        } else if bit(p.sig_default, sig) {
            let r = raw::set_disposition(sig, libc::SIG_DFL);
            check(Step::SignalDispositions, sig, r)?;
        } else if query {
            let mut old = raw::KernelSigaction::default();
            // SAFETY: querying into a local struct.
            let got = unsafe { raw::sigaction(sig, core::ptr::null(), &mut old) };
            let handled = old.handler > libc::SIG_IGN;
            let ignored = old.handler == libc::SIG_IGN;
            if got.is_ok() && (handled || (ignored && p.reset_ignored)) {
                let r = raw::set_disposition(sig, libc::SIG_DFL);
                check(Step::ResetSignalHandlers, sig, r)?;
            }
        }
    }
    Ok(())
}

/// Step 2: Wait for the parent to write our uid/gid maps: every later step may depend on the
/// credentials the maps give us inside the new user namespace.
fn wait_for_parent(p: &ChildPlan) -> Result<(), StepFailure> {
    if p.wait_fd < 0 {
        return Ok(());
    }
    let mut buf = [0u8; 8];
    // SAFETY: reading into a local buffer of the given size.
    let n = unsafe { raw::read(p.wait_fd, buf.as_mut_ptr(), 8) };
    match n {
        Ok(8) => {
            // The parent's verdict: 0, or the step and errno that failed (`encode_verdict`).
            let code = i64::from_ne_bytes(buf);
            if code != 0 {
                let step = Step::from_number((code >> 32) as u32);
                return Err(StepFailure::new(step, code as i32));
            }
        }
        Ok(_) => return Err(StepFailure::new(Step::WaitForParent, libc::EPIPE)),
        Err(e) => return Err(StepFailure::new(Step::WaitForParent, e)),
    }
    let _ = raw::close(p.wait_fd);
    Ok(())
}

/// Step 2b (kernels without CLOSE_RANGE_CLOEXEC, before 5.11): mark every open fd from 3 up
/// close-on-exec; the fd map (step 13) then clears the flag on the fds the program gets. poll
/// tells which candidates are open in this child's own copy of the fd table (closed ones answer
/// POLLNVAL), 256 per call. The parent listed them just before the clone: its open fds, and the
/// 64 lowest free numbers, where fds other threads open meanwhile land. Listing /proc/self/fd
/// here instead would cost ~40 us: a new process's /proc entries are all cold.
fn mark_open_fds_cloexec(p: &ChildPlan) -> Result<(), StepFailure> {
    if p.fd_hiding != FdHiding::PollAndMark || p.close_ranges.is_empty() {
        return Ok(());
    }
    if p.fd_candidates.is_empty() {
        mark_open_among(3..p.fd_scan_below.max(3))
    } else {
        mark_open_among(p.fd_candidates.iter().copied())
    }
}

/// Polls `numbers`, 256 at a time, and marks each open one close-on-exec.
fn mark_open_among(mut numbers: impl Iterator<Item = i32>) -> Result<(), StepFailure> {
    const BATCH: usize = 256;
    let unused = libc::pollfd {
        fd: -1,
        events: 0,
        revents: 0,
    };
    let mut fds = [unused; BATCH];
    loop {
        let mut n = 0;
        for (slot, fd) in fds.iter_mut().zip(numbers.by_ref()) {
            *slot = libc::pollfd { fd, ..unused };
            n += 1;
        }
        if n == 0 {
            return Ok(());
        }
        // SAFETY: `n` initialised pollfds in a live local array.
        let r = unsafe { raw::poll_now(fds.as_mut_ptr(), n) };
        check(Step::ListFds, fds.first().map_or(0, |f| f.fd), r)?;
        for slot in fds.iter().take(n) {
            if slot.revents & libc::POLLNVAL == 0 {
                match raw::fcntl(slot.fd, libc::F_SETFD, libc::FD_CLOEXEC as usize) {
                    // Closed since the poll: by another thread, where the sequence runs in
                    // place (`Command::exec`) and shares this process's fd table. Gone is
                    // all the marking wanted.
                    Err(libc::EBADF) => {}
                    r => check(Step::MarkCloexec, slot.fd, r)?,
                }
            }
        }
    }
}

/// Steps 3-5: Session and group first: they decide which terminal signals reach the child. Then the
/// terminal's foreground group, while SIGTTOU is still blocked (the parent blocks every signal
/// around the clone when `foreground_fd` is set), so a background child is not stopped.
fn join_session(p: &ChildPlan) -> Result<(), StepFailure> {
    if p.setsid {
        check(Step::Setsid, 0, raw::setsid())?;
    }
    if let Some(pgid) = p.pgid {
        check(Step::Setpgid, pgid, raw::setpgid(0, pgid))?;
    }
    if p.foreground_fd >= 0 {
        let pgrp: libc::pid_t = match p.pgid {
            Some(g) if g > 0 => g,
            _ => raw::getpid(),
        };
        // SAFETY: TIOCSPGRP reads a pid_t through the pointer, which is a live local.
        let r = unsafe {
            raw::ioctl(
                p.foreground_fd,
                libc::TIOCSPGRP,
                &pgrp as *const libc::pid_t as usize,
            )
        };
        check(Step::Foreground, p.foreground_fd, r)?;
    }
    Ok(())
}

/// Step 6: New namespaces before chroot and credentials: those then act inside them.
fn enter_namespaces(p: &ChildPlan) -> Result<(), StepFailure> {
    if p.unshare_flags != 0 {
        let r = raw::unshare(p.unshare_flags);
        check(Step::Unshare, p.unshare_flags, r)?;
    }
    if p.root_propagation != 0 {
        // Keep our mounts from propagating back to the parent namespace (private, the
        // default), or the propagation asked for.
        // SAFETY: constant NUL-terminated strings and null pointers.
        let r = unsafe {
            raw::mount(
                c"none".as_ptr(),
                c"/".as_ptr(),
                core::ptr::null(),
                p.root_propagation,
                core::ptr::null(),
            )
        };
        check(Step::RemountPrivate, 0, r)?;
    }
    Ok(())
}

/// Step 7: Limits, priority and umask while we still hold the privileges that raising them needs.
fn set_limits(p: &ChildPlan) -> Result<(), StepFailure> {
    for r in p.rlimits {
        let lim = libc::rlimit64 {
            rlim_cur: r.soft,
            rlim_max: r.hard,
        };
        // SAFETY: a live local rlimit64.
        let res = unsafe { raw::setrlimit(r.resource, &lim) };
        check(Step::Rlimit, r.resource, res)?;
    }
    if let Some(n) = p.nice {
        check(Step::Nice, n, raw::set_nice(n))?;
    }
    if let Some((policy, prio)) = p.scheduler {
        let param = libc::sched_param {
            sched_priority: prio,
        };
        // SAFETY: a live local sched_param.
        let r = unsafe { raw::sched_setscheduler(policy, &param) };
        check(Step::Scheduler, policy, r)?;
    }
    if let Some(m) = p.umask {
        check(Step::Umask, m, raw::umask(m as libc::mode_t))?;
    }
    Ok(())
}

/// Step 8: chroot before dropping root (it needs CAP_SYS_CHROOT) and before chdir. Then chdir
/// to the new "/" at once, as chroot(8) and bwrap do: the old working directory lies outside
/// the new root, and a relative path (`../etc`, `./prog`, a relative working directory) would
/// otherwise reach the host. The working directory asked for is then resolved inside.
fn change_root(p: &ChildPlan) -> Result<(), StepFailure> {
    if p.chroot.is_null() {
        return Ok(());
    }
    // SAFETY: the parent prepared a NUL-terminated path.
    let r = unsafe { raw::chroot(p.chroot) };
    check(Step::Chroot, 0, r)?;
    // SAFETY: a constant NUL-terminated path.
    let r = unsafe { raw::chdir(c"/".as_ptr()) };
    check(Step::Chroot, 0, r)
}

/// Steps 9-10: Credentials: groups, then gid, then uid. Each later call needs the privilege the
/// earlier ones keep; setuid last drops it. Keepcaps first if ambient caps must survive; then the
/// ambient capabilities (permitted+inheritable by capset, then raised one by one).
fn set_credentials(p: &ChildPlan) -> Result<(), StepFailure> {
    if p.keep_caps {
        let r = raw::prctl(libc::PR_SET_KEEPCAPS, 1, 0, 0, 0);
        check(Step::KeepCaps, 0, r)?;
    }
    if let Some(groups) = p.groups {
        // SAFETY: pointer and length of a live slice.
        let r = unsafe { raw::setgroups(groups.len(), groups.as_ptr()) };
        check(Step::Setgroups, groups.len() as i64, r)?;
    }
    if let Some(gid) = p.gid {
        check(Step::Setgid, gid, raw::setgid(gid))?;
    }
    if let Some(uid) = p.uid {
        check(Step::Setuid, uid, raw::setuid(uid))?;
    }
    if p.ambient_caps != 0 {
        raise_ambient_capabilities(p.ambient_caps)?;
    }
    Ok(())
}

fn raise_ambient_capabilities(caps: u64) -> Result<(), StepFailure> {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    let hdr = Header {
        version: 0x2008_0522, // _LINUX_CAPABILITY_VERSION_3: two 32-bit halves
        pid: 0,
    };
    let half = |bits: u32| Data {
        effective: bits,
        permitted: bits,
        inheritable: bits,
    };
    let data = [half(caps as u32), half((caps >> 32) as u32)];
    // SAFETY: a v3 header and two data structs, live locals.
    let r = unsafe { raw::capset((&hdr as *const Header).cast(), data.as_ptr().cast()) };
    check(Step::Capabilities, 0, r)?;
    for cap in 0..64 {
        if caps & (1u64 << cap) != 0 {
            let raise = libc::PR_CAP_AMBIENT_RAISE as usize;
            let r = raw::prctl(libc::PR_CAP_AMBIENT, raise, cap as usize, 0, 0);
            check(Step::AmbientCaps, cap, r)?;
        }
    }
    Ok(())
}

/// Step 11: The working directory, with the final root and credentials (as the program will be).
fn change_directory(p: &ChildPlan) -> Result<(), StepFailure> {
    if p.chdir.is_null() {
        return Ok(());
    }
    // SAFETY: the parent prepared a NUL-terminated path.
    let r = unsafe { raw::chdir(p.chdir) };
    check(Step::Chdir, 0, r)
}

/// Step 12: Parent-death signal after setuid (which clears it). If the parent died before the prctl
/// took effect, nobody will send the signal: check and deliver it ourselves.
fn arm_parent_death_signal(p: &ChildPlan) -> Result<(), StepFailure> {
    if p.pdeathsig <= 0 {
        return Ok(());
    }
    let sig = p.pdeathsig;
    let r = raw::prctl(libc::PR_SET_PDEATHSIG, sig as usize, 0, 0, 0);
    check(Step::Pdeathsig, sig, r)?;
    if p.check_parent && raw::getppid() != p.parent_pid {
        let _ = raw::kill(raw::getpid(), sig);
        return Err(StepFailure {
            step: Step::ParentDied,
            errno: libc::ESRCH,
            detail: sig as i64,
        });
    }
    Ok(())
}

/// Step 13: The fd map. First move every source that another entry will overwrite to a fresh close-
/// on-exec fd above all targets; then dup each source onto its target (dup3 without O_CLOEXEC, so
/// the target survives exec), clearing CLOEXEC where a source is already in place.
fn map_fds(p: &ChildPlan, status_fd: &Cell<i32>) -> Result<(), StepFailure> {
    let high = p
        .fds
        .iter()
        .fold(0, |h, a| h.max(a.target + 1).max(a.source + 1)) as usize;
    // The status pipe must outlive the map: if a target lands on its number, keep a copy
    // above every target (close-on-exec, so it still closes at exec), and report through it.
    let status = status_fd.get();
    if status >= 0 && p.fds.iter().any(|a| a.target == status) {
        match raw::fcntl(status, libc::F_DUPFD_CLOEXEC, high) {
            Ok(moved) => status_fd.set(moved as i32),
            Err(e) => {
                status_fd.set(-1);
                return check(Step::FdMove, status, Err(e));
            }
        }
    }
    for (a, slot) in p.fds.iter().zip(p.fd_scratch) {
        let source = if a.source >= 0 && a.needs_move {
            match raw::fcntl(a.source, libc::F_DUPFD_CLOEXEC, high) {
                Ok(fd) => fd as i32,
                Err(e) => {
                    return Err(StepFailure {
                        step: Step::FdMove,
                        errno: e,
                        detail: a.source as i64,
                    })
                }
            }
        } else {
            a.source
        };
        slot.store(source, Ordering::Relaxed);
    }
    for (a, slot) in p.fds.iter().zip(p.fd_scratch) {
        let src = slot.load(Ordering::Relaxed);
        if src < 0 {
            let _ = raw::close(a.target);
        } else if src == a.target {
            check(
                Step::FdMap,
                a.target,
                raw::fcntl(a.target, libc::F_SETFD, 0),
            )?;
        } else {
            check(Step::FdMap, a.target, raw::dup3(src, a.target, 0))?;
        }
    }
    Ok(())
}

/// Step 14: Every other fd: close-on-exec, so the program sees only 0-2 and the mapped fds. Marking
/// instead of closing keeps fds this sequence still uses (the status pipe, an execveat dirfd)
/// usable up to the exec, and the exec closes them all at once.
/// Kernels without CLOSE_RANGE_CLOEXEC marked them at step 2b instead (closing for real here
/// would also close the status pipe, whose EOF tells the parent the stack is free).
fn hide_other_fds(p: &ChildPlan) -> Result<(), StepFailure> {
    if p.fd_hiding != FdHiding::CloseRange {
        return Ok(());
    }
    for &(lo, hi) in p.close_ranges {
        let r = raw::close_range(lo, hi, raw::CLOSE_RANGE_CLOEXEC);
        check(Step::CloseFds, lo, r)?;
    }
    Ok(())
}

/// Step 15: Terminal: drop the old one, or take the one now at a child fd (after the map, as in
/// Go).
fn set_terminal(p: &ChildPlan) -> Result<(), StepFailure> {
    if p.noctty {
        // SAFETY: TIOCNOTTY takes no argument.
        let r = unsafe { raw::ioctl(0, libc::TIOCNOTTY, 0) };
        check(Step::Noctty, 0, r)?;
    }
    if p.setctty_fd >= 0 {
        // SAFETY: TIOCSCTTY takes an integer (1: steal if needed and allowed).
        let r = unsafe { raw::ioctl(p.setctty_fd, libc::TIOCSCTTY, 1) };
        check(Step::Setctty, p.setctty_fd, r)?;
    }
    Ok(())
}

/// Step 16: Last restrictions, right before exec so no earlier step is affected by them.
/// Landlock comes after every step that opens a path (chroot, the mounts, chdir).
fn restrict(p: &ChildPlan) -> Result<(), StepFailure> {
    if p.no_new_privs {
        let r = raw::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
        check(Step::NoNewPrivs, 0, r)?;
    }
    if p.ptrace {
        check(Step::Ptrace, 0, raw::ptrace_traceme())?;
    }
    if let Some(fd) = p.sandbox.landlock_fd {
        let r = with_implied_no_new_privs(p, libc::EPERM, || raw::landlock_restrict_self(fd));
        check(Step::Landlock, fd, r)?;
    }
    Ok(())
}

/// Step 17: The signal mask the program starts with. Until here the child ran with the mask the
/// clone inherited from the spawning thread: that thread's own mask, or every signal blocked where
/// the parent blocks them around the clone (the clone(2) path, the release path, foreground).
fn set_signal_mask(p: &ChildPlan) -> Result<(), StepFailure> {
    let Some(mask) = p.sig_mask else {
        return Ok(());
    };
    // SAFETY: a live local sigset.
    let r = unsafe { raw::sigprocmask(libc::SIG_SETMASK, &mask, core::ptr::null_mut()) };
    check(Step::SignalMask, 0, r)
}

/// Step 2a: Join existing namespaces, as nsenter does, in two passes: first everything but the
/// user namespace, ignoring failures; then the user namespace and whatever failed. A caller
/// that gains privilege through the user namespace (an unprivileged one entering a container)
/// needs it first: its first pass fails and the second joins the user namespace first (setns
/// on a pidfd does all of it at once in the kernel's own order). A root caller giving privilege
/// up must join it last, or it could no longer join the others: its first pass succeeds.
/// A pidfd join that the kernel refuses with EINVAL (setns takes pidfds since 5.8) falls back
/// to the /proc/PID/ns files the parent opened for that case.
fn join_namespaces(p: &ChildPlan) -> Result<(), StepFailure> {
    let s = &p.sandbox;
    let has_fallback = s.join_files.iter().any(|f| f.fallback);
    let mut use_fallback = false;
    if let Some(pidfd) = s.join_pidfd {
        let mut left = s.join_pidfd_flags;
        let first = left & !libc::CLONE_NEWUSER;
        if first != 0 {
            match raw::setns(pidfd, first) {
                Ok(_) => left &= libc::CLONE_NEWUSER,
                Err(libc::EINVAL) if has_fallback => use_fallback = true,
                Err(_) => {} // the second pass retries it, the user namespace first
            }
        }
        if left != 0 && !use_fallback {
            match raw::setns(pidfd, left) {
                Ok(_) => {}
                Err(libc::EINVAL) if has_fallback => use_fallback = true,
                Err(e) => {
                    return Err(StepFailure {
                        step: Step::JoinNamespaces,
                        errno: e,
                        detail: left as i64,
                    })
                }
            }
        }
        PIDFD_SETNS.store(if use_fallback { 2 } else { 1 }, Ordering::Relaxed);
    }
    let wanted = |f: &JoinFile| !f.fallback || use_fallback;
    for (f, done) in s.join_files.iter().zip(s.join_done) {
        let joined =
            wanted(f) && f.nstype != libc::CLONE_NEWUSER && raw::setns(f.fd, f.nstype).is_ok();
        done.store(joined, Ordering::Relaxed);
    }
    for (f, done) in s.join_files.iter().zip(s.join_done) {
        if wanted(f) && !done.load(Ordering::Relaxed) {
            check(Step::JoinNamespaces, f.nstype, raw::setns(f.fd, f.nstype))?;
        }
    }
    Ok(())
}

/// How far below the hopping process's frames the next process's stack starts: the frames of
/// the clone call itself live there (a few hundred bytes; generous for debug builds).
const HOP_STACK_GAP: usize = 16 * 1024;

/// Step 2b: After setns to a pid namespace only the caller's *later children* are born in it
/// (nsenter forks for this reason). So this process makes the program's process with
/// clone(CLONE_VM|CLONE_VFORK|CLONE_PARENT): born in the joined pid namespace, a child of the
/// spawning process (CLONE_PARENT) so that the caller waits for it directly, running the rest
/// of the sequence on the unused part of this same stack (this process is suspended until it
/// execs: CLONE_VFORK). Then this process writes its pid where the parent reads it and exits;
/// the parent reaps it and takes a pidfd of the program.
fn hop_into_joined_pid_namespace(p: &ChildPlan, cell: &AtomicI32) -> StepFailure {
    let here = 0u8;
    let top = ((&here as *const u8 as usize) - HOP_STACK_GAP) & !15;
    // SAFETY: the region below `top` on this stack is unused (this process's frames are all
    // above it, and it stays suspended in the clone until the new process exec'd or exited);
    // the entry follows the child rules and the plan outlives both processes' use of it.
    let r = unsafe {
        super::clone::clone_sibling(
            top,
            entry_in_joined_pid_namespace,
            p as *const ChildPlan as *mut libc::c_void,
        )
    };
    match r {
        Ok(pid) => {
            cell.store(pid, Ordering::Release);
            raw::exit_group(0)
        }
        Err(e) => StepFailure::new(Step::PidNamespaceHop, e),
    }
}

/// Step 8a: A fresh /proc for the new pid namespace (unshare --mount-proc), after chroot so it
/// is the new root's. Where / kept a shared or slave propagation, the inherited /proc is made
/// private first, as unshare does, so the new mount does not appear in the parent namespace.
fn mount_proc(p: &ChildPlan) -> Result<(), StepFailure> {
    if !p.sandbox.mount_proc {
        return Ok(());
    }
    if p.sandbox.proc_private_first {
        // SAFETY: constant NUL-terminated strings and null pointers.
        let r = unsafe {
            raw::mount(
                c"none".as_ptr(),
                c"/proc".as_ptr(),
                core::ptr::null(),
                libc::MS_REC | libc::MS_PRIVATE,
                core::ptr::null(),
            )
        };
        check(Step::MountProc, 0, r)?;
    }
    // SAFETY: constant NUL-terminated strings and a null data pointer.
    let r = unsafe {
        raw::mount(
            c"proc".as_ptr(),
            c"/proc".as_ptr(),
            c"proc".as_ptr(),
            libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
            core::ptr::null(),
        )
    };
    check(Step::MountProc, 1, r)
}

/// Step 8b: Securebits, then the bounding set (setpriv's order): both need CAP_SETPCAP, which
/// the bounding set may drop, and both before setuid, whose capability fix-up
/// no_setuid_fixup governs.
fn limit_capabilities(p: &ChildPlan) -> Result<(), StepFailure> {
    let s = &p.sandbox;
    if let Some((set, clear)) = s.securebits {
        let current = match raw::prctl(libc::PR_GET_SECUREBITS, 0, 0, 0, 0) {
            Ok(bits) => bits as u32,
            Err(e) => return Err(StepFailure::new(Step::Securebits, e)),
        };
        let bits = (current | set) & !clear;
        let r = raw::prctl(libc::PR_SET_SECUREBITS, bits as usize, 0, 0, 0);
        check(Step::Securebits, bits, r)?;
    }
    for cap in 0..64 {
        if s.bounding_drop & (1u64 << cap) != 0 {
            let r = raw::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0);
            check(Step::BoundingSet, cap as i64, r)?;
        }
    }
    Ok(())
}

/// Step 17a: The seccomp filter, the very last step: no earlier step's syscall can be denied by
/// it. seccomp(2) (3.17), or prctl(PR_SET_SECCOMP) before it (3.5).
fn install_seccomp_filter(p: &ChildPlan) -> Result<(), StepFailure> {
    let program = p.sandbox.seccomp;
    if program.is_empty() {
        return Ok(());
    }
    let prog = libc::sock_fprog {
        // The parent refused programs longer than BPF_MAXINSNS (4096).
        len: program.len() as u16,
        filter: program.as_ptr() as *mut libc::sock_filter,
    };
    let install = || {
        // SAFETY: `prog` is a live local pointing at the plan's program of `len` instructions.
        match unsafe { raw::seccomp_set_filter(&prog) } {
            // SAFETY: as above.
            Err(libc::ENOSYS) => unsafe { raw::prctl_set_seccomp_filter(&prog) },
            r => r,
        }
    };
    let r = with_implied_no_new_privs(p, libc::EACCES, install);
    check(Step::Seccomp, program.len() as i64, r)
}

/// Runs `restrict_self` (landlock_restrict_self, a seccomp filter install); if the kernel
/// answers `refusal` because the child has neither no_new_privs nor CAP_SYS_ADMIN, sets
/// no_new_privs and runs it again. So a privileged child is restricted as asked and an
/// unprivileged one also gets no_new_privs, which the kernel demands of it.
fn with_implied_no_new_privs(
    p: &ChildPlan,
    refusal: i32,
    restrict_self: impl Fn() -> SysResult,
) -> SysResult {
    match restrict_self() {
        Err(e) if e == refusal && !p.no_new_privs => {
            raw::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)?;
            restrict_self()
        }
        r => r,
    }
}
