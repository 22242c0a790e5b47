//! `forkexec run`: spawn, forward signals, wait, exit with the child's status.
//!
//! Exit status: the child's; 128+N when it was killed by signal N; 127 when PROGRAM was not
//! found and 126 when it could not be run (as shells do); 2 for a usage mistake (a bad flag,
//! an unknown user, a contradiction the library refuses before any process exists); 125 when
//! forkexec itself failed around a running child (as env(1) and timeout(1)).

use crate::run_sandbox::Relay;
use crate::status_channel::StatusChannel;
use crate::supervisor::{exit_code, signal_child, Forwarder, Supervision};
use clap::Args;
use std::ffi::{OsStr, OsString};

/// The flags of `run`, which `exec` shares (refusing those that need a new process).
#[derive(Args, Debug, Default)]
pub struct RunArgs {
    /// Working directory of the child (Go: Dir; env -C / --chdir).
    #[arg(
        short = 'C',
        long,
        visible_alias = "chdir",
        value_name = "DIR",
        value_hint = clap::ValueHint::DirPath
    )]
    pub(crate) dir: Option<OsString>,
    /// Set an environment variable (repeatable).
    #[arg(long = "env", value_name = "K=V")]
    env: Vec<OsString>,
    /// Remove a variable from the environment (env -u / --unset). Repeatable.
    #[arg(short = 'u', long = "unset", value_name = "NAME")]
    unset: Vec<OsString>,
    /// Start from an empty environment (env -i / --ignore-environment).
    #[arg(short = 'i', long, visible_alias = "ignore-environment")]
    env_clear: bool,
    /// argv[0] for the program (exec -a).
    #[arg(long, value_name = "NAME")]
    arg0: Option<OsString>,
    /// Let the child inherit every fd without close-on-exec (default: only 0-2 and mapped fds).
    #[arg(long)]
    pub(crate) keep_fds: bool,
    /// Use PROGRAM as given, without a PATH search (execve semantics): `ls` means ./ls.
    #[arg(long)]
    no_path: bool,
    /// Run a PROGRAM the kernel refuses with ENOEXEC (no `#!`, no known format) as
    /// `/bin/sh PROGRAM ARG...`, as execvp, env(1) and the shells do. The default.
    #[arg(long, overrides_with = "no_shell_fallback")]
    shell_fallback: bool,
    /// Report ENOEXEC for such a PROGRAM instead of running it under /bin/sh (posix_spawnp's
    /// behaviour).
    #[arg(long, overrides_with = "shell_fallback")]
    no_shell_fallback: bool,
    /// Say on stderr how this kernel is used to spawn: clone form, pidfd, close-on-exec method.
    #[arg(long)]
    verbose: bool,
    #[command(flatten)]
    pub(crate) attrs: Box<crate::run_attrs::AttrArgs>,
    #[command(flatten)]
    pub(crate) loader: crate::run_loader::LoaderArgs,
    /// Write JSON lines to fd N: {"child-pid":PID} once the program runs, then
    /// {"child-pid":PID,"exit-code":N,"signal":S|null} when it ends (bwrap --json-status-fd).
    #[arg(long, value_name = "N", help_heading = "Supervision")]
    pub(crate) status_fd: Option<i32>,
    #[command(flatten)]
    pub(crate) sandbox: Box<crate::run_sandbox::SandboxArgs>,
    /// The program and its arguments.
    #[arg(
        help_heading = "Arguments",
        required = true,
        trailing_var_arg = true,
        num_args = 1..,
        value_names = ["PROGRAM", "ARG"],
        value_hint = clap::ValueHint::CommandWithArguments
    )]
    pub(crate) command: Vec<OsString>,
}

impl RunArgs {
    /// `run -- PROGRAM [ARG]...` with no flag: every flag at its default, as clap would parse
    /// it (a test in main.rs holds the two to the same value).
    pub fn program_only(command: Vec<OsString>) -> RunArgs {
        RunArgs {
            command,
            ..RunArgs::default()
        }
    }

    /// The program as given, for messages.
    pub fn program(&self) -> &OsStr {
        &self.command[0]
    }

    /// Whether PROGRAM is used as given (--no-path).
    pub fn no_path(&self) -> bool {
        self.no_path
    }

    /// The PATH the child gets: the last `--env PATH=`, none after `--unset PATH` or
    /// `--env-clear`, else ours.
    pub fn child_path(&self) -> Option<OsString> {
        let set = self.env.iter().rev().find_map(|kv| {
            let (k, v) = crate::environment::parse_assignment(kv).ok()?;
            (k == "PATH").then(|| v.to_os_string())
        });
        let unset = self.unset.iter().any(|n| n == "PATH");
        match set {
            Some(v) => Some(v),
            None if self.env_clear || unset => None,
            None => std::env::var_os("PATH"),
        }
    }

