//! One ELF file as the loader sees it: its header and program headers (read with the model's
//! parser and the kernel's checks), the address span its PT_LOAD segments cover, the
//! alignment that span needs, and its PT_INTERP path.
//!
//! The errno of each refusal is the one execve gives for the same file: for the program,
//! ENOEXEC for a header the ELF handler declines, EIO for a PT_INTERP past the end of the file;
//! for an interpreter, EIO when it is shorter than an ELF header and ELIBBAD when it is not a
//! usable ELF file. Problems the kernel finds only after its point of no return (a segment
//! outside the address space, p_filesz > p_memsz, a bad entry point) are refused by
//! [`ElfImage::check_loadable`] with the errno the kernel computes internally (EINVAL), since a
//! userland loader can still return; callers run it after both files passed [`ElfImage::parse`],
//! the kernel's order.

use super::error::LoadError;
use crate::model::binfmt::elf::{
    self, ElfClass, ElfHeader, ElfReject, ProgramHeader, ELF_PAGE, ET_DYN, ET_EXEC, PT_LOAD,
};

/// Which file of an exec an image is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "json", derive(serde::Serialize))]
#[cfg_attr(feature = "json", serde(rename_all = "lowercase"))]
pub enum Role {
    /// The program named in the exec.
    Program,
    /// Its PT_INTERP (the dynamic loader).
    Interpreter,
}

impl Role {
    fn name(self) -> &'static str {
        match self {
            Role::Program => "the program",
            Role::Interpreter => "the interpreter",
        }
    }
}

/// A parsed, checked ELF file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ElfImage {
    /// Which file this is.
    pub role: Role,
    /// The header fields the kernel uses.
    pub header: ElfHeader,
    /// All program headers.
    pub phdrs: Vec<ProgramHeader>,
    /// PT_INTERP's path (the program only; the kernel ignores an interpreter's own PT_INTERP).
    pub interp: Option<Vec<u8>>,
    /// The page-aligned lowest p_vaddr of the PT_LOAD segments (before any load bias).
    pub first: u64,
    /// The page-aligned end of the highest p_vaddr + p_memsz.
    pub end: u64,
    /// The alignment the span needs: the largest power-of-two p_align, at least a page.
    pub align: u64,
    /// PT_GNU_STACK asks for an executable stack.
    pub exec_stack: bool,
}

pub(crate) fn page_down(x: u64) -> u64 {
    x & !(ELF_PAGE - 1)
}

pub(crate) fn page_up(x: u64) -> Option<u64> {
    x.checked_add(ELF_PAGE - 1).map(page_down)
}

impl ElfImage {
    /// Parses `bytes` as the file with `role`, with the checks the kernel makes before its
    /// point of no return (see [`ElfImage::check_loadable`] for the others).
    pub fn parse(bytes: &[u8], role: Role) -> Result<ElfImage, LoadError> {
        // The errno for a file the ELF handler declines: the program falls through to
        // "no handler" (ENOEXEC); a bad interpreter is ELIBBAD.
        let decline = |why: String| {
            let errno = match role {
                Role::Program => libc::ENOEXEC,
                Role::Interpreter => libc::ELIBBAD,
            };
            LoadError::new(errno, format!("{} {why}", role.name()))
        };
        if role == Role::Interpreter && bytes.len() < ElfClass::Elf64.header_size() {
            return Err(LoadError::new(
                libc::EIO,
                format!(
                    "the interpreter is {} bytes, shorter than an ELF header (short read)",
                    bytes.len()
                ),
            ));
        }
        if !elf::has_magic(bytes) {
            return Err(decline("is not an ELF file".into()));
        }
        let machine = elf::machine(bytes).unwrap_or(0);
        let class = match elf::handler_for(machine) {
            Some(ElfClass::Elf64) => ElfClass::Elf64,
            Some(ElfClass::Elf32) => {
                // The kernel runs these through its IA32 emulation; a 64-bit process cannot
                // switch its system call ABI, so a userland loader cannot.
                return Err(decline(
                    "is an i386 ELF file; this loader runs x86-64 programs only".into(),
                ));
            }
            None => {
                return Err(decline(format!(
                    "was built for {} (e_machine {machine}), not x86-64",
                    elf::machine_name(machine)
                )))
            }
        };
        let header = elf::parse_header(bytes, class);
        let table = match role {
            Role::Program => elf::check_header(&header),
            // load_elf_interp checks the table, and the type only after the point of no return.
            Role::Interpreter => elf::check_phdr_table(&header),
        }
        .map_err(|r| decline(format!("is refused: {}", r.describe())))?;
        let phdrs = usize::try_from(header.e_phoff)
            .ok()
            .and_then(|off| bytes.get(off..off.checked_add(table as usize)?))
            .and_then(|t| elf::parse_phdrs(t, class, header.e_phnum))
            .ok_or_else(|| {
                decline(format!(
                    "is refused: {}",
                    ElfReject::PhdrsPastEnd.describe()
                ))
            })?;

        let mut interp = None;
        if role == Role::Program {
            if let Some(ph) = elf::interp_header(&phdrs) {
                elf::check_interp_size(ph)
                    .map_err(|r| decline(format!("is refused: {}", r.describe())))?;
                let raw = usize::try_from(ph.p_offset)
                    .ok()
                    .and_then(|off| bytes.get(off..off.checked_add(ph.p_filesz as usize)?))
                    .unwrap_or(&[]);
                let path = elf::interp_path(raw, ph.p_filesz).map_err(|r| {
                    LoadError::new(
                        r.errno(),
                        format!("the program is refused: {}", r.describe()),
                    )
                })?;
                interp = Some(path);
            }
        }

        let loads = phdrs.iter().filter(|p| p.p_type == PT_LOAD);
        let mut first = u64::MAX;
        let mut end = 0u64;
        let mut align = ELF_PAGE;
        for p in loads {
            // Judged by `check_loadable`; here only computed without overflow.
            first = first.min(page_down(p.p_vaddr));
            end = end.max(page_up(p.p_vaddr.saturating_add(p.p_memsz)).unwrap_or(u64::MAX));
            if p.p_align.is_power_of_two() {
                align = align.max(p.p_align);
            }
        }
        Ok(ElfImage {
            role,
            exec_stack: elf::executable_stack(&phdrs).unwrap_or(false),
            header,
            phdrs,
            interp,
            first,
            end,
            align,
        })
    }

