//! Helper processes: one test's body run in a fresh process of this test binary, for what must
//! not happen to the test process itself (closing its fds 0-2, dropping privileges, limits,
//! new namespaces).

use std::ffi::OsString;
use std::time::{Duration, Instant};

/// The environment variable that selects the helper body in a re-run test binary.
pub const HELPER_ENV: &str = "FORKEXEC_TEST_HELPER";

/// Whether this process is a helper running `name`.
pub fn helper_mode(name: &str) -> bool {
    std::env::var_os(HELPER_ENV).is_some_and(|v| v == name)
}

/// Runs [`run_helper`] and asserts that the helper succeeded and printed `marker` (its proof
/// of having run to the end); prints its output.
pub fn assert_helper_passes(test: &str, name: &str, marker: &str, limit: Duration) {
    let run = run_helper(test, name, &[], limit);
    println!("{}", run.stdout);
    assert!(
        run.success,
        "helper failed ({:?}):\n{}\n{}",
        run.code, run.stdout, run.stderr
    );
    assert!(run.stdout.contains(marker), "{}", run.stdout);
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
    let out = read_in_background(child.stdout.take().unwrap());
    let err = read_in_background(child.stderr.take().unwrap());
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
    finish(status, out, err, limit)
}

/// Reads `r` to its end on another thread.
fn read_in_background<R: std::io::Read + Send + 'static>(
    mut r: R,
) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut s = String::new();
        let _ = r.read_to_string(&mut s);
        s
    })
}

fn finish(
    status: Option<std::process::ExitStatus>,
    out: std::thread::JoinHandle<String>,
    err: std::thread::JoinHandle<String>,
    limit: Duration,
) -> HelperRun {
    let stdout = out.join().unwrap();
    let mut stderr = err.join().unwrap();
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

/// [`run_helper`] in a new user and mount namespace. As root, ids 0-65535 map to themselves
/// (files keep their owners and the helper may switch to other users); otherwise the caller's
/// uid and gid map to 0 and nothing else is mapped. The namespaces are made by forkexec's own
/// `clone_namespaces` (std cannot write the maps of a child it is still spawning). `Err` says
/// why no namespace could be made here (the caller skips).
pub fn run_helper_in_namespaces(
    test: &str,
    name: &str,
    limit: Duration,
) -> Result<HelperRun, String> {
    let exe = std::env::current_exe().expect("current exe");
    let (uid, gid) = (
        rustix::process::getuid().as_raw(),
        rustix::process::getgid().as_raw(),
    );
    let count = if uid == 0 { 65536 } else { 1 };
    let mut cmd = forkexec::Command::new(exe);
    cmd.args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(HELPER_ENV, name)
        .clone_namespaces("user,mount")
        .uid_map((0, uid, count))
        .gid_map((0, gid, count))
        .stdin(forkexec::Stdio::null())
        .stdout(forkexec::Stdio::piped())
        .stderr(forkexec::Stdio::piped());
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot make a user and mount namespace here: {e}"))?;
    let out = read_in_background(child.stdout.take().unwrap());
    let err = read_in_background(child.stderr.take().unwrap());
    let status = match child.wait_timeout(limit).expect("wait for the helper") {
        Some(st) => Some(st),
        None => {
            let _ = child.kill();
            let _ = child.wait();
            None
        }
    };
    Ok(finish(status, out, err, limit))
}
