//! Credentials and chroot, read from the child's /proc/self/status and filesystem view.

mod support;
use forkexec::{Command, ErrorStage};
use support::{is_root, probe, sh, skip, status_field};

#[test]
fn uid_gid_and_groups_are_set_in_the_child() {
    if !is_root() {
        return skip("setuid/setgid/setgroups to other ids need root");
    }
    let status = probe(
        Command::new("cat")
            .arg("/proc/self/status")
            .uid(65534)
            .gid(4242)
            .groups(&[4243, 4244]),
    );
    assert_eq!(status_field(&status, "Uid"), "65534\t65534\t65534\t65534");
    assert_eq!(status_field(&status, "Gid"), "4242\t4242\t4242\t4242");
    assert_eq!(status_field(&status, "Groups"), "4243 4244");
}

#[test]
fn a_root_parent_drops_supplementary_groups_unless_told_to_keep_them() {
    if !is_root() {
        return skip("changing ids needs root");
    }
    // Give an intermediate root process supplementary groups, then let it spawn the probes:
    // `setpriv` is not needed, a first forkexec spawn with groups does it.
    let keep = probe(
        Command::new("cat")
            .arg("/proc/self/status")
            .groups(&[4243, 4244])
            .gid(0),
    );
    assert_eq!(status_field(&keep, "Groups"), "4243 4244");
    let ours = std::fs::read_to_string("/proc/self/status").unwrap();
    let dropped = probe(Command::new("cat").arg("/proc/self/status").gid(4242));
    assert_eq!(
        status_field(&dropped, "Groups"),
        "",
        "uid/gid change drops groups"
    );
    let kept = probe(
        Command::new("cat")
            .arg("/proc/self/status")
            .gid(4242)
            .no_setgroups(true),
    );
    assert_eq!(
        status_field(&kept, "Groups"),
        status_field(&ours, "Groups"),
        "no_setgroups keeps the parent's groups"
    );
}

#[test]
fn a_failing_setgid_names_the_step_and_errno() {
    // In a new user namespace without maps, gid 4242 does not exist: setgid fails (EINVAL)
    // inside the child, after the clone; the error names the step, the id and the errno.
    if !support::userns_available() {
        return skip("user namespaces are not available");
    }
    let err = Command::new("id")
        .clone_namespaces("user")
        .gid(4242)
        .spawn()
        .unwrap_err();
    assert_eq!(err.stage(), ErrorStage::Child);
    assert_eq!(err.step_name(), "setgid");
    assert_eq!(
        err.to_string(),
        "failed to setgid(4242) for \"id\": Invalid argument (EINVAL)"
    );
    let err = Command::new("id")
        .clone_namespaces("user")
        .uid(4242)
        .spawn()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "failed to setuid(4242) for \"id\": Invalid argument (EINVAL)"
    );
}

/// A directory holding /bin/sh and the libraries it loads, plus /marker and /sub.
fn make_chroot() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let sh = std::fs::canonicalize("/bin/sh").unwrap();
    let ldd = std::process::Command::new("ldd").arg(&sh).output().unwrap();
    let mut files = vec![sh.clone()];
    for word in String::from_utf8_lossy(&ldd.stdout).split_whitespace() {
        if word.starts_with('/') {
            files.push(word.into());
        }
    }
    for f in files {
        let dest = dir.path().join(f.strip_prefix("/").unwrap());
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(&f, &dest).unwrap();
    }
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    if !bin.join("sh").exists() {
        std::fs::copy(&sh, bin.join("sh")).unwrap();
    }
    std::fs::write(dir.path().join("marker"), "inside").unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    dir
}

#[test]
fn chroot_changes_the_root_and_dir_resolves_inside_it() {
    if !is_root() {
        return skip("chroot needs CAP_SYS_CHROOT");
    }
    let root = make_chroot();
    let out = probe(
        Command::new("/bin/sh")
            .args([
                "-c",
                "pwd; read x < /marker; echo $x; test -e /etc/passwd || echo no-passwd",
            ])
            .chroot(root.path())
            .current_dir("/sub"),
    );
    assert_eq!(out, "/sub\ninside\nno-passwd\n");
}

#[test]
fn chroot_leaves_no_working_directory_outside_the_new_root() {
    if !is_root() {
        return skip("chroot needs CAP_SYS_CHROOT");
    }
    let root = make_chroot();
    std::fs::write(root.path().join("sub/marker"), "inside-sub").unwrap();
    // `test . -ef /` compares the inodes of the cwd and the new root, as the kernel sees them.
    // Left in the parent's cwd (the bug), the child would be outside the jail, where relative
    // paths reach the host.
    let out = probe(
        Command::new("/bin/sh")
            .args([
                "-c",
                "test . -ef / && echo at-root; read x < marker; echo $x",
            ])
            .chroot(root.path()),
    );
    assert_eq!(out, "at-root\ninside\n", "no dir given: the new root's /");
    // A relative working directory resolves inside the new root, not against the parent's.
    let out = probe(
        Command::new("/bin/sh")
            .args([
                "-c",
                "test . -ef /sub && echo at-sub; read x < marker; echo $x",
            ])
            .chroot(root.path())
            .current_dir("sub"),
    );
    assert_eq!(out, "at-sub\ninside-sub\n");
}

#[test]
fn chroot_with_credentials_runs_as_the_new_user_inside() {
    if !is_root() {
        return skip("chroot and setuid need root");
    }
    let root = make_chroot();
    let out = probe(
        Command::new("/bin/sh")
            .args(["-c", "read x < /marker; echo $x; echo > /denied || true"])
            .chroot(root.path())
            .uid(65534)
            .gid(65534)
            .stderr(forkexec::Stdio::null()),
    );
    assert_eq!(out, "inside\n");
    assert!(
        !root.path().join("denied").exists(),
        "the child wrote / as root: credentials were not applied"
    );
    let _ = sh("true");
}
