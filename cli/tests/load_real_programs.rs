//! The userland loader against the kernel: each program runs twice, once by the kernel's
//! execve (std's Command) and once by `forkexec load` (a child process that loads it into
//! itself), and stdout and the exit status must be the same. Bad files must give the errno
//! the kernel gives, or, where the kernel only kills the process after its point of no
//! return, the errno it computed, without the loader crashing.
//!
//! Lives in the CLI package because it drives the `forkexec` binary (CARGO_BIN_EXE_forkexec):
//! the loader replaces the process it runs in, so it must run in a child.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod loader_support;

use loader_support::{compile_source, is_root, may_replace_exe, retrying_etxtbsy, write_exe};

const FORKEXEC: &str = env!("CARGO_BIN_EXE_forkexec");

/// The assembly of the hand-built program's code (GNU as, Intel syntax). It checks that every
/// general register but rsp is 0 and rsp is 16-byte aligned at entry, writes each argv string
/// with its NUL, a newline, each envp string with its NUL, and exits with 42 (43 if the entry
/// state was wrong). Position-independent, so it runs as ET_EXEC or ET_DYN.
///
/// ```text
/// _start: or r15,rax / rbx / rcx / rdx / rsi / rdi / rbp / r8..r14  ; r15 |= every register
///         mov rax,rsp ; and eax,15 ; or r15,rax                      ; and rsp's low bits
///         lea r13,[rsp+8] ; xor r14d,r14d
/// next:   mov rsi,[r13] ; add r13,8 ; test rsi,rsi ; jz null
///         xor edx,edx
/// len:    cmp byte ptr [rsi+rdx],0 ; je write ; inc rdx ; jmp len
/// write:  inc rdx ; mov eax,1 ; mov edi,1 ; syscall ; jmp next
/// null:   inc r14 ; cmp r14,2 ; je done
///         lea rsi,[rip+nl] ; mov edx,1 ; mov eax,1 ; mov edi,1 ; syscall ; jmp next
/// done:   mov edi,42 ; test r15,r15 ; jz out ; mov edi,43
/// out:    mov eax,231 ; syscall
/// nl:     .byte 10
/// ```
const CODE: [u8; 160] = [
    0x49, 0x09, 0xc7, 0x49, 0x09, 0xdf, 0x49, 0x09, 0xcf, 0x49, 0x09, 0xd7, 0x49, 0x09, 0xf7, 0x49,
    0x09, 0xff, 0x49, 0x09, 0xef, 0x4d, 0x09, 0xc7, 0x4d, 0x09, 0xcf, 0x4d, 0x09, 0xd7, 0x4d, 0x09,
    0xdf, 0x4d, 0x09, 0xe7, 0x4d, 0x09, 0xef, 0x4d, 0x09, 0xf7, 0x48, 0x89, 0xe0, 0x83, 0xe0, 0x0f,
    0x49, 0x09, 0xc7, 0x4c, 0x8d, 0x6c, 0x24, 0x08, 0x45, 0x31, 0xf6, 0x49, 0x8b, 0x75, 0x00, 0x49,
    0x83, 0xc5, 0x08, 0x48, 0x85, 0xf6, 0x74, 0x1e, 0x31, 0xd2, 0x80, 0x3c, 0x16, 0x00, 0x74, 0x05,
    0x48, 0xff, 0xc2, 0xeb, 0xf5, 0x48, 0xff, 0xc2, 0xb8, 0x01, 0x00, 0x00, 0x00, 0xbf, 0x01, 0x00,
    0x00, 0x00, 0x0f, 0x05, 0xeb, 0xd5, 0x49, 0xff, 0xc6, 0x49, 0x83, 0xfe, 0x02, 0x74, 0x1a, 0x48,
    0x8d, 0x35, 0x29, 0x00, 0x00, 0x00, 0xba, 0x01, 0x00, 0x00, 0x00, 0xb8, 0x01, 0x00, 0x00, 0x00,
    0xbf, 0x01, 0x00, 0x00, 0x00, 0x0f, 0x05, 0xeb, 0xb2, 0xbf, 0x2a, 0x00, 0x00, 0x00, 0x4d, 0x85,
    0xff, 0x74, 0x05, 0xbf, 0x2b, 0x00, 0x00, 0x00, 0xb8, 0xe7, 0x00, 0x00, 0x00, 0x0f, 0x05, 0x0a,
];

/// A program header for [`Elf`].
#[derive(Clone)]
struct Phdr {
    p_type: u32,
    flags: u32,
    offset: u64,
    vaddr: u64,
    filesz: u64,
    memsz: u64,
}

/// A hand-built ELF64 file: header, program headers right after it, then `tail`.
#[derive(Clone)]
struct Elf {
    e_type: u16,
    machine: u16,
    entry: u64,
    phnum: Option<u16>,
    phdrs: Vec<Phdr>,
    tail: Vec<u8>,
}

impl Elf {
    /// The argv-printing program: one PT_LOAD (R+X) covering the file at `base`, a
    /// PT_GNU_STACK, the code after the headers.
    fn printer(e_type: u16, base: u64) -> Elf {
        let code_off = 64 + 2 * 56;
        let size = code_off + CODE.len() as u64;
        Elf {
            e_type,
            machine: 62,
            entry: base + code_off,
            phnum: None,
            phdrs: vec![
                Phdr {
                    p_type: 1,
                    flags: 5,
                    offset: 0,
                    vaddr: base,
                    filesz: size,
                    memsz: size,
                },
                Phdr {
                    p_type: 0x6474_e551,
                    flags: 6,
                    offset: 0,
                    vaddr: 0,
                    filesz: 0,
                    memsz: 0,
                },
            ],
            tail: CODE.to_vec(),
        }
    }

