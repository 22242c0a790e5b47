//! The argument limits of execve: MAX_ARG_STRLEN per string, and the budget for all argv and
//! envp strings that RLIMIT_STACK gives (`bprm_stack_limits` and `copy_strings`).
//!
//! The budget is `max(min(6 MiB, RLIMIT_STACK / 4), 128 KiB)` less 8 bytes per pointer
//! (`max(argc, 1) + envc`); the strings charged are the filename, then envp, then argv, each
//! with its NUL. A second bound matters only with a tiny RLIMIT_STACK: the strings are written
//! into the new stack, which cannot grow past the rlimit, so they must fit in
//! `floor(rlimit / 4096)` pages (at least one) below an 8-byte end marker.

/// The longest argv or envp string, NUL included (32 pages).
pub const MAX_ARG_STRLEN: u64 = 32 * 4096;
/// The most argv (or envp) strings.
pub const MAX_ARG_STRINGS: u64 = 0x7fff_ffff;
/// The historical floor of the budget, ARG_MAX (32 pages).
pub const ARG_MAX: u64 = 32 * 4096;
/// `_STK_LIM`, the default stack rlimit (8 MiB); the budget is capped at 3/4 of it.
pub const STK_LIM: u64 = 8 << 20;
/// Page size.
pub const PAGE_SIZE: u64 = 4096;
/// Bytes of one pointer on the new stack.
pub const POINTER_BYTES: u64 = 8;
/// The zero word at the very top of the new stack, below which strings are written.
pub const STACK_END_MARKER: u64 = 8;

/// Which string broke a limit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Charged {
    /// The filename copy (AT_EXECFN).
    Filename,
    /// `envp[i]`.
    Env(usize),
    /// `argv[i]`.
    Arg(usize),
    /// A string the kernel adds while rewriting argv for a script or binfmt_misc handler.
    Rewrite,
}

impl std::fmt::Display for Charged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Charged::Filename => write!(f, "the filename"),
            Charged::Env(i) => write!(f, "envp[{i}]"),
            Charged::Arg(i) => write!(f, "argv[{i}]"),
            Charged::Rewrite => write!(f, "the interpreter's added arguments"),
        }
    }
}

/// An E2BIG, with the numbers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArgError {
    /// One string is longer than MAX_ARG_STRLEN.
    StringTooLong {
        /// Which one.
        which: Charged,
        /// Its length with the NUL.
        bytes: u64,
    },
    /// The strings do not fit in the budget.
    OverBudget {
        /// The string that did not fit.
        which: Charged,
        /// Bytes needed up to and including that string.
        needed: u64,
        /// The limit for string bytes.
        limit: u64,
    },
    /// More pointers than the budget itself.
    TooManyPointers {
        /// Pointer bytes.
        pointer_bytes: u64,
        /// The budget before pointers.
        budget: u64,
    },
}

impl ArgError {
    /// One sentence with the numbers.
    pub fn describe(&self) -> String {
        match self {
            ArgError::StringTooLong { which, bytes } => format!(
                "{which} is {bytes} bytes with its NUL; one string may be at most {MAX_ARG_STRLEN} (MAX_ARG_STRLEN)"
            ),
            ArgError::OverBudget { which, needed, limit } => format!(
                "the argument and environment strings need {needed} bytes (up to {which}) but only {limit} fit"
            ),
            ArgError::TooManyPointers { pointer_bytes, budget } => format!(
                "the argv and envp pointers alone need {pointer_bytes} bytes, more than the {budget}-byte budget"
            ),
        }
    }
}

/// The limits for one exec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArgBudget {
    /// `max(min(6 MiB, rlimit/4), 128 KiB)`.
    pub budget: u64,
    /// 8 x (max(argc, 1) + envc).
    pub pointer_bytes: u64,
    /// The bytes of strings that fit: the budget less pointers, or less when a tiny stack
    /// rlimit caps the pages the strings may occupy.
    pub limit: u64,
    /// True when the stack rlimit's page cap is what binds.
    pub capped_by_stack_pages: bool,
}

/// Bytes the kernel charges for one string: its length plus the NUL.
pub fn charge(s: &[u8]) -> u64 {
    s.len() as u64 + 1
}

/// The string bytes a stack rlimit of `rlimit` bytes (`None`: unlimited) leaves room for when
/// the stack cannot grow past it: whole pages (at least the first), less the end marker.
pub fn stack_page_cap(rlimit: Option<u64>) -> Option<u64> {
    let r = rlimit?;
    let pages = (r / PAGE_SIZE).max(1);
    Some(pages.saturating_mul(PAGE_SIZE) - STACK_END_MARKER)
}

