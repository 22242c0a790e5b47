//! The execve differential tests' machinery: hand-made programs, the real execve in a forked
//! child, the model's prediction for the same call, and the comparison (outcome, errno, final
//! argv; the initial stack for one case).

use forkexec::model::elf_builder::ElfBuilder;
use forkexec::model::plan::{evaluate, ExecPlan, Outcome};
use forkexec::model::stack::{self, AuxValue, HostAux};
use forkexec::model::{Credentials, ExecInput, HostFileSystem};
use std::ffi::CString;
use std::fs;
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

// ---------------------------------------------------------------------------------------------
// Hand-made programs.

/// x86-64 code: write each argv string with its NUL to stdout, then exit(0).
pub const PRINT_ARGS: &[u8] = &[
    0x48, 0x8b, 0x1c, 0x24, //             mov rbx, [rsp]        ; argc
    0x4c, 0x8d, 0x64, 0x24, 0x08, //       lea r12, [rsp+8]      ; &argv[0]
    0x48, 0x85, 0xdb, //                   next: test rbx, rbx
    0x74, 0x29, //                         jz done
    0x49, 0x8b, 0x34, 0x24, //             mov rsi, [r12]
    0x31, 0xd2, //                         xor edx, edx
    0x80, 0x3c, 0x16, 0x00, //             len: cmp byte [rsi+rdx], 0
    0x74, 0x05, //                         je found
    0x48, 0xff, 0xc2, //                   inc rdx
    0xeb, 0xf5, //                         jmp len
    0x48, 0xff, 0xc2, //                   found: inc rdx        ; the NUL too
    0xb8, 0x01, 0x00, 0x00, 0x00, //       mov eax, 1            ; write
    0xbf, 0x01, 0x00, 0x00, 0x00, //       mov edi, 1
    0x0f, 0x05, //                         syscall
    0x49, 0x83, 0xc4, 0x08, //             add r12, 8
    0x48, 0xff, 0xcb, //                   dec rbx
    0xeb, 0xd2, //                         jmp next
    0xb8, 0x3c, 0x00, 0x00, 0x00, //       done: mov eax, 60     ; exit
    0x31, 0xff, //                         xor edi, edi
    0x0f, 0x05, //                         syscall
];

/// x86-64 code: write the bytes from rsp up to 0x7ffffffff000 (the stack top without ASLR).
pub const DUMP_STACK: &[u8] = &[
    0x48, 0x89, 0xe6, //                               mov rsi, rsp
    0x48, 0xba, 0x00, 0xf0, 0xff, 0xff, 0xff, 0x7f, 0x00, 0x00, // mov rdx, 0x7ffffffff000
    0x48, 0x29, 0xe2, //                               sub rdx, rsp
    0xb8, 0x01, 0x00, 0x00, 0x00, //                   mov eax, 1
    0xbf, 0x01, 0x00, 0x00, 0x00, //                   mov edi, 1
    0x0f, 0x05, //                                     syscall
    0xb8, 0x3c, 0x00, 0x00, 0x00, //                   mov eax, 60
    0x31, 0xff, //                                     xor edi, edi
    0x0f, 0x05, //                                     syscall
];

// ---------------------------------------------------------------------------------------------
// Running the real thing, and the model.

#[derive(Debug, PartialEq, Eq)]
pub enum Real {
    /// exec succeeded and the program exited with this code, having printed this.
    Ran { code: i32, out: Vec<u8> },
    /// execve returned this errno.
    Errno(i32),
    /// The process died from this signal (exec passed the point of no return, then failed).
    Killed(i32),
}

#[derive(Clone)]
pub struct Call {
    pub path: Vec<u8>,
    /// `None`: argv = NULL.
    pub argv: Option<Vec<Vec<u8>>>,
    pub envp: Vec<Vec<u8>>,
    pub cwd: PathBuf,
    pub stack_rlimit: Option<Option<u64>>,
    pub no_randomize: bool,
    /// Real and effective (uid, gid) to exec as (supplementary groups unchanged); `None`: ours.
    pub ids: Option<(u32, u32)>,
}

pub fn cstrings(v: &[Vec<u8>]) -> Vec<CString> {
    v.iter()
        .map(|s| CString::new(s.clone()).expect("no NUL in test strings"))
        .collect()
}

pub fn pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: fds is a valid 2-int array; pipe2 fills it with two new fds we then own.
    let r = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    assert_eq!(r, 0, "pipe2");
    // SAFETY: both fds were just returned by pipe2 and are owned by nobody else.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

