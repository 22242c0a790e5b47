//! A load handed to another process: planned here, carried out by the loader stub in a child
//! (spawning through the userland loader: `Command::loader`).
//!
//! A child made with CLONE_VM shares this process's memory, so it cannot load a program in
//! place ([`super::loader`] would unmap its parent's address space). It execs the loader stub
//! instead (`crate::sys::loader_stub`), with the program's argv and envp: the kernel starts
//! the stub in a fresh address space and builds the program's initial stack there, as its
//! exec of the program would (the strings, AT_RANDOM, the ids and AT_SECURE of the
//! credentials the child ended up with, the vDSO, E2BIG). The stub then carries out what
//! [`prepare`] planned: every step that can fail with the program's errno (opening the files
//! with the kernel's checks, following `#!`, the ELF checks, placing the images) happens
//! here, before any process exists; the stub only maps.
//!
//! The plan is made for an address space this process cannot see, so its addresses are
//! proposals: an ET_EXEC image goes exactly where it says, a PIE to a random base near
//! ELF_ET_DYN_BASE if that is free there, an interpreter or a static PIE where the stub's
//! mmap puts it. Every address that follows from them (entry points, AT_PHDR, AT_BASE, the
//! layout) is sent with the image it moves with, and the stub moves it.
//!
//! The files are opened for the program's runner ([`Runner`]): the ids the child will have
//! judge the permissions, and relative paths start in its working directory.
//!
//! # What differs from the kernel's exec in a spawned child
//! Besides what [`super`] lists for any userland load (set-id bits not honoured, execute-only
//! files refused, x86-64 programs only):
//! - /proc/PID/exe names the program's file when the child may replace it (CAP_SYS_ADMIN or
//!   CAP_CHECKPOINT_RESTORE: the trampoline hands the file over); otherwise, and for a program
//!   from memory, it names the stub's memfd, `/memfd:forkexec-loader (deleted)`, whose bytes
//!   are the stub's (~10 KiB), never the program's;
//! - the kernel built the program's stack for the stub's exec, whose argv ends with two more
//!   strings (the program's AT_EXECFN and the socket's fd number): they stay, unused, between
//!   the argv and envp strings; argc and argv sit 16 bytes higher than the kernel would put
//!   them; the 8 bytes below rsp hold the entry address. They count against the argument
//!   budget: argv and envp that fit by less than their size get E2BIG;
//! - a failure the kernel finds only after its point of no return (and answers with SIGSEGV)
//!   is an errno here: the stub reports it (ENOMEM for an image with no room, EEXIST for an
//!   ET_EXEC image that wants the stub's own addresses, 16 TiB up) and exits
//!   with status 127;
//! - `chroot` and `ptrace` are refused (the files are opened in the parent, outside the new
//!   root; a tracer would stop at the stub's exec);
//! - the spawn returns once the stub closed its socket: the program is about to start (the
//!   trampoline may still be unmapping the stub), as a kernel spawn returns once the exec has
//!   replaced the address space, before the program runs;
//! - the program's and the interpreter's files are read whole in the parent (to check and
//!   plan them), and cross into the child as fds above the child's own, closed before the
//!   program starts; the stub's memfd stays open, close-on-exec, in the spawning process;
//! - it needs memfd_create (Linux 3.17) with executable memfds (`vm.memfd_noexec` below 2,
//!   Linux 6.3) and execveat (3.19; before, `/proc/self/fd/N` is exec'd); the rest is as for
//!   [`super`] (MAP_FIXED_NOREPLACE, PR_SET_MM_MAP).

use super::elf::{ElfImage, Role};
use super::error::LoadError;
use super::file::{ExecFile, Runner};
use super::loader;
use super::maps;
use super::plan::{self, Addresses, ImagePlan, Placement};
use crate::model::binfmt::elf::ELF_PAGE;
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
    /// argv (`#!` scripts rewrite it).
    pub argv: &'a [Vec<u8>],
    /// The AT_EXECFN string and the thread name's source (for a file: its path as given).
    pub execfn: &'a [u8],
    /// Who runs the program, and where.
    pub runner: &'a Runner,
    /// The lowest fd number the files may have in the child: they are kept open through the
    /// stub's exec at their own numbers, which must be above every fd the child sets up.
    pub fd_floor: RawFd,
}

/// A load ready to hand over.
#[derive(Debug)]
pub struct Handoff {
    /// What the stub reads from its socket.
    pub payload: Vec<u8>,
    /// The argv the program gets (after `#!` rewriting; `[""]` for an empty one): the stub is
    /// exec'd with it, then [`Handoff::execfn`] and the socket's fd.
    pub argv: Vec<Vec<u8>>,
    /// The program's AT_EXECFN.
    pub execfn: Vec<u8>,
    /// The files the stub maps pages from (the program's, the interpreter's), at or above the
    /// fd floor, close-on-exec here: the child keeps them open through the stub's exec.
    pub files: Vec<OwnedFd>,
    /// The program as planned (at the proposed addresses).
    pub program: ImagePlan,
    /// Its interpreter as planned.
    pub interpreter: Option<ImagePlan>,
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
            "a userland spawn reads /proc/self/maps once to learn which pages of the vDSO an \
             exec keeps, and cannot (mount /proc)",
        )
    })?;
    let kernel_pages = mappings.iter().filter(|m| m.is_vdso_or_vvar());
    let start = kernel_pages.clone().map(|m| m.start).min().unwrap_or(0) as i64;
    let end = kernel_pages.map(|m| m.end).max().unwrap_or(0) as i64;
    let exit =
        super::vdso::current_exit_sequence(&mappings).map(|e| (e.addr as u64 - base, e.leave));
    Ok(FACTS.get_or_init(|| VdsoFacts {
        base,
        keep: (start - base as i64, end - base as i64),
        exit,
    }))
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

