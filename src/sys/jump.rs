//! The userland loader's last steps: put the process state the kernel resets at exec back to
//! its initial values, then jump to the new program with the registers an exec leaves.
//!
//! What execve resets and we reset too: caught signal handlers go back to SIG_DFL (ignored ones
//! stay ignored, the mask stays), the alternate signal stack is dropped, the fs base (TLS) is 0,
//! every general register and xmm register is 0 (rdx = 0 means "no atexit function" to the
//! C start-up code), rsp points at argc. In addition glibc's rseq registration is undone, so
//! the new program's C library can register its own area (the kernel drops it with the old mm).

use core::arch::asm;

/// glibc's rseq signature on x86 (RSEQ_SIG), needed to unregister its area.
const RSEQ_SIG: u32 = 0x5305_3053;
/// RSEQ_FLAG_UNREGISTER.
const RSEQ_FLAG_UNREGISTER: usize = 1;
/// The length glibc registers at least (the original `struct rseq`).
const RSEQ_AREA_MIN: u32 = 32;

/// Resets every caught signal handler to SIG_DFL, as execve does (`flush_signal_handlers`).
/// Ignored signals stay ignored, except SIGPIPE, which goes back to SIG_DFL: Rust's runtime
/// ignores it in every program, not the user (the same rule as forkexec's spawns).
pub fn reset_signal_handlers() {
    for sig in 1..=64 {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP {
            continue;
        }
        let mut old = super::raw::KernelSigaction {
            handler: 0,
            flags: 0,
            restorer: 0,
            mask: 0,
        };
        // SAFETY: no new action; `old` is a valid struct on our stack for the kernel to fill.
        if unsafe { super::raw::sigaction(sig, core::ptr::null(), &mut old) }.is_err() {
            continue;
        }
        let caught = old.handler != libc::SIG_DFL && old.handler != libc::SIG_IGN;
        if caught || (sig == libc::SIGPIPE && old.handler == libc::SIG_IGN) {
            let _ = super::raw::set_disposition(sig, libc::SIG_DFL);
        }
    }
}

/// `sigaltstack(SS_DISABLE)`: the new program starts without an alternate signal stack.
pub fn disable_altstack() {
    let ss = libc::stack_t {
        ss_sp: core::ptr::null_mut(),
        ss_flags: libc::SS_DISABLE,
        ss_size: 0,
    };
    // SAFETY: `ss` is a valid stack_t; no old value is requested.
    unsafe { libc::sigaltstack(&ss, core::ptr::null_mut()) };
}

/// Unregisters the calling thread's rseq area if glibc registered one (glibc 2.35 and later
/// export `__rseq_offset` and `__rseq_size`). Returns whether an area was unregistered.
///
/// Without this the new program's C library gets EBUSY from rseq(2) and runs without it, and
/// the kernel keeps writing to the old area. Must be called right before [`jump`]: after it the
/// current C library's `sched_getcpu` falls back to the system call.
pub fn unregister_rseq() -> bool {
    // SAFETY: dlsym with RTLD_DEFAULT and NUL-terminated names only looks symbols up.
    let (off, size) = unsafe {
        (
            libc::dlsym(libc::RTLD_DEFAULT, c"__rseq_offset".as_ptr()),
            libc::dlsym(libc::RTLD_DEFAULT, c"__rseq_size".as_ptr()),
        )
    };
    if off.is_null() || size.is_null() {
        return false;
    }
    // SAFETY: glibc defines __rseq_offset as a ptrdiff_t and __rseq_size as an unsigned int,
    // both constant after start-up.
    let (off, size) = unsafe { (*(off as *const isize), *(size as *const u32)) };
    if size == 0 {
        return false;
    }
    let tp: usize;
    // SAFETY: on x86_64 the first word of the TCB at fs:0 holds the thread pointer itself
    // (TLS variant II); reading it has no side effect.
    unsafe { asm!("mov {}, fs:0", out(reg) tp, options(nostack, readonly, preserves_flags)) };
    let area = tp.wrapping_add_signed(off);
    for len in [size.max(RSEQ_AREA_MIN), RSEQ_AREA_MIN, size] {
        // SAFETY: unregistering only compares the arguments with the registered ones; the
        // kernel then stops using the area.
        let r = unsafe {
            super::raw::syscall(
                libc::SYS_rseq,
                [
                    area,
                    len as usize,
                    RSEQ_FLAG_UNREGISTER,
                    RSEQ_SIG as usize,
                    0,
                    0,
                ],
            )
        };
        if r.is_ok() {
            return true;
        }
    }
    false
}

