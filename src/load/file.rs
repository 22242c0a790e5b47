//! Opening the files an exec runs (the program, a `#!` interpreter, the PT_INTERP file) with
//! the checks the kernel's `open_exec` makes, in its order and with its errnos.
//!
//! The kernel never opens a file it will not run: its path walk ends in `may_open`, which
//! refuses a directory, FIFO, socket or device (EACCES) before the file's own `open` runs. The
//! loader does the same with an `O_PATH` handle, which walks the path and names the inode
//! without opening it: a FIFO cannot block, a device driver never sees an open. The type, the
//! execute permission and a noexec mount are judged on that handle (all EACCES, in that
//! order); only then is the file opened for reading (`O_NONBLOCK | O_NOCTTY`, so that even a
//! file swapped for a FIFO in between cannot block; the identity of the two is compared).
//!
//! A file open for writing anywhere gives ETXTBSY. The kernel checks that with the inode's
//! writer count (`deny_write_access`); a process sees the same count by asking for a read
//! lease, which is refused (EAGAIN) exactly when the file is open for writing, and released at
//! once. Where leases are unavailable (not the file's owner without CAP_LEASE, a filesystem
//! without them) the check is skipped.
//!
//! One difference cannot be helped: the kernel maps a program it may execute without reading
//! it, while a userland loader must read it. A program this user may execute but not read
//! (mode 0111, "execute-only") runs under execve and fails here with EACCES, with a reason
//! that says so.

use super::error::LoadError;
use crate::model::Credentials;
use rustix::fs::{FileType, Mode, OFlags, Stat};
use std::borrow::Cow;
use std::fs::File;
use std::io::Read;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// The largest file the loader reads into memory (1 GiB): refused with EFBIG beyond. The kernel
/// maps files instead of reading them, but a userland loader fed from memory copies them.
pub const MAX_FILE_BYTES: u64 = 1 << 30;

/// An opened executable file: the open file and its bytes.
#[derive(Debug)]
pub struct ExecFile {
    /// The open file (kept for mapping its pages).
    pub file: File,
    /// Its contents.
    pub bytes: Vec<u8>,
}

/// A refusal of the file at `raw`: `what` (e.g. "the program") `"path"` `why`.
fn refuse(errno: i32, what: &str, raw: &[u8], why: &str) -> LoadError {
    LoadError::new(errno, format!("{what} \"{}\" {why}", raw.escape_ascii()))
}

/// A failed system call on the file; the errno says why (the message does not repeat it).
fn failed(e: rustix::io::Errno, doing: &str, what: &str, raw: &[u8]) -> LoadError {
    LoadError::new(
        e.raw_os_error(),
        format!("cannot {doing} {what} \"{}\"", raw.escape_ascii()),
    )
}

/// What a file that is not a regular file is, for the EACCES message.
fn not_regular(kind: FileType) -> Option<&'static str> {
    match kind {
        FileType::RegularFile => None,
        FileType::Directory => Some("is a directory"),
        FileType::Fifo => Some("is a FIFO (named pipe)"),
        FileType::Socket => Some("is a socket"),
        FileType::CharacterDevice => Some("is a character device"),
        FileType::BlockDevice => Some("is a block device"),
        _ => Some("is not a regular file"),
    }
}

/// Whether some process has `file` open for writing, by a read lease (see the module docs):
/// `fcntl(F_SETLEASE, F_RDLCK)` fails with EAGAIN then; a lease obtained is dropped at once.
fn open_for_writing(file: &File) -> bool {
    use std::os::fd::AsRawFd;
    let fd = file.as_raw_fd();
    match crate::sys::raw::fcntl(fd, libc::F_SETLEASE, libc::F_RDLCK as usize) {
        Err(libc::EAGAIN) => true,
        Ok(_) => {
            let _ = crate::sys::raw::fcntl(fd, libc::F_SETLEASE, libc::F_UNLCK as usize);
            false
        }
        Err(_) => false,
    }
}

/// Who runs the program and where its relative paths start: this process (the default), or a
/// child that will run with other ids in another working directory, whose files the parent
/// opens for it (a spawn through the userland loader).
#[derive(Clone, Debug, Default)]
pub struct Runner {
    /// The ids the program will run with; `None`: this process's.
    pub credentials: Option<Credentials>,
    /// The working directory it will have; `None`: this process's.
    pub dir: Option<PathBuf>,
}

impl Runner {
    /// Where `path` is, seen from this process: a relative path starts in the runner's
    /// directory, as the kernel resolves it in the child after its chdir.
    pub fn locate<'p>(&self, path: &'p Path) -> Cow<'p, Path> {
        match &self.dir {
            Some(dir) if path.is_relative() => Cow::Owned(dir.join(path)),
            _ => Cow::Borrowed(path),
        }
    }
}

/// Whether `who` (`None`: this process) has the permission `bit` (0o4 read, 0o1 execute) on
/// the file `st` (root needs any x bit to execute, checked before).
fn permits(st: &Stat, who: Option<&Credentials>, bit: u32) -> bool {
    let current;
    let who = match who {
        Some(c) => c,
        None => {
            // This process: its groups are looked up only when they decide.
            let euid = rustix::process::geteuid().as_raw();
            if euid == 0 || euid == st.st_uid {
                return euid == 0 || st.st_mode & (bit << 6) != 0;
            }
            current = Credentials::current();
            &current
        }
    };
    let mode = st.st_mode;
    if who.overrides_permissions() {
        true
    } else if who.euid == st.st_uid {
        mode & (bit << 6) != 0
    } else if who.in_group(st.st_gid) {
        mode & (bit << 3) != 0
    } else {
        mode & bit != 0
    }
}

