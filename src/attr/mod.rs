//! Process attributes as values: the typed names users pass to the builder (signals,
//! namespaces, resources, capabilities, id maps), and the prepared form the spawn layer lowers
//! into the child plan (`Attributes`, crate-private), with the checks that refuse impossible
//! combinations before any clone.
//!
//! The builder methods that set them are on [`crate::Command`], one file per family under
//! `src/command/`:
//!
//! | family (`src/command/`) | builder methods | values here |
//! | --- | --- | --- |
//! | credentials | `uid`, `gid`, `groups`, `no_setgroups`, `chroot` | |
//! | session | `setsid`, `process_group`, `foreground`, `setctty`, `noctty` | |
//! | namespaces | `clone_namespaces`, `unshare_namespaces`, `uid_map`, `gid_map`, `userns_setgroups` | [`Namespaces`], [`IdMap`] |
//! | limits | `rlimit`, `umask`, `nice`, `scheduler` | [`Resource`], [`SchedPolicy`] |
//! | signals | `signal_mask`, `ignore_signals`, `default_signals`, `reset_ignored_signals` | [`Signal`], [`SignalSet`] |
//! | security | `no_new_privs`, `ambient_capabilities`, `ptrace`, `pdeathsig` | [`Capability`] |
//! | cgroup | `cgroup` | |
//! | sandbox | `join_namespaces`, `seccomp`, `landlock`, `mount_proc`, `propagation`, `pty`, `bounding_set`, `securebits` | [`NamespaceTarget`], [`SeccompFilter`], [`Landlock`], [`Propagation`], [`PtySize`], [`BoundingSet`], [`Securebits`] |

pub mod capability_sets;
pub mod join;
pub mod landlock;
pub mod limits;
pub mod mounts;
pub mod namespaces;
pub mod pty;
pub(crate) mod sandbox;
pub mod seccomp;
pub mod security;
pub mod signals;
mod validate;

pub use capability_sets::{BoundingSet, Securebits};
pub use join::NamespaceTarget;
pub use landlock::{Landlock, LandlockUnsupported};
pub use limits::{Resource, SchedPolicy};
pub use mounts::Propagation;
pub use namespaces::{IdMap, Namespaces};
pub use pty::PtySize;
pub use seccomp::{SeccompError, SeccompFilter};
pub use security::Capability;
pub use signals::{Signal, SignalSet};

pub(crate) use validate::validate;

use crate::sys::child_sequence::RlimitAction;
use std::fmt;

/// Every attribute, in the prepared form the spawn layer lowers into the child plan.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Attributes {
    pub setsid: bool,
    /// setpgid(0, pgid): Some(0) = new group led by the child.
    pub pgid: Option<i32>,
    /// Parent fd of a terminal whose foreground group becomes the child's.
    pub foreground_fd: Option<i32>,
    /// Child fd to make the controlling terminal (after the fd map).
    pub setctty_fd: Option<i32>,
    pub noctty: bool,
    pub chroot: Option<std::ffi::CString>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    /// Explicit supplementary groups.
    pub groups: Option<Vec<libc::gid_t>>,
    /// Never call setgroups (Go: Credential.NoSetGroups).
    pub no_setgroups: bool,
    pub pdeathsig: Option<i32>,
    /// CLONE_NEW* flags given to clone.
    pub clone_ns: i32,
    /// CLONE_NEW* flags given to unshare in the child.
    pub unshare_ns: i32,
    pub uid_map: Vec<IdMap>,
    pub gid_map: Vec<IdMap>,
    /// "allow" / "deny" for /proc/PID/setgroups; None = "deny" when a gid map is written (Go).
    pub setgroups_allow: Option<bool>,
    /// Capabilities to raise as ambient (bit n = capability n).
    pub ambient_caps: u64,
    /// A cgroup v2 directory to start in.
    pub cgroup: Option<std::path::PathBuf>,
    pub ptrace: bool,
    pub rlimits: Vec<RlimitAction>,
    pub umask: Option<u32>,
    /// Signals blocked at exec (bit n-1 = signal n); `None` = the spawning thread's mask
    /// (inherited, as std, posix_spawn, Go and CPython do).
    pub sig_mask: Option<u64>,
    /// Signals set to SIG_IGN.
    pub sig_ignore: u64,
    /// Keep dispositions the parent ignores (nohup style) instead of resetting all to SIG_DFL.
    pub reset_ignored_signals: bool,
    /// Signals reset to SIG_DFL even when ignored ones are kept.
    pub sig_default: u64,
    pub no_new_privs: bool,
    pub nice: Option<i32>,
    /// (policy, priority)
    pub scheduler: Option<(i32, i32)>,
    /// The sandbox tier: joins, seccomp, Landlock, /proc, pty, capability limits.
    pub sandbox: sandbox::Sandbox,
}

