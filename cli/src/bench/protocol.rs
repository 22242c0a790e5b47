//! The coordinator-worker protocol: one JSON object per line. The coordinator sends a [`Setup`];
//! the worker answers [`Reply::Ready`] once its memory is touched and its spawners are warm, then
//! answers each [`Request`]. EOF on the worker's input ends it.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// What a worker is: its size and what it may be asked to run.
#[derive(Serialize, Deserialize)]
pub struct Setup {
    pub mib: u64,
    /// The directory holding the target `exit0` (the attrs scenario's chroot).
    pub dir: PathBuf,
    /// Latency cells, in the order requests name them by index.
    pub cells: Vec<(String, String)>,
    /// Whether the threads scenario will be asked for (it spawns `plain`).
    pub threads: bool,
    pub pin: bool,
}

#[derive(Serialize, Deserialize)]
pub enum Request {
    /// Time up to `max_runs` spawns of cell `cell`, stopping after `max_ms`, after spawning
    /// untimed for `warm_up_ms` (see the coordinator's WARM_UP_MS).
    Latency {
        cell: usize,
        max_runs: usize,
        max_ms: u64,
        warm_up_ms: u64,
    },
    /// `threads` threads each spawning `plain` by `method` in a loop: untimed for `warm_up_ms`,
    /// then timed for `ms` milliseconds.
    Throughput {
        method: String,
        threads: usize,
        warm_up_ms: u64,
        ms: u64,
    },
}

#[derive(Serialize, Deserialize)]
pub enum Reply {
    Ready,
    /// Each timed spawn+wait, in nanoseconds.
    Samples {
        ns: Vec<u64>,
    },
    /// Spawns completed, the wall time from the threads' start to the last join, each spawn's time.
    Throughput {
        spawns: u64,
        elapsed_ns: u64,
        ns: Vec<u64>,
    },
    Failed {
        message: String,
    },
}
