//! The human report: verdict first, then the chain, argv, the argument numbers, notes.

use super::{describe_elf, verdict};
use crate::model::plan::{quote, show, ExecPlan, Format};

fn argv_line(argv: &[Vec<u8>]) -> String {
    let items: Vec<String> = argv.iter().map(|a| quote(a)).collect();
    format!("[{}]", items.join(", "))
}

/// The whole report, ending with a newline.
pub fn render(plan: &ExecPlan) -> String {
    let mut out = verdict(plan);
    out.push('\n');
    let enoent = plan
        .searched
        .iter()
        .filter(|(_, e)| e.0 == libc::ENOENT)
        .count();
    if enoent > 0 {
        out.push_str(&format!(
            "  PATH: {enoent} earlier candidate{} not found\n",
            if enoent == 1 { "" } else { "s" }
        ));
    }
    for (p, e) in plan.searched.iter().filter(|(_, e)| e.0 != libc::ENOENT) {
        out.push_str(&format!("  PATH: {} gives {}\n", show(p), e.name()));
    }
    out.push_str(&format!("  execve({}, ...)\n", show(&plan.path)));
    for (i, s) in plan.chain.iter().enumerate() {
        let what = match &s.format {
            Format::Script(sb) => {
                let mut d = format!("#! script: interpreter {}", quote(&sb.interpreter));
                match &sb.argument {
                    Some(a) => d.push_str(&format!(", one argument {}", quote(a))),
                    None => d.push_str(", no argument"),
                }
                if sb.cut_at_buffer_end {
                    d.push_str(" (line cut at byte 254 of the 256-byte buffer)");
                }
                d
            }
            Format::Elf(e) => {
                let mut d = describe_elf(e);
                d.push_str(&format!(
                    ", e_machine {}, e_type {}, {} program headers, entry {:#x}",
                    e.header.e_machine, e.header.e_type, e.header.e_phnum, e.header.e_entry
                ));
                d
            }
            Format::Aout(a) => format!(
                "a.out {} (machine {}, text {}, data {}, bss {}, syms {}, entry {:#x}, trsize {}, drsize {})",
                a.magic_name(),
                a.machine,
                a.a_text,
                a.a_data,
                a.a_bss,
                a.a_syms,
                a.a_entry,
                a.a_trsize,
                a.a_drsize
            ),
            Format::Misc(h) => format!(
                "binfmt_misc handler {}: interpreter {}, flags {:?}",
                h.name,
                quote(&h.interpreter),
                h.flags
            ),
            Format::Unknown { head, size } => format!(
                "no format: {size} bytes, starting {}",
                quote(&head[..head.len().min(16)])
            ),
        };
        out.push_str(&format!("  {}. {}: {what}\n", i + 1, show(&s.path)));
    }
    if let Some((name, found)) = &plan.env_target {
        match found {
            Some(f) => out.push_str(&format!("  env then runs {} as {}\n", show(name), show(f))),
            None => out.push_str(&format!("  env then fails to find {}\n", show(name))),
        }
    }
    out.push_str(&format!("  argv: {}\n", argv_line(&plan.argv)));
    match &plan.budget {
        Some(b) => out.push_str(&format!(
            "  argument and environment strings: {} of {} bytes ({} envp strings; budget {} less {} bytes of pointers{})\n",
            plan.arg_bytes,
            plan.arg_limit,
            plan.envp.len(),
            b.budget,
            b.pointer_bytes,
            if b.capped_by_stack_pages {
                ", capped by the pages RLIMIT_STACK allows"
            } else {
                ""
            }
        )),
        None => out.push_str(&format!(
            "  argument and environment strings: limit {} bytes (not reached: the exec fails before copying)\n",
            plan.arg_limit
        )),
    }
    for n in &plan.notes {
        out.push_str(&format!("  note: {n}\n"));
    }
    out
}
