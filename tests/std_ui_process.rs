//! std's run-pass process programs, run against forkexec: each of rust-lang/rust's
//! `tests/ui/process/*.rs` and `tests/ui/command/*.rs` that spawns, and
//! `library/std/tests/pipe_subprocess.rs`, ported (our code, every assertion kept).
//!
//! Each of those programs is a `main` that re-runs itself as its own child, so this test has
//! no libtest harness (`harness = false` in Cargo.toml): `main` runs every case in turn, and a
//! child knows its role from `FORKEXEC_UI_CHILD` (or, for `env-funky-keys`, which must start
//! with an empty environment, from its argv). A failing case panics, which fails the test.
//! `cargo test --test std_ui_process -- NAME` runs the cases whose name contains NAME.
//!
//! Not applicable:
//!
//! | std program | why |
//! | --- | --- |
//! | `process/env-vars.rs` | tests `std::env::vars_os` against `var_os`; spawns nothing |
//! | `process/tls-exit-status.rs` | a panicking `main` (compiletest's run-fail); spawns nothing |
//! | `process/process-panic-after-fork.rs`: the raw `fork` + `panic::always_abort` cases and the allocation trap | std's unstable panic internals; its one `Command` case (a panicking `pre_exec` aborts the child) is ported here, without the trap: std's forked child sets `always_abort`, which stable code cannot |
//! | `process/println-with-broken-pipe.rs`: `#[unix_sigpipe = "sig_ign"]` | an unstable attribute; std's runtime ignores SIGPIPE by default anyway, which is what the case relies on |
//! | `process/win-*.rs`, `windows-exit-code-still-active.rs` | Windows only |
//! | `command/command-create-pidfd.rs` | std's unstable `create_pidfd`: forkexec always makes a pidfd (`tests/std_process.rs` `test_command_pidfd`) |
//! | `process/core-run-destroy.rs` | libtest tests: in `tests/std_process.rs` |
#![allow(clippy::incompatible_msrv)] // io::pipe: the tests run on the CI toolchain

mod support;

use forkexec::{Command, Stdio};
use std::env;
use std::ffi::OsStr;
use std::io::{self, prelude::*};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;

/// The variable that tells a re-run of this binary which child it is.
const ROLE: &str = "FORKEXEC_UI_CHILD";

