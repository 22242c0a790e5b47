//! Each profile answers the way its table says: this test re-runs itself under the launcher
//! (`forkexec-emulate PROFILE -- this-test`) and asks the kernel directly, with calls built so
//! that the real kernel gives a different errno (EFAULT, EBADF) than the profile's
//! (ENOSYS, EINVAL, EPERM): a profile that filters nothing, or the wrong thing, fails here.

use forkexec_emulate::{Profile, ENV};
use std::process::Command;

const HELPER: &str = "answers_under_the_current_profile";

fn errno_of(r: libc::c_long) -> i32 {
    if r < 0 {
        std::io::Error::last_os_error().raw_os_error().unwrap()
    } else {
        0
    }
}

/// clone3(NULL, size): EFAULT from a kernel that reads the (null) struct.
fn clone3_null(size: usize) -> i32 {
    // SAFETY: a null struct pointer: the kernel fails to copy it (EFAULT) before creating
    // anything, or a filter answers first.
    errno_of(unsafe { libc::syscall(libc::SYS_clone3, 0usize, size) })
}

/// clone(CLONE_PIDFD|SIGCHLD) with a null pidfd slot: the kernel fails to store the pidfd
/// (EFAULT) and creates nothing.
fn clone_pidfd_null() -> i32 {
    let flags = (libc::CLONE_PIDFD | libc::SIGCHLD) as libc::c_ulong;
    // SAFETY: fork semantics (no CLONE_VM); if a child were ever made it exits at once.
    let r = unsafe { libc::syscall(libc::SYS_clone, flags, 0usize, 0usize, 0usize, 0usize) };
    if r == 0 {
        // SAFETY: the (unexpected) child leaves without running anything of the test.
        unsafe { libc::_exit(0) }
    }
    if r > 0 {
        // SAFETY: reap that unexpected child.
        unsafe { libc::waitpid(r as i32, std::ptr::null_mut(), 0) };
    }
    errno_of(r)
}

#[test]
fn answers_under_the_current_profile() {
    let Some(profile) = Profile::from_env() else {
        return; // run by `every_profile_answers_as_documented` under the launcher
    };
    let lacks = profile.lacks();
    let (enosys, einval) = (libc::ENOSYS, libc::EINVAL);
    // clone3 from forkexec (64 bytes) and from glibc (88 bytes).
    assert_eq!(
        clone3_null(64),
        lacks.clone3.unwrap(),
        "{profile}: clone3/64"
    );
    let glibc = match profile {
        Profile::Linux3_10 | Profile::Linux4_18 => enosys,
        _ => libc::EFAULT,
    };
    assert_eq!(clone3_null(88), glibc, "{profile}: clone3/88");
    // CLONE_PIDFD on clone(2).
    let want = if lacks.clone_pidfd {
        einval
    } else {
        libc::EFAULT
    };
    assert_eq!(clone_pidfd_null(), want, "{profile}: clone(CLONE_PIDFD)");
    // pidfd_open of ourselves.
    // SAFETY: no pointers.
    let r = unsafe { libc::syscall(libc::SYS_pidfd_open, libc::getpid(), 0) };
    if r >= 0 {
        // SAFETY: closing the fd just made.
        unsafe { libc::close(r as i32) };
    }
    let want = if lacks.pidfd_open { enosys } else { 0 };
    assert_eq!(errno_of(r), want, "{profile}: pidfd_open");
    // waitid(P_PIDFD) on fd 0, which is no pidfd: EBADF from a kernel that knows P_PIDFD.
    // SAFETY: a zeroed siginfo to write into.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointers; WNOHANG.
    let r = unsafe {
        libc::syscall(
            libc::SYS_waitid,
            3, // P_PIDFD
            0,
            &mut info as *mut libc::siginfo_t,
            libc::WEXITED | libc::WNOHANG,
            0usize,
        )
    };
    let want = if lacks.waitid_pidfd {
        einval
    } else {
        libc::EBADF
    };
    assert_eq!(errno_of(r), want, "{profile}: waitid(P_PIDFD)");
    // close_range on an fd no table reaches.
    // SAFETY: no pointers; nothing is open at u32::MAX.
    let r = unsafe { libc::syscall(libc::SYS_close_range, u32::MAX, u32::MAX, 4u32) };
    let want = if lacks.close_range { enosys } else { 0 };
    assert_eq!(errno_of(r), want, "{profile}: close_range");
    // prctl(PR_CAP_AMBIENT, IS_SET, CAP_CHOWN).
    // SAFETY: integer arguments.
    let r = unsafe { libc::prctl(libc::PR_CAP_AMBIENT, libc::PR_CAP_AMBIENT_IS_SET, 0, 0, 0) };
    let want = if lacks.ambient_caps { einval } else { 0 };
    assert_eq!(
        errno_of(r as libc::c_long),
        want,
        "{profile}: PR_CAP_AMBIENT"
    );
    // getrandom (3.17): only 3.10 lacks it.
    let mut b = [0u8; 4];
    // SAFETY: a live buffer.
    let r = unsafe { libc::syscall(libc::SYS_getrandom, b.as_mut_ptr(), 4usize, 0u32) };
    let want = if profile == Profile::Linux3_10 {
        enosys
    } else {
        0
    };
    assert_eq!(errno_of(r), want, "{profile}: getrandom");
    println!("{profile}: every answer as documented");
}

#[test]
fn every_profile_answers_as_documented() {
    if Profile::from_env().is_some() || !cfg!(target_arch = "x86_64") {
        return;
    }
    let me = std::env::current_exe().unwrap();
    for profile in Profile::ALL {
        let out = Command::new(env!("CARGO_BIN_EXE_forkexec-emulate"))
            .args([profile.name(), "--"])
            .arg(&me)
            .args(["--exact", HELPER, "--nocapture", "--test-threads=1"])
            .env_remove(ENV)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("every answer as documented"),
            "{profile}:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
