//! [`Command`]: the async spawner, a `forkexec::Command` underneath.

use super::child::Child;
use super::orphans;
use crate::spawn::StdioDefault;
use crate::Stdio;
use std::ffi::OsStr;
use std::fmt;
use std::io;
use std::ops::{Deref, DerefMut};
use std::path::Path;
use std::process::{ExitStatus, Output};

/// A process to spawn from async code: tokio::process::Command's methods over a
/// [`forkexec::Command`](crate::Command), which it derefs to, so every forkexec attribute is
/// there (`cmd.setsid(true)`, `cmd.uid(1000)`, `cmd.fd(3, file)`...).
///
/// The methods below return this Command, so a chain of them ends in the async
/// [`spawn`](Self::spawn). forkexec's own attributes, reached through `Deref`, return the
/// `forkexec::Command`: end such a chain with `;` and spawn on this Command, or set them
/// before converting (`Command::from(forkexec_cmd)`). A `spawn`, `status` or `output` at the
/// end of a chain through `Deref` is the sync one.
///
/// ```no_run
/// # async fn f() -> std::io::Result<()> {
/// use forkexec::tokio::Command;
/// let mut cmd = Command::new("sleep");
/// cmd.arg("1").kill_on_drop(true);
/// cmd.setsid(true).uid(65534).gid(65534); // forkexec's, through Deref
/// let status = cmd.spawn()?.wait().await?;
/// # Ok(()) }
/// ```
pub struct Command {
    inner: crate::Command,
}

impl From<crate::Command> for Command {
    /// Every attribute of the forkexec Command, `kill_on_drop` included.
    fn from(inner: crate::Command) -> Command {
        Command { inner }
    }
}

impl Deref for Command {
    type Target = crate::Command;
    fn deref(&self) -> &crate::Command {
        &self.inner
    }
}

impl DerefMut for Command {
    fn deref_mut(&mut self) -> &mut crate::Command {
        &mut self.inner
    }
}

impl fmt::Debug for Command {
    /// The forkexec Command's (std's format).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

impl Command {
    /// A command for `program`, as [`forkexec::Command::new`](crate::Command::new).
    pub fn new(program: impl AsRef<OsStr>) -> Command {
        Command::from(crate::Command::new(program))
    }

    /// The forkexec Command underneath (tokio: `as_std`).
    pub fn as_forkexec(&self) -> &crate::Command {
        &self.inner
    }

    /// The forkexec Command underneath, to set its attributes (tokio: `as_std_mut`).
    pub fn as_forkexec_mut(&mut self) -> &mut crate::Command {
        &mut self.inner
    }

    /// The forkexec Command, for the sync API (tokio: `into_std`).
    pub fn into_forkexec(self) -> crate::Command {
        self.inner
    }

    /// Adds an argument.
    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Command {
        self.inner.arg(arg);
        self
    }

    /// Adds arguments.
    pub fn args(&mut self, args: impl IntoIterator<Item = impl AsRef<OsStr>>) -> &mut Command {
        self.inner.args(args);
        self
    }

    /// Sets an environment variable for the child.
    pub fn env(&mut self, key: impl AsRef<OsStr>, val: impl AsRef<OsStr>) -> &mut Command {
        self.inner.env(key, val);
        self
    }

    /// Sets several environment variables.
    pub fn envs(
        &mut self,
        vars: impl IntoIterator<Item = (impl AsRef<OsStr>, impl AsRef<OsStr>)>,
    ) -> &mut Command {
        self.inner.envs(vars);
        self
    }

    /// Removes a variable from the child's environment.
    pub fn env_remove(&mut self, key: impl AsRef<OsStr>) -> &mut Command {
        self.inner.env_remove(key);
        self
    }

    /// Starts the child with an empty environment (plus what `env` adds).
    pub fn env_clear(&mut self) -> &mut Command {
        self.inner.env_clear();
        self
    }

    /// The child's working directory.
    pub fn current_dir(&mut self, dir: impl AsRef<Path>) -> &mut Command {
        self.inner.current_dir(dir);
        self
    }

    /// The child's stdin (`Stdio::piped()` gives [`Child::stdin`]).
    pub fn stdin(&mut self, s: impl Into<Stdio>) -> &mut Command {
        self.inner.stdin(s);
        self
    }

    /// The child's stdout (`Stdio::piped()` gives [`Child::stdout`]).
    pub fn stdout(&mut self, s: impl Into<Stdio>) -> &mut Command {
        self.inner.stdout(s);
        self
    }

    /// The child's stderr (`Stdio::piped()` gives [`Child::stderr`]).
    pub fn stderr(&mut self, s: impl Into<Stdio>) -> &mut Command {
        self.inner.stderr(s);
        self
    }

    /// Sets `argv[0]`.
    pub fn arg0(&mut self, arg0: impl AsRef<OsStr>) -> &mut Command {
        self.inner.arg0(arg0);
        self
    }

    /// The child's user id (on the vfork-class path: no fork, unlike std's and tokio's).
    pub fn uid(&mut self, uid: u32) -> &mut Command {
        self.inner.uid(uid);
        self
    }

    /// The child's group id.
    pub fn gid(&mut self, gid: u32) -> &mut Command {
        self.inner.gid(gid);
        self
    }

    /// Puts the child in process group `pgid` (0: a new group it leads).
    pub fn process_group(&mut self, pgid: i32) -> &mut Command {
        self.inner.process_group(pgid);
        self
    }

    /// Kill the child (with its process group when it leads one) when its [`Child`] is
    /// dropped before it was reaped; it is then reaped in the background, as any dropped
    /// Child. [`get_kill_on_drop`](crate::Command::get_kill_on_drop) reads it.
    pub fn kill_on_drop(&mut self, kill_on_drop: bool) -> &mut Command {
        self.inner.kill_on_drop(kill_on_drop);
        self
    }

    /// Spawns the child and returns its handle once it has exec'd. Needs a Tokio runtime with
    /// IO enabled (`enable_io` or `enable_all`), current-thread or multi-thread.
    ///
    /// The error is the `io::Error` std and tokio return for the same failure (`kind()` and
    /// `raw_os_error()`). For the error that names the failing step, spawn through the
    /// forkexec Command and convert: `Child::try_from(cmd.as_forkexec_mut().spawn()?)`.
    pub fn spawn(&mut self) -> io::Result<Child> {
        self.spawn_with([StdioDefault::Inherit; 3])
    }

    fn spawn_with(&mut self, defaults: [StdioDefault; 3]) -> io::Result<Child> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(io::Error::other(
                "forkexec::tokio::Command::spawn needs a Tokio runtime (with IO enabled)",
            ));
        }
        // Orphans left without a runtime to reap them are looked at here, as tokio does.
        orphans::reap_unclaimed();
        Child::try_from(self.inner.spawn_with(defaults)?)
    }

    /// Spawns, waits and returns the exit status (stdio inherited unless set). Dropped before
    /// it finished, the child is reaped in the background (killed first with `kill_on_drop`).
    pub async fn status(&mut self) -> io::Result<ExitStatus> {
        self.spawn()?.wait().await
    }

    /// Spawns with stdout and stderr piped (stdin null unless set), reads both, waits.
    pub async fn output(&mut self) -> io::Result<Output> {
        let defaults = [StdioDefault::Null, StdioDefault::Piped, StdioDefault::Piped];
        self.spawn_with(defaults)?.wait_with_output().await
    }
}
