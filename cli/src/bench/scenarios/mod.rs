//! The benchmark's scenarios: what the spawned child is asked to be, and the speed goals the
//! issues set for it.
//!
//! Every scenario is one file with one [`Spec`]: its id, the issue it comes from, which methods
//! can run it, how to build it, and its targets. [`ALL`] lists them; adding a scenario is adding
//! its file and one line there (the CLI's help, the run, the table, the plot and the targets
//! section all follow from it).
//!
//! forkexec is measured with its own builder. std has no API for most attributes, so its
//! counterpart ("std_pre_exec") does the same steps in a `pre_exec` closure, which is also what
//! sends std down its fork() path, where the cost grows with the parent's memory.

mod async_spawn;
mod attrs;
mod emulated;
mod load;
mod plain;
mod sandbox;
mod threads;
mod userns;

use super::methods::Method;
use super::targets::Target;
pub use sandbox::SandboxSteps;
use std::ffi::CString;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A scenario as the registry knows it.
pub struct Spec {
    pub id: &'static str,
    /// The issue that asked for it.
    pub issue: u32,
    /// One line for `--help` and the README.
    pub about: &'static str,
    pub kind: Kind,
    /// Its speed goals, judged in every run (not measured when it was not selected).
    pub targets: &'static [Target],
}

/// How a scenario is measured.
pub enum Kind {
    /// One spawn+wait at a time, timed, round-robin with the other cells: latency.
    Latency {
        /// Builds it; `dir` holds the target program `exit0`.
        build: fn(dir: &Path) -> Result<Scenario, String>,
        /// Which methods can do what it asks.
        applies: fn(Method) -> bool,
    },
    /// Many threads each spawning the `plain` scenario in a loop for a fixed time: throughput.
    Throughput,
    /// Not a scenario but a way to run the others (`flag`), whose targets are stated for it.
    Mode { flag: &'static str },
}

/// Every scenario, in the order the table and the plot show them.
pub const ALL: &[Spec] = &[
    plain::SPEC,
    attrs::SPEC,
    userns::SPEC,
    threads::SPEC,
    load::SPEC,
    load::MEMORY,
    emulated::SPEC,
    async_spawn::ASYNC,
    async_spawn::ASYNC_ATTRS,
    sandbox::SPEC,
];

/// The scenario with id `id`.
pub fn spec(id: &str) -> Option<&'static Spec> {
    ALL.iter().find(|s| s.id == id)
}

/// The scenarios that can be run, one per line with what they do, for messages.
pub fn runnable() -> String {
    ALL.iter()
        .filter(|s| matches!(s.kind, Kind::Latency { .. } | Kind::Throughput))
        .map(|s| format!("\n  {:<11} {} (issue {})", s.id, s.about, s.issue))
        .collect()
}

impl Spec {
    /// Whether `method` runs in this scenario.
    pub fn applies(&self, method: Method) -> bool {
        match self.kind {
            Kind::Latency { applies, .. } => applies(method),
            Kind::Throughput => threads::applies(method),
            Kind::Mode { .. } => false,
        }
    }
}

/// The methods that can give a child attributes: forkexec, and std through pre_exec (its fork
/// path). posix_spawn, fork+execve and the C floors spawn the bare program only.
pub fn can_set_attributes(m: Method) -> bool {
    matches!(m, Method::Forkexec | Method::StdPreExec)
}

/// What std's pre_exec closure must do for a scenario (prepared: no allocation in the child).
pub enum StdSteps {
    /// Nothing (an empty closure, only to force the fork path).
    Nothing,
    Attrs {
        root: CString,
        id: u32,
        fd: i32,
    },
    Userns {
        uid_map: CString,
        gid_map: CString,
    },
    /// std's own `uid` and `gid` (which send it to its fork path), a setsid in pre_exec.
    SessionAndIds {
        id: u32,
    },
    /// The sandbox scenario's steps, which bwrap's command line is also made from.
    Sandbox(Arc<SandboxSteps>),
}

/// A scenario, ready to configure spawners (in any thread).
pub struct Scenario {
    /// The path to exec (inside the chroot for `attrs`).
    pub program: PathBuf,
    pub forkexec: Box<dyn Fn(&mut forkexec::Command) + Send + Sync>,
    pub std_steps: StdSteps,
    /// Kept open for the fd map; closed with the scenario.
    pub _fd: Option<OwnedFd>,
}

/// Builds the latency scenario `id` (the `threads` scenario spawns `plain`).
pub fn build(id: &str, dir: &Path) -> Result<Scenario, String> {
    match spec(id).map(|s| &s.kind) {
        Some(Kind::Latency { build, .. }) => build(dir),
        Some(Kind::Throughput) => plain::build(dir),
        Some(Kind::Mode { flag }) => Err(format!("{id} is not a scenario: use {flag}")),
        None => Err(format!("unknown scenario {id:?}; known:{}", runnable())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_every_built_scenario_runs_forkexec() {
        for (i, s) in ALL.iter().enumerate() {
            assert!(ALL[..i].iter().all(|o| o.id != s.id), "{} twice", s.id);
            if matches!(s.kind, Kind::Latency { .. } | Kind::Throughput) {
                let forkexec = [Method::Forkexec, Method::ForkexecTokio];
                assert!(forkexec.iter().any(|&m| s.applies(m)), "{}", s.id);
            }
        }
    }

    #[test]
    fn async_methods_run_in_the_async_scenarios_only() {
        for s in ALL {
            for m in [Method::ForkexecTokio, Method::TokioProcess] {
                assert_eq!(
                    s.applies(m),
                    s.id.starts_with("async"),
                    "{} {}",
                    s.id,
                    m.id()
                );
            }
        }
    }
}
