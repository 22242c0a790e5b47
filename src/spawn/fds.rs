//! The child's fd table, planned in the parent: which source lands on which child fd, which
//! sources must first move out of the way (swaps and cycles), and which ranges the child marks
//! close-on-exec so the program sees only 0-2 and the mapped fds.

use crate::sys::child_sequence::FdAction;
use core::sync::atomic::AtomicI32;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

/// The fd map in prepared form.
#[derive(Debug, Default)]
pub(crate) struct FdPlan {
    /// Sources made for this spawn (pipes, /dev/null): kept open until the child has exec'd,
    /// closed in the parent when the plan is dropped.
    owned: Vec<OwnedFd>,
    pub actions: Vec<FdAction>,
    /// One slot per action: the source's temporary number after a move (written by the child).
    pub scratch: Vec<AtomicI32>,
    /// Ranges [lo, hi] the child marks close-on-exec.
    pub close_ranges: Vec<(u32, u32)>,
}

impl FdPlan {
    /// Whether some action already sets child fd `target`.
    pub fn sets(&self, target: RawFd) -> bool {
        self.actions.iter().any(|a| a.target == target)
    }

    /// Child fd `target` gets `source`, an fd someone else keeps open (-1: close `target`).
    pub fn lend(&mut self, target: RawFd, source: RawFd) {
        self.actions.push(FdAction {
            target,
            source,
            needs_move: false,
        });
    }

    /// Child fd `target` gets `fd`, made for this spawn and closed in the parent after it.
    pub fn give(&mut self, target: RawFd, fd: OwnedFd) {
        self.lend(target, fd.as_raw_fd());
        self.owned.push(fd);
    }

    /// Computes which sources must move before the dups, and (unless `keep_fds`) the fds to
    /// mark close-on-exec.
    pub fn finish(&mut self, keep_fds: bool) {
        // A source that is also another entry's target would be overwritten by that entry's
        // dup before its own: it moves first (to a fresh fd above every target).
        let targets: Vec<RawFd> = self.actions.iter().map(|a| a.target).collect();
        for (i, a) in self.actions.iter_mut().enumerate() {
            a.needs_move = a.source >= 0
                && targets
                    .iter()
                    .enumerate()
                    .any(|(j, &t)| j != i && t == a.source);
        }
        self.scratch = self.actions.iter().map(|_| AtomicI32::new(-1)).collect();
        if keep_fds {
            return;
        }
        // Keep 0-2 and every mapped (not closed) target; mark all the gaps close-on-exec.
        let mut keep: Vec<u32> = vec![0, 1, 2];
        keep.extend(
            self.actions
                .iter()
                .filter(|a| a.source >= 0)
                .map(|a| a.target as u32),
        );
        keep.sort_unstable();
        keep.dedup();
        let mut next = 0u32;
        for k in keep {
            if k > next {
                self.close_ranges.push((next, k - 1));
            }
            next = k + 1;
        }
        self.close_ranges.push((next, u32::MAX));
    }
}

/// How many of the lowest free fd numbers the child also looks at: fds other threads open
/// between the listing and the clone take the lowest free numbers.
const FREE_NUMBERS_WATCHED: usize = 64;

/// What a child without close_range (before Linux 5.11) polls to find the fds to mark
/// close-on-exec, made just before the clone.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct FdCandidates {
    /// Every fd from 3 up that /proc/self/fd lists now, and the 64 lowest free numbers from 3
    /// up: an fd another thread opens before the clone lands on one of those (unless it is
    /// placed by number, dup2, past them). Empty without /proc.
    pub numbers: Vec<i32>,
    /// Without /proc: every fd from 3 below this (the soft RLIMIT_NOFILE: no fd can be opened
    /// at or above it) is looked at, 256 per poll; the cost then grows with that limit.
    pub below: i32,
}

/// The candidates for this process now: listed from /proc/self/fd (warm in the parent, a few
/// microseconds; the same listing in the new child costs ~40 us, its /proc entries being cold).
/// Never a loop of one syscall per possible fd.
pub(crate) fn close_on_exec_candidates() -> FdCandidates {
    match open_fds() {
        Some(open) => FdCandidates {
            numbers: with_lowest_free(open, FREE_NUMBERS_WATCHED),
            below: 0,
        },
        None => FdCandidates {
            numbers: Vec::new(),
            below: rustix::process::getrlimit(rustix::process::Resource::Nofile)
                .current
                .map_or(i32::MAX, |n| n.min(i32::MAX as u64) as i32),
        },
    }
}

