//! The sandbox scenario on std's fork path: what a std user would write in `pre_exec` to get
//! forkexec's sandbox, with raw libc calls on data prepared before the fork.
//!
//! A pid namespace made by unshare(2) takes only the caller's later children, and a /proc for
//! it can only be mounted from inside it, so the closure forks once more (as `unshare --fork`
//! does): the new process is pid 1 of the namespace and goes on to std's exec, while the first
//! child waits for it and exits with its status without returning to std. std's parent sees
//! that status, and its exec-error pipe still works: the program's exec closes the write end,
//! the first child's copy goes when it exits. The second fork copies the parent's page tables
//! again: at 8 GiB this path pays the copy twice.

use super::scenarios::SandboxSteps;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::sync::Arc;

/// Gives `cmd` a pre_exec closure making the sandbox of `steps`.
pub fn add(cmd: &mut std::process::Command, steps: &Arc<SandboxSteps>) {
    fn check(rc: libc::c_long) -> io::Result<libc::c_long> {
        if rc < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(rc)
        }
    }
    let steps = Arc::clone(steps);
    let uid_map = SandboxSteps::map_line(steps.uid);
    let gid_map = SandboxSteps::map_line(steps.gid);
    // SAFETY: between fork and exec the closure calls only async-signal-safe functions
    // (unshare, open, write, close, fork, waitpid, _exit, mount, prctl, syscall) on data
    // prepared before the fork, and allocates nothing (io::Error::last_os_error does not
    // allocate). The first child never returns: it leaves by _exit.
    unsafe {
        cmd.pre_exec(move || {
            check(
                libc::unshare(
                    libc::CLONE_NEWUSER
                        | libc::CLONE_NEWNS
                        | libc::CLONE_NEWPID
                        | libc::CLONE_NEWIPC
                        | libc::CLONE_NEWUTS,
                )
                .into(),
            )?;
            for (file, text) in [
                (c"/proc/self/uid_map", uid_map.as_c_str()),
                (c"/proc/self/setgroups", c"deny"),
                (c"/proc/self/gid_map", gid_map.as_c_str()),
            ] {
                let fd = check(libc::open(file.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC).into())?;
                let n = text.to_bytes().len();
                let written = libc::write(fd as libc::c_int, text.as_ptr().cast(), n);
                libc::close(fd as libc::c_int);
                if written != n as isize {
                    return Err(io::Error::last_os_error());
                }
            }
            let pid = check(libc::fork().into())? as libc::pid_t;
            if pid > 0 {
                libc::_exit(wait_for_status(pid));
            }
            // pid 1 of the new namespace: / private (nothing mounted here shows outside), then
            // its own /proc over the old one.
            check(
                libc::mount(
                    std::ptr::null(),
                    c"/".as_ptr(),
                    std::ptr::null(),
                    libc::MS_REC | libc::MS_PRIVATE,
                    std::ptr::null(),
                )
                .into(),
            )?;
            check(
                libc::mount(
                    c"proc".as_ptr(),
                    c"/proc".as_ptr(),
                    c"proc".as_ptr(),
                    libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
                    std::ptr::null(),
                )
                .into(),
            )?;
            check(libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0).into())?;
            check(libc::syscall(
                libc::SYS_landlock_restrict_self,
                steps.landlock.as_raw_fd(),
                0,
            ))?;
            // The filter last: std's exec follows, with nothing the filter denies.
            let program = libc::sock_fprog {
                len: steps.filter.len() as u16,
                filter: steps.filter.as_ptr().cast_mut(),
            };
            check(libc::syscall(
                libc::SYS_seccomp,
                libc::SECCOMP_SET_MODE_FILTER,
                0,
                &program as *const libc::sock_fprog,
            ))?;
            Ok(())
        });
    }
}

/// Waits for `pid` (the first child's only child) and turns its end into an exit code, as a
/// shell does: the code, or 128 + the signal.
fn wait_for_status(pid: libc::pid_t) -> libc::c_int {
    let mut status = 0;
    loop {
        // SAFETY: waiting for our own child; status is a valid out pointer.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r == pid {
            break;
        }
        if io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            return 127;
        }
    }
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    }
}
