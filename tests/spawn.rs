//! The spawn core's promises, each read where a user sees it: output capture, exit codes,
//! errors with their step, bad input refused before a process exists; and from the child's
//! side, which fds it has, its signal state, its output, its death.

use forkexec::{Command, ErrorStage, Stdio};
use std::collections::BTreeSet;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::sync::mpsc;
use std::time::Duration;

// --- Errors and their steps, exit statuses, bad input ---

#[test]
fn echo_output_is_captured() {
    let out = Command::new("echo").arg("hello").output().unwrap();
    assert!(out.status.success());
    assert_eq!(out.stdout, b"hello\n");
    assert_eq!(out.stderr, b"");
}

#[test]
fn exit_code_and_signal_are_reported() {
    let st = Command::new("sh").args(["-c", "exit 7"]).status().unwrap();
    assert_eq!(st.code(), Some(7));
    use std::os::unix::process::ExitStatusExt;
    let st = Command::new("sh")
        .args(["-c", "kill -TERM $$"])
        .status()
        .unwrap();
    assert_eq!(st.signal(), Some(libc::SIGTERM));
}

#[test]
fn missing_program_names_program_and_enoent() {
    let err = Command::new("forkexec-no-such-program")
        .spawn()
        .unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ENOENT));
    assert_eq!(err.step_name(), "exec");
    let msg = err.to_string();
    assert!(msg.contains("\"forkexec-no-such-program\""), "{msg}");
    assert!(msg.contains("(ENOENT)"), "{msg}");
}

#[test]
fn chdir_failure_names_the_step_and_directory() {
    let err = Command::new("ls")
        .current_dir("/nope-forkexec")
        .spawn()
        .unwrap_err();
    assert_eq!(err.step_name(), "chdir");
    assert_eq!(
        err.to_string(),
        "failed to chdir to \"/nope-forkexec\" for \"ls\": No such file or directory (ENOENT)"
    );
}

#[test]
fn exec_of_a_directory_is_eacces() {
    let err = Command::new("/tmp").spawn().unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EACCES));
}

#[test]
fn wait_timeout_times_out_then_kill_through_pidfd() {
    let mut child = Command::new("sleep").arg("10").spawn().unwrap();
    assert!(child
        .wait_timeout(Duration::from_millis(100))
        .unwrap()
        .is_none());
    child.kill().unwrap();
    use std::os::unix::process::ExitStatusExt;
    let st = child
        .wait_timeout(Duration::from_secs(5))
        .unwrap()
        .expect("exited after kill");
    assert_eq!(st.signal(), Some(libc::SIGKILL));
}

#[test]
fn bad_input_is_refused_before_spawn() {
    for (mut cmd, needle) in [
        (
            {
                let mut c = Command::new("echo");
                c.arg("a\0b");
                c
            },
            "argument 1",
        ),
        (
            {
                let mut c = Command::new("echo");
                c.env("A=B", "x");
                c
            },
            "'='",
        ),
        (
            {
                let mut c = Command::new("echo");
                c.env("A", "x\0");
                c
            },
            "NUL",
        ),
        (
            {
                let mut c = Command::new("echo");
                c.current_dir("/t\0mp");
                c
            },
            "working directory",
        ),
        (
            {
                let mut c = Command::new("echo");
                c.arg0("e\0");
                c
            },
            "arg0",
        ),
        (Command::new("ec\0ho"), "program name"),
    ] {
        let err = cmd.stdout(Stdio::null()).spawn().unwrap_err();
        assert_eq!(err.stage(), ErrorStage::InvalidInput, "{err}");
        assert!(err.to_string().contains(needle), "{err} lacks {needle}");
    }
}

// --- What the child sees: fds, signals, pipes, its end ---

/// The fd numbers the child shell has open, as listed by /proc/<its pid>/fd.
fn child_fds(cmd: &mut Command) -> BTreeSet<i32> {
    let out = cmd
        .args(["-c", "ls /proc/$$/fd"])
        .output()
        .expect("spawn sh");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(|s| s.parse().expect("fd number"))
        .collect()
}

/// An fd open in the parent WITHOUT close-on-exec: the kind that leaks into children.
fn inheritable_fd() -> OwnedFd {
    let f: OwnedFd = std::fs::File::open("/dev/null").unwrap().into();
    rustix::io::fcntl_setfd(&f, rustix::io::FdFlags::empty()).unwrap();
    f
}

