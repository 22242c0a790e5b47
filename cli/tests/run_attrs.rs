//! `forkexec run` attribute flags end to end: the failure message of a failing step, the
//! terminal flags that need a session of their own (--foreground, --noctty), --fd, --help.

mod cli_support;
use cli_support::{is_root, pty_slave, text, BIN};
use std::process::{Command, Output, Stdio};

#[test]
fn a_failing_setgid_in_a_non_root_child_reports_step_and_errno() {
    if !is_root() {
        println!("SKIP: becoming uid 65534 first needs root");
        return;
    }
    // The outer forkexec becomes nobody; the inner one (as nobody) asks for gid 4242. The inner
    // binary is a copy nobody can reach: the build tree may sit under a 0700 directory (a
    // mktemp clone), where uid 65534 would get EACCES before any setgid.
    let dir = std::env::temp_dir().join(format!("forkexec-nobody-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let inner = dir.join("forkexec");
    std::fs::copy(BIN, &inner).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&inner, std::fs::Permissions::from_mode(0o755)).unwrap();
    // A sibling test that forks while the copy's write fd is open holds that fd until its
    // exec: the copy is then busy (ETXTBSY) for a moment. Retry that case only.
    let run = || {
        Command::new(BIN)
            .args(["run", "--uid", "65534", "--gid", "65534", "--"])
            .arg(&inner)
            .args(["run", "--gid", "4242", "--", "id"])
            .output()
            .unwrap()
    };
    let mut out = run();
    for _ in 0..50 {
        if !text(&out.stderr).contains("ETXTBSY") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
        out = run();
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        text(&out.stderr),
        "forkexec: failed to setgid(4242) for \"id\": Operation not permitted (EPERM)\n"
    );
    assert_eq!(out.status.code(), Some(126));
    assert_eq!(out.stdout, b"");
}

/// Runs `forkexec run --setsid --setctty -- forkexec run INNER... -- cat /proc/self/stat`
/// with a pty on stdin: the inner forkexec leads a session whose terminal is the pty.
fn in_a_terminal_session(inner: &[&str]) -> (Output, Vec<i64>) {
    let (_master, slave) = pty_slave();
    let out = Command::new(BIN)
        .args(["run", "--setsid", "--setctty", "--", BIN, "run"])
        .args(inner)
        .args(["--", "cat", "/proc/self/stat"])
        .stdin(Stdio::from(slave))
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stat = text(&out.stdout);
    assert!(out.status.success(), "{stat} {}", text(&out.stderr));
    let pid: i64 = stat.split_whitespace().next().unwrap().parse().unwrap();
    let rest: Vec<i64> = stat[stat.rfind(')').unwrap() + 4..]
        .split_whitespace()
        .take(5)
        .map(|f| f.parse().unwrap())
        .collect();
    // [pid, ppid, pgrp, session, tty_nr, tpgid]
    let mut fields = vec![pid];
    fields.extend_from_slice(&rest[..5]);
    (out, fields)
}

#[test]
fn foreground_makes_the_childs_group_the_terminals_foreground_group() {
    let (_, f) = in_a_terminal_session(&["--foreground"]);
    let (pid, pgrp, tty, tpgid) = (f[0], f[2], f[4], f[5]);
    assert_eq!(pgrp, pid, "--foreground implies a new group");
    assert_ne!(tty, 0, "the child has the terminal");
    assert_eq!(tpgid, pid, "its group is in the foreground");
    // Without --foreground the child stays in the (foreground) group of the inner forkexec.
    let (_, f) = in_a_terminal_session(&[]);
    assert_eq!(f[2], f[1], "pgrp is the inner forkexec's");
    assert_eq!(
        f[5], f[1],
        "the inner forkexec's group is in the foreground"
    );
}

#[test]
fn noctty_detaches_the_child_from_the_terminal() {
    let (_, f) = in_a_terminal_session(&["--noctty"]);
    assert_eq!(f[4], 0, "tty_nr after TIOCNOTTY");
    let (_, f) = in_a_terminal_session(&[]);
    assert_ne!(f[4], 0, "tty_nr without --noctty");
}

#[test]
fn fd_maps_an_inherited_fd() {
    let dir = std::env::temp_dir().join(format!("forkexec-fd-{}", std::process::id()));
    std::fs::write(&dir, "mapped").unwrap();
    let script = format!(
        "exec 5<'{}'; exec '{BIN}' run --fd 7=5 -- cat /proc/self/fd/7",
        dir.display()
    );
    let out = Command::new("sh").args(["-c", &script]).output().unwrap();
    let _ = std::fs::remove_file(&dir);
    assert_eq!(text(&out.stdout), "mapped", "{}", text(&out.stderr));
    let out = Command::new(BIN)
        .args(["run", "--fd", "7=99", "--", "true"])
        .output()
        .unwrap();
    assert!(
        text(&out.stderr).contains("fd 99 is not open"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn unknown_names_are_rejected_before_running() {
    for (args, needle) in [
        (["--clone-ns", "user,bogus"], "unknown namespace \"bogus\""),
        (["--pdeathsig", "SIGFOO"], "unknown signal \"SIGFOO\""),
        (["--sigmask", "TERM,NOPE"], "unknown signal \"NOPE\""),
        (
            ["--rlimit", "nofiles=1"],
            "unknown resource limit \"nofiles\"",
        ),
        (["--ambient-caps", "fly"], "unknown capability \"fly\""),
    ] {
        let out = Command::new(BIN)
            .arg("run")
            .args(args)
            .args(["--", "true"])
            .output()
            .unwrap();
        assert!(!out.status.success());
        assert!(text(&out.stderr).contains(needle), "{}", text(&out.stderr));
    }
    // A contradiction the library refuses: exit status and message, no child.
    let out = Command::new(BIN)
        .args(["run", "--setsid", "--setpgid", "--", "true"])
        .output()
        .unwrap();
    assert!(
        text(&out.stderr).contains("invalid session attributes"),
        "{}",
        text(&out.stderr)
    );
}

fn run_ok(args: &[&str]) -> String {
    let out = Command::new(BIN).arg("run").args(args).output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
}

#[test]
fn attribute_flags_change_the_child() {
    let out = run_ok(&[
        "--rlimit",
        "nofile=50:60",
        "--umask",
        "027",
        "--",
        "sh",
        "-c",
        "ulimit -Sn; ulimit -Hn; umask",
    ]);
    assert_eq!(out, "50\n60\n0027\n");
    // grep exec'd directly: a shell would clear its own mask. --reset-ignored-signals: what
    // this test process inherited as ignored must not show up.
    let out = run_ok(&[
        "--reset-ignored-signals",
        "--sigmask",
        "USR1",
        "--sigignore",
        "HUP",
        "--",
        "grep",
        "-E",
        "^Sig(Blk|Ign)",
        "/proc/self/status",
    ]);
    assert_eq!(
        out,
        "SigBlk:\t0000000000000200\nSigIgn:\t0000000000000001\n"
    );
    let out = run_ok(&["--setsid", "--", "cat", "/proc/self/stat"]);
    let pid = out.split_whitespace().next().unwrap();
    let fields: Vec<&str> = out[out.rfind(')').unwrap() + 2..]
        .split_whitespace()
        .collect();
    assert_eq!(fields[3], pid, "session id = pid after --setsid");
}

#[test]
fn help_names_the_go_and_util_linux_equivalents() {
    let out = Command::new(BIN).args(["run", "--help"]).output().unwrap();
    let help = text(&out.stdout);
    for needle in [
        "--setsid",
        "Go: Setsid; setsid(1)",
        "--setpgid",
        "--pgid <N>",
        "--foreground",
        "--ctty <FD>",
        "--setctty",
        "--noctty",
        "--chroot <DIR>",
        "chroot(8)",
        "--uid <USER>",
        "Go: Credential.Uid; setpriv --reuid",
        "--gid <GROUP>",
        "--groups <A,B>",
        "--no-setgroups",
        "--pdeathsig <SIG>",
        "--clone-ns <LIST>",
        "--unshare <LIST>",
        "unshare(1)",
        "--uid-map <C:H:N>",
        "--gid-map <C:H:N>",
        "--setgroups <allow|deny>",
        "--ambient-caps <LIST>",
        "--cgroup <PATH>",
        "--ptrace",
        "--rlimit <NAME=SOFT[:HARD]>",
        "prlimit(1)",
        "--umask <OCTAL>",
        "--sigmask <LIST>",
        "--sigignore <LIST>",
        "--no-new-privs",
        "--fd <N=M>",
        "--nice <N>",
        "--sched <POLICY[:PRIO]>",
    ] {
        assert!(help.contains(needle), "--help lacks {needle:?}:\n{help}");
    }
}

/// The state letter of /proc/PID/stat, and its TracerPid.
fn proc_state(pid: u32) -> Option<(char, String)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let state = stat[stat.rfind(')')? + 2..].chars().next()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let tracer = status
        .lines()
        .find_map(|l| l.strip_prefix("TracerPid:"))?
        .trim()
        .to_string();
    Some((state, tracer))
}

#[test]
fn run_ptrace_leaves_the_program_stopped_and_waits_for_its_real_exit() {
    // Before: wait() took the exec ptrace-stop for exit 0, forkexec exited 0 and left the
    // child stopped and traced by nobody alive. Now forkexec must still be running while
    // the child sits stopped (untraced, state T), and exit with the child's status after
    // SIGCONT.
    let mut fx = Command::new(BIN)
        .args(["run", "--ptrace", "--", "sh", "-c", "exit 6"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(fx.stderr.as_mut().unwrap()),
        &mut line,
    )
    .unwrap();
    let pid: u32 = line
        .split_whitespace()
        .nth(1)
        .and_then(|w| w.parse().ok())
        .unwrap_or_else(|| panic!("no pid in {line:?}"));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while proc_state(pid).map(|s| s.0) != Some('T') && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert_eq!(proc_state(pid), Some(('T', "0".to_string())), "{line}");
    assert!(
        fx.try_wait().unwrap().is_none(),
        "forkexec exited before its child"
    );
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(pid as i32).unwrap(),
        rustix::process::Signal::CONT,
    )
    .unwrap();
    assert_eq!(fx.wait().unwrap().code(), Some(6));
}

#[test]
fn foreground_gives_the_terminal_back_when_the_child_exits() {
    // A session on a pty: sh leads it (its group holds the terminal), runs
    // `forkexec run --foreground -- true`, then looks at who holds the terminal. Before the
    // fix the dead child's group kept it, and the script would be stopped (SIGTTIN) at its
    // next read of the terminal.
    let (_master, slave) = pty_slave();
    let script = format!("'{BIN}' run --foreground -- true; cat /proc/self/stat");
    let out = Command::new(BIN)
        .args(["run", "--setsid", "--setctty", "--", "sh", "-c", &script])
        .stdin(Stdio::from(slave))
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stat = text(&out.stdout);
    assert!(out.status.success(), "{stat} {}", text(&out.stderr));
    // [pid, ppid, pgrp, session, tty_nr, tpgid]
    let f: Vec<i64> = stat[stat.rfind(')').unwrap() + 4..]
        .split_whitespace()
        .take(5)
        .map(|x| x.parse().unwrap())
        .collect();
    let (pgrp, tpgid) = (f[1], f[4]);
    assert_eq!(
        tpgid, pgrp,
        "the terminal's foreground group is the script's again"
    );
}

#[test]
fn values_the_user_got_wrong_exit_2_with_the_usage_hint() {
    // Before: refused at spawn, these exited 126 ("found but not runnable").
    for (args, needle) in [
        (
            &["--umask", "1777"][..],
            "out of range: a umask is 0 to 0777",
        ),
        (&["--umask", "40000000000"], "out of range"),
        (
            &["--setsid", "--setpgid"],
            "setsid already makes the child lead",
        ),
        (
            &["--sigmask", "KILL"],
            "SIGKILL and SIGSTOP cannot be blocked",
        ),
        (&["--uid-map", "0:0:1"], "they need a new user namespace"),
        (&["--groups", "1", "--no-setgroups"], "cannot be used with"),
        (&["--fd", "1000000=1"], "RLIMIT_NOFILE soft limit"),
        (&["--cgroup", "/tmp"], "is not a cgroup v2 directory"),
    ] {
        let out = Command::new(BIN)
            .arg("run")
            .args(args)
            .args(["--", "true"])
            .output()
            .unwrap();
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(
            err.contains("try '"),
            "{args:?} lacks the usage hint: {err}"
        );
    }
}
