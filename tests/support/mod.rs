//! The one toolkit the integration tests share (each test binary includes it with
//! `mod support;`): tiny test programs, what the kernel says about our children (/proc), bounds
//! that keep a hang from stalling the suite, re-running one test in a fresh process of its test
//! binary (also in new namespaces), privilege checks with the `SKIP:` convention, short probe
//! commands, and the machinery of the execve differential tests.
//!
//! Everything here reads effects from the kernel (/proc, wait statuses, what a program
//! printed), never from forkexec's own bookkeeping.
#![allow(dead_code, unused_imports)]

pub mod bounds;
pub mod execve_diff;
pub mod kernel;
pub mod privilege;
pub mod probe;
pub mod procfs;
pub mod programs;
pub mod reexec;
pub mod rng;
pub mod terminal;

pub use bounds::{bounded, die, Watchdog};
pub use kernel::{
    assert_refused_as_too_old, emulated_lacks, signal_if, wait_unreaped, wait_until_no_writer,
};
pub use privilege::{is_root, skip, userns_available};
pub use probe::{probe, sh};
pub use procfs::{
    children_of_self, children_of_thread, fd_table, gettid, own_fd_target, proc_stat, stat_field,
    stat_fields, status_field, ProcStat,
};
pub use programs::{is_x86_64, programs, Programs};
pub use reexec::{assert_helper_passes, helper_mode, run_helper, HelperRun, HELPER_ENV};
pub use rng::Rng;
pub use terminal::open_pty;