/// Starts the program whose initial stack has argc at `rsp` inside `stack`, at `entry`:
/// [`jump`] after checking that `rsp` is 16-byte aligned with at least a page of `stack` below
/// it. Never returns.
///
/// Safe for the reason `execve` is: nothing of the current program runs again on this thread,
/// so no Rust invariant of it can be observed broken. The caller keeps the rest of that promise
/// by being the only thread of the process (the loader checks before it maps anything).
pub fn enter(stack: &super::mapping::Region, rsp: usize, entry: usize) -> ! {
    let low = stack.addr().saturating_add(2 * super::mapping::PAGE);
    let high = stack.addr().saturating_add(stack.len());
    if rsp % 16 != 0 || rsp < low || rsp >= high {
        // A loader bug, not bad input: the plan guarantees all three. Dying here beats
        // jumping with a wild stack.
        std::process::abort();
    }
    // SAFETY: rsp lies in the stack mapping with room below; the loader wrote the image there
    // and mapped `entry`'s segment; see the function docs for why leaving Rust is sound.
    unsafe { jump(rsp, entry) }
}

/// Switches to the new program: fs base 0, rsp = `rsp`, every other general register and
/// xmm0-15 zero, then continues at `entry`. Never returns.
///
/// # Safety
/// `rsp` points at argc of a complete initial stack image (argc, argv, envp, auxv, strings)
/// inside a writable mapping with at least 8 free bytes below it; `entry` is the first
/// instruction of a mapped, executable program (or its interpreter) ready to run. Nothing of
/// the current program runs after this call on this thread.
pub unsafe fn jump(rsp: usize, entry: usize) -> ! {
    // SAFETY: the caller guarantees the stack image and the entry point. The sequence:
    // arch_prctl(ARCH_SET_FS, 0) first (the syscall clobbers rcx and r11, zeroed after);
    // then the new stack; the entry address is pushed so that `ret` can jump to it after
    // every register that held it is zero, and `ret` pops it, leaving rsp at argc exactly.
    unsafe {
        asm!(
            "mov eax, 158",        // SYS_arch_prctl
            "mov edi, 0x1002",     // ARCH_SET_FS
            "xor esi, esi",        // base 0, as after execve
            "syscall",
            "mov rsp, r12",
            "push r13",
            "xor eax, eax",
            "xor ebx, ebx",
            "xor ecx, ecx",
            "xor edx, edx",        // rdx = 0: no function for the C start-up to atexit()
            "xor esi, esi",
            "xor edi, edi",
            "xor ebp, ebp",        // rbp = 0 marks the outermost frame
            "xor r8d, r8d",
            "xor r9d, r9d",
            "xor r10d, r10d",
            "xor r11d, r11d",
            "xor r12d, r12d",
            "xor r13d, r13d",
            "xor r14d, r14d",
            "xor r15d, r15d",
            "pxor xmm0, xmm0",
            "pxor xmm1, xmm1",
            "pxor xmm2, xmm2",
            "pxor xmm3, xmm3",
            "pxor xmm4, xmm4",
            "pxor xmm5, xmm5",
            "pxor xmm6, xmm6",
            "pxor xmm7, xmm7",
            "pxor xmm8, xmm8",
            "pxor xmm9, xmm9",
            "pxor xmm10, xmm10",
            "pxor xmm11, xmm11",
            "pxor xmm12, xmm12",
            "pxor xmm13, xmm13",
            "pxor xmm14, xmm14",
            "pxor xmm15, xmm15",
            "ret",
            in("r12") rsp,
            in("r13") entry,
            options(noreturn)
        );
    }
}

