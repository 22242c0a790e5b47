//! `Command`: the spawn builder, in the spirit of `std::process::Command`.
//!
//! Everything the child needs is prepared here, in the parent, before the clone: argv and envp
//! as C arrays, the PATH candidates, the fd map with its moves computed, the close-on-exec
//! ranges. Bad input is refused here with an error naming what is wrong; no process is made.

use crate::attr::{sig_bit, Attributes};
use crate::child::Child;
use crate::error::{Error, ErrorKind, Result};
use crate::exec::{CStringArray, Candidates, Envp, ExecTarget, SearchRules, ShellFallback};
use crate::stdio::Stdio;
use crate::sys::child::{ChildPlan, Failure, FdAction, Report, Step};
use crate::sys::clone::CloneRequest;
use std::cell::Cell;
use std::collections::BTreeMap;
use std::ffi::{CString, OsStr, OsString};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

/// How the program name is turned into a file to exec.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathLookup {
    /// Search PATH like execvp when the name has no '/' (the default).
    Search(SearchRules),
    /// Use the name as given (execve semantics).
    Off,
}

/// A process to spawn. Build it, then call [`Command::spawn`], [`Command::status`] or
/// [`Command::output`].
#[derive(Debug)]
pub struct Command {
    program: OsString,
    /// argv, with argv[0] = arg0 or the program.
    argv: CStringArray,
    env_clear: bool,
    env: BTreeMap<OsString, Option<OsString>>,
    cwd: Option<(PathBuf, CString)>,
    stdin: Option<Stdio>,
    stdout: Option<Stdio>,
    stderr: Option<Stdio>,
    /// Extra fds: child fd -> parent fd (or closed).
    pub(crate) fd_map: Vec<(RawFd, Option<OwnedFd>)>,
    pub(crate) keep_fds: bool,
    kill_on_drop: bool,
    lookup: PathLookup,
    shell: ShellFallback,
    pub(crate) attrs: Attributes,
    /// The first bad input seen by a builder method: (what, why).
    pub(crate) invalid: Option<(String, String)>,
    /// Cached exec target, valid while the PATH it was computed from and argc are unchanged.
    target: Option<(Option<OsString>, ExecTarget)>,
}

fn to_cstring(bytes: &[u8]) -> std::result::Result<CString, usize> {
    CString::new(bytes).map_err(|e| e.nul_position())
}

impl Command {
    /// A command for `program` with no arguments, the parent's environment, cwd and stdio.
    pub fn new(program: impl AsRef<OsStr>) -> Command {
        let program = program.as_ref().to_os_string();
        let mut cmd = Command {
            program: program.clone(),
            argv: CStringArray::with_capacity(4),
            env_clear: false,
            env: BTreeMap::new(),
            cwd: None,
            stdin: None,
            stdout: None,
            stderr: None,
            fd_map: Vec::new(),
            keep_fds: false,
            kill_on_drop: false,
            lookup: PathLookup::Search(SearchRules::Glibc),
            shell: ShellFallback::Off,
            attrs: Attributes::default(),
            invalid: None,
            target: None,
        };
        match to_cstring(program.as_bytes()) {
            Ok(c) => cmd.argv.push(c),
            Err(at) => {
                cmd.argv.push(CString::default());
                cmd.refuse(
                    "program name",
                    format!("it contains a NUL byte at offset {at}"),
                );
            }
        }
        cmd
    }

    pub(crate) fn refuse(&mut self, what: impl Into<String>, why: impl Into<String>) {
        if self.invalid.is_none() {
            self.invalid = Some((what.into(), why.into()));
        }
    }

    /// The program as given.
    pub fn get_program(&self) -> &OsStr {
        &self.program
    }

    /// The program name for messages.
    pub(crate) fn program_display(&self) -> String {
        self.program.to_string_lossy().into_owned()
    }

    /// Adds an argument.
    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Self {
        let arg = arg.as_ref();
        match to_cstring(arg.as_bytes()) {
            Ok(c) => self.argv.push(c),
            Err(at) => {
                let n = self.argv.len();
                self.refuse(
                    format!("argument {n}"),
                    format!("it contains a NUL byte at offset {at}"),
                );
            }
        }
        self.target = None;
        self
    }

