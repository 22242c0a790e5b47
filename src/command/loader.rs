//! How the child starts its program: `loader` (the kernel's execve, or the userland loader)
//! and `program_bytes` (a program held in memory).

use super::Command;
use std::sync::Arc;

/// What starts the program in a spawned child, after the child sequence.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Loader {
    /// execve: the kernel loads the program (the default).
    #[default]
    Kernel,
    /// The userland loader ([`crate::load`]): the child execs a small loader stub, which
    /// gives it an address space of its own, and the stub loads the program there, as
    /// planned in the parent. Errors are execve's errnos, reported before the child exists
    /// where execve would report them (`failed to load "prog": ...`). `chroot` and `ptrace`
    /// are refused with it; see `load::handoff` for what else differs.
    Userland,
}

impl Command {
    /// What starts the program after the child sequence: the kernel's execve (the default)
    /// or the userland loader.
    ///
    /// ```no_run
    /// use forkexec::{Command, Loader};
    /// let status = Command::new("true").loader(Loader::Userland).status()?;
    /// # Ok::<(), forkexec::Error>(())
    /// ```
    pub fn loader(&mut self, loader: Loader) -> &mut Self {
        self.spec.userland = loader == Loader::Userland;
        self
    }

    /// Runs the ELF program in `bytes` instead of a file: no file on disk, no memfd holding
    /// it. Implies [`Loader::Userland`]. The name given to [`Command::new`] is `argv[0]` and
    /// AT_EXECFN (and the thread name); a PT_INTERP is read from the file system. A `#!`
    /// script is refused (ENOEXEC): its interpreter would need a path to open it by.
    ///
    /// ```no_run
    /// let bytes = std::fs::read("/usr/bin/true")?;
    /// let status = forkexec::Command::new("true").program_bytes(bytes).status()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn program_bytes(&mut self, bytes: impl Into<Arc<[u8]>>) -> &mut Self {
        self.spec.program_bytes = Some(bytes.into());
        self.spec.userland = true;
        self
    }
}
