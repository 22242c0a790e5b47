//! `plain`: nothing but the program, by every method that spawns programs as they are (not
//! bubblewrap). The spawn core against glibc, std, fork
//! and the two C floors.

use super::super::methods::Method::{self, *};
use super::super::targets::{median, Limit::*, Measure::Ratio, Target, GIB8};
use super::{Kind, Scenario, Spec, StdSteps};
use std::path::Path;

pub const SPEC: Spec = Spec {
    id: "plain",
    issue: 2,
    about: "nothing but the program, by every method",
    kind: Kind::Latency {
        build,
        applies: Method::spawns_bare_programs,
    },
    targets: &[
        Target {
            issue: 2,
            goal: "plain spawn faster than glibc's posix_spawn",
            measure: Ratio {
                num: median("plain", Forkexec, 0),
                den: median("plain", PosixSpawn, 0),
                limit: AtMost(0.8),
            },
        },
        Target {
            issue: 2,
            goal: "plain spawn faster than std",
            measure: Ratio {
                num: median("plain", Forkexec, 0),
                den: median("plain", Std, 0),
                limit: AtMost(0.8),
            },
        },
        Target {
            issue: 2,
            goal: "near the bare floor (vfork + execve, nothing else)",
            measure: Ratio {
                num: median("plain", Forkexec, 0),
                den: median("plain", VforkExec, 0),
                limit: AtMost(1.1),
            },
        },
        Target {
            issue: 16,
            goal: "on the fair floor (the same system calls, in C)",
            measure: Ratio {
                num: median("plain", Forkexec, 0),
                den: median("plain", VforkPidfd, 0),
                limit: AtMost(1.05),
            },
        },
        Target {
            issue: 2,
            goal: "flat in the parent's size",
            measure: Ratio {
                num: median("plain", Forkexec, GIB8),
                den: median("plain", Forkexec, 0),
                limit: AtMost(1.5),
            },
        },
        Target {
            issue: 10,
            goal: "the probes cost nothing: current kernel still fast",
            measure: Ratio {
                num: median("plain", Forkexec, 0),
                den: median("plain", PosixSpawn, 0),
                limit: AtMost(0.75),
            },
        },
    ],
};

pub fn build(dir: &Path) -> Result<Scenario, String> {
    Ok(Scenario {
        program: dir.join("exit0"),
        forkexec: Box::new(|_| {}),
        std_steps: StdSteps::Nothing,
        _fd: None,
    })
}
