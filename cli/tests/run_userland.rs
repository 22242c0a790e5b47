//! Spawning through the userland loader against the kernel's execve: each program runs through
//! `forkexec::Command` with the kernel loader, with `Loader::Userland`, and from memory with
//! `program_bytes`, and what the child shows (its stdout: argv, envp, auxv, /proc/self/maps,
//! status, fd, exe, cmdline; its exit status) must be the same. Errors must carry the errno
//! the kernel gives for the same file, at the step `load`.
//!
//! Lives in the CLI package for the C test programs of the loader's own tests
//! (tests/load/*.c) and for `forkexec run --userland`.

use forkexec::{Command, Loader, Stdio};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Output;

mod loader_support;
// The library's tiny test programs (its tests' toolkit, tests/support).
#[path = "../../tests/support/programs.rs"]
#[allow(dead_code)]
mod programs;

use loader_support::{
    compile_source as compile, is_root, may_replace_exe, retrying_etxtbsy, write_file as write_exe,
};

const FORKEXEC: &str = env!("CARGO_BIN_EXE_forkexec");

/// How the child starts its program.
#[derive(Clone, Copy, Debug, PartialEq)]
enum How {
    /// execve.
    Kernel,
    /// The userland loader, from the file.
    Userland,
    /// The userland loader, from the file's bytes read here.
    Memory,
}

const ALL: [How; 3] = [How::Kernel, How::Userland, How::Memory];

/// A command for `prog` started the way `how` says (for Memory, `prog` is read here and its
/// name given as the program).
fn command(how: How, prog: &Path) -> Command {
    let mut cmd = Command::new(prog);
    match how {
        How::Kernel => {}
        How::Userland => {
            cmd.loader(Loader::Userland);
        }
        How::Memory => {
            cmd.program_bytes(std::fs::read(prog).unwrap());
        }
    }
    cmd
}

/// Held by every test: they run one at a time, so that counting this process's fds means
/// something, and a file one test writes is never held open for writing by another test's
/// child.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs `cmd` for its output (again while the file is ETXTBSY).
fn run(cmd: &mut Command) -> forkexec::Result<Output> {
    retrying_etxtbsy(|| cmd.output(), forkexec::Error::raw_os_error)
}

/// `prog args` started each way in `hows`, with `set_up` applied to each command; asserts
/// that stdout and the exit status are the kernel loader's; returns the kernel's output.
fn same_each_way(
    hows: &[How],
    prog: &Path,
    args: &[&str],
    set_up: impl Fn(&mut Command),
) -> Output {
    let outputs: Vec<(How, Output)> = hows
        .iter()
        .map(|&how| {
            let mut cmd = command(how, prog);
            cmd.args(args)
                .env_clear()
                .env("A", "1")
                .env("LONGER", "a value");
            set_up(&mut cmd);
            let out = run(&mut cmd).unwrap_or_else(|e| panic!("{how:?} {prog:?}: {e}"));
            (how, out)
        })
        .collect();
    let (_, kernel) = &outputs[0];
    assert_eq!(hows[0], How::Kernel);
    for (how, out) in &outputs[1..] {
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&kernel.stdout),
            "stdout of {prog:?} {args:?}, {how:?} against the kernel; stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), kernel.status.code(), "{how:?} {prog:?}");
        assert_eq!(
            out.status.signal(),
            kernel.status.signal(),
            "{how:?} {prog:?}"
        );
    }
    kernel.clone()
}

