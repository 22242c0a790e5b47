//! Spawning through the userland loader (`Command::loader(Loader::Userland)`,
//! `Command::program_bytes`): the child runs the same child sequence as any spawn, on the
//! same vfork-class clone, and then, instead of execve'ing the program, execs the loader stub,
//! which loads the program into the fresh address space that exec gave it.
//!
//! ```text
//! parent                                          child (CLONE_VM, then its own memory)
//! ------------------------------------------      --------------------------------------
//! find PROGRAM (PATH, cwd), open it and its
//! interpreter with the kernel's checks for the
//! ids the child will have; plan the load
//! (load::handoff): the errnos execve gives for
//! the files are given here, before any process
//! socketpair; the payload sent (what fits)
//! clone(CLONE_VM|CLONE_VFORK) ------------------> the child sequence, as for any spawn
//!                                                 (attributes, fds, signals, mask), then
//!                                                 execveat(stub memfd, argv + [execfn, fd],
//!                                                 envp): the kernel builds the program's stack
//! the rest of the payload sent <----------------- (vfork released: the stub runs alone)
//! wait for the stub's answer                      map the images, fix the auxv, PR_SET_MM_MAP,
//!   EOF: the program started -> Child             close the socket, trampoline -> program
//!   a Failure: errno -> `failed to load ...`      or: send {step, errno}, exit 127
//! ```
//!
//! The program's files and the stub's socket cross the child's fd plan at their own numbers,
//! above every fd the child sets up (the plan lends each to itself, so it survives the stub's
//! exec); the stub closes them before the program starts. The program sees exactly the fds
//! the kernel path would give it.
//!
//! Attributes the child sequence carries out before the stub's exec apply unchanged; a
//! seccomp filter applies to the stub as to the program (it must allow what the stub does:
//! execveat, read, mmap, mprotect, munmap, prctl, arch_prctl, sendto, close, exit_group).
//! Refused, with the reason: `chroot`, Landlock and joining a mount or user namespace (the
//! files are opened by the parent, in its root, its namespaces, unrestricted), and `ptrace`
//! (the tracer would stop at the stub's exec, not the program's start).

use super::plan::{self, ExecCall};
use super::spec::{PreExecHooks, Spec};
use super::StdioDefault;
use crate::error::{Error, ErrorStage, Result};
use crate::exec::{CStringArray, Envp, PathLookup, ShellFallback};
use crate::load::file::Runner;
use crate::load::handoff::{self, Handoff, Source};
use crate::load::LoadError;
use crate::model::Credentials;
use crate::process::Child;
use crate::step::SpawnStep;
use crate::sys::exec_loop::ExecCandidates;
use crate::sys::loader_stub::{self, wire};
use std::ffi::{CString, OsStr};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Spawns `spec` through the userland loader (see the module docs).
pub(super) fn spawn(
    spec: &Spec,
    defaults: [StdioDefault; 3],
    envp: Envp,
    hooks: &mut PreExecHooks,
) -> Result<Child> {
    refuse_what_cannot_be_honoured(spec)?;
    let mut prepared = super::prepare_fds(spec, defaults, hooks)?;
    // The loader's fds go above every fd the child sets up.
    let floor = prepared
        .fds
        .actions
        .iter()
        .map(|a| a.target)
        .fold(2, RawFd::max)
        + 1;
    let handoff = find_and_plan(spec, floor)?;
    let (ours, theirs) = socket_pair(spec, floor)?;
    for fd in handoff.files.iter().chain([&theirs]) {
        prepared.fds.lend(fd.as_raw_fd(), fd.as_raw_fd());
    }
    prepared.fds.finish(spec.keep_fds);

    let stub = stub_at_or_above(spec, floor)?;
    // The stub gets the program's argv and envp (the kernel builds the program's stack from
    // them), then the program's AT_EXECFN and the socket's fd.
    let fd_digits = theirs.as_raw_fd().to_string().into_bytes();
    let extra = [handoff.execfn.clone(), fd_digits];
    let stub_argv = c_strings(spec, handoff.argv.iter().chain(&extra))?;
    let call = ExecCall {
        exec: ExecCandidates::fexecve(stub.raw()),
        argv: stub_argv.as_ptr(),
        envp: envp.as_ptr(),
    };
    // Whatever fits in the socket now: the stub reads it at once (all of it, usually).
    let sent = send(&ours, &handoff.payload, false).unwrap_or(0);
    let launched = super::launch(spec, &prepared, call, &envp, hooks)?;
    drop(theirs);
    let launched = match launched {
        Err(f) if f.step == SpawnStep::Exec => return Err(stub_exec_failure(spec, f.errno)),
        other => other,
    };
    let Ok(spawned) = &launched else {
        return prepared.finish(spec, launched);
    };
    let pid = spawned.pid;
    // The stub runs in its own address space now. The rest of the payload, then its answer.
    let rest = handoff.payload.get(sent..).unwrap_or_default();
    let answer = send(&ours, rest, true).and_then(|_| receive_answer(&ours));
    match answer {
        Ok(None) => prepared.finish(spec, launched),
        Ok(Some(failure)) => {
            crate::sys::features::reap_by_pid(pid);
            Err(stub_failure(spec, &handoff, failure))
        }
        Err(errno) => {
            // The socket failed, or the answer was cut short: the stub is gone (a stub that
            // closes the socket, even by dying, is a start: its wait status tells the rest).
            let ended = reap_stub(pid);
            let action = format!("hand the load to the loader stub ({ended})");
            Err(Error::step(
                &spec.program,
                ErrorStage::Child,
                "load",
                action,
                errno,
            ))
        }
    }
}

