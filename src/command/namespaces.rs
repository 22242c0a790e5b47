//! Namespaces: new ones at clone (CLONE_NEW*), or by unshare in the child, and the uid/gid maps
//! of a new user namespace, which the parent writes while the child waits.
//!
//! With a user namespace and maps, the spawn does not use CLONE_VFORK (the parent must run
//! while the child waits) but still CLONE_VM on a private stack: the parent's page tables are
//! never copied. Go drops to a full fork in that case.

use super::{convert, Command};
use crate::attr::{IdMap, Namespaces};
use std::fmt;

impl Command {
    /// New namespaces for the child, made by the clone itself (Go: Cloneflags; unshare(1)'s
    /// `--fork` view). Accepts [`Namespaces`] or a list like `"user,pid,mount"`. A new mount
    /// namespace gets / remounted recursively private so mounts do not propagate back.
    pub fn clone_namespaces<N>(&mut self, ns: N) -> &mut Self
    where
        N: TryInto<Namespaces>,
        N::Error: fmt::Display,
    {
        if let Some(ns) = convert::<Namespaces, _>(self, "namespaces to clone", ns) {
            self.spec.attrs.clone_ns |= ns.bits();
        }
        self
    }

    /// Namespaces the child leaves with unshare(2) before chroot and credentials (Go:
    /// Unshareflags; unshare(1)). A new pid namespace this way holds the program's children,
    /// not the program itself (see /proc/self/ns/pid_for_children).
    pub fn unshare_namespaces<N>(&mut self, ns: N) -> &mut Self
    where
        N: TryInto<Namespaces>,
        N::Error: fmt::Display,
    {
        if let Some(ns) = convert::<Namespaces, _>(self, "namespaces to unshare", ns) {
            self.spec.attrs.unshare_ns |= ns.bits();
        }
        self
    }

    /// Adds a uid_map line for the new user namespace (Go: UidMappings; unshare
    /// --map-users). Needs `clone_namespaces("user")`. Accepts `(inside, outside, count)` or
    /// `"0:1000:1"`.
    pub fn uid_map<M>(&mut self, map: M) -> &mut Self
    where
        M: TryInto<IdMap>,
        M::Error: fmt::Display,
    {
        if let Some(m) = convert::<IdMap, _>(self, "uid map", map) {
            self.spec.attrs.uid_map.push(m);
        }
        self
    }

    /// Adds a gid_map line (Go: GidMappings; unshare --map-groups). See [`uid_map`](Self::uid_map).
    pub fn gid_map<M>(&mut self, map: M) -> &mut Self
    where
        M: TryInto<IdMap>,
        M::Error: fmt::Display,
    {
        if let Some(m) = convert::<IdMap, _>(self, "gid map", map) {
            self.spec.attrs.gid_map.push(m);
        }
        self
    }

    /// What the parent writes to /proc/PID/setgroups before the gid map: `true` = "allow",
    /// `false` = "deny" (Go: GidMappingsEnableSetgroups; unshare --setgroups). Default: "deny"
    /// when a gid map is written, which is what an unprivileged parent needs.
    pub fn userns_setgroups(&mut self, allow: bool) -> &mut Self {
        self.spec.attrs.setgroups_allow = Some(allow);
        self
    }
}
