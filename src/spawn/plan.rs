//! Preparing a spawn: from the user's [`Spec`] to everything the child sequence will read,
//! validated and laid out before any clone.
//!
//! Nothing here creates a process. What it computes (the environment, the exec target with its
//! PATH candidates, the fd map with its moves and close-on-exec ranges, the attribute values in
//! the child's order) is checked by unit tests below without spawning; the one step with side
//! effects, opening stdio pipes and /dev/null, is `stdio_fds` in `spawn/mod.rs`.

use super::fds::FdPlan;
use super::spec::{CachedTarget, Spec};
use crate::attr::{self, sig_bit};
use crate::error::{Error, ErrorStage};
use crate::exec::{CStringArray, Candidates, Envp, ExecTarget, PathLookup, SearchRules};
use crate::sys::child_sequence::{ChildPlan, FdHiding, Report, SandboxPlan};
use crate::sys::exec_loop::ExecCandidates;
use std::collections::BTreeMap;
use std::ffi::{CString, OsStr, OsString};
use std::os::raw::c_char;
use std::os::unix::ffi::{OsStrExt, OsStringExt};

/// Refuses bad input before anything is opened or cloned: what a builder method recorded, fds
/// an earlier spawn gave away, and contradictory attributes. (An empty program is not bad
/// input: like execvp and std, it fails to execute with ENOENT, in `exec_target`.)
pub(crate) fn validate(spec: &Spec) -> Result<(), Error> {
    let refuse = |what: &str, why: &str| Err(Error::invalid(&spec.program, what, why));
    if let Some((what, why)) = &spec.invalid {
        return refuse(what, why);
    }
    if let Some(fd) = spec.given_away.first() {
        return refuse(
            &format!("child fd {fd}"),
            "its fd was given to the child of an earlier spawn and closed in this process; \
             set it again, or call retain_fds(true) before the first spawn to keep it",
        );
    }
    let a = &spec.attrs;
    if !spec.pre_exec.0.is_empty() && (a.clone_ns != 0 || a.cgroup.is_some()) {
        return refuse(
            "pre_exec",
            "its closures run in a child made by fork(2), which cannot start in new namespaces \
             or a cgroup (clone_namespaces, uid_map, gid_map, cgroup); use unshare_namespaces, \
             or drop pre_exec for the built-in attributes",
        );
    }
    attr::validate(a, |fd| child_fd_is_open(spec, fd))
        .map_err(|(what, why)| Error::invalid(&spec.program, what, why))?;
    check_fd_limit(spec)
}

/// A child fd at or above the child's RLIMIT_NOFILE cannot exist: dup2 onto it fails with a
/// bare EBADF. Say which limit is in the way instead (only when fds are mapped: one getrlimit).
fn check_fd_limit(spec: &Spec) -> Result<(), Error> {
    let Some(&(highest, _)) = spec.fd_map.iter().max_by_key(|(t, _)| *t) else {
        return Ok(());
    };
    let nofile = libc::RLIMIT_NOFILE as i32;
    let (soft, set_here) = match spec.attrs.rlimits.iter().find(|r| r.resource == nofile) {
        Some(r) => (r.soft, true),
        None => (
            attr::Resource::try_from(nofile).map_or(u64::MAX, |r| r.current().0),
            false,
        ),
    };
    if (highest as u64) < soft {
        return Ok(());
    }
    let whose = if set_here {
        "set by rlimit"
    } else {
        "inherited"
    };
    Err(Error::invalid(
        &spec.program,
        format!("child fd {highest}"),
        format!(
            "it is not below the child's fd limit (RLIMIT_NOFILE soft limit {soft}, {whose}); \
             raise it with rlimit nofile=SOFT:HARD"
        ),
    ))
}

/// Whether the child will have `fd` open after the fd map.
fn child_fd_is_open(spec: &Spec, fd: i32) -> bool {
    if let Some((_, source)) = spec.fd_map.iter().rev().find(|(t, _)| *t == fd) {
        return source.is_some();
    }
    // 0-2 always exist (inherited or set up as stdio); others only when inherited.
    (0..=2).contains(&fd) || (spec.keep_fds && crate::fd::is_open(fd))
}

/// The environment the child gets.
///
/// An unchanged environment is passed as the live `environ`, as glibc's posix_spawn and execv
/// do: no copy per spawn. Copying it (std::env::vars_os, under std's env lock) costs ~9 us per
/// spawn measured here, 10% of a whole spawn. The price: a thread that calls setenv /
/// std::env::set_var *while* we spawn may realloc that array under the child's execve. That
/// shows as EFAULT, and the spawn then retries once with a snapshot (`spawn::spawn`); std
/// documents such set_var calls as unsound anyway, and `env_clear().envs(vars_os())` gives a
/// snapshot up front.
pub(crate) fn envp(spec: &Spec) -> Envp {
    if !spec.env_clear && spec.env.is_empty() {
        return Envp::Inherit;
    }
    let mut vars: BTreeMap<OsString, OsString> = if spec.env_clear {
        BTreeMap::new()
    } else {
        std::env::vars_os().collect()
    };
    for (k, v) in &spec.env {
        match v {
            Some(v) => {
                vars.insert(k.clone(), v.clone());
            }
            None => {
                vars.remove(k);
            }
        }
    }
    let mut envp = CStringArray::with_capacity(vars.len());
    for (k, v) in vars {
        let mut kv = k.into_vec();
        kv.push(b'=');
        kv.extend_from_slice(v.as_bytes());
        // NULs were refused by env(); an inherited variable cannot contain one.
        if let Ok(c) = CString::new(kv) {
            envp.push(c);
        }
    }
    Envp::Explicit(envp)
}

