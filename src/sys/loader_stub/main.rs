//! The loader stub: the program a userland spawn execs instead of the program itself, to get an
//! address space of its own, and then loads the program into.
//!
//! A vfork-class child shares its parent's memory, so it cannot load a program in place: that
//! would replace the parent's address space too. It execs this stub instead (from a memfd the
//! library writes once per process, see `mod.rs`), which the kernel starts in a fresh address
//! space holding only the stub, its stack and the vDSO. The stub reads the load the parent
//! planned from a socket (its fd number is argv[1]), carries it out, and leaves through the
//! same trampoline as an in-place load, which unmaps the stub and starts the program.
//!
//! Everything that can be planned was planned by the parent (allocating, with the file's
//! checks and errnos). What the stub learns only here is where things are in its own address
//! space: it reserves the program, interpreter and stack regions (at the planned addresses
//! when it can), moves the addresses in the stack image and the layout by where the regions
//! went ([`wire::Reloc`]), and takes the values the kernel computed for this process from its
//! own auxv (ids, AT_SECURE, the vDSO). A failure is sent back as a [`wire::Failure`] and the
//! stub exits with 127; the parent reports it as `failed to load ...` with the errno.
//!
//! Built by the library's build script with `rustc` alone: no std, no C library, a static PIE
//! with no relocations to apply (the build checks), so nothing here may panic (no indexing
//! that can fail: the panic machinery would need relocations).

#![no_std]
#![no_main]

#[path = "../trampoline.rs"]
mod trampoline;
// Shared with the library, which writes what this program reads.
mod wire;

use core::arch::{asm, global_asm};
use core::mem::size_of;
use wire::{base, placement, region, segment_action, step, Failure, Header, Hole, Reloc, Segment};

const PAGE: u64 = 4096;
/// The top of a 64-bit x86 process's address space (47-bit, 4-level paging).
const TASK_SIZE: u64 = 0x7fff_ffff_f000;
/// How far below its strings the kernel maps a new stack (setup_arg_pages' stack_expand):
/// the stub's own stack reaches this low.
const STACK_EXPAND: u64 = 128 << 10;
/// Room left between the stub's stack and the new one.
const STACK_SEPARATION: u64 = 1 << 20;

mod nr {
    pub const READ: usize = 0;
    pub const CLOSE: usize = 3;
    pub const MMAP: usize = 9;
    pub const MPROTECT: usize = 10;
    pub const MUNMAP: usize = 11;
    pub const SENDTO: usize = 44;
    pub const PRCTL: usize = 157;
    pub const EXIT_GROUP: usize = 231;
}

const PROT_NONE: usize = 0;
const PROT_READ: usize = 1;
const PROT_WRITE: usize = 2;
const PROT_EXEC: usize = 4;
const MAP_PRIVATE: usize = 0x02;
const MAP_FIXED: usize = 0x10;
const MAP_ANONYMOUS: usize = 0x20;
const MAP_GROWSDOWN: usize = 0x100;
const MAP_NORESERVE: usize = 0x4000;
const MAP_STACK: usize = 0x20000;
const MAP_FIXED_NOREPLACE: usize = 0x10_0000;
const PR_SET_NAME: usize = 15;
const PR_SET_MM: usize = 35;
const PR_SET_MM_MAP: usize = 14;
const MSG_NOSIGNAL: usize = 0x4000;
const EINTR: i32 = 4;
const EIO: i32 = 5;
const EEXIST: i32 = 17;
const EPROTO: i32 = 71;

/// auxv entries the kernel computed for this process at the stub's exec, which the program's
/// exec would have computed the same way: the ids and AT_SECURE (after the child sequence's
/// credential steps), and the machine's values.
const OWN_AUX: [u64; 12] = [
    6,  // AT_PAGESZ
    11, // AT_UID
    12, // AT_EUID
    13, // AT_GID
    14, // AT_EGID
    16, // AT_HWCAP
    17, // AT_CLKTCK
    23, // AT_SECURE
    26, // AT_HWCAP2
    27, // AT_RSEQ_FEATURE_SIZE
    28, // AT_RSEQ_ALIGN
    51, // AT_MINSIGSTKSZ
];
const AT_SYSINFO_EHDR: u64 = 33;

