//! The spawn error: which program, which step, which errno.

use crate::errno::Errno;
use std::fmt;

/// Where a spawn failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The request was refused before any process was created (a NUL byte, an `=` in an env
    /// key, contradictory attributes...).
    InvalidInput,
    /// A parent-side preparation failed (opening /dev/null, making a pipe, the clone itself).
    Parent,
    /// A step of the child sequence failed; the child was reaped.
    Child,
}

/// A spawn error. Displays as `failed to setgid(4242) for "id": Operation not permitted (EPERM)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    program: String,
    kind: ErrorKind,
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
        program: &str,
        what: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        Error {
            program: program.to_string(),
            kind: ErrorKind::InvalidInput,
            action: what.into(),
            step: "validate",
            errno: Some(Errno(libc::EINVAL)),
            reason: Some(reason.into()),
        }
    }

    pub(crate) fn step(
        program: &str,
        kind: ErrorKind,
        step: &'static str,
        action: impl Into<String>,
        errno: i32,
    ) -> Self {
        Error {
            program: program.to_string(),
            kind,
            action: action.into(),
            step,
            errno: Some(Errno(errno)),
            reason: None,
        }
    }

    /// The program as the caller named it.
    pub fn program(&self) -> &str {
        &self.program
    }

    /// Where it failed.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// The failing step's short name: `exec`, `chdir`, `setuid`, `dup2`, `validate`...
    pub fn step_name(&self) -> &'static str {
        self.step
    }

    /// The errno, if the failure had one.
    pub fn errno(&self) -> Option<Errno> {
        self.errno
    }

    /// The raw errno value, as `std::io::Error::raw_os_error` gives it.
    pub fn raw_os_error(&self) -> Option<i32> {
        self.errno.map(|e| e.0)
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
        match (&self.kind, &self.reason) {
            (ErrorKind::InvalidInput, Some(reason)) => {
                write!(
                    f,
                    "invalid {} for {:?}: {}",
                    self.action, self.program, reason
                )
            }
            _ => {
                if self.step == "exec" {
                    write!(f, "failed to execute {:?}", self.program)?;
                } else if self.step == "load" {
                    // The userland loader: the action is why the program cannot be loaded.
                    write!(f, "failed to load {:?}: {}", self.program, self.action)?;
                } else {
                    write!(f, "failed to {} for {:?}", self.action, self.program)?;
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

impl From<Error> for std::io::Error {
    fn from(e: Error) -> Self {
        let kind = match (e.kind(), e.raw_os_error()) {
            (ErrorKind::InvalidInput, _) => std::io::ErrorKind::InvalidInput,
            (_, Some(n)) => std::io::Error::from_raw_os_error(n).kind(),
            _ => std::io::ErrorKind::Other,
        };
        std::io::Error::new(kind, e)
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
