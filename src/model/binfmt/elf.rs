//! ELF headers and program headers, read and judged the way `load_elf_binary` does on x86_64.
//!
//! The kernel has two ELF handlers here: the native one claims `e_machine == EM_X86_64` and
//! reads the file as ELF64; the compat one (IA32 emulation) claims EM_386/EM_486 and reads it
//! as ELF32. Neither looks at `EI_CLASS`, `EI_DATA`, `EI_VERSION` or `EI_OSABI`, so neither do
//! we: the handler, not the identification bytes, decides the layout.
//!
//! Everything here is a pure function of bytes; no input makes it panic.

/// The four bytes every ELF file starts with.
pub const ELF_MAGIC: [u8; 4] = [0x7f, b'E', b'L', b'F'];
/// `e_type` of a fixed-address executable.
pub const ET_EXEC: u16 = 2;
/// `e_type` of a position-independent executable or shared object.
pub const ET_DYN: u16 = 3;
/// `e_type` of a relocatable object (`.o`).
pub const ET_REL: u16 = 1;
/// `e_machine` for x86-64.
pub const EM_X86_64: u16 = 62;
/// `e_machine` for i386.
pub const EM_386: u16 = 3;
/// `e_machine` for i486 (accepted by the compat handler too).
pub const EM_486: u16 = 6;
/// Loadable segment.
pub const PT_LOAD: u32 = 1;
/// Program interpreter path.
pub const PT_INTERP: u32 = 3;
/// Stack executability.
pub const PT_GNU_STACK: u32 = 0x6474_e551;
/// Segment is executable.
pub const PF_X: u32 = 1;
/// Segment is writable.
pub const PF_W: u32 = 2;
/// Segment is readable.
pub const PF_R: u32 = 4;
/// The kernel refuses program header tables larger than this many bytes.
pub const MAX_PHDR_TABLE_BYTES: u64 = 65536;
/// PATH_MAX: the longest PT_INTERP the kernel accepts, NUL included.
pub const MAX_INTERP_BYTES: u64 = 4096;
/// The ELF page size on x86 (ELF_MIN_ALIGN).
pub const ELF_PAGE: u64 = 4096;
/// TASK_SIZE of a 64-bit process with 4-level paging: user addresses are below this.
pub const TASK_SIZE_64: u64 = 0x7fff_ffff_f000;
/// TASK_SIZE of an IA32 process.
pub const TASK_SIZE_32: u64 = 0xffff_e000;

/// Which ELF handler reads the file, and so which layout it has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElfClass {
    /// The native handler: ELF64 layout, e_machine EM_X86_64.
    Elf64,
    /// The IA32 compat handler: ELF32 layout, e_machine EM_386 or EM_486.
    Elf32,
}

impl ElfClass {
    /// Size of one program header for this handler (`sizeof(struct elf_phdr)`).
    pub fn phdr_size(self) -> u16 {
        match self {
            ElfClass::Elf64 => 56,
            ElfClass::Elf32 => 32,
        }
    }

    /// Size of the ELF header for this handler (`sizeof(struct elfhdr)`).
    pub fn header_size(self) -> usize {
        match self {
            ElfClass::Elf64 => 64,
            ElfClass::Elf32 => 52,
        }
    }

    /// The highest user address + 1 for a process of this class.
    pub fn task_size(self) -> u64 {
        match self {
            ElfClass::Elf64 => TASK_SIZE_64,
            ElfClass::Elf32 => TASK_SIZE_32,
        }
    }

    /// A short name for people.
    pub fn name(self) -> &'static str {
        match self {
            ElfClass::Elf64 => "x86-64",
            ElfClass::Elf32 => "i386",
        }
    }
}

/// The ELF header fields the kernel uses, decoded for one handler's layout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ElfHeader {
    /// The layout the fields were read with.
    pub class: ElfClass,
    /// `e_ident[EI_CLASS]` as found (informational: the kernel ignores it).
    pub ident_class: u8,
    /// `e_type`.
    pub e_type: u16,
    /// `e_machine`.
    pub e_machine: u16,
    /// `e_entry`.
    pub e_entry: u64,
    /// `e_phoff`.
    pub e_phoff: u64,
    /// `e_phentsize`.
    pub e_phentsize: u16,
    /// `e_phnum`.
    pub e_phnum: u16,
}