#[test]
fn child_sees_only_stdio_and_mapped_fds() {
    let leak = inheritable_fd();
    let n = leak.as_raw_fd();
    // Default: the inheritable fd is not visible; only 0-2 (stdout is our pipe).
    assert_eq!(
        child_fds(&mut Command::new("sh")),
        BTreeSet::from([0, 1, 2])
    );
    // Mapped fds are visible at their child numbers.
    let mapped = std::fs::File::open("/dev/null").unwrap();
    assert_eq!(
        child_fds(Command::new("sh").fd(7, mapped)),
        BTreeSet::from([0, 1, 2, 7])
    );
    // keep_fds(true) is std's behaviour: the leak shows, which proves the check above can fail.
    assert!(child_fds(Command::new("sh").keep_fds(true)).contains(&n));
}

#[test]
fn mapped_fd_points_at_the_right_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("payload");
    std::fs::write(&p, "mapped-content").unwrap();
    let f = std::fs::File::open(&p).unwrap();
    let out = Command::new("sh")
        .args(["-c", "cat <&9"])
        .fd(9, f)
        .output()
        .unwrap();
    assert_eq!(out.stdout, b"mapped-content");
}

fn sig_field(status: &str, name: &str) -> u64 {
    let line = status.lines().find(|l| l.starts_with(name)).expect(name);
    u64::from_str_radix(line.split_whitespace().nth(1).unwrap(), 16).unwrap()
}

#[test]
fn signal_mask_is_inherited_and_sigpipe_restored() {
    // Block SIGUSR1 in this thread: the child inherits the mask (std's rule since Rust 1.66,
    // posix_spawn's, Go's), so SigBlk shows it; an empty signal_mask clears it.
    // SAFETY: a valid sigset on our stack; pthread_sigmask affects this test thread only.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGUSR1);
        assert_eq!(
            libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()),
            0
        );
    }
    let status_of = |cmd: &mut Command| {
        let out = cmd.arg("/proc/self/status").output().unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    // The Rust runtime ignores SIGPIPE in this process (std does this at start-up).
    let status = status_of(&mut Command::new("cat"));
    assert_eq!(
        sig_field(&status, "SigBlk:"),
        1 << (libc::SIGUSR1 - 1),
        "the child did not inherit the mask"
    );
    assert_eq!(
        sig_field(&status, "SigIgn:") & (1 << (libc::SIGPIPE - 1)),
        0,
        "SIGPIPE still ignored"
    );
    let status = status_of(Command::new("cat").signal_mask(forkexec::attr::SignalSet::EMPTY));
    assert_eq!(sig_field(&status, "SigBlk:"), 0, "an empty mask was asked");
    // The user-namespace path blocks every signal around its clone: the child must restore
    // this thread's mask, not keep "everything blocked".
    let uid = rustix::process::getuid().as_raw();
    let gid = rustix::process::getgid().as_raw();
    let mut in_userns = Command::new("cat");
    in_userns
        .clone_namespaces("user")
        .uid_map((0, uid, 1))
        .gid_map((0, gid, 1));
    match in_userns.arg("/proc/self/status").output() {
        Ok(out) => {
            let status = String::from_utf8(out.stdout).unwrap();
            assert_eq!(
                sig_field(&status, "SigBlk:"),
                1 << (libc::SIGUSR1 - 1),
                "the user-namespace child did not get this thread's mask"
            );
        }
        Err(e) => println!("SKIP: no user namespace here: {e}"),
    }
    // SAFETY: as above; unblock again.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGUSR1);
        libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
    }
}

/// Runs `f` on a thread and fails the test if it takes longer than `limit` (a deadlock).
fn within<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(limit)
        .expect("deadlock: did not finish in time")
}

#[test]
fn large_stdout_and_stderr_are_captured_without_deadlock() {
    // stderr is filled first: a collector reading stdout to EOF first would block forever
    // while the child blocks on the full stderr pipe.
    for script in [
        "head -c 3000000 /dev/zero | tr '\\0' e >&2; head -c 2000000 /dev/zero | tr '\\0' o",
        "head -c 2000000 /dev/zero | tr '\\0' o; head -c 3000000 /dev/zero | tr '\\0' e >&2",
    ] {
        let out = within(Duration::from_secs(60), move || {
            Command::new("sh").args(["-c", script]).output().unwrap()
        });
        assert!(out.status.success());
        assert_eq!(out.stdout.len(), 2_000_000);
        assert_eq!(out.stderr.len(), 3_000_000);
        assert!(out.stdout.iter().all(|&b| b == b'o') && out.stderr.iter().all(|&b| b == b'e'));
    }
}

#[test]
fn piped_stdin_reaches_the_child() {
    use std::io::Write;
    let mut child = Command::new("cat")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"through the pipe")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.stdout, b"through the pipe");
}

#[test]
fn try_wait_then_wait() {
    let mut child = Command::new("sleep").arg("0.2").spawn().unwrap();
    assert!(child.try_wait().unwrap().is_none());
    assert!(child.wait().unwrap().success());
    // Reaped: the status is remembered, signals are a no-op like std.
    assert!(child.try_wait().unwrap().unwrap().success());
    child.kill().unwrap();
}

