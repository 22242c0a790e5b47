//! The benchmark's scenarios: what the spawned child is asked to be.
//!
//! - `plain`: nothing but the program.
//! - `attrs`: new session, uid/gid 65534 with no supplementary groups, a chroot, two rlimits,
//!   a umask and one mapped fd (needs root).
//! - `userns`: new user, pid and mount namespaces with uid/gid maps written by the parent.
//!
//! forkexec is measured with its own builder. std has no API for most of these, so its
//! counterpart ("std_pre_exec") does the same steps in a `pre_exec` closure, which is also what
//! sends std down its fork() path, where the cost grows with the parent's memory.

use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

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
}

/// A scenario, ready to configure spawners.
pub struct Scenario {
    pub id: String,
    /// The path to exec (inside the chroot for `attrs`).
    pub program: PathBuf,
    pub forkexec: Box<dyn Fn(&mut forkexec::Command)>,
    pub std_steps: StdSteps,
    /// Kept open for the fd map; closed with the scenario.
    _fd: Option<OwnedFd>,
}

/// Which methods make sense: the reference methods (posix_spawn, fork, vfork) have no
/// attributes, so only forkexec and std's fork path run the attribute scenarios.
pub fn applies(scenario: &str, method: super::Method) -> bool {
    scenario == "plain" || matches!(method, super::Method::Forkexec | super::Method::StdPreExec)
}

/// Builds scenario `id`; `dir` holds the target program `exit0`.
pub fn build(id: &str, dir: &Path) -> Result<Scenario, String> {
    let target = dir.join("exit0");
    match id {
        "plain" => Ok(Scenario {
            id: id.into(),
            program: target,
            forkexec: Box::new(|_| {}),
            std_steps: StdSteps::Nothing,
            _fd: None,
        }),
        "attrs" => {
            if !rustix::process::geteuid().is_root() {
                return Err("scenario attrs needs root (uid/gid changes and chroot)".into());
            }
            let fd: OwnedFd = std::fs::File::open(&target)
                .map_err(|e| e.to_string())?
                .into();
            let raw = fd.as_raw_fd();
            let for_forkexec = fd.try_clone().map_err(|e| e.to_string())?;
            let root = dir.to_path_buf();
            let root_c =
                CString::new(dir.as_os_str().as_encoded_bytes()).map_err(|e| e.to_string())?;
            Ok(Scenario {
                id: id.into(),
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
                        .fd(3, copy);
                }),
                std_steps: StdSteps::Attrs {
                    root: root_c,
                    id: 65534,
                    fd: raw,
                },
                _fd: Some(fd),
            })
        }
        "userns" => {
            let uid = rustix::process::getuid().as_raw();
            let gid = rustix::process::getgid().as_raw();
            Ok(Scenario {
                id: id.into(),
                program: target,
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
        other => Err(format!(
            "unknown scenario {other:?} (known: plain, attrs, userns)"
        )),
    }
}
