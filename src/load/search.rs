//! Finding PROGRAM in PATH for the loader, with the exec family's rules.
//!
//! execvp tries each PATH candidate with execve and judges the errno: EACCES is remembered and
//! the search goes on, so do ENOENT, ENOTDIR, ESTALE, ENODEV and ETIMEDOUT; any other errno
//! ends it ([`SearchRules`]). The loader cannot try an exec and come back, but its planning
//! step fails exactly where execve would, with the same errno, and changes nothing: each
//! candidate is planned in turn and judged by the same rules. So a 0700 root-owned file first
//! in PATH is passed over by another user (EACCES), a script whose interpreter is missing is
//! passed over (ENOENT), and a damaged ELF file ends the search (ENOEXEC), as with execvp.

use super::{plan_file, LoadError, LoadPlan};
use crate::exec::{Candidates, SearchRules};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// The program the search found, and its plan.
#[derive(Debug)]
pub struct Found {
    /// The candidate path that loads.
    pub path: PathBuf,
    /// Its plan (as [`plan_file`] makes it).
    pub plan: LoadPlan,
}

/// Finds `name` as execvp would, with glibc's rules: used as a path when it holds a '/', else
/// tried in each directory of `path_var` (`None`: PATH is unset, glibc's default
/// `/bin:/usr/bin`). The error is the one execvp would report: EACCES if a candidate was
/// refused for it, else the last candidate's.
pub fn search(
    name: &OsStr,
    path_var: Option<&OsStr>,
    argv: &[Vec<u8>],
    envp: &[Vec<u8>],
) -> Result<Found, LoadError> {
    search_with(name, path_var, SearchRules::Glibc, |path| {
        plan_file(path, argv, envp)
    })
    .map(|(path, plan)| Found { path, plan })
}

/// [`search`] with `rules`, judging each candidate with `judge` (which fails exactly where
/// execve would, with its errno): the first candidate it accepts, and what it made of it.
pub fn search_with<T>(
    name: &OsStr,
    path_var: Option<&OsStr>,
    rules: SearchRules,
    mut judge: impl FnMut(&Path) -> Result<T, LoadError>,
) -> Result<(PathBuf, T), LoadError> {
    let raw = name.as_bytes();
    let candidates =
        Candidates::search(raw, path_var.map(OsStr::as_bytes), rules).map_err(|errno| {
            LoadError::new(
                errno,
                format!("\"{}\" cannot be looked up in PATH", raw.escape_ascii()),
            )
        })?;
    let mut refused: Option<LoadError> = None;
    let mut last: Option<LoadError> = None;
    for candidate in candidates.paths() {
        let path = Path::new(OsStr::from_bytes(candidate.to_bytes()));
        match judge(path) {
            Ok(t) => return Ok((path.to_path_buf(), t)),
            Err(e) if candidates.direct || !rules.continues_after(e.errno.0) => return Err(e),
            Err(e) => {
                if e.errno.0 == libc::EACCES && refused.is_none() {
                    refused = Some(e);
                } else {
                    last = Some(e);
                }
            }
        }
    }
    Err(refused.unwrap_or_else(|| {
        let errno = last.map_or(libc::ENOENT, |e| e.errno.0);
        LoadError::new(
            errno,
            format!("\"{}\" is in no directory of PATH", raw.escape_ascii()),
        )
    }))
}
