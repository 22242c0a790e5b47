//! `async` and `async-attrs`: batches of 100 concurrent spawn+wait on a current-thread tokio
//! runtime, forkexec::tokio against tokio::process (issue 13). Each sample is a whole batch
//! (bench/async_batch.rs): the figures are per 100 spawns, and a ratio of two batch times is
//! the inverse ratio of their throughputs.
//!
//! `async-attrs` gives the child a new session and uid/gid 65534 (root only): forkexec::tokio
//! keeps its vfork-class spawn; tokio::process goes where std goes with a uid (and a setsid in
//! `pre_exec`), to a full fork, whose cost grows with the parent.

use super::super::methods::Method::{self, *};
use super::super::targets::{median, Limit::*, Measure::Ratio, Target, GIB8};
use super::{Kind, Scenario, Spec, StdSteps};
use std::path::Path;

/// The nobody ids the attributes switch to.
const NOBODY: u32 = 65534;

pub const ASYNC: Spec = Spec {
    id: "async",
    issue: 13,
    about: "100 concurrent spawn+wait on a current-thread tokio runtime (time per batch)",
    kind: Kind::Latency {
        build,
        applies: Method::is_async,
    },
    targets: &[
        Target {
            issue: 13,
            goal: "forkexec::tokio >= 1.3x tokio::process throughput, plain",
            measure: Ratio {
                num: median("async", TokioProcess, 0),
                den: median("async", ForkexecTokio, 0),
                limit: AtLeast(1.3),
            },
        },
        Target {
            issue: 13,
            goal: "forkexec::tokio >= 1.3x tokio::process throughput, plain at 8 GiB",
            measure: Ratio {
                num: median("async", TokioProcess, GIB8),
                den: median("async", ForkexecTokio, GIB8),
                limit: AtLeast(1.3),
            },
        },
    ],
};

pub const ASYNC_ATTRS: Spec = Spec {
    id: "async-attrs",
    issue: 13,
    about: "async with setsid and uid/gid 65534 (root): tokio::process forks",
    kind: Kind::Latency {
        build: build_attrs,
        applies: Method::is_async,
    },
    targets: &[Target {
        issue: 13,
        goal: "forkexec::tokio >= 100x tokio::process with setsid+uid/gid at 8 GiB",
        measure: Ratio {
            num: median("async-attrs", TokioProcess, GIB8),
            den: median("async-attrs", ForkexecTokio, GIB8),
            limit: AtLeast(100.0),
        },
    }],
};

fn build(dir: &Path) -> Result<Scenario, String> {
    Ok(Scenario {
        program: dir.join("exit0"),
        forkexec: Box::new(|_| {}),
        std_steps: StdSteps::Nothing,
        _fd: None,
    })
}

fn build_attrs(dir: &Path) -> Result<Scenario, String> {
    if !rustix::process::geteuid().is_root() {
        return Err("scenario async-attrs needs root (uid/gid changes)".into());
    }
    Ok(Scenario {
        program: dir.join("exit0"),
        forkexec: Box::new(|c| {
            // std drops root's supplementary groups itself when it sets a uid as root.
            c.setsid(true).groups(&[]).gid(NOBODY).uid(NOBODY);
        }),
        std_steps: StdSteps::SessionAndIds { id: NOBODY },
        _fd: None,
    })
}
