//! The exec family against the C library's own.
//!
//! Each case is a small directory tree (scripts, non-executable files, directories, symlinks)
//! and a PATH. Every function runs the case twice, each time in a forked child: once through
//! glibc (`libc::execvp`, `libc::execvpe`, ...) and once through forkexec. The child reports
//! the errno its exec call returned through a pipe; a program that ran appends a line naming
//! itself, its `$0`, its arguments and `$MARK` to the case's `ran` file. Both must agree, and
//! for execvp the outcome is also checked against what the case expects, so a case whose
//! setup went wrong cannot pass by failing the same way twice.
//!
//! About the forked children: the test process has several threads, so a child may only do
//! what is safe after fork. The glibc side is given C arrays built before the fork and makes
//! only libc calls that do not allocate. The forkexec side calls the public, allocating
//! functions (that is what is being compared): this is sound here because glibc's fork leaves
//! malloc usable in the child, and no test in this binary writes the environment, so std's
//! environment lock is never held by a writer at a fork. The caller's environment of a case
//! (its PATH, or none) is installed in the child by pointing `environ` at a prepared array:
//! the test process's own environment is never changed.

use forkexec::exec::{self, AtFlags, CStringArray, Exec};
use std::ffi::{CStr, CString, OsStr, OsString};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::raw::c_char;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};

extern "C" {
    static mut environ: *const *const c_char;
}

/// Held for writing while a test file is open for writing, and for reading around each fork.
/// A child forked while another thread has a script open for writing inherits that fd and
/// keeps it until its own exec; exec'ing the script meanwhile fails with ETXTBSY (Go's
/// well-known race). No fork may happen while a file is being written.
static FORK_VS_WRITE: std::sync::RwLock<()> = std::sync::RwLock::new(());

/// The errno slot's value when forkexec refused the input before any exec (InvalidInput).
const REFUSED: i32 = -1;
/// Exit status of a child whose exec call returned.
const RETURNED: i32 = 100;

/// What a child did.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    /// The errno the exec call returned with; `None` if it did not return (a program ran).
    errno: Option<i32>,
    /// The lines programs appended to the case's `ran` file.
    ran: String,
    /// The child's exit code (RETURNED after a failed exec), or 1000 + signal.
    status: i32,
}

fn os(s: &str) -> OsString {
    OsString::from(s)
}

fn cstr(s: &OsStr) -> CString {
    CString::new(s.as_bytes()).expect("no NUL in compared cases")
}

fn carray(items: &[OsString]) -> CStringArray {
    CStringArray::try_from_os(items, "test").expect("no NUL in compared cases")
}

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

fn our_errno(e: std::io::Error) -> i32 {
    match e.raw_os_error() {
        Some(n) => n,
        None if e.kind() == std::io::ErrorKind::InvalidInput => REFUSED,
        None => -2,
    }
}

/// A case: a temporary tree, the caller's PATH, the cwd, the file name and argv.
struct Case {
    dir: tempfile::TempDir,
    path: Option<OsString>,
    cwd: PathBuf,
    file: OsString,
    argv: Vec<OsString>,
}

