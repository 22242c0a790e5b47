//! An exec call prepared in advance: argv, envp and the PATH candidates built once, so that
//! the call itself allocates nothing and is safe after fork, vfork or clone.

use super::search::{Candidates, SearchRules};
use super::vectors::CStringArray;
use crate::sys::exec_loop::{self, ExecCandidates};
use core::sync::atomic::AtomicPtr;
use rustix::fs::AtFlags;
use std::ffi::{CString, OsStr};
use std::os::fd::{AsRawFd, BorrowedFd};
use std::os::raw::c_char;
use std::os::unix::ffi::OsStrExt;

/// The environment a prepared exec passes.
#[derive(Debug)]
pub enum Envp {
    /// The calling process's `environ` as it is at the moment of the exec.
    Inherit,
    /// An explicit list of `KEY=VALUE` strings.
    Explicit(CStringArray),
}

impl Envp {
    /// The envp pointer to pass to execve: the live `environ`, or the explicit array.
    pub(crate) fn as_ptr(&self) -> *const *const c_char {
        match self {
            Envp::Inherit => exec_loop::live_environ(),
            Envp::Explicit(a) => a.as_ptr(),
        }
    }
}

/// What to do when a candidate fails with ENOEXEC (a file with no `#!` and no known format).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ShellFallback {
    /// Run `/bin/sh path args...`, as glibc's execvp does.
    Sh,
    /// Report ENOEXEC (execve, posix_spawnp and musl behaviour).
    Off,
}

/// Where and how to exec, independent of argv and envp: the candidates in order, whose rules
/// decide when to go on, and the ENOEXEC behaviour. The spawner keeps one per Command.
#[derive(Debug)]
pub struct ExecTarget {
    pub(crate) candidates: Candidates,
    pub(crate) rules: SearchRules,
    pub(crate) shell: ShellFallback,
    /// Scratch for the `/bin/sh path args...` vector, filled in at exec time (atomics, so that
    /// a target shared between threads stays sound: each exec writes the same values).
    sh_argv: Box<[AtomicPtr<c_char>]>,
}

impl ExecTarget {
    /// A target for an argv of `argc` strings: the `/bin/sh` scratch gets room for
    /// `max(argc, 1) + 2` pointers, so the fallback needs no allocation at exec time.
    pub fn new(
        candidates: Candidates,
        rules: SearchRules,
        shell: ShellFallback,
        argc: usize,
    ) -> Self {
        let sh_len = argc.max(1) + 2;
        ExecTarget {
            candidates,
            rules,
            shell,
            sh_argv: (0..sh_len)
                .map(|_| AtomicPtr::new(core::ptr::null_mut()))
                .collect(),
        }
    }

    /// The candidates in order.
    pub fn candidates(&self) -> &Candidates {
        &self.candidates
    }

    /// The number of argv strings this target's shell scratch has room for.
    pub fn argc_capacity(&self) -> usize {
        self.sh_argv.len() - 2
    }

    /// The raw view the allocation-free exec loop reads.
    pub(crate) fn raw(&self) -> ExecCandidates<'_> {
        ExecCandidates {
            paths: self.candidates.raw(),
            direct: self.candidates.direct,
            continue_after: self.rules.continue_errnos(),
            shell_fallback: self.shell == ShellFallback::Sh,
            sh_argv: &self.sh_argv,
            fd: -1,
        }
    }
}

/// An exec ready to run: `exec()` tries each candidate without allocating.
#[derive(Debug)]
pub struct PreparedExec {
    pub(crate) target: ExecTarget,
    pub(crate) argv: CStringArray,
    pub(crate) envp: Envp,
}

impl PreparedExec {
    /// Prepares an exec of `candidates` with `argv` and `envp`, glibc rules, no shell fallback.
    pub fn new(candidates: Candidates, argv: CStringArray, envp: Envp) -> Self {
        Self::with(
            candidates,
            SearchRules::Glibc,
            ShellFallback::Off,
            argv,
            envp,
        )
    }