/// Reaps the stub that did not start the program; says how it ended.
fn reap_stub(pid: i32) -> String {
    use rustix::process::{waitid, Pid, WaitId, WaitIdOptions};
    let Some(pid) = Pid::from_raw(pid) else {
        return "no process".into();
    };
    loop {
        match waitid(WaitId::Pid(pid), WaitIdOptions::EXITED) {
            Err(rustix::io::Errno::INTR) => continue,
            Ok(Some(st)) => {
                return match (st.exit_status(), st.terminating_signal()) {
                    (Some(code), _) => format!("it exited with status {code}"),
                    (_, Some(sig)) => format!("it was killed by signal {sig}"),
                    _ => "it ended".into(),
                }
            }
            _ => return "it could not be waited for".into(),
        }
    }
}

/// The stub's memfd, at or above `floor`: the fd the child execs must not be one its fd map
/// overwrites (the memfd is made once, at whatever number was free then; below the floor a
/// duplicate serves this spawn).
fn stub_at_or_above(spec: &Spec, floor: RawFd) -> Result<StubFd> {
    let failed = |action: &'static str, errno: i32| {
        Error::step(&spec.program, ErrorStage::Parent, "load", action, errno)
    };
    let memfd = loader_stub::memfd().map_err(|e| {
        let action = "start the loader stub from a memfd (memfd_create: Linux 3.17; \
                      executable memfds: vm.memfd_noexec below 2)";
        failed(action, e.0)
    })?;
    if memfd.as_raw_fd() >= floor {
        return Ok(StubFd::Shared(memfd.as_raw_fd()));
    }
    rustix::io::fcntl_dupfd_cloexec(memfd, floor)
        .map(StubFd::Moved)
        .map_err(|e| {
            failed(
                "move the loader stub's memfd out of the child's fds",
                e.raw_os_error(),
            )
        })
}

/// The fd a spawn execs the stub from.
enum StubFd {
    /// The process's memfd itself.
    Shared(RawFd),
    /// A duplicate for this spawn, closed after it.
    Moved(OwnedFd),
}

impl StubFd {
    fn raw(&self) -> RawFd {
        match self {
            StubFd::Shared(fd) => *fd,
            StubFd::Moved(fd) => fd.as_raw_fd(),
        }
    }
}

