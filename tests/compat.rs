//! Running where older kernels and sandboxes answer differently. scripts/test.sh runs this
//! file (and the spawn, attribute, fd, user-namespace, fault and stress suites) under each
//! profile of `forkexec-emulate` (3.10, 4.18, 5.4, docker); on the real kernel it checks that
//! what the probe reports is what the child and the kernel show.
//!
//! Each test reads effects where a user would see them: the child's /proc, its exit status,
//! how long a wait took, the errno of the error. Breaks on: a fallback missing (every spawn
//! fails with ENOSYS/EPERM/EINVAL under a profile), the probe choosing the wrong mode (the mode
//! assertions), fds leaking where close_range is missing, a wait_timeout that cannot wake
//! without a pidfd, a probe that runs again per spawn.

mod support;
use forkexec::{kernel, Command, Stdio};
use forkexec_emulate::Profile;
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::time::{Duration, Instant};

fn profile() -> Option<Profile> {
    Profile::from_env()
}

/// The modes the probe must choose under each profile.
#[test]
fn the_probe_chooses_the_fallbacks_the_kernel_needs() {
    let s = kernel::spawn_support().expect("probe");
    println!("{:?}: {s}", profile());
    let Some(p) = profile() else {
        // The real kernel: whatever it is, the answer must be self-consistent.
        assert!(s.vfork_class, "{s}");
        return;
    };
    let lacks = p.lacks();
    assert_eq!(
        s.clone, "clone",
        "{p}: clone3 is refused, clone(2) must be used"
    );
    assert!(s.vfork_class, "{p}: still vfork-class");
    let errno = match lacks.clone3 {
        Some(libc::ENOSYS) => "ENOSYS",
        Some(libc::EINVAL) => "EINVAL",
        Some(libc::EPERM) => "EPERM: a seccomp filter?",
        other => panic!("{p}: clone3 answer {other:?}"),
    };
    assert!(s.clone3_answer.contains(errno), "{p}: {}", s.clone3_answer);
    let pidfd = match (lacks.clone_pidfd, lacks.pidfd_open) {
        (false, _) => "CLONE_PIDFD",
        (true, false) => "pidfd_open",
        (true, true) => "none",
    };
    assert_eq!(s.pidfd, pidfd, "{p}");
    let close = if lacks.close_range {
        "/proc/self/fd"
    } else {
        "close_range"
    };
    assert_eq!(s.close_on_exec, close, "{p}");
    let wait = if lacks.waitid_pidfd {
        "waitid(P_PID)"
    } else {
        "waitid(P_PIDFD)"
    };
    assert_eq!(s.wait, wait, "{p}");
}

#[test]
fn a_plain_spawn_reports_status_and_output() {
    let out = Command::new("sh")
        .args(["-c", "echo out; echo err >&2; exit 3"])
        .output()
        .expect("spawn");
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(
        (&out.stdout[..], &out.stderr[..]),
        (&b"out\n"[..], &b"err\n"[..])
    );
    let err = Command::new("/nonexistent/forkexec-compat")
        .spawn()
        .unwrap_err();
    assert_eq!(
        (err.step_name(), err.raw_os_error()),
        ("exec", Some(libc::ENOENT))
    );
}

#[test]
fn the_pidfd_is_there_or_its_absence_is_explained() {
    let mut child = Command::new("sleep").arg("10").spawn().unwrap();
    let lacks = profile().map(|p| p.lacks());
    match child.pidfd() {
        Ok(fd) => {
            assert!(lacks.is_none_or(|l| !l.clone_pidfd || !l.pidfd_open));
            // It is this child's: its fdinfo names the pid.
            let info =
                std::fs::read_to_string(format!("/proc/self/fdinfo/{}", fd.as_raw_fd())).unwrap();
            assert!(info.contains(&format!("Pid:\t{}", child.id())), "{info}");
        }
        Err(e) => {
            assert!(lacks.is_some_and(|l| l.clone_pidfd && l.pidfd_open), "{e}");
            assert_eq!(e.kind(), std::io::ErrorKind::Unsupported);
            let msg = e.to_string();
            assert!(msg.contains("CLONE_PIDFD (Linux 5.2)"), "{msg}");
            assert!(msg.contains("pidfd_open (Linux 5.3)"), "{msg}");
            println!("no pidfd, as expected: {msg}");
        }
    }
    // Signals reach it either way (pidfd_send_signal or kill on the unreaped pid).
    child.send_signal(libc::SIGTERM).unwrap();
    assert_eq!(child.wait().unwrap().signal(), Some(libc::SIGTERM));
}

/// wait_timeout must time out, then wake promptly when the child exits (a pidfd poll, or the
/// exit-watch thread where the kernel has no pollable pidfd): never sleep to the deadline.
#[test]
fn wait_timeout_times_out_then_wakes_at_the_exit() {
    let mut child = Command::new("sh")
        .args(["-c", "read x; exit 7"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    assert!(child
        .wait_timeout(Duration::from_millis(100))
        .unwrap()
        .is_none());
    let stdin = child.stdin.take().unwrap();
    let closer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        drop(stdin);
    });
    let start = Instant::now();
    let st = child.wait_timeout(Duration::from_secs(30)).unwrap();
    let took = start.elapsed();
    closer.join().unwrap();
    assert_eq!(st.and_then(|s| s.code()), Some(7));
    assert!(
        took < Duration::from_secs(5),
        "woke {took:?} after the exit was due: no waker without a pidfd?"
    );
}

/// With an inheritable fd (no O_CLOEXEC) in the parent, the child sees only 0-2 and the mapped
/// fd: close_range where it exists, the child's /proc/self/fd list elsewhere.
#[test]
fn the_child_sees_only_stdio_and_mapped_fds() {
    // SAFETY: a fresh fd without O_CLOEXEC, owned right below.
    let raw = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY) };
    assert!(raw >= 0);
    // SAFETY: the fd was just opened and nothing else owns it.
    let inheritable = unsafe { OwnedFd::from_raw_fd(raw) };
    let mapped = std::fs::File::open("/dev/zero").unwrap();
    let mut child = Command::new("sh")
        .args(["-c", "ls /proc/$$/fd"])
        .fd(7, mapped)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut listing = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut listing)
        .unwrap();
    assert!(child.wait().unwrap().success());
    let fds: Vec<&str> = listing.lines().collect();
    assert_eq!(
        fds,
        ["0", "1", "2", "7"],
        "our inheritable fd {} leaked, or the mapped fd is missing",
        inheritable.as_raw_fd()
    );
    // keep_fds(true) passes it on: the listing above could have seen it.
    let out = Command::new("sh")
        .args(["-c", "ls /proc/$$/fd"])
        .keep_fds(true)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.lines()
            .any(|l| l == inheritable.as_raw_fd().to_string()),
        "{text}"
    );
}

/// The probe runs once per process, at the first spawn, never again per spawn.
#[test]
fn the_probe_runs_once_per_process() {
    for _ in 0..20 {
        Command::new("true").status().unwrap();
    }
    assert_eq!(kernel::probe_runs(), 1);
}
