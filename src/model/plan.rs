//! The plan of one execve: every check the kernel makes, in the kernel's order, and what comes
//! of it.
//!
//! Order on Linux 6.x (`do_execveat_common`, `bprm_execve`, `exec_binprm`):
//! 1. open the file: path walk (ENOENT, ENOTDIR, ENAMETOOLONG, ELOOP, EACCES), file type
//!    (EACCES), noexec mount (EACCES), exec permission (EACCES), writers (ETXTBSY);
//! 2. copy the strings: filename, envp, argv against the budget (E2BIG);
//! 3. up to 6 rounds of format handlers: binfmt_misc, ELF, `#!`. A script or binfmt_misc
//!    handler rewrites argv and opens its interpreter (with all the checks of 1), and the next
//!    round looks at that; a 7th round is ELOOP;
//! 4. the ELF handler's checks before the point of no return (ENOEXEC, EIO, ELIBBAD, and the
//!    PT_INTERP file's open);
//! 5. after the point of no return every failure is a SIGSEGV (mapping, entry, stack).

use super::binfmt::aout::{self, AoutHeader};
use super::binfmt::elf::{self, ElfClass, ElfHeader, ElfReject, ProgramHeader};
use super::binfmt::misc::MiscHandler;
use super::binfmt::script::{self, Shebang, ShebangError};
use super::binfmt::BINPRM_BUF_SIZE;
use super::filesystem::{FileFacts, FileKind, FileSystem};
use super::limits::{self, ArgBudget, ArgError};
use super::stack;
use super::{Credentials, ExecInput};
use crate::errno::Errno;
use crate::exec::{Candidates, SearchRules};

/// The kernel's limit on format rewrites: rounds 0..=5 run, the next is ELOOP.
pub const MAX_REWRITE_DEPTH: usize = 5;
/// SIGSEGV: what kills an exec that fails after the point of no return.
pub const SIGSEGV: i32 = libc::SIGSEGV;
/// SIGBUS: what kills a program whose file is shorter than its segments when it touches a
/// missing page.
pub const SIGBUS: i32 = libc::SIGBUS;

/// The name of a signal the model predicts (`"SIGSEGV"`, `"SIGBUS"`).
pub fn signal_name(sig: i32) -> String {
    match sig {
        SIGSEGV => "SIGSEGV".to_string(),
        SIGBUS => "SIGBUS".to_string(),
        n => format!("signal {n}"),
    }
}

/// What the exec does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The exec succeeds and the program starts.
    Runs,
    /// execve returns -1 with this errno; the caller goes on.
    Fails(Errno),
    /// The process is killed by this signal: SIGSEGV when the exec fails after its point of
    /// no return, SIGBUS when the program starts in a page its truncated file does not have.
    Killed(i32),
}

/// One file the kernel went through, and the format it recognised.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// The name the kernel opened it by.
    pub path: Vec<u8>,
    /// What it is.
    pub format: Format,
}

/// The format a step was recognised as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Format {
    /// A `#!` script.
    Script(Shebang),
    /// An ELF file (the program that runs, when the exec succeeds).
    Elf(Box<ElfStep>),
    /// An a.out file (recognised, not run by this kernel).
    Aout(AoutHeader),
    /// A binfmt_misc handler claimed the file.
    Misc(MiscHandler),
    /// No handler claimed it (ENOEXEC).
    Unknown {
        /// The first bytes of the file.
        head: Vec<u8>,
        /// The file's size.
        size: u64,
    },
}

impl Format {
    /// The kind name used in JSON.
    pub fn kind(&self) -> &'static str {
        match self {
            Format::Script(_) => "script",
            Format::Elf(_) => "elf",
            Format::Aout(_) => "aout",
            Format::Misc(_) => "binfmt_misc",
            Format::Unknown { .. } => "unknown",
        }
    }
}

/// An ELF step: header, program headers, and its interpreter if it has one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ElfStep {
    /// The header (as far as it could be read).
    pub header: ElfHeader,
    /// The program headers (empty when they could not be read).
    pub phdrs: Vec<ProgramHeader>,
    /// PT_INTERP's path, when present and well formed.
    pub interpreter: Option<Vec<u8>>,
    /// The interpreter's header and program headers, when read.
    pub interpreter_elf: Option<(ElfHeader, Vec<ProgramHeader>)>,
    /// The file's size in bytes.
    pub file_size: u64,
    /// The PT_INTERP file's size in bytes (0 without one).
    pub interpreter_size: u64,
    /// The file is setuid/setgid and the mount honours it.
    pub setuid: Option<u32>,
    /// Likewise for setgid.
    pub setgid: Option<u32>,
}

/// The evaluated exec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecPlan {
    /// The path given to execve.
    pub path: Vec<u8>,
    /// What happens.
    pub outcome: Outcome,
    /// One sentence on why (for a success: what runs).
    pub reason: String,
    /// The files the kernel went through, in order.
    pub chain: Vec<Step>,
    /// The argv the program gets (for a failure: as far as rewriting got).
    pub argv: Vec<Vec<u8>>,
    /// The environment passed.
    pub envp: Vec<Vec<u8>>,
    /// The name AT_EXECFN points to (the path given to execve).
    pub execfn: Vec<u8>,
    /// Bytes of argument and environment strings charged (filename included).
    pub arg_bytes: u64,
    /// The most string bytes that fit.
    pub arg_limit: u64,
    /// The budget's parts.
    pub budget: Option<ArgBudget>,
    /// Credentials after the exec (setuid/setgid applied).
    pub credentials_after: Credentials,
    /// AT_SECURE.
    pub secure: bool,
    /// binfmt_misc flag P applied (AT_FLAGS bit 0).
    pub preserve_argv0: bool,
    /// binfmt_misc flag O applied (AT_EXECFD present).
    pub execfd: bool,
    /// Things worth knowing that do not change the outcome.
    pub notes: Vec<String>,
    /// PATH candidates tried before this one, with their errno (execvp-style lookups only).
    pub searched: Vec<(Vec<u8>, Errno)>,
    /// When the program that runs is `env NAME ...`: NAME and where env's own PATH search
    /// (with the new environment's PATH) will find it.
    pub env_target: Option<(Vec<u8>, Option<Vec<u8>>)>,
    /// False when a file the kernel would read could not be read here (an execute-only file,
    /// or the interpreter a binfmt_misc handler opened at registration and that is gone from
    /// its path): the outcome is then the most likely one, not a certain one.
    pub verified: bool,
}