// The trampoline that also replaces /proc/PID/exe. The kernel refuses a new exe file while
// any mapping of the old one exists (EBUSY), and the loader's code runs from those mappings,
// so this code is copied to a page of its own (see `enter_replacing_exe`) and, from there,
// unmaps the old executable, sets the new one with PR_SET_MM_MAP (the form that needs
// CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN; PR_SET_MM_EXE_FILE alone needs CAP_SYS_RESOURCE),
// closes its fd and starts the program as `jump` does. Position-independent: the parameters
// follow the code at `.Lexe_params`.
//
// Parameters (u64 each): [0] number of ranges to unmap, [8] the new exe fd, [16] rsp,
// [24] entry, [32..136) a `struct prctl_mm_map` naming the fd, [136..] (address, length) pairs.
core::arch::global_asm!(
    ".pushsection .rodata.forkexec_exe_trampoline,\"a\",@progbits",
    ".balign 16",
    ".globl forkexec_exe_trampoline",
    ".hidden forkexec_exe_trampoline",
    "forkexec_exe_trampoline:",
    "lea r12, [rip + .Lexe_params]",
    "mov rbx, [r12]",
    "lea r13, [r12 + 136]",
    ".Lexe_unmap:",
    "test rbx, rbx",
    "jz .Lexe_set",
    "mov rdi, [r13]",
    "mov rsi, [r13 + 8]",
    "mov eax, 11", // munmap
    "syscall",
    "add r13, 16",
    "dec rbx",
    "jmp .Lexe_unmap",
    ".Lexe_set:",
    "mov edi, 35", // PR_SET_MM
    "mov esi, 14", // PR_SET_MM_MAP
    "lea rdx, [r12 + 32]",
    "mov r10d, 104", // sizeof(struct prctl_mm_map)
    "xor r8d, r8d",
    "mov eax, 157", // prctl
    "syscall",
    "mov rdi, [r12 + 8]",
    "mov eax, 3", // close
    "syscall",
    "mov eax, 158", // arch_prctl(ARCH_SET_FS, 0)
    "mov edi, 0x1002",
    "xor esi, esi",
    "syscall",
    "mov rsp, [r12 + 16]",
    "push qword ptr [r12 + 24]",
    "xor eax, eax",
    "xor ebx, ebx",
    "xor ecx, ecx",
    "xor edx, edx",
    "xor esi, esi",
    "xor edi, edi",
    "xor ebp, ebp",
    "xor r8d, r8d",
    "xor r9d, r9d",
    "xor r10d, r10d",
    "xor r11d, r11d",
    "xor r12d, r12d",
    "xor r13d, r13d",
    "xor r14d, r14d",
    "xor r15d, r15d",
    "pxor xmm0, xmm0",
    "pxor xmm1, xmm1",
    "pxor xmm2, xmm2",
    "pxor xmm3, xmm3",
    "pxor xmm4, xmm4",
    "pxor xmm5, xmm5",
    "pxor xmm6, xmm6",
    "pxor xmm7, xmm7",
    "pxor xmm8, xmm8",
    "pxor xmm9, xmm9",
    "pxor xmm10, xmm10",
    "pxor xmm11, xmm11",
    "pxor xmm12, xmm12",
    "pxor xmm13, xmm13",
    "pxor xmm14, xmm14",
    "pxor xmm15, xmm15",
    "ret",
    ".balign 8",
    ".Lexe_params:",
    ".globl forkexec_exe_trampoline_end",
    ".hidden forkexec_exe_trampoline_end",
    "forkexec_exe_trampoline_end:",
    ".popsection",
);

extern "C" {
    static forkexec_exe_trampoline: u8;
    static forkexec_exe_trampoline_end: u8;
}

/// The most ranges of the old executable the trampoline unmaps.
pub const MAX_EXE_RANGES: usize = 64;