/// A case: its name (the std program it ports) and its parent side.
type Case = (&'static str, fn());

const CASES: &[Case] = &[
    ("env-args-reverse-iterator", env_args_reverse_iterator),
    ("env-funky-keys", env_funky_keys),
    ("exec-env", exec_env),
    ("fds-are-cloexec", fds_are_cloexec),
    ("inherit-env", inherit_env),
    ("issue-13304", issue_13304),
    ("issue-14456", issue_14456),
    ("issue-14940", issue_14940),
    ("issue-16272", issue_16272),
    ("issue-20091", issue_20091),
    ("issue-30490", issue_30490),
    ("multi-panic", multi_panic),
    ("no-stdio", no_stdio),
    ("nofile-limit", nofile_limit),
    ("println-with-broken-pipe", println_with_broken_pipe),
    ("process-envs", process_envs),
    ("process-exit", process_exit),
    ("process-panic-after-fork", process_panic_after_fork),
    ("process-remove-from-env", process_remove_from_env),
    ("process-sigpipe", process_sigpipe),
    ("process-spawn-failure", process_spawn_failure),
    ("process-spawn-nonexistent", process_spawn_nonexistent),
    (
        "process-spawn-with-unicode-params",
        process_spawn_with_unicode_params,
    ),
    (
        "process-status-inherits-stdin",
        process_status_inherits_stdin,
    ),
    ("signal-exit-status", signal_exit_status),
    ("sigpipe-should-be-ignored", sigpipe_should_be_ignored),
    ("try-wait", try_wait),
    ("command-argv0", command_argv0),
    ("command-current-dir", command_current_dir),
    ("command-dup2-file-action", command_dup2_file_action),
    ("command-exec", command_exec),
    ("command-pre-exec", command_pre_exec),
    ("command-setgroups", command_setgroups),
    ("command-uid-gid", command_uid_gid),
    ("issue-10626", issue_10626),
    ("pipe_subprocess", pipe_subprocess),
];

fn main() {
    let args: Vec<String> = env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    if let Some(role) = env::var_os(ROLE) {
        return child(&role.to_string_lossy(), &args);
    }
    if args.len() == 2 && args[1] == "env-funky-keys" {
        return funky_keys_child();
    }
    // libtest's flags (--nocapture, --quiet...) are accepted and ignored; a free word filters.
    let filter = args.iter().skip(1).find(|a| !a.starts_with('-'));
    let mut ran = 0;
    for (name, case) in CASES {
        if filter.is_some_and(|f| !name.contains(f.as_str())) {
            continue;
        }
        println!("test {name} ...");
        case();
        ran += 1;
    }
    println!("{ran} passed, 0 failed");
}

/// This binary, to re-run as a child.
fn me() -> PathBuf {
    env::current_exe().unwrap()
}

/// This binary as the child `role`.
fn child_cmd(role: &str) -> Command {
    let mut cmd = Command::new(me());
    cmd.env(ROLE, role);
    cmd
}

/// The child side of each case, by role.
fn child(role: &str, args: &[String]) {
    match role {
        "env-args-reverse-iterator" => {
            let rev: Vec<String> = env::args().rev().collect();
            assert!(rev.len() == 4);
            assert_eq!(rev[0], "c");
            assert_eq!(rev[1], "b");
            assert_eq!(rev[2], "a");
            assert_eq!(rev[3], args[0]);
            println!("passed");
        }
        "env-funky-keys-exec" => {
            // The original's parent: exec ourselves with argv [exe, "env-funky-keys"] and the
            // environment entry "FOOBAR" (no '='), through forkexec's exec family.
            let me = me();
            let err = forkexec::exec::Exec::new(&me)
                .argv([me.as_os_str(), OsStr::new("env-funky-keys")])
                .envp(["FOOBAR"])
                .exec();
            panic!("execve failed: {err}");
        }
        "exec-env" => assert_eq!(env::var("TEST_EXEC_ENV"), Ok("22".to_string())),
        "fds-are-cloexec" => {
            let mut b = [0u8; 2];
            for arg in &args[1..] {
                let fd: libc::c_int = arg.parse().unwrap();
                // SAFETY: reading into a local buffer; the fd number is what we test.
                let n = unsafe { libc::read(fd, b.as_mut_ptr() as *mut _, 2) };
                assert_eq!(n, -1);
                assert_eq!(io::Error::last_os_error().raw_os_error(), Some(libc::EBADF));
            }
        }
        "inherit-env" => {
            for (k, v) in env::vars() {
                println!("{k}={v}");
            }
        }
        "issue-13304" => {
            for line in io::stdin().lock().lines() {
                println!("{}", line.unwrap());
            }
        }
        "issue-14456" => {
            writeln!(&mut io::stdout(), "foo").unwrap();
            writeln!(&mut io::stderr(), "bar").unwrap();
            let mut s = String::new();
            io::stdin().lock().read_line(&mut s).unwrap();
            assert_eq!(s.len(), 0);
        }
        "issue-14940" => {
            io::stdout().write_all(&[b'a'; 128 * 1024]).unwrap();
        }
        "issue-16272" => assert_eq!(env::args().len(), 3),
        "issue-20091" => {}
        "issue-30490" => {
            io::stdout()
                .write_all(b"child stdout\n")
                .expect("child failed to write to stdout");
            io::stderr()
                .write_all(b"child stderr\n")
                .expect("child failed to write to stderr");
        }
        "multi-panic" => {
            let _ = std::thread::spawn(|| {
                panic!();
            })
            .join();
            panic!();
        }
        "no-stdio" => {
            // Writing to stdout & stderr should not panic.
            println!("test");
            assert!(io::stdout().write(b"test\n").is_ok());
            assert!(io::stderr().write(b"test\n").is_ok());
            // Stdin should be at EOF.
            assert_eq!(io::stdin().read(&mut [0; 10]).unwrap(), 0);
            // Standard file descriptors should be valid.
            assert_fd_is_valid(0);
            assert_fd_is_valid(1);
            assert_fd_is_valid(2);
        }
        "println-with-broken-pipe" => {
            // More than enough to fill any pipe buffer; normally the loop ends with a panic
            // more or less at once.
            for _ in 0..65536 * 64 {
                println!("{}", args[1]);
            }
            unreachable!("should have panicked because of BrokenPipe");
        }
        "process-exit" => std::process::exit(2),
        "process-spawn-with-unicode-params" => {
            let (blah, child_dir, env_var) = unicode_params();
            // The working directory (not compared with the parent's path on purpose).
            assert!(env::current_dir().unwrap().ends_with(&child_dir));
            assert_eq!(&*args[1], blah);
            assert!(env::vars().any(|kv| kv == env_var));
        }
        "process-status-inherits-stdin-a1" => {
            let s = child_cmd("process-status-inherits-stdin-a2")
                .status()
                .unwrap();
            assert!(s.success());
        }
        "process-status-inherits-stdin-a2" => {
            let mut s = String::new();
            io::stdin().read_line(&mut s).unwrap();
            assert_eq!(s, "foo\n");
        }
        "signal-exit-status" => std::process::abort(),
        "sigpipe-should-be-ignored" => {
            let _ = io::stdin().read_line(&mut String::new());
            let _ = io::stdout().write(&[1]);
            assert!(io::stdout().flush().is_err());
        }
        "try-wait-sleep" => std::thread::sleep(std::time::Duration::new(1_000, 0)),
        "try-wait-return-quickly" => {}
        "command-argv0" => {
            assert_eq!(args[1], "doing-test");
            assert_eq!(args[0], "i have a silly name");
            println!("passed");
        }
        "command-current-dir" => {
            let cwd = env::current_dir().unwrap();
            assert_eq!(cwd.file_name().unwrap(), "bar");
        }
        "command-dup2-file-action" => {
            let fd: libc::c_int = args[1].parse().unwrap();
            let mut buf = [0u8; 64];
            // SAFETY: reading into a local buffer.
            let n = unsafe { libc::read(fd, buf.as_mut_ptr() as *mut _, buf.len()) };
            assert!(n > 0, "expected to read from inherited fd {fd}, got {n}");
            let msg = std::str::from_utf8(&buf[..n as usize]).unwrap();
            assert_eq!(msg, "hello from parent");
        }
        "command-exec" => command_exec_child(&args[1]),
        "command-pre-exec" => match &args[1][..] {
            "test1" => println!("hello2"),
            "test2" => assert_eq!(env::var("FOO").unwrap(), "BAR"), // std's parent never runs it
            "test3" => assert_eq!(env::current_dir().unwrap().to_str().unwrap(), "/"),
            "empty" => {}
            arg => panic!("unknown argument: {arg}"),
        },
        "issue-10626" => {
            for _ in 0..2000 {
                println!("hello?");
            }
        }
        "pipe_subprocess" => println!("Heloo,"),
        other => panic!("unknown child role {other:?}"),
    }
}

fn assert_fd_is_valid(fd: libc::c_int) {
    // SAFETY: F_GETFD only reads the fd's flags.
    if unsafe { libc::fcntl(fd, libc::F_GETFD) } == -1 {
        panic!(
            "file descriptor {fd} is not valid: {}",
            io::Error::last_os_error()
        );
    }
}

// --- tests/ui/process ---

fn env_args_reverse_iterator() {
    let output = child_cmd("env-args-reverse-iterator")
        .arg("a")
        .arg("b")
        .arg("c")
        .output()
        .unwrap();
    assert!(output.status.success());
    assert!(output.stderr.is_empty());
    assert_eq!(output.stdout, b"passed\n");
}

fn env_funky_keys() {
    let status = child_cmd("env-funky-keys-exec").status().unwrap();
    assert!(status.success(), "{status}");
}

/// The program exec'd with envp ["FOOBAR"]: an entry without '=' is no variable.
fn funky_keys_child() {
    if let Some((key, value)) = env::vars_os().next() {
        panic!("found env value {key:?} {value:?}");
    }
}

fn exec_env() {
    let status = child_cmd("exec-env")
        .env("TEST_EXEC_ENV", "22")
        .status()
        .unwrap();
    assert!(status.success());
}

fn fds_are_cloexec() {
    use std::net::{TcpListener, TcpStream, UdpSocket};
    use std::os::fd::AsRawFd;
    let file = std::fs::File::open(me()).unwrap();
    let tcp1 = TcpListener::bind("127.0.0.1:0").unwrap();
    let tcp2 = tcp1.try_clone().unwrap();
    let addr = tcp1.local_addr().unwrap();
    let t = std::thread::spawn(move || TcpStream::connect(addr).unwrap());
    let tcp3 = tcp1.accept().unwrap().0;
    let tcp4 = t.join().unwrap();
    let tcp5 = tcp3.try_clone().unwrap();
    let tcp6 = tcp4.try_clone().unwrap();
    let udp1 = UdpSocket::bind("127.0.0.1:0").unwrap();
    let udp2 = udp1.try_clone().unwrap();

    let mut child = child_cmd("fds-are-cloexec")
        .arg("100")
        .stdout(Stdio::piped())
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pipe1 = child.stdin.take().unwrap();
    let pipe2 = child.stdout.take().unwrap();
    let pipe3 = child.stderr.take().unwrap();

    let status = child_cmd("fds-are-cloexec")
        .arg(file.as_raw_fd().to_string())
        .arg(tcp1.as_raw_fd().to_string())
        .arg(tcp2.as_raw_fd().to_string())
        .arg(tcp3.as_raw_fd().to_string())
        .arg(tcp4.as_raw_fd().to_string())
        .arg(tcp5.as_raw_fd().to_string())
        .arg(tcp6.as_raw_fd().to_string())
        .arg(udp1.as_raw_fd().to_string())
        .arg(udp2.as_raw_fd().to_string())
        .arg(pipe1.as_raw_fd().to_string())
        .arg(pipe2.as_raw_fd().to_string())
        .arg(pipe3.as_raw_fd().to_string())
        .status()
        .unwrap();
    assert!(status.success());
    child.wait().unwrap();
}

fn inherit_env() {
    let result = child_cmd("inherit-env").output().unwrap();
    let output = String::from_utf8(result.stdout).unwrap();
    for (k, v) in env::vars() {
        assert!(
            output.contains(&format!("{k}={v}")),
            "output doesn't contain `{k}={v}`\n{output}"
        );
    }
}

fn issue_13304() {
    let mut p = child_cmd("issue-13304")
        .stdout(Stdio::piped())
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    p.stdin
        .as_mut()
        .unwrap()
        .write_all(b"test1\ntest2\ntest3")
        .unwrap();
    let out = p.wait_with_output().unwrap();
    assert!(out.status.success());
    let s = std::str::from_utf8(&out.stdout).unwrap();
    assert_eq!(s, "test1\ntest2\ntest3\n");
}

fn issue_14456() {
    let mut p = child_cmd("issue-14456")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    assert!(p.wait().unwrap().success());
}

fn issue_14940() {
    let out = child_cmd("issue-14940").output().unwrap();
    assert!(out.status.success());
}

fn issue_16272() {
    let status = child_cmd("issue-16272")
        .arg("foo")
        .arg("")
        .status()
        .unwrap();
    assert!(status.success());
}

fn issue_20091() {
    assert!(child_cmd("issue-20091")
        .arg(OsStr::from_bytes(b"\xff"))
        .status()
        .unwrap()
        .success());
}

fn issue_30490() {
    use std::os::fd::FromRawFd;
    // A pipe (reader, writer) as raw fds.
    fn pipe() -> (i32, i32) {
        let mut fds = [0; 2];
        // SAFETY: pipe writes two ints into a local array.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        (fds[0], fds[1])
    }
    // SAFETY (every block below): dup, dup2 and close on fds this function made or on 0-2,
    // which it restores before returning.
    let stdout_backup = unsafe { libc::dup(libc::STDOUT_FILENO) };
    let stderr_backup = unsafe { libc::dup(libc::STDERR_FILENO) };
    assert!(stdout_backup > -1);
    assert!(stderr_backup > -1);

    let (stdout_reader, stdout_writer) = pipe();
    let (stderr_reader, stderr_writer) = pipe();
    // SAFETY: dup2 of fds this function made onto 1 and 2, which it restores below.
    assert!(unsafe { libc::dup2(stdout_writer, libc::STDOUT_FILENO) } > -1);
    // SAFETY: as above.
    assert!(unsafe { libc::dup2(stderr_writer, libc::STDERR_FILENO) } > -1);

    // Close the duplicates of the writers, or reading the pipes would wait for them.
    // SAFETY: closing fds this function made and nothing else owns.
    assert_eq!(unsafe { libc::close(stdout_writer) }, 0);
    // SAFETY: as above.
    assert_eq!(unsafe { libc::close(stderr_writer) }, 0);

    io::stdout()
        .write_all(b"parent stdout\n")
        .expect("failed to write to stdout");
    io::stderr()
        .write_all(b"parent stderr\n")
        .expect("failed to write to stderr");

    // The child's stdout is our stderr and its stderr our stdout: a swap of 1 and 2.
    let child = child_cmd("issue-30490")
        .stdin(Stdio::inherit())
        // SAFETY: fds 2 and 1 are open and handed over on purpose (std's test); the backups
        // taken above restore them after the spawn.
        .stdout(unsafe { Stdio::from_raw_fd(libc::STDERR_FILENO) })
        // SAFETY: as above.
        .stderr(unsafe { Stdio::from_raw_fd(libc::STDOUT_FILENO) })
        .spawn();

    // The Stdio given to the Command took over (and closed) our stdout and stderr: restore them.
    // SAFETY: dup2 of the backups this function took back onto 1 and 2.
    assert!(unsafe { libc::dup2(stdout_backup, libc::STDOUT_FILENO) } > -1);
    // SAFETY: as above.
    assert!(unsafe { libc::dup2(stderr_backup, libc::STDERR_FILENO) } > -1);

    let mut read = String::new();
    // SAFETY: the pipe's read end, made here and owned by nothing else.
    let mut f = unsafe { std::fs::File::from_raw_fd(stdout_reader) };
    f.read_to_string(&mut read)
        .expect("failed to read from stdout file");
    assert_eq!(read, "parent stdout\nchild stderr\n");

    read.clear();
    // SAFETY: the pipe's read end, made here and owned by nothing else.
    let mut f = unsafe { std::fs::File::from_raw_fd(stderr_reader) };
    f.read_to_string(&mut read)
        .expect("failed to read from stderr file");
    assert_eq!(read, "parent stderr\nchild stdout\n");

    assert!(child
        .expect("failed to execute child process")
        .wait()
        .unwrap()
        .success());
}

fn multi_panic() {
    fn check_for_no_backtrace(test: std::process::Output) {
        assert!(!test.status.success());
        let err = String::from_utf8_lossy(&test.stderr);
        let mut it = err.lines().filter(|l| !l.is_empty());

        // Rust 1.9x prints the thread id: `thread '<unnamed>' (1234) panicked at`, as std's
        // current version of this test expects.
        assert_eq!(
            it.next()
                .map(|l| l.starts_with("thread '<unnamed>' (") && l.contains("panicked")),
            Some(true),
            "out: ```{err}```",
        );
        assert!(it.next().is_some());
        assert_eq!(
            it.next(),
            Some("note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace")
        );
        assert_eq!(
            it.next()
                .map(|l| l.starts_with("thread 'main' (") && l.contains("panicked at")),
            Some(true),
            "out: ```{err}```",
        );
        assert!(it.next().is_some());
        assert_eq!(it.next(), None);
    }
    let test = child_cmd("multi-panic")
        .env_remove("RUST_BACKTRACE")
        .output()
        .unwrap();
    check_for_no_backtrace(test);
    let test = child_cmd("multi-panic")
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap();
    check_for_no_backtrace(test);
}

/// Runs `f` with fds 0, 1 and 2 closed, then puts them back.
fn without_stdio<R>(f: impl FnOnce() -> R) -> R {
    // SAFETY (every block): dup, close and dup2 of 0-2, restored before returning.
    let doit = |a| {
        let r = unsafe { libc::dup(a) };
        assert!(r >= 0);
        r
    };
    let a = doit(0);
    let b = doit(1);
    let c = doit(2);

    assert!(unsafe { libc::close(0) } >= 0);
    assert!(unsafe { libc::close(1) } >= 0);
    assert!(unsafe { libc::close(2) } >= 0);

    let r = f();

    assert!(unsafe { libc::dup2(a, 0) } >= 0);
    assert!(unsafe { libc::dup2(b, 1) } >= 0);
    assert!(unsafe { libc::dup2(c, 2) } >= 0);
    // SAFETY: the backups are ours.
    unsafe {
        libc::close(a);
        libc::close(b);
        libc::close(c);
    }
    r
}

fn no_stdio() {
    // Reads and writes without stdio work when stdio itself is missing.
    let (a, b, c) = without_stdio(|| {
        let a = io::stdout().write(b"test\n");
        let b = io::stderr().write(b"test\n");
        let c = io::stdin().read(&mut [0; 10]);
        (a, b, c)
    });
    assert_eq!(a.unwrap(), 5);
    assert_eq!(b.unwrap(), 5);
    assert_eq!(c.unwrap(), 0);

    // A child with "null" descriptors.
    let status = child_cmd("no-stdio")
        .arg("next")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "{status} isn't a success");

    // Everything closed, then a child: still fine.
    let status = without_stdio(|| child_cmd("no-stdio").arg("next").status()).unwrap();
    assert!(status.success(), "{status} isn't a success");
}

