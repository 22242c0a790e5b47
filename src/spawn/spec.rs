//! `Spec`: everything a [`Command`](crate::Command) says, as plain data.
//!
//! The builder methods write it; the spawn layer reads it to prepare a plan. Keeping the data
//! here, below the builder, lets the flow go one way: `command` -> `spawn` -> `sys`.

use crate::attr::Attributes;
use crate::exec::{CStringArray, ExecTarget, PathLookup, SearchRules, ShellFallback};
use crate::stdio::Stdio;
use std::collections::BTreeMap;
use std::ffi::{CString, OsStr, OsString};
use std::fmt;
use std::os::fd::{OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::sync::Arc;

/// A `pre_exec` closure: runs in a forked child just before the exec.
pub(crate) type PreExecHook = Box<dyn FnMut() -> std::io::Result<()> + Send + Sync>;

/// The `pre_exec` closures, in the order they were added (Debug shows how many).
#[derive(Default)]
pub(crate) struct PreExecHooks(pub Vec<PreExecHook>);

impl fmt::Debug for PreExecHooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} pre_exec closure(s)", self.0.len())
    }
}

/// What the user asked for.
#[derive(Debug)]
pub(crate) struct Spec {
    pub program: OsString,
    /// argv, with `argv[0]` = arg0 or the program.
    pub argv: CStringArray,
    pub env_clear: bool,
    /// Changes to the environment: a value, or `None` for a removal.
    pub env: BTreeMap<OsString, Option<OsString>>,
    pub cwd: Option<(PathBuf, CString)>,
    /// stdin, stdout, stderr; `None` = the default of the call (`spawn`, `output`...).
    pub stdio: [Option<Stdio>; 3],
    /// Extra fds: child fd -> parent fd (or closed).
    pub fd_map: Vec<(RawFd, Option<OwnedFd>)>,
    /// Child fds whose source (a `Stdio::Fd` or an `fd()` mapping) an earlier spawn gave to its
    /// child and closed in the parent; set again before the next spawn.
    pub given_away: Vec<RawFd>,
    /// Keep the fds of `Stdio::Fd` and `fd()` in the Command after a spawn (std's rule for
    /// Stdio) instead of closing them in the parent.
    pub retain_fds: bool,
    pub keep_fds: bool,
    pub kill_on_drop: bool,
    pub lookup: PathLookup,
    pub shell: ShellFallback,
    pub attrs: Attributes,
    pub pre_exec: PreExecHooks,
    /// The first bad input seen by a builder method: (what, why).
    pub invalid: Option<(String, String)>,
    /// The exec target, kept while the PATH it was computed from and argc are unchanged.
    pub target: Option<CachedTarget>,
    /// Start the program with the userland loader (in a loader stub) instead of execve.
    pub userland: bool,
    /// The program's bytes, run from memory (with the userland loader).
    pub program_bytes: Option<Arc<[u8]>>,
}

/// An exec target with the PATH it was computed from.
#[derive(Debug)]
pub(crate) struct CachedTarget {
    pub path: Option<OsString>,
    pub target: ExecTarget,
}

/// Converts to a C string, or gives the offset of the first NUL byte.
pub(crate) fn to_cstring(bytes: &[u8]) -> Result<CString, usize> {
    CString::new(bytes).map_err(|e| e.nul_position())
}

impl Spec {
    /// The request for `program` with no arguments, the parent's environment, cwd and stdio.
    pub fn new(program: &OsStr) -> Spec {
        let mut spec = Spec {
            program: program.to_os_string(),
            argv: CStringArray::with_capacity(4),
            env_clear: false,
            env: BTreeMap::new(),
            cwd: None,
            stdio: [None, None, None],
            fd_map: Vec::new(),
            given_away: Vec::new(),
            retain_fds: false,
            keep_fds: false,
            kill_on_drop: false,
            lookup: PathLookup::Search(SearchRules::Glibc),
            shell: ShellFallback::Off,
            attrs: Attributes::default(),
            pre_exec: PreExecHooks::default(),
            invalid: None,
            target: None,
            userland: false,
            program_bytes: None,
        };
        match to_cstring(program.as_bytes()) {
            Ok(c) => spec.argv.push(c),
            Err(at) => {
                spec.argv.push(CString::default());
                spec.refuse(
                    "program name",
                    format!("it contains a NUL byte at offset {at}"),
                );
            }
        }
        spec
    }

    /// Records bad input; the first one is what spawn reports.
    pub fn refuse(&mut self, what: impl Into<String>, why: impl Into<String>) {
        if self.invalid.is_none() {
            self.invalid = Some((what.into(), why.into()));
        }
    }

    /// After a successful spawn: the fds lent to the child (`Stdio::Fd`, `fd()` mappings) are
    /// closed in the parent, unless `retain_fds` keeps them for the next spawn. A pipe's write
    /// end given to a child must not stay open here, or reading the pipe to EOF never ends.
    pub fn give_away_fds(&mut self) {
        if self.retain_fds {
            return;
        }
        for (i, slot) in self.stdio.iter_mut().enumerate() {
            if matches!(slot, Some(Stdio::Fd(_))) {
                *slot = None;
                self.given_away.push(i as RawFd);
            }
        }
        let given: Vec<RawFd> = self
            .fd_map
            .iter()
            .filter(|(_, fd)| fd.is_some())
            .map(|(t, _)| *t)
            .collect();
        self.fd_map.retain(|(_, fd)| fd.is_none());
        self.given_away.extend(given);
    }

    /// Child fd `fd` is set again: a source given away earlier no longer matters.
    pub fn set_again(&mut self, fd: RawFd) {
        self.given_away.retain(|&g| g != fd);
    }
}
