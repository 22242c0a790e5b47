//! What this kernel, or the sandbox around us, lets a spawn use: learned once per process at
//! the first spawn, by trying, and kept in atomics. A spawn reads the cache (a few relaxed
//! loads); it never probes.
//!
//! A version number says little (seccomp filters, gVisor and qemu-user answer differently from
//! the kernel they run on), so each feature is tried. ENOSYS (not in this kernel), EPERM (a
//! seccomp filter: Docker's default profile before 20.10.10 answered clone3 so) and EINVAL (an
//! unknown flag or idtype) mean "absent"; any other errno (EAGAIN under RLIMIT_NPROC, ENOMEM)
//! says nothing about the kernel, so nothing is cached and the spawn fails with it.
//!
//! | feature | Linux | how it is tried |
//! | --- | --- | --- |
//! | clone3 with CLONE_CLEAR_SIGHAND | 5.3 / 5.5 | a real clone3 (CLONE_VM, CLONE_VFORK, CLONE_PIDFD) of a child that exits at once |
//! | CLONE_PIDFD on clone(2) | 5.2 | the same clone with clone(2), when clone3 is absent; the pidfd slot is pre-filled with -1, because older kernels ignore unknown clone flags and never write it |
//! | a vfork-class clone | - | the probe child writes a mark into our memory: missing after the clone returned means it ran as a fork (qemu-user); EINVAL for CLONE_VM means refused |
//! | pidfd_open | 5.3 | `pidfd_open(getpid())` (it also tells that pidfds can be polled) |
//! | waitid(P_PIDFD) | 5.4 | the probe child is reaped through a pidfd |
//! | pidfd_send_signal | 5.1 | on fd -1: EBADF means it exists |
//! | close_range with CLOSE_RANGE_CLOEXEC | 5.9 / 5.11 | on fd `u32::MAX`, which no table reaches |
//! | CLONE_INTO_CGROUP | 5.7 | on the first cgroup request: clone3 with cgroup fd `i32::MAX` answers EBADF when the flag is known |
//!
//! Go (os/pidfd_linux.go) probes pidfd support the same way, by trying, and so does Rust's std
//! for clone3 and pidfd_spawn; glibc falls back from clone3 to clone on ENOSYS only.

use super::clone::{clone_child, ChildEntries, CloneForm, CloneRequest};
use super::{raw, signals::AllSignalsBlocked, stack};
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, Ordering};
use std::os::fd::{FromRawFd, OwnedFd};

/// What the kernel answered when a feature was tried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    Works,
    /// Refused with this errno (ENOSYS, EPERM or EINVAL).
    Refused(i32),
    /// Accepted without effect: a clone flag older kernels silently ignore (CLONE_PIDFD before
    /// 5.2), or CLONE_VM|CLONE_VFORK run as a plain fork (qemu-user).
    Ignored,
    /// Not tried: it could not matter (waitid(P_PIDFD) where no pidfd can be had).
    Untried,
}

impl Answer {
    pub fn works(self) -> bool {
        self == Answer::Works
    }

    const UNTRIED: i32 = i32::MIN;
    const IGNORED: i32 = -1;

    fn encode(self) -> i32 {
        match self {
            Answer::Works => 0,
            Answer::Refused(e) => e,
            Answer::Ignored => Self::IGNORED,
            Answer::Untried => Self::UNTRIED,
        }
    }

    fn decode(v: i32) -> Answer {
        match v {
            0 => Answer::Works,
            Self::IGNORED => Answer::Ignored,
            Self::UNTRIED => Answer::Untried,
            e => Answer::Refused(e),
        }
    }

    /// How the kernel said no, for messages: `refused (EPERM: a seccomp filter?)`.
    pub fn describe(self) -> String {
        match self {
            Answer::Works => "works".into(),
            Answer::Refused(e) => format!("refused ({})", errno_meaning(e)),
            Answer::Ignored => "silently ignored (a kernel that predates it)".into(),
            Answer::Untried => "not tried".into(),
        }
    }
}

