//! What the user asked for, checked before anything runs: sizes, methods, scenarios, thread
//! counts, budgets; and the cells that follow from it.

use super::methods::Method;
use super::scenarios::{self, Kind};
use super::{sizes, BenchArgs};
use std::time::Duration;

/// What the user asked for, checked.
pub struct Plan {
    pub sizes: Vec<u64>,
    pub methods: Vec<Method>,
    /// Methods a chosen scenario runs that cannot run here, left out, and why.
    pub unavailable: Vec<(Method, String)>,
    pub scenarios: Vec<&'static scenarios::Spec>,
    pub threads: Vec<usize>,
    pub runs: usize,
    pub budget: Duration,
    pub thread_budget: Duration,
    pub pin: bool,
    /// The kernel profile the run emulates (`--emulate-kernel`), if any.
    pub profile: Option<forkexec_emulate::Profile>,
}

impl Plan {
    pub fn from_args(a: &BenchArgs) -> Result<Plan, String> {
        let mut sizes: Vec<u64> = a
            .rss
            .iter()
            .map(|s| sizes::parse_size_mib(s))
            .collect::<Result<_, _>>()?;
        sizes.sort_unstable();
        sizes.dedup();
        let mut methods: Vec<Method> = match &a.methods {
            None => Method::ALL.to_vec(),
            Some(list) => list
                .iter()
                .map(|m| {
                    Method::from_id(m).ok_or_else(|| {
                        let known: Vec<&str> = Method::ALL.iter().map(|m| m.id()).collect();
                        format!("unknown method {m:?} (known: {})", known.join(", "))
                    })
                })
                .collect::<Result<_, _>>()?,
        };
        let mut chosen = Vec::new();
        for id in &a.scenarios {
            let spec = scenarios::spec(id).ok_or_else(|| {
                format!("unknown scenario {id:?}; known:{}", scenarios::runnable())
            })?;
            if let Kind::Mode { flag } = spec.kind {
                return Err(format!(
                    "{id} is not a scenario: run the others with {flag}"
                ));
            }
            if !chosen.iter().any(|s: &&scenarios::Spec| s.id == spec.id) {
                chosen.push(spec);
            }
        }
        // The table's order, whatever the command line's.
        chosen.sort_by_key(|s| scenarios::ALL.iter().position(|o| o.id == s.id));
        // Not an error: the other methods are still worth measuring, and the targets say why
        // these figures are missing.
        let mut unavailable = Vec::new();
        methods.retain(|&m| match m.unavailable(a.emulate_kernel) {
            Some(why) if chosen.iter().any(|s| s.applies(m)) => {
                unavailable.push((m, why));
                false
            }
            Some(_) => false,
            None => true,
        });
        let mut threads = a.threads.clone();
        threads.sort_unstable();
        threads.dedup();
        if threads.contains(&0) {
            return Err("--threads: 0 threads cannot spawn".into());
        }
        if a.runs == 0 {
            return Err("--runs must be at least 1".into());
        }
        for (flag, v) in [
            ("--seconds", a.seconds),
            ("--thread-seconds", a.thread_seconds),
        ] {
            if !(v > 0.0 && v < 1e6) {
                return Err(format!("{flag} must be a positive number of seconds"));
            }
        }
        let plan = Plan {
            sizes,
            methods,
            unavailable,
            scenarios: chosen,
            threads,
            runs: a.runs,
            budget: Duration::from_secs_f64(a.seconds),
            thread_budget: Duration::from_secs_f64(a.thread_seconds),
            pin: !a.no_pin,
            profile: a.emulate_kernel,
        };
        plan.check_memory()?;
        Ok(plan)
    }

    /// All sizes are resident at once (one worker each): refuse what cannot fit.
    fn check_memory(&self) -> Result<(), String> {
        let need: u64 = self.sizes.iter().sum();
        let available = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("MemAvailable:"))?
                    .split_whitespace()
                    .nth(1)?
                    .parse::<u64>()
                    .ok()
            })
            .map(|kib| kib / 1024);
        match available {
            Some(have) if need > have * 9 / 10 => Err(format!(
                "--rss needs {need} MiB resident at once (each size is a worker process holding \
                 it), and only {have} MiB are available"
            )),
            _ => Ok(()),
        }
    }

    /// The latency cells each worker runs, in request order: (scenario, method).
    pub fn latency_cells(&self) -> Vec<(&'static str, Method)> {
        let mut cells = Vec::new();
        for spec in &self.scenarios {
            if matches!(spec.kind, Kind::Latency { .. }) {
                for &m in &self.methods {
                    if spec.applies(m) {
                        cells.push((spec.id, m));
                    }
                }
            }
        }
        cells
    }

    /// The throughput cells each worker runs: (method, threads); none without `threads`.
    pub fn rate_cells(&self) -> Vec<(Method, usize)> {
        let Some(spec) = self
            .scenarios
            .iter()
            .find(|s| matches!(s.kind, Kind::Throughput))
        else {
            return Vec::new();
        };
        let mut cells = Vec::new();
        for &threads in &self.threads {
            for &m in &self.methods {
                if spec.applies(m) {
                    cells.push((m, threads));
                }
            }
        }
        cells
    }

    pub fn runs_threads(&self) -> bool {
        self.scenarios
            .iter()
            .any(|s| matches!(s.kind, Kind::Throughput))
    }
}
