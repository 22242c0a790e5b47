//! Raw system calls for the child side.
//!
//! Between clone and exec the child shares the parent's memory (CLONE_VM), including the
//! parent thread's TLS. Going through libc there is unsafe in subtle ways: libc writes `errno`
//! (the *parent thread's* errno), and some wrappers (setuid, setgid, setgroups) broadcast to
//! every thread of the process with signals. These functions issue the `syscall` instruction
//! directly and return `Err(errno)` instead, touching nothing but registers.
//!
//! Each function is a thin, documented wrapper; the `unsafe` lives here and in the callers'
//! obligations (valid pointers), nowhere else.

use core::arch::asm;

/// A raw syscall return value: `Ok(value)` or `Err(errno)`.
pub type SysResult = Result<usize, i32>;

#[inline(always)]
fn check(ret: isize) -> SysResult {
    // The kernel returns -4095..-1 for errors, everything else is a value.
    if (-4095..0).contains(&ret) {
        Err((-ret) as i32)
    } else {
        Ok(ret as usize)
    }
}

#[cfg(target_arch = "x86_64")]
mod arch {
    use super::asm;

    /// Six-argument syscall. Unused arguments are passed as 0, which every Linux syscall ignores.
    ///
    /// # Safety
    /// The caller upholds the syscall's own contract (valid pointers, sizes).
    #[inline(always)]
    pub unsafe fn syscall6(
        n: usize,
        a1: usize,
        a2: usize,
        a3: usize,
        a4: usize,
        a5: usize,
        a6: usize,
    ) -> isize {
        let ret: isize;
        // SAFETY: the `syscall` instruction clobbers rcx and r11 and returns in rax; every other
        // register is preserved by the kernel. Memory effects are the caller's contract.
        unsafe {
            asm!(
                "syscall",
                inlateout("rax") n as isize => ret,
                in("rdi") a1, in("rsi") a2, in("rdx") a3,
                in("r10") a4, in("r8") a5, in("r9") a6,
                lateout("rcx") _, lateout("r11") _,
                options(nostack)
            );
        }
        ret
    }
}

#[cfg(target_arch = "aarch64")]
mod arch {
    use super::asm;

    /// Six-argument syscall (see the x86_64 version).
    ///
    /// # Safety
    /// The caller upholds the syscall's own contract (valid pointers, sizes).
    #[inline(always)]
    pub unsafe fn syscall6(
        n: usize,
        a1: usize,
        a2: usize,
        a3: usize,
        a4: usize,
        a5: usize,
        a6: usize,
    ) -> isize {
        let ret: isize;
        // SAFETY: `svc 0` takes the number in x8, arguments in x0-x5, returns in x0 and
        // preserves all other registers.
        unsafe {
            asm!(
                "svc 0",
                in("x8") n,
                inlateout("x0") a1 as isize => ret,
                in("x1") a2, in("x2") a3, in("x3") a4, in("x4") a5, in("x5") a6,
                options(nostack)
            );
        }
        ret
    }
}

pub use arch::syscall6;

/// Issues syscall `n` with up to six arguments and decodes the result.
///
/// # Safety
/// The caller upholds the syscall's contract: pointers valid for the access the kernel makes.
#[inline(always)]
pub unsafe fn syscall(n: libc::c_long, args: [usize; 6]) -> SysResult {
    // SAFETY: forwarded contract.
    check(unsafe {
        syscall6(
            n as usize, args[0], args[1], args[2], args[3], args[4], args[5],
        )
    })
}

