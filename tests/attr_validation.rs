//! Contradictory or impossible attributes are refused in the parent with InvalidInput, before
//! any clone. The second test proves "no process was created" from the kernel's side: inside a
//! fresh pid namespace, /proc/sys/kernel/ns_last_pid (the last pid that namespace handed out)
//! does not move while every refusal is tried, and does move for a control spawn.

mod support;
use forkexec::{Command, ErrorStage};
use support::{skip, userns_available};

/// Each case: a command with a bad attribute set, and a phrase its error must contain.
fn cases() -> Vec<(Command, &'static str)> {
    let file = std::fs::File::open("/proc/self/status").unwrap();
    let not_a_tty = std::os::fd::AsRawFd::as_raw_fd(&file);
    let mk = |f: &dyn Fn(&mut Command)| {
        let mut c = Command::new("true");
        f(&mut c);
        c
    };
    let v = vec![
        (
            mk(&|c| {
                c.setsid(true).setctty(0).foreground(0);
            }),
            "setctty and foreground cannot be combined",
        ),
        (
            mk(&|c| {
                c.setsid(true).setctty(9);
            }),
            "invalid controlling terminal fd 9",
        ),
        (
            mk(&|c| {
                c.setsid(true).close_fd(0).setctty(0);
            }),
            "invalid controlling terminal fd 0",
        ),
        (
            mk(&|c| {
                c.setctty(0);
            }),
            "setctty needs setsid",
        ),
        (
            mk(&|c| {
                c.process_group(-5);
            }),
            "invalid process group -5",
        ),
        (
            mk(&|c| {
                c.process_group(i32::MAX);
            }),
            "no such process group exists",
        ),
        (
            mk(&|c| {
                c.setsid(true).process_group(0);
            }),
            "process_group cannot be combined",
        ),
        (
            mk(&|c| {
                c.foreground(not_a_tty);
            }),
            "not an open terminal",
        ),
        (
            mk(&|c| {
                c.setsid(true).noctty(true);
            }),
            "noctty cannot be combined",
        ),
        (
            mk(&|c| {
                c.clone_namespaces("user,bogus");
            }),
            "unknown namespace \"bogus\"",
        ),
        (
            mk(&|c| {
                c.unshare_namespaces("mnt,nett");
            }),
            "unknown namespace \"nett\"",
        ),
        (
            mk(&|c| {
                c.pdeathsig("SIGFOO");
            }),
            "unknown signal \"SIGFOO\"",
        ),
        (
            mk(&|c| {
                c.rlimit("nofiles", 1, 1);
            }),
            "unknown resource limit \"nofiles\"",
        ),
        (
            mk(&|c| {
                c.ambient_capabilities(["CAP_FLY"]);
            }),
            "unknown capability \"CAP_FLY\"",
        ),
        (
            mk(&|c| {
                c.rlimit("nofile", 100, 10);
            }),
            "soft limit 100 is above the hard limit 10",
        ),
        (
            mk(&|c| {
                c.uid_map((0, 0, 1));
            }),
            "need a new user namespace",
        ),
        (
            mk(&|c| {
                c.unshare_namespaces("user").gid_map((0, 0, 1));
            }),
            "instead of unshare",
        ),
        (
            mk(&|c| {
                c.clone_namespaces("user").uid_map((0, 0, 0));
            }),
            "count must be at least 1",
        ),
        (
            mk(&|c| {
                c.clone_namespaces("user").uid_map("0:0");
            }),
            "unknown id map \"0:0\"",
        ),
        (
            mk(&|c| {
                c.clone_namespaces("user")
                    .gid_map((0, 0, 1))
                    .groups(&[1, 2]);
            }),
            "setgroups is denied",
        ),
        (
            mk(&|c| {
                c.userns_setgroups(true);
            }),
            "invalid userns setgroups",
        ),
        (
            mk(&|c| {
                c.ignore_signals("TERM,KILL");
            }),
            "cannot be ignored",
        ),
    ];
    drop(file);
    v
}

fn check_all_refused() {
    for (mut cmd, needle) in cases() {
        let err = cmd.spawn().unwrap_err();
        assert_eq!(err.stage(), ErrorStage::InvalidInput, "{err}");
        assert_eq!(err.step_name(), "validate", "{err}");
        // EINVAL as a C caller would see it; no OS error happened, as std says for its refusals.
        assert_eq!(err.errno(), Some(forkexec::Errno(libc::EINVAL)), "{err}");
        assert_eq!(err.raw_os_error(), None, "{err}");
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{err}");
        assert!(err.to_string().contains(needle), "{err:?} lacks {needle:?}");
    }
}

#[test]
fn invalid_combinations_are_refused_with_a_clear_message() {
    check_all_refused();
}

const HELPER_ENV: &str = "FORKEXEC_TEST_NO_CHILD_HELPER";

fn last_pid() -> i64 {
    std::fs::read_to_string("/proc/sys/kernel/ns_last_pid")
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// Runs inside the pid namespace made by the test below (a no-op in a normal test run).
#[test]
fn no_child_helper() {
    if std::env::var_os(HELPER_ENV).is_none() {
        return;
    }
    let cases = cases();
    let before = last_pid();
    for (mut cmd, _) in cases {
        let _ = cmd.spawn().unwrap_err();
    }
    let after = last_pid();
    assert_eq!(before, after, "a refused spawn allocated a pid");
    assert!(Command::new("true").status().unwrap().success());
    assert!(
        last_pid() > after,
        "the control spawn did not move ns_last_pid"
    );
    println!("NO-CHILD-OK {before} {after}");
}

#[test]
fn refusals_create_no_process() {
    if !userns_available() {
        return skip("the proof needs a pid namespace (user namespaces unavailable)");
    }
    let uid = rustix::process::getuid().as_raw();
    let gid = rustix::process::getgid().as_raw();
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "no_child_helper",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(HELPER_ENV, "1")
        .clone_namespaces("user,pid")
        .uid_map((0, uid, 1))
        .gid_map((0, gid, 1))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("NO-CHILD-OK"),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
