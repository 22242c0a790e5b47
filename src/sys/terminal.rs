//! Taking a terminal back after a foreground child, as a shell does after a foreground job.

use std::os::fd::BorrowedFd;

/// If the foreground group of the terminal at `tty` is still `child_pgrp`, makes the calling
/// process's group the foreground group again. SIGTTOU is blocked in this thread meanwhile:
/// a process outside the foreground group that calls tcsetpgrp is otherwise stopped by it.
pub fn reclaim_foreground(tty: i32, child_pgrp: i32) {
    if tty < 0 {
        return;
    }
    // SAFETY: borrowed only for the calls below, each of which fails cleanly (EBADF) if the
    // number is no longer open; none of them closes it.
    let tty = unsafe { BorrowedFd::borrow_raw(tty) };
    match rustix::termios::tcgetpgrp(tty) {
        Ok(pgrp) if pgrp.as_raw_nonzero().get() == child_pgrp => {}
        _ => return, // someone else has the terminal now, or it is gone: leave it alone
    }
    let ttou: u64 = 1 << (libc::SIGTTOU - 1);
    let mut old: u64 = 0;
    // SAFETY: valid sigset pointers for this thread's mask.
    let _ = unsafe { super::raw::sigprocmask(libc::SIG_BLOCK, &ttou, &mut old) };
    let _ = rustix::termios::tcsetpgrp(tty, rustix::process::getpgrp());
    // SAFETY: restoring the mask saved above.
    let _ = unsafe { super::raw::sigprocmask(libc::SIG_SETMASK, &old, core::ptr::null_mut()) };
}