/// Why a probe's errno means "absent", as a reader would want it said.
fn errno_meaning(e: i32) -> String {
    match e {
        libc::ENOSYS => "ENOSYS: not in this kernel".into(),
        libc::EPERM => "EPERM: a seccomp filter?".into(),
        libc::EINVAL => "EINVAL: a flag or type this kernel does not know".into(),
        libc::EBADF => "EBADF".into(),
        e => format!("errno {e}"),
    }
}

/// Whether an errno from a probe means the feature is missing (rather than a passing
/// shortage such as EAGAIN or ENOMEM, which says nothing about the kernel).
fn means_absent(e: i32) -> bool {
    matches!(e, libc::ENOSYS | libc::EPERM | libc::EINVAL)
}

/// The probed answers, one snapshot.
#[derive(Clone, Copy, Debug)]
pub struct Support {
    /// clone3 with CLONE_CLEAR_SIGHAND (clone3: 5.3; the flag: 5.5).
    pub clone3: Answer,
    /// Whether CLONE_VM|CLONE_VFORK shares memory and suspends us: `Ignored` when it ran as a
    /// fork, `Refused` when the kernel or emulator refused it.
    pub vfork_class: Answer,
    /// CLONE_PIDFD with the clone form in use (5.2; always with clone3).
    pub clone_pidfd: Answer,
    /// pidfd_open (5.3), which also means pidfds can be polled.
    pub pidfd_open: Answer,
    /// waitid(P_PIDFD) (5.4).
    pub waitid_pidfd: Answer,
    /// pidfd_send_signal (5.1).
    pub pidfd_send_signal: Answer,
    /// close_range with CLOSE_RANGE_CLOEXEC (5.9, the flag 5.11).
    pub close_range_cloexec: Answer,
}

impl Support {
    /// The clone form the probes chose.
    pub fn clone_form(&self) -> CloneForm {
        if !self.vfork_class.works() {
            CloneForm::ForkLike
        } else if self.clone3.works() {
            CloneForm::Clone3
        } else {
            CloneForm::Clone
        }
    }

    /// Whether the clone itself should ask for a pidfd.
    pub fn pidfd_from_clone(&self) -> bool {
        self.clone_form() != CloneForm::ForkLike && self.clone_pidfd.works()
    }

    /// Whether a pidfd becomes readable when its process exits (pidfds are pollable since 5.3,
    /// the release that added pidfd_open; 5.2's CLONE_PIDFD fds poll as always readable).
    pub fn pidfd_pollable(&self) -> bool {
        self.pidfd_open.works() || self.waitid_pidfd.works()
    }
}

/// Why a child has no pidfd.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoPidfd {
    /// Neither CLONE_PIDFD nor pidfd_open works here.
    Unsupported {
        clone_pidfd: Answer,
        pidfd_open: Answer,
    },
    /// pidfd_open exists but failed for this child (EMFILE...).
    OpenFailed(i32),
}

impl std::fmt::Display for NoPidfd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NoPidfd::Unsupported {
                clone_pidfd,
                pidfd_open,
            } => write!(
                f,
                "no pidfd for this child: CLONE_PIDFD (Linux 5.2) {} and pidfd_open (Linux 5.3) \
                 {}; it is waited for and signalled by pid (safe while it is unreaped, unless \
                 other code of this process reaps children it does not own)",
                clone_pidfd.describe(),
                pidfd_open.describe()
            ),
            NoPidfd::OpenFailed(e) => write!(
                f,
                "no pidfd for this child: pidfd_open failed ({}); it is waited for and signalled \
                 by pid",
                std::io::Error::from_raw_os_error(*e)
            ),
        }
    }
}

static PROBED: AtomicBool = AtomicBool::new(false);
static CLONE3: AtomicI32 = AtomicI32::new(Answer::UNTRIED);
static VFORK_CLASS: AtomicI32 = AtomicI32::new(Answer::UNTRIED);
static CLONE_PIDFD: AtomicI32 = AtomicI32::new(Answer::UNTRIED);
static PIDFD_OPEN: AtomicI32 = AtomicI32::new(Answer::UNTRIED);
static WAITID_PIDFD: AtomicI32 = AtomicI32::new(Answer::UNTRIED);
static PIDFD_SEND_SIGNAL: AtomicI32 = AtomicI32::new(Answer::UNTRIED);
static CLOSE_RANGE_CLOEXEC: AtomicI32 = AtomicI32::new(Answer::UNTRIED);
static INTO_CGROUP: AtomicI32 = AtomicI32::new(Answer::UNTRIED);
/// How many times the probe ran in this process: the proof (tests, the bench) that spawns
/// read the cache instead of probing.
static PROBE_RUNS: AtomicU32 = AtomicU32::new(0);