impl ExecPlan {
    /// The errno when the exec fails.
    pub fn errno(&self) -> Option<Errno> {
        match self.outcome {
            Outcome::Fails(e) => Some(e),
            _ => None,
        }
    }

    /// The final ELF step (the program that runs), if the chain reached one.
    pub fn final_elf(&self) -> Option<(&[u8], &ElfStep)> {
        self.chain.iter().rev().find_map(|s| match &s.format {
            Format::Elf(e) => Some((s.path.as_slice(), e.as_ref())),
            _ => None,
        })
    }
}

/// Quotes bytes for a message: `"` + printable ASCII, the rest escaped (`\r`, `\x01`) + `"`.
pub fn quote(b: &[u8]) -> String {
    format!("\"{}\"", b.escape_ascii())
}

/// Bytes for a message, unquoted when they are plain printable text without blanks.
pub fn show(b: &[u8]) -> String {
    if !b.is_empty() && b.iter().all(|&c| c.is_ascii_graphic()) && !b.contains(&b'"') {
        String::from_utf8_lossy(b).into_owned()
    } else {
        quote(b)
    }
}

/// A failure: errno and one sentence.
struct Failure {
    outcome: Outcome,
    reason: String,
}

fn fail(errno: i32, reason: String) -> Failure {
    Failure {
        outcome: Outcome::Fails(Errno(errno)),
        reason,
    }
}

/// Why a path walk failed, in words (EACCES: [`Evaluator::walk_denied`]).
fn walk_reason(what: &str, path: &[u8], errno: i32) -> String {
    match errno {
        libc::ENOENT if path.is_empty() => format!("{what} is the empty path"),
        libc::ENOENT => format!("{what} does not exist"),
        libc::ENOTDIR => {
            format!("{what} cannot be reached: a component of its path is not a directory")
        }
        libc::ENAMETOOLONG => format!(
            "{what} has a path of {} bytes, or a component longer than 255: PATH_MAX is 4096 with the NUL",
            path.len()
        ),
        libc::ELOOP => format!(
            "{what} cannot be reached: too many symbolic links on its path (a loop?)"
        ),
        e => format!("{what} cannot be opened: {}", Errno(e)),
    }
}

/// The exec permission check on a file found by a walk (may_open + inode_permission).
fn exec_permission(what: &str, f: &FileFacts, c: &Credentials) -> Result<(), String> {
    match f.kind {
        FileKind::Regular => {}
        FileKind::Directory => return Err(format!("{what} is a directory")),
        k => return Err(format!("{what} is {}, not a regular file", k.describe())),
    }
    if f.noexec {
        return Err(format!(
            "{what} is on a file system mounted noexec (remount it with exec, or run it from elsewhere)"
        ));
    }
    let mode = f.mode & 0o777;
    if c.overrides_permissions() {
        if mode & 0o111 == 0 {
            return Err(format!(
                "{what} has mode {mode:04o}: no x bit at all, and even root needs one (chmod +x)"
            ));
        }
        return Ok(());
    }
    let (class, bits) = if c.euid == f.uid {
        ("owner", mode >> 6)
    } else if c.in_group(f.gid) {
        ("group", mode >> 3)
    } else {
        ("others", mode)
    };
    if bits & 1 == 0 {
        return Err(format!(
            "{what} has mode {mode:04o}, which does not let its {class} class (you, uid {}) execute it",
            c.euid
        ));
    }
    Ok(())
}

/// Carries out one evaluation.
struct Evaluator<'a> {
    input: &'a ExecInput,
    fs: &'a dyn FileSystem,
    plan: ExecPlan,
    /// Bytes of strings on the new stack so far.
    used: u64,
    handlers: Option<Vec<MiscHandler>>,
    /// The file a binfmt_misc handler with flag O passed to its interpreter as an open fd
    /// (`bprm->executable`), and whether flag C takes the credentials from it.
    executable: Option<(FileFacts, bool)>,
}

impl<'a> Evaluator<'a> {
    /// open_exec: walk, type, noexec, permission, writers. `from_user` is true for the path
    /// given to execve itself.
    fn open_exec(&self, path: &[u8], what: &str, from_user: bool) -> Result<FileFacts, Failure> {
        // execve refuses an empty path (ENOENT) when copying it from user space, but a
        // kernel-internal open of "" (an empty #! name, PT_INTERP "\0\0") walks nowhere and
        // ends at the cwd: a directory, so EACCES.
        let walk: &[u8] = if path.is_empty() && !from_user {
            b"."
        } else {
            path
        };
        let facts = self.fs.lookup(walk).map_err(|e| {
            let reason = match e.0 {
                libc::EACCES => self.walk_denied(what, walk),
                errno => walk_reason(what, path, errno),
            };
            fail(e.0, reason)
        })?;
        exec_permission(what, &facts, &self.input.credentials)
            .map_err(|r| fail(libc::EACCES, r))?;
        if self.fs.open_for_writing(facts.dev, facts.ino) {
            return Err(fail(
                libc::ETXTBSY,
                format!("{what} is open for writing by some process (close it, or wait for the write to finish)"),
            ));
        }
        Ok(facts)
    }

