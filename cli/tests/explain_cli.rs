//! `forkexec explain`: the CLI contract (JSON keys, exit codes, --args-from, --env, --env-clear,
//! --no-path, --stack) and the verdict wording for the classic cases.
//!
//! One test function: its files are all written before any process is spawned, so no child of
//! a parallel test can hold them open for writing (ETXTBSY).

use serde_json::Value;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The tests of this file one at a time: a file another test thread is still writing would be
/// held open for writing by a child forked meanwhile, and exec of it would give ETXTBSY.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn write(path: &Path, body: &[u8], mode: u32) {
    std::fs::write(path, body).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Runs `forkexec explain ARGS...` in `dir`; returns exit code and stdout.
fn explain(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_forkexec"))
        .arg("explain")
        .args(args)
        .current_dir(dir)
        .env("PATH", "/usr/bin:/bin")
        .output()
        .unwrap();
    (
        out.status.code().expect("forkexec exits normally"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn json(dir: &Path, args: &[&str]) -> (i32, Value) {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let (code, out) = explain(dir, &all);
    (code, serde_json::from_str(&out).expect("one JSON object"))
}

#[test]
fn explain_cli_contract() {
    let _one_at_a_time = serial();
    let dir = std::env::temp_dir().join(format!("forkexec-explain-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    write(&dir.join("crlf.sh"), b"#!/bin/sh\r\necho hi\r\n", 0o755);
    write(&dir.join("env.sh"), b"#!/usr/bin/env sh\necho hi\n", 0o755);
    write(&dir.join("args"), b"a\0b c\0\0", 0o644);
    write(&dir.join("plain"), b"not a program\n", 0o644);

    // A program that runs: exit 0, every contract key, errno and signal null.
    let (code, v) = json(
        &dir,
        &["--env-clear", "--env", "A=1", "--", "/bin/true", "x"],
    );
    assert_eq!(code, 0);
    for key in [
        "outcome",
        "errno",
        "signal",
        "path",
        "argv",
        "chain",
        "arg_bytes",
        "arg_limit",
        "reason",
    ] {
        assert!(v.get(key).is_some(), "missing {key}: {v}");
    }
    assert_eq!(v["outcome"], "runs");
    assert_eq!(v["errno"], Value::Null);
    assert_eq!(v["signal"], Value::Null);
    assert_eq!(v["path"], "/bin/true");
    assert_eq!(v["argv"], serde_json::json!(["/bin/true", "x"]));
    assert_eq!(v["chain"][0]["kind"], "elf");
    // filename 10 + "A=1" 4 + argv 10 + 2.
    assert_eq!(v["arg_bytes"], 26);
    assert_eq!(v["arg_limit"].as_u64().map(|n| n > 26), Some(true));

    // A failure: exit 1, the errno by name.
    let (code, v) = json(&dir, &["--", "./missing"]);
    assert_eq!(code, 1);
    assert_eq!(v["outcome"], "errno");
    assert_eq!(v["errno"], "ENOENT");
    let (code, v) = json(&dir, &["--", "./plain"]);
    assert_eq!(code, 1);
    assert_eq!(v["errno"], "EACCES");

    // The Windows line endings verdict, first line of the text form.
    let (code, out) = explain(&dir, &["--", "./crlf.sh"]);
    assert_eq!(code, 1);
    let first = out.lines().next().unwrap_or_default();
    assert!(
        first.starts_with(
            "fails with ENOENT: interpreter \"/bin/sh\\r\" of ./crlf.sh does not exist (the #! line ends in a carriage return: the file has Windows line endings"
        ),
        "{first}"
    );

    // #! /usr/bin/env NAME: the verdict names what env will run.
    let (code, out) = explain(&dir, &["--env", "PATH=/usr/bin:/bin", "--", "./env.sh"]);
    assert_eq!(code, 0);
    let first = out.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("runs /usr/bin/sh via #! /usr/bin/env sh")
            || first.starts_with("runs /bin/sh via #! /usr/bin/env sh"),
        "{first}"
    );

    // --args-from: NUL-separated, after the ARGs; a trailing NUL ends the last one.
    let (_, v) = json(&dir, &["--args-from", "args", "--", "/bin/true", "x"]);
    assert_eq!(
        v["argv"],
        serde_json::json!(["/bin/true", "x", "a", "b c", ""])
    );

    // PATH search unless --no-path.
    let (code, v) = json(&dir, &["--", "true"]);
    assert_eq!(code, 0);
    let path = v["path"].as_str().unwrap_or_default().to_string();
    assert!(path.ends_with("/true") && path.starts_with('/'), "{path}");
    let (code, v) = json(&dir, &["--no-path", "--", "true"]);
    assert_eq!(code, 1);
    assert_eq!(v["errno"], "ENOENT");

    // --stack: the diagram in text, the layout in JSON.
    let (_, out) = explain(&dir, &["--stack", "--", "/bin/true"]);
    assert!(out.contains("argc  <- rsp"), "{out}");
    assert!(out.contains("auxv AT_RANDOM"), "{out}");
    let (_, v) = json(&dir, &["--stack", "--", "/bin/true"]);
    let keys: Vec<&str> = v["stack"]["auxv"]
        .as_array()
        .map(|a| a.iter().filter_map(|e| e["name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(keys.last(), Some(&"AT_NULL"));
    assert!(keys.contains(&"AT_EXECFN"), "{keys:?}");

    // Bad usage: exit 2.
    assert_eq!(explain(&dir, &[]).0, 2);
    assert_eq!(
        explain(&dir, &["--env", "NOEQUALS", "--", "/bin/true"]).0,
        2
    );
    assert_eq!(
        explain(
            &dir,
            &["--args-from", "/nonexistent/args", "--", "/bin/true"]
        )
        .0,
        2
    );

    std::fs::remove_dir_all(&dir).unwrap();
}

/// `forkexec SUBCOMMAND ARGS...` with `PATH` for the caller, in `dir`; killed after 30 s.
/// Returns (exit code, stdout, stderr); the code is -1 when it had to be killed.
fn forkexec<S: AsRef<OsStr>>(dir: &Path, caller_path: &str, args: &[S]) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_forkexec"))
        .args(args)
        .current_dir(dir)
        .env("PATH", caller_path)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Read both pipes while waiting: a full pipe would stall the child.
    let read = |mut r: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = r.read_to_end(&mut v);
            String::from_utf8_lossy(&v).into_owned()
        })
    };
    let out = read(Box::new(child.stdout.take().unwrap()));
    let err = read(Box::new(child.stderr.take().unwrap()));
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break Some(st);
        }
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (
        status.and_then(|s| s.code()).unwrap_or(-1),
        out.join().unwrap(),
        err.join().unwrap(),
    )
}

/// `forkexec explain --json -- PATH`: exit code, the output, and it parsed.
fn explain_json_of(dir: &Path, path: &OsStr) -> (i32, String, Value) {
    let args = [
        OsStr::new("explain"),
        OsStr::new("--json"),
        OsStr::new("--"),
        path,
    ];
    let (code, out, err) = forkexec(dir, "/usr/bin:/bin", &args);
    let v = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}"));
    (code, out, v)
}

/// Issue 11 item 5: `--args-from /dev/zero` read without bound (4 GB in 3 s). It must stop at
/// the largest argument size any kernel accepts, with a usage error.
#[test]
fn args_from_stops_at_the_largest_argument_size() {
    let _one_at_a_time = serial();
    let dir = tempfile::tempdir().unwrap();
    let start = Instant::now();
    let (code, _, err) = forkexec(
        dir.path(),
        "/usr/bin:/bin",
        &["explain", "--args-from", "/dev/zero", "--", "/bin/true"],
    );
    assert_eq!(code, 2, "stderr: {err}");
    assert!(err.contains("more than 6291456 bytes"), "{err}");
    assert!(start.elapsed() < Duration::from_secs(10));
    // At the limit the file is read and judged (E2BIG: the strings do not fit); one more byte
    // is refused.
    let at = dir.path().join("at-limit");
    std::fs::write(&at, vec![b'a'; 6 << 20]).unwrap();
    let (code, out, err) = forkexec(
        dir.path(),
        "/usr/bin:/bin",
        &[
            "explain",
            "--json",
            "--args-from",
            "at-limit",
            "--",
            "/bin/true",
        ],
    );
    assert_eq!(code, 1, "stderr: {err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["errno"], "E2BIG");
    let over = dir.path().join("over-limit");
    std::fs::write(&over, vec![b'a'; (6 << 20) + 1]).unwrap();
    let (code, _, err) = forkexec(
        dir.path(),
        "/usr/bin:/bin",
        &["explain", "--args-from", "over-limit", "--", "/bin/true"],
    );
    assert_eq!(code, 2, "stderr: {err}");
}

/// Issue 11 item 10: explain and load searched PROGRAM in the caller's PATH while `run` (and
/// execvpe) use the PATH the program gets. One rule now; `run` is the real exec to agree with.
#[test]
fn program_is_searched_in_the_path_it_gets() {
    let _one_at_a_time = serial();
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    std::fs::copy("/bin/true", bin.join("onlyhere")).unwrap();
    let path_env = format!("PATH={}", bin.display());
    let want = bin.join("onlyhere").display().to_string();
    let caller = "/usr/bin:/bin";

    // PATH given with --env: found there by all three.
    let (code, _, err) = forkexec(
        dir.path(),
        caller,
        &["run", "--env", &path_env, "--", "onlyhere"],
    );
    assert_eq!(code, 0, "run: {err}");
    let (code, out, _) = forkexec(
        dir.path(),
        caller,
        &["explain", "--json", "--env", &path_env, "--", "onlyhere"],
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!((code, v["path"].as_str()), (0, Some(want.as_str())), "{v}");
    let (code, out, err) = forkexec(
        dir.path(),
        caller,
        &[
            "load", "--plan", "--json", "--env", &path_env, "--", "onlyhere",
        ],
    );
    assert_eq!(code, 0, "load: {out}{err}");

    // Not in the caller's PATH, and the program's PATH is the caller's: not found by any.
    let (code, _, _) = forkexec(dir.path(), caller, &["run", "--", "onlyhere"]);
    assert_eq!(code, 127);
    let (code, out, _) = forkexec(dir.path(), caller, &["explain", "--json", "--", "onlyhere"]);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!((code, v["errno"].as_str()), (1, Some("ENOENT")), "{v}");

    // --env-clear removes PATH: the search uses /bin:/usr/bin, not the caller's (useless) one.
    let nowhere = "/nonexistent";
    let (code, _, err) = forkexec(dir.path(), nowhere, &["run", "--env-clear", "--", "true"]);
    assert_eq!(code, 0, "run: {err}");
    let (code, out, _) = forkexec(
        dir.path(),
        nowhere,
        &["explain", "--json", "--env-clear", "--", "true"],
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(code, 0, "{v}");
    assert!(
        matches!(v["path"].as_str(), Some("/bin/true" | "/usr/bin/true")),
        "{v}"
    );
    let (code, out, err) = forkexec(
        dir.path(),
        nowhere,
        &["load", "--plan", "--env-clear", "--", "true"],
    );
    assert_eq!(code, 0, "load: {out}{err}");
}

/// Issue 11 item 16: as an unprivileged user, /proc/1/exe is EACCES because following the link
/// needs ptrace access to process 1; explain blamed "a directory on its path".
#[test]
fn proc_link_denial_names_the_link_not_a_directory() {
    let _one_at_a_time = serial();
    const NOBODY: u32 = 65534;
    if !rustix::process::geteuid().is_root() {
        println!("SKIP: needs root to run explain and the exec as uid {NOBODY}");
        return;
    }
    use std::os::unix::fs::MetadataExt;
    if std::fs::metadata("/proc/1")
        .map(|m| m.uid())
        .unwrap_or(NOBODY)
        == NOBODY
    {
        println!("SKIP: process 1 is not another user's here");
        return;
    }
    let err = Command::new("/proc/1/exe")
        .uid(NOBODY)
        .gid(NOBODY)
        .spawn()
        .expect_err("exec of /proc/1/exe as nobody");
    assert_eq!(err.raw_os_error(), Some(libc::EACCES), "the kernel: {err}");
    // A copy nobody can reach: the build's own directory may be private (a clone in a 0700
    // temporary directory).
    let reachable = tempfile::tempdir().unwrap();
    let forkexec = reachable.path().join("forkexec");
    std::fs::copy(env!("CARGO_BIN_EXE_forkexec"), &forkexec).unwrap();
    std::fs::set_permissions(reachable.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = Command::new(&forkexec)
        .args(["explain", "--json", "--", "/proc/1/exe"])
        .current_dir("/")
        .uid(NOBODY)
        .gid(NOBODY)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(v["errno"], "EACCES", "{v}");
    let reason = v["reason"].as_str().unwrap_or_default();
    assert!(!reason.contains("directory on its path"), "{reason}");
    assert!(reason.contains("ptrace"), "{reason}");
}

/// Issue 11 item 17: JSON rendered paths lossily, so two byte paths gave the same JSON.
#[test]
fn paths_that_are_not_utf8_stay_distinct_in_json() {
    let _one_at_a_time = serial();
    let dir = tempfile::tempdir().unwrap();
    let mut seen = Vec::new();
    for last in [0xffu8, 0xfe] {
        let name = [b"prog-".as_slice(), &[last]].concat();
        let link = dir.path().join(OsStr::from_bytes(&name));
        std::os::unix::fs::symlink("/bin/true", &link).unwrap();
        let path = link.as_os_str().as_bytes().to_vec();
        // The kernel runs it under that name.
        let st = Command::new(&link).status().unwrap();
        assert!(st.success());
        let (code, out, v) = explain_json_of(dir.path(), link.as_os_str());
        assert_eq!(code, 0, "{out}");
        let bytes = |v: &Value| -> Vec<u8> {
            v.as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|n| n.as_u64())
                        .map(|n| n as u8)
                        .collect()
                })
                .unwrap_or_default()
        };
        assert_eq!(bytes(&v["path_bytes"]), path, "{v}");
        assert_eq!(bytes(&v["argv_bytes"][0]), path, "{v}");
        assert_eq!(bytes(&v["chain"][0]["path_bytes"]), path, "{v}");
        seen.push(out);
        // Text escapes the byte the same way everywhere.
        let (_, text, _) = forkexec(
            dir.path(),
            "/usr/bin:/bin",
            &[OsStr::new("explain"), OsStr::new("--"), link.as_os_str()],
        );
        let escaped = format!("prog-\\x{last:02x}");
        assert!(text.lines().all(|l| !l.contains('\u{fffd}')), "{text}");
        assert!(text.contains(&escaped), "{text}");
    }
    assert_ne!(seen[0], seen[1], "two byte paths, one JSON");
}

/// Issue 11 item 12: an ELF truncated inside its segments was "runs"; the kernel kills it.
#[test]
fn truncated_programs_are_killed_as_the_kernel_kills_them() {
    let _one_at_a_time = serial();
    let dir = tempfile::tempdir().unwrap();
    let Ok(whole) = std::fs::read("/bin/true") else {
        println!("SKIP: no /bin/true to cut");
        return;
    };
    use forkexec::model::elf_builder::{ElfBuilder, EXIT_0};
    let mut late_entry = ElfBuilder::exec(EXIT_0);
    late_entry.pad = 5000;
    let cases = [
        ("true-cut-1000", whole[..1000].to_vec()),
        ("true-cut-20000", whole[..20000.min(whole.len())].to_vec()),
        ("entry-cut", late_entry.bytes()[..4096].to_vec()),
    ];
    for (name, bytes) in &cases {
        write(&dir.path().join(name), bytes, 0o755);
    }
    for (name, _) in &cases {
        let path = dir.path().join(name);
        let st = Command::new(&path).status().unwrap();
        let signal = st.signal().expect("the kernel kills it");
        let (code, _, v) = explain_json_of(dir.path(), path.as_os_str());
        assert_eq!(code, 1, "{name}: {v}");
        assert_eq!(v["outcome"], "killed", "{name}: {v}");
        let want = match signal {
            libc::SIGSEGV => "SIGSEGV",
            libc::SIGBUS => "SIGBUS",
            other => panic!("{name}: killed by signal {other}"),
        };
        assert_eq!(v["signal"], want, "{name}: {v}");
    }
}