    /// Adds arguments.
    pub fn args<I, S>(&mut self, args: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        for a in args {
            self.arg(a);
        }
        self
    }

    /// Sets `argv[0]` (by default the program as given).
    pub fn arg0(&mut self, arg0: impl AsRef<OsStr>) -> &mut Self {
        match to_cstring(arg0.as_ref().as_bytes()) {
            Ok(c) => self.argv.set(0, c),
            Err(at) => self.refuse("arg0", format!("it contains a NUL byte at offset {at}")),
        }
        self
    }

    /// The arguments after `argv[0]`.
    pub fn get_args(&self) -> impl Iterator<Item = &OsStr> {
        self.argv
            .iter()
            .skip(1)
            .map(|c| OsStr::from_bytes(c.to_bytes()))
    }

    fn check_env_key(&mut self, key: &OsStr) -> bool {
        let k = key.as_bytes();
        if k.is_empty() {
            self.refuse("environment variable name", "it is empty");
            false
        } else if let Some(at) = k.iter().position(|&b| b == b'=') {
            self.refuse(
                format!("environment variable name {:?}", key.to_string_lossy()),
                format!("it contains '=' at offset {at}"),
            );
            false
        } else if let Some(at) = k.iter().position(|&b| b == 0) {
            self.refuse(
                "environment variable name",
                format!("it contains a NUL byte at offset {at}"),
            );
            false
        } else {
            true
        }
    }

    /// Sets an environment variable for the child.
    pub fn env(&mut self, key: impl AsRef<OsStr>, val: impl AsRef<OsStr>) -> &mut Self {
        let (key, val) = (key.as_ref(), val.as_ref());
        if self.check_env_key(key) {
            if let Some(at) = val.as_bytes().iter().position(|&b| b == 0) {
                self.refuse(
                    format!("value of environment variable {:?}", key.to_string_lossy()),
                    format!("it contains a NUL byte at offset {at}"),
                );
            }
            self.env
                .insert(key.to_os_string(), Some(val.to_os_string()));
            if key == "PATH" {
                self.target = None;
            }
        }
        self
    }

