//! [`Child`]: a spawned process for async code, with tokio::process::Child's shape.

use super::exit::ChildExit;
use super::kill_handle::KillHandle;
use super::orphans;
use super::pipes::{read_both, ChildStderr, ChildStdin, ChildStdout};
use std::io;
use std::os::fd::BorrowedFd;
use std::process::{ExitStatus, Output};

/// A spawned process: tokio::process::Child's methods and public pipes, waited for on the
/// readiness of its pidfd.
///
/// Dropped before it was reaped, it is not left a zombie: the runtime reaps it in the
/// background (see [`orphans`](super#a-dropped-child)). With `kill_on_drop` it is killed
/// first, with its whole process group when it leads one (`setsid`, `process_group(0)`), as
/// the sync [`forkexec::Child`](crate::Child) does.
#[derive(Debug)]
pub struct Child {
    /// The parent's end of the child's stdin, if piped.
    pub stdin: Option<ChildStdin>,
    /// The parent's end of the child's stdout, if piped.
    pub stdout: Option<ChildStdout>,
    /// The parent's end of the child's stderr, if piped.
    pub stderr: Option<ChildStderr>,
    /// None only once `drop` has handed it on.
    exit: Option<ChildExit>,
    kill_on_drop: bool,
}

impl TryFrom<crate::Child> for Child {
    type Error = io::Error;

    /// The async handle of a child spawned by the sync API (`forkexec::Command::spawn`, whose
    /// error names the failing step): its pipes are registered with the current runtime, and
    /// its `kill_on_drop` is carried out without blocking. Needs a Tokio runtime with IO.
    fn try_from(mut child: crate::Child) -> io::Result<Child> {
        let kill_on_drop = child.take_kill_on_drop();
        let pipes = (
            child.stdin.take().map(|p| ChildStdin::new(p.into())),
            child.stdout.take().map(|p| ChildStdout::new(p.into())),
            child.stderr.take().map(|p| ChildStderr::new(p.into())),
        );
        let mut async_child = Child {
            stdin: None,
            stdout: None,
            stderr: None,
            exit: Some(ChildExit::new(child)),
            kill_on_drop,
        };
        // On an error the Child is dropped like any other: killed if asked, then reaped.
        async_child.stdin = pipes.0.transpose()?;
        async_child.stdout = pipes.1.transpose()?;
        async_child.stderr = pipes.2.transpose()?;
        Ok(async_child)
    }
}

impl Child {
    fn exit(&self) -> &ChildExit {
        self.exit
            .as_ref()
            .expect("present until the Child is dropped")
    }

    fn exit_mut(&mut self) -> &mut ChildExit {
        self.exit
            .as_mut()
            .expect("present until the Child is dropped")
    }

    /// The process id, or None once the child has been reaped (its pid may then be another
    /// process's), as tokio's `Child::id`.
    pub fn id(&self) -> Option<u32> {
        let exit = self.exit();
        exit.status().is_none().then(|| exit.child().id())
    }

    /// The pidfd: refers to this process only, even after its pid is reused. An error
    /// (`ErrorKind::Unsupported`) where the kernel gave none, saying why (see
    /// [`forkexec::Child::pidfd`](crate::Child::pidfd)).
    pub fn pidfd(&self) -> io::Result<BorrowedFd<'_>> {
        self.exit().child().pidfd()
    }

    /// Waits for the child to exit and reaps it. Closes stdin first, as tokio and std do, so a
    /// child reading it to EOF can finish.
    ///
    /// Cancel-safe: a wait dropped before it finished (a `select!`, a timeout) loses nothing,
    /// and waiting again works. It sleeps on the pidfd's readiness (SIGCHLD where the kernel
    /// has no pollable pidfd: see the module docs).
    pub async fn wait(&mut self) -> io::Result<ExitStatus> {
        drop(self.stdin.take());
        self.exit_mut().wait().await
    }

    /// The exit status if the child has exited (it is then reaped), without waiting.
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        self.exit_mut().try_wait()
    }

    /// Sends SIGKILL without waiting (through the pidfd; by pid where there is none, never to
    /// a recycled pid). `Ok` if the child was already reaped, as std's `kill`.
    pub fn start_kill(&mut self) -> io::Result<()> {
        self.exit_mut().child_mut().kill()
    }

    /// Kills the child and waits for it to be reaped.
    pub async fn kill(&mut self) -> io::Result<()> {
        self.start_kill()?;
        self.wait().await.map(drop)
    }

    /// Sends signal `sig` (any number the kernel accepts), as
    /// [`forkexec::Child::send_signal`](crate::Child::send_signal).
    pub fn send_signal(&mut self, sig: i32) -> io::Result<()> {
        self.exit_mut().child_mut().send_signal(sig)
    }

    /// Sends `sig` to the child's whole process group (the child must lead one), as
    /// [`forkexec::Child::kill_group`](crate::Child::kill_group).
    pub fn kill_group(&mut self, sig: i32) -> io::Result<()> {
        self.exit_mut().child_mut().kill_group(sig)
    }

    /// A handle that signals this child from another task or thread while this Child waits
    /// (tokio's Child has none: its docs suggest a `select!` in the waiting task).
    pub fn kill_handle(&mut self) -> io::Result<KillHandle> {
        KillHandle::new(self.exit_mut())
    }

    /// Reads stdout and stderr to their ends (both at once, so neither pipe can fill and stall
    /// the child), then waits. Closes stdin first.
    pub async fn wait_with_output(mut self) -> io::Result<Output> {
        drop(self.stdin.take());
        let (stdout, stderr) = read_both(self.stdout.take(), self.stderr.take()).await?;
        let status = self.wait().await?;
        Ok(Output {
            status,
            stdout,
            stderr,
        })
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        let Some(mut exit) = self.exit.take() else {
            return;
        };
        if exit.status().is_some() {
            return;
        }
        if self.kill_on_drop {
            exit.child_mut().kill_as_dropped();
        }
        orphans::adopt(exit);
    }
}
