//! Spawning: `Command` (what) -> prepared plan -> `sys` (the clone and the child sequence) ->
//! [`Child`], or a `{step, errno}` failure turned into an [`Error`].
//!
//! - [`spec`]: the user's request as data (what the builder writes);
//! - [`plan`]: validation and preparation, pure (unit-tested without spawning);
//! - [`fds`]: the child's fd table: moves for swaps and cycles, close-on-exec ranges;
//! - [`id_maps`]: the parent's part of a new user namespace;
//! - [`sandbox`]: namespaces to join, the pty, the pid-namespace hop's parent side;
//! - [`userland`]: the flow through the userland loader (`Command::loader`);
//! - this file: the flow, and the one side effect before the clone (stdio pipes, /dev/null).

pub(crate) mod fds;
pub(crate) mod id_maps;
pub(crate) mod plan;
pub(crate) mod sandbox;
pub(crate) mod spec;
#[cfg(target_arch = "x86_64")]
mod userland;

use crate::error::{Error, ErrorStage, Result};
use crate::exec::{CStringArray, Envp};
use crate::process::Child;
use crate::quoting::quote;
use crate::stdio::Stdio;
use crate::step::{SpawnStep, StepContext, StepFailure};
use crate::sys::child_sequence::{ChildPlan, FdHiding, Report};
use crate::sys::clone::{CloneForm, CloneRequest};
use crate::sys::features;
use crate::sys::launch::{self, Spawned};
use fds::FdPlan;
use spec::{PreExecHooks, Spec};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;

/// What a standard fd is when the Command does not say.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum StdioDefault {
    Inherit,
    Null,
    Piped,
}