/// [`enter`], after making `exe_fd` the process's executable (/proc/PID/exe, which the C
/// library reads for `$ORIGIN`): the mappings of the old executable (`old_exe`, address and
/// length pairs) are unmapped first, from a copy of the trampoline in a page of its own, then
/// `prctl(PR_SET_MM, PR_SET_MM_MAP)` with `map` naming `exe_fd` (CAP_CHECKPOINT_RESTORE or
/// CAP_SYS_ADMIN), then `exe_fd` is closed. If the page cannot be made, the exe stays and the
/// program starts anyway; if the prctl fails, the old executable is gone but nothing needs it.
pub fn enter_replacing_exe(
    stack: &super::mapping::Region,
    rsp: usize,
    entry: usize,
    exe_fd: std::os::fd::OwnedFd,
    old_exe: &[(usize, usize)],
    map: &super::mm::MmMap,
) -> ! {
    use std::os::fd::IntoRawFd;
    let low = stack.addr().saturating_add(2 * super::mapping::PAGE);
    let high = stack.addr().saturating_add(stack.len());
    if rsp % 16 != 0 || rsp < low || rsp >= high || old_exe.len() > MAX_EXE_RANGES {
        std::process::abort();
    }
    // SAFETY: taking the addresses of the two labels of the global_asm block above; nothing
    // is read through them here. (Safe without `unsafe` since Rust 1.82; kept for 1.80.)
    #[allow(unused_unsafe)]
    let (code, end) = unsafe {
        (
            core::ptr::addr_of!(forkexec_exe_trampoline) as usize,
            core::ptr::addr_of!(forkexec_exe_trampoline_end) as usize,
        )
    };
    let code_len = end - code;
    let fd = exe_fd.into_raw_fd();
    let m = super::mm::MmMap {
        exe_fd: fd as u32,
        auxv: 0,
        auxv_size: 0,
        ..*map
    };
    let mut params: Vec<u64> = vec![old_exe.len() as u64, fd as u64, rsp as u64, entry as u64];
    params.extend_from_slice(&[
        m.start_code,
        m.end_code,
        m.start_data,
        m.end_data,
        m.start_brk,
        m.brk,
        m.start_stack,
        m.arg_start,
        m.arg_end,
        m.env_start,
        m.env_end,
        m.auxv,
        u64::from(m.auxv_size) | u64::from(m.exe_fd) << 32,
    ]);
    for &(a, l) in old_exe {
        params.extend_from_slice(&[a as u64, l as u64]);
    }
    let total = code_len + params.len() * 8;
    // SAFETY: a new private anonymous mapping at an address of the kernel's choice.
    let page = unsafe {
        libc::mmap(
            core::ptr::null_mut(),
            total,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if page == libc::MAP_FAILED {
        enter(stack, rsp, entry)
    }
    // SAFETY: `page` has `total` writable bytes; the code bytes are the trampoline's
    // (code..end lies in this binary's read-only data), the parameters follow them where the
    // code's rip-relative `.Lexe_params` points.
    unsafe {
        core::ptr::copy_nonoverlapping(code as *const u8, page as *mut u8, code_len);
        core::ptr::copy_nonoverlapping(
            params.as_ptr() as *const u8,
            (page as *mut u8).add(code_len),
            params.len() * 8,
        );
    }
    // SAFETY: the page is ours; it becomes read + execute.
    if unsafe { libc::mprotect(page, total, libc::PROT_READ | libc::PROT_EXEC) } != 0 {
        enter(stack, rsp, entry)
    }
    // SAFETY: the copied trampoline unmaps only the old executable's ranges (none of them
    // holds the trampoline page, the new program or its stack, which the caller made apart
    // from it), then starts the program as `jump` does: rsp is checked above, the caller
    // mapped `entry`. Leaving Rust is sound for the reasons given on `enter`.
    unsafe {
        asm!("jmp {}", in(reg) page as usize, options(noreturn));
    }
}