    /// Prepares with explicit rules and shell fallback.
    pub fn with(
        candidates: Candidates,
        rules: SearchRules,
        shell: ShellFallback,
        argv: CStringArray,
        envp: Envp,
    ) -> Self {
        let target = ExecTarget::new(candidates, rules, shell, argv.len());
        PreparedExec { target, argv, envp }
    }

    /// Prepares execvp-style: `name` searched in `path` (the caller's PATH; `None`: unset),
    /// glibc rules with the /bin/sh fallback.
    pub fn search(
        name: &OsStr,
        path: Option<&OsStr>,
        argv: CStringArray,
        envp: Envp,
    ) -> Result<Self, i32> {
        let c = Candidates::search(
            name.as_bytes(),
            path.map(|p| p.as_bytes()),
            SearchRules::Glibc,
        )?;
        Ok(Self::with(
            c,
            SearchRules::Glibc,
            ShellFallback::Sh,
            argv,
            envp,
        ))
    }

    /// The target (candidates, rules, shell fallback).
    pub fn target(&self) -> &ExecTarget {
        &self.target
    }

    /// The argument vector.
    pub fn argv(&self) -> &CStringArray {
        &self.argv
    }

    /// `execve(candidate, argv, envp)` for each candidate in turn, as `execvpe` does: the
    /// search rules decide which errnos go on, EACCES wins at the end, and with
    /// [`ShellFallback::Sh`] an ENOEXEC candidate runs as `/bin/sh candidate argv[1..]`.
    ///
    /// Returns only on failure, with the errno the search ends on. Allocates nothing, takes
    /// no lock, does not touch `errno`: safe in a forked, vforked or cloned child.
    pub fn exec(&self) -> std::io::Error {
        let errno = exec_loop::run(&self.target.raw(), self.argv.as_ptr(), self.envp.as_ptr());
        std::io::Error::from_raw_os_error(errno)
    }
}

/// An `execveat` (or `fexecve`) prepared in advance: path, argv, envp and flags built once, so
/// that [`PreparedExecAt::exec`] allocates nothing. The directory fd is given at exec time,
/// so the prepared value borrows no fd and can be kept across the fork.
#[derive(Debug)]
pub struct PreparedExecAt {
    pub(crate) path: CString,
    pub(crate) argv: CStringArray,
    pub(crate) envp: Envp,
    pub(crate) flags: AtFlags,
}

impl PreparedExecAt {
    /// Prepares `execveat(dirfd, path, argv, envp, flags)`. `flags` may hold
    /// `AT_EMPTY_PATH` and `AT_SYMLINK_NOFOLLOW`; the kernel refuses others with EINVAL.
    ///
    /// A NUL byte in `path` is an error of kind `InvalidInput`.
    pub fn new(
        path: &OsStr,
        argv: CStringArray,
        envp: Envp,
        flags: AtFlags,
    ) -> std::io::Result<Self> {
        let path = CString::new(path.as_bytes()).map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("path contains a NUL byte at offset {}", e.nul_position()),
            )
        })?;
        Ok(PreparedExecAt {
            path,
            argv,
            envp,
            flags,
        })
    }

    /// Prepares `fexecve(fd, argv, envp)`: `execveat(fd, "", argv, envp, AT_EMPTY_PATH)`.
    pub fn fexecve(argv: CStringArray, envp: Envp) -> Self {
        PreparedExecAt {
            path: CString::default(),
            argv,
            envp,
            flags: AtFlags::EMPTY_PATH,
        }
    }

    /// The argument vector.
    pub fn argv(&self) -> &CStringArray {
        &self.argv
    }

    /// `execveat(dirfd, path, argv, envp, flags)`. Returns only on failure, with the
    /// errno. For an fexecve on a kernel without execveat (ENOSYS, before Linux 3.19) it
    /// tries `/proc/self/fd/N` as glibc does. Allocates nothing, takes no lock.
    pub fn exec(&self, dirfd: BorrowedFd<'_>) -> std::io::Error {
        let errno = exec_loop::run_at(
            dirfd.as_raw_fd(),
            &self.path,
            self.argv.as_ptr(),
            self.envp.as_ptr(),
            self.flags.bits() as i32,
        );
        std::io::Error::from_raw_os_error(errno)
    }
}
