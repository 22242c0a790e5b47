//! Seccomp profiles that make this kernel answer like an older one, or like a sandbox, so that
//! forkexec's fallbacks can be tested and measured here: the one place that defines them, used
//! by the `forkexec-emulate` launcher (which runs the test binaries under a profile) and by
//! `forkexec bench --emulate-kernel`.
//!
//! A profile is a few seccomp filters (built with seccompiler, installed with
//! `prctl(PR_SET_SECCOMP)`): each gives one errno to a set of syscalls, some only for certain
//! arguments. It is inherited by every thread created afterwards and across execve, so
//! installed in a fresh process before anything else runs, it covers the whole run, the
//! programs it spawns included.
//!
//! | profile | ENOSYS | EINVAL | EPERM |
//! | --- | --- | --- | --- |
//! | `3.10` (RHEL 7) | every syscall added after 3.10 (x86-64 numbers 314-334 and 424 up: execveat, getrandom, memfd_create, statx, rseq, pidfd_*, clone3, close_range...) | clone with CLONE_PIDFD or CLONE_NEWCGROUP; waitid(P_PIDFD); prctl(PR_CAP_AMBIENT); unshare of a cgroup or time namespace | - |
//! | `4.18` (RHEL 8) | syscalls after 4.18 (424 up) | clone with CLONE_PIDFD; waitid(P_PIDFD); unshare of a time namespace | - |
//! | `5.4` (Ubuntu 20.04) | syscalls after 5.4 (436 up: close_range, openat2, pidfd_getfd...) | clone3 from forkexec (5.4 does not know CLONE_CLEAR_SIGHAND); unshare of a time namespace | - |
//! | `docker` (Docker before 20.10.10) | - | - | clone3 from forkexec |
//!
//! What seccomp cannot do, and what is done instead:
//! - A real kernel before 5.2 *ignores* CLONE_PIDFD (unknown clone flags are ignored): the
//!   profiles refuse it with EINVAL, as a sandbox would; the ignoring kernel is covered by
//!   forkexec pre-filling the pidfd slot with -1 and checking it.
//! - clone3's flags live in memory, which a filter cannot read. Its size argument can be read:
//!   glibc 2.34 and later call clone3 with their 88-byte struct for every thread and
//!   posix_spawn, forkexec with 64 bytes (88 only with a cgroup, which it asks only where its
//!   64-byte probe succeeded). The 5.4 and docker profiles refuse only clone3 calls that are
//!   not 88 bytes long: a real 5.4 accepts glibc's clone3 (it sets no flag 5.4 lacks), and
//!   under a real old Docker profile glibc 2.34+ could not even start a thread (moby#42680),
//!   so every program there had an older glibc that did not call clone3 at all.
//! - Files that old kernels lack (/proc/PID/setgroups before 3.19) stay.
//!
//! Profiles are x86-64 only (syscall numbers differ per architecture).

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen as Len, SeccompCmpOp as Op, SeccompCondition,
    SeccompFilter, SeccompRule, TargetArch,
};
use std::collections::BTreeMap;
use std::fmt;

/// The environment variable the launcher sets to the profile's name, for tests that check
/// what the emulated kernel refuses.
pub const ENV: &str = "FORKEXEC_EMULATED_KERNEL";

/// An emulated kernel or sandbox.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    /// Linux 3.10 (RHEL/CentOS 7).
    Linux3_10,
    /// Linux 4.18 (RHEL 8).
    Linux4_18,
    /// Linux 5.4 (Ubuntu 20.04).
    Linux5_4,
    /// Docker's default seccomp profile before 20.10.10: clone3 answers EPERM.
    Docker,
}

/// What a profile takes away, for tests to know what must be refused or fall back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lacks {
    /// clone3 as forkexec uses it, with the errno it gets.
    pub clone3: Option<i32>,
    /// CLONE_PIDFD on clone(2) (5.2).
    pub clone_pidfd: bool,
    /// pidfd_open (5.3).
    pub pidfd_open: bool,
    /// waitid(P_PIDFD) (5.4).
    pub waitid_pidfd: bool,
    /// close_range (5.9).
    pub close_range: bool,
    /// Ambient capabilities (4.3).
    pub ambient_caps: bool,
    /// Cgroup namespaces (4.6).
    pub cgroup_namespace: bool,
    /// Time namespaces (5.6).
    pub time_namespace: bool,
}

