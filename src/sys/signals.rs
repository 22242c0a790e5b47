//! Sending signals with any number the kernel accepts (0 and the real-time ones included, which
//! rustix's `Signal` leaves out): through a pidfd, to a pid, or to a process group; blocking
//! every signal around a clone; and this process's own view of signals (the calling thread's
//! mask, ignored dispositions), for supervisors that receive signals synchronously.

use super::raw;
use std::os::fd::{AsRawFd, BorrowedFd};

/// `pidfd_send_signal(pidfd, sig, NULL, 0)` for any signal number the kernel accepts: 0 (the
/// existence check) and the real-time signals included, which rustix's `Signal` leaves out.
pub fn send_signal(pidfd: BorrowedFd<'_>, sig: i32) -> std::io::Result<()> {
    // SAFETY: pidfd_send_signal reads no memory when `info` is null; the fd is borrowed for
    // the duration of the call.
    let r = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            sig,
            core::ptr::null::<libc::siginfo_t>(),
            0u32,
        )
    };
    if r < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// `kill(pid, sig)`, for a child without a pidfd (or without pidfd_send_signal, Linux 5.1).
/// Race-free for our own child as long as it is unreaped: its pid cannot be reused before.
pub fn kill_pid(pid: i32, sig: i32) -> std::io::Result<()> {
    if pid <= 0 {
        return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
    }
    raw::kill(pid, sig)
        .map(|_| ())
        .map_err(std::io::Error::from_raw_os_error)
}

/// `kill(-pgid, sig)`: signal a whole process group, any signal number (0 and real-time
/// included).
pub fn kill_group(pgid: i32, sig: i32) -> std::io::Result<()> {
    if pgid <= 0 {
        return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
    }
    // SAFETY: kill reads no memory.
    let r = unsafe { libc::kill(-pgid, sig) };
    if r < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Blocks every signal in this thread and restores the old mask on drop.
pub struct AllSignalsBlocked(u64);

impl AllSignalsBlocked {
    pub fn new() -> Self {
        let all: u64 = !0;
        let mut old: u64 = 0;
        // SAFETY: valid sigset pointers. Blocking everything (glibc's internal signals too) keeps
        // any handler from running on the child, which shares our memory, before it resets them.
        unsafe {
            let _ = raw::sigprocmask(libc::SIG_SETMASK, &all, &mut old);
        }
        AllSignalsBlocked(old)
    }

    /// The mask this thread had before: what `drop` restores.
    pub fn mask(&self) -> u64 {
        self.0
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

/// `rt_sigprocmask(SIG_BLOCK, set, &old)`: adds `set` (the kernel's 64-bit sigset) to the
/// calling thread's mask and returns the mask the thread had before.
pub fn block_in_thread(set: u64) -> std::io::Result<u64> {
    let mut old: u64 = 0;
    // SAFETY: both pointers are live locals holding the kernel's 8-byte sigset.
    let r = unsafe { super::raw::sigprocmask(libc::SIG_BLOCK, &set, &mut old) };
    r.map(|_| old).map_err(std::io::Error::from_raw_os_error)
}

/// Whether this process's disposition of `sig` is SIG_IGN: `rt_sigaction(sig, NULL, &old)`.
pub fn is_ignored(sig: i32) -> bool {
    let mut old = super::raw::KernelSigaction::default();
    // SAFETY: no new action is installed; `old` is a live local of the kernel's layout.
    let r = unsafe { super::raw::sigaction(sig, core::ptr::null(), &mut old) };
    r.is_ok() && old.handler == libc::SIG_IGN
}
