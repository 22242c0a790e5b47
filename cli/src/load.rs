//! `forkexec load`: run a program with the userland loader, in this process, or show the plan.

use clap::Args;
use forkexec::load::plan::{ImagePlan, Placement};
use forkexec::load::{self, LoadPlan};
use forkexec::model::stack::aux_name;
use serde_json::json;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
#[command(
    after_help = "The program replaces forkexec in this process, as with execve: its exit status is \
forkexec's. If it cannot be loaded, forkexec exits with 127 (not found) or 126 and prints the \
errno execve would give and why; nothing has changed by then."
)]
pub struct LoadArgs {
    /// Print the load plan (segments, addresses, entry, stack) instead of running.
    #[arg(long)]
    plan: bool,
    /// With --plan: print one JSON object instead of text.
    #[arg(long, requires = "plan")]
    json: bool,
    /// Read the program into memory and load it from there (anonymous pages filled by copy)
    /// instead of mapping the file's pages.
    #[arg(long)]
    memory: bool,
    #[command(flatten)]
    program: crate::environment::ProgramArgs,
}

/// PROGRAM as execvp finds it: as given when it has a '/', else the first candidate of
/// glibc's PATH search (`forkexec::exec::Candidates`, the one search the project has) that is
/// an executable regular file. The loader cannot "try" an exec per candidate, so it checks.
fn resolve(program: &Path, no_path: bool, path: Option<&[u8]>) -> PathBuf {
    if no_path || program.as_os_str().as_bytes().contains(&b'/') {
        return program.to_path_buf();
    }
    let name = program.as_os_str().as_bytes();
    let search = forkexec::exec::Candidates::search(name, path, forkexec::exec::SearchRules::Glibc);
    if let Ok(candidates) = search {
        for c in candidates.paths() {
            let candidate = Path::new(std::ffi::OsStr::from_bytes(c.to_bytes()));
            if let Ok(m) = std::fs::metadata(candidate) {
                use std::os::unix::fs::PermissionsExt;
                if m.is_file() && m.permissions().mode() & 0o111 != 0 {
                    return candidate.to_path_buf();
                }
            }
        }
    }
    program.to_path_buf()
}

fn placement_text(p: Placement) -> &'static str {
    match p {
        Placement::Fixed => "fixed at its p_vaddr (ET_EXEC)",
        Placement::DynBase => "ELF_ET_DYN_BASE + random, aligned (PIE with an interpreter)",
        Placement::Anywhere => "where mmap chooses, span reserved first",
    }
}

fn image_text(out: &mut String, name: &str, img: &ImagePlan) {
    use std::fmt::Write;
    let _ = writeln!(
        out,
        "{name}: {} at {:#x}..{:#x}, bias {:#x}, {}",
        if img.e_type == 2 { "ET_EXEC" } else { "ET_DYN" },
        img.start,
        img.end,
        img.bias,
        placement_text(img.placement)
    );
    let _ = writeln!(
        out,
        "  entry {:#x}, program headers at {:#x} ({} of them)",
        img.entry, img.phdr, img.phnum
    );
    for s in &img.segments {
        let _ = writeln!(
            out,
            "  PT_LOAD #{:<2} {:#014x}..{:#014x} {} file {:#x}+{:#x}{}",
            s.index,
            s.start,
            s.start + s.len,
            s.prot.show(),
            s.file_offset,
            s.file_len,
            if s.memsz > s.filesz {
                format!(
                    ", bss {:#x} bytes ({:#x} zeroed in the last file page, then {} pages)",
                    s.memsz - s.filesz,
                    s.zero_len,
                    s.bss_prot.show()
                )
            } else {
                String::new()
            }
        );
    }
    for (a, l) in &img.holes {
        let _ = writeln!(out, "  hole       {:#014x}..{:#014x} unmapped", a, a + l);
    }
}

