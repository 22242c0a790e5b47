//! `forkexec run`'s sandbox flags end to end, each effect read from what the program printed
//! or how it ended.

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_forkexec");

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("run")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn seccomp_deny_and_a_raw_bpf_file() {
    let out = run(&[
        "--seccomp-deny",
        "mkdir,mkdirat",
        "--",
        "sh",
        "-c",
        "grep Seccomp: /proc/self/status; mkdir /proc/fx-nope 2>&1; true",
    ]);
    let s = text(&out.stdout);
    assert!(s.contains("Seccomp:\t2"), "{s}");
    assert!(s.contains("Operation not permitted"), "{s}");
    // A raw program that returns SECCOMP_RET_ERRNO|EPERM for every syscall: even the exec
    // fails, at step exec, with EPERM: the kernel ran our bytes.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("deny-all.bpf");
    let mut bytes = 0x06u16.to_ne_bytes().to_vec();
    bytes.extend_from_slice(&[0, 0]);
    bytes.extend_from_slice(&(0x0005_0000u32 | libc::EPERM as u32).to_ne_bytes());
    std::fs::write(&file, bytes).unwrap();
    let out = run(&["--seccomp-bpf", file.to_str().unwrap(), "--", "true"]);
    assert_eq!(
        text(&out.stderr),
        "forkexec: failed to execute \"true\": Operation not permitted (EPERM)\n",
        "{out:?}"
    );
    // Unknown names are a usage error.
    let out = run(&["--seccomp-deny", "no_such_call", "--", "true"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no_such_call"), "{out:?}");
}

#[test]
fn landlock_read_and_write() {
    if !landlock_available() {
        println!("SKIP: this kernel has no Landlock");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let rw = dir.path().join("rw");
    std::fs::create_dir(&rw).unwrap();
    let mut args = vec![];
    for p in ["/usr", "/bin", "/lib", "/lib64", "/etc"] {
        if std::path::Path::new(p).exists() {
            args.extend(["--landlock-read", p]);
        }
    }
    let rw_s = rw.to_str().unwrap();
    let script = "echo ok > \"$1/f\" && cat \"$1/f\"; ls / >/dev/null 2>&1 || echo denied";
    args.extend([
        "--landlock-write",
        rw_s,
        "--",
        "sh",
        "-c",
        script,
        "sh",
        rw_s,
    ]);
    let out = run(&args);
    assert_eq!(text(&out.stdout), "ok\ndenied\n", "{out:?}");
}

/// Whether this kernel has Landlock, through forkexec's own refusal without it.
fn landlock_available() -> bool {
    let out = run(&["--landlock-read", "/", "--", "true"]);
    !text(&out.stderr).contains("no Landlock")
}

#[test]
fn mount_proc_in_new_pid_and_mount_namespaces() {
    if !is_root() {
        println!("SKIP: --clone-ns pid,mount without a user namespace needs root");
        return;
    }
    let out = run(&[
        "--clone-ns",
        "pid,mount",
        "--mount-proc",
        "--",
        "ps",
        "-e",
        "-o",
        "pid=,comm=",
    ]);
    assert_eq!(
        text(&out.stdout).split_whitespace().collect::<Vec<_>>(),
        ["1", "ps"]
    );
    let out = run(&["--mount-proc", "--", "true"]);
    assert_eq!(out.status.code(), Some(2), "a usage error: {out:?}");
}

#[test]
fn pty_relays_the_programs_terminal() {
    let out = run(&[
        "--pty",
        "--",
        "sh",
        "-c",
        "tty; test -t 0 && echo stdin-is-a-tty",
    ]);
    let s = text(&out.stdout);
    assert!(s.starts_with("/dev/pts/"), "{s:?}");
    assert!(s.contains("stdin-is-a-tty"), "{s:?}");
    assert!(out.status.success());
}

#[test]
fn timeout_like_timeout1() {
    let start = Instant::now();
    let out = run(&["--timeout", "0.2", "--", "sleep", "10"]);
    assert_eq!(out.status.code(), Some(124), "TERM ended it");
    assert!(start.elapsed() < Duration::from_secs(5));
    let out = run(&[
        "--timeout",
        "0.2:0.2",
        "--sigignore",
        "TERM",
        "--",
        "sleep",
        "10",
    ]);
    assert_eq!(
        out.status.code(),
        Some(137),
        "KILL ended it after the grace"
    );
    let out = run(&["--timeout", "5", "--", "sh", "-c", "exit 3"]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "no timeout: the program's status"
    );
    let out = run(&["--timeout", "5x", "--", "true"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn bounding_set_in_setpriv_syntax() {
    if !is_root() {
        println!("SKIP: dropping from the bounding set needs CAP_SETPCAP");
        return;
    }
    let out = run(&[
        "--bounding-set",
        "-all,+net_bind_service",
        "--",
        "grep",
        "CapBnd",
        "/proc/self/status",
    ]);
    assert_eq!(text(&out.stdout), "CapBnd:\t0000000000000400\n");
}

#[test]
fn join_ns_by_pid_and_by_file() {
    if !is_root() {
        println!("SKIP: joining another process's namespaces needs CAP_SYS_ADMIN");
        return;
    }
    let mut target = Command::new(BIN)
        .args(["run", "--clone-ns", "uts,net", "--"])
        .args(["sh", "-c", "hostname fx-cli && echo ready && exec sleep 60"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(target.stdout.as_mut().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line, "ready\n");
    // The program's pid: forkexec run's child.
    let pid = std::fs::read_to_string(format!(
        "/proc/{}/task/{}/children",
        target.id(),
        target.id()
    ))
    .unwrap()
    .trim()
    .to_string();
    let out = run(&["--join-ns", &pid, "--", "hostname"]);
    assert_eq!(text(&out.stdout), "fx-cli\n", "{out:?}");
    let out = run(&[
        "--join-ns",
        &format!("{pid}:uts"),
        "--",
        "readlink",
        "/proc/self/ns/uts",
    ]);
    let want = std::fs::read_link(format!("/proc/{pid}/ns/uts")).unwrap();
    assert_eq!(text(&out.stdout).trim(), want.to_str().unwrap());
    let path = format!("/proc/{pid}/ns/net");
    let out = run(&["--join-ns", &path, "--", "readlink", "/proc/self/ns/net"]);
    let want = std::fs::read_link(&path).unwrap();
    assert_eq!(text(&out.stdout).trim(), want.to_str().unwrap());
    target.kill().unwrap();
    target.wait().unwrap();
}
