//! Creating the child: one clone-family syscall, in the form this kernel accepts
//! ([`CloneForm`], chosen once per process by `sys::features`), with the child on a dedicated
//! stack. No fallback happens here: the probe already knows which form works.
//!
//! With CLONE_VM the child shares the parent's memory, so the kernel copies no page tables:
//! the cost is flat in the parent's size. The child needs its own stack (it runs while the
//! parent thread is suspended, but on a separate stack so that it cannot clobber the parent's
//! frames), and it starts on that stack with no Rust frame to return into, so the entry is
//! a tiny piece of assembly that calls `entry(arg)`, which never returns.

/// The child's entry point: runs on the child stack and must never return.
pub type ChildEntry = unsafe extern "C" fn(arg: *mut libc::c_void) -> !;

/// The two entry points: one for a child whose handlers the kernel already reset
/// (clone3 with CLONE_CLEAR_SIGHAND), one for a child that must reset them itself.
#[derive(Clone, Copy)]
pub struct ChildEntries {
    pub handlers_cleared: ChildEntry,
    pub reset_handlers: ChildEntry,
}

const CLONE_CLEAR_SIGHAND: u64 = 0x1_0000_0000;
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;
/// clone_args up to `tls` (CLONE_ARGS_SIZE_VER0): all a clone without a cgroup needs. The
/// kernel reads the size it is given and treats the rest as zero.
const CLONE_ARGS_SIZE_VER0: usize = 64;
/// clone_args up to `cgroup` (CLONE_ARGS_SIZE_VER2, Linux 5.7).
const CLONE_ARGS_SIZE_VER2: usize = 88;

/// How the child is created. Every form passes SIGCHLD as the exit signal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloneForm {
    /// clone3(CLONE_VM|CLONE_VFORK|CLONE_PIDFD|CLONE_CLEAR_SIGHAND [|CLONE_INTO_CGROUP]):
    /// Linux 5.5 and later. The kernel resets the child's signal handlers.
    Clone3,
    /// clone(CLONE_VM|CLONE_VFORK [|CLONE_PIDFD]): kernels without clone3 or its
    /// CLONE_CLEAR_SIGHAND, and sandboxes that refuse clone3 (EPERM). The child resets the
    /// handlers itself, with every signal blocked until it has.
    Clone,
    /// clone(SIGCHLD), a fork: for emulators that refuse CLONE_VM without CLONE_THREAD or run
    /// a CLONE_VM|CLONE_VFORK clone as a fork anyway (qemu-user). The child has a copy of our
    /// memory, so it reports through a pipe, not through shared memory.
    ForkLike,
}

/// What the clone asks of the kernel.
pub struct CloneRequest {
    pub form: CloneForm,
    /// Extra CLONE_* flags (namespaces).
    pub extra_flags: u64,
    /// Suspend the parent until the child execs or exits (CLONE_VFORK; not for ForkLike).
    pub vfork: bool,
    /// Ask for a pidfd (CLONE_PIDFD): always with Clone3, with Clone where the probe saw it
    /// work, never with ForkLike (a pidfd comes from pidfd_open there).
    pub pidfd: bool,
    /// A cgroup v2 directory fd to start the child in (Clone3 only).
    pub cgroup_fd: Option<i32>,
}

/// The result of a successful clone in the parent.
pub struct Cloned {
    pub pid: i32,
    /// The pidfd, or -1: none asked for, or a kernel before 5.2 that ignored CLONE_PIDFD (it
    /// ignores unknown clone flags) and never wrote the slot, which is pre-filled with -1.
    pub pidfd: i32,
}

