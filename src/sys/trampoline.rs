//! The trampoline's code and the layout of its parameters: the last code a userland load runs
//! (see `jump` for what it does and why it lives in a page of its own).
//!
//! Two programs use this file: the library (`super::jump`, loading into the current process)
//! and the loader stub (`loader_stub/main.rs`, loading into a new one), which is compiled on
//! its own, without std. So it uses `core` only and cannot panic: the stub has no panic
//! machinery to link.

// The trampoline. Position-independent: the parameters follow the code at `.Lparams`, u64
// each:
//   [0] number of (address, length) ranges to unmap, from [168]
//   [8] the exe fd for PR_SET_MM_MAP, or -1 to leave /proc/PID/exe alone
//   [16] rsp at entry (the address of argc)
//   [24] the entry point
//   [32] the vDSO's exit sequence, or 0 to start the program with this page's own `ret`
//   [40] rbp for the exit sequence (argc - 16 when it starts with `leave`, else 0)
//   [48] this page's address, [56] its length (what the exit sequence unmaps)
//   [64..168) a `struct prctl_mm_map` naming the exe fd
core::arch::global_asm!(
    ".pushsection .rodata.forkexec_trampoline,\"a\",@progbits",
    ".balign 16",
    ".globl forkexec_trampoline",
    ".hidden forkexec_trampoline",
    "forkexec_trampoline:",
    "lea r12, [rip + .Lparams]",
    "mov rbx, [r12]",
    "lea r13, [r12 + 168]",
    ".Lunmap:",
    "test rbx, rbx",
    "jz .Lexe",
    "mov rdi, [r13]",
    "mov rsi, [r13 + 8]",
    "mov eax, 11", // munmap
    "syscall",
    "add r13, 16",
    "dec rbx",
    "jmp .Lunmap",
    ".Lexe:",
    "cmp qword ptr [r12 + 8], 0",
    "jl .Lfs",
    "mov edi, 35", // PR_SET_MM
    "mov esi, 14", // PR_SET_MM_MAP
    "lea rdx, [r12 + 64]",
    "mov r10d, 104", // sizeof(struct prctl_mm_map)
    "xor r8d, r8d",
    "mov eax, 157", // prctl
    "syscall",
    "mov rdi, [r12 + 8]",
    "mov eax, 3", // close
    "syscall",
    ".Lfs:",
    "mov eax, 158", // arch_prctl(ARCH_SET_FS, 0), as after execve
    "mov edi, 0x1002",
    "xor esi, esi",
    "syscall",
    // The new stack, with the entry point below argc for the final `ret` to pop.
    "mov rsp, [r12 + 16]",
    "push qword ptr [r12 + 24]",
    "mov rbp, [r12 + 40]",
    // Every other register zero: the state execve leaves.
    "xor eax, eax",
    "xor ebx, ebx",
    "xor ecx, ecx",
    "xor edx, edx", // rdx = 0: no function for the C start-up to atexit()
    "xor esi, esi",
    "xor edi, edi",
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
    "cmp qword ptr [rip + .Lparams + 32], 0",
    "je .Lret",
    // munmap(this page) from the vDSO, which zeroes rcx, rdx, rsi, rdi, r11 and returns.
    "mov eax, 11",
    "mov rdi, [rip + .Lparams + 48]",
    "mov rsi, [rip + .Lparams + 56]",
    "jmp qword ptr [rip + .Lparams + 32]",
    ".Lret:",
    "ret",
    ".balign 8",
    ".Lparams:",
    ".globl forkexec_trampoline_end",
    ".hidden forkexec_trampoline_end",
    "forkexec_trampoline_end:",
    ".popsection",
);

extern "C" {
    static forkexec_trampoline: u8;
    static forkexec_trampoline_end: u8;
}

/// Bytes of parameters before the ranges (see the layout above the assembly).
const PARAMS_HEADER: usize = 168;
/// The trampoline's page (code, parameters and ranges fit in one).
pub const PAGE_BYTES: usize = 4096;
/// Words of the kernel's `struct prctl_mm_map` (104 bytes: twelve addresses, then auxv_size
/// and exe_fd as two u32 in the last word).
pub const MM_MAP_WORDS: usize = 13;

/// The trampoline's code, from this binary's read-only data.
pub fn code() -> &'static [u8] {
    // SAFETY: taking the addresses of the two labels of the global_asm block above. (Safe
    // without `unsafe` since Rust 1.82; kept for 1.80.)
    #[allow(unused_unsafe)]
    let (start, end) = unsafe {
        (
            core::ptr::addr_of!(forkexec_trampoline) as usize,
            core::ptr::addr_of!(forkexec_trampoline_end) as usize,
        )
    };
    // SAFETY: start..end are the assembled bytes between the two labels, in a read-only
    // section of this binary that lives as long as the process.
    unsafe { core::slice::from_raw_parts(start as *const u8, end.saturating_sub(start)) }
}

