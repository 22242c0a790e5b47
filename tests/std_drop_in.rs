//! std-style code, compiled and run against forkexec: written as for `std::process`, with
//! `use std::process::{Command, Stdio}` swapped for `use forkexec::{Command, Stdio}` and
//! nothing else changed. If one of these stops compiling, `Command` is no longer a drop-in.
//!
//! What it covers: `?` in functions returning `io::Result`; `e.kind()` against
//! `io::ErrorKind` and `e.raw_os_error()`; moving a pipe out of a `Child` into another
//! Command (std's documented pipeline); the Stdio conversions (File, OwnedFd, raw fd,
//! `io::stdout()`, `io::PipeReader`/`PipeWriter`, another child's pipes); the getters; std's
//! Debug of Command and Child; `Send + Sync`; the `CommandExt` methods (`arg0`,
//! `process_group`, `uid`, `gid`, `groups`, `pre_exec`, `exec`); `Command::new("")`.
//!
//! `scripts/test.sh` also builds this file without the `json` feature (as a user's crate gets
//! forkexec), where `assert_eq!(out.stderr, Vec::new())` must infer as it does with std.
#![allow(clippy::incompatible_msrv)]
// io::pipe: the tests run on the CI toolchain
// std code imports CommandExt for arg0, uid, pre_exec...; forkexec has them as inherent
// methods, so for forkexec's Command the import is merely unused.
#![allow(unused_imports)]

use forkexec::{Command, Stdio};
use std::io::{self, Read, Write};
use std::os::unix::process::CommandExt;
use std::path::Path;

fn spawn_and_wait() -> io::Result<bool> {
    let mut child = Command::new("true").spawn()?;
    let status = child.wait()?;
    Ok(status.success())
}

fn capture(program: &str) -> io::Result<String> {
    let output = Command::new(program).arg("hello").output()?;
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

#[test]
fn question_mark_in_io_result_functions() {
    assert!(spawn_and_wait().unwrap());
    assert_eq!(capture("echo").unwrap(), "hello\n");
    // The errno survives `?`: raw_os_error and kind are std's.
    let err = capture("/no/such/program").unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ENOENT));
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
}

#[test]
fn errors_are_matched_as_std_errors() {
    match Command::new("forkexec-no-such-program").spawn() {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("spawned a program that does not exist"),
    }
    let e = Command::new("ls")
        .current_dir("/forkexec-no-such-dir")
        .status()
        .unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::ENOENT));
    // std: Command::new("") fails with NotFound (ENOENT), as execvp("") does.
    let e = Command::new("").spawn().unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::NotFound);
    assert_eq!(e.raw_os_error(), Some(libc::ENOENT));
    let e = Command::new("echo").arg("a\0b").spawn().unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
}

/// std's documented pipeline: a child's stdout moved out of its Child into another Command.
#[test]
fn one_child_pipes_into_another() {
    let hello = Command::new("echo")
        .arg("Hello, world!")
        .stdout(Stdio::piped())
        .spawn()
        .expect("failed echo command");
    let reverse = Command::new("rev")
        .stdin(hello.stdout.unwrap()) // a field moved out of the Child
        .output()
        .expect("failed reverse command");
    assert_eq!(reverse.stdout, b"!dlrow ,olleH\n");

    let mut child = Command::new("cat")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    stdin.write_all(b"through cat").unwrap();
    drop(stdin);
    let mut text = String::new();
    stdout.read_to_string(&mut text).unwrap();
    assert_eq!(text, "through cat");
    assert!(child.wait().unwrap().success());
}

#[test]
fn stdio_from_files_fds_and_pipes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out");

    // A File, as std's `Stdio::from(file)`.
    let file = std::fs::File::create(&path).unwrap();
    Command::new("echo")
        .arg("file")
        .stdout(file)
        .status()
        .unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "file\n");

    // An OwnedFd.
    let fd: std::os::fd::OwnedFd = std::fs::File::create(&path).unwrap().into();
    Command::new("echo").arg("fd").stdout(fd).status().unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "fd\n");

    // A raw fd, given as std users give one: `Stdio::from_raw_fd(fd)`.
    {
        use std::os::fd::{FromRawFd, IntoRawFd};
        let raw = std::fs::File::create(&path).unwrap().into_raw_fd();
        // SAFETY: `raw` is an open fd nothing else owns.
        let stdio = unsafe { Stdio::from_raw_fd(raw) };
        Command::new("echo")
            .arg("raw")
            .stdout(stdio)
            .status()
            .unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "raw\n");
    }

    // io::pipe (Rust 1.87): the reader and the writer end.
    let (mut reader, writer) = io::pipe().unwrap();
    Command::new("echo")
        .arg("pipe")
        .stdout(writer)
        .status()
        .unwrap();
    let mut text = String::new();
    reader.read_to_string(&mut text).unwrap();
    assert_eq!(text, "pipe\n");
    let (reader, mut writer) = io::pipe().unwrap();
    writer.write_all(b"in").unwrap();
    drop(writer);
    let out = Command::new("cat").stdin(reader).output().unwrap();
    assert_eq!(out.stdout, b"in");

    // This process's stderr as the child's stdout (std: `Stdio::from(io::stderr())`).
    let status = Command::new("true").stdout(io::stderr()).status().unwrap();
    assert!(status.success());
}

