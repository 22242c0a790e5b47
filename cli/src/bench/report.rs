//! What a run produces: one row per scenario, method and parent size (and thread count), the
//! targets judged on them, and how both are printed (a table, or one JSON object).

use super::methods::Method;
use super::sizes::size_name;
use super::targets::Verdict;
use serde::Serialize;

/// One measured cell. The JSON keeps `{"results":[{"scenario","method","rss_mib","median_us",
/// "runs",...}]}`; `threads` and `spawns_per_s` appear on the `threads` scenario's rows only.
#[derive(Serialize, Clone, Debug)]
pub struct Row {
    pub scenario: String,
    pub method: String,
    pub rss_mib: u64,
    pub median_us: f64,
    pub mean_us: f64,
    pub p90_us: f64,
    pub p99_us: f64,
    pub runs: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threads: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spawns_per_s: Option<f64>,
}

/// The conditions of the run, so a figure can be read in its context.
#[derive(Serialize)]
pub struct Conditions {
    /// The program spawned.
    pub program: String,
    /// Latency cells ran pinned to one CPU (the `threads` scenario never is).
    pub pinned: bool,
    /// The machine's 1-minute load average before and after the run (other work on the
    /// machine shows in the figures).
    pub load_before: f64,
    pub load_after: f64,
    pub kernel: String,
    /// The kernel profile the run emulated (`--emulate-kernel`), if any.
    pub emulated_kernel: Option<String>,
    pub cpus: usize,
    /// Seconds the whole run took.
    pub seconds: f64,
}

#[derive(Serialize)]
pub struct Report {
    pub results: Vec<Row>,
    pub targets: Vec<Verdict>,
    pub conditions: Conditions,
}

/// The 1-minute load average, or NaN where /proc is missing.
pub fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(f64::NAN)
}

/// The kernel release, e.g. "6.18.0".
pub fn kernel_release() -> String {
    rustix::system::uname()
        .release()
        .to_string_lossy()
        .into_owned()
}

fn forkexec_row<'a>(rows: &'a [Row], like: &Row) -> Option<&'a Row> {
    rows.iter().find(|r| {
        r.method == Method::Forkexec.id()
            && r.scenario == like.scenario
            && r.rss_mib == like.rss_mib
            && r.threads == like.threads
    })
}

/// The table, the throughput table and the targets, as text.
pub fn render_text(r: &Report) -> String {
    use std::fmt::Write;
    let c = &r.conditions;
    let mut out = String::new();
    let kernel = match &c.emulated_kernel {
        Some(p) => format!("{} answering as {p} (--emulate-kernel)", c.kernel),
        None => c.kernel.clone(),
    };
    let _ = writeln!(
        out,
        "program {} | kernel {kernel} | {} CPUs | load {:.2} before, {:.2} after | {:.0} s",
        c.program, c.cpus, c.load_before, c.load_after, c.seconds
    );
    if c.load_before.max(c.load_after) >= c.cpus as f64 / 2.0 {
        let _ = writeln!(
            out,
            "note: the machine was busy (load {:.1} on {} CPUs): other work shows in the figures, \
             most in the means and tails; measure again when it is quiet",
            c.load_before.max(c.load_after),
            c.cpus
        );
    }
    let latency: Vec<&Row> = r
        .results
        .iter()
        .filter(|x| x.threads.is_none() && !is_async(x))
        .collect();
    if !latency.is_empty() {
        let _ = writeln!(
            out,
            "\nlatency: spawn+wait one at a time{}, microseconds",
            if c.pinned {
                ", pinned to one CPU"
            } else {
                ", not pinned"
            }
        );
        let _ = writeln!(
            out,
            "{:<8} {:>5} {:<13} {:>10} {:>10} {:>10} {:>10} {:>6} {:>10}",
            "scenario", "rss", "method", "median", "mean", "p90", "p99", "runs", "x forkexec"
        );
        for row in &latency {
            let ratio = forkexec_row(&r.results, row)
                .map(|b| format!("{:.2}x", row.median_us / b.median_us))
                .unwrap_or_else(|| "-".into());
            let _ = writeln!(
                out,
                "{:<8} {:>5} {:<13} {:>10} {:>10} {:>10} {:>10} {:>6} {:>10}",
                row.scenario,
                size_name(row.rss_mib),
                row.method,
                us(row.median_us),
                us(row.mean_us),
                us(row.p90_us),
                us(row.p99_us),
                row.runs,
                ratio
            );
        }
    }
    render_async(&mut out, r);
    let rates: Vec<&Row> = r.results.iter().filter(|x| x.threads.is_some()).collect();
    if !rates.is_empty() {
        let _ = writeln!(
            out,
            "\nthroughput: each thread spawns+waits in a loop for a fixed time, threads not pinned"
        );
        let _ = writeln!(
            out,
            "{:>5} {:<13} {:>7} {:>10} {:>10} {:>10} {:>10} {:>8}",
            "rss", "method", "threads", "spawns/s", "x forkexec", "median_us", "p99_us", "spawns"
        );
        for row in &rates {
            let rate = row.spawns_per_s.unwrap_or(f64::NAN);
            let ratio = forkexec_row(&r.results, row)
                .and_then(|b| b.spawns_per_s)
                .map(|b| format!("{:.2}x", rate / b))
                .unwrap_or_else(|| "-".into());
            let _ = writeln!(
                out,
                "{:>5} {:<13} {:>7} {:>10.0} {:>10} {:>10} {:>10} {:>8}",
                size_name(row.rss_mib),
                row.method,
                row.threads.unwrap_or(0),
                rate,
                ratio,
                us(row.median_us),
                us(row.p99_us),
                row.runs
            );
        }
    }
    if !r.targets.is_empty() {
        let _ = writeln!(out, "\ntargets (ratios of this run's figures):");
        for v in &r.targets {
            let _ = writeln!(out, "{}", render_verdict(v));
        }
    }
    out
}

