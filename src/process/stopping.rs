//! Stopping a child gracefully, and the pty it may own: `impl Child` additions of the sandbox
//! tier.

use super::{Child, Pty};
use std::io;
use std::os::fd::OwnedFd;
use std::process::ExitStatus;
use std::time::Duration;

impl Child {
    pub(crate) fn with_pty(mut self, primary: Option<OwnedFd>) -> Child {
        self.pty = primary.map(Pty::new);
        self
    }

    /// Asks the child to stop, then makes it: SIGTERM (to its whole process group when it leads
    /// one: `setsid`, `process_group(0)`, `pty`), up to `grace` for it to exit, then SIGKILL (to
    /// the group too), and its exit status (timeout(1) with `--kill-after`; systemd's
    /// TimeoutStopSec; the stop that duct#25 and process-wrap users write by hand). A child
    /// that already exited gives its status at once; so does one that obeys SIGTERM
    /// (`status.signal() == Some(SIGTERM)`, or the code its handler chose).
    pub fn terminate(&mut self, grace: Duration) -> io::Result<ExitStatus> {
        if let Some(status) = self.try_wait()? {
            return Ok(status);
        }
        self.signal_child_or_group(libc::SIGTERM)?;
        if let Some(status) = self.wait_timeout(grace)? {
            return Ok(status);
        }
        self.signal_child_or_group(libc::SIGKILL)?;
        self.wait()
    }

    /// The child's group when it leads one and has not been reaped, else the child itself.
    fn signal_child_or_group(&mut self, sig: i32) -> io::Result<()> {
        if self.process.group_leader && self.process.status.is_none() {
            // The group id is the child's pid, which stays ours until we reap it.
            match self.process.kill_group(sig) {
                // The group may be empty already, with the leader a zombie.
                Err(e) if e.raw_os_error() == Some(libc::ESRCH) => {}
                r => return r,
            }
        }
        self.send_signal(sig)
    }

    /// The primary side of the child's pty (`Command::pty`), if it has one and it was not
    /// taken.
    pub fn pty(&mut self) -> Option<&mut Pty> {
        self.pty.as_mut()
    }

    /// Takes the pty's primary side out of the Child (to read it on another thread).
    pub fn take_pty(&mut self) -> Option<Pty> {
        self.pty.take()
    }

    /// Sets the size of the child's pty (TIOCSWINSZ; the program gets SIGWINCH). An error if
    /// the child has no pty or it was taken (then use [`Pty::resize`]).
    pub fn resize(&mut self, rows: u16, cols: u16) -> io::Result<()> {
        match &self.pty {
            Some(pty) => pty.resize(rows, cols),
            None => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the child has no pty (Command::pty), or it was taken",
            )),
        }
    }
}
