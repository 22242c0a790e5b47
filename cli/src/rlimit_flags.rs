//! prlimit(1)'s per-resource flags: `--nofile=SOFT:HARD`, `--core=unlimited`, `--stack=:HARD`.
//! Each is `--rlimit NAME=VALUE` spelled as prlimit spells it, with prlimit's value syntax
//! (one number sets both limits, an empty side keeps the current value, `unlimited` or
//! `infinity`). prlimit's `--nice` (RLIMIT_NICE) is the one left out: `--nice` here is nice(1)'s
//! adjustment; use `--rlimit nice=...`.
//!
//! The flags come from a table rather than one struct field each, so the clap side is written
//! by hand (`Args`, `FromArgMatches`).

use clap::{Arg, ArgMatches, Args, FromArgMatches};

/// (flag and resource name, what it limits), in prlimit's order.
const RESOURCES: [(&str, &str); 15] = [
    ("as", "address space size in bytes"),
    ("core", "core file size in bytes"),
    ("cpu", "CPU time in seconds"),
    ("data", "data segment size in bytes"),
    ("fsize", "size of files written, in bytes"),
    ("locks", "number of file locks"),
    ("memlock", "locked memory in bytes"),
    ("msgqueue", "bytes in POSIX message queues"),
    ("nofile", "number of open files"),
    ("nproc", "number of processes of the user"),
    ("rss", "resident set size in bytes"),
    ("rtprio", "real-time priority"),
    ("rttime", "real-time CPU time in microseconds"),
    ("sigpending", "number of pending signals"),
    ("stack", "stack size in bytes"),
];

/// The `NAME=VALUE` specs given through the per-resource flags.
#[derive(Clone, Debug, Default)]
pub struct RlimitFlags {
    pub specs: Vec<String>,
}

impl FromArgMatches for RlimitFlags {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let specs = RESOURCES
            .iter()
            .filter_map(|(name, _)| {
                let value = matches.get_one::<String>(name)?;
                Some(format!("{name}={value}"))
            })
            .collect();
        Ok(RlimitFlags { specs })
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

impl Args for RlimitFlags {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        // Give the heading back afterwards, as derived structs do, so the flags that follow
        // are not listed under ours.
        let outer = cmd.get_next_help_heading().map(str::to_owned);
        let cmd = cmd.next_help_heading("Resource limits (prlimit(1) spellings)");
        let cmd = RESOURCES.iter().fold(cmd, |cmd, (name, what)| {
            cmd.arg(
                Arg::new(*name)
                    .long(*name)
                    .value_name("SOFT[:HARD]")
                    .help(format!("RLIMIT_{}: {what}", name.to_ascii_uppercase())),
            )
        });
        match outer {
            Some(heading) => cmd.next_help_heading(heading),
            None => cmd.next_help_heading(None::<&str>),
        }
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}
