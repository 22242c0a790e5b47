//! A userland execve: load an x86-64 ELF program (static, static PIE, or dynamic through its
//! PT_INTERP loader) from a file or from memory into the current process, and run it.
//!
//! ```no_run
//! let argv = vec![b"echo".to_vec(), b"hi".to_vec()];
//! let envp: Vec<Vec<u8>> = vec![];
//! // Returns only on failure, like execve.
//! let err = forkexec::load::exec_file("/bin/echo", &argv, &envp);
//! eprintln!("{err}");
//! ```
//!
//! Files, one per concept (after gVisor's `pkg/sentry/loader`):
//! - [`file`](mod@file): opening the program and its PT_INTERP file as `open_exec` would;
//! - [`elf`]: one ELF file, parsed and checked with the model's parser and the kernel's rules;
//! - [`script`]: `#!` scripts (files only), followed to the ELF program that runs;
//! - [`search`]: PROGRAM found in PATH with the exec family's rules;
//! - [`credentials`]: the ids the program runs with, and AT_SECURE;
//! - [`vdso`]: the vDSO handed on (the current process's);
//! - [`maps`]: this process's mappings, as /proc/self/maps lists them;
//! - [`plan`]: the pure plan: segments, placement, entry, brk, the initial stack bytes;
//! - [`loader`]: preparing the plan, then carrying it out (`crate::sys::jump`: the trampoline);
//! - [`handoff`]: a plan carried out by the loader stub in a new process (spawning through
//!   the userland loader);
//! - [`render`]: the plan as text and JSON.
//!
//! Every failure is a [`LoadError`] with the errno execve would give, returned before the
//! current program is changed in any way (see [`loader`] for the order). By default the load
//! is in place ([`Mode::InPlace`]): like execve, it replaces the address space, and
//! afterwards /proc/PID/maps lists only the new program, its interpreter, its stack, the heap
//! it makes and the kernel's vDSO and vvar pages. [`Mode::Alongside`] keeps the old program's
//! mappings (see there for what that is for).
//!
//! What the new program gets as after execve: its segments mapped by the kernel's rules (file
//! pages from a file), a stack that grows down on demand up to RLIMIT_STACK, mapped as large
//! as the kernel maps it and holding the kernel's initial stack byte for byte (argv, envp,
//! auxv with this machine's values and this process's vDSO, AT_RANDOM, AT_EXECFN, AT_SECURE
//! as the kernel computes it: [`credentials`]), zeroed registers, caught signal handlers
//! reset, close-on-exec fds closed, its heap (brk) after its bss, its thread name, and its
//! layout in /proc/PID (cmdline, environ, auxv, stat, `[stack]` in maps; via PR_SET_MM_MAP,
//! when the kernel has it), and, loaded from a file with CAP_SYS_ADMIN or
//! CAP_CHECKPOINT_RESTORE, /proc/PID/exe (which ld.so reads for `$ORIGIN`).
//!
//! What differs, by necessity or by choice:
//! - without one of those capabilities, or from memory, /proc/PID/exe keeps naming the loader
//!   (and `$ORIGIN` resolves from there); credentials and pid stay;
//! - set-user-ID and set-group-ID bits (and file capabilities) are not honoured: the program
//!   runs with the process's credentials, as on a `nosuid` mount, with AT_SECURE set when
//!   those differ from the real ones ([`credentials`]);
//! - a program the user may execute but not read (mode 0111) cannot be loaded (EACCES, with
//!   the reason): the kernel maps it unread, a userland loader has to read it ([`file`](mod@file));
//! - a process with more than one thread is refused (EBUSY): the kernel would kill the others;
//! - only x86-64 programs load (an i386 one needs the kernel's compat ABI: ENOEXEC);
//! - problems the kernel finds after its point of no return (and answers with SIGSEGV) are
//!   returned as errors: EINVAL for a bad segment or entry point, EIO for segment bytes past the
//!   end of the file, ENOMEM or EEXIST when the address space has no room (EEXIST: an ET_EXEC
//!   program wants addresses this process uses: the old program is still mapped while the
//!   new one is loaded);
//! - a file open for writing is found with a read lease (ETXTBSY), so only where leases work
//!   (see [`file`](mod@file)); files are read into memory for checking (at most
//!   [`file::MAX_FILE_BYTES`]);
//! - an in-place load needs /proc/self/maps (to keep the vDSO); its trampoline's page is
//!   unmapped from the vDSO when the kernel's vDSO has the sequence for it, else that one page
//!   of code stays mapped (`crate::sys::jump`); the 8 bytes below the initial rsp hold the
//!   entry address (the kernel leaves them 0);
//! - a `#!` script loads from a file only ([`exec_memory`] refuses it: ENOEXEC).
//!
//! A spawned child can be started by this loader too (`Command::loader`, `Command::program_bytes`):
//! it execs a small loader stub, which loads what the parent planned into its fresh address
//! space ([`handoff`], which lists what differs there).

