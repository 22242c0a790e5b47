//! The sandbox tier: joining namespaces (nsenter), a seccomp filter (bwrap, minijail),
//! Landlock (Go's golang/go#68595), a fresh /proc and the propagation of / (unshare), a pty
//! (creack/pty, script), and capability limits (setpriv). Each is prepared in the parent; the
//! child only issues the final syscalls (see the step table in the crate's child sequence).

use super::{convert, Command};
use crate::attr::sandbox::Join;
use crate::attr::{
    BoundingSet, Landlock, NamespaceTarget, Namespaces, Propagation, PtySize, SeccompFilter,
    Securebits,
};
use std::fmt;
use std::os::fd::OwnedFd;
use std::sync::Arc;

impl Command {
    /// Join existing namespaces of `target` before anything else happens in the child
    /// (nsenter(1); Go has no equivalent). `target` is a process (a pid, or
    /// [`NamespaceTarget::pidfd`]) or an ns file (`"/proc/PID/ns/net"`, a bind-mounted one such
    /// as `/run/netns/NAME`). `kinds` says which (`"net,uts"`); for a process
    /// [`Namespaces::ALL`] means every namespace that differs from the parent's (nsenter -a),
    /// for an ns file it may be [`Namespaces::ALL`] (the file's own kind) or that kind.
    ///
    /// - A process's namespaces are joined in one setns(pidfd, flags) (Linux 5.8); before 5.8
    ///   the parent opens /proc/PID/ns/* at each spawn and the child joins them one by one.
    /// - Order, as nsenter: every namespace but the user one first, then the user namespace and
    ///   whatever failed: a root caller giving privilege up joins the user namespace last, an
    ///   unprivileged caller gaining it joins it first. Joining a user namespace does not change
    ///   the ids (nsenter sets 0:0 unless --preserve-credentials): add `uid`/`gid`.
    /// - A pid namespace only takes the caller's later children, so the child makes the
    ///   program's process with a second vfork-class clone (CLONE_PARENT: still the caller's
    ///   child, waited for directly) inside it and leaves; the Child is that process.
    /// - A mount namespace sets the root and working directory to its own: the program is
    ///   searched in the joined namespace, as with nsenter -m.
    /// - A time namespace cannot be joined (setns needs a process that shares no memory).
    pub fn join_namespaces<T, N>(&mut self, target: T, kinds: N) -> &mut Self
    where
        T: Into<NamespaceTarget>,
        N: TryInto<Namespaces>,
        N::Error: fmt::Display,
    {
        if let Some(kinds) = convert::<Namespaces, _>(self, "namespaces to join", kinds) {
            if kinds.is_empty() {
                self.refuse("namespaces to join", "the list is empty");
            }
            self.spec.attrs.sandbox.joins.push(Join {
                target: target.into(),
                kinds,
            });
        }
        self
    }

    /// A seccomp filter the child installs as its very last step before exec (bwrap
    /// `--seccomp`, minijail `-S`, Go has none). Build it with
    /// [`SeccompFilter::deny_syscalls`], from any seccompiler filter, or from raw cBPF. The
    /// kernel wants no_new_privs or CAP_SYS_ADMIN for it: a child without the capability gets
    /// no_new_privs too. A filter that denies execve makes the exec fail (step `exec`).
    pub fn seccomp(&mut self, filter: SeccompFilter) -> &mut Self {
        self.spec.attrs.sandbox.seccomp = Some(filter);
        self
    }

    /// Restrict the program with Landlock (Go: golang/go#68595's SysProcAttr.Landlock; the
    /// landlock crate's restrict_self, done for the child). The ruleset is built now, in this
    /// process: its paths must exist (an error otherwise, reported by spawn). The child calls
    /// landlock_restrict_self after every other step that opens a path; like seccomp it needs
    /// no_new_privs or CAP_SYS_ADMIN, and a child without the capability gets no_new_privs.
    pub fn landlock(&mut self, rules: Landlock) -> &mut Self {
        match rules.create() {
            Ok(fd) => self.spec.attrs.sandbox.landlock = fd.map(Arc::new),
            Err(why) => self.refuse("Landlock ruleset", why),
        }
        self
    }

    /// Restrict the program with a ruleset built with the landlock crate directly (any access
    /// rights, scopes, ports). A ruleset without an fd (no Landlock here, best effort) is no
    /// restriction.
    pub fn landlock_ruleset(&mut self, ruleset: landlock::RulesetCreated) -> &mut Self {
        let fd: Option<OwnedFd> = ruleset.into();
        self.spec.attrs.sandbox.landlock = fd.map(Arc::new);
        self
    }

    /// Mount a fresh /proc in the child (unshare --mount-proc), so that `ps` shows only the
    /// processes of its pid namespace. Needs a new mount namespace and the child in a new
    /// (`clone_namespaces("pid")`) or joined pid namespace. Done after chroot (the new root's
    /// /proc) and before credentials.
    pub fn mount_proc(&mut self, yes: bool) -> &mut Self {
        self.spec.attrs.sandbox.mount_proc = yes;
        self
    }

    /// The propagation of / in the child's new mount namespace (unshare --propagation):
    /// private by default, so nothing mounted inside shows outside; `slave`, `shared` or
    /// `unchanged` on request.
    pub fn propagation<P>(&mut self, propagation: P) -> &mut Self
    where
        P: TryInto<Propagation>,
        P::Error: fmt::Display,
    {
        if let Some(p) = convert::<Propagation, _>(self, "propagation", propagation) {
            self.spec.attrs.sandbox.propagation = Some(p);
        }
        self
    }

    /// Give the child a new pseudo-terminal as fds 0, 1 and 2, in a new session of which it is
    /// the controlling terminal (creack/pty's `pty.StartWithSize`, script(1)). Each spawn opens
    /// its own pty; the [`Child`](crate::Child) holds the primary side
    /// ([`Child::pty`](crate::Child::pty)) and can [`resize`](crate::Child::resize) it.
    /// `size` is `(rows, cols)` or a [`PtySize`].
    pub fn pty(&mut self, size: impl Into<PtySize>) -> &mut Self {
        self.spec.attrs.sandbox.pty = Some(size.into());
        self
    }

    /// Drop capabilities from the bounding set before the credentials change (setpriv
    /// `--bounding-set -all,+net_bind_service`; capsh `--drop`): no later exec can gain them,
    /// whatever its file capabilities or setuid bit. Needs CAP_SETPCAP.
    pub fn bounding_set<B>(&mut self, changes: B) -> &mut Self
    where
        B: TryInto<BoundingSet>,
        B::Error: fmt::Display,
    {
        if let Some(b) = convert::<BoundingSet, _>(self, "bounding set", changes) {
            self.spec.attrs.sandbox.bounding = Some(b);
        }
        self
    }

    /// Set and clear securebits before the credentials change (setpriv `--securebits
    /// +noroot,+noroot_locked`). Needs CAP_SETPCAP.
    pub fn securebits<S>(&mut self, changes: S) -> &mut Self
    where
        S: TryInto<Securebits>,
        S::Error: fmt::Display,
    {
        if let Some(s) = convert::<Securebits, _>(self, "securebits", changes) {
            self.spec.attrs.sandbox.securebits = Some(s);
        }
        self
    }
}
