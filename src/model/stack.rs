//! The initial stack of a new x86_64 process, as data: what `create_elf_tables` writes, where,
//! and how big each piece is.
//!
//! From the top down: an 8-byte zero end marker, the AT_EXECFN string, the envp strings, the
//! argv strings (each block in order, lowest first), a random gap of 0..8 KiB and 16-byte
//! alignment, the AT_PLATFORM string "x86_64", 16 AT_RANDOM bytes, padding, then upwards from
//! rsp: argc, argv pointers, NULL, envp pointers, NULL, the auxv pairs ending with AT_NULL.
//! rsp is 16-byte aligned.
//!
//! Addresses are computed for a stack top of [`STACK_TOP`] (where it is without ASLR) and a
//! chosen random gap; offsets from the top and sizes do not depend on either.

use super::limits::{PAGE_SIZE, STACK_END_MARKER};

/// The top of the stack of a 64-bit process without address space randomization.
pub const STACK_TOP: u64 = 0x7fff_ffff_f000;
/// The largest random gap below the strings (`arch_align_stack`).
pub const MAX_RANDOM_GAP: u64 = 8191;
/// AT_PLATFORM on x86_64.
pub const PLATFORM: &[u8] = b"x86_64";
/// Bytes of AT_RANDOM.
pub const RANDOM_BYTES: u64 = 16;

/// auxv keys.
pub mod at {
    /// End of vector.
    pub const NULL: u64 = 0;
    /// Program headers address.
    pub const PHDR: u64 = 3;
    /// Size of a program header.
    pub const PHENT: u64 = 4;
    /// Number of program headers.
    pub const PHNUM: u64 = 5;
    /// Page size.
    pub const PAGESZ: u64 = 6;
    /// Interpreter base.
    pub const BASE: u64 = 7;
    /// Flags.
    pub const FLAGS: u64 = 8;
    /// Program entry.
    pub const ENTRY: u64 = 9;
    /// Real uid.
    pub const UID: u64 = 11;
    /// Effective uid.
    pub const EUID: u64 = 12;
    /// Real gid.
    pub const GID: u64 = 13;
    /// Effective gid.
    pub const EGID: u64 = 14;
    /// Platform string.
    pub const PLATFORM: u64 = 15;
    /// CPU capabilities.
    pub const HWCAP: u64 = 16;
    /// Clock ticks per second.
    pub const CLKTCK: u64 = 17;
    /// Secure mode.
    pub const SECURE: u64 = 23;
    /// 16 random bytes.
    pub const RANDOM: u64 = 25;
    /// More CPU capabilities.
    pub const HWCAP2: u64 = 26;
    /// rseq feature size.
    pub const RSEQ_FEATURE_SIZE: u64 = 27;
    /// rseq alignment.
    pub const RSEQ_ALIGN: u64 = 28;
    /// File name of the program.
    pub const EXECFN: u64 = 31;
    /// The vDSO.
    pub const SYSINFO_EHDR: u64 = 33;
    /// Minimal signal stack size.
    pub const MINSIGSTKSZ: u64 = 51;
    /// fd of the program (binfmt_misc flag O).
    pub const EXECFD: u64 = 2;
}

/// The name of an auxv key.
pub fn aux_name(key: u64) -> &'static str {
    match key {
        at::NULL => "AT_NULL",
        at::EXECFD => "AT_EXECFD",
        at::PHDR => "AT_PHDR",
        at::PHENT => "AT_PHENT",
        at::PHNUM => "AT_PHNUM",
        at::PAGESZ => "AT_PAGESZ",
        at::BASE => "AT_BASE",
        at::FLAGS => "AT_FLAGS",
        at::ENTRY => "AT_ENTRY",
        at::UID => "AT_UID",
        at::EUID => "AT_EUID",
        at::GID => "AT_GID",
        at::EGID => "AT_EGID",
        at::PLATFORM => "AT_PLATFORM",
        at::HWCAP => "AT_HWCAP",
        at::CLKTCK => "AT_CLKTCK",
        at::SECURE => "AT_SECURE",
        at::RANDOM => "AT_RANDOM",
        at::HWCAP2 => "AT_HWCAP2",
        at::RSEQ_FEATURE_SIZE => "AT_RSEQ_FEATURE_SIZE",
        at::RSEQ_ALIGN => "AT_RSEQ_ALIGN",
        at::EXECFN => "AT_EXECFN",
        at::SYSINFO_EHDR => "AT_SYSINFO_EHDR",
        at::MINSIGSTKSZ => "AT_MINSIGSTKSZ",
        _ => "AT_?",
    }
}

