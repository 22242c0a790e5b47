//! Shared by the reliability suites (stress, faults, props): tiny test programs, what the
//! kernel says about our children (/proc), a watchdog, and re-running one test in a fresh
//! process of this test binary.
//!
//! Everything here reads effects from the kernel (/proc, wait statuses), never from
//! forkexec's own bookkeeping.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// Tiny programs: static, no libc, a few dozen bytes of x86_64 code each. A spawn of one costs
// the clone and the exec and nothing else, which is what lets the storm reach 20,000 spawns in
// seconds on two cores.
// ---------------------------------------------------------------------------------------------

/// `exit_group(argc)`: the exit status tells which argv the kernel handed to the program.
#[rustfmt::skip]
const CODE_EXIT_ARGC: &[u8] = &[
    0x48, 0x8b, 0x3c, 0x24,             // mov rdi, [rsp]      ; argc
    0xb8, 0xe7, 0x00, 0x00, 0x00,       // mov eax, 231        ; exit_group
    0x0f, 0x05,                         // syscall
];

/// `write(1, "x", 1); read(0, buf, 1); exit_group(argc)`: proves it runs (the byte) and then
/// stays alive until its stdin is closed, so the parent can look at it in /proc.
#[rustfmt::skip]
const CODE_PIPE_PROBE: &[u8] = &[
    0x6a, 0x78,                         // push 'x'
    0xb8, 0x01, 0x00, 0x00, 0x00,       // mov eax, 1          ; write
    0xbf, 0x01, 0x00, 0x00, 0x00,       // mov edi, 1
    0x48, 0x89, 0xe6,                   // mov rsi, rsp
    0xba, 0x01, 0x00, 0x00, 0x00,       // mov edx, 1
    0x0f, 0x05,                         // syscall
    0x31, 0xc0,                         // xor eax, eax        ; read
    0x31, 0xff,                         // xor edi, edi
    0x48, 0x89, 0xe6,                   // mov rsi, rsp
    0xba, 0x01, 0x00, 0x00, 0x00,       // mov edx, 1
    0x0f, 0x05,                         // syscall
    0x48, 0x8b, 0x7c, 0x24, 0x08,       // mov rdi, [rsp+8]    ; argc
    0xb8, 0xe7, 0x00, 0x00, 0x00,       // mov eax, 231        ; exit_group
    0x0f, 0x05,                         // syscall
];

/// `kill(getpid(), SIGSTOP); exit_group(argc)`: stops itself once it runs, so the parent can
/// inspect it with waitid(WSTOPPED) as the proof that the exec is complete (no fd of the
/// parent's is used to signal readiness, so every fd number is free for the test).
#[rustfmt::skip]
const CODE_STOP_PROBE: &[u8] = &[
    0xb8, 0x27, 0x00, 0x00, 0x00,       // mov eax, 39         ; getpid
    0x0f, 0x05,                         // syscall
    0x89, 0xc7,                         // mov edi, eax
    0xbe, 0x13, 0x00, 0x00, 0x00,       // mov esi, 19         ; SIGSTOP
    0xb8, 0x3e, 0x00, 0x00, 0x00,       // mov eax, 62         ; kill
    0x0f, 0x05,                         // syscall
    0x48, 0x8b, 0x3c, 0x24,             // mov rdi, [rsp]      ; argc
    0xb8, 0xe7, 0x00, 0x00, 0x00,       // mov eax, 231        ; exit_group
    0x0f, 0x05,                         // syscall
];

