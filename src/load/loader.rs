//! Carrying a [`LoadPlan`] out in the current process, in two stages.
//!
//! **Preparing** ([`prepare`]) may fail, allocates, and changes nothing the current program
//! uses. In order:
//! 1. check the program's and the interpreter's headers, then what the kernel checks only
//!    after its point of no return (both in the kernel's order: [`super::elf`]); refuse a
//!    process with other threads (EBUSY): the kernel kills them at exec; we cannot, and they
//!    would keep running inside the new program's address space;
//! 2. reserve address space (PROT_NONE) for each image, ET_EXEC at its p_vaddr and a PIE at
//!    ELF_ET_DYN_BASE + random with MAP_FIXED_NOREPLACE, an interpreter or a static PIE where
//!    mmap chooses; then for the stack, below the current one (in the gap the kernel keeps
//!    there for stack growth, out of mmap's way), as large as the soft RLIMIT_STACK;
//! 3. plan with those addresses (pure: [`super::plan::plan_images`]);
//! 4. prepare everything the last stage needs as plain data: the heap start, the fds to close,
//!    the thread name, the layout for PR_SET_MM_MAP, the rseq area, and the trampoline in a
//!    page of its own with its parameters (in place: every range of the address space except
//!    the new images, the new stack, the vDSO and vvar pages and the trampoline itself).
//!
//! **Carrying out** ([`Prepared::carry_out`]) allocates nothing and takes no lock (system
//! calls only, on data prepared before): it fills each segment inside its reservation (the file's pages mapped private,
//! or fresh pages filled by copy; bss tail zeroed; final protection set) and maps the stack
//! (growing down, as the kernel's) with its image. A failure so far is returned with the
//! prepared load, whose drop unmaps everything: the process is as it was. Then the point of
//! no return: give the holes back, close the close-on-exec fds, set the thread name, reset
//! caught signal handlers, the alternate signal stack and the thread's robust-list and
//! clear-tid addresses, record the layout (PR_SET_MM_MAP), unregister rseq, and enter the
//! trampoline, which unmaps the old program and starts the new one (`crate::sys::jump`).
//!
//! The split is what a child process needs to load a program as its first act: plan in the
//! parent, carry out after the fork with no allocation. [`Prepared::run`] does both stages in
//! the current process.
//!
//! The kernel learns the new program's layout with PR_SET_MM_MAP (no privilege needed): brk()
//! then grows a heap after the new program's bss, randomized as the kernel's, /proc/PID/maps
//! names the new stack `[stack]`, and /proc/PID/cmdline, environ and auxv show the new
//! program. /proc/PID/exe (which ld.so reads for `$ORIGIN`) names the new program when it was
//! loaded from a file and the process may change it (CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE):
//! the kernel wants no mapping of the old executable left, which the trampoline sees to.
//! Otherwise it keeps naming the loader.

use super::elf::{ElfImage, Role};
use super::error::LoadError;
use super::maps::{self, Mapping};
use super::plan::{self, Addresses, ImagePlan, LoadInput, LoadPlan, Placement, ELF_ET_DYN_BASE};
use crate::model::binfmt::elf::{ELF_PAGE, TASK_SIZE_64};
use crate::model::stack::{HostAux, MAX_RANDOM_GAP};
use crate::sys::jump::{self, Handover, RseqArea, Trampoline};
use crate::sys::mapping::{Region, Where, PAGE};
use crate::sys::mm::MmMap;
use std::os::fd::{BorrowedFd, OwnedFd};

/// The largest stack (4 GiB): a larger or unlimited RLIMIT_STACK gets this much room.
pub const MAX_STACK_BYTES: u64 = 4 << 30;
/// The stack's room with RLIMIT_STACK unlimited.
pub const UNLIMITED_STACK_BYTES: u64 = 256 << 20;
/// The smallest stack room.
pub const MIN_STACK_BYTES: u64 = 128 << 10;
/// How far below the lowest string the kernel's initial stack mapping reaches
/// (`setup_arg_pages`' stack_expand): the new stack is mapped as large.
pub const STACK_EXPAND: u64 = 128 << 10;
/// Distance kept between the current stack and the new one (room for the loader's own stack
/// to go on growing until the jump).
const STACK_SEPARATION: u64 = 1 << 20;
/// Random pages below that, when addresses are randomized (up to 64 MiB).
const STACK_RANDOM_PAGES: u64 = 1 << 14;
/// Random bits of a PIE's base, in pages (the kernel's mmap_rnd_bits default on x86_64).
const DYN_BASE_RANDOM_BITS: u32 = 28;
/// The heap start moves up by less than this many pages (1 GiB), as arch_randomize_brk does
/// for a 64-bit process.
const BRK_RANDOM_PAGES: u64 = (1 << 30) / ELF_PAGE;
/// Random heap starts tried before the plan's own is used.
const HEAP_TRIES: usize = 8;
/// Random bases tried for a PIE before letting mmap choose.
const DYN_BASE_TRIES: usize = 8;

