//! The child sequence: what runs between clone and exec.
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
//! The steps run in one fixed order, each where it is for a reason given beside it in `run()`:
//!
//! | # | step | why there |
//! | --- | --- | --- |
//! | 1 | handlers and SIGPIPE to SIG_DFL (all 64 on request; SIG_IGN where asked) | no parent handler may run in the child |
//! | 2 | wait for the parent (uid/gid maps) | later steps act with the mapped ids |
//! | 3-4 | setsid, setpgid | decide which terminal signals reach the child |
//! | 5 | TIOCSPGRP on a parent fd | signals still blocked: no SIGTTOU stop |
//! | 6 | unshare, private remount of / | chroot and credentials then act inside |
//! | 7 | rlimits, nice, scheduler, umask | still privileged enough to raise them |
//! | 8 | chroot | needs CAP_SYS_CHROOT; before chdir, which resolves inside |
//! | 9 | keepcaps, setgroups, setgid, setuid | each needs the privilege the next drops |
//! | 10 | capset, ambient raise | after setuid, which clears capabilities |
//! | 11 | chdir | with the final root and ids, as the program will see it |
//! | 12 | pdeathsig, parent check | after setuid, which clears it |
//! | 13-14 | fd map (moves first), close-on-exec gaps | late: earlier steps may fail and report |
//! | 15 | TIOCNOTTY, TIOCSCTTY on a child fd | after the map, so the fd is the program's |
//! | 16 | no_new_privs, PTRACE_TRACEME | as late as possible: affect only the exec |
//! | 17 | signal mask | the program's mask; until here the parent's (or all, see spawn.rs) |
//! | 18 | exec | |
//!
//! A failing
//! step writes `{step, errno, detail}` into the shared [`Report`] and exits with status 127; the
//! parent reads the report once clone returns (vfork) or once the status pipe closes.

use super::raw;
use crate::exec::ExecTarget;
use core::sync::atomic::{AtomicI32, AtomicI64, AtomicU32, Ordering};
use std::cell::Cell;
use std::os::raw::c_char;

/// The steps of the child sequence, in order. `None` means "no failure".
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    None = 0,
    ResetSignalHandlers,
    WaitForParent,
    Setsid,
    Setpgid,
    Foreground,
    SignalDispositions,
    Unshare,
    RemountPrivate,
    Rlimit,
    Nice,
    Scheduler,
    Umask,
    Chroot,
    KeepCaps,
    Setgroups,
    Setgid,
    Setuid,
    Capabilities,
    AmbientCaps,
    Chdir,
    Pdeathsig,
    ParentDied,
    FdMove,
    FdMap,
    CloseFds,
    Noctty,
    Setctty,
    NoNewPrivs,
    Ptrace,
    SignalMask,
    Exec,
    /// Parent-side steps, reported through the same channel for uniform errors.
    Clone,
    UserNamespaceMaps,
}

impl Step {
    fn from_u32(v: u32) -> Step {
        const ALL: [Step; 34] = [
            Step::None,
            Step::ResetSignalHandlers,
            Step::WaitForParent,
            Step::Setsid,
            Step::Setpgid,
            Step::Foreground,
            Step::SignalDispositions,
            Step::Unshare,
            Step::RemountPrivate,
            Step::Rlimit,
            Step::Nice,
            Step::Scheduler,
            Step::Umask,
            Step::Chroot,
            Step::KeepCaps,
            Step::Setgroups,
            Step::Setgid,
            Step::Setuid,
            Step::Capabilities,
            Step::AmbientCaps,
            Step::Chdir,
            Step::Pdeathsig,
            Step::ParentDied,
            Step::FdMove,
            Step::FdMap,
            Step::CloseFds,
            Step::Noctty,
            Step::Setctty,
            Step::NoNewPrivs,
            Step::Ptrace,
            Step::SignalMask,
            Step::Exec,
            Step::Clone,
            Step::UserNamespaceMaps,
        ];
        ALL.get(v as usize).copied().unwrap_or(Step::None)
    }
}

/// Where the child reports failure: in the parent's memory, shared through CLONE_VM.
#[repr(C)]
#[derive(Default)]
pub struct Report {
    step: AtomicU32,
    errno: AtomicI32,
    detail: AtomicI64,
}

