//! The JSON form, the CLI contract other tools rely on:
//! `{"outcome", "errno", "signal", "path", "argv", "chain", "arg_bytes", "arg_limit",
//! "reason"}` plus `verdict`, `notes`, `searched` and, on request, `stack`.
//! Byte strings that are not UTF-8 are rendered lossily.

use super::verdict;
use crate::model::plan::{ExecPlan, Format, Outcome};
use crate::model::stack::{aux_name, AuxValue, StackLayout};
use serde_json::{json, Value};

fn s(b: &[u8]) -> Value {
    Value::String(String::from_utf8_lossy(b).into_owned())
}

fn opt(b: Option<&[u8]>) -> Value {
    b.map_or(Value::Null, s)
}

fn chain_entry(step: &crate::model::plan::Step) -> Value {
    let mut v = match &step.format {
        Format::Script(sb) => json!({
            "interpreter": s(&sb.interpreter),
            "argument": opt(sb.argument.as_deref()),
            "cut_at_buffer_end": sb.cut_at_buffer_end,
        }),
        Format::Elf(e) => json!({
            "class": e.header.class.name(),
            "e_type": e.header.e_type,
            "e_machine": e.header.e_machine,
            "entry": e.header.e_entry,
            "phnum": e.header.e_phnum,
            "interpreter": opt(e.interpreter.as_deref()),
            "setuid": e.setuid,
            "setgid": e.setgid,
        }),
        Format::Aout(a) => json!({
            "magic": a.magic_name(),
            "machine": a.machine,
            "flags": a.flags,
            "text": a.a_text,
            "data": a.a_data,
            "bss": a.a_bss,
            "syms": a.a_syms,
            "entry": a.a_entry,
            "trsize": a.a_trsize,
            "drsize": a.a_drsize,
        }),
        Format::Misc(h) => json!({
            "name": h.name,
            "interpreter": s(&h.interpreter),
            "flags": h.flags,
        }),
        Format::Unknown { head, size } => json!({
            "size": size,
            "head": head.escape_ascii().to_string(),
        }),
    };
    if let Value::Object(m) = &mut v {
        m.insert("kind".into(), Value::String(step.format.kind().into()));
        m.insert("path".into(), s(&step.path));
    }
    v
}

/// The stack layout as JSON.
pub fn stack_value(l: &StackLayout) -> Value {
    json!({
        "top": l.top,
        "rsp": l.rsp,
        "items": l.items.iter().map(|i| json!({
            "addr": i.addr,
            "offset": l.top - i.addr,
            "size": i.size,
            "item": i.label,
            "value": i.value,
        })).collect::<Vec<_>>(),
        "auxv": l.auxv.iter().map(|(k, v)| {
            let value = match v {
                AuxValue::Value(n) | AuxValue::Stack(n) => json!(n),
                AuxValue::Relative(what, off) => json!({"relative_to": what, "offset": off}),
            };
            json!({"key": k, "name": aux_name(*k), "value": value})
        }).collect::<Vec<_>>(),
    })
}

/// The plan as one JSON object; `stack` is added when given.
pub fn render(plan: &ExecPlan, stack: Option<&StackLayout>) -> Value {
    let (outcome, errno, signal) = match plan.outcome {
        Outcome::Runs => ("runs", Value::Null, Value::Null),
        Outcome::Fails(e) => ("errno", Value::String(e.name()), Value::Null),
        Outcome::Killed(_) => ("killed", Value::Null, Value::String("SIGSEGV".into())),
    };
    let mut v = json!({
        "outcome": outcome,
        "errno": errno,
        "signal": signal,
        "path": s(&plan.path),
        "argv": plan.argv.iter().map(|a| s(a)).collect::<Vec<_>>(),
        "chain": plan.chain.iter().map(chain_entry).collect::<Vec<_>>(),
        "arg_bytes": plan.arg_bytes,
        "arg_limit": plan.arg_limit,
        "reason": plan.reason,
        "verdict": verdict(plan),
        "notes": plan.notes,
        "searched": plan.searched.iter().map(|(p, e)| json!({"path": s(p), "errno": e.name()})).collect::<Vec<_>>(),
    });
    if let (Some(l), Value::Object(m)) = (stack, &mut v) {
        m.insert("stack".into(), stack_value(l));
    }
    v
}
