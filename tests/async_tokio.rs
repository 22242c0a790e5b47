//! `forkexec::tokio` on a real tokio runtime, current-thread and multi-thread: many children at
//! once, waits cancelled and resumed, kills from another task, signals, large outputs, a pipe
//! between two children, and what happens to a Child dropped before its exit.
//!
//! Every check reads the kernel: exit statuses, /proc/PID (a zombie keeps its entry with state
//! Z until it is reaped; a reaped pid has none), this process's fd table. The suite runs again
//! under the emulated 3.10/4.18/5.4/docker kernels (scripts/test.sh), where there is no pidfd
//! and waits fall back to SIGCHLD.

mod support;

use forkexec::tokio::Command;
use forkexec::Stdio;
use std::os::unix::process::ExitStatusExt;
use std::time::{Duration, Instant};
use support::{assert_helper_passes, children_of_self, fd_table, helper_mode, proc_stat, programs};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::runtime::{Builder, Runtime};
use tokio::time::timeout;

/// A bound for anything that should take milliseconds: a hang fails instead of stalling.
const BOUND: Duration = Duration::from_secs(10);

fn current_thread() -> Runtime {
    Builder::new_current_thread().enable_all().build().unwrap()
}

fn multi_thread() -> Runtime {
    Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Runs `body` on a current-thread runtime, then on a multi-thread one.
fn on_both_runtimes<F: std::future::Future<Output = ()>>(body: impl Fn() -> F) {
    for (name, rt) in [
        ("current-thread", current_thread()),
        ("multi-thread", multi_thread()),
    ] {
        println!("on the {name} runtime");
        rt.block_on(body());
    }
}

/// Whether `pid` is our child, alive or a zombie (a reaped pid has no /proc entry, or a
/// recycled one belongs to another parent).
fn is_our_child(pid: u32) -> bool {
    proc_stat(pid).is_some_and(|st| st.ppid == std::process::id())
}

/// Waits (bounded) until `pid` is no child of ours any more: reaped.
async fn reaped_within(pid: u32, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while is_our_child(pid) {
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    true
}

/// The state letter of /proc/PID/stat (R, S, Z...), None when there is no such process.
fn state(pid: u32) -> Option<char> {
    proc_stat(pid).map(|st| st.state)
}

// ---------------------------------------------------------------------------------------------
// Many children
// ---------------------------------------------------------------------------------------------

/// 1,000 children spawned at once and awaited on one current-thread runtime: each reports its
/// own exit code, none is left a zombie, and the fd table is as it was (every pidfd, and every
/// copy registered with the reactor, closed). Runs in a fresh process of this binary, so that
/// no other test's children or fds are counted.
///
/// Breaks on: a wakeup lost (a wait that never returns: the bound), a status given to the
/// wrong child, a pidfd or its registration leaked, a child never reaped.
#[test]
fn a_thousand_children_on_a_current_thread_runtime() {
    const NAME: &str = "thousand";
    if helper_mode(NAME) {
        thousand_children();
        return;
    }
    if !support::is_x86_64() {
        support::skip("the tiny test programs are x86_64 code");
        return;
    }
    assert_helper_passes(
        "a_thousand_children_on_a_current_thread_runtime",
        NAME,
        "THOUSAND-OK",
        Duration::from_secs(120),
    );
}

fn thousand_children() {
    const CHILDREN: usize = 1000;
    let _dog = support::Watchdog::arm("1,000 async children", Duration::from_secs(100));
    raise_fd_limit(); // two fds per waiting child (its pidfd, the reactor's copy)
                      // Stops itself with SIGSTOP; after SIGCONT, exits with its argc. Stopped children keep
                      // every wait asleep until the test lets them go: each wakes on readiness, not on luck.
    let program = &programs().stop_probe;
    let rt = current_thread();
    // The runtime's own fds (and, without pidfds, the signal driver's) exist before the count.
    rt.block_on(async {
        let status = Command::new(&programs().exit_argc).status().await.unwrap();
        assert_eq!(status.code(), Some(1));
    });
    let fds_before = fd_table(std::process::id()).unwrap();
    let started = Instant::now();
    let results = rt.block_on(async {
        let mut waits = tokio::task::JoinSet::new();
        let mut handles = Vec::with_capacity(CHILDREN);
        for i in 0..CHILDREN {
            let mut cmd = Command::new(program);
            cmd.args(std::iter::repeat("x").take(i % 100));
            let mut child = cmd.spawn().expect("spawn");
            let pid = child.id().expect("not reaped yet");
            handles.push((pid, child.kill_handle().unwrap()));
            waits.spawn(async move { (i, pid, child.wait().await) });
        }
        // Every wait has begun and sleeps: the children are stopped.
        tokio::time::sleep(Duration::from_millis(100)).await;
        for (pid, handle) in &handles {
            let stopped = rustix::process::WaitIdOptions::STOPPED;
            assert!(
                support::wait_unreaped(*pid, stopped, BOUND),
                "{pid} never stopped"
            );
            handle.send_signal(libc::SIGCONT).unwrap();
        }
        let mut results = Vec::with_capacity(CHILDREN);
        while let Some(joined) = waits.join_next().await {
            results.push(joined.expect("a wait task panicked"));
        }
        results
    });
    let elapsed = started.elapsed();
    assert_eq!(results.len(), CHILDREN);
    for (i, pid, status) in &results {
        let status = status
            .as_ref()
            .unwrap_or_else(|e| panic!("wait for child {i}: {e}"));
        // argc = 1 + the i % 100 arguments: each status is its own child's.
        assert_eq!(
            status.code(),
            Some(1 + (i % 100) as i32),
            "child {i} (pid {pid})"
        );
    }
    let left: Vec<_> = children_of_self();
    assert!(left.is_empty(), "children left (zombies?): {left:?}");
    let fds_after = fd_table(std::process::id()).unwrap();
    assert_eq!(fds_before, fds_after, "the fd table changed");
    println!(
        "THOUSAND-OK: {CHILDREN} spawned, stopped, continued and reaped in {elapsed:?}, {} fds \
         before and after",
        fds_after.len()
    );
}

/// RLIMIT_NOFILE's soft limit raised to the hard one (this helper process only).
fn raise_fd_limit() {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let mut limit = getrlimit(Resource::Nofile);
    limit.current = limit.maximum;
    setrlimit(Resource::Nofile, limit).expect("raise RLIMIT_NOFILE");
}

// ---------------------------------------------------------------------------------------------
// Waiting, cancelled and resumed; killing
// ---------------------------------------------------------------------------------------------

/// A wait dropped by a timeout loses nothing: the child runs on, and the next wait returns
/// its status.
///
/// Breaks on: a wait that is not cancel-safe (the status consumed by the dropped future, or
/// a registration left in a state that never wakes again: the second wait's bound).
#[test]
fn wait_cancelled_by_a_timeout_then_awaited_again() {
    on_both_runtimes(|| async {
        let mut child = Command::new("sleep").arg("0.3").spawn().unwrap();
        let pid = child.id().unwrap();
        let first = timeout(Duration::from_millis(50), child.wait()).await;
        assert!(
            first.is_err(),
            "sleep 0.3 cannot have ended after 50 ms: {first:?}"
        );
        assert!(
            matches!(state(pid), Some(s) if s != 'Z'),
            "the child runs on after the cancelled wait: state {:?}",
            state(pid)
        );
        assert_eq!(child.id(), Some(pid));
        let status = timeout(BOUND, child.wait())
            .await
            .expect("the second wait must end")
            .unwrap();
        assert!(status.success(), "{status:?}");
        assert_eq!(
            child.id(),
            None,
            "reaped: the pid is not the child's any more"
        );
        assert!(!is_our_child(pid), "reaped by the wait");
        // A third wait gives the same status without touching the kernel.
        assert_eq!(child.wait().await.unwrap(), status);
    });
}

/// Another task kills the child (through a KillHandle) while this one waits for it: the wait
/// wakes and reports SIGKILL.
///
/// Breaks on: a waiter that does not wake at a kill from elsewhere, a handle that cannot
/// reach the child while it is waited for, a handle that errs after the reap.
#[test]
fn kill_while_another_task_awaits_wait() {
    on_both_runtimes(|| async {
        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        let pid = child.id().unwrap();
        let handle = child.kill_handle().unwrap();
        let waiter = tokio::spawn(async move {
            let status = child.wait().await;
            (status, child)
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiter.is_finished(), "sleep 30 ended early");
        let started = Instant::now();
        handle.start_kill().unwrap();
        let (status, child) = timeout(BOUND, waiter)
            .await
            .expect("the waiter woke")
            .unwrap();
        let status = status.unwrap();
        assert_eq!(status.signal(), Some(libc::SIGKILL), "{status:?}");
        assert_eq!(status.code(), None);
        assert!(!is_our_child(pid));
        println!("killed and reaped {:?} after the kill", started.elapsed());
        // The child is reaped: the handle sends nothing, and says so without an error.
        assert!(handle.start_kill().is_ok());
        assert!(handle.send_signal(0).is_ok());
        drop(child);
    });
}

/// A child killed by a signal from outside reports that signal (no exit code); `kill().await`
/// reports SIGKILL.
///
/// Breaks on: a status rebuilt wrongly from waitid (a signal read as an exit code), a wait
/// that does not wake at a death it did not cause.
#[test]
fn a_child_killed_by_a_signal_reports_it() {
    on_both_runtimes(|| async {
        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        let pid = child.id().unwrap();
        assert!(support::signal_if(
            pid,
            rustix::process::Signal::TERM,
            || is_our_child(pid)
        ));
        let status = timeout(BOUND, child.wait()).await.unwrap().unwrap();
        assert_eq!(status.signal(), Some(libc::SIGTERM), "{status:?}");
        assert_eq!(status.code(), None);

        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        let pid = child.id().unwrap();
        timeout(BOUND, child.kill()).await.unwrap().unwrap();
        let status = child
            .try_wait()
            .unwrap()
            .expect("kill() waits for the reap");
        assert_eq!(status.signal(), Some(libc::SIGKILL), "{status:?}");
        assert!(!is_our_child(pid));
        // After the reap start_kill is Ok and sends nothing (std's rule).
        assert!(child.start_kill().is_ok());
    });
}

// ---------------------------------------------------------------------------------------------
// Pipes
// ---------------------------------------------------------------------------------------------

/// 2 MiB on stdout and 2 MiB on stderr, written in alternating 64 KiB pieces (a pipe holds 64
/// KiB): only a reader of both at once gets them all.
///
/// Breaks on: reading one stream to its end before the other (the child blocks on the full
/// pipe of the other one: a deadlock, failed by the bound), a lost or reordered chunk.
#[test]
fn wait_with_output_with_2_mib_on_stdout_and_2_mib_on_stderr() {
    on_both_runtimes(|| async {
        let script = "for i in $(seq 32); do \
                        head -c 65536 /dev/zero | tr '\\0' o; \
                        head -c 65536 /dev/zero | tr '\\0' e >&2; \
                      done";
        let child = Command::new("sh")
            .args(["-c", script])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let out = timeout(Duration::from_secs(30), child.wait_with_output())
            .await
            .expect("wait_with_output must not deadlock")
            .unwrap();
        assert!(out.status.success(), "{:?}", out.status);
        assert_eq!(out.stdout.len(), 2 << 20);
        assert_eq!(out.stderr.len(), 2 << 20);
        assert!(out.stdout.iter().all(|&b| b == b'o'));
        assert!(out.stderr.iter().all(|&b| b == b'e'));
        // `output()` pipes both by default and reads them the same way.
        let out = Command::new("sh")
            .args(["-c", script])
            .output()
            .await
            .unwrap();
        assert_eq!((out.stdout.len(), out.stderr.len()), (2 << 20, 2 << 20));
    });
}

/// Child A's stdout becomes child B's stdin (`a | sort`), and the parent writes to a third
/// child's stdin through AsyncWrite: what arrives is read from B's stdout.
///
/// Breaks on: a pipe end left non-blocking for B (sort's read fails with EAGAIN), kept open in
/// the parent (B never sees EOF: the bound), or not closed by `wait`.
#[test]
fn piping_child_a_stdout_into_child_b() {
    on_both_runtimes(|| async {
        let mut a = Command::new("sh")
            .args(["-c", "sleep 0.1; printf 'pear\\napple\\nfig\\n'"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let a_out = Stdio::try_from(a.stdout.take().unwrap()).unwrap();
        let b = Command::new("sort")
            .stdin(a_out)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let out = timeout(BOUND, b.wait_with_output()).await.unwrap().unwrap();
        assert!(out.status.success(), "{:?}", out.status);
        assert_eq!(String::from_utf8_lossy(&out.stdout), "apple\nfig\npear\n");
        assert!(timeout(BOUND, a.wait()).await.unwrap().unwrap().success());

        // The parent writes, the child echoes back line by line.
        let mut cat = Command::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = cat.stdin.take().unwrap();
        let mut lines = BufReader::new(cat.stdout.take().unwrap()).lines();
        stdin.write_all(b"one\n").await.unwrap();
        let line = timeout(BOUND, lines.next_line()).await.unwrap().unwrap();
        assert_eq!(line.as_deref(), Some("one"));
        drop(stdin);
        assert_eq!(
            timeout(BOUND, lines.next_line()).await.unwrap().unwrap(),
            None
        );
        assert!(cat.wait().await.unwrap().success());
    });
}

// ---------------------------------------------------------------------------------------------
// A dropped Child
// ---------------------------------------------------------------------------------------------

/// A Child dropped while its process runs leaves no zombie: the runtime reaps it when it
/// exits, while the program goes on with other work.
///
/// Breaks on: no background reap (the pid stays a zombie, state Z, until the bound).
#[test]
fn a_dropped_unwaited_child_is_reaped() {
    on_both_runtimes(|| async {
        let child = Command::new("sleep").arg("0.2").spawn().unwrap();
        let pid = child.id().unwrap();
        drop(child);
        assert!(
            matches!(state(pid), Some(s) if s != 'Z'),
            "still running at the drop: {:?}",
            state(pid)
        );
        assert!(
            reaped_within(pid, BOUND).await,
            "the dropped child is not reaped: state {:?}",
            state(pid)
        );
    });
}

/// A Child dropped where there is no runtime is reaped at the next spawn. In a fresh process
/// of this binary: any spawn of another test would reap it too.
///
/// Breaks on: an orphan dropped without a runtime forgotten (a zombie for the life of the
/// process), or a drop outside a runtime that panics.
#[test]
fn a_child_dropped_outside_a_runtime_is_reaped_at_the_next_spawn() {
    const NAME: &str = "no-runtime";
    if helper_mode(NAME) {
        dropped_outside_a_runtime();
        return;
    }
    assert_helper_passes(
        "a_child_dropped_outside_a_runtime_is_reaped_at_the_next_spawn",
        NAME,
        "NO-RUNTIME-OK",
        Duration::from_secs(60),
    );
}

fn dropped_outside_a_runtime() {
    let rt = current_thread();
    // Still running at the drop (a child that has exited is reaped by the drop itself).
    let child = rt.block_on(async { Command::new("sleep").arg("0.1").spawn().unwrap() });
    let pid = child.id().unwrap();
    drop(child); // no runtime here
    assert!(
        support::wait_unreaped(
            pid,
            rustix::process::WaitIdOptions::EXITED,
            Duration::from_secs(5)
        ),
        "sleep 0.1 did not exit"
    );
    assert_eq!(state(pid), Some('Z'), "exited, not reaped yet");
    rt.block_on(async { Command::new("true").status().await.unwrap() });
    assert!(
        !is_our_child(pid),
        "the next spawn reaps it: {:?}",
        state(pid)
    );
    println!("NO-RUNTIME-OK");
}

/// `kill_on_drop(true)`: the dropped Child is killed at once, and reaped; when it leads a
/// process group (here a session) the whole group goes, grandchildren included.
///
/// Breaks on: kill_on_drop ignored by the async Child (sh lives for 30 s), the group left
/// alone (the background sleep survives), a drop that blocks until the child is reaped.
#[test]
fn kill_on_drop_kills_the_child_and_its_group() {
    on_both_runtimes(|| async {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "sleep 30 & echo $!; wait"])
            .stdout(Stdio::piped())
            .kill_on_drop(true);
        cmd.setsid(true); // forkexec's own attribute, through Deref
        assert!(cmd.get_kill_on_drop());
        let mut child = cmd.spawn().unwrap();
        let pid = child.id().unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let line = timeout(BOUND, lines.next_line()).await.unwrap().unwrap();
        let grandchild: u32 = line.expect("sh prints the sleep's pid").parse().unwrap();
        assert!(matches!(state(grandchild), Some(s) if s != 'Z'));
        let dropped = Instant::now();
        drop(child);
        assert!(
            dropped.elapsed() < Duration::from_millis(100),
            "the drop blocked"
        );
        assert!(reaped_within(pid, BOUND).await, "sh killed and reaped");
        // The sleep was in sh's group: killed too (then reaped by whoever adopted it).
        let deadline = Instant::now() + BOUND;
        while matches!(state(grandchild), Some(s) if s != 'Z') {
            assert!(Instant::now() < deadline, "the group's sleep survived");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });
}

// ---------------------------------------------------------------------------------------------
// The pidfd, attributes, conversions
// ---------------------------------------------------------------------------------------------

/// `pidfd()` is this child's pidfd (the kernel's fdinfo names its pid) where the kernel gives
/// pidfds, and an Unsupported error saying why where it does not; waits work either way.
#[test]
fn the_pidfd_names_the_child_or_says_why_there_is_none() {
    let rt = current_thread();
    rt.block_on(async {
        let mut child = Command::new("sleep").arg("0.05").spawn().unwrap();
        let pid = child.id().unwrap();
        let no_pidfd = support::emulated_lacks().is_some_and(|l| l.clone_pidfd && l.pidfd_open);
        match child.pidfd() {
            Ok(fd) => {
                assert!(!no_pidfd, "this profile has no pidfd, yet one was given");
                use std::os::fd::AsRawFd;
                let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", fd.as_raw_fd()))
                    .unwrap();
                assert_eq!(support::status_field(&info, "Pid"), pid.to_string());
            }
            Err(e) => {
                assert_eq!(e.kind(), std::io::ErrorKind::Unsupported, "{e}");
                assert!(e.to_string().contains("Linux 5."), "{e}");
                println!("no pidfd here: {e}");
            }
        }
        assert!(timeout(BOUND, child.wait())
            .await
            .unwrap()
            .unwrap()
            .success());
    });
}

/// forkexec's attributes through Deref reach the child (read from inside it), and the error
/// of a program that cannot be found is std's.
#[test]
fn forkexec_attributes_reach_the_child() {
    if !support::is_root() {
        support::skip("needs root to change the child's uid and gid");
        return;
    }
    let rt = current_thread();
    rt.block_on(async {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "id -u; id -g; ps -o sid= -p $$"]);
        cmd.setsid(true).uid(65534).gid(65534).groups(&[]);
        let out = timeout(BOUND, cmd.output()).await.unwrap().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let lines: Vec<&str> = text.lines().map(str::trim).collect();
        assert_eq!(&lines[..2], ["65534", "65534"], "{text}");
        // A new session: the shell leads it (its session id is its own pid).
        assert!(
            out.status.success(),
            "{:?} {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(lines.len(), 3, "{text}");

        let err = Command::new("/no/such/program").spawn().unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
        assert_eq!(err.raw_os_error(), Some(libc::ENOENT));
        // The sync spawn's error names the step, and its Child converts.
        let mut cmd = Command::new("/no/such/program");
        let err = cmd.as_forkexec_mut().spawn().unwrap_err();
        assert!(err.to_string().contains("/no/such/program"), "{err}");
        let sync = forkexec::Command::new("true").spawn().unwrap();
        let mut child = forkexec::tokio::Child::try_from(sync).unwrap();
        assert!(child.wait().await.unwrap().success());
    });
}

/// From tokio::process::Command: what its getters show converts (kill_on_drop too); what they
/// hide (a uid, stdio) is refused by name, or dropped by the lossy form.
#[test]
fn conversion_from_tokio_process_command_is_honest() {
    let mut t = tokio::process::Command::new("env");
    t.arg("-0")
        .env("A", "1")
        .current_dir("/")
        .kill_on_drop(true);
    let c = Command::try_from(&t).unwrap();
    assert_eq!(c.get_program(), "env");
    assert_eq!(c.get_args().collect::<Vec<_>>(), ["-0"]);
    assert_eq!(c.get_current_dir(), Some(std::path::Path::new("/")));
    assert!(c.get_kill_on_drop());

    t.uid(65534).stdout(std::process::Stdio::null());
    let err = Command::try_from(&t).unwrap_err();
    assert!(err.hidden.contains(&"uid".to_string()), "{err}");
    assert!(err.hidden.contains(&"stdout".to_string()), "{err}");
    let lossy = Command::from_tokio_lossy(&t);
    assert_eq!(lossy.get_args().collect::<Vec<_>>(), ["-0"]);
    assert!(lossy.get_kill_on_drop());
}