    /// Why a walk to `path` was refused (EACCES): the first directory on the way the caller
    /// may not search, or, when each is searchable, what else refuses a walk.
    fn walk_denied(&self, what: &str, path: &[u8]) -> String {
        let c = &self.input.credentials;
        let mut dirs: Vec<&[u8]> = vec![if path.starts_with(b"/") { b"/" } else { b"." }];
        dirs.extend(
            (1..path.len())
                .filter(|&i| path[i] == b'/' && path[i - 1] != b'/')
                .map(|i| &path[..i]),
        );
        for dir in dirs {
            let Ok(f) = self.fs.lookup(dir) else { break };
            if f.kind != FileKind::Directory {
                break;
            }
            let bits = if c.overrides_permissions() {
                1
            } else if c.euid == f.uid {
                f.mode >> 6
            } else if c.in_group(f.gid) {
                f.mode >> 3
            } else {
                f.mode
            };
            if bits & 1 == 0 {
                return format!(
                    "{what} cannot be reached: the directory {} on its path has mode {:04o}, which does not let you (uid {}) search it",
                    show(dir),
                    f.mode & 0o777,
                    c.euid
                );
            }
        }
        let proc_link = path.starts_with(b"/proc/")
            && path
                .split(|&b| b == b'/')
                .any(|part| matches!(part, b"exe" | b"cwd" | b"root" | b"fd" | b"map_files"));
        if proc_link {
            format!(
                "{what} is a /proc link into another process, and following it needs the right to ptrace that process (the same user, or CAP_SYS_PTRACE): the directories on its path are searchable"
            )
        } else {
            format!(
                "{what} cannot be reached: every directory on its path is searchable for you, yet the walk was refused (a symlink the kernel will not follow here, fs.protected_symlinks, or a security module)"
            )
        }
    }

    /// Charges strings the kernel adds while rewriting argv; `freed` is the dropped argv[0].
    fn charge_rewrite(&mut self, freed: u64, added: &[&[u8]]) -> Result<(), Failure> {
        self.used = self.used.saturating_sub(freed);
        for s in added {
            let n = limits::charge(s);
            if n > limits::MAX_ARG_STRLEN {
                return Err(fail(
                    libc::E2BIG,
                    ArgError::StringTooLong {
                        which: limits::Charged::Rewrite,
                        bytes: n,
                    }
                    .describe(),
                ));
            }
            self.used += n;
        }
        self.plan.arg_bytes = self.used;
        if self.used > self.plan.arg_limit {
            return Err(fail(
                libc::E2BIG,
                ArgError::OverBudget {
                    which: limits::Charged::Rewrite,
                    needed: self.used,
                    limit: self.plan.arg_limit,
                }
                .describe(),
            ));
        }
        Ok(())
    }

    fn misc_handlers(&mut self) -> &[MiscHandler] {
        if self.handlers.is_none() {
            self.handlers = Some(self.fs.binfmt_misc());
        }
        self.handlers.as_deref().unwrap_or(&[])
    }

    /// The end of a round that rewrote the exec (`exec_binprm`'s loop): `what`/`facts` is the
    /// file the round handled. Once a binfmt_misc handler with flag O has passed a file to its
    /// interpreter as an open fd, that file is kept (`bprm->executable`) and any later rewrite
    /// fails with ENOEXEC. `creds` is flag C: the credentials will come from that file.
    fn rewritten(&mut self, what: &str, facts: &FileFacts, creds: bool) -> Result<(), Failure> {
        if !self.plan.execfd {
            return Ok(());
        }
        if self.executable.is_some() {
            return Err(fail(
                libc::ENOEXEC,
                format!(
                    "{what} names another interpreter, but a binfmt_misc handler with flag O (or C) already passed the binary to its interpreter as an open fd, and after that the kernel allows no further rewrite"
                ),
            ));
        }
        self.executable = Some((facts.clone(), creds));
        Ok(())
    }

    /// The interpreter of a binfmt_misc handler with flag F: the kernel opened it when the
    /// handler was registered and uses that open file, with no path walk and no permission,
    /// noexec or writer check now. Its content is read here by its path, which names the same
    /// file unless it was replaced since. `None` when nothing is at the path any more: the
    /// kernel still runs the file it holds, whose format cannot be checked here.
    fn fixed_interpreter(&mut self, path: &[u8], what: &str) -> Option<FileFacts> {
        if let Ok(f) = self.fs.lookup(&name_or_cwd(path)) {
            return Some(f);
        }
        self.plan.outcome = Outcome::Runs;
        self.plan.reason = format!(
            "{what} was opened by the kernel when the handler was registered (flag F) and runs from that open file; nothing is at that path any more, so its format cannot be checked here"
        );
        self.plan
            .notes
            .push("prediction unverified: the interpreter's content was not readable".to_string());
        self.plan.verified = false;
        None
    }

