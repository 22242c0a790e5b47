//! `forkexec exec`: no process in between. The attributes are applied to this process and it
//! becomes PROGRAM (execve), as setpriv, chroot(8), nsenter and `unshare` without `--fork` do:
//! `exec forkexec exec --user nobody -- prog` in a script keeps the script's pid.
//!
//! It takes `run`'s flags and runs the library's `Command::exec` (the child sequence, in this
//! process). What needs a process of its own is refused before anything changes, exit 2: no
//! parent stays behind to forward signals, report a status, kill the program when it dies, take
//! a terminal back, trace it, or write the id maps of a namespace made at a clone.

use crate::run::{spawn_failed, usage_error, RunArgs};

pub fn run(a: RunArgs) -> i32 {
    if let Some((flag, why)) = needs_a_new_process(&a) {
        return usage_error(
            "exec",
            &format!("{flag} needs a new process ({why}): use forkexec run"),
        );
    }
    let mut cmd = match a.build() {
        Ok(c) => c,
        Err(msg) => return usage_error("exec", &msg),
    };
    // Returns only if something failed, before or at the exec.
    let e = cmd.exec();
    spawn_failed("exec", &a, &cmd, &e)
}

/// The first flag given that only makes sense with a child, and why.
fn needs_a_new_process(a: &RunArgs) -> Option<(&'static str, &'static str)> {
    let attrs = &a.attrs;
    let ns = &attrs.namespaces;
    let pid_namespace = ns.unshared().contains(forkexec::attr::Namespaces::PID);
    [
        (
            a.status_fd.is_some(),
            "--status-fd",
            "it reports a child's start and end",
        ),
        (
            attrs.kill_child.is_some(),
            "--kill-child",
            "it kills the program when forkexec ends, and forkexec becomes the program",
        ),
        (
            attrs.foreground,
            "--foreground",
            "a child's group takes the terminal, and forkexec takes it back when it ends",
        ),
        (
            attrs.ptrace,
            "--ptrace",
            "forkexec traces its child; here the tracer would be whoever started forkexec",
        ),
        (
            ns.fork,
            "-f/--fork",
            "namespaces made at a clone hold a new process",
        ),
        (
            attrs.cgroup.is_some(),
            "--cgroup",
            "CLONE_INTO_CGROUP puts a new process into the cgroup",
        ),
        (
            !ns.cloned().is_empty(),
            "--clone-ns/-r/-c",
            "namespaces made at a clone, with their id maps written from outside",
        ),
        (
            !ns.uid_map.is_empty() || !ns.gid_map.is_empty(),
            "--uid-map/--gid-map",
            "the maps are written from outside, for a namespace made at a clone",
        ),
        (
            a.sandbox.timeout().is_some(),
            "--timeout",
            "forkexec stops its child at the timeout; here forkexec becomes the program",
        ),
        (
            a.sandbox.wants_pty(),
            "--pty",
            "forkexec relays a child's pseudo-terminal; here there is no one left to relay it",
        ),
        (
            pid_namespace,
            "a new pid namespace",
            "it would hold the program's children, not the program: the first child becomes \
             its init and no fork works after it exits; forkexec run -f -p makes the program \
             its pid 1",
        ),
    ]
    .into_iter()
    .find(|(given, _, _)| *given)
    .map(|(_, flag, why)| (flag, why))
}
