//! Differential test of the execve model's binfmt_misc: handlers are registered in a private
//! binfmt_misc instance (Linux 6.7+: mountable in a new user namespace, and seen only by the
//! processes of that namespace), and for each case the model's prediction (outcome, errno,
//! final argv; the initial stack where flags change it) is compared with the real execve.
//!
//! The whole test runs in a helper process (this test binary, re-run) made in a new user and
//! mount namespace; it mounts binfmt_misc on /proc/sys/fs/binfmt_misc there, so both the
//! kernel's exec and the model (which reads that directory) see the same handlers, and nothing
//! outside the namespace does. The cases follow the kernel's Documentation/admin-guide/
//! binfmt-misc.rst: magic and extension matching, offsets and masks, flags P, O, C and F,
//! enabling and disabling entries and the whole filesystem, the order among formats and among
//! entries, and interpreters of every kind.
//!
//! Skips (with the reason printed) on kernels before 6.7 and where user namespaces cannot be
//! made; the cases that need other users inside the namespace (flag C, permissions) skip when
//! the test does not run as root.

mod support;

use forkexec::model::binfmt::elf::{PF_R, PF_W, PF_X};
use forkexec::model::elf_builder::ElfBuilder as Elf;
use forkexec::model::plan::Outcome;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;
use support::execve_diff::{b, Call, Real, World, DUMP_STACK, PRINT_ARGS};

const TEST: &str = "explain_agrees_with_the_kernel_on_binfmt_misc";
const HELPER: &str = "binfmt_misc_in_a_private_mount";
const MOUNT: &str = "/proc/sys/fs/binfmt_misc";
/// A uid/gid mapped in the namespace when the test runs as root.
const USER: u32 = 1000;

#[test]
fn explain_agrees_with_the_kernel_on_binfmt_misc() {
    if support::helper_mode(HELPER) {
        return inside_the_namespace();
    }
    let release = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let release = release.trim();
    if kernel_version(release) < (6, 7) {
        return support::skip(&format!(
            "binfmt_misc can be mounted in a user namespace since Linux 6.7; this is {release}"
        ));
    }
    let run =
        match support::reexec::run_helper_in_namespaces(TEST, HELPER, Duration::from_secs(300)) {
            Ok(run) => run,
            Err(why) => return support::skip(&why),
        };
    print!("{}", run.stdout);
    eprint!("{}", run.stderr);
    assert!(
        run.success,
        "the helper failed ({:?}): see the case table above",
        run.code
    );
    assert!(
        run.stdout.contains(" agree, 0 disagree") || run.stdout.contains("SKIP:"),
        "the helper printed no tally"
    );
}

/// `6.18.44-foo` -> (6, 18).
fn kernel_version(release: &str) -> (u32, u32) {
    let mut parts = release
        .split(|c: char| !c.is_ascii_digit())
        .map(|p| p.parse().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
}

// ---------------------------------------------------------------------------------------------
// The private binfmt_misc instance.

/// The mounted instance: register, enable, disable and remove handlers.
struct Misc {
    dir: PathBuf,
}

/// `\xHH` for every byte: how magic and mask are written to `register`.
fn escaped(bytes: &[u8]) -> Vec<u8> {
    bytes
        .iter()
        .flat_map(|b| format!("\\x{b:02x}").into_bytes())
        .collect()
}

impl Misc {
    fn write(&self, file: &str, data: &[u8]) {
        fs::write(self.dir.join(file), data).unwrap_or_else(|e| {
            panic!("write {:?} to {file}: {e}", data.escape_ascii().to_string())
        });
    }

    /// Removes every handler and enables the filesystem.
    fn reset(&self) {
        self.write("status", b"-1");
        self.write("status", b"1");
    }

    /// `:name:M:offset:magic:mask:interpreter:flags`.
    fn magic(
        &self,
        name: &str,
        offset: usize,
        magic: &[u8],
        mask: &[u8],
        interp: &[u8],
        flags: &str,
    ) {
        let line = [
            format!(":{name}:M:{offset}:").as_bytes(),
            &escaped(magic),
            b":",
            &escaped(mask),
            b":",
            interp,
            format!(":{flags}").as_bytes(),
        ]
        .concat();
        self.write("register", &line);
    }

    /// `:name:E::extension::interpreter:flags`.
    fn extension(&self, name: &str, ext: &[u8], interp: &[u8], flags: &str) {
        let line = [
            format!(":{name}:E::").as_bytes(),
            ext,
            b"::",
            interp,
            format!(":{flags}").as_bytes(),
        ]
        .concat();
        self.write("register", &line);
    }

    /// Writes `1` (enable), `0` (disable) or `-1` (remove) to an entry.
    fn entry(&self, name: &str, command: &[u8]) {
        self.write(name, command);
    }
}

/// Runs the next registrations on one CPU: entries registered on different CPUs get inode
/// numbers from different per-CPU batches, so their numbers do not follow their order.
fn pin_to_cpu(cpu: usize) -> bool {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; CPU_SET writes inside it; the call
    // only changes this thread's affinity.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) == 0
    }
}

