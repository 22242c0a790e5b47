//! The spawn methods the benchmark compares. Each spawns the target once and waits for it.
//!
//! forkexec and std are called through their safe APIs. The reference methods (posix_spawn,
//! fork+execve, the C vfork floor, std's fork path via pre_exec) need raw libc calls: that is
//! the only unsafe code in the CLI, and it lives here.

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
}

impl Method {
    pub const ALL: [Method; 6] = [
        Method::Forkexec,
        Method::Std,
        Method::StdPreExec,
        Method::PosixSpawn,
        Method::ForkExec,
        Method::VforkExec,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Method::Forkexec => "forkexec",
            Method::Std => "std",
            Method::StdPreExec => "std_pre_exec",
            Method::PosixSpawn => "posix_spawn",
            Method::ForkExec => "fork_exec",
            Method::VforkExec => "vfork_exec",
        }
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
    static environ: *const *const c_char;
}

/// Everything prepared once, so each spawn measures only the spawn.
pub struct Spawner {
    method: Method,
    path: CString,
    argv: [*const c_char; 2],
    forkexec: forkexec::Command,
    std: std::process::Command,
}

impl Spawner {
    /// A spawner of `target` by `method`, configured by `configure` for forkexec (and, for
    /// the std methods, `configure_std`).
    pub fn new(
        method: Method,
        target: &std::path::Path,
        configure: &dyn Fn(&mut forkexec::Command),
        configure_std: &dyn Fn(&mut std::process::Command),
    ) -> Spawner {
        let path =
            CString::new(target.as_os_str().as_encoded_bytes()).expect("target path without NUL");
        let mut fe = forkexec::Command::new(target);
        configure(&mut fe);
        let mut std = std::process::Command::new(target);
        configure_std(&mut std);
        if method == Method::StdPreExec {
            // SAFETY: the closure does nothing, so it is trivially async-signal-safe; its only
            // purpose is to force std onto its fork() path.
            unsafe {
                std.pre_exec(|| Ok(()));
            }
        }
        let argv = [path.as_ptr(), std::ptr::null()];
        Spawner {
            method,
            path,
            argv,
            forkexec: fe,
            std,
        }
    }

    /// One spawn + wait. Returns an error message if the spawn or the child failed.
    pub fn spawn_and_wait(&mut self) -> Result<(), String> {
        match self.method {
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

/// Pins this thread (and the children it spawns) to one CPU, for stable figures.
pub fn pin_to_cpu(cpu: usize) -> std::io::Result<()> {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; CPU_SET writes inside it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}
