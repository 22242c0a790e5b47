//! Address-space regions for the userland loader.
//!
//! A [`Region`] is a range of this process's address space that the loader reserved with one
//! mmap (PROT_NONE, no memory committed). Every later change (mapping pages, copying bytes in,
//! changing protection, giving back holes) is made only inside that range, so the loader can
//! never replace a mapping it does not own. A region is unmapped when dropped: a load that
//! fails half-way leaves the process as it was. [`Region::keep`] gives up ownership once the
//! new program is about to run.

use crate::errno::Errno;

/// The page size the loader works in (x86_64 ELF_MIN_ALIGN).
pub const PAGE: usize = 4096;

/// Where to put a new reservation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Where {
    /// Exactly here, failing with EEXIST if anything is mapped in the range
    /// (MAP_FIXED_NOREPLACE, as the kernel maps ET_EXEC files and PIE programs).
    Exactly(usize),
    /// Wherever mmap chooses, with the start aligned to this power of two (the kernel's
    /// placement of an interpreter or a static PIE).
    Anywhere { align: usize },
}

/// A reserved range of the address space, owned by the loader until [`Region::keep`].
#[derive(Debug)]
pub struct Region {
    addr: usize,
    len: usize,
}

fn last_errno() -> Errno {
    Errno(
        std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EINVAL),
    )
}

fn page_aligned(x: usize) -> bool {
    x % PAGE == 0
}

impl Region {
    /// `mmap(addr, len, PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE[|MAP_FIXED_NOREPLACE])`:
    /// reserves `len` bytes (a multiple of the page size).
    pub fn reserve(at: Where, len: usize) -> Result<Region, Errno> {
        if len == 0 || !page_aligned(len) {
            return Err(Errno(libc::EINVAL));
        }
        let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE;
        match at {
            Where::Exactly(addr) => {
                if !page_aligned(addr) {
                    return Err(Errno(libc::EINVAL));
                }
                // SAFETY: MAP_FIXED_NOREPLACE never replaces an existing mapping; a new
                // PROT_NONE anonymous mapping cannot alias any Rust object.
                let p = unsafe {
                    libc::mmap(
                        addr as *mut libc::c_void,
                        len,
                        libc::PROT_NONE,
                        flags | libc::MAP_FIXED_NOREPLACE,
                        -1,
                        0,
                    )
                };
                if p == libc::MAP_FAILED {
                    return Err(last_errno());
                }
                let r = Region {
                    addr: p as usize,
                    len,
                };
                // Kernels before 4.17 ignore the flag and treat the address as a hint.
                if r.addr != addr {
                    return Err(Errno(libc::EEXIST));
                }
                Ok(r)
            }
            Where::Anywhere { align } => {
                let align = align.max(PAGE);
                if !align.is_power_of_two() {
                    return Err(Errno(libc::EINVAL));
                }
                // Over-reserve by align - PAGE, then give back both ends.
                let total = len.checked_add(align - PAGE).ok_or(Errno(libc::ENOMEM))?;
                // SAFETY: a new PROT_NONE anonymous mapping at an address of the kernel's choice
                // cannot alias anything.
                let p = unsafe {
                    libc::mmap(core::ptr::null_mut(), total, libc::PROT_NONE, flags, -1, 0)
                };
                if p == libc::MAP_FAILED {
                    return Err(last_errno());
                }
                let start = p as usize;
                let aligned = (start + align - 1) & !(align - 1);
                let whole = Region {
                    addr: start,
                    len: total,
                };
                let head = aligned - start;
                let tail = total - head - len;
                whole.release(0, head)?;
                whole.release(head + len, tail)?;
                core::mem::forget(whole);
                Ok(Region { addr: aligned, len })
            }
        }
    }

    /// The first address.
    pub fn addr(&self) -> usize {
        self.addr
    }

