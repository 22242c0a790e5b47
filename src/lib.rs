//! # forkexec
//!
//! Unix process creation and program execution, done the way the kernel and the best C
//! libraries do it, with nothing hidden:
//!
//! - **spawn**: [`Command`] and [`Child`], a drop-in for `std::process` (std's own process tests
//!   run against it; the README lists the deliberate differences) on a
//!   clone(CLONE_VM|CLONE_VFORK) path that never copies the parent's page tables, with pidfds,
//!   a secure fd default and errors that name the failing step;
//! - **exec**: [`exec`], the exec family with glibc's PATH-search semantics, prepared so that
//!   the exec itself allocates nothing;
//! - **explain**: [`model`] and [`explain`], a pure model of the kernel's execve that predicts
//!   what an exec will do and why it fails;
//! - **load**: [`load`], a userland execve: runs an ELF program from a file or from memory in
//!   the current process (static, static PIE, or dynamic through its ld.so), or in a spawned
//!   child ([`Command::loader`], [`Command::program_bytes`]: a program held in memory runs with
//!   no file and no memfd holding it);
//! - **async** (feature `tokio`): `forkexec::tokio`, tokio::process's API on this spawner,
//!   waiting on pidfd readiness without a SIGCHLD handler or a reaper thread.
//!
//! ```no_run
//! use forkexec::{Command, Stdio};
//! let out = Command::new("echo").arg("hello").stdout(Stdio::piped()).output()?;
//! assert_eq!(out.stdout, b"hello\n");
//! # Ok::<(), forkexec::Error>(())
//! ```
//!
//! # Architecture
//!
//! Data flows one way, from what the user asks for to the kernel:
//!
//! ```text
//!  command/  Command: the builder (what)            exec/    the exec family, PATH search
//!     |                                                |
//!  spawn/    spec -> plan (validated, prepared,       model/   execve as data (pure)
//!     |      allocating, unit-tested) -> launch         |   \
//!     |                                             explain/  load/ (plan, then carry out)
//!  sys/      clone, child sequence, exec loop,           |
//!     |      loader jump (the only unsafe; private)      sys/
//!  process   Child: the handle (pidfd, wait, kill)
//! ```
//!
//! | folder / file | what it is | may use |
//! | --- | --- | --- |
//! | `command/` | the public builder, one file per attribute family | `spawn`, `attr`, `exec`, `stdio`, `process`, `error` |
//! | `spawn/` | request as data, validation, preparation, the spawn flow | `attr`, `exec`, `load` (the userland loader's handoff), `sys`, `process`, `step`, `stdio`, `error` |
//! | `attr/` | attribute values (signals, namespaces, limits...) and their checks | `sys` (raw types, fd probes) |
//! | `exec/` | the exec family, PATH search, prepared vectors | `sys` |
//! | `process.rs` | [`Child`]: wait, signal, kill through the pidfd (or the pid where the kernel has none) | rustix, `sys` (features, signals) |
//! | `tokio/` (feature) | the async Command and Child: pidfd readiness, background reaping | `command`, `process`, `spawn` (stdio defaults), `sys` (signals), `stdio`, `error` |
//! | [`kernel`] | what the first spawn's probe found: clone form, pidfd, close-on-exec method | `sys` (features) |
//! | `step.rs` | the steps of a spawn and their messages | nothing of the crate |
//! | `quoting.rs` | how bytes (a program, a path) are shown in messages | nothing of the crate |
//! | `model/`, `explain/` | the pure execve model and its renderings | each other (explain reads model) |
//! | `load/` | the userland loader | `model`, `exec`, `sys` |
//! | `sys/` (private) | raw syscalls, clone, child sequence, exec loop, loader mappings and trampoline, the loader stub's memfd and payload | `step`; `sys/unsafe_api.rs` declares the public `unsafe` fns of `Command` and `Stdio` |
//! | `sys/loader_stub/main.rs` | the loader stub: a separate no-std program (built by build.rs, embedded as bytes) | `sys/trampoline.rs`, `sys/loader_stub/wire.rs` (core-only files it shares with the library) |
//! | `fd.rs`, `errno.rs`, `error.rs`, `stdio.rs` | small shared vocabulary | `sys` (fd.rs), `quoting` (error.rs), nothing else |
//!
//! `sys` is the only place with `unsafe`; the rest of the crate is `#![deny(unsafe_code)]`.
#![deny(unsafe_code)]
#![deny(missing_docs)]

pub mod attr;
mod command;
pub mod errno;
mod error;
pub mod exec;
pub mod explain;
pub mod fd;
pub mod kernel;
#[cfg(target_arch = "x86_64")]
pub mod load;
pub mod model;
mod process;
mod quoting;
mod spawn;
mod stdio;
mod step;
mod sys;
#[cfg(feature = "tokio")]
pub mod tokio;

#[cfg(target_arch = "x86_64")]
pub use command::Loader;
pub use command::{Command, CommandArgs, CommandEnvs, FromStdError};
pub use errno::Errno;
pub use error::{Error, ErrorStage, Result};
pub use exec::PathLookup;
pub use process::{Child, ChildEvent, Pty};
pub use stdio::Stdio;
