//! Joining existing namespaces: the process or ns file to join (nsenter(1)'s `--target` and
//! `--net=FILE`), with the kinds to take from it.

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What [`Command::join_namespaces`](crate::Command::join_namespaces) joins.
///
/// - a process, by pid or pidfd: some or all of its namespaces, in one `setns(pidfd, flags)`
///   (Linux 5.8) or, on older kernels, one `setns` per `/proc/PID/ns/*` file, opened by the
///   parent at each spawn;
/// - an ns file: `/proc/PID/ns/net`, or a namespace kept alive by a bind mount
///   (`ip netns add` makes them under /run/netns), or such a file already open.
#[derive(Clone, Debug)]
pub enum NamespaceTarget {
    /// A process by pid (nsenter -t PID). The pid is resolved at each spawn.
    Pid(u32),
    /// A process by pidfd (`Child::pidfd`, pidfd_open): no pid-reuse race.
    Pidfd(Arc<OwnedFd>),
    /// An ns file by path, opened at each spawn.
    File(PathBuf),
    /// An ns file already open.
    FileFd(Arc<OwnedFd>),
}

/// Equal when they name the same process or file: the same pid or path, or the same fd.
impl PartialEq for NamespaceTarget {
    fn eq(&self, other: &Self) -> bool {
        use NamespaceTarget as T;
        match (self, other) {
            (T::Pid(a), T::Pid(b)) => a == b,
            (T::File(a), T::File(b)) => a == b,
            (T::Pidfd(a), T::Pidfd(b)) | (T::FileFd(a), T::FileFd(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl From<u32> for NamespaceTarget {
    fn from(pid: u32) -> Self {
        NamespaceTarget::Pid(pid)
    }
}

impl From<&Path> for NamespaceTarget {
    fn from(p: &Path) -> Self {
        NamespaceTarget::File(p.to_path_buf())
    }
}

impl From<PathBuf> for NamespaceTarget {
    fn from(p: PathBuf) -> Self {
        NamespaceTarget::File(p)
    }
}

impl From<&str> for NamespaceTarget {
    /// A path to an ns file.
    fn from(p: &str) -> Self {
        NamespaceTarget::File(PathBuf::from(p))
    }
}

impl NamespaceTarget {
    /// A process by pidfd (taken over).
    pub fn pidfd(fd: impl Into<OwnedFd>) -> Self {
        NamespaceTarget::Pidfd(Arc::new(fd.into()))
    }

    /// An open ns file (taken over).
    pub fn file_fd(fd: impl Into<OwnedFd>) -> Self {
        NamespaceTarget::FileFd(Arc::new(fd.into()))
    }

    /// Whether the target is a process (rather than an ns file).
    pub fn is_process(&self) -> bool {
        matches!(self, NamespaceTarget::Pid(_) | NamespaceTarget::Pidfd(_))
    }
}

/// nsenter's order: user first (or last, see the child sequence), then cgroup, ipc, uts, net,
/// pid, mount, time. Mount comes late because joining it changes the root and working
/// directory, and pid only affects children, so its place does not matter to later setns calls.
pub(crate) const JOIN_ORDER: [(i32, &str); 8] = [
    (libc::CLONE_NEWUSER, "user"),
    (libc::CLONE_NEWCGROUP, "cgroup"),
    (libc::CLONE_NEWIPC, "ipc"),
    (libc::CLONE_NEWUTS, "uts"),
    (libc::CLONE_NEWNET, "net"),
    (libc::CLONE_NEWPID, "pid"),
    (libc::CLONE_NEWNS, "mnt"),
    (super::namespaces::CLONE_NEWTIME, "time"),
];
