//! The spawn methods the benchmark compares. Each spawns the target once and waits for it;
//! the async ones spawn a batch of them at once on a tokio runtime (async_batch.rs).
//!
//! forkexec and std are called through their safe APIs; bubblewrap is a program (bwrap.rs)
//! that only ever runs the sandbox scenario. The reference methods (posix_spawn,
//! fork+execve, the two C floors, std's fork path via pre_exec) need raw libc calls. With the
//! ballast's mapping (ballast.rs), the CPU affinity calls (cpus.rs) and std's sandbox steps
//! (std_sandbox.rs), that is the only unsafe code in the CLI.

use super::async_batch::AsyncBatch;
use super::bwrap::{self, Bubblewrap};
use super::scenarios::StdSteps;
use super::std_sandbox;
use std::ffi::CString;
use std::os::raw::c_char;
use std::os::unix::process::CommandExt;

/// A spawn method, by its id in the table and the JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Forkexec,
    Std,
    StdPreExec,
    PosixSpawn,
    ForkExec,
    VforkExec,
    VforkPidfd,
    /// forkexec::tokio, a batch at once (the async scenarios).
    ForkexecTokio,
    /// tokio::process, a batch at once (the async scenarios).
    TokioProcess,
    Bwrap,
}

impl Method {
    pub const ALL: [Method; 10] = [
        Method::Forkexec,
        Method::Std,
        Method::StdPreExec,
        Method::PosixSpawn,
        Method::ForkExec,
        Method::VforkExec,
        Method::VforkPidfd,
        Method::ForkexecTokio,
        Method::TokioProcess,
        Method::Bwrap,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Method::Forkexec => "forkexec",
            Method::Std => "std",
            Method::StdPreExec => "std_pre_exec",
            Method::PosixSpawn => "posix_spawn",
            Method::ForkExec => "fork_exec",
            Method::VforkExec => "vfork_exec",
            Method::VforkPidfd => "vfork_pidfd",
            Method::ForkexecTokio => "forkexec_tokio",
            Method::TokioProcess => "tokio",
            Method::Bwrap => "bwrap",
        }
    }

    /// What the method is, for the table's legend and the plot.
    pub fn label(self) -> &'static str {
        match self {
            Method::Forkexec => "forkexec",
            Method::Std => "std (posix_spawn path)",
            Method::StdPreExec => "std with pre_exec (fork path)",
            Method::PosixSpawn => "posix_spawn (glibc)",
            Method::ForkExec => "fork + execve",
            Method::VforkExec => "vfork + execve in C (bare floor)",
            Method::VforkPidfd => "clone3 vfork + pidfd in C (fair floor)",
            Method::ForkexecTokio => "forkexec::tokio, 100 at once",
            Method::TokioProcess => "tokio::process, 100 at once",
            Method::Bwrap => "bubblewrap (bwrap)",
        }
    }

    /// Whether it can spawn any program as it is: every method but bubblewrap, which always
    /// builds a sandbox and so runs only where a scenario asks for one, and the async ones,
    /// which run only their own scenarios.
    pub fn spawns_bare_programs(self) -> bool {
        self != Method::Bwrap && !self.is_async()
    }

    /// Why it cannot run on this machine, if it cannot: bubblewrap not installed, or the fair
    /// floor under an emulated kernel without clone3 (every profile: it is the C replica of
    /// forkexec's clone3 path, and has no fallback by design).
    pub fn unavailable(self, profile: Option<forkexec_emulate::Profile>) -> Option<String> {
        match (self, profile) {
            (Method::Bwrap, _) => bwrap::locate().err(),
            (Method::VforkPidfd, Some(p)) if p.lacks().clone3.is_some() => Some(format!(
                "it calls clone3 with CLONE_PIDFD, which the emulated kernel {} refuses",
                p.name()
            )),
            _ => None,
        }
    }

    /// Whether it spawns a batch at once on a tokio runtime (the async scenarios only).
    pub fn is_async(self) -> bool {
        matches!(self, Method::ForkexecTokio | Method::TokioProcess)
    }

    pub fn from_id(s: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.id() == s)
    }
}

extern "C" {
    fn forkexec_bench_vfork_exec(
        path: *const c_char,
        argv: *const *const c_char,
        envp: *const *const c_char,
    ) -> libc::pid_t;
    fn forkexec_bench_vfork_pidfd(
        path: *const c_char,
        argv: *const *const c_char,
        envp: *const *const c_char,
        stack: *mut libc::c_void,
        stack_size: libc::size_t,
    ) -> libc::c_int;
    static environ: *const *const c_char;
}

/// Everything prepared once, so each spawn measures only the spawn.
pub struct Spawner {
    method: Method,
    path: CString,
    argv: [*const c_char; 2],
    forkexec: forkexec::Command,
    std: std::process::Command,
    /// bwrap with the sandbox's command line (only for the bwrap method).
    bwrap: Option<Bubblewrap>,
    /// The fair floor's child stack (only vfork_pidfd uses it), one per spawner and so per thread.
    floor_stack: Vec<u8>,
    /// The runtime and Command of an async method.
    batch: Option<AsyncBatch>,
}

