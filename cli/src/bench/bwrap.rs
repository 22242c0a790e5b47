//! bubblewrap as a spawn method: `bwrap` builds the sandbox scenario's sandbox from its command
//! line, then runs the program and waits for it. Debian's `bubblewrap` package; where it is
//! missing the bench says so and the sandbox's bwrap figures are not measured.
//!
//! bwrap itself is started the cheapest way this bench knows, a plain forkexec spawn (vfork
//! class: flat in the parent's size), so its figure is bubblewrap's own work plus the least
//! a launcher can add.

use super::scenarios::SandboxSteps;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

/// The fd bwrap reads the seccomp program from (`--seccomp 3`).
const SECCOMP_FD: i32 = 3;

/// bwrap's path, found once in PATH (a search at every spawn would be counted as bwrap's).
pub fn locate() -> Result<PathBuf, String> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("bwrap"))
        .find(|p| p.is_file() && rustix::fs::access(p, rustix::fs::Access::EXEC_OK).is_ok())
        .ok_or_else(|| {
            "bubblewrap is not installed (no bwrap in PATH; Debian and Ubuntu: apt-get install \
             bubblewrap)"
                .into()
        })
}

/// bwrap, ready to run the sandbox around `program` again and again.
pub struct Bubblewrap {
    command: forkexec::Command,
    /// The seccomp program in a memfd; bwrap's fd 3 shares its file offset, so it is rewound
    /// before each spawn (bwrap reads it to the end).
    filter: OwnedFd,
}

impl Bubblewrap {
    pub fn new(steps: &SandboxSteps, program: &Path) -> Result<Bubblewrap, String> {
        let bwrap = locate()?;
        let err = |what: &str, e: rustix::io::Errno| format!("bwrap's seccomp fd: {what}: {e}");
        let filter =
            rustix::fs::memfd_create("forkexec-bench-seccomp", rustix::fs::MemfdFlags::CLOEXEC)
                .map_err(|e| err("memfd_create", e))?;
        rustix::io::write(&filter, &steps.filter_bytes()).map_err(|e| err("write", e))?;
        let for_bwrap = filter.try_clone().map_err(|e| format!("dup: {e}"))?;
        let dir = steps.dir.as_os_str();
        let mut command = forkexec::Command::new(bwrap);
        command
            // The same namespaces (bwrap always makes a mount namespace), the program as pid 1.
            .args([
                "--unshare-user",
                "--unshare-pid",
                "--unshare-ipc",
                "--unshare-uts",
            ])
            .arg("--as-pid-1")
            // Root inside, the caller outside: forkexec's 0:uid:1 maps.
            .args(["--uid", "0", "--gid", "0"])
            // A new root must hold the program: its directory, read-only.
            .arg("--ro-bind")
            .args([dir, dir])
            .args(["--proc", "/proc"])
            // Nothing writable, as under forkexec's read-only Landlock ruleset.
            .args(["--remount-ro", "/"])
            // no_new_privs: bwrap always sets it. The filter, installed last as forkexec does.
            .args(["--seccomp", &SECCOMP_FD.to_string()])
            .arg(program)
            .fd(SECCOMP_FD, for_bwrap)
            .retain_fds(true);
        Ok(Bubblewrap { command, filter })
    }

    /// One spawn of bwrap, which runs the program in its sandbox, and the wait.
    pub fn spawn_and_wait(&mut self) -> Result<(), String> {
        rustix::fs::seek(&self.filter, rustix::fs::SeekFrom::Start(0))
            .map_err(|e| format!("rewind bwrap's seccomp fd: {e}"))?;
        let status = self.command.status().map_err(|e| e.to_string())?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("bwrap: the target did not exit 0 ({status})"))
        }
    }
}