impl Profile {
    /// Every profile, oldest first.
    pub const ALL: [Profile; 4] = [
        Profile::Linux3_10,
        Profile::Linux4_18,
        Profile::Linux5_4,
        Profile::Docker,
    ];

    /// The name on the command line: `3.10`, `4.18`, `5.4`, `docker`.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Linux3_10 => "3.10",
            Profile::Linux4_18 => "4.18",
            Profile::Linux5_4 => "5.4",
            Profile::Docker => "docker",
        }
    }

    /// The profile the launcher put this process under, if any.
    pub fn from_env() -> Option<Profile> {
        std::env::var(ENV).ok()?.parse().ok()
    }

    /// What the profile takes away.
    pub fn lacks(self) -> Lacks {
        let old = |v: (u32, u32)| self.version().is_some_and(|k| k < v);
        Lacks {
            clone3: match self {
                Profile::Linux3_10 | Profile::Linux4_18 => Some(libc::ENOSYS),
                Profile::Linux5_4 => Some(libc::EINVAL),
                Profile::Docker => Some(libc::EPERM),
            },
            clone_pidfd: old((5, 2)),
            pidfd_open: old((5, 3)),
            waitid_pidfd: old((5, 4)),
            close_range: old((5, 9)),
            ambient_caps: old((4, 3)),
            cgroup_namespace: old((4, 6)),
            time_namespace: old((5, 6)),
        }
    }

    fn version(self) -> Option<(u32, u32)> {
        match self {
            Profile::Linux3_10 => Some((3, 10)),
            Profile::Linux4_18 => Some((4, 18)),
            Profile::Linux5_4 => Some((5, 4)),
            Profile::Docker => None,
        }
    }

    /// The filters: for each errno, the syscalls (and argument conditions) that get it.
    fn answers(self) -> Vec<(i32, Rules)> {
        let mut answers = Vec::new();
        // Syscalls the emulated kernel does not have at all.
        let first_missing = match self {
            Profile::Linux3_10 => Some(314), // sched_setattr, 3.14
            Profile::Linux4_18 => Some(424), // pidfd_send_signal, 5.1
            Profile::Linux5_4 => Some(436),  // close_range, 5.9
            Profile::Docker => None,
        };
        if let Some(first) = first_missing {
            // x86-64 numbers 335-423 are unused; 470 leaves room for syscalls newer than 6.18.
            let missing = (first..=470).filter(|&n| !(335..424).contains(&n));
            let rules = missing.map(|n| (n, Vec::new())).collect();
            answers.push((libc::ENOSYS, rules));
        }
        let lacks = self.lacks();
        let mut einval = Rules::new();
        if lacks.clone_pidfd {
            add(&mut einval, libc::SYS_clone, flag_set(0, libc::CLONE_PIDFD));
        }
        if lacks.waitid_pidfd {
            let p_pidfd = 3;
            add(&mut einval, libc::SYS_waitid, dword_equal(0, p_pidfd));
        }
        if lacks.ambient_caps {
            let pr = libc::PR_CAP_AMBIENT as u64;
            add(&mut einval, libc::SYS_prctl, dword_equal(0, pr));
        }
        if lacks.cgroup_namespace {
            add(
                &mut einval,
                libc::SYS_clone,
                flag_set(0, libc::CLONE_NEWCGROUP),
            );
            add(
                &mut einval,
                libc::SYS_unshare,
                flag_set(0, libc::CLONE_NEWCGROUP),
            );
        }
        if lacks.time_namespace {
            add(
                &mut einval,
                libc::SYS_unshare,
                flag_set(0, libc::CLONE_NEWTIME),
            );
        }
        // clone3 of forkexec (not glibc's 88-byte calls: see the crate docs).
        let not_glibc = || condition(1, Len::Qword, Op::Ne, 88);
        match self {
            Profile::Linux5_4 => add(&mut einval, libc::SYS_clone3, not_glibc()),
            Profile::Docker => {
                let mut eperm = Rules::new();
                add(&mut eperm, libc::SYS_clone3, not_glibc());
                answers.push((libc::EPERM, eperm));
            }
            _ => {}
        }
        if !einval.is_empty() {
            answers.push((libc::EINVAL, einval));
        }
        answers
    }

    /// The compiled filters (one per errno).
    pub fn programs(self) -> Result<Vec<BpfProgram>, seccompiler::Error> {
        self.answers()
            .into_iter()
            .map(|(errno, rules)| {
                let filter: SeccompFilter = SeccompFilter::new(
                    rules,
                    SeccompAction::Allow,
                    SeccompAction::Errno(errno as u32),
                    TargetArch::x86_64,
                )?;
                Ok(BpfProgram::try_from(filter)?)
            })
            .collect()
    }
}