    /// Sets several environment variables.
    pub fn envs<I, K, V>(&mut self, vars: I) -> &mut Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        for (k, v) in vars {
            self.env(k, v);
        }
        self
    }

    /// Removes a variable from the child's environment.
    pub fn env_remove(&mut self, key: impl AsRef<OsStr>) -> &mut Self {
        let key = key.as_ref();
        if self.check_env_key(key) {
            self.env.insert(key.to_os_string(), None);
            self.target = None;
        }
        self
    }

    /// Starts the child with an empty environment (plus what `env` adds afterwards).
    ///
    /// By default the child inherits the process's `environ` as it is at the moment of the
    /// spawn, without a copy (as posix_spawn and execv do). If another thread's
    /// `std::env::set_var` moves that array during the exec (EFAULT), the spawn retries once
    /// with a copy taken under std's env lock. A program that changes its environment from
    /// other threads while it spawns (unsound by std's own rules, yet common) can also pass the
    /// copy up front: `cmd.env_clear().envs(std::env::vars_os())`. tests/env_churn.rs runs both
    /// against a thread that calls set_var in a loop.
    pub fn env_clear(&mut self) -> &mut Self {
        self.env_clear = true;
        self.env.clear();
        self.target = None;
        self
    }

    /// The child's working directory (relative paths resolve against the parent's cwd at spawn,
    /// or inside the chroot when one is set).
    pub fn current_dir(&mut self, dir: impl AsRef<Path>) -> &mut Self {
        let dir = dir.as_ref();
        match to_cstring(dir.as_os_str().as_bytes()) {
            Ok(c) => self.cwd = Some((dir.to_path_buf(), c)),
            Err(at) => self.refuse(
                "working directory",
                format!("it contains a NUL byte at offset {at}"),
            ),
        }
        self
    }

    /// The child's stdin.
    pub fn stdin(&mut self, s: impl Into<Stdio>) -> &mut Self {
        self.stdin = Some(s.into());
        self
    }

    /// The child's stdout.
    pub fn stdout(&mut self, s: impl Into<Stdio>) -> &mut Self {
        self.stdout = Some(s.into());
        self
    }

    /// The child's stderr.
    pub fn stderr(&mut self, s: impl Into<Stdio>) -> &mut Self {
        self.stderr = Some(s.into());
        self
    }

    /// Child fd `child_fd` gets `fd` (Go's `Files`, command-fds' `FdMapping`). Swaps and cycles
    /// between mappings are handled. `fd` is closed in the parent after the spawn.
    pub fn fd(&mut self, child_fd: RawFd, fd: impl Into<OwnedFd>) -> &mut Self {
        if child_fd < 0 {
            self.refuse(
                format!("child fd {child_fd}"),
                "fd numbers are not negative",
            );
        }
        self.fd_map.push((child_fd, Some(fd.into())));
        self
    }

    /// Child fd `child_fd` is closed even if the parent has it open (e.g. fd 0).
    pub fn close_fd(&mut self, child_fd: RawFd) -> &mut Self {
        if child_fd < 0 {
            self.refuse(
                format!("child fd {child_fd}"),
                "fd numbers are not negative",
            );
        }
        self.fd_map.push((child_fd, None));
        self
    }

    /// Keep every inherited fd that is not close-on-exec (std's behaviour). By default the
    /// child sees only fds 0-2 and the mapped ones.
    pub fn keep_fds(&mut self, keep: bool) -> &mut Self {
        self.keep_fds = keep;
        self
    }

    /// Kill the child with SIGKILL (and reap it) when the `Child` is dropped.
    pub fn kill_on_drop(&mut self, yes: bool) -> &mut Self {
        self.kill_on_drop = yes;
        self
    }

    /// How the program is found: PATH search (glibc or musl rules) or the name as given.
    pub fn path_lookup(&mut self, lookup: PathLookup) -> &mut Self {
        self.lookup = lookup;
        self.target = None;
        self
    }

    /// Whether a file that exec rejects with ENOEXEC (no `#!`, no known format) runs under
    /// `/bin/sh`, as execvp does. Off by default, as in posix_spawnp, Go and CPython.
    pub fn shell_fallback(&mut self, on: bool) -> &mut Self {
        self.shell = if on {
            ShellFallback::Sh
        } else {
            ShellFallback::Off
        };
        self.target = None;
        self
    }

    /// Spawns the child and returns its handle once it has exec'd.
    pub fn spawn(&mut self) -> Result<Child> {
        self.spawn_with_stdio_defaults([StdioDefault::Inherit; 3])
    }

    /// Spawns, waits and returns the exit status (stdio inherited unless set).
    pub fn status(&mut self) -> Result<std::process::ExitStatus> {
        let mut child = self.spawn()?;
        child.wait().map_err(|e| {
            Error::step(
                &self.program_display(),
                ErrorKind::Parent,
                "wait",
                "wait",
                e.raw_os_error().unwrap_or(libc::EIO),
            )
        })
    }

    /// Spawns with stdout and stderr piped (stdin null unless set), collects both, waits.
    pub fn output(&mut self) -> Result<std::process::Output> {
        let child = self.spawn_with_stdio_defaults([
            StdioDefault::Null,
            StdioDefault::Piped,
            StdioDefault::Piped,
        ])?;
        child.wait_with_output().map_err(|e| {
            Error::step(
                &self.program_display(),
                ErrorKind::Parent,
                "wait",
                "collect output",
                e.raw_os_error().unwrap_or(libc::EIO),
            )
        })
    }

    fn exec_target(&mut self) -> Result<&ExecTarget> {
        // The PATH that decides the search: the child's if this Command sets or removes it
        // (as std does), otherwise the caller's.
        let searching = matches!(self.lookup, PathLookup::Search(_))
            && !self.program.as_bytes().contains(&b'/');
        let path: Option<OsString> = match self.env.get(OsStr::new("PATH")) {
            _ if !searching => None,
            Some(v) => v.clone(),
            None if self.env_clear => None,
            None => std::env::var_os("PATH"),
        };
        let fresh = matches!(&self.target, Some((p, t)) if *p == path && t.argc_capacity() >= self.argv.len());
        if !fresh {
            let name = self.program.as_bytes();
            let candidates = match self.lookup {
                PathLookup::Off => {
                    if name.is_empty() {
                        Err(libc::ENOENT)
                    } else {
                        CString::new(name)
                            .map(Candidates::direct)
                            .map_err(|_| libc::EINVAL)
                    }
                }
                PathLookup::Search(rules) => {
                    Candidates::search(name, path.as_ref().map(|p| p.as_bytes()), rules)
                }
            };
            let candidates = candidates.map_err(|errno| {
                let program = self.program_display();
                Error::step(
                    &program,
                    ErrorKind::Child,
                    "exec",
                    format!("execute {program:?}"),
                    errno,
                )
            })?;
            let rules = match self.lookup {
                PathLookup::Search(r) => r,
                PathLookup::Off => SearchRules::Glibc,
            };
            self.target = Some((
                path,
                ExecTarget::new(candidates, rules, self.shell, self.argv.len()),
            ));
        }
        Ok(&self.target.as_ref().expect("set above").1)
    }

    fn envp(&self) -> Envp {
        // An unchanged environment is passed as the live `environ`, as glibc's posix_spawn and
        // execv do: no copy per spawn. Copying it (std::env::vars_os, under std's env lock)
        // costs ~9 us per spawn measured here, 10% of a whole spawn. The price: a thread that
        // calls setenv / std::env::set_var *while* we spawn may realloc that array under the
        // child's execve. That shows as EFAULT, and the spawn then retries once with a snapshot
        // (see spawn_with_stdio_defaults); std documents such set_var calls as unsound anyway,
        // and `env_clear().envs(vars_os())` gives a snapshot up front.
        if !self.env_clear && self.env.is_empty() {
            return Envp::Inherit;
        }
        let mut vars: BTreeMap<OsString, OsString> = if self.env_clear {
            BTreeMap::new()
        } else {
            std::env::vars_os().collect()
        };
        for (k, v) in &self.env {
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

    /// Spawns; `defaults` say what fds 0, 1 and 2 are where the Command does not set them
    /// (`output` pipes stdout and stderr). Fds the Command holds (`Stdio::Fd`, the fd map) are
    /// lent to the child, not consumed: the Command can spawn again, as std's can.
    pub(crate) fn spawn_with_stdio_defaults(
        &mut self,
        defaults: [StdioDefault; 3],
    ) -> Result<Child> {
        if let Some((what, why)) = &self.invalid {
            return Err(Error::invalid(
                &self.program_display(),
                what.clone(),
                why.clone(),
            ));
        }
        if self.program.is_empty() {
            return Err(Error::invalid("", "program name", "it is empty"));
        }
        crate::attr::validate(self)?;
        let envp = self.envp();
        self.exec_target()?;

        // The fd plan: stdio first, then the extra mappings.
        let mut fds = FdPlan::default();
        fn parent_err(program: &OsStr, step: &'static str, what: &str, e: std::io::Error) -> Error {
            Error::step(
                &program.to_string_lossy(),
                ErrorKind::Parent,
                step,
                what.to_string(),
                e.raw_os_error().unwrap_or(libc::EIO),
            )
        }
        let mut parent_ends: [Option<OwnedFd>; 3] = [None, None, None];
        for (target, default) in defaults.into_iter().enumerate() {
            let target = target as RawFd;
            let set = match target {
                0 => &self.stdin,
                1 => &self.stdout,
                _ => &self.stderr,
            };
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
                        .map_err(|e| parent_err(&self.program, "open", "open /dev/null", e))?;
                    fds.give(target, OwnedFd::from(null));
                }
                StdioDefault::Piped => {
                    let (r, w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
                        .map_err(|e| {
                            parent_err(&self.program, "pipe", "create a pipe", e.into())
                        })?;
                    let (mine, theirs) = if target == 0 { (w, r) } else { (r, w) };
                    parent_ends[target as usize] = Some(mine);
                    fds.give(target, theirs);
                }
            }
        }
        for (target, fd) in &self.fd_map {
            if fds.actions.iter().any(|a| a.target == *target) {
                return Err(Error::invalid(
                    &self.program.to_string_lossy(),
                    format!("fd map for child fd {target}"),
                    "that child fd is already set",
                ));
            }
            fds.lend(*target, fd.as_ref().map_or(-1, |f| f.as_raw_fd()));
        }
        fds.finish(self.keep_fds);

        let report = Report::default();
        let target = &self.target.as_ref().expect("exec_target set it").1;
        let a = &self.attrs;
        let chroot = a.chroot.as_ref().map_or(std::ptr::null(), |c| c.as_ptr());
        let chdir = self
            .cwd
            .as_ref()
            .map_or(std::ptr::null(), |(_, c)| c.as_ptr());
        // Foreground implies a new group led by the child unless one is given (as in Go).
        let pgid = match (a.pgid, a.foreground_fd) {
            (None, Some(_)) => Some(0),
            (g, _) => g,
        };
        let mut plan = ChildPlan {
            report: &report,
            exec: target,
            argv: self.argv.as_ptr(),
            envp: crate::sys::exec::envp_ptr(&envp),
            wait_fd: -1,
            status_fd: -1,
            setsid: a.setsid,
            pgid,
            foreground_fd: a.foreground_fd.unwrap_or(-1),
            // SIGPIPE goes back to SIG_DFL even when ignored dispositions are kept: Rust's
            // runtime ignores it in every program, not by the user's choice.
            sig_default: (a.sig_default | sig_bit(libc::SIGPIPE)) & !a.sig_ignore,
            sig_ignore: a.sig_ignore,
            reset_ignored: a.reset_ignored_signals,
            sig_mask: a.sig_mask,
            unshare_flags: a.unshare_ns,
            remount_private: a.unshare_ns & libc::CLONE_NEWNS != 0
                || a.clone_ns & libc::CLONE_NEWNS != 0,
            rlimits: &a.rlimits,
            nice: a.nice,
            scheduler: a.scheduler,
            umask: a.umask,
            chroot,
            keep_caps: a.ambient_caps != 0 && a.uid.is_some(),
            groups: a.effective_groups(),
            gid: a.gid,
            uid: a.uid,
            ambient_caps: a.ambient_caps,
            chdir,
            pdeathsig: a.pdeathsig.unwrap_or(0),
            parent_pid: if a.pdeathsig.is_some() {
                std::process::id() as i32
            } else {
                0
            },
            check_parent: a.clone_ns & libc::CLONE_NEWPID == 0,
            fds: &fds.actions,
            fd_scratch: &fds.scratch,
            close_ranges: &fds.close_ranges,
            noctty: a.noctty,
            setctty_fd: a.setctty_fd.unwrap_or(-1),
            no_new_privs: a.no_new_privs,
            ptrace: a.ptrace,
        };
        let cgroup = match &a.cgroup {
            Some(dir) => Some(std::fs::File::open(dir).map_err(|e| {
                parent_err(
                    &self.program,
                    "open",
                    &format!("open cgroup {}", dir.display()),
                    e,
                )
            })?),
            None => None,
        };
        let needs_release = !a.uid_map.is_empty() || !a.gid_map.is_empty();
        let req = CloneRequest {
            extra_flags: a.clone_ns as u64,
            vfork: !needs_release,
            cgroup_fd: cgroup.as_ref().map(|f| f.as_raw_fd()),
        };
        let attrs = needs_release.then(|| a.clone());
        let spawn_once = |plan: &mut ChildPlan| match &attrs {
            Some(attrs) => crate::sys::spawn::spawn_release(plan, &req, &mut |pid| {
                crate::attr::write_id_maps(attrs, pid)
            }),
            None => crate::sys::spawn::spawn_vfork(plan, &req),
        };
        let mut spawned = spawn_once(&mut plan);
        // EFAULT from execve with the inherited (live) environ: argv and the path are ours, so
        // another thread's setenv moved the environ array under the exec. Retry once with a
        // snapshot taken under std's env lock. Costs nothing unless it happens.
        let snapshot;
        let retry_report = Report::default();
        if matches!(envp, Envp::Inherit)
            && matches!(spawned, Err(f) if f.step == Step::Exec && f.errno == libc::EFAULT)
        {
            snapshot = Envp::Explicit(CStringArray::from_env_snapshot());
            plan.envp = crate::sys::exec::envp_ptr(&snapshot);
            plan.report = &retry_report;
            spawned = spawn_once(&mut plan);
        }
        drop(fds); // closes the child's ends of pipes and the mapped fds in the parent
        match spawned {
            Ok(s) => {
                let [stdin, stdout, stderr] = parent_ends;
                Ok(Child::new(
                    s.pid,
                    s.pidfd,
                    stdin,
                    stdout,
                    stderr,
                    self.kill_on_drop,
                    // Only a child that made its own group leads it (pgid == its pid).
                    a.setsid || pgid == Some(0),
                ))
            }
            Err(f) => Err(self.describe_failure(f)),
        }
    }

    /// Turns a child-side failure into an error naming the step and what it was doing.
    fn describe_failure(&self, f: Failure) -> Error {
        let program = self.program_display();
        let a = &self.attrs;
        let (name, action): (&'static str, String) = match f.step {
            Step::Exec => ("exec", format!("execute {program:?}")),
            Step::Chdir => {
                let dir = self
                    .cwd
                    .as_ref()
                    .map(|(p, _)| p.display().to_string())
                    .unwrap_or_default();
                ("chdir", format!("chdir to {dir:?}"))
            }
            Step::Clone => ("clone", "create the process (clone)".into()),
            Step::Setsid => ("setsid", "setsid".into()),
            Step::Setpgid => ("setpgid", format!("setpgid(0, {})", f.detail)),
            Step::Foreground => (
                "tcsetpgrp",
                format!("make the child the foreground group of fd {}", f.detail),
            ),
            Step::SignalDispositions => (
                "sigaction",
                format!("set the disposition of signal {}", f.detail),
            ),
            Step::ResetSignalHandlers => (
                "sigaction",
                format!("reset the handler of signal {}", f.detail),
            ),
            Step::SignalMask => ("sigprocmask", "set the signal mask".into()),
            Step::Unshare => (
                "unshare",
                format!("unshare({})", crate::attr::namespace_names(f.detail as i32)),
            ),
            Step::RemountPrivate => (
                "mount",
                "remount / private in the new mount namespace".into(),
            ),
            Step::Rlimit => (
                "setrlimit",
                format!("set {}", crate::attr::rlimit_name(f.detail as i32)),
            ),
            Step::Nice => ("setpriority", format!("set nice {}", f.detail)),
            Step::Scheduler => (
                "sched_setscheduler",
                format!("set scheduling policy {}", f.detail),
            ),
            Step::Umask => ("umask", format!("set umask {:o}", f.detail)),
            Step::Chroot => {
                let dir = a
                    .chroot
                    .as_ref()
                    .map(|c| c.to_string_lossy().into_owned())
                    .unwrap_or_default();
                ("chroot", format!("chroot to {dir:?}"))
            }
            Step::KeepCaps => ("prctl", "prctl(PR_SET_KEEPCAPS)".into()),
            Step::Setgroups => (
                "setgroups",
                format!("setgroups({:?})", a.groups.clone().unwrap_or_default()),
            ),
            Step::Setgid => ("setgid", format!("setgid({})", f.detail)),
            Step::Setuid => ("setuid", format!("setuid({})", f.detail)),
            Step::Capabilities => ("capset", "set capabilities (capset)".into()),
            Step::AmbientCaps => ("prctl", format!("raise ambient capability {}", f.detail)),
            Step::Pdeathsig => ("prctl", format!("set the parent-death signal {}", f.detail)),
            Step::ParentDied => (
                "pdeathsig",
                "start: the parent died before the parent-death signal was set".into(),
            ),
            Step::FdMove => ("dup", format!("move parent fd {} out of the way", f.detail)),
            Step::FdMap => ("dup2", format!("set up child fd {}", f.detail)),
            Step::CloseFds => ("close_range", format!("close fds from {}", f.detail)),
            Step::Noctty => (
                "ioctl",
                "detach the controlling terminal (TIOCNOTTY)".into(),
            ),
            Step::Setctty => (
                "ioctl",
                format!("make fd {} the controlling terminal (TIOCSCTTY)", f.detail),
            ),
            Step::NoNewPrivs => ("prctl", "set no_new_privs".into()),
            Step::Ptrace => ("ptrace", "ptrace(PTRACE_TRACEME)".into()),
            Step::WaitForParent => ("read", "wait for the parent".into()),
            Step::UserNamespaceMaps => ("uid_map", "write the user namespace id maps".into()),
            Step::None => ("unknown", "spawn".into()),
        };
        let kind = if f.step == Step::Clone {
            ErrorKind::Parent
        } else {
            ErrorKind::Child
        };
        Error::step(&program, kind, name, action, f.errno)
    }
}

