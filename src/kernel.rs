//! How spawning works on this kernel, as the first spawn's probe found it: which clone form,
//! where the pidfd comes from, how fds are hidden. Each new kernel feature forkexec uses is
//! tried once per process (at the first spawn) and the answer cached; a spawn never probes.
//! See the README's "Where it runs" for what each mode guarantees.

use crate::sys::clone::CloneForm;
use crate::sys::features;
use std::fmt;

/// What the probe found, in words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpawnSupport {
    /// `clone3` (5.5+), `clone` (older kernels, or clone3 refused by a sandbox) or `fork`
    /// (emulators that cannot share memory with a child, such as qemu-user).
    pub clone: &'static str,
    /// Whether the clone shares memory and suspends the parent (no page-table copy).
    pub vfork_class: bool,
    /// What the kernel answered to clone3 with CLONE_CLEAR_SIGHAND: `works`, or e.g.
    /// `refused (EPERM: a seccomp filter?)`.
    pub clone3_answer: String,
    /// `CLONE_PIDFD`, `pidfd_open` or `none` (then waits and signals go by pid).
    pub pidfd: &'static str,
    /// `waitid(P_PIDFD)` or `waitid(P_PID)`.
    pub wait: &'static str,
    /// `pidfd_send_signal` or `kill`.
    pub signal: &'static str,
    /// `close_range` (CLOSE_RANGE_CLOEXEC, 5.11+) or `/proc/self/fd` (a list read by the
    /// child, each fd marked close-on-exec).
    pub close_on_exec: &'static str,
}

impl fmt::Display for SpawnSupport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}; clone3 {}), pidfd: {}, wait: {}, signals: {}, close-on-exec: {}",
            self.clone,
            if self.vfork_class {
                "vfork-class, no page-table copy"
            } else {
                "fork-like"
            },
            self.clone3_answer,
            self.pidfd,
            self.wait,
            self.signal,
            self.close_on_exec
        )
    }
}

/// What this kernel supports, probing now if no spawn has yet. `Err(errno)`: the probe could
/// not tell (EAGAIN, ENOMEM); a later call tries again.
pub fn spawn_support() -> Result<SpawnSupport, crate::Errno> {
    let s = features::support().map_err(crate::Errno)?;
    let pidfd = if s.pidfd_from_clone() {
        "CLONE_PIDFD"
    } else if s.pidfd_open.works() {
        "pidfd_open"
    } else {
        "none"
    };
    let has_pidfd = pidfd != "none";
    Ok(SpawnSupport {
        clone: match s.clone_form() {
            CloneForm::Clone3 => "clone3",
            CloneForm::Clone => "clone",
            CloneForm::ForkLike => "fork",
        },
        vfork_class: s.clone_form() != CloneForm::ForkLike,
        clone3_answer: s.clone3.describe(),
        pidfd,
        wait: if has_pidfd && s.waitid_pidfd.works() {
            "waitid(P_PIDFD)"
        } else {
            "waitid(P_PID)"
        },
        signal: if has_pidfd && s.pidfd_send_signal.works() {
            "pidfd_send_signal"
        } else {
            "kill"
        },
        close_on_exec: if s.close_range_cloexec.works() {
            "close_range"
        } else {
            "/proc/self/fd"
        },
    })
}

/// How many times the feature probe has run in this process: 1 after any number of spawns
/// (0 before the first). The bench prints it to show the probe is not on the per-spawn path.
pub fn probe_runs() -> u32 {
    features::probe_runs()
}