/// Spawns; `defaults` say what fds 0, 1 and 2 are where the request does not set them
/// (`output` pipes stdout and stderr). Fds the request holds (`Stdio::Fd`, the fd map) are lent
/// to the child here; the caller closes them after a successful spawn (`Spec::give_away_fds`).
pub(crate) fn spawn(spec: &mut Spec, defaults: [StdioDefault; 3]) -> Result<Child> {
    plan::validate(spec)?;
    let envp = plan::envp(spec);
    #[cfg(target_arch = "x86_64")]
    let userland = spec.userland;
    #[cfg(not(target_arch = "x86_64"))]
    let userland = false;
    if !userland {
        plan::exec_target(spec)?;
    }
    // The closures are called through `&mut`; the rest of the spec is only read.
    let mut hooks = std::mem::take(&mut spec.pre_exec);
    #[cfg(target_arch = "x86_64")]
    let spawned = if userland {
        userland::spawn(spec, defaults, envp, &mut hooks)
    } else {
        spawn_prepared(spec, defaults, envp, &mut hooks)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let spawned = spawn_prepared(spec, defaults, envp, &mut hooks);
    spec.pre_exec = hooks;
    spawned
}

fn spawn_prepared(
    spec: &Spec,
    defaults: [StdioDefault; 3],
    envp: Envp,
    hooks: &mut PreExecHooks,
) -> Result<Child> {
    let target = &spec.target.as_ref().expect("exec_target set it").target;
    let mut prepared = prepare_fds(spec, defaults, hooks)?;
    prepared.fds.finish(spec.keep_fds);
    let call = plan::ExecCall::of(spec, target, &envp);
    let launched = launch(spec, &prepared, call, &envp, hooks)?;
    prepared.finish(spec, launched)
}

/// The child's fd table (not yet finished: more fds can be lent) and sandbox, and the parent's
/// ends of the stdio pipes.
struct PreparedFds {
    fds: FdPlan,
    sandbox: sandbox::PreparedSandbox,
    parent_ends: [Option<OwnedFd>; 3],
}

/// Prepares the sandbox (which may take fds 0-2 for a pty) and the fd table.
fn prepare_fds(
    spec: &Spec,
    defaults: [StdioDefault; 3],
    hooks: &PreExecHooks,
) -> Result<PreparedFds> {
    let mut fds = FdPlan::default();
    let (sandbox, with_pty) = sandbox::PreparedSandbox::prepare(spec, &mut fds)?;
    if sandbox.hops() && !hooks.0.is_empty() {
        return Err(Error::invalid(
            &spec.program,
            "join_namespaces(pid)",
            "a joined pid namespace needs the vfork-class spawn (the program is made by a \
             second clone whose pid the parent reads from shared memory): pre_exec closures \
             take the fork path, which cannot do that",
        ));
    }
    let parent_ends = requested_fds(spec, defaults, &mut fds, with_pty)?;
    Ok(PreparedFds {
        fds,
        sandbox,
        parent_ends,
    })
}

impl PreparedFds {
    /// The Child of a launch, or its failure as an Error. Closes the child's ends of pipes
    /// and /dev/null in the parent.
    fn finish(
        self,
        spec: &Spec,
        launched: std::result::Result<Spawned, StepFailure>,
    ) -> Result<Child> {
        let PreparedFds {
            fds,
            mut sandbox,
            parent_ends,
        } = self;
        drop(fds);
        let s = launched.map_err(|f| describe_failure(spec, f))?;
        let child = Child::new(
            s.pid,
            s.pidfd,
            parent_ends,
            spec.kill_on_drop,
            plan::leads_group(spec),
            foreground(spec, s.pid),
        );
        Ok(child.with_pty(sandbox.take_pty()))
    }
}

/// Clones a child that runs the child sequence with `fds`, then `call` (whose environment is
/// `envp`), as this kernel and the request allow: forked for `pre_exec` closures, released
/// after the parent's part for uid/gid maps or a cgroup to join, else on the vfork path.
/// Returns once the child has exec'd, or the step that failed; an error before any clone.
fn launch(
    spec: &Spec,
    prepared: &PreparedFds,
    call: plan::ExecCall<'_>,
    envp: &Envp,
    hooks: &mut PreExecHooks,
) -> Result<std::result::Result<Spawned, StepFailure>> {
    // What this kernel can do: probed at the first spawn of the process, read from a cache after.
    let support = features::support()
        .map_err(|errno| describe_failure(spec, StepFailure::new(SpawnStep::Clone, errno)))?;
    let candidates = fd_candidates(spec, support.close_range_cloexec);
    let report = Report::default();
    let sandbox = &prepared.sandbox;
    let mut child_plan = plan::child_plan(spec, call, &prepared.fds, &report, own_pid(spec));
    hide_fds_by_candidates(&mut child_plan, &candidates);
    child_plan.sandbox = sandbox.plan(spec);
    // After a pid-namespace hop the parent is outside the program's namespace: getppid is 0.
    child_plan.check_parent &= !sandbox.hops();
    let a = &spec.attrs;
    let form = support.clone_form();
    let clone_ns = clone_namespaces(spec, form, &mut child_plan)?;
    let cgroup = match &a.cgroup {
        Some(dir) => Some(open_cgroup(spec, dir)?),
        None => None,
    };
    // CLONE_INTO_CGROUP (clone3, Linux 5.7) starts the child in the cgroup; elsewhere the
    // parent writes the child's pid into cgroup.procs while the child waits, before any step
    // of its own (the same pause the user-namespace maps use).
    let cgroup_at_clone =
        cgroup.is_some() && form == CloneForm::Clone3 && features::into_cgroup().works();
    let join_cgroup = a.cgroup.as_ref().filter(|_| !cgroup_at_clone);
    let needs_release = !a.uid_map.is_empty() || !a.gid_map.is_empty() || join_cgroup.is_some();
    let req = CloneRequest {
        form,
        extra_flags: clone_ns as u64,
        vfork: !needs_release,
        pidfd: support.pidfd_from_clone(),
        cgroup_fd: cgroup
            .as_ref()
            .filter(|_| cgroup_at_clone)
            .map(|f| f.as_raw_fd()),
    };
    let mut before_release = |pid| {
        if let Some(dir) = join_cgroup {
            join_cgroup_procs(dir, pid)
                .map_err(|errno| StepFailure::new(SpawnStep::CgroupJoin, errno))?;
        }
        id_maps::write_id_maps(a, pid)
            .map_err(|errno| StepFailure::new(SpawnStep::UserNamespaceMaps, errno))
    };
    let mut launch_once = |p: &mut ChildPlan| {
        let launched = if !hooks.0.is_empty() {
            // pre_exec closures need a forked child (std's contract); validation refused what
            // only a clone can do (namespaces at clone, a cgroup), so nothing waits on a release.
            launch::spawn_fork(p, &support, &mut || run_hooks(hooks))
        } else {
            let release: Option<launch::BeforeRelease<'_>> =
                needs_release.then_some(&mut before_release);
            launch::spawn(p, &req, &support, release)
        };
        sandbox.finish_launch(launched)
    };
    let launched = launch_once(&mut child_plan);
    // EFAULT from execve with the inherited (live) environ: argv and the path are ours, so
    // another thread's setenv moved the environ array under the exec. Retry once with a
    // snapshot taken under std's env lock. Costs nothing unless it happens.
    let efault = matches!(launched, Err(f) if f.step == SpawnStep::Exec && f.errno == libc::EFAULT);
    if !(efault && matches!(envp, Envp::Inherit)) {
        return Ok(launched);
    }
    let snapshot = Envp::Explicit(CStringArray::from_env_snapshot());
    let retry_report = Report::default();
    child_plan.envp = snapshot.as_ptr();
    child_plan.report = &retry_report;
    Ok(launch_once(&mut child_plan))
}

/// The terminal and group of a foreground child: the group it joined, or its own.
fn foreground(spec: &Spec, pid: i32) -> Option<(i32, i32)> {
    let tty = spec.attrs.foreground_fd?;
    let pgrp = plan::process_group(spec).filter(|&g| g > 0).unwrap_or(pid);
    Some((tty, pgrp))
}

/// The pid a parent-death signal follows for a spawn: this process (asked only when needed).
fn own_pid(spec: &Spec) -> i32 {
    match spec.attrs.pdeathsig {
        Some(_) => std::process::id() as i32,
        None => 0,
    }
}

/// The child's fd table: stdio first (unless a pty already took fds 0-2), then the extra
/// mappings; returns the parent's ends of the stdio pipes.
fn fd_plan(
    spec: &Spec,
    defaults: [StdioDefault; 3],
    fds: &mut FdPlan,
    stdio_taken: bool,
) -> Result<[Option<OwnedFd>; 3]> {
    let parent_ends = requested_fds(spec, defaults, fds, stdio_taken)?;
    fds.finish(spec.keep_fds);
    Ok(parent_ends)
}

/// [`fd_plan`] not yet finished: more fds can be lent before `finish`.
fn requested_fds(
    spec: &Spec,
    defaults: [StdioDefault; 3],
    fds: &mut FdPlan,
    stdio_taken: bool,
) -> Result<[Option<OwnedFd>; 3]> {
    let parent_ends = if stdio_taken {
        [None, None, None]
    } else {
        stdio_fds(spec, defaults, fds)?
    };
    for (child_fd, fd) in &spec.fd_map {
        if fds.sets(*child_fd) {
            return Err(Error::invalid(
                &spec.program,
                format!("fd map for child fd {child_fd}"),
                "that child fd is already set",
            ));
        }
        fds.lend(*child_fd, fd.as_ref().map_or(-1, |f| f.as_raw_fd()));
    }
    Ok(parent_ends)
}

/// Runs the `pre_exec` closures in order; the first error's errno ends the spawn (EINVAL when
/// the error has none, as std does). A panic must not unwind into the parent's code, which the
/// forked child shares: it aborts the child (std's rule), whose death the spawn reports.
fn run_hooks(hooks: &mut PreExecHooks) -> std::result::Result<(), i32> {
    for hook in hooks.0.iter_mut() {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(&mut *hook)) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(e.raw_os_error().unwrap_or(libc::EINVAL)),
            Err(_) => std::process::abort(),
        }
    }
    Ok(())
}