// A bug that leaves the stub's argv strings in place, gets an auxv value wrong (AT_PHDR,
// AT_ENTRY, AT_BASE, AT_EXECFN), loses the environment or a segment's bytes, or leaves the
// heap where the kernel would not put it shows here as a difference in what report.c prints.
#[test]
fn static_static_pie_and_dynamic_programs_see_what_the_kernel_gives_them() {
    let _serial = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let flavours = [
        ("static", &["-static"][..], false),
        ("static-pie", &["-static-pie"][..], false),
        ("dynamic", &[][..], true),
    ];
    for (name, flags, dynamic) in flavours {
        let Some(prog) = compile(dir.path(), "report.c", name, flags) else {
            continue;
        };
        let out = same_each_way(&ALL, &prog, &["first", "second arg"], |_| {});
        let text = String::from_utf8_lossy(&out.stdout);
        // The report says the interesting things were there (and equal, by the above).
        assert!(text.contains("argv[2] second arg\n"), "{text}");
        assert!(text.contains("env A=1\nenv LONGER=a value\n"), "{text}");
        assert!(
            text.contains("aux 3 set 1\n") && text.contains("aux 9 set 1\n"),
            "{text}"
        );
        let execfn = format!("aux 31 \"{}\"\n", prog.display());
        assert!(text.contains(&execfn), "AT_EXECFN: {text}");
        let base = format!("aux 7 set {}\n", u8::from(dynamic));
        assert!(text.contains(&base), "AT_BASE: {text}");
        assert!(text.contains("random bytes set 1\n"), "{text}");
        assert!(text.contains("proc auxv matches 1\n"), "{text}");
        assert!(text.contains("brk after bss 1\n"), "{text}");
        let cmdline = format!("cmdline [{}] [first] [second arg]\n", prog.display());
        assert!(text.contains(&cmdline), "{text}");
        assert!(text.contains("heap ok\nbss zero 1\n"), "{text}");
        assert_eq!(out.status.code(), Some(43));
    }
}

/// /proc/self/maps as a sorted list of (size, permissions, offset, name) for file mappings
/// and (permissions, name) for the others: what a program's address space holds, without the
/// addresses (randomized) or the sizes of the stack and heap (which grow).
fn mapping_kinds(maps: &str) -> Vec<String> {
    let mut kinds: Vec<String> = maps
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let (range, perms, offset, name) = (f.first()?, f.get(1)?, f.get(2)?, f.get(5));
            let (a, b) = range.split_once('-')?;
            let size = u64::from_str_radix(b, 16).ok()? - u64::from_str_radix(a, 16).ok()?;
            Some(match name {
                Some(n) if n.starts_with('/') => format!("{size:#x} {perms} {offset} {n}"),
                Some(n) => format!("{perms} {n}"),
                None => format!("{perms} (anonymous)"),
            })
        })
        .collect();
    kinds.sort();
    kinds
}

