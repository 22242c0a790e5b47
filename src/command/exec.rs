//! std's `CommandExt::exec` (the program replaces this process) and the safe half of
//! `CommandExt::pre_exec` (user code in the child before the exec; the method itself is
//! declared in `sys/unsafe_api.rs`, where all of the crate's `unsafe` lives).

use super::Command;
use crate::error::Error;
use crate::spawn::spec::PreExecHook;

impl Command {
    /// Replaces this process with the program, with every attribute of this Command applied to
    /// this process first (std: `CommandExt::exec`). Returns only on failure, with an [`Error`]
    /// naming the step.
    ///
    /// The child sequence runs here, in this process, in its usual order (session, limits,
    /// root, credentials, working directory, fds, signal mask...), then the `pre_exec`
    /// closures, then the exec, with every signal blocked in this thread meanwhile. As with
    /// std, a failure leaves the steps that ran in effect (a changed directory, dropped
    /// credentials, remapped fds, SIGPIPE at its default); the signal mask is restored.
    /// Credentials change for the calling thread only (raw syscalls, which is what the exec
    /// needs: it ends the other threads).
    ///
    /// Refused before anything changes: `Stdio::piped()` (no parent to hold the other end),
    /// and what acts at a clone (`clone_namespaces`, `uid_map`, `gid_map`, `cgroup`;
    /// `unshare_namespaces` works). The environment is passed as a copy taken under std's env
    /// lock. Fds above 2 that are not mapped are closed at the exec, as for a spawn
    /// (`keep_fds(true)` keeps them).
    pub fn exec(&mut self) -> Error {
        crate::spawn::exec_in_place(&mut self.spec)
    }

    /// Stores a `pre_exec` closure (see [`Command::pre_exec`]).
    pub(crate) fn push_pre_exec(&mut self, hook: PreExecHook) -> &mut Self {
        self.spec.pre_exec.0.push(hook);
        self
    }
}
