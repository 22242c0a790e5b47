//! std's own process tests, run against forkexec: the contract of a drop-in `Command`.
//!
//! Ported (our code, every assertion kept) from rust-lang/rust:
//! `library/std/src/process/tests.rs`, `library/std/src/sys/process/unix/common/tests.rs`,
//! `library/std/src/sys/process/unix/unix/tests.rs`, `library/std/src/sys/process/unix/pidfd/
//! tests.rs`, `library/std/tests/process_spawning.rs`, and the `#[test]`s of
//! `tests/ui/process/core-run-destroy.rs`. The run-pass programs of `tests/ui/process/` and
//! `tests/ui/command/` (each a `main` that re-runs itself) and `library/std/tests/
//! pipe_subprocess.rs` are in `tests/std_ui_process.rs`. Each test names its origin. Where std
//! forces its fork path with an empty `pre_exec`, the port does the same: that is forkexec's
//! fork path too, so both of our paths run, as both of std's do.
//!
//! Deliberate differences are tested as differences (the test says what std does and asserts
//! what forkexec does). Tests that cannot apply:
//!
//! | std test | why it does not apply |
//! | --- | --- |
//! | `process/tests.rs` `child_stdout_read_buf`: the `init_len` assertion | `read_buf`/`BorrowedBuf` are unstable; `ChildStdout` is std's own type here, so the property is std's. The bytes read are checked (`child_stdout_read`) |
//! | `process/tests.rs` Windows tests (`test_creation_flags`, `test_proc_thread_attributes`, `env_empty`, `run_bat_script`, `run_canonical_bat_script`) | Windows only |
//! | `common/tests.rs` `test_program_kind` | std's private `ProgramKind`; the same split (a name with `/` is used as is) is unit-tested in `src/exec/search.rs` |
//! | `common/tests.rs` `unix_exit_statuses`, `unix/tests.rs` `exitstatus_display_tests` | test `std::process::ExitStatus`, which forkexec returns unchanged: no forkexec code runs |
//! | `unix/tests.rs` `assert_spawn_method` (in the `fd_*` tests) | reads std's private "was posix_spawn used" flag; our tests choose the path the same way (`pre_exec` = fork path) |
//! | `pidfd/tests.rs` `create_pidfd(false)` / no-pidfd assertions, `into_pidfd`, `PidFd::kill` giving ESRCH after the reap | std's unstable pidfd API: forkexec always makes a pidfd (`Child::pidfd`), and `Child::kill` after the reap is Ok as std's `Child::kill` is |
#![allow(clippy::incompatible_msrv)] // the tests run on the CI toolchain (io::pipe: Rust 1.87)
#![allow(clippy::single_match)] // std's tests, kept as std wrote them

use forkexec::{Command, Stdio};
use std::io::prelude::*;
use std::io::ErrorKind;
use std::os::fd::AsRawFd;
use std::os::unix::process::ExitStatusExt;
use std::process::Output;
use std::{io, str};

// EMPTY: std writes `assert_eq!(stderr, Vec::new())`. In this workspace the CLI turns on
// forkexec's `json` feature, and serde_json's `impl PartialEq<Value> for u8` makes that line
// ambiguous; without the feature (a user's build) std's line compiles as it is, which
// `tests/std_drop_in.rs` checks (scripts/test.sh builds it without the feature).

fn known_command() -> Command {
    Command::new("echo")
}

fn shell_cmd() -> Command {
    Command::new("/bin/sh")
}

fn env_cmd() -> Command {
    Command::new("env")
}

/// std's tests force the fork/exec path with an empty `pre_exec`; so do we (our fork path).
fn on_fork_path(cmd: &mut Command) -> &mut Command {
    // SAFETY: the closure does nothing.
    unsafe { cmd.pre_exec(|| Ok(())) }
}

// --- library/std/src/process/tests.rs ---

#[test]
fn smoke() {
    let p = shell_cmd().arg("-c").arg("true").spawn();
    assert!(p.is_ok());
    let mut p = p.unwrap();
    assert!(p.wait().unwrap().success());
}