/// One program header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProgramHeader {
    /// `p_type`.
    pub p_type: u32,
    /// `p_flags`.
    pub p_flags: u32,
    /// `p_offset`.
    pub p_offset: u64,
    /// `p_vaddr`.
    pub p_vaddr: u64,
    /// `p_filesz`.
    pub p_filesz: u64,
    /// `p_memsz`.
    pub p_memsz: u64,
    /// `p_align`.
    pub p_align: u64,
}

/// Why an ELF handler declines or fails a file before the point of no return.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ElfReject {
    /// e_type is neither ET_EXEC nor ET_DYN (ENOEXEC).
    BadType(u16),
    /// No handler on this kernel runs this e_machine (ENOEXEC).
    BadMachine(u16),
    /// e_phentsize is not the size of one program header (ENOEXEC).
    BadPhentsize {
        /// The header's e_phentsize.
        found: u16,
        /// The size of one program header of this class.
        want: u16,
    },
    /// e_phnum is 0 or the table is over 64 KiB (ENOEXEC).
    BadPhnum(u16),
    /// The program header table lies (partly) past the end of the file (ENOEXEC).
    PhdrsPastEnd,
    /// PT_INTERP's p_filesz is below 2 or above PATH_MAX (ENOEXEC).
    InterpSize(u64),
    /// PT_INTERP's bytes lie (partly) past the end of the file (EIO: short read).
    InterpPastEnd,
    /// PT_INTERP's last byte is not NUL (ENOEXEC).
    InterpNotTerminated,
}

impl ElfReject {
    /// The errno this rejection gives.
    pub fn errno(&self) -> i32 {
        match self {
            ElfReject::InterpPastEnd => libc::EIO,
            _ => libc::ENOEXEC,
        }
    }

    /// One sentence for people.
    pub fn describe(&self) -> String {
        match self {
            ElfReject::BadType(t) => format!(
                "its type is {} (e_type {}), and only executables (ET_EXEC) and position-independent files (ET_DYN) run",
                type_name(*t),
                t
            ),
            ElfReject::BadMachine(m) => format!(
                "it was built for {} (e_machine {}), and this kernel runs only x86-64 and i386 ELF files",
                machine_name(*m),
                m
            ),
            ElfReject::BadPhentsize { found, want } => format!(
                "its e_phentsize is {found}, but a program header is {want} bytes"
            ),
            ElfReject::BadPhnum(n) => format!(
                "its program header count e_phnum = {n} is not in 1..={}",
                MAX_PHDR_TABLE_BYTES / 56
            ),
            ElfReject::PhdrsPastEnd => {
                "its program header table lies past the end of the file".to_string()
            }
            ElfReject::InterpSize(n) => format!(
                "its PT_INTERP segment is {n} bytes; the kernel wants 2 to {MAX_INTERP_BYTES}"
            ),
            ElfReject::InterpPastEnd => {
                "its PT_INTERP segment lies past the end of the file (short read)".to_string()
            }
            ElfReject::InterpNotTerminated => {
                "its PT_INTERP string does not end with a NUL byte".to_string()
            }
        }
    }
}

/// Whether `buf` starts with the ELF magic.
pub fn has_magic(buf: &[u8]) -> bool {
    buf.len() >= 4 && buf[..4] == ELF_MAGIC
}

fn u16_at(b: &[u8], off: usize) -> u16 {
    let mut a = [0u8; 2];
    if let Some(s) = b.get(off..off + 2) {
        a.copy_from_slice(s);
    }
    u16::from_le_bytes(a)
}

fn u32_at(b: &[u8], off: usize) -> u32 {
    let mut a = [0u8; 4];
    if let Some(s) = b.get(off..off + 4) {
        a.copy_from_slice(s);
    }
    u32::from_le_bytes(a)
}

fn u64_at(b: &[u8], off: usize) -> u64 {
    let mut a = [0u8; 8];
    if let Some(s) = b.get(off..off + 8) {
        a.copy_from_slice(s);
    }
    u64::from_le_bytes(a)
}

/// `e_machine` of an ELF file (the same offset in both layouts), if `buf` is long enough.
pub fn machine(buf: &[u8]) -> Option<u16> {
    (buf.len() >= 20).then(|| u16_at(buf, 18))
}

/// The handler that claims a file by its `e_machine`, or `None` when no handler of this kernel
/// runs that machine. The native handler is tried first, as registered.
pub fn handler_for(e_machine: u16) -> Option<ElfClass> {
    match e_machine {
        EM_X86_64 => Some(ElfClass::Elf64),
        EM_386 | EM_486 => Some(ElfClass::Elf32),
        _ => None,
    }
}