macro_rules! sys {
    ($n:expr) => { syscall($n, [0, 0, 0, 0, 0, 0]) };
    ($n:expr, $a:expr) => { syscall($n, [$a as usize, 0, 0, 0, 0, 0]) };
    ($n:expr, $a:expr, $b:expr) => { syscall($n, [$a as usize, $b as usize, 0, 0, 0, 0]) };
    ($n:expr, $a:expr, $b:expr, $c:expr) => { syscall($n, [$a as usize, $b as usize, $c as usize, 0, 0, 0]) };
    ($n:expr, $a:expr, $b:expr, $c:expr, $d:expr) => {
        syscall($n, [$a as usize, $b as usize, $c as usize, $d as usize, 0, 0])
    };
    ($n:expr, $a:expr, $b:expr, $c:expr, $d:expr, $e:expr) => {
        syscall($n, [$a as usize, $b as usize, $c as usize, $d as usize, $e as usize, 0])
    };
}

use libc::{c_char, c_int, c_uint};

/// `execve(path, argv, envp)`: returns only on failure, with the errno.
///
/// # Safety
/// `path` is a NUL-terminated string; `argv` and `envp` are NULL-terminated arrays of them.
#[inline]
pub unsafe fn execve(
    path: *const c_char,
    argv: *const *const c_char,
    envp: *const *const c_char,
) -> i32 {
    // SAFETY: forwarded contract.
    match unsafe { sys!(libc::SYS_execve, path, argv, envp) } {
        Ok(_) => 0,
        Err(e) => e,
    }
}

/// `execveat(dirfd, path, argv, envp, flags)`: returns only on failure, with the errno.
///
/// # Safety
/// As for [`execve`].
#[inline]
pub unsafe fn execveat(
    dirfd: c_int,
    path: *const c_char,
    argv: *const *const c_char,
    envp: *const *const c_char,
    flags: c_int,
) -> i32 {
    // SAFETY: forwarded contract.
    match unsafe { sys!(libc::SYS_execveat, dirfd as isize, path, argv, envp, flags) } {
        Ok(_) => 0,
        Err(e) => e,
    }
}

/// `exit_group(code)`: ends the process (in a CLONE_VM child: only the child's thread group).
#[inline]
pub fn exit_group(code: c_int) -> ! {
    // SAFETY: exit_group takes no pointers and does not return.
    unsafe {
        let _ = sys!(libc::SYS_exit_group, code);
    }
    // exit_group returns only when a seccomp filter the child installed answers it with an
    // errno (a deny-all filter, a filter without exit_group). No syscall can be trusted then:
    // end the process with a fault, which no filter and no disposition can stop (the kernel
    // forces SIGILL/SIGTRAP at its default action).
    trap()
}

/// An illegal instruction: the process is killed by the kernel (SIGILL on x86_64, SIGILL or
/// SIGTRAP on aarch64), without a syscall.
#[inline(always)]
fn trap() -> ! {
    loop {
        // SAFETY: executing an undefined instruction only raises the fault; no memory is
        // touched. The loop is never re-entered (the fault is fatal), it only satisfies `!`.
        #[cfg(target_arch = "x86_64")]
        unsafe {
            asm!("ud2", options(nomem, nostack))
        };
        // SAFETY: as above.
        #[cfg(target_arch = "aarch64")]
        unsafe {
            asm!("udf #0", options(nomem, nostack))
        };
    }
}

/// `rt_sigprocmask(how, set, old, 8)`.
///
/// # Safety
/// `set` and `old` are null or point to a kernel sigset (8 bytes on Linux).
#[inline]
pub unsafe fn sigprocmask(how: c_int, set: *const u64, old: *mut u64) -> SysResult {
    // SAFETY: forwarded contract.
    unsafe { sys!(libc::SYS_rt_sigprocmask, how, set, old, 8) }
}

/// The kernel's `struct sigaction` layout for rt_sigaction on x86_64 and aarch64.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct KernelSigaction {
    pub handler: usize,
    pub flags: u64,
    pub restorer: usize,
    pub mask: u64,
}

/// `rt_sigaction(sig, act, old, 8)`.
///
/// # Safety
/// `act` and `old` are null or valid.
#[inline]
pub unsafe fn sigaction(
    sig: c_int,
    act: *const KernelSigaction,
    old: *mut KernelSigaction,
) -> SysResult {
    // SAFETY: forwarded contract.
    unsafe { sys!(libc::SYS_rt_sigaction, sig, act, old, 8) }
}

