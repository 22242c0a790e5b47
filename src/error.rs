//! The spawn error: which program, which step, which errno; and how it becomes an
//! [`io::Error`] for code written against `std::process`.
//!
//! # Reading it as std code does
//! [`Error`] answers the questions std code asks an `io::Error`: [`Error::kind`] is an
//! [`io::ErrorKind`] (`NotFound` for a missing program, `InvalidInput` for a NUL byte...) and
//! [`Error::raw_os_error`] is the errno, so `e.kind() == io::ErrorKind::NotFound` and
//! `e.raw_os_error() == Some(libc::ENOENT)` compile and hold as with std. Its `Display` says
//! more than std's: `failed to chdir to "/nope" for "ls": No such file or directory (ENOENT)`.
//!
//! # Converting it (`?` in a function returning `io::Result`)
//! `std::io::Error` cannot carry both an OS error code and a payload: an error made with
//! `io::Error::new(kind, payload)` has `raw_os_error() == None`. Measured with std 1.95:
//!
//! | made with | `raw_os_error()` | `kind()` | `Display` | `get_ref()` |
//! | --- | --- | --- | --- | --- |
//! | `io::Error::from_raw_os_error(2)` | `Some(2)` | `NotFound` | `No such file or directory (os error 2)` | `None` |
//! | `io::Error::new(NotFound, e)` | `None` | `NotFound` | `e`'s message | `Some(e)` |
//! | std's own spawn error (missing program, or a chdir that fails) | `Some(2)` | `NotFound` | `No such file or directory (os error 2)` | `None` |
//! | std's own error for a NUL byte | `None` | `InvalidInput` | `nul byte found in provided data` | `None` |
//!
//! So the conversion gives what std itself gives: a failure with an errno becomes
//! `from_raw_os_error(errno)` (code that reads `raw_os_error()` or `kind()` after `?` sees
//! exactly std's values; the step and program are not in it, as they are not in std's), and
//! refused input (no OS error happened) becomes `io::Error::new(InvalidInput, e)`, whose
//! message is ours and whose `get_ref()`/`into_inner()` give this [`Error`] back. To keep the
//! step and the program in a message, print the [`Error`] before converting it, or propagate
//! it as `Box<dyn std::error::Error>` (or anyhow), which keeps it whole.

use crate::errno::Errno;
use crate::quoting::quote;
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io;
use std::os::unix::ffi::OsStrExt;

/// Where a spawn failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorStage {
    /// The request was refused before any process was created (a NUL byte, an `=` in an env
    /// key, contradictory attributes...).
    InvalidInput,
    /// A parent-side preparation failed (opening /dev/null, making a pipe, the clone itself).
    Parent,
    /// A step of the child sequence failed and the child was reaped; or the exec step failed
    /// before any clone because the name cannot name a file (empty, longer than NAME_MAX), as
    /// execvp finds it. For [`Command::exec`](crate::Command::exec): a step run in this process.
    Child,
}

/// A spawn error. Displays as `failed to setgid(4242) for "id": Operation not permitted (EPERM)`.
///
/// Bytes of the program name or a path that are not UTF-8 are shown escaped (`"\xff"`), never
/// replaced; [`Error::program`] gives the name as it was given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    program: OsString,
    stage: ErrorStage,
    /// What was being done, e.g. `chdir to "/nope"`, `exec`, `setgid(4242)`.
    action: String,
    /// The step's short name (`chdir`, `exec`, `setgid`...), stable for programs to match on.
    step: &'static str,
    errno: Option<Errno>,
    /// For InvalidInput: why.
    reason: Option<String>,
}

impl Error {
    pub(crate) fn invalid(
        program: &OsStr,
        what: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        Error {
            program: program.to_os_string(),
            stage: ErrorStage::InvalidInput,
            action: what.into(),
            step: "validate",
            errno: Some(Errno(libc::EINVAL)),
            reason: Some(reason.into()),
        }
    }

    pub(crate) fn step(
        program: &OsStr,
        stage: ErrorStage,
        step: &'static str,
        action: impl Into<String>,
        errno: i32,
    ) -> Self {
        Error {
            program: program.to_os_string(),
            stage,
            action: action.into(),
            step,
            errno: Some(Errno(errno)),
            reason: None,
        }
    }

    /// The program as the caller named it, byte for byte.
    pub fn program(&self) -> &OsStr {
        &self.program
    }

    /// Where it failed: refused input, the parent's preparation, or a step of the child.
    pub fn stage(&self) -> ErrorStage {
        self.stage
    }

    /// The kind of error, as `std::io::Error::kind` gives it for the same failure:
    /// `InvalidInput` for refused input, otherwise the kind of the errno (`NotFound` for
    /// ENOENT, `PermissionDenied` for EACCES and EPERM...).
    pub fn kind(&self) -> io::ErrorKind {
        match (self.stage, self.raw_os_error()) {
            (ErrorStage::InvalidInput, _) => io::ErrorKind::InvalidInput,
            (_, Some(n)) => io::Error::from_raw_os_error(n).kind(),
            _ => io::ErrorKind::Other,
        }
    }

    /// The failing step's short name: `exec`, `chdir`, `setuid`, `dup2`, `validate`...
    pub fn step_name(&self) -> &'static str {
        self.step
    }

    /// The errno: the kernel's for a failed step, EINVAL for refused input (what a C caller
    /// would see, and what `forkexec run` reports).
    pub fn errno(&self) -> Option<Errno> {
        self.errno
    }

    /// The OS error, as `std::io::Error::raw_os_error` gives it: the errno of a failed step;
    /// `None` for refused input, where no system call failed (as std's NUL-byte error).
    pub fn raw_os_error(&self) -> Option<i32> {
        match self.stage {
            ErrorStage::InvalidInput => None,
            _ => self.errno.map(|e| e.0),
        }
    }

    /// Whether the program could not be found (ENOENT/ENOTDIR at exec, or at the userland
    /// loader's load): shells exit 127.
    pub fn is_not_found(&self) -> bool {
        (self.step == "exec" || self.step == "load")
            && matches!(
                self.raw_os_error(),
                Some(libc::ENOENT) | Some(libc::ENOTDIR)
            )
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let program = quote(self.program.as_bytes());
        match (&self.stage, &self.reason) {
            (ErrorStage::InvalidInput, Some(reason)) => {
                write!(f, "invalid {} for {program}: {reason}", self.action)
            }
            _ => {
                if self.step == "exec" {
                    write!(f, "failed to execute {program}")?;
                } else if self.step == "load" {
                    // The userland loader: the action is why the program cannot be loaded.
                    write!(f, "failed to load {program}: {}", self.action)?;
                } else {
                    write!(f, "failed to {} for {program}", self.action)?;
                }
                if let Some(e) = self.errno {
                    write!(f, ": {e}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for Error {}

impl From<Error> for io::Error {
    /// What std would have returned: the OS error for a failed step (`raw_os_error()` and
    /// `kind()` kept), or an `InvalidInput` error carrying this [`Error`] for refused input.
    /// See the module docs for the measurements behind this choice.
    fn from(e: Error) -> Self {
        match (e.stage, e.raw_os_error()) {
            (ErrorStage::InvalidInput, _) => io::Error::new(io::ErrorKind::InvalidInput, e),
            (_, Some(n)) => io::Error::from_raw_os_error(n),
            _ => io::Error::other(e),
        }
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
