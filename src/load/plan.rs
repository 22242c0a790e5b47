//! The load plan: everything the loader will do, computed from bytes and chosen addresses
//! without touching the process. [`plan_load`] is pure and panic-free for any input, so the
//! fuzz target and `forkexec load --plan` call the same code the loader does.
//!
//! The rules are the kernel's (`load_elf_binary`, `load_elf_interp`, `create_elf_tables`):
//! each PT_LOAD maps from the page holding p_vaddr; its file bytes come from the page holding
//! p_offset; bytes after p_filesz in the last file page are zeroed when p_memsz > p_filesz
//! and the segment is writable (`padzero`), and the pages after that are anonymous zero pages,
//! read-write (plus exec with PF_X). The entry point is the
//! interpreter's when there is one. The stack is the model's image ([`crate::model::stack`]).
//!
//! Nothing here allocates in proportion to a header field: program headers are bounded by the
//! kernel's 64 KiB table limit, the stack image by the argv+envp budget (E2BIG beyond it).

use super::elf::{page_down, page_up, ElfImage, Role};
use super::error::LoadError;
use crate::model::binfmt::elf::{ELF_PAGE, ET_DYN, PF_X, TASK_SIZE_64};
use crate::model::limits;
use crate::model::stack::{self, at, AuxValue, HostAux, Ids, ProgramFacts, StackInput};

/// The kernel's ELF_ET_DYN_BASE on x86_64 (2/3 of TASK_SIZE), where a PIE program goes
/// before randomization and alignment.
pub const ELF_ET_DYN_BASE: u64 = 0x5555_5555_4aaa;
/// PF_W.
const PF_W: u32 = 2;
/// PF_R.
const PF_R: u32 = 4;

/// Where one image goes, by the kernel's rule for its kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "json", derive(serde::Serialize))]
#[cfg_attr(feature = "json", serde(rename_all = "snake_case"))]
pub enum Placement {
    /// ET_EXEC: at its own p_vaddr (MAP_FIXED_NOREPLACE).
    Fixed,
    /// A PIE program with an interpreter: ELF_ET_DYN_BASE plus a random offset, aligned.
    DynBase,
    /// An interpreter, or an ET_DYN program without one (static PIE, ld.so run directly):
    /// wherever mmap chooses, the whole span reserved first.
    Anywhere,
}

impl Placement {
    /// The rule for an image with this role and type.
    pub fn for_image(img: &ElfImage, has_interp: bool) -> Placement {
        if img.fixed() {
            Placement::Fixed
        } else if img.role == Role::Program && has_interp {
            Placement::DynBase
        } else {
            Placement::Anywhere
        }
    }
}

/// The addresses chosen for this load (by the loader from the free address space, or by
/// [`Addresses::example`] for a preview). Everything else follows from them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Addresses {
    /// Where the program's first page goes (ignored for ET_EXEC, which goes to its p_vaddr).
    pub program: u64,
    /// Where the interpreter's first page goes (ignored for an ET_EXEC interpreter).
    pub interpreter: u64,
    /// One past the highest byte of the stack mapping.
    pub stack_top: u64,
    /// Bytes of the stack mapping (the image must fit, with room to run).
    pub stack_size: u64,
    /// The random gap below the strings, 0..=8191 (`arch_align_stack`).
    pub stack_gap: u64,
}

impl Addresses {
    /// Addresses like those of an exec without address space randomization: a PIE at
    /// ELF_ET_DYN_BASE aligned down, an interpreter or a static PIE ending near 0x7ffff7fc3000
    /// (where the first mmap of such a process lands), the stack at the model's top. For
    /// previews: the loader picks real ones.
    pub fn example(program: &ElfImage, interpreter: Option<&ElfImage>) -> Addresses {
        let align = program.align.max(ELF_PAGE);
        let pie = ELF_ET_DYN_BASE & !(align - 1);
        let program_base = if program.fixed() {
            program.first
        } else if interpreter.is_some() {
            pie
        } else {
            // A static PIE lands where mmap puts things: below the interpreter area.
            0x7fff_f7fc_0000u64.saturating_sub(program.span()) & !(align - 1)
        };
        let interp_base = interpreter.map_or(0, |i| {
            0x7fff_f7fc_3000u64.saturating_sub(i.span()) & !(i.align.max(ELF_PAGE) - 1)
        });
        Addresses {
            program: program_base,
            interpreter: interp_base,
            stack_top: stack::STACK_TOP,
            stack_size: 8 << 20,
            stack_gap: 0,
        }
    }
}

