//! The sandbox tier of a Command, as data: namespaces to join, seccomp, Landlock, a fresh
//! /proc and the propagation of /, a pty, capability limits; and the checks that refuse
//! impossible combinations before any clone.

use super::capability_sets::{BoundingSet, Securebits};
use super::join::NamespaceTarget;
use super::mounts::Propagation;
use super::namespaces::Namespaces;
use super::pty::PtySize;
use super::seccomp::SeccompFilter;
use super::validate::Refusal;
use super::Attributes;
use std::os::fd::OwnedFd;
use std::sync::Arc;

/// One `join_namespaces` request.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Join {
    pub target: NamespaceTarget,
    /// The kinds to join; for a process target every kind (the default) means every one that
    /// differs from the parent's (nsenter -a).
    pub kinds: Namespaces,
}

/// The sandbox attributes.
#[derive(Clone, Debug, Default)]
pub(crate) struct Sandbox {
    pub joins: Vec<Join>,
    pub seccomp: Option<SeccompFilter>,
    /// The Landlock ruleset fd, built when the Command got the ruleset (None: no Landlock, or
    /// none on this kernel and the caller chose to run unrestricted).
    pub landlock: Option<Arc<OwnedFd>>,
    pub mount_proc: bool,
    pub propagation: Option<Propagation>,
    pub pty: Option<PtySize>,
    pub bounding: Option<BoundingSet>,
    pub securebits: Option<Securebits>,
}

/// Equal when they ask the same: the same targets, kinds and values, the same Landlock ruleset
/// (the same fd, not an equal one: the kernel's rulesets cannot be compared).
impl PartialEq for Sandbox {
    fn eq(&self, other: &Self) -> bool {
        let same_fd = |a: &Option<Arc<OwnedFd>>, b: &Option<Arc<OwnedFd>>| match (a, b) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (a, b) => a.is_none() && b.is_none(),
        };
        self.joins == other.joins
            && self.seccomp == other.seccomp
            && same_fd(&self.landlock, &other.landlock)
            && self.mount_proc == other.mount_proc
            && self.propagation == other.propagation
            && self.pty == other.pty
            && self.bounding == other.bounding
            && self.securebits == other.securebits
    }
}

impl Sandbox {
    /// Whether the child joins a pid namespace through a process target (ns files are only
    /// known once opened at spawn).
    pub(crate) fn joins_pid_of_a_process(&self) -> bool {
        self.joins
            .iter()
            .any(|j| j.target.is_process() && j.kinds.contains(Namespaces::PID))
    }
}

/// Refuses contradictory sandbox attributes (part of `attr::validate`).
pub(crate) fn validate(a: &Attributes) -> Result<(), Refusal> {
    let s = &a.sandbox;
    let refuse = |what: &str, why: &str| Err((what.to_string(), why.to_string()));
    let new_ns = a.clone_ns | a.unshare_ns;
    let new_mount = new_ns & libc::CLONE_NEWNS != 0;
    if s.mount_proc {
        if !new_mount {
            return refuse(
                "mount_proc",
                "it needs a new mount namespace (clone_namespaces(\"mount\")): mounting /proc \
                 in the parent's would replace the machine's /proc",
            );
        }
        let pid_ns = a.clone_ns & libc::CLONE_NEWPID != 0 || s.joins_pid_of_a_process();
        if !pid_ns {
            let hint = if a.unshare_ns & libc::CLONE_NEWPID != 0 {
                "a pid namespace made by unshare holds the program's children, not the program, \
                 whose /proc would still show the parent's: use clone_namespaces(\"pid\")"
            } else {
                "it needs the child in a new pid namespace (clone_namespaces(\"pid\")) or in a \
                 joined one: a fresh /proc shows the processes of the child's pid namespace"
            };
            return refuse("mount_proc", hint);
        }
    }
    if s.propagation.is_some() && !new_mount {
        return refuse(
            "propagation",
            "it applies to a new mount namespace: add clone_namespaces(\"mount\")",
        );
    }
    for j in &s.joins {
        // "Every kind" drops the time namespace when it is the parent's (checked at spawn).
        let every_kind = j.kinds.bits() == Namespaces::all_bits();
        if j.kinds.contains(Namespaces::TIME) && !every_kind {
            return refuse(
                "join_namespaces(time)",
                "setns to a time namespace needs a process that shares its memory with no \
                 other (the kernel answers EUSERS), and the child shares the parent's until \
                 its exec: create one with clone_namespaces(\"time\") instead",
            );
        }
        if !every_kind && j.kinds.bits() & a.clone_ns != 0 {
            return refuse(
                "join_namespaces",
                "a namespace cannot be both made by the clone and joined: the join would \
                 replace the new one",
            );
        }
    }
    if s.joins.iter().filter(|j| j.target.is_process()).count() > 1 {
        return refuse(
            "join_namespaces",
            "one process target per Command (add ns files for namespaces of others)",
        );
    }
    if s.joins_pid_of_a_process() && a.clone_ns & libc::CLONE_NEWPID != 0 {
        return refuse(
            "join_namespaces(pid)",
            "the child cannot be in a new pid namespace and a joined one",
        );
    }
    if s.pty.is_some() {
        if a.setsid || a.pgid.is_some() || a.foreground_fd.is_some() || a.noctty {
            return refuse(
                "pty",
                "a pty already makes the child lead a new session with the pty as its \
                 controlling terminal: setsid, process_group, foreground and noctty do not \
                 combine with it",
            );
        }
        if a.setctty_fd.is_some() {
            return refuse(
                "pty",
                "a pty already becomes the controlling terminal (as child fd 0)",
            );
        }
    }
    Ok(())
}
