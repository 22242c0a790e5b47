//! The parent's ends of a child's stdio pipes, for the runtime: [`ChildStdin`] (tokio's
//! `AsyncWrite`), [`ChildStdout`] and [`ChildStderr`] (`AsyncRead`), each a non-blocking pipe
//! registered with the reactor (tokio's `net::unix::pipe`).
//!
//! Any of them turns back into a blocking fd ([`ChildStdout::into_owned_fd`], or
//! `forkexec::Stdio::try_from`) to become another child's stdin or stdout: the pipeline
//! `a | b` is two spawns, and no byte passes through this process.

use crate::Stdio;
use std::future::Future;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::net::unix::pipe;

/// What every pipe end offers: made from the sync Child's end, an fd for the reactor, and
/// back to a blocking fd for another child.
macro_rules! pipe_end {
    ($(#[$doc:meta])* $name:ident, $pipe:ty, $stream:literal) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name {
            pipe: $pipe,
        }

        impl $name {
            /// Takes the parent's end from the spawn: non-blocking, registered with the reactor.
            pub(crate) fn new(fd: OwnedFd) -> io::Result<$name> {
                // Only our end: the child's end of the pipe is another open file and stays
                // blocking. One ioctl instead of fcntl's get-then-set.
                rustix::io::ioctl_fionbio(&fd, true)?;
                Ok($name {
                    pipe: <$pipe>::from_owned_fd_unchecked(fd)?,
                })
            }

            #[doc = concat!("The pipe as a blocking fd, out of the reactor: to give the child's ", $stream, " to another child (`Command::stdin(fd)`), or to use it without the runtime.")]
            pub fn into_owned_fd(self) -> io::Result<OwnedFd> {
                self.pipe.into_blocking_fd()
            }
        }

        impl TryFrom<$name> for Stdio {
            type Error = io::Error;

            #[doc = concat!("The child's ", $stream, " pipe, as another child's stdio (blocking again, out of the reactor).")]
            fn try_from(end: $name) -> io::Result<Stdio> {
                end.into_owned_fd().map(Stdio::from)
            }
        }

        impl AsFd for $name {
            fn as_fd(&self) -> BorrowedFd<'_> {
                self.pipe.as_fd()
            }
        }

        impl AsRawFd for $name {
            fn as_raw_fd(&self) -> RawFd {
                self.pipe.as_raw_fd()
            }
        }
    };
}

pipe_end!(
    /// The parent's end of the child's stdin: tokio's `AsyncWrite`. Dropping it (or
    /// [`Child::wait`](super::Child::wait), which drops it first) closes the pipe, so the child
    /// reads EOF.
    ChildStdin,
    pipe::Sender,
    "stdin"
);
pipe_end!(
    /// The parent's end of the child's stdout: tokio's `AsyncRead`.
    ChildStdout,
    pipe::Receiver,
    "stdout"
);
pipe_end!(
    /// The parent's end of the child's stderr: tokio's `AsyncRead`.
    ChildStderr,
    pipe::Receiver,
    "stderr"
);

impl AsyncWrite for ChildStdin {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().pipe).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().pipe).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.pipe.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().pipe).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().pipe).poll_shutdown(cx)
    }
}

/// The readers: each forwards to its pipe.
macro_rules! async_read {
    ($($name:ident),*) => {$(
        impl AsyncRead for $name {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut ReadBuf<'_>,
            ) -> Poll<io::Result<()>> {
                Pin::new(&mut self.get_mut().pipe).poll_read(cx, buf)
            }
        }
    )*};
}

async_read!(ChildStdout, ChildStderr);

/// Reads stdout and stderr to their ends at the same time (neither pipe can fill and stall the
/// child while the other is read); an absent stream reads as empty.
pub(crate) async fn read_both(
    stdout: Option<ChildStdout>,
    stderr: Option<ChildStderr>,
) -> io::Result<(Vec<u8>, Vec<u8>)> {
    let mut out = std::pin::pin!(read_to_end(stdout));
    let mut err = std::pin::pin!(read_to_end(stderr));
    let (mut out_done, mut err_done) = (None, None);
    std::future::poll_fn(|cx| {
        if out_done.is_none() {
            if let Poll::Ready(r) = out.as_mut().poll(cx) {
                out_done = Some(r);
            }
        }
        if err_done.is_none() {
            if let Poll::Ready(r) = err.as_mut().poll(cx) {
                err_done = Some(r);
            }
        }
        match (&out_done, &err_done) {
            (Some(_), Some(_)) => Poll::Ready(()),
            _ => Poll::Pending,
        }
    })
    .await;
    match (out_done, err_done) {
        (Some(out), Some(err)) => Ok((out?, err?)),
        _ => unreachable!("poll_fn returned when both were done"),
    }
}

async fn read_to_end(stream: Option<impl AsyncRead + Unpin>) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    if let Some(mut stream) = stream {
        stream.read_to_end(&mut bytes).await?;
    }
    Ok(bytes)
}
