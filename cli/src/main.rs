//! The `forkexec` command: a thin clap front end over the library.

// Doc comments here are clap's --help text (`argv[0]`, `Files[N]`), not rustdoc links.
#![allow(rustdoc::broken_intra_doc_links)]

mod bench;
mod completions;
mod credential_flags;
mod environment;
mod explain;
mod load;
mod man_page;
mod namespace_flags;
mod rlimit_flags;
mod run;
mod run_attrs;
mod status_channel;
mod supervisor;
mod user_database;

use clap::{Parser, Subcommand};

/// Unix process creation and execution: spawn, explain exec failures, benchmark spawners.
#[derive(Parser)]
#[command(name = "forkexec", version)]
pub struct Cli {
    #[command(subcommand)]
    command: Commands,
}

#[derive(Subcommand)]
enum Commands {
    /// Spawn PROGRAM with attributes, forward signals to it, wait, and exit with its status
    /// (128+N if killed by N).
    ///
    /// forkexec stays as the program's parent, as a supervisor: TERM, INT, HUP, QUIT, USR1,
    /// USR2 and WINCH sent to forkexec are passed on to the program (to its process group when
    /// it leads one: --setsid, --setpgid, --foreground), which decides how to exit. Signals the
    /// caller had ignored or blocked are not passed on; a terminal's Ctrl-C already reached a
    /// program in forkexec's own group and is not sent twice. SIGKILL cannot be passed on:
    /// --kill-child makes the kernel kill the program when forkexec dies.
    ///
    /// A file the kernel will not execute (ENOEXEC: no #!, no known format) runs under /bin/sh,
    /// as execvp, env(1) and the shells do (--no-shell-fallback to refuse it).
    ///
    /// Exit status: the program's; 128+N when it was killed by signal N; 127 when PROGRAM was
    /// not found; 126 when it was found but could not be run (or a step before the exec
    /// failed); 2 for a usage mistake (a bad flag or value, an unknown user or group, a
    /// contradiction); 125 when forkexec itself failed while the program ran.
    Run(run::RunArgs),
    /// Predict what execve of PROGRAM would do, and why it would fail.
    Explain(explain::ExplainArgs),
    /// Run PROGRAM in this process with the userland ELF loader (or show its load plan).
    Load(load::LoadArgs),
    /// Benchmark spawn+wait for forkexec and other spawners.
    Bench(bench::BenchArgs),
    /// Print a completion script for SHELL (bash, zsh, fish, elvish, powershell).
    Completions(completions::CompletionsArgs),
    /// Print the man page of forkexec, or of one subcommand, in roff (man -l -).
    Man(man_page::ManArgs),
}

fn main() {
    let cli = Cli::parse();
    let code = match cli.command {
        Commands::Run(a) => run::run(a),
        Commands::Explain(a) => explain::run(a),
        Commands::Load(a) => load::run(a),
        Commands::Bench(a) => bench::run(a),
        Commands::Completions(a) => completions::run(a),
        Commands::Man(a) => man_page::run(a),
    };
    std::process::exit(code);
}