fn inside_the_namespace() {
    let target = std::ffi::CString::new(MOUNT).unwrap();
    // SAFETY: valid NUL-terminated strings; mounts a binfmt_misc instance of this (new) user
    // namespace in this (new) mount namespace.
    let r = unsafe {
        libc::mount(
            c"binfmt_misc".as_ptr(),
            target.as_ptr(),
            c"binfmt_misc".as_ptr(),
            0,
            std::ptr::null(),
        )
    };
    if r != 0 {
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::ENODEV) {
            return support::skip("this kernel has no binfmt_misc (CONFIG_BINFMT_MISC)");
        }
        panic!("mount binfmt_misc in a new user namespace on Linux 6.7+: {e}");
    }
    let misc = Misc {
        dir: PathBuf::from(MOUNT),
    };
    let mut w = World::new();
    // Every directory on the way readable by the other user of the permission cases.
    fs::set_permissions(&w.dir, fs::Permissions::from_mode(0o755)).expect("chmod dir");
    let k = Kit::new(&w);
    matching_cases(&mut w, &misc, &k);
    flag_cases(&mut w, &misc, &k);
    enable_cases(&mut w, &misc, &k);
    order_cases(&mut w, &misc, &k);
    interpreter_cases(&mut w, &misc, &k);
    recursion_cases(&mut w, &misc, &k);
    byte_cases(&mut w, &misc, &k);
    credential_cases(&mut w, &misc);
    misc.reset();
    w.finish(60);
}

// ---------------------------------------------------------------------------------------------
// Files the cases share.

struct Kit {
    /// printargs and ld.so (a static PIE that prints its argv too): two interpreters whose
    /// output tells which one ran (argv[0] is the interpreter's path).
    pa: Vec<u8>,
    ld: Vec<u8>,
    /// A file no format claims.
    garbage: PathBuf,
    /// An AArch64 ELF (ENOEXEC here without a handler).
    arm: PathBuf,
    arm_bytes: Vec<u8>,
    /// Dumps its stack (for the flags that change the auxv).
    dumpstack: PathBuf,
}

impl Kit {
    fn new(w: &World) -> Kit {
        let mut arm = Elf::exec(PRINT_ARGS);
        arm.machine = 183;
        let arm_bytes = arm.bytes();
        Kit {
            pa: b(&w.printargs),
            ld: b(&w.ld),
            garbage: w.file("garbage", b"garbage, no format\n", 0o755),
            arm: w.file("arm", &arm_bytes, 0o755),
            arm_bytes,
            dumpstack: w.file("dumpstack", &Elf::exec(DUMP_STACK).bytes(), 0o755),
        }
    }
}

/// A call of `path` with argv[0] = `argv0` and then `args`.
fn call_as(w: &World, path: &[u8], argv0: &[u8], args: &[&[u8]]) -> Call {
    let mut c = w.call(path, args);
    if let Some(a) = c.argv.as_mut() {
        a[0] = argv0.to_vec();
    }
    c
}

fn path_join(dir: &Path, name: &[u8]) -> PathBuf {
    dir.join(std::ffi::OsStr::from_bytes(name))
}

// ---------------------------------------------------------------------------------------------
// The cases.

