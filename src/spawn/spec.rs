//! `Spec`: everything a [`Command`](crate::Command) says, as plain data.
//!
//! The builder methods write it; the spawn layer reads it to prepare a plan. Keeping the data
//! here, below the builder, lets the flow go one way: `command` -> `spawn` -> `sys`.

use crate::attr::Attributes;
use crate::exec::{CStringArray, ExecTarget, PathLookup, SearchRules, ShellFallback};
use crate::stdio::Stdio;
use std::collections::BTreeMap;
use std::ffi::{CString, OsStr, OsString};
use std::os::fd::{OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::sync::Arc;

/// What the user asked for.
#[derive(Debug)]
pub(crate) struct Spec {
    pub program: OsString,
    /// argv, with argv[0] = arg0 or the program.
    pub argv: CStringArray,
    pub env_clear: bool,
    /// Changes to the environment: a value, or `None` for a removal.
    pub env: BTreeMap<OsString, Option<OsString>>,
    pub cwd: Option<(PathBuf, CString)>,
    /// stdin, stdout, stderr; `None` = the default of the call (`spawn`, `output`...).
    pub stdio: [Option<Stdio>; 3],
    /// Extra fds: child fd -> parent fd (or closed).
    pub fd_map: Vec<(RawFd, Option<OwnedFd>)>,
    pub keep_fds: bool,
    pub kill_on_drop: bool,
    pub lookup: PathLookup,
    pub shell: ShellFallback,
    pub attrs: Attributes,
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
            keep_fds: false,
            kill_on_drop: false,
            lookup: PathLookup::Search(SearchRules::Glibc),
            shell: ShellFallback::Off,
            attrs: Attributes::default(),
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

    /// The program name for messages.
    pub fn program_display(&self) -> String {
        self.program.to_string_lossy().into_owned()
    }
}