/// What happens to the current program's mappings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// Replace them, as execve replaces the address space: after the jump the process holds
    /// only the new program, its interpreter, its stack and the kernel's vDSO and vvar pages.
    #[default]
    InPlace,
    /// Keep them: the new program is loaded into free address space next to them, and what
    /// the old program mapped stays mapped (its code, heap, stack, libraries, and any memory
    /// it shared). For memory the new program is meant to find at a known address (a shared
    /// mapping made before the load, e.g. a fork server's coverage map or a supervisor's ring
    /// buffer, which no execve can hand over), and for inspecting the loader's own state in a
    /// debugger or core dump afterwards. It costs the old program's memory.
    Alongside,
}

/// Where a segment's bytes come from.
#[derive(Clone, Copy, Debug)]
pub enum Pages<'f> {
    /// The open file: its pages are mapped private, as the kernel maps them.
    File(BorrowedFd<'f>),
    /// The file's bytes in memory: fresh pages filled by copy.
    Memory(&'f [u8]),
}

/// What to load: the program, its interpreter and the exec's arguments. The bytes are read
/// while preparing; the pages (`'f`) are needed until the load is carried out.
#[derive(Debug)]
pub struct Request<'b, 'f> {
    /// The program's bytes.
    pub program: &'b [u8],
    /// Where its segments come from.
    pub program_pages: Pages<'f>,
    /// The interpreter's bytes (when the program has PT_INTERP) and where its segments come
    /// from.
    pub interpreter: Option<(&'b [u8], Pages<'f>)>,
    /// argv.
    pub argv: &'b [Vec<u8>],
    /// envp.
    pub envp: &'b [Vec<u8>],
    /// AT_EXECFN, and the thread name's source.
    pub execfn: &'b [u8],
    /// What happens to the current program's mappings.
    pub mode: Mode,
}

/// One image to fill: its reservation, its plan and where its bytes come from.
#[derive(Debug)]
struct ImageJob<'f> {
    region: Region,
    plan: ImagePlan,
    pages: Pages<'f>,
    /// Parts of the region no segment covers, as (offset, length).
    holes: Vec<(usize, usize)>,
}

/// A load prepared up to the point of no return (nothing the current program uses has
/// changed). Dropping it unmaps the reservations; [`Prepared::carry_out`] or
/// [`Prepared::run`] starts the program.
#[derive(Debug)]
pub struct Prepared<'f> {
    plan: LoadPlan,
    images: Vec<ImageJob<'f>>,
    stack: Region,
    /// Offset and length in `stack` of the mapping made at first (the rest is room to grow).
    stack_mapping: (usize, usize),
    stack_prot: i32,
    comm: [u8; 16],
    cloexec: Vec<i32>,
    rseq: Option<RseqArea>,
    layout: MmMap,
    /// The auxv as words (pairs, AT_NULL last), for PR_SET_MM_MAP.
    auxv: Vec<u64>,
    trampoline: Trampoline,
}

/// Why carrying out a load stopped before the point of no return. A plain value (no
/// allocation), turned into a [`LoadError`] by whoever may allocate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CarryOutError {
    /// The errno of the failed mapping.
    pub errno: crate::Errno,
    /// What failed.
    pub what: CarryOutStep,
}

/// The step of [`Prepared::carry_out`] that failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CarryOutStep {
    /// Mapping, zeroing or protecting one segment (`how`: "map", "zero the bss of", ...).
    Segment {
        /// Program or interpreter.
        role: Role,
        /// The program header's index.
        index: usize,
        /// Where the segment starts.
        start: u64,
        /// What was being done.
        how: &'static str,
    },
    /// Mapping the stack.
    Stack,
}