/// Decodes the header in `buf` with `class`'s layout. Missing bytes read as zero, as in the
/// kernel's zero-filled buffer.
pub fn parse_header(buf: &[u8], class: ElfClass) -> ElfHeader {
    let ident_class = buf.get(4).copied().unwrap_or(0);
    match class {
        ElfClass::Elf64 => ElfHeader {
            class,
            ident_class,
            e_type: u16_at(buf, 16),
            e_machine: u16_at(buf, 18),
            e_entry: u64_at(buf, 24),
            e_phoff: u64_at(buf, 32),
            e_phentsize: u16_at(buf, 54),
            e_phnum: u16_at(buf, 56),
        },
        ElfClass::Elf32 => ElfHeader {
            class,
            ident_class,
            e_type: u16_at(buf, 16),
            e_machine: u16_at(buf, 18),
            e_entry: u64::from(u32_at(buf, 24)),
            e_phoff: u64::from(u32_at(buf, 28)),
            e_phentsize: u16_at(buf, 42),
            e_phnum: u16_at(buf, 44),
        },
    }
}

/// The checks `load_elf_binary` makes on the header of the file being executed, in its order:
/// type, machine, then (in `load_elf_phdrs`) entry size and table size. Returns the byte size
/// of the program header table to read.
pub fn check_header(h: &ElfHeader) -> Result<u64, ElfReject> {
    if h.e_type != ET_EXEC && h.e_type != ET_DYN {
        return Err(ElfReject::BadType(h.e_type));
    }
    if handler_for(h.e_machine) != Some(h.class) {
        return Err(ElfReject::BadMachine(h.e_machine));
    }
    check_phdr_table(h)
}

/// The `load_elf_phdrs` checks alone (the interpreter gets only these, plus machine).
pub fn check_phdr_table(h: &ElfHeader) -> Result<u64, ElfReject> {
    let want = h.class.phdr_size();
    if h.e_phentsize != want {
        return Err(ElfReject::BadPhentsize {
            found: h.e_phentsize,
            want,
        });
    }
    let size = u64::from(want) * u64::from(h.e_phnum);
    if size == 0 || size > MAX_PHDR_TABLE_BYTES {
        return Err(ElfReject::BadPhnum(h.e_phnum));
    }
    Ok(size)
}

/// Decodes `count` program headers from `table` (which the caller read at `e_phoff`).
/// Returns `None` when `table` is shorter than the headers need (a short read).
pub fn parse_phdrs(table: &[u8], class: ElfClass, count: u16) -> Option<Vec<ProgramHeader>> {
    let size = usize::from(class.phdr_size());
    if table.len() < size * usize::from(count) {
        return None;
    }
    let mut out = Vec::with_capacity(usize::from(count));
    for i in 0..usize::from(count) {
        let b = &table[i * size..(i + 1) * size];
        out.push(match class {
            ElfClass::Elf64 => ProgramHeader {
                p_type: u32_at(b, 0),
                p_flags: u32_at(b, 4),
                p_offset: u64_at(b, 8),
                p_vaddr: u64_at(b, 16),
                p_filesz: u64_at(b, 32),
                p_memsz: u64_at(b, 40),
                p_align: u64_at(b, 48),
            },
            ElfClass::Elf32 => ProgramHeader {
                p_type: u32_at(b, 0),
                p_offset: u64::from(u32_at(b, 4)),
                p_vaddr: u64::from(u32_at(b, 8)),
                p_filesz: u64::from(u32_at(b, 16)),
                p_memsz: u64::from(u32_at(b, 20)),
                p_flags: u32_at(b, 24),
                p_align: u64::from(u32_at(b, 28)),
            },
        });
    }
    Some(out)
}

/// The first PT_INTERP header: the kernel stops at the first one.
pub fn interp_header(phdrs: &[ProgramHeader]) -> Option<&ProgramHeader> {
    phdrs.iter().find(|p| p.p_type == PT_INTERP)
}

/// The size check on PT_INTERP, made before its bytes are read.
pub fn check_interp_size(ph: &ProgramHeader) -> Result<(), ElfReject> {
    if ph.p_filesz > MAX_INTERP_BYTES || ph.p_filesz < 2 {
        return Err(ElfReject::InterpSize(ph.p_filesz));
    }
    Ok(())
}

