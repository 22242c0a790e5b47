//! Scenarios and modes that issues have asked for and nobody has built yet. Their targets are
//! listed here so that every goal shows in the targets section (as "not measured"). Whoever
//! builds one moves it into a file of its own with a `Kind` that runs, and turns each
//! `Planned` measure into a `Ratio` of the figures the new scenario produces.

use super::super::targets::{Measure::Planned, Target};
use super::{Kind, Spec};

pub const ASYNC: Spec = Spec {
    id: "async",
    issue: 13,
    about: "100 concurrent spawn+wait on a current-thread tokio runtime",
    kind: Kind::Planned,
    targets: &[
        Target {
            issue: 13,
            goal: "forkexec::tokio >= 1.3x tokio::process throughput, plain",
            measure: Planned {
                missing: "scenario async",
            },
        },
        Target {
            issue: 13,
            goal: "forkexec::tokio >= 100x tokio::process with setsid+uid/gid at 8 GiB",
            measure: Planned {
                missing: "scenario async",
            },
        },
    ],
};

pub const LOAD: Spec = Spec {
    id: "load",
    issue: 17,
    about: "spawn through the userland loader vs the kernel's execve",
    kind: Kind::Planned,
    targets: &[Target {
        issue: 17,
        goal: "userland loader <= 1.5x the kernel path",
        measure: Planned {
            missing: "scenario load",
        },
    }],
};
