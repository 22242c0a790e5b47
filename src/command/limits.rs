//! Limits and scheduling: resource limits (prlimit), umask, nice, scheduling policy.

use super::{convert, Command};
use crate::attr::{Resource, SchedPolicy};
use std::fmt;

impl Command {
    /// Sets a resource limit in the child (prlimit(1); Go restores only RLIMIT_NOFILE).
    /// Accepts a [`Resource`], `"nofile"` or `libc::RLIMIT_NOFILE as i32`; limits are numbers
    /// or [`UNLIMITED`](crate::attr::limits::UNLIMITED). Raising the hard limit needs CAP_SYS_RESOURCE; soft > hard is refused.
    pub fn rlimit<R>(&mut self, resource: R, soft: u64, hard: u64) -> &mut Self
    where
        R: TryInto<Resource>,
        R::Error: fmt::Display,
    {
        if let Some(r) = convert::<Resource, _>(self, "resource limit", resource) {
            self.spec.attrs.set_rlimit(r.number(), soft, hard);
        }
        self
    }

    /// The child's file mode creation mask (umask(1); CPython's `umask=`). 0o000 to 0o777.
    pub fn umask(&mut self, mask: u32) -> &mut Self {
        if mask > 0o777 {
            self.refuse(format!("umask {mask:o}"), "it must be between 0 and 0777");
        }
        self.spec.attrs.umask = Some(mask);
        self
    }

    /// The child's nice value, absolute (setpriority(PRIO_PROCESS); `renice -n`), -20 to 19.
    /// Lowering it below the parent's needs CAP_SYS_NICE or RLIMIT_NICE.
    pub fn nice(&mut self, nice: i32) -> &mut Self {
        if !(-20..=19).contains(&nice) {
            self.refuse(format!("nice {nice}"), "it must be between -20 and 19");
        }
        self.spec.attrs.nice = Some(nice);
        self
    }

    /// The child's scheduling policy and priority (sched_setscheduler; chrt(1)).
    /// Accepts a [`SchedPolicy`] or `"fifo"`, `"rr"`, `"batch"`, `"idle"`, `"other"`.
    pub fn scheduler<P>(&mut self, policy: P, priority: i32) -> &mut Self
    where
        P: TryInto<SchedPolicy>,
        P::Error: fmt::Display,
    {
        if let Some(p) = convert::<SchedPolicy, _>(self, "scheduling policy", policy) {
            let (lo, hi) = p.priority_range();
            if !(lo..=hi).contains(&priority) {
                self.refuse(
                    format!("priority {priority} for scheduling policy {}", p.name()),
                    format!("it must be between {lo} and {hi}"),
                );
            }
            self.spec.attrs.scheduler = Some((p.number(), priority));
        }
        self
    }
}
