//! [`Pty`]: the primary side of a child's pseudo-terminal (`Command::pty`).

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

/// The primary (master) side of the pty a child got as its terminal: what the program writes
/// to its stdout or stderr is read here, what is written here is its input (through the line
/// discipline: echo, Ctrl-C as SIGINT, unless the program set raw mode).
///
/// Once the program and every process holding the replica are gone, Linux answers a read with
/// EIO: [`Read`] turns that into end-of-file, as creack/pty's users and script(1) do.
#[derive(Debug)]
pub struct Pty {
    primary: File,
}

impl Pty {
    pub(crate) fn new(fd: OwnedFd) -> Pty {
        Pty {
            primary: File::from(fd),
        }
    }

    /// Sets the terminal's size (TIOCSWINSZ); the kernel sends SIGWINCH to its foreground
    /// process group, as a terminal emulator's resize does.
    pub fn resize(&self, rows: u16, cols: u16) -> io::Result<()> {
        let size = rustix::termios::Winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        rustix::termios::tcsetwinsize(&self.primary, size).map_err(io::Error::from)
    }

    /// The terminal's size: (rows, cols) (TIOCGWINSZ).
    pub fn size(&self) -> io::Result<(u16, u16)> {
        let w = rustix::termios::tcgetwinsize(&self.primary)?;
        Ok((w.ws_row, w.ws_col))
    }

    /// The primary side as a file (for a reader and a writer on two threads: `try_clone`).
    pub fn into_file(self) -> File {
        self.primary
    }
}

/// Reads what the program wrote; end-of-file (0) once no process holds the replica.
fn read_primary(mut f: &File, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match f.read(buf) {
            Err(e) if e.raw_os_error() == Some(libc::EIO) => return Ok(0),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            r => return r,
        }
    }
}

impl Read for Pty {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        read_primary(&self.primary, buf)
    }
}

impl Read for &Pty {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        read_primary(&self.primary, buf)
    }
}

impl Write for Pty {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.primary.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Write for &Pty {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&self.primary).write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl AsFd for Pty {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.primary.as_fd()
    }
}

impl AsRawFd for Pty {
    fn as_raw_fd(&self) -> RawFd {
        self.primary.as_raw_fd()
    }
}
