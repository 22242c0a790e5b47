//! NULL-terminated arrays of C strings, the shape execve takes for argv and envp.

use crate::sys::cptr::CPtr;
use std::ffi::{CStr, CString, OsStr};
use std::os::raw::c_char;
use std::os::unix::ffi::OsStrExt;

/// An owned `char *const[]`: the strings and a pointer array ending in NULL, kept in step.
///
/// Each `CString` owns its own heap buffer, so the pointers stay valid when the vectors grow.
#[derive(Debug)]
pub struct CStringArray {
    items: Vec<CString>,
    ptrs: Vec<CPtr>,
}

impl Default for CStringArray {
    fn default() -> Self {
        Self::new()
    }
}

impl Clone for CStringArray {
    fn clone(&self) -> Self {
        let mut out = CStringArray::with_capacity(self.items.len());
        for s in &self.items {
            out.push(s.clone());
        }
        out
    }
}

impl CStringArray {
    /// An empty array (just the terminating NULL).
    pub fn new() -> Self {
        Self::with_capacity(0)
    }

    /// An empty array with room for `n` strings.
    pub fn with_capacity(n: usize) -> Self {
        let mut ptrs = Vec::with_capacity(n + 1);
        ptrs.push(CPtr::NULL);
        CStringArray {
            items: Vec::with_capacity(n),
            ptrs,
        }
    }

    /// Builds an array from OS strings (argv or `KEY=VALUE` envp entries).
    ///
    /// A string with a NUL byte cannot be passed to exec: that is an error of kind
    /// `InvalidInput` naming the entry as `what[i]` and the offset of the NUL.
    pub fn try_from_os<I, S>(items: I, what: &str) -> std::io::Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let items = items.into_iter();
        let mut out = CStringArray::with_capacity(items.size_hint().0);
        for (i, s) in items.enumerate() {
            out.push(CString::new(s.as_ref().as_bytes()).map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!(
                        "{what}[{i}] contains a NUL byte at offset {}",
                        e.nul_position()
                    ),
                )
            })?);
        }
        Ok(out)
    }

    /// Appends a string.
    pub fn push(&mut self, s: CString) {
        let last = self.ptrs.len() - 1;
        self.ptrs[last] = CPtr(s.as_ptr());
        self.ptrs.push(CPtr::NULL);
        self.items.push(s);
    }

    /// Replaces string `i`.
    pub fn set(&mut self, i: usize, s: CString) {
        self.ptrs[i] = CPtr(s.as_ptr());
        self.items[i] = s;
    }

    /// The number of strings (NULL not counted).
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there are no strings.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// String `i`.
    pub fn get(&self, i: usize) -> Option<&CStr> {
        self.items.get(i).map(|s| s.as_c_str())
    }

    /// The strings, in order, as a slice.
    pub fn as_slice(&self) -> &[CString] {
        &self.items
    }

    /// The strings, in order.
    pub fn iter(&self) -> impl Iterator<Item = &CStr> {
        self.items.iter().map(|s| s.as_c_str())
    }

    /// The `char *const[]` pointer, valid while `self` is neither changed nor dropped.
    pub fn as_ptr(&self) -> *const *const c_char {
        self.ptrs.as_ptr().cast()
    }

    /// Total bytes the kernel would copy for these strings (each with its NUL).
    pub fn byte_len(&self) -> usize {
        self.items.iter().map(|s| s.as_bytes_with_nul().len()).sum()
    }

    /// `KEY=VALUE` strings of the process environment, copied under std's env lock
    /// (`std::env::vars_os`), so a concurrent `std::env::set_var` cannot move them meanwhile.
    pub fn from_env_snapshot() -> Self {
        use std::os::unix::ffi::OsStrExt;
        let mut envp = CStringArray::with_capacity(64);
        for (k, v) in std::env::vars_os() {
            let mut kv = k.as_bytes().to_vec();
            kv.push(b'=');
            kv.extend_from_slice(v.as_bytes());
            // Inherited variables cannot contain a NUL byte.
            if let Ok(c) = CString::new(kv) {
                envp.push(c);
            }
        }
        envp
    }
}