/// The fair floor's child needs a few hundred bytes; forkexec's cached stack is 128 KiB.
const FLOOR_STACK: usize = 64 * 1024;

impl Spawner {
    /// A spawner of `program` by `method`, forkexec configured by `configure`, std's fork
    /// path given `std_steps` to do in its pre_exec closure; bwrap builds the sandbox of
    /// `StdSteps::Sandbox` (it runs no other scenario). An error if an async method's runtime
    /// cannot be built.
    pub fn new(
        method: Method,
        program: &std::path::Path,
        configure: &dyn Fn(&mut forkexec::Command),
        std_steps: &StdSteps,
    ) -> Result<Spawner, String> {
        let path = CString::new(program.as_os_str().as_encoded_bytes()).expect("path without NUL");
        let mut fe = forkexec::Command::new(program);
        configure(&mut fe);
        let mut std = std::process::Command::new(program);
        // tokio::process spawns through std: the plain scenario keeps std's posix_spawn path.
        let tokio_steps = method == Method::TokioProcess && !matches!(std_steps, StdSteps::Nothing);
        if method == Method::StdPreExec || tokio_steps {
            add_std_steps(&mut std, std_steps);
        }
        let batch = match method {
            Method::ForkexecTokio => {
                let mut cmd = forkexec::Command::new(program);
                configure(&mut cmd);
                Some(AsyncBatch::forkexec(cmd)?)
            }
            Method::TokioProcess => Some(AsyncBatch::tokio(std::mem::replace(
                &mut std,
                std::process::Command::new(program),
            ))?),
            _ => None,
        };
        let argv = [path.as_ptr(), std::ptr::null()];
        let bwrap = match (method, std_steps) {
            (Method::Bwrap, StdSteps::Sandbox(steps)) => Some(Bubblewrap::new(steps, program)?),
            (Method::Bwrap, _) => return Err("bwrap runs only the sandbox scenario".into()),
            _ => None,
        };
        let floor_stack = if method == Method::VforkPidfd {
            vec![0u8; FLOOR_STACK]
        } else {
            Vec::new()
        };
        Ok(Spawner {
            method,
            path,
            argv,
            forkexec: fe,
            std,
            bwrap,
            floor_stack,
            batch,
        })
    }

    /// How many times the worker calls it untimed before measuring (to warm the page cache
    /// and the thread's child stack, and to check that it works): an async call is a whole
    /// batch, and with tokio::process's fork path at 8 GiB one takes ~20 s.
    pub fn warm_up_calls(&self) -> usize {
        if self.method.is_async() {
            1
        } else {
            5
        }
    }

    /// One spawn + wait (a batch of them for an async method). Returns an error message if
    /// the spawn or the child failed.
    pub fn spawn_and_wait(&mut self) -> Result<(), String> {
        match self.method {
            Method::ForkexecTokio | Method::TokioProcess => {
                self.batch.as_mut().expect("made for this method").run()
            }
            Method::Forkexec => {
                let st = self.forkexec.status().map_err(|e| e.to_string())?;
                check(st.success(), "forkexec")
            }
            Method::Std | Method::StdPreExec => {
                let st = self.std.status().map_err(|e| e.to_string())?;
                check(st.success(), "std")
            }
            Method::PosixSpawn => {
                let mut pid: libc::pid_t = 0;
                // SAFETY: path and argv are valid NUL-terminated data owned by self; null file
                // actions and attributes mean defaults; environ is the process environment.
                let rc = unsafe {
                    libc::posix_spawn(
                        &mut pid,
                        self.path.as_ptr(),
                        std::ptr::null(),
                        std::ptr::null(),
                        self.argv.as_ptr() as *const *mut c_char,
                        environ as *const *mut c_char,
                    )
                };
                if rc != 0 {
                    return Err(format!("posix_spawn: errno {rc}"));
                }
                wait_ok(pid)
            }
            Method::ForkExec => {
                // SAFETY: in the child only async-signal-safe calls follow (execve, _exit), on
                // data prepared before the fork.
                let pid = unsafe { libc::fork() };
                if pid == 0 {
                    // SAFETY: as above.
                    unsafe {
                        libc::execve(self.path.as_ptr(), self.argv.as_ptr(), environ);
                        libc::_exit(127);
                    }
                }
                if pid < 0 {
                    return Err(format!("fork: {}", std::io::Error::last_os_error()));
                }
                wait_ok(pid)
            }
            Method::VforkExec => {
                // SAFETY: the C function vforks and the child only execs or _exits.
                let pid = unsafe {
                    forkexec_bench_vfork_exec(self.path.as_ptr(), self.argv.as_ptr(), environ)
                };
                if pid < 0 {
                    return Err(format!("vfork: {}", std::io::Error::last_os_error()));
                }
                wait_ok(pid)
            }
            Method::VforkPidfd => {
                // SAFETY: path, argv and environ are valid NUL-terminated data; the stack is this
                // spawner's own, and the C function returns only after the child exec'd or exited
                // (CLONE_VFORK), so no child runs on it afterwards.
                let status = unsafe {
                    forkexec_bench_vfork_pidfd(
                        self.path.as_ptr(),
                        self.argv.as_ptr(),
                        environ,
                        self.floor_stack.as_mut_ptr().cast(),
                        self.floor_stack.len(),
                    )
                };
                if status < 0 {
                    return Err(format!(
                        "vfork_pidfd: {}",
                        std::io::Error::from_raw_os_error(-status)
                    ));
                }
                check(status == 0, "child")
            }
            Method::Bwrap => self
                .bwrap
                .as_mut()
                .ok_or("bwrap without a sandbox")?
                .spawn_and_wait(),
        }
    }
}