/// Sets `sig` to SIG_DFL (0) or SIG_IGN (1).
#[inline]
pub fn set_disposition(sig: c_int, handler: usize) -> SysResult {
    let act = KernelSigaction {
        handler,
        flags: 0,
        restorer: 0,
        mask: 0,
    };
    // SAFETY: `act` is a valid struct on our stack; no old action is requested.
    unsafe { sigaction(sig, &act, core::ptr::null_mut()) }
}

/// `close_range(first, last, flags)`.
#[inline]
pub fn close_range(first: c_uint, last: c_uint, flags: c_uint) -> SysResult {
    // SAFETY: no pointers.
    unsafe { sys!(libc::SYS_close_range, first, last, flags) }
}

/// `close(fd)`.
#[inline]
pub fn close(fd: c_int) -> SysResult {
    // SAFETY: no pointers; closing an fd the caller owns in this (child) fd table.
    unsafe { sys!(libc::SYS_close, fd) }
}

/// `dup3(old, new, flags)`.
#[inline]
pub fn dup3(old: c_int, new: c_int, flags: c_int) -> SysResult {
    // SAFETY: no pointers.
    unsafe { sys!(libc::SYS_dup3, old, new, flags) }
}

/// `fcntl(fd, cmd, arg)` with an integer argument.
#[inline]
pub fn fcntl(fd: c_int, cmd: c_int, arg: usize) -> SysResult {
    // SAFETY: only integer-argument commands are used through this wrapper.
    unsafe { sys!(libc::SYS_fcntl, fd, cmd, arg) }
}

/// `chdir(path)`.
///
/// # Safety
/// `path` is NUL-terminated.
#[inline]
pub unsafe fn chdir(path: *const c_char) -> SysResult {
    // SAFETY: forwarded contract.
    unsafe { sys!(libc::SYS_chdir, path) }
}

/// `chroot(path)`.
///
/// # Safety
/// `path` is NUL-terminated.
#[inline]
pub unsafe fn chroot(path: *const c_char) -> SysResult {
    // SAFETY: forwarded contract.
    unsafe { sys!(libc::SYS_chroot, path) }
}

/// `setsid()`.
#[inline]
pub fn setsid() -> SysResult {
    // SAFETY: no arguments.
    unsafe { sys!(libc::SYS_setsid) }
}

/// `setpgid(pid, pgid)`.
#[inline]
pub fn setpgid(pid: c_int, pgid: c_int) -> SysResult {
    // SAFETY: no pointers.
    unsafe { sys!(libc::SYS_setpgid, pid, pgid) }
}

/// `getpid()`.
#[inline]
pub fn getpid() -> c_int {
    // SAFETY: no arguments; cannot fail.
    unsafe { sys!(libc::SYS_getpid) }.unwrap_or(0) as c_int
}

/// `personality(0xffffffff)`: the calling process's personality, unchanged.
#[inline]
pub fn personality() -> u32 {
    // SAFETY: 0xffffffff only queries; no pointers.
    unsafe { sys!(libc::SYS_personality, 0xffff_ffffusize) }.unwrap_or(0) as u32
}

/// `getppid()`.
#[inline]
pub fn getppid() -> c_int {
    // SAFETY: no arguments; cannot fail.
    unsafe { sys!(libc::SYS_getppid) }.unwrap_or(0) as c_int
}

/// `setuid(uid)` for this thread group only: the raw syscall, not glibc's all-threads wrapper.
#[inline]
pub fn setuid(uid: libc::uid_t) -> SysResult {
    // SAFETY: no pointers.
    unsafe { sys!(libc::SYS_setuid, uid) }
}

/// `setgid(gid)`, raw (see [`setuid`]).
#[inline]
pub fn setgid(gid: libc::gid_t) -> SysResult {
    // SAFETY: no pointers.
    unsafe { sys!(libc::SYS_setgid, gid) }
}