    /// The checks the kernel makes only after its point of no return, while it maps the
    /// segments (it then kills the process with SIGSEGV): refused here with the errno it
    /// computed internally (EINVAL, ENOMEM for an alignment larger than the address space).
    ///
    /// The kernel maps the program before it loads the interpreter, and opens and checks the
    /// interpreter's header before either: callers check the program's header, then the
    /// interpreter's ([`ElfImage::parse`]), then the program with this, then the interpreter
    /// with this, so that a file with two problems gets execve's errno.
    pub fn check_loadable(&self, has_interp: bool) -> Result<(), LoadError> {
        let role = self.role;
        let header = &self.header;
        if role == Role::Interpreter && header.e_type != ET_EXEC && header.e_type != ET_DYN {
            return Err(LoadError::new(
                libc::EINVAL,
                format!(
                    "the interpreter's type is {} (the kernel kills the process with SIGSEGV)",
                    elf::type_name(header.e_type)
                ),
            ));
        }
        let cx = elf::LoadContext {
            is_interp: role == Role::Interpreter,
            has_interp,
            mmap_min_addr: 0,
            may_map_low: true,
            file_size: u64::MAX,
        };
        if let Some(why) = elf::load_problem(header, &self.phdrs, &cx) {
            return Err(LoadError::new(
                libc::EINVAL,
                format!("{why} (the kernel kills the process with SIGSEGV)"),
            ));
        }
        let task = header.class.task_size();
        if self.first >= self.end || self.end > task {
            return Err(LoadError::new(
                libc::EINVAL,
                format!(
                    "{}'s segments span {:#x}..{:#x}, outside the user address space",
                    role.name(),
                    self.first,
                    self.end
                ),
            ));
        }
        if self.align >= task {
            return Err(LoadError::new(
                libc::ENOMEM,
                format!(
                    "{}'s p_align {:#x} is larger than the address space",
                    role.name(),
                    self.align
                ),
            ));
        }
        Ok(())
    }

    /// Bytes of address space the segments cover, first page to last (0 for an image that
    /// [`ElfImage::check_loadable`] refuses for having none).
    pub fn span(&self) -> u64 {
        self.end.saturating_sub(self.first)
    }

    /// Whether the file must be loaded at its own addresses (ET_EXEC).
    pub fn fixed(&self) -> bool {
        self.header.e_type == ET_EXEC
    }

    /// The PT_LOAD headers with their index in the table.
    pub fn loads(&self) -> impl Iterator<Item = (usize, &ProgramHeader)> {
        self.phdrs
            .iter()
            .enumerate()
            .filter(|(_, p)| p.p_type == PT_LOAD)
    }
}

/// [`ElfImage::check_loadable`] for the program, then for its interpreter: the order in which
/// the kernel maps them after its point of no return.
pub fn check_loadable(program: &ElfImage, interpreter: Option<&ElfImage>) -> Result<(), LoadError> {
    program.check_loadable(interpreter.is_some())?;
    match interpreter {
        Some(i) => i.check_loadable(true),
        None => Ok(()),
    }
}