/// What this kernel supports, probing on the first call. `Err(errno)`: a probe failed for a
/// reason that says nothing about the kernel (EAGAIN, ENOMEM); nothing was cached, and the
/// spawn should fail with that errno at its clone step (the real clone would too).
pub fn support() -> Result<Support, i32> {
    if !PROBED.load(Ordering::Acquire) {
        // One probe at a time: threads spawning at once wait for the first one's answers.
        static PROBING: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _one = PROBING
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !PROBED.load(Ordering::Acquire) {
            let found = probe()?;
            store(&found);
            PROBED.store(true, Ordering::Release);
        }
    }
    Ok(cached())
}

/// The cached answers, without probing (`Untried` everywhere before the first spawn).
pub fn cached() -> Support {
    let get = |a: &AtomicI32| Answer::decode(a.load(Ordering::Relaxed));
    Support {
        clone3: get(&CLONE3),
        vfork_class: get(&VFORK_CLASS),
        clone_pidfd: get(&CLONE_PIDFD),
        pidfd_open: get(&PIDFD_OPEN),
        waitid_pidfd: get(&WAITID_PIDFD),
        pidfd_send_signal: get(&PIDFD_SEND_SIGNAL),
        close_range_cloexec: get(&CLOSE_RANGE_CLOEXEC),
    }
}

/// How many times the probe has run in this process (1 after any number of spawns).
pub fn probe_runs() -> u32 {
    PROBE_RUNS.load(Ordering::Relaxed)
}

fn store(s: &Support) {
    let put = |a: &AtomicI32, v: Answer| a.store(v.encode(), Ordering::Relaxed);
    put(&CLONE3, s.clone3);
    put(&VFORK_CLASS, s.vfork_class);
    put(&CLONE_PIDFD, s.clone_pidfd);
    put(&PIDFD_OPEN, s.pidfd_open);
    put(&WAITID_PIDFD, s.waitid_pidfd);
    put(&PIDFD_SEND_SIGNAL, s.pidfd_send_signal);
    put(&CLOSE_RANGE_CLOEXEC, s.close_range_cloexec);
}

/// The probe child: marks that it ran in our memory, then exits. It runs with every signal
/// blocked (inherited from the probing thread) and touches nothing else.
unsafe extern "C" fn probe_child(arg: *mut libc::c_void) -> ! {
    // SAFETY: arg points to the AtomicU32 `probe_clone` keeps alive until the child is gone
    // (CLONE_VFORK) or, in a fork, to the child's own copy of it.
    let mark = unsafe { &*(arg as *const AtomicU32) };
    mark.store(1, Ordering::Release);
    raw::exit_group(0)
}

const PROBE_ENTRIES: ChildEntries = ChildEntries {
    handlers_cleared: probe_child,
    reset_handlers: probe_child,
};

/// A probe child that was created.
struct Probed {
    pid: i32,
    pidfd: Option<OwnedFd>,
    /// It wrote its mark into our memory before the clone returned: vfork-class.
    shared: bool,
}

/// Clones a probe child in `form`, suspended on it (CLONE_VFORK) where the form allows.
fn probe_clone(form: CloneForm, pidfd: bool, stack: &mut [u8]) -> Result<Probed, i32> {
    let mark = AtomicU32::new(0);
    let req = CloneRequest {
        form,
        extra_flags: 0,
        vfork: true,
        pidfd,
        cgroup_fd: None,
    };
    // SAFETY: the stack is this thread's cached stack, unused until we give it back after the
    // child has exited (CLONE_VFORK) or in a fork, where the child runs on its own copy; the
    // child only stores to `mark`, which outlives it for the same reasons; every signal is
    // blocked by our caller, so no handler of ours can run in the child.
    let cloned = unsafe {
        clone_child(
            &req,
            stack,
            PROBE_ENTRIES,
            &mark as *const AtomicU32 as *mut libc::c_void,
        )
    }?;
    Ok(Probed {
        pid: cloned.pid,
        // SAFETY: a pidfd the kernel just made for us; nobody else owns it.
        pidfd: (cloned.pidfd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(cloned.pidfd) }),
        shared: mark.load(Ordering::Acquire) == 1,
    })
}

