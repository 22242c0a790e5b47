//! `forkexec run` as a supervisor, through the built binary: the signals a caller sends reach
//! the child, which decides how to exit; forkexec exits with the child's status; nothing is
//! left behind (with `--kill-child` not even after SIGKILL); no signal is lost while the child
//! starts; the child gets the mask forkexec was given; a terminal's Ctrl-C reaches the child
//! once; `--foreground` still gives the terminal back; `--status-fd` reports pid and status.

mod cli_support;
use cli_support::{
    eventually, forkexec, pty_slave, text, wait_bounded, KillGroupOnDrop, Watched, BIN,
};
use forkexec::attr::{Signal, SignalSet};
use forkexec::Stdio;
use std::io::{BufRead, BufReader, Read};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(20);

/// What a trapping child does while it waits for its signal: short sleeps (a trap runs between
/// two of them), for 10 s at most, so a broken forkexec cannot leave it running for ever.
const SPIN: &str = "i=0; while [ $i -lt 1000 ]; do sleep 0.01; i=$((i+1)); done; exit 99";

/// Reads one line from the child's stdout.
fn read_line(reader: &mut impl BufRead) -> String {
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    line.trim_end().to_string()
}

fn pipe() -> (OwnedFd, OwnedFd) {
    rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).unwrap()
}

/// The pid in `{"child-pid":PID}`.
fn child_pid(line: &str) -> u32 {
    let v: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|_| panic!("{line:?}"));
    v["child-pid"]
        .as_u64()
        .unwrap_or_else(|| panic!("{line:?}")) as u32
}

#[test]
fn each_forwarded_signal_reaches_a_child_that_traps_it() {
    // The child traps the signal and exits with a code of its own choosing: forkexec must
    // deliver the signal to it (not die of it, not keep it) and exit with that code.
    for (i, name) in ["TERM", "INT", "HUP", "QUIT", "USR1", "USR2", "WINCH"]
        .into_iter()
        .enumerate()
    {
        let code = 60 + i as i32;
        let script = format!("trap 'exit {code}' {name}; echo ready; {SPIN}");
        let mut fx = forkexec(&["run", "--", "sh", "-c", &script])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let _cleanup = KillGroupOnDrop(fx.id());
        let mut out = BufReader::new(fx.stdout.take().unwrap());
        assert_eq!(read_line(&mut out), "ready", "SIG{name}");
        let sig: Signal = name.parse().unwrap();
        fx.send_signal(sig.number()).unwrap();
        let st = wait_bounded(&mut fx, LIMIT, name);
        assert_eq!(st.code(), Some(code), "SIG{name}: {st:?}");
    }
}

#[test]
fn a_forwarded_term_ends_the_child_and_forkexec_exits_128_plus_n() {
    let (r, w) = pipe();
    let mut fx = forkexec(&["run", "--status-fd", "3", "--", "sleep", "100"])
        .fd(3, w)
        .spawn()
        .unwrap();
    let _cleanup = KillGroupOnDrop(fx.id());
    let mut status = BufReader::new(std::fs::File::from(r));
    let started = read_line(&mut status);
    let sleep = Watched::pid(child_pid(&started));
    fx.send_signal(libc::SIGTERM).unwrap();
    let st = wait_bounded(&mut fx, LIMIT, "forkexec after SIGTERM");
    let orphaned = !sleep.exits_within(Duration::from_secs(5));
    sleep.kill();
    assert!(!orphaned, "sleep outlived forkexec: an orphan");
    assert_eq!(st.code(), Some(128 + libc::SIGTERM), "{st:?}");
    let ended: serde_json::Value = serde_json::from_str(&read_line(&mut status)).unwrap();
    assert_eq!(
        ended,
        serde_json::json!({"child-pid": child_pid(&started), "exit-code": 143, "signal": 15})
    );
}

