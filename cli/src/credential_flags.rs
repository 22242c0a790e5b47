//! Who the program runs as: `--uid`, `--gid`, `--groups` by name or number, `--user` (runuser
//! -u), and setpriv's spellings (`--reuid`, `--regid`, `--clear-groups`, `--keep-groups`,
//! `--init-groups`). Names are resolved here, in the parent, through NSS
//! ([`crate::user_database`]); the child gets numbers.

use crate::user_database::{
    account_of_uid, parse_account, parse_gid, parse_gid_list, parse_uid, supplementary_groups,
    Account,
};
use clap::{ArgGroup, Args};

/// A list of gids (a newtype: clap's derive would take a bare `Vec` for a repeated flag).
#[derive(Clone, Debug)]
pub struct GidList(Vec<u32>);

fn parse_groups(s: &str) -> Result<GidList, String> {
    parse_gid_list(s).map(GidList)
}

#[derive(Args, Debug, Default)]
#[command(next_help_heading = "Credentials")]
#[command(group(
    ArgGroup::new("supplementary")
        .args(["groups", "clear_groups", "no_setgroups", "init_groups"])
        .multiple(false)
))]
pub struct CredentialFlags {
    /// setuid(USER), last of the credential steps; a user name or a number (Go:
    /// Credential.Uid; setpriv --reuid).
    #[arg(
        long,
        visible_alias = "reuid",
        value_name = "USER",
        value_parser = parse_uid,
        value_hint = clap::ValueHint::Username
    )]
    pub(crate) uid: Option<u32>,
    /// setgid(GROUP), before setuid; a group name or a number (Go: Credential.Gid; setpriv
    /// --regid).
    #[arg(long, visible_alias = "regid", value_name = "GROUP", value_parser = parse_gid)]
    gid: Option<u32>,
    /// setgroups(A,B,...), first credential step: group names or numbers; "" clears them (Go:
    /// Credential.Groups; setpriv --groups).
    #[arg(long, value_name = "A,B", value_parser = parse_groups)]
    groups: Option<GidList>,
    /// Drop every supplementary group: setgroups with an empty list (setpriv --clear-groups).
    #[arg(long)]
    clear_groups: bool,
    /// Never call setgroups: keep the supplementary groups (Go: Credential.NoSetGroups;
    /// setpriv --keep-groups).
    #[arg(long, visible_alias = "keep-groups")]
    no_setgroups: bool,
    /// The supplementary groups of the --uid user from the group database, as initgroups(3)
    /// sets them (setpriv --init-groups).
    #[arg(long)]
    init_groups: bool,
    /// Run as this user: its uid, its primary group and its supplementary groups from the
    /// passwd and group databases (runuser -u; setpriv --reuid U --regid G --init-groups).
    /// --gid, --groups, --clear-groups and --keep-groups override the parts they name.
    #[arg(
        long,
        value_name = "USER",
        value_parser = parse_account,
        conflicts_with = "uid",
        value_hint = clap::ValueHint::Username
    )]
    user: Option<Account>,
}

impl CredentialFlags {
    /// Applies the credential flags to `cmd`.
    pub fn apply(&self, cmd: &mut forkexec::Command) -> Result<(), String> {
        if let Some(uid) = self.uid.or(self.user.as_ref().map(|a| a.uid)) {
            cmd.uid(uid);
        }
        if let Some(gid) = self.gid.or(self.user.as_ref().map(|a| a.gid)) {
            cmd.gid(gid);
        }
        if let Some(GidList(g)) = &self.groups {
            cmd.groups(g);
        } else if self.clear_groups {
            cmd.groups(&[]);
        } else if self.no_setgroups {
            cmd.no_setgroups(true);
        } else if self.init_groups || self.user.is_some() {
            let account = match (&self.user, self.uid) {
                (Some(a), _) => a.clone(),
                (None, Some(uid)) => account_of_uid(uid)?,
                (None, None) => return Err("--init-groups needs --uid or --user".into()),
            };
            cmd.groups(&supplementary_groups(&account)?);
        }
        Ok(())
    }
}
