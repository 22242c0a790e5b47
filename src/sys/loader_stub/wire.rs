//! What the parent sends the loader stub, and what the stub answers: plain `repr(C)` records
//! of integers, with no padding the compiler could add (every gap is a named field), so that
//! both sides read the same bytes.
//!
//! Two programs use this file: the library (which writes a payload) and the stub (which reads
//! it), compiled on its own without std. So it uses `core` only.
//!
//! # The payload
//! A [`Header`], then sections it locates by [`Span`] (each 8-byte aligned): the segments to
//! map, the holes to give back and, for a program run from memory, the program's bytes. The
//! program's stack is not in it: the kernel built it when it exec'd the stub, whose argv and
//! envp are the program's (see `main.rs`).
//!
//! # Addresses
//! The parent plans the load at addresses of its choosing; the stub, in a fresh address space
//! the parent cannot see, reserves the two regions (program, interpreter) where it can. Every
//! address that follows from them is sent with the [`base`] it moves with: the stub adds
//! (where the region went) - (where it was planned) to it.
//!
//! # The answer
//! Nothing, when the program starts (the stub closes its end of the socket right before the
//! jump); one [`Failure`] when it cannot, after which the stub exits with status 127.

// Each side uses the part it writes or reads.
#![allow(dead_code)]

/// The first word of a payload ("FXSTUB02").
pub const MAGIC: u64 = u64::from_le_bytes(*b"FXSTUB02");
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
}

/// Where a region may go in the stub's address space.
pub mod placement {
    /// Exactly at the planned address, or not at all (EEXIST): an ET_EXEC image.
    pub const EXACT: u32 = 0;
    /// At the planned address if it is free, else where mmap chooses (aligned): a PIE.
    pub const PREFERRED: u32 = 1;
    /// Where mmap chooses (aligned): an interpreter, a static PIE.
    pub const ANYWHERE: u32 = 2;
}

/// Region indexes.
pub mod region {
    /// The program.
    pub const PROGRAM: usize = 0;
    /// Its interpreter (length 0 when there is none).
    pub const INTERPRETER: usize = 1;
    /// How many regions there are.
    pub const COUNT: usize = 2;
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

/// A part of a region to give back once it is filled (between segments).
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

/// The start of a payload.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Header {
    /// [`MAGIC`].
    pub magic: u64,
    /// Bytes of the whole payload, this header included.
    pub total: u64,
    /// The program and the interpreter ([`region`] order).
    pub regions: [Region; region::COUNT],
    /// [`Segment`] records.
    pub segments: Span,
    /// [`Hole`] records.
    pub holes: Span,
    /// The program's bytes, for segments with fd -1.
    pub program: Span,
    /// The first instruction (the interpreter's, when there is one).
    pub entry: Addr,
    /// AT_PHDR: the program's headers in memory.
    pub phdr: Addr,
    /// AT_ENTRY: the program's entry point.
    pub program_entry: Addr,
    /// AT_BASE: the interpreter's load address (0 without one).
    pub interpreter_base: Addr,
    /// AT_PHNUM.
    pub phnum: u64,
    /// start_code, end_code, start_data, end_data, start_brk, brk for PR_SET_MM_MAP (the
    /// stack, argument and environment fields are the kernel's, from the stub's exec).
    pub mm: [Addr; 6],
    /// The parent's vDSO address (0: none), only to tell the offsets below from.
    pub vdso: u64,
    /// The vDSO and vvar pages, as offsets from the vDSO: kept.
    pub vdso_keep_start: i64,
    /// One past their end, from the vDSO.
    pub vdso_keep_end: i64,
    /// The vDSO's exit sequence as an offset from the vDSO (u64::MAX: none).
    pub exit_offset: u64,
    /// Whether `leave` follows its `syscall`.
    pub exit_leave: u32,
    /// 1 when the program asks for an executable stack (PT_GNU_STACK with PF_X).
    pub exec_stack: u32,
    /// The open file that becomes /proc/PID/exe, or -1.
    pub exe_fd: i32,
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
    /// The payload or the stack is not what this stub reads.
    pub const FORMAT: u32 = 2;
    /// Reserving a region (detail: the [`super::region`]).
    pub const RESERVE: u32 = 3;
    /// Mapping a segment (detail: the index of the [`super::Segment`] record, and in the
    /// upper 32 bits a [`super::segment_action`] constant).
    pub const SEGMENT: u32 = 4;
    /// Making the stack executable.
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