/// `Command::exec`: prepares as for a spawn, then runs the child sequence, the `pre_exec`
/// closures and the exec in this process. Returns only on failure.
///
/// What needs a parent side is refused: a pipe (there is no parent to hold its other end), new
/// namespaces at clone and their id maps, a cgroup at clone (clone_namespaces, uid_map,
/// gid_map, cgroup). The environment is passed as a snapshot taken under std's env lock, as
/// std's exec holds that lock (the live environ could move under another thread's set_var).
pub(crate) fn exec_in_place(spec: &mut Spec) -> Error {
    if let Err(e) = plan::validate(spec) {
        return e;
    }
    let a = &spec.attrs;
    let refused = if spec.stdio.iter().any(|s| matches!(s, Some(Stdio::Piped))) {
        Some((
            "stdio",
            "a pipe needs a parent to hold its other end; exec has none",
        ))
    } else if a.sandbox.pty.is_some() || a.sandbox.joins_pid_of_a_process() {
        Some((
            "attributes",
            "a pty needs a parent to hold its primary side, and joining a pid namespace a \
             second process to be the program; exec has neither",
        ))
    } else if a.clone_ns != 0 || a.cgroup.is_some() {
        Some((
            "attributes",
            "clone_namespaces, uid_map, gid_map and cgroup act at a clone; exec makes none \
             (unshare_namespaces works)",
        ))
    } else if cfg!(target_arch = "x86_64") && spec.userland {
        Some((
            "loader",
            "the userland loader loads a program into this process with \
             forkexec::load::exec_file or exec_memory (forkexec load), not through exec",
        ))
    } else {
        None
    };
    if let Some((what, why)) = refused {
        return Error::invalid(&spec.program, format!("{what} for exec"), why);
    }
    let envp = match plan::envp(spec) {
        Envp::Inherit => Envp::Explicit(CStringArray::from_env_snapshot()),
        explicit => explicit,
    };
    if let Err(e) = plan::exec_target(spec) {
        return e;
    }
    let mut hooks = std::mem::take(&mut spec.pre_exec);
    let failure = exec_prepared(spec, envp, &mut hooks);
    spec.pre_exec = hooks;
    failure
}