/// A static x86_64 ELF executable: the 64-byte header, one PT_LOAD program header mapping the
/// whole file read+execute at 0x400000, then `code` (the entry point).
pub fn tiny_elf(code: &[u8]) -> Vec<u8> {
    const BASE: u64 = 0x40_0000;
    const HEADERS: u64 = 64 + 56;
    let size = HEADERS + code.len() as u64;
    let mut f = Vec::with_capacity(size as usize);
    f.extend_from_slice(b"\x7fELF");
    f.extend_from_slice(&[2, 1, 1, 0]); // 64-bit, little endian, version 1, System V ABI
    f.extend_from_slice(&[0; 8]);
    f.extend_from_slice(&2u16.to_le_bytes()); // ET_EXEC
    f.extend_from_slice(&0x3eu16.to_le_bytes()); // EM_X86_64
    f.extend_from_slice(&1u32.to_le_bytes()); // EV_CURRENT
    f.extend_from_slice(&(BASE + HEADERS).to_le_bytes()); // e_entry
    f.extend_from_slice(&64u64.to_le_bytes()); // e_phoff
    f.extend_from_slice(&0u64.to_le_bytes()); // e_shoff
    f.extend_from_slice(&0u32.to_le_bytes()); // e_flags
    f.extend_from_slice(&64u16.to_le_bytes()); // e_ehsize
    f.extend_from_slice(&56u16.to_le_bytes()); // e_phentsize
    f.extend_from_slice(&1u16.to_le_bytes()); // e_phnum
    f.extend_from_slice(&64u16.to_le_bytes()); // e_shentsize
    f.extend_from_slice(&0u16.to_le_bytes()); // e_shnum
    f.extend_from_slice(&0u16.to_le_bytes()); // e_shstrndx
    f.extend_from_slice(&1u32.to_le_bytes()); // PT_LOAD
    f.extend_from_slice(&5u32.to_le_bytes()); // PF_R | PF_X
    f.extend_from_slice(&0u64.to_le_bytes()); // p_offset
    f.extend_from_slice(&BASE.to_le_bytes()); // p_vaddr
    f.extend_from_slice(&BASE.to_le_bytes()); // p_paddr
    f.extend_from_slice(&size.to_le_bytes()); // p_filesz
    f.extend_from_slice(&size.to_le_bytes()); // p_memsz
    f.extend_from_slice(&0x1000u64.to_le_bytes()); // p_align
    f.extend_from_slice(code);
    assert_eq!(f.len() as u64, size);
    f
}

/// The tiny programs, written once per test process into a private temporary directory.
pub struct Programs {
    _dir: tempfile::TempDir,
    /// Exits with status argc.
    pub exit_argc: PathBuf,
    /// Writes one byte to fd 1, waits for EOF (or a byte) on fd 0, exits with argc.
    pub pipe_probe: PathBuf,
    /// Stops itself with SIGSTOP; after SIGCONT exits with argc.
    pub stop_probe: PathBuf,
    /// A path that does not exist (its directory does).
    pub missing: PathBuf,
}

/// The tiny programs (x86_64 code: callers check [`is_x86_64`]). Call this before starting threads that spawn: a file being written is
/// ETXTBSY to exec for as long as any process (a concurrent clone child, too) holds it open
/// for writing, so they are written once, up front, and never again.
pub fn programs() -> &'static Programs {
    static PROGRAMS: OnceLock<Programs> = OnceLock::new();
    PROGRAMS.get_or_init(|| {
        let dir = tempfile::Builder::new()
            .prefix("forkexec-rel-")
            .tempdir()
            .expect("temp dir");
        // Readable and searchable by everyone: helper processes drop to unprivileged uids.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let write = |name: &str, code: &[u8]| {
            let p = dir.path().join(name);
            std::fs::write(&p, tiny_elf(code)).expect("write tiny program");
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
            p
        };
        Programs {
            exit_argc: write("fx-exit-argc", CODE_EXIT_ARGC),
            pipe_probe: write("fx-pipe-probe", CODE_PIPE_PROBE),
            stop_probe: write("fx-stop-probe", CODE_STOP_PROBE),
            missing: dir.path().join("no-such-program"),
            _dir: dir,
        }
    })
}

pub fn is_x86_64() -> bool {
    cfg!(target_arch = "x86_64")
}

// ---------------------------------------------------------------------------------------------
// /proc: what the kernel says.
// ---------------------------------------------------------------------------------------------

/// A process's open fds and what each points at (`readlink /proc/PID/fd/N`).
pub fn fd_table(pid: u32) -> std::io::Result<BTreeMap<i32, PathBuf>> {
    let mut fds = BTreeMap::new();
    for entry in std::fs::read_dir(format!("/proc/{pid}/fd"))? {
        let entry = entry?;
        let Ok(n) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        // An fd closed between readdir and readlink is simply not there any more.
        if let Ok(target) = std::fs::read_link(entry.path()) {
            fds.insert(n, target);
        }
    }
    Ok(fds)
}

