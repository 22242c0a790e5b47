//! The child's signal mask and dispositions, read from its /proc/self/status (SigBlk, SigIgn).
//!
//! One test function: it changes this process's own dispositions and mask (which all test
//! threads share) and must not race with another test reading them.

mod support;
use forkexec::attr::{Signal, SignalSet};
use forkexec::{Command, ErrorStage};
use support::{probe, status_field};

fn sigs(status: &str, field: &str) -> u64 {
    u64::from_str_radix(status_field(status, field), 16).unwrap()
}

fn bit(sig: i32) -> u64 {
    1 << (sig - 1)
}

fn child_status(cmd: &mut Command) -> String {
    probe(cmd.arg("/proc/self/status"))
}

fn set_disposition(sig: i32, handler: libc::sighandler_t) {
    // SAFETY: SIG_IGN / SIG_DFL for a signal no test relies on; no handler code is installed.
    unsafe { libc::signal(sig, handler) };
}

fn block_in_this_thread(sig: i32) {
    // SAFETY: a zeroed sigset_t filled by sigemptyset/sigaddset; only this thread's mask.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, sig);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
}

#[test]
fn mask_and_dispositions() {
    // The parent blocks SIGUSR1 in this thread and ignores SIGUSR2 and SIGHUP; Rust already
    // ignores SIGPIPE. The child inherits the mask (std's rule since 1.66); with
    // reset_ignored_signals nothing is ignored, and an empty signal_mask unblocks all.
    block_in_this_thread(libc::SIGUSR1);
    set_disposition(libc::SIGUSR2, libc::SIG_IGN);
    set_disposition(libc::SIGHUP, libc::SIG_IGN);
    let st = child_status(Command::new("cat").reset_ignored_signals(true));
    assert_eq!(sigs(&st, "SigBlk"), bit(libc::SIGUSR1), "{st}");
    assert_eq!(sigs(&st, "SigIgn"), 0, "{st}");
    let st = child_status(
        Command::new("cat")
            .reset_ignored_signals(true)
            .signal_mask(SignalSet::EMPTY),
    );
    assert_eq!(sigs(&st, "SigBlk"), 0, "{st}");

    // A mask and ignored signals on request, by name, by number and typed.
    let st = child_status(
        Command::new("cat")
            .reset_ignored_signals(true)
            .signal_mask("TERM,SIGINT")
            .ignore_signals([libc::SIGQUIT])
            .ignore_signals(SignalSet::from(Signal::USR1)),
    );
    assert_eq!(
        sigs(&st, "SigBlk"),
        bit(libc::SIGTERM) | bit(libc::SIGINT),
        "{st}"
    );
    assert_eq!(
        sigs(&st, "SigIgn"),
        bit(libc::SIGQUIT) | bit(libc::SIGUSR1),
        "{st}"
    );

    // By default USR2 and HUP stay ignored (nohup style) but not SIGPIPE, which Rust
    // ignored, not the user; default_signals resets HUP anyway. The mask is this thread's
    // either way. (Whatever else this process inherited as ignored is kept too.)
    let ours = sigs(
        &std::fs::read_to_string("/proc/self/status").unwrap(),
        "SigIgn",
    );
    assert_eq!(
        ours & (bit(libc::SIGUSR2) | bit(libc::SIGHUP) | bit(libc::SIGPIPE)),
        bit(libc::SIGUSR2) | bit(libc::SIGHUP) | bit(libc::SIGPIPE)
    );
    let st = child_status(&mut Command::new("cat"));
    assert_eq!(sigs(&st, "SigBlk"), bit(libc::SIGUSR1), "{st}");
    assert_eq!(sigs(&st, "SigIgn"), ours & !bit(libc::SIGPIPE), "{st}");
    let st = child_status(Command::new("cat").default_signals("HUP"));
    assert_eq!(
        sigs(&st, "SigIgn"),
        ours & !bit(libc::SIGPIPE) & !bit(libc::SIGHUP),
        "{st}"
    );

    // A real-time signal by name.
    let rt = libc::SIGRTMIN() + 2;
    let st = child_status(Command::new("cat").signal_mask("RTMIN+2"));
    assert_eq!(sigs(&st, "SigBlk"), bit(rt), "{st}");

    // Refused before any clone: unknown names, uncatchable signals.
    for (mut cmd, needle) in [
        (
            mk(|c| c.signal_mask("TERM,NOPE")),
            "unknown signal \"NOPE\"",
        ),
        (mk(|c| c.ignore_signals("KILL")), "SIGKILL and SIGSTOP"),
        (mk(|c| c.signal_mask("STOP")), "SIGKILL and SIGSTOP"),
        (mk(|c| c.pdeathsig(65)), "unknown signal \"65\""),
    ] {
        let err = cmd.spawn().unwrap_err();
        assert_eq!(err.stage(), ErrorStage::InvalidInput, "{err}");
        assert!(err.to_string().contains(needle), "{err} lacks {needle}");
    }
    set_disposition(libc::SIGUSR2, libc::SIG_DFL);
    set_disposition(libc::SIGHUP, libc::SIG_DFL);
}

fn mk(f: impl FnOnce(&mut Command) -> &mut Command) -> Command {
    let mut c = Command::new("true");
    f(&mut c);
    c
}

#[test]
fn signal_names_parse_like_kill() {
    for (name, n) in [
        ("SIGTERM", libc::SIGTERM),
        ("TERM", libc::SIGTERM),
        ("term", libc::SIGTERM),
        ("15", 15),
        ("CHLD", libc::SIGCHLD),
        ("RTMIN", libc::SIGRTMIN()),
        ("RTMAX-1", libc::SIGRTMAX() - 1),
    ] {
        assert_eq!(name.parse::<Signal>().unwrap().number(), n, "{name}");
    }
    for bad in ["", "SIG", "TERMS", "0", "65", "RTMIN+99"] {
        assert!(bad.parse::<Signal>().is_err(), "{bad}");
    }
    assert_eq!(Signal::TERM.name(), "SIGTERM");
    assert_eq!(
        "INT,TERM".parse::<SignalSet>().unwrap().to_string(),
        "SIGINT,SIGTERM"
    );
}
