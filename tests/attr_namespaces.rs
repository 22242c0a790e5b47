//! Namespaces, read from the child's /proc/self/ns/* links, uid_map/gid_map, `id` and its pid.

mod support;
use forkexec::{Command, ErrorStage};
use support::{is_root, probe, sh, skip, userns_available};

fn our_ns(kind: &str) -> String {
    std::fs::read_link(format!("/proc/self/ns/{kind}"))
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

/// The child's namespace links (the child execs readlink itself, so /proc/self is the child).
fn child_ns(cmd: &mut Command, kinds: &[&str]) -> Vec<String> {
    cmd.args(kinds.iter().map(|k| format!("/proc/self/ns/{k}")));
    probe(cmd).lines().map(str::to_string).collect()
}

#[test]
fn user_pid_mount_namespaces_with_maps_on_the_no_fork_path() {
    if !userns_available() {
        return skip("user namespaces are not available");
    }
    let uid = rustix::process::getuid().as_raw();
    let gid = rustix::process::getgid().as_raw();
    let out = probe(
        sh(
            "cat /proc/self/uid_map /proc/self/gid_map; id -u; id -g; echo $$; \
            readlink /proc/self/ns/user /proc/self/ns/pid /proc/self/ns/mnt",
        )
        .clone_namespaces("user,pid,mount")
        .uid_map((0, uid, 1))
        .gid_map((0, gid, 1)),
    );
    let lines: Vec<&str> = out.lines().collect();
    let fields = |l: &str| l.split_whitespace().map(str::to_string).collect::<Vec<_>>();
    assert_eq!(fields(lines[0]), ["0", &uid.to_string(), "1"], "{out}");
    assert_eq!(fields(lines[1]), ["0", &gid.to_string(), "1"], "{out}");
    assert_eq!(lines[2], "0", "id -u inside: {out}");
    assert_eq!(lines[3], "0", "id -g inside: {out}");
    assert_eq!(
        lines[4], "1",
        "the shell is pid 1 of the new pid namespace: {out}"
    );
    assert_ne!(lines[5], our_ns("user"));
    assert_ne!(lines[6], our_ns("pid"));
    assert_ne!(lines[7], our_ns("mnt"));
}

#[test]
fn setgroups_is_denied_by_default_with_a_gid_map_and_allow_works_for_root() {
    if !userns_available() {
        return skip("user namespaces are not available");
    }
    let uid = rustix::process::getuid().as_raw();
    let gid = rustix::process::getgid().as_raw();
    let out = probe(
        Command::new("cat")
            .arg("/proc/self/setgroups")
            .clone_namespaces("user")
            .uid_map((0, uid, 1))
            .gid_map((0, gid, 1)),
    );
    assert_eq!(out, "deny\n");
    if !is_root() {
        return skip("setgroups allow with a gid map needs a privileged parent");
    }
    let out = probe(
        sh("cat /proc/self/setgroups; grep Groups /proc/self/status")
            .clone_namespaces("user")
            .uid_map((0, 0, 1))
            .gid_map((0, 0, 1))
            .userns_setgroups(true)
            .uid(0)
            .gid(0)
            .groups(&[0]),
    );
    assert_eq!(out, "allow\nGroups:\t0 \n");
}

#[test]
fn maps_with_credentials_inside_the_namespace() {
    if !is_root() {
        return skip("mapping other host ids needs root");
    }
    // Host uid 12345 is root inside; setuid(0)/setgid(0) inside make the child that user.
    let out = probe(
        sh("cat /proc/self/uid_map; id -u; id -g; grep -E '^(Uid|Gid)' /proc/self/status")
            .clone_namespaces("user,mount")
            .uid_map((0, 12345, 1))
            .gid_map((0, 12345, 1))
            .uid(0)
            .gid(0),
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["0", "12345", "1"]
    );
    assert_eq!(&lines[1..3], ["0", "0"], "{out}");
}

#[test]
fn a_new_mount_namespace_has_a_private_root() {
    if !is_root() && !userns_available() {
        return skip("mount namespaces need root or user namespaces");
    }
    let mut cmd = Command::new("cat");
    cmd.arg("/proc/self/mountinfo").clone_namespaces("mount");
    if !is_root() {
        let uid = rustix::process::getuid().as_raw();
        let gid = rustix::process::getgid().as_raw();
        cmd.clone_namespaces("user")
            .uid_map((0, uid, 1))
            .gid_map((0, gid, 1));
    }
    let info = probe(&mut cmd);
    let root = info
        .lines()
        .find(|l| l.split_whitespace().nth(4) == Some("/"))
        .expect("a / mount");
    assert!(!root.contains("shared:"), "/ still shared: {root}");
    let ours = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    if !ours
        .lines()
        .any(|l| l.split_whitespace().nth(4) == Some("/") && l.contains("shared:"))
    {
        println!("note: our / is not shared here, so the remount is not observable");
    }
}

#[test]
fn unshare_uts_ipc_net_cgroup_as_root() {
    if !is_root() {
        return skip("unshare of uts/ipc/net/cgroup without a user namespace needs root");
    }
    let kinds = ["uts", "ipc", "net", "cgroup"];
    let got = child_ns(
        Command::new("readlink").unshare_namespaces("uts,ipc,net,cgroup"),
        &kinds,
    );
    for (k, link) in kinds.iter().zip(&got) {
        assert_ne!(link, &our_ns(k), "{k} namespace unchanged");
    }
    // Not asked for: unchanged.
    let same = child_ns(
        Command::new("readlink").unshare_namespaces("uts"),
        &["ipc", "net"],
    );
    assert_eq!(same, [our_ns("ipc"), our_ns("net")]);
}

#[test]
fn unshare_user_and_uts_without_root() {
    if !userns_available() {
        return skip("user namespaces are not available");
    }
    let got = child_ns(
        Command::new("readlink").unshare_namespaces("user,uts"),
        &["user", "uts"],
    );
    assert_ne!(got[0], our_ns("user"));
    assert_ne!(got[1], our_ns("uts"));
}

#[test]
fn unshare_pid_and_time_apply_to_the_programs_children() {
    if !is_root() {
        return skip("pid and time namespaces need root here");
    }
    // The program stays in our pid namespace; its first child is pid 1 of the new one.
    // (echo is a shell builtin: the only fork is the inner sh.)
    let out = probe(sh("echo $$; sh -c 'echo $$'").unshare_namespaces("pid"));
    let pids: Vec<&str> = out.lines().collect();
    assert_ne!(pids[0], "1", "{out}");
    assert_eq!(pids[1], "1", "{out}");
    // A time namespace made by unshare is entered at exec.
    let got = child_ns(
        Command::new("readlink").unshare_namespaces("time"),
        &["time"],
    );
    assert_ne!(got[0], our_ns("time"));
}

#[test]
fn clone_time_and_uts_namespaces() {
    if !is_root() {
        return skip("time/uts namespaces without a user namespace need root");
    }
    let got = child_ns(
        Command::new("readlink").clone_namespaces("time,uts"),
        &["time", "uts"],
    );
    assert_ne!(got[0], our_ns("time"));
    assert_ne!(got[1], our_ns("uts"));
}

#[test]
fn a_failed_map_write_is_reported_and_the_child_reaped() {
    if !userns_available() {
        return skip("user namespaces are not available");
    }
    if is_root() {
        // Root may map anything: use an overlapping map, which the kernel refuses.
        let err = Command::new("true")
            .clone_namespaces("user")
            .uid_map((0, 0, 10))
            .uid_map((5, 100, 10))
            .spawn()
            .unwrap_err();
        assert_eq!(err.stage(), ErrorStage::Child);
        assert_eq!(err.raw_os_error(), Some(libc::EINVAL), "{err}");
        assert!(err.to_string().contains("id maps"), "{err}");
    } else {
        let err = Command::new("true")
            .clone_namespaces("user")
            .uid_map((0, 0, 1))
            .spawn()
            .unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EPERM), "{err}");
    }
}
