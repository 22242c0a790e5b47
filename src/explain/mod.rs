//! Rendering an [`ExecPlan`] for people and programs: a one-line
//! verdict, the chain of formats, the numbers, the initial stack diagram, and JSON.

pub mod diagram;
#[cfg(feature = "json")]
pub mod json;
pub mod text;

use crate::model::binfmt::elf;
use crate::model::plan::{show, signal_name, ExecPlan, Format, Outcome, SIGSEGV};
use crate::model::stack::{self, HostAux, StackLayout};

/// The one-line verdict: `runs /usr/bin/python3 via #! /usr/bin/env python3`,
/// `fails with ENOENT: ...`, `is killed by SIGSEGV: ...`.
pub fn verdict(plan: &ExecPlan) -> String {
    match plan.outcome {
        Outcome::Fails(e) => format!("fails with {}: {}", e.name(), plan.reason),
        Outcome::Killed(SIGSEGV) => format!(
            "passes the point of no return and is killed by SIGSEGV: {}",
            plan.reason
        ),
        Outcome::Killed(sig) => format!("is killed by {}: {}", signal_name(sig), plan.reason),
        Outcome::Runs => {
            // Without an ELF step (a file the model could not read), the last file it knows.
            let last_known = || match plan.chain.last().map(|s| &s.format) {
                Some(Format::Misc(h)) => show(&h.interpreter),
                _ => show(&plan.path),
            };
            let program = plan
                .final_elf()
                .map(|(p, _)| show(p))
                .unwrap_or_else(last_known);
            let mut vias = Vec::new();
            for s in &plan.chain {
                match &s.format {
                    Format::Script(sb) => {
                        let mut line = format!("#! {}", show(&sb.interpreter));
                        if let Some(a) = &sb.argument {
                            line.push(' ');
                            line.push_str(&show(a));
                        }
                        vias.push(line);
                    }
                    Format::Misc(h) => vias.push(format!("binfmt_misc handler {}", h.name)),
                    _ => {}
                }
            }
            let shown = match &plan.env_target {
                Some((_, Some(found))) => show(found),
                _ => program,
            };
            let mut line = format!("runs {shown}");
            if !vias.is_empty() {
                line.push_str(" via ");
                line.push_str(&vias.join(" then "));
            } else if let Some((_, e)) = plan.final_elf() {
                line.push_str(&format!(" ({})", describe_elf(e)));
            }
            if let Some((name, None)) = &plan.env_target {
                line.push_str(&format!(
                    ", but env will not find {} in the PATH it is given (exit 127)",
                    show(name)
                ));
            }
            if plan.verified {
                line
            } else {
                // The notes say what could not be checked.
                format!("most likely {line}")
            }
        }
    }
}

/// `ELF x86-64 PIE, interpreter /lib64/ld-linux-x86-64.so.2`.
pub fn describe_elf(e: &crate::model::plan::ElfStep) -> String {
    let kind = match e.header.e_type {
        elf::ET_DYN if e.interpreter.is_some() => "PIE",
        elf::ET_DYN => "static PIE",
        elf::ET_EXEC if e.interpreter.is_some() => "executable",
        elf::ET_EXEC => "static executable",
        _ => elf::type_name(e.header.e_type),
    };
    let mut s = format!("ELF {} {kind}", e.header.class.name());
    if let Some(i) = &e.interpreter {
        s.push_str(&format!(", interpreter {}", show(i)));
    }
    if let Some(u) = e.setuid {
        s.push_str(&format!(", setuid {u}"));
    }
    s
}

/// The initial stack of the program that would run (x86-64 only), with the random gap at 0
/// and the stack top where it is without ASLR.
pub fn stack_of(plan: &ExecPlan, host: &HostAux) -> Option<StackLayout> {
    if plan.outcome != Outcome::Runs {
        return None;
    }
    let (_, e) = plan.final_elf()?;
    if e.header.class != elf::ElfClass::Elf64 {
        return None;
    }
    let c = &plan.credentials_after;
    Some(stack::layout(&stack::StackInput {
        argv: &plan.argv,
        envp: &plan.envp,
        execfn: &plan.execfn,
        program: stack::ProgramFacts {
            pie: e.header.e_type == elf::ET_DYN,
            phdr_vaddr: elf::phdr_vaddr(&e.header, &e.phdrs),
            phnum: u64::from(e.header.e_phnum),
            entry: e.header.e_entry,
            interpreter: e.interpreter.is_some(),
        },
        ids: stack::Ids {
            uid: c.uid,
            euid: c.euid,
            gid: c.gid,
            egid: c.egid,
            secure: plan.secure,
        },
        preserve_argv0: plan.preserve_argv0,
        // The fd binfmt_misc opens is the lowest free one in the new process; 3 is typical.
        execfd: plan.execfd.then_some(3),
        host: host.clone(),
        top: stack::STACK_TOP,
        gap: 0,
    }))
}
