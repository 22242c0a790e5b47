//! The exec family: execve, execv, execvp, execvpe, fexecve, execveat and the list forms
//! (`execl!`, `execlp!`, `execle!`), with glibc's exact PATH-search semantics, built on a
//! prepared form that does not allocate.
//!
//! - [`family`]: the functions, one per C call, returning only on failure;
//! - [`Exec`]: the same exec with options (musl rules, no shell fallback, a given PATH) and
//!   [`Exec::prepare`] for the allocation-free form;
//! - [`PreparedExec`] / [`PreparedExecAt`]: argv, envp and candidates built in advance, so
//!   that `exec` can run after fork, vfork or clone without allocating;
//! - [`Candidates`] / [`SearchRules`]: the PATH search itself, shared with the spawner.

pub mod builder;
pub mod family;
pub mod prepared;
pub mod search;
pub mod vectors;

pub use crate::{execl, execle, execlp};
pub use builder::Exec;
pub use family::{execv, execve, execveat, execvp, execvpe, fexecve};
pub use prepared::{Envp, ExecTarget, PreparedExec, PreparedExecAt, ShellFallback};
pub use rustix::fs::AtFlags;
pub use search::{Candidates, PathLookup, SearchRules};
pub use vectors::CStringArray;
