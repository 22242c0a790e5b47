//! `forkexec load`: run a program with the userland loader, in this process, or show the plan.

use clap::Args;
use forkexec::load::{self, render};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

#[derive(Args, Debug)]
#[command(
    after_help = "The program replaces forkexec in this process, as with execve: its exit status is \
forkexec's, and forkexec's memory is unmapped (unless --keep-mappings). If it cannot be loaded, \
forkexec exits with 127 (not found) or 126 and prints the errno execve would give and why; \
nothing has changed by then."
)]
pub struct LoadArgs {
    /// Print the load plan (segments, addresses, entry, stack) instead of running.
    #[arg(long)]
    plan: bool,
    /// With --plan: print one JSON object instead of text.
    #[arg(long, requires = "plan")]
    json: bool,
    /// Read the program into memory and load it from there (anonymous pages filled by copy)
    /// instead of mapping the file's pages.
    #[arg(long)]
    memory: bool,
    /// Keep forkexec's own mappings (code, heap, stack, libraries, shared memory) next to the
    /// new program, instead of replacing them as execve replaces the address space: for a
    /// shared mapping the program is meant to find, or to inspect the loader's state after.
    #[arg(long)]
    keep_mappings: bool,
    #[command(flatten)]
    program: crate::environment::ProgramArgs,
}

pub fn run(a: LoadArgs) -> i32 {
    let env = match a.program.environment() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("forkexec load: {e}");
            return 2;
        }
    };
    let command = &a.program.command;
    let argv: Vec<Vec<u8>> = command.iter().map(|s| s.as_bytes().to_vec()).collect();
    let program = Path::new(&command[0]);
    // PROGRAM as execvp finds it (the loader's planning step judges each PATH candidate as
    // execve would), or as given with --no-path.
    let found = if a.program.no_path {
        load::plan_file(program, &argv, &env).map(|plan| load::search::Found {
            path: program.to_path_buf(),
            plan,
        })
    } else {
        // The PATH the program gets (--env, --env-clear), as run and explain use it.
        let path = a.program.search_path(&env).map(OsStr::from_bytes);
        load::search::search(program.as_os_str(), path, &argv, &env)
    };
    if a.plan {
        return match found {
            Ok(found) => {
                if a.json {
                    println!("{}", render::json::render(&found.plan));
                } else {
                    print!("{}", render::text::render(&found.plan));
                }
                0
            }
            Err(e) => {
                if a.json {
                    println!("{}", render::json::error(&e));
                } else {
                    eprintln!("forkexec load: {}: {e}", program.display());
                }
                exit_code(&e)
            }
        };
    }
    let mode = if a.keep_mappings {
        load::Mode::Alongside
    } else {
        load::Mode::InPlace
    };
    let (shown, err) = match found {
        Err(e) => (program.to_path_buf(), e),
        Ok(found) => {
            let err = if a.memory {
                match load::file::open_exec(&found.path, "the program") {
                    Ok(f) => load::exec_memory_with(&f.bytes, &argv, &env, mode),
                    Err(e) => e,
                }
            } else {
                load::exec_file_with(&found.path, &argv, &env, mode)
            };
            (found.path, err)
        }
    };
    eprintln!("forkexec load: {}: {err}", shown.display());
    exit_code(&err)
}

/// The shell's convention: 127 when the program is missing, 126 when it cannot run.
fn exit_code(e: &load::LoadError) -> i32 {
    126 + i32::from(e.errno.0 == libc::ENOENT)
}
