//! `--emulate-kernel`: the whole run under a seccomp profile of forkexec-emulate that answers
//! like an older kernel or sandbox, so forkexec's fallbacks (clone(2) without
//! CLONE_CLEAR_SIGHAND, no pidfd, fds marked one by one) are measured here. Its targets (issue
//! 10) are judged on the `plain` rows of a run under the oldest profile; every other target is
//! judged only on the real kernel.

use super::super::methods::Method;
use super::super::targets::{median, Limit, Measure::Emulated, Target, GIB8};
use super::{Kind, Spec};

/// The oldest kernel the profiles emulate, where the issue states its goals.
const OLDEST: &str = "3.10";

pub const SPEC: Spec = Spec {
    id: "emulate-kernel",
    issue: 10,
    about: "plain under --emulate-kernel 3.10|4.18|5.4|docker (the fallback paths)",
    kind: Kind::Mode {
        flag: "--emulate-kernel",
    },
    targets: &[
        Target {
            issue: 10,
            goal: "oldest profile: plain flat in the parent's size (8 GiB / 0 <= 1.2)",
            measure: Emulated {
                profile: OLDEST,
                num: median("plain", Method::Forkexec, GIB8),
                den: median("plain", Method::Forkexec, 0),
                limit: Limit::AtMost(1.2),
            },
        },
        Target {
            issue: 10,
            goal: "oldest profile: plain <= 0.85x posix_spawn",
            measure: Emulated {
                profile: OLDEST,
                num: median("plain", Method::Forkexec, 0),
                den: median("plain", Method::PosixSpawn, 0),
                limit: Limit::AtMost(0.85),
            },
        },
    ],
};
