//! What the parent sends the loader stub, and what the stub answers: plain `repr(C)` records
//! of integers, with no padding the compiler could add (every gap is a named field), so that
//! both sides read the same bytes.
//!
//! Two programs use this file: the library (which writes a payload) and the stub (which reads
//! it), compiled on its own without std. So it uses `core` only.
//!
//! # The payload
//! A [`Header`], then sections it locates by [`Span`] (each 8-byte aligned): the segments to
//! map, the holes to give back, the relocations of the stack image, the stack image itself
//! and, for a program run from memory, the program's bytes.
//!
//! # Addresses
//! The parent plans the load at addresses of its choosing; the stub, in a fresh address space
//! the parent cannot see, reserves the three regions (program, interpreter, stack) where it
//! can and moves whatever must move. Every address in the payload therefore names its
//! [`base`]: the stub adds (where the base went) - (where it was planned) to it.
//!
//! # The answer
//! Nothing, when the program starts (the stub closes its end of the socket right before the
//! jump); one [`Failure`] when it cannot, after which the stub exits with status 127.

// Each side uses the part it writes or reads.
#![allow(dead_code)]

/// The first word of a payload ("FXSTUB01").
pub const MAGIC: u64 = u64::from_le_bytes(*b"FXSTUB01");
/// The largest payload the stub accepts (a program from memory is part of it).
pub const MAX_PAYLOAD: u64 = 2 << 30;

/// What an address is relative to.
pub mod base {
    /// A fixed address: not moved.
    pub const ABSOLUTE: u32 = 0;
    /// The program's region.
    pub const PROGRAM: u32 = 1;
    /// The interpreter's region.
    pub const INTERPRETER: u32 = 2;
    /// The stack's region.
    pub const STACK: u32 = 3;
    /// The vDSO (the parent's address is planned; the stub's own is where it goes).
    pub const VDSO: u32 = 4;
    /// How many bases there are.
    pub const COUNT: usize = 5;
}

/// Where a region may go in the stub's address space.
pub mod placement {
    /// Exactly at the planned address, or not at all (EEXIST): an ET_EXEC image.
    pub const EXACT: u32 = 0;
    /// At the planned address if it is free, else where mmap chooses (aligned): a PIE.
    pub const PREFERRED: u32 = 1;
    /// Where mmap chooses (aligned): an interpreter, a static PIE.
    pub const ANYWHERE: u32 = 2;
    /// Below the stub's own stack, `stack_random` bytes lower still, else where mmap
    /// chooses: the new stack, in the gap the kernel keeps below a stack for it to grow.
    pub const BELOW_STACK: u32 = 3;
}

/// Region indexes.
pub mod region {
    /// The program.
    pub const PROGRAM: usize = 0;
    /// Its interpreter (length 0 when there is none).
    pub const INTERPRETER: usize = 1;
    /// The stack.
    pub const STACK: usize = 2;
    /// How many regions there are.
    pub const COUNT: usize = 3;
}

/// An address and what it is relative to.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Addr {
    /// The address as planned.
    pub value: u64,
    /// A [`base`] constant.
    pub base: u32,
    /// Zero.
    pub reserved: u32,
}

/// A part of the payload: offset from its start, and count (of records, or of bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Span {
    /// Offset from the start of the payload.
    pub offset: u64,
    /// Number of records (bytes for byte sections).
    pub count: u64,
}

/// A range of address space the stub reserves (PROT_NONE) before filling it.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Region {
    /// Its first address as planned.
    pub planned: u64,
    /// Its length, a whole number of pages (0: no such region).
    pub len: u64,
    /// The alignment of its start when mmap chooses it.
    pub align: u64,
    /// A [`placement`] constant.
    pub placement: u32,
    /// Zero.
    pub reserved: u32,
}

/// One PT_LOAD to map inside a region (offsets from the region's start).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Segment {
    /// The [`region`] it is in.
    pub region: u32,
    /// The open file its pages come from, or -1 for the program's bytes in the payload.
    pub fd: i32,
    /// Where the mapping starts in the region.
    pub offset: u64,
    /// Its length, whole pages (file part and bss).
    pub len: u64,
    /// How many of those bytes (whole pages) hold the file's bytes.
    pub file_pages: u64,
    /// The file offset of the first of them.
    pub file_offset: u64,
    /// Bytes of the file that appear from the start (for a copy from the payload).
    pub file_len: u64,
    /// Bytes zeroed right after `file_len` (the bss part of the last file page).
    pub zero_len: u64,
    /// Protection of the file pages (PROT_* bits).
    pub prot: u32,
    /// Protection of the bss pages after them.
    pub bss_prot: u32,
    /// The program header's index, for messages.
    pub index: u32,
    /// Zero.
    pub reserved: u32,
}