#[test]
fn status_fd_reports_a_normal_exit() {
    let (r, w) = pipe();
    let mut fx = forkexec(&["run", "--status-fd", "3", "--", "sh", "-c", "exit 7"])
        .fd(3, w)
        .spawn()
        .unwrap();
    let st = wait_bounded(&mut fx, LIMIT, "forkexec");
    assert_eq!(st.code(), Some(7));
    let mut lines = String::new();
    std::fs::File::from(r).read_to_string(&mut lines).unwrap();
    let lines: Vec<&str> = lines.lines().collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    let pid = child_pid(lines[0]);
    assert_eq!(lines[0], format!("{{\"child-pid\":{pid}}}"));
    let ended: serde_json::Value = serde_json::from_str(lines[1]).unwrap();
    assert_eq!(
        ended,
        serde_json::json!({"child-pid": pid, "exit-code": 7, "signal": null})
    );
}

/// Starts `forkexec run EXTRA... -- sleep 100` and returns it with a watch on the sleep.
/// (No group clean-up: these tests kill forkexec themselves, and the orphan check is theirs.)
fn forkexec_over_sleep(extra: &[&str]) -> (forkexec::Child, Watched) {
    let (r, w) = pipe();
    let mut args = vec!["run", "--status-fd", "3"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--", "sleep", "100"]);
    let fx = forkexec(&args).fd(3, w).spawn().unwrap();
    let started = read_line(&mut BufReader::new(std::fs::File::from(r)));
    (fx, Watched::pid(child_pid(&started)))
}

#[test]
fn kill_child_leaves_no_orphan_when_forkexec_is_killed() {
    // Control: without --kill-child, SIGKILL (which cannot be forwarded) orphans the child.
    // This is what the flag is for, and shows the check below can see an orphan.
    let (mut fx, sleep) = forkexec_over_sleep(&[]);
    fx.kill().unwrap();
    wait_bounded(&mut fx, LIMIT, "forkexec after SIGKILL");
    let orphaned = !sleep.exits_within(Duration::from_millis(300));
    sleep.kill();
    assert!(orphaned, "the control child died without --kill-child");

    for flag in ["--kill-child", "--kill-child=TERM"] {
        let (mut fx, sleep) = forkexec_over_sleep(&[flag]);
        fx.kill().unwrap();
        wait_bounded(&mut fx, LIMIT, "forkexec after SIGKILL");
        let orphaned = !sleep.exits_within(Duration::from_secs(5));
        sleep.kill();
        assert!(!orphaned, "{flag}: sleep outlived forkexec");
    }
}

/// The pids of `pid`'s children (its only thread's /proc children list).
fn children(pid: u32) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

fn comm(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .unwrap_or_default()
        .trim()
        .to_string()
}

#[test]
fn a_signal_that_comes_while_the_child_starts_is_not_lost() {
    // The status channel is a full pipe, so forkexec blocks in its first write: after the
    // spawn, before it waits. A SIGTERM sent then must neither kill forkexec (the child would
    // be orphaned) nor be lost (forkexec would wait forever): once the pipe drains, the child
    // gets it and forkexec exits 143.
    let (r, w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).unwrap();
    let flags = rustix::fs::fcntl_getfl(&w).unwrap();
    rustix::fs::fcntl_setfl(&w, flags | rustix::fs::OFlags::NONBLOCK).unwrap();
    let page = [b'x'; 4096];
    while rustix::io::write(&w, &page).is_ok() {}
    while rustix::io::write(&w, b"x").is_ok() {}
    rustix::fs::fcntl_setfl(&w, flags).unwrap();

    let mut fx = forkexec(&["run", "--status-fd", "3", "--", "sleep", "100"])
        .fd(3, w)
        .spawn()
        .unwrap();
    let _cleanup = KillGroupOnDrop(fx.id());
    let fx_pid = fx.id();
    let mut sleep_pid = None;
    assert!(
        eventually(LIMIT, || {
            sleep_pid = children(fx_pid).into_iter().find(|&c| comm(c) == "sleep");
            sleep_pid.is_some()
        }),
        "forkexec did not start sleep"
    );
    let sleep = Watched::pid(sleep_pid.unwrap());
    fx.send_signal(libc::SIGTERM).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let mut all = Vec::new();
    let reader = std::thread::spawn(move || {
        std::fs::File::from(r).read_to_end(&mut all).unwrap();
        all
    });
    let st = wait_bounded(&mut fx, LIMIT, "forkexec with a pending SIGTERM");
    let orphaned = !sleep.exits_within(Duration::from_secs(5));
    sleep.kill();
    assert_eq!(st.code(), Some(143), "{st:?}");
    assert!(!orphaned);
    let all = text(&reader.join().unwrap());
    let lines: Vec<&str> = all.trim_start_matches('x').lines().collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[1].contains("\"exit-code\":143"), "{lines:?}");
}

