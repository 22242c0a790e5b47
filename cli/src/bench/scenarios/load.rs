//! `load` and `load_mem`: the program started by forkexec's userland loader instead of
//! execve (the child execs the loader stub, which loads the program; see `load::handoff`),
//! from the file and from its bytes. Compared with `plain`'s forkexec, the kernel loading the
//! same program: the scenario needs `plain` in the same run for its targets.

use super::super::methods::Method::{self, *};
use super::super::targets::{median, Limit::*, Measure::Ratio, Target, GIB8};
use super::{Kind, Scenario, Spec, StdSteps};
use std::path::Path;
use std::sync::Arc;

pub const SPEC: Spec = Spec {
    id: "load",
    issue: 17,
    about: "forkexec through the userland loader (Loader::Userland), from the file",
    kind: Kind::Latency {
        build,
        applies: |m: Method| m == Forkexec,
    },
    targets: &[
        Target {
            issue: 17,
            goal: "userland loader <= 1.5x the kernel path (needs plain)",
            measure: Ratio {
                num: median("load", Forkexec, 0),
                den: median("plain", Forkexec, 0),
                limit: AtMost(1.5),
            },
        },
        Target {
            issue: 17,
            goal: "userland loader flat in the parent's size",
            measure: Ratio {
                num: median("load", Forkexec, GIB8),
                den: median("load", Forkexec, 0),
                limit: AtMost(1.5),
            },
        },
    ],
};

pub const MEMORY: Spec = Spec {
    id: "load_mem",
    issue: 17,
    about: "forkexec through the userland loader, from the program's bytes (program_bytes)",
    kind: Kind::Latency {
        build: build_memory,
        applies: |m: Method| m == Forkexec,
    },
    targets: &[Target {
        issue: 17,
        goal: "a program from memory <= 1.5x the kernel path (needs plain)",
        measure: Ratio {
            num: median("load_mem", Forkexec, 0),
            den: median("plain", Forkexec, 0),
            limit: AtMost(1.5),
        },
    }],
};

fn build(dir: &Path) -> Result<Scenario, String> {
    Ok(Scenario {
        program: dir.join("exit0"),
        forkexec: Box::new(|c| {
            c.loader(forkexec::Loader::Userland);
        }),
        std_steps: StdSteps::Nothing,
        _fd: None,
    })
}

fn build_memory(dir: &Path) -> Result<Scenario, String> {
    let program = dir.join("exit0");
    let bytes: Arc<[u8]> = std::fs::read(&program)
        .map_err(|e| format!("cannot read {}: {e}", program.display()))?
        .into();
    Ok(Scenario {
        program,
        forkexec: Box::new(move |c| {
            c.program_bytes(Arc::clone(&bytes));
        }),
        std_steps: StdSteps::Nothing,
        _fd: None,
    })
}