    /// Builds the Command described by the flags.
    pub fn build(&self) -> Result<forkexec::Command, String> {
        let mut cmd = forkexec::Command::new(&self.command[0]);
        cmd.args(&self.command[1..]);
        if let Some(d) = &self.dir {
            cmd.current_dir(d);
        }
        if self.env_clear {
            cmd.env_clear();
        }
        for name in &self.unset {
            cmd.env_remove(name);
        }
        for kv in &self.env {
            let (key, value) = crate::environment::parse_assignment(kv)?;
            cmd.env(key, value);
        }
        if let Some(a0) = &self.arg0 {
            cmd.arg0(a0);
        }
        cmd.keep_fds(self.keep_fds);
        if self.no_path {
            cmd.path_lookup(forkexec::PathLookup::Off);
        }
        // The two flags override each other: the last one given wins; neither means on.
        cmd.shell_fallback(!self.no_shell_fallback);
        self.attrs.apply(&mut cmd)?;
        self.sandbox.apply(&mut cmd)?;
        Ok(cmd)
    }
}

pub fn run(a: RunArgs) -> i32 {
    // First of all, before any child exists: from here on a forwarded signal waits for us.
    let forwarder = match Forwarder::start() {
        Ok(f) => f,
        Err(e) => return internal_error(&format!("cannot receive signals to forward: {e}")),
    };
    let mut cmd = match a.build() {
        Ok(c) => c,
        Err(msg) => return usage_error("run", &msg),
    };
    if let Err(code) = a.loader.apply(&mut cmd, &a) {
        return code;
    }
    // The mask forkexec was given, not the one it blocked; --sigmask (applied in build) wins.
    if a.attrs.sigmask.is_none() {
        cmd.signal_mask(forwarder.original_mask());
    }
    let mut status = match a.status_fd.map(StatusChannel::open).transpose() {
        Ok(s) => s,
        Err(msg) => return usage_error("run", &msg),
    };
    if a.verbose {
        match forkexec::kernel::spawn_support() {
            Ok(s) => eprintln!("forkexec: spawning with {s}"),
            Err(e) => eprintln!("forkexec: the kernel probe failed: {e}"),
        }
    }
    let mut child = match cmd.spawn() {
        Ok(child) => child,
        Err(e) => return spawn_failed("run", &a, &cmd, &e),
    };
    let pid = child.id();
    if let Some(s) = status.as_mut() {
        s.started(pid);
    }
    // --pty: the program's terminal, relayed to ours (script(1)).
    let relay = match child.take_pty().map(Relay::start).transpose() {
        Ok(r) => r,
        Err(e) => {
            let _ = child.kill();
            let _ = child.wait();
            return internal_error(&format!("cannot relay the pty: {e}"));
        }
    };
    let supervision = Supervision {
        timeout: a.sandbox.timeout(),
        relay: relay.as_ref(),
    };
    let waited = if a.attrs.ptrace {
        let_traced_child_go(&mut child).and_then(|()| forwarder.supervise(&mut child, &supervision))
    } else {
        forwarder.supervise(&mut child, &supervision)
    };
    if let Some(relay) = relay {
        relay.finish();
    }
    match waited {
        Ok(st) => {
            let code = exit_code(st);
            if let Some(s) = status.as_mut() {
                s.ended(pid, st, code);
            }
            code
        }
        Err(e) => {
            // We cannot follow the child any more: --kill-child means it must not outlive us.
            if let Some(sig) = a.attrs.kill_child {
                signal_child(&mut child, sig.number());
            }
            internal_error(&format!("waiting for {:?}: {e}", a.program()))
        }
    }
}

/// `--ptrace`: the child stops at its exec (SIGTRAP); let go of it stopped (SIGSTOP) so a
/// debugger can attach, and say so. Waiting without letting go would hang (nothing resumes a
/// traced child), and reporting the stop as an exit would be a lie.
fn let_traced_child_go(child: &mut forkexec::Child) -> std::io::Result<()> {
    if let forkexec::ChildEvent::Traced(_) = child.wait_event()? {
        child.ptrace_detach(libc::SIGSTOP)?;
        let pid = child.id();
        eprintln!(
            "forkexec: {pid} is stopped at its first instruction: attach a debugger \
             (gdb -p {pid}) or resume it with kill -CONT {pid}"
        );
    }
    Ok(())
}

/// Input the user got wrong: the message, clap's hint, exit 2 (as for a bad flag).
pub fn usage_error(subcommand: &str, msg: &str) -> i32 {
    eprintln!("forkexec: {msg}\n\nFor more information, try 'forkexec {subcommand} --help'.");
    2
}

/// forkexec itself failed (not the program, not the user): 125, as env(1) and timeout(1).
pub fn internal_error(msg: &str) -> i32 {
    eprintln!("forkexec: {msg}");
    125
}

pub fn spawn_failed(
    subcommand: &str,
    a: &RunArgs,
    cmd: &forkexec::Command,
    e: &forkexec::Error,
) -> i32 {
    // Refused before any process existed: a value or combination the user got wrong.
    if e.stage() == forkexec::ErrorStage::InvalidInput {
        return usage_error(subcommand, &e.to_string());
    }
    eprintln!("forkexec: {e}");
    // The model's reason, where the file is there but cannot run (a "/bin/sh\r" interpreter).
    let same_view = a.attrs.chroot.is_none() && cmd.get_current_dir().is_none();
    if let Some(why) = crate::exec_failure::why(cmd, e, same_view) {
        eprintln!("forkexec: why: {why}");
    }
    // As shells do: 127 when the program was not found, 126 when it could not be run.
    if e.is_not_found() {
        127
    } else {
        126
    }
}
