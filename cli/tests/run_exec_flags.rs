//! `forkexec run --no-path` and `--shell-fallback / --no-shell-fallback` (on by default).
//!
//! One test function: its scripts are written before any process is spawned, so no child of
//! a parallel test can hold them open for writing (ETXTBSY).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

fn write(path: &Path, body: &str) {
    std::fs::write(path, body).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Runs `forkexec run ARGS...` in `dir` with PATH=/bin:/usr/bin; returns its exit code.
fn run(dir: &Path, args: &[&str]) -> i32 {
    let out = Command::new(env!("CARGO_BIN_EXE_forkexec"))
        .arg("run")
        .args(args)
        .current_dir(dir)
        .env("PATH", "/bin:/usr/bin")
        .output()
        .unwrap();
    out.status.code().expect("forkexec exits normally")
}

#[test]
fn no_path_and_shell_fallback_flags() {
    let dir = std::env::temp_dir().join(format!("forkexec-run-flags-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // A script the kernel runs (#!) and one it refuses with ENOEXEC (no #!).
    write(&dir.join("prog"), "#!/bin/sh\nexit 5\n");
    write(&dir.join("nosb"), "exit 7\n");

    // PATH search by default; --no-path takes the name as a path relative to the cwd.
    assert_eq!(run(&dir, &["prog"]), 127, "prog is not in PATH");
    assert_eq!(run(&dir, &["--no-path", "prog"]), 5);
    assert_eq!(run(&dir, &["true"]), 0);
    assert_eq!(run(&dir, &["--no-path", "true"]), 127, "no ./true here");

    // ENOEXEC: run under /bin/sh by default (as execvp, env(1) and the shells do), 126 with
    // --no-shell-fallback; the last flag wins.
    assert_eq!(run(&dir, &["./nosb"]), 7);
    assert_eq!(run(&dir, &["--no-shell-fallback", "./nosb"]), 126);
    assert_eq!(run(&dir, &["--shell-fallback", "./nosb"]), 7);
    assert_eq!(
        run(&dir, &["--shell-fallback", "--no-shell-fallback", "./nosb"]),
        126
    );
    assert_eq!(
        run(&dir, &["--no-shell-fallback", "--shell-fallback", "./nosb"]),
        7
    );
    assert_eq!(run(&dir, &["--no-path", "--shell-fallback", "nosb"]), 7);

    std::fs::remove_dir_all(&dir).unwrap();
}
