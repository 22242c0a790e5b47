//! Fds known to the caller only by number (inherited at startup, named on a command line).
//!
//! Borrowing a raw fd number is what IO safety calls unsafe: the number might be closed and
//! reused meanwhile. These helpers borrow only for the duration of one call and do not keep
//! the borrow, which is all the callers (validation, the CLI's `--fd N=M`) need.

use std::os::fd::{BorrowedFd, OwnedFd, RawFd};

fn with_fd<T>(fd: RawFd, f: impl FnOnce(BorrowedFd<'_>) -> T) -> Option<T> {
    if fd < 0 {
        return None;
    }
    // SAFETY: the borrow lives only inside this call; every use below is a syscall that fails
    // cleanly (EBADF) if the number is not open, and none of them closes it.
    let b = unsafe { BorrowedFd::borrow_raw(fd) };
    rustix::io::fcntl_getfd(b).ok()?;
    Some(f(b))
}

/// Whether `fd` is open in this process.
pub fn is_open(fd: RawFd) -> bool {
    with_fd(fd, |_| ()).is_some()
}

/// Whether `fd` is open and refers to a terminal.
pub fn is_terminal(fd: RawFd) -> bool {
    with_fd(fd, |b| rustix::termios::isatty(b)).unwrap_or(false)
}

/// A close-on-exec duplicate of the inherited fd `fd`, owned by the caller.
pub fn dup_inherited(fd: RawFd) -> std::io::Result<OwnedFd> {
    match with_fd(fd, |b| rustix::io::fcntl_dupfd_cloexec(b, 0)) {
        Some(r) => r.map_err(Into::into),
        None => Err(std::io::Error::from_raw_os_error(libc::EBADF)),
    }
}