impl Case {
    /// An empty tree, PATH unset, cwd = the tree, file "prog", argv = [file, "a1", "a2"].
    fn new() -> Case {
        let dir = tempfile::tempdir().unwrap();
        let cwd = dir.path().to_path_buf();
        Case {
            dir,
            path: None,
            cwd,
            file: os("prog"),
            argv: vec![os("prog"), os("a1"), os("a2")],
        }
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    /// `rel` under the tree, as a string (for expected `$0` values).
    fn at(&self, rel: &str) -> String {
        self.root().join(rel).to_str().unwrap().to_owned()
    }

    fn mkdir(self, rel: &str) -> Self {
        std::fs::create_dir_all(self.root().join(rel)).unwrap();
        self
    }

    fn write(self, rel: &str, body: &str, mode: u32) -> Self {
        let p = self.root().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        let guard = FORK_VS_WRITE.write().unwrap();
        std::fs::write(&p, body).unwrap();
        drop(guard);
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        self
    }

    /// The line a program tagged `tag` appends to `ran`.
    fn line(&self, tag: &str) -> String {
        format!(
            "echo \"{tag} 0=$0 args=$* MARK=${{MARK-unset}}\" >> '{}'\n",
            self.at("ran")
        )
    }

    /// A `#!/bin/sh` script.
    fn script(self, rel: &str, tag: &str, mode: u32) -> Self {
        let body = format!("#!/bin/sh\n{}", self.line(tag));
        self.write(rel, &body, mode)
    }

    /// A shell script without `#!`: execve says ENOEXEC, execvp runs it under /bin/sh.
    fn no_shebang(self, rel: &str, tag: &str, mode: u32) -> Self {
        let body = self.line(tag);
        self.write(rel, &body, mode)
    }

    fn symlink(self, rel: &str, target: &str) -> Self {
        symlink(target, self.root().join(rel)).unwrap();
        self
    }

    /// PATH elements: relative ones are under the tree, "" stays empty (the cwd).
    fn path(mut self, elems: &[&str]) -> Self {
        let parts: Vec<String> = elems
            .iter()
            .map(|e| match *e {
                "" => String::new(),
                e if e.starts_with('/') => e.to_owned(),
                e => self.at(e),
            })
            .collect();
        self.path = Some(os(&parts.join(":")));
        self
    }

    fn raw_path(mut self, path: OsString) -> Self {
        self.path = Some(path);
        self
    }

    fn cwd(mut self, rel: &str) -> Self {
        self.cwd = self.root().join(rel);
        self
    }

    fn file(mut self, file: impl Into<OsString>) -> Self {
        self.file = file.into();
        self.argv[0] = self.file.clone();
        self
    }

    fn argv(mut self, argv: &[&str]) -> Self {
        self.argv = argv.iter().map(|a| os(a)).collect();
        self
    }

    /// The environment the child runs with: MARK=caller and the case's PATH (if set).
    fn caller_env(&self) -> CStringArray {
        let mut env = vec![os("MARK=caller")];
        if let Some(p) = &self.path {
            let mut kv = os("PATH=");
            kv.push(p);
            env.push(kv);
        }
        carray(&env)
    }

    /// Runs `call` in a forked child set up for this case; collects what happened.
    fn in_child(&self, call: &dyn Fn() -> i32) -> Outcome {
        let cwd = cstr(self.cwd.as_os_str());
        let env = self.caller_env();
        let mut fds = [0; 2];
        // SAFETY: `fds` has room for the two descriptors pipe2 writes.
        assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
        let (r, w) = (fds[0], fds[1]);
        let guard = FORK_VS_WRITE.read().unwrap();
        // SAFETY: the child below only makes libc calls that are safe after fork, sets
        // `environ` and runs `call` (see the module comment), then _exits: it never returns
        // into the test harness.
        let pid = unsafe { libc::fork() };
        drop(guard);
        assert!(pid >= 0, "fork: {}", errno());
        if pid == 0 {
            // SAFETY: plain syscalls on our own fds and a NUL-terminated path; `environ` is
            // pointed at an array that lives until this process execs or exits.
            unsafe {
                libc::close(r);
                if libc::chdir(cwd.as_ptr()) != 0 {
                    libc::_exit(101);
                }
                std::ptr::addr_of_mut!(environ).write(env.as_ptr());
            }
            let e = std::panic::catch_unwind(std::panic::AssertUnwindSafe(call)).unwrap_or(-3);
            // SAFETY: writing 4 bytes from a live i32, then ending the child.
            unsafe {
                libc::write(w, (&e as *const i32).cast(), 4);
                libc::_exit(RETURNED);
            }
        }
        // SAFETY: closing our copy of the write end, so the read below sees EOF.
        unsafe { libc::close(w) };
        let mut buf = [0u8; 4];
        let mut got = 0;
        while got < 4 {
            // SAFETY: reading into the rest of a live buffer.
            let n = unsafe { libc::read(r, buf[got..].as_mut_ptr().cast(), 4 - got) };
            if n <= 0 {
                break;
            }
            got += n as usize;
        }
        let mut st = 0;
        // SAFETY: our fd; a live status int.
        unsafe {
            libc::close(r);
            assert_eq!(libc::waitpid(pid, &mut st, 0), pid);
        }
        let status = if libc::WIFEXITED(st) {
            libc::WEXITSTATUS(st)
        } else {
            1000 + libc::WTERMSIG(st)
        };
        let ran_file = self.root().join("ran");
        let ran = std::fs::read_to_string(&ran_file).unwrap_or_default();
        let _ = std::fs::remove_file(&ran_file);
        Outcome {
            errno: (got == 4).then(|| i32::from_ne_bytes(buf)),
            ran,
            status,
        }
    }
}

/// The environment the `e` functions pass: its PATH must not be the one searched.
fn explicit_env() -> Vec<OsString> {
    vec![
        os("MARK=envp"),
        os("PATH=/forkexec-envp-path-is-not-searched"),
    ]
}

/// One function of the family, as glibc has it and as forkexec has it.
#[derive(Clone, Copy, Debug)]
enum Func {
    Execvp,
    Execvpe,
    Execlp,
    Execv,
    Execve,
    Execl,
    Execle,
    /// execvp without the shell fallback: glibc's posix_spawnp (which uses execvp's search
    /// without the fallback) against `Exec::new(..).shell_fallback(false)`.
    NoShell,
}

const ALL: [Func; 8] = [
    Func::Execvp,
    Func::Execvpe,
    Func::Execlp,
    Func::Execv,
    Func::Execve,
    Func::Execl,
    Func::Execle,
    Func::NoShell,
];

impl Func {
    /// Calls glibc's function; returns errno (only reached on failure).
    fn glibc(self, file: &CStr, argv: &CStringArray, envp: &CStringArray) -> i32 {
        let f = file.as_ptr();
        let a = argv.as_ptr();
        let e = envp.as_ptr();
        let (a0, a1, a2) = (
            argv.get(0).unwrap().as_ptr(),
            argv.get(1).unwrap().as_ptr(),
            argv.get(2).unwrap().as_ptr(),
        );
        let null: *const c_char = std::ptr::null();
        // SAFETY: every pointer is a NUL-terminated string or a NULL-terminated array built
        // before the fork; the list forms get exactly argv's three strings and the NULL.
        unsafe {
            match self {
                Func::Execvp => libc::execvp(f, a),
                Func::Execvpe => libc::execvpe(f, a, e),
                Func::Execlp => libc::execlp(f, a0, a1, a2, null),
                Func::Execv => libc::execv(f, a),
                Func::Execve => libc::execve(f, a, e),
                Func::Execl => libc::execl(f, a0, a1, a2, null),
                Func::Execle => libc::execle(f, a0, a1, a2, null, e),
                Func::NoShell => {
                    let mut pid = 0;
                    let rc = libc::posix_spawnp(
                        &mut pid,
                        f,
                        std::ptr::null(),
                        std::ptr::null(),
                        a.cast(),
                        environ.cast(),
                    );
                    if rc != 0 {
                        return rc;
                    }
                    // It ran: end like a child whose exec succeeded, with the program's status.
                    let mut st = 0;
                    libc::waitpid(pid, &mut st, 0);
                    libc::_exit(libc::WEXITSTATUS(st));
                }
            }
        };
        errno()
    }

