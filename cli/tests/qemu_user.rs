//! `forkexec run` under qemu-user (`qemu-x86_64`), as `docker buildx` runs build scripts of
//! another architecture: qemu runs a CLONE_VM|CLONE_VFORK clone as a plain fork (and refuses
//! CLONE_VM without CLONE_THREAD), so nothing the child writes reaches the parent's memory.
//! forkexec must notice (its probe child's mark is missing), spawn fork-like and take the
//! child's report through the status pipe. scripts/test.sh installs qemu-user (Debian) when it
//! is missing; without it these tests SKIP.
//!
//! Breaks on: trusting shared memory under qemu (a failed exec or chdir reported as success,
//! or the exit status of a program that never ran), refusing to spawn at all (EINVAL at
//! clone), an fd leaking into the child.

use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::process::{Command, Output};

const QEMU: &str = "qemu-x86_64";

/// `qemu-x86_64 forkexec run ARGS`, or None (SKIP) where qemu-user is not installed or this is
/// not an x86-64 build.
fn run_under_qemu(args: &[&str]) -> Option<Output> {
    if !cfg!(target_arch = "x86_64") {
        println!("SKIP: the qemu smoke runs the x86-64 build under qemu-x86_64");
        return None;
    }
    let out = Command::new(QEMU)
        .arg(env!("CARGO_BIN_EXE_forkexec"))
        .arg("run")
        .args(args)
        .output();
    match out {
        Ok(out) => Some(out),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            println!("SKIP: {QEMU} is not installed (Debian package qemu-user)");
            None
        }
        Err(e) => panic!("{QEMU}: {e}"),
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn plain_run_under_qemu_is_fork_like_and_works() {
    let Some(out) = run_under_qemu(&["--verbose", "--", "sh", "-c", "echo hi; exit 5"]) else {
        return;
    };
    let err = text(&out.stderr);
    println!("{err}");
    assert_eq!(out.status.code(), Some(5), "{err}");
    assert_eq!(text(&out.stdout), "hi\n");
    assert!(
        err.contains("spawning with fork (fork-like"),
        "qemu runs vfork clones as forks: the probe must see it: {err}"
    );
}

#[test]
fn attributes_apply_under_qemu() {
    let Some(out) = run_under_qemu(&[
        "--umask",
        "027",
        "--setsid",
        "--rlimit",
        "nofile=64:64",
        "--env",
        "FROM_RUN=yes",
        "--dir",
        "/tmp",
        "--",
        "sh",
        "-c",
        "umask; ulimit -n; echo $FROM_RUN; pwd; ps -o sid= -p $$ | tr -d ' '; echo $$",
    ]) else {
        return;
    };
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[..4], ["0027", "64", "yes", "/tmp"], "{stdout}");
    // setsid: the shell leads its own session (sid == its pid).
    assert_eq!(lines[4], lines[5], "{stdout}");
}

#[test]
fn step_errors_come_back_under_qemu() {
    let Some(out) = run_under_qemu(&["--", "/nonexistent/forkexec-qemu"]) else {
        return;
    };
    assert_eq!(out.status.code(), Some(127));
    let err = text(&out.stderr);
    assert!(
        err.contains("failed to execute \"/nonexistent/forkexec-qemu\"")
            && err.contains("(ENOENT)"),
        "{err}"
    );
    let out = run_under_qemu(&["--dir", "/nonexistent-dir", "--", "true"]).unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(126), "{err}");
    assert!(
        err.contains("failed to chdir to \"/nonexistent-dir\""),
        "{err}"
    );
}

#[test]
fn new_namespaces_on_the_clone_are_refused_with_the_reason_under_qemu() {
    let Some(out) = run_under_qemu(&["--clone-ns", "uts", "--", "true"]) else {
        return;
    };
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(126), "{err}");
    assert!(
        err.contains("runs every clone as a fork") && err.contains("(EINVAL)"),
        "{err}"
    );
}

#[test]
fn fds_under_qemu_are_only_stdio_and_the_mapped_ones() {
    if !cfg!(target_arch = "x86_64") {
        return;
    }
    // An inheritable fd (no close-on-exec) at 9 in qemu and so in forkexec under it: the
    // child must not see it; --fd 5=9 maps it to 5, which it must see.
    let file = std::fs::File::open("/dev/null").unwrap();
    let raw = file.as_raw_fd();
    let mut cmd = Command::new(QEMU);
    cmd.arg(env!("CARGO_BIN_EXE_forkexec")).args([
        "run",
        "--fd",
        "5=9",
        "--",
        "sh",
        "-c",
        "ls /proc/$$/fd",
    ]);
    // SAFETY: dup2 in the forked child before exec, on fds it owns; async-signal-safe.
    unsafe {
        cmd.pre_exec(move || {
            if libc::dup2(raw, 9) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = match cmd.output() {
        Ok(o) => o,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            println!("SKIP: {QEMU} is not installed (Debian package qemu-user)");
            return;
        }
        Err(e) => panic!("{QEMU}: {e}"),
    };
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    let fds: Vec<&str> = stdout.lines().collect();
    assert_eq!(fds, ["0", "1", "2", "5"], "{stdout}");
}