/// The machine-wide auxv values, as this process received them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostAux {
    /// AT_SYSINFO_EHDR, when the vDSO is on (its address differs per process).
    pub vdso: bool,
    /// AT_MINSIGSTKSZ.
    pub minsigstksz: u64,
    /// AT_HWCAP.
    pub hwcap: u64,
    /// AT_HWCAP2.
    pub hwcap2: u64,
    /// AT_PAGESZ.
    pub pagesz: u64,
    /// AT_CLKTCK.
    pub clktck: u64,
    /// AT_RSEQ_FEATURE_SIZE and AT_RSEQ_ALIGN, when the kernel has rseq.
    pub rseq: Option<(u64, u64)>,
}

impl Default for HostAux {
    /// The values of a Linux 6.18 x86_64 machine.
    fn default() -> Self {
        HostAux {
            vdso: true,
            minsigstksz: 3632,
            hwcap: 0x178b_fbff,
            hwcap2: 0x2,
            pagesz: PAGE_SIZE,
            clktck: 100,
            rseq: Some((28, 32)),
        }
    }
}

/// Decodes an auxv image (pairs of native u64) up to AT_NULL.
pub fn parse_auxv(bytes: &[u8]) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    for pair in bytes.chunks_exact(16) {
        let mut k = [0u8; 8];
        let mut v = [0u8; 8];
        k.copy_from_slice(&pair[..8]);
        v.copy_from_slice(&pair[8..]);
        let (k, v) = (u64::from_ne_bytes(k), u64::from_ne_bytes(v));
        if k == at::NULL {
            break;
        }
        out.push((k, v));
    }
    out
}

impl HostAux {
    /// From /proc/self/auxv; the defaults for anything missing.
    pub fn from_proc() -> Self {
        let Ok(bytes) = std::fs::read("/proc/self/auxv") else {
            return HostAux::default();
        };
        let pairs = parse_auxv(&bytes);
        let get = |k| pairs.iter().find(|(key, _)| *key == k).map(|(_, v)| *v);
        let d = HostAux::default();
        HostAux {
            vdso: get(at::SYSINFO_EHDR).is_some(),
            minsigstksz: get(at::MINSIGSTKSZ).unwrap_or(d.minsigstksz),
            hwcap: get(at::HWCAP).unwrap_or(d.hwcap),
            hwcap2: get(at::HWCAP2).unwrap_or(d.hwcap2),
            pagesz: get(at::PAGESZ).unwrap_or(d.pagesz),
            clktck: get(at::CLKTCK).unwrap_or(d.clktck),
            rseq: match (get(at::RSEQ_FEATURE_SIZE), get(at::RSEQ_ALIGN)) {
                (Some(a), Some(b)) => Some((a, b)),
                _ => None,
            },
        }
    }

    /// How many auxv entries the kernel writes (AT_NULL not counted).
    pub fn entries(&self, execfd: bool) -> u64 {
        // MINSIGSTKSZ, HWCAP, PAGESZ, CLKTCK, PHDR, PHENT, PHNUM, BASE, FLAGS, ENTRY, UID,
        // EUID, GID, EGID, SECURE, RANDOM, HWCAP2, EXECFN, PLATFORM.
        19 + u64::from(self.vdso) + u64::from(execfd) + if self.rseq.is_some() { 2 } else { 0 }
    }
}

