//! binfmt_misc: handlers registered in /proc/sys/fs/binfmt_misc, matched by magic bytes (with
//! an optional mask) at an offset in the 256-byte buffer, or by file name extension.
//!
//! binfmt_misc is inserted at the head of the kernel's format list, so a matching handler wins
//! over ELF and `#!`. Within binfmt_misc, the most recently registered handler is tried first;
//! its entries' inode numbers grow with registration, which gives that order without guessing.

use std::path::Path;

/// One registered handler, as its /proc file describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MiscHandler {
    /// The entry's name (its file name).
    pub name: String,
    /// Whether the entry is enabled.
    pub enabled: bool,
    /// The interpreter the kernel runs.
    pub interpreter: Vec<u8>,
    /// Flag letters (P: keep `argv[0]`, O: open the binary, C: credentials, F: fixed interpreter).
    pub flags: String,
    /// How it matches.
    pub rule: MiscRule,
    /// Inode number of the entry file: later registrations have larger ones.
    pub order: u64,
}

/// How a handler recognises files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MiscRule {
    /// Bytes at an offset, compared under a mask (`None`: all bits).
    Magic {
        /// Offset into the buffer.
        offset: usize,
        /// The bytes to find.
        magic: Vec<u8>,
        /// The bits that count.
        mask: Option<Vec<u8>>,
    },
    /// The part of the name after its last '.'.
    Extension(Vec<u8>),
}

impl MiscHandler {
    /// Flag P: `argv[0]` is kept (and AT_FLAGS says so).
    pub fn preserves_argv0(&self) -> bool {
        self.flags.contains('P')
    }

    /// Flag O: the kernel opens the binary and passes it as AT_EXECFD.
    pub fn opens_binary(&self) -> bool {
        self.flags.contains('O')
    }

    /// Whether this handler claims a file: `buf` is the zero-filled 256-byte buffer, `name` the
    /// name the kernel knows the file by (`bprm->interp`).
    pub fn matches(&self, buf: &[u8], name: &[u8]) -> bool {
        if !self.enabled {
            return false;
        }
        match &self.rule {
            MiscRule::Extension(ext) => match name.iter().rposition(|&c| c == b'.') {
                Some(dot) => &name[dot + 1..] == ext.as_slice(),
                None => false,
            },
            MiscRule::Magic {
                offset,
                magic,
                mask,
            } => magic.iter().enumerate().all(|(j, &m)| {
                let byte = buf.get(offset.saturating_add(j)).copied().unwrap_or(0);
                let bits = mask
                    .as_ref()
                    .and_then(|k| k.get(j).copied())
                    .unwrap_or(0xff);
                (byte ^ m) & bits == 0
            }),
        }
    }
}

fn hex(s: &str) -> Option<Vec<u8>> {
    let s = s.trim();
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect()
}

/// Parses one entry file's text (`enabled\ninterpreter ...\nflags: ...\noffset ...\nmagic ...`).
/// Returns `None` for text that does not describe a handler.
pub fn parse_entry(name: &str, text: &str, order: u64) -> Option<MiscHandler> {
    let mut enabled = None;
    let mut interpreter = None;
    let mut flags = String::new();
    let mut offset = 0usize;
    let mut magic = None;
    let mut mask = None;
    let mut extension = None;
    for line in text.lines() {
        if line == "enabled" {
            enabled = Some(true);
        } else if line == "disabled" {
            enabled = Some(false);
        } else if let Some(v) = line.strip_prefix("interpreter ") {
            interpreter = Some(v.as_bytes().to_vec());
        } else if let Some(v) = line.strip_prefix("flags:") {
            flags = v.trim().to_string();
        } else if let Some(v) = line.strip_prefix("offset ") {
            offset = v.trim().parse().ok()?;
        } else if let Some(v) = line.strip_prefix("magic ") {
            magic = Some(hex(v)?);
        } else if let Some(v) = line.strip_prefix("mask ") {
            mask = Some(hex(v)?);
        } else if let Some(v) = line.strip_prefix("extension .") {
            extension = Some(v.as_bytes().to_vec());
        }
    }
    let rule = match (magic, extension) {
        (Some(magic), _) => MiscRule::Magic {
            offset,
            magic,
            mask,
        },
        (None, Some(e)) => MiscRule::Extension(e),
        (None, None) => return None,
    };
    Some(MiscHandler {
        name: name.to_string(),
        enabled: enabled?,
        interpreter: interpreter?,
        flags,
        rule,
        order,
    })
}

/// Reads the registered handlers from a mounted binfmt_misc directory, in the order the kernel
/// tries them. Empty when it is not mounted, unreadable, or globally disabled.
pub fn read_handlers(dir: &Path) -> Vec<MiscHandler> {
    use std::os::unix::fs::MetadataExt;
    match std::fs::read_to_string(dir.join("status")) {
        Ok(s) if s.trim() == "enabled" => {}
        _ => return Vec::new(),
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name == "status" || name == "register" {
            continue;
        }
        let order = e.metadata().map(|m| m.ino()).unwrap_or(0);
        if let Ok(text) = std::fs::read_to_string(e.path()) {
            if let Some(h) = parse_entry(&name, &text, order) {
                out.push(h);
            }
        }
    }
    out.sort_by_key(|h| std::cmp::Reverse(h.order));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const QEMU: &str = "enabled\ninterpreter /usr/bin/qemu-aarch64-static\nflags: OCF\noffset 0\nmagic 7f454c460201010000000000000000000200b700\nmask ffffffffffffff00fffffffffffffffffeffffff\n";

    #[test]
    fn qemu_entry_matches_an_aarch64_elf_only() {
        let h = parse_entry("qemu-aarch64", QEMU, 5).unwrap();
        assert!(h.enabled && h.opens_binary() && !h.preserves_argv0());
        let mut buf = vec![0u8; 256];
        buf[..20].copy_from_slice(&[
            0x7f, b'E', b'L', b'F', 2, 1, 1, 3, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0xb7, 0,
        ]);
        assert!(h.matches(&buf, b"/x"));
        buf[18] = 62;
        assert!(!h.matches(&buf, b"/x"));
    }

    #[test]
    fn extension_entry_looks_after_the_last_dot_anywhere_in_the_name() {
        let h = parse_entry(
            "wine",
            "disabled\ninterpreter /usr/bin/wine\nflags: \nextension .exe\n",
            1,
        )
        .unwrap();
        assert!(!h.matches(b"", b"a.exe"));
        let h = MiscHandler { enabled: true, ..h };
        assert!(h.matches(b"", b"/tmp/a.exe"));
        assert!(!h.matches(b"", b"/tmp/a.exe.txt"));
        assert!(!h.matches(b"", b"/tmp/noext"));
    }

    #[test]
    fn garbage_entries_are_ignored() {
        assert!(parse_entry("x", "", 0).is_none());
        assert!(parse_entry("x", "enabled\ninterpreter /a\nmagic zz\n", 0).is_none());
        assert!(parse_entry("x", "enabled\nmagic 00\n", 0).is_none());
    }

    #[test]
    fn magic_past_the_buffer_compares_with_zero_bytes() {
        let h = parse_entry(
            "z",
            "enabled\ninterpreter /i\nflags: P\noffset 300\nmagic 00\n",
            0,
        )
        .unwrap();
        assert!(h.matches(&[1u8; 256], b"f"));
        assert!(h.preserves_argv0());
    }
}