// A stub page, payload mapping, trampoline page or file left mapped, or a segment mapped with
// other permissions, offsets or sizes than the kernel's, shows in the maps; a loader fd left
// open shows in /proc/self/fd; an exe not handed over shows in /proc/self/exe.
#[test]
fn maps_fds_and_exe_are_the_kernels() {
    let _serial = one_at_a_time();
    let cat = Path::new("/bin/cat");
    let show = |how, what: &str| {
        let out = run(command(how, cat).arg(what)).unwrap();
        assert!(out.status.success(), "{how:?} cat {what}");
        String::from_utf8(out.stdout).unwrap()
    };
    let kernel = mapping_kinds(&show(How::Kernel, "/proc/self/maps"));
    assert_eq!(
        mapping_kinds(&show(How::Userland, "/proc/self/maps")),
        kernel
    );
    assert!(kernel.iter().any(|k| k.ends_with("[stack]")), "{kernel:?}");
    // From memory the program's own segments are anonymous; everything else is the same.
    let memory = mapping_kinds(&show(How::Memory, "/proc/self/maps"));
    let without_cat = |kinds: &[String]| -> Vec<String> {
        kinds
            .iter()
            .filter(|k| !k.contains("(anonymous)") && !k.ends_with("/cat"))
            .cloned()
            .collect()
    };
    assert_eq!(without_cat(&memory), without_cat(&kernel));
    assert!(
        memory
            .iter()
            .all(|k| !k.contains("cat") && !k.contains("memfd")),
        "{memory:?}"
    );

    let ls_fds = |how| {
        let out = run(command(how, Path::new("/bin/ls")).arg("/proc/self/fd")).unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    for how in [How::Userland, How::Memory] {
        assert_eq!(ls_fds(how), ls_fds(How::Kernel), "{how:?}");
    }

    let exe = |how| {
        let out = run(command(how, Path::new("/bin/readlink")).arg("/proc/self/exe")).unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    let real = std::fs::canonicalize("/bin/readlink").unwrap();
    assert_eq!(exe(How::Kernel).trim_end(), real.to_str().unwrap());
    if may_replace_exe() {
        assert_eq!(exe(How::Userland), exe(How::Kernel));
    } else {
        println!("SKIP: /proc/self/exe of a userland spawn from a file: without CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE it names the stub");
    }
    // From memory there is no file: the stub's memfd stays the exe.
    assert_eq!(
        exe(How::Memory).trim_end(),
        "/memfd:forkexec-loader (deleted)"
    );
}

// A program from memory must leave no file holding its bytes: a memfd of the program (what
// fexecve users do) would show in the fd table, the maps or behind /proc/PID/exe.
#[test]
fn a_program_from_memory_is_in_no_file() {
    let _serial = one_at_a_time();
    use std::io::Read;
    // Writes a byte to stdout once it runs, then waits for its stdin to close.
    let bytes = std::fs::read(&programs::programs().pipe_probe).unwrap();
    let mut child = Command::new("probe")
        .program_bytes(bytes.clone())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut byte = [0u8];
    child
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut byte)
        .unwrap();
    assert_eq!(&byte, b"x", "the program runs");
    let pid = child.id();
    let proc = |what: &str| format!("/proc/{pid}/{what}");
    assert_eq!(std::fs::read_to_string(proc("comm")).unwrap(), "probe\n");
    let maps = std::fs::read_to_string(proc("maps")).unwrap();
    let program = maps.lines().find(|l| l.starts_with("00400000-")).unwrap();
    assert_eq!(
        program.split_whitespace().count(),
        5,
        "anonymous: {program}"
    );
    assert!(!maps.contains("memfd"), "{maps}");
    let fds: Vec<_> = std::fs::read_dir(proc("fd"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    let mut fds = fds;
    fds.sort();
    assert_eq!(fds, ["0", "1", "2"]);
    // /proc/PID/exe opens the stub's memfd: the loader's bytes, not the program's.
    let link = std::fs::read_link(proc("exe")).unwrap();
    assert_eq!(link, Path::new("/memfd:forkexec-loader (deleted)"));
    let exe = std::fs::read(proc("exe")).unwrap();
    assert!(
        exe.starts_with(b"\x7fELF") && exe.len() < 64 << 10,
        "{} bytes",
        exe.len()
    );
    assert_ne!(exe, bytes);
    drop(child.stdin.take());
    // The probe exits with its argc.
    assert_eq!(child.wait().unwrap().code(), Some(1));
}

// A bug in the `#!` path (the wrong argv for the interpreter, the script's path lost, a
// script from memory run anyway) shows as output or errno that differ from the kernel's.
#[test]
fn scripts_run_their_interpreter_as_the_kernel_does() {
    let _serial = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let plain = write_exe(
        dir.path(),
        "plain",
        b"#!/bin/sh\necho \"$0\" \"$@\"\n",
        0o755,
    );
    let with_arg = write_exe(
        dir.path(),
        "with-arg",
        b"#!/bin/sh -e\necho \"$0\" \"$#\"\n",
        0o755,
    );
    let nested = write_exe(
        dir.path(),
        "nested",
        format!("#!{}\n", plain.display()).as_bytes(),
        0o755,
    );
    for script in [&plain, &with_arg, &nested] {
        let how = [How::Kernel, How::Userland];
        let out = same_each_way(&how, script, &["one", "two words"], |_| {});
        assert!(!out.stdout.is_empty(), "{script:?}");
    }
    let e = run(&mut command(How::Memory, &plain)).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::ENOEXEC), "{e}");
    assert_eq!(e.step_name(), "load");
}

/// The errno each way, or None when it ran.
fn errno_each_way(prog: &Path, args: &[&str], hows: &[How]) -> Vec<Option<i32>> {
    hows.iter()
        .map(|&how| match run(command(how, prog).args(args)) {
            Ok(_) => None,
            Err(e) => {
                let step = if how == How::Kernel { "exec" } else { "load" };
                assert_eq!(e.step_name(), step, "{how:?} {prog:?}: {e}");
                if how != How::Kernel {
                    let text = e.to_string();
                    assert!(text.starts_with("failed to load "), "{text}");
                }
                e.raw_os_error()
            }
        })
        .collect()
}

// Each bad file gives the kernel's errno: a loader that judges a file differently, or
// reports a failure at the wrong step or with another errno, fails here.
#[test]
fn bad_files_give_the_kernels_errno_at_the_load_step() {
    let _serial = one_at_a_time();
    use forkexec::model::elf_builder::ElfBuilder;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // mov eax, 231; syscall (exit_group(0)).
    let exit0 = [0xb8, 0xe7, 0, 0, 0, 0x0f, 0x05];
    let good = ElfBuilder::exec(&exit0);
    let i386 = ElfBuilder {
        machine: 3,
        ..good.clone()
    };
    let cases: Vec<(&str, PathBuf, Option<i32>)> = vec![
        ("missing", d.join("missing"), Some(libc::ENOENT)),
        ("a directory", d.to_path_buf(), Some(libc::EACCES)),
        (
            "no x bit",
            write_exe(d, "nox", &good.bytes(), 0o644),
            Some(libc::EACCES),
        ),
        (
            "garbage",
            write_exe(d, "garbage", b"hello world\n", 0o755),
            Some(libc::ENOEXEC),
        ),
        (
            "truncated ELF",
            write_exe(d, "short", &good.bytes()[..40], 0o755),
            Some(libc::ENOEXEC),
        ),
        (
            "i386",
            write_exe(d, "i386", &i386.bytes(), 0o755),
            Some(libc::ENOEXEC),
        ),
        (
            "missing interpreter",
            write_exe(
                d,
                "interp",
                &good.clone().with_interp(b"/nonexistent/ld.so").bytes(),
                0o755,
            ),
            Some(libc::ENOENT),
        ),
        (
            "#! with a missing interpreter",
            write_exe(d, "script", b"#!/nonexistent/sh\n", 0o755),
            Some(libc::ENOENT),
        ),
        ("good", write_exe(d, "good", &good.bytes(), 0o755), None),
    ];
    for (what, path, want) in &cases {
        let got = errno_each_way(path, &[], &[How::Kernel, How::Userland]);
        assert_eq!(got, [*want, *want], "{what}: kernel, userland");
    }
    // Arguments that do not fit the child's stack: the kernel's E2BIG at the stub's exec.
    let good = &cases.last().unwrap().1;
    let huge = "x".repeat(100_000);
    let args = vec![huge.as_str(); 30];
    let got = errno_each_way(good, &args, &ALL);
    assert_eq!(got, [Some(libc::E2BIG); 3]);
}

// The stub reports what fails after the kernel's point of no return (where execve kills the
// process) as an errno at the load step: a stub that crashed or a lost answer would show as
// a spawn that succeeds, or as another errno.
#[test]
fn a_failure_after_the_kernels_point_of_no_return_is_an_errno() {
    let _serial = one_at_a_time();
    use forkexec::model::elf_builder::ElfBuilder;
    let dir = tempfile::tempdir().unwrap();
    // A 2 GiB bss under a 512 MiB address space limit.
    let big = ElfBuilder {
        bss: 2 << 30,
        load_flags: 4 | 2 | 1,
        ..ElfBuilder::exec(&[0xb8, 0xe7, 0, 0, 0, 0x0f, 0x05])
    };
    let prog = write_exe(dir.path(), "big", &big.bytes(), 0o755);
    let limit = |cmd: &mut Command| {
        cmd.rlimit("as", 512 << 20, 512 << 20);
    };
    let mut kernel = command(How::Kernel, &prog);
    limit(&mut kernel);
    let status = run(&mut kernel).unwrap().status;
    assert_eq!(
        status.signal(),
        Some(libc::SIGSEGV),
        "the kernel: {status:?}"
    );
    for how in [How::Userland, How::Memory] {
        let mut cmd = command(how, &prog);
        limit(&mut cmd);
        let e = run(&mut cmd).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ENOMEM), "{how:?}: {e}");
        assert_eq!(e.step_name(), "load");
        assert!(e.to_string().contains("the program"), "{e}");
    }
}

