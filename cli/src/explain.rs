//! `forkexec explain`: predict what execve would do with a program, and why it would fail.

use clap::Args;
use forkexec::explain;
use forkexec::model::plan::{evaluate, evaluate_search, Outcome};
use forkexec::model::stack::HostAux;
use forkexec::model::{ExecInput, HostFileSystem};
use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct ExplainArgs {
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// Show the initial stack the program would get (argc, argv, envp, auxv, strings).
    #[arg(long)]
    stack: bool,
    /// Use PROGRAM as a path even without a '/' (execve, not execvp).
    #[arg(long)]
    no_path: bool,
    /// Set K to V in the environment passed (repeatable).
    #[arg(long = "env", value_name = "K=V")]
    env: Vec<OsString>,
    /// Start from an empty environment instead of the current one.
    #[arg(long)]
    env_clear: bool,
    /// Append the NUL-separated arguments in FILE after the ARGs.
    #[arg(long, value_name = "FILE")]
    args_from: Option<PathBuf>,
    /// The program and its arguments.
    #[arg(
        required = true,
        trailing_var_arg = true,
        value_name = "PROGRAM [ARG]..."
    )]
    command: Vec<OsString>,
}

fn arguments(a: &ExplainArgs) -> Result<Vec<Vec<u8>>, String> {
    let mut argv: Vec<Vec<u8>> = a.command.iter().map(|s| s.as_bytes().to_vec()).collect();
    if let Some(f) = &a.args_from {
        let bytes = std::fs::read(f)
            .map_err(|e| format!("cannot read --args-from {}: {e}", f.display()))?;
        let body = bytes.strip_suffix(&[0]).unwrap_or(&bytes);
        if !bytes.is_empty() {
            argv.extend(body.split(|&c| c == 0).map(<[u8]>::to_vec));
        }
    }
    Ok(argv)
}

pub fn run(a: ExplainArgs) -> i32 {
    let (envp, argv) = match (
        crate::environment::environment(a.env_clear, &a.env),
        arguments(&a),
    ) {
        (Ok(e), Ok(v)) => (e, v),
        (Err(m), _) | (_, Err(m)) => {
            eprintln!("forkexec explain: {m}");
            return 2;
        }
    };
    let program = argv.first().cloned().unwrap_or_default();
    let input = match ExecInput::from_current_process(program, argv, envp) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("forkexec explain: cannot read the current directory: {e}");
            return 2;
        }
    };
    let fs = match HostFileSystem::new(None) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("forkexec explain: {e}");
            return 2;
        }
    };
    let plan = if a.no_path {
        evaluate(&input, &fs)
    } else {
        let path = std::env::var_os("PATH");
        evaluate_search(&input, path.as_ref().map(|p| p.as_bytes()), &fs)
    };
    let stack = if a.stack {
        explain::stack_of(&plan, &HostAux::from_proc())
    } else {
        None
    };
    if a.json {
        let v = explain::json::render(&plan, stack.as_ref());
        println!("{v}");
    } else {
        print!("{}", explain::text::render(&plan));
        if a.stack {
            match &stack {
                Some(l) => print!("\n{}", explain::diagram::render(l)),
                None => println!("\n(no stack: the exec does not reach a 64-bit program)"),
            }
        }
    }
    match plan.outcome {
        Outcome::Runs => 0,
        Outcome::Fails(_) | Outcome::Killed(_) => 1,
    }
}
