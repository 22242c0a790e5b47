//! Namespaces: forkexec's own lists (`--clone-ns`, `--unshare`, the id maps) and unshare(1)'s
//! spellings, which mean what they mean there.
//!
//! unshare(1) calls unshare(2) and then execs the program: the program is in the new
//! namespaces, except that a new pid or time namespace holds only its children. The short flags
//! here do the same (unshare(2) in the child, before the program). `-f/--fork` is unshare's
//! `--fork`: the namespaces are made by the clone, so the program itself is pid 1 of a new pid
//! namespace. `-r/--map-root-user` and `-c/--map-current-user` need the user namespace made by
//! the clone (forkexec writes the maps from outside while the child waits); the other
//! namespaces then follow -f as before.
//!
//! Three unshare letters are env(1)'s here: `-i` (ignore the environment), `-u NAME` (unset)
//! and `-C DIR` (chdir); use `--ipc`, `--uts` and `--cgroup-ns`. unshare's `--user` and
//! `--cgroup` long names are taken by `--user NAME` (runuser) and `--cgroup PATH`
//! (CLONE_INTO_CGROUP): use `-U`/`--user-ns` and `--cgroup-ns`.

use clap::Args;
use forkexec::attr::{IdMap, Namespaces};

#[derive(Args, Debug, Default)]
#[command(next_help_heading = "Namespaces")]
pub struct NamespaceFlags {
    /// New namespaces made by the clone: user,mount,pid,net,uts,ipc,cgroup,time (Go:
    /// Cloneflags; unshare --fork --user --mount ...).
    #[arg(long = "clone-ns", value_name = "LIST")]
    pub(crate) clone_ns: Option<Namespaces>,
    /// Namespaces the child unshares before chroot and credentials (Go: Unshareflags;
    /// unshare(1)).
    #[arg(long, value_name = "LIST")]
    unshare: Option<Namespaces>,
    /// New user namespace (unshare -U).
    #[arg(short = 'U', long = "user-ns")]
    user_ns: bool,
    /// New mount namespace, / made private recursively (unshare -m).
    #[arg(short = 'm', long)]
    mount: bool,
    /// New pid namespace for the program's children; with -f for the program itself
    /// (unshare -p).
    #[arg(short = 'p', long)]
    pid: bool,
    /// New network namespace (unshare -n).
    #[arg(short = 'n', long)]
    net: bool,
    /// New UTS namespace: hostname, domain name (unshare -u / --uts).
    #[arg(long)]
    uts: bool,
    /// New IPC namespace (unshare -i / --ipc).
    #[arg(long)]
    ipc: bool,
    /// New cgroup namespace (unshare -C / --cgroup).
    #[arg(long = "cgroup-ns")]
    cgroup_ns: bool,
    /// New time namespace for the program's children; with -f for the program itself
    /// (unshare -T).
    #[arg(short = 'T', long)]
    time: bool,
    /// Make the namespaces of -U -m -p -n --uts --ipc --cgroup-ns -T at the clone, so that the
    /// program itself is pid 1 of the new pid namespace (unshare -f / --fork).
    #[arg(short = 'f', long)]
    pub(crate) fork: bool,
    /// Map root in a new user namespace to the current effective uid and gid; implies -U and
    /// setgroups deny (unshare -r).
    #[arg(short = 'r', long, conflicts_with_all = ["uid_map", "gid_map"])]
    map_root_user: bool,
    /// Map the current effective uid and gid to the same ids in a new user namespace; implies
    /// -U and setgroups deny (unshare -c).
    #[arg(short = 'c', long, conflicts_with_all = ["uid_map", "gid_map", "map_root_user"])]
    map_current_user: bool,
    /// A uid_map line written by the parent while the child waits; needs --clone-ns user
    /// (Go: UidMappings; unshare --map-users C:H:N). Repeatable.
    #[arg(long = "uid-map", value_name = "C:H:N")]
    pub(crate) uid_map: Vec<IdMap>,
    /// A gid_map line (Go: GidMappings; unshare --map-groups C:H:N). Repeatable.
    #[arg(long = "gid-map", value_name = "C:H:N")]
    pub(crate) gid_map: Vec<IdMap>,
    /// /proc/PID/setgroups of the new user namespace; default deny with a gid map (Go:
    /// GidMappingsEnableSetgroups; unshare --setgroups).
    #[arg(long, value_name = "allow|deny", value_parser = ["allow", "deny"])]
    setgroups: Option<String>,
}

impl NamespaceFlags {
    /// The namespaces asked for with unshare(1)'s letters.
    fn lettered(&self) -> Namespaces {
        [
            (self.user_ns, Namespaces::USER),
            (self.mount, Namespaces::MOUNT),
            (self.pid, Namespaces::PID),
            (self.net, Namespaces::NET),
            (self.uts, Namespaces::UTS),
            (self.ipc, Namespaces::IPC),
            (self.cgroup_ns, Namespaces::CGROUP),
            (self.time, Namespaces::TIME),
        ]
        .into_iter()
        .filter(|(asked, _)| *asked)
        .fold(Namespaces::NONE, |all, (_, ns)| all | ns)
    }

    /// Whether the parent must write id maps, which needs the user namespace at the clone.
    pub fn maps_ids(&self) -> bool {
        self.map_root_user || self.map_current_user
    }

    /// The namespaces that will be made by the clone.
    pub fn cloned(&self) -> Namespaces {
        let mut ns = self.clone_ns.unwrap_or(Namespaces::NONE);
        if self.fork {
            ns = ns | self.lettered();
        }
        if self.maps_ids() {
            ns = ns | Namespaces::USER;
        }
        ns
    }

    /// The namespaces the child will unshare.
    pub fn unshared(&self) -> Namespaces {
        let mut ns = self.unshare.unwrap_or(Namespaces::NONE);
        if !self.fork {
            let lettered = self.lettered();
            let lettered = if self.maps_ids() {
                Namespaces::from_bits(lettered.bits() & !Namespaces::USER.bits())
            } else {
                lettered
            };
            ns = ns | lettered;
        }
        ns
    }

    pub fn apply(&self, cmd: &mut forkexec::Command) {
        let cloned = self.cloned();
        if !cloned.is_empty() {
            cmd.clone_namespaces(cloned);
        }
        let unshared = self.unshared();
        if !unshared.is_empty() {
            cmd.unshare_namespaces(unshared);
        }
        if self.maps_ids() {
            let uid = rustix::process::geteuid().as_raw();
            let gid = rustix::process::getegid().as_raw();
            let (inside_uid, inside_gid) = if self.map_root_user {
                (0, 0)
            } else {
                (uid, gid)
            };
            cmd.uid_map((inside_uid, uid, 1));
            cmd.gid_map((inside_gid, gid, 1));
        }
        for m in &self.uid_map {
            cmd.uid_map(*m);
        }
        for m in &self.gid_map {
            cmd.gid_map(*m);
        }
        if let Some(s) = &self.setgroups {
            cmd.userns_setgroups(s == "allow");
        }
    }
}