#[test]
fn the_child_starts_with_the_mask_forkexec_was_given() {
    // forkexec blocks the signals it forwards; the program must not inherit that, but must
    // inherit what forkexec's own caller blocked (here USR1), as std and posix_spawn do.
    let mut fx = forkexec(&[
        "run",
        "--",
        "grep",
        "-E",
        "^Sig(Blk|Ign)",
        "/proc/self/status",
    ]);
    fx.signal_mask(SignalSet::from(Signal::USR1));
    let out = fx.output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "SigBlk:\t0000000000000200\nSigIgn:\t0000000000000000\n"
    );
}

/// Builds the SIGINT logger (tests/supervisor/sigint_log.c) with gcc, or says why not.
fn sigint_logger() -> Option<PathBuf> {
    let src = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/supervisor/sigint_log.c");
    let dir = std::env::temp_dir().join(format!("forkexec-sigint-log-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let exe = dir.join("sigint_log");
    match std::process::Command::new("gcc")
        .args(["-O2", "-o"])
        .arg(&exe)
        .arg(src)
        .status()
    {
        Ok(st) if st.success() => Some(exe),
        other => {
            println!("SKIP: cannot build the SIGINT logger with gcc: {other:?}");
            None
        }
    }
}

/// Starts `forkexec run --setsid --setctty -- forkexec run INNER...` with a pty's slave as
/// stdin, so the inner forkexec leads a session with that terminal, and waits until the
/// program prints "ready" on its stdout (returned for the rest).
fn leading_a_session_on(
    slave: std::fs::File,
    inner: &[&str],
) -> (
    forkexec::Child,
    KillGroupOnDrop,
    BufReader<std::process::ChildStdout>,
) {
    let args = [
        &["run", "--setsid", "--setctty", "--", BIN, "run"][..],
        inner,
    ]
    .concat();
    let mut fx = forkexec(&args)
        .stdin(slave)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let cleanup = KillGroupOnDrop(fx.id());
    let mut out = BufReader::new(fx.stdout.take().unwrap());
    assert_eq!(read_line(&mut out), "ready");
    (fx, cleanup, out)
}

/// Runs `forkexec run --setsid --setctty -- forkexec run INNER... -- sigint_log` on a pty,
/// types Ctrl-C once the logger is ready, and returns the logger's lines about SIGINT.
///
/// `hold`: the inner forkexec is stopped (SIGSTOP) while Ctrl-C is typed and continued only
/// once the logger has dequeued the terminal's SIGINT, so that a second SIGINT from forkexec
/// would arrive after it and be seen, not merged into the first (a signal already pending is
/// not queued twice).
fn ctrl_c_in_a_terminal(logger: &Path, inner: &[&str], hold: bool) -> Vec<String> {
    let (master, slave) = pty_slave();
    let logger = logger.to_str().unwrap();
    let inner = [inner, &["--", logger]].concat();
    let (mut fx, _cleanup, mut out) = leading_a_session_on(slave, &inner);
    let inner_fx = children(fx.id())[0] as i32;
    let inner_fx = rustix::process::Pid::from_raw(inner_fx).unwrap();
    let mut lines = Vec::new();
    if hold {
        rustix::process::kill_process(inner_fx, rustix::process::Signal::STOP).unwrap();
        rustix::io::write(&master, b"\x03").unwrap();
        lines.push(read_line(&mut out));
        rustix::process::kill_process(inner_fx, rustix::process::Signal::CONT).unwrap();
    } else {
        rustix::io::write(&master, b"\x03").unwrap();
    }
    let st = wait_bounded(&mut fx, LIMIT, "the SIGINT logger");
    assert!(st.success(), "{st:?}");
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    lines.extend(rest.lines().map(str::to_string));
    lines
}

#[test]
fn a_terminals_ctrl_c_reaches_the_child_once() {
    let Some(logger) = sigint_logger() else {
        return;
    };
    // Same process group as forkexec: the terminal signals both; forwarding it as well would
    // make it two (code 0 = SI_USER, from forkexec), interrupting the child's clean-up.
    let lines = ctrl_c_in_a_terminal(&logger, &[], true);
    assert_eq!(lines, ["INT code=128 from=0"], "same group");
    // In a background group of its own, the child hears Ctrl-C only through forkexec.
    let lines = ctrl_c_in_a_terminal(&logger, &["--setpgid"], false);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].starts_with("INT code=0 from="), "{lines:?}");
    assert_ne!(lines[0], "INT code=0 from=0", "{lines:?}");
    let _ = std::fs::remove_dir_all(logger.parent().unwrap());
}