#[test]
fn smoke_failure() {
    match Command::new("if-this-is-a-binary-then-the-world-has-ended").spawn() {
        Ok(..) => panic!(),
        Err(..) => {}
    }
}

#[test]
fn exit_reported_right() {
    let p = shell_cmd().arg("-c").arg("false").spawn();
    assert!(p.is_ok());
    let mut p = p.unwrap();
    assert!(p.wait().unwrap().code() == Some(1));
    drop(p.wait());
}

#[test]
fn signal_reported_right() {
    let mut p = shell_cmd()
        .arg("-c")
        .arg("read a")
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    p.kill().unwrap();
    match p.wait().unwrap().signal() {
        Some(9) => {}
        result => panic!("not terminated by signal 9 (instead, {result:?})"),
    }
}

fn run_output(mut cmd: Command) -> String {
    let p = cmd.spawn();
    assert!(p.is_ok());
    let mut p = p.unwrap();
    assert!(p.stdout.is_some());
    let mut ret = String::new();
    p.stdout.as_mut().unwrap().read_to_string(&mut ret).unwrap();
    assert!(p.wait().unwrap().success());
    ret
}

#[test]
fn stdout_works() {
    let mut cmd = shell_cmd();
    cmd.arg("-c").arg("echo foobar").stdout(Stdio::piped());
    assert_eq!(run_output(cmd), "foobar\n");
}

#[test]
fn set_current_dir_works() {
    let mut cmd = shell_cmd();
    cmd.arg("-c")
        .arg("pwd")
        .current_dir("/")
        .stdout(Stdio::piped());
    assert_eq!(run_output(cmd), "/\n");

    // Also the fork path, as std tests its fork/exec path.
    let mut cmd = shell_cmd();
    cmd.arg("-c")
        .arg("pwd")
        .current_dir("/")
        .stdout(Stdio::piped());
    on_fork_path(&mut cmd);
    assert_eq!(run_output(cmd), "/\n");
}

#[test]
fn stdin_works() {
    let mut p = shell_cmd()
        .arg("-c")
        .arg("read line; echo $line")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    p.stdin
        .as_mut()
        .unwrap()
        .write_all("foobar".as_bytes())
        .unwrap();
    drop(p.stdin.take());
    let mut out = String::new();
    p.stdout.as_mut().unwrap().read_to_string(&mut out).unwrap();
    assert!(p.wait().unwrap().success());
    assert_eq!(out, "foobar\n");
}

/// std's `child_stdout_read_buf`, with `read` (read_buf is unstable): the bytes, moved out of
/// the Child as std's test does (`child.stdout.unwrap()`).
#[test]
fn child_stdout_read() {
    let mut cmd = shell_cmd();
    cmd.arg("-c").arg("echo abc");
    cmd.stdin(Stdio::null());
    cmd.stdout(Stdio::piped());
    let child = cmd.spawn().unwrap();

    let mut stdout = child.stdout.unwrap();
    let mut buf = [0u8; 128];
    let n = stdout.read(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"abc\n");
}

#[test]
fn test_process_status() {
    let mut status = shell_cmd().arg("-c").arg("false").status().unwrap();
    assert!(status.code() == Some(1));

    status = shell_cmd().arg("-c").arg("true").status().unwrap();
    assert!(status.success());
}

#[test]
fn test_process_output_fail_to_start() {
    match Command::new("/no-binary-by-this-name-should-exist").output() {
        Err(e) => assert_eq!(e.kind(), ErrorKind::NotFound),
        Ok(..) => panic!(),
    }
}

#[test]
fn test_process_output_output() {
    let Output {
        status,
        stdout,
        stderr,
    } = shell_cmd().arg("-c").arg("echo hello").output().unwrap();
    let output_str = str::from_utf8(&stdout).unwrap();

    assert!(status.success());
    assert_eq!(output_str.trim().to_string(), "hello");
    assert_eq!(stderr, Vec::<u8>::new()); // `::<u8>`: see EMPTY below
}

