//! `forkexec run --userland [--memory]`: start PROGRAM with the userland loader.

use clap::Args;
use forkexec::load::{self, LoadError};
use std::ffi::OsStr;
use std::path::Path;

#[derive(Args, Debug, Default)]
pub struct LoaderArgs {
    /// Start PROGRAM with forkexec's userland ELF loader instead of execve: after the child's
    /// attributes are set up it execs a small loader stub, which loads PROGRAM into its fresh
    /// address space (static, static PIE, dynamic through its ld.so, #! scripts). Errors are
    /// execve's errnos. Not with --chroot or --ptrace.
    #[arg(long)]
    userland: bool,
    /// With --userland: read PROGRAM (found as execvp finds it) into memory here and run it
    /// from there: the child maps no file of it, and no memfd holds it.
    #[arg(long, requires = "userland")]
    memory: bool,
}

impl LoaderArgs {
    /// Sets the loader on `cmd`; with --memory reads PROGRAM (searched in the PATH the child
    /// gets, unless --no-path). Returns the exit status to stop with when it cannot be read.
    pub fn apply(&self, cmd: &mut forkexec::Command, run: &crate::run::RunArgs) -> Result<(), i32> {
        if !self.userland {
            return Ok(());
        }
        let program = run.program();
        let path_var = run.child_path();
        let (path_var, no_path) = (path_var.as_deref(), run.no_path());
        cmd.loader(forkexec::Loader::Userland);
        if !self.memory {
            return Ok(());
        }
        let read = |p: &Path| load::file::open_exec(p, "the program");
        let found = if no_path {
            read(Path::new(program))
        } else {
            let rules = forkexec::exec::SearchRules::Glibc;
            load::search::search_with(program, path_var, rules, read).map(|(_, f)| f)
        };
        match found {
            Ok(f) => {
                cmd.program_bytes(f.bytes);
                Ok(())
            }
            Err(e) => Err(cannot_read(program, &e)),
        }
    }
}

/// Says why PROGRAM cannot be read; 127 when it is missing, 126 otherwise (as shells do).
fn cannot_read(program: &OsStr, e: &LoadError) -> i32 {
    eprintln!("forkexec: failed to load {program:?}: {e}");
    126 + i32::from(e.errno.0 == libc::ENOENT)
}
