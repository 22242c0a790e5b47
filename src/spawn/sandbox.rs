//! The sandbox's part of a spawn, prepared in the parent before the clone: the namespaces to
//! join opened as fds in nsenter's order, the pty pair, the bounding-set mask for this kernel;
//! and, after the clone, the parent's half of a pid-namespace hop.

use super::fds::FdPlan;
use super::spec::Spec;
use crate::attr::join::JOIN_ORDER;
use crate::attr::sandbox::Join;
use crate::attr::{NamespaceTarget, Namespaces, Propagation, PtySize};
use crate::error::{Error, ErrorStage};
use crate::step::{SpawnStep, StepFailure};
use crate::sys::child_sequence::{pidfd_setns_works, JoinFile, SandboxPlan};
use crate::sys::features::NoPidfd;
use crate::sys::launch::Spawned;
use core::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::MetadataExt;
use std::sync::OnceLock;

/// Everything the sandbox steps need, opened for one spawn and closed after it.
#[derive(Default)]
pub(crate) struct PreparedSandbox {
    /// fds opened for this spawn (pidfds, ns files): closed when the spawn is over.
    owned: Vec<OwnedFd>,
    join_pidfd: Option<RawFd>,
    join_pidfd_flags: i32,
    join_files: Vec<JoinFile>,
    join_done: Vec<AtomicBool>,
    /// Where the hop writes the program's pid (a pid namespace is joined).
    hop: Option<AtomicI32>,
    /// The pty's primary side, for the Child.
    pty_primary: Option<OwnedFd>,
    bounding_drop: u64,
}

impl PreparedSandbox {
    /// Opens what the request's sandbox needs. Puts the pty's replica on fds 0-2 of `fds`
    /// (then `true` is returned: the stdio of the request is not used).
    pub(crate) fn prepare(spec: &Spec, fds: &mut FdPlan) -> Result<(Self, bool), Error> {
        let s = &spec.attrs.sandbox;
        let mut p = PreparedSandbox::default();
        for join in &s.joins {
            p.open_join(spec, join)?;
        }
        p.join_files.sort_by_key(|f| order_of(f.nstype));
        p.join_done = p
            .join_files
            .iter()
            .map(|_| AtomicBool::new(false))
            .collect();
        let hops = p.join_pidfd_flags & libc::CLONE_NEWPID != 0
            || p.join_files.iter().any(|f| f.nstype == libc::CLONE_NEWPID);
        if hops {
            p.hop = Some(AtomicI32::new(0));
        }
        if let Some(b) = s.bounding {
            p.bounding_drop = b.drop_mask() & known_capabilities();
        }
        let with_pty = match s.pty {
            Some(size) => {
                if spec.stdio.iter().any(Option::is_some) {
                    return Err(Error::invalid(
                        &spec.program,
                        "pty",
                        "the pty is the child's stdin, stdout and stderr: do not set them too",
                    ));
                }
                let (primary, replica) = open_pty(size).map_err(|e| {
                    let errno = e.raw_os_error().unwrap_or(libc::EIO);
                    Error::step(
                        &spec.program,
                        ErrorStage::Parent,
                        "openpt",
                        "open a pseudo-terminal".to_string(),
                        errno,
                    )
                })?;
                fds.lend(1, replica.as_raw_fd());
                fds.lend(2, replica.as_raw_fd());
                fds.give(0, replica);
                p.pty_primary = Some(primary);
                true
            }
            None => false,
        };
        Ok((p, with_pty))
    }

    /// The raw view for the child sequence.
    pub(crate) fn plan<'a>(&'a self, spec: &'a Spec) -> SandboxPlan<'a> {
        let s = &spec.attrs.sandbox;
        let a = &spec.attrs;
        let propagation = s.propagation.unwrap_or_default();
        SandboxPlan {
            join_pidfd: self.join_pidfd,
            join_pidfd_flags: self.join_pidfd_flags,
            join_files: &self.join_files,
            join_done: &self.join_done,
            pid_hop: self.hop.as_ref(),
            mount_proc: s.mount_proc,
            // As unshare: with / private the recursive change already covered /proc.
            proc_private_first: propagation != Propagation::Private && a.chroot.is_none(),
            securebits: s.securebits.map(|b| (b.set, b.clear)),
            bounding_drop: self.bounding_drop,
            landlock_fd: s.landlock.as_ref().map(|fd| fd.as_raw_fd()),
            seccomp: s.seccomp.as_ref().map_or(&[], |f| f.instructions()),
        }
    }

    /// Whether the child hops into a joined pid namespace (its parent is then outside it).
    pub(crate) fn hops(&self) -> bool {
        self.hop.is_some()
    }

    /// The pty's primary side, for the Child.
    pub(crate) fn take_pty(&mut self) -> Option<OwnedFd> {
        self.pty_primary.take()
    }