impl From<CarryOutError> for LoadError {
    fn from(e: CarryOutError) -> LoadError {
        let reason = match e.what {
            CarryOutStep::Segment {
                role,
                index,
                start,
                how,
            } => format!(
                "cannot {how} PT_LOAD #{index} of {} at {start:#x}",
                role_name(role)
            ),
            CarryOutStep::Stack => "cannot map the stack".to_string(),
        };
        LoadError::new(e.errno.0, reason)
    }
}

/// A carry-out that stopped before the point of no return: the prepared load (its drop
/// unmaps what was mapped) and why.
#[derive(Debug)]
pub struct Stopped<'f> {
    /// The load as prepared.
    pub prepared: Prepared<'f>,
    /// Why it stopped.
    pub error: CarryOutError,
}

/// `N` random bytes: getrandom (Linux 3.17), else /dev/urandom (older kernels, or a seccomp
/// filter that refuses getrandom).
pub(super) fn random_bytes<const N: usize>() -> Result<[u8; N], LoadError> {
    let mut b = [0u8; N];
    let mut filled = 0;
    while filled < N {
        match rustix::rand::getrandom(&mut b[filled..], rustix::rand::GetRandomFlags::empty()) {
            Ok(n) => filled += n,
            Err(rustix::io::Errno::INTR) => {}
            Err(rustix::io::Errno::NOSYS | rustix::io::Errno::PERM) => {
                use std::io::Read;
                let urandom = std::fs::File::open("/dev/urandom")
                    .and_then(|mut f| f.read_exact(&mut b[filled..]));
                return urandom.map(|()| b).map_err(|e| {
                    LoadError::new(
                        e.raw_os_error().unwrap_or(libc::EIO),
                        "cannot get random bytes (getrandom needs Linux 3.17; /dev/urandom \
                         cannot be read either)",
                    )
                });
            }
            Err(e) => {
                return Err(LoadError::new(
                    e.raw_os_error(),
                    "cannot get random bytes (getrandom)",
                ))
            }
        }
    }
    Ok(b)
}

fn random_u64() -> Result<u64, LoadError> {
    Ok(u64::from_ne_bytes(random_bytes::<8>()?))
}

fn in_use(e: crate::Errno, what: &str, start: u64, len: u64) -> LoadError {
    let reason = if e.0 == libc::EEXIST {
        format!(
            "{what} wants {start:#x}..{:#x}, which this process already uses",
            start.saturating_add(len)
        )
    } else {
        format!("cannot reserve {len:#x} bytes for {what} at {start:#x}",)
    };
    LoadError::new(e.0, reason)
}

pub(super) fn role_name(r: Role) -> &'static str {
    match r {
        Role::Program => "the program",
        Role::Interpreter => "the interpreter",
    }
}

/// Reserves the span of `img` by its placement rule.
fn reserve_image(img: &ElfImage, has_interp: bool) -> Result<Region, LoadError> {
    let what = role_name(img.role);
    let span = img.span();
    let len = usize::try_from(span).map_err(|_| LoadError::new(libc::ENOMEM, "span too large"))?;
    match Placement::for_image(img, has_interp) {
        Placement::Fixed => Region::reserve(Where::Exactly(img.first as usize), len)
            .map_err(|e| in_use(e, what, img.first, span)),
        Placement::DynBase => {
            let task = img.header.class.task_size();
            let randomize = randomization_on();
            for attempt in 0..DYN_BASE_TRIES {
                // Without randomization the kernel uses ELF_ET_DYN_BASE itself; try that
                // first (it is often where this process's own image is), then random bases.
                let random = if attempt == 0 && !randomize {
                    None
                } else {
                    Some(random_u64()?)
                };
                let base = dyn_base(img.align, random);
                if base.saturating_add(span) > task {
                    continue;
                }
                if let Ok(r) = Region::reserve(Where::Exactly(base as usize), len) {
                    return Ok(r);
                }
            }
            Region::reserve(
                Where::Anywhere {
                    align: img.align as usize,
                },
                len,
            )
            .map_err(|e| in_use(e, what, 0, span))
        }
        Placement::Anywhere => Region::reserve(
            Where::Anywhere {
                align: img.align as usize,
            },
            len,
        )
        .map_err(|e| in_use(e, what, 0, span)),
    }
}

