//! The JSON form of a load plan (and of a load error), the CLI contract other tools rely on:
//! `{"program", "interpreter", "scripts", "argv", "entry", "brk", "mm", "stack"}`, or
//! `{"error": {"errno", "code", "reason"}}`. Byte strings that are not UTF-8 are rendered
//! lossily.

use crate::load::plan::ImagePlan;
use crate::load::{LoadError, LoadPlan};
use crate::model::stack::aux_name;
use serde_json::{json, Value};

fn lossy(b: &[u8]) -> Value {
    Value::String(String::from_utf8_lossy(b).into_owned())
}

fn image(img: &ImagePlan) -> Value {
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
        "interp": img.interp_path.as_deref().map(lossy),
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

/// The plan as one JSON object.
pub fn render(plan: &LoadPlan) -> Value {
    let s = &plan.stack;
    json!({
        "program": image(&plan.program),
        "interpreter": plan.interpreter.as_ref().map(image),
        "scripts": plan.scripts.iter().map(|s| lossy(s)).collect::<Vec<_>>(),
        "argv": plan.argv.iter().map(|a| lossy(a)).collect::<Vec<_>>(),
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

/// A load error as `{"error": {"errno": "ENOENT", "code": 2, "reason": "..."}}`.
pub fn error(e: &LoadError) -> Value {
    json!({"error": {"errno": e.errno.name(), "code": e.errno.0, "reason": e.reason}})
}