#[test]
fn kill_on_drop_kills_and_reaps() {
    let child = Command::new("sleep")
        .arg("30")
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let pid = child.id();
    drop(child);
    // Reaped: no /proc entry (not even a zombie).
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "child {pid} still exists after drop"
    );
}

#[test]
fn send_signal_goes_through_the_pidfd() {
    let mut child = Command::new("sleep").arg("30").spawn().unwrap();
    child.send_signal(libc::SIGTERM).unwrap();
    assert_eq!(child.wait().unwrap().signal(), Some(libc::SIGTERM));
    // The pidfd refers to this process: after the reap, pidfd_send_signal cannot reach a
    // recycled pid (our wrapper returns Ok without sending, like std).
    child.send_signal(libc::SIGTERM).unwrap();
}

#[test]
fn from_std_command_keeps_program_args_env_and_dir() {
    let mut std_cmd = std::process::Command::new("sh");
    std_cmd
        .args(["-c", "echo $FORKEXEC_T; pwd"])
        .env("FORKEXEC_T", "from-std")
        .current_dir("/tmp");
    let out = Command::try_from(std_cmd).unwrap().output().unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "from-std\n/tmp\n");
}

#[test]
fn env_clear_and_env_build_the_childs_environment() {
    let out = Command::new("/usr/bin/env")
        .env_clear()
        .env("ONLY", "this")
        .output()
        .unwrap();
    assert_eq!(out.stdout, b"ONLY=this\n");
    let out = Command::new("/usr/bin/env")
        .env_remove("PATH")
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout)
        .lines()
        .any(|l| l.starts_with("PATH=")));
}

#[test]
fn arg0_is_what_the_child_sees() {
    let out = Command::new("sh")
        .arg0("custom-zero")
        .args(["-c", "echo $0"])
        .output()
        .unwrap();
    assert_eq!(out.stdout, b"custom-zero\n");
}

#[test]
fn failed_exec_leaves_no_zombie() {
    for _ in 0..20 {
        assert!(Command::new("/nonexistent/forkexec").spawn().is_err());
    }
    // A child whose exec failed never became another program: it still has the name of
    // the thread that cloned it (this test's thread). Other tests' children (sleep, sh, cat)
    // may be briefly unreaped; those have other names.
    let my_comm = std::fs::read_to_string("/proc/thread-self/comm").unwrap();
    let me = std::process::id().to_string();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        // Fields after "(comm)": state, ppid, ...
        let mut after = stat.rsplit(')').next().unwrap_or("").split_whitespace();
        let (state, ppid) = (after.next().unwrap_or(""), after.next().unwrap_or(""));
        let comm = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
        assert!(
            !(ppid == me && state == "Z" && comm == my_comm),
            "failed spawn left zombie {:?}",
            entry.file_name()
        );
    }
}

#[test]
fn a_command_spawns_again_with_its_fds_when_it_retains_them() {
    // With retain_fds the Command lends its fds to each child, as std's does. One that
    // consumed them on the first spawn would give the second child no fd 9 (readlink fails)
    // and no stdout file.
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::write(&input, "x").unwrap();
    let out_path = dir.path().join("out");
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&out_path)
        .unwrap();
    let mut cmd = Command::new("sh");
    cmd.args(["-c", "readlink /proc/$$/fd/9"])
        .fd(9, std::fs::File::open(&input).unwrap())
        .stdout(out)
        .retain_fds(true);
    for _ in 0..2 {
        assert!(cmd.status().unwrap().success());
    }
    let line = format!("{}\n", input.display());
    assert_eq!(std::fs::read_to_string(&out_path).unwrap(), line.repeat(2));
}

/// Reads `r` to EOF, failing if that takes more than 5 s: EOF comes only once no process holds
/// the write end, so a write end left open in this process would hang the read.
#[allow(clippy::incompatible_msrv)] // io::pipe: the tests run on the CI toolchain
fn read_to_eof_within_5s(r: std::io::PipeReader) -> String {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(std::io::read_to_string(r));
    });
    rx.recv_timeout(Duration::from_secs(5))
        .expect("no EOF: a write end of the pipe is still open in this process")
        .unwrap()
}

