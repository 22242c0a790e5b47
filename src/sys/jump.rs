//! The userland loader's last steps: put the process state the kernel resets at exec back to
//! its initial values, then leave through a trampoline that removes what must go and starts
//! the new program with the registers an exec leaves.
//!
//! What execve resets and we reset too: caught signal handlers go back to SIG_DFL (ignored ones
//! stay ignored, the mask stays), the alternate signal stack is dropped, the robust futex list
//! and the clear-child-tid address are forgotten, the fs base (TLS) is 0, every general
//! register and xmm register is 0 (rdx = 0 means "no atexit function" to the C start-up code),
//! rsp points at argc. In addition glibc's rseq registration is undone, so the new program's C
//! library can register its own area (the kernel drops it with the old mm).
//!
//! Everything here is split as the loader is: what needs the C library or allocates
//! ([`rseq_area`], [`Trampoline::reserve`] and [`Trampoline::write`]) runs while the load is
//! planned; what runs at the point of no return ([`reset_signal_handlers`],
//! [`disable_altstack`], [`forget_thread_addresses`], [`unregister_rseq`], [`Trampoline::enter`])
//! only issues system calls on data prepared before, and allocates nothing.
//!
//! # The trampoline
//!
//! The loader's own code lives in the mappings the trampoline removes, so the trampoline is
//! position-independent code copied into a page of its own, with its parameters after it. From
//! there it unmaps the ranges it was given (in place: everything but the new program, its
//! stack, the vDSO and vvar pages, and itself; alongside: the old executable's mappings, when
//! /proc/PID/exe changes), makes the new program the process's executable
//! (`PR_SET_MM_MAP` with an exe fd, which the kernel refuses while the old one is mapped),
//! closes that fd, clears the fs base, zeroes the registers and starts the program.
//!
//! Its own page is the last thing to go, and code cannot unmap the page it runs in and go on.
//! The kernel's vDSO can: built with `-fzero-call-used-regs` (CONFIG_ZERO_CALL_USED_REGS, as
//! on this project's machine), its system call fallbacks end in `syscall`, then `xor`s that
//! zero rcx, rdx, rsi, rdi and r11, then `ret`. The trampoline jumps there with rax = munmap,
//! rdi/rsi = its own page, and the program's entry on the stack: the kernel unmaps the
//! trampoline, the vDSO zeroes what the call left in registers and returns into the program
//! (`crate::load::vdso::exit_sequence` finds and checks that sequence, byte by byte). Without
//! one (another kernel build, vdso=0) the trampoline starts the program with its own `ret` and
//! its page stays mapped: one page of code the program never uses.

use super::mapping::{Region, Where, PAGE};
use super::mm::MmMap;
use super::trampoline;
use crate::errno::Errno;
use core::arch::asm;
use std::os::fd::{AsRawFd, OwnedFd};

/// glibc's rseq signature on x86 (RSEQ_SIG), needed to unregister its area.
const RSEQ_SIG: u32 = 0x5305_3053;
/// RSEQ_FLAG_UNREGISTER.
const RSEQ_FLAG_UNREGISTER: usize = 1;
/// The length glibc registers at least (the original `struct rseq`).
const RSEQ_AREA_MIN: u32 = 32;
/// sizeof(struct robust_list_head), which set_robust_list insists on.
const ROBUST_LIST_HEAD_BYTES: usize = 24;

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
    let _ = unsafe {
        super::raw::syscall(
            libc::SYS_sigaltstack,
            [&ss as *const libc::stack_t as usize, 0, 0, 0, 0, 0],
        )
    };
}

/// Forgets the addresses the C library gave the kernel in the old program's memory, as exec
/// does (`exec_mm_release`): the robust futex list (`set_robust_list(NULL)`) and the word the
/// kernel clears when the thread exits (`set_tid_address(NULL)`).
pub fn forget_thread_addresses() {
    // SAFETY: NULL pointers: the kernel stores them and never dereferences NULL.
    unsafe {
        let _ = super::raw::syscall(
            libc::SYS_set_robust_list,
            [0, ROBUST_LIST_HEAD_BYTES, 0, 0, 0, 0],
        );
        let _ = super::raw::syscall(libc::SYS_set_tid_address, [0, 0, 0, 0, 0, 0]);
    }
}

/// Where glibc registered the calling thread's rseq area, found before the point of no return
/// (the lookup goes through the C library's dynamic linker).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RseqArea {
    addr: usize,
    size: u32,
}

/// The calling thread's rseq area if glibc registered one (glibc 2.35 and later export
/// `__rseq_offset` and `__rseq_size`; both are constant after start-up).
pub fn rseq_area() -> Option<RseqArea> {
    // SAFETY: dlsym with RTLD_DEFAULT and NUL-terminated names only looks symbols up.
    let (off, size) = unsafe {
        (
            libc::dlsym(libc::RTLD_DEFAULT, c"__rseq_offset".as_ptr()),
            libc::dlsym(libc::RTLD_DEFAULT, c"__rseq_size".as_ptr()),
        )
    };
    if off.is_null() || size.is_null() {
        return None;
    }
    // SAFETY: glibc defines __rseq_offset as a ptrdiff_t and __rseq_size as an unsigned int.
    let (off, size) = unsafe { (*(off as *const isize), *(size as *const u32)) };
    if size == 0 {
        return None;
    }
    let tp: usize;
    // SAFETY: on x86_64 the first word of the TCB at fs:0 holds the thread pointer itself
    // (TLS variant II); reading it has no side effect.
    unsafe { asm!("mov {}, fs:0", out(reg) tp, options(nostack, readonly, preserves_flags)) };
    Some(RseqArea {
        addr: tp.wrapping_add_signed(off),
        size,
    })
}

