//! Small x86-64 ELF files written from scratch, for tests, fuzz seeds and benchmarks: the one
//! builder the project's test programs come from.
//!
//! The layout is always the same, so a test can break one field at a time and know what the
//! kernel sees:
//!
//! ```text
//! ELF header (64) | program headers: [PT_INTERP] [PT_LOAD] [PT_GNU_STACK] | padding | code | PT_INTERP string
//! ```
//!
//! The PT_LOAD maps the whole file from offset 0 at `base`, read+execute unless told otherwise,
//! and the entry point is the first byte of `code`. With the defaults the file is a valid
//! static executable (`ET_EXEC` at 0x400000) or static PIE (`ET_DYN` at 0).
//!
//! ```
//! use forkexec::model::elf_builder::{ElfBuilder, EXIT_0};
//! // The 129-byte program `forkexec bench` spawns: exit_group(0) and nothing else.
//! let bytes = ElfBuilder::exec(EXIT_0).bytes();
//! assert_eq!(bytes.len(), 129);
//! assert_eq!(&bytes[..4], b"\x7fELF");
//! ```

use super::binfmt::elf::{
    ELF_MAGIC, EM_X86_64, ET_DYN, ET_EXEC, PF_R, PF_W, PF_X, PT_GNU_STACK, PT_INTERP, PT_LOAD,
};

/// x86-64 code: `exit_group(0)` (`xor edi, edi; mov eax, 231; syscall`), 9 bytes.
pub const EXIT_0: &[u8] = &[0x31, 0xff, 0xb8, 0xe7, 0x00, 0x00, 0x00, 0x0f, 0x05];

/// Size of the ELF64 header.
const EHDR: usize = 64;
/// Size of one ELF64 program header.
const PHDR: usize = 56;

/// A description of one small ELF64 file; every field can be set to something the kernel
/// refuses. [`ElfBuilder::bytes`] writes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ElfBuilder {
    /// `e_type` (`ET_EXEC`, `ET_DYN`, or anything else on purpose).
    pub e_type: u16,
    /// `e_machine`.
    pub machine: u16,
    /// `e_ident[EI_CLASS]` (2 for 64-bit; the kernel does not look at it).
    pub ident_class: u8,
    /// `e_phentsize` (56 for ELF64).
    pub phentsize: u16,
    /// `e_phnum` when it should not be the number of headers written.
    pub phnum: Option<u16>,
    /// `e_phoff` when it should not be 64.
    pub phoff: Option<u64>,
    /// `e_entry` when it should not be the first byte of `code`.
    pub entry: Option<u64>,
    /// The address the PT_LOAD maps the file at (0x400000 for ET_EXEC, 0 for a PIE).
    pub base: u64,
    /// Zero bytes between the program headers and the code: puts the code (and the entry
    /// point) at a later file offset, e.g. in a page of its own.
    pub pad: usize,
    /// The machine code; the entry point is its first byte.
    pub code: Vec<u8>,
    /// PT_INTERP's bytes, NUL included (`None`: no PT_INTERP header).
    pub interp: Option<Vec<u8>>,
    /// PT_INTERP's `p_filesz` when it should not be the length of `interp`.
    pub interp_filesz: Option<u64>,
    /// PT_INTERP's `p_offset` when it should not be where the string is.
    pub interp_offset: Option<u64>,
    /// Whether the PT_LOAD header is written.
    pub load: bool,
    /// The PT_LOAD's `p_flags` (PF_R | PF_X by default).
    pub load_flags: u32,
    /// Bytes of zero-filled memory (bss) after the file's bytes: `p_memsz - p_filesz`.
    pub bss: u64,
    /// Whether a PT_GNU_STACK header (non-executable stack) is written.
    pub gnu_stack: bool,
    /// Makes the PT_LOAD's `p_filesz` larger than its `p_memsz` (the kernel kills the exec).
    pub filesz_over_memsz: bool,
    /// Gives the PT_LOAD a `p_offset` that is not congruent to `p_vaddr` modulo the page size.
    pub misaligned_load: bool,
}

impl ElfBuilder {
    /// A static ET_EXEC at 0x400000 that runs `code`.
    pub fn exec(code: &[u8]) -> ElfBuilder {
        ElfBuilder {
            e_type: ET_EXEC,
            machine: EM_X86_64,
            ident_class: 2,
            phentsize: PHDR as u16,
            phnum: None,
            phoff: None,
            entry: None,
            base: 0x40_0000,
            pad: 0,
            code: code.to_vec(),
            interp: None,
            interp_filesz: None,
            interp_offset: None,
            load: true,
            load_flags: PF_R | PF_X,
            bss: 0,
            gnu_stack: false,
            filesz_over_memsz: false,
            misaligned_load: false,
        }
    }

    /// A static PIE (ET_DYN, mapped at 0 before the load bias) that runs `code`.
    pub fn pie(code: &[u8]) -> ElfBuilder {
        ElfBuilder {
            e_type: ET_DYN,
            base: 0,
            ..ElfBuilder::exec(code)
        }
    }

    /// Adds a PT_INTERP naming `path` (the NUL is added).
    pub fn with_interp(mut self, path: &[u8]) -> ElfBuilder {
        let mut p = path.to_vec();
        p.push(0);
        self.interp = Some(p);
        self
    }

    /// The number of program headers written.
    fn headers(&self) -> usize {
        usize::from(self.interp.is_some()) + usize::from(self.load) + usize::from(self.gnu_stack)
    }

