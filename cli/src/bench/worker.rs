//! A bench worker: one process per parent size, holding that much resident memory and spawning
//! on request.
//!
//! Why processes: the figures the targets compare (8 GiB against 0, attrs against plain) must be
//! measured at the same time, or a change of load on the machine between the two passes shows as
//! a difference between sizes (seen here: plain at 0 measured 76 us in one pass and 56 us in the
//! next). With one worker per size, the coordinator interleaves every cell of every size in
//! short batches, so drift hits them all alike.
//!
//! The protocol (protocol.rs) runs on copies of stdin and stdout; fds 0 and 1 become /dev/null
//! and the coordinator's stderr, so a `--target` that reads or prints cannot disturb it.

use super::ballast::Ballast;
use super::cpus::CpuSet;
use super::methods::{Method, Spawner};
use super::protocol::{Reply, Request, Setup};
use super::scenarios::{self, Scenario};
use std::io::{BufRead, BufReader, Write};
use std::sync::Barrier;
use std::time::{Duration, Instant};

/// Runs a worker on stdin/stdout; returns the exit code.
pub fn serve() -> i32 {
    match serve_channel() {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("forkexec bench worker: {e}");
            1
        }
    }
}

/// Moves the protocol off fds 0 and 1 (see the module docs) and serves it.
fn serve_channel() -> Result<(), String> {
    let err = |what: &str, e: rustix::io::Errno| format!("{what}: {e}");
    let input = rustix::io::fcntl_dupfd_cloexec(rustix::stdio::stdin(), 3)
        .map_err(|e| err("dup stdin", e))?;
    let output = rustix::io::fcntl_dupfd_cloexec(rustix::stdio::stdout(), 3)
        .map_err(|e| err("dup stdout", e))?;
    let null = rustix::fs::open(
        "/dev/null",
        rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )
    .map_err(|e| err("open /dev/null", e))?;
    rustix::stdio::dup2_stdin(&null).map_err(|e| err("dup2 stdin", e))?;
    rustix::stdio::dup2_stdout(rustix::stdio::stderr()).map_err(|e| err("dup2 stdout", e))?;
    let mut input = BufReader::new(std::fs::File::from(input));
    let mut output = std::fs::File::from(output);
    let mut line = String::new();
    let mut next = |line: &mut String| -> Result<bool, String> {
        line.clear();
        let n = input.read_line(line).map_err(|e| format!("read: {e}"))?;
        Ok(n > 0)
    };
    let mut send = |reply: &Reply| -> Result<(), String> {
        let mut text = serde_json::to_string(reply).map_err(|e| e.to_string())?;
        text.push('\n');
        output
            .write_all(text.as_bytes())
            .map_err(|e| format!("write: {e}"))
    };
    if !next(&mut line)? {
        return Ok(());
    }
    let setup: Setup = serde_json::from_str(&line).map_err(|e| format!("setup: {e}"))?;
    let mut worker = match Worker::new(&setup) {
        Ok(w) => w,
        Err(message) => return send(&Reply::Failed { message }),
    };
    send(&Reply::Ready)?;
    while next(&mut line)? {
        let request: Request = serde_json::from_str(&line).map_err(|e| format!("request: {e}"))?;
        let reply = worker
            .answer(request)
            .unwrap_or_else(|message| Reply::Failed { message });
        send(&reply)?;
    }
    Ok(())
}

struct Worker {
    _ballast: Ballast,
    /// The CPUs the worker may use: the threads scenario's threads run on all of them.
    free: CpuSet,
    /// Kept alive for the spawners (the attrs scenario's fd) and the threads scenario.
    _scenarios: Vec<Scenario>,
    plain: Option<Scenario>,
    spawners: Vec<Spawner>,
}

