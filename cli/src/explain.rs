//! `forkexec explain`: predict what execve would do with a program, and why it would fail.

use crate::environment::ProgramArgs;
use clap::Args;
use forkexec::explain;
use forkexec::model::plan::{evaluate, evaluate_search, Outcome};
use forkexec::model::stack::HostAux;
use forkexec::model::{ExecInput, HostFileSystem};
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct ExplainArgs {
    /// Print one JSON object instead of text (byte strings that are not UTF-8 also as
    /// `<key>_bytes` arrays: see forkexec::explain::json).
    #[arg(long)]
    json: bool,
    /// Show the initial stack the program would get (argc, argv, envp, auxv, strings).
    #[arg(long)]
    stack: bool,
    /// Append the NUL-separated arguments in FILE after the ARGs (at most 6 MiB: no execve
    /// accepts more).
    #[arg(long, value_name = "FILE")]
    args_from: Option<PathBuf>,
    #[command(flatten)]
    program: ProgramArgs,
}

/// The most `--args-from` bytes worth reading: the largest argument budget of any Linux since
/// 4.13 (3/4 of the 8 MiB _STK_LIM, whatever RLIMIT_STACK says). Every byte of the file is
/// charged (each argument with its NUL), so a longer file is E2BIG on any such kernel, and
/// reading on (from /dev/zero, say) would only fill memory.
const ARGS_FROM_LIMIT: u64 = forkexec::model::limits::STK_LIM / 4 * 3;

fn arguments(a: &ExplainArgs) -> Result<Vec<Vec<u8>>, String> {
    let mut argv: Vec<Vec<u8>> = a
        .program
        .command
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect();
    if let Some(f) = &a.args_from {
        let cannot = |e: std::io::Error| format!("cannot read --args-from {}: {e}", f.display());
        let mut bytes = Vec::new();
        std::fs::File::open(f)
            .and_then(|file| file.take(ARGS_FROM_LIMIT + 1).read_to_end(&mut bytes))
            .map_err(cannot)?;
        if bytes.len() as u64 > ARGS_FROM_LIMIT {
            return Err(format!(
                "--args-from {} holds more than {ARGS_FROM_LIMIT} bytes: no execve accepts that many bytes of arguments (Linux 4.13 and later allow at most 3/4 of the 8 MiB _STK_LIM), so it would fail with E2BIG",
                f.display()
            ));
        }
        let body = bytes.strip_suffix(&[0]).unwrap_or(&bytes);
        if !bytes.is_empty() {
            argv.extend(body.split(|&c| c == 0).map(<[u8]>::to_vec));
        }
    }
    Ok(argv)
}

pub fn run(a: ExplainArgs) -> i32 {
    let (envp, argv) = match (a.program.environment(), arguments(&a)) {
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
    let plan = if a.program.no_path {
        evaluate(&input, &fs)
    } else {
        // The program's own PATH, as execvpe and `forkexec run` search it.
        let path = a.program.search_path(&input.envp);
        evaluate_search(&input, path, &fs)
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
