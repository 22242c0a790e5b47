//! PATH search rules of execvp/execvpe, as glibc (and, on request, musl) define them.
//!
//! The candidates are computed in advance (allocating) so that trying them, which happens
//! after a fork or clone, allocates nothing. Which errnos let the search go on, and which
//! errno wins at the end, is in [`SearchRules`]; the loop itself is in `sys::exec_loop`.

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
#[non_exhaustive]
pub enum SearchRules {
    /// glibc: default PATH `/bin:/usr/bin`; EACCES remembered; ENOENT, ESTALE, ENOTDIR,
    /// ENODEV, ETIMEDOUT go on; any other errno ends the search.
    #[default]
    Glibc,
    /// musl: default PATH `/usr/local/bin:/bin:/usr/bin`; EACCES remembered; only ENOENT and
    /// ENOTDIR go on.
    ///
    /// The rules say nothing about ENOEXEC: the `/bin/sh` fallback is a separate choice
    /// ([`ShellFallback`](super::ShellFallback)); musl releases up to 1.2.5 never fall back.
    Musl,
}

impl SearchRules {
    /// Whether an exec failure with `errno` at one candidate lets the search try the next.
    pub fn continues_after(self, errno: i32) -> bool {
        self.continue_errnos().contains(&errno)
    }

