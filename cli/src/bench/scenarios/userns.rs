//! `userns`: new user, pid and mount namespaces with uid/gid maps written by the parent while
//! the child waits (forkexec's release path: CLONE_VM without CLONE_VFORK). std's counterpart
//! unshares in pre_exec and writes its own maps.

use super::super::methods::Method::*;
use super::super::targets::{median, Limit::*, Measure::Ratio, Target, GIB8};
use super::{can_set_attributes, Kind, Scenario, Spec, StdSteps};
use std::ffi::CString;
use std::path::Path;

pub const SPEC: Spec = Spec {
    id: "userns",
    issue: 3,
    about: "new user, pid and mount namespaces with uid/gid maps",
    kind: Kind::Latency {
        build,
        applies: can_set_attributes,
    },
    targets: &[
        Target {
            issue: 3,
            goal: "namespaces flat in the parent's size",
            measure: Ratio {
                num: median("userns", Forkexec, GIB8),
                den: median("userns", Forkexec, 0),
                limit: AtMost(1.5),
            },
        },
        Target {
            issue: 3,
            goal: ">= 100x faster than std with the same namespaces (its fork path) at 8 GiB",
            measure: Ratio {
                num: median("userns", Forkexec, GIB8),
                den: median("userns", StdPreExec, GIB8),
                limit: AtMost(0.01),
            },
        },
    ],
};

pub fn build(dir: &Path) -> Result<Scenario, String> {
    let uid = rustix::process::getuid().as_raw();
    let gid = rustix::process::getgid().as_raw();
    Ok(Scenario {
        program: dir.join("exit0"),
        forkexec: Box::new(move |c| {
            c.clone_namespaces("user,pid,mount")
                .uid_map(format!("0:{uid}:1").as_str())
                .gid_map(format!("0:{gid}:1").as_str());
        }),
        std_steps: StdSteps::Userns {
            uid_map: CString::new(format!("0 {uid} 1")).expect("no NUL"),
            gid_map: CString::new(format!("0 {gid} 1")).expect("no NUL"),
        },
        _fd: None,
    })
}
