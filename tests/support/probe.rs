//! Probe commands: run a small program with forkexec and read what it printed.

use forkexec::Command;

/// Runs `cmd`, asserts it succeeded, returns its stdout as text.
pub fn probe(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("spawn failed: {e}"));
    assert!(
        out.status.success(),
        "probe failed: {:?}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// A `sh -c SCRIPT` command.
pub fn sh(script: &str) -> Command {
    let mut c = Command::new("sh");
    c.args(["-c", script]);
    c
}