/// An auxv value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuxValue {
    /// A plain number.
    Value(u64),
    /// An address on this stack.
    Stack(u64),
    /// An address relative to something placed at exec time ("load bias", "vDSO").
    Relative(&'static str, u64),
}

/// The numbers of the program that runs, for AT_PHDR, AT_PHNUM, AT_ENTRY, AT_BASE.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProgramFacts {
    /// The program is position-independent (ET_DYN): addresses are relative to a load bias.
    pub pie: bool,
    /// AT_PHDR before the load bias.
    pub phdr_vaddr: u64,
    /// e_phnum.
    pub phnum: u64,
    /// e_entry before the load bias.
    pub entry: u64,
    /// There is an ELF interpreter (AT_BASE is its load address).
    pub interpreter: bool,
}

/// Ids after the exec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ids {
    /// Real uid.
    pub uid: u32,
    /// Effective uid.
    pub euid: u32,
    /// Real gid.
    pub gid: u32,
    /// Effective gid.
    pub egid: u32,
    /// AT_SECURE.
    pub secure: bool,
}

/// Everything the stack image depends on.
#[derive(Clone, Debug)]
pub struct StackInput<'a> {
    /// Final argv.
    pub argv: &'a [Vec<u8>],
    /// envp.
    pub envp: &'a [Vec<u8>],
    /// The AT_EXECFN string (the path given to execve).
    pub execfn: &'a [u8],
    /// The program that runs.
    pub program: ProgramFacts,
    /// Ids after the exec.
    pub ids: Ids,
    /// AT_FLAGS bit 0 (binfmt_misc P).
    pub preserve_argv0: bool,
    /// AT_EXECFD's value, with binfmt_misc O.
    pub execfd: Option<u64>,
    /// Machine-wide values.
    pub host: HostAux,
    /// The top of the stack.
    pub top: u64,
    /// The random gap below the strings (0..=8191).
    pub gap: u64,
}

/// One row of the stack diagram.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackItem {
    /// Lowest address of the item.
    pub addr: u64,
    /// Size in bytes.
    pub size: u64,
    /// What it is.
    pub label: String,
    /// Its content, when short enough to show.
    pub value: Option<String>,
}

/// The stack image: items from the highest address down.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackLayout {
    /// The top (one past the highest byte).
    pub top: u64,
    /// Where rsp points: at argc.
    pub rsp: u64,
    /// Items, highest address first.
    pub items: Vec<StackItem>,
    /// The auxv pairs in order (AT_NULL last).
    pub auxv: Vec<(u64, AuxValue)>,
    /// Where each string starts, for writing the image (the userland loader does).
    pub strings: StringAddresses,
}

/// The addresses of the strings on the stack, and of the auxv array.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct StringAddresses {
    /// The AT_EXECFN string.
    pub execfn: u64,
    /// Each argv string, in argv order.
    pub argv: Vec<u64>,
    /// Each envp string, in envp order.
    pub envp: Vec<u64>,
    /// The AT_PLATFORM string.
    pub platform: u64,
    /// The 16 AT_RANDOM bytes.
    pub random: u64,
    /// The first auxv pair (the array ends with AT_NULL).
    pub auxv: u64,
}

fn round_up(x: u64, to: u64) -> u64 {
    x.div_ceil(to).saturating_mul(to)
}

/// Distances below the top of each region, for `used` string bytes.
struct Distances {
    strings_low: u64,
    aligned: u64,
    platform: u64,
    random: u64,
    rsp: u64,
    items: u64,
    aux_words: u64,
}

