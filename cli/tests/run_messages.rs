//! `forkexec run`'s error messages name the program and paths byte for byte: bytes that are
//! not UTF-8 are escaped (`\xff`), as `explain` shows them, never replaced by U+FFFD (which
//! would make two different names print the same).

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::process::Command;

fn run_stderr(args: &[&OsStr]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_forkexec"))
        .arg("run")
        .args(args)
        .output()
        .unwrap();
    let code = out.status.code().expect("forkexec exits normally");
    (
        code,
        String::from_utf8(out.stderr).expect("messages are UTF-8"),
    )
}

#[test]
fn names_that_are_not_utf8_are_escaped_not_replaced() {
    let program = OsStr::from_bytes(b"/forkexec-nope-\xff\xfe");
    let (code, err) = run_stderr(&[OsStr::new("--"), program]);
    assert_eq!(code, 127, "{err}");
    assert_eq!(
        err,
        "forkexec: failed to execute \"/forkexec-nope-\\xff\\xfe\": No such file or directory \
         (ENOENT)\n"
    );

    let dir = OsStr::from_bytes(b"/forkexec-no-dir-\xe9");
    let (code, err) = run_stderr(&[
        OsStr::new("--dir"),
        dir,
        OsStr::new("--"),
        OsStr::new("true"),
    ]);
    assert_eq!(code, 126, "{err}");
    assert!(
        err.contains("chdir to \"/forkexec-no-dir-\\xe9\" for \"true\""),
        "{err}"
    );
    assert!(!err.contains('\u{fffd}'), "{err}");
}

#[test]
fn a_script_with_windows_line_endings_gets_the_reason_not_a_bare_enoent() {
    // The file is there; what the kernel cannot find is its interpreter "/bin/sh\r". Before,
    // run printed only ENOENT for a file the user can see; now it adds explain's reason.
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("crlf.sh");
    std::fs::write(&script, "#!/bin/sh\r\necho hi\r\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (code, err) = run_stderr(&[OsStr::new("--"), script.as_os_str()]);
    assert_eq!(code, 127, "{err}");
    assert!(err.contains("No such file or directory (ENOENT)"), "{err}");
    assert!(
        err.contains("forkexec: why: interpreter \"/bin/sh\\r\"")
            && err.contains("Windows line endings"),
        "{err}"
    );
    // A program that is simply missing needs no second line.
    let (code, err) = run_stderr(&[OsStr::new("--"), OsStr::new("/forkexec-no-such-program")]);
    assert_eq!(code, 127, "{err}");
    assert!(!err.contains("why:"), "{err}");
}