/// The interpreter path from PT_INTERP's bytes: the last byte must be NUL, and the path the
/// kernel opens is the C string up to the first NUL (so `"\0\0"` is the empty path).
pub fn interp_path(bytes: &[u8], p_filesz: u64) -> Result<Vec<u8>, ElfReject> {
    if (bytes.len() as u64) < p_filesz {
        return Err(ElfReject::InterpPastEnd);
    }
    if bytes.last() != Some(&0) {
        return Err(ElfReject::InterpNotTerminated);
    }
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    Ok(bytes[..end].to_vec())
}

/// Whether the stack is made executable (PT_GNU_STACK with PF_X), `None` without the header.
pub fn executable_stack(phdrs: &[ProgramHeader]) -> Option<bool> {
    phdrs
        .iter()
        .find(|p| p.p_type == PT_GNU_STACK)
        .map(|p| p.p_flags & PF_X != 0)
}

/// The address the program headers will have in memory before the load bias: inside the
/// PT_LOAD whose file range holds `e_phoff` (AT_PHDR is this plus the load bias), 0 if none.
pub fn phdr_vaddr(h: &ElfHeader, phdrs: &[ProgramHeader]) -> u64 {
    let mut addr = 0;
    for p in phdrs.iter().filter(|p| p.p_type == PT_LOAD) {
        if p.p_offset <= h.e_phoff && h.e_phoff < p.p_offset.saturating_add(p.p_filesz) {
            addr = (h.e_phoff - p.p_offset).wrapping_add(p.p_vaddr);
        }
    }
    addr
}

/// How the kernel maps a file, for [`load_problem`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoadContext {
    /// The file is a PT_INTERP (`load_elf_interp`'s rules) rather than the program.
    pub is_interp: bool,
    /// The program has a PT_INTERP.
    pub has_interp: bool,
    /// /proc/sys/vm/mmap_min_addr.
    pub mmap_min_addr: u64,
    /// Mappings below `mmap_min_addr` are allowed (CAP_SYS_RAWIO).
    pub may_map_low: bool,
    /// The file's size; `u64::MAX` takes it to hold every byte its segments name.
    pub file_size: u64,
}

/// What the kernel will do wrong after the point of no return, where every failure becomes a
/// SIGSEGV: the checks of the mapping loop and the entry point, and (for a file shorter than
/// its segments) a writable segment with bss whose last file page lies past the end of the
/// file, which cannot be zero-filled. Each PT_LOAD is checked in the kernel's order
/// (`elf_load`: the mapping, the zero-fill of its last page; then the size checks). Returns
/// one sentence on the first problem found.
pub fn load_problem(h: &ElfHeader, phdrs: &[ProgramHeader], cx: &LoadContext) -> Option<String> {
    let LoadContext {
        is_interp,
        has_interp,
        mmap_min_addr,
        may_map_low,
        file_size,
    } = *cx;
    let task = h.class.task_size();
    if is_interp && h.e_type != ET_EXEC && h.e_type != ET_DYN {
        return Some(format!(
            "the interpreter's ELF type is {} ({}), not an executable or shared object",
            type_name(h.e_type),
            h.e_type
        ));
    }
    let loads: Vec<&ProgramHeader> = phdrs.iter().filter(|p| p.p_type == PT_LOAD).collect();
    // The interpreter loader refuses an empty mapping outright; for the program itself
    // nothing gets mapped and the first instruction faults. Either way: SIGSEGV.
    if loads.is_empty() {
        return Some(format!(
            "{} has no PT_LOAD segment, so nothing is mapped at its entry point",
            if is_interp {
                "the interpreter"
            } else {
                "the program"
            }
        ));
    }
    for (i, p) in loads.iter().enumerate() {
        if p.p_filesz != 0 && (p.p_offset % ELF_PAGE) != (p.p_vaddr % ELF_PAGE) {
            return Some(format!(
                "PT_LOAD #{i} has p_offset {:#x} and p_vaddr {:#x} at different offsets within a page, so it cannot be mapped",
                p.p_offset, p.p_vaddr
            ));
        }
        let fixed = h.e_type == ET_EXEC;
        if fixed && !may_map_low && (p.p_vaddr & !(ELF_PAGE - 1)) < mmap_min_addr {
            return Some(format!(
                "PT_LOAD #{i} wants address {:#x}, below vm.mmap_min_addr ({mmap_min_addr:#x}), which needs CAP_SYS_RAWIO",
                p.p_vaddr
            ));
        }
        if let Some(page) = unfillable_bss_page(p, file_size) {
            return Some(format!(
                "PT_LOAD #{i} is writable and has {:#x} bytes of bss, which begin in the file page at offset {page:#x}, past the end of the {file_size}-byte file: zero-filling the rest of that page faults (EFAULT). The file is truncated",
                p.p_memsz - p.p_filesz
            ));
        }
        if p.p_vaddr >= task
            || p.p_filesz > p.p_memsz
            || p.p_memsz > task
            || task - p.p_memsz < p.p_vaddr
        {
            return Some(format!(
                "PT_LOAD #{i} is invalid (p_vaddr {:#x}, p_filesz {:#x}, p_memsz {:#x}): file size above memory size, or beyond the user address space",
                p.p_vaddr, p.p_filesz, p.p_memsz
            ));
        }
    }
    // The entry point checked is the interpreter's when there is one, else the program's.
    if is_interp || !has_interp {
        if h.e_type == ET_EXEC && h.e_entry >= task {
            return Some(format!(
                "the entry point {:#x} is beyond the user address space",
                h.e_entry
            ));
        }
        if h.e_type == ET_DYN && h.e_entry >= task {
            // Biased by a load address that is itself below TASK_SIZE: certainly out of range
            // only when the unbiased value already is.
            return Some(format!(
                "the entry point {:#x} is beyond the user address space",
                h.e_entry
            ));
        }
    }
    None
}

