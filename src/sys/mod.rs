//! The only unsafe code in forkexec, private to the crate: raw syscalls, the clone, the child
//! sequence, the loader's mappings and jump. The layers above build the raw views these
//! modules execute ([`child_sequence::ChildPlan`], [`exec_loop::ExecCandidates`]); nothing
//! here imports them back (only the shared step vocabulary, `crate::step`).
//!
//! - [`raw`]: syscalls issued directly (no libc, no errno), safe for the child side;
//! - [`features`]: what this kernel or sandbox supports, probed once and cached;
//! - [`clone`]: clone3, clone or a fork (the form the probe chose), the child on its own stack;
//! - [`stack`]: the per-thread cached child stack;
//! - [`child_sequence`]: the ordered, allocation-free steps between clone and exec;
//! - [`launch`]: the parent's side of a spawn (clone, wait for the exec, read the report);
//! - [`exec_loop`]: the allocation-free exec loop over prepared PATH candidates;
//! - [`inherited`]: fds known only by number (validation, the CLI through `crate::fd`);
//! - [`mapping`]: address-space regions the userland loader reserves and fills;
//! - [`jump`]: the loader's last steps and its trampoline into a new program;
//! - [`trampoline`]: the trampoline's code and parameters (shared with the loader stub);
//! - [`signals`]: sending any signal number through a pidfd, to a pid or to a group; the
//!   calling thread's mask and the ignored dispositions;
//! - [`ptrace`]: the tracer letting a `ptrace(true)` child go;
//! - `reactor` (feature `tokio`): an fd registered with tokio's reactor (an `unsafe` call);
//! - [`terminal`]: taking the terminal back after a foreground child;
//! - [`mm`]: recording the new program's layout with the kernel (PR_SET_MM_MAP);
//! - [`unsafe_api`]: the crate's public `unsafe` functions (`Stdio::from_raw_fd`,
//!   `Command::pre_exec`), thin declarations over safe code elsewhere.
#![allow(unsafe_code)]
#![allow(clippy::missing_safety_doc)]

pub mod child_sequence;
pub mod clone;
pub mod cptr;
pub mod exec_loop;
pub mod features;
pub mod inherited;
#[cfg(target_arch = "x86_64")]
pub mod jump;
pub mod launch;
#[cfg(target_arch = "x86_64")]
pub mod loader_stub;
pub mod mapping;
pub mod mm;
pub mod ptrace;
pub mod raw;
#[cfg(feature = "tokio")]
pub mod reactor;
pub mod signals;
pub mod stack;
pub mod terminal;
#[cfg(target_arch = "x86_64")]
pub mod trampoline;
mod unsafe_api;