    fn run(&mut self) -> Result<(), Failure> {
        let filename = self.plan.path.clone();
        let shown = show(&filename);
        let facts = self.open_exec(&filename, &shown, true)?;

        // Strings: filename, envp, argv, against the budget (after the open, on Linux 6.x).
        let argc = self.input.argv.len() as u64;
        let envc = self.input.envp.len() as u64;
        let b = limits::budget(self.input.stack_rlimit, argc, envc)
            .map_err(|e| fail(libc::E2BIG, e.describe()))?;
        self.plan.arg_limit = b.limit;
        self.plan.budget = Some(b.clone());
        self.used = limits::charge_all(&b, &filename, &self.input.envp, &self.input.argv)
            .map_err(|e| fail(libc::E2BIG, e.describe()))?;
        self.plan.arg_bytes = self.used;
        if self.input.argv.is_empty() {
            self.plan.argv = vec![Vec::new()];
            self.plan
                .notes
                .push("argv is empty: the kernel adds \"\" as argv[0]".to_string());
        }

        // The name the kernel knows the current file by (bprm->interp).
        let mut name = filename.clone();
        let mut facts = facts;
        let mut what = shown;
        for depth in 0.. {
            if depth > MAX_REWRITE_DEPTH {
                return Err(fail(
                    libc::ELOOP,
                    format!(
                        "more than {} levels of interpreters: {what} would be the 7th program in the chain (scripts may nest 5 deep)",
                        MAX_REWRITE_DEPTH + 1
                    ),
                ));
            }
            let mut head = match self.fs.read_at(&name_or_cwd(&name), 0, BINPRM_BUF_SIZE) {
                Ok(h) => h,
                // Execute-only files (mode 0711, 4711): the kernel reads them, we may not.
                Err(e) if e.0 == libc::EACCES => {
                    self.plan.outcome = Outcome::Runs;
                    self.plan.reason = format!(
                        "{what} is executable but not readable by you, so its format cannot be checked here; the kernel reads it anyway and most likely runs it"
                    );
                    self.plan.notes.push(
                        "prediction unverified: the file's content was not readable".to_string(),
                    );
                    self.plan.verified = false;
                    return Ok(());
                }
                Err(e) => return Err(fail(e.0, format!("{what} cannot be read: {e}"))),
            };
            let size = facts.size;
            head.resize(BINPRM_BUF_SIZE, 0);
            let file_len = (size.min(BINPRM_BUF_SIZE as u64)) as usize;

            // binfmt_misc first: it sits at the head of the format list.
            let claimed = self
                .misc_handlers()
                .iter()
                .find(|h| h.matches(&head, &name))
                .cloned();
            if let Some(h) = claimed {
                let interp = h.interpreter.clone();
                self.plan.chain.push(Step {
                    path: name.clone(),
                    format: Format::Misc(h.clone()),
                });
                let freed = if h.preserves_argv0() {
                    0
                } else {
                    self.plan.argv.first().map_or(0, |a| limits::charge(a))
                };
                self.charge_rewrite(freed, &[&name, &interp])?;
                let mut argv = vec![interp.clone(), name.clone()];
                let keep = usize::from(!h.preserves_argv0());
                argv.extend(self.plan.argv.iter().skip(keep).cloned());
                self.plan.argv = argv;
                self.plan.preserve_argv0 |= h.preserves_argv0();
                self.plan.execfd |= h.opens_binary();
                let next_what = format!(
                    "the interpreter {} of binfmt_misc handler {}",
                    quote(&interp),
                    h.name
                );
                let next = if h.fixed_interpreter() {
                    match self.fixed_interpreter(&interp, &next_what) {
                        Some(f) => f,
                        None => return Ok(()),
                    }
                } else {
                    self.open_exec(&interp, &next_what, false)?
                };
                self.rewritten(&what, &facts, h.credentials_from_binary())?;
                facts = next;
                what = next_what;
                name = interp;
                continue;
            }

            let mut declined: Option<String> = None;
            if elf::has_magic(&head) {
                let machine = elf::machine(&head).unwrap_or(0);
                match elf::handler_for(machine) {
                    Some(class) => match self.elf(&name, &what, &facts, &head, class)? {
                        ElfResult::Done => return Ok(()),
                        ElfResult::Declined(r) => declined = Some(r),
                    },
                    None => declined = Some(ElfReject::BadMachine(machine).describe()),
                }
            }

            match script::parse(&head) {
                Ok(sb) => {
                    let interp = sb.interpreter.clone();
                    let old0 = self.plan.argv.first().map_or(0, |a| limits::charge(a));
                    let mut added: Vec<&[u8]> = vec![&name];
                    if let Some(a) = &sb.argument {
                        added.push(a);
                    }
                    added.push(&interp);
                    self.charge_rewrite(old0, &added)?;
                    self.plan.argv = script::rewrite_argv(&sb, &name, &self.plan.argv);
                    if sb.argument.as_deref().is_some_and(|a| a.ends_with(b"\r")) {
                        self.plan.notes.push(format!(
                            "the #! argument of {what} ends in a carriage return (Windows line endings): the interpreter gets {}",
                            quote(sb.argument.as_deref().unwrap_or_default())
                        ));
                    }
                    self.plan.chain.push(Step {
                        path: name.clone(),
                        format: Format::Script(sb),
                    });
                    let next_what = format!("interpreter {} of {what}", quote(&interp));
                    let next = self.open_exec(&interp, &next_what, false).map_err(|mut f| {
                        if interp.ends_with(b"\r") && f.outcome == Outcome::Fails(Errno(libc::ENOENT)) {
                            f.reason.push_str(" (the #! line ends in a carriage return: the file has Windows line endings; convert it with dos2unix)");
                        } else if interp.is_empty() {
                            f.reason = format!(
                                "the #! line of {what} has an empty interpreter name, which the kernel opens as the current directory: {}",
                                f.reason
                            );
                        }
                        f
                    })?;
                    self.rewritten(&what, &facts, false)?;
                    facts = next;
                    what = next_what;
                    name = interp;
                    continue;
                }
                Err(ShebangError::NotAScript) => {}
                Err(e) => declined = Some(format!("{what} is a #! script, but {}", e.describe())),
            }

            // Nobody claimed it.
            if let Some(a) = aout::parse(&head[..file_len]) {
                let r = format!(
                    "{what} is an a.out {} executable (machine {}), and this kernel has no a.out loader (x86 dropped it in Linux 5.19)",
                    a.magic_name(),
                    a.machine
                );
                self.plan.chain.push(Step {
                    path: name.clone(),
                    format: Format::Aout(a),
                });
                return Err(fail(libc::ENOEXEC, r));
            }
            let reason = match declined {
                Some(r) if r.starts_with(&what) => r,
                Some(r) => format!("{what} is an ELF file, but {r}"),
                None if size == 0 => format!("{what} is empty"),
                None => format!(
                    "{what} is not in a format this kernel runs (no ELF header, no #!, no binfmt_misc handler); it starts with {}",
                    quote(&head[..file_len.min(16)])
                ),
            };
            if !elf::has_magic(&head) {
                self.plan.chain.push(Step {
                    path: name.clone(),
                    format: Format::Unknown {
                        head: head[..file_len.min(64)].to_vec(),
                        size,
                    },
                });
            }
            return Err(fail(libc::ENOEXEC, reason));
        }
        Ok(())
    }

