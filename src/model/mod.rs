//! A pure model of the kernel's `execve` on x86_64 Linux 6.x: what an exec of a program would
//! do, and why it would fail, computed without executing anything.
//!
//! - [`binfmt`]: the formats, from a file's first 256 bytes (ELF, `#!`, a.out, binfmt_misc);
//! - [`limits`]: MAX_ARG_STRLEN and the argv+envp budget from RLIMIT_STACK;
//! - [`plan`]: the whole exec as the caller meets it: path walk, permissions, noexec, ETXTBSY,
//!   argument copying, the chain of interpreters, and failures after the point of no return;
//! - [`stack`]: the initial stack the program would see (argc, argv, envp, auxv, strings);
//! - [`filesystem`] and [`writers`]: the only places that read the system (read-only), and
//!   [`MemoryFileSystem`], a made-up filesystem to ask the model about (tests and fuzzing use it);
//! - [`elf_builder`]: small x86-64 ELF files written from scratch, for tests, fuzz seeds and the
//!   benchmark's program.
//!
//! The input is an [`ExecInput`] value, so the model can be asked about any argv, environment,
//! working directory, credentials and stack limit; [`ExecInput::from_current_process`] fills
//! the last three from the calling process.

pub mod binfmt;
pub mod elf_builder;
pub mod filesystem;
pub mod limits;
pub mod plan;
pub mod stack;
pub mod writers;

pub use filesystem::{FileSystem, HostFileSystem, MemoryFileSystem};
pub use plan::{evaluate, evaluate_search, ExecPlan, Outcome};

use std::path::PathBuf;

/// Who is calling execve: the ids the kernel checks permissions with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    /// Real user id.
    pub uid: u32,
    /// Effective user id (the one file permissions use).
    pub euid: u32,
    /// Real group id.
    pub gid: u32,
    /// Effective group id.
    pub egid: u32,
    /// Supplementary groups.
    pub groups: Vec<u32>,
}

impl Credentials {
    /// The calling process's credentials.
    pub fn current() -> Self {
        Credentials {
            uid: rustix::process::getuid().as_raw(),
            euid: rustix::process::geteuid().as_raw(),
            gid: rustix::process::getgid().as_raw(),
            egid: rustix::process::getegid().as_raw(),
            groups: rustix::process::getgroups()
                .map(|g| g.into_iter().map(|g| g.as_raw()).collect())
                .unwrap_or_default(),
        }
    }

    /// Whether file permission checks pass regardless of mode bits (CAP_DAC_OVERRIDE; taken
    /// to be root's).
    pub fn overrides_permissions(&self) -> bool {
        self.euid == 0
    }

    /// Whether `gid` is the effective group or a supplementary one.
    pub fn in_group(&self, gid: u32) -> bool {
        self.egid == gid || self.groups.contains(&gid)
    }
}

/// Everything the model needs to know about one execve call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecInput {
    /// The path given to execve (after any PATH search).
    pub program: Vec<u8>,
    /// argv, `argv[0]` included (may be empty).
    pub argv: Vec<Vec<u8>>,
    /// envp, `KEY=VALUE` strings.
    pub envp: Vec<Vec<u8>>,
    /// The caller's working directory (relative paths resolve from it).
    pub cwd: PathBuf,
    /// The caller's credentials.
    pub credentials: Credentials,
    /// The soft RLIMIT_STACK in bytes; `None` for unlimited.
    pub stack_rlimit: Option<u64>,
}

impl ExecInput {
    /// An input for `program` with `argv` and `envp`, and this process's cwd, credentials and
    /// stack rlimit.
    pub fn from_current_process(
        program: Vec<u8>,
        argv: Vec<Vec<u8>>,
        envp: Vec<Vec<u8>>,
    ) -> std::io::Result<Self> {
        let rl = rustix::process::getrlimit(rustix::process::Resource::Stack);
        Ok(ExecInput {
            program,
            argv,
            envp,
            cwd: std::env::current_dir()?,
            credentials: Credentials::current(),
            stack_rlimit: rl.current,
        })
    }
}