impl Worker {
    fn new(setup: &Setup) -> Result<Worker, String> {
        let free = CpuSet::current().map_err(|e| format!("sched_getaffinity: {e}"))?;
        let ballast =
            Ballast::touch(setup.mib).map_err(|e| format!("touching {} MiB: {e}", setup.mib))?;
        if setup.pin {
            if let Some(cpu) = free.first() {
                CpuSet::only(cpu)
                    .apply()
                    .map_err(|e| format!("pin to CPU {cpu}: {e}"))?;
            }
        }
        let mut built: Vec<(String, Scenario)> = Vec::new();
        let mut spawners = Vec::new();
        for (scenario, method) in &setup.cells {
            if !built.iter().any(|(id, _)| id == scenario) {
                built.push((scenario.clone(), scenarios::build(scenario, &setup.dir)?));
            }
            let sc = &built
                .iter()
                .find(|(id, _)| id == scenario)
                .expect("built above")
                .1;
            let method =
                Method::from_id(method).ok_or_else(|| format!("unknown method {method}"))?;
            let mut s = Spawner::new(method, &sc.program, &*sc.forkexec, &sc.std_steps)
                .map_err(|e| format!("{scenario} {}: {e}", method.id()))?;
            // Warm up (page cache, the thread's child stack) and check that the method works.
            for _ in 0..s.warm_up_calls() {
                s.spawn_and_wait()
                    .map_err(|e| format!("{scenario} {}: {e}", method.id()))?;
            }
            spawners.push(s);
        }
        let plain = if setup.threads {
            Some(scenarios::build("plain", &setup.dir)?)
        } else {
            None
        };
        Ok(Worker {
            _ballast: ballast,
            free,
            _scenarios: built.into_iter().map(|(_, s)| s).collect(),
            plain,
            spawners,
        })
    }

    fn answer(&mut self, request: Request) -> Result<Reply, String> {
        match request {
            Request::Latency {
                cell,
                max_runs,
                max_ms,
                warm_up_ms,
            } => {
                let s = self
                    .spawners
                    .get_mut(cell)
                    .ok_or_else(|| format!("no cell {cell}"))?;
                let warm_until = Instant::now() + Duration::from_millis(warm_up_ms);
                while Instant::now() < warm_until {
                    s.spawn_and_wait()?;
                }
                let slice = Duration::from_millis(max_ms);
                let start = Instant::now();
                let mut ns = Vec::with_capacity(max_runs);
                while ns.len() < max_runs.max(1) {
                    let t = Instant::now();
                    s.spawn_and_wait()?;
                    ns.push(t.elapsed().as_nanos() as u64);
                    if start.elapsed() >= slice {
                        break;
                    }
                }
                Ok(Reply::Samples { ns })
            }
            Request::Throughput {
                method,
                threads,
                warm_up_ms,
                ms,
            } => {
                let method =
                    Method::from_id(&method).ok_or_else(|| format!("unknown method {method}"))?;
                let plain = self.plain.as_ref().ok_or("threads not set up")?;
                let warm_up = Duration::from_millis(warm_up_ms);
                let slice = Duration::from_millis(ms);
                throughput(plain, method, threads, warm_up, slice, self.free)
            }
        }
    }
}

/// `threads` threads, unpinned, spawning untimed for `warm_up`, then all from one barrier for
/// `slice`.
fn throughput(
    plain: &Scenario,
    method: Method,
    threads: usize,
    warm_up: Duration,
    slice: Duration,
    free: CpuSet,
) -> Result<Reply, String> {
    let start = Barrier::new(threads + 1);
    let warm_until = Instant::now() + warm_up;
    let (results, elapsed) = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let start = &start;
                scope.spawn(move || -> Result<Vec<u64>, String> {
                    let ready = free
                        .apply()
                        .map_err(|e| format!("sched_setaffinity: {e}"))
                        .and_then(|()| {
                            let mut s = Spawner::new(
                                method,
                                &plain.program,
                                &*plain.forkexec,
                                &plain.std_steps,
                            )?;
                            while Instant::now() < warm_until {
                                s.spawn_and_wait()?;
                            }
                            Ok(s)
                        });
                    // Everyone meets the barrier, failed or not, so nobody waits forever.
                    start.wait();
                    let mut s = ready?;
                    let deadline = Instant::now() + slice;
                    let mut ns = Vec::new();
                    while Instant::now() < deadline {
                        let t = Instant::now();
                        s.spawn_and_wait()?;
                        ns.push(t.elapsed().as_nanos() as u64);
                    }
                    Ok(ns)
                })
            })
            .collect();
        start.wait();
        let t0 = Instant::now();
        let results: Vec<Result<Vec<u64>, String>> = handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err("a thread panicked".into())))
            .collect();
        (results, t0.elapsed())
    });
    let mut ns = Vec::new();
    for r in results {
        ns.extend(r?);
    }
    Ok(Reply::Throughput {
        spawns: ns.len() as u64,
        elapsed_ns: elapsed.as_nanos() as u64,
        ns,
    })
}
