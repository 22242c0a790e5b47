//! seccomp filters: a classic-BPF program the child installs as its last step before exec.
//!
//! Filters are compiled in the parent, once, by the `seccompiler` crate (Firecracker's), or
//! given as raw cBPF (bwrap's `--seccomp FD` format: `struct sock_filter` records, 8 bytes
//! each, in the machine's byte order). The child only hands the prepared program to the kernel.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

/// The kernel's limit on one filter's length (BPF_MAXINSNS).
const MAX_INSTRUCTIONS: usize = 4096;

/// A compiled seccomp filter (classic BPF), shared by every spawn of a Command.
#[derive(Clone)]
pub struct SeccompFilter {
    program: Arc<[libc::sock_filter]>,
}

/// Why a filter could not be built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeccompError(pub String);

impl fmt::Display for SeccompError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SeccompError {}

/// Equal when the programs are the same instructions.
impl PartialEq for SeccompFilter {
    fn eq(&self, other: &Self) -> bool {
        let key = |i: &libc::sock_filter| (i.code, i.jt, i.jf, i.k);
        self.program.len() == other.program.len()
            && self
                .program
                .iter()
                .map(key)
                .eq(other.program.iter().map(key))
    }
}

impl fmt::Debug for SeccompFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SeccompFilter({} instructions)", self.program.len())
    }
}

/// The architecture the filter checks for: the one this crate was built for (a filter for
/// another one would kill the program at its first syscall).
fn target_arch() -> Result<seccompiler::TargetArch, SeccompError> {
    seccompiler::TargetArch::try_from(std::env::consts::ARCH)
        .map_err(|e| SeccompError(format!("seccompiler: {e}")))
}

impl SeccompFilter {
    /// A filter that makes the syscalls `numbers` (`libc::SYS_*`) fail with `errno` and allows
    /// every other one (minijail's and bwrap users' deny list).
    pub fn deny_syscalls(
        numbers: impl IntoIterator<Item = i64>,
        errno: i32,
    ) -> Result<Self, SeccompError> {
        let rules: BTreeMap<i64, Vec<seccompiler::SeccompRule>> =
            numbers.into_iter().map(|n| (n, Vec::new())).collect();
        let filter = seccompiler::SeccompFilter::new(
            rules,
            seccompiler::SeccompAction::Allow,
            seccompiler::SeccompAction::Errno(errno as u32),
            target_arch()?,
        )
        .map_err(|e| SeccompError(format!("seccompiler: {e}")))?;
        Self::from_seccompiler(filter)
    }

    /// A filter that makes the syscalls named in `names` (`mkdir`, `unshare`...) fail with
    /// `errno`; the names are seccompiler's table for this architecture. Needs the `json`
    /// feature: seccompiler keeps its name table in its JSON front end.
    #[cfg(feature = "json")]
    pub fn deny_syscall_names<S: AsRef<str>>(
        names: impl IntoIterator<Item = S>,
        errno: i32,
    ) -> Result<Self, SeccompError> {
        let filter: Vec<serde_json::Value> = names
            .into_iter()
            .map(|n| serde_json::json!({ "syscall": n.as_ref() }))
            .collect();
        let doc = serde_json::json!({
            "deny": {
                "mismatch_action": "allow",
                "match_action": { "errno": errno },
                "filter": filter,
            }
        });
        let mut map = seccompiler::compile_from_json(doc.to_string().as_bytes(), target_arch()?)
            .map_err(|e| SeccompError(format!("seccompiler: {e}")))?;
        let program = map.remove("deny").unwrap_or_default();
        Self::from_instructions(program.iter().map(|i| (i.code, i.jt, i.jf, i.k)))
    }

    /// A filter compiled by seccompiler (any rules, actions and conditions it supports).
    pub fn from_seccompiler(filter: seccompiler::SeccompFilter) -> Result<Self, SeccompError> {
        let program: seccompiler::BpfProgram = filter
            .try_into()
            .map_err(|e: seccompiler::BackendError| SeccompError(format!("seccompiler: {e}")))?;
        Self::from_instructions(program.iter().map(|i| (i.code, i.jt, i.jf, i.k)))
    }

    /// A raw classic-BPF program: `struct sock_filter` records of 8 bytes (u16 code, u8 jt,
    /// u8 jf, u32 k) in this machine's byte order, as bwrap's `--seccomp FD` reads them. The
    /// kernel checks the program itself when the child installs it.
    pub fn from_bpf(bytes: &[u8]) -> Result<Self, SeccompError> {
        if bytes.len() % 8 != 0 {
            return Err(SeccompError(format!(
                "{} bytes is not a whole number of 8-byte sock_filter records",
                bytes.len()
            )));
        }
        Self::from_instructions(bytes.chunks_exact(8).map(|r| {
            (
                u16::from_ne_bytes([r[0], r[1]]),
                r[2],
                r[3],
                u32::from_ne_bytes([r[4], r[5], r[6], r[7]]),
            )
        }))
    }

    fn from_instructions(
        insns: impl Iterator<Item = (u16, u8, u8, u32)>,
    ) -> Result<Self, SeccompError> {
        let program: Arc<[libc::sock_filter]> = insns
            .map(|(code, jt, jf, k)| libc::sock_filter { code, jt, jf, k })
            .collect();
        if program.is_empty() || program.len() > MAX_INSTRUCTIONS {
            return Err(SeccompError(format!(
                "a filter has 1 to {MAX_INSTRUCTIONS} instructions, not {}",
                program.len()
            )));
        }
        Ok(SeccompFilter { program })
    }

    /// The number of instructions.
    pub fn len(&self) -> usize {
        self.program.len()
    }

    /// Never true: an empty filter is refused when it is made.
    pub fn is_empty(&self) -> bool {
        self.program.is_empty()
    }

    /// The program as the child hands it to the kernel.
    pub(crate) fn instructions(&self) -> &[libc::sock_filter] {
        &self.program
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_bpf_round_trips_and_bad_lengths_are_refused() {
        // BPF_RET|BPF_K SECCOMP_RET_ALLOW: the smallest valid filter.
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&0x06u16.to_ne_bytes());
        bytes.extend_from_slice(&[0, 0]);
        bytes.extend_from_slice(&0x7fff_0000u32.to_ne_bytes());
        let f = SeccompFilter::from_bpf(&bytes).unwrap();
        assert_eq!(f.len(), 1);
        assert_eq!(f.instructions()[0].k, 0x7fff_0000);
        assert!(SeccompFilter::from_bpf(&bytes[..7]).is_err());
        assert!(SeccompFilter::from_bpf(&[]).is_err());
    }

    #[test]
    fn a_deny_list_compiles_to_a_program_that_checks_the_architecture() {
        let f = SeccompFilter::deny_syscalls([libc::SYS_mkdir], libc::EPERM).unwrap();
        // Load arch, compare, kill on mismatch... then the syscall checks.
        assert!(f.len() > 4, "{f:?}");
    }
}