/// Memory protection of a segment: PROT_READ/WRITE/EXEC bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "json", derive(serde::Serialize))]
pub struct Prot(pub i32);

impl Prot {
    /// From ELF p_flags (PF_R = 4, PF_W = 2, PF_X = 1 map to PROT_READ, PROT_WRITE, PROT_EXEC).
    pub fn from_flags(flags: u32) -> Prot {
        let mut p = 0;
        if flags & PF_R != 0 {
            p |= libc::PROT_READ;
        }
        if flags & PF_W != 0 {
            p |= libc::PROT_WRITE;
        }
        if flags & PF_X != 0 {
            p |= libc::PROT_EXEC;
        }
        Prot(p)
    }

    /// "r-x" style.
    pub fn show(self) -> String {
        let b = |bit, c| if self.0 & bit != 0 { c } else { '-' };
        [
            b(libc::PROT_READ, 'r'),
            b(libc::PROT_WRITE, 'w'),
            b(libc::PROT_EXEC, 'x'),
        ]
        .iter()
        .collect()
    }
}

/// One PT_LOAD, placed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "json", derive(serde::Serialize))]
pub struct Segment {
    /// Index of the program header.
    pub index: usize,
    /// p_vaddr + load bias.
    pub vaddr: u64,
    /// p_filesz.
    pub filesz: u64,
    /// p_memsz.
    pub memsz: u64,
    /// First page of the mapping.
    pub start: u64,
    /// Length of the mapping in bytes, a whole number of pages (file part and bss).
    pub len: u64,
    /// Protection.
    pub prot: Prot,
    /// File offset of the first mapped byte (the page holding p_offset).
    pub file_offset: u64,
    /// Bytes of the file, from `file_offset`, that appear at `start`: up to the end of the last
    /// file page (clipped at the end of the file), or up to p_filesz when the bss begins there.
    pub file_len: u64,
    /// Bytes of the file page holding the end of p_filesz that are zeroed (`padzero`): from
    /// vaddr + filesz to the end of that page, when p_memsz > p_filesz and the segment is
    /// writable (the kernel's zeroing of a read-only page fails, and it ignores that).
    pub zero_len: u64,
    /// Protection of the bss pages after the file's: read-write, plus exec with PF_X, whatever
    /// PF_R/PF_W say (the kernel makes them with `vm_brk_flags`).
    pub bss_prot: Prot,
}

/// One image (program or interpreter), placed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImagePlan {
    /// Program or interpreter.
    pub role: Role,
    /// e_type.
    pub e_type: u16,
    /// The placement rule used.
    pub placement: Placement,
    /// The load bias: what is added to every p_vaddr (0 for ET_EXEC).
    pub bias: u64,
    /// First mapped address.
    pub start: u64,
    /// One past the last mapped address.
    pub end: u64,
    /// Alignment of `start`.
    pub align: u64,
    /// The PT_LOAD segments in table order.
    pub segments: Vec<Segment>,
    /// Page ranges inside start..end that no segment covers (left unmapped, as the kernel
    /// leaves them), as (address, length).
    pub holes: Vec<(u64, u64)>,
    /// e_entry + bias.
    pub entry: u64,
    /// AT_PHDR: the address of the program headers in memory (the bias alone when no segment
    /// holds them, as in the kernel).
    pub phdr: u64,
    /// e_phnum.
    pub phnum: u16,
    /// PT_INTERP's path (program only).
    pub interp_path: Option<Vec<u8>>,
}

/// The initial stack, ready to be copied to `rsp`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackPlan {
    /// One past the highest byte.
    pub top: u64,
    /// Size of the stack mapping.
    pub size: u64,
    /// rsp at entry: the address of argc.
    pub rsp: u64,
    /// The bytes from rsp to top.
    pub image: Vec<u8>,
    /// The model's layout (items and auxv as data).
    pub layout: stack::StackLayout,
    /// The auxv as written, AT_NULL last.
    pub auxv: Vec<(u64, u64)>,
    /// Whether the stack is executable (PT_GNU_STACK with PF_X).
    pub executable: bool,
}

