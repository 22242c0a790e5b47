//! What a Command can tell about itself: std's getters (`get_program`, `get_args`,
//! `get_envs`, `get_current_dir`, and the unstable `get_env_clear`) and its `Debug`, in std's
//! format.

use super::Command;
use crate::stdio::Stdio;
use std::collections::btree_map;
use std::ffi::{CStr, CString, OsStr, OsString};
use std::fmt;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

impl Command {
    /// The program as given to [`Command::new`].
    pub fn get_program(&self) -> &OsStr {
        &self.spec.program
    }

    /// The arguments after `argv[0]`, in order (std: `Command::get_args`).
    pub fn get_args(&self) -> CommandArgs<'_> {
        let argv = self.spec.argv.as_slice();
        CommandArgs {
            inner: argv.get(1..).unwrap_or_default().iter(),
        }
    }

    /// The environment changes, sorted by key: `(key, Some(value))` for a variable set,
    /// `(key, None)` for one removed (std: `Command::get_envs`). After
    /// [`env_clear`](Self::env_clear) only what was set since is listed.
    pub fn get_envs(&self) -> CommandEnvs<'_> {
        CommandEnvs {
            inner: self.spec.env.iter(),
        }
    }

    /// The working directory set with [`current_dir`](Self::current_dir), if any (std:
    /// `Command::get_current_dir`).
    pub fn get_current_dir(&self) -> Option<&Path> {
        self.spec.cwd.as_ref().map(|(p, _)| p.as_path())
    }

    /// Whether [`env_clear`](Self::env_clear) was called (std's unstable
    /// `Command::get_env_clear`).
    pub fn get_env_clear(&self) -> bool {
        self.spec.env_clear
    }

    /// Whether the child is killed when its `Child` is dropped unreaped
    /// ([`kill_on_drop`](Self::kill_on_drop); tokio's `Command::get_kill_on_drop`).
    pub fn get_kill_on_drop(&self) -> bool {
        self.spec.kill_on_drop
    }
}

/// The arguments of a [`Command`] after `argv[0]`: see [`Command::get_args`].
#[derive(Debug)]
pub struct CommandArgs<'a> {
    inner: std::slice::Iter<'a, CString>,
}

impl<'a> Iterator for CommandArgs<'a> {
    type Item = &'a OsStr;
    fn next(&mut self) -> Option<&'a OsStr> {
        self.inner.next().map(|c| OsStr::from_bytes(c.to_bytes()))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl ExactSizeIterator for CommandArgs<'_> {}

/// The environment changes of a [`Command`]: see [`Command::get_envs`].
#[derive(Debug)]
pub struct CommandEnvs<'a> {
    inner: btree_map::Iter<'a, OsString, Option<OsString>>,
}

impl<'a> Iterator for CommandEnvs<'a> {
    type Item = (&'a OsStr, Option<&'a OsStr>);
    fn next(&mut self) -> Option<Self::Item> {
        self.inner
            .next()
            .map(|(k, v)| (k.as_os_str(), v.as_deref()))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl ExactSizeIterator for CommandEnvs<'_> {}

impl fmt::Debug for Command {
    /// std's format. `{:?}` approximates a shell line: `cd "/dir" && env -i A="1" "prog" "arg"`
    /// (`env -u KEY` for removals, `["prog"] "argv0"` when `argv[0]` differs). `{:#?}` shows a
    /// `Command { .. }` struct with std's fields (program, args with `argv[0]`, env, cwd, uid, gid,
    /// groups, stdin, stdout, stderr, pgroup) where set, then forkexec's own attributes where
    /// set. std's `create_pidfd` field is not shown: a Command here always makes a pidfd.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.spec;
        // As std, which holds them as C strings: a name with a NUL shows as std shows it.
        let program =
            CString::new(s.program.as_bytes()).unwrap_or_else(|_| c"<string-with-nul>".to_owned());
        let argv: Vec<&CStr> = s.argv.iter().collect();
        if !f.alternate() {
            if let Some((_, cwd)) = &s.cwd {
                write!(f, "cd {cwd:?} && ")?;
            }
            if s.env_clear {
                write!(f, "env -i ")?;
            } else {
                let mut removed = s.env.iter().filter(|(_, v)| v.is_none()).peekable();
                if removed.peek().is_some() {
                    write!(f, "env ")?;
                }
                for (k, _) in removed {
                    write!(f, "-u {} ", k.to_string_lossy())?;
                }
            }
            for (k, v) in &s.env {
                if let Some(v) = v {
                    write!(f, "{}={v:?} ", k.to_string_lossy())?;
                }
            }
            let argv0 = argv.first().copied().unwrap_or_default();
            if program.as_c_str() != argv0 {
                write!(f, "[{program:?}] ")?;
            }
            write!(f, "{argv0:?}")?;
            for arg in self.get_args() {
                write!(f, " {arg:?}")?;
            }
            return Ok(());
        }
        let a = &s.attrs;
        let mut d = f.debug_struct("Command");
        d.field("program", &program).field("args", &argv);
        if s.env_clear || !s.env.is_empty() {
            d.field(
                "env",
                &EnvChanges {
                    clear: s.env_clear,
                    vars: &s.env,
                },
            );
        }
        if let Some((_, cwd)) = &s.cwd {
            d.field("cwd", &Some(cwd));
        }
        if a.uid.is_some() {
            d.field("uid", &a.uid);
        }
        if a.gid.is_some() {
            d.field("gid", &a.gid);
        }
        if a.groups.is_some() {
            d.field("groups", &a.groups);
        }
        for (name, stdio) in ["stdin", "stdout", "stderr"].iter().zip(&s.stdio) {
            if let Some(stdio) = stdio {
                d.field(name, &Some(StdioAsStd(stdio)));
            }
        }
        if a.pgid.is_some() {
            d.field("pgroup", &a.pgid);
        }
        // forkexec's own, each only where it differs from the default.
        if !s.fd_map.is_empty() {
            d.field("fds", &s.fd_map);
        }
        if s.keep_fds {
            d.field("keep_fds", &true);
        }
        if s.retain_fds {
            d.field("retain_fds", &true);
        }
        if s.kill_on_drop {
            d.field("kill_on_drop", &true);
        }
        if !s.pre_exec.0.is_empty() {
            d.field("pre_exec", &s.pre_exec);
        }
        if s.lookup != crate::exec::PathLookup::Search(Default::default()) {
            d.field("path_lookup", &s.lookup);
        }
        if s.shell != crate::exec::ShellFallback::Off {
            d.field("shell_fallback", &s.shell);
        }
        a.debug_set_fields(&mut d);
        d.finish()
    }
}

/// std's `CommandEnv` Debug: `CommandEnv { clear: false, vars: {"FOO": Some("bar")} }`.
struct EnvChanges<'a> {
    clear: bool,
    vars: &'a std::collections::BTreeMap<OsString, Option<OsString>>,
}

impl fmt::Debug for EnvChanges<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CommandEnv")
            .field("clear", &self.clear)
            .field("vars", self.vars)
            .finish()
    }
}

/// A stdio setting with the names std's Command Debug uses (`Null`, `MakePipe`, `Fd(..)`).
struct StdioAsStd<'a>(&'a Stdio);

impl fmt::Debug for StdioAsStd<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Stdio::Piped => f.write_str("MakePipe"),
            other => other.fmt(f),
        }
    }
}
