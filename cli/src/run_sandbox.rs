//! `forkexec run`'s sandbox flags (issue 15): joining namespaces (nsenter), seccomp (bwrap,
//! minijail), Landlock (Go's SysProcAttr.Landlock, golang/go#68595), a fresh /proc and the
//! propagation of / (unshare), a pty relayed to this terminal (script(1)), a timeout
//! (timeout(1)), capability limits (setpriv); and the pty relay. The supervisor
//! (supervisor.rs) carries out --timeout and passes SIGWINCH on to the pty as a resize.

use clap::Args;
use forkexec::attr::{BoundingSet, Landlock, LandlockUnsupported, Namespaces, Securebits};
use forkexec::attr::{NamespaceTarget, Propagation, SeccompFilter};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Args, Debug, Default)]
#[command(next_help_heading = "Sandbox")]
pub struct SandboxArgs {
    /// Join namespaces of a process or an ns file before anything else: PID (all that differ
    /// from ours, as nsenter -t PID -a), PID:net,uts (those), or PATH (/proc/PID/ns/net,
    /// /run/netns/NAME). A joined pid namespace holds the program itself (nsenter's fork).
    /// Repeatable.
    #[arg(long = "join-ns", value_name = "PID[:LIST]|PATH", value_parser = parse_join)]
    join_ns: Vec<Join>,
    /// Make these syscalls fail with EPERM, e.g. mkdir,mkdirat,unshare (a seccomp filter
    /// installed last; bwrap users' and minijail's deny lists). Implies no_new_privs for a
    /// program without CAP_SYS_ADMIN.
    #[arg(long, value_name = "LIST")]
    seccomp_deny: Option<String>,
    /// Install this raw classic-BPF program (struct sock_filter records in this machine's
    /// byte order), as bwrap --seccomp FD reads them.
    #[arg(long, value_name = "FILE")]
    seccomp_bpf: Option<PathBuf>,
    /// Landlock: files under PATH may be read and executed (repeatable; with any Landlock
    /// flag, every other path is denied).
    #[arg(long, value_name = "PATH")]
    landlock_read: Vec<PathBuf>,
    /// Landlock: files under PATH may be read, written, created and removed (repeatable).
    #[arg(long, value_name = "PATH")]
    landlock_write: Vec<PathBuf>,
    /// On a kernel without Landlock (before 5.13, or not enabled), run unrestricted instead of
    /// failing.
    #[arg(long)]
    landlock_best_effort: bool,
    /// Mount a fresh /proc so that ps sees only the new pid namespace (unshare --mount-proc);
    /// needs --clone-ns pid,mount (or a joined pid namespace and a new mount namespace).
    #[arg(long)]
    mount_proc: bool,
    /// Propagation of / in a new mount namespace: private (default), slave, shared, unchanged
    /// (unshare --propagation).
    #[arg(long, value_name = "MODE")]
    propagation: Option<Propagation>,
    /// Run the program on a new pseudo-terminal, relayed to this one in raw mode, with window
    /// size changes passed on (script(1); creack/pty).
    #[arg(long)]
    pty: bool,
    /// Send TERM after DURATION (to the program's group when it leads one), and KILL GRACE
    /// later if it is still running: timeout(1) DURATION with --kill-after=GRACE (without
    /// GRACE, no KILL). Exit 124 when TERM ended it, 137 when KILL did. Units s, m, h, d.
    #[arg(long, value_name = "DURATION[:GRACE]", value_parser = parse_timeout)]
    timeout: Option<Timeout>,
    /// Drop capabilities from the bounding set, setpriv's syntax: -all,+net_bind_service.
    #[arg(long, value_name = "CHANGES", allow_hyphen_values = true)]
    bounding_set: Option<BoundingSet>,
    /// Set or clear securebits, setpriv's syntax: +noroot,+noroot_locked.
    #[arg(long, value_name = "CHANGES", allow_hyphen_values = true)]
    securebits: Option<Securebits>,
}

#[derive(Clone, Debug)]
struct Join {
    target: JoinTarget,
    kinds: Namespaces,
}