#[test]
fn test_process_output_error() {
    let Output {
        status,
        stdout,
        stderr,
    } = Command::new("mkdir").arg("./").output().unwrap();

    assert!(status.code().is_some());
    assert!(status.code() != Some(0));
    assert_eq!(stdout, Vec::<u8>::new()); // `::<u8>`: see EMPTY below
    assert!(!stderr.is_empty());
}

#[test]
fn test_finish_once() {
    let mut prog = shell_cmd().arg("-c").arg("false").spawn().unwrap();
    assert!(prog.wait().unwrap().code() == Some(1));
}

#[test]
fn test_finish_twice() {
    let mut prog = shell_cmd().arg("-c").arg("false").spawn().unwrap();
    assert!(prog.wait().unwrap().code() == Some(1));
    assert!(prog.wait().unwrap().code() == Some(1));
}

#[test]
fn test_wait_with_output_once() {
    let prog = shell_cmd()
        .arg("-c")
        .arg("echo hello")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();

    let Output {
        status,
        stdout,
        stderr,
    } = prog.wait_with_output().unwrap();
    let output_str = str::from_utf8(&stdout).unwrap();

    assert!(status.success());
    assert_eq!(output_str.trim().to_string(), "hello");
    assert_eq!(stderr, Vec::<u8>::new()); // `::<u8>`: see EMPTY below
}

#[test]
fn test_override_env() {
    // In some build environments `env` can only be found in the explicitly-provided PATH.
    let mut cmd = env_cmd();
    cmd.env_clear().env("RUN_TEST_NEW_ENV", "123");
    if let Some(p) = std::env::var_os("PATH") {
        cmd.env("PATH", &p);
    }
    let result = cmd.output().unwrap();
    let output = String::from_utf8_lossy(&result.stdout).to_string();

    assert!(
        output.contains("RUN_TEST_NEW_ENV=123"),
        "didn't find RUN_TEST_NEW_ENV inside of:\n\n{output}",
    );
}

#[test]
fn test_add_to_env() {
    let result = env_cmd().env("RUN_TEST_NEW_ENV", "123").output().unwrap();
    let output = String::from_utf8_lossy(&result.stdout).to_string();

    assert!(
        output.contains("RUN_TEST_NEW_ENV=123"),
        "didn't find RUN_TEST_NEW_ENV inside of:\n\n{output}"
    );
}

#[test]
fn test_capture_env_at_spawn() {
    let mut cmd = env_cmd();
    cmd.env("RUN_TEST_NEW_ENV1", "123");

    // This variable will not be present if the environment has already been captured above.
    std::env::set_var("RUN_TEST_NEW_ENV2", "456");
    let result = cmd.output().unwrap();
    std::env::remove_var("RUN_TEST_NEW_ENV2");

    let output = String::from_utf8_lossy(&result.stdout).to_string();

    assert!(
        output.contains("RUN_TEST_NEW_ENV1=123"),
        "didn't find RUN_TEST_NEW_ENV1 inside of:\n\n{output}"
    );
    assert!(
        output.contains("RUN_TEST_NEW_ENV2=456"),
        "didn't find RUN_TEST_NEW_ENV2 inside of:\n\n{output}"
    );
}

// Regression tests for rust-lang/rust#30858.
#[test]
fn test_interior_nul_in_progname_is_error() {
    match Command::new("has-some-\0\0s-inside").spawn() {
        Err(e) => assert_eq!(e.kind(), ErrorKind::InvalidInput),
        Ok(_) => panic!(),
    }
}

#[test]
fn test_interior_nul_in_arg_is_error() {
    match known_command().arg("has-some-\0\0s-inside").spawn() {
        Err(e) => assert_eq!(e.kind(), ErrorKind::InvalidInput),
        Ok(_) => panic!(),
    }
}

#[test]
fn test_interior_nul_in_args_is_error() {
    match known_command().args(["has-some-\0\0s-inside"]).spawn() {
        Err(e) => assert_eq!(e.kind(), ErrorKind::InvalidInput),
        Ok(_) => panic!(),
    }
}

