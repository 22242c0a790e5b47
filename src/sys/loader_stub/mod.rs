//! The loader stub, the library's side: the program itself (built by build.rs from
//! `main.rs`, see there for what it does), the memfd it is exec'd from, and the encoding of
//! what the parent sends it ([`wire`]).
//!
//! The stub is written into a memfd once per process and sealed (no write, no resize): a
//! spawn execs that fd (`execveat(fd, "", ..., AT_EMPTY_PATH)`), so no file on disk is
//! needed and nothing can change the stub between spawns. The memfd stays open, close-on-exec,
//! for the life of the process: one fd, like the per-thread cached child stacks. While the
//! stub runs, /proc/PID/exe names it (`/memfd:forkexec-loader (deleted)`); it holds the stub's
//! bytes only, never the program's.

pub mod wire;

use crate::errno::Errno;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::OnceLock;
use wire::{Failure, Header, Hole, Segment, Span};

/// The stub, a static x86-64 program.
const STUB: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/forkexec-loader-stub"));

/// The name of its memfd (what /proc/PID/exe shows while it runs).
pub const MEMFD_NAME: &str = "forkexec-loader";

const fn decimal(s: &str) -> u64 {
    let b = s.as_bytes();
    let mut i = 0;
    let mut n = 0u64;
    while i < b.len() {
        n = n * 10 + (b[i] - b'0') as u64;
        i += 1;
    }
    n
}

/// The addresses the stub's image occupies in the process it runs in (a static program,
/// linked there: a program that wants these addresses cannot be loaded by it).
pub const STUB_RANGE: (u64, u64) = (
    decimal(env!("FORKEXEC_STUB_START")),
    decimal(env!("FORKEXEC_STUB_END")),
);

static STUB_FD: OnceLock<OwnedFd> = OnceLock::new();

/// The memfd holding the stub, created on first use: `memfd_create` (Linux 3.17; with
/// MFD_EXEC where the kernel has it, 6.3, so that `vm.memfd_noexec=1` does not make it
/// unexecutable), the bytes written, then sealed.
pub fn memfd() -> Result<BorrowedFd<'static>, Errno> {
    if let Some(fd) = STUB_FD.get() {
        return Ok(fd.as_fd());
    }
    let fd = create_memfd().map_err(|e| Errno(e.raw_os_error()))?;
    // Another thread may have won the race: its fd is kept, this one closed.
    Ok(STUB_FD.get_or_init(|| fd).as_fd())
}

fn create_memfd() -> rustix::io::Result<OwnedFd> {
    use rustix::fs::{fcntl_add_seals, memfd_create, MemfdFlags, SealFlags};
    let flags = MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING;
    let fd = match memfd_create(MEMFD_NAME, flags | MemfdFlags::EXEC) {
        // Before 6.3 the flag is unknown (and every memfd is executable).
        Err(rustix::io::Errno::INVAL) => memfd_create(MEMFD_NAME, flags)?,
        other => other?,
    };
    let mut rest = STUB;
    while !rest.is_empty() {
        match rustix::io::write(&fd, rest) {
            Ok(n) => rest = &rest[n..],
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e),
        }
    }
    let seals = SealFlags::SEAL | SealFlags::SHRINK | SealFlags::GROW | SealFlags::WRITE;
    fcntl_add_seals(&fd, seals)?;
    Ok(fd)
}

/// A record type of the payload: plain integers and arrays of them, no padding.
///
/// # Safety
/// Implemented only for `repr(C)` types whose every byte belongs to an integer field.
unsafe trait Plain: Copy {}
// SAFETY: each is repr(C) with integer fields ordered so that no padding is needed (every
// gap is an explicit `reserved` field): checked by the size assertions below.
unsafe impl Plain for Header {}
// SAFETY: as above.
unsafe impl Plain for Segment {}
// SAFETY: as above.
unsafe impl Plain for Hole {}
// SAFETY: as above.
unsafe impl Plain for Failure {}
// SAFETY: a byte is plain.
unsafe impl Plain for u8 {}

