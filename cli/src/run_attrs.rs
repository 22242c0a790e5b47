//! The process-attribute flags of `run` and `exec`: one per attribute, each named after its Go
//! (syscall.SysProcAttr) and util-linux equivalents in `--help`. Credentials, namespaces and
//! prlimit's per-resource flags have files of their own.

use crate::credential_flags::CredentialFlags;
use crate::namespace_flags::NamespaceFlags;
use crate::rlimit_flags::RlimitFlags;
use clap::Args;
use forkexec::attr::{limits::parse_rlimit, security::parse_capabilities, Signal, SignalSet};
use std::path::PathBuf;

#[derive(Args, Debug, Default)]
#[command(next_help_heading = "Process attributes")]
pub struct AttrArgs {
    /// Start a new session: setsid() (Go: Setsid; setsid(1)).
    #[arg(long)]
    setsid: bool,
    /// Put the child in a new process group it leads: setpgid(0, 0) (Go: Setpgid).
    #[arg(long)]
    setpgid: bool,
    /// Join process group N: setpgid(0, N) (Go: Setpgid + Pgid); 0 = a new group.
    #[arg(long, value_name = "N")]
    pgid: Option<i32>,
    /// Make the child's group the foreground group of the terminal at --ctty (a parent fd),
    /// like a shell's foreground job (Go: Foreground + Ctty).
    #[arg(long)]
    pub(crate) foreground: bool,
    /// Make the terminal at --ctty (a child fd, after --fd) the controlling terminal; needs
    /// --setsid (Go: Setctty + Ctty; setsid --ctty).
    #[arg(long)]
    setctty: bool,
    /// The terminal fd for --foreground (parent fd) and --setctty (child fd); default 0
    /// (Go: Ctty).
    #[arg(long, value_name = "FD")]
    ctty: Option<i32>,
    /// Detach from the controlling terminal: ioctl(0, TIOCNOTTY) (Go: Noctty).
    #[arg(long)]
    noctty: bool,
    /// Change the root directory before credentials and --dir (Go: Chroot; chroot(8)).
    #[arg(long, value_name = "DIR")]
    pub(crate) chroot: Option<PathBuf>,
    /// Signal the child gets when the spawning thread dies (Go: Pdeathsig; setpriv
    /// --pdeathsig).
    #[arg(long, value_name = "SIG")]
    pub(crate) pdeathsig: Option<Signal>,
    /// Make sure the program dies with forkexec, however forkexec ends (SIGKILL included):
    /// the kernel sends it SIG (default KILL) when forkexec exits: PR_SET_PDEATHSIG (unshare
    /// --kill-child). Exec'ing a setuid program clears it.
    #[arg(
        long,
        value_name = "SIG",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "KILL",
        conflicts_with = "pdeathsig",
        help_heading = "Supervision"
    )]
    pub(crate) kill_child: Option<Signal>,
    /// Ambient capabilities kept across exec and --uid (Go: AmbientCaps; setpriv
    /// --ambient-caps), e.g. net_bind_service,CAP_NET_RAW.
    #[arg(long = "ambient-caps", value_name = "LIST")]
    ambient_caps: Option<String>,
    /// Start inside this cgroup v2 directory (clone3 CLONE_INTO_CGROUP; Go: UseCgroupFD +
    /// CgroupFD).
    #[arg(long, value_name = "PATH")]
    pub(crate) cgroup: Option<PathBuf>,
    /// PTRACE_TRACEME right before exec (Go: Ptrace). The program stops at its first
    /// instruction; forkexec then lets go of it, leaving it stopped for a debugger to attach
    /// (gdb -p PID), and waits for it: SIGCONT or the debugger resumes it.
    #[arg(long)]
    pub(crate) ptrace: bool,
    /// A resource limit, e.g. nofile=1024:4096; SOFT alone sets both, an empty side keeps
    /// the current value (prlimit(1) --nofile=...). Repeatable.
    #[arg(long, value_name = "NAME=SOFT[:HARD]")]
    rlimit: Vec<String>,
    /// File mode creation mask, octal (umask(1)).
    #[arg(long, value_name = "OCTAL", value_parser = parse_octal)]
    umask: Option<u32>,
    /// Signals blocked when the program starts; default: the mask forkexec was started with,
    /// inherited as exec does (posix_spawnattr_setsigmask). An empty list unblocks all.
    #[arg(long, value_name = "LIST")]
    pub(crate) sigmask: Option<SignalSet>,
    /// Signals the program starts with ignored (SIG_IGN; nohup(1) does this for HUP).
    #[arg(long, value_name = "LIST")]
    sigignore: Option<SignalSet>,
    /// Signals reset to SIG_DFL even if this process ignores them
    /// (posix_spawnattr_setsigdefault).
    #[arg(long, value_name = "LIST")]
    sigdefault: Option<SignalSet>,
    /// Reset every signal this process ignores to SIG_DFL too (default: ignored signals stay
    /// ignored, as nohup(1) expects, except SIGPIPE, which is always reset).
    #[arg(long)]
    reset_ignored_signals: bool,
    /// Set no_new_privs before exec (setpriv --no-new-privs / --nnp).
    #[arg(long, visible_alias = "nnp")]
    no_new_privs: bool,
    /// Child fd N gets this process's fd M; swaps and cycles are handled (Go: Files;
    /// command-fds). Repeatable.
    #[arg(long = "fd", value_name = "N=M", value_parser = parse_fd_pair)]
    fd: Vec<(i32, i32)>,
    /// Close child fd N even if inherited (Go: Files[N] = -1). Repeatable.
    #[arg(long = "close-fd", value_name = "N")]
    close_fd: Vec<i32>,
    /// Add N to the niceness, as nice(1) -n does: the child runs at this process's nice value
    /// plus N, kept within -20..19 (setpriority). Lowering it needs CAP_SYS_NICE.
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    nice: Option<i32>,
    /// Scheduling policy other|batch|idle|fifo|rr with optional priority (chrt(1)).
    #[arg(long, value_name = "POLICY[:PRIO]")]
    sched: Option<String>,
    #[command(flatten)]
    pub(crate) credentials: CredentialFlags,
    #[command(flatten)]
    pub(crate) namespaces: NamespaceFlags,
    #[command(flatten)]
    rlimits: RlimitFlags,
}

