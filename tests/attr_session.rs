//! Session, process group and terminal attributes, read from the child's /proc/self/stat
//! (field 5 pgrp, 6 session, 7 tty_nr, 8 tpgid), and Child::kill_group reaching grandchildren.

mod support;
use forkexec::{Command, Stdio};
use std::io::{BufRead, BufReader};
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::ExitStatusExt;
use support::{open_pty, probe, stat_field};

fn stat_of(cmd: &mut Command) -> String {
    cmd.arg("/proc/self/stat");
    probe(cmd)
}

#[test]
fn setsid_makes_a_session_and_group_without_terminal() {
    let stat = stat_of(Command::new("cat").setsid(true));
    let pid = stat_field(&stat, 1);
    assert_eq!(stat_field(&stat, 5), pid, "pgrp: {stat}");
    assert_eq!(stat_field(&stat, 6), pid, "session: {stat}");
    assert_eq!(stat_field(&stat, 7), 0, "tty_nr: {stat}");
}

#[test]
fn process_group_zero_leads_a_new_group_in_our_session() {
    let ours = rustix::process::getsid(None)
        .unwrap()
        .as_raw_nonzero()
        .get() as i64;
    let stat = stat_of(Command::new("cat").process_group(0));
    let pid = stat_field(&stat, 1);
    assert_eq!(stat_field(&stat, 5), pid, "pgrp: {stat}");
    assert_eq!(stat_field(&stat, 6), ours, "session: {stat}");
}

#[test]
fn process_group_n_joins_an_existing_group() {
    let mut leader = Command::new("sleep");
    let mut leader = leader
        .arg("30")
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stat = stat_of(Command::new("cat").process_group(leader.id() as i32));
    assert_eq!(stat_field(&stat, 5), leader.id() as i64, "pgrp: {stat}");
    assert_ne!(stat_field(&stat, 1), leader.id() as i64);
    leader.kill().unwrap();
}

/// Spawns `sh` that starts a background `sleep` (the grandchild) and prints its pid.
fn with_grandchild(cmd: &mut Command) -> (forkexec::Child, i32) {
    let mut child = cmd
        .args(["-c", "sleep 100 & echo $!; wait"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    (child, line.trim().parse().expect("grandchild pid"))
}

/// Whether process `pid` (not our child: a grandchild) has ended within `within`: its /proc
/// entry is gone or a zombie. Read from /proc, which every kernel has (pidfd_open needs 5.3);
/// a pid is not reused within these few seconds.
fn exits_within(pid: i32, within: std::time::Duration) -> bool {
    let deadline = std::time::Instant::now() + within;
    loop {
        let ended = match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => true,
            Ok(stat) => stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next())
                .is_some_and(|state| state == "Z" || state == "X"),
        };
        if ended {
            return true;
        }
        if std::time::Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

fn exits_soon(pid: i32) -> bool {
    exits_within(pid, std::time::Duration::from_secs(5))
}

#[test]
fn kill_group_kills_a_grandchild_in_a_new_session() {
    let (mut child, grandchild) = with_grandchild(Command::new("sh").setsid(true));
    assert!(!exits_soon_nonblocking(grandchild), "grandchild died early");
    child.kill_group(libc::SIGKILL).unwrap();
    assert!(
        exits_soon(grandchild),
        "grandchild {grandchild} survived kill_group"
    );
    assert_eq!(child.wait().unwrap().signal(), Some(libc::SIGKILL));
}

#[test]
fn kill_group_kills_a_grandchild_in_a_new_process_group() {
    let (mut child, grandchild) = with_grandchild(Command::new("sh").process_group(0));
    child.kill_group(libc::SIGTERM).unwrap();
    assert!(
        exits_soon(grandchild),
        "grandchild {grandchild} survived kill_group"
    );
    assert_eq!(child.wait().unwrap().signal(), Some(libc::SIGTERM));
}

#[test]
fn kill_on_drop_takes_the_group_along() {
    let (child, grandchild) = with_grandchild(Command::new("sh").setsid(true).kill_on_drop(true));
    drop(child);
    assert!(
        exits_soon(grandchild),
        "grandchild {grandchild} survived the drop"
    );
}

#[test]
fn kill_group_refuses_a_child_that_leads_no_group() {
    let mut leader = Command::new("sleep")
        .arg("30")
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    // Joined someone else's group: its pid is not a group id, kill_group must refuse.
    for cmd in [
        Command::new("sleep").arg("30").kill_on_drop(true),
        Command::new("sleep")
            .arg("30")
            .process_group(leader.id() as i32)
            .kill_on_drop(true),
    ] {
        let mut child = cmd.spawn().unwrap();
        let err = child.kill_group(libc::SIGKILL).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
        assert!(
            child.try_wait().unwrap().is_none(),
            "the child was signalled"
        );
        child.kill().unwrap();
    }
    leader.kill().unwrap();
}

fn exits_soon_nonblocking(pid: i32) -> bool {
    exits_within(pid, std::time::Duration::ZERO)
}

#[test]
fn setctty_on_stdin_makes_the_pty_the_controlling_terminal() {
    let (_master, slave) = open_pty();
    let rdev = slave.metadata().unwrap().rdev() as i64;
    let stat = stat_of(
        Command::new("cat")
            .setsid(true)
            .stdin(slave)
            .setctty(0)
            .stderr(Stdio::null()),
    );
    let pid = stat_field(&stat, 1);
    // tty_nr encodes major/minor differently from st_rdev; compare through the decoded parts.
    let tty_nr = stat_field(&stat, 7);
    assert_eq!(decode_tty_nr(tty_nr), (major(rdev), minor(rdev)), "{stat}");
    assert_eq!(
        stat_field(&stat, 8),
        pid,
        "tpgid: the child's group is in the foreground"
    );
}

#[test]
fn setctty_names_a_child_fd_after_the_fd_map() {
    let (_master, slave) = open_pty();
    let rdev = slave.metadata().unwrap().rdev() as i64;
    let stat = stat_of(
        Command::new("cat")
            .setsid(true)
            .fd(7, slave)
            .setctty(7)
            .stdin(Stdio::null()),
    );
    assert_eq!(
        decode_tty_nr(stat_field(&stat, 7)),
        (major(rdev), minor(rdev)),
        "{stat}"
    );
}

/// proc(5): minor in bits 31-20 and 7-0, major in bits 15-8.
fn decode_tty_nr(n: i64) -> (i64, i64) {
    ((n >> 8) & 0xfff, (n & 0xff) | ((n >> 12) & 0xfff00))
}

fn major(rdev: i64) -> i64 {
    ((rdev >> 8) & 0xfff) | ((rdev >> 32) & !0xfff)
}

fn minor(rdev: i64) -> i64 {
    (rdev & 0xff) | ((rdev >> 12) & !0xff)
}

#[test]
fn without_setctty_a_new_session_has_no_terminal_even_with_a_pty_on_stdin() {
    let (_master, slave) = open_pty();
    let stat = stat_of(Command::new("cat").setsid(true).stdin(slave));
    assert_eq!(stat_field(&stat, 7), 0, "{stat}");
}