/// What execve records about the new program in its mm (and shows in /proc/PID/stat,
/// cmdline, environ): code and data bounds, the heap start, the stack, the strings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "json", derive(serde::Serialize))]
pub struct MmLayout {
    /// Lowest start of an executable segment (u64::MAX without one, as in the kernel).
    pub start_code: u64,
    /// Highest end of an executable segment's file bytes.
    pub end_code: u64,
    /// Highest segment start.
    pub start_data: u64,
    /// Highest end of a segment's file bytes.
    pub end_data: u64,
    /// Where the heap starts (before brk randomization).
    pub start_brk: u64,
    /// The initial stack pointer.
    pub start_stack: u64,
    /// The argv strings.
    pub arg_start: u64,
    /// One past them.
    pub arg_end: u64,
    /// The envp strings.
    pub env_start: u64,
    /// One past them.
    pub env_end: u64,
}

/// Everything a load does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadPlan {
    /// The program.
    pub program: ImagePlan,
    /// Its interpreter, if it has PT_INTERP.
    pub interpreter: Option<ImagePlan>,
    /// Where execution starts (the interpreter's entry when there is one).
    pub entry: u64,
    /// Where the heap starts before randomization: the page after the program's highest
    /// p_vaddr + p_memsz (the loader moves it as the kernel does with ASLR on, and records it
    /// with PR_SET_MM_MAP).
    pub brk: u64,
    /// The initial stack.
    pub stack: StackPlan,
    /// The layout execve records (PR_SET_MM_MAP gives it to the kernel).
    pub mm: MmLayout,
    /// The argv the program gets (after `#!` rewriting; `[""]` for an empty one).
    pub argv: Vec<Vec<u8>>,
    /// The `#!` scripts passed through to reach the program, outermost first (filled by
    /// [`crate::load::plan_file`]; the pure planner sees only ELF files).
    pub scripts: Vec<Vec<u8>>,
}

/// Everything [`plan_load`] needs.
#[derive(Clone, Debug)]
pub struct LoadInput<'a> {
    /// The program's bytes.
    pub program: &'a [u8],
    /// The bytes of the file PT_INTERP names, if the program has one.
    pub interpreter: Option<&'a [u8]>,
    /// argv (an empty argv becomes `[""]`, as since Linux 5.18).
    pub argv: &'a [Vec<u8>],
    /// envp.
    pub envp: &'a [Vec<u8>],
    /// The AT_EXECFN string.
    pub execfn: &'a [u8],
    /// Chosen addresses.
    pub addresses: Addresses,
    /// Machine-wide auxv values.
    pub host: HostAux,
    /// AT_SYSINFO_EHDR: the vDSO to hand on (None: no entry, as with vdso=0).
    pub vdso: Option<u64>,
    /// AT_UID, AT_EUID, AT_GID, AT_EGID, AT_SECURE.
    pub ids: Ids,
    /// The 16 AT_RANDOM bytes.
    pub random: [u8; 16],
    /// The soft RLIMIT_STACK, for the argv+envp budget (None: unlimited).
    pub stack_rlimit: Option<u64>,
}