/// `open` (fds >= 3, any order) followed by the `free` lowest numbers >= 3 not in it.
fn with_lowest_free(mut open: Vec<i32>, free: usize) -> Vec<i32> {
    open.sort_unstable();
    let listed = open.len();
    let mut n = 3;
    while open.len() < listed + free {
        if open[..listed].binary_search(&n).is_err() {
            open.push(n);
        }
        n += 1;
    }
    open
}

/// The fds from 3 up that /proc/self/fd lists, read into a stack buffer.
fn open_fds() -> Option<Vec<i32>> {
    use rustix::fs::{open, Mode, OFlags, RawDir};
    let dir = open(
        "/proc/self/fd",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .ok()?;
    let mut buf = [core::mem::MaybeUninit::<u8>::uninit(); 4096];
    let mut entries = RawDir::new(&dir, &mut buf);
    let mut fds = Vec::new();
    while let Some(entry) = entries.next() {
        let entry = entry.ok()?;
        let name = entry.file_name().to_str().ok();
        if let Some(fd) = name.and_then(|n| n.parse::<i32>().ok()) {
            if fd >= 3 {
                fds.push(fd);
            }
        }
    }
    Some(fds)
}

#[cfg(test)]
mod tests {
    use super::FdPlan;

    fn planned(map: &[(i32, i32)], keep_fds: bool) -> FdPlan {
        let mut p = FdPlan::default();
        for &(target, source) in map {
            p.lend(target, source);
        }
        p.finish(keep_fds);
        p
    }

    fn moves(p: &FdPlan) -> Vec<bool> {
        p.actions.iter().map(|a| a.needs_move).collect()
    }

    #[test]
    fn a_source_no_other_entry_targets_stays_in_place() {
        let p = planned(&[(3, 10), (4, 11)], false);
        assert_eq!(moves(&p), [false, false]);
    }

    #[test]
    fn a_swap_moves_both_sources() {
        let p = planned(&[(3, 4), (4, 3)], false);
        assert_eq!(moves(&p), [true, true]);
    }

    #[test]
    fn a_cycle_moves_every_source_on_it() {
        // 3 <- 4 <- 5 <- 3, and 6 <- 9 off the cycle.
        let p = planned(&[(3, 4), (4, 5), (5, 3), (6, 9)], false);
        assert_eq!(moves(&p), [true, true, true, false]);
    }

    #[test]
    fn a_chain_moves_only_sources_that_are_overwritten() {
        // 1 <- 3 and 3 <- 7: 3 is read by the first entry and written by the second.
        let p = planned(&[(1, 3), (3, 7)], false);
        assert_eq!(moves(&p), [true, false]);
    }

    #[test]
    fn an_identity_entry_does_not_move() {
        let p = planned(&[(5, 5)], false);
        assert_eq!(moves(&p), [false]);
    }

    #[test]
    fn gaps_between_kept_fds_are_marked_close_on_exec() {
        let p = planned(&[(5, 10), (9, 11)], false);
        assert_eq!(p.close_ranges, [(3, 4), (6, 8), (10, u32::MAX)]);
    }

    #[test]
    fn a_closed_target_is_not_kept() {
        // Closing fd 4 (-1) keeps nothing there; fd 1 mapped keeps nothing extra.
        let p = planned(&[(4, -1), (1, 10)], false);
        assert_eq!(p.close_ranges, [(3, u32::MAX)]);
    }

    #[test]
    fn candidates_are_the_open_fds_then_the_lowest_free_numbers() {
        let c = super::with_lowest_free(vec![10, 4, 3], 4);
        assert_eq!(c, [3, 4, 10, 5, 6, 7, 8]);
    }

    #[test]
    fn keep_fds_marks_nothing() {
        let p = planned(&[(5, 10)], true);
        assert!(p.close_ranges.is_empty());
        assert_eq!(p.scratch.len(), 1);
    }
}