#[test]
fn test_interior_nul_in_current_dir_is_error() {
    match known_command().current_dir("has-some-\0\0s-inside").spawn() {
        Err(e) => assert_eq!(e.kind(), ErrorKind::InvalidInput),
        Ok(_) => panic!(),
    }
}

// Regression tests for rust-lang/rust#30862.
#[test]
fn test_interior_nul_in_env_key_is_error() {
    match env_cmd().env("has-some-\0\0s-inside", "value").spawn() {
        Err(e) => assert_eq!(e.kind(), ErrorKind::InvalidInput),
        Ok(_) => panic!(),
    }
}

#[test]
fn test_interior_nul_in_env_value_is_error() {
    match env_cmd().env("key", "has-some-\0\0s-inside").spawn() {
        Err(e) => assert_eq!(e.kind(), ErrorKind::InvalidInput),
        Ok(_) => panic!(),
    }
}

#[test]
fn test_command_implements_send_sync() {
    fn take_send_sync_type<T: Send + Sync>(_: T) {}
    take_send_sync_type(Command::new(""))
}

/// std's `debug_print`, every expected string kept. The one difference: std's `{:#?}` ends
/// with `create_pidfd: false` on Linux, a setting forkexec does not have (it always makes a
/// pidfd), so that line is absent here. Each case is also rendered by std's own Command,
/// which must equal ours plus that line.
#[test]
fn debug_print() {
    // std: "    create_pidfd: false,\n" on Linux.
    const PIDFD: &str = "";
    const STD_PIDFD: &str = "    create_pidfd: false,\n";
    fn same_as_std(ours: &Command, std_cmd: &std::process::Command) {
        assert_eq!(format!("{std_cmd:?}"), format!("{ours:?}"));
        assert_eq!(
            format!("{std_cmd:#?}"),
            format!("{ours:#?}").replace("\n}", &format!("\n{STD_PIDFD}}}"))
        );
    }

    let mut command = Command::new("some-boring-name");
    let mut std_command = std::process::Command::new("some-boring-name");

    assert_eq!(format!("{command:?}"), r#""some-boring-name""#.to_string());

    assert_eq!(
        format!("{command:#?}"),
        format!(
            r#"Command {{
    program: "some-boring-name",
    args: [
        "some-boring-name",
    ],
{PIDFD}}}"#
        )
    );
    same_as_std(&command, &std_command);

    command.args(["1", "2", "3"]);
    std_command.args(["1", "2", "3"]);

    assert_eq!(
        format!("{command:?}"),
        r#""some-boring-name" "1" "2" "3""#.to_string()
    );

    assert_eq!(
        format!("{command:#?}"),
        format!(
            r#"Command {{
    program: "some-boring-name",
    args: [
        "some-boring-name",
        "1",
        "2",
        "3",
    ],
{PIDFD}}}"#
        )
    );
    same_as_std(&command, &std_command);

    command.arg0("exciting-name");
    std::os::unix::process::CommandExt::arg0(&mut std_command, "exciting-name");

    assert_eq!(
        format!("{command:?}"),
        r#"["some-boring-name"] "exciting-name" "1" "2" "3""#.to_string()
    );

    assert_eq!(
        format!("{command:#?}"),
        format!(
            r#"Command {{
    program: "some-boring-name",
    args: [
        "exciting-name",
        "1",
        "2",
        "3",
    ],
{PIDFD}}}"#
        )
    );
    same_as_std(&command, &std_command);

    let mut command_with_env_and_cwd = Command::new("boring-name");
    command_with_env_and_cwd
        .current_dir("/some/path")
        .env("FOO", "bar");
    assert_eq!(
        format!("{command_with_env_and_cwd:?}"),
        r#"cd "/some/path" && FOO="bar" "boring-name""#
    );
    assert_eq!(
        format!("{command_with_env_and_cwd:#?}"),
        format!(
            r#"Command {{
    program: "boring-name",
    args: [
        "boring-name",
    ],
    env: CommandEnv {{
        clear: false,
        vars: {{
            "FOO": Some(
                "bar",
            ),
        }},
    }},
    cwd: Some(
        "/some/path",
    ),
{PIDFD}}}"#
        )
    );
    let mut std_with_env_and_cwd = std::process::Command::new("boring-name");
    std_with_env_and_cwd
        .current_dir("/some/path")
        .env("FOO", "bar");
    same_as_std(&command_with_env_and_cwd, &std_with_env_and_cwd);

    let mut command_with_removed_env = Command::new("boring-name");
    command_with_removed_env.env_remove("FOO").env_remove("BAR");
    assert_eq!(
        format!("{command_with_removed_env:?}"),
        r#"env -u BAR -u FOO "boring-name""#
    );
    assert_eq!(
        format!("{command_with_removed_env:#?}"),
        format!(
            r#"Command {{
    program: "boring-name",
    args: [
        "boring-name",
    ],
    env: CommandEnv {{
        clear: false,
        vars: {{
            "BAR": None,
            "FOO": None,
        }},
    }},
{PIDFD}}}"#
        )
    );
    let mut std_with_removed_env = std::process::Command::new("boring-name");
    std_with_removed_env.env_remove("FOO").env_remove("BAR");
    same_as_std(&command_with_removed_env, &std_with_removed_env);

    let mut command_with_cleared_env = Command::new("boring-name");
    command_with_cleared_env
        .env_clear()
        .env("BAR", "val")
        .env_remove("FOO");
    assert_eq!(
        format!("{command_with_cleared_env:?}"),
        r#"env -i BAR="val" "boring-name""#
    );
    assert_eq!(
        format!("{command_with_cleared_env:#?}"),
        format!(
            r#"Command {{
    program: "boring-name",
    args: [
        "boring-name",
    ],
    env: CommandEnv {{
        clear: true,
        vars: {{
            "BAR": Some(
                "val",
            ),
        }},
    }},
{PIDFD}}}"#
        )
    );
    let mut std_with_cleared_env = std::process::Command::new("boring-name");
    std_with_cleared_env
        .env_clear()
        .env("BAR", "val")
        .env_remove("FOO");
    same_as_std(&command_with_cleared_env, &std_with_cleared_env);

    // std's fields for uid, gid, groups, stdio and the process group, in std's order.
    let mut ours = Command::new("x");
    ours.uid(1)
        .gid(2)
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
    ours.process_group(0);
    let mut theirs = std::process::Command::new("x");
    {
        use std::os::unix::process::CommandExt;
        theirs.uid(1).gid(2).process_group(0);
    }
    theirs
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped());
    same_as_std(&ours, &theirs);
}

