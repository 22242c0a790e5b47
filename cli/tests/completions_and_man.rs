//! `forkexec completions SHELL` and `forkexec man [SUBCOMMAND]`, generated from the clap
//! definitions: a script for each shell that knows this binary's flags (bash's is run), a man
//! page that man(1) renders, and `--help`'s usage line.

mod cli_support;
use cli_support::{text, BIN};
use std::process::Command;

fn forkexec(args: &[&str]) -> std::process::Output {
    Command::new(BIN).args(args).output().unwrap()
}

#[test]
fn a_completion_script_for_each_shell_knows_the_flags() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = forkexec(&["completions", shell]);
        assert!(out.status.success(), "{shell}: {}", text(&out.stderr));
        let script = text(&out.stdout);
        for needle in ["forkexec", "kill-child", "status-fd", "map-root-user"] {
            assert!(script.contains(needle), "{shell}'s script lacks {needle:?}");
        }
    }
    let out = forkexec(&["completions", "tcsh"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "an unknown shell is a usage error"
    );
}

#[test]
fn bash_completes_a_flag_of_run() {
    if Command::new("bash").arg("-c").arg("true").status().is_err() {
        println!("SKIP: no bash");
        return;
    }
    // Load the script, then ask its function what `forkexec run --kill` completes to.
    let script = format!(
        "source <('{BIN}' completions bash) || exit 3
         COMP_WORDS=(forkexec run --kill); COMP_CWORD=2; COMP_LINE='forkexec run --kill'
         COMP_POINT=${{#COMP_LINE}}
         _forkexec forkexec --kill run
         printf '%s\\n' \"${{COMPREPLY[@]}}\""
    );
    let out = Command::new("bash").args(["-c", &script]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let replies = text(&out.stdout);
    assert!(
        replies.lines().any(|l| l.trim() == "--kill-child"),
        "{replies:?}"
    );
}

/// Renders a roff page with man -l, as a user reading it would see it.
fn render(page: &[u8]) -> Option<String> {
    let path = std::env::temp_dir().join(format!("forkexec-man-{}.1", std::process::id()));
    std::fs::write(&path, page).unwrap();
    let out = Command::new("man")
        .arg("-l")
        .arg(&path)
        .env("MANPAGER", "cat")
        .env("MANWIDTH", "100")
        .output();
    let _ = std::fs::remove_file(&path);
    match out {
        Ok(out) if out.status.success() => Some(text(&out.stdout)),
        Ok(out) => panic!("man -l failed: {}", text(&out.stderr)),
        Err(e) => {
            println!("SKIP: cannot run man ({e}); install man-db to render the pages");
            None
        }
    }
}

#[test]
fn man_pages_render() {
    let out = forkexec(&["man"]);
    assert!(out.status.success());
    let Some(top) = render(&out.stdout) else {
        return;
    };
    for needle in [
        "NAME",
        "SYNOPSIS",
        "forkexec-run(1)",
        "forkexec-completions(1)",
    ] {
        assert!(top.contains(needle), "forkexec(1) lacks {needle:?}:\n{top}");
    }
    let out = forkexec(&["man", "run"]);
    assert!(out.status.success());
    let run = render(&out.stdout).unwrap();
    for needle in [
        "forkexec-run",
        "--kill-child",
        "--status-fd",
        "Exit status",
        "128+N",
    ] {
        assert!(
            run.contains(needle),
            "forkexec-run(1) lacks {needle:?}:\n{run}"
        );
    }
    let out = forkexec(&["man", "nosuch"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no subcommand \"nosuch\""));
}

#[test]
fn the_usage_line_names_program_and_args() {
    let out = forkexec(&["run", "--help"]);
    let help = text(&out.stdout);
    assert!(
        help.contains("Usage: forkexec run [OPTIONS] <PROGRAM> [ARG]...\n"),
        "{help}"
    );
}