/// A umask: octal digits, 0 to 0777 (umask(1) takes the same).
fn parse_octal(s: &str) -> Result<u32, String> {
    let digits = s.trim_start_matches("0o");
    if digits.is_empty() || !digits.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        return Err(format!("{s:?} is not an octal number"));
    }
    u32::from_str_radix(digits, 8)
        .ok()
        .filter(|&m| m <= 0o777)
        .ok_or_else(|| format!("{s:?} is out of range: a umask is 0 to 0777"))
}

fn parse_fd_pair(s: &str) -> Result<(i32, i32), String> {
    let (n, m) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?}: expected N=M"))?;
    let parse = |v: &str| {
        v.trim()
            .parse::<i32>()
            .ok()
            .filter(|&n| n >= 0)
            .ok_or_else(|| format!("{s:?}: {v:?} is not an fd number"))
    };
    Ok((parse(n)?, parse(m)?))
}

/// nice(1) -n: this process's nice value plus `adjustment`, kept within -20..19 as the
/// kernel's nice(2) keeps it.
fn adjusted_nice(adjustment: i32) -> Result<i32, String> {
    let current = rustix::process::getpriority_process(None)
        .map_err(|e| format!("--nice: reading this process's nice value: {e}"))?;
    Ok(current.saturating_add(adjustment).clamp(-20, 19))
}

impl AttrArgs {
    /// Applies the flags to `cmd`. Combinations are checked by the library at spawn.
    pub fn apply(&self, cmd: &mut forkexec::Command) -> Result<(), String> {
        let ctty = self.ctty.unwrap_or(0);
        if self.setsid {
            cmd.setsid(true);
        }
        if self.setpgid {
            cmd.process_group(0);
        }
        if let Some(g) = self.pgid {
            cmd.process_group(g);
        }
        if self.foreground {
            cmd.foreground(ctty);
        }
        if self.setctty {
            cmd.setctty(ctty);
        }
        if self.ctty.is_some() && !self.foreground && !self.setctty {
            return Err("--ctty needs --foreground or --setctty".into());
        }
        if self.noctty {
            cmd.noctty(true);
        }
        if let Some(d) = &self.chroot {
            cmd.chroot(d);
        }
        self.credentials.apply(cmd)?;
        if let Some(s) = self.pdeathsig.or(self.kill_child) {
            cmd.pdeathsig(s);
        }
        self.namespaces.apply(cmd);
        if let Some(list) = &self.ambient_caps {
            let caps = parse_capabilities(list).map_err(|e| format!("--ambient-caps: {e}"))?;
            cmd.ambient_capabilities(caps);
        }
        if let Some(p) = &self.cgroup {
            cmd.cgroup(p);
        }
        if self.ptrace {
            cmd.ptrace(true);
        }
        for spec in self.rlimit.iter().chain(&self.rlimits.specs) {
            let (res, soft, hard) = parse_rlimit(spec).map_err(|e| format!("--rlimit: {e}"))?;
            cmd.rlimit(res, soft, hard);
        }
        if let Some(m) = self.umask {
            cmd.umask(m);
        }
        if let Some(s) = self.sigmask {
            cmd.signal_mask(s);
        }
        if let Some(s) = self.sigignore {
            cmd.ignore_signals(s);
        }
        if let Some(s) = self.sigdefault {
            cmd.default_signals(s);
        }
        if self.reset_ignored_signals {
            cmd.reset_ignored_signals(true);
        }
        if self.no_new_privs {
            cmd.no_new_privs(true);
        }
        for &(child, parent) in &self.fd {
            let fd = forkexec::fd::dup_inherited(parent)
                .map_err(|e| format!("--fd {child}={parent}: fd {parent} is not open: {e}"))?;
            cmd.fd(child, fd);
        }
        for &n in &self.close_fd {
            cmd.close_fd(n);
        }
        if let Some(n) = self.nice {
            cmd.nice(adjusted_nice(n)?);
        }
        if let Some(spec) = &self.sched {
            let (policy, prio) = match spec.split_once(':') {
                Some((p, n)) => (
                    p,
                    n.parse::<i32>()
                        .map_err(|_| format!("--sched {spec:?}: bad priority"))?,
                ),
                None => (spec.as_str(), 0),
            };
            let policy: forkexec::attr::SchedPolicy =
                policy.parse().map_err(|e| format!("--sched: {e}"))?;
            cmd.scheduler(policy, prio);
        }
        Ok(())
    }
}
