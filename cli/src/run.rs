//! `forkexec run`: spawn, wait, exit with the child's status.

use clap::Args;
use std::ffi::OsString;
use std::os::unix::process::ExitStatusExt;

#[derive(Args, Debug)]
pub struct RunArgs {
    /// Working directory of the child (Go: Dir; env -C).
    #[arg(long, value_name = "DIR")]
    dir: Option<OsString>,
    /// Set an environment variable (repeatable).
    #[arg(long = "env", value_name = "K=V")]
    env: Vec<OsString>,
    /// Start from an empty environment (env -i).
    #[arg(long)]
    env_clear: bool,
    /// argv[0] for the program (exec -a).
    #[arg(long, value_name = "NAME")]
    arg0: Option<OsString>,
    /// Let the child inherit every fd without close-on-exec (default: only 0-2 and mapped fds).
    #[arg(long)]
    keep_fds: bool,
    /// Use PROGRAM as given, without a PATH search (execve semantics): `ls` means ./ls.
    #[arg(long)]
    no_path: bool,
    /// Run a PROGRAM the kernel refuses with ENOEXEC (no `#!`, no known format) as
    /// `/bin/sh PROGRAM ARG...`, as execvp does. Off by default (posix_spawnp behaviour).
    #[arg(long, overrides_with = "no_shell_fallback")]
    shell_fallback: bool,
    /// Report ENOEXEC for such a PROGRAM instead of running it under /bin/sh (the default).
    #[arg(long, overrides_with = "shell_fallback")]
    no_shell_fallback: bool,
    #[command(flatten)]
    attrs: Box<crate::run_attrs::AttrArgs>,
    #[command(flatten)]
    sandbox: Box<crate::run_sandbox::SandboxArgs>,
    /// The program and its arguments.
    #[arg(
        required = true,
        trailing_var_arg = true,
        value_name = "PROGRAM [ARG]..."
    )]
    command: Vec<OsString>,
}

/// Builds the Command described by the flags.
fn build(a: &RunArgs) -> Result<forkexec::Command, String> {
    let mut cmd = forkexec::Command::new(&a.command[0]);
    cmd.args(&a.command[1..]);
    if let Some(d) = &a.dir {
        cmd.current_dir(d);
    }
    if a.env_clear {
        cmd.env_clear();
    }
    for kv in &a.env {
        let (key, value) = crate::environment::parse_assignment(kv)?;
        cmd.env(key, value);
    }
    if let Some(a0) = &a.arg0 {
        cmd.arg0(a0);
    }
    cmd.keep_fds(a.keep_fds);
    if a.no_path {
        cmd.path_lookup(forkexec::PathLookup::Off);
    }
    // The flags override each other, so the last one given wins.
    cmd.shell_fallback(a.shell_fallback && !a.no_shell_fallback);
    a.attrs.apply(&mut cmd)?;
    a.sandbox.apply(&mut cmd)?;
    Ok(cmd)
}

pub fn run(a: RunArgs) -> i32 {
    let mut cmd = match build(&a) {
        Ok(c) => c,
        Err(msg) => return usage_error(&msg),
    };
    let waited = match cmd.spawn() {
        Ok(child) if a.attrs.ptrace => wait_traced(child),
        Ok(child) => a.sandbox.wait(child),
        Err(e) => return spawn_failed(&e),
    };
    match waited {
        Ok(st) => st.code().unwrap_or_else(|| 128 + st.signal().unwrap_or(0)),
        Err(e) => {
            eprintln!("forkexec: waiting for {:?}: {e}", a.command[0]);
            1
        }
    }
}

/// `--ptrace`: the child stops at its exec (SIGTRAP); let go of it stopped (SIGSTOP) so a
/// debugger can attach, say so, and wait for its exit. Waiting without letting go would hang
/// (nothing resumes a traced child), and reporting the stop as an exit would be a lie.
fn wait_traced(mut child: forkexec::Child) -> std::io::Result<std::process::ExitStatus> {
    if let forkexec::ChildEvent::Traced(_) = child.wait_event()? {
        child.ptrace_detach(libc::SIGSTOP)?;
        let pid = child.id();
        eprintln!(
            "forkexec: {pid} is stopped at its first instruction: attach a debugger \
             (gdb -p {pid}) or resume it with kill -CONT {pid}"
        );
    }
    child.wait()
}

/// Input the user got wrong: the message, clap's hint, exit 2 (as for a bad flag).
fn usage_error(msg: &str) -> i32 {
    eprintln!("forkexec: {msg}\n\nFor more information, try 'forkexec run --help'.");
    2
}

fn spawn_failed(e: &forkexec::Error) -> i32 {
    // Refused before any process existed: a value or combination the user got wrong.
    if e.stage() == forkexec::ErrorStage::InvalidInput {
        return usage_error(&e.to_string());
    }
    eprintln!("forkexec: {e}");
    // As shells do: 127 when the program was not found, 126 when it could not be run.
    if e.is_not_found() {
        127
    } else {
        126
    }
}
