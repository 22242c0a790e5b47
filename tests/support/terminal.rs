//! Pseudo-terminals for the session and terminal tests.

use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;

/// A new pseudo-terminal: (master, slave), neither our controlling terminal.
pub fn open_pty() -> (std::os::fd::OwnedFd, std::fs::File) {
    use rustix::pty::{grantpt, openpt, ptsname, unlockpt, OpenptFlags};
    let master =
        openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC).expect("openpt");
    grantpt(&master).expect("grantpt");
    unlockpt(&master).expect("unlockpt");
    let name = ptsname(&master, Vec::new()).expect("ptsname");
    let slave = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOCTTY)
        .open(std::ffi::OsStr::from_bytes(name.as_bytes()))
        .expect("open the pty slave");
    (master, slave)
}