/// `write(1, "Ok!\n", 4); exit_group(0)`: a static program, which needs no fd to start (a
/// dynamic one's loader must open its libraries).
#[rustfmt::skip]
const CODE_PRINT_OK: &[u8] = &[
    0x48, 0x8d, 0x35, 0x1a, 0x00, 0x00, 0x00, // lea rsi, [rip+26]  ; the text below
    0xb8, 0x01, 0x00, 0x00, 0x00,             // mov eax, 1         ; write
    0xbf, 0x01, 0x00, 0x00, 0x00,             // mov edi, 1
    0xba, 0x04, 0x00, 0x00, 0x00,             // mov edx, 4
    0x0f, 0x05,                               // syscall
    0xb8, 0xe7, 0x00, 0x00, 0x00,             // mov eax, 231       ; exit_group
    0x31, 0xff,                               // xor edi, edi
    0x0f, 0x05,                               // syscall
    b'O', b'k', b'!', b'\n',
];

fn nofile_limit() {
    // std's program is built static and runs itself; ours is a tiny static program.
    if !support::is_x86_64() {
        return support::skip("the static test program is x86_64 code");
    }
    let dir = tempfile::tempdir().unwrap();
    let this = dir.path().join("print-ok");
    std::fs::write(
        &this,
        forkexec::model::elf_builder::ElfBuilder::exec(CODE_PRINT_OK).bytes(),
    )
    .unwrap();
    std::fs::set_permissions(&this, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let mut cmd = Command::new(&this);
    cmd.arg("Ok!");
    // SAFETY: the closure makes one async-signal-safe call.
    unsafe {
        cmd.pre_exec(|| {
            let rlim = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &rlim) == -1 {
                Err(io::Error::last_os_error())
            } else {
                Ok(())
            }
        })
    };
    let output = cmd.output().unwrap();
    println!("{output:?}");
    assert!(output.status.success()); // std: output.status.exit_ok().unwrap()
    assert!(output.stdout.starts_with(b"Ok!"));
}