/// The budget for `argc` argv strings and `envc` envp strings under `rlimit`.
pub fn budget(rlimit: Option<u64>, argc: u64, envc: u64) -> Result<ArgBudget, ArgError> {
    let quarter = rlimit.map_or(u64::MAX, |r| r / 4);
    let budget = (STK_LIM / 4 * 3).min(quarter).max(ARG_MAX);
    if argc > MAX_ARG_STRINGS || envc > MAX_ARG_STRINGS {
        return Err(ArgError::TooManyPointers {
            pointer_bytes: u64::MAX,
            budget,
        });
    }
    let pointer_bytes = (argc.max(1) + envc).saturating_mul(POINTER_BYTES);
    if budget <= pointer_bytes {
        return Err(ArgError::TooManyPointers {
            pointer_bytes,
            budget,
        });
    }
    let after_pointers = budget - pointer_bytes;
    let (limit, capped) = match stack_page_cap(rlimit) {
        Some(cap) if cap < after_pointers => (cap, true),
        _ => (after_pointers, false),
    };
    Ok(ArgBudget {
        budget,
        pointer_bytes,
        limit,
        capped_by_stack_pages: capped,
    })
}

/// Charges the strings in the kernel's order (filename, envp last to first, argv last to
/// first, then "" when argv is empty) and returns the bytes used.
pub fn charge_all(
    b: &ArgBudget,
    filename: &[u8],
    envp: &[Vec<u8>],
    argv: &[Vec<u8>],
) -> Result<u64, ArgError> {
    let mut used = 0u64;
    let mut take = |s: &[u8], which: Charged| -> Result<(), ArgError> {
        let n = charge(s);
        if n > MAX_ARG_STRLEN {
            return Err(ArgError::StringTooLong { which, bytes: n });
        }
        used += n;
        if used > b.limit {
            return Err(ArgError::OverBudget {
                which,
                needed: used,
                limit: b.limit,
            });
        }
        Ok(())
    };
    take(filename, Charged::Filename)?;
    for (i, e) in envp.iter().enumerate().rev() {
        take(e, Charged::Env(i))?;
    }
    for (i, a) in argv.iter().enumerate().rev() {
        take(a, Charged::Arg(i))?;
    }
    if argv.is_empty() {
        take(b"", Charged::Arg(0))?;
    }
    Ok(used)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_from_rlimit() {
        // 8 MiB gives 2 MiB; unlimited gives 6 MiB; small gives the 128 KiB floor.
        assert_eq!(budget(Some(8 << 20), 1, 0).unwrap().budget, 2 << 20);
        assert_eq!(budget(None, 1, 0).unwrap().budget, 6 << 20);
        assert_eq!(budget(Some(200 * 1024), 1, 0).unwrap().budget, 128 * 1024);
        let b = budget(Some(8 << 20), 3, 2).unwrap();
        assert_eq!(b.pointer_bytes, 40);
        assert_eq!(b.limit, (2 << 20) - 40);
        // argc 0 still pays for one pointer.
        assert_eq!(budget(None, 0, 0).unwrap().pointer_bytes, 8);
    }

    #[test]
    fn tiny_rlimit_caps_by_pages() {
        // Observed: with 100 KiB, 102392 bytes of strings fit and one more does not.
        let b = budget(Some(100 * 1024), 2, 0).unwrap();
        assert!(b.capped_by_stack_pages);
        assert_eq!(b.limit, 102_392);
        // 200 KiB: the 128 KiB floor binds, not the pages.
        let b = budget(Some(200 * 1024), 2, 0).unwrap();
        assert!(!b.capped_by_stack_pages);
        assert_eq!(b.limit, 131_056);
        assert_eq!(stack_page_cap(Some(100)), Some(4088));
    }

    #[test]
    fn charging_order_and_boundaries() {
        let b = budget(Some(200 * 1024), 2, 0).unwrap();
        let name = b"/bin/true".to_vec();
        // filename 10 + argv[0] 10 + argv[1] n+1 == limit exactly: fits.
        let n = (b.limit - 20 - 1) as usize;
        let argv = vec![name.clone(), vec![b'a'; n]];
        assert_eq!(charge_all(&b, &name, &[], &argv), Ok(b.limit));
        let argv = vec![name.clone(), vec![b'a'; n + 1]];
        assert!(matches!(
            charge_all(&b, &name, &[], &argv),
            Err(ArgError::OverBudget {
                which: Charged::Arg(0),
                ..
            })
        ));
        let long = vec![b'x'; MAX_ARG_STRLEN as usize];
        assert!(matches!(
            charge_all(&b, &name, &[long], &[]),
            Err(ArgError::StringTooLong {
                which: Charged::Env(0),
                ..
            })
        ));
    }
}