fn distances(argc: u64, envc: u64, used: u64, gap: u64, aux_entries: u64) -> Distances {
    let strings_low = STACK_END_MARKER + used;
    let aligned = round_up(strings_low + gap, 16);
    let platform = aligned + PLATFORM.len() as u64 + 1;
    let random = platform + RANDOM_BYTES;
    let aux_words = 2 * (aux_entries + 1);
    let items = (argc + 1) + (envc + 1) + 1;
    let rsp = round_up(random + aux_words * 8 + items * 8, 16);
    Distances {
        strings_low,
        aligned,
        platform,
        random,
        rsp,
        items,
        aux_words,
    }
}

/// Bytes from the top of the stack down to rsp, with `used` bytes of strings and a random gap.
pub fn bytes_needed(argv: &[Vec<u8>], envp: &[Vec<u8>], used: u64, gap: u64, execfd: bool) -> u64 {
    let aux = HostAux::default().entries(execfd);
    distances(argv.len() as u64, envp.len() as u64, used, gap, aux).rsp
}

/// How many bytes of stack the tables may use: the stack can grow to the page-rounded rlimit,
/// and is at least as big as the pages the strings already took.
pub fn capacity(rlimit: u64, used: u64) -> u64 {
    let strings = round_up(STACK_END_MARKER + used, PAGE_SIZE).max(PAGE_SIZE);
    strings.max(rlimit & !(PAGE_SIZE - 1))
}

fn short(b: &[u8]) -> String {
    if b.len() <= 40 {
        format!("\"{}\"", b.escape_ascii())
    } else {
        format!("\"{}...\"", b[..37].escape_ascii())
    }
}

