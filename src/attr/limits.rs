//! Limits and scheduling: resource limits (prlimit), umask, nice, scheduling policy.

use super::NameError;
use rustix::process::Resource as RustixResource;
use std::fmt;
use std::str::FromStr;

/// RLIM_INFINITY: no limit.
pub const UNLIMITED: u64 = u64::MAX;

/// A resource limit kind, parsed from `nofile`, `NOFILE`, `RLIMIT_NOFILE` or its number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resource(i32);

const RESOURCES: [(&str, i32, RustixResource); 16] = [
    ("cpu", libc::RLIMIT_CPU as i32, RustixResource::Cpu),
    ("fsize", libc::RLIMIT_FSIZE as i32, RustixResource::Fsize),
    ("data", libc::RLIMIT_DATA as i32, RustixResource::Data),
    ("stack", libc::RLIMIT_STACK as i32, RustixResource::Stack),
    ("core", libc::RLIMIT_CORE as i32, RustixResource::Core),
    ("rss", libc::RLIMIT_RSS as i32, RustixResource::Rss),
    ("nproc", libc::RLIMIT_NPROC as i32, RustixResource::Nproc),
    ("nofile", libc::RLIMIT_NOFILE as i32, RustixResource::Nofile),
    (
        "memlock",
        libc::RLIMIT_MEMLOCK as i32,
        RustixResource::Memlock,
    ),
    ("as", libc::RLIMIT_AS as i32, RustixResource::As),
    ("locks", libc::RLIMIT_LOCKS as i32, RustixResource::Locks),
    (
        "sigpending",
        libc::RLIMIT_SIGPENDING as i32,
        RustixResource::Sigpending,
    ),
    (
        "msgqueue",
        libc::RLIMIT_MSGQUEUE as i32,
        RustixResource::Msgqueue,
    ),
    ("nice", libc::RLIMIT_NICE as i32, RustixResource::Nice),
    ("rtprio", libc::RLIMIT_RTPRIO as i32, RustixResource::Rtprio),
    ("rttime", libc::RLIMIT_RTTIME as i32, RustixResource::Rttime),
];

impl Resource {
    /// `RLIMIT_NOFILE`.
    pub const NOFILE: Resource = Resource(libc::RLIMIT_NOFILE as i32);
    /// `RLIMIT_NPROC`.
    pub const NPROC: Resource = Resource(libc::RLIMIT_NPROC as i32);
    /// `RLIMIT_CORE`.
    pub const CORE: Resource = Resource(libc::RLIMIT_CORE as i32);
    /// `RLIMIT_STACK`.
    pub const STACK: Resource = Resource(libc::RLIMIT_STACK as i32);
    /// `RLIMIT_AS`.
    pub const AS: Resource = Resource(libc::RLIMIT_AS as i32);
    /// `RLIMIT_CPU`.
    pub const CPU: Resource = Resource(libc::RLIMIT_CPU as i32);
    /// `RLIMIT_FSIZE`.
    pub const FSIZE: Resource = Resource(libc::RLIMIT_FSIZE as i32);

    /// The RLIMIT_* number.
    pub fn number(self) -> i32 {
        self.0
    }

    /// `nofile`, as prlimit(1) names it.
    pub fn name(self) -> &'static str {
        RESOURCES
            .iter()
            .find(|(_, n, _)| *n == self.0)
            .map_or("?", |(name, _, _)| name)
    }

    /// The calling process's (soft, hard) limit, `UNLIMITED` for none.
    pub fn current(self) -> (u64, u64) {
        let r = RESOURCES
            .iter()
            .find(|(_, n, _)| *n == self.0)
            .map_or(RustixResource::Nofile, |(_, _, r)| *r);
        let lim = rustix::process::getrlimit(r);
        (
            lim.current.unwrap_or(UNLIMITED),
            lim.maximum.unwrap_or(UNLIMITED),
        )
    }
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl TryFrom<i32> for Resource {
    type Error = NameError;
    fn try_from(n: i32) -> Result<Self, NameError> {
        if RESOURCES.iter().any(|(_, r, _)| *r == n) {
            Ok(Resource(n))
        } else {
            Err(NameError::new(
                "resource limit",
                &n.to_string(),
                "no such RLIMIT_* number",
            ))
        }
    }
}

