//! binfmt_misc: handlers registered in /proc/sys/fs/binfmt_misc, matched by magic bytes (with
//! an optional mask) at an offset in the 256-byte buffer, or by file name extension.
//!
//! binfmt_misc is inserted at the head of the kernel's format list, so a matching handler wins
//! over ELF and `#!`. Within binfmt_misc, the most recently registered handler is tried first
//! (each registration goes at the head of the list). The entries' directory lists them in that
//! same order, newest first (each new entry's dentry goes at the head of the directory's
//! children), so [`read_handlers`] keeps the order `readdir` gives. Inode numbers do not give
//! it: they come from per-CPU batches (`get_next_ino`), so two entries registered on different
//! CPUs get unrelated numbers.
//!
//! Since Linux 6.7 each user namespace can mount its own binfmt_misc instance; an exec uses the
//! instance of the caller's user namespace, or of its nearest ancestor that mounted one. The
//! model reads the instance mounted at /proc/sys/fs/binfmt_misc in the caller's mount
//! namespace, which is that instance when the namespaces were set up the usual way
//! (`unshare -Urm`, then mount binfmt_misc there).

use std::path::Path;

/// One registered handler, as its /proc file describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MiscHandler {
    /// The entry's name (its file name; bytes that are not UTF-8 are replaced).
    pub name: String,
    /// Whether the entry is enabled.
    pub enabled: bool,
    /// The interpreter the kernel runs.
    pub interpreter: Vec<u8>,
    /// Flag letters as the entry shows them: P keeps `argv[0]`, O opens the binary, C takes
    /// the credentials from the binary (and implies O), F opened the interpreter at
    /// registration.
    pub flags: String,
    /// How it matches.
    pub rule: MiscRule,
    /// Where the kernel tries it: 0 first (the newest registration).
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

    /// Flag O (or C, which implies it): the kernel opens the binary and passes it as
    /// AT_EXECFD. After that, no further rewrite of the exec is allowed (ENOEXEC).
    pub fn opens_binary(&self) -> bool {
        self.flags.contains('O') || self.flags.contains('C')
    }

    /// Flag C: the new credentials (setuid/setgid) come from the binary, not the interpreter.
    pub fn credentials_from_binary(&self) -> bool {
        self.flags.contains('C')
    }

    /// Flag F: the kernel opened the interpreter when the handler was registered and uses that
    /// file ever after: no path walk, no permission check at exec time.
    pub fn fixed_interpreter(&self) -> bool {
        self.flags.contains('F')
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

fn hex(s: &[u8]) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    s.chunks(2)
        .map(|h| {
            std::str::from_utf8(h)
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect()
}

/// Splits `text` at its first newline: (the line, the rest).
fn line(text: &[u8]) -> Option<(&[u8], &[u8])> {
    let nl = text.iter().position(|&c| c == b'\n')?;
    Some((&text[..nl], &text[nl + 1..]))
}

/// What follows `flags: ` in an entry: the flag letters, then the extension or the offset,
/// magic and mask lines, and nothing else.
fn parse_rule(text: &[u8]) -> Option<(String, MiscRule)> {
    let (flags, rest) = line(text)?;
    if !flags.iter().all(|c| b"POCF".contains(c)) {
        return None;
    }
    let flags = String::from_utf8_lossy(flags).into_owned();
    if let Some(ext) = rest.strip_prefix(b"extension .") {
        // The extension may hold any byte but '/' and NUL, newlines included.
        return Some((
            flags,
            MiscRule::Extension(ext.strip_suffix(b"\n")?.to_vec()),
        ));
    }
    let (offset, rest) = line(rest.strip_prefix(b"offset ")?)?;
    let offset = std::str::from_utf8(offset).ok()?.parse().ok()?;
    let (magic, rest) = line(rest.strip_prefix(b"magic ")?)?;
    let magic = hex(magic)?;
    let mask = match rest.strip_prefix(b"mask ") {
        Some(m) => {
            let (mask, rest) = line(m)?;
            if !rest.is_empty() {
                return None;
            }
            Some(hex(mask)?)
        }
        None if rest.is_empty() => None,
        None => return None,
    };
    let rule = MiscRule::Magic {
        offset,
        magic,
        mask,
    };
    Some((flags, rule))
}

/// Parses one entry file's bytes, in the kernel's format: `enabled` or `disabled`, then
/// `interpreter PATH`, `flags: LETTERS`, and either `extension .EXT` or `offset N`,
/// `magic HEX` and an optional `mask HEX`, each ending in a newline. PATH may itself contain
/// newlines. Returns `None` for text that does not describe a handler.
pub fn parse_entry(name: &str, text: impl AsRef<[u8]>, order: u64) -> Option<MiscHandler> {
    let text = text.as_ref();
    let (status, rest) = line(text)?;
    let enabled = match status {
        b"enabled" => true,
        b"disabled" => false,
        _ => return None,
    };
    let rest = rest.strip_prefix(b"interpreter ")?;
    // The interpreter ends at the "\nflags: " after which the rest parses.
    const FLAGS: &[u8] = b"\nflags: ";
    (0..rest.len())
        .filter(|&i| rest[i..].starts_with(FLAGS))
        .find_map(|i| {
            let (flags, rule) = parse_rule(&rest[i + FLAGS.len()..])?;
            Some(MiscHandler {
                name: name.to_string(),
                enabled,
                interpreter: rest[..i].to_vec(),
                flags,
                rule,
                order,
            })
        })
}

/// Reads the registered handlers from a mounted binfmt_misc directory, in the order the kernel
/// tries them (the directory's own order, newest first). Empty when it is not mounted,
/// unreadable, or globally disabled.
pub fn read_handlers(dir: &Path) -> Vec<MiscHandler> {
    match std::fs::read(dir.join("status")) {
        Ok(s) if s.trim_ascii() == b"enabled" => {}
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
        if let Ok(text) = std::fs::read(e.path()) {
            if let Some(h) = parse_entry(&name, &text, out.len() as u64) {
                out.push(h);
            }
        }
    }
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
    fn entries_are_bytes_and_interpreters_may_hold_newlines() {
        let h = parse_entry(
            "odd",
            b"enabled\ninterpreter /tmp/p\xff\nflags: \nflags: F\nextension .x\xff\n",
            0,
        )
        .unwrap();
        assert_eq!(h.interpreter, b"/tmp/p\xff\nflags: ");
        assert_eq!(h.rule, MiscRule::Extension(b"x\xff".to_vec()));
        assert!(h.fixed_interpreter() && !h.opens_binary());
        let h = parse_entry(
            "c",
            "enabled\ninterpreter /i\nflags: C\noffset 2\nmagic 4142\n",
            0,
        )
        .unwrap();
        // C implies O, whatever letters the entry shows.
        assert!(h.credentials_from_binary() && h.opens_binary());
        assert!(h.matches(b"..AB", b"f") && !h.matches(b"AB", b"f"));
        // Anything after the rule is not an entry the kernel writes.
        assert!(parse_entry(
            "x",
            "enabled\ninterpreter /i\nflags: \noffset 0\nmagic 41\njunk\n",
            0
        )
        .is_none());
        assert!(parse_entry(
            "x",
            "enabled\ninterpreter /i\nflags: Z\noffset 0\nmagic 41\n",
            0
        )
        .is_none());
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