/// `setgroups(n, list)`, raw (see [`setuid`]).
///
/// # Safety
/// `list` points to `n` gids (or is null with n == 0).
#[inline]
pub unsafe fn setgroups(n: usize, list: *const libc::gid_t) -> SysResult {
    // SAFETY: forwarded contract.
    unsafe { sys!(libc::SYS_setgroups, n, list) }
}

/// `ioctl(fd, req, arg)` with an integer or pointer argument.
///
/// # Safety
/// `arg` satisfies the request's contract.
#[inline]
pub unsafe fn ioctl(fd: c_int, req: libc::c_ulong, arg: usize) -> SysResult {
    // SAFETY: forwarded contract.
    unsafe { sys!(libc::SYS_ioctl, fd, req, arg) }
}

/// `prctl(option, a2, a3, a4, a5)` with integer arguments.
#[inline]
pub fn prctl(option: c_int, a2: usize, a3: usize, a4: usize, a5: usize) -> SysResult {
    // SAFETY: only integer-argument options are used through this wrapper.
    unsafe { sys!(libc::SYS_prctl, option, a2, a3, a4, a5) }
}

/// `prlimit64(0, resource, new, NULL)`.
///
/// # Safety
/// `new` points to a valid rlimit64.
#[inline]
pub unsafe fn setrlimit(resource: c_int, new: *const libc::rlimit64) -> SysResult {
    // SAFETY: forwarded contract.
    unsafe { sys!(libc::SYS_prlimit64, 0, resource, new, 0) }
}

/// `umask(mask)`.
#[inline]
pub fn umask(mask: libc::mode_t) -> SysResult {
    // SAFETY: no pointers.
    unsafe { sys!(libc::SYS_umask, mask) }
}

/// `unshare(flags)`.
#[inline]
pub fn unshare(flags: c_int) -> SysResult {
    // SAFETY: no pointers.
    unsafe { sys!(libc::SYS_unshare, flags) }
}

/// `mount(src, target, fstype, flags, data)`.
///
/// # Safety
/// Pointer arguments are null or NUL-terminated strings.
#[inline]
pub unsafe fn mount(
    src: *const c_char,
    target: *const c_char,
    fstype: *const c_char,
    flags: libc::c_ulong,
    data: *const libc::c_void,
) -> SysResult {
    // SAFETY: forwarded contract.
    unsafe { sys!(libc::SYS_mount, src, target, fstype, flags, data) }
}

/// `read(fd, buf, len)`.
///
/// # Safety
/// `buf` is valid for `len` bytes of writes.
#[inline]
pub unsafe fn read(fd: c_int, buf: *mut u8, len: usize) -> SysResult {
    // SAFETY: forwarded contract.
    unsafe { sys!(libc::SYS_read, fd, buf, len) }
}

/// `write(fd, buf, len)`.
///
/// # Safety
/// `buf` is valid for `len` bytes of reads.
#[inline]
pub unsafe fn write(fd: c_int, buf: *const u8, len: usize) -> SysResult {
    // SAFETY: forwarded contract.
    unsafe { sys!(libc::SYS_write, fd, buf, len) }
}

/// `kill(pid, sig)`.
#[inline]
pub fn kill(pid: c_int, sig: c_int) -> SysResult {
    // SAFETY: no pointers.
    unsafe { sys!(libc::SYS_kill, pid, sig) }
}

/// `setpriority(PRIO_PROCESS, 0, nice)`.
#[inline]
pub fn set_nice(nice: c_int) -> SysResult {
    // SAFETY: no pointers.
    unsafe { sys!(libc::SYS_setpriority, libc::PRIO_PROCESS, 0, nice) }
}

/// `ptrace(PTRACE_TRACEME, 0, 0, 0)`.
#[inline]
pub fn ptrace_traceme() -> SysResult {
    // SAFETY: TRACEME takes no pointers.
    unsafe { sys!(libc::SYS_ptrace, libc::PTRACE_TRACEME, 0, 0, 0) }
}

