//! Signals: the child's signal mask and dispositions at exec, and signal names.
//!
//! Default: the program starts with an empty mask, every handled signal at SIG_DFL (the kernel
//! does it: CLONE_CLEAR_SIGHAND) and SIGPIPE at SIG_DFL (Rust ignores it in every program, not by
//! choice of the user). A signal the parent *ignores* stays ignored, as with Go, glibc's
//! posix_spawn, std and a shell: that is how nohup(1) works. Resetting every signal costs one
//! rt_sigaction per signal in the child (~11 us per spawn measured here, against ~80 us for a
//! whole spawn), so it is opt-in: `reset_ignored_signals(true)`. `ignore_signals` asks for SIG_IGN,
//! `default_signals` resets chosen ones (posix_spawn's SETSIGDEF).

use super::{sig_bit, NameError};
use std::fmt;
use std::str::FromStr;

/// A signal number, 1..=64, parsed from `SIGTERM`, `TERM`, `term`, `15`, `RTMIN+2`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Signal(i32);

const NAMES: &[(&str, i32)] = &[
    ("HUP", libc::SIGHUP),
    ("INT", libc::SIGINT),
    ("QUIT", libc::SIGQUIT),
    ("ILL", libc::SIGILL),
    ("TRAP", libc::SIGTRAP),
    ("ABRT", libc::SIGABRT),
    ("IOT", libc::SIGIOT),
    ("BUS", libc::SIGBUS),
    ("FPE", libc::SIGFPE),
    ("KILL", libc::SIGKILL),
    ("USR1", libc::SIGUSR1),
    ("SEGV", libc::SIGSEGV),
    ("USR2", libc::SIGUSR2),
    ("PIPE", libc::SIGPIPE),
    ("ALRM", libc::SIGALRM),
    ("TERM", libc::SIGTERM),
    ("STKFLT", libc::SIGSTKFLT),
    ("CHLD", libc::SIGCHLD),
    ("CLD", libc::SIGCHLD),
    ("CONT", libc::SIGCONT),
    ("STOP", libc::SIGSTOP),
    ("TSTP", libc::SIGTSTP),
    ("TTIN", libc::SIGTTIN),
    ("TTOU", libc::SIGTTOU),
    ("URG", libc::SIGURG),
    ("XCPU", libc::SIGXCPU),
    ("XFSZ", libc::SIGXFSZ),
    ("VTALRM", libc::SIGVTALRM),
    ("PROF", libc::SIGPROF),
    ("WINCH", libc::SIGWINCH),
    ("IO", libc::SIGIO),
    ("POLL", libc::SIGPOLL),
    ("PWR", libc::SIGPWR),
    ("SYS", libc::SIGSYS),
];

impl Signal {
    /// SIGHUP.
    pub const HUP: Signal = Signal(libc::SIGHUP);
    /// SIGINT.
    pub const INT: Signal = Signal(libc::SIGINT);
    /// SIGKILL.
    pub const KILL: Signal = Signal(libc::SIGKILL);
    /// SIGUSR1.
    pub const USR1: Signal = Signal(libc::SIGUSR1);
    /// SIGUSR2.
    pub const USR2: Signal = Signal(libc::SIGUSR2);
    /// SIGPIPE.
    pub const PIPE: Signal = Signal(libc::SIGPIPE);
    /// SIGTERM.
    pub const TERM: Signal = Signal(libc::SIGTERM);
    /// SIGCHLD.
    pub const CHLD: Signal = Signal(libc::SIGCHLD);
    /// SIGSTOP.
    pub const STOP: Signal = Signal(libc::SIGSTOP);

    /// The signal numbered `n`, if 1 <= n <= 64.
    pub fn new(n: i32) -> Option<Signal> {
        (1..=64).contains(&n).then_some(Signal(n))
    }

    /// The number.
    pub fn number(self) -> i32 {
        self.0
    }

    /// `SIGTERM`, `SIGRTMIN+2`, or `signal 40`.
    pub fn name(self) -> String {
        if let Some((n, _)) = NAMES.iter().find(|(_, s)| *s == self.0) {
            return format!("SIG{n}");
        }
        let (min, max) = (libc::SIGRTMIN(), libc::SIGRTMAX());
        if (min..=max).contains(&self.0) {
            return format!("SIGRTMIN+{}", self.0 - min);
        }
        format!("signal {}", self.0)
    }

