//! `#!` scripts, parsed with binfmt_script's exact rules (Linux 5.0 and later).
//!
//! The kernel looks only at the first [`BINPRM_BUF_SIZE`] bytes (zero-filled past the end of a
//! short file). Only space and tab are blanks: a `\r` before the newline stays part of the
//! interpreter path or the argument. Everything after the interpreter, up to the end of the
//! line, is ONE optional argument.

/// How many bytes of a file the kernel reads to recognise its format.
pub const BINPRM_BUF_SIZE: usize = 256;

/// A parsed `#!` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shebang {
    /// The interpreter path as written (may be relative, may end in `\r`, may be empty when a
    /// NUL follows `#!` directly).
    pub interpreter: Vec<u8>,
    /// The single optional argument, inner blanks kept.
    pub argument: Option<Vec<u8>>,
    /// True when no newline was found in the buffer and the line was taken up to byte 254.
    pub cut_at_buffer_end: bool,
}

/// Why binfmt_script declines a file (all give ENOEXEC).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShebangError {
    /// The file does not start with `#!`: not a script at all.
    NotAScript,
    /// `#!` followed by nothing but blanks (or nothing) before the end of the line.
    NoInterpreter,
    /// No newline in the buffer and no blank or NUL after the interpreter path: it may be cut.
    Truncated,
}

impl ShebangError {
    /// One sentence for people.
    pub fn describe(self) -> &'static str {
        match self {
            ShebangError::NotAScript => "it does not start with #!",
            ShebangError::NoInterpreter => "its #! line names no interpreter",
            ShebangError::Truncated => {
                "its #! line is longer than the kernel's 256-byte buffer and the interpreter path would be cut off"
            }
        }
    }
}