/// Where a PIE program with an interpreter goes: ELF_ET_DYN_BASE, moved up by `random` pages
/// (its low 28 bits) when addresses are randomized, aligned down to `align`.
pub(super) fn dyn_base(align: u64, random: Option<u64>) -> u64 {
    let pages = random.map_or(0, |r| r & ((1 << DYN_BASE_RANDOM_BITS) - 1));
    (ELF_ET_DYN_BASE + pages * ELF_PAGE) & !(align - 1)
}

/// The random distance (whole pages, under 64 MiB) between the current stack and a new one.
pub(super) fn stack_offset(random: u64) -> u64 {
    (random % STACK_RANDOM_PAGES) * ELF_PAGE
}

/// The stack's room: the soft RLIMIT_STACK rounded to pages, within bounds.
pub fn stack_size(rlimit: Option<u64>) -> u64 {
    match rlimit {
        None => UNLIMITED_STACK_BYTES,
        Some(r) => (r & !(ELF_PAGE - 1)).clamp(MIN_STACK_BYTES, MAX_STACK_BYTES),
    }
}

/// Reserves `size` bytes of stack room and a guard page. The kernel keeps a gap below the
/// initial stack for it to grow into, and mmap places nothing there; the new stack goes into
/// that gap, below the current stack (a little further down at random when addresses are
/// randomized), so that it too can grow without meeting other mappings. Where there is no
/// room there (or no /proc to find the current stack), mmap chooses.
fn reserve_stack(size: u64, current: Option<&Mapping>) -> Result<Region, LoadError> {
    let len = size as usize + PAGE;
    if let Some(old) = current {
        let offset = if randomization_on() {
            stack_offset(random_u64()?)
        } else {
            0
        };
        let top = (old.start as u64).checked_sub(STACK_SEPARATION + offset);
        if let Some(bottom) = top.and_then(|t| t.checked_sub(len as u64)) {
            if let Ok(r) = Region::reserve(Where::Exactly(bottom as usize), len) {
                return Ok(r);
            }
        }
    }
    Region::reserve(Where::Anywhere { align: PAGE }, len)
        .map_err(|e| in_use(e, "the stack", 0, size))
}

/// The part of the stack room mapped at first, as (offset, length) in a region of
/// `region_len` bytes whose top is the plan's stack top: as the kernel's `setup_arg_pages`
/// leaves it, the pages of the strings and [`STACK_EXPAND`] bytes below them (at most the
/// room), and always the page holding rsp.
pub(super) fn initial_stack_mapping(plan: &LoadPlan, region_len: u64) -> (usize, usize) {
    let s = &plan.stack;
    let strings = &s.layout.strings;
    let lowest_string = strings
        .argv
        .iter()
        .chain(&strings.envp)
        .chain(std::iter::once(&strings.execfn))
        .copied()
        .min()
        .unwrap_or(s.rsp);
    let below_strings = s.top - (lowest_string & !(ELF_PAGE - 1)) + STACK_EXPAND;
    let holding_rsp = s.top - (s.rsp & !(ELF_PAGE - 1)) + ELF_PAGE;
    let len = below_strings.min(s.size).max(holding_rsp).min(region_len);
    ((region_len - len) as usize, len as usize)
}

/// Counts this process's threads (from /proc/self/status).
fn thread_count() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
}