/// The PATH that decides the search: the child's if the request sets or removes it (as std
/// does), otherwise the caller's; `None` when no search happens or PATH is unset.
pub(crate) fn search_path(spec: &Spec) -> Option<OsString> {
    let searching =
        matches!(spec.lookup, PathLookup::Search(_)) && !spec.program.as_bytes().contains(&b'/');
    match spec.env.get(OsStr::new("PATH")) {
        _ if !searching => None,
        Some(v) => v.clone(),
        None if spec.env_clear => None,
        None => std::env::var_os("PATH"),
    }
}

/// The exec target (candidates in order, rules, shell fallback), computed once and kept in the
/// spec while the PATH it came from and argc are unchanged.
pub(crate) fn exec_target(spec: &mut Spec) -> Result<&ExecTarget, Error> {
    let path = search_path(spec);
    let fresh = matches!(&spec.target,
        Some(c) if c.path == path && c.target.argc_capacity() >= spec.argv.len());
    if !fresh {
        let name = spec.program.as_bytes();
        let candidates = match spec.lookup {
            PathLookup::Off if name.is_empty() => Err(libc::ENOENT),
            PathLookup::Off => CString::new(name)
                .map(Candidates::direct)
                .map_err(|_| libc::EINVAL),
            PathLookup::Search(rules) => {
                Candidates::search(name, path.as_ref().map(|p| p.as_bytes()), rules)
            }
        };
        let candidates = candidates.map_err(|errno| {
            let action = format!("execute {}", crate::quoting::quote(name));
            Error::step(&spec.program, ErrorStage::Child, "exec", action, errno)
        })?;
        let rules = match spec.lookup {
            PathLookup::Search(r) => r,
            PathLookup::Off => SearchRules::Glibc,
        };
        let target = ExecTarget::new(candidates, rules, spec.shell, spec.argv.len());
        spec.target = Some(CachedTarget { path, target });
    }
    Ok(&spec.target.as_ref().expect("set above").target)
}

/// What the child execs: the candidates (or a file), with argv and envp.
pub(crate) struct ExecCall<'a> {
    pub exec: ExecCandidates<'a>,
    pub argv: *const *const c_char,
    pub envp: *const *const c_char,
}

impl<'a> ExecCall<'a> {
    /// The spec's own exec: its target, its argv, `envp`.
    pub fn of(spec: &'a Spec, target: &'a ExecTarget, envp: &Envp) -> Self {
        ExecCall {
            exec: target.raw(),
            argv: spec.argv.as_ptr(),
            envp: envp.as_ptr(),
        }
    }
}

/// Lowers a validated spec into the raw view the child sequence executes. `call` is what the
/// child execs at the end, `fds` the spec's planned fd table. `parent_pid` is the process
/// whose death the parent-death signal follows: this one for a spawn, our parent for
/// `Command::exec`.
pub(crate) fn child_plan<'a>(
    spec: &'a Spec,
    call: ExecCall<'a>,
    fds: &'a FdPlan,
    report: &'a Report,
    parent_pid: i32,
) -> ChildPlan<'a> {
    let a = &spec.attrs;
    let cstr_or_null = |c: Option<&'a CString>| c.map_or(std::ptr::null(), |c| c.as_ptr());
    ChildPlan {
        report,
        exec: call.exec,
        argv: call.argv,
        envp: call.envp,
        wait_fd: -1,
        status_fd: -1,
        // A pty makes the child lead a session whose terminal it is (fd 0 after the map).
        setsid: a.setsid || a.sandbox.pty.is_some(),
        pgid: process_group(spec),
        foreground_fd: a.foreground_fd.unwrap_or(-1),
        // SIGPIPE goes back to SIG_DFL even when ignored dispositions are kept: Rust's
        // runtime ignores it in every program, not by the user's choice.
        sig_default: (a.sig_default | sig_bit(libc::SIGPIPE)) & !a.sig_ignore,
        sig_ignore: a.sig_ignore,
        reset_ignored: a.reset_ignored_signals,
        sig_mask: a.sig_mask,
        unshare_flags: a.unshare_ns,
        root_propagation: if (a.unshare_ns | a.clone_ns) & libc::CLONE_NEWNS != 0 {
            a.sandbox.propagation.unwrap_or_default().mount_flags()
        } else {
            0
        },
        rlimits: &a.rlimits,
        nice: a.nice,
        scheduler: a.scheduler,
        umask: a.umask,
        chroot: cstr_or_null(a.chroot.as_ref()),
        keep_caps: a.ambient_caps != 0 && a.uid.is_some(),
        groups: a.effective_groups(),
        gid: a.gid,
        uid: a.uid,
        ambient_caps: a.ambient_caps,
        chdir: cstr_or_null(spec.cwd.as_ref().map(|(_, c)| c)),
        pdeathsig: a.pdeathsig.unwrap_or(0),
        parent_pid,
        check_parent: a.clone_ns & libc::CLONE_NEWPID == 0,
        fds: &fds.actions,
        fd_scratch: &fds.scratch,
        close_ranges: &fds.close_ranges,
        // The spawn sets the method the kernel supports (`sys::features`).
        fd_hiding: FdHiding::CloseRange,
        fd_candidates: &[],
        fd_scan_below: 0,
        noctty: a.noctty,
        setctty_fd: match a.sandbox.pty {
            Some(_) => 0,
            None => a.setctty_fd.unwrap_or(-1),
        },
        no_new_privs: a.no_new_privs,
        ptrace: a.ptrace,
        // Filled by the spawn from the fds it opens for this spawn (spawn/sandbox.rs).
        sandbox: SandboxPlan::default(),
    }
}

