//! Control group: start the child inside a cgroup v2 directory, atomically at clone
//! (clone3 with CLONE_INTO_CGROUP, Linux 5.7), so it never runs a single instruction elsewhere.

use super::Command;
use std::path::Path;

impl Command {
    /// Start the child in the cgroup v2 directory `dir` (Go: UseCgroupFD + CgroupFD; systemd-run
    /// --slice in spirit). The directory is opened at spawn; the kernel refuses (EBUSY) a cgroup
    /// with controllers enabled for its children, and needs write access to cgroup.procs.
    pub fn cgroup(&mut self, dir: impl AsRef<Path>) -> &mut Self {
        self.spec.attrs.cgroup = Some(dir.as_ref().to_path_buf());
        self
    }
}