/// Places one image at `base` (its first page), or at its own addresses when ET_EXEC.
fn place(
    img: &ElfImage,
    base: u64,
    has_interp: bool,
    file_len: u64,
) -> Result<ImagePlan, LoadError> {
    let placement = Placement::for_image(img, has_interp);
    let task = img.header.class.task_size();
    let bias = if img.fixed() {
        0
    } else {
        if base % img.align != 0 || base == 0 {
            return Err(LoadError::new(
                libc::EINVAL,
                format!("base {base:#x} is not aligned to {:#x}", img.align),
            ));
        }
        base.wrapping_sub(img.first)
    };
    let start = img.first.wrapping_add(bias);
    let end = start
        .checked_add(img.span())
        .filter(|&e| e <= task)
        .ok_or_else(|| {
            LoadError::new(
                libc::ENOMEM,
                format!(
                    "{:#x} bytes at {start:#x} do not fit the address space",
                    img.span()
                ),
            )
        })?;
    let mut segments = Vec::new();
    for (index, p) in img.loads() {
        // check_loadable checked p_vaddr + p_memsz <= TASK_SIZE and p_filesz <= p_memsz; the
        // bias keeps every address inside start..end.
        let vaddr = p.p_vaddr.wrapping_add(bias);
        let seg_start = page_down(vaddr);
        let in_page = vaddr - seg_start;
        let seg_end = page_up(vaddr + p.p_memsz).unwrap_or(end).max(seg_start);
        let file_offset = page_down(p.p_offset);
        let (file_bytes, zero_len) = if p.p_filesz == 0 {
            (0, 0)
        } else {
            let wanted = in_page + p.p_filesz;
            let available = file_len.saturating_sub(file_offset);
            if p.p_offset
                .checked_add(p.p_filesz)
                .map_or(true, |e| e > file_len)
            {
                // The kernel maps it anyway and the program dies of SIGBUS when it touches
                // the missing pages; refusing is kinder and still before anything changed.
                return Err(LoadError::new(
                    libc::EIO,
                    format!(
                        "PT_LOAD #{index} wants file bytes {:#x}..{:#x}, but the file has {file_len:#x} (a truncated file?)",
                        p.p_offset,
                        p.p_offset.saturating_add(p.p_filesz)
                    ),
                ));
            }
            if p.p_memsz > p.p_filesz && p.p_flags & PF_W != 0 {
                let page_end = page_up(wanted).unwrap_or(wanted);
                (wanted, page_end - wanted)
            } else {
                (page_up(wanted).unwrap_or(wanted).min(available), 0)
            }
        };
        segments.push(Segment {
            index,
            vaddr,
            filesz: p.p_filesz,
            memsz: p.p_memsz,
            start: seg_start,
            len: seg_end - seg_start,
            prot: Prot::from_flags(p.p_flags),
            file_offset,
            file_len: file_bytes,
            zero_len,
            bss_prot: Prot(
                libc::PROT_READ
                    | libc::PROT_WRITE
                    | if p.p_flags & PF_X != 0 {
                        libc::PROT_EXEC
                    } else {
                        0
                    },
            ),
        });
    }
    // Holes: pages of start..end outside every segment. Segments are few (<= 1170), so the
    // quadratic sort is fine and allocation is bounded by the header table.
    let mut covered: Vec<(u64, u64)> = segments
        .iter()
        .map(|s| (s.start, s.start + s.len))
        .collect();
    covered.sort_unstable();
    let mut holes = Vec::new();
    let mut cursor = start;
    for (s, e) in covered {
        if s > cursor {
            holes.push((cursor, s - cursor));
        }
        cursor = cursor.max(e);
    }
    if end > cursor {
        holes.push((cursor, end - cursor));
    }
    let entry = img.header.e_entry.wrapping_add(bias);
    if entry >= task {
        return Err(LoadError::new(
            libc::EINVAL,
            format!("the entry point {entry:#x} is outside the address space"),
        ));
    }
    let phdr_vaddr = crate::model::binfmt::elf::phdr_vaddr(&img.header, &img.phdrs);
    Ok(ImagePlan {
        role: img.role,
        e_type: img.header.e_type,
        placement,
        bias,
        start,
        end,
        align: img.align,
        segments,
        holes,
        entry,
        phdr: phdr_vaddr.wrapping_add(bias),
        phnum: img.header.e_phnum,
        interp_path: img.interp.clone(),
    })
}

/// Checks the program and its interpreter as the kernel does after its point of no return,
/// and places each, given as (image, file length, base), at its base (ET_EXEC images at
/// their own addresses): the part of a plan that does not depend on argv, envp or the stack.
pub fn place_images(
    program: (&ElfImage, u64, u64),
    interpreter: Option<(&ElfImage, u64, u64)>,
) -> Result<(ImagePlan, Option<ImagePlan>), LoadError> {
    let (program, file_len, base) = program;
    super::elf::check_loadable(program, interpreter.map(|(i, _, _)| i))?;
    let prog = place(program, base, interpreter.is_some(), file_len)?;
    let interp = match interpreter {
        Some((img, file_len, base)) => Some(place(img, base, false, file_len)?),
        None => None,
    };
    // Two images that overlap cannot both be mapped (the loader would find it out as EEXIST).
    if let Some(i) = &interp {
        if i.start < prog.end && prog.start < i.end {
            return Err(LoadError::new(
                libc::ENOMEM,
                format!(
                    "the interpreter ({:#x}..{:#x}) overlaps the program ({:#x}..{:#x})",
                    i.start, i.end, prog.start, prog.end
                ),
            ));
        }
    }
    Ok((prog, interp))
}

