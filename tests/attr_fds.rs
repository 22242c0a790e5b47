//! The fd map: each child fd must end up on the right file, whatever the collisions between
//! parent fd numbers and child fd numbers. Read from the child's /proc/self/fd links.

mod support;
use forkexec::Command;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::PathBuf;
use support::{probe, sh, skip};

/// `n` temp files and an open fd on each.
fn files(n: usize) -> (tempfile::TempDir, Vec<(PathBuf, OwnedFd)>) {
    let dir = tempfile::tempdir().unwrap();
    let v = (0..n)
        .map(|i| {
            let p = dir.path().join(format!("f{i}"));
            std::fs::write(&p, format!("content {i}")).unwrap();
            let fd = OwnedFd::from(std::fs::File::open(&p).unwrap());
            (p, fd)
        })
        .collect();
    (dir, v)
}

/// The files the child sees at `fds` (readlink exec'd directly: /proc/self is the child).
fn links(cmd: &mut Command, fds: &[i32]) -> Vec<PathBuf> {
    cmd.args(fds.iter().map(|f| format!("/proc/self/fd/{f}")));
    probe(cmd).lines().map(PathBuf::from).collect()
}

#[test]
fn a_swap_of_two_parent_fds() {
    let (_d, f) = files(2);
    let (a, b) = (f[0].1.as_raw_fd(), f[1].1.as_raw_fd());
    let (pa, pb) = (f[0].0.clone(), f[1].0.clone());
    let mut it = f.into_iter();
    let fa = it.next().unwrap().1;
    let fb = it.next().unwrap().1;
    // child a <- parent b, child b <- parent a: each source is the other's target.
    let got = links(Command::new("readlink").fd(a, fb).fd(b, fa), &[a, b]);
    assert_eq!(got, [pb, pa]);
}

#[test]
fn a_three_cycle_and_fixed_numbers() {
    let (_d, f) = files(3);
    let nums: Vec<i32> = f.iter().map(|(_, fd)| fd.as_raw_fd()).collect();
    let paths: Vec<PathBuf> = f.iter().map(|(p, _)| p.clone()).collect();
    let mut fds: Vec<OwnedFd> = f.into_iter().map(|(_, fd)| fd).collect();
    let f2 = fds.pop().unwrap();
    let f1 = fds.pop().unwrap();
    let f0 = fds.pop().unwrap();
    // child n0 <- f1, n1 <- f2, n2 <- f0: a rotation through the same numbers.
    let got = links(
        Command::new("readlink")
            .fd(nums[0], f1)
            .fd(nums[1], f2)
            .fd(nums[2], f0),
        &nums,
    );
    assert_eq!(got, [paths[1].clone(), paths[2].clone(), paths[0].clone()]);
}

#[test]
fn fixed_targets_3_4_5_and_in_place() {
    let (_d, f) = files(4);
    let paths: Vec<PathBuf> = f.iter().map(|(p, _)| p.clone()).collect();
    let in_place = f[3].1.as_raw_fd();
    let mut fds: Vec<OwnedFd> = f.into_iter().map(|(_, fd)| fd).collect();
    let f3 = fds.pop().unwrap();
    let f2 = fds.pop().unwrap();
    let f1 = fds.pop().unwrap();
    let f0 = fds.pop().unwrap();
    // Targets 3, 4, 5 are likely the parent numbers of other sources (or of the stdout pipe
    // the probe makes): every collision must be resolved. One fd keeps its own number.
    let got = links(
        Command::new("readlink")
            .fd(3, f2)
            .fd(4, f0)
            .fd(5, f1)
            .fd(in_place, f3),
        &[3, 4, 5, in_place],
    );
    assert_eq!(
        got,
        [
            paths[2].clone(),
            paths[0].clone(),
            paths[1].clone(),
            paths[3].clone()
        ]
    );
}

#[test]
fn only_stdio_and_mapped_fds_reach_the_program() {
    let (_d, f) = files(1);
    let fd = f.into_iter().next().unwrap().1;
    // sh lists its own fds through /proc/$$ (ls runs as its child).
    let out = probe(sh("ls /proc/$$/fd").fd(9, fd));
    let mut got: Vec<i32> = out.lines().map(|l| l.parse().unwrap()).collect();
    got.sort();
    assert_eq!(got, [0, 1, 2, 9], "{out}");
}

#[test]
fn close_fd_closes_an_inherited_stdio_fd() {
    // spawn, not output(): output() sets stdin to /dev/null, which would clash with close_fd(0).
    let out = sh("ls /proc/$$/fd")
        .close_fd(0)
        .stdout(forkexec::Stdio::piped())
        .spawn()
        .unwrap()
        .wait_with_output()
        .unwrap();
    assert!(out.status.success());
    let out = String::from_utf8(out.stdout).unwrap();
    let got: Vec<&str> = out.lines().collect();
    assert_eq!(got, ["1", "2"], "{out}");
}

#[test]
fn the_fd_map_on_the_user_namespace_path() {
    // The release path keeps a status pipe open until exec; targets over every low fd
    // number must not close it early (the parent would reuse the child's stack).
    if !support::userns_available() {
        return skip("user namespaces are not available");
    }
    let (_d, f) = files(1);
    let path = f[0].0.clone();
    let fd = &f[0].1;
    let uid = rustix::process::getuid().as_raw();
    let gid = rustix::process::getgid().as_raw();
    let targets: Vec<i32> = (3..40).collect();
    for _ in 0..20 {
        let mut c = Command::new("readlink");
        c.clone_namespaces("user")
            .uid_map((0, uid, 1))
            .gid_map((0, gid, 1));
        for &t in &targets {
            c.fd(t, fd.try_clone().unwrap());
        }
        let got = links(&mut c, &[3, 20, 39]);
        assert_eq!(got, [path.clone(), path.clone(), path.clone()]);
    }
}
