//! `threads`: each of N threads spawns `plain` and waits, in a loop, for a fixed time; the
//! figure is spawns per second. What a thread pool or a build system sees (golang/go#23558,
//! python/cpython#112334). The threads are not pinned, whatever `--no-pin` says: contention
//! between CPUs is what is measured.

use super::super::methods::Method::{self, *};
use super::super::targets::{rate, Limit::*, Measure::Ratio, Target};
use super::{Kind, Spec};

pub const SPEC: Spec = Spec {
    id: "threads",
    issue: 16,
    about: "N threads each spawning plain in a loop (--threads): spawns/s",
    kind: Kind::Throughput,
    targets: &[
        Target {
            issue: 16,
            goal: "8 threads: throughput >= 1.8x glibc's posix_spawn",
            measure: Ratio {
                num: rate(Forkexec, 8, 0),
                den: rate(PosixSpawn, 8, 0),
                limit: AtLeast(1.8),
            },
        },
        Target {
            issue: 16,
            goal: "8 threads: throughput >= 1.8x std",
            measure: Ratio {
                num: rate(Forkexec, 8, 0),
                den: rate(Std, 8, 0),
                limit: AtLeast(1.8),
            },
        },
    ],
};

/// Every sync method that spawns plain runs here: the fork methods show how a page-table copy
/// serialises threads.
pub fn applies(m: Method) -> bool {
    m.spawns_bare_programs()
}
