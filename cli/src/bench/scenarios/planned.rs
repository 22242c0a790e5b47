//! Scenarios and modes that issues have asked for and nobody has built yet. Their targets are
//! listed here so that every goal shows in the targets section (as "not measured"). Whoever
//! builds one moves it into a file of its own with a `Kind` that runs, and turns each
//! `Planned` measure into a `Ratio` of the figures the new scenario produces.

use super::super::targets::{Measure::Planned, Target};
use super::{Kind, Spec};

pub const SANDBOX: Spec = Spec {
    id: "sandbox",
    issue: 15,
    about: "user+pid+mount+ipc+uts namespaces, /proc, no_new_privs, seccomp, Landlock vs bwrap",
    kind: Kind::Planned,
    targets: &[
        Target {
            issue: 15,
            goal: "<= 0.2x bubblewrap doing the same",
            measure: Planned {
                missing: "scenario sandbox",
            },
        },
        Target {
            issue: 15,
            goal: "sandbox flat in the parent's size",
            measure: Planned {
                missing: "scenario sandbox",
            },
        },
    ],
};