    /// Calls forkexec's function; returns the errno, or REFUSED.
    fn ours(self, file: &OsStr, argv: &[OsString], envp: &[OsString]) -> i32 {
        let e = match self {
            Func::Execvp => exec::execvp(file, argv),
            Func::Execvpe => exec::execvpe(file, argv, envp),
            Func::Execlp => forkexec::execlp!(file, argv[0], argv[1], argv[2]),
            Func::Execv => exec::execv(file, argv),
            Func::Execve => exec::execve(file, argv, envp),
            Func::Execl => forkexec::execl!(file, argv[0], argv[1], argv[2]),
            Func::Execle => forkexec::execle!(file, argv[0], argv[1], argv[2]; envp),
            Func::NoShell => Exec::new(file).argv(argv).shell_fallback(false).exec(),
        };
        our_errno(e)
    }
}

/// Runs every function on `case` through glibc and through forkexec, asserts they agree,
/// and returns execvp's outcome.
fn compare(case: &Case) -> Outcome {
    let file = cstr(&case.file);
    let argv = carray(&case.argv);
    let env_list = explicit_env();
    let envp = carray(&env_list);
    let mut execvp_outcome = None;
    for f in ALL {
        let theirs = case.in_child(&|| f.glibc(&file, &argv, &envp));
        let ours = case.in_child(&|| f.ours(&case.file, &case.argv, &env_list));
        assert_eq!(
            ours, theirs,
            "{f:?} on file {:?} with PATH {:?}: forkexec (left) differs from glibc (right)",
            case.file, case.path
        );
        if matches!(f, Func::Execvp) {
            execvp_outcome = Some(ours);
        }
    }
    execvp_outcome.unwrap()
}

fn assert_errno(o: &Outcome, want: i32) {
    assert_eq!(o.errno, Some(want), "{o:?}");
    assert_eq!(o.ran, "", "nothing may run: {o:?}");
}

fn assert_ran(o: &Outcome, want: &str) {
    assert_eq!(o.errno, None, "{o:?}");
    assert_eq!(o.ran, want, "{o:?}");
    assert_eq!(o.status, 0, "{o:?}");
}

#[test]
fn missing_program_is_enoent() {
    let c = Case::new().mkdir("a").path(&["a", "nope"]);
    assert_errno(&compare(&c), libc::ENOENT);
}

#[test]
fn empty_name_is_enoent() {
    let c = Case::new().script("prog", "x", 0o755).path(&[""]).file("");
    assert_errno(&compare(&c), libc::ENOENT);
}

#[test]
fn not_executable_is_eacces() {
    let c = Case::new().script("a/prog", "a", 0o644).path(&["a"]);
    assert_errno(&compare(&c), libc::EACCES);
}

#[test]
fn directory_is_eacces() {
    let c = Case::new().mkdir("a/prog").path(&["a"]);
    assert_errno(&compare(&c), libc::EACCES);
}

#[test]
fn empty_element_leading_is_the_cwd() {
    let c = Case::new()
        .script("here/prog", "cwd", 0o755)
        .script("b/prog", "b", 0o755)
        .cwd("here")
        .path(&["", "b"]);
    let o = compare(&c);
    // The bare name, relative to the cwd: no "./" is added.
    assert_ran(&o, "cwd 0=prog args=a1 a2 MARK=caller\n");
}

#[test]
fn empty_element_trailing_is_the_cwd() {
    let c = Case::new()
        .script("here/prog", "cwd", 0o755)
        .cwd("here")
        .path(&["nope", ""]);
    assert_ran(&compare(&c), "cwd 0=prog args=a1 a2 MARK=caller\n");
}

#[test]
fn empty_path_value_is_the_cwd() {
    let c = Case::new()
        .script("here/prog", "cwd", 0o755)
        .cwd("here")
        .raw_path(os(""));
    assert_ran(&compare(&c), "cwd 0=prog args=a1 a2 MARK=caller\n");
}

#[test]
fn unset_path_searches_bin_and_usr_bin() {
    let c = Case::new();
    let cmd = format!("echo \"unset-path $0\" >> '{}'", c.at("ran"));
    let c = c.file("sh").argv(&["sh", "-c", &cmd]);
    assert_ran(&compare(&c), "unset-path sh\n");
}

#[test]
fn unset_path_missing_program_is_enoent() {
    let c = Case::new().file("forkexec-no-such-program");
    assert_errno(&compare(&c), libc::ENOENT);
}

#[test]
fn eacces_then_later_success_runs_the_later_one() {
    let c = Case::new()
        .script("a/prog", "a", 0o644)
        .script("b/prog", "b", 0o755)
        .path(&["a", "b"]);
    let want = format!("b 0={} args=a1 a2 MARK=caller\n", c.at("b/prog"));
    assert_ran(&compare(&c), &want);
}

#[test]
fn eacces_only_wins_over_a_later_enoent() {
    let c = Case::new()
        .script("a/prog", "a", 0o644)
        .path(&["a", "nope"]);
    assert_errno(&compare(&c), libc::EACCES);
}

#[test]
fn enoexec_without_shebang_runs_under_bin_sh() {
    // cwd = a, so that execv("prog") finds the same file (and reports ENOEXEC).
    let c = Case::new()
        .no_shebang("a/prog", "nosb", 0o755)
        .cwd("a")
        .path(&["a"]);
    let want = format!("nosb 0={} args=a1 a2 MARK=caller\n", c.at("a/prog"));
    assert_ran(&compare(&c), &want);
}

#[test]
fn enoexec_with_a_slash_runs_under_bin_sh_too() {
    let c = Case::new()
        .no_shebang("a/prog", "nosb", 0o755)
        .cwd("a")
        .path(&["nope"])
        .file("./prog");
    assert_ran(&compare(&c), "nosb 0=./prog args=a1 a2 MARK=caller\n");
}

#[test]
fn name_with_slash_is_not_searched() {
    let c = Case::new()
        .script("a/prog", "a", 0o755)
        .script("b/prog", "b", 0o755)
        .path(&["b"])
        .file("a/prog");
    assert_ran(&compare(&c), "a 0=a/prog args=a1 a2 MARK=caller\n");
}

fn long_name_case(len: usize) -> Case {
    let name = "x".repeat(len);
    let c = Case::new().mkdir("a");
    let c = if len <= 255 {
        c.script(&format!("a/{name}"), "long", 0o755)
    } else {
        c
    };
    c.cwd("a").path(&["nope", "a"]).file(name)
}

#[test]
fn name_of_254_bytes_runs() {
    let c = long_name_case(254);
    let want = format!(
        "long 0={}/{} args=a1 a2 MARK=caller\n",
        c.at("a"),
        "x".repeat(254)
    );
    assert_ran(&compare(&c), &want);
}

#[test]
fn name_of_255_bytes_runs() {
    // NAME_MAX itself is a valid file name: glibc searches for it (and so do we).
    let c = long_name_case(255);
    let want = format!(
        "long 0={}/{} args=a1 a2 MARK=caller\n",
        c.at("a"),
        "x".repeat(255)
    );
    assert_ran(&compare(&c), &want);
}

#[test]
fn name_of_256_bytes_is_enametoolong() {
    let c = long_name_case(256);
    assert_errno(&compare(&c), libc::ENAMETOOLONG);
}

#[test]
fn enotdir_component_goes_on() {
    let c = Case::new()
        .write("file", "not a directory", 0o644)
        .script("b/prog", "b", 0o755)
        .path(&["file", "b"]);
    let want = format!("b 0={} args=a1 a2 MARK=caller\n", c.at("b/prog"));
    assert_ran(&compare(&c), &want);
}

#[test]
fn enotdir_only_is_enotdir() {
    let c = Case::new()
        .write("file", "not a directory", 0o644)
        .path(&["file"]);
    assert_errno(&compare(&c), libc::ENOTDIR);
}

#[test]
fn symlink_loop_stops_the_search() {
    // ELOOP is not one of the errnos that go on: b/prog is never tried.
    let c = Case::new()
        .symlink("loop", "loop")
        .script("b/prog", "b", 0o755)
        .path(&["loop", "b"]);
    assert_errno(&compare(&c), libc::ELOOP);
}

#[test]
fn path_longer_than_path_max_is_walked_to_the_end() {
    let c = Case::new().script("b/prog", "b", 0o755);
    let mut path = OsString::new();
    while path.len() < 5000 {
        path.push(c.at("nope"));
        path.push(":");
    }
    path.push(c.at("b"));
    let want = format!("b 0={} args=a1 a2 MARK=caller\n", c.at("b/prog"));
    let c = c.raw_path(path);
    assert_ran(&compare(&c), &want);
}

#[test]
fn execvpe_passes_envp_but_searches_the_callers_path() {
    let c = Case::new().script("b/prog", "b", 0o755).path(&["b"]);
    let envp = explicit_env();
    let o = c.in_child(&|| our_errno(exec::execvpe(&c.file, &c.argv, &envp)));
    let want = format!("b 0={} args=a1 a2 MARK=envp\n", c.at("b/prog"));
    assert_ran(&o, &want);
}

#[test]
fn nul_bytes_are_refused_before_any_exec() {
    // C cannot express these (its string would end at the NUL), so there is no glibc side:
    // forkexec refuses them with InvalidInput and nothing runs.
    let c = Case::new()
        .script("b/prog", "b", 0o755)
        .script("b/pr", "pr", 0o755)
        .path(&["b"]);
    let env = explicit_env();
    let bad_name = OsString::from_vec(b"pr\0og".to_vec());
    let bad_arg = [os("prog"), OsString::from_vec(b"a\0b".to_vec())];
    let bad_env = [OsString::from_vec(b"A=\0".to_vec())];
    let calls: [&dyn Fn() -> std::io::Error; 6] = [
        &|| exec::execvp(&bad_name, &c.argv),
        &|| exec::execvpe("prog", &bad_arg, &env),
        &|| exec::execve(c.at("b/prog"), &c.argv, &bad_env),
        &|| forkexec::execl!(&bad_name, "pr"),
        &|| exec::fexecve(std::io::stdin(), &bad_arg, &env),
        &|| exec::execveat(rustix::fs::CWD, &bad_name, &c.argv, &env, AtFlags::empty()),
    ];
    for (i, call) in calls.iter().enumerate() {
        let o = c.in_child(&|| our_errno(call()));
        assert_eq!(o.errno, Some(REFUSED), "call {i}: {o:?}");
        assert_eq!(o.ran, "", "call {i}");
    }
    // The message says where the NUL is.
    let e = exec::execvpe("prog", &bad_arg, &env);
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
    assert!(e.to_string().contains("argv[1]"), "{e}");
}

/// `open` without O_CLOEXEC (std always sets it), for fexecve of scripts.
fn open_inheritable(path: &str, flags: rustix::fs::OFlags) -> OwnedFd {
    rustix::fs::open(path, flags, rustix::fs::Mode::empty()).unwrap()
}

#[test]
fn fexecve_and_execveat_match_glibc() {
    use rustix::fs::OFlags;
    let c = Case::new()
        .script("prog", "p", 0o755)
        .script("noexec", "n", 0o644)
        .mkdir("dir")
        .symlink("link", "prog");
    let script = open_inheritable(&c.at("prog"), OFlags::RDONLY);
    let script_cloexec = open_inheritable(&c.at("prog"), OFlags::RDONLY | OFlags::CLOEXEC);
    let noexec = open_inheritable(&c.at("noexec"), OFlags::RDONLY | OFlags::CLOEXEC);
    let dir = open_inheritable(&c.at("dir"), OFlags::RDONLY | OFlags::DIRECTORY);
    let root = open_inheritable(&c.at(""), OFlags::PATH | OFlags::DIRECTORY);
    let elf = open_inheritable("/bin/sh", OFlags::RDONLY | OFlags::CLOEXEC);

    let argv = vec![os("prog"), os("a1"), os("a2")];
    let sh_cmd = format!("echo \"elf $0 MARK=$MARK\" >> '{}'", c.at("ran"));
    let sh_argv = vec![os("sh"), os("-c"), os(&sh_cmd)];
    let env = explicit_env();
    let envp = carray(&env);
    let nofollow = AtFlags::SYMLINK_NOFOLLOW;
    let empty = AtFlags::EMPTY_PATH;
    let abs = c.at("prog");
    let p = |s: &str| format!("p 0={s} args=a1 a2 MARK=envp\n");

    // (what, fd, path: None = fexecve, argv, flags, expected errno or expected ran line)
    type Row<'a> = (
        &'a str,
        &'a OwnedFd,
        Option<&'a str>,
        &'a Vec<OsString>,
        AtFlags,
        Result<String, i32>,
    );
    let rows: Vec<Row> = vec![
        (
            "fexecve script",
            &script,
            None,
            &argv,
            empty,
            Ok(p(&format!("/dev/fd/{}", script.as_raw_fd()))),
        ),
        // The interpreter would get /dev/fd/N, closed by then: the kernel says ENOENT.
        (
            "fexecve cloexec script",
            &script_cloexec,
            None,
            &argv,
            empty,
            Err(libc::ENOENT),
        ),
        (
            "fexecve not executable",
            &noexec,
            None,
            &argv,
            empty,
            Err(libc::EACCES),
        ),
        (
            "fexecve directory",
            &dir,
            None,
            &argv,
            empty,
            Err(libc::EACCES),
        ),
        (
            "fexecve elf",
            &elf,
            None,
            &sh_argv,
            empty,
            Ok("elf sh MARK=envp\n".into()),
        ),
        (
            "execveat relative",
            &root,
            Some("prog"),
            &argv,
            AtFlags::empty(),
            Ok(p(&format!("/dev/fd/{}/prog", root.as_raw_fd()))),
        ),
        (
            "execveat absolute",
            &root,
            Some(&abs),
            &argv,
            AtFlags::empty(),
            Ok(p(&abs)),
        ),
        (
            "execveat symlink",
            &root,
            Some("link"),
            &argv,
            AtFlags::empty(),
            Ok(p(&format!("/dev/fd/{}/link", root.as_raw_fd()))),
        ),
        (
            "execveat symlink nofollow",
            &root,
            Some("link"),
            &argv,
            nofollow,
            Err(libc::ELOOP),
        ),
        (
            "execveat empty path",
            &script,
            Some(""),
            &argv,
            empty,
            Ok(p(&format!("/dev/fd/{}", script.as_raw_fd()))),
        ),
        (
            "execveat empty path without flag",
            &root,
            Some(""),
            &argv,
            AtFlags::empty(),
            Err(libc::ENOENT),
        ),
        (
            "execveat file as dirfd",
            &script_cloexec,
            Some("x"),
            &argv,
            AtFlags::empty(),
            Err(libc::ENOTDIR),
        ),
        (
            "execveat bad flag",
            &root,
            Some("prog"),
            &argv,
            AtFlags::REMOVEDIR,
            Err(libc::EINVAL),
        ),
    ];
    for (what, fd, path, argv, flags, want) in rows {
        let cargv = carray(argv);
        let cpath = path.map(|s| CString::new(s).unwrap());
        let raw = fd.as_raw_fd();
        let theirs = c.in_child(&|| {
            // SAFETY: live C arrays built before the fork; `raw` is open in the child.
            unsafe {
                match &cpath {
                    None => libc::fexecve(raw, cargv.as_ptr(), envp.as_ptr()),
                    Some(p) => libc::execveat(
                        raw,
                        p.as_ptr(),
                        cargv.as_ptr().cast(),
                        envp.as_ptr().cast(),
                        flags.bits() as i32,
                    ),
                }
            };
            errno()
        });
        let ours = c.in_child(&|| {
            our_errno(match path {
                None => exec::fexecve(fd, argv, &env),
                Some(p) => exec::execveat(fd, p, argv, &env, flags),
            })
        });
        assert_eq!(
            ours, theirs,
            "{what}: forkexec (left) differs from glibc (right)"
        );
        match want {
            Ok(line) => assert_ran(&ours, &line),
            Err(e) => assert_errno(&ours, e),
        }
    }
}

