//! The text form of a load plan: the scripts passed through, the argv, each image with its
//! segments and holes, the entry, the heap, the recorded layout and the stack with its auxv.

use crate::load::plan::{ImagePlan, Placement};
use crate::load::LoadPlan;
use crate::model::binfmt::elf::ET_EXEC;
use crate::model::stack::aux_name;
use std::fmt::Write;

fn placement(p: Placement) -> &'static str {
    match p {
        Placement::Fixed => "fixed at its p_vaddr (ET_EXEC)",
        Placement::DynBase => "ELF_ET_DYN_BASE + random, aligned (PIE with an interpreter)",
        Placement::Anywhere => "where mmap chooses, span reserved first",
    }
}

fn image(out: &mut String, name: &str, img: &ImagePlan) {
    let _ = writeln!(
        out,
        "{name}: {} at {:#x}..{:#x}, bias {:#x}, {}",
        if img.e_type == ET_EXEC {
            "ET_EXEC"
        } else {
            "ET_DYN"
        },
        img.start,
        img.end,
        img.bias,
        placement(img.placement)
    );
    let _ = writeln!(
        out,
        "  entry {:#x}, program headers at {:#x} ({} of them)",
        img.entry, img.phdr, img.phnum
    );
    for s in &img.segments {
        let bss = if s.memsz > s.filesz {
            format!(
                ", bss {:#x} bytes ({:#x} zeroed in the last file page, then {} pages)",
                s.memsz - s.filesz,
                s.zero_len,
                s.bss_prot.show()
            )
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "  PT_LOAD #{:<2} {:#014x}..{:#014x} {} file {:#x}+{:#x}{bss}",
            s.index,
            s.start,
            s.start + s.len,
            s.prot.show(),
            s.file_offset,
            s.file_len,
        );
    }
    for (a, l) in &img.holes {
        let _ = writeln!(out, "  hole       {:#014x}..{:#014x} unmapped", a, a + l);
    }
}

/// The plan as text, one fact per line, ending with a note that the addresses are examples.
pub fn render(plan: &LoadPlan) -> String {
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
    image(&mut out, "program", &plan.program);
    if let Some(path) = &plan.program.interp_path {
        let _ = writeln!(out, "  PT_INTERP \"{}\"", path.escape_ascii());
    }
    if let Some(i) = &plan.interpreter {
        image(&mut out, "interpreter", i);
    }
    let heap = if plan.program.placement == Placement::Anywhere {
        // A static PIE lies in the mmap area; the kernel starts its heap elsewhere.
        "; with ASLR on the heap starts at ELF_ET_DYN_BASE + up to 1 GiB instead"
    } else {
        ", moved up to 1 GiB at random when ASLR is on"
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