// The entry point: the kernel's initial stack pointer goes to `start` as its argument.
global_asm!(
    ".globl _start",
    "_start:",
    "xor ebp, ebp",
    "mov rdi, rsp",
    "and rsp, -16",
    "call {start}",
    "ud2",
    start = sym start,
);

/// A system call: the value, or the errno.
///
/// # Safety
/// The call's own contract (valid pointers and lengths).
unsafe fn syscall(n: usize, a: [usize; 6]) -> Result<usize, i32> {
    let ret: isize;
    // SAFETY: `syscall` clobbers rcx and r11 and returns in rax; memory effects are the
    // caller's contract.
    unsafe {
        asm!(
            "syscall",
            inlateout("rax") n as isize => ret,
            in("rdi") a[0], in("rsi") a[1], in("rdx") a[2],
            in("r10") a[3], in("r8") a[4], in("r9") a[5],
            lateout("rcx") _, lateout("r11") _,
            options(nostack)
        );
    }
    if (-4095..0).contains(&ret) {
        Err(-ret as i32)
    } else {
        Ok(ret as usize)
    }
}

fn exit(status: usize) -> ! {
    loop {
        // SAFETY: exit_group takes no pointer.
        let _ = unsafe { syscall(nr::EXIT_GROUP, [status, 0, 0, 0, 0, 0]) };
    }
}

fn close(fd: i32) {
    // SAFETY: close takes no pointer.
    let _ = unsafe { syscall(nr::CLOSE, [fd as usize, 0, 0, 0, 0, 0]) };
}

fn mmap(addr: u64, len: u64, prot: usize, flags: usize, fd: i32, off: u64) -> Result<u64, i32> {
    // SAFETY: the stub maps only where nothing of its own lives: fresh memory (no hint or
    // MAP_FIXED_NOREPLACE), or with MAP_FIXED inside a region it reserved.
    let r = unsafe {
        syscall(
            nr::MMAP,
            [
                addr as usize,
                len as usize,
                prot,
                flags,
                fd as usize,
                off as usize,
            ],
        )
    };
    r.map(|a| a as u64)
}

fn mprotect(addr: u64, len: u64, prot: u32) -> Result<(), i32> {
    // SAFETY: only regions the stub reserved, which hold nothing it uses.
    unsafe {
        syscall(
            nr::MPROTECT,
            [addr as usize, len as usize, prot as usize, 0, 0, 0],
        )
    }
    .map(drop)
}

fn munmap(addr: u64, len: u64) {
    // SAFETY: only ranges the stub reserved and gives back.
    let _ = unsafe { syscall(nr::MUNMAP, [addr as usize, len as usize, 0, 0, 0, 0]) };
}

/// `memcpy`, `memset` and `memmove`: the compiler calls them for copies and loops, and there
/// is no C library to provide them. `rep movsb` and `rep stosb` (which the compiler does not
/// turn back into calls).
///
/// # Safety
/// As the C functions.
#[no_mangle]
pub unsafe extern "C" fn memcpy(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    // SAFETY: the caller's contract: n bytes readable at src, writable at dst.
    unsafe {
        asm!("rep movsb", inout("rcx") n => _, inout("rdi") dst => _, inout("rsi") src => _,
             options(nostack, preserves_flags));
    }
    dst
}

/// See [`memcpy`].
///
/// # Safety
/// As the C function.
#[no_mangle]
pub unsafe extern "C" fn memmove(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    if (dst as usize) <= (src as usize) || (dst as usize) >= (src as usize).wrapping_add(n) {
        // SAFETY: copying upwards reads each byte before it is overwritten.
        return unsafe { memcpy(dst, src, n) };
    }
    // SAFETY: the caller's contract; with the direction flag set `rep movsb` copies
    // downwards from the last byte, so an overlapping tail is read before it is overwritten.
    unsafe {
        asm!("std", "rep movsb", "cld",
             inout("rcx") n => _, inout("rdi") dst.add(n - 1) => _, inout("rsi") src.add(n - 1) => _,
             options(nostack));
    }
    dst
}

