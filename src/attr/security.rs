//! Security: ambient capabilities, no_new_privs, PTRACE_TRACEME and the parent-death signal.

use super::NameError;
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
    /// CAP_NET_BIND_SERVICE (capability 10).
    pub const NET_BIND_SERVICE: Capability = Capability(10);
    /// CAP_NET_RAW (capability 13).
    pub const NET_RAW: Capability = Capability(13);
    /// CAP_SYS_ADMIN (capability 21).
    pub const SYS_ADMIN: Capability = Capability(21);

    /// The CAP_* number.
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
