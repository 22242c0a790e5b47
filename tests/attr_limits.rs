//! Resource limits, umask, nice and scheduling policy, read from the child (ulimit, umask,
//! /proc/self/limits, /proc/self/stat fields 19 nice and 41 policy).

mod support;
use forkexec::attr::limits::{parse_rlimit, UNLIMITED};
use forkexec::attr::Resource;
use forkexec::{Command, ErrorStage};
use support::{is_root, probe, sh, stat_field};

#[test]
fn rlimits_are_set_in_the_child() {
    let out = probe(
        sh("ulimit -Sn; ulimit -Hn; ulimit -Sc; ulimit -Hc")
            .rlimit("nofile", 64, 128)
            .rlimit(Resource::CORE, 0, 0),
    );
    assert_eq!(out, "64\n128\n0\n0\n");
}

#[test]
fn rlimit_by_number_and_unlimited() {
    let (_, hard) = Resource::FSIZE.current();
    if hard != UNLIMITED {
        return support::skip("RLIMIT_FSIZE hard limit is not unlimited here");
    }
    let out = probe(
        Command::new("grep")
            .args(["Max file size", "/proc/self/limits"])
            .rlimit(libc::RLIMIT_FSIZE as i32, 4096, UNLIMITED),
    );
    let words: Vec<&str> = out.split_whitespace().collect();
    assert_eq!(&words[3..5], ["4096", "unlimited"], "{out}");
}

#[test]
fn prlimit_specs_parse_like_prlimit() {
    assert_eq!(
        parse_rlimit("nofile=10:20").unwrap(),
        (Resource::NOFILE, 10, 20)
    );
    assert_eq!(
        parse_rlimit("NOFILE=10").unwrap(),
        (Resource::NOFILE, 10, 10)
    );
    assert_eq!(
        parse_rlimit("core=unlimited").unwrap(),
        (Resource::CORE, UNLIMITED, UNLIMITED)
    );
    let (_, cur_hard) = Resource::NOFILE.current();
    assert_eq!(
        parse_rlimit("nofile=10:").unwrap(),
        (Resource::NOFILE, 10, cur_hard)
    );
    assert!(parse_rlimit("nofiles=1").is_err());
    assert!(parse_rlimit("nofile").is_err());
    assert!(parse_rlimit("nofile=ten").is_err());
}

#[test]
fn raising_a_hard_limit_without_privilege_names_the_limit() {
    if is_root() {
        return support::skip("root may raise hard limits");
    }
    let (_, hard) = Resource::NOFILE.current();
    let err = Command::new("true")
        .rlimit("nofile", hard, hard.saturating_add(1))
        .spawn()
        .unwrap_err();
    assert_eq!(err.step_name(), "setrlimit");
    assert!(err.to_string().contains("RLIMIT_NOFILE"), "{err}");
}

#[test]
fn umask_is_set_in_the_child() {
    assert_eq!(probe(sh("umask").umask(0o027)), "0027\n");
    assert_eq!(probe(sh("umask").umask(0o777)), "0777\n");
}

#[test]
fn nice_is_set_in_the_child() {
    let stat = probe(Command::new("cat").arg("/proc/self/stat").nice(7));
    assert_eq!(stat_field(&stat, 19), 7, "{stat}");
}

#[test]
fn scheduling_policy_is_set_in_the_child() {
    let stat = probe(
        Command::new("cat")
            .arg("/proc/self/stat")
            .scheduler("batch", 0),
    );
    assert_eq!(stat_field(&stat, 41), libc::SCHED_BATCH as i64, "{stat}");
    let stat = probe(
        Command::new("cat")
            .arg("/proc/self/stat")
            .scheduler(forkexec::attr::SchedPolicy::IDLE, 0),
    );
    assert_eq!(stat_field(&stat, 41), libc::SCHED_IDLE as i64, "{stat}");
    if is_root() {
        let stat = probe(
            Command::new("cat")
                .arg("/proc/self/stat")
                .scheduler("fifo", 3),
        );
        assert_eq!(stat_field(&stat, 41), libc::SCHED_FIFO as i64, "{stat}");
        assert_eq!(stat_field(&stat, 40), 3, "rt_priority: {stat}");
    }
}

#[test]
fn out_of_range_values_are_refused() {
    for mut cmd in [
        {
            let mut c = Command::new("true");
            c.umask(0o1000);
            c
        },
        {
            let mut c = Command::new("true");
            c.nice(20);
            c
        },
        {
            let mut c = Command::new("true");
            c.scheduler("fifo", 0);
            c
        },
        {
            let mut c = Command::new("true");
            c.scheduler("deadline", 0);
            c
        },
    ] {
        let err = cmd.spawn().unwrap_err();
        assert_eq!(err.stage(), ErrorStage::InvalidInput, "{err}");
    }
}
