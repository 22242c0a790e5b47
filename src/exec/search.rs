//! PATH search rules of execvp/execvpe, as glibc (and, on request, musl) define them.
//!
//! The candidates are computed in advance (allocating) so that trying them, which happens
//! after a fork or clone, allocates nothing. Which errnos let the search go on, and which
//! errno wins at the end, is in [`SearchRules`]; the loop itself is in `sys::exec`.

use crate::sys::cptr::CPtr;
use std::ffi::CString;

/// glibc's PATH when the caller's environment has none.
pub const GLIBC_DEFAULT_PATH: &[u8] = b"/bin:/usr/bin";
/// musl's PATH when the caller's environment has none.
pub const MUSL_DEFAULT_PATH: &[u8] = b"/usr/local/bin:/bin:/usr/bin";

const NAME_MAX: usize = 255;
const PATH_MAX: usize = 4096;

/// Whose execvp behaviour to follow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SearchRules {
    /// glibc: EACCES remembered; ENOENT, ESTALE, ENOTDIR, ENODEV, ETIMEDOUT go on; ENOEXEC runs
    /// the candidate under /bin/sh (unless the shell fallback is turned off).
    #[default]
    Glibc,
    /// musl: EACCES remembered; only ENOENT and ENOTDIR go on; never a shell.
    Musl,
}

impl SearchRules {
    /// Whether an exec failure with `errno` at one candidate lets the search try the next.
    pub fn continues_after(self, errno: i32) -> bool {
        match self {
            SearchRules::Glibc => matches!(
                errno,
                libc::EACCES
                    | libc::ENOENT
                    | libc::ESTALE
                    | libc::ENOTDIR
                    | libc::ENODEV
                    | libc::ETIMEDOUT
            ),
            SearchRules::Musl => matches!(errno, libc::EACCES | libc::ENOENT | libc::ENOTDIR),
        }
    }

    /// The PATH used when the environment has none.
    pub fn default_path(self) -> &'static [u8] {
        match self {
            SearchRules::Glibc => GLIBC_DEFAULT_PATH,
            SearchRules::Musl => MUSL_DEFAULT_PATH,
        }
    }
}

/// Where exec will look for the program: the paths to try, in order.
#[derive(Debug)]
pub struct Candidates {
    paths: Vec<CString>,
    ptrs: Vec<CPtr>,
    /// True when `name` contained a '/' and is used as is (no search).
    pub direct: bool,
}

impl Candidates {
    /// The candidate paths, in the order they are tried.
    pub fn paths(&self) -> impl Iterator<Item = &std::ffi::CStr> {
        self.paths.iter().map(|p| p.as_c_str())
    }

    /// Raw pointers for the allocation-free loop.
    pub(crate) fn raw(&self) -> &[CPtr] {
        &self.ptrs
    }

    /// A single path used as given (execve semantics).
    pub fn direct(path: CString) -> Self {
        let ptrs = vec![CPtr(path.as_ptr())];
        Candidates {
            paths: vec![path],
            ptrs,
            direct: true,
        }
    }

    /// Computes the candidates for `name` with the given PATH value (`None`: unset).
    ///
    /// Errors (as errno) are those execvp reports before trying anything: ENOENT for an empty
    /// name, ENAMETOOLONG for a name too long to be a file name.
    pub fn search(name: &[u8], path: Option<&[u8]>, rules: SearchRules) -> Result<Self, i32> {
        if name.is_empty() {
            return Err(libc::ENOENT);
        }
        if name.contains(&0) {
            return Err(libc::EINVAL);
        }
        if name.contains(&b'/') {
            return Ok(Self::direct(CString::new(name).map_err(|_| libc::EINVAL)?));
        }
        // glibc refuses strnlen(name, NAME_MAX) + 1 > NAME_MAX, i.e. 255 bytes or more;
        // musl refuses more than NAME_MAX.
        let too_long = match rules {
            SearchRules::Glibc => name.len() >= NAME_MAX,
            SearchRules::Musl => name.len() > NAME_MAX,
        };
        if too_long {
            return Err(libc::ENAMETOOLONG);
        }
        let path = path.unwrap_or(rules.default_path());
        // glibc reads at most PATH_MAX - 1 bytes of PATH and skips an element as long as that.
        let path = match rules {
            SearchRules::Glibc => &path[..path.len().min(PATH_MAX - 1)],
            SearchRules::Musl => path,
        };
        let path_len = path.len() + 1;
        let mut paths = Vec::new();
        for dir in path.split(|&b| b == b':') {
            let keep = match rules {
                SearchRules::Glibc => dir.len() < path_len,
                SearchRules::Musl => dir.len() < PATH_MAX,
            };
            if !keep {
                continue;
            }
            let mut candidate = Vec::with_capacity(dir.len() + 1 + name.len() + 1);
            // An empty element means the current directory: glibc then execs the bare name
            // (relative to the cwd); musl builds "/name". Follow each.
            if !dir.is_empty() || rules == SearchRules::Musl {
                candidate.extend_from_slice(dir);
                candidate.push(b'/');
            }
            candidate.extend_from_slice(name);
            match CString::new(candidate) {
                Ok(c) => paths.push(c),
                Err(_) => continue, // a NUL inside PATH: C would have stopped reading there
            }
        }
        let ptrs = paths.iter().map(|p| CPtr(p.as_ptr())).collect();
        Ok(Candidates {
            paths,
            ptrs,
            direct: false,
        })
    }
}