fn matching_cases(w: &mut World, m: &Misc, k: &Kit) {
    m.reset();
    m.magic("mz", 0, b"MZ", b"", &k.pa, "");
    let mz = w.file("dos.bin", b"MZ\x90\x00 a DOS program", 0o755);
    w.check(
        "magic at offset 0: runs the interpreter",
        &b(&mz),
        &[b"a1", b"a2"],
    );
    let mx = w.file("not-dos.bin", b"MX\x90\x00 almost", 0o755);
    w.check("magic differs: ENOEXEC", &b(&mx), &[]);

    m.reset();
    m.magic("off", 10, b"ABC", b"", &k.pa, "");
    let at10 = w.file("at10", b"0123456789ABCdef", 0o755);
    w.check("magic at offset 10", &b(&at10), &[b"x"]);
    let at11 = w.file("at11", b"01234567890ABCdef", 0o755);
    w.check("magic one byte later: ENOEXEC", &b(&at11), &[]);

    m.reset();
    m.magic("zeros", 100, b"\0\0", b"", &k.pa, "");
    let short = w.file("short", b"hi\n", 0o755);
    w.check(
        "magic past the end matches the zero-filled buffer",
        &b(&short),
        &[],
    );

    m.reset();
    m.magic("masked", 0, b"\x40AB", b"\xf0\xff\xff", &k.pa, "");
    let low_bits = w.file("masked-ok", b"\x4fAB rest", 0o755);
    w.check("mask: bits masked out may differ", &b(&low_bits), &[]);
    let high_bits = w.file("masked-no", b"\x5fAB rest", 0o755);
    w.check(
        "mask: a bit that counts differs: ENOEXEC",
        &b(&high_bits),
        &[],
    );

    // qemu-user's entry for AArch64: the ELF header under a mask.
    m.reset();
    let mut mask = vec![0xff; 20];
    mask[7] = 0;
    mask[16] = 0xfe;
    m.magic("qemu-aarch64", 0, &k.arm_bytes[..20], &mask, &k.pa, "");
    w.check("qemu-style mask claims a foreign ELF", &b(&k.arm), &[b"q"]);

    m.reset();
    m.extension("xyz", b"xyz", &k.pa, "");
    let g = fs::read(&k.garbage).unwrap();
    let ext = w.file("a.xyz", &g, 0o755);
    w.check("extension matches", &b(&ext), &[b"e"]);
    w.check(
        "extension, relative path: argv[1] as given",
        b"./a.xyz",
        &[],
    );
    let later = w.file("a.xyz.txt", &g, 0o755);
    w.check(
        "extension is after the last dot only: ENOEXEC",
        &b(&later),
        &[],
    );
    let upper = w.file("a.XYZ", &g, 0o755);
    w.check("extension is case-sensitive: ENOEXEC", &b(&upper), &[]);
    let d = w.dir.join("dir.xyz");
    fs::create_dir_all(&d).unwrap();
    let in_dir = d.join("prog");
    support::execve_diff::write_file(&in_dir, &g, 0o755);
    w.check(
        "a dot in a directory name is no extension: ENOEXEC",
        &b(&in_dir),
        &[],
    );
    let link = w.dir.join("link.xyz");
    symlink(&k.garbage, &link).unwrap();
    w.check(
        "extension of the name given, through a symlink",
        &b(&link),
        &[],
    );
    let link = w.dir.join("link-to-xyz");
    symlink(&ext, &link).unwrap();
    w.check(
        "a symlink without the extension to one with: ENOEXEC",
        &b(&link),
        &[],
    );
    let to_ext = w.script(
        "to-ext.sh",
        &[b"#!", b(&ext).as_slice(), b" arg\n"].concat(),
    );
    w.check(
        "extension of a #! script's interpreter",
        &b(&to_ext),
        &[b"s"],
    );
}

