//! Privilege drops, as root, read from the child's own /proc/self/status and from what a
//! setuid program reports. Without root every test prints `SKIP: <reason>`.
//!
//! What breaks them:
//! - a credential sequence in the wrong order (setuid before setgroups/setgid: the later calls
//!   then fail with EPERM, or, with a lenient implementation, are skipped and the child keeps
//!   root's groups);
//! - a drop that keeps capabilities (PR_SET_KEEPCAPS left on, capabilities raised as ambient
//!   by default, only the effective uid changed so a saved uid 0 can win them back);
//! - a root parent's supplementary groups leaking into a child that asked for an empty list;
//! - no_new_privs not set, or set in the wrong process: the setuid binary then runs as root.
//!
//! Mutation-checked: a setuid(uid) moved before setgroups fails all three tests.

mod support;

use forkexec::Command;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;
use support::{run_helper, status_field};

const NOBODY: u32 = 65534;

/// The child's /proc/self/status, through `cat` run with `cmd`'s settings.
fn child_status(cmd: &mut Command) -> String {
    let out = cmd.arg("/proc/self/status").output().expect("spawn cat");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

fn field(status: &str, key: &str) -> String {
    status_field(status, key).to_string()
}

/// Dropping to 65534 (uid and gid, groups [] or implicitly dropped) leaves no capability in
/// any set, all four uids and gids at 65534, and none of the parent's supplementary groups.
/// The helper gives itself root-ish supplementary groups first (0, 4, 27, 4242) and checks
/// that an undropped child shows them and full capabilities: the reader can see what the drop
/// must remove.
#[test]
fn dropping_to_nobody_leaves_no_capability_and_no_group_of_roots() {
    const NAME: &str = "drop-to-nobody";
    if support::helper_mode(NAME) {
        drop_to_nobody_helper();
        return;
    }
    if !support::is_root() {
        support::skip("dropping privileges needs root");
        return;
    }
    let run = run_helper(
        "dropping_to_nobody_leaves_no_capability_and_no_group_of_roots",
        NAME,
        &[],
        Duration::from_secs(60),
    );
    println!("{}", run.stdout);
    assert!(
        run.success && run.stdout.contains("DROP-OK"),
        "helper failed ({:?}):\n{}\n{}",
        run.code,
        run.stdout,
        run.stderr
    );
}

fn drop_to_nobody_helper() {
    // The helper's own supplementary groups: what must not reach the dropped child.
    let groups: [libc::gid_t; 4] = [0, 4, 27, 4242];
    // SAFETY: setgroups with a live array, in a helper process of our own.
    assert_eq!(unsafe { libc::setgroups(groups.len(), groups.as_ptr()) }, 0);

    // Control: no drop. The reader sees the groups and the capabilities.
    let st = child_status(&mut Command::new("cat"));
    assert_eq!(field(&st, "Groups"), "0 4 27 4242", "control: {st}");
    assert_ne!(field(&st, "CapEff"), "0000000000000000", "control: {st}");
    assert_eq!(field(&st, "Uid"), "0\t0\t0\t0");

    for (what, explicit_empty_groups) in [("groups([])", true), ("implicit drop", false)] {
        let mut cmd = Command::new("cat");
        cmd.uid(NOBODY).gid(NOBODY);
        if explicit_empty_groups {
            cmd.groups(&[]);
        }
        let st = child_status(&mut cmd);
        let ids = format!("{NOBODY}\t{NOBODY}\t{NOBODY}\t{NOBODY}");
        assert_eq!(
            field(&st, "Uid"),
            ids,
            "{what}: real, effective, saved, fs uid"
        );
        assert_eq!(
            field(&st, "Gid"),
            ids,
            "{what}: real, effective, saved, fs gid"
        );
        assert_eq!(
            field(&st, "Groups"),
            "",
            "{what}: supplementary groups left"
        );
        for set in ["CapInh", "CapPrm", "CapEff", "CapAmb"] {
            assert_eq!(field(&st, set), "0000000000000000", "{what}: {set}");
        }
        println!("{what}: uid/gid {NOBODY}, Groups empty, CapInh/Prm/Eff/Amb 0");
    }
    println!("DROP-OK");
}

/// Whatever order the builder methods are called in, the child runs setgroups, then setgid,
/// then setuid: otherwise setgroups/setgid after setuid(65534) would fail with EPERM (the
/// control below shows the kernel refusing them to an unprivileged process).
#[test]
fn setuid_before_setgroups_is_impossible_through_the_api() {
    const NAME: &str = "setgroups-as-nobody";
    if support::helper_mode(NAME) {
        // Control, in a process that is already 65534: setgroups is refused.
        // SAFETY: credential calls in a helper process of our own.
        unsafe {
            assert_eq!(libc::setgroups(0, std::ptr::null()), 0);
            assert_eq!(libc::setgid(NOBODY), 0);
            assert_eq!(libc::setuid(NOBODY), 0);
        }
        let err = Command::new("true").groups(&[4243]).status().unwrap_err();
        assert_eq!(
            (err.step_name(), err.raw_os_error()),
            ("setgroups", Some(libc::EPERM)),
            "{err}"
        );
        println!("CONTROL-OK: {err}");
        return;
    }
    if !support::is_root() {
        support::skip("setuid/setgid/setgroups to other ids need root");
        return;
    }
    let run = run_helper(
        "setuid_before_setgroups_is_impossible_through_the_api",
        NAME,
        &[],
        Duration::from_secs(60),
    );
    assert!(
        run.success && run.stdout.contains("CONTROL-OK"),
        "control helper failed:\n{}\n{}",
        run.stdout,
        run.stderr
    );

    type Setter = fn(&mut Command);
    let set_uid: Setter = |c| {
        c.uid(NOBODY);
    };
    let set_gid: Setter = |c| {
        c.gid(65533);
    };
    let set_groups: Setter = |c| {
        c.groups(&[4243, 4244]);
    };
    let orders: [[(&str, Setter); 3]; 6] = [
        [("uid", set_uid), ("gid", set_gid), ("groups", set_groups)],
        [("uid", set_uid), ("groups", set_groups), ("gid", set_gid)],
        [("gid", set_gid), ("uid", set_uid), ("groups", set_groups)],
        [("gid", set_gid), ("groups", set_groups), ("uid", set_uid)],
        [("groups", set_groups), ("uid", set_uid), ("gid", set_gid)],
        [("groups", set_groups), ("gid", set_gid), ("uid", set_uid)],
    ];
    for order in orders {
        let names: Vec<&str> = order.iter().map(|(n, _)| *n).collect();
        let mut cmd = Command::new("cat");
        for (_, set) in order {
            set(&mut cmd);
        }
        let st = child_status(&mut cmd);
        assert_eq!(field(&st, "Uid"), "65534\t65534\t65534\t65534", "{names:?}");
        assert_eq!(field(&st, "Gid"), "65533\t65533\t65533\t65533", "{names:?}");
        assert_eq!(field(&st, "Groups"), "4243 4244", "{names:?}");
        assert_eq!(field(&st, "CapEff"), "0000000000000000", "{names:?}");
    }
}

/// A copy of /usr/bin/id made setuid root. Run as 65534 it reports euid 0 (the control: the
/// file system honours setuid bits here), and with no_new_privs it must report 65534.
#[test]
fn no_new_privs_stops_a_setuid_binary() {
    if !support::is_root() {
        support::skip("making a setuid-root binary and dropping to 65534 need root");
        return;
    }
    let Some(id) = ["/usr/bin/id", "/bin/id"]
        .iter()
        .find(|p| std::path::Path::new(p).exists())
    else {
        support::skip("no id(1) to copy");
        return;
    };
    let dir = tempfile::Builder::new()
        .prefix("forkexec-nnp-")
        .tempdir()
        .unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let suid = dir.path().join("id-setuid");
    std::fs::copy(id, &suid).unwrap();
    std::fs::set_permissions(&suid, std::fs::Permissions::from_mode(0o4755)).unwrap();

    let euid = |nnp: bool| -> String {
        let out = Command::new(&suid)
            .arg("-u")
            .uid(NOBODY)
            .gid(NOBODY)
            .groups(&[])
            .no_new_privs(nnp)
            .output()
            .expect("spawn the setuid copy");
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    let without = euid(false);
    if without != "0" {
        support::skip(&format!(
            "setuid bits are not honoured here (euid {without}): nothing to block"
        ));
        return;
    }
    assert_eq!(
        euid(true),
        NOBODY.to_string(),
        "no_new_privs let the setuid bit work"
    );
    println!("setuid id as {NOBODY}: euid 0 without no_new_privs, {NOBODY} with it");
}
