//! The parent's size: memory a bench worker maps and writes before it spawns, so that its page
//! tables really map that much (what a fork has to copy and a vfork-class spawn does not).

use std::io;

/// `mib` MiB of private anonymous memory, every page written (resident), on 4 KiB pages.
pub struct Ballast {
    ptr: *mut libc::c_void,
    len: usize,
}

impl Ballast {
    /// Maps and writes `mib` MiB (nothing for 0).
    pub fn touch(mib: u64) -> io::Result<Ballast> {
        let len =
            usize::try_from(mib << 20).map_err(|_| io::Error::from_raw_os_error(libc::ENOMEM))?;
        if len == 0 {
            return Ok(Ballast {
                ptr: std::ptr::null_mut(),
                len: 0,
            });
        }
        // SAFETY: an anonymous private mapping with no address hint; the result is checked.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        // 4 KiB pages whatever the machine's transparent-huge-page setting ("always" would make
        // the fork methods ~500x cheaper per GiB and the figures incomparable between machines;
        // malloc'd heaps mostly live on 4 KiB pages). Before the writes, so no huge page forms.
        // A kernel without THP answers EINVAL: then every page is 4 KiB anyway.
        // SAFETY: advice on the mapping made above.
        let _ = unsafe { libc::madvise(ptr, len, libc::MADV_NOHUGEPAGE) };
        // SAFETY: the whole range is our fresh writable mapping.
        unsafe { std::ptr::write_bytes(ptr.cast::<u8>(), 1, len) };
        Ok(Ballast { ptr, len })
    }
}

impl Drop for Ballast {
    fn drop(&mut self) {
        if self.len > 0 {
            // SAFETY: unmapping exactly the mapping made in touch(); nothing borrows it.
            unsafe { libc::munmap(self.ptr, self.len) };
        }
    }
}