// The child sequence runs before the load as before an exec: a step skipped, done after the
// load, or undone by it (credentials, working directory, umask, limits, mask, ignored
// signals, session, the fd map) shows as a difference in what the child sees.
#[test]
fn attributes_apply_before_the_load() {
    let _serial = one_at_a_time();
    if !is_root() {
        println!("SKIP: attributes_apply_before_the_load needs root (uid/gid changes)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let probe = "grep -E '^(Uid|Gid|Groups|SigBlk|SigIgn|NoNewPrivs):' /proc/self/status; \
                 umask; pwd; ulimit -n; ls /proc/self/fd; cat <&9; \
                 set -- $(cat /proc/$$/stat); echo leads $(($5 == $$)) $(($6 == $$))";
    let set_up = |cmd: &mut Command| {
        let (r, w) = rustix::pipe::pipe().unwrap();
        rustix::io::write(&w, b"through fd 9\n").unwrap();
        drop(w);
        let stdin = rustix::io::dup(std::io::stdin()).unwrap();
        cmd.uid(65534)
            .gid(65534)
            .groups(&[])
            .current_dir(dir.path())
            .umask(0o027)
            .rlimit("nofile", 200, 200)
            .signal_mask("USR1,USR2")
            .ignore_signals("HUP")
            .setsid(true)
            .no_new_privs(true)
            .fd(9, r)
            .fd(100, stdin);
    };
    let sh = Path::new("/bin/sh");
    let out = same_each_way(
        &[How::Kernel, How::Userland, How::Memory],
        sh,
        &["-c", probe],
        set_up,
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Uid:\t65534"), "{text}");
    assert!(text.contains("NoNewPrivs:\t1"), "{text}");
    assert!(text.contains("0027\n"), "{text}");
    assert!(text.contains("\n200\n"), "{text}");
    assert!(text.contains("through fd 9\n"), "{text}");
    assert!(
        text.contains("leads 1 1\n"),
        "session and group leader: {text}"
    );
}

// `pre_exec` closures run in the forked child before its exec: before the stub's, whose
// address space then replaces the fork's copy; what they change reaches the program.
#[test]
fn pre_exec_closures_run_before_the_load() {
    let _serial = one_at_a_time();
    let set_up = |cmd: &mut Command| {
        // SAFETY: setrlimit is async-signal-safe.
        unsafe {
            cmd.pre_exec(|| {
                let lim = libc::rlimit {
                    rlim_cur: 123,
                    rlim_max: 123,
                };
                match libc::setrlimit(libc::RLIMIT_NOFILE, &lim) {
                    0 => Ok(()),
                    _ => Err(std::io::Error::last_os_error()),
                }
            });
        }
    };
    let sh = Path::new("/bin/sh");
    let out = same_each_way(&ALL, sh, &["-c", "ulimit -n"], set_up);
    assert_eq!(out.stdout, b"123\n");
    for how in ALL {
        let mut cmd = command(how, sh);
        // SAFETY: returns an error only.
        unsafe {
            cmd.pre_exec(|| Err(std::io::Error::from_raw_os_error(libc::EPERM)));
        }
        let e = run(&mut cmd).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EPERM), "{how:?}: {e}");
    }
}

// The files are opened by the parent, so their permissions must be judged for the ids the
// child will have: a loader that judged them as the parent (root) would run a root-only
// program as nobody.
#[test]
fn files_are_judged_for_the_ids_the_program_runs_with() {
    let _serial = one_at_a_time();
    if !is_root() {
        println!("SKIP: files_are_judged_for_the_ids_the_program_runs_with needs root");
        return;
    }
    use forkexec::model::elf_builder::ElfBuilder;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let bytes = ElfBuilder::exec(&[0xb8, 0xe7, 0, 0, 0, 0x0f, 0x05]).bytes();
    let nobody = |cmd: &mut Command| {
        cmd.uid(65534).gid(65534).groups(&[]);
    };
    let errnos = |prog: &Path| -> Vec<Option<i32>> {
        [How::Kernel, How::Userland]
            .iter()
            .map(|&how| {
                let mut cmd = command(how, prog);
                nobody(&mut cmd);
                run(&mut cmd).err().and_then(|e| e.raw_os_error())
            })
            .collect()
    };
    let root_only = write_exe(dir.path(), "root-only", &bytes, 0o700);
    assert_eq!(errnos(&root_only), [Some(libc::EACCES); 2]);
    let everyone = write_exe(dir.path(), "everyone", &bytes, 0o755);
    assert_eq!(errnos(&everyone), [None, None]);
    // Execute-only for nobody: the kernel maps it unread; a userland loader would have to
    // read it for nobody, who may not (the documented difference).
    let execute_only = write_exe(dir.path(), "execute-only", &bytes, 0o711);
    assert_eq!(errnos(&execute_only), [None, Some(libc::EACCES)]);
    // Relative paths start in the child's working directory, as the kernel resolves them
    // after the chdir.
    let relative = |how| {
        let mut cmd = command(how, Path::new("./everyone"));
        cmd.current_dir(dir.path());
        run(&mut cmd).map(|o| o.status.code())
    };
    assert_eq!(
        relative(How::Userland).unwrap(),
        relative(How::Kernel).unwrap()
    );
}

// The stub's memfd is made once, at whatever fd number was free: a child whose fd map puts
// another file at that number must still exec the stub, not that file.
#[test]
fn the_stub_is_found_whatever_the_fd_map_puts_at_its_number() {
    let _serial = one_at_a_time();
    run(&mut command(How::Userland, Path::new("/bin/true"))).unwrap();
    let memfd: i32 = std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| {
            let e = e.ok()?;
            let target = std::fs::read_link(e.path()).ok()?;
            let stub = target
                .to_string_lossy()
                .starts_with("/memfd:forkexec-loader");
            stub.then(|| e.file_name().to_str()?.parse().ok())?
        })
        .next()
        .expect("the stub's memfd is open after a userland spawn");
    let (r, w) = rustix::pipe::pipe().unwrap();
    drop(w);
    let mut cmd = command(How::Userland, Path::new("/bin/ls"));
    cmd.arg("/proc/self/fd").fd(memfd, r);
    let out = run(&mut cmd).unwrap();
    assert!(out.status.success());
    let listed = String::from_utf8(out.stdout).unwrap();
    assert!(listed.lines().any(|l| l == memfd.to_string()), "{listed}");
}

