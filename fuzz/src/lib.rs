//! The fuzz target bodies, shared by the cargo-fuzz binaries (`fuzz_targets/*.rs`) and by the
//! main crate's `tests/fuzz_replay.rs`, which replays the committed corpus and runs a short
//! mutation loop on stable Rust in every `cargo test`.
//!
//! Each body feeds arbitrary bytes to a parser or to the planner and checks, beyond "no panic",
//! the invariants a caller relies on. "No unbounded allocation driven by a header field" is
//! checked two ways: no read request the planner makes of the in-memory filesystem
//! (`forkexec::model::MemoryFileSystem`) may be larger than the kernel itself would make
//! (`MAX_READ`), and the fuzz runs use libFuzzer's `-malloc_limit_mb`.
//!
//! This file depends only on `forkexec` and std, so it compiles both as the fuzz crate's library
//! and as a module of an integration test (`#[path]`).

use forkexec::model::binfmt::{aout, elf, misc, script};
use forkexec::model::elf_builder::{ElfBuilder, EXIT_0};
use forkexec::model::{limits, plan, Credentials, ExecInput, MemoryFileSystem};

/// The largest read the kernel makes of a file during execve: the program header table
/// (`MAX_PHDR_TABLE_BYTES`, 64 KiB); the 256-byte buffer and PT_INTERP (4 KiB) are smaller.
pub const MAX_READ: usize = elf::MAX_PHDR_TABLE_BYTES as usize;

/// Bytes taken from the front of the fuzz input.
pub struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Input { data }
    }
    pub fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }
    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.byte(), self.byte()])
    }
    /// A chunk of `len` bytes (fewer at the end).
    pub fn take(&mut self, len: usize) -> &'a [u8] {
        let n = len.min(self.data.len());
        let (a, b) = self.data.split_at(n);
        self.data = b;
        a
    }
    /// A chunk whose length is the next byte.
    pub fn short(&mut self) -> &'a [u8] {
        let n = self.byte() as usize;
        self.take(n)
    }
    /// A chunk whose length is the next two bytes.
    pub fn long(&mut self) -> &'a [u8] {
        let n = self.u16() as usize;
        self.take(n)
    }
    pub fn rest(&mut self) -> &'a [u8] {
        self.take(usize::MAX)
    }
}

// ---------------------------------------------------------------------------------------------
// #! scripts
// ---------------------------------------------------------------------------------------------

/// `script::parse` on any bytes, and `rewrite_argv` on what it returns.
pub fn shebang(data: &[u8]) {
    let parsed = script::parse(data);
    let Ok(s) = parsed else {
        if data.len() >= 2 && &data[..2] == b"#!" {
            assert_ne!(parsed, Err(script::ShebangError::NotAScript));
        } else {
            assert_eq!(parsed, Err(script::ShebangError::NotAScript));
        }
        return;
    };
    assert!(data.starts_with(b"#!"));
    // Everything comes from the kernel's 256-byte buffer, less '#!' and the kept last byte.
    let arg_len = s.argument.as_ref().map_or(0, Vec::len);
    assert!(s.interpreter.len() + arg_len <= script::BINPRM_BUF_SIZE - 3);
    // (The interpreter may be empty: "#!" then a NUL is a name the kernel opens, ENOENT.)
    for part in std::iter::once(&s.interpreter).chain(s.argument.as_ref()) {
        assert!(!part.contains(&0) && !part.contains(&b'\n'), "{s:?}");
    }
    assert!(!s.interpreter.contains(&b' ') && !s.interpreter.contains(&b'\t'));
    if let Some(a) = &s.argument {
        // Leading blanks are skipped (it is empty only when a NUL starts it).
        assert!(!a.starts_with(b" ") && !a.starts_with(b"\t"));
    }
    // The interpreter's argv: [interpreter, argument?, script, argv[1..]].
    let argv = vec![b"argv0".to_vec(), b"one".to_vec(), Vec::new()];
    let out = script::rewrite_argv(&s, b"/x/script", &argv);
    assert_eq!(
        out.len(),
        2 + usize::from(s.argument.is_some()) + argv.len() - 1
    );
    assert_eq!(out[0], s.interpreter);
    assert_eq!(out[out.len() - 3], b"/x/script");
    assert_eq!(&out[out.len() - 2..], &argv[1..]);
}