/// See [`memcpy`].
///
/// # Safety
/// As the C function.
#[no_mangle]
pub unsafe extern "C" fn memset(dst: *mut u8, c: i32, n: usize) -> *mut u8 {
    // SAFETY: the caller's contract: n bytes writable at dst.
    unsafe {
        asm!("rep stosb", inout("rcx") n => _, inout("rdi") dst => _, in("al") c as u8,
             options(nostack, preserves_flags));
    }
    dst
}

/// Named by the precompiled `core` (built to unwind); never called with `panic=abort`.
#[no_mangle]
pub extern "C" fn rust_eh_personality() {}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    exit(127)
}

/// What the kernel put on the stub's initial stack.
struct Initial {
    /// The stack pointer at entry.
    sp: u64,
    argv: *const u64,
    argc: u64,
    auxv: *const [u64; 2],
}

impl Initial {
    /// # Safety
    /// `sp` is the initial stack pointer the kernel gave the program.
    unsafe fn read(sp: *const u64) -> Initial {
        // SAFETY: argc, argv[argc + 1], envp up to NULL, then the auxv: the kernel's layout.
        unsafe {
            let argc = *sp;
            let argv = sp.add(1);
            let mut p = argv.add(argc as usize + 1);
            while *p != 0 {
                p = p.add(1);
            }
            Initial {
                sp: sp as u64,
                argv,
                argc,
                auxv: p.add(1).cast(),
            }
        }
    }

    /// The socket's fd: argv[1], in decimal.
    fn socket(&self) -> Option<i32> {
        if self.argc < 2 {
            return None;
        }
        // SAFETY: argv[1] exists (argc >= 2) and is a NUL-terminated string.
        let mut p = unsafe { *self.argv.add(1) } as *const u8;
        let mut fd: i32 = 0;
        loop {
            // SAFETY: reading up to the string's NUL.
            let c = unsafe { *p };
            match c {
                0 => return Some(fd),
                b'0'..=b'9' => fd = fd.checked_mul(10)?.checked_add(i32::from(c - b'0'))?,
                _ => return None,
            }
            // SAFETY: c was not the NUL, so the string goes on.
            p = unsafe { p.add(1) };
        }
    }

    /// The value of auxv entry `key`.
    fn aux(&self, key: u64) -> Option<u64> {
        let mut p = self.auxv;
        loop {
            // SAFETY: the auxv ends with an AT_NULL pair.
            let [k, v] = unsafe { *p };
            if k == 0 {
                return None;
            }
            if k == key {
                return Some(v);
            }
            // SAFETY: not the last pair.
            p = unsafe { p.add(1) };
        }
    }
}

fn fail(step: u32, detail: u64) -> impl Fn(i32) -> Failure {
    move |errno| Failure {
        errno,
        step,
        detail,
    }
}

