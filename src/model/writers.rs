//! Which files are open for writing, from /proc/*/fd: the cause of ETXTBSY.
//!
//! The kernel refuses to exec a file whose inode has writers. We find writers without opening
//! anything: each /proc/PID/fd/N link's own permission bits mirror how the fd was opened
//! (S_IWUSR when it is writable), so one lstat per fd finds the writable ones and only those
//! are followed to their inode. memfds are left out: their writable fds are not counted as
//! writers by the kernel (observed: a memfd open read-write still execs).
//!
//! Speed matters (explain answers in a few ms and this is most of it): each fd directory is
//! opened once and its entries are stat'ed relative to it, so the kernel walks one component
//! per call instead of four.

use rustix::fs::{AtFlags, Dir, FileType, Mode, OFlags};
use std::collections::HashSet;
use std::os::fd::{AsFd, OwnedFd};

/// The result of one scan of /proc.
#[derive(Debug, Default)]
pub struct WriterScan {
    writable: HashSet<(u64, u64)>,
    /// Processes whose fd table could not be read (other users' processes when not root).
    pub unreadable: usize,
}

fn open_dir<Fd: AsFd>(at: Fd, name: &std::ffi::CStr) -> Option<OwnedFd> {
    rustix::fs::openat(
        at,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .ok()
}

impl WriterScan {
    /// Scans every readable /proc/PID/fd.
    pub fn scan() -> Self {
        let mut out = WriterScan::default();
        let Some(proc_fd) = open_dir(rustix::fs::CWD, c"/proc") else {
            return out;
        };
        let Ok(procs) = Dir::read_from(&proc_fd) else {
            return out;
        };
        for p in procs.flatten() {
            let name = p.file_name();
            if !name.to_bytes().iter().all(u8::is_ascii_digit) {
                continue;
            }
            let Some(pid_fd) = open_dir(&proc_fd, name) else {
                continue;
            };
            let Some(fd_dir) = open_dir(&pid_fd, c"fd") else {
                out.unreadable += 1;
                continue;
            };
            let Ok(fds) = Dir::read_from(&fd_dir) else {
                out.unreadable += 1;
                continue;
            };
            for fd in fds.flatten() {
                let n = fd.file_name();
                if n.to_bytes().first() == Some(&b'.') {
                    continue;
                }
                let Ok(link) = rustix::fs::statat(&fd_dir, n, AtFlags::SYMLINK_NOFOLLOW) else {
                    continue;
                };
                if link.st_mode & 0o200 == 0 {
                    continue;
                }
                let is_memfd = rustix::fs::readlinkat(&fd_dir, n, Vec::new())
                    .map(|t| t.to_bytes().starts_with(b"/memfd:"))
                    .unwrap_or(false);
                if is_memfd {
                    continue;
                }
                if let Ok(st) = rustix::fs::statat(&fd_dir, n, AtFlags::empty()) {
                    if FileType::from_raw_mode(st.st_mode) == FileType::RegularFile {
                        out.writable.insert((st.st_dev, st.st_ino));
                    }
                }
            }
        }
        out
    }

    /// Whether the inode was found open for writing.
    pub fn has(&self, dev: u64, ino: u64) -> bool {
        self.writable.contains(&(dev, ino))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn a_file_we_hold_open_for_writing_is_found_and_a_read_only_one_is_not() {
        let dir = std::env::temp_dir().join(format!("forkexec-writers-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let w = dir.join("w");
        let r = dir.join("r");
        std::fs::write(&w, b"x").unwrap();
        std::fs::write(&r, b"x").unwrap();
        let hold_w = std::fs::OpenOptions::new().append(true).open(&w).unwrap();
        let hold_r = std::fs::File::open(&r).unwrap();
        let scan = WriterScan::scan();
        let (mw, mr) = (hold_w.metadata().unwrap(), hold_r.metadata().unwrap());
        assert!(scan.has(mw.dev(), mw.ino()));
        assert!(!scan.has(mr.dev(), mr.ino()));
        drop((hold_w, hold_r));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
