//! `prctl(PR_SET_MM, PR_SET_MM_MAP)`: tells the kernel where the new program's code, data,
//! heap, stack, arguments, environment and auxv are, as execve records them. Afterwards brk()
//! grows the new program's heap, and /proc/PID/cmdline, environ, auxv and stat show the new
//! program. Needs no privilege (only replacing /proc/PID/exe would: the loader's trampoline
//! does that, `super::jump`); needs a kernel with CONFIG_CHECKPOINT_RESTORE. A raw system
//! call: it runs at the loader's point of no return, where nothing may allocate.

/// The kernel's `struct prctl_mm_map`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MmMap {
    /// Lowest address of executable segments.
    pub start_code: u64,
    /// End of their file contents.
    pub end_code: u64,
    /// Highest segment start.
    pub start_data: u64,
    /// End of the highest file contents.
    pub end_data: u64,
    /// Start of the heap.
    pub start_brk: u64,
    /// Current end of the heap.
    pub brk: u64,
    /// The initial stack pointer.
    pub start_stack: u64,
    /// First byte of the argv strings.
    pub arg_start: u64,
    /// One past their last byte.
    pub arg_end: u64,
    /// First byte of the envp strings.
    pub env_start: u64,
    /// One past their last byte.
    pub env_end: u64,
    /// The auxv pairs (user pointer), or 0.
    pub auxv: u64,
    /// Bytes at `auxv`.
    pub auxv_size: u32,
    /// A new /proc/PID/exe, or u32::MAX to keep it.
    pub exe_fd: u32,
}

impl MmMap {
    /// The struct as the kernel reads it, in 64-bit words (auxv_size and exe_fd share the
    /// last one).
    pub fn words(&self) -> [u64; super::trampoline::MM_MAP_WORDS] {
        [
            self.start_code,
            self.end_code,
            self.start_data,
            self.end_data,
            self.start_brk,
            self.brk,
            self.start_stack,
            self.arg_start,
            self.arg_end,
            self.env_start,
            self.env_end,
            self.auxv,
            u64::from(self.auxv_size) | u64::from(self.exe_fd) << 32,
        ]
    }
}

/// The size the kernel expects (PR_SET_MM_MAP_SIZE).
pub const MM_MAP_SIZE: usize = 104;
const _: () = assert!(core::mem::size_of::<MmMap>() == MM_MAP_SIZE);

/// `prctl(PR_SET_MM, PR_SET_MM_MAP, map, sizeof map, 0)` keeping /proc/PID/exe; `auxv` (pairs
/// of words, AT_NULL last) becomes /proc/PID/auxv when given.
pub fn set_mm_map(map: &MmMap, auxv: Option<&[u64]>) -> Result<(), crate::Errno> {
    let mut m = *map;
    m.exe_fd = u32::MAX;
    match auxv {
        Some(a) => {
            m.auxv = a.as_ptr() as u64;
            m.auxv_size = u32::try_from(core::mem::size_of_val(a)).unwrap_or(0);
        }
        None => {
            m.auxv = 0;
            m.auxv_size = 0;
        }
    }
    // SAFETY: `m` is a valid prctl_mm_map on our stack, and `auxv` (when set) points at
    // `auxv_size` readable bytes; the kernel only reads them.
    let r = unsafe {
        super::raw::syscall(
            libc::SYS_prctl,
            [
                libc::PR_SET_MM as usize,
                libc::PR_SET_MM_MAP as usize,
                &m as *const MmMap as usize,
                core::mem::size_of::<MmMap>(),
                0,
                0,
            ],
        )
    };
    r.map(|_| ()).map_err(crate::Errno)
}
