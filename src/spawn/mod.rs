//! Spawning: `Command` (what) -> prepared plan -> `sys` (the clone and the child sequence) ->
//! [`Child`], or a `{step, errno}` failure turned into an [`Error`].
//!
//! - [`spec`]: the user's request as data (what the builder writes);
//! - [`plan`]: validation and preparation, pure (unit-tested without spawning);
//! - [`fds`]: the child's fd table: moves for swaps and cycles, close-on-exec ranges;
//! - [`id_maps`]: the parent's part of a new user namespace;
//! - this file: the flow, and the one side effect before the clone (stdio pipes, /dev/null).

pub(crate) mod fds;
pub(crate) mod id_maps;
pub(crate) mod plan;
pub(crate) mod spec;

use crate::error::{Error, ErrorKind, Result};
use crate::exec::{CStringArray, Envp};
use crate::process::Child;
use crate::stdio::Stdio;
use crate::step::{SpawnStep, StepContext, StepFailure};
use crate::sys::child_sequence::{ChildPlan, FdHiding, Report};
use crate::sys::clone::{CloneForm, CloneRequest};
use crate::sys::features;
use crate::sys::launch;
use fds::FdPlan;
use spec::Spec;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

/// What a standard fd is when the Command does not say.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum StdioDefault {
    Inherit,
    Null,
    Piped,
}

/// Spawns; `defaults` say what fds 0, 1 and 2 are where the request does not set them
/// (`output` pipes stdout and stderr). Fds the request holds (`Stdio::Fd`, the fd map) are lent
/// to the child, not consumed: the Command can spawn again, as std's can.
pub(crate) fn spawn(spec: &mut Spec, defaults: [StdioDefault; 3]) -> Result<Child> {
    plan::validate(spec)?;
    let envp = plan::envp(spec);
    plan::exec_target(spec)?;
    let spec = &*spec;
    let target = &spec.target.as_ref().expect("exec_target set it").target;

    // The fd plan: stdio first, then the extra mappings.
    let mut fds = FdPlan::default();
    let parent_ends = stdio_fds(spec, defaults, &mut fds)?;
    for (child_fd, fd) in &spec.fd_map {
        if fds.sets(*child_fd) {
            return Err(Error::invalid(
                &spec.program_display(),
                format!("fd map for child fd {child_fd}"),
                "that child fd is already set",
            ));
        }
        fds.lend(*child_fd, fd.as_ref().map_or(-1, |f| f.as_raw_fd()));
    }
    fds.finish(spec.keep_fds);

    // What this kernel can do: probed at the first spawn of the process, read from a cache after.
    let support = features::support()
        .map_err(|errno| describe_failure(spec, StepFailure::new(SpawnStep::Clone, errno)))?;
    // Without close_range, the fds the child must look at, listed as late as possible.
    let candidates = (!support.close_range_cloexec.works() && !spec.keep_fds)
        .then(fds::close_on_exec_candidates);
    let report = Report::default();
    let mut child_plan = plan::child_plan(spec, target, &envp, &fds, &report);
    if let Some(c) = &candidates {
        child_plan.fd_hiding = FdHiding::PollAndMark;
        child_plan.fd_candidates = &c.numbers;
        child_plan.fd_scan_below = c.below;
    }
    let a = &spec.attrs;
    let form = support.clone_form();
    let clone_ns = clone_namespaces(spec, form, &mut child_plan)?;
    let cgroup = match &a.cgroup {
        Some(dir) => Some(std::fs::File::open(dir).map_err(|e| {
            parent_error(spec, "open", format!("open cgroup {}", dir.display()), e)
        })?),
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
        let release: Option<launch::BeforeRelease<'_>> =
            needs_release.then_some(&mut before_release);
        launch::spawn(p, &req, &support, release)
    };
    let mut launched = launch_once(&mut child_plan);
    // EFAULT from execve with the inherited (live) environ: argv and the path are ours, so
    // another thread's setenv moved the environ array under the exec. Retry once with a
    // snapshot taken under std's env lock. Costs nothing unless it happens.
    let snapshot;
    let retry_report = Report::default();
    if matches!(envp, Envp::Inherit)
        && matches!(launched, Err(f) if f.step == SpawnStep::Exec && f.errno == libc::EFAULT)
    {
        snapshot = Envp::Explicit(CStringArray::from_env_snapshot());
        child_plan.envp = snapshot.as_ptr();
        child_plan.report = &retry_report;
        launched = launch_once(&mut child_plan);
    }
    drop(fds); // closes the child's ends of pipes and /dev/null in the parent
    drop(cgroup);
    match launched {
        Ok(s) => {
            let [stdin, stdout, stderr] = parent_ends;
            Ok(Child::new(
                s.pid,
                s.pidfd,
                [stdin, stdout, stderr],
                spec.kill_on_drop,
                plan::leads_group(spec),
            ))
        }
        Err(f) => Err(describe_failure(spec, f)),
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
            &spec.program_display(),
            ErrorKind::Parent,
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

/// A parent-side preparation that failed before the clone.
fn parent_error(spec: &Spec, step: &'static str, action: String, e: std::io::Error) -> Error {
    let errno = e.raw_os_error().unwrap_or(libc::EIO);
    Error::step(
        &spec.program_display(),
        ErrorKind::Parent,
        step,
        action,
        errno,
    )
}

/// Turns a reported failure into an error naming the step and what it was doing.
fn describe_failure(spec: &Spec, f: StepFailure) -> Error {
    let program = spec.program_display();
    let a = &spec.attrs;
    let cx = StepContext {
        program: &program,
        cwd: spec.cwd.as_ref().map(|(p, _)| p.display().to_string()),
        chroot: a.chroot.as_ref().map(|c| c.to_string_lossy().into_owned()),
        cgroup: a.cgroup.as_ref().map(|c| c.display().to_string()),
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
    let kind = if f.step.is_parent_side() {
        ErrorKind::Parent
    } else {
        ErrorKind::Child
    };
    Error::step(&program, kind, name, action, f.errno)
}