/// Plans the load of `input.program` (and its interpreter) at `input.addresses`.
///
/// Errors carry the errno execve gives for the same files (see [`super::elf`]); a program with
/// PT_INTERP but no interpreter bytes is ENOENT, as when the interpreter file is missing.
pub fn plan_load(input: &LoadInput<'_>) -> Result<LoadPlan, LoadError> {
    let program = ElfImage::parse(input.program, Role::Program)?;
    let interp_image = match (&program.interp, input.interpreter) {
        (None, _) => None,
        (Some(path), None) => {
            return Err(LoadError::new(
                libc::ENOENT,
                format!(
                    "the program needs the interpreter \"{}\", which was not given",
                    path.escape_ascii()
                ),
            ))
        }
        (Some(_), Some(bytes)) => Some(ElfImage::parse(bytes, Role::Interpreter)?),
    };
    plan_images(input, &program, interp_image.as_ref())
}

/// [`plan_load`] for images already parsed (the checks the kernel makes after its point of
/// no return are made here, in its order).
pub fn plan_images(
    input: &LoadInput<'_>,
    program: &ElfImage,
    interpreter: Option<&ElfImage>,
) -> Result<LoadPlan, LoadError> {
    let a = &input.addresses;
    let (prog, interp) = place_images(
        (program, input.program.len() as u64, a.program),
        interpreter.map(|i| {
            (
                i,
                input.interpreter.map_or(0, |b| b.len() as u64),
                a.interpreter,
            )
        }),
    )?;

    // The argv+envp budget, charged in the kernel's order.
    let empty_argv = [Vec::new()];
    let argv: &[Vec<u8>] = if input.argv.is_empty() {
        &empty_argv
    } else {
        input.argv
    };
    let budget = limits::budget(
        input.stack_rlimit,
        argv.len() as u64,
        input.envp.len() as u64,
    )
    .map_err(|e| LoadError::new(libc::E2BIG, e.describe()))?;
    limits::charge_all(&budget, input.execfn, input.envp, argv)
        .map_err(|e| LoadError::new(libc::E2BIG, e.describe()))?;

    if a.stack_top > TASK_SIZE_64 || a.stack_top < a.stack_size {
        return Err(LoadError::new(
            libc::EINVAL,
            format!(
                "a stack of {:#x} bytes below {:#x} is outside the user address space",
                a.stack_size, a.stack_top
            ),
        ));
    }
    let gap = a.stack_gap.min(stack::MAX_RANDOM_GAP);
    let mut host = input.host.clone();
    host.vdso = input.vdso.is_some();
    let layout = stack::layout(&StackInput {
        argv,
        envp: input.envp,
        execfn: input.execfn,
        program: ProgramFacts {
            pie: program.header.e_type == ET_DYN,
            phdr_vaddr: 0,
            phnum: u64::from(program.header.e_phnum),
            entry: 0,
            interpreter: interpreter.is_some(),
        },
        ids: input.ids.clone(),
        preserve_argv0: false,
        execfd: None,
        host,
        top: a.stack_top,
        gap,
    });
    let size = a.stack_top.wrapping_sub(layout.rsp);
    // Keep a page below rsp for the program's first frames; the rest of the mapping is its.
    if layout.rsp > a.stack_top || size.saturating_add(ELF_PAGE) > a.stack_size {
        return Err(LoadError::new(
            libc::E2BIG,
            format!(
                "the initial stack needs {size} bytes, more than the {}-byte stack",
                a.stack_size
            ),
        ));
    }
    // The concrete auxv: the model's entries with the placed addresses filled in.
    let auxv: Vec<(u64, u64)> = layout
        .auxv
        .iter()
        .map(|(k, v)| {
            let value = match *k {
                at::PHDR => prog.phdr,
                at::ENTRY => prog.entry,
                at::BASE => interp.as_ref().map_or(0, |i| i.bias),
                at::SYSINFO_EHDR => input.vdso.unwrap_or(0),
                _ => match v {
                    AuxValue::Value(n) | AuxValue::Stack(n) => *n,
                    AuxValue::Relative(_, off) => *off,
                },
            };
            (*k, value)
        })
        .collect();

    let image = stack_image(&layout, argv, input, &auxv, size)?;
    let executable = program.exec_stack;
    let entry = interp.as_ref().map_or(prog.entry, |i| i.entry);
    let brk = prog.end;
    let mut mm = mm_layout(&prog, &layout.strings, argv, input.envp);
    mm.start_stack = layout.rsp;
    Ok(LoadPlan {
        mm,
        argv: argv.to_vec(),
        scripts: Vec::new(),
        program: prog,
        interpreter: interp,
        entry,
        brk,
        stack: StackPlan {
            top: a.stack_top,
            size: a.stack_size,
            rsp: layout.rsp,
            image,
            layout,
            auxv,
            executable,
        },
    })
}

