//! Security: ambient capabilities, no_new_privs, PTRACE_TRACEME and the parent-death signal.

use super::{convert, Command};
use crate::attr::{Capability, Signal};
use std::fmt;

impl Command {
    /// Capabilities the program keeps across exec as ambient capabilities (Go: AmbientCaps;
    /// setpriv --ambient-caps). With a uid change, PR_SET_KEEPCAPS keeps them through setuid;
    /// then capset makes them permitted+inheritable (dropping every other one) and
    /// PR_CAP_AMBIENT_RAISE raises each. The parent must hold them.
    pub fn ambient_capabilities<I, C>(&mut self, caps: I) -> &mut Self
    where
        I: IntoIterator<Item = C>,
        C: TryInto<Capability>,
        C::Error: fmt::Display,
    {
        for c in caps {
            if let Some(c) = convert::<Capability, _>(self, "ambient capability", c) {
                self.spec.attrs.ambient_caps |= 1u64 << c.number();
            }
        }
        self
    }

    /// Set no_new_privs before exec: setuid bits and file capabilities then grant nothing
    /// (prctl(PR_SET_NO_NEW_PRIVS); setpriv --no-new-privs).
    pub fn no_new_privs(&mut self, yes: bool) -> &mut Self {
        self.spec.attrs.no_new_privs = yes;
        self
    }

    /// The child asks to be traced by the parent (PTRACE_TRACEME) right before exec, so it
    /// stops with SIGTRAP at the exec (Go: Ptrace). The parent must then act as a tracer.
    pub fn ptrace(&mut self, yes: bool) -> &mut Self {
        self.spec.attrs.ptrace = yes;
        self
    }

    /// The signal the child gets when its parent dies (Go: Pdeathsig; setpriv --pdeathsig).
    /// Accepts a [`Signal`], `"TERM"` or `libc::SIGTERM`.
    ///
    /// The kernel sends it when the *thread* that spawned the child exits, not the process:
    /// spawning from a short-lived thread kills the child when that thread ends. The race
    /// with a parent dying during the spawn is closed: after the prctl the child checks that
    /// its parent is still the spawning process and signals itself if not (skipped with a
    /// new pid namespace, where the parent is invisible).
    pub fn pdeathsig<S>(&mut self, sig: S) -> &mut Self
    where
        S: TryInto<Signal>,
        S::Error: fmt::Display,
    {
        if let Some(s) = convert::<Signal, _>(self, "parent-death signal", sig) {
            self.spec.attrs.pdeathsig = Some(s.number());
        }
        self
    }
}
