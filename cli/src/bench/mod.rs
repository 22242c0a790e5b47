//! `forkexec bench`: spawn+wait of a target program by several methods, at several parent
//! resident sizes, reporting medians. A benchmark, not a test: the figures are measured here,
//! on this machine, in this run.

mod methods;
mod scenarios;
mod tiny_elf;

use clap::Args;
use methods::{Method, Spawner};
use serde::Serialize;
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Parent resident sizes to measure at, e.g. 0,1G,8G (the bench touches that much memory).
    #[arg(long, default_value = "0", value_delimiter = ',')]
    rss: Vec<String>,
    /// Methods: forkexec, std, std_pre_exec, posix_spawn, fork_exec, vfork_exec.
    #[arg(long, value_delimiter = ',')]
    methods: Option<Vec<String>>,
    /// Scenarios: plain, attrs (setsid, uid/gid/groups, chroot, rlimits, umask, fd map; root),
    /// userns (new user+pid+mount namespaces with uid/gid maps).
    #[arg(long, default_value = "plain", value_delimiter = ',')]
    scenarios: Vec<String>,
    /// At most this many measured spawns per method and size.
    #[arg(long, default_value_t = 2000)]
    runs: usize,
    /// At most this many seconds per method and size (the fork methods at large sizes stop here).
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
    /// The program to spawn (default: a 129-byte static ELF that only calls exit(0)).
    #[arg(long, value_name = "PATH")]
    target: Option<PathBuf>,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    json: bool,
    /// Do not pin the benchmark to one CPU (pinned figures are steadier on small VMs).
    #[arg(long)]
    no_pin: bool,
    /// Answer like an older kernel or sandbox (3.10, 4.18, 5.4, docker; seccomp profiles of
    /// forkexec-emulate), to measure forkexec's fallbacks on this machine.
    #[arg(long, value_name = "PROFILE")]
    emulate_kernel: Option<forkexec_emulate::Profile>,
}

#[derive(Serialize, Clone)]
struct Row {
    scenario: String,
    method: String,
    rss_mib: u64,
    median_us: f64,
    runs: usize,
}

#[derive(Serialize)]
struct Check {
    what: String,
    value: f64,
    limit: f64,
    pass: bool,
}

#[derive(Serialize)]
struct Report {
    results: Vec<Row>,
    checks: Vec<Check>,
    target: String,
    pinned: bool,
}

fn parse_size_mib(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (num, mult) = match s.chars().last() {
        Some('G') | Some('g') => (&s[..s.len() - 1], 1024),
        Some('M') | Some('m') => (&s[..s.len() - 1], 1),
        _ => (s, 1),
    };
    num.parse::<u64>()
        .map(|n| n * mult)
        .map_err(|_| format!("bad size {s:?} (use e.g. 0, 512M, 8G)"))
}

/// Memory the bench holds and has touched, so that the parent really is that big.
struct Ballast(Vec<Vec<u8>>);

impl Ballast {
    fn grow_to(&mut self, mib: u64) {
        let have: u64 = self.0.iter().map(|v| v.len() as u64 >> 20).sum();
        for _ in have..mib {
            // vec![1; n] writes every byte: each page is really resident (4 KiB pages: THP is
            // only used on madvise here).
            self.0.push(vec![1u8; 1 << 20]);
        }
    }
}

fn median_us(samples: &mut [Duration]) -> f64 {
    samples.sort_unstable();
    let n = samples.len();
    if n == 0 {
        return f64::NAN;
    }
    let mid = if n % 2 == 1 {
        samples[n / 2]
    } else {
        (samples[n / 2 - 1] + samples[n / 2]) / 2
    };
    mid.as_secs_f64() * 1e6
}

pub fn run(a: BenchArgs) -> i32 {
    match run_inner(a) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("forkexec bench: {e}");
            1
        }
    }
}

