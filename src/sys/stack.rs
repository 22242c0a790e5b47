//! The child's stack: one mapping per spawning thread, made on first use and reused.
//!
//! A vfork-class child runs while its parent thread is suspended (or, for the user-namespace
//! path, while the parent waits for it to exec), so one stack per thread is never used by two
//! children at once. Reusing it avoids an mmap + munmap per spawn, which glibc's posix_spawn pays.
//! A guard page below catches overflow as a fault instead of silent corruption.

use std::cell::Cell;

/// Usable size. The child sequence needs a few KiB; the rest is headroom for debug builds.
const STACK_SIZE: usize = 128 * 1024;
const GUARD: usize = 4096;

/// An mmap'd child stack with a guard page.
pub struct ChildStack {
    base: *mut u8,
}

impl ChildStack {
    fn new() -> std::io::Result<Self> {
        // SAFETY: an anonymous private mapping with no address hint; the result is checked.
        let p = unsafe {
            libc::mmap(
                core::ptr::null_mut(),
                STACK_SIZE + GUARD,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: the first page of the mapping we just made becomes the guard.
        unsafe { libc::mprotect(p, GUARD, libc::PROT_NONE) };
        Ok(ChildStack { base: p.cast() })
    }

    /// The usable region, above the guard page.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: base..base+GUARD+STACK_SIZE is our mapping; we hand out the part above the
        // guard, borrowed mutably from self so it has one user at a time.
        unsafe { core::slice::from_raw_parts_mut(self.base.add(GUARD), STACK_SIZE) }
    }
}

impl Drop for ChildStack {
    fn drop(&mut self) {
        // SAFETY: unmapping exactly the region mapped in new(); nothing borrows it any more.
        unsafe { libc::munmap(self.base.cast(), STACK_SIZE + GUARD) };
    }
}

thread_local! {
    static CACHED: Cell<Option<ChildStack>> = const { Cell::new(None) };
}

/// Takes this thread's cached stack, or maps a new one.
pub fn take() -> std::io::Result<ChildStack> {
    match CACHED.try_with(|c| c.take()) {
        Ok(Some(s)) => Ok(s),
        _ => ChildStack::new(),
    }
}

/// Returns a stack to this thread's cache once no child can be running on it.
pub fn give_back(stack: ChildStack) {
    let _ = CACHED.try_with(|c| c.set(Some(stack)));
}