#[derive(Clone, Debug)]
enum JoinTarget {
    Pid(u32),
    File(PathBuf),
}

/// `PID`, `PID:LIST` or a path (anything with a `/`).
fn parse_join(s: &str) -> Result<Join, String> {
    if s.contains('/') {
        return Ok(Join {
            target: JoinTarget::File(PathBuf::from(s)),
            kinds: Namespaces::ALL,
        });
    }
    let (pid, list) = match s.split_once(':') {
        Some((p, l)) => (p, Some(l)),
        None => (s, None),
    };
    let pid = pid
        .parse::<u32>()
        .ok()
        .filter(|&p| p > 0)
        .ok_or_else(|| format!("{pid:?} is not a process id (or give a path to an ns file)"))?;
    let kinds = match list {
        Some(l) => l.parse::<Namespaces>().map_err(|e| e.to_string())?,
        None => Namespaces::ALL,
    };
    if kinds.is_empty() {
        return Err("the namespace list is empty".into());
    }
    Ok(Join {
        target: JoinTarget::Pid(pid),
        kinds,
    })
}

#[derive(Clone, Copy, Debug)]
pub struct Timeout {
    /// TERM this long after the start.
    pub after: Duration,
    /// KILL this long after the TERM (none: TERM only).
    pub grace: Option<Duration>,
}

/// `DURATION[:GRACE]`, each a number with an optional unit s, m, h or d (timeout(1)).
fn parse_timeout(s: &str) -> Result<Timeout, String> {
    let (after, grace) = match s.split_once(':') {
        Some((a, g)) => (a, Some(g)),
        None => (s, None),
    };
    Ok(Timeout {
        after: parse_duration(after)?,
        grace: grace.map(parse_duration).transpose()?,
    })
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let (number, unit) = match s.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let factor = match unit {
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        "d" => 86400.0,
        _ => return Err(format!("{s:?}: the unit is s, m, h or d")),
    };
    number
        .parse::<f64>()
        .ok()
        .filter(|n| n.is_finite() && *n >= 0.0)
        .and_then(|n| Duration::try_from_secs_f64(n * factor).ok())
        .ok_or_else(|| format!("{s:?} is not a duration (e.g. 10, 1.5s, 2m)"))
}

impl SandboxArgs {
    /// Applies the flags to `cmd`. Combinations are checked by the library at spawn.
    pub fn apply(&self, cmd: &mut forkexec::Command) -> Result<(), String> {
        for j in &self.join_ns {
            let target = match &j.target {
                JoinTarget::Pid(p) => NamespaceTarget::Pid(*p),
                JoinTarget::File(p) => NamespaceTarget::File(p.clone()),
            };
            cmd.join_namespaces(target, j.kinds);
        }
        if let Some(list) = &self.seccomp_deny {
            let names = list.split(',').map(str::trim).filter(|n| !n.is_empty());
            let filter = SeccompFilter::deny_syscall_names(names, libc::EPERM)
                .map_err(|e| format!("--seccomp-deny: {e}"))?;
            cmd.seccomp(filter);
        }
        if let Some(path) = &self.seccomp_bpf {
            let bytes = std::fs::read(path)
                .map_err(|e| format!("--seccomp-bpf: cannot read {}: {e}", path.display()))?;
            let filter = SeccompFilter::from_bpf(&bytes)
                .map_err(|e| format!("--seccomp-bpf {}: {e}", path.display()))?;
            cmd.seccomp(filter);
        }
        if !self.landlock_read.is_empty() || !self.landlock_write.is_empty() {
            let mut rules = Landlock::new();
            for p in &self.landlock_read {
                rules = rules.read(p);
            }
            for p in &self.landlock_write {
                rules = rules.write(p);
            }
            if self.landlock_best_effort {
                rules = rules.if_unsupported(LandlockUnsupported::RunUnrestricted);
            }
            cmd.landlock(rules);
        } else if self.landlock_best_effort {
            return Err("--landlock-best-effort needs --landlock-read or --landlock-write".into());
        }
        if self.mount_proc {
            cmd.mount_proc(true);
        }
        if let Some(p) = self.propagation {
            cmd.propagation(p);
        }
        if self.pty {
            cmd.pty(terminal_size().unwrap_or((24, 80)));
        }
        if let Some(b) = self.bounding_set {
            cmd.bounding_set(b);
        }
        if let Some(s) = self.securebits {
            cmd.securebits(s);
        }
        Ok(())
    }