/// fork + execve, exactly with the given path, argv and envp.
pub fn run_real(c: &Call) -> Real {
    // Everything the child touches is prepared before the fork: it only makes syscalls.
    let path = CString::new(c.path.clone()).expect("path");
    let argv = c.argv.as_ref().map(|a| cstrings(a));
    let mut argv_ptrs: Vec<*const libc::c_char> =
        argv.iter().flatten().map(|s| s.as_ptr()).collect();
    argv_ptrs.push(std::ptr::null());
    let envp = cstrings(&c.envp);
    let mut envp_ptrs: Vec<*const libc::c_char> = envp.iter().map(|s| s.as_ptr()).collect();
    envp_ptrs.push(std::ptr::null());
    let argv_arg = if c.argv.is_some() {
        argv_ptrs.as_ptr()
    } else {
        std::ptr::null()
    };
    let cwd = CString::new(c.cwd.as_os_str().as_bytes()).expect("cwd");
    let rlim = c.stack_rlimit.map(|r| libc::rlimit {
        rlim_cur: r.unwrap_or(libc::RLIM_INFINITY),
        rlim_max: libc::RLIM_INFINITY,
    });
    let (out_r, out_w) = pipe();
    let (err_r, err_w) = pipe();
    // SAFETY: the child calls only async-signal-safe functions (dup2, chdir, setrlimit,
    // personality, setresgid, setresuid, execve, write, _exit) on data prepared above, then
    // exits or execs.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork");
    if pid == 0 {
        // SAFETY: see above; every pointer refers to memory prepared before the fork.
        unsafe {
            libc::dup2(out_w.as_raw_fd(), 1);
            if libc::chdir(cwd.as_ptr()) != 0 {
                libc::_exit(126);
            }
            if let Some(r) = &rlim {
                if libc::setrlimit(libc::RLIMIT_STACK, r) != 0 {
                    libc::_exit(125);
                }
            }
            if c.no_randomize {
                libc::personality(libc::ADDR_NO_RANDOMIZE as libc::c_ulong);
            }
            if let Some((uid, gid)) = c.ids {
                if libc::setresgid(gid, gid, gid) != 0 || libc::setresuid(uid, uid, uid) != 0 {
                    libc::_exit(124);
                }
            }
            libc::execve(path.as_ptr(), argv_arg, envp_ptrs.as_ptr());
            let e = *libc::__errno_location();
            libc::write(err_w.as_raw_fd(), (&e as *const i32).cast(), 4);
            libc::_exit(127);
        }
    }
    drop(out_w);
    drop(err_w);
    let mut out = Vec::new();
    fs::File::from(out_r)
        .read_to_end(&mut out)
        .expect("read stdout");
    let mut err = Vec::new();
    fs::File::from(err_r)
        .read_to_end(&mut err)
        .expect("read errno");
    let mut status = 0;
    // SAFETY: waiting for our own child.
    let w = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(w, pid, "waitpid");
    if err.len() == 4 {
        return Real::Errno(i32::from_ne_bytes([err[0], err[1], err[2], err[3]]));
    }
    if libc::WIFSIGNALED(status) {
        return Real::Killed(libc::WTERMSIG(status));
    }
    Real::Ran {
        code: libc::WEXITSTATUS(status),
        out,
    }
}

/// The credentials the exec of `c` runs with.
pub fn credentials(c: &Call) -> Credentials {
    let mut creds = Credentials::current();
    if let Some((uid, gid)) = c.ids {
        creds.uid = uid;
        creds.euid = uid;
        creds.gid = gid;
        creds.egid = gid;
    }
    creds
}

/// The model's plan for `c`, on this process's filesystem (and binfmt_misc mount).
pub fn model(c: &Call) -> ExecPlan {
    let fs = HostFileSystem::new(Some(&c.cwd)).expect("cwd");
    let rl = rustix::process::getrlimit(rustix::process::Resource::Stack);
    let input = ExecInput {
        program: c.path.clone(),
        argv: c.argv.clone().unwrap_or_default(),
        envp: c.envp.clone(),
        cwd: c.cwd.clone(),
        credentials: credentials(c),
        stack_rlimit: c.stack_rlimit.unwrap_or(rl.current),
    };
    evaluate(&input, &fs)
}

