//! The tracer's side of `ptrace(true)`: letting the traced child go.

/// `ptrace(PTRACE_DETACH, pid, 0, sig)`: stop tracing `pid`, which must be in a ptrace-stop
/// and traced by the calling thread, and resume it with `sig` (0 for none; SIGSTOP leaves it
/// stopped, free for a debugger to attach).
pub fn detach(pid: i32, sig: i32) -> std::io::Result<()> {
    // SAFETY: PTRACE_DETACH reads no memory through its address argument (null); `data` is a
    // signal number passed by value.
    let r = unsafe {
        libc::ptrace(
            libc::PTRACE_DETACH,
            pid,
            core::ptr::null_mut::<libc::c_void>(),
            sig as usize as *mut libc::c_void,
        )
    };
    if r < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(())
    }
}
