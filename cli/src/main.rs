//! The `forkexec` command: a thin clap front end over the library.

// Doc comments here are clap's --help text (`argv[0]`, `Files[N]`), not rustdoc links.
#![allow(rustdoc::broken_intra_doc_links)]

mod bench;
mod completions;
mod credential_flags;
mod environment;
mod exec;
mod exec_failure;
mod explain;
mod load;
mod man_page;
mod namespace_flags;
mod rlimit_flags;
mod run;
mod run_attrs;
mod run_loader;
mod run_sandbox;
mod status_channel;
mod supervisor;
mod user_database;

use clap::{ArgMatches, Args, FromArgMatches};
use std::ffi::OsString;

/// A subcommand: its name, its help and its flags (a clap `Args` struct).
struct Subcommand {
    name: &'static str,
    about: &'static str,
    long_about: Option<&'static str>,
    flags: fn(clap::Command) -> clap::Command,
}

const SUBCOMMANDS: &[Subcommand] = &[
    Subcommand {
        name: "run",
        about: "Spawn PROGRAM with attributes, forward signals to it, wait, and exit with its \
                status (128+N if killed by N)",
        long_about: Some(RUN_LONG_ABOUT),
        flags: run::RunArgs::augment_args,
    },
    Subcommand {
        name: "exec",
        about: "Become PROGRAM: apply the attributes to this process and execve, with no \
                process in between (as setpriv, chroot(8) and nsenter do)",
        long_about: Some(EXEC_LONG_ABOUT),
        flags: run::RunArgs::augment_args,
    },
    Subcommand {
        name: "explain",
        about: "Predict what execve of PROGRAM would do, and why it would fail",
        long_about: None,
        flags: explain::ExplainArgs::augment_args,
    },
    Subcommand {
        name: "load",
        about: "Run PROGRAM in this process with the userland ELF loader (or show its load plan)",
        long_about: None,
        flags: load::LoadArgs::augment_args,
    },
    Subcommand {
        name: "bench",
        about: "Benchmark spawn+wait for forkexec and other spawners",
        long_about: None,
        flags: bench::BenchArgs::augment_args,
    },
    Subcommand {
        name: "completions",
        about: "Print a completion script for SHELL (bash, zsh, fish, elvish, powershell)",
        long_about: None,
        flags: completions::CompletionsArgs::augment_args,
    },
    Subcommand {
        name: "man",
        about: "Print the man page of forkexec, or of one subcommand, in roff (man -l -)",
        long_about: None,
        flags: man_page::ManArgs::augment_args,
    },
];

const RUN_LONG_ABOUT: &str = "\
Spawn PROGRAM with attributes, forward signals to it, wait, and exit with its status (128+N if \
killed by N).

forkexec stays as the program's parent, as a supervisor: TERM, INT, HUP, QUIT, USR1, USR2 and \
WINCH sent to forkexec are passed on to the program (to its process group when it leads one: \
--setsid, --setpgid, --foreground), which decides how to exit. Signals the caller had ignored or \
blocked are not passed on; a terminal's Ctrl-C already reached a program in forkexec's own group \
and is not sent twice. SIGKILL cannot be passed on: --kill-child makes the kernel kill the \
program when forkexec dies.

A file the kernel will not execute (ENOEXEC: no #!, no known format) runs under /bin/sh, as \
execvp, env(1) and the shells do (--no-shell-fallback to refuse it).

Exit status: the program's; 128+N when it was killed by signal N; 127 when PROGRAM was not \
found; 126 when it was found but could not be run (or a step before the exec failed); 2 for a \
usage mistake (a bad flag or value, an unknown user or group, a contradiction); 125 when \
forkexec itself failed while the program ran.";

const EXEC_LONG_ABOUT: &str = "\
Become PROGRAM: apply the attributes to this process and execve, with no process in between (as \
setpriv, chroot(8), nsenter and unshare without --fork do). `exec forkexec exec --user nobody -- \
prog` in a script keeps the script's pid.

It takes run's flags. Those that need a process of its own are refused before anything changes \
(exit 2): --status-fd, --kill-child, --foreground, --ptrace, -f/--fork, --clone-ns, -r, -c, \
--uid-map, --gid-map, --cgroup, and a new pid namespace (it would hold the program's children \
only). Namespace letters and --unshare act by unshare(2) on this process, as unshare(1) does.

