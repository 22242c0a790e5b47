//! `forkexec explain`: predict what execve would do (issue 5 builds this).

use clap::Args;
use std::ffi::OsString;

#[derive(Args, Debug)]
pub struct ExplainArgs {
    /// The program and its arguments.
    #[arg(
        required = true,
        trailing_var_arg = true,
        value_name = "PROGRAM [ARG]..."
    )]
    command: Vec<OsString>,
}

pub fn run(_a: ExplainArgs) -> i32 {
    eprintln!("forkexec explain: not built yet");
    2
}
