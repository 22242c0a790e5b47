//! What the model asks of the filesystem, as a trait, and the host implementation.
//!
//! The model never changes anything: it looks paths up, reads bytes, and asks whether a file is
//! open for writing somewhere. Keeping that behind [`FileSystem`] lets the plan be evaluated
//! against a made-up filesystem in tests, and keeps every syscall in one place.

use super::binfmt::misc::{read_handlers, MiscHandler};
use super::writers::WriterScan;
use crate::errno::Errno;
use rustix::fs::{FileType, Mode, OFlags, StatVfsMountFlags};
use std::cell::OnceCell;
use std::ffi::OsStr;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// The kind of file a path ends at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// A regular file.
    Regular,
    /// A directory.
    Directory,
    /// A character device.
    CharDevice,
    /// A block device.
    BlockDevice,
    /// A FIFO.
    Fifo,
    /// A socket.
    Socket,
    /// Anything else.
    Other,
}

impl FileKind {
    /// A name for people ("a directory").
    pub fn describe(self) -> &'static str {
        match self {
            FileKind::Regular => "a regular file",
            FileKind::Directory => "a directory",
            FileKind::CharDevice => "a character device",
            FileKind::BlockDevice => "a block device",
            FileKind::Fifo => "a FIFO",
            FileKind::Socket => "a socket",
            FileKind::Other => "not a regular file",
        }
    }
}

/// What a lookup found: the facts execve's checks use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileFacts {
    /// Device of the file system.
    pub dev: u64,
    /// Inode number.
    pub ino: u64,
    /// The kind of file.
    pub kind: FileKind,
    /// Permission bits, with setuid/setgid/sticky (`st_mode & 07777`).
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Size in bytes.
    pub size: u64,
    /// The mount forbids exec (`noexec`).
    pub noexec: bool,
    /// The mount ignores setuid/setgid bits (`nosuid`).
    pub nosuid: bool,
}

/// The filesystem as the model sees it.
pub trait FileSystem {
    /// Walks `path` the way open_exec does (following symlinks; relative paths from the
    /// caller's cwd) and returns the facts, or the errno of the walk (ENOENT, ENOTDIR,
    /// ENAMETOOLONG, ELOOP, EACCES for a directory without search permission).
    fn lookup(&self, path: &[u8]) -> Result<FileFacts, Errno>;
    /// Reads up to `len` bytes at `offset` from the file at `path`; fewer at the end of file.
    fn read_at(&self, path: &[u8], offset: u64, len: usize) -> Result<Vec<u8>, Errno>;
    /// Whether any process has the file open for writing (exec gives ETXTBSY then).
    fn open_for_writing(&self, dev: u64, ino: u64) -> bool;
    /// The registered binfmt_misc handlers, in the order the kernel tries them.
    fn binfmt_misc(&self) -> Vec<MiscHandler>;
    /// `vm.mmap_min_addr`: the lowest address a process without CAP_SYS_RAWIO may map.
    fn mmap_min_addr(&self) -> u64;
    /// How many processes' open files could not be inspected for writers (so an ETXTBSY
    /// caused by them cannot be predicted). 0 when no inspection was needed.
    fn uninspected_processes(&self) -> usize {
        0
    }
}

/// The real filesystem, relative to a working directory.
#[derive(Debug)]
pub struct HostFileSystem {
    cwd: Option<OwnedFd>,
    misc_dir: PathBuf,
    writers: OnceCell<WriterScan>,
}

impl HostFileSystem {
    /// Relative paths resolve from `cwd`, or from the process's cwd when `None`.
    pub fn new(cwd: Option<&Path>) -> Result<Self, Errno> {
        let cwd = match cwd {
            None => None,
            Some(dir) => Some(
                rustix::fs::open(
                    dir,
                    OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
                    Mode::empty(),
                )
                .map_err(|e| Errno(e.raw_os_error()))?,
            ),
        };
        Ok(HostFileSystem {
            cwd,
            misc_dir: PathBuf::from("/proc/sys/fs/binfmt_misc"),
            writers: OnceCell::new(),
        })
    }

    fn open(&self, path: &[u8], flags: OFlags) -> Result<OwnedFd, Errno> {
        let p = OsStr::from_bytes(path);
        let r = match &self.cwd {
            Some(fd) => rustix::fs::openat(fd.as_fd(), p, flags, Mode::empty()),
            None => rustix::fs::openat(rustix::fs::CWD, p, flags, Mode::empty()),
        };
        r.map_err(|e| Errno(e.raw_os_error()))
    }
}

