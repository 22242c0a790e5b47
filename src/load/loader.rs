//! Carrying a [`LoadPlan`] out in the current process.
//!
//! The order, and why:
//! 1. parse and check the program and its interpreter ([`super::elf`]), then refuse a process
//!    with other threads (EBUSY): the kernel kills them at exec; we cannot, and they would keep
//!    running inside the new program's address space;
//! 2. reserve address space for each image (PROT_NONE): ET_EXEC at its p_vaddr and a PIE at
//!    ELF_ET_DYN_BASE + random with MAP_FIXED_NOREPLACE, an interpreter or a static PIE where
//!    mmap chooses; then the stack (the soft RLIMIT_STACK, capped, with a guard page below);
//! 3. plan with those addresses (pure: [`super::plan::plan_images`]);
//! 4. fill each segment inside its reservation: the file's pages mapped private (from a file)
//!    or fresh pages filled by copy (from memory), bss tail zeroed, final protection set;
//!    write the stack image;
//! 5. the point of no return: give the holes back, close the close-on-exec fds, set the
//!    thread name, reset caught signal handlers and the alternate signal stack, record the
//!    layout (PR_SET_MM_MAP), unregister rseq, jump (replacing /proc/PID/exe on the way).
//!
//! Every step up to 4 can fail, and a failure there unmaps what was reserved (the regions'
//! drop): the process is left as it was and the error is returned. Step 5 cannot fail.
//!
//! The current program's mappings stay: the loader runs in free address space, as a userland
//! exec must (the code doing the loading lives in those mappings until the jump), and they
//! are the current program's, which may still use them until then. The kernel learns the new
//! program's layout with PR_SET_MM_MAP (no privilege needed): brk() then grows a heap after
//! the new program's bss, randomized as the kernel's, and /proc/PID/cmdline, environ and
//! auxv show the new program. /proc/PID/exe (which ld.so reads for `$ORIGIN`) names the new
//! program when it was loaded from a file and the process may change it (CAP_SYS_ADMIN or
//! CAP_CHECKPOINT_RESTORE): the kernel wants no mapping of the old executable left, so a copy
//! of the trampoline in a page of its own unmaps them first (`crate::sys::jump`). Otherwise
//! it keeps naming the loader.

use super::elf::{ElfImage, Role};
use super::error::LoadError;
use super::plan::{self, Addresses, ImagePlan, LoadInput, LoadPlan, Placement, ELF_ET_DYN_BASE};
use crate::model::binfmt::elf::ELF_PAGE;
use crate::model::stack::{HostAux, Ids, MAX_RANDOM_GAP};
use crate::sys::mapping::{Region, Where, PAGE};
use std::os::fd::BorrowedFd;

/// The largest stack mapping (4 GiB): a larger or unlimited RLIMIT_STACK gets this much.
pub const MAX_STACK_BYTES: u64 = 4 << 30;
/// The stack mapping with RLIMIT_STACK unlimited.
pub const UNLIMITED_STACK_BYTES: u64 = 256 << 20;
/// The smallest stack mapping.
pub const MIN_STACK_BYTES: u64 = 128 << 10;
/// Random bits of a PIE's base, in pages (the kernel's mmap_rnd_bits default on x86_64).
const DYN_BASE_RANDOM_BITS: u32 = 28;
/// The heap start moves up by less than this many pages (1 GiB), as arch_randomize_brk does
/// for a 64-bit process.
const BRK_RANDOM_PAGES: u64 = (1 << 30) / ELF_PAGE;
/// Random heap starts tried before the plan's own is used.
const HEAP_TRIES: usize = 8;
/// Random bases tried for a PIE before letting mmap choose.
const DYN_BASE_TRIES: usize = 8;

/// What to load: the program, its interpreter and the exec's arguments.
#[derive(Debug)]
pub struct Request<'a> {
    /// The program's bytes.
    pub program: &'a [u8],
    /// The program's open file, to map its pages instead of copying them.
    pub program_fd: Option<BorrowedFd<'a>>,
    /// The interpreter's bytes (when the program has PT_INTERP).
    pub interpreter: Option<&'a [u8]>,
    /// The interpreter's open file.
    pub interpreter_fd: Option<BorrowedFd<'a>>,
    /// argv.
    pub argv: &'a [Vec<u8>],
    /// envp.
    pub envp: &'a [Vec<u8>],
    /// AT_EXECFN, and the thread name's source.
    pub execfn: &'a [u8],
}