#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// Creates the child running `entry(arg)` on `stack`, in the form `req.form`; returns the
/// kernel's errno unchanged on failure.
///
/// # Safety
/// `stack` is a writable region not used by anything else until the child has exec'd or
/// exited; `entry` follows the child-side rules (no allocation, no locks, raw syscalls only)
/// and `arg` stays valid until then. No handler of the parent may run in the child: clone3
/// with CLONE_CLEAR_SIGHAND resets them in the kernel, and when that may not be the case (the
/// other forms, where `reset_handlers` runs) every signal must be blocked in the calling
/// thread until the child has reset them.
pub unsafe fn clone_child(
    req: &CloneRequest,
    stack: &mut [u8],
    entries: ChildEntries,
    arg: *mut libc::c_void,
) -> Result<Cloned, i32> {
    let mut flags = req.extra_flags;
    if req.form != CloneForm::ForkLike {
        flags |= libc::CLONE_VM as u64;
        if req.vfork {
            flags |= libc::CLONE_VFORK as u64;
        }
    }
    if req.pidfd {
        flags |= libc::CLONE_PIDFD as u64;
    }
    // The stack grows down: hand the kernel its top, 16-byte aligned as both ABIs want.
    let base = stack.as_mut_ptr() as usize;
    let top = (base + stack.len()) & !15;
    // Pre-filled: a kernel that ignores CLONE_PIDFD leaves it as it is.
    let mut pidfd: i32 = -1;
    if req.form == CloneForm::Clone3 {
        let mut args = CloneArgs {
            flags: flags | CLONE_CLEAR_SIGHAND,
            pidfd: &mut pidfd as *mut i32 as u64,
            exit_signal: libc::SIGCHLD as u64,
            stack: base as u64,
            stack_size: (top - base) as u64,
            ..CloneArgs::default()
        };
        let mut size = CLONE_ARGS_SIZE_VER0;
        if let Some(fd) = req.cgroup_fd {
            args.flags |= CLONE_INTO_CGROUP;
            args.cgroup = fd as u64;
            size = CLONE_ARGS_SIZE_VER2;
        }
        // SAFETY: args is a valid clone_args of at least `size` bytes; the stack and entry
        // contract is forwarded from our caller.
        let pid = unsafe { arch::clone3(&mut args, size, entries.handlers_cleared, arg) }?;
        return Ok(Cloned { pid, pidfd });
    }
    // SAFETY: as above; clone(2) writes the pidfd through the parent_tid pointer.
    let pid = unsafe {
        arch::clone_legacy(
            flags | libc::SIGCHLD as u64,
            top,
            &mut pidfd,
            entries.reset_handlers,
            arg,
        )
    }?;
    Ok(Cloned { pid, pidfd })
}

/// From inside a child: creates a sibling with clone(CLONE_VM|CLONE_VFORK|CLONE_PARENT) that
/// runs `entry(arg)` on a stack ending at `stack_top`. The sibling is a child of the spawning
/// process (CLONE_PARENT), so that process waits for it; the caller is suspended until the
/// sibling execs or exits (CLONE_VFORK). clone(2), not clone3: the caller's handlers are
/// already reset, and every kernel has it.
///
/// # Safety
/// As for [`clone_child`], with `stack_top` the 16-byte aligned top of a region nothing else
/// uses until the sibling has exec'd or exited.
pub unsafe fn clone_sibling(
    stack_top: usize,
    entry: ChildEntry,
    arg: *mut libc::c_void,
) -> Result<i32, i32> {
    let flags = (libc::CLONE_VM | libc::CLONE_VFORK | libc::CLONE_PARENT) as u64;
    // No CLONE_PIDFD here: the pidfd would land in this process's fd table, not the parent's.
    let mut unused: i32 = -1;
    // SAFETY: forwarded contract; without CLONE_PIDFD or CLONE_PARENT_SETTID the kernel does
    // not write through the pointer.
    unsafe { arch::clone_legacy(flags, stack_top, &mut unused, entry, arg) }
}

#[cfg(target_arch = "x86_64")]
mod arch {
    use super::{ChildEntry, CloneArgs};
    use core::arch::asm;