#[test]
#[allow(clippy::incompatible_msrv)] // io::pipe: the tests run on the CI toolchain
fn a_pipe_given_to_a_child_reaches_eof_while_the_command_lives() {
    // As stdout (Stdio::Fd): std's Command keeps the write end until it is dropped, so this
    // read would hang there; here the spawn gave it to the child.
    let (r, w) = std::io::pipe().unwrap();
    let mut cmd = Command::new("echo");
    cmd.arg("hi").stdout(w);
    assert!(cmd.status().unwrap().success());
    assert_eq!(read_to_eof_within_5s(r), "hi\n");

    // As a mapped fd.
    let (r, w) = std::io::pipe().unwrap();
    let mut cmd = Command::new("sh");
    cmd.args(["-c", "echo mapped >&3"]).fd(3, w);
    assert!(cmd.status().unwrap().success());
    assert_eq!(read_to_eof_within_5s(r), "mapped\n");

    // The fds are gone from the Command: a second spawn is refused until they are set again.
    let err = cmd.status().unwrap_err();
    assert_eq!(err.stage(), ErrorStage::InvalidInput, "{err}");
    assert!(err.to_string().contains("child fd 3"), "{err}");
    assert!(err.to_string().contains("retain_fds"), "{err}");
    let (r, w) = std::io::pipe().unwrap();
    assert!(cmd.fd(3, w).status().unwrap().success());
    assert_eq!(read_to_eof_within_5s(r), "mapped\n");

    // A failed spawn keeps them: the Command can be fixed and spawned again.
    let (r, w) = std::io::pipe().unwrap();
    let mut cmd = Command::new("echo");
    cmd.arg("again")
        .stdout(w)
        .current_dir("/nonexistent-forkexec");
    assert!(cmd.status().is_err());
    let mut cmd2 = cmd;
    cmd2.current_dir("/");
    assert!(cmd2.status().unwrap().success());
    assert_eq!(read_to_eof_within_5s(r), "again\n");
}

// --- The handle: timeouts, any signal, traced children ---

/// The state letter of /proc/PID/stat (R, S, T, t, Z...), read from the kernel.
fn proc_state(pid: u32) -> char {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after_comm = &stat[stat.rfind(')').unwrap() + 2..];
    after_comm.chars().next().unwrap()
}

#[test]
fn a_timeout_too_large_for_the_clock_waits_for_the_exit() {
    // Instant + Duration::MAX overflows: std's timeout APIs take it as "forever".
    for timeout in [Duration::MAX, Duration::from_secs(u64::MAX / 2)] {
        let mut child = Command::new("sh").args(["-c", "exit 3"]).spawn().unwrap();
        let status = child.wait_timeout(timeout).unwrap().expect("it exits");
        assert_eq!(status.code(), Some(3));
    }
}

#[test]
fn signal_zero_checks_existence_and_real_time_signals_are_delivered() {
    // sh traps real-time signal 37 (SIGRTMIN+3 under glibc) and exits 7 when it arrives.
    let mut child = Command::new("sh")
        .args([
            "-c",
            "trap 'exit 7' 37; echo ready; while :; do sleep 0.01; done",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.as_mut().unwrap()),
        &mut line,
    )
    .unwrap();
    child.send_signal(0).expect("signal 0 to a live child");
    child.send_signal(37).expect("a real-time signal");
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(7), "the child's trap for signal 37 ran");
    child
        .send_signal(0)
        .expect("after the reap, Ok as std's kill");
}

#[test]
fn a_traced_child_stopped_at_exec_is_not_reported_as_exited() {
    use forkexec::ChildEvent;
    let mut child = Command::new("/bin/true").ptrace(true).spawn().unwrap();
    let pid = child.id();
    // The kernel stops a PTRACE_TRACEME child with SIGTRAP at its exec.
    assert_eq!(
        child.wait_event().unwrap(),
        ChildEvent::Traced(libc::SIGTRAP)
    );
    assert_eq!(proc_state(pid), 't', "stopped by the tracer, not exited");
    assert_eq!(
        child.try_wait().unwrap(),
        None,
        "a stopped child has not exited"
    );
    assert_eq!(child.wait_timeout(Duration::from_millis(50)).unwrap(), None);
    // kill still reaches it (nothing was cached as an exit status).
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(libc::SIGKILL));
}

#[test]
fn a_traced_child_detached_stopped_runs_on_after_sigcont() {
    use forkexec::ChildEvent;
    let mut child = Command::new("sh")
        .args(["-c", "exit 5"])
        .ptrace(true)
        .spawn()
        .unwrap();
    let pid = child.id();
    assert_eq!(
        child.wait_event().unwrap(),
        ChildEvent::Traced(libc::SIGTRAP)
    );
    child.ptrace_detach(libc::SIGSTOP).unwrap();
    // No longer traced, stopped by SIGSTOP: state T, TracerPid 0.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while proc_state(pid) != 'T' && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(proc_state(pid), 'T');
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    assert!(status.contains("TracerPid:\t0\n"), "{status}");
    assert_eq!(child.try_wait().unwrap(), None);
    child.send_signal(libc::SIGCONT).unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(5));
}