/// Attributes the loader cannot honour, refused before anything is opened.
fn refuse_what_cannot_be_honoured(spec: &Spec) -> Result<()> {
    let a = &spec.attrs;
    let program = &spec.program;
    if a.chroot.is_some() {
        return Err(Error::invalid(
            program,
            "chroot with the userland loader",
            "the loader opens the program and its interpreter in the parent, outside the new \
             root, where the kernel would look inside it; use the kernel loader",
        ));
    }
    if a.sandbox.landlock.is_some() {
        return Err(Error::invalid(
            program,
            "landlock with the userland loader",
            "the loader opens the program and its interpreter in the parent, where the \
             ruleset does not restrict them; use the kernel loader",
        ));
    }
    let files_seen_elsewhere = libc::CLONE_NEWNS | libc::CLONE_NEWUSER;
    if a.sandbox
        .joins
        .iter()
        .any(|j| j.kinds.bits() & files_seen_elsewhere != 0)
    {
        return Err(Error::invalid(
            program,
            "join_namespaces(mnt or user) with the userland loader",
            "the loader opens the program and its interpreter in the parent's mount and user \
             namespaces, not the joined ones; join the others only, or use the kernel loader",
        ));
    }
    if a.ptrace {
        return Err(Error::invalid(
            program,
            "ptrace with the userland loader",
            "the tracer would stop the child at the loader stub's exec, before the program \
             is loaded; use the kernel loader",
        ));
    }
    Ok(())
}

/// argv as bytes.
fn argv_bytes(spec: &Spec) -> Vec<Vec<u8>> {
    spec.argv.iter().map(|c| c.to_bytes().to_vec()).collect()
}

/// C strings for the stub's argv (a NUL inside is refused, as by the builder).
fn c_strings<'a>(spec: &Spec, items: impl Iterator<Item = &'a Vec<u8>>) -> Result<CStringArray> {
    let mut out = CStringArray::with_capacity(4);
    for item in items {
        let c = CString::new(item.as_slice()).map_err(|e| {
            Error::invalid(
                &spec.program,
                "the program's argv",
                format!(
                    "a string contains a NUL byte at offset {}",
                    e.nul_position()
                ),
            )
        })?;
        out.push(c);
    }
    Ok(out)
}

/// Maps an id the child sets inside a new user namespace to the id outside (what files are
/// owned by); unmapped ids stay (the child's setuid fails with its own errno then).
fn outside(id: u32, maps: &[crate::attr::IdMap]) -> u32 {
    maps.iter()
        .find(|m| id >= m.inside && id - m.inside < m.count)
        .map_or(id, |m| m.outside + (id - m.inside))
}

/// Who runs the program: the ids the child sequence gives it (as the file system sees them:
/// through the id maps of a new user namespace), in the working directory it gives it.
fn runner(spec: &Spec) -> Runner {
    let a = &spec.attrs;
    let changes_ids = a.uid.is_some() || a.gid.is_some() || a.groups.is_some();
    let credentials = changes_ids.then(|| {
        let mut c = Credentials::current();
        let user_ns = (a.clone_ns | a.unshare_ns) & libc::CLONE_NEWUSER != 0;
        let (uids, gids) = if user_ns {
            (&a.uid_map[..], &a.gid_map[..])
        } else {
            (&[][..], &[][..])
        };
        if let Some(uid) = a.uid {
            (c.uid, c.euid) = (outside(uid, uids), outside(uid, uids));
        }
        if let Some(gid) = a.gid {
            (c.gid, c.egid) = (outside(gid, gids), outside(gid, gids));
        }
        if let Some(groups) = a.effective_groups() {
            c.groups = groups.iter().map(|&g| outside(g, gids)).collect();
        }
        c
    });
    Runner {
        credentials,
        dir: spec.cwd.as_ref().map(|(dir, _)| dir.clone()),
    }
}

/// What every load of one spawn shares: who runs it and the lowest fd its files may have in
/// the child.
struct Loads<'a> {
    runner: &'a Runner,
    fd_floor: RawFd,
}