fn println_with_broken_pipe() {
    // A pipeline with a short-lived consumer: the producer's println! fails with EPIPE (std's
    // runtime ignores SIGPIPE) and panics. The producer's stdout is moved out of its Child
    // into the consumer's stdin, as std's documentation pipes one child into another.
    let mut producer = child_cmd("println-with-broken-pipe")
        .arg("this line shall appear exactly once on stdout")
        .env("RUST_BACKTRACE", "0")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut consumer = Command::new("head")
        .arg("-n1")
        .stdin(producer.stdout.take().unwrap())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut seen = String::new();
    consumer
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut seen)
        .unwrap();
    consumer.wait().unwrap();
    let producer = producer.wait_with_output().unwrap();
    // compiletest's check-run-results: the expected stdout and stderr of the std program.
    assert_eq!(seen, "this line shall appear exactly once on stdout\n");
    let stderr = String::from_utf8_lossy(&producer.stderr);
    // (empty lines skipped, as std's current tests of panic output do)
    let mut lines = stderr.lines().filter(|l| !l.is_empty());
    // `thread 'main' (1234) panicked at library/std/src/io/stdio.rs:LL:CC:`
    assert!(
        lines
            .next()
            .is_some_and(|l| l.starts_with("thread 'main' (") && l.contains(") panicked at ")),
        "{stderr}"
    );
    assert_eq!(
        lines.next(),
        Some("failed printing to stdout: Broken pipe (os error 32)")
    );
    assert_eq!(
        lines.next(),
        Some("note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace")
    );
    assert_eq!(lines.next(), None);
}