fn plan_text(plan: &LoadPlan) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    for s in &plan.scripts {
        let _ = writeln!(
            out,
            "script \"{}\": its #! line names the next file",
            s.escape_ascii()
        );
    }
    let argv: Vec<String> = plan
        .argv
        .iter()
        .map(|a| format!("\"{}\"", a.escape_ascii()))
        .collect();
    let _ = writeln!(out, "argv [{}]", argv.join(", "));
    image_text(&mut out, "program", &plan.program);
    if let Some(path) = &plan.program.interp_path {
        let _ = writeln!(out, "  PT_INTERP \"{}\"", path.escape_ascii());
    }
    if let Some(i) = &plan.interpreter {
        image_text(&mut out, "interpreter", i);
    }
    let heap = if plan.program.placement == Placement::Anywhere {
        // A static PIE lies in the mmap area; the kernel starts its heap elsewhere.
        "; with ASLR on the heap starts at ELF_ET_DYN_BASE + up to 1 GiB instead".to_string()
    } else {
        ", moved up to 1 GiB at random when ASLR is on".to_string()
    };
    let _ = writeln!(
        out,
        "start at {:#x}; heap (brk) from {:#x}{heap}",
        plan.entry, plan.brk
    );
    let m = &plan.mm;
    let _ = writeln!(
        out,
        "mm: code {:#x}..{:#x}, data {:#x}..{:#x}, args {:#x}..{:#x}, env {:#x}..{:#x}",
        m.start_code,
        m.end_code,
        m.start_data,
        m.end_data,
        m.arg_start,
        m.arg_end,
        m.env_start,
        m.env_end
    );
    let s = &plan.stack;
    let _ = writeln!(
        out,
        "stack: {:#x} bytes below {:#x} ({}), rsp {:#x}, image {} bytes",
        s.size,
        s.top,
        if s.executable { "rwx" } else { "rw-" },
        s.rsp,
        s.image.len()
    );
    for (k, v) in &s.auxv {
        let _ = writeln!(out, "  {:<22} {v:#x}", aux_name(*k));
    }
    out.push_str(
        "(addresses are examples: the loader picks free ones at run time, randomized like the kernel's)\n",
    );
    out
}

fn image_json(img: &ImagePlan) -> serde_json::Value {
    json!({
        "role": img.role,
        "e_type": img.e_type,
        "placement": img.placement,
        "bias": img.bias,
        "start": img.start,
        "end": img.end,
        "align": img.align,
        "entry": img.entry,
        "phdr": img.phdr,
        "phnum": img.phnum,
        "interp": img.interp_path.as_ref().map(|p| String::from_utf8_lossy(p).into_owned()),
        "segments": img.segments.iter().map(|s| json!({
            "index": s.index,
            "vaddr": s.vaddr,
            "start": s.start,
            "len": s.len,
            "prot": s.prot.show(),
            "file_offset": s.file_offset,
            "file_len": s.file_len,
            "filesz": s.filesz,
            "memsz": s.memsz,
            "zero_len": s.zero_len,
            "bss_prot": s.bss_prot.show(),
        })).collect::<Vec<_>>(),
        "holes": img.holes.iter().map(|(a, l)| json!({"start": a, "len": l})).collect::<Vec<_>>(),
    })
}

fn plan_json(plan: &LoadPlan) -> serde_json::Value {
    let s = &plan.stack;
    json!({
        "program": image_json(&plan.program),
        "interpreter": plan.interpreter.as_ref().map(image_json),
        "scripts": plan.scripts.iter().map(|s| String::from_utf8_lossy(s).into_owned()).collect::<Vec<_>>(),
        "argv": plan.argv.iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect::<Vec<_>>(),
        "entry": plan.entry,
        "brk": plan.brk,
        "mm": plan.mm,
        "stack": {
            "top": s.top,
            "size": s.size,
            "rsp": s.rsp,
            "image_bytes": s.image.len(),
            "executable": s.executable,
            "auxv": s.auxv.iter().map(|(k, v)| json!({"key": aux_name(*k), "type": k, "value": v})).collect::<Vec<_>>(),
        },
    })
}

pub fn run(a: LoadArgs) -> i32 {
    let env = match a.program.environment() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("forkexec load: {e}");
            return 2;
        }
    };
    let command = &a.program.command;
    let argv: Vec<Vec<u8>> = command.iter().map(|s| s.as_bytes().to_vec()).collect();
    let search_path = a.program.search_path(&env);
    let path = resolve(Path::new(&command[0]), a.program.no_path, search_path);
    let shown = path.display().to_string();
    if a.plan {
        return match load::plan_file(&path, &argv, &env) {
            Ok(plan) => {
                if a.json {
                    println!("{}", plan_json(&plan));
                } else {
                    print!("{}", plan_text(&plan));
                }
                0
            }
            Err(e) => {
                if a.json {
                    println!(
                        "{}",
                        json!({"error": {"errno": e.errno.name(), "code": e.errno.0, "reason": e.reason}})
                    );
                } else {
                    eprintln!("forkexec load: {shown}: {e}");
                }
                126 + i32::from(e.errno.0 == libc::ENOENT)
            }
        };
    }
    let err = if a.memory {
        match load::interpreter::open_exec(&path, "the program") {
            Ok(f) => load::exec_memory(&f.bytes, &argv, &env),
            Err(e) => e,
        }
    } else {
        load::exec_file(&path, &argv, &env)
    };
    eprintln!("forkexec load: {shown}: {err}");
    // The shell's convention: 127 when the program is missing, 126 when it cannot run.
    126 + i32::from(err.errno.0 == libc::ENOENT)
}
