//! The exec loop: try each prepared candidate with raw execve, following the search rules.
//! Runs in children after clone; it allocates nothing and reads only prepared data.

use super::cptr::CPtr;
use super::raw;
use crate::exec::prepared::{Envp, ExecTarget, PreparedExec, ShellFallback, BIN_SH};
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
