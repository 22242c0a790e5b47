//! How a byte string (a program name, a path) is shown in a message: lossless, so two different
//! names never print the same.
//!
//! Printable text stays as it is; `"`, `\`, control characters and bytes that are not UTF-8 are
//! escaped the way `[u8]::escape_ascii` does (`\"`, `\\`, `\n`, `\x01`, `\xff`). For ASCII names
//! this is exactly `explain`'s rendering (`model::plan::quote`); a name in another script stays
//! readable here where `explain` shows its bytes.

/// `bytes` between double quotes, escaped as the module says.
pub(crate) fn quote(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('"');
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c.is_ascii() {
                out.extend((c as u8).escape_ascii().map(char::from));
            } else if c.is_control() {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.extend(b.escape_ascii().map(char::from));
                }
            } else {
                out.push(c);
            }
        }
        for &b in chunk.invalid() {
            out.extend(b.escape_ascii().map(char::from));
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::quote;

    #[test]
    fn ascii_is_escaped_as_explain_does() {
        for name in [&b"ls"[..], b"a\"b\\c", b"x\r\n\t", b"\x01\x7f"] {
            assert_eq!(quote(name), format!("\"{}\"", name.escape_ascii()));
        }
    }

    #[test]
    fn bytes_that_are_not_utf8_are_escaped_and_text_stays_readable() {
        assert_eq!(quote(b"caf\xc3\xa9"), "\"caf\u{e9}\"");
        assert_eq!(quote(b"a\xffb\xc3"), "\"a\\xffb\\xc3\"");
        assert_eq!(quote("\u{85}".as_bytes()), "\"\\xc2\\x85\"");
        // Lossless: the two byte strings U+FFFD would merge print differently.
        assert_ne!(quote(b"\xff"), quote(b"\xfe"));
    }
}
