//! The loader's pure planning step: placement, segments, the stack bytes, errnos, and that no
//! input makes it panic. (Running programs is tested in cli/tests/load_real_programs.rs.)

use forkexec::load::plan::{LoadPlan, Placement};
use forkexec::load::{fuzz_plan, plan_load, Addresses, LoadInput};
use forkexec::model::stack::{at, HostAux, Ids, STACK_TOP};
use proptest::prelude::*;

/// An ELF64 file with the given PT_LOADs (vaddr, offset, filesz, memsz, flags), optional
/// PT_INTERP, at least `size` bytes long.
fn elf(
    e_type: u16,
    entry: u64,
    loads: &[(u64, u64, u64, u64, u32)],
    interp: Option<&[u8]>,
    size: usize,
) -> Vec<u8> {
    let nph = loads.len() + usize::from(interp.is_some());
    let mut f = vec![0u8; 64];
    f[..4].copy_from_slice(b"\x7fELF");
    f[4] = 2;
    f[5] = 1;
    f[16..18].copy_from_slice(&e_type.to_le_bytes());
    f[18..20].copy_from_slice(&62u16.to_le_bytes());
    f[24..32].copy_from_slice(&entry.to_le_bytes());
    f[32..40].copy_from_slice(&64u64.to_le_bytes());
    f[54..56].copy_from_slice(&56u16.to_le_bytes());
    f[56..58].copy_from_slice(&(nph as u16).to_le_bytes());
    let interp_off = 64 + 56 * nph as u64;
    let mut ph = |t: u32, flags: u32, off: u64, vaddr: u64, filesz: u64, memsz: u64| {
        for v in [t, flags] {
            f.extend_from_slice(&v.to_le_bytes());
        }
        for v in [off, vaddr, vaddr, filesz, memsz, 0x1000] {
            f.extend_from_slice(&v.to_le_bytes());
        }
    };
    if let Some(i) = interp {
        ph(3, 4, interp_off, 0, i.len() as u64, i.len() as u64);
    }
    for &(vaddr, off, filesz, memsz, flags) in loads {
        ph(1, flags, off, vaddr, filesz, memsz);
    }
    if let Some(i) = interp {
        f.extend_from_slice(i);
    }
    if f.len() < size {
        f.resize(size, 0xcc);
    }
    f
}

fn input<'a>(
    program: &'a [u8],
    interpreter: Option<&'a [u8]>,
    argv: &'a [Vec<u8>],
    envp: &'a [Vec<u8>],
) -> LoadInput<'a> {
    LoadInput {
        program,
        interpreter,
        argv,
        envp,
        execfn: b"/bin/prog",
        addresses: Addresses {
            program: 0x5555_5555_4000,
            interpreter: 0x7fff_f7f0_0000,
            stack_top: STACK_TOP,
            stack_size: 8 << 20,
            stack_gap: 123,
        },
        host: HostAux::default(),
        vdso: Some(0x7fff_f7fc_1000),
        ids: Ids {
            uid: 1,
            euid: 2,
            gid: 3,
            egid: 4,
            secure: false,
        },
        random: *b"0123456789abcdef",
        stack_rlimit: Some(8 << 20),
    }
}

fn word(plan: &LoadPlan, addr: u64) -> u64 {
    let off = (addr - plan.stack.rsp) as usize;
    u64::from_ne_bytes(plan.stack.image[off..off + 8].try_into().unwrap())
}

fn cstr(plan: &LoadPlan, addr: u64) -> Vec<u8> {
    let off = (addr - plan.stack.rsp) as usize;
    let s = &plan.stack.image[off..];
    s[..s.iter().position(|&c| c == 0).unwrap()].to_vec()
}

