//! A pty as the child's terminal, read through the primary side (tty's answer, stty's size,
//! the output itself), and terminate's statuses, read from the wait.

mod support;
use forkexec::Command;
use std::io::{Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::time::{Duration, Instant};
use support::sh;

/// Everything the program writes to its terminal, until no process holds the replica.
fn read_all(pty: &mut forkexec::Pty) -> String {
    let mut out = String::new();
    pty.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn the_child_runs_on_its_own_pty_and_its_output_arrives_through_the_primary() {
    let mut child = sh("tty; stty size; echo done")
        .pty((30, 100))
        .spawn()
        .unwrap();
    let mut pty = child.take_pty().expect("a pty");
    let out = read_all(&mut pty);
    assert!(child.wait().unwrap().success());
    let lines: Vec<&str> = out.lines().map(|l| l.trim_end_matches('\r')).collect();
    assert!(
        lines[0].starts_with("/dev/pts/"),
        "tty names a pts device: {out:?}"
    );
    assert_eq!(lines[1], "30 100", "{out:?}");
    assert_eq!(lines[2], "done", "{out:?}");
    // It is the controlling terminal of a session the program leads.
    let mut child = sh("ps -o pid=,sid=,tty= -p $$")
        .pty((24, 80))
        .spawn()
        .unwrap();
    let out = read_all(child.pty().unwrap());
    child.wait().unwrap();
    let f: Vec<&str> = out.split_whitespace().collect();
    assert_eq!(f[0], f[1], "session leader: {out:?}");
    assert_eq!(f[0], child.id().to_string(), "{out:?}");
    assert!(f[2].starts_with("pts/"), "controlling terminal: {out:?}");
}

#[test]
fn resize_reaches_the_program_and_input_goes_through_the_line_discipline() {
    let mut child = sh("read line; echo \"got $line\"; stty size")
        .pty((24, 80))
        .spawn()
        .unwrap();
    child.resize(40, 120).unwrap();
    let pty = child.pty().unwrap();
    assert_eq!(pty.size().unwrap(), (40, 120));
    pty.write_all(b"hello\n").unwrap();
    let out = read_all(pty);
    assert!(child.wait().unwrap().success());
    // The line discipline echoes the input, then the program answers.
    assert!(out.contains("hello\r\n"), "echo: {out:?}");
    assert!(out.contains("got hello\r\n"), "{out:?}");
    assert!(out.contains("40 120"), "{out:?}");
}

#[test]
fn a_pty_with_explicit_stdio_is_refused() {
    let err = Command::new("true")
        .pty((24, 80))
        .stdout(forkexec::Stdio::null())
        .status()
        .unwrap_err();
    assert!(err.to_string().contains("pty"), "{err}");
}

#[test]
fn terminate_returns_the_term_status_when_the_child_obeys() {
    let mut child = Command::new("sleep").arg("30").spawn().unwrap();
    let start = Instant::now();
    let st = child.terminate(Duration::from_secs(10)).unwrap();
    assert_eq!(st.signal(), Some(libc::SIGTERM), "{st:?}");
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "no wait for the grace"
    );
}

#[test]
fn terminate_kills_a_child_that_ignores_term_after_the_grace() {
    let mut child = Command::new("sleep")
        .arg("30")
        .ignore_signals("TERM")
        .spawn()
        .unwrap();
    // Let it reach its exec (spawn returns after it; the disposition is the program's).
    let grace = Duration::from_millis(300);
    let start = Instant::now();
    let st = child.terminate(grace).unwrap();
    assert_eq!(st.signal(), Some(libc::SIGKILL), "{st:?}");
    assert!(start.elapsed() >= grace, "KILL only after the grace");
}

#[test]
fn terminate_stops_the_whole_group_of_a_group_leader() {
    // The shell leads a session; its background sleep is in the group. Both get TERM.
    let mut child = sh("sleep 30 & echo $!; wait")
        .setsid(true)
        .stdout(forkexec::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    let mut byte = [0u8; 1];
    let out = child.stdout.as_mut().unwrap();
    while out.read(&mut byte).unwrap() == 1 && byte[0] != b'\n' {
        line.push(byte[0] as char);
    }
    let sleeper: i32 = line.trim().parse().unwrap();
    let st = child.terminate(Duration::from_secs(5)).unwrap();
    assert_eq!(st.signal(), Some(libc::SIGTERM), "{st:?}");
    // The sleeper got TERM too: it is gone (or a zombie of init's).
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let stat = std::fs::read_to_string(format!("/proc/{sleeper}/stat")).unwrap_or_default();
        let gone = stat.is_empty() || stat.contains(") Z ");
        if gone {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the group's sleep survived: {stat}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn terminate_after_the_exit_gives_the_status() {
    let mut child = Command::new("sh").args(["-c", "exit 7"]).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let st = child.terminate(Duration::from_secs(1)).unwrap();
    assert_eq!(st.code(), Some(7));
}