fn kind_of(ft: FileType) -> FileKind {
    match ft {
        FileType::RegularFile => FileKind::Regular,
        FileType::Directory => FileKind::Directory,
        FileType::CharacterDevice => FileKind::CharDevice,
        FileType::BlockDevice => FileKind::BlockDevice,
        FileType::Fifo => FileKind::Fifo,
        FileType::Socket => FileKind::Socket,
        _ => FileKind::Other,
    }
}

impl FileSystem for HostFileSystem {
    fn lookup(&self, path: &[u8]) -> Result<FileFacts, Errno> {
        // O_PATH walks exactly like exec's open but opens nothing: no FIFO blocks, no device
        // is touched, no read permission is needed.
        let fd = self.open(path, OFlags::PATH | OFlags::CLOEXEC)?;
        let st = rustix::fs::fstat(&fd).map_err(|e| Errno(e.raw_os_error()))?;
        let flags = rustix::fs::fstatvfs(&fd)
            .map(|v| v.f_flag)
            .unwrap_or(StatVfsMountFlags::empty());
        Ok(FileFacts {
            dev: st.st_dev,
            ino: st.st_ino,
            kind: kind_of(FileType::from_raw_mode(st.st_mode)),
            mode: st.st_mode & 0o7777,
            uid: st.st_uid,
            gid: st.st_gid,
            size: st.st_size as u64,
            noexec: flags.contains(StatVfsMountFlags::NOEXEC),
            nosuid: flags.contains(StatVfsMountFlags::NOSUID),
        })
    }

    fn read_at(&self, path: &[u8], offset: u64, len: usize) -> Result<Vec<u8>, Errno> {
        let fd = self.open(
            path,
            OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC,
        )?;
        let mut buf = vec![0u8; len];
        let mut got = 0;
        while got < len {
            match rustix::io::pread(&fd, &mut buf[got..], offset.saturating_add(got as u64)) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(Errno(e.raw_os_error())),
            }
        }
        buf.truncate(got);
        Ok(buf)
    }

    fn open_for_writing(&self, dev: u64, ino: u64) -> bool {
        self.writers.get_or_init(WriterScan::scan).has(dev, ino)
    }

    fn binfmt_misc(&self) -> Vec<MiscHandler> {
        read_handlers(&self.misc_dir)
    }

    fn uninspected_processes(&self) -> usize {
        self.writers.get().map_or(0, |w| w.unreadable)
    }

    fn mmap_min_addr(&self) -> u64 {
        std::fs::read_to_string("/proc/sys/vm/mmap_min_addr")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(65536)
    }
}

/// A made-up filesystem for asking the model about files that do not exist: the test double
/// beside [`HostFileSystem`], used by the model's unit tests, the fuzz targets and anyone who
/// wants a prediction for a hypothetical system.
///
/// Paths are taken literally (no symlinks, no `..`); relative paths and `.` are looked up as
/// given (the cwd is `.`, a directory). Every proper prefix of a file's path is a directory
/// (mode 0755, root's), so `/bin/a` makes `/bin` and `/` exist; a file used as a directory
/// gives ENOTDIR. The first file added has inode 1, the next 2, and so on.
#[derive(Debug, Default)]
pub struct MemoryFileSystem {
    files: std::collections::HashMap<Vec<u8>, (FileFacts, Vec<u8>)>,
    next_ino: u64,
    misc: Vec<MiscHandler>,
    busy: Vec<u64>,
    largest_read: std::cell::Cell<usize>,
}

impl MemoryFileSystem {
    /// An empty filesystem (only `/` and `.`).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a regular file owned by `uid` (group `uid`) with permission bits `mode` and
    /// content `bytes`; returns its inode number.
    pub fn add(&mut self, path: &[u8], mode: u32, uid: u32, bytes: &[u8]) -> u64 {
        self.next_ino += 1;
        let facts = FileFacts {
            dev: 1,
            ino: self.next_ino,
            kind: FileKind::Regular,
            mode,
            uid,
            gid: uid,
            size: bytes.len() as u64,
            noexec: false,
            nosuid: false,
        };
        self.insert(path, facts, bytes)
    }