fn process_envs() {
    let old_env = env::var_os("RUN_TEST_NEW_ENV");
    env::set_var("RUN_TEST_NEW_ENV", "123");

    // A filtered environment: PATH only.
    let filtered_env: std::collections::HashMap<String, String> =
        env::vars().filter(|(k, _)| k == "PATH").collect();

    let mut cmd = Command::new("env");
    cmd.env_clear();
    cmd.envs(&filtered_env);

    match old_env {
        None => env::remove_var("RUN_TEST_NEW_ENV"),
        Some(val) => env::set_var("RUN_TEST_NEW_ENV", val),
    }

    let result = cmd.output().unwrap();
    let output = String::from_utf8_lossy(&result.stdout);
    assert!(
        !output.contains("RUN_TEST_NEW_ENV"),
        "found RUN_TEST_NEW_ENV inside of:\n\n{output}"
    );
}

fn process_exit() {
    let status = child_cmd("process-exit").status().unwrap();
    assert_eq!(status.code(), Some(2));
}

/// The Command case of process-panic-after-fork.rs: a panic in `pre_exec` aborts the child.
fn process_panic_after_fork() {
    fn expect_aborted(status: ExitStatus) {
        let signal = status
            .signal()
            .expect("expected child process to die of signal");
        assert!(signal == libc::SIGABRT || signal == libc::SIGILL || signal == libc::SIGTRAP);
    }
    let mut c = Command::new("echo");
    // SAFETY: the closure only panics, which must abort the forked child.
    unsafe {
        c.pre_exec(|| panic!("{}", "crash now!"));
    }
    let st = c.status().expect("failed to get command status");
    expect_aborted(st);
}