/// Reads exactly `len` bytes into `buf`.
fn read_exact(fd: i32, buf: u64, len: u64) -> Result<(), i32> {
    let mut done = 0;
    while done < len {
        // SAFETY: buf..buf+len is memory the stub mapped (or its own stack array) for this.
        let r = unsafe {
            syscall(
                nr::READ,
                [
                    fd as usize,
                    (buf + done) as usize,
                    (len - done) as usize,
                    0,
                    0,
                    0,
                ],
            )
        };
        match r {
            Ok(0) => return Err(EIO),
            Ok(n) => done += n as u64,
            Err(EINTR) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The payload, in memory the stub mapped.
struct Payload {
    addr: u64,
    header: Header,
}

impl Payload {
    fn receive(sock: i32) -> Result<Payload, Failure> {
        let head_len = size_of::<Header>() as u64;
        let mut head = Header::default();
        let receiving = fail(step::RECEIVE, 0);
        read_exact(sock, &mut head as *mut Header as u64, head_len).map_err(&receiving)?;
        if head.magic != wire::MAGIC || head.total < head_len || head.total > wire::MAX_PAYLOAD {
            return Err(fail(step::FORMAT, 0)(EPROTO));
        }
        let flags = MAP_PRIVATE | MAP_ANONYMOUS;
        let addr = mmap(0, head.total, PROT_READ | PROT_WRITE, flags, -1, 0).map_err(&receiving)?;
        // SAFETY: the mapping has room for the whole payload, the header first.
        unsafe { core::ptr::write(addr as *mut Header, head) };
        read_exact(sock, addr + head_len, head.total - head_len).map_err(&receiving)?;
        Ok(Payload { addr, header: head })
    }

    /// The records of `span`, or None if they are not inside the payload.
    fn records<T>(&self, span: wire::Span) -> Option<&[T]> {
        let bytes = span.count.checked_mul(size_of::<T>() as u64)?;
        let end = span.offset.checked_add(bytes)?;
        if end > self.header.total || span.offset % 8 != 0 {
            return None;
        }
        // SAFETY: the records lie inside the mapped payload, 8-byte aligned (the mapping is
        // page aligned), and every record type is plain integers, valid for any bytes.
        Some(unsafe {
            core::slice::from_raw_parts((self.addr + span.offset) as *const T, span.count as usize)
        })
    }

    /// The address of the bytes of `span`, or None if they are not inside the payload.
    fn bytes(&self, span: wire::Span) -> Option<u64> {
        let end = span.offset.checked_add(span.count)?;
        (end <= self.header.total).then_some(self.addr + span.offset)
    }
}

/// Reserves `len` bytes (PROT_NONE) where mmap chooses, with the start aligned to `align`.
fn reserve_anywhere(len: u64, align: u64) -> Result<u64, i32> {
    let align = align.max(PAGE);
    let total = len.checked_add(align - PAGE).ok_or(EIO)?;
    let flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
    let start = mmap(0, total, PROT_NONE, flags, -1, 0)?;
    let aligned = start.wrapping_add(align - 1) & !(align - 1);
    munmap(start, aligned - start);
    let tail = start + total - (aligned + len);
    if tail > 0 {
        munmap(aligned + len, tail);
    }
    Ok(aligned)
}

/// Reserves `len` bytes exactly at `addr`; EEXIST when anything is mapped there.
fn reserve_at(addr: u64, len: u64) -> Result<u64, i32> {
    let flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE;
    let got = mmap(addr, len, PROT_NONE, flags, -1, 0)?;
    if got != addr {
        // Before Linux 4.17 the flag is unknown and the address only a hint.
        munmap(got, len);
        return Err(EEXIST);
    }
    Ok(got)
}

/// Reserves region `r` by its placement; `stack_top` is where a stack placed below the stub's
/// own would end.
fn reserve(r: &wire::Region, stack_top: u64) -> Result<u64, i32> {
    if r.len == 0 {
        return Ok(r.planned);
    }
    match r.placement {
        placement::EXACT => reserve_at(r.planned, r.len),
        placement::PREFERRED => {
            reserve_at(r.planned, r.len).or_else(|_| reserve_anywhere(r.len, r.align))
        }
        placement::BELOW_STACK => stack_top
            .checked_sub(r.len)
            .ok_or(EEXIST)
            .and_then(|bottom| reserve_at(bottom, r.len))
            .or_else(|_| reserve_anywhere(r.len, r.align)),
        _ => reserve_anywhere(r.len, r.align),
    }
}

/// Maps one segment at `start` (its region's base plus its offset), as the kernel maps a
/// PT_LOAD: the file's pages private (or fresh pages with the payload's bytes copied in), the
/// bss part of the last file page zeroed, then anonymous pages for the rest of the bss.
fn map_segment(s: &Segment, start: u64, program: Option<u64>) -> Result<(), (u64, i32)> {
    let file_pages = s.file_pages.min(s.len);
    let fixed = MAP_PRIVATE | MAP_FIXED;
    if file_pages > 0 {
        let writable_for_zero = if s.zero_len > 0 { PROT_WRITE } else { 0 };
        if s.fd >= 0 {
            let prot = s.prot as usize | writable_for_zero;
            mmap(start, file_pages, prot, fixed, s.fd, s.file_offset)
                .map_err(|e| (segment_action::MAP, e))?;
        } else {
            let from = program.ok_or((segment_action::MAP, EIO))?;
            mmap(
                start,
                file_pages,
                PROT_READ | PROT_WRITE,
                fixed | MAP_ANONYMOUS,
                -1,
                0,
            )
            .map_err(|e| (segment_action::MAP, e))?;
            // SAFETY: the source lies inside the payload (checked by the caller against the
            // program section); the destination is the fresh pages just mapped, file_len <=
            // file_pages bytes.
            unsafe {
                memcpy(
                    start as *mut u8,
                    (from + s.file_offset) as *const u8,
                    s.file_len as usize,
                )
            };
        }
        if s.zero_len > 0 {
            // SAFETY: inside the pages just mapped writable.
            unsafe { memset((start + s.file_len) as *mut u8, 0, s.zero_len as usize) };
        }
        if s.fd < 0 || s.zero_len > 0 {
            mprotect(start, file_pages, s.prot).map_err(|e| (segment_action::PROTECT, e))?;
        }
    }
    if s.len > file_pages {
        let (bss, len) = (start + file_pages, s.len - file_pages);
        mmap(
            bss,
            len,
            PROT_READ | PROT_WRITE,
            fixed | MAP_ANONYMOUS,
            -1,
            0,
        )
        .map_err(|e| (segment_action::MAP_BSS, e))?;
        mprotect(bss, len, s.bss_prot).map_err(|e| (segment_action::PROTECT, e))?;
    }
    Ok(())
}

/// Every range of the address space outside `keep` (address, length pairs), in order, into
/// `out`; returns how many. (A handful of ranges: each step takes the lowest one not yet
/// passed, without sorting.)
fn outside(keep: &[(u64, u64)], out: &mut [(usize, usize)]) -> usize {
    let mut n = 0;
    let mut push = |from: u64, to: u64| {
        if let Some(slot) = out.get_mut(n) {
            *slot = (from as usize, (to - from) as usize);
            n += 1;
        }
    };
    let mut cursor = 0u64;
    loop {
        let next = keep
            .iter()
            .map(|&(start, len)| (start, start.saturating_add(len)))
            .filter(|&(_, end)| end > cursor)
            .min();
        let Some((start, end)) = next else { break };
        if start > cursor {
            push(cursor, start);
        }
        cursor = end;
    }
    if cursor < TASK_SIZE {
        push(cursor, TASK_SIZE);
    }
    n
}

/// Carries the load out. Returns only on failure.
fn run(initial: &Initial, sock: i32) -> Failure {
    let payload = match Payload::receive(sock) {
        Ok(p) => p,
        Err(f) => return f,
    };
    match carry_out(initial, &payload) {
        Err(f) => f,
        Ok(page) => {
            for &fd in &payload.header.close {
                if fd >= 0 {
                    close(fd);
                }
            }
            // The parent reads EOF: the program is starting.
            close(sock);
            // SAFETY: the page holds the trampoline with its parameters; it unmaps this
            // program (nothing of it runs again) and starts the loaded one.
            unsafe { asm!("jmp {}", in(reg) page, options(noreturn)) }
        }
    }
}

/// Everything up to the jump; returns the trampoline's page.
fn carry_out(initial: &Initial, payload: &Payload) -> Result<u64, Failure> {
    let h = &payload.header;
    let bad_format = || fail(step::FORMAT, 0)(EPROTO);
    // Where each region goes, and by how much each base moved.
    let stack_top = (initial.sp & !(PAGE - 1))
        .saturating_sub(STACK_EXPAND + STACK_SEPARATION)
        .saturating_sub(h.stack_random);
    let mut actual = [0u64; region::COUNT];
    for ((slot, r), i) in actual.iter_mut().zip(&h.regions).zip(0u64..) {
        *slot = reserve(r, stack_top).map_err(fail(step::RESERVE, i))?;
    }
    let [program, interpreter, stack] = actual;
    let [p, i, s] = &h.regions;
    let own_vdso = initial.aux(AT_SYSINFO_EHDR).filter(|_| h.vdso != 0);
    let mut delta = [0u64; base::COUNT];
    let moved = [
        (base::PROGRAM, program.wrapping_sub(p.planned)),
        (base::INTERPRETER, interpreter.wrapping_sub(i.planned)),
        (base::STACK, stack.wrapping_sub(s.planned)),
        (base::VDSO, own_vdso.map_or(0, |v| v.wrapping_sub(h.vdso))),
    ];
    for (b, d) in moved {
        if let Some(slot) = delta.get_mut(b as usize) {
            *slot = d;
        }
    }
    let moved_by = |b: u32| delta.get(b as usize).copied().unwrap_or(0);
    let resolve = |a: wire::Addr| a.value.wrapping_add(moved_by(a.base));

    // The stack image: addresses moved, the kernel's values for this process taken over.
    let image_len = h.stack_image.count;
    let image = payload.bytes(h.stack_image).ok_or_else(bad_format)?;
    for r in payload.records::<Reloc>(h.relocs).ok_or_else(bad_format)? {
        if r.offset.checked_add(8).is_some_and(|e| e <= image_len) {
            let word = (image + r.offset) as *mut u64;
            // SAFETY: inside the image (checked), in the payload's writable mapping.
            unsafe { word.write_unaligned(word.read_unaligned().wrapping_add(moved_by(r.base))) };
        }
    }
    let aux_end = h
        .auxv
        .offset
        .checked_add(h.auxv.count.checked_mul(8).ok_or_else(bad_format)?);
    if aux_end.map_or(true, |e| e > image_len) {
        return Err(bad_format());
    }
    for k in 0..h.auxv.count / 2 {
        let pair = (image + h.auxv.offset + 16 * k) as *mut u64;
        // SAFETY: inside the image's auxv (checked above).
        let key = unsafe { pair.read_unaligned() };
        if let Some(v) = OWN_AUX.contains(&key).then(|| initial.aux(key)).flatten() {
            // SAFETY: as above, the pair's value word.
            unsafe { pair.add(1).write_unaligned(v) };
        }
    }

    // The segments, each inside its region.
    let program_bytes = match h.program.count {
        0 => None,
        _ => Some(payload.bytes(h.program).ok_or_else(bad_format)?),
    };
    let segments = payload
        .records::<Segment>(h.segments)
        .ok_or_else(bad_format)?;
    for (s, n) in segments.iter().zip(0u64..) {
        let from_payload = s.fd < 0;
        let in_program = s
            .file_offset
            .checked_add(s.file_len)
            .is_some_and(|e| e <= h.program.count);
        if from_payload && !in_program {
            return Err(bad_format());
        }
        let start = actual.get(s.region as usize).ok_or_else(bad_format)? + s.offset;
        map_segment(s, start, program_bytes).map_err(|(action, e)| Failure {
            errno: e,
            step: step::SEGMENT,
            detail: n | action << 32,
        })?;
    }

    // The stack: mapped growing down as the kernel maps it, the image at its top.
    let top = stack + s.len;
    let mapping = stack + h.stack_mapping.offset;
    let flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_GROWSDOWN | MAP_STACK;
    let prot = PROT_READ | PROT_WRITE | h.stack_prot_extra as usize;
    let stacking = fail(step::STACK, 0);
    let mapping_end = h.stack_mapping.offset.saturating_add(h.stack_mapping.count);
    if image_len > h.stack_mapping.count || mapping_end > s.len {
        return Err(bad_format());
    }
    mmap(mapping, h.stack_mapping.count, prot, flags, -1, 0).map_err(&stacking)?;
    // SAFETY: the image fits the top of the mapping just made (checked above).
    unsafe {
        memcpy(
            (top - image_len) as *mut u8,
            image as *const u8,
            image_len as usize,
        )
    };

    // The trampoline's page, before holes are given back (mmap could choose one).
    let making_trampoline = fail(step::TRAMPOLINE, 0);
    let page_len = trampoline::PAGE_BYTES as u64;
    let page = mmap(
        0,
        page_len,
        PROT_READ | PROT_WRITE,
        MAP_PRIVATE | MAP_ANONYMOUS,
        -1,
        0,
    )
    .map_err(&making_trampoline)?;
    for hole in payload.records::<Hole>(h.holes).ok_or_else(bad_format)? {
        if let Some(start) = actual.get(hole.region as usize) {
            munmap(start + hole.offset, hole.len);
        }
    }

    // The thread name and the layout (/proc/PID/cmdline, environ, auxv, stat, brk).
    // SAFETY: a NUL-terminated name of 16 bytes.
    let _ = unsafe {
        syscall(
            nr::PRCTL,
            [PR_SET_NAME, h.comm.as_ptr() as usize, 0, 0, 0, 0],
        )
    };
    let rsp = resolve(h.rsp);
    let mut mm = [0u64; trampoline::MM_MAP_WORDS];
    for (word, a) in mm.iter_mut().zip(h.mm) {
        *word = resolve(a);
    }
    let keep_exe = 0xffff_ffffu64 << 32;
    mm[11] = rsp + h.auxv.offset;
    mm[12] = h.auxv.count * 8 | keep_exe;
    // SAFETY: a prctl_mm_map on this stack, and an auxv inside the new stack.
    let set = |m: &[u64; 13]| unsafe {
        syscall(
            nr::PRCTL,
            [PR_SET_MM, PR_SET_MM_MAP, m.as_ptr() as usize, 104, 0, 0],
        )
    };
    if set(&mm).is_err() {
        // An auxv larger than the kernel keeps: without it.
        mm[11] = 0;
        mm[12] = keep_exe;
        let _ = set(&mm);
    }

    // Everything else goes: the stub, its stack and the payload.
    let mut keep = [(0u64, 0u64); 5];
    let mut kept = 0;
    let vdso_keep = own_vdso.map(|v| {
        let start = v.wrapping_add(h.vdso_keep_start as u64);
        (
            start,
            h.vdso_keep_end.wrapping_sub(h.vdso_keep_start) as u64,
        )
    });
    let ranges = [
        (program, p.len),
        (interpreter, i.len),
        (stack, s.len),
        (page, page_len),
    ];
    for range in ranges.into_iter().chain(vdso_keep) {
        if range.1 > 0 {
            if let Some(slot) = keep.get_mut(kept) {
                *slot = range;
                kept += 1;
            }
        }
    }
    let mut unmap = [(0usize, 0usize); 6];
    let n = outside(keep.get(..kept).unwrap_or_default(), &mut unmap);
    let exit = own_vdso
        .filter(|_| h.exit_offset != u64::MAX)
        .map(|v| ((v + h.exit_offset) as usize, h.exit_leave != 0));
    let params = trampoline::Params {
        unmap: unmap.get(..n).unwrap_or_default(),
        exe_fd: h.exe_fd,
        mm_map: mm,
        rsp: rsp as usize,
        entry: resolve(h.entry) as usize,
        exit,
        page: (page as usize, page_len as usize),
    };
    // SAFETY: the page was just mapped read-write for this, and nothing else refers to it.
    let bytes = unsafe { core::slice::from_raw_parts_mut(page as *mut u8, page_len as usize) };
    if !trampoline::write(bytes, &params) {
        return Err(making_trampoline(EPROTO));
    }
    mprotect(page, page_len, (PROT_READ | PROT_EXEC) as u32).map_err(&making_trampoline)?;
    Ok(page)
}

/// Tells the parent why the program cannot start (MSG_NOSIGNAL: a parent gone is no reason
/// to die of SIGPIPE; the exit status says 127 anyway).
fn answer(sock: i32, f: Failure) {
    // SAFETY: a Failure on this stack, of its size.
    let _ = unsafe {
        syscall(
            nr::SENDTO,
            [
                sock as usize,
                &f as *const Failure as usize,
                size_of::<Failure>(),
                MSG_NOSIGNAL,
                0,
                0,
            ],
        )
    };
}

extern "C" fn start(sp: *const u64) -> ! {
    // SAFETY: `_start` passes the kernel's initial stack pointer.
    let initial = unsafe { Initial::read(sp) };
    let Some(sock) = initial.socket() else {
        exit(127)
    };
    let failure = run(&initial, sock);
    answer(sock, failure);
    exit(127)
}