impl FromStr for Resource {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, NameError> {
        let lower = s.trim().to_ascii_lowercase();
        let bare = lower.strip_prefix("rlimit_").unwrap_or(&lower);
        if let Ok(n) = bare.parse::<i32>() {
            return Resource::try_from(n);
        }
        RESOURCES
            .iter()
            .find(|(name, _, _)| *name == bare)
            .map(|(_, n, _)| Resource(*n))
            .ok_or_else(|| {
                let names: Vec<&str> = RESOURCES.iter().map(|(n, _, _)| *n).collect();
                NameError::new(
                    "resource limit",
                    s,
                    format!("expected {}", names.join(", ")),
                )
            })
    }
}

impl TryFrom<&str> for Resource {
    type Error = NameError;
    fn try_from(s: &str) -> Result<Self, NameError> {
        s.parse()
    }
}

/// Parses a limit value: a number or `unlimited`/`infinity`.
fn parse_limit(spec: &str, v: &str) -> Result<u64, NameError> {
    match v.trim() {
        "unlimited" | "infinity" => Ok(UNLIMITED),
        t => t.parse().map_err(|_| {
            NameError::new(
                "resource limit value",
                spec,
                "expected a number or \"unlimited\"",
            )
        }),
    }
}

/// Parses prlimit(1)'s `NAME=SOFT[:HARD]`: `nofile=1024:4096`; `nofile=1024` sets both;
/// `nofile=:4096` or `nofile=1024:` keeps the missing side at the caller's current value.
pub fn parse_rlimit(spec: &str) -> Result<(Resource, u64, u64), NameError> {
    let (name, value) = spec.split_once('=').ok_or_else(|| {
        NameError::new(
            "resource limit",
            spec,
            "expected NAME=SOFT[:HARD], e.g. nofile=1024:4096",
        )
    })?;
    let res: Resource = name.parse()?;
    let (cur_soft, cur_hard) = res.current();
    let (soft, hard) = match value.split_once(':') {
        None => {
            let v = parse_limit(spec, value)?;
            (v, v)
        }
        Some((s, h)) => (
            if s.trim().is_empty() {
                cur_soft
            } else {
                parse_limit(spec, s)?
            },
            if h.trim().is_empty() {
                cur_hard
            } else {
                parse_limit(spec, h)?
            },
        ),
    };
    Ok((res, soft, hard))
}

/// A scheduling policy (chrt(1)'s names): `other`, `batch`, `idle`, `fifo`, `rr`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SchedPolicy(i32);

const POLICIES: [(&str, i32); 5] = [
    ("other", libc::SCHED_OTHER),
    ("batch", libc::SCHED_BATCH),
    ("idle", libc::SCHED_IDLE),
    ("fifo", libc::SCHED_FIFO),
    ("rr", libc::SCHED_RR),
];

impl SchedPolicy {
    /// `SCHED_OTHER`.
    pub const OTHER: SchedPolicy = SchedPolicy(libc::SCHED_OTHER);
    /// `SCHED_BATCH`.
    pub const BATCH: SchedPolicy = SchedPolicy(libc::SCHED_BATCH);
    /// `SCHED_IDLE`.
    pub const IDLE: SchedPolicy = SchedPolicy(libc::SCHED_IDLE);
    /// `SCHED_FIFO`.
    pub const FIFO: SchedPolicy = SchedPolicy(libc::SCHED_FIFO);
    /// `SCHED_RR`.
    pub const RR: SchedPolicy = SchedPolicy(libc::SCHED_RR);

    /// The SCHED_* number sched_setscheduler takes.
    pub fn number(self) -> i32 {
        self.0
    }

    /// `fifo`, as chrt(1) names it.
    pub fn name(self) -> &'static str {
        POLICIES
            .iter()
            .find(|(_, n)| *n == self.0)
            .map_or("?", |(name, _)| name)
    }

    /// The priorities the policy accepts: 1-99 for the real-time ones, 0 otherwise.
    pub fn priority_range(self) -> (i32, i32) {
        if self.0 == libc::SCHED_FIFO || self.0 == libc::SCHED_RR {
            (1, 99)
        } else {
            (0, 0)
        }
    }
}

impl FromStr for SchedPolicy {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, NameError> {
        let lower = s.trim().to_ascii_lowercase();
        let bare = lower.strip_prefix("sched_").unwrap_or(&lower);
        POLICIES
            .iter()
            .find(|(name, _)| *name == bare)
            .map(|(_, n)| SchedPolicy(*n))
            .ok_or_else(|| {
                NameError::new(
                    "scheduling policy",
                    s,
                    "expected other, batch, idle, fifo or rr",
                )
            })
    }
}

impl TryFrom<&str> for SchedPolicy {
    type Error = NameError;
    fn try_from(s: &str) -> Result<Self, NameError> {
        s.parse()
    }
}
