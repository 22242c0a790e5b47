//! User and group names, resolved in the parent through the C library's NSS (the passwd and
//! group databases: /etc/passwd, LDAP, systemd-userdb... whatever nsswitch.conf says), as
//! setpriv, runuser and chroot --userspec do. The child only ever sees numbers.
//!
//! A value made only of digits is a number and is not looked up (setpriv's rule): a uid with no
//! passwd entry is fine for `--uid`. Names that the databases do not know are usage errors.

use nix::unistd::{Gid, Group, Uid, User};

/// A passwd entry: what `--user` and `--init-groups` need.
#[derive(Clone, Debug)]
pub struct Account {
    pub name: String,
    pub uid: u32,
    /// The primary group (pw_gid).
    pub gid: u32,
}

fn numeric(s: &str) -> Option<u32> {
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

fn lookup_failed(what: &str, s: &str, e: nix::Error) -> String {
    format!("looking up {what} {s:?} failed: {e}")
}

/// A uid from a number or a user name (`--uid`, setpriv's `--reuid`).
pub fn parse_uid(s: &str) -> Result<u32, String> {
    match numeric(s) {
        Some(n) => Ok(n),
        None => parse_account(s).map(|a| a.uid),
    }
}

/// A gid from a number or a group name (`--gid`, setpriv's `--regid`).
pub fn parse_gid(s: &str) -> Result<u32, String> {
    if let Some(n) = numeric(s) {
        return Ok(n);
    }
    match Group::from_name(s) {
        Ok(Some(g)) => Ok(g.gid.as_raw()),
        Ok(None) => Err(format!("no group {s:?} in the group database")),
        Err(e) => Err(lookup_failed("group", s, e)),
    }
}

/// `A,B,...` of group names or numbers (`--groups`); an empty list drops every group.
pub fn parse_gid_list(s: &str) -> Result<Vec<u32>, String> {
    s.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(parse_gid)
        .collect()
}

/// A passwd entry by name, or by number for a uid that has one (`--user`).
pub fn parse_account(s: &str) -> Result<Account, String> {
    let found = match numeric(s) {
        Some(n) => User::from_uid(Uid::from_raw(n)),
        None => User::from_name(s),
    };
    match found {
        Ok(Some(u)) => Ok(Account {
            name: u.name,
            uid: u.uid.as_raw(),
            gid: u.gid.as_raw(),
        }),
        Ok(None) => Err(format!("no user {s:?} in the passwd database")),
        Err(e) => Err(lookup_failed("user", s, e)),
    }
}

/// The account of a uid, for `--init-groups` with a numeric `--uid`.
pub fn account_of_uid(uid: u32) -> Result<Account, String> {
    parse_account(&uid.to_string()).map_err(|_| {
        format!("--init-groups: uid {uid} has no passwd entry, so it has no group list")
    })
}

/// The supplementary groups initgroups(3) would set for `account`: the groups that list it as
/// a member, and its primary group (getgrouplist(name, pw_gid), as setpriv --init-groups and
/// runuser do).
pub fn supplementary_groups(account: &Account) -> Result<Vec<u32>, String> {
    let name = std::ffi::CString::new(account.name.as_str())
        .map_err(|_| format!("user name {:?} contains a NUL byte", account.name))?;
    nix::unistd::getgrouplist(&name, Gid::from_raw(account.gid))
        .map(|gids| gids.into_iter().map(Gid::as_raw).collect())
        .map_err(|e| format!("listing the groups of {:?} failed: {e}", account.name))
}