    /// `--pty` was given.
    pub fn wants_pty(&self) -> bool {
        self.pty
    }

    /// `--timeout`, for the supervisor.
    pub fn timeout(&self) -> Option<Timeout> {
        self.timeout
    }
}

/// This terminal's size (stdin's), if stdin is a terminal.
fn terminal_size() -> Option<(u16, u16)> {
    let w = rustix::termios::tcgetwinsize(rustix::stdio::stdin()).ok()?;
    (w.ws_row > 0 && w.ws_col > 0).then_some((w.ws_row, w.ws_col))
}

/// script(1)'s relay: this terminal in raw mode (so that Ctrl-C and friends reach the
/// program's own terminal, whose line discipline turns them into signals), input copied to
/// the pty, the pty's output copied to stdout; the supervisor turns SIGWINCH into a resize.
pub struct Relay {
    pty: Arc<forkexec::Pty>,
    saved: Option<rustix::termios::Termios>,
    output: std::thread::JoinHandle<()>,
}

impl Relay {
    pub fn start(pty: forkexec::Pty) -> std::io::Result<Relay> {
        let pty = Arc::new(pty);
        let stdin = rustix::stdio::stdin();
        let saved = rustix::termios::tcgetattr(stdin).ok();
        if let Some(t) = &saved {
            let mut raw = t.clone();
            raw.make_raw();
            rustix::termios::tcsetattr(stdin, rustix::termios::OptionalActions::Now, &raw)?;
        }
        let input = Arc::clone(&pty);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            let mut stdin = std::io::stdin().lock();
            while let Ok(n @ 1..) = stdin.read(&mut buf) {
                if (&*input).write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        });
        let reader = Arc::clone(&pty);
        let output = std::thread::spawn(move || {
            let pty = reader;
            let mut buf = [0u8; 4096];
            let mut stdout = std::io::stdout().lock();
            // Ends at EOF: once no process holds the pty's replica.
            while let Ok(n @ 1..) = (&*pty).read(&mut buf) {
                if stdout
                    .write_all(&buf[..n])
                    .and_then(|()| stdout.flush())
                    .is_err()
                {
                    break;
                }
            }
        });
        Ok(Relay { pty, saved, output })
    }

    /// This terminal changed size (SIGWINCH): the program's terminal takes the new size, and
    /// the kernel sends the program its own SIGWINCH.
    pub fn resize_to_this_terminal(&self) {
        if let Some((rows, cols)) = terminal_size() {
            let _ = self.pty.resize(rows, cols);
        }
    }

    /// After the program's exit: the rest of its output, then this terminal as it was.
    pub fn finish(self) {
        // A background process of the program may keep the pty open: do not wait for it long.
        let deadline = std::time::Instant::now() + Duration::from_millis(500);
        while !self.output.is_finished() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        if let Some(t) = &self.saved {
            let stdin = rustix::stdio::stdin();
            let _ = rustix::termios::tcsetattr(stdin, rustix::termios::OptionalActions::Now, t);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_targets_and_durations_parse() {
        let j = parse_join("42:net,uts").unwrap();
        assert!(matches!(j.target, JoinTarget::Pid(42)));
        assert_eq!(j.kinds, Namespaces::NET | Namespaces::UTS);
        assert!(matches!(
            parse_join("/run/netns/a").unwrap().target,
            JoinTarget::File(_)
        ));
        assert_eq!(parse_join("42").unwrap().kinds, Namespaces::ALL);
        assert!(parse_join("x").is_err());
        let t = parse_timeout("1.5:2m").unwrap();
        assert_eq!(t.after, Duration::from_millis(1500));
        assert_eq!(t.grace, Some(Duration::from_secs(120)));
        assert!(parse_timeout("10x").is_err());
    }
}
