//! Credentials and root directory: setgroups, setgid, setuid (in that order: each later call
//! needs the privilege the earlier ones keep) and chroot.
//!
//! std::process falls back to a full fork for any of these; here they stay on the vfork-class
//! path. The child issues the raw syscalls, which change only the child: glibc's wrappers
//! would signal every thread of the (shared-memory) parent to change theirs too.

use super::Command;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

impl Command {
    /// The child's user id: setuid(uid), after setgroups and setgid (std: `CommandExt::uid`;
    /// Go: Credential.Uid; setpriv --reuid). Unless [`groups`](Self::groups) or
    /// [`no_setgroups`](Self::no_setgroups) say otherwise, a root parent also drops the
    /// supplementary groups (setgroups with an empty list), as std and Go do.
    pub fn uid(&mut self, uid: u32) -> &mut Self {
        self.spec.attrs.uid = Some(uid);
        self
    }

    /// The child's group id: setgid(gid), before setuid (std: `CommandExt::gid`; Go:
    /// Credential.Gid; setpriv --regid).
    pub fn gid(&mut self, gid: u32) -> &mut Self {
        self.spec.attrs.gid = Some(gid);
        self
    }

    /// The child's supplementary groups: setgroups(groups), first of the credential steps
    /// (std: `CommandExt::groups`; Go: Credential.Groups; setpriv --groups). An empty list
    /// drops them all. Up to NGROUPS_MAX (65536).
    pub fn groups(&mut self, groups: &[u32]) -> &mut Self {
        if groups.len() > 65536 {
            self.refuse(
                format!("{} supplementary groups", groups.len()),
                "the kernel accepts at most 65536 (NGROUPS_MAX)",
            );
        }
        self.spec.attrs.groups = Some(groups.to_vec());
        self
    }

    /// Never call setgroups, keeping the inherited supplementary groups even when uid or gid
    /// change (Go: Credential.NoSetGroups; setpriv --keep-groups).
    pub fn no_setgroups(&mut self, yes: bool) -> &mut Self {
        self.spec.attrs.no_setgroups = yes;
        self
    }

    /// The child's root directory: chroot(dir) after namespaces, before credentials and the
    /// working directory, which is then resolved inside it (std: `CommandExt::chroot`; Go:
    /// Chroot; chroot(8)). Without [`current_dir`](Self::current_dir) the child starts at the
    /// new root's `/`, never in the parent's directory outside it. The program is looked up
    /// inside the new root too.
    pub fn chroot(&mut self, dir: impl AsRef<Path>) -> &mut Self {
        let bytes = dir.as_ref().as_os_str().as_bytes();
        match std::ffi::CString::new(bytes) {
            Ok(c) if !bytes.is_empty() => self.spec.attrs.chroot = Some(c),
            Ok(_) => self.refuse("chroot directory", "it is empty"),
            Err(e) => self.refuse(
                "chroot directory",
                format!("it contains a NUL byte at offset {}", e.nul_position()),
            ),
        }
        self
    }
}
