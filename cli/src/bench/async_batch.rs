//! The spawner of the `async` scenarios: [`BATCH`] children spawned at once on a
//! current-thread tokio runtime and awaited together, by forkexec::tokio or by tokio::process.
//! One [`AsyncBatch::run`] is one batch; the bench times the whole batch, so its figures are
//! per batch (spawns per second = BATCH / the batch's time).

use std::io;
use std::process::ExitStatus;
use tokio::runtime::{Builder, Runtime};
use tokio::task::JoinSet;

/// Children per batch: the N.
pub const BATCH: usize = 100;

/// A runtime and the Command every child of a batch is spawned from.
pub struct AsyncBatch {
    runtime: Runtime,
    command: AsyncCommand,
}

enum AsyncCommand {
    /// Boxed: a forkexec Command is large (clippy's large_enum_variant), and made once.
    Forkexec(Box<forkexec::tokio::Command>),
    Tokio(tokio::process::Command),
}

impl AsyncBatch {
    /// Batches of forkexec::tokio spawns of `cmd`.
    pub fn forkexec(cmd: forkexec::Command) -> Result<AsyncBatch, String> {
        AsyncBatch::new(AsyncCommand::Forkexec(Box::new(cmd.into())))
    }

    /// Batches of tokio::process spawns of `cmd` (std's Command underneath, as tokio's is).
    pub fn tokio(cmd: std::process::Command) -> Result<AsyncBatch, String> {
        AsyncBatch::new(AsyncCommand::Tokio(cmd.into()))
    }

    fn new(command: AsyncCommand) -> Result<AsyncBatch, String> {
        let runtime = Builder::new_current_thread()
            .enable_io()
            .build()
            .map_err(|e| format!("a current-thread tokio runtime: {e}"))?;
        Ok(AsyncBatch { runtime, command })
    }

    /// Spawns BATCH children, each waited for by a task of its own, and waits for all; an
    /// error if a spawn failed or a child did not exit 0.
    pub fn run(&mut self) -> Result<(), String> {
        let AsyncBatch { runtime, command } = self;
        runtime.block_on(async {
            let mut waits: JoinSet<io::Result<ExitStatus>> = JoinSet::new();
            for _ in 0..BATCH {
                match command {
                    AsyncCommand::Forkexec(cmd) => {
                        let mut child = cmd.spawn().map_err(|e| format!("spawn: {e}"))?;
                        waits.spawn(async move { child.wait().await });
                    }
                    AsyncCommand::Tokio(cmd) => {
                        let mut child = cmd.spawn().map_err(|e| format!("spawn: {e}"))?;
                        waits.spawn(async move { child.wait().await });
                    }
                }
            }
            while let Some(joined) = waits.join_next().await {
                let status = joined
                    .map_err(|e| format!("a wait task: {e}"))?
                    .map_err(|e| format!("wait: {e}"))?;
                if !status.success() {
                    return Err(format!("the target did not exit 0: {status}"));
                }
            }
            Ok(())
        })
    }
}