#[test]
fn terminate_exited_process() {
    let mut cmd = known_command();
    let mut p = cmd.stdout(Stdio::null()).spawn().unwrap();
    p.wait().unwrap();
    assert!(p.kill().is_ok());
    assert!(p.kill().is_ok());
}

// --- library/std/src/sys/process/unix/common/tests.rs ---

/// Blocks `sig` in this thread until dropped.
struct BlockedInThisThread(libc::sigset_t);

impl BlockedInThisThread {
    fn new(sig: i32) -> Self {
        // SAFETY: sigsets on our stack; pthread_sigmask changes this thread only.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            let mut old: libc::sigset_t = std::mem::zeroed();
            assert_eq!(libc::sigemptyset(&mut set), 0);
            assert_eq!(libc::sigaddset(&mut set, sig), 0);
            assert_eq!(libc::pthread_sigmask(libc::SIG_SETMASK, &set, &mut old), 0);
            BlockedInThisThread(old)
        }
    }
}

impl Drop for BlockedInThisThread {
    fn drop(&mut self) {
        // SAFETY: restoring the mask saved in new().
        unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &self.0, std::ptr::null_mut()) };
    }
}

#[test]
fn test_process_mask() {
    // A signal mask *does* get inherited (std's rule since 1.66).
    fn test_inner(mut cmd: Command) {
        let blocked = BlockedInThisThread::new(libc::SIGINT);
        cmd.stdin(Stdio::piped());
        cmd.stdout(Stdio::piped());
        let mut cat = cmd.spawn().unwrap();
        let mut stdin_write = cat.stdin.take().unwrap();
        let mut stdout_read = cat.stdout.take().unwrap();
        drop(blocked);

        // SAFETY: kill has no memory preconditions; the pid is our unreaped child.
        assert_eq!(
            unsafe { libc::kill(cat.id() as libc::pid_t, libc::SIGINT) },
            0
        );
        // Wait until SIGINT is definitely delivered: write to cat and read it back; if SIGINT
        // were unmasked it would be delivered when cat is next scheduled.
        let _ = stdin_write.write(b"Hello");
        drop(stdin_write);

        // Exactly 5 bytes should be read.
        let mut buf = [0; 5];
        let ret = stdout_read.read(&mut buf).unwrap();
        assert_eq!(ret, 5);
        assert_eq!(&buf, b"Hello");

        cat.wait().unwrap();
    }

    test_inner(Command::new("cat"));

    let mut cmd = Command::new("cat");
    on_fork_path(&mut cmd);
    test_inner(cmd);
}