    fn bytes(&self) -> Vec<u8> {
        let mut f = Vec::new();
        f.extend_from_slice(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0");
        f.extend_from_slice(&self.e_type.to_le_bytes());
        f.extend_from_slice(&self.machine.to_le_bytes());
        f.extend_from_slice(&1u32.to_le_bytes());
        f.extend_from_slice(&self.entry.to_le_bytes());
        f.extend_from_slice(&64u64.to_le_bytes()); // e_phoff
        f.extend_from_slice(&0u64.to_le_bytes()); // e_shoff
        f.extend_from_slice(&0u32.to_le_bytes()); // e_flags
        f.extend_from_slice(&64u16.to_le_bytes()); // e_ehsize
        f.extend_from_slice(&56u16.to_le_bytes()); // e_phentsize
        let phnum = self.phnum.unwrap_or(self.phdrs.len() as u16);
        f.extend_from_slice(&phnum.to_le_bytes());
        f.extend_from_slice(&[0; 6]);
        for p in &self.phdrs {
            f.extend_from_slice(&p.p_type.to_le_bytes());
            f.extend_from_slice(&p.flags.to_le_bytes());
            f.extend_from_slice(&p.offset.to_le_bytes());
            f.extend_from_slice(&p.vaddr.to_le_bytes());
            f.extend_from_slice(&p.vaddr.to_le_bytes());
            f.extend_from_slice(&p.filesz.to_le_bytes());
            f.extend_from_slice(&p.memsz.to_le_bytes());
            f.extend_from_slice(&0x1000u64.to_le_bytes());
        }
        f.extend_from_slice(&self.tail);
        f
    }
}

/// Runs a command, retrying while the file is ETXTBSY: a file just written can be held open
/// for writing by a child that another test thread forked meanwhile.
fn output(cmd: &mut Command) -> std::io::Result<Output> {
    retrying_etxtbsy(|| cmd.output(), std::io::Error::raw_os_error)
}

/// The kernel's run of `prog args` with the environment `env` only, for its errno: forkexec's
/// spawn, a plain execve (std's Command goes through glibc's execvp, which runs /bin/sh on
/// ENOEXEC).
fn kernel_run(prog: &Path, args: &[&str], env: &[(&str, &str)]) -> Result<Output, i32> {
    let mut cmd = forkexec::Command::new(prog);
    cmd.args(args)
        .env_clear()
        .envs(env.iter().copied())
        .stdout(forkexec::Stdio::piped())
        .stderr(forkexec::Stdio::piped());
    retrying_etxtbsy(|| cmd.output(), forkexec::Error::raw_os_error)
        .map_err(|e| e.raw_os_error().unwrap_or(0))
}

/// `forkexec load [--memory] -- prog args` with the environment `env` only.
fn loader_run(prog: &Path, args: &[&str], env: &[(&str, &str)], memory: bool) -> Output {
    let mut cmd = Command::new(FORKEXEC);
    cmd.arg("load").arg("--env-clear");
    if memory {
        cmd.arg("--memory");
    }
    for (k, v) in env {
        cmd.arg("--env").arg(format!("{k}={v}"));
    }
    cmd.arg("--").arg(prog).args(args);
    // The loader finds ETXTBSY as the kernel does, so it meets the same race (see `output`).
    for _ in 0..100 {
        let o = output(&mut cmd).unwrap();
        if !String::from_utf8_lossy(&o.stderr).ends_with("(ETXTBSY)\n") {
            return o;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    output(&mut cmd).unwrap()
}

/// Asserts that the loader (from the file and from memory) and the kernel give the same
/// stdout and exit status; returns the kernel's output.
///
/// The kernel's run is started exactly as the loader's CLI is (std's Command: same inherited
/// fds, signal dispositions and mask), so whatever the program reports of that state is
/// expected to be equal too.
fn same_as_kernel(prog: &Path, args: &[&str]) -> Output {
    same_as_kernel_in(prog, args, &[false, true])
}

/// [`same_as_kernel`] for the given loader modes (false: from the file, true: from memory).
fn same_as_kernel_in(prog: &Path, args: &[&str], modes: &[bool]) -> Output {
    let env = [("A", "1"), ("LONGER_NAME", "some value")];
    let k = output(
        Command::new(prog)
            .args(args)
            .env_clear()
            .envs(env.iter().copied()),
    )
    .unwrap();
    for &memory in modes {
        let l = loader_run(prog, args, &env, memory);
        assert_eq!(
            String::from_utf8_lossy(&l.stdout),
            String::from_utf8_lossy(&k.stdout),
            "stdout of {} {args:?} (memory: {memory}); loader stderr: {}",
            prog.display(),
            String::from_utf8_lossy(&l.stderr)
        );
        assert_eq!(
            l.status.code(),
            k.status.code(),
            "exit status of {} (memory: {memory}); loader stderr: {}",
            prog.display(),
            String::from_utf8_lossy(&l.stderr)
        );
        assert_eq!(l.status.signal(), k.status.signal());
    }
    k
}

#[test]
fn hand_built_static_elf_sees_the_kernels_entry_state() {
    let dir = tempfile::tempdir().unwrap();
    let exec = write_exe(dir.path(), "exec", &Elf::printer(2, 0x40_0000).bytes());
    let k = same_as_kernel(&exec, &["one", "two words", ""]);
    assert_eq!(k.status.code(), Some(42), "registers or rsp not as at exec");
    assert!(k
        .stdout
        .starts_with(format!("{}\0one\0", exec.display()).as_bytes()));
    // The same code as a position-independent file (a static PIE without libc).
    let pie = write_exe(dir.path(), "pie", &Elf::printer(3, 0).bytes());
    let k = same_as_kernel(&pie, &["x"]);
    assert_eq!(k.status.code(), Some(42));
}

/// Compiles report.c with `flags`; None (with the reason printed) when gcc cannot.
fn compile(dir: &Path, name: &str, flags: &[&str]) -> Option<PathBuf> {
    compile_source(dir, "report.c", name, flags)
}

fn report_matches(prog: &Path, dynamic: bool) {
    let k = same_as_kernel(prog, &["first", "second arg"]);
    let text = String::from_utf8_lossy(&k.stdout);
    // The report itself says the interesting things were there (and equal, by the above).
    assert!(text.contains("argv[2] second arg\n"), "{text}");
    assert!(text.contains("aux 3 set 1\n"), "AT_PHDR: {text}");
    assert!(text.contains("aux 9 set 1\n"), "AT_ENTRY: {text}");
    assert!(text.contains("aux 25 set 1\n"), "AT_RANDOM: {text}");
    assert!(text.contains("random bytes set 1\n"), "{text}");
    assert!(
        text.contains(&format!("aux 31 \"{}\"\n", prog.display())),
        "AT_EXECFN: {text}"
    );
    assert!(
        text.contains(&format!("aux 7 set {}\n", u8::from(dynamic))),
        "AT_BASE: {text}"
    );
    assert!(text.contains("heap ok\nbss zero 1\n"), "{text}");
    // The kernel knows the new program's layout: its heap, its auxv, its command line.
    assert!(text.contains("proc auxv matches 1\n"), "{text}");
    assert!(text.contains("brk after bss 1\n"), "{text}");
    assert!(
        text.contains(&format!(
            "cmdline [{}] [first] [second arg]\n",
            prog.display()
        )),
        "{text}"
    );
    assert_eq!(k.status.code(), Some(43));
}

#[test]
fn gcc_static_program() {
    let dir = tempfile::tempdir().unwrap();
    if let Some(p) = compile(dir.path(), "static", &["-static"]) {
        report_matches(&p, false);
    }
}

#[test]
fn gcc_static_pie_program() {
    let dir = tempfile::tempdir().unwrap();
    if let Some(p) = compile(dir.path(), "static-pie", &["-static-pie"]) {
        report_matches(&p, false);
    }
}

#[test]
fn gcc_dynamic_program_through_ld_so() {
    let dir = tempfile::tempdir().unwrap();
    if let Some(p) = compile(dir.path(), "dynamic", &[]) {
        report_matches(&p, true);
    }
    if let Some(p) = compile(dir.path(), "dynamic-nopie", &["-no-pie"]) {
        report_matches(&p, true);
    }
}

#[test]
fn system_programs_through_ld_so() {
    for (prog, args) in [
        ("/bin/echo", &["hello", "from", "ld.so"][..]),
        ("/bin/true", &[][..]),
        ("/bin/false", &[][..]),
        ("/bin/sh", &["-c", "echo $0 $# $A; exit 7", "zero", "x"][..]),
    ] {
        let p = Path::new(prog);
        if !p.exists() {
            eprintln!("skipping {prog}: not installed");
            continue;
        }
        same_as_kernel(p, args);
    }
}

/// The errno name at the end of the loader's message, e.g. "ENOEXEC".
fn loader_errno(o: &Output) -> String {
    let err = String::from_utf8_lossy(&o.stderr);
    let line = err.lines().last().unwrap_or_default();
    line.rsplit_once('(')
        .and_then(|(_, r)| r.strip_suffix(')'))
        .unwrap_or(line)
        .to_string()
}

fn kernel_errno(prog: &Path) -> Result<String, Output> {
    match kernel_run(prog, &[], &[]) {
        Err(e) => Ok(forkexec::Errno(e).name()),
        Ok(o) => Err(o),
    }
}

/// The offset of the PT_LOAD header in a [`with_interp`] file (after the header and PT_INTERP).
const PT_LOAD_AFTER_INTERP: usize = 64 + 56;

/// `good` with a PT_INTERP naming `path` (its bytes sit in the tail after the code).
fn with_interp(good: &Elf, path: &[u8]) -> Vec<u8> {
    let mut e = good.clone();
    let off = 64 + 3 * 56 + CODE.len() as u64;
    let mut tail = CODE.to_vec();
    tail.extend_from_slice(path);
    e.tail = tail;
    e.phdrs.insert(
        0,
        Phdr {
            p_type: 3,
            flags: 4,
            offset: off,
            vaddr: 0,
            filesz: path.len() as u64,
            memsz: path.len() as u64,
        },
    );
    e.entry += 56;
    e.phdrs[1].filesz += 56 + path.len() as u64;
    e.phdrs[1].memsz = e.phdrs[1].filesz;
    e.bytes()
}

#[test]
fn bad_files_give_the_kernels_errno() {
    let dir = tempfile::tempdir().unwrap();
    let good = Elf::printer(2, 0x40_0000);
    let mut cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("garbage", b"this is not a program at all\n".to_vec()),
        ("truncated-header", good.bytes()[..40].to_vec()),
        ("truncated-phdrs", good.bytes()[..100].to_vec()),
        (
            "aarch64",
            Elf {
                machine: 183,
                ..good.clone()
            }
            .bytes(),
        ),
        (
            "phnum-0",
            Elf {
                phnum: Some(0),
                ..good.clone()
            }
            .bytes(),
        ),
        (
            "et-rel",
            Elf {
                e_type: 1,
                ..good.clone()
            }
            .bytes(),
        ),
        (
            "et-core",
            Elf {
                e_type: 4,
                ..good.clone()
            }
            .bytes(),
        ),
    ];
    let missing = dir.path().join("no-such-ld.so");
    let not_elf = write_exe(
        dir.path(),
        "not-elf-ld.so",
        b"#!/bin/sh\nexit 0\n and more bytes to pass 64 ......................",
    );
    let short = write_exe(dir.path(), "short-ld.so", b"\x7fELF");
    let arm = write_exe(
        dir.path(),
        "arm-ld.so",
        &Elf {
            machine: 183,
            ..good.clone()
        }
        .bytes(),
    );
    let cstr = |p: &Path| {
        let mut v = p.as_os_str().as_encoded_bytes().to_vec();
        v.push(0);
        v
    };
    cases.push(("interp-missing", with_interp(&good, &cstr(&missing))));
    cases.push(("interp-not-elf", with_interp(&good, &cstr(&not_elf))));
    cases.push(("interp-short", with_interp(&good, &cstr(&short))));
    cases.push(("interp-wrong-machine", with_interp(&good, &cstr(&arm))));
    cases.push((
        "interp-unterminated",
        with_interp(&good, b"/lib64/ld-linux-x86-64.so.2"),
    ));
    cases.push(("interp-empty", with_interp(&good, b"\0\0")));
    // Two problems: the interpreter is missing (found before the kernel's point of no
    // return) and the PT_LOAD is bad (p_filesz > p_memsz, found after it): ENOENT.
    let mut bad_load = with_interp(&good, &cstr(&missing));
    bad_load[PT_LOAD_AFTER_INTERP + 40..PT_LOAD_AFTER_INTERP + 48]
        .copy_from_slice(&16u64.to_le_bytes());
    cases.push(("interp-missing-and-bad-pt-load", bad_load));
    for (name, bytes) in &cases {
        let p = write_exe(dir.path(), name, bytes);
        let k = kernel_errno(&p).unwrap_or_else(|o| panic!("{name}: the kernel ran it: {o:?}"));
        for memory in [false, true] {
            let l = loader_run(&p, &[], &[], memory);
            assert_eq!(
                l.status.code(),
                Some(126 + i32::from(k == "ENOENT")),
                "{name}: {l:?}"
            );
            assert_eq!(loader_errno(&l), k, "{name} (memory: {memory}): {l:?}");
        }
    }
    // Not a file the kernel will run: a directory, a file without an execute bit.
    let noexec = dir.path().join("noexec");
    std::fs::write(&noexec, good.bytes()).unwrap();
    for p in [dir.path().to_path_buf(), noexec] {
        let k = kernel_errno(&p).unwrap_or_else(|o| panic!("{p:?} ran: {o:?}"));
        let l = loader_run(&p, &[], &[], false);
        assert_eq!(loader_errno(&l), k, "{p:?}");
    }
    let l = loader_run(&dir.path().join("missing"), &[], &[], false);
    assert_eq!(
        (l.status.code(), loader_errno(&l).as_str()),
        (Some(127), "ENOENT")
    );
}

#[test]
fn damage_the_kernel_finds_too_late_is_an_error_not_a_crash() {
    // The kernel accepts these headers, passes its point of no return and then kills the
    // process with SIGSEGV; the loader refuses them with the errno the kernel computed.
    let dir = tempfile::tempdir().unwrap();
    let good = Elf::printer(2, 0x40_0000);
    let mut over = good.clone();
    over.phdrs[0].vaddr = 0x7fff_ffff_0000;
    over.phdrs[0].memsz = 0x10_0000;
    over.entry = 0x7fff_ffff_0000 + 64;
    let mut filesz_over_memsz = good.clone();
    filesz_over_memsz.phdrs[0].memsz = 16;
    let mut entry_out = good.clone();
    entry_out.entry = 0x8000_0000_0000;
    let no_load = Elf {
        e_type: 3,
        phdrs: vec![good.phdrs[1].clone()],
        ..good.clone()
    };
    for (name, e) in [
        ("segment-over-the-address-space", over),
        ("filesz-over-memsz", filesz_over_memsz),
        ("entry-out-of-range", entry_out),
        ("no-pt-load", no_load),
    ] {
        let p = write_exe(dir.path(), name, &e.bytes());
        let k = kernel_run(&p, &[], &[]).unwrap();
        assert_eq!(k.status.signal(), Some(libc::SIGSEGV), "{name}: {k:?}");
        // The model predicts the same death.
        let input = forkexec::model::ExecInput::from_current_process(
            p.as_os_str().as_encoded_bytes().to_vec(),
            vec![p.as_os_str().as_encoded_bytes().to_vec()],
            vec![],
        )
        .unwrap();
        let fs = forkexec::model::HostFileSystem::new(None).unwrap();
        let plan = forkexec::model::evaluate(&input, &fs);
        assert_eq!(
            plan.outcome,
            forkexec::model::Outcome::Killed(libc::SIGSEGV),
            "{name}"
        );
        for memory in [false, true] {
            let l = loader_run(&p, &[], &[], memory);
            assert_eq!(l.status.code(), Some(126), "{name}: {l:?}");
            assert_eq!(loader_errno(&l), "EINVAL", "{name}: {l:?}");
            assert!(
                String::from_utf8_lossy(&l.stderr).contains("SIGSEGV"),
                "{name}"
            );
        }
    }
}

#[test]
fn plan_json_describes_a_dynamic_program() {
    let o = Command::new(FORKEXEC)
        .args(["load", "--plan", "--json", "--", "/bin/true"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{o:?}");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["program"]["placement"], "dyn_base");
    assert_eq!(v["interpreter"]["placement"], "anywhere");
    assert_eq!(v["entry"], v["interpreter"]["entry"]);
    let auxv = v["stack"]["auxv"].as_array().unwrap();
    let get = |k: &str| {
        auxv.iter()
            .find(|a| a["key"] == k)
            .map(|a| a["value"].clone())
    };
    assert_eq!(get("AT_ENTRY"), Some(v["program"]["entry"].clone()));
    assert_eq!(get("AT_BASE"), Some(v["interpreter"]["start"].clone()));
    assert_eq!(get("AT_PHNUM"), Some(v["program"]["phnum"].clone()));
    assert_eq!(auxv.last().unwrap()["key"], "AT_NULL");
    let o = Command::new(FORKEXEC)
        .args(["load", "--plan", "--json", "--", "/"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["error"]["errno"], "EACCES");
}

#[test]
fn scripts_run_their_interpreter_as_the_kernel_does() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // An interpreter with its argument, and the script path in argv.
    let s = write_exe(d, "args.sh", b"#!/bin/sh  -eu \necho \"$0|$*|$A\"\n");
    let k = same_as_kernel_in(&s, &["x", "y z"], &[false]);
    let expect = format!("{}|x y z|1\n", s.display());
    assert_eq!(String::from_utf8_lossy(&k.stdout), expect);
    // The plan names the script and the rewritten argv.
    let o = output(
        Command::new(FORKEXEC)
            .args(["load", "--plan", "--json", "--"])
            .arg(&s)
            .arg("x"),
    )
    .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let path = s.display().to_string();
    assert_eq!(v["scripts"], serde_json::json!([path]));
    assert_eq!(v["argv"], serde_json::json!(["/bin/sh", "-eu", path, "x"]));
    // Five nested scripts run; a sixth is ELOOP.
    let mut next = "/bin/sh".to_string();
    let mut chain = Vec::new();
    for i in 0..6 {
        let body = format!("#!{next}\necho depth {i} \"$0\" \"$@\"\n");
        let p = write_exe(d, &format!("s{i}"), body.as_bytes());
        next = p.display().to_string();
        chain.push(p);
    }
    let k = same_as_kernel_in(&chain[4], &["arg"], &[false]);
    assert!(k.status.success(), "{k:?}");
    assert_eq!(kernel_errno(&chain[5]).ok().as_deref(), Some("ELOOP"));
    assert_eq!(
        loader_errno(&loader_run(&chain[5], &[], &[], false)),
        "ELOOP"
    );
    // A missing interpreter is ENOENT; a script from memory cannot run (ENOEXEC).
    let missing = write_exe(d, "missing.sh", b"#!/no/such/interpreter\n");
    assert_eq!(kernel_errno(&missing).ok().as_deref(), Some("ENOENT"));
    assert_eq!(
        loader_errno(&loader_run(&missing, &[], &[], false)),
        "ENOENT"
    );
    assert_eq!(loader_errno(&loader_run(&s, &[], &[], true)), "ENOEXEC");
    // A #! line with no interpreter: ENOEXEC from both.
    let empty = write_exe(d, "empty.sh", b"#!   \n");
    assert_eq!(kernel_errno(&empty).ok().as_deref(), Some("ENOEXEC"));
    assert_eq!(
        loader_errno(&loader_run(&empty, &[], &[], false)),
        "ENOEXEC"
    );
}

#[test]
fn addresses_this_process_uses_are_refused_not_overwritten() {
    // Without randomization the forkexec binary (a PIE) sits at 0x555555554000; an ET_EXEC
    // program that wants that address runs under the kernel but cannot be loaded in place.
    let setarch = Path::new("/usr/bin/setarch");
    if !setarch.exists() {
        eprintln!("skipping: no setarch to turn randomization off");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let p = write_exe(
        dir.path(),
        "at-dyn-base",
        &Elf::printer(2, 0x5555_5555_4000).bytes(),
    );
    let k = output(Command::new(setarch).args(["x86_64", "-R"]).arg(&p)).unwrap();
    assert_eq!(k.status.code(), Some(42), "{k:?}");
    let l = output(
        Command::new(setarch)
            .args(["x86_64", "-R", FORKEXEC, "load", "--"])
            .arg(&p),
    )
    .unwrap();
    if String::from_utf8_lossy(&l.stderr).contains("setarch") {
        eprintln!("skipping: setarch failed: {l:?}");
        return;
    }
    assert_eq!(l.status.code(), Some(126), "{l:?}");
    assert_eq!(loader_errno(&l), "EEXIST", "{l:?}");
    assert!(String::from_utf8_lossy(&l.stderr).contains("already uses"));
}

/// The code of a program that writes its rsp and then its whole initial stack, from rsp to
/// the top (found from AT_EXECFN: its string ends 8 bytes below the top), and exits 0.
///
/// ```text
/// _start: mov rbx,rsp ; mov rcx,[rsp] ; lea rsi,[rsp+rcx*8+16]     ; envp
/// skip:   cmp qword ptr [rsi],0 ; je aux ; add rsi,8 ; jmp skip
/// aux:    add rsi,8
/// find:   mov rax,[rsi] ; cmp rax,31 ; je found ; test rax,rax ; jz fail ; add rsi,16 ; jmp find
/// found:  mov rdi,[rsi+8] ; xor edx,edx
/// len:    cmp byte ptr [rdi+rdx],0 ; je got ; inc rdx ; jmp len
/// got:    lea rdx,[rdi+rdx+9] ; sub rdx,rbx ; add rdx,8            ; top - rsp + 8
///         mov [rbx-8],rbx ; lea rsi,[rbx-8] ; mov edi,1 ; mov eax,1 ; syscall
///         xor edi,edi ; mov eax,231 ; syscall
/// fail:   mov edi,1 ; mov eax,231 ; syscall
/// ```
const STACK_DUMP: [u8; 118] = [
    0x48, 0x89, 0xe3, 0x48, 0x8b, 0x0c, 0x24, 0x48, 0x8d, 0x74, 0xcc, 0x10, 0x48, 0x83, 0x3e, 0x00,
    0x74, 0x06, 0x48, 0x83, 0xc6, 0x08, 0xeb, 0xf4, 0x48, 0x83, 0xc6, 0x08, 0x48, 0x8b, 0x06, 0x48,
    0x83, 0xf8, 0x1f, 0x74, 0x0b, 0x48, 0x85, 0xc0, 0x74, 0x40, 0x48, 0x83, 0xc6, 0x10, 0xeb, 0xec,
    0x48, 0x8b, 0x7e, 0x08, 0x31, 0xd2, 0x80, 0x3c, 0x17, 0x00, 0x74, 0x05, 0x48, 0xff, 0xc2, 0xeb,
    0xf5, 0x48, 0x8d, 0x54, 0x17, 0x09, 0x48, 0x29, 0xda, 0x48, 0x83, 0xc2, 0x08, 0x48, 0x89, 0x5b,
    0xf8, 0x48, 0x8d, 0x73, 0xf8, 0xbf, 0x01, 0x00, 0x00, 0x00, 0xb8, 0x01, 0x00, 0x00, 0x00, 0x0f,
    0x05, 0x31, 0xff, 0xb8, 0xe7, 0x00, 0x00, 0x00, 0x0f, 0x05, 0xbf, 0x01, 0x00, 0x00, 0x00, 0xb8,
    0xe7, 0x00, 0x00, 0x00, 0x0f, 0x05,
];

/// A stack dump made position-independent: the argv and envp pointers and the auxv values
/// that point into the stack become distances below the top, the 16 AT_RANDOM bytes are
/// blanked, and so is AT_SYSINFO_EHDR (the vDSO is where each process has it).
fn normalized_stack(dump: &[u8]) -> Vec<u8> {
    assert!(
        dump.len() > 16 && dump.len() & 7 == 0,
        "{} bytes",
        dump.len()
    );
    let rsp = u64::from_ne_bytes(dump[..8].try_into().unwrap());
    let mut image = dump[8..].to_vec();
    let top = rsp + image.len() as u64;
    let word = |img: &[u8], i: usize| u64::from_ne_bytes(img[i..i + 8].try_into().unwrap());
    let set = |img: &mut Vec<u8>, i: usize, v: u64| img[i..i + 8].copy_from_slice(&v.to_ne_bytes());
    let argc = word(&image, 0) as usize;
    let mut i = 8;
    // argv[], NULL, envp[], NULL: pointers into the stack.
    for _ in 0..2 {
        loop {
            let w = word(&image, i);
            if w != 0 {
                assert!((rsp..top).contains(&w), "pointer {w:#x} outside the stack");
                set(&mut image, i, top - w);
            }
            i += 8;
            if w == 0 {
                break;
            }
        }
    }
    assert_eq!(
        argc,
        image[8..].chunks(8).position(|c| c == [0; 8]).unwrap()
    );
    let mut random = None;
    loop {
        let (key, val) = (word(&image, i), word(&image, i + 8));
        match key {
            // AT_PLATFORM, AT_RANDOM, AT_EXECFN point into the stack.
            15 | 25 | 31 => {
                assert!((rsp..top).contains(&val), "auxv {key} = {val:#x}");
                set(&mut image, i + 8, top - val);
                if key == 25 {
                    random = Some((val - rsp) as usize);
                }
            }
            33 => {
                assert_ne!(val, 0, "AT_SYSINFO_EHDR");
                set(&mut image, i + 8, 0);
            }
            _ => {}
        }
        i += 16;
        if key == 0 {
            break;
        }
    }
    let r = random.expect("AT_RANDOM");
    image[r..r + 16].fill(0);
    image
}

#[test]
fn the_initial_stack_is_the_kernels_byte_for_byte() {
    // Without randomization (setarch -R) the kernel's random gap is 0 and so is the loader's:
    // the two stacks must be the same bytes, up to where the top is and the AT_RANDOM bytes.
    let setarch = Path::new("/usr/bin/setarch");
    if !setarch.exists() {
        eprintln!("skipping: no setarch to turn randomization off");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut e = Elf::printer(2, 0x40_0000);
    let code_off = 64 + 2 * 56;
    e.tail = STACK_DUMP.to_vec();
    e.phdrs[0].filesz = code_off + STACK_DUMP.len() as u64;
    e.phdrs[0].memsz = e.phdrs[0].filesz;
    let p = write_exe(dir.path(), "dump", &e.bytes());
    let args = ["one", "", "three words here"];
    let k = output(
        Command::new(setarch)
            .args(["x86_64", "-R"])
            .arg(&p)
            .args(args)
            .env_clear()
            .env("A", "1")
            .env("B", "two"),
    )
    .unwrap();
    assert!(k.status.success(), "{k:?}");
    for memory in [false, true] {
        let mut cmd = Command::new(setarch);
        cmd.args([
            "x86_64",
            "-R",
            FORKEXEC,
            "load",
            "--env-clear",
            "--env",
            "A=1",
        ])
        .args(["--env", "B=two"]);
        if memory {
            cmd.arg("--memory");
        }
        let l = output(cmd.arg("--").arg(&p).args(args)).unwrap();
        assert!(l.status.success(), "{l:?}");
        assert_eq!(l.stdout.len(), k.stdout.len(), "stack sizes differ");
        assert_eq!(
            normalized_stack(&l.stdout),
            normalized_stack(&k.stdout),
            "memory: {memory}"
        );
    }
}

/// The (permissions, file offset, pages) of each mapping of `file` in a /proc/PID/maps text.
fn mappings_of(maps: &str, file: &str) -> Vec<(String, String, u64)> {
    maps.lines()
        .filter(|l| l.split_whitespace().nth(5) == Some(file))
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let (a, b) = f[0].split_once('-').unwrap();
            let len = u64::from_str_radix(b, 16).unwrap() - u64::from_str_radix(a, 16).unwrap();
            (f[1].to_string(), f[2].to_string(), len / 4096)
        })
        .collect()
}

#[test]
fn file_mappings_match_the_kernels() {
    // cat prints its own maps: the program's and ld.so's file mappings must have the kernel's
    // permissions, offsets and sizes (the loader maps the files' pages, as the kernel does).
    let cat = std::fs::canonicalize("/bin/cat").unwrap();
    let k = output(Command::new(&cat).arg("/proc/self/maps")).unwrap();
    let l = output(
        Command::new(FORKEXEC)
            .args(["load", "--"])
            .arg(&cat)
            .arg("/proc/self/maps"),
    )
    .unwrap();
    let (k, l) = (
        String::from_utf8_lossy(&k.stdout),
        String::from_utf8_lossy(&l.stdout),
    );
    let name = cat.display().to_string();
    assert!(!mappings_of(&k, &name).is_empty(), "{k}");
    assert_eq!(mappings_of(&l, &name), mappings_of(&k, &name), "{l}");
    // In place, nothing else differs either: ld.so, libc, the locale files cat maps, their
    // anonymous memory, the heap, the stack, the vDSO: the same mappings, at other addresses.
    assert_eq!(
        normalized_maps(&l),
        normalized_maps(&k),
        "loader:\n{l}\nkernel:\n{k}"
    );
}

#[test]
fn a_loaded_loader_loads_again() {
    // forkexec is a dynamic Rust program (its runtime installs signal handlers and an
    // alternate stack, glibc registers rseq): loaded by itself, it must load the next program
    // as well, reading the auxv and layout the first load recorded.
    let o = output(Command::new(FORKEXEC).args([
        "load",
        "--",
        FORKEXEC,
        "load",
        "--",
        FORKEXEC,
        "load",
        "--",
        "/bin/echo",
        "three",
        "deep",
    ]))
    .unwrap();
    assert_eq!(String::from_utf8_lossy(&o.stdout), "three deep\n", "{o:?}");
    assert!(o.status.success());
}

#[test]
fn a_file_open_for_writing_is_etxtbsy() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_exe(dir.path(), "busy", &Elf::printer(2, 0x40_0000).bytes());
    let writer = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
    // No retry here: the file is busy on purpose.
    let k = forkexec::Command::new(&p)
        .output()
        .map(|_| ())
        .map_err(|e| e.raw_os_error());
    assert_eq!(k, Err(Some(libc::ETXTBSY)));
    let l = output(Command::new(FORKEXEC).args(["load", "--"]).arg(&p)).unwrap();
    assert_eq!(loader_errno(&l), "ETXTBSY", "{l:?}");
    drop(writer);
    let l = loader_run(&p, &[], &[], false);
    assert_eq!(l.status.code(), Some(42), "{l:?}");
}

#[test]
fn proc_self_exe_and_origin_name_the_new_program() {
    if !may_replace_exe() {
        eprintln!(
            "SKIP: /proc/PID/exe can change only with CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE"
        );
        return;
    }
    let readlink = Path::new("/bin/readlink");
    same_as_kernel_in(readlink, &["/proc/self/exe"], &[false]);
    let o = loader_run(readlink, &["/proc/self/exe"], &[], false);
    let want = std::fs::canonicalize(readlink).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim_end(),
        want.display().to_string()
    );

    // A program that finds its library through RPATH $ORIGIN (ld.so reads /proc/self/exe).
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("lib.c"), "int answer(void) { return 42; }\n").unwrap();
    std::fs::write(
        d.join("main.c"),
        "#include <stdio.h>\nint answer(void);\nint main(void) { printf(\"%d\\n\", answer()); return 0; }\n",
    )
    .unwrap();
    let built = Command::new("gcc")
        .current_dir(d)
        .args(["-shared", "-fPIC", "-o", "libanswer.so", "lib.c"])
        .status()
        .and_then(|_| {
            Command::new("gcc")
                .current_dir(d)
                .args([
                    "-o",
                    "main",
                    "main.c",
                    "-L.",
                    "-lanswer",
                    "-Wl,-rpath,$ORIGIN",
                ])
                .status()
        });
    match built {
        Ok(s) if s.success() => {
            let k = same_as_kernel_in(&d.join("main"), &[], &[false]);
            assert_eq!(String::from_utf8_lossy(&k.stdout), "42\n");
        }
        other => eprintln!("SKIP: the $ORIGIN case needs gcc: {other:?}"),
    }
}

/// A /proc/PID/maps text without its addresses: (permissions, file offset, KiB, name) of each
/// mapping, sorted. Two runs of one program under the kernel and under the in-place loader
/// must give the same list (addresses differ with randomization).
fn normalized_maps(maps: &str) -> Vec<(String, String, u64, String)> {
    let mut v: Vec<_> = maps
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let (a, b) = f.first()?.split_once('-')?;
            let len = u64::from_str_radix(b, 16).ok()? - u64::from_str_radix(a, 16).ok()?;
            let name = f.get(5).copied().unwrap_or("").to_string();
            Some((f[1].to_string(), f[2].to_string(), len >> 10, name))
        })
        .collect();
    v.sort();
    v
}