    /// The ELF handler for the file `name`.
    fn elf(
        &mut self,
        name: &[u8],
        what: &str,
        facts: &FileFacts,
        head: &[u8],
        class: ElfClass,
    ) -> Result<ElfResult, Failure> {
        let header = elf::parse_header(head, class);
        let mut step = ElfStep {
            header: header.clone(),
            phdrs: Vec::new(),
            interpreter: None,
            interpreter_elf: None,
            file_size: facts.size,
            interpreter_size: 0,
            setuid: None,
            setgid: None,
        };
        let push = |plan: &mut ExecPlan, step: &ElfStep| {
            plan.chain.push(Step {
                path: name.to_vec(),
                format: Format::Elf(Box::new(step.clone())),
            })
        };
        let table = match elf::check_header(&header) {
            Ok(t) => t,
            Err(r) => {
                push(&mut self.plan, &step);
                return Ok(ElfResult::Declined(r.describe()));
            }
        };
        let bytes = self
            .fs
            .read_at(name_or_cwd(name).as_slice(), header.e_phoff, table as usize)
            .unwrap_or_default();
        let Some(phdrs) = elf::parse_phdrs(&bytes, class, header.e_phnum) else {
            push(&mut self.plan, &step);
            return Ok(ElfResult::Declined(ElfReject::PhdrsPastEnd.describe()));
        };
        step.phdrs = phdrs;

        if let Some(ph) = elf::interp_header(&step.phdrs).cloned() {
            if let Err(r) = elf::check_interp_size(&ph) {
                push(&mut self.plan, &step);
                return Ok(ElfResult::Declined(r.describe()));
            }
            let raw = self
                .fs
                .read_at(
                    name_or_cwd(name).as_slice(),
                    ph.p_offset,
                    ph.p_filesz as usize,
                )
                .map_err(|e| fail(e.0, format!("{what} cannot be read: {e}")))?;
            let path = match elf::interp_path(&raw, ph.p_filesz) {
                Ok(p) => p,
                Err(r) => {
                    push(&mut self.plan, &step);
                    let errno = r.errno();
                    let why = format!("{what} is an ELF file, but {}", r.describe());
                    return if errno == libc::ENOEXEC {
                        Ok(ElfResult::Declined(why))
                    } else {
                        Err(fail(errno, why))
                    };
                }
            };
            step.interpreter = Some(path.clone());
            push(&mut self.plan, &step);
            let iwhat = format!("the ELF interpreter {} (PT_INTERP) of {what}", quote(&path));
            let ifacts = self.open_exec(&path, &iwhat, false).map_err(|mut f| {
                if f.outcome == Outcome::Fails(Errno(libc::ENOENT)) {
                    f.reason.push_str(if path.first() == Some(&b'/') {
                        ": the program was built for a system with another C library or loader (install it, or rebuild the program)"
                    } else {
                        ": a relative PT_INTERP is looked up from the current directory"
                    });
                }
                f
            })?;
            let ihead = self
                .fs
                .read_at(name_or_cwd(&path).as_slice(), 0, class.header_size())
                .map_err(|e| fail(e.0, format!("{iwhat} cannot be read: {e}")))?;
            if ihead.len() < class.header_size() {
                return Err(fail(
                    libc::EIO,
                    format!(
                        "{iwhat} is only {} bytes, shorter than an ELF header (short read)",
                        ifacts.size
                    ),
                ));
            }
            if !elf::has_magic(&ihead) {
                return Err(fail(libc::ELIBBAD, format!("{iwhat} is not an ELF file")));
            }
            let ih = elf::parse_header(&ihead, class);
            if elf::handler_for(ih.e_machine) != Some(class) {
                return Err(fail(
                    libc::ELIBBAD,
                    format!(
                        "{iwhat} is an ELF for {} (e_machine {}), not {}",
                        elf::machine_name(ih.e_machine),
                        ih.e_machine,
                        class.name()
                    ),
                ));
            }
            let itable = elf::check_phdr_table(&ih).map_err(|r| {
                fail(
                    libc::ELIBBAD,
                    format!("{iwhat} is damaged: {}", r.describe()),
                )
            })?;
            let ibytes = self
                .fs
                .read_at(name_or_cwd(&path).as_slice(), ih.e_phoff, itable as usize)
                .unwrap_or_default();
            let iphdrs = elf::parse_phdrs(&ibytes, class, ih.e_phnum).ok_or_else(|| {
                fail(
                    libc::ELIBBAD,
                    format!("{iwhat} is damaged: {}", ElfReject::PhdrsPastEnd.describe()),
                )
            })?;
            step.interpreter_elf = Some((ih, iphdrs));
            step.interpreter_size = ifacts.size;
            self.plan.chain.pop();
        }

        // setuid/setgid take effect from the file that finally runs, or with binfmt_misc's
        // flag C from the binary the handler was given (`bprm_creds_from_file`).
        let facts = match &self.executable {
            Some((binary, true)) => binary,
            _ => facts,
        };
        if !facts.nosuid {
            if facts.mode & libc::S_ISUID != 0 {
                step.setuid = Some(facts.uid);
            }
            if facts.mode & libc::S_ISGID != 0 && facts.mode & libc::S_IXGRP != 0 {
                step.setgid = Some(facts.gid);
            }
        }
        push(&mut self.plan, &step);
        let c = &mut self.plan.credentials_after;
        if let Some(u) = step.setuid {
            c.euid = u;
        }
        if let Some(g) = step.setgid {
            c.egid = g;
        }
        self.plan.secure = c.euid != c.uid || c.egid != c.gid;

        // The point of no return: from here on, failures kill.
        self.after_point_of_no_return(what, &step)?;
        self.truncated(what, &step)?;
        self.plan.outcome = Outcome::Runs;
        self.plan.reason = match &step.interpreter {
            Some(i) => format!(
                "{what} is an ELF {} {}, loaded by {}",
                class.name(),
                if step.header.e_type == elf::ET_DYN {
                    "PIE"
                } else {
                    "executable"
                },
                show(i)
            ),
            None => format!(
                "{what} is a static ELF {} {}",
                class.name(),
                if step.header.e_type == elf::ET_DYN {
                    "PIE"
                } else {
                    "executable"
                }
            ),
        };
        Ok(ElfResult::Done)
    }