    /// The file offset of the first byte of `code` (the entry point's offset).
    pub fn code_offset(&self) -> usize {
        EHDR + PHDR * self.headers() + self.pad
    }

    /// The file's bytes.
    pub fn bytes(&self) -> Vec<u8> {
        let code_off = self.code_offset();
        let interp_off = code_off + self.code.len();
        let interp = self.interp.clone().unwrap_or_default();
        let total = (interp_off + interp.len()) as u64;
        let mut b = Vec::with_capacity(total as usize);
        b.extend_from_slice(&ELF_MAGIC);
        // EI_CLASS, EI_DATA little endian, EI_VERSION 1, EI_OSABI System V, then padding.
        b.extend_from_slice(&[self.ident_class, 1, 1, 0]);
        b.extend_from_slice(&[0u8; 8]);
        b.extend_from_slice(&self.e_type.to_le_bytes());
        b.extend_from_slice(&self.machine.to_le_bytes());
        b.extend_from_slice(&1u32.to_le_bytes()); // e_version
        let entry = self.entry.unwrap_or(self.base + code_off as u64);
        b.extend_from_slice(&entry.to_le_bytes());
        b.extend_from_slice(&self.phoff.unwrap_or(EHDR as u64).to_le_bytes());
        b.extend_from_slice(&0u64.to_le_bytes()); // e_shoff
        b.extend_from_slice(&0u32.to_le_bytes()); // e_flags
        b.extend_from_slice(&(EHDR as u16).to_le_bytes()); // e_ehsize
        b.extend_from_slice(&self.phentsize.to_le_bytes());
        let phnum = self.phnum.unwrap_or(self.headers() as u16);
        b.extend_from_slice(&phnum.to_le_bytes());
        b.extend_from_slice(&[0u8; 6]); // e_shentsize, e_shnum, e_shstrndx
        debug_assert_eq!(b.len(), EHDR);
        if self.interp.is_some() {
            let size = self.interp_filesz.unwrap_or(interp.len() as u64);
            let off = self.interp_offset.unwrap_or(interp_off as u64);
            program_header(&mut b, PT_INTERP, PF_R, off, self.base + off, size, size, 1);
        }
        if self.load {
            let off = if self.misaligned_load { 0x10 } else { 0 };
            let memsz = if self.filesz_over_memsz {
                total / 2
            } else {
                total + self.bss
            };
            let flags = self.load_flags;
            program_header(&mut b, PT_LOAD, flags, off, self.base, total, memsz, 0x1000);
        }
        if self.gnu_stack {
            program_header(&mut b, PT_GNU_STACK, PF_R | PF_W, 0, 0, 0, 0, 16);
        }
        b.resize(code_off, 0);
        b.extend_from_slice(&self.code);
        b.extend_from_slice(&interp);
        b
    }
}

/// Appends one ELF64 program header (`p_paddr` = `p_vaddr`).
#[allow(clippy::too_many_arguments)]
fn program_header(
    b: &mut Vec<u8>,
    p_type: u32,
    flags: u32,
    offset: u64,
    vaddr: u64,
    filesz: u64,
    memsz: u64,
    align: u64,
) {
    b.extend_from_slice(&p_type.to_le_bytes());
    b.extend_from_slice(&flags.to_le_bytes());
    for v in [offset, vaddr, vaddr, filesz, memsz, align] {
        b.extend_from_slice(&v.to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::binfmt::elf::{self, ElfClass};

    #[test]
    fn the_default_program_passes_every_check_of_the_model() {
        for b in [ElfBuilder::exec(EXIT_0), ElfBuilder::pie(EXIT_0)] {
            let bytes = b.bytes();
            let h = elf::parse_header(&bytes, ElfClass::Elf64);
            let size = elf::check_header(&h).expect("valid header");
            let phdrs = elf::parse_phdrs(&bytes[64..64 + size as usize], ElfClass::Elf64, 1)
                .expect("phdrs");
            assert_eq!(h.e_entry, b.base + 120);
            assert_eq!(phdrs[0].p_filesz, bytes.len() as u64);
            let cx = elf::LoadContext {
                is_interp: false,
                has_interp: false,
                mmap_min_addr: 65536,
                may_map_low: false,
                file_size: bytes.len() as u64,
            };
            let low = elf::load_problem(&h, &phdrs, &cx);
            assert_eq!(low, None);
        }
    }

    #[test]
    fn fields_land_where_the_kernel_reads_them() {
        let mut b = ElfBuilder::exec(EXIT_0).with_interp(b"/ld");
        b.pad = 4000;
        b.bss = 0x100;
        b.load_flags = PF_R | PF_W | PF_X;
        b.gnu_stack = true;
        let bytes = b.bytes();
        assert_eq!(b.code_offset(), 64 + 3 * 56 + 4000);
        assert_eq!(&bytes[b.code_offset()..][..EXIT_0.len()], EXIT_0);
        assert!(bytes.ends_with(b"/ld\0"));
        let h = elf::parse_header(&bytes, ElfClass::Elf64);
        let phdrs = elf::parse_phdrs(&bytes[64..], ElfClass::Elf64, h.e_phnum).unwrap();
        assert_eq!(phdrs[0].p_type, PT_INTERP);
        let load = &phdrs[1];
        assert_eq!((load.p_type, load.p_flags), (PT_LOAD, 7));
        assert_eq!(load.p_memsz, load.p_filesz + 0x100);
        assert_eq!(phdrs[2].p_type, PT_GNU_STACK);
        assert_eq!(h.e_entry, 0x40_0000 + b.code_offset() as u64);
    }
}