fn flag_cases(w: &mut World, m: &Misc, k: &Kit) {
    let bin = w.file("flags.bin", b"FLAGS\x00 payload", 0o755);
    for (flags, label) in [
        ("", "no flags: argv[0] replaced by the path"),
        ("P", "flag P: argv[0] kept after the path"),
        ("O", "flag O: argv as without flags"),
        ("PO", "flags PO"),
    ] {
        m.reset();
        m.magic("flags", 0, b"FLAGS", b"", &k.pa, flags);
        let c = call_as(w, &b(&bin), b"custom0", &[b"a1"]);
        w.check_call(label, c, true);
    }
    m.reset();
    m.magic("flags", 0, b"FLAGS", b"", &k.pa, "P");
    let mut c = w.call(&b(&bin), &[]);
    c.argv = Some(Vec::new());
    w.check_call("flag P with an empty argv: \"\" kept", c, true);

    // The auxv: AT_FLAGS says P, AT_EXECFD holds the binary's fd with O.
    for (flags, label) in [
        ("", "stack without flags"),
        ("P", "stack with P (AT_FLAGS)"),
        ("O", "stack with O (AT_EXECFD)"),
        ("PO", "stack with PO"),
    ] {
        m.reset();
        m.magic("flags", 0, b"FLAGS", b"", &b(&k.dumpstack), flags);
        let mut c = call_as(w, &b(&bin), b"zero", &[b"one"]);
        c.no_randomize = true;
        w.check_stack(label, c);
    }

    // F: the interpreter was opened at registration; later changes to its path do not count.
    let fixed = w.file("fixed-interp", &Elf::exec(PRINT_ARGS).bytes(), 0o755);
    for (flags, label) in [("F", "flag F"), ("", "no flag F")] {
        m.reset();
        m.magic("fixed", 0, b"FLAGS", b"", &b(&fixed), flags);
        fs::set_permissions(&fixed, fs::Permissions::from_mode(0o644)).unwrap();
        w.check(
            &format!("{label}: interpreter made mode 0644 since"),
            &b(&bin),
            &[],
        );
        fs::set_permissions(&fixed, fs::Permissions::from_mode(0o755)).unwrap();
        let moved = w.dir.join("fixed-interp.moved");
        fs::rename(&fixed, &moved).unwrap();
        w.check(
            &format!("{label}: interpreter moved away since"),
            &b(&bin),
            &[],
        );
        fs::rename(&moved, &fixed).unwrap();
    }
}

fn enable_cases(w: &mut World, m: &Misc, k: &Kit) {
    let bin = w.file("toggle.bin", b"TOGGLE here", 0o755);
    m.reset();
    m.magic("toggle", 0, b"TOGGLE", b"", &k.pa, "");
    w.check("entry enabled", &b(&bin), &[]);
    m.entry("toggle", b"0");
    w.check("entry disabled: ENOEXEC", &b(&bin), &[]);
    m.entry("toggle", b"1\n");
    w.check("entry enabled again", &b(&bin), &[]);
    m.write("status", b"0");
    w.check("whole binfmt_misc disabled: ENOEXEC", &b(&bin), &[]);
    m.write("status", b"1");
    w.check("whole binfmt_misc enabled again", &b(&bin), &[]);
    m.entry("toggle", b"-1");
    w.check("entry removed: ENOEXEC", &b(&bin), &[]);
    m.magic("toggle", 0, b"TOGGLE", b"", &k.pa, "");
    m.write("status", b"-1");
    w.check("all entries removed: ENOEXEC", &b(&bin), &[]);
}

fn order_cases(w: &mut World, m: &Misc, k: &Kit) {
    // binfmt_misc comes before ELF and #!.
    let mut tagged = Elf::exec(PRINT_ARGS).bytes();
    tagged[7] = 0x61; // EI_OSABI, which the ELF loader ignores
    let tagged = w.file("tagged-elf", &tagged, 0o755);
    m.reset();
    w.check(
        "an x86-64 ELF without a handler runs itself",
        &b(&tagged),
        &[b"t"],
    );
    m.magic("tagged", 0, b"\x7fELF\x02\x01\x01\x61", b"", &k.pa, "");
    w.check(
        "a handler claims an x86-64 ELF before the ELF loader",
        &b(&tagged),
        &[b"t"],
    );
    let script = w.script("bang.sh", b"#!/nonexistent/interpreter\n");
    m.magic("bang", 0, b"#!", b"", &k.pa, "");
    w.check(
        "a handler claims a #! script before binfmt_script",
        &b(&script),
        &[b"s"],
    );

    // Among entries the newest registration is tried first, whatever its inode number:
    // register on alternating CPUs when there are two.
    let two_cpus = std::thread::available_parallelism().is_ok_and(|n| n.get() >= 2);
    let bin = w.file("both.bin", b"BOTH match", 0o755);
    m.reset();
    if two_cpus {
        pin_to_cpu(1);
    }
    m.magic("older", 0, b"BOTH", b"", &k.pa, "");
    if two_cpus {
        pin_to_cpu(0);
    }
    m.magic("newer", 0, b"BO", b"", &k.ld, "");
    w.check("two handlers match: the newer one runs", &b(&bin), &[]);
    m.entry("newer", b"0");
    w.check("the newer one disabled: the older one runs", &b(&bin), &[]);
    m.entry("newer", b"1");
    m.entry("older", b"-1");
    if two_cpus {
        pin_to_cpu(1);
    }
    m.magic("older", 0, b"BOTH", b"", &k.pa, "");
    w.check(
        "the older one registered again: it is the newest",
        &b(&bin),
        &[],
    );
    // Looked up before it exists (a cached negative name) and registered later.
    let _ = fs::read(Path::new(MOUNT).join("latest"));
    if two_cpus {
        pin_to_cpu(0);
    }
    m.magic("latest", 0, b"B", b"", &k.ld, "");
    w.check("a name looked up before its registration", &b(&bin), &[]);
}