/// Builds the stack image.
pub fn layout(s: &StackInput<'_>) -> StackLayout {
    let charge = |v: &[u8]| v.len() as u64 + 1;
    let execfn_bytes = charge(s.execfn);
    let env_bytes: u64 = s.envp.iter().map(|e| charge(e)).sum();
    let arg_bytes: u64 = s.argv.iter().map(|a| charge(a)).sum();
    let used = execfn_bytes + env_bytes + arg_bytes;
    let argc = s.argv.len() as u64;
    let envc = s.envp.len() as u64;
    let aux_entries = s.host.entries(s.execfd.is_some());
    let d = distances(argc, envc, used, s.gap, aux_entries);
    let top = s.top;
    let at = |dist: u64| top.wrapping_sub(dist);
    let mut items = Vec::new();

    items.push(StackItem {
        addr: at(STACK_END_MARKER),
        size: STACK_END_MARKER,
        label: "end marker".into(),
        value: Some("0".into()),
    });
    let mut cursor = STACK_END_MARKER + execfn_bytes;
    items.push(StackItem {
        addr: at(cursor),
        size: execfn_bytes,
        label: "AT_EXECFN string".into(),
        value: Some(short(s.execfn)),
    });
    let execfn_addr = at(cursor);
    // Strings were copied last-first, so the highest is the last envp string.
    let mut env_addrs = vec![0u64; s.envp.len()];
    for (i, e) in s.envp.iter().enumerate().rev() {
        cursor += charge(e);
        env_addrs[i] = at(cursor);
        items.push(StackItem {
            addr: at(cursor),
            size: charge(e),
            label: format!("envp[{i}] string"),
            value: Some(short(e)),
        });
    }
    let mut arg_addrs = vec![0u64; s.argv.len()];
    for (i, a) in s.argv.iter().enumerate().rev() {
        cursor += charge(a);
        arg_addrs[i] = at(cursor);
        items.push(StackItem {
            addr: at(cursor),
            size: charge(a),
            label: format!("argv[{i}] string"),
            value: Some(short(a)),
        });
    }
    if d.aligned > d.strings_low {
        items.push(StackItem {
            addr: at(d.aligned),
            size: d.aligned - d.strings_low,
            label: "random gap + 16-byte alignment".into(),
            value: Some(format!("gap {} (0..{} at random)", s.gap, MAX_RANDOM_GAP)),
        });
    }
    let platform_addr = at(d.platform);
    items.push(StackItem {
        addr: platform_addr,
        size: d.platform - d.aligned,
        label: "AT_PLATFORM string".into(),
        value: Some(short(PLATFORM)),
    });
    let random_addr = at(d.random);
    items.push(StackItem {
        addr: random_addr,
        size: RANDOM_BYTES,
        label: "AT_RANDOM bytes".into(),
        value: Some("16 random bytes".into()),
    });

    // The auxv, in the kernel's order.
    let p = &s.program;
    let bias = |v: u64| {
        if p.pie {
            AuxValue::Relative("load bias", v)
        } else {
            AuxValue::Value(v)
        }
    };
    let mut auxv: Vec<(u64, AuxValue)> = Vec::new();
    if s.host.vdso {
        auxv.push((at::SYSINFO_EHDR, AuxValue::Relative("vDSO", 0)));
    }
    auxv.push((at::MINSIGSTKSZ, AuxValue::Value(s.host.minsigstksz)));
    auxv.push((at::HWCAP, AuxValue::Value(s.host.hwcap)));
    auxv.push((at::PAGESZ, AuxValue::Value(s.host.pagesz)));
    auxv.push((at::CLKTCK, AuxValue::Value(s.host.clktck)));
    auxv.push((at::PHDR, bias(p.phdr_vaddr)));
    auxv.push((at::PHENT, AuxValue::Value(56)));
    auxv.push((at::PHNUM, AuxValue::Value(p.phnum)));
    auxv.push((
        at::BASE,
        if p.interpreter {
            AuxValue::Relative("interpreter base", 0)
        } else {
            AuxValue::Value(0)
        },
    ));
    auxv.push((at::FLAGS, AuxValue::Value(u64::from(s.preserve_argv0))));
    auxv.push((at::ENTRY, bias(p.entry)));
    auxv.push((at::UID, AuxValue::Value(u64::from(s.ids.uid))));
    auxv.push((at::EUID, AuxValue::Value(u64::from(s.ids.euid))));
    auxv.push((at::GID, AuxValue::Value(u64::from(s.ids.gid))));
    auxv.push((at::EGID, AuxValue::Value(u64::from(s.ids.egid))));
    auxv.push((at::SECURE, AuxValue::Value(u64::from(s.ids.secure))));
    auxv.push((at::RANDOM, AuxValue::Stack(random_addr)));
    auxv.push((at::HWCAP2, AuxValue::Value(s.host.hwcap2)));
    auxv.push((at::EXECFN, AuxValue::Stack(execfn_addr)));
    auxv.push((at::PLATFORM, AuxValue::Stack(platform_addr)));
    if let Some(fd) = s.execfd {
        auxv.push((at::EXECFD, AuxValue::Value(fd)));
    }
    if let Some((size, align)) = s.host.rseq {
        auxv.push((at::RSEQ_FEATURE_SIZE, AuxValue::Value(size)));
        auxv.push((at::RSEQ_ALIGN, AuxValue::Value(align)));
    }
    auxv.push((at::NULL, AuxValue::Value(0)));

    let rsp = at(d.rsp);
    let aux_low = rsp + d.items * 8;
    let aux_high = aux_low + d.aux_words * 8;
    if random_addr > aux_high {
        items.push(StackItem {
            addr: aux_high,
            size: random_addr - aux_high,
            label: "padding (rsp is 16-byte aligned)".into(),
            value: None,
        });
    }
    for (i, (k, v)) in auxv.iter().enumerate().rev() {
        items.push(StackItem {
            addr: aux_low + i as u64 * 16,
            size: 16,
            label: format!("auxv {}", aux_name(*k)),
            value: Some(match v {
                AuxValue::Value(n) => format!("{n:#x}"),
                AuxValue::Stack(a) => format!("{a:#x}"),
                AuxValue::Relative(what, 0) => what.to_string(),
                AuxValue::Relative(what, off) => format!("{what} + {off:#x}"),
            }),
        });
    }
    let envp_base = rsp + 8 * (argc + 2);
    items.push(StackItem {
        addr: envp_base + 8 * envc,
        size: 8,
        label: "envp NULL".into(),
        value: Some("0".into()),
    });
    for i in (0..s.envp.len()).rev() {
        items.push(StackItem {
            addr: envp_base + 8 * i as u64,
            size: 8,
            label: format!("envp[{i}]"),
            value: Some(format!("{:#x}", env_addrs[i])),
        });
    }
    items.push(StackItem {
        addr: rsp + 8 * (argc + 1),
        size: 8,
        label: "argv NULL".into(),
        value: Some("0".into()),
    });
    for i in (0..s.argv.len()).rev() {
        items.push(StackItem {
            addr: rsp + 8 + 8 * i as u64,
            size: 8,
            label: format!("argv[{i}]"),
            value: Some(format!("{:#x}", arg_addrs[i])),
        });
    }
    items.push(StackItem {
        addr: rsp,
        size: 8,
        label: "argc  <- rsp".into(),
        value: Some(argc.to_string()),
    });
    StackLayout {
        top,
        rsp,
        items,
        auxv,
        strings: StringAddresses {
            execfn: execfn_addr,
            argv: arg_addrs,
            envp: env_addrs,
            platform: platform_addr,
            random: random_addr,
            auxv: aux_low,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input<'a>(argv: &'a [Vec<u8>], envp: &'a [Vec<u8>]) -> StackInput<'a> {
        StackInput {
            argv,
            envp,
            execfn: b"/bin/true",
            program: ProgramFacts {
                pie: true,
                phdr_vaddr: 0x40,
                phnum: 13,
                entry: 0x1040,
                interpreter: true,
            },
            ids: Ids {
                uid: 0,
                euid: 0,
                gid: 0,
                egid: 0,
                secure: false,
            },
            preserve_argv0: false,
            execfd: None,
            host: HostAux::default(),
            top: STACK_TOP,
            gap: 0,
        }
    }

    #[test]
    fn rsp_is_aligned_and_items_are_contiguous_from_the_top() {
        for gap in [0, 1, 15, 4000, MAX_RANDOM_GAP] {
            let argv = vec![b"/bin/true".to_vec(), b"x".to_vec()];
            let envp = vec![b"A=1".to_vec()];
            let l = layout(&StackInput {
                gap,
                ..input(&argv, &envp)
            });
            assert_eq!(l.rsp % 16, 0);
            let mut expect = l.top;
            for it in &l.items {
                assert_eq!(it.addr + it.size, expect, "{}", it.label);
                expect = it.addr;
            }
            assert_eq!(expect, l.rsp);
            assert_eq!(l.auxv.len(), 23);
            assert_eq!(l.auxv[0].0, at::SYSINFO_EHDR);
            assert_eq!(l.auxv.last().map(|p| p.0), Some(at::NULL));
        }
    }

    #[test]
    fn needed_bytes_agree_with_the_layout() {
        let argv = vec![b"/bin/true".to_vec()];
        let envp = vec![b"A=1".to_vec(), b"B=22".to_vec()];
        let l = layout(&input(&argv, &envp));
        let used = 10 + 10 + 4 + 5;
        assert_eq!(bytes_needed(&argv, &envp, used, 0, false), l.top - l.rsp);
    }

    #[test]
    fn auxv_parse_stops_at_null() {
        let mut b = Vec::new();
        for v in [6u64, 4096, 0, 0, 9, 9] {
            b.extend_from_slice(&v.to_ne_bytes());
        }
        assert_eq!(parse_auxv(&b), vec![(6, 4096)]);
        assert_eq!(parse_auxv(&b[..7]), vec![]);
    }

    #[test]
    fn capacity_is_the_larger_of_strings_and_rlimit_pages() {
        assert_eq!(capacity(100 * 1024, 10), 100 * 1024);
        assert_eq!(capacity(100, 10), 4096);
        assert_eq!(capacity(100 * 1024, 102_392), 102_400);
    }
}