/// The group the child joins: foreground implies a new group led by the child unless one is
/// given (as in Go).
pub(crate) fn process_group(spec: &Spec) -> Option<i32> {
    match (spec.attrs.pgid, spec.attrs.foreground_fd) {
        (None, Some(_)) => Some(0),
        (g, _) => g,
    }
}

/// Whether the child leads its own process group (its pgid is its pid), so that killing the
/// group reaches only what it started.
pub(crate) fn leads_group(spec: &Spec) -> bool {
    spec.attrs.setsid || spec.attrs.sandbox.pty.is_some() || process_group(spec) == Some(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Command;

    fn spec_of(cmd: &mut Command) -> &mut Spec {
        cmd.spec_mut()
    }

    #[test]
    fn bad_input_is_refused_with_what_and_why() {
        let mut cmd = Command::new("echo");
        cmd.arg("a\0b");
        let err = validate(spec_of(&mut cmd)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid argument 1 for \"echo\": it contains a NUL byte at offset 1"
        );
        let mut cmd = Command::new("echo");
        cmd.setsid(true).process_group(0);
        let err = validate(spec_of(&mut cmd)).unwrap_err();
        assert!(err.to_string().contains("setsid already makes"), "{err}");
    }

    #[test]
    fn the_path_of_the_child_decides_the_search() {
        let mut cmd = Command::new("prog");
        cmd.env("PATH", "/opt/a:/opt/b");
        let t = exec_target(spec_of(&mut cmd)).unwrap();
        let paths: Vec<_> = t.candidates().paths().map(|p| p.to_owned()).collect();
        assert_eq!(paths, [c"/opt/a/prog", c"/opt/b/prog"]);
    }

    #[test]
    fn the_target_is_recomputed_when_path_changes() {
        let mut cmd = Command::new("prog");
        cmd.env("PATH", "/one");
        exec_target(spec_of(&mut cmd)).unwrap();
        cmd.env("PATH", "/two");
        let t = exec_target(spec_of(&mut cmd)).unwrap();
        let first = t.candidates().paths().next().unwrap().to_owned();
        assert_eq!(first, c"/two/prog".to_owned());
    }

    #[test]
    fn an_unchanged_environment_is_inherited_without_a_copy() {
        let mut cmd = Command::new("x");
        assert!(matches!(envp(spec_of(&mut cmd)), Envp::Inherit));
        cmd.env_clear().env("A", "1");
        match envp(spec_of(&mut cmd)) {
            Envp::Explicit(a) => assert_eq!(a.iter().collect::<Vec<_>>(), [c"A=1"]),
            Envp::Inherit => panic!("env_clear must give an explicit environment"),
        }
    }

    #[test]
    fn the_child_plan_carries_the_attributes_in_raw_form() {
        let mut cmd = Command::new("/bin/true");
        cmd.foreground(0)
            .umask(0o27)
            .ignore_signals("USR1")
            .chroot("/srv")
            .current_dir("/x");
        let spec = spec_of(&mut cmd);
        let envp = envp(spec);
        exec_target(spec).unwrap();
        let spec = &*spec;
        let target = &spec.target.as_ref().unwrap().target;
        let fds = FdPlan::default();
        let report = Report::default();
        let p = child_plan(spec, ExecCall::of(spec, target, &envp), &fds, &report, 1);
        assert_eq!(p.pgid, Some(0), "foreground implies a new group");
        assert_eq!(p.foreground_fd, 0);
        assert_eq!(p.umask, Some(0o27));
        assert_eq!(p.sig_ignore, sig_bit(libc::SIGUSR1));
        assert_eq!(
            p.sig_default & sig_bit(libc::SIGPIPE),
            sig_bit(libc::SIGPIPE)
        );
        // The paths are the spec's own C strings, not copies.
        assert_eq!(p.chroot, spec.attrs.chroot.as_ref().unwrap().as_ptr());
        assert_eq!(p.chdir, spec.cwd.as_ref().unwrap().1.as_ptr());
        assert!(leads_group(spec));
    }
}