    /// After the launch: with a pid-namespace hop, the launched process was the one that
    /// joined and made the program's process (a child of ours too, CLONE_PARENT) before
    /// exiting. Reap it, and hand on the program's process with a pidfd of its own. A failure
    /// reaps whatever the hop left.
    pub(crate) fn finish_launch(
        &self,
        launched: Result<Spawned, StepFailure>,
    ) -> Result<Spawned, StepFailure> {
        let Some(cell) = &self.hop else {
            return launched;
        };
        let program = cell.swap(0, Ordering::Acquire);
        let failed = |f: StepFailure| {
            if program > 0 {
                reap_pid(program);
            }
            Err(f)
        };
        let hopper = match launched {
            Ok(s) => s,
            Err(f) => return failed(f),
        };
        reap_pid(hopper.pid);
        drop(hopper.pidfd);
        if program <= 0 {
            return Err(StepFailure::new(SpawnStep::PidNamespaceHop, libc::ECHILD));
        }
        // The program is our unreaped child: its pid cannot be reused before we wait for it, so
        // a pidfd opened now is its own. Without pidfd_open (before Linux 5.3) it is waited for
        // and signalled by pid, as every child there is.
        let pid = rustix::process::Pid::from_raw(program).expect("a positive pid");
        let pidfd = rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty())
            .map_err(|e| NoPidfd::OpenFailed(e.raw_os_error()));
        Ok(Spawned {
            pid: program,
            pidfd,
        })
    }

    /// Opens the fds of one join request.
    fn open_join(&mut self, spec: &Spec, join: &Join) -> Result<(), Error> {
        let program = spec.program.as_os_str();
        let refuse = |why: String| Error::invalid(program, "join_namespaces", why);
        let io_error = |what: String, e: std::io::Error| {
            let errno = e.raw_os_error().unwrap_or(libc::EIO);
            Error::step(program, ErrorStage::Parent, "open", what, errno)
        };
        let every_kind = join.kinds.bits() == Namespaces::ALL.bits();
        match &join.target {
            NamespaceTarget::Pid(_) | NamespaceTarget::Pidfd(_) => {
                let (pid, pidfd) = match &join.target {
                    NamespaceTarget::Pid(pid) => {
                        let pid = *pid as i32;
                        let opened = rustix::process::Pid::from_raw(pid)
                            .ok_or_else(|| refuse(format!("{pid} is not a process id")))
                            .map(|p| {
                                rustix::process::pidfd_open(p, rustix::process::PidfdFlags::empty())
                            })?;
                        let pidfd = match opened {
                            Ok(fd) => Some(self.keep(fd)),
                            // Before 5.3 there is no pidfd_open: the ns files will do.
                            Err(rustix::io::Errno::NOSYS) => None,
                            Err(e) => return Err(io_error(format!("pidfd_open({pid})"), e.into())),
                        };
                        (pid, pidfd)
                    }
                    NamespaceTarget::Pidfd(fd) => {
                        let pid = pid_of_pidfd(fd.as_raw_fd())
                            .map_err(|e| io_error("read the pid of a pidfd".into(), e))?;
                        (pid, Some(fd.as_raw_fd()))
                    }
                    _ => unreachable!("matched above"),
                };
                let kinds = if every_kind {
                    differing_namespaces(pid).map_err(|e| {
                        io_error(format!("compare the namespaces of process {pid}"), e)
                    })?
                } else {
                    join.kinds.bits()
                };
                if kinds & libc::CLONE_NEWTIME != 0 {
                    return Err(refuse(format!(
                        "process {pid} has a time namespace of its own, which cannot be joined \
                         (setns needs a process that shares no memory; the child shares the \
                         parent's until its exec): name the kinds to join, without time"
                    )));
                }
                if kinds == 0 {
                    return Ok(()); // every namespace of the target is already ours
                }
                let fallback_needed = pidfd.is_none() || pidfd_setns_works() != Some(true);
                if let Some(fd) = pidfd {
                    self.join_pidfd = Some(fd);
                    self.join_pidfd_flags = kinds;
                }
                if fallback_needed {
                    for &(kind, name) in JOIN_ORDER.iter().filter(|(k, _)| kinds & k != 0) {
                        let path = format!("/proc/{pid}/ns/{name}");
                        let f = std::fs::File::open(&path)
                            .map_err(|e| io_error(format!("open {path}"), e))?;
                        let fd = self.keep(f.into());
                        self.join_files.push(JoinFile {
                            fd,
                            nstype: kind,
                            fallback: pidfd.is_some(),
                        });
                    }
                    // A pidfd still alive means its pid was not reused while we opened the
                    // files by pid.
                    if let NamespaceTarget::Pidfd(fd) = &join.target {
                        crate::sys::signals::send_signal(fd.as_fd(), 0)
                            .map_err(|e| io_error(format!("check process {pid}"), e))?;
                    }
                }
            }
            NamespaceTarget::File(path) => {
                let f = std::fs::File::open(path)
                    .map_err(|e| io_error(format!("open {}", path.display()), e))?;
                let fd = self.keep(f.into());
                self.push_file(program, fd, join.kinds, &path.display().to_string())?;
            }
            NamespaceTarget::FileFd(fd) => {
                let raw = fd.as_raw_fd();
                self.push_file(program, raw, join.kinds, &format!("ns fd {raw}"))?;
            }
        }
        Ok(())
    }

    /// Adds an ns file after checking its kind against the request.
    fn push_file(
        &mut self,
        program: &std::ffi::OsStr,
        fd: RawFd,
        kinds: Namespaces,
        name: &str,
    ) -> Result<(), Error> {
        let refuse = |why: String| Error::invalid(program, format!("namespace file {name}"), why);
        let kind = kind_of_ns_fd(fd).ok_or_else(|| {
            refuse("it is not a namespace file (/proc/PID/ns/* or a bind mount of one)".into())
        })?;
        if kinds.bits() != Namespaces::ALL.bits() && kinds.bits() != kind {
            return Err(refuse(format!(
                "it is a {} namespace, not {kinds}",
                Namespaces::from_bits(kind)
            )));
        }
        if kind == libc::CLONE_NEWTIME {
            return Err(refuse(
                "a time namespace cannot be joined by a child that shares the parent's memory \
                 (setns answers EUSERS)"
                    .into(),
            ));
        }
        self.join_files.push(JoinFile {
            fd,
            nstype: kind,
            fallback: false,
        });
        Ok(())
    }

    fn keep(&mut self, fd: OwnedFd) -> RawFd {
        let raw = fd.as_raw_fd();
        self.owned.push(fd);
        raw
    }
}

