//! What the child's fds 0, 1 and 2 are.

use std::os::fd::OwnedFd;

/// A standard stream of the child.
#[derive(Debug)]
pub enum Stdio {
    /// The parent's own fd (the default).
    Inherit,
    /// `/dev/null`, opened read-write.
    Null,
    /// A new pipe; the parent's end is in `Child::stdin/stdout/stderr`.
    Piped,
    /// An fd the caller owns; it is given to the child and closed in the parent after spawn.
    Fd(OwnedFd),
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