impl Attributes {
    /// Adds to a Command's `{:#?}` every attribute that differs from the default, except those
    /// std's own Debug names (uid, gid, groups, pgroup), which the Command shows first.
    pub(crate) fn debug_set_fields(&self, d: &mut fmt::DebugStruct<'_, '_>) {
        let default = Attributes::default();
        macro_rules! set_fields {
            ($($field:ident),*) => {
                $(if self.$field != default.$field {
                    d.field(stringify!($field), &self.$field);
                })*
            };
        }
        set_fields!(
            setsid,
            foreground_fd,
            setctty_fd,
            noctty,
            chroot,
            no_setgroups,
            pdeathsig,
            clone_ns,
            unshare_ns,
            uid_map,
            gid_map,
            setgroups_allow,
            ambient_caps,
            cgroup,
            ptrace,
            rlimits,
            umask,
            sig_mask,
            sig_ignore,
            reset_ignored_signals,
            sig_default,
            no_new_privs,
            nice,
            scheduler
        );
    }

    /// Sets (or replaces) the limit of `resource`.
    pub(crate) fn set_rlimit(&mut self, resource: i32, soft: u64, hard: u64) {
        self.rlimits.retain(|a| a.resource != resource);
        self.rlimits.push(RlimitAction {
            resource,
            soft,
            hard,
        });
    }

    /// The gid list the child passes to setgroups, if it calls setgroups at all.
    ///
    /// Explicit groups are always set. Otherwise, when the uid or gid changes, supplementary
    /// groups are dropped (setgroups with an empty list, as Go does and as std does for root)
    /// where that can work and was not declined with `no_setgroups`:
    /// - in a new user namespace only with a gid map and setgroups "allow" (the kernel refuses
    ///   setgroups before the gid map is written and after "deny"; Go skips it there too);
    /// - otherwise only for a root parent (std's rule: an unprivileged setgroups can only
    ///   fail, and the groups are the caller's own anyway).
    pub(crate) fn effective_groups(&self) -> Option<&[libc::gid_t]> {
        if self.no_setgroups {
            return None;
        }
        if let Some(g) = &self.groups {
            return Some(g);
        }
        if self.uid.is_none() && self.gid.is_none() {
            return None;
        }
        let allowed = if self.clone_ns & libc::CLONE_NEWUSER != 0 {
            !self.gid_map.is_empty() && self.setgroups_allow == Some(true)
        } else {
            // Asked only here: a geteuid per spawn is a syscall the plain path does not need.
            rustix::process::geteuid().is_root()
        };
        allowed.then_some(&[])
    }
}

/// Bit for signal `sig` in a 64-bit signal set.
pub fn sig_bit(sig: i32) -> u64 {
    if (1..=64).contains(&sig) {
        1u64 << (sig - 1)
    } else {
        0
    }
}

/// A name that could not be parsed: a signal, namespace, resource limit, capability...
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} {given:?}: {hint}")]
pub struct NameError {
    /// What kind of name: `signal`, `namespace`, `resource limit`, `capability`...
    pub kind: &'static str,
    /// The text given.
    pub given: String,
    /// Why, or what is accepted.
    pub hint: String,
}

impl NameError {
    pub(crate) fn new(kind: &'static str, given: &str, hint: impl Into<String>) -> Self {
        NameError {
            kind,
            given: given.to_string(),
            hint: hint.into(),
        }
    }
}

/// The namespace names of a CLONE_NEW* set, for messages: `user,mount`.
pub fn namespace_names(flags: i32) -> String {
    Namespaces::from_bits(flags).to_string()
}

/// The name of an RLIMIT_* resource: `RLIMIT_NOFILE`.
pub fn rlimit_name(resource: i32) -> String {
    match Resource::try_from(resource) {
        Ok(r) => format!("RLIMIT_{}", r.name().to_ascii_uppercase()),
        Err(_) => format!("rlimit {resource}"),
    }
}
