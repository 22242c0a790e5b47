//! `forkexec exec`: the attributes are applied to this very process, which becomes PROGRAM (the
//! pid is kept); what needs a process of its own is refused with exit 2 before anything runs.

mod cli_support;
use cli_support::{assert_refused, is_root, text, BIN};
use std::process::Command;

fn status_line<'a>(status: &'a str, key: &str) -> &'a str {
    status
        .lines()
        .find(|l| l.starts_with(key))
        .unwrap_or_else(|| panic!("no {key} in {status}"))
}

#[test]
fn exec_keeps_the_pid_and_applies_the_attributes() {
    // A script execs forkexec exec, which execs a shell: the same process all along.
    let creds = if is_root() {
        "--user nobody"
    } else {
        println!("SKIP (credentials part): changing credentials needs root");
        ""
    };
    let script = format!(
        "echo $$; exec '{BIN}' exec {creds} -C / --nofile=50:60 -- \
         sh -c 'echo $$; pwd; ulimit -n; exec cat /proc/self/status'"
    );
    let out = Command::new("sh").args(["-c", &script]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = text(&out.stdout);
    let mut lines = out.lines();
    let (before, after) = (lines.next().unwrap(), lines.next().unwrap());
    assert_eq!(after, before, "the pid changed: a process was made");
    assert_eq!(lines.next(), Some("/"));
    assert_eq!(lines.next(), Some("50"));
    let status: String = lines.collect::<Vec<_>>().join("\n");
    assert_eq!(status_line(&status, "Pid:"), format!("Pid:\t{before}"));
    if is_root() {
        let nobody = text(
            &Command::new("id")
                .args(["-u", "nobody"])
                .output()
                .unwrap()
                .stdout,
        );
        let uid = nobody.trim();
        assert_eq!(
            status_line(&status, "Uid:"),
            format!("Uid:\t{uid}\t{uid}\t{uid}\t{uid}")
        );
    }
}

#[test]
fn what_needs_a_new_process_is_refused_before_anything_runs() {
    for args in [
        &["--kill-child"][..],
        &["--status-fd", "2"],
        &["--foreground"],
        &["--ptrace"],
        &["-f", "-U"],
        &["-r"],
        &["--clone-ns", "user"],
        &["--uid-map", "0:0:1"],
        &["-p"],
        &["--unshare", "pid"],
        &["--cgroup", "/sys/fs/cgroup"],
    ] {
        assert_refused("exec", args, "needs a new process");
    }
}

#[test]
fn exec_failures_exit_127_and_126() {
    let out = Command::new(BIN)
        .args(["exec", "--", "/forkexec-no-such-program"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(127), "{}", text(&out.stderr));
    let out = Command::new(BIN)
        .args(["exec", "-C", "/forkexec-no-such-dir", "--", "true"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(126), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("chdir"), "{}", text(&out.stderr));
}

#[test]
fn exec_creates_no_process_so_it_runs_where_clones_are_denied() {
    // A seccomp filter refuses the clone family (EPERM): a spawn cannot work there, an exec in
    // place can, and must not trip over a clone of its own (a probe of the clone forms).
    let sandboxed = |words: &[&str]| {
        Command::new(BIN)
            .args([
                "run",
                "--seccomp-deny",
                "clone,clone3,fork,vfork",
                "--",
                BIN,
            ])
            .args(words)
            .output()
            .unwrap()
    };
    let spawn = sandboxed(&["run", "--", "true"]);
    assert_eq!(spawn.status.code(), Some(126), "{}", text(&spawn.stderr));
    assert!(
        text(&spawn.stderr).contains("(clone)"),
        "{}",
        text(&spawn.stderr)
    );
    let exec = sandboxed(&["exec", "--", "sh", "-c", "echo in place"]);
    assert!(exec.status.success(), "{}", text(&exec.stderr));
    assert_eq!(text(&exec.stdout), "in place\n");
}
