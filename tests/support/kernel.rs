//! What works on every kernel the suites run on: the compat runs (scripts/test.sh) put them
//! under `forkexec-emulate 3.10|4.18|5.4|docker`, kernels without pidfds, clone3 or
//! close_range. Waiting and signalling by pid, race-free on a child that is ours and unreaped,
//! and what the current profile takes away.

use forkexec::Command;
use std::time::{Duration, Instant};

/// Waits (bounded) until our child `pid` is in the state `which` (EXITED or STOPPED), without
/// reaping it. False if the bound passed.
pub fn wait_unreaped(pid: u32, which: rustix::process::WaitIdOptions, bound: Duration) -> bool {
    use rustix::process::{waitid, Pid, WaitId, WaitIdOptions};
    let pid = Pid::from_raw(pid as i32).expect("a positive pid");
    let deadline = Instant::now() + bound;
    loop {
        match waitid(
            WaitId::Pid(pid),
            which | WaitIdOptions::NOHANG | WaitIdOptions::NOWAIT,
        ) {
            Ok(Some(_)) => return true,
            Ok(None) | Err(rustix::io::Errno::INTR) => {}
            Err(e) => panic!("waitid({pid:?}): {e}"),
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
}

/// Sends `sig` to `pid` if `still_ours()` holds once the pid is pinned: through a pidfd where
/// pidfd_open works, else by number right after the check (old kernels: a test's own children,
/// not reaped meanwhile by the thread that spawned them, cannot be recycled in between).
pub fn signal_if(pid: u32, sig: rustix::process::Signal, still_ours: impl Fn() -> bool) -> bool {
    use rustix::process::{pidfd_open, pidfd_send_signal, Pid, PidfdFlags};
    let Some(p) = Pid::from_raw(pid as i32) else {
        return false;
    };
    match pidfd_open(p, PidfdFlags::empty()) {
        Ok(pidfd) => still_ours() && pidfd_send_signal(&pidfd, sig).is_ok(),
        Err(rustix::io::Errno::NOSYS) | Err(rustix::io::Errno::PERM) => {
            still_ours() && rustix::process::kill_process(p, sig).is_ok()
        }
        Err(_) => false,
    }
}

/// What the kernel profile this run is under takes away (scripts/test.sh runs the suites under
/// `forkexec-emulate 3.10|4.18|5.4|docker`), or None on the real kernel.
pub fn emulated_lacks() -> Option<forkexec_emulate::Lacks> {
    forkexec_emulate::Profile::from_env().map(|p| p.lacks())
}

/// Asserts that spawning `cmd` fails with EINVAL and a message naming the feature and the
/// kernel that added it (`needs`, e.g. "time namespaces need Linux 5.6").
pub fn assert_refused_as_too_old(cmd: &mut Command, needs: &str) {
    let err = cmd
        .spawn()
        .expect_err("a feature this kernel lacks must be refused");
    assert_eq!(err.raw_os_error(), Some(libc::EINVAL), "{err}");
    assert!(err.to_string().contains(needs), "{err}");
    println!("refused as expected: {err}");
}

/// Waits until nothing holds `path` open for writing, so that exec'ing it (or mapping it as
/// the program's interpreter) cannot fail with ETXTBSY: a child another test thread spawns
/// (or forks) while we copy the file inherits our writable fd (close-on-exec) until its own
/// exec, a few microseconds later. A read lease is granted only
/// when the file has no writer.
pub fn wait_until_no_writer(path: &std::path::Path) {
    use std::os::fd::AsRawFd;
    let f = std::fs::File::open(path).unwrap();
    for _ in 0..5000 {
        // SAFETY: fcntl lease operations on an fd we own.
        if unsafe { libc::fcntl(f.as_raw_fd(), libc::F_SETLEASE, libc::F_RDLCK) } == 0 {
            // SAFETY: as above: give the lease back.
            unsafe { libc::fcntl(f.as_raw_fd(), libc::F_SETLEASE, libc::F_UNLCK) };
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    panic!("{} stayed open for writing", path.display());
}
