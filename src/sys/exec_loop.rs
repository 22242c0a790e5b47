//! The exec loop: try each prepared candidate with raw execve, following the search rules.
//! Runs in children after clone (and after a user's fork); it allocates nothing and reads
//! only the raw view the exec layer prepared ([`ExecCandidates`]).

use super::cptr::CPtr;
use super::raw;
use core::sync::atomic::{AtomicPtr, Ordering};
use std::os::raw::c_char;

extern "C" {
    static environ: *const *const c_char;
}

/// The live `environ` of this process, as execv passes it.
pub fn live_environ() -> *const *const c_char {
    // SAFETY: reading the C `environ` pointer; it is the process's current environment.
    unsafe { environ }
}

/// `/bin/sh`, the interpreter of the ENOEXEC fallback.
pub const BIN_SH: &std::ffi::CStr = c"/bin/sh";

/// Where and how to exec, as raw data: what the exec layer's `ExecTarget` lends the loop.
pub struct ExecCandidates<'a> {
    /// NUL-terminated paths to try, in order.
    pub paths: &'a [CPtr],
    /// The name had a '/': one path, used as is; its errno is final.
    pub direct: bool,
    /// The errnos after which the search goes on to the next candidate (EACCES among them is
    /// remembered and wins at the end).
    pub continue_after: &'static [i32],
    /// On ENOEXEC, run `/bin/sh path argv[1..]` (glibc's execvp).
    pub shell_fallback: bool,
    /// Scratch for the `/bin/sh path args...` vector: room for `max(argc, 1) + 2` pointers.
    pub sh_argv: &'a [AtomicPtr<c_char>],
    /// An open file to exec instead of the paths (`fexecve`), or -1.
    pub fd: i32,
}

impl ExecCandidates<'static> {
    /// `fexecve(fd)`: exec the open file `fd` (`execveat(fd, "", AT_EMPTY_PATH)`).
    pub fn fexecve(fd: i32) -> Self {
        ExecCandidates {
            paths: &[],
            direct: true,
            continue_after: &[],
            shell_fallback: false,
            sh_argv: &[],
            fd,
        }
    }
}

/// `execveat(dirfd, path, argv, envp, flags)`; for an fexecve (`path` empty, `flags` exactly
/// AT_EMPTY_PATH) on a kernel without execveat (ENOSYS, before Linux 3.19) it execs
/// `/proc/self/fd/N` as glibc does. Returns the errno.
pub fn run_at(
    dirfd: i32,
    path: &std::ffi::CStr,
    argv: *const *const c_char,
    envp: *const *const c_char,
    flags: i32,
) -> i32 {
    // SAFETY: the path, argv and envp are NUL-terminated and NULL-terminated, owned by the
    // caller for the duration of the call.
    let err = unsafe { raw::execveat(dirfd, path.as_ptr(), argv, envp, flags) };
    let is_fexecve = path.is_empty() && flags == libc::AT_EMPTY_PATH;
    if err != libc::ENOSYS || !is_fexecve {
        return err;
    }
    let mut buf = [0u8; 32];
    let path = proc_fd_path(dirfd, &mut buf);
    // SAFETY: `path` is NUL-terminated in `buf`, which lives until the call returns.
    unsafe { raw::execve(path, argv, envp) }
}

/// Writes "/proc/self/fd/N\0" into `buf` without allocating; returns its start.
fn proc_fd_path(fd: i32, buf: &mut [u8; 32]) -> *const c_char {
    const PREFIX: &[u8] = b"/proc/self/fd/";
    buf[..PREFIX.len()].copy_from_slice(PREFIX);
    // Decimal digits, most significant first: at most 10 for a non-negative i32.
    let mut digits = [0u8; 10];
    let mut n = fd.max(0) as u32;
    let mut len = 0;
    loop {
        digits[len] = b'0' + (n % 10) as u8;
        len += 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for i in 0..len {
        buf[PREFIX.len() + i] = digits[len - 1 - i];
    }
    buf[PREFIX.len() + len] = 0;
    buf.as_ptr().cast()
}

/// Tries each candidate of `t` with `argv` and `envp`; returns the errno the search ends on.
pub fn run(t: &ExecCandidates, argv: *const *const c_char, envp: *const *const c_char) -> i32 {
    if t.fd >= 0 {
        return run_at(t.fd, c"", argv, envp, libc::AT_EMPTY_PATH);
    }
    let mut saw_eacces = false;
    let mut last = libc::ENOENT;
    for &CPtr(path) in t.paths {
        // SAFETY: path, argv and envp are NUL-terminated strings / NULL-terminated arrays
        // prepared by the caller and alive for this call.
        let mut err = unsafe { raw::execve(path, argv, envp) };
        if err == libc::ENOEXEC && t.shell_fallback {
            err = exec_under_sh(t, path, argv, envp);
        }
        last = err;
        if t.direct {
            return err;
        }
        if err == libc::EACCES {
            saw_eacces = true;
        }
        if !t.continue_after.contains(&err) {
            return err;
        }
    }
    if saw_eacces {
        libc::EACCES
    } else {
        last
    }
}

/// Runs `/bin/sh path argv[1..]`, glibc's answer to ENOEXEC in execvp.
fn exec_under_sh(
    t: &ExecCandidates,
    path: *const c_char,
    argv: *const *const c_char,
    envp: *const *const c_char,
) -> i32 {
    let slots = t.sh_argv;
    let mut argc = 0usize;
    // SAFETY: argv is NULL-terminated.
    while unsafe { !(*argv.add(argc)).is_null() } {
        argc += 1;
    }
    if argc.max(1) + 2 > slots.len() {
        // The scratch was sized for another argv: no room without allocating.
        return libc::E2BIG;
    }
    let set = |i: usize, p: *const c_char| slots[i].store(p.cast_mut(), Ordering::Relaxed);
    set(0, BIN_SH.as_ptr());
    set(1, path);
    for i in 1..argc {
        // SAFETY: i < argc, within argv.
        set(i + 1, unsafe { *argv.add(i) });
    }
    set(argc.max(1) + 1, core::ptr::null());
    // SAFETY: slots form a NULL-terminated array of valid strings; AtomicPtr<c_char> has the
    // same in-memory representation as *mut c_char.
    unsafe { raw::execve(BIN_SH.as_ptr(), slots.as_ptr().cast(), envp) }
}

#[cfg(test)]
mod tests {
    use super::proc_fd_path;
    use std::ffi::CStr;

    #[test]
    fn proc_fd_path_formats_decimal() {
        for (fd, want) in [
            (0, "/proc/self/fd/0"),
            (7, "/proc/self/fd/7"),
            (10, "/proc/self/fd/10"),
            (i32::MAX, "/proc/self/fd/2147483647"),
        ] {
            let mut buf = [0u8; 32];
            let p = proc_fd_path(fd, &mut buf);
            // SAFETY: proc_fd_path NUL-terminates within buf.
            let got = unsafe { CStr::from_ptr(p) };
            assert_eq!(got.to_str().unwrap(), want);
        }
    }
}