fn exec_prepared(spec: &Spec, envp: Envp, hooks: &mut PreExecHooks) -> Error {
    let target = &spec.target.as_ref().expect("exec_target set it").target;
    let defaults = [StdioDefault::Inherit; 3];
    let mut fds = FdPlan::default();
    // A pty and a pid-namespace join were refused above: no stdio is taken, nothing hops.
    let sandbox = match sandbox::PreparedSandbox::prepare(spec, &mut fds) {
        Ok((sandbox, _)) => sandbox,
        Err(e) => return e,
    };
    if let Err(e) = fd_plan(spec, defaults, &mut fds, false) {
        return e;
    }
    // No clone here, so no probe of the clone forms: only how to hide fds.
    let candidates = fd_candidates(spec, features::close_range_cloexec());
    let report = Report::default();
    let parent = rustix::process::getppid().map_or(0, |p| p.as_raw_nonzero().get());
    let call = plan::ExecCall::of(spec, target, &envp);
    let mut child_plan = plan::child_plan(spec, call, &fds, &report, parent);
    hide_fds_by_candidates(&mut child_plan, &candidates);
    child_plan.sandbox = sandbox.plan(spec);
    let f = launch::exec_in_place(&mut child_plan, &mut || run_hooks(hooks));
    describe_failure(spec, f)
}

/// Without CLOSE_RANGE_CLOEXEC, the fds the child must look at to mark them close-on-exec,
/// listed as late as possible (just before the clone or the in-place sequence).
fn fd_candidates(spec: &Spec, close_range_cloexec: features::Answer) -> Option<fds::FdCandidates> {
    (!close_range_cloexec.works() && !spec.keep_fds).then(fds::close_on_exec_candidates)
}

/// Points the plan's fd hiding at `candidates`, where there are any (else close_range).
fn hide_fds_by_candidates<'a>(plan: &mut ChildPlan<'a>, candidates: &'a Option<fds::FdCandidates>) {
    if let Some(c) = candidates {
        plan.fd_hiding = FdHiding::PollAndMark;
        plan.fd_candidates = &c.numbers;
        plan.fd_scan_below = c.below;
    }
}

/// The namespace flags the clone carries. A time namespace needs clone3 (CLONE_NEWTIME is 0x80,
/// inside clone(2)'s exit-signal byte); without clone3 the child unshares it instead, which
/// its execve then enters (the kernel moves an exec'ing task into its time namespace for
/// children). Where clone runs fork-like (qemu-user), namespace flags are refused on the clone
/// itself: the error says so before anything is created.
fn clone_namespaces(spec: &Spec, form: CloneForm, plan: &mut ChildPlan) -> Result<i32> {
    let flags = spec.attrs.clone_ns;
    if flags == 0 {
        return Ok(0);
    }
    if form == CloneForm::ForkLike {
        let names = crate::attr::namespace_names(flags);
        return Err(Error::step(
            &spec.program,
            ErrorStage::Parent,
            "clone",
            format!(
                "clone into new namespaces ({names}): this environment runs every clone as a \
                 fork (qemu-user does) and refuses namespace flags on it; use \
                 unshare_namespaces where the namespace allows"
            ),
            libc::EINVAL,
        ));
    }
    if form == CloneForm::Clone && flags & libc::CLONE_NEWTIME != 0 {
        plan.unshare_flags |= libc::CLONE_NEWTIME;
        return Ok(flags & !libc::CLONE_NEWTIME);
    }
    Ok(flags)
}

/// Moves `pid` into the cgroup v2 directory `dir` by writing its pid to cgroup.procs.
fn join_cgroup_procs(dir: &std::path::Path, pid: i32) -> std::result::Result<(), i32> {
    use std::io::Write;
    let errno = |e: std::io::Error| e.raw_os_error().unwrap_or(libc::EIO);
    let mut procs = std::fs::OpenOptions::new()
        .write(true)
        .open(dir.join("cgroup.procs"))
        .map_err(errno)?;
    procs.write_all(pid.to_string().as_bytes()).map_err(errno)
}

