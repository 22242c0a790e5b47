//! The vDSO handed to the new program.
//!
//! The kernel maps a fresh vDSO into every new address space and passes its address as
//! AT_SYSINFO_EHDR. A userland exec keeps the current address space, where this process's vDSO
//! (and its vvar pages) stay mapped, so the new program gets the same one: the C library finds
//! clock_gettime and friends there exactly as after a real exec.

use crate::model::stack::{at, parse_auxv};

/// AT_SYSINFO_EHDR of this process, from /proc/self/auxv; `None` when the vDSO is off
/// (`vdso=0`) or /proc is not mounted.
pub fn current() -> Option<u64> {
    let bytes = std::fs::read("/proc/self/auxv").ok()?;
    parse_auxv(&bytes)
        .into_iter()
        .find(|(k, _)| *k == at::SYSINFO_EHDR)
        .map(|(_, v)| v)
        .filter(|&v| v != 0)
}