/// The `VmSize:` and `VmRSS:` figures (KiB) at the start of memory.c's output.
fn vm_figures(out: &str) -> (u64, u64) {
    let kib = |key: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("no {key} in {out}"))
    };
    (kib("VmSize:"), kib("VmRSS:"))
}

/// The mappings part of memory.c's output.
fn maps_part(out: &str) -> String {
    out.lines()
        .filter(|l| !l.starts_with("Vm"))
        .map(|l| format!("{l}\n"))
        .collect()
}

#[test]
fn in_place_leaves_the_address_space_an_exec_leaves() {
    // A static program reports its memory and its mappings, run by the kernel and by the
    // loader. In place, the loader's own mappings (forkexec's code, heap, stack, libraries,
    // the trampoline) are gone: the same mappings with the same sizes, and the same memory
    // use up to a few pages. A bug that keeps any old mapping, or maps the stack larger than
    // the kernel's, fails the comparison; the --keep-mappings run shows that it can.
    let dir = tempfile::tempdir().unwrap();
    let Some(prog) = compile_source(dir.path(), "memory.c", "memory", &["-static"]) else {
        return;
    };
    let k = output(&mut Command::new(&prog)).unwrap();
    assert!(k.status.success(), "{k:?}");
    let k = String::from_utf8_lossy(&k.stdout).into_owned();
    let (k_size, k_rss) = vm_figures(&k);
    let loader = |flags: &[&str]| {
        let o = output(
            Command::new(FORKEXEC)
                .arg("load")
                .args(flags)
                .arg("--")
                .arg(&prog),
        )
        .unwrap();
        assert!(o.status.success(), "{flags:?}: {o:?}");
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let l = loader(&[]);
    let (l_size, l_rss) = vm_figures(&l);
    eprintln!(
        "kernel exec:\nVmSize {k_size} kB, VmRSS {k_rss} kB\n{}",
        maps_part(&k)
    );
    eprintln!(
        "forkexec load (in place):\nVmSize {l_size} kB, VmRSS {l_rss} kB\n{}",
        maps_part(&l)
    );
    assert_eq!(
        normalized_maps(&maps_part(&l)),
        normalized_maps(&maps_part(&k)),
        "loader:\n{l}\nkernel:\n{k}"
    );
    assert!(!l.contains(FORKEXEC), "{l}");
    // VmSize counts mappings (equal above; a page of slack for the heap's rounding); VmRSS
    // counts pages touched, where the loader differs by the vDSO pages it read and pages the
    // page cache maps around a fault (16 pages).
    assert!(
        l_size.abs_diff(k_size) <= 4,
        "VmSize {l_size} kB vs the kernel's {k_size} kB"
    );
    assert!(
        l_rss.abs_diff(k_rss) <= 64,
        "VmRSS {l_rss} kB vs the kernel's {k_rss} kB"
    );

    // From memory the segments are anonymous copies (resident, unnamed), the rest the same.
    let m = loader(&["--memory"]);
    let (m_size, m_rss) = vm_figures(&m);
    eprintln!("forkexec load --memory: VmSize {m_size} kB, VmRSS {m_rss} kB");
    let names = |text: &str| -> Vec<String> {
        let prog = prog.display().to_string();
        normalized_maps(&maps_part(text))
            .into_iter()
            .map(|(_, _, _, n)| if n == prog { String::new() } else { n })
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect()
    };
    assert_eq!(names(&m), names(&k), "{m}");
    assert!(m_size.abs_diff(k_size) <= 4, "VmSize {m_size} kB (memory)");

    // Alongside, the loader's mappings stay (its libraries, heap, stack; its executable too
    // unless /proc/PID/exe was replaced): many more mappings, far more memory.
    let a = loader(&["--keep-mappings"]);
    let (a_size, a_rss) = vm_figures(&a);
    eprintln!("forkexec load --keep-mappings: VmSize {a_size} kB, VmRSS {a_rss} kB");
    let (a_maps, k_maps) = (
        normalized_maps(&maps_part(&a)),
        normalized_maps(&maps_part(&k)),
    );
    assert!(a_maps.len() > k_maps.len() + 5, "{a}");
    assert!(a_size > k_size + 1024, "VmSize {a_size} kB alongside");
}

/// Runs `cmd` to completion, or kills it and fails the test after `seconds`: for inputs that
/// once made the loader block forever.
fn output_within(cmd: &mut Command, seconds: u64) -> Output {
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} still runs after {seconds} s (a blocking open?)");
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn fifos_sockets_and_devices_are_refused_at_once_with_the_kernels_errno() {
    // The kernel refuses a file that is not a regular file before opening it (EACCES). The
    // loader once opened first: a FIFO blocked it forever (as the program, as PT_INTERP, as a
    // #! interpreter, with or without --plan), a socket or a tty gave ENXIO.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let fifo = d.join("fifo");
    rustix::fs::mknodat(
        rustix::fs::CWD,
        &fifo,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o755),
        0,
    )
    .unwrap();
    let socket = d.join("socket");
    let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut specials = vec![fifo, socket];
    if is_root() {
        // A device node with execute bits (the kernel still refuses it by its type).
        let null = d.join("null");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &null,
            rustix::fs::FileType::CharacterDevice,
            rustix::fs::Mode::from_raw_mode(0o755),
            rustix::fs::makedev(1, 3),
        )
        .unwrap();
        specials.push(null);
    } else {
        eprintln!("SKIP (device node case): mknod needs root");
    }
    if Path::new("/dev/tty").exists() {
        specials.push(PathBuf::from("/dev/tty"));
    }
    let cstr = |p: &Path| {
        let mut v = p.as_os_str().as_encoded_bytes().to_vec();
        v.push(0);
        v
    };
    let good = Elf::printer(2, 0x40_0000);
    for (i, special) in specials.iter().enumerate() {
        let elf = write_exe(d, &format!("elf-{i}"), &with_interp(&good, &cstr(special)));
        let script = write_exe(
            d,
            &format!("script-{i}"),
            format!("#!{}\n", special.display()).as_bytes(),
        );
        for (what, prog) in [
            ("program", special),
            ("PT_INTERP", &elf),
            ("#! interpreter", &script),
        ] {
            let k = kernel_errno(prog).unwrap_or_else(|o| panic!("{prog:?} ran: {o:?}"));
            assert_eq!(k, "EACCES", "{special:?} as {what}");
            for plan in [false, true] {
                let mut cmd = Command::new(FORKEXEC);
                cmd.arg("load");
                if plan {
                    cmd.arg("--plan");
                }
                let l = output_within(cmd.arg("--").arg(prog), 10);
                assert_eq!(l.status.code(), Some(126), "{special:?} as {what}: {l:?}");
                assert_eq!(
                    loader_errno(&l),
                    k,
                    "{special:?} as {what} (plan: {plan}): {l:?}"
                );
            }
        }
    }
}

