//! `--uid`, `--gid`, `--groups` and `--user` take names, resolved through the passwd and group
//! databases as id(1) resolves them; numbers are taken as they are; an unknown name is a usage
//! error (exit 2) and nothing runs.

mod cli_support;
use cli_support::{assert_refused, is_root, text, BIN};
use std::process::Command;

fn id(args: &[&str]) -> String {
    let out = Command::new("id").args(args).output().unwrap();
    assert!(out.status.success(), "id {args:?}: {}", text(&out.stderr));
    text(&out.stdout).trim().to_string()
}

/// `forkexec run ARGS... -- id -u -g -G`-like probe: the program's uid, gid and groups.
fn run_id(args: &[&str]) -> (String, String, String) {
    let out = Command::new(BIN)
        .arg("run")
        .args(args)
        .args(["--", "sh", "-c", "id -u; id -g; id -G"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    let out = text(&out.stdout);
    let mut lines = out.lines().map(str::to_string);
    (
        lines.next().unwrap(),
        lines.next().unwrap(),
        lines.next().unwrap(),
    )
}

/// Sorted numbers of an `id -G` line (the kernel keeps setgroups' order; id prints the egid
/// first).
fn sorted(groups: &str) -> Vec<u32> {
    let mut v: Vec<u32> = groups
        .split_whitespace()
        .map(|g| g.parse().unwrap())
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

#[test]
fn names_resolve_as_id_resolves_them() {
    if !is_root() {
        println!("SKIP: changing credentials needs root");
        return;
    }
    // Names from this machine's databases, so the test does not assume a distribution.
    let user = "nobody";
    let uid = id(&["-u", user]);
    let gid = id(&["-g", user]);
    let group = id(&["-gn", user]);
    let (u, g, gs) = run_id(&[
        "--uid",
        user,
        "--gid",
        &group,
        "--groups",
        &format!("{group},root"),
    ]);
    assert_eq!((u.as_str(), g.as_str()), (uid.as_str(), gid.as_str()));
    assert_eq!(sorted(&gs), sorted(&format!("{gid} 0")));

    // --user: uid, primary group and supplementary groups, as id USER lists them.
    for user in ["nobody", "root"] {
        let (u, g, gs) = run_id(&["--user", user]);
        assert_eq!(u, id(&["-u", user]), "--user {user}");
        assert_eq!(g, id(&["-g", user]), "--user {user}");
        assert_eq!(sorted(&gs), sorted(&id(&["-G", user])), "--user {user}");
    }

    // A number is taken as it is, with or without a passwd entry.
    let (u, g, _) = run_id(&["--uid", "4242", "--gid", "4343"]);
    assert_eq!((u.as_str(), g.as_str()), ("4242", "4343"));
}

#[test]
fn unknown_names_are_usage_errors() {
    for (args, needle) in [
        (
            &["--uid", "no-such-user-fx"][..],
            "no user \"no-such-user-fx\"",
        ),
        (
            &["--reuid", "no-such-user-fx"],
            "no user \"no-such-user-fx\"",
        ),
        (
            &["--user", "no-such-user-fx"],
            "no user \"no-such-user-fx\"",
        ),
        (
            &["--gid", "no-such-group-fx"],
            "no group \"no-such-group-fx\"",
        ),
        (
            &["--groups", "root,no-such-group-fx"],
            "no group \"no-such-group-fx\"",
        ),
        (&["--init-groups"], "--init-groups needs --uid or --user"),
        (
            &["--uid", "4242", "--init-groups"],
            "uid 4242 has no passwd entry",
        ),
    ] {
        assert_refused("run", args, needle);
    }
}
