//! Fault tests: the spawner under conditions a big server meets sooner or later. Each test says
//! what it proves and what kind of bug would make it fail.
//!
//! Tests that must change the whole process (close its fds 0-2, drop privileges, lower a
//! limit) run their body in a fresh process of this test binary (`support::run_helper`), so
//! the other tests, which run in parallel threads, are not affected.

mod support;

use forkexec::{Command, ErrorStage, Stdio};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::{fd_table, programs, run_helper, Watchdog};

const BOUND: Duration = Duration::from_secs(20);

/// Waits until `child` has exited, without reaping it (poll on the pidfd), bounded.
fn wait_exited_unreaped(child: &forkexec::Child) -> bool {
    let pidfd = child.pidfd();
    let mut pfd = [rustix::event::PollFd::new(
        &pidfd,
        rustix::event::PollFlags::IN,
    )];
    let ts = rustix::event::Timespec {
        tv_sec: BOUND.as_secs() as i64,
        tv_nsec: 0,
    };
    loop {
        match rustix::event::poll(&mut pfd, Some(&ts)) {
            Ok(n) => return n > 0,
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => panic!("poll pidfd: {e}"),
        }
    }
}

/// Asserts `pid` is gone: not a child of ours any more, not even a zombie.
fn assert_reaped(pid: u32) {
    if let Some(st) = support::proc_stat(pid) {
        assert_ne!(
            st.ppid,
            std::process::id(),
            "child {pid} not reaped: {st:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// RLIMIT_NPROC
// ---------------------------------------------------------------------------------------------

/// The process limit of a user reached: the spawn must fail cleanly at the clone with EAGAIN
/// (a Parent error naming the step), leave nothing behind, and work again once a child exits.
///
/// Breaks on: a clone failure misread as a child failure or reported with a garbage errno
/// (the report slot read without a child having written it), a cached child stack lost on the
/// error path so later spawns fail or leak, a retry loop on EAGAIN that spins forever.
#[test]
fn nproc_limit_fails_at_clone_with_eagain_and_recovers() {
    const NAME: &str = "nproc";
    if support::helper_mode(NAME) {
        nproc_helper();
        return;
    }
    if !support::is_root() {
        support::skip("needs root to drop to an unprivileged uid with a low RLIMIT_NPROC");
        return;
    }
    if !support::is_x86_64() {
        support::skip("the tiny test programs are x86_64 code");
        return;
    }
    let run = run_helper(
        "nproc_limit_fails_at_clone_with_eagain_and_recovers",
        NAME,
        &[],
        Duration::from_secs(60),
    );
    println!("{}", run.stdout);
    assert!(
        run.success,
        "helper failed ({:?}):\n{}\n{}",
        run.code, run.stdout, run.stderr
    );
    assert!(run.stdout.contains("NPROC-OK"), "{}", run.stdout);
}

fn nproc_helper() {
    let _dog = Watchdog::arm("the RLIMIT_NPROC helper", Duration::from_secs(50));
    let progs = programs(); // written as root, world-readable
                            // A uid nobody else uses, so the per-user count is ours alone.
    let uid = 61_000 + std::process::id() % 1000;
    // SAFETY: plain credential syscalls in a helper process; glibc applies them to all threads.
    unsafe {
        assert_eq!(libc::setgroups(0, std::ptr::null()), 0);
        assert_eq!(libc::setgid(uid), 0);
        assert_eq!(libc::setuid(uid), 0);
    }
    let threads = std::fs::read_dir("/proc/self/task").unwrap().count() as u64;
    let limit = threads + 6;
    let lim = libc::rlimit {
        rlim_cur: limit,
        rlim_max: limit,
    };
    // SAFETY: a valid rlimit struct.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NPROC, &lim) }, 0);

    // Children that stay alive until their stdin closes.
    let probe = |progs: &support::Programs| {
        let mut c = Command::new(&progs.pipe_probe);
        c.stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        c.spawn()
    };
    let mut alive = Vec::new();
    let err = loop {
        match probe(progs) {
            Ok(c) => alive.push(c),
            Err(e) => break e,
        }
        assert!(
            alive.len() as u64 <= limit,
            "RLIMIT_NPROC {limit} not enforced"
        );
    };
    println!(
        "RLIMIT_NPROC {limit} (this process has {threads} threads): {} spawns, then: {err}",
        alive.len()
    );
    assert!(!alive.is_empty(), "not even one spawn below the limit");
    assert_eq!(err.step_name(), "clone", "{err}");
    assert_eq!(err.raw_os_error(), Some(libc::EAGAIN), "{err}");
    assert_eq!(err.stage(), ErrorStage::Parent, "{err}");
    // No stuck state: failing again is the same clean error...
    let again = probe(progs).unwrap_err();
    assert_eq!(again.raw_os_error(), Some(libc::EAGAIN));
    // ...and once one child exits, a spawn works again.
    let mut first = alive.remove(0);
    drop(first.stdin.take());
    assert_eq!(
        first.wait_timeout(BOUND).unwrap().and_then(|s| s.code()),
        Some(1)
    );
    let mut replacement = probe(progs).expect("spawn after a child exited");
    drop(replacement.stdin.take());
    assert_eq!(
        replacement
            .wait_timeout(BOUND)
            .unwrap()
            .and_then(|s| s.code()),
        Some(1)
    );
    for mut c in alive {
        drop(c.stdin.take());
        assert_eq!(
            c.wait_timeout(BOUND).unwrap().and_then(|s| s.code()),
            Some(1)
        );
    }
    let left = support::children_of_self();
    assert!(left.is_empty(), "children left: {left:?}");
    // And many more spawns in a row still work (nothing leaked per failed spawn).
    for _ in 0..50 {
        let st = Command::new(&progs.exit_argc).status().unwrap();
        assert_eq!(st.code(), Some(1));
    }
    println!("NPROC-OK");
}

// ---------------------------------------------------------------------------------------------
// A child killed before its exec
// ---------------------------------------------------------------------------------------------

/// A child SIGKILLed between clone and exec (here: while the kernel copies a 1.5 MB
/// environment) must not hang the spawner, must not be reported as a success with an exit
/// code, and must be reaped. The contract: the spawn returns the child, whose wait reports
/// SIGKILL; the killed child is never a zombie after the wait.
///
/// Which children died before their exec is read from the kernel: a zombie's /proc comm is
/// still the spawning thread's name if it never exec'd (exec renames it to the program).
///
/// Breaks on: a vfork parent that waits for an exec that never comes (a status pipe whose
/// write end the parent also holds, a wait on the child's report only), a report slot that
/// keeps a previous spawn's outcome, a lost wait status.
#[test]
fn child_killed_before_exec_reports_the_signal() {
    if !support::is_x86_64() {
        support::skip("the tiny test programs are x86_64 code");
        return;
    }
    let progs = programs();
    let _dog = Watchdog::arm("child_killed_before_exec", Duration::from_secs(120));
    const THREAD: &str = "fx-prexec-spawn";
    let spawner_tid = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let killed = Arc::new(AtomicU64::new(0));

    // The killer: SIGKILLs every child of the spawning thread that has not exec'd yet.
    let killer = {
        let (tid, done, killed) = (spawner_tid.clone(), done.clone(), killed.clone());
        std::thread::spawn(move || {
            while tid.load(Ordering::Acquire) == 0 {
                std::thread::yield_now();
            }
            let tid = tid.load(Ordering::Acquire) as i32;
            while !done.load(Ordering::Acquire) {
                for pid in support::children_of_thread(tid) {
                    let Ok(pidfd) = rustix::process::pidfd_open(
                        rustix::process::Pid::from_raw(pid as i32).unwrap(),
                        rustix::process::PidfdFlags::empty(),
                    ) else {
                        continue;
                    };
                    // The pidfd pins the pid: if /proc says it is our child and not yet
                    // exec'd now, the pidfd is that process.
                    let still_ours = support::proc_stat(pid).is_some_and(|st| {
                        st.ppid == std::process::id() && st.comm == THREAD && st.state != 'Z'
                    });
                    if still_ours
                        && rustix::process::pidfd_send_signal(&pidfd, rustix::process::Signal::KILL)
                            .is_ok()
                    {
                        killed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        })
    };

    let outcome = std::thread::Builder::new()
        .name(THREAD.into())
        .spawn({
            let tid = spawner_tid.clone();
            let exe = progs.exit_argc.clone();
            move || {
                tid.store(support::gettid() as u64, Ordering::Release);
                let big = "e".repeat(30_000);
                let (mut pre_exec_kills, mut exited, mut post_exec_kills) = (0, 0, 0);
                let start = Instant::now();
                let mut spawns = 0;
                while spawns < 400 && (pre_exec_kills < 5 || spawns < 20) {
                    if start.elapsed() > Duration::from_secs(30) {
                        break;
                    }
                    spawns += 1;
                    let mut cmd = Command::new(&exe);
                    cmd.env_clear()
                        .envs((0..50).map(|k| (format!("BIG{k}"), big.as_str())));
                    let mut child = cmd.spawn().unwrap_or_else(|e| {
                        panic!("spawn #{spawns}: a kill before exec became an error: {e}")
                    });
                    let pid = child.id();
                    assert!(
                        wait_exited_unreaped(&child),
                        "pid {pid} did not end: a hang"
                    );
                    // A zombie keeps its last comm: the thread's name means it never exec'd.
                    let comm = support::proc_stat(pid).map(|s| s.comm).unwrap_or_default();
                    let st = child.wait().unwrap();
                    assert_reaped(pid);
                    match (comm == THREAD, st.code(), st.signal()) {
                        (true, None, Some(libc::SIGKILL)) => pre_exec_kills += 1,
                        (false, Some(1), None) => exited += 1,
                        (false, None, Some(libc::SIGKILL)) => post_exec_kills += 1,
                        other => panic!("pid {pid}: unexpected outcome {other:?} ({st:?})"),
                    }
                }
                (spawns, pre_exec_kills, post_exec_kills, exited)
            }
        })
        .unwrap()
        .join();
    done.store(true, Ordering::Release);
    killer.join().unwrap();
    let (spawns, pre, post, exited) = outcome.expect("spawning thread failed");
    println!(
        "{spawns} spawns with a 1.5 MB environment: {pre} killed before exec, {post} after, \
         {exited} exited normally ({} SIGKILLs sent, repeats to a dying child included)",
        killed.load(Ordering::Relaxed)
    );
    assert!(
        pre > 0,
        "no child was caught before its exec: the test did not test anything"
    );
}

// ---------------------------------------------------------------------------------------------
// EINTR storms
// ---------------------------------------------------------------------------------------------

static HANDLED: AtomicU64 = AtomicU64::new(0);
static HANDLED_IN_CHILD: AtomicU64 = AtomicU64::new(0);
static STORM_PID: AtomicU64 = AtomicU64::new(0);

extern "C" fn on_storm_signal(_sig: libc::c_int) {
    HANDLED.fetch_add(1, Ordering::Relaxed);
    // SAFETY: getpid is async-signal-safe; raw syscall so no libc cache is involved.
    let pid = unsafe { libc::syscall(libc::SYS_getpid) } as u64;
    if pid != STORM_PID.load(Ordering::Relaxed) {
        // We run in a child that shares our memory (CLONE_VM): a handler of the parent ran
        // in the vfork child. The increment lands in the parent's memory, where we see it.
        HANDLED_IN_CHILD.fetch_add(1, Ordering::Relaxed);
    }
}

/// A signal handler installed WITHOUT SA_RESTART fires at ~10 kHz in the spawning and waiting
/// threads (and at the children between clone and exec) while they spawn, wait and capture
/// output: every call must succeed and no EINTR may reach the caller, and the handler must
/// never run inside a child.
///
/// Breaks on: any blocking call (waitid, poll, read, the clone itself) that returns EINTR to
/// the caller instead of retrying; a vfork child that runs the parent's handlers (handlers not
/// reset by CLONE_CLEAR_SIGHAND or by hand, and signals not blocked meanwhile): the handler's
/// counter, in shared memory, records it. Mutation-checked: `Child::wait` without its EINTR
/// retry fails at once; clone3 without CLONE_CLEAR_SIGHAND fails the handler check 3 runs of 3.
#[test]
fn eintr_storm_during_spawns_and_waits() {
    if !support::is_x86_64() {
        support::skip("the tiny test programs are x86_64 code");
        return;
    }
    let progs = programs();
    let _dog = Watchdog::arm("eintr_storm", Duration::from_secs(120));
    STORM_PID.store(std::process::id() as u64, Ordering::Relaxed);
    // SIGWINCH: its default action is to ignore, so a child that receives it after exec is
    // unaffected; the handler only runs where this process's handlers are installed.
    // SAFETY: installing a handler that only touches atomics and calls getpid (both
    // async-signal-safe); no SA_RESTART so that interrupted calls really return EINTR.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_storm_signal as *const () as usize;
        sa.sa_flags = 0;
        libc::sigemptyset(&mut sa.sa_mask);
        assert_eq!(
            libc::sigaction(libc::SIGWINCH, &sa, std::ptr::null_mut()),
            0
        );
    }

    let tids = Arc::new(Mutex::new(Vec::<i32>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let storm = {
        let (tids, stop, sent) = (tids.clone(), stop.clone(), sent.clone());
        std::thread::spawn(move || {
            // 1 ns timer slack: a 100 us sleep then lasts ~100 us, not 150.
            // SAFETY: prctl on this thread only.
            unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, 1, 0, 0, 0) };
            let me = std::process::id() as i32;
            let mut round = 0u64;
            while !stop.load(Ordering::Acquire) {
                round += 1;
                let targets = tids.lock().unwrap().clone();
                for &tid in &targets {
                    // SAFETY: tgkill to threads of this process (they are alive until
                    // `stop`, which is set after they are joined).
                    if unsafe { libc::syscall(libc::SYS_tgkill, me, tid, libc::SIGWINCH) } == 0 {
                        sent.fetch_add(1, Ordering::Relaxed);
                    }
                    // Every few rounds, the children of that thread too (some not exec'd).
                    if round % 4 == 0 {
                        for pid in support::children_of_thread(tid) {
                            let Some(p) = rustix::process::Pid::from_raw(pid as i32) else {
                                continue;
                            };
                            let Ok(pidfd) = rustix::process::pidfd_open(
                                p,
                                rustix::process::PidfdFlags::empty(),
                            ) else {
                                continue;
                            };
                            if support::proc_stat(pid).is_some_and(|s| s.ppid == me as u32) {
                                let _ = rustix::process::pidfd_send_signal(
                                    &pidfd,
                                    rustix::process::Signal::WINCH,
                                );
                            }
                        }
                    }
                }
                std::thread::sleep(Duration::from_micros(100));
            }
        })
    };

    let start = Instant::now();
    let workers: Vec<_> = (0..2)
        .map(|w| {
            let tids = tids.clone();
            let progs_exit = progs.exit_argc.clone();
            let progs_probe = progs.pipe_probe.clone();
            let missing = progs.missing.clone();
            std::thread::spawn(move || -> Result<u64, String> {
                tids.lock().unwrap().push(support::gettid());
                let mut ops = 0u64;
                let t0 = Instant::now();
                while t0.elapsed() < Duration::from_millis(2500) {
                    let k = ops % 7;
                    ops += 1;
                    let e = |what: &str, e: &dyn std::fmt::Display| {
                        format!("worker {w} op {ops} ({what}): {e}")
                    };
                    match k {
                        0 => {
                            let st = Command::new(&progs_exit)
                                .args(["a", "b"])
                                .status()
                                .map_err(|x| e("status", &x))?;
                            if st.code() != Some(3) {
                                return Err(e("status", &format!("{st:?}")));
                            }
                        }
                        1 => {
                            let mut c = Command::new(&progs_exit)
                                .spawn()
                                .map_err(|x| e("spawn", &x))?;
                            match c.wait_timeout(BOUND).map_err(|x| e("wait_timeout", &x))? {
                                Some(st) if st.code() == Some(1) => {}
                                other => return Err(e("wait_timeout", &format!("{other:?}"))),
                            }
                        }
                        2 => {
                            let out = Command::new("echo")
                                .arg("hi")
                                .output()
                                .map_err(|x| e("output", &x))?;
                            if out.stdout != b"hi\n" {
                                return Err(e("output", &format!("{out:?}")));
                            }
                        }
                        3 => match Command::new(&missing).spawn() {
                            Err(x) if x.raw_os_error() == Some(libc::ENOENT) => {}
                            Err(x) => return Err(e("missing", &x)),
                            Ok(_) => return Err(e("missing", &"spawned")),
                        },
                        4 => {
                            // Both pipes of a slow writer: poll and read interrupted often.
                            let out = Command::new("sh")
                                .args([
                                    "-c",
                                    "head -c 300000 /dev/zero; head -c 200000 /dev/zero >&2",
                                ])
                                .output()
                                .map_err(|x| e("output sh", &x))?;
                            if out.stdout.len() != 300_000 || out.stderr.len() != 200_000 {
                                return Err(e(
                                    "output sh",
                                    &format!("{} + {} bytes", out.stdout.len(), out.stderr.len()),
                                ));
                            }
                        }
                        5 => {
                            // The user-namespace path: the parent writes the id map, releases
                            // the child over a pipe and reads a status pipe to EOF.
                            // SAFETY: geteuid cannot fail.
                            let euid = unsafe { libc::geteuid() };
                            let st = Command::new(&progs_exit)
                                .clone_namespaces("user")
                                .uid_map((0, euid, 1))
                                .status()
                                .map_err(|x| e("userns status", &x))?;
                            if st.code() != Some(1) {
                                return Err(e("userns status", &format!("{st:?}")));
                            }
                        }
                        _ => {
                            // A probe blocked on its stdin while we wait with a timeout.
                            let mut c = Command::new(&progs_probe)
                                .stdin(Stdio::piped())
                                .stdout(Stdio::null())
                                .spawn()
                                .map_err(|x| e("probe", &x))?;
                            if c.wait_timeout(Duration::from_millis(3))
                                .map_err(|x| e("wait_timeout running", &x))?
                                .is_some()
                            {
                                return Err(e("probe", &"exited before its stdin closed"));
                            }
                            drop(c.stdin.take());
                            c.wait().map_err(|x| e("wait", &x))?;
                        }
                    }
                }
                Ok(ops)
            })
        })
        .collect();
    let results: Vec<_> = workers.into_iter().map(|t| t.join().unwrap()).collect();
    stop.store(true, Ordering::Release);
    storm.join().unwrap();
    let secs = start.elapsed().as_secs_f64();
    let (sent, handled) = (
        sent.load(Ordering::Relaxed),
        HANDLED.load(Ordering::Relaxed),
    );
    println!(
        "EINTR storm: {} ops in {secs:.1} s, {sent} signals sent to the workers ({:.0}/s), {handled} handled",
        results.iter().filter_map(|r| r.as_ref().ok()).sum::<u64>(),
        sent as f64 / secs
    );
    for r in &results {
        if let Err(msg) = r {
            panic!("{msg}");
        }
    }
    assert_eq!(
        HANDLED_IN_CHILD.load(Ordering::Relaxed),
        0,
        "the parent's signal handler ran inside a vfork child"
    );
    assert!(
        handled > 1000,
        "only {handled} signals handled: no storm happened"
    );
}

// ---------------------------------------------------------------------------------------------
// fds 0-2 closed in the parent
// ---------------------------------------------------------------------------------------------

/// With the parent's fds 0, 1 and 2 closed, the spawner's own fds (pipes, /dev/null) get those
/// numbers. Whatever the mix of stdio settings, the child must see exactly what was asked:
/// inherited closed fds stay closed, piped ends are the parent's pipes, and no internal fd
/// (pipe end of another stream, a status pipe, /dev/null opened for another stream) is
/// dup'd onto or left at 0-2.
///
/// Breaks on: a dup3(src, target) where src == target that leaves CLOEXEC set (the child
/// loses the fd), a move step that clobbers a source sitting at another stream's number, the
/// parent's end of a pipe landing at 0-2 without close-on-exec, a status pipe clobbered by the
/// fd map. Mutation-checked: skipping the CLOEXEC clear loses fd 0 in case 2; skipping the
/// status pipe's copy makes case 10 report a missing program as spawned.
#[test]
fn closed_stdio_in_the_parent() {
    const NAME: &str = "closed-stdio";
    if support::helper_mode(NAME) {
        closed_stdio_helper();
        return;
    }
    if !support::is_x86_64() {
        support::skip("the tiny test programs are x86_64 code");
        return;
    }
    let run = run_helper(
        "closed_stdio_in_the_parent",
        NAME,
        &[],
        Duration::from_secs(60),
    );
    println!("{}", run.stdout);
    assert!(
        run.success,
        "helper failed ({:?}):\n{}\n{}",
        run.code, run.stdout, run.stderr
    );
    assert!(run.stdout.contains("CLOSED-STDIO-OK"), "{}", run.stdout);
}

/// The child's fds once it has exec'd and stopped itself, then lets it finish.
fn stopped_probe_fds(cmd: &mut Command) -> (forkexec::Child, BTreeMap<i32, PathBuf>) {
    let child = cmd.spawn().expect("spawn probe");
    wait_stopped(&child);
    let fds = fd_table(child.id()).expect("fd table");
    (child, fds)
}

fn wait_stopped(child: &forkexec::Child) {
    let deadline = Instant::now() + BOUND;
    loop {
        match rustix::process::waitid(
            rustix::process::WaitId::PidFd(child.pidfd()),
            rustix::process::WaitIdOptions::STOPPED
                | rustix::process::WaitIdOptions::NOHANG
                | rustix::process::WaitIdOptions::NOWAIT,
        ) {
            Ok(Some(_)) => return,
            Ok(None) => {}
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => panic!("waitid: {e}"),
        }
        assert!(Instant::now() < deadline, "probe did not stop: a hang");
        std::thread::sleep(Duration::from_micros(200));
    }
}

fn finish_probe(mut child: forkexec::Child, argc: i32) {
    child.send_signal(libc::SIGCONT).unwrap();
    let st = child.wait_timeout(BOUND).unwrap().expect("probe exit");
    assert_eq!(st.code(), Some(argc));
}

fn pipe_id(fd: impl AsFd) -> PathBuf {
    support::own_fd_target(fd.as_fd().as_raw_fd())
}

fn closed_stdio_helper() {
    let _dog = Watchdog::arm("the closed-stdio helper", Duration::from_secs(50));
    let progs = programs();
    // Keep copies (close-on-exec, high numbers) to restore before returning to libtest.
    // SAFETY: fcntl/close on this process's own fds; no other thread uses 0-2 in the helper.
    let saved: Vec<i32> = (0..3)
        .map(|fd| unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 100) })
        .collect();
    assert!(saved.iter().all(|&f| f >= 100));
    let report = |msg: &str| {
        // SAFETY: writing a live buffer to our saved stdout copy.
        unsafe { libc::write(saved[1], msg.as_ptr().cast(), msg.len()) };
    };
    // SAFETY: as above.
    unsafe {
        libc::close(0);
        libc::close(1);
        libc::close(2);
    }
    let result = std::panic::catch_unwind(|| closed_stdio_cases(progs, &report));
    // SAFETY: restoring 0-2 from the saved copies.
    unsafe {
        for (fd, &s) in saved.iter().enumerate() {
            libc::dup2(s, fd as i32);
        }
    }
    match result {
        Ok(()) => println!("CLOSED-STDIO-OK"),
        Err(e) => {
            // The panic message went to the closed fd 2: repeat it now that 2 is back.
            let msg = e
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| e.downcast_ref::<&str>().copied())
                .unwrap_or("(no message)");
            eprintln!("closed-stdio case failed: {msg}");
            std::panic::resume_unwind(e)
        }
    }
}

fn closed_stdio_cases(progs: &support::Programs, report: &dyn Fn(&str)) {
    let keys = |m: &BTreeMap<i32, PathBuf>| m.keys().copied().collect::<BTreeSet<i32>>();
    let null = PathBuf::from("/dev/null");

    // 1. Everything inherited: the parent has no 0-2, neither may the child.
    let (c, fds) = stopped_probe_fds(&mut Command::new(&progs.stop_probe));
    assert!(fds.is_empty(), "inherit with 0-2 closed: child has {fds:?}");
    finish_probe(c, 1);
    report("inherit: child has no fds\n");

    // 2. stdin + stdout piped, stderr null: the first pipe is created at fds 0 and 1.
    let (c, fds) = stopped_probe_fds(
        Command::new(&progs.stop_probe)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null()),
    );
    assert_eq!(keys(&fds), BTreeSet::from([0, 1, 2]), "{fds:?}");
    assert_eq!(fds[&0], pipe_id(c.stdin.as_ref().unwrap()), "child stdin");
    assert_eq!(fds[&1], pipe_id(c.stdout.as_ref().unwrap()), "child stdout");
    assert_ne!(fds[&0], fds[&1]);
    assert_eq!(fds[&2], null);
    finish_probe(c, 1);
    report("piped/piped/null: right pipes\n");

    // 3. Only stdout piped: no other fd, in particular not the parent's read end.
    let (c, fds) = stopped_probe_fds(Command::new(&progs.stop_probe).stdout(Stdio::piped()));
    assert_eq!(keys(&fds), BTreeSet::from([1]), "{fds:?}");
    assert_eq!(fds[&1], pipe_id(c.stdout.as_ref().unwrap()));
    finish_probe(c, 1);

    // 4. Only stderr piped, stdin null: /dev/null is opened at fd 0 by us.
    let (c, fds) = stopped_probe_fds(
        Command::new(&progs.stop_probe)
            .stdin(Stdio::null())
            .stderr(Stdio::piped()),
    );
    assert_eq!(keys(&fds), BTreeSet::from([0, 2]), "{fds:?}");
    assert_eq!(fds[&0], null);
    assert_eq!(fds[&2], pipe_id(c.stderr.as_ref().unwrap()));
    finish_probe(c, 1);

    // 5. A user fd that landed at 0 mapped to child fd 1, plus a mapped fd 5.
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    std::fs::write(&a, "a").unwrap();
    std::fs::write(&b, "b").unwrap();
    let fa = std::fs::File::open(&a).unwrap();
    assert_eq!(fa.as_raw_fd(), 0, "the lowest free fd is 0");
    let fb = std::fs::File::open(&b).unwrap();
    let (c, fds) = stopped_probe_fds(
        Command::new(&progs.stop_probe)
            .arg("x")
            .stdout(fa)
            .fd(5, fb),
    );
    assert_eq!(keys(&fds), BTreeSet::from([1, 5]), "{fds:?}");
    assert_eq!(fds[&1], a);
    assert_eq!(fds[&5], b);
    finish_probe(c, 2);

    // 6. Data flows through pipes created at 0-2.
    let mut c = Command::new("sh")
        .args(["-c", "read x; echo \"got:$x\"; echo err >&2"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin.as_mut().unwrap().write_all(b"hello\n").unwrap();
    let out = c.wait_with_output().unwrap();
    assert_eq!(
        (out.stdout.as_slice(), out.stderr.as_slice()),
        (&b"got:hello\n"[..], &b"err\n"[..])
    );
    assert!(out.status.success());

    // 7. output(): its /dev/null stdin and both pipes.
    let out = Command::new("sh")
        .args(["-c", "cat; echo out; echo err >&2; ls /proc/$$/fd"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "out\n0\n1\n2\n");
    assert_eq!(out.stderr, b"err\n");

    // 8. Errors are still reported (no error channel lost at 0-2).
    let err = Command::new(&progs.missing)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_err();
    assert_eq!(
        (err.step_name(), err.raw_os_error()),
        ("exec", Some(libc::ENOENT))
    );
    let err = Command::new(&progs.exit_argc)
        .current_dir("/nonexistent-forkexec")
        .stdin(Stdio::piped())
        .spawn()
        .unwrap_err();
    assert_eq!(
        (err.step_name(), err.raw_os_error()),
        ("chdir", Some(libc::ENOENT))
    );
    report("vfork path: all cases passed\n");

    // 9. The release path (a new user namespace whose maps the parent writes while the child
    //    waits) has two internal pipes of its own, created here at the free numbers 0-2.
    if !support::is_root() {
        report("SKIP: the release-path cases map uid 0 into a user namespace: need root\n");
        return;
    }
    let userns = |cmd: &mut Command| {
        cmd.clone_namespaces("user")
            .uid_map((0, 0, 1))
            .gid_map((0, 0, 1));
    };
    let mut cmd = Command::new(&progs.stop_probe);
    userns(&mut cmd);
    let (c, fds) = stopped_probe_fds(&mut cmd);
    assert!(fds.is_empty(), "release path, inherit: child has {fds:?}");
    finish_probe(c, 1);
    let mut cmd = Command::new(&progs.stop_probe);
    userns(&mut cmd);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let (c, fds) = stopped_probe_fds(&mut cmd);
    assert_eq!(keys(&fds), BTreeSet::from([1, 2]), "release path: {fds:?}");
    assert_eq!(fds[&1], pipe_id(c.stdout.as_ref().unwrap()));
    assert_eq!(fds[&2], pipe_id(c.stderr.as_ref().unwrap()));
    finish_probe(c, 1);
    let mut cmd = Command::new("sh");
    userns(&mut cmd);
    let out = cmd
        .args(["-c", "echo out; echo err >&2; ls /proc/$$/fd"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "out\n0\n1\n2\n");
    assert_eq!(out.stderr, b"err\n");
    let mut cmd = Command::new(&progs.missing);
    userns(&mut cmd);
    let err = cmd.stdout(Stdio::piped()).spawn().unwrap_err();
    assert_eq!(
        (err.step_name(), err.raw_os_error()),
        ("exec", Some(libc::ENOENT))
    );

    // 10. Its status pipe (EOF = the child exec'd) is created at fds 2 and 3 here: its write
    //     end sits exactly on mapped child fd 3. If the map clobbered it, the parent would see
    //     EOF before the exec and report success for a program that does not exist.
    let at_high = |path: &PathBuf| {
        let f = std::fs::File::open(path).unwrap();
        // SAFETY: duplicating our own fd to a free high number; owned right below.
        let fd = unsafe { libc::fcntl(f.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 20) };
        assert!(fd >= 20);
        // SAFETY: a fresh fd nobody else owns.
        unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) }
    };
    let mut cmd = Command::new(&progs.missing);
    userns(&mut cmd);
    let err = cmd.fd(3, at_high(&a)).spawn().unwrap_err();
    assert_eq!(
        (err.step_name(), err.raw_os_error()),
        ("exec", Some(libc::ENOENT)),
        "status pipe on a mapped fd: {err}"
    );
    let mut cmd = Command::new(&progs.stop_probe);
    userns(&mut cmd);
    let (c, fds) = stopped_probe_fds(cmd.fd(3, at_high(&a)));
    assert_eq!(keys(&fds), BTreeSet::from([3]), "{fds:?}");
    assert_eq!(fds[&3], a);
    finish_probe(c, 1);
    report("release path: all cases passed\n");
}

// ---------------------------------------------------------------------------------------------
// Full pipes
// ---------------------------------------------------------------------------------------------

/// Output capture with both pipes full: the child writes more than a pipe holds (64 KiB) to
/// both streams, interleaved in chunks, and another one reads its stdin to EOF in the middle
/// of its output. `output()` / `wait_with_output()` must collect everything without deadlock,
/// bounded here at 60 s.
///
/// Breaks on: a collector that reads one stream to EOF before the other (the child blocks on
/// the other, full pipe), one that waits for the exit before reading, or a wait_with_output
/// that does not close the child's stdin first (the child waits for EOF, we wait for it).
#[test]
fn full_pipes_do_not_deadlock_output_capture() {
    // 12 rounds of 128 KiB to each stream, alternating: 1.5 MiB each.
    let script = "i=0; while [ $i -lt 12 ]; do \
                  head -c 131072 /dev/zero | tr '\\0' o; \
                  head -c 131072 /dev/zero | tr '\\0' e >&2; \
                  i=$((i+1)); done";
    let out = support::bounded("interleaved output()", Duration::from_secs(60), move || {
        Command::new("sh").args(["-c", script]).output().unwrap()
    });
    assert!(out.status.success(), "{:?}", out.status);
    assert_eq!((out.stdout.len(), out.stderr.len()), (1_572_864, 1_572_864));
    assert!(out.stdout.iter().all(|&b| b == b'o'));
    assert!(out.stderr.iter().all(|&b| b == b'e'));

    // stdin piped and never written: wait_with_output must close it for the child to go on.
    let out = support::bounded(
        "wait_with_output with stdin",
        Duration::from_secs(60),
        || {
            Command::new("sh")
                .args([
                    "-c",
                    "head -c 1100000 /dev/zero; cat >/dev/null; head -c 1100000 /dev/zero >&2",
                ])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
                .wait_with_output()
                .unwrap()
        },
    );
    assert!(out.status.success());
    assert_eq!((out.stdout.len(), out.stderr.len()), (1_100_000, 1_100_000));
}

// ---------------------------------------------------------------------------------------------

/// Makes the kernel hand out `pid` next (root: /proc/sys/kernel/ns_last_pid) and starts a
/// `sleep` with std's spawner there. None if another process took the number first each time.
fn recycle_pid(pid: u32) -> Option<std::process::Child> {
    for _ in 0..200 {
        if std::fs::write("/proc/sys/kernel/ns_last_pid", format!("{}", pid - 1)).is_err() {
            return None;
        }
        let mut b = std::process::Command::new("sleep").arg("30").spawn().ok()?;
        if b.id() == pid {
            return Some(b);
        }
        let _ = b.kill();
        let _ = b.wait();
    }
    None
}

/// A child's pid reused by another process: signals through the `Child` must never reach the
/// newcomer, even when the child was reaped behind the `Child`'s back (a `waitpid(-1)`
/// elsewhere in the program), and the `Child` must not report the newcomer's status.
///
/// Breaks on: any kill(pid)/waitpid(pid) by number instead of through the pidfd; the test forces
/// the reuse with ns_last_pid, so such a call hits the newcomer every time (mutation-checked:
/// `send_signal` through kill(2) kills the newcomer).
#[test]
fn a_recycled_pid_is_never_signalled_through_an_old_child() {
    if !support::is_root() {
        support::skip("needs root to steer pid allocation with ns_last_pid");
        return;
    }
    for reaped_behind_our_back in [false, true] {
        let mut a = Command::new("sleep").arg("30").spawn().unwrap();
        let pid = a.id();
        if reaped_behind_our_back {
            // Someone else reaps it: SIGKILL by number while it is surely ours, then waitpid.
            // SAFETY: kill/waitpid on our own unreaped child.
            unsafe {
                assert_eq!(libc::kill(pid as i32, libc::SIGKILL), 0);
                let mut st = 0;
                assert_eq!(libc::waitpid(pid as i32, &mut st, 0), pid as i32);
            }
        } else {
            a.kill().unwrap();
            assert_eq!(a.wait().unwrap().signal(), Some(libc::SIGKILL));
        }
        let Some(mut b) = recycle_pid(pid) else {
            support::skip("could not get the kernel to reuse the pid (busy machine)");
            return;
        };
        // Through the old Child: kill, another signal, a wait with a timeout.
        let _ = a.kill();
        let _ = a.send_signal(libc::SIGTERM);
        let waited = a.wait_timeout(Duration::from_millis(50));
        std::thread::sleep(Duration::from_millis(50));
        let b_status = b.try_wait().unwrap();
        let _ = b.kill();
        let _ = b.wait();
        assert!(
            b_status.is_none(),
            "the process that reused pid {pid} was hit: {b_status:?} (reaped elsewhere: {reaped_behind_our_back})"
        );
        // The old Child never reports the newcomer's status as its own.
        if let Ok(Some(st)) = waited {
            assert_eq!(st.signal(), Some(libc::SIGKILL), "{st:?}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// pdeathsig and a parent that dies while spawning
// ---------------------------------------------------------------------------------------------

const VICTIM: &str = "pdeathsig-victim";
const VICTIM_TEST: &str = "pdeathsig_child_never_outlives_a_parent_that_dies_mid_spawn";

/// A parent that dies at any moment of a spawn with pdeathsig(SIGKILL) set (before the clone,
/// between clone and the child's prctl, during its exec, after it) never leaves the child
/// running. The test process's helper is a child subreaper, so orphaned grandchildren come to
/// it and are examined: each must be dead of SIGKILL within a bound.
///
/// Breaks on: checking "is my parent still there" before the prctl instead of after (the
/// parent dying in between leaves the child with nobody to signal it), no check at all (the
/// kernel only signals on a death after the prctl), comparing getppid() against the wrong
/// pid (a thread id, or the subreaper's). Mutation-checked: without the getppid check an
/// orphan `sleep` survives within 60 rounds.
#[test]
fn pdeathsig_child_never_outlives_a_parent_that_dies_mid_spawn() {
    const NAME: &str = "pdeathsig-reaper";
    if support::helper_mode(VICTIM) {
        pdeathsig_victim();
    }
    if support::helper_mode(NAME) {
        pdeathsig_reaper();
        return;
    }
    if !support::is_x86_64() {
        support::skip("the tiny test programs are x86_64 code");
        return;
    }
    let run = run_helper(VICTIM_TEST, NAME, &[], Duration::from_secs(120));
    println!("{}", run.stdout);
    assert!(
        run.success && run.stdout.contains("PDEATHSIG-OK"),
        "helper failed ({:?}):\n{}\n{}",
        run.code,
        run.stdout,
        run.stderr
    );
}

/// Spawns a long-lived grandchild (sleep 60) with pdeathsig(SIGKILL) and a big environment (a slow exec)
/// while another thread ends this whole process after FORKEXEC_VICTIM_DELAY_US.
fn pdeathsig_victim() -> ! {
    let delay: u64 = std::env::var("FORKEXEC_VICTIM_DELAY_US")
        .unwrap()
        .parse()
        .unwrap();
    let big = "p".repeat(30_000);
    // sleep: it lives on by itself (a program reading a pipe from us would see EOF when we
    // die and could exit normally before the signal arrives).
    let mut cmd = Command::new("sleep");
    cmd.arg("60")
        .env_clear()
        .envs((0..40).map(|k| (format!("BIG{k}"), big.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .pdeathsig(libc::SIGKILL);
    std::thread::spawn(move || {
        let t = Instant::now();
        while t.elapsed() < Duration::from_micros(delay) {
            std::hint::spin_loop();
        }
        // SAFETY: ends this helper process at once (exit_group), as a crash would.
        unsafe { libc::_exit(0) }
    });
    let child = cmd.spawn();
    std::thread::sleep(Duration::from_secs(30));
    drop(child);
    // SAFETY: as above; not reached unless the killer thread never ran.
    unsafe { libc::_exit(1) }
}

fn pdeathsig_reaper() {
    let _dog = Watchdog::arm("the pdeathsig reaper", Duration::from_secs(100));
    programs(); // write the programs before the victims exec them
                // SAFETY: prctl on this process: orphaned descendants are reparented to us.
    assert_eq!(
        unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) },
        0
    );
    let exe = std::env::current_exe().unwrap();
    let (mut no_child, mut killed_pre_exec, mut killed_after_exec) = (0, 0, 0);
    let mut rng = support::Rng::new(std::process::id() as u64);
    for round in 0..60 {
        let delay = rng.range(0, 4000);
        let victim = std::process::Command::new(&exe)
            .args([VICTIM_TEST, "--exact", "--test-threads=1"])
            .env(support::HELPER_ENV, VICTIM)
            .env("FORKEXEC_VICTIM_DELAY_US", delay.to_string())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let victim_pid = victim.id();
        let mut victim = victim;
        victim.wait().unwrap();
        // Orphans of the victim are now ours. Each must die of SIGKILL, soon.
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut orphans = 0;
        loop {
            let left: Vec<_> = support::children_of_self()
                .into_iter()
                .filter(|c| c.pid != victim_pid)
                .collect();
            if left.is_empty() {
                break;
            }
            for c in &left {
                if c.state != 'Z' {
                    continue;
                }
                let mut st = 0;
                // SAFETY: reaping a zombie child of ours by its pid.
                let r = unsafe { libc::waitpid(c.pid as i32, &mut st, libc::WNOHANG) };
                if r == c.pid as i32 {
                    orphans += 1;
                    assert!(
                        libc::WIFSIGNALED(st) && libc::WTERMSIG(st) == libc::SIGKILL,
                        "round {round}: orphan {} {:?} ended with status {st:#x}, not SIGKILL",
                        c.pid,
                        c.comm
                    );
                    if c.comm == "sleep" {
                        killed_after_exec += 1;
                    } else {
                        killed_pre_exec += 1;
                    }
                }
            }
            if Instant::now() > deadline {
                for c in &left {
                    // SAFETY: killing our own (reparented) descendant before failing.
                    unsafe { libc::kill(c.pid as i32, libc::SIGKILL) };
                }
                panic!(
                    "round {round} (victim died after {delay} us): orphans outlived it: {left:?}"
                );
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        if orphans == 0 {
            no_child += 1;
        }
    }
    println!(
        "60 victims died mid-spawn: {no_child} before the clone, {killed_pre_exec} orphans \
         killed before their exec, {killed_after_exec} after it; none survived"
    );
    assert!(
        killed_pre_exec + killed_after_exec > 0,
        "no victim got as far as the clone: the test tested nothing"
    );
    println!("PDEATHSIG-OK");
}

// ---------------------------------------------------------------------------------------------
// A large fd table
// ---------------------------------------------------------------------------------------------

/// An inheritable fd near the top of the fd table (RLIMIT_NOFILE - 1) must not reach the child
/// either, and a mapped target that high must arrive. Breaks on: closing "up to some maximum"
/// (a loop to 1024, or to a sysconf value read once) instead of to the end of the table
/// (mutation-checked: the last close range capped at 1023 fails it).
#[test]
fn an_inheritable_fd_at_the_top_of_the_table_stays_out() {
    if !support::is_x86_64() {
        support::skip("the tiny test programs are x86_64 code");
        return;
    }
    let progs = programs();
    let nofile = rustix::process::getrlimit(rustix::process::Resource::Nofile)
        .current
        .unwrap_or(1 << 20)
        .min(1 << 20) as i32;
    let high = nofile - 1;
    // SAFETY: F_GETFD only queries; then dup3 onto that free number without O_CLOEXEC.
    let fd = unsafe {
        assert_eq!(libc::fcntl(high, libc::F_GETFD), -1, "fd {high} in use");
        let null = std::fs::File::open("/dev/null").unwrap();
        let fd = libc::dup3(null.as_raw_fd(), high, 0);
        assert_eq!(fd, high);
        <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd)
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mapped-high");
    std::fs::write(&file, "x").unwrap();
    let (c, fds) = stopped_probe_fds(
        Command::new(&progs.stop_probe)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .fd(high - 1, std::fs::File::open(&file).unwrap()),
    );
    finish_probe(c, 1);
    drop(fd);
    let keys: BTreeSet<i32> = fds.keys().copied().collect();
    assert_eq!(keys, BTreeSet::from([0, 1, 2, high - 1]), "{fds:?}");
    assert_eq!(fds[&(high - 1)], file);
}