fn run_inner(a: BenchArgs) -> Result<(), String> {
    if let Some(p) = a.emulate_kernel {
        forkexec_emulate::install(p).map_err(|e| format!("--emulate-kernel {p}: {e}"))?;
    }
    let sizes: Vec<u64> = a
        .rss
        .iter()
        .map(|s| parse_size_mib(s))
        .collect::<Result<_, _>>()?;
    let methods: Vec<Method> = match &a.methods {
        None => Method::ALL.to_vec(),
        Some(list) => list
            .iter()
            .map(|m| Method::from_id(m).ok_or_else(|| format!("unknown method {m:?}")))
            .collect::<Result<_, _>>()?,
    };
    // The target lives in a directory of its own, which is also the attrs scenario's chroot.
    let dir = tempfile_dir()?;
    let _tmp = TempDir(dir.clone());
    let target = dir.join("exit0");
    match &a.target {
        Some(p) => std::fs::copy(p, &target).map(|_| ()),
        None => std::fs::write(&target, tiny_elf::exit0_elf()),
    }
    .map_err(|e| format!("write target: {e}"))?;
    std::fs::set_permissions(&target, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .map_err(|e| format!("chmod target: {e}"))?;
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .map_err(|e| format!("chmod {}: {e}", dir.display()))?;
    let scenarios: Vec<scenarios::Scenario> = a
        .scenarios
        .iter()
        .map(|id| scenarios::build(id, &dir))
        .collect::<Result<_, _>>()?;
    let pinned = !a.no_pin && methods::pin_to_cpu(0).is_ok();
    let budget = Duration::from_secs_f64(a.seconds);
    let cells: usize = scenarios
        .iter()
        .map(|sc| {
            methods
                .iter()
                .filter(|&&m| scenarios::applies(&sc.id, m))
                .count()
        })
        .sum();
    let cells = (cells * sizes.len()) as u64;
    let bar = indicatif::ProgressBar::new(cells);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}")
            .unwrap_or(indicatif::ProgressStyle::default_bar()),
    );
    let mut ballast = Ballast(Vec::new());
    let mut rows = Vec::new();
    for &mib in &sizes {
        bar.set_message(format!("touching {mib} MiB"));
        ballast.grow_to(mib);
        for sc in &scenarios {
            let active: Vec<Method> = methods
                .iter()
                .copied()
                .filter(|&m| scenarios::applies(&sc.id, m))
                .collect();
            let mut spawners: Vec<Spawner> = active
                .iter()
                .map(|&m| Spawner::new(m, &sc.program, &*sc.forkexec, &sc.std_steps))
                .collect();
            // Warm up (page cache, the thread's child stack) and check that each method works.
            for s in spawners.iter_mut() {
                for _ in 0..5 {
                    s.spawn_and_wait().map_err(|e| format!("{}: {e}", sc.id))?;
                }
            }
            let mut samples: Vec<Vec<Duration>> = vec![Vec::new(); active.len()];
            let mut spent = vec![Duration::ZERO; active.len()];
            let mut done = vec![false; active.len()];
            // Round-robin in small batches, so drift on the machine hits every method alike.
            while done.iter().any(|d| !d) {
                for (i, s) in spawners.iter_mut().enumerate() {
                    if done[i] {
                        continue;
                    }
                    bar.set_message(format!("{} {} MiB {}", sc.id, mib, active[i].id()));
                    for _ in 0..25 {
                        let t = Instant::now();
                        s.spawn_and_wait()?;
                        let d = t.elapsed();
                        samples[i].push(d);
                        spent[i] += d;
                        if samples[i].len() >= a.runs || spent[i] >= budget {
                            done[i] = true;
                            bar.inc(1);
                            break;
                        }
                    }
                }
            }
            for (i, m) in active.iter().enumerate() {
                rows.push(Row {
                    scenario: sc.id.clone(),
                    method: m.id().to_string(),
                    rss_mib: mib,
                    median_us: median_us(&mut samples[i]),
                    runs: samples[i].len(),
                });
            }
        }
    }
    bar.finish_and_clear();
    // The kernel-feature probe runs once per process, never per spawn: say how often it ran.
    eprintln!(
        "forkexec spawned with {}; kernel probe runs: {} for {} measured forkexec spawns",
        forkexec::kernel::spawn_support().map_or_else(|e| e.to_string(), |s| s.to_string()),
        forkexec::kernel::probe_runs(),
        rows.iter()
            .filter(|r| r.method == "forkexec")
            .map(|r| r.runs)
            .sum::<usize>()
    );
    let checks = checks(&rows);
    let report = Report {
        results: rows,
        checks,
        target: target.display().to_string(),
        pinned,
    };
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?
        );
    } else {
        print_table(&report);
    }
    Ok(())
}