/// The first file offset whose page is not backed by the file: a mapping of the file faults
/// (SIGBUS) on any page at or past it. Bytes between the end of the file and this offset read
/// as zeros.
pub fn end_of_backed_pages(file_size: u64) -> u64 {
    file_size.div_ceil(ELF_PAGE).saturating_mul(ELF_PAGE)
}

/// `elf_load`'s zero-fill of a segment with bss: when the segment is writable and its file
/// bytes end inside a page, the kernel clears the rest of that page through the new mapping
/// (`padzero`). If that page lies past the end of the file the write faults and the exec fails
/// with EFAULT, after the point of no return. Returns the file offset of that page.
pub fn unfillable_bss_page(p: &ProgramHeader, file_size: u64) -> Option<u64> {
    if p.p_type != PT_LOAD || p.p_filesz == 0 || p.p_memsz <= p.p_filesz || p.p_flags & PF_W == 0 {
        return None;
    }
    // Where the file bytes end, in memory and in the file (congruent modulo the page size once
    // the mapping succeeded).
    if p.p_vaddr.wrapping_add(p.p_filesz) % ELF_PAGE == 0 {
        return None;
    }
    let end = p.p_offset.checked_add(p.p_filesz)?;
    let page = end & !(ELF_PAGE - 1);
    (page >= end_of_backed_pages(file_size)).then_some(page)
}

/// A PT_LOAD whose file bytes reach past the end of the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PastEndOfFile {
    /// Its index among the PT_LOAD headers.
    pub index: usize,
    /// Bytes of `p_filesz` beyond the file's size.
    pub missing: u64,
    /// Whether some of them lie in pages the file does not back (SIGBUS when touched), not
    /// only in the zero-filled tail of the file's last page.
    pub unbacked: bool,
}

/// The PT_LOAD segments that claim more file bytes than the file has (a truncated file).
pub fn segments_past_end_of_file(phdrs: &[ProgramHeader], file_size: u64) -> Vec<PastEndOfFile> {
    let backed = end_of_backed_pages(file_size);
    phdrs
        .iter()
        .filter(|p| p.p_type == PT_LOAD)
        .enumerate()
        .filter_map(|(index, p)| {
            let end = p.p_offset.saturating_add(p.p_filesz);
            (p.p_filesz != 0 && end > file_size).then(|| PastEndOfFile {
                index,
                missing: end - file_size.max(p.p_offset),
                unbacked: end > backed,
            })
        })
        .collect()
}