/// Runs every probe on this thread's cached child stack.
fn probe() -> Result<Support, i32> {
    PROBE_RUNS.fetch_add(1, Ordering::Relaxed);
    let mut stack = stack::take().map_err(|e| e.raw_os_error().unwrap_or(libc::ENOMEM))?;
    let found = {
        let _blocked = AllSignalsBlocked::new();
        probe_on(stack.as_mut_slice())
    };
    // Every probe child has exited (vfork-class) or ran on its own copy of the stack (fork).
    stack::give_back(stack);
    found
}

fn probe_on(stack: &mut [u8]) -> Result<Support, i32> {
    let mut s = Support {
        clone3: Answer::Untried,
        vfork_class: Answer::Untried,
        clone_pidfd: Answer::Untried,
        pidfd_open: Answer::Untried,
        waitid_pidfd: Answer::Untried,
        pidfd_send_signal: Answer::Untried,
        close_range_cloexec: Answer::Untried,
    };
    let refused = |e: i32| {
        if means_absent(e) {
            Ok(Answer::Refused(e))
        } else {
            Err(e)
        }
    };

    // 1. clone3 (x86_64; other architectures go through glibc's clone: ENOSYS).
    let mut child = match probe_clone(CloneForm::Clone3, true, stack) {
        Ok(p) => {
            s.clone3 = Answer::Works;
            Some(p)
        }
        Err(e) => {
            s.clone3 = refused(e)?;
            None
        }
    };
    // 2. clone(2) with CLONE_PIDFD; without it if refused; as a fork if CLONE_VM is refused.
    if child.is_none() {
        child = match probe_clone(CloneForm::Clone, true, stack) {
            Ok(p) => Some(p),
            Err(e) => {
                s.clone_pidfd = refused(e)?;
                match probe_clone(CloneForm::Clone, false, stack) {
                    Ok(p) => Some(p),
                    Err(e) => {
                        s.vfork_class = refused(e)?;
                        Some(probe_clone(CloneForm::ForkLike, false, stack)?)
                    }
                }
            }
        };
    }
    let child = child.expect("one of the clones above succeeded or returned");
    if s.clone_pidfd == Answer::Untried {
        s.clone_pidfd = if child.pidfd.is_some() {
            Answer::Works
        } else {
            Answer::Ignored
        };
    }
    if s.vfork_class == Answer::Untried {
        s.vfork_class = if child.shared {
            Answer::Works
        } else {
            Answer::Ignored
        };
    }

    // 3. pidfd_open, on ourselves.
    s.pidfd_open = match raw::pidfd_open(raw::getpid()) {
        Ok(fd) => {
            let _ = raw::close(fd as i32);
            Answer::Works
        }
        Err(e) => refused(e)?,
    };

    // 4. waitid(P_PIDFD): reap the probe child through a pidfd, if one can be had.
    let pidfd = child.pidfd.or_else(|| {
        s.pidfd_open
            .works()
            .then(|| raw::pidfd_open(child.pid).ok())
            .flatten()
            // SAFETY: a pidfd the kernel just made for us; nobody else owns it.
            .map(|fd| unsafe { OwnedFd::from_raw_fd(fd as i32) })
    });
    let mut reaped = false;
    s.waitid_pidfd = match &pidfd {
        None => Answer::Untried,
        Some(fd) => loop {
            use rustix::process::{waitid, WaitId, WaitIdOptions};
            match waitid(
                WaitId::PidFd(std::os::fd::AsFd::as_fd(fd)),
                WaitIdOptions::EXITED,
            ) {
                Err(rustix::io::Errno::INTR) => continue,
                // ECHILD: someone else reaped it (SIGCHLD ignored), but P_PIDFD was understood.
                Ok(_) | Err(rustix::io::Errno::CHILD) => {
                    reaped = true;
                    break Answer::Works;
                }
                Err(e) if means_absent(e.raw_os_error()) => {
                    break Answer::Refused(e.raw_os_error())
                }
                Err(_) => break Answer::Works,
            }
        },
    };
    if !reaped {
        reap_by_pid(child.pid);
    }
    drop(pidfd);

    // 5. pidfd_send_signal on no fd at all: EBADF if the syscall exists.
    s.pidfd_send_signal = match raw::pidfd_send_signal(-1, 0) {
        Ok(_) | Err(libc::EBADF) => Answer::Works,
        Err(e) => refused(e)?,
    };

    // 6. close_range(CLOSE_RANGE_CLOEXEC).
    s.close_range_cloexec = try_close_range_cloexec()?;
    Ok(s)
}

