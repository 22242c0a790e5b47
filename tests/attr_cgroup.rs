//! Starting inside a cgroup v2 directory (clone3 CLONE_INTO_CGROUP), read from the child's
//! /proc/self/cgroup.

mod support;
use forkexec::{Command, ErrorStage};
use std::path::PathBuf;
use support::{is_root, skip};

/// The cgroup2 mount point and this process's cgroup path under it.
fn our_cgroup() -> Option<(PathBuf, String)> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let mount = info.lines().find_map(|l| {
        let (pre, post) = l.split_once(" - ")?;
        (post.split_whitespace().next()? == "cgroup2").then(|| pre.split_whitespace().nth(4))?
    })?;
    let cg = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let path = cg.lines().find_map(|l| l.strip_prefix("0::"))?.to_string();
    Some((PathBuf::from(mount), path))
}

#[test]
fn the_child_starts_in_the_cgroup() {
    if !is_root() {
        return skip("creating and entering a cgroup needs root (or delegation)");
    }
    let Some((mount, ours)) = our_cgroup() else {
        return skip("no cgroup v2 hierarchy mounted");
    };
    let name = format!("forkexec-test-{}", std::process::id());
    let rel = format!("{}/{name}", ours.trim_end_matches('/'));
    let dir = mount.join(rel.trim_start_matches('/'));
    if let Err(e) = std::fs::create_dir(&dir) {
        return skip(&format!("cannot create {}: {e}", dir.display()));
    }
    let out = Command::new("cat")
        .arg("/proc/self/cgroup")
        .cgroup(&dir)
        .output();
    let _ = std::fs::remove_dir(&dir); // the child was reaped: the cgroup is empty again
    let out = out.unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.lines().any(|l| l == format!("0::{rel}")),
        "child not in {rel}: {text}"
    );
}

#[test]
fn a_missing_cgroup_is_a_parent_side_error() {
    let err = Command::new("true")
        .cgroup("/nonexistent/forkexec-cgroup")
        .spawn()
        .unwrap_err();
    assert_eq!(err.stage(), ErrorStage::Parent);
    assert!(err.to_string().contains("open cgroup"), "{err}");
}