/// Unregisters `area` (from [`rseq_area`]). Returns whether the kernel accepted.
///
/// Without this the new program's C library gets EBUSY from rseq(2) and runs without it, and
/// the kernel keeps writing to the old area (in place: unmapped memory, a SIGSEGV at the first
/// preemption). Must be called right before [`Trampoline::enter`]: after it the current C
/// library's `sched_getcpu` falls back to the system call.
pub fn unregister_rseq(area: &RseqArea) -> bool {
    for len in [area.size.max(RSEQ_AREA_MIN), RSEQ_AREA_MIN, area.size] {
        // SAFETY: unregistering only compares the arguments with the registered ones; the
        // kernel then stops using the area.
        let r = unsafe {
            super::raw::syscall(
                libc::SYS_rseq,
                [
                    area.addr,
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

/// The most ranges a trampoline unmaps.
pub fn max_unmap_ranges() -> usize {
    trampoline::max_unmap_ranges()
}

/// A `syscall; [leave;] xor...; ret` sequence in the vDSO that zeroes every register the
/// munmap call uses or clobbers (found by `crate::load::vdso::exit_sequence`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExitSequence {
    /// The address of its `syscall` instruction.
    pub addr: usize,
    /// Whether `leave` follows the `syscall` (rbp must then point at a zero word with the
    /// return address above it).
    pub leave: bool,
}

/// What the trampoline does, prepared before the point of no return.
#[derive(Debug)]
pub struct Handover<'a> {
    /// Ranges to unmap, as (address, length).
    pub unmap: &'a [(usize, usize)],
    /// A new /proc/PID/exe: the open file and the layout to set with it.
    pub exe: Option<(OwnedFd, MmMap)>,
    /// rsp at entry: the address of argc, inside `stack`.
    pub rsp: usize,
    /// The first instruction of the new program (or its interpreter).
    pub entry: usize,
    /// The vDSO sequence that unmaps the trampoline's page; None keeps the page.
    pub exit: Option<ExitSequence>,
}

/// The trampoline in a page of its own: reserved, then written, then entered.
#[derive(Debug)]
pub struct Trampoline {
    page: Region,
    exe: Option<OwnedFd>,
    written: bool,
}

impl Trampoline {
    /// Reserves the trampoline's page (its address is needed to decide what to unmap).
    pub fn reserve() -> Result<Trampoline, Errno> {
        Ok(Trampoline {
            page: Region::reserve(Where::Anywhere { align: PAGE }, trampoline::PAGE_BYTES)?,
            exe: None,
            written: false,
        })
    }

    /// The page, as (address, length).
    pub fn range(&self) -> (usize, usize) {
        (self.page.addr(), self.page.len())
    }

    /// Copies the code and `h`'s parameters into the page and makes it executable (read +
    /// execute, never writable and executable at once). EINVAL when `h.rsp` is not a 16-byte
    /// aligned address inside `stack` with a page below it, or there are more ranges than
    /// [`max_unmap_ranges`].
    pub fn write(&mut self, h: Handover<'_>, stack: &Region) -> Result<(), Errno> {
        let low = stack.addr().saturating_add(PAGE + 16);
        let high = stack.addr().saturating_add(stack.len());
        if h.rsp % 16 != 0 || h.rsp < low || h.rsp >= high || h.unmap.len() > max_unmap_ranges() {
            return Err(Errno(libc::EINVAL));
        }
        let (page, page_len) = self.range();
        let (exe_fd, mm_map) = match &h.exe {
            Some((fd, map)) => (fd.as_raw_fd(), map.words()),
            None => (-1, [0; trampoline::MM_MAP_WORDS]),
        };
        let params = trampoline::Params {
            unmap: h.unmap,
            exe_fd,
            mm_map,
            rsp: h.rsp,
            entry: h.entry,
            exit: h.exit.map(|e| (e.addr, e.leave)),
            page: (page, page_len),
        };
        let mut bytes = [0u8; trampoline::PAGE_BYTES];
        if !trampoline::write(&mut bytes, &params) {
            return Err(Errno(libc::EINVAL));
        }
        self.page
            .fill(0, page_len, 0, &bytes, libc::PROT_READ | libc::PROT_EXEC)?;
        self.exe = h.exe.map(|(fd, _)| fd);
        self.written = true;
        Ok(())
    }

    /// Jumps into the written trampoline. Never returns; allocates nothing.
    ///
    /// Safe for the reason `execve` is: nothing of the current program runs again on this
    /// thread, so no Rust invariant of it can be observed broken. The caller keeps the rest of
    /// that promise by being the only thread of the process (the loader checks before it maps
    /// anything) and by having written the new program and its stack where the handover said.
    pub fn enter(&self) -> ! {
        if !self.written {
            // A loader bug: the page holds no code. Dying here beats jumping into it.
            std::process::abort();
        }
        // SAFETY: the page holds the trampoline and its checked parameters (`write`); it
        // unmaps only ranges the loader chose to drop, none of which holds the trampoline, the
        // new program, its stack or the vDSO, then starts the program; see above for why
        // leaving Rust is sound.
        unsafe {
            asm!("jmp {}", in(reg) self.page.addr(), options(noreturn));
        }
    }
}
