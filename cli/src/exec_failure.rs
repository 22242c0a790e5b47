//! Why an exec failed, in the model's words: a spawn error says `failed to execute "./x.sh":
//! No such file or directory (ENOENT)` for a file that is there, when the missing file is its
//! `#!` interpreter ("/bin/sh\r": Windows line endings) or its ELF interpreter. `explain` knows;
//! `run` and `exec` ask it after such a failure and add its reason.

use forkexec::model::plan::{evaluate_search, Outcome};
use forkexec::model::{ExecInput, HostFileSystem};
use std::os::unix::ffi::OsStrExt;

/// The model's reason for the failure `e` of `cmd`, when the model agrees on the errno and has
/// more to say than the errno itself. `same_view`: the child looks at files as this process
/// does (no chroot, no working directory of its own), so the model's view is the child's.
pub fn why(cmd: &forkexec::Command, e: &forkexec::Error, same_view: bool) -> Option<String> {
    // Only failures of the file itself, not of the credentials the child had at its exec.
    let errno = e.raw_os_error()?;
    let about_the_file = [libc::ENOENT, libc::ENOEXEC, libc::ENOTDIR, libc::ELOOP];
    if e.step_name() != "exec" || !same_view || !about_the_file.contains(&errno) {
        return None;
    }
    let program = cmd.get_program().as_bytes().to_vec();
    let mut argv = vec![program.clone()];
    argv.extend(cmd.get_args().map(|a| a.as_bytes().to_vec()));
    let path = child_path(cmd);
    let input = ExecInput::from_current_process(program, argv, Vec::new()).ok()?;
    let fs = HostFileSystem::new(None).ok()?;
    let plan = evaluate_search(&input, path.as_deref(), &fs);
    // A program that is simply not there needs no explanation beyond ENOENT.
    let found = std::fs::metadata(std::ffi::OsStr::from_bytes(&plan.path)).is_ok();
    match plan.outcome {
        Outcome::Fails(m) if m.0 == errno && found => Some(plan.reason),
        _ => None,
    }
}

/// The PATH the child searches: the Command's own if it sets or removes it, else ours.
fn child_path(cmd: &forkexec::Command) -> Option<Vec<u8>> {
    let set = cmd.get_envs().find(|(k, _)| *k == "PATH").map(|(_, v)| v);
    match set {
        Some(v) => v.map(|v| v.as_bytes().to_vec()),
        None if cmd.get_env_clear() => None,
        None => std::env::var_os("PATH").map(|p| p.as_bytes().to_vec()),
    }
}
