//! Session, process group and terminal: setsid, setpgid, the foreground group of a terminal,
//! and the controlling terminal.
//!
//! Steps in the child, in this order: setsid, setpgid, TIOCSPGRP on a *parent* fd (while every
//! signal is still blocked, so a background child is not stopped by SIGTTOU), ... the fd map
//! ..., TIOCNOTTY, then TIOCSCTTY on a *child* fd (after the map, so it names the fd the
//! program will see). Contradictory combinations are refused before the clone.

use super::Command;
use std::os::fd::RawFd;

impl Command {
    /// Start a new session: setsid() (Go: Setsid; setsid(1)). The child leads the session and a
    /// new process group (so [`Child::kill_group`](crate::Child::kill_group) works) and has no
    /// controlling terminal until [`setctty`](Self::setctty).
    pub fn setsid(&mut self, yes: bool) -> &mut Self {
        self.spec.attrs.setsid = yes;
        self
    }

    /// Put the child in process group `pgid`: setpgid(0, pgid) (std:
    /// `CommandExt::process_group`; Go: Setpgid + Pgid). 0 makes a new group led by the child;
    /// a positive id joins an existing group of this session. Negative ids are refused.
    pub fn process_group(&mut self, pgid: i32) -> &mut Self {
        if pgid < 0 {
            self.refuse(
                format!("process group {pgid}"),
                "a process group id is not negative (0 = a new group led by the child)",
            );
        }
        self.spec.attrs.pgid = Some(pgid);
        self
    }

    /// Make the child's process group the foreground group of the terminal open at *parent*
    /// fd `tty`: ioctl(tty, TIOCSPGRP) in the child before signals are unblocked (Go:
    /// Foreground + Ctty; what a shell does for a foreground job). Implies
    /// `process_group(0)` unless a group is given. The terminal must be the parent's
    /// controlling terminal. Cannot be combined with `setsid` or `setctty`.
    pub fn foreground(&mut self, tty: RawFd) -> &mut Self {
        if tty < 0 {
            self.refuse(
                format!("foreground terminal fd {tty}"),
                "fds are not negative",
            );
        }
        self.spec.attrs.foreground_fd = Some(tty);
        self
    }

    /// Make the terminal at *child* fd `fd` (after the fd map) the child's controlling
    /// terminal: ioctl(fd, TIOCSCTTY, 1) (Go: Setctty + Ctty; `setsid --ctty`). Needs
    /// [`setsid`](Self::setsid): only a session leader can acquire one.
    pub fn setctty(&mut self, fd: RawFd) -> &mut Self {
        if fd < 0 {
            self.refuse(
                format!("controlling terminal fd {fd}"),
                "fds are not negative",
            );
        }
        self.spec.attrs.setctty_fd = Some(fd);
        self
    }

    /// Detach the child from its controlling terminal: ioctl(0, TIOCNOTTY) (Go: Noctty).
    /// Fd 0 must be that terminal.
    pub fn noctty(&mut self, yes: bool) -> &mut Self {
        self.spec.attrs.noctty = yes;
        self
    }
}