/// A directory tree the user nobody can walk (tempdir makes its root 0700).
fn world_readable_tempdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

/// `cmd` as the user and group nobody (65534), with no supplementary group: std's child sets
/// them after the fork, before the exec.
fn as_nobody(cmd: &mut Command) -> &mut Command {
    use std::os::unix::process::CommandExt;
    cmd.uid(65534).gid(65534)
}

/// A copy of the forkexec binary in `dir`, which nobody can run wherever the build lives.
fn forkexec_in(dir: &Path) -> PathBuf {
    let p = dir.join("forkexec");
    std::fs::copy(FORKEXEC, &p).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

#[test]
fn path_search_passes_over_a_candidate_this_user_may_not_run() {
    // execvp goes on past a PATH candidate that fails with EACCES; the loader's search once
    // checked the mode bits only, and stopped at a 0700 root-owned file with EACCES.
    if !is_root() {
        eprintln!("SKIP: needs root to make a file only root may run, and to become nobody");
        return;
    }
    let dir = world_readable_tempdir();
    let d = dir.path();
    for sub in ["private", "public"] {
        std::fs::create_dir(d.join(sub)).unwrap();
        std::fs::set_permissions(d.join(sub), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let private = d.join("private/prog");
    std::fs::write(&private, "#!/bin/sh\necho private\n").unwrap();
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700)).unwrap();
    write_exe(&d.join("public"), "prog", b"#!/bin/sh\necho public\n");
    let forkexec = forkexec_in(d);
    let both = format!("{0}/private:{0}/public", d.display());
    let only_private = format!("{}/private", d.display());
    for (path, want_out, want_code) in [(&both, "public\n", 0), (&only_private, "", 126)] {
        let k =
            output(as_nobody(Command::new("/usr/bin/env").arg("prog")).env("PATH", path)).unwrap();
        assert_eq!(
            (String::from_utf8_lossy(&k.stdout).as_ref(), k.status.code()),
            (want_out, Some(want_code)),
            "execvp with PATH={path}: {k:?}"
        );
        let l = output(
            as_nobody(Command::new(&forkexec).args(["load", "--", "prog"])).env("PATH", path),
        )
        .unwrap();
        assert_eq!(
            (String::from_utf8_lossy(&l.stdout).as_ref(), l.status.code()),
            (want_out, Some(want_code)),
            "load with PATH={path}: {l:?}"
        );
        if want_code != 0 {
            assert_eq!(loader_errno(&l), "EACCES", "{l:?}");
        }
    }
}

#[test]
fn an_execute_only_program_is_refused_with_the_reason() {
    // Mode 0111: execve runs it for any user; a userland loader has to read it, and cannot.
    if !is_root() {
        eprintln!("SKIP: needs root to become nobody (root reads any file)");
        return;
    }
    let dir = world_readable_tempdir();
    let prog = write_exe(
        dir.path(),
        "execute-only",
        &Elf::printer(2, 0x40_0000).bytes(),
    );
    std::fs::set_permissions(&prog, std::fs::Permissions::from_mode(0o111)).unwrap();
    let forkexec = forkexec_in(dir.path());
    let k = output(as_nobody(&mut Command::new(&prog))).unwrap();
    assert_eq!(k.status.code(), Some(42), "the kernel runs it: {k:?}");
    let l = output(as_nobody(
        Command::new(&forkexec).args(["load", "--"]).arg(&prog),
    ))
    .unwrap();
    assert_eq!(l.status.code(), Some(126), "{l:?}");
    assert_eq!(loader_errno(&l), "EACCES", "{l:?}");
    let err = String::from_utf8_lossy(&l.stderr);
    assert!(
        err.contains("is execute-only for this user (mode 0111)")
            && err.contains("a userland loader has to read it"),
        "{err}"
    );
}

#[test]
fn a_loader_whose_ids_differ_starts_the_program_in_secure_mode() {
    // A process whose effective uid is not its real uid (here: real nobody, effective root,
    // as in a setuid-root program) must start the program with AT_SECURE = 1, as the kernel
    // does, so that ld.so ignores LD_PRELOAD. The loader once passed 0 and ld.so preloaded
    // the user's library into a root process.
    if !is_root() {
        eprintln!("SKIP: needs root to run with real uid nobody and effective uid root");
        return;
    }
    let dir = world_readable_tempdir();
    let d = dir.path();
    let (Some(prog), Some(lib)) = (
        compile_source(d, "secure.c", "secure", &[]),
        compile_source(d, "preload.c", "preload.so", &["-shared", "-fPIC"]),
    ) else {
        return;
    };
    let preload = format!("LD_PRELOAD={}", lib.display());
    let run = |cmd: &mut Command, differ: bool| {
        use std::os::unix::process::CommandExt;
        if differ {
            // SAFETY: setresuid is async-signal-safe and touches no memory of the parent.
            unsafe {
                cmd.pre_exec(|| {
                    if libc::setresuid(65534, 0, 0) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        let o = output(cmd).unwrap();
        assert!(o.status.success(), "{o:?}");
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    for (differ, want) in [(false, "PRELOADED\nAT_SECURE 0\n"), (true, "AT_SECURE 1\n")] {
        let k = run(
            Command::new(&prog).env_clear().env("LD_PRELOAD", &lib),
            differ,
        );
        assert_eq!(k, want, "kernel, ids differ: {differ}");
        let l = run(
            Command::new(FORKEXEC)
                .args(["load", "--env-clear", "--env", &preload, "--"])
                .arg(&prog),
            differ,
        );
        assert_eq!(l, want, "loader, ids differ: {differ}");
    }
}

#[test]
fn load_errors_name_the_errno_once_in_sentences() {
    let dir = tempfile::tempdir().unwrap();
    let l = loader_run(&dir.path().join("missing"), &[], &[], false);
    let err = String::from_utf8_lossy(&l.stderr);
    assert_eq!(err.matches("No such file or directory").count(), 1, "{err}");
    assert!(!err.contains("os error"), "{err}");
    // PT_INTERP past the end of the file (EIO, as the kernel's short read).
    let mut bytes = with_interp(
        &Elf::printer(2, 0x40_0000),
        b"/lib64/ld-linux-x86-64.so.2\0",
    );
    bytes[64 + 8..64 + 16].copy_from_slice(&0x10_0000u64.to_le_bytes());
    let p = write_exe(dir.path(), "interp-past-end", &bytes);
    assert_eq!(kernel_errno(&p).ok().as_deref(), Some("EIO"));
    let l = loader_run(&p, &[], &[], false);
    let err = String::from_utf8_lossy(&l.stderr);
    assert!(
        err.contains(
            ": the program is refused: its PT_INTERP segment lies past the end of the file"
        ),
        "{err}"
    );
    assert_eq!(loader_errno(&l), "EIO");
}
