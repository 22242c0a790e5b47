//! The only unsafe code in forkexec: raw syscalls, the clone, the child sequence.
//!
//! - [`raw`]: syscalls issued directly (no libc, no errno), safe for the child side;
//! - [`clone`]: clone3/clone with the child on its own stack;
//! - [`stack`]: the per-thread cached child stack;
//! - [`child`]: the ordered, allocation-free child sequence;
//! - [`spawn`]: the parent's side of a spawn;
//! - [`exec`]: the allocation-free exec loop over prepared PATH candidates.
//! - [`inherited`]: fds known only by number (validation, the CLI).
//! - [`mapping`]: address-space regions the userland loader reserves and fills;
//! - [`jump`]: the loader's trampoline into a new program;
//! - [`mm`]: recording the new program's layout with the kernel (PR_SET_MM_MAP).
#![allow(unsafe_code)]
#![allow(clippy::missing_safety_doc)]

pub mod child;
pub mod clone;
pub mod cptr;
pub mod exec;
pub mod inherited;
#[cfg(target_arch = "x86_64")]
pub mod jump;
pub mod mapping;
pub mod mm;
pub mod raw;
pub mod spawn;
pub mod stack;