/// The mm fields `load_elf_binary` sets from the program's segments: code and data bounds,
/// and the heap start (the stack and string fields are 0).
pub fn code_and_data(prog: &ImagePlan) -> MmLayout {
    let mut m = MmLayout {
        start_code: u64::MAX,
        start_brk: prog.end,
        ..MmLayout::default()
    };
    for s in &prog.segments {
        let file_end = s.vaddr + s.filesz;
        if s.prot.0 & libc::PROT_EXEC != 0 {
            m.start_code = m.start_code.min(s.vaddr);
            m.end_code = m.end_code.max(file_end);
        }
        m.start_data = m.start_data.max(s.vaddr);
        m.end_data = m.end_data.max(file_end);
    }
    m
}

/// The mm fields as `load_elf_binary` and `create_elf_tables` set them.
fn mm_layout(
    prog: &ImagePlan,
    strings: &stack::StringAddresses,
    argv: &[Vec<u8>],
    envp: &[Vec<u8>],
) -> MmLayout {
    let mut m = code_and_data(prog);
    let end_of = |addrs: &[u64], strs: &[Vec<u8>]| {
        addrs
            .last()
            .zip(strs.last())
            .map(|(a, s)| a + s.len() as u64 + 1)
    };
    m.arg_start = strings.argv.first().copied().unwrap_or(0);
    m.arg_end = end_of(&strings.argv, argv).unwrap_or(m.arg_start);
    m.env_start = strings.envp.first().copied().unwrap_or(m.arg_end);
    m.env_end = end_of(&strings.envp, envp).unwrap_or(m.env_start);
    m
}

/// The bytes from rsp to the top of the stack.
fn stack_image(
    layout: &stack::StackLayout,
    argv: &[Vec<u8>],
    input: &LoadInput<'_>,
    auxv: &[(u64, u64)],
    size: u64,
) -> Result<Vec<u8>, LoadError> {
    let mut image = vec![0u8; size as usize];
    let rsp = layout.rsp;
    let overflow = || LoadError::new(libc::E2BIG, "the stack image does not add up");
    let mut put = |addr: u64, bytes: &[u8]| -> Result<(), LoadError> {
        let off = usize::try_from(addr.wrapping_sub(rsp)).map_err(|_| overflow())?;
        let dst = image
            .get_mut(off..off.checked_add(bytes.len()).ok_or_else(overflow)?)
            .ok_or_else(overflow)?;
        dst.copy_from_slice(bytes);
        Ok(())
    };
    let s = &layout.strings;
    let mut cstr = |addr: u64, bytes: &[u8]| -> Result<(), LoadError> {
        // A string is its bytes and a NUL; the image is zeroed, so the NUL is there already.
        put(addr, bytes)
    };
    cstr(s.execfn, input.execfn)?;
    for (a, v) in s.argv.iter().zip(argv) {
        cstr(*a, v)?;
    }
    for (a, v) in s.envp.iter().zip(input.envp) {
        cstr(*a, v)?;
    }
    cstr(s.platform, stack::PLATFORM)?;
    put(s.random, &input.random)?;
    put(rsp, &(argv.len() as u64).to_ne_bytes())?;
    let mut word = rsp + 8;
    for a in &s.argv {
        put(word, &a.to_ne_bytes())?;
        word += 8;
    }
    word += 8; // argv NULL
    for a in &s.envp {
        put(word, &a.to_ne_bytes())?;
        word += 8;
    }
    word += 8; // envp NULL
    if word != s.auxv {
        return Err(overflow());
    }
    for (k, v) in auxv {
        put(word, &k.to_ne_bytes())?;
        put(word + 8, &v.to_ne_bytes())?;
        word += 16;
    }
    Ok(image)
}
