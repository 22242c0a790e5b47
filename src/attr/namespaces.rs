//! Namespaces: new ones at clone (CLONE_NEW*), or by unshare in the child, and the uid/gid maps
//! of a new user namespace, which the parent writes while the child waits.
//!
//! With a user namespace and maps, the spawn does not use CLONE_VFORK (the parent must run
//! while the child waits) but still CLONE_VM on a private stack: the parent's page tables are
//! never copied. Go drops to a full fork in that case.

use super::NameError;
use std::fmt;
use std::ops::BitOr;
use std::str::FromStr;

/// CLONE_NEWTIME (libc lacks it on some targets).
pub const CLONE_NEWTIME: i32 = 0x80;

/// A set of namespace kinds, parsed from `user,mount,pid,net,uts,ipc,cgroup,time`
/// (`mnt` and `ns` are accepted for mount, as unshare(1) and nsenter(1) spell it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Namespaces(i32);

const NAMES: [(i32, &str); 8] = [
    (libc::CLONE_NEWUSER, "user"),
    (libc::CLONE_NEWNS, "mount"),
    (libc::CLONE_NEWPID, "pid"),
    (libc::CLONE_NEWNET, "net"),
    (libc::CLONE_NEWUTS, "uts"),
    (libc::CLONE_NEWIPC, "ipc"),
    (libc::CLONE_NEWCGROUP, "cgroup"),
    (CLONE_NEWTIME, "time"),
];

impl Namespaces {
    /// `0`.
    pub const NONE: Namespaces = Namespaces(0);
    /// `CLONE_NEWUSER`.
    pub const USER: Namespaces = Namespaces(libc::CLONE_NEWUSER);
    /// `CLONE_NEWNS`.
    pub const MOUNT: Namespaces = Namespaces(libc::CLONE_NEWNS);
    /// `CLONE_NEWPID`.
    pub const PID: Namespaces = Namespaces(libc::CLONE_NEWPID);
    /// `CLONE_NEWNET`.
    pub const NET: Namespaces = Namespaces(libc::CLONE_NEWNET);
    /// `CLONE_NEWUTS`.
    pub const UTS: Namespaces = Namespaces(libc::CLONE_NEWUTS);
    /// `CLONE_NEWIPC`.
    pub const IPC: Namespaces = Namespaces(libc::CLONE_NEWIPC);
    /// `CLONE_NEWCGROUP`.
    pub const CGROUP: Namespaces = Namespaces(libc::CLONE_NEWCGROUP);
    /// `CLONE_NEWTIME`.
    pub const TIME: Namespaces = Namespaces(CLONE_NEWTIME);
    /// Every kind. To `join_namespaces` of a process: every one of its namespaces that is not
    /// already the parent's (nsenter -a).
    pub const ALL: Namespaces = Namespaces(
        libc::CLONE_NEWUSER
            | libc::CLONE_NEWNS
            | libc::CLONE_NEWPID
            | libc::CLONE_NEWNET
            | libc::CLONE_NEWUTS
            | libc::CLONE_NEWIPC
            | libc::CLONE_NEWCGROUP
            | CLONE_NEWTIME,
    );

    /// Every CLONE_NEW* bit this type knows.
    pub fn all_bits() -> i32 {
        NAMES.iter().fold(0, |acc, (f, _)| acc | f)
    }

    /// From CLONE_NEW* flags; bits that are not namespace flags are dropped.
    pub fn from_bits(flags: i32) -> Namespaces {
        Namespaces(flags & Self::all_bits())
    }

    /// The CLONE_NEW* flags.
    pub fn bits(self) -> i32 {
        self.0
    }

    /// Whether no namespace is in the set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether every namespace of `other` is in the set.
    pub fn contains(self, other: Namespaces) -> bool {
        self.0 & other.0 == other.0
    }
}

impl BitOr for Namespaces {
    type Output = Namespaces;
    fn bitor(self, rhs: Namespaces) -> Namespaces {
        Namespaces(self.0 | rhs.0)
    }
}

impl fmt::Display for Namespaces {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = NAMES
            .iter()
            .filter(|(b, _)| self.0 & b != 0)
            .map(|(_, n)| *n)
            .collect();
        f.write_str(&names.join(","))
    }
}

impl FromStr for Namespaces {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, NameError> {
        let mut set = 0;
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let lower = part.to_ascii_lowercase();
            let name = match lower.as_str() {
                "mnt" | "ns" => "mount",
                other => other,
            };
            let bit = NAMES
                .iter()
                .find(|(_, n)| *n == name)
                .map(|(b, _)| *b)
                .ok_or_else(|| {
                    NameError::new(
                        "namespace",
                        part,
                        "expected user, mount, pid, net, uts, ipc, cgroup or time",
                    )
                })?;
            set |= bit;
        }
        Ok(Namespaces(set))
    }
}

impl TryFrom<&str> for Namespaces {
    type Error = NameError;
    fn try_from(s: &str) -> Result<Self, NameError> {
        s.parse()
    }
}

/// One line of a uid_map or gid_map: ids `inside..inside+count` in the new namespace are
/// `outside..outside+count` outside. Parsed from `C:H:N` (container, host, count) as in
/// unshare(1)'s --map-users.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IdMap {
    /// First id inside the new namespace.
    pub inside: u32,
    /// First id it stands for outside.
    pub outside: u32,
    /// How many consecutive ids.
    pub count: u32,
}

impl From<(u32, u32, u32)> for IdMap {
    fn from((inside, outside, count): (u32, u32, u32)) -> Self {
        IdMap {
            inside,
            outside,
            count,
        }
    }
}

impl FromStr for IdMap {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, NameError> {
        let err = || NameError::new("id map", s, "expected INSIDE:OUTSIDE:COUNT, e.g. 0:1000:1");
        let mut it = s.split(':').map(|p| p.trim().parse::<u32>());
        match (it.next(), it.next(), it.next(), it.next()) {
            (Some(Ok(inside)), Some(Ok(outside)), Some(Ok(count)), None) => Ok(IdMap {
                inside,
                outside,
                count,
            }),
            _ => Err(err()),
        }
    }
}

impl TryFrom<&str> for IdMap {
    type Error = NameError;
    fn try_from(s: &str) -> Result<Self, NameError> {
        s.parse()
    }
}