fn interpreter_cases(w: &mut World, m: &Misc, k: &Kit) {
    let bin = w.file("interp.bin", b"INTERP case", 0o755);
    let run_with = |w: &mut World, label: &str, interp: &[u8], flags: &str| {
        m.reset();
        m.magic("interp", 0, b"INTERP", b"", interp, flags);
        let c = call_as(w, &b(&bin), b"zero", &[b"one"]);
        w.check_call(label, c, true);
    };
    run_with(w, "interpreter: static ELF", &k.pa.clone(), "");
    run_with(w, "interpreter: static PIE", &k.ld.clone(), "");
    let dynamic = w.file(
        "dyn-interp",
        &Elf::exec(PRINT_ARGS).with_interp(&k.ld).bytes(),
        0o755,
    );
    run_with(w, "interpreter: dynamic ELF (PT_INTERP)", &b(&dynamic), "");
    let wrap = w.script("wrap.sh", &[b"#!", k.pa.as_slice(), b" -w\n"].concat());
    run_with(w, "interpreter: a #! script", &b(&wrap), "");
    run_with(w, "interpreter: a #! script, flag P", &b(&wrap), "P");
    run_with(
        w,
        "interpreter: a #! script, flag O: ENOEXEC",
        &b(&wrap),
        "O",
    );
    run_with(
        w,
        "interpreter: a #! script, flag C: ENOEXEC",
        &b(&wrap),
        "C",
    );
    run_with(w, "interpreter missing: ENOENT", b"/nonexistent/interp", "");
    let dir = b(&w.dir);
    run_with(w, "interpreter is a directory: EACCES", &dir, "");
    let no_x = w.file("interp-0644", &Elf::exec(PRINT_ARGS).bytes(), 0o644);
    run_with(w, "interpreter mode 0644: EACCES", &b(&no_x), "");
    run_with(w, "interpreter is garbage: ENOEXEC", &b(&k.garbage), "");
    let no_ld = w.file(
        "interp-no-ld",
        &Elf::exec(PRINT_ARGS)
            .with_interp(b"/nonexistent/ld.so")
            .bytes(),
        0o755,
    );
    run_with(w, "interpreter's PT_INTERP missing: ENOENT", &b(&no_ld), "");
    let mut data = Elf::exec(&[PRINT_ARGS, &[0u8; 5000]].concat());
    data.load_flags = PF_R | PF_W | PF_X;
    data.bss = 0x1000;
    let cut = w.file("interp-cut", &data.bytes()[..4096], 0o755);
    run_with(
        w,
        "interpreter truncated in its bss page: SIGSEGV",
        &b(&cut),
        "",
    );
    // A relative interpreter is looked up from the caller's cwd at each exec.
    run_with(
        w,
        "interpreter relative, found from the cwd",
        b"printargs",
        "",
    );
    let sub = w.dir.join("sub");
    fs::create_dir_all(&sub).unwrap();
    let mut c = w.call(&b(&bin), &[]);
    c.cwd = sub;
    w.check_call(
        "interpreter relative, missing from another cwd: ENOENT",
        c,
        true,
    );
    // The interpreter is a foreign ELF that another handler claims: two rewrites.
    m.reset();
    let mut mask = vec![0xff; 20];
    mask[7] = 0;
    m.magic("qemu", 0, &k.arm_bytes[..20], &mask, &k.pa, "");
    m.magic("interp", 0, b"INTERP", b"", &b(&k.arm), "");
    w.check(
        "interpreter is claimed by another handler",
        &b(&bin),
        &[b"x"],
    );
}

