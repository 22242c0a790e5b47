//! A load handed to another process: planned here, carried out by the loader stub in a child
//! (spawning through the userland loader: `Command::loader`).
//!
//! A child made with CLONE_VM shares this process's memory, so it cannot load a program in
//! place ([`super::loader`] would unmap its parent's address space). It execs the loader stub
//! instead (`crate::sys::loader_stub`), which the kernel starts in a fresh address space, and
//! the stub carries out what [`prepare`] planned: every step that can fail with the program's
//! errno (opening the files with the kernel's checks, the ELF checks, the argument budget, the
//! plan itself) happens here, before any process exists; the stub only maps.
//!
//! The plan is made for an address space this process cannot see, so its addresses are
//! proposals: an ET_EXEC image must go exactly where it says, a PIE goes to a random base
//! near ELF_ET_DYN_BASE if that is free there, an interpreter or a static PIE where the
//! stub's mmap puts it, and the stack below the stub's own (as [`super::loader`] puts it below
//! the current one). Every address that follows from them (in the stack image, the entry
//! point, the layout) is sent with the region it moves with, and the stub moves it. The
//! values the kernel computes per process (AT_UID ... AT_SECURE for the ids the child ends up
//! with, the vDSO's address) are taken by the stub from its own auxv.
//!
//! The files are opened for the program's runner ([`Runner`]): the ids the child will have
//! judge the permissions, and relative paths start in its working directory.

use super::elf::{check_loadable, ElfImage, Role};
use super::error::LoadError;
use super::file::{ExecFile, Runner};
use super::loader;
use super::maps;
use super::plan::{self, Addresses, ImagePlan, LoadInput, LoadPlan, Placement};
use crate::model::binfmt::elf::ELF_PAGE;
use crate::model::stack::{at, AuxValue, HostAux, Ids, MAX_RANDOM_GAP};
use crate::sys::loader_stub::{self, wire};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::Path;
use std::sync::OnceLock;

/// Where the program comes from.
#[derive(Clone, Copy, Debug)]
pub enum Source<'a> {
    /// A file, as execve would be given its path (a `#!` script is followed to the program
    /// that runs).
    File(&'a Path),
    /// Bytes in memory (an ELF program; its PT_INTERP is still read from the file system).
    Memory(&'a [u8]),
}

/// What to hand over.
#[derive(Debug)]
pub struct Request<'a> {
    /// The program.
    pub source: Source<'a>,
    /// argv.
    pub argv: &'a [Vec<u8>],
    /// envp.
    pub envp: &'a [Vec<u8>],
    /// The AT_EXECFN string and the thread name's source (for a file: its path as given).
    pub execfn: &'a [u8],
    /// The soft RLIMIT_STACK the child will have (`None`: unlimited).
    pub stack_rlimit: Option<u64>,
    /// Who runs the program, and where.
    pub runner: &'a Runner,
    /// The lowest fd number the files may have in the child: they are kept open through the
    /// stub's exec at their own numbers, which must be above every fd the child sets up.
    pub fd_floor: RawFd,
}

/// A load ready to hand over.
#[derive(Debug)]
pub struct Handoff {
    /// What the stub reads.
    pub payload: Vec<u8>,
    /// The files the stub maps pages from (the program's, the interpreter's), at or above the
    /// fd floor, close-on-exec here: the child keeps them open through the stub's exec.
    pub files: Vec<OwnedFd>,
    /// The plan, as made (at the proposed addresses).
    pub plan: LoadPlan,
}

/// The vDSO of this process, learnt once: where it is, which pages around it (vvar) an exec
/// maps with it, and its exit sequence. The same kernel maps the same vDSO image into the
/// stub, at another address.
struct VdsoFacts {
    /// AT_SYSINFO_EHDR, or 0.
    base: u64,
    /// The vDSO and vvar mappings, as offsets from `base`.
    keep: (i64, i64),
    /// The exit sequence's offset from `base`, and whether `leave` follows its `syscall`.
    exit: Option<(u64, bool)>,
}

