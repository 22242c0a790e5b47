//! The exec family as functions, each folding onto one prepared exec exactly as the C library
//! folds them onto `execve`:
//!
//! | function | C call | program lookup | environment | ENOEXEC |
//! | --- | --- | --- | --- | --- |
//! | [`execve`] | `execve(path, argv, envp)` | as given | `envp` | error |
//! | [`execv`] | `execv(path, argv)` | as given | caller's `environ` | error |
//! | [`execvp`] | `execvp(file, argv)` | PATH search | caller's `environ` | `/bin/sh file args...` |
//! | [`execvpe`] | `execvpe(file, argv, envp)` | PATH search (caller's PATH) | `envp` | `/bin/sh file args...` |
//! | [`fexecve`] | `fexecve(fd, argv, envp)` | the open file `fd` | `envp` | error |
//! | [`execveat`] | `execveat(dirfd, path, argv, envp, flags)` | `path` relative to `dirfd` | `envp` | error |
//! | [`execl!`](crate::execl) | `execl(path, arg0, ...)` | as [`execv`] | | |
//! | [`execlp!`](crate::execlp) | `execlp(file, arg0, ...)` | as [`execvp`] | | |
//! | [`execle!`](crate::execle) | `execle(path, arg0, ..., envp)` | as [`execve`] | | |
//!
//! Each returns only on failure: the `io::Error` carries the errno (`raw_os_error()`), except
//! for input that C cannot even express (a NUL byte inside a string), which is refused with
//! an error of kind `InvalidInput` before any exec. argv and envp are any iterables of
//! `AsRef<OsStr>` (arrays, slices, `Vec<String>`, `std::env::args_os()`); envp entries are
//! `KEY=VALUE` strings, as in C.
//!
//! These functions allocate (they build the C strings). After a fork, in code that must not
//! allocate, prepare first with [`Exec::prepare`] or [`PreparedExecAt`] and call `exec` there.
//!
//! The list forms are macros because C's are variadic; `execl!(path, arg0, arg1)` is exactly
//! `execv(path, [arg0, arg1])` and takes arguments of mixed `AsRef<OsStr>` types.

use super::builder::Exec;
use super::prepared::{Envp, PreparedExecAt};
use super::search::PathLookup;
use super::vectors::CStringArray;
use rustix::fs::AtFlags;
use std::ffi::OsStr;
use std::io;
use std::os::fd::AsFd;

/// `execve(path, argv, envp)`: replaces the process image with the program at `path`, used as
/// given (no PATH search, no shell fallback).
pub fn execve<A, E>(
    path: impl AsRef<OsStr>,
    argv: impl IntoIterator<Item = A>,
    envp: impl IntoIterator<Item = E>,
) -> io::Error
where
    A: AsRef<OsStr>,
    E: AsRef<OsStr>,
{
    Exec::new(path)
        .path_lookup(PathLookup::Off)
        .shell_fallback(false)
        .argv(argv)
        .envp(envp)
        .exec()
}

/// `execv(path, argv)`: [`execve`] with the caller's environment.
pub fn execv<A>(path: impl AsRef<OsStr>, argv: impl IntoIterator<Item = A>) -> io::Error
where
    A: AsRef<OsStr>,
{
    Exec::new(path)
        .path_lookup(PathLookup::Off)
        .shell_fallback(false)
        .argv(argv)
        .exec()
}

/// `execvp(file, argv)`: searches `file` in the caller's PATH with glibc's rules and execs it
/// with the caller's environment; a candidate the kernel refuses with ENOEXEC runs as
/// `/bin/sh candidate argv[1..]`.
///
/// The search: an empty `file` is ENOENT; a `file` with a '/' is used as is; PATH unset
/// means `/bin:/usr/bin`; an empty PATH element is the current directory; a `file` longer
/// than NAME_MAX is ENAMETOOLONG. EACCES at a candidate is remembered and the search goes on;
/// ENOENT, ESTALE, ENOTDIR, ENODEV and ETIMEDOUT go on; any other errno is returned at once.
/// When every candidate failed, EACCES wins if it was seen, else the last errno.
///
/// For musl's rules or no shell fallback, use [`Exec`].
pub fn execvp<A>(file: impl AsRef<OsStr>, argv: impl IntoIterator<Item = A>) -> io::Error
where
    A: AsRef<OsStr>,
{
    Exec::new(file).argv(argv).exec()
}

/// `execvpe(file, argv, envp)`: [`execvp`] that passes `envp` to the program. The PATH
/// searched is still the caller's, not the one in `envp` (glibc's rule).
pub fn execvpe<A, E>(
    file: impl AsRef<OsStr>,
    argv: impl IntoIterator<Item = A>,
    envp: impl IntoIterator<Item = E>,
) -> io::Error
where
    A: AsRef<OsStr>,
    E: AsRef<OsStr>,
{
    Exec::new(file).argv(argv).envp(envp).exec()
}