fn recursion_cases(w: &mut World, m: &Misc, k: &Kit) {
    // x.l1 -> i.l2 -> ... -> i.lN (garbage files) -> printargs: N rewrites.
    for levels in [5usize, 6] {
        m.reset();
        for i in 1..=levels {
            let interp = if i == levels {
                k.pa.clone()
            } else {
                let p = w.dir.join(format!("i{levels}.l{}", i + 1));
                fs::copy(&k.garbage, &p).unwrap();
                b(&p)
            };
            m.extension(&format!("l{i}"), format!("l{i}").as_bytes(), &interp, "");
        }
        let start = w.dir.join(format!("x{levels}.l1"));
        fs::copy(&k.garbage, &start).unwrap();
        let label = if levels == 5 {
            "5 binfmt_misc rewrites: runs"
        } else {
            "6 binfmt_misc rewrites: ELOOP"
        };
        w.check(label, &b(&start), &[]);
    }
    // A handler whose interpreter it claims again.
    let own = w.dir.join("own.self");
    fs::copy(&k.garbage, &own).unwrap();
    for (flags, label) in [
        ("", "a handler claiming its own interpreter: ELOOP"),
        ("O", "the same with flag O: ENOEXEC at the second rewrite"),
        ("P", "the same with flag P: ELOOP"),
    ] {
        m.reset();
        m.extension("self", b"self", &b(&own), flags);
        w.check(label, &b(&own), &[]);
    }
    // #! scripts and handlers alternating: c-1.m1 (handler m1) -> c-2.sh (#!) -> c-3.m3
    // (handler m3) -> ... -> printargs, one rewrite per file.
    for total in [5usize, 6] {
        m.reset();
        let files: Vec<PathBuf> = (1..=total)
            .map(|i| {
                let ext = if i % 2 == 1 {
                    format!("m{i}")
                } else {
                    "sh".into()
                };
                w.dir.join(format!("mixed{total}-{i}.{ext}"))
            })
            .collect();
        for i in 0..total {
            let next = files.get(i + 1).map_or(k.pa.clone(), |f| b(f));
            if i % 2 == 0 {
                fs::copy(&k.garbage, &files[i]).unwrap();
                let ext = format!("m{}", i + 1);
                m.extension(&ext, ext.as_bytes(), &next, "");
            } else {
                let line = [b"#!", next.as_slice(), b"\n"].concat();
                support::execve_diff::write_file(&files[i], &line, 0o755);
            }
        }
        let label = format!("{total} rewrites, #! and binfmt_misc alternating");
        w.check(&label, &b(&files[0]), &[]);
    }
}

fn byte_cases(w: &mut World, m: &Misc, k: &Kit) {
    let bin = w.file("bytes.bin", b"BYTES here", 0o755);
    for (name, label) in [
        (
            &b"p\xff"[..],
            "interpreter path with a byte that is not UTF-8",
        ),
        (b"p\nq", "interpreter path with a newline"),
        (b"p q", "interpreter path with a blank"),
    ] {
        let link = path_join(&w.dir, name);
        if !link.exists() {
            symlink(&w.printargs, &link).unwrap();
        }
        m.reset();
        m.magic("bytes", 0, b"BYTES", b"", &b(&link), "");
        w.check(label, &b(&bin), &[b"b"]);
    }
    m.reset();
    m.extension("odd-ext", b"x\xff", &k.pa, "");
    let odd = path_join(&w.dir, b"odd.x\xff");
    fs::copy(&k.garbage, &odd).unwrap();
    w.check("extension with a byte that is not UTF-8", &b(&odd), &[]);
    // The arguments the rewrite adds must fit too.
    let long = w.dir.join("l".repeat(200));
    if !long.exists() {
        symlink(&w.printargs, &long).unwrap();
    }
    m.reset();
    m.magic("long", 0, b"BYTES", b"", &b(&long), "");
    let rlimit = Some(200u64 << 10);
    let count = 4u64;
    let budget = forkexec::model::limits::budget(rlimit, 1 + count, 1).expect("budget");
    let path = b(&bin);
    let fixed = (path.len() as u64 + 1) + 2 + 4; // filename, argv[0] "a", "A=1"
    let per = (budget.limit - fixed - 100) / count;
    let mut argv = vec![b"a".to_vec()];
    argv.extend((0..count).map(|_| vec![b'x'; per as usize - 1]));
    let mut c = w.call(&path, &[]);
    c.argv = Some(argv);
    c.stack_rlimit = Some(rlimit);
    w.check_call(
        "strings fit, the handler's added ones do not: E2BIG",
        c,
        true,
    );
}