/// Whether the entry point (before the load bias) lies in a page of a file mapping that the
/// file does not back: the first instruction then faults with SIGBUS.
pub fn entry_past_end_of_file(h: &ElfHeader, phdrs: &[ProgramHeader], file_size: u64) -> bool {
    let backed = end_of_backed_pages(file_size);
    phdrs
        .iter()
        .filter(|p| p.p_type == PT_LOAD && p.p_filesz != 0)
        .any(|p| {
            // The file mapping covers whole pages from the segment's first page to the page
            // holding its last file byte.
            let start = p.p_vaddr & !(ELF_PAGE - 1);
            let end = p.p_vaddr.saturating_add(p.p_filesz);
            if h.e_entry < start || h.e_entry >= end.saturating_add(ELF_PAGE - 1) & !(ELF_PAGE - 1)
            {
                return false;
            }
            let offset = (p.p_offset & !(ELF_PAGE - 1)).saturating_add(h.e_entry - start);
            offset & !(ELF_PAGE - 1) >= backed
        })
}

/// A name for an `e_type`.
pub fn type_name(t: u16) -> &'static str {
    match t {
        0 => "ET_NONE",
        ET_REL => "ET_REL (relocatable object)",
        ET_EXEC => "ET_EXEC",
        ET_DYN => "ET_DYN",
        4 => "ET_CORE (core dump)",
        _ => "unknown",
    }
}