/// Fills one image's segments into its region. Allocates nothing.
fn fill_image(job: &ImageJob<'_>) -> Result<(), CarryOutError> {
    let region = &job.region;
    let img = &job.plan;
    let base = region.addr() as u64;
    for s in &img.segments {
        let fail = |e: crate::Errno, how: &'static str| CarryOutError {
            errno: e,
            what: CarryOutStep::Segment {
                role: img.role,
                index: s.index,
                start: s.start,
                how,
            },
        };
        let off = (s.start - base) as usize;
        let len = s.len as usize;
        let file_pages = if s.file_len == 0 {
            0
        } else {
            (s.file_len as usize).div_ceil(PAGE) * PAGE
        };
        match job.pages {
            // From a file: the file's pages, private, then anonymous pages for the rest of
            // the bss, as the kernel maps them (and as /proc/PID/maps will name them).
            Pages::File(fd) if file_pages > 0 => {
                let bss_zero = s.zero_len > 0;
                let prot = if bss_zero {
                    s.prot.0 | libc::PROT_WRITE
                } else {
                    s.prot.0
                };
                region
                    .map_file(off, file_pages.min(len), fd, s.file_offset, prot)
                    .map_err(|e| fail(e, "map"))?;
                if bss_zero {
                    region
                        .zero(off + s.file_len as usize, s.zero_len as usize)
                        .map_err(|e| fail(e, "zero the bss of"))?;
                    region
                        .protect(off, file_pages.min(len), s.prot.0)
                        .map_err(|e| fail(e, "protect"))?;
                }
            }
            Pages::File(_) => {}
            // From memory: fresh zero pages with the file bytes copied in (the plan checked
            // that they are in the file).
            Pages::Memory(bytes) => {
                let from = s.file_offset as usize;
                let data = bytes
                    .get(from..from + s.file_len as usize)
                    .ok_or_else(|| fail(crate::Errno(libc::EIO), "read the bytes of"))?;
                region
                    .fill(off, file_pages.min(len), 0, data, s.prot.0)
                    .map_err(|e| fail(e, "map"))?;
            }
        }
        // The bss pages after the file's, anonymous, as vm_brk_flags makes them.
        if len > file_pages {
            region
                .fill(off + file_pages, len - file_pages, 0, &[], s.bss_prot.0)
                .map_err(|e| fail(e, "map the bss of"))?;
        }
    }
    Ok(())
}

fn holes(region: &Region, img: &ImagePlan) -> Vec<(usize, usize)> {
    let base = region.addr() as u64;
    img.holes
        .iter()
        .map(|&(a, l)| ((a - base) as usize, l as usize))
        .collect()
}

/// Every range of the user address space outside `keep` (address, length pairs), in order.
fn outside(keep: &mut [(usize, usize)]) -> Vec<(usize, usize)> {
    keep.sort_unstable();
    let mut ranges = Vec::new();
    let mut cursor = 0usize;
    for &(start, len) in keep.iter() {
        if start > cursor {
            ranges.push((cursor, start - cursor));
        }
        cursor = cursor.max(start.saturating_add(len));
    }
    let end = TASK_SIZE_64 as usize;
    if cursor < end {
        ranges.push((cursor, end - cursor));
    }
    ranges
}

