//! The loader stub: the program a userland spawn execs instead of the program itself, to get an
//! address space of its own, and then loads the program into.
//!
//! A vfork-class child shares its parent's memory, so it cannot load a program in place: that
//! would replace the parent's address space too. It execs this stub instead (from a memfd the
//! library writes once per process, see `mod.rs`), with the *program's* argv and envp, plus two
//! strings: the program's AT_EXECFN and the fd of a socket to the parent. So the kernel builds
//! the program's initial stack itself, in a fresh address space holding only the stub: the
//! strings, argv, envp, AT_RANDOM, the ids and AT_SECURE for the credentials the child ended
//! up with, the vDSO, E2BIG if they do not fit. The stub then reads the rest of what the parent
//! planned from the socket, and:
//! 1. reserves the program's and the interpreter's regions (at the planned addresses when it
//!    can: [`wire::placement`]) and maps their segments, from the open files or from the
//!    program's bytes it was sent;
//! 2. makes the kernel's stack the program's: AT_PHDR, AT_PHNUM, AT_ENTRY and AT_BASE name the
//!    program, AT_EXECFN the first extra string, and argc, argv move up 16 bytes over the two
//!    extra pointers (16, so that rsp stays aligned); the extra strings stay unused between the
//!    argv and envp strings, and /proc/PID/cmdline ends before them;
//! 3. names the thread, records the layout (PR_SET_MM_MAP), closes the files and the socket
//!    (the parent reads EOF: started), and leaves through the same trampoline as an in-place
//!    load (`../trampoline.rs`), which unmaps the stub and starts the program.
//!
//! A failure is sent back as a [`wire::Failure`] and the stub exits with 127; the parent
//! reports it as `failed to load ...` with the errno. The stub runs on a stack of its own (in
//! its bss), so the program's stack holds only what the kernel wrote and the two changes above.
//!
//! Built by the library's build script with `rustc` alone: no std, no C library, a static
//! program needing no relocation (the build checks), so nothing here may panic (no indexing
//! that can fail): the panic machinery is not linked.

#![no_std]
#![no_main]

#[path = "../trampoline.rs"]
mod trampoline;
// Shared with the library, which writes what this program reads.
mod wire;

use core::arch::{asm, global_asm};
use core::mem::size_of;
use wire::{base, placement, region, segment_action, step, Failure, Header, Hole, Segment};

const PAGE: u64 = 4096;
/// The top of a 64-bit x86 process's address space (47-bit, 4-level paging).
const TASK_SIZE: u64 = 0x7fff_ffff_f000;
/// How much below the top of the kernel's stack is kept as the program's stack: the whole
/// stack mapping (the kernel keeps mmap at least this far below it: its gap is never under
/// 128 MiB), and nothing of the stub's.
const STACK_KEEP: u64 = 128 << 20;
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
const PROT_GROWSDOWN: usize = 0x0100_0000;
const MAP_PRIVATE: usize = 0x02;
const MAP_FIXED: usize = 0x10;
const MAP_ANONYMOUS: usize = 0x20;
const MAP_NORESERVE: usize = 0x4000;
const MAP_FIXED_NOREPLACE: usize = 0x10_0000;
const PR_SET_NAME: usize = 15;
const PR_SET_MM: usize = 35;
const PR_SET_MM_MAP: usize = 14;
const MSG_NOSIGNAL: usize = 0x4000;
const EINTR: i32 = 4;
const EIO: i32 = 5;
const EEXIST: i32 = 17;
const EPROTO: i32 = 71;

mod at {
    pub const NULL: u64 = 0;
    pub const PHDR: u64 = 3;
    pub const PHNUM: u64 = 5;
    pub const BASE: u64 = 7;
    pub const ENTRY: u64 = 9;
    pub const EXECFN: u64 = 31;
    pub const SYSINFO_EHDR: u64 = 33;
}

/// The stub's scratch memory, in its bss (anonymous memory, not the memfd's pages: see the
/// trampoline below). Its last page holds, from the bottom: the top of the stub's stack (which
/// goes on down into the pages before it), the payload as read (a larger one gets a mapping of
/// its own), and the trampoline. So one page fault serves all three, and the trampoline needs
/// no mapping of its own: that page is made read+execute at the end, and the trampoline's last
/// step unmaps it.
#[repr(C, align(4096))]
struct Scratch {
    deeper_stack: [u8; 8192],
    last: LastPage,
}

/// See [`Scratch`].
#[repr(C)]
struct LastPage {
    stack: [u8; 1536],
    payload: [u8; 1792],
    trampoline: [u8; 768],
}

