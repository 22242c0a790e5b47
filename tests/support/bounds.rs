//! Bounds: nothing a test does may hang the suite.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

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