pub fn split_nul(out: &[u8]) -> Vec<Vec<u8>> {
    let body = out.strip_suffix(&[0]).unwrap_or(out);
    if out.is_empty() {
        return Vec::new();
    }
    body.split(|&b| b == 0).map(<[u8]>::to_vec).collect()
}

/// Compares the model with the kernel; `Err` says how they differ.
pub fn agree(plan: &ExecPlan, real: &Real, argv_observable: bool) -> Result<(), String> {
    match (plan.outcome, real) {
        (Outcome::Fails(e), Real::Errno(k)) if e.0 == *k => Ok(()),
        (Outcome::Killed(s), Real::Killed(k)) if s == *k => Ok(()),
        (Outcome::Runs, Real::Ran { code: 0, out }) => {
            if !argv_observable {
                return Ok(());
            }
            let got = split_nul(out);
            if got == plan.argv {
                Ok(())
            } else {
                Err(format!(
                    "argv differs: model {:?}, kernel {:?}",
                    short(&plan.argv),
                    short(&got)
                ))
            }
        }
        _ => Err(format!(
            "model {:?} ({}), kernel {:?}",
            plan.outcome,
            plan.reason,
            match real {
                Real::Ran { code, out } => format!("ran, exit {code}, {} bytes out", out.len()),
                other => format!("{other:?}"),
            }
        )),
    }
}

