//! Two things the library needs from the build:
//! - which std APIs newer than the crate's rust-version this compiler has, so that the
//!   conversions into them are compiled where they exist and left out elsewhere;
//! - the loader stub (src/sys/loader_stub/main.rs): the tiny static program a userland spawn
//!   execs to get an address space of its own, embedded in the library as bytes.
//!
//! The stub is compiled with the same `rustc`, for the same target, without std or a C library: a
//! static ET_EXEC linked at [`STUB_BASE`] (16 TiB), far above where non-PIE programs live (the
//! small code model keeps them under 2 GiB) and below PIEs (ELF_ET_DYN_BASE, ~85 TiB) and the
//! mmap area, so that it does not sit where a program it loads wants to go. Position-dependent
//! on purpose: a static PIE would need its GOT relocated at run time (Rust calls `memcpy` and
//! friends through the GOT), and there is no dynamic linker to do it. This script checks that
//! the result needs none: ET_EXEC, no PT_INTERP, no PT_DYNAMIC.
//!
//! Only for x86-64 Linux, the userland loader's only target; elsewhere nothing is built.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Where the stub is linked.
const STUB_BASE: u64 = 0x1000_0000_0000;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    probe_std_apis();
    build_loader_stub();
}

fn probe_std_apis() {
    let probe = autocfg::new();
    // io::PipeReader / io::PipeWriter: Rust 1.87 (`impl From<...> for Stdio`). Also declares
    // the cfg to rustc (check-cfg), so it is known even where it is not set.
    probe.emit_path_cfg("std::io::PipeReader", "has_io_pipe");
}

fn build_loader_stub() {
    let stub_dir = Path::new("src/sys/loader_stub");
    println!("cargo:rerun-if-changed={}", stub_dir.display());
    println!("cargo:rerun-if-changed=src/sys/trampoline.rs");
    let target = std::env::var("TARGET").expect("cargo sets TARGET");
    if !(target.starts_with("x86_64-") && target.contains("-linux")) {
        return;
    }
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"))
        .join("forkexec-loader-stub");
    // lld (rustc's default linker since 1.90) takes --image-base and can put code and read-only
    // data in one segment; GNU ld takes -Ttext-segment.
    let base = format!("{STUB_BASE:#x}");
    let linkers = [
        vec![
            format!("-Wl,--image-base={base}"),
            "-Wl,--no-rosegment".into(),
        ],
        vec![format!("-Wl,-Ttext-segment={base}")],
    ];
    let mut failures = String::new();
    let built = linkers.iter().find_map(|flags| {
        let o = compile(&stub_dir.join("main.rs"), &target, flags, &out);
        if o.status.success() {
            return Some(o);
        }
        failures += &format!("with {flags:?}: {}\n", String::from_utf8_lossy(&o.stderr));
        None
    });
    let Some(built) = built else {
        panic!("building the loader stub failed:\n{failures}");
    };
    // Shown when building this workspace (cargo hides a dependency's build warnings).
    for line in String::from_utf8_lossy(&built.stderr).lines() {
        if !line.trim().is_empty() {
            println!("cargo:warning=loader stub: {line}");
        }
    }
    let bytes = std::fs::read(&out).expect("the loader stub was just built");
    let (start, end) = static_image(&bytes).unwrap_or_else(|why| {
        panic!("the loader stub is not a static program the kernel can start alone: {why}")
    });
    println!("cargo:rustc-env=FORKEXEC_STUB_START={start}");
    println!("cargo:rustc-env=FORKEXEC_STUB_END={end}");
}

fn compile(source: &Path, target: &str, link_flags: &[String], out: &Path) -> Output {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let mut cmd = Command::new(rustc);
    cmd.arg(source)
        .args(["--edition=2021", "--crate-type=bin"])
        .args(["--crate-name", "forkexec_loader_stub", "--target", target])
        .args([
            "-C",
            "panic=abort",
            "-C",
            "opt-level=s",
            "-C",
            "debuginfo=0",
        ])
        .args(["-C", "overflow-checks=off", "-C", "debug-assertions=off"])
        .args(["-C", "relocation-model=static", "-C", "code-model=large"])
        .args(["-C", "force-unwind-tables=no", "-C", "strip=symbols"])
        .args(["-C", "link-arg=-nostartfiles", "-C", "link-arg=-nostdlib"])
        .args([
            "-C",
            "link-arg=-static",
            "-C",
            "link-arg=-Wl,--build-id=none",
        ]);
    for flag in link_flags {
        cmd.arg("-C").arg(format!("link-arg={flag}"));
    }
    if let Some(linker) = std::env::var_os("RUSTC_LINKER") {
        let mut arg = std::ffi::OsString::from("linker=");
        arg.push(linker);
        cmd.arg("-C").arg(arg);
    }
    cmd.arg("-o").arg(out);
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run rustc to build the loader stub: {e}"))
}

fn field(b: &[u8], at: u64, len: usize) -> Result<u64, String> {
    let at = at as usize;
    let bytes = b
        .get(at..at + len)
        .ok_or("its headers do not read as an ELF64 file")?;
    let mut word = [0u8; 8];
    word[..len].copy_from_slice(bytes);
    Ok(u64::from_le_bytes(word))
}

/// The address range of the ELF64 file `b`'s PT_LOAD segments, if it is an ET_EXEC that needs
/// nothing at run time: no PT_INTERP (no dynamic linker), no PT_DYNAMIC (no relocations); and
/// whose writable memory is all bss (its scratch page must be anonymous, not the memfd's: the
/// program's file cannot become /proc/PID/exe while a page of the old one is mapped; file
/// bytes in a writable segment also mean a panic path, with its tables, got linked in).
fn static_image(b: &[u8]) -> Result<(u64, u64), String> {
    const ET_EXEC: u64 = 2;
    if field(b, 16, 2)? != ET_EXEC {
        return Err("it is not ET_EXEC".into());
    }
    let (phoff, phentsize, phnum) = (field(b, 32, 8)?, field(b, 54, 2)?, field(b, 56, 2)?);
    let (mut start, mut end) = (u64::MAX, 0);
    for i in 0..phnum {
        let ph = phoff + i * phentsize;
        match field(b, ph, 4)? {
            1 => {
                let (vaddr, memsz) = (field(b, ph + 16, 8)?, field(b, ph + 40, 8)?);
                let (flags, filesz) = (field(b, ph + 4, 4)?, field(b, ph + 32, 8)?);
                const PF_W: u64 = 2;
                if flags & PF_W != 0 && filesz != 0 {
                    return Err(format!("a writable segment at {vaddr:#x} holds file bytes"));
                }
                start = start.min(vaddr & !0xfff);
                end = end.max(vaddr + memsz);
            }
            2 => return Err("it has a PT_DYNAMIC: something needs relocating".into()),
            3 => return Err("it has a PT_INTERP".into()),
            _ => {}
        }
    }
    if start != STUB_BASE {
        return Err(format!("it starts at {start:#x}, not {STUB_BASE:#x}"));
    }
    Ok((start, end))
}