/// A load carried out up to the point of no return: the plan and the mappings made for it.
/// Dropping it unmaps everything; [`Prepared::run`] starts the program.
#[derive(Debug)]
pub struct Prepared {
    plan: LoadPlan,
    /// Each image's region with the holes to give back.
    images: Vec<(Region, Vec<(usize, usize)>)>,
    stack: Region,
    name: Vec<u8>,
    /// The heap start: the plan's, moved up by up to 1 GiB at random (arch_randomize_brk).
    brk: u64,
    /// The program's file, to become /proc/PID/exe (when loaded from a file and permitted).
    exe: Option<std::os::fd::OwnedFd>,
}

fn random_bytes<const N: usize>() -> Result<[u8; N], LoadError> {
    let mut b = [0u8; N];
    let mut filled = 0;
    while filled < N {
        match rustix::rand::getrandom(&mut b[filled..], rustix::rand::GetRandomFlags::empty()) {
            Ok(n) => filled += n,
            Err(rustix::io::Errno::INTR) => {}
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

fn role_name(r: Role) -> &'static str {
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
                let rnd = if attempt == 0 && !randomize {
                    0
                } else {
                    (random_u64()? & ((1 << DYN_BASE_RANDOM_BITS) - 1)) * ELF_PAGE
                };
                let base = (ELF_ET_DYN_BASE + rnd) & !(img.align - 1);
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

/// The stack mapping's size: the soft RLIMIT_STACK rounded to pages, within bounds.
pub fn stack_size(rlimit: Option<u64>) -> u64 {
    match rlimit {
        None => UNLIMITED_STACK_BYTES,
        Some(r) => (r & !(ELF_PAGE - 1)).clamp(MIN_STACK_BYTES, MAX_STACK_BYTES),
    }
}

/// The ids after the exec: no set-id bits are honoured (the process keeps its credentials, as
/// with a nosuid mount), so AT_SECURE is 0.
fn ids() -> Ids {
    use rustix::process::{getegid, geteuid, getgid, getuid};
    Ids {
        uid: getuid().as_raw(),
        euid: geteuid().as_raw(),
        gid: getgid().as_raw(),
        egid: getegid().as_raw(),
        secure: false,
    }
}

/// Counts this process's threads (from /proc/self/status).
fn thread_count() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
}

/// Fills one image's segments into its region.
fn fill_image(
    region: &Region,
    img: &ImagePlan,
    bytes: &[u8],
    fd: Option<BorrowedFd<'_>>,
) -> Result<(), LoadError> {
    let base = region.addr() as u64;
    for s in &img.segments {
        let fail = |e: crate::Errno, how: &str| {
            LoadError::new(
                e.0,
                format!(
                    "cannot {how} PT_LOAD #{} of {} at {:#x}",
                    s.index,
                    role_name(img.role),
                    s.start
                ),
            )
        };
        let off = (s.start - base) as usize;
        let len = s.len as usize;
        let file_pages = if s.file_len == 0 {
            0
        } else {
            (s.file_len as usize).div_ceil(PAGE) * PAGE
        };
        match fd {
            // From a file: the file's pages, private, then anonymous pages for the rest of
            // the bss, as the kernel maps them (and as /proc/PID/maps will name them).
            Some(fd) if file_pages > 0 => {
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
            // From memory: fresh zero pages with the file bytes copied in.
            _ => {
                let from = s.file_offset as usize;
                let data = bytes
                    .get(from..from + s.file_len as usize)
                    .ok_or_else(|| LoadError::new(libc::EIO, "segment past the end of the file"))?;
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

/// Loads `req` into free address space: every step that can fail (see the module docs).
pub fn prepare(req: &Request<'_>) -> Result<Prepared, LoadError> {
    let program = ElfImage::parse(req.program, Role::Program)?;
    let interp = match (&program.interp, req.interpreter) {
        (None, _) => None,
        (Some(p), None) => {
            return Err(LoadError::new(
                libc::ENOENT,
                format!("the interpreter \"{}\" was not given", p.escape_ascii()),
            ))
        }
        (Some(_), Some(b)) => Some(ElfImage::parse(b, Role::Interpreter)?),
    };
    // Checked after the files, as the kernel kills other threads only once they passed.
    if let Some(n) = thread_count().filter(|&n| n > 1) {
        return Err(LoadError::new(
            libc::EBUSY,
            format!("this process has {n} threads; a userland exec needs to be the only one (the kernel would kill the others)"),
        ));
    }
    let prog_region = reserve_image(&program, interp.is_some())?;
    let interp_region = match &interp {
        Some(i) => Some(reserve_image(i, false)?),
        None => None,
    };
    let rlimit = rustix::process::getrlimit(rustix::process::Resource::Stack).current;
    let size = stack_size(rlimit);
    let stack_region = Region::reserve(Where::Anywhere { align: PAGE }, size as usize + PAGE)
        .map_err(|e| in_use(e, "the stack", 0, size))?;
    let stack_top = stack_region.addr() as u64 + PAGE as u64 + size;
    // arch_align_stack: a random gap below the strings, when randomization is on.
    let gap = if randomization_on() {
        random_u64()? % (MAX_RANDOM_GAP + 1)
    } else {
        0
    };
    let input = LoadInput {
        program: req.program,
        interpreter: req.interpreter,
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
        ids: ids(),
        random: random_bytes::<16>()?,
        stack_rlimit: rlimit,
    };
    let plan = plan::plan_images(&input, &program, interp.as_ref())?;

    fill_image(&prog_region, &plan.program, req.program, req.program_fd)?;
    if let (Some(r), Some(i), Some(b)) = (&interp_region, &plan.interpreter, req.interpreter) {
        fill_image(r, i, b, req.interpreter_fd)?;
    }
    let image = &plan.stack.image;
    let prot = libc::PROT_READ
        | libc::PROT_WRITE
        | if plan.stack.executable {
            libc::PROT_EXEC
        } else {
            0
        };
    stack_region
        .fill(
            PAGE,
            size as usize,
            size as usize - image.len(),
            image,
            prot,
        )
        .map_err(|e| LoadError::new(e.0, "cannot map the stack"))?;

    let prog_holes = holes(&prog_region, &plan.program);
    let mut images = vec![(prog_region, prog_holes)];
    if let (Some(r), Some(i)) = (interp_region, &plan.interpreter) {
        let h = holes(&r, i);
        images.push((r, h));
    }
    let name = req
        .execfn
        .rsplit(|&c| c == b'/')
        .next()
        .unwrap_or(req.execfn)
        .to_vec();
    let brk = heap_start(&plan)?;
    // A duplicate without close-on-exec: it must survive until the trampoline hands it over.
    let exe = match req.program_fd {
        Some(fd) if may_replace_exe() => rustix::io::dup(fd).ok(),
        _ => None,
    };
    Ok(Prepared {
        plan,
        images,
        stack: stack_region,
        name,
        brk,
        exe,
    })
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
/// same file); `None` when they cannot be listed (then the exe is left alone).
#[cfg(target_arch = "x86_64")]
fn old_exe_ranges(new_images: &[(usize, usize)]) -> Option<Vec<(usize, usize)>> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata("/proc/self/exe").ok()?;
    // maps names a file by device (major:minor in hex) and inode.
    let dev = format!(
        "{:02x}:{:02x}",
        rustix::fs::major(meta.dev()),
        rustix::fs::minor(meta.dev())
    );
    let ino = meta.ino().to_string();
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    let mut ranges = Vec::new();
    for line in maps.lines() {
        let f: Vec<&str> = line.split_whitespace().take(5).collect();
        let [range, _, _, d, inode] = f[..] else {
            continue;
        };
        if d != dev || inode != ino {
            continue;
        }
        let (a, b) = range.split_once('-')?;
        let (a, b) = (
            usize::from_str_radix(a, 16).ok()?,
            usize::from_str_radix(b, 16).ok()?,
        );
        let ours = new_images
            .iter()
            .any(|&(start, len)| a < start.saturating_add(len) && start < b);
        if !ours {
            ranges.push((a, b.checked_sub(a)?));
        }
    }
    (!ranges.is_empty() && ranges.len() <= crate::sys::jump::MAX_EXE_RANGES).then_some(ranges)
}

/// The open fds marked close-on-exec, from /proc/self/fd (the directory's own fd is closed by
/// then). Without /proc nothing is closed.
#[cfg(target_arch = "x86_64")]
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
    let base = if plan.program.placement == Placement::Anywhere {
        (ELF_ET_DYN_BASE + ELF_PAGE - 1) & !(ELF_PAGE - 1)
    } else {
        plan.brk
    };
    for _ in 0..HEAP_TRIES {
        let start = base + (random_u64()? % BRK_RANDOM_PAGES) * ELF_PAGE;
        // A page reserved and dropped at once: free now, and left free.
        if Region::reserve(Where::Exactly(start as usize), PAGE).is_ok() {
            return Ok(start);
        }
    }
    Ok(plan.brk)
}

/// Whether randomization is full (randomize_va_space 2): the heap start is randomized too.
fn randomization_full() -> bool {
    randomize_va_space() >= 2 && !personality_no_randomize()
}

/// Tells the kernel the new program's layout (PR_SET_MM_MAP): its heap starts at `brk` (so
/// brk() grows it, not the loader's heap), and /proc/PID/cmdline, environ, auxv and stat
/// describe it. Best effort: without CONFIG_CHECKPOINT_RESTORE the program still runs, with
/// the loader's heap and /proc entries. Allocates nothing after the call.
#[cfg(target_arch = "x86_64")]
fn record_layout(plan: &LoadPlan, brk: u64) -> crate::sys::mm::MmMap {
    let m = &plan.mm;
    let map = crate::sys::mm::MmMap {
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
    };
    let auxv: Vec<u64> = plan.stack.auxv.iter().flat_map(|&(k, v)| [k, v]).collect();
    if crate::sys::mm::set_mm_map(&map, Some(&auxv)).is_err() {
        // An auxv larger than the kernel keeps (saved_auxv) is EINVAL: try without it.
        let _ = crate::sys::mm::set_mm_map(&map, None);
    }
    map
}

/// Whether addresses are randomized for this process, as the kernel's PF_RANDOMIZE:
/// randomize_va_space is not 0 and the personality lacks ADDR_NO_RANDOMIZE (`setarch -R`).
fn randomization_on() -> bool {
    randomize_va_space() >= 1 && !personality_no_randomize()
}

/// /proc/sys/kernel/randomize_va_space (2, full randomization, when unreadable).
fn randomize_va_space() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/randomize_va_space")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(2)
}

/// Whether this process's personality has ADDR_NO_RANDOMIZE (from /proc/self/personality).
fn personality_no_randomize() -> bool {
    const ADDR_NO_RANDOMIZE: u32 = 0x0040000;
    std::fs::read_to_string("/proc/self/personality")
        .ok()
        .and_then(|s| u32::from_str_radix(s.trim(), 16).ok())
        .is_some_and(|p| p & ADDR_NO_RANDOMIZE != 0)
}

impl Prepared {
    /// The plan that was carried out.
    pub fn plan(&self) -> &LoadPlan {
        &self.plan
    }

    /// The point of no return: keeps the new mappings, resets what exec resets, and jumps to
    /// the entry point. Never returns.
    #[cfg(target_arch = "x86_64")]
    pub fn run(self) -> ! {
        use crate::sys::jump;
        let Prepared {
            plan,
            images,
            stack,
            name,
            brk,
            exe,
        } = self;
        // execve closes the close-on-exec fds (those of the files just loaded were closed by
        // the caller before this call).
        for fd in cloexec_fds() {
            let _ = crate::sys::raw::close(fd);
        }
        // The new images' ranges: the old executable's mappings are the others of its file
        // (the new program may be the same file, as when the loader loads itself).
        let kept: Vec<(usize, usize)> = images.iter().map(|(r, _)| (r.addr(), r.len())).collect();
        for (r, h) in images {
            r.keep(&h);
        }
        // The thread name becomes the file's base name, cut to 15 bytes (TASK_COMM_LEN).
        let mut comm: Vec<u8> = name.into_iter().filter(|&c| c != 0).take(15).collect();
        comm.push(0);
        if let Ok(c) = std::ffi::CStr::from_bytes_with_nul(&comm) {
            let _ = rustix::thread::set_name(c);
        }
        jump::reset_signal_handlers();
        jump::disable_altstack();
        let exe = exe.and_then(|fd| old_exe_ranges(&kept).map(|r| (fd, r)));
        let map = record_layout(&plan, brk);
        let (rsp, entry) = (plan.stack.rsp as usize, plan.entry as usize);
        // The plan's memory is simply left behind.
        std::mem::forget(plan);
        jump::unregister_rseq();
        // The stack stays mapped: the region is never dropped (enter does not return).
        match exe {
            Some((fd, ranges)) => jump::enter_replacing_exe(&stack, rsp, entry, fd, &ranges, &map),
            None => jump::enter(&stack, rsp, entry),
        }
    }
}
