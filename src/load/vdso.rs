//! The vDSO handed to the new program, and the one sequence of its code the loader uses.
//!
//! The kernel maps a fresh vDSO into every new address space and passes its address as
//! AT_SYSINFO_EHDR. A userland exec keeps the current address space, where this process's vDSO
//! (and its vvar pages) stay mapped, so the new program gets the same one: the C library finds
//! clock_gettime and friends there exactly as after a real exec.
//!
//! The loader's trampoline leaves through the vDSO (see `crate::sys::jump`): a kernel built
//! with `-fzero-call-used-regs` ends each system call fallback of the vDSO with `syscall`, a
//! few `xor`s that zero the scratch registers, and `ret`. [`exit_sequence`] finds one that
//! zeroes everything the trampoline's last call uses or clobbers; the bytes are checked one
//! instruction at a time, and anything not recognised is passed over.

use crate::model::stack::{at, parse_auxv};

/// AT_SYSINFO_EHDR of this process, from /proc/self/auxv; `None` when the vDSO is off
/// (`vdso=0`) or /proc is not mounted.
pub fn current() -> Option<u64> {
    let bytes = std::fs::read("/proc/self/auxv").ok()?;
    parse_auxv(&bytes)
        .into_iter()
        .find(|(k, _)| *k == at::SYSINFO_EHDR)
        .map(|(_, v)| v)
        .filter(|&v| v != 0)
}

/// Register numbers as x86 encodes them (rax 0 ... rdi 7, r8 8 ... r15 15).
const RCX: u8 = 1;
const RSP: u8 = 4;
const RSI: u8 = 6;
const RDI: u8 = 7;
const R11: u8 = 11;
/// The longest run of `xor`s looked at after the `syscall`.
const MAX_SEQUENCE_BYTES: usize = 64;

/// The register an instruction at the start of `code` zeroes, and its length, when it is
/// `xor reg, reg` (`31 /r` or `33 /r` with both operands the same register, with an optional
/// REX prefix whose R and B bits agree).
fn zeroed_register(code: &[u8]) -> Option<(u8, usize)> {
    let (rex, rest, prefix) = match code.first()? {
        r @ 0x40..=0x4f => (*r, &code[1..], 1),
        _ => (0, code, 0),
    };
    let [op, modrm, ..] = rest else { return None };
    if (*op != 0x31 && *op != 0x33) || modrm >> 6 != 0b11 {
        return None;
    }
    let (reg, rm) = ((modrm >> 3) & 7, modrm & 7);
    let (rex_r, rex_b) = ((rex >> 2) & 1, rex & 1);
    if reg != rm || rex_r != rex_b {
        return None;
    }
    Some((rm | rex_b << 3, prefix + 2))
}

/// Finds, in the vDSO's code `text`, a `syscall` followed by an optional `leave`, then only
/// `xor reg, reg` instructions that together zero rcx and r11 (which `syscall` clobbers) and
/// rdi and rsi (the call's arguments), never rsp, then `ret`. Returns the offset of the
/// `syscall` and whether a `leave` follows it.
pub fn exit_sequence(text: &[u8]) -> Option<(usize, bool)> {
    let required: u16 = 1 << RCX | 1 << R11 | 1 << RDI | 1 << RSI;
    (0..text.len().saturating_sub(1)).find_map(|at| {
        if text[at..].starts_with(&[0x0f, 0x05]) {
            let mut i = at + 2;
            let leave = text.get(i) == Some(&0xc9);
            if leave {
                i += 1;
            }
            let mut zeroed = 0u16;
            while i < text.len().min(at + MAX_SEQUENCE_BYTES) {
                if text[i] == 0xc3 {
                    return (zeroed & required == required).then_some((at, leave));
                }
                let (reg, len) = zeroed_register(&text[i..])?;
                if reg == RSP {
                    return None;
                }
                zeroed |= 1 << reg;
                i += len;
            }
        }
        None
    })
}