type LoadResult = std::result::Result<Handoff, LoadError>;

impl Loads<'_> {
    fn prepare(&self, source: Source<'_>, argv: &[Vec<u8>], execfn: &[u8]) -> LoadResult {
        handoff::prepare(&handoff::Request {
            source,
            argv,
            execfn,
            runner: self.runner,
            fd_floor: self.fd_floor,
        })
    }

    /// The file at `path`; with the shell fallback, a file execve refuses with ENOEXEC runs
    /// as execvp runs it: `/bin/sh path argv[1..]`.
    fn prepare_file(&self, path: &Path, argv: &[Vec<u8>], shell: ShellFallback) -> LoadResult {
        let execfn = path.as_os_str().as_bytes();
        match self.prepare(Source::File(path), argv, execfn) {
            Err(e) if e.errno.0 == libc::ENOEXEC && shell == ShellFallback::Sh => {
                let mut sh_argv = vec![b"/bin/sh".to_vec(), execfn.to_vec()];
                sh_argv.extend(argv.iter().skip(1).cloned());
                self.prepare(Source::File(Path::new("/bin/sh")), &sh_argv, b"/bin/sh")
            }
            other => other,
        }
    }
}

/// Finds and plans the program (see the module docs): from memory, or the file execvp would
/// run (PATH searched as the request says).
fn find_and_plan(spec: &Spec, fd_floor: RawFd) -> Result<Handoff> {
    let argv = argv_bytes(spec);
    let runner = runner(spec);
    let loads = Loads {
        runner: &runner,
        fd_floor,
    };
    let name = spec.program.as_bytes();
    let program = OsStr::from_bytes(name);
    let planned = match (&spec.program_bytes, spec.lookup) {
        (Some(bytes), _) => loads.prepare(Source::Memory(bytes), &argv, name),
        (None, PathLookup::Off) => loads.prepare_file(Path::new(program), &argv, spec.shell),
        (None, PathLookup::Search(rules)) => {
            let path_var = plan::search_path(spec);
            let judge = |path: &Path| loads.prepare_file(path, &argv, spec.shell);
            crate::load::search::search_with(program, path_var.as_deref(), rules, judge)
                .map(|(_, handoff)| handoff)
        }
    };
    planned.map_err(|e| load_error(spec, ErrorStage::Parent, &e))
}

/// A failed exec of the stub. E2BIG is the program's: the kernel checked its argv and envp
/// against the child's stack limit, as at its own exec.
fn stub_exec_failure(spec: &Spec, errno: i32) -> Error {
    let reason = if errno == libc::E2BIG {
        "its arguments and environment do not fit the stack the kernel gives it \
         (RLIMIT_STACK / 4; the loader adds its path and a socket number)"
    } else {
        "cannot exec the loader stub (execveat of its memfd)"
    };
    load_error(spec, ErrorStage::Child, &LoadError::new(errno, reason))
}

/// `failed to load "prog": why: errno`.
fn load_error(spec: &Spec, stage: ErrorStage, e: &LoadError) -> Error {
    Error::step(&spec.program, stage, "load", &e.reason, e.errno.0)
}

/// The socket the payload and the answer go through (close-on-exec here; the child's end is
/// lent to the child at its number, at or above `floor`).
fn socket_pair(spec: &Spec, floor: RawFd) -> Result<(OwnedFd, OwnedFd)> {
    use rustix::net::{socketpair, AddressFamily, SocketFlags, SocketType};
    let failed = |e: rustix::io::Errno| {
        let action = "create the socket to the loader stub (socketpair)";
        Error::step(
            &spec.program,
            ErrorStage::Parent,
            "load",
            action,
            e.raw_os_error(),
        )
    };
    let (ours, theirs) = socketpair(
        AddressFamily::UNIX,
        SocketType::STREAM,
        SocketFlags::CLOEXEC,
        None,
    )
    .map_err(failed)?;
    let theirs = if theirs.as_raw_fd() >= floor {
        theirs
    } else {
        rustix::io::fcntl_dupfd_cloexec(&theirs, floor).map_err(failed)?
    };
    Ok((ours, theirs))
}