#[test]
fn static_exec_is_placed_at_its_addresses_with_bss_zeroing() {
    // Text at 0x401000 from offset 0x1000; data at 0x403e10 from offset 0x2e10 with a bss.
    let prog = elf(
        2,
        0x401000,
        &[
            (0x400000, 0, 0x200, 0x200, 4),
            (0x401000, 0x1000, 0x100, 0x100, 5),
            (0x403e10, 0x2e10, 0x200, 0x5000, 6),
        ],
        None,
        0x3010,
    );
    let argv = vec![b"prog".to_vec(), b"arg one".to_vec()];
    let envp = vec![b"A=1".to_vec()];
    let plan = plan_load(&input(&prog, None, &argv, &envp)).unwrap();
    let p = &plan.program;
    assert_eq!(
        (p.placement, p.bias, p.start, p.end),
        (Placement::Fixed, 0, 0x400000, 0x409000)
    );
    assert_eq!(plan.entry, 0x401000);
    assert_eq!(plan.brk, 0x409000);
    assert!(plan.interpreter.is_none());
    let d = &p.segments[2];
    assert_eq!((d.start, d.len, d.file_offset), (0x403000, 0x6000, 0x2000));
    // The file bytes run to p_filesz (0xe10 into the page + 0x200); the rest of that page is
    // zeroed, the pages after it are anonymous.
    assert_eq!((d.file_len, d.zero_len), (0x1010, 0xff0));
    assert_eq!(d.prot.show(), "rw-");
    assert_eq!(d.bss_prot.show(), "rw-");
    // Without a bss the whole last file page is visible, clipped at the end of the file.
    assert_eq!(p.segments[1].file_len, 0x1000);
    assert_eq!(p.segments[0].file_len, 0x1000);
    assert_eq!(p.holes, vec![(0x402000, 0x1000)]);
    assert_eq!(p.phdr, 0x400040);

    // The stack: argc, argv, envp, auxv as the kernel writes them.
    let s = &plan.stack;
    assert_eq!(s.rsp % 16, 0);
    assert_eq!(s.image.len() as u64, s.top - s.rsp);
    assert_eq!(word(&plan, s.rsp), 2);
    assert_eq!(cstr(&plan, word(&plan, s.rsp + 8)), b"prog");
    assert_eq!(cstr(&plan, word(&plan, s.rsp + 16)), b"arg one");
    assert_eq!(word(&plan, s.rsp + 24), 0);
    assert_eq!(cstr(&plan, word(&plan, s.rsp + 32)), b"A=1");
    assert_eq!(word(&plan, s.rsp + 40), 0);
    let mut a = s.rsp + 48;
    for &(k, v) in &s.auxv {
        assert_eq!((word(&plan, a), word(&plan, a + 8)), (k, v));
        a += 16;
    }
    let aux = |key| {
        s.auxv
            .iter()
            .find(|(k, _)| *k == key)
            .map(|&(_, v)| v)
            .unwrap()
    };
    assert_eq!(s.auxv.last(), Some(&(at::NULL, 0)));
    assert_eq!(s.auxv[0], (at::SYSINFO_EHDR, 0x7fff_f7fc_1000));
    assert_eq!(aux(at::PHDR), 0x400040);
    assert_eq!(aux(at::PHNUM), 3);
    assert_eq!(aux(at::ENTRY), 0x401000);
    assert_eq!(aux(at::BASE), 0);
    assert_eq!(
        (aux(at::UID), aux(at::EUID), aux(at::GID), aux(at::EGID)),
        (1, 2, 3, 4)
    );
    assert_eq!(cstr(&plan, aux(at::EXECFN)), b"/bin/prog");
    assert_eq!(cstr(&plan, aux(at::PLATFORM)), b"x86_64");
    let r = (aux(at::RANDOM) - s.rsp) as usize;
    assert_eq!(&s.image[r..r + 16], b"0123456789abcdef");
}

#[test]
fn bss_of_a_read_only_segment_keeps_file_bytes_and_gets_writable_pages() {
    // The kernel cannot zero the tail of a read-only file page (it ignores the fault), and
    // makes the pages after it read-write (plus exec with PF_X) whatever the flags say.
    let prog = elf(
        2,
        0x401000,
        &[
            (0x400000, 0, 0x100, 0x3000, 4),
            (0x404000, 0x1000, 0x100, 0x3000, 5),
        ],
        None,
        0x1800,
    );
    let argv = vec![b"p".to_vec()];
    let plan = plan_load(&input(&prog, None, &argv, &[])).unwrap();
    let (r, rx) = (&plan.program.segments[0], &plan.program.segments[1]);
    assert_eq!(
        (r.file_len, r.zero_len, r.prot.show(), r.bss_prot.show()),
        (0x1000, 0, "r--".into(), "rw-".into())
    );
    assert_eq!(
        (rx.file_len, rx.zero_len, rx.bss_prot.show()),
        (0x800, 0, "rwx".into())
    );
}