/// Prepares `req` (see the module docs): every step that can fail, nothing the current
/// program uses changed.
pub fn prepare<'f>(req: &Request<'_, 'f>) -> Result<Prepared<'f>, LoadError> {
    let program = ElfImage::parse(req.program, Role::Program)?;
    let interp = match (&program.interp, req.interpreter) {
        (None, _) => None,
        (Some(p), None) => {
            return Err(LoadError::new(
                libc::ENOENT,
                format!("the interpreter \"{}\" was not given", p.escape_ascii()),
            ))
        }
        (Some(_), Some((bytes, _))) => Some(ElfImage::parse(bytes, Role::Interpreter)?),
    };
    super::elf::check_loadable(&program, interp.as_ref())?;
    // Checked after the files, as the kernel kills other threads only once they passed.
    if let Some(n) = thread_count().filter(|&n| n > 1) {
        return Err(LoadError::new(
            libc::EBUSY,
            format!("this process has {n} threads; a userland exec needs to be the only one (the kernel would kill the others)"),
        ));
    }
    let mappings = maps::current();
    if req.mode == Mode::InPlace {
        if let Err(e) = &mappings {
            return Err(LoadError::new(
                e.raw_os_error().unwrap_or(libc::EIO),
                "an in-place load reads /proc/self/maps to keep the vDSO, and cannot (mount /proc, or load alongside)",
            ));
        }
    }
    let mappings = mappings.unwrap_or_default();
    let prog_region = reserve_image(&program, interp.is_some())?;
    let interp_region = match &interp {
        Some(i) => Some(reserve_image(i, false)?),
        None => None,
    };
    let rlimit = rustix::process::getrlimit(rustix::process::Resource::Stack).current;
    let size = stack_size(rlimit);
    let stack = reserve_stack(size, maps::stack(&mappings))?;
    let stack_top = (stack.addr() + stack.len()) as u64;
    // arch_align_stack: a random gap below the strings, when randomization is on.
    let gap = if randomization_on() {
        random_u64()? % (MAX_RANDOM_GAP + 1)
    } else {
        0
    };
    let input = LoadInput {
        program: req.program,
        interpreter: req.interpreter.map(|(b, _)| b),
        argv: req.argv,
        envp: req.envp,
        execfn: req.execfn,
        addresses: Addresses {
            program: prog_region.addr() as u64,
            interpreter: interp_region.as_ref().map_or(0, |r| r.addr() as u64),
            stack_top,
            stack_size: size,
            stack_gap: gap,
        },
        host: HostAux::from_proc(),
        vdso: super::vdso::current(),
        ids: super::credentials::after_exec(),
        random: random_bytes::<16>()?,
        stack_rlimit: rlimit,
    };
    let plan = plan::plan_images(&input, &program, interp.as_ref())?;
    let stack_mapping = initial_stack_mapping(&plan, stack.len() as u64);
    let stack_prot = if plan.stack.executable {
        libc::PROT_EXEC
    } else {
        0
    };

    let mut images = vec![ImageJob {
        holes: holes(&prog_region, &plan.program),
        region: prog_region,
        plan: plan.program.clone(),
        pages: req.program_pages,
    }];
    if let (Some(region), Some(i), Some((_, pages))) =
        (interp_region, &plan.interpreter, req.interpreter)
    {
        images.push(ImageJob {
            holes: holes(&region, i),
            region,
            plan: i.clone(),
            pages,
        });
    }
    let brk = heap_start(&plan)?;
    let layout = layout(&plan, brk);
    let auxv: Vec<u64> = plan.stack.auxv.iter().flat_map(|&(k, v)| [k, v]).collect();

    let mut trampoline =
        Trampoline::reserve().map_err(|e| in_use(e, "the trampoline", 0, PAGE as u64))?;
    let new_images: Vec<(usize, usize)> = images
        .iter()
        .map(|j| (j.region.addr(), j.region.len()))
        .collect();
    // What the trampoline unmaps, and whether /proc/PID/exe can change (its old file must be
    // unmapped for that).
    let (unmap, exe_replaceable) = match req.mode {
        Mode::InPlace => {
            let mut keep = new_images.clone();
            keep.push((stack.addr(), stack.len()));
            keep.push(trampoline.range());
            keep.extend(
                mappings
                    .iter()
                    .filter(|m| m.is_vdso_or_vvar())
                    .map(|m| (m.start, m.len())),
            );
            (outside(&mut keep), true)
        }
        Mode::Alongside => match old_exe_ranges(&mappings, &new_images) {
            Some(r) => (r, true),
            None => (Vec::new(), false),
        },
    };
    // A duplicate without close-on-exec: it must survive until the trampoline hands it over.
    let exe: Option<OwnedFd> = match req.program_pages {
        Pages::File(fd) if exe_replaceable && may_replace_exe() => rustix::io::dup(fd).ok(),
        _ => None,
    };
    let handover = Handover {
        unmap: &unmap,
        exe: exe.map(|fd| (fd, layout)),
        rsp: plan.stack.rsp as usize,
        entry: plan.entry as usize,
        exit: super::vdso::current_exit_sequence(&mappings),
    };
    trampoline.write(handover, &stack).map_err(|e| {
        LoadError::new(
            e.0,
            format!(
                "cannot write the trampoline ({} ranges to unmap, at most {})",
                unmap.len(),
                jump::max_unmap_ranges()
            ),
        )
    })?;
    // Listed last: the files above are close-on-exec too, and closed with the others once
    // their pages are mapped.
    let cloexec = cloexec_fds();
    Ok(Prepared {
        comm: thread_name(req.execfn),
        plan,
        images,
        stack,
        stack_mapping,
        stack_prot,
        cloexec,
        rseq: jump::rseq_area(),
        layout,
        auxv,
        trampoline,
    })
}

/// The thread name an exec sets: the file's base name, cut to 15 bytes (TASK_COMM_LEN), NUL
/// terminated.
pub(super) fn thread_name(execfn: &[u8]) -> [u8; 16] {
    let base = execfn.rsplit(|&c| c == b'/').next().unwrap_or(execfn);
    let mut comm = [0u8; 16];
    for (slot, &c) in comm
        .iter_mut()
        .zip(base.iter().filter(|&&c| c != 0).take(15))
    {
        *slot = c;
    }
    comm
}

/// Whether this process may replace its /proc/PID/exe (PR_SET_MM_EXE_FILE needs
/// CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN), from CapEff in /proc/self/status.
fn may_replace_exe() -> bool {
    const CAP_SYS_ADMIN: u32 = 21;
    const CAP_CHECKPOINT_RESTORE: u32 = 40;
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return false;
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .is_some_and(|caps| caps & (1 << CAP_SYS_ADMIN | 1 << CAP_CHECKPOINT_RESTORE) != 0)
}

