//! Whole-process capability controls, in setpriv(1)'s syntax: the bounding set (which
//! capabilities any later exec can ever gain) and the securebits (how the kernel treats uid 0
//! and uid changes).

use super::security::Capability;
use super::NameError;
use std::str::FromStr;

/// Changes to the bounding set, applied in order to the set the child inherits:
/// `-all,+net_bind_service` keeps only CAP_NET_BIND_SERVICE (setpriv `--bounding-set`).
///
/// The bounding set can only shrink: `+cap` keeps a capability that a `-all` before it would
/// drop, it never adds one the parent no longer has.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BoundingSet {
    /// Bit n: drop capability n (PR_CAPBSET_DROP).
    drop: u64,
}

/// Every bit of a capability the kernel could know (the 64-bit sets of capset).
const ALL_CAPS: u64 = u64::MAX;

impl BoundingSet {
    /// Drops every capability but `keep`.
    pub fn keep_only(keep: impl IntoIterator<Item = Capability>) -> Self {
        let kept = keep.into_iter().fold(0u64, |m, c| m | 1u64 << c.number());
        BoundingSet {
            drop: ALL_CAPS & !kept,
        }
    }

    /// The capabilities to drop, bit n for capability n (limited to the kernel's at spawn).
    pub fn drop_mask(self) -> u64 {
        self.drop
    }
}

impl FromStr for BoundingSet {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, NameError> {
        let mut drop = 0u64;
        for item in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (sign, name) = signed(item);
            let mask = if name.eq_ignore_ascii_case("all") {
                ALL_CAPS
            } else {
                1u64 << name.parse::<Capability>()?.number()
            };
            match sign {
                Some('-') => drop |= mask,
                Some('+') => drop &= !mask,
                _ => {
                    return Err(NameError::new(
                        "bounding set change",
                        item,
                        "each item starts with + or -, e.g. -all,+net_bind_service",
                    ))
                }
            }
        }
        Ok(BoundingSet { drop })
    }
}

impl TryFrom<&str> for BoundingSet {
    type Error = NameError;
    fn try_from(s: &str) -> Result<Self, NameError> {
        s.parse()
    }
}

/// An item of a setpriv list split into its sign (`+`/`-`, or None) and its name.
fn signed(item: &str) -> (Option<char>, &str) {
    match item.strip_prefix(['+', '-']) {
        Some(name) => (item.chars().next(), name),
        None => (None, item),
    }
}

/// Securebits names (linux/securebits.h) that make sense to set before an exec. `keep_caps` is
/// left out as setpriv leaves it out: execve clears it.
const SECUREBITS: [(&str, u32); 7] = [
    ("noroot", 0),
    ("noroot_locked", 1),
    ("no_setuid_fixup", 2),
    ("no_setuid_fixup_locked", 3),
    ("keep_caps_locked", 5),
    ("no_cap_ambient_raise", 6),
    ("no_cap_ambient_raise_locked", 7),
];

/// Securebits to set and clear on top of the inherited ones (setpriv `--securebits
/// +noroot,-no_setuid_fixup`): PR_SET_SECUREBITS, before any uid change so that
/// `no_setuid_fixup` governs it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Securebits {
    /// Bits to set.
    pub set: u32,
    /// Bits to clear.
    pub clear: u32,
}

impl FromStr for Securebits {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, NameError> {
        let mut bits = Securebits::default();
        for item in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (sign, name) = signed(item);
            let lower = name.to_ascii_lowercase();
            let bare = lower.strip_prefix("secbit_").unwrap_or(&lower);
            let bit = SECUREBITS
                .iter()
                .find(|(n, _)| *n == bare)
                .map(|(_, b)| 1u32 << b)
                .ok_or_else(|| {
                    let hint = if bare == "keep_caps" {
                        "keep_caps is cleared by execve: it cannot reach the program"
                    } else {
                        "expected noroot, noroot_locked, no_setuid_fixup, \
                         no_setuid_fixup_locked, keep_caps_locked, no_cap_ambient_raise or \
                         no_cap_ambient_raise_locked"
                    };
                    NameError::new("securebit", name, hint)
                })?;
            match sign {
                Some('+') => {
                    bits.set |= bit;
                    bits.clear &= !bit;
                }
                Some('-') => {
                    bits.clear |= bit;
                    bits.set &= !bit;
                }
                _ => {
                    return Err(NameError::new(
                        "securebits change",
                        item,
                        "each item starts with + or -, e.g. +noroot,+noroot_locked",
                    ))
                }
            }
        }
        Ok(bits)
    }
}

impl TryFrom<&str> for Securebits {
    type Error = NameError;
    fn try_from(s: &str) -> Result<Self, NameError> {
        s.parse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setpriv_syntax_gives_the_drop_mask() {
        let b: BoundingSet = "-all,+net_bind_service".parse().unwrap();
        assert_eq!(b.drop_mask(), !(1u64 << 10));
        let b: BoundingSet = "-CAP_NET_RAW,-sys_admin".parse().unwrap();
        assert_eq!(b.drop_mask(), 1 << 13 | 1 << 21);
        assert!("net_raw".parse::<BoundingSet>().is_err());
        assert!("-no_such_cap".parse::<BoundingSet>().is_err());
    }

    #[test]
    fn securebits_set_and_clear() {
        let s: Securebits = "+noroot,+noroot_locked,-no_setuid_fixup".parse().unwrap();
        assert_eq!((s.set, s.clear), (0b11, 0b100));
        let err = "+keep_caps".parse::<Securebits>().unwrap_err();
        assert!(err.hint.contains("cleared by execve"), "{err}");
    }
}