Exit status, when the program could not be started: 127 when PROGRAM was not found; 126 when it \
could not be run or a step before the exec failed (the steps that ran stay in effect, as with \
std's exec); 2 for a usage mistake. Otherwise the status is the program's own.";

/// clap's definition of `forkexec`: every subcommand, or only the one named `only`.
pub fn definition(only: Option<&str>) -> clap::Command {
    let top = clap::Command::new("forkexec")
        .version(env!("CARGO_PKG_VERSION"))
        .about(
            "Unix process creation and execution: spawn, explain exec failures, benchmark spawners",
        )
        .subcommand_required(true)
        .arg_required_else_help(true);
    SUBCOMMANDS
        .iter()
        .filter(|s| only.is_none() || only == Some(s.name))
        .fold(top, |top, s| {
            let sub = (s.flags)(clap::Command::new(s.name))
                .about(s.about)
                .long_about(s.long_about);
            top.subcommand(sub)
        })
}

/// The subcommand's flags from its matches (clap's own message and exit 2 if they do not fit).
fn flags<T: FromArgMatches>(matches: &ArgMatches) -> T {
    T::from_arg_matches(matches).unwrap_or_else(|e| e.exit())
}

/// `forkexec run -- PROGRAM [ARG]...` (or `exec`) with no flag: the subcommand and run's flags
/// at their defaults, found without clap. clap builds and checks all of run's definitions
/// (about 110 flags) before it parses anything: about 0.3 ms of CPU, page faults mostly, of the
/// 2 ms a `forkexec run -- true` takes on a small VM, paid by the plainest supervisor use
/// (tini's). Anything else, a flag or a missing `--`, goes to clap.
fn without_flags(args: &[OsString]) -> Option<(&'static str, run::RunArgs)> {
    let [_, sub, dashes, command @ ..] = args else {
        return None;
    };
    let sub = ["run", "exec"].into_iter().find(|s| sub == s)?;
    (dashes == "--" && !command.is_empty())
        .then(|| (sub, run::RunArgs::program_only(command.to_vec())))
}

fn main() {
    let args: Vec<OsString> = std::env::args_os().collect();
    if let Some((sub, flags)) = without_flags(&args) {
        std::process::exit(match sub {
            "run" => run::run(flags),
            _ => exec::run(flags),
        });
    }
    // clap builds the definition of every subcommand before it parses anything. When the
    // first argument names a subcommand, build only that one: `forkexec run` is a start-up
    // cost paid by every job it runs.
    let only = args
        .get(1)
        .and_then(|a| a.to_str())
        .filter(|a| SUBCOMMANDS.iter().any(|s| s.name == *a));
    let matches = definition(only).get_matches_from(&args);
    let Some((name, sub)) = matches.subcommand() else {
        unreachable!("clap requires a subcommand")
    };
    let code = match name {
        "run" => run::run(flags(sub)),
        "exec" => exec::run(flags(sub)),
        "explain" => explain::run(flags(sub)),
        "load" => load::run(flags(sub)),
        "bench" => bench::run(flags(sub)),
        "completions" => completions::run(flags(sub)),
        "man" => man_page::run(flags(sub)),
        _ => unreachable!("every subcommand is dispatched"),
    };
    std::process::exit(code);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What clap makes of `forkexec WORDS...`, as the fast path would return it.
    fn parsed_by_clap(words: &[&str]) -> Result<(String, String), clap::Error> {
        let argv = std::iter::once("forkexec").chain(words.iter().copied());
        let matches = definition(None).try_get_matches_from(argv)?;
        let (name, sub) = matches.subcommand().expect("a subcommand");
        let flags = run::RunArgs::from_arg_matches(sub)?;
        Ok((name.to_string(), format!("{flags:?}")))
    }

    fn fast_path(words: &[&str]) -> Option<(String, String)> {
        let args: Vec<OsString> = std::iter::once("forkexec")
            .chain(words.iter().copied())
            .map(OsString::from)
            .collect();
        without_flags(&args).map(|(name, flags)| (name.to_string(), format!("{flags:?}")))
    }

    #[test]
    fn without_flags_gives_what_clap_parses_from_the_same_words() {
        for words in [
            &["run", "--", "true"][..],
            &["run", "--", "sh", "-c", "exit 3"],
            &["run", "--", "prog", "--", "--help", "-V"],
            &["run", "--", ""],
            &["exec", "--", "true", "x"],
        ] {
            let clap = parsed_by_clap(words).unwrap_or_else(|e| panic!("{words:?}: {e}"));
            assert_eq!(fast_path(words), Some(clap), "{words:?}");
        }
    }

    #[test]
    fn without_flags_leaves_anything_else_to_clap() {
        for words in [
            &["run", "--setsid", "--", "true"][..],
            &["run", "true"],
            &["run", "--"],
            &["run", "--help"],
            &["exec", "-i", "--", "true"],
            &["explain", "--", "true"],
            &["--", "run", "true"],
            &[],
        ] {
            assert_eq!(fast_path(words), None, "{words:?}");
        }
    }
}