    /// A clone-family syscall whose child calls `entry(arg)` on the new stack and never
    /// returns; the parent gets the pid or the errno. `a1..a5` are the syscall's arguments.
    ///
    /// # Safety
    /// See [`super::clone_child`]; the arguments are valid for syscall `nr`.
    #[allow(clippy::too_many_arguments)]
    unsafe fn clone_calling(
        nr: libc::c_long,
        a1: usize,
        a2: usize,
        a3: usize,
        a4: usize,
        a5: usize,
        entry: ChildEntry,
        arg: *mut libc::c_void,
    ) -> Result<i32, i32> {
        let ret: isize;
        // SAFETY: the kernel returns twice. In the parent rax holds the pid or -errno and we
        // fall through to label 2. In the child rax is 0 and rsp is the new stack top; r12/r13
        // (preserved across syscalls and copied into the child) carry entry and arg; rbp is
        // zeroed to end frame-pointer walks; `call` leaves rsp 16n+8 at entry as the ABI wants.
        // entry never returns; ud2 traps if it ever did.
        unsafe {
            asm!(
                "syscall",
                "test rax, rax",
                "jnz 2f",
                "xor ebp, ebp",
                "mov rdi, r13",
                "call r12",
                "ud2",
                "2:",
                inlateout("rax") nr as isize => ret,
                in("rdi") a1,
                in("rsi") a2,
                in("rdx") a3,
                in("r10") a4,
                in("r8") a5,
                in("r12") entry as usize,
                in("r13") arg,
                lateout("rcx") _, lateout("r11") _,
            );
        }
        if ret < 0 {
            Err((-ret) as i32)
        } else {
            Ok(ret as i32)
        }
    }

    /// clone3 whose child calls `entry(arg)` on the new stack.
    ///
    /// # Safety
    /// See [`super::clone_child`].
    pub unsafe fn clone3(
        args: &mut CloneArgs,
        size: usize,
        entry: ChildEntry,
        arg: *mut libc::c_void,
    ) -> Result<i32, i32> {
        let args = args as *mut CloneArgs as usize;
        // SAFETY: args is a live clone_args of `size` bytes; the rest is forwarded.
        unsafe { clone_calling(libc::SYS_clone3, args, size, 0, 0, 0, entry, arg) }
    }

    /// clone(2) (x86_64 argument order: flags, stack, parent_tid, child_tid, tls).
    ///
    /// # Safety
    /// See [`super::clone_child`].
    pub unsafe fn clone_legacy(
        flags: u64,
        stack_top: usize,
        pidfd: &mut i32,
        entry: ChildEntry,
        arg: *mut libc::c_void,
    ) -> Result<i32, i32> {
        let pidfd = pidfd as *mut i32 as usize;
        // SAFETY: CLONE_PIDFD writes the fd through parent_tid, a live i32; the rest is
        // forwarded.
        unsafe {
            clone_calling(
                libc::SYS_clone,
                flags as usize,
                stack_top,
                pidfd,
                0,
                0,
                entry,
                arg,
            )
        }
    }
}

#[cfg(not(target_arch = "x86_64"))]
mod arch {
    //! Other architectures go through glibc's clone() wrapper, which already knows how to
    //! start a function on a new stack. No clone3 there: handlers are reset by hand.
    use super::{ChildEntry, CloneArgs};

    /// # Safety
    /// See [`super::clone_child`].
    pub unsafe fn clone3(
        _: &mut CloneArgs,
        _: usize,
        _: ChildEntry,
        _: *mut libc::c_void,
    ) -> Result<i32, i32> {
        Err(libc::ENOSYS)
    }

    /// # Safety
    /// See [`super::clone_child`].
    pub unsafe fn clone_legacy(
        flags: u64,
        stack_top: usize,
        pidfd: &mut i32,
        entry: ChildEntry,
        arg: *mut libc::c_void,
    ) -> Result<i32, i32> {
        // SAFETY: glibc's clone calls entry(arg) on stack_top in the child; entry never
        // returns, so the transmute to a c_int-returning fn is never observed.
        let f: extern "C" fn(*mut libc::c_void) -> libc::c_int =
            unsafe { core::mem::transmute(entry) };
        // SAFETY: forwarded contract; CLONE_PIDFD stores the fd through parent_tid.
        let pid = unsafe {
            libc::clone(
                f,
                stack_top as *mut libc::c_void,
                (flags & 0xffff_ffff) as libc::c_int,
                arg,
                pidfd as *mut i32,
            )
        };
        if pid < 0 {
            Err(std::io::Error::last_os_error()
                .raw_os_error()
                .unwrap_or(libc::EINVAL))
        } else {
            Ok(pid)
        }
    }
}
