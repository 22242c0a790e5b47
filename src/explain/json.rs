//! The JSON form, the CLI contract other tools rely on:
//! `{"outcome", "errno", "signal", "path", "argv", "chain", "arg_bytes", "arg_limit",
//! "reason"}` plus `verdict`, `notes`, `searched`, `verified` and, on request, `stack`.
//!
//! Byte strings (paths, argv, interpreters, `#!` arguments) are JSON strings when they are
//! UTF-8. When one is not, its string shows it with U+FFFD in place of the bytes that are not,
//! and a sibling key `<key>_bytes` holds the exact bytes as an array of numbers: `path_bytes`,
//! `interpreter_bytes`, `argument_bytes`, and `argv_bytes` (every argument's bytes, when any one
//! is not UTF-8). So two different byte strings never give the same JSON.

use super::verdict;
use crate::model::plan::{signal_name, ExecPlan, Format, Outcome};
use crate::model::stack::{aux_name, AuxValue, StackLayout};
use serde_json::{json, Map, Value};

fn lossy(b: &[u8]) -> Value {
    Value::String(String::from_utf8_lossy(b).into_owned())
}

/// Adds `key` (the text) and, for bytes that are not UTF-8, `key_bytes` (the bytes) to `m`;
/// `None` gives `key: null`.
fn put(m: &mut Value, key: &str, b: Option<&[u8]>) {
    let Value::Object(m) = m else { return };
    let Some(b) = b else {
        m.insert(key.into(), Value::Null);
        return;
    };
    m.insert(key.into(), lossy(b));
    if std::str::from_utf8(b).is_err() {
        m.insert(format!("{key}_bytes"), json!(b));
    }
}

/// `key` as an array of texts, and `key_bytes` as an array of byte arrays when any of them is
/// not UTF-8.
fn put_list(m: &mut Map<String, Value>, key: &str, list: &[Vec<u8>]) {
    m.insert(key.into(), list.iter().map(|a| lossy(a)).collect());
    if list.iter().any(|a| std::str::from_utf8(a).is_err()) {
        m.insert(format!("{key}_bytes"), json!(list));
    }
}

fn chain_entry(step: &crate::model::plan::Step) -> Value {
    let mut v = match &step.format {
        Format::Script(sb) => {
            let mut v = json!({ "cut_at_buffer_end": sb.cut_at_buffer_end });
            put(&mut v, "interpreter", Some(&sb.interpreter));
            put(&mut v, "argument", sb.argument.as_deref());
            v
        }
        Format::Elf(e) => {
            let mut v = json!({
                "class": e.header.class.name(),
                "e_type": e.header.e_type,
                "e_machine": e.header.e_machine,
                "entry": e.header.e_entry,
                "phnum": e.header.e_phnum,
                "setuid": e.setuid,
                "setgid": e.setgid,
            });
            put(&mut v, "interpreter", e.interpreter.as_deref());
            v
        }
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
        Format::Misc(h) => {
            let mut v = json!({
                "name": h.name,
                "flags": h.flags,
            });
            put(&mut v, "interpreter", Some(&h.interpreter));
            v
        }
        Format::Unknown { head, size } => json!({
            "size": size,
            "head": head.escape_ascii().to_string(),
        }),
    };
    if let Value::Object(m) = &mut v {
        m.insert("kind".into(), Value::String(step.format.kind().into()));
    }
    put(&mut v, "path", Some(&step.path));
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
        Outcome::Killed(sig) => ("killed", Value::Null, Value::String(signal_name(sig))),
    };
    let mut v = json!({
        "outcome": outcome,
        "errno": errno,
        "signal": signal,
        "chain": plan.chain.iter().map(chain_entry).collect::<Vec<_>>(),
        "arg_bytes": plan.arg_bytes,
        "arg_limit": plan.arg_limit,
        "reason": plan.reason,
        "verdict": verdict(plan),
        "notes": plan.notes,
        "verified": plan.verified,
        "searched": plan.searched.iter().map(|(p, e)| {
            let mut v = json!({"errno": e.name()});
            put(&mut v, "path", Some(p));
            v
        }).collect::<Vec<_>>(),
    });
    put(&mut v, "path", Some(&plan.path));
    if let Value::Object(m) = &mut v {
        put_list(m, "argv", &plan.argv);
    }
    if let (Some(l), Value::Object(m)) = (stack, &mut v) {
        m.insert("stack".into(), stack_value(l));
    }
    v
}
