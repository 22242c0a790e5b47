//! `PreparedExec::exec` allocates nothing, not even on its longest path: several failing
//! candidates, then ENOEXEC, then the `/bin/sh path args...` fallback built in the prepared
//! scratch.
//!
//! A counting global allocator counts every alloc, realloc and dealloc. The exec is prepared
//! in the parent; a forked child reads the count, calls `exec()`, reads the count again and
//! reports the errno and the difference through a pipe. For the call to return, the final
//! `/bin/sh` exec has to fail too: the child's environment is padded so that the candidate's
//! own execve just fits the kernel's argument space and the shell's (22 bytes larger: the
//! filename "/bin/sh" and argv[0] "/bin/sh" replace argv[0] "p", plus one pointer) does not,
//! so it ends with E2BIG. The padding is found by bisection rather than computed, so the test
//! does not depend on the kernel's exact accounting.
//!
//! How it would catch an allocating exec: any `Vec`, `CString` or `Box` made inside `exec()`
//! (say, building the shell argv there instead of in the scratch) goes through the counting
//! allocator and makes the difference non-zero. `unprepared_exec_is_seen_allocating` checks
//! that the counter does see allocations made in the child.

use forkexec::exec::{Exec, PreparedExec};
use std::alloc::{GlobalAlloc, Layout, System};
use std::os::unix::fs::PermissionsExt;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Counts every call into the allocator, then defers to the system one.
struct Counting;

static CALLS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every method forwards to `System` with the caller's arguments unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        CALLS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded contract.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        CALLS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded contract.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        CALLS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        CALLS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded contract.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The tests run one at a time: a child forked while the other test writes its scripts would
/// hold them open for writing and make their exec fail with ETXTBSY.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// What the child reported: the errno `exec()` returned (`None`: the program ran) and the
/// number of allocator calls made during the call.
#[derive(Debug, PartialEq, Eq)]
struct Report {
    errno: Option<i32>,
    allocator_calls: u32,
}

/// Runs `call` in a forked child with a small stack limit (so the kernel's argument space is
/// 128 KiB, the ARG_MAX floor) and reports the errno it returns and the allocator calls it
/// made.
fn in_child(call: &dyn Fn() -> std::io::Error) -> Report {
    let mut fds = [0; 2];
    // SAFETY: room for two fds.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    let (r, w) = (fds[0], fds[1]);
    // SAFETY: the child makes only syscalls and the measured call (which must not allocate,
    // that is the point; the control case allocates after glibc's fork made malloc usable),
    // then _exits.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        let limit = libc::rlimit {
            rlim_cur: 512 * 1024,
            rlim_max: libc::RLIM_INFINITY,
        };
        // SAFETY: a live rlimit; lowering the soft limit is always allowed.
        unsafe { libc::setrlimit(libc::RLIMIT_STACK, &limit) };
        let before = CALLS.load(Ordering::SeqCst);
        let err = call();
        let after = CALLS.load(Ordering::SeqCst);
        let msg = [
            err.raw_os_error().unwrap_or(-1),
            after.wrapping_sub(before) as i32,
        ];
        // SAFETY: 8 bytes from a live array; then the child ends.
        unsafe {
            libc::write(w, msg.as_ptr().cast(), 8);
            libc::_exit(100);
        }
    }
    let mut buf = [0u8; 8];
    // SAFETY: our fds; a live buffer and status.
    let n = unsafe {
        libc::close(w);
        let n = libc::read(r, buf.as_mut_ptr().cast(), 8);
        libc::close(r);
        let mut st = 0;
        assert_eq!(libc::waitpid(pid, &mut st, 0), pid);
        n
    };
    if n == 8 {
        Report {
            errno: Some(i32::from_ne_bytes(buf[..4].try_into().unwrap())),
            allocator_calls: u32::from_ne_bytes(buf[4..].try_into().unwrap()),
        }
    } else {
        Report {
            errno: None,
            allocator_calls: 0,
        }
    }
}