/// What an fd of this process points at.
pub fn own_fd_target(fd: i32) -> PathBuf {
    std::fs::read_link(format!("/proc/self/fd/{fd}")).expect("readlink own fd")
}

/// One process from /proc/PID/stat.
#[derive(Debug, Clone)]
pub struct ProcStat {
    pub pid: u32,
    pub comm: String,
    pub state: char,
    pub ppid: u32,
}

/// Parses /proc/PID/stat (comm may contain spaces and parentheses: split at the last ')').
pub fn proc_stat(pid: u32) -> Option<ProcStat> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let open = s.find('(')?;
    let close = s.rfind(')')?;
    let comm = s[open + 1..close].to_string();
    let mut rest = s[close + 1..].split_whitespace();
    let state = rest.next()?.chars().next()?;
    let ppid = rest.next()?.parse().ok()?;
    Some(ProcStat {
        pid,
        comm,
        state,
        ppid,
    })
}

/// Every process whose parent is this process, living or zombie, from a scan of /proc.
pub fn children_of_self() -> Vec<ProcStat> {
    let me = std::process::id();
    let mut out = Vec::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for e in dir.flatten() {
            if let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() {
                if let Some(st) = proc_stat(pid) {
                    if st.ppid == me {
                        out.push(st);
                    }
                }
            }
        }
    }
    out
}

