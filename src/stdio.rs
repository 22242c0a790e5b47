//! What the child's fds 0, 1 and 2 are.

use std::os::fd::OwnedFd;

/// A standard stream of the child: what `Command::stdin`, `stdout` and `stderr` take, as with
/// std (`Stdio::piped()`, `Stdio::null()`, `Stdio::inherit()`, or anything with an fd:
/// a `File`, an `OwnedFd`, a `ChildStdout` of another child, an `io::PipeReader`...).
///
/// An fd given here belongs to the child once a spawn succeeds: it is closed in this process
/// then, so the write end of a pipe given to a child does not keep the pipe open here (std's
/// Command keeps it until the Command is dropped). `Command::retain_fds(true)` keeps it for
/// further spawns, as std does.
#[derive(Debug)]
#[non_exhaustive]
pub enum Stdio {
    /// The parent's own fd (the default).
    Inherit,
    /// `/dev/null`, opened read-write.
    Null,
    /// A new pipe; the parent's end is in `Child::stdin/stdout/stderr`.
    Piped,
    /// An fd the caller owns; it is given to the child and closed in the parent after a
    /// successful spawn (see the type's docs).
    Fd(OwnedFd),
    /// This process's stdout (fd 1), which stays open here: `Stdio::from(io::stdout())`.
    ParentStdout,
    /// This process's stderr (fd 2), which stays open here: `Stdio::from(io::stderr())`.
    ParentStderr,
}

impl Stdio {
    /// The parent's fd.
    pub fn inherit() -> Self {
        Stdio::Inherit
    }
    /// `/dev/null`.
    pub fn null() -> Self {
        Stdio::Null
    }
    /// A pipe to or from the parent.
    pub fn piped() -> Self {
        Stdio::Piped
    }
    /// Whether this makes a pipe (std's unstable `Stdio::makes_pipe`).
    pub fn makes_pipe(&self) -> bool {
        matches!(self, Stdio::Piped)
    }
}

impl From<OwnedFd> for Stdio {
    fn from(fd: OwnedFd) -> Self {
        Stdio::Fd(fd)
    }
}

impl From<std::fs::File> for Stdio {
    fn from(f: std::fs::File) -> Self {
        Stdio::Fd(f.into())
    }
}

impl From<std::process::ChildStdout> for Stdio {
    fn from(s: std::process::ChildStdout) -> Self {
        Stdio::Fd(s.into())
    }
}

impl From<std::process::ChildStderr> for Stdio {
    fn from(s: std::process::ChildStderr) -> Self {
        Stdio::Fd(s.into())
    }
}

impl From<std::process::ChildStdin> for Stdio {
    fn from(s: std::process::ChildStdin) -> Self {
        Stdio::Fd(s.into())
    }
}

impl From<std::io::Stdout> for Stdio {
    /// The child writes to this process's stdout (std: `Stdio::from(io::stdout())`).
    fn from(_: std::io::Stdout) -> Self {
        Stdio::ParentStdout
    }
}

impl From<std::io::Stderr> for Stdio {
    /// The child writes to this process's stderr (std: `Stdio::from(io::stderr())`).
    fn from(_: std::io::Stderr) -> Self {
        Stdio::ParentStderr
    }
}

// io::PipeReader and io::PipeWriter are std's since Rust 1.87 (build.rs finds out).
#[cfg(has_io_pipe)]
#[allow(clippy::incompatible_msrv)] // compiled only where std has them: see build.rs
impl From<std::io::PipeReader> for Stdio {
    fn from(p: std::io::PipeReader) -> Self {
        Stdio::Fd(p.into())
    }
}

#[cfg(has_io_pipe)]
#[allow(clippy::incompatible_msrv)] // compiled only where std has them: see build.rs
impl From<std::io::PipeWriter> for Stdio {
    fn from(p: std::io::PipeWriter) -> Self {
        Stdio::Fd(p.into())
    }
}
