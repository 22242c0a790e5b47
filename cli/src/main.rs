//! The `forkexec` command: a thin clap front end over the library.

// Doc comments here are clap's --help text (`argv[0]`, `Files[N]`), not rustdoc links.
#![allow(rustdoc::broken_intra_doc_links)]

mod bench;
mod environment;
mod explain;
mod load;
mod run;
mod run_attrs;
mod run_sandbox;

use clap::{Parser, Subcommand};

/// Unix process creation and execution: spawn, explain exec failures, benchmark spawners.
#[derive(Parser)]
#[command(name = "forkexec", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Commands,
}

#[derive(Subcommand)]
enum Commands {
    /// Spawn PROGRAM with attributes, wait, and exit with its status (128+N if killed by N).
    Run(run::RunArgs),
    /// Predict what execve of PROGRAM would do, and why it would fail.
    Explain(explain::ExplainArgs),
    /// Run PROGRAM in this process with the userland ELF loader (or show its load plan).
    Load(load::LoadArgs),
    /// Benchmark spawn+wait for forkexec and other spawners.
    Bench(bench::BenchArgs),
}

fn main() {
    let cli = Cli::parse();
    let code = match cli.command {
        Commands::Run(a) => run::run(a),
        Commands::Explain(a) => explain::run(a),
        Commands::Load(a) => load::run(a),
        Commands::Bench(a) => bench::run(a),
    };
    std::process::exit(code);
}
