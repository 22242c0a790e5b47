//! `sandbox`: the program in new user, pid, mount, IPC and UTS namespaces (root inside, mapped
//! to the caller), a fresh /proc, no_new_privs, a seccomp deny list and a read-only Landlock
//! ruleset; against bubblewrap doing the same from its command line (bwrap.rs), and std's fork
//! path doing it in pre_exec (std_sandbox.rs).
//!
//! All three get the same seccomp program, byte for byte (compiled here once), and the same
//! user-namespace maps; in each the program is pid 1 of its namespace, sees one process in its
//! /proc, runs with no_new_privs and seccomp mode 2, and can write nowhere. What differs:
//! - The root. bwrap builds a new one (a tmpfs and pivot_root) holding only what it is told to
//!   bind, here the program's directory (read-only) and the new /proc, and remounts it
//!   read-only; forkexec and std keep / and mount the new /proc over the old one in their
//!   private mount namespace. bwrap also covers /proc/irq and /proc/bus with read-only binds,
//!   drops CAP_SYS_RESOURCE from the program's bounding set and every capability of its own
//!   waiting process, and sets no_new_privs whether asked or not (it has no flag).
//! - Landlock: bwrap has none. forkexec and std restrict the program to reading and executing
//!   files (a write fails with EACCES); bwrap's read-only root is the nearest (EROFS).
//! - The pid namespace: bwrap runs the program as its pid 1 with `--as-pid-1` (no reaper), as
//!   forkexec's clone does; std can only get there with a second fork in pre_exec, as
//!   `unshare --fork` does.

use super::super::methods::Method::{self, *};
use super::super::targets::{median, Limit::*, Measure::Ratio, Target, GIB8};
use super::{Kind, Scenario, Spec, StdSteps};
use forkexec::attr::{Landlock, SeccompFilter};
use std::ffi::CString;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub const SPEC: Spec = Spec {
    id: "sandbox",
    issue: 15,
    about: "user+pid+mount+ipc+uts namespaces, /proc, no_new_privs, seccomp, Landlock vs bwrap",
    kind: Kind::Latency { build, applies },
    targets: &[
        Target {
            issue: 15,
            goal: "<= 0.2x bubblewrap doing the same",
            measure: Ratio {
                num: median("sandbox", Forkexec, 0),
                den: median("sandbox", Bwrap, 0),
                limit: AtMost(0.2),
            },
        },
        Target {
            issue: 15,
            goal: "sandbox flat in the parent's size",
            measure: Ratio {
                num: median("sandbox", Forkexec, GIB8),
                den: median("sandbox", Forkexec, 0),
                limit: AtMost(1.5),
            },
        },
    ],
};

/// forkexec with its own attributes, std's fork path in pre_exec, and bubblewrap.
fn applies(m: Method) -> bool {
    matches!(m, Forkexec | StdPreExec | Bwrap)
}

/// System calls a container runtime's default profile refuses (Docker's list, shortened):
/// mounts, modules, kexec, reboot, swap, clocks, tracing, BPF, keyrings, namespaces. None of
/// them is on the way from the filter to the program's exit.
const DENIED: &[libc::c_long] = &[
    libc::SYS_mount,
    libc::SYS_umount2,
    libc::SYS_pivot_root,
    libc::SYS_swapon,
    libc::SYS_swapoff,
    libc::SYS_reboot,
    libc::SYS_kexec_load,
    libc::SYS_kexec_file_load,
    libc::SYS_init_module,
    libc::SYS_finit_module,
    libc::SYS_delete_module,
    libc::SYS_acct,
    libc::SYS_settimeofday,
    libc::SYS_clock_settime,
    libc::SYS_clock_adjtime,
    libc::SYS_adjtimex,
    libc::SYS_ptrace,
    libc::SYS_process_vm_readv,
    libc::SYS_process_vm_writev,
    libc::SYS_perf_event_open,
    libc::SYS_bpf,
    libc::SYS_userfaultfd,
    libc::SYS_keyctl,
    libc::SYS_add_key,
    libc::SYS_request_key,
    libc::SYS_open_by_handle_at,
    libc::SYS_setns,
    libc::SYS_unshare,
];