static mut SCRATCH: Scratch = Scratch {
    deeper_stack: [0; 8192],
    last: LastPage {
        stack: [0; 1536],
        payload: [0; 1792],
        trampoline: [0; 768],
    },
};

const _: () = assert!(size_of::<LastPage>() == PAGE as usize);

// The entry point: the kernel's stack pointer goes to `start` as its argument, and the stub
// runs on its own stack (the top is the start of `SCRATCH.last.payload`), leaving the kernel's
// to the program.
global_asm!(
    ".globl _start",
    "_start:",
    "xor ebp, ebp",
    "mov rdi, rsp",
    "lea rsp, [rip + {scratch} + 8192 + 1536]",
    "call {start}",
    "ud2",
    scratch = sym SCRATCH,
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

/// The length of the NUL-terminated string at `p`.
///
/// # Safety
/// `p` points at a NUL-terminated string.
unsafe fn strlen(p: u64) -> u64 {
    let mut n = 0;
    // SAFETY: the string goes on until its NUL.
    while unsafe { *((p + n) as *const u8) } != 0 {
        n += 1;
    }
    n
}

/// The stack the kernel built at the stub's exec: argc, argv (the program's, then the two
/// extra strings), envp, auxv, all up from `sp`.
struct Initial {
    sp: u64,
    /// argc as the kernel wrote it (the program's argc + 2).
    argc: u64,
    /// The first envp pointer.
    envp: u64,
    /// The first auxv pair.
    auxv: u64,
}

impl Initial {
    /// # Safety
    /// `sp` is the initial stack pointer the kernel gave the program.
    unsafe fn read(sp: u64) -> Initial {
        // SAFETY: argc, argv[argc] and its NULL, envp up to its NULL, then the auxv: the
        // kernel's layout.
        unsafe {
            let argc = *(sp as *const u64);
            let envp = sp + 8 * (argc + 2);
            let mut p = envp;
            while *(p as *const u64) != 0 {
                p += 8;
            }
            Initial {
                sp,
                argc,
                envp,
                auxv: p + 8,
            }
        }
    }

    /// argv[i] (a string address), for i < argc.
    fn arg(&self, i: u64) -> Option<u64> {
        // SAFETY: argv has argc entries after argc.
        (i < self.argc).then(|| unsafe { *((self.sp + 8 + 8 * i) as *const u64) })
    }

    /// The two extra strings: the program's AT_EXECFN (its address), and the socket's fd.
    fn loader_strings(&self) -> Option<(u64, i32)> {
        let execfn = self.arg(self.argc.checked_sub(2)?)?;
        let mut p = self.arg(self.argc - 1)?;
        let mut fd: i32 = 0;
        loop {
            // SAFETY: reading a NUL-terminated argv string.
            let c = unsafe { *(p as *const u8) };
            match c {
                0 => return Some((execfn, fd)),
                b'0'..=b'9' => fd = fd.checked_mul(10)?.checked_add(i32::from(c - b'0'))?,
                _ => return None,
            }
            p += 1;
        }
    }

    /// The address of the value of auxv entry `key`.
    fn aux_slot(&self, key: u64) -> Option<*mut u64> {
        let mut p = self.auxv;
        loop {
            // SAFETY: the auxv ends with an AT_NULL pair.
            let k = unsafe { *(p as *const u64) };
            if k == at::NULL {
                return None;
            }
            if k == key {
                return Some((p + 8) as *mut u64);
            }
            p += 16;
        }
    }

    /// The value of auxv entry `key`.
    fn aux(&self, key: u64) -> Option<u64> {
        // SAFETY: a slot of the auxv.
        self.aux_slot(key).map(|slot| unsafe { *slot })
    }

    /// Words of the auxv, AT_NULL pair included.
    fn auxv_words(&self) -> u64 {
        let mut n = 0;
        // SAFETY: the auxv ends with an AT_NULL pair.
        while unsafe { *((self.auxv + 8 * n) as *const u64) } != at::NULL {
            n += 2;
        }
        n + 2
    }
}

fn fail(step: u32, detail: u64) -> impl Fn(i32) -> Failure {
    move |errno| Failure {
        errno,
        step,
        detail,
    }
}

/// Reads up to `len` bytes into `buf` (at least one: EIO at the end of the stream).
fn read_some(fd: i32, buf: u64, len: u64) -> Result<u64, i32> {
    loop {
        // SAFETY: buf..buf+len is memory the stub owns for this.
        let r = unsafe { syscall(nr::READ, [fd as usize, buf as usize, len as usize, 0, 0, 0]) };
        match r {
            Ok(0) => return Err(EIO),
            Ok(n) => return Ok(n as u64),
            Err(EINTR) => {}
            Err(e) => return Err(e),
        }
    }
}

/// Reads exactly `len` bytes into `buf`.
fn read_exact(fd: i32, buf: u64, len: u64) -> Result<(), i32> {
    let mut done = 0;
    while done < len {
        done += read_some(fd, buf + done, len - done)?;
    }
    Ok(())
}

/// The payload, in the stub's last scratch page or a mapping of its own.
struct Payload {
    addr: u64,
    header: &'static Header,
}

impl Payload {
    fn receive(sock: i32) -> Result<Payload, Failure> {
        let head_len = size_of::<Header>() as u64;
        let receiving = fail(step::RECEIVE, 0);
        // SAFETY: only the address of the buffer is taken; only this code uses it.
        let small = unsafe { core::ptr::addr_of_mut!(SCRATCH.last.payload) };
        let small_len = size_of::<[u8; 1792]>() as u64;
        let buf = small as u64;
        // One read brings the whole payload, usually: the parent sent it before the clone.
        let mut got = 0;
        while got < head_len {
            got += read_some(sock, buf + got, small_len - got).map_err(&receiving)?;
        }
        // SAFETY: the buffer is 8-byte aligned and holds a whole Header (plain integers).
        let total = unsafe { (*(buf as *const Header)).total };
        let magic = unsafe { (*(buf as *const Header)).magic };
        if magic != wire::MAGIC || total < head_len || total > wire::MAX_PAYLOAD {
            return Err(fail(step::FORMAT, 0)(EPROTO));
        }
        let addr = if total <= small_len {
            buf
        } else {
            let flags = MAP_PRIVATE | MAP_ANONYMOUS;
            let big = mmap(0, total, PROT_READ | PROT_WRITE, flags, -1, 0).map_err(&receiving)?;
            // SAFETY: `got` bytes were read into the small buffer; the mapping is fresh.
            unsafe { memcpy(big as *mut u8, buf as *const u8, got as usize) };
            big
        };
        if got > total {
            return Err(fail(step::FORMAT, 0)(EPROTO));
        }
        read_exact(sock, addr + got, total - got).map_err(&receiving)?;
        Ok(Payload {
            addr,
            // SAFETY: the payload starts with its Header, 8-byte aligned; nothing writes to
            // it again.
            header: unsafe { &*(addr as *const Header) },
        })
    }

    /// The records of `span`, or None if they are not inside the payload.
    fn records<T>(&self, span: wire::Span) -> Option<&[T]> {
        let bytes = span.count.checked_mul(size_of::<T>() as u64)?;
        let end = span.offset.checked_add(bytes)?;
        if end > self.header.total || span.offset % 8 != 0 {
            return None;
        }
        // SAFETY: the records lie inside the payload, 8-byte aligned (the buffer is), and
        // every record type is plain integers, valid for any bytes.
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
    if aligned > start {
        munmap(start, aligned - start);
    }
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

/// Reserves region `r` by its placement.
fn reserve(r: &wire::Region) -> Result<u64, i32> {
    if r.len == 0 {
        return Ok(r.planned);
    }
    match r.placement {
        placement::EXACT => reserve_at(r.planned, r.len),
        placement::PREFERRED => {
            reserve_at(r.planned, r.len).or_else(|_| reserve_anywhere(r.len, r.align))
        }
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
            let anonymous = fixed | MAP_ANONYMOUS;
            mmap(start, file_pages, PROT_READ | PROT_WRITE, anonymous, -1, 0)
                .map_err(|e| (segment_action::MAP, e))?;
            // SAFETY: the source lies inside the payload's program bytes (checked by the
            // caller); the destination is the fresh pages just mapped, file_len <= file_pages
            // bytes.
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
        let anonymous = fixed | MAP_ANONYMOUS;
        mmap(bss, len, PROT_READ | PROT_WRITE, anonymous, -1, 0)
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

/// Loads the program and starts it. Returns only on failure.
fn run(initial: &Initial, sock: i32, execfn: u64) -> Failure {
    let payload = match Payload::receive(sock) {
        Ok(p) => p,
        Err(f) => return f,
    };
    let (page, trampoline) = match carry_out(initial, &payload, execfn) {
        Err(f) => return f,
        Ok(t) => t,
    };
    for &fd in &payload.header.close {
        if fd >= 0 {
            close(fd);
        }
    }
    // The parent reads EOF: the program is starting. (A failure after this point is the
    // program's death, which its wait status reports.)
    close(sock);
    // SAFETY: the page holds the trampoline with its parameters; once it is read+execute
    // nothing writes to it, so the jump happens in the same asm block, without a push; the
    // trampoline unmaps this program (nothing of it runs again) and starts the loaded one.
    let errno = unsafe { protect_and_enter(page, trampoline) };
    Failure {
        errno,
        step: step::TRAMPOLINE,
        detail: 0,
    }
}

/// `mprotect(page, PAGE, PROT_READ|PROT_EXEC)`, then a jump to `entry`; returns the errno if
/// the mprotect fails (the page is then still writable, and so is the stack on it).
///
/// # Safety
/// `page` holds the trampoline at `entry`, written with its parameters.
unsafe fn protect_and_enter(page: u64, entry: u64) -> i32 {
    let ret: isize;
    // SAFETY: the caller's contract; nothing between the mprotect and the jump touches memory.
    unsafe {
        asm!(
            "syscall",
            "test rax, rax",
            "jnz 2f",
            "jmp {entry}",
            "2:",
            entry = in(reg) entry,
            inlateout("rax") nr::MPROTECT as isize => ret,
            in("rdi") page,
            in("rsi") PAGE,
            in("rdx") PROT_READ | PROT_EXEC,
            // Not late: `entry` must not be given a register the syscall clobbers.
            out("rcx") _, out("r11") _,
            options(nostack)
        );
    }
    -ret as i32
}

/// Everything up to the jump; returns the trampoline's page and the trampoline's address.
fn carry_out(initial: &Initial, payload: &Payload, execfn: u64) -> Result<(u64, u64), Failure> {
    let h = payload.header;
    let bad_format = || fail(step::FORMAT, 0)(EPROTO);

    // 1. The regions, where they can go, and by how much each base moved.
    let mut actual = [0u64; region::COUNT];
    for ((slot, r), i) in actual.iter_mut().zip(&h.regions).zip(0u64..) {
        *slot = reserve(r).map_err(fail(step::RESERVE, i))?;
    }
    let [program, interpreter] = actual;
    let [p, i] = &h.regions;
    let resolve = |a: wire::Addr| {
        let moved = match a.base {
            base::PROGRAM => program.wrapping_sub(p.planned),
            base::INTERPRETER => interpreter.wrapping_sub(i.planned),
            _ => 0,
        };
        a.value.wrapping_add(moved)
    };

    // The segments, each inside its region, then the holes between them.
    let program_bytes = match h.program.count {
        0 => None,
        _ => Some(payload.bytes(h.program).ok_or_else(bad_format)?),
    };
    let segments = payload
        .records::<Segment>(h.segments)
        .ok_or_else(bad_format)?;
    for (s, n) in segments.iter().zip(0u64..) {
        let in_program = s
            .file_offset
            .checked_add(s.file_len)
            .is_some_and(|e| e <= h.program.count);
        if s.fd < 0 && !in_program {
            return Err(bad_format());
        }
        let start = actual.get(s.region as usize).ok_or_else(bad_format)? + s.offset;
        map_segment(s, start, program_bytes).map_err(|(action, e)| Failure {
            errno: e,
            step: step::SEGMENT,
            detail: n | action << 32,
        })?;
    }
    for hole in payload.records::<Hole>(h.holes).ok_or_else(bad_format)? {
        if let Some(start) = actual.get(hole.region as usize) {
            munmap(start + hole.offset, hole.len);
        }
    }

    // 2. The kernel's stack becomes the program's.
    let page_of_sp = initial.sp & !(PAGE - 1);
    if h.exec_stack != 0 {
        let prot = (PROT_READ | PROT_WRITE | PROT_EXEC | PROT_GROWSDOWN) as u32;
        mprotect(page_of_sp, PAGE, prot).map_err(fail(step::STACK, 0))?;
    }
    // The top of the kernel's stack mapping: its own AT_EXECFN string ("/dev/fd/N") ends 8
    // bytes below it (setup_arg_pages puts an 8-byte end marker above it).
    let kernel_execfn = initial.aux(at::EXECFN).ok_or_else(bad_format)?;
    // SAFETY: the kernel's AT_EXECFN is a NUL-terminated string.
    let stack_top =
        (kernel_execfn + unsafe { strlen(kernel_execfn) } + 1 + 8 + PAGE - 1) & !(PAGE - 1);
    let patches = [
        (at::PHDR, resolve(h.phdr)),
        (at::PHNUM, h.phnum),
        (at::ENTRY, resolve(h.program_entry)),
        (at::BASE, resolve(h.interpreter_base)),
        (at::EXECFN, execfn),
    ];
    for (key, value) in patches {
        let slot = initial.aux_slot(key).ok_or_else(bad_format)?;
        // SAFETY: a value slot of the auxv on the kernel's stack.
        unsafe { *slot = value };
    }
    let argc = initial.argc - 2;
    let arg_start = initial.arg(0).ok_or_else(bad_format)?;
    // argc and argv up by 16 bytes, over the two extra pointers: the argv NULL, envp and auxv
    // stay where the kernel put them. The 16 bytes left below are zeroed.
    let rsp = initial.sp + 16;
    // SAFETY: argc and the argc + 2 argv pointers lie at sp..; moving the first argc + 1
    // words up by two words stays inside them; the overlap is handled by memmove.
    unsafe {
        memmove(
            rsp as *mut u8,
            initial.sp as *const u8,
            8 * (argc as usize + 1),
        );
        *(rsp as *mut u64) = argc;
        memset(initial.sp as *mut u8, 0, 16);
    }

    // 3. The thread name and the layout (/proc/PID/cmdline, environ, auxv, stat, brk).
    // SAFETY: a NUL-terminated name of 16 bytes.
    let _ = unsafe {
        syscall(
            nr::PRCTL,
            [PR_SET_NAME, h.comm.as_ptr() as usize, 0, 0, 0, 0],
        )
    };
    // The envp strings follow the argv strings (the two extra ones last), up to their end.
    // SAFETY: the first envp pointer, or NULL.
    let first_env = unsafe { *(initial.envp as *const u64) };
    let last_env = (initial.auxv - 16).max(initial.envp);
    // SAFETY: the last envp pointer (or the NULL before the auxv), a string address.
    let last_env = unsafe { *(last_env as *const u64) };
    // SAFETY: the socket's fd string: the last argv string.
    let argv_end = initial
        .arg(argc + 1)
        .map(|f| f + unsafe { strlen(f) } + 1)
        .ok_or_else(bad_format)?;
    let (env_start, env_end) = if first_env == 0 {
        (argv_end, argv_end)
    } else {
        // SAFETY: an envp string.
        (first_env, last_env + unsafe { strlen(last_env) } + 1)
    };
    let mut mm = [0u64; trampoline::MM_MAP_WORDS];
    for (word, a) in mm.iter_mut().zip(h.mm) {
        *word = resolve(a);
    }
    mm[6] = rsp; // start_stack
    mm[7] = arg_start;
    mm[8] = execfn; // arg_end: the extra strings are not the program's
    mm[9] = env_start;
    mm[10] = env_end;
    let keep_exe = 0xffff_ffffu64 << 32;
    mm[11] = initial.auxv;
    mm[12] = initial.auxv_words() * 8 | keep_exe;
    // SAFETY: a prctl_mm_map on this stack, and the auxv on the kernel's stack.
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

    // The trampoline, in the last scratch page: everything else goes (the stub, the rest of
    // its bss, a payload mapping), except the program, its stack and the vDSO and vvar pages.
    // SAFETY: only addresses are taken.
    let (page, tramp) = unsafe {
        (
            core::ptr::addr_of_mut!(SCRATCH.last) as u64,
            core::ptr::addr_of_mut!(SCRATCH.last.trampoline),
        )
    };
    let own_vdso = initial.aux(at::SYSINFO_EHDR).filter(|_| h.vdso != 0);
    let vdso_keep = own_vdso.map(|v| {
        let start = v.wrapping_add(h.vdso_keep_start as u64);
        (
            start,
            h.vdso_keep_end.wrapping_sub(h.vdso_keep_start) as u64,
        )
    });
    let stack = (
        stack_top.saturating_sub(STACK_KEEP),
        STACK_KEEP.min(stack_top),
    );
    let ranges = [(program, p.len), (interpreter, i.len), stack, (page, PAGE)];
    let mut keep = [(0u64, 0u64); 5];
    let mut kept = 0;
    for range in ranges.into_iter().chain(vdso_keep) {
        if let Some(slot) = keep.get_mut(kept).filter(|_| range.1 > 0) {
            *slot = range;
            kept += 1;
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
        page: (page as usize, PAGE as usize),
    };
    // SAFETY: the trampoline's part of the scratch page; nothing else refers to it.
    if !trampoline::write(unsafe { &mut *tramp }, &params) {
        return Err(fail(step::TRAMPOLINE, 0)(EPROTO));
    }
    Ok((page, tramp as u64))
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

extern "C" fn start(sp: u64) -> ! {
    // SAFETY: `_start` passes the kernel's initial stack pointer.
    let initial = unsafe { Initial::read(sp) };
    let Some((execfn, sock)) = initial.loader_strings() else {
        exit(127)
    };
    let failure = run(&initial, sock, execfn);
    answer(sock, failure);
    exit(127)
}
