//! [`Exec`]: one exec described by options (search rules, shell fallback, PATH, argv, envp),
//! run at once or prepared for an allocation-free exec later.

use super::prepared::{Envp, PreparedExec, ShellFallback};
use super::search::PathLookup;
use super::search::{Candidates, SearchRules};
use super::vectors::CStringArray;
use std::ffi::{CString, OsStr, OsString};
use std::io;
use std::os::unix::ffi::OsStrExt;

/// An exec described by options. The defaults are glibc's `execvp`: PATH search with glibc's
/// rules in the caller's PATH, `/bin/sh` fallback on ENOEXEC, the caller's environment, and
/// argv = `[program]`.
///
/// ```no_run
/// use forkexec::exec::{Exec, SearchRules};
/// // musl's execvp rules, and ENOEXEC reported rather than run under /bin/sh:
/// let err = Exec::new("ls")
///     .arg("-l")
///     .rules(SearchRules::Musl)
///     .shell_fallback(false)
///     .exec();
/// eprintln!("exec failed: {err}");
/// ```
///
/// [`Exec::prepare`] does all the allocating work (C strings, PATH candidates, the `/bin/sh`
/// argv scratch) and returns a [`PreparedExec`] whose `exec` allocates nothing.
#[derive(Clone, Debug)]
pub struct Exec {
    program: OsString,
    argv: CStringArray,
    envp: Option<CStringArray>,
    lookup: PathLookup,
    shell: ShellFallback,
    /// The PATH to search: `None` = the caller's, read at prepare time; `Some(None)` = unset.
    search_path: Option<Option<OsString>>,
    /// The first bad input seen by a builder method, reported by `prepare`.
    invalid: Option<String>,
}

fn nul_error(what: &str, at: usize) -> String {
    format!("{what} contains a NUL byte at offset {at}")
}

impl Exec {
    /// An exec of `program` with execvp's defaults and argv = `[program]`.
    pub fn new(program: impl AsRef<OsStr>) -> Exec {
        let program = program.as_ref().to_os_string();
        let mut exec = Exec {
            program: program.clone(),
            argv: CStringArray::with_capacity(1),
            envp: None,
            lookup: PathLookup::Search(SearchRules::Glibc),
            shell: ShellFallback::Sh,
            search_path: None,
            invalid: None,
        };
        if let Some(at) = program.as_bytes().iter().position(|&b| b == 0) {
            exec.refuse(nul_error("program", at));
        }
        exec.arg(program);
        exec
    }

    fn refuse(&mut self, why: String) {
        if self.invalid.is_none() {
            self.invalid = Some(why);
        }
    }

    /// Replaces the whole argv, `argv[0]` included (the C shape: `execv(path, argv)`).
    pub fn argv<I, S>(&mut self, argv: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.argv = CStringArray::new();
        self.args(argv)
    }

    /// Appends one argument.
    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Self {
        let bytes = arg.as_ref().as_bytes();
        match CString::new(bytes) {
            Ok(c) => self.argv.push(c),
            Err(e) => {
                let what = format!("argv[{}]", self.argv.len());
                self.refuse(nul_error(&what, e.nul_position()));
                self.argv.push(CString::default());
            }
        }
        self
    }

    /// Appends arguments.
    pub fn args<I, S>(&mut self, args: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        for a in args {
            self.arg(a);
        }
        self
    }

    /// Passes exactly these `KEY=VALUE` strings as the environment (the `e` of `execve`,
    /// `execle`, `execvpe`). Without it the program gets the caller's `environ` as it is at
    /// the moment of the exec. The PATH searched is *not* taken from here (glibc's rule): see
    /// [`Exec::search_path`].
    pub fn envp<I, S>(&mut self, envp: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        match CStringArray::try_from_os(envp, "envp") {
            Ok(a) => self.envp = Some(a),
            Err(e) => {
                self.refuse(e.to_string());
                self.envp = Some(CStringArray::new());
            }
        }
        self
    }

    /// How the program is found: a PATH search with glibc's or musl's rules, or
    /// [`PathLookup::Off`] to use it as given (the `execve`/`execv` semantics).
    pub fn path_lookup(&mut self, lookup: PathLookup) -> &mut Self {
        self.lookup = lookup;
        self
    }

    /// Shorthand for `path_lookup(PathLookup::Search(rules))`.
    pub fn rules(&mut self, rules: SearchRules) -> &mut Self {
        self.path_lookup(PathLookup::Search(rules))
    }

    /// Whether a candidate the kernel refuses with ENOEXEC (no `#!`, no known binary format)
    /// is run as `/bin/sh path args...`, as glibc's execvp does. On by default.
    pub fn shell_fallback(&mut self, on: bool) -> &mut Self {
        self.shell = if on {
            ShellFallback::Sh
        } else {
            ShellFallback::Off
        };
        self
    }

    /// Searches this PATH value instead of the caller's (`None`: as if PATH were unset, so
    /// the rules' default applies). By default the caller's PATH is read when the exec is
    /// prepared.
    pub fn search_path(&mut self, path: Option<impl AsRef<OsStr>>) -> &mut Self {
        self.search_path = Some(path.map(|p| p.as_ref().to_os_string()));
        self
    }

    /// Builds the C vectors and the candidates (reading the caller's PATH now, unless
    /// [`Exec::search_path`] set one).
    ///
    /// Errors: bad input (a NUL byte) as `InvalidInput`; and what execvp reports before
    /// trying anything, as the raw errno: ENOENT for an empty name, ENAMETOOLONG for a name
    /// longer than NAME_MAX (255 bytes) when searching.
    pub fn prepare(&self) -> io::Result<PreparedExec> {
        if let Some(why) = &self.invalid {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, why.clone()));
        }
        let name = self.program.as_bytes();
        let (candidates, rules) = match self.lookup {
            // No check of our own: the kernel answers an empty path with ENOENT, as execve.
            PathLookup::Off => (
                Candidates::direct(CString::new(name).map_err(|_| invalid_program())?),
                SearchRules::Glibc,
            ),
            PathLookup::Search(rules) => {
                let caller_path;
                let path = match &self.search_path {
                    Some(p) => p.as_deref(),
                    None => {
                        caller_path = std::env::var_os("PATH");
                        caller_path.as_deref()
                    }
                };
                let c = Candidates::search(name, path.map(OsStr::as_bytes), rules)
                    .map_err(io::Error::from_raw_os_error)?;
                (c, rules)
            }
        };
        let envp = match &self.envp {
            Some(a) => Envp::Explicit(a.clone()),
            None => Envp::Inherit,
        };
        Ok(PreparedExec::with(
            candidates,
            rules,
            self.shell,
            self.argv.clone(),
            envp,
        ))
    }

    /// `execvpe(program, argv, envp)` with these options (or `execve` with
    /// [`PathLookup::Off`]): prepares, then runs [`PreparedExec::exec`]. Returns only on
    /// failure. Allocates while preparing; after a fork, prepare first instead.
    pub fn exec(&self) -> io::Error {
        match self.prepare() {
            Ok(p) => p.exec(),
            Err(e) => e,
        }
    }
}

fn invalid_program() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, "program contains a NUL byte")
}