#[test]
fn a_hangup_reaches_the_child_of_a_session_leader() {
    // forkexec leads a session whose controlling terminal is a pty; the child, in forkexec's
    // group, traps HUP. Closing the master hangs the terminal up, and the kernel sends HUP to
    // the session leader alone: forkexec must pass that one on, though the kernel sent it.
    let (master, slave) = pty_slave();
    let script = format!("trap 'exit 5' HUP; echo ready; {SPIN}");
    let (mut fx, _cleanup, _out) = leading_a_session_on(slave, &["--", "sh", "-c", &script]);
    drop(master);
    let st = wait_bounded(&mut fx, LIMIT, "forkexec after the hangup");
    assert_eq!(st.code(), Some(5), "{st:?}");
}

#[test]
fn foreground_gives_the_terminal_back_after_a_forwarded_sigint() {
    // A session on a pty: sh leads it and runs `forkexec run --foreground -- CHILD`; the child
    // traps INT and sends INT to forkexec, which forwards it to the child's (foreground)
    // group. forkexec must exit with the child's code and leave the terminal to sh's group.
    let (_master, slave) = pty_slave();
    // Inside the script's double quotes: the child's $ must reach the child.
    let spin = SPIN.replace('$', "\\$");
    let child = format!("trap 'exit 3' INT; kill -INT \\$PPID; {spin}");
    let script =
        format!("'{BIN}' run --foreground -- sh -c \"{child}\"; echo rc=$?; cat /proc/self/stat");
    let out = forkexec(&["run", "--setsid", "--setctty", "--", "sh", "-c", &script])
        .stdin(slave)
        .output()
        .unwrap();
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "{:?} {stdout} {}",
        out.status,
        text(&out.stderr)
    );
    let (rc, stat) = stdout.split_once('\n').unwrap();
    assert_eq!(rc, "rc=3", "{}", text(&out.stderr));
    // [ppid, pgrp, session, tty_nr, tpgid]
    let f: Vec<i64> = stat[stat.rfind(')').unwrap() + 4..]
        .split_whitespace()
        .take(5)
        .map(|x| x.parse().unwrap())
        .collect();
    assert_eq!(
        f[4], f[1],
        "the terminal's foreground group is the script's again"
    );
}