fn assert_leads_a_killable_group(mut cmd: Command) {
    // A cat that hangs: nothing comes on its stdin.
    cmd.stdin(Stdio::piped());
    cmd.stdout(Stdio::piped());
    let mut cat = cmd.spawn().unwrap();

    let pid = cat.id() as libc::pid_t;
    // SAFETY: getpgid and kill have no memory preconditions; the pid is our unreaped child.
    let pgid = unsafe { libc::getpgid(pid) };
    assert_ne!(-1, pgid, "getpgid failed");
    assert_eq!(
        pid, pgid,
        "child process ID does not match its process group ID"
    );

    // We can kill its process group, which means there *is* one.
    // SAFETY: as above.
    assert_eq!(unsafe { libc::kill(-pgid, libc::SIGINT) }, 0);

    cat.wait().unwrap();
}

#[test]
fn test_process_group_posix_spawn() {
    let mut cmd = Command::new("cat");
    cmd.process_group(0);
    assert_leads_a_killable_group(cmd);
}

#[test]
fn test_process_group_no_posix_spawn() {
    let mut cmd = Command::new("cat");
    cmd.process_group(0);
    on_fork_path(&mut cmd);
    assert_leads_a_killable_group(cmd);
}

#[test]
fn test_setsid_posix_spawn() {
    let mut cmd = Command::new("cat");
    cmd.setsid(true);
    assert_leads_a_killable_group(cmd);
}

#[test]
fn test_setsid_no_posix_spawn() {
    let mut cmd = Command::new("cat");
    cmd.setsid(true);
    on_fork_path(&mut cmd);
    assert_leads_a_killable_group(cmd);
}

// --- library/std/src/sys/process/unix/unix/tests.rs ---

/// dev + ino identify a file.
fn md_file_id(md: &std::fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (md.dev(), md.ino())
}

#[test]
fn test_command_fork_no_unwind() {
    let got = std::panic::catch_unwind(|| {
        let mut c = Command::new("echo");
        c.arg("hi");
        // SAFETY: the closure only panics, which must abort the child, not unwind into the
        // parent's code that the forked child shares.
        unsafe {
            c.pre_exec(|| panic!("{}", "crash now!"));
        }
        c.status().expect("failed to get command status")
    });
    let status = got.expect("panic unexpectedly propagated");
    let signal = status
        .signal()
        .expect("expected child process to die of signal");
    assert!(
        signal == libc::SIGABRT
            || signal == libc::SIGILL
            || signal == libc::SIGTRAP
            || signal == libc::SIGSEGV
    );
}

/// Setting the child's stdin with `.fd`.
fn fd_test_stdin_on(use_fork: bool) {
    let (pipe_reader, mut pipe_writer) = io::pipe().unwrap();

    let mut cmd = Command::new("cat");
    cmd.stdout(Stdio::piped())
        .fd(libc::STDIN_FILENO, pipe_reader);
    if use_fork {
        on_fork_path(&mut cmd);
    }

    let mut child = cmd.spawn().unwrap();
    let mut stdout = child.stdout.take().unwrap();

    pipe_writer.write_all(b"Hello, world!").unwrap();
    drop(pipe_writer);

    assert!(child.wait().unwrap().success());
    assert_eq!(io::read_to_string(&mut stdout).unwrap(), "Hello, world!");
}