#[test]
fn pie_with_interpreter_is_biased_and_starts_in_the_interpreter() {
    let ld = elf(
        3,
        0x1100,
        &[(0, 0, 0x2000, 0x2000, 5), (0x3000, 0x2000, 0x100, 0x800, 6)],
        None,
        0x2100,
    );
    let prog = elf(
        3,
        0x1040,
        &[(0, 0, 0x1100, 0x1100, 5)],
        Some(b"/lib/ld.so\0"),
        0x1100,
    );
    let argv = vec![b"p".to_vec()];
    let plan = plan_load(&input(&prog, Some(&ld), &argv, &[])).unwrap();
    assert_eq!(plan.program.placement, Placement::DynBase);
    assert_eq!(plan.program.bias, 0x5555_5555_4000);
    assert_eq!(
        plan.program.interp_path.as_deref(),
        Some(&b"/lib/ld.so"[..])
    );
    let i = plan.interpreter.as_ref().unwrap();
    assert_eq!(
        (i.placement, i.bias),
        (Placement::Anywhere, 0x7fff_f7f0_0000)
    );
    assert_eq!(plan.entry, 0x7fff_f7f0_1100);
    let aux = |key| {
        plan.stack
            .auxv
            .iter()
            .find(|(k, _)| *k == key)
            .map(|&(_, v)| v)
            .unwrap()
    };
    assert_eq!(aux(at::ENTRY), 0x5555_5555_5040);
    assert_eq!(aux(at::BASE), 0x7fff_f7f0_0000);
    assert_eq!(aux(at::PHDR), 0x5555_5555_4040);
    // The program is not given its interpreter: ENOENT, as for a missing PT_INTERP file.
    let e = plan_load(&input(&prog, None, &argv, &[])).unwrap_err();
    assert_eq!(e.errno.0, libc::ENOENT);
    // Overlapping images cannot both be mapped.
    let mut overlap = input(&prog, Some(&ld), &argv, &[]);
    overlap.addresses.interpreter = 0x5555_5555_4000;
    assert_eq!(plan_load(&overlap).unwrap_err().errno.0, libc::ENOMEM);
    // A base not aligned as the image needs is refused.
    let mut bad = input(&prog, Some(&ld), &argv, &[]);
    bad.addresses.program = 0x5555_5555_4800;
    assert_eq!(plan_load(&bad).unwrap_err().errno.0, libc::EINVAL);
}

