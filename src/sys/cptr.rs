//! A C string pointer that may cross threads with the value that owns its string.

use std::os::raw::c_char;

/// `*const c_char` with the same layout, marked Send + Sync. It is only ever stored next to
/// the owner of the string it points to (a `CString` in the same struct), and the owner moves
/// and is shared together with it.
#[repr(transparent)]
#[derive(Clone, Copy, Debug)]
pub struct CPtr(pub *const c_char);

// SAFETY: a CPtr is a plain address into a string owned by the struct that holds the CPtr;
// reading the string from another thread is as safe as reading the owner's CString there.
unsafe impl Send for CPtr {}
// SAFETY: as above; the pointee is never written through a CPtr.
unsafe impl Sync for CPtr {}

impl CPtr {
    /// The null pointer (array terminator).
    pub const NULL: CPtr = CPtr(std::ptr::null());
}
