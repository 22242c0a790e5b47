//! Landlock: which files (and, where the kernel's ABI has it, which TCP ports) the program may
//! use; everything else is denied, whatever the file modes say.
//!
//! The ruleset is built in the parent by the kernel maintainers' `landlock` crate (its ABI
//! probing and best-effort rules) when the Command is given it; every spawn then only hands the
//! ruleset fd to landlock_restrict_self in the child. Rights that a newer ABI than the running
//! kernel's would add are not enforced (the crate's best effort: e.g. truncate before Linux
//! 6.2); what happens when the kernel has no Landlock at all is the caller's choice.

use std::os::fd::OwnedFd;
use std::path::PathBuf;

/// What to do when the kernel has no Landlock (before Linux 5.13, or not enabled at boot:
/// `lsm=` without `landlock`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LandlockUnsupported {
    /// Refuse to spawn, with an error naming the feature (the default: a sandbox that silently
    /// is not one is worse than none).
    #[default]
    Fail,
    /// Run the program without the restriction (the landlock crate's best effort).
    RunUnrestricted,
}

/// A Landlock ruleset to build: paths readable (and executable), paths writable too, TCP ports
/// (Linux 6.7, ABI 4). Paths are opened when the Command is given the ruleset, so they must
/// exist then.
#[derive(Clone, Debug, Default)]
pub struct Landlock {
    read: Vec<PathBuf>,
    write: Vec<PathBuf>,
    tcp_bind: Vec<u16>,
    tcp_connect: Vec<u16>,
    unsupported: LandlockUnsupported,
}

/// The newest ABI this crate knows; the landlock crate brings it down to the kernel's.
const ABI: landlock::ABI = landlock::ABI::V6;

impl Landlock {
    /// An empty ruleset: every file access is denied until paths are added.
    pub fn new() -> Self {
        Landlock::default()
    }

    /// Files under `path` may be read and executed, directories listed (bwrap `--ro-bind`'s
    /// spirit; Go's golang/go#68595 RODirs).
    pub fn read(mut self, path: impl Into<PathBuf>) -> Self {
        self.read.push(path.into());
        self
    }

    /// Files under `path` may also be written, created, removed and renamed.
    pub fn write(mut self, path: impl Into<PathBuf>) -> Self {
        self.write.push(path.into());
        self
    }

    /// The program may bind this TCP port; with any port rule, others are denied (ABI 4).
    pub fn tcp_bind(mut self, port: u16) -> Self {
        self.tcp_bind.push(port);
        self
    }

    /// The program may connect to this TCP port; with any port rule, others are denied (ABI 4).
    pub fn tcp_connect(mut self, port: u16) -> Self {
        self.tcp_connect.push(port);
        self
    }

    /// What to do on a kernel without Landlock.
    pub fn if_unsupported(mut self, what: LandlockUnsupported) -> Self {
        self.unsupported = what;
        self
    }

    /// Builds the ruleset in the kernel: its fd, or None where Landlock is missing and the
    /// caller chose to run unrestricted.
    pub(crate) fn create(&self) -> Result<Option<OwnedFd>, String> {
        use landlock::{
            Access, AccessFs, AccessNet, BitFlags, CompatLevel, Compatible, NetPort, PathBeneath,
            PathFd, Ruleset, RulesetAttr, RulesetCreatedAttr,
        };
        // Not the crate's path_beneath_rules, which skips paths it cannot open: a rule for a
        // path that does not exist is a mistake to report, not a path to deny silently.
        let rule = |path: &PathBuf, access: BitFlags<AccessFs>| {
            let fd = PathFd::new(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let access = match std::fs::metadata(path) {
                Ok(m) if !m.is_dir() => access & AccessFs::from_file(ABI),
                _ => access,
            };
            Ok::<_, String>(PathBeneath::new(fd, access))
        };
        let err = |e: landlock::RulesetError| format!("landlock: {e}");
        let mut ruleset = Ruleset::default()
            .set_compatibility(CompatLevel::BestEffort)
            .handle_access(AccessFs::from_all(ABI))
            .map_err(err)?;
        let ports = !self.tcp_bind.is_empty() || !self.tcp_connect.is_empty();
        if ports {
            ruleset = ruleset
                .handle_access(AccessNet::from_all(ABI))
                .map_err(err)?;
        }
        let mut created = ruleset.create().map_err(err)?;
        for path in &self.read {
            created = created
                .add_rule(rule(path, AccessFs::from_read(ABI))?)
                .map_err(err)?;
        }
        for path in &self.write {
            created = created
                .add_rule(rule(path, AccessFs::from_all(ABI))?)
                .map_err(err)?;
        }
        for &port in &self.tcp_bind {
            created = created
                .add_rule(NetPort::new(port, AccessNet::BindTcp))
                .map_err(err)?;
        }
        for &port in &self.tcp_connect {
            created = created
                .add_rule(NetPort::new(port, AccessNet::ConnectTcp))
                .map_err(err)?;
        }
        let fd: Option<OwnedFd> = created.into();
        match (fd, self.unsupported) {
            (Some(fd), _) => Ok(Some(fd)),
            (None, LandlockUnsupported::RunUnrestricted) => Ok(None),
            (None, LandlockUnsupported::Fail) => Err(
                "this kernel has no Landlock (added in Linux 5.13; it may also be left out of \
                 the boot's lsm= list): choose LandlockUnsupported::RunUnrestricted to run \
                 without it"
                    .into(),
            ),
        }
    }
}