#[test]
fn errnos_follow_the_kernel() {
    let ok = elf(2, 0x400078, &[(0x400000, 0, 0x100, 0x100, 5)], None, 0x100);
    let argv = vec![b"p".to_vec()];
    let errno = |bytes: &[u8], interp: Option<&[u8]>| {
        plan_load(&input(bytes, interp, &argv, &[]))
            .map(|_| ())
            .map_err(|e| e.errno.0)
    };
    assert_eq!(errno(&ok, None), Ok(()));
    assert_eq!(errno(b"", None), Err(libc::ENOEXEC));
    assert_eq!(errno(&ok[..90], None), Err(libc::ENOEXEC));
    let mut rel = ok.clone();
    rel[16] = 1;
    assert_eq!(errno(&rel, None), Err(libc::ENOEXEC));
    let mut arm = ok.clone();
    arm[18] = 183;
    assert_eq!(errno(&arm, None), Err(libc::ENOEXEC));
    let mut i386 = ok.clone();
    i386[18] = 3;
    assert_eq!(errno(&i386, None), Err(libc::ENOEXEC));
    let mut phnum0 = ok.clone();
    phnum0[56] = 0;
    assert_eq!(errno(&phnum0, None), Err(libc::ENOEXEC));
    // After the kernel's point of no return: EINVAL here.
    let over = elf(
        2,
        0x400078,
        &[(0x7fff_ffff_0000, 0, 0x100, 0x10_0000, 5)],
        None,
        0x100,
    );
    assert_eq!(errno(&over, None), Err(libc::EINVAL));
    let fz = elf(2, 0x400078, &[(0x400000, 0, 0x100, 0x10, 5)], None, 0x100);
    assert_eq!(errno(&fz, None), Err(libc::EINVAL));
    // File bytes past the end of the file.
    let trunc = elf(
        2,
        0x400078,
        &[(0x400000, 0, 0x5000, 0x5000, 5)],
        None,
        0x100,
    );
    assert_eq!(errno(&trunc, None), Err(libc::EIO));
    // Interpreters: short is EIO, not ELF or another machine ELIBBAD.
    let prog = elf(3, 0x1040, &[(0, 0, 0x200, 0x200, 5)], Some(b"/ld\0"), 0x200);
    assert_eq!(errno(&prog, Some(b"\x7fELF")), Err(libc::EIO));
    assert_eq!(errno(&prog, Some(&[b'x'; 100])), Err(libc::ELIBBAD));
    assert_eq!(errno(&prog, Some(&arm)), Err(libc::ELIBBAD));
    let unterminated = elf(3, 0x1040, &[(0, 0, 0x200, 0x200, 5)], Some(b"/ld"), 0x200);
    assert_eq!(errno(&unterminated, None), Err(libc::ENOEXEC));
    // Two problems, the kernel's order: the interpreter is opened and its header checked
    // before the point of no return, the program's segments judged after it. A bad PT_LOAD
    // (p_filesz > p_memsz) loses to a missing interpreter (ENOENT) and to a bad one
    // (ELIBBAD); with a good interpreter it is EINVAL, and so is one of the interpreter's own.
    let bad_load = elf(3, 0x1040, &[(0, 0, 0x200, 0x10, 5)], Some(b"/ld\0"), 0x200);
    assert_eq!(errno(&bad_load, None), Err(libc::ENOENT));
    assert_eq!(errno(&bad_load, Some(&arm)), Err(libc::ELIBBAD));
    let ld = elf(3, 0x1040, &[(0, 0, 0x200, 0x200, 5)], None, 0x200);
    assert_eq!(errno(&bad_load, Some(&ld)), Err(libc::EINVAL));
    let bad_ld = elf(3, 0x1040, &[(0, 0, 0x200, 0x10, 5)], None, 0x200);
    assert_eq!(errno(&prog, Some(&bad_ld)), Err(libc::EINVAL));
}

#[test]
fn arguments_over_the_budget_are_e2big() {
    let ok = elf(2, 0x400078, &[(0x400000, 0, 0x100, 0x100, 5)], None, 0x100);
    let long = vec![vec![b'a'; 131072]];
    assert_eq!(
        plan_load(&input(&ok, None, &long, &[]))
            .unwrap_err()
            .errno
            .0,
        libc::E2BIG
    );
    let many: Vec<Vec<u8>> = (0..20).map(|_| vec![b'b'; 120_000]).collect();
    assert_eq!(
        plan_load(&input(&ok, None, &many, &[]))
            .unwrap_err()
            .errno
            .0,
        libc::E2BIG
    );
    // An empty argv becomes [""], as since Linux 5.18.
    let plan = plan_load(&input(&ok, None, &[], &[])).unwrap();
    assert_eq!(word(&plan, plan.stack.rsp), 1);
}

