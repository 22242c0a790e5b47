//! Registering an fd with tokio's reactor (feature `tokio`): `AsyncFd::register_with_interest`
//! is `unsafe` since tokio 1.54, because the reactor knows the fd by its number only and the
//! caller must keep that number open and naming the same file while it is registered.

use std::io;
use std::os::fd::OwnedFd;
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

/// `fd` registered with the current runtime's reactor for readability, owned by the
/// registration. Panics outside a runtime with IO enabled, as tokio's constructors do.
pub fn register_readable(fd: OwnedFd) -> io::Result<AsyncFd<OwnedFd>> {
    // SAFETY: the AsyncFd owns the OwnedFd, which stays open until the AsyncFd drops it (after
    // deregistering it), and an OwnedFd's `as_raw_fd` always returns the same number.
    unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }.map_err(io::Error::from)
}
