//! `forkexec man [SUBCOMMAND]`: the man page, generated from the clap definitions
//! (clap_mangen), in roff on stdout: `forkexec man | man -l -`, or install it as
//! forkexec.1 / forkexec-run.1.

use clap::Args;
use std::io::Write;

#[derive(Args, Debug)]
pub struct ManArgs {
    /// A subcommand (run, explain, load, ...): its own page, forkexec-SUBCOMMAND(1).
    subcommand: Option<String>,
}

pub fn run(a: ManArgs) -> i32 {
    let mut top = crate::definition(None);
    top.build();
    let page = match &a.subcommand {
        None => top,
        Some(name) => match top.find_subcommand(name) {
            Some(sub) => {
                let full = format!("forkexec-{}", sub.get_name());
                sub.clone().name(full).bin_name(format!("forkexec {name}"))
            }
            None => {
                let known: Vec<&str> = top.get_subcommands().map(|s| s.get_name()).collect();
                return crate::run::usage_error(
                    "man",
                    &format!("no subcommand {name:?}; one of: {}", known.join(", ")),
                );
            }
        },
    };
    let mut out = Vec::new();
    if let Err(e) = clap_mangen::Man::new(page).render(&mut out) {
        return crate::run::internal_error(&format!("rendering the man page: {e}"));
    }
    match std::io::stdout().write_all(&out) {
        Ok(()) => 0,
        Err(e) => crate::run::internal_error(&format!("writing the man page: {e}")),
    }
}
