//! `forkexec bench`: spawn+wait of a target program by several methods, at several parent
//! resident sizes, reporting median, mean, p90 and p99, throughput from many threads, the
//! issues' targets and a plot. A benchmark, not a test: the figures are measured here, on this
//! machine, in this run.
//!
//! The run: the checked request (plan.rs), one worker process per parent size (worker.rs,
//! protocol.rs) driven round-robin by the coordinator (coordinator.rs), the spawn methods
//! (methods.rs, floor.c; bubblewrap in bwrap.rs, std's sandbox in std_sandbox.rs), the summaries (stats.rs), the targets (targets.rs, declared by each
//! scenario in scenarios/), the table or JSON (report.rs) and the SVG (plot.rs).

mod async_batch;
mod ballast;
mod bwrap;
mod coordinator;
mod cpus;
mod methods;
mod plan;
mod plot;
mod protocol;
mod report;
mod scenarios;
mod sizes;
mod stats;
mod std_sandbox;
mod targets;
mod worker;

use clap::Args;
use plan::Plan;
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Parent resident sizes to measure at, e.g. 0,1G,8G. Each size is a worker process that
    /// touches that much memory; all are held at once, so their sum must fit in memory.
    #[arg(long, default_value = "0", value_delimiter = ',')]
    rss: Vec<String>,
    /// Methods: forkexec, std, std_pre_exec, posix_spawn, fork_exec, vfork_exec (the bare C
    /// floor), vfork_pidfd (the fair C floor: forkexec's system calls); forkexec_tokio and tokio
    /// (tokio::process) in the async scenarios; bwrap (bubblewrap, in the sandbox scenario only;
    /// not measured where it is not installed). Default: all.
    #[arg(long, value_delimiter = ',')]
    methods: Option<Vec<String>>,
    /// Scenarios: plain, attrs (setsid, uid/gid/groups, chroot, rlimits, umask, fd map; root),
    /// userns (new user+pid+mount namespaces with uid/gid maps), sandbox (user+pid+mount+ipc+uts
    /// namespaces, /proc, no_new_privs, seccomp, Landlock; against bwrap), threads (throughput),
    /// load and load_mem (forkexec through the userland loader; their targets compare with
    /// plain), async and async-attrs (100 at once on a tokio runtime: forkexec::tokio,
    /// tokio::process).
    #[arg(long, default_value = "plain", value_delimiter = ',')]
    scenarios: Vec<String>,
    /// Thread counts for the threads scenario.
    #[arg(long, default_value = "1,2,8", value_delimiter = ',')]
    threads: Vec<usize>,
    /// At most this many measured spawns per method, scenario and size.
    #[arg(long, default_value_t = 2000)]
    runs: usize,
    /// At most this many seconds of timed spawning per method, scenario and size (the fork
    /// methods at large sizes stop here).
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
    /// Seconds each thread count runs per method and size in the threads scenario.
    #[arg(long, default_value_t = 2.0)]
    thread_seconds: f64,
    /// The program to spawn (default: a 129-byte static ELF that only calls exit(0)). Its
    /// output goes to stderr.
    #[arg(long, value_name = "PATH")]
    target: Option<PathBuf>,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    json: bool,
    /// Draw latency against parent size, and throughput against threads, into this SVG file.
    #[arg(long, value_name = "FILE.svg")]
    plot: Option<PathBuf>,
    /// Do not pin the latency measurements to one CPU (pinned figures are steadier on small VMs).
    #[arg(long)]
    no_pin: bool,
    /// Answer like an older kernel or sandbox (3.10, 4.18, 5.4, docker: the seccomp profiles of
    /// forkexec-emulate), to measure forkexec's fallbacks on this machine. The whole run,
    /// workers included, is under the profile; only the targets stated for it are judged.
    #[arg(long, value_name = "PROFILE")]
    emulate_kernel: Option<forkexec_emulate::Profile>,
    /// Internal: run as a worker process of the coordinator.
    #[arg(long, hide = true)]
    worker: bool,
}

pub fn run(a: BenchArgs) -> i32 {
    if a.worker {
        return worker::serve();
    }
    let plan = match Plan::from_args(&a) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("forkexec bench: {e}");
            return 2;
        }
    };
    for (method, why) in &plan.unavailable {
        eprintln!("forkexec bench: method {} not measured: {why}", method.id());
    }
    // Installed here, before the workers exist: a seccomp filter is inherited by every child.
    if let Some(p) = plan.profile {
        if let Err(e) = forkexec_emulate::install(p) {
            eprintln!("forkexec bench: --emulate-kernel {p}: {e}");
            return 1;
        }
    }
    let dir = match TargetDir::create(a.target.as_deref()) {
        Ok(d) => d,
        Err(Failure::Usage(e)) => {
            eprintln!("forkexec bench: {e}");
            return 2;
        }
        Err(Failure::Run(e)) => {
            eprintln!("forkexec bench: {e}");
            return 1;
        }
    };
    match coordinator::measure(&plan, &dir) {
        Ok(report) => {
            if let Some(path) = &a.plot {
                if let Err(e) = plot::draw(path, &report.results) {
                    eprintln!("forkexec bench: plot {}: {e}", path.display());
                    return 1;
                }
            }
            if a.json {
                match serde_json::to_string_pretty(&report) {
                    Ok(s) => println!("{s}"),
                    Err(e) => {
                        eprintln!("forkexec bench: {e}");
                        return 1;
                    }
                }
            } else {
                print!("{}", report::render_text(&report));
            }
            0
        }
        Err(e) => {
            eprintln!("forkexec bench: {e}");
            1
        }
    }
}

enum Failure {
    /// The user's input was wrong (exit 2).
    Usage(String),
    /// Something failed while running (exit 1).
    Run(String),
}

/// The target program, in a directory of its own that is also the attrs scenario's chroot.
pub(crate) struct TargetDir(PathBuf);

impl TargetDir {
    fn create(target: Option<&Path>) -> Result<TargetDir, Failure> {
        let bytes = match target {
            Some(p) => std::fs::read(p).map_err(|e| {
                Failure::Usage(format!("cannot read --target {}: {e}", p.display()))
            })?,
            // The 129-byte static program that only calls exit(0): the spawn cost itself.
            None => {
                use forkexec::model::elf_builder::{ElfBuilder, EXIT_0};
                ElfBuilder::exec(EXIT_0).bytes()
            }
        };
        let dir = std::env::temp_dir().join(format!("forkexec-bench-{}", std::process::id()));
        let run = |what: &str, e: std::io::Error| Failure::Run(format!("{what}: {e}"));
        std::fs::create_dir_all(&dir).map_err(|e| run(&format!("create {}", dir.display()), e))?;
        let this = TargetDir(dir);
        let program = this.program();
        std::fs::write(&program, bytes).map_err(|e| run("write the target", e))?;
        use std::os::unix::fs::PermissionsExt;
        for (path, mode) in [(&program, 0o755), (&this.0, 0o755)] {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
                .map_err(|e| run(&format!("chmod {}", path.display()), e))?;
        }
        Ok(this)
    }

    fn program(&self) -> PathBuf {
        self.0.join("exit0")
    }
}

impl Drop for TargetDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