    /// Adds a file with exactly these facts (kind, owner, mount flags) and content; returns
    /// its inode number.
    pub fn insert(&mut self, path: &[u8], facts: FileFacts, bytes: &[u8]) -> u64 {
        let ino = facts.ino;
        self.files.insert(path.to_vec(), (facts, bytes.to_vec()));
        ino
    }

    /// Marks the file with inode `ino` as open for writing by some process (exec gives
    /// ETXTBSY).
    pub fn set_open_for_writing(&mut self, ino: u64) {
        self.busy.push(ino);
    }

    /// The registered binfmt_misc handlers, in the order the kernel tries them.
    pub fn set_binfmt_misc(&mut self, handlers: Vec<MiscHandler>) {
        self.misc = handlers;
    }

    /// The largest `len` any [`FileSystem::read_at`] call asked for: the kernel never reads
    /// more than 64 KiB of a file at once during execve, so neither should the model.
    pub fn largest_read(&self) -> usize {
        self.largest_read.get()
    }

    fn directory() -> FileFacts {
        FileFacts {
            dev: 1,
            ino: 0,
            kind: FileKind::Directory,
            mode: 0o755,
            uid: 0,
            gid: 0,
            size: 0,
            noexec: false,
            nosuid: false,
        }
    }
}

impl FileSystem for MemoryFileSystem {
    fn lookup(&self, path: &[u8]) -> Result<FileFacts, Errno> {
        if path.is_empty() {
            return Err(Errno(libc::ENOENT));
        }
        if let Some((f, _)) = self.files.get(path) {
            return Ok(f.clone());
        }
        if path == b"." || path == b"/" {
            return Ok(Self::directory());
        }
        // A file on the way makes the rest unreachable; a prefix of a file's path is a
        // directory.
        for (i, _) in path.iter().enumerate().filter(|&(_, &c)| c == b'/') {
            if let Some((f, _)) = self.files.get(&path[..i]) {
                if f.kind != FileKind::Directory {
                    return Err(Errno(libc::ENOTDIR));
                }
            }
        }
        let dir = path.strip_suffix(b"/").unwrap_or(path);
        let is_prefix = self
            .files
            .keys()
            .any(|k| k.len() > dir.len() && k.starts_with(dir) && k[dir.len()] == b'/');
        if is_prefix {
            return Ok(Self::directory());
        }
        Err(Errno(libc::ENOENT))
    }

    fn read_at(&self, path: &[u8], offset: u64, len: usize) -> Result<Vec<u8>, Errno> {
        self.largest_read.set(self.largest_read.get().max(len));
        let (_, b) = self.files.get(path).ok_or(Errno(libc::ENOENT))?;
        let start = offset.min(b.len() as u64) as usize;
        let end = start.saturating_add(len).min(b.len());
        Ok(b[start..end].to_vec())
    }

    fn open_for_writing(&self, _dev: u64, ino: u64) -> bool {
        self.busy.contains(&ino)
    }

    fn binfmt_misc(&self) -> Vec<MiscHandler> {
        self.misc.clone()
    }

    fn mmap_min_addr(&self) -> u64 {
        65536
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_filesystem_walks_like_a_tree() {
        let mut fs = MemoryFileSystem::new();
        assert_eq!(fs.add(b"/bin/a", 0o755, 0, b"x"), 1);
        assert_eq!(fs.add(b"/x/b", 0o644, 1000, b"yy"), 2);
        assert_eq!(fs.lookup(b"/bin/a").map(|f| f.size), Ok(1));
        assert_eq!(fs.lookup(b"/bin").map(|f| f.kind), Ok(FileKind::Directory));
        assert_eq!(fs.lookup(b"/").map(|f| f.kind), Ok(FileKind::Directory));
        assert_eq!(fs.lookup(b"/bi"), Err(Errno(libc::ENOENT)));
        assert_eq!(fs.lookup(b"/bin/a/x"), Err(Errno(libc::ENOTDIR)));
        assert_eq!(fs.lookup(b""), Err(Errno(libc::ENOENT)));
        assert_eq!(fs.read_at(b"/x/b", 1, 10), Ok(b"y".to_vec()));
        assert_eq!(fs.largest_read(), 10);
        fs.set_open_for_writing(2);
        assert!(fs.open_for_writing(1, 2) && !fs.open_for_writing(1, 1));
    }
}