    /// SIGKILL and SIGSTOP cannot be caught, ignored or blocked.
    pub fn is_uncatchable(self) -> bool {
        self.0 == libc::SIGKILL || self.0 == libc::SIGSTOP
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl FromStr for Signal {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, NameError> {
        let err = || NameError::new("signal", s, "expected a name like SIGTERM or TERM, or 1-64");
        let t = s.trim();
        if let Ok(n) = t.parse::<i32>() {
            return Signal::new(n).ok_or_else(err);
        }
        let up = t.to_ascii_uppercase();
        let bare = up.strip_prefix("SIG").unwrap_or(&up);
        if let Some((_, n)) = NAMES.iter().find(|(name, _)| *name == bare) {
            return Ok(Signal(*n));
        }
        // Real-time signals as kill(1) names them, relative to the C library's SIGRTMIN.
        let (min, max) = (libc::SIGRTMIN(), libc::SIGRTMAX());
        let rt = if let Some(off) = bare.strip_prefix("RTMIN") {
            off.strip_prefix('+')
                .map_or(if off.is_empty() { Some(0) } else { None }, |o| {
                    o.parse().ok()
                })
                .map(|o: i32| min + o)
        } else if let Some(off) = bare.strip_prefix("RTMAX") {
            off.strip_prefix('-')
                .map_or(if off.is_empty() { Some(0) } else { None }, |o| {
                    o.parse().ok()
                })
                .map(|o: i32| max - o)
        } else {
            None
        };
        match rt {
            Some(n) if (min..=max).contains(&n) => Ok(Signal(n)),
            _ => Err(err()),
        }
    }
}

impl TryFrom<&str> for Signal {
    type Error = NameError;
    fn try_from(s: &str) -> Result<Self, NameError> {
        s.parse()
    }
}

impl TryFrom<i32> for Signal {
    type Error = NameError;
    fn try_from(n: i32) -> Result<Self, NameError> {
        Signal::new(n).ok_or_else(|| NameError::new("signal", &n.to_string(), "expected 1-64"))
    }
}

/// A set of signals, parsed from a comma-separated list: `TERM,INT,USR1`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SignalSet(u64);

impl SignalSet {
    /// The empty set.
    pub const EMPTY: SignalSet = SignalSet(0);

    /// The kernel sigset (bit n-1 = signal n).
    pub fn bits(self) -> u64 {
        self.0
    }

    /// Adds a signal.
    pub fn with(self, sig: Signal) -> SignalSet {
        SignalSet(self.0 | sig_bit(sig.0))
    }

    /// Whether `sig` is in the set.
    pub fn contains(self, sig: Signal) -> bool {
        self.0 & sig_bit(sig.0) != 0
    }

    /// The signals, in number order.
    pub fn iter(self) -> impl Iterator<Item = Signal> {
        (1..=64)
            .filter_map(Signal::new)
            .filter(move |s| self.contains(*s))
    }
}

impl fmt::Display for SignalSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<String> = self.iter().map(|s| s.name()).collect();
        f.write_str(&names.join(","))
    }
}

impl FromStr for SignalSet {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, NameError> {
        s.split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .try_fold(SignalSet::EMPTY, |set, p| Ok(set.with(p.parse()?)))
    }
}

impl TryFrom<&str> for SignalSet {
    type Error = NameError;
    fn try_from(s: &str) -> Result<Self, NameError> {
        s.parse()
    }
}

impl From<Signal> for SignalSet {
    fn from(s: Signal) -> Self {
        SignalSet::EMPTY.with(s)
    }
}

impl TryFrom<&[i32]> for SignalSet {
    type Error = NameError;
    fn try_from(sigs: &[i32]) -> Result<Self, NameError> {
        sigs.iter().try_fold(SignalSet::EMPTY, |set, &n| {
            Ok(set.with(Signal::try_from(n)?))
        })
    }
}

impl<const N: usize> TryFrom<[i32; N]> for SignalSet {
    type Error = NameError;
    fn try_from(sigs: [i32; N]) -> Result<Self, NameError> {
        SignalSet::try_from(&sigs[..])
    }
}

impl FromIterator<Signal> for SignalSet {
    fn from_iter<I: IntoIterator<Item = Signal>>(it: I) -> Self {
        it.into_iter().fold(SignalSet::EMPTY, SignalSet::with)
    }
}