    /// The errnos after which the search tries the next candidate.
    pub(crate) fn continue_errnos(self) -> &'static [i32] {
        match self {
            SearchRules::Glibc => &[
                libc::EACCES,
                libc::ENOENT,
                libc::ESTALE,
                libc::ENOTDIR,
                libc::ENODEV,
                libc::ETIMEDOUT,
            ],
            SearchRules::Musl => &[libc::EACCES, libc::ENOENT, libc::ENOTDIR],
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

/// How a program name is turned into a file to exec.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PathLookup {
    /// Search PATH like execvp when the name has no '/' (the default).
    Search(SearchRules),
    /// Use the name as given (execve semantics).
    Off,
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
        // Longer than NAME_MAX cannot be a file name. musl checks exactly this. glibc means to
        // (its check reads `strnlen(name, NAME_MAX) + 1 - 1 > NAME_MAX`, which can never be
        // true) and in effect lets the kernel answer: a component over NAME_MAX bytes fails
        // with ENAMETOOLONG at the first PATH directory that exists. Answering up front gives
        // the same errno without trying candidates (see `tests/exec_family.rs`).
        if name.len() > NAME_MAX {
            return Err(libc::ENAMETOOLONG);
        }
        let path = path.unwrap_or(rules.default_path());
        // A C string ends at its first NUL: a PATH given with one is read up to there.
        let path = &path[..path.iter().position(|&b| b == 0).unwrap_or(path.len())];
        // Both libraries walk the whole PATH but skip an element at least as long as
        // `min(len(PATH), PATH_MAX - 1) + 1` (their stack buffer's room), i.e. any element of
        // PATH_MAX bytes or more. glibc, when it skips an element that is not the last, goes
        // on *at the ':'* and so also tries an empty element (the current directory); that is
        // an accident of its loop, not a rule, and we do not copy it: the element is skipped.
        let room = path.len().min(PATH_MAX - 1) + 1;
        let mut paths = Vec::new();
        for dir in path.split(|&b| b == b':') {
            if dir.len() >= room {
                continue;
            }
            let mut candidate = Vec::with_capacity(dir.len() + 1 + name.len() + 1);
            // An empty element means the current directory: both libraries then exec the
            // bare name, relative to the cwd (no "./" and no leading '/').
            if !dir.is_empty() {
                candidate.extend_from_slice(dir);
                candidate.push(b'/');
            }
            candidate.extend_from_slice(name);
            // Neither part holds a NUL (both checked above), so this cannot fail.
            paths.push(CString::new(candidate).map_err(|_| libc::EINVAL)?);
        }
        let ptrs = paths.iter().map(|p| CPtr(p.as_ptr())).collect();
        Ok(Candidates {
            paths,
            ptrs,
            direct: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(c: &Candidates) -> Vec<String> {
        c.paths().map(|p| p.to_str().unwrap().to_owned()).collect()
    }

    #[test]
    fn empty_element_is_the_bare_name_for_both_rules() {
        for rules in [SearchRules::Glibc, SearchRules::Musl] {
            let c = Candidates::search(b"prog", Some(b"/a::/b:"), rules).unwrap();
            assert_eq!(
                paths(&c),
                ["/a/prog", "prog", "/b/prog", "prog"],
                "{rules:?}"
            );
        }
    }

    #[test]
    fn which_errnos_go_on() {
        use SearchRules::{Glibc, Musl};
        for e in [libc::EACCES, libc::ENOENT, libc::ENOTDIR] {
            assert!(Glibc.continues_after(e) && Musl.continues_after(e), "{e}");
        }
        // The "strange filesystem" errnos only glibc skips.
        for e in [libc::ESTALE, libc::ENODEV, libc::ETIMEDOUT] {
            assert!(Glibc.continues_after(e) && !Musl.continues_after(e), "{e}");
        }
        for e in [
            libc::ELOOP,
            libc::ENOEXEC,
            libc::E2BIG,
            libc::ETXTBSY,
            libc::ENAMETOOLONG,
        ] {
            assert!(!Glibc.continues_after(e) && !Musl.continues_after(e), "{e}");
        }
    }

    #[test]
    fn unset_path_uses_each_library_default() {
        let g = Candidates::search(b"sh", None, SearchRules::Glibc).unwrap();
        assert_eq!(paths(&g), ["/bin/sh", "/usr/bin/sh"]);
        let m = Candidates::search(b"sh", None, SearchRules::Musl).unwrap();
        assert_eq!(paths(&m), ["/usr/local/bin/sh", "/bin/sh", "/usr/bin/sh"]);
    }

    #[test]
    fn name_checks_come_before_the_search() {
        let rules = SearchRules::Glibc;
        assert_eq!(
            Candidates::search(b"", None, rules).unwrap_err(),
            libc::ENOENT
        );
        assert_eq!(
            Candidates::search(b"a\0b", None, rules).unwrap_err(),
            libc::EINVAL
        );
        // NAME_MAX is 255: a 255-byte name is a valid file name, 256 is not.
        let ok = Candidates::search(&[b'x'; 255], Some(b"/d"), rules).unwrap();
        assert_eq!(ok.paths().count(), 1);
        let long = Candidates::search(&[b'x'; 256], Some(b"/d"), rules);
        assert_eq!(long.unwrap_err(), libc::ENAMETOOLONG);
        let direct = Candidates::search(b"./x", Some(b"/d"), rules).unwrap();
        assert!(direct.direct);
        assert_eq!(paths(&direct), ["./x"]);
    }

    #[test]
    fn whole_path_is_walked_and_only_overlong_elements_skipped() {
        // 500 eight-byte elements (4500 bytes, past PATH_MAX - 1) then the real one: all of
        // them are candidates, the last included (glibc walks the whole string).
        let mut path = b"/nope/x:".repeat(500);
        path.extend_from_slice(b"/bin");
        let c = Candidates::search(b"sh", Some(&path), SearchRules::Glibc).unwrap();
        assert_eq!(c.paths().count(), 501);
        assert_eq!(paths(&c).last().unwrap(), "/bin/sh");
        // An element of PATH_MAX bytes is skipped.
        let mut path = vec![b'/'; PATH_MAX];
        path.extend_from_slice(b":/bin");
        let c = Candidates::search(b"sh", Some(&path), SearchRules::Glibc).unwrap();
        assert_eq!(paths(&c), ["/bin/sh"]);
    }

    #[test]
    fn path_is_read_up_to_a_nul() {
        let c = Candidates::search(b"p", Some(b"/a:/b\0:/c"), SearchRules::Glibc).unwrap();
        assert_eq!(paths(&c), ["/a/p", "/b/p"]);
    }
}