fn vdso_facts() -> Result<&'static VdsoFacts, LoadError> {
    static FACTS: OnceLock<VdsoFacts> = OnceLock::new();
    if let Some(f) = FACTS.get() {
        return Ok(f);
    }
    let Some(base) = super::vdso::current() else {
        return Ok(FACTS.get_or_init(|| VdsoFacts {
            base: 0,
            keep: (0, 0),
            exit: None,
        }));
    };
    let mappings = maps::current().map_err(|e| {
        LoadError::new(
            e.raw_os_error().unwrap_or(libc::EIO),
            "a userland spawn reads /proc/self/maps once to learn which pages of the vDSO an exec keeps, and cannot (mount /proc)",
        )
    })?;
    let kernel_pages = mappings.iter().filter(|m| m.is_vdso_or_vvar());
    let start = kernel_pages.clone().map(|m| m.start).min().unwrap_or(0) as u64;
    let end = kernel_pages.map(|m| m.end).max().unwrap_or(0) as u64;
    let exit =
        super::vdso::current_exit_sequence(&mappings).map(|e| (e.addr as u64 - base, e.leave));
    Ok(FACTS.get_or_init(|| VdsoFacts {
        base,
        keep: (start as i64 - base as i64, end as i64 - base as i64),
        exit,
    }))
}

/// The machine's auxv values, read once (the stub takes its own anyway; these fix which
/// entries the image has).
fn host_aux() -> HostAux {
    static HOST: OnceLock<HostAux> = OnceLock::new();
    HOST.get_or_init(HostAux::from_proc).clone()
}

/// The file `f`, at `floor` or above (a duplicate, close-on-exec, when it is below).
fn above(f: ExecFile, floor: RawFd) -> Result<(OwnedFd, Vec<u8>), LoadError> {
    let fd = OwnedFd::from(f.file);
    if fd.as_raw_fd() >= floor {
        return Ok((fd, f.bytes));
    }
    let moved = rustix::io::fcntl_dupfd_cloexec(&fd, floor).map_err(|e| {
        LoadError::new(
            e.raw_os_error(),
            "cannot move a file out of the child's fds",
        )
    })?;
    Ok((moved, f.bytes))
}

/// The random numbers one load draws, from one getrandom call.
struct Draws {
    at_random: [u8; 16],
    dyn_base: u64,
    stack_gap: u64,
    stack_offset: u64,
    heap: u64,
}

fn draw() -> Result<Draws, LoadError> {
    let b: [u8; 48] = loader::random_bytes()?;
    let word = |i: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&b[16 + 8 * i..24 + 8 * i]);
        u64::from_ne_bytes(w)
    };
    let mut at_random = [0u8; 16];
    at_random.copy_from_slice(&b[..16]);
    Ok(Draws {
        at_random,
        dyn_base: word(0),
        stack_gap: word(1),
        stack_offset: word(2),
        heap: word(3),
    })
}

