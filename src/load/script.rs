//! `#!` scripts, as binfmt_script runs them: the file's first line names an interpreter, which
//! is loaded instead, with argv `[interpreter, argument?, script path, argv[1..]]`. Interpreters
//! may be scripts too, five deep; the sixth gives ELOOP. The line is parsed by the model
//! ([`crate::model::binfmt::script`]), with the kernel's exact rules.
//!
//! Only files: the interpreter opens the script by its path, so a script in memory has nothing
//! to hand it (the kernel would pass /dev/fd/N; [`super::exec_memory`] refuses with ENOEXEC).

use super::error::LoadError;
use super::file::{open_exec_for, ExecFile, Runner};
use crate::model::binfmt::script;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Nested `#!` rewrites that run; one more gives ELOOP.
pub const MAX_SCRIPT_DEPTH: usize = 5;

/// The file that finally runs, after following `#!` lines.
#[derive(Debug)]
pub struct Resolved {
    /// The ELF file (or whatever the last file is: the ELF checks judge it).
    pub file: ExecFile,
    /// Its path.
    pub path: PathBuf,
    /// The argv it gets.
    pub argv: Vec<Vec<u8>>,
    /// The scripts passed through, outermost first.
    pub scripts: Vec<Vec<u8>>,
}

/// Opens `path` and follows its `#!` lines to the program that runs.
pub fn resolve(path: &Path, argv: &[Vec<u8>]) -> Result<Resolved, LoadError> {
    resolve_for(path, argv, &Runner::default())
}

/// [`resolve`] for a program `runner` runs (its ids and directory, see [`Runner`]); the
/// paths in argv and in [`Resolved`] are as the kernel would see them.
pub fn resolve_for(path: &Path, argv: &[Vec<u8>], runner: &Runner) -> Result<Resolved, LoadError> {
    let mut path = path.to_path_buf();
    let mut argv = argv.to_vec();
    let mut scripts = Vec::new();
    let mut what = "the program".to_string();
    loop {
        let file = open_exec_for(&path, &what, runner)?;
        if !file.bytes.starts_with(b"#!") {
            return Ok(Resolved {
                file,
                path,
                argv,
                scripts,
            });
        }
        let name = path.as_os_str().as_bytes().to_vec();
        let line = script::parse(&file.bytes).map_err(|e| {
            LoadError::new(
                libc::ENOEXEC,
                format!("the script \"{}\": {}", name.escape_ascii(), e.describe()),
            )
        })?;
        if scripts.len() == MAX_SCRIPT_DEPTH {
            return Err(LoadError::new(
                libc::ELOOP,
                format!(
                    "\"{}\" is the {}th nested #! script; the kernel runs {MAX_SCRIPT_DEPTH}",
                    name.escape_ascii(),
                    MAX_SCRIPT_DEPTH + 1
                ),
            ));
        }
        argv = script::rewrite_argv(&line, &name, &argv);
        what = format!("the interpreter of the script \"{}\"", name.escape_ascii());
        scripts.push(name);
        path = PathBuf::from(OsStr::from_bytes(&line.interpreter));
    }
}