/// Opens `path` for exec and reads it, as `open_exec` would judge it. `what` names the file in
/// messages ("the program", "the interpreter").
pub fn open_exec(path: &Path, what: &str) -> Result<ExecFile, LoadError> {
    open_exec_for(path, what, &Runner::default())
}

/// [`open_exec`] for a program `runner` runs: its ids judge the permissions (the file is read
/// here, so a file they may execute but not read is refused as execute-only), its directory
/// is where a relative `path` starts. Messages name `path` as given.
pub fn open_exec_for(path: &Path, what: &str, runner: &Runner) -> Result<ExecFile, LoadError> {
    let raw = path.as_os_str().as_bytes();
    let path = runner.locate(path);
    let path: &Path = &path;
    let who = runner.credentials.as_ref();
    if raw.is_empty() {
        // PT_INTERP "\0\0" opens the current directory: EACCES; an empty program path: ENOENT.
        let errno = if what == "the program" {
            libc::ENOENT
        } else {
            libc::EACCES
        };
        return Err(LoadError::new(errno, format!("{what} path is empty")));
    }
    let handle = rustix::fs::open(path, OFlags::PATH | OFlags::CLOEXEC, Mode::empty())
        .map_err(|e| failed(e, "find", what, raw))?;
    let st = rustix::fs::fstat(&handle).map_err(|e| failed(e, "stat", what, raw))?;
    if let Some(why) = not_regular(FileType::from_raw_mode(st.st_mode)) {
        return Err(refuse(libc::EACCES, what, raw, why));
    }
    if st.st_mode & 0o111 == 0 {
        return Err(refuse(libc::EACCES, what, raw, "has no execute bit"));
    }
    if !permits(&st, who, 0o1) {
        return Err(refuse(
            libc::EACCES,
            what,
            raw,
            "is not executable by this user",
        ));
    }
    if runner.credentials.is_some() && !permits(&st, who, 0o4) {
        return Err(refuse(
            libc::EACCES,
            what,
            raw,
            &format!(
                "is execute-only for the user the program runs as (mode {:04o}): execve maps \
                 a program without reading it, a userland loader has to read it",
                st.st_mode & 0o7777
            ),
        ));
    }
    if let Ok(fs) = rustix::fs::fstatvfs(&handle) {
        if fs.f_flag.contains(rustix::fs::StatVfsMountFlags::NOEXEC) {
            return Err(refuse(libc::EACCES, what, raw, "is on a noexec mount"));
        }
    }
    let file = open_for_reading(path, &st, what, raw)?;
    drop(handle);
    if open_for_writing(&file) {
        return Err(refuse(libc::ETXTBSY, what, raw, "is open for writing"));
    }
    let size = st.st_size as u64;
    if size > MAX_FILE_BYTES {
        return Err(refuse(
            libc::EFBIG,
            what,
            raw,
            &format!("is {size} bytes; the loader reads at most {MAX_FILE_BYTES}"),
        ));
    }
    // The bytes fstat counted (the kernel reads what is there at its exec, too); a file
    // that shrank since gives fewer.
    let mut bytes = Vec::with_capacity(size as usize);
    (&file).take(size).read_to_end(&mut bytes).map_err(|e| {
        let errno = e.raw_os_error().unwrap_or(libc::EIO);
        LoadError::new(
            errno,
            format!("cannot read {what} \"{}\"", raw.escape_ascii()),
        )
    })?;
    Ok(ExecFile { file, bytes })
}

/// Opens the regular file `path`, already judged through its `O_PATH` handle (`st`), for
/// reading. Non-blocking and without becoming a controlling terminal, should the path have been
/// replaced by a FIFO or a tty since; a different file than the one judged is refused.
fn open_for_reading(path: &Path, st: &Stat, what: &str, raw: &[u8]) -> Result<File, LoadError> {
    let flags = OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NONBLOCK | OFlags::NOCTTY;
    let fd: OwnedFd = rustix::fs::open(path, flags, Mode::empty()).map_err(|e| {
        if e == rustix::io::Errno::ACCESS {
            // The execute check passed: the user may run the file but not read it.
            refuse(
                libc::EACCES,
                what,
                raw,
                &format!(
                    "is execute-only for this user (mode {:04o}): execve maps a program without \
                     reading it, a userland loader has to read it",
                    st.st_mode & 0o7777
                ),
            )
        } else {
            failed(e, "open", what, raw)
        }
    })?;
    let again = rustix::fs::fstat(&fd).map_err(|e| failed(e, "stat", what, raw))?;
    if (again.st_dev, again.st_ino) != (st.st_dev, st.st_ino) {
        return Err(refuse(
            libc::EAGAIN,
            what,
            raw,
            "was replaced by another file while it was being opened",
        ));
    }
    // Left non-blocking: reads of a regular file never block, the flag only guarded the open.
    Ok(File::from(fd))
}
