//! `Command::exec` (the sequence run in this process) and `pre_exec` (the fork path): what they
//! refuse, what a failure leaves behind, and where an error says it happened. (std's own tests
//! of both run in `tests/std_ui_process.rs`: command-exec, command-pre-exec.)

use forkexec::{Command, ErrorStage, Stdio};
use std::io;
use std::sync::{Mutex, MutexGuard};

/// `Command::exec` runs the child sequence in this process: until the exec fails it changes
/// process-wide state (SIGPIPE's disposition, fds' close-on-exec flags) that the other tests
/// of this file read (and its forks inherit), so every test here takes its turn.
fn one_exec_at_a_time() -> MutexGuard<'static, ()> {
    static IN_PLACE: Mutex<()> = Mutex::new(());
    IN_PLACE.lock().unwrap_or_else(|e| e.into_inner())
}

/// A field of /proc/self/status as a bit set (SigIgn, SigBlk...).
fn own_signal_field(name: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/thread-self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with(name)).unwrap();
    u64::from_str_radix(line.split_whitespace().nth(1).unwrap(), 16).unwrap()
}

#[test]
fn a_failed_exec_gives_back_sigpipe_and_the_mask() {
    let _turn = one_exec_at_a_time();
    // The sequence sets SIGPIPE to its default for the program; if the exec then fails, this
    // process must not be left dying at its next write to a closed pipe (std leaves it so).
    let sigpipe = 1u64 << (libc::SIGPIPE - 1);
    assert_ne!(
        own_signal_field("SigIgn:") & sigpipe,
        0,
        "Rust ignores SIGPIPE"
    );
    let mask_before = own_signal_field("SigBlk:");
    let err = Command::new("/forkexec/no/such/program")
        .signal_mask("USR2")
        .exec();
    assert_eq!(err.step_name(), "exec", "{err}");
    assert_eq!(err.raw_os_error(), Some(libc::ENOENT), "{err}");
    assert_ne!(
        own_signal_field("SigIgn:") & sigpipe,
        0,
        "SIGPIPE left at default"
    );
    assert_eq!(
        own_signal_field("SigBlk:"),
        mask_before,
        "mask not restored"
    );
}

#[test]
fn exec_refuses_what_needs_a_parent_before_changing_anything() {
    let _turn = one_exec_at_a_time();
    let cwd = std::env::current_dir().unwrap();
    let err = Command::new("true")
        .stdout(Stdio::piped())
        .current_dir("/")
        .exec();
    assert_eq!(err.stage(), ErrorStage::InvalidInput, "{err}");
    assert!(err.to_string().contains("a pipe needs a parent"), "{err}");
    let err = Command::new("true")
        .clone_namespaces("user")
        .current_dir("/")
        .exec();
    assert_eq!(err.stage(), ErrorStage::InvalidInput, "{err}");
    assert!(err.to_string().contains("clone_namespaces"), "{err}");
    assert_eq!(
        std::env::current_dir().unwrap(),
        cwd,
        "a refusal changed the cwd"
    );
}

#[test]
fn pre_exec_errors_name_their_step_and_keep_the_errno() {
    let _turn = one_exec_at_a_time();
    let mut cmd = Command::new("true");
    // SAFETY: the closure only returns an error.
    unsafe { cmd.pre_exec(|| Err(io::Error::from_raw_os_error(libc::EXDEV))) };
    let err = cmd.spawn().unwrap_err();
    assert_eq!(err.step_name(), "pre_exec", "{err}");
    assert_eq!(err.stage(), ErrorStage::Child);
    assert_eq!(err.raw_os_error(), Some(libc::EXDEV));
    assert_eq!(
        err.to_string(),
        "failed to run a pre_exec closure for \"true\": Invalid cross-device link (EXDEV)"
    );
    // An error without an errno is EINVAL, as std reports it.
    let mut cmd = Command::new("true");
    // SAFETY: as above.
    unsafe { cmd.pre_exec(|| Err(io::Error::other("no errno"))) };
    assert_eq!(cmd.spawn().unwrap_err().raw_os_error(), Some(libc::EINVAL));
    // A step of the sequence still fails at its own step on the fork path.
    let mut cmd = Command::new("true");
    cmd.current_dir("/forkexec-nope");
    // SAFETY: the closure does nothing.
    unsafe { cmd.pre_exec(|| Ok(())) };
    assert_eq!(cmd.spawn().unwrap_err().step_name(), "chdir");
}

#[test]
fn pre_exec_runs_after_every_attribute() {
    let _turn = one_exec_at_a_time();
    // The closure sees the child as the program will (std's order): its own group, fd 0 at
    // /dev/null, working directory "/". A mismatch fails the spawn with an errno naming it.
    let mut cmd = Command::new("true");
    cmd.process_group(0).stdin(Stdio::null()).current_dir("/");
    // SAFETY: the closure makes async-signal-safe calls only (getpid, getpgid, getcwd, fstat).
    unsafe {
        cmd.pre_exec(|| {
            if libc::getpgid(0) != libc::getpid() {
                return Err(io::Error::from_raw_os_error(libc::ESRCH));
            }
            let mut buf = [0u8; 8];
            let p = libc::getcwd(buf.as_mut_ptr().cast(), buf.len());
            if p.is_null() || buf[..2] != *b"/\0" {
                return Err(io::Error::from_raw_os_error(libc::ENOTDIR));
            }
            let mut st: libc::stat = std::mem::zeroed();
            if libc::fstat(0, &mut st) != 0 || st.st_mode & libc::S_IFMT != libc::S_IFCHR {
                return Err(io::Error::from_raw_os_error(libc::EBADF));
            }
            Ok(())
        });
    }
    let status = cmd.status().unwrap();
    assert!(status.success());
}

#[test]
fn pre_exec_refuses_what_needs_a_clone() {
    let _turn = one_exec_at_a_time();
    let mut cmd = Command::new("true");
    cmd.clone_namespaces("user");
    // SAFETY: the closure does nothing.
    unsafe { cmd.pre_exec(|| Ok(())) };
    let err = cmd.spawn().unwrap_err();
    assert_eq!(err.stage(), ErrorStage::InvalidInput, "{err}");
    assert!(err.to_string().contains("fork(2)"), "{err}");
}

/// `Command::exec` runs the sequence in this process, whose fd table other threads share. Where
/// close_range is missing (before 5.11: the emulated profiles) the sequence polls the listed
/// fds and marks each open one close-on-exec; an fd another thread closes between the poll and
/// the mark is gone, which is all the marking wanted, and must not fail the exec (it did, with
/// EBADF at step `fcntl`: seen once in a full run of this file under the 3.10 profile).
#[test]
fn fds_other_threads_close_meanwhile_do_not_fail_exec() {
    let _turn = one_exec_at_a_time();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let churn = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let files: Vec<_> = (0..16)
                    .map(|_| std::fs::File::open("/dev/null").unwrap())
                    .collect();
                drop(files);
            }
        })
    };
    let mut failures = Vec::new();
    for _ in 0..5000 {
        let err = Command::new("/forkexec/no/such/program").exec();
        if err.step_name() != "exec" {
            failures.push(err.to_string());
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    churn.join().unwrap();
    assert!(
        failures.is_empty(),
        "{} of 5000: {:?}",
        failures.len(),
        failures.first()
    );
}