pub fn short(v: &[Vec<u8>]) -> Vec<String> {
    v.iter()
        .map(|a| {
            if a.len() > 40 {
                format!("{}... ({} bytes)", a[..20].escape_ascii(), a.len())
            } else {
                a.escape_ascii().to_string()
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The cases.

/// A differential run: a temp dir of test files, a program that prints its argv, a loader
/// (a static PIE that does the same), and the verdicts so far.
pub struct World {
    pub dir: PathBuf,
    pub printargs: PathBuf,
    pub ld: PathBuf,
    pub results: Vec<(String, Result<(), String>)>,
    pub skipped: Vec<(String, String)>,
    _tmp: tempfile::TempDir,
}

pub fn write_file(path: &Path, bytes: &[u8], mode: u32) {
    fs::write(path, bytes).expect("write");
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("chmod");
}

/// A path as bytes.
pub fn b(p: &Path) -> Vec<u8> {
    p.as_os_str().as_bytes().to_vec()
}

impl World {
    /// A fresh temp dir with `printargs` and `ld.so` in it.
    pub fn new() -> World {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().canonicalize().expect("canonical tempdir");
        let printargs = dir.join("printargs");
        write_file(&printargs, &ElfBuilder::exec(PRINT_ARGS).bytes(), 0o755);
        let ld = dir.join("ld.so");
        write_file(&ld, &ElfBuilder::pie(PRINT_ARGS).bytes(), 0o755);
        World {
            dir,
            printargs,
            ld,
            results: Vec::new(),
            skipped: Vec::new(),
            _tmp: tmp,
        }
    }

    pub fn call(&self, path: &[u8], args: &[&[u8]]) -> Call {
        let mut argv = vec![path.to_vec()];
        argv.extend(args.iter().map(|a| a.to_vec()));
        Call {
            path: path.to_vec(),
            argv: Some(argv),
            envp: vec![b"A=1".to_vec()],
            cwd: self.dir.clone(),
            stack_rlimit: None,
            no_randomize: false,
            ids: None,
        }
    }

    pub fn check_call(&mut self, name: &str, c: Call, argv_observable: bool) -> ExecPlan {
        let plan = model(&c);
        let real = run_real(&c);
        let verdict = agree(&plan, &real, argv_observable);
        let shown = match &verdict {
            Ok(()) => "agree".to_string(),
            Err(e) => format!("DISAGREE: {e}"),
        };
        println!("{name:<48} {:<34} {shown}", format!("{:?}", plan.outcome));
        self.results.push((name.to_string(), verdict));
        plan
    }

    pub fn check(&mut self, name: &str, path: &[u8], args: &[&[u8]]) -> ExecPlan {
        let c = self.call(path, args);
        self.check_call(name, c, true)
    }

    /// A file in the temp dir with `bytes` and `mode`; returns its path.
    pub fn file(&self, name: &str, bytes: &[u8], mode: u32) -> PathBuf {
        let p = self.dir.join(name);
        write_file(&p, bytes, mode);
        p
    }

    pub fn script(&self, name: &str, line: &[u8]) -> PathBuf {
        let mut body = line.to_vec();
        body.extend_from_slice(b"# body\n");
        self.file(name, &body, 0o755)
    }

    pub fn skip(&mut self, name: &str, why: &str) {
        println!("SKIP: {name}: {why}");
        self.skipped.push((name.to_string(), why.to_string()));
    }

    /// Runs `c` (a program that dumps its stack from rsp to the top, address randomization
    /// off) and compares the dump with the model's initial stack for the same call.
    pub fn check_stack(&mut self, name: &str, c: Call) {
        let plan = model(&c);
        let real = run_real(&c);
        let verdict = match real {
            Real::Ran { code: 0, out } => {
                match forkexec::explain::stack_of(&plan, &HostAux::from_proc()) {
                    Some(l) => {
                        let argc = plan.argv.len();
                        compare_stack(&l, &out, argc, plan.envp.len())
                            .map(|()| format!("{} bytes", out.len()))
                    }
                    None => Err(format!("model has no stack: {}", plan.reason)),
                }
            }
            other => Err(format!("dump program did not run: {other:?}")),
        };
        println!(
            "{name:<48} {:<34} {}",
            verdict.as_deref().unwrap_or("-"),
            match &verdict {
                Ok(_) => "agree".to_string(),
                Err(e) => format!("DISAGREE: {e}"),
            }
        );
        self.results.push((name.into(), verdict.map(|_| ())));
    }

    /// Prints the tally and fails when any case disagreed or fewer than `min_cases` ran.
    pub fn finish(self, min_cases: usize) {
        let failed: Vec<_> = self.results.iter().filter(|(_, r)| r.is_err()).collect();
        println!(
            "{} cases, {} agree, {} disagree, {} skipped",
            self.results.len(),
            self.results.len() - failed.len(),
            failed.len(),
            self.skipped.len()
        );
        for (n, r) in &failed {
            println!("  {n}: {}", r.as_ref().err().cloned().unwrap_or_default());
        }
        assert!(
            self.results.len() >= min_cases,
            "only {} cases ran",
            self.results.len()
        );
        assert!(failed.is_empty(), "{} cases disagree", failed.len());
    }
}

// ---------------------------------------------------------------------------------------------
// The initial stack.

pub fn compare_stack(
    l: &stack::StackLayout,
    dump: &[u8],
    argc: usize,
    envc: usize,
) -> Result<(), String> {
    let model_size = (l.top - l.rsp) as usize;
    if dump.len() != model_size {
        return Err(format!(
            "top - rsp: kernel {}, model {model_size}",
            dump.len()
        ));
    }
    let word = |off: usize| -> u64 {
        let mut a = [0u8; 8];
        a.copy_from_slice(&dump[off..off + 8]);
        u64::from_le_bytes(a)
    };
    let at = |addr: u64| (addr - l.rsp) as usize;
    if word(0) != argc as u64 {
        return Err(format!("argc {}", word(0)));
    }
    // Every pointer and string the model places must be where the kernel put it.
    for it in &l.items {
        let off = at(it.addr);
        let Some(v) = &it.value else { continue };
        if it.label.ends_with(']') || it.label == "argc  <- rsp" || it.label.ends_with("NULL") {
            let want = if let Some(hex) = v.strip_prefix("0x") {
                u64::from_str_radix(hex, 16).map_err(|e| e.to_string())?
            } else {
                v.parse::<u64>().map_err(|e| e.to_string())?
            };
            if word(off) != want {
                return Err(format!(
                    "{}: kernel {:#x}, model {want:#x}",
                    it.label,
                    word(off)
                ));
            }
        } else if it.label.ends_with("string") {
            let bytes = &dump[off..off + it.size as usize];
            if bytes.last() != Some(&0) {
                return Err(format!("{} not NUL-terminated at {off}", it.label));
            }
        }
    }
    // The auxv: same keys in the same order, same values where they are known numbers.
    let aux_start = 8 * (1 + argc + 1 + envc + 1);
    for (i, (k, v)) in l.auxv.iter().enumerate() {
        let key = word(aux_start + 16 * i);
        let val = word(aux_start + 16 * i + 8);
        if key != *k {
            return Err(format!(
                "auxv[{i}] key: kernel {key}, model {k} ({})",
                stack::aux_name(*k)
            ));
        }
        match v {
            AuxValue::Value(n) | AuxValue::Stack(n) if *n != val => {
                return Err(format!(
                    "{}: kernel {val:#x}, model {n:#x}",
                    stack::aux_name(*k)
                ));
            }
            _ => {}
        }
    }
    Ok(())
}
