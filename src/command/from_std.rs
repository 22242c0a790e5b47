//! From `std::process::Command`, honestly.
//!
//! std's Command has getters for the program, the arguments, the environment changes and the
//! working directory only. What else it holds (argv[0], `env_clear`, uid, gid, groups, stdio,
//! the process group, `pre_exec` closures...) cannot be read back, so a conversion that simply
//! copies the getters runs a different child: with `env_clear().env("X", "1")` it got the
//! whole parent environment, with `.uid(65534)` it ran as root.
//!
//! `TryFrom` therefore checks first. std's `{:#?}` shows its fields where set (uid, gid,
//! groups, stdin, stdout, stderr, pgroup, `env: CommandEnv { clear: true, .. }`, argv[0] in
//! `args`). The conversion rebuilds a std Command from the getters alone and compares the two
//! renderings: equal means nothing the getters miss is set, except what std's Debug never shows
//! (`pre_exec` closures; `setsid` and `chroot`, unstable in std). `env_clear` is recognised
//! (the rebuilt Command with it renders the same) and carried; anything else refuses the
//! conversion with [`FromStdError`] naming it. No value is parsed out of the rendering, so a
//! change of std's format can only make the conversion refuse more, or miss a field the tests
//! (`tests/std_conversion.rs`) would then show.

use super::Command;
use std::process::Command as StdCommand;

/// Gives `$to` (a forkexec or a std Command, which share these method names) what `$from`'s
/// getters show: arguments, `env_clear` when `$clear`, environment changes, working directory.
macro_rules! copy_getters {
    ($from:expr, $to:expr, $clear:expr) => {
        $to.args($from.get_args());
        if $clear {
            $to.env_clear();
        }
        for (k, v) in $from.get_envs() {
            match v {
                Some(v) => $to.env(k, v),
                None => $to.env_remove(k),
            };
        }
        if let Some(dir) = $from.get_current_dir() {
            $to.current_dir(dir);
        }
    };
}

/// `TryFrom<std::process::Command>` refused: the std Command holds settings it exposes no getter
/// for, which the conversion would lose.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "std::process::Command sets {} (std has no getter for them): set them on \
     forkexec::Command instead, or use Command::from_std_lossy to drop them",
    .hidden.join(", ")
)]
pub struct FromStdError {
    /// std's names of what is set: `arg0` (`argv[0]` differs from the program), `uid`, `gid`,
    /// `groups`, `stdin`, `stdout`, `stderr`, `pgroup`, `create_pidfd`...
    pub hidden: Vec<String>,
}

impl TryFrom<&StdCommand> for Command {
    type Error = FromStdError;

    /// Program, arguments, environment changes (removals too), `env_clear` and working
    /// directory, or an error naming what std holds beyond them (see the module docs).
    fn try_from(std_cmd: &StdCommand) -> Result<Self, FromStdError> {
        let (env_clear, hidden) = inspect(std_cmd);
        if hidden.is_empty() {
            Ok(Command::from_getters(std_cmd, env_clear))
        } else {
            Err(FromStdError { hidden })
        }
    }
}

impl TryFrom<StdCommand> for Command {
    type Error = FromStdError;

    /// As for `&std::process::Command`.
    fn try_from(std_cmd: StdCommand) -> Result<Self, FromStdError> {
        Command::try_from(&std_cmd)
    }
}

impl Command {
    /// What std's getters expose (program, arguments, environment changes with removals,
    /// working directory) and `env_clear` when set, dropping everything else std's Command
    /// holds: `argv[0]`, uid, gid, groups, stdio, process group, `pre_exec` closures. Lossy by
    /// name: prefer `Command::try_from`, which refuses instead.
    pub fn from_std_lossy(std_cmd: &StdCommand) -> Command {
        let (env_clear, _) = inspect(std_cmd);
        Command::from_getters(std_cmd, env_clear)
    }

    fn from_getters(std_cmd: &StdCommand, env_clear: bool) -> Command {
        let mut cmd = Command::new(std_cmd.get_program());
        copy_getters!(std_cmd, cmd, env_clear);
        cmd
    }
}

/// Whether `std_cmd` clears the environment, and the names of std's Debug fields set on it that
/// a Command rebuilt from the getters does not have.
fn inspect(std_cmd: &StdCommand) -> (bool, Vec<String>) {
    let shown = format!("{std_cmd:#?}");
    for env_clear in [false, true] {
        if format!("{:#?}", rebuilt(std_cmd, env_clear)) == shown {
            return (env_clear, Vec::new());
        }
    }
    let env_clear = shown.contains("clear: true");
    let rebuilt = format!("{:#?}", rebuilt(std_cmd, env_clear));
    let theirs = fields(&shown);
    let ours = fields(&rebuilt);
    let hidden = theirs
        .iter()
        .filter(|field| !ours.contains(field))
        .map(|(name, _)| match name.as_str() {
            // The getters give the program and the arguments after argv[0]: what differs in
            // `args` is argv[0].
            "args" => "arg0".to_string(),
            other => other.to_string(),
        })
        .collect();
    (env_clear, hidden)
}

/// A std Command made from `std_cmd`'s getters only.
fn rebuilt(std_cmd: &StdCommand, env_clear: bool) -> StdCommand {
    let mut c = StdCommand::new(std_cmd.get_program());
    copy_getters!(std_cmd, c, env_clear);
    c
}

/// The top-level fields of a `{:#?}` rendering: (name, its whole text).
fn fields(rendering: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in rendering.lines() {
        let top_level = line.starts_with("    ") && !line.starts_with("     ");
        match (top_level, line.trim().split_once(':'), out.last_mut()) {
            (true, Some((name, _)), _) => out.push((name.to_string(), line.to_string())),
            (false, _, Some((_, text))) => {
                text.push('\n');
                text.push_str(line);
            }
            _ => {}
        }
    }
    out
}