/// Opens what fds 0-2 need (pipes, /dev/null) and adds them to `fds`; returns the parent's
/// ends of the pipes.
fn stdio_fds(
    spec: &Spec,
    defaults: [StdioDefault; 3],
    fds: &mut FdPlan,
) -> Result<[Option<OwnedFd>; 3]> {
    let mut parent_ends: [Option<OwnedFd>; 3] = [None, None, None];
    for (i, (set, default)) in spec.stdio.iter().zip(defaults).enumerate() {
        let target = i as RawFd;
        let kind = match set {
            None => default,
            Some(Stdio::Inherit) => StdioDefault::Inherit,
            Some(Stdio::Null) => StdioDefault::Null,
            Some(Stdio::Piped) => StdioDefault::Piped,
            Some(Stdio::Fd(fd)) => {
                fds.lend(target, fd.as_raw_fd());
                continue;
            }
            // This process's own fd 1 or 2, which stays open here (a swap of the two is
            // handled by the fd plan's moves).
            Some(Stdio::ParentStdout) => {
                fds.lend(target, 1);
                continue;
            }
            Some(Stdio::ParentStderr) => {
                fds.lend(target, 2);
                continue;
            }
        };
        match kind {
            StdioDefault::Inherit => {}
            StdioDefault::Null => {
                let null = std::fs::OpenOptions::new()
                    .read(true)
                    .write(true)
                    .open("/dev/null")
                    .map_err(|e| parent_error(spec, "open", "open /dev/null".into(), e))?;
                fds.give(target, OwnedFd::from(null));
            }
            StdioDefault::Piped => {
                let (r, w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
                    .map_err(|e| parent_error(spec, "pipe", "create a pipe".into(), e.into()))?;
                let (mine, theirs) = if target == 0 { (w, r) } else { (r, w) };
                parent_ends[i] = Some(mine);
                fds.give(target, theirs);
            }
        }
    }
    Ok(parent_ends)
}

/// Opens the cgroup directory the child starts in, refusing what the kernel would answer with
/// a bare EBADF at clone: anything that is not a directory of a cgroup v2 filesystem.
fn open_cgroup(spec: &Spec, dir: &std::path::Path) -> Result<std::fs::File> {
    const CGROUP2_SUPER_MAGIC: u64 = 0x6367_7270;
    let f = std::fs::File::open(dir)
        .map_err(|e| parent_error(spec, "open", format!("open cgroup {}", dir.display()), e))?;
    let is_dir = f.metadata().is_ok_and(|m| m.is_dir());
    // f_type is i64 on x86_64 and narrower elsewhere: compare as u64.
    let fs_type = rustix::fs::fstatfs(&f).map(|s| s.f_type as u64);
    if is_dir && fs_type == Ok(CGROUP2_SUPER_MAGIC) {
        return Ok(f);
    }
    let what = if is_dir { "directory" } else { "path" };
    Err(Error::invalid(
        &spec.program,
        format!("cgroup {}", dir.display()),
        format!(
            "this {what} is not a cgroup v2 directory (a directory of a cgroup2 filesystem, \
             e.g. under /sys/fs/cgroup on a unified hierarchy)"
        ),
    ))
}

/// A parent-side preparation that failed before the clone.
fn parent_error(spec: &Spec, step: &'static str, action: String, e: std::io::Error) -> Error {
    let errno = e.raw_os_error().unwrap_or(libc::EIO);
    Error::step(&spec.program, ErrorStage::Parent, step, action, errno)
}

/// Turns a reported failure into an error naming the step and what it was doing.
fn describe_failure(spec: &Spec, f: StepFailure) -> Error {
    let program = quote(spec.program.as_bytes());
    let a = &spec.attrs;
    let cx = StepContext {
        program: &program,
        cwd: spec.cwd.as_ref().map(|(_, c)| quote(c.as_bytes())),
        chroot: a.chroot.as_ref().map(|c| quote(c.as_bytes())),
        cgroup: a.cgroup.as_ref().map(|c| quote(c.as_os_str().as_bytes())),
        groups: a.groups.as_deref(),
        namespace_names: crate::attr::namespace_names,
        rlimit_name: crate::attr::rlimit_name,
    };
    let (name, mut action) = f.step.describe(f.detail, &cx);
    // The clone's own namespace flags are not in the failure: give them for the hint.
    let detail = match f.step {
        SpawnStep::Clone => a.clone_ns as i64,
        _ => f.detail,
    };
    if let Some(hint) = f.step.kernel_hint(detail, f.errno) {
        action = format!("{action} ({hint})");
    }
    let stage = if f.step.is_parent_side() {
        ErrorStage::Parent
    } else {
        ErrorStage::Child
    };
    Error::step(&spec.program, stage, name, action, f.errno)
}
