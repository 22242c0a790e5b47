//! What the loader's CLI-package tests share (each includes it with `mod loader_support;`):
//! the C test programs of tests/load compiled with gcc, executable files written, and what
//! this process may do.
#![allow(dead_code)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Compiles tests/load/`source` with `flags` into `dir/name`; None (after a `SKIP:` line with
/// the reason) when gcc cannot.
pub fn compile_source(dir: &Path, source: &str, name: &str, flags: &[&str]) -> Option<PathBuf> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/load")
        .join(source);
    let out = dir.join(name);
    let built = std::process::Command::new("gcc")
        .args(flags)
        .arg("-O1")
        .arg("-o")
        .arg(&out)
        .arg(&src)
        .output();
    match built {
        Ok(o) if o.status.success() => Some(out),
        Ok(o) => {
            let why = String::from_utf8_lossy(&o.stderr);
            println!("SKIP: {name}: gcc {flags:?} failed: {why}");
            None
        }
        Err(e) => {
            println!("SKIP: {name}: no gcc ({e})");
            None
        }
    }
}

/// Writes `bytes` to `dir/name` with permission bits `mode`.
pub fn write_file(dir: &Path, name: &str, bytes: &[u8], mode: u32) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
    p
}

/// Writes an executable file (mode 0755).
pub fn write_exe(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    write_file(dir, name, bytes, 0o755)
}

/// Whether this process runs as root (effective uid 0).
pub fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// Whether this process may replace a /proc/PID/exe (CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE),
/// from CapEff in /proc/self/status: the userland loader hands a program's file over then.
pub fn may_replace_exe() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("CapEff:"))
                .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        })
        .is_some_and(|c| c & (1 << 21 | 1 << 40) != 0)
}

/// `attempt()` again while it fails with ETXTBSY (as `errno` reads its error): a file just
/// written can be held open for writing by a child that another test thread cloned meanwhile,
/// until that child execs.
pub fn retrying_etxtbsy<T, E>(
    mut attempt: impl FnMut() -> Result<T, E>,
    errno: impl Fn(&E) -> Option<i32>,
) -> Result<T, E> {
    for _ in 0..100 {
        match attempt() {
            Err(e) if errno(&e) == Some(libc::ETXTBSY) => {
                std::thread::sleep(std::time::Duration::from_millis(20))
            }
            r => return r,
        }
    }
    attempt()
}