/// x86-64 code: `exit_group(geteuid())`: the exit status is the effective uid modulo 256.
const EXIT_EUID: &[u8] = &[
    0xb8, 0x6b, 0x00, 0x00, 0x00, // mov eax, 107   ; geteuid
    0x0f, 0x05, //                   syscall
    0x89, 0xc7, //                   mov edi, eax
    0xb8, 0xe7, 0x00, 0x00, 0x00, // mov eax, 231   ; exit_group
    0x0f, 0x05, //                   syscall
];

/// Runs `c`, whose final program is EXIT_EUID, and compares the effective uid it had with the
/// model's credentials after the exec (a set-id exec turns address randomization back on, so
/// the stack dump cannot be compared byte for byte).
fn check_euid(w: &mut World, name: &str, c: Call) {
    let plan = support::execve_diff::model(&c);
    let real = support::execve_diff::run_real(&c);
    let want = plan.credentials_after.euid;
    let verdict = match (&plan.outcome, &real) {
        (Outcome::Runs, Real::Ran { code, .. }) if *code as u32 == want % 256 => Ok(()),
        _ => Err(format!(
            "model {:?} with euid {want}, kernel {real:?}",
            plan.outcome
        )),
    };
    println!(
        "{name:<48} {:<34} {}",
        format!("euid {want}"),
        match &verdict {
            Ok(()) => "agree".to_string(),
            Err(e) => format!("DISAGREE: {e}"),
        }
    );
    w.results.push((name.into(), verdict));
}

fn credential_cases(w: &mut World, m: &Misc) {
    let names = [
        "flag C: setuid binary, credentials from it",
        "flag O: setuid binary ignored, interpreter's credentials",
        "no flag: setuid interpreter's credentials",
        "other user: interpreter mode 0700: EACCES",
        "other user: same with flag F: runs",
    ];
    let probe = w.dir.join("chown-probe");
    fs::write(&probe, b"").unwrap();
    if !support::is_root() || std::os::unix::fs::chown(&probe, Some(USER), Some(USER)).is_err() {
        for n in names {
            w.skip(n, "needs uid 1000 mapped in the namespace (run as root)");
        }
        return;
    }
    let exit_euid = w.file("exit-euid", &Elf::exec(EXIT_EUID).bytes(), 0o755);
    let bin = w.file("setuid.bin", b"CREDS binary", 0o755);
    std::os::unix::fs::chown(&bin, Some(USER), Some(USER)).unwrap();
    fs::set_permissions(&bin, fs::Permissions::from_mode(0o4755)).unwrap();
    for (flags, label) in [("C", names[0]), ("O", names[1])] {
        m.reset();
        m.magic("creds", 0, b"CREDS", b"", &b(&exit_euid), flags);
        check_euid(w, label, w.call(&b(&bin), &[]));
    }
    let suid_interp = w.file("exit-euid-setuid", &Elf::exec(EXIT_EUID).bytes(), 0o755);
    std::os::unix::fs::chown(&suid_interp, Some(USER), Some(USER)).unwrap();
    fs::set_permissions(&suid_interp, fs::Permissions::from_mode(0o4755)).unwrap();
    let plain = w.file("creds-plain.bin", b"CREDS plain", 0o755);
    m.reset();
    m.magic("creds", 0, b"CREDS", b"", &b(&suid_interp), "");
    check_euid(w, names[2], w.call(&b(&plain), &[]));
    // Another user: the interpreter's permission is checked at each exec, unless F opened it
    // at registration (as root here).
    let private = w.file("private-interp", &Elf::exec(PRINT_ARGS).bytes(), 0o700);
    let other = w.file("other.bin", b"OTHER user", 0o755);
    for (flags, label) in [("", names[3]), ("F", names[4])] {
        m.reset();
        m.magic("other", 0, b"OTHER", b"", &b(&private), flags);
        let mut c = w.call(&b(&other), &[]);
        c.ids = Some((USER, USER));
        w.check_call(label, c, true);
    }
}

#[test]
fn kernel_versions_parse_as_the_skip_expects() {
    assert_eq!(kernel_version("6.18.44-fc-v669"), (6, 18));
    assert_eq!(kernel_version("6.7.0"), (6, 7));
    assert!(kernel_version("5.15.0-91-generic") < (6, 7));
    assert!(kernel_version("6.6.30") < (6, 7));
    assert_eq!(kernel_version(""), (0, 0));
}