const _: () = {
    use core::mem::size_of;
    assert!(size_of::<wire::Addr>() == 16);
    assert!(size_of::<Span>() == 16);
    assert!(size_of::<wire::Region>() == 32);
    assert!(size_of::<Segment>() == 72);
    assert!(size_of::<Hole>() == 24);
    assert!(size_of::<Failure>() == 16);
    // magic and total, 2 regions, 3 spans, 4 addresses, phnum, 6 addresses, the vDSO's 4
    // words, four 32-bit fields, 4 fds, the name.
    assert!(size_of::<Header>() == 16 + 64 + 48 + 64 + 8 + 96 + 32 + 16 + 16 + 16);
};

fn bytes_of<T: Plain>(v: &[T]) -> &[u8] {
    // SAFETY: T is plain data without padding (the Plain contract), so every byte of the
    // slice is initialized; u8 has no alignment requirement.
    unsafe { core::slice::from_raw_parts(v.as_ptr().cast(), core::mem::size_of_val(v)) }
}

/// The sections of a payload, besides its header.
pub struct Sections<'a> {
    /// The segments to map.
    pub segments: &'a [Segment],
    /// The holes to give back.
    pub holes: &'a [Hole],
    /// The program's bytes (from memory), or empty.
    pub program: &'a [u8],
}

/// The payload: `header` with its magic, total and section spans filled in, then the
/// sections, each 8-byte aligned.
pub fn encode(mut header: Header, s: &Sections<'_>) -> Vec<u8> {
    let header_len = core::mem::size_of::<Header>();
    let mut out = vec![0u8; header_len];
    let mut place = |bytes: &[u8], count: usize| {
        out.resize(out.len().next_multiple_of(8), 0);
        let span = Span {
            offset: out.len() as u64,
            count: count as u64,
        };
        out.extend_from_slice(bytes);
        span
    };
    header.segments = place(bytes_of(s.segments), s.segments.len());
    header.holes = place(bytes_of(s.holes), s.holes.len());
    header.program = place(s.program, s.program.len());
    header.magic = wire::MAGIC;
    header.total = out.len() as u64;
    out[..header_len].copy_from_slice(bytes_of(&[header]));
    out
}

/// The stub's answer, when it is one.
pub fn decode_failure(bytes: &[u8]) -> Option<Failure> {
    let mut f = Failure::default();
    let dst = &mut f as *mut Failure as *mut u8;
    if bytes.len() != core::mem::size_of::<Failure>() {
        return None;
    }
    // SAFETY: `bytes` holds exactly a Failure's size, and any bytes make a valid Failure
    // (plain integers).
    unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), dst, bytes.len()) };
    Some(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_land_aligned_where_the_header_says() {
        let segments = [Segment {
            index: 7,
            ..Segment::default()
        }];
        let program = [9u8; 5];
        let bytes = encode(
            Header::default(),
            &Sections {
                segments: &segments,
                holes: &[],
                program: &program,
            },
        );
        let mut header = Header::default();
        // SAFETY: the payload starts with a Header (plain integers).
        unsafe {
            core::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                &mut header as *mut Header as *mut u8,
                core::mem::size_of::<Header>(),
            )
        };
        assert_eq!(header.magic, wire::MAGIC);
        assert_eq!(header.total, bytes.len() as u64);
        for span in [header.segments, header.holes, header.program] {
            assert_eq!(span.offset % 8, 0);
        }
        let at = |s: Span, len: usize| &bytes[s.offset as usize..s.offset as usize + len];
        assert_eq!(at(header.program, 5), program);
        assert_eq!(header.segments.count, 1);
        assert_eq!(at(header.segments, 72)[64..68], 7u32.to_ne_bytes());
    }

    #[test]
    fn the_stub_is_a_static_program_at_its_range() {
        assert_eq!(&STUB[..4], b"\x7fELF");
        assert!(STUB_RANGE.0 < STUB_RANGE.1);
        let round_trip = Failure {
            errno: 12,
            step: wire::step::STACK,
            detail: 3,
        };
        assert_eq!(decode_failure(bytes_of(&[round_trip])), Some(round_trip));
        assert_eq!(decode_failure(&[0; 3]), None);
    }
}
