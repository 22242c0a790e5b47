//! The spawn storm: many threads spawning at once while other threads hold the locks and fds a
//! spawner must not touch or leak.
//!
//! 8 threads spawn (40,000 spawns by default; `FORKEXEC_STRESS_LONG=1` for 1,000,000, or
//! `FORKEXEC_STRESS_SPAWNS=N`) while 4 noise threads allocate and free memory (malloc arena
//! locks), build `Command`s with env vars through our API, and open and close fds WITHOUT
//! close-on-exec. (Changing the process environment with std::env::set_var while spawning is
//! unsound by std's rules; the documented snapshot for programs that do it anyway is tested in
//! faults.rs.) The checks, and what breaks each:
//!
//! - **0 hangs.** Every wait is bounded (`wait_timeout`, `poll` with a timeout) and a watchdog
//!   ends the process if no spawn completes for 30 s. Breaks on: any path where the spawn never
//!   returns: a child that blocks on a lock its own suspended (vfork) parent thread holds, e.g.
//!   a spawn that kept std's env lock across the clone while a `set_var` writer queues behind
//!   it and the child asks for the lock again; a lost wakeup in a status-pipe protocol; a
//!   child stack shared by two threads. (Measured: a child that merely allocates does NOT hang
//!   here with glibc: a CLONE_VM child shares the lock words, so a lock another thread holds
//!   is released under it; the fork-style "lock held forever" deadlock needs a copied
//!   address space. The rule "the child never allocates" still stands, for the suspended
//!   thread's own locks and for allocators that are not glibc's.)
//! - **0 lost exec errors.** Every 8th spawn targets a missing program (absolute path or a PATH
//!   search) and must fail with step `exec`, ENOENT; every other spawn must succeed. Breaks on: a
//!   report slot shared between concurrent spawns, a report read before the child wrote it, an
//!   errno clobbered by another thread (libc errno in a CLONE_VM child writes the parent's TLS).
//! - **Right program, right argv.** Each tiny program exits with its argc, which is random per
//!   spawn: a child that ran another thread's plan would exit with the wrong code.
//! - **0 zombies.** At the end /proc shows no child of this process, living or zombie. Breaks
//!   on: a failed spawn not reaped, a `Child` whose wait lost the status.
//! - **No leak in the parent.** The same fds are open after the storm as before, and no child
//!   stack outlives its spawning thread. Breaks on: a pidfd or pipe end not closed on an error path (5,000
//!   spawns fail on purpose), a child stack mapped per spawn and never unmapped.
//! - **No leaked fds.** Every 8th spawn is a probe that stays alive after exec; the parent reads
//!   /proc/PID/fd and requires exactly {0, 1, 2, the one mapped fd}, each pointing where it
//!   should. The noise threads keep dozens of inheritable fds open, so a spawner that closes
//!   only "its" fds, or marks close-on-exec too late or not at all, fails here. A quarter of
//!   the probes take the user-namespace path, whose release and status pipes must not leak
//!   either (nor hang: the status pipe of one thread's spawn is inherited, close-on-exec, by
//!   children other threads clone meanwhile).
//! - A quarter of the plain spawns set attributes (setsid, a limit, pdeathsig, umask), so the
//!   longer child sequence runs concurrently too.
//!
//! Before the storm the detectors are calibrated: a probe spawned with `keep_fds(true)` must
//! show an inheritable fd of ours, and an unreaped child must show up as a zombie: proof that the
//! checks can fail.

mod support;

use forkexec::{Command, Stdio};
use std::collections::BTreeSet;
use std::io::Read;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::{fd_table, programs, Rng};

const SPAWNERS: usize = 8;
const NOISE: usize = 4;
/// A bound on any single wait: generous, because 12 busy threads share 2 cores.
const WAIT_BOUND: Duration = Duration::from_secs(20);
/// The watchdog fires when no spawn has completed for this long.
const STALL_BOUND: Duration = Duration::from_secs(30);

fn planned_spawns() -> usize {
    if let Some(n) = std::env::var("FORKEXEC_STRESS_SPAWNS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        return n;
    }
    if std::env::var_os("FORKEXEC_STRESS_LONG").is_some_and(|v| v == "1") {
        1_000_000
    } else {
        40_000
    }
}

#[derive(Default)]
struct Tally {
    ok: AtomicU64,
    enoent: AtomicU64,
    probes: AtomicU64,
    outputs: AtomicU64,
    userns: AtomicU64,
    attrs: AtomicU64,
    hangs: AtomicU64,
    failures: Mutex<Vec<String>>,
}