/// A part of a region to give back once it is filled (between segments, below the stack).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Hole {
    /// The [`region`] it is in.
    pub region: u32,
    /// Zero.
    pub reserved: u32,
    /// Offset in the region.
    pub offset: u64,
    /// Length.
    pub len: u64,
}

/// A word of the stack image holding an address that moves with a [`base`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reloc {
    /// Offset of the word in the stack image.
    pub offset: u64,
    /// A [`base`] constant.
    pub base: u32,
    /// Zero.
    pub reserved: u32,
}

/// The fields of `struct prctl_mm_map` that are addresses, in the kernel's order.
pub const MM_ADDRESSES: usize = 11;

/// The start of a payload.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Header {
    /// [`MAGIC`].
    pub magic: u64,
    /// Bytes of the whole payload, this header included.
    pub total: u64,
    /// The program, the interpreter and the stack ([`region`] order).
    pub regions: [Region; region::COUNT],
    /// [`Segment`] records.
    pub segments: Span,
    /// [`Hole`] records.
    pub holes: Span,
    /// [`Reloc`] records.
    pub relocs: Span,
    /// The initial stack's bytes, from rsp to the top of the stack region.
    pub stack_image: Span,
    /// The program's bytes, for segments with fd -1.
    pub program: Span,
    /// The part of the stack region mapped at first: offset and length.
    pub stack_mapping: Span,
    /// Bytes between the stub's stack and the new one (a random number of pages).
    pub stack_random: u64,
    /// PROT_EXEC when the program asks for an executable stack, else 0.
    pub stack_prot_extra: u32,
    /// The open file that becomes /proc/PID/exe, or -1.
    pub exe_fd: i32,
    /// rsp at entry.
    pub rsp: Addr,
    /// The first instruction.
    pub entry: Addr,
    /// start_code ... env_end for PR_SET_MM_MAP.
    pub mm: [Addr; MM_ADDRESSES],
    /// Offset of the auxv in the stack image, and its length in words (AT_NULL included).
    pub auxv: Span,
    /// The parent's vDSO (0: none): where the VDSO base was planned.
    pub vdso: u64,
    /// The vDSO and vvar pages, as offsets from the vDSO: kept.
    pub vdso_keep_start: i64,
    /// One past their end, from the vDSO.
    pub vdso_keep_end: i64,
    /// The vDSO's exit sequence as an offset from the vDSO (u64::MAX: none).
    pub exit_offset: u64,
    /// Whether `leave` follows its `syscall`.
    pub exit_leave: u32,
    /// Zero.
    pub reserved: u32,
    /// Open files the stub closes before the jump (-1: none).
    pub close: [i32; 4],
    /// The thread name (NUL terminated).
    pub comm: [u8; 16],
}

/// Which step of the stub failed.
pub mod step {
    /// Reading the payload.
    pub const RECEIVE: u32 = 1;
    /// The payload is not one this stub reads.
    pub const FORMAT: u32 = 2;
    /// Reserving a region (detail: the [`super::region`]).
    pub const RESERVE: u32 = 3;
    /// Mapping a segment (detail: the index of the [`super::Segment`] record, and in the
    /// upper 32 bits a [`super::segment_action`] constant).
    pub const SEGMENT: u32 = 4;
    /// Mapping the stack.
    pub const STACK: u32 = 5;
    /// Making the trampoline's page.
    pub const TRAMPOLINE: u32 = 6;
}

/// What was being done to a segment when it failed.
pub mod segment_action {
    /// Mapping its file pages (from the file, or fresh pages for a copy).
    pub const MAP: u64 = 1;
    /// Zeroing the bss part of its last file page.
    pub const ZERO: u64 = 2;
    /// Setting its protection.
    pub const PROTECT: u64 = 3;
    /// Mapping its bss pages.
    pub const MAP_BSS: u64 = 4;
}

/// The stub's answer when it cannot start the program.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Failure {
    /// The errno.
    pub errno: i32,
    /// A [`step`] constant.
    pub step: u32,
    /// Which one (see [`step`]).
    pub detail: u64,
}