    fn after_point_of_no_return(&mut self, what: &str, step: &ElfStep) -> Result<(), Failure> {
        let killed = |reason: String| Failure {
            outcome: Outcome::Killed(SIGSEGV),
            reason,
        };
        let min = self.fs.mmap_min_addr();
        let low_ok = self.plan.credentials_after.euid == 0;
        let has_interp = step.interpreter.is_some();
        let program = elf::LoadContext {
            is_interp: false,
            has_interp,
            mmap_min_addr: min,
            may_map_low: low_ok,
            file_size: step.file_size,
        };
        if let Some(p) = elf::load_problem(&step.header, &step.phdrs, &program) {
            return Err(killed(format!(
                "{what} passes every check before the point of no return, then cannot be loaded: {p}"
            )));
        }
        let interp_what = format!(
            "the ELF interpreter {} of {what}",
            quote(step.interpreter.as_deref().unwrap_or_default())
        );
        if let Some((ih, iphdrs)) = &step.interpreter_elf {
            let interp = elf::LoadContext {
                is_interp: true,
                has_interp: true,
                file_size: step.interpreter_size,
                ..program
            };
            if let Some(p) = elf::load_problem(ih, iphdrs, &interp) {
                return Err(killed(format!(
                    "{interp_what} cannot be loaded after the point of no return: {p}"
                )));
            }
        }
        if step.header.class == ElfClass::Elf64 {
            if let Some(cap) = self.input.stack_rlimit {
                let need = stack::bytes_needed(
                    &self.plan.argv,
                    &self.plan.envp,
                    self.used,
                    0,
                    self.plan.execfd,
                );
                let capacity = stack::capacity(cap, self.used);
                if need > capacity {
                    return Err(killed(format!(
                        "the strings fit, but the pointer tables and auxv need {need} bytes of stack and RLIMIT_STACK ({cap}) allows {capacity}"
                    )));
                }
                if need + stack::MAX_RANDOM_GAP > capacity {
                    self.plan.notes.push(format!(
                        "the initial stack needs {need} bytes plus a random gap of up to {} and RLIMIT_STACK allows {capacity}: the exec may be killed depending on the gap",
                        stack::MAX_RANDOM_GAP
                    ));
                }
            }
        }
        Ok(())
    }
}

impl Evaluator<'_> {
    /// A file shorter than its PT_LOAD segments say (a truncated copy) maps without complaint:
    /// its missing pages fault with SIGBUS when they are touched. The first instruction (the
    /// interpreter's entry, or the program's without one) decides whether that happens at
    /// once; the program's own entry page is reached at the latest when ld.so jumps there.
    /// Other missing pages are a note: whether they are touched depends on the program.
    fn truncated(&mut self, what: &str, step: &ElfStep) -> Result<(), Failure> {
        let bus = |reason: String| Failure {
            outcome: Outcome::Killed(SIGBUS),
            reason,
        };
        let interp = step.interpreter.as_deref().unwrap_or_default();
        if let Some((ih, iphdrs)) = &step.interpreter_elf {
            if elf::entry_past_end_of_file(ih, iphdrs, step.interpreter_size) {
                return Err(bus(format!(
                    "the exec succeeds, but the entry point of the ELF interpreter {} of {what} lies in a page past the end of its {}-byte file (truncated?), so its first instruction faults",
                    quote(interp),
                    step.interpreter_size
                )));
            }
        }
        if elf::entry_past_end_of_file(&step.header, &step.phdrs, step.file_size) {
            return Err(bus(format!(
                "the exec succeeds, but the entry point {:#x} of {what} lies in a page past the end of its {}-byte file (truncated?), so {} faults",
                step.header.e_entry,
                step.file_size,
                if step.interpreter.is_some() {
                    "the jump there from the ELF interpreter (or an earlier touch of a missing page)"
                } else {
                    "its first instruction"
                }
            )));
        }
        let mut files = vec![(what.to_string(), &step.phdrs, step.file_size)];
        if let Some((_, iphdrs)) = &step.interpreter_elf {
            files.push((
                format!("the ELF interpreter {}", quote(interp)),
                iphdrs,
                step.interpreter_size,
            ));
        }
        for (who, phdrs, size) in files {
            for p in elf::segments_past_end_of_file(phdrs, size) {
                self.plan.notes.push(if p.unbacked {
                    self.plan.verified = false;
                    format!(
                        "PT_LOAD #{} of {who} names {} bytes past the end of its {size}-byte file (truncated?): the process is killed by SIGBUS if it touches the pages the file does not reach",
                        p.index, p.missing
                    )
                } else {
                    format!(
                        "PT_LOAD #{} of {who} names {} bytes past the end of its {size}-byte file: they read as zeros",
                        p.index, p.missing
                    )
                });
            }
        }
        Ok(())
    }
}

enum ElfResult {
    Done,
    Declined(String),
}

/// The path to read a file by: the empty name means the cwd.
fn name_or_cwd(name: &[u8]) -> Vec<u8> {
    if name.is_empty() {
        b".".to_vec()
    } else {
        name.to_vec()
    }
}

/// Evaluates an execve of `input.program` against `fs`.
pub fn evaluate(input: &ExecInput, fs: &dyn FileSystem) -> ExecPlan {
    // A C string ends at its first NUL.
    let cut = |b: &[u8]| -> Vec<u8> { b.split(|&c| c == 0).next().unwrap_or_default().to_vec() };
    let path = cut(&input.program);
    let mut ev = Evaluator {
        input,
        fs,
        plan: ExecPlan {
            execfn: path.clone(),
            path,
            outcome: Outcome::Runs,
            reason: String::new(),
            chain: Vec::new(),
            argv: input.argv.iter().map(|a| cut(a)).collect(),
            envp: input.envp.iter().map(|e| cut(e)).collect(),
            arg_bytes: 0,
            arg_limit: 0,
            budget: None,
            credentials_after: input.credentials.clone(),
            secure: false,
            preserve_argv0: false,
            execfd: false,
            notes: Vec::new(),
            searched: Vec::new(),
            env_target: None,
            verified: true,
        },
        used: 0,
        handlers: None,
        executable: None,
    };
    if ev.plan.arg_limit == 0 {
        if let Ok(b) = limits::budget(
            input.stack_rlimit,
            input.argv.len() as u64,
            input.envp.len() as u64,
        ) {
            ev.plan.arg_limit = b.limit;
        }
    }
    if let Err(f) = ev.run() {
        ev.plan.outcome = f.outcome;
        ev.plan.reason = f.reason;
    }
    if ev.plan.outcome == Outcome::Runs {
        ev.plan.env_target = env_target(&ev.plan, fs);
    }
    let hidden = fs.uninspected_processes();
    if hidden > 0 && ev.plan.errno() != Some(Errno(libc::ETXTBSY)) {
        ev.plan.notes.push(format!(
            "the open files of {hidden} processes could not be read (other users'): if one of them has a file of the chain open for writing, exec gives ETXTBSY"
        ));
    }
    ev.plan
}