/// close_range(CLOSE_RANGE_CLOEXEC) on an fd no table reaches: no effect when it works.
fn try_close_range_cloexec() -> Result<Answer, i32> {
    match raw::close_range(u32::MAX, u32::MAX, raw::CLOSE_RANGE_CLOEXEC) {
        Ok(_) => Ok(Answer::Works),
        Err(e) if means_absent(e) => Ok(Answer::Refused(e)),
        Err(e) => Err(e),
    }
}

/// Whether close_range(CLOSE_RANGE_CLOEXEC) works, without the rest of the probe: all that
/// `Command::exec` needs, which creates no child and so has no use for the probe's throw-away
/// clone (~0.1 ms of CPU on a VM, most of what `forkexec exec` added to an exec). Cached as
/// the probe caches it; `Untried` (use the /proc/self/fd way) when the errno said nothing.
pub fn close_range_cloexec() -> Answer {
    let known = Answer::decode(CLOSE_RANGE_CLOEXEC.load(Ordering::Relaxed));
    if known != Answer::Untried {
        return known;
    }
    match try_close_range_cloexec() {
        Ok(answer) => {
            CLOSE_RANGE_CLOEXEC.store(answer.encode(), Ordering::Relaxed);
            answer
        }
        Err(_) => Answer::Untried,
    }
}

/// Reaps our own child by pid (race-free: an unreaped child's pid cannot be reused).
pub fn reap_by_pid(pid: i32) {
    use rustix::process::{waitid, Pid, WaitId, WaitIdOptions};
    let Some(pid) = Pid::from_raw(pid) else {
        return;
    };
    loop {
        match waitid(WaitId::Pid(pid), WaitIdOptions::EXITED) {
            Err(rustix::io::Errno::INTR) => continue,
            _ => return,
        }
    }
}

/// CLONE_INTO_CGROUP (Linux 5.7), tried on the first request for a cgroup: clone3 with the
/// cgroup fd `i32::MAX` (no fd table reaches it) fails with EBADF once the kernel knows the
/// flag, and EINVAL before. Only meaningful where clone3 works.
pub fn into_cgroup() -> Answer {
    let known = Answer::decode(INTO_CGROUP.load(Ordering::Relaxed));
    if known != Answer::Untried {
        return known;
    }
    let Ok(mut stack) = stack::take() else {
        return Answer::Untried;
    };
    let mark = AtomicU32::new(0);
    let req = CloneRequest {
        form: CloneForm::Clone3,
        extra_flags: 0,
        vfork: true,
        pidfd: false,
        cgroup_fd: Some(i32::MAX),
    };
    let cloned = {
        let _blocked = AllSignalsBlocked::new();
        // SAFETY: as in `probe_clone`: our cached stack, a child that only marks and exits,
        // every signal blocked.
        unsafe {
            clone_child(
                &req,
                stack.as_mut_slice(),
                PROBE_ENTRIES,
                &mark as *const AtomicU32 as *mut libc::c_void,
            )
        }
    };
    stack::give_back(stack);
    let answer = match cloned {
        Err(libc::EBADF) => Answer::Works,
        Err(e) if means_absent(e) => Answer::Refused(e),
        Err(_) => return Answer::Untried,
        // Unexpected (an emulator that ignores the fd): a child exists; reap it, and let the
        // real request find out.
        Ok(c) => {
            reap_by_pid(c.pid);
            Answer::Works
        }
    };
    INTO_CGROUP.store(answer.encode(), Ordering::Relaxed);
    answer
}
