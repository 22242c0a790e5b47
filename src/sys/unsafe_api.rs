//! The crate's public `unsafe` functions. Their declarations must say `unsafe`, and only `sys`
//! may write the word; the work is done by safe code elsewhere.
//!
//! - `Stdio::from_raw_fd` (std: `FromRawFd for Stdio`): the caller vouches for an fd;
//! - `Command::pre_exec` (std: `CommandExt::pre_exec`): the caller vouches for a closure that
//!   runs in a forked child.

use crate::{Command, Stdio};
use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

impl FromRawFd for Stdio {
    /// The child gets `fd`, which the Stdio now owns (std: `Stdio::from_raw_fd`): it is closed
    /// in this process after a successful spawn.
    ///
    /// # Safety
    /// `fd` is an open fd that nothing else owns or will close (IO safety).
    unsafe fn from_raw_fd(fd: RawFd) -> Self {
        // SAFETY: the caller's contract is exactly OwnedFd's.
        Stdio::Fd(unsafe { OwnedFd::from_raw_fd(fd) })
    }
}

impl Command {
    /// Runs `f` in the child just before the exec, after every other attribute has been applied
    /// (std: `CommandExt::pre_exec`, same contract). Closures run in the order added; the first
    /// `Err` stops the spawn, which fails with its `raw_os_error()` (EINVAL if it has none) at
    /// step `pre_exec`. A panic aborts the child.
    ///
    /// # The fork path
    /// A Command with `pre_exec` closures is spawned with a plain `fork(2)`, as std spawns it:
    /// the closures need a child with its own memory, which the vfork-class clone (shared
    /// memory, a small stack, the parent's locks possibly held) cannot give. The fork copies
    /// the parent's page tables, so the spawn costs more the larger the parent is (see the
    /// README's benchmark), and `clone_namespaces`, `uid_map`, `gid_map` and `cgroup`, which
    /// act at a clone, are refused with it. Most uses of `pre_exec` have a built-in attribute
    /// that stays on the fast path:
    ///
    /// | in a `pre_exec` closure | built in |
    /// | --- | --- |
    /// | `setsid()` | [`setsid(true)`](Command::setsid) |
    /// | `setpgid(0, 0)` | [`process_group(0)`](Command::process_group) |
    /// | `dup2(fd, n)` | [`fd(n, fd)`](Command::fd) |
    /// | closing fds | the default (only 0-2 and mapped fds reach the program), [`close_fd`](Command::close_fd) |
    /// | `signal(sig, SIG_DFL)` / `SIG_IGN`, `sigprocmask` | [`default_signals`](Command::default_signals), [`ignore_signals`](Command::ignore_signals), [`signal_mask`](Command::signal_mask) |
    /// | `setrlimit` | [`rlimit`](Command::rlimit) |
    /// | `umask`, `nice`, `sched_setscheduler` | [`umask`](Command::umask), [`nice`](Command::nice), [`scheduler`](Command::scheduler) |
    /// | `chroot`, `setgroups`/`setgid`/`setuid` | [`chroot`](Command::chroot), [`groups`](Command::groups), [`gid`](Command::gid), [`uid`](Command::uid) |
    /// | `prctl(PR_SET_PDEATHSIG)` | [`pdeathsig`](Command::pdeathsig) (with the parent-died check) |
    /// | `prctl(PR_SET_NO_NEW_PRIVS)`, capabilities | [`no_new_privs`](Command::no_new_privs), [`ambient_capabilities`](Command::ambient_capabilities) |
    /// | `unshare` | [`unshare_namespaces`](Command::unshare_namespaces), [`clone_namespaces`](Command::clone_namespaces) |
    /// | `ioctl(TIOCSCTTY)`, `tcsetpgrp` | [`setctty`](Command::setctty), [`foreground`](Command::foreground) |
    /// | `ptrace(PTRACE_TRACEME)` | [`ptrace`](Command::ptrace) |
    ///
    /// # Safety
    /// As std's: `f` runs in a forked copy of this process, in which only the calling thread
    /// exists. Locks held by other threads at the fork stay held (glibc resets malloc's; std's
    /// env lock, stdio and any other mutex may deadlock), so `f` should do no more than
    /// async-signal-safe calls; its changes to memory are not seen by the parent.
    pub unsafe fn pre_exec<F>(&mut self, f: F) -> &mut Command
    where
        F: FnMut() -> io::Result<()> + Send + Sync + 'static,
    {
        self.push_pre_exec(Box::new(f))
    }
}