#[test]
fn fd_test_stdin() {
    fd_test_stdin_on(false);
    fd_test_stdin_on(true);
}

/// std's `fd_test_swap` is `#[should_panic]` (a FIXME: std's fd mapping clobbers one of two
/// swapped fds, and its expected text fails). forkexec handles swaps, so this asserts what a
/// correct swap gives: `cat /dev/fd/num1 /dev/fd/num2` reads pipe 2 (now at num1), then pipe 1.
fn fd_test_swap_on(use_fork: bool) {
    let (pipe_reader1, mut pipe_writer1) = io::pipe().unwrap();
    let (pipe_reader2, mut pipe_writer2) = io::pipe().unwrap();

    let num1 = pipe_reader1.as_raw_fd();
    let num2 = pipe_reader2.as_raw_fd();

    let mut cmd = Command::new("cat");
    cmd.arg(format!("/dev/fd/{num1}"))
        .arg(format!("/dev/fd/{num2}"))
        .stdout(Stdio::piped())
        .fd(num2, pipe_reader1)
        .fd(num1, pipe_reader2);
    if use_fork {
        on_fork_path(&mut cmd);
    }

    pipe_writer1.write_all(b"Hello from pipe 1!").unwrap();
    drop(pipe_writer1);
    pipe_writer2.write_all(b"Hello from pipe 2!").unwrap();
    drop(pipe_writer2);

    let mut child = cmd.spawn().unwrap();
    let mut stdout = child.stdout.take().unwrap();

    assert!(child.wait().unwrap().success());
    // std expects (and fails with) "Hello from pipe 1!" alone.
    assert_eq!(
        io::read_to_string(&mut stdout).unwrap(),
        "Hello from pipe 2!Hello from pipe 1!"
    );
}

#[test]
fn fd_test_swap() {
    fd_test_swap_on(false);
    fd_test_swap_on(true);
}

/// The fd is closed in the parent, but only after the child is spawned.
fn fd_test_close_time_on(use_fork: bool) {
    let (_pipe_reader, pipe_writer) = io::pipe().unwrap();

    let fd = pipe_writer.as_raw_fd();
    let fd_path = format!("/dev/fd/{fd}");

    let mut cmd = Command::new("true");
    cmd.fd(123, pipe_writer);
    if use_fork {
        on_fork_path(&mut cmd);
    }

    // The identity of the fd (metadata follows the symlink).
    let fd_id = md_file_id(&std::fs::metadata(&fd_path).expect("fd should be open"));

    assert!(cmd.spawn().unwrap().wait().unwrap().success());

    // After the child is spawned, our fd is closed.
    match std::fs::metadata(&fd_path) {
        // The number is open but names a different file.
        Ok(md) => assert_ne!(md_file_id(&md), fd_id),
        // The fd does not exist.
        Err(_) => (),
    }
}

#[test]
fn fd_test_close_time() {
    fd_test_close_time_on(false);
    fd_test_close_time_on(true);
}

// --- library/std/src/sys/process/unix/pidfd/tests.rs ---

/// The pid a pidfd refers to, from /proc/self/fdinfo (the kernel's answer).
fn pidfd_pid(fd: i32) -> Option<u32> {
    let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{fd}")).ok()?;
    info.lines()
        .find_map(|l| l.strip_prefix("Pid:"))
        .and_then(|p| p.trim().parse().ok())
}

