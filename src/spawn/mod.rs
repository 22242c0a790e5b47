//! Spawning: `Command` (what) -> prepared plan -> `sys` (the clone and the child sequence) ->
//! [`Child`], or a `{step, errno}` failure turned into an [`Error`].
//!
//! - [`spec`]: the user's request as data (what the builder writes);
//! - [`plan`]: validation and preparation, pure (unit-tested without spawning);
//! - [`fds`]: the child's fd table: moves for swaps and cycles, close-on-exec ranges;
//! - [`id_maps`]: the parent's part of a new user namespace;
//! - [`sandbox`]: namespaces to join, the pty, the pid-namespace hop's parent side;
//! - this file: the flow, and the one side effect before the clone (stdio pipes, /dev/null).

pub(crate) mod fds;
pub(crate) mod id_maps;
pub(crate) mod plan;
pub(crate) mod sandbox;
pub(crate) mod spec;

use crate::error::{Error, ErrorKind, Result};
use crate::exec::{CStringArray, Envp};
use crate::process::Child;
use crate::stdio::Stdio;
use crate::step::{SpawnStep, StepContext, StepFailure};
use crate::sys::child_sequence::Report;
use crate::sys::clone::CloneRequest;
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
    let (mut sandbox, with_pty) = sandbox::PreparedSandbox::prepare(spec, &mut fds)?;
    let parent_ends = if with_pty {
        [None, None, None]
    } else {
        stdio_fds(spec, defaults, &mut fds)?
    };
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

    let report = Report::default();
    let mut child_plan = plan::child_plan(spec, target, &envp, &fds, &report);
    child_plan.sandbox = sandbox.plan(spec);
    // After a pid-namespace hop the parent is outside the program's namespace: getppid is 0.
    child_plan.check_parent &= !sandbox.hops();
    let a = &spec.attrs;
    let cgroup = match &a.cgroup {
        Some(dir) => Some(open_cgroup(spec, dir)?),
        None => None,
    };
    let needs_release = !a.uid_map.is_empty() || !a.gid_map.is_empty();
    let req = CloneRequest {
        extra_flags: a.clone_ns as u64,
        vfork: !needs_release,
        cgroup_fd: cgroup.as_ref().map(|f| f.as_raw_fd()),
    };
    let launch_once = |p: &mut crate::sys::child_sequence::ChildPlan| {
        let launched = if needs_release {
            launch::spawn_release(p, &req, &mut |pid| id_maps::write_id_maps(a, pid))
        } else {
            launch::spawn_vfork(p, &req)
        };
        sandbox.finish_launch(launched)
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
    match launched {
        Ok(s) => {
            let [stdin, stdout, stderr] = parent_ends;
            let child = Child::new(
                s.pid,
                s.pidfd,
                [stdin, stdout, stderr],
                spec.kill_on_drop,
                plan::leads_group(spec),
                foreground(spec, s.pid),
            );
            Ok(child.with_pty(sandbox.take_pty()))
        }
        Err(f) => Err(describe_failure(spec, f)),
    }
}

/// The terminal and group of a foreground child: the group it joined, or its own.
fn foreground(spec: &Spec, pid: i32) -> Option<(i32, i32)> {
    let tty = spec.attrs.foreground_fd?;
    let pgrp = plan::process_group(spec).filter(|&g| g > 0).unwrap_or(pid);
    Some((tty, pgrp))
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
        &spec.program_display(),
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
        groups: a.groups.as_deref(),
        namespace_names: crate::attr::namespace_names,
        rlimit_name: crate::attr::rlimit_name,
    };
    let (name, action) = f.step.describe(f.detail, &cx);
    let kind = if f.step.is_parent_side() {
        ErrorKind::Parent
    } else {
        ErrorKind::Child
    };
    Error::step(&program, kind, name, action, f.errno)
}