fn check(ok: bool, what: &str) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(format!("{what}: the target did not exit 0"))
    }
}

fn wait_ok(pid: libc::pid_t) -> Result<(), String> {
    let mut status = 0;
    loop {
        // SAFETY: waiting for our own child; status is a valid out pointer.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r == pid {
            break;
        }
        if std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            return Err(format!("waitpid: {}", std::io::Error::last_os_error()));
        }
    }
    check(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "child",
    )
}

/// Gives std's Command a pre_exec closure doing the scenario's steps with raw libc calls on
/// data prepared here (std runs it in the forked child, before exec).
fn add_std_steps(cmd: &mut std::process::Command, steps: &StdSteps) {
    fn check(rc: libc::c_int) -> std::io::Result<()> {
        if rc < 0 {
            Err(std::io::Error::last_os_error())
        } else {
            Ok(())
        }
    }
    match steps {
        StdSteps::Nothing => {
            // SAFETY: an empty closure is trivially async-signal-safe; it only forces the fork path.
            unsafe {
                cmd.pre_exec(|| Ok(()));
            }
        }
        StdSteps::Attrs { root, id, fd } => {
            let (root, id, fd) = (root.clone(), *id, *fd);
            // SAFETY: the closure calls only async-signal-safe functions (setsid, setrlimit,
            // umask, dup2, chroot, chdir, setgroups, setgid, setuid) on data captured before the
            // fork; it allocates nothing.
            unsafe {
                cmd.pre_exec(move || {
                    check(libc::setsid())?;
                    let nofile = libc::rlimit {
                        rlim_cur: 256,
                        rlim_max: 256,
                    };
                    check(libc::setrlimit(libc::RLIMIT_NOFILE, &nofile))?;
                    let core = libc::rlimit {
                        rlim_cur: 0,
                        rlim_max: 0,
                    };
                    check(libc::setrlimit(libc::RLIMIT_CORE, &core))?;
                    libc::umask(0o077);
                    check(libc::dup2(fd, 3))?;
                    check(libc::chroot(root.as_ptr()))?;
                    check(libc::chdir(c"/".as_ptr()))?;
                    check(libc::setgroups(0, std::ptr::null()))?;
                    check(libc::setgid(id))?;
                    check(libc::setuid(id))?;
                    Ok(())
                });
            }
        }
        StdSteps::SessionAndIds { id } => {
            cmd.uid(*id).gid(*id);
            // SAFETY: setsid is async-signal-safe and the closure allocates nothing.
            unsafe {
                cmd.pre_exec(|| check(libc::setsid()));
            }
        }
        StdSteps::Userns { uid_map, gid_map } => {
            let (uid_map, gid_map) = (uid_map.clone(), gid_map.clone());
            // SAFETY: unshare, open, write and close are async-signal-safe; the strings were
            // prepared before the fork. std cannot put the program itself in a new pid
            // namespace (that needs a second fork), so this is the nearest equivalent.
            unsafe {
                cmd.pre_exec(move || {
                    check(libc::unshare(
                        libc::CLONE_NEWUSER | libc::CLONE_NEWNS | libc::CLONE_NEWPID,
                    ))?;
                    for (file, text) in [
                        (c"/proc/self/uid_map", uid_map.as_c_str()),
                        (c"/proc/self/setgroups", c"deny"),
                        (c"/proc/self/gid_map", gid_map.as_c_str()),
                    ] {
                        let fd = libc::open(file.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
                        check(fd)?;
                        let n = text.to_bytes().len();
                        let w = libc::write(fd, text.as_ptr().cast(), n);
                        libc::close(fd);
                        if w != n as isize {
                            return Err(std::io::Error::last_os_error());
                        }
                    }
                    Ok(())
                });
            }
        }
        StdSteps::Sandbox(steps) => std_sandbox::add(cmd, steps),
    }
}
