//! Which files are open for writing, from /proc/*/fd: the cause of ETXTBSY.
//!
//! The kernel refuses to exec a file whose inode has writers. We find writers without opening
//! anything: each /proc/PID/fd/N link's own permission bits mirror how the fd was opened
//! (S_IWUSR when it is writable), so one lstat per fd finds the writable ones and only those
//! are followed to their inode. memfds are left out: their writable fds are not counted as
//! writers by the kernel (observed: a memfd open read-write still execs).

use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;

/// The result of one scan of /proc.
#[derive(Debug, Default)]
pub struct WriterScan {
    writable: HashSet<(u64, u64)>,
    /// Processes whose fd table could not be read (other users' processes when not root).
    pub unreadable: usize,
}

impl WriterScan {
    /// Scans every readable /proc/PID/fd.
    pub fn scan() -> Self {
        let mut out = WriterScan::default();
        let Ok(procs) = std::fs::read_dir("/proc") else {
            return out;
        };
        for p in procs.flatten() {
            let name = p.file_name();
            if !name.as_encoded_bytes().iter().all(u8::is_ascii_digit) {
                continue;
            }
            let Ok(fds) = std::fs::read_dir(p.path().join("fd")) else {
                out.unreadable += 1;
                continue;
            };
            for fd in fds.flatten() {
                let link = fd.path();
                let Ok(lm) = std::fs::symlink_metadata(&link) else {
                    continue;
                };
                if lm.mode() & 0o200 == 0 {
                    continue;
                }
                let is_memfd = std::fs::read_link(&link)
                    .map(|t| t.as_os_str().as_encoded_bytes().starts_with(b"/memfd:"))
                    .unwrap_or(false);
                if is_memfd {
                    continue;
                }
                if let Ok(m) = std::fs::metadata(&link) {
                    if m.file_type().is_file() {
                        out.writable.insert((m.dev(), m.ino()));
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
