//! The util-linux and coreutils spellings of `forkexec run` behave as the originals: each case
//! runs the real tool (unshare, setpriv, env, prlimit, nice) and forkexec on the same program
//! and compares what the program saw (/proc/self/status, its namespaces, mounts, limits, nice
//! value, environment, cwd).

mod cli_support;
use cli_support::{is_root, text, BIN};
use std::process::Command;

/// Runs `argv` and returns its stdout; fails the test on a non-zero exit.
fn output(argv: &[&str]) -> String {
    let out = Command::new(argv[0]).args(&argv[1..]).output().unwrap();
    assert!(
        out.status.success(),
        "{argv:?}: {:?}\n{}",
        out.status,
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// `TOOL TOOL_ARGS... PROGRAM...` and `forkexec run OUR_ARGS... -- PROGRAM...`: their outputs.
fn both(tool: &[&str], ours: &[&str], program: &[&str]) -> (String, String) {
    let theirs = output(&[tool, program].concat());
    let ours = output(&[&[BIN, "run"], ours, &["--"], program].concat());
    (theirs, ours)
}

fn have(tool: &str) -> bool {
    let found = Command::new(tool).arg("--version").output().is_ok();
    if !found {
        println!("SKIP: {tool} is not installed");
    }
    found
}

/// The lines of /proc/self/status about credentials and privileges.
fn credentials(status: &str) -> Vec<&str> {
    status
        .lines()
        .filter(|l| {
            ["Uid:", "Gid:", "Groups:", "NoNewPrivs:"]
                .iter()
                .any(|k| l.starts_with(k))
        })
        .collect()
}

/// A user that is a member of some group other than its primary one, if the databases have
/// one: the case where --init-groups has something to find.
fn user_with_supplementary_groups() -> Option<String> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    let users: Vec<&str> = passwd.lines().filter_map(|l| l.split(':').next()).collect();
    let group = std::fs::read_to_string("/etc/group").ok()?;
    group
        .lines()
        .filter_map(|l| l.rsplit(':').next())
        .flat_map(|members| members.split(','))
        .find(|m| !m.is_empty() && users.contains(m))
        .map(str::to_string)
}

#[test]
fn setpriv_spellings() {
    if !is_root() || !have("setpriv") {
        println!("SKIP: changing credentials needs root");
        return;
    }
    let status = ["cat", "/proc/self/status"];
    let member = user_with_supplementary_groups();
    if member.is_none() {
        println!(
            "NOTE: no user with supplementary groups here; --init-groups is compared for nobody"
        );
    }
    let member = member.as_deref().unwrap_or("nobody");
    for (theirs, ours) in [
        (
            &["--reuid", "65534", "--regid", "65534", "--clear-groups"][..],
            &["--reuid", "65534", "--regid", "65534", "--clear-groups"][..],
        ),
        (
            &["--reuid", "nobody", "--regid", "65534", "--keep-groups"],
            &["--reuid", "nobody", "--regid", "65534", "--keep-groups"],
        ),
        (
            &["--reuid", member, "--regid", "65534", "--init-groups"],
            &["--reuid", member, "--regid", "65534", "--init-groups"],
        ),
        // runuser -u's view, spelled in setpriv: --user USER is all three at once.
        (
            &[
                "--reuid",
                member,
                "--regid",
                &primary_gid(member),
                "--init-groups",
            ],
            &["--user", member],
        ),
        (&["--nnp"], &["--nnp"]),
    ] {
        let (t, o) = both(&[&["setpriv"], theirs].concat(), ours, &status);
        assert_eq!(
            credentials(&o),
            credentials(&t),
            "setpriv {theirs:?} vs {ours:?}"
        );
    }
}

fn primary_gid(user: &str) -> String {
    output(&["id", "-g", user]).trim().to_string()
}

#[test]
fn env_spellings() {
    let program = [
        "sh",
        "-c",
        "pwd; echo ${HOME-unset}; echo ${FORKEXEC_T-unset}",
    ];
    let (t, o) = both(
        &["env", "-u", "HOME", "-C", "/tmp"],
        &["-u", "HOME", "-C", "/tmp"],
        &program,
    );
    assert_eq!(o, t);
    assert_eq!(o, "/tmp\nunset\nunset\n");
    let (t, o) = both(
        &["env", "--unset=HOME", "--chdir=/"],
        &["--unset=HOME", "--chdir=/"],
        &program,
    );
    assert_eq!(o, t);
    // -i: nothing but what is set afterwards; the program is still found (default PATH).
    let (t, o) = both(
        &["env", "-i", "FORKEXEC_T=1"],
        &["-i", "--env", "FORKEXEC_T=1"],
        &["env"],
    );
    assert_eq!(o, t);
    assert_eq!(o, "FORKEXEC_T=1\n");
}

#[test]
fn prlimit_spellings() {
    if !have("prlimit") {
        return;
    }
    // Only lowering: raising a hard limit needs CAP_SYS_RESOURCE, which even root may lack in
    // a container.
    let limits = ["cat", "/proc/self/limits"];
    for flags in [
        &["--nofile=50:60", "--core=0", "--cpu=100:200"][..],
        &["--nofile=70", "--stack=4194304:", "--as=1000000000000"],
        &["--nproc=1000:", "--msgqueue=8192", "--sigpending=1000:2000"],
    ] {
        let (t, o) = both(&[&["prlimit"], flags].concat(), flags, &limits);
        assert_eq!(o, t, "{flags:?}");
    }
}

/// The nice value (field 19) of a /proc/PID/stat line.
fn nice_of(stat: &str) -> i64 {
    stat[stat.rfind(')').unwrap() + 2..]
        .split_whitespace()
        .nth(16)
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn nice_adjusts_as_nice_does() {
    // Both under a parent at nice 2, so an absolute value and an adjustment differ.
    let stat = ["cat", "/proc/self/stat"];
    let mut cases = vec!["5", "50"];
    if is_root() {
        cases.extend(["-3", "-50"]);
    } else {
        println!("SKIP: lowering the nice value needs root");
    }
    for n in cases {
        let t = output(&[&["nice", "-n", "2", "nice", "-n", n][..], &stat].concat());
        let o = output(
            &[
                &["nice", "-n", "2", BIN, "run", "--nice", n, "--"][..],
                &stat,
            ]
            .concat(),
        );
        assert_eq!(nice_of(&o), nice_of(&t), "--nice {n}");
    }
}

/// For each namespace, whether the program's differs from this process's: "new", "same" or
/// "none" (a pid or time namespace for children that has no process yet).
fn namespaces_seen(listing: &str) -> Vec<String> {
    listing
        .lines()
        .map(|l| {
            let (name, link) = l.split_once(' ').unwrap_or((l, ""));
            let ours = std::fs::read_link(format!("/proc/self/ns/{name}"))
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_default();
            let state = match link {
                "" => "none",
                l if l == ours => "same",
                _ => "new",
            };
            format!("{name}: {state}")
        })
        .collect()
}

const NS_LISTING: &str = "for n in user mnt pid pid_for_children net uts ipc cgroup time \
                          time_for_children; do echo \"$n $(readlink /proc/$$/ns/$n)\"; done";

fn userns_usable() -> bool {
    let ok = Command::new("unshare")
        .args(["-U", "true"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        println!("SKIP: unshare -U fails here (no user namespaces)");
    }
    ok
}

#[test]
fn unshare_spellings() {
    if !have("unshare") || !userns_usable() {
        return;
    }
    let listing = ["sh", "-c", NS_LISTING];
    let mut cases: Vec<(&[&str], &[&str])> = vec![
        (&["-U"], &["-U"]),
        (&["-U", "-r"], &["-r"]),
        (&["-U", "-c"], &["-c"]),
        (&["-r", "-m", "-n"], &["-r", "-m", "-n"]),
        (
            &["-r", "-u", "-i", "-C"],
            &["-r", "--uts", "--ipc", "--cgroup-ns"],
        ),
    ];
    let time_ns = std::path::Path::new("/proc/self/ns/time").exists();
    if time_ns {
        cases.push((&["-r", "-T"], &["-r", "-T"]));
    } else {
        println!("SKIP: no time namespaces before Linux 5.6");
    }
    if is_root() {
        cases.push((&["-m", "-n", "--uts"], &["-m", "-n", "--uts"]));
    }
    for (theirs, ours) in cases {
        let (t, o) = both(&[&["unshare"], theirs].concat(), ours, &listing);
        assert_eq!(
            namespaces_seen(&o),
            namespaces_seen(&t),
            "unshare {theirs:?} vs forkexec run {ours:?}"
        );
    }

    // The maps -r and -c write, and who the program is inside.
    let ids = [
        "sh",
        "-c",
        "cat /proc/self/uid_map /proc/self/gid_map /proc/self/setgroups; id -u",
    ];
    for flag in ["-r", "-c"] {
        let (t, o) = both(&["unshare", flag], &[flag], &ids);
        assert_eq!(o, t, "{flag}");
    }

    // -p: the program's first child is pid 1 of the new pid namespace (the listing above
    // cannot run there: after that first child a fork fails); with --fork, the program is.
    let (t, o) = both(
        &["unshare", "-r", "-p"],
        &["-r", "-p"],
        &["sh", "-c", "sh -c 'echo $$'"],
    );
    assert_eq!((o.as_str(), t.as_str()), ("1\n", "1\n"));
    let (t, o) = both(
        &["unshare", "-r", "-p"],
        &["-r", "-p"],
        &["sh", "-c", "echo $$"],
    );
    assert_ne!(o, "1\n");
    assert_ne!(t, "1\n");
    let (t, o) = both(
        &["unshare", "-r", "-f", "-p"],
        &["-r", "-f", "-p"],
        &["sh", "-c", "echo $$"],
    );
    assert_eq!((o.as_str(), t.as_str()), ("1\n", "1\n"));

    // -m: mounts in the new namespace are private, as unshare's default --propagation private.
    let mounts = ["cat", "/proc/self/mountinfo"];
    let (t, o) = both(&["unshare", "-r", "-m"], &["-r", "-m"], &mounts);
    assert_eq!(propagation(&o), propagation(&t));
    assert!(
        !t.contains(" shared:"),
        "unshare -m left a shared mount: {t}"
    );
}

/// Each mount point with its propagation tags (shared:N, master:N; none = private).
fn propagation(mountinfo: &str) -> Vec<String> {
    mountinfo
        .lines()
        .map(|l| {
            let fields: Vec<&str> = l.split(' ').collect();
            let tags: Vec<&str> = fields[6..]
                .iter()
                .take_while(|f| **f != "-")
                .map(|t| t.split(':').next().unwrap_or(t))
                .collect();
            format!("{} {}", fields[4], tags.join(","))
        })
        .collect()
}
