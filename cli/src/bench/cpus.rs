//! CPU affinity: the latency measurements run pinned to one CPU (steadier on small VMs, where an
//! unpinned child is often woken on the other, idle vCPU), the threads scenario on all of them.

/// The CPUs this thread may run on (its affinity mask).
#[derive(Clone, Copy)]
pub struct CpuSet(libc::cpu_set_t);

impl CpuSet {
    /// This thread's current mask.
    pub fn current() -> std::io::Result<CpuSet> {
        // SAFETY: a zeroed cpu_set_t is a valid empty set; the kernel fills it.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(CpuSet(set))
        }
    }

    /// The lowest CPU in the set.
    pub fn first(&self) -> Option<usize> {
        // SAFETY: CPU_ISSET reads inside the set for indexes below CPU_SETSIZE.
        (0..libc::CPU_SETSIZE as usize).find(|&c| unsafe { libc::CPU_ISSET(c, &self.0) })
    }

    /// The set holding only `cpu`.
    pub fn only(cpu: usize) -> CpuSet {
        // SAFETY: a zeroed cpu_set_t is a valid empty set; CPU_SET writes inside it.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(cpu, &mut set);
            CpuSet(set)
        }
    }

    /// Restricts this thread (and the children it spawns from now on) to the set.
    pub fn apply(&self) -> std::io::Result<()> {
        // SAFETY: a valid cpu_set_t of the size passed.
        let rc =
            unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &self.0) };
        if rc != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    }
}
