//! From `tokio::process::Command`, with the honesty rule of the std conversion: what the
//! Command holds that its getters cannot show (a uid, stdio, argv[0], `pre_exec`...) refuses
//! the conversion rather than being dropped. tokio's own `kill_on_drop` has a getter and is
//! carried over.

use super::command::Command;
use crate::FromStdError;

impl TryFrom<&tokio::process::Command> for Command {
    type Error = FromStdError;

    /// What `as_std()` holds, checked as `forkexec::Command::try_from(&std::process::Command)`
    /// checks it, and `kill_on_drop`.
    fn try_from(tokio_cmd: &tokio::process::Command) -> Result<Command, FromStdError> {
        let mut cmd = crate::Command::try_from(tokio_cmd.as_std())?;
        cmd.kill_on_drop(tokio_cmd.get_kill_on_drop());
        Ok(Command::from(cmd))
    }
}

impl TryFrom<tokio::process::Command> for Command {
    type Error = FromStdError;

    /// As for `&tokio::process::Command`.
    fn try_from(tokio_cmd: tokio::process::Command) -> Result<Command, FromStdError> {
        Command::try_from(&tokio_cmd)
    }
}

impl Command {
    /// What the getters of `as_std()` expose, `env_clear` and `kill_on_drop`, dropping the
    /// rest as [`forkexec::Command::from_std_lossy`](crate::Command::from_std_lossy) does.
    /// Lossy by name: prefer `Command::try_from`, which refuses instead.
    pub fn from_tokio_lossy(tokio_cmd: &tokio::process::Command) -> Command {
        let mut cmd = crate::Command::from_std_lossy(tokio_cmd.as_std());
        cmd.kill_on_drop(tokio_cmd.get_kill_on_drop());
        Command::from(cmd)
    }
}