impl Tally {
    fn fail(&self, msg: String) {
        let mut f = self.failures.lock().unwrap();
        if f.len() < 50 {
            f.push(msg);
        }
    }
}

/// What a spawner thread is doing, for the watchdog's report.
#[repr(u8)]
#[derive(Clone, Copy)]
enum Phase {
    Idle = 0,
    Spawning,
    ProbeRead,
    Waiting,
    Done,
}

const PHASE_NAMES: [&str; 5] = ["idle", "spawning", "reading probe", "waiting", "done"];

struct Shared {
    total: usize,
    next: AtomicUsize,
    progress: AtomicU64,
    phases: Vec<AtomicU8>,
    tickets: Vec<AtomicUsize>,
    tally: Tally,
    stop: AtomicBool,
    seed: u64,
    data_file: PathBuf,
}

#[test]
fn spawn_storm() {
    if !support::is_x86_64() {
        support::skip("the storm's tiny programs are x86_64 code");
        return;
    }
    programs(); // written before any thread spawns (see support::programs)
    let data_dir = tempfile::tempdir().unwrap();
    let data_file = data_dir.path().join("mapped-data");
    std::fs::write(&data_file, b"mapped").unwrap();

    calibrate_fd_detector(&data_file);
    calibrate_zombie_detector();

    // The parent's own resources, to compare after the storm: every pidfd, pipe end and
    // /dev/null of 40,000 spawns (failed ones included) must be closed again.
    let fds_before = open_fds();
    // This thread has spawned (calibration), so it holds one cached child stack: the
    // detector must see it.
    let stacks_before = child_stacks();
    assert!(stacks_before >= 1, "no child stack seen in /proc/self/maps");
    let total = planned_spawns();
    let seed = std::env::var("FORKEXEC_STRESS_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    println!("stress: {total} spawns, {SPAWNERS} spawner + {NOISE} noise threads, seed {seed}");
    let shared = Arc::new(Shared {
        total,
        next: AtomicUsize::new(0),
        progress: AtomicU64::new(0),
        phases: (0..SPAWNERS).map(|_| AtomicU8::new(0)).collect(),
        tickets: (0..SPAWNERS).map(|_| AtomicUsize::new(0)).collect(),
        tally: Tally::default(),
        stop: AtomicBool::new(false),
        seed,
        data_file,
    });

    let watchdog = start_watchdog(shared.clone());
    let noise: Vec<_> = (0..NOISE)
        .map(|n| {
            let s = shared.clone();
            std::thread::Builder::new()
                .name(format!("fx-noise-{n}"))
                .spawn(move || noise_thread(n, &s))
                .unwrap()
        })
        .collect();
    // Let the noise get going before the first spawn.
    std::thread::sleep(Duration::from_millis(20));
    let start = Instant::now();
    let spawners: Vec<_> = (0..SPAWNERS)
        .map(|n| {
            let s = shared.clone();
            std::thread::Builder::new()
                .name(format!("fx-spawn-{n}"))
                .spawn(move || spawner_thread(n, &s))
                .unwrap()
        })
        .collect();
    for t in spawners {
        t.join().expect("a spawner thread panicked");
    }
    let elapsed = start.elapsed();
    shared.stop.store(true, Ordering::Release);
    for t in noise {
        t.join().expect("a noise thread panicked");
    }
    drop(watchdog);

    let t = &shared.tally;
    let done = shared.progress.load(Ordering::Relaxed);
    println!(
        "stress: {done} spawns in {:.2} s ({:.0}/s): {} ok, {} ENOENT as planned, {} fd probes, {} spawns through a user namespace, {} output(), {} with attributes, {} hangs",
        elapsed.as_secs_f64(),
        done as f64 / elapsed.as_secs_f64(),
        t.ok.load(Ordering::Relaxed),
        t.enoent.load(Ordering::Relaxed),
        t.probes.load(Ordering::Relaxed),
        t.userns.load(Ordering::Relaxed),
        t.outputs.load(Ordering::Relaxed),
        t.attrs.load(Ordering::Relaxed),
        t.hangs.load(Ordering::Relaxed),
    );
    let failures = t.failures.lock().unwrap();
    assert!(
        failures.is_empty(),
        "{} failures (seed {seed}), first ones:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(done as usize, total, "every planned spawn was carried out");
    assert_eq!(t.hangs.load(Ordering::Relaxed), 0);
    assert_eq!(t.enoent.load(Ordering::Relaxed) as usize, total.div_ceil(8));

    // No fd leaked in the parent (the noise threads' fds closed when they ended), and no
    // mapping (each spawning thread's cached child stack is unmapped when the thread ends).
    let fds_after = open_fds();
    let leaked: Vec<(i32, PathBuf)> = fds_after
        .iter()
        .filter(|fd| !fds_before.contains(fd))
        .take(10)
        .map(|&fd| {
            (
                fd,
                std::fs::read_link(format!("/proc/self/fd/{fd}")).unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        fds_after.len(),
        fds_before.len(),
        "fds leaked by the storm: {} before, {} after; first new ones: {leaked:?}",
        fds_before.len(),
        fds_after.len()
    );
    let stacks_after = child_stacks();
    assert!(
        stacks_after <= stacks_before,
        "child stacks: {stacks_before} before, {stacks_after} after the spawning threads ended"
    );

    // 0 zombies, and no child left running either: every spawn was waited for.
    let left = support::children_of_self();
    assert!(
        left.is_empty(),
        "children of the test process left behind: {left:?}"
    );
}

fn open_fds() -> Vec<i32> {
    let mut v: Vec<i32> = std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_string_lossy().parse().ok())
        .collect();
    v.sort_unstable();
    v
}

/// Mappings shaped like forkexec's cached child stack (`sys::stack`): 128 KiB read-write
/// directly above a 4 KiB PROT_NONE guard page. One per thread that has spawned, unmapped when
/// that thread ends.
fn child_stacks() -> usize {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    let mut prev: Option<(u64, u64, String)> = None;
    let mut n = 0;
    for line in maps.lines() {
        let mut f = line.split_whitespace();
        let (Some(range), Some(perms)) = (f.next(), f.next()) else {
            continue;
        };
        let Some((a, b)) = range.split_once('-') else {
            continue;
        };
        let (a, b) = (
            u64::from_str_radix(a, 16).unwrap(),
            u64::from_str_radix(b, 16).unwrap(),
        );
        if let Some((pa, pb, pperms)) = &prev {
            if perms == "rw-p"
                && b - a == 128 * 1024
                && pperms == "---p"
                && pb - pa == 4096
                && *pb == a
            {
                n += 1;
            }
        }
        prev = Some((a, b, perms.to_string()));
    }
    n
}

/// Proof that the fd check can fail: with keep_fds(true) an inheritable fd of ours must show
/// up in the child; with the default it must not.
fn calibrate_fd_detector(data_file: &std::path::Path) {
    let progs = programs();
    // SAFETY: open(2) with a valid C string; the fd is owned right below.
    let raw = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY) };
    assert!(raw >= 0);
    // SAFETY: a fresh fd nobody else owns.
    let inheritable = unsafe { OwnedFd::from_raw_fd(raw) };
    for keep in [true, false] {
        let mut cmd = Command::new(&progs.pipe_probe);
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .fd(5, std::fs::File::open(data_file).unwrap())
            .keep_fds(keep);
        let mut child = cmd.spawn().unwrap();
        read_ready_byte(&mut child).unwrap();
        let fds = fd_table(child.id()).unwrap();
        drop(child.stdin.take());
        let st = child.wait_timeout(WAIT_BOUND).unwrap().expect("probe exit");
        assert_eq!(st.code(), Some(1));
        assert_eq!(
            fds.contains_key(&inheritable.as_raw_fd()),
            keep,
            "keep_fds({keep}): child fds {fds:?}, our inheritable fd {}",
            inheritable.as_raw_fd()
        );
    }
}

/// Proof that the zombie check can fail: a child that exits and is not waited for is seen.
fn calibrate_zombie_detector() {
    let mut child = Command::new(&programs().exit_argc).spawn().unwrap();
    let pid = child.id();
    // Wait until it is a zombie without reaping it.
    let exited = rustix::process::WaitIdOptions::EXITED;
    assert!(support::wait_unreaped(pid, exited, Duration::from_secs(10)));
    let seen = support::children_of_self();
    assert!(
        seen.iter().any(|c| c.pid == pid && c.state == 'Z'),
        "unreaped child {pid} not seen as a zombie: {seen:?}"
    );
    assert_eq!(child.wait().unwrap().code(), Some(1));
    assert!(!support::children_of_self().iter().any(|c| c.pid == pid));
}

fn start_watchdog(shared: Arc<Shared>) -> support::Watchdog {
    // The progress watchdog: no completed spawn for STALL_BOUND is a hang.
    let s = shared.clone();
    std::thread::Builder::new()
        .name("fx-stall-watch".into())
        .spawn(move || {
            let mut last = (0u64, Instant::now());
            while !s.stop.load(Ordering::Acquire) {
                std::thread::sleep(Duration::from_millis(100));
                let now = s.progress.load(Ordering::Relaxed);
                if now != last.0 {
                    last = (now, Instant::now());
                } else if last.1.elapsed() > STALL_BOUND {
                    let mut msg = format!(
                        "WATCHDOG: no spawn completed for {STALL_BOUND:?} after {now} spawns (seed {}): a hang\n",
                        s.seed
                    );
                    for (i, (p, t)) in s.phases.iter().zip(&s.tickets).enumerate() {
                        let phase = PHASE_NAMES[p.load(Ordering::Relaxed) as usize];
                        msg.push_str(&format!(
                            "  fx-spawn-{i}: {phase}, spawn #{}\n",
                            t.load(Ordering::Relaxed)
                        ));
                    }
                    for c in support::children_of_self() {
                        msg.push_str(&format!("  child {} {:?} state {}\n", c.pid, c.comm, c.state));
                    }
                    support::die(&msg);
                }
            }
        })
        .unwrap();
    // And an overall bound, far above the expected time, for the whole storm.
    let limit = Duration::from_secs(60) + Duration::from_millis(shared.total as u64 * 5);
    support::Watchdog::arm("the spawn storm", limit)
}

/// Waits (bounded) for the probe's byte on its stdout: the probe runs, so its exec is complete
/// and the close-on-exec fds are gone.
fn read_ready_byte(child: &mut forkexec::Child) -> Result<(), String> {
    let out = child.stdout.as_mut().ok_or("no stdout pipe")?;
    let fd = out.as_fd();
    let mut pfd = [rustix::event::PollFd::new(
        &fd,
        rustix::event::PollFlags::IN,
    )];
    let ts = rustix::event::Timespec {
        tv_sec: WAIT_BOUND.as_secs() as i64,
        tv_nsec: 0,
    };
    loop {
        match rustix::event::poll(&mut pfd, Some(&ts)) {
            Ok(0) => return Err("probe wrote nothing within the bound: a hang".into()),
            Ok(_) => break,
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(format!("poll: {e}")),
        }
    }
    let mut b = [0u8; 1];
    match out.read(&mut b) {
        Ok(1) if b[0] == b'x' => Ok(()),
        other => Err(format!("probe's ready byte: {other:?} {b:?}")),
    }
}

fn spawner_thread(n: usize, s: &Shared) {
    let progs = programs();
    let set_phase = |p: Phase| s.phases[n].store(p as u8, Ordering::Relaxed);
    loop {
        let i = s.next.fetch_add(1, Ordering::Relaxed);
        if i >= s.total {
            break;
        }
        s.tickets[n].store(i, Ordering::Relaxed);
        let mut rng = Rng::new(s.seed ^ (i as u64).wrapping_mul(0x1000_0000_01b3));
        let argc = rng.range(1, 17) as i32;
        set_phase(Phase::Spawning);
        let result = match i % 8 {
            0 => one_missing(i, progs, s),
            // A quarter of the probes go through the user-namespace (release) path.
            1 => one_probe(&mut rng, argc, progs, s, &set_phase, (i / 8) % 4 == 1),
            2 => one_output(&mut rng, argc, progs, s),
            _ => one_plain(&mut rng, argc, progs, s, &set_phase),
        };
        if let Err(msg) = result {
            s.tally.fail(format!("spawn #{i}: {msg}"));
        }
        set_phase(Phase::Idle);
        s.progress.fetch_add(1, Ordering::Relaxed);
    }
    set_phase(Phase::Done);
}

fn args_for(cmd: &mut Command, rng: &mut Rng, argc: i32) {
    for k in 1..argc {
        let len = rng.range(0, 40) as usize;
        cmd.arg(format!("{k}-{}", "a".repeat(len)));
    }
}

fn env_for(cmd: &mut Command, rng: &mut Rng, i: u64) {
    match rng.range(0, 3) {
        0 => {}
        1 => {
            cmd.env(
                format!("FX_STRESS_{i}"),
                "x".repeat(rng.range(0, 200) as usize),
            );
        }
        _ => {
            cmd.env_clear()
                .envs((0..rng.range(0, 20)).map(|k| (format!("K{k}"), format!("v{k}-{i}"))));
        }
    }
}

/// A missing program: must fail at step exec with ENOENT, every time.
fn one_missing(i: usize, progs: &support::Programs, s: &Shared) -> Result<(), String> {
    let mut cmd = if (i / 8) % 2 == 0 {
        Command::new(&progs.missing)
    } else {
        // A PATH search that finds nothing: every candidate is tried.
        Command::new("forkexec-stress-no-such-program")
    };
    cmd.stdout(Stdio::null());
    if (i / 8) % 4 == 3 {
        // The release path reports exec errors through the same shared report.
        // SAFETY: geteuid cannot fail.
        let euid = unsafe { libc::geteuid() };
        cmd.clone_namespaces("user").uid_map((0, euid, 1));
        s.tally.userns.fetch_add(1, Ordering::Relaxed);
    }
    match cmd.spawn() {
        Ok(mut child) => {
            let st = child.wait_timeout(WAIT_BOUND);
            Err(format!(
                "missing program spawned as pid {}: {st:?}",
                child.id()
            ))
        }
        Err(e) if e.step_name() == "exec" && e.raw_os_error() == Some(libc::ENOENT) => {
            s.tally.enoent.fetch_add(1, Ordering::Relaxed);
            Ok(())
        }
        Err(e) => Err(format!(
            "missing program: wrong error: {e} (step {})",
            e.step_name()
        )),
    }
}

fn one_probe(
    rng: &mut Rng,
    argc: i32,
    progs: &support::Programs,
    s: &Shared,
    set_phase: &dyn Fn(Phase),
    userns: bool,
) -> Result<(), String> {
    let target = rng.range(3, 64) as i32;
    let mut cmd = Command::new(&progs.pipe_probe);
    args_for(&mut cmd, rng, argc);
    if userns {
        // The release path: a new user namespace whose uid map the parent writes while the
        // child waits on a pipe, and a status pipe for the exec. Neither pipe may leak.
        // SAFETY: geteuid cannot fail.
        let euid = unsafe { libc::geteuid() };
        cmd.clone_namespaces("user").uid_map((0, euid, 1));
        s.tally.userns.fetch_add(1, Ordering::Relaxed);
    }
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .fd(
            target,
            std::fs::File::open(&s.data_file).map_err(|e| e.to_string())?,
        );
    let mut child = cmd.spawn().map_err(|e| format!("probe spawn: {e}"))?;
    set_phase(Phase::ProbeRead);
    let checked = read_ready_byte(&mut child).and_then(|()| {
        let fds = fd_table(child.id()).map_err(|e| format!("/proc fd table: {e}"))?;
        let seen: BTreeSet<i32> = fds.keys().copied().collect();
        let want: BTreeSet<i32> = [0, 1, 2, target].into_iter().collect();
        if seen != want {
            return Err(format!(
                "probe fds {seen:?}, want {want:?}: leaked {:?}",
                fds.iter()
                    .filter(|(k, _)| !want.contains(k))
                    .collect::<Vec<_>>()
            ));
        }
        let pipe = |fd: i32| fds[&fd].to_string_lossy().starts_with("pipe:");
        if !pipe(0) || !pipe(1) || fds[&2] != std::path::Path::new("/dev/null") {
            return Err(format!("probe stdio wrong: {fds:?}"));
        }
        if fds[&target] != s.data_file {
            return Err(format!(
                "probe fd {target} -> {:?}, want {:?}",
                fds[&target], s.data_file
            ));
        }
        Ok(())
    });
    drop(child.stdin.take());
    set_phase(Phase::Waiting);
    let waited = wait_code(&mut child, argc, s);
    s.tally.probes.fetch_add(1, Ordering::Relaxed);
    checked.and(waited)
}

/// output(): both pipes captured, status == argc.
fn one_output(
    rng: &mut Rng,
    argc: i32,
    progs: &support::Programs,
    s: &Shared,
) -> Result<(), String> {
    let mut cmd = Command::new(&progs.exit_argc);
    args_for(&mut cmd, rng, argc);
    env_for(&mut cmd, rng, argc as u64);
    let out = cmd.output().map_err(|e| format!("output(): {e}"))?;
    s.tally.outputs.fetch_add(1, Ordering::Relaxed);
    if out.status.code() != Some(argc) || !out.stdout.is_empty() || !out.stderr.is_empty() {
        return Err(format!("output(): {out:?}, want exit {argc}"));
    }
    s.tally.ok.fetch_add(1, Ordering::Relaxed);
    Ok(())
}

fn one_plain(
    rng: &mut Rng,
    argc: i32,
    progs: &support::Programs,
    s: &Shared,
    set_phase: &dyn Fn(Phase),
) -> Result<(), String> {
    let mut cmd = Command::new(&progs.exit_argc);
    args_for(&mut cmd, rng, argc);
    let tag = rng.next() % 1000;
    env_for(&mut cmd, rng, tag);
    if rng.chance(4) {
        // Attributes: more steps in the child (session, limits, parent-death signal, umask).
        cmd.setsid(true)
            .rlimit(libc::RLIMIT_NOFILE as i32, 256, 256)
            .pdeathsig(libc::SIGKILL)
            .umask(0o077);
        s.tally.attrs.fetch_add(1, Ordering::Relaxed);
    }
    let stdio = |r: u64| {
        if r == 0 {
            Stdio::null()
        } else {
            Stdio::inherit()
        }
    };
    cmd.stdin(stdio(rng.range(0, 2)))
        .stdout(stdio(rng.range(0, 2)))
        .stderr(stdio(rng.range(0, 2)));
    let mut child = cmd.spawn().map_err(|e| format!("spawn: {e}"))?;
    set_phase(Phase::Waiting);
    wait_code(&mut child, argc, s)
}

fn wait_code(child: &mut forkexec::Child, argc: i32, s: &Shared) -> Result<(), String> {
    match child.wait_timeout(WAIT_BOUND) {
        Ok(Some(st)) if st.code() == Some(argc) => {
            s.tally.ok.fetch_add(1, Ordering::Relaxed);
            Ok(())
        }
        Ok(Some(st)) => Err(format!(
            "pid {} exited {:?} (signal {:?}), want {argc}",
            child.id(),
            st.code(),
            st.signal()
        )),
        Ok(None) => {
            s.tally.hangs.fetch_add(1, Ordering::Relaxed);
            let _ = child.kill();
            let _ = child.wait();
            Err(format!(
                "pid {} still running after {WAIT_BOUND:?}: a hang",
                child.id()
            ))
        }
        Err(e) => Err(format!("wait: {e}")),
    }
}

/// Noise: what other threads of a big server do while we spawn.
fn noise_thread(n: usize, s: &Shared) {
    let mut rng = Rng::new(s.seed ^ (0xdead_beef + n as u64));
    let mut blocks: Vec<Vec<u8>> = (0..64).map(|_| Vec::new()).collect();
    let mut fds: Vec<OwnedFd> = Vec::new();
    let mut round = 0u64;
    while !s.stop.load(Ordering::Acquire) {
        round += 1;
        // Allocate and free: small (tcache, arena lock) and large (mmap) blocks.
        if n != 2 {
            for _ in 0..16 {
                let k = rng.range(0, 64) as usize;
                let size = if rng.chance(50) {
                    rng.range(128 * 1024, 1024 * 1024)
                } else {
                    rng.range(1, 4096)
                } as usize;
                let mut v = vec![0u8; size];
                v[size / 2] = round as u8;
                blocks[k] = v;
            }
        }
        // Commands with env vars built through our API (allocation, std's env read lock for
        // the inherited part) while others spawn.
        if n == 1 || n == 3 {
            let mut cmd = Command::new("forkexec-noise");
            cmd.envs((0..rng.range(1, 32)).map(|k| (format!("NOISE_{k}"), format!("{round}"))));
            cmd.env_remove("HOME");
            drop(cmd);
        }
        // Inheritable fds (no O_CLOEXEC), as C libraries and old code open them.
        if n >= 2 {
            for _ in 0..4 {
                if fds.len() < 48 {
                    if rng.chance(2) {
                        // SAFETY: open(2) with a valid C string; the fd is owned right below.
                        let fd = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY) };
                        if fd >= 0 {
                            // SAFETY: a fresh fd nobody else owns.
                            fds.push(unsafe { OwnedFd::from_raw_fd(fd) });
                        }
                    } else {
                        let mut p = [0i32; 2];
                        // SAFETY: pipe(2) writes two fds into a live array; both owned below.
                        if unsafe { libc::pipe(p.as_mut_ptr()) } == 0 {
                            // SAFETY: fresh fds nobody else owns.
                            unsafe {
                                fds.push(OwnedFd::from_raw_fd(p[0]));
                                fds.push(OwnedFd::from_raw_fd(p[1]));
                            }
                        }
                    }
                }
                if !fds.is_empty() && rng.chance(2) {
                    let k = rng.range(0, fds.len() as u64) as usize;
                    fds.swap_remove(k);
                }
            }
        }
        std::thread::yield_now();
    }
}