/// A kind's place in nsenter's order.
fn order_of(kind: i32) -> usize {
    JOIN_ORDER
        .iter()
        .position(|(k, _)| *k == kind)
        .unwrap_or(JOIN_ORDER.len())
}

/// The kind of an open ns file, from its name in /proc/self/fd ("net:[4026531840]"): works
/// on every kernel, where the NS_GET_NSTYPE ioctl needs 4.11.
fn kind_of_ns_fd(fd: RawFd) -> Option<i32> {
    let link = std::fs::read_link(format!("/proc/self/fd/{fd}")).ok()?;
    let link = link.to_str()?;
    let (name, rest) = link.split_once(':')?;
    if !rest.starts_with('[') {
        return None;
    }
    let name = match name {
        "mnt" => "mount",
        other => other,
    };
    name.parse::<Namespaces>().ok().map(Namespaces::bits)
}

/// The kinds of namespaces of process `pid` that are not the parent's (nsenter -a's choice:
/// joining one's own is a no-op, and for the user namespace an EINVAL).
fn differing_namespaces(pid: i32) -> std::io::Result<i32> {
    let mut kinds = 0;
    for &(kind, name) in &JOIN_ORDER {
        let ours = match std::fs::metadata(format!("/proc/self/ns/{name}")) {
            Ok(m) => m,
            // A kind this kernel does not have (time before 5.6, cgroup before 4.6).
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        let theirs = std::fs::metadata(format!("/proc/{pid}/ns/{name}"))?;
        if (ours.dev(), ours.ino()) != (theirs.dev(), theirs.ino()) {
            kinds |= kind;
        }
    }
    Ok(kinds)
}

/// The pid a pidfd refers to, from /proc/self/fdinfo ("Pid:" line, Linux 5.3).
fn pid_of_pidfd(fd: RawFd) -> std::io::Result<i32> {
    let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{fd}"))?;
    info.lines()
        .find_map(|l| l.strip_prefix("Pid:"))
        .and_then(|v| v.trim().parse::<i32>().ok())
        .filter(|&p| p > 0)
        .ok_or_else(|| std::io::Error::from_raw_os_error(libc::ESRCH))
}

/// The capabilities this kernel knows (bits 0..=cap_last_cap): dropping an unknown one from
/// the bounding set is EINVAL.
fn known_capabilities() -> u64 {
    static MASK: OnceLock<u64> = OnceLock::new();
    *MASK.get_or_init(|| {
        let last = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok())
            .unwrap_or(40)
            .min(63);
        if last == 63 {
            u64::MAX
        } else {
            (1u64 << (last + 1)) - 1
        }
    })
}

/// A new pty pair: (primary, replica), neither this process's controlling terminal, both
/// close-on-exec, the window size set.
fn open_pty(size: PtySize) -> std::io::Result<(OwnedFd, OwnedFd)> {
    use rustix::fs::{Mode, OFlags};
    use rustix::pty::{grantpt, openpt, ptsname, unlockpt, OpenptFlags};
    let primary = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC)?;
    grantpt(&primary)?;
    unlockpt(&primary)?;
    let name = ptsname(&primary, Vec::new())?;
    let replica = rustix::fs::open(
        name.as_c_str(),
        OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let winsize = rustix::termios::Winsize {
        ws_row: size.rows,
        ws_col: size.cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    rustix::termios::tcsetwinsize(&primary, winsize)?;
    Ok((primary, replica))
}

/// Waits for a child of ours by pid (the hop's first process, or a program whose sequence
/// failed after the hop).
fn reap_pid(pid: i32) {
    use rustix::process::{waitid, Pid, WaitId, WaitIdOptions};
    let Some(pid) = Pid::from_raw(pid) else {
        return;
    };
    while let Err(rustix::io::Errno::INTR) = waitid(WaitId::Pid(pid), WaitIdOptions::EXITED) {}
}