/// A tree whose PATH fails at every candidate before the last: ENOENT (missing dir), EACCES
/// (a file without x bits, EACCES even for root), ENOTDIR (a file as a directory), then a
/// script without `#!` (ENOEXEC) that exits 42 if the shell ever runs it.
struct Tree {
    _dir: tempfile::TempDir,
    path: String,
}

fn tree() -> Tree {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let put = |rel: &str, body: &str, mode: u32| {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, body).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
    };
    put("noexec/prog", "#!/bin/sh\nexit 1\n", 0o644);
    put("file", "not a directory\n", 0o644);
    put("nosb/prog", "exit 42\n", 0o755);
    let r = root.to_str().unwrap();
    let path = format!("{r}/nope:{r}/noexec:{r}/file:{r}/nosb");
    Tree { _dir: dir, path }
}

/// The exec, with `pad` bytes of padding in its environment (in strings well under
/// MAX_ARG_STRLEN).
fn exec_of(t: &Tree, pad: usize, shell: bool) -> Exec {
    let mut envp = Vec::new();
    let mut left = pad;
    let mut i = 0;
    while left > 0 {
        let n = left.min(60_000);
        envp.push(format!("P{i}={}", "x".repeat(n)));
        left -= n;
        i += 1;
    }
    let mut e = Exec::new("prog");
    e.argv(["p", "a1", "a2"])
        .search_path(Some(&t.path))
        .shell_fallback(shell)
        .envp(envp);
    e
}

fn prepared(t: &Tree, pad: usize, shell: bool) -> PreparedExec {
    exec_of(t, pad, shell).prepare().unwrap()
}

#[test]
fn prepared_exec_through_failing_candidates_and_the_shell_allocates_nothing() {
    let _serial = SERIAL.lock().unwrap();
    let t = tree();
    // The largest padding with which the candidate itself still reaches ENOEXEC.
    let probe = |pad: usize| in_child(&|| prepared(&t, pad, false).exec()).errno;
    let (mut fits, mut too_big) = (0usize, 200_000usize);
    assert_eq!(
        probe(fits),
        Some(libc::ENOEXEC),
        "the search must reach ENOEXEC"
    );
    assert_eq!(
        probe(too_big),
        Some(libc::E2BIG),
        "200 KB must not fit 128 KiB"
    );
    while too_big - fits > 1 {
        let mid = (fits + too_big) / 2;
        match probe(mid) {
            Some(libc::ENOEXEC) => fits = mid,
            Some(libc::E2BIG) => too_big = mid,
            other => panic!("padding {mid}: unexpected {other:?}"),
        }
    }

    // Without the fallback: ENOEXEC, no allocation.
    let p = prepared(&t, fits, false);
    let r = in_child(&|| p.exec());
    assert_eq!(
        r,
        Report {
            errno: Some(libc::ENOEXEC),
            allocator_calls: 0
        }
    );

    // With it: the shell's vector, built in the prepared scratch, is just too big: E2BIG,
    // and still no allocation.
    let p = prepared(&t, fits, true);
    let r = in_child(&|| p.exec());
    assert_eq!(
        r,
        Report {
            errno: Some(libc::E2BIG),
            allocator_calls: 0
        }
    );

    // And with a little less padding the shell does run the script (exit 42, no report):
    // the E2BIG above really came from the /bin/sh exec.
    let p = prepared(&t, fits - 64, true);
    assert_eq!(in_child(&|| p.exec()).errno, None);
}

#[test]
fn unprepared_exec_is_seen_allocating() {
    // The control: the same exec, prepared inside the measured call, must be counted.
    let _serial = SERIAL.lock().unwrap();
    let t = tree();
    let e = exec_of(&t, 0, false);
    let r = in_child(&|| e.exec());
    assert_eq!(r.errno, Some(libc::ENOEXEC));
    assert!(r.allocator_calls > 0, "{r:?}");
}
