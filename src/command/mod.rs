//! [`Command`]: the spawn builder, in the spirit of `std::process::Command` (its public
//! process.rs): what the user asks for, nothing more.
//!
//! The builder records the request in a [`Spec`](crate::spawn::spec::Spec); `spawn`, `status`
//! and `output` hand it to the spawn layer, which validates and prepares everything in the
//! parent before the clone. Bad input is recorded here and refused there, with an error naming
//! what is wrong; no process is made.
//!
//! Attribute methods are in one file per family: [`credentials`], [`session`],
//! [`namespaces`], [`limits`], [`signals`], [`security`], [`cgroup`], [`sandbox`].

mod cgroup;
mod credentials;
mod limits;
mod namespaces;
mod sandbox;
mod security;
mod session;
mod signals;

use crate::error::{Error, ErrorKind, Result};
use crate::exec::{PathLookup, ShellFallback};
use crate::process::Child;
use crate::spawn::spec::{to_cstring, Spec};
use crate::spawn::StdioDefault;
use crate::stdio::Stdio;
use std::ffi::OsStr;
use std::fmt;
use std::os::fd::{OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// A process to spawn. Build it, then call [`Command::spawn`], [`Command::status`] or
/// [`Command::output`].
#[derive(Debug)]
pub struct Command {
    spec: Spec,
}

impl Command {
    /// A command for `program` with no arguments, the parent's environment, cwd and stdio.
    pub fn new(program: impl AsRef<OsStr>) -> Command {
        Command {
            spec: Spec::new(program.as_ref()),
        }
    }

    /// The request as data, for the spawn layer's unit tests.
    #[cfg(test)]
    pub(crate) fn spec_mut(&mut self) -> &mut Spec {
        &mut self.spec
    }

    /// Records bad input; spawn refuses it before any clone.
    pub(crate) fn refuse(&mut self, what: impl Into<String>, why: impl Into<String>) {
        self.spec.refuse(what, why);
    }

    /// The program as given.
    pub fn get_program(&self) -> &OsStr {
        &self.spec.program
    }

    /// The program name for messages.
    fn program_display(&self) -> String {
        self.spec.program_display()
    }

    /// Adds an argument.
    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Self {
        let arg = arg.as_ref();
        match to_cstring(arg.as_bytes()) {
            Ok(c) => self.spec.argv.push(c),
            Err(at) => {
                let n = self.spec.argv.len();
                self.refuse(
                    format!("argument {n}"),
                    format!("it contains a NUL byte at offset {at}"),
                );
            }
        }
        self.spec.target = None;
        self
    }

    /// Adds arguments.
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

    /// Sets `argv[0]` (by default the program as given).
    pub fn arg0(&mut self, arg0: impl AsRef<OsStr>) -> &mut Self {
        match to_cstring(arg0.as_ref().as_bytes()) {
            Ok(c) => self.spec.argv.set(0, c),
            Err(at) => self.refuse("arg0", format!("it contains a NUL byte at offset {at}")),
        }
        self
    }

    /// The arguments after `argv[0]`.
    pub fn get_args(&self) -> impl Iterator<Item = &OsStr> {
        self.spec
            .argv
            .iter()
            .skip(1)
            .map(|c| OsStr::from_bytes(c.to_bytes()))
    }

    fn check_env_key(&mut self, key: &OsStr) -> bool {
        let k = key.as_bytes();
        if k.is_empty() {
            self.refuse("environment variable name", "it is empty");
            false
        } else if let Some(at) = k.iter().position(|&b| b == b'=') {
            self.refuse(
                format!("environment variable name {:?}", key.to_string_lossy()),
                format!("it contains '=' at offset {at}"),
            );
            false
        } else if let Some(at) = k.iter().position(|&b| b == 0) {
            self.refuse(
                "environment variable name",
                format!("it contains a NUL byte at offset {at}"),
            );
            false
        } else {
            true
        }
    }

    /// Sets an environment variable for the child.
    pub fn env(&mut self, key: impl AsRef<OsStr>, val: impl AsRef<OsStr>) -> &mut Self {
        let (key, val) = (key.as_ref(), val.as_ref());
        if self.check_env_key(key) {
            if let Some(at) = val.as_bytes().iter().position(|&b| b == 0) {
                self.refuse(
                    format!("value of environment variable {:?}", key.to_string_lossy()),
                    format!("it contains a NUL byte at offset {at}"),
                );
            }
            self.spec
                .env
                .insert(key.to_os_string(), Some(val.to_os_string()));
            if key == "PATH" {
                self.spec.target = None;
            }
        }
        self
    }

    /// Sets several environment variables.
    pub fn envs<I, K, V>(&mut self, vars: I) -> &mut Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        for (k, v) in vars {
            self.env(k, v);
        }
        self
    }

    /// Removes a variable from the child's environment.
    pub fn env_remove(&mut self, key: impl AsRef<OsStr>) -> &mut Self {
        let key = key.as_ref();
        if self.check_env_key(key) {
            self.spec.env.insert(key.to_os_string(), None);
            self.spec.target = None;
        }
        self
    }

    /// Starts the child with an empty environment (plus what `env` adds afterwards).
    ///
    /// By default the child inherits the process's `environ` as it is at the moment of the
    /// spawn, without a copy (as posix_spawn and execv do). If another thread's
    /// `std::env::set_var` moves that array during the exec (EFAULT), the spawn retries once
    /// with a copy taken under std's env lock. A program that changes its environment from
    /// other threads while it spawns (unsound by std's own rules, yet common) can also pass the
    /// copy up front: `cmd.env_clear().envs(std::env::vars_os())`. tests/env_churn.rs runs both
    /// against a thread that calls set_var in a loop.
    pub fn env_clear(&mut self) -> &mut Self {
        self.spec.env_clear = true;
        self.spec.env.clear();
        self.spec.target = None;
        self
    }

    /// The child's working directory (relative paths resolve against the parent's cwd at spawn,
    /// or inside the chroot when one is set).
    pub fn current_dir(&mut self, dir: impl AsRef<Path>) -> &mut Self {
        let dir = dir.as_ref();
        match to_cstring(dir.as_os_str().as_bytes()) {
            Ok(c) => self.spec.cwd = Some((dir.to_path_buf(), c)),
            Err(at) => self.refuse(
                "working directory",
                format!("it contains a NUL byte at offset {at}"),
            ),
        }
        self
    }

    /// The child's stdin.
    pub fn stdin(&mut self, s: impl Into<Stdio>) -> &mut Self {
        self.spec.stdio[0] = Some(s.into());
        self
    }

    /// The child's stdout.
    pub fn stdout(&mut self, s: impl Into<Stdio>) -> &mut Self {
        self.spec.stdio[1] = Some(s.into());
        self
    }

    /// The child's stderr.
    pub fn stderr(&mut self, s: impl Into<Stdio>) -> &mut Self {
        self.spec.stdio[2] = Some(s.into());
        self
    }

    /// Child fd `child_fd` gets `fd` (Go's `Files`, command-fds' `FdMapping`). Swaps and cycles
    /// between mappings are handled. `fd` is closed in the parent after the spawn.
    pub fn fd(&mut self, child_fd: RawFd, fd: impl Into<OwnedFd>) -> &mut Self {
        if child_fd < 0 {
            self.refuse(
                format!("child fd {child_fd}"),
                "fd numbers are not negative",
            );
        }
        self.spec.fd_map.push((child_fd, Some(fd.into())));
        self
    }

    /// Child fd `child_fd` is closed even if the parent has it open (e.g. fd 0).
    pub fn close_fd(&mut self, child_fd: RawFd) -> &mut Self {
        if child_fd < 0 {
            self.refuse(
                format!("child fd {child_fd}"),
                "fd numbers are not negative",
            );
        }
        self.spec.fd_map.push((child_fd, None));
        self
    }

    /// Keep every inherited fd that is not close-on-exec (std's behaviour). By default the
    /// child sees only fds 0-2 and the mapped ones.
    pub fn keep_fds(&mut self, keep: bool) -> &mut Self {
        self.spec.keep_fds = keep;
        self
    }

    /// Kill the child with SIGKILL (and reap it) when the `Child` is dropped.
    pub fn kill_on_drop(&mut self, yes: bool) -> &mut Self {
        self.spec.kill_on_drop = yes;
        self
    }

    /// How the program is found: PATH search (glibc or musl rules) or the name as given.
    pub fn path_lookup(&mut self, lookup: PathLookup) -> &mut Self {
        self.spec.lookup = lookup;
        self.spec.target = None;
        self
    }

    /// Whether a file that exec rejects with ENOEXEC (no `#!`, no known format) runs under
    /// `/bin/sh`, as execvp does. Off by default, as in posix_spawnp, Go and CPython.
    pub fn shell_fallback(&mut self, on: bool) -> &mut Self {
        self.spec.shell = if on {
            ShellFallback::Sh
        } else {
            ShellFallback::Off
        };
        self.spec.target = None;
        self
    }

    /// Spawns the child and returns its handle once it has exec'd.
    pub fn spawn(&mut self) -> Result<Child> {
        crate::spawn::spawn(&mut self.spec, [StdioDefault::Inherit; 3])
    }

    /// Spawns, waits and returns the exit status (stdio inherited unless set).
    pub fn status(&mut self) -> Result<std::process::ExitStatus> {
        let mut child = self.spawn()?;
        child.wait().map_err(|e| {
            Error::step(
                &self.program_display(),
                ErrorKind::Parent,
                "wait",
                "wait",
                e.raw_os_error().unwrap_or(libc::EIO),
            )
        })
    }

    /// Spawns with stdout and stderr piped (stdin null unless set), collects both, waits.
    pub fn output(&mut self) -> Result<std::process::Output> {
        let child = crate::spawn::spawn(
            &mut self.spec,
            [StdioDefault::Null, StdioDefault::Piped, StdioDefault::Piped],
        )?;
        child.wait_with_output().map_err(|e| {
            Error::step(
                &self.program_display(),
                ErrorKind::Parent,
                "wait",
                "collect output",
                e.raw_os_error().unwrap_or(libc::EIO),
            )
        })
    }
}

impl From<std::process::Command> for Command {
    /// Takes program, args, environment changes and cwd (std exposes no more).
    fn from(std_cmd: std::process::Command) -> Self {
        let mut cmd = Command::new(std_cmd.get_program());
        cmd.args(std_cmd.get_args());
        for (k, v) in std_cmd.get_envs() {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        if let Some(dir) = std_cmd.get_current_dir() {
            cmd.current_dir(dir);
        }
        cmd
    }
}

/// Accepts a typed value or anything that converts into one (a name, a number), and records a
/// conversion failure on the command so that spawn refuses it before any clone.
fn convert<T, V>(cmd: &mut Command, what: &str, v: V) -> Option<T>
where
    V: TryInto<T>,
    V::Error: fmt::Display,
{
    match v.try_into() {
        Ok(t) => Some(t),
        Err(e) => {
            cmd.refuse(what.to_string(), e.to_string());
            None
        }
    }
}
