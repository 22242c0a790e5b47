//! `forkexec explain`: the CLI contract (JSON keys, exit codes, --args-from, --env, --env-clear,
//! --no-path, --stack) and the verdict wording for the classic cases.
//!
//! One test function: its files are all written before any process is spawned, so no child of
//! a parallel test can hold them open for writing (ETXTBSY).

use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

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