/// The exit sequence of this process's vDSO (its code read through /proc/self/mem), if it
/// has one.
pub fn current_exit_sequence(
    maps: &[super::maps::Mapping],
) -> Option<crate::sys::jump::ExitSequence> {
    use std::io::{Read, Seek, SeekFrom};
    let vdso = maps.iter().find(|m| m.name == "[vdso]")?;
    let mut mem = std::fs::File::open("/proc/self/mem").ok()?;
    mem.seek(SeekFrom::Start(vdso.start as u64)).ok()?;
    let mut text = vec![0u8; vdso.len()];
    mem.read_exact(&mut text).ok()?;
    exit_sequence(&text).map(|(offset, leave)| crate::sys::jump::ExitSequence {
        addr: vdso.start + offset,
        leave,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fallback of `__vdso_clock_getres` on this project's machine (Linux 6.18).
    const CLOCK_GETRES_TAIL: [u8; 16] = [
        0xb8, 0xe5, 0x00, 0x00, 0x00, // mov eax, 229
        0x0f, 0x05, // syscall
        0x31, 0xd2, 0x31, 0xc9, 0x31, 0xf6, 0x31, 0xff, // xor edx/ecx/esi/edi
        0x90, // (replaced below)
    ];

    fn with_tail(tail: &[u8]) -> Vec<u8> {
        let mut v = CLOCK_GETRES_TAIL[..15].to_vec();
        v.extend_from_slice(tail);
        v
    }

    #[test]
    fn a_syscall_then_zeroing_then_ret_is_found() {
        // ... xor r11d, r11d; ret
        let code = with_tail(&[0x45, 0x31, 0xdb, 0xc3]);
        assert_eq!(exit_sequence(&code), Some((5, false)));
        // With `leave` first (the gettimeofday fallback).
        let mut code = vec![0x0f, 0x05, 0xc9];
        code.extend_from_slice(&[0x31, 0xc9, 0x31, 0xf6, 0x31, 0xff, 0x45, 0x31, 0xdb, 0xc3]);
        assert_eq!(exit_sequence(&code), Some((0, true)));
        // 64-bit forms and the `33 /r` encoding count as well.
        let code = [
            0x0f, 0x05, 0x48, 0x31, 0xc9, 0x33, 0xf6, 0x48, 0x33, 0xff, 0x4d, 0x31, 0xdb, 0xc3,
        ];
        assert_eq!(exit_sequence(&code), Some((0, false)));
    }

    #[test]
    fn anything_short_of_a_full_clean_up_is_passed_over() {
        // r11 left as the syscall set it.
        assert_eq!(exit_sequence(&with_tail(&[0xc3])), None);
        // Another instruction in between (a pop).
        assert_eq!(
            exit_sequence(&with_tail(&[0x5b, 0x45, 0x31, 0xdb, 0xc3])),
            None
        );
        // xor of two different registers does not zero either.
        assert_eq!(exit_sequence(&with_tail(&[0x45, 0x31, 0xd3, 0xc3])), None);
        // REX.R and REX.B disagreeing: xor r11d, ebx.
        assert_eq!(exit_sequence(&with_tail(&[0x44, 0x31, 0xdb, 0xc3])), None);
        // Zeroing rsp would lose the stack.
        assert_eq!(
            exit_sequence(&with_tail(&[0x45, 0x31, 0xdb, 0x31, 0xe4, 0xc3])),
            None
        );
        // No ret before the end.
        assert_eq!(exit_sequence(&with_tail(&[0x45, 0x31, 0xdb])), None);
        // The second candidate is taken when the first fails.
        let mut code = with_tail(&[0xc3]);
        let second = code.len();
        code.extend_from_slice(&[
            0x0f, 0x05, 0x31, 0xc9, 0x31, 0xf6, 0x31, 0xff, 0x45, 0x31, 0xdb, 0xc3,
        ]);
        assert_eq!(exit_sequence(&code), Some((second, false)));
    }
}