/// Whether the row is an async method's (a batch of spawns per sample).
fn is_async(row: &Row) -> bool {
    Method::from_id(&row.method).is_some_and(Method::is_async)
}

/// The async scenarios' table: each sample is a batch of BATCH spawns at once, shown as the
/// batch's time and as spawns per second, against tokio::process in the same cell.
fn render_async(out: &mut String, r: &Report) {
    use super::async_batch::BATCH;
    use std::fmt::Write;
    let rows: Vec<&Row> = r.results.iter().filter(|x| is_async(x)).collect();
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\nasync: {BATCH} spawn+wait at once on a current-thread tokio runtime, per batch"
    );
    let _ = writeln!(
        out,
        "{:<11} {:>5} {:<15} {:>12} {:>12} {:>12} {:>10} {:>8}",
        "scenario", "rss", "method", "median_ms", "p99_ms", "spawns/s", "x tokio", "batches"
    );
    for row in &rows {
        let tokio = rows.iter().find(|t| {
            t.method == Method::TokioProcess.id()
                && t.scenario == row.scenario
                && t.rss_mib == row.rss_mib
        });
        let ratio = tokio
            .map(|t| format!("{:.2}x", t.median_us / row.median_us))
            .unwrap_or_else(|| "-".into());
        let _ = writeln!(
            out,
            "{:<11} {:>5} {:<15} {:>12.2} {:>12.2} {:>12.0} {:>10} {:>8}",
            row.scenario,
            size_name(row.rss_mib),
            row.method,
            row.median_us / 1000.0,
            row.p99_us / 1000.0,
            BATCH as f64 / (row.median_us / 1e6),
            ratio,
            row.runs
        );
    }
}

/// One line of the targets section.
pub fn render_verdict(v: &Verdict) -> String {
    match (v.value, &v.limit, &v.reason) {
        (Some(value), Some(limit), _) => format!(
            "  {:<6} #{:<2} {}: {} = {} ({limit})",
            v.status,
            v.issue,
            v.goal,
            v.ratio,
            ratio_text(value)
        ),
        (_, _, reason) => format!(
            "  {:<6} #{:<2} {}: not measured: {}",
            "-",
            v.issue,
            v.goal,
            reason.as_deref().unwrap_or("?")
        ),
    }
}

/// Small ratios (the ">= 100x" targets) need more digits to be read at all.
fn ratio_text(v: f64) -> String {
    if v < 0.1 {
        format!("{v:.5}")
    } else {
        format!("{v:.2}")
    }
}

/// Microseconds, readable from 50 us to 250 ms.
fn us(v: f64) -> String {
    if v >= 10_000.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}
