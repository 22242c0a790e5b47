//! What `explain` and `load` share: PROGRAM and its arguments, the environment it gets
//! (`--env K=V`, `--env-clear`) and how it is found (`--no-path`), plus the one `K=V` parser
//! every subcommand uses.
//!
//! PROGRAM is searched, when it has no '/', in the PATH of the environment it gets, as std's
//! `Command` and glibc's `execvpe` do (and as `forkexec run` does): PATH set by `--env`, unset by
//! `--env-clear` unless set again (the search then uses glibc's default, `/bin:/usr/bin`),
//! otherwise the caller's.

use clap::Args;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};

/// PROGRAM, its arguments and its environment.
#[derive(Args, Debug)]
pub struct ProgramArgs {
    /// Use PROGRAM as a path even without a '/' (execve, not execvp).
    #[arg(long)]
    pub no_path: bool,
    /// Set K to V in the environment passed (repeatable). A PATH set here is also where
    /// PROGRAM is searched.
    #[arg(long = "env", value_name = "K=V")]
    pub env: Vec<OsString>,
    /// Start from an empty environment instead of the current one (PROGRAM is then searched
    /// in /bin:/usr/bin unless --env sets PATH).
    #[arg(long)]
    pub env_clear: bool,
    /// The program and its arguments.
    #[arg(
        required = true,
        trailing_var_arg = true,
        value_name = "PROGRAM [ARG]..."
    )]
    pub command: Vec<OsString>,
}

impl ProgramArgs {
    /// `KEY=VALUE` strings: this process's environment (or none with `--env-clear`), each
    /// `--env K=V` replacing the variable of that name in place or appended when new.
    pub fn environment(&self) -> Result<Vec<Vec<u8>>, String> {
        let mut env: Vec<Vec<u8>> = if self.env_clear {
            Vec::new()
        } else {
            std::env::vars_os()
                .map(|(k, v)| {
                    let mut e = k.into_vec();
                    e.push(b'=');
                    e.extend_from_slice(v.as_bytes());
                    e
                })
                .collect()
        };
        for kv in &self.env {
            let (key, _) = parse_assignment(kv)?;
            let key = key.as_bytes();
            let slot = env
                .iter_mut()
                .find(|e| e.len() > key.len() && e.starts_with(key) && e[key.len()] == b'=');
            match slot {
                Some(slot) => *slot = kv.as_bytes().to_vec(),
                None => env.push(kv.as_bytes().to_vec()),
            }
        }
        Ok(env)
    }

    /// The PATH PROGRAM is searched in: the one in `envp` (the environment the program gets,
    /// from [`environment`](Self::environment)); `None` when it has none. `None` also with
    /// `--no-path` or a PROGRAM containing '/', where nothing is searched.
    pub fn search_path<'a>(&self, envp: &'a [Vec<u8>]) -> Option<&'a [u8]> {
        let program = self.command.first()?.as_bytes();
        if self.no_path || program.contains(&b'/') {
            return None;
        }
        envp.iter().find_map(|e| e.strip_prefix(b"PATH="))
    }
}

/// Splits a `K=V` argument at its first '='; K must not be empty.
pub fn parse_assignment(kv: &OsStr) -> Result<(&OsStr, &OsStr), String> {
    let bytes = kv.as_bytes();
    match bytes.iter().position(|&c| c == b'=') {
        Some(eq) if eq > 0 => Ok((
            OsStr::from_bytes(&bytes[..eq]),
            OsStr::from_bytes(&bytes[eq + 1..]),
        )),
        _ => Err(format!(
            "--env wants K=V with a non-empty K, got {:?}",
            String::from_utf8_lossy(bytes)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(env: &[&str], env_clear: bool, command: &[&str]) -> ProgramArgs {
        ProgramArgs {
            no_path: false,
            env: env.iter().map(OsString::from).collect(),
            env_clear,
            command: command.iter().map(OsString::from).collect(),
        }
    }

    #[test]
    fn assignments_split_at_the_first_equals_sign() {
        let (k, v) = parse_assignment(OsStr::new("A=b=c")).unwrap();
        assert_eq!((k, v), (OsStr::new("A"), OsStr::new("b=c")));
        assert!(parse_assignment(OsStr::new("A=")).is_ok());
        assert!(parse_assignment(OsStr::new("=v")).is_err());
        assert!(parse_assignment(OsStr::new("NOEQUALS")).is_err());
    }

    #[test]
    fn the_program_is_searched_in_the_path_it_gets() {
        let a = args(&["PATH=/opt/x", "PATHX=1"], true, &["prog"]);
        let env = a.environment().unwrap();
        assert_eq!(env, [b"PATH=/opt/x".to_vec(), b"PATHX=1".to_vec()]);
        assert_eq!(a.search_path(&env), Some(&b"/opt/x"[..]));
        // Cleared and not set again: no PATH (the search uses the default).
        let a = args(&["A=1"], true, &["prog"]);
        let env = a.environment().unwrap();
        assert_eq!(a.search_path(&env), None);
        // A name with a '/' is not searched.
        let a = args(&["PATH=/opt/x"], true, &["./prog"]);
        assert_eq!(a.search_path(&a.environment().unwrap()), None);
        // Set twice: the last one wins, in place.
        let a = args(&["PATH=/a", "B=2", "PATH=/b"], true, &["prog"]);
        let env = a.environment().unwrap();
        assert_eq!(env, [b"PATH=/b".to_vec(), b"B=2".to_vec()]);
    }
}
