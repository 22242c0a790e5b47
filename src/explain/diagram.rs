//! The initial stack as a diagram: high addresses on top, one row per item, with addresses,
//! offsets below the stack top and sizes.

use crate::model::stack::{StackLayout, MAX_RANDOM_GAP};

/// Renders the layout. Long runs of strings or pointers are folded to keep it readable.
pub fn render(l: &StackLayout) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "initial stack (top {:#x} as without ASLR; random gap taken as 0, really 0..{MAX_RANDOM_GAP})\n",
        l.top
    ));
    out.push_str(&format!(
        "{:<18} {:>9} {:>7}  {}\n",
        "address", "offset", "size", "item"
    ));
    let mut run_label: Option<String> = None;
    let mut run: Vec<String> = Vec::new();
    let flush = |out: &mut String, run: &mut Vec<String>| {
        if run.len() > 8 {
            for r in &run[..3] {
                out.push_str(r);
            }
            out.push_str(&format!(
                "{:<18} {:>9} {:>7}  ... {} more ...\n",
                "",
                "",
                "",
                run.len() - 6
            ));
            for r in &run[run.len() - 3..] {
                out.push_str(r);
            }
        } else {
            for r in run.iter() {
                out.push_str(r);
            }
        }
        run.clear();
    };
    for it in &l.items {
        let row = format!(
            "{:<18} {:>9} {:>7}  {}{}\n",
            format!("{:#x}", it.addr),
            format!("-{}", l.top - it.addr),
            it.size,
            it.label,
            it.value
                .as_ref()
                .map(|v| format!(" = {v}"))
                .unwrap_or_default()
        );
        // Rows like "envp[3] string" group under "envp string".
        let family = it
            .label
            .split('[')
            .next()
            .map(|f| format!("{f}{}", it.label.contains("string")))
            .unwrap_or_default();
        let groupable = it.label.contains('[');
        if groupable && run_label.as_deref() == Some(family.as_str()) {
            run.push(row);
            continue;
        }
        flush(&mut out, &mut run);
        if groupable {
            run_label = Some(family);
            run.push(row);
        } else {
            run_label = None;
            out.push_str(&row);
        }
    }
    flush(&mut out, &mut run);
    out
}