/// What the three methods share, prepared once: std's pre_exec closure and bwrap's command
/// line are made from it.
pub struct SandboxSteps {
    /// The directory of the program: bwrap binds it read-only into its new root.
    pub dir: PathBuf,
    /// The caller's ids, mapped to root in the new user namespace.
    pub uid: u32,
    pub gid: u32,
    /// The seccomp program (classic BPF), the same for every method.
    pub filter: Vec<libc::sock_filter>,
    /// std's Landlock ruleset, made here with the landlock crate (forkexec builds the same rule
    /// through its own API); std's child hands it to landlock_restrict_self.
    pub landlock: OwnedFd,
}

impl SandboxSteps {
    /// The filter as bwrap's `--seccomp FD` reads it: `struct sock_filter` records of 8 bytes.
    pub fn filter_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(8 * self.filter.len());
        for i in &self.filter {
            bytes.extend_from_slice(&i.code.to_ne_bytes());
            bytes.extend_from_slice(&[i.jt, i.jf]);
            bytes.extend_from_slice(&i.k.to_ne_bytes());
        }
        bytes
    }

    /// A uid_map or gid_map line for `id`, as the kernel reads it: root inside is `id` outside.
    pub fn map_line(id: u32) -> CString {
        CString::new(format!("0 {id} 1")).expect("digits and spaces")
    }
}

pub fn build(dir: &Path) -> Result<Scenario, String> {
    let filter = compile_filter()?;
    let steps = SandboxSteps {
        dir: dir.to_path_buf(),
        uid: rustix::process::getuid().as_raw(),
        gid: rustix::process::getgid().as_raw(),
        filter,
        landlock: read_only_ruleset()?,
    };
    let for_forkexec = SeccompFilter::from_bpf(&steps.filter_bytes()).map_err(|e| e.to_string())?;
    let (uid, gid) = (steps.uid, steps.gid);
    Ok(Scenario {
        program: dir.join("exit0"),
        forkexec: Box::new(move |c| {
            c.clone_namespaces("user,pid,mount,ipc,uts")
                .uid_map(format!("0:{uid}:1").as_str())
                .gid_map(format!("0:{gid}:1").as_str())
                .mount_proc(true)
                .no_new_privs(true)
                .landlock(Landlock::new().read("/"))
                .seccomp(for_forkexec.clone());
        }),
        std_steps: StdSteps::Sandbox(Arc::new(steps)),
        _fd: None,
    })
}

/// The deny list as a seccomp program: EPERM for those calls, every other one allowed.
fn compile_filter() -> Result<Vec<libc::sock_filter>, String> {
    let arch = seccompiler::TargetArch::try_from(std::env::consts::ARCH)
        .map_err(|e| format!("seccompiler: {e}"))?;
    let rules = DENIED.iter().map(|&n| (n, Vec::new())).collect();
    let filter = seccompiler::SeccompFilter::new(
        rules,
        seccompiler::SeccompAction::Allow,
        seccompiler::SeccompAction::Errno(libc::EPERM as u32),
        arch,
    )
    .map_err(|e| format!("seccompiler: {e}"))?;
    let program: seccompiler::BpfProgram = filter
        .try_into()
        .map_err(|e: seccompiler::BackendError| format!("seccompiler: {e}"))?;
    Ok(program
        .iter()
        .map(|i| libc::sock_filter {
            code: i.code,
            jt: i.jt,
            jf: i.jf,
            k: i.k,
        })
        .collect())
}

/// Every file may be read and executed, nothing written: what forkexec's
/// `Landlock::new().read("/")` builds, for std's child.
fn read_only_ruleset() -> Result<OwnedFd, String> {
    use landlock::{
        Access, AccessFs, CompatLevel, Compatible, PathBeneath, PathFd, Ruleset, RulesetAttr,
        RulesetCreatedAttr, ABI,
    };
    let err = |e: landlock::RulesetError| format!("landlock: {e}");
    let root = PathFd::new("/").map_err(|e| format!("landlock: /: {e}"))?;
    let created = Ruleset::default()
        .set_compatibility(CompatLevel::BestEffort)
        .handle_access(AccessFs::from_all(ABI::V6))
        .map_err(err)?
        .create()
        .map_err(err)?
        .add_rule(PathBeneath::new(root, AccessFs::from_read(ABI::V6)))
        .map_err(err)?;
    Option::<OwnedFd>::from(created).ok_or_else(|| {
        "scenario sandbox needs Landlock (Linux 5.13, and landlock in the boot's lsm= list)".into()
    })
}