/// `capset(hdr, data)`.
///
/// # Safety
/// `hdr` and `data` point to a v3 header and two data structs.
#[inline]
pub unsafe fn capset(hdr: *const libc::c_void, data: *const libc::c_void) -> SysResult {
    // SAFETY: forwarded contract.
    unsafe { sys!(libc::SYS_capset, hdr, data) }
}

/// `sched_setscheduler(0, policy, param)`.
///
/// # Safety
/// `param` points to a sched_param.
#[inline]
pub unsafe fn sched_setscheduler(policy: c_int, param: *const libc::sched_param) -> SysResult {
    // SAFETY: forwarded contract.
    unsafe { sys!(libc::SYS_sched_setscheduler, 0, policy, param) }
}

/// close_range's flag to mark close-on-exec instead of closing (Linux 5.11).
pub const CLOSE_RANGE_CLOEXEC: c_uint = 4;

/// `pidfd_open(pid, 0)`: a close-on-exec pidfd (Linux 5.3).
#[inline]
pub fn pidfd_open(pid: c_int) -> SysResult {
    // SAFETY: no pointers.
    unsafe { sys!(libc::SYS_pidfd_open, pid, 0) }
}

/// `pidfd_send_signal(pidfd, sig, NULL, 0)` (Linux 5.1).
#[inline]
pub fn pidfd_send_signal(pidfd: c_int, sig: c_int) -> SysResult {
    // SAFETY: a null siginfo is read by nobody.
    unsafe { sys!(libc::SYS_pidfd_send_signal, pidfd as isize, sig, 0, 0) }
}

/// `poll(fds, n, 0)`: which of the fds are open (POLLNVAL marks the closed ones).
///
/// # Safety
/// `fds` points to `n` pollfd structs.
#[inline]
pub unsafe fn poll_now(fds: *mut libc::pollfd, n: usize) -> SysResult {
    // SAFETY: forwarded contract.
    unsafe { sys!(libc::SYS_poll, fds, n, 0) }
}

/// `setns(fd, nstype)`: join the namespace of an ns file, or (Linux 5.8) the namespaces
/// `nstype` of the process behind a pidfd.
#[inline]
pub fn setns(fd: c_int, nstype: c_int) -> SysResult {
    // SAFETY: no pointers.
    unsafe { sys!(libc::SYS_setns, fd, nstype) }
}

/// `seccomp(SECCOMP_SET_MODE_FILTER, 0, prog)` (Linux 3.17).
///
/// # Safety
/// `prog` points to a `sock_fprog` whose filter array is valid for its length.
#[inline]
pub unsafe fn seccomp_set_filter(prog: *const libc::sock_fprog) -> SysResult {
    const SECCOMP_SET_MODE_FILTER: usize = 1;
    // SAFETY: forwarded contract.
    unsafe { sys!(libc::SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, prog) }
}

/// `prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, prog)`: the same filter through prctl (Linux
/// 3.5), for kernels before the seccomp syscall.
///
/// # Safety
/// As for [`seccomp_set_filter`].
#[inline]
pub unsafe fn prctl_set_seccomp_filter(prog: *const libc::sock_fprog) -> SysResult {
    const SECCOMP_MODE_FILTER: usize = 2;
    // SAFETY: forwarded contract.
    unsafe {
        sys!(
            libc::SYS_prctl,
            libc::PR_SET_SECCOMP,
            SECCOMP_MODE_FILTER,
            prog,
            0,
            0
        )
    }
}

/// `landlock_restrict_self(ruleset_fd, 0)` (Linux 5.13).
#[inline]
pub fn landlock_restrict_self(ruleset_fd: c_int) -> SysResult {
    // SAFETY: no pointers.
    unsafe { sys!(libc::SYS_landlock_restrict_self, ruleset_fd, 0) }
}
