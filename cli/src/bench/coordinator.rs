//! The coordinator: starts one worker process per parent size, sends them short batches
//! round-robin over every cell (scenario x method x size, then threads x method x size) so that
//! drift on the machine hits every cell alike, and turns the samples into rows and verdicts.

use super::methods::Method;
use super::plan::Plan;
use super::protocol::{Reply, Request, Setup};
use super::report::{self, Conditions, Report, Row};
use super::{scenarios, sizes, stats, targets, TargetDir};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Stdio};
use std::time::{Duration, Instant};

/// A latency batch: at most this many timed spawns ...
const BATCH_RUNS: usize = 200;
/// ... or this long, then the next cell's turn.
const BATCH_MS: u64 = 50;
/// A throughput turn, timed.
const THREAD_SLICE_MS: u64 = 500;
/// Untimed spawns of the same cell before each timed batch or slice. A spawn leaves work the
/// kernel does later (namespaces torn down through RCU and workqueues); without this, each cell
/// would pay for the cell before it. Measured with forkexec's userns cells at 0 and 8 GiB, each
/// after std_pre_exec's userns cell of the other size: 120 and 208 us without a warm-up, 172
/// and 184 with 20 ms, 186 and 184 with 100 ms; 180 each when no other cell runs between them.
const WARM_UP_MS: u64 = 30;
/// Cells whose spawns take this long skip the warm-up (one spawn already amortises the rest).
const SLOW_SPAWN: Duration = Duration::from_millis(1);

/// A worker process and the two ends of its protocol.
struct WorkerProcess {
    mib: u64,
    child: Child,
    input: Option<ChildStdin>,
    output: BufReader<ChildStdout>,
}