    /// The length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    fn check(&self, offset: usize, len: usize) -> Result<usize, Errno> {
        let end = offset.checked_add(len).ok_or(Errno(libc::EINVAL))?;
        if !page_aligned(offset) || !page_aligned(len) || end > self.len {
            return Err(Errno(libc::EINVAL));
        }
        Ok(self.addr + offset)
    }

    /// Maps fresh zeroed pages at `offset..offset+len` of the region, copies `data` to
    /// `offset + at`, then sets the protection to `prot` (PROT_* bits).
    ///
    /// `mmap(MAP_FIXED|MAP_ANONYMOUS)` + copy + `mprotect`: how a loader without a file
    /// descriptor fills a segment.
    pub fn fill(
        &self,
        offset: usize,
        len: usize,
        at: usize,
        data: &[u8],
        prot: i32,
    ) -> Result<(), Errno> {
        if len == 0 {
            return Ok(());
        }
        let start = self.check(offset, len)?;
        match at.checked_add(data.len()) {
            Some(end) if end <= len => {}
            _ => return Err(Errno(libc::EINVAL)),
        }
        // SAFETY: start..start+len lies inside this region, which we reserved and own; MAP_FIXED
        // replaces only our own pages.
        let p = unsafe {
            libc::mmap(
                start as *mut libc::c_void,
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(last_errno());
        }
        if !data.is_empty() {
            // SAFETY: the destination start+at..start+at+data.len() is inside the read-write
            // pages just mapped (checked above); they are new, so they overlap no Rust object,
            // and `data` lives elsewhere.
            unsafe {
                core::ptr::copy_nonoverlapping(data.as_ptr(), (start + at) as *mut u8, data.len())
            };
        }
        self.protect(offset, len, prot)
    }

    /// Maps a stack at `offset..offset+len` of the region as the kernel maps the initial
    /// stack: fresh zeroed pages, read-write (plus `extra_prot`, PROT_EXEC for a program that
    /// asks for an executable stack), growing down on demand up to RLIMIT_STACK
    /// (`MAP_GROWSDOWN`); `image` is copied to its highest bytes.
    ///
    /// The stack can grow only into free address space: the part of the region below it
    /// stays reserved until [`Region::keep`] gives it back as a hole.
    pub fn map_stack(
        &self,
        offset: usize,
        len: usize,
        image: &[u8],
        extra_prot: i32,
    ) -> Result<(), Errno> {
        let start = self.check(offset, len)?;
        if image.len() > len {
            return Err(Errno(libc::EINVAL));
        }
        // SAFETY: start..start+len lies inside this region, which we reserved and own; MAP_FIXED
        // replaces only our own pages.
        let p = unsafe {
            libc::mmap(
                start as *mut libc::c_void,
                len,
                libc::PROT_READ | libc::PROT_WRITE | extra_prot,
                libc::MAP_PRIVATE
                    | libc::MAP_ANONYMOUS
                    | libc::MAP_FIXED
                    | libc::MAP_GROWSDOWN
                    | libc::MAP_STACK,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(last_errno());
        }
        // SAFETY: the destination (the last image.len() bytes of the pages just mapped
        // read-write) is new memory overlapping no Rust object; `image` lives elsewhere.
        unsafe {
            core::ptr::copy_nonoverlapping(
                image.as_ptr(),
                (start + len - image.len()) as *mut u8,
                image.len(),
            )
        };
        Ok(())
    }

    /// Maps `len` bytes of the open file `fd` from `file_offset` at `offset` of the region,
    /// private and copy-on-write, with protection `prot` (how the kernel maps a segment).
    pub fn map_file(
        &self,
        offset: usize,
        len: usize,
        fd: std::os::fd::BorrowedFd<'_>,
        file_offset: u64,
        prot: i32,
    ) -> Result<(), Errno> {
        use std::os::fd::AsRawFd;
        if len == 0 {
            return Ok(());
        }
        let start = self.check(offset, len)?;
        if file_offset % PAGE as u64 != 0 || file_offset > i64::MAX as u64 {
            return Err(Errno(libc::EINVAL));
        }
        // SAFETY: the range lies inside our region; MAP_FIXED replaces only our own pages.
        let p = unsafe {
            libc::mmap(
                start as *mut libc::c_void,
                len,
                prot,
                libc::MAP_PRIVATE | libc::MAP_FIXED,
                fd.as_raw_fd(),
                file_offset as libc::off_t,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(last_errno());
        }
        Ok(())
    }

    /// Writes zeros at `offset..offset+len` (byte granular), which must be mapped writable in
    /// this region, e.g. by [`Region::map_file`] with PROT_WRITE.
    pub fn zero(&self, offset: usize, len: usize) -> Result<(), Errno> {
        let end = offset.checked_add(len).ok_or(Errno(libc::EINVAL))?;
        if end > self.len {
            return Err(Errno(libc::EINVAL));
        }
        if len == 0 {
            return Ok(());
        }
        // SAFETY: the bytes lie inside our region and the caller mapped them writable; they
        // belong to no Rust object. A private file mapping is copied on write, the file is
        // unchanged.
        unsafe { core::ptr::write_bytes((self.addr + offset) as *mut u8, 0, len) };
        Ok(())
    }

    /// `mprotect` on `offset..offset+len` of the region.
    pub fn protect(&self, offset: usize, len: usize, prot: i32) -> Result<(), Errno> {
        let start = self.check(offset, len)?;
        // SAFETY: the range is ours; changing its protection affects no Rust object.
        if unsafe { libc::mprotect(start as *mut libc::c_void, len, prot) } != 0 {
            return Err(last_errno());
        }
        Ok(())
    }

    /// `munmap` of `offset..offset+len`. Private: a released hole could be reused by another
    /// mapping before this region is dropped, and the drop would then unmap that; holes are
    /// given back only by [`Region::keep`].
    fn release(&self, offset: usize, len: usize) -> Result<(), Errno> {
        if len == 0 {
            return Ok(());
        }
        let start = self.check(offset, len)?;
        // SAFETY: the range is ours and holds no Rust object.
        if unsafe { libc::munmap(start as *mut libc::c_void, len) } != 0 {
            return Err(last_errno());
        }
        Ok(())
    }

    /// Gives up ownership: the pages stay mapped for the new program, except the `holes`
    /// (offset, length pairs) which are unmapped, as the kernel leaves gaps between segments
    /// unmapped. A hole that cannot be unmapped stays reserved (PROT_NONE), which is harmless.
    pub fn keep(self, holes: &[(usize, usize)]) -> (usize, usize) {
        for &(off, len) in holes {
            let _ = self.release(off, len);
        }
        let r = (self.addr, self.len);
        core::mem::forget(self);
        r
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        // SAFETY: the whole range was reserved by us and holds no Rust object.
        unsafe { libc::munmap(self.addr as *mut libc::c_void, self.len) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dropped_region_leaves_the_address_space_as_it_was() {
        let r = Region::reserve(Where::Anywhere { align: 1 << 16 }, 4 * PAGE).unwrap();
        let addr = r.addr();
        assert_eq!(addr % (1 << 16), 0);
        r.fill(PAGE, 2 * PAGE, 10, b"hello", libc::PROT_READ)
            .unwrap();
        // Out of the region: refused, nothing touched.
        assert_eq!(
            r.fill(3 * PAGE, 2 * PAGE, 0, &[], 0),
            Err(Errno(libc::EINVAL))
        );
        assert_eq!(
            r.fill(0, PAGE, PAGE - 2, b"abc", 0),
            Err(Errno(libc::EINVAL))
        );
        // Anything mapped in the range makes an exact reservation fail with EEXIST.
        assert_eq!(
            Region::reserve(Where::Exactly(addr), PAGE).unwrap_err(),
            Errno(libc::EEXIST)
        );
        drop(r);
        // Free again: the exact reservation now succeeds.
        let again = Region::reserve(Where::Exactly(addr), 4 * PAGE).unwrap();
        assert_eq!(again.addr(), addr);
    }
}
