//! Checks attribute combinations in the parent, before any clone: a refused request creates
//! no process. Each rule says what the kernel (or the child's step order) would do otherwise.

use super::namespaces::Namespaces;
use super::Attributes;

/// What was refused and why: `("uid/gid maps", "they need a new user namespace...")`.
pub(crate) type Refusal = (String, String);

/// Refuses contradictory or impossible attributes. `child_fd_open(fd)` says whether the child
/// will have `fd` open after its fd map.
pub(crate) fn validate(a: &Attributes, child_fd_open: impl Fn(i32) -> bool) -> Result<(), Refusal> {
    // Rendered only for a refusal: the common path allocates nothing.
    let refuse = |what: &str, why: String| Err((what.to_string(), why));

    // --- session, process group, terminal ---
    if a.setsid && a.pgid.is_some() {
        // After setsid the child leads a new group; setpgid then fails with EPERM.
        return refuse(
            "session attributes",
            "setsid already makes the child lead a new process group; process_group cannot be \
             combined with it"
                .into(),
        );
    }
    if let Some(pgid) = a.pgid.filter(|&g| g > 0) {
        // setpgid to a group that does not exist fails with EPERM in the child; say why here.
        let exists = rustix::process::Pid::from_raw(pgid)
            .map(|p| {
                !matches!(
                    rustix::process::test_kill_process_group(p),
                    Err(rustix::io::Errno::SRCH)
                )
            })
            .unwrap_or(false);
        if !exists {
            return refuse(
                &format!("process group {pgid}"),
                "no such process group exists (0 makes a new one)".into(),
            );
        }
    }
    if a.setctty_fd.is_some() && a.foreground_fd.is_some() {
        return refuse(
            "terminal attributes",
            "setctty and foreground cannot be combined (as in Go): foreground acts on the \
             parent's terminal, setctty makes a new session's terminal"
                .into(),
        );
    }
    if let Some(fd) = a.foreground_fd {
        if a.setsid {
            return refuse(
                "terminal attributes",
                "foreground cannot be combined with setsid: a new session has no controlling \
                 terminal whose foreground group could be set"
                    .into(),
            );
        }
        if !crate::sys::inherited::is_terminal(fd) {
            return refuse(
                &format!("foreground terminal fd {fd}"),
                "it is not an open terminal in the parent".into(),
            );
        }
    }
    if let Some(fd) = a.setctty_fd {
        if !a.setsid {
            return refuse(
                "terminal attributes",
                "setctty needs setsid: only a session leader can acquire a controlling terminal"
                    .into(),
            );
        }
        if !child_fd_open(fd) {
            return refuse(
                &format!("controlling terminal fd {fd}"),
                "it is not an fd the child will have: map it with fd() or use 0-2".into(),
            );
        }
    }
    if a.noctty && (a.setsid || a.setctty_fd.is_some()) {
        return refuse(
            "terminal attributes",
            "noctty cannot be combined with setsid or setctty: the new session has no terminal \
             to detach"
                .into(),
        );
    }

    // --- credentials ---
    if a.no_setgroups && a.groups.is_some() {
        // setpriv refuses --keep-groups with --groups: one of them would be silently ignored.
        return refuse(
            "supplementary groups",
            "groups and no_setgroups contradict each other: no_setgroups keeps the inherited \
             groups, groups sets new ones"
                .into(),
        );
    }

    // --- namespaces and id maps ---
    let new_user = a.clone_ns & libc::CLONE_NEWUSER != 0;
    if !new_user && (!a.uid_map.is_empty() || !a.gid_map.is_empty()) {
        let hint = if a.unshare_ns & libc::CLONE_NEWUSER != 0 {
            "the parent writes the maps while the child waits, which needs the user namespace \
             made at clone: use clone_namespaces(\"user\") instead of unshare"
        } else {
            "they need a new user namespace: add clone_namespaces(\"user\")"
        };
        return refuse("uid/gid maps", hint.into());
    }
    if !new_user && a.setgroups_allow.is_some() {
        return refuse(
            "userns setgroups",
            "it applies to a new user namespace: add clone_namespaces(\"user\")".into(),
        );
    }
    for (name, maps) in [("uid map", &a.uid_map), ("gid map", &a.gid_map)] {
        if maps.len() > 340 {
            return refuse(name, "the kernel accepts at most 340 lines".into());
        }
        for m in maps.iter() {
            let end_in = m.inside as u64 + m.count as u64;
            let end_out = m.outside as u64 + m.count as u64;
            if m.count == 0 || end_in > u32::MAX as u64 || end_out > u32::MAX as u64 {
                return refuse(
                    &format!("{name} {}:{}:{}", m.inside, m.outside, m.count),
                    "the count must be at least 1 and both ranges must fit in 32 bits".into(),
                );
            }
        }
    }
    if a.groups.as_ref().is_some_and(|g| !g.is_empty())
        && !a.gid_map.is_empty()
        && a.setgroups_allow != Some(true)
    {
        return refuse(
            "supplementary groups",
            "setgroups is denied in the new user namespace (the default with a gid map); call \
             userns_setgroups(true), which needs a privileged parent"
                .into(),
        );
    }
    let unknown_ns = (a.clone_ns | a.unshare_ns) & !Namespaces::all_bits();
    if unknown_ns != 0 {
        return refuse(
            "namespaces",
            format!("unknown CLONE_* bits {unknown_ns:#x}"),
        );
    }

    // --- limits, signals, capabilities ---
    for r in &a.rlimits {
        if r.soft > r.hard {
            return refuse(
                &format!("resource limit {}", super::rlimit_name(r.resource)),
                format!(
                    "the soft limit {} is above the hard limit {}",
                    r.soft, r.hard
                ),
            );
        }
    }
    let uncatchable = super::sig_bit(libc::SIGKILL) | super::sig_bit(libc::SIGSTOP);
    if a.sig_ignore & uncatchable != 0 {
        return refuse(
            "ignored signals",
            "SIGKILL and SIGSTOP cannot be ignored".into(),
        );
    }
    if a.sig_mask.unwrap_or(0) & uncatchable != 0 {
        return refuse(
            "signal mask",
            "SIGKILL and SIGSTOP cannot be blocked".into(),
        );
    }
    if a.sig_ignore & a.sig_default != 0 {
        return refuse(
            "signal dispositions",
            "a signal cannot be both ignored and reset to default".into(),
        );
    }
    if a.ambient_caps != 0 {
        let last = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok())
            .unwrap_or(63);
        if last < 63 && a.ambient_caps >> (last + 1) != 0 {
            return refuse(
                "ambient capabilities",
                format!("this kernel knows capabilities 0-{last} only"),
            );
        }
    }
    super::sandbox::validate(a)
}