fn process_remove_from_env() {
    let old_env = env::var_os("RUN_TEST_NEW_ENV");
    env::set_var("RUN_TEST_NEW_ENV", "123");

    let mut cmd = Command::new("env");
    cmd.env_remove("RUN_TEST_NEW_ENV");

    match old_env {
        None => env::remove_var("RUN_TEST_NEW_ENV"),
        Some(val) => env::set_var("RUN_TEST_NEW_ENV", val),
    }

    let result = cmd.output().unwrap();
    let output = String::from_utf8_lossy(&result.stdout);
    assert!(
        !output.contains("RUN_TEST_NEW_ENV"),
        "found RUN_TEST_NEW_ENV inside of:\n\n{output}"
    );
}

fn process_sigpipe() {
    // std ignores SIGPIPE and other libraries may set signal masks: the child must not inherit
    // the ignored SIGPIPE, or this pipeline never ends (and complains about a broken pipe).
    // Just in case `yes` doesn't check for EPIPE: a watchdog (cancelled when done, as the
    // other cases run after this one in the same process).
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watched = done.clone();
    std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_secs(5));
        if !watched.load(std::sync::atomic::Ordering::SeqCst) {
            std::process::exit(1);
        }
    });
    let output = Command::new("sh")
        .arg("-c")
        .arg("while echo y ; do : ; done | head")
        .output()
        .unwrap();
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    assert!(output.status.success());
    assert!(output.stderr.is_empty());
}

fn process_spawn_failure() {
    let too_long = format!("/NoSuchCommand{:0300}", 0u8);
    let _failures = (0..100)
        .map(|_| {
            let mut cmd = Command::new(&too_long);
            let failed = cmd.spawn();
            assert!(
                failed.is_err(),
                "Make sure the command fails to spawn(): {cmd:?}"
            );
            failed
        })
        .collect::<Vec<_>>();

    // No zombie child left: `ps -A -o pid,ppid,args`, as std's test reads it.
    let my_pid = std::process::id();
    let ps = Command::new("ps")
        .args(["-A", "-o", "pid,ppid,args"])
        .output()
        .unwrap();
    let ps_output = String::from_utf8_lossy(&ps.stdout);
    for (line_no, line) in ps_output.lines().enumerate() {
        let ppid = line.split_whitespace().nth(1);
        if line_no > 0
            && ppid != Some("-")
            && ppid.and_then(|p| p.parse::<u32>().ok()) == Some(my_pid)
            && line.contains("defunct")
        {
            panic!("Zombie child {line}");
        }
    }
}

fn process_spawn_nonexistent() {
    let result = Command::new("nonexistent").spawn().unwrap_err().kind();
    assert!(matches!(
        result,
        io::ErrorKind::NotFound | io::ErrorKind::PermissionDenied
    ));
}

/// (the non-ASCII text, the child's directory name, the variable given to the child)
fn unicode_params() -> (&'static str, String, (String, String)) {
    let blah = "\u{3c0}\u{42f}\u{97f3}\u{e6}\u{221e}";
    let child_dir = format!("process-spawn-with-unicode-params-{blah}");
    let env = ("RUST_TEST_PROC_SPAWN_UNICODE".to_string(), blah.to_string());
    (blah, child_dir, env)
}