fn blank(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

/// First index in `first..=last` that is not a blank.
fn next_non_blank(b: &[u8; BINPRM_BUF_SIZE], first: usize, last: usize) -> Option<usize> {
    (first..=last).find(|&i| !blank(b[i]))
}

/// First index in `first..=last` that is a blank or NUL.
fn next_terminator(b: &[u8; BINPRM_BUF_SIZE], first: usize, last: usize) -> Option<usize> {
    (first..=last).find(|&i| blank(b[i]) || b[i] == 0)
}

/// The C string starting at `from`.
fn c_string(b: &[u8; BINPRM_BUF_SIZE], from: usize) -> Vec<u8> {
    let rest = &b[from..];
    let end = rest.iter().position(|&c| c == 0).unwrap_or(rest.len());
    rest[..end].to_vec()
}

/// Parses the start of a file (any length; only the first 256 bytes count).
pub fn parse(head: &[u8]) -> Result<Shebang, ShebangError> {
    let mut b = [0u8; BINPRM_BUF_SIZE];
    let n = head.len().min(BINPRM_BUF_SIZE);
    b[..n].copy_from_slice(&head[..n]);
    if b[0] != b'#' || b[1] != b'!' {
        return Err(ShebangError::NotAScript);
    }
    // The last byte is never part of the line: the kernel keeps it for its own NUL.
    let buf_end = BINPRM_BUF_SIZE - 1;
    // Like strnchr: the search for the newline stops at the first NUL.
    let newline = b.iter().take_while(|&&c| c != 0).position(|&c| c == b'\n');
    let mut line_end = match newline {
        Some(i) => i,
        None => {
            let start = next_non_blank(&b, 2, buf_end).ok_or(ShebangError::NoInterpreter)?;
            if next_terminator(&b, start, buf_end).is_none() {
                return Err(ShebangError::Truncated);
            }
            buf_end
        }
    };
    // Trailing blanks go; b[1] is '!', so this stops at 2 at the latest.
    while blank(b[line_end - 1]) {
        line_end -= 1;
    }
    let name = match next_non_blank(&b, 2, line_end) {
        Some(i) if i != line_end => i,
        _ => return Err(ShebangError::NoInterpreter),
    };
    let sep = next_terminator(&b, name, line_end);
    let arg = match sep {
        Some(s) if b[s] != 0 => next_non_blank(&b, s, line_end),
        _ => None,
    };
    b[line_end] = 0;
    if let (Some(s), Some(_)) = (sep, arg) {
        b[s] = 0;
    }
    Ok(Shebang {
        interpreter: c_string(&b, name),
        argument: arg.map(|a| c_string(&b, a)),
        cut_at_buffer_end: newline.is_none(),
    })
}

/// The argv the interpreter gets: `[interpreter, argument?, script, old argv[1..]]`. The old
/// `argv[0]` is dropped; `script` is the name the kernel knows the script by (the path given to
/// execve, or the previous interpreter's path for a nested script).
pub fn rewrite_argv(s: &Shebang, script: &[u8], argv: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut out = Vec::with_capacity(argv.len() + 2);
    out.push(s.interpreter.clone());
    if let Some(a) = &s.argument {
        out.push(a.clone());
    }
    out.push(script.to_vec());
    out.extend(argv.iter().skip(1).cloned());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(line: &[u8]) -> (Vec<u8>, Option<Vec<u8>>) {
        let s = parse(line).unwrap();
        (s.interpreter, s.argument)
    }

    #[test]
    fn plain_and_with_one_argument() {
        assert_eq!(ok(b"#!/bin/sh\necho"), (b"/bin/sh".to_vec(), None));
        assert_eq!(
            ok(b"#!/usr/bin/env python3\n"),
            (b"/usr/bin/env".to_vec(), Some(b"python3".to_vec()))
        );
    }

    #[test]
    fn one_argument_keeps_inner_blanks_and_trims_the_end() {
        assert_eq!(
            ok(b"#!  /x  a  b \t\n"),
            (b"/x".to_vec(), Some(b"a  b".to_vec()))
        );
    }

    #[test]
    fn carriage_return_stays_in_the_path() {
        assert_eq!(ok(b"#!/bin/sh\r\n"), (b"/bin/sh\r".to_vec(), None));
        assert_eq!(
            ok(b"#!/bin/sh -e\r\n"),
            (b"/bin/sh".to_vec(), Some(b"-e\r".to_vec()))
        );
    }

    #[test]
    fn blanks_only_or_nothing_is_no_interpreter() {
        assert_eq!(parse(b"#!\n"), Err(ShebangError::NoInterpreter));
        assert_eq!(parse(b"#!  \t \n"), Err(ShebangError::NoInterpreter));
        // Without a newline the zero padding is a "name" of length 0: the kernel then opens
        // the empty path, which is the cwd (EACCES), not ENOEXEC.
        assert_eq!(ok(b"#!"), (Vec::new(), None));
        assert_eq!(ok(b"#!   "), (Vec::new(), None));
        assert_eq!(parse(&[b' '; 300]), Err(ShebangError::NotAScript));
    }

    #[test]
    fn not_a_script() {
        assert_eq!(parse(b""), Err(ShebangError::NotAScript));
        assert_eq!(parse(b"#/bin/sh\n"), Err(ShebangError::NotAScript));
    }

    #[test]
    fn long_interpreter_without_terminator_is_truncated() {
        let mut line = b"#!/".to_vec();
        line.extend_from_slice(&[b'a'; 300]);
        assert_eq!(parse(&line), Err(ShebangError::Truncated));
    }

    #[test]
    fn argument_is_cut_at_byte_254() {
        let mut line = b"#!/bin/echo ".to_vec();
        while line.len() < 300 {
            line.push(b'x');
        }
        let s = parse(&line).unwrap();
        assert!(s.cut_at_buffer_end);
        let arg = s.argument.unwrap();
        // bytes 12..=254 of the buffer.
        assert_eq!(arg.len(), 255 - 12);
    }

    #[test]
    fn nul_ends_the_name_and_the_argument() {
        assert_eq!(ok(b"#!/bin/sh\0junk\n"), (b"/bin/sh".to_vec(), None));
        assert_eq!(ok(b"#!\0/bin/sh\n"), (Vec::new(), None));
        assert_eq!(
            ok(b"#!/bin/sh a\0b\n"),
            (b"/bin/sh".to_vec(), Some(b"a".to_vec()))
        );
        // A blank then a NUL: the argument is the empty string.
        assert_eq!(
            ok(b"#!/bin/echo \0foo\n"),
            (b"/bin/echo".to_vec(), Some(Vec::new()))
        );
        // A short file with no newline: the zero padding terminates everything.
        assert_eq!(ok(b"#!/bin/sh"), (b"/bin/sh".to_vec(), None));
    }

    #[test]
    fn argv_is_rewritten() {
        let s = parse(b"#!/bin/sh -x\n").unwrap();
        let argv = vec![b"name".to_vec(), b"1".to_vec()];
        assert_eq!(
            rewrite_argv(&s, b"./s", &argv),
            vec![
                b"/bin/sh".to_vec(),
                b"-x".to_vec(),
                b"./s".to_vec(),
                b"1".to_vec()
            ]
        );
        assert_eq!(rewrite_argv(&s, b"./s", &[]).len(), 3);
    }

    #[test]
    fn every_two_byte_prefix_parses_without_panicking() {
        for a in 0..=255u8 {
            for c in [0u8, b' ', b'\n', b'x'] {
                let mut v = vec![b'#', b'!', a, c];
                let _ = parse(&v);
                v.resize(256, a);
                let _ = parse(&v);
            }
        }
    }
}