/// `/usr/bin/env NAME`: the program env will run, found the way env finds it (execvp with
/// the PATH of the environment it was given). Options and assignments are not followed.
fn env_target(plan: &ExecPlan, fs: &dyn FileSystem) -> Option<(Vec<u8>, Option<Vec<u8>>)> {
    let (path, _) = plan.final_elf()?;
    let base = path.rsplit(|&c| c == b'/').next()?;
    if base != b"env" {
        return None;
    }
    let name = plan.argv.get(1)?;
    if name.is_empty() || name.starts_with(b"-") || name.contains(&b'=') {
        return None;
    }
    let path_var = plan
        .envp
        .iter()
        .rev()
        .find_map(|e| e.strip_prefix(b"PATH="));
    let candidates = Candidates::search(name, path_var, SearchRules::Glibc).ok()?;
    let creds = &plan.credentials_after;
    let found = candidates.paths().find_map(|c| {
        let c = c.to_bytes();
        let facts = fs.lookup(c).ok()?;
        exec_permission("", &facts, creds).ok()?;
        Some(c.to_vec())
    });
    Some((name.clone(), found))
}

/// Evaluates an execvp-style call: `name` without a '/' is searched in `search_path` (the
/// caller's PATH; `None`: unset) with glibc's rules, trying candidates as execvp would: go on
/// after EACCES, ENOENT, ENOTDIR, ESTALE, ENODEV, ETIMEDOUT; stop at anything else; report
/// EACCES at the end if any candidate gave it.
pub fn evaluate_search(
    input: &ExecInput,
    search_path: Option<&[u8]>,
    fs: &dyn FileSystem,
) -> ExecPlan {
    let rules = SearchRules::Glibc;
    let candidates = match Candidates::search(&input.program, search_path, rules) {
        Ok(c) => c,
        Err(e) => {
            let mut p = evaluate(input, fs);
            p.outcome = Outcome::Fails(Errno(e));
            p.reason = format!(
                "{} cannot be searched for in PATH: {}",
                quote(&input.program),
                Errno(e)
            );
            p.chain.clear();
            return p;
        }
    };
    if candidates.direct {
        return evaluate(input, fs);
    }
    let mut tried = Vec::new();
    let mut first_eacces: Option<ExecPlan> = None;
    let mut last: Option<ExecPlan> = None;
    for c in candidates.paths() {
        let one = ExecInput {
            program: c.to_bytes().to_vec(),
            ..input.clone()
        };
        let plan = evaluate(&one, fs);
        match plan.errno() {
            None => {
                return ExecPlan {
                    searched: tried,
                    ..plan
                }
            }
            Some(e) => {
                tried.push((plan.path.clone(), e));
                if e.0 == libc::EACCES && first_eacces.is_none() {
                    first_eacces = Some(plan.clone());
                }
                if !rules.continues_after(e.0) {
                    if e.0 == libc::ENOEXEC {
                        let mut plan = plan;
                        plan.notes.push(
                            "execvp (glibc) would then run it as a shell script: /bin/sh PATH ARGS..."
                                .to_string(),
                        );
                        tried.pop();
                        return ExecPlan {
                            searched: tried,
                            ..plan
                        };
                    }
                    tried.pop();
                    return ExecPlan {
                        searched: tried,
                        ..plan
                    };
                }
                last = Some(plan);
            }
        }
    }
    let mut result = match (first_eacces, last) {
        (Some(p), _) => p,
        (None, Some(p)) => p,
        (None, None) => {
            let mut p = evaluate(input, fs);
            p.outcome = Outcome::Fails(Errno(libc::ENOENT));
            p.reason = format!("{} was not found: PATH is empty", quote(&input.program));
            p.chain.clear();
            return p;
        }
    };
    if result.errno() == Some(Errno(libc::ENOENT)) {
        result.reason = format!(
            "{} was not found in any of the {} PATH directories",
            show(&input.program),
            tried.len()
        );
    }
    tried.retain(|(p, _)| *p != result.path);
    result.searched = tried;
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::binfmt::misc::{MiscHandler, MiscRule};
    use crate::model::elf_builder::ElfBuilder;
    use crate::model::filesystem::MemoryFileSystem;

    /// A static x86-64 ELF header + one PT_LOAD, enough to pass every check.
    fn tiny_elf(machine: u16) -> Vec<u8> {
        ElfBuilder {
            machine,
            ..ElfBuilder::exec(&[])
        }
        .bytes()
    }

    fn input(program: &str, args: &[&str], uid: u32) -> ExecInput {
        ExecInput {
            program: program.as_bytes().to_vec(),
            argv: std::iter::once(program)
                .chain(args.iter().copied())
                .map(|s| s.as_bytes().to_vec())
                .collect(),
            envp: vec![b"A=1".to_vec()],
            cwd: "/".into(),
            credentials: Credentials {
                uid,
                euid: uid,
                gid: uid,
                egid: uid,
                groups: Vec::new(),
            },
            stack_rlimit: Some(8 << 20),
        }
    }

    fn qemu(flags: &str) -> MiscHandler {
        let mut magic = b"\x7fELF".to_vec();
        magic.extend_from_slice(&[0; 14]);
        magic.extend_from_slice(&183u16.to_le_bytes());
        let mut mask = vec![0xff; 4];
        mask.extend_from_slice(&[0; 14]);
        mask.extend_from_slice(&[0xff, 0xff]);
        MiscHandler {
            name: "qemu-aarch64".into(),
            enabled: true,
            interpreter: b"/usr/bin/qemu".to_vec(),
            flags: flags.into(),
            rule: MiscRule::Magic {
                offset: 0,
                magic,
                mask: Some(mask),
            },
            order: 1,
        }
    }

    #[test]
    fn binfmt_misc_handler_turns_a_foreign_elf_into_a_run() {
        let mut fs = MemoryFileSystem::new();
        fs.add(b"/arm", 0o755, 1000, &tiny_elf(183));
        fs.add(b"/usr/bin/qemu", 0o755, 1000, &tiny_elf(62));
        let plan = evaluate(&input("/arm", &["x"], 0), &fs);
        assert_eq!(plan.errno(), Some(Errno(libc::ENOEXEC)));
        fs.set_binfmt_misc(vec![qemu("")]);
        let plan = evaluate(&input("/arm", &["x"], 0), &fs);
        assert_eq!(plan.outcome, Outcome::Runs, "{}", plan.reason);
        assert_eq!(
            plan.argv,
            vec![b"/usr/bin/qemu".to_vec(), b"/arm".to_vec(), b"x".to_vec()]
        );
        assert_eq!(plan.chain[0].format.kind(), "binfmt_misc");
        // P keeps argv[0] after the file name, and says so in AT_FLAGS.
        fs.set_binfmt_misc(vec![qemu("POC")]);
        let plan = evaluate(&input("/arm", &["x"], 0), &fs);
        assert_eq!(
            plan.argv,
            vec![
                b"/usr/bin/qemu".to_vec(),
                b"/arm".to_vec(),
                b"/arm".to_vec(),
                b"x".to_vec()
            ]
        );
        assert!(plan.preserve_argv0 && plan.execfd);
    }

    #[test]
    fn binfmt_misc_beats_the_script_handler() {
        let mut fs = MemoryFileSystem::new();
        fs.add(b"/s.py", 0o755, 1000, b"#!/nonexistent\n");
        fs.add(b"/usr/bin/py", 0o755, 1000, &tiny_elf(62));
        fs.set_binfmt_misc(vec![MiscHandler {
            name: "py".into(),
            enabled: true,
            interpreter: b"/usr/bin/py".to_vec(),
            flags: String::new(),
            rule: MiscRule::Extension(b"py".to_vec()),
            order: 1,
        }]);
        let plan = evaluate(&input("/s.py", &[], 0), &fs);
        assert_eq!(plan.outcome, Outcome::Runs, "{}", plan.reason);
    }

    #[test]
    fn permissions_by_class_for_non_root() {
        let mut fs = MemoryFileSystem::new();
        fs.add(b"/owner-only", 0o700, 1000, &tiny_elf(62));
        fs.add(b"/others-only", 0o001, 1000, &tiny_elf(62));
        // uid 1000 owns the files: the owner bits decide, even when others may execute.
        assert_eq!(
            evaluate(&input("/owner-only", &[], 1000), &fs).outcome,
            Outcome::Runs
        );
        assert_eq!(
            evaluate(&input("/others-only", &[], 1000), &fs).errno(),
            Some(Errno(libc::EACCES))
        );
        assert_eq!(
            evaluate(&input("/others-only", &[], 2000), &fs).outcome,
            Outcome::Runs
        );
        assert_eq!(
            evaluate(&input("/others-only", &[], 0), &fs).outcome,
            Outcome::Runs
        );
    }

    #[test]
    fn low_mapping_kills_only_without_cap_sys_rawio() {
        let mut fs = MemoryFileSystem::new();
        let mut low = tiny_elf(62);
        low[64 + 16..64 + 24].copy_from_slice(&0x1000u64.to_le_bytes());
        low[24..32].copy_from_slice(&0x1078u64.to_le_bytes());
        fs.add(b"/low", 0o755, 1000, &low);
        assert_eq!(evaluate(&input("/low", &[], 0), &fs).outcome, Outcome::Runs);
        assert_eq!(
            evaluate(&input("/low", &[], 1000), &fs).outcome,
            Outcome::Killed(SIGSEGV)
        );
    }

    #[test]
    fn busy_file_is_etxtbsy() {
        let mut fs = MemoryFileSystem::new();
        fs.add(b"/p", 0o755, 1000, &tiny_elf(62));
        fs.set_open_for_writing(1);
        assert_eq!(
            evaluate(&input("/p", &[], 0), &fs).errno(),
            Some(Errno(libc::ETXTBSY))
        );
    }

    #[test]
    fn path_search_reports_eacces_over_a_later_enoent() {
        let mut fs = MemoryFileSystem::new();
        fs.add(b"/a/prog", 0o644, 1000, &tiny_elf(62));
        let plan = evaluate_search(&input("prog", &[], 1000), Some(b"/a:/b"), &fs);
        assert_eq!(plan.errno(), Some(Errno(libc::EACCES)));
        assert_eq!(plan.path, b"/a/prog");
        fs.add(b"/b/prog", 0o755, 1000, &tiny_elf(62));
        let plan = evaluate_search(&input("prog", &[], 1000), Some(b"/a:/b"), &fs);
        assert_eq!(plan.outcome, Outcome::Runs);
        assert_eq!(plan.path, b"/b/prog");
    }

    mod fuzz {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]

            /// Any file content, as the program or as a script's interpreter, gives a plan
            /// without panicking, and a failure always carries a reason.
            #[test]
            fn any_bytes_evaluate(
                body in proptest::collection::vec(any::<u8>(), 0..400),
                elf_prefix in any::<bool>(),
                shebang in any::<bool>(),
            ) {
                let mut bytes = body.clone();
                if elf_prefix {
                    let mut e = tiny_elf(62);
                    let n = bytes.len().min(e.len());
                    e[20..20 + n.min(100)].copy_from_slice(&bytes[..n.min(100)]);
                    bytes = e;
                }
                let mut fs = MemoryFileSystem::new();
                fs.add(b"/i", 0o755, 1000, &bytes);
                if shebang {
                    fs.add(b"/p", 0o755, 1000, b"#!/i arg\n");
                } else {
                    fs.add(b"/p", 0o755, 1000, &bytes);
                }
                let plan = evaluate(&input("/p", &["x"], 0), &fs);
                if plan.outcome != Outcome::Runs {
                    prop_assert!(!plan.reason.is_empty());
                }
            }

            /// Parsers never panic on any input.
            #[test]
            fn parsers_take_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
                let _ = crate::model::binfmt::script::parse(&bytes);
                let _ = crate::model::binfmt::aout::parse(&bytes);
                for class in [elf::ElfClass::Elf64, elf::ElfClass::Elf32] {
                    let h = elf::parse_header(&bytes, class);
                    let _ = elf::check_header(&h);
                    if let Some(p) = elf::parse_phdrs(&bytes, class, 3) {
                        let cx = elf::LoadContext {
                            is_interp: true,
                            has_interp: true,
                            mmap_min_addr: 65536,
                            may_map_low: false,
                            file_size: u64::MAX,
                        };
                        let _ = elf::load_problem(&h, &p, &cx);
                        let _ = elf::phdr_vaddr(&h, &p);
                    }
                }
                let _ = crate::model::binfmt::misc::parse_entry("x", &bytes, 0);
            }
        }
    }
}