type Rules = BTreeMap<i64, Vec<SeccompRule>>;

fn condition(arg: u8, len: Len, op: Op, value: u64) -> SeccompCondition {
    SeccompCondition::new(arg, len, op, value).expect("a valid argument index")
}

/// Argument `arg` (a flags word) has `flag` set.
fn flag_set(arg: u8, flag: i32) -> SeccompCondition {
    let flag = flag as u64;
    condition(arg, Len::Qword, Op::MaskedEq(flag), flag)
}

/// Argument `arg` (an int) equals `value`.
fn dword_equal(arg: u8, value: u64) -> SeccompCondition {
    condition(arg, Len::Dword, Op::Eq, value)
}

/// One more or-bound rule for `syscall`.
fn add(rules: &mut Rules, syscall: i64, c: SeccompCondition) {
    let rule = SeccompRule::new(vec![c]).expect("one condition");
    rules.entry(syscall).or_default().push(rule);
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Profile {
    type Err = String;

    fn from_str(s: &str) -> Result<Profile, String> {
        Profile::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| format!("unknown kernel profile {s:?} (use 3.10, 4.18, 5.4 or docker)"))
    }
}

/// Why a profile could not be installed.
#[derive(Debug)]
pub enum InstallError {
    /// Not an x86-64 build.
    Architecture,
    Compile(seccompiler::Error),
    Install(std::io::Error),
}

impl fmt::Display for InstallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InstallError::Architecture => f.write_str("kernel profiles are x86-64 only"),
            InstallError::Compile(e) => write!(f, "building the seccomp filter: {e}"),
            InstallError::Install(e) => write!(f, "installing the seccomp filter: {e}"),
        }
    }
}

impl std::error::Error for InstallError {}

/// Installs `profile` on the calling thread and every thread and process it creates from now
/// on (install it before starting threads). With CAP_SYS_ADMIN (root) the filters go in
/// without no_new_privs, so setuid programs still gain their privileges (tests rely on that);
/// otherwise no_new_privs is set first, as the kernel requires.
pub fn install(profile: Profile) -> Result<(), InstallError> {
    if !cfg!(target_arch = "x86_64") {
        return Err(InstallError::Architecture);
    }
    let programs = profile.programs().map_err(InstallError::Compile)?;
    for program in &programs {
        install_program(program).map_err(InstallError::Install)?;
    }
    Ok(())
}

fn install_program(program: &BpfProgram) -> std::io::Result<()> {
    let fprog = libc::sock_fprog {
        len: program.len() as u16,
        filter: program.as_ptr() as *mut libc::sock_filter,
    };
    let set = |fprog: &libc::sock_fprog| {
        // SAFETY: the kernel copies the program out of `fprog`, which points into `program`,
        // alive for the call; prctl(PR_SET_SECCOMP) reads nothing else.
        let r = unsafe {
            libc::prctl(
                libc::PR_SET_SECCOMP,
                libc::SECCOMP_MODE_FILTER,
                fprog as *const libc::sock_fprog,
            )
        };
        if r == 0 {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error())
        }
    };
    match set(&fprog) {
        // EACCES: no CAP_SYS_ADMIN; no_new_privs makes a filter acceptable without it.
        Err(e) if e.raw_os_error() == Some(libc::EACCES) => {
            seccompiler::apply_filter(program).map_err(|e| std::io::Error::other(e.to_string()))
        }
        r => r,
    }
}
