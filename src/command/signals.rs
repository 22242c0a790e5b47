//! Signals: the child's signal mask and dispositions at exec, and signal names.
//!
//! Default: the program starts with the signal mask of the thread that spawns it (as std has done
//! since Rust 1.66, and posix_spawn, Go and CPython do), every handled signal at SIG_DFL (the
//! kernel does it: CLONE_CLEAR_SIGHAND, and execve) and SIGPIPE at SIG_DFL (Rust ignores it in
//! every program, not by choice of the user). On the default path the child inherits the mask
//! from the clone and sets none: no syscall. Where the parent blocks every signal around the
//! clone (kernels before 5.5, new user namespaces, `foreground`) the child restores the mask the
//! parent had. A signal the parent *ignores* stays ignored, as with Go, glibc's
//! posix_spawn, std and a shell: that is how nohup(1) works. Resetting every signal costs one
//! rt_sigaction per signal in the child (~11 us per spawn measured here, against ~80 us for a
//! whole spawn), so it is opt-in: `reset_ignored_signals(true)`. `ignore_signals` asks for SIG_IGN,
//! `default_signals` resets chosen ones (posix_spawn's SETSIGDEF).

use super::{convert, Command};
use crate::attr::SignalSet;
use std::fmt;

impl Command {
    /// The signal mask the program starts with (default: the spawning thread's mask, as in
    /// std). Accepts a [`SignalSet`], a list like `"USR1,TERM"` or `[libc::SIGUSR1]`; an empty
    /// set unblocks everything. SIGKILL and SIGSTOP cannot be blocked and are refused.
    pub fn signal_mask<S>(&mut self, set: S) -> &mut Self
    where
        S: TryInto<SignalSet>,
        S::Error: fmt::Display,
    {
        if let Some(set) = convert::<SignalSet, _>(self, "signal mask", set) {
            self.spec.attrs.sig_mask = Some(set.bits());
        }
        self
    }

    /// Signals the program starts with ignored (SIG_IGN survives exec). SIGKILL and SIGSTOP
    /// cannot be ignored and are refused.
    pub fn ignore_signals<S>(&mut self, set: S) -> &mut Self
    where
        S: TryInto<SignalSet>,
        S::Error: fmt::Display,
    {
        if let Some(set) = convert::<SignalSet, _>(self, "ignored signals", set) {
            self.spec.attrs.sig_ignore |= set.bits();
        }
        self
    }

    /// Signals reset to SIG_DFL even if the parent ignores them (posix_spawn's
    /// POSIX_SPAWN_SETSIGDEF).
    pub fn default_signals<S>(&mut self, set: S) -> &mut Self
    where
        S: TryInto<SignalSet>,
        S::Error: fmt::Display,
    {
        if let Some(set) = convert::<SignalSet, _>(self, "default signals", set) {
            self.spec.attrs.sig_default |= set.bits();
        }
        self
    }

    /// Reset every signal the parent ignores to SIG_DFL too, so the program starts with all
    /// 64 dispositions at default (unless `ignore_signals` says otherwise). Off by default:
    /// inherited SIG_IGN is kept (nohup style), SIGPIPE excepted. Costs one syscall per signal.
    pub fn reset_ignored_signals(&mut self, reset: bool) -> &mut Self {
        self.spec.attrs.reset_ignored_signals = reset;
        self
    }
}
