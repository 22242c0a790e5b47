//! The steps of a spawn, and how a failure at each one reads.
//!
//! One vocabulary for both sides: the child sequence (`sys::child_sequence`) writes a step
//! number and an errno into shared memory when a step fails; the spawn layer turns that into an
//! [`Error`](crate::Error) whose message names the step, what it was doing and the program.
//! This module imports nothing else of the crate (names of namespaces and resources come in
//! through [`StepContext`]), so both sides can use it without a cycle.

/// Declares the step enum and the table that turns a reported number back into a step, from
/// one list, so the two cannot drift apart.
macro_rules! spawn_steps {
    ($($(#[$doc:meta])* $name:ident,)*) => {
        /// A step of a spawn, in the order the child sequence runs them (parent-side steps last).
        #[repr(u32)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub(crate) enum SpawnStep {
            $($(#[$doc])* $name,)*
        }

        impl SpawnStep {
            const ALL: &'static [SpawnStep] = &[$(SpawnStep::$name,)*];

            /// The step a reported number names (`None` for 0 or a number out of range).
            pub(crate) fn from_number(n: u32) -> SpawnStep {
                Self::ALL.get(n as usize).copied().unwrap_or(SpawnStep::None)
            }
        }
    };
}

spawn_steps! {
    /// No failure.
    None,
    ResetSignalHandlers,
    WaitForParent,
    /// Finding the open fds with poll: kernels without CLOSE_RANGE_CLOEXEC.
    ListFds,
    /// Marking one listed fd close-on-exec.
    MarkCloexec,
    JoinNamespaces,
    PidNamespaceHop,
    Setsid,
    Setpgid,
    Foreground,
    SignalDispositions,
    Unshare,
    RemountPrivate,
    Rlimit,
    Nice,
    Scheduler,
    Umask,
    Chroot,
    MountProc,
    Securebits,
    BoundingSet,
    KeepCaps,
    Setgroups,
    Setgid,
    Setuid,
    Capabilities,
    AmbientCaps,
    Chdir,
    Pdeathsig,
    ParentDied,
    FdMove,
    FdMap,
    CloseFds,
    Noctty,
    Setctty,
    NoNewPrivs,
    Ptrace,
    Landlock,
    SignalMask,
    Seccomp,
    /// A `pre_exec` closure (fork path, or `Command::exec`).
    PreExec,
    Exec,
    /// The loader stub (a userland spawn): carrying out the load it was handed.
    Load,
    /// Parent side: the clone itself (or a resource it needs, such as the child's stack).
    Clone,
    /// Parent side: writing uid_map/gid_map while the child waits.
    UserNamespaceMaps,
    /// Parent side: writing the child's pid into the cgroup's cgroup.procs while it waits
    /// (kernels without clone3's CLONE_INTO_CGROUP).
    CgroupJoin,
}

/// A failed step as the child (or the clone) reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct StepFailure {
    pub step: SpawnStep,
    pub errno: i32,
    /// Step-specific: the fd for fd steps, the resource for Rlimit, the capability for caps.
    pub detail: i64,
}

impl StepFailure {
    /// A failure of `step` with `errno` and no detail.
    pub(crate) fn new(step: SpawnStep, errno: i32) -> Self {
        StepFailure {
            step,
            errno,
            detail: 0,
        }
    }
}

/// What a message needs to know about the request beyond the failure itself. Built only
/// when a spawn fails, so the success path formats nothing.
pub(crate) struct StepContext<'a> {
    /// The program as given, quoted for a message (`"ls"`, `"\xff"`).
    pub program: &'a str,
    /// The working directory asked for, if any, quoted for a message.
    pub cwd: Option<String>,
    /// The new root, if any, quoted for a message.
    pub chroot: Option<String>,
    /// The cgroup directory, if any.
    pub cgroup: Option<String>,
    /// The supplementary groups asked for, if any.
    pub groups: Option<&'a [u32]>,
    /// Names a CLONE_NEW* set for an unshare step (`user,mount`).
    pub namespace_names: fn(i32) -> String,
    /// Names a resource for an rlimit step (`RLIMIT_NOFILE`).
    pub rlimit_name: fn(i32) -> String,
}

impl SpawnStep {
    /// Whether the step runs in the parent (the child never started the sequence).
    pub(crate) fn is_parent_side(self) -> bool {
        matches!(self, SpawnStep::Clone)
    }

    /// The step's short, stable name (`chdir`, `exec`, `setgid`...) and what it was doing, as
    /// the message says it: "failed to {what} for {program}".
    pub(crate) fn describe(self, detail: i64, cx: &StepContext<'_>) -> (&'static str, String) {
        use SpawnStep as S;
        let d = detail;
        match self {
            S::Exec => ("exec", format!("execute {}", cx.program)),
            S::Load => ("load", format!("load {}", cx.program)),
            S::Chdir => (
                "chdir",
                format!("chdir to {}", cx.cwd.as_deref().unwrap_or("\"\"")),
            ),
            S::Clone => ("clone", "create the process (clone)".into()),
            S::Setsid => ("setsid", "setsid".into()),
            S::Setpgid => ("setpgid", format!("setpgid(0, {d})")),
            S::Foreground => (
                "tcsetpgrp",
                format!("make the child the foreground group of fd {d}"),
            ),
            S::SignalDispositions => ("sigaction", format!("set the disposition of signal {d}")),
            S::ResetSignalHandlers => ("sigaction", format!("reset the handler of signal {d}")),
            S::SignalMask => ("sigprocmask", "set the signal mask".into()),
            S::PreExec => ("pre_exec", "run a pre_exec closure".into()),
            S::Unshare => (
                "unshare",
                format!("unshare({})", (cx.namespace_names)(d as i32)),
            ),
            S::RemountPrivate => (
                "mount",
                "set the propagation of / in the new mount namespace".into(),
            ),
            S::JoinNamespaces => (
                "setns",
                format!("join the {} namespace", (cx.namespace_names)(d as i32)),
            ),
            S::PidNamespaceHop if d == 1 => (
                "pidfd_open",
                "take a pidfd of the process in the joined pid namespace (pidfd_open, Linux 5.3)"
                    .into(),
            ),
            S::PidNamespaceHop => (
                "clone",
                "create the process in the joined pid namespace".into(),
            ),
            S::MountProc if d == 0 => ("mount", "make the old /proc private".into()),
            S::MountProc => ("mount", "mount a new /proc".into()),
            S::Securebits => ("prctl", format!("set securebits {d:#x}")),
            S::BoundingSet => (
                "prctl",
                format!("drop capability {d} from the bounding set"),
            ),
            S::Landlock => (
                "landlock_restrict_self",
                "restrict the child with the Landlock ruleset".into(),
            ),
            S::Seccomp => (
                "seccomp",
                format!("install the seccomp filter ({d} instructions)"),
            ),
            S::Rlimit => ("setrlimit", format!("set {}", (cx.rlimit_name)(d as i32))),
            S::Nice => ("setpriority", format!("set nice {d}")),
            S::Scheduler => ("sched_setscheduler", format!("set scheduling policy {d}")),
            S::Umask => ("umask", format!("set umask {d:o}")),
            S::Chroot => (
                "chroot",
                format!("chroot to {}", cx.chroot.as_deref().unwrap_or("\"\"")),
            ),
            S::KeepCaps => ("prctl", "prctl(PR_SET_KEEPCAPS)".into()),
            S::Setgroups => (
                "setgroups",
                format!("setgroups({:?})", cx.groups.unwrap_or_default()),
            ),
            S::Setgid => ("setgid", format!("setgid({d})")),
            S::Setuid => ("setuid", format!("setuid({d})")),
            S::Capabilities => ("capset", "set capabilities (capset)".into()),
            S::AmbientCaps => ("prctl", format!("raise ambient capability {d}")),
            S::Pdeathsig => ("prctl", format!("set the parent-death signal {d}")),
            S::ParentDied => (
                "pdeathsig",
                "start: the parent died before the parent-death signal was set".into(),
            ),
            S::FdMove => ("dup", format!("move parent fd {d} out of the way")),
            S::FdMap => ("dup2", format!("set up child fd {d}")),
            S::CloseFds => ("close_range", format!("close fds from {d}")),
            S::Noctty => (
                "ioctl",
                "detach the controlling terminal (TIOCNOTTY)".into(),
            ),
            S::Setctty => (
                "ioctl",
                format!("make fd {d} the controlling terminal (TIOCSCTTY)"),
            ),
            S::NoNewPrivs => ("prctl", "set no_new_privs".into()),
            S::Ptrace => ("ptrace", "ptrace(PTRACE_TRACEME)".into()),
            S::WaitForParent => ("read", "wait for the parent".into()),
            S::ListFds => (
                "poll",
                format!("find the open fds from {d} to mark them close-on-exec"),
            ),
            S::MarkCloexec => ("fcntl", format!("mark fd {d} close-on-exec")),
            S::CgroupJoin => (
                "cgroup.procs",
                format!(
                    "move the child into cgroup {:?} (cgroup.procs)",
                    cx.cgroup.as_deref().unwrap_or("")
                ),
            ),
            S::UserNamespaceMaps => ("uid_map", "write the user namespace id maps".into()),
            S::None => ("unknown", "spawn".into()),
        }
    }
}

impl SpawnStep {
    /// What a failure with `errno` may mean beyond the errno, where the answer is "this kernel
    /// is too old": the feature and the Linux version that added it.
    pub(crate) fn kernel_hint(self, detail: i64, errno: i32) -> Option<String> {
        if errno != libc::EINVAL {
            return None;
        }
        match self {
            SpawnStep::Unshare | SpawnStep::Clone => {
                let flags = detail as i32;
                let mut needs = Vec::new();
                if flags & libc::CLONE_NEWCGROUP != 0 {
                    needs.push("cgroup namespaces need Linux 4.6");
                }
                if flags & libc::CLONE_NEWTIME != 0 {
                    needs.push("time namespaces need Linux 5.6");
                }
                (!needs.is_empty()).then(|| needs.join(", "))
            }
            SpawnStep::AmbientCaps => Some("ambient capabilities need Linux 4.3".into()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::SpawnStep;

    #[test]
    fn every_step_round_trips_through_its_number() {
        for &s in SpawnStep::ALL {
            assert_eq!(SpawnStep::from_number(s as u32), s);
        }
        assert_eq!(
            SpawnStep::from_number(SpawnStep::ALL.len() as u32),
            SpawnStep::None
        );
    }
}