/// Plans the load of `req` for the stub (see the module docs). Fails as execve would, with
/// its errno, having changed nothing.
pub fn prepare(req: &Request<'_>) -> Result<Handoff, LoadError> {
    let mut files = Vec::new();
    let (read, argv, program_fd) = match req.source {
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
    let program: &[u8] = match (&read, req.source) {
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
    // The kernel's checks, in its order, then the images placed at proposed addresses.
    let image = ElfImage::parse(program, Role::Program)?;
    let interp_image = match &interp {
        Some((_, bytes)) => Some(ElfImage::parse(bytes, Role::Interpreter)?),
        None => None,
    };
    let random: [u8; 16] = loader::random_bytes()?;
    let word = |i: usize| u64::from_ne_bytes(random[8 * i..8 * i + 8].try_into().unwrap());
    let mut addresses = Addresses::example(&image, interp_image.as_ref());
    if Placement::for_image(&image, interp.is_some()) == Placement::DynBase {
        let randomized = loader::randomization_on().then_some(word(0));
        addresses.program = loader::dyn_base(image.align.max(ELF_PAGE), randomized);
    }
    let (program_plan, interp_plan) = plan::place_images(
        (&image, program.len() as u64, addresses.program),
        interp_image
            .as_ref()
            .zip(interp.as_ref())
            .map(|(i, (_, b))| (i, b.len() as u64, addresses.interpreter)),
    )?;
    for img in [Some(&program_plan), interp_plan.as_ref()]
        .into_iter()
        .flatten()
    {
        refuse_the_stubs_range(img)?;
    }
    // The heap: after the bss, moved up at random as the kernel's (a static PIE's from near
    // ELF_ET_DYN_BASE: an absolute address), when randomization is full.
    let randomized_heap = loader::randomization_full();
    let static_pie = program_plan.placement == Placement::Anywhere;
    let mm = plan::code_and_data(&program_plan);
    let brk = if randomized_heap {
        loader::random_heap_start(program_plan.placement, mm.start_brk, word(1))
    } else {
        mm.start_brk
    };
    let heap = if randomized_heap && static_pie {
        wire::base::ABSOLUTE
    } else {
        wire::base::PROGRAM
    };
    let program_address = |v: u64| {
        // u64::MAX: no executable segment.
        let b = if v == u64::MAX {
            wire::base::ABSOLUTE
        } else {
            wire::base::PROGRAM
        };
        addr(v, b)
    };
    let vdso = vdso_facts()?;
    let (exit_offset, exit_leave) = vdso.exit.map_or((u64::MAX, 0), |(o, l)| (o, l.into()));
    let mut close = [-1; 4];
    if let Some((fd, _)) = &interp {
        close[0] = *fd;
    }
    let (entry, interpreter_base) = match &interp_plan {
        Some(i) => (
            addr(i.entry, wire::base::INTERPRETER),
            addr(i.bias, wire::base::INTERPRETER),
        ),
        None => (addr(program_plan.entry, wire::base::PROGRAM), addr(0, 0)),
    };
    let header = wire::Header {
        regions: [
            region(&program_plan),
            interp_plan.as_ref().map(region).unwrap_or_default(),
        ],
        entry,
        phdr: addr(program_plan.phdr, wire::base::PROGRAM),
        program_entry: addr(program_plan.entry, wire::base::PROGRAM),
        interpreter_base,
        phnum: u64::from(program_plan.phnum),
        mm: [
            program_address(mm.start_code),
            program_address(mm.end_code),
            program_address(mm.start_data),
            program_address(mm.end_data),
            addr(brk, heap),
            addr(brk, heap),
        ],
        vdso: vdso.base,
        vdso_keep_start: vdso.keep.0,
        vdso_keep_end: vdso.keep.1,
        exit_offset,
        exit_leave,
        exec_stack: image.exec_stack.into(),
        exe_fd: program_fd,
        close,
        comm: loader::thread_name(req.execfn),
        ..wire::Header::default()
    };
    let mut segments = Vec::new();
    let mut holes = Vec::new();
    let program_region = wire::region::PROGRAM;
    image_records(
        &program_plan,
        program_region,
        program_fd,
        &mut segments,
        &mut holes,
    );
    if let (Some(i), Some((fd, _))) = (&interp_plan, &interp) {
        let which = wire::region::INTERPRETER;
        image_records(i, which, *fd, &mut segments, &mut holes);
    }
    let sections = loader_stub::Sections {
        segments: &segments,
        holes: &holes,
        program: if read.is_some() { &[] } else { program },
    };
    // An empty argv reaches the program as [""] (Linux 5.18 and later).
    let argv = if argv.is_empty() {
        vec![Vec::new()]
    } else {
        argv
    };
    Ok(Handoff {
        payload: loader_stub::encode(header, &sections),
        argv,
        execfn: req.execfn.to_vec(),
        files,
        program: program_plan,
        interpreter: interp_plan,
    })
}

/// EEXIST for an ET_EXEC image that wants the addresses where the stub itself is linked.
fn refuse_the_stubs_range(img: &ImagePlan) -> Result<(), LoadError> {
    let (start, end) = loader_stub::STUB_RANGE;
    if img.placement == Placement::Fixed && img.start < end && start < img.end {
        return Err(LoadError::new(
            libc::EEXIST,
            format!(
                "{} wants {:#x}..{:#x}, where the loader stub that loads it in a new process \
                 lies ({start:#x}..{end:#x})",
                loader::role_name(img.role),
                img.start,
                img.end
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
        segments.push(wire::Segment {
            region: which as u32,
            fd,
            offset: s.start - img.start,
            len: s.len,
            file_pages: s.file_len.div_ceil(ELF_PAGE) * ELF_PAGE,
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
