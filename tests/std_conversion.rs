//! From `std::process::Command`: `TryFrom` carries what std's getters show (and `env_clear`,
//! which std's Debug shows) and refuses what it cannot see the value of; `from_std_lossy`
//! drops it by name. Each case runs the child and reads what it got, where it matters.

use forkexec::Command;
use std::os::unix::process::CommandExt;
use std::process::Command as StdCommand;

fn run(mut cmd: Command) -> String {
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn program_args_environment_and_directory_are_carried() {
    let mut std_cmd = StdCommand::new("sh");
    std_cmd
        .args(["-c", "echo $KEEP-$GONE; pwd"])
        .env("KEEP", "kept")
        .env_remove("GONE")
        .current_dir("/tmp");
    std::env::set_var("GONE", "should-be-removed");
    let cmd = Command::try_from(&std_cmd).unwrap();
    assert_eq!(cmd.get_program(), std_cmd.get_program());
    assert!(cmd.get_args().eq(std_cmd.get_args()));
    assert!(cmd.get_envs().eq(std_cmd.get_envs()));
    assert_eq!(cmd.get_current_dir(), std_cmd.get_current_dir());
    assert_eq!(run(cmd), "kept-\n/tmp\n");
    std::env::remove_var("GONE");
}

#[test]
fn env_clear_is_seen_and_carried() {
    // The conversion that copied the getters gave this child the whole parent environment.
    let mut std_cmd = StdCommand::new("/usr/bin/env");
    std_cmd.env_clear().env("X", "1");
    let cmd = Command::try_from(std_cmd).unwrap();
    assert!(cmd.get_env_clear());
    assert_eq!(run(cmd), "X=1\n");
}

#[test]
fn what_std_hides_is_refused_by_name() {
    let cases: Vec<(StdCommand, &[&str])> = vec![
        (
            {
                let mut c = StdCommand::new("id");
                c.uid(65534);
                c
            },
            &["uid"],
        ),
        (
            {
                let mut c = StdCommand::new("id");
                c.gid(65534);
                c
            },
            &["gid"],
        ),
        (
            {
                let mut c = StdCommand::new("sh");
                c.arg0("renamed").arg("-c").arg("true");
                c
            },
            &["arg0"],
        ),
        (
            {
                let mut c = StdCommand::new("cat");
                c.stdin(std::process::Stdio::null())
                    .stdout(std::process::Stdio::piped());
                c
            },
            &["stdin", "stdout"],
        ),
        (
            {
                let mut c = StdCommand::new("sleep");
                c.process_group(0).env_clear().env("A", "1");
                c
            },
            &["pgroup"],
        ),
    ];
    for (std_cmd, hidden) in cases {
        let err = Command::try_from(&std_cmd).unwrap_err();
        assert_eq!(err.hidden, hidden, "{std_cmd:#?}");
        let message = err.to_string();
        for name in hidden {
            assert!(message.contains(name), "{message}");
        }
        // The lossy conversion keeps what the getters show and says nothing.
        let lossy = Command::from_std_lossy(&std_cmd);
        assert_eq!(lossy.get_program(), std_cmd.get_program());
        assert!(lossy.get_args().eq(std_cmd.get_args()));
    }
}

#[test]
fn the_lossy_conversion_drops_the_uid_by_its_name() {
    if !rustix::process::geteuid().is_root() {
        return println!("SKIP: needs root to see a dropped uid make a difference");
    }
    let mut std_cmd = StdCommand::new("id");
    std_cmd.arg("-u").uid(65534);
    // std runs it as 65534; the lossy conversion as this process (root), as its name warns.
    let std_out = std_cmd.output().unwrap();
    assert_eq!(std_out.stdout, b"65534\n");
    assert_eq!(run(Command::from_std_lossy(&std_cmd)), "0\n");
    assert!(Command::try_from(&std_cmd).is_err());
}
