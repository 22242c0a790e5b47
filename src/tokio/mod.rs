//! `forkexec::tokio` (feature `tokio`): spawn and wait from async code, on the tokio runtime,
//! with tokio::process's API on forkexec's spawner.
//!
//! ```no_run
//! # async fn f() -> std::io::Result<()> {
//! use forkexec::tokio::Command;
//! use forkexec::Stdio;
//!
//! let out = Command::new("echo").arg("hello").output().await?;
//! assert_eq!(out.stdout, b"hello\n");
//!
//! let mut child = Command::new("sleep").arg("10").kill_on_drop(true).spawn()?;
//! let killer = child.kill_handle()?;                  // from any task or thread
//! tokio::spawn(async move { killer.start_kill() });
//! let status = child.wait().await?;                   // sleeps on the pidfd's readiness
//! # Ok(()) }
//! ```
//!
//! - [`Command`]: tokio::process::Command's methods over a [`forkexec::Command`](crate::Command),
//!   which it derefs to (every forkexec attribute: `setsid`, `uid`, namespaces, fd maps...);
//!   `spawn`, `async fn status`, `async fn output`, `kill_on_drop`.
//! - [`Child`]: `id`, `pidfd`, `async fn wait` (cancel-safe), `try_wait`, `start_kill`,
//!   `async fn kill`, `async fn wait_with_output`, public `stdin`/`stdout`/`stderr`
//!   ([`ChildStdin`], [`ChildStdout`], [`ChildStderr`]: tokio's `AsyncWrite`/`AsyncRead`, and
//!   back to an fd for another child); [`KillHandle`] to signal it while it is waited for.
//!
//! # Switching from tokio::process
//!
//! Change the imports: `use forkexec::tokio::Command;` and `use forkexec::Stdio;` (forkexec's
//! Command takes its own `Stdio`, which has `piped()`, `null()`, `inherit()` and converts from
//! files, fds and pipe ends, not from `std::process::Stdio`). The method names, the `Child`'s
//! fields and methods and their cancel-safety are tokio's; `Child::id` returns `Option<u32>` as
//! tokio's does. An existing `tokio::process::Command` converts with `Command::try_from`, which,
//! like the std conversion, refuses what `as_std()` holds out of sight of its getters (a uid,
//! stdio, argv\[0\], `pre_exec`...) rather than dropping it, and carries `kill_on_drop`;
//! [`Command::from_tokio_lossy`] drops it by name. The spawned child is forkexec's: the
//! README's "Differences from std" apply (the child sees fds 0-2 and the fds you map; an fd
//! given as stdio belongs to the child once spawned), each undone by the call named there.
//!
//! # Same as tokio::process
//!
//! A runtime is needed to spawn (one with IO enabled: `enable_io` or `enable_all`;
//! current-thread and multi-thread alike). `wait` closes stdin first. `wait` and `kill` borrow
//! the Child mutably; a wait dropped at an await point loses nothing. `status` and `output`
//! give std's `ExitStatus` and `Output`; errors are the `io::Error` tokio (and std) return for
//! the same failure. Dropping a Child does not kill it unless `kill_on_drop` was set.
//!
//! # Better than tokio::process
//!
//! | | tokio::process | forkexec::tokio |
//! | --- | --- | --- |
//! | the spawn | std's: posix_spawn, or a full fork (page tables copied: ~23 ms per GiB of the parent here) as soon as `uid`, `gid`, `groups`, `pre_exec` or a `setsid` in it is set | vfork-class with every attribute: the cost does not grow with the parent (see the README's benchmark, scenario `async`) |
//! | the pidfd | opened by pid after the spawn (pidfd_open: one more system call; sound while nothing else reaps the child) | made by the clone itself (CLONE_PIDFD): no extra call, and it names this child whatever other code reaps |
//! | waking a wait | the pidfd's readiness; without pidfd_open, every SIGCHLD wakes every waiting child (tokio-rs/tokio#4016, #6141) | the pidfd's readiness: one wakeup, for its own waiter |
//! | a dropped, running child | pushed on a global orphan queue, reaped at a later SIGCHLD: a process-wide SIGCHLD handler is installed for it (tokio-rs/tokio#2907) | one task on its pidfd reaps it at its exit; no signal handler, no thread |
//! | `kill_on_drop` | kills the child | kills the child's whole process group when it leads one (`setsid`, `process_group(0)`), then the child, as forkexec's sync Child |
//! | the pidfd for users | none (tokio-rs/tokio#6281) | [`Child::pidfd`] |
//! | kill while another task waits | a `select!` in the waiting task | [`Child::kill_handle`]: a cloneable [`KillHandle`] that never reaches a recycled pid |
//! | attributes | std's (`uid`, `gid`, `process_group`, `arg0`, `pre_exec`) | every forkexec attribute, through `Deref` |
//! | errors naming the step | no | `Child::try_from(cmd.as_forkexec_mut().spawn()?)`: the sync spawn's [`forkexec::Error`](crate::Error) (`failed to setgid(4242) for "id": ...`), then the async Child |
//!
//! # Waiting
//!
//! [`Child::wait`] first reaps without blocking (waitid with WNOHANG, on the pidfd); if the
//! child still runs, the pidfd (which the kernel makes readable when the process exits) is
//! registered with the runtime's reactor, and the wait sleeps until it is readable, then reaps.
//! No SIGCHLD handler is installed and no thread is started.
//!
//! ## Kernels without a pidfd that polls
//!
//! Before Linux 5.3 (RHEL 7's 3.10, RHEL 8's 4.18), or where a seccomp filter refuses
//! CLONE_PIDFD and pidfd_open, the child has no pidfd the reactor can watch (see the README's
//! "Where it runs"; [`Child::pidfd`] says why). There a wait listens to SIGCHLD through tokio's
//! signal driver (`tokio::signal::unix::signal(SignalKind::child())`) and reaps by pid without
//! blocking at each one. That is what tokio::process does on every kernel without pidfd_open,
//! so on such kernels forkexec::tokio is never worse than it; it was chosen over the
//! alternative the sync API uses for `wait_timeout` (a small thread per waited child, blocked
//! in waitid with WNOWAIT), because a thousand waiting children would mean a thousand threads
//! (and RLIMIT_NPROC counts them), while the signal driver is one handler, installed once,
//! chained with any other by tokio's signal-hook-registry. Its costs: the handler is
//! process-wide and stays installed, and each SIGCHLD wakes every waiting child's task for one
//! non-blocking waitid each. Reaping by pid is race-free while the child is unreaped (the
//! `Child` reaps it itself); code that reaps children it does not own (`waitpid(-1)`, SIGCHLD
//! set to SIG_IGN) breaks it, as it breaks std's and tokio's.
//!
//! # A dropped Child
//!
//! A Child dropped before it was reaped is never left a zombie. If it has exited, it is reaped
//! at the drop; otherwise a task spawned on the current runtime waits for its exit (on its
//! pidfd, or SIGCHLD as above) and reaps it. With `kill_on_drop` it is sent SIGKILL first (its
//! whole group first when it leads one), without waiting. Dropped outside a runtime, or still
//! running when the runtime shuts down, it is listed, and the next `forkexec::tokio` spawn reaps
//! those that have exited (tokio's orphan queue does the same).

mod child;
mod command;
mod exit;
mod from_tokio;
mod kill_handle;
mod orphans;
mod pipes;

pub use child::Child;
pub use command::Command;
pub use kill_handle::KillHandle;
pub use pipes::{ChildStderr, ChildStdin, ChildStdout};