/// A name for common `e_machine` values.
pub fn machine_name(m: u16) -> &'static str {
    match m {
        0 => "no machine",
        2 => "SPARC",
        EM_386 => "i386",
        EM_486 => "i486",
        8 => "MIPS",
        20 => "PowerPC",
        21 => "PowerPC64",
        22 => "s390",
        40 => "ARM (32-bit)",
        42 => "SuperH",
        43 => "SPARC64",
        EM_X86_64 => "x86-64",
        183 => "AArch64",
        243 => "RISC-V",
        258 => "LoongArch",
        _ => "another machine",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header64(e_type: u16, machine: u16, phentsize: u16, phnum: u16) -> Vec<u8> {
        let mut b = vec![0u8; 64];
        b[..4].copy_from_slice(&ELF_MAGIC);
        b[4] = 2;
        b[5] = 1;
        b[16..18].copy_from_slice(&e_type.to_le_bytes());
        b[18..20].copy_from_slice(&machine.to_le_bytes());
        b[24..32].copy_from_slice(&0x401000u64.to_le_bytes());
        b[32..40].copy_from_slice(&64u64.to_le_bytes());
        b[54..56].copy_from_slice(&phentsize.to_le_bytes());
        b[56..58].copy_from_slice(&phnum.to_le_bytes());
        b
    }

    #[test]
    fn header_fields_decode_at_elf64_offsets() {
        let h = parse_header(&header64(ET_EXEC, EM_X86_64, 56, 3), ElfClass::Elf64);
        assert_eq!(h.e_entry, 0x401000);
        assert_eq!(h.e_phoff, 64);
        assert_eq!(h.e_phnum, 3);
        assert_eq!(check_header(&h), Ok(168));
    }

    #[test]
    fn header_checks_follow_the_kernels_order() {
        let h = parse_header(&header64(ET_REL, 183, 0, 0), ElfClass::Elf64);
        assert_eq!(check_header(&h), Err(ElfReject::BadType(ET_REL)));
        let h = parse_header(&header64(ET_DYN, 183, 0, 0), ElfClass::Elf64);
        assert_eq!(check_header(&h), Err(ElfReject::BadMachine(183)));
        let h = parse_header(&header64(ET_DYN, EM_X86_64, 32, 1), ElfClass::Elf64);
        assert_eq!(
            check_header(&h),
            Err(ElfReject::BadPhentsize {
                found: 32,
                want: 56
            })
        );
        let h = parse_header(&header64(ET_DYN, EM_X86_64, 56, 0), ElfClass::Elf64);
        assert_eq!(check_header(&h), Err(ElfReject::BadPhnum(0)));
        // 1170 * 56 = 65520 fits, 1171 * 56 does not.
        let h = parse_header(&header64(ET_DYN, EM_X86_64, 56, 1170), ElfClass::Elf64);
        assert_eq!(check_header(&h), Ok(65520));
        let h = parse_header(&header64(ET_DYN, EM_X86_64, 56, 1171), ElfClass::Elf64);
        assert_eq!(check_header(&h), Err(ElfReject::BadPhnum(1171)));
    }

    #[test]
    fn interp_rules() {
        let ph = |n| ProgramHeader {
            p_type: PT_INTERP,
            p_flags: 0,
            p_offset: 0,
            p_vaddr: 0,
            p_filesz: n,
            p_memsz: n,
            p_align: 1,
        };
        assert!(check_interp_size(&ph(1)).is_err());
        assert!(check_interp_size(&ph(2)).is_ok());
        assert!(check_interp_size(&ph(4096)).is_ok());
        assert!(check_interp_size(&ph(4097)).is_err());
        assert_eq!(interp_path(b"/lib/ld.so\0", 11), Ok(b"/lib/ld.so".to_vec()));
        assert_eq!(interp_path(b"\0\0", 2), Ok(Vec::new()));
        assert_eq!(
            interp_path(b"/lib/ld.so", 10),
            Err(ElfReject::InterpNotTerminated)
        );
        assert_eq!(interp_path(b"/li", 10), Err(ElfReject::InterpPastEnd));
        assert_eq!(ElfReject::InterpPastEnd.errno(), libc::EIO);
    }

    #[test]
    fn phdrs_decode_and_short_tables_are_refused() {
        let mut t = vec![0u8; 56];
        t[0..4].copy_from_slice(&PT_LOAD.to_le_bytes());
        t[16..24].copy_from_slice(&0x400000u64.to_le_bytes());
        let p = parse_phdrs(&t, ElfClass::Elf64, 1).unwrap();
        assert_eq!(p[0].p_vaddr, 0x400000);
        assert!(parse_phdrs(&t, ElfClass::Elf64, 2).is_none());
    }

    #[test]
    fn post_point_of_no_return_problems() {
        let h = parse_header(&header64(ET_EXEC, EM_X86_64, 56, 1), ElfClass::Elf64);
        let load = ProgramHeader {
            p_type: PT_LOAD,
            p_flags: 5,
            p_offset: 0,
            p_vaddr: 0x400000,
            p_filesz: 0x100,
            p_memsz: 0x80,
            p_align: 0x1000,
        };
        let cx = LoadContext {
            is_interp: false,
            has_interp: false,
            mmap_min_addr: 65536,
            may_map_low: false,
            file_size: u64::MAX,
        };
        assert!(load_problem(&h, std::slice::from_ref(&load), &cx).is_some());
        let ok = ProgramHeader {
            p_memsz: 0x100,
            ..load
        };
        assert!(load_problem(&h, &[ok], &cx).is_none());
        // Writable with bss: fine while the file has the page where the bss starts, killed
        // once the file is cut before that page.
        let data = ProgramHeader {
            p_flags: PF_X | PF_W,
            p_filesz: 0x1100,
            p_memsz: 0x2000,
            ..load
        };
        assert_eq!(unfillable_bss_page(&data, 0x1100), None);
        assert_eq!(unfillable_bss_page(&data, 0x1001), None);
        assert_eq!(unfillable_bss_page(&data, 0x1000), Some(0x1000));
        let cut = LoadContext {
            file_size: 0x1000,
            ..cx
        };
        assert!(load_problem(&h, std::slice::from_ref(&data), &cut).is_some());
        // Read-only: the kernel ignores the failed zero-fill.
        let ro = ProgramHeader {
            p_flags: PF_X,
            ..data
        };
        assert_eq!(unfillable_bss_page(&ro, 0x1000), None);
        let past = segments_past_end_of_file(std::slice::from_ref(&ro), 0x1000);
        assert_eq!(
            past,
            vec![PastEndOfFile {
                index: 0,
                missing: 0x100,
                unbacked: true
            }]
        );
        let past = segments_past_end_of_file(std::slice::from_ref(&ro), 0x10f0);
        assert_eq!(
            past,
            vec![PastEndOfFile {
                index: 0,
                missing: 0x10,
                unbacked: false
            }]
        );
        // The entry 0x401000 is in the file's second page: backed only if the file reaches it.
        let entry_h = ElfHeader {
            e_entry: 0x401000,
            ..h
        };
        assert!(entry_past_end_of_file(
            &entry_h,
            std::slice::from_ref(&ro),
            0x1000
        ));
        assert!(!entry_past_end_of_file(
            &entry_h,
            std::slice::from_ref(&ro),
            0x1001
        ));
    }

    #[test]
    fn any_bytes_decode_without_panicking() {
        for len in 0..80 {
            let b = vec![0xffu8; len];
            let _ = parse_header(&b, ElfClass::Elf64);
            let _ = parse_header(&b, ElfClass::Elf32);
            let _ = parse_phdrs(&b, ElfClass::Elf32, 3);
            let _ = machine(&b);
        }
    }
}