/// The children a thread of this process has created (/proc/self/task/TID/children).
pub fn children_of_thread(tid: i32) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/self/task/{tid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// The calling thread's id.
pub fn gettid() -> i32 {
    // SAFETY: gettid has no arguments and cannot fail.
    unsafe { libc::syscall(libc::SYS_gettid) as i32 }
}

/// A value of /proc/PID/status, e.g. `CapEff`.
pub fn status_field(status: &str, key: &str) -> Option<String> {
    status.lines().find_map(|l| {
        l.strip_prefix(key)
            .and_then(|r| r.strip_prefix(':'))
            .map(|v| v.trim().to_string())
    })
}

// ---------------------------------------------------------------------------------------------
// Bounds: nothing a test does may hang the suite.
// ---------------------------------------------------------------------------------------------

/// Ends the whole test process with a message if it is not disarmed (dropped) within `limit`.
/// A hung spawn cannot be interrupted from inside (a vfork parent thread waits in the kernel),
/// so the only honest bound is to fail the process: cargo test then reports the test binary
/// as failed, with this message on stderr.
pub struct Watchdog {
    done: Arc<AtomicBool>,
}

impl Watchdog {
    pub fn arm(what: &str, limit: Duration) -> Watchdog {
        let done = Arc::new(AtomicBool::new(false));
        let flag = done.clone();
        let what = what.to_string();
        std::thread::Builder::new()
            .name("fx-watchdog".into())
            .spawn(move || {
                let start = Instant::now();
                while start.elapsed() < limit {
                    if flag.load(Ordering::Acquire) {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                if !flag.load(Ordering::Acquire) {
                    die(&format!(
                        "WATCHDOG: {what} did not finish within {limit:?}: a hang\n"
                    ));
                }
            })
            .expect("watchdog thread");
        Watchdog { done }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.done.store(true, Ordering::Release);
    }
}

/// Writes `msg` to stderr with a raw write (no lock that a stuck thread could hold) and ends
/// the process with status 101, as a failed test binary does.
pub fn die(msg: &str) -> ! {
    // SAFETY: writing a live buffer to fd 2; _exit never returns and runs no atexit handler
    // that could block on a lock held by a stuck thread.
    unsafe {
        libc::write(2, msg.as_ptr().cast(), msg.len());
        libc::_exit(101)
    }
}

/// Runs `f` on another thread and fails (panics) if it has not finished in `limit`.
pub fn bounded<T: Send + 'static>(
    what: &str,
    limit: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(limit) {
        Ok(v) => v,
        Err(_) => panic!("{what} did not finish within {limit:?}: a hang"),
    }
}

// ---------------------------------------------------------------------------------------------
// Helper processes: one test's body run in a fresh process of this test binary, for what must
// not happen to the test process itself (closing its fds 0-2, dropping privileges, limits).
// ---------------------------------------------------------------------------------------------

/// The environment variable that selects the helper body in a re-run test binary.
pub const HELPER_ENV: &str = "FORKEXEC_TEST_HELPER";

/// Whether this process is a helper running `name`.
pub fn helper_mode(name: &str) -> bool {
    std::env::var_os(HELPER_ENV).is_some_and(|v| v == name)
}

/// Result of a helper run.
pub struct HelperRun {
    pub success: bool,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Re-runs this test binary for exactly `test` with HELPER_ENV=`name` (plus `env`), bounded
/// by `limit` (the helper is killed at the bound and the run reported as a failure).
pub fn run_helper(test: &str, name: &str, env: &[(&str, OsString)], limit: Duration) -> HelperRun {
    use std::io::Read;
    let exe = std::env::current_exe().expect("current exe");
    // std's Command on purpose: the harness should not depend on the code under test.
    let mut cmd = std::process::Command::new(exe);
    cmd.args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(HELPER_ENV, name)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn helper");
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let t_out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let t_err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().expect("try_wait helper") {
            break Some(st);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let stdout = t_out.join().unwrap();
    let mut stderr = t_err.join().unwrap();
    if status.is_none() {
        stderr.push_str(&format!("\n[helper killed after {limit:?}: a hang]\n"));
    }
    HelperRun {
        success: status.is_some_and(|s| s.success()),
        code: status.and_then(|s| s.code()),
        stdout,
        stderr,
    }
}

pub fn is_root() -> bool {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Prints the conventional skip line.
pub fn skip(reason: &str) {
    println!("SKIP: {reason}");
}

/// A path under a directory, as bytes (for comparisons with readlink output).
pub fn path_in(dir: &Path, name: &str) -> PathBuf {
    dir.join(name)
}

/// A small, fast, seedable PRNG (xorshift64*): the stress test's choices are reproducible
/// from the printed seed.
#[derive(Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in lo..hi (hi exclusive).
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo)
    }
    pub fn chance(&mut self, one_in: u64) -> bool {
        self.next() % one_in == 0
    }
}

// ---------------------------------------------------------------------------------------------
// Waiting and signalling by pid: works on every kernel the suites run on (the compat runs
// emulate kernels without pidfds), and is race-free on a child that is ours and unreaped.
// ---------------------------------------------------------------------------------------------

/// Waits (bounded) until our child `pid` is in the state `which` (EXITED or STOPPED), without
/// reaping it. False if the bound passed.
pub fn wait_unreaped(pid: u32, which: rustix::process::WaitIdOptions, bound: Duration) -> bool {
    use rustix::process::{waitid, Pid, WaitId, WaitIdOptions};
    let pid = Pid::from_raw(pid as i32).expect("a positive pid");
    let deadline = Instant::now() + bound;
    loop {
        match waitid(
            WaitId::Pid(pid),
            which | WaitIdOptions::NOHANG | WaitIdOptions::NOWAIT,
        ) {
            Ok(Some(_)) => return true,
            Ok(None) | Err(rustix::io::Errno::INTR) => {}
            Err(e) => panic!("waitid({pid:?}): {e}"),
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
}

/// Sends `sig` to `pid` if `still_ours()` holds once the pid is pinned: through a pidfd where
/// pidfd_open works, else by number right after the check (old kernels: a test's own children,
/// not reaped meanwhile by the thread that spawned them, cannot be recycled in between).
pub fn signal_if(pid: u32, sig: rustix::process::Signal, still_ours: impl Fn() -> bool) -> bool {
    use rustix::process::{pidfd_open, pidfd_send_signal, Pid, PidfdFlags};
    let Some(p) = Pid::from_raw(pid as i32) else {
        return false;
    };
    match pidfd_open(p, PidfdFlags::empty()) {
        Ok(pidfd) => still_ours() && pidfd_send_signal(&pidfd, sig).is_ok(),
        Err(rustix::io::Errno::NOSYS) | Err(rustix::io::Errno::PERM) => {
            still_ours() && rustix::process::kill_process(p, sig).is_ok()
        }
        Err(_) => false,
    }
}