// ---------------------------------------------------------------------------------------------
// ELF headers and program headers
// ---------------------------------------------------------------------------------------------

/// The ELF helpers in the order the planner uses them, on any bytes as a file.
pub fn elf_file(data: &[u8]) {
    if !elf::has_magic(data) {
        return;
    }
    let Some(machine) = elf::machine(data) else {
        return;
    };
    // Both layouts, whatever the machine says: the parser must cope with either.
    for class in [elf::ElfClass::Elf64, elf::ElfClass::Elf32] {
        let h = elf::parse_header(data, class);
        assert_eq!(h.class, class);
        let checked = if elf::handler_for(machine) == Some(class) {
            elf::check_header(&h)
        } else {
            elf::check_phdr_table(&h)
        };
        let Ok(size) = checked else {
            continue;
        };
        // The table size is what the planner reads: bounded by the kernel's limit, never by
        // a header field alone.
        assert!(size > 0 && size <= elf::MAX_PHDR_TABLE_BYTES, "{size}");
        assert_eq!(size, u64::from(h.e_phentsize) * u64::from(h.e_phnum));
        let start = usize::try_from(h.e_phoff)
            .unwrap_or(usize::MAX)
            .min(data.len());
        let table = &data[start..data.len().min(start.saturating_add(size as usize))];
        let Some(phdrs) = elf::parse_phdrs(table, class, h.e_phnum) else {
            assert!((table.len() as u64) < size, "a whole table must parse");
            continue;
        };
        assert_eq!(phdrs.len(), usize::from(h.e_phnum));
        let _ = elf::executable_stack(&phdrs);
        let _ = elf::phdr_vaddr(&h, &phdrs);
        let has_interp = elf::interp_header(&phdrs).is_some();
        for is_interp in [false, true] {
            for may_map_low in [false, true] {
                let cx = elf::LoadContext {
                    is_interp,
                    has_interp,
                    mmap_min_addr: 65536,
                    may_map_low,
                    file_size: u64::MAX,
                };
                let _ = elf::load_problem(&h, &phdrs, &cx);
            }
        }
        if let Some(ph) = elf::interp_header(&phdrs) {
            if elf::check_interp_size(ph).is_ok() {
                assert!(ph.p_filesz >= 2 && ph.p_filesz <= elf::MAX_INTERP_BYTES);
                let off = usize::try_from(ph.p_offset)
                    .unwrap_or(usize::MAX)
                    .min(data.len());
                let end = data.len().min(off.saturating_add(ph.p_filesz as usize));
                if let Ok(path) = elf::interp_path(&data[off..end], ph.p_filesz) {
                    assert!(!path.contains(&0));
                    assert!(path.len() < ph.p_filesz as usize);
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Other formats and the argument limits
// ---------------------------------------------------------------------------------------------

/// a.out recognition, a binfmt_misc entry parsed from text and matched, and the E2BIG budget.
pub fn formats_and_limits(data: &[u8]) {
    let mut inp = Input::new(data);
    let head = inp.short();
    if let Some(h) = aout::parse(head) {
        assert!(head.len() >= 32);
        let _ = h.magic_name();
    }
    let text = String::from_utf8_lossy(inp.long()).into_owned();
    let name = inp.short();
    if let Some(h) = misc::parse_entry("fuzz", &text, 1) {
        let _ = h.matches(head, name);
        let _ = h.matches(&[], &[]);
    }
    // Limits: any rlimit and counts; whatever fits must be within the budget.
    let rlimit = match inp.byte() % 4 {
        0 => None,
        1 => Some(u64::from(inp.u16()) << 4),
        2 => Some(u64::from(inp.u16()) << 12),
        _ => Some(u64::from(inp.u16()) << 20),
    };
    let argc = u64::from(inp.u16());
    let envc = u64::from(inp.byte());
    if let Ok(b) = limits::budget(rlimit, argc, envc) {
        assert!(b.limit > 0 && b.limit <= b.budget);
        let strings: Vec<Vec<u8>> = (0..(argc.min(8)))
            .map(|i| vec![b'a'; usize::from(inp.byte()) * (i as usize + 1)])
            .collect();
        if let Ok(used) = limits::charge_all(&b, b"/bin/x", &[], &strings) {
            assert!(used <= b.limit);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The planner, on a made-up filesystem
// ---------------------------------------------------------------------------------------------

/// The paths files can have; `#!` lines and PT_INTERP in the fuzz input name them.
pub const NAMES: [&[u8]; 6] = [
    b"/bin/a",
    b"/bin/sh",
    b"/lib64/ld-linux-x86-64.so.2",
    b"/usr/bin/env",
    b"/x/script",
    b"/x/b",
];

const MODES: [u32; 6] = [0o755, 0o644, 0o4755, 0o711, 0o2755, 0o000];

/// Decodes a filesystem and an execve call from fuzz bytes:
/// `flags, program, argc, argv..., envc, envp..., nfiles, (name, mode, owner, content)...,
/// misc entry text`.
pub fn plan_input(data: &[u8]) -> (ExecInput, MemoryFileSystem, bool) {
    let mut inp = Input::new(data);
    let flags = inp.byte();
    let program = match inp.byte() {
        n if (n as usize) < NAMES.len() => NAMES[n as usize].to_vec(),
        _ => inp.short().to_vec(),
    };
    let argc = inp.byte() % 6;
    let argv: Vec<Vec<u8>> = (0..argc).map(|_| inp.short().to_vec()).collect();
    let envc = inp.byte() % 4;
    let envp: Vec<Vec<u8>> = (0..envc).map(|_| inp.short().to_vec()).collect();
    let mut fs = MemoryFileSystem::new();
    let nfiles = inp.byte() % 5;
    for _ in 0..nfiles {
        let name = NAMES[inp.byte() as usize % NAMES.len()];
        let mode = MODES[inp.byte() as usize % MODES.len()];
        let owner = if inp.byte() % 2 == 0 { 0 } else { 1000 };
        let content = inp.long();
        fs.add(name, mode, owner, content);
    }
    if flags & 8 != 0 {
        fs.set_open_for_writing(1);
    }
    if let Some(h) = misc::parse_entry("fuzz", inp.rest(), 0) {
        fs.set_binfmt_misc(vec![h]);
    }
    let uid = if flags & 1 != 0 { 0 } else { 1000 };
    let input = ExecInput {
        program,
        argv,
        envp,
        cwd: "/".into(),
        credentials: Credentials {
            uid,
            euid: uid,
            gid: uid,
            egid: uid,
            groups: Vec::new(),
        },
        stack_rlimit: match (flags >> 1) & 3 {
            0 => Some(8 << 20),
            1 => None,
            2 => Some(100 * 1024),
            _ => Some(4096),
        },
    };
    (input, fs, flags & 16 != 0)
}

/// The planner (`evaluate` or the PATH search), then every rendering of its result.
pub fn planner(data: &[u8]) {
    let (input, fs, search) = plan_input(data);
    let p = if search {
        plan::evaluate_search(&input, Some(b"/bin:/x"), &fs)
    } else {
        plan::evaluate(&input, &fs)
    };
    assert!(
        fs.largest_read() <= MAX_READ,
        "the planner asked for {} bytes at once: a header field drives an allocation",
        fs.largest_read()
    );
    // The chain is bounded by the kernel's rewrite depth (+ the final ELF and its interpreter).
    assert!(
        p.chain.len() <= plan::MAX_REWRITE_DEPTH + 3,
        "{:?}",
        p.chain.len()
    );
    match p.outcome {
        // Without an ELF only when the model says it could not read the file that runs.
        plan::Outcome::Runs => assert!(
            p.final_elf().is_some() || !p.verified,
            "runs without an ELF: {p:?}"
        ),
        plan::Outcome::Fails(e) => assert!(e.0 > 0 && e.0 < 4096),
        plan::Outcome::Killed(sig) => assert!(sig == plan::SIGSEGV || sig == plan::SIGBUS),
    }
    assert!(!p.reason.is_empty() || p.outcome == plan::Outcome::Runs);
    let _ = forkexec::explain::verdict(&p);
    let _ = forkexec::explain::text::render(&p);
    let stack = forkexec::explain::stack_of(&p, &Default::default());
    if let Some(l) = &stack {
        assert!(l.rsp < l.top && l.rsp % 16 == 0, "rsp {:#x}", l.rsp);
        let _ = forkexec::explain::diagram::render(l);
    }
    let _ = forkexec::explain::json::render(&p, stack.as_ref()).to_string();
}

// ---------------------------------------------------------------------------------------------
// Seeds
// ---------------------------------------------------------------------------------------------

/// The loader's planning step (`forkexec::load::fuzz_plan`): the first two bytes give the
/// program's length, the rest is its optional interpreter. Must never panic, whatever the
/// headers say (segment sizes, offsets, alignments, phnum), nor allocate by a header field.
pub fn load_plan(data: &[u8]) {
    let _ = forkexec::load::fuzz_plan(data);
}

/// A `load` input: the program's length (2 bytes, little endian), the program, the interpreter.
pub fn encode_load(program: &[u8], interpreter: &[u8]) -> Vec<u8> {
    let mut out = (program.len() as u16).to_le_bytes().to_vec();
    out.extend_from_slice(program);
    out.extend_from_slice(interpreter);
    out
}

/// A static x86-64 ELF at 0x400000 doing exit_group(0), of type `e_type`, optionally with a
/// PT_INTERP naming `interp` and a PT_GNU_STACK.
pub fn elf_bytes(e_type: u16, interp: Option<&[u8]>, gnu_stack: bool) -> Vec<u8> {
    let mut b = ElfBuilder {
        e_type,
        gnu_stack,
        ..ElfBuilder::exec(EXIT_0)
    };
    if let Some(i) = interp {
        b = b.with_interp(i);
    }
    b.bytes()
}

/// Encodes a planner input (the inverse of [`plan_input`]) for seeds.
pub fn encode_plan(
    flags: u8,
    program: usize,
    argv: &[&[u8]],
    envp: &[&[u8]],
    files: &[(usize, usize, bool, Vec<u8>)],
    misc_text: &str,
) -> Vec<u8> {
    let mut v = vec![flags, program as u8, argv.len() as u8];
    for a in argv {
        v.push(a.len() as u8);
        v.extend_from_slice(a);
    }
    v.push(envp.len() as u8);
    for e in envp {
        v.push(e.len() as u8);
        v.extend_from_slice(e);
    }
    v.push(files.len() as u8);
    for (name, mode, root_owned, content) in files {
        v.push(*name as u8);
        v.push(*mode as u8);
        v.push(if *root_owned { 0 } else { 1 });
        v.extend_from_slice(&(content.len() as u16).to_le_bytes());
        v.extend_from_slice(content);
    }
    v.extend_from_slice(misc_text.as_bytes());
    v
}

/// The committed seeds of each target: (target, file name, bytes).
pub fn seeds() -> Vec<(&'static str, String, Vec<u8>)> {
    let mut out = Vec::new();
    let shebangs: [&[u8]; 10] = [
        b"#!/bin/sh\necho hi\n",
        b"#! /usr/bin/env python3 -u\n",
        b"#!/bin/sh\r\n",
        b"#!\t/bin/a  arg with  blanks \t\n",
        b"#!\n",
        b"#!     \n",
        b"#!/bin/sh",
        b"#!/nul\0after\n",
        b"no shebang",
        b"#!",
    ];
    for (i, s) in shebangs.iter().enumerate() {
        out.push(("shebang", format!("seed-{i}"), s.to_vec()));
    }
    let mut long = b"#!/".to_vec();
    long.extend_from_slice(&[b'a'; 300]);
    out.push(("shebang", "seed-long".into(), long));

    let static_exec = elf_bytes(elf::ET_EXEC, None, true);
    let pie = elf_bytes(elf::ET_DYN, Some(b"/lib64/ld-linux-x86-64.so.2"), true);
    let ld = elf_bytes(elf::ET_DYN, None, false);
    let mut i386 = static_exec.clone();
    i386[18..20].copy_from_slice(&elf::EM_386.to_le_bytes());
    let mut many = static_exec.clone();
    many[56..58].copy_from_slice(&0xffffu16.to_le_bytes());
    let mut far = static_exec.clone();
    far[32..40].copy_from_slice(&u64::MAX.to_le_bytes());
    for (name, b) in [
        ("static", &static_exec),
        ("pie-interp", &pie),
        ("ld", &ld),
        ("i386", &i386),
        ("phnum-ffff", &many),
        ("phoff-max", &far),
    ] {
        out.push(("elf", name.to_string(), b.clone()));
    }
    for (name, prog, interp) in [
        ("static", &static_exec, &Vec::new()),
        ("pie-with-ld", &pie, &ld),
        ("ld-alone", &ld, &Vec::new()),
        ("i386", &i386, &Vec::new()),
        ("phoff-max", &far, &Vec::new()),
    ] {
        out.push(("load", name.to_string(), encode_load(prog, interp)));
    }

    let mut f = vec![32u8];
    f.extend_from_slice(&0o413u32.to_le_bytes());
    f.extend_from_slice(&[0; 28]);
    let entry =
        "enabled\ninterpreter /bin/a\nflags: POC\noffset 0\nmagic 7f454c46\nmask ffffffff\n";
    f.extend_from_slice(&(entry.len() as u16).to_le_bytes());
    f.extend_from_slice(entry.as_bytes());
    f.extend_from_slice(&[3, b'a', b'.', b'x', 1, 0x20, 0, 3, 0, 0, 5, 7, 9]);
    out.push(("formats", "aout-misc".into(), f));

    // A writable segment with bss, whose file is cut before the page where the bss starts.
    let mut with_bss = ElfBuilder::exec(&[EXIT_0, &[0u8; 5000]].concat());
    with_bss.load_flags = elf::PF_R | elf::PF_W | elf::PF_X;
    with_bss.bss = 0x1000;
    let truncated_bss = with_bss.bytes();
    let plans: Vec<(&str, Vec<u8>)> = vec![
        (
            "static",
            encode_plan(
                1,
                0,
                &[b"a"],
                &[b"PATH=/bin"],
                &[(0, 0, true, static_exec.clone())],
                "",
            ),
        ),
        (
            "pie-with-ld",
            encode_plan(
                0,
                0,
                &[b"a", b"x"],
                &[],
                &[(0, 0, true, pie.clone()), (2, 0, true, ld.clone())],
                "",
            ),
        ),
        (
            "script-to-sh",
            encode_plan(
                0,
                4,
                &[b"script", b"arg"],
                &[],
                &[
                    (4, 0, false, b"#!/bin/sh -e\nexit 0\n".to_vec()),
                    (1, 0, true, static_exec.clone()),
                ],
                "",
            ),
        ),
        (
            "env-python",
            encode_plan(
                0,
                4,
                &[b"s"],
                &[b"PATH=/bin:/x"],
                &[
                    (4, 0, false, b"#!/usr/bin/env b\n".to_vec()),
                    (3, 0, true, static_exec.clone()),
                    (5, 0, true, static_exec.clone()),
                ],
                "",
            ),
        ),
        (
            "script-loop",
            encode_plan(
                0,
                4,
                &[b"s"],
                &[],
                &[(4, 0, false, b"#!/x/script\n".to_vec())],
                "",
            ),
        ),
        (
            "setuid-not-readable",
            encode_plan(
                0,
                0,
                &[b"a"],
                &[],
                &[
                    (0, 2, true, static_exec.clone()),
                    (5, 3, true, static_exec.clone()),
                ],
                "",
            ),
        ),
        (
            "misc-handler",
            encode_plan(
                16,
                5,
                &[b"b"],
                &[],
                &[
                    (5, 0, true, b"MZ\x90\0".to_vec()),
                    (0, 0, true, static_exec.clone()),
                ],
                "enabled\ninterpreter /bin/a\nflags: P\noffset 0\nmagic 4d5a\n",
            ),
        ),
        (
            "misc-o-then-script",
            encode_plan(
                0,
                5,
                &[b"b"],
                &[],
                &[
                    (5, 0, true, b"MZ\x90\0".to_vec()),
                    (4, 0, true, b"#!/bin/a\n".to_vec()),
                    (0, 0, true, static_exec.clone()),
                ],
                "enabled\ninterpreter /x/script\nflags: O\noffset 0\nmagic 4d5a\n",
            ),
        ),
        (
            "misc-f-interpreter-gone",
            encode_plan(
                0,
                5,
                &[b"b"],
                &[],
                &[(5, 0, true, b"MZ\x90\0".to_vec())],
                "enabled\ninterpreter /nonexistent\nflags: F\noffset 0\nmagic 4d5a\n",
            ),
        ),
        (
            "truncated-bss",
            encode_plan(
                1,
                0,
                &[b"a"],
                &[],
                &[(0, 0, true, truncated_bss[..4096].to_vec())],
                "",
            ),
        ),
        (
            "busy-and-tiny-stack",
            encode_plan(
                8 | 6,
                0,
                &[&[b'z'; 200]],
                &[],
                &[(0, 0, true, static_exec.clone())],
                "",
            ),
        ),
    ];
    for (name, b) in plans {
        out.push(("planner", name.to_string(), b));
    }
    out
}