/// The mappings of the current executable (/proc/self/exe), which the kernel wants gone before
/// it accepts a new one, except those inside `new_images` (the program just loaded may be the
/// same file); `None` when there are none, they cannot be found, or there are more than the
/// trampoline takes (then the exe is left alone).
fn old_exe_ranges(maps: &[Mapping], new_images: &[(usize, usize)]) -> Option<Vec<(usize, usize)>> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata("/proc/self/exe").ok()?;
    // maps names a file by device (major:minor in hex) and inode.
    let dev = format!(
        "{:02x}:{:02x}",
        rustix::fs::major(meta.dev()),
        rustix::fs::minor(meta.dev())
    );
    let ranges: Vec<(usize, usize)> = maps
        .iter()
        .filter(|m| m.device == dev && m.inode == meta.ino())
        .filter(|m| {
            !new_images
                .iter()
                .any(|&(start, len)| m.start < start.saturating_add(len) && start < m.end)
        })
        .map(|m| (m.start, m.len()))
        .collect();
    (!ranges.is_empty() && ranges.len() <= jump::max_unmap_ranges()).then_some(ranges)
}

/// The open fds marked close-on-exec, from /proc/self/fd (the directory's own fd is closed by
/// then). Without /proc nothing is closed.
fn cloexec_fds() -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
        return Vec::new();
    };
    let fds: Vec<i32> = dir
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    fds.into_iter()
        .filter(|&fd| {
            crate::sys::raw::fcntl(fd, libc::F_GETFD, 0)
                .is_ok_and(|flags| flags & libc::FD_CLOEXEC as usize != 0)
        })
        .collect()
}

/// Where the new program's heap starts. With full randomization the kernel moves it up to
/// 1 GiB at random, and a static PIE's (its image lies in the mmap area, with no room to grow)
/// to ELF_ET_DYN_BASE. The kernel's address space is empty there; ours is not, so a start
/// whose first page is taken is drawn again (a few times, then the plan's own is used).
fn heap_start(plan: &LoadPlan) -> Result<u64, LoadError> {
    if !randomization_full() {
        return Ok(plan.brk);
    }
    for _ in 0..HEAP_TRIES {
        let start = random_heap_start(plan.program.placement, plan.brk, random_u64()?);
        // A page reserved and dropped at once: free now, and left free.
        if Region::reserve(Where::Exactly(start as usize), PAGE).is_ok() {
            return Ok(start);
        }
    }
    Ok(plan.brk)
}

/// A heap start drawn with `random`: after the program's bss (`brk`; a static PIE's, placed
/// `Anywhere`: after ELF_ET_DYN_BASE), less than 1 GiB up, as arch_randomize_brk draws it.
pub(super) fn random_heap_start(placement: Placement, brk: u64, random: u64) -> u64 {
    let base = if placement == Placement::Anywhere {
        (ELF_ET_DYN_BASE + ELF_PAGE - 1) & !(ELF_PAGE - 1)
    } else {
        brk
    };
    base + (random % BRK_RANDOM_PAGES) * ELF_PAGE
}

/// Whether randomization is full (randomize_va_space 2): the heap start is randomized too.
pub(super) fn randomization_full() -> bool {
    randomize_va_space() >= 2 && !personality_no_randomize()
}

/// The layout PR_SET_MM_MAP records: the plan's, with the heap starting at `brk`.
pub(super) fn layout(plan: &LoadPlan, brk: u64) -> MmMap {
    let m = &plan.mm;
    MmMap {
        start_code: m.start_code,
        end_code: m.end_code,
        start_data: m.start_data,
        end_data: m.end_data,
        start_brk: brk,
        brk,
        start_stack: m.start_stack,
        arg_start: m.arg_start,
        arg_end: m.arg_end,
        env_start: m.env_start,
        env_end: m.env_end,
        ..Default::default()
    }
}

/// Whether addresses are randomized for this process, as the kernel's PF_RANDOMIZE:
/// randomize_va_space is not 0 and the personality lacks ADDR_NO_RANDOMIZE (`setarch -R`).
pub(super) fn randomization_on() -> bool {
    randomize_va_space() >= 1 && !personality_no_randomize()
}

