//! The loader's error: an errno, as execve would return it, and one sentence saying why.

use crate::errno::Errno;
use std::fmt;

/// Why a program cannot be loaded. Every failure of the loader is one of these, found before
/// anything of the current program is changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadError {
    /// The errno execve gives for the same input. Where the kernel finds the problem only
    /// after its point of no return (the caller then sees SIGSEGV, not an errno), this is the
    /// errno the kernel computes internally: EINVAL for a bad segment or entry point, ENOMEM
    /// when the address space has no room.
    pub errno: Errno,
    /// Why, for people.
    pub reason: String,
}

impl LoadError {
    /// An error with `errno` and a reason.
    pub fn new(errno: i32, reason: impl Into<String>) -> Self {
        LoadError {
            errno: Errno(errno),
            reason: reason.into(),
        }
    }

    /// The raw errno value.
    pub fn raw_os_error(&self) -> i32 {
        self.errno.0
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.reason, self.errno)
    }
}

impl std::error::Error for LoadError {}

impl From<LoadError> for std::io::Error {
    /// An `io::Error` whose `raw_os_error()` is the errno; the reason is lost (use
    /// [`LoadError`]'s Display for it).
    fn from(e: LoadError) -> Self {
        std::io::Error::from_raw_os_error(e.errno.0)
    }
}
