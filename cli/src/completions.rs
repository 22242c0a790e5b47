//! `forkexec completions SHELL`: a completion script generated from the clap definitions
//! (clap_complete), so it always knows every flag of this very binary.

use clap::Args;
use clap_complete::Shell;

#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    shell: Shell,
}

pub fn run(a: CompletionsArgs) -> i32 {
    let mut cmd = crate::definition(None);
    clap_complete::generate(a.shell, &mut cmd, "forkexec", &mut std::io::stdout());
    0
}