/// Plans the load of `req` for the stub (see the module docs). Fails as execve would, with
/// its errno, having changed nothing.
pub fn prepare(req: &Request<'_>) -> Result<Handoff, LoadError> {
    let mut files = Vec::new();
    let (owned, argv, program_fd) = match req.source {
        Source::File(path) => {
            let r = super::script::resolve_for(path, req.argv, req.runner)?;
            let (fd, bytes) = above(r.file, req.fd_floor)?;
            let raw = fd.as_raw_fd();
            files.push(fd);
            (Some(bytes), r.argv, raw)
        }
        Source::Memory(bytes) => {
            if bytes.starts_with(b"#!") {
                return Err(LoadError::new(
                    libc::ENOEXEC,
                    "a #! script runs only from a file (its interpreter opens it by path)",
                ));
            }
            (None, req.argv.to_vec(), -1)
        }
    };
    let program: &[u8] = match (&owned, req.source) {
        (Some(b), _) => b,
        (None, Source::Memory(b)) => b,
        (None, Source::File(_)) => unreachable!("a file's bytes were read"),
    };
    let interp = match super::read_interpreter_for(program, req.runner)? {
        Some(f) => {
            let (fd, bytes) = above(f, req.fd_floor)?;
            let raw = fd.as_raw_fd();
            files.push(fd);
            Some((raw, bytes))
        }
        None => None,
    };
    // The kernel's checks, in its order.
    let image = ElfImage::parse(program, Role::Program)?;
    let interp_image = match &interp {
        Some((_, bytes)) => Some(ElfImage::parse(bytes, Role::Interpreter)?),
        None => None,
    };
    check_loadable(&image, interp_image.as_ref())?;
    for img in std::iter::once(&image).chain(&interp_image) {
        refuse_the_stubs_range(img)?;
    }

    let draws = draw()?;
    let randomize = loader::randomization_on();
    let mut addresses = Addresses::example(&image, interp_image.as_ref());
    if Placement::for_image(&image, interp.is_some()) == Placement::DynBase {
        addresses.program = loader::dyn_base(
            image.align.max(ELF_PAGE),
            randomize.then_some(draws.dyn_base),
        );
    }
    let stack_room = loader::stack_size(req.stack_rlimit);
    addresses.stack_size = stack_room;
    addresses.stack_gap = if randomize {
        draws.stack_gap % (MAX_RANDOM_GAP + 1)
    } else {
        0
    };
    let vdso = vdso_facts()?;
    let input = LoadInput {
        program,
        interpreter: interp.as_ref().map(|(_, b)| b.as_slice()),
        argv: &argv,
        envp: req.envp,
        execfn: req.execfn,
        addresses,
        host: host_aux(),
        vdso: (vdso.base != 0).then_some(vdso.base),
        // The stub writes the ids and AT_SECURE its own exec got.
        ids: Ids {
            uid: 0,
            euid: 0,
            gid: 0,
            egid: 0,
            secure: false,
        },
        random: draws.at_random,
        stack_rlimit: req.stack_rlimit,
    };
    let plan = plan::plan_images(&input, &image, interp_image.as_ref())?;
    let randomized_heap = loader::randomization_full();
    let brk = if randomized_heap {
        loader::random_heap_start(&plan, draws.heap)
    } else {
        plan.brk
    };
    let stack_offset = if randomize {
        loader::stack_offset(draws.stack_offset)
    } else {
        0
    };
    let heap = (brk, randomized_heap);
    let header = header(
        &plan,
        heap,
        stack_offset,
        vdso,
        program_fd,
        &interp,
        req.execfn,
    );
    let mut segments = Vec::new();
    let mut holes = Vec::new();
    image_records(
        &plan.program,
        wire::region::PROGRAM,
        program_fd,
        &mut segments,
        &mut holes,
    );
    if let (Some(i), Some((fd, _))) = (&plan.interpreter, &interp) {
        image_records(i, wire::region::INTERPRETER, *fd, &mut segments, &mut holes);
    }
    holes.push(wire::Hole {
        region: wire::region::STACK as u32,
        reserved: 0,
        offset: 0,
        len: header.stack_mapping.offset,
    });
    let relocs = stack_relocations(&plan);
    let payload = loader_stub::encode(
        header,
        &loader_stub::Sections {
            segments: &segments,
            holes: &holes,
            relocs: &relocs,
            stack_image: &plan.stack.image,
            program: if owned.is_some() { &[] } else { program },
        },
    );
    Ok(Handoff {
        payload,
        files,
        plan,
    })
}

/// EEXIST for an image that must go where the stub itself is linked.
fn refuse_the_stubs_range(img: &ElfImage) -> Result<(), LoadError> {
    let (start, end) = loader_stub::STUB_RANGE;
    let (first, last) = (img.first, img.first.saturating_add(img.span()));
    if img.fixed() && first < end && start < last {
        return Err(LoadError::new(
            libc::EEXIST,
            format!(
                "{} wants {first:#x}..{last:#x}, where the loader stub that loads it in a new process lies ({start:#x}..{end:#x})",
                loader::role_name(img.role)
            ),
        ));
    }
    Ok(())
}

fn addr(value: u64, base: u32) -> wire::Addr {
    wire::Addr {
        value,
        base,
        reserved: 0,
    }
}

fn region(img: &ImagePlan) -> wire::Region {
    wire::Region {
        planned: img.start,
        len: img.end - img.start,
        align: img.align.max(ELF_PAGE),
        placement: match img.placement {
            Placement::Fixed => wire::placement::EXACT,
            Placement::DynBase => wire::placement::PREFERRED,
            Placement::Anywhere => wire::placement::ANYWHERE,
        },
        reserved: 0,
    }
}