/// A failure the child (or the clone itself) reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Failure {
    pub step: Step,
    pub errno: i32,
    /// Step-specific: the fd for fd steps, the resource for Rlimit, the capability for caps.
    pub detail: i64,
}

impl Report {
    /// What the child reported, if anything.
    pub fn failure(&self) -> Option<Failure> {
        let step = Step::from_u32(self.step.load(Ordering::Acquire));
        (step != Step::None).then(|| Failure {
            step,
            errno: self.errno.load(Ordering::Relaxed),
            detail: self.detail.load(Ordering::Relaxed),
        })
    }
}

/// One entry of the fd map: child fd `target` gets parent fd `source` (or is closed).
#[derive(Clone, Copy, Debug)]
pub struct FdAction {
    pub target: i32,
    /// The parent fd, or -1 to close `target` in the child.
    pub source: i32,
    /// `source` is also the target of another entry and must be moved out of the way first.
    pub needs_move: bool,
}

/// One resource limit to set.
#[derive(Clone, Copy, Debug)]
pub struct RlimitAction {
    pub resource: i32,
    pub soft: u64,
    pub hard: u64,
}

/// Everything the child does, prepared in the parent. Pointers point into data the parent
/// keeps alive until the child has exec'd or exited.
pub struct ChildPlan<'a> {
    pub report: &'a Report,
    pub exec: &'a ExecTarget,
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
    /// The child's signal mask at exec.
    pub sig_mask: u64,
    pub unshare_flags: i32,
    pub remount_private: bool,
    pub rlimits: &'a [RlimitAction],
    pub nice: Option<i32>,
    /// (policy, priority)
    pub scheduler: Option<(i32, i32)>,
    pub umask: Option<u32>,
    pub chroot: *const c_char,
    pub keep_caps: bool,
    pub groups: Option<&'a [libc::gid_t]>,
    pub gid: Option<u32>,
    pub uid: Option<u32>,
    /// Capabilities to keep permitted+inheritable and raise as ambient (bit n for cap n).
    pub ambient_caps: u64,
    pub chdir: *const c_char,
    pub pdeathsig: i32,
    pub parent_pid: i32,
    /// Compare getppid() with `parent_pid` after PR_SET_PDEATHSIG (false in a new pid
    /// namespace, where the parent is outside and getppid() returns 0).
    pub check_parent: bool,
    pub fds: &'a [FdAction],
    /// One cell per fd action, for the source's temporary number after a move.
    pub fd_scratch: &'a [Cell<i32>],
    /// Ranges [lo, hi] to mark close-on-exec: every fd the child should not see.
    pub close_ranges: &'a [(u32, u32)],
    pub noctty: bool,
    /// A child fd (after the fd map) to make the controlling terminal, or -1.
    pub setctty_fd: i32,
    pub no_new_privs: bool,
    pub ptrace: bool,
}

const CLOSE_RANGE_CLOEXEC: u32 = 4;

/// Entry after clone3 with CLONE_CLEAR_SIGHAND: handlers are already SIG_DFL.
///
/// # Safety
/// `arg` is a `*const ChildPlan` valid until exec or exit; called only as a clone child.
pub unsafe extern "C" fn entry_handlers_cleared(arg: *mut libc::c_void) -> ! {
    // SAFETY: the parent passed a pointer to a live ChildPlan (see clone_child's contract).
    let plan = unsafe { &*(arg as *const ChildPlan) };
    fail(plan, run(plan, true))
}

/// Entry after clone(2): handlers must be reset by hand.
///
/// # Safety
/// As for [`entry_handlers_cleared`].
pub unsafe extern "C" fn entry_reset_handlers(arg: *mut libc::c_void) -> ! {
    // SAFETY: as above.
    let plan = unsafe { &*(arg as *const ChildPlan) };
    fail(plan, run(plan, false))
}

fn fail(plan: &ChildPlan, f: Failure) -> ! {
    plan.report.errno.store(f.errno, Ordering::Relaxed);
    plan.report.detail.store(f.detail, Ordering::Relaxed);
    plan.report.step.store(f.step as u32, Ordering::Release);
    raw::exit_group(127)
}

/// Turns a raw result into "go on" or the failure of `step`.
macro_rules! step {
    ($step:expr, $detail:expr, $call:expr) => {
        if let Err(errno) = $call {
            return Failure {
                step: $step,
                errno,
                detail: $detail as i64,
            };
        }
    };
}

