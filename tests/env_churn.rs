//! A program whose other threads change the process environment (std::env::set_var) while it
//! spawns. This test has a binary of its own: its churn thread would otherwise race every other
//! test of the binary that spawns with the inherited (live) environment, which is the hazard the
//! test is about.

mod support;

use forkexec::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::{programs, Watchdog};

// ---------------------------------------------------------------------------------------------
// The environment changed by another thread
// ---------------------------------------------------------------------------------------------

/// Another thread keeps adding and removing variables (std::env::set_var reallocates and frees
/// the C `environ` array) while this one spawns children that inherit the environment, half by
/// default (the live `environ`, no copy) and half through the documented snapshot,
/// `env_clear().envs(std::env::vars_os())`. Every spawn must succeed.
///
/// Breaks on: removing the spawner's EFAULT retry (measured: 1,665 of ~3,000 default spawns
/// failed with EFAULT without it: the array moved under the child's execve), or a snapshot
/// not taken under std's env lock.
#[test]
fn spawns_survive_another_threads_set_var() {
    if !support::is_x86_64() {
        support::skip("the tiny test programs are x86_64 code");
        return;
    }
    let progs = programs();
    let _dog = Watchdog::arm("environment_changed", Duration::from_secs(120));
    let stop = Arc::new(AtomicBool::new(false));
    let churn = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::Acquire) {
                n += 1;
                // New names grow the array (realloc); removals shrink it.
                std::env::set_var(
                    format!("FORKEXEC_CHURN_{}", n % 64),
                    "v".repeat((n % 97) as usize),
                );
                if n % 3 == 0 {
                    std::env::remove_var(format!("FORKEXEC_CHURN_{}", (n / 3) % 64));
                }
            }
            n
        })
    };
    let mut failures = Vec::new();
    let start = Instant::now();
    let mut spawns = 0;
    while spawns < 3000 && start.elapsed() < Duration::from_secs(20) {
        spawns += 1;
        let mut cmd = Command::new(&progs.exit_argc);
        cmd.arg("x");
        if spawns % 2 == 0 {
            cmd.env_clear().envs(std::env::vars_os());
        }
        match cmd.status() {
            Ok(st) if st.code() == Some(2) => {}
            other => failures.push(format!("spawn {spawns}: {other:?}")),
        }
    }
    stop.store(true, Ordering::Release);
    let changes = churn.join().unwrap();
    println!("{spawns} spawns while the environment changed {changes} times");
    for k in 0..64 {
        std::env::remove_var(format!("FORKEXEC_CHURN_{k}"));
    }
    assert!(
        failures.is_empty(),
        "{} failures: {:?}",
        failures.len(),
        &failures[..failures.len().min(10)]
    );
}

// ---------------------------------------------------------------------------------------------
// PID reuse