/// The header: regions, the stack's mapping, the layout, the vDSO, the files.
#[allow(clippy::too_many_arguments)]
fn header(
    plan: &LoadPlan,
    (brk, randomized_heap): (u64, bool),
    stack_offset: u64,
    vdso: &VdsoFacts,
    program_fd: RawFd,
    interp: &Option<(RawFd, Vec<u8>)>,
    execfn: &[u8],
) -> wire::Header {
    use wire::base::{ABSOLUTE, INTERPRETER, PROGRAM, STACK};
    let s = &plan.stack;
    // The stack region: the room below the top, plus a guard page (as the in-place loader's).
    let stack_len = s.size + ELF_PAGE;
    let stack_region = wire::Region {
        planned: s.top - stack_len,
        len: stack_len,
        align: ELF_PAGE,
        placement: wire::placement::BELOW_STACK,
        reserved: 0,
    };
    let (map_offset, map_len) = loader::initial_stack_mapping(plan, stack_len);
    let interp_region = plan.interpreter.as_ref().map(region).unwrap_or_default();
    // Code and data bounds move with the program (u64::MAX: no executable segment); a static
    // PIE's randomized heap starts near ELF_ET_DYN_BASE, any other after the program's bss.
    let program_address = |v: u64| addr(v, if v == u64::MAX { ABSOLUTE } else { PROGRAM });
    let heap_base = if randomized_heap && plan.program.placement == Placement::Anywhere {
        ABSOLUTE
    } else {
        PROGRAM
    };
    let m = loader::layout(plan, brk);
    let mut close = [-1; 4];
    if let Some((fd, _)) = interp {
        close[0] = *fd;
    }
    let (exit_offset, exit_leave) = vdso.exit.map_or((u64::MAX, 0), |(o, l)| (o, l.into()));
    wire::Header {
        regions: [region(&plan.program), interp_region, stack_region],
        stack_mapping: wire::Span {
            offset: map_offset as u64,
            count: map_len as u64,
        },
        stack_random: stack_offset,
        stack_prot_extra: if s.executable {
            libc::PROT_EXEC as u32
        } else {
            0
        },
        exe_fd: program_fd,
        rsp: addr(s.rsp, STACK),
        entry: addr(
            plan.entry,
            if plan.interpreter.is_some() {
                INTERPRETER
            } else {
                PROGRAM
            },
        ),
        mm: [
            program_address(m.start_code),
            program_address(m.end_code),
            program_address(m.start_data),
            program_address(m.end_data),
            addr(m.start_brk, heap_base),
            addr(m.brk, heap_base),
            addr(m.start_stack, STACK),
            addr(m.arg_start, STACK),
            addr(m.arg_end, STACK),
            addr(m.env_start, STACK),
            addr(m.env_end, STACK),
        ],
        auxv: wire::Span {
            offset: s.layout.strings.auxv - s.rsp,
            count: 2 * s.auxv.len() as u64,
        },
        vdso: vdso.base,
        vdso_keep_start: vdso.keep.0,
        vdso_keep_end: vdso.keep.1,
        exit_offset,
        exit_leave,
        close,
        comm: loader::thread_name(execfn),
        ..wire::Header::default()
    }
}

/// The segment and hole records of one image, in region `which`; `fd` is the file its pages
/// come from (-1: the payload's copy of the program).
fn image_records(
    img: &ImagePlan,
    which: usize,
    fd: RawFd,
    segments: &mut Vec<wire::Segment>,
    holes: &mut Vec<wire::Hole>,
) {
    for s in &img.segments {
        let file_pages = s.file_len.div_ceil(ELF_PAGE) * ELF_PAGE;
        segments.push(wire::Segment {
            region: which as u32,
            fd,
            offset: s.start - img.start,
            len: s.len,
            file_pages,
            file_offset: s.file_offset,
            file_len: s.file_len,
            zero_len: s.zero_len,
            prot: s.prot.0 as u32,
            bss_prot: s.bss_prot.0 as u32,
            index: s.index as u32,
            reserved: 0,
        });
    }
    for &(start, len) in &img.holes {
        holes.push(wire::Hole {
            region: which as u32,
            reserved: 0,
            offset: start - img.start,
            len,
        });
    }
}