/// What a standard fd is when the Command does not say.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum StdioDefault {
    Inherit,
    Null,
    Piped,
}

/// The fd map in prepared form.
#[derive(Default)]
struct FdPlan {
    /// Owned sources: kept open until the child has exec'd, closed in the parent after.
    owned: Vec<OwnedFd>,
    actions: Vec<FdAction>,
    scratch: Vec<Cell<i32>>,
    close_ranges: Vec<(u32, u32)>,
}

impl FdPlan {
    /// Child fd `target` gets `source`, an fd someone else keeps open (-1: close `target`).
    fn lend(&mut self, target: RawFd, source: RawFd) {
        self.actions.push(FdAction {
            target,
            source,
            needs_move: false,
        });
    }

    /// Child fd `target` gets `fd`, made for this spawn and closed in the parent after it.
    fn give(&mut self, target: RawFd, fd: OwnedFd) {
        self.lend(target, fd.as_raw_fd());
        self.owned.push(fd);
    }

    /// Computes which sources must move before the dups, and the fds to close.
    fn finish(&mut self, keep_fds: bool) {
        let targets: Vec<RawFd> = self.actions.iter().map(|a| a.target).collect();
        for (i, a) in self.actions.iter_mut().enumerate() {
            a.needs_move = a.source >= 0
                && targets
                    .iter()
                    .enumerate()
                    .any(|(j, &t)| j != i && t == a.source);
        }
        self.scratch = self.actions.iter().map(|_| Cell::new(-1)).collect();
        if keep_fds {
            return;
        }
        // Keep 0-2 and every mapped (not closed) target; mark all the gaps close-on-exec.
        let mut keep: Vec<u32> = vec![0, 1, 2];
        keep.extend(
            self.actions
                .iter()
                .filter(|a| a.source >= 0)
                .map(|a| a.target as u32),
        );
        keep.sort_unstable();
        keep.dedup();
        let mut next = 0u32;
        for k in keep {
            if k > next {
                self.close_ranges.push((next, k - 1));
            }
            next = k + 1;
        }
        self.close_ranges.push((next, u32::MAX));
    }
}

impl From<std::process::Command> for Command {
    /// Takes program, args, environment changes and cwd (std exposes no more).
    fn from(std_cmd: std::process::Command) -> Self {
        let mut cmd = Command::new(std_cmd.get_program());
        cmd.args(std_cmd.get_args());
        for (k, v) in std_cmd.get_envs() {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        if let Some(dir) = std_cmd.get_current_dir() {
            cmd.current_dir(dir);
        }
        cmd
    }
}