fn process_spawn_with_unicode_params() {
    let (blah, child_dir, env_var) = unicode_params();
    // The child is a copy of this binary in a directory with a non-ASCII name.
    let temp = tempfile::tempdir().unwrap();
    let cwd = temp.path().join(&child_dir);
    std::fs::create_dir(&cwd).unwrap();
    let child_path = cwd.join("child");
    std::fs::copy(me(), &child_path).unwrap();

    let mut cmd = Command::new(&child_path);
    cmd.env(ROLE, "process-spawn-with-unicode-params");
    let p = cmd
        .arg(blah)
        .current_dir(&cwd)
        .env(&env_var.0, &env_var.1)
        .spawn()
        .unwrap()
        .wait_with_output()
        .unwrap();

    io::stdout().write_all(&p.stdout).unwrap();
    io::stderr().write_all(&p.stderr).unwrap();
    assert!(p.status.success());
}

fn process_status_inherits_stdin() {
    let mut s = child_cmd("process-status-inherits-stdin-a1")
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    s.stdin.take().unwrap().write_all(b"foo\n").unwrap();
    let s = s.wait().unwrap();
    assert!(s.success());
}

fn signal_exit_status() {
    let status = child_cmd("signal-exit-status").status().unwrap();
    assert!(status.code().is_none());
}

fn sigpipe_should_be_ignored() {
    let mut p = child_cmd("sigpipe-should-be-ignored")
        .stdout(Stdio::piped())
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    drop(p.stdout.take());
    assert!(p.wait().unwrap().success());
}

fn try_wait() {
    let mut me = child_cmd("try-wait-sleep").spawn().unwrap();
    let maybe_status = me.try_wait().unwrap();
    assert!(maybe_status.is_none());
    let maybe_status = me.try_wait().unwrap();
    assert!(maybe_status.is_none());

    me.kill().unwrap();
    me.wait().unwrap();

    let status = me.try_wait().unwrap().unwrap();
    assert!(!status.success());
    let status = me.try_wait().unwrap().unwrap();
    assert!(!status.success());

    let mut me = child_cmd("try-wait-return-quickly").spawn().unwrap();
    loop {
        match me.try_wait() {
            Ok(Some(res)) => {
                assert!(res.success());
                break;
            }
            Ok(None) => std::thread::sleep(std::time::Duration::from_millis(1)),
            Err(e) => panic!("error in try_wait: {e}"),
        }
    }

    let status = me.try_wait().unwrap().unwrap();
    assert!(status.success());
}

// --- tests/ui/command ---