/// The most ranges a trampoline unmaps.
pub fn max_unmap_ranges() -> usize {
    PAGE_BYTES.saturating_sub(code().len() + PARAMS_HEADER) / 16
}

/// What the trampoline does, as plain values.
pub struct Params<'a> {
    /// Ranges to unmap, as (address, length).
    pub unmap: &'a [(usize, usize)],
    /// The fd of a new /proc/PID/exe, or -1 to keep it.
    pub exe_fd: i32,
    /// The `struct prctl_mm_map` set with the exe fd (its exe_fd half is filled in here).
    pub mm_map: [u64; MM_MAP_WORDS],
    /// rsp at entry: the address of argc.
    pub rsp: usize,
    /// The first instruction of the new program (or its interpreter).
    pub entry: usize,
    /// The vDSO sequence that unmaps the page (its `syscall`, and whether `leave` follows);
    /// `None` keeps the page.
    pub exit: Option<(usize, bool)>,
    /// The page's address and length.
    pub page: (usize, usize),
}

/// Writes the code and `p` into `page` (the bytes of the page at `p.page`). False when they
/// do not fit (more ranges than [`max_unmap_ranges`], or a shorter `page`).
pub fn write(page: &mut [u8], p: &Params<'_>) -> bool {
    let code = code();
    let needed = code.len() + PARAMS_HEADER + 16 * p.unmap.len();
    let Some(out) = page.get_mut(..needed) else {
        return false;
    };
    if p.unmap.len() > max_unmap_ranges() {
        return false;
    }
    let rbp = match p.exit {
        Some((_, true)) => p.rsp.wrapping_sub(16),
        _ => 0,
    };
    // The map without an auxv (already recorded before), with the exe fd in the upper half
    // of its last word.
    let mut mm = p.mm_map;
    mm[11] = 0;
    mm[12] = u64::from(p.exe_fd as u32) << 32;
    let header = [
        p.unmap.len() as u64,
        i64::from(p.exe_fd) as u64,
        p.rsp as u64,
        p.entry as u64,
        p.exit.map_or(0, |(addr, _)| addr as u64),
        rbp as u64,
        p.page.0 as u64,
        p.page.1 as u64,
    ];
    // Byte by byte through iterators: no slice operation that could panic (the loader stub
    // links no panic machinery).
    // (The source first in each zip: zip takes an item of its first iterator before it
    // finds the second one ended, and a slot must not be skipped.)
    let mut bytes = out.iter_mut();
    for (&b, slot) in code.iter().zip(bytes.by_ref()) {
        *slot = b;
    }
    let mut put = |w: u64| {
        for (b, slot) in w.to_ne_bytes().into_iter().zip(bytes.by_ref()) {
            *slot = b;
        }
    };
    header.into_iter().chain(mm).for_each(&mut put);
    for &(addr, len) in p.unmap {
        put(addr as u64);
        put(len as u64);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(page: &[u8], at: usize) -> u64 {
        u64::from_ne_bytes(page[at..at + 8].try_into().unwrap())
    }

    #[test]
    fn the_code_then_every_parameter_word_in_its_place() {
        let mut page = [0xaau8; PAGE_BYTES];
        let p = Params {
            unmap: &[(0x1000, 0x2000), (0x5000, 0x6000)],
            exe_fd: 7,
            mm_map: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13],
            rsp: 0x7fff_0000,
            entry: 0x40_1000,
            exit: Some((0x7ff0_0010, true)),
            page: (0x9000, 0x1000),
        };
        assert!(write(&mut page, &p));
        let code = code();
        assert_eq!(&page[..code.len()], code);
        let params = code.len();
        let header = [
            2,
            7,
            0x7fff_0000,
            0x40_1000,
            0x7ff0_0010,
            0x7fff_0000 - 16,
            0x9000,
            0x1000,
        ];
        for (i, w) in header.into_iter().enumerate() {
            assert_eq!(word(&page, params + 8 * i), w, "header word {i}");
        }
        // The map: the addresses as given, no auxv, the exe fd in the upper half.
        assert_eq!(word(&page, params + 64), 1);
        assert_eq!(word(&page, params + 64 + 8 * 11), 0);
        assert_eq!(word(&page, params + 64 + 8 * 12), 7 << 32);
        let ranges = params + PARAMS_HEADER;
        assert_eq!(word(&page, ranges), 0x1000);
        assert_eq!(word(&page, ranges + 24), 0x6000);
        // Nothing after the last range.
        assert_eq!(page[ranges + 32], 0xaa);
        // A page too short for them is refused.
        assert!(!write(&mut page[..ranges + 16], &p));
    }
}