pub mod credentials;
pub mod elf;
mod error;
pub mod file;
pub mod handoff;
pub mod loader;
pub mod maps;
pub mod plan;
pub mod render;
pub mod script;
pub mod search;
pub mod vdso;

pub use error::LoadError;
pub use loader::Mode;
pub use plan::{plan_load, Addresses, LoadInput, LoadPlan};

use crate::model::stack::{HostAux, Ids};
use loader::{Pages, Request};
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Reads the interpreter a program's PT_INTERP names, if any (after the program's header
/// checks, as the kernel opens it).
fn read_interpreter(program: &[u8]) -> Result<Option<file::ExecFile>, LoadError> {
    read_interpreter_for(program, &file::Runner::default())
}

/// [`read_interpreter`] for a program `runner` runs.
fn read_interpreter_for(
    program: &[u8],
    runner: &file::Runner,
) -> Result<Option<file::ExecFile>, LoadError> {
    let img = elf::ElfImage::parse(program, elf::Role::Program)?;
    match img.interp {
        None => Ok(None),
        Some(path) => {
            let p = Path::new(std::ffi::OsStr::from_bytes(&path));
            file::open_exec_for(p, "the interpreter", runner).map(Some)
        }
    }
}

/// Runs the program at `path` in this process, like `execve(path, argv, envp)` done in user
/// space: in place, replacing the current program ([`exec_file_with`] chooses). Its segments
/// are mapped from the file; its PT_INTERP loader is read from the file system; a `#!` script
/// runs its interpreter, as the kernel does. Returns only on failure, with the errno execve
/// would give.
pub fn exec_file(path: impl AsRef<Path>, argv: &[Vec<u8>], envp: &[Vec<u8>]) -> LoadError {
    exec_file_with(path, argv, envp, Mode::InPlace)
}

/// [`exec_file`] with the current program's mappings replaced or kept, as `mode` says.
pub fn exec_file_with(
    path: impl AsRef<Path>,
    argv: &[Vec<u8>],
    envp: &[Vec<u8>],
    mode: Mode,
) -> LoadError {
    let path = path.as_ref();
    let resolved = match script::resolve(path, argv) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let interp = match read_interpreter(&resolved.file.bytes) {
        Ok(i) => i,
        Err(e) => return e,
    };
    let (program_file, program_bytes) = (resolved.file.file, resolved.file.bytes);
    let (interp_file, interp_bytes) = match interp {
        Some(f) => (Some(f.file), f.bytes),
        None => (None, Vec::new()),
    };
    let prepared = loader::prepare(&Request {
        program: &program_bytes,
        program_pages: Pages::File(program_file.as_fd()),
        interpreter: interp_file
            .as_ref()
            .map(|f| (interp_bytes.as_slice(), Pages::File(f.as_fd()))),
        argv: &resolved.argv,
        envp,
        // AT_EXECFN and the thread name stay the path given, script or not.
        execfn: path.as_os_str().as_bytes(),
        mode,
    });
    // The bytes were read for checking and planning; the pages come from the files. Freed
    // now, so that a load alongside leaves no copy of them behind.
    drop((program_bytes, interp_bytes));
    match prepared {
        Ok(p) => p.run(),
        Err(e) => e,
    }
}

/// Runs the ELF program in `bytes` in this process, in place, copying its segments into fresh
/// memory (no file is needed: a program received over a socket or decompressed runs as it
/// is). A PT_INTERP loader is still read from the file system. AT_EXECFN is `argv[0]` (empty
/// without one). A `#!` script is refused (ENOEXEC): its interpreter would need a path to open
/// it by. Returns only on failure.
pub fn exec_memory(bytes: &[u8], argv: &[Vec<u8>], envp: &[Vec<u8>]) -> LoadError {
    exec_memory_with(bytes, argv, envp, Mode::InPlace)
}

/// [`exec_memory`] with the current program's mappings replaced or kept, as `mode` says.
pub fn exec_memory_with(bytes: &[u8], argv: &[Vec<u8>], envp: &[Vec<u8>], mode: Mode) -> LoadError {
    let execfn = argv.first().map(Vec::as_slice).unwrap_or(b"");
    if bytes.starts_with(b"#!") {
        return LoadError::new(
            libc::ENOEXEC,
            "a #! script runs only from a file (its interpreter opens it by path)",
        );
    }
    let interp = match read_interpreter(bytes) {
        Ok(i) => i,
        Err(e) => return e,
    };
    let prepared = loader::prepare(&Request {
        program: bytes,
        program_pages: Pages::Memory(bytes),
        interpreter: interp
            .as_ref()
            .map(|f| (f.bytes.as_slice(), Pages::File(f.file.as_fd()))),
        argv,
        envp,
        execfn,
        mode,
    });
    match prepared {
        Ok(p) => p.run(),
        Err(e) => e,
    }
}