fn bit(mask: u64, sig: i32) -> bool {
    (1..=64).contains(&sig) && mask & (1u64 << (sig - 1)) != 0
}

/// The sequence. Returns only on failure; success is an exec that does not return.
fn run(p: &ChildPlan, handlers_cleared: bool) -> Failure {
    // 1. Dispositions. No parent handler may ever run in the child (it would run on the
    //    parent's memory with the parent's assumptions): clone3 reset every handler in the
    //    kernel (CLONE_CLEAR_SIGHAND); without it the parent blocked all signals and we reset
    //    handled ones here. SIGPIPE goes back to SIG_DFL (sig_default); SIG_IGN set where
    //    asked. Other inherited SIG_IGN survives (nohup) unless reset_ignored asks otherwise.
    let query = !handlers_cleared || p.reset_ignored;
    let mut sig = 1;
    while sig <= 64 {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP {
            sig += 1;
            continue;
        }
        if bit(p.sig_ignore, sig) {
            step!(
                Step::SignalDispositions,
                sig,
                raw::set_disposition(sig, libc::SIG_IGN)
            );
        } else if bit(p.sig_default, sig) {
            step!(
                Step::SignalDispositions,
                sig,
                raw::set_disposition(sig, libc::SIG_DFL)
            );
        } else if query {
            let mut old = raw::KernelSigaction {
                handler: 0,
                flags: 0,
                restorer: 0,
                mask: 0,
            };
            // SAFETY: querying into a local struct.
            let got = unsafe { raw::sigaction(sig, core::ptr::null(), &mut old) };
            let handled = old.handler > libc::SIG_IGN;
            let ignored = old.handler == libc::SIG_IGN;
            if got.is_ok() && (handled || (ignored && p.reset_ignored)) {
                step!(
                    Step::ResetSignalHandlers,
                    sig,
                    raw::set_disposition(sig, libc::SIG_DFL)
                );
            }
        }
        sig += 1;
    }

    // 2. Wait for the parent to write our uid/gid maps: every later step may depend on the
    //    credentials the maps give us inside the new user namespace.
    if p.wait_fd >= 0 {
        let mut buf = [0u8; 8];
        // SAFETY: reading into a local buffer of the given size.
        let n = unsafe { raw::read(p.wait_fd, buf.as_mut_ptr(), 8) };
        match n {
            Ok(8) => {
                let code = i64::from_ne_bytes(buf);
                if code != 0 {
                    return Failure {
                        step: Step::UserNamespaceMaps,
                        errno: code as i32,
                        detail: 0,
                    };
                }
            }
            Ok(_) => {
                return Failure {
                    step: Step::WaitForParent,
                    errno: libc::EPIPE,
                    detail: 0,
                }
            }
            Err(e) => {
                return Failure {
                    step: Step::WaitForParent,
                    errno: e,
                    detail: 0,
                }
            }
        }
        let _ = raw::close(p.wait_fd);
    }

    // 3-4. Session and group first: they decide which terminal signals reach the child.
    if p.setsid {
        step!(Step::Setsid, 0, raw::setsid());
    }
    if let Some(pgid) = p.pgid {
        step!(Step::Setpgid, pgid, raw::setpgid(0, pgid));
    }
    // 5. Foreground while SIGTTOU is still blocked, so a background child is not stopped.
    if p.foreground_fd >= 0 {
        let pgrp: libc::pid_t = raw::getpid();
        let pgrp = match p.pgid {
            Some(g) if g > 0 => g,
            _ => pgrp,
        };
        // SAFETY: TIOCSPGRP reads a pid_t through the pointer, which is a live local.
        step!(Step::Foreground, p.foreground_fd, unsafe {
            raw::ioctl(
                p.foreground_fd,
                libc::TIOCSPGRP,
                &pgrp as *const libc::pid_t as usize,
            )
        });
    }

    // 6. New namespaces before chroot and credentials: those then act inside them.
    if p.unshare_flags != 0 {
        step!(
            Step::Unshare,
            p.unshare_flags,
            raw::unshare(p.unshare_flags)
        );
    }
    if p.remount_private {
        // Keep our mounts from propagating back to the parent namespace.
        // SAFETY: constant NUL-terminated strings and null pointers.
        step!(Step::RemountPrivate, 0, unsafe {
            raw::mount(
                c"none".as_ptr(),
                c"/".as_ptr(),
                core::ptr::null(),
                libc::MS_REC | libc::MS_PRIVATE,
                core::ptr::null(),
            )
        });
    }

    // 7. Limits, priority and umask while we still hold the privileges that raising them needs.
    for r in p.rlimits {
        let lim = libc::rlimit64 {
            rlim_cur: r.soft,
            rlim_max: r.hard,
        };
        // SAFETY: a live local rlimit64.
        step!(Step::Rlimit, r.resource, unsafe {
            raw::setrlimit(r.resource, &lim)
        });
    }
    if let Some(n) = p.nice {
        step!(Step::Nice, n, raw::set_nice(n));
    }
    if let Some((policy, prio)) = p.scheduler {
        let param = libc::sched_param {
            sched_priority: prio,
        };
        // SAFETY: a live local sched_param.
        step!(Step::Scheduler, policy, unsafe {
            raw::sched_setscheduler(policy, &param)
        });
    }
    if let Some(m) = p.umask {
        step!(Step::Umask, m, raw::umask(m as libc::mode_t));
    }

    // 8. chroot before dropping root (it needs CAP_SYS_CHROOT) and before chdir (Dir is
    //    interpreted inside the new root, as in Go).
    if !p.chroot.is_null() {
        // SAFETY: the parent prepared a NUL-terminated path.
        step!(Step::Chroot, 0, unsafe { raw::chroot(p.chroot) });
    }

    // 9. Credentials: groups, then gid, then uid. Each later call needs the privilege the
    //     earlier ones keep; setuid last drops it. Keepcaps first if ambient caps must survive.
    if p.keep_caps {
        step!(
            Step::KeepCaps,
            0,
            raw::prctl(libc::PR_SET_KEEPCAPS, 1, 0, 0, 0)
        );
    }
    if let Some(groups) = p.groups {
        // SAFETY: pointer and length of a live slice.
        step!(Step::Setgroups, groups.len(), unsafe {
            raw::setgroups(groups.len(), groups.as_ptr())
        });
    }
    if let Some(gid) = p.gid {
        step!(Step::Setgid, gid, raw::setgid(gid));
    }
    if let Some(uid) = p.uid {
        step!(Step::Setuid, uid, raw::setuid(uid));
    }
    // 10. Ambient capabilities: permitted+inheritable first (capset), then raise each.
    if p.ambient_caps != 0 {
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
            version: 0x2008_0522,
            pid: 0,
        };
        let lo = p.ambient_caps as u32;
        let hi = (p.ambient_caps >> 32) as u32;
        let data = [
            Data {
                effective: lo,
                permitted: lo,
                inheritable: lo,
            },
            Data {
                effective: hi,
                permitted: hi,
                inheritable: hi,
            },
        ];
        // SAFETY: a v3 header and two data structs, live locals.
        step!(Step::Capabilities, 0, unsafe {
            raw::capset((&hdr as *const Header).cast(), data.as_ptr().cast())
        });
        let mut cap = 0;
        while cap < 64 {
            if p.ambient_caps & (1u64 << cap) != 0 {
                step!(
                    Step::AmbientCaps,
                    cap,
                    raw::prctl(
                        libc::PR_CAP_AMBIENT,
                        libc::PR_CAP_AMBIENT_RAISE as usize,
                        cap as usize,
                        0,
                        0
                    )
                );
            }
            cap += 1;
        }
    }

    // 11. The working directory, with the final root and credentials (as the program will be).
    if !p.chdir.is_null() {
        // SAFETY: the parent prepared a NUL-terminated path.
        step!(Step::Chdir, 0, unsafe { raw::chdir(p.chdir) });
    }

    // 12. Parent-death signal after setuid (which clears it). If the parent died before the
    //     prctl took effect, nobody will send the signal: check and deliver it ourselves.
    if p.pdeathsig > 0 {
        step!(
            Step::Pdeathsig,
            p.pdeathsig,
            raw::prctl(libc::PR_SET_PDEATHSIG, p.pdeathsig as usize, 0, 0, 0)
        );
        if p.check_parent && raw::getppid() != p.parent_pid {
            let _ = raw::kill(raw::getpid(), p.pdeathsig);
            return Failure {
                step: Step::ParentDied,
                errno: libc::ESRCH,
                detail: p.pdeathsig as i64,
            };
        }
    }

    // 13. The fd map. First move every source that another entry will overwrite to a fresh
    //     close-on-exec fd above all targets; then dup each source onto its target (dup3
    //     without O_CLOEXEC, so the target survives exec), clearing CLOEXEC where a source is
    //     already in place.
    let mut high = 0;
    for a in p.fds {
        high = high.max(a.target + 1).max(a.source + 1);
    }
    // The status pipe must outlive the map: if a target lands on its number, keep a copy
    // above every target (close-on-exec, so it still closes at exec).
    if p.status_fd >= 0 && p.fds.iter().any(|a| a.target == p.status_fd) {
        step!(
            Step::FdMove,
            p.status_fd,
            raw::fcntl(p.status_fd, libc::F_DUPFD_CLOEXEC, high as usize)
        );
    }
    for (i, a) in p.fds.iter().enumerate() {
        let Some(cell) = p.fd_scratch.get(i) else {
            break;
        };
        if a.source >= 0 && a.needs_move {
            match raw::fcntl(a.source, libc::F_DUPFD_CLOEXEC, high as usize) {
                Ok(fd) => cell.set(fd as i32),
                Err(e) => {
                    return Failure {
                        step: Step::FdMove,
                        errno: e,
                        detail: a.source as i64,
                    }
                }
            }
        } else {
            cell.set(a.source);
        }
    }
    for (i, a) in p.fds.iter().enumerate() {
        let Some(cell) = p.fd_scratch.get(i) else {
            break;
        };
        let src = cell.get();
        if src < 0 {
            let _ = raw::close(a.target);
        } else if src == a.target {
            step!(
                Step::FdMap,
                a.target,
                raw::fcntl(a.target, libc::F_SETFD, 0)
            );
        } else {
            step!(Step::FdMap, a.target, raw::dup3(src, a.target, 0));
        }
    }
    // 14. Every other fd: close-on-exec, so the program sees only 0-2 and the mapped fds.
    //     Marking instead of closing keeps fds this sequence still uses (the status pipe, an
    //     execveat dirfd) usable up to the exec, and the exec closes them all at once.
    for &(lo, hi) in p.close_ranges {
        if let Err(e) = raw::close_range(lo, hi, CLOSE_RANGE_CLOEXEC) {
            // Before 5.11 the flag is unknown: close for real.
            if e != libc::EINVAL {
                return Failure {
                    step: Step::CloseFds,
                    errno: e,
                    detail: lo as i64,
                };
            }
            step!(Step::CloseFds, lo, raw::close_range(lo, hi, 0));
        }
    }

    // 15. Terminal: drop the old one, or take the one now at a child fd (after the map, as in Go).
    if p.noctty {
        // SAFETY: TIOCNOTTY takes no argument.
        step!(Step::Noctty, 0, unsafe {
            raw::ioctl(0, libc::TIOCNOTTY, 0)
        });
    }
    if p.setctty_fd >= 0 {
        // SAFETY: TIOCSCTTY takes an integer (1: steal if needed and allowed).
        step!(Step::Setctty, p.setctty_fd, unsafe {
            raw::ioctl(p.setctty_fd, libc::TIOCSCTTY, 1)
        });
    }

    // 16. Last restrictions, right before exec so no earlier step is affected by them.
    if p.no_new_privs {
        step!(
            Step::NoNewPrivs,
            0,
            raw::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
        );
    }
    if p.ptrace {
        step!(Step::Ptrace, 0, raw::ptrace_traceme());
    }

    // 17. The signal mask the program starts with. Everything was blocked since the clone.
    // SAFETY: a live local sigset.
    step!(Step::SignalMask, 0, unsafe {
        raw::sigprocmask(libc::SIG_SETMASK, &p.sig_mask, core::ptr::null_mut())
    });

    // 18. Exec: the prepared candidates in order (PATH search done as glibc does it).
    let errno = super::exec::run_with(p.exec, p.argv, p.envp);
    Failure {
        step: Step::Exec,
        errno,
        detail: 0,
    }
}
