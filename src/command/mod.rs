//! [`Command`]: the spawn builder, in the spirit of `std::process::Command` (its public
//! process.rs): what the user asks for, nothing more.
//!
//! The builder records the request in a [`Spec`](crate::spawn::spec::Spec); `spawn`, `status`
//! and `output` hand it to the spawn layer, which validates and prepares everything in the
//! parent before the clone. Bad input is recorded here and refused there, with an error naming
//! what is wrong; no process is made.
//!
//! Attribute methods are in one file per family: [`credentials`], [`session`],
//! [`namespaces`], [`limits`], [`signals`], [`security`], [`cgroup`], [`sandbox`]; std's
//! `CommandExt::exec` and `pre_exec` are in [`exec`]; what a Command can tell about itself
//! (std's getters, its Debug) in [`inspect`]; the conversion from `std::process::Command` in
//! [`from_std`].
//! What starts the program (execve, or the userland loader) is in [`loader`].

mod cgroup;
mod credentials;
mod exec;
mod from_std;
mod inspect;
mod limits;
#[cfg(target_arch = "x86_64")]
mod loader;
mod namespaces;
mod sandbox;
mod security;
mod session;
mod signals;

pub use from_std::FromStdError;
pub use inspect::{CommandArgs, CommandEnvs};
#[cfg(target_arch = "x86_64")]
pub use loader::Loader;

use crate::error::{Error, ErrorStage, Result};
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
///
/// A drop-in for `std::process::Command` (std's own test suite runs against it:
/// `tests/std_process.rs`), with deliberate differences listed in the README ("Differences from
/// std"), each undone by one call.
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

    /// Removes a variable from the child's environment. After `env_clear` there is nothing
    /// to remove from, and the key is only forgotten (as std records it).
    pub fn env_remove(&mut self, key: impl AsRef<OsStr>) -> &mut Self {
        let key = key.as_ref();
        if self.check_env_key(key) {
            if self.spec.env_clear {
                self.spec.env.remove(key);
            } else {
                self.spec.env.insert(key.to_os_string(), None);
            }
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
        self.set_stdio(0, s.into())
    }

    /// The child's stdout.
    pub fn stdout(&mut self, s: impl Into<Stdio>) -> &mut Self {
        self.set_stdio(1, s.into())
    }

    /// The child's stderr.
    pub fn stderr(&mut self, s: impl Into<Stdio>) -> &mut Self {
        self.set_stdio(2, s.into())
    }

    fn set_stdio(&mut self, fd: usize, s: Stdio) -> &mut Self {
        self.spec.stdio[fd] = Some(s);
        self.spec.set_again(fd as RawFd);
        self
    }

    /// Child fd `child_fd` gets `fd` (Go's `Files`, command-fds' `FdMapping`, std's unstable
    /// `CommandExt::fd`). Swaps and cycles between mappings are handled. `fd` belongs to the
    /// child once a spawn succeeds: it is closed in the parent then (so a pipe's write end
    /// given to the child does not keep the pipe open here), unless
    /// [`retain_fds`](Self::retain_fds) keeps it for further spawns.
    pub fn fd(&mut self, child_fd: RawFd, fd: impl Into<OwnedFd>) -> &mut Self {
        if child_fd < 0 {
            self.refuse(
                format!("child fd {child_fd}"),
                "fd numbers are not negative",
            );
        }
        self.spec.fd_map.push((child_fd, Some(fd.into())));
        self.spec.set_again(child_fd);
        self
    }

    /// Keep the fds given with `Stdio::Fd` (a `File`, an `OwnedFd`, a pipe end...) and
    /// [`fd`](Self::fd) open in this process after a spawn, so the Command can spawn again with
    /// them: std's rule for its `Stdio`. Off by default: a successful spawn gives them to the
    /// child and closes them here, since an fd kept here keeps a pipe open (a reader waiting
    /// for EOF would wait until the Command is dropped). With it off, a second spawn of the
    /// same Command is refused until those fds are set again.
    pub fn retain_fds(&mut self, retain: bool) -> &mut Self {
        self.spec.retain_fds = retain;
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
    ///
    /// The error is a [`forkexec::Error`](crate::Error), which answers `kind()` and
    /// `raw_os_error()` as std's `io::Error` does and converts into one with `?`.
    pub fn spawn(&mut self) -> Result<Child> {
        self.spawn_with([StdioDefault::Inherit; 3])
    }

    /// Spawns with `defaults` for the stdio the Command does not set (`output` pipes stdout
    /// and stderr).
    pub(crate) fn spawn_with(&mut self, defaults: [StdioDefault; 3]) -> Result<Child> {
        let child = crate::spawn::spawn(&mut self.spec, defaults)?;
        self.spec.give_away_fds();
        Ok(child)
    }

    /// Spawns, waits and returns the exit status (stdio inherited unless set).
    pub fn status(&mut self) -> Result<std::process::ExitStatus> {
        let mut child = self.spawn()?;
        child
            .wait()
            .map_err(|e| self.wait_error("wait", e.raw_os_error()))
    }

    /// Spawns with stdout and stderr piped (stdin null unless set), collects both, waits.
    pub fn output(&mut self) -> Result<std::process::Output> {
        let child =
            self.spawn_with([StdioDefault::Null, StdioDefault::Piped, StdioDefault::Piped])?;
        child
            .wait_with_output()
            .map_err(|e| self.wait_error("collect output", e.raw_os_error()))
    }

    fn wait_error(&self, action: &str, errno: Option<i32>) -> Error {
        let errno = errno.unwrap_or(libc::EIO);
        Error::step(
            &self.spec.program,
            ErrorStage::Parent,
            "wait",
            action,
            errno,
        )
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