/// `fexecve(fd, argv, envp)`: execs the open file `fd`, as
/// `execveat(fd, "", argv, envp, AT_EMPTY_PATH)` (with glibc's `/proc/self/fd/N` fallback on
/// kernels without execveat).
///
/// A `#!` script opened with `O_CLOEXEC` fails with ENOENT: the interpreter is handed
/// `/dev/fd/N`, which the close-on-exec has closed by then. This is the kernel's behaviour.
pub fn fexecve<A, E>(
    fd: impl AsFd,
    argv: impl IntoIterator<Item = A>,
    envp: impl IntoIterator<Item = E>,
) -> io::Error
where
    A: AsRef<OsStr>,
    E: AsRef<OsStr>,
{
    let prepared = (|| -> io::Result<PreparedExecAt> {
        let argv = CStringArray::try_from_os(argv, "argv")?;
        let envp = CStringArray::try_from_os(envp, "envp")?;
        Ok(PreparedExecAt::fexecve(argv, Envp::Explicit(envp)))
    })();
    match prepared {
        Ok(p) => p.exec(fd.as_fd()),
        Err(e) => e,
    }
}

/// `execveat(dirfd, path, argv, envp, flags)`: execs `path` relative to the directory
/// `dirfd` (`rustix::fs::CWD` for the current directory). `flags`: `AtFlags::EMPTY_PATH`
/// (an empty `path` means `dirfd` itself, as in [`fexecve`]) and
/// `AtFlags::SYMLINK_NOFOLLOW` (ELOOP if `path` is a symbolic link).
pub fn execveat<A, E>(
    dirfd: impl AsFd,
    path: impl AsRef<OsStr>,
    argv: impl IntoIterator<Item = A>,
    envp: impl IntoIterator<Item = E>,
    flags: AtFlags,
) -> io::Error
where
    A: AsRef<OsStr>,
    E: AsRef<OsStr>,
{
    let prepared = (|| -> io::Result<PreparedExecAt> {
        let argv = CStringArray::try_from_os(argv, "argv")?;
        let envp = CStringArray::try_from_os(envp, "envp")?;
        PreparedExecAt::new(path.as_ref(), argv, Envp::Explicit(envp), flags)
    })();
    match prepared {
        Ok(p) => p.exec(dirfd.as_fd()),
        Err(e) => e,
    }
}

/// The argument list of the `execl*` macros as an iterable of `&OsStr`: each argument may be
/// of a different `AsRef<OsStr>` type.
#[doc(hidden)]
#[macro_export]
macro_rules! __exec_arg_list {
    () => {
        ::std::iter::empty::<&::std::ffi::OsStr>()
    };
    ($($arg:expr),+) => {
        [$(::std::convert::AsRef::<::std::ffi::OsStr>::as_ref(&$arg)),+]
    };
}

/// `execl(path, arg0, arg1, ...)`: [`execv`](crate::exec::execv) with the arguments listed.
/// Arguments may be of different `AsRef<OsStr>` types. Evaluates to the `io::Error`.
///
/// ```no_run
/// let err = forkexec::execl!("/bin/echo", "echo", "hello", std::path::Path::new("/tmp"));
/// eprintln!("{err}");
/// ```
#[macro_export]
macro_rules! execl {
    ($path:expr $(, $arg:expr)* $(,)?) => {
        $crate::exec::execv($path, $crate::__exec_arg_list!($($arg),*))
    };
}

/// `execlp(file, arg0, arg1, ...)`: [`execvp`](crate::exec::execvp) with the arguments
/// listed (PATH search, `/bin/sh` fallback). Evaluates to the `io::Error`.
///
/// ```no_run
/// let err = forkexec::execlp!("echo", "echo", "hello");
/// eprintln!("{err}");
/// ```
#[macro_export]
macro_rules! execlp {
    ($file:expr $(, $arg:expr)* $(,)?) => {
        $crate::exec::execvp($file, $crate::__exec_arg_list!($($arg),*))
    };
}

/// `execle(path, arg0, arg1, ..., envp)`: [`execve`](crate::exec::execve) with the arguments
/// listed; the environment comes after a `;`, as any iterable of `KEY=VALUE` strings.
/// Evaluates to the `io::Error`.
///
/// ```no_run
/// let err = forkexec::execle!("/usr/bin/env", "env"; ["A=1", "B=2"]);
/// eprintln!("{err}");
/// ```
#[macro_export]
macro_rules! execle {
    ($path:expr $(, $arg:expr)* $(,)? ; $envp:expr $(,)?) => {
        $crate::exec::execve($path, $crate::__exec_arg_list!($($arg),*), $envp)
    };
}