#[test]
fn test_command_pidfd() {
    let mut child = Command::new("false").spawn().unwrap();
    let pidfd = child.pidfd().as_raw_fd();
    // SAFETY: F_GETFD on an fd the Child keeps open.
    let flags = unsafe { libc::fcntl(pidfd, libc::F_GETFD) };
    assert!(flags >= 0 && flags & libc::FD_CLOEXEC != 0);
    assert!(child.id() > 0 && child.id() < -1i32 as u32);
    let status = child.wait().expect("error waiting on pidfd");
    assert_eq!(status.code(), Some(1));

    let mut child = Command::new("sleep").arg("1000").spawn().unwrap();
    assert!(matches!(child.try_wait(), Ok(None)));
    child.kill().expect("failed to kill child");
    let status = child.wait().expect("error waiting on pidfd");
    assert_eq!(status.signal(), Some(libc::SIGKILL));

    // The fork path: a pidfd too, naming the right process.
    let mut cmd = Command::new("false");
    let mut child = on_fork_path(&mut cmd).spawn().unwrap();
    let id = child.id();
    assert!(
        id > 0 && id < -1i32 as u32,
        "spawning with pidfd still returns a sane pid"
    );
    match pidfd_pid(child.pidfd().as_raw_fd()) {
        Some(pid) => assert_eq!(pid, id),
        None => println!("SKIP: this kernel's fdinfo has no Pid: line for a pidfd"),
    }
    child.wait().expect("error waiting on child");
}

/// std's `test_pidfd` on its unstable `PidFd`, as far as `Child` has the same calls.
#[test]
fn test_pidfd() {
    let mut child = Command::new("sleep")
        .arg("1000")
        .spawn()
        .expect("executing 'sleep' failed");

    assert!(matches!(child.try_wait(), Ok(None)));
    child.kill().expect("kill failed");
    child.kill().expect("sending kill twice failed");
    let status = child.wait().expect("1st wait failed");
    assert_eq!(status.signal(), Some(libc::SIGKILL));

    // Waiting again for a reaped child is safe: no pid-recycling race (std accepts ECHILD or
    // the same status; Child keeps the status).
    let res = child.wait();
    match res {
        Ok(exit) if exit.signal() == Some(libc::SIGKILL) => {}
        other => panic!("expected the SIGKILL status again, got {other:?}"),
    }
}

// --- library/std/tests/process_spawning.rs ---

#[test]
fn issue_15149() {
    // Copy our own binary to a new directory.
    let my_path = std::env::current_exe().unwrap();
    let temp = tempfile::tempdir().unwrap();
    let child_dir = temp.path().join("issue-15140-child");
    std::fs::create_dir_all(&child_dir).unwrap();
    let child_path = child_dir.join("mytest");
    std::fs::copy(&my_path, &child_path).unwrap();

    // Append the new directory to our own PATH, for the child only.
    let path = {
        let mut paths: Vec<_> = std::env::split_paths(&std::env::var_os("PATH").unwrap()).collect();
        paths.push(child_dir.to_path_buf());
        std::env::join_paths(paths).unwrap()
    };

    // std runs the copy with the filter "child"; `--list` runs no test and exits 0.
    let child_output = Command::new("mytest")
        .env("PATH", &path)
        .arg("--list")
        .output()
        .unwrap();

    assert!(
        child_output.status.success(),
        "child assertion failed\n child stdout:\n {}\n child stderr:\n {}",
        str::from_utf8(&child_output.stdout).unwrap(),
        str::from_utf8(&child_output.stderr).unwrap()
    );
}

// --- tests/ui/process/core-run-destroy.rs ---

fn sleeper() -> forkexec::Child {
    Command::new("sleep").arg("1000").spawn().unwrap()
}

#[test]
fn test_destroy_once() {
    let mut p = sleeper();
    p.kill().unwrap();
    p.wait().unwrap();
}

#[test]
fn test_destroy_twice() {
    let mut p = sleeper();
    p.kill().unwrap(); // this shouldn't crash...
    let _ = p.kill(); // ...and nor should this (and nor should the destructor)
    p.wait().unwrap();
}

#[test]
fn test_destroy_actually_kills() {
    // This process would stay alive indefinitely, reading from stdin.
    let mut p = Command::new("cat").stdin(Stdio::piped()).spawn().unwrap();

    p.kill().unwrap();

    // Don't let this test time out: this should be quick.
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(1000));
        if rx.try_recv().is_err() {
            std::process::exit(1);
        }
    });
    let code = p.wait().unwrap().code();
    assert!(code.is_none());
    tx.send(()).unwrap();
}