/// The words of the stack image that hold addresses, and what each moves with: the argv and
/// envp pointers and the auxv entries that point into the stack, at the program (AT_PHDR,
/// AT_ENTRY of a PIE), at the interpreter (AT_BASE) or at the vDSO.
fn stack_relocations(plan: &LoadPlan) -> Vec<wire::Reloc> {
    use wire::base::{INTERPRETER, PROGRAM, STACK, VDSO};
    let s = &plan.stack;
    let reloc = |offset: u64, base: u32| wire::Reloc {
        offset,
        base,
        reserved: 0,
    };
    let argc = plan.argv.len() as u64;
    let envc = s.layout.strings.envp.len() as u64;
    let mut relocs: Vec<wire::Reloc> = (0..argc)
        .map(|i| reloc(8 + 8 * i, STACK))
        .chain((0..envc).map(|j| reloc(8 + 8 * (argc + 1) + 8 * j, STACK)))
        .collect();
    let auxv = s.layout.strings.auxv - s.rsp;
    for (k, (key, value)) in s.layout.auxv.iter().enumerate() {
        let base = match (value, *key) {
            (AuxValue::Stack(_), _) => STACK,
            (AuxValue::Relative(..), at::PHDR | at::ENTRY) => PROGRAM,
            (AuxValue::Relative(..), at::BASE) => INTERPRETER,
            (AuxValue::Relative(..), at::SYSINFO_EHDR) => VDSO,
            _ => continue,
        };
        relocs.push(reloc(auxv + 16 * k as u64 + 8, base));
    }
    relocs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::stack::STACK_TOP;

    #[test]
    fn every_address_in_the_stack_image_is_relocated_and_nothing_else() {
        // A static program with argv and envp: the relocated words are exactly the argv and
        // envp pointers and the auxv entries the model marks as addresses.
        // mov eax, 231 (exit_group); syscall
        let bytes =
            crate::model::elf_builder::ElfBuilder::exec(&[0xb8, 0xe7, 0, 0, 0, 0x0f, 0x05]).bytes();
        let image = ElfImage::parse(&bytes, Role::Program).unwrap();
        let argv = [b"prog".to_vec(), b"a".to_vec()];
        let envp = [b"K=V".to_vec()];
        let input = LoadInput {
            program: &bytes,
            interpreter: None,
            argv: &argv,
            envp: &envp,
            execfn: b"/p/prog",
            addresses: Addresses::example(&image, None),
            host: HostAux::default(),
            vdso: Some(0x7fff_f7fc_1000),
            ids: Ids {
                uid: 1,
                euid: 1,
                gid: 1,
                egid: 1,
                secure: false,
            },
            random: [0; 16],
            stack_rlimit: Some(8 << 20),
        };
        let plan = plan::plan_images(&input, &image, None).unwrap();
        let relocs = stack_relocations(&plan);
        let word = |off: u64| {
            let o = off as usize;
            u64::from_ne_bytes(plan.stack.image[o..o + 8].try_into().unwrap())
        };
        let stack_words: Vec<u64> = relocs
            .iter()
            .filter(|r| r.base == wire::base::STACK)
            .map(|r| word(r.offset))
            .collect();
        // argv[0], argv[1], envp[0], AT_RANDOM, AT_EXECFN, AT_PLATFORM: all in the stack.
        assert_eq!(stack_words.len(), 6);
        assert!(stack_words
            .iter()
            .all(|&w| w >= plan.stack.rsp && w < STACK_TOP));
        let vdso: Vec<u64> = relocs
            .iter()
            .filter(|r| r.base == wire::base::VDSO)
            .map(|r| word(r.offset))
            .collect();
        assert_eq!(vdso, [0x7fff_f7fc_1000]);
        // An ET_EXEC program's AT_PHDR/AT_ENTRY are absolute: not relocated.
        assert!(relocs.iter().all(|r| r.base != wire::base::PROGRAM));
    }
}