/// The plan for loading `bytes` with example addresses ([`Addresses::example`]: where an exec
/// without randomization would put things) and this process's auxv values; nothing is
/// mapped. `execfn` is the AT_EXECFN string. The interpreter is read from the file system.
pub fn plan_memory(
    bytes: &[u8],
    argv: &[Vec<u8>],
    envp: &[Vec<u8>],
    execfn: &[u8],
) -> Result<LoadPlan, LoadError> {
    let program = elf::ElfImage::parse(bytes, elf::Role::Program)?;
    let interp = read_interpreter(bytes)?;
    let interp_image = match &interp {
        Some(f) => Some(elf::ElfImage::parse(&f.bytes, elf::Role::Interpreter)?),
        None => None,
    };
    // plan_images makes the checks the kernel makes after its point of no return.
    let rlimit = rustix::process::getrlimit(rustix::process::Resource::Stack).current;
    let mut addresses = Addresses::example(&program, interp_image.as_ref());
    addresses.stack_size = loader::stack_size(rlimit);
    let input = LoadInput {
        program: bytes,
        interpreter: interp.as_ref().map(|f| f.bytes.as_slice()),
        argv,
        envp,
        execfn,
        addresses,
        host: HostAux::from_proc(),
        vdso: vdso::current(),
        ids: credentials::after_exec(),
        random: [0; 16],
        stack_rlimit: rlimit,
    };
    plan::plan_images(&input, &program, interp_image.as_ref())
}

/// [`plan_memory`] for the file at `path`, with the same checks as [`exec_file`] (and `#!`
/// scripts followed to the program that runs).
pub fn plan_file(
    path: impl AsRef<Path>,
    argv: &[Vec<u8>],
    envp: &[Vec<u8>],
) -> Result<LoadPlan, LoadError> {
    let path = path.as_ref();
    let r = script::resolve(path, argv)?;
    let mut plan = plan_memory(&r.file.bytes, &r.argv, envp, path.as_os_str().as_bytes())?;
    plan.scripts = r.scripts;
    Ok(plan)
}

/// The fuzz entry point for the planning step: never panics, whatever `data` holds.
///
/// `data` is split into the program and the interpreter: the first two bytes, little endian,
/// give the program's length (the rest, if any, is the interpreter; all of `data` after the
/// two bytes is the program when the length is larger). The plan uses fixed addresses, a
/// fixed argv/envp and the model's default host values, so a run depends on `data` alone.
/// Returns whether a plan was made, for harnesses that want to count.
///
/// ```
/// // A harness (cargo-fuzz): fuzz_target!(|data: &[u8]| { forkexec::load::fuzz_plan(data); });
/// assert!(!forkexec::load::fuzz_plan(b"\x04\x00junk"));
/// ```
pub fn fuzz_plan(data: &[u8]) -> bool {
    let (len, rest) = match data {
        [a, b, rest @ ..] => (usize::from(u16::from_le_bytes([*a, *b])), rest),
        _ => (0, data),
    };
    let (program, interpreter) = if len <= rest.len() {
        let (p, i) = rest.split_at(len);
        (p, (!i.is_empty()).then_some(i))
    } else {
        (rest, None)
    };
    let argv = [b"prog".to_vec(), b"arg".to_vec()];
    let envp = [b"K=V".to_vec()];
    let make = |program_base: u64, interp_base: u64| LoadInput {
        program,
        interpreter,
        argv: &argv,
        envp: &envp,
        execfn: b"/fuzz/prog",
        addresses: Addresses {
            program: program_base,
            interpreter: interp_base,
            stack_top: crate::model::stack::STACK_TOP,
            stack_size: 8 << 20,
            stack_gap: 4000,
        },
        host: HostAux::default(),
        vdso: Some(0x7fff_f7fc_1000),
        ids: Ids {
            uid: 1000,
            euid: 1000,
            gid: 1000,
            egid: 1000,
            secure: false,
        },
        random: [7; 16],
        stack_rlimit: Some(8 << 20),
    };
    // Try the example addresses (aligned as each image wants) and a deliberately bad base.
    let example = elf::ElfImage::parse(program, elf::Role::Program)
        .ok()
        .map(|p| {
            let i = interpreter.and_then(|b| elf::ElfImage::parse(b, elf::Role::Interpreter).ok());
            Addresses::example(&p, i.as_ref())
        });
    let ok = match example {
        Some(a) => plan_load(&make(a.program, a.interpreter)).is_ok(),
        None => plan_load(&make(0x5555_5555_4000, 0x7fff_f7fc_3000)).is_ok(),
    };
    let _ = plan_load(&make(0x1001, u64::MAX - 0xfff));
    ok
}
