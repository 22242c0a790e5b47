//! The mount side of a new mount namespace: the propagation of `/` and a fresh /proc.

use super::NameError;
use std::fmt;
use std::str::FromStr;

/// What a new mount namespace does with the propagation of its mounts (unshare
/// `--propagation`): `private` (the default: nothing propagates either way), `slave` (mounts
/// of the parent namespace still arrive, ours do not leave), `shared` (both ways), or
/// `unchanged` (keep what the copy inherited: usually shared, so mounts made inside appear
/// outside too).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Propagation {
    /// MS_PRIVATE, recursively: nothing propagates either way.
    #[default]
    Private,
    /// MS_SLAVE, recursively: the parent namespace's mounts arrive, ours do not leave.
    Slave,
    /// MS_SHARED, recursively: mounts propagate both ways.
    Shared,
    /// No change: what the copy inherited.
    Unchanged,
}

impl Propagation {
    /// The mount(2) flags that set it recursively on `/`, or 0 for `Unchanged`.
    pub(crate) fn mount_flags(self) -> libc::c_ulong {
        match self {
            Propagation::Private => libc::MS_REC | libc::MS_PRIVATE,
            Propagation::Slave => libc::MS_REC | libc::MS_SLAVE,
            Propagation::Shared => libc::MS_REC | libc::MS_SHARED,
            Propagation::Unchanged => 0,
        }
    }
}

impl fmt::Display for Propagation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Propagation::Private => "private",
            Propagation::Slave => "slave",
            Propagation::Shared => "shared",
            Propagation::Unchanged => "unchanged",
        })
    }
}

impl FromStr for Propagation {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, NameError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "private" => Ok(Propagation::Private),
            "slave" => Ok(Propagation::Slave),
            "shared" => Ok(Propagation::Shared),
            "unchanged" => Ok(Propagation::Unchanged),
            _ => Err(NameError::new(
                "propagation",
                s,
                "expected private, slave, shared or unchanged",
            )),
        }
    }
}

impl TryFrom<&str> for Propagation {
    type Error = NameError;
    fn try_from(s: &str) -> Result<Self, NameError> {
        s.parse()
    }
}
