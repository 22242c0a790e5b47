//! # forkexec
//!
//! Unix process creation and program execution, done the way the kernel and the best C
//! libraries do it, with nothing hidden:
//!
//! - **spawn**: [`Command`] and [`Child`], a `std::process`-like API on a
//!   clone(CLONE_VM|CLONE_VFORK) path that never copies the parent's page tables, with pidfds,
//!   a secure fd default and errors that name the failing step;
//! - **exec**: [`exec`], the exec family with glibc's PATH-search semantics, prepared so that
//!   the exec itself allocates nothing;
//! - **explain**: [`model`] and [`explain`], a pure model of the kernel's execve that predicts
//!   what an exec will do and why it fails;
//! - **load**: [`load`], a userland execve: runs an ELF program from a file or from memory in
//!   the current process (static, static PIE, or dynamic through its ld.so).
//!
//! ```no_run
//! use forkexec::{Command, Stdio};
//! let out = Command::new("echo").arg("hello").stdout(Stdio::piped()).output()?;
//! assert_eq!(out.stdout, b"hello\n");
//! # Ok::<(), forkexec::Error>(())
//! ```
//!
//! Module map: `command`/`child`/`stdio` (the spawn API, safe), `attr` (process attributes),
//! `exec` (the exec family), `model`/`explain` (execve as data), `load` (the userland loader),
//! `sys` (the only unsafe code: raw syscalls, the clone, the child sequence, the loader's
//! mappings and jump).
#![deny(unsafe_code)]

pub mod attr;
mod child;
mod command;
pub mod errno;
mod error;
pub mod exec;
pub mod explain;
#[cfg(target_arch = "x86_64")]
pub mod load;
pub mod model;
mod stdio;
pub mod sys;

pub use child::Child;
pub use command::{Command, PathLookup};
pub use errno::Errno;
pub use error::{Error, ErrorKind, Result};
pub use stdio::Stdio;