// What the loader cannot honour is refused before any process exists, with the reason.
#[test]
fn chroot_and_ptrace_are_refused_with_the_reason() {
    let _serial = one_at_a_time();
    let chroot: fn(&mut Command) = |c| {
        c.chroot("/");
    };
    let ptrace: fn(&mut Command) = |c| {
        c.ptrace(true);
    };
    for (what, set_up) in [("chroot", chroot), ("ptrace", ptrace)] {
        let mut cmd = command(How::Userland, Path::new("/bin/true"));
        set_up(&mut cmd);
        let e = cmd.status().unwrap_err();
        assert_eq!(e.stage(), forkexec::ErrorStage::InvalidInput, "{what}: {e}");
        assert!(e.to_string().contains("userland loader"), "{e}");
    }
}

// Every socket end, file and stub fd of a spawn is closed in the parent (the stub's memfd,
// made once, excepted), spawns from several threads at once included.
#[test]
fn no_fd_is_left_behind_in_the_parent() {
    let _serial = one_at_a_time();
    let count = || std::fs::read_dir("/proc/self/fd").unwrap().count();
    // The first spawn makes the stub's memfd; the count is taken after it.
    run(&mut command(How::Userland, Path::new("/bin/true"))).unwrap();
    let before = count();
    std::thread::scope(|s| {
        for t in 0..4 {
            s.spawn(move || {
                for i in 0..25 {
                    let how = if (t + i) % 2 == 0 {
                        How::Userland
                    } else {
                        How::Memory
                    };
                    let out = run(&mut command(how, Path::new("/bin/true"))).unwrap();
                    assert!(out.status.success());
                    let e = run(&mut command(How::Userland, Path::new("/nonexistent/true")));
                    assert!(e.is_err());
                }
            });
        }
    });
    // Other tests run in parallel threads of this process: their fds come and go. Wait a
    // little for them to settle, and accept nothing more than ours would have left.
    let mut after = count();
    for _ in 0..50 {
        if after <= before {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
        after = count();
    }
    assert!(
        after <= before,
        "{before} fds before, {after} after 200 spawns"
    );
}

// The command line: `run --userland` exits as `run` does (127 not found, 126 not loadable, 2
// for what it refuses), and `--memory` runs the bytes.
#[test]
fn run_userland_on_the_command_line() {
    let _serial = one_at_a_time();
    let forkexec = |args: &[&str]| {
        std::process::Command::new(FORKEXEC)
            .arg("run")
            .args(args)
            .output()
            .unwrap()
    };
    let o = forkexec(&["--userland", "--", "echo", "hi"]);
    assert_eq!(o.stdout, b"hi\n");
    let o = forkexec(&["--userland", "--memory", "--", "echo", "from memory"]);
    assert_eq!(o.stdout, b"from memory\n");
    let o = forkexec(&["--userland", "--", "/nonexistent"]);
    assert_eq!(o.status.code(), Some(127));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("failed to load \"/nonexistent\""),
        "{stderr}"
    );
    let o = forkexec(&["--userland", "--", "/etc/passwd"]);
    assert_eq!(o.status.code(), Some(126));
    let o = forkexec(&["--userland", "--memory", "--", "/nonexistent"]);
    assert_eq!(o.status.code(), Some(127));
    let o = forkexec(&["--userland", "--chroot", "/", "--", "true"]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = forkexec(&["--memory", "--", "true"]);
    assert_eq!(o.status.code(), Some(2), "--memory needs --userland");
    // `exec` replaces forkexec: the userland loader does that as `forkexec load`.
    let o = std::process::Command::new(FORKEXEC)
        .args(["exec", "--userland", "--", "true"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("userland loader"), "{stderr}");
}

// The sandbox steps of the child sequence happen before the stub's exec and hold for the
// program: its terminal is the pty (read by tty(1) through the supervisor's relay), the
// seccomp filter denies its mkdir, a joined pid namespace is its own (/proc/self/ns/pid, its
// pid there). What the loader cannot honour, because the parent opens the files, is refused:
// Landlock (when the kernel path takes the same ruleset) and joining a mount namespace.
#[test]
fn sandbox_steps_apply_before_the_load() {
    let _serial = one_at_a_time();
    let forkexec = |args: &[&str]| {
        std::process::Command::new(FORKEXEC)
            .arg("run")
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    let denied = dir.path().join("denied");
    let script = format!("tty; mkdir {} || echo no mkdir", denied.display());
    for loader in [&[][..], &["--userland"][..]] {
        let mut args = loader.to_vec();
        args.extend(["--pty", "--seccomp-deny", "mkdir,mkdirat", "--"]);
        args.extend(["/bin/sh", "-c", &script]);
        let o = forkexec(&args);
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert!(o.status.success(), "{loader:?}: {o:?}");
        assert!(stdout.starts_with("/dev/pts/"), "{loader:?}: {stdout}");
        assert!(stdout.contains("no mkdir"), "{loader:?}: {stdout}");
        assert!(!denied.exists());
    }

    let o = forkexec(&["--landlock-read", "/", "--", "/bin/true"]);
    if o.status.success() {
        let o = forkexec(&["--userland", "--landlock-read", "/", "--", "/bin/true"]);
        assert_eq!(o.status.code(), Some(2), "{o:?}");
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(
            stderr.contains("landlock with the userland loader"),
            "{stderr}"
        );
    } else {
        println!("SKIP (Landlock): the kernel path refuses it here too: {o:?}");
    }
    let own = format!("{}:mnt", std::process::id());
    let o = forkexec(&["--userland", "--join-ns", &own, "--", "/bin/true"]);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("join_namespaces(mnt or user)"), "{stderr}");

    if !is_root() {
        println!("SKIP (pid namespace): joining one needs CAP_SYS_ADMIN");
        return;
    }
    let mut holder = std::process::Command::new(FORKEXEC)
        .args(["run", "--clone-ns", "pid", "--", "/bin/sh", "-c"])
        .arg("echo ready && exec sleep 60")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    let mut reader = std::io::BufReader::new(holder.stdout.take().unwrap());
    std::io::BufRead::read_line(&mut reader, &mut line).unwrap();
    assert_eq!(line, "ready\n");
    let children = format!("/proc/{0}/task/{0}/children", holder.id());
    let pid = std::fs::read_to_string(children)
        .unwrap()
        .trim()
        .to_string();
    let want = std::fs::read_link(format!("/proc/{pid}/ns/pid")).unwrap();
    let join = format!("{pid}:pid");
    let o = forkexec(
        &["--userland", "--join-ns", &join, "--", "/bin/sh", "-c"]
            .into_iter()
            .chain(["echo $$; readlink /proc/self/ns/pid"])
            .collect::<Vec<_>>(),
    );
    holder.kill().unwrap();
    holder.wait().unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(o.status.success(), "{o:?}");
    // The holder is pid 1 there: the program is a later pid of that namespace.
    let in_ns: u32 = lines[0].parse().unwrap();
    assert!((2..100).contains(&in_ns), "{stdout}");
    assert_eq!(lines[1], want.to_str().unwrap(), "{stdout}");
}

#[test]
fn output_is_piped_through_the_stub() {
    let _serial = one_at_a_time();
    // stdio set up by the child sequence reaches the program: a pipe for stdout and stderr,
    // /dev/null for stdin.
    let out = run(command(How::Userland, Path::new("/bin/sh"))
        .args(["-c", "echo out; echo err >&2; cat"])
        .stdin(Stdio::null()))
    .unwrap();
    assert_eq!(out.stdout, b"out\n");
    assert_eq!(out.stderr, b"err\n");
}