#[test]
fn real_programs_plan_like_the_kernel() {
    let Ok(prog) = std::fs::read("/bin/true") else {
        return;
    };
    let Ok(ld) = std::fs::read("/lib64/ld-linux-x86-64.so.2") else {
        return;
    };
    let argv = vec![b"true".to_vec()];
    let mut i = input(&prog, Some(&ld), &argv, &[]);
    let img =
        forkexec::load::elf::ElfImage::parse(&prog, forkexec::load::elf::Role::Program).unwrap();
    let ldi =
        forkexec::load::elf::ElfImage::parse(&ld, forkexec::load::elf::Role::Interpreter).unwrap();
    i.addresses = Addresses::example(&img, Some(&ldi));
    let plan = plan_load(&i).unwrap();
    for s in plan
        .program
        .segments
        .iter()
        .chain(&plan.interpreter.as_ref().unwrap().segments)
    {
        assert_eq!(s.start % 4096, 0);
        assert_eq!(s.file_offset % 4096, 0);
        assert_eq!(s.len % 4096, 0);
        assert!(s.file_len <= s.len);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = fuzz_plan(&bytes);
    }

    #[test]
    fn mutated_elves_never_panic(
        edits in proptest::collection::vec((0usize..0x300, any::<u8>()), 1..12),
        cut in 0usize..0x320,
        base in any::<u64>(),
    ) {
        let ld = elf(3, 0x1100, &[(0, 0, 0x200, 0x200, 5), (0x1000, 0x200, 0x80, 0x800, 6)], None, 0x300);
        let mut prog = elf(3, 0x1040, &[(0, 0, 0x200, 0x200, 5), (0x2000, 0x200, 0x80, 0x900, 6)], Some(b"/lib/ld.so\0"), 0x300);
        let mut ld2 = ld.clone();
        for (i, (off, v)) in edits.iter().enumerate() {
            if i % 2 == 0 { prog[*off] = *v } else { ld2[*off] = *v }
        }
        prog.truncate(cut.max(1));
        let argv = vec![b"p".to_vec()];
        for interp in [&ld, &ld2] {
            let mut inp = input(&prog, Some(interp), &argv, &[]);
            let _ = plan_load(&inp);
            inp.addresses.program = base;
            inp.addresses.interpreter = base.rotate_left(17);
            inp.addresses.stack_top = base.rotate_left(5);
            let _ = plan_load(&inp);
        }
        let mut data = (prog.len() as u16).to_le_bytes().to_vec();
        data.extend_from_slice(&prog);
        data.extend_from_slice(&ld2);
        let _ = fuzz_plan(&data);
    }

    #[test]
    fn mutated_real_programs_never_panic(
        edits in proptest::collection::vec((0usize..2048, any::<u8>()), 1..16),
        cut in 0usize..0x10000,
    ) {
        let (Ok(mut prog), Ok(mut ld)) = (
            std::fs::read("/bin/true"),
            std::fs::read("/lib64/ld-linux-x86-64.so.2"),
        ) else {
            return Ok(());
        };
        for (i, (off, v)) in edits.iter().enumerate() {
            let target = if i % 2 == 0 { &mut prog } else { &mut ld };
            if let Some(b) = target.get_mut(*off) {
                *b = *v;
            }
        }
        if cut < prog.len() && cut % 3 == 0 {
            prog.truncate(cut);
        }
        let argv = vec![b"true".to_vec()];
        let _ = plan_load(&input(&prog, Some(&ld), &argv, &[]));
    }
}

#[test]
fn exec_in_a_process_with_threads_is_refused_and_bad_input_returns() {
    // The test harness runs this on a thread of its own; park another one to be sure.
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let t = std::thread::spawn(move || {
        let _ = rx.recv();
    });
    let argv = vec![b"true".to_vec()];
    let e = forkexec::load::exec_file("/bin/true", &argv, &[]);
    assert_eq!(e.errno.0, libc::EBUSY, "{e}");
    // Bad input is judged before the thread check, as execve judges the file first.
    let e = forkexec::load::exec_memory(b"\x7fELF garbage", &argv, &[]);
    assert_eq!(e.errno.0, libc::ENOEXEC, "{e}");
    let e = forkexec::load::exec_file("/no/such/file", &argv, &[]);
    assert_eq!(e.errno.0, libc::ENOENT, "{e}");
    let e = forkexec::load::exec_file("/", &argv, &[]);
    assert_eq!(e.errno.0, libc::EACCES, "{e}");
    tx.send(()).unwrap();
    t.join().unwrap();
}

#[test]
fn any_stack_top_is_refused_or_planned_without_panicking() {
    let ok = elf(2, 0x400078, &[(0x400000, 0, 0x100, 0x100, 5)], None, 0x100);
    let argv = vec![b"p".to_vec()];
    for top in [
        0,
        8,
        0x1000,
        0x10_0000,
        u64::MAX,
        u64::MAX - 0xfff,
        0x8000_0000_0000,
    ] {
        let mut i = input(&ok, None, &argv, &[]);
        i.addresses.stack_top = top;
        let r = plan_load(&i);
        if !(8 << 20..=STACK_TOP).contains(&top) {
            assert_eq!(r.unwrap_err().errno.0, libc::EINVAL, "top {top:#x}");
        }
        i.addresses.stack_size = u64::MAX;
        assert_eq!(plan_load(&i).unwrap_err().errno.0, libc::EINVAL);
    }
}
