//! Security: ambient capabilities, no_new_privs, PTRACE_TRACEME and the parent-death signal.

use super::{convert, NameError, Signal};
use std::fmt;
use std::str::FromStr;

/// A capability, parsed from `CAP_NET_BIND_SERVICE`, `net_bind_service` or its number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capability(u32);

/// Capability names by number (linux/capability.h, up to CAP_CHECKPOINT_RESTORE = 40).
const CAPS: [&str; 41] = [
    "chown",
    "dac_override",
    "dac_read_search",
    "fowner",
    "fsetid",
    "kill",
    "setgid",
    "setuid",
    "setpcap",
    "linux_immutable",
    "net_bind_service",
    "net_broadcast",
    "net_admin",
    "net_raw",
    "ipc_lock",
    "ipc_owner",
    "sys_module",
    "sys_rawio",
    "sys_chroot",
    "sys_ptrace",
    "sys_pacct",
    "sys_admin",
    "sys_boot",
    "sys_nice",
    "sys_resource",
    "sys_time",
    "sys_tty_config",
    "mknod",
    "lease",
    "audit_write",
    "audit_control",
    "setfcap",
    "mac_override",
    "mac_admin",
    "syslog",
    "wake_alarm",
    "block_suspend",
    "audit_read",
    "perfmon",
    "bpf",
    "checkpoint_restore",
];

impl Capability {
    pub const NET_BIND_SERVICE: Capability = Capability(10);
    pub const NET_RAW: Capability = Capability(13);
    pub const SYS_ADMIN: Capability = Capability(21);

    pub fn number(self) -> u32 {
        self.0
    }

    /// `CAP_NET_BIND_SERVICE`.
    pub fn name(self) -> String {
        match CAPS.get(self.0 as usize) {
            Some(n) => format!("CAP_{}", n.to_ascii_uppercase()),
            None => format!("capability {}", self.0),
        }
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl TryFrom<u32> for Capability {
    type Error = NameError;
    fn try_from(n: u32) -> Result<Self, NameError> {
        if (n as usize) < CAPS.len() {
            Ok(Capability(n))
        } else {
            Err(NameError::new(
                "capability",
                &n.to_string(),
                format!("expected 0-{}", CAPS.len() - 1),
            ))
        }
    }
}

impl FromStr for Capability {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, NameError> {
        let lower = s.trim().to_ascii_lowercase();
        let bare = lower.strip_prefix("cap_").unwrap_or(&lower);
        if let Ok(n) = bare.parse::<u32>() {
            return Capability::try_from(n);
        }
        CAPS.iter()
            .position(|n| *n == bare)
            .map(|i| Capability(i as u32))
            .ok_or_else(|| {
                NameError::new("capability", s, "expected a name like CAP_NET_BIND_SERVICE")
            })
    }
}

impl TryFrom<&str> for Capability {
    type Error = NameError;
    fn try_from(s: &str) -> Result<Self, NameError> {
        s.parse()
    }
}

/// Parses a comma-separated capability list: `net_bind_service,CAP_NET_RAW`.
pub fn parse_capabilities(list: &str) -> Result<Vec<Capability>, NameError> {
    list.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::parse)
        .collect()
}

impl crate::Command {
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
                self.attrs.ambient_caps |= 1u64 << c.0;
            }
        }
        self
    }

    /// Set no_new_privs before exec: setuid bits and file capabilities then grant nothing
    /// (prctl(PR_SET_NO_NEW_PRIVS); setpriv --no-new-privs).
    pub fn no_new_privs(&mut self, yes: bool) -> &mut Self {
        self.attrs.no_new_privs = yes;
        self
    }

    /// The child asks to be traced by the parent (PTRACE_TRACEME) right before exec, so it
    /// stops with SIGTRAP at the exec (Go: Ptrace). The parent must then act as a tracer.
    pub fn ptrace(&mut self, yes: bool) -> &mut Self {
        self.attrs.ptrace = yes;
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
            self.attrs.pdeathsig = Some(s.number());
        }
        self
    }
}
