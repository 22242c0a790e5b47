//! The exec loop: try each prepared candidate with raw execve, following the search rules.
//! Runs in children after clone; it allocates nothing and reads only prepared data.

use super::cptr::CPtr;
use super::raw;
use crate::exec::prepared::{
    Envp, ExecTarget, PreparedExec, PreparedExecAt, ShellFallback, BIN_SH,
};
use std::os::raw::c_char;

extern "C" {
    static environ: *const *const c_char;
}

/// The envp pointer for a prepared exec.
pub(crate) fn envp_ptr(envp: &Envp) -> *const *const c_char {
    match envp {
        // SAFETY: reading the C `environ` pointer; it is the process's current environment.
        Envp::Inherit => unsafe { environ },
        Envp::Explicit(a) => a.as_ptr(),
    }
}

/// Runs the candidates of `p` in order; returns the errno the search ends on.
pub(crate) fn run(p: &PreparedExec) -> i32 {
    run_with(&p.target, p.argv.as_ptr(), envp_ptr(&p.envp))
}

/// Runs the execveat of `p` relative to `dirfd`; returns the errno.
pub(crate) fn run_at(p: &PreparedExecAt, dirfd: i32) -> i32 {
    let envp = envp_ptr(&p.envp);
    // SAFETY: the path, argv and envp are owned by `p`, NUL-terminated and NULL-terminated.
    let err = unsafe {
        raw::execveat(
            dirfd,
            p.path.as_ptr(),
            p.argv.as_ptr(),
            envp,
            p.flags.bits() as i32,
        )
    };
    let is_fexecve = p.path.is_empty() && p.flags == rustix::fs::AtFlags::EMPTY_PATH;
    if err != libc::ENOSYS || !is_fexecve {
        return err;
    }
    // Before Linux 3.19 there is no execveat: glibc's fexecve then execs /proc/self/fd/N.
    let mut buf = [0u8; 32];
    let path = proc_fd_path(dirfd, &mut buf);
    // SAFETY: `path` is NUL-terminated in `buf`, which lives until the call returns.
    unsafe { raw::execve(path, p.argv.as_ptr(), envp) }
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
pub(crate) fn run_with(
    t: &ExecTarget,
    argv: *const *const c_char,
    envp: *const *const c_char,
) -> i32 {
    let mut saw_eacces = false;
    let mut last = libc::ENOENT;
    for &CPtr(path) in t.candidates.raw() {
        // SAFETY: path, argv and envp are NUL-terminated strings / NULL-terminated arrays
        // prepared by the caller and alive for this call.
        let mut err = unsafe { raw::execve(path, argv, envp) };
        if err == libc::ENOEXEC && t.shell == ShellFallback::Sh {
            err = exec_under_sh(t, path, argv, envp);
        }
        last = err;
        if t.candidates.direct {
            return err;
        }
        if err == libc::EACCES {
            saw_eacces = true;
        }
        if !t.rules.continues_after(err) {
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
    t: &ExecTarget,
    path: *const c_char,
    argv: *const *const c_char,
    envp: *const *const c_char,
) -> i32 {
    let slots = &t.sh_argv;
    let mut argc = 0usize;
    // SAFETY: argv is NULL-terminated.
    while unsafe { !(*argv.add(argc)).is_null() } {
        argc += 1;
    }
    if argc.max(1) + 2 > slots.len() {
        // The scratch was sized for another argv: no room without allocating.
        return libc::E2BIG;
    }
    slots[0].set(CPtr(BIN_SH.as_ptr()));
    slots[1].set(CPtr(path));
    let mut i = 1;
    while i < argc {
        // SAFETY: i < argc, within argv.
        slots[i + 1].set(CPtr(unsafe { *argv.add(i) }));
        i += 1;
    }
    slots[argc.max(1) + 1].set(CPtr::NULL);
    // SAFETY: slots form a NULL-terminated array of valid strings; Cell<CPtr> has the same
    // layout as *const c_char (both transparent).
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
