//! Opening the files an exec runs: the program (for [`super::exec_file`]) and the
//! interpreter its PT_INTERP names, with the checks `open_exec` makes and its errnos.
//!
//! A relative path resolves against the current directory, as in the kernel. The file must be
//! a regular file (a directory, FIFO or device gives EACCES), have an execute bit (root too
//! needs one), and not live on a noexec mount (EACCES); a file open for writing anywhere gives
//! ETXTBSY. The kernel checks that with the inode's writer count (`deny_write_access`); a
//! process sees the same count by asking for a read lease, which is refused (EAGAIN) exactly
//! when the file is open for writing, and released at once. Where leases are unavailable (not
//! the file's owner without CAP_LEASE, a filesystem without them) the check is skipped.

use super::error::LoadError;
use std::fs::File;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

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

fn io_error(what: &str, path: &[u8], e: &std::io::Error) -> LoadError {
    let errno = match e.raw_os_error() {
        // Reading a directory fails with EISDIR; opening it for exec fails with EACCES.
        Some(libc::EISDIR) => libc::EACCES,
        Some(n) => n,
        None => libc::EIO,
    };
    LoadError::new(errno, format!("{what} \"{}\": {e}", path.escape_ascii()))
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

/// The execute permission check for the caller's effective ids (root needs any x bit, checked
/// before).
fn may_execute(meta: &std::fs::Metadata) -> bool {
    let c = crate::model::Credentials::current();
    let mode = meta.mode();
    if c.overrides_permissions() {
        true
    } else if c.euid == meta.uid() {
        mode & 0o100 != 0
    } else if c.in_group(meta.gid()) {
        mode & 0o010 != 0
    } else {
        mode & 0o001 != 0
    }
}

/// Opens `path` for exec and reads it, as `open_exec` would judge it. `what` names the file in
/// messages ("the program", "the interpreter").
pub fn open_exec(path: &Path, what: &str) -> Result<ExecFile, LoadError> {
    let raw = path.as_os_str().as_bytes();
    if raw.is_empty() {
        // PT_INTERP "\0\0" opens the current directory: EACCES; an empty program path: ENOENT.
        let errno = if what == "the program" {
            libc::ENOENT
        } else {
            libc::EACCES
        };
        return Err(LoadError::new(errno, format!("{what} path is empty")));
    }
    let file = File::open(path).map_err(|e| io_error(&format!("cannot open {what}"), raw, &e))?;
    let meta = file
        .metadata()
        .map_err(|e| io_error(&format!("cannot stat {what}"), raw, &e))?;
    if !meta.file_type().is_file() {
        return Err(LoadError::new(
            libc::EACCES,
            format!("{what} \"{}\" is not a regular file", raw.escape_ascii()),
        ));
    }
    if meta.permissions().mode() & 0o111 == 0 {
        return Err(LoadError::new(
            libc::EACCES,
            format!("{what} \"{}\" has no execute bit", raw.escape_ascii()),
        ));
    }
    if !may_execute(&meta) {
        return Err(LoadError::new(
            libc::EACCES,
            format!(
                "{what} \"{}\" is not executable by this user",
                raw.escape_ascii()
            ),
        ));
    }
    if open_for_writing(&file) {
        return Err(LoadError::new(
            libc::ETXTBSY,
            format!("{what} \"{}\" is open for writing", raw.escape_ascii()),
        ));
    }
    if let Ok(fs) = rustix::fs::fstatvfs(&file) {
        if fs.f_flag.contains(rustix::fs::StatVfsMountFlags::NOEXEC) {
            return Err(LoadError::new(
                libc::EACCES,
                format!("{what} \"{}\" is on a noexec mount", raw.escape_ascii()),
            ));
        }
    }
    if meta.size() > MAX_FILE_BYTES {
        return Err(LoadError::new(
            libc::EFBIG,
            format!(
                "{what} \"{}\" is {} bytes; the loader reads at most {MAX_FILE_BYTES}",
                raw.escape_ascii(),
                meta.size()
            ),
        ));
    }
    let mut bytes = Vec::with_capacity(meta.size() as usize);
    (&file)
        .take(MAX_FILE_BYTES)
        .read_to_end(&mut bytes)
        .map_err(|e| io_error(&format!("cannot read {what}"), raw, &e))?;
    Ok(ExecFile { file, bytes })
}
