//! `forkexec-emulate PROFILE [--] PROGRAM [ARG]...`: runs PROGRAM with this kernel answering
//! like PROFILE (3.10, 4.18, 5.4, docker). Used as cargo's test runner by scripts/test.sh:
//! `CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER="forkexec-emulate 3.10 --" cargo test ...`.

use forkexec_emulate::{install, Profile, ENV};
use std::os::unix::process::CommandExt;

fn main() {
    let mut args = std::env::args_os().skip(1);
    let usage = || -> ! {
        eprintln!("usage: forkexec-emulate 3.10|4.18|5.4|docker [--] PROGRAM [ARG]...");
        std::process::exit(2)
    };
    let Some(profile) = args.next() else { usage() };
    let profile: Profile = match profile.to_string_lossy().parse() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("forkexec-emulate: {e}");
            std::process::exit(2)
        }
    };
    let mut program = args.next().unwrap_or_else(|| usage());
    if program == "--" {
        program = args.next().unwrap_or_else(|| usage());
    }
    if let Err(e) = install(profile) {
        eprintln!("forkexec-emulate: {e}");
        std::process::exit(1)
    }
    let err = std::process::Command::new(&program)
        .args(args)
        .env(ENV, profile.name())
        .exec();
    eprintln!("forkexec-emulate: cannot run {program:?}: {err}");
    std::process::exit(127)
}