#[test]
fn exec_builder_options() {
    let c = Case::new()
        .no_shebang("a/prog", "nosb", 0o755)
        .script("b/prog", "b", 0o755)
        .path(&["nope"]);
    // A given search PATH replaces the caller's.
    let o = c.in_child(&|| {
        let mut e = Exec::new("prog");
        e.argv(["prog", "a1", "a2"]).search_path(Some(c.at("b")));
        our_errno(e.exec())
    });
    assert_ran(
        &o,
        &format!("b 0={} args=a1 a2 MARK=caller\n", c.at("b/prog")),
    );
    // musl rules: still the bare name for an empty element, and no shell when turned off.
    let o = c.in_child(&|| {
        let mut e = Exec::new("prog");
        e.rules(exec::SearchRules::Musl)
            .shell_fallback(false)
            .search_path(Some(c.at("a")));
        our_errno(e.exec())
    });
    assert_errno(&o, libc::ENOEXEC);
    // The fallback is a separate choice from the rules: musl rules with the shell on.
    let o = c.in_child(&|| {
        let mut e = Exec::new("prog");
        e.rules(exec::SearchRules::Musl)
            .search_path(Some(c.at("a")));
        our_errno(e.exec())
    });
    assert_ran(
        &o,
        &format!("nosb 0={} args= MARK=caller\n", c.at("a/prog")),
    );
    // execve semantics: the name as given, never searched.
    let o = c.in_child(&|| {
        let mut e = Exec::new("prog");
        e.path_lookup(forkexec::PathLookup::Off)
            .search_path(Some(c.at("b")));
        our_errno(e.exec())
    });
    assert_errno(&o, libc::ENOENT);
    // Errors known before any exec come from prepare, as raw errnos.
    let long = "y".repeat(256);
    let e = Exec::new(&long).prepare().unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::ENAMETOOLONG));
    let e = Exec::new("").prepare().unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::ENOENT));
}