/// /proc/sys/kernel/randomize_va_space (2, full randomization, when unreadable), read once
/// per process: a machine setting, and reading it costs a spawn through the loader ~2 us.
fn randomize_va_space() -> u32 {
    static SETTING: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *SETTING.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/kernel/randomize_va_space")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(2)
    })
}

/// Whether this process's personality has ADDR_NO_RANDOMIZE (`setarch -R`).
fn personality_no_randomize() -> bool {
    const ADDR_NO_RANDOMIZE: u32 = 0x0040000;
    crate::sys::raw::personality() & ADDR_NO_RANDOMIZE != 0
}

impl<'f> Prepared<'f> {
    /// The plan that is carried out.
    pub fn plan(&self) -> &LoadPlan {
        &self.plan
    }

    /// Carries the load out and starts the program; returns only if it stopped before the
    /// point of no return. Allocates nothing, frees nothing and takes no lock (system calls
    /// only), so a child process can call it right after a fork: on failure it hands the
    /// prepared load back untouched by any drop (a child may exit without dropping it).
    pub fn carry_out(self) -> Stopped<'f> {
        for job in &self.images {
            if let Err(error) = fill_image(job) {
                return Stopped {
                    prepared: self,
                    error,
                };
            }
        }
        let (offset, len) = self.stack_mapping;
        if let Err(e) = self
            .stack
            .map_stack(offset, len, &self.plan.stack.image, self.stack_prot)
        {
            return Stopped {
                prepared: self,
                error: CarryOutError {
                    errno: e,
                    what: CarryOutStep::Stack,
                },
            };
        }
        self.point_of_no_return()
    }

    /// The point of no return: keeps the new mappings, resets what exec resets, and enters
    /// the trampoline. Never returns.
    fn point_of_no_return(self) -> ! {
        let Prepared {
            images,
            stack,
            stack_mapping,
            comm,
            cloexec,
            rseq,
            layout,
            auxv,
            trampoline,
            ..
        } = self;
        for job in images {
            job.region.keep(&job.holes);
        }
        // The room below the stack's first mapping, for it to grow into.
        stack.keep(&[(0, stack_mapping.0)]);
        // execve closes the close-on-exec fds (the files loaded from are among them; their
        // pages are mapped).
        for &fd in &cloexec {
            let _ = crate::sys::raw::close(fd);
        }
        if let Ok(name) = std::ffi::CStr::from_bytes_until_nul(&comm) {
            let _ = rustix::thread::set_name(name);
        }
        jump::reset_signal_handlers();
        jump::disable_altstack();
        jump::forget_thread_addresses();
        // Best effort: without CONFIG_CHECKPOINT_RESTORE the program still runs, with the
        // loader's heap and /proc entries. An auxv larger than the kernel keeps (saved_auxv)
        // is EINVAL: then without it.
        if crate::sys::mm::set_mm_map(&layout, Some(&auxv)).is_err() {
            let _ = crate::sys::mm::set_mm_map(&layout, None);
        }
        if let Some(area) = &rseq {
            jump::unregister_rseq(area);
        }
        trampoline.enter()
    }

    /// [`Prepared::carry_out`], with a stop turned into a [`LoadError`] after the prepared
    /// load is dropped (its mappings are unmapped). Returns only on failure.
    pub fn run(self) -> LoadError {
        let Stopped { prepared, error } = self.carry_out();
        drop(prepared);
        error.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_covers_everything_but_what_is_kept() {
        let mut keep = vec![(0x7000, 0x1000), (0x1000, 0x2000), (0x2000, 0x1000)];
        assert_eq!(
            outside(&mut keep),
            vec![
                (0, 0x1000),
                (0x3000, 0x4000),
                (0x8000, TASK_SIZE_64 as usize - 0x8000)
            ]
        );
        assert_eq!(outside(&mut []), vec![(0, TASK_SIZE_64 as usize)]);
    }

    #[test]
    fn the_thread_name_is_the_base_name_cut_to_15_bytes() {
        assert_eq!(&thread_name(b"/usr/bin/true")[..5], b"true\0");
        assert_eq!(thread_name(b"a-very-long-program-name")[15], 0);
        assert_eq!(
            &thread_name(b"a-very-long-program-name")[..15],
            b"a-very-long-pro"
        );
    }
}