#[cfg(not(feature = "json"))]
#[test]
fn empty_output_compares_with_vec_new() {
    let out = Command::new("true").output().unwrap();
    assert_eq!(out.stdout, Vec::new());
    assert_eq!(out.stderr, Vec::new());
}

#[test]
fn getters_as_std() {
    let mut cmd = Command::new("ls");
    cmd.arg("-l")
        .arg("/")
        .env("TZ", "UTC")
        .env_remove("LANG")
        .current_dir("/bin");
    assert_eq!(cmd.get_program(), "ls");
    let args: Vec<&std::ffi::OsStr> = cmd.get_args().collect();
    assert_eq!(args, &["-l", "/"]);
    assert_eq!(cmd.get_args().len(), 2);
    let envs: Vec<(&std::ffi::OsStr, Option<&std::ffi::OsStr>)> = cmd.get_envs().collect();
    assert_eq!(
        envs,
        &[
            (std::ffi::OsStr::new("LANG"), None),
            (
                std::ffi::OsStr::new("TZ"),
                Some(std::ffi::OsStr::new("UTC"))
            )
        ]
    );
    assert_eq!(cmd.get_current_dir(), Some(Path::new("/bin")));
}

#[test]
fn debug_as_std() {
    let mut cmd = Command::new("echo");
    cmd.arg("hello");
    assert_eq!(format!("{cmd:?}"), r#""echo" "hello""#);
    let mut cmd = Command::new("x");
    cmd.env_clear().env("A", "1");
    assert_eq!(format!("{cmd:?}"), r#"env -i A="1" "x""#);

    let mut child = Command::new("true").stdout(Stdio::piped()).spawn().unwrap();
    assert_eq!(
        format!("{child:?}"),
        "Child { stdin: None, stdout: Some(ChildStdout { .. }), stderr: None, .. }"
    );
    child.wait().unwrap();
}

#[test]
fn command_is_send_and_sync() {
    fn shared<T: Send + Sync>(_: &T) {}
    let cmd = Command::new("true");
    shared(&cmd);
    let cmd = std::sync::Arc::new(std::sync::Mutex::new(cmd));
    let worker = std::thread::spawn({
        let cmd = cmd.clone();
        move || cmd.lock().unwrap().status().unwrap().success()
    });
    assert!(worker.join().unwrap());
}

#[test]
fn command_ext_methods() {
    let out = Command::new("sh")
        .arg0("renamed")
        .args(["-c", "echo $0"])
        .output()
        .unwrap();
    assert_eq!(out.stdout, b"renamed\n");

    let mut child = Command::new("sleep")
        .arg("10")
        .process_group(0)
        .spawn()
        .unwrap();
    // SAFETY: getpgid has no memory preconditions.
    assert_eq!(
        unsafe { libc::getpgid(child.id() as i32) },
        child.id() as i32
    );
    child.kill().unwrap();
    child.wait().unwrap();

    let uid = rustix::process::getuid().as_raw();
    let gid = rustix::process::getgid().as_raw();
    let mut same_ids = Command::new("true");
    same_ids.uid(uid).gid(gid);
    if rustix::process::geteuid().is_root() {
        same_ids.groups(&[gid]);
    }
    assert!(same_ids.status().unwrap().success());

    let mut cmd = Command::new("sh");
    cmd.args(["-c", "echo $FROM_HOOK"]);
    // SAFETY: the closure only reports an error; nothing else runs in the forked child.
    unsafe {
        cmd.pre_exec(|| Err(io::Error::from_raw_os_error(libc::EPERM)));
    }
    assert_eq!(cmd.output().unwrap_err().raw_os_error(), Some(libc::EPERM));

    // exec() returns only on failure, with an error that prints.
    let err = Command::new("/forkexec/no/such/program").exec();
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
    assert!(!err.to_string().is_empty());
}
