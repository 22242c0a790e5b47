//! The spawn core: output capture, exit codes, errors with their step, bad input.

use forkexec::{Command, ErrorKind, Stdio};
use std::time::Duration;

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
        (Command::new(""), "empty"),
    ] {
        let err = cmd.stdout(Stdio::null()).spawn().unwrap_err();
        assert_eq!(err.kind(), &ErrorKind::InvalidInput, "{err}");
        assert!(err.to_string().contains(needle), "{err} lacks {needle}");
    }
}