/// Sends `bytes` (all of them when `block`, else what fits now); returns how many, or the
/// errno. MSG_NOSIGNAL: a stub that died is an error here, not a SIGPIPE.
fn send(sock: &OwnedFd, bytes: &[u8], block: bool) -> std::result::Result<usize, i32> {
    use rustix::net::SendFlags;
    let flags = if block {
        SendFlags::NOSIGNAL
    } else {
        SendFlags::NOSIGNAL | SendFlags::DONTWAIT
    };
    let mut done = 0;
    while done < bytes.len() {
        match rustix::net::send(sock, &bytes[done..], flags) {
            Ok(n) => done += n,
            Err(rustix::io::Errno::INTR) => {}
            Err(rustix::io::Errno::AGAIN) if !block => break,
            Err(e) => return Err(e.raw_os_error()),
        }
    }
    Ok(done)
}

/// Waits for the stub: `None` when it closed the socket (the program is starting), or its
/// [`wire::Failure`].
fn receive_answer(sock: &OwnedFd) -> std::result::Result<Option<wire::Failure>, i32> {
    let mut buf = [0u8; core::mem::size_of::<wire::Failure>()];
    let mut got = 0;
    while got < buf.len() {
        match rustix::io::read(sock, &mut buf[got..]) {
            Ok(0) if got == 0 => return Ok(None),
            Ok(0) => return Err(libc::EPROTO),
            Ok(n) => got += n,
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.raw_os_error()),
        }
    }
    loader_stub::decode_failure(&buf)
        .map(Some)
        .ok_or(libc::EPROTO)
}

/// The error for the stub's `failure`, in the words of the in-place loader's.
fn stub_failure(spec: &Spec, handoff: &Handoff, f: wire::Failure) -> Error {
    use crate::load::loader::{CarryOutError, CarryOutStep};
    use wire::{region, segment_action, step};
    let program = &handoff.program;
    let reason = match f.step {
        step::RESERVE => {
            let (what, image) = match f.detail as usize {
                region::PROGRAM => ("the program", Some(program)),
                _ => ("the interpreter", handoff.interpreter.as_ref()),
            };
            let why = if f.errno == libc::EEXIST {
                "are in use in the new process"
            } else {
                "cannot be reserved in the new process"
            };
            match image {
                Some(i) => format!(
                    "the addresses {:#x}..{:#x} {what} wants {why}",
                    i.start, i.end
                ),
                None => format!("the room for {what} {why}"),
            }
        }
        step::SEGMENT => {
            let n = (f.detail & 0xffff_ffff) as usize;
            let how = match f.detail >> 32 {
                segment_action::ZERO => "zero the bss of",
                segment_action::PROTECT => "protect",
                segment_action::MAP_BSS => "map the bss of",
                _ => "map",
            };
            let interpreter = handoff.interpreter.iter();
            let segment = program
                .segments
                .iter()
                .map(|s| (s, program))
                .chain(interpreter.flat_map(|i| i.segments.iter().map(move |s| (s, i))))
                .nth(n);
            match segment {
                Some((s, image)) => {
                    let stopped = CarryOutError {
                        errno: crate::Errno(f.errno),
                        what: CarryOutStep::Segment {
                            role: image.role,
                            index: s.index,
                            // Where it was planned: the stub may have moved the image.
                            start: s.start,
                            how,
                        },
                    };
                    LoadError::from(stopped).reason
                }
                None => format!("cannot {how} segment record {n}"),
            }
        }
        step::STACK => "cannot make the stack executable (PT_GNU_STACK asks for it)".into(),
        step::TRAMPOLINE => "cannot make the trampoline's page".into(),
        step::RECEIVE => "the loader stub could not read what it was sent".into(),
        _ => "the loader stub did not understand what it was sent".into(),
    };
    load_error(spec, ErrorStage::Child, &LoadError::new(f.errno, reason))
}