fn find(rows: &[Row], sc: &str, m: &str, mib: u64) -> Option<f64> {
    rows.iter()
        .find(|r| r.scenario == sc && r.method == m && r.rss_mib == mib)
        .map(|r| r.median_us)
}

/// The targets, evaluated on this run's figures where both sides were measured.
fn checks(rows: &[Row]) -> Vec<Check> {
    let mut out = Vec::new();
    let mut ratio = |what: String, num: Option<f64>, den: Option<f64>, limit: f64| {
        if let (Some(n), Some(d)) = (num, den) {
            let value = n / d;
            out.push(Check {
                what,
                value,
                limit,
                pass: value <= limit,
            });
        }
    };
    let fe0 = find(rows, "plain", "forkexec", 0);
    ratio(
        "plain@0: forkexec / posix_spawn".into(),
        fe0,
        find(rows, "plain", "posix_spawn", 0),
        0.8,
    );
    ratio(
        "plain@0: forkexec / std".into(),
        fe0,
        find(rows, "plain", "std", 0),
        0.8,
    );
    ratio(
        "plain@0: forkexec / vfork_exec (floor)".into(),
        fe0,
        find(rows, "plain", "vfork_exec", 0),
        1.1,
    );
    let max = rows.iter().map(|r| r.rss_mib).max().unwrap_or(0);
    if max > 0 {
        ratio(
            format!("plain: forkexec@{max}MiB / forkexec@0"),
            find(rows, "plain", "forkexec", max),
            fe0,
            1.5,
        );
        ratio(
            format!("attrs: forkexec@{max}MiB / plain forkexec@0"),
            find(rows, "attrs", "forkexec", max),
            fe0,
            1.3,
        );
        ratio(
            format!("userns: forkexec@{max}MiB / userns forkexec@0"),
            find(rows, "userns", "forkexec", max),
            find(rows, "userns", "forkexec", 0),
            1.5,
        );
        // ">= 100x faster than std with the same attributes (its fork path)".
        for sc in ["attrs", "userns"] {
            ratio(
                format!("{sc}@{max}MiB: forkexec / std_pre_exec (<= 0.01 is >= 100x faster)"),
                find(rows, sc, "forkexec", max),
                find(rows, sc, "std_pre_exec", max),
                0.01,
            );
        }
    }
    out
}

fn print_table(r: &Report) {
    println!(
        "target: {}{}",
        r.target,
        if r.pinned { " (pinned to CPU 0)" } else { "" }
    );
    let mut keys: Vec<(String, u64)> = Vec::new();
    for row in &r.results {
        let k = (row.scenario.clone(), row.rss_mib);
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    println!(
        "{:<10} {:>8} {:<14} {:>12} {:>10} {:>7}",
        "scenario", "rss_MiB", "method", "median_us", "x_forkexec", "runs"
    );
    for (sc, mib) in keys {
        let base = find(&r.results, &sc, "forkexec", mib);
        for row in r
            .results
            .iter()
            .filter(|x| x.scenario == sc && x.rss_mib == mib)
        {
            let ratio = base
                .map(|b| format!("{:.2}x", row.median_us / b))
                .unwrap_or_else(|| "-".into());
            println!(
                "{:<10} {:>8} {:<14} {:>12.1} {:>10} {:>7}",
                sc, mib, row.method, row.median_us, ratio, row.runs
            );
        }
    }
    if !r.checks.is_empty() {
        println!("\ntargets:");
        for c in &r.checks {
            // Small ratios (the ">= 100x" checks) need more digits to be read at all.
            let digits = if c.limit < 0.1 { 5 } else { 2 };
            println!(
                "  {} = {:.*} (limit {:.*}) {}",
                c.what,
                digits,
                c.value,
                digits,
                c.limit,
                if c.pass { "ok" } else { "MISSED" }
            );
        }
    }
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tempfile_dir() -> Result<PathBuf, String> {
    let base = std::env::temp_dir().join(format!("forkexec-bench-{}", std::process::id()));
    std::fs::create_dir_all(&base).map_err(|e| format!("create {}: {e}", base.display()))?;
    Ok(base)
}