fn command_argv0() {
    let output = child_cmd("command-argv0")
        .arg("doing-test")
        .arg0("i have a silly name")
        .output()
        .unwrap();
    assert!(
        output.stderr.is_empty(),
        "Non-empty stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success());
    assert_eq!(output.stdout, b"passed\n");
}

fn command_current_dir() {
    // A relative program path with current_dir: on Unix it is relative *after* the change of
    // directory (rust-lang/rust#37868).
    let temp = tempfile::tempdir().unwrap();
    let exe_dir = temp.path().join("foo");
    std::fs::create_dir_all(&exe_dir).unwrap();
    std::fs::create_dir_all(temp.path().join("bar")).unwrap();
    std::fs::copy(me(), exe_dir.join("exe")).unwrap();
    let back = env::current_dir().unwrap();
    env::set_current_dir(temp.path()).unwrap();

    let status = Command::new(Path::new("../foo").join("exe"))
        .env(ROLE, "command-current-dir")
        .current_dir("bar")
        .status();
    env::set_current_dir(back).unwrap();
    assert!(status.unwrap().success());
}

/// std's unstable `dup2_file_action(fd, fd)` lets a close-on-exec fd through; here that is
/// `fd(fd, the fd)`, an identity mapping.
fn command_dup2_file_action() {
    use std::os::fd::{AsRawFd, OwnedFd};
    let (read_end, write_end) = io::pipe().unwrap();
    let read_fd = read_end.as_raw_fd();
    // SAFETY: F_GETFD only reads the fd's flags.
    let flags = unsafe { libc::fcntl(read_fd, libc::F_GETFD) };
    assert!(flags & libc::FD_CLOEXEC != 0, "expected CLOEXEC on read fd");

    let msg = b"hello from parent";
    (&write_end).write_all(msg).unwrap();
    drop(write_end);

    let output = child_cmd("command-dup2-file-action")
        .arg(read_fd.to_string())
        .fd(read_fd, OwnedFd::from(read_end))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "child failed: status={}, stderr={}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

fn command_exec_child(arg: &str) {
    let me = me();
    match arg {
        "test1" => println!("passed"),
        "exec-test1" => {
            let err = child_cmd("command-exec").arg("test1").exec();
            panic!("failed to spawn: {err}");
        }
        "exec-test2" => {
            Command::new("/path/to/nowhere").exec();
            println!("passed");
        }
        "exec-test3" => {
            Command::new(&me).arg("bad\0").exec();
            println!("passed");
        }
        "exec-test4" => {
            Command::new(&me).current_dir("/path/to/nowhere").exec();
            println!("passed");
        }
        "exec-test5" => {
            env::set_var("VARIABLE", "ABC");
            Command::new("definitely-not-a-real-binary")
                .env("VARIABLE", "XYZ")
                .exec();
            assert_eq!(env::var("VARIABLE").unwrap(), "ABC");
            println!("passed");
        }
        "exec-test6" => {
            let err = Command::new("echo").arg("passed").env_clear().exec();
            panic!("failed to spawn: {err}");
        }
        "exec-test7" => {
            let err = Command::new("echo").arg("passed").env_remove("PATH").exec();
            panic!("failed to spawn: {err}");
        }
        _ => panic!("unknown argument: {arg}"),
    }
}

fn command_exec() {
    for test in [
        "exec-test1",
        "exec-test2",
        "exec-test3",
        "exec-test4",
        "exec-test5",
        "exec-test6",
        "exec-test7",
    ] {
        let output = child_cmd("command-exec").arg(test).output().unwrap();
        println!("{test}: {output:?}");
        assert!(output.status.success());
        assert!(output.stderr.is_empty());
        assert_eq!(output.stdout, b"passed\n");
    }
}

fn command_pre_exec() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    // SAFETY (each pre_exec below): the closures do what std's test does in its own, in the
    // forked child.
    let output = unsafe {
        child_cmd("command-pre-exec")
            .arg("test1")
            .pre_exec(|| {
                println!("hello");
                Ok(())
            })
            .output()
            .unwrap()
    };
    assert!(output.status.success());
    assert!(output.stderr.is_empty());
    assert_eq!(output.stdout, b"hello\nhello2\n");

    let output = unsafe {
        child_cmd("command-pre-exec")
            .arg("test3")
            .pre_exec(|| {
                env::set_current_dir("/").unwrap();
                Ok(())
            })
            .output()
            .unwrap()
    };
    assert!(output.status.success());
    assert!(output.stderr.is_empty());
    assert!(output.stdout.is_empty());

    let output = unsafe {
        child_cmd("command-pre-exec")
            .arg("bad")
            .pre_exec(|| Err(io::Error::from_raw_os_error(102)))
            .output()
            .unwrap_err()
    };
    assert_eq!(output.raw_os_error(), Some(102));

    let pid = std::process::id();
    let output = unsafe {
        child_cmd("command-pre-exec")
            .arg("empty")
            .pre_exec(move || {
                let child = libc::getpid();
                assert!(child >= 0);
                assert!(pid != child as u32);
                Ok(())
            })
            .output()
            .unwrap()
    };
    assert!(output.status.success());
    assert!(output.stderr.is_empty());
    assert!(output.stdout.is_empty());

    let mem = Arc::new(AtomicUsize::new(0));
    let mem2 = mem.clone();
    let output = unsafe {
        child_cmd("command-pre-exec")
            .arg("empty")
            .pre_exec(move || {
                assert_eq!(mem2.fetch_add(1, Ordering::SeqCst), 0);
                Ok(())
            })
            .output()
            .unwrap()
    };
    assert!(output.status.success());
    assert!(output.stderr.is_empty());
    assert!(output.stdout.is_empty());
    assert_eq!(mem.load(Ordering::SeqCst), 0);
}

fn command_setgroups() {
    // SAFETY: sysconf has no memory preconditions.
    let max_ngroups = unsafe { libc::sysconf(libc::_SC_NGROUPS_MAX) };
    let max_ngroups = max_ngroups as u32 + 1;
    let vec: Vec<u32> = (0..max_ngroups).collect();
    let p = Command::new("/bin/id").groups(&vec[..]).spawn();
    assert!(p.is_err());
}

fn command_uid_gid() {
    let mut p = Command::new("/bin/sh")
        .arg("-c")
        .arg("true")
        .uid(rustix::process::getuid().as_raw())
        .gid(rustix::process::getgid().as_raw())
        .spawn()
        .unwrap();
    assert!(p.wait().unwrap().success());

    // Root may become root: the second half applies to other users only (as in std's test).
    if !rustix::process::getuid().is_root() {
        assert!(Command::new("/bin/ls").uid(0).gid(0).spawn().is_err());
    }
}

fn issue_10626() {
    // A child whose stdout and stderr are /dev/null does not die in a ball of fire.
    let mut p = child_cmd("issue-10626");
    p.stdout(Stdio::null()).stderr(Stdio::null());
    let status = p.spawn().unwrap().wait();
    println!("{status:?}");
    assert!(status.unwrap().success());
}

// --- library/std/tests/pipe_subprocess.rs ---

fn pipe_subprocess() {
    let (rx, tx) = io::pipe().unwrap();
    assert!(child_cmd("pipe_subprocess")
        .stdout(tx)
        .status()
        .unwrap()
        .success());

    let mut s = String::new();
    (&rx).read_to_string(&mut s).unwrap();
    drop(rx);
    assert_eq!(s, "Heloo,\n");
    println!("Test pipe_subprocess.rs success");
}