impl WorkerProcess {
    fn start(mib: u64) -> Result<WorkerProcess, String> {
        let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
        let mut child = std::process::Command::new(exe)
            .args(["bench", "--worker"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("start a worker: {e}"))?;
        let input = child.stdin.take();
        let output = BufReader::new(child.stdout.take().expect("piped"));
        Ok(WorkerProcess {
            mib,
            child,
            input,
            output,
        })
    }

    fn send<T: serde::Serialize>(&mut self, message: &T) -> Result<(), String> {
        let mut text = serde_json::to_string(message).map_err(|e| e.to_string())?;
        text.push('\n');
        self.input
            .as_mut()
            .ok_or("worker closed")?
            .write_all(text.as_bytes())
            .map_err(|e| format!("worker ({} MiB) is gone: {e}", self.mib))
    }

    fn receive(&mut self) -> Result<Reply, String> {
        let mut line = String::new();
        let n = self
            .output
            .read_line(&mut line)
            .map_err(|e| format!("worker ({} MiB): {e}", self.mib))?;
        if n == 0 {
            return Err(format!("worker ({} MiB) exited", self.mib));
        }
        match serde_json::from_str(&line).map_err(|e| format!("worker reply: {e}"))? {
            Reply::Failed { message } => Err(message),
            reply => Ok(reply),
        }
    }

    fn ask(&mut self, request: &Request) -> Result<Reply, String> {
        self.send(request)?;
        self.receive()
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        // EOF on its stdin ends a worker; a worker still touching memory is killed instead.
        drop(self.input.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One latency cell: its samples so far and whether it has had its share.
struct LatencyCell {
    worker: usize,
    /// Its index in the worker's list of cells.
    index: usize,
    scenario: &'static str,
    method: Method,
    samples: Vec<Duration>,
    spent: Duration,
    /// Its spawns are slow (a fork of a big parent): no warm-up needed.
    slow: bool,
    done: bool,
}

/// One throughput cell.
struct RateCell {
    worker: usize,
    method: Method,
    threads: usize,
    /// Its spawns are slow (a fork of a big parent): no warm-up needed.
    slow: bool,
    samples: Vec<Duration>,
    elapsed: Duration,
    done: bool,
}

pub fn measure(plan: &Plan, dir: &TargetDir) -> Result<Report, String> {
    let started = Instant::now();
    let load_before = report::load_average();
    // Build each scenario once here, so an unusable one (attrs without root) fails before any
    // memory is touched.
    for spec in &plan.scenarios {
        scenarios::build(spec.id, &dir.0)?;
    }
    let cells = plan.latency_cells();
    let mut latency: Vec<LatencyCell> = Vec::new();
    let mut rates: Vec<RateCell> = Vec::new();
    for worker in 0..plan.sizes.len() {
        for (index, &(scenario, method)) in cells.iter().enumerate() {
            latency.push(LatencyCell {
                worker,
                index,
                scenario,
                method,
                samples: Vec::new(),
                spent: Duration::ZERO,
                slow: false,
                done: false,
            });
        }
        for (method, threads) in plan.rate_cells() {
            rates.push(RateCell {
                worker,
                method,
                threads,
                slow: false,
                samples: Vec::new(),
                elapsed: Duration::ZERO,
                done: false,
            });
        }
    }
    // In percent of each cell's share, so the bar moves with every turn (the cells of a
    // round-robin all finish near the end).
    let bar = indicatif::ProgressBar::new(100 * (latency.len() + rates.len()) as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:30} {percent:>3}% {elapsed} {msg}")
            .unwrap_or(indicatif::ProgressStyle::default_bar()),
    );
    let largest = plan.sizes.last().copied().unwrap_or(0);
    bar.set_message(format!("touching {}", sizes::size_name(largest)));
    let mut workers = start_workers(plan, dir, &cells)?;
    round_robin(plan, &mut workers, &mut latency, &bar, 0)?;
    round_robin(
        plan,
        &mut workers,
        &mut rates,
        &bar,
        100 * latency.len() as u64,
    )?;
    bar.finish_and_clear();
    drop(workers);

    let mut results = Vec::new();
    for c in latency.iter_mut() {
        let s = stats::Summary::of(&mut c.samples);
        results.push(row(c.scenario, c.method, plan.sizes[c.worker], s, None));
    }
    for c in rates.iter_mut() {
        let s = stats::Summary::of(&mut c.samples);
        let mut r = row(
            "threads",
            c.method,
            plan.sizes[c.worker],
            s,
            Some(c.threads),
        );
        r.spawns_per_s = Some(s.runs as f64 / c.elapsed.as_secs_f64());
        results.push(r);
    }
    sort_rows(&mut results, plan);
    let ids: Vec<&'static str> = plan.scenarios.iter().map(|s| s.id).collect();
    let profile = plan.profile.map(|p| p.name());
    let selection = targets::Selection {
        scenarios: &ids,
        methods: &plan.methods,
        unavailable: &plan.unavailable,
        sizes: &plan.sizes,
        threads: &plan.threads,
        profile,
    };
    let verdicts = scenarios::ALL
        .iter()
        .flat_map(|s| s.targets.iter())
        .map(|t| targets::judge(t, &results, &selection))
        .collect();
    Ok(Report {
        results,
        targets: verdicts,
        conditions: Conditions {
            program: dir.program().display().to_string(),
            pinned: plan.pin,
            load_before,
            load_after: report::load_average(),
            kernel: report::kernel_release(),
            emulated_kernel: profile.map(str::to_string),
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            seconds: started.elapsed().as_secs_f64(),
        },
    })
}

/// One worker per size, set up; they touch their memory at the same time.
fn start_workers(
    plan: &Plan,
    dir: &TargetDir,
    cells: &[(&'static str, Method)],
) -> Result<Vec<WorkerProcess>, String> {
    let mut workers: Vec<WorkerProcess> = Vec::new();
    for &mib in &plan.sizes {
        let mut w = WorkerProcess::start(mib)?;
        w.send(&Setup {
            mib,
            dir: dir.0.clone(),
            cells: cells
                .iter()
                .map(|(s, m)| (s.to_string(), m.id().to_string()))
                .collect(),
            threads: plan.runs_threads(),
            pin: plan.pin,
        })?;
        workers.push(w);
    }
    for w in workers.iter_mut() {
        match w.receive()? {
            Reply::Ready => {}
            _ => return Err("worker: unexpected reply to its setup".into()),
        }
    }
    Ok(workers)
}

/// A cell the coordinator gives turns to, round-robin with the others, until it has its share.
trait Cell {
    fn worker(&self) -> usize;
    fn done(&self) -> bool;
    /// What the progress bar says during its turn.
    fn label(&self, size: &str) -> String;
    /// How much of its share it has had, 0 to 1.
    fn progress(&self, plan: &Plan) -> f64;
    /// One turn: a batch from its worker, kept; it may complete the cell.
    fn turn(&mut self, w: &mut WorkerProcess, plan: &Plan) -> Result<(), String>;
}

/// Turns for every cell of every size in order, again and again, until all are done.
fn round_robin<C: Cell>(
    plan: &Plan,
    workers: &mut [WorkerProcess],
    cells: &mut [C],
    bar: &indicatif::ProgressBar,
    bar_start: u64,
) -> Result<(), String> {
    while cells.iter().any(|c| !c.done()) {
        for i in 0..cells.len() {
            if cells[i].done() {
                continue;
            }
            let w = &mut workers[cells[i].worker()];
            bar.set_message(cells[i].label(&sizes::size_name(w.mib)));
            cells[i].turn(w, plan)?;
            let had: f64 = cells.iter().map(|c| c.progress(plan).min(1.0)).sum();
            bar.set_position(bar_start + (100.0 * had) as u64);
        }
    }
    Ok(())
}

impl Cell for LatencyCell {
    fn worker(&self) -> usize {
        self.worker
    }

    fn done(&self) -> bool {
        self.done
    }

    fn label(&self, size: &str) -> String {
        format!("{} {size} {}", self.scenario, self.method.id())
    }

    fn progress(&self, plan: &Plan) -> f64 {
        let runs = self.samples.len() as f64 / plan.runs as f64;
        runs.max(self.spent.as_secs_f64() / plan.budget.as_secs_f64())
    }

    /// Up to BATCH_RUNS spawns or BATCH_MS; done at `--runs` spawns or `--seconds` spent.
    fn turn(&mut self, w: &mut WorkerProcess, plan: &Plan) -> Result<(), String> {
        let request = Request::Latency {
            cell: self.index,
            max_runs: BATCH_RUNS.min(plan.runs - self.samples.len()),
            max_ms: BATCH_MS,
            warm_up_ms: if self.slow { 0 } else { WARM_UP_MS },
        };
        let Reply::Samples { ns } = w.ask(&request)? else {
            return Err("worker: unexpected reply".into());
        };
        let batch: Vec<Duration> = ns.into_iter().map(Duration::from_nanos).collect();
        self.spent += batch.iter().sum::<Duration>();
        self.slow = batch.iter().min() >= Some(&SLOW_SPAWN);
        self.samples.extend(batch);
        self.done = self.samples.len() >= plan.runs || self.spent >= plan.budget;
        Ok(())
    }
}

impl Cell for RateCell {
    fn worker(&self) -> usize {
        self.worker
    }

    fn done(&self) -> bool {
        self.done
    }

    fn label(&self, size: &str) -> String {
        format!("threads x{} {size} {}", self.threads, self.method.id())
    }

    fn progress(&self, plan: &Plan) -> f64 {
        self.elapsed.as_secs_f64() / plan.thread_budget.as_secs_f64()
    }

    /// A slice of THREAD_SLICE_MS at most; done after `--thread-seconds`.
    fn turn(&mut self, w: &mut WorkerProcess, plan: &Plan) -> Result<(), String> {
        let left = plan.thread_budget.saturating_sub(self.elapsed);
        let request = Request::Throughput {
            method: self.method.id().to_string(),
            threads: self.threads,
            warm_up_ms: if self.slow { 0 } else { WARM_UP_MS },
            ms: (left.as_millis() as u64).clamp(1, THREAD_SLICE_MS),
        };
        let Reply::Throughput { elapsed_ns, ns, .. } = w.ask(&request)? else {
            return Err("worker: unexpected reply".into());
        };
        self.elapsed += Duration::from_nanos(elapsed_ns);
        self.samples
            .extend(ns.into_iter().map(Duration::from_nanos));
        self.done = self.elapsed >= plan.thread_budget;
        Ok(())
    }
}

fn row(scenario: &str, method: Method, mib: u64, s: stats::Summary, threads: Option<usize>) -> Row {
    Row {
        scenario: scenario.to_string(),
        method: method.id().to_string(),
        rss_mib: mib,
        median_us: s.median_us,
        mean_us: s.mean_us,
        p90_us: s.p90_us,
        p99_us: s.p99_us,
        runs: s.runs,
        threads,
        spawns_per_s: None,
    }
}

/// Scenario (registry order), then size, then thread count, then method (ALL order).
fn sort_rows(rows: &mut [Row], plan: &Plan) {
    let scenario_pos = |id: &str| plan.scenarios.iter().position(|s| s.id == id);
    let method_pos = |id: &str| Method::ALL.iter().position(|m| m.id() == id);
    rows.sort_by_key(|r| {
        (
            scenario_pos(&r.scenario),
            r.rss_mib,
            r.threads,
            method_pos(&r.method),
        )
    });
}
