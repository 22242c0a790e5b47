//! `attrs`: a new session, uid/gid 65534 with no supplementary groups, a chroot, two rlimits, a
//! umask and one mapped fd (needs root). Only forkexec and std's fork path (the same steps in
//! pre_exec) can do it.

use super::super::methods::Method::*;
use super::super::targets::{median, Limit::*, Measure::Ratio, Target, GIB8};
use super::{can_set_attributes, Kind, Scenario, Spec, StdSteps};
use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

pub const SPEC: Spec = Spec {
    id: "attrs",
    issue: 3,
    about: "setsid, uid/gid 65534, groups [], chroot, 2 rlimits, umask, an fd map (root)",
    kind: Kind::Latency {
        build,
        applies: can_set_attributes,
    },
    targets: &[
        Target {
            issue: 3,
            goal: "attributes at 8 GiB cost little more than a plain spawn at 0",
            measure: Ratio {
                num: median("attrs", Forkexec, GIB8),
                den: median("plain", Forkexec, 0),
                limit: AtMost(1.3),
            },
        },
        Target {
            issue: 16,
            goal: "attributes flat in the parent's size",
            measure: Ratio {
                num: median("attrs", Forkexec, GIB8),
                den: median("attrs", Forkexec, 0),
                limit: AtMost(1.3),
            },
        },
        Target {
            issue: 3,
            goal: ">= 100x faster than std with the same attributes (its fork path) at 8 GiB",
            measure: Ratio {
                num: median("attrs", Forkexec, GIB8),
                den: median("attrs", StdPreExec, GIB8),
                limit: AtMost(0.01),
            },
        },
    ],
};

pub fn build(dir: &Path) -> Result<Scenario, String> {
    if !rustix::process::geteuid().is_root() {
        return Err("scenario attrs needs root (uid/gid changes and chroot)".into());
    }
    let target = dir.join("exit0");
    let fd: OwnedFd = std::fs::File::open(&target)
        .map_err(|e| format!("open {}: {e}", target.display()))?
        .into();
    let raw = fd.as_raw_fd();
    let for_forkexec = fd.try_clone().map_err(|e| e.to_string())?;
    let root = dir.to_path_buf();
    let root_c = CString::new(dir.as_os_str().as_encoded_bytes()).map_err(|e| e.to_string())?;
    Ok(Scenario {
        program: PathBuf::from("/exit0"),
        forkexec: Box::new(move |c| {
            let copy = for_forkexec.try_clone().expect("dup an fd");
            c.setsid(true)
                .groups(&[])
                .gid(65534)
                .uid(65534)
                .chroot(&root)
                .rlimit("nofile", 256, 256)
                .rlimit("core", 0, 0)
                .umask(0o077)
                .fd(3, copy)
                // The same Command spawns again and again with that fd (std's rule for its
                // Stdio): without this, the first spawn would give it away.
                .retain_fds(true);
        }),
        std_steps: StdSteps::Attrs {
            root: root_c,
            id: 65534,
            fd: raw,
        },
        _fd: Some(fd),
    })
}
